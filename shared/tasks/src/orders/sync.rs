//! The window of a run and the staging of one page of orders.
//!
//! **Window.** The reference takes `NewSyncTime` before its first page and stores it as the cursor
//! after the last, so the next run starts where this one's view of Shopify began. Here the same: the
//! upper bound `until` is taken once when the run starts (and checkpointed, so a continuation keeps
//! it), the lower bound is the stored cursor minus [`OVERLAP_SECS`]. The overlap catches an order
//! whose `updatedAt` falls inside a window but that Shopify's search did not return in time (search
//! indexing lags writes; clocks differ), and an order re-read thanks to it is recognised by its
//! `updatedAt` and not written again. Orders updated after `until` while the run pages belong to the
//! next window.
//!
//! **Cursor.** One record (`sync-cursors` / `orders`, body `{"updated_at": …}`), moved with a
//! compare-and-swap on its version once the last page is staged and every effect of the window is
//! settled: a run that fails half-way leaves it where it was and the next run reads the window
//! again. It never moves backwards.
//!
//! **Staging** follows the reference's rules ([`stage_page`]).

use super::create::{Planning, plan_document};
use super::effects::{CloseOrder, OrderEffect};
use super::mapping::{self, CustomerPlan, Lookup};
use super::staged::{StagedOrder, StoredHead, flagged_body, order_status};
use super::{CreateCustomer, SyncState, counters};
use crate::catalogue::VariantLink;
use crate::engine::{Effect, TaskRun};
use serde::{Deserialize, Serialize};
use shopsync_domain::SyncError;
use shopsync_domain::orders::ShopifyOrder;
use shopsync_domain::ports::{Record, Result};
use shopsync_domain::settings::ShopSettings;
use shopsync_domain::staging::STAGED_ORDERS;
use shopsync_domain::text::preview;
use std::collections::{BTreeMap, HashMap};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Record kind of the incremental cursors (one record per cursor).
pub const CURSORS: &str = "sync-cursors";
/// The orders cursor's id.
pub const ORDERS_CURSOR: &str = "orders";
/// How far before the stored cursor a window starts.
pub const OVERLAP_SECS: i64 = 5 * 60;

/// The cursor record's body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CursorBody {
    pub updated_at: String,
}

/// Parse an RFC 3339 date-time (Shopify's `updatedAt`, our cursor).
pub fn parse_time(what: &str, value: &str) -> Result<OffsetDateTime> {
    OffsetDateTime::parse(value, &Rfc3339).map_err(|e| {
        SyncError::Internal(format!(
            "{what} '{}' is not an RFC 3339 date-time: {e}",
            preview(value)
        ))
    })
}

/// `t` as Shopify's search takes it: UTC, whole seconds (`2026-05-01T10:00:00Z`).
pub fn format_time(t: OffsetDateTime) -> Result<String> {
    let t = t
        .to_offset(time::UtcOffset::UTC)
        .replace_nanosecond(0)
        .map_err(|e| SyncError::Internal(format!("time: {e}")))?;
    t.format(&Rfc3339)
        .map_err(|e| SyncError::Internal(format!("formatting a time: {e}")))
}

/// Whether two `updatedAt`s are the same instant (equal text, or equal once parsed).
fn same_instant(a: &str, b: &str) -> bool {
    a == b
        || matches!(
            (OffsetDateTime::parse(a, &Rfc3339), OffsetDateTime::parse(b, &Rfc3339)),
            (Ok(x), Ok(y)) if x == y
        )
}

/// Fix the run's window: `until` now, `since` the stored cursor minus the overlap; no cursor yet
/// (the first sync ever) reads open orders only, as the reference does.
///
/// A run with the `orders_from` option imports that window instead, closed orders included, and
/// leaves the cursor where it is.
pub async fn open_window(run: &TaskRun<'_>, state: &mut SyncState) -> Result<()> {
    let until = format_time(OffsetDateTime::now_utc())?;
    let options = &run.job.options;
    if let Some(from) = &options.orders_from {
        options.check(run.job.task).map_err(SyncError::Settings)?;
        state.since = Some(from.clone());
        state.until = Some(options.orders_to.clone().unwrap_or(until));
        state.open_only = false;
        state.window_only = true;
        state.after = None;
        return Ok(());
    }
    let stored = run
        .stores
        .records
        .get_record(run.shop(), CURSORS, ORDERS_CURSOR)
        .await?;
    match stored {
        Some(record) => {
            let body: CursorBody = serde_json::from_str(&record.body).map_err(|e| {
                SyncError::Internal(format!("the orders cursor record is unreadable: {e}"))
            })?;
            let cursor = parse_time("the orders cursor", &body.updated_at)?;
            state.since = Some(format_time(cursor - time::Duration::seconds(OVERLAP_SECS))?);
            state.open_only = false;
            state.cursor_version = record.version;
        }
        None => {
            state.since = None;
            state.open_only = true;
            state.cursor_version = 0;
        }
    }
    state.until = Some(until);
    state.after = None;
    Ok(())
}

