//! One simulated shop: catalogue, inventory levels, bucket, idempotency keys, bulk operations.
//!
//! Everything a request touches lives in one `StoreData` behind one lock, so a request sees a
//! consistent shop (Shopify's per-shop serialisation is not modelled more finely than that).
//! Records are kept in vectors; levels are indexed by `(item, location)` so that a 250-row mutation
//! never scans the catalogue. How a record's index is spelled as a GID is the store's
//! [`GidStyle`]: numeric (`gid://shopify/Location/3`, the index plus one) or opaque strings that
//! only this store can resolve, so that a client assuming digits after the prefix shows.

use std::collections::HashMap;

use serde_json::Value as Json;

use crate::bucket::Bucket;
use crate::inventory::SetOutcome;

pub(crate) const GID_LOCATION: &str = "gid://shopify/Location/";
pub(crate) const GID_PRODUCT: &str = "gid://shopify/Product/";
pub(crate) const GID_VARIANT: &str = "gid://shopify/ProductVariant/";
pub(crate) const GID_ITEM: &str = "gid://shopify/InventoryItem/";
pub(crate) const GID_LEVEL: &str = "gid://shopify/InventoryLevel/";
pub(crate) const GID_BULK: &str = "gid://shopify/BulkOperation/";
pub(crate) const GID_GROUP: &str = "gid://shopify/InventoryAdjustmentGroup/";

/// How a store spells the GIDs of its locations, products, variants, inventory items and levels.
///
/// Shopify documents GIDs as opaque strings; only the `gid://shopify/<Type>/` prefix is a promise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GidStyle {
    /// `gid://shopify/Location/3`, as the live API spells them today.
    #[default]
    Numeric,
    /// `gid://shopify/Location/loc-3-9f1c?src=sim`: letters, dashes, a check part and a query,
    /// resolved by exact match only (a numeric GID, or one with another query, names nothing).
    Opaque,
}

/// The non-numeric part of an opaque GID: a tag, the record number in hex, and a check part
/// derived from both so that an id cannot be built by counting.
fn opaque_token(prefix: &str, idx: usize) -> String {
    let tag = match prefix {
        GID_LOCATION => "loc",
        GID_PRODUCT => "prod",
        GID_VARIANT => "var",
        GID_ITEM => "item",
        GID_LEVEL => "lvl",
        crate::orders::GID_ORDER => "ord",
        crate::orders::GID_LINE => "line",
        crate::orders::GID_FO => "fo",
        crate::orders::GID_FO_LINE => "fol",
        crate::orders::GID_FULFILLMENT => "ful",
        _ => "rec",
    };
    let n = idx as u64 + 1;
    let salt = tag.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    let check = (n ^ salt).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 48;
    format!("{tag}-{n:x}-{check:04x}")
}

/// GID of record `idx` under `prefix` (ids start at 1).
pub(crate) fn gid(prefix: &str, idx: usize) -> String {
    format!("{prefix}{}", idx + 1)
}

/// Index of a GID with `prefix`, or `None` if it is not of that type.
pub(crate) fn parse_gid(prefix: &str, id: &str) -> Option<usize> {
    let rest = id.strip_prefix(prefix)?;
    let num = rest.split('?').next()?;
    let n: usize = num.parse().ok()?;
    n.checked_sub(1)
}

/// Inventory level GIDs look like `gid://shopify/InventoryLevel/<n>?inventory_item_id=<item>`.
pub(crate) fn level_gid(level_idx: usize, item_idx: usize) -> String {
    format!(
        "{GID_LEVEL}{}?inventory_item_id={}",
        level_idx + 1,
        item_idx + 1
    )
}

impl StoreData {
    /// GID of record `idx` under `prefix` in this store's [`GidStyle`]. Levels: see
    /// [`StoreData::level_gid`].
    pub(crate) fn gid(&self, prefix: &str, idx: usize) -> String {
        match self.gid_style {
            GidStyle::Numeric => gid(prefix, idx),
            GidStyle::Opaque => format!("{prefix}{}?src=sim", opaque_token(prefix, idx)),
        }
    }

    /// Index of a GID this store handed out under `prefix` (bounds not checked for numeric GIDs),
    /// `None` if it is not one.
    pub(crate) fn parse_gid(&self, prefix: &str, id: &str) -> Option<usize> {
        match self.gid_style {
            GidStyle::Numeric => parse_gid(prefix, id),
            GidStyle::Opaque => {
                let token = id.strip_prefix(prefix)?.split('?').next()?;
                let hex = token.split('-').nth(1)?;
                let idx = usize::from_str_radix(hex, 16).ok()?.checked_sub(1)?;
                let expected = if prefix == GID_LEVEL {
                    (idx < self.levels.len()).then(|| self.level_gid(idx))?
                } else {
                    self.gid(prefix, idx)
                };
                (expected == id).then_some(idx)
            }
        }
    }

