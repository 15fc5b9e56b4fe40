//! `sync-orders` (reference report 30104), the staging half: Shopify orders updated since the last
//! run → staged order records, mapped to a BC customer and BC items, ready for create-sales-orders.
//!
//! On the engine ([`crate::engine`]) the task's work is mostly **reading**: each planning step reads
//! one page of orders (whole orders: lines, customer, addresses, shipping, transactions, refunds,
//! fulfillment orders) and stages it, so a large backlog spans invocations with a checkpoint between
//! pages and the deadline is checked between them. The window and the cursor are in [`sync`], the
//! record body and its change hash in [`staged`], the mapping rules in [`mapping`].
//!
//! The only write to another system is creating an unknown buyer as a BC customer (with
//! `auto_create_unknown_customers`). BC has no idempotency keys, so that is a **probed** effect: after
//! an unknown outcome (the answer lost on the way back) the engine first looks the customer up by the
//! buyer's e-mail (or phone) and settles with what it finds, and sends again only when there is none.
//! One effect serves every order of the page with the same buyer; settling writes the customer
//! number into each of them.
//!
//! What is staged is never applied twice: a processed order that changes in Shopify afterwards is
//! flagged (`changed_after_processing`) and left for a person, as the reference does.
//!
//! A window that holds a backlog (more orders than the client's bulk threshold) is read with one
//! bulk query instead of pages, staged by the same code, and its documents' write-backs go back as
//! bulk mutations: see [`bulk`] for how and why that stays exactly-once.

pub mod bulk;
pub mod create;
#[cfg(test)]
mod create_tests;
pub mod document;
pub mod effects;
pub mod mapping;
pub mod staged;
pub mod sync;
#[cfg(test)]
pub(crate) mod tests;

use crate::engine::{Effect, Planned, Settled, Task, TaskRun};
use async_trait::async_trait;
use effects::{OrderEffect, Update};
use mapping::Contact;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shopsync_domain::ports::Result;
use shopsync_domain::sales::{BcCustomer, NewCustomer};
use shopsync_domain::text::bounded;
use shopsync_domain::{SyncError, TaskKind};
use std::collections::HashMap;
use sync::Known;

/// The task. Its state is the run's window and page cursor ([`SyncState`]) and the staged records.
#[derive(Debug, Default, Clone, Copy)]
pub struct SyncOrdersTask;

/// Where planning is.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Fix the window (`until` = now, `since` = the cursor minus the overlap).
    #[default]
    Start,
    /// Read and stage one page a step.
    Pages,
    /// A bulk query reads the window: poll it once a step.
    BulkWait,
    /// Stage the bulk-read orders, [`bulk::STAGE_CHUNK`] a step.
    BulkStage,
    /// Every document of a bulk-read window made: send the owed write-backs in bulk.
    WriteBacks,
    /// Every page staged and every customer settled: move the cursor to `until`.
    Finish,
}

/// The task's resume state, checkpointed with the engine's.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct SyncState {
    #[serde(default)]
    pub phase: Phase,
    /// Lower bound of the window (inclusive); `None` on the first sync ever.
    #[serde(default)]
    pub since: Option<String>,
    /// Upper bound (inclusive): when the run started, taken once.
    #[serde(default)]
    pub until: Option<String>,
    /// First sync ever: open orders only.
    #[serde(default)]
    pub open_only: bool,
    /// Shopify's cursor of the next page.
    #[serde(default)]
    pub after: Option<String>,
    /// Version of the cursor record when the window was opened (0: none), for its compare-and-swap.
    #[serde(default)]
    pub cursor_version: u64,
    #[serde(default)]
    pub pages: u32,
    /// A run over the window its options name (closed orders included; the cursor stays).
    #[serde(default)]
    pub window_only: bool,
    /// The window's bulk read, when it holds a backlog.
    #[serde(default)]
    pub bulk: Option<bulk::BulkRead>,
    /// Documents made in this run leave their write-back owed for [`Phase::WriteBacks`].
    #[serde(default)]
    pub write_backs_in_bulk: bool,
    /// [`Phase::WriteBacks`]: the owed updates after this order id are still to be planned.
    #[serde(default)]
    pub owed_after: Option<String>,
    /// BC customers looked up or created in this invocation, by buyer (not checkpointed: a resumed
    /// run asks BC again).
    #[serde(skip)]
    pub customers: HashMap<String, Known>,
    /// The bulk-read orders (not checkpointed: a resumed run downloads the file again).
    #[serde(skip)]
    pub bulk_orders: Option<Vec<shopsync_domain::orders::ShopifyOrder>>,
    /// Template customers read in this invocation, for customers created (not checkpointed).
    #[serde(skip)]
    pub templates: crate::customer_templates::CustomerTemplates,
}

