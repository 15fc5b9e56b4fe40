//! [`BcItemsApi`] on BC API v2.0: catalogue items read by `lastModifiedDateTime`, item variants,
//! template items, item creation and conditional updates, item pictures, and sales prices from a
//! published page (how each API v2.0 gap is bridged: `shopsync_domain::items`).
//!
//! **Requests.**
//! - Changed items: `GET items?$filter=lastModifiedDateTime ge <cursor>&$select=…`, all pages
//!   (`@odata.nextLink`), sorted into (modified, number) order; items at or before the cursor are
//!   dropped (`ge`, not `gt`, so an item modified in the cursor's millisecond but with a later number
//!   is not missed).
//! - Create: one `POST items` carrying the template item's defaults; `POST items({id})/itemVariants`.
//!   Neither is resent after an unknown outcome (see `retry.rs`): the caller probes by number / code.
//! - Update: `PATCH items({id})` with `If-Match` (the ETag the item was read with); a stale ETag is
//!   [`BcError::EntityChanged`] → `SyncError::Conflict`.
//! - Picture: `GET items({id})/picture` (metadata and ETag), then `GET …/picture/pictureContent` (the
//!   bytes) only when the item has a picture; write: `PATCH …/picture/pictureContent` with the bytes as
//!   `application/octet-stream` and `If-Match` (BC answers 204).
//! - Prices: the published page, filtered by `itemNo` in chunks of [`ITEMS_PER_PRICE_READ`].
//!
//! **Values.** Decimals are written as JSON number literals with exactly their digits and read from
//! BC's JSON text (never `f64`); ids reaching a URL are checked to be GUIDs, page and company names
//! against their patterns, filter values bounded, quoted and percent-encoded ([`crate::urls`]).

use crate::client::BcClient;
use crate::error::BcError;
use crate::inventory::item_type;
use crate::retry::Resend;
use crate::sales::{
    check_published_page, decimal_from, invalid, iso_to_ms, ms_to_iso, number, problems, raw,
};
use crate::urls::{odata_string, with_query};
use crate::wire::{CatalogItemRow, ItemVariantRow, PictureRow, PriceLineRow};
use async_trait::async_trait;
use reqwest::Method;
use serde_json::value::RawValue;
use shopsync_domain::inventory::BcItemType;
use shopsync_domain::items::{
    BcCatalogItem, BcItemVariant, BcItemsApi, ITEMS_PER_READ, ItemBatch, ItemCursor, ItemDefaults,
    ItemPicture, ItemUpdate, NewItem, NewItemVariant, PictureState, PriceListLine, PriceScope,
    PriceTarget, SalesPrice, content_hash, limits, resolve_prices,
};
use shopsync_domain::patterns::is_guid;
use shopsync_domain::ports::Result;
use shopsync_domain::sales::{Decimal, to_code};
use std::collections::BTreeMap;

type Res<T> = std::result::Result<T, BcError>;

/// Item numbers per read of the price page (keeps the URL short).
pub const ITEMS_PER_PRICE_READ: usize = 15;

/// The item fields the catalogue reads.
const ITEM_SELECT: &str = "id,number,displayName,type,blocked,gtin,unitPrice,unitCost,priceIncludesTax,itemCategoryCode,baseUnitOfMeasureCode,generalProductPostingGroupCode,inventoryPostingGroupCode,taxGroupCode,lastModifiedDateTime";

// ---------------------------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------------------------

fn guid<'a>(what: &str, id: &'a str) -> Res<&'a str> {
    if is_guid(id) {
        Ok(id)
    } else {
        Err(invalid(format!("{what} must be a GUID")))
    }
}

/// A Code value for a filter: upper case, 1 to `max` characters, no control characters.
fn code_value(what: &str, value: &str, max: usize) -> Res<String> {
    let code = to_code(value);
    let n = code.chars().count();
    if n == 0 || n > max || code.chars().any(char::is_control) {
        return Err(invalid(format!(
            "{what} must be 1 to {max} characters without control characters: {}",
            shopsync_domain::text::preview(value)
        )));
    }
    Ok(code)
}

fn modified_ms(what: &str, number: &str, text: &str) -> Res<i64> {
    iso_to_ms(text).ok_or_else(|| BcError::Decode {
        message: format!("{what} {number}: lastModifiedDateTime {text:?} is not a date-time"),
    })
}

