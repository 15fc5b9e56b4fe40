//! A settable clock for the few places where an adapter reads the wall clock itself.
//!
//! Most ports take `now` as an argument (leases, failures, skipped counts), and a test passes the
//! value it wants. The DynamoDB adapters read the wall clock in three places only: the TTL of a
//! ledger entry and its `completed_at`, and the TTL of a skipped record. The doubles read a [`Clock`]
//! there instead, so TTLs are reproducible and [`crate::MemoryStore::expire_ttl`] can be driven
//! without sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// Epoch seconds a new [`Clock`] starts at (2023-11-14T22:13:20Z): a fixed, realistic value.
pub const DEFAULT_START: i64 = 1_700_000_000;

/// A shared, settable "now" in epoch seconds; clones share the value.
#[derive(Debug, Clone)]
pub struct Clock(Arc<AtomicI64>);

impl Default for Clock {
    fn default() -> Self {
        Clock::at(DEFAULT_START)
    }
}

impl Clock {
    /// A clock at [`DEFAULT_START`].
    pub fn new() -> Clock {
        Clock::default()
    }

    /// A clock at `secs`.
    pub fn at(secs: i64) -> Clock {
        Clock(Arc::new(AtomicI64::new(secs)))
    }

    pub fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }

    pub fn set(&self, secs: i64) {
        self.0.store(secs, Ordering::SeqCst);
    }

    /// Move the clock by `secs` (may be negative) and return the new time.
    pub fn advance(&self, secs: i64) -> i64 {
        self.0.fetch_add(secs, Ordering::SeqCst) + secs
    }
}
