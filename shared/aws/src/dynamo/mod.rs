//! The single DynamoDB table behind every state port.
//!
//! Everything is partitioned by shop (`pk = SHOP#<code>`) so a shop's state is one Query away and one
//! noisy shop cannot hot-spot another. The sort key says what an item is:
//!
//! | `sk`                                   | item                                   | TTL (`expires_at`) |
//! |----------------------------------------|----------------------------------------|--------------------|
//! | `SETTINGS`                             | shop settings (JSON `body`)            | –                  |
//! | `SCHEDULE#<task>`                      | when a task last ran / last ran full   | –                  |
//! | `JOB#<job_id>`                         | job record (JSON `body`, `status`, `seq`) | 30 days after the last update |
//! | `WAITING#<task>#<options>`             | the task's waiting job (`job_id`): manual runs join it | as its job |
//! | `LEASE#<category>`                     | run lease (`owner`, `expires_at`)      | the lease expiry itself |
//! | `IDEM#<key>`                           | idempotency ledger entry               | 7 days             |
//! | `SKIP#<at>#<uuid>`                     | skipped record (JSON `body`)           | 30 days            |
//! | `FAILURE#<message_id>`                 | dead-letter message mirror (JSON `body`, `state`) | open: 15 days after it failed; closed: 30 days after closing |
//! | `CUE#<cue>#<id>`                       | status board cue entry (JSON `body`)   | – (removed when resolved) |
//! | `REC#<kind>#<id>`                      | generic task record (`kind`, `rec_id`, `body` string, `version`, `updated_at`, optional `status`): every task's per-record state, e.g. `sync-inventory`'s packed mappings and levels | – |
//!
//! Failures that belong to no shop (a failed scheduled fan-out, an unreadable message) live in the
//! partition `SHOP#_unattributed` (shop codes are upper-case, so it cannot collide). Besides, each
//! failure has a small locator item in the fixed partition `pk = FAILURES`, `sk = FAILURE#<message_id>`
//! (`shop`, `failed_at`, 45-day TTL), so that on-call (admin) can find a failure by id and list every
//! failure without a scan; dead-letter traffic is far too low for that partition to get hot. The same
//! partition holds `sk = MIRROR` (`refreshed_at`): when the mirror was last refreshed from the queue.
//!
//! One sparse global secondary index, `gsi1` (`gsi1pk`, `gsi1sk`, projection ALL), carries the lists
//! that would otherwise need scans: every shop (`gsi1pk = SHOPS`, `gsi1sk = <code>`, set only on
//! settings items), a shop's jobs by status (`gsi1pk = SHOP#<code>#STATUS#<status>`,
//! `gsi1sk = <job_id>`, rewritten on every job write), a shop's open and retrying failures
//! (`gsi1pk = SHOP#<code>#FAILURES`, `gsi1sk = <failed_at>#<message_id>`, removed when the failure is
//! closed), a shop's entries of one cue (`gsi1pk = SHOP#<code>#CUE#<cue>`, `gsi1sk = <id>`) and a
//! shop's generic records of one kind by status (`gsi1pk = SHOP#<code>#REC#<kind>#<status>`,
//! `gsi1sk = <id>`, present only while the record has a status). Every status-board figure is a
//! `Select=COUNT` Query on one of these.
//!
//! Job ids start with their zero-padded creation time in milliseconds, so sort-key order is time order
//! and `ScanIndexForward=false` lists the newest first.
//!
//! Bodies are stored as a JSON string plus only the attributes that conditions and indexes need, so
//! the record types can grow without a migration. Every listing loops until `LastEvaluatedKey` is
//! absent (page counts are never assumed) and every batch write is cut to DynamoDB's limit of 25 with
//! `UnprocessedItems` retried.
//!
//! **Fenced views.** [`DynamoStore::fenced`] gives the view of one run ([`Fence`]): there every write
//! of the run stores — the idempotency ledger, skipped records, cue entries and generic records — is
//! one `TransactWriteItems` together with a `ConditionCheck` on the run's job item (`epoch = :e`), so
//! a run whose job was taken over (a newer epoch is stored) writes nothing and gets
//! [`SyncError::Fenced`](shopsync_domain::SyncError::Fenced). Batches become transactions of at most
//! 99 writes plus the check, cut by size too (4 MB per transaction); one batch can so be several
//! transactions, each atomic with its check, not all of them together. Other writes (jobs, leases,
//! settings, schedules, cursors, failures) are the same in both views. See
//! `fenced.rs`.
//!
//! **Read units.** Every read (GetItem, BatchGetItem, Query, `Select=COUNT` Query) asks for
//! `ReturnConsumedCapacity=TOTAL` and adds what DynamoDB reports to a meter shared by clones and
//! fenced views ([`DynamoStore::read_units`]). When the answer reports nothing, or with
//! [`DynamoStore::with_computed_read_units`], the units are computed by DynamoDB's documented rule
//! instead (`capacity.rs`). moto 5.2 does report `ConsumedCapacity`, but as constants, not by item
//! size: 0.5 per GetItem (whatever the item's size or consistency), 1.0 per Query page (including a
//! `Select=COUNT` one), and one unit per requested key of a BatchGetItem; so against moto the
//! reported figures only count calls, and tests that check sizes use computed units.

