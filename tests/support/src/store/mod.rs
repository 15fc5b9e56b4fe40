//! [`MemoryStore`]: every DynamoDB-backed port on one in-memory "table", as `DynamoStore` implements
//! them all on one DynamoDB table.
//!
//! The point of the double is that the run path's guarantees rest on the *conditions* of the
//! adapters' writes (create only if absent, compare-and-swap on a job's `(status, seq)`, a lease taken
//! only if free, expired or ours, a ledger entry begun only once), so each method here checks exactly
//! the condition its adapter in `shared/aws/src/dynamo/` sends, under one lock, so a condition and
//! its write are one atomic step as in DynamoDB. A lost condition is an answer (`Ok(false)`,
//! [`LeaseOutcome::Held`](shopsync_domain::ports::LeaseOutcome), ...) exactly where the adapter
//! answers so, and an error exactly where the adapter returns one. The module of each port says
//! which condition it mirrors.
//!
//! Deliberate differences, all in the direction of determinism:
//!
//! - Everything is strongly consistent, including what the adapters read from the eventually
//!   consistent `gsi1` (jobs by status, shop list, counts): a test never sees a stale index.
//! - TTL never removes anything by itself; [`MemoryStore::expire_ttl`] plays DynamoDB's TTL sweeper
//!   when a test asks (the real one deletes "some time" after expiry, up to days late).
//! - Batch writes (`BatchWriteItem`, up to 25 per call, not atomic in DynamoDB) are applied all at
//!   once; a fault fails the whole batch before or after it is applied, never half of it.
//! - Skipped records of the same second list in insertion order (the adapter breaks ties by a random
//!   uuid in the sort key).
//! - The wall clock the adapters read for TTLs is the store's [`Clock`].
//! - A fenced batch ([`MemoryStore::fenced`]) is checked once and applied whole; the adapter cuts a
//!   batch into transactions of at most 99 writes, each checked on its own, so there an epoch that
//!   moves in the middle of a big batch stops it part-way.
//!
//! **Fenced views.** [`MemoryStore::fenced`] is the view of one run, as `DynamoStore::fenced`: the
//! same tables, faults and clock, but every write of the run stores (ledger, skipped records, cue
//! entries, generic records) first checks, under the same lock as the write, that the job of the
//! [`Fence`] is stored with exactly its epoch, and otherwise fails with `SyncError::Fenced` and
//! writes nothing. The check comes before the write's own condition (a fenced `begin` of an
//! existing entry is `Fenced`, not `Existing`), as the adapter's transaction puts the check first.
//! Validation (a bad record key, an empty cue id) still comes before everything.
//!
//! Every operation first asks the store's [`Faults`] (names in [`crate::op`]); every applied write is
//! journalled ([`MemoryStore::writes`]) so a test can assert "no write after the takeover".

mod failures;
mod generic_records;
mod jobs;
mod leases;
mod ledger;
mod records;
mod settings;

pub use failures::MAX_FAILURE_LIST;
pub use generic_records::MAX_RECORD_LIST;
pub use jobs::MAX_JOB_LIST;
pub use leases::Lease;
pub use records::{MAX_CUE_LIST, MAX_SKIPPED_LIST};

use crate::{Clock, Faults};
use shopsync_domain::ports::{
    Fence, LedgerEntry, Record, Result, RunStoreSource, RunStores, SkippedRecord, TaskSchedule,
};
use shopsync_domain::status::{Cue, CueEntry};
use shopsync_domain::{JobRecord, ShopSettings, TaskKind};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

const DAY_SECS: i64 = 24 * 60 * 60;
/// As `shopsync_aws::dynamo::JOB_TTL_SECS`: job records (and waiting records) live 30 days after the
/// job's last update.
pub const JOB_TTL_SECS: i64 = 30 * DAY_SECS;
/// As `LEDGER_TTL_SECS`: ledger entries live 7 days.
pub const LEDGER_TTL_SECS: i64 = 7 * DAY_SECS;
/// As `SKIPPED_TTL_SECS`: skipped records live 30 days.
pub const SKIPPED_TTL_SECS: i64 = 30 * DAY_SECS;
/// As `OPEN_FAILURE_TTL_SECS`.
pub const OPEN_FAILURE_TTL_SECS: i64 = 15 * DAY_SECS;
/// As `CLOSED_FAILURE_TTL_SECS`.
pub const CLOSED_FAILURE_TTL_SECS: i64 = 30 * DAY_SECS;
/// As `FAILURE_LOCATOR_TTL_SECS`.
pub const FAILURE_LOCATOR_TTL_SECS: i64 = 45 * DAY_SECS;

