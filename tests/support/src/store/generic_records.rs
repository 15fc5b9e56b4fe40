//! Generic task records (`REC#<kind>#<id>`), as `dynamo/records.rs`.
//!
//! Mirrored conditions and answers:
//!
//! - Kind and id are checked with [`check_record_key`] (and a status: non-empty, at most 255 bytes,
//!   no control characters; a version must be below `i64::MAX`) before anything, with
//!   `SyncError::Internal`; no fault point is reached.
//! - `put_record_if`: version 0 needs the record to be absent, any other version the stored one to
//!   be exactly it; the stored version becomes `record.version + 1`. A lost condition is `Ok(false)`.
//! - `put_records`: unconditional; each record is stored with `record.version + 1` (the adapter's
//!   batch cannot read the stored version), the last record of an id in one call wins.
//! - `delete_records`: deletes of absent ids are ignored (and journalled: the adapter sends them).
//! - `move_status`: only if the record exists with status `from` (`None`: without a status); moves
//!   the version up. `from == to` is allowed (a version bump).
//! - Every write stamps `updated_at` with the store's clock, as the adapter does with the wall clock.
//! - Pages are in id order (byte order, as DynamoDB sorts the sort key), start after `after` (which
//!   need not exist), hold `limit` clamped to 1..=1000 records and name `next_after` only when a
//!   record follows.
//!
//! Every write goes through the fence of a fenced view ([`MemoryStore::fenced`]).

use super::{MemoryStore, Tables};
use crate::op;
use async_trait::async_trait;
use shopsync_domain::ports::{
    Record, RecordPage, RecordStore, Result, check_record, check_record_key, check_record_status,
};
use std::collections::HashSet;
use std::ops::Bound;

/// As the adapter's `MAX_RECORD_LIST`.
pub const MAX_RECORD_LIST: usize = 1000;

fn check_kind(kind: &str) -> Result<()> {
    check_record_key(kind, "_")
}

fn rec_sk(kind: &str, id: &str) -> String {
    format!("REC#{kind}#{id}")
}

fn key(kind: &str, id: &str) -> (String, String) {
    (kind.to_string(), id.to_string())
}

/// Records of `kind` after `after` matching `keep`, at most `limit`, with `next_after`.
fn page(
    t: &Tables,
    shop: &str,
    kind: &str,
    after: Option<&str>,
    limit: usize,
    keep: impl Fn(&Record) -> bool,
) -> RecordPage {
    let Some(p) = t.read(shop) else {
        return RecordPage::default();
    };
    let from = match after {
        Some(after) => Bound::Excluded(key(kind, after)),
        None => Bound::Included(key(kind, "")),
    };
    let mut records: Vec<Record> = p
        .records
        .range((from, Bound::Unbounded))
        .take_while(|((k, _), _)| k == kind)
        .map(|(_, r)| r)
        .filter(|r| keep(r))
        .take(limit + 1)
        .cloned()
        .collect();
    let more = records.len() > limit;
    records.truncate(limit);
    let next_after = if more {
        records.last().map(|r| r.id.clone())
    } else {
        None
    };
    RecordPage {
        records,
        next_after,
    }
}

impl MemoryStore {
    fn store_record(t: &mut Tables, shop: &str, kind: &str, record: &Record, now: i64) {
        let mut stored = record.clone();
        stored.version = record.version + 1;
        stored.updated_at = now;
        t.shop(shop).records.insert(key(kind, &record.id), stored);
    }
}

#[async_trait]
impl RecordStore for MemoryStore {
    async fn get_record(&self, shop: &str, kind: &str, id: &str) -> Result<Option<Record>> {
        check_record_key(kind, id)?;
        self.op(op::GET_RECORD, |t| {
            Ok(t.read(shop)
                .and_then(|p| p.records.get(&key(kind, id)))
                .cloned())
        })
    }

