//! `sync-products` on the engine against in-memory doubles: a Shopify double that upserts products
//! by the `shopsync.bc_item` identifier as `productSet` does, runs bulk mutations line by line (and
//! can fail one half-way), and a BC double with items, variants, a template item, ETags and price
//! lines; the record store of `shopsync-test-support`.
//!
//! What is proven here: an export creates each product once and an unchanged catalogue costs no
//! mutation; only changed items are sent; lost answers and failures (20 %) create nothing twice; the
//! bulk path and the per-record path end in the same Shopify state; a bulk operation that fails
//! half-way leaves skipped records for its refused lines and sends the lines that did not run one by
//! one; a blocked item's product is archived once; a price-only run sends only changed prices and
//! skips blocked items; an import updates, creates (once, probed after a lost answer), records
//! unmapped products, does not import BC's own export back, and never overwrites an item changed in
//! BC meanwhile.

use super::prices::PriceLine;
use super::*;
use crate::RunOutcome;
use crate::catalogue::{MirroredProduct, PRODUCTS, UNMAPPED_PRODUCTS, status};
use crate::engine::ShopClients;
use crate::test_run::{TaskHarness, deref_to_harness};
use shopsync_domain::catalog::{
    BulkLineResult, BulkMutation, BulkMutationStart, BulkMutationStatus, MediaAttach, MediaOutcome,
    MediaReplace, Product, ProductIdentifier, ProductOption, ProductPriceUpdate, ProductRef,
    ProductSetOutcome, ProductSetRequest, ProductStatus, ProductVariant, SelectedOption,
    StagedTarget, StagedUploadRequest, StagedUploadsOutcome, VariantPrice, VariantPriceUpdate,
    VariantPricesOutcome, VariantRef,
};
use shopsync_domain::inventory::{BcItemType, UserError};
use shopsync_domain::items::{
    BcCatalogItem, BcItemVariant, ItemBatch, ItemCursor, ItemDefaults, ItemUpdate, NewItem,
    NewItemVariant, PictureState, PriceListLine, PriceScope, PriceTarget, SalesPrice,
    resolve_prices,
};
use shopsync_domain::job::JobCounters;
use shopsync_domain::orders::Page;
use shopsync_domain::ports::{RecordStore, Result as PortResult};
use shopsync_domain::sales::Decimal;
use shopsync_domain::settings::ShopSettings;
use shopsync_test_support::{Faults, MemoryStore};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

const SHOP: &str = "PR";

fn settings() -> ShopSettings {
    ShopSettings::from_json(
        &serde_json::json!({
            "code": SHOP,
            "sku_mapping": "item_no",
            "sync_item": "to_shopify",
            "can_update_shopify_products": true,
            "shopify": {"store_domain": "pr.myshopify.com", "access_token_secret_id": "shopsync/PR/shopify"},
            "bc": {"tenant": "contoso", "environment": "production",
                   "company_id": "5d5d2b5a-6a47-4d36-9a55-4f4c0f0e1a01", "credentials_secret_id": "shopsync/PR/bc"}
        })
        .to_string(),
    )
    .unwrap()
}

fn d(s: &str) -> Decimal {
    Decimal::parse(s).unwrap()
}

/// Shopify's clock: `n` seconds after the tests started (so within the import's window).
fn instant(n: u64) -> String {
    static BASE: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    let base = *BASE.get_or_init(shopsync_domain::time::now_secs);
    crate::orders::sync::format_time(
        time::OffsetDateTime::from_unix_timestamp(base + n as i64).unwrap(),
    )
    .unwrap()
}

/// A Shopify product as the double keeps it.
#[derive(Debug, Clone, PartialEq)]
struct ShopProduct {
    id: String,
    item_no: Option<String>,
    title: String,
    product_type: Option<String>,
    status: ProductStatus,
    options: Vec<ProductOption>,
    /// (id, option value, sku, barcode, price, compare-at, cost)
    variants: Vec<ShopVariant>,
    updated_at: String,
}

#[derive(Debug, Clone, PartialEq)]
struct ShopVariant {
    id: String,
    value: String,
    sku: Option<String>,
    barcode: Option<String>,
    price: String,
    compare_at: Option<String>,
    cost: Option<String>,
}

/// A product as two export paths must leave it: item, title, status, and per variant its option
/// value, SKU, price and compare-at price.
type ProductState = (
    Option<String>,
    String,
    ProductStatus,
    Vec<(String, Option<String>, String, Option<String>)>,
);

struct BulkOp {
    id: String,
    mutation: BulkMutation,
    polls_left: u32,
    results: Option<(String, Vec<BulkLineResult>)>,
}

/// Shopify's catalogue.
#[derive(Default)]
struct Shopify {
    products: Mutex<Vec<ShopProduct>>,
    next_id: AtomicU64,
    clock: AtomicU64,
    bulk: Mutex<Option<BulkOp>>,
    /// The next bulk operation runs this many lines, then FAILS.
    fail_bulk_after: Mutex<Option<usize>>,
    /// Polls a bulk operation answers RUNNING.
    bulk_polls: u32,
    faults: Faults,
}

impl Shopify {
    fn id(&self, kind: &str) -> String {
        format!(
            "gid://shopify/{kind}/{}",
            self.next_id.fetch_add(1, Ordering::Relaxed) + 1
        )
    }

    fn tick(&self) -> String {
        instant(self.clock.fetch_add(1, Ordering::Relaxed) + 1)
    }

    /// `productSet` as Shopify applies it: upsert by identifier, variants matched by option value.
    fn apply_set(&self, r: &ProductSetRequest) -> ProductSetOutcome {
        if r.title.as_deref() == Some("BAD") {
            return ProductSetOutcome {
                product: None,
                user_errors: vec![UserError {
                    code: Some("INVALID".into()),
                    field: vec!["input".into(), "title".into()],
                    message: "Title is not allowed".into(),
                }],
            };
        }
        let Some(ProductIdentifier::CustomId { value, .. }) = &r.identifier else {
            panic!("exports are keyed by the BC item");
        };
        let now = self.tick();
        let mut products = self.products.lock().unwrap();
        let i = match products
            .iter()
            .position(|p| p.item_no.as_deref() == Some(value))
        {
            Some(i) => i,
            None => {
                assert!(
                    r.metafields.iter().any(|m| m.value == *value),
                    "a new product must carry its identifier's metafield"
                );
                products.push(ShopProduct {
                    id: self.id("Product"),
                    item_no: Some(value.clone()),
                    title: "Untitled".into(),
                    product_type: None,
                    status: ProductStatus::Active,
                    options: Vec::new(),
                    variants: Vec::new(),
                    updated_at: now.clone(),
                });
                products.len() - 1
            }
        };
        let p = &mut products[i];
        if let Some(t) = &r.title {
            p.title = t.clone();
        }
        if r.product_type.is_some() {
            p.product_type = r.product_type.clone();
        }
        if let Some(s) = r.status {
            p.status = s;
        }
        if !r.options.is_empty() {
            p.options = r.options.clone();
        }
        if !r.variants.is_empty() {
            let old = std::mem::take(&mut p.variants);
            for v in &r.variants {
                let value = v.options[0].value.clone();
                let kept = old.iter().find(|o| o.value == value);
                p.variants.push(ShopVariant {
                    id: kept.map_or_else(|| self.id("ProductVariant"), |o| o.id.clone()),
                    value,
                    sku: v.sku.clone(),
                    barcode: v.barcode.clone(),
                    price: v
                        .price
                        .clone()
                        .or_else(|| kept.map(|k| k.price.clone()))
                        .unwrap_or_else(|| "0.00".into()),
                    compare_at: v.compare_at_price.clone(),
                    cost: v.unit_cost.clone(),
                });
            }
        }
        p.updated_at = now;
        ProductSetOutcome {
            product: Some(Self::product_ref(p)),
            user_errors: Vec::new(),
        }
    }

