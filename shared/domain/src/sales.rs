//! Sales vocabulary of the orders pipeline on the Business Central side: customers, the sales document
//! a Shopify order becomes, what a document may have become since (posted invoice, posted shipment),
//! posted shipments for the fulfillment sync, and the port [`BcSalesApi`] through which tasks reach them.
//!
//! Why these shapes:
//!
//! - **Money and quantities are [`Decimal`]s, kept as decimal text.** A Shopify price such as `19.99` has
//!   no exact binary floating-point value; BC stores it as a .NET `decimal`. The text travels unchanged
//!   from Shopify's answer to BC's request body (the BC client writes it into the JSON as a number
//!   literal, byte for byte), so no rounding happens anywhere on the way.
//! - **BC "Code" fields are upper case.** BC upper-cases `Code[n]` fields on validation
//!   (`externalDocumentNumber` is a `Code[35]`, item and customer numbers `Code[20]`), so a document
//!   created with `#abc-1` is stored as `#ABC-1`. [`to_code`] applies the same rule, and lookups filter by
//!   the normalised value; otherwise the exactly-once probe would miss the document it is looking for.
//! - **Field lengths are BC's.** BC refuses a value longer than its field (`Application_StringExceededLength`)
//!   and refuses the whole document with it; [`SalesDocumentDraft::validate`] and
//!   [`NewCustomer::validate`] find those before a request is spent, and [`fit`] truncates addresses the
//!   way the reference connector does.
//! - **The exactly-once probe is by `externalDocumentNumber`.** BC has no idempotency keys. A document
//!   whose creation had an unknown outcome is looked up by its external document number (the Shopify
//!   order name) in every place it can be by now: an unposted order or invoice, a posted invoice, a
//!   posted shipment ([`BcSalesApi::find_sales_documents_by_external_number`]).

use crate::ports::Result;
use async_trait::async_trait;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

// ---------------------------------------------------------------------------------------------
// Decimal
// ---------------------------------------------------------------------------------------------

/// Most significant digits a [`Decimal`] may have (a .NET `decimal`, BC's type, holds 28 to 29).
pub const MAX_DECIMAL_DIGITS: usize = 28;
/// Most digits after the decimal point (BC rounds amounts to 2 to 5 places; 20 leaves room).
pub const MAX_DECIMAL_SCALE: usize = 20;

/// An exact decimal number held as canonical decimal text: an optional `-`, the integer digits without
/// leading zeros (`0` when there are none), and the fraction digits without trailing zeros, if any
/// (`19.9`, `-0.05`, `3`). Parsing accepts a leading `+`, leading and trailing zeros and an exponent
/// (`1e-5`, as some JSON writers print small numbers) and normalises them away.
///
/// Serialised as a JSON string in our own records (checkpoints, ledger payloads); the BC client writes
/// it into BC's request bodies as a JSON number with the same digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Decimal(String);

/// Why a text is not a [`Decimal`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecimalError {
    #[error("is empty")]
    Empty,
    #[error("is not a decimal number: {0}")]
    Malformed(String),
    #[error(
        "has more than {MAX_DECIMAL_DIGITS} significant digits or {MAX_DECIMAL_SCALE} decimal places"
    )]
    OutOfRange,
}

impl Decimal {
    pub fn zero() -> Decimal {
        Decimal("0".into())
    }

