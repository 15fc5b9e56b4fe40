//! The SQS worker: one job per message, with the guarantees of DESIGN §3.
//!
//! - The job record is the truth; a message only wakes a job up. Starting is a conditional write on
//!   the job's (status, seq), so of two deliveries of one message only one starts the job; a message
//!   for a finished job, or for a job running under a live lease, does nothing.
//! - A run holds the `(shop, category)` lease. A held lease defers the job (re-sent with a delay),
//!   counted, and after `max_deferrals` the job ends `skipped` — never `failed`.
//! - Near the deadline a task returns a checkpoint: the job goes back to `queued` with seq+1 and a
//!   continuation message. A crash leaves the job `running`; its lease expires and the redelivered
//!   message takes the job over from its last checkpoint.
//! - Retryable errors return the message as a batch item failure; on the queue's last receive, or for
//!   a permanent error, the message goes to the dead-letter queue with the reason and the job fails.

use crate::App;
use async_trait::async_trait;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use shopsync_domain::ErrorKind;
use shopsync_domain::SyncError;
use shopsync_domain::job::{JobCounters, JobError, JobMessage, JobRecord, JobStatus};
use shopsync_domain::ports::{DeadLetterReason, LeaseOutcome, Result, ScheduleStore};
use shopsync_domain::time::now_secs;
use shopsync_tasks::{Progress, RunOutcome};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tracing::{Instrument, error, info, info_span, warn};

/// Process a batch, at most `max_concurrent_runs` jobs at a time (memory stays bounded whatever the
/// batch holds); failed message ids are reported so SQS redelivers only those.
pub async fn handle_batch(app: &App, event: SqsEvent, deadline: Instant) -> SqsBatchResponse {
    use futures_util::StreamExt;
    let runs = event.records.into_iter().map(|m| async move {
        let id = m.message_id.clone().unwrap_or_default();
        let retry = handle_message(app, m, deadline).await;
        (id, retry)
    });
    let done: Vec<(String, bool)> = futures_util::stream::iter(runs)
        .buffer_unordered(app.config.max_concurrent_runs.max(1))
        .collect()
        .await;
    let mut response = SqsBatchResponse::default();
    for (id, retry) in done {
        if retry {
            response.add_failure(id);
        }
    }
    response
}

/// Returns true when the message must be redelivered.
async fn handle_message(app: &App, m: SqsMessage, deadline: Instant) -> bool {
    let body = m.body.clone().unwrap_or_default();
    let receive_count: u32 = m
        .attributes
        .get("ApproximateReceiveCount")
        .and_then(|c| c.parse().ok())
        .unwrap_or(1);
    let last_receive = receive_count >= app.config.max_receive_count;
    let msg: JobMessage = match serde_json::from_str(&body) {
        Ok(msg) => msg,
        Err(_) if let Some(outcome) = crate::pushed::handle(app, &body).await => {
            // A webhook pushed by Shopify through EventBridge (see `pushed`).
            return outcome.is_err();
        }
        Err(e) => {
            let reason = reason(
                None,
                ErrorKind::Validation,
                format!("unreadable job message: {e}"),
            );
            return dead_letter(app, &body, &reason).await.is_err();
        }
    };
    let task = app.runner.task();
    if msg.task != task {
        let why = format!("a {} message reached the {task} function", msg.task);
        return dead_letter(app, &body, &reason(Some(&msg), ErrorKind::Validation, why))
            .await
            .is_err();
    }
    let span =
        info_span!("job", shop = %msg.shop, task = %msg.task, job_id = %msg.job_id, seq = msg.seq);
    match process(app, &msg, &body, stop_at(app, deadline), last_receive)
        .instrument(span)
        .await
    {
        Ok(()) => false,
        Err(e) => {
            // The retry clock: back in seconds to minutes, growing with the receive count, instead of
            // the queue's visibility timeout (sized for a whole run, so 90 minutes).
            let after = app.config.retry_backoff_secs(receive_count);
            warn!(shop = %msg.shop, job_id = %msg.job_id, error = %e, retry_in_secs = after,
                "message will be redelivered");
            if let Some(handle) = m.receipt_handle.as_deref()
                && let Err(e2) = app.queue.retry_later(handle, after).await
            {
                warn!(error = %e2, "could not shorten the message's visibility; it returns after the queue's timeout");
            }
            true
        }
    }
}