mod capacity;
mod counts;
mod cues;
mod cursors;
mod failures;
mod fenced;
mod jobs;
mod leases;
mod ledger;
mod records;
mod schedule;
mod settings;
mod skipped;

pub use records::MAX_RECORD_LIST;

use crate::errors::{corrupt, storage};
use aws_config::SdkConfig;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnConsumedCapacity, WriteRequest};
use shopsync_domain::ports::{Fence, Result};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// An item as the SDK represents it.
pub(crate) type Item = HashMap<String, AttributeValue>;

/// Name of the sparse global secondary index.
pub const GSI1: &str = "gsi1";
/// `gsi1pk` value of settings items, so listing shops is a Query.
pub const SHOPS_GSI_PK: &str = "SHOPS";
/// DynamoDB's limit of write requests per `BatchWriteItem`.
pub const MAX_BATCH_WRITE: usize = 25;

const DAY_SECS: i64 = 24 * 60 * 60;
/// Job records live 30 days after their last update.
pub const JOB_TTL_SECS: i64 = 30 * DAY_SECS;
/// Ledger entries live 7 days: far longer than any retry of the effect they guard.
pub const LEDGER_TTL_SECS: i64 = 7 * DAY_SECS;
/// Skipped records live 30 days.
pub const SKIPPED_TTL_SECS: i64 = 30 * DAY_SECS;
/// An open failure's item outlives its message: the dead-letter queue keeps messages 14 days.
pub const OPEN_FAILURE_TTL_SECS: i64 = 15 * DAY_SECS;
/// A retried or discarded failure stays listed 30 days after it was closed.
pub const CLOSED_FAILURE_TTL_SECS: i64 = 30 * DAY_SECS;
/// Failure locators outlive the longest-lived failure item (15 days open + 30 days closed).
pub const FAILURE_LOCATOR_TTL_SECS: i64 = 45 * DAY_SECS;

/// How often `UnprocessedItems` are resent before giving up with a retryable error.
const BATCH_RETRIES: u32 = 8;

/// Key builders; the one place the key layout is spelled out.
pub mod keys {
    use shopsync_domain::status::Cue;
    use shopsync_domain::{JobStatus, TaskKind};

