//! `sync-catalog-prices` (reference report 30116): BC prices → the fixed prices of each mirrored
//! catalog's price list (`priceListFixedPricesAdd`, [`MAX_FIXED_PRICES_PER_CALL`] rows a call).
//!
//! **Which catalogs.** Every catalog of the mirror ([`super::CATALOGS`]) that is priced
//! ([`StoredCatalog::priced`]: prices enabled, present in Shopify, not archived, with a price list),
//! fixed when the run starts and taken one after the other. A catalog whose publication is empty
//! is priced like any other: the reference skips it (BCApps #8739), so the prices of an
//! auto-created B2B catalog were never refreshed.
//!
//! **Which variants.** The variants the catalogue mirror ([`crate::catalogue`], filled by
//! sync-products) links to a BC item or item variant, read 100 items a planning step. Items
//! blocked in BC get no price, as in the reference.
//!
//! **Which price.** BC's price for the catalog's own pricing context ([`PriceScope`]): the
//! catalog's price group (the mirror's `price_group`, else the shop's `customer_price_group`) and
//! the price list's currency — the shop's BC currency (`currency_code`, `None` = local) when the
//! price list is in the shop's currency, else the price list's ISO code as the BC currency code —
//! from the published price page `sales_prices_page` ([`BcItemsApi::sales_prices`], the lowest
//! applicable line as BC's default calculation picks it), or without it the items' unit prices
//! (local currency only). A variant without a price in that currency is counted as unpriced, not
//! sent. BC's customer-specific price lines (a company location's own customer) are not read:
//! [`PriceScope`] has no customer, so a company catalog is priced by its price group.
//!
//! **Only changes.** The price list's current fixed prices are read once per catalog
//! (`priceList.prices(originType: FIXED)`), and a row is sent only when BC's price or compare-at
//! price differs from them as numbers, so a run after which nothing changed in BC makes no
//! mutation at all.
//!
//! **Idempotent by nature.** `priceListFixedPricesAdd` *sets* each variant's fixed price; it has no
//! `@idempotent` key and needs none: a call sent twice (a retry, a duplicate delivery, a resend
//! after a lost answer — the engine resends the ledgered payload, [`EffectKind::Replayable`])
//! leaves the same prices. A run played again compares with what Shopify has by then and sends
//! nothing more.
//!
//! **userErrors.** Every entry is read. An entry naming a row (`field: ["prices", "3", …]`)
//! becomes a skipped record of that variant (and a [`super::PRICE_SKIPS`] record); an entry naming
//! no row, one for the whole call. Shopify applies a call with errors all or nothing, so the rows
//! of such a call that were not refused themselves are sent once more in a follow-up call.
//!
//! **Last price sync.** When a catalog's planning ends, its record gets [`PriceSync`]: the job,
//! when, and how many prices were checked, changed (sent) and unpriced — what
//! `GET /shops/{shop}/catalogs` shows.

use super::{CATALOGS, PRICE_SKIPS, PriceSkip, PriceSync, StoredCatalog, status};
use crate::catalogue::{self, MirroredProduct};
use crate::engine::{Effect, EffectKind, Planned, Settled, Task, TaskRun};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shopsync_domain::b2b_catalogs::{
    FixedPrice, FixedPriceInput, FixedPricesAddOutcome, FixedPricesAddRequest,
    MAX_FIXED_PRICES_PER_CALL, numeric_gid,
};
use shopsync_domain::catalogue::System;
use shopsync_domain::items::{PriceScope, PriceTarget};
use shopsync_domain::ports::{Record, Result, SkippedRecord};
use shopsync_domain::sales::{Decimal, to_code};
use shopsync_domain::text::{bounded, preview};
use shopsync_domain::{SyncError, TaskKind};
use std::collections::HashMap;

/// The task.
#[derive(Debug, Default, Clone, Copy)]
pub struct SyncCatalogPricesTask;

/// Catalogue records (BC items) priced per planning step.
const PRODUCTS_PER_STEP: usize = 100;
/// Catalog records listed per read when the run starts.
const CATALOG_LIST_PAGE: usize = 200;

/// BC's view of an item, read once per invocation.
#[derive(Debug, Clone)]
struct ItemFacts {
    number: String,
    unit_price: Decimal,
    blocked: bool,
}