    /// One product's price update, applied.
    fn apply_prices(&self, update: &ProductPriceUpdate) -> VariantPricesOutcome {
        let now = self.tick();
        let mut products = self.products.lock().unwrap();
        let p = products
            .iter_mut()
            .find(|p| p.id == update.product_id)
            .expect("a known product");
        let mut written = Vec::new();
        for u in &update.variants {
            let v = p
                .variants
                .iter_mut()
                .find(|v| v.id == u.variant_id)
                .unwrap();
            v.price = u.price.clone();
            v.compare_at = u.compare_at_price.clone();
            if u.unit_cost.is_some() {
                v.cost = u.unit_cost.clone();
            }
            written.push(VariantPrice {
                variant_id: v.id.clone(),
                price: v.price.clone(),
                compare_at_price: v.compare_at.clone(),
            });
        }
        p.updated_at = now;
        VariantPricesOutcome {
            variants: written,
            user_errors: Vec::new(),
        }
    }

    fn product_ref(p: &ShopProduct) -> ProductRef {
        ProductRef {
            id: p.id.clone(),
            handle: p.title.to_lowercase(),
            updated_at: p.updated_at.clone(),
            variants: p
                .variants
                .iter()
                .enumerate()
                .map(|(i, v)| VariantRef {
                    id: v.id.clone(),
                    sku: v.sku.clone(),
                    position: i as u32 + 1,
                })
                .collect(),
        }
    }

    fn as_product(p: &ShopProduct) -> Product {
        Product {
            id: p.id.clone(),
            handle: p.title.to_lowercase(),
            title: p.title.clone(),
            vendor: None,
            product_type: p.product_type.clone(),
            description_html: None,
            status: p.status,
            tags: Vec::new(),
            updated_at: p.updated_at.clone(),
            options: p.options.clone(),
            variants: p
                .variants
                .iter()
                .enumerate()
                .map(|(i, v)| ProductVariant {
                    id: v.id.clone(),
                    title: v.value.clone(),
                    sku: v.sku.clone(),
                    barcode: v.barcode.clone(),
                    position: i as u32 + 1,
                    price: v.price.clone(),
                    compare_at_price: v.compare_at.clone(),
                    unit_cost: v.cost.clone(),
                    options: vec![SelectedOption {
                        name: "Title".into(),
                        value: v.value.clone(),
                    }],
                    inventory_item_id: format!(
                        "gid://shopify/InventoryItem/{}",
                        v.id.rsplit('/').next().unwrap()
                    ),
                    updated_at: p.updated_at.clone(),
                })
                .collect(),
            media: Vec::new(),
            variants_complete: true,
        }
    }

    /// A product made in Shopify (not by an export).
    fn add_product(&self, title: &str, sku: &str, price: &str) -> String {
        let now = self.tick();
        let p = ShopProduct {
            id: self.id("Product"),
            item_no: None,
            title: title.into(),
            product_type: None,
            status: ProductStatus::Active,
            options: vec![ProductOption {
                name: "Title".into(),
                values: vec!["Default Title".into()],
            }],
            variants: vec![ShopVariant {
                id: self.id("ProductVariant"),
                value: "Default Title".into(),
                sku: Some(sku.into()),
                barcode: None,
                price: price.into(),
                compare_at: None,
                cost: None,
            }],
            updated_at: now,
        };
        let id = p.id.clone();
        self.products.lock().unwrap().push(p);
        id
    }

    /// A product made in Shopify with one variant per SKU.
    fn add_product_with(&self, title: &str, skus: &[&str], price: &str) -> String {
        let id = self.add_product(title, skus[0], price);
        let mut products = self.products.lock().unwrap();
        let p = products.iter_mut().find(|p| p.id == id).unwrap();
        p.variants[0].value = skus[0].into();
        for sku in &skus[1..] {
            p.variants.push(ShopVariant {
                id: self.id("ProductVariant"),
                value: (*sku).into(),
                sku: Some((*sku).into()),
                barcode: None,
                price: price.into(),
                compare_at: None,
                cost: None,
            });
        }
        id
    }

    /// Shopify's products without ids and times, by item: what two paths must agree on.
    fn state(&self) -> Vec<ProductState> {
        let mut out: Vec<_> = self
            .products
            .lock()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p.item_no.clone(),
                    p.title.clone(),
                    p.status,
                    p.variants
                        .iter()
                        .map(|v| {
                            (
                                v.value.clone(),
                                v.sku.clone(),
                                v.price.clone(),
                                v.compare_at.clone(),
                            )
                        })
                        .collect(),
                )
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    fn count(&self) -> usize {
        self.products.lock().unwrap().len()
    }

    fn product_of(&self, item_no: &str) -> Option<ShopProduct> {
        self.products
            .lock()
            .unwrap()
            .iter()
            .find(|p| p.item_no.as_deref() == Some(item_no))
            .cloned()
    }

    fn mutations(&self) -> u64 {
        self.faults.calls("shopify.product_set")
            + self.faults.calls("shopify.bulk_run")
            + self.faults.calls("shopify.prices")
    }
}

#[async_trait]
impl shopsync_domain::catalog::ShopifyCatalogApi for Shopify {
    async fn products_updated_since(
        &self,
        since: Option<&str>,
        after: Option<&str>,
    ) -> PortResult<Page<Product>> {
        self.faults.run("shopify.products", || {
            let mut all: Vec<Product> = self
                .products
                .lock()
                .unwrap()
                .iter()
                .filter(|p| since.is_none_or(|s| p.updated_at.as_str() >= s))
                .map(Self::as_product)
                .collect();
            all.sort_by(|a, b| (&a.updated_at, &a.id).cmp(&(&b.updated_at, &b.id)));
            let start: usize = after.map_or(0, |a| a.parse().unwrap());
            let items: Vec<Product> = all.iter().skip(start).take(2).cloned().collect();
            let next = (start + 2 < all.len()).then(|| (start + 2).to_string());
            Ok(Page {
                items,
                next_cursor: next,
            })
        })
    }

    async fn product(&self, id: &str) -> PortResult<Option<Product>> {
        self.faults.run("shopify.product", || {
            Ok(self
                .products
                .lock()
                .unwrap()
                .iter()
                .find(|p| p.id == id)
                .map(Self::as_product))
        })
    }

