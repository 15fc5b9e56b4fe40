//! The export: BC items → `productSet` inputs, hashed, queued, and sent one by one or as one bulk
//! operation (see the module documentation of [`super`]). The queue, its dispatch and the bulk
//! operation's polling and settling serve the price pass's queue the same way ([`Batch`]).

use super::prices::{PriceLine, settle_prices};
use super::{
    BULK_SETTLE_STEP, Batch, EXPORT_CURSOR, EXPORT_QUEUE, METAFIELD_KEY, METAFIELD_NAMESPACE, Op,
    PRICE_QUEUE, Phase, ProductsState, REWIND_MS, STEP, counters, effect, is_error, read_cursor,
    skip, write_cursor,
};
use crate::catalogue::{self, Mirrored, MirroredVariant, PRODUCTS, status};
use crate::engine::{Effect, TaskRun};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use shopsync_domain::SyncError;
use shopsync_domain::catalog::{
    BulkLineResult, BulkMutation, BulkMutationStart, MetafieldSet, ProductIdentifier,
    ProductOption, ProductSetOutcome, ProductSetRequest, ProductStatus, SelectedOption,
    VariantPricesOutcome, VariantSet,
};
use shopsync_domain::inventory::UserError;
use shopsync_domain::items::{BcCatalogItem, BcItemVariant, ItemCursor, PriceTarget, SalesPrice};
use shopsync_domain::ports::{LedgerEntry, Record, Result};
use shopsync_domain::sales::to_code;
use shopsync_domain::settings::{RemovedProductAction, SkuMapping};
use shopsync_domain::text::{bounded, preview};
use std::collections::HashMap;
use std::time::Duration;

/// A rebuilt `productSet` input of one item: a queue record's body and a per-record effect's
/// payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportLine {
    /// The item number as BC stores it (the mirror record's id).
    pub item_no: String,
    pub item_id: String,
    pub title: String,
    /// Hash of `request` without its prices ([`content_hash`]): stored as the mirror's
    /// `export_hash` once Shopify has it.
    pub hash: String,
    pub request: ProductSetRequest,
    /// One per `request.variants`, in order.
    pub variants: Vec<LineVariant>,
    /// The input only applies `action_for_removed_products` to a blocked item's product.
    #[serde(default)]
    pub blocked: bool,
}

/// What the mirror keeps of one variant of an input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineVariant {
    pub variant_code: Option<String>,
    pub sku: Option<String>,
    pub barcode: Option<String>,
    pub prices_hash: Option<String>,
}

/// The identifier that keys the product of item `item_no`.
pub fn identifier(item_no: &str) -> ProductIdentifier {
    ProductIdentifier::CustomId {
        namespace: METAFIELD_NAMESPACE.into(),
        key: METAFIELD_KEY.into(),
        value: item_no.into(),
    }
}

/// SHA-256 of a value's JSON.
pub fn hash_of<T: Serialize>(value: &T) -> Result<String> {
    let json = serde_json::to_string(value)
        .map_err(|e| SyncError::Internal(format!("serialising: {e}")))?;
    Ok(LedgerEntry::sha256_hex(&json))
}

/// The hash of a variant's price, compare-at price and unit cost.
pub fn prices_hash(
    price: &str,
    compare_at: Option<&str>,
    unit_cost: Option<&str>,
) -> Result<String> {
    hash_of(&(price, compare_at, unit_cost))
}

/// The SKU an exported variant gets per `sku_mapping`.
pub fn export_sku(
    mapping: SkuMapping,
    separator: &str,
    item_no: &str,
    code: Option<&str>,
) -> Option<String> {
    match (mapping, code) {
        (SkuMapping::ItemNo, _) => Some(item_no.to_string()),
        (SkuMapping::VariantCode, Some(c)) => Some(c.to_string()),
        (SkuMapping::VariantCode, None) => Some(item_no.to_string()),
        (SkuMapping::ItemNoPlusVariantCode, Some(c)) => Some(format!("{item_no}{separator}{c}")),
        (SkuMapping::ItemNoPlusVariantCode, None) => Some(item_no.to_string()),
        (SkuMapping::BarCode | SkuMapping::None | SkuMapping::VendorItemNo, _) => None,
    }
}

