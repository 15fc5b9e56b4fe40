//! `sync-images` (reference report 30107): the BC item's picture ⇄ the Shopify product's image, in
//! the direction of the shop's `sync_item_images`, for the products the catalogue mirror
//! ([`crate::catalogue`]) links to a BC item.
//!
//! **Export** (`to_shopify`). The items to look at are those BC changed since the export cursor
//! (BC's `lastModifiedDateTime`; setting a picture modifies the item), those whose last image
//! attempt failed or is in doubt ([`records::IMAGE_STATES`]), and — in a `full` run — every linked
//! item. Each one's picture is read and hashed ([`content_hash`]); a picture whose hash equals the
//! mirror's `image.picture_hash` costs nothing more: **no upload, no mutation**. A changed picture is
//! one effect: a staged upload (`stagedUploadsCreate`, then an HTTP PUT of the bytes), then either
//! `fileUpdate` of the image already linked (`image.media_id`; its media id stays, Shopify makes a
//! new image) or `productUpdate(media:)` adding one. (`productCreateMedia`/`productUpdateMedia` are
//! deprecated in 2026-07.) The reference scans every product each run; here an incremental run reads
//! the pictures of changed items only.
//!
//! **Import** (`from_shopify`). The products Shopify updated since the import cursor (and those whose
//! last import failed; all of them in a `full` run) that the mirror links to an item: when the
//! product's first image has another image id than the mirror's `image.shopify_image_id`, its bytes
//! are fetched from the image URL and written as the item's picture with the picture's ETag. An
//! item whose picture already has those bytes is not written. A stale ETag (BC's picture changed
//! meanwhile) is read again: if BC now holds our bytes, our earlier write whose answer was lost did
//! it; otherwise someone changed the picture in BC while the import ran, and **BC's picture is
//! kept** (a skipped record says so) — an import never overwrites a newer change in BC.
//!
//! **Exactly once, no duplicate images.** `productUpdate(media:)` adds an image every time it runs
//! and has no idempotency key in 2026-07. The rule:
//!
//! 1. every exported image carries a **marker**: its alt text ends with the content hash
//!    ([`records::marker_alt`]), so an image this task added for content *h* can be recognised on
//!    the product;
//! 2. before the attach is sent, the item's image state is set `pending` with *h* (a record of its
//!    own, [`records::IMAGE_STATES`]); it is deleted once the outcome is settled into the mirror;
//! 3. whenever the outcome of an attach may be unknown — the engine probes an effect that was sent
//!    but never settled (a lost answer, a crash, a duplicate delivery taking the job over), and any
//!    later job finds the `pending` state — the product's images are read first
//!    ([`ShopifyCatalogApi::product_media`](shopsync_domain::catalog::ShopifyCatalogApi::product_media))
//!    and an image with *h*'s marker is taken as the one added: nothing is sent again. Only when no
//!    image carries the marker is the image added (again).
//!
//! The staged upload itself may be repeated freely (a new target each time, nothing visible until an
//! image refers to it), and `fileUpdate` sets absolute content, so resending either is harmless. An
//! export whose picture changed again between planning and sending exports the newer picture instead
//! (a follow-up effect), never the one planned.
//!
//! **Cursors** are taken when the run starts (export: the last changed item BC listed then, read back
//! 5 minutes next time as BC commits late; import: the run's start, read back 5 minutes) and written
//! only when the run's last planning step runs, after every effect before it has settled: a run that
//! dies looks at the same items again, and items read twice cost a hash comparison. A `full` export
//! leaves the cursor alone; the first export (no cursor yet) looks at every linked item, a page of
//! the mirror a step, and takes BC's newest change as the cursor. Otherwise the changed items are
//! queued in the checkpoint: a change set of many thousand items at once makes a large checkpoint
//! (a `full` run does not).
//!
//! **The mirror** is written only through [`catalogue::update`] (compare-and-swap, re-read on a lost
//! race) and only its `image` is changed, so sync-products' fields are never overwritten; an image
//! error is kept in this task's own record kind, never in the product's status.

