//! The staged order: one record of kind [`STAGED_ORDERS`] per Shopify order (id: the order's GID),
//! the reference's `Shpfy Order Header` + lines + `Has Error`/`Error Message` in one JSON body.
//!
//! The record's **status** is what the status board counts (`unprocessed`,
//! `changed_after_processing`; create-sales-orders moves it to `processed`), and the body carries
//! `name` and `error` for its drill-down ([`shopsync_domain::staging::cue_detail`]).
//!
//! Why a **change hash**: Shopify moves an order's `updatedAt` for many reasons, among them our own
//! write-back of the BC document number. What makes a processed order's BC document wrong is a
//! change of its lines, their quantities or its shipping charge (the reference's `Line Items
//! Redundancy Code`, quantity and shipping checks), so that is what the hash covers; a processed order
//! whose hash is unchanged is left alone, one whose hash moved is flagged and never applied again.
//!
//! The contract with create-sales-orders: it moves a record to `processed` keeping `updated_at` and
//! `change_hash` of the version it made the document from (it may add fields of its own; flagging
//! keeps them).
//!
//! Why the whole Shopify order rides along: create-sales-orders builds the document from the staged
//! record without reading Shopify again. A DynamoDB item holds at most 400 KB, so an order whose body
//! would pass [`MAX_BODY_BYTES`] is staged without it (`order_omitted`), and that task reads it again.

use super::mapping::{Contact, StagedLine};
use serde::{Deserialize, Serialize};
use shopsync_domain::SyncError;
use shopsync_domain::orders::{OrderTotals, ShopifyOrder};
use shopsync_domain::ports::{LedgerEntry, Result};
use shopsync_domain::sales::Decimal;
use shopsync_domain::text::bounded;

pub use shopsync_domain::staging::{STAGED_ORDERS, order_status};

/// Largest staged body kept with the whole order (well under DynamoDB's 400 KB item, which also
/// holds the keys and the status index attributes).
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// Characters of the composed `error` (the drill-down bounds it at 500 with the name).
pub const MAX_ERROR_CHARS: usize = 400;

/// The message of a processed order that changed in Shopify afterwards.
pub const CHANGED_AFTER_PROCESSING: &str =
    "order changed after it was processed; changes were not applied";

/// The body of a staged order record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StagedOrder {
    /// `#1001`: the drill-down shows it, and it becomes the document's external document number.
    pub name: String,
    pub order_id: String,
    /// Shopify's `updatedAt` of the version staged (deduplication: the same version is not
    /// written twice).
    pub updated_at: String,
    pub closed: bool,
    pub cancelled: bool,
    pub currency: String,
    pub presentment_currency: String,
    /// The BC customer the order is for; `None` until mapped.
    #[serde(default)]
    pub customer_no: Option<String>,
    /// How the buyer is found in BC (`None`: the default customer serves, or nothing to go by).
    #[serde(default)]
    pub contact: Option<Contact>,
    /// A BC customer is being created for this buyer (a ledgered effect of the same run).
    #[serde(default)]
    pub customer_pending: bool,
    #[serde(default)]
    pub customer_error: Option<String>,
    /// Problems of the order itself (Shopify returned part of it; too large to stage).
    #[serde(default)]
    pub order_error: Option<String>,
    pub lines: Vec<StagedLine>,
    pub totals: OrderTotals,
    pub change_hash: String,
    /// Customer and every line mapped: ready for create-sales-orders.
    pub mapped: bool,
    /// Why the order is not mapped (all reasons, bounded); `None` when it is.
    #[serde(default)]
    pub error: Option<String>,
    /// The order as Shopify gave it, unless it would make the record too large.
    #[serde(default)]
    pub order: Option<ShopifyOrder>,
    #[serde(default)]
    pub order_omitted: bool,
    /// The BC document made from this order, once it exists (status `processed`).
    #[serde(default)]
    pub document: Option<DocumentRef>,
    /// Why the last attempt to make the document failed (BC refused it, or it cannot be made); part
    /// of `error`, but not of `mapped`: the next run tries again.
    #[serde(default)]
    pub document_error: Option<String>,
    /// Staged new with `auto_create_orders` on: sync-orders makes its document as soon as it is
    /// mapped (the reference does so for new orders only).
    #[serde(default)]
    pub auto_create: bool,
    /// The run that last planned the document ([`DocumentClaim`]); kept when the order is staged again.
    #[serde(default)]
    pub document_claim: Option<DocumentClaim>,
}

/// The BC document an order became.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentRef {
    /// `sales_order`, `sales_invoice`, or a posted document found by the probe.
    pub kind: String,
    pub number: String,
    pub id: String,
}

/// Which run planned an order's document, and when. BC has no idempotency keys, so this is how a
/// document planned by one job is never made again by another:
///
/// - another job's claim younger than [`CLAIM_SECS`] means that job may be sending it right now: the
///   order is left to it;
/// - an older claim means that job may have made the document and died before saying so: the next
///   plan looks the document up by its external number before it sends anything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentClaim {
    pub job_id: String,
    pub at: i64,
}

/// How long a claim keeps other jobs off an order: longer than a plan lives before its unsent
/// effects are dropped (`engine::DEFAULT_MAX_PLAN_AGE_SECS`) plus a run's heartbeat timeout.
pub const CLAIM_SECS: i64 = 30 * 60;

/// What a run planning an order's document does about an existing claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimCheck {
    /// No claim, or this job's own: send without a lookup.
    Free,
    /// Another job's recent claim: leave the order this time.
    HeldElsewhere,
    /// Another job's old claim: look the document up first.
    ProbeFirst,
}