/// Reads kept for the current invocation only (not checkpointed: a continuation reads them again).
#[derive(Debug, Default)]
pub struct Cache {
    /// The current catalog's price list id and its fixed prices by variant id.
    fixed: Option<(String, HashMap<String, FixedPrice>)>,
    /// BC items by normalised number.
    items: Option<HashMap<String, ItemFacts>>,
}

/// The task's resume state.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct PricesState {
    /// Record ids of the catalogs this run prices, fixed at its first step.
    #[serde(default)]
    pub catalogs: Option<Vec<String>>,
    /// The catalog being priced.
    #[serde(default)]
    pub index: usize,
    /// Position in the catalogue mirror for the current catalog.
    #[serde(default)]
    pub products_after: Option<String>,
    /// Changed rows of the current catalog not yet in an effect (fewer than a call's worth).
    #[serde(default)]
    pub pending: Vec<FixedPriceInput>,
    /// The current catalog's tally.
    #[serde(default)]
    pub tally: PriceSync,
    #[serde(skip)]
    pub cache: Cache,
}

/// The payload of one `priceListFixedPricesAdd` effect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PricesEffect {
    /// The catalog's record id.
    pub catalog: String,
    pub request: FixedPricesAddRequest,
    /// A follow-up of a call with errors: not followed up again.
    #[serde(default)]
    pub retry: bool,
}

/// Counter names this task reports.
pub mod counters {
    pub const CATALOGS_PRICED: &str = "catalogs_priced";
    pub const PRICES_CHECKED: &str = "catalog_prices_checked";
    pub const PRICES_UNCHANGED: &str = "catalog_prices_unchanged";
    pub const PRICES_CHANGED: &str = "catalog_prices_changed";
    pub const PRICES_UNPRICED: &str = "catalog_prices_unpriced";
    pub const PRICES_SET: &str = "catalog_prices_set";
    pub const PRICES_REFUSED: &str = "catalog_prices_refused";
    pub const PRICE_CALLS: &str = "catalog_price_calls";
}

#[async_trait]
impl Task for SyncCatalogPricesTask {
    type State = PricesState;

    fn kind(&self) -> TaskKind {
        TaskKind::SyncCatalogPrices
    }

    async fn plan(&self, run: &mut TaskRun<'_>, state: &mut PricesState) -> Result<Planned> {
        if state.catalogs.is_none() {
            state.catalogs = Some(priced_catalogs(run).await?);
            return Ok(Planned::more(Vec::new()));
        }
        let ids = state.catalogs.clone().unwrap_or_default();
        let Some(record_id) = ids.get(state.index) else {
            return Ok(Planned::last(Vec::new()));
        };
        let effects = price_step(run, state, record_id).await?;
        if state.index >= ids.len() {
            return Ok(Planned::last(effects));
        }
        Ok(Planned::more(effects))
    }

    async fn send(&self, run: &mut TaskRun<'_>, effect: &Effect, _key: &str) -> Result<Value> {
        let payload: PricesEffect = effect.payload_as()?;
        let outcome = run
            .clients
            .shopify
            .price_list_fixed_prices_add(&payload.request)
            .await?;
        run.counters.add(counters::PRICE_CALLS, 1);
        serde_json::to_value(&outcome)
            .map_err(|e| SyncError::Internal(format!("fixed prices outcome: {e}")))
    }

    async fn settle(
        &self,
        run: &mut TaskRun<'_>,
        _state: &mut PricesState,
        effect: &Effect,
        outcome: &Value,
    ) -> Result<Settled> {
        let payload: PricesEffect = effect.payload_as()?;
        let outcome: FixedPricesAddOutcome = serde_json::from_value(outcome.clone())
            .map_err(|e| SyncError::Internal(format!("fixed prices outcome: {e}")))?;
        settle_outcome(run, &payload, &outcome).await
    }
}

/// The record ids of the catalogs to price, in id order.
async fn priced_catalogs(run: &TaskRun<'_>) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = run
            .stores
            .records
            .list_records(run.shop(), CATALOGS, after.as_deref(), CATALOG_LIST_PAGE)
            .await?;
        for r in &page.records {
            if StoredCatalog::from_record(r)?.priced() {
                out.push(r.id.clone());
            }
        }
        match page.next_after {
            Some(next) => after = Some(next),
            None => return Ok(out),
        }
    }
}

/// Move to the next catalog.
fn next_catalog(state: &mut PricesState) {
    state.index += 1;
    state.products_after = None;
    state.pending.clear();
    state.tally = PriceSync::default();
    state.cache.fixed = None;
}

