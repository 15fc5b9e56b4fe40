//! The task engine: what every task shares, written once.
//!
//! A task is a [`Task`]: it says how to **plan** its work as a list of [`Effect`]s (one Shopify
//! mutation batch, one BC document, one fulfillment …), how to **send** one effect, how to **probe**
//! for one whose outcome is unknown (targets without idempotency keys), and how to **settle** an
//! outcome (per-record state, skipped records, follow-up effects). The engine does the rest, the same
//! way for every task:
//!
//! - **Typed checkpoints.** The task's own state is a typed value stored inside the engine's
//!   checkpoint; a run resumes where the last one stopped, after a deadline or a crash.
//! - **Planning in steps.** [`Task::plan`] is called until it says it is done; each step's effects are
//!   written to the ledger and checkpointed before the next step, so planning can span invocations
//!   and the deadline is checked during planning too, not only between effects.
//! - **The ledgered apply loop.** Each effect is written to the idempotency ledger before it is
//!   attempted (`planned`), marked `sent` right before it goes out, and `settled` with its outcome.
//!   After a crash, a `sent` effect's outcome is unknown: a [`EffectKind::Replayable`] effect (Shopify
//!   `@idempotent`) is resent with the stored payload under the stored key, and the target answers
//!   with the first outcome; a [`EffectKind::Probed`] effect (BC, which has no idempotency keys) is
//!   first looked up by its natural key and settled as done if it is there — only then resent.
//! - **Outgoing requests.** Effects that write Shopify are refused (as skipped records) when the shop
//!   does not allow outgoing requests; a task whose every write goes to Shopify is skipped outright.
//! - **Counters and cost.** Counters accumulate in the run and are saved with every checkpoint; the
//!   Shopify cost points and throttle wait of the run are reported to the runtime.
//! - **Clients and secrets.** The engine asks its [`ClientSource`] for the shop's Shopify and BC
//!   clients (built from the shop's settings and secrets; see [`clients`]).
//!
//! The engine names no task; only [`crate::registry`] knows them all.

pub mod clients;

use crate::{Progress, RunContext, RunOutcome};
use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shopsync_domain::catalogue::System;
use shopsync_domain::job::{JobCounters, JobRecord, RunOptions};
use shopsync_domain::ports::{
    LedgerBegin, LedgerEntry, LedgerStatus, Result, RunStoreSource, RunStores, SkippedRecord,
};
use shopsync_domain::settings::ShopSettings;
use shopsync_domain::{SyncError, TaskKind};
use std::sync::Arc;

pub use clients::{ClientSource, ShopClients};

/// How an effect is kept from happening twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EffectKind {
    /// The target deduplicates by key (Shopify `@idempotent`): after an unknown outcome, resend the
    /// stored payload under the stored key.
    Replayable,
    /// The target has no idempotency keys (BC): after an unknown outcome, look the effect up by its
    /// natural key first, and resend only if it is not there.
    Probed,
}

/// One thing a run does to a target, exactly once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Effect {
    pub kind: EffectKind,
    pub target: System,
    /// Short, for people: what this is (`inventory batch of 250 levels`, `order #1001`).
    pub label: String,
    /// Exactly what will be sent; stored in the ledger, so a retry sends the very same thing.
    pub payload: Value,
}

impl Effect {
    pub fn new(kind: EffectKind, target: System, label: impl Into<String>, payload: Value) -> Self {
        Effect {
            kind,
            target,
            label: label.into(),
            payload,
        }
    }

    /// The payload as the task's own type.
    pub fn payload_as<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_value(self.payload.clone()).map_err(|e| {
            SyncError::Internal(format!(
                "effect '{}' has an unreadable payload: {e}",
                self.label
            ))
        })
    }
}

/// What one planning step produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    pub effects: Vec<Effect>,
    /// Planning is finished; no further [`Task::plan`] call.
    pub done: bool,
}

impl Planned {
    pub fn last(effects: Vec<Effect>) -> Planned {
        Planned {
            effects,
            done: true,
        }
    }

    pub fn more(effects: Vec<Effect>) -> Planned {
        Planned {
            effects,
            done: false,
        }
    }
}

/// What settling one outcome produced.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Settled {
    /// Effects to apply after this one (e.g. rows to retry), planned under keys derived from it.
    pub follow_ups: Vec<Effect>,
}

/// One run of one task for one shop, as a task sees it.
pub struct TaskRun<'a> {
    pub settings: &'a ShopSettings,
    pub job: &'a JobRecord,
    pub clients: &'a ShopClients,
    /// The stores, seen through this run's fence: once another run takes the job over, every write
    /// here fails with [`SyncError::Fenced`] and nothing of it is written.
    pub stores: RunStores,
    /// Counters of this invocation (saved with every checkpoint).
    pub counters: JobCounters,
    pub progress: &'a dyn Progress,
}

