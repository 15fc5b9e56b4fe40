//! Fault injection, random and scripted. Faults that a real gateway raises before BC sees the request
//! (429, 503, 500, a connection cut before the request is read) are answered before the handler runs; a
//! 504 and a dropped answer are applied after the handler ran, because in production those are the cases
//! where the work happened and only the answer was lost — exactly what a client must not blindly repeat
//! for writes, and what the exactly-once probe exists for.
//!
//! Random faults ([`BcFaults`]) hit any request with a seeded probability. Scripted faults
//! ([`BcFaultRule`]) hit the next requests that match a method and a path fragment, a given number of
//! times — "apply the next POST to salesOrders, then drop the answer" — so a test can put a fault exactly
//! where it wants one. Rules are consulted first, in the order they were added.

use crate::config::BcFaults;

/// A fault the simulator can inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BcFault {
    /// 429 `Application_TooManyRequests`, with `Retry-After: 1` when the flag is set. Not processed.
    Throttle { retry_after: bool },
    /// 503 with `Retry-After: 1`. Not processed.
    Unavailable,
    /// 500 `Internal_ServerError`. Not processed.
    Internal,
    /// 504 from the gateway (HTML body), after the request was processed.
    GatewayTimeout,
    /// The request is processed (a write is applied), then the connection is closed instead of answering.
    DropAfterApply,
    /// The connection is closed before the request is processed.
    DropBeforeApply,
}

impl BcFault {
    /// Whether the fault replaces processing (true) or is applied to the answer afterwards (false).
    pub(crate) fn before_processing(self) -> bool {
        !matches!(self, BcFault::GatewayTimeout | BcFault::DropAfterApply)
    }
}

/// A scripted fault: `fault` for the next `times` requests whose method is `method` (any when `None`)
/// and whose percent-decoded path contains `path_contains` (any when `None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BcFaultRule {
    pub method: Option<String>,
    pub path_contains: Option<String>,
    pub fault: BcFault,
    pub times: u32,
}

impl BcFaultRule {
    /// `fault` once, on any request.
    pub fn new(fault: BcFault) -> BcFaultRule {
        BcFaultRule {
            method: None,
            path_contains: None,
            fault,
            times: 1,
        }
    }

    /// Only requests with this method (`"POST"`) and a path containing `path_contains` (`"salesOrders"`).
    pub fn on(mut self, method: &str, path_contains: &str) -> BcFaultRule {
        self.method = Some(method.to_ascii_uppercase());
        self.path_contains = Some(path_contains.to_string());
        self
    }

    /// This many matching requests (default 1).
    pub fn times(mut self, n: u32) -> BcFaultRule {
        self.times = n;
        self
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        self.times > 0
            && self
                .method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && self
                .path_contains
                .as_deref()
                .is_none_or(|p| path.contains(p))
    }
}

pub(crate) struct FaultInjector {
    faults: BcFaults,
    rng: fastrand::Rng,
    rules: Vec<BcFaultRule>,
}

impl FaultInjector {
    pub(crate) fn new(faults: BcFaults) -> Self {
        FaultInjector {
            faults,
            rng: fastrand::Rng::with_seed(faults.seed),
            rules: Vec::new(),
        }
    }

    /// New random faults; the scripted rules stay.
    pub(crate) fn set_random(&mut self, faults: BcFaults) {
        self.faults = faults;
        self.rng = fastrand::Rng::with_seed(faults.seed);
    }

    pub(crate) fn add_rule(&mut self, rule: BcFaultRule) {
        self.rules.push(rule);
    }

    pub(crate) fn clear_rules(&mut self) {
        self.rules.clear();
    }

    /// Scripted rules not used up yet.
    pub(crate) fn pending_rules(&self) -> usize {
        self.rules.iter().filter(|r| r.times > 0).count()
    }

    /// Draw the fate of one request: the first matching rule (used once), else a random fault.
    pub(crate) fn draw(&mut self, method: &str, path: &str) -> Option<BcFault> {
        if let Some(rule) = self.rules.iter_mut().find(|r| r.matches(method, path)) {
            rule.times -= 1;
            let fault = rule.fault;
            self.rules.retain(|r| r.times > 0);
            return Some(fault);
        }
        if self.faults.rate <= 0.0 || self.rng.f64() >= self.faults.rate {
            return None;
        }
        Some(match self.rng.usize(0..5) {
            0 => BcFault::Throttle {
                retry_after: self.rng.bool(),
            },
            1 => BcFault::Unavailable,
            2 => BcFault::Internal,
            3 => BcFault::GatewayTimeout,
            _ => BcFault::DropAfterApply,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_come_first_and_are_used_up() {
        let mut f = FaultInjector::new(BcFaults::none());
        f.add_rule(BcFaultRule::new(BcFault::DropAfterApply).on("post", "salesOrders"));
        f.add_rule(BcFaultRule::new(BcFault::Unavailable).times(2));
        assert_eq!(
            f.draw("POST", "v2.0/t/e/api/v2.0/companies(x)/salesOrders"),
            Some(BcFault::DropAfterApply)
        );
        assert_eq!(f.draw("GET", "x/salesOrders"), Some(BcFault::Unavailable));
        assert_eq!(f.draw("POST", "x/salesOrders"), Some(BcFault::Unavailable));
        assert_eq!(f.pending_rules(), 0);
        assert_eq!(f.draw("POST", "x/salesOrders"), None);
    }

    #[test]
    fn random_draws_are_reproducible() {
        let draws = |seed| {
            let mut f = FaultInjector::new(BcFaults::new(0.5, seed));
            (0..100).map(|_| f.draw("GET", "p")).collect::<Vec<_>>()
        };
        assert_eq!(draws(3), draws(3));
        assert!(draws(3).iter().any(Option::is_some));
    }
}
