//! At most one waiting job per shop, task and options (the reference keeps one job queue entry
//! waiting per report): a manual run, a webhook burst or a schedule tick that finds a job of the same
//! task and options still waiting joins it instead of queuing another.
//!
//! Shared by the api function (manual runs) and the worker (pushed events), so both coalesce by the
//! same rule and race safely with each other: the job and the waiting-job record are written in one
//! conditional write ([`JobStore::create_waiting_job`]), so of any number of concurrent callers exactly
//! one creates a job and the others join it.

use crate::job::{JobRecord, RunOptions, Trigger};
use crate::ports::{JobStore, Result, WaitingJobCreate};
use crate::{SyncError, TaskKind};

/// Attempts before giving up when other callers keep replacing the record under us.
pub const MAX_PLACE_ATTEMPTS: usize = 8;

/// Where a request's job ended up.
#[derive(Debug, Clone, PartialEq)]
pub enum Placed {
    /// This caller created it (and sends or runs it).
    Created(JobRecord),
    /// The job with this caller's own id exists already (a concurrent request with the same
    /// idempotency key, or an event of the same debounce window): send nothing.
    Exists(JobRecord),
    /// Another job of the same task and options is waiting for the shop: join it; send nothing.
    Joined(JobRecord),
}

/// Find or create the job `id` of `shop`'s `task` with `options`: join the shop's waiting job of the
/// same task and options if there is one, else create the job and record it as the waiting one,
/// atomically and only if the record is still what was read.
pub async fn place_job(
    jobs: &dyn JobStore,
    shop: &str,
    task: TaskKind,
    options: &RunOptions,
    id: &str,
    trigger: Trigger,
    now: i64,
) -> Result<Placed> {
    for _ in 0..MAX_PLACE_ATTEMPTS {
        let recorded = jobs.waiting_job_id(shop, task, options).await?;
        if let Some(waiting) = &recorded
            && let Some(job) = jobs.get_job(shop, waiting).await?
        {
            if job.job_id == id {
                return Ok(Placed::Exists(job));
            }
            if job.is_waiting(crate::time::now_secs()) {
                return Ok(Placed::Joined(job));
            }
        }
        let job = JobRecord::new_queued(shop, id, task, trigger, options.clone(), now);
        match jobs.create_waiting_job(&job, recorded.as_deref()).await? {
            WaitingJobCreate::Created => return Ok(Placed::Created(job)),
            WaitingJobCreate::JobExists => {
                let job = jobs.get_job(shop, id).await?.ok_or_else(|| {
                    SyncError::Storage(format!("job {id} exists and does not; try again"))
                })?;
                return Ok(Placed::Exists(job));
            }
            WaitingJobCreate::Superseded => {}
        }
    }
    Err(SyncError::Storage(
        "too many concurrent run requests for this shop and task; try again".into(),
    ))
}