pub mod export;
pub mod import;
pub mod records;
#[cfg(test)]
mod tests;

use crate::catalogue;
use crate::engine::{Effect, Planned, Settled, Task, TaskRun};
use crate::orders::sync::CURSORS;
use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shopsync_domain::items::ItemCursor;
use shopsync_domain::ports::{Record, Result};
use shopsync_domain::settings::{ShopSettings, SyncDirection};
use shopsync_domain::{SyncError, TaskKind};
use std::collections::{HashSet, VecDeque};

/// Items (export) or products (import retries) handled per planning step.
pub const STEP_ITEMS: usize = 20;
/// How far back the export cursor is read (BC stamps `lastModifiedDateTime` before it commits).
pub const EXPORT_REWIND_MS: i64 = 5 * 60 * 1000;
/// How far back the import cursor is read (Shopify's search index lags a little).
pub const IMPORT_OVERLAP_SECS: i64 = 5 * 60;

/// The task.
#[derive(Debug, Default, Clone, Copy)]
pub struct SyncImagesTask;

/// Where planning is.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Read the cursor and decide what to look at.
    #[default]
    Open,
    /// Export: the queued items, [`STEP_ITEMS`] a step.
    Export,
    /// Full export: every mirror record, a page a step.
    ExportAll,
    /// Import: a page of updated products a step.
    Import,
    /// Import: the products whose last import failed, [`STEP_ITEMS`] a step.
    ImportRetries,
    /// Write the cursor.
    Finish,
    Done,
}

/// An item to look at (export).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedItem {
    pub number: String,
    /// BC's id of the item, when the read that found it had it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// The task's resume state, checkpointed with the engine's.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ImagesState {
    #[serde(default)]
    pub phase: Phase,
    /// Export: items still to look at.
    #[serde(default)]
    pub queue: VecDeque<QueuedItem>,
    /// Full export: the last mirror record read.
    #[serde(default)]
    pub after: Option<String>,
    /// Import: products updated at or after this instant (`None`: all).
    #[serde(default)]
    pub since: Option<String>,
    /// Import: Shopify's cursor of the next page.
    #[serde(default)]
    pub page_after: Option<String>,
    /// Import retries: (item number, product id) still to read.
    #[serde(default)]
    pub retries: VecDeque<(String, String)>,
    /// The export cursor to write when the run finishes.
    #[serde(default)]
    pub export_cursor: Option<ItemCursor>,
    /// The import cursor to write when the run finishes.
    #[serde(default)]
    pub import_cursor: Option<String>,
}

/// One effect: export or import of one item's image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum ImageEffect {
    Export(export::ExportImage),
    Import(import::ImportImage),
}

/// What an effect came to (stored in the ledger).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum ImageOutcome {
    /// Content `hash` is on media `media_id` of the product.
    Exported {
        hash: String,
        media_id: String,
        #[serde(default)]
        image_id: Option<String>,
        how: export::How,
    },
    /// BC's picture changed after planning: content `hash` is exported instead (a follow-up).
    Stale { hash: String },
    /// The item has no picture (any more): nothing to export.
    NoPicture,
    /// The item's picture holds content `hash`; `written` when this effect wrote it.
    Imported { hash: String, written: bool },
    /// BC's picture changed while the import ran: BC's (content `hash`, if any) is kept.
    KeptBc {
        #[serde(default)]
        hash: Option<String>,
        reason: String,
    },
    /// Shopify accepted the image but does not list it: kept pending, looked for next run.
    Unconfirmed { hash: String, reason: String },
    /// Refused by Shopify or BC (user errors, a missing item, an image that cannot be fetched).
    Refused { reason: String },
}