    async fn product_set(&self, request: &ProductSetRequest) -> PortResult<ProductSetOutcome> {
        self.faults
            .run("shopify.product_set", || Ok(self.apply_set(request)))
    }

    async fn staged_uploads_create(
        &self,
        _uploads: &[StagedUploadRequest],
    ) -> PortResult<StagedUploadsOutcome> {
        unreachable!("the bulk client stages its own file")
    }

    async fn upload(&self, _t: &StagedTarget, _b: Vec<u8>, _m: &str) -> PortResult<()> {
        unreachable!("the bulk client uploads its own file")
    }

    async fn product_media_attach(
        &self,
        _product_id: &str,
        _media: &[MediaAttach],
    ) -> PortResult<MediaOutcome> {
        unreachable!("sync-products attaches no media")
    }

    async fn media_replace(&self, _updates: &[MediaReplace]) -> PortResult<MediaOutcome> {
        unreachable!("sync-products replaces no media")
    }

    async fn product_media(
        &self,
        _id: &str,
    ) -> PortResult<Option<Vec<shopsync_domain::catalog::ProductMedia>>> {
        unreachable!("sync-products reads no media")
    }

    async fn image_bytes(&self, _url: &str, _max_bytes: usize) -> PortResult<Vec<u8>> {
        unreachable!("sync-products reads no image")
    }

    async fn bulk_mutation_run(
        &self,
        mutation: &BulkMutation,
        _client_identifier: Option<&str>,
    ) -> PortResult<BulkMutationStart> {
        self.faults.run("shopify.bulk_run", || {
            assert!(
                matches!(
                    mutation,
                    BulkMutation::ProductSet(_) | BulkMutation::VariantPrices(_)
                ),
                "only productSet and price bulk mutations here"
            );
            let mut bulk = self.bulk.lock().unwrap();
            if bulk.as_ref().is_some_and(|b| b.results.is_none()) {
                return Ok(BulkMutationStart::Busy("in progress".into()));
            }
            let id = self.id("BulkOperation");
            *bulk = Some(BulkOp {
                id: id.clone(),
                mutation: mutation.clone(),
                polls_left: self.bulk_polls,
                results: None,
            });
            Ok(BulkMutationStart::Started { id })
        })
    }

    async fn bulk_mutation_status(&self, id: &str) -> PortResult<BulkMutationStatus> {
        self.faults.run("shopify.bulk_status", || {
            let mut bulk = self.bulk.lock().unwrap();
            let op = bulk
                .as_mut()
                .filter(|b| b.id == id)
                .expect("a known operation");
            if op.results.is_none() {
                if op.polls_left > 0 {
                    op.polls_left -= 1;
                    return Ok(BulkMutationStatus {
                        id: id.into(),
                        status: "RUNNING".into(),
                        error_code: None,
                        object_count: None,
                        url: None,
                        partial_data_url: None,
                    });
                }
                let limit = self.fail_bulk_after.lock().unwrap().take();
                let mut lines = Vec::new();
                for i in 0..op.mutation.len() {
                    if limit.is_some_and(|l| i >= l) {
                        break;
                    }
                    let (product, prices, user_errors) = match &op.mutation {
                        BulkMutation::ProductSet(requests) => {
                            let o = self.apply_set(&requests[i]);
                            (o.product, Vec::new(), o.user_errors)
                        }
                        BulkMutation::VariantPrices(updates) => {
                            let o = self.apply_prices(&updates[i]);
                            (None, o.variants, o.user_errors)
                        }
                        BulkMutation::OrderAttributes(_) => unreachable!(),
                    };
                    lines.push(BulkLineResult {
                        line: i as u64,
                        product,
                        prices,
                        user_errors,
                        errors: Vec::new(),
                    });
                }
                let status = if limit.is_some() {
                    "FAILED"
                } else {
                    "COMPLETED"
                };
                op.results = Some((status.into(), lines));
            }
            let (status, _) = op.results.as_ref().unwrap();
            Ok(BulkMutationStatus {
                id: id.into(),
                status: status.clone(),
                error_code: None,
                object_count: None,
                url: Some(format!("https://results/{id}")),
                partial_data_url: None,
            })
        })
    }

    async fn bulk_mutation_results(
        &self,
        status: &BulkMutationStatus,
    ) -> PortResult<Vec<BulkLineResult>> {
        self.faults.run("shopify.bulk_results", || {
            let bulk = self.bulk.lock().unwrap();
            let op = bulk.as_ref().filter(|b| b.id == status.id).unwrap();
            Ok(op.results.as_ref().unwrap().1.clone())
        })
    }

    async fn variant_prices_update(
        &self,
        update: &ProductPriceUpdate,
    ) -> PortResult<VariantPricesOutcome> {
        self.faults
            .run("shopify.prices", || Ok(self.apply_prices(update)))
    }
}

shopsync_test_support::unused_shopify_inventory_api!(Shopify);
shopsync_test_support::unused_shopify_orders_api!(Shopify);
shopsync_test_support::no_shopify_usage!(Shopify);
shopsync_test_support::unused_shopify_customers_api!(Shopify);
shopsync_test_support::unused_shopify_companies_api!(Shopify);
shopsync_test_support::unused_shopify_b2b_catalogs_api!(Shopify);

/// BC's items.
#[derive(Default)]
struct Bc {
    items: Mutex<Vec<BcCatalogItem>>,
    variants: Mutex<Vec<BcItemVariant>>,
    lines: Mutex<Vec<PriceListLine>>,
    modified: AtomicU64,
    faults: Faults,
}

impl Bc {
    fn stamp(&self) -> i64 {
        shopsync_domain::time::now_millis() + self.modified.fetch_add(1, Ordering::Relaxed) as i64
    }

    fn add_item(&self, no: &str, description: &str, price: &str) {
        let modified_ms = self.stamp();
        self.items.lock().unwrap().push(BcCatalogItem {
            id: format!("item-{no}"),
            number: no.into(),
            description: description.into(),
            item_type: BcItemType::Inventory,
            gtin: None,
            unit_price: d(price),
            unit_cost: d("5"),
            price_includes_tax: false,
            blocked: false,
            sales_blocked: None,
            item_category_code: String::new(),
            base_unit_of_measure_code: "PCS".into(),
            modified_ms,
            etag: format!("W/\"{modified_ms}\""),
        });
    }

    /// Add a variant of item `no`: the variant is modified now, the item is left alone (as BC
    /// does).
    fn add_variant(&self, no: &str, code: &str) {
        let modified_ms = self.stamp();
        self.variants.lock().unwrap().push(BcItemVariant {
            id: format!("variant-{no}-{code}"),
            item_id: format!("item-{no}"),
            item_number: no.into(),
            code: code.into(),
            description: code.into(),
            modified_ms,
        });
    }