/// The `productSet` input of an item with `variants` (none: the item is the product's one
/// variant), with `prices` by variant code when prices are exported.
pub fn build_line(
    settings: &shopsync_domain::settings::ShopSettings,
    item: &BcCatalogItem,
    variants: &[BcItemVariant],
    prices: &HashMap<Option<String>, SalesPrice>,
    reactivate: bool,
) -> Result<ExportLine> {
    let item_no = to_code(&item.number);
    let codes: Vec<Option<String>> = if variants.is_empty() {
        vec![None]
    } else {
        let mut codes: Vec<String> = variants.iter().map(|v| to_code(&v.code)).collect();
        codes.sort();
        codes.dedup();
        codes.into_iter().map(Some).collect()
    };
    let option_name = if variants.is_empty() {
        "Title"
    } else {
        "Variant"
    };
    let value_of = |c: &Option<String>| c.clone().unwrap_or_else(|| "Default Title".to_string());
    let mut line_variants = Vec::with_capacity(codes.len());
    let mut sets = Vec::with_capacity(codes.len());
    for code in &codes {
        let sku = export_sku(
            settings.sku_mapping,
            &settings.sku_field_separator,
            &item_no,
            code.as_deref(),
        );
        let barcode = if code.is_none() {
            item.gtin.clone()
        } else {
            None
        };
        let price = prices.get(code);
        let (p, c, u) = match price {
            Some(p) => (
                Some(p.price.as_str().to_string()),
                p.compare_at.as_ref().map(|c| c.as_str().to_string()),
                Some(item.unit_cost.as_str().to_string()),
            ),
            None => (None, None, None),
        };
        let prices_hash = match &p {
            Some(p) => Some(prices_hash(p, c.as_deref(), u.as_deref())?),
            None => None,
        };
        sets.push(VariantSet {
            id: None,
            options: vec![SelectedOption {
                name: option_name.into(),
                value: value_of(code),
            }],
            sku: sku.clone(),
            barcode: barcode.clone(),
            price: p,
            compare_at_price: c,
            unit_cost: u,
        });
        line_variants.push(LineVariant {
            variant_code: code.clone(),
            sku,
            barcode,
            prices_hash,
        });
    }
    let category = item.item_category_code.trim();
    let request = ProductSetRequest {
        identifier: Some(identifier(&item_no)),
        title: Some(item.description.clone()),
        handle: None,
        vendor: None,
        product_type: (!category.is_empty()).then(|| category.to_string()),
        description_html: None,
        status: reactivate.then_some(ProductStatus::Active),
        tags: None,
        metafields: vec![MetafieldSet {
            namespace: METAFIELD_NAMESPACE.into(),
            key: METAFIELD_KEY.into(),
            value: item_no.clone(),
            r#type: "single_line_text_field".into(),
        }],
        options: vec![ProductOption {
            name: option_name.into(),
            values: codes.iter().map(value_of).collect(),
        }],
        variants: sets,
        files: None,
    };
    Ok(ExportLine {
        hash: content_hash(&request)?,
        item_no,
        item_id: item.id.clone(),
        title: item.description.clone(),
        request,
        variants: line_variants,
        blocked: false,
    })
}

/// The hash of `request` without its prices: whether the product itself changed. Prices are
/// compared per variant with the `prices_hash` the mirror keeps of what Shopify last got
/// ([`prices_as_sent`]), whichever run sent them, so a price a `prices_only` run already sent does
/// not make the export send the product again.
fn content_hash(request: &ProductSetRequest) -> Result<String> {
    let mut content = request.clone();
    for v in &mut content.variants {
        v.price = None;
        v.compare_at_price = None;
        v.unit_cost = None;
    }
    hash_of(&content)
}

