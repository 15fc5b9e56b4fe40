//! Runtime configuration of the adapters, read once at cold start.
//!
//! Names of the cloud resources come from the environment that the SAM template sets on every
//! function (`TABLE_NAME`, `TASK_QUEUE_URL`, `DLQ_URL`, `MAX_RECEIVE_COUNT`), so the binaries carry no
//! resource names. Where AWS itself is (cloud, moto, any compatible server) is the SDK's business: the
//! standard `AWS_ENDPOINT_URL`, `AWS_REGION` and credential variables are honoured by
//! [`load_sdk_config`]; there is no test-only code path.

use crate::{DynamoStore, SecretsManagerSource, SqsTaskQueue};
use aws_config::{BehaviorVersion, SdkConfig};
use std::sync::Arc;

/// Environment variable holding the DynamoDB table name.
pub const TABLE_NAME_VAR: &str = "TABLE_NAME";
/// Environment variable holding the URL of this function's task queue.
pub const TASK_QUEUE_URL_VAR: &str = "TASK_QUEUE_URL";
/// Environment variable holding the URL of the shared dead-letter queue.
pub const DLQ_URL_VAR: &str = "DLQ_URL";
/// Environment variable holding the task queue's `maxReceiveCount` (optional, default 5).
pub const MAX_RECEIVE_COUNT_VAR: &str = "MAX_RECEIVE_COUNT";
/// Default `maxReceiveCount`, the template's default too.
pub const DEFAULT_MAX_RECEIVE_COUNT: u32 = 5;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsConfig {
    pub table_name: String,
    pub task_queue_url: String,
    pub dlq_url: String,
    /// Receives after which SQS moves a message to the DLQ; the worker uses it to recognise the last
    /// attempt and fail the job with the reason instead of leaving it `running`.
    pub max_receive_count: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "environment variable {0} is not set (or empty); the SAM template sets it on every function"
    )]
    Missing(&'static str),
    #[error("environment variable {name} has invalid value '{value}': {reason}")]
    Invalid {
        name: &'static str,
        value: String,
        reason: String,
    },
}

impl AwsConfig {
    /// Read the configuration from the process environment.
    pub fn from_env() -> Result<AwsConfig, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Read the configuration through `lookup` (the environment, a map in tests, a config file).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<AwsConfig, ConfigError> {
        let required = |name: &'static str| {
            lookup(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .ok_or(ConfigError::Missing(name))
        };
        let table_name = required(TABLE_NAME_VAR)?;
        let task_queue_url = required(TASK_QUEUE_URL_VAR)?;
        let dlq_url = required(DLQ_URL_VAR)?;
        let max_receive_count = match lookup(MAX_RECEIVE_COUNT_VAR)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
        {
            None => DEFAULT_MAX_RECEIVE_COUNT,
            Some(v) => match v.parse::<u32>() {
                Ok(n) if (1..=1000).contains(&n) => n,
                _ => {
                    return Err(ConfigError::Invalid {
                        name: MAX_RECEIVE_COUNT_VAR,
                        value: v,
                        reason: "must be a whole number from 1 to 1000 (the SQS limit)".into(),
                    });
                }
            },
        };
        Ok(AwsConfig {
            table_name,
            task_queue_url,
            dlq_url,
            max_receive_count,
        })
    }
}

/// The SDK configuration from the standard sources (environment, profile, IMDS/Lambda role). Locally,
/// `AWS_ENDPOINT_URL=http://127.0.0.1:<port>` points every client at moto.
pub async fn load_sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

/// Every adapter a task function needs, built once per cold start and shared by invocations.
#[derive(Clone)]
pub struct Adapters {
    pub store: Arc<DynamoStore>,
    pub queue: Arc<SqsTaskQueue>,
    pub secrets: Arc<SecretsManagerSource>,
}

impl Adapters {
    pub fn new(sdk: &SdkConfig, config: &AwsConfig) -> Adapters {
        Adapters {
            store: Arc::new(DynamoStore::new(sdk, &config.table_name)),
            queue: Arc::new(SqsTaskQueue::new(
                sdk,
                &config.task_queue_url,
                &config.dlq_url,
            )),
            secrets: Arc::new(SecretsManagerSource::new(sdk)),
        }
    }

    /// [`AwsConfig::from_env`] + [`load_sdk_config`] + [`Adapters::new`].
    pub async fn from_env() -> Result<Adapters, ConfigError> {
        let config = AwsConfig::from_env()?;
        let sdk = load_sdk_config().await;
        Ok(Adapters::new(&sdk, &config))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn reads_every_variable_and_defaults_the_receive_count() {
        let cfg = AwsConfig::from_lookup(lookup(&[
            ("TABLE_NAME", "t"),
            ("TASK_QUEUE_URL", "q"),
            ("DLQ_URL", "d"),
        ]))
        .unwrap();
        assert_eq!(
            cfg,
            AwsConfig {
                table_name: "t".into(),
                task_queue_url: "q".into(),
                dlq_url: "d".into(),
                max_receive_count: 5
            }
        );
        let cfg = AwsConfig::from_lookup(lookup(&[
            ("TABLE_NAME", "t"),
            ("TASK_QUEUE_URL", "q"),
            ("DLQ_URL", "d"),
            ("MAX_RECEIVE_COUNT", "3"),
        ]))
        .unwrap();
        assert_eq!(cfg.max_receive_count, 3);
    }

    #[test]
    fn a_missing_variable_is_named() {
        let err =
            AwsConfig::from_lookup(lookup(&[("TABLE_NAME", "t"), ("DLQ_URL", "d")])).unwrap_err();
        assert_eq!(err, ConfigError::Missing("TASK_QUEUE_URL"));
        assert!(err.to_string().contains("TASK_QUEUE_URL"));
        let err = AwsConfig::from_lookup(lookup(&[
            ("TABLE_NAME", " "),
            ("TASK_QUEUE_URL", "q"),
            ("DLQ_URL", "d"),
        ]))
        .unwrap_err();
        assert_eq!(err, ConfigError::Missing("TABLE_NAME"));
    }

    #[test]
    fn an_invalid_receive_count_is_rejected() {
        let err = AwsConfig::from_lookup(lookup(&[
            ("TABLE_NAME", "t"),
            ("TASK_QUEUE_URL", "q"),
            ("DLQ_URL", "d"),
            ("MAX_RECEIVE_COUNT", "0"),
        ]))
        .unwrap_err();
        assert!(
            matches!(
                err,
                ConfigError::Invalid {
                    name: "MAX_RECEIVE_COUNT",
                    ..
                }
            ),
            "{err}"
        );
    }
}
