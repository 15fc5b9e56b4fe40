//! BC online's per-service-principal operational limits: requests processed at the same time and
//! requests per sliding window. Both answer 429 `Application_TooManyRequests` without a `Retry-After`
//! (the docs do not promise one on 429), which is what makes client-side pacing necessary.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Counters a test can assert on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BcSimStats {
    /// API requests received (token requests not included).
    pub requests: u64,
    /// 429s because a limit was hit (concurrency or rate), not injected ones.
    pub throttled_429: u64,
    /// Of `throttled_429`: too many requests in flight.
    pub concurrency_rejections: u64,
    /// Of `throttled_429`: too many requests in the window.
    pub rate_rejections: u64,
    /// Faults injected (any kind).
    pub injected_faults: u64,
    /// Most requests of one client seen in flight at once (admitted ones).
    pub max_concurrency_seen: usize,
    /// Access tokens issued.
    pub tokens_issued: u64,
    /// Token requests refused (bad credentials and the like).
    pub token_failures: u64,
    /// API requests answered 401.
    pub unauthorized: u64,
    /// API requests (admitted or not) by `"<METHOD> <resource>"`: `"POST salesOrders"`, `"GET customers"`,
    /// `"POST $batch"`, `"GET salesOrders/salesOrderLines"`, `"GET ODataV4 <Page>"`. A `$batch` counts
    /// once here, whatever it carries.
    pub by_route: BTreeMap<String, u64>,
    /// Operations carried inside `$batch` requests.
    pub batch_operations: u64,
}

impl BcSimStats {
    /// Requests counted under `"<method> <resource>"` (see [`BcSimStats::by_route`]).
    pub fn requests_to(&self, method: &str, resource: &str) -> u64 {
        self.by_route
            .get(&format!("{} {resource}", method.to_ascii_uppercase()))
            .copied()
            .unwrap_or(0)
    }

    /// Requests that may write: every POST, PATCH and DELETE (a `$batch` of reads included).
    pub fn write_requests(&self) -> u64 {
        self.by_route
            .iter()
            .filter(|(k, _)| {
                k.starts_with("POST ") || k.starts_with("PATCH ") || k.starts_with("DELETE ")
            })
            .map(|(_, n)| n)
            .sum()
    }
}

#[derive(Default)]
struct Usage {
    in_flight: usize,
    recent: VecDeque<Instant>,
}

#[derive(Default)]
pub(crate) struct Limits {
    per_client: HashMap<String, Usage>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LimitHit {
    Concurrency,
    Rate,
}

impl Limits {
    /// Admit one request of `client` or say which limit it hits. On success returns the in-flight count.
    pub(crate) fn admit(
        &mut self,
        client: &str,
        max_concurrent: usize,
        rate_limit: usize,
        window: Duration,
    ) -> Result<usize, LimitHit> {
        let now = Instant::now();
        let usage = self.per_client.entry(client.to_string()).or_default();
        while usage
            .recent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= window)
        {
            usage.recent.pop_front();
        }
        if usage.in_flight >= max_concurrent {
            return Err(LimitHit::Concurrency);
        }
        if usage.recent.len() >= rate_limit {
            return Err(LimitHit::Rate);
        }
        usage.recent.push_back(now);
        usage.in_flight += 1;
        Ok(usage.in_flight)
    }

    fn release(&mut self, client: &str) {
        if let Some(u) = self.per_client.get_mut(client) {
            u.in_flight = u.in_flight.saturating_sub(1);
        }
    }
}

/// Ends one admitted request when dropped, including when the client hangs up and the handler is
/// cancelled.
pub(crate) struct InFlight {
    pub(crate) limits: Arc<Mutex<Limits>>,
    pub(crate) client: String,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.limits
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .release(&self.client);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrency_and_rate() {
        let mut l = Limits::default();
        let w = Duration::from_secs(60);
        assert_eq!(l.admit("a", 2, 3, w), Ok(1));
        assert_eq!(l.admit("a", 2, 3, w), Ok(2));
        assert_eq!(l.admit("a", 2, 3, w), Err(LimitHit::Concurrency));
        assert_eq!(l.admit("b", 2, 3, w), Ok(1), "limits are per client");
        l.release("a");
        assert_eq!(l.admit("a", 2, 3, w), Ok(2));
        l.release("a");
        l.release("a");
        assert_eq!(l.admit("a", 2, 3, w), Err(LimitHit::Rate));
    }

    #[test]
    fn window_slides() {
        let mut l = Limits::default();
        let w = Duration::from_millis(30);
        assert!(l.admit("a", 5, 1, w).is_ok());
        l.release("a");
        assert_eq!(l.admit("a", 5, 1, w), Err(LimitHit::Rate));
        std::thread::sleep(Duration::from_millis(40));
        assert!(l.admit("a", 5, 1, w).is_ok());
    }
}
