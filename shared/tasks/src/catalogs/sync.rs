//! `sync-catalogs` (reference report 30115): Shopify's company-location and market catalogs →
//! the catalogs mirror ([`super::CATALOGS`]); nothing is written to Shopify or BC.
//!
//! Like the reference it re-reads everything each run (there is no cursor on catalogs), but
//! through the `catalogs(type:)` connection, one page a planning step, every status — the
//! reference reads company catalogs company by company (one query per company) and only `ACTIVE`
//! ones, so a catalog set to draft looked deleted to it. Each catalog read is compared with its
//! record and written only when Shopify's side changed, keeping the merchant's fields.
//!
//! Once both types are read to the end, every mirrored catalog that was not seen in this run is
//! marked **gone** (status `gone`). The ids seen ride in the task's checkpoint, so a run that
//! spans invocations, or resumes after a crash, sweeps against everything it read — a catalog is
//! only marked gone after a complete read. Every write is an upsert of what Shopify said, so a
//! step played again writes the same thing (or, compared, nothing).

use super::{CATALOGS, StoredCatalog, catalog_record_id};
use crate::engine::{Effect, Planned, Settled, Task, TaskRun};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shopsync_domain::b2b_catalogs::CatalogType;
use shopsync_domain::ports::{Record, Result};
use shopsync_domain::{SyncError, TaskKind};
use std::collections::{BTreeSet, HashMap};

/// The task.
#[derive(Debug, Default, Clone, Copy)]
pub struct SyncCatalogsTask;

/// Records swept per planning step.
const SWEEP_PAGE: usize = 200;

/// The task's resume state.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct CatalogsState {
    /// Index into [`CatalogType::ALL`] of the type being read; past the end: sweeping.
    #[serde(default)]
    pub type_index: usize,
    /// Shopify's cursor of the next page of the type being read.
    #[serde(default)]
    pub after: Option<String>,
    /// Record ids of the catalogs read in this run.
    #[serde(default)]
    pub seen: BTreeSet<String>,
    /// Position of the sweep over the mirror.
    #[serde(default)]
    pub sweep_after: Option<String>,
}

/// Counter names this task reports.
pub mod counters {
    pub const CATALOG_PAGES_READ: &str = "catalog_pages_read";
    pub const CATALOGS_STORED: &str = "catalogs_stored";
    pub const CATALOGS_UPDATED: &str = "catalogs_updated";
    pub const CATALOGS_UNCHANGED: &str = "catalogs_unchanged";
    pub const CATALOGS_GONE: &str = "catalogs_gone";
}

#[async_trait]
impl Task for SyncCatalogsTask {
    type State = CatalogsState;

    fn kind(&self) -> TaskKind {
        TaskKind::SyncCatalogs
    }

    async fn plan(&self, run: &mut TaskRun<'_>, state: &mut CatalogsState) -> Result<Planned> {
        if let Some(catalog_type) = CatalogType::ALL.get(state.type_index).copied() {
            read_page(run, state, catalog_type).await?;
            return Ok(Planned::more(Vec::new()));
        }
        if sweep_step(run, state).await? {
            return Ok(Planned::last(Vec::new()));
        }
        Ok(Planned::more(Vec::new()))
    }

    async fn send(&self, _run: &mut TaskRun<'_>, effect: &Effect, _key: &str) -> Result<Value> {
        Err(no_effects(effect))
    }

    async fn settle(
        &self,
        _run: &mut TaskRun<'_>,
        _state: &mut CatalogsState,
        effect: &Effect,
        _outcome: &Value,
    ) -> Result<Settled> {
        Err(no_effects(effect))
    }
}

fn no_effects(effect: &Effect) -> SyncError {
    SyncError::Internal(format!(
        "sync-catalogs has no effects, yet was handed '{}'",
        effect.label
    ))
}

/// Read and mirror one page of catalogs of `catalog_type`.
async fn read_page(
    run: &mut TaskRun<'_>,
    state: &mut CatalogsState,
    catalog_type: CatalogType,
) -> Result<()> {
    let read = run
        .clients
        .shopify
        .catalogs_page(catalog_type, state.after.as_deref())
        .await?;
    run.counters.add(counters::CATALOG_PAGES_READ, 1);
    let mut fresh: Vec<(String, &shopsync_domain::b2b_catalogs::ShopifyCatalog)> = Vec::new();
    for c in &read.page.items {
        fresh.push((catalog_record_id(&c.id, c.catalog_type)?, c));
    }
    let ids: Vec<String> = fresh.iter().map(|(id, _)| id.clone()).collect();
    let stored: HashMap<String, Record> = if ids.is_empty() {
        HashMap::new()
    } else {
        run.stores
            .records
            .get_records(run.shop(), CATALOGS, &ids)
            .await?
            .into_iter()
            .map(|r| (r.id.clone(), r))
            .collect()
    };
    let mut writes = Vec::new();
    for (id, catalog) in fresh {
        let next = match stored.get(&id) {
            None => {
                run.counters.add(counters::CATALOGS_STORED, 1);
                StoredCatalog::new(catalog, &read.shop_currency)
            }
            Some(record) => {
                let old = StoredCatalog::from_record(record)?;
                let next = old.refreshed(catalog, &read.shop_currency);
                if next == old {
                    run.counters.add(counters::CATALOGS_UNCHANGED, 1);
                    state.seen.insert(id);
                    continue;
                }
                run.counters.add(counters::CATALOGS_UPDATED, 1);
                next
            }
        };
        writes.push(next.to_record()?);
        state.seen.insert(id);
    }
    if !writes.is_empty() {
        run.stores
            .records
            .put_records(run.shop(), CATALOGS, &writes)
            .await?;
    }
    if read.page.next_cursor.is_some() && read.page.next_cursor == state.after {
        return Err(SyncError::Internal(
            "Shopify returned the same page cursor twice while reading catalogs".into(),
        ));
    }
    state.after = read.page.next_cursor;
    if state.after.is_none() {
        state.type_index += 1;
    }
    Ok(())
}

/// Mark one page of mirrored catalogs not seen in this run as gone; `true` after the last page.
async fn sweep_step(run: &mut TaskRun<'_>, state: &mut CatalogsState) -> Result<bool> {
    let page = run
        .stores
        .records
        .list_records(
            run.shop(),
            CATALOGS,
            state.sweep_after.as_deref(),
            SWEEP_PAGE,
        )
        .await?;
    let now = shopsync_domain::time::now_secs();
    let mut writes = Vec::new();
    for record in &page.records {
        if state.seen.contains(&record.id) {
            continue;
        }
        let mut catalog = StoredCatalog::from_record(record)?;
        if catalog.gone {
            continue;
        }
        catalog.gone = true;
        catalog.gone_since = Some(now);
        run.counters.add(counters::CATALOGS_GONE, 1);
        writes.push(catalog.to_record()?);
    }
    if !writes.is_empty() {
        run.stores
            .records
            .put_records(run.shop(), CATALOGS, &writes)
            .await?;
    }
    state.sweep_after = page.next_after;
    Ok(state.sweep_after.is_none())
}
