//! The Shopsync domain: what a shop is allowed to sync, which tasks exist, how a job moves through its
//! states, and the ports (traits) through which task logic reaches storage, queues and the two
//! external APIs.
//!
//! Nothing here knows about AWS, HTTP or Lambda: adapters in sibling crates implement the ports, so the
//! same task code runs against DynamoDB/SQS in the cloud, moto locally, and the simulators in tests.

pub mod b2b_catalogs;
pub mod backoff;
pub mod catalog;
pub mod catalogue;
pub mod companies;
pub mod contact;
pub mod customers;
pub mod error;
pub mod inventory;
pub mod items;
pub mod job;
pub mod orders;
pub mod patterns;
pub mod ports;
pub mod sales;
pub mod settings;
pub mod staging;
pub mod status;
pub mod status_ports;
pub mod text;
pub mod time;
pub mod waiting;

pub use catalogue::{TaskKind, TaskSpec};
pub use error::{ErrorKind, SyncError};
pub use job::{JobCounters, JobMessage, JobRecord, JobStatus, RunOptions, Trigger};
pub use settings::{SettingsError, ShopSettings};