/// One step of the current catalog: price up to [`PRODUCTS_PER_STEP`] catalogue items and
/// return the full calls; after the catalogue's last page, the rest and the catalog's
/// [`PriceSync`].
async fn price_step(
    run: &mut TaskRun<'_>,
    state: &mut PricesState,
    record_id: &str,
) -> Result<Vec<Effect>> {
    let Some(record) = run
        .stores
        .records
        .get_record(run.shop(), CATALOGS, record_id)
        .await?
    else {
        next_catalog(state);
        return Ok(Vec::new());
    };
    let catalog = StoredCatalog::from_record(&record)?;
    let Some(price_list) = catalog.price_list.clone().filter(|_| catalog.priced()) else {
        // Changed since the run started (gone, disabled): left alone.
        next_catalog(state);
        return Ok(Vec::new());
    };
    if state
        .cache
        .fixed
        .as_ref()
        .is_none_or(|(id, _)| *id != price_list.id)
    {
        match read_fixed_prices(run, &price_list.id).await {
            Ok(fixed) => state.cache.fixed = Some((price_list.id.clone(), fixed)),
            Err(SyncError::NotFound(_)) => {
                skip(
                    run,
                    &catalog.id,
                    &format!(
                        "catalog '{}': its price list {} is gone from Shopify",
                        preview(&catalog.title),
                        price_list.id
                    ),
                )
                .await?;
                next_catalog(state);
                return Ok(Vec::new());
            }
            Err(e) => return Err(e),
        }
    }
    if state.cache.items.is_none() {
        state.cache.items = Some(read_items(run).await?);
    }
    let page = run
        .stores
        .records
        .list_records(
            run.shop(),
            catalogue::PRODUCTS,
            state.products_after.as_deref(),
            PRODUCTS_PER_STEP,
        )
        .await?;
    let mut targets: Vec<PriceTarget> = Vec::new();
    let mut variant_of: HashMap<(String, Option<String>), String> = HashMap::new();
    let items = state.cache.items.as_ref().expect("read above");
    for r in &page.records {
        let product: MirroredProduct = serde_json::from_str(&r.body).map_err(|e| {
            SyncError::Internal(format!(
                "catalogue record '{}' is unreadable: {e}",
                preview(&r.id)
            ))
        })?;
        for v in &product.variants {
            if numeric_gid(&v.variant_id, "ProductVariant").is_none() {
                continue;
            }
            let facts = items.get(&to_code(&product.item_no));
            match facts {
                Some(f) if !f.blocked => {
                    let key = (to_code(&f.number), v.variant_code.as_deref().map(to_code));
                    variant_of.insert(key, v.variant_id.clone());
                    targets.push(PriceTarget {
                        item_number: f.number.clone(),
                        variant_code: v.variant_code.clone(),
                        unit_price: f.unit_price.clone(),
                    });
                }
                _ => state.tally.prices_unpriced += 1,
            }
        }
    }
    if !targets.is_empty() {
        let scope = scope_of(run, &catalog)?;
        let company = run.settings.bc.company_name.clone().unwrap_or_default();
        let prices = run
            .clients
            .bc
            .sales_prices(
                run.settings.sales_prices_page.as_deref(),
                &company,
                &scope,
                &targets,
            )
            .await?;
        let fixed = &state.cache.fixed.as_ref().expect("read above").1;
        let mut priced = 0usize;
        for p in prices {
            let key = (
                to_code(&p.item_number),
                p.variant_code.as_deref().map(to_code),
            );
            let Some(variant_id) = variant_of.get(&key) else {
                continue;
            };
            priced += 1;
            state.tally.prices_checked += 1;
            let row = FixedPriceInput {
                variant_id: variant_id.clone(),
                price: p.price,
                compare_at: p.compare_at,
            };
            if row.same_as(fixed.get(variant_id)) {
                run.counters.add(counters::PRICES_UNCHANGED, 1);
            } else {
                state.tally.prices_changed += 1;
                state.pending.push(row);
            }
        }
        state.tally.prices_unpriced += (targets.len() - priced.min(targets.len())) as u64;
    }
    let mut effects = Vec::new();
    while state.pending.len() >= MAX_FIXED_PRICES_PER_CALL {
        let rest = state.pending.split_off(MAX_FIXED_PRICES_PER_CALL);
        let rows = std::mem::replace(&mut state.pending, rest);
        effects.push(effect(record_id, &catalog, &price_list, rows, false)?);
    }
    state.products_after = page.next_after;
    if state.products_after.is_none() {
        let rows = std::mem::take(&mut state.pending);
        if !rows.is_empty() {
            effects.push(effect(record_id, &catalog, &price_list, rows, false)?);
        }
        finish_catalog(run, record_id, &state.tally).await?;
        run.counters.add(counters::CATALOGS_PRICED, 1);
        run.counters
            .add(counters::PRICES_CHECKED, state.tally.prices_checked);
        run.counters
            .add(counters::PRICES_CHANGED, state.tally.prices_changed);
        run.counters
            .add(counters::PRICES_UNPRICED, state.tally.prices_unpriced);
        next_catalog(state);
    }
    Ok(effects)
}

