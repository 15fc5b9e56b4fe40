//! Planning: the cursor, the posted shipments read since it, the shipments still waiting, and what
//! each shipment comes to.
//!
//! **Cursor.** One record (`sync-cursors` / `shipments`, body: the [`ShipmentCursor`] of the last
//! shipment read). A run reads from it moved back by [`REWIND_MS`]: BC stamps `lastModifiedDateTime`
//! when a record is written, not when its transaction commits, so a posting that commits late can
//! carry a time before a shipment already read. Shipments read twice are recognised by their record
//! and never planned twice. The cursor moves (compare-and-swap on its version, never backwards) once
//! the last step's fulfillments are settled.
//!
//! **Steps.** One step reads the shipments after the run's position (one call; BC pages it) and
//! plans at most [`MAX_ORDERS_PER_STEP`] shipments of Shopify orders (each costs an order read), then
//! returns: the engine checkpoints and checks the deadline between steps. What a step plans depends
//! on the data only, never on the clock, so a step replayed after a crash plans the same effects under
//! the same ledger keys. Then the shipments still `not_synced` from earlier runs (their order was not
//! in Shopify yet, or their job died with requests in flight) are planned again, a page a step.

use super::allocate::{allocate, requests, shipped_items};
use super::record::{
    NO_FULFILLMENT_LINES, NO_LINES, PlannedRequest, RequestResult, SHIPMENTS, ShipmentBody,
    is_done, shipment_status,
};
use super::{FulfilShipment, Phase, ShipmentsState, counters, fulfil_effect};
use crate::engine::{Effect, TaskRun};
use crate::orders::mapping::StagedLine;
use crate::orders::sync::CURSORS;
use serde::Deserialize;
use shopsync_domain::SyncError;
use shopsync_domain::orders::{ShopifyOrder, Tracking};
use shopsync_domain::ports::{Record, Result, SkippedRecord};
use shopsync_domain::sales::{PostedShipment, ShipmentCursor, to_code};
use shopsync_domain::staging::{ORDER_DOCUMENTS, OrderDocumentLink, STAGED_ORDERS};
use shopsync_domain::text::{bounded, preview};
use std::collections::HashMap;

/// The shipments cursor's id (kind [`CURSORS`]).
pub const SHIPMENTS_CURSOR: &str = "shipments";
/// How far before the stored cursor a run reads again.
pub const REWIND_MS: i64 = 5 * 60 * 1000;
/// Shipments of Shopify orders planned in one step.
pub const MAX_ORDERS_PER_STEP: usize = 20;
/// Waiting shipments planned again in one step.
pub const RETRY_PAGE: usize = 20;
/// Shipments whose link and record are read in one batch.
const LOOKUP_CHUNK: usize = 100;

fn unreadable(what: &str, id: &str, e: serde_json::Error) -> SyncError {
    SyncError::Internal(format!("{what} {} is unreadable: {e}", preview(id)))
}

async fn read_cursor(run: &TaskRun<'_>) -> Result<Option<(ShipmentCursor, u64)>> {
    let Some(record) = run
        .stores
        .records
        .get_record(run.shop(), CURSORS, SHIPMENTS_CURSOR)
        .await?
    else {
        return Ok(None);
    };
    let cursor = serde_json::from_str(&record.body)
        .map_err(|e| unreadable("the cursor", SHIPMENTS_CURSOR, e))?;
    Ok(Some((cursor, record.version)))
}

/// Start a plan: its id, and the position the stored cursor (moved back) gives.
pub async fn open(run: &TaskRun<'_>, state: &mut ShipmentsState) -> Result<()> {
    let stored = read_cursor(run).await?;
    *state = ShipmentsState {
        phase: Phase::Shipments,
        plan: format!("{}@{}", run.job.job_id, shopsync_domain::time::now_millis()),
        step: state.step,
        position: stored.as_ref().map(|(c, _)| c.rewound(REWIND_MS)),
        newest: stored.as_ref().map(|(c, _)| c.clone()),
        cursor_version: stored.map_or(0, |(_, v)| v),
        ..ShipmentsState::default()
    };
    Ok(())
}

