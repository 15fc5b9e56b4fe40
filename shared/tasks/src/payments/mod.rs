//! `sync-payments` (reference report 30105): Shopify Payments payouts and balance transactions →
//! stored records, for the API and the status board; nothing is written to Shopify or BC.
//!
//! The reference takes four steps: it refreshes the transactions without a payout and the payouts
//! not paid or canceled by id, then reads the transactions and the payouts above the highest id it
//! has. Here the same outcome takes two passes, each reading every page once:
//!
//! 1. **Payouts**, in id order, from just below the lowest stored payout that can still change
//!    (`scheduled`, `in_transit`) or else above the highest stored: the payouts that may have been
//!    paid meanwhile and the new ones come in one read.
//! 2. **Balance transactions**, oldest first, from the oldest stored transaction still without a
//!    payout or else from the newest stored: the ones that may have been paid out meanwhile and the
//!    new ones, again in one read.
//!
//! The cursors, and why they may move after every page, are in [`cursors`]; the records, their
//! statuses and bodies in [`stored`]. Each record read is compared with the stored one and written
//! only when it changed, so a run that finds nothing new writes nothing.
//!
//! On the engine ([`crate::engine`]) the task has no effects: each planning step reads one page and
//! writes its records, so the engine checkpoints between pages and a large first sync spans
//! invocations. Everything a step writes is an upsert of what Shopify said, so a step played again
//! after a crash writes the same thing (or, compared, nothing).
//!
//! Refreshing by re-reading from the lowest non-final payout (or the oldest transaction without a
//! payout) costs pages in proportion to what came since that one: a few when payouts go out as
//! usual, more when one stays scheduled for long. Shopify's `payouts`/`balanceTransactions` queries
//! by id (the reference's `GetPayoutsByIds`/`GetPaymTransByIds`) would bound that by the count of
//! open records alone; the client has no such call yet.

pub mod cursors;
pub mod stored;
#[cfg(test)]
mod tests;

use crate::engine::{Effect, Planned, Settled, Task, TaskRun};
use async_trait::async_trait;
use cursors::{
    PAYOUTS_CURSOR, PayoutsCursor, Seen, TRANSACTIONS_CURSOR, TransactionsCursor, earlier, later,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shopsync_domain::ports::{Record, Result};
use shopsync_domain::{SyncError, TaskKind};
use std::collections::{BTreeMap, HashMap};
use stored::{
    BALANCE_TRANSACTIONS, Change, PAYOUTS, StoredPayout, StoredTransaction, payout_legacy_id,
    payout_status,
};

/// The task. Its state is the pass it is in and that pass's read position ([`SyncState`]).
#[derive(Debug, Default, Clone, Copy)]
pub struct SyncPaymentsTask;

/// Where planning is.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Non-final and new payouts, one page a step.
    #[default]
    Payouts,
    /// Balance transactions without a payout and new ones, one page a step.
    Transactions,
    Done,
}

/// The task's resume state, checkpointed with the engine's.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct SyncState {
    #[serde(default)]
    pub phase: Phase,
    /// The payouts pass, once opened.
    #[serde(default)]
    pub payouts: Option<PayoutsPass>,
    /// The transactions pass, once opened.
    #[serde(default)]
    pub transactions: Option<TransactionsPass>,
}

/// The read position of the payouts pass.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PayoutsPass {
    /// Payouts above this numeric id are read (`None`: all).
    pub since: Option<u64>,
    /// Shopify's cursor of the next page.
    pub after: Option<String>,
    pub cursor: Seen<PayoutsCursor>,
}

/// The read position of the transactions pass.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TransactionsPass {
    /// Transactions processed at or after this instant are read (`None`: all).
    pub since: Option<String>,
    pub after: Option<String>,
    pub cursor: Seen<TransactionsCursor>,
    /// The oldest live transaction of this pass still without a payout.
    pub first_unpaid: Option<String>,
    /// The newest transaction date of this pass.
    pub last_read: Option<String>,
}

