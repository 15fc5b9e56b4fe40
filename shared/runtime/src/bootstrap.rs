//! Cold-start wiring for a task function: adapters from the environment, the task's runner, the
//! runtime configuration, and the Lambda loop. `functions/<task>/src/main.rs` calls [`run_function`].

use crate::{App, Endpoints, RuntimeConfig, TaskRunner, events};
use lambda_runtime::{LambdaEvent, service_fn};
use shopsync_aws::Adapters;
use shopsync_domain::TaskKind;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// Build the app for `task` from adapters (the cloud's, or moto's locally) and the environment.
pub fn app_for(
    task: TaskKind,
    adapters: &Adapters,
    config: RuntimeConfig,
    endpoints: Endpoints,
) -> Result<App, String> {
    app_with_queue(task, adapters, adapters.queue.clone(), config, endpoints)
}

/// [`app_for`] with the task's queue given explicitly (the api function holds every task's queue).
pub fn app_with_queue(
    task: TaskKind,
    adapters: &Adapters,
    queue: Arc<dyn shopsync_domain::ports::TaskQueue>,
    config: RuntimeConfig,
    endpoints: Endpoints,
) -> Result<App, String> {
    Ok(App {
        settings: adapters.store.clone(),
        schedules: adapters.store.clone(),
        jobs: adapters.store.clone(),
        leases: adapters.store.clone(),
        queue,
        runner: runner_for(task, adapters, endpoints)?,
        config,
    })
}

/// The task logic of `task` from the registry, or why this release has none.
pub fn runner_for(
    task: TaskKind,
    adapters: &Adapters,
    endpoints: Endpoints,
) -> Result<Arc<dyn TaskRunner>, String> {
    let deps = shopsync_tasks::registry::TaskDeps {
        clients: Arc::new(shopsync_tasks::engine::clients::ClientFactory::new(
            adapters.secrets.clone(),
            endpoints,
        )),
        stores: adapters.store.clone(),
    };
    shopsync_tasks::registry::runner(task, &deps)
}

/// The whole `main` of a task function.
pub async fn run_function(task: TaskKind) -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let aws = shopsync_aws::AwsConfig::from_env()?;
    let sdk = shopsync_aws::load_sdk_config().await;
    let adapters = Adapters::new(&sdk, &aws);
    let mut config = RuntimeConfig::from_env()?;
    config.max_receive_count = aws.max_receive_count;
    let app = app_for(task, &adapters, config, Endpoints::from_env())?;
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
