//! The price pass: BC's sales price of every mirrored variant (the shop's customer price group and
//! currency, today) → `productVariantsBulkUpdate`, one update per product with the variants whose
//! prices hash changed, queued and then sent as one bulk mutation above `product_bulk_threshold`
//! or one call each (the export's dispatch, [`super::Batch::Prices`]); nothing is sent for unchanged
//! prices. It is the whole of a `prices_only` run (blocked and sales-blocked items skipped with the
//! reason), and it follows every export with `sync_prices`, as the reference's full export scan
//! recomputes every variant's price: a change in a BC price list touches no item, so only this pass
//! carries it to Shopify.

use super::export::queued;
use super::export::{prices_hash, sales_prices};
use super::{Batch, Mode, PRICE_QUEUE, Phase, ProductsState, STEP, counters, skip};
use crate::catalogue::{self, MirroredProduct, PRODUCTS};
use crate::engine::{Effect, TaskRun};
use serde::{Deserialize, Serialize};
use shopsync_domain::SyncError;
use shopsync_domain::catalog::{
    MAX_INPUT_ITEMS, ProductPriceUpdate, VariantPriceUpdate, VariantPricesOutcome,
};
use shopsync_domain::items::{BcCatalogItem, PriceTarget};
use shopsync_domain::ports::{Record, Result};
use shopsync_domain::sales::to_code;
use shopsync_domain::text::{bounded, preview};
use std::collections::HashMap;

/// One price update of one product, with the hash each variant's prices get once written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceLine {
    pub item_no: String,
    /// Which of the item's updates this is, when its changed variants need more than one
    /// ([`MAX_INPUT_ITEMS`] a request); 0 for the first.
    #[serde(default)]
    pub part: usize,
    pub update: ProductPriceUpdate,
    /// (variant id, prices hash), one per `update.variants`.
    pub hashes: Vec<(String, String)>,
}

impl PriceLine {
    /// The line's record id in the price queue.
    pub fn queue_id(&self) -> String {
        match self.part {
            0 => self.item_no.clone(),
            n => format!("{}~{n}", self.item_no),
        }
    }
}

