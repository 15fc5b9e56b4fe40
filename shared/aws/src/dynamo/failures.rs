//! The dead-letter mirror (`FAILURE#<message_id>`): one item per message on the shared dead-letter
//! queue, so failures can be counted and listed per shop, retried once and discarded.
//!
//! The mirror never decides what is on the queue; it records what a peek saw and what on-call did.
//! So a new item is written only if none exists (a refresh never reopens a retried or discarded
//! failure), and every state change is a compare-and-swap on `state`. Open and retrying failures carry
//! `gsi1pk = SHOP#<shop>#FAILURES` (the sparse index the board counts); closing a failure drops it and
//! sets a 30-day TTL. A locator item per failure in the fixed `FAILURES` partition lets on-call find a
//! failure by id without knowing its shop, and list every failure without a scan.
//!
//! A retry **claims** its failure: `claim_owner`/`claim_until` are written with the state change under
//! the condition that no live claim is there (`attribute_not_exists(claim_until) OR claim_until <
//! :now`), so of concurrent retries exactly one queues the job; the next plain update drops the claim.
//! The item `pk = FAILURES, sk = MIRROR` holds `refreshed_at`, moved only by compare-and-swap.

use super::{
    CLOSED_FAILURE_TTL_SECS, DynamoStore, FAILURE_LOCATOR_TTL_SECS, Item, OPEN_FAILURE_TTL_SECS,
    body, get_opt_s, keys, n, s, to_json,
};
use crate::errors::storage;
use async_trait::async_trait;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use shopsync_domain::ports::Result;
use shopsync_domain::status::{Failure, FailureState};
use shopsync_domain::status_ports::{FailureClaim, FailureStore};
use std::collections::HashMap;

/// Listings return at most this many failures.
pub const MAX_FAILURE_LIST: usize = 1000;

fn state_name(state: FailureState) -> &'static str {
    match state {
        FailureState::Open => "open",
        FailureState::Retrying => "retrying",
        FailureState::Retried => "retried",
        FailureState::Discarded => "discarded",
    }
}

fn is_open(state: FailureState) -> bool {
    matches!(state, FailureState::Open | FailureState::Retrying)
}

fn failure_item(failure: &Failure, now: i64) -> Result<Item> {
    let shop = failure.shop.as_deref();
    let mut item = HashMap::from([
        ("pk".to_string(), s(keys::failure_pk(shop))),
        ("sk".to_string(), s(keys::failure_sk(&failure.id))),
        ("body".to_string(), s(to_json(failure, "failure")?)),
        ("state".to_string(), s(state_name(failure.state))),
        ("failed_at".to_string(), n(failure.failed_at)),
    ]);
    if is_open(failure.state) {
        item.insert("gsi1pk".into(), s(keys::open_failures_gsi_pk(shop)));
        item.insert(
            "gsi1sk".into(),
            s(keys::open_failure_gsi_sk(failure.failed_at, &failure.id)),
        );
        item.insert(
            "expires_at".into(),
            n(failure.failed_at.max(now) + OPEN_FAILURE_TTL_SECS),
        );
    } else {
        item.insert("expires_at".into(), n(now + CLOSED_FAILURE_TTL_SECS));
    }
    Ok(item)
}

fn locator_item(failure: &Failure, now: i64) -> Item {
    let mut item = HashMap::from([
        ("pk".to_string(), s(keys::FAILURE_LOCATOR_PK)),
        ("sk".to_string(), s(keys::failure_sk(&failure.id))),
        ("failed_at".to_string(), n(failure.failed_at)),
        (
            "expires_at".to_string(),
            n(failure.failed_at.max(now) + FAILURE_LOCATOR_TTL_SECS),
        ),
    ]);
    if let Some(shop) = &failure.shop {
        item.insert("shop".into(), s(shop));
    }
    item
}

/// Newest first, then by id so equal times list stably.
fn newest_first(failures: &mut [Failure]) {
    failures.sort_by(|a, b| b.failed_at.cmp(&a.failed_at).then(a.id.cmp(&b.id)));
}

impl DynamoStore {
    async fn get_raw(&self, pk: String, sk: String, op: &str) -> Result<Option<Item>> {
        self.get_key(
            HashMap::from([("pk".into(), s(pk)), ("sk".into(), s(sk))]),
            op,
        )
        .await
    }

    async fn get_in_partition(&self, shop: Option<&str>, id: &str) -> Result<Option<Failure>> {
        self.get_raw(
            keys::failure_pk(shop),
            keys::failure_sk(id),
            "GetItem failure",
        )
        .await?
        .map(|item| body(&item, "failure"))
        .transpose()
    }

