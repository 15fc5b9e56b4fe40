//! `sync-shipments` (reference report 30109): posted BC sales shipments of Shopify orders → Shopify
//! fulfillments, with tracking, exactly once.
//!
//! On the engine ([`crate::engine`]) planning reads BC's posted shipments since a cursor
//! ([`plan`]), finds each one's Shopify order through the link create-sales-orders wrote when it made
//! the BC document (`order-documents`, by external document number), and works out its fulfillments:
//! the shipped items matched to the order's lines through the staged order, allocated over the open
//! fulfillment-order lines, one `fulfillmentCreate` per location, at most 250 lines each
//! ([`allocate`]). Each shipment keeps its state in one record ([`record`]) that the status board
//! counts, as the reference keeps it in the shipment header's `Shpfy Fulfillment Id`: not synced,
//! fulfilled, error (−1), nothing to fulfil (−2).
//!
//! **Why probed effects.** Shopify has no idempotency key for `fulfillmentCreate`, and a second
//! fulfillment would tell the customer twice and fulfil units twice. Each request is a
//! [`EffectKind::Probed`] effect: after an unknown outcome (the answer lost after Shopify applied it)
//! the engine probes — reads the order's fulfillments and looks for the one the request came to
//! ([`probe`]) — and sends again only when there is none.
//!
//! **Why the requests are written down first.** The engine's probe covers a retry of the same job.
//! A job can also die for good with a request in flight (the dead-letter queue), and the next job
//! plans the same shipment again — it is re-read (the cursor is rewound) or still `not_synced`. So the
//! requests, with the quantities they come to, are written into the shipment record before any is
//! sent; a later job finds them pending and resends the very same requests, each probed first when
//! another job planned it ([`FulfilShipment::recheck`]). A shipment's fulfillments are worked out
//! once.
//!
//! **Errors.** userErrors (and a request Shopify rejects outright) are the shipment's error, with the
//! message, as the reference's −1: no retry loop; a person fixes the cause and sets the record back.
//! A shipment whose order Shopify does not know stays `not_synced` with the reason and is tried again
//! next run, as the reference does.

pub mod allocate;
pub mod plan;
pub mod probe;
pub mod record;
#[cfg(test)]
mod tests;

use crate::engine::{Effect, EffectKind, Planned, Settled, Task, TaskRun};
use async_trait::async_trait;
use probe::{claimant, find_match, read_claims};
use record::{RequestResult, SHIPMENTS, ShipmentBody, shipment_status};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shopsync_domain::catalogue::System;
use shopsync_domain::orders::{FulfillmentOutcome, FulfillmentRequest};
use shopsync_domain::ports::Result;
use shopsync_domain::sales::ShipmentCursor;
use shopsync_domain::text::{bounded, preview};
use shopsync_domain::{SyncError, TaskKind};
use std::collections::BTreeMap;

/// The task. Its state is the run's position in BC's shipments ([`ShipmentsState`]); per-shipment
/// state is in the shipment records.
#[derive(Debug, Default, Clone, Copy)]
pub struct SyncShipmentsTask;

/// Where planning is.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Read the cursor and start the plan.
    #[default]
    Start,
    /// Posted shipments after the position, a step at a time.
    Shipments,
    /// Shipments still `not_synced` from earlier runs, a page a step.
    Retry,
    /// Every fulfillment settled: move the cursor.
    Finish,
}

/// The task's resume state, checkpointed with the engine's.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ShipmentsState {
    pub phase: Phase,
    /// This plan's id (`<job>@<millis>`): a shipment is planned once per plan.
    pub plan: String,
    /// Planning steps taken (a step replayed after a crash has the same number).
    pub step: u32,
    /// Read the shipments after this one (`None`: from the first).
    pub position: Option<ShipmentCursor>,
    /// The newest shipment read, or the stored cursor: where the cursor moves at the end.
    pub newest: Option<ShipmentCursor>,
    /// Whether `newest` is past the stored cursor.
    pub cursor_moved: bool,
    /// Version of the cursor record when the plan started (0: none), for its compare-and-swap.
    pub cursor_version: u64,
    /// Where the page of waiting shipments continues.
    pub retry_after: Option<String>,
}

impl ShipmentsState {
    /// The mark of this plan step on the records it plans.
    pub fn mark(&self) -> String {
        format!("{}#{}", self.plan, self.step)
    }

    /// Whether a record marked `handled_in` was planned in an earlier step of this plan.
    pub fn handled_earlier(&self, handled_in: &str) -> bool {
        handled_in != self.mark()
            && handled_in
                .strip_prefix(self.plan.as_str())
                .is_some_and(|rest| rest.starts_with('#'))
    }