fn reason(msg: Option<&JobMessage>, kind: ErrorKind, error: String) -> DeadLetterReason {
    DeadLetterReason {
        shop: msg.map(|m| m.shop.clone()),
        task: msg.map(|m| m.task.to_string()),
        job_id: msg.map(|m| m.job_id.clone()),
        error_kind: serde_json::to_value(kind)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default(),
        error,
    }
}

async fn dead_letter(app: &App, body: &str, reason: &DeadLetterReason) -> Result<()> {
    error!(error = %reason.error, "message sent to the dead-letter queue");
    app.queue.dead_letter(body, reason).await
}

/// When a run handed `deadline` by Lambda must stop: the deadline less the margin, and never later
/// than `max_run` from now.
fn stop_at(app: &App, deadline: Instant) -> Instant {
    let by_deadline = deadline
        .checked_sub(app.config.deadline_margin)
        .unwrap_or_else(Instant::now);
    match app.config.max_run {
        Some(max) => by_deadline.min(Instant::now() + max),
        None => by_deadline,
    }
}

/// Run a queued job now, in this process, until `budget` is spent (a manual run of a shop whose
/// background syncs are off). It goes through exactly the path of a queue delivery — conditional
/// start, lease, checkpoints — so it cannot collide with a worker. What is left when the budget runs
/// out continues from the queue: a continuation message, a deferral's delayed message, or (on a
/// retryable failure) the job's message sent here. Returns the job as it stands afterwards.
pub async fn run_in_foreground(app: &App, job: &JobRecord, budget: Duration) -> Result<JobRecord> {
    let msg = job.message();
    let body = serde_json::to_string(&msg)
        .map_err(|e| SyncError::Internal(format!("cannot serialise job message: {e}")))?;
    let span = info_span!("job", shop = %msg.shop, task = %msg.task, job_id = %msg.job_id, seq = msg.seq, foreground = true);
    let outcome = process(app, &msg, &body, Instant::now() + budget, false)
        .instrument(span)
        .await;
    let current = app
        .jobs
        .get_job(&job.shop, &job.job_id)
        .await?
        .ok_or_else(|| SyncError::NotFound(format!("job {} vanished", job.job_id)))?;
    if let Err(e) = outcome {
        // Retryable: the job is queued again (or still running under someone's live lease); hand it to
        // the queue so it finishes in the background, as SQS would redeliver it.
        warn!(error = %e, job_id = %job.job_id, "foreground run stopped; continuing in the background");
        if !current.status.is_terminal() {
            app.queue.send(&current.message(), 0).await?;
        }
    }
    Ok(current)
}

