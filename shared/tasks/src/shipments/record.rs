//! The shipment record: one record of kind [`SHIPMENTS`] per posted BC shipment of a Shopify order
//! (id: the BC shipment id), the reference's `Shpfy Fulfillment Id` on the shipment header with the
//! reason beside it.
//!
//! **Status** ([`shipment_status`]): `not_synced` (0: waiting, also when the order is not in Shopify
//! yet — `error` says so — or while its fulfillments are in flight), `fulfilled` (the fulfillment ids
//! are in the body), `error` (−1, with `error`), `nothing_to_fulfil` (−2). The status board counts
//! `not_synced` and `error`; its drill-down shows `name` (the shipment number) and `error`.
//!
//! **Requests.** Once a shipment's fulfillments are worked out, the requests are written into the
//! record **before** any is sent, each with the quantities per order line it should come to, when it
//! was planned and by which job. They are never worked out again: a later run (a job that died for
//! good, a plan that expired) finds them still pending and sends the same requests — after probing,
//! when another job planned them ([`PlannedRequest::planned_by`]) — so a request whose answer was lost
//! cannot become a second fulfillment.

use super::allocate::ShippedItem;
use serde::{Deserialize, Serialize};
use shopsync_domain::SyncError;
use shopsync_domain::orders::FulfillmentRequest;
use shopsync_domain::ports::{Record, Result};
use shopsync_domain::text::{bounded, preview};
use std::collections::BTreeMap;

pub use shopsync_domain::staging::{SHIPMENTS, shipment_status};

/// Characters of the composed `error` (the drill-down bounds it at 500 with the name).
pub const MAX_ERROR_CHARS: usize = 400;

/// The reference's message when no line of the shipment has an open fulfillment-order line.
pub const NO_FULFILLMENT_LINES: &str = "No corresponding fulfillment lines found.";
/// The reference's message for a shipment without item lines.
pub const NO_LINES: &str = "No lines applicable for fulfillment.";

/// What became of one request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum RequestResult {
    /// Planned; sent or not, its outcome is not known yet.
    #[default]
    Pending,
    Fulfilled {
        fulfillment_id: String,
    },
    /// Shopify refused it (userErrors, or the request itself): the reason.
    Refused {
        message: String,
    },
}

/// One `fulfillmentCreate` of the shipment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedRequest {
    pub request: FulfillmentRequest,
    /// Quantities per order line the fulfillment comes to (resolved against the order as planned).
    pub expected: BTreeMap<String, i64>,
    /// When it was first planned (epoch seconds): a fulfillment found later is created after this.
    pub since: i64,
    /// The job that planned it: another job probes before it sends.
    pub planned_by: String,
    #[serde(default)]
    pub result: RequestResult,
}

/// The body of a shipment record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ShipmentBody {
    /// The shipment number (`S-SHPT102001`): what the drill-down shows.
    pub name: String,
    /// The Shopify order name (the shipment's external document number).
    pub order_name: String,
    pub order_id: String,
    pub bc_order_number: String,
    /// What was shipped, in whole units per item.
    pub items: Vec<ShippedItem>,
    pub requests: Vec<PlannedRequest>,
    pub error: Option<String>,
    /// The plan step that handled the record last (`<plan>#<step>`): a record is planned once a plan.
    pub handled_in: String,
}

impl ShipmentBody {
    pub fn read(id: &str, body: &str) -> Result<ShipmentBody> {
        serde_json::from_str(body).map_err(|e| {
            SyncError::Internal(format!(
                "shipment record {} has an unreadable body: {e}",
                preview(id)
            ))
        })
    }

    /// The record of shipment `id` with `status`, over `version`.
    pub fn to_record(&self, id: &str, status: &str, version: u64) -> Result<Record> {
        let body = serde_json::to_string(self)
            .map_err(|e| SyncError::Internal(format!("serialising: {e}")))?;
        Ok(Record {
            version,
            ..Record::new(id, Some(status), body)
        })
    }

