//! Client-side model of Shopify's per-store leaky bucket, so that steady-state work never hits
//! THROTTLED (DESIGN §6, reference §1.2).
//!
//! Shopify charges the *requested* cost of a query before running it and refunds the difference to
//! the actual cost afterwards; every response tells us the bucket (`throttleStatus`). The model:
//!
//! * **reserve** before sending: refill the modelled balance at `restoreRate` since the last update
//!   (capped at `maximumAvailable`), subtract the cost, and if the balance was short sleep exactly
//!   `(cost − available) / restoreRate`. The balance may go negative: the next caller then waits for
//!   the debt too, which queues concurrent callers in the order they reserved (fair, no lock held
//!   while sleeping).
//! * **observe** each response: resync the balance from `currentlyAvailable` (which already includes
//!   Shopify's refund), minus what other callers have reserved but not yet had answered.
//! * Before the first response the bucket is unknown: one request goes out as a probe and the others
//!   wait for its answer instead of guessing a bucket size.
//! * A reservation is a guard ([`Reservation`]): settled by the answer's `throttleStatus`, or — when
//!   it is dropped unsettled (an answer without a status, an error, or a caller's future cancelled
//!   while waiting or mid-send) — given back on drop. Nothing has to remember to release it, so a
//!   cancelled request can neither leave its points reserved forever nor leave the probe "in flight"
//!   with every other caller waiting for an answer that will never come.
//!
//! [`BucketModel`] is the pure arithmetic (time passed in as seconds, unit-tested below);
//! [`Pacer`] wraps it with a clock, sleeping and a wake-up for callers waiting on the probe.
//! [`PacerRegistry`] hands out one pacer per store domain so all clients in a process share it.

use crate::response::ThrottleStatus;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// What a reservation asks of its caller.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Admission {
    /// Send after waiting this many seconds (0 = at once). `probe` marks the first request of an
    /// unknown bucket.
    Go { wait_secs: f64, probe: bool },
    /// The bucket is unknown and a probe is in flight: wait for its answer and try again.
    AwaitProbe,
}

/// The pure leaky-bucket arithmetic. Times are seconds on any monotonic clock.
#[derive(Debug, Clone, PartialEq)]
pub struct BucketModel {
    known: bool,
    probe_in_flight: bool,
    capacity: f64,
    available: f64,
    restore_rate: f64,
    updated_at: f64,
    /// Sum of reservations whose response has not been observed yet.
    in_flight: f64,
    /// No request may start before this time (set by HTTP 429 `Retry-After`).
    hold_until: f64,
    /// Tickets number reservations in the order they were granted.
    next_ticket: u64,
    /// The newest reservation whose answer has been observed.
    newest_observed: Option<u64>,
}

impl Default for BucketModel {
    fn default() -> Self {
        Self::new()
    }
}

impl BucketModel {
    /// A bucket we have not heard about yet.
    pub fn new() -> Self {
        BucketModel {
            known: false,
            probe_in_flight: false,
            capacity: 0.0,
            available: 0.0,
            restore_rate: 0.0,
            updated_at: 0.0,
            in_flight: 0.0,
            hold_until: 0.0,
            next_ticket: 0,
            newest_observed: None,
        }
    }

    /// The number of the reservation just granted (call under the same lock as `reserve`).
    pub fn take_ticket(&mut self) -> u64 {
        self.next_ticket += 1;
        self.next_ticket
    }

    /// [`BucketModel::observe`] for the reservation numbered `ticket`. Concurrent callers' answers can
    /// arrive out of order; an answer to an older reservation than one already observed carries an
    /// older `currentlyAvailable` (it predates the newer request's charge), so it may lower the model
    /// but never raise it — otherwise the newer charge would be forgotten and the next send throttled.
    pub fn observe_ticket(&mut self, status: ThrottleStatus, reserved: f64, now: f64, ticket: u64) {
        let stale = self.known && self.newest_observed.is_some_and(|newest| ticket < newest);
        let before = self.available_at(now);
        self.observe(status, reserved, now);
        if stale {
            self.available = self.available.min(before);
        } else {
            self.newest_observed = Some(ticket);
        }
    }

