//! Orders vocabulary: what the order, shipment and payment tasks read from and write to Shopify,
//! and the port ([`ShopifyOrdersApi`]) they reach it through.
//!
//! Why these shapes: the orders task stages a whole Shopify order in one read (lines, customer,
//! B2B company, addresses, shipping, transactions, refunds, fulfillment orders), so the types carry
//! everything the reference connector's import needs and nothing it does not. Money is a decimal
//! **string** with its currency ([`Money`]) exactly as Shopify sends it — no amount ever passes
//! through `f64` on its way to a BC document. Every id is an opaque string (a GID); nothing here
//! parses digits out of one.
//!
//! Writes and what makes them safe to repeat (none of the three mutations accepts Shopify's
//! `@idempotent` directive in the 2026-04 and 2026-07 schemas):
//! * `fulfillmentCreate` is **probed**, not replayed: the client sends it at most once per call; an
//!   answer lost after the request may have reached Shopify comes back as a retryable error, and the
//!   caller looks for the fulfillment ([`ShopifyOrdersApi::order_fulfillments`],
//!   [`ShopifyFulfillment::lines`] against [`FulfillmentRequest::expected_lines`]) before it sends
//!   again. Shopify itself refuses a second fulfillment of quantities already fulfilled.
//! * `orderUpdate` with `customAttributes` sets the whole list to a given value, and `orderClose`
//!   closes a closed order again: resending either changes nothing.

use crate::error::SyncError;
use crate::inventory::UserError;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A Shopify `Decimal` amount as Shopify wrote it (`"12.5"`, `"0.0"`) and its ISO currency code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Money {
    pub amount: String,
    pub currency: String,
}

/// An amount in the shop's currency and in the currency the customer paid in (`MoneyBag`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MoneyPair {
    pub shop: Money,
    pub presentment: Money,
}

/// One page of a paged read: the items and the cursor to pass as `after` for the next page
/// (`None` on the last page).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// A Shopify order with everything the import, the shipment sync and the archiving need.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShopifyOrder {
    pub id: String,
    /// The order's display name, e.g. `#1001` (the BC document's `externalDocumentNumber`).
    pub name: String,
    pub created_at: String,
    pub updated_at: String,
    pub processed_at: String,
    pub closed: bool,
    pub closed_at: Option<String>,
    pub cancelled_at: Option<String>,
    pub cancel_reason: Option<String>,
    pub test: bool,
    /// `displayFinancialStatus` (PAID, PENDING, …); Shopify may leave it null.
    pub financial_status: Option<String>,
    /// `displayFulfillmentStatus` (UNFULFILLED, PARTIALLY_FULFILLED, FULFILLED, …).
    pub fulfillment_status: String,
    /// The shop's currency (`currencyCode`).
    pub currency: String,
    /// The currency the customer paid in.
    pub presentment_currency: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub po_number: Option<String>,
    pub note: Option<String>,
    pub tags: Vec<String>,
    pub taxes_included: bool,
    /// `customAttributes` (the reference writes its "BC Doc. No." here).
    pub custom_attributes: Vec<OrderAttribute>,
    pub customer: Option<OrderCustomer>,
    /// Set on B2B orders: the company and company location that bought.
    pub company: Option<PurchasingCompany>,
    pub billing_address: Option<Address>,
    pub shipping_address: Option<Address>,
    pub totals: OrderTotals,
    pub line_items: Vec<OrderLine>,
    pub shipping_lines: Vec<ShippingLine>,
    pub transactions: Vec<OrderTransaction>,
    pub refunds: Vec<Refund>,
    pub fulfillment_orders: Vec<FulfillmentOrder>,
    /// Parts Shopify had more of than the client reads for one order (e.g. `"transactions"`),
    /// empty in practice. The order is otherwise whole; a task should flag it rather than import a
    /// partial picture silently.
    #[serde(default)]
    pub incomplete: Vec<String>,
}

/// Key/value pair of an order's `customAttributes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderAttribute {
    pub key: String,
    pub value: Option<String>,
}

/// The attribute key the reference connector writes the BC document number under.
pub const BC_DOCUMENT_ATTRIBUTE: &str = "BC Doc. No.";