/// The input that applies `action` to the product of blocked item `item`.
pub fn blocked_line(item: &BcCatalogItem, status: ProductStatus) -> Result<ExportLine> {
    let item_no = to_code(&item.number);
    let request = ProductSetRequest {
        identifier: Some(identifier(&item_no)),
        title: None,
        handle: None,
        vendor: None,
        product_type: None,
        description_html: None,
        status: Some(status),
        tags: None,
        metafields: Vec::new(),
        options: Vec::new(),
        variants: Vec::new(),
        files: None,
    };
    Ok(ExportLine {
        hash: hash_of(&request)?,
        item_no,
        item_id: item.id.clone(),
        title: item.description.clone(),
        request,
        variants: Vec::new(),
        blocked: true,
    })
}

fn unreadable(what: &str, id: &str, e: serde_json::Error) -> SyncError {
    SyncError::Internal(format!("{what} {} is unreadable: {e}", preview(id)))
}

/// Start an export: the position the stored cursor (moved back) gives.
pub async fn open(run: &TaskRun<'_>, state: &mut ProductsState) -> Result<()> {
    let stored = read_cursor(run, EXPORT_CURSOR).await?;
    let (cursor, version) = match stored {
        Some((body, version)) => {
            let c: ItemCursor = serde_json::from_str(&body)
                .map_err(|e| unreadable("the cursor", EXPORT_CURSOR, e))?;
            (Some(c.rewound(REWIND_MS)), version)
        }
        None => (None, 0),
    };
    state.variants_since = cursor.as_ref().map(|c| c.modified_ms);
    state.position = cursor;
    state.cursor_version = version;
    state.phase = Phase::Scan;
    Ok(())
}

/// Move the export cursor to the run's start.
pub async fn advance_cursor(run: &TaskRun<'_>, state: &ProductsState) -> Result<()> {
    let ours = ItemCursor {
        modified_ms: state.started_ms,
        number: String::new(),
    };
    let body = serde_json::to_string(&ours)
        .map_err(|e| SyncError::Internal(format!("serialising: {e}")))?;
    write_cursor(run, EXPORT_CURSOR, &body, state.cursor_version, |theirs| {
        serde_json::from_str::<ItemCursor>(theirs).is_ok_and(|t| t >= ours)
    })
    .await
}

/// One step of the items modified since the position.
pub async fn scan_step(run: &mut TaskRun<'_>, state: &mut ProductsState) -> Result<Vec<Effect>> {
    let batch = run
        .clients
        .bc
        .items_modified_since(state.position.as_ref())
        .await?;
    let items: Vec<BcCatalogItem> = batch.items.into_iter().take(STEP).collect();
    if items.len() < STEP {
        state.phase = Phase::VariantScan;
        state.after = None;
    }
    if let Some(last) = items.last() {
        state.position = Some(last.cursor());
    }
    run.counters.add(counters::ITEMS_READ, items.len() as u64);
    consider(run, &items).await?;
    Ok(Vec::new())
}

/// One step of the items whose variants were modified since the rewound cursor: a variant added in
/// BC leaves its item's `lastModifiedDateTime` alone, so the item scan alone would never export it.
/// Items the item scan read already (modified since the same instant) are not considered twice.
pub async fn variant_scan_step(
    run: &mut TaskRun<'_>,
    state: &mut ProductsState,
) -> Result<Vec<Effect>> {
    let Some(since) = state.variants_since else {
        state.phase = Phase::Errors;
        return Ok(Vec::new());
    };
    let variants = run.clients.bc.item_variants_modified_since(since).await?;
    let mut keys: Vec<ItemCursor> = variants
        .iter()
        .map(|v| ItemCursor {
            modified_ms: v.modified_ms,
            number: to_code(&v.item_number),
        })
        .filter(|k| {
            state
                .variant_position
                .as_ref()
                .is_none_or(|p| p.is_before(k.modified_ms, &k.number))
        })
        .collect();
    keys.sort();
    keys.dedup();
    let step: Vec<ItemCursor> = keys.into_iter().take(STEP).collect();
    if step.len() < STEP {
        state.phase = Phase::Errors;
        state.after = None;
    }
    if let Some(last) = step.last() {
        state.variant_position = Some(last.clone());
    }
    let mut numbers: Vec<&str> = step.iter().map(|k| k.number.as_str()).collect();
    numbers.sort_unstable();
    numbers.dedup();
    let mut items = Vec::new();
    for number in numbers {
        match run.clients.bc.item_by_number(number).await? {
            Some(item) if item.modified_ms < since => items.push(item),
            // Read by the item scan already, or gone (its variants go with it).
            _ => {}
        }
    }
    run.counters
        .add(counters::ITEMS_WITH_CHANGED_VARIANTS, items.len() as u64);
    consider(run, &items).await?;
    Ok(Vec::new())
}

