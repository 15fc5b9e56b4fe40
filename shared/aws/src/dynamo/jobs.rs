//! Job records (`JOB#<job_id>`): the single source of truth of a run, written only conditionally.
//!
//! Duplicate SQS deliveries, redeliveries after a crash and continuations all race on the same record;
//! the state machine is only safe if each transition is a compare-and-swap on what the writer last
//! saw. So `create_job` is `attribute_not_exists(pk)` (a second fan-out of the same job writes
//! nothing) and `update_job_if` is `#status = :s AND #seq = :q` (a stale message loses) `AND
//! (attribute_not_exists(epoch) OR epoch <= :e)` with `:e` the written record's epoch: the epoch is a
//! monotonic fencing token (every start and takeover moves it up), so once a takeover stored a newer
//! epoch, a write of the run it took the job from loses even with the right status and seq. A lost
//! condition is an answer (`Ok(false)`), not an error; any other failure is retryable storage trouble.
//!
//! Besides the JSON `body`, an item carries `status`, `seq` and `epoch` for the conditions (the
//! `epoch` also for the fence checks of the run stores, `fenced.rs`), `gsi1pk/gsi1sk` so
//! that `list_jobs(status)` is a Query on the sparse index, and `expires_at` (30 days after the last
//! update) so DynamoDB TTL removes old runs.
//!
//! The **waiting-job record** (`WAITING#<task>#<options>`, attribute `job_id`) names the job that manual
//! runs of that task and options join. A manual run creates its job and the record in one
//! `TransactWriteItems`: the job `attribute_not_exists(pk)`, the record `attribute_not_exists(pk)` or
//! `job_id = :replacing` (the job the caller read and found no longer waiting). So of any number of
//! concurrent requests that read the same record exactly one writes; the others re-read and join its
//! job. The record never names a job that was not written, and the scheduled fan-out overwrites it
//! with its own job once that job's message is out.

use super::{DynamoStore, GSI1, Item, JOB_TTL_SECS, body, get_opt_s, keys, n, s, to_json};
use crate::errors::storage;
use async_trait::async_trait;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use shopsync_domain::ports::{JobPage, JobStore, Result, WaitingJobCreate};
use shopsync_domain::{JobRecord, JobStatus, RunOptions, SyncError, TaskKind};
use std::collections::HashMap;

/// `list_jobs` returns at most this many records.
pub const MAX_JOB_LIST: usize = 100;

impl DynamoStore {
    fn job_item(&self, job: &JobRecord) -> Result<Item> {
        if job.shop.is_empty() || job.job_id.is_empty() {
            return Err(SyncError::Internal(
                "a job record needs a shop and a job id".into(),
            ));
        }
        let json = to_json(job, "job record")?;
        Ok(HashMap::from([
            ("pk".to_string(), s(keys::shop_pk(&job.shop))),
            ("sk".to_string(), s(keys::job_sk(&job.job_id))),
            ("body".to_string(), s(json)),
            ("status".to_string(), s(job.status.as_str())),
            ("seq".to_string(), n(job.seq)),
            ("epoch".to_string(), n(job.epoch)),
            ("task".to_string(), s(job.task.name())),
            (
                "gsi1pk".to_string(),
                s(keys::job_status_gsi_pk(&job.shop, job.status)),
            ),
            ("gsi1sk".to_string(), s(&job.job_id)),
            (
                "expires_at".to_string(),
                n(job.updated_at.max(job.created_at) + JOB_TTL_SECS),
            ),
        ]))
    }
}

impl DynamoStore {
    fn waiting_item(&self, job: &JobRecord) -> Result<Item> {
        Ok(HashMap::from([
            ("pk".to_string(), s(keys::shop_pk(&job.shop))),
            ("sk".to_string(), s(waiting_sk(job.task, &job.options)?)),
            ("job_id".to_string(), s(&job.job_id)),
            ("recorded_at".to_string(), n(job.updated_at)),
            (
                "expires_at".to_string(),
                n(job.updated_at.max(job.created_at) + JOB_TTL_SECS),
            ),
        ]))
    }
}

fn waiting_sk(task: TaskKind, options: &RunOptions) -> Result<String> {
    Ok(keys::waiting_sk(task, &to_json(options, "run options")?))
}

fn build_put(put: aws_sdk_dynamodb::types::builders::PutBuilder) -> Result<TransactWriteItem> {
    let put = put
        .build()
        .map_err(|e| SyncError::Internal(format!("transaction put: {e}")))?;
    Ok(TransactWriteItem::builder().put(put).build())
}

