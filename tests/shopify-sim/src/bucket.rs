//! Shopify's cost-based leaky bucket, one per store.
//!
//! The bucket must hold the *requested* cost before a query runs; the difference to the
//! actual cost is refunded afterwards. It refills at `restore_rate` points per simulated
//! second up to `bucket_size`, so a time-scaled simulator refills proportionally faster.

#[derive(Debug, Clone)]
pub(crate) struct Bucket {
    available: f64,
    last: f64,
}

impl Bucket {
    pub(crate) fn new(size: f64) -> Self {
        Self {
            available: size,
            last: 0.0,
        }
    }

    fn refill(&mut self, now: f64, rate: f64, size: f64) {
        if now > self.last {
            self.available = (self.available + (now - self.last) * rate).min(size);
            self.last = now;
        }
    }

    /// Current level after refilling up to `now` (simulated seconds).
    pub(crate) fn level(&mut self, now: f64, rate: f64, size: f64) -> f64 {
        self.refill(now, rate, size);
        self.available
    }

    /// Takes `cost` points if the bucket holds them; `false` means THROTTLED.
    pub(crate) fn try_take(&mut self, cost: f64, now: f64, rate: f64, size: f64) -> bool {
        self.refill(now, rate, size);
        if self.available + 1e-9 >= cost {
            self.available -= cost;
            true
        } else {
            false
        }
    }

    pub(crate) fn refund(&mut self, points: f64, size: f64) {
        if points > 0.0 {
            self.available = (self.available + points).min(size);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drains_and_refills() {
        let mut b = Bucket::new(100.0);
        assert!(b.try_take(80.0, 0.0, 10.0, 100.0));
        assert!(!b.try_take(30.0, 0.0, 10.0, 100.0));
        assert!(b.try_take(30.0, 1.0, 10.0, 100.0));
        assert!((b.level(100.0, 10.0, 100.0) - 100.0).abs() < 1e-9);
        b.refund(5.0, 100.0);
        assert!((b.level(100.0, 10.0, 100.0) - 100.0).abs() < 1e-9);
    }
}
