//! Bounded retries with jittered exponential backoff.
//!
//! Why bounded: the reference client loops on THROTTLED without a cap (bc-connector §2.3), which
//! turns an outage into a hung worker. Here every call makes at most `1 + max_retries` attempts and
//! then fails with a retryable error so SQS redelivers later. Why jitter: several workers retrying in
//! lock-step after a 503 would hit Shopify together again.

use std::time::Duration;

/// What went wrong with one attempt, as far as retrying is concerned.
#[derive(Debug, Clone, PartialEq)]
pub enum Transient {
    /// THROTTLED body or HTTP 429; `retry_after` from the header when present.
    Throttled {
        message: String,
        retry_after: Option<Duration>,
    },
    /// 502/503/504 or a top-level INTERNAL_SERVER_ERROR.
    Upstream { status: u16, message: String },
    /// Connect/reset/timeout/body read or decode.
    Transport { message: String },
}

/// Exponential backoff with "equal jitter": a delay uniformly in `[d/2, d]`, `d = base · 2^attempt`
/// capped at `cap`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base: Duration::from_millis(200),
            cap: Duration::from_secs(10),
        }
    }
}

impl Backoff {
    /// The upper bound of the delay before retry number `attempt` (0-based).
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.min(20));
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// The jittered delay before retry number `attempt`.
    pub fn delay(&self, attempt: u32) -> Duration {
        let d = self.ceiling(attempt).as_secs_f64();
        Duration::from_secs_f64(d / 2.0 + fastrand::f64() * d / 2.0)
    }
}

/// `Retry-After` as delta-seconds (integer or decimal). HTTP dates are not used by Shopify's API
/// and yield `None` (the caller then falls back to backoff). Capped at 60 s so a bogus header cannot
/// park a Lambda.
pub fn parse_retry_after(value: Option<&str>) -> Option<Duration> {
    let secs: f64 = value?.trim().parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(60.0)))
}

/// Statuses retried as upstream failures.
pub fn is_retryable_status(status: u16) -> bool {
    matches!(status, 502..=504)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_jittered_and_capped() {
        let b = Backoff {
            base: Duration::from_millis(100),
            cap: Duration::from_secs(1),
        };
        assert_eq!(b.ceiling(0), Duration::from_millis(100));
        assert_eq!(b.ceiling(3), Duration::from_millis(800));
        assert_eq!(b.ceiling(10), Duration::from_secs(1));
        assert_eq!(b.ceiling(u32::MAX), Duration::from_secs(1));
        let samples: Vec<Duration> = (0..200).map(|_| b.delay(2)).collect();
        assert!(
            samples
                .iter()
                .all(|d| *d >= Duration::from_millis(200) && *d <= Duration::from_millis(400))
        );
        assert!(
            samples.iter().any(|d| *d != samples[0]),
            "delays must be jittered"
        );
    }

    #[test]
    fn retry_after_seconds() {
        assert_eq!(parse_retry_after(Some("2")), Some(Duration::from_secs(2)));
        assert_eq!(
            parse_retry_after(Some(" 0.5 ")),
            Some(Duration::from_millis(500))
        );
        assert_eq!(
            parse_retry_after(Some("3600")),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            parse_retry_after(Some("Wed, 21 Oct 2015 07:28:00 GMT")),
            None
        );
        assert_eq!(parse_retry_after(None), None);
    }

    #[test]
    fn retryable_statuses() {
        assert!(is_retryable_status(502) && is_retryable_status(503) && is_retryable_status(504));
        assert!(
            !is_retryable_status(500) && !is_retryable_status(401) && !is_retryable_status(429)
        );
    }
}