/// The catalog's pricing context (see the module's documentation).
fn scope_of(run: &TaskRun<'_>, catalog: &StoredCatalog) -> Result<PriceScope> {
    let currency = catalog
        .price_list
        .as_ref()
        .map(|p| p.currency.clone())
        .unwrap_or_default();
    let currency_code = if currency == catalog.shop_currency {
        run.settings.currency_code.clone()
    } else {
        Some(currency)
    };
    let scope = PriceScope {
        price_group: catalog
            .price_group
            .clone()
            .or_else(|| run.settings.customer_price_group.clone()),
        currency_code,
        date: today()?,
    };
    scope.validate().map_err(|problems| {
        SyncError::Settings(format!(
            "catalog '{}' has no usable pricing context: {problems:?}",
            preview(&catalog.title)
        ))
    })?;
    Ok(scope)
}

/// Today (UTC), `YYYY-MM-DD`.
fn today() -> Result<String> {
    let now = crate::orders::sync::format_time(time::OffsetDateTime::now_utc())?;
    Ok(now[..10].to_string())
}

fn effect(
    record_id: &str,
    catalog: &StoredCatalog,
    price_list: &shopsync_domain::b2b_catalogs::PriceListRef,
    rows: Vec<FixedPriceInput>,
    retry: bool,
) -> Result<Effect> {
    let payload = PricesEffect {
        catalog: record_id.to_string(),
        request: FixedPricesAddRequest {
            price_list_id: price_list.id.clone(),
            currency: price_list.currency.clone(),
            prices: rows,
        },
        retry,
    };
    payload.request.validate()?;
    let label = format!(
        "{} fixed prices of catalog '{}'",
        payload.request.prices.len(),
        bounded(&catalog.title, 60)
    );
    let payload = serde_json::to_value(&payload)
        .map_err(|e| SyncError::Internal(format!("fixed prices payload: {e}")))?;
    Ok(Effect::new(
        EffectKind::Replayable,
        System::Shopify,
        label,
        payload,
    ))
}

/// Every fixed price of a price list, by variant id.
async fn read_fixed_prices(
    run: &TaskRun<'_>,
    price_list_id: &str,
) -> Result<HashMap<String, FixedPrice>> {
    let mut out = HashMap::new();
    let mut after: Option<String> = None;
    loop {
        let page = run
            .clients
            .shopify
            .price_list_fixed_prices_page(price_list_id, after.as_deref())
            .await?;
        for p in page.items {
            out.insert(p.variant_id.clone(), p);
        }
        match page.next_cursor {
            Some(next) if Some(&next) == after.as_ref() => {
                return Err(SyncError::Internal(
                    "Shopify returned the same page cursor twice while reading fixed prices".into(),
                ));
            }
            Some(next) => after = Some(next),
            None => return Ok(out),
        }
    }
}

/// BC's items (number, unit price, blocked), read once per invocation.
async fn read_items(run: &TaskRun<'_>) -> Result<HashMap<String, ItemFacts>> {
    let batch = run.clients.bc.items_modified_since(None).await?;
    Ok(batch
        .items
        .into_iter()
        .map(|i| {
            let blocked = i.is_blocked_for_sales();
            (
                to_code(&i.number),
                ItemFacts {
                    number: i.number,
                    unit_price: i.unit_price,
                    blocked,
                },
            )
        })
        .collect())
}

