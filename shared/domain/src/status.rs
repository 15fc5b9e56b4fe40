//! The status board: the reference connector's "Shopify Activities" cues, per shop, and the failures
//! on-call acts on.
//!
//! The cues keep the reference's meaning and thresholds (reference/bc-connector.md §4): the first
//! eight are favourable at 0, ambiguous at 1–5 and unfavourable above 5; skipped records are
//! ambiguous as soon as there is one, API errors unfavourable as soon as there is one. Every figure is
//! counted from a sparse index (never a table scan) and comes with the API path of its drill-down list.
//!
//! A [`Failure`] is one message on the shared dead-letter queue, mirrored into the table so that it
//! can be counted, listed per shop, retried once and discarded, while the message itself stays on the
//! queue (and keeps the depth alarm raised) until on-call has dealt with it.

use crate::catalogue::TaskKind;
use crate::job::JobStatus;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// The ten cues of the reference's Activities page, in its order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cue {
    UnmappedCustomers,
    UnmappedCompanies,
    UnmappedProducts,
    UnprocessedOrders,
    UnprocessedOrderUpdates,
    UnprocessedShipments,
    ShipmentErrors,
    SynchronizationErrors,
    SkippedRecords,
    ApiErrors,
}

impl Cue {
    pub const ALL: [Cue; 10] = [
        Cue::UnmappedCustomers,
        Cue::UnmappedCompanies,
        Cue::UnmappedProducts,
        Cue::UnprocessedOrders,
        Cue::UnprocessedOrderUpdates,
        Cue::UnprocessedShipments,
        Cue::ShipmentErrors,
        Cue::SynchronizationErrors,
        Cue::SkippedRecords,
        Cue::ApiErrors,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Cue::UnmappedCustomers => "unmapped_customers",
            Cue::UnmappedCompanies => "unmapped_companies",
            Cue::UnmappedProducts => "unmapped_products",
            Cue::UnprocessedOrders => "unprocessed_orders",
            Cue::UnprocessedOrderUpdates => "unprocessed_order_updates",
            Cue::UnprocessedShipments => "unprocessed_shipments",
            Cue::ShipmentErrors => "shipment_errors",
            Cue::SynchronizationErrors => "synchronization_errors",
            Cue::SkippedRecords => "skipped_records",
            Cue::ApiErrors => "api_errors",
        }
    }

    /// The caption the reference shows.
    pub fn caption(self) -> &'static str {
        match self {
            Cue::UnmappedCustomers => "Unmapped Customers",
            Cue::UnmappedCompanies => "Unmapped Companies",
            Cue::UnmappedProducts => "Unmapped Products",
            Cue::UnprocessedOrders => "Unprocessed Orders",
            Cue::UnprocessedOrderUpdates => "Unprocessed Order Updates",
            Cue::UnprocessedShipments => "Unprocessed Shipments",
            Cue::ShipmentErrors => "Shipments Errors",
            Cue::SynchronizationErrors => "Synchronization Errors",
            Cue::SkippedRecords => "Skipped Records",
            Cue::ApiErrors => "API Errors",
        }
    }

    /// The reference's style rule for this cue.
    pub fn style(self, count: u64) -> CueStyle {
        match self {
            Cue::SkippedRecords if count > 0 => CueStyle::Ambiguous,
            Cue::ApiErrors if count > 0 => CueStyle::Unfavorable,
            Cue::SkippedRecords | Cue::ApiErrors => CueStyle::Favorable,
            _ => CueThresholds::REFERENCE.style(count),
        }
    }
}

impl fmt::Display for Cue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{}' is not a cue; expected one of: {list}", crate::text::preview(.0), list = Cue::ALL.map(Cue::name).join(", "))]
pub struct UnknownCue(pub String);

impl FromStr for Cue {
    type Err = UnknownCue;
    fn from_str(s: &str) -> Result<Cue, UnknownCue> {
        Cue::ALL
            .into_iter()
            .find(|c| c.name() == s)
            .ok_or_else(|| UnknownCue(s.to_string()))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CueStyle {
    Favorable,
    Ambiguous,
    Unfavorable,
}

/// The System Application's cue rule: below `threshold1` favourable, above `threshold2`
/// unfavourable, otherwise ambiguous.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CueThresholds {
    pub threshold1: u64,
    pub threshold2: u64,
}

impl CueThresholds {
    /// The reference installer's defaults (Threshold 1 = 1, Threshold 2 = 5).
    pub const REFERENCE: CueThresholds = CueThresholds {
        threshold1: 1,
        threshold2: 5,
    };