    pub fn is_known(&self) -> bool {
        self.known
    }

    /// The modelled balance at `now` (negative while callers are queued).
    pub fn available_at(&self, now: f64) -> f64 {
        if !self.known {
            return 0.0;
        }
        let dt = (now - self.updated_at).max(0.0);
        (self.available + dt * self.restore_rate).min(self.capacity)
    }

    pub fn capacity(&self) -> Option<f64> {
        self.known.then_some(self.capacity)
    }

    pub fn restore_rate(&self) -> Option<f64> {
        self.known.then_some(self.restore_rate)
    }

    /// The points a reservation of `cost` takes now: all of it while the bucket is unknown (the
    /// probe), else at most a full bucket.
    pub fn charge_for(&self, cost: f64) -> f64 {
        if self.known {
            cost.min(self.capacity).max(0.0)
        } else {
            cost
        }
    }

    /// Points reserved by requests whose answer has not been observed (nor the reservation given
    /// back) yet.
    pub fn in_flight(&self) -> f64 {
        self.in_flight
    }

    /// The bucket is unknown and its probe request has not been answered (nor given back) yet.
    pub fn probe_in_flight(&self) -> bool {
        self.probe_in_flight
    }

    /// Reserves `cost` points at `now` (the points taken are [`BucketModel::charge_for`]`(cost)`).
    pub fn reserve(&mut self, cost: f64, now: f64) -> Admission {
        if !self.known {
            if self.probe_in_flight {
                return Admission::AwaitProbe;
            }
            self.probe_in_flight = true;
            self.in_flight += cost;
            let wait_secs = (self.hold_until - now).max(0.0);
            return Admission::Go {
                wait_secs,
                probe: true,
            };
        }
        // A cost above the bucket could never be satisfied; wait for a full bucket instead.
        let cost = self.charge_for(cost);
        let available = self.available_at(now);
        let mut wait_secs = if available >= cost || self.restore_rate <= 0.0 {
            0.0
        } else {
            (cost - available) / self.restore_rate
        };
        wait_secs = wait_secs.max(self.hold_until - now);
        self.available = available - cost;
        self.updated_at = now;
        self.in_flight += cost;
        Admission::Go {
            wait_secs,
            probe: false,
        }
    }

    /// Resyncs from a response's `throttleStatus`, received at `now`, for a request that had
    /// reserved `reserved` points.
    pub fn observe(&mut self, status: ThrottleStatus, reserved: f64, now: f64) {
        self.in_flight = (self.in_flight - reserved).max(0.0);
        self.probe_in_flight = false;
        self.known = true;
        self.capacity = status.maximum_available.max(1.0);
        self.restore_rate = status.restore_rate.max(0.0);
        // Reservations of others not yet answered are not in Shopify's figure yet (conservative for
        // those already received: they count twice until their own answer arrives).
        self.available = (status.currently_available - self.in_flight).min(self.capacity);
        self.updated_at = now;
    }

    /// A request was sent but ended without a `throttleStatus` (transport error, non-JSON answer,
    /// or its caller gave up mid-send). The points stay spent (Shopify may have charged them); only
    /// the in-flight bookkeeping is undone.
    pub fn release(&mut self, reserved: f64) {
        self.in_flight = (self.in_flight - reserved).max(0.0);
        self.probe_in_flight = false;
    }

    /// A reservation given up before its request was sent: nothing was charged, so its points come
    /// back to the balance (and the probe, if it was the probe, is free for the next caller).
    pub fn cancel(&mut self, reserved: f64) {
        self.release(reserved);
        if self.known {
            self.available = (self.available + reserved).min(self.capacity);
        }
    }

