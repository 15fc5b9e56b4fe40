//! The HTTPS API (DESIGN §7): manual runs, jobs, shop settings, the status board, the failures on
//! the dead-letter queue and the shop's staged Shopify orders ([`orders`]: list, read, retry), behind
//! API Gateway's HTTP API with a JWT authorizer.
//!
//! [`Api::handle`] is the whole API as one function from [`ApiRequest`] to [`ApiResponse`]; the Lambda
//! adapter ([`lambda`]) and the local gateway of the demo and tests only translate HTTP in and out.
//! Each request goes through the same gates in the same order — route, token, shop, input, state —
//! and fails at the first one with a specific code, before anything is written:
//!
//! 1. unknown path `404 not_found`, wrong method `405 method_not_allowed`;
//! 2. token missing, expired, badly signed or for someone else `401 unauthorized` ([`auth`]);
//! 3. shop not in the token `403 forbidden`, admin route without the admin scope `403 forbidden`;
//! 4. ids, enums, limits, body size and shape `400` (`invalid_request`, `body_too_large`,
//!    `invalid_json`, `unknown_task`, `invalid_options`, `invalid_settings` with every problem);
//! 5. unknown shop/job/failure/order `404`, disabled shop/task, task not deployed or an order that
//!    cannot be retried `409`.
//!
//! What the API does is behind ports so that it runs unchanged against the cloud, moto, or test
//! doubles: [`RunStarter`] queues or runs a job, [`StatusApi`] serves the board and the failures, and
//! the stores of `shopsync_domain::ports` (settings, jobs, the idempotency ledger, the record store
//! that holds the staged orders).

pub mod auth;
pub mod catalogs;
pub mod http;
pub mod lambda;
pub mod local_issuer;
pub mod orders;
mod routes;

pub use auth::{AuthConfig, Caller, Verifier};
pub use http::{ApiError, ApiRequest, ApiResponse};
pub use routes::Route;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use shopsync_domain::job::{JobError, job_id};
use shopsync_domain::ports::{
    IdempotencyLedger, JobStore, LedgerBegin, LedgerEntry, LedgerStatus, RecordStore, SettingsStore,
};
use shopsync_domain::status::{Cue, CueEntry, Failure, StatusBoard};
use shopsync_domain::time::now_secs;
use shopsync_domain::waiting::{Placed, place_job};
use shopsync_domain::{
    ErrorKind, JobRecord, JobStatus, RunOptions, ShopSettings, SyncError, TaskKind, Trigger,
};
use std::sync::Arc;
use std::time::Duration;
use tracing::{info, warn};

/// Default page size of listings.
pub const DEFAULT_LIMIT: usize = 25;
/// Largest page size of listings.
pub const MAX_LIMIT: usize = 100;

/// Queues or runs a job that the API has created (`queued`).
#[async_trait]
pub trait RunStarter: Send + Sync {
    /// Whether this deployment has a function (and queue) for `task`.
    fn available(&self, task: TaskKind) -> bool;
    /// Hand the job to its task queue.
    async fn enqueue(&self, job: &JobRecord) -> Result<(), SyncError>;
    /// Run the job in this process for at most `budget`; whatever is left continues in the
    /// background. Returns the job record as it stands afterwards.
    async fn run_now(&self, job: &JobRecord, budget: Duration) -> Result<JobRecord, SyncError>;
}

/// The status board and the failures (implemented by `shopsync-status`).
#[async_trait]
pub trait StatusApi: Send + Sync {
    async fn board(&self, shop: &str) -> Result<StatusBoard, SyncError>;
    async fn drill_down(
        &self,
        shop: &str,
        cue: Cue,
        limit: usize,
    ) -> Result<Vec<CueEntry>, SyncError>;
    /// `None` = every failure, including those of no shop.
    async fn failures(&self, shop: Option<&str>, limit: usize) -> Result<Vec<Failure>, SyncError>;
    async fn retry(&self, shop: Option<&str>, failure_id: &str) -> Result<Failure, SyncError>;
    async fn discard(&self, shop: Option<&str>, failure_id: &str) -> Result<Failure, SyncError>;
}

/// Everything the API needs, built once per process.
#[derive(Clone)]
pub struct Api {
    pub verifier: Arc<Verifier>,
    pub settings: Arc<dyn SettingsStore>,
    pub jobs: Arc<dyn JobStore>,
    /// Remembers `Idempotency-Key`s of run requests.
    pub ledger: Arc<dyn IdempotencyLedger>,
    /// The tasks' per-record state: the staged orders the orders routes read.
    pub records: Arc<dyn RecordStore>,
    pub runs: Arc<dyn RunStarter>,
    pub status: Arc<dyn StatusApi>,
    /// Time a foreground run may take before the answer goes out (below API Gateway's 30 s).
    pub foreground_budget: Duration,
}