async fn process(
    app: &App,
    msg: &JobMessage,
    body: &str,
    stop_at: Instant,
    last_receive: bool,
) -> Result<()> {
    let Some(mut job) = app.jobs.get_job(&msg.shop, &msg.job_id).await? else {
        let why = format!("job {} of shop {} does not exist", msg.job_id, msg.shop);
        return dead_letter(app, body, &reason(Some(msg), ErrorKind::NotFound, why)).await;
    };
    if job.status.is_terminal() {
        info!(status = %job.status, "job already finished: duplicate delivery ignored");
        return Ok(());
    }
    let stale = match job.status {
        JobStatus::Running => msg.seq < job.seq,
        // seq+1 == job.seq: the previous message, redelivered because sending its successor failed.
        _ => msg.seq + 1 < job.seq,
    };
    if stale {
        info!(job_seq = job.seq, "stale message ignored");
        return Ok(());
    }

    let settings = match app.settings.get_shop(&msg.shop).await? {
        Some(s) if s.enabled => s,
        Some(_) => {
            return fail(
                app,
                &mut job,
                body,
                SyncError::Settings(format!("shop {} is disabled", msg.shop)),
            )
            .await;
        }
        None => {
            return fail(
                app,
                &mut job,
                body,
                SyncError::NotFound(format!("shop {} is not registered", msg.shop)),
            )
            .await;
        }
    };
    let category = settings.task(job.task).category;
    let owner = format!("{}#{}", job.job_id, uuid::Uuid::new_v4().simple());
    let ttl = app.config.lease_ttl_secs;
    match app
        .leases
        .acquire(&job.shop, &category, &owner, ttl, now_secs())
        .await?
    {
        LeaseOutcome::Acquired => {}
        LeaseOutcome::Held { owner: holder, .. } => {
            // Lease owners are `<job id>#<run>`: only a holder of this very job is its live run.
            let held_by_this_job = holder
                .split_once('#')
                .is_some_and(|(holder_job, _)| holder_job == job.job_id);
            if job.status == JobStatus::Running && held_by_this_job {
                // Either a duplicate of the running invocation's message, or the redelivery after a
                // crash that came before the dead run's lease expired. Keep the wake-up until the
                // lease can be judged again (the last receive lets it go: the holder is alive).
                if last_receive {
                    info!(
                        holder,
                        "job is running under a live lease: duplicate delivery dropped"
                    );
                    return Ok(());
                }
                return Err(SyncError::Conflict(format!(
                    "job is running under the live lease of {holder}; checking again later"
                )));
            }
            // Otherwise the job waits for the lease like any other: queued, deferred, or running with
            // a dead run (its lease expired and another job took it) — deferring keeps a message
            // behind it instead of dropping the wake-up and leaving it `running` for good.
            if msg.seq < job.seq {
                // The job was deferred but its delayed message may not have gone out: send it again.
                return app
                    .queue
                    .send(&job.message(), app.config.deferral_delay_secs)
                    .await;
            }
            return defer(app, &mut job, &holder).await;
        }
    }

    let result = start_and_run(
        app,
        &settings,
        job,
        &category,
        &owner,
        body,
        stop_at,
        last_receive,
    )
    .await;
    if let Err(e) = app.leases.release(&msg.shop, &category, &owner).await {
        warn!(error = %e, "could not release the lease; it expires by itself");
    }
    result
}

async fn defer(app: &App, job: &mut JobRecord, holder: &str) -> Result<()> {
    let (status, seq) = (job.status, job.seq);
    let now = now_secs();
    if job.deferrals >= app.config.max_deferrals {
        job.error = Some(JobError {
            kind: ErrorKind::Conflict,
            message: format!(
                "another run ({holder}) held the lease through {} deferrals",
                job.deferrals
            ),
        });
        job.transition(JobStatus::Skipped, now)
            .map_err(|e| SyncError::Internal(e.to_string()))?;
        app.jobs.update_job_if(job, status, seq).await?;
        if job.options.full {
            forget_full_run(app.schedules.as_ref(), job).await;
        }
        info!("job skipped after too many deferrals");
        return Ok(());
    }
    job.transition(JobStatus::Deferred, now)
        .map_err(|e| SyncError::Internal(e.to_string()))?;
    job.deferrals += 1;
    job.seq += 1;
    if !app.jobs.update_job_if(job, status, seq).await? {
        return Ok(());
    }
    info!(
        holder,
        deferrals = job.deferrals,
        "lease held: job deferred"
    );
    app.queue
        .send(&job.message(), app.config.deferral_delay_secs)
        .await
}

