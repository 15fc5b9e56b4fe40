//! Simulated time.
//!
//! Benchmarks run the simulator faster than real time so that a run limited by Shopify's
//! 100 points/s budget finishes in seconds. Everything that depends on time (bucket refill,
//! bulk operation completion, timestamps in payloads) reads this clock, never `Instant` directly.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone)]
pub(crate) struct SimClock {
    start: Instant,
    wall_start_secs: f64,
    scale: f64,
}

impl SimClock {
    pub(crate) fn new(scale: f64) -> Self {
        let scale = if scale.is_finite() && scale > 0.0 {
            scale
        } else {
            1.0
        };
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64();
        Self {
            start: Instant::now(),
            wall_start_secs: wall,
            scale,
        }
    }

    pub(crate) fn scale(&self) -> f64 {
        self.scale
    }

    /// Simulated seconds since the simulator started.
    pub(crate) fn now(&self) -> f64 {
        self.start.elapsed().as_secs_f64() * self.scale
    }

    pub(crate) fn elapsed(&self) -> Duration {
        Duration::from_secs_f64(self.now())
    }

    /// Real time needed for `sim` of simulated time to pass.
    pub(crate) fn real_for(&self, sim: Duration) -> Duration {
        Duration::from_secs_f64(sim.as_secs_f64() / self.scale)
    }

    /// Unix seconds of a simulated instant on the wall clock.
    pub(crate) fn unix(&self, sim_secs: f64) -> i64 {
        (self.wall_start_secs + sim_secs).floor() as i64
    }

    /// ISO-8601 UTC timestamp (`2026-06-25T01:33:55Z`) of a simulated instant.
    pub(crate) fn iso(&self, sim_secs: f64) -> String {
        format_utc((self.wall_start_secs + sim_secs).floor() as i64)
    }
}

/// Formats Unix seconds as `YYYY-MM-DDTHH:MM:SSZ` (civil-from-days, proleptic Gregorian).
pub(crate) fn format_utc(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(format_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_utc(1_782_351_235), "2026-06-25T01:33:55Z");
    }
}
