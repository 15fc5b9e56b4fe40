//! The dead-letter mirror, as `dynamo/failures.rs`.
//!
//! Mirrored conditions:
//!
//! - `record_failure`: the stored failure wins — if one with the id exists in the failure's
//!   partition (its shop, or the unattributed one) it is returned and nothing is written; otherwise
//!   the locator is written, then the failure (`attribute_not_exists(pk)`).
//! - `update_failure_if`: `#state = :from`, replacing the whole item (which drops any claim).
//! - `claim_failure`: `#state = :from AND (attribute_not_exists(claim_until) OR claim_until < :now)`.
//! - `release_failure_claim`: `claim_owner = :owner`; otherwise (or no item) a no-op `Ok(())`.
//! - `swap_mirror_refreshed_at`: `attribute_not_exists(refreshed_at)` for `from = None`,
//!   `refreshed_at = :from` otherwise.
//! - Listings: a shop's failures newest first (then by id), at most 1000; the admin listing goes
//!   through the locators; `open_failures` lists open and retrying failures by `failed_at` (clamped
//!   at 0) and id, newest first, as the sparse index does.

use super::{
    CLOSED_FAILURE_TTL_SECS, FAILURE_LOCATOR_TTL_SECS, FailureItem, Locator, MemoryStore,
    OPEN_FAILURE_TTL_SECS, Tables, UNATTRIBUTED,
};
use crate::op;
use async_trait::async_trait;
use shopsync_domain::ports::Result;
use shopsync_domain::status::{Failure, FailureState};
use shopsync_domain::status_ports::{FailureClaim, FailureStore};

/// As the adapter's `MAX_FAILURE_LIST`.
pub const MAX_FAILURE_LIST: usize = 1000;

fn is_open(state: FailureState) -> bool {
    matches!(state, FailureState::Open | FailureState::Retrying)
}

fn partition(shop: Option<&str>) -> &str {
    shop.unwrap_or(UNATTRIBUTED)
}

fn failure_sk(id: &str) -> String {
    format!("FAILURE#{id}")
}

fn item(failure: &Failure, now: i64, claim: Option<FailureClaim>) -> FailureItem {
    let expires_at = if is_open(failure.state) {
        failure.failed_at.max(now) + OPEN_FAILURE_TTL_SECS
    } else {
        now + CLOSED_FAILURE_TTL_SECS
    };
    FailureItem {
        failure: failure.clone(),
        expires_at,
        claim,
    }
}

fn newest_first(failures: &mut [Failure]) {
    failures.sort_by(|a, b| b.failed_at.cmp(&a.failed_at).then(a.id.cmp(&b.id)));
}

fn stored<'a>(t: &'a Tables, shop: Option<&str>, id: &str) -> Option<&'a FailureItem> {
    t.read(partition(shop)).and_then(|p| p.failures.get(id))
}

/// Replace the failure's item, journalled as `op`.
fn put(t: &mut Tables, op: &'static str, item: FailureItem) {
    let shop = partition(item.failure.shop.as_deref()).to_string();
    let id = item.failure.id.clone();
    t.shop(&shop).failures.insert(id.clone(), item);
    t.wrote(op, &shop, failure_sk(&id));
}

#[async_trait]
impl FailureStore for MemoryStore {
    async fn record_failure(&self, failure: &Failure, now: i64) -> Result<Failure> {
        self.op(op::RECORD_FAILURE, |t| {
            let shop = failure.shop.as_deref();
            if let Some(existing) = stored(t, shop, &failure.id) {
                return Ok(existing.failure.clone());
            }
            t.locators.insert(
                failure.id.clone(),
                Locator {
                    shop: failure.shop.clone(),
                    failed_at: failure.failed_at,
                    expires_at: failure.failed_at.max(now) + FAILURE_LOCATOR_TTL_SECS,
                },
            );
            t.wrote_raw(op::RECORD_FAILURE, "FAILURES", failure_sk(&failure.id));
            put(t, op::RECORD_FAILURE, item(failure, now, None));
            Ok(failure.clone())
        })
    }

    async fn get_failure(&self, shop: Option<&str>, id: &str) -> Result<Option<Failure>> {
        self.op(op::GET_FAILURE, |t| {
            if id.is_empty() {
                return Ok(None);
            }
            let owner = match shop {
                Some(shop) => Some(shop.to_string()),
                None => match t.locators.get(id) {
                    Some(l) => l.shop.clone(),
                    None => return Ok(None),
                },
            };
            Ok(stored(t, owner.as_deref(), id).map(|f| f.failure.clone()))
        })
    }