#[allow(clippy::too_many_arguments)]
async fn start_and_run(
    app: &App,
    settings: &shopsync_domain::ShopSettings,
    mut job: JobRecord,
    category: &str,
    owner: &str,
    body: &str,
    stop_at: Instant,
    last_receive: bool,
) -> Result<()> {
    let (status, seq) = (job.status, job.seq);
    job.transition(JobStatus::Running, now_secs())
        .map_err(|e| SyncError::Internal(e.to_string()))?;
    job.attempts += 1;
    if !app.jobs.update_job_if(&job, status, seq).await? {
        info!("another delivery started the job first");
        return Ok(());
    }
    info!(
        attempt = job.attempts,
        resumed = job.checkpoint.is_some(),
        "job running"
    );

    let base = job.counters.clone();
    let lease_lost = Arc::new(AtomicBool::new(false));
    let progress = JobProgress {
        jobs: app.jobs.clone(),
        job: tokio::sync::Mutex::new(job.clone()),
        base: base.clone(),
        stop_at,
        lease_lost: lease_lost.clone(),
    };
    let heartbeat = AbortOnDrop(spawn_heartbeat(app, &job.shop, category, owner, lease_lost));
    let run_started = Instant::now();
    let report = app.runner.run(settings, &job, &progress).await;
    drop(heartbeat);
    crate::metrics::emit(
        app.config.metrics,
        &crate::metrics::InvocationFigures {
            task: job.task,
            cost_points: report.cost_points,
            throttle_wait_ms: report.throttle_wait_ms,
            run_ms: run_started.elapsed().as_millis() as u64,
            finished: match &report.result {
                Ok(RunOutcome::Finished { warnings: true }) => {
                    Some(JobStatus::SucceededWithWarnings)
                }
                Ok(RunOutcome::Finished { warnings: false }) => Some(JobStatus::Succeeded),
                Ok(RunOutcome::Skipped { .. }) => Some(JobStatus::Skipped),
                Ok(RunOutcome::Continue { .. }) => None,
                Err(SyncError::Conflict(_) | SyncError::Fenced { .. }) => None,
                Err(e) if e.is_retryable() && !last_receive => None,
                Err(_) => Some(JobStatus::Failed),
            },
        },
    );

    let mut job = progress.job.into_inner();
    job.counters = sum(&base, &report.counters);
    job.cost_points_used += report.cost_points;
    let seq = job.seq;
    match settle_outcome(
        job,
        report.result,
        last_receive,
        app.config.max_receive_count,
        now_secs(),
    )? {
        Settlement::Finish(job) => {
            app.jobs
                .update_job_if(&job, JobStatus::Running, seq)
                .await?;
            info!(status = %job.status, cost = job.cost_points_used, "job ended");
            Ok(())
        }
        Settlement::Continue(job) => {
            if !app
                .jobs
                .update_job_if(&job, JobStatus::Running, seq)
                .await?
            {
                return Ok(());
            }
            info!(
                continuations = job.continuations,
                "deadline near: job continues in a new message"
            );
            app.queue.send(&job.message(), 0).await
        }
        Settlement::TakenOver => {
            warn!("job taken over by another run; stopping without another write");
            Ok(())
        }
        Settlement::Retry(job, e) => {
            app.jobs
                .update_job_if(&job, JobStatus::Running, seq)
                .await?;
            Err(e)
        }
        Settlement::Fail(mut job, kind, message) => {
            fail_with(app, &mut job, body, kind, message).await
        }
    }
}

/// What the end of a run means for its job: the pure half of finishing an invocation, so that every
/// outcome → job-state rule is unit-tested without storage.
#[derive(Debug, Clone)]
pub enum Settlement {
    /// Write the job in its final state (succeeded, with warnings, or skipped).
    Finish(JobRecord),
    /// Write the job back to `queued` at `seq + 1` and send its continuation message.
    Continue(JobRecord),
    /// Another run owns the job now: write nothing.
    TakenOver,
    /// Write the job back to `queued` with the error and hand the message back for redelivery.
    Retry(JobRecord, SyncError),
    /// Dead-letter the message and fail the job with this kind and message.
    Fail(JobRecord, ErrorKind, String),
}

