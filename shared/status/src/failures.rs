//! Failures: refreshing the mirror from the dead-letter queue, listing, retry and discard.
//!
//! Retry is idempotent by construction. Its steps are, each safe to repeat:
//! 1. Open → Retrying (conditional), storing a deterministic retry job id (the time of this first
//!    step and the message id), so every later call uses the same id;
//! 2. create that job (`create_job` is conditional: a repeat writes nothing);
//! 3. send its message to the task's queue (only while the job is still untouched `queued` at seq 0:
//!    a job a worker already took is not woken again; a duplicate send is harmless anyway, as workers
//!    start a job only by a conditional (status, seq) write);
//! 4. remove the dead-letter message;
//! 5. Retrying → Retried (conditional).
//!
//! A crash after any step leaves the failure Retrying with its job id; the next retry call resumes
//! there. A second call after success finds Retried and returns it without queuing anything.

use crate::parse::{ParsedFailure, parse_dead_letter};
use crate::{StatusService, visible_to};
use shopsync_domain::ports::Result;
use shopsync_domain::status::{Failure, FailureSource, FailureState};
use shopsync_domain::time::{now_millis, now_secs};
use shopsync_domain::{JobRecord, JobStatus, SyncError, TaskKind, Trigger};
use tracing::{info, warn};

/// A dead-letter message as seen by a refresh: what it says, and the failure stored for it.
pub(crate) struct Seen {
    pub parsed: ParsedFailure,
    pub stored: Failure,
}

fn not_found(id: &str) -> SyncError {
    SyncError::NotFound(format!("failure {id} does not exist"))
}

/// The deterministic id of the job that retries failure `id`, created at `millis`.
pub fn retry_job_id(task: TaskKind, millis: i64, failure_id: &str) -> String {
    let unique: String = failure_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(40)
        .collect();
    shopsync_domain::job::job_id(task, millis, &format!("retry-{unique}"))
}

/// What a retry needs from a failure: its shop, task and job.
fn retry_target(f: &Failure) -> Result<(String, TaskKind, String)> {
    let refuse = |why: &str| {
        SyncError::Conflict(format!(
            "failure {} cannot be retried: {why}; discard it instead",
            f.id
        ))
    };
    match f.source {
        FailureSource::AsyncInvoke => {
            return Err(refuse(
                "it is a failed scheduled invocation, which names no job (the schedule runs again at its next tick)",
            ));
        }
        FailureSource::Unreadable => {
            return Err(refuse(
                "its message could not be read, so there is no job to run again",
            ));
        }
        FailureSource::Worker | FailureSource::Redrive => {}
    }
    match (&f.shop, f.task, &f.job_id) {
        (Some(shop), Some(task), Some(job)) => Ok((shop.clone(), task, job.clone())),
        _ => Err(refuse("it names no shop, task and job to run again")),
    }
}

impl StatusService {
    /// Mirror every message on the dead-letter queue (never deleting one, except messages of
    /// failures already retried or discarded, whose removal is finished here).
    pub(crate) async fn refresh(&self, now: i64) -> Result<Vec<Seen>> {
        let messages = self.dlq.peek(self.max_peek).await?;
        let mut seen = Vec::with_capacity(messages.len());
        for m in &messages {
            if m.message_id.is_empty() {
                continue;
            }
            let parsed = parse_dead_letter(m, now);
            let stored = self.failures.record_failure(&parsed.failure, now).await?;
            if matches!(
                stored.state,
                FailureState::Retried | FailureState::Discarded
            ) {
                match self.dlq.remove(&stored.id).await {
                    Ok(true) => {
                        info!(failure = %stored.id, "removed the message of a closed failure")
                    }
                    Ok(false) => {}
                    Err(e) => {
                        warn!(failure = %stored.id, error = %e, "could not remove the message of a closed failure")
                    }
                }
            }
            seen.push(Seen { parsed, stored });
        }
        Ok(seen)
    }

    /// The failure `id` as `shop` may see it; a miss refreshes the mirror once (the message may have
    /// arrived since the last refresh). Another shop's failure is "not found".
    async fn find(&self, shop: Option<&str>, id: &str) -> Result<Failure> {
        if let Some(f) = self.failures.get_failure(shop, id).await? {
            return visible_to(&f, shop)
                .then_some(f)
                .ok_or_else(|| not_found(id));
        }
        self.refresh(now_secs()).await?;
        match self.failures.get_failure(shop, id).await? {
            Some(f) if visible_to(&f, shop) => Ok(f),
            _ => Err(not_found(id)),
        }
    }

    /// Failures of `shop` (`None` = every failure, for on-call), newest first, after mirroring the
    /// dead-letter queue. Retried and discarded failures stay listed for 30 days.
    pub async fn failures(&self, shop: Option<&str>, limit: usize) -> Result<Vec<Failure>> {
        self.refresh(now_secs()).await?;
        let list = self.failures.list_failures(shop, limit).await?;
        Ok(list.into_iter().filter(|f| visible_to(f, shop)).collect())
    }

