//! [`BcSalesApi`] on BC API v2.0: customers, sales orders and invoices, the exactly-once probe, posted
//! shipments, and shipment tracking from a published page.
//!
//! **One request per document: deep insert.** A sales order is created by one `POST salesOrders` whose
//! body carries its lines inline (`"salesOrderLines": […]`), an invoice likewise with
//! `"salesInvoiceLines"`. BC v2.0 supports deep insert on both document APIs, and BC runs one request in
//! one transaction: an item it refuses on line 3 rolls the header back too, so no half-made document can
//! be left behind and nothing needs cleaning up after a failure. A `$batch` with `Isolation: snapshot`
//! (header POST, then line POSTs that depend on it) would give the same atomicity, but needs the new
//! header's id in the line URLs (`$`-references) and costs one operation per line against the
//! 100-operation limit; deep insert needs neither. `$batch` serves the probe instead (below).
//!
//! **Exactly once.** BC has no idempotency key, so a POST whose answer was lost is never resent here
//! (see `retry.rs`). The task looks the document up by its external document number — the Shopify
//! order name — with [`BcSalesApi::find_sales_documents_by_external_number`]: one `$batch` of three
//! reads (`salesOrders`, `salesInvoices` — drafts and posted invoices alike — and `salesShipments`), so
//! the probe costs one request and finds the document whatever it has become since.
//!
//! **Values.** Decimals go into the JSON body as number literals with exactly the digits of the
//! [`Decimal`] (never through `f64`); BC `Code` values are upper-cased as BC stores them; every value
//! that reaches a URL is checked first — ids are GUIDs, page names OData service names, company names
//! BC company names, and filter values bounded text without control characters — then quoted as OData
//! literals (`'` doubled) and percent-encoded by [`crate::urls`].

use crate::batch::{BatchIsolation, BatchOperation};
use crate::client::BcClient;
use crate::error::BcError;
use crate::retry::Resend;
use crate::urls::{odata_string, with_query};
use crate::wire::ODataPage;
use async_trait::async_trait;
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use shopsync_domain::contact::tax_id_key;
use shopsync_domain::patterns::{is_bc_company_name, is_guid, is_odata_service_name};
use shopsync_domain::ports::Result;
use shopsync_domain::sales::{
    BcCustomer, BcSalesApi, CustomerDefaults, CustomerType, Decimal, FieldProblem,
    FoundDocumentKind, NewCustomer, PostalAddress, PostedShipment, PostedShipmentLine,
    SalesDocument, SalesDocumentDraft, SalesDocumentKind, SalesDocumentRef, ShipmentBatch,
    ShipmentCursor, ShipmentTracking, ShippingChargeAccount, limits, to_code,
};
use std::collections::{BTreeMap, HashMap};

type Res<T> = std::result::Result<T, BcError>;

/// (item, variant) pairs per `itemVariants` read (keeps the URL short).
const VARIANTS_PER_READ: usize = 15;

// ---------------------------------------------------------------------------------------------
// Wire shapes
// ---------------------------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CustomerRow {
    id: String,
    number: String,
    #[serde(default)]
    display_name: String,
    #[serde(rename = "type", default)]
    customer_type: String,
    #[serde(default)]
    address_line1: String,
    #[serde(default)]
    address_line2: String,
    #[serde(default)]
    city: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    country: String,
    #[serde(default)]
    postal_code: String,
    #[serde(default)]
    phone_number: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    tax_registration_number: String,
    #[serde(default)]
    currency_code: String,
    #[serde(default)]
    blocked: String,
    #[serde(default)]
    tax_liable: bool,
    #[serde(default)]
    tax_area_id: String,
    #[serde(default)]
    payment_terms_id: String,
    #[serde(default)]
    payment_method_id: String,
    #[serde(default)]
    shipment_method_id: String,
    #[serde(default)]
    last_modified_date_time: String,
}

