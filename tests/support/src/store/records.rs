//! Inventory state, skipped records, cue entries and the board's counts, as `dynamo/inventory.rs`,
//! `skipped.rs`, `cues.rs` and `counts.rs`. None of these writes is conditional; what matters is
//! the shape of the answers:
//!
//! - mappings and levels are upserts, the last occurrence of a key in one call wins, deletes of
//!   absent keys are ignored; mappings load in variant id order (the `MAP#<variant_id>` sort key);
//! - skipped records get a TTL of `max(at, now) + 30 days`, list newest first (by `at`, clamped at 0
//!   as the zero-padded sort key does), at most 1000, and the board's count leaves out those whose
//!   TTL has passed (`expires_at > :now`) while `list_skipped` does not (TTL deletes lazily);
//! - cue entries are refused with `SyncError::Internal` if an id is empty (before anything is
//!   written), list in id order, at most 1000; `replace_entries` puts, then removes the rest;
//! - failed jobs per kind use the `ErrorKind`'s snake_case name, `unknown` without an error;
//! - in a fenced view ([`MemoryStore::fenced`]) skipped records and every cue write check the
//!   fence first (`SyncError::Fenced`, nothing written); inventory state is not fenced, as in the
//!   adapter.

use super::{Expiring, MemoryStore, SKIPPED_TTL_SECS};
use crate::op;
use async_trait::async_trait;
use shopsync_domain::ports::{Result, SkippedRecord, SkippedRecordStore};
use shopsync_domain::status::{Cue, CueEntry};
use shopsync_domain::status_ports::{CueStore, StatusCounts};
use shopsync_domain::{JobStatus, SyncError};
use std::collections::BTreeMap;

/// As the adapter's `MAX_SKIPPED_LIST`.
pub const MAX_SKIPPED_LIST: usize = 1000;
/// As the adapter's `MAX_CUE_LIST`.
pub const MAX_CUE_LIST: usize = 1000;

#[async_trait]
impl SkippedRecordStore for MemoryStore {
    async fn record_skipped(&self, shop: &str, records: &[SkippedRecord]) -> Result<()> {
        let now = self.clock.now();
        self.fenced_op(op::RECORD_SKIPPED, |t| {
            for r in records {
                let unique = t.unique();
                t.shop(shop).skipped.insert(
                    (r.at.max(0), unique),
                    Expiring {
                        value: r.clone(),
                        expires_at: r.at.max(now) + SKIPPED_TTL_SECS,
                    },
                );
                t.wrote(
                    op::RECORD_SKIPPED,
                    shop,
                    format!("SKIP#{:013}#{unique}", r.at.max(0)),
                );
            }
            Ok(())
        })
    }

    async fn list_skipped(&self, shop: &str, limit: usize) -> Result<Vec<SkippedRecord>> {
        let limit = limit.min(MAX_SKIPPED_LIST);
        self.op(op::LIST_SKIPPED, |t| {
            Ok(t.read(shop)
                .map(|p| {
                    p.skipped
                        .values()
                        .rev()
                        .take(limit)
                        .map(|s| s.value.clone())
                        .collect()
                })
                .unwrap_or_default())
        })
    }
}

fn check_entries(cue: Cue, entries: &[CueEntry]) -> Result<()> {
    if entries.iter().any(|e| e.id.is_empty()) {
        return Err(SyncError::Internal(format!(
            "a {cue} cue entry needs an id"
        )));
    }
    Ok(())
}

fn cue_sk(cue: Cue, id: &str) -> String {
    format!("CUE#{}#{id}", cue.name())
}

impl MemoryStore {
    fn put_cue_entries(t: &mut super::Tables, shop: &str, cue: Cue, entries: &[CueEntry]) {
        for e in entries {
            t.shop(shop).cues.insert((cue, e.id.clone()), e.clone());
            t.wrote(op::PUT_ENTRIES, shop, cue_sk(cue, &e.id));
        }
    }
}

