//! The domain port [`ShopifyOrdersApi`] on top of the paced, retrying transport: orders,
//! fulfillments, the BC document number written back, archiving, payouts and balance transactions.
//!
//! Why it reads the way it does (cost): one page query carries whole orders — header, customer, B2B
//! buyer, addresses, totals, 10 lines, shipping lines, transactions, refunds and fulfillment orders
//! (`OrderFields.graphql` has the arithmetic: 114 requested points per order, 8 orders a page).
//! Anything longer than those sizes is read for that order alone: more lines with `OrderLines`,
//! more fulfillment-order lines with `FulfillmentOrderLines`, and the rare order with more shipping
//! lines, transactions, refunds or fulfillment orders with one `OrderDetails`. The reference
//! instead reads each order's header, lines, fulfillment orders, transactions … with a query each.
//!
//! Why writes are shaped as they are (safety): Shopify offers `@idempotent` on none of
//! `fulfillmentCreate`, `orderUpdate` and `orderClose`. Repeating `orderUpdate` (the same attribute
//! list) or `orderClose` changes nothing, so they are retried like reads. A repeated
//! `fulfillmentCreate` could fulfil more units, so it is sent at most once per call
//! ([`ShopifyClient::execute_at_most_once`]) and a lost answer is found again with
//! `OrderFulfillments`. `userErrors` are data, never `Err`.
//!
//! Why a large window is read in bulk (cost): paging charges every order its selection, 35–45
//! points, while a bulk query is charged only its start (10) and its polls (1 each). So a window
//! that holds more than `bulk_threshold` orders (counted first with `OrdersCount`, 10 points, up
//! to that limit) is read with one `BulkOrdersQuery`, and its JSONL — orders as root lines, their
//! lines and shipping lines as lines with `__parentId` — is put back together into the same
//! [`OrderNode`]s a page carries ([`orders_from_bulk`]), so both reads end in [`order_from_node`].
//! A small window (a webhook's, a schedule's) keeps paging: a bulk operation takes seconds to
//! minutes to finish, a page answers at once. The many `BC Doc. No.` write-backs of a backlog go
//! back in bulk too (`orderUpdate` lines of a bulk mutation, [`order_attributes_lines`]).

use crate::client::ShopifyClient;
use crate::documents::{
    BALANCE_TRANSACTIONS, BULK_ORDERS_QUERY, FULFILLMENT_CREATE, FULFILLMENT_ORDER_LINES, ORDER,
    ORDER_CLOSE, ORDER_DETAILS, ORDER_FULFILLMENTS, ORDER_LINES, ORDER_UPDATE_CUSTOM_ATTRIBUTES,
    ORDERS_COUNT, ORDERS_UPDATED_SINCE, PAYOUTS,
};
use crate::error::ShopifyError;
use crate::pagination::{PagedData, page_of};
use crate::wire::{Connection, IdRef, Money, MoneyBag, PageInfo, UserError, user_errors};
use async_trait::async_trait;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use shopsync_domain::SyncError;
use shopsync_domain::orders::{
    Address, BalanceTransaction, FulfilledLine, FulfillmentOrder, FulfillmentOrderLine,
    FulfillmentOutcome, FulfillmentRequest, MAX_FULFILLMENT_LINES, MoneyPair, OrderAttribute,
    OrderCloseOutcome, OrderCustomer, OrderLine, OrderTotals, OrderTransaction, OrderUpdateOutcome,
    Page, PayoutSummary, PurchasingCompany, Refund, RefundLine, ShippingLine, ShopifyFulfillment,
    ShopifyOrder, ShopifyOrdersApi, ShopifyPayout, Tracking,
};
use std::fmt;

/// How many of each nested list the order selection (`OrderFields.graphql`) reads; a list this
/// long may have more, and is read again by a follow-up for that order.
pub const ORDER_LINES_FIRST: usize = 10;
pub const ORDER_SHIPPING_LINES_FIRST: usize = 3;
pub const ORDER_TRANSACTIONS_FIRST: usize = 10;
pub const ORDER_REFUNDS_FIRST: usize = 5;
pub const ORDER_REFUND_LINES_FIRST: usize = 10;
pub const ORDER_FULFILLMENT_ORDERS_FIRST: usize = 2;
/// Lines of a fulfillment order in `FulfillmentOrderFields.graphql`.
pub const FULFILLMENT_ORDER_LINES_FIRST: usize = 10;
/// The sizes of `OrderDetails.graphql`.
pub const DETAILS_TRANSACTIONS_FIRST: usize = 100;
pub const DETAILS_REFUNDS_FIRST: usize = 50;

// ---------------------------------------------------------------------------------------------
// Wire shapes: field for field the documents' selections (non-null schema fields are required,
// nullable ones `Option`s).
// ---------------------------------------------------------------------------------------------

/// `data` of `OrdersUpdatedSince`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct OrdersUpdatedSinceData {
    pub orders: Connection<OrderNode>,
}

impl PagedData for OrdersUpdatedSinceData {
    type Node = OrderNode;
    const CONNECTION: &'static str = "orders";
    fn into_connection(self) -> Option<Connection<OrderNode>> {
        Some(self.orders)
    }
}

/// `data` of `Order` (`order(id:)` is null for an unknown id).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct OrderData {
    pub order: Option<OrderNode>,
}

/// An order as `OrderFields` selects it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderNode {
    pub id: String,
    pub name: String,
    pub created_at: String,
    pub updated_at: String,
    pub processed_at: String,
    pub closed: bool,
    #[serde(default)]
    pub closed_at: Option<String>,
    #[serde(default)]
    pub cancelled_at: Option<String>,
    #[serde(default)]
    pub cancel_reason: Option<String>,
    pub test: bool,
    #[serde(default)]
    pub display_financial_status: Option<String>,
    pub display_fulfillment_status: String,
    pub currency_code: String,
    pub presentment_currency_code: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub po_number: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
    pub tags: Vec<String>,
    pub taxes_included: bool,
    pub custom_attributes: Vec<AttributeNode>,
    #[serde(default)]
    pub customer: Option<CustomerNode>,
    #[serde(default)]
    pub purchasing_entity: Option<PurchasingEntityNode>,
    #[serde(default)]
    pub billing_address: Option<AddressNode>,
    #[serde(default)]
    pub shipping_address: Option<AddressNode>,
    pub total_price_set: MoneyBag,
    pub current_total_price_set: MoneyBag,
    #[serde(default)]
    pub subtotal_price_set: Option<MoneyBag>,
    pub total_shipping_price_set: MoneyBag,
    #[serde(default)]
    pub total_tax_set: Option<MoneyBag>,
    #[serde(default)]
    pub total_discounts_set: Option<MoneyBag>,
    pub total_outstanding_set: MoneyBag,
    pub line_items: Connection<LineItemNode>,
    pub shipping_lines: Connection<ShippingLineNode>,
    pub transactions: Vec<TransactionNode>,
    pub refunds: Vec<RefundNode>,
    pub fulfillment_orders: Connection<FulfillmentOrderNode>,
}

/// `customAttributes { key value }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AttributeNode {
    pub key: String,
    #[serde(default)]
    pub value: Option<String>,
}

/// `customer { id firstName lastName defaultEmailAddress { emailAddress } defaultPhoneNumber {
/// phoneNumber } }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerNode {
    pub id: String,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub default_email_address: Option<EmailAddressNode>,
    #[serde(default)]
    pub default_phone_number: Option<PhoneNumberNode>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EmailAddressNode {
    pub email_address: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PhoneNumberNode {
    pub phone_number: String,
}

/// `purchasingEntity { ... on PurchasingCompany { company { id } location { id } } }`: a
/// `Customer` answers `{}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PurchasingEntityNode {
    #[serde(default)]
    pub company: Option<IdRef>,
    #[serde(default)]
    pub location: Option<IdRef>,
}

/// `AddressFields`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddressNode {
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub company: Option<String>,
    #[serde(default)]
    pub address1: Option<String>,
    #[serde(default)]
    pub address2: Option<String>,
    #[serde(default)]
    pub city: Option<String>,
    #[serde(default)]
    pub province_code: Option<String>,
    #[serde(default)]
    pub zip: Option<String>,
    #[serde(default, rename = "countryCodeV2")]
    pub country_code_v2: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
}

/// `LineItemFields`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LineItemNode {
    pub id: String,
    #[serde(default)]
    pub sku: Option<String>,
    pub title: String,
    #[serde(default)]
    pub variant_title: Option<String>,
    pub quantity: i64,
    pub current_quantity: i64,
    pub unfulfilled_quantity: i64,
    pub taxable: bool,
    pub requires_shipping: bool,
    pub is_gift_card: bool,
    #[serde(default)]
    pub variant: Option<IdRef>,
    pub original_unit_price_set: MoneyBag,
    pub total_discount_set: MoneyBag,
}

/// `ShippingLineFields`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShippingLineNode {
    pub title: String,
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub source: Option<String>,
    pub original_price_set: MoneyBag,
    pub discounted_price_set: MoneyBag,
}

/// `TransactionFields`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransactionNode {
    pub id: String,
    pub kind: String,
    pub status: String,
    #[serde(default)]
    pub gateway: Option<String>,
    #[serde(default)]
    pub processed_at: Option<String>,
    pub amount_set: MoneyBag,
    #[serde(default)]
    pub parent_transaction: Option<IdRef>,
}

/// `refunds { id createdAt refundLineItems(first:) { nodes { ...RefundLineFields } pageInfo } }`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundNode {
    pub id: String,
    #[serde(default)]
    pub created_at: Option<String>,
    pub refund_line_items: Connection<RefundLineNode>,
}

