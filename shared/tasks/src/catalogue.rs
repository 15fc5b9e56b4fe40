//! The catalogue mirror: what Shopsync knows of each product it links to a BC item, kept once per
//! shop in the record store and shared by every catalogue task (sync-products, sync-images) and by
//! the variant mapping of the inventory and order tasks, which take the mirror's variant links
//! ([`variant_links`] for a whole catalogue, [`links_of`] for the items an order page's SKUs name)
//! before they settle on what a SKU says.
//!
//! **One record per BC item** (kind [`PRODUCTS`], id = the BC item number as BC stores it, upper
//! case), because the BC item is the identity both directions agree on: an export upserts the
//! Shopify product keyed by the item (`productSet` with the `shopsync.bc_item` metafield), an import
//! finds or creates the item for a product. The body ([`MirroredProduct`]) carries the Shopify
//! product and variant ids, the hashes of what was last sent each way, the picture's hash and media
//! id, and the last error. A Shopify product that no BC item stands for yet (an import that could
//! not map it) has a record of kind [`UNMAPPED_PRODUCTS`] keyed by the product's numeric id instead,
//! with status [`status::UNMAPPED`], which the status board counts.
//!
//! **Product → item.** Imports and image imports start from a Shopify product id; the small index
//! kind [`PRODUCT_ITEMS`] (id = the product's numeric id, body = the item number) answers that
//! without a scan. [`save`] keeps it in step with the product record.
//!
//! **Statuses** (the store's sparse index): [`status::ERROR`] while the last attempt failed (the
//! reference's has_error, retried next run), [`status::BLOCKED`] once the action for a blocked
//! item was applied (so it is applied once), none otherwise.
//!
//! **Concurrent writers.** sync-products and sync-images write the same record: every write is a
//! compare-and-swap on the version read ([`update`]), re-read and re-applied on conflict, so one
//! task never drops the other's fields. Writes go through the run's fenced stores.

use serde::{Deserialize, Serialize};
use shopsync_domain::SyncError;
use shopsync_domain::ports::{Record, RecordStore, Result};
use shopsync_domain::text::preview;
use std::collections::HashMap;

/// One record per BC item: [`MirroredProduct`].
pub const PRODUCTS: &str = "catalogue-products";
/// Shopify product numeric id → BC item number.
pub const PRODUCT_ITEMS: &str = "catalogue-product-items";
/// Shopify products an import could not link to an item, by numeric product id.
pub use shopsync_domain::staging::UNMAPPED_PRODUCTS;

/// Statuses of catalogue records.
pub mod status {
    /// The last attempt for this product failed; `last_error` says why. Retried every run.
    pub const ERROR: &str = "error";
    /// The item is blocked in BC and `action_for_removed_products` was applied to its product.
    pub const BLOCKED: &str = "blocked";
    /// A Shopify product no BC item stands for (the unmapped-products cue).
    pub const UNMAPPED: &str = "unmapped";
}

/// Compare-and-swap attempts of [`update`] before it gives up (another writer kept winning).
const MAX_CAS_ATTEMPTS: usize = 8;
/// Ids per batched read.
const READ_BATCH: usize = 100;

/// A Shopify variant linked to a BC item (variant).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MirroredVariant {
    /// The BC item variant code; `None` for the item itself (a product without BC variants).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant_code: Option<String>,
    /// The Shopify variant GID.
    pub variant_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory_item_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub barcode: Option<String>,
    /// Hash of the price, compare-at price and unit cost last sent (price-only runs compare it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prices_hash: Option<String>,
}

/// The picture side of a product.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MirroredImage {
    /// Content hash of the BC item picture last exported or imported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub picture_hash: Option<String>,
    /// The Shopify media (MediaImage) GID holding it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_id: Option<String>,
    /// Shopify's image id of that media when it was last exported or imported: an import fetches
    /// the image again only when Shopify's id differs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shopify_image_id: Option<String>,
}

