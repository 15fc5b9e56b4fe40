//! Ports: the traits task logic and the runtime talk to. Adapters implement them on DynamoDB and SQS
//! (`shopsync-aws`), on Shopify's Admin GraphQL API (`shopsync-shopify`) and on Business Central's API
//! (`shopsync-bc`). Each trait has one job; tasks take only the ones they use.

use crate::error::SyncError;
use crate::inventory::*;
use crate::job::{JobMessage, JobRecord, JobStatus};
use crate::settings::ShopSettings;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub type Result<T> = std::result::Result<T, SyncError>;

// ---------------------------------------------------------------------------------------------
// State (DynamoDB)
// ---------------------------------------------------------------------------------------------

/// Shop settings. `put` validates first and writes nothing on error.
#[async_trait]
pub trait SettingsStore: Send + Sync {
    async fn get_shop(&self, code: &str) -> Result<Option<ShopSettings>>;
    async fn put_shop(&self, settings: &ShopSettings) -> Result<()>;
    /// Every registered shop (enabled or not), in code order.
    async fn list_shops(&self) -> Result<Vec<ShopSettings>>;
}

/// When a task last ran for a shop; drives "interval elapsed" and "full run due" in the fan-out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskSchedule {
    pub last_scheduled_at: Option<i64>,
    pub last_full_at: Option<i64>,
}

#[async_trait]
pub trait ScheduleStore: Send + Sync {
    async fn get_schedule(&self, shop: &str, task: crate::TaskKind) -> Result<TaskSchedule>;
    async fn put_schedule(
        &self,
        shop: &str,
        task: crate::TaskKind,
        schedule: &TaskSchedule,
    ) -> Result<()>;
}

/// Incremental sync cursors (e.g. the orders task's `updated_at` high-water mark), per shop and name.
#[async_trait]
pub trait CursorStore: Send + Sync {
    async fn get_cursor(&self, shop: &str, name: &str) -> Result<Option<String>>;
    /// Move a cursor from `expected` (None = not set yet) to `value`; `Ok(false)` if another run moved
    /// it first, so a slower run never moves a cursor backwards.
    async fn advance_cursor(
        &self,
        shop: &str,
        name: &str,
        expected: Option<&str>,
        value: &str,
    ) -> Result<bool>;
}

/// Job records. Every write is conditional on what the writer last saw.
#[async_trait]
pub trait JobStore: Send + Sync {
    /// Create a job; `Ok(false)` if a job with this id already exists (nothing written).
    async fn create_job(&self, job: &JobRecord) -> Result<bool>;
    async fn get_job(&self, shop: &str, job_id: &str) -> Result<Option<JobRecord>>;
    /// Replace the stored record with `job` only if the stored one still has `expected_status` and
    /// `expected_seq`. `Ok(false)` when the condition failed (someone else moved the job).
    async fn update_job_if(
        &self,
        job: &JobRecord,
        expected_status: JobStatus,
        expected_seq: u64,
    ) -> Result<bool>;
    /// Jobs of a shop, newest first, optionally only one status; `limit` at most 100.
    async fn list_jobs(
        &self,
        shop: &str,
        status: Option<JobStatus>,
        limit: usize,
    ) -> Result<Vec<JobRecord>>;
    /// One page of [`JobStore::list_jobs`]: the jobs older than `before` (a job id; `None` = from the
    /// newest), at most `limit` (≤ 100), and the cursor of the next page if there is one.
    async fn list_jobs_page(
        &self,
        shop: &str,
        status: Option<JobStatus>,
        limit: usize,
        before: Option<&str>,
    ) -> Result<JobPage>;