/// One step of the items whose last export failed.
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
        state.phase = Phase::Dispatch;
    }
    let mut items = Vec::new();
    for r in &page.records {
        match run.clients.bc.item_by_number(&r.id).await? {
            Some(item) => items.push(item),
            None => {
                catalogue::update(&*run.stores.records, run.shop(), &r.id, |m| {
                    m.last_error = Some("The item no longer exists in BC.".into());
                    m.status = None;
                    true
                })
                .await?;
                skip(run, &r.id, "The item no longer exists in BC.").await?;
            }
        }
    }
    consider(run, &items).await?;
    Ok(Vec::new())
}

/// The inputs of `items` that differ from what Shopify last got, queued.
async fn consider(run: &mut TaskRun<'_>, items: &[BcCatalogItem]) -> Result<()> {
    if items.is_empty() {
        return Ok(());
    }
    let shop = run.shop().to_string();
    let nos: Vec<String> = items.iter().map(|i| to_code(&i.number)).collect();
    let mirrors = catalogue::load_many(&*run.stores.records, &shop, &nos).await?;
    let mut variants: HashMap<String, Vec<BcItemVariant>> = HashMap::new();
    let mut targets = Vec::new();
    for item in items.iter().filter(|i| !i.blocked) {
        let vs = run.clients.bc.item_variants(&item.id).await?;
        if run.settings.sync_prices && !item.is_blocked_for_sales() {
            if vs.is_empty() {
                targets.push(target(item, None));
            }
            for v in &vs {
                targets.push(target(item, Some(to_code(&v.code))));
            }
        }
        variants.insert(item.id.clone(), vs);
    }
    let prices = sales_prices(run, &targets).await?;
    let mut queue = Vec::new();
    for item in items {
        let no = to_code(&item.number);
        let mirror = mirrors.get(&no);
        let line = if item.blocked {
            match blocked_action(run, item, mirror).await? {
                Some(line) => line,
                None => continue,
            }
        } else {
            if run.settings.sync_prices && item.is_blocked_for_sales() {
                skip(
                    run,
                    &no,
                    "Item is sales blocked: its prices are not exported.",
                )
                .await?;
            }
            let reactivate =
                mirror.is_some_and(|m| m.product.status.as_deref() == Some(status::BLOCKED));
            let item_prices: HashMap<Option<String>, SalesPrice> = prices
                .iter()
                .filter(|p| to_code(&p.item_number) == no)
                .map(|p| (p.variant_code.as_deref().map(to_code), p.clone()))
                .collect();
            let vs = variants.get(&item.id).map(Vec::as_slice).unwrap_or(&[]);
            build_line(run.settings, item, vs, &item_prices, reactivate)?
        };
        let unchanged = mirror.is_some_and(|m| {
            m.product.export_hash.as_deref() == Some(line.hash.as_str())
                && !is_error(&m.product)
                && prices_as_sent(&m.product, &line)
        });
        if unchanged {
            run.counters.add(counters::PRODUCTS_UNCHANGED, 1);
            continue;
        }
        let body = serde_json::to_string(&line)
            .map_err(|e| SyncError::Internal(format!("serialising: {e}")))?;
        queue.push(Record::new(line.item_no.clone(), None, body));
    }
    if !queue.is_empty() {
        run.counters
            .add(counters::PRODUCTS_QUEUED, queue.len() as u64);
        run.stores
            .records
            .put_records(&shop, EXPORT_QUEUE, &queue)
            .await?;
    }
    Ok(())
}

