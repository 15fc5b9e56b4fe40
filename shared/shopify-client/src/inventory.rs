//! The domain port [`ShopifyInventoryApi`] on top of the paced, retrying transport.
//!
//! Decisions that matter for cost: the catalogue is counted first (`productVariantsCount`, 10 points, as the API charges count queries)
//! and read with one bulk query above `bulk_threshold` instead of hundreds of pages — counted once
//! per run: the size the catalogue read learned decides the level read that follows it; the
//! `inventorySetQuantities` document selects only `userErrors` so a 250-row call costs 10 points;
//! more than 250 rows are refused before anything is sent. `userErrors` are data, never `Err`.

use crate::client::ShopifyClient;
use crate::documents::{
    BULK_LEVELS_QUERY, BULK_VARIANTS_QUERY, INVENTORY_ITEMS_LEVEL_AT, INVENTORY_SET_QUANTITIES,
    LOCATION_INVENTORY_LEVELS, LOCATIONS, MAX_NODE_IDS, PRODUCT_VARIANTS_COUNT,
    PRODUCT_VARIANTS_PAGE,
};
use crate::error::ShopifyError;
use crate::response::{at, parse_user_errors};
use async_trait::async_trait;
use serde_json::{Value, json};
use shopsync_domain::SyncError;
use shopsync_domain::inventory::{
    InventoryLevel, LevelKey, MAX_QUANTITIES_PER_CALL, SetQuantitiesOutcome, SetQuantitiesRequest,
    ShopifyLocation, ShopifyVariant,
};
use shopsync_domain::ports::ShopifyInventoryApi;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::time::{Duration, Instant};

/// How long a catalogue size learned by one read may decide the next read's paging-or-bulk choice
/// instead of a new count. A full run reads the catalogue and then the levels within minutes; a
/// client kept warm for a later run counts afresh (the size is also used only once).
pub const CATALOGUE_SIZE_TTL: Duration = Duration::from_secs(15 * 60);

fn str_at(v: &Value, path: &[&str]) -> Option<String> {
    at(v, path).and_then(Value::as_str).map(str::to_string)
}

/// A location node (`id name isActive`).
pub fn location_from_node(node: &Value) -> Option<ShopifyLocation> {
    Some(ShopifyLocation {
        id: str_at(node, &["id"])?,
        name: str_at(node, &["name"]).unwrap_or_default(),
        is_active: at(node, &["isActive"])
            .and_then(Value::as_bool)
            .unwrap_or(true),
    })
}

/// A variant node (paged or bulk line). Blank SKUs and barcodes become `None`.
pub fn variant_from_node(node: &Value) -> Option<ShopifyVariant> {
    let non_blank = |s: Option<String>| s.filter(|s| !s.trim().is_empty());
    Some(ShopifyVariant {
        variant_id: str_at(node, &["id"])?,
        product_id: str_at(node, &["product", "id"])?,
        sku: non_blank(str_at(node, &["sku"])),
        barcode: non_blank(str_at(node, &["barcode"])),
        inventory_item_id: str_at(node, &["inventoryItem", "id"])?,
        tracked: at(node, &["inventoryItem", "tracked"])
            .and_then(Value::as_bool)
            .unwrap_or(false),
    })
}

/// A level node (`item { id } quantities(names: ["available"])`) at `location_id`; `None` when it
/// has no `available` quantity.
pub fn level_from_node(node: &Value, location_id: &str) -> Option<InventoryLevel> {
    let available = at(node, &["quantities"])?
        .as_array()?
        .iter()
        .find(|q| q.get("name").and_then(Value::as_str) == Some("available"))?
        .get("quantity")?
        .as_i64()?;
    Some(InventoryLevel {
        inventory_item_id: str_at(node, &["item", "id"])?,
        location_id: location_id.to_string(),
        available,
    })
}

/// An `InventoryItem` node of `InventoryItemsLevelAt` (`id inventoryLevel(locationId:) {
/// quantities(names: ["available"]) }`) at `location_id`; `None` for a null node (unknown id), a
/// node of another type, or an item not stocked there (null `inventoryLevel`).
pub fn item_level_from_node(node: &Value, location_id: &str) -> Option<InventoryLevel> {
    let available = at(node, &["inventoryLevel", "quantities"])?
        .as_array()?
        .iter()
        .find(|q| q.get("name").and_then(Value::as_str) == Some("available"))?
        .get("quantity")?
        .as_i64()?;
    Some(InventoryLevel {
        inventory_item_id: str_at(node, &["id"])?,
        location_id: location_id.to_string(),
        available,
    })
}