impl CustomerRow {
    pub(crate) fn into_customer(self) -> BcCustomer {
        BcCustomer {
            customer_type: if self.customer_type == "Company" {
                CustomerType::Company
            } else {
                CustomerType::Person
            },
            blocked: !self.blocked.trim().is_empty(),
            address: PostalAddress {
                line1: self.address_line1,
                line2: self.address_line2,
                city: self.city,
                state: self.state,
                country: self.country,
                postal_code: self.postal_code,
            },
            id: self.id,
            number: self.number,
            display_name: self.display_name,
            email: self.email,
            phone_number: self.phone_number,
            tax_registration_number: self.tax_registration_number,
            currency_code: self.currency_code,
            last_modified: self.last_modified_date_time,
        }
    }

    fn defaults(&self) -> CustomerDefaults {
        // BC answers "no value" for a related record as the nil GUID.
        let id =
            |s: &str| (is_guid(s) && !s.trim_matches(['0', '-']).is_empty()).then(|| s.to_string());
        CustomerDefaults {
            template_number: self.number.clone(),
            tax_liable: Some(self.tax_liable),
            tax_area_id: id(&self.tax_area_id),
            currency_code: Some(self.currency_code.clone()).filter(|c| !c.is_empty()),
            payment_terms_id: id(&self.payment_terms_id),
            payment_method_id: id(&self.payment_method_id),
            shipment_method_id: id(&self.shipment_method_id),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NewCustomerBody<'a> {
    display_name: &'a str,
    #[serde(rename = "type")]
    customer_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone_number: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tax_registration_number: Option<&'a str>,
    #[serde(skip_serializing_if = "str::is_empty")]
    address_line1: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    address_line2: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    city: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    state: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    country: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    postal_code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    tax_liable: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tax_area_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    currency_code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    payment_terms_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    payment_method_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    shipment_method_id: Option<&'a str>,
}

/// One line of a deep insert.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LineBody {
    line_type: &'static str,
    line_object_number: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    item_variant_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    quantity: Box<RawValue>,
    unit_price: Box<RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    discount_amount: Option<Box<RawValue>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DocumentRow {
    id: String,
    number: String,
    #[serde(default)]
    external_document_number: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    order_number: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct VariantRow {
    id: String,
    item_number: String,
    code: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ShipmentRow {
    id: String,
    number: String,
    #[serde(default)]
    order_number: String,
    #[serde(default)]
    external_document_number: String,
    #[serde(default)]
    customer_number: String,
    #[serde(default)]
    posting_date: String,
    last_modified_date_time: String,
    #[serde(default)]
    sales_shipment_lines: Vec<ShipmentLineRow>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ShipmentLineRow {
    #[serde(default)]
    sequence: i64,
    #[serde(default)]
    line_type: String,
    #[serde(default)]
    line_object_number: String,
    #[serde(default)]
    description: String,
    /// Kept as its JSON text: BC's decimal, never through `f64`.
    quantity: Box<RawValue>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TrackingRow {
    #[serde(default)]
    shipment_no: String,
    #[serde(default)]
    package_tracking_no: String,
    #[serde(default)]
    shipping_agent_code: String,
    #[serde(default)]
    tracking_company: String,
    #[serde(default)]
    tracking_url: String,
}

// ---------------------------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------------------------

/// A request the client refuses to send, with why.
pub(crate) fn invalid(message: impl Into<String>) -> BcError {
    BcError::Invalid {
        message: message.into(),
    }
}

/// [`invalid`], listing the field problems of `what`.
pub(crate) fn problems(what: &str, problems: Vec<FieldProblem>) -> BcError {
    let list: Vec<String> = problems.iter().map(ToString::to_string).collect();
    invalid(format!("{what}: {}", list.join("; ")))
}

/// A value for an OData filter: 1 to `max` characters, no control characters.
fn filter_value<'a>(what: &str, value: &'a str, max: usize) -> Res<&'a str> {
    let n = value.chars().count();
    if n == 0 || n > max || value.chars().any(char::is_control) {
        return Err(invalid(format!(
            "{what} must be 1 to {max} characters without control characters: {}",
            shopsync_domain::text::preview(value)
        )));
    }
    Ok(value)
}

/// A decimal as a JSON number literal with exactly its digits.
pub(crate) fn number(d: &Decimal) -> Res<Box<RawValue>> {
    RawValue::from_string(d.as_str().to_string()).map_err(|e| invalid(format!("decimal {d}: {e}")))
}

/// A value as a JSON member of a request body.
pub(crate) fn raw<T: Serialize + ?Sized>(v: &T) -> Res<Box<RawValue>> {
    serde_json::value::to_raw_value(v).map_err(|e| BcError::Config(format!("request body: {e}")))
}

/// A decimal BC wrote: a JSON number (or, with `IEEE754Compatible=true`, a string).
/// `what` names the field in the decode error.
pub(crate) fn decimal_from(what: &str, raw: &RawValue) -> Res<Decimal> {
    let text = raw.get().trim();
    let text = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text);
    Decimal::parse(text).map_err(|e| BcError::Decode {
        message: format!("{what} {}: {e}", shopsync_domain::text::preview(text)),
    })
}

/// Checks the service name of a published `what` page (price, tracking) and the company name
/// it is read for, before either goes into a URL.
pub(crate) fn check_published_page(what: &str, page: &str, company_name: &str) -> Res<()> {
    if !is_odata_service_name(page) {
        return Err(BcError::Config(format!(
            "the {what} page must be 1 to 64 of A-Z, a-z, 0-9, '_'"
        )));
    }
    if !is_bc_company_name(company_name) {
        return Err(BcError::Config(
            "the company name must be 1 to 30 characters without control characters".into(),
        ));
    }
    Ok(())
}

/// `f eq 'a' or f eq 'b'` over distinct values.
fn any_of(field: &str, values: &[&str]) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for v in values {
        if !seen.contains(v) {
            seen.push(v);
        }
    }
    seen.iter()
        .map(|v| format!("{field} eq {}", odata_string(v)))
        .collect::<Vec<_>>()
        .join(" or ")
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// (year, month, day) of days since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Epoch milliseconds of BC's `lastModifiedDateTime` (`2026-03-01T10:00:00.123Z`, or with an offset).
pub(crate) fn iso_to_ms(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' {
        return None;
    }
    if b[16] != b':' {
        return None;
    }
    let (y, mo, d, h, mi, se) = (
        num(0..4)?,
        num(5..7)?,
        num(8..10)?,
        num(11..13)?,
        num(14..16)?,
        num(17..19)?,
    );
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let mut i = 19;
    let mut ms = 0;
    if b.get(i) == Some(&b'.') {
        let start = i + 1;
        i = start;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let frac = s.get(start..i)?;
        if frac.is_empty() {
            return None;
        }
        let first3: String = frac.chars().chain("000".chars()).take(3).collect();
        ms = first3.parse().ok()?;
    }
    let offset_min = match s.get(i..)? {
        "Z" | "z" => 0,
        tz if tz.len() == 6 && (tz.starts_with('+') || tz.starts_with('-')) => {
            let sign = if tz.starts_with('-') { -1 } else { 1 };
            let oh = num(i + 1..i + 3)?;
            let om = num(i + 4..i + 6)?;
            if &tz[3..4] != ":" {
                return None;
            }
            sign * (oh * 60 + om)
        }
        _ => return None,
    };
    let days = days_from_civil(y, mo, d);
    Some(((days * 24 + h) * 60 + mi - offset_min) * 60_000 + se * 1000 + ms)
}

/// `2026-03-01T10:00:00.123Z`.
pub(crate) fn ms_to_iso(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let rem = ms.rem_euclid(86_400_000);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000
    )
}

// ---------------------------------------------------------------------------------------------
// Client
// ---------------------------------------------------------------------------------------------

impl BcClient {
    /// Customers matching `filter`, by number.
    async fn customers_where(&self, filter: &str) -> Res<Vec<BcCustomer>> {
        let url = with_query(&self.company_url("customers"), &[("$filter", filter)]);
        let rows: Vec<CustomerRow> = self.get_collection(&url).await?;
        let mut customers: Vec<BcCustomer> =
            rows.into_iter().map(CustomerRow::into_customer).collect();
        customers.sort_by(|a, b| a.number.cmp(&b.number));
        Ok(customers)
    }