impl ShopifyOrder {
    /// The order's custom attributes with `key` set to `value` (replaced in place if present,
    /// appended otherwise): the list to send back through
    /// [`ShopifyOrdersApi::order_set_custom_attributes`], which replaces the whole list.
    pub fn attributes_with(&self, key: &str, value: &str) -> Vec<OrderAttribute> {
        let mut out = self.custom_attributes.clone();
        match out.iter_mut().find(|a| a.key == key) {
            Some(a) => a.value = Some(value.to_string()),
            None => out.push(OrderAttribute {
                key: key.to_string(),
                value: Some(value.to_string()),
            }),
        }
        out
    }

    /// The value of custom attribute `key`, if set.
    pub fn attribute(&self, key: &str) -> Option<&str> {
        self.custom_attributes
            .iter()
            .find(|a| a.key == key)
            .and_then(|a| a.value.as_deref())
    }

    /// The order line `id`.
    pub fn line(&self, id: &str) -> Option<&OrderLine> {
        self.line_items.iter().find(|l| l.id == id)
    }

    /// The fulfillment-order line `id`, with the fulfillment order it belongs to.
    pub fn fulfillment_order_line(
        &self,
        id: &str,
    ) -> Option<(&FulfillmentOrder, &FulfillmentOrderLine)> {
        self.fulfillment_orders
            .iter()
            .find_map(|fo| fo.lines.iter().find(|l| l.id == id).map(|l| (fo, l)))
    }
}

/// The customer of an order, as far as mapping to a BC customer needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderCustomer {
    pub id: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

/// The B2B buyer of an order (`purchasingEntity` when it is a `PurchasingCompany`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurchasingCompany {
    pub company_id: String,
    pub location_id: String,
}

/// A postal address (`MailingAddress`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub company: Option<String>,
    pub address1: Option<String>,
    pub address2: Option<String>,
    pub city: Option<String>,
    pub province_code: Option<String>,
    pub zip: Option<String>,
    /// ISO 3166-1 alpha-2 (`countryCodeV2`).
    pub country_code: Option<String>,
    pub phone: Option<String>,
}

/// The order's amounts. Shopify leaves some of them null on some orders.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderTotals {
    /// Total when the order was placed.
    pub total: MoneyPair,
    /// Total after edits, refunds and removals.
    pub current_total: MoneyPair,
    pub subtotal: Option<MoneyPair>,
    pub shipping: MoneyPair,
    pub tax: Option<MoneyPair>,
    pub discounts: Option<MoneyPair>,
    /// What the customer still owes.
    pub outstanding: MoneyPair,
}

/// One line of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    pub id: String,
    pub sku: Option<String>,
    /// `None` for custom lines and for variants deleted since.
    pub variant_id: Option<String>,
    pub title: String,
    pub variant_title: Option<String>,
    /// Quantity when the order was placed.
    pub quantity: i64,
    /// Quantity after edits and refunds.
    pub current_quantity: i64,
    /// Quantity not fulfilled yet (`unfulfilledQuantity`).
    pub fulfillable_quantity: i64,
    /// Unit price before discounts, in the shop's currency.
    pub unit_price: Money,
    /// Unit price before discounts, in the customer's currency.
    pub unit_price_presentment: Money,
    /// Total discount on the line (all units), in the shop's currency.
    pub discount: Money,
    pub taxable: bool,
    pub requires_shipping: bool,
    pub gift_card: bool,
}

/// A shipping charge of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippingLine {
    pub title: String,
    pub code: Option<String>,
    pub source: Option<String>,
    /// Price before discounts, shop currency.
    pub price: Money,
    /// Price after discounts, shop currency.
    pub discounted_price: Money,
}

/// A payment transaction of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderTransaction {
    pub id: String,
    /// SALE, CAPTURE, AUTHORIZATION, VOID, REFUND, …
    pub kind: String,
    /// SUCCESS, FAILURE, PENDING, …
    pub status: String,
    pub gateway: Option<String>,
    pub amount: Money,
    pub processed_at: Option<String>,
    pub parent_id: Option<String>,
}

/// A refund of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refund {
    pub id: String,
    pub created_at: Option<String>,
    pub lines: Vec<RefundLine>,
}