fn item_type_name(t: BcItemType) -> &'static str {
    match t {
        BcItemType::Inventory => "Inventory",
        BcItemType::Service => "Service",
        BcItemType::NonInventory => "Non-Inventory",
    }
}

/// BC's empty date (`0001-01-01`) as empty.
fn date(s: String) -> String {
    if s.starts_with("0001-01-01") {
        String::new()
    } else {
        s.chars().take(10).collect()
    }
}

fn some(s: &str) -> Option<String> {
    Some(s.trim().to_string()).filter(|s| !s.is_empty())
}

impl CatalogItemRow {
    fn into_item(self) -> Res<BcCatalogItem> {
        Ok(BcCatalogItem {
            unit_price: decimal_from("unitPrice", &self.unit_price)?,
            unit_cost: decimal_from("unitCost", &self.unit_cost)?,
            modified_ms: modified_ms("item", &self.number, &self.last_modified_date_time)?,
            item_type: item_type(&self.item_type),
            gtin: self.gtin.as_deref().and_then(some),
            etag: self.etag.unwrap_or_default(),
            id: self.id,
            number: self.number,
            description: self.display_name,
            price_includes_tax: self.price_includes_tax,
            blocked: self.blocked,
            sales_blocked: None,
            item_category_code: self.item_category_code,
            base_unit_of_measure_code: self.base_unit_of_measure_code,
        })
    }

    fn defaults(&self) -> ItemDefaults {
        ItemDefaults {
            template_number: self.number.clone(),
            item_type: Some(item_type(&self.item_type)),
            item_category_code: some(&self.item_category_code),
            base_unit_of_measure_code: some(&self.base_unit_of_measure_code),
            general_product_posting_group_code: some(&self.general_product_posting_group_code),
            inventory_posting_group_code: some(&self.inventory_posting_group_code),
            tax_group_code: some(&self.tax_group_code),
            price_includes_tax: Some(self.price_includes_tax),
        }
    }
}

impl ItemVariantRow {
    fn into_variant(self) -> BcItemVariant {
        BcItemVariant {
            modified_ms: iso_to_ms(&self.last_modified_date_time).unwrap_or_default(),
            id: self.id,
            item_id: self.item_id,
            item_number: self.item_number,
            code: self.code,
            description: self.description,
        }
    }
}

/// The POST body of a new item: the template's defaults, then the item's own values.
fn new_item_body(item: &NewItem) -> Res<Vec<u8>> {
    let mut body: BTreeMap<&str, Box<RawValue>> = BTreeMap::new();
    let d = &item.defaults;
    body.insert("number", raw(&item.number)?);
    body.insert("displayName", raw(&item.description)?);
    if let Some(t) = d.item_type {
        body.insert("type", raw(item_type_name(t))?);
    }
    for (field, value) in [
        (
            "itemCategoryCode",
            item.item_category_code
                .as_ref()
                .or(d.item_category_code.as_ref()),
        ),
        (
            "baseUnitOfMeasureCode",
            d.base_unit_of_measure_code.as_ref(),
        ),
        (
            "generalProductPostingGroupCode",
            d.general_product_posting_group_code.as_ref(),
        ),
        (
            "inventoryPostingGroupCode",
            d.inventory_posting_group_code.as_ref(),
        ),
        ("taxGroupCode", d.tax_group_code.as_ref()),
    ] {
        if let Some(v) = value {
            body.insert(field, raw(&to_code(v))?);
        }
    }
    if let Some(p) = d.price_includes_tax {
        body.insert("priceIncludesTax", raw(&p)?);
    }
    if let Some(g) = &item.gtin {
        body.insert("gtin", raw(g)?);
    }
    if let Some(p) = &item.unit_price {
        body.insert("unitPrice", number(p)?);
    }
    if let Some(c) = &item.unit_cost {
        body.insert("unitCost", number(c)?);
    }
    serde_json::to_vec(&body).map_err(|e| BcError::Config(format!("request body: {e}")))
}

/// The PATCH body of an update (only the fields it sets).
fn update_body(update: &ItemUpdate) -> Res<Vec<u8>> {
    let mut body: BTreeMap<&str, Box<RawValue>> = BTreeMap::new();
    if let Some(d) = &update.description {
        body.insert("displayName", raw(d)?);
    }
    if let Some(g) = &update.gtin {
        body.insert("gtin", raw(g)?);
    }
    if let Some(p) = &update.unit_price {
        body.insert("unitPrice", number(p)?);
    }
    if let Some(c) = &update.unit_cost {
        body.insert("unitCost", number(c)?);
    }
    if let Some(b) = update.blocked {
        body.insert("blocked", raw(&b)?);
    }
    if let Some(c) = &update.item_category_code {
        body.insert("itemCategoryCode", raw(&to_code(c))?);
    }
    serde_json::to_vec(&body).map_err(|e| BcError::Config(format!("request body: {e}")))
}