    /// Parse and normalise (see the type's documentation).
    pub fn parse(text: &str) -> std::result::Result<Decimal, DecimalError> {
        if text.is_empty() {
            return Err(DecimalError::Empty);
        }
        let malformed = || DecimalError::Malformed(crate::text::preview(text));
        let bytes = text.as_bytes();
        let mut i = 0;
        let negative = match bytes.first() {
            Some(b'-') => {
                i += 1;
                true
            }
            Some(b'+') => {
                i += 1;
                false
            }
            _ => false,
        };
        let int_start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        let int_digits = &text[int_start..i];
        let mut frac_digits = "";
        if bytes.get(i) == Some(&b'.') {
            i += 1;
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            frac_digits = &text[start..i];
        }
        if int_digits.is_empty() && frac_digits.is_empty() {
            return Err(malformed());
        }
        let mut exponent: i64 = 0;
        if matches!(bytes.get(i), Some(b'e' | b'E')) {
            i += 1;
            let sign = match bytes.get(i) {
                Some(b'-') => {
                    i += 1;
                    -1
                }
                Some(b'+') => {
                    i += 1;
                    1
                }
                _ => 1,
            };
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            let digits = &text[start..i];
            if digits.is_empty() || digits.len() > 3 {
                return Err(if digits.is_empty() {
                    malformed()
                } else {
                    DecimalError::OutOfRange
                });
            }
            exponent = sign * digits.parse::<i64>().map_err(|_| malformed())?;
        }
        if i != bytes.len() {
            return Err(malformed());
        }
        // All digits, and where the point goes once the exponent is applied.
        let digits: String = format!("{int_digits}{frac_digits}");
        let point = int_digits.len() as i64 + exponent;
        let significant = digits.trim_start_matches('0');
        if significant.is_empty() {
            return Ok(Decimal::zero());
        }
        // Bound the work before building strings from the exponent.
        if !(-(MAX_DECIMAL_SCALE as i64)..=(MAX_DECIMAL_DIGITS as i64)).contains(&point) {
            return Err(DecimalError::OutOfRange);
        }
        let (int_part, frac_part) = if point <= 0 {
            (
                String::new(),
                format!("{}{digits}", "0".repeat((-point) as usize)),
            )
        } else if point as usize >= digits.len() {
            (
                format!("{digits}{}", "0".repeat(point as usize - digits.len())),
                String::new(),
            )
        } else {
            (
                digits[..point as usize].to_string(),
                digits[point as usize..].to_string(),
            )
        };
        let int_part = int_part.trim_start_matches('0');
        let frac_part = frac_part.trim_end_matches('0');
        let significant_digits = format!("{int_part}{frac_part}")
            .trim_start_matches('0')
            .len();
        if significant_digits > MAX_DECIMAL_DIGITS || frac_part.len() > MAX_DECIMAL_SCALE {
            return Err(DecimalError::OutOfRange);
        }
        let mut out = String::with_capacity(int_part.len() + frac_part.len() + 3);
        if negative {
            out.push('-');
        }
        out.push_str(if int_part.is_empty() { "0" } else { int_part });
        if !frac_part.is_empty() {
            out.push('.');
            out.push_str(frac_part);
        }
        Ok(Decimal(out))
    }

    /// The canonical text, e.g. `19.99`. Also a valid JSON number.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_zero(&self) -> bool {
        self.0 == "0"
    }

    pub fn is_negative(&self) -> bool {
        self.0.starts_with('-')
    }

    /// Greater than zero.
    pub fn is_positive(&self) -> bool {
        !self.is_zero() && !self.is_negative()
    }
}

impl FromStr for Decimal {
    type Err = DecimalError;
    fn from_str(s: &str) -> std::result::Result<Decimal, DecimalError> {
        Decimal::parse(s)
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Decimal {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Decimal {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Decimal, D::Error> {
        let text = String::deserialize(d)?;
        Decimal::parse(&text).map_err(serde::de::Error::custom)
    }
}

// ---------------------------------------------------------------------------------------------
// Field rules
// ---------------------------------------------------------------------------------------------

/// BC's field lengths for the values Shopsync writes (standard tables Customer, Sales Header, Sales
/// Line). A longer value is refused by BC with `Application_StringExceededLength`.
pub mod limits {
    /// `External Document No.`, `Code[35]`.
    pub const EXTERNAL_DOCUMENT_NO: usize = 35;
    /// Customer, item, G/L account, item charge and document numbers, `Code[20]`.
    pub const NUMBER: usize = 20;
    /// `Variant Code`, `Code[10]`.
    pub const VARIANT_CODE: usize = 10;
    /// `Currency Code`, `Code[10]`.
    pub const CURRENCY_CODE: usize = 10;
    /// `Country/Region Code`, `Code[10]`.
    pub const COUNTRY: usize = 10;
    /// `Post Code`, `Code[20]`.
    pub const POST_CODE: usize = 20;
    /// Names, `Text[100]`.
    pub const NAME: usize = 100;
    /// `Address`, `Address 2`, `Text[100]` / `Text[50]`; 50 is the shorter of the two and used for both.
    pub const ADDRESS: usize = 100;
    pub const ADDRESS_2: usize = 50;
    /// `City`, `County`, `Contact` (`Text[30]`, `Text[30]`, `Text[100]`).
    pub const CITY: usize = 30;
    pub const COUNTY: usize = 30;
    pub const CONTACT: usize = 100;
    /// `E-Mail`, `Text[80]`; `Phone No.`, `Text[30]`.
    pub const EMAIL: usize = 80;
    pub const PHONE: usize = 30;
    /// `VAT Registration No.` (`taxRegistrationNumber`), `Text[20]`.
    pub const TAX_REGISTRATION_NUMBER: usize = 20;
    /// Line `Description`, `Text[100]`.
    pub const DESCRIPTION: usize = 100;
    /// Lines in one document created by Shopsync (a guard on the request size, not a BC limit).
    pub const LINES: usize = 1000;
}

/// `s` trimmed and cut to at most `max_chars` characters (the reference connector truncates names and
/// addresses copied from Shopify to BC's field lengths rather than refusing the order).
pub fn fit(s: &str, max_chars: usize) -> String {
    s.trim().chars().take(max_chars).collect::<String>()
}

/// A value as BC stores it in a `Code` field: trimmed and upper case.
pub fn to_code(s: &str) -> String {
    s.trim().to_uppercase()
}

/// One problem with a value Shopsync was about to send to BC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldProblem {
    /// Where: `external_document_number`, `lines[2].item_number`, …
    pub field: String,
    pub message: String,
}

impl fmt::Display for FieldProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Collects [`FieldProblem`]s (here and in [`crate::items`], which adds its own checks).
#[derive(Default)]
pub(crate) struct Problems(Vec<FieldProblem>);

impl Problems {
    pub(crate) fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldProblem {
            field: field.into(),
            message: message.into(),
        });
    }

