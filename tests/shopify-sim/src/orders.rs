//! Orders, fulfillment orders, fulfillments, refunds and Shopify Payments records of one store,
//! and the three order mutations the sync sends: `fulfillmentCreate`, `orderUpdate`, `orderClose`.
//!
//! Why modelled this far: the orders task pages orders by `updatedAt` and completes long ones with
//! follow-up queries, the shipments task creates fulfillments that must never be doubled, and both
//! write back. The simulator keeps what those need consistent — remaining quantities decrement and
//! close fulfillment orders, every write moves the order's `updatedAt`, refunds lower current
//! quantities and totals — and answers refusals with the `userErrors` messages recorded from the
//! live API (`captures/orders/fulfillment-create-*.json`, `orderMarkAsPaid` for an unknown order).
//!
//! Amounts are integer cents in the shop's currency; a presentment currency converts at the
//! order's fixed rate. Times are Unix seconds of the simulated wall clock.

use serde_json::Value as Json;

use crate::inventory::UserErr;
use crate::store::{GID_LOCATION, GID_VARIANT, StoreData};

pub(crate) const GID_ORDER: &str = "gid://shopify/Order/";
pub(crate) const GID_LINE: &str = "gid://shopify/LineItem/";
pub(crate) const GID_FO: &str = "gid://shopify/FulfillmentOrder/";
pub(crate) const GID_FO_LINE: &str = "gid://shopify/FulfillmentOrderLineItem/";
pub(crate) const GID_FULFILLMENT: &str = "gid://shopify/Fulfillment/";
pub(crate) const GID_FULFILLMENT_LINE: &str = "gid://shopify/FulfillmentLineItem/";
pub(crate) const GID_TRANSACTION: &str = "gid://shopify/OrderTransaction/";
pub(crate) const GID_REFUND: &str = "gid://shopify/Refund/";
pub(crate) const GID_REFUND_LINE: &str = "gid://shopify/RefundLineItem/";
pub(crate) const GID_CUSTOMER: &str = "gid://shopify/Customer/";
pub(crate) const GID_COMPANY: &str = "gid://shopify/Company/";
pub(crate) const GID_COMPANY_LOCATION: &str = "gid://shopify/CompanyLocation/";
pub(crate) const GID_ADDRESS: &str = "gid://shopify/MailingAddress/";
pub(crate) const GID_PAYOUT: &str = "gid://shopify/ShopifyPaymentsPayout/";
pub(crate) const GID_BALANCE: &str = "gid://shopify/ShopifyPaymentsBalanceTransaction/";
pub(crate) const GID_ACCOUNT: &str = "gid://shopify/ShopifyPaymentsAccount/1";

// ------------------------------------------------------------------------------ values

/// A decimal amount as Shopify writes it: no trailing zeros beyond one fraction digit
/// (`1250` cents → `"12.5"`, `1200` → `"12.0"`, `1299` → `"12.99"`).
pub(crate) fn decimal(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let c = cents.unsigned_abs();
    let (whole, frac) = (c / 100, c % 100);
    if frac % 10 == 0 {
        format!("{sign}{whole}.{}", frac / 10)
    } else {
        format!("{sign}{whole}.{frac:02}")
    }
}

/// Cents of a decimal text with at most two fraction digits (`"12.5"`, `"3"`, `"0.99"`).
pub fn parse_cents(text: &str) -> Option<i64> {
    let t = text.trim();
    let (neg, t) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t),
    };
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    if whole.is_empty() || frac.len() > 2 || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let frac = format!("{frac:0<2}");
    let v = whole.parse::<i64>().ok()? * 100 + frac.parse::<i64>().ok()?;
    Some(if neg { -v } else { v })
}