// ---------------------------------------------------------------------------------------------
// Client
// ---------------------------------------------------------------------------------------------

impl BcClient {
    /// Items modified after `cursor`, in (modified, number) order.
    pub async fn catalog_items_since(&self, cursor: Option<&ItemCursor>) -> Res<ItemBatch> {
        let filter =
            cursor.map(|c| format!("lastModifiedDateTime ge {}", ms_to_iso(c.modified_ms)));
        let mut options: Vec<(&str, &str)> = vec![("$select", ITEM_SELECT)];
        if let Some(f) = &filter {
            options.insert(0, ("$filter", f));
        }
        let url = with_query(&self.company_url("items"), &options);
        let mut items = Vec::new();
        self.for_each_page(&url, |rows: Vec<CatalogItemRow>| {
            for row in rows {
                let item = row.into_item()?;
                if cursor.is_none_or(|c| c.is_before(item.modified_ms, &item.number)) {
                    items.push(item);
                }
            }
            Ok(())
        })
        .await?;
        items.sort_by(|a, b| (a.modified_ms, &a.number).cmp(&(b.modified_ms, &b.number)));
        Ok(ItemBatch {
            next_cursor: items.last().map(BcCatalogItem::cursor),
            items,
        })
    }

    /// The item rows numbered `number` (upper-cased first).
    async fn item_rows_by_number(&self, number: &str) -> Res<Vec<CatalogItemRow>> {
        let number = code_value("the item number", number, limits::NUMBER)?;
        let url = with_query(
            &self.company_url("items"),
            &[
                ("$filter", &format!("number eq {}", odata_string(&number))),
                ("$select", ITEM_SELECT),
            ],
        );
        self.get_collection(&url).await
    }

    /// One item by number.
    pub async fn catalog_item(&self, number: &str) -> Res<Option<BcCatalogItem>> {
        let rows = self.item_rows_by_number(number).await?;
        rows.into_iter()
            .next()
            .map(CatalogItemRow::into_item)
            .transpose()
    }

    /// The items numbered `numbers` that exist, in number order: one request per
    /// [`ITEMS_PER_READ`] numbers, each an `or` of `number eq` clauses.
    pub async fn catalog_items_by_numbers(&self, numbers: &[String]) -> Res<Vec<BcCatalogItem>> {
        let mut wanted = Vec::with_capacity(numbers.len());
        for n in numbers {
            wanted.push(code_value("the item number", n, limits::NUMBER)?);
        }
        wanted.sort();
        wanted.dedup();
        let mut items = Vec::with_capacity(wanted.len());
        for chunk in wanted.chunks(ITEMS_PER_READ) {
            let filter = chunk
                .iter()
                .map(|n| format!("number eq {}", odata_string(n)))
                .collect::<Vec<_>>()
                .join(" or ");
            let url = with_query(
                &self.company_url("items"),
                &[("$filter", &filter), ("$select", ITEM_SELECT)],
            );
            self.for_each_page(&url, |rows: Vec<CatalogItemRow>| {
                for row in rows {
                    let item = row.into_item()?;
                    if chunk.binary_search(&to_code(&item.number)).is_ok() {
                        items.push(item);
                    }
                }
                Ok(())
            })
            .await?;
        }
        items.sort_by(|a, b| a.number.cmp(&b.number));
        Ok(items)
    }

    /// The defaults of a template item.
    pub async fn item_template_defaults(&self, number: &str) -> Res<ItemDefaults> {
        let rows = self.item_rows_by_number(number).await?;
        rows.first()
            .map(CatalogItemRow::defaults)
            .ok_or_else(|| BcError::NotFound {
                code: "template_item_not_found".into(),
                message: format!("BC has no template item {}", to_code(number)),
            })
    }

    /// The variants of an item, by code.
    pub async fn variants_of_item(&self, item_id: &str) -> Res<Vec<BcItemVariant>> {
        let id = guid("the item id", item_id)?;
        let url = self.company_url(&format!("items({id})/itemVariants"));
        let rows: Vec<ItemVariantRow> = self.get_collection(&url).await?;
        let mut variants: Vec<BcItemVariant> =
            rows.into_iter().map(ItemVariantRow::into_variant).collect();
        variants.sort_by(|a, b| a.code.cmp(&b.code));
        Ok(variants)
    }

