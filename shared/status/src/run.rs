//! The scheduled status run (every five minutes): mirror the dead-letter queue, fail the jobs whose
//! only wake-up message is dead-lettered, and publish every shop's board as EMF metrics.
//!
//! Why jobs must be failed here: a worker that gives up dead-letters the message and fails the job
//! itself, but when SQS redrives a message (every attempt crashed or timed out) no code of ours runs,
//! and the job would stay `queued` or `running` forever. A job is failed only if the dead-lettered
//! message is its current wake-up (the worker's own staleness rule on `seq`), and only by a
//! conditional write, so a run that is in fact alive loses nothing but its next checkpoint.
//!
//! A retry that stopped after its dead-letter message was removed (but before the failure was marked
//! retried) is finished here too: its failure is `retrying` and no longer on the queue (and its claim
//! released or expired; a retry in progress keeps its claim and is left alone).
//!
//! The run also sweeps every shop's jobs for ones left `queued`, `deferred` or `running` with nothing
//! behind them (a lost message, a run that died on its queue's last delivery) and wakes them up.
//!
//! Every run refreshes the failure mirror from the whole queue and records the time; requests read
//! the mirror and refresh it themselves only when it is stale (see the crate docs).

use crate::StatusService;
use crate::emf::{NAMESPACE, board_document, emf_document};
use crate::failures::Seen;
use serde::Serialize;
use shopsync_domain::job::JobError;
use shopsync_domain::ports::Result;
use shopsync_domain::status::{FailureSource, FailureState};
use shopsync_domain::{ErrorKind, JobStatus, SyncError};
use std::collections::HashSet;
use tracing::{info, warn};

/// What one status run did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StatusRunReport {
    /// Epoch seconds.
    pub generated_at: i64,
    /// Messages on the dead-letter queue (visible + in flight).
    pub dead_letter_depth: u64,
    /// Messages the peek saw.
    pub messages_seen: usize,
    /// Of those, open or retrying failures.
    pub open_failures: usize,
    /// Jobs this run failed, as `<shop>/<job_id>`.
    pub jobs_failed: Vec<String>,
    /// Failures whose interrupted retry this run finished.
    pub retries_finished: Vec<String>,
    /// Jobs the sweep woke up (a message re-sent), as `<shop>/<job_id>`.
    pub jobs_resumed: Vec<String>,
    /// Shops whose board was published.
    pub shops: Vec<String>,
    /// Shops whose board could not be computed, with the reason.
    pub board_errors: Vec<String>,
    /// The EMF lines printed (one per shop, then the shop-less one).
    pub emf: Vec<String>,
}

fn error_kind(name: &str) -> ErrorKind {
    serde_json::from_value(serde_json::Value::String(name.to_string()))
        .unwrap_or(ErrorKind::Internal)
}

impl StatusService {
    /// The scheduled run. `now` is epoch seconds.
    pub async fn status_run(&self, now: i64) -> Result<StatusRunReport> {
        let seen = self.refresh_all(now).await?;
        let mut report = StatusRunReport {
            generated_at: now,
            messages_seen: seen.len(),
            open_failures: seen
                .iter()
                .filter(|s| matches!(s.stored.state, FailureState::Open | FailureState::Retrying))
                .count(),
            ..StatusRunReport::default()
        };
        for s in &seen {
            match self.fail_dead_lettered_job(s, now).await {
                Ok(Some(job)) => report.jobs_failed.push(job),
                Ok(None) => {}
                Err(e) => {
                    warn!(failure = %s.stored.id, error = %e, "could not fail the dead-lettered job")
                }
            }
        }
        let all_settings = self.settings.list_shops().await?;
        for shop in &all_settings {
            match self.sweep_orphaned_jobs(shop, now).await {
                Ok((resumed, failed)) => {
                    report.jobs_resumed.extend(resumed);
                    report.jobs_failed.extend(failed);
                }
                Err(e) => warn!(shop = %shop.code, error = %e, "could not sweep the shop's jobs"),
            }
        }
        let shops: Vec<String> = all_settings.into_iter().map(|s| s.code).collect();
        let on_queue: HashSet<&str> = seen.iter().map(|s| s.stored.id.as_str()).collect();
        for shop in &shops {
            match self.finish_interrupted_retries(shop, &on_queue).await {
                Ok(done) => report.retries_finished.extend(done),
                Err(e) => warn!(shop = %shop, error = %e, "could not look for interrupted retries"),
            }
        }
        report.dead_letter_depth = self.dlq.depth().await?;

        let ms = now.saturating_mul(1000);
        for shop in shops {
            match self.board(&shop).await {
                Ok(board) => {
                    report.emf.push(board_document(ms, &board).to_string());
                    report.shops.push(shop);
                }
                Err(e) => {
                    warn!(shop = %shop, error = %e, "status board failed");
                    report.board_errors.push(format!("{shop}: {e}"));
                }
            }
        }
        let unattributed = seen
            .iter()
            .filter(|s| {
                s.stored.shop.is_none()
                    && matches!(s.stored.state, FailureState::Open | FailureState::Retrying)
            })
            .count() as u64;
        report.emf.push(
            emf_document(
                ms,
                NAMESPACE,
                &[],
                &[
                    ("DeadLetterDepth".into(), report.dead_letter_depth),
                    ("UnattributedFailures".into(), unattributed),
                ],
            )
            .to_string(),
        );
        if self.print_emf {
            for line in &report.emf {
                println!("{line}");
            }
        }
        info!(
            depth = report.dead_letter_depth,
            seen = report.messages_seen,
            jobs_failed = report.jobs_failed.len(),
            shops = report.shops.len(),
            "status run finished"
        );
        Ok(report)
    }

