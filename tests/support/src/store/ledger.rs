//! The idempotency ledger, as `dynamo/ledger.rs`.
//!
//! Mirrored conditions:
//!
//! - `begin`: `attribute_not_exists(pk)`. The entry is stored as given — status and result
//!   included, as the adapter writes them (the port's doc says "a `Pending` entry", but nothing
//!   forces it). If the key exists, nothing is written and the *stored* entry comes back
//!   (`Existing`), never the one passed in. TTL: `max(created_at, now) + 7 days`.
//! - `mark_sent`: `attribute_exists(pk) AND status <> applied`, then `status = sent` (again on a
//!   `sent` entry: a no-op in effect). A missing *or* applied entry is `SyncError::Conflict`, as the
//!   adapter answers both (note: `Conflict` is retryable).
//! - `complete`: `attribute_exists(pk)`, then `status = applied`, `result = <result>`; it neither
//!   checks that the entry was pending nor compares payloads, so completing twice overwrites the
//!   result. A missing (never begun or expired) entry is `SyncError::NotFound`.
//! - In a fenced view ([`MemoryStore::fenced`]) all three first check the fence:
//!   `SyncError::Fenced` and nothing written once the job's epoch moved on, whatever the entry.

use super::{Expiring, LEDGER_TTL_SECS, MemoryStore};
use crate::op;
use async_trait::async_trait;
use shopsync_domain::SyncError;
use shopsync_domain::ports::{IdempotencyLedger, LedgerBegin, LedgerEntry, LedgerStatus, Result};

fn idem_sk(key: &str) -> String {
    format!("IDEM#{key}")
}

#[async_trait]
impl IdempotencyLedger for MemoryStore {
    async fn begin(&self, shop: &str, entry: &LedgerEntry) -> Result<LedgerBegin> {
        let now = self.clock.now();
        self.fenced_op(op::LEDGER_BEGIN, |t| {
            let p = t.shop(shop);
            if let Some(existing) = p.ledger.get(&entry.key) {
                return Ok(LedgerBegin::Existing(existing.value.clone()));
            }
            p.ledger.insert(
                entry.key.clone(),
                Expiring {
                    value: entry.clone(),
                    expires_at: entry.created_at.max(now) + LEDGER_TTL_SECS,
                },
            );
            t.wrote(op::LEDGER_BEGIN, shop, idem_sk(&entry.key));
            Ok(LedgerBegin::Started)
        })
    }

    async fn get(&self, shop: &str, key: &str) -> Result<Option<LedgerEntry>> {
        self.op(op::LEDGER_GET, |t| {
            Ok(t.read(shop)
                .and_then(|p| p.ledger.get(key))
                .map(|e| e.value.clone()))
        })
    }

    async fn mark_sent(&self, shop: &str, key: &str) -> Result<()> {
        self.fenced_op(op::LEDGER_MARK_SENT, |t| {
            match t.shop(shop).ledger.get_mut(key) {
                Some(e) if e.value.status != LedgerStatus::Applied => {
                    e.value.status = LedgerStatus::Sent;
                }
                _ => {
                    return Err(SyncError::Conflict(format!(
                        "ledger entry '{key}' of shop {shop} is missing or already applied"
                    )));
                }
            }
            t.wrote(op::LEDGER_MARK_SENT, shop, idem_sk(key));
            Ok(())
        })
    }

    async fn complete(&self, shop: &str, key: &str, result: &str) -> Result<()> {
        self.fenced_op(op::LEDGER_COMPLETE, |t| {
            let Some(e) = t.shop(shop).ledger.get_mut(key) else {
                return Err(SyncError::NotFound(format!(
                    "ledger entry '{key}' of shop {shop} (expired or never begun)"
                )));
            };
            e.value.status = LedgerStatus::Applied;
            e.value.result = Some(result.to_string());
            t.wrote(op::LEDGER_COMPLETE, shop, idem_sk(key));
            Ok(())
        })
    }
}