    /// The ids of the fulfillments made so far.
    pub fn fulfillment_ids(&self) -> Vec<&str> {
        self.requests
            .iter()
            .filter_map(|r| match &r.result {
                RequestResult::Fulfilled { fulfillment_id } => Some(fulfillment_id.as_str()),
                _ => None,
            })
            .collect()
    }

    /// The status the requests come to, with `error` set to match: `not_synced` while one is
    /// pending, else `error` if one was refused (naming the fulfillments made anyway), else
    /// `fulfilled`.
    pub fn settle_status(&mut self) -> &'static str {
        if self
            .requests
            .iter()
            .any(|r| r.result == RequestResult::Pending)
        {
            return shipment_status::NOT_SYNCED;
        }
        let refused: Vec<&str> = self
            .requests
            .iter()
            .filter_map(|r| match &r.result {
                RequestResult::Refused { message } => Some(message.as_str()),
                _ => None,
            })
            .collect();
        if refused.is_empty() {
            self.error = None;
            return shipment_status::FULFILLED;
        }
        let mut error = refused.join("; ");
        let made = self.fulfillment_ids();
        if !made.is_empty() {
            error = format!("{error} (fulfilled in part: {})", made.join(", "));
        }
        self.error = Some(bounded(&error, MAX_ERROR_CHARS));
        shipment_status::ERROR
    }
}

/// Whether a shipment in `status` is finished with (the reference's fulfillment id ≠ 0).
pub fn is_done(status: Option<&str>) -> bool {
    matches!(
        status,
        Some(
            shipment_status::FULFILLED
                | shipment_status::ERROR
                | shipment_status::NOTHING_TO_FULFIL
        )
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn planned(result: RequestResult) -> PlannedRequest {
        PlannedRequest {
            request: FulfillmentRequest {
                order_id: "O1".into(),
                fulfillment_orders: Vec::new(),
                tracking: None,
                notify_customer: true,
            },
            expected: BTreeMap::new(),
            since: 0,
            planned_by: "job".into(),
            result,
        }
    }

    fn fulfilled(id: &str) -> RequestResult {
        RequestResult::Fulfilled {
            fulfillment_id: id.into(),
        }
    }

    #[test]
    fn the_status_follows_the_requests() {
        let mut body = ShipmentBody {
            requests: vec![planned(fulfilled("F1")), planned(RequestResult::Pending)],
            ..ShipmentBody::default()
        };
        assert_eq!(body.settle_status(), shipment_status::NOT_SYNCED);
        body.requests[1].result = fulfilled("F2");
        assert_eq!(body.settle_status(), shipment_status::FULFILLED);
        assert_eq!(body.fulfillment_ids(), vec!["F1", "F2"]);
        assert_eq!(body.error, None);
        body.requests[1].result = RequestResult::Refused {
            message: "Invalid fulfillment order line item quantity requested.".into(),
        };
        assert_eq!(body.settle_status(), shipment_status::ERROR);
        assert_eq!(
            body.error.as_deref(),
            Some("Invalid fulfillment order line item quantity requested. (fulfilled in part: F1)")
        );
        assert!(is_done(Some(shipment_status::ERROR)));
        assert!(!is_done(Some(shipment_status::NOT_SYNCED)) && !is_done(None));
    }

    #[test]
    fn the_board_lists_the_shipment_number_and_its_error() {
        let body = ShipmentBody {
            name: "S-SHPT102001".into(),
            error: Some(NO_FULFILLMENT_LINES.into()),
            ..ShipmentBody::default()
        };
        let record = body.to_record("id-1", shipment_status::ERROR, 0).unwrap();
        assert_eq!(
            shopsync_domain::staging::cue_detail(&record.body),
            format!("S-SHPT102001: {NO_FULFILLMENT_LINES}")
        );
        assert_eq!(ShipmentBody::read("id-1", &record.body).unwrap(), body);
    }
}
