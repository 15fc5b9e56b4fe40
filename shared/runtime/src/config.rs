//! Runtime tuning, read once from the environment with safe defaults.

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// How long a `(shop, category)` lease lives without a heartbeat. A crashed run's lease expires after
    /// this, and a redelivered message takes the job over.
    pub lease_ttl_secs: i64,
    /// Deferrals (lease held by another run) before a job ends `skipped`.
    pub max_deferrals: u32,
    /// Delay of a deferred job's next message (SQS allows at most 900 s).
    pub deferral_delay_secs: u32,
    /// Stop this long before the invocation deadline and continue in a fresh message.
    pub deadline_margin: Duration,
    /// Upper bound of one invocation's work regardless of the Lambda deadline (None = deadline only).
    pub max_run: Option<Duration>,
    /// The queue's `maxReceiveCount`: on the last receive a retryable failure becomes final.
    pub max_receive_count: u32,
    /// A retryable failure's message comes back after `base * 2^(receive - 1)` seconds (jittered),
    /// at most `cap` — not after the queue's visibility timeout, which is sized for a whole run.
    pub retry_backoff_base_secs: u32,
    pub retry_backoff_cap_secs: u32,
    /// Where each invocation's metric line goes (CloudWatch EMF on stdout in the functions).
    pub metrics: crate::metrics::MetricsSink,
    /// Jobs of one SQS batch run at the same time, at most. A run's memory grows with its shop (a
    /// 50,000-variant shop's full run takes tens of MB), so the function's memory is sized for this
    /// many runs, whatever the batch holds; the rest of the batch waits its turn.
    pub max_concurrent_runs: usize,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            lease_ttl_secs: 300,
            max_deferrals: 10,
            deferral_delay_secs: 60,
            deadline_margin: Duration::from_secs(60),
            max_run: None,
            max_receive_count: 5,
            retry_backoff_base_secs: 10,
            retry_backoff_cap_secs: 900,
            metrics: crate::metrics::MetricsSink::Stdout,
            max_concurrent_runs: 2,
        }
    }
}

impl RuntimeConfig {
    /// Defaults overridden by `LEASE_TTL_SECS`, `MAX_DEFERRALS`, `DEFERRAL_DELAY_SECS`,
    /// `DEADLINE_MARGIN_SECS`, `MAX_RUN_SECS`, `MAX_RECEIVE_COUNT`, `RETRY_BACKOFF_BASE_SECS`,
    /// `RETRY_BACKOFF_CAP_SECS`, `MAX_CONCURRENT_RUNS`.
    pub fn from_env() -> Result<Self, String> {
        let mut c = RuntimeConfig::default();
        fn num<T: std::str::FromStr>(name: &str) -> Result<Option<T>, String> {
            match std::env::var(name) {
                Ok(v) => v
                    .parse()
                    .map(Some)
                    .map_err(|_| format!("{name}='{v}' is not a valid number")),
                Err(_) => Ok(None),
            }
        }
        if let Some(v) = num("LEASE_TTL_SECS")? {
            c.lease_ttl_secs = v;
        }
        if let Some(v) = num("MAX_DEFERRALS")? {
            c.max_deferrals = v;
        }
        if let Some(v) = num::<u32>("RETRY_BACKOFF_BASE_SECS")? {
            c.retry_backoff_base_secs = v.max(1);
        }
        if let Some(v) = num::<u32>("RETRY_BACKOFF_CAP_SECS")? {
            c.retry_backoff_cap_secs = v.max(1);
        }
        if let Some(v) = num::<u32>("DEFERRAL_DELAY_SECS")? {
            c.deferral_delay_secs = v.min(900);
        }
        if let Some(v) = num("DEADLINE_MARGIN_SECS")? {
            c.deadline_margin = Duration::from_secs(v);
        }
        if let Some(v) = num("MAX_RUN_SECS")? {
            c.max_run = Some(Duration::from_secs(v));
        }
        if let Some(v) = num("MAX_RECEIVE_COUNT")? {
            c.max_receive_count = v;
        }
        if let Some(v) = num::<usize>("MAX_CONCURRENT_RUNS")? {
            c.max_concurrent_runs = v.max(1);
        }
        Ok(c)
    }
}

impl RuntimeConfig {
    /// Seconds until the message of a retryable failure on its `receive_count`th receive comes back:
    /// exponential in the receive count, capped, with "equal jitter" (between half and all of it) so
    /// retries of many shops do not arrive together.
    pub fn retry_backoff_secs(&self, receive_count: u32) -> u32 {
        let backoff = shopsync_domain::backoff::Backoff::new(
            Duration::from_secs(self.retry_backoff_base_secs.max(1).into()),
            Duration::from_secs(self.retry_backoff_cap_secs.max(1).into()),
        );
        backoff
            .delay(receive_count.saturating_sub(1))
            .as_secs_f64()
            .round() as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_backoff_grows_from_seconds_and_is_capped() {
        let c = RuntimeConfig::default();
        for _ in 0..50 {
            assert!((5..=10).contains(&c.retry_backoff_secs(1)));
            assert!((10..=20).contains(&c.retry_backoff_secs(2)));
            assert!((40..=80).contains(&c.retry_backoff_secs(4)));
            assert!((450..=900).contains(&c.retry_backoff_secs(30)));
        }
    }
}