/// Counter names this task reports.
pub mod counters {
    /// BC pictures read and hashed (export).
    pub const PICTURES_READ: &str = "images_pictures_read";
    /// Pictures whose hash equals the mirror's: nothing sent.
    pub const UNCHANGED: &str = "images_unchanged";
    /// Items without a picture.
    pub const NO_PICTURE: &str = "images_no_picture";
    /// Items or products the mirror does not link.
    pub const NOT_LINKED: &str = "images_not_linked";
    /// `stagedUploadsCreate` calls.
    pub const STAGED_UPLOADS: &str = "images_staged_uploads";
    /// Bytes PUT to a staged target.
    pub const UPLOADS: &str = "images_uploads";
    /// `productUpdate(media:)` and `fileUpdate` calls.
    pub const MEDIA_MUTATIONS: &str = "images_media_mutations";
    pub const ATTACHED: &str = "images_attached";
    pub const REPLACED: &str = "images_replaced";
    /// Images found by their marker after an unknown outcome: not added again.
    pub const FOUND_BY_MARKER: &str = "images_found_by_marker";
    /// Exports another job had settled meanwhile.
    pub const ALREADY_EXPORTED: &str = "images_already_exported";
    /// Pictures that changed between planning and sending.
    pub const STALE: &str = "images_stale";
    /// Images fetched from Shopify (import).
    pub const DOWNLOADED: &str = "images_downloaded";
    /// BC pictures written (import).
    pub const PICTURES_WRITTEN: &str = "images_pictures_written";
    /// Imports whose bytes BC already had: nothing written.
    pub const IMPORT_UNCHANGED: &str = "images_import_already_in_bc";
    /// Imports that found BC's picture changed meanwhile and kept it.
    pub const KEPT_BC: &str = "images_kept_bc_picture";
    /// Shopify images still processing: retried next run.
    pub const NOT_READY: &str = "images_not_ready";
    /// Effects refused (skipped records).
    pub const FAILED: &str = "images_failed";
}

#[async_trait]
impl Task for SyncImagesTask {
    type State = ImagesState;

    fn kind(&self) -> TaskKind {
        TaskKind::SyncImages
    }

    fn skip_reason(&self, settings: &ShopSettings) -> Option<String> {
        match settings.sync_item_images {
            SyncDirection::Disabled => {
                Some("sync_item_images is disabled for this shop".to_string())
            }
            SyncDirection::ToShopify if !settings.allow_outgoing_requests => Some(
                "allow_outgoing_requests is off for this shop: an image export only writes to Shopify"
                    .to_string(),
            ),
            _ => None,
        }
    }

    async fn plan(&self, run: &mut TaskRun<'_>, state: &mut ImagesState) -> Result<Planned> {
        match state.phase {
            Phase::Open => {
                match run.settings.sync_item_images {
                    SyncDirection::FromShopify => import::open(run, state).await?,
                    _ => export::open(run, state).await?,
                }
                Ok(Planned::more(Vec::new()))
            }
            Phase::Export => {
                let mut batch = Vec::with_capacity(STEP_ITEMS);
                while batch.len() < STEP_ITEMS {
                    match state.queue.pop_front() {
                        Some(q) => batch.push(q),
                        None => break,
                    }
                }
                let effects = export::plan_items(run, batch).await?;
                if state.queue.is_empty() {
                    state.phase = Phase::Finish;
                }
                Ok(Planned::more(effects))
            }
            Phase::ExportAll => {
                let page = run
                    .stores
                    .records
                    .list_records(
                        run.shop(),
                        catalogue::PRODUCTS,
                        state.after.as_deref(),
                        STEP_ITEMS,
                    )
                    .await?;
                let batch = page
                    .records
                    .iter()
                    .map(|r| QueuedItem {
                        number: r.id.clone(),
                        id: None,
                    })
                    .collect();
                let effects = export::plan_items(run, batch).await?;
                match page.next_after {
                    Some(next) if state.after.as_deref() != Some(next.as_str()) => {
                        state.after = Some(next)
                    }
                    _ => state.phase = Phase::Finish,
                }
                Ok(Planned::more(effects))
            }
            Phase::Import => {
                let (effects, next) = import::plan_page(run, state).await?;
                if next.is_some() && next == state.page_after {
                    return Err(SyncError::Internal(
                        "Shopify returned the same products page cursor twice".into(),
                    ));
                }
                state.page_after = next;
                if state.page_after.is_none() {
                    state.phase = Phase::ImportRetries;
                }
                Ok(Planned::more(effects))
            }
            Phase::ImportRetries => {
                let mut batch = Vec::with_capacity(STEP_ITEMS);
                while batch.len() < STEP_ITEMS {
                    match state.retries.pop_front() {
                        Some(r) => batch.push(r),
                        None => break,
                    }
                }
                let effects = import::plan_retries(run, batch).await?;
                if state.retries.is_empty() {
                    state.phase = Phase::Finish;
                }
                Ok(Planned::more(effects))
            }
            Phase::Finish => {
                if let Some(c) = state.export_cursor.take() {
                    write_cursor(run, records::EXPORT_CURSOR, &c).await?;
                }
                if let Some(c) = state.import_cursor.take() {
                    write_cursor(run, records::IMPORT_CURSOR, &c).await?;
                }
                state.phase = Phase::Done;
                Ok(Planned::last(Vec::new()))
            }
            Phase::Done => Ok(Planned::last(Vec::new())),
        }
    }

