//! The api function's wiring: the ports of [`shopsync_api::Api`] on the task runtime and the status
//! board, and the Lambda loop that turns HTTP API events into answers.
//!
//! A manual run uses the very [`App`] a task function uses — the same job records, leases and
//! worker path — so a run started from the API cannot collide with a scheduled one, whether it is
//! queued (background) or run here within the request's budget (foreground).

use crate::Endpoints;
use crate::status_fn::{StatusConfig, status_service};
use crate::{App, RuntimeConfig, bootstrap, worker};
use async_trait::async_trait;
use serde_json::Value;
use shopsync_api::lambda::{HttpApiEvent, to_event_response};
use shopsync_api::{Api, ApiError, AuthConfig, RunStarter, StatusApi, Verifier};
use shopsync_aws::{Adapters, SqsTaskQueues};
use shopsync_domain::status::{Cue, CueEntry, Failure, StatusBoard};
use shopsync_domain::{JobRecord, SyncError, TaskKind};
use shopsync_status::StatusService;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// Default foreground budget: the answer must leave well before API Gateway's 30 s limit.
pub const DEFAULT_FOREGROUND_BUDGET: Duration = Duration::from_secs(20);

/// One [`App`] per task this deployment runs.
pub struct TaskApps {
    apps: BTreeMap<TaskKind, App>,
}

impl TaskApps {
    pub fn new(apps: impl IntoIterator<Item = App>) -> TaskApps {
        TaskApps {
            apps: apps.into_iter().map(|a| (a.runner.task(), a)).collect(),
        }
    }

    /// An app for every implemented task that has a queue in `queues`.
    pub fn build(
        adapters: &Adapters,
        queues: &SqsTaskQueues,
        config: &RuntimeConfig,
        endpoints: &Endpoints,
    ) -> TaskApps {
        let apps = queues.tasks().into_iter().filter_map(|task| {
            let queue = queues.sqs_queue(task)?.clone();
            bootstrap::app_with_queue(task, adapters, queue, config.clone(), endpoints.clone()).ok()
        });
        TaskApps::new(apps)
    }

    fn app(&self, task: TaskKind) -> Result<&App, SyncError> {
        self.apps.get(&task).ok_or_else(|| {
            SyncError::Settings(format!("{task} is not available in this deployment"))
        })
    }
}

#[async_trait]
impl RunStarter for TaskApps {
    fn available(&self, task: TaskKind) -> bool {
        self.apps.contains_key(&task)
    }

    async fn enqueue(&self, job: &JobRecord) -> Result<(), SyncError> {
        self.app(job.task)?.queue.send(&job.message(), 0).await
    }

    async fn run_now(&self, job: &JobRecord, budget: Duration) -> Result<JobRecord, SyncError> {
        worker::run_in_foreground(self.app(job.task)?, job, budget).await
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
    pub endpoints: Endpoints,
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
            endpoints: Endpoints::from_env(),
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
    let apps = TaskApps::build(adapters, &queues, &settings.runtime, &settings.endpoints);
    Api {
        verifier: Arc::new(Verifier::new(settings.auth)),
        settings: adapters.store.clone(),
        jobs: adapters.store.clone(),
        ledger: adapters.store.clone(),
        records: adapters.store.clone(),
        runs: Arc::new(apps),
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
