//! AWS adapters for the Shopsync ports: DynamoDB for state, SQS for the task queues and the dead-letter
//! queue, Secrets Manager for credentials.
//!
//! The domain crate defines *what* must happen (ports in `shopsync_domain::ports`); this crate decides
//! *how* it maps onto AWS: one DynamoDB table partitioned by shop with typed sort keys (see
//! [`dynamo`]), conditional writes wherever something must happen once, batch calls chunked to the
//! service limits, and every SDK failure classified as retryable storage trouble or a permanent error.
//!
//! The same code runs in Lambda and locally: locally the SDK reaches moto through the standard
//! `AWS_ENDPOINT_URL` environment variable ([`config::load_sdk_config`]) or through an [`SdkConfig`]
//! built by the tests. Launching moto and creating in it the table and queues that
//! `infra/template.yaml` declares is local-only tooling and lives in the dev-only crate
//! `shopsync-localstack` (`tests/localstack`), so that every function binary, which links this crate,
//! carries none of it (no process launcher, no YAML parser).
//!
//! For the status board, [`dlq`] reads the shared dead-letter queue without ever losing a message
//! (peek, remove one by id, depth) and [`queues`] gives the api and status functions every task
//! queue of the deployment (`QUEUE_URL_<TASK>`).

pub mod config;
pub mod dlq;
pub mod dynamo;
mod errors;
pub mod queues;
pub mod secrets;
pub mod sqs;

pub use config::{Adapters, AwsConfig, ConfigError, load_sdk_config};
pub use dlq::SqsDeadLetterQueue;
pub use dynamo::DynamoStore;
pub use queues::SqsTaskQueues;
pub use secrets::SecretsManagerSource;
pub use sqs::SqsTaskQueue;

/// The SDK configuration type the constructors take (re-exported so callers need not depend on
/// `aws-config` / `aws-types` directly).
pub use aws_config::SdkConfig;
