//! The import: Shopify products → BC items (see the module documentation of [`super`]).
//!
//! **Which products.** Those updated since the import cursor (the previous run's start, moved back
//! by [`super::REWIND_MS`]), then those whose last import failed (mirror status `error`) and those
//! recorded as unmapped — each retried every run, not forgotten until it changes again as in the
//! reference; a run does not retry what failed in the same run.
//!
//! **The guard.** A product whose `updatedAt` is not newer than the `exported_updated_at` the last
//! export left is BC's own change coming back, and is not imported; one imported already at that
//! `updatedAt` (the overlap reads it again) is not imported twice.
//!
//! **Mapping.** The mirror's product → item link first; else the first variant's SKU per
//! `sku_mapping` (`item_no`: the SKU; `item_no_plus_variant_code`: the SKU before the separator), else
//! its barcode as the item number (the fallback).
//!
//! **Writes.** An item is updated (description, unit price) only with `shopify_can_update_items`,
//! and only with the fields that differ, in one PATCH carrying the ETag the item was read with: when
//! BC changed the item in between, BC refuses it and the product is recorded with the reason — BC's
//! change is kept, and the product is not retried until it changes again in Shopify. After a lost
//! answer the item is read again: if it already has the values, the PATCH happened. An unknown item
//! is created from the template item with a number chosen here (the mapped SKU, else `P` and the
//! product's numeric id), so after a lost answer it is looked up by that number before anything is
//! sent again, and a second POST of the number is refused by BC rather than making a second item.
//! With `item_no_plus_variant_code`, the item variants the SKUs name and BC lacks are created the
//! same way (looked up by code), after the item.

use super::{
    IMPORT_CURSOR, Op, Phase, ProductsState, REWIND_MS, STEP, counters, effect, is_error,
    read_cursor, skip, write_cursor,
};
use crate::catalogue::{
    self, MirroredVariant, PRODUCTS, UNMAPPED_PRODUCTS, UnmappedProduct, status,
};
use crate::engine::{Effect, TaskRun};
use crate::orders::sync::{format_time, parse_time};
use serde::{Deserialize, Serialize};
use shopsync_domain::SyncError;
use shopsync_domain::catalog::Product;
use shopsync_domain::items::{BcCatalogItem, ItemUpdate, NewItem, NewItemVariant};
use shopsync_domain::ports::Result;
use shopsync_domain::sales::{Decimal, fit, to_code};
use shopsync_domain::settings::SkuMapping;
use shopsync_domain::text::bounded;
use time::OffsetDateTime;

/// One item write for one product: an update of an existing item or the creation of a new one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemWrite {
    pub product_id: String,
    pub product_updated_at: String,
    pub title: String,
    /// The item's number (the mirror record's id, and a new item's number).
    pub item_no: String,
    /// Update: the item's id and the ETag it was read with.
    pub item_id: Option<String>,
    pub etag: Option<String>,
    pub update: Option<ItemUpdate>,
    /// Create: the item.
    pub new_item: Option<NewItem>,
    /// The product's variants as the mirror keeps them.
    pub variants: Vec<MirroredVariant>,
}

/// One item variant to create for a product's variant (`item_no_plus_variant_code`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VariantWrite {
    pub product_id: String,
    pub product_updated_at: String,
    pub title: String,
    pub item_no: String,
    pub variant: NewItemVariant,
    /// The Shopify variant it stands for.
    pub variant_id: String,
}

/// What an item write came to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ItemOutcome {
    Done {
        item_id: String,
    },
    /// The item changed in BC since it was read: not overwritten.
    Conflict {
        message: String,
    },
    Refused {
        message: String,
    },
}

const CONFLICT: &str = "The item changed in BC while the product was imported; BC's change is kept, the product was not imported.";

/// Start an import: the window since the stored cursor (moved back).
pub async fn open(run: &TaskRun<'_>, state: &mut ProductsState) -> Result<()> {
    let stored = read_cursor(run, IMPORT_CURSOR).await?;
    state.since = match &stored {
        Some((body, _)) => {
            let t = parse_time("the products cursor", body)?;
            Some(format_time(t - time::Duration::milliseconds(REWIND_MS))?)
        }
        None => None,
    };
    state.cursor_version = stored.map_or(0, |(_, v)| v);
    state.after = None;
    state.phase = Phase::Import;
    Ok(())
}

