//! Failures: the mirror of the dead-letter queue, listing, retry and discard.
//!
//! Retry is idempotent by construction, and concurrent retries of one failure send one message.
//! Its steps are, each safe to repeat:
//! 1. **claim**: Open → Retrying, storing a deterministic retry job id (the time of this step and the
//!    message id) and a claim (a token of this call, valid [`RETRY_CLAIM_SECS`]), by a conditional
//!    write that fails while another call's claim is live. Of concurrent calls exactly one wins; every
//!    other answers with the failure as it stands (retrying, naming the winner's retry job) and sends
//!    nothing. A call that finds the failure Retrying takes it over only if no live claim is on it;
//! 2. create that job (`create_job` is conditional: a repeat writes nothing);
//! 3. send its message to the task's queue (only while the job is still untouched `queued` at seq 0:
//!    a job a worker already took is not woken again);
//! 4. remove the dead-letter message;
//! 5. Retrying → Retried (conditional; the claim goes with it).
//!
//! A call that fails at steps 2–5 releases its claim, so the next retry call resumes there at once;
//! a call that crashes leaves its claim to expire, after which the next retry call or status run
//! resumes. A call after success finds Retried and returns it without queuing anything.

use crate::parse::{ParsedFailure, parse_dead_letter};
use crate::{RETRY_CLAIM_SECS, StatusService, visible_to};
use shopsync_domain::ports::Result;
use shopsync_domain::status::{Failure, FailureSource, FailureState};
use shopsync_domain::status_ports::FailureClaim;
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

/// How one refresh reads the queue.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PeekBounds {
    pub max_messages: usize,
    pub max_receives: usize,
    /// Remove the messages of failures already closed (the status run does; a request does not,
    /// since each removal may receive many messages).
    pub remove_closed: bool,
}