    /// A text field: at most `max` characters, no control characters; `required` also refuses blank.
    pub(crate) fn text(
        &mut self,
        field: impl Into<String>,
        value: &str,
        max: usize,
        required: bool,
    ) {
        let field = field.into();
        if required && value.trim().is_empty() {
            self.add(field, "must not be empty");
        } else if value.chars().count() > max {
            self.add(field, format!("is longer than {max} characters"));
        } else if value.chars().any(char::is_control) {
            self.add(field, "contains control characters");
        }
    }

    pub(crate) fn finish(self) -> std::result::Result<(), Vec<FieldProblem>> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(self.0)
        }
    }
}

/// `YYYY-MM-DD` with a plausible month and day.
pub fn is_iso_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let digits = |r: std::ops::Range<usize>| {
        s.get(r)
            .filter(|p| p.bytes().all(|c| c.is_ascii_digit()))
            .and_then(|p| p.parse::<u32>().ok())
    };
    matches!(
        (digits(0..4), digits(5..7), digits(8..10)),
        (Some(1900..=9999), Some(1..=12), Some(1..=31))
    )
}

// ---------------------------------------------------------------------------------------------
// Customers
// ---------------------------------------------------------------------------------------------

/// A postal address as BC's API v2.0 spells it (`addressLine1`, `addressLine2`, `city`, `state` =
/// County, `country` = Country/Region code, `postalCode`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostalAddress {
    #[serde(default)]
    pub line1: String,
    #[serde(default)]
    pub line2: String,
    #[serde(default)]
    pub city: String,
    /// County / state / province.
    #[serde(default)]
    pub state: String,
    /// Country/region code (ISO 3166 alpha-2 in a standard setup).
    #[serde(default)]
    pub country: String,
    #[serde(default)]
    pub postal_code: String,
}

impl PostalAddress {
    /// Each part cut to BC's field length (see [`fit`]).
    pub fn fitted(&self) -> PostalAddress {
        PostalAddress {
            line1: fit(&self.line1, limits::ADDRESS),
            line2: fit(&self.line2, limits::ADDRESS_2),
            city: fit(&self.city, limits::CITY),
            state: fit(&self.state, limits::COUNTY),
            country: to_code(&fit(&self.country, limits::COUNTRY)),
            postal_code: to_code(&fit(&self.postal_code, limits::POST_CODE)),
        }
    }

    fn check(&self, p: &mut Problems, prefix: &str) {
        p.text(
            format!("{prefix}.line1"),
            &self.line1,
            limits::ADDRESS,
            false,
        );
        p.text(
            format!("{prefix}.line2"),
            &self.line2,
            limits::ADDRESS_2,
            false,
        );
        p.text(format!("{prefix}.city"), &self.city, limits::CITY, false);
        p.text(
            format!("{prefix}.state"),
            &self.state,
            limits::COUNTY,
            false,
        );
        p.text(
            format!("{prefix}.country"),
            &self.country,
            limits::COUNTRY,
            false,
        );
        p.text(
            format!("{prefix}.postal_code"),
            &self.postal_code,
            limits::POST_CODE,
            false,
        );
    }
}

/// BC's customer type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum CustomerType {
    #[default]
    Person,
    Company,
}

impl CustomerType {
    /// As BC's API spells it.
    pub fn as_bc(self) -> &'static str {
        match self {
            CustomerType::Person => "Person",
            CustomerType::Company => "Company",
        }
    }
}