/// Partition of failures that belong to no shop (as `keys::UNATTRIBUTED`).
pub(crate) const UNATTRIBUTED: &str = "_unattributed";

/// One write the store applied: the operation and the DynamoDB key it would have written
/// (`pk = SHOP#<shop>`, `sk` as in `shopsync_aws::dynamo::keys`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedWrite {
    pub op: &'static str,
    pub pk: String,
    pub sk: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Expiring<T> {
    pub value: T,
    pub expires_at: i64,
}

#[derive(Debug, Clone)]
pub(crate) struct WaitingRecord {
    pub job_id: String,
    pub expires_at: i64,
}

#[derive(Debug, Clone)]
pub(crate) struct FailureItem {
    pub failure: shopsync_domain::status::Failure,
    pub expires_at: i64,
    pub claim: Option<shopsync_domain::status_ports::FailureClaim>,
}

#[derive(Debug, Clone)]
pub(crate) struct Locator {
    pub shop: Option<String>,
    pub failed_at: i64,
    pub expires_at: i64,
}

/// Everything stored under one `pk = SHOP#<code>`.
#[derive(Debug, Default)]
pub(crate) struct Partition {
    pub settings: Option<ShopSettings>,
    pub schedules: BTreeMap<TaskKind, TaskSchedule>,
    pub cursors: BTreeMap<String, String>,
    pub jobs: BTreeMap<String, Expiring<JobRecord>>,
    /// By waiting sort key (`WAITING#<task>#<options JSON>`).
    pub waiting: BTreeMap<String, WaitingRecord>,
    pub leases: BTreeMap<String, Lease>,
    pub ledger: BTreeMap<String, Expiring<LedgerEntry>>,
    /// By (`at` clamped at 0, insertion number): the adapter's time-ordered sort key.
    pub skipped: BTreeMap<(i64, u64), Expiring<SkippedRecord>>,
    pub cues: BTreeMap<(Cue, String), CueEntry>,
    pub failures: BTreeMap<String, FailureItem>,
    /// Generic records by (kind, id), as stored (version and `updated_at` included).
    pub records: BTreeMap<(String, String), Record>,
}

#[derive(Debug, Default)]
pub(crate) struct Tables {
    pub shops: BTreeMap<String, Partition>,
    /// The `FAILURES` partition: failure locators by message id.
    pub locators: BTreeMap<String, Locator>,
    /// `pk = FAILURES, sk = MIRROR`.
    pub mirror_refreshed_at: Option<i64>,
    pub writes: Vec<AppliedWrite>,
    pub next_unique: u64,
}

impl Tables {
    /// The partition of `shop`, created on first write.
    pub fn shop(&mut self, shop: &str) -> &mut Partition {
        self.shops.entry(shop.to_string()).or_default()
    }

    /// The partition of `shop` for reading (`None`: nothing was ever written there).
    pub fn read(&self, shop: &str) -> Option<&Partition> {
        self.shops.get(shop)
    }

    pub fn wrote(&mut self, op: &'static str, shop: &str, sk: impl Into<String>) {
        self.wrote_raw(op, format!("SHOP#{shop}"), sk);
    }

    pub fn wrote_raw(&mut self, op: &'static str, pk: impl Into<String>, sk: impl Into<String>) {
        self.writes.push(AppliedWrite {
            op,
            pk: pk.into(),
            sk: sk.into(),
        });
    }

    pub fn unique(&mut self) -> u64 {
        self.next_unique += 1;
        self.next_unique
    }
}