    /// Change item `no` in BC (a new modification time and ETag).
    fn change(&self, no: &str, f: impl FnOnce(&mut BcCatalogItem)) {
        let stamp = self.stamp();
        let mut items = self.items.lock().unwrap();
        let item = items.iter_mut().find(|i| i.number == no).unwrap();
        f(item);
        item.modified_ms = stamp;
        item.etag = format!("W/\"{stamp}\"");
    }

    /// A price list line of group `RETAIL` for one unit of item `no`'s variant `code`.
    fn retail_price(&self, no: &str, code: &str, price: &str) {
        self.lines.lock().unwrap().push(PriceListLine {
            item_number: no.into(),
            variant_code: code.into(),
            price_group: "RETAIL".into(),
            currency_code: String::new(),
            minimum_quantity: d("1"),
            unit_price: d(price),
            starting_date: String::new(),
            ending_date: String::new(),
        });
    }

    /// Move item `no`'s and its variants' modification times an hour back, behind any run's rewound
    /// cursor.
    fn age(&self, no: &str) {
        let mut items = self.items.lock().unwrap();
        let item = items.iter_mut().find(|i| i.number == no).unwrap();
        item.modified_ms -= 3_600_000;
        for v in self.variants.lock().unwrap().iter_mut() {
            if v.item_number == no {
                v.modified_ms -= 3_600_000;
            }
        }
    }

    fn item(&self, no: &str) -> Option<BcCatalogItem> {
        self.items
            .lock()
            .unwrap()
            .iter()
            .find(|i| i.number == no)
            .cloned()
    }
}

#[async_trait]
impl shopsync_domain::items::BcItemsApi for Bc {
    async fn items_modified_since(&self, cursor: Option<&ItemCursor>) -> PortResult<ItemBatch> {
        self.faults.run("bc.items", || {
            let mut items: Vec<BcCatalogItem> = self
                .items
                .lock()
                .unwrap()
                .iter()
                .filter(|i| cursor.is_none_or(|c| c.is_before(i.modified_ms, &i.number)))
                .cloned()
                .collect();
            items.sort_by_key(BcCatalogItem::cursor);
            Ok(ItemBatch {
                next_cursor: items.last().map(BcCatalogItem::cursor),
                items,
            })
        })
    }

    async fn item_by_number(&self, number: &str) -> PortResult<Option<BcCatalogItem>> {
        self.faults
            .run("bc.item_by_number", || Ok(self.item(number)))
    }

    async fn item_variants(&self, item_id: &str) -> PortResult<Vec<BcItemVariant>> {
        self.faults.run("bc.item_variants", || {
            Ok(self
                .variants
                .lock()
                .unwrap()
                .iter()
                .filter(|v| v.item_id == item_id)
                .cloned()
                .collect())
        })
    }

    async fn items_by_numbers(&self, numbers: &[String]) -> PortResult<Vec<BcCatalogItem>> {
        self.faults.run("bc.items_by_numbers", || {
            let mut found: Vec<BcCatalogItem> =
                numbers.iter().filter_map(|n| self.item(n)).collect();
            found.sort_by(|a, b| a.number.cmp(&b.number));
            found.dedup_by(|a, b| a.number == b.number);
            Ok(found)
        })
    }

    async fn item_variants_modified_since(&self, since_ms: i64) -> PortResult<Vec<BcItemVariant>> {
        self.faults.run("bc.item_variants_modified_since", || {
            let mut variants: Vec<BcItemVariant> = self
                .variants
                .lock()
                .unwrap()
                .iter()
                .filter(|v| v.modified_ms >= since_ms)
                .cloned()
                .collect();
            variants.sort_by_key(|v| (v.modified_ms, v.item_number.clone(), v.code.clone()));
            Ok(variants)
        })
    }

    async fn item_template(&self, template_item_number: &str) -> PortResult<ItemDefaults> {
        self.faults.run("bc.item_template", || {
            if template_item_number != "TEMPLATE" {
                return Err(SyncError::NotFound(template_item_number.into()));
            }
            Ok(ItemDefaults {
                template_number: "TEMPLATE".into(),
                item_type: Some(BcItemType::Inventory),
                base_unit_of_measure_code: Some("PCS".into()),
                ..Default::default()
            })
        })
    }

    async fn create_item(&self, item: &NewItem) -> PortResult<BcCatalogItem> {
        self.faults.run("bc.create_item", || {
            if self.item(&item.number).is_some() {
                return Err(SyncError::Rejected {
                    service: "bc",
                    code: "Internal_EntityWithSameKeyExists".into(),
                    message: "The record already exists.".into(),
                });
            }
            self.add_item(
                &item.number,
                &item.description,
                item.unit_price.as_ref().map_or("0", Decimal::as_str),
            );
            Ok(self.item(&item.number).unwrap())
        })
    }

    async fn update_item(
        &self,
        item_id: &str,
        etag: &str,
        update: &ItemUpdate,
    ) -> PortResult<Option<BcCatalogItem>> {
        self.faults.run("bc.update_item", || {
            let no = self
                .items
                .lock()
                .unwrap()
                .iter()
                .find(|i| i.id == item_id)
                .map(|i| i.number.clone())
                .unwrap();
            if self.item(&no).unwrap().etag != etag {
                return Err(SyncError::Conflict("etag".into()));
            }
            self.change(&no, |i| {
                if let Some(x) = &update.description {
                    i.description = x.clone();
                }
                if let Some(x) = &update.unit_price {
                    i.unit_price = x.clone();
                }
            });
            Ok(self.item(&no))
        })
    }

    async fn create_item_variant(&self, variant: &NewItemVariant) -> PortResult<BcItemVariant> {
        self.faults.run("bc.create_item_variant", || {
            let mut variants = self.variants.lock().unwrap();
            if variants
                .iter()
                .any(|v| v.item_id == variant.item_id && v.code == variant.code)
            {
                return Err(SyncError::Rejected {
                    service: "bc",
                    code: "Internal_EntityWithSameKeyExists".into(),
                    message: "The record already exists.".into(),
                });
            }
            let v = BcItemVariant {
                id: format!("variant-{}-{}", variant.item_number, variant.code),
                item_id: variant.item_id.clone(),
                item_number: variant.item_number.clone(),
                code: variant.code.clone(),
                description: variant.description.clone(),
                modified_ms: 0,
            };
            variants.push(v.clone());
            Ok(v)
        })
    }

    async fn item_picture(&self, _item_id: &str) -> PortResult<PictureState> {
        unreachable!("sync-products reads no picture")
    }

    async fn set_item_picture(&self, _id: &str, _etag: &str, _c: &[u8]) -> PortResult<()> {
        unreachable!("sync-products writes no picture")
    }

    async fn sales_prices(
        &self,
        page: Option<&str>,
        _company_name: &str,
        scope: &PriceScope,
        targets: &[PriceTarget],
    ) -> PortResult<Vec<SalesPrice>> {
        self.faults.run("bc.sales_prices", || {
            let lines = if page.is_some() {
                self.lines.lock().unwrap().clone()
            } else {
                Vec::new()
            };
            Ok(resolve_prices(&lines, scope, targets))
        })
    }
}