/// Counter names this task reports.
pub mod counters {
    pub const PAYOUT_PAGES_READ: &str = "payout_pages_read";
    /// New payouts stored.
    pub const PAYOUTS_STORED: &str = "payouts_stored";
    /// Payouts read again that changed (a scheduled payout paid, …).
    pub const PAYOUTS_UPDATED: &str = "payouts_updated";
    /// Payouts read again as stored: nothing written.
    pub const PAYOUTS_UNCHANGED: &str = "payouts_unchanged";
    pub const TRANSACTION_PAGES_READ: &str = "balance_transaction_pages_read";
    /// New balance transactions stored.
    pub const TRANSACTIONS_STORED: &str = "balance_transactions_stored";
    /// Balance transactions read again that changed (paid out since, …).
    pub const TRANSACTIONS_UPDATED: &str = "balance_transactions_updated";
    /// Balance transactions read again as stored: nothing written.
    pub const TRANSACTIONS_UNCHANGED: &str = "balance_transactions_unchanged";
}

#[async_trait]
impl Task for SyncPaymentsTask {
    type State = SyncState;

    fn kind(&self) -> TaskKind {
        TaskKind::SyncPayments
    }

    async fn plan(&self, run: &mut TaskRun<'_>, state: &mut SyncState) -> Result<Planned> {
        match state.phase {
            Phase::Payouts => {
                if payouts_step(run, state).await? {
                    state.phase = Phase::Transactions;
                    state.payouts = None;
                }
                Ok(Planned::more(Vec::new()))
            }
            Phase::Transactions => {
                if transactions_step(run, state).await? {
                    state.phase = Phase::Done;
                    state.transactions = None;
                    return Ok(Planned::last(Vec::new()));
                }
                Ok(Planned::more(Vec::new()))
            }
            Phase::Done => Ok(Planned::last(Vec::new())),
        }
    }

    async fn send(&self, _run: &mut TaskRun<'_>, effect: &Effect, _key: &str) -> Result<Value> {
        Err(no_effects(effect))
    }

    async fn settle(
        &self,
        _run: &mut TaskRun<'_>,
        _state: &mut SyncState,
        effect: &Effect,
        _outcome: &Value,
    ) -> Result<Settled> {
        Err(no_effects(effect))
    }
}

fn no_effects(effect: &Effect) -> SyncError {
    SyncError::Internal(format!(
        "sync-payments has no effects, yet was handed '{}'",
        effect.label
    ))
}

/// Fix where the payouts pass reads from: the cursor, and the lowest payout that can still change
/// (the first record each non-final status index lists, ids being zero-padded).
async fn open_payouts(run: &TaskRun<'_>) -> Result<PayoutsPass> {
    let cursor = cursors::read::<PayoutsCursor>(run, PAYOUTS_CURSOR).await?;
    let mut lowest: Option<u64> = None;
    for status in payout_status::NOT_FINAL {
        let page = run
            .stores
            .records
            .list_by_status(run.shop(), PAYOUTS, status, None, 1)
            .await?;
        if let Some(record) = page.records.first() {
            let id = payout_legacy_id(&record.id)?;
            lowest = Some(lowest.map_or(id, |l| l.min(id)));
        }
    }
    Ok(PayoutsPass {
        since: cursors::payouts_since(cursor.body.as_ref(), lowest),
        after: None,
        cursor,
    })
}

/// Read and store one page of payouts; `true` when it was the last.
async fn payouts_step(run: &mut TaskRun<'_>, state: &mut SyncState) -> Result<bool> {
    if state.payouts.is_none() {
        state.payouts = Some(open_payouts(run).await?);
    }
    let pass = state
        .payouts
        .as_mut()
        .ok_or_else(|| SyncError::Internal("sync-payments lost its payouts pass".into()))?;
    let page = run
        .clients
        .shopify
        .payouts_since(pass.since, pass.after.as_deref())
        .await?;
    run.counters.add(counters::PAYOUT_PAGES_READ, 1);
    let records = page
        .items
        .iter()
        .map(|p| StoredPayout::new(p).to_record())
        .collect::<Result<Vec<_>>>()?;
    let tally = store_changed(run, PAYOUTS, records).await?;
    run.counters.add(counters::PAYOUTS_STORED, tally.new);
    run.counters.add(counters::PAYOUTS_UPDATED, tally.updated);
    run.counters
        .add(counters::PAYOUTS_UNCHANGED, tally.unchanged);
    if let Some(highest_id) = page.items.iter().map(|p| p.legacy_id).max() {
        let mut ours = PayoutsCursor { highest_id };
        if let Some(stored) = &pass.cursor.body {
            ours = cursors::merge_payouts(stored, ours);
        }
        cursors::write(
            run,
            PAYOUTS_CURSOR,
            &mut pass.cursor,
            ours,
            cursors::merge_payouts,
        )
        .await?;
    }
    advance(&mut pass.after, page.next_cursor, "payouts")
}