    async fn list_failures(&self, shop: Option<&str>, limit: usize) -> Result<Vec<Failure>> {
        let limit = limit.min(MAX_FAILURE_LIST);
        self.op(op::LIST_FAILURES, |t| {
            if limit == 0 {
                return Ok(Vec::new());
            }
            match shop {
                Some(shop) => {
                    let mut all: Vec<Failure> = t
                        .read(shop)
                        .map(|p| p.failures.values().map(|f| f.failure.clone()).collect())
                        .unwrap_or_default();
                    newest_first(&mut all);
                    all.truncate(limit);
                    Ok(all)
                }
                None => {
                    let mut located: Vec<(i64, &String, Option<&str>)> = t
                        .locators
                        .iter()
                        .map(|(id, l)| (l.failed_at, id, l.shop.as_deref()))
                        .collect();
                    located.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
                    Ok(located
                        .into_iter()
                        .filter_map(|(_, id, shop)| stored(t, shop, id))
                        .take(limit)
                        .map(|f| f.failure.clone())
                        .collect())
                }
            }
        })
    }

    async fn open_failures(&self, shop: &str, limit: usize) -> Result<Vec<Failure>> {
        let limit = limit.min(MAX_FAILURE_LIST);
        self.op(op::OPEN_FAILURES, |t| {
            let mut open: Vec<&Failure> = t
                .read(shop)
                .into_iter()
                .flat_map(|p| p.failures.values())
                .map(|f| &f.failure)
                .filter(|f| is_open(f.state))
                .collect();
            open.sort_by(|a, b| (b.failed_at.max(0), &b.id).cmp(&(a.failed_at.max(0), &a.id)));
            Ok(open.into_iter().take(limit).cloned().collect())
        })
    }

    async fn count_open_failures(&self, shop: &str) -> Result<u64> {
        self.op(op::COUNT_OPEN_FAILURES, |t| {
            Ok(t.read(shop)
                .map(|p| {
                    p.failures
                        .values()
                        .filter(|f| is_open(f.failure.state))
                        .count() as u64
                })
                .unwrap_or(0))
        })
    }

    async fn update_failure_if(
        &self,
        failure: &Failure,
        from: FailureState,
        now: i64,
    ) -> Result<bool> {
        self.op(op::UPDATE_FAILURE_IF, |t| {
            let holds = stored(t, failure.shop.as_deref(), &failure.id)
                .is_some_and(|f| f.failure.state == from);
            if holds {
                put(t, op::UPDATE_FAILURE_IF, item(failure, now, None));
            }
            Ok(holds)
        })
    }

    async fn claim_failure(
        &self,
        failure: &Failure,
        from: FailureState,
        claim: &FailureClaim,
        now: i64,
    ) -> Result<bool> {
        self.op(op::CLAIM_FAILURE, |t| {
            let holds = stored(t, failure.shop.as_deref(), &failure.id).is_some_and(|f| {
                f.failure.state == from && f.claim.as_ref().is_none_or(|c| c.until < now)
            });
            if holds {
                put(
                    t,
                    op::CLAIM_FAILURE,
                    item(failure, now, Some(claim.clone())),
                );
            }
            Ok(holds)
        })
    }

    async fn release_failure_claim(&self, failure: &Failure, owner: &str) -> Result<()> {
        self.op(op::RELEASE_FAILURE_CLAIM, |t| {
            let shop = partition(failure.shop.as_deref()).to_string();
            let Some(f) = t
                .shop(&shop)
                .failures
                .get_mut(&failure.id)
                .filter(|f| f.claim.as_ref().is_some_and(|c| c.owner == owner))
            else {
                return Ok(());
            };
            f.claim = None;
            t.wrote(op::RELEASE_FAILURE_CLAIM, &shop, failure_sk(&failure.id));
            Ok(())
        })
    }

    async fn mirror_refreshed_at(&self) -> Result<Option<i64>> {
        self.op(op::MIRROR_REFRESHED_AT, |t| Ok(t.mirror_refreshed_at))
    }

    async fn swap_mirror_refreshed_at(&self, from: Option<i64>, to: i64) -> Result<bool> {
        self.op(op::SWAP_MIRROR_REFRESHED_AT, |t| {
            if t.mirror_refreshed_at != from {
                return Ok(false);
            }
            t.mirror_refreshed_at = Some(to);
            t.wrote_raw(op::SWAP_MIRROR_REFRESHED_AT, "FAILURES", "MIRROR");
            Ok(true)
        })
    }
}
