//! The board of one shop and its drill-down lists (the cue meanings are in the crate docs).

use crate::StatusService;
use shopsync_domain::ports::Result;
use shopsync_domain::status::{Cue, CueEntry, CueFigure, Failure, StatusBoard};
use shopsync_domain::time::now_secs;
use shopsync_domain::{JobRecord, JobStatus};
use std::collections::BTreeMap;

/// Error kinds that mean Shopify or BC failed us (the `api_errors` cue).
pub const API_ERROR_KINDS: [&str; 4] = ["auth", "throttled", "transport", "upstream"];

/// Open failures read per shop to tell them apart from failed jobs.
const MAX_OPEN_FAILURES: usize = 1000;
/// Failed jobs listed in a drill-down at most (the job listing's own limit).
const MAX_JOB_ROWS: usize = 100;

fn is_api_kind(kind: &str) -> bool {
    API_ERROR_KINDS.contains(&kind)
}

fn failure_entry(f: &Failure) -> CueEntry {
    let source = serde_json::to_value(f.source)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default();
    CueEntry {
        id: f.id.clone(),
        detail: format!("on the dead-letter queue ({source}): {}", f.error),
        task: f.task,
        at: f.failed_at,
    }
}

fn job_entry(job: &JobRecord) -> CueEntry {
    CueEntry {
        id: job.job_id.clone(),
        detail: job
            .error
            .as_ref()
            .map(|e| e.message.clone())
            .unwrap_or_else(|| "the job failed without a recorded reason".into()),
        task: Some(job.task),
        at: job.finished_at.unwrap_or(job.updated_at),
    }
}

fn job_kind(job: &JobRecord) -> String {
    job.error
        .as_ref()
        .and_then(|e| serde_json::to_value(e.kind).ok())
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_else(|| "unknown".into())
}

/// A drill-down lists at most this many records (the record store's page limit).
const MAX_RECORD_ROWS: usize = 1000;

impl StatusService {
    /// The ten cues of `shop` in [`Cue::ALL`] order, its jobs per status and its open failures.
    pub async fn board(&self, shop: &str) -> Result<StatusBoard> {
        let now = now_secs();
        let mut jobs = BTreeMap::new();
        for status in JobStatus::ALL {
            let count = self.counts.count_jobs(shop, status).await?;
            if count > 0 {
                jobs.insert(status, count);
            }
        }
        let failed_jobs = jobs.get(&JobStatus::Failed).copied().unwrap_or(0);
        let open_failures = self.failures.count_open_failures(shop).await?;
        let unfailed = self.failures_without_failed_job(shop).await?;
        let kinds = self.counts.failed_jobs_by_kind(shop).await?;
        let api_jobs: u64 = kinds
            .iter()
            .filter(|(k, _)| is_api_kind(k))
            .map(|(_, n)| n)
            .sum();
        let api_failures = unfailed
            .iter()
            .filter(|f| is_api_kind(&f.error_kind))
            .count() as u64;

        let mut cues = Vec::with_capacity(Cue::ALL.len());
        for cue in Cue::ALL {
            let count = match cue {
                Cue::SynchronizationErrors => failed_jobs + unfailed.len() as u64,
                Cue::ApiErrors => api_jobs + api_failures,
                Cue::SkippedRecords => self.counts.count_skipped(shop, now).await?,
                _ => {
                    let mut count = 0;
                    if let Some((kind, status)) = cue.record_source() {
                        count += self.records.count_by_status(shop, kind, status).await?;
                    }
                    if cue.counts_entries() {
                        count += self.cues.count_entries(shop, cue).await?;
                    }
                    count
                }
            };
            cues.push(CueFigure::new(shop, cue, count));
        }
        Ok(StatusBoard {
            shop: shop.to_string(),
            generated_at: now,
            cues,
            jobs,
            open_failures,
        })
    }

    /// Open (and retrying) failures of the shop whose job is not `failed` — the ones the failed-jobs
    /// count does not already include.
    async fn failures_without_failed_job(&self, shop: &str) -> Result<Vec<Failure>> {
        let open = self.failures.open_failures(shop, MAX_OPEN_FAILURES).await?;
        let mut out = Vec::new();
        for f in open {
            let failed = match &f.job_id {
                Some(job_id) => self
                    .jobs
                    .get_job(shop, job_id)
                    .await?
                    .is_some_and(|j| j.status == JobStatus::Failed),
                None => false,
            };
            if !failed {
                out.push(f);
            }
        }
        Ok(out)
    }

    /// The rows behind one cue, newest first where rows have a time, at most `limit`.
    pub async fn drill_down(&self, shop: &str, cue: Cue, limit: usize) -> Result<Vec<CueEntry>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut rows = match cue {
            Cue::SynchronizationErrors | Cue::ApiErrors => {
                let api_only = cue == Cue::ApiErrors;
                let jobs = self
                    .jobs
                    .list_jobs(shop, Some(JobStatus::Failed), limit.min(MAX_JOB_ROWS))
                    .await?;
                let mut rows: Vec<CueEntry> = jobs
                    .iter()
                    .filter(|j| !api_only || is_api_kind(&job_kind(j)))
                    .map(job_entry)
                    .collect();
                rows.extend(
                    self.failures_without_failed_job(shop)
                        .await?
                        .iter()
                        .filter(|f| !api_only || is_api_kind(&f.error_kind))
                        .map(failure_entry),
                );
                rows
            }
            Cue::SkippedRecords => self
                .skipped
                .list_skipped(shop, limit)
                .await?
                .into_iter()
                .map(|r| CueEntry {
                    id: r.record_id,
                    detail: r.reason,
                    task: Some(r.task),
                    at: r.at,
                })
                .collect(),
            _ => {
                let mut rows = Vec::new();
                if let Some((kind, status)) = cue.record_source() {
                    rows.extend(
                        self.records
                            .list_by_status(shop, kind, status, None, limit.min(MAX_RECORD_ROWS))
                            .await?
                            .records
                            .into_iter()
                            .map(|r| CueEntry {
                                detail: shopsync_domain::staging::cue_detail(&r.body),
                                id: r.id,
                                task: None,
                                at: r.updated_at,
                            }),
                    );
                }
                if cue.counts_entries() {
                    rows.extend(self.cues.list_entries(shop, cue, limit).await?);
                }
                rows
            }
        };
        rows.sort_by(|a, b| b.at.cmp(&a.at).then(a.id.cmp(&b.id)));
        rows.truncate(limit);
        Ok(rows)
    }
}