/// `RefundLineFields`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundLineNode {
    pub quantity: i64,
    pub restock_type: String,
    pub line_item: IdRef,
    pub subtotal_set: MoneyBag,
}

/// `FulfillmentOrderFields`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FulfillmentOrderNode {
    pub id: String,
    pub status: String,
    pub request_status: String,
    pub assigned_location: AssignedLocationNode,
    pub line_items: Connection<FulfillmentOrderLineNode>,
}

/// `assignedLocation { location { id } }` (the location is null for some fulfillment services).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AssignedLocationNode {
    #[serde(default)]
    pub location: Option<IdRef>,
}

/// `FulfillmentOrderLineFields`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FulfillmentOrderLineNode {
    pub id: String,
    pub total_quantity: i64,
    pub remaining_quantity: i64,
    pub line_item: IdRef,
}

/// `data` of `OrderLines`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct OrderLinesData {
    pub order: Option<OrderLinesNode>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderLinesNode {
    pub line_items: Connection<LineItemNode>,
}

impl PagedData for OrderLinesData {
    type Node = LineItemNode;
    const CONNECTION: &'static str = "order.lineItems";
    fn into_connection(self) -> Option<Connection<LineItemNode>> {
        self.order.map(|o| o.line_items)
    }
}

/// `data` of `FulfillmentOrderLines`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FulfillmentOrderLinesData {
    pub fulfillment_order: Option<FulfillmentOrderLinesNode>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FulfillmentOrderLinesNode {
    pub line_items: Connection<FulfillmentOrderLineNode>,
}

impl PagedData for FulfillmentOrderLinesData {
    type Node = FulfillmentOrderLineNode;
    const CONNECTION: &'static str = "fulfillmentOrder.lineItems";
    fn into_connection(self) -> Option<Connection<FulfillmentOrderLineNode>> {
        self.fulfillment_order.map(|o| o.line_items)
    }
}

/// `data` of `OrderDetails`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct OrderDetailsData {
    pub order: Option<OrderDetailsNode>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderDetailsNode {
    pub shipping_lines: Connection<ShippingLineNode>,
    pub transactions: Vec<TransactionNode>,
    pub refunds: Vec<RefundNode>,
    pub fulfillment_orders: Connection<FulfillmentOrderNode>,
}

/// `data` of `OrderFulfillments`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct OrderFulfillmentsData {
    pub order: Option<OrderFulfillmentsNode>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct OrderFulfillmentsNode {
    pub fulfillments: Vec<FulfillmentNode>,
}

/// A fulfillment as `OrderFulfillments` selects it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FulfillmentNode {
    pub id: String,
    pub status: String,
    pub created_at: String,
    pub tracking_info: Vec<TrackingNode>,
    pub fulfillment_line_items: Connection<FulfillmentLineNode>,
}

/// `trackingInfo { number company url }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TrackingNode {
    #[serde(default)]
    pub number: Option<String>,
    #[serde(default)]
    pub company: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
}

/// `fulfillmentLineItems { nodes { quantity lineItem { id } } }` (`quantity` is nullable).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FulfillmentLineNode {
    #[serde(default)]
    pub quantity: Option<i64>,
    pub line_item: IdRef,
}

/// `data` of `FulfillmentCreate`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FulfillmentCreateData {
    pub fulfillment_create: Option<FulfillmentCreatePayload>,
}

/// `fulfillmentCreate { fulfillment { id status } userErrors { field message } }`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FulfillmentCreatePayload {
    #[serde(default)]
    pub fulfillment: Option<CreatedFulfillment>,
    pub user_errors: Vec<UserError>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CreatedFulfillment {
    pub id: String,
    pub status: String,
}

/// `data` of `OrderUpdateCustomAttributes`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderUpdateData {
    pub order_update: Option<OrderUpdatePayload>,
}

/// `orderUpdate { order { id } userErrors { field message } }`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderUpdatePayload {
    #[serde(default)]
    pub order: Option<IdRef>,
    pub user_errors: Vec<UserError>,
}

/// `data` of `OrderClose`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderCloseData {
    pub order_close: Option<OrderClosePayload>,
}

/// `orderClose { order { id closed closedAt } userErrors { field message } }`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderClosePayload {
    #[serde(default)]
    pub order: Option<ClosedOrderNode>,
    pub user_errors: Vec<UserError>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClosedOrderNode {
    pub id: String,
    pub closed: bool,
    #[serde(default)]
    pub closed_at: Option<String>,
}

/// `data` of `Payouts` (the account is null without Shopify Payments).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PayoutsData {
    pub shopify_payments_account: Option<PayoutsAccount>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PayoutsAccount {
    pub payouts: Connection<PayoutNode>,
}

/// A payout as `Payouts` selects it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PayoutNode {
    pub id: String,
    #[serde(deserialize_with = "crate::wire::unsigned_int64::required")]
    pub legacy_resource_id: u64,
    pub issued_at: String,
    pub status: String,
    pub transaction_type: String,
    pub net: Money,
    pub summary: PayoutSummaryNode,
}

/// `summary { … }`: gross and fee per category.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PayoutSummaryNode {
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

/// `data` of `BalanceTransactions`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BalanceTransactionsData {
    pub shopify_payments_account: Option<BalanceTransactionsAccount>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BalanceTransactionsAccount {
    pub balance_transactions: Connection<BalanceTransactionNode>,
}

/// A balance transaction as `BalanceTransactions` selects it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BalanceTransactionNode {
    pub id: String,
    #[serde(rename = "type")]
    pub transaction_type: String,
    pub test: bool,
    pub transaction_date: String,
    #[serde(default)]
    pub source_type: Option<String>,
    #[serde(default, deserialize_with = "big_int")]
    pub source_id: Option<String>,
    #[serde(default, deserialize_with = "big_int")]
    pub source_order_transaction_id: Option<String>,
    pub amount: Money,
    pub fee: Money,
    pub net: Money,
    #[serde(default)]
    pub associated_order: Option<AssociatedOrderNode>,
    pub associated_payout: AssociatedPayoutNode,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AssociatedOrderNode {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AssociatedPayoutNode {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
}

/// A `BigInt`, which may arrive as a JSON number or a string; kept as its decimal text.
fn big_int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    struct Big;
    impl Visitor<'_> for Big {
        type Value = Option<String>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a BigInt (a number or its decimal text) or null")
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            let t = v.trim();
            let digits = t.strip_prefix('-').unwrap_or(t);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(E::invalid_value(de::Unexpected::Str(v), &self));
            }
            Ok(Some(t.to_string()))
        }
    }
    d.deserialize_any(Big)
}

// ---------------------------------------------------------------------------------------------
// Wire → domain
// ---------------------------------------------------------------------------------------------

fn money(m: Money) -> shopsync_domain::orders::Money {
    shopsync_domain::orders::Money {
        amount: m.amount,
        currency: m.currency_code,
    }
}

/// A `MoneyBag`; without `presentmentMoney` (a selection leaving it out) the shop amount stands
/// for both.
fn pair(bag: MoneyBag) -> MoneyPair {
    let shop = money(bag.shop_money);
    let presentment = bag
        .presentment_money
        .map(money)
        .unwrap_or_else(|| shop.clone());
    MoneyPair { shop, presentment }
}

fn shop_money(bag: MoneyBag) -> shopsync_domain::orders::Money {
    money(bag.shop_money)
}

fn address(a: AddressNode) -> Address {
    Address {
        first_name: a.first_name,
        last_name: a.last_name,
        company: a.company,
        address1: a.address1,
        address2: a.address2,
        city: a.city,
        province_code: a.province_code,
        zip: a.zip,
        country_code: a.country_code_v2,
        phone: a.phone,
    }
}

/// An order line. A blank SKU becomes `None`.
pub fn line_from_node(n: LineItemNode) -> OrderLine {
    let presentment = n
        .original_unit_price_set
        .presentment_money
        .clone()
        .map(money);
    let unit_price = shop_money(n.original_unit_price_set);
    OrderLine {
        id: n.id,
        sku: n.sku.filter(|s| !s.trim().is_empty()),
        variant_id: n.variant.map(|v| v.id),
        title: n.title,
        variant_title: n.variant_title,
        quantity: n.quantity,
        current_quantity: n.current_quantity,
        fulfillable_quantity: n.unfulfilled_quantity,
        unit_price_presentment: presentment.unwrap_or_else(|| unit_price.clone()),
        unit_price,
        discount: shop_money(n.total_discount_set),
        taxable: n.taxable,
        requires_shipping: n.requires_shipping,
        gift_card: n.is_gift_card,
    }
}

fn shipping_line(n: ShippingLineNode) -> ShippingLine {
    ShippingLine {
        title: n.title,
        code: n.code,
        source: n.source,
        price: shop_money(n.original_price_set),
        discounted_price: shop_money(n.discounted_price_set),
    }
}

fn transaction(n: TransactionNode) -> OrderTransaction {
    OrderTransaction {
        id: n.id,
        kind: n.kind,
        status: n.status,
        gateway: n.gateway,
        amount: shop_money(n.amount_set),
        processed_at: n.processed_at,
        parent_id: n.parent_transaction.map(|p| p.id),
    }
}

/// A refund, and whether its lines continue past the page read.
fn refund(n: RefundNode) -> (Refund, bool) {
    let more = n
        .refund_line_items
        .page_info
        .as_ref()
        .is_some_and(|p| p.has_next_page);
    let lines = n
        .refund_line_items
        .into_nodes()
        .into_iter()
        .map(|l| RefundLine {
            line_item_id: l.line_item.id,
            quantity: l.quantity,
            restock_type: l.restock_type,
            subtotal: shop_money(l.subtotal_set),
        })
        .collect();
    (
        Refund {
            id: n.id,
            created_at: n.created_at,
            lines,
        },
        more,
    )
}

