//! Generic task records (`REC#<kind>#<id>`): the per-record state every task keeps (a staged order,
//! a shipment's state, a catalogue mirror row), one adapter for every record type.
//!
//! An item carries `kind`, `rec_id`, `body` (the record's JSON, as a string), `version` (a number
//! every write moves up by one), `updated_at` (the store's clock at the write, epoch seconds) and,
//! only while the record has one, `status` with its entry in the sparse index
//! (`gsi1pk = SHOP#<shop>#REC#<kind>#<status>`, `gsi1sk = <id>`): listing or counting a kind's records
//! of one status is one Query on `gsi1`, and a record whose status becomes `None` leaves the index
//! (the attributes are REMOVEd). Kind and id are checked with
//! [`check_record_key`] and a status (non-empty, at most 255 bytes, no control characters) before
//! any call.
//!
//! - `put_record_if` is a compare-and-swap: `attribute_not_exists(pk)` for version 0, else
//!   `version = :v`; the stored version becomes `record.version + 1`. A lost condition is `Ok(false)`.
//! - `put_records` is a batch of unconditional puts (`BatchWriteItem`, or fenced transactions),
//!   which cannot read the stored version: each record is stored with **`record.version + 1`**, so a
//!   caller that read the records first keeps versions moving up; one that did not (version 0) stores
//!   version 1. The last record of an id in one call wins.
//! - `move_status` is an `UpdateItem` conditional on the record existing with status `from`
//!   (`attribute_not_exists(status)` for `None`); it moves the index entry with it and the version up.
//! - Reads are strongly consistent (`GetItem`, `BatchGetItem` in chunks of 100 with
//!   `UnprocessedKeys` resent, `Query` on the table); the status index is eventually consistent, as
//!   every global secondary index is.
//! - Pages are in id order (the sort key's byte order); a page starts after `after` (an
//!   `ExclusiveStartKey` built from it: the record need not exist any more) and says `next_after`
//!   only when another record follows (the Query reads one record beyond the page to know).

use super::{
    BATCH_RETRIES, DynamoStore, GSI1, Item, backoff, capacity, get_i64, get_opt_s, get_s, keys, n,
    s,
};
use crate::dynamo::fenced::{ItemWrite, Write, Written};
use crate::errors::{corrupt, storage};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{KeysAndAttributes, ReturnConsumedCapacity};
use shopsync_domain::SyncError;
use shopsync_domain::ports::{
    Record, RecordPage, RecordStore, Result, check_record, check_record_key, check_record_status,
};
use shopsync_domain::time::now_secs;
use std::collections::{HashMap, HashSet};

/// A page of records holds at most this many.
pub const MAX_RECORD_LIST: usize = 1000;
/// DynamoDB's limit of keys per `BatchGetItem`.
const MAX_BATCH_GET: usize = 100;

const WHAT: &str = "record";

fn check_kind(kind: &str) -> Result<()> {
    // Any valid id will do: only the kind is checked here.
    check_record_key(kind, "_")
}

/// The version a write stores after `version`; refused where DynamoDB's number would no longer
/// read back as an `i64`.
pub(crate) fn next_version(version: u64) -> Result<u64> {
    if version >= i64::MAX as u64 {
        return Err(SyncError::Internal(format!(
            "record version {version} cannot move up"
        )));
    }
    Ok(version + 1)
}

fn record_key(shop: &str, kind: &str, id: &str) -> Item {
    HashMap::from([
        ("pk".to_string(), s(keys::shop_pk(shop))),
        ("sk".to_string(), s(keys::rec_sk(kind, id))),
    ])
}

/// The item of `record` as stored with `version`.
fn record_item(shop: &str, kind: &str, record: &Record, version: u64, now: i64) -> Item {
    let mut item = record_key(shop, kind, &record.id);
    item.insert("kind".into(), s(kind));
    item.insert("rec_id".into(), s(&record.id));
    item.insert("body".into(), s(&record.body));
    item.insert("version".into(), n(version));
    item.insert("updated_at".into(), n(now));
    if let Some(status) = &record.status {
        item.insert("status".into(), s(status));
        item.insert(
            "gsi1pk".into(),
            s(keys::rec_status_gsi_pk(shop, kind, status)),
        );
        item.insert("gsi1sk".into(), s(&record.id));
    }
    item
}

fn record(item: &Item) -> Result<Record> {
    let version = get_i64(item, "version", WHAT)?;
    Ok(Record {
        id: get_s(item, "rec_id", WHAT)?.to_string(),
        status: get_opt_s(item, "status").map(str::to_string),
        body: get_s(item, "body", WHAT)?.to_string(),
        version: u64::try_from(version)
            .map_err(|_| corrupt(WHAT, format!("version {version} is negative")))?,
        updated_at: get_i64(item, "updated_at", WHAT)?,
    })
}