impl DocumentClaim {
    pub fn check(claim: Option<&DocumentClaim>, job_id: &str, now: i64) -> ClaimCheck {
        match claim {
            None => ClaimCheck::Free,
            Some(c) if c.job_id == job_id => ClaimCheck::Free,
            Some(c) if now - c.at < CLAIM_SECS => ClaimCheck::HeldElsewhere,
            Some(_) => ClaimCheck::ProbeFirst,
        }
    }
}

impl StagedOrder {
    /// `order` staged with its lines mapped and its customer not yet decided.
    pub fn new(order: &ShopifyOrder, lines: Vec<StagedLine>) -> StagedOrder {
        let mut staged = StagedOrder {
            name: bounded(&order.name, 100),
            order_id: order.id.clone(),
            updated_at: order.updated_at.clone(),
            closed: order.closed,
            cancelled: order.cancelled_at.is_some(),
            currency: order.currency.clone(),
            presentment_currency: order.presentment_currency.clone(),
            customer_no: None,
            contact: None,
            customer_pending: false,
            customer_error: None,
            order_error: (!order.incomplete.is_empty()).then(|| {
                bounded(
                    &format!(
                        "Shopify returned only part of the order ({})",
                        order.incomplete.join(", ")
                    ),
                    200,
                )
            }),
            lines,
            totals: order.totals.clone(),
            change_hash: change_hash(order),
            mapped: false,
            error: None,
            order: Some(order.clone()),
            order_omitted: false,
            document: None,
            document_error: None,
            auto_create: false,
            document_claim: None,
        };
        staged.refresh();
        staged
    }

    /// Recompute `mapped` and `error` from the parts.
    pub fn refresh(&mut self) {
        let mut problems: Vec<&str> = Vec::new();
        problems.extend(self.order_error.as_deref());
        problems.extend(self.customer_error.as_deref());
        problems.extend(self.lines.iter().filter_map(|l| l.error.as_deref()));
        self.mapped = problems.is_empty() && self.customer_no.is_some() && !self.customer_pending;
        problems.extend(self.document_error.as_deref());
        self.error = (!problems.is_empty()).then(|| bounded(&problems.join("; "), MAX_ERROR_CHARS));
    }

    /// The record body: with the whole order if it fits in [`MAX_BODY_BYTES`], else without it, and
    /// as a last resort without its lines (flagged, so it is never processed from a partial body).
    pub fn to_body(&mut self) -> Result<String> {
        let body = to_json(self)?;
        if body.len() <= MAX_BODY_BYTES {
            return Ok(body);
        }
        self.order = None;
        self.order_omitted = true;
        let body = to_json(self)?;
        if body.len() <= MAX_BODY_BYTES {
            return Ok(body);
        }
        let count = self.lines.len();
        self.lines.clear();
        self.order_error = Some(format!(
            "order too large to stage ({count} lines); not imported"
        ));
        self.refresh();
        to_json(self)
    }
}

fn to_json<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| SyncError::Internal(format!("serialising: {e}")))
}

/// What every stored staged order is read for, whatever wrote it last (create-sales-orders may add
/// fields of its own; they are kept when the record is flagged).
#[derive(Debug, Default, Deserialize)]
pub struct StoredHead {
    #[serde(default)]
    pub updated_at: String,
    #[serde(default)]
    pub change_hash: String,
    #[serde(default)]
    pub customer_pending: bool,
    #[serde(default)]
    pub document_claim: Option<DocumentClaim>,
}

impl StoredHead {
    pub fn read(body: &str) -> StoredHead {
        serde_json::from_str(body).unwrap_or_default()
    }
}

/// The order's line ids with their current quantities, and its shipping charge: what, once
/// changed, makes a BC document made from an earlier version wrong.
pub fn change_hash(order: &ShopifyOrder) -> String {
    let mut lines: Vec<(&str, i64)> = order
        .line_items
        .iter()
        .map(|l| (l.id.as_str(), l.current_quantity))
        .collect();
    lines.sort();
    let shipping = &order.totals.shipping.shop.amount;
    let shipping = Decimal::parse(shipping)
        .map(|d| d.as_str().to_string())
        .unwrap_or_else(|_| shipping.clone());
    let text = serde_json::json!({ "lines": lines, "shipping": shipping }).to_string();
    LedgerEntry::sha256_hex(&text)
}

/// The flagged body of a processed order that changed: the stored body as it was (the version the
/// BC document was made from), with the message and the version that changed.
pub fn flagged_body(stored: &str, order: &ShopifyOrder) -> Result<String> {
    let mut body: serde_json::Value = serde_json::from_str(stored).map_err(|e| {
        SyncError::Internal(format!(
            "staged order {} has an unreadable body: {e}",
            shopsync_domain::text::preview(&order.id)
        ))
    })?;
    let Some(fields) = body.as_object_mut() else {
        return Err(SyncError::Internal(format!(
            "staged order {} is not a JSON object",
            shopsync_domain::text::preview(&order.id)
        )));
    };
    fields.insert("error".into(), CHANGED_AFTER_PROCESSING.into());
    fields.insert("changed_updated_at".into(), order.updated_at.clone().into());
    fields.insert("changed_hash".into(), change_hash(order).into());
    if !fields.contains_key("name") {
        fields.insert("name".into(), order.name.clone().into());
    }
    to_json(&body)
}