impl TaskRun<'_> {
    pub fn shop(&self) -> &str {
        &self.settings.code
    }

    /// True when the run should stop soon and continue in a new invocation (planning steps that read
    /// a lot check this and return [`Planned::more`]).
    pub fn deadline_near(&self) -> bool {
        self.progress.deadline_near()
    }

    /// `Err(Fenced)` when the run's heartbeat found its lease lost: it must not start another effect.
    fn still_owned(&self) -> Result<()> {
        if self.progress.lease_lost() {
            return Err(SyncError::Fenced {
                job_id: self.job.job_id.clone(),
            });
        }
        Ok(())
    }
}

/// A task: what is specific to it. Everything else is the engine's.
#[async_trait]
pub trait Task: Send + Sync + 'static {
    /// The task's own resume state (planning cursors, …), kept in the engine's checkpoint.
    type State: Serialize + DeserializeOwned + Default + Send + Sync;

    fn kind(&self) -> TaskKind;

    /// Why this run has nothing to do for this shop, if so (checked before anything is read).
    fn skip_reason(&self, _settings: &ShopSettings) -> Option<String> {
        None
    }

    /// Why this job has nothing to do, given its run options too (a price-only run of sync-products
    /// needs none of the settings a full export needs). By default the shop's [`Task::skip_reason`].
    fn skip_reason_for(&self, settings: &ShopSettings, _options: &RunOptions) -> Option<String> {
        self.skip_reason(settings)
    }

    /// One planning step. Return [`Planned::more`] to be called again (in this invocation or, near
    /// the deadline, the next), [`Planned::last`] when the plan is complete.
    async fn plan(&self, run: &mut TaskRun<'_>, state: &mut Self::State) -> Result<Planned>;

    /// Send one effect and return its outcome (stored in the ledger). `key` is the effect's ledger key,
    /// unique per job, plan and effect: the idempotency key for targets that take one.
    async fn send(&self, run: &mut TaskRun<'_>, effect: &Effect, key: &str) -> Result<Value>;

    /// For [`EffectKind::Probed`] effects: look the effect up by its natural key after an unknown
    /// outcome; `Some(outcome)` if the target has it already.
    async fn probe(
        &self,
        _run: &mut TaskRun<'_>,
        effect: &Effect,
        _key: &str,
    ) -> Result<Option<Value>> {
        Err(SyncError::Internal(format!(
            "effect '{}' is probed but its task has no probe",
            effect.label
        )))
    }

    /// Record what an outcome means (per-record state, skipped records, counters). Called again with
    /// the same outcome after a crash, so its writes must be idempotent (upserts).
    async fn settle(
        &self,
        run: &mut TaskRun<'_>,
        state: &mut Self::State,
        effect: &Effect,
        outcome: &Value,
    ) -> Result<Settled>;

    /// Whether a finished run had warnings (records skipped); by default: any skipped record.
    fn warnings(&self, job: &JobRecord, run: &JobCounters) -> bool {
        job.counters.get(counters::SKIPPED_RECORDS) + run.get(counters::SKIPPED_RECORDS) > 0
    }
}

/// Counters the engine itself keeps.
pub mod counters {
    pub const EFFECTS_PLANNED: &str = "effects_planned";
    pub const EFFECTS_REPLAYED: &str = "effects_replayed";
    pub const EFFECTS_FOUND_BY_PROBE: &str = "effects_found_by_probe";
    pub const EFFECTS_REFUSED: &str = "effects_refused";
    pub const PLANS_EXPIRED: &str = "plans_expired";
    pub const EFFECTS_DROPPED: &str = "effects_dropped_unsent";
    pub const SKIPPED_RECORDS: &str = "skipped_records";
}

/// How old a plan may be before its unsent effects are dropped and planned again from fresh data.
pub const DEFAULT_MAX_PLAN_AGE_SECS: i64 = 15 * 60;

/// What the engine needs besides the task: the stores (handed to each run through its fence) and
/// its tuning.
#[derive(Clone)]
pub struct EnginePorts {
    pub stores: Arc<dyn RunStoreSource>,
    /// A run resumed (after a retry, a deferral or a deadline) with a plan older than this sends
    /// nothing of it that was not sent yet: it settles what is in flight and plans again, so a retry
    /// never replays data that is minutes or hours old.
    pub max_plan_age_secs: i64,
}

impl EnginePorts {
    pub fn new(stores: Arc<dyn RunStoreSource>) -> Self {
        EnginePorts {
            stores,
            max_plan_age_secs: DEFAULT_MAX_PLAN_AGE_SECS,
        }
    }
}

/// The engine's resume point; the task's typed state rides inside.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Checkpoint<S> {
    /// Plan generation: keys of one plan never collide with another's.
    generation: u32,
    /// Effects written to the ledger under this generation.
    total: usize,
    /// First effect not known to be settled.
    next: usize,
    planning_done: bool,
    /// When this plan was started (epoch seconds).
    #[serde(default)]
    planned_at: i64,
    state: S,
}