/// Unix seconds of an RFC 3339 date-time (`2026-05-01T10:00:00Z`, `…+02:00`, fractions ignored)
/// or a date (`2026-05-01`, midnight UTC), as Shopify's search syntax accepts them.
pub fn parse_time(text: &str) -> Option<i64> {
    let t = text.trim();
    let b = t.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let s = t.get(r)?;
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let days = days_from_civil(y, m, d);
    if b.len() == 10 {
        return Some(days * 86_400);
    }
    if !matches!(b[10], b'T' | b't' | b' ') || b.len() < 19 || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut rest = &t[19..];
    if let Some(r) = rest.strip_prefix('.') {
        rest = r.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    let offset = match rest {
        "" | "Z" | "z" => 0,
        r if (r.starts_with('+') || r.starts_with('-')) && r.len() == 6 && &r[3..4] == ":" => {
            let oh: i64 = r[1..3].parse().ok()?;
            let om: i64 = r[4..6].parse().ok()?;
            let o = oh * 3600 + om * 60;
            if r.starts_with('+') { o } else { -o }
        }
        _ => return None,
    };
    Some(days * 86_400 + h * 3600 + mi * 60 + s - offset)
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

// ------------------------------------------------------------------------------ seeds

/// A postal address of a seeded order.
#[derive(Debug, Clone, Default)]
pub struct AddressSeed {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub company: Option<String>,
    pub address1: Option<String>,
    pub address2: Option<String>,
    pub city: Option<String>,
    pub province_code: Option<String>,
    pub zip: Option<String>,
    pub country_code: Option<String>,
    pub phone: Option<String>,
}

/// The customer of a seeded order.
#[derive(Debug, Clone, Default)]
pub struct CustomerSeed {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// One line of a seeded order.
#[derive(Debug, Clone)]
pub struct LineSeed {
    pub sku: Option<String>,
    pub title: String,
    pub variant_title: Option<String>,
    /// A variant GID of this store (`add_product`); another value leaves `variant` null.
    pub variant_id: Option<String>,
    pub quantity: i64,
    /// Unit price in the shop's currency, e.g. `"12.50"`.
    pub unit_price: String,
    /// Discount on the whole line, e.g. `"1.00"`.
    pub discount: String,
    pub taxable: bool,
    pub requires_shipping: bool,
    pub gift_card: bool,
}

impl LineSeed {
    /// `quantity` × a `unit_price` line with SKU `sku`, taxable, shipped.
    pub fn new(sku: &str, quantity: i64, unit_price: &str) -> Self {
        LineSeed {
            sku: Some(sku.to_string()),
            title: format!("Item {sku}"),
            variant_title: None,
            variant_id: None,
            quantity,
            unit_price: unit_price.to_string(),
            discount: "0.00".into(),
            taxable: true,
            requires_shipping: true,
            gift_card: false,
        }
    }
}

/// A shipping charge of a seeded order.
#[derive(Debug, Clone)]
pub struct ShippingLineSeed {
    pub title: String,
    pub code: Option<String>,
    pub price: String,
}

/// A payment transaction of a seeded order.
#[derive(Debug, Clone)]
pub struct TransactionSeed {
    pub kind: String,
    pub status: String,
    pub gateway: String,
    pub amount: String,
}

/// An order to add with [`crate::StoreHandle::add_order`]. `Default` is a paid, open, unfulfilled
/// EUR order without lines; [`OrderSeed::with_lines`] gives one with `n` lines.
#[derive(Debug, Clone)]
pub struct OrderSeed {
    /// `#<number>` by default (numbers from 1001).
    pub name: Option<String>,
    /// RFC 3339; default: now.
    pub created_at: Option<String>,
    /// RFC 3339; default: the creation time.
    pub updated_at: Option<String>,
    pub closed: bool,
    pub cancelled: bool,
    pub test: bool,
    pub financial_status: Option<String>,
    pub currency: String,
    /// Customer currency and its rate (amount × rate); `None` = the shop's currency.
    pub presentment: Option<(String, f64)>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub po_number: Option<String>,
    pub note: Option<String>,
    pub tags: Vec<String>,
    pub taxes_included: bool,
    /// Tax of the whole order, e.g. `"3.99"`.
    pub tax: String,
    pub custom_attributes: Vec<(String, String)>,
    pub customer: Option<CustomerSeed>,
    /// B2B buyer: company and company-location names (an existing company or location of that
    /// name is the one, else it is made).
    pub company: Option<(String, String)>,
    pub billing_address: Option<AddressSeed>,
    pub shipping_address: Option<AddressSeed>,
    pub lines: Vec<LineSeed>,
    pub shipping_lines: Vec<ShippingLineSeed>,
    /// `None`: one successful `SALE` of the order's total through `manual`.
    pub transactions: Option<Vec<TransactionSeed>>,
    /// Location GID the fulfillment orders are assigned to; default: the store's first location.
    pub location: Option<String>,
    /// How many fulfillment orders the shipped lines are spread over (round robin; at least 1).
    pub fulfillment_orders: usize,
}

impl Default for OrderSeed {
    fn default() -> Self {
        OrderSeed {
            name: None,
            created_at: None,
            updated_at: None,
            closed: false,
            cancelled: false,
            test: false,
            financial_status: Some("PAID".into()),
            currency: "EUR".into(),
            presentment: None,
            email: None,
            phone: None,
            po_number: None,
            note: None,
            tags: Vec::new(),
            taxes_included: true,
            tax: "0.00".into(),
            custom_attributes: Vec::new(),
            customer: None,
            company: None,
            billing_address: None,
            shipping_address: None,
            lines: Vec::new(),
            shipping_lines: Vec::new(),
            transactions: None,
            location: None,
            fulfillment_orders: 1,
        }
    }
}

impl OrderSeed {
    /// An order of `n` lines (`SKU-0001` …, quantity 2, `10.00` each), a customer, both addresses
    /// and one shipping line.
    pub fn with_lines(n: usize) -> Self {
        let address = AddressSeed {
            first_name: Some("Ada".into()),
            last_name: Some("Lovelace".into()),
            address1: Some("1 Analytical Way".into()),
            city: Some("London".into()),
            zip: Some("N1 9GU".into()),
            country_code: Some("GB".into()),
            ..Default::default()
        };
        OrderSeed {
            email: Some("ada@example.com".into()),
            customer: Some(CustomerSeed {
                first_name: Some("Ada".into()),
                last_name: Some("Lovelace".into()),
                email: Some("ada@example.com".into()),
                phone: Some("+441234567890".into()),
            }),
            billing_address: Some(address.clone()),
            shipping_address: Some(address),
            lines: (1..=n)
                .map(|i| LineSeed::new(&format!("SKU-{i:04}"), 2, "10.00"))
                .collect(),
            shipping_lines: vec![ShippingLineSeed {
                title: "Standard".into(),
                code: Some("STANDARD".into()),
                price: "4.90".into(),
            }],
            ..Default::default()
        }
    }

    pub fn updated_at(mut self, rfc3339: &str) -> Self {
        self.updated_at = Some(rfc3339.to_string());
        self
    }

    pub fn created_at(mut self, rfc3339: &str) -> Self {
        self.created_at = Some(rfc3339.to_string());
        self
    }
}

/// The GIDs of an order added with [`crate::StoreHandle::add_order`].
#[derive(Debug, Clone)]
pub struct SeededOrder {
    pub id: String,
    pub name: String,
    pub line_item_ids: Vec<String>,
    /// The first fulfillment order.
    pub fulfillment_order_id: String,
    /// Every fulfillment order.
    pub fulfillment_order_ids: Vec<String>,
    /// The fulfillment-order lines, in order-line order.
    pub fulfillment_order_line_ids: Vec<String>,
}

/// A payout to add with [`crate::StoreHandle::add_payout`].
#[derive(Debug, Clone)]
pub struct PayoutSeed {
    /// RFC 3339.
    pub issued_at: String,
    pub status: String,
    pub net: String,
    pub charges_gross: String,
    pub charges_fee: String,
}

/// A balance transaction to add with [`crate::StoreHandle::add_balance_transaction`].
#[derive(Debug, Clone)]
pub struct BalanceTransactionSeed {
    /// RFC 3339.
    pub processed_at: String,
    pub transaction_type: String,
    pub amount: String,
    pub fee: String,
    /// An order GID of this store.
    pub order_id: Option<String>,
    /// A payout GID of this store.
    pub payout_id: Option<String>,
}

/// A fulfillment as the store holds it, for tests.
#[derive(Debug, Clone, PartialEq)]
pub struct FulfillmentRecord {
    pub id: String,
    pub order_id: String,
    /// `(order line GID, quantity)`.
    pub lines: Vec<(String, i64)>,
    pub tracking_number: Option<String>,
    pub tracking_company: Option<String>,
    pub notify_customer: bool,
    /// Simulator-wide number of the HTTP request that created it.
    pub request_number: u64,
}

/// One applied order write (`orderUpdate`, `orderClose`), for tests.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderWrite {
    pub mutation: &'static str,
    pub order_id: String,
    pub request_number: u64,
}

// ------------------------------------------------------------------------------ records

#[derive(Debug, Clone, Default)]
pub(crate) struct AddressRec {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub company: Option<String>,
    pub address1: Option<String>,
    pub address2: Option<String>,
    pub city: Option<String>,
    pub province_code: Option<String>,
    pub zip: Option<String>,
    pub country_code: Option<String>,
    pub phone: Option<String>,
}

impl From<AddressSeed> for AddressRec {
    fn from(a: AddressSeed) -> Self {
        AddressRec {
            first_name: a.first_name,
            last_name: a.last_name,
            company: a.company,
            address1: a.address1,
            address2: a.address2,
            city: a.city,
            province_code: a.province_code,
            zip: a.zip,
            country_code: a.country_code,
            phone: a.phone,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct OrderRec {
    pub name: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub processed_at: i64,
    pub closed_at: Option<i64>,
    pub cancelled_at: Option<i64>,
    pub test: bool,
    pub financial_status: Option<String>,
    pub currency: String,
    pub presentment_currency: String,
    pub rate: f64,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub po_number: Option<String>,
    pub note: Option<String>,
    pub tags: Vec<String>,
    pub taxes_included: bool,
    pub tax_cents: i64,
    pub custom_attributes: Vec<(String, Option<String>)>,
    pub customer: Option<usize>,
    pub company: Option<(usize, usize)>,
    pub billing: Option<AddressRec>,
    pub shipping: Option<AddressRec>,
    pub lines: Vec<usize>,
    pub shipping_lines: Vec<ShippingRec>,
    pub transactions: Vec<usize>,
    pub refunds: Vec<usize>,
    pub fos: Vec<usize>,
    pub fulfillments: Vec<usize>,
}

#[derive(Debug, Clone)]
pub(crate) struct LineRec {
    pub order: usize,
    pub sku: Option<String>,
    pub title: String,
    pub variant_title: Option<String>,
    pub variant: Option<usize>,
    pub quantity: i64,
    pub refunded: i64,
    pub unit_cents: i64,
    pub discount_cents: i64,
    pub taxable: bool,
    pub requires_shipping: bool,
    pub gift_card: bool,
    /// The fulfillment-order lines of this line.
    pub fo_lines: Vec<usize>,
}

#[derive(Debug, Clone)]
pub(crate) struct ShippingRec {
    pub title: String,
    pub code: Option<String>,
    pub price_cents: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FoStatus {
    Open,
    InProgress,
    Closed,
}

impl FoStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            FoStatus::Open => "OPEN",
            FoStatus::InProgress => "IN_PROGRESS",
            FoStatus::Closed => "CLOSED",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct FoRec {
    pub order: usize,
    pub location: usize,
    pub status: FoStatus,
    pub lines: Vec<usize>,
    pub updated_at: i64,
}

#[derive(Debug, Clone)]
pub(crate) struct FoLineRec {
    pub fo: usize,
    pub line: usize,
    pub total: i64,
    pub remaining: i64,
}

#[derive(Debug, Clone)]
pub(crate) struct TrackingRec {
    pub number: Option<String>,
    pub company: Option<String>,
    pub url: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct FulfillmentRec {
    pub order: usize,
    pub created_at: i64,
    pub tracking: Vec<TrackingRec>,
    pub lines: Vec<usize>,
    pub notify: bool,
    pub request_number: u64,
}

#[derive(Debug, Clone)]
pub(crate) struct FulfillmentLineRec {
    pub line: usize,
    pub quantity: i64,
}

#[derive(Debug, Clone)]
pub(crate) struct TransactionRec {
    pub kind: String,
    pub status: String,
    pub gateway: Option<String>,
    pub amount_cents: i64,
    pub processed_at: i64,
    pub parent: Option<usize>,
    pub order: usize,
}

#[derive(Debug, Clone)]
pub(crate) struct RefundRec {
    pub created_at: i64,
    pub lines: Vec<usize>,
}

#[derive(Debug, Clone)]
pub(crate) struct RefundLineRec {
    pub line: usize,
    pub quantity: i64,
    pub restock_type: &'static str,
    pub subtotal_cents: i64,
}

#[derive(Debug, Clone)]
pub(crate) struct CustomerRec {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct PayoutRec {
    pub issued_at: i64,
    pub status: String,
    pub net_cents: i64,
    pub charges_gross_cents: i64,
    pub charges_fee_cents: i64,
}

#[derive(Debug, Clone)]
pub(crate) struct BalanceRec {
    pub processed_at: i64,
    pub transaction_type: String,
    pub amount_cents: i64,
    pub fee_cents: i64,
    pub order: Option<usize>,
    pub payout: Option<usize>,
}

/// Everything order-shaped in one store.
#[derive(Debug, Clone, Default)]
pub(crate) struct OrderBook {
    pub orders: Vec<OrderRec>,
    pub lines: Vec<LineRec>,
    pub fos: Vec<FoRec>,
    pub fo_lines: Vec<FoLineRec>,
    pub fulfillments: Vec<FulfillmentRec>,
    pub fulfillment_lines: Vec<FulfillmentLineRec>,
    pub transactions: Vec<TransactionRec>,
    pub refunds: Vec<RefundRec>,
    pub refund_lines: Vec<RefundLineRec>,
    pub customers: Vec<CustomerRec>,
    /// Company names; company locations as (company, name).
    pub companies: Vec<String>,
    pub company_locations: Vec<(usize, String)>,
    pub payouts: Vec<PayoutRec>,
    pub balance: Vec<BalanceRec>,
    /// Whether the store has Shopify Payments (`shopifyPaymentsAccount` is null otherwise).
    pub payments_account: bool,
    pub writes: Vec<OrderWrite>,
}

impl OrderBook {
    /// Units of an order line fulfilled so far.
    pub(crate) fn fulfilled(&self, line: usize) -> i64 {
        self.lines[line]
            .fo_lines
            .iter()
            .map(|&fl| &self.fo_lines[fl])
            .map(|l| l.total - l.remaining)
            .sum()
    }

    pub(crate) fn current_quantity(&self, line: usize) -> i64 {
        let l = &self.lines[line];
        l.quantity - l.refunded
    }

    pub(crate) fn unfulfilled(&self, line: usize) -> i64 {
        (self.current_quantity(line) - self.fulfilled(line)).max(0)
    }

    /// `displayFulfillmentStatus`.
    pub(crate) fn fulfillment_status(&self, order: usize) -> &'static str {
        let o = &self.orders[order];
        let (mut any_done, mut all_done, mut any) = (false, true, false);
        for &l in &o.lines {
            if !self.lines[l].requires_shipping || self.current_quantity(l) == 0 {
                continue;
            }
            any = true;
            let done = self.fulfilled(l);
            any_done |= done > 0;
            all_done &= done >= self.current_quantity(l);
        }
        match (any, all_done, any_done) {
            (true, true, _) => "FULFILLED",
            (true, false, true) => "PARTIALLY_FULFILLED",
            _ => "UNFULFILLED",
        }
    }

    pub(crate) fn subtotal_cents(&self, order: usize) -> i64 {
        self.orders[order]
            .lines
            .iter()
            .map(|&l| {
                let r = &self.lines[l];
                r.quantity * r.unit_cents - r.discount_cents
            })
            .sum()
    }

    pub(crate) fn discounts_cents(&self, order: usize) -> i64 {
        self.orders[order]
            .lines
            .iter()
            .map(|&l| self.lines[l].discount_cents)
            .sum()
    }

    pub(crate) fn shipping_cents(&self, order: usize) -> i64 {
        self.orders[order]
            .shipping_lines
            .iter()
            .map(|s| s.price_cents)
            .sum()
    }

    pub(crate) fn total_cents(&self, order: usize) -> i64 {
        let o = &self.orders[order];
        let tax = if o.taxes_included { 0 } else { o.tax_cents };
        self.subtotal_cents(order) + self.shipping_cents(order) + tax
    }

    pub(crate) fn refunded_cents(&self, order: usize) -> i64 {
        self.orders[order]
            .refunds
            .iter()
            .flat_map(|&r| self.refunds[r].lines.iter())
            .map(|&rl| self.refund_lines[rl].subtotal_cents)
            .sum()
    }

    /// Money received: successful sales and captures.
    pub(crate) fn received_cents(&self, order: usize) -> i64 {
        self.orders[order]
            .transactions
            .iter()
            .map(|&t| &self.transactions[t])
            .filter(|t| t.status == "SUCCESS" && matches!(t.kind.as_str(), "SALE" | "CAPTURE"))
            .map(|t| t.amount_cents)
            .sum()
    }

    /// The value of a `MoneyBag` field of an order, in shop cents.
    pub(crate) fn order_money(&self, order: usize, field: &str) -> Option<i64> {
        let total = self.total_cents(order);
        let refunded = self.refunded_cents(order);
        Some(match field {
            "totalPriceSet" => total,
            "currentTotalPriceSet" => total - refunded,
            "subtotalPriceSet" => self.subtotal_cents(order),
            "currentSubtotalPriceSet" => self.subtotal_cents(order) - refunded,
            "totalShippingPriceSet" | "currentShippingPriceSet" => self.shipping_cents(order),
            "totalTaxSet" | "currentTotalTaxSet" => self.orders[order].tax_cents,
            "totalDiscountsSet" | "currentTotalDiscountsSet" => self.discounts_cents(order),
            "totalOutstandingSet" => (total - refunded - self.received_cents(order)).max(0),
            "totalRefundedSet" => refunded,
            "totalReceivedSet" => self.received_cents(order),
            "netPaymentSet" => self.received_cents(order) - refunded,
            _ => return None,
        })
    }
}

// ------------------------------------------------------------------------------ seeding

impl StoreData {
    /// Adds an order; `now` is the simulated wall clock (Unix seconds).
    pub(crate) fn add_order(&mut self, seed: OrderSeed, now: i64) -> SeededOrder {
        let location = match seed.location.as_deref() {
            Some(l) => self
                .parse_gid(GID_LOCATION, l)
                .filter(|&i| i < self.locations.len())
                .unwrap_or_else(|| panic!("unknown location {l}")),
            None if self.locations.is_empty() => self.add_location("Shop location"),
            None => 0,
        };
        let created = seed
            .created_at
            .as_deref()
            .map(|t| parse_time(t).unwrap_or_else(|| panic!("bad created_at {t}")))
            .unwrap_or(now);
        let updated = seed
            .updated_at
            .as_deref()
            .map(|t| parse_time(t).unwrap_or_else(|| panic!("bad updated_at {t}")))
            .unwrap_or(created);
        let cents = |t: &str| parse_cents(t).unwrap_or_else(|| panic!("bad amount {t}"));
        let oi = self.book.orders.len();
        let customer = seed.customer.map(|c| {
            self.book.customers.push(CustomerRec {
                first_name: c.first_name,
                last_name: c.last_name,
                email: c.email,
                phone: c.phone,
            });
            self.book.customers.len() - 1
        });
        // A company (and location) of that name already in the store is the buyer: orders of one
        // company, and orders of a company seeded with its contacts, share it.
        let company = seed.company.map(|(company, location)| {
            let c = match self.book.companies.iter().position(|n| *n == company) {
                Some(c) => c,
                None => {
                    self.book.companies.push(company);
                    self.book.companies.len() - 1
                }
            };
            let l = match (self.book.company_locations.iter())
                .position(|(lc, name)| *lc == c && *name == location)
            {
                Some(l) => l,
                None => {
                    self.book.company_locations.push((c, location));
                    self.book.company_locations.len() - 1
                }
            };
            (c, l)
        });
        let (presentment_currency, rate) = seed
            .presentment
            .clone()
            .unwrap_or_else(|| (seed.currency.clone(), 1.0));
        self.book.orders.push(OrderRec {
            name: seed
                .name
                .unwrap_or_else(|| format!("#{}", 1001 + oi as u64)),
            created_at: created,
            updated_at: updated,
            processed_at: created,
            closed_at: seed.closed.then_some(updated),
            cancelled_at: seed.cancelled.then_some(updated),
            test: seed.test,
            financial_status: seed.financial_status,
            currency: seed.currency,
            presentment_currency,
            rate,
            email: seed.email,
            phone: seed.phone,
            po_number: seed.po_number,
            note: seed.note,
            tags: seed.tags,
            taxes_included: seed.taxes_included,
            tax_cents: cents(&seed.tax),
            custom_attributes: seed
                .custom_attributes
                .into_iter()
                .map(|(k, v)| (k, Some(v)))
                .collect(),
            customer,
            company,
            billing: seed.billing_address.map(Into::into),
            shipping: seed.shipping_address.map(Into::into),
            lines: Vec::new(),
            shipping_lines: seed
                .shipping_lines
                .iter()
                .map(|s| ShippingRec {
                    title: s.title.clone(),
                    code: s.code.clone(),
                    price_cents: cents(&s.price),
                })
                .collect(),
            transactions: Vec::new(),
            refunds: Vec::new(),
            fos: Vec::new(),
            fulfillments: Vec::new(),
        });
        let first_fo = self.book.fos.len();
        let fo_count = seed.fulfillment_orders.max(1);
        for _ in 0..fo_count {
            let fo = self.book.fos.len();
            self.book.fos.push(FoRec {
                order: oi,
                location,
                status: FoStatus::Open,
                lines: Vec::new(),
                updated_at: created,
            });
            self.book.orders[oi].fos.push(fo);
        }
        let mut line_item_ids = Vec::new();
        let mut fo_line_ids = Vec::new();
        for (n, l) in seed.lines.into_iter().enumerate() {
            let fo = first_fo + n % fo_count;
            let li = self.book.lines.len();
            let variant = l
                .variant_id
                .as_deref()
                .and_then(|v| self.parse_gid(GID_VARIANT, v))
                .filter(|&v| v < self.variants.len());
            self.book.lines.push(LineRec {
                order: oi,
                sku: l.sku,
                title: l.title,
                variant_title: l.variant_title,
                variant,
                quantity: l.quantity,
                refunded: 0,
                unit_cents: cents(&l.unit_price),
                discount_cents: cents(&l.discount),
                taxable: l.taxable,
                requires_shipping: l.requires_shipping,
                gift_card: l.gift_card,
                fo_lines: Vec::new(),
            });
            self.book.orders[oi].lines.push(li);
            line_item_ids.push(self.gid(GID_LINE, li));
            if l.requires_shipping {
                let fl = self.book.fo_lines.len();
                self.book.fo_lines.push(FoLineRec {
                    fo,
                    line: li,
                    total: l.quantity,
                    remaining: l.quantity,
                });
                self.book.fos[fo].lines.push(fl);
                self.book.lines[li].fo_lines.push(fl);
                fo_line_ids.push(self.gid(GID_FO_LINE, fl));
            }
        }
        for fo in first_fo..first_fo + fo_count {
            if seed.cancelled || self.book.fos[fo].lines.is_empty() {
                self.book.fos[fo].status = FoStatus::Closed;
            }
        }
        let transactions = seed.transactions.unwrap_or_else(|| {
            vec![TransactionSeed {
                kind: "SALE".into(),
                status: "SUCCESS".into(),
                gateway: "manual".into(),
                amount: decimal(self.book.total_cents(oi)),
            }]
        });
        for t in transactions {
            let ti = self.book.transactions.len();
            self.book.transactions.push(TransactionRec {
                kind: t.kind,
                status: t.status,
                gateway: Some(t.gateway),
                amount_cents: cents(&t.amount),
                processed_at: created,
                parent: None,
                order: oi,
            });
            self.book.orders[oi].transactions.push(ti);
        }
        SeededOrder {
            id: self.gid(GID_ORDER, oi),
            name: self.book.orders[oi].name.clone(),
            line_item_ids,
            fulfillment_order_id: self.gid(GID_FO, first_fo),
            fulfillment_order_ids: (first_fo..first_fo + fo_count)
                .map(|f| self.gid(GID_FO, f))
                .collect(),
            fulfillment_order_line_ids: fo_line_ids,
        }
    }

    /// Refunds `quantity` of each given line (no restock); the refund's subtotal is the lines'
    /// unit price × quantity. Removes the refunded units from the open fulfillment orders.
    pub(crate) fn add_refund(&mut self, order: usize, lines: &[(usize, i64)], now: i64) -> usize {
        let ri = self.book.refunds.len();
        let mut rec = RefundRec {
            created_at: now,
            lines: Vec::new(),
        };
        for &(line, qty) in lines {
            let rl = self.book.refund_lines.len();
            let unit = self.book.lines[line].unit_cents;
            self.book.refund_lines.push(RefundLineRec {
                line,
                quantity: qty,
                restock_type: "NO_RESTOCK",
                subtotal_cents: unit * qty,
            });
            rec.lines.push(rl);
            self.book.lines[line].refunded += qty;
            let mut left = qty;
            for i in self.book.lines[line].fo_lines.clone() {
                let fl = &mut self.book.fo_lines[i];
                let take = left.min(fl.remaining);
                fl.remaining -= take;
                fl.total -= take;
                left -= take;
            }
        }
        self.book.refunds.push(rec);
        let o = &mut self.book.orders[order];
        o.refunds.push(ri);
        o.updated_at = now;
        ri
    }

    /// The order index of an order GID of this store.
    pub(crate) fn order_index(&self, id: &str) -> Option<usize> {
        self.parse_gid(GID_ORDER, id)
            .filter(|&i| i < self.book.orders.len())
    }

    pub(crate) fn fulfillment_record(&self, f: usize) -> FulfillmentRecord {
        let r = &self.book.fulfillments[f];
        FulfillmentRecord {
            id: self.gid(GID_FULFILLMENT, f),
            order_id: self.gid(GID_ORDER, r.order),
            lines: r
                .lines
                .iter()
                .map(|&fl| {
                    let x = &self.book.fulfillment_lines[fl];
                    (self.gid(GID_LINE, x.line), x.quantity)
                })
                .collect(),
            tracking_number: r.tracking.first().and_then(|t| t.number.clone()),
            tracking_company: r.tracking.first().and_then(|t| t.company.clone()),
            notify_customer: r.notify,
            request_number: r.request_number,
        }
    }
}

// ------------------------------------------------------------------------------ mutations

fn field_path(parts: &[&str]) -> Option<Vec<String>> {
    Some(parts.iter().map(|s| s.to_string()).collect())
}

fn plain(field: Option<Vec<String>>, message: impl Into<String>) -> UserErr {
    UserErr {
        field,
        message: message.into(),
        code: None,
    }
}

/// The number at the end of a GID as Shopify quotes it in messages.
fn tail(gid: &str) -> String {
    gid.rsplit('/')
        .next()
        .unwrap_or(gid)
        .split('?')
        .next()
        .unwrap_or("")
        .to_string()
}

/// `fulfillmentCreate(fulfillment:)`: checks in the order the live API reports (quantities,
/// existence, one order, one location, open fulfillment orders, line existence, remaining
/// quantity), then decrements remaining quantities, closes fulfillment orders with nothing left
/// and records the fulfillment. Nothing is applied when anything is refused.
pub(crate) fn fulfillment_create(
    st: &mut StoreData,
    input: &Json,
    now: i64,
    request_number: u64,
) -> (Option<usize>, Vec<UserErr>) {
    let entries: Vec<&Json> = input
        .get("lineItemsByFulfillmentOrder")
        .and_then(|v| v.as_array())
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let top = || field_path(&["fulfillment"]);
    for (i, e) in entries.iter().enumerate() {
        let lines = e
            .get("fulfillmentOrderLineItems")
            .and_then(|v| v.as_array());
        for (j, l) in lines.into_iter().flatten().enumerate() {
            if l.get("quantity").and_then(|q| q.as_i64()).unwrap_or(0) <= 0 {
                let (i, j) = (i.to_string(), j.to_string());
                return (
                    None,
                    vec![plain(
                        field_path(&[
                            "fulfillment",
                            "lineItemsByFulfillmentOrder",
                            &i,
                            "fulfillmentOrderLineItems",
                            &j,
                            "quantity",
                        ]),
                        "Quantity must be greater than 0",
                    )],
                );
            }
        }
    }
    let mut fos = Vec::new();
    for e in &entries {
        let id = e
            .get("fulfillmentOrderId")
            .and_then(|v| v.as_str())
            .unwrap_or("");
        match st.parse_gid(GID_FO, id).filter(|&f| f < st.book.fos.len()) {
            Some(f) => fos.push(f),
            None => {
                return (
                    None,
                    vec![plain(top(), "Fulfillment order does not exist.")],
                );
            }
        }
    }
    if fos.is_empty() {
        return (
            None,
            vec![plain(top(), "Fulfillment order does not exist.")],
        );
    }
    let mut orders: Vec<usize> = fos.iter().map(|&f| st.book.fos[f].order).collect();
    orders.dedup();
    if orders.len() > 1 {
        let ids: Vec<String> = orders
            .iter()
            .map(|&o| tail(&st.gid(GID_ORDER, o)))
            .collect();
        return (
            None,
            vec![plain(
                top(),
                format!(
                    "All fulfillment orders must belong to the same order. Multiple orders with ids [{}] were found.",
                    ids.join(", ")
                ),
            )],
        );
    }
    let mut locations: Vec<usize> = fos.iter().map(|&f| st.book.fos[f].location).collect();
    locations.sort_unstable();
    locations.dedup();
    if locations.len() > 1 {
        let ids: Vec<String> = locations
            .iter()
            .map(|&l| tail(&st.gid(GID_LOCATION, l)))
            .collect();
        return (
            None,
            vec![plain(
                top(),
                format!(
                    "All fulfillment orders must be assigned to a single location. Multiple locations with ids [{}] were found.",
                    ids.join(", ")
                ),
            )],
        );
    }
    for &f in &fos {
        if st.book.fos[f].status == FoStatus::Closed {
            return (
                None,
                vec![plain(
                    top(),
                    format!(
                        "Fulfillment order {} has an unfulfillable status= closed.",
                        tail(&st.gid(GID_FO, f))
                    ),
                )],
            );
        }
    }
    // (fo line, quantity) to take.
    let mut take: Vec<(usize, i64)> = Vec::new();
    for (e, &f) in entries.iter().zip(&fos) {
        match e
            .get("fulfillmentOrderLineItems")
            .and_then(|v| v.as_array())
        {
            None => {
                for &fl in &st.book.fos[f].lines {
                    let r = st.book.fo_lines[fl].remaining;
                    if r > 0 {
                        take.push((fl, r));
                    }
                }
            }
            Some(lines) => {
                for l in lines {
                    let id = l.get("id").and_then(|v| v.as_str()).unwrap_or("");
                    let fl = st
                        .parse_gid(GID_FO_LINE, id)
                        .filter(|&x| x < st.book.fo_lines.len() && st.book.fo_lines[x].fo == f);
                    let Some(fl) = fl else {
                        return (
                            None,
                            vec![plain(top(), "Fulfillment order line item does not exist.")],
                        );
                    };
                    take.push((fl, l.get("quantity").and_then(|q| q.as_i64()).unwrap_or(0)));
                }
            }
        }
    }
    let mut wanted: std::collections::HashMap<usize, i64> = Default::default();
    for &(fl, q) in &take {
        *wanted.entry(fl).or_default() += q;
    }
    if take.is_empty()
        || wanted
            .iter()
            .any(|(&fl, &q)| q > st.book.fo_lines[fl].remaining)
    {
        return (
            None,
            vec![plain(
                top(),
                "Invalid fulfillment order line item quantity requested.",
            )],
        );
    }

    let order = orders[0];
    let fi = st.book.fulfillments.len();
    let mut lines = Vec::new();
    for (fl, q) in take {
        st.book.fo_lines[fl].remaining -= q;
        let line = st.book.fo_lines[fl].line;
        let x = st.book.fulfillment_lines.len();
        st.book
            .fulfillment_lines
            .push(FulfillmentLineRec { line, quantity: q });
        lines.push(x);
    }
    for &f in &fos {
        let done = st.book.fos[f]
            .lines
            .iter()
            .all(|&fl| st.book.fo_lines[fl].remaining == 0);
        let fo = &mut st.book.fos[f];
        fo.status = if done {
            FoStatus::Closed
        } else {
            FoStatus::InProgress
        };
        fo.updated_at = now;
    }
    let tracking = input
        .get("trackingInfo")
        .filter(|t| t.is_object())
        .map(|t| {
            let s = |k: &str| t.get(k).and_then(|v| v.as_str()).map(str::to_string);
            let first = |k: &str| {
                t.get(k)
                    .and_then(|v| v.as_array())
                    .and_then(|a| a.first())
                    .and_then(|v| v.as_str())
                    .map(str::to_string)
            };
            vec![TrackingRec {
                number: s("number").or_else(|| first("numbers")),
                company: s("company"),
                url: s("url").or_else(|| first("urls")),
            }]
        })
        .unwrap_or_default();
    st.book.fulfillments.push(FulfillmentRec {
        order,
        created_at: now,
        tracking,
        lines,
        notify: input
            .get("notifyCustomer")
            .and_then(|v| v.as_bool())
            .unwrap_or(false),
        request_number,
    });
    let o = &mut st.book.orders[order];
    o.fulfillments.push(fi);
    o.updated_at = now;
    (Some(fi), Vec::new())
}

/// Fields of `OrderInput` the simulator applies (others are accepted and ignored).
const ORDER_INPUT_UPDATES: &[&str] = &[
    "email",
    "phone",
    "note",
    "tags",
    "poNumber",
    "customAttributes",
    "shippingAddress",
    "metafields",
    "localizedFields",
];

/// `orderUpdate(input:)`.
pub(crate) fn order_update(
    st: &mut StoreData,
    input: &Json,
    now: i64,
    request_number: u64,
) -> (Option<usize>, Vec<UserErr>) {
    let id = input.get("id").and_then(|v| v.as_str()).unwrap_or("");
    let Some(o) = st.order_index(id) else {
        return (
            None,
            vec![plain(field_path(&["id"]), "Order does not exist")],
        );
    };
    let Some(obj) = input.as_object() else {
        return (
            Some(o),
            vec![plain(None, "No valid update parameters have been provided")],
        );
    };
    if !obj
        .keys()
        .any(|k| ORDER_INPUT_UPDATES.contains(&k.as_str()))
    {
        return (
            Some(o),
            vec![plain(None, "No valid update parameters have been provided")],
        );
    }
    let text = |k: &str| obj.get(k).and_then(|v| v.as_str()).map(str::to_string);
    let rec = &mut st.book.orders[o];
    if obj.contains_key("email") {
        rec.email = text("email");
    }
    if obj.contains_key("phone") {
        rec.phone = text("phone");
    }
    if obj.contains_key("note") {
        rec.note = text("note");
    }
    if obj.contains_key("poNumber") {
        rec.po_number = text("poNumber");
    }
    if let Some(tags) = obj.get("tags").and_then(|v| v.as_array()) {
        rec.tags = tags
            .iter()
            .filter_map(|t| t.as_str().map(str::to_string))
            .collect();
    }
    if let Some(attrs) = obj.get("customAttributes").and_then(|v| v.as_array()) {
        rec.custom_attributes = attrs
            .iter()
            .map(|a| {
                (
                    a.get("key")
                        .and_then(|v| v.as_str())
                        .unwrap_or("")
                        .to_string(),
                    a.get("value").and_then(|v| v.as_str()).map(str::to_string),
                )
            })
            .collect();
    }
    rec.updated_at = now;
    let order_id = st.gid(GID_ORDER, o);
    st.book.writes.push(OrderWrite {
        mutation: "orderUpdate",
        order_id,
        request_number,
    });
    (Some(o), Vec::new())
}

/// `orderClose(input:)`: closing a closed order again changes nothing and reports no error.
pub(crate) fn order_close(
    st: &mut StoreData,
    input: &Json,
    now: i64,
    request_number: u64,
) -> (Option<usize>, Vec<UserErr>) {
    let id = input.get("id").and_then(|v| v.as_str()).unwrap_or("");
    let Some(o) = st.order_index(id) else {
        return (
            None,
            vec![plain(field_path(&["id"]), "Order does not exist")],
        );
    };
    let rec = &mut st.book.orders[o];
    if rec.closed_at.is_none() {
        rec.closed_at = Some(now);
        rec.updated_at = now;
    }
    let order_id = st.gid(GID_ORDER, o);
    st.book.writes.push(OrderWrite {
        mutation: "orderClose",
        order_id,
        request_number,
    });
    (Some(o), Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_written_like_shopify() {
        assert_eq!(decimal(1250), "12.5");
        assert_eq!(decimal(1200), "12.0");
        assert_eq!(decimal(1299), "12.99");
        assert_eq!(decimal(5), "0.05");
        assert_eq!(decimal(-350), "-3.5");
        assert_eq!(parse_cents("12.5"), Some(1250));
        assert_eq!(parse_cents("3"), Some(300));
        assert_eq!(parse_cents("0.99"), Some(99));
        assert_eq!(parse_cents("1.999"), None);
        assert_eq!(parse_cents("x"), None);
    }

    #[test]
    fn times_parse_like_the_search_syntax() {
        assert_eq!(parse_time("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_time("2026-06-25T01:33:55Z"), Some(1_782_351_235));
        assert_eq!(parse_time("2026-06-25T03:33:55+02:00"), Some(1_782_351_235));
        assert_eq!(parse_time("2026-06-25T01:33:55.123Z"), Some(1_782_351_235));
        assert_eq!(parse_time("2026-06-25"), Some(1_782_345_600));
        assert_eq!(parse_time("yesterday"), None);
        assert_eq!(parse_time("2026-13-01"), None);
    }
}
