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
use crate::pagination::PagedData;
use crate::wire::BulkLine;
use crate::wire::{Connection, Count, IdRef, UserError, user_errors};
use async_trait::async_trait;
use serde::Deserialize;
use serde::de::IgnoredAny;
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

// The `data` shapes of the inventory documents (`graphql/*.graphql`), field for field their
// selections: non-null schema fields are required, nullable ones are `Option`s.

/// `data` of `Locations`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct LocationsData {
    pub locations: Connection<LocationNode>,
}

/// A `Locations` node: `id name isActive`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LocationNode {
    pub id: String,
    pub name: String,
    pub is_active: bool,
}

impl PagedData for LocationsData {
    type Node = LocationNode;
    const CONNECTION: &'static str = "locations";
    fn into_connection(self) -> Option<Connection<LocationNode>> {
        Some(self.locations)
    }
}

/// `data` of `ProductVariantsPage`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductVariantsPageData {
    pub product_variants: Connection<VariantNode>,
}

impl PagedData for ProductVariantsPageData {
    type Node = VariantNode;
    const CONNECTION: &'static str = "productVariants";
    fn into_connection(self) -> Option<Connection<VariantNode>> {
        Some(self.product_variants)
    }
}

/// A variant of `ProductVariantsPage` (and a line of `BulkVariantsQuery`): `id sku barcode product {
/// id } inventoryItem { id tracked }`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VariantNode {
    pub id: String,
    #[serde(default)]
    pub sku: Option<String>,
    #[serde(default)]
    pub barcode: Option<String>,
    pub product: IdRef,
    pub inventory_item: InventoryItemRef,
}

/// `inventoryItem { id tracked }`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct InventoryItemRef {
    pub id: String,
    pub tracked: bool,
}

/// `data` of `ProductVariantsCount` (`productVariantsCount` is nullable).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductVariantsCountData {
    pub product_variants_count: Option<Count>,
}

/// `data` of `LocationInventoryLevels` (`location(id:)` is null for an unknown id).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct LocationInventoryLevelsData {
    pub location: Option<LocationLevels>,
}

/// `location { inventoryLevels(first:, after:) { … } }`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LocationLevels {
    pub inventory_levels: Connection<LevelNode>,
}

impl PagedData for LocationInventoryLevelsData {
    type Node = LevelNode;
    const CONNECTION: &'static str = "location.inventoryLevels";
    fn into_connection(self) -> Option<Connection<LevelNode>> {
        self.location.map(|l| l.inventory_levels)
    }
}

/// An inventory level of `LocationInventoryLevels` (and a child line of `BulkLevelsQuery`): `item {
/// id } quantities(names: ["available"]) { name quantity }`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct LevelNode {
    pub item: IdRef,
    pub quantities: Vec<Quantity>,
}

/// `quantities { name quantity }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Quantity {
    pub name: String,
    pub quantity: i64,
}

/// The `available` quantity among `quantities`.
fn available(quantities: &[Quantity]) -> Option<i64> {
    quantities
        .iter()
        .find(|q| q.name == "available")
        .map(|q| q.quantity)
}

/// `data` of `InventoryItemsLevelAt`: one element per asked id, in the order asked; `null` for an
/// unknown id.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct InventoryItemsLevelAtData {
    pub nodes: Vec<Option<ItemLevelNode>>,
}

/// A `nodes` element through `... on InventoryItem { id inventoryLevel(locationId:) { quantities } }`.
/// A node of another type answers `{}`, hence the optional `id`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemLevelNode {
    #[serde(default)]
    pub id: Option<String>,
    /// Null when the item is not stocked at the location.
    #[serde(default)]
    pub inventory_level: Option<LevelQuantities>,
}

/// `inventoryLevel { quantities(names: ["available"]) { name quantity } }`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct LevelQuantities {
    pub quantities: Vec<Quantity>,
}

/// `data` of `InventorySetQuantities`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InventorySetQuantitiesData {
    pub inventory_set_quantities: Option<SetQuantitiesPayload>,
}