    /// Inventory level GIDs look like `gid://shopify/InventoryLevel/<n>?inventory_item_id=<item>`
    /// (numeric) or `gid://shopify/InventoryLevel/lvl-…?inventory_item_id=item-…` (opaque).
    pub(crate) fn level_gid(&self, level_idx: usize) -> String {
        let item_idx = self.levels[level_idx].item as usize;
        match self.gid_style {
            GidStyle::Numeric => level_gid(level_idx, item_idx),
            GidStyle::Opaque => format!(
                "{GID_LEVEL}{}?inventory_item_id={}",
                opaque_token(GID_LEVEL, level_idx),
                opaque_token(GID_ITEM, item_idx)
            ),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct LocationRec {
    pub name: String,
    pub active: bool,
    /// Level indices stocked here, in creation order.
    pub levels: Vec<u32>,
}

#[derive(Debug, Clone)]
pub(crate) struct ProductRec {
    pub title: String,
    pub variants: Vec<u32>,
}

/// A variant and its inventory item share one index.
#[derive(Debug, Clone)]
pub(crate) struct VariantRec {
    pub product: u32,
    pub title: String,
    pub sku: Option<String>,
    pub barcode: Option<String>,
    pub tracked: bool,
    /// Level indices of this item, in creation order.
    pub levels: Vec<u32>,
}

#[derive(Debug, Clone)]
pub(crate) struct LevelRec {
    pub item: u32,
    pub location: u32,
    pub available: i64,
    pub on_hand: i64,
    pub created_at: f64,
    pub updated_at: f64,
}

/// One row applied by `inventorySetQuantities`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedAdjustment {
    pub inventory_item_id: String,
    pub location_id: String,
    /// Quantity name that was set (`available` or `on_hand`).
    pub name: String,
    pub from: i64,
    pub to: i64,
    /// The row's `changeFromQuantity`: the quantity the caller expected (compare-and-swap), `None`
    /// for an explicit null (set whatever the level was).
    pub change_from: Option<i64>,
    pub idempotency_key: String,
    /// Sequence number of the HTTP request that applied it (1-based, simulator-wide).
    pub request_number: u64,
}

#[derive(Debug, Clone)]
pub(crate) enum IdemState {
    /// Applied, answer not yet delivered (a slow request is still in flight).
    InFlight,
    Done,
}

#[derive(Debug, Clone)]
pub(crate) struct IdemEntry {
    pub fingerprint: String,
    pub state: IdemState,
    pub outcome: SetOutcome,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BulkStatus {
    Created,
    Running,
    Completed,
    Canceling,
    Canceled,
    /// A bulk mutation that stopped part-way (`catalog.rs`, on request of a test).
    Failed,
}

impl BulkStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            BulkStatus::Created => "CREATED",
            BulkStatus::Running => "RUNNING",
            BulkStatus::Completed => "COMPLETED",
            BulkStatus::Canceling => "CANCELING",
            BulkStatus::Canceled => "CANCELED",
            BulkStatus::Failed => "FAILED",
        }
    }

    pub(crate) fn is_active(self) -> bool {
        matches!(
            self,
            BulkStatus::Created | BulkStatus::Running | BulkStatus::Canceling
        )
    }
}

#[derive(Debug, Clone)]
pub(crate) struct BulkOp {
    /// Simulator-wide numeric id (the GID's number).
    pub id: u64,
    pub query: String,
    pub status: BulkStatus,
    pub created_at: f64,
    /// Request that created it (that answer shows CREATED, later ones RUNNING).
    pub created_by_request: u64,
    pub completed_at: Option<f64>,
    pub object_count: u64,
    pub root_object_count: u64,
    pub file_size: Option<u64>,
    pub url: Option<String>,
}

