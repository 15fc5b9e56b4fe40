//! `sync-inventory` (reference report 30102): BC availability per mapped location → Shopify
//! `inventorySetQuantities`, 250 rows a call, each call `@idempotent`.
//!
//! Unlike the reference, an ordinary run does not re-read Shopify's levels: the last value known to be
//! in Shopify is kept per (inventory item, location) in the state store, and only levels whose BC value
//! differs are sent, with the known value as `changeFromQuantity` (compare-and-swap). A `full` run —
//! scheduled daily by default, and the first run of a shop — re-reads the catalogue and Shopify's
//! levels, so drift made outside Shopsync is corrected.
//!
//! Exactly-once: the calls are planned first; each call's exact payload is written to the idempotency
//! ledger under a key derived from (job, plan generation, batch) *before* it is sent, and the plan is
//! checkpointed. A retry, a redelivery after a crash or a continuation resends the stored payload under
//! the stored key, so Shopify answers with the original result instead of applying it again.

pub mod mapping;
pub mod plan;

use crate::{RunContext, RunOutcome};
use serde::{Deserialize, Serialize};
use shopsync_domain::inventory::{
    InventoryLevel, QuantityChange, SetQuantitiesOutcome, SetQuantitiesRequest,
};
use shopsync_domain::ports::*;
use shopsync_domain::settings::LocationSettings;
use shopsync_domain::status::{Cue, CueEntry};
use shopsync_domain::status_ports::CueStore;
use shopsync_domain::{SyncError, TaskKind};
use std::collections::{HashMap, HashSet};

/// The ports this task uses.
pub struct InventoryPorts<'a> {
    pub shopify: &'a dyn ShopifyInventoryApi,
    pub bc: &'a dyn BcInventoryApi,
    pub state: &'a dyn InventoryStateStore,
    pub ledger: &'a dyn IdempotencyLedger,
    pub skipped: &'a dyn SkippedRecordStore,
    /// The status board's cue entries: a full mapping replaces the shop's unmapped-products list.
    pub cues: &'a dyn CueStore,
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
}

/// Resume point of a run, stored on the job record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Checkpoint {
    /// Plan generation: keys of one plan never collide with another plan's.
    generation: u32,
    /// Batches planned from BC data; indexes at or above this are retries of rejected rows.
    planned_batches: usize,
    /// All batches in the ledger, including retries.
    total_batches: usize,
    /// First batch not known to be done.
    next_batch: usize,
}

const QUANTITY_NAME: &str = "available";
const REASON: &str = "correction";

/// The idempotency key of one batch of one plan of one job.
pub fn batch_key(job_id: &str, generation: u32, batch: usize) -> String {
    format!("{job_id}/inventory-set/g{generation}/b{batch}")
}

fn storage_json<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| SyncError::Internal(format!("serialising: {e}")))
}

/// Run (or resume) an inventory sync for one shop.
pub async fn run(ctx: &mut RunContext<'_>, ports: &InventoryPorts<'_>) -> Result<RunOutcome> {
    let settings = ctx.settings;
    if !settings.allow_outgoing_requests {
        return Ok(RunOutcome::Skipped {
            reason:
                "allow_outgoing_requests is off for this shop: inventory is not sent to Shopify"
                    .into(),
        });
    }
    let locations: Vec<&LocationSettings> = settings.stock_locations().collect();
    if locations.is_empty() {
        return Ok(RunOutcome::Skipped {
            reason: "no location has stock calculation on".into(),
        });
    }

    let checkpoint = match &ctx.job.checkpoint {
        Some(value) => serde_json::from_value::<Checkpoint>(value.clone())
            .map_err(|e| SyncError::Internal(format!("unreadable inventory checkpoint: {e}")))?,
        None => plan_run(ctx, ports, &locations).await?,
    };
    apply(ctx, ports, checkpoint).await
}

