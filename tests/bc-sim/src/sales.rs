//! The sales side of a simulated company: `customers`, `itemVariants`, `salesOrders` and
//! `salesInvoices` with their lines, posted sales invoices (they are `salesInvoices` whose status is no
//! longer `Draft`, as in BC's invoice aggregate) and `salesShipments` with their lines, plus an optional
//! published page with shipment tracking (API v2.0 shipments have no tracking number).
//!
//! What it holds the client to, as BC does:
//! - a document and its lines are created by one POST (deep insert) and stored only when every part of
//!   it is valid: an unknown item on line 3 leaves no header behind;
//! - `Code` fields (`number`, `externalDocumentNumber`, `lineObjectNumber`, `currencyCode`) are stored
//!   upper case, and every text is held to BC's field length (`Application_StringExceededLength`);
//! - unknown and read-only properties are refused; decimals must be JSON numbers, and their text is
//!   kept exactly as sent (tests can check that `19.99` arrived as `19.99`);
//! - posting is not an API call here: test helpers ship, invoice and post documents the way BC's
//!   posting routines would ([`CompanyHandle::post_shipment`], [`CompanyHandle::post_invoice`],
//!   [`CompanyHandle::invoice_order`]).

// Route helpers return ready-made error responses as `Err`.
#![allow(clippy::result_large_err)]

use crate::api::{Ctx, method_not_allowed, query_error, unquote};
use crate::model::{Company, CompanyHandle, etag, into_map};
use crate::odata::{CollectionQuery, page_of};
use crate::respond::bc_error;
use crate::text::{format_iso, now_ms, pct_encode};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use uuid::Uuid;

type RawMap = BTreeMap<String, Box<RawValue>>;

// ---------------------------------------------------------------------------------------------
// Data
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Default)]
pub(crate) struct Addr {
    pub line1: String,
    pub line2: String,
    pub city: String,
    pub state: String,
    pub country: String,
    pub post_code: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Customer {
    pub id: Uuid,
    pub number: String,
    pub display_name: String,
    pub customer_type: String,
    pub address: Addr,
    pub phone_number: String,
    pub email: String,
    pub website: String,
    pub tax_liable: bool,
    pub tax_area_id: Uuid,
    /// `VAT Registration No.`, `Text[20]`.
    pub tax_registration_number: String,
    pub currency_code: String,
    pub payment_terms_id: Uuid,
    pub shipment_method_id: Uuid,
    pub payment_method_id: Uuid,
    pub blocked: String,
    pub modified_ms: i64,
    pub row_version: u64,
}

#[derive(Debug, Clone)]
pub(crate) struct ItemVariant {
    pub id: Uuid,
    pub item_id: Uuid,
    pub item_number: String,
    pub code: String,
    pub description: String,
    pub modified_ms: i64,
    pub row_version: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DocKind {
    Order,
    Invoice,
}

impl DocKind {
    fn lines_nav(self) -> &'static str {
        match self {
            DocKind::Order => "salesOrderLines",
            DocKind::Invoice => "salesInvoiceLines",
        }
    }

    fn set(self) -> &'static str {
        match self {
            DocKind::Order => "salesOrders",
            DocKind::Invoice => "salesInvoices",
        }
    }

