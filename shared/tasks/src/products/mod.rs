//! `sync-products` (reference report 30108): BC items ↔ Shopify products, and prices, through the
//! catalogue mirror ([`crate::catalogue`]). The direction is the shop's `sync_item`; a run with the
//! `prices_only` option exports prices only, whatever `sync_item` says (the reference's "Only Sync
//! Prices"; [`Task::skip_reason_for`] sees the run's options).
//!
//! **Export** (`to_shopify`, only with `can_update_shopify_products`; [`export`]). The BC items
//! modified since the export cursor (taken from the previous run's start, read again from 5 minutes
//! before it because BC stamps a change before its transaction commits), plus the items whose last
//! export failed (status `error`, the retry list), and the items whose variants were modified since
//! the cursor (a new item variant does not touch its item's modification time in BC), are rebuilt as `productSet` inputs keyed by the
//! item (the `shopsync.bc_item` metafield as `customId`). An input is sent only when its hash (prices left
//! out) differs from the `export_hash` of the item's mirror record or one of its prices from the
//! variant's last sent `prices_hash`, so an unchanged catalogue costs no mutation and
//! an item read twice costs nothing. Changed inputs are first written to a small queue of records
//! ([`EXPORT_QUEUE`]); then, when more than `product_bulk_threshold` are queued, they go as **one**
//! bulk operation (`bulkOperationRunMutation` over a staged JSONL file), polled once per planning
//! step (so the wait spans invocations through the checkpoint), whose per-line results settle the
//! mirror exactly as the per-record path does; lines that failed become skipped records and stay in
//! the retry list (status `error`), lines that did not run (an operation that failed half-way) are
//! sent one by one in the same run. Otherwise each input is one `productSet` effect.
//!
//! **Why no `@idempotent` key and still exactly once.** `productSet` has no idempotency key in
//! 2026-07, but it is an upsert keyed by the identifier: sent twice (a lost answer, a duplicate
//! delivery, a job that died and was taken over, a bulk operation started twice), the second call
//! finds the product the first made and writes the same values. So a `productSet` effect is
//! [`EffectKind::Replayable`]: after an unknown outcome the stored input is simply sent again. The
//! price update (`productVariantsBulkUpdate`) writes absolute values and is replayable the same way.
//!
//! **Blocked items.** `action_for_removed_products` is applied once to the product of a blocked item
//! (status archived or draft through `productSet`; the mirror record becomes `blocked`); further runs
//! give a skipped record. An item never exported is not created just to archive it.
//!
//! **Prices** ([`prices`]). BC's sales price of each mirrored variant for the shop's customer price
//! group and currency, today: in the `productSet` of an export with `sync_prices`, and then, in the
//! price pass over the whole mirror that follows such an export (a price list change touches no
//! item) and that is the whole of a `prices_only` run, as one `productVariantsBulkUpdate` per product
//! of the variants whose prices hash changed. The changed updates are queued ([`PRICE_QUEUE`]) and
//! sent like the export's inputs: more than `product_bulk_threshold` as one bulk mutation, settled
//! line by line, the rest (and lines a failed operation did not run) one by one. Blocked and
//! sales-blocked items are skipped with the reason.
//!
//! **Import** (`from_shopify`; [`import`]). Products updated since the import cursor (the previous
//! run's start, 5 minutes of overlap), plus the products whose last import failed or could not be
//! mapped. A product the last export left no older (its `updatedAt` not newer than
//! `exported_updated_at`) is BC's own change and is not imported back. The item is found by the
//! mirror's link or by `sku_mapping`; it is updated only with `shopify_can_update_items`, with the
//! ETag it was read with, so an item changed in BC meanwhile is not overwritten (recorded instead);
//! an unknown item is created from `item_template_no` with `auto_create_unknown_items` — with a
//! number chosen here, so after a lost answer it is looked up by number before anything is sent
//! again (a [`EffectKind::Probed`] effect); otherwise the product is recorded as unmapped.

pub mod export;
pub mod import;
pub mod prices;
#[cfg(test)]
mod tests;

