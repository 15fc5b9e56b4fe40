//! Catalogue vocabulary on the Business Central side (items, item variants, pictures, templates,
//! sales prices) and the port [`BcItemsApi`] through which the catalogue tasks (`sync-products`,
//! `sync-images`, issue 10) reach it.
//!
//! Why these shapes:
//!
//! - **Money is [`Decimal`]** (see `sales.rs`): `unitPrice`, `unitCost` and price-list prices travel as
//!   their exact decimal text, never through `f64`.
//! - **Changes are found by `lastModifiedDateTime`.** BC lists items by number, not by time, so the
//!   reader asks for everything modified at or after the cursor (server-driven paging follows
//!   `@odata.nextLink`) and hands items out in (modified, number) order; [`ItemCursor`] is that pair, as
//!   [`crate::sales::ShipmentCursor`] is for shipments.
//! - **Writes are conditional.** An item is updated with `PATCH` and the `If-Match` ETag it was read
//!   with; if BC's record changed since (someone edited the item in BC while an import ran), BC refuses
//!   the write and the port answers [`crate::SyncError::Conflict`] — the reference's "last updated by
//!   BC" guard, enforced by BC itself instead of by comparing timestamps.
//!
//! What API v2.0 does not have, and how each gap is bridged:
//!
//! | Need | Bridge |
//! |---|---|
//! | Item templates (`Item Templ. Code`) | A **template item**: an ordinary BC item kept as a model, named by number (as the customer template is a template customer, [`crate::sales::CustomerDefaults`]). [`BcItemsApi::item_template`] reads its posting-related fields once per run ([`ItemDefaults`]) and [`BcItemsApi::create_item`] copies them into the new item's POST. API v2.0 items carry type, item category, base unit of measure, general product / inventory posting group and tax group, so unlike customers nothing essential is lost. Not copied: costing method, VAT product posting group, replenishment fields (not on API v2.0 items); they come from BC's own defaults. |
//! | Sales prices (price lists: customer price group, currency, variant, validity) | A **published page** over BC's `Price List Line` table (sales prices of items), expected to expose per line `itemNo`, `variantCode`, `priceGroupCode` (empty: all customers), `currencyCode` (empty: local currency), `minimumQuantity`, `unitPrice`, `startingDate`, `endingDate` (empty or `0001-01-01`: open) and to be filterable by `itemNo`. The best price is chosen as BC's default price calculation does ([`resolve_prices`]). No page (`None`): `items.unitPrice` — the item card's price, in local currency. |
//! | Item pictures | API v2.0 has them (`items({id})/picture`, content read and written as a stream under `picture/pictureContent`), but **no modification time**: changes are detected by a content hash ([`content_hash`]). |
//! | Sales Blocked | Not on API v2.0 items: [`BcCatalogItem::sales_blocked`] is `None` ("not known") from the standard API. Bridging it needs a published Item Card (`Sales_Blocked`), not built yet. |
//! | Item variants' price, GTIN, picture hash | Not on API v2.0 variants (only code and description): prices come from the price page by variant code, GTINs per variant need item references (a custom page), variant pictures are not read. |

use crate::inventory::BcItemType;
use crate::ports::Result;
use crate::sales::{Decimal, FieldProblem, Problems, fit, is_iso_date, to_code};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::collections::BTreeMap;

/// BC's field lengths for item values Shopsync writes (table Item, Item Variant, Price List Line).
pub mod limits {
    /// `No.`, `Code[20]`.
    pub const NUMBER: usize = 20;
    /// `Description`, `Text[100]`.
    pub const DESCRIPTION: usize = 100;
    /// `GTIN`, `Code[14]`.
    pub const GTIN: usize = 14;
    /// `Item Category Code`, `Code[20]`.
    pub const ITEM_CATEGORY_CODE: usize = 20;
    /// `Unit of Measure Code`, posting group and tax group codes, `Code[10]` / `Code[20]`; 20 for all.
    pub const SETUP_CODE: usize = 20;
    /// Item Variant `Code`, `Code[10]`.
    pub const VARIANT_CODE: usize = 10;
    /// Item Variant `Description`, `Text[100]`.
    pub const VARIANT_DESCRIPTION: usize = 100;
    /// `Customer Price Group` code, `Code[10]`.
    pub const PRICE_GROUP: usize = 10;
    /// `Currency Code`, `Code[10]`.
    pub const CURRENCY_CODE: usize = 10;
    /// Largest picture Shopsync writes to BC (a guard on the request size; Shopify's own media limit
    /// is 20 MB).
    pub const PICTURE_BYTES: usize = 20 * 1024 * 1024;
}