    /// Every item variant modified at or after `since_ms`, in (modified, item number, code) order.
    pub async fn variants_modified_since(&self, since_ms: i64) -> Res<Vec<BcItemVariant>> {
        let filter = format!("lastModifiedDateTime ge {}", ms_to_iso(since_ms));
        let url = with_query(&self.company_url("itemVariants"), &[("$filter", &filter)]);
        let mut variants = Vec::new();
        self.for_each_page(&url, |rows: Vec<ItemVariantRow>| {
            variants.extend(
                rows.into_iter()
                    .map(ItemVariantRow::into_variant)
                    .filter(|v| v.modified_ms >= since_ms),
            );
            Ok(())
        })
        .await?;
        variants.sort_by(|a, b| {
            (a.modified_ms, &a.item_number, &a.code).cmp(&(b.modified_ms, &b.item_number, &b.code))
        });
        Ok(variants)
    }

    /// POST one item.
    pub async fn post_item(&self, item: &NewItem) -> Res<BcCatalogItem> {
        item.validate().map_err(|p| problems("the new item", p))?;
        let body = new_item_body(item)?;
        let resp = self
            .send(
                Method::POST,
                &self.company_url("items"),
                &[],
                Some(&body),
                Resend::NotProcessedOnly,
            )
            .await?;
        let etag = resp.etag();
        let mut created = resp.json::<CatalogItemRow>()?.into_item()?;
        if created.etag.is_empty() {
            created.etag = etag.unwrap_or_default();
        }
        Ok(created)
    }

    /// PATCH an item's fields with `If-Match: etag`; `None` when there is nothing to change.
    pub async fn patch_item(
        &self,
        item_id: &str,
        etag: &str,
        update: &ItemUpdate,
    ) -> Res<Option<BcCatalogItem>> {
        if update.is_empty() {
            return Ok(None);
        }
        update
            .validate()
            .map_err(|p| problems("the item update", p))?;
        let id = guid("the item id", item_id)?;
        if etag.trim().is_empty() {
            return Err(invalid(
                "an item update needs the ETag the item was read with",
            ));
        }
        let body = update_body(update)?;
        let resp = self
            .send(
                Method::PATCH,
                &self.company_url(&format!("items({id})")),
                &[("If-Match", etag.to_string())],
                Some(&body),
                Resend::NotProcessedOnly,
            )
            .await?;
        let new_etag = resp.etag();
        let mut item = resp.json::<CatalogItemRow>()?.into_item()?;
        if item.etag.is_empty() {
            item.etag = new_etag.unwrap_or_default();
        }
        Ok(Some(item))
    }

    /// POST one item variant under its item.
    pub async fn post_item_variant(&self, variant: &NewItemVariant) -> Res<BcItemVariant> {
        variant
            .validate()
            .map_err(|p| problems("the new item variant", p))?;
        let body = serde_json::to_vec(&serde_json::json!({
            "code": variant.code,
            "description": variant.description,
        }))
        .map_err(|e| BcError::Config(format!("request body: {e}")))?;
        let row: ItemVariantRow = self
            .send(
                Method::POST,
                &self.company_url(&format!("items({})/itemVariants", variant.item_id)),
                &[],
                Some(&body),
                Resend::NotProcessedOnly,
            )
            .await?
            .json()?;
        Ok(row.into_variant())
    }

    /// The item's picture: metadata, then the content when there is a picture.
    pub async fn picture_of_item(&self, item_id: &str) -> Res<PictureState> {
        let id = guid("the item id", item_id)?;
        let url = self.company_url(&format!("items({id})/picture"));
        let resp = self.execute(Method::GET, &url, &[], None).await?;
        let header_etag = resp.etag();
        let row: PictureRow = resp.json()?;
        let etag = row.etag.or(header_etag).unwrap_or_default();
        if row.content_type.is_empty() && row.width == 0 && row.height == 0 {
            return Ok(PictureState::Absent { etag });
        }
        let content = self
            .execute(Method::GET, &format!("{url}/pictureContent"), &[], None)
            .await?
            .body;
        if content.is_empty() {
            return Ok(PictureState::Absent { etag });
        }
        Ok(PictureState::Present(ItemPicture {
            item_id: id.to_string(),
            content_type: row.content_type,
            width: row.width,
            height: row.height,
            etag,
            content_hash: content_hash(&content),
            content,
        }))
    }

