//! Idempotency ledger (`IDEM#<key>`): an effect that must happen once (an `inventorySetQuantities`
//! call, a BC document) is recorded *before* it is attempted, with exactly the payload that will be
//! sent.
//!
//! `begin` is a conditional put (`attribute_not_exists(pk)`); if the key exists, the stored entry comes
//! back with the failed condition (`ALL_OLD`) and the caller resends that payload under the same
//! key — never a freshly computed one, which could differ. `mark_sent` records that the effect is about
//! to go out (so a later run knows its outcome is unknown, and probes a target without idempotency
//! keys before any resend). `complete` marks the entry applied and is
//! conditional on the entry existing, so a lost or expired entry is reported rather than silently
//! recreated half-filled. Entries expire after 7 days (TTL on `expires_at`).
//!
//! In a fenced view (`DynamoStore::fenced`) each of the three writes is one transaction with the
//! check of the run's job epoch (`fenced.rs`): a run that lost its job gets `SyncError::Fenced` and
//! writes nothing — also when the entry exists already (a fenced run must stop, not resend).

use super::fenced::{Write, Written};
use super::{DynamoStore, Item, LEDGER_TTL_SECS, get_i64, get_opt_s, get_s, keys, n, s};
use async_trait::async_trait;
use shopsync_domain::SyncError;
use shopsync_domain::ports::{IdempotencyLedger, LedgerBegin, LedgerEntry, LedgerStatus, Result};
use shopsync_domain::time::now_secs;
use std::collections::HashMap;

fn status_str(status: LedgerStatus) -> &'static str {
    match status {
        LedgerStatus::Pending => "pending",
        LedgerStatus::Sent => "sent",
        LedgerStatus::Applied => "applied",
    }
}

fn entry(item: &Item) -> Result<LedgerEntry> {
    const WHAT: &str = "ledger entry";
    let status = match get_s(item, "status", WHAT)? {
        "pending" => LedgerStatus::Pending,
        "sent" => LedgerStatus::Sent,
        "applied" => LedgerStatus::Applied,
        other => {
            return Err(crate::errors::corrupt(
                WHAT,
                format!("unknown status '{other}'"),
            ));
        }
    };
    Ok(LedgerEntry {
        key: get_s(item, "entry_key", WHAT)?.to_string(),
        payload: get_s(item, "payload", WHAT)?.to_string(),
        payload_sha256: get_s(item, "payload_sha256", WHAT)?.to_string(),
        status,
        result: get_opt_s(item, "result").map(str::to_string),
        created_at: get_i64(item, "created_at", WHAT)?,
    })
}

#[async_trait]
impl IdempotencyLedger for DynamoStore {
    async fn begin(&self, shop: &str, e: &LedgerEntry) -> Result<LedgerBegin> {
        let mut item = HashMap::from([
            ("pk".to_string(), s(keys::shop_pk(shop))),
            ("sk".to_string(), s(keys::idem_sk(&e.key))),
            ("entry_key".to_string(), s(&e.key)),
            ("payload".to_string(), s(&e.payload)),
            ("payload_sha256".to_string(), s(&e.payload_sha256)),
            ("status".to_string(), s(status_str(e.status))),
            ("created_at".to_string(), n(e.created_at)),
            (
                "expires_at".to_string(),
                n(e.created_at.max(now_secs()) + LEDGER_TTL_SECS),
            ),
        ]);
        if let Some(result) = &e.result {
            item.insert("result".to_string(), s(result));
        }
        let write = Write::put(item)
            .condition("attribute_not_exists(pk)")
            .return_old_on_failure();
        match self.write(write, "PutItem ledger entry").await? {
            Written::Done => Ok(LedgerBegin::Started),
            Written::ConditionFailed(Some(item)) => Ok(LedgerBegin::Existing(entry(&item)?)),
            // The answer did not carry the stored entry (an emulator without `ALL_OLD`, or a
            // cancelled transaction without reasons): read it.
            Written::ConditionFailed(None) => match self.get(shop, &e.key).await? {
                Some(existing) => Ok(LedgerBegin::Existing(existing)),
                None => Err(SyncError::Storage(format!(
                    "ledger entry {} vanished during begin; try again",
                    e.key
                ))),
            },
        }
    }

    async fn get(&self, shop: &str, key: &str) -> Result<Option<LedgerEntry>> {
        match self
            .get_item(shop, keys::idem_sk(key), "GetItem ledger entry")
            .await?
        {
            Some(item) => entry(&item).map(Some),
            None => Ok(None),
        }
    }

    async fn mark_sent(&self, shop: &str, key: &str) -> Result<()> {
        let write = Write::update(
            self.key(shop, keys::idem_sk(key)),
            "SET #status = :sent, sent_at = :now",
        )
        .condition("attribute_exists(pk) AND #status <> :applied")
        .name("#status", "status")
        .value(":sent", s(status_str(LedgerStatus::Sent)))
        .value(":applied", s(status_str(LedgerStatus::Applied)))
        .value(":now", n(now_secs()));
        match self.write(write, "UpdateItem ledger entry (sent)").await? {
            Written::Done => Ok(()),
            Written::ConditionFailed(_) => Err(SyncError::Conflict(format!(
                "ledger entry '{key}' of shop {shop} is missing or already applied"
            ))),
        }
    }

    async fn complete(&self, shop: &str, key: &str, result: &str) -> Result<()> {
        let write = Write::update(
            self.key(shop, keys::idem_sk(key)),
            "SET #status = :applied, #result = :r, completed_at = :now",
        )
        .condition("attribute_exists(pk)")
        .name("#status", "status")
        .name("#result", "result")
        .value(":applied", s(status_str(LedgerStatus::Applied)))
        .value(":r", s(result))
        .value(":now", n(now_secs()));
        match self.write(write, "UpdateItem ledger entry").await? {
            Written::Done => Ok(()),
            Written::ConditionFailed(_) => Err(SyncError::NotFound(format!(
                "ledger entry '{key}' of shop {shop} (expired or never begun)"
            ))),
        }
    }
}