    /// The id of the job recorded as the shop's **waiting job** of `task` with `options`: the one a
    /// manual run joins instead of queuing another (the reference keeps at most one waiting job per
    /// shop). The record is only a pointer; whether that job still waits is judged from the job
    /// itself ([`JobRecord::is_waiting`]).
    async fn waiting_job_id(
        &self,
        shop: &str,
        task: crate::TaskKind,
        options: &crate::RunOptions,
    ) -> Result<Option<String>>;
    /// Create `job` (queued) and record it as the waiting job of its shop, task and options in one
    /// atomic write, provided the recorded waiting job is still `replacing` (`None`: none is
    /// recorded). Of concurrent callers that read the same record, exactly one creates its job.
    async fn create_waiting_job(
        &self,
        job: &JobRecord,
        replacing: Option<&str>,
    ) -> Result<WaitingJobCreate>;
    /// Record `job`, already created, as the waiting job of its shop, task and options, whatever was
    /// recorded before (the scheduled fan-out, so that manual runs join its job too).
    async fn record_waiting_job(&self, job: &JobRecord) -> Result<()>;
}

/// What [`JobStore::create_waiting_job`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitingJobCreate {
    /// The job was created and is now the recorded waiting job.
    Created,
    /// Nothing was written: a job with this id exists already.
    JobExists,
    /// Nothing was written: the recorded waiting job is no longer the one named (another request
    /// recorded its job first, or the write collided with one). Read the record again.
    Superseded,
}

/// A page of jobs, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct JobPage {
    pub jobs: Vec<JobRecord>,
    /// The job id to pass as `before` for the next page; `None` on the last page.
    pub next_before: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseOutcome {
    Acquired,
    /// Someone else holds it until `expires_at` (epoch seconds).
    Held {
        owner: String,
        expires_at: i64,
    },
}

/// `(shop, category)` leases: at most one run of a category per shop at a time.
#[async_trait]
pub trait LeaseStore: Send + Sync {
    /// Take the lease if it is free, expired, or already ours.
    async fn acquire(
        &self,
        shop: &str,
        category: &str,
        owner: &str,
        ttl_secs: i64,
        now: i64,
    ) -> Result<LeaseOutcome>;
    /// Extend our lease; `Ok(false)` if it is no longer ours.
    async fn heartbeat(
        &self,
        shop: &str,
        category: &str,
        owner: &str,
        ttl_secs: i64,
        now: i64,
    ) -> Result<bool>;
    /// Release our lease (no-op if it is not ours).
    async fn release(&self, shop: &str, category: &str, owner: &str) -> Result<()>;
    /// Who holds the lease, if anyone: `(owner, expires_at)`, expired or not (the caller judges).
    async fn holder(&self, shop: &str, category: &str) -> Result<Option<(String, i64)>>;
}

/// The fencing token of one run: job `job_id` of `shop` in its `epoch` (see [`JobRecord::epoch`]).
/// Stores seen through a fence ([`RunStoreSource::for_run`]) make every write conditional on the
/// job's stored epoch still being this one, and refuse it with [`SyncError::Fenced`] otherwise — in
/// the same atomic write, so a run that lost its job to a takeover cannot slip one more write in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    pub shop: String,
    pub job_id: String,
    pub epoch: u64,
}

/// One per-record state item of a task (a staged order, a shipment's state, a catalogue mirror row, a
/// packed chunk of inventory levels): a JSON `body`, an optional `status` that the status board's cues
/// can count and list, and a `version` that every write moves up by one (compare-and-swap).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub id: String,
    #[serde(default)]
    pub status: Option<String>,
    pub body: String,
    /// 0 for a record never written; the stored version after a read.
    #[serde(default)]
    pub version: u64,
    /// Set by the store to its own clock at every write (a value given by the caller is ignored).
    #[serde(default)]
    pub updated_at: i64,
}

impl Record {
    pub fn new(id: impl Into<String>, status: Option<&str>, body: impl Into<String>) -> Record {
        Record {
            id: id.into(),
            status: status.map(str::to_string),
            body: body.into(),
            version: 0,
            updated_at: 0,
        }
    }
}