/// Move the cursor to the window's `until`: compare-and-swap from the version read when the window
/// was opened; if someone moved it meanwhile, keep theirs when it is as far or further, else swap
/// once more from what is there now.
pub async fn advance_cursor(run: &TaskRun<'_>, state: &SyncState) -> Result<()> {
    if state.window_only {
        return Ok(());
    }
    let until = state.until.clone().ok_or_else(|| {
        SyncError::Internal("sync-orders finished a window it never opened".into())
    })?;
    let body = serde_json::to_string(&CursorBody {
        updated_at: until.clone(),
    })
    .map_err(|e| SyncError::Internal(format!("serialising: {e}")))?;
    let records = &run.stores.records;
    let mut version = state.cursor_version;
    for _ in 0..2 {
        let record = Record {
            version,
            ..Record::new(ORDERS_CURSOR, None, body.clone())
        };
        if records.put_record_if(run.shop(), CURSORS, &record).await? {
            return Ok(());
        }
        let Some(now) = records
            .get_record(run.shop(), CURSORS, ORDERS_CURSOR)
            .await?
        else {
            version = 0;
            continue;
        };
        let theirs: CursorBody = serde_json::from_str(&now.body).map_err(|e| {
            SyncError::Internal(format!("the orders cursor record is unreadable: {e}"))
        })?;
        if parse_time("the orders cursor", &theirs.updated_at)?
            >= parse_time("the window's end", &until)?
        {
            return Ok(());
        }
        version = now.version;
    }
    Err(SyncError::Conflict(
        "the orders cursor kept moving while this run advanced it".into(),
    ))
}

/// What a run knows of a buyer's BC customer (per invocation; not checkpointed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Known {
    Found(String),
    Blocked(String),
    NotFound,
    /// BC refused to create it, with the reason (not asked again in this invocation).
    Refused(String),
}

/// How one order is to be handled, given what is stored.
enum Decision {
    /// A new order that is closed already: not imported (the reference skips it).
    SkipClosed,
    /// The same version is staged already.
    Unchanged,
    /// Stage (or re-stage) it, writing over `version` (0: new).
    Stage { version: u64 },
    /// Processed, and its lines or shipping changed since: flag it.
    Flag { version: u64, stored_body: String },
    /// Processed and unchanged where it matters, or flagged already, or in a state of another task.
    Leave,
}

fn decide(order: &ShopifyOrder, stored: Option<&Record>, include_closed: bool) -> Decision {
    let Some(record) = stored else {
        return if order.closed && !include_closed {
            Decision::SkipClosed
        } else {
            Decision::Stage { version: 0 }
        };
    };
    let head = StoredHead::read(&record.body);
    match record.status.as_deref() {
        Some(order_status::UNPROCESSED) => {
            if same_instant(&head.updated_at, &order.updated_at) && !head.customer_pending {
                Decision::Unchanged
            } else {
                Decision::Stage {
                    version: record.version,
                }
            }
        }
        Some(order_status::PROCESSED) => {
            if head.change_hash != super::staged::change_hash(order) {
                Decision::Flag {
                    version: record.version,
                    stored_body: record.body.clone(),
                }
            } else if same_instant(&head.updated_at, &order.updated_at) {
                Decision::Unchanged
            } else {
                Decision::Leave
            }
        }
        _ => Decision::Leave,
    }
}

/// Customer creations planned by one page, one per buyer.
pub type Creations = BTreeMap<String, CreateCustomer>;

/// What staging one page planned.
#[derive(Debug, Default)]
pub struct StagedPage {
    /// BC customers to create, one per buyer.
    pub creations: Creations,
    /// With `auto_create_orders`: the documents of the new orders that are mapped already.
    pub documents: Vec<Effect>,
}