// ---------------------------------------------------------------------------------------------
// Decimals
// ---------------------------------------------------------------------------------------------

/// Numeric order of two decimals (their canonical text: sign, integer digits without leading zeros,
/// fraction without trailing zeros).
pub fn compare_decimals(a: &Decimal, b: &Decimal) -> Ordering {
    fn magnitude(x: &str, y: &str) -> Ordering {
        let (xi, xf) = x.split_once('.').unwrap_or((x, ""));
        let (yi, yf) = y.split_once('.').unwrap_or((y, ""));
        xi.len()
            .cmp(&yi.len())
            .then_with(|| xi.cmp(yi))
            .then_with(|| xf.cmp(yf))
    }
    match (a.is_negative(), b.is_negative()) {
        (false, true) => Ordering::Greater,
        (true, false) => Ordering::Less,
        (false, false) => magnitude(a.as_str(), b.as_str()),
        (true, true) => magnitude(&b.as_str()[1..], &a.as_str()[1..]),
    }
}

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

/// The catalogue's checks on top of the sales side's [`Problems`].
impl Problems {
    fn not_negative(&mut self, field: &str, value: Option<&Decimal>) {
        if value.is_some_and(Decimal::is_negative) {
            self.add(field, "must not be negative");
        }
    }

    fn gtin(&mut self, field: &str, value: Option<&str>) {
        if let Some(g) = value
            && (g.is_empty() || g.len() > limits::GTIN || !g.bytes().all(|b| b.is_ascii_digit()))
        {
            self.add(field, format!("must be 1 to {} digits", limits::GTIN));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Items
// ---------------------------------------------------------------------------------------------

/// A BC item as the catalogue needs it (API v2.0 `items`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BcCatalogItem {
    /// API id (GUID).
    pub id: String,
    pub number: String,
    /// `displayName` (the item's `Description`).
    pub description: String,
    pub item_type: BcItemType,
    pub gtin: Option<String>,
    /// The item card's price, local currency.
    pub unit_price: Decimal,
    pub unit_cost: Decimal,
    pub price_includes_tax: bool,
    pub blocked: bool,
    /// `None`: not known (API v2.0 items have no `Sales Blocked`; see the module documentation).
    pub sales_blocked: Option<bool>,
    /// Empty when the item has none.
    pub item_category_code: String,
    pub base_unit_of_measure_code: String,
    /// `lastModifiedDateTime` as epoch milliseconds.
    pub modified_ms: i64,
    /// The ETag the item was read with (for [`BcItemsApi::update_item`]).
    pub etag: String,
}

impl BcCatalogItem {
    pub fn cursor(&self) -> ItemCursor {
        ItemCursor {
            modified_ms: self.modified_ms,
            number: self.number.clone(),
        }
    }

    /// Blocked for everything, or (when known) for sales: prices are not exported for it.
    pub fn is_blocked_for_sales(&self) -> bool {
        self.blocked || self.sales_blocked == Some(true)
    }
}

/// Where the item reader stopped: the last item's `lastModifiedDateTime` (epoch ms) and number.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ItemCursor {
    pub modified_ms: i64,
    pub number: String,
}

impl ItemCursor {
    /// Whether an item at (`modified_ms`, `number`) comes after this cursor.
    pub fn is_before(&self, modified_ms: i64, number: &str) -> bool {
        (self.modified_ms, self.number.as_str()) < (modified_ms, number)
    }