/// A page of records in id order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RecordPage {
    pub records: Vec<Record>,
    /// The id to pass as `after` for the next page; `None` on the last page.
    pub next_after: Option<String>,
}

/// The generic per-record store every task keeps its state in, by `kind` (`[a-z0-9-]{1,40}`, one per
/// record type of a task) and `id` (any string of 1–512 bytes without control characters, e.g. a
/// Shopify GID). One adapter serves every record type, so a new task adds no storage code.
#[async_trait]
pub trait RecordStore: Send + Sync {
    async fn get_record(&self, shop: &str, kind: &str, id: &str) -> Result<Option<Record>>;
    /// The records with these ids that exist (any order; absent ones are left out).
    async fn get_records(&self, shop: &str, kind: &str, ids: &[String]) -> Result<Vec<Record>>;
    /// Write `record` if the stored one still has `record.version` (0: must not exist yet); the stored
    /// version becomes `record.version + 1`. `Ok(false)` when the condition failed.
    async fn put_record_if(&self, shop: &str, kind: &str, record: &Record) -> Result<bool>;
    /// Insert or replace many records whatever their stored version (each one's version moves up).
    async fn put_records(&self, shop: &str, kind: &str, records: &[Record]) -> Result<()>;
    async fn delete_records(&self, shop: &str, kind: &str, ids: &[String]) -> Result<()>;
    /// Move record `id` from status `from` to `to`, only if it has `from` now. `Ok(false)` when it
    /// does not (someone moved it first, or it does not exist).
    async fn move_status(
        &self,
        shop: &str,
        kind: &str,
        id: &str,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<bool>;
    /// Records of a kind in id order, after `after`, at most `limit` (1..=1000).
    async fn list_records(
        &self,
        shop: &str,
        kind: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<RecordPage>;
    /// Records of a kind with `status`, in id order (a query on a sparse index: records without a
    /// status are not in it).
    async fn list_by_status(
        &self,
        shop: &str,
        kind: &str,
        status: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<RecordPage>;
    /// How many records of a kind have `status` (what a status-board cue shows).
    async fn count_by_status(&self, shop: &str, kind: &str, status: &str) -> Result<u64>;
}

/// Checks a record status: it ends up in an index key, so 1–255 bytes without control characters.
pub fn check_record_status(status: &str) -> Result<()> {
    if status.is_empty() || status.len() > 255 || status.chars().any(char::is_control) {
        return Err(SyncError::Internal(format!(
            "record status '{}' must be 1-255 bytes without control characters",
            crate::text::preview(status)
        )));
    }
    Ok(())
}

/// Checks what a record write puts into keys: its kind, id and status.
pub fn check_record(kind: &str, record: &Record) -> Result<()> {
    check_record_key(kind, &record.id)?;
    if let Some(status) = &record.status {
        check_record_status(status)?;
    }
    Ok(())
}

/// The stores a run writes to, all seen through the run's [`Fence`].
#[derive(Clone)]
pub struct RunStores {
    pub ledger: std::sync::Arc<dyn IdempotencyLedger>,
    pub skipped: std::sync::Arc<dyn SkippedRecordStore>,
    pub records: std::sync::Arc<dyn RecordStore>,
    pub cues: std::sync::Arc<dyn crate::status_ports::CueStore>,
}

/// Gives each run its fenced view of the stores.
pub trait RunStoreSource: Send + Sync {
    /// The stores as the run behind `fence` sees them; `None`: unfenced (callers outside a run).
    fn for_run(&self, fence: Option<Fence>) -> RunStores;
}

/// Checks a record kind against `[a-z0-9-]{1,40}` and an id against 1–512 bytes without control
/// characters: both end up in a storage key.
pub fn check_record_key(kind: &str, id: &str) -> Result<()> {
    let kind_ok = !kind.is_empty()
        && kind.len() <= 40
        && kind
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !kind_ok {
        return Err(SyncError::Internal(format!(
            "record kind '{}' is not [a-z0-9-]{{1,40}}",
            crate::text::preview(kind)
        )));
    }
    if id.is_empty() || id.len() > 512 || id.chars().any(char::is_control) {
        return Err(SyncError::Internal(format!(
            "record id '{}' must be 1-512 bytes without control characters",
            crate::text::preview(id)
        )));
    }
    Ok(())
}

/// A Shopify variant mapped to a BC item (and variant).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VariantMapping {
    pub variant_id: String,
    pub inventory_item_id: String,
    pub item_no: String,
    #[serde(default)]
    pub variant_code: String,
}

/// Where an effect stands: `planned → sent → settled`. A `Sent` entry's outcome is unknown (the call
/// went out, its answer may not have come back): it is replayed under its key, or probed first when
/// the target has no idempotency keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LedgerStatus {
    /// Written before the effect is attempted; never sent.
    Pending,
    /// About to be sent, or sent with no answer recorded yet.
    Sent,
    /// Done; `result` holds the outcome.
    Applied,
}

/// An effect that must happen once, recorded before it is attempted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub key: String,
    /// Exactly what will be (or was) sent, so a retry resends the same thing under the same key.
    pub payload: String,
    pub payload_sha256: String,
    pub status: LedgerStatus,
    pub result: Option<String>,
    pub created_at: i64,
}

