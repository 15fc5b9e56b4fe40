//! The per-record states of the order tasks, as they keep them in the record store, and which of
//! them the status board's order cues count.
//!
//! The reference counts its cues over its own tables (`Shpfy Order Header` where `Processed = false`,
//! posted sales shipments whose `Shpfy Fulfillment Id` is 0 or −1, …). Here each staged order and
//! each shipment is one record of the generic record store with one status, and a cue is a count on
//! the store's sparse status index ([`Cue::record_source`]), so the board reads no order itself.
//!
//! A record body that a cue lists carries `name` (what people call it: `#1001`, a shipment number) and
//! may carry `error` (why it is stuck); the drill-down shows them ([`cue_detail`]).

use crate::status::Cue;

/// Orders staged by sync-orders (id: the Shopify order GID).
pub const STAGED_ORDERS: &str = "staged-orders";
/// BC posted sales shipments of Shopify orders (id: the BC shipment id).
pub const SHIPMENTS: &str = "shipments";

/// BC documents made from Shopify orders, by the document's external document number as BC stores
/// it ([`crate::sales::to_code`] of the order name); body: [`OrderDocumentLink`]. How a posted BC
/// shipment (which carries that number) finds its Shopify order.
pub const ORDER_DOCUMENTS: &str = "order-documents";
/// Shopify Payments payouts (id: the payout's numeric id, zero-padded to 20 digits so id order is
/// numeric order); status: the payout's status, lower case.
pub const PAYOUTS: &str = "payouts";
/// Shopify Payments balance transactions (id: the transaction GID).
pub const BALANCE_TRANSACTIONS: &str = "balance-transactions";
/// Shopify products a sync-products import could not link to a BC item, by numeric product id,
/// with status [`UNMAPPED`] (the unmapped-products cue).
pub const UNMAPPED_PRODUCTS: &str = "catalogue-unmapped-products";
/// The status of an [`UNMAPPED_PRODUCTS`] record.
pub const UNMAPPED: &str = "unmapped";

/// The body of an [`ORDER_DOCUMENTS`] record: which Shopify order a BC document was made from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OrderDocumentLink {
    /// The Shopify order GID (also the id of its staged order record).
    pub order_id: String,
    /// The order name (`#1001`).
    pub name: String,
    pub kind: crate::sales::SalesDocumentKind,
    /// The BC document number (`S-ORD101001`).
    pub number: String,
    /// The BC document's API id.
    pub document_id: String,
}

/// Statuses of a staged order.
pub mod order_status {
    /// Not turned into a BC document yet (also when the last attempt failed: the body has `error`).
    pub const UNPROCESSED: &str = "unprocessed";
    /// Turned into a BC document.
    pub const PROCESSED: &str = "processed";
    /// Changed in Shopify after it was processed: flagged, never applied again (the reference's
    /// order-state error).
    pub const CHANGED_AFTER_PROCESSING: &str = "changed_after_processing";
}

/// Statuses of a shipment (the reference's `Shpfy Fulfillment Id`: 0, a fulfillment, −1, −2).
pub mod shipment_status {
    pub const NOT_SYNCED: &str = "not_synced";
    pub const FULFILLED: &str = "fulfilled";
    pub const ERROR: &str = "error";
    pub const NOTHING_TO_FULFIL: &str = "nothing_to_fulfil";
}

impl Cue {
    /// The records this cue counts: `(kind, status)` on the record store's status index, or `None`
    /// for the cues counted elsewhere (unmapped records, jobs, failures, skipped records).
    pub fn record_source(self) -> Option<(&'static str, &'static str)> {
        match self {
            Cue::UnprocessedOrders => Some((STAGED_ORDERS, order_status::UNPROCESSED)),
            Cue::UnprocessedOrderUpdates => {
                Some((STAGED_ORDERS, order_status::CHANGED_AFTER_PROCESSING))
            }
            Cue::UnprocessedShipments => Some((SHIPMENTS, shipment_status::NOT_SYNCED)),
            Cue::ShipmentErrors => Some((SHIPMENTS, shipment_status::ERROR)),
            Cue::UnmappedCustomers => Some((
                crate::customers::CUSTOMERS,
                crate::customers::customer_status::UNMAPPED,
            )),
            Cue::UnmappedCompanies => Some((
                crate::companies::COMPANIES,
                crate::companies::company_status::UNMAPPED,
            )),
            Cue::UnmappedProducts => Some((UNMAPPED_PRODUCTS, UNMAPPED)),
            _ => None,
        }
    }

    /// Whether the cue counts cue entries too: those without records, and unmapped products, which
    /// are both the variants sync-inventory's mapping could not map (entries, replaced by each full
    /// mapping) and the products a sync-products import could not link (records).
    pub fn counts_entries(self) -> bool {
        self.record_source().is_none() || self == Cue::UnmappedProducts
    }
}

/// The drill-down text of a record: its `name`, and its `error` when it has one.
pub fn cue_detail(body: &str) -> String {
    #[derive(serde::Deserialize)]
    struct Listed {
        #[serde(default, alias = "title")]
        name: String,
        #[serde(default, alias = "reason")]
        error: Option<String>,
    }
    match serde_json::from_str::<Listed>(body) {
        Ok(Listed {
            name,
            error: Some(e),
        }) if !e.is_empty() => crate::text::bounded(&format!("{name}: {e}"), 500),
        Ok(Listed { name, .. }) => crate::text::bounded(&name, 500),
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_order_cue_has_its_own_records() {
        let sources: Vec<_> = Cue::ALL.iter().filter_map(|c| c.record_source()).collect();
        assert_eq!(
            sources.len(),
            7,
            "4 order and shipment cues, unmapped customers, companies and products"
        );
        for (i, s) in sources.iter().enumerate() {
            assert!(!sources[..i].contains(s), "{s:?} counted by two cues");
        }
        assert!(
            Cue::UnmappedProducts.counts_entries(),
            "inventory's entries too"
        );
        assert!(!Cue::UnprocessedOrders.counts_entries());
        assert!(Cue::SkippedRecords.counts_entries());
    }

    #[test]
    fn an_unmapped_product_reads_as_its_title_and_reason() {
        assert_eq!(
            cue_detail(
                r#"{"product_id":"gid://shopify/Product/1","title":"Lamp","reason":"no item"}"#
            ),
            "Lamp: no item"
        );
    }

    #[test]
    fn the_detail_names_the_record_and_its_error() {
        assert_eq!(
            cue_detail(r##"{"name":"#1001","error":"no customer"}"##),
            "#1001: no customer"
        );
        assert_eq!(cue_detail(r##"{"name":"#1002","error":""}"##), "#1002");
        assert_eq!(cue_detail("not json"), "");
    }
}