/// Move the cursor to the newest shipment read, if that is past the stored one.
pub async fn advance_cursor(run: &TaskRun<'_>, state: &ShipmentsState) -> Result<()> {
    let Some(newest) = state.newest.as_ref().filter(|_| state.cursor_moved) else {
        return Ok(());
    };
    let body = serde_json::to_string(newest)
        .map_err(|e| SyncError::Internal(format!("serialising: {e}")))?;
    let mut version = state.cursor_version;
    for _ in 0..2 {
        let record = Record {
            version,
            ..Record::new(SHIPMENTS_CURSOR, None, body.clone())
        };
        if run
            .stores
            .records
            .put_record_if(run.shop(), CURSORS, &record)
            .await?
        {
            return Ok(());
        }
        match read_cursor(run).await? {
            Some((theirs, _)) if theirs >= *newest => return Ok(()),
            Some((_, v)) => version = v,
            None => version = 0,
        }
    }
    Err(SyncError::Conflict(
        "the shipments cursor kept moving while this run advanced it".into(),
    ))
}

/// A shipment to plan, as its record has it (version 0 and no status when it has none yet).
struct Candidate {
    id: String,
    status: Option<String>,
    version: u64,
    body: ShipmentBody,
}

impl Candidate {
    /// A posted shipment of the order `link` names, over its stored record if it has one.
    fn posted(
        shipment: &PostedShipment,
        link: &OrderDocumentLink,
        stored: Option<Record>,
    ) -> Result<Candidate> {
        if let Some(record) = stored {
            return Candidate::stored(record);
        }
        Ok(Candidate {
            id: shipment.id.clone(),
            status: None,
            version: 0,
            body: ShipmentBody {
                name: shipment.number.clone(),
                order_name: link.name.clone(),
                order_id: link.order_id.clone(),
                bc_order_number: shipment.order_number.clone(),
                items: shipped_items(shipment),
                ..ShipmentBody::default()
            },
        })
    }

    fn stored(record: Record) -> Result<Candidate> {
        let body = ShipmentBody::read(&record.id, &record.body)?;
        Ok(Candidate {
            id: record.id,
            status: record.status,
            version: record.version,
            body,
        })
    }

    /// Write the record with `status` (compare-and-swap on the version read).
    async fn write(&mut self, run: &TaskRun<'_>, status: &str) -> Result<()> {
        let record = self.body.to_record(&self.id, status, self.version)?;
        if !run
            .stores
            .records
            .put_record_if(run.shop(), SHIPMENTS, &record)
            .await?
        {
            return Err(SyncError::Conflict(format!(
                "shipment record {} changed while it was planned",
                preview(&self.body.name)
            )));
        }
        self.version += 1;
        self.status = Some(status.to_string());
        Ok(())
    }
}

/// The ORDER_DOCUMENTS links and stored shipment records of a chunk of shipments.
async fn lookups(
    run: &TaskRun<'_>,
    chunk: &[PostedShipment],
) -> Result<(HashMap<String, OrderDocumentLink>, HashMap<String, Record>)> {
    let records = &run.stores.records;
    let codes: Vec<String> = chunk
        .iter()
        .map(|s| to_code(&s.external_document_number))
        .filter(|c| !c.is_empty())
        .collect();
    let mut links = HashMap::new();
    for r in records
        .get_records(run.shop(), ORDER_DOCUMENTS, &codes)
        .await?
    {
        let link: OrderDocumentLink = serde_json::from_str(&r.body)
            .map_err(|e| unreadable("order document link", &r.id, e))?;
        links.insert(r.id, link);
    }
    let ids: Vec<String> = chunk.iter().map(|s| s.id.clone()).collect();
    let stored = records
        .get_records(run.shop(), SHIPMENTS, &ids)
        .await?
        .into_iter()
        .map(|r| (r.id.clone(), r))
        .collect();
    Ok((links, stored))
}

