//! Every task queue of the deployment, by task: the api function (manual runs) and the status
//! function (retries) send to any task's queue, not to one of their own.
//!
//! The SAM template gives such a function one variable per task queue, `QUEUE_URL_<TASK>` with the
//! task's name upper-snake-cased (`QUEUE_URL_SYNC_INVENTORY`), plus `DLQ_URL`. A task without a
//! variable simply has no queue in this deployment (`queue(task)` is `None`), which callers report
//! as "not available", never as a crash.

use crate::SqsTaskQueue;
use crate::config::{ConfigError, DLQ_URL_VAR};
use aws_config::SdkConfig;
use aws_sdk_sqs::Client;
use shopsync_domain::TaskKind;
use shopsync_domain::ports::{TaskQueue, TaskQueues};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The environment variable naming `task`'s queue URL, e.g. `QUEUE_URL_SYNC_INVENTORY`.
pub fn queue_url_var(task: TaskKind) -> String {
    format!(
        "QUEUE_URL_{}",
        task.name().to_ascii_uppercase().replace('-', "_")
    )
}

/// [`TaskQueues`] on SQS: one [`SqsTaskQueue`] per configured task.
#[derive(Debug, Clone)]
pub struct SqsTaskQueues {
    queues: BTreeMap<TaskKind, Arc<SqsTaskQueue>>,
}

impl SqsTaskQueues {
    /// From the process environment.
    pub fn from_env(sdk: &SdkConfig) -> Result<SqsTaskQueues, ConfigError> {
        Self::from_lookup(Client::new(sdk), |name| std::env::var(name).ok())
    }

    /// From `lookup` (the environment, a map in tests); `DLQ_URL` is required, every
    /// `QUEUE_URL_<TASK>` optional.
    pub fn from_lookup(
        client: Client,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<SqsTaskQueues, ConfigError> {
        let value = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let dlq = value(DLQ_URL_VAR).ok_or(ConfigError::Missing(DLQ_URL_VAR))?;
        let urls = TaskKind::ALL
            .into_iter()
            .filter_map(|task| value(&queue_url_var(task)).map(|url| (task, url)));
        Ok(SqsTaskQueues::from_urls(client, urls, &dlq))
    }

    /// From explicit (task, queue URL) pairs.
    pub fn from_urls(
        client: Client,
        urls: impl IntoIterator<Item = (TaskKind, String)>,
        dlq_url: &str,
    ) -> SqsTaskQueues {
        let queues = urls
            .into_iter()
            .map(|(task, url)| {
                (
                    task,
                    Arc::new(SqsTaskQueue::from_client(client.clone(), &url, dlq_url)),
                )
            })
            .collect();
        SqsTaskQueues { queues }
    }

    /// The tasks that have a queue.
    pub fn tasks(&self) -> Vec<TaskKind> {
        self.queues.keys().copied().collect()
    }

    /// The concrete queue of `task` (URL and client), e.g. for tests and metrics.
    pub fn sqs_queue(&self, task: TaskKind) -> Option<&Arc<SqsTaskQueue>> {
        self.queues.get(&task)
    }
}

impl TaskQueues for SqsTaskQueues {
    fn queue(&self, task: TaskKind) -> Option<Arc<dyn TaskQueue>> {
        self.queues
            .get(&task)
            .map(|q| q.clone() as Arc<dyn TaskQueue>)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn client() -> Client {
        let conf = aws_sdk_sqs::Config::builder()
            .behavior_version(aws_sdk_sqs::config::BehaviorVersion::latest())
            .region(aws_sdk_sqs::config::Region::new("us-east-1"))
            .build();
        Client::from_conf(conf)
    }

    #[test]
    fn variable_names_are_upper_snake_case_task_names() {
        assert_eq!(
            queue_url_var(TaskKind::SyncInventory),
            "QUEUE_URL_SYNC_INVENTORY"
        );
        assert_eq!(
            queue_url_var(TaskKind::SyncCatalogPrices),
            "QUEUE_URL_SYNC_CATALOG_PRICES"
        );
    }

    #[test]
    fn configured_tasks_get_a_queue_and_others_none() {
        let env: HashMap<&str, &str> = HashMap::from([
            ("DLQ_URL", "http://q/dlq"),
            ("QUEUE_URL_SYNC_INVENTORY", "http://q/inventory"),
            ("QUEUE_URL_SYNC_ORDERS", "  "),
        ]);
        let queues =
            SqsTaskQueues::from_lookup(client(), |n| env.get(n).map(|v| v.to_string())).unwrap();
        assert_eq!(queues.tasks(), vec![TaskKind::SyncInventory]);
        let q = queues.sqs_queue(TaskKind::SyncInventory).unwrap();
        assert_eq!(q.queue_url(), "http://q/inventory");
        assert_eq!(q.dlq_url(), "http://q/dlq");
        assert!(queues.queue(TaskKind::SyncInventory).is_some());
        assert!(
            queues.queue(TaskKind::SyncOrders).is_none(),
            "blank = absent"
        );
    }

    #[test]
    fn the_dead_letter_queue_is_required() {
        let err = SqsTaskQueues::from_lookup(client(), |n| {
            (n == "QUEUE_URL_SYNC_INVENTORY").then(|| "http://q/i".to_string())
        })
        .unwrap_err();
        assert_eq!(err, ConfigError::Missing("DLQ_URL"));
    }
}
