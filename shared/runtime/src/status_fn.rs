//! The status function: invoked every five minutes by its EventBridge schedule, it mirrors the
//! dead-letter queue into the table, fails the jobs whose message was dead-lettered without the worker
//! failing them, and prints every shop's board as CloudWatch Embedded Metric Format lines
//! ([`StatusService::status_run`]).
//!
//! It has no task queue of its own, so it does not use [`shopsync_aws::AwsConfig`] (which requires
//! `TASK_QUEUE_URL`): it reads `TABLE_NAME`, `DLQ_URL` and, for retries, one `QUEUE_URL_<TASK>` per
//! task queue ([`SqsTaskQueues`]).

use lambda_runtime::{LambdaEvent, service_fn};
use shopsync_aws::config::{ConfigError, DLQ_URL_VAR, TABLE_NAME_VAR};
use shopsync_aws::{DynamoStore, SdkConfig, SqsDeadLetterQueue, SqsTaskQueues};
use shopsync_domain::ports::TaskQueues;
use shopsync_domain::time::now_secs;
use shopsync_status::{StatusPorts, StatusRunReport, StatusService};
use std::sync::Arc;

/// Where the status function's state is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusConfig {
    pub table_name: String,
    pub dlq_url: String,
}

impl StatusConfig {
    pub fn from_env() -> Result<StatusConfig, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<StatusConfig, ConfigError> {
        let required = |name: &'static str| {
            lookup(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .ok_or(ConfigError::Missing(name))
        };
        Ok(StatusConfig {
            table_name: required(TABLE_NAME_VAR)?,
            dlq_url: required(DLQ_URL_VAR)?,
        })
    }
}

/// The status service on the table, the dead-letter queue and the task queues.
pub fn status_service(
    sdk: &SdkConfig,
    config: &StatusConfig,
    queues: Arc<dyn TaskQueues>,
) -> StatusService {
    let store = Arc::new(DynamoStore::new(sdk, &config.table_name));
    StatusService::new(StatusPorts {
        settings: store.clone(),
        jobs: store.clone(),
        counts: store.clone(),
        skipped: store.clone(),
        cues: store.clone(),
        failures: store.clone(),
        dlq: Arc::new(SqsDeadLetterQueue::new(sdk, &config.dlq_url)),
        queues,
        leases: store.clone(),
        records: store,
    })
}

/// One invocation: whatever the event (the schedule's, or a manual test invoke), run the status pass.
pub async fn handle(
    service: &StatusService,
    event: &serde_json::Value,
) -> Result<StatusRunReport, shopsync_domain::SyncError> {
    let source = event
        .get("detail-type")
        .and_then(|v| v.as_str())
        .unwrap_or("direct invocation");
    tracing::info!(source, "status run");
    service.status_run(now_secs()).await
}

/// The whole `main` of the status function.
pub async fn run_function() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = StatusConfig::from_env()?;
    let sdk = shopsync_aws::load_sdk_config().await;
    let queues = Arc::new(SqsTaskQueues::from_env(&sdk)?);
    let service = status_service(&sdk, &config, queues);
    let service = &service;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            handle(service, &event.payload)
                .await
                .map_err(|e| Box::new(e) as lambda_runtime::Error)
        },
    ))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn table_and_dead_letter_queue_are_required() {
        let env = HashMap::from([("TABLE_NAME", "t"), ("DLQ_URL", "https://sqs/dlq")]);
        let cfg = StatusConfig::from_lookup(|n| env.get(n).map(|v| v.to_string())).unwrap();
        assert_eq!(
            cfg,
            StatusConfig {
                table_name: "t".into(),
                dlq_url: "https://sqs/dlq".into()
            }
        );
        let err = StatusConfig::from_lookup(|n| (n == "TABLE_NAME").then(|| "t".to_string()))
            .unwrap_err();
        assert_eq!(err, ConfigError::Missing("DLQ_URL"));
        let err = StatusConfig::from_lookup(|_| Some(" ".into())).unwrap_err();
        assert_eq!(err, ConfigError::Missing("TABLE_NAME"));
    }
}