/// `inventorySetQuantities { userErrors { code field message } }`. Our document does not select
/// `inventoryAdjustmentGroup` (it would raise the cost); answers that carry it (recorded ones) fill it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SetQuantitiesPayload {
    #[serde(default)]
    pub inventory_adjustment_group: Option<IdRef>,
    pub user_errors: Vec<UserError>,
}

/// A location node. Blank names stay blank.
pub fn location_from_node(node: LocationNode) -> ShopifyLocation {
    ShopifyLocation {
        id: node.id,
        name: node.name,
        is_active: node.is_active,
    }
}

/// A variant node (paged or bulk line). Blank SKUs and barcodes become `None`.
pub fn variant_from_node(node: VariantNode) -> ShopifyVariant {
    let non_blank = |s: Option<String>| s.filter(|s| !s.trim().is_empty());
    ShopifyVariant {
        variant_id: node.id,
        product_id: node.product.id,
        sku: non_blank(node.sku),
        barcode: non_blank(node.barcode),
        inventory_item_id: node.inventory_item.id,
        tracked: node.inventory_item.tracked,
    }
}

/// A level node at `location_id`; `None` when it has no `available` quantity.
pub fn level_from_node(node: LevelNode, location_id: &str) -> Option<InventoryLevel> {
    Some(InventoryLevel {
        available: available(&node.quantities)?,
        inventory_item_id: node.item.id,
        location_id: location_id.to_string(),
    })
}