/// Stage one page of orders, by the reference's rules:
///
/// - a **new** order is staged `unprocessed` (mapped or with its reason), unless it is closed
///   already — those are not imported;
/// - an `unprocessed` order is staged again when its `updatedAt` moved (compare-and-swap on the
///   version read; on a conflict it is read again and decided again, once);
/// - a `processed` order whose lines, quantities or shipping changed becomes
///   `changed_after_processing` with [`super::staged::CHANGED_AFTER_PROCESSING`], and is never applied
///   again; one that changed otherwise (our own write-back moves `updatedAt` too) is left as is;
/// - an order whose staged `updatedAt` is the page's is not written at all.
///
/// Returns the BC customers to create (one per buyer, whatever number of orders of the page wait for
/// it; their settling completes the orders) and, with `auto_create_orders`, the documents of new
/// orders mapped already (claimed in the same write that stages them).
pub async fn stage_page(
    run: &mut TaskRun<'_>,
    state: &mut SyncState,
    orders: &[ShopifyOrder],
) -> Result<StagedPage> {
    let now = shopsync_domain::time::now_secs();
    let shop = run.shop().to_string();
    let ids: Vec<String> = orders.iter().map(|o| o.id.clone()).collect();
    let mut stored: HashMap<String, Record> = run
        .stores
        .records
        .get_records(&shop, STAGED_ORDERS, &ids)
        .await?
        .into_iter()
        .map(|r| (r.id.clone(), r))
        .collect();
    let mut creations = Creations::new();
    let mut documents = Vec::new();
    let links = mapping::order_links(run, &orders.iter().collect::<Vec<_>>()).await?;
    for order in orders {
        let mut current = stored.remove(&order.id);
        let mut written = false;
        for attempt in 0..2 {
            if attempt > 0 {
                current = run
                    .stores
                    .records
                    .get_record(&shop, STAGED_ORDERS, &order.id)
                    .await?;
            }
            match decide(order, current.as_ref(), state.window_only) {
                Decision::SkipClosed => {
                    run.counters.add(counters::ORDERS_SKIPPED_CLOSED, 1);
                    written = true;
                }
                Decision::Unchanged => {
                    run.counters.add(counters::ORDERS_UNCHANGED, 1);
                    written = true;
                }
                Decision::Leave => {
                    run.counters.add(counters::ORDERS_LEFT_AS_IS, 1);
                    // A processed order fulfilled and paid since: archived now, as the reference
                    // does when it imports the order again.
                    let processed = current
                        .as_ref()
                        .is_some_and(|r| r.status.as_deref() == Some(order_status::PROCESSED));
                    if processed && super::document::closes_processed(run.settings, order) {
                        documents.push(
                            OrderEffect::Close(CloseOrder {
                                order_id: order.id.clone(),
                                name: order.name.clone(),
                            })
                            .into_effect()?,
                        );
                    }
                    written = true;
                }
                Decision::Flag {
                    version,
                    stored_body,
                } => {
                    let record = Record {
                        version,
                        ..Record::new(
                            order.id.clone(),
                            Some(order_status::CHANGED_AFTER_PROCESSING),
                            flagged_body(&stored_body, order)?,
                        )
                    };
                    if run
                        .stores
                        .records
                        .put_record_if(&shop, STAGED_ORDERS, &record)
                        .await?
                    {
                        run.counters
                            .add(counters::ORDERS_CHANGED_AFTER_PROCESSING, 1);
                        written = true;
                    }
                }
                Decision::Stage { version } => {
                    let (mut staged, waits_for) =
                        map_order(run, state, &mut creations, order, &links).await?;
                    // A claim on the document outlives restaging: it may have been made already.
                    staged.document_claim = current
                        .as_ref()
                        .and_then(|r| StoredHead::read(&r.body).document_claim);
                    staged.auto_create = version == 0 && run.settings.auto_create_orders;
                    let mut document = None;
                    if staged.auto_create
                        && staged.mapped
                        && let Planning::Effect(effect) =
                            plan_document(run, &mut staged, order, now)?
                    {
                        document = Some(effect);
                    }
                    let record = Record {
                        version,
                        ..Record::new(
                            order.id.clone(),
                            Some(order_status::UNPROCESSED),
                            staged.to_body()?,
                        )
                    };
                    if run
                        .stores
                        .records
                        .put_record_if(&shop, STAGED_ORDERS, &record)
                        .await?
                    {
                        let counter = if version == 0 {
                            counters::ORDERS_STAGED
                        } else {
                            counters::ORDERS_RESTAGED
                        };
                        run.counters.add(counter, 1);
                        if staged.error.is_some() {
                            run.counters.add(counters::ORDERS_UNMAPPED, 1);
                        }
                        if let Some(creation) = waits_for.and_then(|k| creations.get_mut(&k)) {
                            creation.orders.push(order.id.clone());
                        }
                        documents.extend(document);
                        written = true;
                    }
                }
            }
            if written {
                break;
            }
        }
        if !written {
            return Err(SyncError::Conflict(format!(
                "staged order {} kept changing while it was written",
                preview(&order.name)
            )));
        }
    }
    // A creation whose only order was staged by someone else meanwhile serves no order.
    creations.retain(|_, c| !c.orders.is_empty());
    Ok(StagedPage {
        creations,
        documents,
    })
}

