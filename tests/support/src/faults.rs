//! Fault injection shared by every double.
//!
//! Exactly-once and no-job-left-behind arguments are about what happens when a call fails at the
//! worst moment, so a test must be able to say "the next conditional write fails" or "this write
//! lands but its answer is lost" and get exactly that, deterministically. Every operation of every
//! double is named (`"dynamo.jobs.update_job_if"`, `"sqs.send"`, `"sales_documents.create"`; the
//! [`op`] module lists the fixed ones) and asks its [`Faults`] handle before it runs.
//!
//! A rule picks operations by a pattern — an exact name, a prefix ending in `.*` (`"dynamo.*"`: "DynamoDB
//! is unavailable"), or `*` — and fires either on the next `n` matching calls or on each matching
//! call with probability `p`, drawn from a seeded [`fastrand::Rng`] so a failing run replays. It fails
//! in one of two ways:
//!
//! - [`FaultMode::FailBefore`]: the call returns the error and changes nothing (the request never
//!   reached the service);
//! - [`FaultMode::ApplyThenFail`]: the call does its work — a conditional write is decided and, if its
//!   condition holds, applied — and then returns the error instead of the answer (the service did it,
//!   the response was lost on the way back). This is the case that produces duplicates when a
//!   retry does not look before it resends.
//!
//! Rules are consulted in the order they were added; the first that fires wins. Calls and injected
//! faults are counted per operation, so a test can also assert "no second `create` was attempted".

use shopsync_domain::SyncError;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// Names of the operations of the doubles in this crate. A [`crate::Documents`] double names its own
/// operations after its kind (`"<kind>.create"`, `"<kind>.find"`, ...); a named [`crate::MemoryQueue`]
/// uses `"sqs.<name>.<method>"`.
pub mod op {
    pub const GET_SHOP: &str = "dynamo.settings.get_shop";
    pub const PUT_SHOP: &str = "dynamo.settings.put_shop";
    pub const LIST_SHOPS: &str = "dynamo.settings.list_shops";

    pub const GET_SCHEDULE: &str = "dynamo.schedules.get_schedule";
    pub const PUT_SCHEDULE: &str = "dynamo.schedules.put_schedule";

    pub const GET_CURSOR: &str = "dynamo.cursors.get_cursor";
    pub const ADVANCE_CURSOR: &str = "dynamo.cursors.advance_cursor";

    pub const CREATE_JOB: &str = "dynamo.jobs.create_job";
    pub const GET_JOB: &str = "dynamo.jobs.get_job";
    pub const UPDATE_JOB_IF: &str = "dynamo.jobs.update_job_if";
    pub const LIST_JOBS: &str = "dynamo.jobs.list_jobs";
    pub const LIST_JOBS_PAGE: &str = "dynamo.jobs.list_jobs_page";
    pub const WAITING_JOB_ID: &str = "dynamo.jobs.waiting_job_id";
    pub const CREATE_WAITING_JOB: &str = "dynamo.jobs.create_waiting_job";
    pub const RECORD_WAITING_JOB: &str = "dynamo.jobs.record_waiting_job";

    pub const ACQUIRE: &str = "dynamo.leases.acquire";
    pub const HEARTBEAT: &str = "dynamo.leases.heartbeat";
    pub const RELEASE: &str = "dynamo.leases.release";
    pub const LEASE_HOLDER: &str = "dynamo.leases.holder";

    pub const LEDGER_BEGIN: &str = "dynamo.ledger.begin";
    pub const LEDGER_GET: &str = "dynamo.ledger.get";
    pub const LEDGER_MARK_SENT: &str = "dynamo.ledger.mark_sent";
    pub const LEDGER_COMPLETE: &str = "dynamo.ledger.complete";

    pub const RECORD_SKIPPED: &str = "dynamo.skipped.record_skipped";
    pub const LIST_SKIPPED: &str = "dynamo.skipped.list_skipped";

    pub const COUNT_ENTRIES: &str = "dynamo.cues.count_entries";
    pub const LIST_ENTRIES: &str = "dynamo.cues.list_entries";
    pub const PUT_ENTRIES: &str = "dynamo.cues.put_entries";
    pub const REMOVE_ENTRIES: &str = "dynamo.cues.remove_entries";
    pub const REPLACE_ENTRIES: &str = "dynamo.cues.replace_entries";