pub fn fulfillment_order_line(n: FulfillmentOrderLineNode) -> FulfillmentOrderLine {
    FulfillmentOrderLine {
        id: n.id,
        line_item_id: n.line_item.id,
        total_quantity: n.total_quantity,
        remaining_quantity: n.remaining_quantity,
    }
}

/// A fulfillment order, and the cursor its lines continue from when there are more.
fn fulfillment_order(n: FulfillmentOrderNode) -> (FulfillmentOrder, Option<String>) {
    let more = next_cursor(n.line_items.page_info.as_ref());
    let fo = FulfillmentOrder {
        id: n.id,
        status: n.status,
        request_status: n.request_status,
        location_id: n.assigned_location.location.map(|l| l.id),
        lines: n
            .line_items
            .into_nodes()
            .into_iter()
            .map(fulfillment_order_line)
            .collect(),
    };
    (fo, more)
}

/// `endCursor` when `hasNextPage`.
fn next_cursor(page_info: Option<&PageInfo>) -> Option<String> {
    page_info
        .filter(|p| p.has_next_page)
        .and_then(|p| p.end_cursor.clone())
}

fn has_next(page_info: Option<&PageInfo>) -> bool {
    page_info.is_some_and(|p| p.has_next_page)
}

/// What of an order the page query read only in part.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Continuations {
    /// `OrderLines` from this cursor.
    pub lines_after: Option<String>,
    /// `FulfillmentOrderLines` per fulfillment order (index in the order's list) from a cursor.
    pub fulfillment_order_lines_after: Vec<(usize, String)>,
    /// One `OrderDetails` for the other lists.
    pub details: bool,
}

/// An order node as the domain order, and what is left to read of it. The lists `OrderDetails`
/// re-reads are judged complete only when shorter than the sizes asked (a plain list has no
/// `pageInfo`).
pub fn order_from_node(n: OrderNode) -> (ShopifyOrder, Continuations) {
    let mut rest = Continuations {
        lines_after: next_cursor(n.line_items.page_info.as_ref()),
        ..Default::default()
    };
    let customer = n.customer.map(|c| OrderCustomer {
        id: c.id,
        email: c.default_email_address.map(|e| e.email_address),
        phone: c.default_phone_number.map(|p| p.phone_number),
        first_name: c.first_name,
        last_name: c.last_name,
    });
    let company = n
        .purchasing_entity
        .and_then(|p| match (p.company, p.location) {
            (Some(c), Some(l)) => Some(PurchasingCompany {
                company_id: c.id,
                location_id: l.id,
            }),
            _ => None,
        });
    rest.details = has_next(n.shipping_lines.page_info.as_ref())
        || n.transactions.len() >= ORDER_TRANSACTIONS_FIRST
        || n.refunds.len() >= ORDER_REFUNDS_FIRST
        || has_next(n.fulfillment_orders.page_info.as_ref());
    let mut refunds = Vec::with_capacity(n.refunds.len());
    for r in n.refunds {
        let (r, more) = refund(r);
        rest.details |= more;
        refunds.push(r);
    }
    let mut fulfillment_orders = Vec::new();
    for (i, fo) in n.fulfillment_orders.into_nodes().into_iter().enumerate() {
        let (fo, more) = fulfillment_order(fo);
        if let Some(c) = more {
            rest.fulfillment_order_lines_after.push((i, c));
        }
        fulfillment_orders.push(fo);
    }
    let order = ShopifyOrder {
        id: n.id,
        name: n.name,
        created_at: n.created_at,
        updated_at: n.updated_at,
        processed_at: n.processed_at,
        closed: n.closed,
        closed_at: n.closed_at,
        cancelled_at: n.cancelled_at,
        cancel_reason: n.cancel_reason,
        test: n.test,
        financial_status: n.display_financial_status,
        fulfillment_status: n.display_fulfillment_status,
        currency: n.currency_code,
        presentment_currency: n.presentment_currency_code,
        email: n.email,
        phone: n.phone,
        po_number: n.po_number,
        note: n.note,
        tags: n.tags,
        taxes_included: n.taxes_included,
        custom_attributes: n
            .custom_attributes
            .into_iter()
            .map(|a| OrderAttribute {
                key: a.key,
                value: a.value,
            })
            .collect(),
        customer,
        company,
        billing_address: n.billing_address.map(address),
        shipping_address: n.shipping_address.map(address),
        totals: OrderTotals {
            total: pair(n.total_price_set),
            current_total: pair(n.current_total_price_set),
            subtotal: n.subtotal_price_set.map(pair),
            shipping: pair(n.total_shipping_price_set),
            tax: n.total_tax_set.map(pair),
            discounts: n.total_discounts_set.map(pair),
            outstanding: pair(n.total_outstanding_set),
        },
        line_items: n
            .line_items
            .into_nodes()
            .into_iter()
            .map(line_from_node)
            .collect(),
        shipping_lines: n
            .shipping_lines
            .into_nodes()
            .into_iter()
            .map(shipping_line)
            .collect(),
        transactions: n.transactions.into_iter().map(transaction).collect(),
        refunds,
        fulfillment_orders,
        incomplete: Vec::new(),
    };
    (order, rest)
}

/// Replaces the lists of `order` with what `OrderDetails` read, noting in `incomplete` whatever is
/// still longer than that query reads; returns the fulfillment orders whose lines continue.
pub fn apply_details(order: &mut ShopifyOrder, d: OrderDetailsNode) -> Vec<(usize, String)> {
    let mut incomplete = Vec::new();
    if has_next(d.shipping_lines.page_info.as_ref()) {
        incomplete.push("shipping_lines");
    }
    if d.transactions.len() >= DETAILS_TRANSACTIONS_FIRST {
        incomplete.push("transactions");
    }
    if d.refunds.len() >= DETAILS_REFUNDS_FIRST {
        incomplete.push("refunds");
    }
    if has_next(d.fulfillment_orders.page_info.as_ref()) {
        incomplete.push("fulfillment_orders");
    }
    order.shipping_lines = d
        .shipping_lines
        .into_nodes()
        .into_iter()
        .map(shipping_line)
        .collect();
    order.transactions = d.transactions.into_iter().map(transaction).collect();
    order.refunds = d
        .refunds
        .into_iter()
        .map(|r| {
            let (r, more) = refund(r);
            if more && !incomplete.contains(&"refund_lines") {
                incomplete.push("refund_lines");
            }
            r
        })
        .collect();
    let mut continuing = Vec::new();
    order.fulfillment_orders = d
        .fulfillment_orders
        .into_nodes()
        .into_iter()
        .enumerate()
        .map(|(i, fo)| {
            let (fo, more) = fulfillment_order(fo);
            if let Some(c) = more {
                continuing.push((i, c));
            }
            fo
        })
        .collect();
    for part in incomplete {
        if !order.incomplete.iter().any(|p| p == part) {
            order.incomplete.push(part.to_string());
        }
    }
    continuing
}

pub fn fulfillment_from_node(n: FulfillmentNode) -> ShopifyFulfillment {
    ShopifyFulfillment {
        id: n.id,
        status: n.status,
        created_at: n.created_at,
        tracking: n
            .tracking_info
            .into_iter()
            .map(|t| Tracking {
                number: t.number,
                company: t.company,
                url: t.url,
            })
            .collect(),
        lines: n
            .fulfillment_line_items
            .into_nodes()
            .into_iter()
            .map(|l| FulfilledLine {
                line_item_id: l.line_item.id,
                quantity: l.quantity.unwrap_or(0),
            })
            .collect(),
    }
}

pub fn payout_from_node(n: PayoutNode) -> ShopifyPayout {
    let s = n.summary;
    ShopifyPayout {
        id: n.id,
        legacy_id: n.legacy_resource_id,
        issued_at: n.issued_at,
        status: n.status,
        transaction_type: n.transaction_type,
        net: money(n.net),
        summary: PayoutSummary {
            charges_gross: money(s.charges_gross),
            charges_fee: money(s.charges_fee),
            refunds_fee_gross: money(s.refunds_fee_gross),
            refunds_fee: money(s.refunds_fee),
            adjustments_gross: money(s.adjustments_gross),
            adjustments_fee: money(s.adjustments_fee),
            reserved_funds_gross: money(s.reserved_funds_gross),
            reserved_funds_fee: money(s.reserved_funds_fee),
            retried_payouts_gross: money(s.retried_payouts_gross),
            retried_payouts_fee: money(s.retried_payouts_fee),
        },
    }
}

pub fn balance_transaction_from_node(n: BalanceTransactionNode) -> BalanceTransaction {
    let (order_id, order_name) = match n.associated_order {
        Some(o) => (Some(o.id), Some(o.name)),
        None => (None, None),
    };
    BalanceTransaction {
        id: n.id,
        transaction_type: n.transaction_type,
        test: n.test,
        transaction_date: n.transaction_date,
        amount: money(n.amount),
        fee: money(n.fee),
        net: money(n.net),
        source_type: n.source_type,
        source_id: n.source_id,
        source_order_transaction_id: n.source_order_transaction_id,
        order_id,
        order_name,
        payout_id: n.associated_payout.id,
        payout_status: n.associated_payout.status,
    }
}

pub fn fulfillment_outcome(
    data: FulfillmentCreateData,
) -> Result<FulfillmentOutcome, ShopifyError> {
    let p = data
        .fulfillment_create
        .ok_or_else(|| ShopifyError::Unexpected("fulfillmentCreate payload missing".into()))?;
    let (fulfillment_id, status) = match p.fulfillment {
        Some(f) => (Some(f.id), Some(f.status)),
        None => (None, None),
    };
    Ok(FulfillmentOutcome {
        fulfillment_id,
        status,
        user_errors: user_errors(p.user_errors),
    })
}

