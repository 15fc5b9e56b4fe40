//! Lambda glue shared by every task function: the scheduled fan-out, the SQS worker with its leases,
//! deferrals, continuations and failure handling, the event dispatch, and a local runner that plays
//! EventBridge and the SQS event source mapping against moto.
//!
//! The runtime knows jobs, queues and leases; it does not know what a task does. A task arrives as a
//! [`TaskRunner`], which builds the per-shop API clients and calls the task logic in `shopsync-tasks`.

pub mod api_fn;
pub mod bootstrap;
pub mod clients;
pub mod config;
pub mod events;
pub mod fanout;
pub mod inventory_runner;
pub mod local;
pub mod metrics;
pub mod status_fn;
pub mod worker;

pub use config::RuntimeConfig;

use async_trait::async_trait;
use shopsync_domain::job::{JobCounters, JobRecord};
use shopsync_domain::ports::*;
use shopsync_domain::settings::ShopSettings;
use shopsync_domain::{SyncError, TaskKind};
use shopsync_tasks::{Progress, RunOutcome};
use std::sync::Arc;

/// What one invocation of a task did, including when it failed.
pub struct RunReport {
    pub result: Result<RunOutcome>,
    /// Counters of this invocation only.
    pub counters: JobCounters,
    /// Shopify cost points consumed by this invocation.
    pub cost_points: f64,
    /// Milliseconds this invocation waited for Shopify's cost bucket.
    pub throttle_wait_ms: u64,
}

impl RunReport {
    pub fn failed(error: SyncError) -> Self {
        RunReport {
            result: Err(error),
            counters: JobCounters::default(),
            cost_points: 0.0,
            throttle_wait_ms: 0,
        }
    }
}

/// One task, ready to run for any shop.
#[async_trait]
pub trait TaskRunner: Send + Sync {
    fn task(&self) -> TaskKind;
    async fn run(
        &self,
        settings: &ShopSettings,
        job: &JobRecord,
        progress: &dyn Progress,
    ) -> RunReport;
}

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