fn instant(ms: i64) -> Result<String> {
    let t = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map_err(|e| SyncError::Internal(format!("time: {e}")))?;
    format_time(t)
}

/// Move the import cursor to the run's start.
pub async fn advance_cursor(run: &TaskRun<'_>, state: &ProductsState) -> Result<()> {
    let ours = instant(state.started_ms)?;
    write_cursor(run, IMPORT_CURSOR, &ours, state.cursor_version, |theirs| {
        not_newer(&ours, theirs)
    })
    .await
}

/// Whether instant `a` is not after instant `b` (parsed; as text when either does not parse).
pub fn not_newer(a: &str, b: &str) -> bool {
    match (parse_time("", a), parse_time("", b)) {
        (Ok(x), Ok(y)) => x <= y,
        _ => a <= b,
    }
}

/// One page of the products updated since the cursor.
pub async fn import_step(run: &mut TaskRun<'_>, state: &mut ProductsState) -> Result<Vec<Effect>> {
    let page = run
        .clients
        .shopify
        .products_updated_since(state.since.as_deref(), state.after.as_deref())
        .await?;
    state.after = page.next_cursor.clone();
    if page.next_cursor.is_none() {
        state.phase = Phase::ImportErrors;
    }
    let mut effects = Vec::new();
    for product in page.items {
        effects.extend(consider(run, state, product).await?);
    }
    Ok(effects)
}

/// One page of the products whose last import failed in an earlier run.
pub async fn errors_step(run: &mut TaskRun<'_>, state: &mut ProductsState) -> Result<Vec<Effect>> {
    let page = run
        .stores
        .records
        .list_by_status(
            run.shop(),
            PRODUCTS,
            status::ERROR,
            state.after.as_deref(),
            STEP,
        )
        .await?;
    state.after = page.next_after.clone();
    if page.next_after.is_none() {
        state.phase = Phase::ImportUnmapped;
    }
    let mut effects = Vec::new();
    for r in &page.records {
        let Some(m) = catalogue::load(&*run.stores.records, run.shop(), &r.id).await? else {
            continue;
        };
        let m = m.product;
        if m.last_job.as_deref() == Some(run.job.job_id.as_str()) {
            continue;
        }
        let Some(pid) = &m.product_id else { continue };
        if let Some(product) = run.clients.shopify.product(pid).await? {
            effects.extend(consider(run, state, product).await?);
        }
    }
    Ok(effects)
}

/// One page of the products recorded as unmapped by an earlier run.
pub async fn unmapped_step(
    run: &mut TaskRun<'_>,
    state: &mut ProductsState,
) -> Result<Vec<Effect>> {
    let page = run
        .stores
        .records
        .list_by_status(
            run.shop(),
            UNMAPPED_PRODUCTS,
            status::UNMAPPED,
            state.after.as_deref(),
            STEP,
        )
        .await?;
    state.after = page.next_after.clone();
    if page.next_after.is_none() {
        state.phase = Phase::Finish;
    }
    let mut effects = Vec::new();
    for r in &page.records {
        let u = catalogue::unmapped_of(r)?;
        if u.job_id == run.job.job_id {
            continue;
        }
        match run.clients.shopify.product(&u.product_id).await? {
            Some(product) => effects.extend(consider(run, state, product).await?),
            None => {
                catalogue::clear_unmapped(&*run.stores.records, run.shop(), &u.product_id).await?
            }
        }
    }
    Ok(effects)
}

/// The BC item number a product maps to by its first variant's SKU (per `sku_mapping`), else its
/// barcode.
pub fn mapped_number(
    settings: &shopsync_domain::settings::ShopSettings,
    product: &Product,
) -> Option<String> {
    let first = product.variants.iter().min_by_key(|v| v.position)?;
    let sku = first
        .sku
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let by_sku = match (settings.sku_mapping, sku) {
        (SkuMapping::ItemNo, Some(s)) => Some(s.to_string()),
        (SkuMapping::ItemNoPlusVariantCode, Some(s)) => s
            .split(settings.sku_field_separator.as_str())
            .next()
            .map(str::to_string),
        _ => None,
    };
    by_sku
        .or_else(|| {
            first
                .barcode
                .as_deref()
                .map(str::trim)
                .filter(|b| !b.is_empty())
                .map(str::to_string)
        })
        .map(|n| to_code(&n))
        .filter(|n| !n.is_empty() && n.chars().count() <= shopsync_domain::items::limits::NUMBER)
}