/// A BC customer as API v2.0 `customers` gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BcCustomer {
    /// API id (GUID).
    pub id: String,
    pub number: String,
    pub display_name: String,
    pub customer_type: CustomerType,
    pub email: String,
    pub phone_number: String,
    /// `taxRegistrationNumber` (`VAT Registration No.`); empty when BC has none.
    #[serde(default)]
    pub tax_registration_number: String,
    pub address: PostalAddress,
    /// Empty for the company's local currency.
    pub currency_code: String,
    /// Blocked for anything (`Ship`, `Invoice` or `All`).
    pub blocked: bool,
    /// `lastModifiedDateTime` as BC wrote it.
    pub last_modified: String,
}

/// The defaults a new customer takes from its template.
///
/// **How a template is applied.** API v2.0 has no template parameter and no `customerTemplates`
/// resource, so the template is a *template customer*: an ordinary BC customer kept as a model (the
/// shop's customer template code names its number). [`BcSalesApi::customer_template`] reads it once
/// per run and [`BcSalesApi::create_customer`] copies these fields into the new customer's POST —
/// the posting-related fields API v2.0 exposes: tax liability and area, currency, payment terms,
/// payment method and shipment method.
///
/// Not copied, because API v2.0 `customers` does not have them: Gen. Bus. / VAT Bus. / Customer Posting
/// Group, price and discount groups. Those come from the BC company's own defaults; a company without
/// them needs a custom API page (or a published Customer Card) to set them — a known gap.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerDefaults {
    /// The template customer's number (kept for messages).
    pub template_number: String,
    pub tax_liable: Option<bool>,
    /// GUIDs of BC records; `None` leaves BC's default.
    pub tax_area_id: Option<String>,
    pub currency_code: Option<String>,
    pub payment_terms_id: Option<String>,
    pub payment_method_id: Option<String>,
    pub shipment_method_id: Option<String>,
}

/// A customer to create: what Shopify knows of the buyer, plus the template's defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewCustomer {
    pub display_name: String,
    pub customer_type: CustomerType,
    pub email: Option<String>,
    pub phone_number: Option<String>,
    /// `taxRegistrationNumber`; `None` sends none (set by `sync-companies` when it maps by tax id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_registration_number: Option<String>,
    pub address: PostalAddress,
    pub defaults: CustomerDefaults,
}

impl NewCustomer {
    /// A customer from a template: `display_name` and the address are cut to BC's lengths.
    pub fn from_template(
        defaults: &CustomerDefaults,
        display_name: &str,
        customer_type: CustomerType,
        email: Option<&str>,
        phone_number: Option<&str>,
        address: &PostalAddress,
    ) -> NewCustomer {
        NewCustomer {
            display_name: fit(display_name, limits::NAME),
            customer_type,
            email: email
                .map(str::trim)
                .filter(|e| !e.is_empty())
                .map(String::from),
            phone_number: phone_number
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(String::from),
            tax_registration_number: None,
            address: address.fitted(),
            defaults: defaults.clone(),
        }
    }

    /// With `taxRegistrationNumber` = `number` trimmed (none when blank).
    pub fn with_tax_registration_number(mut self, number: Option<&str>) -> NewCustomer {
        self.tax_registration_number = number
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(String::from);
        self
    }

    /// Every problem BC would refuse the customer for, at once.
    pub fn validate(&self) -> std::result::Result<(), Vec<FieldProblem>> {
        let mut p = Problems::default();
        p.text("display_name", &self.display_name, limits::NAME, true);
        if let Some(e) = &self.email {
            p.text("email", e, limits::EMAIL, true);
        }
        if let Some(ph) = &self.phone_number {
            p.text("phone_number", ph, limits::PHONE, true);
        }
        if let Some(t) = &self.tax_registration_number {
            p.text(
                "tax_registration_number",
                t,
                limits::TAX_REGISTRATION_NUMBER,
                true,
            );
        }
        self.address.check(&mut p, "address");
        for (field, id) in [
            ("defaults.tax_area_id", &self.defaults.tax_area_id),
            ("defaults.payment_terms_id", &self.defaults.payment_terms_id),
            (
                "defaults.payment_method_id",
                &self.defaults.payment_method_id,
            ),
            (
                "defaults.shipment_method_id",
                &self.defaults.shipment_method_id,
            ),
        ] {
            if let Some(id) = id
                && !crate::patterns::is_guid(id)
            {
                p.add(field, "must be a GUID");
            }
        }
        if let Some(c) = &self.defaults.currency_code {
            p.text("defaults.currency_code", c, limits::CURRENCY_CODE, false);
        }
        p.finish()
    }
}

// ---------------------------------------------------------------------------------------------
// Sales documents
// ---------------------------------------------------------------------------------------------

