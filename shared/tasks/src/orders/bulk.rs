//! Backlogs the way Shopify means them to be moved: in bulk.
//!
//! **Why.** Paging a window charges every order its whole selection (35–45 points), and writing the
//! `BC Doc. No.` back charges every order an `orderUpdate` (10 points): 5,000 orders are a quarter of
//! a million points, more than 45 minutes of a Standard plan's restore rate. A bulk query is charged
//! its start (10) and its polls (1 each) whatever it reads; a bulk mutation its staged upload, its
//! start (10) and its polls, whatever number of lines it runs (API 2026-01 and later run any
//! mutation in bulk, five at a time per app and shop).
//!
//! **Reading.** When a window holds more than the client's bulk threshold (`SHOPIFY_BULK_THRESHOLD`,
//! counted with `ordersCount` up to one past it), sync-orders starts one bulk query over the same
//! search instead of paging ([`super::Phase::BulkWait`]): the operation's id is in the checkpoint,
//! each planning step polls it once, so a deadline or a crash while Shopify works costs a poll, not
//! the operation. Once it is complete the file is downloaded and put back together into whole
//! orders (the client's `orders_from_bulk`) and staged [`STAGE_CHUNK`] orders a planning step
//! through the very [`super::sync::stage_page`] the paged path uses — the same decisions, the same
//! documents. The orders are kept in memory only; a continuation downloads the file again (the URL
//! lives a week) and goes on from the checkpointed position. A bulk query that fails falls back to
//! paging the window. A small window (a webhook's, a schedule's) is paged as before: a page answers
//! at once, a bulk operation takes seconds to minutes.
//!
//! **Writing back.** In a bulk-read run a made document's write-back is not a follow-up of its own
//! ([`super::effects::WriteBackMode::Owed`]): it stays owed, and once every document of the window
//! is made the owed write-backs go as bulk `orderUpdate`s of up to [`MAX_BULK_WRITE_BACKS`] lines
//! ([`BulkWriteBack`]). Each line's result settles its order: a written one is struck off the owed
//! updates; a line Shopify refused or never ran stays owed and is planned again for its order alone
//! (a plain `orderUpdate`, whose refusal becomes a skipped record as usual).
//!
//! **Exactly once.** What makes this safe is the order of the writes and the nature of the write:
//!
//! - the write-back is recorded as owed (`order-updates-owed`, in the same settle that marks the
//!   order processed) *before* anything plans it, so a job that dies before, during or after a bulk
//!   mutation leaves it owed, and the next run (its first planning step) sends what is still owed;
//! - the bulk effect's payload holds only order ids; sending reads each order's owed write-back, so
//!   an order discharged meanwhile (by a per-order retry, or an earlier attempt) is not sent again;
//! - the effect is [`crate::engine::EffectKind::Replayable`]: after a lost answer or a crash mid-bulk
//!   the engine sends it again, which starts a new bulk mutation over what is still owed. That may
//!   set an attribute list a second time; `orderUpdate` *replaces* the list with the same list, so
//!   applying it twice leaves the order exactly as applying it once. Nothing else is written to
//!   Shopify by it, and the BC document itself is never touched here.

use super::effects::{self, OWED, OWED_UPDATES, OrderEffect, Owed, OwedUpdates, WriteBack};
use crate::engine::{Effect, Settled, TaskRun};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shopsync_domain::SyncError;
use shopsync_domain::catalog::{BulkMutation, BulkMutationStart};
use shopsync_domain::orders::OrderAttributesUpdate;
use shopsync_domain::ports::Result;
use shopsync_domain::text::{bounded, preview};
use std::collections::HashMap;

/// Orders staged per planning step from a bulk-read file (a page is 8).
pub const STAGE_CHUNK: usize = 50;
/// Lines of one bulk write-back (its payload, order ids only, stays far below a ledger item's size).
pub const MAX_BULK_WRITE_BACKS: usize = 1_000;
/// How long one bulk write-back is waited for inside its effect. The engine checks the invocation's
/// deadline between effects, not during one; a bulk `orderUpdate` of [`MAX_BULK_WRITE_BACKS`] lines
/// finishes well within this, and the margin before a Lambda's hard timeout is larger. Past it the
/// effect fails (retryable) and its resend starts over what is still owed.
pub const MAX_BULK_WRITE_BACK_WAIT: std::time::Duration = std::time::Duration::from_secs(300);
/// Fewer owed write-backs than this go one `orderUpdate` each (10 points each; a bulk mutation costs
/// its upload, its start and its polls, and takes longer).
pub const MIN_BULK_WRITE_BACKS: usize = 3;

