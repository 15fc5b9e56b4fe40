//! Job records and waiting-job records, as `dynamo/jobs.rs`.
//!
//! Mirrored conditions:
//!
//! - `create_job`: `attribute_not_exists(pk)` — `Ok(false)` and nothing written if the job exists.
//! - `update_job_if`: `#status = :s AND #seq = :q AND (attribute_not_exists(epoch) OR epoch <= :e)`
//!   on the stored item (`:e` the written record's epoch: a monotonic fencing token, so once a
//!   takeover stored a newer epoch, the run it took the job from loses), then the whole record is
//!   replaced; an absent job fails the condition (`Ok(false)`). Nothing else is checked — not the
//!   state machine (unless [`MemoryStore::with_strict_transitions`]), not the attempt count, so a
//!   stale writer holding the right `(status, seq)` and an epoch not older than the stored one
//!   wins, exactly as on DynamoDB.
//! - `create_waiting_job`: one transaction of the job (`attribute_not_exists(pk)`) and the waiting
//!   record (`attribute_not_exists(pk)` when `replacing` is `None`, `job_id = :previous`
//!   otherwise). A failed job condition answers `JobExists` (whatever the record's condition did),
//!   a failed record condition `Superseded`; either way nothing is written.
//! - `record_waiting_job`: unconditional put.
//! - A record with an empty shop or job id is refused with `SyncError::Internal` before any call.
//! - Listings are newest first by job id (`ScanIndexForward=false` on `JOB#<id>` or on the status
//!   index), at most 100; `list_jobs_page` returns jobs with an id strictly below `before`.
//!
//! The waiting record's key is the task and the JSON of the options, as the adapter's
//! `WAITING#<task>#<options>`.

use super::{Expiring, JOB_TTL_SECS, MemoryStore, Tables, WaitingRecord};
use crate::op;
use async_trait::async_trait;
use shopsync_domain::ports::{JobPage, JobStore, Result, WaitingJobCreate};
use shopsync_domain::{JobRecord, JobStatus, RunOptions, SyncError, TaskKind};

/// `list_jobs` returns at most this many records (as the adapter's `MAX_JOB_LIST`).
pub const MAX_JOB_LIST: usize = 100;

fn check_job(job: &JobRecord) -> Result<()> {
    if job.shop.is_empty() || job.job_id.is_empty() {
        return Err(SyncError::Internal(
            "a job record needs a shop and a job id".into(),
        ));
    }
    Ok(())
}

fn expiry(job: &JobRecord) -> i64 {
    job.updated_at.max(job.created_at) + JOB_TTL_SECS
}

fn stored(job: &JobRecord) -> Expiring<JobRecord> {
    Expiring {
        value: job.clone(),
        expires_at: expiry(job),
    }
}

fn waiting_sk(task: TaskKind, options: &RunOptions) -> Result<String> {
    let json = serde_json::to_string(options)
        .map_err(|e| SyncError::Internal(format!("cannot serialise run options: {e}")))?;
    Ok(format!("WAITING#{}#{json}", task.name()))
}

fn job_sk(job_id: &str) -> String {
    format!("JOB#{job_id}")
}

/// Jobs of `shop` (optionally of one status), newest first.
fn newest_first<'a>(
    t: &'a Tables,
    shop: &str,
    status: Option<JobStatus>,
) -> impl Iterator<Item = &'a JobRecord> {
    t.read(shop)
        .into_iter()
        .flat_map(|p| p.jobs.values().rev())
        .map(|j| &j.value)
        .filter(move |j| status.is_none_or(|s| j.status == s))
}

impl MemoryStore {
    fn allowed_move(&self, from: JobStatus, to: JobStatus) -> Result<()> {
        if !self.strict_transitions || from.can_become(to) || (from == to && !from.is_terminal()) {
            return Ok(());
        }
        Err(SyncError::Internal(format!(
            "test double (strict transitions): a job cannot go from {from} to {to}"
        )))
    }
}

#[async_trait]
impl JobStore for MemoryStore {
    async fn create_job(&self, job: &JobRecord) -> Result<bool> {
        check_job(job)?;
        self.op(op::CREATE_JOB, |t| {
            let p = t.shop(&job.shop);
            if p.jobs.contains_key(&job.job_id) {
                return Ok(false);
            }
            p.jobs.insert(job.job_id.clone(), stored(job));
            t.wrote(op::CREATE_JOB, &job.shop, job_sk(&job.job_id));
            Ok(true)
        })
    }

