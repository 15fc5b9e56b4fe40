//! Job records and their state machine.
//!
//! A job is one run of one task for one shop. Its record is the single source of truth for the run:
//! every transition is a conditional write on (status, seq) so that duplicate deliveries, redeliveries
//! after a crash and continuations can never both act. `seq` counts the messages the job has been
//! handed to: a continuation or deferral bumps it, and a stale message (lower seq) does nothing.
//!
//! ```text
//! queued ──► running ──► succeeded | succeeded_with_warnings | failed
//!   ▲  │        │  └──► queued (continuation after the deadline, seq+1)
//!   │  └─► deferred (lease held, re-sent with a delay, seq+1) ──► running / skipped (too many deferrals)
//!   │           running ──► skipped (nothing to do, with the reason)
//!   └──────────────┘
//! ```

use crate::catalogue::TaskKind;
use crate::error::ErrorKind;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Queued,
    Running,
    Deferred,
    Succeeded,
    SucceededWithWarnings,
    Failed,
    Skipped,
}

impl JobStatus {
    /// Every status, in the state machine's order.
    pub const ALL: [JobStatus; 7] = [
        JobStatus::Queued,
        JobStatus::Running,
        JobStatus::Deferred,
        JobStatus::Succeeded,
        JobStatus::SucceededWithWarnings,
        JobStatus::Failed,
        JobStatus::Skipped,
    ];

    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            JobStatus::Succeeded
                | JobStatus::SucceededWithWarnings
                | JobStatus::Failed
                | JobStatus::Skipped
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Deferred => "deferred",
            JobStatus::Succeeded => "succeeded",
            JobStatus::SucceededWithWarnings => "succeeded_with_warnings",
            JobStatus::Failed => "failed",
            JobStatus::Skipped => "skipped",
        }
    }

    /// Whether the state machine allows `self → to`. `running → running` is a takeover after the
    /// previous holder's lease expired (crash recovery).
    pub fn can_become(self, to: JobStatus) -> bool {
        use JobStatus::*;
        matches!(
            (self, to),
            (Queued, Running | Deferred | Failed | Skipped)
                | (Deferred, Queued | Running | Deferred | Failed | Skipped)
                // Running -> Deferred: a run that died and lost its lease to another job waits for it.
                | (
                    Running,
                    Running
                        | Queued
                        | Deferred
                        | Succeeded
                        | SucceededWithWarnings
                        | Failed
                        | Skipped
                )
        )
    }
}

impl std::fmt::Display for JobStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    Schedule,
    Manual,
    Retry,
    /// Pushed by Shopify: a burst of webhooks of one shop (see [`crate::catalogue::TaskSpec::pushed_by`]).
    Webhook,
}

/// Options of a run, chosen by the schedule or the caller.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunOptions {
    /// Re-read the target system's current state and correct drift (inventory: re-read Shopify levels).
    #[serde(default)]
    pub full: bool,
    /// sync-orders: import the orders updated from this instant (`YYYY-MM-DDTHH:MM:SSZ`), closed ones
    /// included, instead of those changed since the last run; the incremental cursor is left as it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orders_from: Option<String>,
    /// The end of that window (same format; default: when the run starts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orders_to: Option<String>,
    /// sync-products: export only the variants' prices (the reference's "Only Sync Prices"),
    /// whatever `sync_item` says.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub prices_only: bool,
}

/// Whether `s` is an instant as run options take it: `YYYY-MM-DDTHH:MM:SSZ` (UTC, whole seconds), so
/// two of them compare as text in time order.
pub fn is_utc_instant(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 20
        && crate::sales::is_iso_date(&s[..10])
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'Z'
        && matches!(
            (
                s[11..13].parse::<u8>(),
                s[14..16].parse::<u8>(),
                s[17..19].parse::<u8>()
            ),
            (Ok(0..=23), Ok(0..=59), Ok(0..=59))
        )
        && [11, 12, 14, 15, 17, 18]
            .iter()
            .all(|&i| b[i].is_ascii_digit())
}