    /// Moved back by `ms` (to the start of that millisecond): `lastModifiedDateTime` is taken when a
    /// record is written, not when its transaction commits, so a slow commit can carry a time before
    /// an item already read. Items read twice cost nothing downstream (hash comparison).
    pub fn rewound(&self, ms: i64) -> ItemCursor {
        ItemCursor {
            modified_ms: self.modified_ms.saturating_sub(ms),
            number: String::new(),
        }
    }
}

/// Items after a cursor, in cursor order, and the cursor after the last (`None`: none; keep the old).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemBatch {
    pub items: Vec<BcCatalogItem>,
    pub next_cursor: Option<ItemCursor>,
}

/// A BC item variant (API v2.0 `itemVariants`: code and description only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BcItemVariant {
    pub id: String,
    pub item_id: String,
    pub item_number: String,
    pub code: String,
    pub description: String,
    pub modified_ms: i64,
}

/// The defaults a new item takes from its template item (see the module documentation). `None`
/// leaves BC's default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemDefaults {
    /// The template item's number (kept for messages).
    pub template_number: String,
    pub item_type: Option<BcItemType>,
    pub item_category_code: Option<String>,
    pub base_unit_of_measure_code: Option<String>,
    pub general_product_posting_group_code: Option<String>,
    pub inventory_posting_group_code: Option<String>,
    pub tax_group_code: Option<String>,
    pub price_includes_tax: Option<bool>,
}

/// An item to create (from a Shopify product or variant, plus the template's defaults).
///
/// **The number is chosen by the caller**, not by BC's number series, because it is the
/// exactly-once probe's key: BC has no idempotency key, so a POST whose answer was lost is never
/// resent; the caller looks the item up with [`BcItemsApi::item_by_number`] — found: it was created
/// (take it), not found: nothing was written and the POST may be sent again. A second POST of the same
/// number cannot create a second item either: BC refuses it (`Internal_EntityWithSameKeyExists`,
/// [`crate::SyncError::Rejected`]), which the caller answers with the same probe. The reference
/// uses the SKU when SKU mapping is "Item No."; otherwise a number derived from the Shopify id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewItem {
    pub number: String,
    pub description: String,
    pub gtin: Option<String>,
    pub unit_price: Option<Decimal>,
    pub unit_cost: Option<Decimal>,
    /// Overrides the template's category.
    pub item_category_code: Option<String>,
    pub defaults: ItemDefaults,
}

impl NewItem {
    /// An item from a template: the number upper-cased as BC stores it, the description cut to
    /// BC's length.
    pub fn from_template(defaults: &ItemDefaults, number: &str, description: &str) -> NewItem {
        NewItem {
            number: to_code(number),
            description: fit(description, limits::DESCRIPTION),
            gtin: None,
            unit_price: None,
            unit_cost: None,
            item_category_code: None,
            defaults: defaults.clone(),
        }
    }

    /// Every problem BC would refuse the item for, at once.
    pub fn validate(&self) -> std::result::Result<(), Vec<FieldProblem>> {
        let mut p = Problems::default();
        p.text("number", &self.number, limits::NUMBER, true);
        if self.number != to_code(&self.number) {
            p.add("number", "must be upper case without surrounding spaces");
        }
        p.text("description", &self.description, limits::DESCRIPTION, true);
        p.gtin("gtin", self.gtin.as_deref());
        p.not_negative("unit_price", self.unit_price.as_ref());
        p.not_negative("unit_cost", self.unit_cost.as_ref());
        if let Some(c) = &self.item_category_code {
            p.text("item_category_code", c, limits::ITEM_CATEGORY_CODE, true);
        }
        let d = &self.defaults;
        for (field, value) in [
            ("defaults.item_category_code", &d.item_category_code),
            (
                "defaults.base_unit_of_measure_code",
                &d.base_unit_of_measure_code,
            ),
            (
                "defaults.general_product_posting_group_code",
                &d.general_product_posting_group_code,
            ),
            (
                "defaults.inventory_posting_group_code",
                &d.inventory_posting_group_code,
            ),
            ("defaults.tax_group_code", &d.tax_group_code),
        ] {
            if let Some(v) = value {
                p.text(field, v, limits::SETUP_CODE, true);
            }
        }
        p.finish()
    }
}