/// One step over the posted shipments after the run's position.
pub async fn shipments_step(
    run: &mut TaskRun<'_>,
    state: &mut ShipmentsState,
) -> Result<Vec<Effect>> {
    let batch = run
        .clients
        .bc
        .posted_shipments_since(state.position.as_ref())
        .await?;
    let mut effects = Vec::new();
    let mut planned = 0;
    for chunk in batch.shipments.chunks(LOOKUP_CHUNK) {
        let (links, mut stored) = lookups(run, chunk).await?;
        for shipment in chunk {
            state.read(shipment.cursor());
            run.counters.add(counters::SHIPMENTS_READ, 1);
            let Some(link) = links.get(&to_code(&shipment.external_document_number)) else {
                run.counters.add(counters::SHIPMENTS_NOT_SHOPIFY, 1);
                continue;
            };
            let candidate = Candidate::posted(shipment, link, stored.remove(&shipment.id))?;
            if let Some(more) = plan_shipment(run, state, candidate).await? {
                effects.extend(more);
                planned += 1;
                if planned >= MAX_ORDERS_PER_STEP {
                    return Ok(effects);
                }
            }
        }
    }
    state.phase = Phase::Retry;
    Ok(effects)
}

/// One page of the shipments still `not_synced` that this plan has not handled yet.
pub async fn retry_step(run: &mut TaskRun<'_>, state: &mut ShipmentsState) -> Result<Vec<Effect>> {
    let page = run
        .stores
        .records
        .list_by_status(
            run.shop(),
            SHIPMENTS,
            shipment_status::NOT_SYNCED,
            state.retry_after.as_deref(),
            RETRY_PAGE,
        )
        .await?;
    let mut effects = Vec::new();
    for record in page.records {
        let candidate = Candidate::stored(record)?;
        if let Some(more) = plan_shipment(run, state, candidate).await? {
            run.counters.add(counters::SHIPMENTS_RETRIED, 1);
            effects.extend(more);
        }
    }
    state.retry_after = page.next_after;
    if state.retry_after.is_none() {
        state.phase = Phase::Finish;
    }
    Ok(effects)
}

/// Plan one shipment of a Shopify order. `None`: left alone (finished with, or planned earlier in
/// this plan).
async fn plan_shipment(
    run: &mut TaskRun<'_>,
    state: &ShipmentsState,
    mut c: Candidate,
) -> Result<Option<Vec<Effect>>> {
    if is_done(c.status.as_deref()) {
        run.counters.add(counters::SHIPMENTS_ALREADY_SYNCED, 1);
        return Ok(None);
    }
    if state.handled_earlier(&c.body.handled_in) {
        return Ok(None);
    }
    c.body.handled_in = state.mark();
    if !c.body.requests.is_empty() {
        return resume(run, c).await.map(Some);
    }
    if c.body.items.is_empty() {
        run.counters.add(counters::SHIPMENTS_NOTHING_TO_FULFIL, 1);
        close(run, c, shipment_status::NOTHING_TO_FULFIL, NO_LINES).await?;
        return Ok(Some(Vec::new()));
    }
    let Some(order) = run.clients.shopify.order(&c.body.order_id).await? else {
        run.counters.add(counters::SHIPMENTS_ORDER_NOT_FOUND, 1);
        let reason = format!(
            "Shopify order {} ({}) was not found; tried again next run",
            preview(&c.body.order_name),
            preview(&c.body.order_id)
        );
        close(run, c, shipment_status::NOT_SYNCED, &reason).await?;
        return Ok(Some(Vec::new()));
    };
    let Some(staged) = staged_lines(run, &order.id).await? else {
        let reason = format!(
            "the staged order {} is missing: its lines cannot be matched to BC items",
            preview(&c.body.order_name)
        );
        return fail(run, c, &reason).await;
    };
    let allocation = allocate(&c.body.items, &staged, &order);
    if allocation.lines.is_empty() {
        return fail(run, c, NO_FULFILLMENT_LINES).await;
    }
    let tracking = tracking_of(run, &c.body.name).await?;
    let notify = run.settings.send_shipping_confirmation;
    c.body.requests = requests(&order.id, &allocation.lines, tracking.as_ref(), notify)
        .into_iter()
        .map(|r| planned_request(r, &order, &run.job.job_id))
        .collect::<Result<_>>()?;
    c.body.error = None;
    run.counters
        .add(counters::FULFILLMENTS_PLANNED, c.body.requests.len() as u64);
    c.write(run, shipment_status::NOT_SYNCED).await?;
    effects_of(run, &c).map(Some)
}

/// A shipment whose requests were planned already (by this job or one before it): the pending ones
/// again, probed first when another job planned them.
async fn resume(run: &mut TaskRun<'_>, mut c: Candidate) -> Result<Vec<Effect>> {
    run.counters.add(counters::SHIPMENTS_RESUMED, 1);
    c.write(run, shipment_status::NOT_SYNCED).await?;
    effects_of(run, &c)
}