/// The records of a page fetched with one extra item: the page and its `next_after`.
fn page(items: Vec<Item>, limit: usize) -> Result<RecordPage> {
    let mut records = items.iter().map(record).collect::<Result<Vec<_>>>()?;
    let more = records.len() > limit;
    records.truncate(limit);
    let next_after = if more {
        records.last().map(|r| r.id.clone())
    } else {
        None
    };
    Ok(RecordPage {
        records,
        next_after,
    })
}

/// The last occurrence of each id, in the order of those occurrences.
fn unique_last(records: &[Record]) -> Vec<&Record> {
    let mut last: HashMap<&str, usize> = HashMap::new();
    for (i, r) in records.iter().enumerate() {
        last.insert(r.id.as_str(), i);
    }
    records
        .iter()
        .enumerate()
        .filter(|(i, r)| last[r.id.as_str()] == *i)
        .map(|(_, r)| r)
        .collect()
}

fn unique_ids(ids: &[String]) -> Vec<&String> {
    let mut seen = HashSet::new();
    ids.iter().filter(|id| seen.insert(id.as_str())).collect()
}

impl DynamoStore {
    /// `BatchGetItem` of `keys` (at most 100), strongly consistent, resending `UnprocessedKeys`.
    async fn batch_get(&self, keys: Vec<Item>, op: &str) -> Result<Vec<Item>> {
        let mut found = Vec::new();
        let mut pending = keys;
        let mut attempt = 0;
        while !pending.is_empty() {
            let asked = pending.len();
            let request = KeysAndAttributes::builder()
                .set_keys(Some(std::mem::take(&mut pending)))
                .consistent_read(true)
                .build()
                .map_err(|e| SyncError::Internal(format!("KeysAndAttributes: {e}")))?;
            let out = self
                .client
                .batch_get_item()
                .request_items(&self.table, request)
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await
                .map_err(|e| storage(op, e))?;
            let items = out
                .responses
                .and_then(|mut r| r.remove(&self.table))
                .unwrap_or_default();
            pending = out
                .unprocessed_keys
                .and_then(|mut u| u.remove(&self.table))
                .map(|k| k.keys)
                .unwrap_or_default();
            let reported = out.consumed_capacity.map(|caps| {
                caps.iter()
                    .filter(|c| c.table_name().is_none_or(|t| t == self.table))
                    .filter_map(|c| c.capacity_units)
                    .sum::<f64>()
            });
            let missing = asked.saturating_sub(items.len() + pending.len());
            self.meter(reported, || {
                items
                    .iter()
                    .map(|i| capacity::get_units(Some(i), true))
                    .sum::<f64>()
                    + missing as f64 * capacity::get_units(None, true)
            });
            found.extend(items);
            if pending.is_empty() {
                break;
            }
            attempt += 1;
            if attempt > BATCH_RETRIES {
                return Err(SyncError::Storage(format!(
                    "{op}: {} keys still unprocessed after {BATCH_RETRIES} retries (throttled)",
                    pending.len()
                )));
            }
            tokio::time::sleep(backoff(attempt)).await;
        }
        Ok(found)
    }
}

#[async_trait]
impl RecordStore for DynamoStore {
    async fn get_record(&self, shop: &str, kind: &str, id: &str) -> Result<Option<Record>> {
        check_record_key(kind, id)?;
        self.get_key(record_key(shop, kind, id), "GetItem record")
            .await?
            .map(|item| record(&item))
            .transpose()
    }

    async fn get_records(&self, shop: &str, kind: &str, ids: &[String]) -> Result<Vec<Record>> {
        for id in ids {
            check_record_key(kind, id)?;
        }
        let keys: Vec<Item> = unique_ids(ids)
            .into_iter()
            .map(|id| record_key(shop, kind, id))
            .collect();
        let mut records = Vec::with_capacity(keys.len());
        let mut keys = keys.into_iter().peekable();
        while keys.peek().is_some() {
            let chunk: Vec<Item> = keys.by_ref().take(MAX_BATCH_GET).collect();
            for item in self.batch_get(chunk, "BatchGetItem records").await? {
                records.push(record(&item)?);
            }
        }
        Ok(records)
    }

    async fn put_record_if(&self, shop: &str, kind: &str, r: &Record) -> Result<bool> {
        check_record(kind, r)?;
        let version = next_version(r.version)?;
        let write = Write::put(record_item(shop, kind, r, version, now_secs()));
        let write = if r.version == 0 {
            write.condition("attribute_not_exists(pk)")
        } else {
            write
                .condition("version = :expected")
                .value(":expected", n(r.version))
        };
        match self.write(write, "PutItem record").await? {
            Written::Done => Ok(true),
            Written::ConditionFailed(_) => Ok(false),
        }
    }

    async fn put_records(&self, shop: &str, kind: &str, records: &[Record]) -> Result<()> {
        for r in records {
            check_record(kind, r)?;
            next_version(r.version)?;
        }
        let now = now_secs();
        let writes = unique_last(records)
            .into_iter()
            .map(|r| ItemWrite::Put(record_item(shop, kind, r, r.version + 1, now)))
            .collect();
        self.write_items(writes, "BatchWriteItem records").await
    }

