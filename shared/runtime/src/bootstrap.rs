//! Cold-start wiring for a task function: adapters from the environment, the task's runner, the
//! runtime configuration, and the Lambda loop. `functions/<task>/src/main.rs` calls [`run_function`]
//! with its task's own registration (`registry::SYNC_PAYMENTS`, …), so each binary links the code of
//! its own task only.

use crate::{App, Endpoints, RuntimeConfig, events};
use lambda_runtime::{LambdaEvent, service_fn};
use shopsync_aws::Adapters;
use shopsync_domain::TaskKind;
use shopsync_tasks::engine::clients::ClientFactory;
use shopsync_tasks::registry::{self, Registration, TaskDeps};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// Build the app for `task` from adapters (the cloud's, or moto's locally) and the environment,
/// looking the task up in the registry (the local stack and the tests; a task function names its own
/// registration, see [`run_function`]).
pub fn app_for(
    task: TaskKind,
    adapters: &Adapters,
    config: RuntimeConfig,
    endpoints: Endpoints,
) -> Result<App, String> {
    let registration = registry::REGISTRY
        .iter()
        .find(|r| r.kind == task)
        .ok_or_else(|| format!("{task} is not available in this release"))?;
    Ok(app_of(registration, adapters, config, endpoints))
}

/// The app of one registered task on its own queue.
pub fn app_of(
    registration: &Registration,
    adapters: &Adapters,
    config: RuntimeConfig,
    endpoints: Endpoints,
) -> App {
    let deps = TaskDeps {
        clients: Arc::new(ClientFactory::new(adapters.secrets.clone(), endpoints)),
        stores: adapters.store.clone(),
    };
    App {
        settings: adapters.store.clone(),
        schedules: adapters.store.clone(),
        jobs: adapters.store.clone(),
        leases: adapters.store.clone(),
        queue: adapters.queue.clone(),
        runner: (registration.build)(&deps),
        config,
    }
}

/// The whole `main` of a task function.
pub async fn run_function(task: Registration) -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let aws = shopsync_aws::AwsConfig::from_env()?;
    let sdk = shopsync_aws::load_sdk_config().await;
    let adapters = Adapters::new(&sdk, &aws);
    let mut config = RuntimeConfig::from_env()?;
    config.max_receive_count = aws.max_receive_count;
    let app = app_of(&task, &adapters, config, Endpoints::from_env());
    let app = &app;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            let deadline = instant_of(event.context.deadline());
            events::handle(app, event.payload, deadline)
                .await
                .map_err(|e| Box::new(e) as lambda_runtime::Error)
        },
    ))
    .await
}

/// A Lambda deadline (wall clock) as an `Instant`.
pub fn instant_of(deadline: SystemTime) -> Instant {
    let left = deadline
        .duration_since(SystemTime::now())
        .unwrap_or(Duration::ZERO);
    Instant::now() + left
}
