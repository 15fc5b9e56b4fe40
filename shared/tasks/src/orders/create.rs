//! `create-sales-orders` (reference report 30103): staged, mapped, unprocessed orders → BC sales
//! orders (or invoices, for fulfilled orders with `create_invoices_from_orders`).
//!
//! The reference processes every order with `Processed = false`, including those that failed
//! before, on every run; so does this task. Each planning step reads one page of `unprocessed`
//! orders from the status index and, for each:
//!
//! - an order still waiting for its BC customer (sync-orders is creating it) is left for later;
//! - an order that is not mapped is **mapped again** with the current settings and BC's current
//!   customers (a SKU fixed in Shopify comes through sync-orders; an item created in BC, a default
//!   customer set or a customer created by hand comes through here), and stays with its reason if it
//!   still cannot be;
//! - a mapped order gets its document drafted ([`super::document`]); one that cannot be made keeps the
//!   reason, with no request spent;
//! - otherwise the order is **claimed** by this job in the same compare-and-swap write
//!   ([`DocumentClaim`]) and its document is planned as a probed effect ([`super::effects`]).
//!
//! The document, the write-back of its number and the archiving are sent, probed and settled by
//! [`super::effects`], the same code sync-orders uses for `auto_create_orders`. A run starts with the
//! Shopify updates that documents of earlier jobs still owe ([`effects::OWED_UPDATES`]): a job that
//! made a document and died for good before writing its number back leaves that to the next run.

use super::document;
use super::effects::{self, OrderEffect};
use super::mapping::{self, CustomerPlan, Lookup};
use super::staged::{ClaimCheck, DocumentClaim, STAGED_ORDERS, StagedOrder, order_status};
use crate::engine::{Effect, Planned, Settled, Task, TaskRun};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shopsync_domain::TaskKind;
use shopsync_domain::orders::ShopifyOrder;
use shopsync_domain::ports::{Record, Result, SkippedRecord};

/// Unprocessed orders read per planning step.
pub const PAGE: usize = 50;

/// The task.
#[derive(Debug, Default, Clone, Copy)]
pub struct CreateSalesOrdersTask;

/// Where planning is: the last order id of the status index read.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct CreateState {
    /// Updates owed by documents of earlier jobs are planned (the first steps of a run).
    #[serde(default)]
    pub owed_done: bool,
    #[serde(default)]
    pub owed_after: Option<String>,
    #[serde(default)]
    pub after: Option<String>,
    #[serde(default)]
    pub pages: u32,
}

/// Counters of this task (the document counters are in [`effects::counters`]).
pub mod counters {
    pub const ORDERS_READ: &str = "unprocessed_orders_read";
    pub const WAITING_FOR_CUSTOMER: &str = "orders_waiting_for_customer";
    pub const STILL_UNMAPPED: &str = "orders_still_unmapped";
    pub const REMAPPED: &str = "orders_remapped";
    pub const NOT_MADE: &str = "orders_document_cannot_be_made";
    /// Claimed by another job that may be sending the document right now.
    pub const CLAIMED_ELSEWHERE: &str = "orders_claimed_by_another_job";
    /// Changed by another run between the read and the claim: left to the next run.
    pub const CHANGED_MEANWHILE: &str = "orders_changed_meanwhile";
    /// Write-backs and closes owed by documents of jobs that died before sending them.
    pub const OWED_UPDATES_RESENT: &str = "owed_order_updates_planned";
}

/// What planning one order's document came to.
#[derive(Debug)]
pub enum Planning {
    /// Claimed; this is its effect.
    Effect(Effect),
    /// Another job's recent claim: left to it.
    Held,
    /// It cannot be made: `document_error` says why.
    CannotBeMade,
}