/// Whether every price `line` carries is the one Shopify last got for its variant (whichever run
/// sent it: an export, its price pass, or a `prices_only` run).
fn prices_as_sent(mirror: &catalogue::MirroredProduct, line: &ExportLine) -> bool {
    line.variants.iter().all(|v| {
        v.prices_hash.is_none()
            || mirror
                .variants
                .iter()
                .any(|m| m.variant_code == v.variant_code && m.prices_hash == v.prices_hash)
    })
}

fn target(item: &BcCatalogItem, code: Option<String>) -> PriceTarget {
    PriceTarget {
        item_number: to_code(&item.number),
        variant_code: code,
        unit_price: item.unit_price.clone(),
    }
}

/// BC's sales prices of `targets` for the shop's scope today.
pub(crate) async fn sales_prices(
    run: &TaskRun<'_>,
    targets: &[PriceTarget],
) -> Result<Vec<SalesPrice>> {
    if targets.is_empty() {
        return Ok(Vec::new());
    }
    let scope = shopsync_domain::items::PriceScope {
        price_group: run.settings.customer_price_group.clone(),
        currency_code: run.settings.currency_code.clone(),
        date: today()?,
    };
    let company = run.settings.bc.company_name.clone().unwrap_or_default();
    run.clients
        .bc
        .sales_prices(
            run.settings.sales_prices_page.as_deref(),
            &company,
            &scope,
            targets,
        )
        .await
}

/// Today (UTC), `YYYY-MM-DD`.
fn today() -> Result<String> {
    let now = crate::orders::sync::format_time(time::OffsetDateTime::now_utc())?;
    Ok(now[..10].to_string())
}

/// What to do with blocked item `item`: the input that applies the action once, or nothing (with a
/// skipped record) when it was applied already, is nothing, or there is no product.
async fn blocked_action(
    run: &mut TaskRun<'_>,
    item: &BcCatalogItem,
    mirror: Option<&Mirrored>,
) -> Result<Option<ExportLine>> {
    let no = to_code(&item.number);
    run.counters.add(counters::PRODUCTS_BLOCKED, 1);
    let applied = mirror.is_some_and(|m| m.product.status.as_deref() == Some(status::BLOCKED));
    let has_product = mirror.is_some_and(|m| m.product.product_id.is_some());
    let status = match run.settings.action_for_removed_products {
        RemovedProductAction::StatusToArchived => ProductStatus::Archived,
        RemovedProductAction::StatusToDraft => ProductStatus::Draft,
        RemovedProductAction::DoNothing => {
            skip(run, &no, "Item is blocked.").await?;
            return Ok(None);
        }
    };
    if applied {
        let what = match status {
            ProductStatus::Draft => "draft",
            _ => "archived",
        };
        skip(
            run,
            &no,
            &format!("Item is blocked; its product is {what}."),
        )
        .await?;
        return Ok(None);
    }
    if !has_product {
        skip(run, &no, "Item is blocked and has no Shopify product.").await?;
        return Ok(None);
    }
    Ok(Some(blocked_line(item, status)?))
}

/// Every line of queue `kind`, in id order (the order of a bulk operation's lines).
pub(crate) async fn queued<T: DeserializeOwned>(run: &TaskRun<'_>, kind: &str) -> Result<Vec<T>> {
    let mut lines = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = run
            .stores
            .records
            .list_records(run.shop(), kind, after.as_deref(), 1000)
            .await?;
        for r in &page.records {
            lines.push(
                serde_json::from_str(&r.body).map_err(|e| unreadable("queued line", &r.id, e))?,
            );
        }
        match page.next_after {
            Some(a) => after = Some(a),
            None => return Ok(lines),
        }
    }
}