/// The in-memory table behind [`SettingsStore`](shopsync_domain::ports::SettingsStore),
/// [`ScheduleStore`](shopsync_domain::ports::ScheduleStore),
/// [`CursorStore`](shopsync_domain::ports::CursorStore), [`JobStore`](shopsync_domain::ports::JobStore),
/// [`LeaseStore`](shopsync_domain::ports::LeaseStore),
/// [`IdempotencyLedger`](shopsync_domain::ports::IdempotencyLedger),
/// [`SkippedRecordStore`](shopsync_domain::ports::SkippedRecordStore),
/// [`CueStore`](shopsync_domain::status_ports::CueStore),
/// [`StatusCounts`](shopsync_domain::status_ports::StatusCounts),
/// [`FailureStore`](shopsync_domain::status_ports::FailureStore) and
/// [`RecordStore`](shopsync_domain::ports::RecordStore); and the
/// [`RunStoreSource`] of fenced views.
///
/// Clones share the table, the faults and the clock: hand `Arc::new(store.clone())` to each port of
/// an `App` and keep one clone to inspect.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    tables: Arc<Mutex<Tables>>,
    faults: Faults,
    clock: Clock,
    strict_transitions: bool,
    /// The run whose view this is: run-store writes check its job's epoch first.
    fence: Option<Fence>,
}

impl MemoryStore {
    /// An empty store with its own [`Faults`] (no rules) and a [`Clock`] at its default start.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// Use `faults` (e.g. one handle shared with the queue and the documents double).
    pub fn with_faults(mut self, faults: Faults) -> MemoryStore {
        self.faults = faults;
        self
    }

    /// Read the wall clock from `clock` where the adapters read it (TTLs, `completed_at`).
    pub fn with_clock(mut self, clock: Clock) -> MemoryStore {
        self.clock = clock;
        self
    }

    /// Deliberately stricter than DynamoDB: `update_job_if` whose condition holds but whose write
    /// is not a move of [`JobStatus::can_become`](shopsync_domain::JobStatus::can_become) (or a
    /// rewrite of a non-terminal job in the same status, e.g. a checkpoint) fails with
    /// `SyncError::Internal` and writes nothing. Catches state-machine bugs in the code under test.
    pub fn with_strict_transitions(mut self) -> MemoryStore {
        self.strict_transitions = true;
        self
    }

    /// The view of the run behind `fence` (same tables, faults and clock): every write of the run
    /// stores checks that the job is stored with exactly `fence.epoch`, under the write's lock, and
    /// fails with `SyncError::Fenced` otherwise (nothing written).
    pub fn fenced(&self, fence: Fence) -> MemoryStore {
        MemoryStore {
            fence: Some(fence),
            ..self.clone()
        }
    }

