//! The catalogue side of a simulated company: item fields beyond the stock view (unit cost, item
//! category, unit of measure, posting and tax groups), item variants created under their item (or at
//! the root with an `itemId`), item pictures, and a published sales-price page.
//!
//! What it holds the client to, as BC API v2.0 does:
//! - item variants are keyed by (item, code); `code` is a `Code[10]` stored upper case, a second
//!   variant with the same code is `Internal_EntityWithSameKeyExists`;
//! - a picture is an entity below its item (`items({id})/picture`, always present: an item without a
//!   picture has one with width 0, height 0 and no content type) whose bytes are a stream of their own:
//!   `GET …/picture/pictureContent` answers the bytes (204 when there are none) and
//!   `PATCH …/picture/pictureContent` replaces them, only with `If-Match` (missing: 400
//!   `BadRequest_InvalidToken`; stale: 412 `Request_EntityChanged`), answering 204. Changing the picture
//!   modifies the item (BC's `Picture` is a field of the Item record): new item ETag and
//!   `lastModifiedDateTime`;
//! - the price page is read-only, filterable and paged like the other published pages.
//!
//! Faults reach these routes like every other: the gateway draws them in `api.rs` by method and path
//! (`BcFaultRule::new(BcFault::DropAfterApply).on("PATCH", "pictureContent")`).

// Route helpers return ready-made error responses as `Err`.
#![allow(clippy::result_large_err)]

use crate::api::{Ctx, method_not_allowed, query_error, unquote};
use crate::model::{Company, CompanyHandle, etag, into_map};
use crate::odata::{CollectionQuery, page_of};
use crate::respond::bc_error;
use crate::sales::{ItemVariant, bad_request, invalid, list_variants, variant_json};
use crate::text::{now_ms, pct_encode};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};
use uuid::Uuid;

// ---------------------------------------------------------------------------------------------
// Data
// ---------------------------------------------------------------------------------------------

/// Item fields the stock view does not need.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ItemExtra {
    pub unit_cost: f64,
    pub price_includes_tax: bool,
    pub item_category_code: String,
    pub base_unit_of_measure_code: String,
    pub general_product_posting_group_code: String,
    pub inventory_posting_group_code: String,
    pub tax_group_code: String,
}