pub fn order_update_outcome(data: OrderUpdateData) -> Result<OrderUpdateOutcome, ShopifyError> {
    let p = data
        .order_update
        .ok_or_else(|| ShopifyError::Unexpected("orderUpdate payload missing".into()))?;
    Ok(OrderUpdateOutcome {
        updated: p.order.is_some() && p.user_errors.is_empty(),
        user_errors: user_errors(p.user_errors),
    })
}

pub fn order_close_outcome(data: OrderCloseData) -> Result<OrderCloseOutcome, ShopifyError> {
    let p = data
        .order_close
        .ok_or_else(|| ShopifyError::Unexpected("orderClose payload missing".into()))?;
    let (closed, closed_at) = match p.order {
        Some(o) => (o.closed, o.closed_at),
        None => (false, None),
    };
    Ok(OrderCloseOutcome {
        closed,
        closed_at,
        user_errors: user_errors(p.user_errors),
    })
}

// ---------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------

/// A date-time that goes into a search query between quotes: RFC 3339 characters only, so no
/// value can end the quoted term and add its own.
fn search_time(what: &str, value: &str) -> Result<String, ShopifyError> {
    let ok = !value.is_empty()
        && value.len() <= 40
        && value.as_bytes()[0].is_ascii_digit()
        && value
            .bytes()
            .all(|b| b.is_ascii_digit() || b"-:.+TZ".contains(&b));
    if ok {
        Ok(value.to_string())
    } else {
        Err(ShopifyError::InvalidRequest(format!(
            "{what} must be an RFC 3339 date-time, got {value:?}"
        )))
    }
}

/// The `orders(query:)` of an updated-since window: both bounds inclusive.
pub fn orders_search(
    since: Option<&str>,
    until: &str,
    open_only: bool,
) -> Result<String, ShopifyError> {
    let mut terms = Vec::new();
    if let Some(since) = since {
        terms.push(format!("updated_at:>='{}'", search_time("since", since)?));
    }
    terms.push(format!("updated_at:<='{}'", search_time("until", until)?));
    if open_only {
        terms.push("status:open".to_string());
    }
    Ok(terms.join(" "))
}

/// Checks a fulfillment request and builds the mutation's variables.
pub fn fulfillment_variables(request: &FulfillmentRequest) -> Result<Value, ShopifyError> {
    if request.fulfillment_orders.is_empty() {
        return Err(ShopifyError::InvalidRequest(
            "a fulfillment needs at least one fulfillment order".into(),
        ));
    }
    let lines: usize = request
        .fulfillment_orders
        .iter()
        .map(|f| f.lines.len())
        .sum();
    if lines > MAX_FULFILLMENT_LINES {
        return Err(ShopifyError::InvalidRequest(format!(
            "a fulfillment takes at most {MAX_FULFILLMENT_LINES} line items, got {lines}; split it"
        )));
    }
    let by_fo: Vec<Value> = request
        .fulfillment_orders
        .iter()
        .map(|f| {
            let mut entry = json!({ "fulfillmentOrderId": f.fulfillment_order_id });
            if !f.lines.is_empty() {
                entry["fulfillmentOrderLineItems"] = f
                    .lines
                    .iter()
                    .map(|(id, quantity)| json!({ "id": id, "quantity": quantity }))
                    .collect();
            }
            entry
        })
        .collect();
    let mut fulfillment = json!({
        "notifyCustomer": request.notify_customer,
        "lineItemsByFulfillmentOrder": by_fo,
    });
    if let Some(t) = &request.tracking {
        let mut tracking = serde_json::Map::new();
        for (k, v) in [
            ("number", &t.number),
            ("company", &t.company),
            ("url", &t.url),
        ] {
            if let Some(v) = v {
                tracking.insert(k.into(), Value::String(v.clone()));
            }
        }
        if !tracking.is_empty() {
            fulfillment["trackingInfo"] = Value::Object(tracking);
        }
    }
    Ok(json!({ "fulfillment": fulfillment }))
}

#[derive(Serialize)]
struct AttributeInput<'a> {
    key: &'a str,
    value: &'a str,
}

/// The variables of `OrderUpdateCustomAttributes` (a null value is sent as an empty string:
/// `AttributeInput.value` is required).
pub fn custom_attributes_variables(order_id: &str, attributes: &[OrderAttribute]) -> Value {
    let list: Vec<AttributeInput<'_>> = attributes
        .iter()
        .map(|a| AttributeInput {
            key: &a.key,
            value: a.value.as_deref().unwrap_or(""),
        })
        .collect();
    json!({ "input": { "id": order_id, "customAttributes": list } })
}

// ---------------------------------------------------------------------------------------------
// Bulk: the orders of a large window, the write-backs of a backlog
// ---------------------------------------------------------------------------------------------

/// The search placeholder of `BulkOrdersQuery.graphql` (a bulk query takes no variables).
const SEARCH_PLACEHOLDER: &str = "\"__SEARCH__\"";

/// `BulkOrdersQuery` with the window's search put in (JSON-quoted, which is a valid GraphQL
/// string: the search is made of RFC 3339 times and fixed words anyway, see [`orders_search`]).
pub fn bulk_orders_query(search: &str) -> Result<String, ShopifyError> {
    let text = BULK_ORDERS_QUERY.text;
    if text.matches(SEARCH_PLACEHOLDER).count() != 1 {
        return Err(ShopifyError::Unexpected(
            "BulkOrdersQuery must hold its search placeholder exactly once".into(),
        ));
    }
    let quoted = serde_json::to_string(search)
        .map_err(|e| ShopifyError::InvalidRequest(format!("search: {e}")))?;
    Ok(text.replacen(SEARCH_PLACEHOLDER, &quoted, 1))
}

/// `data` of `OrdersCount`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrdersCountData {
    #[serde(default)]
    pub orders_count: Option<CountNode>,
}

/// `Count { count precision }` (`precision` AT_LEAST when capped by `limit`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CountNode {
    pub count: u64,
    pub precision: String,
}

/// Which list of its order a child line of `BulkOrdersQuery` belongs to: by the gid's type, else
/// (a shipping line's `id` is nullable) by shape — only order lines carry a `quantity`.
fn is_order_line(child: &Value) -> bool {
    match child.get("id").and_then(Value::as_str) {
        Some(id) if id.starts_with("gid://shopify/LineItem/") => true,
        Some(id) if id.starts_with("gid://shopify/ShippingLine/") => false,
        _ => child.get("quantity").is_some(),
    }
}

/// A whole list as a connection of the page query's shape (nothing after it).
fn whole(nodes: Vec<Value>) -> Value {
    json!({ "nodes": nodes, "pageInfo": { "hasNextPage": false, "endCursor": null } })
}

/// Puts the lines of `BulkOrdersQuery`'s JSONL back together: each root line is an order, each line
/// with `__parentId` one of its lines or shipping lines (children follow their order, not
/// necessarily directly). The orders come back in file order, decoded through the page query's
/// [`OrderNode`] and [`order_from_node`], so a bulk-read order is the paged one: the same fields,
/// its lists whole. What the bulk query leaves out (fulfillment orders, refund lines; see the
/// document) comes back empty.
pub fn orders_from_bulk(
    lines: Vec<crate::wire::BulkLine<Value, Value>>,
) -> Result<Vec<ShopifyOrder>, ShopifyError> {
    let mut roots: Vec<Value> = Vec::new();
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut children: Vec<(Vec<Value>, Vec<Value>)> = Vec::new();
    let mut orphans: Vec<(String, Value)> = Vec::new();
    for line in lines {
        match line {
            crate::wire::BulkLine::Root(order) => {
                let id = order
                    .get("id")
                    .and_then(Value::as_str)
                    .ok_or_else(|| {
                        ShopifyError::Unexpected("bulk orders: an order line without an id".into())
                    })?
                    .to_string();
                index.insert(id, roots.len());
                roots.push(order);
                children.push((Vec::new(), Vec::new()));
            }
            crate::wire::BulkLine::Child { parent_id, node } => match index.get(&parent_id) {
                Some(&i) => push_child(&mut children[i], node),
                // Shopify writes a parent before its children; kept until the end all the same.
                None => orphans.push((parent_id, node)),
            },
        }
    }
    for (parent_id, node) in orphans {
        let i = *index.get(&parent_id).ok_or_else(|| {
            ShopifyError::Unexpected(format!(
                "bulk orders: a line of {parent_id}, which is not in the file"
            ))
        })?;
        push_child(&mut children[i], node);
    }
    let mut orders = Vec::with_capacity(roots.len());
    for (n, (mut root, (lines, shipping))) in roots.into_iter().zip(children).enumerate() {
        let Some(fields) = root.as_object_mut() else {
            return Err(ShopifyError::Unexpected(format!(
                "bulk orders: order {} is not an object",
                n + 1
            )));
        };
        fields.insert("lineItems".into(), whole(lines));
        fields.insert("shippingLines".into(), whole(shipping));
        fields.insert("fulfillmentOrders".into(), whole(Vec::new()));
        if let Some(refunds) = fields.get_mut("refunds").and_then(Value::as_array_mut) {
            for refund in refunds.iter_mut().filter_map(Value::as_object_mut) {
                refund.insert("refundLineItems".into(), whole(Vec::new()));
            }
        }
        let node: OrderNode =
            crate::wire::decode_value(&format!("bulk orders: order {}", n + 1), "order", &root)
                .map_err(|e| ShopifyError::Unexpected(e.message))?;
        // Every list is whole: nothing continues.
        orders.push(order_from_node(node).0);
    }
    Ok(orders)
}