/// Map a run's result onto the job (`job` is the job as the run left it, counters summed).
pub fn settle_outcome(
    mut job: JobRecord,
    result: Result<RunOutcome>,
    last_receive: bool,
    max_receive_count: u32,
    now: i64,
) -> Result<Settlement> {
    let internal = |e: shopsync_domain::job::InvalidTransition| SyncError::Internal(e.to_string());
    Ok(match result {
        Ok(RunOutcome::Finished { warnings }) => {
            let to = if warnings {
                JobStatus::SucceededWithWarnings
            } else {
                JobStatus::Succeeded
            };
            job.transition(to, now).map_err(internal)?;
            job.checkpoint = None;
            Settlement::Finish(job)
        }
        Ok(RunOutcome::Skipped { reason }) => {
            job.error = Some(JobError {
                kind: ErrorKind::Settings,
                message: reason,
            });
            job.transition(JobStatus::Skipped, now).map_err(internal)?;
            Settlement::Finish(job)
        }
        Ok(RunOutcome::Continue { checkpoint }) => {
            job.checkpoint = Some(checkpoint);
            job.transition(JobStatus::Queued, now).map_err(internal)?;
            job.seq += 1;
            job.continuations += 1;
            Settlement::Continue(job)
        }
        Err(SyncError::Fenced { .. }) => Settlement::TakenOver,
        Err(e) if e.is_retryable() && !last_receive => {
            job.error = Some(JobError {
                kind: e.kind(),
                message: e.to_string(),
            });
            job.transition(JobStatus::Queued, now).map_err(internal)?;
            Settlement::Retry(job, e)
        }
        Err(e) => {
            let message = if e.is_retryable() {
                format!("gave up after {max_receive_count} receives: {e}")
            } else {
                e.to_string()
            };
            Settlement::Fail(job, e.kind(), message)
        }
    })
}

fn sum(base: &JobCounters, more: &JobCounters) -> JobCounters {
    let mut total = base.clone();
    for (k, v) in &more.values {
        total.add(k, *v);
    }
    total
}

/// Fail the job permanently: dead-letter the message with the reason, then record the failure.
async fn fail(app: &App, job: &mut JobRecord, body: &str, e: SyncError) -> Result<()> {
    fail_with(app, job, body, e.kind(), e.to_string()).await
}

async fn fail_with(
    app: &App,
    job: &mut JobRecord,
    body: &str,
    kind: ErrorKind,
    message: String,
) -> Result<()> {
    let msg = job.message();
    dead_letter(app, body, &reason(Some(&msg), kind, message.clone())).await?;
    let (status, seq) = (job.status, job.seq);
    job.error = Some(JobError {
        kind,
        message: message.clone(),
    });
    job.transition(JobStatus::Failed, now_secs())
        .map_err(|t| SyncError::Internal(t.to_string()))?;
    app.jobs.update_job_if(job, status, seq).await?;
    error!(error = %message, "job failed");
    if job.options.full {
        forget_full_run(app.schedules.as_ref(), job).await;
    }
    Ok(())
}

/// A full run that did not happen must not count: the next tick queues another.
async fn forget_full_run(schedules: &dyn ScheduleStore, job: &JobRecord) {
    match schedules.get_schedule(&job.shop, job.task).await {
        Ok(mut s) => {
            s.last_full_at = None;
            if let Err(e) = schedules.put_schedule(&job.shop, job.task, &s).await {
                warn!(error = %e, "could not clear the full-run mark");
            }
        }
        Err(e) => warn!(error = %e, "could not read the schedule"),
    }
}

