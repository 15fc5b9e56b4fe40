//! The sync tasks, written against the domain ports, and the engine that runs them.
//!
//! A task does the work of one job for one shop. It never talks to SQS, Lambda or DynamoDB directly:
//! the runtime hands it a [`RunContext`] (settings, the job as it stands, a way to save progress and
//! to know how much time is left) and the ports it needs. A task either finishes, asks to continue in
//! a fresh invocation from the checkpoint it returns, or says why the run is skipped.

pub mod catalogs;
pub mod catalogue;
pub mod companies;
pub mod contacts;
pub mod customer_templates;
pub mod customers;
pub mod engine;
pub mod images;
pub mod inventory;
pub mod orders;
pub mod payments;
pub mod products;
pub mod registry;
pub mod shipments;
#[cfg(test)]
pub(crate) mod test_run;

use async_trait::async_trait;
use shopsync_domain::job::{JobCounters, JobRecord};
use shopsync_domain::ports::Result;
use shopsync_domain::settings::ShopSettings;

/// How a run ended (when it did not fail).
#[derive(Debug, Clone, PartialEq)]
pub enum RunOutcome {
    /// All work done. `warnings` when records were skipped.
    Finished { warnings: bool },
    /// The deadline is near: continue from `checkpoint` in a new invocation.
    Continue { checkpoint: serde_json::Value },
    /// Nothing to do, with the reason (e.g. outgoing requests are not allowed for this shop).
    Skipped { reason: String },
}

/// What the runtime offers a running task besides the ports.
#[async_trait]
pub trait Progress: Send + Sync {
    /// Persist a resume point with the counters so far; a crash after this resumes from here.
    async fn checkpoint(
        &self,
        checkpoint: &serde_json::Value,
        counters: &JobCounters,
    ) -> Result<()>;
    /// True when the run should stop and continue in a new invocation.
    fn deadline_near(&self) -> bool;
    /// True once the run's lease heartbeat found the lease taken: the run must stop before its next
    /// effect (another run may have taken the job over, and the fence refuses its writes anyway).
    fn lease_lost(&self) -> bool {
        false
    }
}

/// Everything a run needs to know about its job.
pub struct RunContext<'a> {
    pub settings: &'a ShopSettings,
    pub job: &'a JobRecord,
    pub progress: &'a dyn Progress,
    /// Counters accumulated during this invocation (added to the job's on every save).
    pub counters: JobCounters,
}
