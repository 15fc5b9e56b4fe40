//! In-memory test doubles of the domain ports, with fault injection.
//!
//! The run path promises that nothing is done twice, no job is left behind and no run writes after
//! it lost its lease. Those promises rest on the conditional writes of the DynamoDB adapters and on
//! what the code does when a call fails at the worst moment. moto and the simulators prove the
//! whole path end to end, but slowly and without control over *which* call fails. The doubles here
//! let the engine and the worker's outcome → job-state mapping be unit-tested in milliseconds:
//!
//! - [`MemoryStore`] implements every state port (settings, schedules, cursors, jobs and waiting
//!   jobs, leases, task records, the idempotency ledger, skipped records, cue entries, the
//!   board's counts, the dead-letter mirror) with exactly the conditions of the adapters in
//!   `shared/aws/src/dynamo/` — each module says which, and where it deliberately differs;
//! - [`MemoryQueue`], [`MemoryQueues`] and [`MemoryDeadLetterQueue`] record what would go to SQS;
//! - [`MemorySecrets`] applies the real shop-prefix rule of secret ids;
//! - [`Documents`] is a target without idempotency keys (BC sales documents) that can apply a write
//!   and lose its answer, and counts creations;
//! - [`Faults`] fails named operations — the next `n` calls or each call with a seeded probability,
//!   before the work or after it (the lost answer) — and counts calls;
//! - [`Clock`] is the settable "now" the doubles read where the adapters read the wall clock.
//!
//! Nothing here sleeps, reads the wall clock or touches the network. [`Doubles`] wires one of each
//! on a shared [`Faults`] and [`Clock`].

mod clock;
mod documents;
mod faults;
mod queue;
mod secrets;
mod store;
mod unused_apis;

#[doc(hidden)]
pub use async_trait;
#[doc(hidden)]
pub use shopsync_domain;

pub use clock::{Clock, DEFAULT_START};
pub use documents::{Documents, EXTERNAL_DOCUMENT_NUMBER};
pub use faults::{FaultMode, Faults, op};
pub use queue::{
    DeadLetter, MemoryDeadLetterQueue, MemoryQueue, MemoryQueues, RetryLater, SentMessage,
};
pub use secrets::MemorySecrets;
pub use store::{AppliedWrite, Lease, MemoryStore};

/// TTLs and listing limits the doubles share with the adapters.
pub mod limits {
    pub use crate::queue::{
        MAX_BATCH_SEND, MAX_DELAY_SECS, MAX_ERROR_ATTR_CHARS, MAX_VISIBILITY_SECS,
        SQS_RECEIVE_BATCH,
    };
    pub use crate::store::{
        CLOSED_FAILURE_TTL_SECS, FAILURE_LOCATOR_TTL_SECS, JOB_TTL_SECS, LEDGER_TTL_SECS,
        MAX_CUE_LIST, MAX_FAILURE_LIST, MAX_JOB_LIST, MAX_RECORD_LIST, MAX_SKIPPED_LIST,
        OPEN_FAILURE_TTL_SECS, SKIPPED_TTL_SECS,
    };
}

/// One of each double, sharing one [`Faults`] and one [`Clock`]: the store, the task queue (whose
/// dead letters land on `dlq`), the dead-letter queue and the secrets. Every field is a cloneable
/// handle: wrap clones in `Arc` for the ports and keep these to inspect and to inject faults.
#[derive(Debug, Clone)]
pub struct Doubles {
    pub faults: Faults,
    pub clock: Clock,
    pub store: MemoryStore,
    pub queue: MemoryQueue,
    pub dlq: MemoryDeadLetterQueue,
    pub secrets: MemorySecrets,
}

impl Default for Doubles {
    fn default() -> Self {
        Doubles::seeded(0)
    }
}

impl Doubles {
    pub fn new() -> Doubles {
        Doubles::default()
    }