impl RunOptions {
    /// Whether these options make sense for `task`, with the reason when not.
    pub fn check(&self, task: TaskKind) -> std::result::Result<(), String> {
        if self.full && task.spec().default_full_interval_minutes == 0 {
            return Err(format!("{task} has no full run; leave out 'full'"));
        }
        if self.prices_only && task != TaskKind::SyncProducts {
            return Err(format!(
                "prices_only is an option of sync-products, not of {task}"
            ));
        }
        if self.orders_from.is_none() && self.orders_to.is_none() {
            return Ok(());
        }
        if task != TaskKind::SyncOrders {
            return Err(format!(
                "orders_from and orders_to are options of sync-orders, not of {task}"
            ));
        }
        let Some(from) = &self.orders_from else {
            return Err("orders_to needs orders_from".into());
        };
        for (name, value) in [
            ("orders_from", Some(from)),
            ("orders_to", self.orders_to.as_ref()),
        ] {
            if let Some(v) = value
                && !is_utc_instant(v)
            {
                return Err(format!(
                    "{name} '{}' must be a UTC instant like 2026-05-01T00:00:00Z",
                    crate::text::preview(v)
                ));
            }
        }
        // An `orders_to` not after `orders_from` is an empty window: nothing to import, no error.
        Ok(())
    }
}

/// What a run did, counted. Names are stable: they appear on the API and the status board.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobCounters {
    #[serde(flatten)]
    pub values: BTreeMap<String, u64>,
}

impl JobCounters {
    pub fn add(&mut self, name: &str, n: u64) {
        *self.values.entry(name.to_string()).or_default() += n;
    }
    pub fn get(&self, name: &str) -> u64 {
        self.values.get(name).copied().unwrap_or(0)
    }
}

/// Why a job failed or was skipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobError {
    pub kind: ErrorKind,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    pub shop: String,
    pub job_id: String,
    pub task: TaskKind,
    pub status: JobStatus,
    pub trigger: Trigger,
    #[serde(default)]
    pub options: RunOptions,
    /// Messages handed out for this job so far; a message carrying a lower seq is stale.
    pub seq: u64,
    /// Times the job was started (including takeovers after a crash).
    pub attempts: u32,
    pub deferrals: u32,
    /// Continuations after a deadline.
    pub continuations: u32,
    #[serde(default)]
    pub counters: JobCounters,
    /// Shopify cost points actually consumed (sum of `actualQueryCost`).
    pub cost_points_used: f64,
    /// Task-specific resume point, opaque to the runtime.
    #[serde(default)]
    pub checkpoint: Option<serde_json::Value>,
    #[serde(default)]
    pub error: Option<JobError>,
    pub created_at: i64,
    pub updated_at: i64,
    #[serde(default)]
    pub started_at: Option<i64>,
    #[serde(default)]
    pub finished_at: Option<i64>,
    /// A random part fixed when the job is created. Job ids of scheduled runs are derived from the
    /// tick and the shop (so a repeated tick makes no second job); idempotency keys sent to Shopify
    /// carry this part too, so a second deployment or a rebuilt table never reuses a key that the
    /// store already saw with another payload. Empty on records written before it existed.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub nonce: String,
    /// The fencing token of the job's runs: every start (and every takeover after a lost lease) moves
    /// it up by one. Job writes are conditional on the stored epoch not being newer than the writer's,
    /// and a run's ledger and record writes on the stored epoch being exactly its own, so a run that
    /// was paused past its lease writes nothing once another run has taken the job over.
    #[serde(default)]
    pub epoch: u64,
}

impl JobRecord {
    pub fn new_queued(
        shop: &str,
        job_id: &str,
        task: TaskKind,
        trigger: Trigger,
        options: RunOptions,
        now: i64,
    ) -> Self {
        JobRecord {
            shop: shop.to_string(),
            job_id: job_id.to_string(),
            task,
            status: JobStatus::Queued,
            trigger,
            options,
            seq: 0,
            attempts: 0,
            deferrals: 0,
            continuations: 0,
            counters: JobCounters::default(),
            cost_points_used: 0.0,
            checkpoint: None,
            error: None,
            created_at: now,
            updated_at: now,
            started_at: None,
            finished_at: None,
            nonce: format!("{:016x}", fastrand::u64(..)),
            epoch: 0,
        }
    }

    /// The fence of this job's current run: what its writes are conditional on.
    pub fn fence(&self) -> crate::ports::Fence {
        crate::ports::Fence {
            shop: self.shop.clone(),
            job_id: self.job_id.clone(),
            epoch: self.epoch,
        }
    }

    /// The prefix of every idempotency key of this job: the job id and its random part.
    pub fn idempotency_scope(&self) -> String {
        if self.nonce.is_empty() {
            self.job_id.clone()
        } else {
            format!("{}.{}", self.job_id, self.nonce)
        }
    }