    /// The fence of this view (`None`: unfenced).
    pub fn fence(&self) -> Option<&Fence> {
        self.fence.as_ref()
    }

    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Tables> {
        self.tables.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Run one operation: faults first, then `work` on the tables under the lock.
    pub(crate) fn op<T>(
        &self,
        op: &'static str,
        work: impl FnOnce(&mut Tables) -> Result<T>,
    ) -> Result<T> {
        self.faults.run(op, || work(&mut self.lock()))
    }

    /// Run one write of a run store: faults first, then, under the lock, the fence check (in a
    /// fenced view) and `work`. A fault that drops the answer still lets the check decide.
    pub(crate) fn fenced_op<T>(
        &self,
        op: &'static str,
        work: impl FnOnce(&mut Tables) -> Result<T>,
    ) -> Result<T> {
        self.faults.run(op, || {
            let mut t = self.lock();
            self.check_fence(&t)?;
            work(&mut t)
        })
    }

    /// The job of this view's fence must be stored with exactly its epoch (a missing job fails).
    fn check_fence(&self, t: &Tables) -> Result<()> {
        let Some(fence) = &self.fence else {
            return Ok(());
        };
        let stored = t
            .read(&fence.shop)
            .and_then(|p| p.jobs.get(&fence.job_id))
            .map(|j| j.value.epoch);
        if stored == Some(fence.epoch) {
            Ok(())
        } else {
            Err(shopsync_domain::SyncError::Fenced {
                job_id: fence.job_id.clone(),
            })
        }
    }

    // ---- inspection: no faults, not counted ---------------------------------------------------

    /// Every write applied so far, in order (including writes whose answer a fault dropped).
    pub fn writes(&self) -> Vec<AppliedWrite> {
        self.lock().writes.clone()
    }

    /// Number of writes applied so far: take it as a mark, then look at `writes()[mark..]`.
    pub fn write_count(&self) -> usize {
        self.lock().writes.len()
    }

    /// The stored job, as `get_job` would return it.
    pub fn job(&self, shop: &str, job_id: &str) -> Option<JobRecord> {
        self.lock()
            .read(shop)
            .and_then(|p| p.jobs.get(job_id))
            .map(|j| j.value.clone())
    }

    /// Every job of `shop`, oldest first.
    pub fn jobs(&self, shop: &str) -> Vec<JobRecord> {
        self.lock()
            .read(shop)
            .map(|p| p.jobs.values().map(|j| j.value.clone()).collect())
            .unwrap_or_default()
    }

    /// The lease item of `(shop, category)`, expired or not, as DynamoDB holds it until TTL.
    pub fn lease(&self, shop: &str, category: &str) -> Option<Lease> {
        self.lock()
            .read(shop)
            .and_then(|p| p.leases.get(category))
            .cloned()
    }

    /// The stored generic record, as `get_record` would return it.
    pub fn record(&self, shop: &str, kind: &str, id: &str) -> Option<Record> {
        self.lock()
            .read(shop)
            .and_then(|p| p.records.get(&(kind.to_string(), id.to_string())))
            .cloned()
    }

    /// Every generic record of `shop` of `kind`, in id order.
    pub fn records(&self, shop: &str, kind: &str) -> Vec<Record> {
        self.lock()
            .read(shop)
            .map(|p| {
                p.records
                    .iter()
                    .filter(|((k, _), _)| k == kind)
                    .map(|(_, r)| r.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Every ledger entry of `shop`, by key.
    pub fn ledger_entries(&self, shop: &str) -> Vec<LedgerEntry> {
        self.lock()
            .read(shop)
            .map(|p| p.ledger.values().map(|e| e.value.clone()).collect())
            .unwrap_or_default()
    }

    /// Play DynamoDB's TTL sweeper at `now`: remove every item whose `expires_at` is before `now`
    /// (leases, jobs, waiting records, ledger entries, skipped records, failures and their locators).
    /// Returns how many items went.
    pub fn expire_ttl(&self, now: i64) -> usize {
        let mut t = self.lock();
        let mut removed = 0;
        for p in t.shops.values_mut() {
            let before = p.leases.len()
                + p.jobs.len()
                + p.waiting.len()
                + p.ledger.len()
                + p.skipped.len()
                + p.failures.len();
            p.leases.retain(|_, l| l.expires_at >= now);
            p.jobs.retain(|_, j| j.expires_at >= now);
            p.waiting.retain(|_, w| w.expires_at >= now);
            p.ledger.retain(|_, e| e.expires_at >= now);
            p.skipped.retain(|_, s| s.expires_at >= now);
            p.failures.retain(|_, f| f.expires_at >= now);
            removed += before
                - (p.leases.len()
                    + p.jobs.len()
                    + p.waiting.len()
                    + p.ledger.len()
                    + p.skipped.len()
                    + p.failures.len());
        }
        let locators = t.locators.len();
        t.locators.retain(|_, l| l.expires_at >= now);
        removed + locators - t.locators.len()
    }
}

impl RunStoreSource for MemoryStore {
    /// `Some(fence)`: the four run stores on [`MemoryStore::fenced`]; `None`: on plain clones.
    fn for_run(&self, fence: Option<Fence>) -> RunStores {
        let store = match fence {
            Some(fence) => self.fenced(fence),
            None => MemoryStore {
                fence: None,
                ..self.clone()
            },
        };
        RunStores {
            ledger: Arc::new(store.clone()),
            skipped: Arc::new(store.clone()),
            records: Arc::new(store.clone()),
            cues: Arc::new(store),
        }
    }
}

#[cfg(test)]
mod tests;