/// One page of mirror records: their prices, and a queued update per product whose prices changed
/// (the last page hands the queue to the dispatch). The page's items are read from BC in a few
/// requests
/// ([`ITEMS_PER_READ`](shopsync_domain::items::ITEMS_PER_READ) a request), not one each.
///
/// In a `prices_only` run a blocked or sales-blocked item gives a skipped record; in the price pass
/// that follows an export with `sync_prices` (a price list changes no item, so the item scan alone
/// would never send it) such items are left to the export, which reports them when they change,
/// rather than adding a skipped record per item to every scheduled run.
pub async fn prices_step(run: &mut TaskRun<'_>, state: &mut ProductsState) -> Result<Vec<Effect>> {
    let page = run
        .stores
        .records
        .list_records(run.shop(), PRODUCTS, state.after.as_deref(), STEP)
        .await?;
    if !state.price_queue_cleared {
        // Lines a run that died before sending them left: this pass computes today's prices again.
        let stale: Vec<String> = queued::<PriceLine>(run, PRICE_QUEUE)
            .await?
            .into_iter()
            .map(|l| l.queue_id())
            .collect();
        for chunk in stale.chunks(25) {
            run.stores
                .records
                .delete_records(run.shop(), PRICE_QUEUE, chunk)
                .await?;
        }
        state.price_queue_cleared = true;
    }
    state.after = page.next_after.clone();
    if page.next_after.is_none() {
        // The pass is complete: its queue goes in bulk or one by one, as the export's does.
        state.batch = Batch::Prices;
        state.phase = Phase::Dispatch;
    }
    let report_blocked = state.mode == Mode::PricesOnly;
    let mut mirrored = Vec::new();
    for r in &page.records {
        let m: MirroredProduct = serde_json::from_str(&r.body).map_err(|e| {
            SyncError::Internal(format!(
                "catalogue record {} is unreadable: {e}",
                preview(&r.id)
            ))
        })?;
        if m.product_id.is_some() && !m.variants.is_empty() {
            mirrored.push(m);
        }
    }
    let numbers: Vec<String> = mirrored.iter().map(|m| m.item_no.clone()).collect();
    let mut items: HashMap<String, BcCatalogItem> = run
        .clients
        .bc
        .items_by_numbers(&numbers)
        .await?
        .into_iter()
        .map(|i| (to_code(&i.number), i))
        .collect();
    let mut products: Vec<(MirroredProduct, BcCatalogItem)> = Vec::new();
    for m in mirrored {
        let Some(item) = items.remove(&to_code(&m.item_no)) else {
            skip(run, &m.item_no, "The item no longer exists in BC.").await?;
            continue;
        };
        let reason = if item.blocked {
            "Item is blocked: its prices are not exported."
        } else if item.is_blocked_for_sales() {
            "Item is sales blocked: its prices are not exported."
        } else {
            products.push((m, item));
            continue;
        };
        if report_blocked {
            skip(run, &m.item_no, reason).await?;
        }
    }
    let targets: Vec<PriceTarget> = products
        .iter()
        .flat_map(|(m, item)| {
            m.variants.iter().map(|v| PriceTarget {
                item_number: to_code(&item.number),
                variant_code: v.variant_code.clone(),
                unit_price: item.unit_price.clone(),
            })
        })
        .collect();
    let prices: HashMap<(String, Option<String>), _> = sales_prices(run, &targets)
        .await?
        .into_iter()
        .map(|p| {
            (
                (
                    to_code(&p.item_number),
                    p.variant_code.as_deref().map(to_code),
                ),
                p,
            )
        })
        .collect();
    let mut queue = Vec::new();
    for (m, item) in &products {
        let cost = item.unit_cost.as_str().to_string();
        let mut changed = Vec::new();
        for v in &m.variants {
            let key = (
                to_code(&item.number),
                v.variant_code.as_deref().map(to_code),
            );
            let Some(p) = prices.get(&key) else {
                skip(
                    run,
                    &m.item_no,
                    "No sales price in the shop's currency: the price is not exported.",
                )
                .await?;
                continue;
            };
            let price = p.price.as_str().to_string();
            let compare_at = p.compare_at.as_ref().map(|c| c.as_str().to_string());
            let hash = prices_hash(&price, compare_at.as_deref(), Some(&cost))?;
            if v.prices_hash.as_deref() == Some(hash.as_str()) {
                run.counters.add(counters::PRICES_UNCHANGED, 1);
                continue;
            }
            changed.push((
                VariantPriceUpdate {
                    variant_id: v.variant_id.clone(),
                    price,
                    compare_at_price: compare_at,
                    unit_cost: Some(cost.clone()),
                },
                hash,
            ));
        }
        let product_id = m.product_id.clone().unwrap_or_default();
        for (part, chunk) in changed.chunks(MAX_INPUT_ITEMS).enumerate() {
            let line = PriceLine {
                item_no: m.item_no.clone(),
                part,
                update: ProductPriceUpdate {
                    product_id: product_id.clone(),
                    variants: chunk.iter().map(|(u, _)| u.clone()).collect(),
                },
                hashes: chunk
                    .iter()
                    .map(|(u, h)| (u.variant_id.clone(), h.clone()))
                    .collect(),
            };
            let body = serde_json::to_string(&line)
                .map_err(|e| SyncError::Internal(format!("serialising: {e}")))?;
            queue.push(Record::new(line.queue_id(), None, body));
        }
    }
    if !queue.is_empty() {
        run.stores
            .records
            .put_records(run.shop(), PRICE_QUEUE, &queue)
            .await?;
    }
    Ok(Vec::new())
}

/// Send one price update; a request Shopify refuses outright is the line's error.
pub async fn send_prices(run: &TaskRun<'_>, line: &PriceLine) -> Result<VariantPricesOutcome> {
    match run
        .clients
        .shopify
        .variant_prices_update(&line.update)
        .await
    {
        Ok(o) => Ok(o),
        Err(e @ SyncError::Rejected { .. }) => Ok(VariantPricesOutcome {
            variants: Vec::new(),
            user_errors: vec![shopsync_domain::inventory::UserError {
                code: None,
                field: Vec::new(),
                message: e.to_string(),
            }],
        }),
        Err(e) => Err(e),
    }
}

/// The written variants' prices hashes into the mirror; errors as skipped records.
pub async fn settle_prices(
    run: &mut TaskRun<'_>,
    line: &PriceLine,
    outcome: &VariantPricesOutcome,
) -> Result<()> {
    let written: Vec<&str> = outcome
        .variants
        .iter()
        .map(|v| v.variant_id.as_str())
        .collect();
    let all = outcome.user_errors.is_empty();
    let shop = run.shop().to_string();
    let records = run.stores.records.clone();
    let mut updated = 0u64;
    catalogue::update(&*records, &shop, &line.item_no, |m| {
        let mut changed = false;
        updated = 0;
        for (id, hash) in &line.hashes {
            if !(all || written.contains(&id.as_str())) {
                continue;
            }
            if let Some(v) = m.variants.iter_mut().find(|v| v.variant_id == *id) {
                updated += 1;
                if v.prices_hash.as_deref() != Some(hash.as_str()) {
                    v.prices_hash = Some(hash.clone());
                    changed = true;
                }
            }
        }
        changed
    })
    .await?;
    run.counters.add(counters::PRICES_UPDATED, updated);
    if !all {
        let messages: Vec<&str> = outcome
            .user_errors
            .iter()
            .map(|e| e.message.as_str())
            .collect();
        skip(run, &line.item_no, &bounded(&messages.join("; "), 300)).await?;
    }
    Ok(())
}