/// The `InventoryItemsLevelAt` queries that read `keys`: one per location, its distinct items in
/// chunks of at most [`MAX_NODE_IDS`], in a stable order (locations, then items, sorted).
pub fn levels_of_queries<'k>(keys: &[LevelKey<'k>]) -> Vec<(&'k str, Vec<&'k str>)> {
    let mut by_location: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for k in keys {
        by_location
            .entry(k.location_id)
            .or_default()
            .insert(k.inventory_item_id);
    }
    let mut out = Vec::new();
    for (location, items) in by_location {
        let items: Vec<&str> = items.into_iter().collect();
        for chunk in items.chunks(MAX_NODE_IDS) {
            out.push((location, chunk.to_vec()));
        }
    }
    out
}

/// Checks a request and builds the mutation's variables (`changeFromQuantity` on every row,
/// explicit `null` when unknown — required since 2026-04).
pub fn set_quantities_variables(request: &SetQuantitiesRequest) -> Result<Value, ShopifyError> {
    if request.quantities.len() > MAX_QUANTITIES_PER_CALL {
        return Err(ShopifyError::InvalidRequest(format!(
            "inventorySetQuantities takes at most {MAX_QUANTITIES_PER_CALL} rows, got {}; split the batch",
            request.quantities.len()
        )));
    }
    if request.idempotency_key.trim().is_empty() {
        return Err(ShopifyError::InvalidRequest(
            "the idempotency key must not be blank".into(),
        ));
    }
    let mut seen = HashSet::new();
    for (i, q) in request.quantities.iter().enumerate() {
        if !seen.insert((q.inventory_item_id.as_str(), q.location_id.as_str())) {
            return Err(ShopifyError::InvalidRequest(format!(
                "row {i}: duplicate (inventory item, location) pair {} @ {}",
                q.inventory_item_id, q.location_id
            )));
        }
    }
    let quantities: Vec<Value> = request
        .quantities
        .iter()
        .map(|q| {
            json!({
                "inventoryItemId": q.inventory_item_id,
                "locationId": q.location_id,
                "quantity": q.quantity,
                "changeFromQuantity": q.change_from_quantity,
            })
        })
        .collect();
    let mut input =
        json!({ "name": request.name, "reason": request.reason, "quantities": quantities });
    if let Some(uri) = &request.reference_document_uri {
        input["referenceDocumentUri"] = json!(uri);
    }
    Ok(json!({ "input": input, "key": request.idempotency_key }))
}

/// Reads `data.inventorySetQuantities`.
pub fn parse_set_quantities(data: &Value) -> Result<SetQuantitiesOutcome, ShopifyError> {
    let payload = at(data, &["inventorySetQuantities"])
        .ok_or_else(|| ShopifyError::Unexpected("inventorySetQuantities payload missing".into()))?;
    Ok(SetQuantitiesOutcome {
        adjustment_group_id: str_at(payload, &["inventoryAdjustmentGroup", "id"]),
        user_errors: parse_user_errors(payload.get("userErrors")),
    })
}

impl ShopifyClient {
    pub async fn list_locations(&self) -> Result<Vec<ShopifyLocation>, ShopifyError> {
        self.paginate(&LOCATIONS, json!({}), &["locations"], location_from_node)
            .await
    }

    /// `productVariantsCount` without a limit.
    pub async fn variant_count(&self) -> Result<u64, ShopifyError> {
        let r = self.execute(&PRODUCT_VARIANTS_COUNT, json!({})).await?;
        r.data
            .as_ref()
            .and_then(|d| at(d, &["productVariantsCount", "count"]))
            .and_then(Value::as_u64)
            .ok_or_else(|| ShopifyError::Unexpected("productVariantsCount missing".into()))
    }

    /// The number of variants, for choosing between paging and bulk: the size the previous read
    /// of this run learned (taken, so it serves one read only, and at most [`CATALOGUE_SIZE_TTL`]
    /// old), else a `productVariantsCount`.
    async fn catalogue_size(&self) -> Result<u64, ShopifyError> {
        let learned = self
            .catalogue_size
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .filter(|(_, at)| at.elapsed() <= CATALOGUE_SIZE_TTL);
        match learned {
            Some((n, _)) => Ok(n),
            None => self.variant_count().await,
        }
    }