    /// Customers whose e-mail is `email` or its lower-case form.
    pub async fn customers_by_email(&self, email: &str) -> Res<Vec<BcCustomer>> {
        let email = filter_value("the e-mail address", email, limits::EMAIL)?;
        let lower = email.to_lowercase();
        self.customers_where(&any_of("email", &[email, &lower]))
            .await
    }

    /// Customers whose phone number is exactly `phone`.
    pub async fn customers_by_phone(&self, phone: &str) -> Res<Vec<BcCustomer>> {
        let phone = filter_value("the phone number", phone, limits::PHONE)?;
        self.customers_where(&any_of("phoneNumber", &[phone])).await
    }

    /// Customers whose tax registration number is `number` as given or as
    /// [`tax_id_key`] spells it (`GB123456789` for `gb 123 456 789`).
    pub async fn customers_by_tax_registration(&self, number: &str) -> Res<Vec<BcCustomer>> {
        let number = filter_value(
            "the tax registration number",
            number.trim(),
            limits::TAX_REGISTRATION_NUMBER,
        )?;
        let key = tax_id_key(number);
        let mut values = vec![number];
        values.extend(key.as_deref());
        self.customers_where(&any_of("taxRegistrationNumber", &values))
            .await
    }

    /// The defaults of a template customer.
    pub async fn template_defaults(&self, number: &str) -> Res<CustomerDefaults> {
        let number = to_code(number);
        filter_value("the template customer number", &number, limits::NUMBER)?;
        let url = with_query(
            &self.company_url("customers"),
            &[("$filter", &any_of("number", &[&number]))],
        );
        let rows: Vec<CustomerRow> = self.get_collection(&url).await?;
        rows.first()
            .map(CustomerRow::defaults)
            .ok_or_else(|| BcError::NotFound {
                code: "template_customer_not_found".into(),
                message: format!("BC has no template customer {number}"),
            })
    }