    pub const GET_RECORD: &str = "dynamo.records.get_record";
    pub const GET_RECORDS: &str = "dynamo.records.get_records";
    pub const PUT_RECORD_IF: &str = "dynamo.records.put_record_if";
    pub const PUT_RECORDS: &str = "dynamo.records.put_records";
    pub const DELETE_RECORDS: &str = "dynamo.records.delete_records";
    pub const MOVE_STATUS: &str = "dynamo.records.move_status";
    pub const LIST_RECORDS: &str = "dynamo.records.list_records";
    pub const LIST_BY_STATUS: &str = "dynamo.records.list_by_status";
    pub const COUNT_BY_STATUS: &str = "dynamo.records.count_by_status";

    pub const COUNT_JOBS: &str = "dynamo.counts.count_jobs";
    pub const COUNT_SKIPPED: &str = "dynamo.counts.count_skipped";
    pub const FAILED_JOBS_BY_KIND: &str = "dynamo.counts.failed_jobs_by_kind";

    pub const RECORD_FAILURE: &str = "dynamo.failures.record_failure";
    pub const GET_FAILURE: &str = "dynamo.failures.get_failure";
    pub const LIST_FAILURES: &str = "dynamo.failures.list_failures";
    pub const OPEN_FAILURES: &str = "dynamo.failures.open_failures";
    pub const COUNT_OPEN_FAILURES: &str = "dynamo.failures.count_open_failures";
    pub const UPDATE_FAILURE_IF: &str = "dynamo.failures.update_failure_if";
    pub const CLAIM_FAILURE: &str = "dynamo.failures.claim_failure";
    pub const RELEASE_FAILURE_CLAIM: &str = "dynamo.failures.release_failure_claim";
    pub const MIRROR_REFRESHED_AT: &str = "dynamo.failures.mirror_refreshed_at";
    pub const SWAP_MIRROR_REFRESHED_AT: &str = "dynamo.failures.swap_mirror_refreshed_at";

    /// Operations of the default (unnamed) [`crate::MemoryQueue`].
    pub const SEND: &str = "sqs.send";
    pub const SEND_BATCH: &str = "sqs.send_batch";
    pub const DEAD_LETTER: &str = "sqs.dead_letter";
    pub const RETRY_LATER: &str = "sqs.retry_later";

    pub const DLQ_PEEK: &str = "dlq.peek";
    pub const DLQ_REMOVE: &str = "dlq.remove";
    pub const DLQ_DEPTH: &str = "dlq.depth";

    pub const SECRET: &str = "secrets.secret";
}

/// How an injected fault fails a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultMode {
    /// Return the error without doing anything.
    FailBefore,
    /// Do the work (apply the write if its condition holds), then return the error: the lost answer.
    ApplyThenFail,
}

#[derive(Debug, Clone)]
enum Trigger {
    /// The next `n` matching calls.
    Next(u32),
    /// Every matching call, with this probability.
    Probability(f64),
}

#[derive(Debug, Clone)]
struct Rule {
    pattern: String,
    trigger: Trigger,
    mode: FaultMode,
    error: SyncError,
}

impl Rule {
    fn matches(&self, op: &str) -> bool {
        pattern_matches(&self.pattern, op)
    }
}

/// `*` matches everything, `a.b.*` every operation that starts with `a.b.`, anything else itself.
fn pattern_matches(pattern: &str, op: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    match pattern.strip_suffix('*') {
        Some(prefix) if prefix.ends_with('.') => op.starts_with(prefix),
        _ => pattern == op,
    }
}

#[derive(Debug)]
struct State {
    rules: Vec<Rule>,
    rng: fastrand::Rng,
    calls: BTreeMap<String, u64>,
    injected: BTreeMap<String, u64>,
}

/// A cloneable handle on fault rules and call counts; clones share everything. Give the same handle
/// to several doubles to fail them together, or one each to keep them apart.
#[derive(Debug, Clone)]
pub struct Faults {
    state: Arc<Mutex<State>>,
}

impl Default for Faults {
    fn default() -> Self {
        Faults::seeded(0)
    }
}

impl Faults {
    /// No rules; probabilistic rules draw from an RNG seeded with 0.
    pub fn new() -> Faults {
        Faults::default()
    }