impl StatusService {
    /// Mirror the messages a peek within `bounds` sees (never deleting one, except, with
    /// `remove_closed`, messages of failures already retried or discarded).
    pub(crate) async fn refresh(&self, now: i64, bounds: PeekBounds) -> Result<Vec<Seen>> {
        let messages = self
            .dlq
            .peek_bounded(bounds.max_messages, bounds.max_receives)
            .await?;
        let mut seen = Vec::with_capacity(messages.len());
        for m in &messages {
            if m.message_id.is_empty() {
                continue;
            }
            let parsed = parse_dead_letter(m, now);
            let stored = self.failures.record_failure(&parsed.failure, now).await?;
            if bounds.remove_closed
                && matches!(
                    stored.state,
                    FailureState::Retried | FailureState::Discarded
                )
            {
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

    /// The status run's refresh: the whole queue (up to `max_peek` messages), then the mirror's
    /// refresh time.
    pub(crate) async fn refresh_all(&self, now: i64) -> Result<Vec<Seen>> {
        let before = self.failures.mirror_refreshed_at().await?;
        let bounds = PeekBounds {
            max_messages: self.max_peek,
            max_receives: usize::MAX,
            remove_closed: true,
        };
        let seen = self.refresh(now, bounds).await?;
        if !self
            .failures
            .swap_mirror_refreshed_at(before, now.max(before.unwrap_or(0)))
            .await?
        {
            info!("a request refreshed the failure mirror meanwhile");
        }
        Ok(seen)
    }

    /// Within a request: refresh the mirror only if its last refresh is older than the bound, with
    /// a bounded peek, and only if no other request just began doing so (compare-and-swap on the
    /// refresh time). Returns whether this call refreshed it. A queue that cannot be read leaves the
    /// mirror as it is (stale, so the next request tries again) and the answer comes from it.
    pub(crate) async fn refresh_if_stale(&self, now: i64) -> Result<bool> {
        let last = self.failures.mirror_refreshed_at().await?;
        if last.is_some_and(|t| now - t < self.mirror_max_age) {
            return Ok(false);
        }
        if !self.failures.swap_mirror_refreshed_at(last, now).await? {
            return Ok(false);
        }
        let bounds = PeekBounds {
            max_messages: self.on_demand_max_messages,
            max_receives: self.on_demand_max_receives,
            remove_closed: false,
        };
        match self.refresh(now, bounds).await {
            Ok(_) => Ok(true),
            Err(e) => {
                warn!(error = %e, "could not refresh the failure mirror; answering from it as it is");
                if let Err(e2) = self
                    .failures
                    .swap_mirror_refreshed_at(Some(now), last.unwrap_or(0))
                    .await
                {
                    warn!(error = %e2, "could not mark the failure mirror stale again");
                }
                Ok(false)
            }
        }
    }

    /// The failure `id` as `shop` may see it, from the mirror; a miss refreshes a stale mirror once
    /// (bounded) and never peeks the whole queue. Another shop's failure is "not found".
    async fn find(&self, shop: Option<&str>, id: &str) -> Result<Failure> {
        if let Some(f) = self.failures.get_failure(shop, id).await? {
            return visible_to(&f, shop)
                .then_some(f)
                .ok_or_else(|| not_found(id));
        }
        if self.refresh_if_stale(now_secs()).await?
            && let Some(f) = self.failures.get_failure(shop, id).await?
            && visible_to(&f, shop)
        {
            return Ok(f);
        }
        Err(not_found(id))
    }

    /// Failures of `shop` (`None` = every failure, for on-call), newest first, from the mirror
    /// (refreshed first if it is stale). Retried and discarded failures stay listed for 30 days.
    pub async fn failures(&self, shop: Option<&str>, limit: usize) -> Result<Vec<Failure>> {
        self.refresh_if_stale(now_secs()).await?;
        let list = self.failures.list_failures(shop, limit).await?;
        Ok(list.into_iter().filter(|f| visible_to(f, shop)).collect())
    }

    /// Run the failed job again as a new job (trigger `retry`, the original job's options) and
    /// remove the message from the dead-letter queue. Idempotent, and one message however many call
    /// at once (see the module docs). A call that finds another call's retry in progress answers with
    /// the failure as it stands: `retrying`, naming that retry's job.
    pub async fn retry(&self, shop: Option<&str>, failure_id: &str) -> Result<Failure> {
        let now = now_secs();
        let claim = FailureClaim {
            owner: uuid::Uuid::new_v4().simple().to_string(),
            until: now + RETRY_CLAIM_SECS,
        };
        let mut f = self.find(shop, failure_id).await?;
        for _ in 0..4 {
            let claimed = match f.state {
                FailureState::Retried => return Ok(f),
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
                    let won = self
                        .failures
                        .claim_failure(&next, FailureState::Open, &claim, now)
                        .await?;
                    if won {
                        f = next;
                    }
                    won
                }
                // An earlier call's retry: taken over only if that call's claim is gone (it stopped
                // with an error) or expired (it crashed).
                FailureState::Retrying => {
                    self.failures
                        .claim_failure(&f, FailureState::Retrying, &claim, now)
                        .await?
                }
            };
            if claimed {
                return match self.finish_retry(shop, &f, now).await {
                    Ok(done) => Ok(done),
                    Err(e) => {
                        if let Err(e2) = self.failures.release_failure_claim(&f, &claim.owner).await
                        {
                            warn!(failure = %f.id, error = %e2, "could not release the retry claim; it expires by itself");
                        }
                        Err(e)
                    }
                };
            }
            let was = f.state;
            f = match self.failures.get_failure(shop, failure_id).await? {
                Some(g) if visible_to(&g, shop) => g,
                _ => return Err(not_found(failure_id)),
            };
            if was == FailureState::Retrying && f.state == FailureState::Retrying {
                info!(failure = %f.id, job_id = f.retry_job_id.as_deref().unwrap_or("?"),
                    "another call is retrying this failure; answering with its job");
                return Ok(f);
            }
        }
        Err(SyncError::Conflict(format!(
            "failure {failure_id} is being changed by another request; try again"
        )))
    }

    /// Steps 2–5 of a retry whose claim this call holds (`f` is `retrying` with its job id).
    async fn finish_retry(&self, shop: Option<&str>, f: &Failure, now: i64) -> Result<Failure> {
        let failure_id = f.id.as_str();
        let (job_shop, task, job_id) = retry_target(f)?;
        let queue = self.queues.queue(task).ok_or_else(|| no_queue(f, task))?;
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
            info!(failure = %f.id, "dead-letter message not found for removal; a later status run removes it if it is still there");
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
