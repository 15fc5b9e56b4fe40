//! `(shop, category)` leases (`LEASE#<category>`): at most one run of a category per shop at a time,
//! the way the reference connector serialises a job-queue category.
//!
//! A lease is an item with `owner` and `expires_at` (epoch seconds). Acquiring is a single conditional
//! put — free, expired, or already ours — so two workers can never both win. When the condition
//! fails, DynamoDB returns the current holder with the failure
//! (`ReturnValuesOnConditionCheckFailure=ALL_OLD`), which the caller needs to defer the job; no
//! second read, no race between "failed" and "who holds it". Heartbeats and the release are
//! conditional on the owner, so a worker whose lease was taken over after expiry cannot extend or
//! drop the new holder's lease. `expires_at` is also the table's TTL attribute, so abandoned leases
//! disappear on their own.

use super::{DynamoStore, Item, get_i64, get_s, keys, n, s};
use crate::errors::storage;
use async_trait::async_trait;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;
use shopsync_domain::SyncError;
use shopsync_domain::ports::{LeaseOutcome, LeaseStore, Result};

/// Attempts when the holder vanishes between a failed put and the read-back (only without
/// `ALL_OLD` support, e.g. some emulators).
const ACQUIRE_ATTEMPTS: u32 = 3;

fn held(item: &Item) -> Result<LeaseOutcome> {
    Ok(LeaseOutcome::Held {
        owner: get_s(item, "owner", "lease")?.to_string(),
        expires_at: get_i64(item, "expires_at", "lease")?,
    })
}

#[async_trait]
impl LeaseStore for DynamoStore {
    async fn acquire(
        &self,
        shop: &str,
        category: &str,
        owner: &str,
        ttl_secs: i64,
        now: i64,
    ) -> Result<LeaseOutcome> {
        if owner.is_empty() {
            return Err(SyncError::Internal(
                "a lease owner must not be empty".into(),
            ));
        }
        for _ in 0..ACQUIRE_ATTEMPTS {
            let result = self
                .client
                .put_item()
                .table_name(&self.table)
                .item("pk", s(keys::shop_pk(shop)))
                .item("sk", s(keys::lease_sk(category)))
                .item("owner", s(owner))
                .item("expires_at", n(now + ttl_secs))
                .item("acquired_at", n(now))
                .condition_expression(
                    "attribute_not_exists(pk) OR expires_at < :now OR #owner = :me",
                )
                .expression_attribute_names("#owner", "owner")
                .expression_attribute_values(":now", n(now))
                .expression_attribute_values(":me", s(owner))
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                )
                .send()
                .await;
            let err = match result {
                Ok(_) => return Ok(LeaseOutcome::Acquired),
                Err(e) => e,
            };
            match err.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(ccf)) => {
                    if let Some(item) = ccf.item() {
                        return held(item);
                    }
                    // No ALL_OLD in the answer: read the holder back.
                    if let Some(item) = self
                        .get_item(shop, keys::lease_sk(category), "GetItem lease")
                        .await?
                    {
                        return held(&item);
                    }
                    // Released in between: try again.
                }
                _ => return Err(storage("PutItem lease", err)),
            }
        }
        Err(SyncError::Storage(format!(
            "lease {shop}/{category}: contended, try again"
        )))
    }

    async fn heartbeat(
        &self,
        shop: &str,
        category: &str,
        owner: &str,
        ttl_secs: i64,
        now: i64,
    ) -> Result<bool> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(self.key(shop, keys::lease_sk(category))))
            .update_expression("SET expires_at = :exp")
            .condition_expression("#owner = :me")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":exp", n(now + ttl_secs))
            .expression_attribute_values(":me", s(owner))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(UpdateItemError::is_conditional_check_failed_exception) =>
            {
                Ok(false)
            }
            Err(e) => Err(storage("UpdateItem lease heartbeat", e)),
        }
    }

    async fn holder(&self, shop: &str, category: &str) -> Result<Option<(String, i64)>> {
        match self
            .get_item(shop, keys::lease_sk(category), "GetItem lease")
            .await?
        {
            Some(item) => Ok(Some((
                get_s(&item, "owner", "lease")?.to_string(),
                get_i64(&item, "expires_at", "lease")?,
            ))),
            None => Ok(None),
        }
    }

    async fn release(&self, shop: &str, category: &str, owner: &str) -> Result<()> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(self.key(shop, keys::lease_sk(category))))
            .condition_expression("#owner = :me")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":me", s(owner))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(DeleteItemError::is_conditional_check_failed_exception) =>
            {
                Ok(())
            }
            Err(e) => Err(storage("DeleteItem lease", e)),
        }
    }
}