    pub fn shop_pk(shop: &str) -> String {
        format!("SHOP#{shop}")
    }
    pub const SETTINGS_SK: &str = "SETTINGS";
    pub fn cursor_sk(name: &str) -> String {
        format!("CURSOR#{name}")
    }
    pub fn schedule_sk(task: TaskKind) -> String {
        format!("SCHEDULE#{}", task.name())
    }
    pub const JOB_PREFIX: &str = "JOB#";
    pub fn job_sk(job_id: &str) -> String {
        format!("{JOB_PREFIX}{job_id}")
    }
    pub fn job_status_gsi_pk(shop: &str, status: JobStatus) -> String {
        format!("SHOP#{shop}#STATUS#{}", status.as_str())
    }
    /// The waiting-job record of a task run with these options (`options` is their JSON).
    pub fn waiting_sk(task: TaskKind, options: &str) -> String {
        format!("WAITING#{}#{options}", task.name())
    }
    pub fn lease_sk(category: &str) -> String {
        format!("LEASE#{category}")
    }
    pub fn idem_sk(key: &str) -> String {
        format!("IDEM#{key}")
    }
    pub const SKIP_PREFIX: &str = "SKIP#";
    /// `at` is zero-padded so that string order is time order.
    pub fn skip_sk(at: i64, unique: &str) -> String {
        format!("{SKIP_PREFIX}{:013}#{unique}", at.max(0))
    }
    /// Pseudo shop code of the partition holding failures that belong to no shop.
    pub const UNATTRIBUTED: &str = "_unattributed";
    /// Partition of a failure: its shop's, or the unattributed one.
    pub fn failure_pk(shop: Option<&str>) -> String {
        shop_pk(shop.unwrap_or(UNATTRIBUTED))
    }
    pub const FAILURE_PREFIX: &str = "FAILURE#";
    pub fn failure_sk(message_id: &str) -> String {
        format!("{FAILURE_PREFIX}{message_id}")
    }
    /// Fixed partition of the failure locators (admin look-up by id, admin listing).
    pub const FAILURE_LOCATOR_PK: &str = "FAILURES";
    /// In the locator partition: when the mirror was last refreshed from the queue.
    pub const FAILURE_MIRROR_SK: &str = "MIRROR";
    /// `gsi1pk` of a shop's open and retrying failures.
    pub fn open_failures_gsi_pk(shop: Option<&str>) -> String {
        format!("{}#FAILURES", failure_pk(shop))
    }
    /// `gsi1sk` of an open failure: time order, then the id.
    pub fn open_failure_gsi_sk(failed_at: i64, message_id: &str) -> String {
        format!("{:013}#{message_id}", failed_at.max(0))
    }
    pub fn cue_prefix(cue: Cue) -> String {
        format!("CUE#{}#", cue.name())
    }
    pub fn cue_sk(cue: Cue, id: &str) -> String {
        format!("{}{id}", cue_prefix(cue))
    }
    /// `gsi1pk` of a shop's entries of one cue.
    pub fn cue_gsi_pk(shop: &str, cue: Cue) -> String {
        format!("SHOP#{shop}#CUE#{}", cue.name())
    }
    pub const REC_PREFIX: &str = "REC#";
    /// The sort-key prefix of every generic record of one kind.
    pub fn rec_prefix(kind: &str) -> String {
        format!("{REC_PREFIX}{kind}#")
    }
    pub fn rec_sk(kind: &str, id: &str) -> String {
        format!("{REC_PREFIX}{kind}#{id}")
    }
    /// `gsi1pk` of a shop's records of one kind with one status (`gsi1sk` is the record id).
    pub fn rec_status_gsi_pk(shop: &str, kind: &str, status: &str) -> String {
        format!("SHOP#{shop}#REC#{kind}#{status}")
    }
}

/// DynamoDB implementation of every state port (settings, schedules, jobs, leases, task records,
/// idempotency ledger, skipped records, cue entries, generic records) on one table.
///
/// Clones share the client and the read-unit meter.
#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: Client,
    table: String,
    /// `Limit` of every Query page (None: DynamoDB's 1 MB pages).
    page_size: Option<usize>,
    /// The run whose view this is: run-store writes are conditional on its job's epoch.
    fence: Option<Fence>,
    /// Consumed read capacity units, as `f64` bits.
    read_units: Arc<AtomicU64>,
    /// Compute read units from item sizes even when DynamoDB reports them.
    compute_read_units: bool,
}

impl DynamoStore {
    /// A store on `table`, with a client built from `sdk`.
    pub fn new(sdk: &SdkConfig, table: &str) -> DynamoStore {
        DynamoStore::from_client(Client::new(sdk), table)
    }

    /// A store on `table` using an existing client (shares its connection pool).
    pub fn from_client(client: Client, table: &str) -> DynamoStore {
        DynamoStore {
            client,
            table: table.to_string(),
            page_size: None,
            fence: None,
            read_units: Arc::new(AtomicU64::new(0f64.to_bits())),
            compute_read_units: false,
        }
    }

    /// The view of the run behind `fence`: the same table, client and read meter, but every write of
    /// the run stores (ledger, skipped records, cue entries, generic records) is made atomic with a
    /// check that the job's stored epoch is still `fence.epoch`, and refused with
    /// `SyncError::Fenced` otherwise.
    pub fn fenced(&self, fence: Fence) -> DynamoStore {
        DynamoStore {
            fence: Some(fence),
            ..self.clone()
        }
    }

    /// The fence of this view (`None`: unfenced).
    pub fn fence(&self) -> Option<&Fence> {
        self.fence.as_ref()
    }