    /// POST one customer.
    pub async fn post_customer(&self, customer: &NewCustomer) -> Res<BcCustomer> {
        customer
            .validate()
            .map_err(|p| problems("the new customer", p))?;
        let d = &customer.defaults;
        let a = &customer.address;
        let body = NewCustomerBody {
            display_name: &customer.display_name,
            customer_type: customer.customer_type.as_bc(),
            email: customer.email.as_deref(),
            phone_number: customer.phone_number.as_deref(),
            tax_registration_number: customer.tax_registration_number.as_deref(),
            address_line1: &a.line1,
            address_line2: &a.line2,
            city: &a.city,
            state: &a.state,
            country: &a.country,
            postal_code: &a.postal_code,
            tax_liable: d.tax_liable,
            tax_area_id: d.tax_area_id.as_deref(),
            currency_code: d.currency_code.as_deref(),
            payment_terms_id: d.payment_terms_id.as_deref(),
            payment_method_id: d.payment_method_id.as_deref(),
            shipment_method_id: d.shipment_method_id.as_deref(),
        };
        let row: CustomerRow = self
            .post_json(&self.company_url("customers"), &body)
            .await?;
        Ok(row.into_customer())
    }

    /// The ids of item variants, by (item number, variant code), both upper case. A pair BC does not
    /// have is [`BcError::Invalid`].
    async fn variant_ids(
        &self,
        pairs: &[(String, String)],
    ) -> Res<HashMap<(String, String), String>> {
        let mut found = HashMap::new();
        let mut wanted: Vec<&(String, String)> = Vec::new();
        for p in pairs {
            if !wanted.contains(&p) {
                wanted.push(p);
            }
        }
        for chunk in wanted.chunks(VARIANTS_PER_READ) {
            let filter = chunk
                .iter()
                .map(|(item, code)| {
                    format!(
                        "itemNumber eq {} and code eq {}",
                        odata_string(item),
                        odata_string(code)
                    )
                })
                .collect::<Vec<_>>()
                .join(" or ");
            let url = with_query(
                &self.company_url("itemVariants"),
                &[("$filter", &filter), ("$select", "id,itemNumber,code")],
            );
            let rows: Vec<VariantRow> = self.get_collection(&url).await?;
            for r in rows {
                found.insert((r.item_number.to_uppercase(), r.code.to_uppercase()), r.id);
            }
        }
        for (item, code) in wanted {
            if !found.contains_key(&(item.clone(), code.clone())) {
                return Err(invalid(format!("item {item} has no variant {code} in BC")));
            }
        }
        Ok(found)
    }

