//! Writes of the run stores, fenced or not: the one place that knows how a write is sent in each
//! view, so the ledger, skipped records, cue entries and generic records describe a write once.
//!
//! - [`DynamoStore::write`]: one write ([`Write`]: a put, an update or a delete, with its condition).
//!   Unfenced, it is the plain `PutItem` / `UpdateItem` / `DeleteItem`. Fenced, it is a
//!   `TransactWriteItems` of a `ConditionCheck` on the run's job item (`epoch = :e`) and the write.
//! - [`DynamoStore::write_items`]: many unconditional puts and deletes ([`ItemWrite`]). Unfenced,
//!   `BatchWriteItem` in chunks of 25 with `UnprocessedItems` resent. Fenced, transactions of at most
//!   [`MAX_FENCED_WRITES`] writes plus the check, cut further so that none exceeds
//!   [`MAX_TRANSACTION_BYTES`] (DynamoDB's limit is 4 MB per transaction) and so that no transaction
//!   names one key twice (DynamoDB refuses that; the later write goes to the next transaction, so the
//!   last write of a key still wins). Each transaction is atomic with its check; a batch of several
//!   transactions is not atomic as a whole, but a fenced run gets `Fenced` at the first refused one
//!   and writes nothing after it.
//!
//! **Telling a fence from the write's own condition.** DynamoDB answers a cancelled transaction
//! with one `CancellationReason` per action, in order: the check comes first, so a
//! `ConditionalCheckFailed` there is [`SyncError::Fenced`] (whatever the write's own condition did:
//! a fenced run must stop), and one on the write is the write's own lost condition, with the stored
//! item when `ALL_OLD` was asked for. moto 5.2 answers exactly like DynamoDB here (a reason per
//! action, `Code` `None` for those that passed, `Item` with `ALL_OLD`). If an answer carries no
//! reasons at all, the job's epoch is read again (strongly consistent) to decide: moved on (or the
//! job is gone) is `Fenced`; still ours is the write's own condition failure (a write without a
//! condition: retryable storage trouble). Any other cancellation (`TransactionConflict`,
//! throttling) is retryable storage trouble.
//!
//! The job check of epoch 0 also accepts a job item without an `epoch` attribute (written before
//! epochs existed), but never a missing job.

use super::{DynamoStore, Item, capacity, get_opt_i64, keys, n, s};
use crate::errors::storage;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, DeleteRequest, Put, PutRequest,
    ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update, WriteRequest,
};
use shopsync_domain::SyncError;
use shopsync_domain::ports::{Fence, Result};
use std::collections::{HashMap, HashSet};
use std::hash::Hash;

/// Writes per fenced transaction besides the job check (DynamoDB allows 100 actions).
pub const MAX_FENCED_WRITES: usize = 99;
/// Size budget of the writes of one fenced transaction: DynamoDB's limit is 4 MB (4,194,304
/// bytes); the rest is left for the check and the request's overhead.
pub const MAX_TRANSACTION_BYTES: usize = 4_000_000;

const CONDITION_FAILED: &str = "ConditionalCheckFailed";

enum Action {
    Put(Item),
    Update { key: Item, expression: String },
    Delete(Item),
}

/// One write of an item, with its condition: what one `PutItem`, `UpdateItem` or `DeleteItem` sends,
/// or one action of a transaction.
pub(crate) struct Write {
    action: Action,
    condition: Option<String>,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
    return_old: bool,
}

impl Write {
    pub fn put(item: Item) -> Write {
        Write::new(Action::Put(item))
    }

    pub fn update(key: Item, expression: impl Into<String>) -> Write {
        Write::new(Action::Update {
            key,
            expression: expression.into(),
        })
    }

    fn new(action: Action) -> Write {
        Write {
            action,
            condition: None,
            names: HashMap::new(),
            values: HashMap::new(),
            return_old: false,
        }
    }

    pub fn condition(mut self, expression: impl Into<String>) -> Write {
        self.condition = Some(expression.into());
        self
    }

    pub fn name(mut self, placeholder: &str, name: &str) -> Write {
        self.names.insert(placeholder.to_string(), name.to_string());
        self
    }

    pub fn value(mut self, placeholder: &str, value: AttributeValue) -> Write {
        self.values.insert(placeholder.to_string(), value);
        self
    }

    /// Return the stored item with a failed condition (`ALL_OLD`).
    pub fn return_old_on_failure(mut self) -> Write {
        self.return_old = true;
        self
    }

    fn parts(&mut self) -> Parts {
        let names = std::mem::take(&mut self.names);
        let values = std::mem::take(&mut self.values);
        Parts {
            condition: self.condition.take(),
            names: (!names.is_empty()).then_some(names),
            values: (!values.is_empty()).then_some(values),
            old: self
                .return_old
                .then_some(ReturnValuesOnConditionCheckFailure::AllOld),
        }
    }

