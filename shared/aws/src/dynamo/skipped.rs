//! Skipped records (`SKIP#<at>#<uuid>`): per-record problems of a run (an unmappable variant, a Shopify
//! `userError` on one row), kept 30 days for the status board, as the reference keeps its Skipped
//! Record table. The time-ordered sort key makes "latest first" a reverse Query; the uuid keeps two
//! records of the same second apart.
//!
//! In a fenced view the puts are transactions with the check of the run's job epoch (`fenced.rs`).

use super::{DynamoStore, SKIPPED_TTL_SECS, body, keys, n, s, to_json};
use async_trait::async_trait;
use shopsync_domain::ports::{Result, SkippedRecord, SkippedRecordStore};
use shopsync_domain::time::now_secs;
use std::collections::HashMap;

/// `list_skipped` returns at most this many records.
pub const MAX_SKIPPED_LIST: usize = 1000;

#[async_trait]
impl SkippedRecordStore for DynamoStore {
    async fn record_skipped(&self, shop: &str, records: &[SkippedRecord]) -> Result<()> {
        let now = now_secs();
        let items = records
            .iter()
            .map(|r| {
                Ok(HashMap::from([
                    ("pk".to_string(), s(keys::shop_pk(shop))),
                    (
                        "sk".to_string(),
                        s(keys::skip_sk(
                            r.at,
                            &uuid::Uuid::new_v4().simple().to_string(),
                        )),
                    ),
                    ("body".to_string(), s(to_json(r, "skipped record")?)),
                    ("job_id".to_string(), s(&r.job_id)),
                    (
                        "expires_at".to_string(),
                        n(r.at.max(now) + SKIPPED_TTL_SECS),
                    ),
                ]))
            })
            .collect::<Result<Vec<_>>>()?;
        self.batch_put(items, "BatchWriteItem skipped records")
            .await
    }

    async fn list_skipped(&self, shop: &str, limit: usize) -> Result<Vec<SkippedRecord>> {
        let limit = limit.min(MAX_SKIPPED_LIST);
        if limit == 0 {
            return Ok(Vec::new());
        }
        let items = self
            .query_prefix(
                shop,
                keys::SKIP_PREFIX,
                false,
                Some(limit),
                "Query skipped records",
            )
            .await?;
        items
            .iter()
            .map(|item| body(item, "skipped record"))
            .collect()
    }
}