use crate::catalogue;
use crate::engine::{Effect, EffectKind, Planned, Settled, Task, TaskRun};
use crate::orders::sync::CURSORS;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shopsync_domain::catalogue::System;
use shopsync_domain::items::{ItemCursor, ItemDefaults};
use shopsync_domain::job::RunOptions;
use shopsync_domain::ports::{Record, Result, SkippedRecord};
use shopsync_domain::settings::{ShopSettings, SyncDirection};
use shopsync_domain::text::bounded;
use shopsync_domain::{SyncError, TaskKind};
use std::time::Duration;

/// Changed `productSet` inputs of the current export, by item number, waiting to be sent.
pub const EXPORT_QUEUE: &str = "catalogue-export-queue";
/// Changed prices of the current price pass, by item number, waiting to be sent.
pub const PRICE_QUEUE: &str = "catalogue-price-queue";
/// The export cursor's id (kind [`CURSORS`]): an [`ItemCursor`] at the previous run's start.
pub const EXPORT_CURSOR: &str = "products-export";
/// The import cursor's id (kind [`CURSORS`]): the previous run's start, RFC 3339.
pub const IMPORT_CURSOR: &str = "products-import";
/// The metafield that keys exported products (`productSet` identifier `customId`).
pub const METAFIELD_NAMESPACE: &str = "shopsync";
pub const METAFIELD_KEY: &str = "bc_item";
/// How far before the stored cursor a run reads again (late commits in BC, clock skew in Shopify).
pub const REWIND_MS: i64 = 5 * 60 * 1000;
/// Records (items, products, queue entries, mirror records) handled in one planning step.
pub const STEP: usize = 50;
/// Bulk result lines settled in one planning step.
pub const BULK_SETTLE_STEP: usize = 200;
/// Characters of a reason kept.
const MAX_REASON_CHARS: usize = 250;

/// The task. `bulk_poll` is the pause between two polls of a running bulk operation (each poll is
/// one planning step, checkpointed).
#[derive(Debug, Clone)]
pub struct SyncProductsTask {
    pub bulk_poll: Duration,
}

impl Default for SyncProductsTask {
    fn default() -> Self {
        SyncProductsTask {
            bulk_poll: Duration::from_secs(2),
        }
    }
}

impl SyncProductsTask {
    /// The pause between bulk polls from `SHOPIFY_BULK_POLL_MS` (default 2,000).
    pub fn from_env() -> Self {
        let ms = std::env::var("SHOPIFY_BULK_POLL_MS")
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(2_000);
        SyncProductsTask {
            bulk_poll: Duration::from_millis(ms),
        }
    }
}

/// What a run does.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    #[default]
    Export,
    Import,
    PricesOnly,
}

/// Which queue the dispatch, bulk and queue phases send: the export's `productSet` inputs, or the
/// price pass's price updates. Both go the same way: more than `product_bulk_threshold` queued
/// records as one bulk mutation, the rest one effect each.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Batch {
    #[default]
    Export,
    Prices,
}

impl Batch {
    /// The record kind of the queue.
    pub fn queue(self) -> &'static str {
        match self {
            Batch::Export => EXPORT_QUEUE,
            Batch::Prices => PRICE_QUEUE,
        }
    }
}

/// Where planning is.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    #[default]
    Start,
    /// Export: items modified since the position, a step at a time.
    Scan,
    /// Export: items whose variants were modified since the cursor (a new variant leaves its item's
    /// modification time alone in BC).
    VariantScan,
    /// Export: items whose last export failed.
    Errors,
    /// Export and price pass: bulk or one by one, by the size of the queue of `batch`.
    Dispatch,
    /// Export: the bulk operation is running (or its results are being settled).
    BulkWait,
    /// Export: the queued inputs, one effect each.
    Queue,
    /// The price pass (prices-only, and after an export with `sync_prices`): the mirror's
    /// products, a page at a time, their changed prices queued.
    Prices,
    /// Import: products updated since the cursor, a page at a time.
    Import,
    /// Import: products whose last import failed.
    ImportErrors,
    /// Import: products that could not be mapped.
    ImportUnmapped,
    /// Move the cursor.
    Finish,
}