/// Counter names this task reports.
pub mod counters {
    pub const PAGES_READ: &str = "order_pages_read";
    pub const ORDERS_READ: &str = "orders_read";
    /// New orders staged.
    pub const ORDERS_STAGED: &str = "orders_staged";
    /// Unprocessed orders staged again with a newer version.
    pub const ORDERS_RESTAGED: &str = "orders_restaged";
    /// Orders whose staged version is the one read: nothing written.
    pub const ORDERS_UNCHANGED: &str = "orders_unchanged";
    /// Processed (or flagged) orders whose change does not concern their document: left as is.
    pub const ORDERS_LEFT_AS_IS: &str = "orders_left_as_is";
    pub const ORDERS_CHANGED_AFTER_PROCESSING: &str = "orders_changed_after_processing";
    /// New orders closed already: not imported.
    pub const ORDERS_SKIPPED_CLOSED: &str = "orders_skipped_closed";
    /// Orders staged with a reason they cannot be processed.
    pub const ORDERS_UNMAPPED: &str = "orders_unmapped";
    pub const CUSTOMER_LOOKUPS: &str = "bc_customer_lookups";
    pub const CUSTOMERS_CREATED: &str = "bc_customers_created";
    pub const CUSTOMERS_REFUSED: &str = "bc_customers_refused";
}

/// The one effect: create a BC customer for a buyer, for the staged orders that wait for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateCustomer {
    pub contact: Contact,
    pub customer: NewCustomer,
    /// Ids of the staged orders to complete with the customer number.
    pub orders: Vec<String>,
}

/// What sending (or probing) a customer creation came to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum CustomerOutcome {
    Customer(BcCustomer),
    /// BC refused it (the request itself, not a transient failure): the orders get the reason.
    Refused(String),
}

fn to_value<T: Serialize>(value: &T) -> Result<Value> {
    serde_json::to_value(value).map_err(|e| SyncError::Internal(format!("serialising: {e}")))
}

#[async_trait]
impl Task for SyncOrdersTask {
    type State = SyncState;

    fn kind(&self) -> TaskKind {
        TaskKind::SyncOrders
    }

    async fn plan(&self, run: &mut TaskRun<'_>, state: &mut SyncState) -> Result<Planned> {
        let mut owed = Vec::new();
        if state.phase == Phase::Start {
            sync::open_window(run, state).await?;
            state.phase = Phase::Pages;
            if run.settings.auto_create_orders {
                // Updates owed by documents of jobs that died (one page a run; more next run).
                owed = bulk::plan_owed(run, None, bulk::MAX_BULK_WRITE_BACKS)
                    .await?
                    .0;
            }
            if start_bulk_read(run, state).await? {
                return Ok(Planned::more(owed));
            }
        }
        match state.phase {
            Phase::Finish => {
                sync::advance_cursor(run, state).await?;
                return Ok(Planned::last(Vec::new()));
            }
            Phase::BulkWait => return poll_bulk_read(run, state).await,
            Phase::BulkStage => return stage_bulk_chunk(run, state).await,
            Phase::WriteBacks => {
                let (effects, next) =
                    bulk::plan_owed(run, state.owed_after.as_deref(), bulk::MAX_BULK_WRITE_BACKS)
                        .await?;
                state.owed_after = next;
                if state.owed_after.is_none() {
                    state.phase = Phase::Finish;
                }
                return Ok(Planned::more(effects));
            }
            Phase::Start | Phase::Pages => {}
        }
        let until = state
            .until
            .clone()
            .ok_or_else(|| SyncError::Internal("sync-orders has no window".into()))?;
        let page = run
            .clients
            .shopify
            .orders_updated_since(
                state.since.as_deref(),
                &until,
                state.open_only,
                state.after.as_deref(),
            )
            .await?;
        run.counters.add(counters::PAGES_READ, 1);
        run.counters
            .add(counters::ORDERS_READ, page.items.len() as u64);
        state.pages += 1;
        let mut effects = owed;
        effects.extend(stage(run, state, &page.items).await?);
        state.after = page.next_cursor;
        if state.after.is_some() {
            return Ok(Planned::more(effects));
        }
        finish_reading(run, state, effects).await
    }

    async fn send(&self, run: &mut TaskRun<'_>, effect: &Effect, _key: &str) -> Result<Value> {
        match OrderEffect::of(effect)? {
            OrderEffect::Customer(create) => send_customer(run, &create).await,
            other => effects::send(run, &other).await,
        }
    }