/// Body of `POST /shops/{shop}/runs`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RunRequest {
    task: String,
    #[serde(default)]
    options: Option<serde_json::Value>,
}

#[derive(Debug, Serialize)]
struct RunAccepted<'a> {
    job_id: &'a str,
    job_url: String,
    mode: &'static str,
    job: &'a JobRecord,
    /// Set (true) when the request joined a job already waiting instead of queuing another.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    coalesced: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
}

impl Api {
    /// Answer one request. Never panics on input; every failure is an error answer.
    pub async fn handle(&self, request: &ApiRequest) -> ApiResponse {
        let started = std::time::Instant::now();
        let (response, subject) = match self.dispatch(request).await {
            Ok((response, subject)) => (response, subject),
            Err((error, subject)) => (error.into_response(), subject),
        };
        // The path and method are the caller's: logged as a short preview, never whole.
        let (method, path) = (
            routes::preview(&request.method),
            routes::preview(&request.path),
        );
        let log_level_warn = response.status >= 500;
        if log_level_warn {
            warn!(method = %method, path = %path, status = response.status,
                code = response.error_code().unwrap_or(""), caller = subject.as_deref().unwrap_or("-"),
                request_id = request.request_id.as_deref().unwrap_or("-"),
                elapsed_ms = started.elapsed().as_millis() as u64, "request failed");
        } else {
            info!(method = %method, path = %path, status = response.status,
                code = response.error_code().unwrap_or(""), caller = subject.as_deref().unwrap_or("-"),
                request_id = request.request_id.as_deref().unwrap_or("-"),
                elapsed_ms = started.elapsed().as_millis() as u64, "request");
        }
        response
    }

    async fn dispatch(
        &self,
        request: &ApiRequest,
    ) -> Result<(ApiResponse, Option<String>), (ApiError, Option<String>)> {
        let route = Route::parse(&request.method, &request.path).map_err(|e| (e, None))?;
        let caller = self
            .verifier
            .caller(request.authorization.as_deref())
            .await
            .map_err(|e| (e, None))?;
        let subject = Some(caller.subject.clone());
        match self.route(&route, &caller, request).await {
            Ok(response) => Ok((response, subject)),
            Err(e) => Err((e, subject)),
        }
    }

    async fn route(
        &self,
        route: &Route,
        caller: &Caller,
        req: &ApiRequest,
    ) -> Result<ApiResponse, ApiError> {
        if let Some(shop) = route.shop() {
            routes::check_shop_code(shop)?;
            caller.require_shop(shop)?;
        } else {
            // Failures of no shop: operators only.
            caller.require_admin()?;
            if !caller.all_shops() {
                return Err(ApiError::forbidden(
                    "failures of every shop need a token for all shops (\"*\")",
                ));
            }
        }
        if route.needs_admin() {
            caller.require_admin()?;
        }
        if req.body.len() > http::MAX_BODY_BYTES {
            return Err(ApiError::new(
                400,
                "body_too_large",
                format!(
                    "the body has {} bytes; the limit is {}",
                    req.body.len(),
                    http::MAX_BODY_BYTES
                ),
            ));
        }
        match route {
            Route::StartRun { shop } => self.start_run(shop, req).await,
            Route::ListJobs { shop } => self.list_jobs(shop, req).await,
            Route::GetJob { shop, job_id } => {
                routes::check_job_id(job_id)?;
                let job = self.jobs.get_job(shop, job_id).await?.ok_or_else(|| {
                    ApiError::not_found(format!("shop {shop} has no job {job_id}"))
                })?;
                Ok(ApiResponse::json(200, &job))
            }
            Route::StatusBoard { shop } => {
                Ok(ApiResponse::json(200, self.status.board(shop).await?))
            }
            Route::DrillDown { shop, cue } => {
                let cue: Cue = cue
                    .parse()
                    .map_err(|e: shopsync_domain::status::UnknownCue| {
                        ApiError::invalid(e.to_string())
                    })?;
                let limit = routes::limit(req)?;
                let entries = self.status.drill_down(shop, cue, limit).await?;
                Ok(ApiResponse::json(
                    200,
                    serde_json::json!({"shop": shop, "cue": cue, "entries": entries}),
                ))
            }
            Route::GetSettings { shop } => {
                let settings =
                    self.settings.get_shop(shop).await?.ok_or_else(|| {
                        ApiError::not_found(format!("shop {shop} is not registered"))
                    })?;
                Ok(ApiResponse::json(200, &settings))
            }
            Route::PutSettings { shop } => self.put_settings(shop, req).await,
            Route::ListFailures { shop } => {
                let limit = routes::limit(req)?;
                let failures = self.status.failures(shop.as_deref(), limit).await?;
                Ok(ApiResponse::json(
                    200,
                    serde_json::json!({"failures": failures}),
                ))
            }
            Route::RetryFailure { shop, failure_id } => {
                routes::check_failure_id(failure_id)?;
                let failure = self
                    .status
                    .retry(shop.as_deref(), failure_id)
                    .await
                    .map_err(|e| failure_error(e, "not_retryable"))?;
                Ok(ApiResponse::json(202, &failure))
            }
            Route::DiscardFailure { shop, failure_id } => {
                routes::check_failure_id(failure_id)?;
                let failure = self
                    .status
                    .discard(shop.as_deref(), failure_id)
                    .await
                    .map_err(|e| failure_error(e, "conflict"))?;
                Ok(ApiResponse::json(200, &failure))
            }
            Route::ListOrders { shop } => self.list_orders(shop, req).await,
            Route::ListCatalogs { shop } => self.list_catalogs(shop, req).await,
            Route::GetOrder { shop, order_id } => self.get_order(shop, order_id).await,
            Route::RetryOrder { shop, order_id } => self.retry_order(shop, order_id).await,
        }
    }

