//! `sync-inventory` (reference report 30102): BC availability per mapped location → Shopify
//! `inventorySetQuantities`, 250 rows a call, each call `@idempotent`.
//!
//! Unlike the reference, an ordinary run does not re-read Shopify's levels: the last value known to be
//! in Shopify is kept per (inventory item, location) in the state store, and only levels whose BC value
//! differs are sent, with the known value as `changeFromQuantity` (compare-and-swap). A `full` run —
//! scheduled daily by default, and the first run of a shop — re-reads the catalogue and Shopify's
//! levels, so drift made outside Shopsync is corrected.
//!
//! On the task engine ([`crate::engine`]): planning produces one replayable effect per call of up to
//! 250 rows; the engine ledgers each call before it is sent and resends the stored payload under the
//! stored key after an unknown outcome, so Shopify answers with the original result instead of
//! applying it again. Settling a call records the applied levels, turns refused rows into skipped
//! records and returns collateral rows of a refused call as one follow-up retry call.
//!
//! A row refused as `CHANGE_FROM_QUANTITY_STALE` means someone changed the level in Shopify since
//! Shopsync last knew it. It is never overwritten blindly: settling reads the current level of every
//! stale row of the call from Shopify (one `levels_of` read for all of them: one 3-point query per
//! location among them), keeps it as the new known level, and retries the row compare-and-swap from
//! that value — or drops it when Shopify already shows BC's quantity. The re-read values are in the
//! follow-up's payload, so a replay resends exactly what was planned.

pub mod mapping;
pub mod plan;
pub mod state;
#[cfg(test)]
mod tests;

use crate::engine::{Effect, EffectKind, Planned, Settled, Task, TaskRun};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shopsync_domain::catalogue::System;
use shopsync_domain::inventory::{
    BcItem, InventoryLevel, LevelKey, QuantityChange, SetQuantitiesOutcome, SetQuantitiesRequest,
};
use shopsync_domain::ports::*;
use shopsync_domain::settings::{LocationSettings, ShopSettings};
use shopsync_domain::status::{Cue, CueEntry};
use shopsync_domain::{JobRecord, SyncError, TaskKind};
use state::{InventoryState, KnownLevels};
use std::collections::{HashMap, HashSet};

/// The task. Its state is kept in the run's record store ([`state`]), so it holds nothing itself.
#[derive(Debug, Default, Clone, Copy)]
pub struct InventoryTask;

/// How far planning got. A run can stop between any two steps and go on in the next invocation, so
/// a large shop's first full run spans invocations instead of having to fit in one.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Step {
    /// Map the catalogue (first and full runs), or load the stored mappings.
    #[default]
    Map,
    /// Read Shopify's levels (first and full runs), or load the known ones.
    ReadLevels,
    /// Compare with BC and plan calls, [`MAX_ROWS_PER_STEP`] rows per step.
    Diff,
    /// Fold the run's level changes into the packed state.
    Fold,
}

/// Rows planned per diff step: bounds the memory a step's effects take.
const MAX_ROWS_PER_STEP: usize = 40 * shopsync_domain::inventory::MAX_QUANTITIES_PER_CALL;

/// The task's resume state: the planning step and, while diffing, the last (location, inventory item)
/// planned. What a step read is kept for the next steps of the same invocation only (`serde(skip)`):
/// a resumed run reads it again.
#[derive(Default, Serialize, Deserialize)]
pub struct PlanState {
    step: Step,
    #[serde(default)]
    after: Option<(String, String)>,
    #[serde(skip)]
    mappings: Option<Vec<VariantMapping>>,
    #[serde(skip)]
    known: Option<KnownLevels>,
    #[serde(skip)]
    stock: Option<plan::BcStock>,
    #[serde(skip)]
    bc_items: Option<Vec<BcItem>>,
}

/// Counter names this task reports.
pub mod counters {
    pub const VARIANTS_MAPPED: &str = "variants_mapped";
    pub const VARIANTS_UNMAPPED: &str = "variants_unmapped";
    pub const VARIANTS_UNTRACKED: &str = "variants_untracked";
    pub const LEVELS_READ: &str = "shopify_levels_read";
    pub const DRIFT_FOUND: &str = "drift_found";
    pub const LEVELS_CHECKED: &str = "levels_checked";
    pub const LEVELS_CHANGED: &str = "levels_changed";
    pub const MUTATIONS: &str = "mutations";
    pub const SKIPPED_RECORDS: &str = "skipped_records";
    pub const RETRIED_ROWS: &str = "retried_rows";
    /// Rows refused as `CHANGE_FROM_QUANTITY_STALE` whose level was read again from Shopify.
    pub const STALE_LEVELS_REREAD: &str = "stale_levels_reread";
    /// Re-read stale levels that already showed BC's quantity: nothing left to send for them.
    pub const LEVELS_ALREADY_IN_STEP: &str = "levels_already_in_step";
}