fn push_child(lists: &mut (Vec<Value>, Vec<Value>), mut node: Value) {
    if let Some(m) = node.as_object_mut() {
        m.remove("__parentId");
    }
    if is_order_line(&node) {
        lists.0.push(node);
    } else {
        lists.1.push(node);
    }
}

/// The JSONL variables file of a bulk `orderUpdate` of custom attributes: one
/// `OrderUpdateCustomAttributes` variables object per line.
pub fn order_attributes_lines(
    lines: &[shopsync_domain::orders::OrderAttributesUpdate],
    out: &mut String,
) -> Result<(), ShopifyError> {
    for l in lines {
        if l.attributes.len() > crate::documents::MAX_NODE_IDS {
            return Err(ShopifyError::InvalidRequest(format!(
                "an order takes at most {} custom attributes in one update, got {}",
                crate::documents::MAX_NODE_IDS,
                l.attributes.len()
            )));
        }
        out.push_str(&custom_attributes_variables(&l.order_id, &l.attributes).to_string());
        out.push('\n');
    }
    Ok(())
}

/// The user errors of one `orderUpdate` line of a bulk mutation's result (`data` of the line); an
/// order Shopify did not answer with counts as refused.
pub fn bulk_order_update_errors(
    what: &str,
    data: &Value,
) -> Result<Vec<shopsync_domain::inventory::UserError>, ShopifyError> {
    let d: OrderUpdateData = crate::wire::decode_value(what, "data", data)
        .map_err(|e| ShopifyError::Unexpected(e.message))?;
    let outcome = order_update_outcome(d)?;
    if !outcome.updated && outcome.user_errors.is_empty() {
        return Ok(vec![shopsync_domain::inventory::UserError {
            field: Vec::new(),
            message: "Shopify answered without the order".into(),
            code: None,
        }]);
    }
    Ok(outcome.user_errors)
}

// ---------------------------------------------------------------------------------------------
// Calls
// ---------------------------------------------------------------------------------------------

impl ShopifyClient {
    /// One page of orders updated in `[since, until]`, each order whole.
    pub async fn orders_page(
        &self,
        since: Option<&str>,
        until: &str,
        open_only: bool,
        after: Option<&str>,
    ) -> Result<Page<ShopifyOrder>, ShopifyError> {
        let query = orders_search(since, until, open_only)?;
        let r = self
            .execute(
                &ORDERS_UPDATED_SINCE,
                json!({ "query": query, "after": after }),
            )
            .await?;
        let data: OrdersUpdatedSinceData = r.data_as(ORDERS_UPDATED_SINCE.name)?;
        let page =
            page_of(data)?.ok_or_else(|| ShopifyError::Unexpected("orders missing".into()))?;
        let next_cursor = next_cursor(Some(&page.page_info));
        if page.page_info.has_next_page && next_cursor.is_none() {
            return Err(ShopifyError::Unexpected(
                "orders: hasNextPage without an endCursor".into(),
            ));
        }
        if next_cursor.is_some() && next_cursor.as_deref() == after {
            // A caller looping on `next_cursor` would read this page forever.
            return Err(ShopifyError::Unexpected(
                "orders: the end cursor did not advance".into(),
            ));
        }
        let mut items = Vec::with_capacity(page.nodes.len());
        for node in page.nodes {
            items.push(self.whole_order(node).await?);
        }
        Ok(Page { items, next_cursor })
    }

    /// Whether the window holds more than `bulk_threshold` orders (`OrdersCount` up to one past
    /// it). A refused count (an older API, a partial simulator) pages the window.
    pub async fn orders_window_is_large(
        &self,
        since: Option<&str>,
        until: &str,
        open_only: bool,
    ) -> Result<bool, ShopifyError> {
        let query = orders_search(since, until, open_only)?;
        let threshold = self.config.bulk_threshold as u64;
        let r = match self
            .execute(
                &ORDERS_COUNT,
                json!({ "query": query, "limit": threshold.saturating_add(1) }),
            )
            .await
        {
            Ok(r) => r,
            Err(ShopifyError::Rejected { code, message }) => {
                tracing::warn!(%code, %message, "ordersCount refused; paging the window");
                return Ok(false);
            }
            Err(e) => return Err(e),
        };
        let data: OrdersCountData = r.data_as(ORDERS_COUNT.name)?;
        let count = data.orders_count.map(|c| c.count).unwrap_or(0);
        Ok(count > threshold)
    }

    /// Starts the bulk query over a window's orders; the operation's id.
    pub async fn start_orders_bulk(
        &self,
        since: Option<&str>,
        until: &str,
        open_only: bool,
    ) -> Result<String, ShopifyError> {
        let text = bulk_orders_query(&orders_search(since, until, open_only)?)?;
        self.start_bulk_text(BULK_ORDERS_QUERY.name, &text).await
    }

    /// The orders of a finished `BulkOrdersQuery`, reassembled.
    pub async fn read_orders_bulk(&self, url: &str) -> Result<Vec<ShopifyOrder>, ShopifyError> {
        let mut lines = Vec::new();
        self.read_bulk_jsonl::<Value, Value>(url, |line| lines.push(line))
            .await?;
        orders_from_bulk(lines)
    }

    /// One order by id, whole; `None` when unknown.
    pub async fn order_by_id(&self, id: &str) -> Result<Option<ShopifyOrder>, ShopifyError> {
        let r = self.execute(&ORDER, json!({ "id": id })).await?;
        let data: OrderData = r.data_as(ORDER.name)?;
        match data.order {
            None => Ok(None),
            Some(node) => Ok(Some(self.whole_order(node).await?)),
        }
    }

    /// Completes an order read by the order selection with the follow-up queries it needs. An
    /// order that vanishes between the queries keeps what was read, the missing part named in
    /// `incomplete`.
    async fn whole_order(&self, node: OrderNode) -> Result<ShopifyOrder, ShopifyError> {
        let (mut order, rest) = order_from_node(node);
        let mut fo_lines = rest.fulfillment_order_lines_after;
        if let Some(after) = rest.lines_after {
            match self.more_order_lines(&order.id, after).await? {
                Some(lines) => order.line_items.extend(lines),
                None => order.incomplete.push("line_items".into()),
            }
        }
        if rest.details {
            let r = self
                .execute(&ORDER_DETAILS, json!({ "id": order.id }))
                .await?;
            let data: OrderDetailsData = r.data_as(ORDER_DETAILS.name)?;
            match data.order {
                Some(d) => fo_lines = apply_details(&mut order, d),
                None => order.incomplete.push("details".into()),
            }
        }
        for (i, after) in fo_lines {
            let id = order.fulfillment_orders[i].id.clone();
            match self.more_fulfillment_order_lines(&id, after).await? {
                Some(lines) => order.fulfillment_orders[i].lines.extend(lines),
                None => order.incomplete.push("fulfillment_order_lines".into()),
            }
        }
        Ok(order)
    }

    /// The lines of an order from `after` on (`None`: the order is gone).
    async fn more_order_lines(
        &self,
        order_id: &str,
        after: String,
    ) -> Result<Option<Vec<OrderLine>>, ShopifyError> {
        self.follow::<OrderLinesData, _>(&ORDER_LINES, order_id, after, line_from_node)
            .await
    }

    /// The lines of a fulfillment order from `after` on (`None`: it is gone).
    async fn more_fulfillment_order_lines(
        &self,
        fulfillment_order_id: &str,
        after: String,
    ) -> Result<Option<Vec<FulfillmentOrderLine>>, ShopifyError> {
        self.follow::<FulfillmentOrderLinesData, _>(
            &FULFILLMENT_ORDER_LINES,
            fulfillment_order_id,
            after,
            fulfillment_order_line,
        )
        .await
    }

    /// Pages a follow-up document (`$id`, `$after`) from `after` to its end.
    async fn follow<D: PagedData, T>(
        &self,
        document: &crate::Document,
        id: &str,
        mut after: String,
        map: impl Fn(D::Node) -> T,
    ) -> Result<Option<Vec<T>>, ShopifyError> {
        let mut out = Vec::new();
        loop {
            let r = self
                .execute(document, json!({ "id": id, "after": after }))
                .await?;
            let data: D = r.data_as(document.name)?;
            let Some(page) = page_of(data)? else {
                return Ok(None);
            };
            out.extend(page.nodes.into_iter().map(&map));
            match next_cursor(Some(&page.page_info)) {
                None if page.page_info.has_next_page => {
                    return Err(ShopifyError::Unexpected(format!(
                        "{}: hasNextPage without an endCursor",
                        document.name
                    )));
                }
                None => return Ok(Some(out)),
                Some(c) if c == after => {
                    return Err(ShopifyError::Unexpected(format!(
                        "{}: the end cursor did not advance",
                        document.name
                    )));
                }
                Some(c) => after = c,
            }
        }
    }

    /// The fulfillments of an order; `None` for an unknown order.
    pub async fn fulfillments_of(
        &self,
        order_id: &str,
    ) -> Result<Option<Vec<ShopifyFulfillment>>, ShopifyError> {
        let r = self
            .execute(&ORDER_FULFILLMENTS, json!({ "id": order_id }))
            .await?;
        let data: OrderFulfillmentsData = r.data_as(ORDER_FULFILLMENTS.name)?;
        Ok(data.order.map(|o| {
            o.fulfillments
                .into_iter()
                .map(fulfillment_from_node)
                .collect()
        }))
    }