/// One refunded order line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundLine {
    pub line_item_id: String,
    pub quantity: i64,
    /// NO_RESTOCK, CANCEL, RETURN, …
    pub restock_type: String,
    /// Refunded amount of the line before tax, shop currency.
    pub subtotal: Money,
}

/// A fulfillment order: the lines of an order to be fulfilled from one location.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FulfillmentOrder {
    pub id: String,
    /// OPEN, IN_PROGRESS, CLOSED, CANCELLED, ON_HOLD, SCHEDULED, INCOMPLETE.
    pub status: String,
    /// UNSUBMITTED, SUBMITTED, ACCEPTED, … (fulfillment-service requests).
    pub request_status: String,
    pub location_id: Option<String>,
    pub lines: Vec<FulfillmentOrderLine>,
}

/// A line of a fulfillment order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FulfillmentOrderLine {
    pub id: String,
    /// The order line it fulfills.
    pub line_item_id: String,
    pub total_quantity: i64,
    pub remaining_quantity: i64,
}

/// Tracking information of a fulfillment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tracking {
    pub number: Option<String>,
    /// Shopify's carrier name (e.g. `UPS`) gets an automatic tracking URL.
    pub company: Option<String>,
    pub url: Option<String>,
}

/// The lines of one fulfillment order to fulfil in a `fulfillmentCreate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FulfillmentOrderLines {
    pub fulfillment_order_id: String,
    /// `(fulfillment order line id, quantity)`; empty fulfils everything the fulfillment order
    /// still has.
    pub lines: Vec<(String, i64)>,
}

/// Most line items one fulfillment may carry here. Shopify caps every input array at 250; keeping
/// a whole fulfillment within 250 also keeps it within one page of the probe
/// ([`ShopifyOrdersApi::order_fulfillments`]).
pub const MAX_FULFILLMENT_LINES: usize = 250;

/// One `fulfillmentCreate`: fulfillment orders of one order at one location.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FulfillmentRequest {
    /// The order the fulfillment orders belong to (not sent; for messages and probing).
    pub order_id: String,
    pub fulfillment_orders: Vec<FulfillmentOrderLines>,
    pub tracking: Option<Tracking>,
    pub notify_customer: bool,
}

impl FulfillmentRequest {
    /// The order lines and quantities this request fulfils, resolved through `order`'s fulfillment
    /// orders (a whole fulfillment order counts its remaining quantities). `None` when the request
    /// names a fulfillment order or line `order` does not have.
    pub fn expected_lines(&self, order: &ShopifyOrder) -> Option<BTreeMap<String, i64>> {
        let mut out = BTreeMap::new();
        for entry in &self.fulfillment_orders {
            let fo = order
                .fulfillment_orders
                .iter()
                .find(|fo| fo.id == entry.fulfillment_order_id)?;
            if entry.lines.is_empty() {
                for l in fo.lines.iter().filter(|l| l.remaining_quantity > 0) {
                    *out.entry(l.line_item_id.clone()).or_default() += l.remaining_quantity;
                }
            } else {
                for (line_id, qty) in &entry.lines {
                    let l = fo.lines.iter().find(|l| &l.id == line_id)?;
                    *out.entry(l.line_item_id.clone()).or_default() += qty;
                }
            }
        }
        Some(out)
    }
}

/// The answer to one `fulfillmentCreate`. `userErrors` are data: a refused request (e.g. more
/// than remains to fulfil) has no fulfillment and says why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FulfillmentOutcome {
    pub fulfillment_id: Option<String>,
    pub status: Option<String>,
    pub user_errors: Vec<UserError>,
}

/// A fulfillment of an order as read back (to find one whose creation answer was lost).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShopifyFulfillment {
    pub id: String,
    /// SUCCESS, CANCELLED, ERROR, FAILURE, …
    pub status: String,
    pub created_at: String,
    pub tracking: Vec<Tracking>,
    pub lines: Vec<FulfilledLine>,
}

impl ShopifyFulfillment {
    /// Quantities per order line, comparable with [`FulfillmentRequest::expected_lines`].
    pub fn lines(&self) -> BTreeMap<String, i64> {
        let mut out = BTreeMap::new();
        for l in &self.lines {
            *out.entry(l.line_item_id.clone()).or_default() += l.quantity;
        }
        out
    }
}