    /// PATCH the item's picture content.
    pub async fn put_item_picture(&self, item_id: &str, etag: &str, content: &[u8]) -> Res<()> {
        let id = guid("the item id", item_id)?;
        if content.is_empty() || content.len() > limits::PICTURE_BYTES {
            return Err(invalid(format!(
                "a picture must have 1 to {} bytes",
                limits::PICTURE_BYTES
            )));
        }
        if etag.trim().is_empty() {
            return Err(invalid("a picture update needs the picture's ETag"));
        }
        self.send(
            Method::PATCH,
            &self.company_url(&format!("items({id})/picture/pictureContent")),
            &[
                ("If-Match", etag.to_string()),
                ("Content-Type", "application/octet-stream".to_string()),
            ],
            Some(content),
            Resend::NotProcessedOnly,
        )
        .await?;
        Ok(())
    }

    /// The price page's lines for these item numbers.
    pub async fn price_lines(
        &self,
        page: &str,
        company_name: &str,
        item_numbers: &[String],
    ) -> Res<Vec<PriceListLine>> {
        check_published_page("price", page, company_name)?;
        let mut numbers: Vec<String> = Vec::new();
        for n in item_numbers {
            let n = code_value("the item number", n, limits::NUMBER)?;
            if !numbers.contains(&n) {
                numbers.push(n);
            }
        }
        let mut lines = Vec::new();
        for chunk in numbers.chunks(ITEMS_PER_PRICE_READ) {
            let filter = chunk
                .iter()
                .map(|n| format!("itemNo eq {}", odata_string(n)))
                .collect::<Vec<_>>()
                .join(" or ");
            let url = with_query(
                &self.odata_page_url(company_name, page),
                &[("$filter", &filter)],
            );
            let rows: Vec<PriceLineRow> = self.get_collection(&url).await?;
            for r in rows {
                lines.push(PriceListLine {
                    minimum_quantity: match &r.minimum_quantity {
                        Some(q) => decimal_from("minimumQuantity", q)?,
                        None => Decimal::zero(),
                    },
                    unit_price: decimal_from("unitPrice", &r.unit_price)?,
                    item_number: r.item_no,
                    variant_code: r.variant_code,
                    price_group: r.price_group_code,
                    currency_code: r.currency_code,
                    starting_date: date(r.starting_date),
                    ending_date: date(r.ending_date),
                });
            }
        }
        Ok(lines)
    }

    /// Sales prices of `targets`: from the page's lines, or the unit prices without a page.
    pub async fn prices_for(
        &self,
        page: Option<&str>,
        company_name: &str,
        scope: &PriceScope,
        targets: &[PriceTarget],
    ) -> Res<Vec<SalesPrice>> {
        scope
            .validate()
            .map_err(|p| problems("the price scope", p))?;
        let lines = match page {
            Some(page) if !targets.is_empty() => {
                let numbers: Vec<String> = targets.iter().map(|t| t.item_number.clone()).collect();
                self.price_lines(page, company_name, &numbers).await?
            }
            _ => Vec::new(),
        };
        Ok(resolve_prices(&lines, scope, targets))
    }
}

#[async_trait]
impl BcItemsApi for BcClient {
    async fn items_modified_since(&self, cursor: Option<&ItemCursor>) -> Result<ItemBatch> {
        Ok(self.catalog_items_since(cursor).await?)
    }

    async fn item_by_number(&self, number: &str) -> Result<Option<BcCatalogItem>> {
        Ok(self.catalog_item(number).await?)
    }

    async fn item_variants(&self, item_id: &str) -> Result<Vec<BcItemVariant>> {
        Ok(self.variants_of_item(item_id).await?)
    }

    async fn items_by_numbers(&self, numbers: &[String]) -> Result<Vec<BcCatalogItem>> {
        Ok(self.catalog_items_by_numbers(numbers).await?)
    }

    async fn item_variants_modified_since(&self, since_ms: i64) -> Result<Vec<BcItemVariant>> {
        Ok(self.variants_modified_since(since_ms).await?)
    }

    async fn item_template(&self, template_item_number: &str) -> Result<ItemDefaults> {
        Ok(self.item_template_defaults(template_item_number).await?)
    }

    async fn create_item(&self, item: &NewItem) -> Result<BcCatalogItem> {
        Ok(self.post_item(item).await?)
    }