    /// One `fulfillmentCreate`, at most once (see the module docs).
    pub async fn create_fulfillment(
        &self,
        request: &FulfillmentRequest,
    ) -> Result<FulfillmentOutcome, ShopifyError> {
        let variables = fulfillment_variables(request)?;
        let r = self
            .execute_at_most_once(&FULFILLMENT_CREATE, variables)
            .await?;
        fulfillment_outcome(r.data_as(FULFILLMENT_CREATE.name)?)
    }

    /// `orderUpdate` replacing the custom attributes.
    pub async fn set_order_custom_attributes(
        &self,
        order_id: &str,
        attributes: &[OrderAttribute],
    ) -> Result<OrderUpdateOutcome, ShopifyError> {
        if attributes.len() > crate::documents::MAX_NODE_IDS {
            return Err(ShopifyError::InvalidRequest(format!(
                "an order takes at most {} custom attributes in one update, got {}",
                crate::documents::MAX_NODE_IDS,
                attributes.len()
            )));
        }
        let r = self
            .execute(
                &ORDER_UPDATE_CUSTOM_ATTRIBUTES,
                custom_attributes_variables(order_id, attributes),
            )
            .await?;
        order_update_outcome(r.data_as(ORDER_UPDATE_CUSTOM_ATTRIBUTES.name)?)
    }

    /// `orderClose`.
    pub async fn close_order(&self, order_id: &str) -> Result<OrderCloseOutcome, ShopifyError> {
        let r = self
            .execute(&ORDER_CLOSE, json!({ "input": { "id": order_id } }))
            .await?;
        order_close_outcome(r.data_as(ORDER_CLOSE.name)?)
    }

    /// One page of payouts above a legacy id.
    pub async fn payouts_page(
        &self,
        since_legacy_id: Option<u64>,
        after: Option<&str>,
    ) -> Result<Page<ShopifyPayout>, ShopifyError> {
        let query = since_legacy_id.map(|n| format!("id:>{n}"));
        let r = self
            .execute(&PAYOUTS, json!({ "query": query, "after": after }))
            .await?;
        let data: PayoutsData = r.data_as(PAYOUTS.name)?;
        let Some(account) = data.shopify_payments_account else {
            return Ok(Page {
                items: Vec::new(),
                next_cursor: None,
            });
        };
        let page = page_of(AccountPage(account.payouts))?
            .ok_or_else(|| ShopifyError::Unexpected("payouts missing".into()))?;
        Ok(Page {
            next_cursor: next_cursor(Some(&page.page_info)),
            items: page.nodes.into_iter().map(payout_from_node).collect(),
        })
    }

    /// One page of balance transactions processed at or after `since`.
    pub async fn balance_transactions_page(
        &self,
        since: Option<&str>,
        after: Option<&str>,
    ) -> Result<Page<BalanceTransaction>, ShopifyError> {
        let query = match since {
            Some(s) => Some(format!("processed_at:>='{}'", search_time("since", s)?)),
            None => None,
        };
        let r = self
            .execute(
                &BALANCE_TRANSACTIONS,
                json!({ "query": query, "after": after }),
            )
            .await?;
        let data: BalanceTransactionsData = r.data_as(BALANCE_TRANSACTIONS.name)?;
        let Some(account) = data.shopify_payments_account else {
            return Ok(Page {
                items: Vec::new(),
                next_cursor: None,
            });
        };
        let page = page_of(AccountPage(account.balance_transactions))?
            .ok_or_else(|| ShopifyError::Unexpected("balanceTransactions missing".into()))?;
        Ok(Page {
            next_cursor: next_cursor(Some(&page.page_info)),
            items: page
                .nodes
                .into_iter()
                .map(balance_transaction_from_node)
                .collect(),
        })
    }
}

/// A connection already picked out of `data` (the payments account), for [`page_of`].
struct AccountPage<N>(Connection<N>);

impl<'de, N> Deserialize<'de> for AccountPage<N> {
    fn deserialize<D: Deserializer<'de>>(_: D) -> Result<Self, D::Error> {
        Err(de::Error::custom("AccountPage is built, not decoded"))
    }
}

impl<N> PagedData for AccountPage<N> {
    type Node = N;
    const CONNECTION: &'static str = "shopifyPaymentsAccount";
    fn into_connection(self) -> Option<Connection<N>> {
        Some(self.0)
    }
}

#[async_trait]
impl ShopifyOrdersApi for ShopifyClient {
    async fn orders_updated_since(
        &self,
        since: Option<&str>,
        until: &str,
        open_only: bool,
        after: Option<&str>,
    ) -> Result<Page<ShopifyOrder>, SyncError> {
        Ok(self.orders_page(since, until, open_only, after).await?)
    }

    async fn order(&self, id: &str) -> Result<Option<ShopifyOrder>, SyncError> {
        Ok(self.order_by_id(id).await?)
    }

    async fn orders_prefer_bulk(
        &self,
        since: Option<&str>,
        until: &str,
        open_only: bool,
    ) -> Result<Option<bool>, SyncError> {
        Ok(Some(
            self.orders_window_is_large(since, until, open_only).await?,
        ))
    }

    async fn orders_bulk_start(
        &self,
        since: Option<&str>,
        until: &str,
        open_only: bool,
    ) -> Result<String, SyncError> {
        Ok(self.start_orders_bulk(since, until, open_only).await?)
    }

    async fn bulk_operation_wait(
        &self,
        id: &str,
    ) -> Result<shopsync_domain::catalog::BulkMutationStatus, SyncError> {
        let op = self.wait_and_poll_bulk(id).await?;
        Ok(shopsync_domain::catalog::BulkMutationStatus {
            id: op.id,
            status: op.status,
            error_code: op.error_code,
            object_count: op.object_count,
            url: op.url,
            partial_data_url: op.partial_data_url,
        })
    }

    async fn orders_bulk_read(&self, url: &str) -> Result<Vec<ShopifyOrder>, SyncError> {
        Ok(self.read_orders_bulk(url).await?)
    }

    async fn order_fulfillments(
        &self,
        order_id: &str,
    ) -> Result<Option<Vec<ShopifyFulfillment>>, SyncError> {
        Ok(self.fulfillments_of(order_id).await?)
    }

    async fn fulfillment_create(
        &self,
        request: &FulfillmentRequest,
    ) -> Result<FulfillmentOutcome, SyncError> {
        Ok(self.create_fulfillment(request).await?)
    }

    async fn order_set_custom_attributes(
        &self,
        order_id: &str,
        attributes: &[OrderAttribute],
    ) -> Result<OrderUpdateOutcome, SyncError> {
        Ok(self
            .set_order_custom_attributes(order_id, attributes)
            .await?)
    }

    async fn order_close(&self, order_id: &str) -> Result<OrderCloseOutcome, SyncError> {
        Ok(self.close_order(order_id).await?)
    }

    async fn payouts_since(
        &self,
        since_legacy_id: Option<u64>,
        after: Option<&str>,
    ) -> Result<Page<ShopifyPayout>, SyncError> {
        Ok(self.payouts_page(since_legacy_id, after).await?)
    }

