//! Status board cue entries (`CUE#<cue>#<id>`): what a task found that a person must look at — an
//! unmapped variant, an unprocessed order — written while the condition holds and removed when it is
//! resolved, as the reference's cues count rows with a flag set. Each entry carries
//! `gsi1pk = SHOP#<shop>#CUE#<cue>` so a cue's figure is one `Select=COUNT` Query on the sparse index
//! and its drill-down is one Query on the shop's partition.
//!
//! In a fenced view every put and removal is made atomic with the check of the run's job epoch
//! (transactions of at most 99 writes, `fenced.rs`), so a run that lost its job changes no cue.

use super::{DynamoStore, Item, body, get_s, keys, s, to_json};
use async_trait::async_trait;
use shopsync_domain::SyncError;
use shopsync_domain::ports::Result;
use shopsync_domain::status::{Cue, CueEntry};
use shopsync_domain::status_ports::CueStore;
use std::collections::{HashMap, HashSet};

/// `list_entries` returns at most this many entries.
pub const MAX_CUE_LIST: usize = 1000;

fn entry_item(shop: &str, cue: Cue, entry: &CueEntry) -> Result<Item> {
    if entry.id.is_empty() {
        return Err(SyncError::Internal(format!(
            "a {cue} cue entry needs an id"
        )));
    }
    Ok(HashMap::from([
        ("pk".to_string(), s(keys::shop_pk(shop))),
        ("sk".to_string(), s(keys::cue_sk(cue, &entry.id))),
        ("body".to_string(), s(to_json(entry, "cue entry")?)),
        ("gsi1pk".to_string(), s(keys::cue_gsi_pk(shop, cue))),
        ("gsi1sk".to_string(), s(&entry.id)),
    ]))
}

impl DynamoStore {
    /// Sort keys of every entry of one cue.
    async fn cue_sort_keys(&self, shop: &str, cue: Cue) -> Result<Vec<String>> {
        let items = self
            .query_prefix(
                shop,
                &keys::cue_prefix(cue),
                true,
                None,
                "Query cue entries",
            )
            .await?;
        items
            .iter()
            .map(|i| get_s(i, "sk", "cue entry").map(str::to_string))
            .collect()
    }
}

#[async_trait]
impl CueStore for DynamoStore {
    async fn count_entries(&self, shop: &str, cue: Cue) -> Result<u64> {
        let query = self.gsi1_query(keys::cue_gsi_pk(shop, cue), true);
        self.query_count(query, "Query cue entries (count) on gsi1")
            .await
    }

    async fn list_entries(&self, shop: &str, cue: Cue, limit: usize) -> Result<Vec<CueEntry>> {
        let limit = limit.min(MAX_CUE_LIST);
        if limit == 0 {
            return Ok(Vec::new());
        }
        let items = self
            .query_prefix(
                shop,
                &keys::cue_prefix(cue),
                true,
                Some(limit),
                "Query cue entries",
            )
            .await?;
        items.iter().map(|i| body(i, "cue entry")).collect()
    }

    async fn put_entries(&self, shop: &str, cue: Cue, entries: &[CueEntry]) -> Result<()> {
        // A batch may not name one key twice: the last entry of an id wins.
        let mut by_id: HashMap<&str, &CueEntry> = HashMap::new();
        for e in entries {
            by_id.insert(e.id.as_str(), e);
        }
        let items = by_id
            .values()
            .map(|e| entry_item(shop, cue, e))
            .collect::<Result<Vec<_>>>()?;
        self.batch_put(items, "BatchWriteItem cue entries").await
    }

    async fn remove_entries(&self, shop: &str, cue: Cue, ids: &[String]) -> Result<()> {
        let unique: HashSet<&String> = ids.iter().collect();
        let keys = unique
            .into_iter()
            .map(|id| (keys::shop_pk(shop), keys::cue_sk(cue, id)))
            .collect();
        self.batch_delete(keys, "BatchWriteItem remove cue entries")
            .await
    }

    async fn replace_entries(&self, shop: &str, cue: Cue, entries: &[CueEntry]) -> Result<()> {
        let keep: HashSet<String> = entries.iter().map(|e| keys::cue_sk(cue, &e.id)).collect();
        let gone: Vec<(String, String)> = self
            .cue_sort_keys(shop, cue)
            .await?
            .into_iter()
            .filter(|sk| !keep.contains(sk))
            .map(|sk| (keys::shop_pk(shop), sk))
            .collect();
        self.put_entries(shop, cue, entries).await?;
        self.batch_delete(gone, "BatchWriteItem remove stale cue entries")
            .await
    }
}