/// One planned call: its rows, and whether it is the one retry of rows refused as collateral.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Batch {
    quantities: Vec<QuantityChange>,
    #[serde(default)]
    retry: bool,
}

const QUANTITY_NAME: &str = "available";
const REASON: &str = "correction";
/// The `userErrors` code of a row whose `changeFromQuantity` is not Shopify's current quantity.
const STALE: &str = "CHANGE_FROM_QUANTITY_STALE";

#[async_trait]
impl Task for InventoryTask {
    type State = PlanState;

    fn kind(&self) -> TaskKind {
        TaskKind::SyncInventory
    }

    fn skip_reason(&self, settings: &ShopSettings) -> Option<String> {
        (settings.stock_locations().next().is_none())
            .then(|| "no location has stock calculation on".to_string())
    }

    async fn plan(&self, run: &mut TaskRun<'_>, state: &mut PlanState) -> Result<Planned> {
        let full = run.job.options.full;
        let stores = run.stores.clone();
        let store = InventoryState {
            records: stores.records.as_ref(),
            shop: run.settings.code.as_str(),
        };
        // Steps that only load stored state go straight on; steps that read an API return, so the
        // engine checks the deadline (and checkpoints) between them.
        loop {
            match state.step {
                Step::Map => {
                    state.step = Step::ReadLevels;
                    let stored = store.load_mappings().await?;
                    if stored.is_empty() || full {
                        map_catalogue(run, state, &store, &stored).await?;
                        return Ok(Planned::more(Vec::new()));
                    }
                    state.mappings = Some(stored);
                }
                Step::ReadLevels => {
                    state.step = Step::Diff;
                    let known = store.load_levels().await?;
                    if full || known.is_empty() {
                        read_levels(run, state, &store, &known).await?;
                        return Ok(Planned::more(Vec::new()));
                    }
                    state.known = Some(known);
                }
                Step::Diff => return diff_step(run, state, &store).await,
                Step::Fold => {
                    store.fold_changes().await?;
                    return Ok(Planned::last(Vec::new()));
                }
            }
        }
    }

    async fn send(&self, run: &mut TaskRun<'_>, effect: &Effect, key: &str) -> Result<Value> {
        let batch: Batch = effect.payload_as()?;
        let outcome = run
            .clients
            .shopify
            .set_quantities(&request(run.job, key, batch.quantities))
            .await?;
        to_value(&outcome)
    }

    async fn settle(
        &self,
        run: &mut TaskRun<'_>,
        state: &mut PlanState,
        effect: &Effect,
        outcome: &Value,
    ) -> Result<Settled> {
        let batch: Batch = effect.payload_as()?;
        let outcome: SetQuantitiesOutcome = serde_json::from_value(outcome.clone())
            .map_err(|e| SyncError::Internal(format!("unreadable inventory outcome: {e}")))?;
        let retry_rows = settle(run, state, &batch.quantities, &outcome, batch.retry).await?;
        if retry_rows.is_empty() {
            return Ok(Settled::default());
        }
        run.counters
            .add(counters::RETRIED_ROWS, retry_rows.len() as u64);
        Ok(Settled {
            follow_ups: vec![batch_effect(retry_rows, true)?],
        })
    }
}

fn batch_effect(quantities: Vec<QuantityChange>, retry: bool) -> Result<Effect> {
    let label = format!(
        "inventorySetQuantities of {} level(s){}",
        quantities.len(),
        if retry { " (retry)" } else { "" }
    );
    Ok(Effect::new(
        EffectKind::Replayable,
        System::Shopify,
        label,
        to_value(&Batch { quantities, retry })?,
    ))
}