    fn transact_item(mut self, table: &str) -> Result<TransactWriteItem> {
        let Parts {
            condition,
            names,
            values,
            old,
        } = self.parts();
        let item = match self.action {
            Action::Put(item) => TransactWriteItem::builder().put(
                Put::builder()
                    .table_name(table)
                    .set_item(Some(item))
                    .set_condition_expression(condition)
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    .set_return_values_on_condition_check_failure(old)
                    .build()
                    .map_err(|e| internal("transaction put", e))?,
            ),
            Action::Update { key, expression } => TransactWriteItem::builder().update(
                Update::builder()
                    .table_name(table)
                    .set_key(Some(key))
                    .update_expression(expression)
                    .set_condition_expression(condition)
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    .set_return_values_on_condition_check_failure(old)
                    .build()
                    .map_err(|e| internal("transaction update", e))?,
            ),
            Action::Delete(key) => TransactWriteItem::builder().delete(
                Delete::builder()
                    .table_name(table)
                    .set_key(Some(key))
                    .set_condition_expression(condition)
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    .set_return_values_on_condition_check_failure(old)
                    .build()
                    .map_err(|e| internal("transaction delete", e))?,
            ),
        };
        Ok(item.build())
    }
}

/// The optional parts of a write, as the SDK's builders take them (empty maps left out: DynamoDB
/// refuses them).
struct Parts {
    condition: Option<String>,
    names: Option<HashMap<String, String>>,
    values: Option<HashMap<String, AttributeValue>>,
    old: Option<ReturnValuesOnConditionCheckFailure>,
}

/// What became of a [`Write`].
#[derive(Debug)]
pub(crate) enum Written {
    Done,
    /// Its own condition failed; the stored item if `ALL_OLD` was asked for and it exists (absent
    /// when the answer carried none).
    ConditionFailed(Option<Item>),
}

/// One unconditional write of a batch.
pub(crate) enum ItemWrite {
    Put(Item),
    /// The key (`pk`, `sk`) of the item to delete.
    Delete(Item),
}

impl ItemWrite {
    fn key(&self) -> (String, String) {
        let item = match self {
            ItemWrite::Put(item) | ItemWrite::Delete(item) => item,
        };
        let part = |name: &str| match item.get(name) {
            Some(AttributeValue::S(v)) => v.clone(),
            _ => String::new(),
        };
        (part("pk"), part("sk"))
    }

    fn size(&self) -> usize {
        match self {
            ItemWrite::Put(item) | ItemWrite::Delete(item) => capacity::item_size(item),
        }
    }

    fn request(self) -> Result<WriteRequest> {
        Ok(match self {
            ItemWrite::Put(item) => WriteRequest::builder()
                .put_request(
                    PutRequest::builder()
                        .set_item(Some(item))
                        .build()
                        .map_err(|e| internal("PutRequest", e))?,
                )
                .build(),
            ItemWrite::Delete(key) => WriteRequest::builder()
                .delete_request(
                    DeleteRequest::builder()
                        .set_key(Some(key))
                        .build()
                        .map_err(|e| internal("DeleteRequest", e))?,
                )
                .build(),
        })
    }

    fn into_write(self) -> Write {
        match self {
            ItemWrite::Put(item) => Write::put(item),
            ItemWrite::Delete(key) => Write::new(Action::Delete(key)),
        }
    }
}

fn internal(what: &str, e: impl std::fmt::Display) -> SyncError {
    SyncError::Internal(format!("{what}: {e}"))
}

fn fenced(fence: &Fence) -> SyncError {
    SyncError::Fenced {
        job_id: fence.job_id.clone(),
    }
}

/// Cut writes into transactions: at most `max_items` each, at most `max_bytes` of writes each
/// (a single bigger write still gets a transaction of its own), and never one key twice in one.
pub(crate) fn transaction_chunks<T, K: Eq + Hash>(
    writes: Vec<T>,
    max_items: usize,
    max_bytes: usize,
    key: impl Fn(&T) -> K,
    size: impl Fn(&T) -> usize,
) -> Vec<Vec<T>> {
    let mut chunks = Vec::new();
    let mut current = Vec::new();
    let mut bytes = 0usize;
    let mut seen = HashSet::new();
    for write in writes {
        let k = key(&write);
        let sz = size(&write);
        if !current.is_empty()
            && (current.len() >= max_items.max(1)
                || bytes.saturating_add(sz) > max_bytes
                || seen.contains(&k))
        {
            chunks.push(std::mem::take(&mut current));
            bytes = 0;
            seen.clear();
        }
        bytes = bytes.saturating_add(sz);
        seen.insert(k);
        current.push(write);
    }
    if !current.is_empty() {
        chunks.push(current);
    }
    chunks
}