/// Plan the document of a mapped `staged` order made from `order`: claim it (in `staged`; the caller
/// writes it) and return its effect, or say why not.
pub fn plan_document(
    run: &TaskRun<'_>,
    staged: &mut StagedOrder,
    order: &ShopifyOrder,
    now: i64,
) -> Result<Planning> {
    let check = DocumentClaim::check(staged.document_claim.as_ref(), &run.job.job_id, now);
    if check == ClaimCheck::HeldElsewhere {
        return Ok(Planning::Held);
    }
    match document::draft(run.settings, staged, order) {
        Err(reason) => {
            staged.document_error = Some(reason);
            staged.refresh();
            Ok(Planning::CannotBeMade)
        }
        Ok(draft) => {
            let close = document::closes_after(run.settings, draft.kind, order);
            staged.document_claim = Some(DocumentClaim {
                job_id: run.job.job_id.clone(),
                at: now,
            });
            let effect = effects::document_effect(
                staged,
                draft,
                order.custom_attributes.clone(),
                close,
                check == ClaimCheck::ProbeFirst,
            )?;
            Ok(Planning::Effect(effect))
        }
    }
}

#[async_trait]
impl Task for CreateSalesOrdersTask {
    type State = CreateState;

    fn kind(&self) -> TaskKind {
        TaskKind::CreateSalesOrders
    }

    async fn plan(&self, run: &mut TaskRun<'_>, state: &mut CreateState) -> Result<Planned> {
        if !state.owed_done {
            // What dead jobs still owe, a bulk write-back when there are many (see `super::bulk`).
            let (owed, next) = super::bulk::plan_owed(
                run,
                state.owed_after.as_deref(),
                super::bulk::MAX_BULK_WRITE_BACKS,
            )
            .await?;
            run.counters
                .add(counters::OWED_UPDATES_RESENT, owed.len() as u64);
            state.owed_done = next.is_none();
            state.owed_after = next;
            return Ok(Planned::more(owed));
        }
        let page = run
            .stores
            .records
            .list_by_status(
                run.shop(),
                STAGED_ORDERS,
                order_status::UNPROCESSED,
                state.after.as_deref(),
                PAGE,
            )
            .await?;
        state.pages += 1;
        run.counters
            .add(counters::ORDERS_READ, page.records.len() as u64);
        let mut planned = Vec::new();
        for record in page.records {
            planned.extend(prepare(run, record).await?);
        }
        run.counters
            .add(effects::counters::DOCUMENTS_PLANNED, planned.len() as u64);
        state.after = page.next_after;
        Ok(if state.after.is_some() {
            Planned::more(planned)
        } else {
            Planned::last(planned)
        })
    }

    async fn send(&self, run: &mut TaskRun<'_>, effect: &Effect, _key: &str) -> Result<Value> {
        effects::send(run, &OrderEffect::of(effect)?).await
    }

    async fn probe(
        &self,
        run: &mut TaskRun<'_>,
        effect: &Effect,
        _key: &str,
    ) -> Result<Option<Value>> {
        effects::probe(run, &OrderEffect::of(effect)?).await
    }

    async fn settle(
        &self,
        run: &mut TaskRun<'_>,
        _state: &mut CreateState,
        effect: &Effect,
        outcome: &Value,
    ) -> Result<Settled> {
        effects::settle(
            run,
            &OrderEffect::of(effect)?,
            outcome,
            effects::WriteBackMode::FollowUp,
        )
        .await
    }
}