/// The call for one batch: the effect's ledger key is the `@idempotent` key.
fn request(job: &JobRecord, key: &str, quantities: Vec<QuantityChange>) -> SetQuantitiesRequest {
    SetQuantitiesRequest {
        idempotency_key: key.to_string(),
        name: QUANTITY_NAME.into(),
        reason: REASON.into(),
        reference_document_uri: Some(format!("gid://shopsync/InventorySync/{}", job.job_id)),
        quantities,
    }
}

fn to_value<T: Serialize>(value: &T) -> Result<Value> {
    serde_json::to_value(value).map_err(|e| SyncError::Internal(format!("serialising: {e}")))
}

/// Map the whole catalogue: Shopify's variants to BC's items (the catalogue mirror's links first,
/// then SKUs: [`mapping`]). Replaces the stored mappings, records
/// unmapped variants as skipped records and as the status board's unmapped-products list.
async fn map_catalogue(
    ctx: &mut TaskRun<'_>,
    state: &mut PlanState,
    store: &InventoryState<'_>,
    stored: &[VariantMapping],
) -> Result<()> {
    let shop = ctx.settings.code.as_str();
    let job = ctx.job;
    let variants = ctx.clients.shopify.variants().await?;
    let bc_items = ctx.clients.bc.items().await?;
    let links = crate::catalogue::variant_links(&*ctx.stores.records, shop).await?;
    let result = mapping::map_variants(ctx.settings, &variants, &bc_items, &links);
    drop(variants);
    if stored != result.mapped.as_slice() {
        store.replace_mappings(&result.mapped).await?;
    }
    let now = shopsync_domain::time::now_secs();
    let skipped: Vec<SkippedRecord> = result
        .unmapped
        .iter()
        .map(|u| SkippedRecord {
            job_id: job.job_id.clone(),
            task: TaskKind::SyncInventory,
            record_id: u.variant_id.clone(),
            reason: u.reason.clone(),
            at: now,
        })
        .collect();
    if !skipped.is_empty() {
        ctx.stores.skipped.record_skipped(shop, &skipped).await?;
    }
    // The whole catalogue was just mapped: exactly these variants are unmapped now.
    let unmapped: Vec<CueEntry> = result
        .unmapped
        .iter()
        .map(|u| CueEntry {
            id: u.variant_id.clone(),
            detail: u.reason.clone(),
            task: Some(TaskKind::SyncInventory),
            at: now,
        })
        .collect();
    ctx.stores
        .cues
        .replace_entries(shop, Cue::UnmappedProducts, &unmapped)
        .await?;
    ctx.counters
        .add(counters::VARIANTS_MAPPED, result.mapped.len() as u64);
    ctx.counters
        .add(counters::VARIANTS_UNMAPPED, result.unmapped.len() as u64);
    ctx.counters
        .add(counters::VARIANTS_UNTRACKED, result.untracked as u64);
    ctx.counters
        .add(counters::SKIPPED_RECORDS, skipped.len() as u64);
    state.mappings = Some(result.mapped);
    state.bc_items = Some(bc_items);
    Ok(())
}

/// Read Shopify's levels of the mapped items at the stock locations and keep them as the known
/// levels (first and full runs), counting the drift from what was known.
async fn read_levels(
    ctx: &mut TaskRun<'_>,
    state: &mut PlanState,
    store: &InventoryState<'_>,
    known: &KnownLevels,
) -> Result<()> {
    let mappings = mappings_of(state, store).await?;
    let mapped_items: HashSet<&str> = mappings
        .iter()
        .map(|m| m.inventory_item_id.as_str())
        .collect();
    let location_ids: Vec<String> = ctx
        .settings
        .stock_locations()
        .map(|l| l.shopify_location_id.clone())
        .collect();
    let read: Vec<InventoryLevel> = ctx
        .clients
        .shopify
        .levels(&location_ids)
        .await?
        .into_iter()
        .filter(|level| mapped_items.contains(level.inventory_item_id.as_str()))
        .collect();
    let drift = read
        .iter()
        .filter(|l| {
            known
                .get(&l.inventory_item_id, &l.location_id)
                .is_some_and(|k| k != l.available)
        })
        .count();
    ctx.counters.add(counters::LEVELS_READ, read.len() as u64);
    ctx.counters.add(counters::DRIFT_FOUND, drift as u64);
    store.replace_levels(&read).await?;
    state.known = Some(KnownLevels::from_levels(&read));
    Ok(())
}