/// One order line of a fulfillment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FulfilledLine {
    pub line_item_id: String,
    pub quantity: i64,
}

/// The answer to an `orderUpdate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderUpdateOutcome {
    /// Whether Shopify answered with the order (it does unless the order is unknown).
    pub updated: bool,
    pub user_errors: Vec<UserError>,
}

/// The answer to an `orderClose`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderCloseOutcome {
    pub closed: bool,
    pub closed_at: Option<String>,
    pub user_errors: Vec<UserError>,
}

/// A Shopify Payments payout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShopifyPayout {
    pub id: String,
    /// The payout's numeric id (`legacyResourceId`), what "since" reads are ordered by.
    pub legacy_id: u64,
    pub issued_at: String,
    /// SCHEDULED, PAID, FAILED, CANCELED (IN_TRANSIT on old payouts).
    pub status: String,
    /// DEPOSIT or WITHDRAWAL.
    pub transaction_type: String,
    pub net: Money,
    pub summary: PayoutSummary,
}

/// Gross amounts and fees of a payout by category.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayoutSummary {
    pub charges_gross: Money,
    pub charges_fee: Money,
    pub refunds_fee_gross: Money,
    pub refunds_fee: Money,
    pub adjustments_gross: Money,
    pub adjustments_fee: Money,
    pub reserved_funds_gross: Money,
    pub reserved_funds_fee: Money,
    pub retried_payouts_gross: Money,
    pub retried_payouts_fee: Money,
}

/// A Shopify Payments balance transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalanceTransaction {
    pub id: String,
    /// CHARGE, REFUND, ADJUSTMENT, …
    pub transaction_type: String,
    pub test: bool,
    pub transaction_date: String,
    pub amount: Money,
    pub fee: Money,
    pub net: Money,
    pub source_type: Option<String>,
    /// `BigInt`s, kept as their decimal text.
    pub source_id: Option<String>,
    pub source_order_transaction_id: Option<String>,
    pub order_id: Option<String>,
    pub order_name: Option<String>,
    pub payout_id: Option<String>,
    pub payout_status: Option<String>,
}

/// One order's `BC Doc. No.` write-back as a line of a bulk `orderUpdate`
/// ([`crate::catalog::BulkMutation::OrderAttributes`]): the order's whole custom-attribute list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderAttributesUpdate {
    pub order_id: String,
    pub attributes: Vec<OrderAttribute>,
}

/// What the order, shipment and payment tasks need from Shopify. Every paged read returns one
/// page and the cursor of the next, so a task can checkpoint between pages.
#[async_trait]
pub trait ShopifyOrdersApi: Send + Sync {
    /// One page of the orders updated in `[since, until]` (RFC 3339, both inclusive; `since` None =
    /// from the beginning), oldest update first; only open orders when `open_only`. Each order is
    /// whole: lines, fulfillment-order lines and other nested lists beyond what one page query
    /// carries are read with follow-up queries for that order only.
    async fn orders_updated_since(
        &self,
        since: Option<&str>,
        until: &str,
        open_only: bool,
        after: Option<&str>,
    ) -> Result<Page<ShopifyOrder>, SyncError>;

    /// One order, whole; `None` when Shopify does not know the id.
    async fn order(&self, id: &str) -> Result<Option<ShopifyOrder>, SyncError>;

    /// The fulfillments of an order (to find one whose creation answer was lost); `None` for an
    /// unknown order.
    async fn order_fulfillments(
        &self,
        order_id: &str,
    ) -> Result<Option<Vec<ShopifyFulfillment>>, SyncError>;

    /// One `fulfillmentCreate`, sent at most once per call (Shopify offers no idempotency key for
    /// it). An error whose outcome is unknown is retryable: probe with
    /// [`ShopifyOrdersApi::order_fulfillments`] before calling again.
    async fn fulfillment_create(
        &self,
        request: &FulfillmentRequest,
    ) -> Result<FulfillmentOutcome, SyncError>;