/// The task's resume state, checkpointed with the engine's.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ProductsState {
    pub mode: Mode,
    pub phase: Phase,
    /// When the run started (epoch ms): where the cursor moves when it finishes.
    pub started_ms: i64,
    /// The cursor record's version when the run started (0: none), for its compare-and-swap.
    pub cursor_version: u64,
    /// Export scan: read the items after this one.
    pub position: Option<ItemCursor>,
    /// Export: the rewound cursor (epoch ms) the variant scan reads from; `None` on a first run,
    /// which reads every item anyway.
    pub variants_since: Option<i64>,
    /// Export variant scan: read the variants after this (modified, item number).
    pub variant_position: Option<ItemCursor>,
    /// Paging of record lists and of Shopify's products.
    pub after: Option<String>,
    /// Import: products updated at or after this instant.
    pub since: Option<String>,
    /// The queue the dispatch, bulk and queue phases send.
    pub batch: Batch,
    /// The price pass has emptied the price queue of a run that died before sending it.
    pub price_queue_cleared: bool,
    /// The running bulk operation.
    pub bulk_id: Option<String>,
    /// Lines the bulk operation was started with.
    pub bulk_lines: usize,
    /// First result line not settled yet.
    pub bulk_next: usize,
    /// The bulk operation could not start: send the queue one by one.
    pub bulk_fallback: bool,
    /// Import: the template item's defaults, read once per run.
    pub template: Option<ItemDefaults>,
}

/// Counter names this task reports.
pub mod counters {
    pub const ITEMS_READ: &str = "items_read";
    pub const ITEMS_WITH_CHANGED_VARIANTS: &str = "items_with_changed_variants";
    pub const PRODUCTS_UNCHANGED: &str = "products_unchanged";
    pub const PRODUCTS_QUEUED: &str = "products_queued";
    pub const PRODUCTS_EXPORTED: &str = "products_exported";
    pub const PRODUCTS_FAILED: &str = "products_failed";
    pub const PRODUCTS_BLOCKED: &str = "products_blocked";
    pub const BULK_OPERATIONS: &str = "bulk_operations";
    pub const BULK_LINES_FAILED: &str = "bulk_lines_failed";
    pub const BULK_LINES_NOT_RUN: &str = "bulk_lines_not_run";
    pub const PRICES_UPDATED: &str = "variant_prices_updated";
    pub const PRICES_UNCHANGED: &str = "variant_prices_unchanged";
    pub const PRODUCTS_READ: &str = "products_read";
    pub const PRODUCTS_OWN_EXPORT: &str = "products_own_export";
    pub const PRODUCTS_ALREADY_IMPORTED: &str = "products_already_imported";
    pub const PRODUCTS_LINKED: &str = "products_linked";
    pub const ITEMS_UPDATED: &str = "items_updated";
    pub const ITEMS_CREATED: &str = "items_created";
    pub const ITEM_VARIANTS_CREATED: &str = "item_variants_created";
    pub const ITEMS_FOUND_BY_PROBE: &str = "items_found_by_probe";
    pub const ITEM_CONFLICTS: &str = "item_conflicts";
    pub const PRODUCTS_UNMAPPED: &str = "products_unmapped";
}

/// The effects of this task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    /// One `productSet`.
    ProductSet(export::ExportLine),
    /// The whole export queue (`lines` entries, in id order) as one bulk mutation.
    BulkProductSet { lines: usize },
    /// The whole price queue (`lines` entries, in id order) as one bulk mutation.
    BulkPrices { lines: usize },
    /// One `productVariantsBulkUpdate`.
    Prices(prices::PriceLine),
    /// One item PATCH with the ETag read.
    UpdateItem(import::ItemWrite),
    /// One item POST from the template.
    CreateItem(import::ItemWrite),
    /// One item variant POST.
    CreateVariant(import::VariantWrite),
}

pub(crate) fn to_value<T: Serialize>(value: &T) -> Result<Value> {
    serde_json::to_value(value).map_err(|e| SyncError::Internal(format!("serialising: {e}")))
}

pub(crate) fn from_value<T: serde::de::DeserializeOwned>(what: &str, value: &Value) -> Result<T> {
    serde_json::from_value(value.clone())
        .map_err(|e| SyncError::Internal(format!("unreadable {what}: {e}")))
}

