//! Seeded fault injection.
//!
//! The sync must survive the failures Shopify really produces (THROTTLED bodies, 429 with
//! `Retry-After`, 5xx from the edge, slow answers, connections cut before or after the
//! mutation was applied). A seeded RNG makes a failing scenario reproducible.

use std::time::Duration;

/// What to inject when a request is picked for a fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultKind {
    /// THROTTLED body (HTTP 200) although the bucket has room; nothing charged.
    Throttled,
    /// HTTP 429 with `Retry-After: 1`.
    Http429,
    /// HTTP 502 Bad Gateway.
    Http502,
    /// HTTP 503 Service Unavailable.
    Http503,
    /// HTTP 504 Gateway Timeout.
    Http504,
    /// The request is processed normally but answered after [`SLOW_DELAY`] (real time).
    Slow,
    /// The connection is closed without an answer; the request is not processed.
    DropBeforeApply,
    /// The request is processed fully (a mutation IS applied), then the connection is
    /// closed without an answer.
    DropAfterApply,
    /// The request is processed normally but answered only after [`STALL_DELAY`] (real time):
    /// long enough for a test to cancel the caller mid-send, bounded so nothing hangs. Not in
    /// [`FaultKind::ALL`]; ask for it explicitly.
    Stall,
}

impl FaultKind {
    /// Every kind, the default for [`FaultConfig::kinds`].
    pub const ALL: [FaultKind; 8] = [
        FaultKind::Throttled,
        FaultKind::Http429,
        FaultKind::Http502,
        FaultKind::Http503,
        FaultKind::Http504,
        FaultKind::Slow,
        FaultKind::DropBeforeApply,
        FaultKind::DropAfterApply,
    ];
}

/// Real-time delay of a [`FaultKind::Slow`] answer.
pub const SLOW_DELAY: Duration = Duration::from_millis(1500);

/// Real-time delay of a [`FaultKind::Stall`] answer.
pub const STALL_DELAY: Duration = Duration::from_secs(30);

/// Fault injection settings. `rate` is the probability per GraphQL request.
#[derive(Debug, Clone)]
pub struct FaultConfig {
    pub rate: f64,
    pub seed: u64,
    pub kinds: Vec<FaultKind>,
}

impl Default for FaultConfig {
    fn default() -> Self {
        Self {
            rate: 0.0,
            seed: 0,
            kinds: FaultKind::ALL.to_vec(),
        }
    }
}

/// A fault aimed at requests of one root field (`fulfillmentCreate`, `orders`, …) or at any
/// request, for the next `times` of them: "apply the next fulfillmentCreate and drop its answer"
/// without a seed search. Scripted faults are served before the random ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptedFault {
    pub kind: FaultKind,
    /// A root field the request's operation selects; `None` = any request.
    pub root_field: Option<String>,
    pub times: u32,
}

pub(crate) struct FaultState {
    cfg: FaultConfig,
    rng: fastrand::Rng,
    scripted: Vec<ScriptedFault>,
}

impl FaultState {
    pub(crate) fn new(cfg: FaultConfig) -> Self {
        let rng = fastrand::Rng::with_seed(cfg.seed);
        Self {
            cfg,
            rng,
            scripted: Vec::new(),
        }
    }

    /// New random-fault settings (re-seeded); scripted faults stay.
    pub(crate) fn reconfigure(&mut self, cfg: FaultConfig) {
        self.rng = fastrand::Rng::with_seed(cfg.seed);
        self.cfg = cfg;
    }

    pub(crate) fn script(&mut self, fault: ScriptedFault) {
        if fault.times > 0 {
            self.scripted.push(fault);
        }
    }

    /// The first scripted fault aimed at one of `root_fields` (or at any request), used up once.
    pub(crate) fn take_scripted(&mut self, root_fields: &[String]) -> Option<FaultKind> {
        let i = self.scripted.iter().position(|f| {
            f.root_field
                .as_ref()
                .is_none_or(|r| root_fields.iter().any(|x| x == r))
        })?;
        let kind = self.scripted[i].kind;
        self.scripted[i].times -= 1;
        if self.scripted[i].times == 0 {
            self.scripted.remove(i);
        }
        Some(kind)
    }

    /// Decides whether the next request gets a fault, and which one.
    pub(crate) fn roll(&mut self) -> Option<FaultKind> {
        if self.cfg.rate <= 0.0 || self.cfg.kinds.is_empty() {
            return None;
        }
        if self.rng.f64() >= self.cfg.rate {
            return None;
        }
        let i = self.rng.usize(..self.cfg.kinds.len());
        Some(self.cfg.kinds[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripted_faults_hit_their_root_field_only() {
        let mut s = FaultState::new(FaultConfig::default());
        s.script(ScriptedFault {
            kind: FaultKind::DropAfterApply,
            root_field: Some("fulfillmentCreate".into()),
            times: 2,
        });
        let orders = vec!["orders".to_string()];
        let create = vec!["fulfillmentCreate".to_string()];
        assert_eq!(s.take_scripted(&orders), None);
        assert_eq!(s.take_scripted(&create), Some(FaultKind::DropAfterApply));
        assert_eq!(s.take_scripted(&create), Some(FaultKind::DropAfterApply));
        assert_eq!(s.take_scripted(&create), None);
        s.script(ScriptedFault {
            kind: FaultKind::Http503,
            root_field: None,
            times: 1,
        });
        assert_eq!(s.take_scripted(&orders), Some(FaultKind::Http503));
        assert_eq!(s.take_scripted(&orders), None);
    }

    #[test]
    fn rate_zero_never_fires_and_seed_is_reproducible() {
        let mut s = FaultState::new(FaultConfig::default());
        assert!((0..1000).all(|_| s.roll().is_none()));
        let cfg = FaultConfig {
            rate: 0.3,
            seed: 7,
            kinds: FaultKind::ALL.to_vec(),
        };
        let a: Vec<_> = {
            let mut s = FaultState::new(cfg.clone());
            (0..200).map(|_| s.roll()).collect()
        };
        let b: Vec<_> = {
            let mut s = FaultState::new(cfg);
            (0..200).map(|_| s.roll()).collect()
        };
        assert_eq!(a, b);
        let hits = a.iter().filter(|x| x.is_some()).count();
        assert!((30..90).contains(&hits), "{hits}");
    }
}