async fn mappings_of<'s>(
    state: &'s mut PlanState,
    store: &InventoryState<'_>,
) -> Result<&'s [VariantMapping]> {
    if state.mappings.is_none() {
        state.mappings = Some(store.load_mappings().await?);
    }
    Ok(state.mappings.as_deref().unwrap_or_default())
}

/// BC's stock at the mapped locations: per location from the availability page when the shop has
/// one, else the items' totals.
async fn bc_stock(ctx: &TaskRun<'_>, state: &mut PlanState) -> Result<plan::BcStock> {
    let bc = &ctx.clients.bc;
    match (
        &ctx.settings.inventory_availability_page,
        &ctx.settings.bc.company_name,
    ) {
        (Some(page), Some(company)) => {
            let mut codes: Vec<String> = ctx
                .settings
                .stock_locations()
                .flat_map(|l| l.bc_location_codes.iter().cloned())
                .collect();
            codes.sort();
            codes.dedup();
            Ok(plan::BcStock::from_availability(
                &bc.availability(page, company, &codes).await?,
            ))
        }
        _ => {
            let items = match state.bc_items.take() {
                Some(items) => items,
                None => bc.items().await?,
            };
            Ok(plan::BcStock::from_items(&items))
        }
    }
}

/// Compare BC with the known levels and plan the next [`MAX_ROWS_PER_STEP`] changed rows after the
/// cursor, in (location, inventory item) order.
async fn diff_step(
    ctx: &mut TaskRun<'_>,
    state: &mut PlanState,
    store: &InventoryState<'_>,
) -> Result<Planned> {
    if state.stock.is_none() {
        state.stock = Some(bc_stock(ctx, state).await?);
    }
    state.bc_items = None;
    mappings_of(state, store).await?;
    if state.known.is_none() {
        state.known = Some(store.load_levels().await?);
    }
    let (Some(mappings), Some(known), Some(stock)) = (&state.mappings, &state.known, &state.stock)
    else {
        return Err(SyncError::Internal(
            "inventory plan state not loaded".into(),
        ));
    };
    let locations: Vec<&LocationSettings> = ctx.settings.stock_locations().collect();
    let (changes, checked) = plan::diff(mappings, &locations, stock, known);
    if state.after.is_none() {
        ctx.counters.add(counters::LEVELS_CHECKED, checked as u64);
    }
    let mut rows: Vec<QuantityChange> = changes
        .into_iter()
        .filter(|c| {
            state.after.as_ref().is_none_or(|(location, item)| {
                (&c.location_id, &c.inventory_item_id) > (location, item)
            })
        })
        .take(MAX_ROWS_PER_STEP + 1)
        .collect();
    if rows.len() > MAX_ROWS_PER_STEP {
        rows.truncate(MAX_ROWS_PER_STEP);
    } else {
        state.step = Step::Fold;
    }
    if let Some(last) = rows.last() {
        state.after = Some((last.location_id.clone(), last.inventory_item_id.clone()));
    }
    let effects = plan::batches(rows)
        .into_iter()
        .map(|quantities| batch_effect(quantities, false))
        .collect::<Result<Vec<_>>>()?;
    Ok(Planned::more(effects))
}

