//! The effects of the order tasks, shared by sync-orders (which makes documents itself with
//! `auto_create_orders`, as the reference's report 30104 does) and create-sales-orders (30103): one
//! payload type, [`OrderEffect`], and one way to send, probe and settle each kind, so both tasks make
//! a document exactly the same way.
//!
//! - **A BC document** ([`CreateDocument`]) is a [`EffectKind::Probed`] effect: header and lines go in
//!   one request, and after an unknown outcome the document is looked up by its external document
//!   number (orders, invoices, posted invoices and shipments) before anything is sent again. A plan
//!   made over another job's stale claim probes before its first send as well
//!   ([`super::staged::DocumentClaim`]).
//! - **The write-back** of the BC document number ([`WriteBack`], `orderUpdate` of the custom
//!   attributes) and **archiving** ([`CloseOrder`], `orderClose`) are follow-ups of a settled document,
//!   so they go out only once the document is complete. Both set a state (the same attributes, closed),
//!   so resending one after an unknown outcome is harmless: they are [`EffectKind::Replayable`].
//! - Settling marks the staged order `processed` with the version the document was made from, and
//!   records the document under its external number ([`ORDER_DOCUMENTS`]) for the shipment sync.
//! - In a backlog (sync-orders reading its window in bulk) the write-backs are not follow-ups of
//!   each document: they stay owed ([`OWED_UPDATES`]) and go back together as bulk mutations
//!   ([`super::bulk`], [`OrderEffect::BulkWriteBack`]) once the window's documents are made.

use super::CreateCustomer;
use super::staged::{DocumentRef, STAGED_ORDERS, StagedOrder, order_status};
use crate::engine::{Effect, EffectKind, Settled, TaskRun};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shopsync_domain::SyncError;
use shopsync_domain::catalogue::System;
use shopsync_domain::orders::{BC_DOCUMENT_ATTRIBUTE, OrderAttribute};
use shopsync_domain::ports::{Record, Result, SkippedRecord};
use shopsync_domain::sales::{
    FoundDocumentKind, SalesDocument, SalesDocumentDraft, SalesDocumentKind, SalesDocumentRef,
    to_code,
};
use shopsync_domain::staging::{ORDER_DOCUMENTS, OrderDocumentLink};
use shopsync_domain::text::{bounded, preview};

/// Counters of the document side of the order tasks.
pub mod counters {
    pub const DOCUMENTS_PLANNED: &str = "bc_documents_planned";
    pub const DOCUMENTS_CREATED: &str = "bc_documents_created";
    /// Documents an earlier attempt had made, found by the lookup instead of made again.
    pub const DOCUMENTS_FOUND: &str = "bc_documents_found";
    pub const DOCUMENTS_REFUSED: &str = "bc_documents_refused";
    pub const ORDERS_WRITTEN_BACK: &str = "orders_written_back";
    pub const ORDERS_CLOSED: &str = "orders_closed";
    /// Write-backs and closes Shopify answered with user errors (kept as skipped records).
    pub const SHOPIFY_UPDATES_REFUSED: &str = "shopify_order_updates_refused";
}

/// Every effect of the order tasks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "effect", rename_all = "snake_case")]
pub enum OrderEffect {
    /// sync-orders: create a BC customer for a buyer.
    Customer(CreateCustomer),
    Document(CreateDocument),
    WriteBack(WriteBack),
    Close(CloseOrder),
    /// The owed write-backs of many orders as one bulk `orderUpdate` ([`super::bulk`]).
    BulkWriteBack(super::bulk::BulkWriteBack),
}

/// Make the BC document of one staged order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateDocument {
    pub order_id: String,
    pub name: String,
    /// The staged version the document is made from.
    pub updated_at: String,
    pub change_hash: String,
    pub draft: SalesDocumentDraft,
    /// Look the document up before the first send (another job's stale claim).
    pub probe_first: bool,
    /// The order's custom attributes when planned (the write-back replaces the list).
    pub attributes: Vec<OrderAttribute>,
    /// Close the order in Shopify once the document exists.
    pub close: bool,
}

