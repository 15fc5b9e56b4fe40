//! When to try again and how long to wait. Reads retry on anything transient; writes retry only when BC
//! certainly did not process them (429, 503, connection never made), because BC has no idempotency key
//! and a blind resend of a POST can create a second document (DESIGN §6).

use crate::error::BcError;
use shopsync_domain::backoff::Backoff;
use std::time::Duration;

/// BC's backoff: 250 ms doubling up to 20 s (the system's one [`Backoff`]).
const BACKOFF: Backoff = Backoff::new(Duration::from_millis(250), Duration::from_secs(20));
/// Longest `Retry-After` we honour; anything longer is treated as this (the job-level retry takes over).
const MAX_RETRY_AFTER: Duration = Duration::from_secs(120);

/// Whether resending a request is safe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resend {
    /// GET: resend on any transient failure.
    Safe,
    /// POST/PATCH: resend only when the request was certainly not processed.
    NotProcessedOnly,
}

pub(crate) fn should_retry(resend: Resend, err: &BcError) -> bool {
    match (resend, err) {
        (_, BcError::Throttled { .. }) => true,
        (_, BcError::Server { status: 503, .. }) => true,
        (Resend::Safe, BcError::Server { .. }) => true,
        (Resend::Safe, BcError::Transport { .. }) => true,
        (
            Resend::NotProcessedOnly,
            BcError::Transport {
                outcome_unknown, ..
            },
        ) => !outcome_unknown,
        _ => false,
    }
}

/// Exponential backoff with jitter (half fixed, half random), or the server's `Retry-After` plus a little
/// jitter so that parallel callers do not return in lockstep.
pub(crate) fn delay(attempt: u32, retry_after: Option<Duration>) -> Duration {
    BACKOFF.delay_or_retry_after(attempt, retry_after, MAX_RETRY_AFTER)
}

/// `Retry-After` in seconds (the HTTP-date form is not used by BC).
pub(crate) fn parse_retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_bounded() {
        for attempt in 0..10 {
            let d = delay(attempt, None);
            let exp = BACKOFF.ceiling(attempt);
            assert!(d >= exp / 2 && d <= exp, "attempt {attempt}: {d:?}");
        }
        let d = delay(0, Some(Duration::from_secs(3)));
        assert!(d >= Duration::from_secs(3) && d <= Duration::from_millis(3100));
    }

    #[test]
    fn writes_are_not_resent_when_the_outcome_is_unknown() {
        let lost = BcError::Transport {
            message: "reset".into(),
            outcome_unknown: true,
        };
        let never_sent = BcError::Transport {
            message: "refused".into(),
            outcome_unknown: false,
        };
        let gateway = BcError::Server {
            status: 504,
            code: String::new(),
            message: String::new(),
            retry_after: None,
        };
        let busy = BcError::Server {
            status: 503,
            code: String::new(),
            message: String::new(),
            retry_after: None,
        };
        assert!(should_retry(Resend::Safe, &lost) && should_retry(Resend::Safe, &gateway));
        assert!(!should_retry(Resend::NotProcessedOnly, &lost));
        assert!(!should_retry(Resend::NotProcessedOnly, &gateway));
        assert!(should_retry(Resend::NotProcessedOnly, &never_sent));
        assert!(should_retry(Resend::NotProcessedOnly, &busy));
        let rejected = BcError::BadRequest {
            status: 400,
            code: String::new(),
            message: String::new(),
        };
        assert!(!should_retry(Resend::Safe, &rejected));
    }
}