    /// Nobody sends before `until` (HTTP 429 with `Retry-After`).
    pub fn hold_until(&mut self, until: f64) {
        self.hold_until = self.hold_until.max(until);
    }
}

/// Points reserved by [`Pacer::reserve`], held as a guard.
///
/// Settle it with [`Reservation::observe`] when the answer carries a `throttleStatus`. Dropped
/// unsettled, it gives its points back: all of them ([`BucketModel::cancel`]) if the request was
/// never sent, only the in-flight bookkeeping ([`BucketModel::release`]) once
/// [`Reservation::mark_sent`] was called, since Shopify may have charged it. This covers a caller
/// whose future is cancelled while it waits for the bucket or mid-send.
#[derive(Debug)]
#[must_use = "dropping a reservation gives its points back at once"]
pub struct Reservation<'a> {
    pacer: &'a Pacer,
    cost: f64,
    waited_secs: f64,
    ticket: u64,
    sent: bool,
    settled: bool,
}

impl Reservation<'_> {
    /// Points this reservation holds.
    pub fn cost(&self) -> f64 {
        self.cost
    }

    /// Seconds this caller slept for the bucket.
    pub fn waited_secs(&self) -> f64 {
        self.waited_secs
    }

    /// Order in which the reservation was granted (see [`BucketModel::observe_ticket`]).
    pub fn ticket(&self) -> u64 {
        self.ticket
    }

    /// The request is about to leave: from now on Shopify may charge it even if no answer comes.
    pub fn mark_sent(&mut self) {
        self.sent = true;
    }

    /// Settles the reservation with the answer's throttle status.
    pub fn observe(mut self, status: ThrottleStatus) {
        self.settled = true;
        let now = self.pacer.now();
        self.pacer
            .model()
            .observe_ticket(status, self.cost, now, self.ticket);
        self.pacer.probe_done.notify_waiters();
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        {
            let mut model = self.pacer.model();
            if self.sent {
                model.release(self.cost);
            } else {
                model.cancel(self.cost);
            }
        }
        // A caller waiting for the probe's answer may now probe itself.
        self.pacer.probe_done.notify_waiters();
    }
}

/// The shared pacer of one store.
#[derive(Debug)]
pub struct Pacer {
    model: Mutex<BucketModel>,
    probe_done: Notify,
    epoch: Instant,
    /// Last observed `requestedQueryCost` per document name.
    learned_costs: Mutex<HashMap<String, f64>>,
}

impl Default for Pacer {
    fn default() -> Self {
        Self::new()
    }
}

impl Pacer {
    pub fn new() -> Self {
        Pacer {
            model: Mutex::new(BucketModel::new()),
            probe_done: Notify::new(),
            epoch: Instant::now(),
            learned_costs: Mutex::new(HashMap::new()),
        }
    }

    fn now(&self) -> f64 {
        self.epoch.elapsed().as_secs_f64()
    }

    fn model(&self) -> std::sync::MutexGuard<'_, BucketModel> {
        self.model.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The cost to reserve for a document: the larger of its annotation and the last observed
    /// requested cost.
    pub fn cost_for(&self, document: &str, annotated: f64) -> f64 {
        let learned = self
            .learned_costs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(document)
            .copied();
        learned.map_or(annotated, |l| l.max(annotated))
    }

    /// Records the requested cost Shopify reported for a document.
    pub fn learn_cost(&self, document: &str, requested: f64) {
        if requested.is_finite() && requested >= 0.0 {
            self.learned_costs
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(document.to_string(), requested);
        }
    }