/// Write the BC document number back to the order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriteBack {
    pub order_id: String,
    pub name: String,
    pub attributes: Vec<OrderAttribute>,
}

/// Close the order in Shopify.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloseOrder {
    pub order_id: String,
    pub name: String,
}

/// Shopify updates a made document still owes its order (id: the order GID, status [`OWED`]): written
/// when the document is settled, cleared as each update settles. A job that dies for good before
/// sending them leaves them here, and the next create-sales-orders run (or sync-orders run with
/// `auto_create_orders`) sends them; both updates set a state, so sending one twice is harmless.
pub const OWED_UPDATES: &str = "order-updates-owed";
pub const OWED: &str = "owed";

/// The body of an [`OWED_UPDATES`] record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwedUpdates {
    /// The order name, for the status board.
    pub name: String,
    #[serde(default)]
    pub write_back: Option<WriteBack>,
    #[serde(default)]
    pub close: Option<CloseOrder>,
}

impl OwedUpdates {
    /// The effects that send what is owed (the write-back first).
    pub fn effects(&self) -> Result<Vec<Effect>> {
        let mut out = Vec::new();
        if let Some(w) = &self.write_back {
            out.push(OrderEffect::WriteBack(w.clone()).into_effect()?);
        }
        if let Some(c) = &self.close {
            out.push(OrderEffect::Close(c.clone()).into_effect()?);
        }
        Ok(out)
    }
}

/// Which owed update settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Owed {
    WriteBack,
    Close,
}

/// Strike a settled update off its order's owed updates (the record goes once nothing is owed).
pub(crate) async fn discharge(run: &TaskRun<'_>, order_id: &str, which: Owed) -> Result<()> {
    let records = &run.stores.records;
    for _ in 0..2 {
        let Some(record) = records
            .get_record(run.shop(), OWED_UPDATES, order_id)
            .await?
        else {
            return Ok(());
        };
        let mut owed: OwedUpdates = serde_json::from_str(&record.body).unwrap_or_default();
        match which {
            Owed::WriteBack => owed.write_back = None,
            Owed::Close => owed.close = None,
        }
        if owed.write_back.is_none() && owed.close.is_none() {
            return records
                .delete_records(run.shop(), OWED_UPDATES, &[order_id.to_string()])
                .await;
        }
        let updated = Record {
            body: to_value(&owed)?.to_string(),
            ..record
        };
        if records
            .put_record_if(run.shop(), OWED_UPDATES, &updated)
            .await?
        {
            return Ok(());
        }
    }
    Err(SyncError::Conflict(format!(
        "owed updates of {} kept changing",
        preview(order_id)
    )))
}

/// What sending (or probing) a document came to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum DocumentOutcome {
    Created(SalesDocument),
    Found(SalesDocumentRef),
    /// BC refused the request itself: the order keeps the reason and the next run tries again.
    Refused(String),
}

fn to_value<T: Serialize>(value: &T) -> Result<Value> {
    serde_json::to_value(value).map_err(|e| SyncError::Internal(format!("serialising: {e}")))
}

impl OrderEffect {
    /// The effect as the engine ledgers it.
    pub fn into_effect(self) -> Result<Effect> {
        let (kind, target, label) = match &self {
            OrderEffect::Customer(c) => (
                EffectKind::Probed,
                System::Bc,
                format!(
                    "BC customer for {} ({} order(s))",
                    c.contact.describe(),
                    c.orders.len()
                ),
            ),
            OrderEffect::Document(d) => (
                EffectKind::Probed,
                System::Bc,
                format!("BC document for order {}", d.name),
            ),
            OrderEffect::WriteBack(w) => (
                EffectKind::Replayable,
                System::Shopify,
                format!("BC document number onto order {}", w.name),
            ),
            OrderEffect::Close(c) => (
                EffectKind::Replayable,
                System::Shopify,
                format!("close order {}", c.name),
            ),
            OrderEffect::BulkWriteBack(b) => (
                EffectKind::Replayable,
                System::Shopify,
                format!(
                    "BC document numbers onto {} orders (bulk)",
                    b.order_ids.len()
                ),
            ),
        };
        Ok(Effect::new(
            kind,
            target,
            bounded(&label, 200),
            to_value(&self)?,
        ))
    }

