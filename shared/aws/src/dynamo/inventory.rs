//! Inventory sync state: variant mappings (`MAP#<variant_id>`) and the last `available` level known to
//! be in Shopify per (inventory item, location) (`LEVEL#<inventory_item_id>#<location_id>`).
//!
//! A shop can have tens of thousands of levels, so they are plain attributes read with one paginated
//! Query and written with `BatchWriteItem` (25 per call, `UnprocessedItems` retried). Identifiers are
//! stored as attributes as well as in the sort key, so loading never has to split a key on `#`.
//! DynamoDB rejects a batch that names the same key twice, so inputs are de-duplicated first (the
//! last occurrence wins, as it would with sequential puts).

use super::{DynamoStore, Item, get_i64, get_opt_s, get_s, keys, n, s};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{DeleteRequest, PutRequest, WriteRequest};
use shopsync_domain::SyncError;
use shopsync_domain::inventory::InventoryLevel;
use shopsync_domain::ports::{InventoryStateStore, Result, VariantMapping};
use std::collections::{HashMap, HashSet};

fn put(item: Item) -> Result<WriteRequest> {
    let req = PutRequest::builder()
        .set_item(Some(item))
        .build()
        .map_err(|e| SyncError::Internal(format!("PutRequest: {e}")))?;
    Ok(WriteRequest::builder().put_request(req).build())
}

/// Keep the last occurrence of each key, in first-seen order.
fn dedup_last<T, K: std::hash::Hash + Eq>(items: &[T], key: impl Fn(&T) -> K) -> Vec<&T> {
    let mut last: HashMap<K, usize> = HashMap::new();
    for (i, item) in items.iter().enumerate() {
        last.insert(key(item), i);
    }
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(last.len());
    for item in items {
        let k = key(item);
        if seen.insert(last[&k]) {
            out.push(&items[last[&k]]);
        }
    }
    out
}

#[async_trait]
impl InventoryStateStore for DynamoStore {
    async fn load_mappings(&self, shop: &str) -> Result<Vec<VariantMapping>> {
        let items = self
            .query_prefix(shop, keys::MAP_PREFIX, true, None, "Query variant mappings")
            .await?;
        items
            .iter()
            .map(|item| {
                Ok(VariantMapping {
                    variant_id: get_s(item, "variant_id", "variant mapping")?.to_string(),
                    inventory_item_id: get_s(item, "inventory_item_id", "variant mapping")?
                        .to_string(),
                    item_no: get_s(item, "item_no", "variant mapping")?.to_string(),
                    variant_code: get_opt_s(item, "variant_code")
                        .unwrap_or_default()
                        .to_string(),
                })
            })
            .collect()
    }

    async fn save_mappings(&self, shop: &str, mappings: &[VariantMapping]) -> Result<()> {
        let requests = dedup_last(mappings, |m| m.variant_id.clone())
            .into_iter()
            .map(|m| {
                put(HashMap::from([
                    ("pk".to_string(), s(keys::shop_pk(shop))),
                    ("sk".to_string(), s(keys::map_sk(&m.variant_id))),
                    ("variant_id".to_string(), s(&m.variant_id)),
                    ("inventory_item_id".to_string(), s(&m.inventory_item_id)),
                    ("item_no".to_string(), s(&m.item_no)),
                    ("variant_code".to_string(), s(&m.variant_code)),
                ]))
            })
            .collect::<Result<Vec<_>>>()?;
        self.batch_write(requests, "BatchWriteItem variant mappings")
            .await
    }

    async fn delete_mappings(&self, shop: &str, variant_ids: &[String]) -> Result<()> {
        let requests = dedup_last(variant_ids, Clone::clone)
            .into_iter()
            .map(|id| {
                let req = DeleteRequest::builder()
                    .set_key(Some(self.key(shop, keys::map_sk(id))))
                    .build()
                    .map_err(|e| SyncError::Internal(format!("DeleteRequest: {e}")))?;
                Ok(WriteRequest::builder().delete_request(req).build())
            })
            .collect::<Result<Vec<_>>>()?;
        self.batch_write(requests, "BatchWriteItem delete variant mappings")
            .await
    }

    async fn load_levels(&self, shop: &str) -> Result<HashMap<(String, String), i64>> {
        let items = self
            .query_prefix(
                shop,
                keys::LEVEL_PREFIX,
                true,
                None,
                "Query inventory levels",
            )
            .await?;
        items
            .iter()
            .map(|item| {
                Ok((
                    (
                        get_s(item, "inventory_item_id", "inventory level")?.to_string(),
                        get_s(item, "location_id", "inventory level")?.to_string(),
                    ),
                    get_i64(item, "qty", "inventory level")?,
                ))
            })
            .collect()
    }

    async fn save_levels(&self, shop: &str, levels: &[InventoryLevel]) -> Result<()> {
        let requests = dedup_last(levels, |l| {
            (l.inventory_item_id.clone(), l.location_id.clone())
        })
        .into_iter()
        .map(|l| {
            put(HashMap::from([
                ("pk".to_string(), s(keys::shop_pk(shop))),
                (
                    "sk".to_string(),
                    s(keys::level_sk(&l.inventory_item_id, &l.location_id)),
                ),
                ("inventory_item_id".to_string(), s(&l.inventory_item_id)),
                ("location_id".to_string(), s(&l.location_id)),
                ("qty".to_string(), n(l.available)),
            ]))
        })
        .collect::<Result<Vec<_>>>()?;
        self.batch_write(requests, "BatchWriteItem inventory levels")
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::dedup_last;

    #[test]
    fn dedup_keeps_the_last_value_of_each_key_in_first_seen_order() {
        let input = [("a", 1), ("b", 2), ("a", 3), ("c", 4)];
        let out: Vec<_> = dedup_last(&input, |x| x.0).into_iter().copied().collect();
        assert_eq!(out, vec![("a", 3), ("b", 2), ("c", 4)]);
    }
}