    /// Waits until `cost` points are (modelled to be) available and takes them. The points are
    /// held from the moment they are granted, so a caller cancelled while it sleeps for the bucket
    /// gives them back (the guard is dropped).
    pub async fn reserve(&self, cost: f64) -> Reservation<'_> {
        let mut waited = 0.0;
        loop {
            let notified = self.probe_done.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let (admission, charged, ticket) = {
                let mut model = self.model();
                let charged = model.charge_for(cost);
                let admission = model.reserve(cost, self.now());
                (admission, charged, model.take_ticket())
            };
            match admission {
                Admission::Go { wait_secs, .. } => {
                    let reservation = Reservation {
                        pacer: self,
                        cost: charged,
                        waited_secs: waited + wait_secs,
                        ticket,
                        sent: false,
                        settled: false,
                    };
                    if wait_secs > 0.0 {
                        tokio::time::sleep(Duration::from_secs_f64(wait_secs)).await;
                    }
                    return reservation;
                }
                Admission::AwaitProbe => {
                    let start = self.now();
                    // The timeout only guards against a lost wake-up; the probe's answer normally ends the wait.
                    let _ = tokio::time::timeout(Duration::from_secs(5), notified).await;
                    waited += self.now() - start;
                }
            }
        }
    }

    /// Points held by reservations not yet settled nor dropped (0 when no request is in flight).
    pub fn reserved_points(&self) -> f64 {
        self.model().in_flight()
    }

    /// The bucket is still unknown and a probe request holds the right to go first.
    pub fn probe_in_flight(&self) -> bool {
        self.model().probe_in_flight()
    }

    /// Keeps every caller of this store waiting for `d` (HTTP 429 `Retry-After`).
    pub fn hold_for(&self, d: Duration) {
        let until = self.now() + d.as_secs_f64();
        self.model().hold_until(until);
    }

    /// Modelled balance now, `None` before the first response.
    pub fn available_now(&self) -> Option<f64> {
        let m = self.model();
        m.is_known().then(|| m.available_at(self.now()))
    }

    /// `(maximumAvailable, restoreRate)` as last reported.
    pub fn bucket(&self) -> Option<(f64, f64)> {
        let m = self.model();
        Some((m.capacity()?, m.restore_rate()?))
    }
}

/// One [`Pacer`] per store domain, shared by every client in the process.
#[derive(Debug, Default)]
pub struct PacerRegistry {
    pacers: Mutex<HashMap<String, Arc<Pacer>>>,
}

impl PacerRegistry {
    pub fn new() -> Self {
        Self::default()
    }