    /// The deep-insert body of a draft (validated first).
    async fn document_body(&self, draft: &SalesDocumentDraft) -> Res<Vec<u8>> {
        draft
            .validate()
            .map_err(|p| problems("the sales document", p))?;
        let pairs: Vec<(String, String)> = draft
            .lines
            .iter()
            .filter_map(|l| {
                l.variant_code
                    .as_ref()
                    .map(|v| (to_code(&l.item_number), to_code(v)))
            })
            .collect();
        let variants = if pairs.is_empty() {
            HashMap::new()
        } else {
            self.variant_ids(&pairs).await?
        };
        let mut lines = Vec::with_capacity(draft.lines.len() + 1);
        for l in &draft.lines {
            let item = to_code(&l.item_number);
            lines.push(LineBody {
                line_type: "Item",
                item_variant_id: l
                    .variant_code
                    .as_ref()
                    .and_then(|v| variants.get(&(item.clone(), to_code(v))).cloned()),
                line_object_number: item,
                description: l.description.clone(),
                quantity: number(&l.quantity)?,
                unit_price: number(&l.unit_price)?,
                discount_amount: l.discount_amount.as_ref().map(number).transpose()?,
            });
        }
        if let Some(s) = &draft.shipping_charge {
            let (line_type, account) = match &s.account {
                ShippingChargeAccount::GlAccount(n) => ("Account", n),
                ShippingChargeAccount::ItemCharge(n) => ("Charge", n),
            };
            lines.push(LineBody {
                line_type,
                line_object_number: to_code(account),
                item_variant_id: None,
                description: s.description.clone(),
                quantity: number(&Decimal::parse("1").expect("1 is a decimal"))?,
                unit_price: number(&s.amount)?,
                discount_amount: None,
            });
        }
        let mut body: BTreeMap<String, Box<RawValue>> = BTreeMap::new();
        let mut put = |k: &str, v: Res<Box<RawValue>>| -> Res<()> {
            body.insert(k.to_string(), v?);
            Ok(())
        };
        put("customerNumber", raw(&to_code(&draft.customer_number)))?;
        put(
            "externalDocumentNumber",
            raw(&draft.normalized_external_number()),
        )?;
        let (date_field, lines_field) = match draft.kind {
            SalesDocumentKind::Order => ("orderDate", "salesOrderLines"),
            SalesDocumentKind::Invoice => ("invoiceDate", "salesInvoiceLines"),
        };
        put(date_field, raw(&draft.document_date))?;
        if let Some(c) = &draft.currency_code {
            put("currencyCode", raw(&to_code(c)))?;
        }
        if let Some(e) = &draft.email {
            put("email", raw(e))?;
        }
        if let Some(p) = &draft.phone_number {
            put("phoneNumber", raw(p))?;
        }
        for (prefix, party) in [("billTo", &draft.bill_to), ("shipTo", &draft.ship_to)] {
            let Some(party) = party else { continue };
            put(&format!("{prefix}Name"), raw(&party.name))?;
            if prefix == "shipTo" && !party.contact.is_empty() {
                put("shipToContact", raw(&party.contact))?;
            }
            let a = &party.address;
            put(&format!("{prefix}AddressLine1"), raw(&a.line1))?;
            put(&format!("{prefix}AddressLine2"), raw(&a.line2))?;
            put(&format!("{prefix}City"), raw(&a.city))?;
            put(&format!("{prefix}State"), raw(&a.state))?;
            put(&format!("{prefix}Country"), raw(&to_code(&a.country)))?;
            put(&format!("{prefix}PostCode"), raw(&to_code(&a.postal_code)))?;
        }
        if let Some(d) = &draft.invoice_discount_amount {
            put("discountAmount", number(d))?;
        }
        put(lines_field, raw(&lines))?;
        serde_json::to_vec(&body).map_err(|e| BcError::Config(format!("request body: {e}")))
    }