    /// Meter reads by DynamoDB's documented rule from the items read, ignoring the capacity the
    /// service reports (moto reports constants, see the module docs).
    pub fn with_computed_read_units(mut self) -> DynamoStore {
        self.compute_read_units = true;
        self
    }

    /// Read capacity units consumed by this store and every clone of it since it was made or last
    /// reset (reported by DynamoDB, or computed; see the module docs).
    pub fn read_units(&self) -> f64 {
        f64::from_bits(self.read_units.load(Ordering::Relaxed))
    }

    /// Start counting read units from zero again (for every clone).
    pub fn reset_read_units(&self) {
        self.read_units.store(0f64.to_bits(), Ordering::Relaxed);
    }

    /// Add one read's units: what DynamoDB `reported`, else `computed()`.
    fn meter(&self, reported: Option<f64>, computed: impl FnOnce() -> f64) {
        let units = match reported {
            Some(u) if !self.compute_read_units && u.is_finite() && u >= 0.0 => u,
            _ => computed(),
        };
        if units == 0.0 {
            return;
        }
        let _ = self
            .read_units
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| {
                Some((f64::from_bits(bits) + units).to_bits())
            });
    }

    /// Read listings in pages of at most `items` (bounds the work per call; tests use it to force
    /// many pages). `0` is treated as 1.
    pub fn with_page_size(mut self, items: usize) -> DynamoStore {
        self.page_size = Some(items.max(1));
        self
    }

    pub fn table_name(&self) -> &str {
        &self.table
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    fn key(&self, shop: &str, sk: impl Into<String>) -> Item {
        HashMap::from([
            ("pk".to_string(), s(keys::shop_pk(shop))),
            ("sk".to_string(), s(sk)),
        ])
    }

    async fn get_item(&self, shop: &str, sk: impl Into<String>, op: &str) -> Result<Option<Item>> {
        self.get_key(self.key(shop, sk), op).await
    }

    /// Strongly consistent `GetItem` of any key, metered.
    pub(crate) async fn get_key(&self, key: Item, op: &str) -> Result<Option<Item>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(|e| storage(op, e))?;
        self.meter(
            out.consumed_capacity
                .as_ref()
                .and_then(|c| c.capacity_units),
            || capacity::get_units(out.item.as_ref(), true),
        );
        Ok(out.item)
    }

    /// Every item of `shop` whose sort key begins with `prefix`, in sort-key order (or reverse). Loops
    /// until DynamoDB stops returning `LastEvaluatedKey`; stops early once `max` items were collected.
    async fn query_prefix(
        &self,
        shop: &str,
        prefix: &str,
        forward: bool,
        max: Option<usize>,
        op: &str,
    ) -> Result<Vec<Item>> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", s(keys::shop_pk(shop)))
            .expression_attribute_values(":prefix", s(prefix))
            .consistent_read(true)
            .scan_index_forward(forward);
        self.query_all(query, max, op).await
    }

    /// `BatchWriteItem` for any number of requests: chunks of at most 25, `UnprocessedItems` resent
    /// with exponential backoff.
    async fn batch_write(&self, requests: Vec<WriteRequest>, op: &str) -> Result<()> {
        for chunk in chunk_requests(requests) {
            write_until_processed(chunk, op, BATCH_RETRIES, |pending| async move {
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, pending)
                    .send()
                    .await
                    .map_err(|e| storage(op, e))?;
                Ok(out
                    .unprocessed_items
                    .and_then(|mut m| m.remove(&self.table))
                    .unwrap_or_default())
            })
            .await?;
        }
        Ok(())
    }
}

impl shopsync_domain::ports::RunStoreSource for DynamoStore {
    /// `Some(fence)`: the four run stores on [`DynamoStore::fenced`]; `None`: on unfenced clones
    /// (also when called on a fenced view).
    fn for_run(&self, fence: Option<Fence>) -> shopsync_domain::ports::RunStores {
        let store = match fence {
            Some(fence) => self.fenced(fence),
            None => DynamoStore {
                fence: None,
                ..self.clone()
            },
        };
        shopsync_domain::ports::RunStores {
            ledger: Arc::new(store.clone()),
            skipped: Arc::new(store.clone()),
            records: Arc::new(store.clone()),
            cues: Arc::new(store),
        }
    }
}