    pub fn of(effect: &Effect) -> Result<OrderEffect> {
        effect.payload_as()
    }
}

/// Plan the document of `staged` from `draft`.
pub fn document_effect(
    staged: &StagedOrder,
    draft: SalesDocumentDraft,
    attributes: Vec<OrderAttribute>,
    close: bool,
    probe_first: bool,
) -> Result<Effect> {
    OrderEffect::Document(CreateDocument {
        order_id: staged.order_id.clone(),
        name: staged.name.clone(),
        updated_at: staged.updated_at.clone(),
        change_hash: staged.change_hash.clone(),
        draft,
        probe_first,
        attributes,
        close,
    })
    .into_effect()
}

/// Send a document, write-back or close.
pub async fn send(run: &mut TaskRun<'_>, effect: &OrderEffect) -> Result<Value> {
    match effect {
        OrderEffect::Document(d) => {
            if d.probe_first
                && let Some(found) = probe_document(run, d).await?
            {
                return Ok(found);
            }
            match run.clients.bc.create_sales_document(&d.draft).await {
                Ok(document) => {
                    run.counters.add(counters::DOCUMENTS_CREATED, 1);
                    to_value(&DocumentOutcome::Created(document))
                }
                Err(e @ SyncError::Rejected { .. }) => {
                    run.counters.add(counters::DOCUMENTS_REFUSED, 1);
                    to_value(&DocumentOutcome::Refused(bounded(
                        &format!("BC refused the document: {e}"),
                        400,
                    )))
                }
                Err(e) => Err(e),
            }
        }
        OrderEffect::WriteBack(w) => {
            let outcome = run
                .clients
                .shopify
                .order_set_custom_attributes(&w.order_id, &w.attributes)
                .await?;
            to_value(&outcome)
        }
        OrderEffect::Close(c) => to_value(&run.clients.shopify.order_close(&c.order_id).await?),
        OrderEffect::BulkWriteBack(b) => super::bulk::send_write_backs(run, b).await,
        OrderEffect::Customer(_) => Err(customer_elsewhere()),
    }
}

/// After an unknown outcome: the document, if BC has it by now.
pub async fn probe(run: &mut TaskRun<'_>, effect: &OrderEffect) -> Result<Option<Value>> {
    match effect {
        OrderEffect::Document(d) => probe_document(run, d).await,
        OrderEffect::Customer(_) => Err(customer_elsewhere()),
        // Replayable: the engine resends them instead.
        OrderEffect::WriteBack(_) | OrderEffect::Close(_) | OrderEffect::BulkWriteBack(_) => {
            Ok(None)
        }
    }
}

async fn probe_document(run: &mut TaskRun<'_>, d: &CreateDocument) -> Result<Option<Value>> {
    let found = run
        .clients
        .bc
        .find_sales_documents_by_external_number(&d.draft.external_document_number)
        .await?;
    // The unposted document if there still is one, else what it was posted as.
    let best = found.into_iter().min_by_key(|r| r.kind);
    match best {
        Some(r) => {
            run.counters.add(counters::DOCUMENTS_FOUND, 1);
            Ok(Some(to_value(&DocumentOutcome::Found(r))?))
        }
        None => Ok(None),
    }
}

fn customer_elsewhere() -> SyncError {
    SyncError::Internal("customer effects are sent by sync-orders itself".into())
}

/// How a made document's write-back goes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteBackMode {
    /// As a follow-up of the document (one `orderUpdate`).
    FollowUp,
    /// Left owed, for the bulk write-back of the run's backlog ([`super::bulk`]).
    Owed,
}