    /// The shop of failure `id` (outer `None`: no such failure; inner `None`: it belongs to no shop).
    async fn locate(&self, id: &str) -> Result<Option<Option<String>>> {
        let item = self
            .get_raw(
                keys::FAILURE_LOCATOR_PK.to_string(),
                keys::failure_sk(id),
                "GetItem failure locator",
            )
            .await?;
        Ok(item.map(|i| get_opt_s(&i, "shop").map(str::to_string)))
    }
}

#[async_trait]
impl FailureStore for DynamoStore {
    async fn record_failure(&self, failure: &Failure, now: i64) -> Result<Failure> {
        let shop = failure.shop.as_deref();
        if let Some(existing) = self.get_in_partition(shop, &failure.id).await? {
            return Ok(existing);
        }
        // The locator first: a crash before the failure item leaves a locator without a failure,
        // which the next refresh completes; never a failure on-call cannot find.
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(locator_item(failure, now)))
            .send()
            .await
            .map_err(|e| storage("PutItem failure locator", e))?;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(failure_item(failure, now)?))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(failure.clone()),
            Err(e) if crate::errors::is_condition_failed(&e) => self
                .get_in_partition(shop, &failure.id)
                .await?
                .ok_or_else(|| {
                    shopsync_domain::SyncError::Storage(format!(
                        "failure {} was written and removed concurrently; read it again",
                        failure.id
                    ))
                }),
            Err(e) => Err(storage("PutItem new failure", e)),
        }
    }

    async fn get_failure(&self, shop: Option<&str>, id: &str) -> Result<Option<Failure>> {
        if id.is_empty() {
            return Ok(None);
        }
        match shop {
            Some(shop) => self.get_in_partition(Some(shop), id).await,
            None => match self.locate(id).await? {
                Some(owner) => self.get_in_partition(owner.as_deref(), id).await,
                None => Ok(None),
            },
        }
    }

    async fn list_failures(&self, shop: Option<&str>, limit: usize) -> Result<Vec<Failure>> {
        let limit = limit.min(MAX_FAILURE_LIST);
        if limit == 0 {
            return Ok(Vec::new());
        }
        match shop {
            Some(shop) => {
                // Failure ids are message ids (not time-ordered): read the partition's failures
                // (bounded by their TTL) and order them here.
                let items = self
                    .query_prefix(shop, keys::FAILURE_PREFIX, true, None, "Query failures")
                    .await?;
                let mut all = items
                    .iter()
                    .map(|i| body(i, "failure"))
                    .collect::<Result<Vec<Failure>>>()?;
                newest_first(&mut all);
                all.truncate(limit);
                Ok(all)
            }
            None => {
                let query = self
                    .client
                    .query()
                    .table_name(&self.table)
                    .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                    .expression_attribute_values(":pk", s(keys::FAILURE_LOCATOR_PK))
                    .expression_attribute_values(":prefix", s(keys::FAILURE_PREFIX))
                    .consistent_read(true);
                let locators = self
                    .query_all(query, None, "Query failure locators")
                    .await?;
                let mut located: Vec<(i64, String, Option<String>)> = locators
                    .iter()
                    .filter_map(|i| {
                        let id = get_opt_s(i, "sk")?.strip_prefix(keys::FAILURE_PREFIX)?;
                        let at = super::get_opt_i64(i, "failed_at", "failure locator")
                            .ok()
                            .flatten()
                            .unwrap_or(0);
                        Some((at, id.to_string(), get_opt_s(i, "shop").map(String::from)))
                    })
                    .collect();
                located.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
                let mut out = Vec::new();
                for (_, id, shop) in located {
                    if out.len() >= limit {
                        break;
                    }
                    if let Some(f) = self.get_in_partition(shop.as_deref(), &id).await? {
                        out.push(f);
                    }
                }
                Ok(out)
            }
        }
    }

    async fn open_failures(&self, shop: &str, limit: usize) -> Result<Vec<Failure>> {
        let limit = limit.min(MAX_FAILURE_LIST);
        if limit == 0 {
            return Ok(Vec::new());
        }
        let query = self.gsi1_query(keys::open_failures_gsi_pk(Some(shop)), false);
        let items = self
            .query_all(query, Some(limit), "Query open failures on gsi1")
            .await?;
        items.iter().map(|i| body(i, "failure")).collect()
    }

    async fn count_open_failures(&self, shop: &str) -> Result<u64> {
        let query = self.gsi1_query(keys::open_failures_gsi_pk(Some(shop)), true);
        self.query_count(query, "Query open failures (count) on gsi1")
            .await
    }

    async fn update_failure_if(
        &self,
        failure: &Failure,
        from: FailureState,
        now: i64,
    ) -> Result<bool> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(failure_item(failure, now)?))
            .condition_expression("#state = :from")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":from", s(state_name(from)))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if crate::errors::is_condition_failed(&e) => Ok(false),
            Err(e) => Err(storage("PutItem failure update", e)),
        }
    }

    async fn claim_failure(
        &self,
        failure: &Failure,
        from: FailureState,
        claim: &FailureClaim,
        now: i64,
    ) -> Result<bool> {
        let mut item = failure_item(failure, now)?;
        item.insert("claim_owner".into(), s(&claim.owner));
        item.insert("claim_until".into(), n(claim.until));
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(
                "#state = :from AND (attribute_not_exists(claim_until) OR claim_until < :now)",
            )
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":from", s(state_name(from)))
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if crate::errors::is_condition_failed(&e) => Ok(false),
            Err(e) => Err(storage("PutItem failure claim", e)),
        }
    }

    async fn release_failure_claim(&self, failure: &Failure, owner: &str) -> Result<()> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(keys::failure_pk(failure.shop.as_deref())))
            .key("sk", s(keys::failure_sk(&failure.id)))
            .update_expression("REMOVE claim_owner, claim_until")
            .condition_expression("claim_owner = :owner")
            .expression_attribute_values(":owner", s(owner))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(UpdateItemError::is_conditional_check_failed_exception) =>
            {
                Ok(())
            }
            Err(e) => Err(storage("UpdateItem failure claim release", e)),
        }
    }

    async fn mirror_refreshed_at(&self) -> Result<Option<i64>> {
        let item = self
            .get_raw(
                keys::FAILURE_LOCATOR_PK.to_string(),
                keys::FAILURE_MIRROR_SK.to_string(),
                "GetItem failure mirror",
            )
            .await?;
        match item {
            Some(i) => super::get_opt_i64(&i, "refreshed_at", "failure mirror"),
            None => Ok(None),
        }
    }

    async fn swap_mirror_refreshed_at(&self, from: Option<i64>, to: i64) -> Result<bool> {
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(keys::FAILURE_LOCATOR_PK))
            .key("sk", s(keys::FAILURE_MIRROR_SK))
            .update_expression("SET refreshed_at = :to")
            .expression_attribute_values(":to", n(to));
        let update = match from {
            None => update.condition_expression("attribute_not_exists(refreshed_at)"),
            Some(from) => update
                .condition_expression("refreshed_at = :from")
                .expression_attribute_values(":from", n(from)),
        };
        match update.send().await {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(UpdateItemError::is_conditional_check_failed_exception) =>
            {
                Ok(false)
            }
            Err(e) => Err(storage("UpdateItem failure mirror", e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shopsync_domain::status::FailureSource;

    fn failure(state: FailureState, shop: Option<&str>) -> Failure {
        Failure {
            id: "m-1".into(),
            shop: shop.map(String::from),
            task: None,
            job_id: None,
            source: FailureSource::Unreadable,
            state,
            error_kind: "unknown".into(),
            error: "x".into(),
            failed_at: 1_000,
            retry_job_id: None,
        }
    }

    #[test]
    fn only_open_and_retrying_failures_are_indexed() {
        let open = failure_item(&failure(FailureState::Open, Some("A")), 2_000).unwrap();
        assert_eq!(open["gsi1pk"], s("SHOP#A#FAILURES"));
        assert_eq!(open["gsi1sk"], s("0000000001000#m-1"));
        let retrying = failure_item(&failure(FailureState::Retrying, Some("A")), 2_000).unwrap();
        assert!(retrying.contains_key("gsi1pk"));
        for closed in [FailureState::Retried, FailureState::Discarded] {
            let item = failure_item(&failure(closed, Some("A")), 2_000).unwrap();
            assert!(!item.contains_key("gsi1pk"), "{closed:?}");
            assert_eq!(item["expires_at"], n(2_000 + CLOSED_FAILURE_TTL_SECS));
        }
        let none = failure_item(&failure(FailureState::Open, None), 2_000).unwrap();
        assert_eq!(none["pk"], s("SHOP#_unattributed"));
    }
}