/// Where the follow-ups of a settled effect went (stored with its outcome, so a crash between
/// settling and checkpointing finds them again instead of planning them twice).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SettledRecord {
    outcome: Value,
    #[serde(default)]
    follow_ups_start: usize,
    #[serde(default)]
    follow_ups: Vec<Effect>,
}

/// The ledger key of effect `index` of plan `generation` of the job with idempotency scope `scope`.
pub fn effect_key(scope: &str, task: TaskKind, generation: u32, index: usize) -> String {
    format!("{scope}/{task}/g{generation}/e{index}")
}

fn to_json<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| SyncError::Internal(format!("serialising: {e}")))
}

/// Run (or resume) `task` for one job: plan, ledger, apply, settle, checkpoint.
pub async fn run<T: Task>(
    task: &T,
    ports: &EnginePorts,
    clients: &ShopClients,
    ctx: &mut RunContext<'_>,
) -> Result<RunOutcome> {
    if let Some(reason) = task.skip_reason_for(ctx.settings, &ctx.job.options) {
        return Ok(RunOutcome::Skipped { reason });
    }
    if task.kind().spec().idle_without_outgoing_requests() && !ctx.settings.allow_outgoing_requests
    {
        return Ok(RunOutcome::Skipped {
            reason: format!(
                "allow_outgoing_requests is off for this shop: {} only writes to Shopify",
                task.kind()
            ),
        });
    }
    let mut cp: Checkpoint<T::State> = match &ctx.job.checkpoint {
        Some(value) => serde_json::from_value(value.clone()).map_err(|e| {
            SyncError::Internal(format!("unreadable {} checkpoint: {e}", task.kind()))
        })?,
        None => Checkpoint {
            generation: ctx.job.attempts,
            total: 0,
            next: 0,
            planning_done: false,
            planned_at: shopsync_domain::time::now_secs(),
            state: T::State::default(),
        },
    };
    let mut run = TaskRun {
        settings: ctx.settings,
        job: ctx.job,
        clients,
        stores: ports.stores.for_run(Some(ctx.job.fence())),
        counters: std::mem::take(&mut ctx.counters),
        progress: ctx.progress,
    };
    let outcome = drive(task, ports, &mut run, &mut cp).await;
    ctx.counters = run.counters;
    outcome
}

async fn drive<T: Task>(
    task: &T,
    ports: &EnginePorts,
    run: &mut TaskRun<'_>,
    cp: &mut Checkpoint<T::State>,
) -> Result<RunOutcome> {
    let scope = run.job.idempotency_scope();
    let now = shopsync_domain::time::now_secs();
    let unfinished = cp.next < cp.total || !cp.planning_done;
    if unfinished && now - cp.planned_at > ports.max_plan_age_secs {
        replan(task, run, cp, &scope, now).await?;
    }
    // Every invocation takes at least one step, so even a tiny time budget makes progress.
    let mut stepped = false;
    loop {
        while cp.next < cp.total {
            if stepped && run.deadline_near() {
                return pause(run, cp).await;
            }
            run.still_owned()?;
            let key = effect_key(&scope, task.kind(), cp.generation, cp.next);
            apply_one(task, run, cp, &scope, &key).await?;
            cp.next += 1;
            stepped = true;
            save(run, cp).await?;
        }
        if cp.planning_done {
            break;
        }
        if stepped && run.deadline_near() {
            return pause(run, cp).await;
        }
        run.still_owned()?;
        let planned = task.plan(run, &mut cp.state).await?;
        let start = cp.total;
        let count = planned.effects.len();
        write_effects(
            run,
            &scope,
            task.kind(),
            cp.generation,
            start,
            &planned.effects,
        )
        .await?;
        run.counters.add(counters::EFFECTS_PLANNED, count as u64);
        cp.total += count;
        cp.planning_done = planned.done;
        stepped = true;
        save(run, cp).await?;
    }
    Ok(RunOutcome::Finished {
        warnings: task.warnings(run.job, &run.counters),
    })
}

