//! Simulator knobs. Defaults are BC online's documented per-user limits (reference Part 2 §2.2), so a test
//! that does not touch the config exercises the client against the real numbers.

use std::time::Duration;

/// How the simulator behaves. Every limit is enforced per service principal (tenant + client id), as BC
/// online does since the per-user limits replaced the per-environment ones.
#[derive(Debug, Clone)]
pub struct BcSimConfig {
    /// Requests of one client processed at the same time; one more is answered 429.
    pub max_concurrent: usize,
    /// Requests of one client admitted per `rate_window` (sliding); one more is answered 429.
    pub rate_limit: usize,
    pub rate_window: Duration,
    /// Server page size when the client sends no `Prefer: odata.maxpagesize`.
    pub default_page_size: usize,
    /// Cap applied to `odata.maxpagesize` (20,000 online).
    pub max_page_size: usize,
    /// Lifetime of issued access tokens (`expires_in` is reported one second shorter, as Entra does).
    pub token_ttl: Duration,
    /// Seeded fault injection on API requests.
    pub faults: BcFaults,
    /// Artificial latency added to every admitted API request (makes concurrency observable).
    pub latency: Duration,
}

impl Default for BcSimConfig {
    fn default() -> Self {
        BcSimConfig {
            max_concurrent: 5,
            rate_limit: 6000,
            rate_window: Duration::from_secs(300),
            default_page_size: 1000,
            max_page_size: 20_000,
            token_ttl: Duration::from_secs(3600),
            faults: BcFaults::default(),
            latency: Duration::ZERO,
        }
    }
}

/// Fault injection: each API request fails with probability `rate`, the failure drawn from a
/// `fastrand::Rng` seeded with `seed` (429 with or without `Retry-After`, 503 with `Retry-After: 1`,
/// 500 `Internal_ServerError`, 504 from the gateway, or a dropped connection).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct BcFaults {
    pub rate: f64,
    pub seed: u64,
}

impl BcFaults {
    /// No faults.
    pub fn none() -> Self {
        BcFaults::default()
    }

    pub fn new(rate: f64, seed: u64) -> Self {
        BcFaults { rate, seed }
    }
}