    /// Shipment at `cursor` read: the position moves past it.
    pub fn read(&mut self, cursor: ShipmentCursor) {
        if self.newest.as_ref().is_none_or(|n| *n < cursor) {
            self.newest = Some(cursor.clone());
            self.cursor_moved = true;
        }
        self.position = Some(cursor);
    }
}

/// Counter names this task reports.
pub mod counters {
    /// Posted shipments read from BC (a shipment read again after the rewind counts again).
    pub const SHIPMENTS_READ: &str = "shipments_read";
    /// Shipments of documents not made from a Shopify order: ignored.
    pub const SHIPMENTS_NOT_SHOPIFY: &str = "shipments_not_shopify";
    /// Shipments read again that were finished with already.
    pub const SHIPMENTS_ALREADY_SYNCED: &str = "shipments_already_synced";
    /// `not_synced` shipments of earlier runs planned again.
    pub const SHIPMENTS_RETRIED: &str = "shipments_retried";
    /// Shipments whose requests were planned already and are planned again (still pending).
    pub const SHIPMENTS_RESUMED: &str = "shipments_resumed";
    pub const SHIPMENTS_FULFILLED: &str = "shipments_fulfilled";
    pub const SHIPMENTS_NOTHING_TO_FULFIL: &str = "shipments_nothing_to_fulfil";
    pub const SHIPMENTS_ORDER_NOT_FOUND: &str = "shipments_order_not_found";
    pub const SHIPMENT_ERRORS: &str = "shipment_errors";
    pub const FULFILLMENTS_PLANNED: &str = "fulfillments_planned";
    pub const FULFILLMENTS_CREATED: &str = "fulfillments_created";
    /// Fulfillments found by a probe (the answer to their creation was lost).
    pub const FULFILLMENTS_FOUND_BY_PROBE: &str = "fulfillments_found_by_probe";
}

/// The one effect: request `index` (of `count`) of a shipment's fulfillments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FulfilShipment {
    pub shipment_id: String,
    pub shipment_number: String,
    pub order_name: String,
    pub index: usize,
    pub count: usize,
    pub request: FulfillmentRequest,
    /// Quantities per order line the fulfillment comes to.
    pub expected: BTreeMap<String, i64>,
    /// When the request was first planned (epoch seconds).
    pub since: i64,
    /// Another job planned this request and may have sent it: probe before sending.
    pub recheck: bool,
}

/// What a request came to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum Outcome {
    Fulfilled { fulfillment_id: String },
    Refused { message: String },
}

/// Characters of a refusal message kept.
const MAX_MESSAGE_CHARS: usize = 300;

fn to_value<T: Serialize>(value: &T) -> Result<Value> {
    serde_json::to_value(value).map_err(|e| SyncError::Internal(format!("serialising: {e}")))
}

/// The effect of one request.
pub fn fulfil_effect(fulfil: &FulfilShipment) -> Result<Effect> {
    let label = bounded(
        &format!(
            "fulfillment {}/{} of shipment {} (order {})",
            fulfil.index + 1,
            fulfil.count,
            fulfil.shipment_number,
            fulfil.order_name
        ),
        200,
    );
    Ok(Effect::new(
        EffectKind::Probed,
        System::Shopify,
        label,
        to_value(fulfil)?,
    ))
}

/// Shopify's answer as an outcome: the fulfillment, or why there is none.
pub fn outcome_of(answer: &FulfillmentOutcome) -> Outcome {
    if let Some(id) = &answer.fulfillment_id {
        return Outcome::Fulfilled {
            fulfillment_id: id.clone(),
        };
    }
    let messages: Vec<&str> = answer
        .user_errors
        .iter()
        .map(|e| e.message.as_str())
        .collect();
    let message = if messages.is_empty() {
        "Fulfillment was not created in Shopify.".to_string()
    } else {
        messages.join("; ")
    };
    Outcome::Refused {
        message: bounded(&message, MAX_MESSAGE_CHARS),
    }
}

/// The fulfillment request `fulfil` came to, if Shopify has it.
async fn find(run: &mut TaskRun<'_>, fulfil: &FulfilShipment) -> Result<Option<Outcome>> {
    let order_id = &fulfil.request.order_id;
    let Some(fulfillments) = run.clients.shopify.order_fulfillments(order_id).await? else {
        return Ok(None);
    };
    let (claims, _) = read_claims(run, order_id).await?;
    let me = claimant(&fulfil.shipment_id, fulfil.index);
    let found = find_match(&fulfillments, &fulfil.expected, fulfil.since, &claims, &me);
    Ok(found.map(|f| {
        run.counters.add(counters::FULFILLMENTS_FOUND_BY_PROBE, 1);
        Outcome::Fulfilled {
            fulfillment_id: f.id.clone(),
        }
    }))
}

