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

/// The system's one backoff ([`shopsync_domain::backoff`]); the client's default is 200 ms doubling
/// up to 10 s.
pub use shopsync_domain::backoff::Backoff;

/// The client's default backoff for 5xx and transport failures.
pub const DEFAULT_BACKOFF: Backoff =
    Backoff::new(Duration::from_millis(200), Duration::from_secs(10));

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