/// Counters of the bulk paths.
pub mod counters {
    pub const BULK_READS: &str = "order_bulk_reads";
    pub const BULK_READ_POLLS: &str = "order_bulk_read_polls";
    pub const BULK_READS_FAILED: &str = "order_bulk_reads_failed";
    pub const BULK_WRITE_BACKS: &str = "order_bulk_write_backs";
    pub const WRITTEN_BACK_IN_BULK: &str = "orders_written_back_in_bulk";
    /// Lines of a bulk write-back refused or not run: sent again per order.
    pub const BULK_LINES_RETRIED: &str = "order_bulk_write_back_lines_retried";
}

/// The bulk read of a window, as checkpointed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkRead {
    /// The bulk operation's gid.
    pub id: String,
    /// The result file, once the operation is complete (`None` then: nothing matched).
    #[serde(default)]
    pub url: Option<String>,
    /// Orders of the file staged so far (the file's order is fixed, so a position is enough).
    #[serde(default)]
    pub next: usize,
}

/// Write the owed `BC Doc. No.` of these orders back with one bulk `orderUpdate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkWriteBack {
    pub order_ids: Vec<String>,
}

/// What a bulk write-back came to, per order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkWriteBackOutcome {
    /// The bulk operation (none when nothing was left to send or it could not start).
    #[serde(default)]
    pub operation: Option<String>,
    pub status: String,
    /// Orders whose line Shopify applied.
    pub written: Vec<String>,
    /// Orders whose line was refused or did not run, with why: they stay owed.
    pub failed: Vec<(String, String)>,
}

/// One page (up to `limit`) of the owed updates after `after`, as effects: the write-backs as one
/// [`BulkWriteBack`] when there are at least [`MIN_BULK_WRITE_BACKS`] of them, else one each; the
/// closes one each (`orderClose` has no bulk advantage worth its latency here). Also where the next
/// page starts.
pub async fn plan_owed(
    run: &TaskRun<'_>,
    after: Option<&str>,
    limit: usize,
) -> Result<(Vec<Effect>, Option<String>)> {
    let page = run
        .stores
        .records
        .list_by_status(
            run.shop(),
            OWED_UPDATES,
            OWED,
            after,
            limit.min(MAX_BULK_WRITE_BACKS),
        )
        .await?;
    let mut write_backs = Vec::new();
    let mut effects = Vec::new();
    for record in &page.records {
        let owed = read_owed(&record.id, &record.body)?;
        if let Some(w) = owed.write_back {
            write_backs.push(w);
        }
        if let Some(c) = owed.close {
            effects.push(OrderEffect::Close(c).into_effect()?);
        }
    }
    if write_backs.len() >= MIN_BULK_WRITE_BACKS {
        let order_ids = write_backs.into_iter().map(|w| w.order_id).collect();
        effects.insert(
            0,
            OrderEffect::BulkWriteBack(BulkWriteBack { order_ids }).into_effect()?,
        );
    } else {
        let singles: Result<Vec<Effect>> = write_backs
            .into_iter()
            .map(|w| OrderEffect::WriteBack(w).into_effect())
            .collect();
        let mut singles = singles?;
        singles.append(&mut effects);
        effects = singles;
    }
    Ok((effects, page.next_after))
}

fn read_owed(id: &str, body: &str) -> Result<OwedUpdates> {
    serde_json::from_str(body).map_err(|e| {
        SyncError::Internal(format!(
            "owed updates of {} are unreadable: {e}",
            preview(id)
        ))
    })
}

/// The write-backs still owed to these orders (an order discharged meanwhile has none).
async fn still_owed(run: &TaskRun<'_>, ids: &[String]) -> Result<HashMap<String, WriteBack>> {
    let records = run
        .stores
        .records
        .get_records(run.shop(), OWED_UPDATES, ids)
        .await?;
    let mut out = HashMap::new();
    for record in records {
        if let Some(w) = read_owed(&record.id, &record.body)?.write_back {
            out.insert(record.id.clone(), w);
        }
    }
    Ok(out)
}

fn to_value<T: Serialize>(value: &T) -> Result<Value> {
    serde_json::to_value(value).map_err(|e| SyncError::Internal(format!("serialising: {e}")))
}