/// The plan is too old: settle the effects whose outcome is unknown (they may have happened), drop
/// the ones never sent, and start a new plan generation from fresh data.
async fn replan<T: Task>(
    task: &T,
    run: &mut TaskRun<'_>,
    cp: &mut Checkpoint<T::State>,
    scope: &str,
    now: i64,
) -> Result<()> {
    let shop = run.shop().to_string();
    let mut index = cp.next;
    let mut dropped = 0u64;
    while index < cp.total {
        let key = effect_key(scope, task.kind(), cp.generation, index);
        let sent = run
            .stores
            .ledger
            .get(&shop, &key)
            .await?
            .is_some_and(|e| e.status == LedgerStatus::Sent);
        if sent {
            apply_one(task, run, cp, scope, &key).await?;
        } else {
            dropped += 1;
        }
        index += 1;
    }
    run.counters.add(counters::PLANS_EXPIRED, 1);
    run.counters.add(counters::EFFECTS_DROPPED, dropped);
    *cp = Checkpoint {
        generation: run.job.attempts.max(cp.generation + 1),
        total: 0,
        next: 0,
        planning_done: false,
        planned_at: now,
        state: T::State::default(),
    };
    save(run, cp).await
}

async fn pause<S: Serialize>(run: &TaskRun<'_>, cp: &Checkpoint<S>) -> Result<RunOutcome> {
    save(run, cp).await?;
    let checkpoint = serde_json::to_value(cp).map_err(|e| SyncError::Internal(e.to_string()))?;
    Ok(RunOutcome::Continue { checkpoint })
}

async fn save<S: Serialize>(run: &TaskRun<'_>, cp: &Checkpoint<S>) -> Result<()> {
    let value = serde_json::to_value(cp).map_err(|e| SyncError::Internal(e.to_string()))?;
    run.progress.checkpoint(&value, &run.counters).await
}

/// Write effects `start..` of a plan to the ledger, each before anything of it is sent. Writing one
/// again with the same payload (a step replayed after a crash) is fine; another payload under a used
/// key is refused.
async fn write_effects(
    run: &TaskRun<'_>,
    scope: &str,
    task: TaskKind,
    generation: u32,
    start: usize,
    effects: &[Effect],
) -> Result<()> {
    for (i, effect) in effects.iter().enumerate() {
        let key = effect_key(scope, task, generation, start + i);
        let payload = to_json(effect)?;
        let entry = LedgerEntry {
            payload_sha256: LedgerEntry::sha256_hex(&payload),
            payload,
            key: key.clone(),
            status: LedgerStatus::Pending,
            result: None,
            created_at: shopsync_domain::time::now_secs(),
        };
        match run.stores.ledger.begin(run.shop(), &entry).await? {
            LedgerBegin::Started => {}
            LedgerBegin::Existing(e) if e.payload_sha256 == entry.payload_sha256 => {}
            LedgerBegin::Existing(_) => {
                return Err(SyncError::Internal(format!(
                    "idempotency key {key} already holds a different payload; refusing to reuse it"
                )));
            }
        }
    }
    Ok(())
}

/// Bring one planned effect to `settled`, whatever state a previous run left it in.
async fn apply_one<T: Task>(
    task: &T,
    run: &mut TaskRun<'_>,
    cp: &mut Checkpoint<T::State>,
    scope: &str,
    key: &str,
) -> Result<()> {
    let shop = run.shop().to_string();
    let entry = run.stores.ledger.get(&shop, key).await?.ok_or_else(|| {
        SyncError::Internal(format!("planned effect {key} is missing from the ledger"))
    })?;
    let effect: Effect = serde_json::from_str(&entry.payload)
        .map_err(|e| SyncError::Internal(format!("ledger payload of {key} is unreadable: {e}")))?;

    if entry.status == LedgerStatus::Applied {
        // Settled by a run that stopped before its checkpoint: only its follow-ups may be missing.
        let record: SettledRecord = entry
            .result
            .as_deref()
            .and_then(|r| serde_json::from_str(r).ok())
            .ok_or_else(|| SyncError::Internal(format!("settled effect {key} has no record")))?;
        return adopt_follow_ups(run, cp, scope, task.kind(), &record).await;
    }

    if effect.target == System::Shopify && !run.settings.allow_outgoing_requests {
        let reason = "not sent: allow_outgoing_requests is off for this shop".to_string();
        run.stores
            .skipped
            .record_skipped(
                &shop,
                &[SkippedRecord {
                    job_id: run.job.job_id.clone(),
                    task: task.kind(),
                    record_id: effect.label.clone(),
                    reason: reason.clone(),
                    at: shopsync_domain::time::now_secs(),
                }],
            )
            .await?;
        run.counters.add(counters::EFFECTS_REFUSED, 1);
        run.counters.add(counters::SKIPPED_RECORDS, 1);
        let record = SettledRecord {
            outcome: serde_json::json!({ "refused": reason }),
            follow_ups_start: cp.total,
            follow_ups: Vec::new(),
        };
        return run
            .stores
            .ledger
            .complete(&shop, key, &to_json(&record)?)
            .await;
    }

    let outcome = match (entry.status, effect.kind) {
        (LedgerStatus::Sent, EffectKind::Probed) => match task.probe(run, &effect, key).await? {
            Some(found) => {
                run.counters.add(counters::EFFECTS_FOUND_BY_PROBE, 1);
                found
            }
            None => task.send(run, &effect, key).await?,
        },
        (LedgerStatus::Sent, EffectKind::Replayable) => {
            run.counters.add(counters::EFFECTS_REPLAYED, 1);
            task.send(run, &effect, key).await?
        }
        _ => {
            run.stores.ledger.mark_sent(&shop, key).await?;
            task.send(run, &effect, key).await?
        }
    };
    let settled = task.settle(run, &mut cp.state, &effect, &outcome).await?;
    let record = SettledRecord {
        outcome,
        follow_ups_start: cp.total,
        follow_ups: settled.follow_ups,
    };
    run.stores
        .ledger
        .complete(&shop, key, &to_json(&record)?)
        .await?;
    adopt_follow_ups(run, cp, scope, task.kind(), &record).await
}