/// Write the shipment with `status` and `reason`, as a skipped record too (as the reference does).
async fn close(run: &mut TaskRun<'_>, mut c: Candidate, status: &str, reason: &str) -> Result<()> {
    c.body.error = Some(bounded(reason, super::record::MAX_ERROR_CHARS));
    c.write(run, status).await?;
    skip(run, &c.body.name, reason).await
}

/// The shipment ends in `error` with `reason`.
async fn fail(run: &mut TaskRun<'_>, c: Candidate, reason: &str) -> Result<Option<Vec<Effect>>> {
    run.counters.add(counters::SHIPMENT_ERRORS, 1);
    close(run, c, shipment_status::ERROR, reason).await?;
    Ok(Some(Vec::new()))
}

/// Record a skipped shipment (the reference's skipped record) and count it.
pub async fn skip(run: &mut TaskRun<'_>, shipment_number: &str, reason: &str) -> Result<()> {
    let record = SkippedRecord {
        job_id: run.job.job_id.clone(),
        task: shopsync_domain::TaskKind::SyncShipments,
        record_id: shipment_number.to_string(),
        reason: bounded(reason, 250),
        at: shopsync_domain::time::now_secs(),
    };
    run.stores
        .skipped
        .record_skipped(run.shop(), &[record])
        .await?;
    run.counters
        .add(crate::engine::counters::SKIPPED_RECORDS, 1);
    Ok(())
}

/// A request as the record keeps it: with the quantities it comes to on `order` as it is now.
fn planned_request(
    request: shopsync_domain::orders::FulfillmentRequest,
    order: &ShopifyOrder,
    job_id: &str,
) -> Result<PlannedRequest> {
    let expected = request.expected_lines(order).ok_or_else(|| {
        SyncError::Internal(format!(
            "a fulfillment of order {} names a line the order does not have",
            preview(&order.name)
        ))
    })?;
    Ok(PlannedRequest {
        request,
        expected,
        since: shopsync_domain::time::now_secs(),
        planned_by: job_id.to_string(),
        result: RequestResult::Pending,
    })
}

/// The effects of a shipment's pending requests.
fn effects_of(run: &TaskRun<'_>, c: &Candidate) -> Result<Vec<Effect>> {
    let count = c.body.requests.len();
    c.body
        .requests
        .iter()
        .enumerate()
        .filter(|(_, r)| r.result == RequestResult::Pending)
        .map(|(index, r)| {
            fulfil_effect(&FulfilShipment {
                shipment_id: c.id.clone(),
                shipment_number: c.body.name.clone(),
                order_name: c.body.order_name.clone(),
                index,
                count,
                request: r.request.clone(),
                expected: r.expected.clone(),
                since: r.since,
                recheck: r.planned_by != run.job.job_id,
            })
        })
        .collect()
}

/// The lines of the staged order `order_id` (`None`: not staged).
async fn staged_lines(run: &TaskRun<'_>, order_id: &str) -> Result<Option<Vec<StagedLine>>> {
    #[derive(Deserialize)]
    struct Lines {
        #[serde(default)]
        lines: Vec<StagedLine>,
    }
    let Some(record) = run
        .stores
        .records
        .get_record(run.shop(), STAGED_ORDERS, order_id)
        .await?
    else {
        return Ok(None);
    };
    let staged: Lines =
        serde_json::from_str(&record.body).map_err(|e| unreadable("staged order", order_id, e))?;
    Ok(Some(staged.lines))
}

/// The shipment's tracking from the published page, when the shop names one.
async fn tracking_of(run: &TaskRun<'_>, shipment_number: &str) -> Result<Option<Tracking>> {
    let Some(page) = run.settings.shipment_tracking_page.as_deref() else {
        return Ok(None);
    };
    let company = run.settings.bc.company_name.as_deref().unwrap_or_default();
    let found = run
        .clients
        .bc
        .shipment_tracking(page, company, shipment_number)
        .await?;
    Ok(found.map(|t| Tracking {
        number: Some(t.tracking_number),
        company: t.company,
        url: t.url,
    }))
}