/// The lines of the export queue.
async fn queued_lines(run: &TaskRun<'_>) -> Result<Vec<ExportLine>> {
    queued(run, EXPORT_QUEUE).await
}

/// The queue of `state.batch` is complete: one bulk operation above the threshold, else one effect
/// each.
pub async fn dispatch(run: &mut TaskRun<'_>, state: &mut ProductsState) -> Result<Vec<Effect>> {
    let count = queued::<serde_json::Value>(run, state.batch.queue())
        .await?
        .len();
    state.after = None;
    if count > run.settings.product_bulk_threshold as usize {
        state.phase = Phase::BulkWait;
        state.bulk_lines = count;
        let (op, label) = match state.batch {
            Batch::Export => (
                Op::BulkProductSet { lines: count },
                format!("bulk productSet of {count} products"),
            ),
            Batch::Prices => (
                Op::BulkPrices { lines: count },
                format!("bulk price update of {count} products"),
            ),
        };
        return Ok(vec![effect(&op, label)?]);
    }
    state.phase = Phase::Queue;
    Ok(Vec::new())
}

/// One page of the queue of `state.batch`, one effect (`productSet`, or one product's price
/// update) each.
pub async fn queue_step(run: &mut TaskRun<'_>, state: &mut ProductsState) -> Result<Vec<Effect>> {
    let page = run
        .stores
        .records
        .list_records(
            run.shop(),
            state.batch.queue(),
            state.after.as_deref(),
            STEP,
        )
        .await?;
    state.after = page.next_after.clone();
    if page.next_after.is_none() {
        // With `sync_prices`, every mirrored variant's price is compared after the export (a price
        // list change touches no item); the pass sends only the prices that changed.
        state.phase = if state.batch == Batch::Export && run.settings.sync_prices {
            Phase::Prices
        } else {
            Phase::Finish
        };
    }
    let mut effects = Vec::with_capacity(page.records.len());
    for r in &page.records {
        let (op, label) = match state.batch {
            Batch::Export => {
                let line: ExportLine = serde_json::from_str(&r.body)
                    .map_err(|e| unreadable("queued input", &r.id, e))?;
                let label = format!("productSet of item {}", line.item_no);
                (Op::ProductSet(line), label)
            }
            Batch::Prices => {
                let line: PriceLine = serde_json::from_str(&r.body)
                    .map_err(|e| unreadable("queued prices", &r.id, e))?;
                let label = format!(
                    "prices of item {} ({} variants)",
                    line.item_no,
                    line.update.variants.len()
                );
                (Op::Prices(line), label)
            }
        };
        effects.push(effect(&op, label)?);
    }
    Ok(effects)
}

/// Send one `productSet`; a request Shopify refuses outright is the line's error.
pub async fn send_product_set(run: &TaskRun<'_>, line: &ExportLine) -> Result<ProductSetOutcome> {
    match run.clients.shopify.product_set(&line.request).await {
        Ok(o) => Ok(o),
        Err(e @ SyncError::Rejected { .. }) => Ok(ProductSetOutcome {
            product: None,
            user_errors: vec![UserError {
                code: None,
                field: Vec::new(),
                message: e.to_string(),
            }],
        }),
        Err(e) => Err(e),
    }
}

/// Start the bulk operation over the queue of `batch` as it stands (the same lines on a replay:
/// nothing changes the queue between the dispatch and the results).
pub async fn send_bulk(
    run: &mut TaskRun<'_>,
    batch: Batch,
    lines: usize,
    key: &str,
) -> Result<BulkMutationStart> {
    let mutation = match batch {
        Batch::Export => BulkMutation::ProductSet(
            queued_lines(run)
                .await?
                .into_iter()
                .map(|l| l.request)
                .collect(),
        ),
        Batch::Prices => BulkMutation::VariantPrices(
            queued::<PriceLine>(run, PRICE_QUEUE)
                .await?
                .into_iter()
                .map(|l| l.update)
                .collect(),
        ),
    };
    if mutation.len() != lines {
        return Err(SyncError::Internal(format!(
            "the {} holds {} lines, the bulk operation was planned with {lines}",
            batch.queue(),
            mutation.len()
        )));
    }
    let started = run
        .clients
        .shopify
        .bulk_mutation_run(&mutation, Some(&bounded(key, 255)))
        .await?;
    if matches!(started, BulkMutationStart::Started { .. }) {
        run.counters.add(counters::BULK_OPERATIONS, 1);
    }
    Ok(started)
}