    async fn get_job(&self, shop: &str, job_id: &str) -> Result<Option<JobRecord>> {
        self.op(op::GET_JOB, |t| {
            Ok(t.read(shop)
                .and_then(|p| p.jobs.get(job_id))
                .map(|j| j.value.clone()))
        })
    }

    async fn update_job_if(
        &self,
        job: &JobRecord,
        expected_status: JobStatus,
        expected_seq: u64,
    ) -> Result<bool> {
        check_job(job)?;
        self.op(op::UPDATE_JOB_IF, |t| {
            let Some(current) = t.read(&job.shop).and_then(|p| p.jobs.get(&job.job_id)) else {
                return Ok(false);
            };
            if current.value.status != expected_status
                || current.value.seq != expected_seq
                || current.value.epoch > job.epoch
            {
                return Ok(false);
            }
            self.allowed_move(current.value.status, job.status)?;
            t.shop(&job.shop)
                .jobs
                .insert(job.job_id.clone(), stored(job));
            t.wrote(op::UPDATE_JOB_IF, &job.shop, job_sk(&job.job_id));
            Ok(true)
        })
    }

    async fn list_jobs(
        &self,
        shop: &str,
        status: Option<JobStatus>,
        limit: usize,
    ) -> Result<Vec<JobRecord>> {
        let limit = limit.min(MAX_JOB_LIST);
        self.op(op::LIST_JOBS, |t| {
            Ok(newest_first(t, shop, status).take(limit).cloned().collect())
        })
    }

    async fn list_jobs_page(
        &self,
        shop: &str,
        status: Option<JobStatus>,
        limit: usize,
        before: Option<&str>,
    ) -> Result<JobPage> {
        let limit = limit.clamp(1, MAX_JOB_LIST);
        self.op(op::LIST_JOBS_PAGE, |t| {
            let mut jobs: Vec<JobRecord> = newest_first(t, shop, status)
                .filter(|j| before.is_none_or(|b| j.job_id.as_str() < b))
                .take(limit + 1)
                .cloned()
                .collect();
            let more = jobs.len() > limit;
            jobs.truncate(limit);
            let next_before = if more {
                jobs.last().map(|j| j.job_id.clone())
            } else {
                None
            };
            Ok(JobPage { jobs, next_before })
        })
    }

    async fn waiting_job_id(
        &self,
        shop: &str,
        task: TaskKind,
        options: &RunOptions,
    ) -> Result<Option<String>> {
        let sk = waiting_sk(task, options)?;
        self.op(op::WAITING_JOB_ID, |t| {
            Ok(t.read(shop)
                .and_then(|p| p.waiting.get(&sk))
                .map(|w| w.job_id.clone()))
        })
    }

    async fn create_waiting_job(
        &self,
        job: &JobRecord,
        replacing: Option<&str>,
    ) -> Result<WaitingJobCreate> {
        check_job(job)?;
        let sk = waiting_sk(job.task, &job.options)?;
        self.op(op::CREATE_WAITING_JOB, |t| {
            let p = t.shop(&job.shop);
            if p.jobs.contains_key(&job.job_id) {
                return Ok(WaitingJobCreate::JobExists);
            }
            let recorded = p.waiting.get(&sk).map(|w| w.job_id.as_str());
            let record_ok = match replacing {
                None => recorded.is_none(),
                Some(previous) => recorded == Some(previous),
            };
            if !record_ok {
                return Ok(WaitingJobCreate::Superseded);
            }
            p.jobs.insert(job.job_id.clone(), stored(job));
            p.waiting.insert(
                sk.clone(),
                WaitingRecord {
                    job_id: job.job_id.clone(),
                    expires_at: expiry(job),
                },
            );
            t.wrote(op::CREATE_WAITING_JOB, &job.shop, job_sk(&job.job_id));
            t.wrote(op::CREATE_WAITING_JOB, &job.shop, sk);
            Ok(WaitingJobCreate::Created)
        })
    }

    async fn record_waiting_job(&self, job: &JobRecord) -> Result<()> {
        let sk = waiting_sk(job.task, &job.options)?;
        self.op(op::RECORD_WAITING_JOB, |t| {
            t.shop(&job.shop).waiting.insert(
                sk.clone(),
                WaitingRecord {
                    job_id: job.job_id.clone(),
                    expires_at: expiry(job),
                },
            );
            t.wrote(op::RECORD_WAITING_JOB, &job.shop, sk);
            Ok(())
        })
    }
}
