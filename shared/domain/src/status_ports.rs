//! Ports of the status board: the dead-letter queue as on-call sees it, its mirror in the table, the
//! sparse "cue entries" tasks write for the board, and the counts the board reads from indexes.
//!
//! They are separate from [`crate::ports`] because only the status service (and the tasks that feed a
//! cue) use them. Reading the dead-letter queue must never lose a message, so the queue port offers
//! exactly three things: a non-destructive peek, the removal of one message by id (the only way a
//! message leaves the queue, used by retry and discard), and the depth.

use crate::JobStatus;
use crate::ports::Result;
use crate::status::{Cue, CueEntry, Failure, FailureState};
use async_trait::async_trait;
use std::collections::BTreeMap;

/// One message as read from the dead-letter queue (without its receipt handle: a peek gives every
/// message back at once, so a handle would be stale by the time anyone used it).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeadLetterMessage {
    /// The SQS message id, stable across receives.
    pub message_id: String,
    pub body: String,
    /// String message attributes (`shop`, `task`, `job_id`, `error_kind`, `error`).
    pub attributes: BTreeMap<String, String>,
    /// When the message was first sent (SQS `SentTimestamp`, epoch seconds).
    pub sent_at: Option<i64>,
}

/// The shared dead-letter queue.
#[async_trait]
pub trait DeadLetterQueue: Send + Sync {
    /// Read up to `max` messages and make every one of them visible again before returning. Never
    /// deletes anything; a crash mid-way leaves messages invisible only until their (short)
    /// visibility timeout ends.
    async fn peek(&self, max: usize) -> Result<Vec<DeadLetterMessage>>;
    /// [`peek`](Self::peek) with a bound on the work: at most `max` messages and at most
    /// `max_receives` receive calls, whichever comes first (an on-demand refresh within a request).
    async fn peek_bounded(
        &self,
        max: usize,
        max_receives: usize,
    ) -> Result<Vec<DeadLetterMessage>> {
        let _ = max_receives;
        self.peek(max).await
    }
    /// Delete the message with this SQS message id; every other message received on the way is made
    /// visible again. `Ok(false)` when no such message was found (already removed, or momentarily
    /// in flight in someone else's peek).
    async fn remove(&self, message_id: &str) -> Result<bool>;
    /// Messages on the queue (visible + in flight + delayed), approximately, as SQS reports it.
    async fn depth(&self) -> Result<u64>;
}

/// The table mirror of dead-letter messages (one [`Failure`] per message id). State changes are
/// conditional: Open → Retrying → Retried, Open → Discarded.
#[async_trait]
pub trait FailureStore: Send + Sync {
    /// Store `failure` unless a failure with its id is stored already; returns what is stored
    /// afterwards (the existing one wins, so a refresh never reopens a closed failure).
    async fn record_failure(&self, failure: &Failure, now: i64) -> Result<Failure>;
    /// `shop = Some(s)`: the failure only if it belongs to shop `s`. `None` (admin): any failure,
    /// including those that belong to no shop.
    async fn get_failure(&self, shop: Option<&str>, id: &str) -> Result<Option<Failure>>;
    /// Failures of one shop (`None` = every failure, admin), newest first, at most `limit`.
    async fn list_failures(&self, shop: Option<&str>, limit: usize) -> Result<Vec<Failure>>;
    /// Open and retrying failures of a shop (the sparse index), newest first.
    async fn open_failures(&self, shop: &str, limit: usize) -> Result<Vec<Failure>>;
    /// How many failures of the shop are open or retrying (`Select=COUNT` on the sparse index).
    async fn count_open_failures(&self, shop: &str) -> Result<u64>;
    /// Replace the stored failure with `failure` only if the stored one is still in state `from`.
    /// `Ok(false)` when the condition failed (someone else moved it).
    async fn update_failure_if(
        &self,
        failure: &Failure,
        from: FailureState,
        now: i64,
    ) -> Result<bool>;
    /// [`update_failure_if`](Self::update_failure_if) that also takes the failure's **retry claim**:
    /// it succeeds only if the stored failure is in state `from` and carries no claim that is still
    /// live at `now` (none, or one whose `until` has passed). Of concurrent retries exactly one wins
    /// the claim and queues the retry job; the claim ends with the next plain update (retried) or
    /// [`release_failure_claim`](Self::release_failure_claim).
    async fn claim_failure(
        &self,
        failure: &Failure,
        from: FailureState,
        claim: &FailureClaim,
        now: i64,
    ) -> Result<bool>;
    /// Drop the claim of `owner` on `failure` (a retry that stopped with an error), so that the next
    /// retry may take over at once instead of after the claim's expiry. No-op if the claim is not ours.
    async fn release_failure_claim(&self, failure: &Failure, owner: &str) -> Result<()>;
    /// When the mirror was last refreshed from the queue (epoch seconds), if ever.
    async fn mirror_refreshed_at(&self) -> Result<Option<i64>>;
    /// Set that time to `to` if it is still `from` (`None`: never set); `Ok(false)` when another
    /// refresh moved it first. Concurrent requests that find the mirror stale refresh one at a time.
    async fn swap_mirror_refreshed_at(&self, from: Option<i64>, to: i64) -> Result<bool>;
}

/// A retry's hold on a failure: who (a unique token per call) and until when (epoch seconds). A
/// retry that crashes keeps it until `until`; then the next retry call or status run takes over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureClaim {
    pub owner: String,
    pub until: i64,
}

/// Sparse per-shop, per-cue entries: what a task found that a person must look at (an unmapped
/// variant, an unprocessed order, ...). Present only while the condition holds, so the cue's count is
/// the number of entries.
#[async_trait]
pub trait CueStore: Send + Sync {
    async fn count_entries(&self, shop: &str, cue: Cue) -> Result<u64>;
    /// Entries of one cue, in id order, at most `limit`.
    async fn list_entries(&self, shop: &str, cue: Cue, limit: usize) -> Result<Vec<CueEntry>>;
    /// Add or overwrite entries (by id).
    async fn put_entries(&self, shop: &str, cue: Cue, entries: &[CueEntry]) -> Result<()>;
    /// Remove entries by id (absent ids are ignored).
    async fn remove_entries(&self, shop: &str, cue: Cue, ids: &[String]) -> Result<()>;
    /// Make `entries` the complete list of the cue: put them and remove every other entry. For tasks
    /// that re-examine everything (a full mapping of the catalogue).
    async fn replace_entries(&self, shop: &str, cue: Cue, entries: &[CueEntry]) -> Result<()>;
}

/// Counts the board reads from indexes (never scans).
#[async_trait]
pub trait StatusCounts: Send + Sync {
    /// Jobs of the shop with this status (status index, `Select=COUNT`).
    async fn count_jobs(&self, shop: &str, status: JobStatus) -> Result<u64>;
    /// Skipped records of the shop that have not expired (`Select=COUNT`).
    async fn count_skipped(&self, shop: &str, now: i64) -> Result<u64>;
    /// Failed jobs of the shop per error kind name (`ErrorKind` in snake_case, `unknown` when no
    /// error is recorded), read from the shop's failed-jobs partition of the status index.
    async fn failed_jobs_by_kind(&self, shop: &str) -> Result<BTreeMap<String, u64>>;
}