/// Record what one call did: the applied rows become the new known levels; rows Shopify refused are
/// skipped records; rows that were only collateral of a refusal are returned for one retry, and stale
/// rows are re-read first and returned for one retry from their current level (see the module docs).
async fn settle(
    ctx: &mut TaskRun<'_>,
    state: &mut PlanState,
    quantities: &[QuantityChange],
    outcome: &SetQuantitiesOutcome,
    is_retry_batch: bool,
) -> Result<Vec<QuantityChange>> {
    let shop = ctx.settings.code.as_str();
    ctx.counters.add(counters::MUTATIONS, 1);
    let mut row_errors: HashMap<usize, (&str, &str)> = HashMap::new();
    let mut general_errors = Vec::new();
    for e in &outcome.user_errors {
        match e.quantity_row() {
            Some(row) if row < quantities.len() => {
                row_errors.insert(
                    row,
                    (
                        e.code.as_deref().unwrap_or("USER_ERROR"),
                        e.message.as_str(),
                    ),
                );
            }
            _ => general_errors.push(e),
        }
    }
    // Shopify applies a call whole or not at all: with any error, nothing changed.
    let applied_all = outcome.user_errors.is_empty();
    // Stale rows get their one retry from the level Shopify has now, not from BC over it.
    let current = if applied_all || is_retry_batch {
        HashMap::new()
    } else {
        reread_stale(ctx, state, quantities, &row_errors).await?
    };
    let mut applied = Vec::new();
    let mut retry = Vec::new();
    let mut skipped = Vec::new();
    let mut in_step = 0u64;
    let now = shopsync_domain::time::now_secs();
    for (i, row) in quantities.iter().enumerate() {
        if applied_all {
            applied.push(InventoryLevel {
                inventory_item_id: row.inventory_item_id.clone(),
                location_id: row.location_id.clone(),
                available: row.quantity,
            });
            continue;
        }
        let error = row_errors.get(&i).copied();
        let retryable = match error {
            None => true,
            Some((STALE, _)) | Some(("IDEMPOTENCY_CONCURRENT_REQUEST", _)) => true,
            Some(_) => false,
        };
        let reason = if retryable && !is_retry_batch {
            if !matches!(error, Some((STALE, _))) {
                retry.push(row.clone());
                continue;
            }
            let key = (row.inventory_item_id.clone(), row.location_id.clone());
            match current.get(&key) {
                Some(&level) if level == row.quantity => {
                    // Someone already set what BC says: nothing to send.
                    in_step += 1;
                    continue;
                }
                Some(&level) => {
                    retry.push(QuantityChange {
                        change_from_quantity: Some(level),
                        ..row.clone()
                    });
                    continue;
                }
                None => format!(
                    "inventory update refused ({STALE}) and the level could not be read again: \
                     Shopify no longer stocks the item at the location"
                ),
            }
        } else {
            match error {
                Some((code, message)) => format!("inventory update refused ({code}): {message}"),
                None => format!(
                    "inventory update not applied after retry because another row of the call was refused{}",
                    general_errors
                        .first()
                        .map(|e| format!(": {}", e.message))
                        .unwrap_or_default()
                ),
            }
        };
        skipped.push(SkippedRecord {
            job_id: ctx.job.job_id.clone(),
            task: TaskKind::SyncInventory,
            record_id: format!("{}@{}", row.inventory_item_id, row.location_id),
            reason,
            at: now,
        });
    }
    if !applied.is_empty() {
        remember(ctx, state, &applied).await?;
        ctx.counters
            .add(counters::LEVELS_CHANGED, applied.len() as u64);
    }
    if in_step > 0 {
        ctx.counters.add(counters::LEVELS_ALREADY_IN_STEP, in_step);
    }
    if !skipped.is_empty() {
        ctx.stores.skipped.record_skipped(shop, &skipped).await?;
        ctx.counters
            .add(counters::SKIPPED_RECORDS, skipped.len() as u64);
    }
    Ok(retry)
}

/// Read the current level of every row of a refused call that Shopify found stale — one read for
/// all of them — and keep what was read as the known levels. Returns the levels read, by (inventory
/// item, location); a level Shopify no longer has is absent.
async fn reread_stale(
    ctx: &mut TaskRun<'_>,
    state: &mut PlanState,
    quantities: &[QuantityChange],
    row_errors: &HashMap<usize, (&str, &str)>,
) -> Result<HashMap<(String, String), i64>> {
    let keys: Vec<LevelKey<'_>> = quantities
        .iter()
        .enumerate()
        .filter(|(i, _)| matches!(row_errors.get(i), Some((STALE, _))))
        .map(|(_, row)| LevelKey {
            inventory_item_id: &row.inventory_item_id,
            location_id: &row.location_id,
        })
        .collect();
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    let read = ctx.clients.shopify.levels_of(&keys).await?;
    ctx.counters
        .add(counters::STALE_LEVELS_REREAD, keys.len() as u64);
    remember(ctx, state, &read).await?;
    Ok(read
        .into_iter()
        .map(|l| ((l.inventory_item_id, l.location_id), l.available))
        .collect())
}

/// Levels now known to be in Shopify: one change record, and the plan's copy of the known levels.
async fn remember(
    ctx: &TaskRun<'_>,
    state: &mut PlanState,
    levels: &[InventoryLevel],
) -> Result<()> {
    let store = InventoryState {
        records: ctx.stores.records.as_ref(),
        shop: ctx.settings.code.as_str(),
    };
    store.record_changes(levels).await?;
    if let Some(known) = state.known.as_mut() {
        for level in levels {
            known.set(level);
        }
    }
    Ok(())
}