impl DynamoStore {
    /// Runs a prepared Query with `Select=COUNT` to the end, summing the page counts (DynamoDB counts
    /// at most 1 MB of items per page).
    pub(crate) async fn query_count(&self, query: QueryFluentBuilder, op: &str) -> Result<u64> {
        let mut total = 0u64;
        let mut start: Option<Item> = None;
        loop {
            let mut q = query
                .clone()
                .select(aws_sdk_dynamodb::types::Select::Count)
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .set_exclusive_start_key(start.take());
            if let Some(p) = self.page_size {
                q = q.limit(i32::try_from(p).unwrap_or(i32::MAX));
            }
            let consistent = q.get_consistent_read().unwrap_or(false);
            let out = q.send().await.map_err(|e| storage(op, e))?;
            // A count returns no items, so their size is unknown: computed, a page is its minimum.
            self.meter(
                out.consumed_capacity
                    .as_ref()
                    .and_then(|c| c.capacity_units),
                || capacity::query_units(0, consistent),
            );
            total += u64::try_from(out.count).unwrap_or(0);
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        Ok(total)
    }

    /// A Query on the sparse index for one `gsi1pk`.
    pub(crate) fn gsi1_query(&self, gsi1pk: String, forward: bool) -> QueryFluentBuilder {
        self.client
            .query()
            .table_name(&self.table)
            .index_name(GSI1)
            .key_condition_expression("gsi1pk = :p")
            .expression_attribute_values(":p", s(gsi1pk))
            .scan_index_forward(forward)
    }
}

impl DynamoStore {
    /// Runs a prepared Query to the end (or until `max` items), following `LastEvaluatedKey`.
    pub(crate) async fn query_all(
        &self,
        query: QueryFluentBuilder,
        max: Option<usize>,
        op: &str,
    ) -> Result<Vec<Item>> {
        self.query_from(query, None, max, op).await
    }

    /// [`query_all`](Self::query_all) from after the key `start` (`ExclusiveStartKey`; it need not
    /// exist).
    pub(crate) async fn query_from(
        &self,
        query: QueryFluentBuilder,
        mut start: Option<Item>,
        max: Option<usize>,
        op: &str,
    ) -> Result<Vec<Item>> {
        let mut items = Vec::new();
        let consistent = query.get_consistent_read().unwrap_or(false);
        loop {
            let mut q = query
                .clone()
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .set_exclusive_start_key(start.take());
            let remaining = max.map(|m| m.saturating_sub(items.len()).max(1));
            let limit = match (remaining, self.page_size) {
                (Some(r), Some(p)) => Some(r.min(p)),
                (r, p) => r.or(p),
            };
            if let Some(limit) = limit {
                q = q.limit(i32::try_from(limit).unwrap_or(i32::MAX));
            }
            let out = q.send().await.map_err(|e| storage(op, e))?;
            let page = out.items.unwrap_or_default();
            self.meter(
                out.consumed_capacity
                    .as_ref()
                    .and_then(|c| c.capacity_units),
                || capacity::query_units(page.iter().map(capacity::item_size).sum(), consistent),
            );
            items.extend(page);
            if let Some(m) = max
                && items.len() >= m
            {
                items.truncate(m);
                break;
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        Ok(items)
    }
}

/// Send one chunk, then resend whatever `send` reports unprocessed (DynamoDB's answer to throttling)
/// with exponential backoff, at most `retries` times.
async fn write_until_processed<T, F, Fut>(
    chunk: Vec<T>,
    op: &str,
    retries: u32,
    mut send: F,
) -> Result<()>
where
    F: FnMut(Vec<T>) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<T>>>,
{
    let mut pending = chunk;
    let mut attempt = 0;
    while !pending.is_empty() {
        pending = send(pending).await?;
        if pending.is_empty() {
            break;
        }
        attempt += 1;
        if attempt > retries {
            return Err(shopsync_domain::SyncError::Storage(format!(
                "{op}: {} writes still unprocessed after {retries} retries (throttled)",
                pending.len()
            )));
        }
        tokio::time::sleep(backoff(attempt)).await;
    }
    Ok(())
}

/// Cut write requests into `BatchWriteItem`-sized chunks (≤ 25). Never trust the server to reject a
/// bigger batch: moto accepts 26, DynamoDB does not.
pub fn chunk_requests<T>(requests: Vec<T>) -> Vec<Vec<T>> {
    let mut chunks = Vec::with_capacity(requests.len().div_ceil(MAX_BATCH_WRITE));
    let mut iter = requests.into_iter().peekable();
    while iter.peek().is_some() {
        chunks.push(iter.by_ref().take(MAX_BATCH_WRITE).collect());
    }
    chunks
}

/// DynamoDB's backoff for unprocessed batch writes: 50 ms doubling up to 3.2 s.
const BACKOFF: shopsync_domain::backoff::Backoff =
    shopsync_domain::backoff::Backoff::new(Duration::from_millis(50), Duration::from_millis(3200));

fn backoff(attempt: u32) -> Duration {
    BACKOFF.delay(attempt)
}

// ---- attribute helpers -------------------------------------------------------------------------

pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(crate) fn n(v: impl std::fmt::Display) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub(crate) fn get_s<'a>(item: &'a Item, name: &str, what: &str) -> Result<&'a str> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Ok(v),
        other => Err(corrupt(
            what,
            format!("attribute '{name}' is {other:?}, expected a string"),
        )),
    }
}

