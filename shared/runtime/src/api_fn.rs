//! The api function's wiring: the ports of [`shopsync_api::Api`] on the task runtime and the status
//! board, and the Lambda loop that turns HTTP API events into answers.
//!
//! A manual run is a job on the task's own queue, run by the task's own function through the same
//! job records, leases and worker path as a scheduled one ([`QueuedRuns`]): the api function holds
//! no task code, whether the caller waits for the run (foreground) or not (background).

use crate::RuntimeConfig;
use crate::status_fn::{StatusConfig, status_service};
use async_trait::async_trait;
use serde_json::Value;
use shopsync_api::lambda::{HttpApiEvent, to_event_response};
use shopsync_api::{Api, ApiError, AuthConfig, RunStarter, StatusApi, Verifier};
use shopsync_aws::{Adapters, SqsTaskQueues};
use shopsync_domain::ports::{JobStore, TaskQueue, TaskQueues};
use shopsync_domain::status::{Cue, CueEntry, Failure, StatusBoard};
use shopsync_domain::{JobRecord, SyncError, TaskKind};
use shopsync_status::StatusService;
use shopsync_tasks::registry;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Default foreground budget: the answer must leave well before API Gateway's 30 s limit.
pub const DEFAULT_FOREGROUND_BUDGET: Duration = Duration::from_secs(20);

/// How often a foreground run looks at its job while it waits for the task function.
const FOREGROUND_POLL: Duration = Duration::from_millis(250);

/// Manual runs on the task functions: a run is always a message on the task's own queue, handled by
/// the task's own function (its timeout, memory and concurrency), never by the api function.
///
/// A *foreground* run (the shop does not allow background syncs) is the same message, and the answer
/// waits for its job to end, looking at the job record, within the foreground budget: the caller gets
/// the finished job (`200`), or the job as it stands (`202`) while the rest continues from the queue.
/// Running the task inside the api function instead would link every task's code and both API
/// clients into it: that binary would grow with each task past the 8 MB footprint bar, and a long run
/// would hold an API Gateway request and the api function's memory. The job record, its lease and the
/// worker path are the task function's, so a manual run cannot collide with a scheduled one either
/// way.
pub struct QueuedRuns {
    queues: SqsTaskQueues,
    jobs: Arc<dyn JobStore>,
    poll: Duration,
}

impl QueuedRuns {
    pub fn new(queues: SqsTaskQueues, jobs: Arc<dyn JobStore>) -> QueuedRuns {
        QueuedRuns {
            queues,
            jobs,
            poll: FOREGROUND_POLL,
        }
    }

    fn queue(&self, task: TaskKind) -> Result<Arc<dyn TaskQueue>, SyncError> {
        self.queues
            .queue(task)
            .filter(|_| registry::is_implemented(task))
            .ok_or_else(|| {
                SyncError::Settings(format!("{task} is not available in this deployment"))
            })
    }
}

#[async_trait]
impl RunStarter for QueuedRuns {
    fn available(&self, task: TaskKind) -> bool {
        self.queue(task).is_ok()
    }

    async fn enqueue(&self, job: &JobRecord) -> Result<(), SyncError> {
        self.queue(job.task)?.send(&job.message(), 0).await
    }

    async fn run_now(&self, job: &JobRecord, budget: Duration) -> Result<JobRecord, SyncError> {
        self.enqueue(job).await?;
        let until = Instant::now() + budget;
        let mut current = job.clone();
        loop {
            if let Some(stored) = self.jobs.get_job(&job.shop, &job.job_id).await? {
                current = stored;
            }
            let left = until.saturating_duration_since(Instant::now());
            if current.status.is_terminal() || left.is_zero() {
                return Ok(current);
            }
            tokio::time::sleep(self.poll.min(left)).await;
        }
    }
}

/// [`StatusApi`] on the status service.
pub struct StatusBoardApi(pub Arc<StatusService>);