    /// No rules; probabilistic rules draw from an RNG seeded with `seed` (print the seed of a
    /// randomised test so a failure replays).
    pub fn seeded(seed: u64) -> Faults {
        Faults {
            state: Arc::new(Mutex::new(State {
                rules: Vec::new(),
                rng: fastrand::Rng::with_seed(seed),
                calls: BTreeMap::new(),
                injected: BTreeMap::new(),
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn add(&self, pattern: &str, trigger: Trigger, mode: FaultMode, error: SyncError) -> &Self {
        self.lock().rules.push(Rule {
            pattern: pattern.to_string(),
            trigger,
            mode,
            error,
        });
        self
    }

    /// The next `n` calls matching `pattern` fail with `error` and change nothing.
    pub fn fail_next(&self, pattern: &str, n: u32, error: SyncError) -> &Self {
        self.inject_next(pattern, n, FaultMode::FailBefore, error)
    }

    /// Every call matching `pattern` fails with `error` (changing nothing) with probability `p`.
    pub fn fail_randomly(&self, pattern: &str, p: f64, error: SyncError) -> &Self {
        self.inject_randomly(pattern, p, FaultMode::FailBefore, error)
    }

    /// The next `n` calls matching `pattern` do their work and then return `error`: the write is
    /// applied (if its condition holds) but the caller never learns it.
    pub fn drop_answer_next(&self, pattern: &str, n: u32, error: SyncError) -> &Self {
        self.inject_next(pattern, n, FaultMode::ApplyThenFail, error)
    }

    /// Every call matching `pattern` does its work and then returns `error`, with probability `p`.
    pub fn drop_answer_randomly(&self, pattern: &str, p: f64, error: SyncError) -> &Self {
        self.inject_randomly(pattern, p, FaultMode::ApplyThenFail, error)
    }

    /// The general form of [`fail_next`](Self::fail_next) and [`drop_answer_next`](Self::drop_answer_next).
    pub fn inject_next(&self, pattern: &str, n: u32, mode: FaultMode, error: SyncError) -> &Self {
        if n == 0 {
            return self;
        }
        self.add(pattern, Trigger::Next(n), mode, error)
    }

    /// The general form of [`fail_randomly`](Self::fail_randomly) and
    /// [`drop_answer_randomly`](Self::drop_answer_randomly). `p` is clamped to `0..=1`.
    pub fn inject_randomly(
        &self,
        pattern: &str,
        p: f64,
        mode: FaultMode,
        error: SyncError,
    ) -> &Self {
        let p = if p.is_nan() { 0.0 } else { p.clamp(0.0, 1.0) };
        self.add(pattern, Trigger::Probability(p), mode, error)
    }

    /// Remove every rule (counts are kept).
    pub fn clear(&self) {
        self.lock().rules.clear();
    }

    /// Rules still armed (a `next` rule disarms itself once it has fired `n` times).
    pub fn armed(&self) -> usize {
        self.lock().rules.len()
    }

    /// Calls of operations matching `pattern` so far, including those that failed.
    pub fn calls(&self, pattern: &str) -> u64 {
        sum_matching(&self.lock().calls, pattern)
    }

    /// Faults injected so far into operations matching `pattern`.
    pub fn injected(&self, pattern: &str) -> u64 {
        sum_matching(&self.lock().injected, pattern)
    }

    /// Every operation called so far, with its count.
    pub fn call_counts(&self) -> BTreeMap<String, u64> {
        self.lock().calls.clone()
    }

    /// Called by a double at the start of operation `op`: counts the call, then `Err` to fail now
    /// ([`FaultMode::FailBefore`]), `Ok(Some(e))` to do the work and then return `e`
    /// ([`FaultMode::ApplyThenFail`]), `Ok(None)` to proceed normally. Doubles outside this crate
    /// use it the same way (see [`Faults::run`]).
    pub fn enter(&self, op: &str) -> Result<Option<SyncError>, SyncError> {
        let mut state = self.lock();
        *state.calls.entry(op.to_string()).or_default() += 1;
        let State { rules, rng, .. } = &mut *state;
        let mut fired = None;
        for (i, rule) in rules.iter_mut().enumerate() {
            if !rule.matches(op) {
                continue;
            }
            match &mut rule.trigger {
                Trigger::Next(n) => {
                    *n -= 1;
                    fired = Some((i, *n == 0));
                    break;
                }
                Trigger::Probability(p) => {
                    if rng.f64() < *p {
                        fired = Some((i, false));
                        break;
                    }
                }
            }
        }
        let Some((i, spent)) = fired else {
            return Ok(None);
        };
        let rule = if spent {
            state.rules.remove(i)
        } else {
            state.rules[i].clone()
        };
        *state.injected.entry(op.to_string()).or_default() += 1;
        match rule.mode {
            FaultMode::FailBefore => Err(rule.error),
            FaultMode::ApplyThenFail => Ok(Some(rule.error)),
        }
    }

    /// Run `work` as operation `op` under the rules: the error of a firing rule before or after it.
    pub fn run<T>(
        &self,
        op: &str,
        work: impl FnOnce() -> Result<T, SyncError>,
    ) -> Result<T, SyncError> {
        let after = self.enter(op)?;
        let out = work()?;
        match after {
            Some(e) => Err(e),
            None => Ok(out),
        }
    }

    /// A retryable storage error: "DynamoDB (or SQS) is unavailable".
    pub fn unavailable() -> SyncError {
        SyncError::Storage("injected fault: the service is unavailable".into())
    }

    /// A transport error of `service` after the request was sent: the answer is lost.
    pub fn connection_reset(service: &'static str) -> SyncError {
        SyncError::Transport {
            service,
            message: "injected fault: connection reset before the answer arrived".into(),
        }
    }
}

fn sum_matching(counts: &BTreeMap<String, u64>, pattern: &str) -> u64 {
    counts
        .iter()
        .filter(|(op, _)| pattern_matches(pattern, op))
        .map(|(_, n)| n)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_exact_names_prefixes_and_everything() {
        assert!(pattern_matches("*", "dynamo.jobs.get_job"));
        assert!(pattern_matches("dynamo.*", "dynamo.jobs.get_job"));
        assert!(pattern_matches("dynamo.jobs.*", "dynamo.jobs.get_job"));
        assert!(!pattern_matches("dynamo.jobs.*", "dynamo.jobsx.get_job"));
        assert!(!pattern_matches("dynamo.*", "sqs.send"));
        assert!(pattern_matches("sqs.send", "sqs.send"));
        assert!(!pattern_matches("sqs.send", "sqs.send_batch"));
    }

    #[test]
    fn next_rules_fire_n_times_then_disarm() {
        let faults = Faults::new();
        faults.fail_next(op::SEND, 2, Faults::unavailable());
        assert!(faults.enter(op::SEND_BATCH).unwrap().is_none(), "other op");
        assert!(faults.enter(op::SEND).is_err());
        assert!(faults.enter(op::SEND).is_err());
        assert!(faults.enter(op::SEND).unwrap().is_none());
        assert_eq!(faults.armed(), 0);
        assert_eq!(faults.calls(op::SEND), 3);
        assert_eq!(faults.calls("sqs.*"), 4);
        assert_eq!(faults.injected("*"), 2);
    }

    #[test]
    fn drop_answer_rules_let_the_work_happen() {
        let faults = Faults::new();
        faults.drop_answer_next("x.write", 1, Faults::connection_reset("bc"));
        let mut applied = 0;
        let err = faults
            .run("x.write", || {
                applied += 1;
                Ok(())
            })
            .unwrap_err();
        assert_eq!(applied, 1, "the write happened");
        assert!(matches!(err, SyncError::Transport { service: "bc", .. }));
        faults.run("x.write", || Ok(())).unwrap();
    }

    #[test]
    fn fail_before_rules_do_not_run_the_work() {
        let faults = Faults::new();
        faults.fail_next("x.*", 1, Faults::unavailable());
        let mut ran = false;
        assert!(
            faults
                .run("x.write", || {
                    ran = true;
                    Ok(())
                })
                .is_err()
        );
        assert!(!ran);
    }

    #[test]
    fn random_rules_replay_with_the_same_seed() {
        let pattern = |seed| {
            let faults = Faults::seeded(seed);
            faults.fail_randomly("*", 0.3, Faults::unavailable());
            (0..200)
                .map(|_| faults.enter("a.b").is_err())
                .collect::<Vec<_>>()
        };
        let a = pattern(7);
        assert_eq!(a, pattern(7));
        let failures = a.iter().filter(|f| **f).count();
        assert!(
            (30..=90).contains(&failures),
            "{failures} of 200 at p = 0.3"
        );
        assert_ne!(a, pattern(8));
    }

    #[test]
    fn probability_zero_and_one_are_never_and_always() {
        let faults = Faults::new();
        faults.fail_randomly("a", 0.0, Faults::unavailable());
        assert!((0..50).all(|_| faults.enter("a").is_ok()));
        faults.clear();
        faults.drop_answer_randomly("a", 1.0, Faults::unavailable());
        assert!((0..50).all(|_| matches!(faults.enter("a"), Ok(Some(_)))));
        assert_eq!(faults.armed(), 1, "random rules stay armed");
    }

    #[test]
    fn the_first_rule_that_fires_wins() {
        let faults = Faults::new();
        faults.fail_next("a", 1, SyncError::Conflict("first".into()));
        faults.fail_next("*", 1, SyncError::Internal("second".into()));
        assert!(matches!(faults.enter("a"), Err(SyncError::Conflict(_))));
        assert!(matches!(faults.enter("a"), Err(SyncError::Internal(_))));
        assert!(faults.enter("a").unwrap().is_none());
    }
}