/// The BC variant code a Shopify variant's SKU names (`item_no_plus_variant_code`: the part after
/// the separator), if any.
pub fn variant_code(
    settings: &shopsync_domain::settings::ShopSettings,
    sku: Option<&str>,
) -> Option<String> {
    if settings.sku_mapping != SkuMapping::ItemNoPlusVariantCode {
        return None;
    }
    let (_, code) = sku?.split_once(settings.sku_field_separator.as_str())?;
    Some(to_code(code)).filter(|c| {
        !c.is_empty() && c.chars().count() <= shopsync_domain::items::limits::VARIANT_CODE
    })
}

fn mirrored_variants(
    settings: &shopsync_domain::settings::ShopSettings,
    product: &Product,
) -> Vec<MirroredVariant> {
    let mut vs: Vec<_> = product.variants.iter().collect();
    vs.sort_by_key(|v| v.position);
    vs.into_iter()
        .map(|v| MirroredVariant {
            variant_code: variant_code(settings, v.sku.as_deref()),
            variant_id: v.id.clone(),
            inventory_item_id: Some(v.inventory_item_id.clone()),
            sku: v.sku.clone(),
            barcode: v.barcode.clone(),
            prices_hash: None,
        })
        .collect()
}

fn first_price(product: &Product) -> Option<Decimal> {
    let first = product.variants.iter().min_by_key(|v| v.position)?;
    Decimal::parse(&first.price).ok()
}

/// What to do with one product: nothing (guarded, linked, unmapped: written here), or its item
/// writes (an update or a creation, and the item variants missing in BC).
async fn consider(
    run: &mut TaskRun<'_>,
    state: &mut ProductsState,
    product: Product,
) -> Result<Vec<Effect>> {
    run.counters.add(counters::PRODUCTS_READ, 1);
    let shop = run.shop().to_string();
    let records = run.stores.records.clone();
    let linked = catalogue::item_of_product(&*records, &shop, &product.id).await?;
    let mirror = match &linked {
        Some(no) => catalogue::load(&*records, &shop, no).await?,
        None => None,
    };
    if let Some(m) = &mirror {
        if m.product
            .exported_updated_at
            .as_deref()
            .is_some_and(|e| not_newer(&product.updated_at, e))
        {
            run.counters.add(counters::PRODUCTS_OWN_EXPORT, 1);
            return Ok(Vec::new());
        }
        if m.product.imported_updated_at.as_deref() == Some(product.updated_at.as_str())
            && !is_error(&m.product)
        {
            run.counters.add(counters::PRODUCTS_ALREADY_IMPORTED, 1);
            return Ok(Vec::new());
        }
    }
    let product = if product.variants_complete {
        product
    } else {
        match run.clients.shopify.product(&product.id).await? {
            Some(p) => p,
            None => return Ok(Vec::new()),
        }
    };
    let number = linked
        .clone()
        .or_else(|| mapped_number(run.settings, &product));
    let item = match &number {
        Some(n) => run.clients.bc.item_by_number(n).await?,
        None => None,
    };
    let title = fit(&product.title, shopsync_domain::items::limits::DESCRIPTION);
    let write = |item_no: String| ItemWrite {
        product_id: product.id.clone(),
        product_updated_at: product.updated_at.clone(),
        title: product.title.clone(),
        item_no,
        item_id: None,
        etag: None,
        update: None,
        new_item: None,
        variants: mirrored_variants(run.settings, &product),
    };
    if let Some(item) = item {
        let item_no = to_code(&item.number);
        let mut effects = missing_variants(run, &write(item_no.clone()), &item.id).await?;
        if run.settings.shopify_can_update_items {
            let wanted = ItemUpdate {
                description: Some(title),
                unit_price: first_price(&product),
                ..ItemUpdate::default()
            }
            .changes_to(&item);
            if !wanted.is_empty() {
                if let Err(problems) = wanted.validate() {
                    let reason = problems
                        .iter()
                        .map(|p| format!("{}: {}", p.field, p.message))
                        .collect::<Vec<_>>()
                        .join("; ");
                    fail(run, &write(item_no), &reason).await?;
                    return Ok(Vec::new());
                }
                let w = ItemWrite {
                    item_id: Some(item.id.clone()),
                    etag: Some(item.etag.clone()),
                    update: Some(wanted),
                    ..write(item_no.clone())
                };
                let label = format!("update of item {item_no} from product {}", product.title);
                effects.push(effect(&Op::UpdateItem(w), label)?);
                return Ok(effects);
            }
        }
        link(run, &write(item_no), &item.id).await?;
        run.counters.add(counters::PRODUCTS_LINKED, 1);
        return Ok(effects);
    }
    let template = run.settings.item_template_no.clone();
    let (true, Some(template)) = (run.settings.auto_create_unknown_items, template) else {
        let reason = if run.settings.auto_create_unknown_items {
            "No BC item matches the product and item_template_no is not set."
        } else {
            "No BC item matches the product; auto_create_unknown_items must be enabled to create it."
        };
        unmapped(run, &product, reason).await?;
        return Ok(Vec::new());
    };
    let defaults = match &state.template {
        Some(d) => d.clone(),
        None => match run.clients.bc.item_template(&template).await {
            Ok(d) => {
                state.template = Some(d.clone());
                d
            }
            Err(SyncError::NotFound(_)) => {
                let reason = format!(
                    "The template item {} does not exist in BC.",
                    bounded(&template, 20)
                );
                unmapped(run, &product, &reason).await?;
                return Ok(Vec::new());
            }
            Err(e) => return Err(e),
        },
    };
    let number = match number {
        Some(n) => n,
        None => format!("P{}", catalogue::numeric_id(&product.id)?),
    };
    let mut new_item = NewItem::from_template(&defaults, &number, &product.title);
    new_item.unit_price = first_price(&product);
    if let Err(problems) = new_item.validate() {
        let reason = problems
            .iter()
            .map(|p| format!("{}: {}", p.field, p.message))
            .collect::<Vec<_>>()
            .join("; ");
        unmapped(
            run,
            &product,
            &format!("The item cannot be created: {reason}"),
        )
        .await?;
        return Ok(Vec::new());
    }
    let w = ItemWrite {
        new_item: Some(new_item.clone()),
        ..write(new_item.number.clone())
    };
    let label = format!("item {} from product {}", new_item.number, product.title);
    Ok(vec![effect(&Op::CreateItem(w), label)?])
}