/// Map one order: lines by the mirror's links, else by SKU, customer by the settings (asking BC, through the run's cache). When
/// the buyer's BC customer is to be created, the creation is put into `creations` (once per buyer)
/// and its key returned: the order is added to it once it is written.
async fn map_order(
    run: &mut TaskRun<'_>,
    state: &mut SyncState,
    creations: &mut Creations,
    order: &ShopifyOrder,
    links: &HashMap<String, VariantLink>,
) -> Result<(StagedOrder, Option<String>)> {
    let settings: &ShopSettings = run.settings;
    let mut staged = StagedOrder::new(order, mapping::map_lines(settings, order, links));
    let mut waits_for = None;
    match mapping::plan_customer(settings, order) {
        CustomerPlan::Default(no) => staged.customer_no = Some(no),
        CustomerPlan::Unmappable(reason) => staged.customer_error = Some(reason),
        CustomerPlan::Company { legacy_id, id } => {
            // Orders of one company in a run read its link once.
            let key = format!("company:{legacy_id}");
            let known = match state.customers.get(&key) {
                Some(known) => known.clone(),
                None => {
                    let known =
                        match crate::companies::customer_of_company(run, legacy_id, &id).await? {
                            Ok(no) => Known::Found(no),
                            Err(reason) => Known::Refused(reason),
                        };
                    state.customers.insert(key, known.clone());
                    known
                }
            };
            match known {
                Known::Found(no) => staged.customer_no = Some(no),
                Known::Refused(reason) => staged.customer_error = Some(reason),
                other => {
                    return Err(shopsync_domain::SyncError::Internal(format!(
                        "a company's customer cached as {other:?}"
                    )));
                }
            }
        }
        CustomerPlan::Lookup(contact) => {
            let key = contact.key();
            let known = match state.customers.get(&key) {
                Some(known) => known.clone(),
                None => {
                    run.counters.add(counters::CUSTOMER_LOOKUPS, 1);
                    let found =
                        match mapping::customer_lookup(run.clients.bc.as_ref(), &contact).await? {
                            Lookup::Found(no) => Known::Found(no),
                            Lookup::Blocked(no) => Known::Blocked(no),
                            Lookup::NotFound => Known::NotFound,
                        };
                    state.customers.insert(key.clone(), found.clone());
                    found
                }
            };
            match known {
                Known::Found(no) => staged.customer_no = Some(no),
                Known::Blocked(no) => {
                    staged.customer_error = Some(mapping::blocked_reason(&no, &contact))
                }
                Known::Refused(reason) => staged.customer_error = Some(reason),
                Known::NotFound if settings.auto_create_unknown_customers => {
                    if creations.contains_key(&key) {
                        staged.customer_pending = true;
                        waits_for = Some(key);
                    } else {
                        // The template of the country of the address the customer gets.
                        let address = order.billing_address.as_ref();
                        let address = address.or(order.shipping_address.as_ref());
                        let defaults = state
                            .templates
                            .for_country(run, crate::customer_templates::country_of(address))
                            .await?;
                        match defaults.and_then(|d| mapping::new_customer(order, &contact, &d)) {
                            Ok(customer) => {
                                staged.customer_pending = true;
                                creations.insert(
                                    key.clone(),
                                    CreateCustomer {
                                        contact: contact.clone(),
                                        customer,
                                        orders: Vec::new(),
                                    },
                                );
                                waits_for = Some(key);
                            }
                            Err(reason) => staged.customer_error = Some(reason),
                        }
                    }
                }
                Known::NotFound => {
                    staged.customer_error = Some(mapping::not_found_reason(&contact))
                }
            }
            staged.contact = Some(contact);
        }
    }
    staged.refresh();
    Ok((staged, waits_for))
}