    async fn update_item(
        &self,
        item_id: &str,
        etag: &str,
        update: &ItemUpdate,
    ) -> Result<Option<BcCatalogItem>> {
        Ok(self.patch_item(item_id, etag, update).await?)
    }

    async fn create_item_variant(&self, variant: &NewItemVariant) -> Result<BcItemVariant> {
        Ok(self.post_item_variant(variant).await?)
    }

    async fn item_picture(&self, item_id: &str) -> Result<PictureState> {
        Ok(self.picture_of_item(item_id).await?)
    }

    async fn set_item_picture(&self, item_id: &str, etag: &str, content: &[u8]) -> Result<()> {
        Ok(self.put_item_picture(item_id, etag, content).await?)
    }

    async fn sales_prices(
        &self,
        page: Option<&str>,
        company_name: &str,
        scope: &PriceScope,
        targets: &[PriceTarget],
    ) -> Result<Vec<SalesPrice>> {
        Ok(self.prices_for(page, company_name, scope, targets).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        Decimal::parse(s).unwrap()
    }

    #[test]
    fn item_bodies_carry_template_defaults_and_exact_decimals() {
        let defaults = ItemDefaults {
            template_number: "TMPL".into(),
            item_type: Some(BcItemType::NonInventory),
            item_category_code: Some("chairs".into()),
            base_unit_of_measure_code: Some("PCS".into()),
            general_product_posting_group_code: Some("RETAIL".into()),
            inventory_posting_group_code: None,
            tax_group_code: Some("TAXABLE".into()),
            price_includes_tax: Some(false),
        };
        let mut item = NewItem::from_template(&defaults, "sku-1", "Chair");
        item.unit_price = Some(d("19.99"));
        item.unit_cost = Some(d("0.00001"));
        item.gtin = Some("4006381333931".into());
        let body = String::from_utf8(new_item_body(&item).unwrap()).unwrap();
        assert_eq!(
            body,
            r#"{"baseUnitOfMeasureCode":"PCS","displayName":"Chair","generalProductPostingGroupCode":"RETAIL","gtin":"4006381333931","itemCategoryCode":"CHAIRS","number":"SKU-1","priceIncludesTax":false,"taxGroupCode":"TAXABLE","type":"Non-Inventory","unitCost":0.00001,"unitPrice":19.99}"#
        );
        let update = ItemUpdate {
            unit_price: Some(d("10.5")),
            blocked: Some(true),
            ..Default::default()
        };
        assert_eq!(
            String::from_utf8(update_body(&update).unwrap()).unwrap(),
            r#"{"blocked":true,"unitPrice":10.5}"#
        );
    }

    #[test]
    fn rows_decode_to_items_and_defaults() {
        let row: CatalogItemRow = crate::wire::decode(
            br#"{"@odata.etag":"W/\"x\"","id":"00000000-0000-0000-0000-000000000001","number":"1000","displayName":"Chair","type":"Inventory","blocked":false,"gtin":"","unitPrice":19.99,"unitCost":"8.50","priceIncludesTax":false,"itemCategoryCode":"","baseUnitOfMeasureCode":"PCS","generalProductPostingGroupCode":"RETAIL","inventoryPostingGroupCode":"","taxGroupCode":"","lastModifiedDateTime":"2026-03-01T10:00:00.123Z"}"#,
        )
        .unwrap();
        let defaults = row.defaults();
        assert_eq!(
            (
                defaults.general_product_posting_group_code.as_deref(),
                defaults.item_category_code
            ),
            (Some("RETAIL"), None)
        );
        let item = row.into_item().unwrap();
        assert_eq!(
            (
                item.unit_price.as_str(),
                item.unit_cost.as_str(),
                item.gtin,
                item.etag.as_str()
            ),
            ("19.99", "8.5", None, "W/\"x\"")
        );
        assert_eq!(ms_to_iso(item.modified_ms), "2026-03-01T10:00:00.123Z");
        assert_eq!(date("0001-01-01".into()), "");
        assert_eq!(date("2026-03-01T00:00:00Z".into()), "2026-03-01");
    }

    #[test]
    fn values_reaching_urls_are_checked() {
        assert!(guid("x", "1000").is_err());
        assert!(code_value("x", "", 20).is_err());
        assert!(code_value("x", "a\nb", 20).is_err());
        assert_eq!(code_value("x", " o'neil ", 20).unwrap(), "O'NEIL");
    }
}