/// Build the variant mapping if needed, read BC (and Shopify on full runs), diff, and write every
/// planned call to the ledger before anything is sent.
async fn plan_run(
    ctx: &mut RunContext<'_>,
    ports: &InventoryPorts<'_>,
    locations: &[&LocationSettings],
) -> Result<Checkpoint> {
    let shop = ctx.settings.code.as_str();
    let job = ctx.job;
    let full = job.options.full;
    let mut items = None;

    let mut mappings = ports.state.load_mappings(shop).await?;
    if mappings.is_empty() || full {
        let variants = ports.shopify.variants().await?;
        let bc_items = ports.bc.items().await?;
        let result = mapping::map_variants(ctx.settings, &variants, &bc_items);
        let keep: HashSet<&str> = result
            .mapped
            .iter()
            .map(|m| m.variant_id.as_str())
            .collect();
        let stale: Vec<String> = mappings
            .iter()
            .filter(|m| !keep.contains(m.variant_id.as_str()))
            .map(|m| m.variant_id.clone())
            .collect();
        if !stale.is_empty() {
            ports.state.delete_mappings(shop, &stale).await?;
        }
        ports.state.save_mappings(shop, &result.mapped).await?;
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
            ports.skipped.record_skipped(shop, &skipped).await?;
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
        ports
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
        mappings = result.mapped;
        items = Some(bc_items);
    }

    let stock = match (
        &ctx.settings.inventory_availability_page,
        &ctx.settings.bc.company_name,
    ) {
        (Some(page), Some(company)) => {
            let mut codes: Vec<String> = locations
                .iter()
                .flat_map(|l| l.bc_location_codes.iter().cloned())
                .collect();
            codes.sort();
            codes.dedup();
            plan::BcStock::from_availability(&ports.bc.availability(page, company, &codes).await?)
        }
        _ => {
            let items = match items {
                Some(items) => items,
                None => ports.bc.items().await?,
            };
            plan::BcStock::from_items(&items)
        }
    };

    let mut known = ports.state.load_levels(shop).await?;
    if full || known.is_empty() {
        let mapped_items: HashSet<&str> = mappings
            .iter()
            .map(|m| m.inventory_item_id.as_str())
            .collect();
        let location_ids: Vec<String> = locations
            .iter()
            .map(|l| l.shopify_location_id.clone())
            .collect();
        let read: Vec<InventoryLevel> = ports
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
                    .get(&(l.inventory_item_id.clone(), l.location_id.clone()))
                    .is_some_and(|k| *k != l.available)
            })
            .count();
        ctx.counters.add(counters::LEVELS_READ, read.len() as u64);
        ctx.counters.add(counters::DRIFT_FOUND, drift as u64);
        ports.state.save_levels(shop, &read).await?;
        known = read
            .into_iter()
            .map(|l| ((l.inventory_item_id, l.location_id), l.available))
            .collect();
    }

    let (changes, checked) = plan::diff(&mappings, locations, &stock, &known);
    ctx.counters.add(counters::LEVELS_CHECKED, checked as u64);
    let batches = plan::batches(changes);
    let total = batches.len();
    let generation = job.attempts;
    for (index, rows) in batches.into_iter().enumerate() {
        write_batch(ports, shop, &job.job_id, generation, index, rows).await?;
    }
    let checkpoint = Checkpoint {
        generation,
        planned_batches: total,
        total_batches: total,
        next_batch: 0,
    };
    save(ctx, &checkpoint).await?;
    Ok(checkpoint)
}

/// Record one call in the ledger before it is ever sent.
async fn write_batch(
    ports: &InventoryPorts<'_>,
    shop: &str,
    job_id: &str,
    generation: u32,
    index: usize,
    rows: Vec<QuantityChange>,
) -> Result<()> {
    let key = batch_key(job_id, generation, index);
    let request = SetQuantitiesRequest {
        idempotency_key: key.clone(),
        name: QUANTITY_NAME.into(),
        reason: REASON.into(),
        reference_document_uri: Some(format!("gid://shopsync/InventorySync/{job_id}")),
        quantities: rows,
    };
    let payload = storage_json(&request)?;
    let entry = LedgerEntry {
        payload_sha256: LedgerEntry::sha256_hex(&payload),
        payload,
        key: key.clone(),
        status: LedgerStatus::Pending,
        result: None,
        created_at: shopsync_domain::time::now_secs(),
    };
    match ports.ledger.begin(shop, &entry).await? {
        LedgerBegin::Started => Ok(()),
        LedgerBegin::Existing(existing) if existing.payload_sha256 == entry.payload_sha256 => {
            Ok(())
        }
        LedgerBegin::Existing(_) => Err(SyncError::Internal(format!(
            "idempotency key {key} already holds a different payload; refusing to reuse it"
        ))),
    }
}

async fn save(ctx: &RunContext<'_>, checkpoint: &Checkpoint) -> Result<()> {
    let value = serde_json::to_value(checkpoint).map_err(|e| SyncError::Internal(e.to_string()))?;
    ctx.progress.checkpoint(&value, &ctx.counters).await
}