shopsync_test_support::unused_bc_inventory_api!(Bc);
shopsync_test_support::unused_bc_sales_api!(Bc);
shopsync_test_support::unused_bc_customers_api!(Bc);

/// A shop, its Shopify catalogue and BC items, and the job that runs sync-products for it.
struct Fixture {
    shopify: Arc<Shopify>,
    bc: Arc<Bc>,
    harness: TaskHarness,
}

deref_to_harness!(Fixture);

const TASK: SyncProductsTask = SyncProductsTask {
    bulk_poll: Duration::ZERO,
};

impl Fixture {
    fn with(shopify: Shopify, settings: ShopSettings) -> Fixture {
        let shopify = Arc::new(shopify);
        let bc = Arc::new(Bc::default());
        let clients = ShopClients {
            shopify: shopify.clone(),
            bc: bc.clone(),
        };
        Fixture {
            harness: TaskHarness::new(
                MemoryStore::new(),
                clients,
                settings,
                TaskKind::SyncProducts,
            ),
            shopify,
            bc,
        }
    }

    fn new() -> Fixture {
        Fixture::with(Shopify::default(), settings())
    }

    /// Items 1000 (variants RED, BLUE), 1001, 1002.
    fn catalogue(&self) {
        self.bc.add_item("1000", "Chair", "20");
        self.bc.add_variant("1000", "RED");
        self.bc.add_variant("1000", "BLUE");
        self.bc.add_item("1001", "Table", "100");
        self.bc.add_item("1002", "Lamp", "35.5");
    }

    async fn run(&mut self, n: u32) -> JobCounters {
        self.harness.run(&TASK, n).await
    }

    /// A whole run as job `n` through failures: each failed invocation is retried, as the runtime
    /// redelivers the message.
    async fn run_through_faults(&mut self, n: u32) -> JobCounters {
        self.harness.next_job(TaskKind::SyncProducts, n).await;
        for _ in 0..400 {
            match self.harness.invoke(&TASK).await {
                Ok(RunOutcome::Finished { .. }) => return self.counters.clone(),
                Ok(RunOutcome::Continue { .. }) | Err(_) => continue,
                Ok(RunOutcome::Skipped { reason }) => panic!("skipped: {reason}"),
            }
        }
        panic!("the run did not finish through the faults");
    }

    fn mirror(&self, no: &str) -> Option<MirroredProduct> {
        self.store
            .record(SHOP, PRODUCTS, no)
            .map(|r| serde_json::from_str(&r.body).unwrap())
    }

    fn status(&self, no: &str) -> Option<String> {
        self.store.record(SHOP, PRODUCTS, no).and_then(|r| r.status)
    }

    async fn skipped(&self) -> Vec<String> {
        use shopsync_domain::ports::SkippedRecordStore;
        self.store
            .list_skipped(SHOP, 100)
            .await
            .unwrap()
            .into_iter()
            .map(|s| format!("{}: {}", s.record_id, s.reason))
            .collect()
    }
}

#[tokio::test]
async fn an_export_creates_each_product_once_and_an_unchanged_catalogue_costs_nothing() {
    let mut f = Fixture::new();
    f.catalogue();
    let c = f.run(1).await;
    assert_eq!(c.get(counters::PRODUCTS_EXPORTED), 3);
    assert_eq!(f.shopify.count(), 3);
    let chair = f.shopify.product_of("1000").unwrap();
    assert_eq!(chair.title, "Chair");
    let skus: Vec<_> = chair
        .variants
        .iter()
        .map(|v| (v.value.as_str(), v.sku.as_deref(), v.price.as_str()))
        .collect();
    assert_eq!(
        skus,
        [("BLUE", Some("1000"), "20"), ("RED", Some("1000"), "20")]
    );
    let m = f.mirror("1000").unwrap();
    assert_eq!(m.product_id.as_deref(), Some(chair.id.as_str()));
    assert_eq!(m.variants.len(), 2);
    assert_eq!(m.variants[1].variant_code.as_deref(), Some("RED"));
    assert_eq!(m.variants[1].variant_id, chair.variants[1].id);
    assert_eq!(
        m.exported_updated_at.as_deref(),
        Some(chair.updated_at.as_str())
    );
    assert!(m.variants.iter().all(|v| v.prices_hash.is_some()));
    // The product → item index answers from the product id.
    let no = crate::catalogue::item_of_product(&f.store, SHOP, &chair.id)
        .await
        .unwrap();
    assert_eq!(no.as_deref(), Some("1000"));
    assert!(f.store.records(SHOP, EXPORT_QUEUE).is_empty());

    // Re-run: the items are read again (the cursor is moved back), nothing is sent.
    let before = f.shopify.mutations();
    let c = f.run(2).await;
    assert_eq!(c.get(counters::ITEMS_READ), 3);
    assert_eq!(c.get(counters::PRODUCTS_UNCHANGED), 3);
    assert_eq!(f.shopify.mutations(), before);

    // One item changes: one productSet.
    f.bc.change("1001", |i| i.description = "Oak table".into());
    let c = f.run(3).await;
    assert_eq!(c.get(counters::PRODUCTS_EXPORTED), 1);
    assert_eq!(f.shopify.mutations(), before + 1);
    assert_eq!(f.shopify.product_of("1001").unwrap().title, "Oak table");
    assert_eq!(f.shopify.count(), 3);

    // A new BC item variant becomes a new Shopify variant, though BC leaves its item's modification
    // time alone; the other variants keep their ids, and no other product is sent.
    f.bc.age("1000");
    f.bc.add_variant("1000", "GREEN");
    let before = f.shopify.mutations();
    let c = f.run(4).await;
    assert_eq!(c.get(counters::ITEMS_WITH_CHANGED_VARIANTS), 1);
    assert_eq!(c.get(counters::PRODUCTS_EXPORTED), 1);
    assert_eq!(f.shopify.mutations(), before + 1);
    let chair2 = f.shopify.product_of("1000").unwrap();
    assert_eq!(chair2.variants.len(), 3);
    assert!(
        chair
            .variants
            .iter()
            .all(|v| chair2.variants.iter().any(|w| w.id == v.id))
    );
}

#[tokio::test]
async fn lost_answers_and_failures_create_nothing_twice() {
    let mut f = Fixture::new();
    f.catalogue();
    for n in 0..6 {
        f.bc.add_item(&format!("20{n:02}"), &format!("Item {n}"), "9.99");
    }
    let faults = &f.shopify.faults;
    faults.drop_answer_randomly("shopify.*", 0.2, Faults::connection_reset("shopify"));
    faults.fail_randomly("shopify.*", 0.1, Faults::connection_reset("shopify"));
    f.bc.faults
        .fail_randomly("bc.*", 0.2, Faults::connection_reset("bc"));
    f.run_through_faults(1).await;
    assert!(f.shopify.faults.injected("shopify.product_set") > 0);
    f.shopify.faults.clear();
    f.bc.faults.clear();
    // The same job delivered again resumes from its checkpoint: everything is settled, nothing sent.
    let before = f.shopify.mutations();
    let again = f.harness.invoke(&TASK).await.unwrap();
    assert!(matches!(again, RunOutcome::Finished { .. }));
    assert_eq!(f.shopify.mutations(), before);
    assert_eq!(f.shopify.count(), 9);
    for no in ["1000", "1001", "1002", "2000", "2005"] {
        let m = f.mirror(no).unwrap();
        assert_eq!(m.product_id, f.shopify.product_of(no).map(|p| p.id), "{no}");
        assert_eq!(f.status(no), None);
    }
    f.run(3).await;
    assert_eq!(
        f.shopify.mutations(),
        before,
        "nothing changed, nothing is sent"
    );
}

