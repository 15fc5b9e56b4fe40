//! Inventory vocabulary shared by the inventory task, the Shopify and BC clients and the state store.

use serde::{Deserialize, Serialize};

/// A Shopify location as listed by the Admin API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShopifyLocation {
    pub id: String,
    pub name: String,
    pub is_active: bool,
}

/// One Shopify variant with what inventory mapping needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShopifyVariant {
    pub variant_id: String,
    pub product_id: String,
    pub sku: Option<String>,
    pub barcode: Option<String>,
    pub inventory_item_id: String,
    /// Whether Shopify tracks inventory for this variant; untracked variants are not synced.
    pub tracked: bool,
}

/// The level of one inventory item at one location.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LevelKey<'a> {
    pub inventory_item_id: &'a str,
    pub location_id: &'a str,
}

/// An `available` quantity read from Shopify.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventoryLevel {
    pub inventory_item_id: String,
    pub location_id: String,
    pub available: i64,
}

/// One row of `inventorySetQuantities`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuantityChange {
    pub inventory_item_id: String,
    pub location_id: String,
    pub quantity: i64,
    /// The quantity we believe Shopify has now (compare-and-swap); `None` sends an explicit null.
    pub change_from_quantity: Option<i64>,
}

/// One call of `inventorySetQuantities` (at most 250 rows).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetQuantitiesRequest {
    /// Value of the `@idempotent(key:)` directive; the same key must always carry the same rows.
    pub idempotency_key: String,
    /// Quantity name: `available` or `on_hand`.
    pub name: String,
    pub reason: String,
    pub reference_document_uri: Option<String>,
    pub quantities: Vec<QuantityChange>,
}

/// Maximum rows in one `inventorySetQuantities` call (Shopify's input array limit).
pub const MAX_QUANTITIES_PER_CALL: usize = 250;

/// A Shopify `userErrors` entry, returned as data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserError {
    pub code: Option<String>,
    pub field: Vec<String>,
    pub message: String,
}

impl UserError {
    /// The index of the `quantities` row this error is about, if its field path names one
    /// (`["input", "quantities", "3", "changeFromQuantity"]` → 3).
    pub fn quantity_row(&self) -> Option<usize> {
        let pos = self.field.iter().position(|f| f == "quantities")?;
        self.field.get(pos + 1)?.parse().ok()
    }
}

/// The answer to one `inventorySetQuantities` call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SetQuantitiesOutcome {
    /// Id of the adjustment group Shopify created (absent when nothing changed or every row failed).
    pub adjustment_group_id: Option<String>,
    pub user_errors: Vec<UserError>,
}

/// Where BC availability comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AvailabilitySource {
    /// Standard API v2.0 `items` with their `inventory` total (all locations together).
    ItemsInventory,
    /// An OData web-service page returning availability per item, variant and location, read once per
    /// BC location code.
    Page {
        page: String,
        company_name: String,
        location_codes: Vec<String>,
    },
}

/// The kind of a BC item; only inventory items have stock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BcItemType {
    Inventory,
    Service,
    NonInventory,
}

/// A BC item, as the mapping needs it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BcItem {
    pub number: String,
    pub gtin: Option<String>,
    pub item_type: BcItemType,
    pub blocked: bool,
    /// `items.inventory`: total over all locations.
    pub inventory: f64,
}

/// Availability of an item (and variant) at one BC location, from a per-location page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BcAvailability {
    pub item_no: String,
    pub variant_code: String,
    pub location_code: String,
    /// The reference's "Projected Available Balance at Today".
    pub projected_available: f64,
    /// Inventory minus reserved quantity (the reference's "Free Inventory").
    pub free_inventory: f64,
}