/// Send the planned calls from the checkpoint on, checkpointing after each.
async fn apply(
    ctx: &mut RunContext<'_>,
    ports: &InventoryPorts<'_>,
    mut cp: Checkpoint,
) -> Result<RunOutcome> {
    let shop = ctx.settings.code.clone();
    let job_id = ctx.job.job_id.clone();
    // Every invocation sends at least one batch, so even a tiny time budget always makes progress.
    let mut sent_here = 0usize;
    while cp.next_batch < cp.total_batches {
        if sent_here > 0 && ctx.progress.deadline_near() {
            save(ctx, &cp).await?;
            let checkpoint =
                serde_json::to_value(&cp).map_err(|e| SyncError::Internal(e.to_string()))?;
            return Ok(RunOutcome::Continue { checkpoint });
        }
        let key = batch_key(&job_id, cp.generation, cp.next_batch);
        let entry = ports.ledger.get(&shop, &key).await?.ok_or_else(|| {
            SyncError::Internal(format!("planned batch {key} is missing from the ledger"))
        })?;
        if entry.status == LedgerStatus::Pending {
            let request: SetQuantitiesRequest =
                serde_json::from_str(&entry.payload).map_err(|e| {
                    SyncError::Internal(format!("ledger payload of {key} is unreadable: {e}"))
                })?;
            let outcome = ports.shopify.set_quantities(&request).await?;
            let is_retry_batch = cp.next_batch >= cp.planned_batches;
            let retry_rows = settle(ctx, ports, &request, &outcome, is_retry_batch).await?;
            if !retry_rows.is_empty() {
                ctx.counters
                    .add(counters::RETRIED_ROWS, retry_rows.len() as u64);
                write_batch(
                    ports,
                    &shop,
                    &job_id,
                    cp.generation,
                    cp.total_batches,
                    retry_rows,
                )
                .await?;
                cp.total_batches += 1;
            }
            ports
                .ledger
                .complete(&shop, &key, &storage_json(&outcome)?)
                .await?;
        }
        cp.next_batch += 1;
        sent_here += 1;
        save(ctx, &cp).await?;
    }
    let skipped = ctx.job.counters.get(counters::SKIPPED_RECORDS)
        + ctx.counters.get(counters::SKIPPED_RECORDS);
    Ok(RunOutcome::Finished {
        warnings: skipped > 0,
    })
}

/// Record what one call did: the applied rows become the new known levels; rows Shopify refused are
/// skipped records; rows that were only collateral of a refusal (or stale) are returned for one retry.
async fn settle(
    ctx: &mut RunContext<'_>,
    ports: &InventoryPorts<'_>,
    request: &SetQuantitiesRequest,
    outcome: &SetQuantitiesOutcome,
    is_retry_batch: bool,
) -> Result<Vec<QuantityChange>> {
    let shop = ctx.settings.code.as_str();
    ctx.counters.add(counters::MUTATIONS, 1);
    let mut row_errors: HashMap<usize, (&str, &str)> = HashMap::new();
    let mut general_errors = Vec::new();
    for e in &outcome.user_errors {
        match e.quantity_row() {
            Some(row) if row < request.quantities.len() => {
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
    let mut applied = Vec::new();
    let mut retry = Vec::new();
    let mut skipped = Vec::new();
    let now = shopsync_domain::time::now_secs();
    for (i, row) in request.quantities.iter().enumerate() {
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
            Some(("CHANGE_FROM_QUANTITY_STALE", _))
            | Some(("IDEMPOTENCY_CONCURRENT_REQUEST", _)) => true,
            Some(_) => false,
        };
        if retryable && !is_retry_batch {
            // Stale rows are set outright on retry: BC is the source of truth for inventory.
            let stale = matches!(error, Some(("CHANGE_FROM_QUANTITY_STALE", _)));
            retry.push(QuantityChange {
                change_from_quantity: if stale {
                    None
                } else {
                    row.change_from_quantity
                },
                ..row.clone()
            });
        } else {
            let reason = match error {
                Some((code, message)) => format!("inventory update refused ({code}): {message}"),
                None => format!(
                    "inventory update not applied after retry because another row of the call was refused{}",
                    general_errors
                        .first()
                        .map(|e| format!(": {}", e.message))
                        .unwrap_or_default()
                ),
            };
            skipped.push(SkippedRecord {
                job_id: ctx.job.job_id.clone(),
                task: TaskKind::SyncInventory,
                record_id: format!("{}@{}", row.inventory_item_id, row.location_id),
                reason,
                at: now,
            });
        }
    }
    if !applied.is_empty() {
        ports.state.save_levels(shop, &applied).await?;
        ctx.counters
            .add(counters::LEVELS_CHANGED, applied.len() as u64);
    }
    if !skipped.is_empty() {
        ports.skipped.record_skipped(shop, &skipped).await?;
        ctx.counters
            .add(counters::SKIPPED_RECORDS, skipped.len() as u64);
    }
    Ok(retry)
}
