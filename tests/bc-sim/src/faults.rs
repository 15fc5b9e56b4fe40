//! Seeded fault injection. Faults that a real gateway raises before BC sees the request (429, 503, 500)
//! are answered before the handler runs; a 504 and a dropped connection are decided up front but applied
//! after the handler ran, because in production those are the cases where the work may have happened and
//! only the answer was lost — exactly what a client must not blindly repeat for writes.

use crate::config::BcFaults;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    /// 429 `Application_TooManyRequests`, with `Retry-After` when the flag is set.
    Throttle { retry_after: bool },
    /// 503 with `Retry-After: 1`.
    Unavailable,
    /// 500 `Internal_ServerError`.
    Internal,
    /// 504 from the gateway (HTML body), after the request was processed.
    GatewayTimeout,
    /// The connection is closed instead of answering, after the request was processed.
    DropConnection,
}

impl Fault {
    /// Whether the fault replaces processing (true) or is applied to the answer afterwards (false).
    pub(crate) fn before_processing(self) -> bool {
        !matches!(self, Fault::GatewayTimeout | Fault::DropConnection)
    }
}

pub(crate) struct FaultInjector {
    faults: BcFaults,
    rng: fastrand::Rng,
}

impl FaultInjector {
    pub(crate) fn new(faults: BcFaults) -> Self {
        FaultInjector {
            faults,
            rng: fastrand::Rng::with_seed(faults.seed),
        }
    }

    /// Draw the fate of one request.
    pub(crate) fn draw(&mut self) -> Option<Fault> {
        if self.faults.rate <= 0.0 || self.rng.f64() >= self.faults.rate {
            return None;
        }
        Some(match self.rng.usize(0..5) {
            0 => Fault::Throttle {
                retry_after: self.rng.bool(),
            },
            1 => Fault::Unavailable,
            2 => Fault::Internal,
            3 => Fault::GatewayTimeout,
            _ => Fault::DropConnection,
        })
    }
}