    /// Create a sales order or invoice with its lines in one POST (deep insert).
    pub async fn post_sales_document(&self, draft: &SalesDocumentDraft) -> Res<SalesDocument> {
        let body = self.document_body(draft).await?;
        let set = match draft.kind {
            SalesDocumentKind::Order => "salesOrders",
            SalesDocumentKind::Invoice => "salesInvoices",
        };
        let row: DocumentRow = self
            .send(
                Method::POST,
                &self.company_url(set),
                &[],
                Some(&body),
                Resend::NotProcessedOnly,
            )
            .await?
            .json()?;
        Ok(SalesDocument {
            kind: draft.kind,
            id: row.id,
            number: row.number,
            external_document_number: row.external_document_number,
            status: row.status,
        })
    }

    /// Rows of the rest of a collection whose first page came in a batch answer.
    async fn rest_of<T: DeserializeOwned>(&self, first: ODataPage<T>, base: &str) -> Res<Vec<T>> {
        let mut rows = first.value;
        if let Some(link) = first.next_link {
            let next = reqwest::Url::parse(base)
                .and_then(|b| b.join(&link))
                .map_err(|e| BcError::Decode {
                    message: format!("bad @odata.nextLink {link:?}: {e}"),
                })?;
            rows.extend(self.get_collection::<T>(next.as_str()).await?);
        }
        Ok(rows)
    }

    /// Every document with this external document number (see the module documentation): one `$batch`.
    pub async fn documents_by_external_number(&self, external: &str) -> Res<Vec<SalesDocumentRef>> {
        let external = to_code(external);
        filter_value(
            "the external document number",
            &external,
            limits::EXTERNAL_DOCUMENT_NO,
        )?;
        let filter = any_of("externalDocumentNumber", &[&external]);
        let url = |set: &str, select: &str| {
            with_query(
                &self.company_url(set),
                &[("$filter", &filter), ("$select", select)],
            )
        };
        let sources = [
            (
                "orders",
                url("salesOrders", "id,number,externalDocumentNumber,status"),
            ),
            (
                "invoices",
                url(
                    "salesInvoices",
                    "id,number,externalDocumentNumber,status,orderNumber",
                ),
            ),
            (
                "shipments",
                url(
                    "salesShipments",
                    "id,number,externalDocumentNumber,orderNumber",
                ),
            ),
        ];
        let headers: Vec<(String, String)> = self
            .page_headers()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        let ops: Vec<BatchOperation> = sources
            .iter()
            .map(|(id, url)| BatchOperation {
                headers: headers.clone(),
                ..BatchOperation::get(*id, url.clone())
            })
            .collect();
        let answers = self.batch(&ops, BatchIsolation::None).await?;
        let mut found = Vec::new();
        for ((source, url), answer) in sources.iter().zip(&answers) {
            let rows = self.rest_of::<DocumentRow>(answer.json()?, url).await?;
            for row in rows {
                let kind = match *source {
                    "orders" => FoundDocumentKind::SalesOrder,
                    "invoices" if matches!(row.status.as_str(), "Draft" | "In Review" | "") => {
                        FoundDocumentKind::SalesInvoice
                    }
                    "invoices" => FoundDocumentKind::PostedSalesInvoice,
                    _ => FoundDocumentKind::PostedSalesShipment,
                };
                found.push(SalesDocumentRef {
                    kind,
                    status: (kind != FoundDocumentKind::PostedSalesShipment)
                        .then(|| row.status.clone()),
                    order_number: row.order_number.filter(|n| !n.is_empty()),
                    id: row.id,
                    number: row.number,
                    external_document_number: row.external_document_number,
                });
            }
        }
        Ok(found)
    }