    /// Wake up the jobs left with nothing behind them: `queued` or `deferred` ones whose message was
    /// lost, and `running` ones whose run died and whose last delivery was used up (no lease of
    /// theirs is alive). Re-sending the job's message is safe — the worker starts a job only by a
    /// conditional write and takes a dead run over from its checkpoint — and a job that was taken
    /// over [`MAX_SWEEP_ATTEMPTS`](crate::MAX_SWEEP_ATTEMPTS) times is failed instead.
    async fn sweep_orphaned_jobs(
        &self,
        shop: &shopsync_domain::ShopSettings,
        now: i64,
    ) -> Result<(Vec<String>, Vec<String>)> {
        let (mut resumed, mut failed) = (Vec::new(), Vec::new());
        for status in [JobStatus::Running, JobStatus::Queued, JobStatus::Deferred] {
            for mut job in self
                .jobs
                .list_jobs(&shop.code, Some(status), crate::MAX_PEEK)
                .await?
            {
                let quiet_for = if status == JobStatus::Running {
                    self.running_orphan_after_secs
                } else {
                    self.orphan_after_secs
                };
                if job.status != status || now - job.updated_at < quiet_for {
                    continue;
                }
                let Some(queue) = self.queues.queue(job.task) else {
                    continue;
                };
                if status == JobStatus::Running {
                    let category = shop.task(job.task).category;
                    let alive = self
                        .leases
                        .holder(&shop.code, &category)
                        .await?
                        .is_some_and(|(owner, expires_at)| {
                            expires_at >= now
                                && owner
                                    .split_once('#')
                                    .is_some_and(|(holder, _)| holder == job.job_id)
                        });
                    if alive {
                        continue;
                    }
                    if job.attempts >= crate::MAX_SWEEP_ATTEMPTS {
                        let seq = job.seq;
                        job.error = Some(JobError {
                            kind: ErrorKind::Internal,
                            message: format!(
                                "abandoned: its run died {} times with nothing left to wake it",
                                job.attempts
                            ),
                        });
                        if job.transition(JobStatus::Failed, now).is_ok()
                            && self.jobs.update_job_if(&job, status, seq).await?
                        {
                            failed.push(format!("{}/{}", shop.code, job.job_id));
                        }
                        continue;
                    }
                }
                queue.send(&job.message(), 0).await?;
                info!(shop = %shop.code, job = %job.job_id, %status, "orphaned job woken up");
                resumed.push(format!("{}/{}", shop.code, job.job_id));
            }
        }
        Ok((resumed, failed))
    }

    /// Finish the retries that stopped after removing their dead-letter message (a crash before the
    /// failure was marked retried): nobody would call retry again for a failure that left the queue,
    /// and it would count as open until its TTL. Finishing is the idempotent retry itself.
    async fn finish_interrupted_retries(
        &self,
        shop: &str,
        on_queue: &HashSet<&str>,
    ) -> Result<Vec<String>> {
        let mut done = Vec::new();
        for f in self.failures.open_failures(shop, crate::MAX_PEEK).await? {
            if f.state != FailureState::Retrying || on_queue.contains(f.id.as_str()) {
                continue;
            }
            match self.retry(Some(shop), &f.id).await {
                Ok(g) if g.state == FailureState::Retried => {
                    info!(shop, failure = %f.id, "interrupted retry finished");
                    done.push(f.id);
                }
                // Another call holds the retry's claim: it is not interrupted, it is in progress.
                Ok(_) => {}
                Err(e) => {
                    warn!(shop, failure = %f.id, error = %e, "could not finish an interrupted retry")
                }
            }
        }
        Ok(done)
    }

    /// Fail the job of a dead-lettered message if the message is the job's current wake-up and the
    /// job has not finished. Returns `<shop>/<job_id>` when it did.
    async fn fail_dead_lettered_job(&self, s: &Seen, now: i64) -> Result<Option<String>> {
        let f = &s.stored;
        if !matches!(f.state, FailureState::Open | FailureState::Retrying)
            || !matches!(f.source, FailureSource::Worker | FailureSource::Redrive)
        {
            return Ok(None);
        }
        let (Some(shop), Some(job_id), Some(seq)) = (&f.shop, &f.job_id, s.parsed.seq) else {
            return Ok(None);
        };
        let Some(mut job) = self.jobs.get_job(shop, job_id).await? else {
            return Ok(None);
        };
        if job.status.is_terminal() {
            return Ok(None);
        }
        let stale = match job.status {
            JobStatus::Running => seq < job.seq,
            _ => seq + 1 < job.seq,
        };
        if stale {
            return Ok(None);
        }
        let (status, old_seq) = (job.status, job.seq);
        let kind = error_kind(&f.error_kind);
        job.error = Some(JobError {
            kind,
            message: format!("its message is on the dead-letter queue: {}", f.error),
        });
        job.transition(JobStatus::Failed, now)
            .map_err(|e| SyncError::Internal(e.to_string()))?;
        if self.jobs.update_job_if(&job, status, old_seq).await? {
            warn!(shop = %shop, job_id = %job_id, was = %status, "job failed: its message is on the dead-letter queue");
            Ok(Some(format!("{shop}/{job_id}")))
        } else {
            Ok(None)
        }
    }
}