/// Put a settled effect's follow-ups into the plan (idempotent: same keys, same payloads).
async fn adopt_follow_ups<S>(
    run: &mut TaskRun<'_>,
    cp: &mut Checkpoint<S>,
    scope: &str,
    task: TaskKind,
    record: &SettledRecord,
) -> Result<()> {
    if record.follow_ups.is_empty() {
        return Ok(());
    }
    write_effects(
        run,
        scope,
        task,
        cp.generation,
        record.follow_ups_start,
        &record.follow_ups,
    )
    .await?;
    let end = record.follow_ups_start + record.follow_ups.len();
    if end > cp.total {
        run.counters
            .add(counters::EFFECTS_PLANNED, (end - cp.total) as u64);
        cp.total = end;
    }
    Ok(())
}

/// What one invocation of a task did, including when it failed.
pub struct RunReport {
    pub result: Result<RunOutcome>,
    /// Counters of this invocation only.
    pub counters: JobCounters,
    /// Shopify cost points consumed by this invocation.
    pub cost_points: f64,
    /// Milliseconds this invocation waited for Shopify's cost bucket.
    pub throttle_wait_ms: u64,
}

impl RunReport {
    pub fn failed(error: SyncError) -> Self {
        RunReport {
            result: Err(error),
            counters: JobCounters::default(),
            cost_points: 0.0,
            throttle_wait_ms: 0,
        }
    }
}

/// One task, ready to run for any shop: what the runtime calls.
#[async_trait]
pub trait TaskRunner: Send + Sync {
    fn task(&self) -> TaskKind;
    async fn run(
        &self,
        settings: &ShopSettings,
        job: &JobRecord,
        progress: &dyn Progress,
    ) -> RunReport;
}

/// Any [`Task`] with its ports and client source is a [`TaskRunner`].
pub struct EngineRunner<T: Task> {
    pub task: T,
    pub ports: EnginePorts,
    pub clients: Arc<dyn ClientSource>,
}

#[async_trait]
impl<T: Task> TaskRunner for EngineRunner<T> {
    fn task(&self) -> TaskKind {
        self.task.kind()
    }

    async fn run(
        &self,
        settings: &ShopSettings,
        job: &JobRecord,
        progress: &dyn Progress,
    ) -> RunReport {
        let clients = match self.clients.clients(settings).await {
            Ok(c) => c,
            Err(e) => return RunReport::failed(e),
        };
        let cost_before = clients.shopify.cost_points_used();
        let wait_before = clients.shopify.throttle_wait_ms();
        let mut ctx = RunContext {
            settings,
            job,
            progress,
            counters: JobCounters::default(),
        };
        let result = run(&self.task, &self.ports, &clients, &mut ctx).await;
        if matches!(result, Err(SyncError::Auth { .. })) {
            // Credentials may have been revoked: build the clients afresh next time.
            self.clients.forget(&settings.code);
        }
        RunReport {
            result,
            counters: ctx.counters,
            cost_points: clients.shopify.cost_points_used() - cost_before,
            throttle_wait_ms: clients
                .shopify
                .throttle_wait_ms()
                .saturating_sub(wait_before),
        }
    }
}