/// One unprocessed order: map it again if it needs it, draft and claim its document, and write what
/// changed in one compare-and-swap. `Some(effect)` when its document is to be made.
async fn prepare(run: &mut TaskRun<'_>, record: Record) -> Result<Option<Effect>> {
    let mut staged = match effects::read_staged(&record) {
        Ok(s) => s,
        Err(e) => {
            skip(run, &record.id, &e.to_string()).await?;
            return Ok(None);
        }
    };
    if staged.customer_pending {
        run.counters.add(counters::WAITING_FOR_CUSTOMER, 1);
        return Ok(None);
    }
    let order = match staged.order.clone() {
        Some(order) => order,
        // Too large to stage whole: read it again.
        None => match run.clients.shopify.order(&staged.order_id).await? {
            Some(order) => order,
            None => {
                staged.document_error =
                    Some("the order is no longer in Shopify: no document made".into());
                staged.refresh();
                write(run, record, &mut staged).await?;
                return Ok(None);
            }
        },
    };
    let before = staged.clone();
    if !staged.mapped {
        remap(run, &mut staged, &order).await?;
        if staged.mapped {
            run.counters.add(counters::REMAPPED, 1);
        }
    }
    let mut effect = None;
    if staged.mapped {
        match plan_document(run, &mut staged, &order, shopsync_domain::time::now_secs())? {
            Planning::Effect(e) => effect = Some(e),
            Planning::Held => run.counters.add(counters::CLAIMED_ELSEWHERE, 1),
            Planning::CannotBeMade => run.counters.add(counters::NOT_MADE, 1),
        }
    } else {
        run.counters.add(counters::STILL_UNMAPPED, 1);
    }
    if staged == before {
        return Ok(effect);
    }
    if !write(run, record, &mut staged).await? {
        // Staged again (or processed) meanwhile: what was planned is for an older version.
        run.counters.add(counters::CHANGED_MEANWHILE, 1);
        return Ok(None);
    }
    Ok(effect)
}

/// Write `staged` over `record` if it has not changed since it was read.
async fn write(run: &TaskRun<'_>, record: Record, staged: &mut StagedOrder) -> Result<bool> {
    let updated = Record {
        body: staged.to_body()?,
        ..record
    };
    run.stores
        .records
        .put_record_if(run.shop(), STAGED_ORDERS, &updated)
        .await
}

/// Map an unmapped order again: its lines by the current `sku_mapping`, and its customer when it has
/// none (the default customer, or the buyer looked up in BC; creating one is sync-orders' part).
async fn remap(
    run: &mut TaskRun<'_>,
    staged: &mut StagedOrder,
    order: &ShopifyOrder,
) -> Result<()> {
    let links = mapping::order_links(run, &[order]).await?;
    staged.lines = mapping::map_lines(run.settings, order, &links);
    if staged.customer_no.is_none() {
        staged.customer_error = None;
        match mapping::plan_customer(run.settings, order) {
            CustomerPlan::Default(no) => staged.customer_no = Some(no),
            CustomerPlan::Unmappable(reason) => staged.customer_error = Some(reason),
            CustomerPlan::Company { legacy_id, id } => {
                match crate::companies::customer_of_company(run, legacy_id, &id).await? {
                    Ok(no) => staged.customer_no = Some(no),
                    Err(reason) => staged.customer_error = Some(reason),
                }
            }
            CustomerPlan::Lookup(contact) => {
                match mapping::customer_lookup(run.clients.bc.as_ref(), &contact).await? {
                    Lookup::Found(no) => staged.customer_no = Some(no),
                    Lookup::Blocked(no) => {
                        staged.customer_error = Some(mapping::blocked_reason(&no, &contact))
                    }
                    Lookup::NotFound => {
                        staged.customer_error = Some(mapping::not_found_reason(&contact))
                    }
                }
                staged.contact = Some(contact);
            }
        }
    }
    staged.refresh();
    Ok(())
}

async fn skip(run: &mut TaskRun<'_>, id: &str, reason: &str) -> Result<()> {
    run.counters
        .add(crate::engine::counters::SKIPPED_RECORDS, 1);
    run.stores
        .skipped
        .record_skipped(
            run.shop(),
            &[SkippedRecord {
                job_id: run.job.job_id.clone(),
                task: TaskKind::CreateSalesOrders,
                record_id: id.to_string(),
                reason: shopsync_domain::text::bounded(reason, 300),
                at: shopsync_domain::time::now_secs(),
            }],
        )
        .await
}