    async fn start_run(&self, shop: &str, req: &ApiRequest) -> Result<ApiResponse, ApiError> {
        let body: RunRequest = routes::json_body(req)?;
        let task: TaskKind =
            body.task
                .parse()
                .map_err(|e: shopsync_domain::catalogue::UnknownTask| {
                    ApiError::new(400, "unknown_task", e.to_string())
                })?;
        let options: RunOptions = match body.options {
            None | Some(serde_json::Value::Null) => RunOptions::default(),
            Some(v) => serde_json::from_value(v).map_err(|e| {
                ApiError::new(
                    400,
                    "invalid_options",
                    format!("options: {}", routes::parse_error(&e)),
                )
            })?,
        };
        options
            .check(task)
            .map_err(|reason| ApiError::new(400, "invalid_options", reason))?;
        self.run_task(shop, task, &options, req.idempotency_key.as_deref())
            .await
    }

    /// A manual run of `task` with `options` for `shop`, after the request's own checks: the shop's
    /// and task's state, at most one waiting job per shop, task and options (a request joins the
    /// waiting one), then queued (background) or run now within the foreground budget. Used by
    /// `POST /shops/{shop}/runs` and by an order's retry, so both answer alike.
    pub(crate) async fn run_task(
        &self,
        shop: &str,
        task: TaskKind,
        options: &RunOptions,
        idempotency_key: Option<&str>,
    ) -> Result<ApiResponse, ApiError> {
        let settings: ShopSettings = self
            .settings
            .get_shop(shop)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("shop {shop} is not registered")))?;
        if !settings.enabled {
            return Err(ApiError::conflict(
                "shop_disabled",
                format!("shop {shop} is disabled; enable it in its settings first"),
            ));
        }
        if !self.runs.available(task) {
            return Err(ApiError::conflict(
                "task_not_available",
                format!("{task} is not available in this deployment yet"),
            ));
        }
        if !settings.task(task).enabled {
            return Err(ApiError::conflict(
                "task_disabled",
                format!("{task} is not enabled for shop {shop}; enable it in the shop's settings"),
            ));
        }

        let now = now_secs();
        let millis = shopsync_domain::time::now_millis();
        let unique = uuid::Uuid::new_v4().simple().to_string();
        let mut id = job_id(task, millis, &unique[..12]);
        let background = settings.allow_background_syncs;
        if let Some(key) = idempotency_key {
            match self
                .remember_run(shop, key, task, options, &id, now)
                .await?
            {
                Remembered::New => {}
                Remembered::Earlier {
                    job_id: earlier,
                    joined,
                } => {
                    if let Some(job) = self.jobs.get_job(shop, &earlier).await? {
                        return Ok(replay(shop, &job, background, joined));
                    }
                    // The first request has not created its job yet (it is doing so right now, or
                    // it stopped): place the job under the id it chose. Whichever request creates
                    // it sends it; the other replays it.
                    id = earlier;
                }
            }
        }
        let mut job = match self.place_job(shop, task, options, &id, now).await? {
            Placed::Created(job) => job,
            Placed::Exists(job) => return Ok(replay(shop, &job, background, false)),
            Placed::Joined(job) => {
                if let Some(key) = idempotency_key {
                    // A repeat of this request replays the job it joined.
                    let entry = format!("api-run/{key}");
                    if let Err(e) = self.ledger.complete(shop, &entry, &job.job_id).await {
                        warn!(error = %e, job_id = %job.job_id, "could not remember the joined job under the Idempotency-Key");
                    }
                }
                info!(shop, job_id = %job.job_id, "manual run joined the job already waiting");
                return Ok(replay(shop, &job, background, true));
            }
        };
        let job_url = format!("/shops/{shop}/jobs/{id}");

        if settings.allow_background_syncs {
            if let Err(e) = self.runs.enqueue(&job).await {
                // The job must not wait for a message that never went out.
                let seq = job.seq;
                job.error = Some(JobError {
                    kind: e.kind(),
                    message: format!("could not be queued: {e}"),
                });
                if job.transition(JobStatus::Failed, now_secs()).is_ok()
                    && let Err(e2) = self.jobs.update_job_if(&job, JobStatus::Queued, seq).await
                {
                    warn!(error = %e2, job_id = %id, "could not mark an unqueued job failed");
                }
                return Err(ApiError::from(e));
            }
            let body = RunAccepted {
                job_id: &id,
                job_url: job_url.clone(),
                mode: "background",
                job: &job,
                coalesced: false,
                message: None,
            };
            return Ok(ApiResponse::json(202, &body).with_header("Location", job_url));
        }

        let after = match self.runs.run_now(&job, self.foreground_budget).await {
            Ok(job) => job,
            Err(e) if e.kind() == ErrorKind::Storage || e.is_retryable() => {
                // The worker left the job queued; it continues from the queue.
                let current = self.jobs.get_job(shop, &id).await?.unwrap_or(job.clone());
                if current.status == JobStatus::Queued {
                    self.runs.enqueue(&current).await?;
                }
                current
            }
            Err(e) => return Err(e.into()),
        };
        let finished = after.status.is_terminal();
        let body = RunAccepted {
            job_id: &id,
            job_url: job_url.clone(),
            mode: "foreground",
            job: &after,
            coalesced: false,
            message: None,
        };
        let status = if finished { 200 } else { 202 };
        Ok(ApiResponse::json(status, &body).with_header("Location", job_url))
    }

    async fn list_jobs(&self, shop: &str, req: &ApiRequest) -> Result<ApiResponse, ApiError> {
        let status = match req.query_param("status")? {
            None => None,
            Some(s) => Some(
                serde_json::from_value::<JobStatus>(serde_json::Value::from(s)).map_err(|_| {
                    ApiError::invalid(format!(
                        "status '{}' is not one of queued, running, deferred, succeeded, succeeded_with_warnings, failed, skipped",
                        routes::preview(s)
                    ))
                })?,
            ),
        };
        let limit = routes::limit(req)?;
        let cursor = req.query_param("cursor")?;
        if let Some(c) = cursor {
            routes::check_job_id(c).map_err(|_| {
                ApiError::invalid(format!(
                    "cursor '{}' is not a cursor this API gave out (a job id)",
                    routes::preview(c)
                ))
            })?;
        }
        let page = self
            .jobs
            .list_jobs_page(shop, status, limit, cursor)
            .await?;
        let mut body = serde_json::json!({"jobs": page.jobs});
        if let Some(next) = page.next_before {
            body["next_cursor"] = next.into();
        }
        Ok(ApiResponse::json(200, body))
    }

    async fn put_settings(&self, shop: &str, req: &ApiRequest) -> Result<ApiResponse, ApiError> {
        let text = std::str::from_utf8(&req.body)
            .map_err(|_| ApiError::new(400, "invalid_json", "the body is not UTF-8 text"))?;
        if text.trim().is_empty() {
            return Err(ApiError::new(
                400,
                "invalid_json",
                "a settings document is required",
            ));
        }
        let settings = ShopSettings::from_json(text).map_err(|e| {
            ApiError::new(
                400,
                "invalid_settings",
                format!(
                    "the settings have {} problem(s); nothing was saved",
                    e.problems.len()
                ),
            )
            .with_problems(e.problems)
        })?;
        if settings.code != shop {
            return Err(ApiError::new(
                400,
                "invalid_settings",
                format!(
                    "the body is for shop '{}' but the path names shop '{shop}'",
                    settings.code
                ),
            ));
        }
        // Which tasks can run is this deployment's (the task registry behind `runs`).
        let unavailable: Vec<shopsync_domain::settings::SettingsProblem> = settings
            .tasks
            .iter()
            .filter(|(kind, t)| t.enabled && !self.runs.available(**kind))
            .map(|(kind, _)| shopsync_domain::settings::SettingsProblem {
                field: format!("tasks.{kind}"),
                message: format!(
                    "{kind} is not available in this deployment and cannot be enabled"
                ),
            })
            .collect();
        if !unavailable.is_empty() {
            return Err(ApiError::new(
                400,
                "invalid_settings",
                format!(
                    "the settings have {} problem(s); nothing was saved",
                    unavailable.len()
                ),
            )
            .with_problems(unavailable));
        }
        self.settings.put_shop(&settings).await?;
        Ok(ApiResponse::json(200, &settings))
    }
}