#[async_trait]
impl StatusApi for StatusBoardApi {
    async fn board(&self, shop: &str) -> Result<StatusBoard, SyncError> {
        self.0.board(shop).await
    }
    async fn drill_down(
        &self,
        shop: &str,
        cue: Cue,
        limit: usize,
    ) -> Result<Vec<CueEntry>, SyncError> {
        self.0.drill_down(shop, cue, limit).await
    }
    async fn failures(&self, shop: Option<&str>, limit: usize) -> Result<Vec<Failure>, SyncError> {
        self.0.failures(shop, limit).await
    }
    async fn retry(&self, shop: Option<&str>, failure_id: &str) -> Result<Failure, SyncError> {
        self.0.retry(shop, failure_id).await
    }
    async fn discard(&self, shop: Option<&str>, failure_id: &str) -> Result<Failure, SyncError> {
        self.0.discard(shop, failure_id).await
    }
}

/// Everything the api function is configured with besides the AWS adapters.
pub struct ApiSettings {
    pub auth: AuthConfig,
    pub runtime: RuntimeConfig,
    pub foreground_budget: Duration,
}

impl ApiSettings {
    /// `JWT_*`, `FOREGROUND_BUDGET_SECS` and the task runtime's variables.
    pub fn from_env() -> Result<ApiSettings, String> {
        let auth = AuthConfig::from_lookup(|n| std::env::var(n).ok()).map_err(|e| e.to_string())?;
        let foreground_budget = match std::env::var("FOREGROUND_BUDGET_SECS") {
            Err(_) => DEFAULT_FOREGROUND_BUDGET,
            Ok(v) => match v.trim().parse::<u64>() {
                Ok(n) if (1..=28).contains(&n) => Duration::from_secs(n),
                _ => {
                    return Err(format!(
                        "FOREGROUND_BUDGET_SECS='{v}' must be 1 to 28 (API Gateway answers after 30 s)"
                    ));
                }
            },
        };
        Ok(ApiSettings {
            auth,
            runtime: RuntimeConfig::from_env()?,
            foreground_budget,
        })
    }
}

/// The API on the given adapters: the cloud's in the function, moto's locally.
pub fn build_api(
    adapters: &Adapters,
    queues: SqsTaskQueues,
    status: Arc<StatusService>,
    settings: ApiSettings,
) -> Api {
    Api {
        verifier: Arc::new(Verifier::new(settings.auth)),
        settings: adapters.store.clone(),
        jobs: adapters.store.clone(),
        ledger: adapters.store.clone(),
        records: adapters.store.clone(),
        runs: Arc::new(QueuedRuns::new(queues, adapters.store.clone())),
        status: Arc::new(StatusBoardApi(status)),
        foreground_budget: settings.foreground_budget,
    }
}

/// One HTTP API event in, its answer out. An event that is not an HTTP API event is answered with a
/// 400 rather than a function error, so API Gateway shows the caller a reason.
pub async fn handle_event(api: &Api, payload: Value) -> Value {
    let request = match HttpApiEvent::from_value(payload).and_then(HttpApiEvent::into_request) {
        Ok(r) => r,
        Err(e) => return to_event_response(&ApiError::invalid(e.to_string()).into_response()),
    };
    to_event_response(&api.handle(&request).await)
}

/// The whole `main` of the api function.
pub async fn run_function() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let state = StatusConfig::from_env()?;
    let settings = ApiSettings::from_env()?;
    let sdk = shopsync_aws::load_sdk_config().await;
    let queues = SqsTaskQueues::from_env(&sdk)?;
    let adapters = Adapters::new(
        &sdk,
        &shopsync_aws::AwsConfig {
            table_name: state.table_name.clone(),
            // The api function has no queue of its own: each task's app gets its queue from `queues`.
            task_queue_url: String::new(),
            dlq_url: state.dlq_url.clone(),
            max_receive_count: settings.runtime.max_receive_count,
        },
    );
    let status = Arc::new(status_service(&sdk, &state, Arc::new(queues.clone())));
    let api = build_api(&adapters, queues, status, settings);
    let api = &api;
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<Value>| async move {
            Ok::<Value, lambda_runtime::Error>(handle_event(api, event.payload).await)
        },
    ))
    .await
}