/// The effect of `op`.
pub(crate) fn effect(op: &Op, label: String) -> Result<Effect> {
    let (kind, target) = match op {
        Op::ProductSet(_) | Op::BulkProductSet { .. } | Op::BulkPrices { .. } | Op::Prices(_) => {
            (EffectKind::Replayable, System::Shopify)
        }
        Op::UpdateItem(_) | Op::CreateItem(_) | Op::CreateVariant(_) => {
            (EffectKind::Probed, System::Bc)
        }
    };
    Ok(Effect::new(
        kind,
        target,
        bounded(&label, 200),
        to_value(op)?,
    ))
}

/// A skipped record of this task for `record_id`.
pub(crate) async fn skip(run: &mut TaskRun<'_>, record_id: &str, reason: &str) -> Result<()> {
    let record = SkippedRecord {
        job_id: run.job.job_id.clone(),
        task: TaskKind::SyncProducts,
        record_id: bounded(record_id, 200),
        reason: bounded(reason, MAX_REASON_CHARS),
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

/// The stored cursor `id` and its version.
pub(crate) async fn read_cursor(run: &TaskRun<'_>, id: &str) -> Result<Option<(String, u64)>> {
    Ok(run
        .stores
        .records
        .get_record(run.shop(), CURSORS, id)
        .await?
        .map(|r| (r.body, r.version)))
}

/// Moves cursor `id` to `body` (compare-and-swap from the version read at the start; a cursor some
/// other run moved further is left alone: `newer` says whether a stored body is past ours).
pub(crate) async fn write_cursor(
    run: &TaskRun<'_>,
    id: &str,
    body: &str,
    version: u64,
    newer: impl Fn(&str) -> bool,
) -> Result<()> {
    let mut version = version;
    for _ in 0..2 {
        let record = Record {
            version,
            ..Record::new(id, None, body.to_string())
        };
        if run
            .stores
            .records
            .put_record_if(run.shop(), CURSORS, &record)
            .await?
        {
            return Ok(());
        }
        match read_cursor(run, id).await? {
            Some((theirs, _)) if newer(&theirs) => return Ok(()),
            Some((_, v)) => version = v,
            None => version = 0,
        }
    }
    Err(SyncError::Conflict(format!(
        "the {id} cursor kept moving while this run advanced it"
    )))
}

/// The run's mode for these settings and options.
fn mode_of(settings: &ShopSettings, prices_only: bool) -> Mode {
    if prices_only {
        Mode::PricesOnly
    } else if settings.sync_item == SyncDirection::FromShopify {
        Mode::Import
    } else {
        Mode::Export
    }
}

#[async_trait]
impl Task for SyncProductsTask {
    type State = ProductsState;

    fn kind(&self) -> TaskKind {
        TaskKind::SyncProducts
    }

    /// A price-only run writes prices whatever the direction of `sync_item` (the reference's "Only
    /// Sync Prices"); every other run follows `sync_item`.
    fn skip_reason_for(&self, settings: &ShopSettings, options: &RunOptions) -> Option<String> {
        if options.prices_only {
            return None;
        }
        self.skip_reason(settings)
    }

    fn skip_reason(&self, settings: &ShopSettings) -> Option<String> {
        match settings.sync_item {
            SyncDirection::Disabled => Some("sync_item is disabled for this shop".into()),
            SyncDirection::ToShopify if !settings.can_update_shopify_products => Some(
                "can_update_shopify_products is off: the export may not change Shopify products"
                    .into(),
            ),
            _ => None,
        }
    }

    async fn plan(&self, run: &mut TaskRun<'_>, state: &mut ProductsState) -> Result<Planned> {
        let effects = match state.phase {
            Phase::Start => {
                let prices_only = run.job.options.prices_only;
                state.mode = mode_of(run.settings, prices_only);
                state.started_ms = shopsync_domain::time::now_millis();
                match state.mode {
                    Mode::Export => export::open(run, state).await?,
                    Mode::Import => import::open(run, state).await?,
                    Mode::PricesOnly => state.phase = Phase::Prices,
                }
                Vec::new()
            }
            Phase::Scan => export::scan_step(run, state).await?,
            Phase::VariantScan => export::variant_scan_step(run, state).await?,
            Phase::Errors => export::errors_step(run, state).await?,
            Phase::Dispatch => export::dispatch(run, state).await?,
            Phase::BulkWait => export::bulk_step(run, state, self.bulk_poll).await?,
            Phase::Queue => export::queue_step(run, state).await?,
            Phase::Prices => prices::prices_step(run, state).await?,
            Phase::Import => import::import_step(run, state).await?,
            Phase::ImportErrors => import::errors_step(run, state).await?,
            Phase::ImportUnmapped => import::unmapped_step(run, state).await?,
            Phase::Finish => {
                match state.mode {
                    Mode::Export => export::advance_cursor(run, state).await?,
                    Mode::Import => import::advance_cursor(run, state).await?,
                    Mode::PricesOnly => {}
                }
                return Ok(Planned::last(Vec::new()));
            }
        };
        Ok(Planned::more(effects))
    }

    async fn send(&self, run: &mut TaskRun<'_>, effect: &Effect, key: &str) -> Result<Value> {
        match effect.payload_as::<Op>()? {
            Op::ProductSet(line) => to_value(&export::send_product_set(run, &line).await?),
            Op::BulkProductSet { lines } => {
                to_value(&export::send_bulk(run, Batch::Export, lines, key).await?)
            }
            Op::BulkPrices { lines } => {
                to_value(&export::send_bulk(run, Batch::Prices, lines, key).await?)
            }
            Op::Prices(line) => to_value(&prices::send_prices(run, &line).await?),
            Op::UpdateItem(write) => to_value(&import::send_update(run, &write).await?),
            Op::CreateItem(write) => to_value(&import::send_create(run, &write).await?),
            Op::CreateVariant(write) => to_value(&import::send_create_variant(run, &write).await?),
        }
    }

    async fn probe(
        &self,
        run: &mut TaskRun<'_>,
        effect: &Effect,
        _key: &str,
    ) -> Result<Option<Value>> {
        let found = match effect.payload_as::<Op>()? {
            Op::UpdateItem(write) => import::probe_update(run, &write).await?,
            Op::CreateItem(write) => import::probe_create(run, &write).await?,
            Op::CreateVariant(write) => import::probe_create_variant(run, &write).await?,
            _ => {
                return Err(SyncError::Internal(format!(
                    "effect '{}' is replayable, not probed",
                    effect.label
                )));
            }
        };
        if found.is_some() {
            run.counters.add(counters::ITEMS_FOUND_BY_PROBE, 1);
        }
        found.map(|o| to_value(&o)).transpose()
    }

    async fn settle(
        &self,
        run: &mut TaskRun<'_>,
        state: &mut ProductsState,
        effect: &Effect,
        outcome: &Value,
    ) -> Result<Settled> {
        match effect.payload_as::<Op>()? {
            Op::ProductSet(line) => {
                let outcome = from_value("productSet outcome", outcome)?;
                export::settle_line(run, &line, &outcome).await?;
                run.stores
                    .records
                    .delete_records(
                        run.shop(),
                        EXPORT_QUEUE,
                        std::slice::from_ref(&line.item_no),
                    )
                    .await?;
            }
            Op::BulkProductSet { lines } | Op::BulkPrices { lines } => {
                let outcome = from_value("bulk start", outcome)?;
                export::settle_bulk_start(run, state, lines, outcome);
            }
            Op::Prices(line) => {
                let outcome = from_value("price update outcome", outcome)?;
                prices::settle_prices(run, &line, &outcome).await?;
                run.stores
                    .records
                    .delete_records(run.shop(), PRICE_QUEUE, &[line.queue_id()])
                    .await?;
            }
            Op::UpdateItem(write) | Op::CreateItem(write) => {
                let outcome = from_value("item outcome", outcome)?;
                let follow_ups = import::settle_item(run, &write, &outcome).await?;
                return Ok(Settled { follow_ups });
            }
            Op::CreateVariant(write) => {
                let outcome = from_value("item variant outcome", outcome)?;
                import::settle_variant(run, &write, &outcome).await?;
            }
        }
        Ok(Settled::default())
    }
}

/// Whether `status` of a mirror record marks a failed last attempt.
pub(crate) fn is_error(m: &catalogue::MirroredProduct) -> bool {
    m.status.as_deref() == Some(catalogue::status::ERROR)
}