    /// `orderUpdate` replacing the order's custom attributes with `attributes` (see
    /// [`ShopifyOrder::attributes_with`]); how the BC document number is written back.
    async fn order_set_custom_attributes(
        &self,
        order_id: &str,
        attributes: &[OrderAttribute],
    ) -> Result<OrderUpdateOutcome, SyncError>;

    /// `orderClose` (the reference's "archive processed orders").
    async fn order_close(&self, order_id: &str) -> Result<OrderCloseOutcome, SyncError>;

    /// The number of orders in a window (as [`ShopifyOrdersApi::orders_updated_since`] reads it),
    /// counted up to the client's orders bulk threshold: `Some(true)` when the window holds more
    /// than that and is better read with one bulk query ([`ShopifyOrdersApi::orders_bulk_start`]);
    /// `Some(false)` to page it. `None`: this client offers no bulk read (the default).
    async fn orders_prefer_bulk(
        &self,
        _since: Option<&str>,
        _until: &str,
        _open_only: bool,
    ) -> Result<Option<bool>, SyncError> {
        Ok(None)
    }

    /// Starts one bulk query over the orders of a window; the bulk operation's id. Poll it with
    /// [`ShopifyOrdersApi::bulk_operation_wait`], then [`ShopifyOrdersApi::orders_bulk_read`] its
    /// `url`.
    async fn orders_bulk_start(
        &self,
        _since: Option<&str>,
        _until: &str,
        _open_only: bool,
    ) -> Result<String, SyncError> {
        Err(SyncError::Internal(
            "this Shopify client cannot read orders in bulk".into(),
        ))
    }

    /// Waits one poll interval, then polls bulk operation `id` (a query or a mutation) once.
    async fn bulk_operation_wait(
        &self,
        _id: &str,
    ) -> Result<crate::catalog::BulkMutationStatus, SyncError> {
        Err(SyncError::Internal(
            "this Shopify client cannot poll bulk operations".into(),
        ))
    }

    /// The orders of a completed bulk query's JSONL at `url`, reassembled (each order with its
    /// lines and shipping lines), in file order.
    async fn orders_bulk_read(&self, _url: &str) -> Result<Vec<ShopifyOrder>, SyncError> {
        Err(SyncError::Internal(
            "this Shopify client cannot read orders in bulk".into(),
        ))
    }

    /// One page of payouts whose numeric id is above `since_legacy_id` (all when `None`), in id
    /// order.
    async fn payouts_since(
        &self,
        since_legacy_id: Option<u64>,
        after: Option<&str>,
    ) -> Result<Page<ShopifyPayout>, SyncError>;

    /// One page of balance transactions processed at or after `since` (RFC 3339; all when `None`),
    /// oldest first. Balance transactions have no numeric id in the API, so "since" is a time: pass
    /// the newest `transaction_date` already stored (its transactions come again; dedupe by id).
    async fn balance_transactions_since(
        &self,
        since: Option<&str>,
        after: Option<&str>,
    ) -> Result<Page<BalanceTransaction>, SyncError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn money(a: &str) -> Money {
        Money {
            amount: a.into(),
            currency: "EUR".into(),
        }
    }

    fn pair(a: &str) -> MoneyPair {
        MoneyPair {
            shop: money(a),
            presentment: money(a),
        }
    }