impl DynamoStore {
    /// One write, fenced or not (see the module docs).
    pub(crate) async fn write(&self, write: Write, op: &str) -> Result<Written> {
        match &self.fence {
            None => self.write_plain(write, op).await,
            Some(fence) => self.write_fenced(fence, write, op).await,
        }
    }

    /// Many unconditional puts and deletes, fenced or not (see the module docs). The caller makes
    /// keys unique where DynamoDB needs them so (a `BatchWriteItem` may not name one key twice).
    pub(crate) async fn write_items(&self, writes: Vec<ItemWrite>, op: &str) -> Result<()> {
        if writes.is_empty() {
            return Ok(());
        }
        let Some(fence) = &self.fence else {
            let requests = writes
                .into_iter()
                .map(ItemWrite::request)
                .collect::<Result<Vec<_>>>()?;
            return self.batch_write(requests, op).await;
        };
        let chunks = transaction_chunks(
            writes,
            MAX_FENCED_WRITES,
            MAX_TRANSACTION_BYTES,
            ItemWrite::key,
            ItemWrite::size,
        );
        for chunk in chunks {
            let mut tx = self
                .client
                .transact_write_items()
                .transact_items(self.fence_check(fence)?);
            for write in chunk {
                tx = tx.transact_items(write.into_write().transact_item(&self.table)?);
            }
            if let Err(err) = tx.send().await {
                return Err(match self.cancelled(fence, err, op, false).await? {
                    Written::ConditionFailed(_) | Written::Done => SyncError::Storage(format!(
                        "{op}: fenced transaction cancelled without a reason"
                    )),
                });
            }
        }
        Ok(())
    }

    /// Unconditional puts, batched, fenced or not.
    pub(crate) async fn batch_put(&self, items: Vec<Item>, op: &str) -> Result<()> {
        self.write_items(items.into_iter().map(ItemWrite::Put).collect(), op)
            .await
    }

    /// Deletes of (`pk`, `sk`) keys, batched, fenced or not.
    pub(crate) async fn batch_delete(&self, keys: Vec<(String, String)>, op: &str) -> Result<()> {
        let writes = keys
            .into_iter()
            .map(|(pk, sk)| {
                ItemWrite::Delete(HashMap::from([
                    ("pk".to_string(), s(pk)),
                    ("sk".to_string(), s(sk)),
                ]))
            })
            .collect();
        self.write_items(writes, op).await
    }

    fn fence_check(&self, fence: &Fence) -> Result<TransactWriteItem> {
        let condition = if fence.epoch == 0 {
            "attribute_exists(pk) AND (attribute_not_exists(#fence_epoch) OR #fence_epoch = :fence_epoch)"
        } else {
            "#fence_epoch = :fence_epoch"
        };
        let check = ConditionCheck::builder()
            .table_name(&self.table)
            .key("pk", s(keys::shop_pk(&fence.shop)))
            .key("sk", s(keys::job_sk(&fence.job_id)))
            .condition_expression(condition)
            .expression_attribute_names("#fence_epoch", "epoch")
            .expression_attribute_values(":fence_epoch", n(fence.epoch))
            .build()
            .map_err(|e| internal("fence condition check", e))?;
        Ok(TransactWriteItem::builder().condition_check(check).build())
    }

    /// Whether the job behind `fence` now has another epoch (or is gone): read again, strongly.
    async fn epoch_moved(&self, fence: &Fence) -> Result<bool> {
        let item = self
            .get_item(
                &fence.shop,
                keys::job_sk(&fence.job_id),
                "GetItem job (fence)",
            )
            .await?;
        let Some(item) = item else {
            return Ok(true);
        };
        let stored = get_opt_i64(&item, "epoch", "job record")?.unwrap_or(0);
        Ok(u64::try_from(stored).ok() != Some(fence.epoch))
    }