/// The body of a [`PRODUCTS`] record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MirroredProduct {
    /// The BC item number (also the record id).
    pub item_no: String,
    /// The BC item's id (SystemId).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_id: Option<String>,
    /// The Shopify product GID, once there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_id: Option<String>,
    /// For drill-downs.
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub variants: Vec<MirroredVariant>,
    /// Hash of the last `productSet` input sent for this item: an export sends only when the
    /// rebuilt input hashes differently.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub export_hash: Option<String>,
    /// Shopify's `updatedAt` of the product as the last export left it: an import skips a product
    /// whose `updatedAt` is no newer (BC's own export, not to be imported back).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exported_updated_at: Option<String>,
    /// Shopify's `updatedAt` of the product as the last import read it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imported_updated_at: Option<String>,
    #[serde(default)]
    pub image: MirroredImage,
    /// Why the last attempt failed (with status [`status::ERROR`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// The record's status ([`status`]); kept in the body too so a read shows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The job of the last failed attempt: a run retries the failures of earlier runs, not its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_job: Option<String>,
}

/// The body of an [`UNMAPPED_PRODUCTS`] record: a Shopify product no BC item stands for yet, and
/// why (retried every import run until it maps, or is created, or is gone).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnmappedProduct {
    /// The Shopify product GID.
    pub product_id: String,
    #[serde(default)]
    pub title: String,
    pub reason: String,
    /// The job that recorded it.
    #[serde(default)]
    pub job_id: String,
}

/// Records `product` as unmapped (status [`status::UNMAPPED`], the unmapped-products cue).
pub async fn save_unmapped(
    records: &dyn RecordStore,
    shop: &str,
    product: &UnmappedProduct,
) -> Result<()> {
    let id = numeric_id(&product.product_id)?;
    let body = serde_json::to_string(product)
        .map_err(|e| SyncError::Internal(format!("unmapped product record: {e}")))?;
    records
        .put_records(
            shop,
            UNMAPPED_PRODUCTS,
            &[Record::new(id, Some(status::UNMAPPED), body)],
        )
        .await
}

/// Forgets that `product_id` (a GID) was unmapped.
pub async fn clear_unmapped(records: &dyn RecordStore, shop: &str, product_id: &str) -> Result<()> {
    let id = numeric_id(product_id)?.to_string();
    records.delete_records(shop, UNMAPPED_PRODUCTS, &[id]).await
}

/// Reads an [`UNMAPPED_PRODUCTS`] record's body.
pub fn unmapped_of(record: &Record) -> Result<UnmappedProduct> {
    serde_json::from_str(&record.body).map_err(|e| {
        SyncError::Internal(format!(
            "unmapped product record '{}' is unreadable: {e}",
            preview(&record.id)
        ))
    })
}

impl MirroredProduct {
    pub fn new(item_no: impl Into<String>) -> Self {
        MirroredProduct {
            item_no: item_no.into(),
            ..Default::default()
        }
    }

    /// The variant linked to BC variant `code` (`None`: the item itself).
    pub fn variant(&self, code: Option<&str>) -> Option<&MirroredVariant> {
        self.variants
            .iter()
            .find(|v| v.variant_code.as_deref() == code)
    }

    fn to_record(&self, version: u64) -> Result<Record> {
        let body = serde_json::to_string(self)
            .map_err(|e| SyncError::Internal(format!("catalogue record: {e}")))?;
        let mut record = Record::new(self.item_no.clone(), self.status.as_deref(), body);
        record.version = version;
        Ok(record)
    }

    fn from_record(record: &Record) -> Result<Self> {
        serde_json::from_str(&record.body).map_err(|e| {
            SyncError::Internal(format!(
                "catalogue record '{}' is unreadable: {e}",
                preview(&record.id)
            ))
        })
    }
}

/// A product record as read, with the version a write must match.
#[derive(Debug, Clone, PartialEq)]
pub struct Mirrored {
    pub product: MirroredProduct,
    pub version: u64,
}

/// The numeric part of a Shopify GID (`gid://shopify/Product/123` → `123`), the id of the
/// product-keyed kinds.
pub fn numeric_id(gid: &str) -> Result<&str> {
    let tail = gid.rsplit('/').next().unwrap_or_default();
    if tail.is_empty() || !tail.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SyncError::Internal(format!(
            "'{}' is not a Shopify GID with a numeric id",
            preview(gid)
        )));
    }
    Ok(tail)
}