    /// Remembers the catalogue size a read just learned, for the next read of the run.
    fn learn_catalogue_size(&self, n: usize) {
        *self
            .catalogue_size
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some((n as u64, Instant::now()));
    }

    /// The catalogue, page by page.
    pub async fn variants_paged(&self) -> Result<Vec<ShopifyVariant>, ShopifyError> {
        self.paginate(
            &PRODUCT_VARIANTS_PAGE,
            json!({}),
            &["productVariants"],
            variant_from_node,
        )
        .await
    }

    /// The catalogue with one bulk query.
    pub async fn variants_bulk(&self) -> Result<Vec<ShopifyVariant>, ShopifyError> {
        let mut out = Vec::new();
        self.run_bulk_query(&BULK_VARIANTS_QUERY, |line| {
            if line.get("__parentId").is_none()
                && let Some(v) = variant_from_node(&line)
            {
                out.push(v);
            }
        })
        .await?;
        Ok(out)
    }

    /// The catalogue: counted first (`productVariantsCount`, 10 points, as the API charges count queries), then paged or read in bulk
    /// by `bulk_threshold`. If the count query is refused (an older API or a partial simulator)
    /// the catalogue is paged, switching to bulk once more than `bulk_threshold` variants were
    /// seen with pages left. The size read is remembered for the level read that follows in the
    /// same run ([`ShopifyClient::levels_for`]), which then does not count again.
    pub async fn all_variants(&self) -> Result<Vec<ShopifyVariant>, ShopifyError> {
        let variants = self.read_all_variants().await?;
        self.learn_catalogue_size(variants.len());
        Ok(variants)
    }

    async fn read_all_variants(&self) -> Result<Vec<ShopifyVariant>, ShopifyError> {
        let threshold = self.config.bulk_threshold;
        match self.catalogue_size().await {
            Ok(n) if n as u128 > threshold as u128 => {
                tracing::info!(variants = n, threshold, "reading the catalogue in bulk");
                self.variants_bulk().await
            }
            Ok(_) => self.variants_paged().await,
            Err(ShopifyError::Rejected { code, message }) => {
                tracing::warn!(%code, %message, "productVariantsCount refused; paging the catalogue");
                let (variants, complete) = self
                    .paginate_up_to(
                        &PRODUCT_VARIANTS_PAGE,
                        json!({}),
                        &["productVariants"],
                        threshold,
                        variant_from_node,
                    )
                    .await?;
                if complete {
                    Ok(variants)
                } else {
                    tracing::info!(
                        threshold,
                        "catalogue larger than the bulk threshold; switching to bulk"
                    );
                    drop(variants);
                    self.variants_bulk().await
                }
            }
            Err(e) => Err(e),
        }
    }

    /// Every `available` level at one location, page by page.
    pub async fn location_levels(
        &self,
        location_id: &str,
    ) -> Result<Vec<InventoryLevel>, ShopifyError> {
        self.paginate(
            &LOCATION_INVENTORY_LEVELS,
            json!({ "locationId": location_id }),
            &["location", "inventoryLevels"],
            |node| level_from_node(node, location_id),
        )
        .await
    }

    /// Every `available` level at the given locations (all active locations when empty) with one
    /// bulk query over locations → inventory levels.
    pub async fn all_levels_bulk(
        &self,
        location_ids: &[String],
    ) -> Result<Vec<InventoryLevel>, ShopifyError> {
        let wanted: HashSet<&str> = location_ids.iter().map(String::as_str).collect();
        let mut out = Vec::new();
        self.run_bulk_query(&BULK_LEVELS_QUERY, |line| {
            let Some(parent) = line.get("__parentId").and_then(Value::as_str) else {
                return;
            };
            if (wanted.is_empty() || wanted.contains(parent))
                && let Some(level) = level_from_node(&line, parent)
            {
                out.push(level);
            }
        })
        .await?;
        Ok(out)
    }

