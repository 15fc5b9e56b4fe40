//! `(shop, category)` leases, as `dynamo/leases.rs`. Time is only what the caller passes as `now`.
//!
//! Mirrored conditions:
//!
//! - `acquire`: `attribute_not_exists(pk) OR expires_at < :now OR owner = :me`, writing
//!   `expires_at = now + ttl` and `acquired_at = now`. Note the strict `<`: a lease whose
//!   `expires_at` equals `now` is still held. A failed condition answers `Held` with the holder's
//!   owner and expiry (the adapter's `ALL_OLD`). An empty owner is refused with
//!   `SyncError::Internal`.
//! - `heartbeat`: `owner = :me` only — *not* "and not expired": a run whose lease expired but was
//!   not taken yet extends it again (on DynamoDB only until the TTL sweeper deletes the item, which
//!   [`MemoryStore::expire_ttl`] plays). `Ok(false)` if the item is gone or another owner's.
//! - `release`: delete on `owner = :me`; a lease that is not ours (or none) is left alone, `Ok(())`.

use super::MemoryStore;
use crate::op;
use async_trait::async_trait;
use shopsync_domain::SyncError;
use shopsync_domain::ports::{LeaseOutcome, LeaseStore, Result};

/// A lease item as stored (`LEASE#<category>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub owner: String,
    /// Epoch seconds; also the item's TTL.
    pub expires_at: i64,
    pub acquired_at: i64,
}

fn lease_sk(category: &str) -> String {
    format!("LEASE#{category}")
}

#[async_trait]
impl LeaseStore for MemoryStore {
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
        self.op(op::ACQUIRE, |t| {
            let p = t.shop(shop);
            if let Some(l) = p.leases.get(category)
                && !(l.expires_at < now || l.owner == owner)
            {
                return Ok(LeaseOutcome::Held {
                    owner: l.owner.clone(),
                    expires_at: l.expires_at,
                });
            }
            p.leases.insert(
                category.to_string(),
                Lease {
                    owner: owner.to_string(),
                    expires_at: now + ttl_secs,
                    acquired_at: now,
                },
            );
            t.wrote(op::ACQUIRE, shop, lease_sk(category));
            Ok(LeaseOutcome::Acquired)
        })
    }

    async fn heartbeat(
        &self,
        shop: &str,
        category: &str,
        owner: &str,
        ttl_secs: i64,
        now: i64,
    ) -> Result<bool> {
        self.op(op::HEARTBEAT, |t| {
            match t.shop(shop).leases.get_mut(category) {
                Some(l) if l.owner == owner => l.expires_at = now + ttl_secs,
                _ => return Ok(false),
            }
            t.wrote(op::HEARTBEAT, shop, lease_sk(category));
            Ok(true)
        })
    }

    async fn holder(&self, shop: &str, category: &str) -> Result<Option<(String, i64)>> {
        self.op(op::LEASE_HOLDER, |t| {
            Ok(t.shop(shop)
                .leases
                .get(category)
                .map(|l| (l.owner.clone(), l.expires_at)))
        })
    }

    async fn release(&self, shop: &str, category: &str, owner: &str) -> Result<()> {
        self.op(op::RELEASE, |t| {
            let p = t.shop(shop);
            if p.leases.get(category).is_some_and(|l| l.owner == owner) {
                p.leases.remove(category);
                t.wrote(op::RELEASE, shop, lease_sk(category));
            }
            Ok(())
        })
    }
}
