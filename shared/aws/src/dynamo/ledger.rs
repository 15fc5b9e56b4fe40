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

use super::{DynamoStore, Item, LEDGER_TTL_SECS, get_i64, get_opt_s, get_s, keys, n, s};
use crate::errors::{storage, written};
use async_trait::async_trait;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;
use shopsync_domain::SyncError;
use shopsync_domain::ports::{IdempotencyLedger, LedgerBegin, LedgerEntry, LedgerStatus, Result};
use shopsync_domain::time::now_secs;

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
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(keys::shop_pk(shop)))
            .item("sk", s(keys::idem_sk(&e.key)))
            .item("entry_key", s(&e.key))
            .item("payload", s(&e.payload))
            .item("payload_sha256", s(&e.payload_sha256))
            .item("status", s(status_str(e.status)))
            .item("created_at", n(e.created_at))
            .item(
                "expires_at",
                n(e.created_at.max(now_secs()) + LEDGER_TTL_SECS),
            )
            .condition_expression("attribute_not_exists(pk)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        if let Some(result) = &e.result {
            put = put.item("result", s(result));
        }
        let err = match put.send().await {
            Ok(_) => return Ok(LedgerBegin::Started),
            Err(err) => err,
        };
        match err.as_service_error() {
            Some(PutItemError::ConditionalCheckFailedException(ccf)) => {
                if let Some(item) = ccf.item() {
                    return Ok(LedgerBegin::Existing(entry(item)?));
                }
                match self.get(shop, &e.key).await? {
                    Some(existing) => Ok(LedgerBegin::Existing(existing)),
                    None => Err(SyncError::Storage(format!(
                        "ledger entry {} vanished during begin; try again",
                        e.key
                    ))),
                }
            }
            _ => Err(storage("PutItem ledger entry", err)),
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
        let outcome = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(self.key(shop, keys::idem_sk(key))))
            .update_expression("SET #status = :sent, sent_at = :now")
            .condition_expression("attribute_exists(pk) AND #status <> :applied")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":sent", s(status_str(LedgerStatus::Sent)))
            .expression_attribute_values(":applied", s(status_str(LedgerStatus::Applied)))
            .expression_attribute_values(":now", n(now_secs()))
            .send()
            .await;
        if written(outcome, "UpdateItem ledger entry (sent)")? {
            Ok(())
        } else {
            Err(SyncError::Conflict(format!(
                "ledger entry '{key}' of shop {shop} is missing or already applied"
            )))
        }
    }

    async fn complete(&self, shop: &str, key: &str, result: &str) -> Result<()> {
        let outcome = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(self.key(shop, keys::idem_sk(key))))
            .update_expression("SET #status = :applied, #result = :r, completed_at = :now")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#result", "result")
            .expression_attribute_values(":applied", s(status_str(LedgerStatus::Applied)))
            .expression_attribute_values(":r", s(result))
            .expression_attribute_values(":now", n(now_secs()))
            .send()
            .await;
        if written(outcome, "UpdateItem ledger entry")? {
            Ok(())
        } else {
            Err(SyncError::NotFound(format!(
                "ledger entry '{key}' of shop {shop} (expired or never begun)"
            )))
        }
    }
}