/// The item variants the product's variants name (`item_no_plus_variant_code`) that item `item_id`
/// lacks in BC, one creation each (with `auto_create_unknown_items`).
async fn missing_variants(run: &TaskRun<'_>, w: &ItemWrite, item_id: &str) -> Result<Vec<Effect>> {
    let named = w.variants.iter().any(|v| v.variant_code.is_some());
    if !named || !run.settings.auto_create_unknown_items {
        return Ok(Vec::new());
    }
    let existing: Vec<String> = run
        .clients
        .bc
        .item_variants(item_id)
        .await?
        .into_iter()
        .map(|v| to_code(&v.code))
        .collect();
    variant_effects(w, item_id, &existing)
}

/// One creation per variant code of `w` not in `existing`.
fn variant_effects(w: &ItemWrite, item_id: &str, existing: &[String]) -> Result<Vec<Effect>> {
    let mut seen: Vec<&str> = Vec::new();
    let mut effects = Vec::new();
    for v in &w.variants {
        let Some(code) = v.variant_code.as_deref() else {
            continue;
        };
        if existing.iter().any(|e| e == code) || seen.contains(&code) {
            continue;
        }
        seen.push(code);
        let write = VariantWrite {
            product_id: w.product_id.clone(),
            product_updated_at: w.product_updated_at.clone(),
            title: w.title.clone(),
            item_no: w.item_no.clone(),
            variant: NewItemVariant {
                item_id: item_id.to_string(),
                item_number: w.item_no.clone(),
                code: code.to_string(),
                description: fit(
                    &w.title,
                    shopsync_domain::items::limits::VARIANT_DESCRIPTION,
                ),
            },
            variant_id: v.variant_id.clone(),
        };
        let label = format!("variant {code} of item {}", w.item_no);
        effects.push(effect(&Op::CreateVariant(write), label)?);
    }
    Ok(effects)
}

/// POST the item variant; a refusal is looked up first (an earlier POST whose answer was lost).
pub async fn send_create_variant(run: &mut TaskRun<'_>, w: &VariantWrite) -> Result<ItemOutcome> {
    match run.clients.bc.create_item_variant(&w.variant).await {
        Ok(v) => {
            run.counters.add(counters::ITEM_VARIANTS_CREATED, 1);
            Ok(ItemOutcome::Done { item_id: v.id })
        }
        Err(e @ SyncError::Rejected { .. }) => match probe_create_variant(run, w).await? {
            Some(found) => Ok(found),
            None => Ok(ItemOutcome::Refused {
                message: bounded(&e.to_string(), 300),
            }),
        },
        Err(e) => Err(e),
    }
}