/// The record of item `item_no`, if any.
pub async fn load(
    records: &dyn RecordStore,
    shop: &str,
    item_no: &str,
) -> Result<Option<Mirrored>> {
    records
        .get_record(shop, PRODUCTS, item_no)
        .await?
        .map(|r| {
            Ok(Mirrored {
                product: MirroredProduct::from_record(&r)?,
                version: r.version,
            })
        })
        .transpose()
}

/// The records of these items that exist, by item number.
pub async fn load_many(
    records: &dyn RecordStore,
    shop: &str,
    item_nos: &[String],
) -> Result<HashMap<String, Mirrored>> {
    let mut out = HashMap::with_capacity(item_nos.len());
    for chunk in item_nos.chunks(READ_BATCH) {
        for r in records.get_records(shop, PRODUCTS, chunk).await? {
            let product = MirroredProduct::from_record(&r)?;
            out.insert(
                r.id.clone(),
                Mirrored {
                    product,
                    version: r.version,
                },
            );
        }
    }
    Ok(out)
}

/// The item number of Shopify product `product_id` (a GID), if it is linked.
pub async fn item_of_product(
    records: &dyn RecordStore,
    shop: &str,
    product_id: &str,
) -> Result<Option<String>> {
    let id = numeric_id(product_id)?;
    Ok(records
        .get_record(shop, PRODUCT_ITEMS, id)
        .await?
        .map(|r| r.body))
}

/// What the mirror says a Shopify variant stands for in BC: the item, and its variant code
/// (`None`: the item itself). The mirror knows this exactly for every product sync-products exported
/// or imported, where a SKU may not tell (`sku_mapping: item_no` gives every variant of an item the
/// item's number), so the inventory and order mappings ask it before they map by SKU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariantLink {
    pub item_no: String,
    pub variant_code: Option<String>,
}

/// Every linked variant of the shop's mirror, by Shopify variant GID (a full scan: for runs that
/// map the whole catalogue).
pub async fn variant_links(
    records: &dyn RecordStore,
    shop: &str,
) -> Result<HashMap<String, VariantLink>> {
    let mut links = HashMap::new();
    let mut after: Option<String> = None;
    loop {
        let page = records
            .list_records(shop, PRODUCTS, after.as_deref(), 1000)
            .await?;
        for r in &page.records {
            let product = MirroredProduct::from_record(r)?;
            if product.product_id.is_none() || product.status.as_deref() == Some(status::ERROR) {
                continue;
            }
            for v in product.variants {
                links.insert(
                    v.variant_id,
                    VariantLink {
                        item_no: product.item_no.clone(),
                        variant_code: v.variant_code,
                    },
                );
            }
        }
        match page.next_after {
            Some(a) => after = Some(a),
            None => return Ok(links),
        }
    }
}

/// The mirror's links of the variants `lines` name, by variant GID: each pair is the item a
/// variant's SKU names and the variant's GID, and the item's record (one batch read per 100 items)
/// says which of its item variants that Shopify variant stands for. Variants the mirror does not
/// list under that item are left out.
pub async fn links_of(
    records: &dyn RecordStore,
    shop: &str,
    lines: &[(&str, &str)],
) -> Result<HashMap<String, VariantLink>> {
    let mut item_nos: Vec<String> = lines.iter().map(|(item, _)| item.to_string()).collect();
    item_nos.sort();
    item_nos.dedup();
    let mirrored = load_many(records, shop, &item_nos).await?;
    let mut links = HashMap::new();
    for (item_no, variant) in lines {
        let found = mirrored
            .get(*item_no)
            .filter(|m| m.product.status.as_deref() != Some(status::ERROR))
            .and_then(|m| {
                let v = m
                    .product
                    .variants
                    .iter()
                    .find(|v| v.variant_id == *variant)?;
                Some(VariantLink {
                    item_no: m.product.item_no.clone(),
                    variant_code: v.variant_code.clone(),
                })
            });
        if let Some(link) = found {
            links.insert(variant.to_string(), link);
        }
    }
    Ok(links)
}