/// Write the catalog's last price sync (compare-and-swap, so a concurrent sync-catalogs write is
/// not lost).
async fn finish_catalog(run: &TaskRun<'_>, record_id: &str, tally: &PriceSync) -> Result<()> {
    for _ in 0..8 {
        let Some(record) = run
            .stores
            .records
            .get_record(run.shop(), CATALOGS, record_id)
            .await?
        else {
            return Ok(());
        };
        let mut catalog = StoredCatalog::from_record(&record)?;
        catalog.last_price_sync = Some(PriceSync {
            job_id: run.job.job_id.clone(),
            at: shopsync_domain::time::now_secs(),
            ..tally.clone()
        });
        let mut next: Record = catalog.to_record()?;
        next.version = record.version;
        if run
            .stores
            .records
            .put_record_if(run.shop(), CATALOGS, &next)
            .await?
        {
            return Ok(());
        }
    }
    Err(SyncError::Conflict(format!(
        "catalog record '{}' kept changing under this run",
        preview(record_id)
    )))
}

/// A skipped record of this run.
async fn skip(run: &mut TaskRun<'_>, record_id: &str, reason: &str) -> Result<()> {
    let record = SkippedRecord {
        job_id: run.job.job_id.clone(),
        task: TaskKind::SyncCatalogPrices,
        record_id: record_id.to_string(),
        reason: bounded(reason, 250),
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

/// Every userError becomes a skipped record; the rows of a refused call that were not refused
/// themselves go out once more.
async fn settle_outcome(
    run: &mut TaskRun<'_>,
    payload: &PricesEffect,
    outcome: &FixedPricesAddOutcome,
) -> Result<Settled> {
    let rows = &payload.request.prices;
    run.counters
        .add(counters::PRICES_SET, outcome.applied.len() as u64);
    if outcome.user_errors.is_empty() {
        return Ok(Settled::default());
    }
    let now = shopsync_domain::time::now_secs();
    let mut refused = vec![false; rows.len()];
    let mut skips = Vec::new();
    for e in &outcome.user_errors {
        let code = e.code.clone().unwrap_or_else(|| "USER_ERROR".into());
        match e.row().filter(|i| *i < rows.len()) {
            Some(i) => {
                refused[i] = true;
                let variant = &rows[i].variant_id;
                run.counters.add(counters::PRICES_REFUSED, 1);
                skip(
                    run,
                    variant,
                    &format!(
                        "catalog {}: Shopify refused the price {} {}: {code}: {}",
                        payload.catalog,
                        rows[i].price.as_str(),
                        payload.request.currency,
                        e.message
                    ),
                )
                .await?;
                let skip_body = PriceSkip {
                    catalog_id: payload.catalog.clone(),
                    price_list_id: payload.request.price_list_id.clone(),
                    variant_id: variant.clone(),
                    code: e.code.clone(),
                    message: bounded(&e.message, 400),
                    job_id: run.job.job_id.clone(),
                    at: now,
                };
                let id = format!(
                    "{}-{}",
                    payload.catalog,
                    numeric_gid(variant, "ProductVariant").unwrap_or("0")
                );
                let body = serde_json::to_string(&skip_body)
                    .map_err(|e| SyncError::Internal(format!("price skip record: {e}")))?;
                skips.push(Record::new(id, Some(status::SKIPPED), body));
            }
            None => {
                skip(
                    run,
                    &payload.request.price_list_id,
                    &format!(
                        "catalog {}: Shopify refused a call of {} prices: {code}: {}",
                        payload.catalog,
                        rows.len(),
                        e.message
                    ),
                )
                .await?;
                // The call as a whole was refused: nothing to send again.
                refused.iter_mut().for_each(|r| *r = true);
            }
        }
    }
    if !skips.is_empty() {
        run.stores
            .records
            .put_records(run.shop(), PRICE_SKIPS, &skips)
            .await?;
    }
    let applied: std::collections::HashSet<&str> =
        outcome.applied.iter().map(String::as_str).collect();
    let again: Vec<FixedPriceInput> = rows
        .iter()
        .zip(&refused)
        .filter(|(r, refused)| !**refused && !applied.contains(r.variant_id.as_str()))
        .map(|(r, _)| r.clone())
        .collect();
    if again.is_empty() || payload.retry {
        return Ok(Settled::default());
    }
    let catalog_title = payload.catalog.clone();
    let mut retry = payload.clone();
    retry.retry = true;
    retry.request.prices = again;
    retry.request.validate()?;
    let label = format!(
        "{} fixed prices of catalog {} sent again",
        retry.request.prices.len(),
        catalog_title
    );
    let value = serde_json::to_value(&retry)
        .map_err(|e| SyncError::Internal(format!("fixed prices payload: {e}")))?;
    Ok(Settled {
        follow_ups: vec![Effect::new(
            EffectKind::Replayable,
            System::Shopify,
            label,
            value,
        )],
    })
}