#[async_trait]
impl JobStore for DynamoStore {
    async fn create_job(&self, job: &JobRecord) -> Result<bool> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(self.job_item(job)?))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if crate::errors::is_condition_failed(&e) => Ok(false),
            Err(e) => Err(storage("PutItem new job", e)),
        }
    }

    async fn get_job(&self, shop: &str, job_id: &str) -> Result<Option<JobRecord>> {
        let Some(item) = self
            .get_item(shop, keys::job_sk(job_id), "GetItem job")
            .await?
        else {
            return Ok(None);
        };
        body(&item, "job record").map(Some)
    }

    async fn update_job_if(
        &self,
        job: &JobRecord,
        expected_status: JobStatus,
        expected_seq: u64,
    ) -> Result<bool> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(self.job_item(job)?))
            .condition_expression(
                "#status = :s AND #seq = :q AND (attribute_not_exists(#epoch) OR #epoch <= :e)",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#seq", "seq")
            .expression_attribute_names("#epoch", "epoch")
            .expression_attribute_values(":s", s(expected_status.as_str()))
            .expression_attribute_values(":q", n(expected_seq))
            .expression_attribute_values(":e", n(job.epoch))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if crate::errors::is_condition_failed(&e) => Ok(false),
            Err(e) => Err(storage("PutItem job update", e)),
        }
    }

    async fn list_jobs(
        &self,
        shop: &str,
        status: Option<JobStatus>,
        limit: usize,
    ) -> Result<Vec<JobRecord>> {
        let limit = limit.min(MAX_JOB_LIST);
        if limit == 0 {
            return Ok(Vec::new());
        }
        let items = match status {
            None => {
                self.query_prefix(shop, keys::JOB_PREFIX, false, Some(limit), "Query jobs")
                    .await?
            }
            Some(status) => {
                // The status index is eventually consistent: a job that just changed status may show
                // up under its old status for a moment. Listings are for people, so that is fine.
                let query = self
                    .client
                    .query()
                    .table_name(&self.table)
                    .index_name(GSI1)
                    .key_condition_expression("gsi1pk = :p")
                    .expression_attribute_values(":p", s(keys::job_status_gsi_pk(shop, status)))
                    .scan_index_forward(false);
                self.query_all(query, Some(limit), "Query jobs by status on gsi1")
                    .await?
            }
        };
        items.iter().map(|item| body(item, "job record")).collect()
    }

    async fn list_jobs_page(
        &self,
        shop: &str,
        status: Option<JobStatus>,
        limit: usize,
        before: Option<&str>,
    ) -> Result<JobPage> {
        let limit = limit.clamp(1, MAX_JOB_LIST);
        // One more than asked tells whether a next page exists; on the main table the range below is
        // inclusive, so the `before` job itself may come back too and is dropped.
        let want = limit + 1 + usize::from(before.is_some() && status.is_none());
        let query = match (status, before) {
            (None, None) => self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                .expression_attribute_values(":prefix", s(keys::JOB_PREFIX)),
            (None, Some(before)) => self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND sk BETWEEN :lo AND :hi")
                .expression_attribute_values(":lo", s(keys::JOB_PREFIX))
                .expression_attribute_values(":hi", s(keys::job_sk(before))),
            (Some(status), before) => {
                let q = self
                    .client
                    .query()
                    .table_name(&self.table)
                    .index_name(GSI1)
                    .expression_attribute_values(":p", s(keys::job_status_gsi_pk(shop, status)));
                match before {
                    None => q.key_condition_expression("gsi1pk = :p"),
                    Some(before) => q
                        .key_condition_expression("gsi1pk = :p AND gsi1sk < :before")
                        .expression_attribute_values(":before", s(before)),
                }
            }
        };
        let query = if status.is_none() {
            query
                .expression_attribute_values(":pk", s(keys::shop_pk(shop)))
                .consistent_read(true)
        } else {
            query
        };
        let items = self
            .query_all(
                query.scan_index_forward(false),
                Some(want),
                "Query a page of jobs",
            )
            .await?;
        let mut jobs = items
            .iter()
            .map(|item| body::<JobRecord>(item, "job record"))
            .collect::<Result<Vec<_>>>()?;
        if let Some(before) = before {
            jobs.retain(|j| j.job_id.as_str() != before);
        }
        let more = jobs.len() > limit;
        jobs.truncate(limit);
        let next_before = if more {
            jobs.last().map(|j| j.job_id.clone())
        } else {
            None
        };
        Ok(JobPage { jobs, next_before })
    }

    async fn waiting_job_id(
        &self,
        shop: &str,
        task: TaskKind,
        options: &RunOptions,
    ) -> Result<Option<String>> {
        let item = self
            .get_item(shop, waiting_sk(task, options)?, "GetItem waiting job")
            .await?;
        Ok(item.and_then(|i| get_opt_s(&i, "job_id").map(str::to_string)))
    }

    async fn create_waiting_job(
        &self,
        job: &JobRecord,
        replacing: Option<&str>,
    ) -> Result<WaitingJobCreate> {
        let create = build_put(
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(self.job_item(job)?))
                .condition_expression("attribute_not_exists(pk)"),
        )?;
        let record = Put::builder()
            .table_name(&self.table)
            .set_item(Some(self.waiting_item(job)?));
        let record = build_put(match replacing {
            None => record.condition_expression("attribute_not_exists(pk)"),
            Some(previous) => record
                .condition_expression("job_id = :previous")
                .expression_attribute_values(":previous", s(previous)),
        })?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(create)
            .transact_items(record)
            .send()
            .await;
        let err = match result {
            Ok(_) => return Ok(WaitingJobCreate::Created),
            Err(err) => err,
        };
        match err.as_service_error() {
            Some(TransactWriteItemsError::TransactionCanceledException(cancel)) => {
                // One reason per item, in order: the job, then the record.
                let codes: Vec<&str> = cancel
                    .cancellation_reasons()
                    .iter()
                    .map(|r| r.code().unwrap_or("None"))
                    .collect();
                if codes.first() == Some(&"ConditionalCheckFailed") {
                    Ok(WaitingJobCreate::JobExists)
                } else if codes.iter().all(|c| {
                    matches!(
                        *c,
                        "None" | "ConditionalCheckFailed" | "TransactionConflict"
                    )
                }) {
                    Ok(WaitingJobCreate::Superseded)
                } else {
                    Err(storage("TransactWriteItems new waiting job", err))
                }
            }
            Some(TransactWriteItemsError::TransactionInProgressException(_)) => {
                Ok(WaitingJobCreate::Superseded)
            }
            _ => Err(storage("TransactWriteItems new waiting job", err)),
        }
    }

    async fn record_waiting_job(&self, job: &JobRecord) -> Result<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(self.waiting_item(job)?))
            .send()
            .await
            .map_err(|e| storage("PutItem waiting job", e))?;
        Ok(())
    }
}