    async fn write_plain(&self, mut write: Write, op: &str) -> Result<Written> {
        let Parts {
            condition,
            names,
            values,
            old,
        } = write.parts();
        match write.action {
            Action::Put(item) => {
                let result = self
                    .client
                    .put_item()
                    .table_name(&self.table)
                    .set_item(Some(item))
                    .set_condition_expression(condition)
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    .set_return_values_on_condition_check_failure(old)
                    .send()
                    .await;
                match result {
                    Ok(_) => Ok(Written::Done),
                    Err(e) => match e.as_service_error() {
                        Some(PutItemError::ConditionalCheckFailedException(c)) => {
                            Ok(Written::ConditionFailed(c.item().cloned()))
                        }
                        _ => Err(storage(op, e)),
                    },
                }
            }
            Action::Update { key, expression } => {
                let result = self
                    .client
                    .update_item()
                    .table_name(&self.table)
                    .set_key(Some(key))
                    .update_expression(expression)
                    .set_condition_expression(condition)
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    .set_return_values_on_condition_check_failure(old)
                    .send()
                    .await;
                match result {
                    Ok(_) => Ok(Written::Done),
                    Err(e) => match e.as_service_error() {
                        Some(UpdateItemError::ConditionalCheckFailedException(c)) => {
                            Ok(Written::ConditionFailed(c.item().cloned()))
                        }
                        _ => Err(storage(op, e)),
                    },
                }
            }
            Action::Delete(key) => {
                let result = self
                    .client
                    .delete_item()
                    .table_name(&self.table)
                    .set_key(Some(key))
                    .set_condition_expression(condition)
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    .set_return_values_on_condition_check_failure(old)
                    .send()
                    .await;
                match result {
                    Ok(_) => Ok(Written::Done),
                    Err(e) => match e.as_service_error() {
                        Some(DeleteItemError::ConditionalCheckFailedException(c)) => {
                            Ok(Written::ConditionFailed(c.item().cloned()))
                        }
                        _ => Err(storage(op, e)),
                    },
                }
            }
        }
    }

    async fn write_fenced(&self, fence: &Fence, write: Write, op: &str) -> Result<Written> {
        let conditional = write.condition.is_some();
        let result = self
            .client
            .transact_write_items()
            .transact_items(self.fence_check(fence)?)
            .transact_items(write.transact_item(&self.table)?)
            .send()
            .await;
        match result {
            Ok(_) => Ok(Written::Done),
            Err(err) => self.cancelled(fence, err, op, conditional).await,
        }
    }

    /// Decide what a failed fenced transaction (the check first, then the writes) means: `Fenced`,
    /// the single write's own condition failure (`conditional`), or storage trouble.
    async fn cancelled<R: std::fmt::Debug>(
        &self,
        fence: &Fence,
        err: SdkError<TransactWriteItemsError, R>,
        op: &str,
        conditional: bool,
    ) -> Result<Written> {
        let op = format!("{op} (TransactWriteItems fenced by job {})", fence.job_id);
        let Some(TransactWriteItemsError::TransactionCanceledException(cancel)) =
            err.as_service_error()
        else {
            return Err(storage(&op, err));
        };
        let reasons = cancel.cancellation_reasons();
        if reasons.is_empty() {
            if self.epoch_moved(fence).await? {
                return Err(fenced(fence));
            }
            if conditional {
                return Ok(Written::ConditionFailed(None));
            }
            return Err(storage(&op, err));
        }
        if reasons[0].code() == Some(CONDITION_FAILED) {
            return Err(fenced(fence));
        }
        if conditional
            && let Some(reason) = reasons.get(1)
            && reason.code() == Some(CONDITION_FAILED)
        {
            return Ok(Written::ConditionFailed(reason.item().cloned()));
        }
        Err(storage(&op, err))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transactions_hold_at_most_99_writes() {
        let chunks = transaction_chunks((0..250).collect(), 99, usize::MAX, |i| *i, |_| 1);
        let sizes: Vec<usize> = chunks.iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![99, 99, 52]);
        assert_eq!(chunks.concat(), (0..250).collect::<Vec<_>>());
    }

    #[test]
    fn transactions_are_cut_by_size_and_a_big_write_goes_alone() {
        let sizes = [400, 400, 400, 900, 100, 100];
        let chunks = transaction_chunks(sizes.to_vec(), 99, 1000, |_| unique(), |s| *s);
        assert_eq!(
            chunks,
            vec![vec![400, 400], vec![400], vec![900, 100], vec![100]]
        );
        let chunks = transaction_chunks(vec![2000, 10], 99, 1000, |_| unique(), |s| *s);
        assert_eq!(chunks, vec![vec![2000], vec![10]]);
    }

    #[test]
    fn a_key_named_twice_starts_a_new_transaction_so_the_last_write_wins() {
        let writes = vec![("a", 1), ("b", 1), ("a", 2), ("c", 1)];
        let chunks = transaction_chunks(writes, 99, usize::MAX, |w| w.0, |_| 1);
        assert_eq!(
            chunks,
            vec![vec![("a", 1), ("b", 1)], vec![("a", 2), ("c", 1)]]
        );
        assert!(transaction_chunks(Vec::<u8>::new(), 99, 10, |w| *w, |_| 1).is_empty());
    }

    /// A key unique per call (no duplicates).
    fn unique() -> u64 {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        NEXT.fetch_add(1, Ordering::Relaxed)
    }
}