/// Record what an outcome means; returns the follow-ups (write-back, close) of a made document.
pub async fn settle(
    run: &mut TaskRun<'_>,
    effect: &OrderEffect,
    outcome: &Value,
    write_back: WriteBackMode,
) -> Result<Settled> {
    match effect {
        OrderEffect::Document(d) => {
            let outcome: DocumentOutcome = serde_json::from_value(outcome.clone())
                .map_err(|e| SyncError::Internal(format!("unreadable document outcome: {e}")))?;
            settle_document(run, d, outcome, write_back).await
        }
        OrderEffect::BulkWriteBack(b) => super::bulk::settle_write_backs(run, b, outcome).await,
        OrderEffect::WriteBack(w) => {
            let outcome: shopsync_domain::orders::OrderUpdateOutcome =
                serde_json::from_value(outcome.clone())
                    .map_err(|e| SyncError::Internal(format!("unreadable update outcome: {e}")))?;
            let refused = (!outcome.updated || !outcome.user_errors.is_empty()).then(|| {
                user_errors(
                    "the BC document number was not written back",
                    &outcome.user_errors,
                )
            });
            discharge(run, &w.order_id, Owed::WriteBack).await?;
            settle_shopify(run, &w.order_id, refused, counters::ORDERS_WRITTEN_BACK).await
        }
        OrderEffect::Close(c) => {
            let outcome: shopsync_domain::orders::OrderCloseOutcome =
                serde_json::from_value(outcome.clone())
                    .map_err(|e| SyncError::Internal(format!("unreadable close outcome: {e}")))?;
            let refused = (!outcome.closed)
                .then(|| user_errors("the order was not closed", &outcome.user_errors));
            discharge(run, &c.order_id, Owed::Close).await?;
            settle_shopify(run, &c.order_id, refused, counters::ORDERS_CLOSED).await
        }
        OrderEffect::Customer(_) => Err(customer_elsewhere()),
    }
}

fn user_errors(what: &str, errors: &[shopsync_domain::inventory::UserError]) -> String {
    let messages: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
    bounded(&format!("{what}: {}", messages.join("; ")), 300)
}

async fn settle_shopify(
    run: &mut TaskRun<'_>,
    order_id: &str,
    refused: Option<String>,
    done_counter: &str,
) -> Result<Settled> {
    match refused {
        None => run.counters.add(done_counter, 1),
        Some(reason) => {
            run.counters.add(counters::SHOPIFY_UPDATES_REFUSED, 1);
            run.counters
                .add(crate::engine::counters::SKIPPED_RECORDS, 1);
            let skipped = SkippedRecord {
                job_id: run.job.job_id.clone(),
                task: run.job.task,
                record_id: order_id.to_string(),
                reason,
                at: shopsync_domain::time::now_secs(),
            };
            run.stores
                .skipped
                .record_skipped(run.shop(), &[skipped])
                .await?;
        }
    }
    Ok(Settled::default())
}