/// Which document an order becomes: an order, or (fulfilled orders with "create invoices from orders")
/// an invoice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SalesDocumentKind {
    Order,
    Invoice,
}

/// A bill-to or ship-to party on a document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentAddress {
    pub name: String,
    #[serde(default)]
    pub contact: String,
    pub address: PostalAddress,
}

impl DocumentAddress {
    /// Cut to BC's field lengths.
    pub fn fitted(&self) -> DocumentAddress {
        DocumentAddress {
            name: fit(&self.name, limits::NAME),
            contact: fit(&self.contact, limits::CONTACT),
            address: self.address.fitted(),
        }
    }

    fn check(&self, p: &mut Problems, prefix: &str) {
        p.text(format!("{prefix}.name"), &self.name, limits::NAME, false);
        p.text(
            format!("{prefix}.contact"),
            &self.contact,
            limits::CONTACT,
            false,
        );
        self.address.check(p, &format!("{prefix}.address"));
    }
}

/// One item line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SalesLineDraft {
    pub item_number: String,
    /// BC item variant code; the client resolves it to the variant's id.
    pub variant_code: Option<String>,
    /// `None`: BC fills in the item's description.
    pub description: Option<String>,
    pub quantity: Decimal,
    pub unit_price: Decimal,
    /// Line discount amount (`discountAmount`).
    pub discount_amount: Option<Decimal>,
}

/// Where the shipping charge goes, per the shop's settings (the reference's `Shipping Charges Account`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type", content = "number")]
pub enum ShippingChargeAccount {
    /// A G/L account line (`lineType: Account`). Posts as it is: the recommended choice.
    GlAccount(String),
    /// An item charge line (`lineType: Charge`). BC only posts it once it is assigned to item lines,
    /// which API v2.0 cannot do: someone (or a BC extension) assigns it in BC before posting.
    ItemCharge(String),
}

/// The shipping line of a document: one unit at `amount`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippingChargeLine {
    pub account: ShippingChargeAccount,
    pub description: Option<String>,
    pub amount: Decimal,
}

/// A sales order or invoice to create, header and lines, from one Shopify order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SalesDocumentDraft {
    pub kind: SalesDocumentKind,
    /// Sell-to customer number.
    pub customer_number: String,
    /// The Shopify order name (`#1001`): the document's natural key and the exactly-once probe's key.
    /// Stored by BC upper case ([`to_code`]); at most 35 characters.
    pub external_document_number: String,
    /// `None`: the company's local currency.
    pub currency_code: Option<String>,
    /// `orderDate` of an order, `invoiceDate` of an invoice, `YYYY-MM-DD`.
    pub document_date: String,
    pub email: Option<String>,
    pub phone_number: Option<String>,
    pub bill_to: Option<DocumentAddress>,
    pub ship_to: Option<DocumentAddress>,
    pub lines: Vec<SalesLineDraft>,
    pub shipping_charge: Option<ShippingChargeLine>,
    /// Order-level discount as an invoice discount amount (`discountAmount` on the header).
    pub invoice_discount_amount: Option<Decimal>,
}

impl SalesDocumentDraft {
    /// The external document number as BC stores it.
    pub fn normalized_external_number(&self) -> String {
        to_code(&self.external_document_number)
    }