    async fn send(&self, run: &mut TaskRun<'_>, effect: &Effect, _key: &str) -> Result<Value> {
        let outcome = match effect.payload_as::<ImageEffect>()? {
            ImageEffect::Export(e) => export::send(run, &e).await?,
            ImageEffect::Import(i) => import::send(run, &i).await?,
        };
        to_value(&outcome)
    }

    async fn probe(
        &self,
        run: &mut TaskRun<'_>,
        effect: &Effect,
        _key: &str,
    ) -> Result<Option<Value>> {
        match effect.payload_as::<ImageEffect>()? {
            ImageEffect::Export(e) => export::probe(run, &e)
                .await?
                .map(|o| to_value(&o))
                .transpose(),
            // Writing a picture is a check-then-write on its content hash: sending it again after an
            // unknown outcome finds BC holding the bytes and writes nothing.
            ImageEffect::Import(_) => Ok(None),
        }
    }

    async fn settle(
        &self,
        run: &mut TaskRun<'_>,
        _state: &mut ImagesState,
        effect: &Effect,
        outcome: &Value,
    ) -> Result<Settled> {
        let outcome: ImageOutcome = serde_json::from_value(outcome.clone()).map_err(|e| {
            SyncError::Internal(format!("outcome of '{}' is unreadable: {e}", effect.label))
        })?;
        match effect.payload_as::<ImageEffect>()? {
            ImageEffect::Export(e) => export::settle(run, &e, outcome).await,
            ImageEffect::Import(i) => import::settle(run, &i, outcome).await,
        }
    }
}

fn to_value<T: Serialize>(v: &T) -> Result<Value> {
    serde_json::to_value(v).map_err(|e| SyncError::Internal(format!("serialising: {e}")))
}

/// Cursor `id` of this task, if one was written.
pub async fn read_cursor<T: DeserializeOwned>(run: &TaskRun<'_>, id: &str) -> Result<Option<T>> {
    run.stores
        .records
        .get_record(run.shop(), CURSORS, id)
        .await?
        .map(|r| {
            serde_json::from_str(&r.body).map_err(|e| {
                SyncError::Internal(format!("the {id} cursor record is unreadable: {e}"))
            })
        })
        .transpose()
}

/// Write cursor `id` (an upsert: one run per shop and category holds the lease; a run finishing
/// writes the cursor it took when it started).
async fn write_cursor<T: Serialize>(run: &TaskRun<'_>, id: &str, value: &T) -> Result<()> {
    let body = serde_json::to_string(value)
        .map_err(|e| SyncError::Internal(format!("serialising: {e}")))?;
    run.stores
        .records
        .put_records(run.shop(), CURSORS, &[Record::new(id, None, body)])
        .await
}

/// Keeps the first of each item number.
fn dedupe(items: impl IntoIterator<Item = QueuedItem>) -> VecDeque<QueuedItem> {
    let mut seen = HashSet::new();
    items
        .into_iter()
        .filter(|q| seen.insert(q.number.clone()))
        .collect()
}