    pub fn style(self, count: u64) -> CueStyle {
        if count < self.threshold1 {
            CueStyle::Favorable
        } else if count > self.threshold2 {
            CueStyle::Unfavorable
        } else {
            CueStyle::Ambiguous
        }
    }
}

/// One cue on the board.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CueFigure {
    pub cue: Cue,
    pub caption: String,
    pub count: u64,
    pub style: CueStyle,
    /// API path of the drill-down list, e.g. `/shops/DEMO/status/skipped_records`.
    pub drill_down: String,
}

impl CueFigure {
    pub fn new(shop: &str, cue: Cue, count: u64) -> CueFigure {
        CueFigure {
            cue,
            caption: cue.caption().to_string(),
            count,
            style: cue.style(count),
            drill_down: format!("/shops/{shop}/status/{}", cue.name()),
        }
    }
}

/// The status board of one shop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusBoard {
    pub shop: String,
    /// Epoch seconds.
    pub generated_at: i64,
    /// The ten cues, in [`Cue::ALL`] order.
    pub cues: Vec<CueFigure>,
    /// Jobs of this shop per status (only statuses with at least one job).
    pub jobs: BTreeMap<JobStatus, u64>,
    /// Open failures of this shop on the dead-letter queue.
    pub open_failures: u64,
}

/// One row of a drill-down list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CueEntry {
    /// What the row is about (a variant gid, a job id, a failure id, ...).
    pub id: String,
    /// One human sentence.
    pub detail: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<TaskKind>,
    /// Epoch seconds.
    pub at: i64,
}

/// Where a dead-letter message came from; the queue carries two message shapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureSource {
    /// A worker gave up on a job and sent its message with the reason as attributes.
    Worker,
    /// SQS moved a task message after `maxReceiveCount` receives (the worker never said why).
    Redrive,
    /// Lambda's on-failure destination for an asynchronous (scheduled) invocation.
    AsyncInvoke,
    /// A body nobody could read.
    Unreadable,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureState {
    /// On the dead-letter queue, waiting for on-call.
    Open,
    /// A retry job is being queued (a crash here is finished by the next retry call).
    Retrying,
    /// Re-enqueued as `retry_job_id`; the message was removed from the queue.
    Retried,
    /// Removed from the queue without a retry.
    Discarded,
}

/// One dead-letter message, as the status board and the API show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    /// The SQS message id: stable across reads of the queue.
    pub id: String,
    /// `None` for failures that belong to no shop (a failed scheduled fan-out, an unreadable body).
    pub shop: Option<String>,
    pub task: Option<TaskKind>,
    pub job_id: Option<String>,
    pub source: FailureSource,
    pub state: FailureState,
    /// `ErrorKind` name, or `unknown`.
    pub error_kind: String,
    pub error: String,
    /// When the message was first sent (epoch seconds).
    pub failed_at: i64,
    /// The job queued by a retry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_job_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_follow_the_reference() {
        let t = CueThresholds::REFERENCE;
        assert_eq!(t.style(0), CueStyle::Favorable);
        assert_eq!(t.style(1), CueStyle::Ambiguous);
        assert_eq!(t.style(5), CueStyle::Ambiguous);
        assert_eq!(t.style(6), CueStyle::Unfavorable);
        assert_eq!(Cue::SkippedRecords.style(1), CueStyle::Ambiguous);
        assert_eq!(Cue::SkippedRecords.style(600), CueStyle::Ambiguous);
        assert_eq!(Cue::ApiErrors.style(1), CueStyle::Unfavorable);
        assert_eq!(Cue::ApiErrors.style(0), CueStyle::Favorable);
    }

    #[test]
    fn cue_names_round_trip_and_unknown_names_are_explained() {
        for cue in Cue::ALL {
            assert_eq!(cue.name().parse::<Cue>().unwrap(), cue);
            assert_eq!(
                serde_json::to_value(cue).unwrap(),
                serde_json::json!(cue.name())
            );
        }
        let err = "orders".parse::<Cue>().unwrap_err().to_string();
        assert!(err.contains("unmapped_products"), "{err}");
    }

    #[test]
    fn an_unknown_cue_is_echoed_as_a_short_preview() {
        let err = "x".repeat(60_000).parse::<Cue>().unwrap_err().to_string();
        assert!(err.len() < 400, "{} bytes", err.len());
        assert!(err.contains(&format!("'{}…'", "x".repeat(40))), "{err}");
    }
}