pub(crate) struct StoreData {
    pub domain: String,
    /// How this store spells its GIDs (set before anything is seeded).
    pub gid_style: GidStyle,
    pub token: Option<String>,
    pub locations: Vec<LocationRec>,
    pub products: Vec<ProductRec>,
    pub variants: Vec<VariantRec>,
    pub levels: Vec<LevelRec>,
    pub level_index: HashMap<(u32, u32), u32>,
    pub sku_index: HashMap<String, Vec<u32>>,
    pub bucket: Bucket,
    pub idempotency: HashMap<String, IdemEntry>,
    pub bulk_ops: Vec<BulkOp>,
    pub log: Vec<AppliedAdjustment>,
    pub next_group: u64,
    /// Orders, fulfillments, refunds and Shopify Payments records (`orders.rs`).
    pub book: crate::orders::OrderBook,
    /// Catalogue attributes, media, staged uploads (`catalog.rs`).
    pub catalog: crate::catalog::CatalogData,
    /// What the customers API adds to the order book's customers (`customers.rs`).
    pub customers_ext: crate::customers::CustomerExt,
    /// Catalogs, publications, price lists (`b2b_catalogs.rs`).
    pub b2b: crate::b2b_catalogs::B2bData,
    /// What the companies API adds to the order book's companies (`companies.rs`).
    pub companies: crate::companies::CompanyData,
}

impl StoreData {
    pub(crate) fn new(domain: &str, bucket_size: f64) -> Self {
        Self {
            domain: domain.to_string(),
            gid_style: GidStyle::Numeric,
            token: None,
            locations: Vec::new(),
            products: Vec::new(),
            variants: Vec::new(),
            levels: Vec::new(),
            level_index: HashMap::new(),
            sku_index: HashMap::new(),
            bucket: Bucket::new(bucket_size),
            idempotency: HashMap::new(),
            bulk_ops: Vec::new(),
            log: Vec::new(),
            next_group: 1,
            book: Default::default(),
            catalog: Default::default(),
            customers_ext: Default::default(),
            b2b: Default::default(),
            companies: Default::default(),
        }
    }

    pub(crate) fn add_location(&mut self, name: &str) -> usize {
        self.locations.push(LocationRec {
            name: name.to_string(),
            active: true,
            levels: Vec::new(),
        });
        self.locations.len() - 1
    }

    pub(crate) fn add_product(&mut self, title: &str) -> usize {
        self.products.push(ProductRec {
            title: title.to_string(),
            variants: Vec::new(),
        });
        self.products.len() - 1
    }

    pub(crate) fn add_variant(
        &mut self,
        product: usize,
        sku: Option<String>,
        barcode: Option<String>,
        tracked: bool,
    ) -> usize {
        let idx = self.variants.len();
        let n = self.products[product].variants.len();
        let title = if n == 0 {
            "Default Title".to_string()
        } else {
            format!("Variant {}", n + 1)
        };
        if let Some(s) = &sku {
            self.sku_index
                .entry(s.clone())
                .or_default()
                .push(idx as u32);
        }
        self.variants.push(VariantRec {
            product: product as u32,
            title,
            sku,
            barcode,
            tracked,
            levels: Vec::new(),
        });
        self.products[product].variants.push(idx as u32);
        idx
    }

    pub(crate) fn level_of(&self, item: usize, location: usize) -> Option<usize> {
        self.level_index
            .get(&(item as u32, location as u32))
            .map(|&l| l as usize)
    }

    /// Stocks `item` at `location` (if not yet) and sets available (and on_hand) to `qty`.
    pub(crate) fn set_level(&mut self, item: usize, location: usize, qty: i64, now: f64) {
        match self.level_of(item, location) {
            Some(l) => {
                let lv = &mut self.levels[l];
                lv.on_hand += qty - lv.available;
                lv.available = qty;
                lv.updated_at = now;
            }
            None => {
                let l = self.levels.len();
                self.levels.push(LevelRec {
                    item: item as u32,
                    location: location as u32,
                    available: qty,
                    on_hand: qty,
                    created_at: now,
                    updated_at: now,
                });
                self.level_index
                    .insert((item as u32, location as u32), l as u32);
                self.variants[item].levels.push(l as u32);
                self.locations[location].levels.push(l as u32);
            }
        }
    }

    pub(crate) fn active_bulk_query_ops(&self) -> Vec<u64> {
        self.bulk_ops
            .iter()
            .filter(|b| b.status.is_active())
            .map(|b| b.id)
            .collect()
    }

    pub(crate) fn bulk_index(&self, id: u64) -> Option<usize> {
        self.bulk_ops.iter().position(|b| b.id == id)
    }
}

/// Canonical JSON text (object keys sorted) used to compare idempotent inputs.
pub(crate) fn canonical(v: &Json) -> String {
    fn write(v: &Json, out: &mut String) {
        match v {
            Json::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                out.push('{');
                for (i, k) in keys.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&Json::String((*k).clone()).to_string());
                    out.push(':');
                    write(&m[*k], out);
                }
                out.push('}');
            }
            Json::Array(a) => {
                out.push('[');
                for (i, x) in a.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write(x, out);
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut s = String::new();
    write(v, &mut s);
    s
}