    /// Run the failed job again as a new job (trigger `retry`, the original job's options) and
    /// remove the message from the dead-letter queue. Idempotent (see the module docs).
    pub async fn retry(&self, shop: Option<&str>, failure_id: &str) -> Result<Failure> {
        let now = now_secs();
        let mut f = self.find(shop, failure_id).await?;
        // Open → Retrying, re-reading when another call moved the failure first.
        for _ in 0..3 {
            match f.state {
                FailureState::Retried | FailureState::Retrying => break,
                FailureState::Discarded => {
                    return Err(SyncError::Conflict(format!(
                        "failure {failure_id} was discarded and its message removed; it cannot be retried"
                    )));
                }
                FailureState::Open => {
                    let (_, task, _) = retry_target(&f)?;
                    if self.queues.queue(task).is_none() {
                        return Err(no_queue(&f, task));
                    }
                    let mut next = f.clone();
                    next.state = FailureState::Retrying;
                    next.retry_job_id = Some(retry_job_id(task, now_millis(), &f.id));
                    if self
                        .failures
                        .update_failure_if(&next, FailureState::Open, now)
                        .await?
                    {
                        f = next;
                        break;
                    }
                    f = self.find(shop, failure_id).await?;
                }
            }
        }
        match f.state {
            FailureState::Retried => return Ok(f),
            FailureState::Retrying => {}
            _ => {
                return Err(SyncError::Conflict(format!(
                    "failure {failure_id} is being changed by another request; try again"
                )));
            }
        }
        let (job_shop, task, job_id) = retry_target(&f)?;
        let queue = self.queues.queue(task).ok_or_else(|| no_queue(&f, task))?;
        let retry_id = f.retry_job_id.clone().ok_or_else(|| {
            SyncError::Internal(format!("failure {failure_id} is retrying without a job id"))
        })?;

        let options = self
            .jobs
            .get_job(&job_shop, &job_id)
            .await?
            .map(|j| j.options)
            .unwrap_or_default();
        let job = JobRecord::new_queued(&job_shop, &retry_id, task, Trigger::Retry, options, now);
        let wake = if self.jobs.create_job(&job).await? {
            Some(job.message())
        } else {
            match self.jobs.get_job(&job_shop, &retry_id).await? {
                // Created by an earlier call that may have stopped before sending.
                Some(existing) if existing.status == JobStatus::Queued && existing.seq == 0 => {
                    Some(existing.message())
                }
                Some(_) => None,
                None => {
                    return Err(SyncError::Storage(format!(
                        "retry job {retry_id} exists and does not; try again"
                    )));
                }
            }
        };
        if let Some(message) = wake {
            queue.send(&message, 0).await?;
        }
        if !self.dlq.remove(&f.id).await? {
            info!(failure = %f.id, "dead-letter message not found for removal; a later refresh removes it if it is still there");
        }
        let mut done = f.clone();
        done.state = FailureState::Retried;
        if self
            .failures
            .update_failure_if(&done, FailureState::Retrying, now)
            .await?
        {
            info!(failure = %f.id, job_id = %retry_id, "failure retried");
            return Ok(done);
        }
        match self.failures.get_failure(shop, failure_id).await? {
            Some(g) if g.state == FailureState::Retried => Ok(g),
            _ => Err(SyncError::Conflict(format!(
                "failure {failure_id} changed while it was being retried; try again"
            ))),
        }
    }

    /// Remove the message from the dead-letter queue without running anything again.
    pub async fn discard(&self, shop: Option<&str>, failure_id: &str) -> Result<Failure> {
        let now = now_secs();
        let mut f = self.find(shop, failure_id).await?;
        for _ in 0..3 {
            match f.state {
                FailureState::Discarded => {
                    // Finish an earlier discard whose removal did not happen.
                    self.dlq.remove(&f.id).await?;
                    return Ok(f);
                }
                FailureState::Retried => {
                    return Err(SyncError::Conflict(format!(
                        "failure {failure_id} was already retried as job {}; there is nothing to discard",
                        f.retry_job_id.as_deref().unwrap_or("?")
                    )));
                }
                FailureState::Retrying => {
                    return Err(SyncError::Conflict(format!(
                        "failure {failure_id} is being retried; call retry again to finish it"
                    )));
                }
                FailureState::Open => {
                    let mut next = f.clone();
                    next.state = FailureState::Discarded;
                    if self
                        .failures
                        .update_failure_if(&next, FailureState::Open, now)
                        .await?
                    {
                        self.dlq.remove(&next.id).await?;
                        info!(failure = %next.id, "failure discarded");
                        return Ok(next);
                    }
                    f = self.find(shop, failure_id).await?;
                }
            }
        }
        Err(SyncError::Conflict(format!(
            "failure {failure_id} is being changed by another request; try again"
        )))
    }
}

fn no_queue(f: &Failure, task: TaskKind) -> SyncError {
    SyncError::Conflict(format!(
        "failure {} cannot be retried: this deployment has no queue for {task}; discard it instead",
        f.id
    ))
}