fn spawn_heartbeat(
    app: &App,
    shop: &str,
    category: &str,
    owner: &str,
    lost: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<()> {
    let leases = app.leases.clone();
    let ttl = app.config.lease_ttl_secs;
    let (shop, category, owner) = (shop.to_string(), category.to_string(), owner.to_string());
    tokio::spawn(async move {
        let every = Duration::from_secs((ttl / 3).max(1) as u64);
        loop {
            tokio::time::sleep(every).await;
            match leases
                .heartbeat(&shop, &category, &owner, ttl, now_secs())
                .await
            {
                Ok(true) => {}
                Ok(false) => {
                    warn!("lease lost: the run stops before its next effect");
                    lost.store(true, Ordering::SeqCst);
                    return;
                }
                Err(e) => warn!(error = %e, "lease heartbeat failed"),
            }
        }
    })
}

/// Stops the heartbeat when the run ends — also when the run's future is dropped mid-way, so a
/// killed run never keeps its lease alive.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Saves checkpoints on the job record (conditional on the job still being ours) and tells the task
/// when to stop.
struct JobProgress {
    jobs: Arc<dyn shopsync_domain::ports::JobStore>,
    job: tokio::sync::Mutex<JobRecord>,
    /// The job's counters when this invocation started.
    base: JobCounters,
    stop_at: Instant,
    /// Set by the heartbeat when it finds the lease taken.
    lease_lost: Arc<AtomicBool>,
}

#[async_trait]
impl Progress for JobProgress {
    async fn checkpoint(
        &self,
        checkpoint: &serde_json::Value,
        counters: &JobCounters,
    ) -> Result<()> {
        let mut job = self.job.lock().await;
        let mut next = job.clone();
        next.checkpoint = Some(checkpoint.clone());
        next.counters = sum(&self.base, counters);
        next.updated_at = now_secs();
        if !self
            .jobs
            .update_job_if(&next, JobStatus::Running, job.seq)
            .await?
        {
            return Err(SyncError::Fenced {
                job_id: job.job_id.clone(),
            });
        }
        *job = next;
        Ok(())
    }

    fn deadline_near(&self) -> bool {
        Instant::now() >= self.stop_at
    }

    fn lease_lost(&self) -> bool {
        self.lease_lost.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shopsync_domain::{RunOptions, TaskKind, Trigger};

    fn running() -> JobRecord {
        let mut job = JobRecord::new_queued(
            "DEMO",
            "1764370000000-sync-inventory-DEMO",
            TaskKind::SyncInventory,
            Trigger::Schedule,
            RunOptions::default(),
            100,
        );
        job.transition(JobStatus::Running, 110).unwrap();
        job.checkpoint = Some(serde_json::json!({"next": 3}));
        job
    }

    fn settle(result: Result<RunOutcome>, last_receive: bool) -> Settlement {
        settle_outcome(running(), result, last_receive, 5, 200).unwrap()
    }

    #[test]
    fn finished_runs_end_the_job_and_drop_the_checkpoint() {
        for (warnings, status) in [
            (false, JobStatus::Succeeded),
            (true, JobStatus::SucceededWithWarnings),
        ] {
            let Settlement::Finish(job) = settle(Ok(RunOutcome::Finished { warnings }), false)
            else {
                panic!("not finished")
            };
            assert_eq!(job.status, status);
            assert_eq!(job.checkpoint, None);
            assert_eq!(job.finished_at, Some(200));
        }
        let Settlement::Finish(job) = settle(
            Ok(RunOutcome::Skipped {
                reason: "nothing to do".into(),
            }),
            false,
        ) else {
            panic!("not skipped")
        };
        assert_eq!(job.status, JobStatus::Skipped);
        assert_eq!(job.error.unwrap().message, "nothing to do");
    }

    #[test]
    fn a_continuation_is_queued_at_the_next_seq_with_its_checkpoint() {
        let cp = serde_json::json!({"next": 7});
        let Settlement::Continue(job) = settle(
            Ok(RunOutcome::Continue {
                checkpoint: cp.clone(),
            }),
            true,
        ) else {
            panic!("not continued")
        };
        assert_eq!(
            (job.status, job.seq, job.continuations),
            (JobStatus::Queued, 1, 1)
        );
        assert_eq!(job.checkpoint, Some(cp));
    }

    #[test]
    fn retryable_errors_retry_until_the_last_receive_then_fail() {
        let busy = || SyncError::Storage("throttled".into());
        let Settlement::Retry(job, _) = settle(Err(busy()), false) else {
            panic!("not retried")
        };
        assert_eq!(job.status, JobStatus::Queued);
        assert_eq!(job.checkpoint, Some(serde_json::json!({"next": 3})), "kept");
        let Settlement::Fail(_, kind, message) = settle(Err(busy()), true) else {
            panic!("not failed")
        };
        assert_eq!(kind, ErrorKind::Storage);
        assert!(message.starts_with("gave up after 5 receives"), "{message}");
    }

    #[test]
    fn permanent_errors_fail_at_once_and_a_fenced_run_writes_nothing() {
        let auth = SyncError::Auth {
            service: "shopify",
            status: 401,
            message: "bad token".into(),
        };
        assert!(matches!(
            settle(Err(auth), false),
            Settlement::Fail(_, ErrorKind::Auth, _)
        ));
        for last in [false, true] {
            assert!(matches!(
                settle(Err(SyncError::Fenced { job_id: "j".into() }), last),
                Settlement::TakenOver
            ));
        }
    }
}
