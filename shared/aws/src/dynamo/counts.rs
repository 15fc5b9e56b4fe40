//! The counts of the status board that come from existing items: jobs per status (the status index)
//! and skipped records (the shop's `SKIP#` range). Each is a `Select=COUNT` Query — DynamoDB counts
//! on its side and returns no items — except the failed jobs per error kind, which must read the
//! error of each failed job (still one Query on the shop's failed-jobs partition of the index, never
//! a scan).

use super::{DynamoStore, body, keys, n, s};
use async_trait::async_trait;
use shopsync_domain::ports::Result;
use shopsync_domain::status_ports::StatusCounts;
use shopsync_domain::{JobRecord, JobStatus};
use std::collections::BTreeMap;

#[async_trait]
impl StatusCounts for DynamoStore {
    async fn count_jobs(&self, shop: &str, status: JobStatus) -> Result<u64> {
        let query = self.gsi1_query(keys::job_status_gsi_pk(shop, status), true);
        self.query_count(query, "Query jobs by status (count) on gsi1")
            .await
    }

    async fn count_skipped(&self, shop: &str, now: i64) -> Result<u64> {
        // TTL deletes lazily (up to days late): expired records are filtered out of the count.
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .filter_expression("attribute_not_exists(expires_at) OR expires_at > :now")
            .expression_attribute_values(":pk", s(keys::shop_pk(shop)))
            .expression_attribute_values(":prefix", s(keys::SKIP_PREFIX))
            .expression_attribute_values(":now", n(now));
        self.query_count(query, "Query skipped records (count)")
            .await
    }

    async fn failed_jobs_by_kind(&self, shop: &str) -> Result<BTreeMap<String, u64>> {
        let query = self
            .gsi1_query(keys::job_status_gsi_pk(shop, JobStatus::Failed), true)
            .projection_expression("body");
        let items = self
            .query_all(query, None, "Query failed jobs on gsi1")
            .await?;
        let mut kinds = BTreeMap::new();
        for item in &items {
            let job: JobRecord = body(item, "job record")?;
            let kind = job
                .error
                .and_then(|e| serde_json::to_value(e.kind).ok())
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_else(|| "unknown".to_string());
            *kinds.entry(kind).or_default() += 1;
        }
        Ok(kinds)
    }
}