#[tokio::test]
async fn the_bulk_path_and_the_per_record_path_end_in_the_same_state() {
    let mut one = Fixture::new();
    let mut settings = settings();
    settings.product_bulk_threshold = 2;
    let mut bulk = Fixture::with(
        Shopify {
            bulk_polls: 3,
            ..Shopify::default()
        },
        settings,
    );
    for f in [&one, &bulk] {
        f.catalogue();
        f.bc.add_item("1003", "Rug", "80");
    }
    let c = one.run(1).await;
    assert_eq!(c.get(counters::BULK_OPERATIONS), 0);
    bulk.saved.deadline.store(true, Ordering::Relaxed);
    let c = bulk.run(1).await;
    assert_eq!(c.get(counters::BULK_OPERATIONS), 1);
    assert_eq!(c.get(counters::PRODUCTS_EXPORTED), 4);
    assert_eq!(bulk.shopify.faults.calls("shopify.product_set"), 0);
    assert_eq!(one.shopify.state(), bulk.shopify.state());
    for no in ["1000", "1001", "1002", "1003"] {
        let (a, b) = (one.mirror(no).unwrap(), bulk.mirror(no).unwrap());
        assert_eq!(a.export_hash, b.export_hash);
        assert_eq!(a.variants.len(), b.variants.len());
        assert!(b.product_id.is_some() && b.variants.iter().all(|v| !v.variant_id.is_empty()));
    }
    let before = bulk.shopify.mutations();
    bulk.saved.deadline.store(false, Ordering::Relaxed);
    bulk.run(2).await;
    assert_eq!(bulk.shopify.mutations(), before);
}

#[tokio::test]
async fn a_bulk_operation_that_fails_half_way_leaves_skipped_records_and_retries_the_rest() {
    let mut settings = settings();
    settings.product_bulk_threshold = 2;
    let mut f = Fixture::with(Shopify::default(), settings);
    f.bc.add_item("1000", "Chair", "20");
    f.bc.add_item("1001", "BAD", "20");
    f.bc.add_item("1002", "Lamp", "20");
    f.bc.add_item("1003", "Rug", "20");
    f.bc.add_item("1004", "Vase", "20");
    *f.shopify.fail_bulk_after.lock().unwrap() = Some(3);
    let c = f.run(1).await;
    assert_eq!(c.get(counters::BULK_OPERATIONS), 1);
    assert_eq!(c.get(counters::BULK_LINES_FAILED), 1);
    assert_eq!(c.get(counters::BULK_LINES_NOT_RUN), 2);
    // The lines that did not run went one by one in the same run.
    assert_eq!(f.shopify.faults.calls("shopify.product_set"), 2);
    assert_eq!(f.shopify.count(), 4);
    assert_eq!(f.status("1001").as_deref(), Some(status::ERROR));
    assert_eq!(
        f.mirror("1001").unwrap().last_error.as_deref(),
        Some("Title is not allowed")
    );
    assert!(
        f.skipped()
            .await
            .iter()
            .any(|s| s == "1001: Title is not allowed")
    );
    assert!(f.store.records(SHOP, EXPORT_QUEUE).is_empty());

    // Retried next run (status error), refused again; fixed in BC, it goes.
    let c = f.run(2).await;
    assert_eq!(c.get(counters::PRODUCTS_FAILED), 1);
    f.bc.change("1001", |i| i.description = "Bench".into());
    f.run(3).await;
    assert_eq!(f.status("1001"), None);
    assert_eq!(f.shopify.count(), 5);
}

#[tokio::test]
async fn a_blocked_items_product_is_archived_once() {
    let mut f = Fixture::new();
    f.catalogue();
    f.run(1).await;
    f.bc.change("1002", |i| i.blocked = true);
    f.run(2).await;
    assert_eq!(
        f.shopify.product_of("1002").unwrap().status,
        ProductStatus::Archived
    );
    assert_eq!(f.status("1002").as_deref(), Some(status::BLOCKED));
    let before = f.shopify.mutations();
    f.bc.change("1002", |i| i.description = "Old lamp".into());
    f.run(3).await;
    assert_eq!(f.shopify.mutations(), before);
    assert!(
        f.skipped()
            .await
            .iter()
            .any(|s| s == "1002: Item is blocked; its product is archived.")
    );
    // Unblocked: the product comes back, active.
    f.bc.change("1002", |i| i.blocked = false);
    f.run(4).await;
    let lamp = f.shopify.product_of("1002").unwrap();
    assert_eq!(
        (lamp.status, lamp.title.as_str()),
        (ProductStatus::Active, "Old lamp")
    );
    assert_eq!(f.status("1002"), None);
    // A blocked item that was never exported makes no product.
    f.bc.add_item("1009", "Ghost", "1");
    f.bc.change("1009", |i| i.blocked = true);
    f.run(5).await;
    assert!(f.shopify.product_of("1009").is_none());
}

/// Prices from the published page `ShopsyncPrices`, for customer price group `RETAIL`.
fn retail_settings() -> ShopSettings {
    let mut settings = settings();
    settings.sales_prices_page = Some("ShopsyncPrices".into());
    settings.bc.company_name = Some("CRONUS".into());
    settings.customer_price_group = Some("RETAIL".into());
    settings
}

#[tokio::test]
async fn a_price_only_run_sends_only_changed_prices_and_skips_blocked_items() {
    let mut f = Fixture::with(Shopify::default(), retail_settings());
    f.catalogue();
    f.run(1).await;
    // Nothing changed: nothing sent.
    let before = f.shopify.mutations();
    let c = prices_only(&mut f, 2).await;
    assert_eq!(c.get(counters::PRICES_UNCHANGED), 4);
    assert_eq!(f.shopify.mutations(), before);
    // A retail price for RED; the table is blocked.
    f.bc.retail_price("1000", "RED", "17.5");
    f.bc.change("1001", |i| i.blocked = true);
    let c = prices_only(&mut f, 3).await;
    assert_eq!(c.get(counters::PRICES_UPDATED), 1);
    assert_eq!(f.shopify.faults.calls("shopify.prices"), 1);
    let chair = f.shopify.product_of("1000").unwrap();
    let red = chair.variants.iter().find(|v| v.value == "RED").unwrap();
    assert_eq!(
        (red.price.as_str(), red.compare_at.as_deref()),
        ("17.5", Some("20"))
    );
    assert!(
        f.skipped()
            .await
            .iter()
            .any(|s| s == "1001: Item is blocked: its prices are not exported.")
    );
    let c = prices_only(&mut f, 4).await;
    assert_eq!(c.get(counters::PRICES_UPDATED), 0);
    assert_eq!(f.shopify.faults.calls("shopify.prices"), 1);
    // A price-only run runs whatever the direction of the catalogue sync ("Only Sync Prices").
    f.harness.settings.sync_item = SyncDirection::Disabled;
    f.harness.settings.can_update_shopify_products = false;
    f.bc.lines.lock().unwrap()[0].unit_price = d("16");
    let c = prices_only(&mut f, 5).await;
    assert_eq!(c.get(counters::PRICES_UPDATED), 1);
    assert_eq!(f.shopify.faults.calls("shopify.prices"), 2);
}

