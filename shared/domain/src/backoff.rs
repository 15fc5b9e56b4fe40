//! The one retry backoff of the whole system: Shopify and BC calls, DynamoDB batch writes, and the
//! retry clock of a job's message all wait the same way.
//!
//! Exponential with "equal jitter": before retry number `attempt` (0-based) the delay is uniform in
//! `[d/2, d]`, `d = base · 2^attempt` capped at `cap`. Half fixed keeps retries from coming back at
//! once; half random keeps parallel callers (many shops, one store) from retrying in lock-step. A
//! server's `Retry-After` wins over the computed delay, bounded so a bogus header cannot park a run.

use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
}

impl Backoff {
    pub const fn new(base: Duration, cap: Duration) -> Backoff {
        Backoff { base, cap }
    }

    /// The upper bound of the delay before retry number `attempt` (0-based).
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.min(20));
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// The jittered delay before retry number `attempt`.
    pub fn delay(&self, attempt: u32) -> Duration {
        let d = self.ceiling(attempt);
        let half = d / 2;
        half + Duration::from_nanos(fastrand::u64(0..=(d - half).as_nanos() as u64))
    }

    /// The server's `Retry-After` (at most `max_retry_after`, plus up to 100 ms of jitter) when it
    /// gave one, else [`delay`](Self::delay).
    pub fn delay_or_retry_after(
        &self,
        attempt: u32,
        retry_after: Option<Duration>,
        max_retry_after: Duration,
    ) -> Duration {
        match retry_after {
            Some(ra) => ra.min(max_retry_after) + Duration::from_millis(fastrand::u64(0..=100)),
            None => self.delay(attempt),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_is_jittered_and_capped() {
        let b = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
        assert_eq!(b.ceiling(0), Duration::from_millis(100));
        assert_eq!(b.ceiling(3), Duration::from_millis(800));
        assert_eq!(b.ceiling(10), Duration::from_secs(1));
        assert_eq!(b.ceiling(u32::MAX), Duration::from_secs(1));
        for attempt in 0..12 {
            for _ in 0..20 {
                let d = b.delay(attempt);
                let c = b.ceiling(attempt);
                assert!(d >= c / 2 && d <= c, "attempt {attempt}: {d:?}");
            }
        }
        let ra = b.delay_or_retry_after(0, Some(Duration::from_secs(3)), Duration::from_secs(2));
        assert!(ra >= Duration::from_secs(2) && ra <= Duration::from_millis(2100));
    }
}