    /// Posted shipments after `cursor`, with lines, in (modified, number) order.
    pub async fn shipments_since(&self, cursor: Option<&ShipmentCursor>) -> Res<ShipmentBatch> {
        let base = self.company_url("salesShipments");
        let select = "id,number,orderNumber,externalDocumentNumber,customerNumber,postingDate,lastModifiedDateTime";
        let filter =
            cursor.map(|c| format!("lastModifiedDateTime ge {}", ms_to_iso(c.modified_ms)));
        let mut options: Vec<(&str, &str)> =
            vec![("$select", select), ("$expand", "salesShipmentLines")];
        if let Some(f) = &filter {
            options.insert(0, ("$filter", f));
        }
        let rows: Vec<ShipmentRow> = self.get_collection(&with_query(&base, &options)).await?;
        let mut shipments = Vec::with_capacity(rows.len());
        for row in rows {
            let modified_ms =
                iso_to_ms(&row.last_modified_date_time).ok_or_else(|| BcError::Decode {
                    message: format!(
                        "shipment {}: lastModifiedDateTime {:?} is not a date-time",
                        row.number, row.last_modified_date_time
                    ),
                })?;
            if cursor.is_some_and(|c| !c.is_before(modified_ms, &row.number)) {
                continue;
            }
            let mut lines = Vec::with_capacity(row.sales_shipment_lines.len());
            for l in row.sales_shipment_lines {
                lines.push(PostedShipmentLine {
                    quantity: decimal_from("decimal", &l.quantity)?,
                    sequence: l.sequence,
                    line_type: l.line_type,
                    item_number: l.line_object_number,
                    description: l.description,
                });
            }
            lines.sort_by_key(|l| l.sequence);
            shipments.push(PostedShipment {
                id: row.id,
                number: row.number,
                order_number: row.order_number,
                external_document_number: row.external_document_number,
                customer_number: row.customer_number,
                shipment_date: row.posting_date,
                modified_ms,
                lines,
            });
        }
        shipments.sort_by(|a, b| (a.modified_ms, &a.number).cmp(&(b.modified_ms, &b.number)));
        Ok(ShipmentBatch {
            next_cursor: shipments.last().map(PostedShipment::cursor),
            shipments,
        })
    }

    /// One shipment's row of the tracking page.
    pub async fn tracking_of(
        &self,
        page: &str,
        company_name: &str,
        shipment_number: &str,
    ) -> Res<Option<ShipmentTracking>> {
        check_published_page("tracking", page, company_name)?;
        let number = to_code(shipment_number);
        filter_value("the shipment number", &number, limits::NUMBER)?;
        let url = with_query(
            &self.odata_page_url(company_name, page),
            &[("$filter", &any_of("shipmentNo", &[&number]))],
        );
        let rows: Vec<TrackingRow> = self.get_collection(&url).await?;
        let Some(row) = rows.into_iter().find(|r| r.shipment_no == number) else {
            return Ok(None);
        };
        if row.package_tracking_no.trim().is_empty() {
            return Ok(None);
        }
        let some = |s: String| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        Ok(Some(ShipmentTracking {
            shipment_number: row.shipment_no,
            tracking_number: row.package_tracking_no.trim().to_string(),
            company: some(row.tracking_company).or(some(row.shipping_agent_code)),
            url: some(row.tracking_url),
        }))
    }