#[tokio::test]
async fn an_export_with_sync_prices_carries_a_price_list_change_that_touched_no_item() {
    let mut f = Fixture::with(Shopify::default(), retail_settings());
    f.catalogue();
    f.run(1).await;
    for no in ["1000", "1001", "1002"] {
        f.bc.age(no);
    }
    // Nothing changed: the price pass compares every variant and sends nothing; it read the three
    // items in one request, not one each.
    let (mutations, item_reads, batch_reads) = (
        f.shopify.mutations(),
        f.bc.faults.calls("bc.item_by_number"),
        f.bc.faults.calls("bc.items_by_numbers"),
    );
    let c = f.run(2).await;
    assert_eq!(c.get(counters::PRICES_UNCHANGED), 4);
    assert_eq!(f.shopify.mutations(), mutations);
    assert_eq!(f.bc.faults.calls("bc.item_by_number"), item_reads);
    assert_eq!(f.bc.faults.calls("bc.items_by_numbers"), batch_reads + 1);

    // A retail price for RED in BC's price list: no item changes, the scheduled export sends it in
    // one price update, and the sales-blocked table is not reported on every scheduled run.
    f.bc.retail_price("1000", "RED", "17.5");
    f.bc.change("1001", |i| i.sales_blocked = Some(true));
    f.bc.age("1001");
    let skipped = f.skipped().await.len();
    let c = f.run(3).await;
    assert_eq!(
        (
            c.get(counters::ITEMS_READ),
            c.get(counters::PRODUCTS_EXPORTED),
            c.get(counters::PRICES_UPDATED)
        ),
        (0, 0, 1)
    );
    assert_eq!(f.shopify.faults.calls("shopify.prices"), 1);
    let red = f.shopify.product_of("1000").unwrap();
    let red = red.variants.iter().find(|v| v.value == "RED").unwrap();
    assert_eq!(red.price, "17.5");
    assert_eq!(f.skipped().await.len(), skipped);

    // Sent once: the next run finds every price as it is in Shopify.
    let c = f.run(4).await;
    assert_eq!(c.get(counters::PRICES_UPDATED), 0);
    assert_eq!(f.shopify.faults.calls("shopify.prices"), 1);

    // Without sync_prices the export sends no price at all.
    f.harness.settings.sync_prices = false;
    f.bc.lines.lock().unwrap()[0].unit_price = d("16");
    let c = f.run(5).await;
    assert_eq!(c.get(counters::PRICES_UNCHANGED), 0);
    assert_eq!(f.shopify.faults.calls("shopify.prices"), 1);
}

#[tokio::test]
async fn many_changed_prices_go_as_one_bulk_operation_and_lines_it_did_not_run_one_by_one() {
    let mut settings = retail_settings();
    settings.product_bulk_threshold = 2;
    let mut f = Fixture::with(Shopify::default(), settings);
    for no in ["2000", "2001", "2002", "2003"] {
        f.bc.add_item(no, "Mug", "8");
    }
    // Four products: the export itself goes in bulk.
    let c = f.run(1).await;
    assert_eq!(c.get(counters::BULK_OPERATIONS), 1);
    let bulk_runs = f.shopify.faults.calls("shopify.bulk_run");

    // Four new retail prices: one bulk price update of four lines; it runs three, then FAILS.
    for no in ["2000", "2001", "2002", "2003"] {
        f.bc.retail_price(no, "", "7.25");
    }
    *f.shopify.fail_bulk_after.lock().unwrap() = Some(3);
    let c = prices_only(&mut f, 2).await;
    assert_eq!(c.get(counters::BULK_OPERATIONS), 1);
    assert_eq!(c.get(counters::BULK_LINES_NOT_RUN), 1);
    assert_eq!(c.get(counters::PRICES_UPDATED), 4);
    assert_eq!(f.shopify.faults.calls("shopify.bulk_run"), bulk_runs + 1);
    // The line the operation did not run went alone, in the same run.
    assert_eq!(f.shopify.faults.calls("shopify.prices"), 1);
    for no in ["2000", "2001", "2002", "2003"] {
        let p = f.shopify.product_of(no).unwrap();
        assert_eq!(p.variants[0].price, "7.25", "{no}");
    }
    assert!(f.store.records(SHOP, PRICE_QUEUE).is_empty());

    // Every price is as sent: nothing more, in bulk or alone.
    let before = f.shopify.mutations();
    let c = prices_only(&mut f, 3).await;
    assert_eq!(c.get(counters::PRICES_UNCHANGED), 4);
    assert_eq!(f.shopify.mutations(), before);
}

#[tokio::test]
async fn a_price_line_left_queued_by_a_dead_run_is_not_sent() {
    let mut f = Fixture::with(Shopify::default(), retail_settings());
    f.catalogue();
    f.run(1).await;
    // A run computed 1.00 for the lamp, queued it and died; today's price is the unit price again.
    let lamp = f.mirror("1002").unwrap();
    let stale = PriceLine {
        item_no: "1002".into(),
        part: 0,
        update: ProductPriceUpdate {
            product_id: lamp.product_id.clone().unwrap(),
            variants: vec![VariantPriceUpdate {
                variant_id: lamp.variants[0].variant_id.clone(),
                price: "1.00".into(),
                compare_at_price: None,
                unit_cost: None,
            }],
        },
        hashes: Vec::new(),
    };
    f.store
        .put_records(
            SHOP,
            PRICE_QUEUE,
            &[Record::new(
                stale.queue_id(),
                None,
                serde_json::to_string(&stale).unwrap(),
            )],
        )
        .await
        .unwrap();
    let c = prices_only(&mut f, 2).await;
    assert_eq!(c.get(counters::PRICES_UPDATED), 0);
    assert_eq!(f.shopify.faults.calls("shopify.prices"), 0);
    assert_eq!(
        f.shopify.product_of("1002").unwrap().variants[0].price,
        "35.5"
    );
    assert!(f.store.records(SHOP, PRICE_QUEUE).is_empty());
}

/// A prices-only run as job `n`.
async fn prices_only(f: &mut Fixture, n: u32) -> JobCounters {
    f.harness.next_job(TaskKind::SyncProducts, n).await;
    f.harness.job.options.prices_only = true;
    f.harness.finish(&TASK).await
}