/// What the idempotency ledger says about a run request's key.
enum Remembered {
    /// First use: go ahead with the job id given.
    New,
    /// Used before for the same run: this is its job (`joined`: a job that was already waiting,
    /// which the first request joined).
    Earlier { job_id: String, joined: bool },
}

impl Api {
    /// Record `key` for this run request (conditional write), or find the run it was used for.
    async fn remember_run(
        &self,
        shop: &str,
        key: &str,
        task: TaskKind,
        options: &RunOptions,
        job_id: &str,
        now: i64,
    ) -> Result<Remembered, ApiError> {
        let valid = !key.is_empty()
            && key.len() <= 64
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c));
        if !valid {
            return Err(ApiError::invalid(
                "Idempotency-Key must be 1 to 64 of A-Z, a-z, 0-9, '-', '_', '.', ':'",
            ));
        }
        let request = serde_json::json!({"task": task, "options": options}).to_string();
        let fingerprint = LedgerEntry::sha256_hex(&request);
        let entry = LedgerEntry {
            key: format!("api-run/{key}"),
            payload: job_id.to_string(),
            payload_sha256: fingerprint.clone(),
            status: LedgerStatus::Applied,
            result: None,
            created_at: now,
        };
        match self.ledger.begin(shop, &entry).await? {
            LedgerBegin::Started => Ok(Remembered::New),
            LedgerBegin::Existing(earlier) if earlier.payload_sha256 == fingerprint => {
                // `result` names the job the first request joined, when it joined one.
                Ok(match earlier.result {
                    Some(joined) if joined != earlier.payload => Remembered::Earlier {
                        job_id: joined,
                        joined: true,
                    },
                    _ => Remembered::Earlier {
                        job_id: earlier.payload,
                        joined: false,
                    },
                })
            }
            LedgerBegin::Existing(_) => Err(ApiError::conflict(
                "idempotency_key_reused",
                "this Idempotency-Key was already used for a different run request",
            )),
        }
    }
}