/// A `nodes` element of `InventoryItemsLevelAt` at `location_id`; `None` for a null node (unknown
/// id), a node of another type, or an item not stocked there (null `inventoryLevel`).
pub fn item_level_from_node(
    node: Option<ItemLevelNode>,
    location_id: &str,
) -> Option<InventoryLevel> {
    let node = node?;
    Some(InventoryLevel {
        available: available(&node.inventory_level?.quantities)?,
        inventory_item_id: node.id?,
        location_id: location_id.to_string(),
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

/// Reads `data.inventorySetQuantities`; a null payload is [`ShopifyError::Unexpected`].
pub fn parse_set_quantities(
    data: InventorySetQuantitiesData,
) -> Result<SetQuantitiesOutcome, ShopifyError> {
    let payload = data
        .inventory_set_quantities
        .ok_or_else(|| ShopifyError::Unexpected("inventorySetQuantities payload missing".into()))?;
    Ok(SetQuantitiesOutcome {
        adjustment_group_id: payload.inventory_adjustment_group.map(|g| g.id),
        user_errors: user_errors(payload.user_errors),
    })
}

impl ShopifyClient {
    pub async fn list_locations(&self) -> Result<Vec<ShopifyLocation>, ShopifyError> {
        self.paginate::<LocationsData, _>(&LOCATIONS, json!({}), |n| Some(location_from_node(n)))
            .await
    }

    /// `productVariantsCount` without a limit.
    pub async fn variant_count(&self) -> Result<u64, ShopifyError> {
        let r = self.execute(&PRODUCT_VARIANTS_COUNT, json!({})).await?;
        let data: ProductVariantsCountData = r.data_as(PRODUCT_VARIANTS_COUNT.name)?;
        data.product_variants_count
            .map(|c| c.count)
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
        self.paginate::<ProductVariantsPageData, _>(&PRODUCT_VARIANTS_PAGE, json!({}), |n| {
            Some(variant_from_node(n))
        })
        .await
    }

    /// The catalogue with one bulk query.
    pub async fn variants_bulk(&self) -> Result<Vec<ShopifyVariant>, ShopifyError> {
        let mut out = Vec::new();
        self.run_bulk_query::<VariantNode, IgnoredAny>(&BULK_VARIANTS_QUERY, |line| {
            if let BulkLine::Root(node) = line {
                out.push(variant_from_node(node));
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
                    .paginate_up_to::<ProductVariantsPageData, _>(
                        &PRODUCT_VARIANTS_PAGE,
                        json!({}),
                        threshold,
                        |n| Some(variant_from_node(n)),
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
        self.paginate::<LocationInventoryLevelsData, _>(
            &LOCATION_INVENTORY_LEVELS,
            json!({ "locationId": location_id }),
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
        self.run_bulk_query::<IdRef, LevelNode>(&BULK_LEVELS_QUERY, |line| {
            let BulkLine::Child { parent_id, node } = line else {
                return;
            };
            if (wanted.is_empty() || wanted.contains(parent_id.as_str()))
                && let Some(level) = level_from_node(node, &parent_id)
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
                    .paginate_up_to::<LocationInventoryLevelsData, _>(
                        &LOCATION_INVENTORY_LEVELS,
                        json!({ "locationId": first }),
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
            let InventoryItemsLevelAtData { nodes } = r.data_as(INVENTORY_ITEMS_LEVEL_AT.name)?;
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
        parse_set_quantities(r.data_as(INVENTORY_SET_QUANTITIES.name)?)
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

    fn decode<T: serde::de::DeserializeOwned>(v: Value) -> T {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn node_mapping() {
        let v = variant_from_node(decode(
            json!({"id": "v", "sku": "", "barcode": "123", "product": {"id": "p"},
            "inventoryItem": {"id": "i", "tracked": true}}),
        ));
        assert_eq!(v.sku, None);
        assert_eq!(v.barcode.as_deref(), Some("123"));
        assert!(v.tracked);
        let v = variant_from_node(decode(
            json!({"id": "v", "sku": null, "barcode": null, "product": {"id": "p"},
            "inventoryItem": {"id": "i", "tracked": false}}),
        ));
        assert_eq!((v.sku, v.barcode, v.tracked), (None, None, false));
        let l = level_from_node(
            decode(
                json!({"item": {"id": "i"}, "quantities": [{"name": "available", "quantity": -2}]}),
            ),
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
        assert!(
            level_from_node(decode(json!({"item": {"id": "i"}, "quantities": []})), "L").is_none()
        );
        let loc = location_from_node(decode(
            json!({"id": "L", "name": "Shop", "isActive": false}),
        ));
        assert!(!loc.is_active);
    }

    #[test]
    fn item_level_nodes_null_unstocked_and_stocked() {
        let stocked = json!({"id": "i", "inventoryLevel": {"quantities": [{"name": "available", "quantity": 7}]}});
        assert_eq!(
            item_level_from_node(decode(stocked), "L"),
            Some(InventoryLevel {
                inventory_item_id: "i".into(),
                location_id: "L".into(),
                available: 7
            })
        );
        assert_eq!(
            item_level_from_node(decode(json!({"id": "i", "inventoryLevel": null})), "L"),
            None
        );
        assert_eq!(item_level_from_node(decode(Value::Null), "L"), None);
        assert_eq!(item_level_from_node(decode(json!({})), "L"), None);
    }

    #[test]
    fn set_quantities_payloads() {
        let data: InventorySetQuantitiesData = decode(
            json!({"inventorySetQuantities": {"userErrors": [
            {"code": "CHANGE_FROM_QUANTITY_STALE", "field": ["input", "quantities", "1", "changeFromQuantity"], "message": "stale"}]}}),
        );
        let outcome = parse_set_quantities(data).unwrap();
        assert_eq!(outcome.adjustment_group_id, None);
        assert_eq!(outcome.user_errors[0].quantity_row(), Some(1));
        let data: InventorySetQuantitiesData = decode(json!({"inventorySetQuantities": null}));
        assert_eq!(
            parse_set_quantities(data).unwrap_err(),
            ShopifyError::Unexpected("inventorySetQuantities payload missing".into())
        );
        // The selection's `userErrors` is required: an answer without it is a shape error.
        let r = crate::response::GraphQlResponse::<Value>::from_value(
            json!({"data": {"inventorySetQuantities": {}}}),
        )
        .unwrap();
        assert_eq!(
            r.data_as::<InventorySetQuantitiesData>("InventorySetQuantities")
                .unwrap_err(),
            ShopifyError::Unexpected(
                "InventorySetQuantities answer: at data.inventorySetQuantities: missing field `userErrors`"
                    .into()
            )
        );
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