    /// The message that hands this job (at its current seq) to a worker.
    pub fn message(&self) -> JobMessage {
        JobMessage {
            shop: self.shop.clone(),
            task: self.task,
            job_id: self.job_id.clone(),
            seq: self.seq,
        }
    }

    /// Whether the job still waits for its first start: `queued` or `deferred` (lease held) and never
    /// started, so when it runs it reads everything afresh and a manual run asked for now loses
    /// nothing by joining it. A job `queued` at its first message for longer than
    /// [`WAITING_MAX_AGE_SECS`] is presumed lost (its message never went out) and no longer joined.
    pub fn is_waiting(&self, now: i64) -> bool {
        if self.started_at.is_some() {
            return false;
        }
        match self.status {
            JobStatus::Deferred => true,
            JobStatus::Queued => now - self.updated_at <= WAITING_MAX_AGE_SECS,
            _ => false,
        }
    }

    /// Apply a transition, checking the state machine.
    pub fn transition(&mut self, to: JobStatus, now: i64) -> Result<(), InvalidTransition> {
        if !self.status.can_become(to) {
            return Err(InvalidTransition {
                from: self.status,
                to,
            });
        }
        self.status = to;
        self.updated_at = now;
        if to == JobStatus::Running {
            // A start or a takeover: a new run, with a fencing token newer than any before it.
            self.epoch += 1;
            if self.started_at.is_none() {
                self.started_at = Some(now);
            }
        }
        if to.is_terminal() {
            self.finished_at = Some(now);
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a job cannot go from {from} to {to}")]
pub struct InvalidTransition {
    pub from: JobStatus,
    pub to: JobStatus,
}

/// The body of a task-queue message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobMessage {
    pub shop: String,
    pub task: TaskKind,
    pub job_id: String,
    pub seq: u64,
}

/// A job still `queued` at its first message this long after it was written is presumed lost rather
/// than waiting (a worker takes a queued job within seconds); see [`JobRecord::is_waiting`].
pub const WAITING_MAX_AGE_SECS: i64 = 600;

/// Job ids sort by creation time (newest last) and carry the task, so a listing needs no index.
pub fn job_id(task: TaskKind, created_millis: i64, unique: &str) -> String {
    format!("{created_millis:013}-{}-{unique}", task.name())
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_orders_window_is_checked_before_a_run_is_placed() {
        use super::{RunOptions, is_utc_instant};
        use crate::TaskKind;
        let window = |from: &str, to: Option<&str>| RunOptions {
            orders_from: Some(from.into()),
            orders_to: to.map(String::from),
            ..RunOptions::default()
        };
        assert!(is_utc_instant("2026-05-01T23:59:59Z"));
        for bad in [
            "2026-05-01",
            "2026-05-01T24:00:00Z",
            "2026-05-01T10:00:00+02:00",
            "2026-05-01T10:00:00.5Z",
        ] {
            assert!(!is_utc_instant(bad), "{bad}");
        }
        assert_eq!(
            window("2026-05-01T00:00:00Z", Some("2026-06-01T00:00:00Z"))
                .check(TaskKind::SyncOrders),
            Ok(())
        );
        assert!(
            window("2026-05-01T00:00:00Z", None)
                .check(TaskKind::SyncOrders)
                .is_ok()
        );
        assert!(
            window("2026-06-01T00:00:00Z", Some("2026-05-01T00:00:00Z"))
                .check(TaskKind::SyncOrders)
                .is_ok(),
            "an empty window"
        );
        assert!(
            window("yesterday", None)
                .check(TaskKind::SyncOrders)
                .unwrap_err()
                .contains("orders_from")
        );
        assert!(
            window("2026-05-01T00:00:00Z", None)
                .check(TaskKind::SyncInventory)
                .unwrap_err()
                .contains("sync-orders")
        );
        let full = RunOptions {
            full: true,
            ..RunOptions::default()
        };
        assert!(full.check(TaskKind::SyncInventory).is_ok());
        assert!(full.check(TaskKind::SyncOrders).is_err());
        let prices = RunOptions {
            prices_only: true,
            ..RunOptions::default()
        };
        assert!(prices.check(TaskKind::SyncProducts).is_ok());
        assert!(prices.check(TaskKind::SyncInventory).is_err());
        assert_eq!(
            serde_json::to_value(RunOptions::default()).unwrap(),
            serde_json::json!({"full": false}),
            "prices_only is left out when false: older options read and hash the same"
        );
        // Options without a window serialise as before (the waiting-job key is made from them).
        assert_eq!(serde_json::to_string(&full).unwrap(), r#"{"full":true}"#);
    }

    use super::*;
    use JobStatus::*;

    #[test]
    fn terminal_states_have_no_way_out() {
        for from in [Succeeded, SucceededWithWarnings, Failed, Skipped] {
            for to in [
                Queued,
                Running,
                Deferred,
                Succeeded,
                SucceededWithWarnings,
                Failed,
                Skipped,
            ] {
                assert!(!from.can_become(to), "{from} -> {to}");
            }
        }
    }

    #[test]
    fn the_run_path_transitions_are_allowed() {
        assert!(Queued.can_become(Running));
        assert!(Queued.can_become(Deferred));
        assert!(Deferred.can_become(Queued));
        assert!(Deferred.can_become(Skipped));
        assert!(Running.can_become(Queued), "continuation");
        assert!(
            Running.can_become(Running),
            "takeover after an expired lease"
        );
        assert!(Running.can_become(SucceededWithWarnings));
        assert!(
            !Queued.can_become(Succeeded),
            "a job cannot succeed without running"
        );
    }

    #[test]
    fn transition_stamps_times_and_rejects_invalid_moves() {
        let mut job = JobRecord::new_queued(
            "DEMO",
            "j1",
            TaskKind::SyncInventory,
            Trigger::Schedule,
            RunOptions::default(),
            100,
        );
        job.transition(Running, 110).unwrap();
        assert_eq!(job.started_at, Some(110));
        job.transition(Succeeded, 120).unwrap();
        assert_eq!(job.finished_at, Some(120));
        assert_eq!(
            job.transition(Running, 130),
            Err(InvalidTransition {
                from: Succeeded,
                to: Running
            })
        );
    }

    #[test]
    fn messages_round_trip_and_reject_unknown_fields() {
        let job = JobRecord::new_queued(
            "DEMO",
            "j1",
            TaskKind::SyncInventory,
            Trigger::Manual,
            RunOptions {
                full: true,
                ..RunOptions::default()
            },
            1,
        );
        let body = serde_json::to_string(&job.message()).unwrap();
        assert_eq!(
            serde_json::from_str::<JobMessage>(&body).unwrap(),
            job.message()
        );
        assert!(
            serde_json::from_str::<JobMessage>(
                r#"{"shop":"A","task":"sync-inventory","job_id":"x","seq":0,"extra":1}"#
            )
            .is_err()
        );
    }

    #[test]
    fn only_a_job_that_never_started_is_waiting() {
        let mut job = JobRecord::new_queued(
            "DEMO",
            "j1",
            TaskKind::SyncInventory,
            Trigger::Schedule,
            RunOptions::default(),
            1_000,
        );
        assert!(job.is_waiting(1_000));
        assert!(job.is_waiting(1_000 + WAITING_MAX_AGE_SECS));
        assert!(
            !job.is_waiting(1_001 + WAITING_MAX_AGE_SECS),
            "queued that long: its message is presumed lost"
        );
        job.transition(Deferred, 2_000).unwrap();
        assert!(
            job.is_waiting(9_999),
            "deferred: its delayed message is out"
        );
        job.transition(Running, 2_100).unwrap();
        assert!(!job.is_waiting(2_100));
        job.transition(Queued, 2_200).unwrap();
        assert!(!job.is_waiting(2_200), "a continuation has started already");
    }

    #[test]
    fn job_ids_sort_by_time() {
        let a = job_id(TaskKind::SyncInventory, 1_700_000_000_000, "a");
        let b = job_id(TaskKind::SyncInventory, 1_700_000_000_001, "a");
        assert!(a < b);
    }

    #[test]
    fn each_job_has_its_own_idempotency_scope() {
        let make = || {
            JobRecord::new_queued(
                "DEMO",
                "1764370000000-sync-inventory-DEMO",
                TaskKind::SyncInventory,
                Trigger::Schedule,
                RunOptions::default(),
                100,
            )
        };
        // The same tick in two deployments (or after a table rebuild) makes the same job id, but
        // not the same keys.
        let (a, b) = (make(), make());
        assert_eq!(a.job_id, b.job_id);
        assert_ne!(a.idempotency_scope(), b.idempotency_scope());
        assert!(a.idempotency_scope().starts_with(&a.job_id));
        // The random part survives storage, so a retry of the job reuses its keys.
        let stored: JobRecord = serde_json::from_value(serde_json::to_value(&a).unwrap()).unwrap();
        assert_eq!(stored.idempotency_scope(), a.idempotency_scope());
    }
}