/// The bulk operation started, or could not: then the queue goes one by one.
pub fn settle_bulk_start(
    run: &mut TaskRun<'_>,
    state: &mut ProductsState,
    lines: usize,
    outcome: BulkMutationStart,
) {
    state.bulk_lines = lines;
    state.bulk_next = 0;
    match outcome {
        BulkMutationStart::Started { id } => {
            state.bulk_id = Some(id);
            state.bulk_fallback = false;
        }
        BulkMutationStart::Busy(message) | BulkMutationStart::Rejected { message, .. } => {
            tracing::info!(shop = run.shop(), %message, "bulk mutation not started; sending one by one");
            state.bulk_id = None;
            state.bulk_fallback = true;
        }
    }
}

/// One poll of the bulk operation, or one step of settling its result lines.
pub async fn bulk_step(
    run: &mut TaskRun<'_>,
    state: &mut ProductsState,
    pause: Duration,
) -> Result<Vec<Effect>> {
    let Some(id) = state.bulk_id.clone().filter(|_| !state.bulk_fallback) else {
        state.phase = Phase::Queue;
        state.after = None;
        return Ok(Vec::new());
    };
    let status = run.clients.shopify.bulk_mutation_status(&id).await?;
    if !status.is_terminal() {
        if !pause.is_zero() {
            tokio::time::sleep(pause).await;
        }
        return Ok(Vec::new());
    }
    let results = run.clients.shopify.bulk_mutation_results(&status).await?;
    let by_line: HashMap<u64, &BulkLineResult> = results.iter().map(|r| (r.line, r)).collect();
    let items = settle_bulk_lines(run, state, &by_line).await?;
    if state.bulk_next < items.len() {
        return Ok(Vec::new());
    }
    // Every line is settled: drop those that ran from the queue; the rest go one by one.
    let ran: Vec<String> = items
        .into_iter()
        .enumerate()
        .filter(|(i, _)| by_line.contains_key(&(*i as u64)))
        .map(|(_, item)| item)
        .collect();
    for chunk in ran.chunks(25) {
        run.stores
            .records
            .delete_records(run.shop(), state.batch.queue(), chunk)
            .await?;
    }
    state.bulk_id = None;
    state.phase = Phase::Queue;
    state.after = None;
    Ok(Vec::new())
}

/// A bulk result line's user errors and top-level errors together.
fn line_errors(r: &BulkLineResult) -> Vec<UserError> {
    let mut user_errors = r.user_errors.clone();
    user_errors.extend(r.errors.iter().map(|m| UserError {
        code: None,
        field: Vec::new(),
        message: m.clone(),
    }));
    user_errors
}

/// A queued line of either batch.
enum QueuedLine {
    Export(ExportLine),
    Prices(PriceLine),
}

impl QueuedLine {
    /// The line's record id in its queue.
    fn queue_id(&self) -> String {
        match self {
            QueuedLine::Export(l) => l.item_no.clone(),
            QueuedLine::Prices(l) => l.queue_id(),
        }
    }
}