    async fn delete_records(&self, shop: &str, kind: &str, ids: &[String]) -> Result<()> {
        for id in ids {
            check_record_key(kind, id)?;
        }
        let writes = unique_ids(ids)
            .into_iter()
            .map(|id| ItemWrite::Delete(record_key(shop, kind, id)))
            .collect();
        self.write_items(writes, "BatchWriteItem delete records")
            .await
    }

    async fn move_status(
        &self,
        shop: &str,
        kind: &str,
        id: &str,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<bool> {
        check_record_key(kind, id)?;
        for status in from.iter().chain(to.iter()) {
            check_record_status(status)?;
        }
        let expression = match to {
            Some(_) => {
                "SET version = version + :one, updated_at = :now, #status = :to, gsi1pk = :g, gsi1sk = :id"
            }
            None => {
                "SET version = version + :one, updated_at = :now REMOVE #status, gsi1pk, gsi1sk"
            }
        };
        let mut write = Write::update(record_key(shop, kind, id), expression)
            .name("#status", "status")
            .value(":one", n(1))
            .value(":now", n(now_secs()));
        if let Some(to) = to {
            write = write
                .value(":to", s(to))
                .value(":g", s(keys::rec_status_gsi_pk(shop, kind, to)))
                .value(":id", s(id));
        }
        write = match from {
            Some(from) => write
                .condition("attribute_exists(pk) AND #status = :from")
                .value(":from", s(from)),
            None => write.condition("attribute_exists(pk) AND attribute_not_exists(#status)"),
        };
        match self.write(write, "UpdateItem record status").await? {
            Written::Done => Ok(true),
            Written::ConditionFailed(_) => Ok(false),
        }
    }

    async fn list_records(
        &self,
        shop: &str,
        kind: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<RecordPage> {
        check_kind(kind)?;
        if let Some(after) = after {
            check_record_key(kind, after)?;
        }
        let limit = limit.clamp(1, MAX_RECORD_LIST);
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", s(keys::shop_pk(shop)))
            .expression_attribute_values(":prefix", s(keys::rec_prefix(kind)))
            .consistent_read(true)
            .scan_index_forward(true);
        let start = after.map(|after| record_key(shop, kind, after));
        let items = self
            .query_from(query, start, Some(limit + 1), "Query records")
            .await?;
        page(items, limit)
    }

    async fn list_by_status(
        &self,
        shop: &str,
        kind: &str,
        status: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<RecordPage> {
        check_kind(kind)?;
        check_record_status(status)?;
        if let Some(after) = after {
            check_record_key(kind, after)?;
        }
        let limit = limit.clamp(1, MAX_RECORD_LIST);
        let gsi1pk = keys::rec_status_gsi_pk(shop, kind, status);
        let start = after.map(|after| {
            let mut key = record_key(shop, kind, after);
            key.insert("gsi1pk".into(), s(&gsi1pk));
            key.insert("gsi1sk".into(), s(after));
            key
        });
        let query = self.gsi1_query(gsi1pk, true);
        let items = self
            .query_from(
                query,
                start,
                Some(limit + 1),
                &format!("Query records by status on {GSI1}"),
            )
            .await?;
        page(items, limit)
    }

    async fn count_by_status(&self, shop: &str, kind: &str, status: &str) -> Result<u64> {
        check_kind(kind)?;
        check_record_status(status)?;
        let query = self.gsi1_query(keys::rec_status_gsi_pk(shop, kind, status), true);
        self.query_count(query, "Query records by status (count) on gsi1")
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_round_trips_through_its_item_and_leaves_the_index_without_status() {
        let mut r = Record::new("gid://shopify/Order/1", Some("staged"), "{\"a\":1}");
        r.version = 4;
        let item = record_item("A", "order", &r, 5, 77);
        assert_eq!(item["sk"], s("REC#order#gid://shopify/Order/1"));
        assert_eq!(item["gsi1pk"], s("SHOP#A#REC#order#staged"));
        assert_eq!(item["gsi1sk"], s("gid://shopify/Order/1"));
        let back = record(&item).unwrap();
        assert_eq!((back.version, back.updated_at), (5, 77));
        assert_eq!(back.status.as_deref(), Some("staged"));
        assert_eq!(back.body, r.body);

        r.status = None;
        let item = record_item("A", "order", &r, 1, 77);
        assert!(!item.contains_key("gsi1pk") && !item.contains_key("status"));
    }

    #[test]
    fn the_last_record_of_an_id_wins_in_first_seen_order() {
        let rs = vec![
            Record::new("a", None, "1"),
            Record::new("b", None, "2"),
            Record::new("a", None, "3"),
        ];
        let out: Vec<&str> = unique_last(&rs).iter().map(|r| r.body.as_str()).collect();
        assert_eq!(out, vec!["2", "3"]);
    }

    #[test]
    fn statuses_are_checked() {
        assert!(check_record_status("staged").is_ok());
        assert!(check_record_status("").is_err());
        assert!(check_record_status("a\nb").is_err());
        assert!(check_record_status(&"x".repeat(256)).is_err());
    }
}