impl Default for ItemExtra {
    fn default() -> Self {
        ItemExtra {
            unit_cost: 0.0,
            price_includes_tax: false,
            item_category_code: String::new(),
            base_unit_of_measure_code: "PCS".into(),
            general_product_posting_group_code: String::new(),
            inventory_posting_group_code: String::new(),
            tax_group_code: String::new(),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Picture {
    pub content: Vec<u8>,
    pub content_type: String,
    pub width: u32,
    pub height: u32,
}

/// One line of the sales-price page.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SimPriceLine {
    pub item_no: String,
    pub variant_code: String,
    /// Empty: all customers.
    pub price_group_code: String,
    /// Empty: local currency.
    pub currency_code: String,
    pub minimum_quantity: f64,
    pub unit_price: f64,
    /// `YYYY-MM-DD`; empty renders as BC's `0001-01-01`.
    pub starting_date: String,
    pub ending_date: String,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct CatalogData {
    /// Item number → picture.
    pub pictures: HashMap<String, Picture>,
    /// Item number → row version of its picture entity (0: never set).
    pub picture_versions: HashMap<String, u64>,
    /// Item number → picture writes applied through the API (`PATCH …/pictureContent` that
    /// passed its `If-Match`), for tests that a picture is written once.
    pub picture_writes: HashMap<String, u64>,
    /// Line id (zero-padded sequence) → line.
    pub price_lines: BTreeMap<String, SimPriceLine>,
    pub price_pages: HashSet<String>,
    next_line: u64,
}

// ---------------------------------------------------------------------------------------------
// JSON
// ---------------------------------------------------------------------------------------------

pub(crate) fn extend_item_json(m: &mut Map<String, Value>, x: &ItemExtra) {
    m.insert("unitCost".into(), json!(x.unit_cost));
    m.insert("priceIncludesTax".into(), json!(x.price_includes_tax));
    m.insert("itemCategoryCode".into(), json!(x.item_category_code));
    m.insert(
        "baseUnitOfMeasureCode".into(),
        json!(x.base_unit_of_measure_code),
    );
    m.insert(
        "generalProductPostingGroupCode".into(),
        json!(x.general_product_posting_group_code),
    );
    m.insert(
        "inventoryPostingGroupCode".into(),
        json!(x.inventory_posting_group_code),
    );
    m.insert("taxGroupCode".into(), json!(x.tax_group_code));
}

/// Writable catalogue fields of `items` (besides those `api.rs` handles).
pub(crate) fn is_extra_field(field: &str) -> bool {
    matches!(
        field,
        "unitCost"
            | "priceIncludesTax"
            | "itemCategoryCode"
            | "baseUnitOfMeasureCode"
            | "generalProductPostingGroupCode"
            | "inventoryPostingGroupCode"
            | "taxGroupCode"
    )
}

/// A `Code` value held to its length, stored upper case.
fn code(field: &str, v: &Value, max: usize) -> Result<String, Response> {
    let s = v.as_str().ok_or_else(|| invalid(field, "Edm.String"))?;
    let n = s.chars().count();
    if n > max {
        return Err(bad_request(
            "Application_StringExceededLength",
            &format!(
                "The length of the string is {n}, but it must be less than or equal to {max} characters. Value: {s}"
            ),
        ));
    }
    Ok(s.trim().to_uppercase())
}

pub(crate) fn apply_extra_field(x: &mut ItemExtra, field: &str, v: &Value) -> Result<(), Response> {
    match field {
        "unitCost" => {
            let c = v.as_f64().ok_or_else(|| invalid(field, "Edm.Decimal"))?;
            if c < 0.0 {
                return Err(bad_request(
                    "Application_DialogException",
                    "Unit Cost must not be negative.",
                ));
            }
            x.unit_cost = c;
        }
        "priceIncludesTax" => {
            x.price_includes_tax = v.as_bool().ok_or_else(|| invalid(field, "Edm.Boolean"))?
        }
        "itemCategoryCode" => x.item_category_code = code(field, v, 20)?,
        "baseUnitOfMeasureCode" => x.base_unit_of_measure_code = code(field, v, 10)?,
        "generalProductPostingGroupCode" => {
            x.general_product_posting_group_code = code(field, v, 20)?
        }
        "inventoryPostingGroupCode" => x.inventory_posting_group_code = code(field, v, 20)?,
        "taxGroupCode" => x.tax_group_code = code(field, v, 20)?,
        _ => return Err(bad_request("BadRequest", &format!("Unknown field {field}"))),
    }
    Ok(())
}

fn picture_etag(company: &Company, number: &str) -> String {
    etag(
        &format!("picture|{number}"),
        company
            .catalog
            .picture_versions
            .get(number)
            .copied()
            .unwrap_or(0),
    )
}

fn picture_json(company: &Company, item_id: Uuid, number: &str, base: &str) -> Map<String, Value> {
    let p = company.catalog.pictures.get(number);
    into_map(json!({
        "@odata.etag": picture_etag(company, number),
        "id": item_id.to_string(),
        "parentType": "Item",
        "width": p.map_or(0, |p| p.width),
        "height": p.map_or(0, |p| p.height),
        "contentType": p.map_or("", |p| p.content_type.as_str()),
        "pictureContent@odata.mediaEditLink": format!("{base}/pictureContent"),
        "pictureContent@odata.mediaReadLink": format!("{base}/pictureContent"),
    }))
}

fn date_text(d: &str) -> String {
    if d.is_empty() {
        "0001-01-01".into()
    } else {
        d.to_string()
    }
}

fn price_line_json(id: &str, l: &SimPriceLine) -> Map<String, Value> {
    into_map(json!({
        "@odata.etag": etag(&format!("price|{id}"), 1),
        "itemNo": l.item_no,
        "variantCode": l.variant_code,
        "priceGroupCode": l.price_group_code,
        "currencyCode": l.currency_code,
        "minimumQuantity": l.minimum_quantity,
        "unitPrice": l.unit_price,
        "startingDate": date_text(&l.starting_date),
        "endingDate": date_text(&l.ending_date),
    }))
}

/// What an image's bytes say it is, and its size when the header gives it (PNG); other content
/// counts as 1×1.
fn sniff(content: &[u8]) -> (String, u32, u32) {
    if content.starts_with(b"\x89PNG\r\n\x1a\n") && content.len() >= 24 {
        let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        return (
            "image/png".into(),
            be(&content[16..20]),
            be(&content[20..24]),
        );
    }
    let t = if content.starts_with(&[0xFF, 0xD8, 0xFF]) {
        "image/jpeg"
    } else if content.starts_with(b"GIF8") {
        "image/gif"
    } else {
        "application/octet-stream"
    };
    (t.into(), 1, 1)
}

// ---------------------------------------------------------------------------------------------
// Routes
// ---------------------------------------------------------------------------------------------

fn item_not_found(id: &str) -> Response {
    bc_error(
        StatusCode::NOT_FOUND,
        "Internal_RecordNotFound",
        &format!("The Item does not exist. Identification fields and values: Id='{id}'"),
    )
}

/// The item number of an `items(<id>)` key.
fn item_number(company: &Company, key: &str) -> Option<String> {
    let id = Uuid::parse_str(&unquote(key)).ok()?;
    company
        .item_ids
        .get(&id)
        .filter(|n| company.items.contains_key(*n))
        .cloned()
}

/// The catalogue routes; `None` when the path is not one of them (the item collection, items by id
/// and their PATCH stay in `api.rs`).
pub(crate) fn route(
    ctx: &Ctx<'_>,
    company: &mut Company,
    ctx_base: &str,
    set: &str,
    key: Option<&str>,
    tail: &[String],
) -> Option<Response> {
    let tail: Vec<&str> = tail.iter().map(String::as_str).collect();
    Some(match (set, key, tail.as_slice()) {
        ("items", Some(id), [nav, ..]) if *nav == "picture" || *nav == "itemVariants" => {
            let Some(number) = item_number(company, id) else {
                return Some(item_not_found(&unquote(id)));
            };
            match &tail[..] {
                ["itemVariants"] => match ctx.method {
                    Method::GET => list_variants(ctx, company, ctx_base, Some(&number)),
                    Method::POST => create_variant(ctx, company, ctx_base, Some(&number)),
                    _ => method_not_allowed(&ctx.method),
                },
                ["picture"] if ctx.method == Method::GET => {
                    let item_id = company.items[&number].id;
                    let base = format!(
                        "{}{}",
                        ctx.shared.base_url,
                        ctx.raw_path.trim_end_matches('/')
                    );
                    ctx.entity(
                        StatusCode::OK,
                        format!("{ctx_base}/items({item_id})/picture/$entity"),
                        picture_json(company, item_id, &number, &base),
                    )
                }
                ["picture", "pictureContent"] => match ctx.method {
                    Method::GET => picture_content(company, &number),
                    Method::PATCH => set_picture(ctx, company, &number),
                    _ => method_not_allowed(&ctx.method),
                },
                ["picture", ..] => method_not_allowed(&ctx.method),
                _ => ctx.not_found_uri(),
            }
        }
        ("itemVariants", None, []) if ctx.method == Method::POST => {
            create_variant(ctx, company, ctx_base, None)
        }
        _ => return None,
    })
}

fn create_variant(
    ctx: &Ctx<'_>,
    company: &mut Company,
    ctx_base: &str,
    item: Option<&str>,
) -> Response {
    let body = match crate::api::json_body(ctx) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let mut number = item.map(str::to_string);
    let mut code_value = None;
    let mut description = String::new();
    for (k, v) in &body {
        match k.as_str() {
            "@odata.etag" | "@odata.context" => {}
            "code" => match code(k, v, 10) {
                Ok(c) => code_value = Some(c),
                Err(r) => return r,
            },
            "description" => match v.as_str() {
                Some(d) if d.chars().count() <= 100 => description = d.to_string(),
                Some(d) => {
                    return bad_request(
                        "Application_StringExceededLength",
                        &format!(
                            "The length of the string is {}, but it must be less than or equal to 100 characters. Value: {d}",
                            d.chars().count()
                        ),
                    );
                }
                None => return invalid(k, "Edm.String"),
            },
            "itemId" if item.is_none() => {
                let found = v
                    .as_str()
                    .and_then(|s| Uuid::parse_str(s).ok())
                    .and_then(|id| company.item_ids.get(&id).cloned());
                match found {
                    Some(n) => number = Some(n),
                    None => return invalid(k, "Edm.Guid"),
                }
            }
            "itemNumber" if item.is_none() => match code(k, v, 20) {
                Ok(n) => number = Some(n),
                Err(r) => return r,
            },
            "id" | "itemId" | "itemNumber" | "lastModifiedDateTime" => {
                return bad_request("BadRequest", &format!("The property '{k}' is read-only."));
            }
            _ => {
                return bad_request(
                    "BadRequest",
                    &format!(
                        "The property '{k}' does not exist on type 'Microsoft.NAV.itemVariant'. Make sure to only use property names that are defined by the type."
                    ),
                );
            }
        }
    }
    let Some(number) = number.filter(|n| company.items.contains_key(n)) else {
        return bad_request(
            "Application_DialogException",
            "An itemId or an itemNumber of an existing item must be provided.",
        );
    };
    let Some(code_value) = code_value.filter(|c| !c.is_empty()) else {
        return bad_request(
            "Application_DialogException",
            "Code must have a value in Item Variant.",
        );
    };
    let key = (number.clone(), code_value.clone());
    if company.sales.variants.contains_key(&key) {
        return bad_request(
            "Internal_EntityWithSameKeyExists",
            &format!(
                "The record in table Item Variant already exists. Identification fields and values: Item No.='{number}',Code='{code_value}'"
            ),
        );
    }
    let id = company.new_id();
    let row_version = company.next_version();
    let variant = ItemVariant {
        id,
        item_id: company.items[&number].id,
        item_number: number,
        code: code_value,
        description,
        modified_ms: now_ms(),
        row_version,
    };
    let json = variant_json(&variant);
    company.sales.variants.insert(key, variant);
    ctx.entity(
        StatusCode::CREATED,
        format!("{ctx_base}/itemVariants/$entity"),
        json,
    )
}

fn picture_content(company: &Company, number: &str) -> Response {
    match company.catalog.pictures.get(number) {
        Some(p) if !p.content.is_empty() => {
            let mut r = (StatusCode::OK, p.content.clone()).into_response();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            );
            r
        }
        _ => StatusCode::NO_CONTENT.into_response(),
    }
}

fn set_picture(ctx: &Ctx<'_>, company: &mut Company, number: &str) -> Response {
    let Some(if_match) = ctx
        .header(header::IF_MATCH)
        .map(str::trim)
        .filter(|s| !s.is_empty())
    else {
        return bad_request(
            "BadRequest_InvalidToken",
            "Could not validate the client concurrency token required by the service. Please provide a valid token in the client request.",
        );
    };
    if if_match != "*" && if_match != picture_etag(company, number) {
        return bc_error(
            StatusCode::PRECONDITION_FAILED,
            "Request_EntityChanged",
            "Another user has already changed the record.",
        );
    }
    let version = company.next_version();
    company
        .catalog
        .picture_versions
        .insert(number.to_string(), version);
    if ctx.body.is_empty() {
        company.catalog.pictures.remove(number);
    } else {
        let (content_type, width, height) = sniff(&ctx.body);
        company.catalog.pictures.insert(
            number.to_string(),
            Picture {
                content: ctx.body.to_vec(),
                content_type,
                width,
                height,
            },
        );
    }
    *company
        .catalog
        .picture_writes
        .entry(number.to_string())
        .or_default() += 1;
    company.touch_item(number);
    StatusCode::NO_CONTENT.into_response()
}

/// The published sales-price page.
pub(crate) fn price_page(
    ctx: &Ctx<'_>,
    company: &Company,
    company_name: &str,
    page_name: &str,
    pairs: Vec<(String, String)>,
    passthrough: Option<(String, String)>,
) -> Response {
    if ctx.method != Method::GET {
        return method_not_allowed(&ctx.method);
    }
    let sample = price_line_json("", &SimPriceLine::default());
    let q = match CollectionQuery::parse(&pairs).and_then(|mut q| {
        q.passthrough.extend(passthrough);
        q.validate(&sample, page_name).map(|_| q)
    }) {
        Ok(q) => q,
        Err(e) => return query_error(e),
    };
    let (size, applied) = ctx.page_size();
    let after = q.skiptoken.as_ref().and_then(|k| k.first().cloned());
    let page = page_of(
        &company.catalog.price_lines,
        &q,
        size,
        after,
        |k| vec![k.clone()],
        |k, l| price_line_json(k, l),
    );
    let context = format!(
        "{}/ODataV4/$metadata#Company('{}')/{}",
        ctx.root(),
        pct_encode(&company_name.replace('\'', "''")),
        pct_encode(page_name)
    );
    ctx.collection(context, page, applied)
}

// ---------------------------------------------------------------------------------------------
// Test helpers
// ---------------------------------------------------------------------------------------------

/// An item as the catalogue sees it, for seeding ([`CompanyHandle::add_catalog_item`]) and inspection
/// ([`CompanyHandle::catalog_item`]).
#[derive(Debug, Clone, PartialEq)]
pub struct SimItem {
    pub id: String,
    pub number: String,
    pub display_name: String,
    /// `Inventory`, `Service`, `Non-Inventory`.
    pub item_type: String,
    pub gtin: Option<String>,
    pub unit_price: f64,
    pub unit_cost: f64,
    pub blocked: bool,
    pub item_category_code: String,
    pub base_unit_of_measure_code: String,
    pub general_product_posting_group_code: String,
    pub inventory_posting_group_code: String,
    pub tax_group_code: String,
    pub price_includes_tax: bool,
    pub modified_ms: i64,
}

impl SimItem {
    /// An inventory item with a price and nothing else set.
    pub fn new(number: &str, display_name: &str, unit_price: f64) -> SimItem {
        let x = ItemExtra::default();
        SimItem {
            id: String::new(),
            number: number.to_string(),
            display_name: display_name.to_string(),
            item_type: "Inventory".into(),
            gtin: None,
            unit_price,
            unit_cost: x.unit_cost,
            blocked: false,
            item_category_code: x.item_category_code,
            base_unit_of_measure_code: x.base_unit_of_measure_code,
            general_product_posting_group_code: x.general_product_posting_group_code,
            inventory_posting_group_code: x.inventory_posting_group_code,
            tax_group_code: x.tax_group_code,
            price_includes_tax: x.price_includes_tax,
            modified_ms: 0,
        }
    }
}

impl CompanyHandle {
    /// Add (or replace the fields of) an item with its catalogue fields; returns its id. The item
    /// counts as modified now.
    pub fn add_catalog_item(&self, item: &SimItem) -> String {
        let mut c = self.lock();
        c.upsert_item(&item.number, &item.item_type, item.gtin.as_deref());
        let stored = c.items.get_mut(&item.number).expect("just upserted");
        stored.display_name = item.display_name.clone();
        stored.unit_price = item.unit_price;
        stored.blocked = item.blocked;
        stored.extra = ItemExtra {
            unit_cost: item.unit_cost,
            price_includes_tax: item.price_includes_tax,
            item_category_code: item.item_category_code.clone(),
            base_unit_of_measure_code: item.base_unit_of_measure_code.clone(),
            general_product_posting_group_code: item.general_product_posting_group_code.clone(),
            inventory_posting_group_code: item.inventory_posting_group_code.clone(),
            tax_group_code: item.tax_group_code.clone(),
        };
        stored.id.to_string()
    }

    /// An item as stored.
    pub fn catalog_item(&self, number: &str) -> Option<SimItem> {
        let c = self.lock();
        let i = c.items.get(number)?;
        Some(SimItem {
            id: i.id.to_string(),
            number: i.number.clone(),
            display_name: i.display_name.clone(),
            item_type: i.item_type.clone(),
            gtin: i.gtin.clone(),
            unit_price: i.unit_price,
            unit_cost: i.extra.unit_cost,
            blocked: i.blocked,
            item_category_code: i.extra.item_category_code.clone(),
            base_unit_of_measure_code: i.extra.base_unit_of_measure_code.clone(),
            general_product_posting_group_code: i.extra.general_product_posting_group_code.clone(),
            inventory_posting_group_code: i.extra.inventory_posting_group_code.clone(),
            tax_group_code: i.extra.tax_group_code.clone(),
            price_includes_tax: i.extra.price_includes_tax,
            modified_ms: i.modified_ms,
        })
    }

    /// Change an item's unit price (a modification in BC: new ETag and `lastModifiedDateTime`).
    pub fn set_item_unit_price(&self, number: &str, unit_price: f64) {
        let mut c = self.lock();
        if let Some(item) = c.items.get_mut(number) {
            item.unit_price = unit_price;
        }
        c.touch_item(number);
    }

    /// Set an item's `lastModifiedDateTime` (epoch ms) without changing anything else, for cursor tests.
    pub fn set_item_modified_ms(&self, number: &str, ms: i64) {
        if let Some(item) = self.lock().items.get_mut(number) {
            item.modified_ms = ms;
        }
    }

    /// The codes of an item's variants, in order.
    pub fn item_variant_codes(&self, number: &str) -> Vec<String> {
        self.lock()
            .sales
            .variants
            .keys()
            .filter(|(item, _)| item == number)
            .map(|(_, code)| code.clone())
            .collect()
    }

    /// Set an item's picture as a user in BC would (empty: remove it). Modifies the item.
    pub fn set_item_picture(&self, number: &str, content: &[u8]) {
        let mut c = self.lock();
        if !c.items.contains_key(number) {
            return;
        }
        let version = c.next_version();
        c.catalog
            .picture_versions
            .insert(number.to_string(), version);
        if content.is_empty() {
            c.catalog.pictures.remove(number);
        } else {
            let (content_type, width, height) = sniff(content);
            c.catalog.pictures.insert(
                number.to_string(),
                Picture {
                    content: content.to_vec(),
                    content_type,
                    width,
                    height,
                },
            );
        }
        c.touch_item(number);
    }

    /// How many picture writes of the API were applied to the item (a user's
    /// [`CompanyHandle::set_item_picture`] not counted).
    pub fn picture_writes(&self, number: &str) -> u64 {
        self.lock()
            .catalog
            .picture_writes
            .get(number)
            .copied()
            .unwrap_or(0)
    }

    /// An item's picture bytes, if it has one.
    pub fn item_picture(&self, number: &str) -> Option<Vec<u8>> {
        self.lock()
            .catalog
            .pictures
            .get(number)
            .map(|p| p.content.clone())
    }

    /// Publish the sales-price page under this service name.
    pub fn publish_price_page(&self, page_name: &str) {
        self.lock()
            .catalog
            .price_pages
            .insert(page_name.to_string());
    }

    /// Add a line to the sales-price page; returns its id.
    pub fn add_price_line(&self, line: SimPriceLine) -> String {
        let mut c = self.lock();
        c.catalog.next_line += 1;
        let id = format!("{:010}", c.catalog.next_line);
        c.catalog.price_lines.insert(id.clone(), line);
        id
    }

    /// Remove every line of the sales-price page.
    pub fn clear_price_lines(&self) {
        self.lock().catalog.price_lines.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_images() {
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        png.extend_from_slice(&640u32.to_be_bytes());
        png.extend_from_slice(&480u32.to_be_bytes());
        assert_eq!(sniff(&png), ("image/png".into(), 640, 480));
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]).0, "image/jpeg");
        assert_eq!(sniff(b"hello").0, "application/octet-stream");
    }

    #[test]
    fn extra_fields_are_codes() {
        let mut x = ItemExtra::default();
        apply_extra_field(&mut x, "itemCategoryCode", &json!(" chairs ")).unwrap();
        assert_eq!(x.item_category_code, "CHAIRS");
        assert!(apply_extra_field(&mut x, "taxGroupCode", &json!("x".repeat(21))).is_err());
        assert!(apply_extra_field(&mut x, "unitCost", &json!(-1)).is_err());
        let mut m = Map::new();
        extend_item_json(&mut m, &x);
        assert_eq!(m["baseUnitOfMeasureCode"], "PCS");
    }
}