fn import_settings() -> ShopSettings {
    let mut s = settings();
    s.sync_item = SyncDirection::FromShopify;
    s.can_update_shopify_products = false;
    s.shopify_can_update_items = true;
    s.auto_create_unknown_items = true;
    s.item_template_no = Some("TEMPLATE".into());
    s
}

#[tokio::test]
async fn an_import_updates_and_creates_items_once_and_records_what_it_cannot_map() {
    let mut f = Fixture::with(Shopify::default(), import_settings());
    f.bc.add_item("1000", "Chair", "20");
    let chair = f.shopify.add_product("Red chair", "1000", "22.00");
    let stool = f.shopify.add_product("Stool", "NEW-1", "15");
    // The creation's answer is lost: the probe finds the item, no second POST.
    f.bc.faults
        .drop_answer_next("bc.create_item", 1, Faults::connection_reset("bc"));
    f.run_through_faults(1).await;
    let item = f.bc.item("1000").unwrap();
    assert_eq!(
        (item.description.as_str(), item.unit_price.as_str()),
        ("Red chair", "22")
    );
    let created = f.bc.item("NEW-1").unwrap();
    assert_eq!(
        (created.description.as_str(), created.unit_price.as_str()),
        ("Stool", "15")
    );
    assert_eq!(f.bc.faults.calls("bc.create_item"), 1);
    assert_eq!(f.bc.items.lock().unwrap().len(), 2);
    assert_eq!(
        f.mirror("1000").unwrap().product_id.as_deref(),
        Some(chair.as_str())
    );
    assert_eq!(
        f.mirror("NEW-1").unwrap().product_id.as_deref(),
        Some(stool.as_str())
    );

    // Without auto-create, an unknown product is unmapped, and mapped once it may be created.
    f.settings.auto_create_unknown_items = false;
    let vase = f.shopify.add_product("Vase", "NEW-2", "5");
    f.run(2).await;
    let unmapped = f.store.record(
        SHOP,
        UNMAPPED_PRODUCTS,
        crate::catalogue::numeric_id(&vase).unwrap(),
    );
    assert_eq!(unmapped.unwrap().status.as_deref(), Some(status::UNMAPPED));
    let updates = f.bc.faults.calls("bc.update_item");
    f.settings.auto_create_unknown_items = true;
    f.run(3).await;
    assert!(f.bc.item("NEW-2").is_some());
    assert!(f.store.records(SHOP, UNMAPPED_PRODUCTS).is_empty());
    // Unchanged products are not written again.
    assert_eq!(f.bc.faults.calls("bc.update_item"), updates);
}

#[tokio::test]
async fn an_item_changed_in_bc_during_an_import_is_not_overwritten() {
    let mut f = Fixture::with(Shopify::default(), import_settings());
    f.bc.add_item("1000", "Chair", "20");
    f.shopify.add_product("Red chair", "1000", "22.00");
    f.harness.next_job(TaskKind::SyncProducts, 1).await;
    f.saved.deadline.store(true, Ordering::Relaxed);
    // Start, then the page of products (the update is planned with the ETag read).
    for _ in 0..2 {
        assert!(matches!(
            f.harness.invoke(&TASK).await.unwrap(),
            RunOutcome::Continue { .. }
        ));
    }
    f.bc.change("1000", |i| i.description = "Blue chair (BC)".into());
    f.saved.deadline.store(false, Ordering::Relaxed);
    let c = f.harness.finish(&TASK).await;
    assert_eq!(c.get(counters::ITEM_CONFLICTS), 1);
    assert_eq!(f.bc.item("1000").unwrap().description, "Blue chair (BC)");
    let m = f.mirror("1000").unwrap();
    assert!(m.last_error.unwrap().contains("BC's change is kept"));
    assert!(
        f.skipped()
            .await
            .iter()
            .any(|s| s.starts_with("1000: The item changed in BC"))
    );
    // Not retried until the product changes in Shopify again.
    f.run(2).await;
    assert_eq!(f.bc.item("1000").unwrap().description, "Blue chair (BC)");
}

#[tokio::test]
async fn an_import_does_not_take_back_bcs_own_export() {
    let mut f = Fixture::with(Shopify::default(), import_settings());
    f.bc.add_item("1000", "Chair", "20");
    let id = f.shopify.add_product("Chair from BC", "1000", "20");
    let updated = f.shopify.products.lock().unwrap()[0].updated_at.clone();
    let mut m = MirroredProduct::new("1000");
    m.product_id = Some(id);
    m.exported_updated_at = Some(updated);
    crate::catalogue::save(&f.store, SHOP, &m, 0).await.unwrap();
    let c = f.run(1).await;
    assert_eq!(c.get(counters::PRODUCTS_OWN_EXPORT), 1);
    assert_eq!(f.bc.item("1000").unwrap().description, "Chair");
    assert_eq!(f.bc.faults.calls("bc.update_item"), 0);
}

#[tokio::test]
async fn runs_are_skipped_when_the_settings_say_so() {
    let mut s = settings();
    s.can_update_shopify_products = false;
    assert!(TASK.skip_reason(&s).is_some());
    s.sync_item = SyncDirection::Disabled;
    assert!(TASK.skip_reason(&s).is_some());
    assert!(TASK.skip_reason(&settings()).is_none());
    assert!(TASK.skip_reason(&import_settings()).is_none());
}

#[tokio::test]
async fn an_import_creates_the_item_variants_a_product_names_once() {
    let mut settings = import_settings();
    settings.sku_mapping = shopsync_domain::settings::SkuMapping::ItemNoPlusVariantCode;
    let mut f = Fixture::with(Shopify::default(), settings);
    f.bc.add_item("TABLE", "Table", "100");
    f.bc.add_variant("TABLE", "OAK");
    f.shopify
        .add_product_with("Chair", &["CHAIR|RED", "CHAIR|BLUE"], "30");
    f.shopify
        .add_product_with("Table", &["TABLE|OAK", "TABLE|PINE"], "100");
    f.bc.faults
        .drop_answer_next("bc.create_item_variant", 1, Faults::connection_reset("bc"));
    f.run_through_faults(1).await;
    let codes = |item_id: &str| -> Vec<String> {
        let mut c: Vec<String> =
            f.bc.variants
                .lock()
                .unwrap()
                .iter()
                .filter(|v| v.item_id == item_id)
                .map(|v| v.code.clone())
                .collect();
        c.sort();
        c
    };
    let chair = f.bc.item("CHAIR").expect("the item, from the template");
    assert_eq!(codes(&chair.id), ["BLUE", "RED"]);
    assert_eq!(codes("item-TABLE"), ["OAK", "PINE"]);
    assert_eq!(f.bc.faults.calls("bc.create_item_variant"), 3);
    let m = f.mirror("CHAIR").unwrap();
    let mirrored: Vec<Option<&str>> = m
        .variants
        .iter()
        .map(|v| v.variant_code.as_deref())
        .collect();
    assert_eq!(mirrored, [Some("RED"), Some("BLUE")]);
    // Nothing new: nothing created.
    f.run(2).await;
    assert_eq!(f.bc.faults.calls("bc.create_item_variant"), 3);
}