/// Settles the next [`BULK_SETTLE_STEP`] lines of `state.batch` from the bulk results, as the
/// per-record path settles them; answers every queued line's record id, in line order.
async fn settle_bulk_lines(
    run: &mut TaskRun<'_>,
    state: &mut ProductsState,
    by_line: &HashMap<u64, &BulkLineResult>,
) -> Result<Vec<String>> {
    let lines: Vec<QueuedLine> = match state.batch {
        Batch::Export => queued_lines(run)
            .await?
            .into_iter()
            .map(QueuedLine::Export)
            .collect(),
        Batch::Prices => queued::<PriceLine>(run, PRICE_QUEUE)
            .await?
            .into_iter()
            .map(QueuedLine::Prices)
            .collect(),
    };
    let end = (state.bulk_next + BULK_SETTLE_STEP).min(lines.len());
    for (i, line) in lines.iter().enumerate().take(end).skip(state.bulk_next) {
        let Some(r) = by_line.get(&(i as u64)) else {
            run.counters.add(counters::BULK_LINES_NOT_RUN, 1);
            continue;
        };
        if !r.succeeded() {
            run.counters.add(counters::BULK_LINES_FAILED, 1);
        }
        match line {
            QueuedLine::Export(line) => {
                let outcome = ProductSetOutcome {
                    product: r.product.clone().filter(|_| r.succeeded()),
                    user_errors: line_errors(r),
                };
                settle_line(run, line, &outcome).await?;
            }
            QueuedLine::Prices(line) => {
                let outcome = VariantPricesOutcome {
                    variants: r.prices.clone(),
                    user_errors: line_errors(r),
                };
                settle_prices(run, line, &outcome).await?;
            }
        }
    }
    state.bulk_next = end;
    Ok(lines.iter().map(QueuedLine::queue_id).collect())
}

/// What Shopify made of `line` into the mirror: the product and variant ids, the hash sent and the
/// product's `updatedAt` (the import's guard), or the error (status `error`: retried next run, with
/// a skipped record). Idempotent: settling the same outcome again writes the same record.
pub async fn settle_line(
    run: &mut TaskRun<'_>,
    line: &ExportLine,
    outcome: &ProductSetOutcome,
) -> Result<()> {
    let shop = run.shop().to_string();
    let records = run.stores.records.clone();
    match outcome
        .product
        .as_ref()
        .filter(|_| outcome.user_errors.is_empty())
    {
        Some(product) => {
            catalogue::update(&*records, &shop, &line.item_no, |m| {
                m.item_id = Some(line.item_id.clone());
                m.product_id = Some(product.id.clone());
                m.title = line.title.clone();
                if line.blocked {
                    m.status = Some(status::BLOCKED.into());
                } else {
                    let old = std::mem::take(&mut m.variants);
                    m.variants = line
                        .variants
                        .iter()
                        .enumerate()
                        .filter_map(|(i, v)| {
                            let written = product
                                .variants
                                .iter()
                                .find(|r| r.position as usize == i + 1)?;
                            let kept = old
                                .iter()
                                .find(|o| o.variant_id == written.id)
                                .and_then(|o| o.inventory_item_id.clone());
                            Some(MirroredVariant {
                                variant_code: v.variant_code.clone(),
                                variant_id: written.id.clone(),
                                inventory_item_id: kept,
                                sku: v.sku.clone(),
                                barcode: v.barcode.clone(),
                                prices_hash: v.prices_hash.clone(),
                            })
                        })
                        .collect();
                    m.status = None;
                }
                m.export_hash = Some(line.hash.clone());
                m.exported_updated_at = Some(product.updated_at.clone());
                m.last_error = None;
                m.last_job = None;
                true
            })
            .await?;
            run.counters.add(counters::PRODUCTS_EXPORTED, 1);
        }
        None => {
            let messages: Vec<&str> = outcome
                .user_errors
                .iter()
                .map(|e| e.message.as_str())
                .collect();
            let message = if messages.is_empty() {
                "productSet returned no product.".to_string()
            } else {
                bounded(&messages.join("; "), 300)
            };
            catalogue::update(&*records, &shop, &line.item_no, |m| {
                m.item_id = Some(line.item_id.clone());
                if m.title.is_empty() {
                    m.title = line.title.clone();
                }
                m.status = Some(status::ERROR.into());
                m.last_error = Some(message.clone());
                true
            })
            .await?;
            run.counters.add(counters::PRODUCTS_FAILED, 1);
            skip(run, &line.item_no, &message).await?;
        }
    }
    Ok(())
}