/// Fields of an item to change; `None` leaves a field as it is. Sent as one `PATCH` with the ETag
/// the item was read with.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemUpdate {
    pub description: Option<String>,
    /// `Some("")` clears the GTIN.
    pub gtin: Option<String>,
    pub unit_price: Option<Decimal>,
    pub unit_cost: Option<Decimal>,
    pub blocked: Option<bool>,
    pub item_category_code: Option<String>,
}

impl ItemUpdate {
    /// Nothing to change (no request is sent for it).
    pub fn is_empty(&self) -> bool {
        *self == ItemUpdate::default()
    }

    /// Only the fields that differ from `item` (an unchanged item costs no write).
    pub fn changes_to(&self, item: &BcCatalogItem) -> ItemUpdate {
        let same_decimal =
            |new: &Option<Decimal>, old: &Decimal| new.as_ref().is_none_or(|n| n == old);
        ItemUpdate {
            description: self.description.clone().filter(|d| *d != item.description),
            gtin: self
                .gtin
                .clone()
                .filter(|g| g.as_str() != item.gtin.as_deref().unwrap_or("")),
            unit_price: (!same_decimal(&self.unit_price, &item.unit_price))
                .then(|| self.unit_price.clone())
                .flatten(),
            unit_cost: (!same_decimal(&self.unit_cost, &item.unit_cost))
                .then(|| self.unit_cost.clone())
                .flatten(),
            blocked: self.blocked.filter(|b| *b != item.blocked),
            item_category_code: self
                .item_category_code
                .clone()
                .filter(|c| *c != item.item_category_code),
        }
    }

    pub fn validate(&self) -> std::result::Result<(), Vec<FieldProblem>> {
        let mut p = Problems::default();
        if let Some(d) = &self.description {
            p.text("description", d, limits::DESCRIPTION, true);
        }
        if let Some(g) = self.gtin.as_deref().filter(|g| !g.is_empty()) {
            p.gtin("gtin", Some(g));
        }
        p.not_negative("unit_price", self.unit_price.as_ref());
        p.not_negative("unit_cost", self.unit_cost.as_ref());
        if let Some(c) = &self.item_category_code {
            p.text("item_category_code", c, limits::ITEM_CATEGORY_CODE, false);
        }
        p.finish()
    }
}

/// An item variant to create. Its key, (item, code), is the exactly-once probe's key:
/// [`BcItemsApi::item_variants`] after an unknown outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewItemVariant {
    pub item_id: String,
    pub item_number: String,
    pub code: String,
    pub description: String,
}

impl NewItemVariant {
    pub fn validate(&self) -> std::result::Result<(), Vec<FieldProblem>> {
        let mut p = Problems::default();
        if !crate::patterns::is_guid(&self.item_id) {
            p.add("item_id", "must be a GUID");
        }
        p.text("item_number", &self.item_number, limits::NUMBER, true);
        p.text("code", &self.code, limits::VARIANT_CODE, true);
        if self.code != to_code(&self.code) {
            p.add("code", "must be upper case without surrounding spaces");
        }
        p.text(
            "description",
            &self.description,
            limits::VARIANT_DESCRIPTION,
            false,
        );
        p.finish()
    }
}

// ---------------------------------------------------------------------------------------------
// Pictures
// ---------------------------------------------------------------------------------------------

/// `sha256:<hex>` of picture bytes: how picture changes are detected (pictures have no modification
/// time), and what the catalogue mirror stores as the image hash.
pub fn content_hash(content: &[u8]) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(content);
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256:");
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// An item's picture: metadata, content and its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemPicture {
    pub item_id: String,
    /// `image/jpeg`, `image/png`, … as BC says.
    pub content_type: String,
    pub width: u32,
    pub height: u32,
    /// The picture entity's ETag (for [`BcItemsApi::set_item_picture`]).
    pub etag: String,
    pub content: Vec<u8>,
    /// [`content_hash`] of `content`.
    pub content_hash: String,
}