    async fn probe(
        &self,
        run: &mut TaskRun<'_>,
        effect: &Effect,
        _key: &str,
    ) -> Result<Option<Value>> {
        match OrderEffect::of(effect)? {
            OrderEffect::Customer(create) => probe_customer(run, &create).await,
            other => effects::probe(run, &other).await,
        }
    }

    async fn settle(
        &self,
        run: &mut TaskRun<'_>,
        state: &mut SyncState,
        effect: &Effect,
        outcome: &Value,
    ) -> Result<Settled> {
        match OrderEffect::of(effect)? {
            OrderEffect::Customer(create) => settle_customer(run, state, &create, outcome).await,
            other => {
                let mode = if state.write_backs_in_bulk {
                    effects::WriteBackMode::Owed
                } else {
                    effects::WriteBackMode::FollowUp
                };
                effects::settle(run, &other, outcome, mode).await
            }
        }
    }
}

/// Stage orders read (a page, or a chunk of a bulk read): the same code whichever way they came.
/// Returns the customers to create and the documents to make.
async fn stage(
    run: &mut TaskRun<'_>,
    state: &mut SyncState,
    orders: &[shopsync_domain::orders::ShopifyOrder],
) -> Result<Vec<Effect>> {
    let staged = sync::stage_page(run, state, orders).await?;
    let mut effects = Vec::new();
    for creation in staged.creations.into_values() {
        effects.push(OrderEffect::Customer(creation).into_effect()?);
    }
    effects.extend(staged.documents);
    Ok(effects)
}

/// The window is read: send what the last orders need; the cursor moves once that is settled
/// (after the bulk write-backs, in a bulk-read run).
async fn finish_reading(
    run: &mut TaskRun<'_>,
    state: &mut SyncState,
    effects: Vec<Effect>,
) -> Result<Planned> {
    if state.write_backs_in_bulk {
        state.phase = Phase::WriteBacks;
        state.owed_after = None;
        return Ok(Planned::more(effects));
    }
    if effects.is_empty() {
        sync::advance_cursor(run, state).await?;
        return Ok(Planned::last(Vec::new()));
    }
    // The cursor moves once the customers of the last page are settled too.
    state.phase = Phase::Finish;
    Ok(Planned::more(effects))
}

/// Whether the window is a backlog to read in bulk; if so, the bulk query is started.
async fn start_bulk_read(run: &mut TaskRun<'_>, state: &mut SyncState) -> Result<bool> {
    let until = state
        .until
        .clone()
        .ok_or_else(|| SyncError::Internal("sync-orders has no window".into()))?;
    let shopify = run.clients.shopify.clone();
    let large = shopify
        .orders_prefer_bulk(state.since.as_deref(), &until, state.open_only)
        .await?;
    if large != Some(true) {
        return Ok(false);
    }
    let id = shopify
        .orders_bulk_start(state.since.as_deref(), &until, state.open_only)
        .await?;
    run.counters.add(bulk::counters::BULK_READS, 1);
    state.bulk = Some(bulk::BulkRead {
        id,
        url: None,
        next: 0,
    });
    state.write_backs_in_bulk = run.settings.auto_create_orders;
    state.phase = Phase::BulkWait;
    Ok(true)
}

/// One poll of the window's bulk query. Complete: stage it next. Failed (or gone): page the window
/// instead.
async fn poll_bulk_read(run: &mut TaskRun<'_>, state: &mut SyncState) -> Result<Planned> {
    let Some(read) = state.bulk.as_mut() else {
        state.phase = Phase::Pages;
        return Ok(Planned::more(Vec::new()));
    };
    let status = run.clients.shopify.bulk_operation_wait(&read.id).await?;
    run.counters.add(bulk::counters::BULK_READ_POLLS, 1);
    if !status.is_terminal() {
        return Ok(Planned::more(Vec::new()));
    }
    if status.status == "COMPLETED" {
        read.url = status.url;
        state.phase = Phase::BulkStage;
    } else {
        tracing::warn!(operation = %read.id, status = %status.status, error = ?status.error_code, "bulk read of orders failed; paging the window");
        run.counters.add(bulk::counters::BULK_READS_FAILED, 1);
        state.bulk = None;
        state.after = None;
        state.phase = Phase::Pages;
    }
    Ok(Planned::more(Vec::new()))
}