    /// Probabilistic faults draw from an RNG seeded with `seed`.
    pub fn seeded(seed: u64) -> Doubles {
        let faults = Faults::seeded(seed);
        let clock = Clock::new();
        let dlq = MemoryDeadLetterQueue::new()
            .with_faults(faults.clone())
            .with_clock(clock.clone());
        Doubles {
            store: MemoryStore::new()
                .with_faults(faults.clone())
                .with_clock(clock.clone()),
            queue: MemoryQueue::new()
                .with_faults(faults.clone())
                .with_dead_letter_queue(dlq.clone()),
            secrets: MemorySecrets::new().with_faults(faults.clone()),
            dlq,
            faults,
            clock,
        }
    }

    /// A [`Documents`] double on the shared faults.
    pub fn documents(&self, kind: &str, natural_key: &str) -> Documents {
        Documents::new(kind, natural_key).with_faults(self.faults.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shopsync_domain::ports::*;
    use shopsync_domain::status_ports::*;
    use std::sync::Arc;

    #[test]
    fn the_doubles_fill_every_port_an_app_needs() {
        let d = Doubles::new();
        let _settings: Arc<dyn SettingsStore> = Arc::new(d.store.clone());
        let _schedules: Arc<dyn ScheduleStore> = Arc::new(d.store.clone());
        let _cursors: Arc<dyn CursorStore> = Arc::new(d.store.clone());
        let _jobs: Arc<dyn JobStore> = Arc::new(d.store.clone());
        let _leases: Arc<dyn LeaseStore> = Arc::new(d.store.clone());
        let _ledger: Arc<dyn IdempotencyLedger> = Arc::new(d.store.clone());
        let _skipped: Arc<dyn SkippedRecordStore> = Arc::new(d.store.clone());
        let _cues: Arc<dyn CueStore> = Arc::new(d.store.clone());
        let _counts: Arc<dyn StatusCounts> = Arc::new(d.store.clone());
        let _failures: Arc<dyn FailureStore> = Arc::new(d.store.clone());
        let _records: Arc<dyn RecordStore> = Arc::new(d.store.clone());
        let _runs: Arc<dyn RunStoreSource> = Arc::new(d.store.clone());
        let _queue: Arc<dyn TaskQueue> = Arc::new(d.queue.clone());
        let _queues: Arc<dyn TaskQueues> = Arc::new(MemoryQueues::new());
        let _dlq: Arc<dyn DeadLetterQueue> = Arc::new(d.dlq.clone());
        let _secrets: Arc<dyn SecretSource> = Arc::new(d.secrets.clone());
    }

    #[tokio::test]
    async fn one_faults_handle_reaches_every_double_of_a_bundle() {
        let d = Doubles::seeded(42);
        let docs = d.documents("sales_documents", EXTERNAL_DOCUMENT_NUMBER);
        d.faults.fail_next("*", 3, Faults::unavailable());
        assert!(d.store.get_shop("A").await.is_err());
        assert!(d.queue.retry_later("rh", 1).await.is_err());
        assert!(docs.find_by_key("x").await.is_err());
        assert!(d.store.get_shop("A").await.is_ok(), "spent");
        // Dead letters of the queue land on the bundle's dead-letter queue, stamped by its clock.
        d.clock.set(77);
        let reason = DeadLetterReason {
            shop: Some("A".into()),
            task: Some("sync-inventory".into()),
            job_id: Some("j1".into()),
            error_kind: "auth".into(),
            error: "401".into(),
        };
        d.queue.dead_letter("{\"x\":1}", &reason).await.unwrap();
        let on_queue = d.dlq.peek(10).await.unwrap();
        assert_eq!(on_queue.len(), 1);
        assert_eq!(on_queue[0].attributes["job_id"], "j1");
        assert_eq!(on_queue[0].sent_at, Some(77));
        assert_eq!(d.faults.calls("*"), 6);
    }
}