/// Write what request `fulfil` came to into its shipment record (compare-and-swap, read again once
/// on a conflict; idempotent), and count the shipment when that finishes it.
async fn record_result(
    run: &mut TaskRun<'_>,
    fulfil: &FulfilShipment,
    result: RequestResult,
) -> Result<()> {
    for _ in 0..2 {
        let Some(stored) = run
            .stores
            .records
            .get_record(run.shop(), SHIPMENTS, &fulfil.shipment_id)
            .await?
        else {
            return Ok(());
        };
        let mut body = ShipmentBody::read(&stored.id, &stored.body)?;
        let Some(request) = body
            .requests
            .get_mut(fulfil.index)
            .filter(|r| r.since == fulfil.since && r.expected == fulfil.expected)
        else {
            return Ok(());
        };
        if request.result != RequestResult::Pending {
            return Ok(());
        }
        request.result = result.clone();
        let status = body.settle_status();
        let record = body.to_record(&stored.id, status, stored.version)?;
        if run
            .stores
            .records
            .put_record_if(run.shop(), SHIPMENTS, &record)
            .await?
        {
            return count_finished(run, status, &body).await;
        }
    }
    Err(SyncError::Conflict(format!(
        "shipment record {} kept changing while its fulfillment was written",
        preview(&fulfil.shipment_number)
    )))
}

async fn count_finished(run: &mut TaskRun<'_>, status: &str, body: &ShipmentBody) -> Result<()> {
    match status {
        shipment_status::FULFILLED => run.counters.add(counters::SHIPMENTS_FULFILLED, 1),
        shipment_status::ERROR => {
            run.counters.add(counters::SHIPMENT_ERRORS, 1);
            let reason = body.error.clone().unwrap_or_default();
            plan::skip(run, &body.name, &reason).await?;
        }
        _ => {}
    }
    Ok(())
}

#[async_trait]
impl Task for SyncShipmentsTask {
    type State = ShipmentsState;

    fn kind(&self) -> TaskKind {
        TaskKind::SyncShipments
    }

    async fn plan(&self, run: &mut TaskRun<'_>, state: &mut ShipmentsState) -> Result<Planned> {
        state.step += 1;
        match state.phase {
            Phase::Start => {
                plan::open(run, state).await?;
                Ok(Planned::more(Vec::new()))
            }
            Phase::Shipments => Ok(Planned::more(plan::shipments_step(run, state).await?)),
            Phase::Retry => Ok(Planned::more(plan::retry_step(run, state).await?)),
            Phase::Finish => {
                plan::advance_cursor(run, state).await?;
                Ok(Planned::last(Vec::new()))
            }
        }
    }

    async fn send(&self, run: &mut TaskRun<'_>, effect: &Effect, _key: &str) -> Result<Value> {
        let fulfil: FulfilShipment = effect.payload_as()?;
        if fulfil.recheck
            && let Some(found) = find(run, &fulfil).await?
        {
            return to_value(&found);
        }
        let outcome = match run
            .clients
            .shopify
            .fulfillment_create(&fulfil.request)
            .await
        {
            Ok(answer) => outcome_of(&answer),
            // The request itself was refused: sending it again is refused again.
            Err(e @ SyncError::Rejected { .. }) => Outcome::Refused {
                message: bounded(&e.to_string(), MAX_MESSAGE_CHARS),
            },
            Err(e) => return Err(e),
        };
        if matches!(outcome, Outcome::Fulfilled { .. }) {
            run.counters.add(counters::FULFILLMENTS_CREATED, 1);
        }
        to_value(&outcome)
    }

    async fn probe(
        &self,
        run: &mut TaskRun<'_>,
        effect: &Effect,
        _key: &str,
    ) -> Result<Option<Value>> {
        let fulfil: FulfilShipment = effect.payload_as()?;
        find(run, &fulfil).await?.map(|o| to_value(&o)).transpose()
    }

    async fn settle(
        &self,
        run: &mut TaskRun<'_>,
        _state: &mut ShipmentsState,
        effect: &Effect,
        outcome: &Value,
    ) -> Result<Settled> {
        let fulfil: FulfilShipment = effect.payload_as()?;
        let outcome: Outcome = serde_json::from_value(outcome.clone())
            .map_err(|e| SyncError::Internal(format!("unreadable fulfillment outcome: {e}")))?;
        let result = match outcome {
            Outcome::Fulfilled { fulfillment_id } => {
                let me = claimant(&fulfil.shipment_id, fulfil.index);
                probe::claim(run, &fulfil.request.order_id, &fulfillment_id, &me).await?;
                RequestResult::Fulfilled { fulfillment_id }
            }
            Outcome::Refused { message } => RequestResult::Refused { message },
        };
        record_result(run, &fulfil, result).await?;
        Ok(Settled::default())
    }
}