    /// Every problem BC would refuse the document for, at once (lengths, dates, empty or negative
    /// quantities, a document without lines).
    pub fn validate(&self) -> std::result::Result<(), Vec<FieldProblem>> {
        let mut p = Problems::default();
        p.text(
            "customer_number",
            &self.customer_number,
            limits::NUMBER,
            true,
        );
        p.text(
            "external_document_number",
            &self.external_document_number,
            limits::EXTERNAL_DOCUMENT_NO,
            true,
        );
        if let Some(c) = &self.currency_code {
            p.text("currency_code", c, limits::CURRENCY_CODE, true);
        }
        if !is_iso_date(&self.document_date) {
            p.add("document_date", "must be a date, YYYY-MM-DD");
        }
        if let Some(e) = &self.email {
            p.text("email", e, limits::EMAIL, false);
        }
        if let Some(ph) = &self.phone_number {
            p.text("phone_number", ph, limits::PHONE, false);
        }
        if let Some(a) = &self.bill_to {
            a.check(&mut p, "bill_to");
        }
        if let Some(a) = &self.ship_to {
            a.check(&mut p, "ship_to");
        }
        if self.lines.is_empty() {
            p.add("lines", "a document needs at least one item line");
        }
        if self.lines.len() > limits::LINES {
            p.add("lines", format!("more than {} lines", limits::LINES));
        }
        for (i, line) in self.lines.iter().enumerate() {
            let at = |f: &str| format!("lines[{i}].{f}");
            p.text(at("item_number"), &line.item_number, limits::NUMBER, true);
            if let Some(v) = &line.variant_code {
                p.text(at("variant_code"), v, limits::VARIANT_CODE, true);
            }
            if let Some(d) = &line.description {
                p.text(at("description"), d, limits::DESCRIPTION, false);
            }
            if !line.quantity.is_positive() {
                p.add(at("quantity"), "must be greater than zero");
            }
            if line.unit_price.is_negative() {
                p.add(at("unit_price"), "must not be negative");
            }
            if line
                .discount_amount
                .as_ref()
                .is_some_and(Decimal::is_negative)
            {
                p.add(at("discount_amount"), "must not be negative");
            }
        }
        if let Some(s) = &self.shipping_charge {
            let number = match &s.account {
                ShippingChargeAccount::GlAccount(n) | ShippingChargeAccount::ItemCharge(n) => n,
            };
            p.text("shipping_charge.account", number, limits::NUMBER, true);
            if let Some(d) = &s.description {
                p.text("shipping_charge.description", d, limits::DESCRIPTION, false);
            }
            if s.amount.is_negative() {
                p.add("shipping_charge.amount", "must not be negative");
            }
        }
        if self
            .invoice_discount_amount
            .as_ref()
            .is_some_and(Decimal::is_negative)
        {
            p.add("invoice_discount_amount", "must not be negative");
        }
        p.finish()
    }
}

/// A document as created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SalesDocument {
    pub kind: SalesDocumentKind,
    /// API id (GUID).
    pub id: String,
    pub number: String,
    pub external_document_number: String,
    /// BC's status (`Draft`, `In Review`, `Open`, `Released`, …).
    pub status: String,
}

/// Where a document with a given external number was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FoundDocumentKind {
    /// An unposted sales order.
    SalesOrder,
    /// An unposted (draft) sales invoice.
    SalesInvoice,
    /// A posted sales invoice (from an invoice, or from an order that was invoiced).
    PostedSalesInvoice,
    /// A posted sales shipment (the order was shipped).
    PostedSalesShipment,
}

/// A document found by [`BcSalesApi::find_sales_documents_by_external_number`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SalesDocumentRef {
    pub kind: FoundDocumentKind,
    pub id: String,
    pub number: String,
    pub external_document_number: String,
    /// BC's status where the resource has one (orders and invoices).
    pub status: Option<String>,
    /// The sales order a posted document came from, when BC says.
    pub order_number: Option<String>,
}

impl SalesDocumentRef {
    /// Posted documents cannot be changed or deleted.
    pub fn is_posted(&self) -> bool {
        matches!(
            self.kind,
            FoundDocumentKind::PostedSalesInvoice | FoundDocumentKind::PostedSalesShipment
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Posted shipments
// ---------------------------------------------------------------------------------------------

/// Where the shipment sync stopped reading: the last shipment's `lastModifiedDateTime` (epoch
/// milliseconds) and number. BC lists shipments by number, not by time, so the pair is the order
/// (time, then number) in which shipments are handed out, and the number breaks ties between
/// shipments modified in the same millisecond.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ShipmentCursor {
    pub modified_ms: i64,
    pub number: String,
}

impl ShipmentCursor {
    /// Whether a shipment at (`modified_ms`, `number`) comes after this cursor.
    pub fn is_before(&self, modified_ms: i64, number: &str) -> bool {
        (self.modified_ms, self.number.as_str()) < (modified_ms, number)
    }

    /// This cursor moved back by `ms` (and to the start of that millisecond). A record's
    /// `lastModifiedDateTime` is taken when it is written, not when its transaction commits, so a
    /// posting that commits late can carry a time before a shipment already read; reading again from a
    /// little earlier picks it up. Shipments read twice must then be recognised by number (the
    /// fulfillment ledger does that).
    pub fn rewound(&self, ms: i64) -> ShipmentCursor {
        ShipmentCursor {
            modified_ms: self.modified_ms.saturating_sub(ms),
            number: String::new(),
        }
    }
}

/// One line of a posted shipment. API v2.0 shipment lines have no variant code and no link to the order
/// line: matching back to Shopify goes by item number and quantity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostedShipmentLine {
    pub sequence: i64,
    /// `Item`, `Account`, `Comment`, `Charge`, …
    pub line_type: String,
    /// The item number on item lines (`lineObjectNumber`).
    pub item_number: String,
    pub description: String,
    pub quantity: Decimal,
}

/// A posted sales shipment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostedShipment {
    pub id: String,
    pub number: String,
    /// The sales order it was posted from.
    pub order_number: String,
    /// Copied from the order: the Shopify order name.
    pub external_document_number: String,
    pub customer_number: String,
    /// `postingDate`, `YYYY-MM-DD`.
    pub shipment_date: String,
    /// `lastModifiedDateTime` as epoch milliseconds.
    pub modified_ms: i64,
    pub lines: Vec<PostedShipmentLine>,
}