    async fn get_records(&self, shop: &str, kind: &str, ids: &[String]) -> Result<Vec<Record>> {
        for id in ids {
            check_record_key(kind, id)?;
        }
        self.op(op::GET_RECORDS, |t| {
            let Some(p) = t.read(shop) else {
                return Ok(Vec::new());
            };
            let mut seen = HashSet::new();
            Ok(ids
                .iter()
                .filter(|id| seen.insert(id.as_str()))
                .filter_map(|id| p.records.get(&key(kind, id)).cloned())
                .collect())
        })
    }

    async fn put_record_if(&self, shop: &str, kind: &str, record: &Record) -> Result<bool> {
        check_record(kind, record)?;
        let now = self.clock.now();
        self.fenced_op(op::PUT_RECORD_IF, |t| {
            let stored = t
                .read(shop)
                .and_then(|p| p.records.get(&key(kind, &record.id)))
                .map(|r| r.version);
            let holds = match (record.version, stored) {
                (0, None) => true,
                (0, Some(_)) | (_, None) => false,
                (expected, Some(version)) => expected == version,
            };
            if !holds {
                return Ok(false);
            }
            MemoryStore::store_record(t, shop, kind, record, now);
            t.wrote(op::PUT_RECORD_IF, shop, rec_sk(kind, &record.id));
            Ok(true)
        })
    }

    async fn put_records(&self, shop: &str, kind: &str, records: &[Record]) -> Result<()> {
        for r in records {
            check_record(kind, r)?;
        }
        let now = self.clock.now();
        self.fenced_op(op::PUT_RECORDS, |t| {
            // The last record of an id wins, and is the one write sent for it.
            let mut seen = HashSet::new();
            let last: Vec<&Record> = records
                .iter()
                .rev()
                .filter(|r| seen.insert(r.id.as_str()))
                .collect();
            for r in last.into_iter().rev() {
                MemoryStore::store_record(t, shop, kind, r, now);
                t.wrote(op::PUT_RECORDS, shop, rec_sk(kind, &r.id));
            }
            Ok(())
        })
    }

    async fn delete_records(&self, shop: &str, kind: &str, ids: &[String]) -> Result<()> {
        for id in ids {
            check_record_key(kind, id)?;
        }
        self.fenced_op(op::DELETE_RECORDS, |t| {
            let mut seen = HashSet::new();
            for id in ids.iter().filter(|id| seen.insert(id.as_str())) {
                t.shop(shop).records.remove(&key(kind, id));
                t.wrote(op::DELETE_RECORDS, shop, rec_sk(kind, id));
            }
            Ok(())
        })
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
        let now = self.clock.now();
        self.fenced_op(op::MOVE_STATUS, |t| {
            let Some(r) = t.shop(shop).records.get_mut(&key(kind, id)) else {
                return Ok(false);
            };
            if r.status.as_deref() != from {
                return Ok(false);
            }
            r.status = to.map(str::to_string);
            r.version += 1;
            r.updated_at = now;
            t.wrote(op::MOVE_STATUS, shop, rec_sk(kind, id));
            Ok(true)
        })
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
        self.op(op::LIST_RECORDS, |t| {
            Ok(page(t, shop, kind, after, limit, |_| true))
        })
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
        self.op(op::LIST_BY_STATUS, |t| {
            Ok(page(t, shop, kind, after, limit, |r| {
                r.status.as_deref() == Some(status)
            }))
        })
    }

    async fn count_by_status(&self, shop: &str, kind: &str, status: &str) -> Result<u64> {
        check_kind(kind)?;
        check_record_status(status)?;
        self.op(op::COUNT_BY_STATUS, |t| {
            Ok(t.read(shop)
                .map(|p| {
                    p.records
                        .iter()
                        .filter(|((k, _), r)| k == kind && r.status.as_deref() == Some(status))
                        .count() as u64
                })
                .unwrap_or(0))
        })
    }
}