pub(crate) fn get_opt_s<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Some(v),
        _ => None,
    }
}

pub(crate) fn get_i64(item: &Item, name: &str, what: &str) -> Result<i64> {
    get_opt_i64(item, name, what)?
        .ok_or_else(|| corrupt(what, format!("attribute '{name}' is missing")))
}

pub(crate) fn get_opt_i64(item: &Item, name: &str, what: &str) -> Result<Option<i64>> {
    match item.get(name) {
        None | Some(AttributeValue::Null(_)) => Ok(None),
        Some(AttributeValue::N(v)) => v
            .parse::<i64>()
            .map(Some)
            .map_err(|e| corrupt(what, format!("attribute '{name}' = '{v}': {e}"))),
        Some(other) => Err(corrupt(
            what,
            format!("attribute '{name}' is {other:?}, expected a number"),
        )),
    }
}

/// Deserialise the JSON `body` attribute.
pub(crate) fn body<T: serde::de::DeserializeOwned>(item: &Item, what: &str) -> Result<T> {
    let json = get_s(item, "body", what)?;
    serde_json::from_str(json).map_err(|e| corrupt(what, e))
}

pub(crate) fn to_json<T: serde::Serialize>(value: &T, what: &str) -> Result<String> {
    serde_json::to_string(value)
        .map_err(|e| shopsync_domain::SyncError::Internal(format!("cannot serialise {what}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_never_exceed_the_batch_limit_and_keep_every_request() {
        let input: Vec<usize> = (0..1000).collect();
        let chunks = chunk_requests(input.clone());
        assert_eq!(chunks.len(), 40);
        assert!(
            chunks
                .iter()
                .all(|c| !c.is_empty() && c.len() <= MAX_BATCH_WRITE)
        );
        assert_eq!(chunks.concat(), input);

        let chunks = chunk_requests((0..26).collect::<Vec<_>>());
        assert_eq!(chunks.iter().map(Vec::len).collect::<Vec<_>>(), vec![25, 1]);
        assert!(chunk_requests(Vec::<u8>::new()).is_empty());
    }

    #[tokio::test]
    async fn unprocessed_items_are_resent_until_done() {
        let mut calls: Vec<Vec<u32>> = Vec::new();
        let result = write_until_processed((0..25).collect(), "test", 8, |pending: Vec<u32>| {
            calls.push(pending.clone());
            // The service takes the first half of every call and hands the rest back.
            let rest = pending[pending.len().div_ceil(2)..].to_vec();
            async move { Ok(rest) }
        })
        .await;
        assert!(result.is_ok(), "{result:?}");
        let sizes: Vec<usize> = calls.iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![25, 12, 6, 3, 1]);
        assert_eq!(calls.last().unwrap(), &vec![24]);
    }

    #[tokio::test]
    async fn persistent_throttling_becomes_a_retryable_error() {
        let mut calls = 0;
        let err =
            write_until_processed(vec![1, 2, 3], "BatchWriteItem x", 2, |pending: Vec<u32>| {
                calls += 1;
                async move { Ok(pending) }
            })
            .await
            .unwrap_err();
        assert_eq!(calls, 3, "the first call and two retries");
        assert!(err.is_retryable());
        assert!(
            err.to_string().contains("3 writes still unprocessed"),
            "{err}"
        );
    }

    #[test]
    fn sort_keys_order_by_time() {
        assert!(keys::skip_sk(9, "z") < keys::skip_sk(10, "a"));
    }
}