/// What [`BcItemsApi::item_picture`] found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PictureState {
    /// The item has a picture.
    Present(ItemPicture),
    /// The item has none; `etag` is the (empty) picture entity's, for setting one.
    Absent { etag: String },
}

// ---------------------------------------------------------------------------------------------
// Sales prices
// ---------------------------------------------------------------------------------------------

/// Whose price is wanted: the shop's customer price group and currency on a date.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceScope {
    /// `None`: lines for all customers only.
    pub price_group: Option<String>,
    /// `None`: local currency.
    pub currency_code: Option<String>,
    /// `YYYY-MM-DD`.
    pub date: String,
}

impl PriceScope {
    pub fn validate(&self) -> std::result::Result<(), Vec<FieldProblem>> {
        let mut p = Problems::default();
        if let Some(g) = &self.price_group {
            p.text("price_group", g, limits::PRICE_GROUP, true);
        }
        if let Some(c) = &self.currency_code {
            p.text("currency_code", c, limits::CURRENCY_CODE, true);
        }
        if !is_iso_date(&self.date) {
            p.add("date", "must be a date, YYYY-MM-DD");
        }
        p.finish()
    }
}

/// One sales price line of the published price page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceListLine {
    pub item_number: String,
    /// Empty: every variant of the item.
    pub variant_code: String,
    /// Empty: all customers.
    pub price_group: String,
    /// Empty: local currency.
    pub currency_code: String,
    pub minimum_quantity: Decimal,
    pub unit_price: Decimal,
    /// `YYYY-MM-DD`; empty or `0001-01-01`: open.
    pub starting_date: String,
    pub ending_date: String,
}

impl PriceListLine {
    /// Whether the line prices one unit of (`item`, `variant`) for `scope`.
    pub fn applies(&self, item: &str, variant: Option<&str>, scope: &PriceScope) -> bool {
        let open = |d: &str| d.is_empty() || d.starts_with("0001-01-01");
        let group = scope
            .price_group
            .as_deref()
            .map(to_code)
            .unwrap_or_default();
        let currency = scope
            .currency_code
            .as_deref()
            .map(to_code)
            .unwrap_or_default();
        to_code(&self.item_number) == to_code(item)
            && (self.variant_code.is_empty()
                || variant.is_some_and(|v| to_code(v) == to_code(&self.variant_code)))
            && (self.price_group.is_empty() || to_code(&self.price_group) == group)
            && to_code(&self.currency_code) == currency
            && compare_decimals(&self.minimum_quantity, &Decimal::parse("1").expect("1"))
                != Ordering::Greater
            && (open(&self.starting_date) || self.starting_date.as_str() <= scope.date.as_str())
            && (open(&self.ending_date) || self.ending_date.as_str() >= scope.date.as_str())
    }
}

/// What the price of an item or variant is wanted for, with the item's own unit price as the
/// fallback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceTarget {
    pub item_number: String,
    pub variant_code: Option<String>,
    /// `items.unitPrice` (local currency).
    pub unit_price: Decimal,
}

/// Where a price came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PriceOrigin {
    /// The best applicable line of the price page.
    PriceList,
    /// The item card's unit price (no page, or no applicable line, local currency only).
    UnitPrice,
}

/// The sales price of one item or variant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SalesPrice {
    pub item_number: String,
    pub variant_code: Option<String>,
    pub price: Decimal,
    /// The reference's compare-at price: the unit price when it is higher than the price, else
    /// `None`.
    pub compare_at: Option<Decimal>,
    pub origin: PriceOrigin,
}

