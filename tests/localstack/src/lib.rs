//! The local AWS stand-in of the tests, the local runner, the demo and the benchmark: a launcher for
//! moto ([`local::MotoServer`]) and the provisioner that creates in it the DynamoDB table and SQS
//! queues `infra/template.yaml` declares ([`provision`]).
//!
//! This is test tooling, and a crate of its own so that it stays out of the production graph: the
//! adapters in `shopsync-aws` do not know about moto (locally they get an `SdkConfig` whose endpoint
//! is moto's, exactly as in Lambda they get one from `AWS_ENDPOINT_URL`), so nothing a function binary
//! links needs to start processes, write a `sitecustomize.py` or parse the SAM template (`serde_yaml`).
//! Only dev-dependencies and the test-tooling crates (`shopsync-e2e`) depend on this crate;
//! `tests/production_graph.rs` fails if a function binary's normal dependency graph reaches it.

pub mod local;
pub mod provision;

pub use local::MotoServer;
pub use provision::{ProvisionError, ProvisionOptions, ProvisionedResources};