    /// Every `available` level at `location_ids`: paged per location for a small catalogue, one
    /// bulk query for a large one (more than `bulk_threshold` variants, by the size the catalogue
    /// read of this run learned, else by `productVariantsCount`; when the count is refused, by
    /// paging the first location up to the threshold).
    pub async fn levels_for(
        &self,
        location_ids: &[String],
    ) -> Result<Vec<InventoryLevel>, ShopifyError> {
        let Some(first) = location_ids.first() else {
            return Ok(Vec::new());
        };
        let threshold = self.config.bulk_threshold;
        let mut out = Vec::new();
        let mut rest = location_ids;
        match self.catalogue_size().await {
            Ok(n) if n as u128 > threshold as u128 => {
                return self.all_levels_bulk(location_ids).await;
            }
            Ok(_) => {}
            Err(ShopifyError::Rejected { .. }) => {
                let (levels, complete) = self
                    .paginate_up_to(
                        &LOCATION_INVENTORY_LEVELS,
                        json!({ "locationId": first }),
                        &["location", "inventoryLevels"],
                        threshold,
                        |node| level_from_node(node, first),
                    )
                    .await?;
                if !complete {
                    drop(levels);
                    return self.all_levels_bulk(location_ids).await;
                }
                out = levels;
                rest = &location_ids[1..];
            }
            Err(e) => return Err(e),
        }
        for id in rest {
            out.extend(self.location_levels(id).await?);
        }
        Ok(out)
    }

    /// The current `available` level of each (inventory item, location) in `keys`: one
    /// `InventoryItemsLevelAt` query (3 points) per location among them and per 250 items. Pairs
    /// Shopify does not know or does not stock are left out.
    pub async fn current_levels(
        &self,
        keys: &[LevelKey<'_>],
    ) -> Result<Vec<InventoryLevel>, ShopifyError> {
        let mut out = Vec::with_capacity(keys.len());
        for (location_id, items) in levels_of_queries(keys) {
            let r = self
                .execute(
                    &INVENTORY_ITEMS_LEVEL_AT,
                    json!({ "inventoryItemIds": items, "locationId": location_id }),
                )
                .await?;
            let nodes = r
                .data
                .as_ref()
                .and_then(|d| d.get("nodes"))
                .and_then(Value::as_array)
                .ok_or_else(|| ShopifyError::Unexpected("nodes missing".into()))?;
            if nodes.len() != items.len() {
                return Err(ShopifyError::Unexpected(format!(
                    "nodes answered {} elements for {} ids",
                    nodes.len(),
                    items.len()
                )));
            }
            // `nodes` answers in the order of `ids`: each level is keyed by the id as it was asked
            // for, so the caller finds it whatever spelling Shopify answers with.
            out.extend(items.iter().zip(nodes).filter_map(|(item, node)| {
                item_level_from_node(node, location_id).map(|level| InventoryLevel {
                    inventory_item_id: item.to_string(),
                    ..level
                })
            }));
        }
        Ok(out)
    }

    /// One `inventorySetQuantities` call.
    pub async fn set_inventory_quantities(
        &self,
        request: &SetQuantitiesRequest,
    ) -> Result<SetQuantitiesOutcome, ShopifyError> {
        let variables = set_quantities_variables(request)?;
        if request.quantities.is_empty() {
            return Ok(SetQuantitiesOutcome {
                adjustment_group_id: None,
                user_errors: Vec::new(),
            });
        }
        let r = self.execute(&INVENTORY_SET_QUANTITIES, variables).await?;
        parse_set_quantities(r.data.as_ref().unwrap_or(&Value::Null))
    }
}

#[async_trait]
impl ShopifyInventoryApi for ShopifyClient {
    async fn locations(&self) -> Result<Vec<ShopifyLocation>, SyncError> {
        Ok(self.list_locations().await?)
    }

    async fn variants(&self) -> Result<Vec<ShopifyVariant>, SyncError> {
        Ok(self.all_variants().await?)
    }

    async fn levels_at(&self, location_id: &str) -> Result<Vec<InventoryLevel>, SyncError> {
        Ok(self.location_levels(location_id).await?)
    }

    async fn levels(&self, location_ids: &[String]) -> Result<Vec<InventoryLevel>, SyncError> {
        Ok(self.levels_for(location_ids).await?)
    }