/// The price of each target, as BC's default ("lowest price") calculation picks it for one unit: the
/// lowest price among the lines that apply (item; the variant's own lines and the item's lines for
/// all variants; the price group's lines and those for all customers; the currency; open on
/// `scope.date`; minimum quantity at most 1). Without an applicable line: the unit price, in local
/// currency only — a target in a foreign currency without a line is left out (no price known: a
/// skipped record for the caller).
pub fn resolve_prices(
    lines: &[PriceListLine],
    scope: &PriceScope,
    targets: &[PriceTarget],
) -> Vec<SalesPrice> {
    let mut by_item: BTreeMap<String, Vec<&PriceListLine>> = BTreeMap::new();
    for l in lines {
        by_item.entry(to_code(&l.item_number)).or_default().push(l);
    }
    let local = scope.currency_code.as_deref().is_none_or(str::is_empty);
    let mut out = Vec::with_capacity(targets.len());
    for t in targets {
        let best = by_item
            .get(&to_code(&t.item_number))
            .into_iter()
            .flatten()
            .filter(|l| l.applies(&t.item_number, t.variant_code.as_deref(), scope))
            .map(|l| &l.unit_price)
            .min_by(|a, b| compare_decimals(a, b));
        let (price, origin) = match best {
            Some(p) => (p.clone(), PriceOrigin::PriceList),
            None if local => (t.unit_price.clone(), PriceOrigin::UnitPrice),
            None => continue,
        };
        let compare_at = (local && compare_decimals(&t.unit_price, &price) == Ordering::Greater)
            .then(|| t.unit_price.clone());
        out.push(SalesPrice {
            item_number: t.item_number.clone(),
            variant_code: t.variant_code.clone(),
            price,
            compare_at,
            origin,
        });
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Port
// ---------------------------------------------------------------------------------------------

/// Item numbers one [`BcItemsApi::items_by_numbers`] request filters on (an `or` of `number eq`
/// clauses keeps the URL well under BC's length limit: 20 numbers of up to 20 characters).
pub const ITEMS_PER_READ: usize = 20;

/// Business Central's catalogue side: items, item variants, pictures, template items, sales prices.
#[async_trait]
pub trait BcItemsApi: Send + Sync {
    /// Items modified after `cursor` (all items when `None`), in cursor order. BC pages the read
    /// (`@odata.nextLink`, one request per page); the whole change set since the cursor is returned.
    async fn items_modified_since(&self, cursor: Option<&ItemCursor>) -> Result<ItemBatch>;

    /// The item numbered `number` (normalised with [`to_code`]); `None` when BC has none.
    async fn item_by_number(&self, number: &str) -> Result<Option<BcCatalogItem>>;

    /// The items numbered `numbers` (normalised with [`to_code`]) that BC has, in number order: a
    /// few requests for many numbers (`number eq … or …`, [`ITEMS_PER_READ`] a request).
    async fn items_by_numbers(&self, numbers: &[String]) -> Result<Vec<BcCatalogItem>>;

    /// The variants of an item (by the item's id), by code.
    async fn item_variants(&self, item_id: &str) -> Result<Vec<BcItemVariant>>;

    /// Every item's variants modified at or after `since_ms` (epoch ms), in (modified, item number,
    /// code) order. A new variant does not touch its item's `lastModifiedDateTime` in BC, so the
    /// export reads these too (`itemVariants?$filter=lastModifiedDateTime ge …`, all pages).
    async fn item_variants_modified_since(&self, since_ms: i64) -> Result<Vec<BcItemVariant>>;

    /// The defaults of the template item numbered `template_item_number`; `SyncError::NotFound` when
    /// there is none.
    async fn item_template(&self, template_item_number: &str) -> Result<ItemDefaults>;

    /// Create an item with the template's defaults in **one** POST. Not resent after an unknown
    /// outcome: the caller probes with [`BcItemsApi::item_by_number`] (see [`NewItem`]).
    async fn create_item(&self, item: &NewItem) -> Result<BcCatalogItem>;

    /// Change an item's fields with one `PATCH` and `If-Match: etag`. A stale ETag (the item changed
    /// in BC since it was read) is `SyncError::Conflict`: re-read and decide. An empty update sends
    /// nothing and answers `Ok(None)`.
    async fn update_item(
        &self,
        item_id: &str,
        etag: &str,
        update: &ItemUpdate,
    ) -> Result<Option<BcCatalogItem>>;

    /// Create an item variant (one POST). Not resent after an unknown outcome: the caller probes
    /// with [`BcItemsApi::item_variants`]; BC refuses a second variant with the same code.
    async fn create_item_variant(&self, variant: &NewItemVariant) -> Result<BcItemVariant>;

    /// The item's picture with its content and [`content_hash`].
    async fn item_picture(&self, item_id: &str) -> Result<PictureState>;

    /// Replace the item's picture content (`PATCH …/picture/pictureContent`, `If-Match: etag` of
    /// the picture entity). Stale ETag: `SyncError::Conflict`. Writing the same bytes twice leaves
    /// the same picture, so the caller may resend after an unknown outcome.
    async fn set_item_picture(&self, item_id: &str, etag: &str, content: &[u8]) -> Result<()>;

    /// Sales prices of `targets` for `scope`: from the published price page `page` of company
    /// `company_name` ([`resolve_prices`]), or — `page` is `None` — the targets' unit prices.
    async fn sales_prices(
        &self,
        page: Option<&str>,
        company_name: &str,
        scope: &PriceScope,
        targets: &[PriceTarget],
    ) -> Result<Vec<SalesPrice>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        Decimal::parse(s).unwrap()
    }

    #[test]
    fn decimals_compare_numerically() {
        let ordered = [
            "-10", "-2.5", "-2.05", "0", "0.001", "0.01", "1", "9.99", "10", "100.5",
        ];
        for (i, a) in ordered.iter().enumerate() {
            for (j, b) in ordered.iter().enumerate() {
                assert_eq!(compare_decimals(&d(a), &d(b)), i.cmp(&j), "{a} vs {b}");
            }
        }
    }

    fn line(variant: &str, group: &str, currency: &str, price: &str) -> PriceListLine {
        PriceListLine {
            item_number: "1000".into(),
            variant_code: variant.into(),
            price_group: group.into(),
            currency_code: currency.into(),
            minimum_quantity: d("0"),
            unit_price: d(price),
            starting_date: String::new(),
            ending_date: String::new(),
        }
    }

    fn target(variant: Option<&str>) -> PriceTarget {
        PriceTarget {
            item_number: "1000".into(),
            variant_code: variant.map(String::from),
            unit_price: d("20"),
        }
    }

    #[test]
    fn best_price_is_the_lowest_applicable_line() {
        let scope = PriceScope {
            price_group: Some("RETAIL".into()),
            currency_code: None,
            date: "2026-03-01".into(),
        };
        let mut expired = line("", "", "", "1");
        expired.ending_date = "2026-02-28".into();
        let mut future = line("", "", "", "2");
        future.starting_date = "2026-03-02".into();
        let mut bulk = line("", "", "", "3");
        bulk.minimum_quantity = d("10");
        let lines = vec![
            line("", "", "", "18"),
            line("", "RETAIL", "", "17.5"),
            line("", "WHOLESALE", "", "10"),
            line("", "", "EUR", "9"),
            line("RED", "", "", "16.99"),
            expired,
            future,
            bulk,
        ];
        let prices = resolve_prices(
            &lines,
            &scope,
            &[target(None), target(Some("red")), target(Some("BLUE"))],
        );
        let got: Vec<(&str, Option<&str>)> = prices
            .iter()
            .map(|p| (p.price.as_str(), p.compare_at.as_ref().map(Decimal::as_str)))
            .collect();
        assert_eq!(
            got,
            [
                ("17.5", Some("20")),
                ("16.99", Some("20")),
                ("17.5", Some("20"))
            ]
        );
        assert!(prices.iter().all(|p| p.origin == PriceOrigin::PriceList));
    }

    #[test]
    fn without_a_line_the_unit_price_in_local_currency_only() {
        let local = PriceScope {
            date: "2026-03-01".into(),
            ..Default::default()
        };
        let p = resolve_prices(&[], &local, &[target(None)]);
        assert_eq!(p[0].price.as_str(), "20");
        assert_eq!(
            (p[0].origin, p[0].compare_at.clone()),
            (PriceOrigin::UnitPrice, None)
        );
        let eur = PriceScope {
            currency_code: Some("eur".into()),
            ..local
        };
        assert!(resolve_prices(&[], &eur, &[target(None)]).is_empty());
        let p = resolve_prices(&[line("", "", "EUR", "25")], &eur, &[target(None)]);
        assert_eq!((p[0].price.as_str(), &p[0].compare_at), ("25", &None));
    }

    fn item() -> BcCatalogItem {
        BcCatalogItem {
            id: "00000000-0000-0000-0000-000000000001".into(),
            number: "1000".into(),
            description: "Chair".into(),
            item_type: BcItemType::Inventory,
            gtin: None,
            unit_price: d("20"),
            unit_cost: d("8"),
            price_includes_tax: false,
            blocked: false,
            sales_blocked: None,
            item_category_code: String::new(),
            base_unit_of_measure_code: "PCS".into(),
            modified_ms: 5,
            etag: "W/\"x\"".into(),
        }
    }

    #[test]
    fn updates_carry_only_changes() {
        let wanted = ItemUpdate {
            description: Some("Chair".into()),
            gtin: Some(String::new()),
            unit_price: Some(d("20.00")),
            unit_cost: Some(d("9")),
            blocked: Some(false),
            item_category_code: Some(String::new()),
        };
        let changes = wanted.changes_to(&item());
        assert_eq!(
            changes,
            ItemUpdate {
                unit_cost: Some(d("9")),
                ..Default::default()
            }
        );
        assert!(ItemUpdate::default().is_empty() && !changes.is_empty());
        let bad = ItemUpdate {
            gtin: Some("12AB".into()),
            unit_price: Some(d("-1")),
            ..Default::default()
        };
        let fields: Vec<String> = bad
            .validate()
            .unwrap_err()
            .into_iter()
            .map(|p| p.field)
            .collect();
        assert_eq!(fields, ["gtin", "unit_price"]);
    }

    #[test]
    fn new_items_and_variants_are_checked() {
        let defaults = ItemDefaults {
            template_number: "TEMPLATE".into(),
            item_type: Some(BcItemType::Inventory),
            base_unit_of_measure_code: Some("PCS".into()),
            ..Default::default()
        };
        let mut n = NewItem::from_template(&defaults, " sku-1 ", &"x".repeat(120));
        assert_eq!(
            (n.number.as_str(), n.description.chars().count()),
            ("SKU-1", 100)
        );
        assert_eq!(n.validate(), Ok(()));
        n.number = "a".repeat(21);
        n.gtin = Some("123456789012345".into());
        let fields: Vec<String> = n
            .validate()
            .unwrap_err()
            .into_iter()
            .map(|p| p.field)
            .collect();
        assert_eq!(fields, ["number", "number", "gtin"]);
        let v = NewItemVariant {
            item_id: "nope".into(),
            item_number: "1000".into(),
            code: "red".into(),
            description: String::new(),
        };
        let fields: Vec<String> = v
            .validate()
            .unwrap_err()
            .into_iter()
            .map(|p| p.field)
            .collect();
        assert_eq!(fields, ["item_id", "code"]);
    }

    #[test]
    fn cursors_and_hashes() {
        let c = item().cursor();
        assert!(c.is_before(5, "1001") && c.is_before(6, "0") && !c.is_before(5, "1000"));
        assert!(c.rewound(0).is_before(5, "0"));
        let h = content_hash(b"abc");
        assert_eq!(
            h,
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(!item().is_blocked_for_sales());
        let scope = PriceScope {
            price_group: Some("x".repeat(11)),
            currency_code: None,
            date: "2026-3-1".into(),
        };
        assert_eq!(scope.validate().unwrap_err().len(), 2);
    }
}