async fn settle_document(
    run: &mut TaskRun<'_>,
    d: &CreateDocument,
    outcome: DocumentOutcome,
    write_back: WriteBackMode,
) -> Result<Settled> {
    let document = match outcome {
        DocumentOutcome::Refused(reason) => {
            update_staged(run, &d.order_id, |staged| {
                staged.document_error = Some(reason.clone());
                // BC refused it, so there is no document: the next run need not wait or look.
                staged.document_claim = None;
                Ok(Update::Body)
            })
            .await?;
            return Ok(Settled::default());
        }
        DocumentOutcome::Created(doc) => DocumentRef {
            kind: match doc.kind {
                SalesDocumentKind::Order => "sales_order".into(),
                SalesDocumentKind::Invoice => "sales_invoice".into(),
            },
            number: doc.number,
            id: doc.id,
        },
        DocumentOutcome::Found(found) => DocumentRef {
            kind: serde_json::to_value(found.kind)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default(),
            // A posted shipment is numbered on its own; the order it came from is the document.
            number: match (found.kind, &found.order_number) {
                (FoundDocumentKind::PostedSalesShipment, Some(order)) => order.clone(),
                _ => found.number,
            },
            id: found.id,
        },
    };
    update_staged(run, &d.order_id, |staged| {
        staged.document = Some(document.clone());
        staged.document_error = None;
        // The record keeps the version the document was made from: a later change is then flagged.
        staged.updated_at = d.updated_at.clone();
        staged.change_hash = d.change_hash.clone();
        Ok(Update::Status(order_status::PROCESSED))
    })
    .await?;
    let link = OrderDocumentLink {
        order_id: d.order_id.clone(),
        name: d.name.clone(),
        kind: d.draft.kind,
        number: document.number.clone(),
        document_id: document.id.clone(),
    };
    run.stores
        .records
        .put_records(
            run.shop(),
            ORDER_DOCUMENTS,
            &[Record::new(
                to_code(&d.draft.external_document_number),
                None,
                to_value(&link)?.to_string(),
            )],
        )
        .await?;
    let mut owed = OwedUpdates {
        name: d.name.clone(),
        write_back: None,
        close: None,
    };
    if run.settings.order_attributes_to_shopify {
        let mut attributes = d.attributes.clone();
        match attributes
            .iter_mut()
            .find(|a| a.key == BC_DOCUMENT_ATTRIBUTE)
        {
            Some(a) => a.value = Some(document.number.clone()),
            None => attributes.push(OrderAttribute {
                key: BC_DOCUMENT_ATTRIBUTE.into(),
                value: Some(document.number.clone()),
            }),
        }
        owed.write_back = Some(WriteBack {
            order_id: d.order_id.clone(),
            name: d.name.clone(),
            attributes,
        });
    }
    if d.close {
        owed.close = Some(CloseOrder {
            order_id: d.order_id.clone(),
            name: d.name.clone(),
        });
    }
    let mut follow_ups = owed.effects()?;
    if write_back == WriteBackMode::Owed
        && let Some(w) = &owed.write_back
    {
        // Owed only: the run's bulk write-back sends it with the others.
        let planned = OrderEffect::WriteBack(w.clone()).into_effect()?;
        follow_ups.retain(|e| *e != planned);
    }
    if owed.write_back.is_some() || owed.close.is_some() {
        // Owed before they are planned: a job that dies now leaves them for the next run.
        run.stores
            .records
            .put_records(
                run.shop(),
                OWED_UPDATES,
                &[Record::new(
                    d.order_id.clone(),
                    Some(OWED),
                    to_value(&owed)?.to_string(),
                )],
            )
            .await?;
    }
    Ok(Settled { follow_ups })
}

/// What [`update_staged`] is to do with an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Update {
    /// Write nothing (the order is not in the state the change is for).
    Leave,
    /// Write the changed body, keeping the status.
    Body,
    /// Write the changed body with this status.
    Status(&'static str),
}

/// Change an `unprocessed` staged order (compare-and-swap, read again once on a conflict). An order
/// in another state is left alone: a settle replayed after a crash finds it `processed` already.
/// `Ok(true)` when it was written.
pub async fn update_staged(
    run: &TaskRun<'_>,
    id: &str,
    mut change: impl FnMut(&mut StagedOrder) -> Result<Update>,
) -> Result<bool> {
    let records = &run.stores.records;
    for _ in 0..2 {
        let Some(record) = records.get_record(run.shop(), STAGED_ORDERS, id).await? else {
            return Ok(false);
        };
        if record.status.as_deref() != Some(order_status::UNPROCESSED) {
            return Ok(false);
        }
        let mut staged = read_staged(&record)?;
        let status = match change(&mut staged)? {
            Update::Leave => return Ok(false),
            Update::Body => record.status.clone(),
            Update::Status(s) => Some(s.to_string()),
        };
        staged.refresh();
        let updated = Record {
            status,
            body: staged.to_body()?,
            ..record
        };
        if records
            .put_record_if(run.shop(), STAGED_ORDERS, &updated)
            .await?
        {
            return Ok(true);
        }
    }
    Err(SyncError::Conflict(format!(
        "staged order {} kept changing while it was updated",
        preview(id)
    )))
}

/// A staged order's body.
pub fn read_staged(record: &Record) -> Result<StagedOrder> {
    serde_json::from_str(&record.body).map_err(|e| {
        SyncError::Internal(format!(
            "staged order {} has an unreadable body: {e}",
            preview(&record.id)
        ))
    })
}