#[async_trait]
impl CueStore for MemoryStore {
    async fn count_entries(&self, shop: &str, cue: Cue) -> Result<u64> {
        self.op(op::COUNT_ENTRIES, |t| {
            Ok(t.read(shop)
                .map(|p| p.cues.keys().filter(|(c, _)| *c == cue).count() as u64)
                .unwrap_or(0))
        })
    }

    async fn list_entries(&self, shop: &str, cue: Cue, limit: usize) -> Result<Vec<CueEntry>> {
        let limit = limit.min(MAX_CUE_LIST);
        self.op(op::LIST_ENTRIES, |t| {
            Ok(t.read(shop)
                .map(|p| {
                    p.cues
                        .iter()
                        .filter(|((c, _), _)| *c == cue)
                        .take(limit)
                        .map(|(_, e)| e.clone())
                        .collect()
                })
                .unwrap_or_default())
        })
    }

    async fn put_entries(&self, shop: &str, cue: Cue, entries: &[CueEntry]) -> Result<()> {
        check_entries(cue, entries)?;
        self.fenced_op(op::PUT_ENTRIES, |t| {
            MemoryStore::put_cue_entries(t, shop, cue, entries);
            Ok(())
        })
    }

    async fn remove_entries(&self, shop: &str, cue: Cue, ids: &[String]) -> Result<()> {
        self.fenced_op(op::REMOVE_ENTRIES, |t| {
            for id in ids {
                // A delete request is sent for absent ids too, so it is journalled as a write.
                t.shop(shop).cues.remove(&(cue, id.clone()));
                t.wrote(op::REMOVE_ENTRIES, shop, cue_sk(cue, id));
            }
            Ok(())
        })
    }

    async fn replace_entries(&self, shop: &str, cue: Cue, entries: &[CueEntry]) -> Result<()> {
        check_entries(cue, entries)?;
        self.fenced_op(op::REPLACE_ENTRIES, |t| {
            MemoryStore::put_cue_entries(t, shop, cue, entries);
            let keep: std::collections::HashSet<&str> =
                entries.iter().map(|e| e.id.as_str()).collect();
            let gone: Vec<String> = t
                .shop(shop)
                .cues
                .keys()
                .filter(|(c, id)| *c == cue && !keep.contains(id.as_str()))
                .map(|(_, id)| id.clone())
                .collect();
            for id in gone {
                t.shop(shop).cues.remove(&(cue, id.clone()));
                t.wrote(op::REPLACE_ENTRIES, shop, cue_sk(cue, &id));
            }
            Ok(())
        })
    }
}

#[async_trait]
impl StatusCounts for MemoryStore {
    async fn count_jobs(&self, shop: &str, status: JobStatus) -> Result<u64> {
        self.op(op::COUNT_JOBS, |t| {
            Ok(t.read(shop)
                .map(|p| p.jobs.values().filter(|j| j.value.status == status).count() as u64)
                .unwrap_or(0))
        })
    }

    async fn count_skipped(&self, shop: &str, now: i64) -> Result<u64> {
        self.op(op::COUNT_SKIPPED, |t| {
            Ok(t.read(shop)
                .map(|p| p.skipped.values().filter(|s| s.expires_at > now).count() as u64)
                .unwrap_or(0))
        })
    }

    async fn failed_jobs_by_kind(&self, shop: &str) -> Result<BTreeMap<String, u64>> {
        self.op(op::FAILED_JOBS_BY_KIND, |t| {
            let mut kinds = BTreeMap::new();
            for j in t.read(shop).into_iter().flat_map(|p| p.jobs.values()) {
                if j.value.status != JobStatus::Failed {
                    continue;
                }
                let kind = j
                    .value
                    .error
                    .as_ref()
                    .and_then(|e| serde_json::to_value(e.kind).ok())
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_else(|| "unknown".to_string());
                *kinds.entry(kind).or_default() += 1;
            }
            Ok(kinds)
        })
    }
}