/// After a lost answer: the variant exists if the item has its code.
pub async fn probe_create_variant(
    run: &mut TaskRun<'_>,
    w: &VariantWrite,
) -> Result<Option<ItemOutcome>> {
    Ok(run
        .clients
        .bc
        .item_variants(&w.variant.item_id)
        .await?
        .into_iter()
        .find(|v| to_code(&v.code) == w.variant.code)
        .map(|v| ItemOutcome::Done { item_id: v.id }))
}

/// A variant that could not be created is the product's error (retried next run).
pub async fn settle_variant(
    run: &mut TaskRun<'_>,
    w: &VariantWrite,
    outcome: &ItemOutcome,
) -> Result<()> {
    match outcome {
        ItemOutcome::Done { .. } => Ok(()),
        ItemOutcome::Conflict { message } | ItemOutcome::Refused { message } => {
            let item = ItemWrite {
                product_id: w.product_id.clone(),
                product_updated_at: w.product_updated_at.clone(),
                title: w.title.clone(),
                item_no: w.item_no.clone(),
                item_id: Some(w.variant.item_id.clone()),
                etag: None,
                update: None,
                new_item: None,
                variants: Vec::new(),
            };
            let reason = format!(
                "Item variant {} could not be created: {message}",
                w.variant.code
            );
            fail(run, &item, &reason).await
        }
    }
}

/// Records `product` as unmapped with `reason`.
async fn unmapped(run: &mut TaskRun<'_>, product: &Product, reason: &str) -> Result<()> {
    let u = UnmappedProduct {
        product_id: product.id.clone(),
        title: product.title.clone(),
        reason: bounded(reason, 300),
        job_id: run.job.job_id.clone(),
    };
    catalogue::save_unmapped(&*run.stores.records, run.shop(), &u).await?;
    run.counters.add(counters::PRODUCTS_UNMAPPED, 1);
    skip(run, &product.title, reason).await
}

/// The product linked to item `item_id` in the mirror, imported at its `updatedAt`.
async fn link(run: &mut TaskRun<'_>, w: &ItemWrite, item_id: &str) -> Result<()> {
    let shop = run.shop().to_string();
    let records = run.stores.records.clone();
    catalogue::update(&*records, &shop, &w.item_no, |m| {
        m.item_id = Some(item_id.to_string());
        m.product_id = Some(w.product_id.clone());
        m.title = w.title.clone();
        let old = std::mem::take(&mut m.variants);
        m.variants = w
            .variants
            .iter()
            .map(|v| {
                let mut v = v.clone();
                if let Some(o) = old.iter().find(|o| o.variant_id == v.variant_id) {
                    v.variant_code = o.variant_code.clone();
                    v.prices_hash = o.prices_hash.clone();
                }
                v
            })
            .collect();
        m.imported_updated_at = Some(w.product_updated_at.clone());
        m.status = None;
        m.last_error = None;
        m.last_job = None;
        true
    })
    .await?;
    catalogue::clear_unmapped(&*records, &shop, &w.product_id).await
}

/// The product's import failed: status `error` on its item's record (retried next run).
async fn fail(run: &mut TaskRun<'_>, w: &ItemWrite, reason: &str) -> Result<()> {
    let shop = run.shop().to_string();
    let records = run.stores.records.clone();
    let job = run.job.job_id.clone();
    catalogue::update(&*records, &shop, &w.item_no, |m| {
        if let Some(id) = &w.item_id {
            m.item_id = Some(id.clone());
        }
        m.product_id = Some(w.product_id.clone());
        if m.title.is_empty() {
            m.title = w.title.clone();
        }
        m.status = Some(status::ERROR.into());
        m.last_error = Some(bounded(reason, 300));
        m.last_job = Some(job.clone());
        true
    })
    .await?;
    skip(run, &w.item_no, reason).await
}