/// Upload the owed write-backs as a bulk mutation's JSONL, start it, wait for it, and read each
/// line's result. A start Shopify refuses (five of ours running, a file it cannot take) leaves
/// every order to go per order; an operation still running after [`MAX_BULK_WRITE_BACK_WAIT`] is a
/// retryable error (the resend starts over what is still owed — see the module docs).
pub async fn send_write_backs(run: &mut TaskRun<'_>, b: &BulkWriteBack) -> Result<Value> {
    let owed = still_owed(run, &b.order_ids).await?;
    let updates: Vec<OrderAttributesUpdate> = b
        .order_ids
        .iter()
        .filter_map(|id| owed.get(id))
        .map(|w| OrderAttributesUpdate {
            order_id: w.order_id.clone(),
            attributes: w.attributes.clone(),
        })
        .collect();
    if updates.is_empty() {
        return to_value(&BulkWriteBackOutcome {
            status: "NOTHING_OWED".into(),
            ..Default::default()
        });
    }
    let order_of_line: Vec<String> = updates.iter().map(|u| u.order_id.clone()).collect();
    let shopify = run.clients.shopify.clone();
    let started = shopify
        .bulk_mutation_run(&BulkMutation::OrderAttributes(updates), None)
        .await?;
    let id = match started {
        BulkMutationStart::Started { id } => id,
        BulkMutationStart::Busy(message) | BulkMutationStart::Rejected { message, .. } => {
            let reason = bounded(
                &format!("the bulk write-back did not start: {message}"),
                300,
            );
            return to_value(&BulkWriteBackOutcome {
                operation: None,
                status: "NOT_STARTED".into(),
                written: Vec::new(),
                failed: order_of_line
                    .into_iter()
                    .map(|o| (o, reason.clone()))
                    .collect(),
            });
        }
    };
    run.counters.add(counters::BULK_WRITE_BACKS, 1);
    let waiting = std::time::Instant::now();
    let status = loop {
        if waiting.elapsed() > MAX_BULK_WRITE_BACK_WAIT {
            return Err(SyncError::Transport {
                service: "Shopify",
                message: format!(
                    "bulk write-back {id} still running after {} s; sent again next time",
                    MAX_BULK_WRITE_BACK_WAIT.as_secs()
                ),
            });
        }
        let status = shopify.bulk_operation_wait(&id).await?;
        if status.is_terminal() {
            break status;
        }
    };
    let results = shopify.bulk_mutation_results(&status).await?;
    let mut by_line: HashMap<u64, (bool, String)> = HashMap::new();
    for r in results {
        let why: Vec<String> = r
            .user_errors
            .iter()
            .map(|e| e.message.clone())
            .chain(r.errors.iter().cloned())
            .collect();
        by_line.insert(r.line, (r.succeeded(), why.join("; ")));
    }
    let mut outcome = BulkWriteBackOutcome {
        operation: Some(id),
        status: status.status.clone(),
        ..Default::default()
    };
    for (line, order) in order_of_line.into_iter().enumerate() {
        match by_line.remove(&(line as u64)) {
            Some((true, _)) => outcome.written.push(order),
            Some((false, why)) => outcome.failed.push((
                order,
                bounded(
                    &format!("the BC document number was not written back: {why}"),
                    300,
                ),
            )),
            None => outcome.failed.push((
                order,
                format!(
                    "the bulk write-back ended {} before this order's line ran",
                    status.status
                ),
            )),
        }
    }
    to_value(&outcome)
}

/// Strike the written orders off their owed updates; plan each order whose line failed again on its
/// own (it is still owed until that settles). Idempotent, as settling must be: a discharged order
/// stays discharged, and the follow-ups are stored with the outcome by the engine.
pub async fn settle_write_backs(
    run: &mut TaskRun<'_>,
    _b: &BulkWriteBack,
    outcome: &Value,
) -> Result<Settled> {
    let outcome: BulkWriteBackOutcome = serde_json::from_value(outcome.clone())
        .map_err(|e| SyncError::Internal(format!("unreadable bulk write-back outcome: {e}")))?;
    for order in &outcome.written {
        effects::discharge(run, order, Owed::WriteBack).await?;
        run.counters
            .add(super::effects::counters::ORDERS_WRITTEN_BACK, 1);
        run.counters.add(counters::WRITTEN_BACK_IN_BULK, 1);
    }
    let failed: Vec<String> = outcome.failed.iter().map(|(o, _)| o.clone()).collect();
    let mut follow_ups = Vec::new();
    if !failed.is_empty() {
        let owed = still_owed(run, &failed).await?;
        for (order, why) in &outcome.failed {
            if let Some(w) = owed.get(order) {
                tracing::info!(order = %order, reason = %why, "bulk write-back line failed; sending it alone");
                run.counters.add(counters::BULK_LINES_RETRIED, 1);
                follow_ups.push(OrderEffect::WriteBack(w.clone()).into_effect()?);
            }
        }
    }
    Ok(Settled { follow_ups })
}