impl PostedShipment {
    /// The cursor just after this shipment.
    pub fn cursor(&self) -> ShipmentCursor {
        ShipmentCursor {
            modified_ms: self.modified_ms,
            number: self.number.clone(),
        }
    }

    /// Item lines with a positive quantity (what a fulfillment can be made of).
    pub fn item_lines(&self) -> impl Iterator<Item = &PostedShipmentLine> {
        self.lines
            .iter()
            .filter(|l| l.line_type == "Item" && l.quantity.is_positive())
    }
}

/// Posted shipments after a cursor, in cursor order, and the cursor after the last of them (`None` when
/// there were none: keep the old cursor).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShipmentBatch {
    pub shipments: Vec<PostedShipment>,
    pub next_cursor: Option<ShipmentCursor>,
}

/// Tracking of a posted shipment, from a page the customer publishes (API v2.0 shipments have no
/// package tracking number and no shipping agent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShipmentTracking {
    pub shipment_number: String,
    pub tracking_number: String,
    /// The carrier as Shopify should show it: the agent's tracking company, else its name or code.
    pub company: Option<String>,
    pub url: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Port
// ---------------------------------------------------------------------------------------------

/// Business Central's sales side: customers, sales documents, posted shipments.
#[async_trait]
pub trait BcSalesApi: Send + Sync {
    /// Customers whose e-mail is `email` (also its lower-case form), by number. The caller takes the
    /// first that is not blocked, as the reference's "by e-mail/phone" mapping does.
    async fn find_customer_by_email(&self, email: &str) -> Result<Vec<BcCustomer>>;

    /// Customers whose phone number is exactly `phone`, by number.
    async fn find_customer_by_phone(&self, phone: &str) -> Result<Vec<BcCustomer>>;

    /// Customers whose tax registration number (`taxRegistrationNumber`) is `number` as given, or
    /// (when different) as [`crate::contact::tax_id_key`] spells it, by number. BC compares text as
    /// stored: the caller holds the answer against `tax_id_key` itself.
    async fn find_customer_by_tax_registration(&self, number: &str) -> Result<Vec<BcCustomer>>;

    /// The defaults of the template customer numbered `template_customer_number` (see
    /// [`CustomerDefaults`]); `SyncError::NotFound` when there is none.
    async fn customer_template(&self, template_customer_number: &str) -> Result<CustomerDefaults>;

    /// Create a customer (one POST; BC assigns the number). Not resent after an unknown outcome:
    /// the caller probes with [`BcSalesApi::find_customer_by_email`] first.
    async fn create_customer(&self, customer: &NewCustomer) -> Result<BcCustomer>;

    /// Create the document, header and lines, in **one** request (BC applies all of it or none, so no
    /// half-made document can be left). Not resent after an unknown outcome: the caller probes with
    /// [`BcSalesApi::find_sales_documents_by_external_number`] first. A draft that fails
    /// [`SalesDocumentDraft::validate`] is refused before any request.
    async fn create_sales_document(&self, draft: &SalesDocumentDraft) -> Result<SalesDocument>;

    /// Every document with this external document number (normalised with [`to_code`]): unposted
    /// orders and invoices, posted invoices and posted shipments. Empty: nothing was created.
    async fn find_sales_documents_by_external_number(
        &self,
        external_document_number: &str,
    ) -> Result<Vec<SalesDocumentRef>>;

    /// Posted shipments after `cursor` (all of them when `None`), with their lines, in cursor order.
    async fn posted_shipments_since(
        &self,
        cursor: Option<&ShipmentCursor>,
    ) -> Result<ShipmentBatch>;

    /// Tracking of one posted shipment from the published page `page` of company `company_name`;
    /// `None` when the page has no row for it or the row has no tracking number.
    async fn shipment_tracking(
        &self,
        page: &str,
        company_name: &str,
        shipment_number: &str,
    ) -> Result<Option<ShipmentTracking>>;