    fn order() -> ShopifyOrder {
        let line = |id: &str| OrderLine {
            id: id.into(),
            sku: Some(format!("SKU-{id}")),
            variant_id: None,
            title: "T".into(),
            variant_title: None,
            quantity: 3,
            current_quantity: 3,
            fulfillable_quantity: 3,
            unit_price: money("1.5"),
            unit_price_presentment: money("1.5"),
            discount: money("0.0"),
            taxable: true,
            requires_shipping: true,
            gift_card: false,
        };
        ShopifyOrder {
            id: "O1".into(),
            name: "#1001".into(),
            created_at: "2026-01-01T00:00:00Z".into(),
            updated_at: "2026-01-01T00:00:00Z".into(),
            processed_at: "2026-01-01T00:00:00Z".into(),
            closed: false,
            closed_at: None,
            cancelled_at: None,
            cancel_reason: None,
            test: false,
            financial_status: Some("PAID".into()),
            fulfillment_status: "UNFULFILLED".into(),
            currency: "EUR".into(),
            presentment_currency: "EUR".into(),
            email: None,
            phone: None,
            po_number: None,
            note: None,
            tags: vec![],
            taxes_included: true,
            custom_attributes: vec![OrderAttribute {
                key: "gift".into(),
                value: Some("yes".into()),
            }],
            customer: None,
            company: None,
            billing_address: None,
            shipping_address: None,
            totals: OrderTotals {
                total: pair("9.0"),
                current_total: pair("9.0"),
                subtotal: None,
                shipping: pair("0.0"),
                tax: None,
                discounts: None,
                outstanding: pair("0.0"),
            },
            line_items: vec![line("L1"), line("L2")],
            shipping_lines: vec![],
            transactions: vec![],
            refunds: vec![],
            fulfillment_orders: vec![FulfillmentOrder {
                id: "FO1".into(),
                status: "OPEN".into(),
                request_status: "UNSUBMITTED".into(),
                location_id: Some("LOC".into()),
                lines: vec![
                    FulfillmentOrderLine {
                        id: "FOL1".into(),
                        line_item_id: "L1".into(),
                        total_quantity: 3,
                        remaining_quantity: 3,
                    },
                    FulfillmentOrderLine {
                        id: "FOL2".into(),
                        line_item_id: "L2".into(),
                        total_quantity: 3,
                        remaining_quantity: 1,
                    },
                ],
            }],
            incomplete: vec![],
        }
    }

    #[test]
    fn attributes_are_merged_not_clobbered() {
        let o = order();
        let a = o.attributes_with(BC_DOCUMENT_ATTRIBUTE, "SO-1");
        assert_eq!(a.len(), 2);
        assert_eq!(a[0].key, "gift");
        assert_eq!(a[1].value.as_deref(), Some("SO-1"));
        let mut o2 = o.clone();
        o2.custom_attributes = a;
        assert_eq!(o2.attribute(BC_DOCUMENT_ATTRIBUTE), Some("SO-1"));
        let again = o2.attributes_with(BC_DOCUMENT_ATTRIBUTE, "SO-2");
        assert_eq!(again.len(), 2, "replaced in place");
        assert_eq!(again[1].value.as_deref(), Some("SO-2"));
    }

    #[test]
    fn expected_lines_resolve_through_fulfillment_orders() {
        let o = order();
        let whole = FulfillmentRequest {
            order_id: "O1".into(),
            fulfillment_orders: vec![FulfillmentOrderLines {
                fulfillment_order_id: "FO1".into(),
                lines: vec![],
            }],
            tracking: None,
            notify_customer: false,
        };
        let want: BTreeMap<String, i64> = [("L1".to_string(), 3), ("L2".to_string(), 1)].into();
        assert_eq!(whole.expected_lines(&o), Some(want.clone()));
        let some = FulfillmentRequest {
            fulfillment_orders: vec![FulfillmentOrderLines {
                fulfillment_order_id: "FO1".into(),
                lines: vec![("FOL1".into(), 2)],
            }],
            ..whole.clone()
        };
        assert_eq!(
            some.expected_lines(&o),
            Some([("L1".to_string(), 2)].into())
        );
        let unknown = FulfillmentRequest {
            fulfillment_orders: vec![FulfillmentOrderLines {
                fulfillment_order_id: "FO9".into(),
                lines: vec![],
            }],
            ..whole
        };
        assert_eq!(unknown.expected_lines(&o), None);
        let f = ShopifyFulfillment {
            id: "F1".into(),
            status: "SUCCESS".into(),
            created_at: "2026-01-02T00:00:00Z".into(),
            tracking: vec![],
            lines: vec![
                FulfilledLine {
                    line_item_id: "L1".into(),
                    quantity: 3,
                },
                FulfilledLine {
                    line_item_id: "L2".into(),
                    quantity: 1,
                },
            ],
        };
        assert_eq!(f.lines(), want);
        assert_eq!(
            o.fulfillment_order_line("FOL2").unwrap().1.line_item_id,
            "L2"
        );
        assert!(o.line("L1").is_some() && o.line("L9").is_none());
    }
}