/// PATCH the item with the ETag read.
pub async fn send_update(run: &mut TaskRun<'_>, w: &ItemWrite) -> Result<ItemOutcome> {
    let (Some(id), Some(etag), Some(update)) = (&w.item_id, &w.etag, &w.update) else {
        return Err(SyncError::Internal(
            "an item update without its item".into(),
        ));
    };
    match run.clients.bc.update_item(id, etag, update).await {
        Ok(_) => {
            run.counters.add(counters::ITEMS_UPDATED, 1);
            Ok(ItemOutcome::Done {
                item_id: id.clone(),
            })
        }
        Err(SyncError::Conflict(_)) => Ok(ItemOutcome::Conflict {
            message: CONFLICT.into(),
        }),
        Err(e @ SyncError::Rejected { .. }) => Ok(ItemOutcome::Refused {
            message: bounded(&e.to_string(), 300),
        }),
        Err(e) => Err(e),
    }
}

/// After a lost answer: the PATCH happened if the item has the values now.
pub async fn probe_update(run: &mut TaskRun<'_>, w: &ItemWrite) -> Result<Option<ItemOutcome>> {
    let Some(update) = &w.update else {
        return Ok(None);
    };
    Ok(run
        .clients
        .bc
        .item_by_number(&w.item_no)
        .await?
        .filter(|item| update.changes_to(item).is_empty())
        .map(|item| ItemOutcome::Done { item_id: item.id }))
}

/// POST the item; a refusal is looked up by number first (an earlier POST whose answer was lost).
pub async fn send_create(run: &mut TaskRun<'_>, w: &ItemWrite) -> Result<ItemOutcome> {
    let Some(new_item) = &w.new_item else {
        return Err(SyncError::Internal(
            "an item creation without its item".into(),
        ));
    };
    match run.clients.bc.create_item(new_item).await {
        Ok(item) => {
            run.counters.add(counters::ITEMS_CREATED, 1);
            Ok(ItemOutcome::Done { item_id: item.id })
        }
        Err(e @ SyncError::Rejected { .. }) => match probe_create(run, w).await? {
            Some(found) => Ok(found),
            None => Ok(ItemOutcome::Refused {
                message: bounded(&e.to_string(), 300),
            }),
        },
        Err(e) => Err(e),
    }
}

/// After a lost answer: the item exists if BC has its number.
pub async fn probe_create(run: &mut TaskRun<'_>, w: &ItemWrite) -> Result<Option<ItemOutcome>> {
    Ok(run
        .clients
        .bc
        .item_by_number(&w.item_no)
        .await?
        .map(|item: BcCatalogItem| ItemOutcome::Done { item_id: item.id }))
}

/// What an item write came to, into the mirror.
pub async fn settle_item(
    run: &mut TaskRun<'_>,
    w: &ItemWrite,
    outcome: &ItemOutcome,
) -> Result<Vec<Effect>> {
    if let (ItemOutcome::Done { item_id }, Some(_)) = (outcome, &w.new_item) {
        // A new item has no variants yet: each variant code the product names is created.
        link(run, w, item_id).await?;
        return variant_effects(w, item_id, &[]);
    }
    settle_existing(run, w, outcome).await.map(|()| Vec::new())
}

async fn settle_existing(
    run: &mut TaskRun<'_>,
    w: &ItemWrite,
    outcome: &ItemOutcome,
) -> Result<()> {
    match outcome {
        ItemOutcome::Done { item_id } => link(run, w, item_id).await,
        ItemOutcome::Conflict { message } => {
            run.counters.add(counters::ITEM_CONFLICTS, 1);
            let shop = run.shop().to_string();
            let records = run.stores.records.clone();
            catalogue::update(&*records, &shop, &w.item_no, |m| {
                if let Some(id) = &w.item_id {
                    m.item_id = Some(id.clone());
                }
                m.product_id = Some(w.product_id.clone());
                if m.title.is_empty() {
                    m.title = w.title.clone();
                }
                m.imported_updated_at = Some(w.product_updated_at.clone());
                m.status = None;
                m.last_error = Some(message.clone());
                true
            })
            .await?;
            skip(run, &w.item_no, message).await
        }
        ItemOutcome::Refused { message } if w.new_item.is_some() => {
            let u = UnmappedProduct {
                product_id: w.product_id.clone(),
                title: w.title.clone(),
                reason: bounded(&format!("The item could not be created: {message}"), 300),
                job_id: run.job.job_id.clone(),
            };
            catalogue::save_unmapped(&*run.stores.records, run.shop(), &u).await?;
            run.counters.add(counters::PRODUCTS_UNMAPPED, 1);
            skip(run, &w.item_no, &u.reason).await
        }
        ItemOutcome::Refused { message } => fail(run, w, message).await,
    }
}