    /// The process-wide registry.
    pub fn global() -> &'static PacerRegistry {
        static GLOBAL: OnceLock<PacerRegistry> = OnceLock::new();
        GLOBAL.get_or_init(PacerRegistry::new)
    }

    /// The pacer of a store (domain compared case-insensitively), created on first use.
    pub fn pacer_for(&self, store_domain: &str) -> Arc<Pacer> {
        let key = store_domain.trim().to_ascii_lowercase();
        self.pacers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key)
            .or_insert_with(|| Arc::new(Pacer::new()))
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(max: f64, avail: f64, rate: f64) -> ThrottleStatus {
        ThrottleStatus {
            maximum_available: max,
            currently_available: avail,
            restore_rate: rate,
        }
    }

    fn go(a: Admission) -> f64 {
        match a {
            Admission::Go { wait_secs, .. } => wait_secs,
            Admission::AwaitProbe => panic!("expected Go, got AwaitProbe"),
        }
    }

    #[test]
    fn first_request_probes_others_wait() {
        let mut m = BucketModel::new();
        assert_eq!(
            m.reserve(10.0, 0.0),
            Admission::Go {
                wait_secs: 0.0,
                probe: true
            }
        );
        assert_eq!(m.reserve(10.0, 0.0), Admission::AwaitProbe);
        m.observe(status(100.0, 90.0, 50.0), 10.0, 0.1);
        assert!(m.is_known());
        assert_eq!(go(m.reserve(10.0, 0.1)), 0.0);
    }

    #[test]
    fn failed_probe_lets_the_next_caller_probe() {
        let mut m = BucketModel::new();
        go(m.reserve(10.0, 0.0));
        m.release(10.0);
        assert_eq!(
            m.reserve(10.0, 0.0),
            Admission::Go {
                wait_secs: 0.0,
                probe: true
            }
        );
    }

    #[test]
    fn waits_exactly_the_shortfall_over_the_restore_rate() {
        let mut m = BucketModel::new();
        go(m.reserve(10.0, 0.0));
        m.observe(status(100.0, 4.0, 50.0), 10.0, 1.0);
        // 4 available, 10 needed → 6 / 50 = 0.12 s.
        let w = go(m.reserve(10.0, 1.0));
        assert!((w - 0.12).abs() < 1e-9, "{w}");
        // The balance is now −6 at t=1.0; a second caller needs 16 more points → 0.32 s.
        let w2 = go(m.reserve(10.0, 1.0));
        assert!((w2 - 0.32).abs() < 1e-9, "{w2}");
        // Later, restore catches up and nothing is owed.
        assert!((m.available_at(1.32) - 0.0).abs() < 1e-9);
    }

    #[test]
    fn refill_is_capped_at_the_bucket_size() {
        let mut m = BucketModel::new();
        go(m.reserve(1.0, 0.0));
        m.observe(status(100.0, 0.0, 50.0), 1.0, 0.0);
        assert_eq!(m.available_at(10.0), 100.0);
        // A cost larger than the bucket waits only for a full bucket, not forever.
        let w = go(m.reserve(500.0, 0.0));
        assert!((w - 2.0).abs() < 1e-9, "{w}");
    }

    #[test]
    fn resync_takes_refunds_and_keeps_other_reservations() {
        let mut m = BucketModel::new();
        go(m.reserve(1.0, 0.0));
        m.observe(status(2000.0, 2000.0, 100.0), 1.0, 0.0);
        // Two requests reserve 752 each; the first is answered having actually cost 40.
        go(m.reserve(752.0, 0.0));
        go(m.reserve(752.0, 0.0));
        assert!((m.available_at(0.0) - 496.0).abs() < 1e-9);
        m.observe(status(2000.0, 1960.0, 100.0), 752.0, 0.0);
        // The refund is visible, the second reservation is still held back.
        assert!((m.available_at(0.0) - (1960.0 - 752.0)).abs() < 1e-9);
        m.observe(status(2000.0, 1920.0, 100.0), 752.0, 0.0);
        assert!((m.available_at(0.0) - 1920.0).abs() < 1e-9);
    }

    #[test]
    fn a_late_answer_to_an_older_reservation_does_not_raise_the_model() {
        let mut m = BucketModel::new();
        go(m.reserve(1.0, 0.0));
        let t0 = m.take_ticket();
        m.observe_ticket(status(100.0, 100.0, 10.0), 1.0, 0.0, t0);
        // Two concurrent calls of 30 points; Shopify answers the second first.
        go(m.reserve(30.0, 0.0));
        let first = m.take_ticket();
        go(m.reserve(30.0, 0.0));
        let second = m.take_ticket();
        m.observe_ticket(status(100.0, 40.0, 10.0), 30.0, 0.1, second);
        let after_newest = m.available_at(0.1);
        // The first call's answer reports the bucket before the second call was charged (70).
        m.observe_ticket(status(100.0, 70.0, 10.0), 30.0, 0.1, first);
        assert!(
            m.available_at(0.1) <= after_newest + 1e-9,
            "a stale answer raised the model from {after_newest} to {}",
            m.available_at(0.1)
        );
        // In order, the newer answer is taken as it is.
        let mut n = BucketModel::new();
        go(n.reserve(1.0, 0.0));
        let t = n.take_ticket();
        n.observe_ticket(status(100.0, 100.0, 10.0), 1.0, 0.0, t);
        go(n.reserve(30.0, 0.0));
        let a = n.take_ticket();
        n.observe_ticket(status(100.0, 70.0, 10.0), 30.0, 0.0, a);
        assert!((n.available_at(0.0) - 70.0).abs() < 1e-9);
    }

    #[test]
    fn hold_delays_everyone() {
        let mut m = BucketModel::new();
        go(m.reserve(1.0, 0.0));
        m.observe(status(100.0, 100.0, 10.0), 1.0, 0.0);
        m.hold_until(3.0);
        assert!((go(m.reserve(1.0, 1.0)) - 2.0).abs() < 1e-9);
    }

    #[test]
    fn steady_state_throughput_matches_restore_rate() {
        // Simulate a server bucket and a sequential client with 5 ms latency; count throttles.
        let (cap, rate, cost, latency) = (100.0_f64, 50.0_f64, 10.0_f64, 0.005_f64);
        let mut server_avail = cap;
        let mut server_t = 0.0_f64;
        let mut m = BucketModel::new();
        let mut t = 0.0_f64;
        let mut throttled = 0;
        let mut points = 0.0;
        while t < 20.0 {
            let w = go(m.reserve(cost, t));
            t += w;
            // server side
            server_avail = (server_avail + (t - server_t) * rate).min(cap);
            server_t = t;
            if server_avail + 1e-9 < cost {
                throttled += 1;
            } else {
                server_avail -= cost;
                points += cost;
            }
            t += latency;
            let st = status(cap, (server_avail + latency * rate).min(cap), rate);
            m.observe(st, cost, t);
        }
        assert_eq!(throttled, 0);
        let theoretical = cap + rate * t;
        assert!(points / theoretical >= 0.9, "{points} of {theoretical}");
    }

    #[tokio::test]
    async fn registry_shares_pacers_per_store() {
        let r = PacerRegistry::new();
        let a = r.pacer_for("A.myshopify.com");
        let b = r.pacer_for("a.myshopify.com");
        let c = r.pacer_for("c.myshopify.com");
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &c));
        let res = a.reserve(5.0).await;
        assert_eq!(res.waited_secs(), 0.0);
        res.observe(status(100.0, 95.0, 50.0));
        assert_eq!(b.bucket(), Some((100.0, 50.0)));
        a.learn_cost("Doc", 12.0);
        assert_eq!(b.cost_for("Doc", 10.0), 12.0);
        assert_eq!(b.cost_for("Doc", 20.0), 20.0);
        assert_eq!(b.cost_for("Other", 3.0), 3.0);
    }

    #[tokio::test]
    async fn callers_wait_for_the_probe_answer() {
        let p = Arc::new(Pacer::new());
        let probe = p.reserve(10.0).await;
        let p2 = p.clone();
        let waiter = tokio::spawn(async move { p2.reserve(10.0).await.waited_secs() });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            !waiter.is_finished(),
            "second caller must wait for the probe"
        );
        probe.observe(status(100.0, 90.0, 50.0));
        let waited = tokio::time::timeout(Duration::from_secs(2), waiter)
            .await
            .unwrap()
            .unwrap();
        assert!(waited > 0.0);
    }

    #[test]
    fn a_cancelled_reservation_gives_its_points_back() {
        let mut m = BucketModel::new();
        go(m.reserve(1.0, 0.0));
        m.observe(status(100.0, 100.0, 10.0), 1.0, 0.0);
        // A 100-point reservation empties the bucket; the next caller would wait 10 s for it.
        assert_eq!(go(m.reserve(100.0, 0.0)), 0.0);
        assert_eq!(m.in_flight(), 100.0);
        // Given up before it was sent: nothing is owed and nothing is in flight.
        m.cancel(100.0);
        assert_eq!(m.in_flight(), 0.0);
        assert!((m.available_at(0.0) - 100.0).abs() < 1e-9);
        assert_eq!(go(m.reserve(100.0, 0.0)), 0.0);
    }

    /// Item 7 of issue 8: a reservation is a guard. Dropped without being settled, the reserved
    /// cost is returned to the model, so the next reservation does not wait for it.
    #[tokio::test]
    async fn a_dropped_reservation_is_returned_to_the_model() {
        let p = Pacer::new();
        p.reserve(1.0).await.observe(status(100.0, 100.0, 10.0));
        let before = p.available_now().unwrap();
        let r = p.reserve(100.0).await;
        assert_eq!(p.reserved_points(), 100.0);
        assert!(p.available_now().unwrap() < 1.0);
        drop(r);
        assert_eq!(
            p.reserved_points(),
            0.0,
            "the dropped reservation is still held"
        );
        assert!(p.available_now().unwrap() >= before - 1e-9);
        let next = p.reserve(100.0).await;
        assert_eq!(
            next.waited_secs(),
            0.0,
            "the next caller waited for a dropped reservation"
        );
    }

    /// A request dropped after it was sent (the caller's future cancelled mid-send) is no longer in
    /// flight; its points stay spent (Shopify may have charged them) until the next answer resyncs.
    #[tokio::test]
    async fn a_reservation_dropped_mid_send_leaves_nothing_in_flight() {
        let p = Pacer::new();
        p.reserve(1.0).await.observe(status(100.0, 100.0, 10.0));
        let mut r = p.reserve(40.0).await;
        r.mark_sent();
        drop(r);
        assert_eq!(p.reserved_points(), 0.0);
        assert!(
            p.available_now().unwrap() < 61.0,
            "points of a sent request stay spent"
        );
        // The next answer is taken as it is: nothing of the dropped request is subtracted from it.
        p.reserve(10.0).await.observe(status(100.0, 90.0, 10.0));
        assert!((p.available_now().unwrap() - 90.0).abs() < 0.5);
    }

    /// The probe's caller cancelled mid-send: the next caller probes instead of waiting for an
    /// answer that will never come.
    #[tokio::test]
    async fn a_dropped_probe_lets_the_next_caller_go() {
        let p = Arc::new(Pacer::new());
        let mut probe = p.reserve(10.0).await;
        probe.mark_sent();
        assert!(p.probe_in_flight());
        let p2 = p.clone();
        // The waiter reports whether it was admitted as the new probe (its own guard is dropped when
        // the task ends).
        let waiter = tokio::spawn(async move {
            let r = p2.reserve(10.0).await;
            (r.ticket(), p2.probe_in_flight())
        });
        tokio::task::yield_now().await;
        drop(probe);
        assert!(!p.probe_in_flight());
        assert_eq!(p.reserved_points(), 0.0);
        // Bounded: without the guard the waiter would loop on AwaitProbe forever.
        let (ticket, probing) = tokio::time::timeout(Duration::from_secs(10), waiter)
            .await
            .expect("the next caller was admitted")
            .unwrap();
        assert!(ticket > 1);
        assert!(probing, "the next caller is the new probe");
        assert!(!p.probe_in_flight() && p.reserved_points() == 0.0);
    }

    /// A caller cancelled while it sleeps for the bucket gives its points back. The future is polled
    /// once (it reserves and starts sleeping) and then dropped: no clock is involved.
    #[tokio::test]
    async fn a_caller_cancelled_while_waiting_for_the_bucket_gives_its_points_back() {
        let p = Pacer::new();
        p.reserve(1.0).await.observe(status(100.0, 10.0, 10.0));
        // 50 points with 10 available at 10/s: a 4 s wait.
        let mut waiting = Box::pin(p.reserve(50.0));
        tokio::select! {
            biased;
            _ = &mut waiting => panic!("the reservation had to wait"),
            _ = std::future::ready(()) => {}
        }
        assert_eq!(
            p.reserved_points(),
            50.0,
            "the sleeping caller holds its points"
        );
        drop(waiting);
        assert_eq!(p.reserved_points(), 0.0);
        let available = p.available_now().unwrap();
        assert!(
            available >= 10.0 - 1e-6,
            "the cancelled caller's points are still owed: {available}"
        );
    }
}
