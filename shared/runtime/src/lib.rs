//! Lambda glue shared by every task function: the scheduled fan-out, the SQS worker with its leases,
//! deferrals, continuations and failure handling, the event dispatch, and a local runner that plays
//! EventBridge and the SQS event source mapping against moto.
//!
//! The runtime knows jobs, queues and leases; it does not know what a task does. A task arrives as a
//! [`TaskRunner`] from the task registry of `shopsync-tasks`, whose engine builds the per-shop API
//! clients and runs the task.

pub mod api_fn;
pub mod bootstrap;
pub mod config;
pub mod events;
pub mod fanout;
pub mod local;
pub mod metrics;
pub mod pushed;
pub mod status_fn;
pub mod worker;

pub use config::RuntimeConfig;
pub use shopsync_tasks::engine::clients::Endpoints;
pub use shopsync_tasks::engine::{RunReport, TaskRunner};
pub use shopsync_tasks::registry;

use shopsync_domain::ports::*;
use std::sync::Arc;

/// Everything a task function needs, built once per process.
#[derive(Clone)]
pub struct App {
    pub settings: Arc<dyn SettingsStore>,
    pub schedules: Arc<dyn ScheduleStore>,
    pub jobs: Arc<dyn JobStore>,
    pub leases: Arc<dyn LeaseStore>,
    pub queue: Arc<dyn TaskQueue>,
    pub runner: Arc<dyn TaskRunner>,
    pub config: RuntimeConfig,
}