    /// Delete an unposted order or invoice. Creation never leaves a half-made document (it is one
    /// request), so this is for removing a document on purpose, not for cleaning up after a failure.
    /// Posted documents are refused.
    async fn delete_sales_document(&self, document: &SalesDocumentRef) -> Result<()>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        Decimal::parse(s).unwrap()
    }

    #[test]
    fn decimals_are_exact_and_canonical() {
        for (input, want) in [
            ("19.99", "19.99"),
            ("19.90", "19.9"),
            ("007", "7"),
            ("+3", "3"),
            ("-0.050", "-0.05"),
            ("-0", "0"),
            ("0.000", "0"),
            (".5", "0.5"),
            ("5.", "5"),
            ("1e-5", "0.00001"),
            ("1.25E2", "125"),
            ("2.0", "2"),
            ("12345678901234567890.12", "12345678901234567890.12"),
        ] {
            assert_eq!(d(input).as_str(), want, "{input}");
        }
        for bad in [
            "", "-", ".", "1.2.3", "1e", "abc", " 1", "1 ", "0x10", "NaN",
        ] {
            assert!(Decimal::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(Decimal::parse("1e999"), Err(DecimalError::OutOfRange));
        assert_eq!(
            Decimal::parse(&"9".repeat(29)),
            Err(DecimalError::OutOfRange)
        );
        assert!(d("0.01").is_positive() && d("-1").is_negative() && d("0").is_zero());
        let json = serde_json::to_string(&d("19.99")).unwrap();
        assert_eq!(json, "\"19.99\"");
        assert_eq!(
            serde_json::from_str::<Decimal>("\"1.50\"").unwrap(),
            d("1.5")
        );
        assert!(serde_json::from_str::<Decimal>("\"x\"").is_err());
    }

    fn draft() -> SalesDocumentDraft {
        SalesDocumentDraft {
            kind: SalesDocumentKind::Order,
            customer_number: "C00010".into(),
            external_document_number: "#1001".into(),
            currency_code: None,
            document_date: "2026-03-01".into(),
            email: None,
            phone_number: None,
            bill_to: None,
            ship_to: None,
            lines: vec![SalesLineDraft {
                item_number: "1000".into(),
                variant_code: None,
                description: None,
                quantity: d("1"),
                unit_price: d("19.99"),
                discount_amount: None,
            }],
            shipping_charge: None,
            invoice_discount_amount: None,
        }
    }

    #[test]
    fn drafts_are_validated_whole() {
        assert_eq!(draft().validate(), Ok(()));
        let mut bad = draft();
        bad.external_document_number = "x".repeat(36);
        bad.document_date = "2026-13-01".into();
        bad.lines[0].quantity = d("0");
        bad.lines[0].item_number = String::new();
        bad.lines.push(SalesLineDraft {
            unit_price: d("-1"),
            ..draft().lines[0].clone()
        });
        let problems = bad.validate().unwrap_err();
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "external_document_number",
                "document_date",
                "lines[0].item_number",
                "lines[0].quantity",
                "lines[1].unit_price"
            ]
        );
        let mut empty = draft();
        empty.lines.clear();
        assert!(empty.validate().is_err());
    }

    #[test]
    fn codes_and_fitting() {
        assert_eq!(to_code(" #abc-1 "), "#ABC-1");
        assert_eq!(fit("  Long street name  ", 6), "Long s");
        let a = PostalAddress {
            city: "x".repeat(40),
            country: "us".into(),
            ..Default::default()
        }
        .fitted();
        assert_eq!((a.city.len(), a.country.as_str()), (30, "US"));
        assert!(is_iso_date("2026-02-28") && !is_iso_date("2026-2-28"));
    }

    #[test]
    fn new_customers_are_checked() {
        let t = CustomerDefaults {
            template_number: "TMPL".into(),
            payment_terms_id: Some("not-a-guid".into()),
            ..Default::default()
        };
        let c = NewCustomer::from_template(
            &t,
            "Ann",
            CustomerType::Person,
            Some(" ann@example.com "),
            Some(""),
            &PostalAddress::default(),
        );
        assert_eq!(c.email.as_deref(), Some("ann@example.com"));
        assert_eq!(c.phone_number, None);
        let problems = c.validate().unwrap_err();
        assert_eq!(problems[0].field, "defaults.payment_terms_id");
    }

    #[test]
    fn shipment_cursor_order() {
        let c = ShipmentCursor {
            modified_ms: 10,
            number: "S-2".into(),
        };
        assert!(c.is_before(10, "S-3") && c.is_before(11, "S-1"));
        assert!(!c.is_before(10, "S-2") && !c.is_before(9, "S-9"));
        assert_eq!(c.rewound(5).modified_ms, 5);
        assert!(c.rewound(0).is_before(10, "S-1"));
    }
}