    fn date_field(self) -> &'static str {
        match self {
            DocKind::Order => "orderDate",
            DocKind::Invoice => "invoiceDate",
        }
    }

    fn type_name(self) -> &'static str {
        match self {
            DocKind::Order => "salesOrder",
            DocKind::Invoice => "salesInvoice",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct SalesLine {
    pub id: Uuid,
    pub sequence: i64,
    pub line_type: String,
    pub line_object_number: String,
    pub item_id: Option<Uuid>,
    pub item_variant_id: Option<Uuid>,
    pub variant_code: String,
    pub description: String,
    /// Decimal texts exactly as the client sent them.
    pub quantity: String,
    pub unit_price: String,
    pub discount_amount: String,
    pub discount_percent: String,
    pub shipped: f64,
    pub invoiced: f64,
}

#[derive(Debug, Clone)]
pub(crate) struct SalesDoc {
    pub id: Uuid,
    pub kind: DocKind,
    pub number: String,
    pub external_document_number: String,
    pub document_date: String,
    pub posting_date: String,
    pub customer_id: Uuid,
    pub customer_number: String,
    pub customer_name: String,
    pub bill_to_name: String,
    pub sell_to: Addr,
    pub bill_to: Addr,
    pub ship_to: Addr,
    pub ship_to_name: String,
    pub ship_to_contact: String,
    pub currency_code: String,
    pub phone_number: String,
    pub email: String,
    pub discount_amount: String,
    pub status: String,
    /// Invoices only: posted (no longer a draft).
    pub posted: bool,
    /// Posted invoices made from an order.
    pub order_number: String,
    pub order_id: Uuid,
    pub lines: Vec<SalesLine>,
    pub modified_ms: i64,
    pub row_version: u64,
}

#[derive(Debug, Clone)]
pub(crate) struct ShipmentLine {
    pub id: Uuid,
    pub sequence: i64,
    pub line_type: String,
    pub line_object_number: String,
    pub description: String,
    pub quantity: String,
    pub unit_price: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Shipment {
    pub id: Uuid,
    pub number: String,
    pub order_number: String,
    pub external_document_number: String,
    pub customer_id: Uuid,
    pub customer_number: String,
    pub customer_name: String,
    pub posting_date: String,
    pub ship_to_name: String,
    pub ship_to: Addr,
    pub currency_code: String,
    pub lines: Vec<ShipmentLine>,
    pub modified_ms: i64,
    pub row_version: u64,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Tracking {
    pub tracking_no: String,
    pub agent_code: String,
    pub company: String,
    pub url: String,
}

#[derive(Debug, Clone, Default)]
struct Counters {
    customer: u64,
    order: u64,
    invoice: u64,
    posted_invoice: u64,
    shipment: u64,
}

/// The sales data of one company.
#[derive(Debug, Clone, Default)]
pub(crate) struct SalesData {
    pub customers: BTreeMap<String, Customer>,
    /// (item number, variant code) → variant.
    pub variants: BTreeMap<(String, String), ItemVariant>,
    pub orders: BTreeMap<String, SalesDoc>,
    /// Draft and posted invoices, by number.
    pub invoices: BTreeMap<String, SalesDoc>,
    pub shipments: BTreeMap<String, Shipment>,
    /// Shipment number → tracking.
    pub tracking: BTreeMap<String, Tracking>,
    pub tracking_pages: HashSet<String>,
    pub gl_accounts: BTreeSet<String>,
    pub item_charges: BTreeSet<String>,
    counters: Counters,
}

// ---------------------------------------------------------------------------------------------
// JSON
// ---------------------------------------------------------------------------------------------

/// A decimal text as the JSON number BC answers with (`3`, `19.99`).
fn num(text: &str) -> Value {
    if let Ok(i) = text.parse::<i64>() {
        return Value::from(i);
    }
    text.parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map(Value::Number)
        .unwrap_or(Value::from(0))
}

fn f(text: &str) -> f64 {
    text.parse().unwrap_or(0.0)
}

/// A quantity as decimal text: `2`, `1.5`.
fn qty_text(q: f64) -> String {
    if q.fract() == 0.0 {
        format!("{q:.0}")
    } else {
        let s = format!("{q:.5}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

fn guid_or_nil(id: Option<Uuid>) -> String {
    id.unwrap_or(Uuid::nil()).to_string()
}

fn today() -> String {
    format_iso(now_ms())[..10].to_string()
}

fn addr_json(m: &mut Map<String, Value>, prefix: &str, a: &Addr) {
    m.insert(format!("{prefix}AddressLine1"), json!(a.line1));
    m.insert(format!("{prefix}AddressLine2"), json!(a.line2));
    m.insert(format!("{prefix}City"), json!(a.city));
    m.insert(format!("{prefix}Country"), json!(a.country));
    m.insert(format!("{prefix}State"), json!(a.state));
    m.insert(format!("{prefix}PostCode"), json!(a.post_code));
}

pub(crate) fn customer_json(c: &Customer) -> Map<String, Value> {
    into_map(json!({
        "@odata.etag": etag(&c.number, c.row_version),
        "id": c.id.to_string(),
        "number": c.number,
        "displayName": c.display_name,
        "type": c.customer_type,
        "addressLine1": c.address.line1,
        "addressLine2": c.address.line2,
        "city": c.address.city,
        "state": c.address.state,
        "country": c.address.country,
        "postalCode": c.address.post_code,
        "phoneNumber": c.phone_number,
        "email": c.email,
        "website": c.website,
        "salespersonCode": "",
        "balanceDue": 0,
        "creditLimit": 0,
        "taxLiable": c.tax_liable,
        "taxAreaId": c.tax_area_id.to_string(),
        "taxAreaDisplayName": "",
        "taxRegistrationNumber": c.tax_registration_number,
        "currencyId": Uuid::nil().to_string(),
        "currencyCode": c.currency_code,
        "paymentTermsId": c.payment_terms_id.to_string(),
        "shipmentMethodId": c.shipment_method_id.to_string(),
        "paymentMethodId": c.payment_method_id.to_string(),
        "blocked": c.blocked,
        "lastModifiedDateTime": format_iso(c.modified_ms),
    }))
}

/// An item variant as BC's `itemVariants` API shows it.
pub(crate) fn variant_json(v: &ItemVariant) -> Map<String, Value> {
    into_map(json!({
        "@odata.etag": etag(&format!("{}|{}", v.item_number, v.code), v.row_version),
        "id": v.id.to_string(),
        "itemId": v.item_id.to_string(),
        "itemNumber": v.item_number,
        "code": v.code,
        "description": v.description,
        "lastModifiedDateTime": format_iso(v.modified_ms),
    }))
}

fn line_json(doc: &SalesDoc, l: &SalesLine) -> Map<String, Value> {
    let amount = f(&l.quantity) * f(&l.unit_price) - f(&l.discount_amount);
    let mut m = into_map(json!({
        "@odata.etag": etag(&format!("{}|{}", doc.number, l.sequence), doc.row_version),
        "id": l.id.to_string(),
        "documentId": doc.id.to_string(),
        "sequence": l.sequence,
        "itemId": guid_or_nil(l.item_id),
        "accountId": Uuid::nil().to_string(),
        "lineType": l.line_type,
        "lineObjectNumber": l.line_object_number,
        "description": l.description,
        "description2": "",
        "unitOfMeasureCode": if l.line_type == "Item" { "PCS" } else { "" },
        "quantity": num(&l.quantity),
        "unitPrice": num(&l.unit_price),
        "discountAmount": num(&l.discount_amount),
        "discountPercent": num(&l.discount_percent),
        "discountAppliedBeforeTax": false,
        "amountExcludingTax": amount,
        "taxCode": "",
        "taxPercent": 0,
        "totalTaxAmount": 0,
        "amountIncludingTax": amount,
        "netAmount": amount,
        "itemVariantId": guid_or_nil(l.item_variant_id),
        "locationId": Uuid::nil().to_string(),
    }));
    if doc.kind == DocKind::Order {
        m.insert("shippedQuantity".into(), json!(l.shipped));
        m.insert("invoicedQuantity".into(), json!(l.invoiced));
        m.insert(
            "shipQuantity".into(),
            json!((f(&l.quantity) - l.shipped).max(0.0)),
        );
    }
    m
}

fn doc_total(doc: &SalesDoc) -> f64 {
    doc.lines
        .iter()
        .map(|l| f(&l.quantity) * f(&l.unit_price) - f(&l.discount_amount))
        .sum::<f64>()
        - f(&doc.discount_amount)
}

pub(crate) fn doc_json(doc: &SalesDoc, with_lines: bool) -> Map<String, Value> {
    let total = doc_total(doc);
    let mut m = into_map(json!({
        "@odata.etag": etag(&doc.number, doc.row_version),
        "id": doc.id.to_string(),
        "number": doc.number,
        "externalDocumentNumber": doc.external_document_number,
        "postingDate": doc.posting_date,
        "customerId": doc.customer_id.to_string(),
        "customerNumber": doc.customer_number,
        "customerName": doc.customer_name,
        "billToName": doc.bill_to_name,
        "billToCustomerId": doc.customer_id.to_string(),
        "billToCustomerNumber": doc.customer_number,
        "shipToName": doc.ship_to_name,
        "shipToContact": doc.ship_to_contact,
        "currencyId": Uuid::nil().to_string(),
        "currencyCode": doc.currency_code,
        "pricesIncludeTax": false,
        "paymentTermsId": Uuid::nil().to_string(),
        "shipmentMethodId": Uuid::nil().to_string(),
        "salesperson": "",
        "discountAmount": num(&doc.discount_amount),
        "discountAppliedBeforeTax": false,
        "totalAmountExcludingTax": total,
        "totalTaxAmount": 0,
        "totalAmountIncludingTax": total,
        "status": doc.status,
        "lastModifiedDateTime": format_iso(doc.modified_ms),
        "phoneNumber": doc.phone_number,
        "email": doc.email,
    }));
    m.insert(doc.kind.date_field().into(), json!(doc.document_date));
    addr_json(&mut m, "sellTo", &doc.sell_to);
    addr_json(&mut m, "billTo", &doc.bill_to);
    addr_json(&mut m, "shipTo", &doc.ship_to);
    match doc.kind {
        DocKind::Order => {
            let fully = doc
                .lines
                .iter()
                .filter(|l| l.line_type == "Item")
                .all(|l| l.shipped >= f(&l.quantity));
            m.insert("fullyShipped".into(), json!(fully));
            m.insert("partialShipping".into(), json!(true));
            m.insert("requestedDeliveryDate".into(), json!("0001-01-01"));
        }
        DocKind::Invoice => {
            m.insert("dueDate".into(), json!(doc.document_date));
            m.insert("orderId".into(), json!(doc.order_id.to_string()));
            m.insert("orderNumber".into(), json!(doc.order_number));
            m.insert("customerPurchaseOrderReference".into(), json!(""));
            m.insert(
                "remainingAmount".into(),
                json!(if doc.posted { total } else { 0.0 }),
            );
        }
    }
    if with_lines {
        m.insert(
            doc.kind.lines_nav().into(),
            Value::Array(
                doc.lines
                    .iter()
                    .map(|l| Value::Object(line_json(doc, l)))
                    .collect(),
            ),
        );
    }
    m
}

fn shipment_line_json(s: &Shipment, l: &ShipmentLine) -> Map<String, Value> {
    into_map(json!({
        "@odata.etag": etag(&format!("{}|{}", s.number, l.sequence), s.row_version),
        "id": l.id.to_string(),
        "documentId": s.id.to_string(),
        "documentNo": s.number,
        "sequence": l.sequence,
        "lineType": l.line_type,
        "lineObjectNumber": l.line_object_number,
        "description": l.description,
        "description2": "",
        "unitOfMeasureCode": if l.line_type == "Item" { "PCS" } else { "" },
        "unitPrice": num(&l.unit_price),
        "quantity": num(&l.quantity),
        "discountPercent": 0,
        "taxPercent": 0,
        "shipmentDate": s.posting_date,
    }))
}

pub(crate) fn shipment_json(s: &Shipment, with_lines: bool) -> Map<String, Value> {
    let mut m = into_map(json!({
        "@odata.etag": etag(&s.number, s.row_version),
        "id": s.id.to_string(),
        "number": s.number,
        "externalDocumentNumber": s.external_document_number,
        "invoiceDate": s.posting_date,
        "postingDate": s.posting_date,
        "dueDate": s.posting_date,
        "customerPurchaseOrderReference": "",
        "customerId": s.customer_id.to_string(),
        "customerNumber": s.customer_number,
        "customerName": s.customer_name,
        "billToName": s.customer_name,
        "billToCustomerId": s.customer_id.to_string(),
        "billToCustomerNumber": s.customer_number,
        "shipToName": s.ship_to_name,
        "shipToContact": "",
        "currencyCode": s.currency_code,
        "orderNumber": s.order_number,
        "paymentTermsCode": "",
        "shipmentMethodCode": "",
        "salesperson": "",
        "pricesIncludeTax": false,
        "lastModifiedDateTime": format_iso(s.modified_ms),
        "phoneNumber": "",
        "email": "",
    }));
    addr_json(&mut m, "shipTo", &s.ship_to);
    if with_lines {
        m.insert(
            "salesShipmentLines".into(),
            Value::Array(
                s.lines
                    .iter()
                    .map(|l| Value::Object(shipment_line_json(s, l)))
                    .collect(),
            ),
        );
    }
    m
}

fn tracking_json(number: &str, s: &Shipment, t: Option<&Tracking>) -> Map<String, Value> {
    let t = t.cloned().unwrap_or_default();
    into_map(json!({
        "@odata.etag": etag(number, s.row_version),
        "shipmentNo": number,
        "orderNo": s.order_number,
        "packageTrackingNo": t.tracking_no,
        "shippingAgentCode": t.agent_code,
        "trackingCompany": t.company,
        "trackingUrl": t.url,
    }))
}

fn sample_customer() -> Customer {
    Customer {
        id: Uuid::nil(),
        number: String::new(),
        display_name: String::new(),
        customer_type: "Person".into(),
        address: Addr::default(),
        phone_number: String::new(),
        email: String::new(),
        website: String::new(),
        tax_liable: false,
        tax_area_id: Uuid::nil(),
        tax_registration_number: String::new(),
        currency_code: String::new(),
        payment_terms_id: Uuid::nil(),
        shipment_method_id: Uuid::nil(),
        payment_method_id: Uuid::nil(),
        blocked: " ".into(),
        modified_ms: 0,
        row_version: 0,
    }
}

fn blank_doc(kind: DocKind) -> SalesDoc {
    SalesDoc {
        id: Uuid::nil(),
        kind,
        number: String::new(),
        external_document_number: String::new(),
        document_date: String::new(),
        posting_date: String::new(),
        customer_id: Uuid::nil(),
        customer_number: String::new(),
        customer_name: String::new(),
        bill_to_name: String::new(),
        sell_to: Addr::default(),
        bill_to: Addr::default(),
        ship_to: Addr::default(),
        ship_to_name: String::new(),
        ship_to_contact: String::new(),
        currency_code: String::new(),
        phone_number: String::new(),
        email: String::new(),
        discount_amount: "0".into(),
        status: "Draft".into(),
        posted: false,
        order_number: String::new(),
        order_id: Uuid::nil(),
        lines: Vec::new(),
        modified_ms: 0,
        row_version: 0,
    }
}

fn blank_shipment() -> Shipment {
    Shipment {
        id: Uuid::nil(),
        number: String::new(),
        order_number: String::new(),
        external_document_number: String::new(),
        customer_id: Uuid::nil(),
        customer_number: String::new(),
        customer_name: String::new(),
        posting_date: String::new(),
        ship_to_name: String::new(),
        ship_to: Addr::default(),
        currency_code: String::new(),
        lines: Vec::new(),
        modified_ms: 0,
        row_version: 0,
    }
}

// ---------------------------------------------------------------------------------------------
// Request bodies
// ---------------------------------------------------------------------------------------------

/// A 400 with BC's error `code` and `message`.
pub(crate) fn bad_request(code: &str, message: &str) -> Response {
    bc_error(StatusCode::BAD_REQUEST, code, message)
}

/// The 400 BC answers a value of the wrong type for `field` with.
pub(crate) fn invalid(field: &str, expected: &str) -> Response {
    bad_request(
        "BadRequest",
        &format!(
            "Cannot convert the literal for property '{field}' to the expected type '{expected}'."
        ),
    )
}

fn unknown_property(field: &str, type_name: &str) -> Response {
    bad_request(
        "BadRequest",
        &format!(
            "The property '{field}' does not exist on type 'Microsoft.NAV.{type_name}'. Make sure to only use property names that are defined by the type."
        ),
    )
}

fn read_only(field: &str) -> Response {
    bad_request(
        "BadRequest",
        &format!("The property '{field}' is read-only."),
    )
}

fn dialog(message: &str) -> Response {
    bad_request("Application_DialogException", message)
}

/// The request body as raw members, so decimals keep their text.
fn raw_body(ctx: &Ctx<'_>) -> Result<RawMap, Response> {
    serde_json::from_slice::<RawMap>(&ctx.body)
        .map_err(|_| bad_request("BadRequest", "The request body is not a valid JSON object."))
}

fn raw_string(field: &str, raw: &RawValue) -> Result<String, Response> {
    serde_json::from_str::<String>(raw.get()).map_err(|_| invalid(field, "Edm.String"))
}

fn raw_bool(field: &str, raw: &RawValue) -> Result<bool, Response> {
    serde_json::from_str::<bool>(raw.get()).map_err(|_| invalid(field, "Edm.Boolean"))
}

fn raw_guid(field: &str, raw: &RawValue) -> Result<Uuid, Response> {
    raw_string(field, raw)
        .ok()
        .and_then(|s| Uuid::parse_str(&s).ok())
        .ok_or_else(|| invalid(field, "Edm.Guid"))
}

fn raw_int(field: &str, raw: &RawValue) -> Result<i64, Response> {
    serde_json::from_str::<i64>(raw.get()).map_err(|_| invalid(field, "Edm.Int32"))
}

/// A JSON number, as its exact text.
fn raw_decimal(field: &str, raw: &RawValue) -> Result<String, Response> {
    let text = raw.get().trim();
    let number_like = text
        .bytes()
        .next()
        .is_some_and(|b| b == b'-' || b.is_ascii_digit());
    if number_like && text.parse::<f64>().is_ok_and(f64::is_finite) {
        Ok(text.to_string())
    } else {
        Err(invalid(field, "Edm.Decimal"))
    }
}

fn raw_date(field: &str, raw: &RawValue) -> Result<String, Response> {
    let s = raw_string(field, raw)?;
    let ok = s.len() == 10
        && s.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        })
        && s[5..7].parse::<u32>().is_ok_and(|m| (1..=12).contains(&m))
        && s[8..10].parse::<u32>().is_ok_and(|d| (1..=31).contains(&d));
    if ok {
        Ok(s)
    } else {
        Err(invalid(field, "Edm.Date"))
    }
}

/// A text held to BC's field length.
fn text(field: &str, raw: &RawValue, max: usize) -> Result<String, Response> {
    let s = raw_string(field, raw)?;
    let n = s.chars().count();
    if n > max {
        return Err(bad_request(
            "Application_StringExceededLength",
            &format!(
                "The length of the string is {n}, but it must be less than or equal to {max} characters. Value: {s}"
            ),
        ));
    }
    Ok(s)
}

/// A `Code` field: length-checked, stored upper case.
fn code(field: &str, raw: &RawValue, max: usize) -> Result<String, Response> {
    Ok(text(field, raw, max)?.trim().to_uppercase())
}

/// `<prefix>AddressLine1` … `<prefix>PostCode` (documents) into `a`; `Ok(false)` if `field` is not one.
fn doc_addr_field(field: &str, raw: &RawValue, a: &mut Addr) -> Result<bool, Response> {
    let Some(suffix) = ["sellTo", "billTo", "shipTo"]
        .iter()
        .find_map(|p| field.strip_prefix(p))
    else {
        return Ok(false);
    };
    match suffix {
        "AddressLine1" => a.line1 = text(field, raw, 100)?,
        "AddressLine2" => a.line2 = text(field, raw, 50)?,
        "City" => a.city = text(field, raw, 30)?,
        "State" => a.state = text(field, raw, 30)?,
        "Country" => a.country = code(field, raw, 10)?,
        "PostCode" => a.post_code = code(field, raw, 20)?,
        _ => return Ok(false),
    }
    Ok(true)
}

// ---------------------------------------------------------------------------------------------
// Routes
// ---------------------------------------------------------------------------------------------

/// The sales entity sets; `None` when `set` is not one of them.
pub(crate) fn route(
    ctx: &Ctx<'_>,
    company: &mut Company,
    ctx_base: &str,
    set: &str,
    key: Option<&str>,
    tail: &[String],
) -> Option<Response> {
    Some(match (set, key, tail) {
        ("customers", None, []) => match ctx.method {
            Method::GET => list_customers(ctx, company, ctx_base),
            Method::POST => create_customer(ctx, company, ctx_base),
            _ => method_not_allowed(&ctx.method),
        },
        ("customers", Some(id), []) if ctx.method == Method::PATCH => {
            customers::patch_customer(ctx, company, id, ctx_base)
        }
        ("customers", Some(id), []) => {
            let id = unquote(id).to_lowercase();
            match company
                .sales
                .customers
                .values()
                .find(|c| c.id.to_string() == id)
            {
                Some(c) if ctx.method == Method::GET => ctx.entity(
                    StatusCode::OK,
                    format!("{ctx_base}/customers/$entity"),
                    customer_json(c),
                ),
                Some(_) => method_not_allowed(&ctx.method),
                None => not_found("Customer", &id),
            }
        }
        ("itemVariants", None, []) if ctx.method == Method::GET => {
            list_variants(ctx, company, ctx_base, None)
        }
        ("itemVariants", _, _) => method_not_allowed(&ctx.method),
        ("salesOrders", None, []) => documents(ctx, company, ctx_base, DocKind::Order),
        ("salesInvoices", None, []) => documents(ctx, company, ctx_base, DocKind::Invoice),
        ("salesOrders", Some(id), rest) => {
            document(ctx, company, ctx_base, DocKind::Order, id, rest)
        }
        ("salesInvoices", Some(id), rest) => {
            document(ctx, company, ctx_base, DocKind::Invoice, id, rest)
        }
        ("salesShipments", None, []) if ctx.method == Method::GET => {
            list_shipments(ctx, company, ctx_base)
        }
        ("salesShipments", Some(id), rest) if ctx.method == Method::GET => {
            shipment(ctx, company, ctx_base, id, rest)
        }
        ("salesShipments", _, _) => method_not_allowed(&ctx.method),
        _ => return None,
    })
}

/// `PATCH customers({id})`.
#[path = "customers.rs"]
mod customers;

fn not_found(what: &str, id: &str) -> Response {
    bc_error(
        StatusCode::NOT_FOUND,
        "Internal_RecordNotFound",
        &format!("The {what} does not exist. Identification fields and values: Id='{id}'"),
    )
}

fn after_one(q: &CollectionQuery) -> Option<String> {
    q.skiptoken.as_ref().and_then(|k| k.first().cloned())
}

fn list_customers(ctx: &Ctx<'_>, company: &Company, ctx_base: &str) -> Response {
    let q = match ctx.query(&customer_json(&sample_customer()), "customer") {
        Ok(q) => q,
        Err(r) => return r,
    };
    let (size, applied) = ctx.page_size();
    let page = page_of(
        &company.sales.customers,
        &q,
        size,
        after_one(&q),
        |k| vec![k.clone()],
        |_, c| customer_json(c),
    );
    ctx.collection(format!("{ctx_base}/customers"), page, applied)
}

/// The `itemVariants` collection: every variant, or only `item`'s (the `items(id)/itemVariants`
/// navigation), in (item number, code) order.
pub(crate) fn list_variants(
    ctx: &Ctx<'_>,
    company: &Company,
    ctx_base: &str,
    item: Option<&str>,
) -> Response {
    let sample = variant_json(&ItemVariant {
        id: Uuid::nil(),
        item_id: Uuid::nil(),
        item_number: String::new(),
        code: String::new(),
        description: String::new(),
        modified_ms: 0,
        row_version: 0,
    });
    let q = match ctx.query(&sample, "itemVariant") {
        Ok(q) => q,
        Err(r) => return r,
    };
    let after = match &q.skiptoken {
        Some(k) if k.len() == 2 => Some((k[0].clone(), k[1].clone())),
        Some(_) => return bad_request("BadRequest", "The skip token is not valid."),
        None => None,
    };
    let mine: BTreeMap<(String, String), ItemVariant>;
    let variants = match item {
        Some(number) => {
            mine = company
                .sales
                .variants
                .range((number.to_string(), String::new())..)
                .take_while(|(k, _)| k.0 == number)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            &mine
        }
        None => &company.sales.variants,
    };
    let (size, applied) = ctx.page_size();
    let page = page_of(
        variants,
        &q,
        size,
        after,
        |k| vec![k.0.clone(), k.1.clone()],
        |_, v| variant_json(v),
    );
    ctx.collection(format!("{ctx_base}/itemVariants"), page, applied)
}

fn create_customer(ctx: &Ctx<'_>, company: &mut Company, ctx_base: &str) -> Response {
    match build_customer(ctx, company) {
        Ok(c) => {
            let json = customer_json(&c);
            company.sales.customers.insert(c.number.clone(), c);
            ctx.entity(
                StatusCode::CREATED,
                format!("{ctx_base}/customers/$entity"),
                json,
            )
        }
        Err(r) => r,
    }
}

fn build_customer(ctx: &Ctx<'_>, company: &mut Company) -> Result<Customer, Response> {
    let body = raw_body(ctx)?;
    let mut c = sample_customer();
    for (k, v) in &body {
        let v: &RawValue = v;
        match k.as_str() {
            "@odata.etag" | "@odata.context" => {}
            "number" => c.number = code(k, v, 20)?,
            "displayName" => c.display_name = text(k, v, 100)?,
            "type" => {
                let t = raw_string(k, v)?;
                if t != "Person" && t != "Company" {
                    return Err(bad_request(
                        "BadRequest",
                        &format!("The value '{t}' is not a valid customer type."),
                    ));
                }
                c.customer_type = t;
            }
            "addressLine1" => c.address.line1 = text(k, v, 100)?,
            "addressLine2" => c.address.line2 = text(k, v, 50)?,
            "city" => c.address.city = text(k, v, 30)?,
            "state" => c.address.state = text(k, v, 30)?,
            "country" => c.address.country = code(k, v, 10)?,
            "postalCode" => c.address.post_code = code(k, v, 20)?,
            "phoneNumber" => c.phone_number = text(k, v, 30)?,
            "email" => c.email = text(k, v, 80)?,
            "website" => c.website = text(k, v, 80)?,
            "taxLiable" => c.tax_liable = raw_bool(k, v)?,
            "taxAreaId" => c.tax_area_id = raw_guid(k, v)?,
            "taxRegistrationNumber" => c.tax_registration_number = text(k, v, 20)?,
            "currencyCode" => c.currency_code = code(k, v, 10)?,
            "paymentTermsId" => c.payment_terms_id = raw_guid(k, v)?,
            "shipmentMethodId" => c.shipment_method_id = raw_guid(k, v)?,
            "paymentMethodId" => c.payment_method_id = raw_guid(k, v)?,
            "blocked" => c.blocked = raw_string(k, v)?,
            "id" | "balanceDue" | "lastModifiedDateTime" | "currencyId" | "taxAreaDisplayName" => {
                return Err(read_only(k));
            }
            _ => return Err(unknown_property(k, "customer")),
        }
    }
    if c.number.is_empty() {
        loop {
            company.sales.counters.customer += 1;
            let n = format!("C{:05}", company.sales.counters.customer * 10);
            if !company.sales.customers.contains_key(&n) {
                c.number = n;
                break;
            }
        }
    } else if company.sales.customers.contains_key(&c.number) {
        return Err(bad_request(
            "Internal_EntityWithSameKeyExists",
            &format!(
                "The record in table Customer already exists. Identification fields and values: No.='{}'",
                c.number
            ),
        ));
    }
    c.id = company.new_id();
    c.row_version = company.next_version();
    c.modified_ms = now_ms();
    Ok(c)
}

fn documents(ctx: &Ctx<'_>, company: &mut Company, ctx_base: &str, kind: DocKind) -> Response {
    match ctx.method {
        Method::GET => {
            let sample = doc_json(&blank_doc(kind), false);
            let q = match ctx.query_expanding(&sample, kind.type_name(), &[kind.lines_nav()]) {
                Ok(q) => q,
                Err(r) => return r,
            };
            let with_lines = q.expands(kind.lines_nav());
            let (size, applied) = ctx.page_size();
            let map = match kind {
                DocKind::Order => &company.sales.orders,
                DocKind::Invoice => &company.sales.invoices,
            };
            let page = page_of(
                map,
                &q,
                size,
                after_one(&q),
                |k| vec![k.clone()],
                |_, d| doc_json(d, with_lines),
            );
            ctx.collection(format!("{ctx_base}/{}", kind.set()), page, applied)
        }
        Method::POST => {
            let expand = match CollectionQuery::parse(&ctx.pairs) {
                Ok(q) => q.expands(kind.lines_nav()),
                Err(e) => return query_error(e),
            };
            match build_document(ctx, company, kind) {
                Ok(doc) => {
                    let json = doc_json(&doc, expand);
                    let map = match kind {
                        DocKind::Order => &mut company.sales.orders,
                        DocKind::Invoice => &mut company.sales.invoices,
                    };
                    map.insert(doc.number.clone(), doc);
                    ctx.entity(
                        StatusCode::CREATED,
                        format!("{ctx_base}/{}/$entity", kind.set()),
                        json,
                    )
                }
                Err(r) => r,
            }
        }
        _ => method_not_allowed(&ctx.method),
    }
}

/// A whole document from a deep-insert body, or the first problem. Nothing is stored here: the caller
/// inserts the result, so a refused document leaves no trace (BC runs the request in one transaction).
fn build_document(
    ctx: &Ctx<'_>,
    company: &mut Company,
    kind: DocKind,
) -> Result<SalesDoc, Response> {
    let body = raw_body(ctx)?;
    let type_name = kind.type_name();
    // The customer first: it fills the addresses the body may then override.
    let mut customer = None;
    if let Some(raw) = body.get("customerId") {
        let id = raw_guid("customerId", raw)?;
        customer = Some(
            company
                .sales
                .customers
                .values()
                .find(|c| c.id == id)
                .ok_or_else(|| dialog(&format!("The customer with id '{id}' does not exist.")))?,
        );
    }
    if let Some(raw) = body.get("customerNumber") {
        let number = code("customerNumber", raw, 20)?;
        let c = company.sales.customers.get(&number).ok_or_else(|| {
            dialog(&format!(
                "The field Customer No. of table Sales Header contains a value ({number}) that cannot be found in the related table (Customer)."
            ))
        })?;
        if customer.is_some_and(|other: &Customer| other.number != c.number) {
            return Err(dialog(
                "The customerNumber and the customerId name different customers.",
            ));
        }
        customer = Some(c);
    }
    let customer = customer
        .ok_or_else(|| dialog("A customerNumber or a customerID must be provided."))?
        .clone();
    if customer.blocked.trim() == "All" {
        return Err(dialog(&format!(
            "You cannot create this type of document when Customer {} is blocked with type All",
            customer.number
        )));
    }
    let mut doc = blank_doc(kind);
    doc.customer_id = customer.id;
    doc.customer_number = customer.number.clone();
    doc.customer_name = customer.display_name.clone();
    doc.bill_to_name = customer.display_name.clone();
    doc.ship_to_name = customer.display_name.clone();
    doc.sell_to = customer.address.clone();
    doc.bill_to = customer.address.clone();
    doc.ship_to = customer.address.clone();
    doc.currency_code = customer.currency_code.clone();
    doc.phone_number = customer.phone_number.clone();
    doc.email = customer.email.clone();
    doc.document_date = today();
    let mut raw_lines: Vec<RawMap> = Vec::new();
    for (k, v) in &body {
        let v: &RawValue = v;
        if k == kind.date_field() {
            doc.document_date = raw_date(k, v)?;
            continue;
        }
        if k == kind.lines_nav() {
            raw_lines = serde_json::from_str::<Vec<RawMap>>(v.get())
                .map_err(|_| invalid(k, &format!("Collection(Microsoft.NAV.{type_name}Line)")))?;
            continue;
        }
        match k.as_str() {
            "@odata.etag" | "@odata.context" | "customerId" | "customerNumber" => {}
            "number" => doc.number = code(k, v, 20)?,
            "externalDocumentNumber" => doc.external_document_number = code(k, v, 35)?,
            "postingDate" => doc.posting_date = raw_date(k, v)?,
            "currencyCode" => doc.currency_code = code(k, v, 10)?,
            "billToName" => doc.bill_to_name = text(k, v, 100)?,
            "shipToName" => doc.ship_to_name = text(k, v, 100)?,
            "shipToContact" => doc.ship_to_contact = text(k, v, 100)?,
            "phoneNumber" => doc.phone_number = text(k, v, 30)?,
            "email" => doc.email = text(k, v, 80)?,
            "discountAmount" => doc.discount_amount = raw_decimal(k, v)?,
            "id"
            | "status"
            | "lastModifiedDateTime"
            | "totalAmountExcludingTax"
            | "totalAmountIncludingTax"
            | "totalTaxAmount"
            | "customerName"
            | "fullyShipped"
            | "orderId"
            | "orderNumber"
            | "remainingAmount" => return Err(read_only(k)),
            _ => {
                let mut addr = match &k[..k.len().min(6)] {
                    "sellTo" => doc.sell_to.clone(),
                    "billTo" => doc.bill_to.clone(),
                    "shipTo" => doc.ship_to.clone(),
                    _ => return Err(unknown_property(k, type_name)),
                };
                if !doc_addr_field(k, v, &mut addr)? {
                    return Err(unknown_property(k, type_name));
                }
                match &k[..6] {
                    "sellTo" => doc.sell_to = addr,
                    "billTo" => doc.bill_to = addr,
                    _ => doc.ship_to = addr,
                }
            }
        }
    }
    if doc.posting_date.is_empty() {
        doc.posting_date = doc.document_date.clone();
    }
    let line_type_name = format!("{type_name}Line");
    for (i, raw) in raw_lines.iter().enumerate() {
        let line = build_line(company, raw, (i as i64 + 1) * 10_000, &line_type_name)?;
        doc.lines.push(line);
    }
    let mut sequences = HashSet::new();
    if !doc.lines.iter().all(|l| sequences.insert(l.sequence)) {
        return Err(bad_request(
            "Internal_EntityWithSameKeyExists",
            "Two lines of the document have the same sequence.",
        ));
    }
    let map = match kind {
        DocKind::Order => &company.sales.orders,
        DocKind::Invoice => &company.sales.invoices,
    };
    if doc.number.is_empty() {
        let counters = &mut company.sales.counters;
        let (counter, prefix, start) = match kind {
            DocKind::Order => (&mut counters.order, "S-ORD", 101_000),
            DocKind::Invoice => (&mut counters.invoice, "S-INV", 102_000),
        };
        loop {
            *counter += 1;
            let n = format!("{prefix}{}", start + *counter);
            if !map.contains_key(&n) {
                doc.number = n;
                break;
            }
        }
    } else if map.contains_key(&doc.number) {
        return Err(bad_request(
            "Internal_EntityWithSameKeyExists",
            &format!(
                "The record in table Sales Header already exists. Identification fields and values: Document Type='{}',No.='{}'",
                match kind {
                    DocKind::Order => "Order",
                    DocKind::Invoice => "Invoice",
                },
                doc.number
            ),
        ));
    }
    doc.id = company.new_id();
    for l in &mut doc.lines {
        l.id = company.new_id();
    }
    doc.row_version = company.next_version();
    doc.modified_ms = now_ms();
    Ok(doc)
}

fn build_line(
    company: &Company,
    raw: &RawMap,
    default_sequence: i64,
    type_name: &str,
) -> Result<SalesLine, Response> {
    let mut line = SalesLine {
        id: Uuid::nil(),
        sequence: default_sequence,
        line_type: "Item".into(),
        line_object_number: String::new(),
        item_id: None,
        item_variant_id: None,
        variant_code: String::new(),
        description: String::new(),
        quantity: "0".into(),
        unit_price: "0".into(),
        discount_amount: "0".into(),
        discount_percent: "0".into(),
        shipped: 0.0,
        invoiced: 0.0,
    };
    let mut description = None;
    let mut unit_price = None;
    for (k, v) in raw {
        let v: &RawValue = v;
        match k.as_str() {
            "@odata.etag" => {}
            "sequence" => line.sequence = raw_int(k, v)?,
            "lineType" => {
                let t = raw_string(k, v)?;
                if !["Item", "Account", "Charge", "Comment"].contains(&t.as_str()) {
                    return Err(bad_request(
                        "BadRequest",
                        &format!("The value '{t}' is not a valid line type."),
                    ));
                }
                line.line_type = t;
            }
            "lineObjectNumber" => line.line_object_number = code(k, v, 20)?,
            "itemId" => line.item_id = Some(raw_guid(k, v)?),
            "itemVariantId" => line.item_variant_id = Some(raw_guid(k, v)?),
            "description" => description = Some(text(k, v, 100)?),
            "quantity" => line.quantity = raw_decimal(k, v)?,
            "unitPrice" => unit_price = Some(raw_decimal(k, v)?),
            "discountAmount" => line.discount_amount = raw_decimal(k, v)?,
            "discountPercent" => line.discount_percent = raw_decimal(k, v)?,
            "id" | "documentId" | "amountExcludingTax" | "amountIncludingTax" | "netAmount" => {
                return Err(read_only(k));
            }
            _ => return Err(unknown_property(k, type_name)),
        }
    }
    let missing = |table: &str, number: &str| {
        dialog(&format!(
            "The field No. of table Sales Line contains a value ({number}) that cannot be found in the related table ({table})."
        ))
    };
    match line.line_type.as_str() {
        "Item" => {
            if let Some(id) = line.item_id {
                let number = company
                    .item_ids
                    .get(&id)
                    .ok_or_else(|| missing("Item", &id.to_string()))?;
                if !line.line_object_number.is_empty() && &line.line_object_number != number {
                    return Err(dialog(
                        "The itemId and the lineObjectNumber name different items.",
                    ));
                }
                line.line_object_number = number.clone();
            }
            let item = company
                .items
                .get(&line.line_object_number)
                .ok_or_else(|| missing("Item", &line.line_object_number))?;
            if item.blocked {
                return Err(dialog(&format!(
                    "Blocked must be equal to 'No'  in Item: No.={}. Current value is 'Yes'.",
                    item.number
                )));
            }
            line.item_id = Some(item.id);
            if description.is_none() {
                description = Some(item.display_name.clone());
            }
            if unit_price.is_none() {
                unit_price = Some(qty_text(item.unit_price));
            }
            if let Some(vid) = line.item_variant_id {
                let variant = company
                    .sales
                    .variants
                    .values()
                    .find(|v| v.id == vid)
                    .ok_or_else(|| missing("Item Variant", &vid.to_string()))?;
                if variant.item_number != item.number {
                    return Err(dialog(&format!(
                        "The variant {} does not belong to item {}.",
                        variant.code, item.number
                    )));
                }
                line.variant_code = variant.code.clone();
            }
        }
        "Account" if !company.sales.gl_accounts.contains(&line.line_object_number) => {
            return Err(missing("G/L Account", &line.line_object_number));
        }
        "Charge"
            if !company
                .sales
                .item_charges
                .contains(&line.line_object_number) =>
        {
            return Err(missing("Item Charge", &line.line_object_number));
        }
        _ => {}
    }
    if line.line_type != "Item" && (line.item_id.is_some() || line.item_variant_id.is_some()) {
        return Err(dialog(
            "Only item lines can have an itemId or itemVariantId.",
        ));
    }
    line.description = description.unwrap_or_default();
    line.unit_price = unit_price.unwrap_or_else(|| "0".into());
    Ok(line)
}

fn document(
    ctx: &Ctx<'_>,
    company: &mut Company,
    ctx_base: &str,
    kind: DocKind,
    id: &str,
    rest: &[String],
) -> Response {
    let id = unquote(id).to_lowercase();
    let map = match kind {
        DocKind::Order => &mut company.sales.orders,
        DocKind::Invoice => &mut company.sales.invoices,
    };
    let Some(number) = map
        .values()
        .find(|d| d.id.to_string() == id)
        .map(|d| d.number.clone())
    else {
        return not_found(
            match kind {
                DocKind::Order => "Sales Order",
                DocKind::Invoice => "Sales Invoice",
            },
            &id,
        );
    };
    match (rest, &ctx.method) {
        ([], &Method::GET) => {
            let expand = match CollectionQuery::parse(&ctx.pairs) {
                Ok(q) => q.expands(kind.lines_nav()),
                Err(e) => return query_error(e),
            };
            ctx.entity(
                StatusCode::OK,
                format!("{ctx_base}/{}/$entity", kind.set()),
                doc_json(&map[&number], expand),
            )
        }
        ([], &Method::DELETE) => {
            if ctx
                .header(header::IF_MATCH)
                .is_none_or(|v| v.trim().is_empty())
            {
                return bad_request(
                    "BadRequest_InvalidToken",
                    "Could not validate the client concurrency token required by the service. Please provide a valid token in the client request.",
                );
            }
            let doc = &map[&number];
            if doc.posted {
                return dialog(&format!(
                    "You cannot delete posted sales invoice {}.",
                    doc.number
                ));
            }
            if doc.lines.iter().any(|l| l.shipped > 0.0) {
                return dialog(&format!(
                    "You cannot delete order {} because it has been partly shipped.",
                    doc.number
                ));
            }
            map.remove(&number);
            StatusCode::NO_CONTENT.into_response()
        }
        ([nav], &Method::GET) if nav == kind.lines_nav() => {
            let doc = &map[&number];
            let lines: BTreeMap<String, Map<String, Value>> = doc
                .lines
                .iter()
                .map(|l| (format!("{:012}", l.sequence), line_json(doc, l)))
                .collect();
            lines_page(
                ctx,
                &lines,
                format!("{ctx_base}/{}({id})/{nav}", kind.set()),
            )
        }
        ([], _) | ([_], _) => method_not_allowed(&ctx.method),
        _ => ctx.not_found_uri(),
    }
}

/// A collection of lines (already rendered, keyed by zero-padded sequence).
fn lines_page(
    ctx: &Ctx<'_>,
    lines: &BTreeMap<String, Map<String, Value>>,
    context: String,
) -> Response {
    let sample = lines.values().next().cloned().unwrap_or_default();
    let q = match CollectionQuery::parse(&ctx.pairs) {
        Ok(q) => q,
        Err(e) => return query_error(e),
    };
    if !sample.is_empty()
        && let Err(e) = q.validate(&sample, "line")
    {
        return query_error(e);
    }
    let (size, applied) = ctx.page_size();
    let page = page_of(
        lines,
        &q,
        size,
        after_one(&q),
        |k| vec![k.clone()],
        |_, v| v.clone(),
    );
    ctx.collection(context, page, applied)
}

fn list_shipments(ctx: &Ctx<'_>, company: &Company, ctx_base: &str) -> Response {
    let sample = shipment_json(&blank_shipment(), false);
    let q = match ctx.query_expanding(&sample, "salesShipment", &["salesShipmentLines"]) {
        Ok(q) => q,
        Err(r) => return r,
    };
    let with_lines = q.expands("salesShipmentLines");
    let (size, applied) = ctx.page_size();
    let page = page_of(
        &company.sales.shipments,
        &q,
        size,
        after_one(&q),
        |k| vec![k.clone()],
        |_, s| shipment_json(s, with_lines),
    );
    ctx.collection(format!("{ctx_base}/salesShipments"), page, applied)
}

fn shipment(
    ctx: &Ctx<'_>,
    company: &Company,
    ctx_base: &str,
    id: &str,
    rest: &[String],
) -> Response {
    let id = unquote(id).to_lowercase();
    let Some(s) = company
        .sales
        .shipments
        .values()
        .find(|s| s.id.to_string() == id)
    else {
        return not_found("Sales Shipment", &id);
    };
    match rest {
        [] => {
            let expand = match CollectionQuery::parse(&ctx.pairs) {
                Ok(q) => q.expands("salesShipmentLines"),
                Err(e) => return query_error(e),
            };
            ctx.entity(
                StatusCode::OK,
                format!("{ctx_base}/salesShipments/$entity"),
                shipment_json(s, expand),
            )
        }
        [nav] if nav == "salesShipmentLines" => {
            let lines: BTreeMap<String, Map<String, Value>> = s
                .lines
                .iter()
                .map(|l| (format!("{:012}", l.sequence), shipment_line_json(s, l)))
                .collect();
            lines_page(
                ctx,
                &lines,
                format!("{ctx_base}/salesShipments({id})/{nav}"),
            )
        }
        _ => ctx.not_found_uri(),
    }
}

/// The published tracking page: one row per posted shipment.
pub(crate) fn tracking_page(
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
    let sample = tracking_json("", &blank_shipment(), None);
    let q = match CollectionQuery::parse(&pairs).and_then(|mut q| {
        q.passthrough.extend(passthrough);
        q.validate(&sample, page_name).map(|_| q)
    }) {
        Ok(q) => q,
        Err(e) => return query_error(e),
    };
    let (size, applied) = ctx.page_size();
    let page = page_of(
        &company.sales.shipments,
        &q,
        size,
        after_one(&q),
        |k| vec![k.clone()],
        |k, s| tracking_json(k, s, company.sales.tracking.get(k)),
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

/// A customer to seed, or a customer as stored. Empty `customer_type` means `Person`; empty `number`
/// lets the simulator assign one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SimCustomer {
    pub id: String,
    pub number: String,
    pub display_name: String,
    pub customer_type: String,
    pub email: String,
    pub phone_number: String,
    /// `taxRegistrationNumber`, as BC stores it (no normalisation).
    pub tax_registration_number: String,
    pub address_line1: String,
    pub city: String,
    pub country: String,
    pub postal_code: String,
    pub currency_code: String,
    pub tax_liable: bool,
    pub tax_area_id: Option<String>,
    pub payment_terms_id: Option<String>,
    pub payment_method_id: Option<String>,
    pub shipment_method_id: Option<String>,
    /// `" "` (or empty), `Ship`, `Invoice`, `All`.
    pub blocked: String,
}

impl SimCustomer {
    /// A customer with a number, a name and an e-mail address.
    pub fn new(number: &str, display_name: &str, email: &str) -> SimCustomer {
        SimCustomer {
            number: number.into(),
            display_name: display_name.into(),
            email: email.into(),
            ..SimCustomer::default()
        }
    }

    fn of(c: &Customer) -> SimCustomer {
        let id = |u: Uuid| (!u.is_nil()).then(|| u.to_string());
        SimCustomer {
            id: c.id.to_string(),
            number: c.number.clone(),
            display_name: c.display_name.clone(),
            customer_type: c.customer_type.clone(),
            email: c.email.clone(),
            phone_number: c.phone_number.clone(),
            tax_registration_number: c.tax_registration_number.clone(),
            address_line1: c.address.line1.clone(),
            city: c.address.city.clone(),
            country: c.address.country.clone(),
            postal_code: c.address.post_code.clone(),
            currency_code: c.currency_code.clone(),
            tax_liable: c.tax_liable,
            tax_area_id: id(c.tax_area_id),
            payment_terms_id: id(c.payment_terms_id),
            payment_method_id: id(c.payment_method_id),
            shipment_method_id: id(c.shipment_method_id),
            blocked: c.blocked.clone(),
        }
    }
}

/// A sales order or invoice as stored, for assertions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimSalesDocument {
    pub id: String,
    /// `order` or `invoice`.
    pub kind: &'static str,
    pub number: String,
    pub external_document_number: String,
    pub customer_number: String,
    pub currency_code: String,
    pub document_date: String,
    pub status: String,
    pub posted: bool,
    pub order_number: String,
    pub discount_amount: String,
    pub bill_to_name: String,
    pub ship_to_name: String,
    pub ship_to_city: String,
    pub lines: Vec<SimSalesLine>,
}

/// A document line as stored; decimals are the exact text the client sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimSalesLine {
    pub sequence: i64,
    pub line_type: String,
    pub number: String,
    pub variant_code: String,
    pub description: String,
    pub quantity: String,
    pub unit_price: String,
    pub discount_amount: String,
}

impl SimSalesDocument {
    fn of(d: &SalesDoc) -> SimSalesDocument {
        SimSalesDocument {
            id: d.id.to_string(),
            kind: match d.kind {
                DocKind::Order => "order",
                DocKind::Invoice => "invoice",
            },
            number: d.number.clone(),
            external_document_number: d.external_document_number.clone(),
            customer_number: d.customer_number.clone(),
            currency_code: d.currency_code.clone(),
            document_date: d.document_date.clone(),
            status: d.status.clone(),
            posted: d.posted,
            order_number: d.order_number.clone(),
            discount_amount: d.discount_amount.clone(),
            bill_to_name: d.bill_to_name.clone(),
            ship_to_name: d.ship_to_name.clone(),
            ship_to_city: d.ship_to.city.clone(),
            lines: d
                .lines
                .iter()
                .map(|l| SimSalesLine {
                    sequence: l.sequence,
                    line_type: l.line_type.clone(),
                    number: l.line_object_number.clone(),
                    variant_code: l.variant_code.clone(),
                    description: l.description.clone(),
                    quantity: l.quantity.clone(),
                    unit_price: l.unit_price.clone(),
                    discount_amount: l.discount_amount.clone(),
                })
                .collect(),
        }
    }
}

/// A posted shipment as stored: number, order, external number and (item, quantity) lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimShipment {
    pub id: String,
    pub number: String,
    pub order_number: String,
    pub external_document_number: String,
    pub lines: Vec<(String, String)>,
    pub modified_ms: i64,
}

impl CompanyHandle {
    /// Add a customer (the simulator assigns the number when it is empty); returns its number.
    pub fn add_customer(&self, customer: SimCustomer) -> String {
        let mut c = self.lock();
        let mut stored = sample_customer();
        stored.number = customer.number.trim().to_uppercase();
        if stored.number.is_empty() {
            c.sales.counters.customer += 1;
            stored.number = format!("C{:05}", c.sales.counters.customer * 10);
        }
        stored.display_name = customer.display_name;
        if !customer.customer_type.is_empty() {
            stored.customer_type = customer.customer_type;
        }
        stored.email = customer.email;
        stored.phone_number = customer.phone_number;
        stored.tax_registration_number = customer.tax_registration_number;
        stored.address.line1 = customer.address_line1;
        stored.address.city = customer.city;
        stored.address.country = customer.country;
        stored.address.post_code = customer.postal_code;
        stored.currency_code = customer.currency_code;
        stored.tax_liable = customer.tax_liable;
        let guid = |s: Option<String>| {
            s.and_then(|s| Uuid::parse_str(&s).ok())
                .unwrap_or(Uuid::nil())
        };
        stored.tax_area_id = guid(customer.tax_area_id);
        stored.payment_terms_id = guid(customer.payment_terms_id);
        stored.payment_method_id = guid(customer.payment_method_id);
        stored.shipment_method_id = guid(customer.shipment_method_id);
        if !customer.blocked.is_empty() {
            stored.blocked = customer.blocked;
        }
        stored.id = match c.sales.customers.get(&stored.number) {
            Some(existing) => existing.id,
            None => c.new_id(),
        };
        stored.row_version = c.next_version();
        stored.modified_ms = now_ms();
        let number = stored.number.clone();
        c.sales.customers.insert(number.clone(), stored);
        number
    }

    /// A customer by number.
    pub fn customer(&self, number: &str) -> Option<SimCustomer> {
        self.lock().sales.customers.get(number).map(SimCustomer::of)
    }

    /// Every customer, by number.
    pub fn customers(&self) -> Vec<SimCustomer> {
        self.lock()
            .sales
            .customers
            .values()
            .map(SimCustomer::of)
            .collect()
    }

    /// Add a variant `code` of item `item_number` (the item must exist); returns the variant's id.
    pub fn add_item_variant(&self, item_number: &str, code: &str) -> Option<String> {
        let mut c = self.lock();
        let item_id = c.items.get(item_number)?.id;
        let key = (item_number.to_string(), code.to_uppercase());
        let id = match c.sales.variants.get(&key) {
            Some(v) => v.id,
            None => c.new_id(),
        };
        let row_version = c.next_version();
        c.sales.variants.insert(
            key.clone(),
            ItemVariant {
                id,
                item_id,
                item_number: key.0,
                code: key.1.clone(),
                description: format!("Variant {}", key.1),
                modified_ms: now_ms(),
                row_version,
            },
        );
        Some(id.to_string())
    }

    /// A G/L account sales lines may post to (shipping charges).
    pub fn add_gl_account(&self, number: &str) {
        self.lock().sales.gl_accounts.insert(number.to_uppercase());
    }

    /// An item charge sales lines may use.
    pub fn add_item_charge(&self, number: &str) {
        self.lock().sales.item_charges.insert(number.to_uppercase());
    }

    /// Unposted sales orders, by number.
    pub fn sales_orders(&self) -> Vec<SimSalesDocument> {
        self.lock()
            .sales
            .orders
            .values()
            .map(SimSalesDocument::of)
            .collect()
    }

    /// Sales invoices (draft and posted), by number.
    pub fn sales_invoices(&self) -> Vec<SimSalesDocument> {
        self.lock()
            .sales
            .invoices
            .values()
            .map(SimSalesDocument::of)
            .collect()
    }

    /// Orders and invoices (draft and posted) with this external document number, as stored.
    pub fn documents_with_external_number(&self, external: &str) -> Vec<SimSalesDocument> {
        let c = self.lock();
        c.sales
            .orders
            .values()
            .chain(c.sales.invoices.values())
            .filter(|d| d.external_document_number == external)
            .map(SimSalesDocument::of)
            .collect()
    }

    /// Posted shipments, by number.
    pub fn shipments(&self) -> Vec<SimShipment> {
        self.lock()
            .sales
            .shipments
            .values()
            .map(|s| SimShipment {
                id: s.id.to_string(),
                number: s.number.clone(),
                order_number: s.order_number.clone(),
                external_document_number: s.external_document_number.clone(),
                lines: s
                    .lines
                    .iter()
                    .map(|l| (l.line_object_number.clone(), l.quantity.clone()))
                    .collect(),
                modified_ms: s.modified_ms,
            })
            .collect()
    }

    /// Post a shipment of sales order `order_number`, as BC's "Ship" posting does: `lines` are (item
    /// number, quantity) taken from the order's outstanding quantities, in order; empty ships everything
    /// outstanding. Returns the shipment number (`S-SHPT102001`, …).
    pub fn post_shipment(
        &self,
        order_number: &str,
        lines: &[(&str, &str)],
    ) -> Result<String, String> {
        let mut c = self.lock();
        let mut order = c
            .sales
            .orders
            .get(order_number)
            .cloned()
            .ok_or_else(|| format!("no sales order {order_number}"))?;
        // (order line index, quantity) to ship.
        let mut plan: Vec<(usize, f64)> = Vec::new();
        if lines.is_empty() {
            for (i, l) in order.lines.iter().enumerate() {
                let left = f(&l.quantity) - l.shipped;
                if l.line_type == "Item" && left > 0.0 {
                    plan.push((i, left));
                }
            }
        } else {
            let mut left: Vec<f64> = order
                .lines
                .iter()
                .map(|l| f(&l.quantity) - l.shipped)
                .collect();
            for (item, qty) in lines {
                let q: f64 = qty
                    .parse()
                    .ok()
                    .filter(|q: &f64| *q > 0.0)
                    .ok_or_else(|| format!("bad quantity {qty}"))?;
                let i = order
                    .lines
                    .iter()
                    .enumerate()
                    .position(|(i, l)| {
                        l.line_type == "Item"
                            && l.line_object_number == item.to_uppercase()
                            && left[i] >= q
                    })
                    .ok_or_else(|| {
                        format!("order {order_number} has no line of {item} with {qty} outstanding")
                    })?;
                left[i] -= q;
                plan.push((i, q));
            }
        }
        if plan.is_empty() {
            return Err(format!("nothing to ship on order {order_number}"));
        }
        c.sales.counters.shipment += 1;
        let number = format!("S-SHPT{}", 102_000 + c.sales.counters.shipment);
        let mut shipment = blank_shipment();
        shipment.id = c.new_id();
        shipment.number = number.clone();
        shipment.order_number = order.number.clone();
        shipment.external_document_number = order.external_document_number.clone();
        shipment.customer_id = order.customer_id;
        shipment.customer_number = order.customer_number.clone();
        shipment.customer_name = order.customer_name.clone();
        shipment.posting_date = today();
        shipment.ship_to_name = order.ship_to_name.clone();
        shipment.ship_to = order.ship_to.clone();
        shipment.currency_code = order.currency_code.clone();
        for (i, q) in plan {
            let l = &mut order.lines[i];
            l.shipped += q;
            let line_id = c.new_id();
            shipment.lines.push(ShipmentLine {
                id: line_id,
                sequence: l.sequence,
                line_type: "Item".into(),
                line_object_number: l.line_object_number.clone(),
                description: l.description.clone(),
                quantity: qty_text(q),
                unit_price: l.unit_price.clone(),
            });
        }
        shipment.row_version = c.next_version();
        shipment.modified_ms = now_ms();
        order.row_version = c.next_version();
        order.modified_ms = now_ms();
        order.status = "Released".into();
        c.sales.orders.insert(order.number.clone(), order);
        c.sales.shipments.insert(number.clone(), shipment);
        Ok(number)
    }

    /// Post draft invoice `invoice_number`: it stays in `salesInvoices` under a posted number
    /// (`PS-INV103001`, …) with status `Open`. Returns the posted number.
    pub fn post_invoice(&self, invoice_number: &str) -> Result<String, String> {
        let mut c = self.lock();
        let mut inv = c
            .sales
            .invoices
            .get(invoice_number)
            .cloned()
            .filter(|i| !i.posted)
            .ok_or_else(|| format!("no draft sales invoice {invoice_number}"))?;
        c.sales.invoices.remove(invoice_number);
        c.sales.counters.posted_invoice += 1;
        inv.number = format!("PS-INV{}", 103_000 + c.sales.counters.posted_invoice);
        inv.posted = true;
        inv.status = "Open".into();
        inv.row_version = c.next_version();
        inv.modified_ms = now_ms();
        let number = inv.number.clone();
        c.sales.invoices.insert(number.clone(), inv);
        Ok(number)
    }

    /// Invoice what was shipped and not yet invoiced on order `order_number` (BC's "Invoice" posting):
    /// a posted invoice with `orderNumber` set. An order shipped and invoiced in full is deleted, as
    /// BC deletes it. Returns the posted invoice number.
    pub fn invoice_order(&self, order_number: &str) -> Result<String, String> {
        let mut c = self.lock();
        let mut order = c
            .sales
            .orders
            .get(order_number)
            .cloned()
            .ok_or_else(|| format!("no sales order {order_number}"))?;
        let mut inv = order.clone();
        inv.kind = DocKind::Invoice;
        inv.lines.clear();
        for l in &mut order.lines {
            let q = l.shipped - l.invoiced;
            if q > 0.0 || (l.line_type != "Item" && l.invoiced == 0.0) {
                let mut line = l.clone();
                if l.line_type == "Item" {
                    line.quantity = qty_text(q);
                    l.invoiced += q;
                } else {
                    l.invoiced = f(&l.quantity);
                }
                inv.lines.push(line);
            }
        }
        if inv.lines.iter().all(|l| l.line_type != "Item") {
            return Err(format!(
                "nothing shipped to invoice on order {order_number}"
            ));
        }
        c.sales.counters.posted_invoice += 1;
        inv.number = format!("PS-INV{}", 103_000 + c.sales.counters.posted_invoice);
        inv.id = c.new_id();
        inv.posted = true;
        inv.status = "Open".into();
        inv.order_number = order.number.clone();
        inv.order_id = order.id;
        inv.row_version = c.next_version();
        inv.modified_ms = now_ms();
        let number = inv.number.clone();
        c.sales.invoices.insert(number.clone(), inv);
        let done = order.lines.iter().all(|l| {
            l.invoiced >= f(&l.quantity) && (l.line_type != "Item" || l.shipped >= f(&l.quantity))
        });
        if done {
            c.sales.orders.remove(order_number);
        } else {
            order.row_version = c.next_version();
            order.modified_ms = now_ms();
            c.sales.orders.insert(order.number.clone(), order);
        }
        Ok(number)
    }

    /// Publish the shipment-tracking page under this service name.
    pub fn publish_tracking_page(&self, page_name: &str) {
        self.lock()
            .sales
            .tracking_pages
            .insert(page_name.to_string());
    }

    /// Set a posted shipment's package tracking number, shipping agent, tracking company and URL (as
    /// BC's "Update Document" on a posted shipment does; it modifies the shipment).
    pub fn set_shipment_tracking(
        &self,
        shipment_number: &str,
        tracking_number: &str,
        agent_code: &str,
        company: &str,
        url: &str,
    ) -> Result<(), String> {
        let mut c = self.lock();
        if !c.sales.shipments.contains_key(shipment_number) {
            return Err(format!("no posted shipment {shipment_number}"));
        }
        c.sales.tracking.insert(
            shipment_number.to_string(),
            Tracking {
                tracking_no: tracking_number.into(),
                agent_code: agent_code.into(),
                company: company.into(),
                url: url.into(),
            },
        );
        let version = c.next_version();
        if let Some(s) = c.sales.shipments.get_mut(shipment_number) {
            s.row_version = version;
            s.modified_ms = now_ms();
        }
        Ok(())
    }

    /// Set a posted shipment's `lastModifiedDateTime` (epoch milliseconds), for cursor tests.
    pub fn set_shipment_modified_ms(&self, shipment_number: &str, ms: i64) {
        if let Some(s) = self.lock().sales.shipments.get_mut(shipment_number) {
            s.modified_ms = ms;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_render_as_bc_does() {
        assert_eq!(num("3"), json!(3));
        assert_eq!(num("19.99"), json!(19.99));
        assert_eq!(qty_text(2.0), "2");
        assert_eq!(qty_text(1.5), "1.5");
    }

    #[test]
    fn raw_decimals_keep_their_text() {
        let raw = RawValue::from_string("19.990".into()).unwrap();
        assert_eq!(raw_decimal("x", &raw).unwrap(), "19.990");
        let s = RawValue::from_string("\"19.99\"".into()).unwrap();
        assert!(raw_decimal("x", &s).is_err());
    }
}