    async fn balance_transactions_since(
        &self,
        since: Option<&str>,
        after: Option<&str>,
    ) -> Result<Page<BalanceTransaction>, SyncError> {
        Ok(self.balance_transactions_page(since, after).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::documents::{ORDER_DETAILS, ORDERS_UPDATED_SINCE};
    use shopsync_domain::orders::FulfillmentOrderLines;

    #[test]
    fn the_sizes_here_are_the_documents_sizes() {
        let text = ORDERS_UPDATED_SINCE.text;
        for needle in [
            format!("lineItems(first: {ORDER_LINES_FIRST})"),
            format!("shippingLines(first: {ORDER_SHIPPING_LINES_FIRST})"),
            format!("transactions(first: {ORDER_TRANSACTIONS_FIRST})"),
            format!("refunds(first: {ORDER_REFUNDS_FIRST})"),
            format!("refundLineItems(first: {ORDER_REFUND_LINES_FIRST})"),
            format!("fulfillmentOrders(first: {ORDER_FULFILLMENT_ORDERS_FIRST})"),
        ] {
            assert!(text.contains(&needle), "OrdersUpdatedSince lacks {needle}");
        }
        assert!(
            crate::documents::FULFILLMENT_ORDER_LINES
                .text
                .contains(&format!(
                    "lineItems(first: {FULFILLMENT_ORDER_LINES_FIRST})"
                ))
                || text.contains(&format!(
                    "lineItems(first: {FULFILLMENT_ORDER_LINES_FIRST})"
                ))
        );
        assert!(ORDER_DETAILS.text.contains(&format!(
            "transactions(first: {DETAILS_TRANSACTIONS_FIRST})"
        )));
        assert!(
            ORDER_DETAILS
                .text
                .contains(&format!("refunds(first: {DETAILS_REFUNDS_FIRST})"))
        );
    }

    #[test]
    fn search_terms_are_quoted_and_checked() {
        assert_eq!(
            orders_search(
                Some("2026-05-01T00:00:00Z"),
                "2026-05-02T10:00:00+02:00",
                false
            )
            .unwrap(),
            "updated_at:>='2026-05-01T00:00:00Z' updated_at:<='2026-05-02T10:00:00+02:00'"
        );
        assert_eq!(
            orders_search(None, "2026-05-02T00:00:00Z", true).unwrap(),
            "updated_at:<='2026-05-02T00:00:00Z' status:open"
        );
        for bad in [
            "2026-05-01' OR status:any",
            "",
            "yesterday",
            "2026-05-01 00:00",
        ] {
            assert!(
                matches!(
                    orders_search(Some(bad), "2026-05-02T00:00:00Z", false),
                    Err(ShopifyError::InvalidRequest(_))
                ),
                "{bad:?}"
            );
        }
    }

    fn request(lines: usize) -> FulfillmentRequest {
        FulfillmentRequest {
            order_id: "gid://shopify/Order/1".into(),
            fulfillment_orders: vec![FulfillmentOrderLines {
                fulfillment_order_id: "gid://shopify/FulfillmentOrder/1".into(),
                lines: (0..lines)
                    .map(|i| (format!("gid://shopify/FulfillmentOrderLineItem/{i}"), 1))
                    .collect(),
            }],
            tracking: Some(Tracking {
                number: Some("1Z999".into()),
                company: Some("UPS".into()),
                url: None,
            }),
            notify_customer: true,
        }
    }

    #[test]
    fn fulfillment_variables_and_limits() {
        let v = fulfillment_variables(&request(2)).unwrap();
        let f = &v["fulfillment"];
        assert_eq!(f["notifyCustomer"], true);
        assert_eq!(
            f["trackingInfo"],
            json!({"number": "1Z999", "company": "UPS"})
        );
        let entry = &f["lineItemsByFulfillmentOrder"][0];
        assert_eq!(
            entry["fulfillmentOrderId"],
            "gid://shopify/FulfillmentOrder/1"
        );
        assert_eq!(entry["fulfillmentOrderLineItems"][1]["quantity"], 1);
        let mut whole = request(0);
        whole.tracking = None;
        let v = fulfillment_variables(&whole).unwrap();
        assert!(v["fulfillment"].get("trackingInfo").is_none());
        assert!(
            v["fulfillment"]["lineItemsByFulfillmentOrder"][0]
                .get("fulfillmentOrderLineItems")
                .is_none(),
            "no lines = the whole fulfillment order"
        );
        assert!(fulfillment_variables(&request(250)).is_ok());
        assert!(matches!(
            fulfillment_variables(&request(251)),
            Err(ShopifyError::InvalidRequest(m)) if m.contains("251")
        ));
        let mut empty = request(1);
        empty.fulfillment_orders.clear();
        assert!(fulfillment_variables(&empty).is_err());
    }

    #[test]
    fn attribute_values_are_never_null() {
        let v = custom_attributes_variables(
            "O",
            &[
                OrderAttribute {
                    key: "a".into(),
                    value: None,
                },
                OrderAttribute {
                    key: "BC Doc. No.".into(),
                    value: Some("SO-1".into()),
                },
            ],
        );
        assert_eq!(
            v,
            json!({"input": {"id": "O", "customAttributes": [
                {"key": "a", "value": ""}, {"key": "BC Doc. No.", "value": "SO-1"}]}})
        );
    }

    fn bag(a: &str) -> Value {
        json!({"shopMoney": {"amount": a, "currencyCode": "EUR"},
               "presentmentMoney": {"amount": a, "currencyCode": "USD"}})
    }

    fn order_json(lines: usize, more_lines: bool, transactions: usize) -> Value {
        let line = |i: usize| {
            json!({"id": format!("L{i}"), "sku": if i == 0 { Value::Null } else { json!(format!("S{i}")) },
                "title": "T", "variantTitle": null, "quantity": 2, "currentQuantity": 2,
                "unfulfilledQuantity": 2, "taxable": true, "requiresShipping": true,
                "isGiftCard": false, "variant": {"id": format!("V{i}")},
                "originalUnitPriceSet": bag("12.50"), "totalDiscountSet": bag("0.0")})
        };
        let mut o = json!({
            "id": "O1", "name": "#1001", "createdAt": "2026-05-01T00:00:00Z",
            "updatedAt": "2026-05-01T01:00:00Z", "processedAt": "2026-05-01T00:00:00Z",
            "closed": false, "closedAt": null, "cancelledAt": null, "cancelReason": null,
            "test": false, "displayFinancialStatus": "PAID",
            "displayFulfillmentStatus": "UNFULFILLED", "currencyCode": "EUR",
            "presentmentCurrencyCode": "USD", "email": "a@example.com", "phone": null,
            "poNumber": null, "note": null, "tags": ["b2b"], "taxesIncluded": true,
            "customAttributes": [{"key": "k", "value": null}],
            "customer": {"id": "C1", "firstName": "Ann", "lastName": null,
                "defaultEmailAddress": {"emailAddress": "a@example.com"}, "defaultPhoneNumber": null},
            "purchasingEntity": {"company": {"id": "CO1"}, "location": {"id": "CL1"}},
            "billingAddress": {"city": "Berlin", "countryCodeV2": "DE"},
            "shippingAddress": null,
            "totalPriceSet": bag("25.0"), "currentTotalPriceSet": bag("25.0"),
            "subtotalPriceSet": null, "totalShippingPriceSet": bag("0.0"),
            "totalTaxSet": bag("3.99"), "totalDiscountsSet": bag("0.0"),
            "totalOutstandingSet": bag("0.0")
        });
        let lists = json!({
            "lineItems": {"nodes": (0..lines).map(line).collect::<Vec<_>>(),
                "pageInfo": {"hasNextPage": more_lines, "endCursor": if more_lines { json!("c10") } else { Value::Null }}},
            "shippingLines": {"nodes": [{"title": "Standard", "code": "STD", "source": "shopify",
                "originalPriceSet": bag("4.9"), "discountedPriceSet": bag("4.9")}],
                "pageInfo": {"hasNextPage": false}},
            "transactions": (0..transactions).map(|i| json!({"id": format!("T{i}"), "kind": "SALE",
                "status": "SUCCESS", "gateway": "manual", "processedAt": null,
                "amountSet": bag("25.0"), "parentTransaction": null})).collect::<Vec<_>>(),
            "refunds": [{"id": "R1", "createdAt": "2026-05-02T00:00:00Z",
                "refundLineItems": {"nodes": [{"quantity": 1, "restockType": "NO_RESTOCK",
                    "lineItem": {"id": "L1"}, "subtotalSet": bag("12.5")}],
                    "pageInfo": {"hasNextPage": false}}}],
            "fulfillmentOrders": {"nodes": [{"id": "FO1", "status": "OPEN",
                "requestStatus": "UNSUBMITTED", "assignedLocation": {"location": {"id": "LOC1"}},
                "lineItems": {"nodes": [{"id": "FOL1", "totalQuantity": 2, "remainingQuantity": 2,
                    "lineItem": {"id": "L1"}}], "pageInfo": {"hasNextPage": true, "endCursor": "f1"}}}],
                "pageInfo": {"hasNextPage": false}}
        });
        for (k, v) in lists.as_object().unwrap() {
            o[k] = v.clone();
        }
        o
    }

    #[test]
    fn an_order_node_becomes_the_domain_order() {
        let node: OrderNode = serde_json::from_value(order_json(2, true, 1)).unwrap();
        let (o, rest) = order_from_node(node);
        assert_eq!(o.name, "#1001");
        assert_eq!(o.line_items.len(), 2);
        assert_eq!(o.line_items[0].sku, None);
        assert_eq!(o.line_items[1].sku.as_deref(), Some("S1"));
        assert_eq!(o.line_items[1].variant_id.as_deref(), Some("V1"));
        assert_eq!(o.line_items[0].unit_price.amount, "12.50");
        assert_eq!(o.line_items[0].unit_price.currency, "EUR");
        assert_eq!(o.line_items[0].unit_price_presentment.currency, "USD");
        assert_eq!(o.company.as_ref().unwrap().location_id, "CL1");
        let c = o.customer.as_ref().unwrap();
        assert_eq!(c.email.as_deref(), Some("a@example.com"));
        assert_eq!(c.phone, None);
        assert_eq!(
            o.billing_address.as_ref().unwrap().country_code.as_deref(),
            Some("DE")
        );
        assert_eq!(o.totals.tax.as_ref().unwrap().shop.amount, "3.99");
        assert_eq!(o.totals.subtotal, None);
        assert_eq!(o.shipping_lines[0].price.amount, "4.9");
        assert_eq!(o.refunds[0].lines[0].line_item_id, "L1");
        assert_eq!(o.fulfillment_orders[0].location_id.as_deref(), Some("LOC1"));
        assert_eq!(o.custom_attributes[0].value, None);
        assert_eq!(
            rest,
            Continuations {
                lines_after: Some("c10".into()),
                fulfillment_order_lines_after: vec![(0, "f1".into())],
                details: false
            }
        );
        // Ten transactions may be more: the details follow-up reads them.
        let node: OrderNode = serde_json::from_value(order_json(1, false, 10)).unwrap();
        let (_, rest) = order_from_node(node);
        assert!(rest.details && rest.lines_after.is_none());
        // A customer (not a company) buys: `purchasingEntity` answers `{}`.
        let mut v = order_json(1, false, 1);
        v["purchasingEntity"] = json!({});
        let (o, _) = order_from_node(serde_json::from_value(v).unwrap());
        assert_eq!(o.company, None);
    }

    #[test]
    fn details_replace_the_lists_and_name_what_is_still_cut() {
        let node: OrderNode = serde_json::from_value(order_json(1, false, 10)).unwrap();
        let (mut o, _) = order_from_node(node);
        let details: OrderDetailsNode = serde_json::from_value(json!({
            "shippingLines": {"nodes": [], "pageInfo": {"hasNextPage": false}},
            "transactions": (0..100).map(|i| json!({"id": format!("T{i}"), "kind": "SALE",
                "status": "SUCCESS", "gateway": null, "processedAt": null,
                "amountSet": bag("1.0"), "parentTransaction": {"id": "T0"}})).collect::<Vec<_>>(),
            "refunds": [],
            "fulfillmentOrders": {"nodes": [], "pageInfo": {"hasNextPage": false}}
        }))
        .unwrap();
        let more = apply_details(&mut o, details);
        assert!(more.is_empty());
        assert_eq!(o.transactions.len(), 100);
        assert_eq!(o.transactions[5].parent_id.as_deref(), Some("T0"));
        assert_eq!(o.incomplete, vec!["transactions".to_string()]);
        assert!(o.fulfillment_orders.is_empty());
    }

    #[test]
    fn payloads_and_payments() {
        let d: FulfillmentCreateData = serde_json::from_value(json!({"fulfillmentCreate": {
            "fulfillment": null, "userErrors": [{"field": ["fulfillment"],
            "message": "Invalid fulfillment order line item quantity requested."}]}}))
        .unwrap();
        let o = fulfillment_outcome(d).unwrap();
        assert_eq!(o.fulfillment_id, None);
        assert_eq!(o.user_errors[0].field, vec!["fulfillment"]);
        let d: OrderCloseData = serde_json::from_value(json!({"orderClose": {"order": {
            "id": "O", "closed": true, "closedAt": "2026-05-06T22:08:57Z"}, "userErrors": []}}))
        .unwrap();
        assert!(order_close_outcome(d).unwrap().closed);
        let d: OrderUpdateData = serde_json::from_value(json!({"orderUpdate": {"order": null,
            "userErrors": [{"field": ["id"], "message": "Order does not exist"}]}}))
        .unwrap();
        let u = order_update_outcome(d).unwrap();
        assert!(!u.updated);
        assert_eq!(u.user_errors[0].message, "Order does not exist");
        let m = |a: &str| json!({"amount": a, "currencyCode": "EUR"});
        let b: BalanceTransactionNode =
            serde_json::from_value(json!({"id": "B1", "type": "CHARGE",
            "test": false, "transactionDate": "2026-05-01T00:00:00Z", "sourceType": "CHARGE",
            "sourceId": 123456789012345678u64, "sourceOrderTransactionId": "42",
            "amount": m("10.0"), "fee": m("0.59"), "net": m("9.41"),
            "associatedOrder": {"id": "O1", "name": "#1001"},
            "associatedPayout": {"id": null, "status": null}}))
            .unwrap();
        let b = balance_transaction_from_node(b);
        assert_eq!(b.source_id.as_deref(), Some("123456789012345678"));
        assert_eq!(b.source_order_transaction_id.as_deref(), Some("42"));
        assert_eq!(b.fee.amount, "0.59");
        assert_eq!(b.order_name.as_deref(), Some("#1001"));
        assert!(
            serde_json::from_value::<BalanceTransactionNode>(json!({"id": "B", "type": "CHARGE",
            "test": false, "transactionDate": "t", "sourceId": "12a", "amount": m("1"),
            "fee": m("0"), "net": m("1"), "associatedPayout": {}}))
            .is_err()
        );
    }

    /// A `BulkOrdersQuery` root line: the order's own fields, without its connections.
    fn bulk_root(id: &str, name: &str) -> Value {
        let mut o = order_json(0, false, 12);
        let m = o.as_object_mut().unwrap();
        for k in ["lineItems", "shippingLines", "fulfillmentOrders"] {
            m.remove(k);
        }
        m.insert("refunds".into(), json!([{"id": "R1", "createdAt": null}]));
        m.insert("id".into(), json!(id));
        m.insert("name".into(), json!(name));
        o
    }

    fn bulk_line(id: &str, parent: &str, sku: &str) -> Value {
        json!({"id": id, "sku": sku, "title": "T", "variantTitle": null, "quantity": 3,
            "currentQuantity": 3, "unfulfilledQuantity": 3, "taxable": true,
            "requiresShipping": true, "isGiftCard": false, "variant": {"id": "V1"},
            "originalUnitPriceSet": bag("1.0"), "totalDiscountSet": bag("0.0"),
            "__parentId": parent})
    }

    fn bulk_shipping(id: Option<&str>, parent: &str) -> Value {
        json!({"id": id, "title": "Express", "code": "EXP", "source": "shopify",
            "originalPriceSet": bag("9.0"), "discountedPriceSet": bag("9.0"),
            "__parentId": parent})
    }

    fn jsonl(lines: &[Value]) -> String {
        lines
            .iter()
            .map(|l| l.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn bulk_orders_are_put_back_together_whole() {
        let o1 = "gid://shopify/Order/1";
        let o2 = "gid://shopify/Order/2";
        // Children follow their order but not necessarily directly; a blank line is ignored.
        let text = jsonl(&[
            bulk_root(o1, "#1001"),
            bulk_line("gid://shopify/LineItem/11", o1, "A"),
            bulk_root(o2, "#1002"),
            bulk_shipping(Some("gid://shopify/ShippingLine/1"), o1),
            bulk_line("gid://shopify/LineItem/21", o2, "C"),
            bulk_line("gid://shopify/LineItem/12", o1, "B"),
            bulk_shipping(None, o2),
        ]) + "\n\n";
        let orders =
            orders_from_bulk(crate::bulk::parse_jsonl::<Value, Value>(&text).unwrap()).unwrap();
        assert_eq!(orders.len(), 2);
        let (a, b) = (&orders[0], &orders[1]);
        assert_eq!((a.id.as_str(), a.name.as_str()), (o1, "#1001"));
        let skus: Vec<_> = a.line_items.iter().map(|l| l.sku.as_deref()).collect();
        assert_eq!(skus, [Some("A"), Some("B")], "in file order");
        assert_eq!(a.line_items[1].id, "gid://shopify/LineItem/12");
        assert_eq!(a.line_items[0].current_quantity, 3);
        assert_eq!(a.shipping_lines.len(), 1);
        assert_eq!(a.shipping_lines[0].code.as_deref(), Some("EXP"));
        assert_eq!(b.line_items.len(), 1);
        // A shipping line without an id is still told from an order line (it has no quantity).
        assert_eq!(b.shipping_lines.len(), 1);
        // Lists read whole: nothing is marked incomplete, however long (12 transactions).
        assert_eq!(a.transactions.len(), 12);
        assert!(a.incomplete.is_empty());
        assert!(a.fulfillment_orders.is_empty());
        assert_eq!(a.refunds[0].id, "R1");
        assert!(a.refunds[0].lines.is_empty());
        assert_eq!(a.customer.as_ref().unwrap().id, "C1");
        // Same as the paged path for the fields staging hashes.
        let paged: OrderNode = serde_json::from_value(order_json(1, false, 1)).unwrap();
        let (paged, _) = order_from_node(paged);
        assert_eq!(a.totals.shipping, paged.totals.shipping);
    }

    #[test]
    fn bulk_orders_refuse_a_line_without_its_order() {
        let text = jsonl(&[
            bulk_root("gid://shopify/Order/1", "#1"),
            bulk_line("gid://shopify/LineItem/9", "gid://shopify/Order/9", "X"),
        ]);
        let e =
            orders_from_bulk(crate::bulk::parse_jsonl::<Value, Value>(&text).unwrap()).unwrap_err();
        assert!(
            matches!(&e, ShopifyError::Unexpected(m) if m.contains("gid://shopify/Order/9")),
            "{e:?}"
        );
        // An order line of the wrong shape names the order and the path.
        let mut bad = bulk_root("gid://shopify/Order/1", "#1");
        bad["closed"] = json!("no");
        let e = orders_from_bulk(crate::bulk::parse_jsonl::<Value, Value>(&jsonl(&[bad])).unwrap())
            .unwrap_err();
        assert!(
            matches!(&e, ShopifyError::Unexpected(m) if m.contains("order 1") && m.contains("closed")),
            "{e:?}"
        );
    }

    #[test]
    fn the_bulk_query_takes_the_window_search() {
        let search =
            orders_search(Some("2026-01-01T00:00:00Z"), "2026-02-01T00:00:00Z", true).unwrap();
        let q = bulk_orders_query(&search).unwrap();
        assert!(q.contains(
            "orders(query: \"updated_at:>='2026-01-01T00:00:00Z' updated_at:<='2026-02-01T00:00:00Z' status:open\", sortKey: UPDATED_AT)"
        ), "{q}");
        assert!(!q.contains(SEARCH_PLACEHOLDER));
        // A quote cannot end the string early.
        let q = bulk_orders_query("a\" b").unwrap();
        assert!(q.contains("orders(query: \"a\\\" b\""), "{q}");
    }

    #[test]
    fn bulk_write_back_lines_and_results() {
        let mut out = String::new();
        order_attributes_lines(
            &[
                shopsync_domain::orders::OrderAttributesUpdate {
                    order_id: "gid://shopify/Order/1".into(),
                    attributes: vec![OrderAttribute {
                        key: "BC Doc. No.".into(),
                        value: Some("SO-1".into()),
                    }],
                },
                shopsync_domain::orders::OrderAttributesUpdate {
                    order_id: "gid://shopify/Order/2".into(),
                    attributes: Vec::new(),
                },
            ],
            &mut out,
        )
        .unwrap();
        let lines: Vec<Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(
            lines[0],
            json!({"input": {"id": "gid://shopify/Order/1", "customAttributes": [
                {"key": "BC Doc. No.", "value": "SO-1"}]}})
        );
        assert_eq!(lines.len(), 2);
        let ok =
            json!({"orderUpdate": {"order": {"id": "gid://shopify/Order/1"}, "userErrors": []}});
        assert!(bulk_order_update_errors("line 1", &ok).unwrap().is_empty());
        let refused = json!({"orderUpdate": {"order": null, "userErrors": [
            {"field": ["id"], "message": "Order does not exist"}]}});
        let e = bulk_order_update_errors("line 2", &refused).unwrap();
        assert_eq!(e[0].message, "Order does not exist");
        let silent = json!({"orderUpdate": {"order": null, "userErrors": []}});
        assert_eq!(
            bulk_order_update_errors("line 3", &silent).unwrap().len(),
            1
        );
    }
}