impl Api {
    /// Find or create the job of a run request with job id `id` ([`place_job`]).
    async fn place_job(
        &self,
        shop: &str,
        task: TaskKind,
        options: &RunOptions,
        id: &str,
        now: i64,
    ) -> Result<Placed, ApiError> {
        Ok(place_job(
            self.jobs.as_ref(),
            shop,
            task,
            options,
            id,
            Trigger::Manual,
            now,
        )
        .await?)
    }
}

/// The answer to a repeated run request (the first request's job as it stands now), or to one that
/// joined a job already waiting (`joined`: said so in `coalesced` and `message`).
fn replay(shop: &str, job: &JobRecord, background: bool, joined: bool) -> ApiResponse {
    let job_url = format!("/shops/{shop}/jobs/{}", job.job_id);
    let body = RunAccepted {
        job_id: &job.job_id,
        job_url: job_url.clone(),
        // A joined job runs from the queue (or in the request that created it), not in this one.
        mode: if background || joined {
            "background"
        } else {
            "foreground"
        },
        job,
        coalesced: joined,
        message: joined.then(|| {
            format!(
                "a {} job is already waiting for shop {shop}; this is that job (nothing new was queued)",
                job.task
            )
        }),
    };
    let status = if job.status.is_terminal() { 200 } else { 202 };
    ApiResponse::json(status, &body).with_header("Location", job_url)
}

/// Retry/discard: `Conflict` from the status service means "not in a state for this".
fn failure_error(e: SyncError, code: &'static str) -> ApiError {
    match e.kind() {
        ErrorKind::Conflict => ApiError::conflict(code, e.to_string()),
        _ => ApiError::from(e),
    }
}