impl LedgerEntry {
    /// The hex SHA-256 of a payload, as `payload_sha256` holds it: a retry compares it to tell
    /// "the same effect again" from "another effect under a reused key".
    pub fn sha256_hex(payload: &str) -> String {
        use sha2::Digest;
        sha2::Sha256::digest(payload.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LedgerBegin {
    /// Our entry was written; go ahead.
    Started,
    /// An entry with this key exists already (a retry or a duplicate): here it is.
    Existing(LedgerEntry),
}

#[async_trait]
pub trait IdempotencyLedger: Send + Sync {
    /// Conditional put of a `Pending` entry.
    async fn begin(&self, shop: &str, entry: &LedgerEntry) -> Result<LedgerBegin>;
    async fn get(&self, shop: &str, key: &str) -> Result<Option<LedgerEntry>>;
    /// Mark a `Pending` entry `Sent`, right before its effect is sent (conditional on the entry
    /// existing and not yet applied; marking a `Sent` entry again is a no-op).
    async fn mark_sent(&self, shop: &str, key: &str) -> Result<()>;
    /// Mark applied with the outcome (conditional on the entry existing).
    async fn complete(&self, shop: &str, key: &str, result: &str) -> Result<()>;
}

/// A record a run could not process (the reference's Skipped Record), kept with a TTL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedRecord {
    pub job_id: String,
    pub task: crate::TaskKind,
    /// What was skipped, e.g. a variant or inventory item gid.
    pub record_id: String,
    pub reason: String,
    pub at: i64,
}

#[async_trait]
pub trait SkippedRecordStore: Send + Sync {
    async fn record_skipped(&self, shop: &str, records: &[SkippedRecord]) -> Result<()>;
    async fn list_skipped(&self, shop: &str, limit: usize) -> Result<Vec<SkippedRecord>>;
}

// ---------------------------------------------------------------------------------------------
// Queues (SQS)
// ---------------------------------------------------------------------------------------------

/// Why a message was dead-lettered; carried as message attributes so on-call sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetterReason {
    pub shop: Option<String>,
    pub task: Option<String>,
    pub job_id: Option<String>,
    pub error_kind: String,
    pub error: String,
}

#[async_trait]
pub trait TaskQueue: Send + Sync {
    /// Send one message, visible after `delay_secs` (0..=900).
    async fn send(&self, msg: &JobMessage, delay_secs: u32) -> Result<()>;
    /// Send many (10 per SQS call); returns the indexes of messages that could not be sent.
    async fn send_batch(&self, msgs: &[JobMessage]) -> Result<Vec<usize>>;
    /// Put a raw body on the dead-letter queue with the reason.
    async fn dead_letter(&self, body: &str, reason: &DeadLetterReason) -> Result<()>;
    /// Make a received message (by its receipt handle) visible again after `after_secs` — the retry
    /// clock of a retryable failure, instead of the queue's long visibility timeout.
    async fn retry_later(&self, receipt_handle: &str, after_secs: u32) -> Result<()>;
}

/// The task queue of each task that has a function in this deployment. The api function (manual runs)
/// and the status function (retries) send to any task's queue through this.
pub trait TaskQueues: Send + Sync {
    /// `None` when this deployment has no queue for `task`.
    fn queue(&self, task: crate::TaskKind) -> Option<std::sync::Arc<dyn TaskQueue>>;
}

// ---------------------------------------------------------------------------------------------
// Secrets
// ---------------------------------------------------------------------------------------------

#[async_trait]
pub trait SecretSource: Send + Sync {
    /// The secret string of Secrets Manager secret `id`, read on behalf of shop `shop`. Never log it.
    ///
    /// Implementations refuse (with [`SyncError::Settings`](crate::SyncError::Settings), before any
    /// call) an id outside the shop's own prefix `shopsync/<shop>/` — see
    /// [`patterns::check_shop_secret_id`](crate::patterns::check_shop_secret_id) — so settings written
    /// past validation still cannot reach another shop's credentials.
    async fn secret(&self, shop: &str, id: &str) -> Result<String>;
}

// ---------------------------------------------------------------------------------------------
// External APIs
// ---------------------------------------------------------------------------------------------

/// What a Shopify client spent: the engine reports it per invocation (EMF metrics, job record).
pub trait ShopifyUsage: Send + Sync {
    /// Cost points consumed so far (sum of `actualQueryCost`).
    fn cost_points_used(&self) -> f64;
    /// Milliseconds spent waiting for the store's cost bucket so far.
    fn throttle_wait_ms(&self) -> u64;
}

/// What the inventory task needs from Shopify. Implementations pace, retry and count cost.
#[async_trait]
pub trait ShopifyInventoryApi: Send + Sync {
    async fn locations(&self) -> Result<Vec<ShopifyLocation>>;
    /// The whole variant catalogue (the client chooses paging or a bulk operation by size).
    async fn variants(&self) -> Result<Vec<ShopifyVariant>>;
    /// Every `available` level at one location.
    async fn levels_at(&self, location_id: &str) -> Result<Vec<InventoryLevel>>;
    /// Every `available` level at several locations; clients override this to read a large store
    /// with one bulk operation instead of paging each location.
    async fn levels(&self, location_ids: &[String]) -> Result<Vec<InventoryLevel>> {
        let mut all = Vec::new();
        for id in location_ids {
            all.extend(self.levels_at(id).await?);
        }
        Ok(all)
    }
    /// The current `available` level of each given (inventory item, location), read from Shopify
    /// now — e.g. the levels an `inventorySetQuantities` call refused as
    /// `CHANGE_FROM_QUANTITY_STALE`. Clients read them in as few queries as the API allows. A pair
    /// Shopify does not know or does not stock is absent from the answer.
    async fn levels_of(&self, keys: &[LevelKey<'_>]) -> Result<Vec<InventoryLevel>>;
    /// One `inventorySetQuantities` call; `userErrors` come back as data.
    async fn set_quantities(&self, request: &SetQuantitiesRequest) -> Result<SetQuantitiesOutcome>;
}

/// What the inventory task needs from Business Central.
#[async_trait]
pub trait BcInventoryApi: Send + Sync {
    /// All items with their type, GTIN and `inventory` total.
    async fn items(&self) -> Result<Vec<BcItem>>;
    /// Availability per item/variant/location from a published page, for the given location codes.
    async fn availability(
        &self,
        page: &str,
        company_name: &str,
        location_codes: &[String],
    ) -> Result<Vec<BcAvailability>>;
}