    async fn levels_of(&self, keys: &[LevelKey<'_>]) -> Result<Vec<InventoryLevel>, SyncError> {
        Ok(self.current_levels(keys).await?)
    }

    async fn set_quantities(
        &self,
        request: &SetQuantitiesRequest,
    ) -> Result<SetQuantitiesOutcome, SyncError> {
        Ok(self.set_inventory_quantities(request).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shopsync_domain::inventory::QuantityChange;

    fn request(rows: usize) -> SetQuantitiesRequest {
        SetQuantitiesRequest {
            idempotency_key: "job-1/step-2/batch-0".into(),
            name: "available".into(),
            reason: "correction".into(),
            reference_document_uri: Some("gid://shopsync/Job/1".into()),
            quantities: (0..rows)
                .map(|i| QuantityChange {
                    inventory_item_id: format!("gid://shopify/InventoryItem/{i}"),
                    location_id: "gid://shopify/Location/1".into(),
                    quantity: i as i64,
                    change_from_quantity: if i % 2 == 0 { Some(0) } else { None },
                })
                .collect(),
        }
    }

    #[test]
    fn variables_carry_change_from_quantity_on_every_row() {
        let v = set_quantities_variables(&request(3)).unwrap();
        let rows = v["input"]["quantities"].as_array().unwrap();
        assert_eq!(rows.len(), 3);
        for row in rows {
            assert!(
                row.as_object().unwrap().contains_key("changeFromQuantity"),
                "{row}"
            );
        }
        assert_eq!(rows[0]["changeFromQuantity"], json!(0));
        assert_eq!(rows[1]["changeFromQuantity"], Value::Null);
        assert_eq!(v["key"], "job-1/step-2/batch-0");
        assert_eq!(v["input"]["referenceDocumentUri"], "gid://shopsync/Job/1");
    }

    #[test]
    fn too_many_rows_blank_key_and_duplicates_are_refused() {
        assert!(set_quantities_variables(&request(250)).is_ok());
        let e = set_quantities_variables(&request(251)).unwrap_err();
        assert!(
            matches!(e, ShopifyError::InvalidRequest(ref m) if m.contains("251")),
            "{e}"
        );
        let mut r = request(1);
        r.idempotency_key = "  ".into();
        assert!(set_quantities_variables(&r).is_err());
        let mut r = request(2);
        r.quantities[1].inventory_item_id = r.quantities[0].inventory_item_id.clone();
        assert!(set_quantities_variables(&r).is_err());
    }

    #[test]
    fn node_mapping() {
        let v = variant_from_node(
            &json!({"id": "v", "sku": "", "barcode": "123", "product": {"id": "p"},
            "inventoryItem": {"id": "i", "tracked": true}}),
        )
        .unwrap();
        assert_eq!(v.sku, None);
        assert_eq!(v.barcode.as_deref(), Some("123"));
        assert!(v.tracked);
        let l = level_from_node(
            &json!({"item": {"id": "i"}, "quantities": [{"name": "available", "quantity": -2}]}),
            "L",
        )
        .unwrap();
        assert_eq!(
            l,
            InventoryLevel {
                inventory_item_id: "i".into(),
                location_id: "L".into(),
                available: -2
            }
        );
        assert!(level_from_node(&json!({"item": {"id": "i"}, "quantities": []}), "L").is_none());
    }

    #[test]
    fn item_level_nodes_null_unstocked_and_stocked() {
        let stocked = json!({"id": "i", "inventoryLevel": {"quantities": [{"name": "available", "quantity": 7}]}});
        assert_eq!(
            item_level_from_node(&stocked, "L"),
            Some(InventoryLevel {
                inventory_item_id: "i".into(),
                location_id: "L".into(),
                available: 7
            })
        );
        assert_eq!(
            item_level_from_node(&json!({"id": "i", "inventoryLevel": null}), "L"),
            None
        );
        assert_eq!(item_level_from_node(&Value::Null, "L"), None);
        assert_eq!(item_level_from_node(&json!({}), "L"), None);
    }

    #[test]
    fn level_reads_are_one_query_per_location_and_250_items() {
        let items: Vec<String> = (0..300)
            .map(|i| format!("gid://shopify/InventoryItem/{i}"))
            .collect();
        let mut keys: Vec<LevelKey<'_>> = items
            .iter()
            .map(|i| LevelKey {
                inventory_item_id: i,
                location_id: "B",
            })
            .collect();
        keys.push(LevelKey {
            inventory_item_id: &items[0],
            location_id: "A",
        });
        // A repeated pair is read once.
        keys.push(LevelKey {
            inventory_item_id: &items[0],
            location_id: "A",
        });
        let queries = levels_of_queries(&keys);
        let shape: Vec<(&str, usize)> = queries.iter().map(|(l, i)| (*l, i.len())).collect();
        assert_eq!(shape, vec![("A", 1), ("B", 250), ("B", 50)]);
        assert!(levels_of_queries(&[]).is_empty());
    }
}