/// Writes `product` if its record still has `version` (0: new). `Ok(false)` on a lost race. Keeps
/// the product → item index in step (written before the product record, so a crash between the two
/// leaves at worst an index entry for a product whose record still lacks it, which [`save`] repairs
/// on the next write).
pub async fn save(
    records: &dyn RecordStore,
    shop: &str,
    product: &MirroredProduct,
    version: u64,
) -> Result<bool> {
    if let Some(pid) = &product.product_id {
        let id = numeric_id(pid)?;
        let current = records.get_record(shop, PRODUCT_ITEMS, id).await?;
        if current.as_ref().map(|r| r.body.as_str()) != Some(product.item_no.as_str()) {
            records
                .put_records(
                    shop,
                    PRODUCT_ITEMS,
                    &[Record::new(id, None, product.item_no.clone())],
                )
                .await?;
        }
    }
    records
        .put_record_if(shop, PRODUCTS, &product.to_record(version)?)
        .await
}

/// Read-modify-write of item `item_no`'s record with compare-and-swap, retried on a lost race:
/// `change` gets the current record (a new one when there is none) and returns whether it changed
/// anything; nothing is written when it did not. Returns the record as stored.
pub async fn update<F>(
    records: &dyn RecordStore,
    shop: &str,
    item_no: &str,
    mut change: F,
) -> Result<MirroredProduct>
where
    F: FnMut(&mut MirroredProduct) -> bool + Send,
{
    for _ in 0..MAX_CAS_ATTEMPTS {
        let (mut product, version) = match load(records, shop, item_no).await? {
            Some(m) => (m.product, m.version),
            None => (MirroredProduct::new(item_no), 0),
        };
        if !change(&mut product) {
            return Ok(product);
        }
        if save(records, shop, &product, version).await? {
            return Ok(product);
        }
    }
    Err(SyncError::Conflict(format!(
        "catalogue record '{}' kept changing under this run; retried {MAX_CAS_ATTEMPTS} times",
        preview(item_no)
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_ids_come_from_gids_only() {
        assert_eq!(numeric_id("gid://shopify/Product/123").unwrap(), "123");
        assert!(numeric_id("gid://shopify/Product/").is_err());
        assert!(numeric_id("gid://shopify/Product/12a").is_err());
    }

    #[test]
    fn bodies_round_trip_and_find_variants() {
        let mut p = MirroredProduct::new("1000");
        p.variants.push(MirroredVariant {
            variant_code: Some("RED".into()),
            variant_id: "gid://shopify/ProductVariant/1".into(),
            ..Default::default()
        });
        let r = p.to_record(3).unwrap();
        assert_eq!(r.id, "1000");
        assert_eq!(r.version, 3);
        let back = MirroredProduct::from_record(&r).unwrap();
        assert_eq!(back, p);
        assert!(back.variant(Some("RED")).is_some());
        assert!(back.variant(None).is_none());
    }

    #[tokio::test]
    async fn variant_links_come_from_linked_products_only() {
        let store = shopsync_test_support::MemoryStore::default();
        let variant = |n: u32, code: Option<&str>| MirroredVariant {
            variant_code: code.map(String::from),
            variant_id: format!("gid://shopify/ProductVariant/{n}"),
            ..Default::default()
        };
        let mut chair = MirroredProduct::new("1000");
        chair.product_id = Some("gid://shopify/Product/10".into());
        chair.variants = vec![variant(1, Some("RED")), variant(2, Some("BLUE"))];
        let mut failed = MirroredProduct::new("1001");
        failed.product_id = Some("gid://shopify/Product/11".into());
        failed.status = Some(status::ERROR.into());
        failed.variants = vec![variant(3, None)];
        let mut unexported = MirroredProduct::new("1002");
        unexported.variants = vec![variant(4, None)];
        for p in [&chair, &failed, &unexported] {
            assert!(save(&store, "S", p, 0).await.unwrap());
        }
        let links = variant_links(&store, "S").await.unwrap();
        assert_eq!(links.len(), 2, "{links:?}");
        assert_eq!(
            links["gid://shopify/ProductVariant/2"],
            VariantLink {
                item_no: "1000".into(),
                variant_code: Some("BLUE".into())
            }
        );
    }
}