/// Read and store one page of balance transactions; `true` when it was the last.
async fn transactions_step(run: &mut TaskRun<'_>, state: &mut SyncState) -> Result<bool> {
    if state.transactions.is_none() {
        let cursor = cursors::read::<TransactionsCursor>(run, TRANSACTIONS_CURSOR).await?;
        state.transactions = Some(TransactionsPass {
            since: cursors::transactions_since(cursor.body.as_ref())?,
            cursor,
            ..TransactionsPass::default()
        });
    }
    let pass = state.transactions.as_mut().ok_or_else(|| {
        SyncError::Internal("sync-payments lost its balance transactions pass".into())
    })?;
    let page = run
        .clients
        .shopify
        .balance_transactions_since(pass.since.as_deref(), pass.after.as_deref())
        .await?;
    run.counters.add(counters::TRANSACTION_PAGES_READ, 1);
    let mut records = Vec::with_capacity(page.items.len());
    for t in &page.items {
        let stored = StoredTransaction::new(t);
        if stored.awaits_payout() {
            pass.first_unpaid = Some(earlier(pass.first_unpaid.take(), &stored.transaction_date)?);
        }
        pass.last_read = Some(later(pass.last_read.take(), &stored.transaction_date)?);
        records.push(stored.to_record()?);
    }
    let tally = store_changed(run, BALANCE_TRANSACTIONS, records).await?;
    run.counters.add(counters::TRANSACTIONS_STORED, tally.new);
    run.counters
        .add(counters::TRANSACTIONS_UPDATED, tally.updated);
    run.counters
        .add(counters::TRANSACTIONS_UNCHANGED, tally.unchanged);
    // Nothing read at all (no Shopify Payments, or nothing since): the cursor stays.
    if let Some(read_from) = pass.first_unpaid.clone().or_else(|| pass.last_read.clone()) {
        cursors::write(
            run,
            TRANSACTIONS_CURSOR,
            &mut pass.cursor,
            TransactionsCursor { read_from },
            cursors::merge_transactions,
        )
        .await?;
    }
    advance(&mut pass.after, page.next_cursor, "balance transactions")
}

/// Take the next page's cursor; `true` when there is none. A cursor that does not move would read
/// the same page forever: refused.
fn advance(after: &mut Option<String>, next: Option<String>, what: &str) -> Result<bool> {
    if next.is_some() && next == *after {
        return Err(SyncError::Internal(format!(
            "Shopify returned the same page cursor twice while reading {what}"
        )));
    }
    *after = next;
    Ok(after.is_none())
}

/// What [`store_changed`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Tally {
    new: u64,
    updated: u64,
    unchanged: u64,
}

/// Write the records of one page that are new or differ from the stored ones (one batch), nothing
/// else. A record twice in a page counts once (the later read wins).
async fn store_changed(run: &TaskRun<'_>, kind: &str, fresh: Vec<Record>) -> Result<Tally> {
    let fresh: BTreeMap<String, Record> = fresh.into_iter().map(|r| (r.id.clone(), r)).collect();
    let mut tally = Tally::default();
    if fresh.is_empty() {
        return Ok(tally);
    }
    let ids: Vec<String> = fresh.keys().cloned().collect();
    let stored: HashMap<String, Record> = run
        .stores
        .records
        .get_records(run.shop(), kind, &ids)
        .await?
        .into_iter()
        .map(|r| (r.id.clone(), r))
        .collect();
    let mut writes = Vec::new();
    for (id, mut record) in fresh {
        match stored::compare(stored.get(&id), &mut record) {
            Change::New => {
                tally.new += 1;
                writes.push(record);
            }
            Change::Updated => {
                tally.updated += 1;
                writes.push(record);
            }
            Change::Unchanged => tally.unchanged += 1,
        }
    }
    if !writes.is_empty() {
        run.stores
            .records
            .put_records(run.shop(), kind, &writes)
            .await?;
    }
    Ok(tally)
}