    /// DELETE an unposted order or invoice. Resent like a read: a repeated delete of the same id finds
    /// nothing, and "not found" counts as deleted.
    pub async fn delete_document(&self, document: &SalesDocumentRef) -> Res<()> {
        let set = match document.kind {
            FoundDocumentKind::SalesOrder => "salesOrders",
            FoundDocumentKind::SalesInvoice => "salesInvoices",
            FoundDocumentKind::PostedSalesInvoice | FoundDocumentKind::PostedSalesShipment => {
                return Err(invalid(format!(
                    "{} is posted; posted documents cannot be deleted",
                    document.number
                )));
            }
        };
        if !is_guid(&document.id) {
            return Err(invalid("the document id must be a GUID"));
        }
        let url = self.company_url(&format!("{set}({})", document.id));
        match self
            .send(
                Method::DELETE,
                &url,
                &[("If-Match", "*".to_string())],
                None,
                Resend::Safe,
            )
            .await
        {
            Ok(_) | Err(BcError::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

#[async_trait]
impl BcSalesApi for BcClient {
    async fn find_customer_by_email(&self, email: &str) -> Result<Vec<BcCustomer>> {
        Ok(self.customers_by_email(email).await?)
    }

    async fn find_customer_by_phone(&self, phone: &str) -> Result<Vec<BcCustomer>> {
        Ok(self.customers_by_phone(phone).await?)
    }

    async fn find_customer_by_tax_registration(&self, number: &str) -> Result<Vec<BcCustomer>> {
        Ok(self.customers_by_tax_registration(number).await?)
    }

    async fn customer_template(&self, template_customer_number: &str) -> Result<CustomerDefaults> {
        Ok(self.template_defaults(template_customer_number).await?)
    }

    async fn create_customer(&self, customer: &NewCustomer) -> Result<BcCustomer> {
        Ok(self.post_customer(customer).await?)
    }

    async fn create_sales_document(&self, draft: &SalesDocumentDraft) -> Result<SalesDocument> {
        Ok(self.post_sales_document(draft).await?)
    }

    async fn find_sales_documents_by_external_number(
        &self,
        external_document_number: &str,
    ) -> Result<Vec<SalesDocumentRef>> {
        Ok(self
            .documents_by_external_number(external_document_number)
            .await?)
    }

    async fn posted_shipments_since(
        &self,
        cursor: Option<&ShipmentCursor>,
    ) -> Result<ShipmentBatch> {
        Ok(self.shipments_since(cursor).await?)
    }

    async fn shipment_tracking(
        &self,
        page: &str,
        company_name: &str,
        shipment_number: &str,
    ) -> Result<Option<ShipmentTracking>> {
        Ok(self
            .tracking_of(page, company_name, shipment_number)
            .await?)
    }

    async fn delete_sales_document(&self, document: &SalesDocumentRef) -> Result<()> {
        Ok(self.delete_document(document).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_times_round_trip() {
        for s in [
            "1970-01-01T00:00:00.000Z",
            "2026-03-01T10:00:00.123Z",
            "2000-02-29T23:59:59.999Z",
            "1969-12-31T23:59:59.999Z",
        ] {
            assert_eq!(ms_to_iso(iso_to_ms(s).unwrap()), s);
        }
        assert_eq!(iso_to_ms("1970-01-01T00:00:01Z"), Some(1000));
        assert_eq!(iso_to_ms("1970-01-01T01:00:00.5+01:00"), Some(500));
        assert_eq!(iso_to_ms("1970-01-01T00:00:00.1234567Z"), Some(123));
        for bad in [
            "",
            "2026-03-01",
            "2026-13-01T00:00:00Z",
            "2026-03-01T00:00:00",
            "x",
        ] {
            assert_eq!(iso_to_ms(bad), None, "{bad}");
        }
    }

    #[test]
    fn filters_quote_and_dedupe() {
        assert_eq!(
            any_of("email", &["O'Neil@x.com", "o'neil@x.com", "o'neil@x.com"]),
            "email eq 'O''Neil@x.com' or email eq 'o''neil@x.com'"
        );
        assert!(filter_value("x", "a\nb", 10).is_err());
        assert!(filter_value("x", "", 10).is_err());
        assert!(filter_value("x", "abcdefghijk", 10).is_err());
        assert_eq!(filter_value("x", "a'b", 10).unwrap(), "a'b");
    }

    #[test]
    fn decimals_travel_as_their_digits() {
        let d = Decimal::parse("19.99").unwrap();
        let line = LineBody {
            line_type: "Item",
            line_object_number: "1000".into(),
            item_variant_id: None,
            description: None,
            quantity: number(&Decimal::parse("3").unwrap()).unwrap(),
            unit_price: number(&d).unwrap(),
            discount_amount: Some(number(&Decimal::parse("0.1").unwrap()).unwrap()),
        };
        let json = serde_json::to_string(&line).unwrap();
        assert_eq!(
            json,
            r#"{"lineType":"Item","lineObjectNumber":"1000","quantity":3,"unitPrice":19.99,"discountAmount":0.1}"#
        );
        let raw = RawValue::from_string("1e-5".into()).unwrap();
        assert_eq!(decimal_from("decimal", &raw).unwrap().as_str(), "0.00001");
        let s = RawValue::from_string("\"2.50\"".into()).unwrap();
        assert_eq!(decimal_from("decimal", &s).unwrap().as_str(), "2.5");
    }
}