/// Stage the next [`bulk::STAGE_CHUNK`] orders of the bulk read (downloading the file first when
/// this invocation has not yet).
async fn stage_bulk_chunk(run: &mut TaskRun<'_>, state: &mut SyncState) -> Result<Planned> {
    let Some(read) = state.bulk.clone() else {
        return Err(SyncError::Internal(
            "sync-orders stages a bulk read it never started".into(),
        ));
    };
    if state.bulk_orders.is_none() {
        let orders = match &read.url {
            Some(url) => run.clients.shopify.orders_bulk_read(url).await?,
            None => Vec::new(),
        };
        state.bulk_orders = Some(orders);
    }
    let orders = state.bulk_orders.take().unwrap_or_default();
    let end = (read.next + bulk::STAGE_CHUNK).min(orders.len());
    let chunk = &orders[read.next.min(end)..end];
    state.pages += 1;
    run.counters.add(counters::PAGES_READ, 1);
    run.counters.add(counters::ORDERS_READ, chunk.len() as u64);
    let effects = stage(run, state, chunk).await?;
    let done = end >= orders.len();
    if let Some(r) = state.bulk.as_mut() {
        r.next = end;
    }
    if done {
        return finish_reading(run, state, effects).await;
    }
    state.bulk_orders = Some(orders);
    Ok(Planned::more(effects))
}

async fn send_customer(run: &mut TaskRun<'_>, create: &CreateCustomer) -> Result<Value> {
    match run.clients.bc.create_customer(&create.customer).await {
        Ok(customer) => {
            run.counters.add(counters::CUSTOMERS_CREATED, 1);
            to_value(&CustomerOutcome::Customer(customer))
        }
        // The request itself was refused: retrying sends the same request again, so the orders
        // take the reason instead and the run goes on.
        Err(e @ SyncError::Rejected { .. }) => {
            run.counters.add(counters::CUSTOMERS_REFUSED, 1);
            to_value(&CustomerOutcome::Refused(bounded(
                &format!(
                    "BC refused to create a customer for {}: {e}",
                    create.contact.describe()
                ),
                300,
            )))
        }
        Err(e) => Err(e),
    }
}

async fn probe_customer(run: &mut TaskRun<'_>, create: &CreateCustomer) -> Result<Option<Value>> {
    let bc = run.clients.bc.as_ref();
    let mut found = Vec::new();
    if let Some(email) = &create.contact.email {
        found = bc.find_customer_by_email(email).await?;
    }
    if found.is_empty()
        && let Some(phone) = &create.contact.phone
    {
        found = bc.find_customer_by_phone(phone).await?;
    }
    let customer = found.iter().find(|c| !c.blocked).or(found.first()).cloned();
    customer
        .map(|c| to_value(&CustomerOutcome::Customer(c)))
        .transpose()
}

/// Write the settled customer into the orders that wait for it; with `auto_create_orders`, the
/// documents of those that are complete now follow.
async fn settle_customer(
    run: &mut TaskRun<'_>,
    state: &mut SyncState,
    create: &CreateCustomer,
    outcome: &Value,
) -> Result<Settled> {
    let outcome: CustomerOutcome = serde_json::from_value(outcome.clone())
        .map_err(|e| SyncError::Internal(format!("unreadable customer outcome: {e}")))?;
    let known = match &outcome {
        CustomerOutcome::Customer(c) if c.blocked => Known::Blocked(c.number.clone()),
        CustomerOutcome::Customer(c) => Known::Found(c.number.clone()),
        CustomerOutcome::Refused(reason) => Known::Refused(reason.clone()),
    };
    state.customers.insert(create.contact.key(), known.clone());
    let mut follow_ups = Vec::new();
    for id in &create.orders {
        follow_ups.extend(complete_order(run, create, id, &known).await?);
    }
    Ok(Settled { follow_ups })
}

/// Write the settled customer into one staged order that waits for it. An order staged again
/// meanwhile for another buyer, or processed, is left. With `auto_create_orders`, a new order that is
/// complete now gets its document planned: returned as a follow-up.
async fn complete_order(
    run: &TaskRun<'_>,
    create: &CreateCustomer,
    id: &str,
    known: &Known,
) -> Result<Option<Effect>> {
    let now = shopsync_domain::time::now_secs();
    let mut document = None;
    effects::update_staged(run, id, |staged| {
        document = None;
        if !staged.customer_pending || staged.contact.as_ref() != Some(&create.contact) {
            return Ok(Update::Leave);
        }
        staged.customer_pending = false;
        match known {
            Known::Found(no) => staged.customer_no = Some(no.clone()),
            Known::Blocked(no) => {
                staged.customer_error = Some(mapping::blocked_reason(no, &create.contact))
            }
            Known::Refused(reason) => staged.customer_error = Some(reason.clone()),
            Known::NotFound => {
                staged.customer_error = Some(mapping::not_found_reason(&create.contact))
            }
        }
        staged.refresh();
        if staged.auto_create
            && staged.mapped
            && let Some(order) = staged.order.clone()
            && let create::Planning::Effect(effect) =
                create::plan_document(run, staged, &order, now)?
        {
            document = Some(effect);
        }
        Ok(Update::Body)
    })
    .await?;
    Ok(document)
}
