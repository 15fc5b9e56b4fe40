//! `sync-catalogs` and `sync-catalog-prices` on the engine against in-memory doubles: a Shopify
//! double holding catalogs by type and the fixed prices of their price lists (applying a
//! `priceListFixedPricesAdd` all or nothing, as Shopify does when a row is refused), a BC double
//! with items and published price lines, and the record store of `shopsync-test-support`.

use super::prices::counters as price_counters;
use super::sync::counters as sync_counters;
use super::*;
use crate::catalogue::{self, MirroredVariant};
use crate::engine::ShopClients;
use crate::test_run::{TaskHarness, deref_to_harness};
use async_trait::async_trait;
use shopsync_domain::TaskKind;
use shopsync_domain::b2b_catalogs::{
    CatalogsPage, FixedPrice, FixedPricesAddOutcome, FixedPricesAddRequest, PriceUserError,
    ShopifyB2bCatalogsApi, ShopifyCatalog,
};
use shopsync_domain::inventory::BcItemType;
use shopsync_domain::items::{
    BcCatalogItem, BcItemVariant, ItemBatch, ItemCursor, ItemDefaults, ItemUpdate, NewItem,
    NewItemVariant, PictureState, PriceListLine, PriceScope, PriceTarget, SalesPrice,
    resolve_prices,
};
use shopsync_domain::orders::Page;
use shopsync_domain::ports::{RecordStore, Result as PortResult, SkippedRecordStore};
use shopsync_domain::sales::Decimal;
use shopsync_domain::settings::ShopSettings;
use shopsync_test_support::MemoryStore;
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

const SHOP: &str = "CAT";
const PRICE_LIST: &str = "gid://shopify/PriceList/500";

fn settings() -> ShopSettings {
    ShopSettings::from_json(
        &serde_json::json!({
            "code": SHOP,
            "shopify": {"store_domain": "cat.myshopify.com", "access_token_secret_id": "shopsync/CAT/shopify"},
            "bc": {"tenant": "contoso", "environment": "production",
                   "company_id": "5d5d2b5a-6a47-4d36-9a55-4f4c0f0e1a01", "credentials_secret_id": "shopsync/CAT/bc",
                   "company_name": "CRONUS"},
            "sales_prices_page": "SalesPrices",
            "customer_price_group": "RETAIL"
        })
        .to_string(),
    )
    .unwrap()
}

fn d(s: &str) -> Decimal {
    Decimal::parse(s).unwrap()
}

fn variant_gid(n: usize) -> String {
    format!("gid://shopify/ProductVariant/{}", 1000 + n)
}

fn company_catalog(n: u64, publication: Option<&str>) -> ShopifyCatalog {
    ShopifyCatalog {
        id: format!("gid://shopify/CompanyLocationCatalog/{n}"),
        catalog_type: CatalogType::CompanyLocation,
        title: format!("Company {n}"),
        status: "ACTIVE".into(),
        price_list: Some(PriceListRef {
            id: PRICE_LIST.into(),
            currency: "EUR".into(),
        }),
        publication_id: publication.map(String::from),
        markets: Vec::new(),
        company_locations: vec![CatalogLink {
            id: format!("gid://shopify/CompanyLocation/{n}"),
            name: "HQ".into(),
            external_id: Some("C10000".into()),
        }],
    }
}

fn market_catalog(n: u64) -> ShopifyCatalog {
    ShopifyCatalog {
        id: format!("gid://shopify/MarketCatalog/{n}"),
        catalog_type: CatalogType::Market,
        title: format!("Market {n}"),
        status: "ACTIVE".into(),
        price_list: Some(PriceListRef {
            id: "gid://shopify/PriceList/900".into(),
            currency: "CHF".into(),
        }),
        publication_id: Some("gid://shopify/Publication/9".into()),
        markets: vec![CatalogLink {
            id: "gid://shopify/Market/1".into(),
            name: "Switzerland".into(),
            external_id: None,
        }],
        company_locations: Vec::new(),
    }
}

/// Shopify's catalogs and price lists.
#[derive(Default)]
struct Shopify {
    catalogs: Mutex<Vec<ShopifyCatalog>>,
    /// Price list → variant → fixed price.
    fixed: Mutex<BTreeMap<String, BTreeMap<String, FixedPrice>>>,
    /// Variants whose price Shopify refuses.
    refuse: Mutex<HashSet<String>>,
    calls: Mutex<Vec<FixedPricesAddRequest>>,
}

impl Shopify {
    fn calls(&self) -> Vec<FixedPricesAddRequest> {
        self.calls.lock().unwrap().clone()
    }
    fn fixed_price(&self, variant: &str) -> Option<String> {
        self.fixed
            .lock()
            .unwrap()
            .get(PRICE_LIST)
            .and_then(|m| m.get(variant))
            .map(|p| p.price.as_str().to_string())
    }
}

#[async_trait]
impl ShopifyB2bCatalogsApi for Shopify {
    async fn catalogs_page(
        &self,
        catalog_type: CatalogType,
        after: Option<&str>,
    ) -> PortResult<CatalogsPage> {
        // Pages of one, so paging is exercised.
        let of_type: Vec<ShopifyCatalog> = self
            .catalogs
            .lock()
            .unwrap()
            .iter()
            .filter(|c| c.catalog_type == catalog_type)
            .cloned()
            .collect();
        let start = after.map_or(0, |a| a.parse::<usize>().unwrap());
        let items: Vec<_> = of_type.iter().skip(start).take(1).cloned().collect();
        let next = start + 1;
        Ok(CatalogsPage {
            shop_currency: "EUR".into(),
            page: Page {
                next_cursor: (next < of_type.len()).then(|| next.to_string()),
                items,
            },
        })
    }

    async fn price_list_fixed_prices_page(
        &self,
        price_list_id: &str,
        after: Option<&str>,
    ) -> PortResult<Page<FixedPrice>> {
        let all: Vec<FixedPrice> = self
            .fixed
            .lock()
            .unwrap()
            .get(price_list_id)
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default();
        let start = after.map_or(0, |a| a.parse::<usize>().unwrap());
        let next = start + 100;
        Ok(Page {
            items: all.iter().skip(start).take(100).cloned().collect(),
            next_cursor: (next < all.len()).then(|| next.to_string()),
        })
    }

    async fn price_list_fixed_prices_add(
        &self,
        request: &FixedPricesAddRequest,
    ) -> PortResult<FixedPricesAddOutcome> {
        request.validate()?;
        self.calls.lock().unwrap().push(request.clone());
        let refuse = self.refuse.lock().unwrap().clone();
        let user_errors: Vec<PriceUserError> = request
            .prices
            .iter()
            .enumerate()
            .filter(|(_, p)| refuse.contains(&p.variant_id))
            .map(|(i, _)| PriceUserError {
                field: vec!["prices".into(), i.to_string(), "variantId".into()],
                message: "Variant not found".into(),
                code: Some("VARIANT_NOT_FOUND".into()),
            })
            .collect();
        if !user_errors.is_empty() {
            return Ok(FixedPricesAddOutcome {
                applied: Vec::new(),
                user_errors,
            });
        }
        let mut fixed = self.fixed.lock().unwrap();
        let list = fixed.entry(request.price_list_id.clone()).or_default();
        for p in &request.prices {
            list.insert(
                p.variant_id.clone(),
                FixedPrice {
                    variant_id: p.variant_id.clone(),
                    price: p.price.clone(),
                    compare_at: p.compare_at.clone(),
                    currency: request.currency.clone(),
                },
            );
        }
        Ok(FixedPricesAddOutcome {
            applied: request
                .prices
                .iter()
                .map(|p| p.variant_id.clone())
                .collect(),
            user_errors: Vec::new(),
        })
    }
}

shopsync_test_support::no_shopify_usage!(Shopify);
shopsync_test_support::unused_shopify_orders_api!(Shopify);
shopsync_test_support::unused_shopify_inventory_api!(Shopify);
shopsync_test_support::unused_shopify_catalog_api!(Shopify);
shopsync_test_support::unused_shopify_companies_api!(Shopify);
shopsync_test_support::unused_shopify_customers_api!(Shopify);

/// BC's items and published price lines.
#[derive(Default)]
struct Bc {
    items: Mutex<Vec<BcCatalogItem>>,
    lines: Mutex<Vec<PriceListLine>>,
}

impl Bc {
    fn add_item(&self, no: &str, unit_price: &str) {
        self.items.lock().unwrap().push(BcCatalogItem {
            id: format!("id-{no}"),
            number: no.into(),
            description: no.into(),
            item_type: BcItemType::Inventory,
            gtin: None,
            unit_price: d(unit_price),
            unit_cost: d("0"),
            price_includes_tax: false,
            blocked: false,
            sales_blocked: None,
            item_category_code: String::new(),
            base_unit_of_measure_code: "PCS".into(),
            modified_ms: 1,
            etag: "W/\"1\"".into(),
        });
    }

    fn set_unit_price(&self, no: &str, price: &str) {
        let mut items = self.items.lock().unwrap();
        items
            .iter_mut()
            .find(|i| i.number == no)
            .unwrap()
            .unit_price = d(price);
    }

    fn add_line(&self, no: &str, group: &str, price: &str) {
        self.lines.lock().unwrap().push(PriceListLine {
            item_number: no.into(),
            variant_code: String::new(),
            price_group: group.into(),
            currency_code: String::new(),
            minimum_quantity: d("0"),
            unit_price: d(price),
            starting_date: String::new(),
            ending_date: String::new(),
        });
    }
}

#[async_trait]
impl shopsync_domain::items::BcItemsApi for Bc {
    async fn items_modified_since(&self, _cursor: Option<&ItemCursor>) -> PortResult<ItemBatch> {
        let items = self.items.lock().unwrap().clone();
        Ok(ItemBatch {
            next_cursor: items.last().map(BcCatalogItem::cursor),
            items,
        })
    }
    async fn item_by_number(&self, _number: &str) -> PortResult<Option<BcCatalogItem>> {
        unreachable!("catalog prices read items in one batch")
    }
    async fn item_variants(&self, _item_id: &str) -> PortResult<Vec<BcItemVariant>> {
        unreachable!("not used")
    }
    async fn items_by_numbers(&self, _numbers: &[String]) -> PortResult<Vec<BcCatalogItem>> {
        unreachable!("catalog prices read items in one batch")
    }
    async fn item_variants_modified_since(&self, _since: i64) -> PortResult<Vec<BcItemVariant>> {
        unreachable!("not used")
    }
    async fn item_template(&self, _n: &str) -> PortResult<ItemDefaults> {
        unreachable!("not used")
    }
    async fn create_item(&self, _item: &NewItem) -> PortResult<BcCatalogItem> {
        unreachable!("not used")
    }
    async fn update_item(
        &self,
        _item_id: &str,
        _etag: &str,
        _update: &ItemUpdate,
    ) -> PortResult<Option<BcCatalogItem>> {
        unreachable!("not used")
    }
    async fn create_item_variant(&self, _v: &NewItemVariant) -> PortResult<BcItemVariant> {
        unreachable!("not used")
    }
    async fn item_picture(&self, _item_id: &str) -> PortResult<PictureState> {
        unreachable!("not used")
    }
    async fn set_item_picture(&self, _id: &str, _etag: &str, _c: &[u8]) -> PortResult<()> {
        unreachable!("not used")
    }
    async fn sales_prices(
        &self,
        page: Option<&str>,
        _company_name: &str,
        scope: &PriceScope,
        targets: &[PriceTarget],
    ) -> PortResult<Vec<SalesPrice>> {
        let lines = if page.is_some() {
            self.lines.lock().unwrap().clone()
        } else {
            Vec::new()
        };
        Ok(resolve_prices(&lines, scope, targets))
    }
}

shopsync_test_support::unused_bc_inventory_api!(Bc);
shopsync_test_support::unused_bc_sales_api!(Bc);
shopsync_test_support::unused_bc_customers_api!(Bc);

struct Fixture {
    shopify: Arc<Shopify>,
    bc: Arc<Bc>,
    harness: TaskHarness,
}

deref_to_harness!(Fixture);

impl Fixture {
    fn new() -> Fixture {
        let shopify = Arc::new(Shopify::default());
        let bc = Arc::new(Bc::default());
        let clients = ShopClients {
            shopify: shopify.clone(),
            bc: bc.clone(),
        };
        Fixture {
            harness: TaskHarness::new(
                MemoryStore::new(),
                clients,
                settings(),
                TaskKind::SyncCatalogs,
            ),
            shopify,
            bc,
        }
    }

    /// `n` BC items `ITEM-000..`, each priced `price` and linked to one Shopify variant.
    async fn items(&self, n: usize, price: &str) {
        for i in 0..n {
            let no = format!("ITEM-{i:03}");
            self.bc.add_item(&no, price);
            catalogue::update(&self.store, SHOP, &no, |p| {
                p.product_id = Some(format!("gid://shopify/Product/{}", 500 + i));
                p.variants = vec![MirroredVariant {
                    variant_id: variant_gid(i),
                    ..Default::default()
                }];
                true
            })
            .await
            .unwrap();
        }
    }

    async fn catalog(&self, id: &str) -> Option<(StoredCatalog, Option<String>)> {
        self.store
            .get_record(SHOP, CATALOGS, id)
            .await
            .unwrap()
            .map(|r| (StoredCatalog::from_record(&r).unwrap(), r.status))
    }
}

#[tokio::test]
async fn catalogs_of_both_types_are_mirrored_and_disappeared_ones_marked_gone() {
    let mut f = Fixture::new();
    *f.shopify.catalogs.lock().unwrap() = vec![
        company_catalog(1, None),
        company_catalog(2, None),
        market_catalog(3),
    ];
    let c = f.run(&SyncCatalogsTask, 1).await;
    assert_eq!(c.get(sync_counters::CATALOGS_STORED), 3);
    let (one, status) = f.catalog("1").await.unwrap();
    assert_eq!(status, None);
    assert!(
        one.prices_enabled,
        "company-location catalogs are priced by default"
    );
    assert_eq!(
        one.company_locations[0].external_id.as_deref(),
        Some("C10000")
    );
    let (market, _) = f.catalog("3").await.unwrap();
    assert!(
        !market.prices_enabled,
        "market catalogs are not, until the merchant says so"
    );
    assert_eq!(market.markets[0].name, "Switzerland");
    assert_eq!(market.price_list.as_ref().unwrap().currency, "CHF");

    // The merchant picks a price group for catalog 2; catalog 1 disappears from Shopify.
    let mut two = f.catalog("2").await.unwrap().0;
    two.price_group = Some("WHOLESALE".into());
    f.store
        .put_records(SHOP, CATALOGS, &[two.to_record().unwrap()])
        .await
        .unwrap();
    f.shopify.catalogs.lock().unwrap().remove(0);
    f.saved.deadline.store(true, Ordering::Relaxed);
    let c = f.run(&SyncCatalogsTask, 2).await;
    assert_eq!(c.get(sync_counters::CATALOGS_GONE), 1);
    assert_eq!(c.get(sync_counters::CATALOGS_UNCHANGED), 2);
    let (one, status) = f.catalog("1").await.unwrap();
    assert_eq!(status.as_deref(), Some(status::GONE));
    assert!(one.gone && one.gone_since.is_some() && !one.priced());
    let (two, status) = f.catalog("2").await.unwrap();
    assert_eq!(status, None);
    assert_eq!(two.price_group.as_deref(), Some("WHOLESALE"), "kept");

    // It comes back: present again; a run that changes nothing writes nothing.
    f.shopify
        .catalogs
        .lock()
        .unwrap()
        .push(company_catalog(1, None));
    let c = f.run(&SyncCatalogsTask, 3).await;
    assert_eq!(c.get(sync_counters::CATALOGS_UPDATED), 1);
    assert_eq!(f.catalog("1").await.unwrap().1, None);
    let c = f.run(&SyncCatalogsTask, 4).await;
    assert_eq!(c.get(sync_counters::CATALOGS_UNCHANGED), 3);
    assert_eq!(c.get(sync_counters::CATALOGS_GONE), 0);
}

#[tokio::test]
async fn unchanged_prices_make_zero_mutations() {
    let mut f = Fixture::new();
    *f.shopify.catalogs.lock().unwrap() = vec![company_catalog(1, None), market_catalog(2)];
    f.run(&SyncCatalogsTask, 1).await;
    f.items(3, "20").await;
    f.bc.add_line("ITEM-000", "RETAIL", "17.5");

    let c = f.run(&SyncCatalogPricesTask, 2).await;
    assert_eq!(
        f.shopify.calls().len(),
        1,
        "the market catalog is not priced"
    );
    assert_eq!(c.get(price_counters::PRICES_CHANGED), 3);
    assert_eq!(c.get(price_counters::PRICES_SET), 3);
    assert_eq!(
        f.shopify.fixed_price(&variant_gid(0)).as_deref(),
        Some("17.5")
    );
    assert_eq!(
        f.shopify.fixed_price(&variant_gid(1)).as_deref(),
        Some("20")
    );
    let sync = f.catalog("1").await.unwrap().0.last_price_sync.unwrap();
    assert_eq!((sync.prices_checked, sync.prices_changed), (3, 3));

    let c = f.run(&SyncCatalogPricesTask, 3).await;
    assert_eq!(f.shopify.calls().len(), 1, "no second call");
    assert_eq!(c.get(price_counters::PRICES_UNCHANGED), 3);
    assert_eq!(c.get(price_counters::PRICES_CHANGED), 0);

    // One price changes in BC: one call of one row.
    f.bc.set_unit_price("ITEM-002", "21.00");
    f.run(&SyncCatalogPricesTask, 4).await;
    let calls = f.shopify.calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[1].prices.len(), 1);
    assert_eq!(calls[1].prices[0].variant_id, variant_gid(2));
}

#[tokio::test]
async fn two_hundred_fifty_one_changed_prices_take_two_calls() {
    let mut f = Fixture::new();
    *f.shopify.catalogs.lock().unwrap() = vec![company_catalog(1, None)];
    f.run(&SyncCatalogsTask, 1).await;
    f.items(251, "9.99").await;
    // Every planning step in its own invocation: the pending rows ride in the checkpoint.
    f.saved.deadline.store(true, Ordering::Relaxed);
    let c = f.run(&SyncCatalogPricesTask, 2).await;
    let calls = f.shopify.calls();
    assert_eq!(
        calls.iter().map(|c| c.prices.len()).collect::<Vec<_>>(),
        [250, 1]
    );
    assert_eq!(c.get(price_counters::PRICES_SET), 251);
    let sent: HashSet<String> = calls
        .iter()
        .flat_map(|c| c.prices.iter().map(|p| p.variant_id.clone()))
        .collect();
    assert_eq!(sent.len(), 251, "each price once");
}

#[tokio::test]
async fn a_refused_price_is_a_skipped_record_and_the_rest_goes_through() {
    let mut f = Fixture::new();
    *f.shopify.catalogs.lock().unwrap() = vec![company_catalog(1, None)];
    f.run(&SyncCatalogsTask, 1).await;
    f.items(3, "5").await;
    f.shopify.refuse.lock().unwrap().insert(variant_gid(1));
    let warnings = {
        f.next_job(TaskKind::SyncCatalogPrices, 2).await;
        f.harness.until_finished(&SyncCatalogPricesTask).await
    };
    assert!(warnings, "a refused price is a warning");
    let calls = f.shopify.calls();
    assert_eq!(calls.len(), 2, "the call, then its other rows once more");
    assert_eq!(calls[1].prices.len(), 2);
    assert_eq!(f.shopify.fixed_price(&variant_gid(0)).as_deref(), Some("5"));
    assert_eq!(f.shopify.fixed_price(&variant_gid(1)), None);
    let skipped = f.store.list_skipped(SHOP, 10).await.unwrap();
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0].record_id, variant_gid(1));
    assert!(
        skipped[0].reason.contains("VARIANT_NOT_FOUND"),
        "{}",
        skipped[0].reason
    );
    let skip = f
        .store
        .get_record(SHOP, PRICE_SKIPS, "1-1001")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(skip.status.as_deref(), Some(status::SKIPPED));
}

#[tokio::test]
async fn a_catalog_with_an_empty_publication_still_gets_its_prices() {
    let mut f = Fixture::new();
    // No publication at all, and one with no products: both priced (the reference skips them).
    *f.shopify.catalogs.lock().unwrap() = vec![
        company_catalog(1, None),
        company_catalog(2, Some("gid://shopify/Publication/77")),
    ];
    f.run(&SyncCatalogsTask, 1).await;
    f.items(2, "3.5").await;
    let c = f.run(&SyncCatalogPricesTask, 2).await;
    assert_eq!(c.get(price_counters::CATALOGS_PRICED), 2);
    assert_eq!(
        f.shopify.fixed_price(&variant_gid(1)).as_deref(),
        Some("3.5")
    );
    for id in ["1", "2"] {
        assert!(f.catalog(id).await.unwrap().0.last_price_sync.is_some());
    }
}

#[tokio::test]
async fn a_foreign_currency_without_a_bc_line_is_unpriced_not_sent() {
    let mut f = Fixture::new();
    let mut catalog = market_catalog(2);
    catalog.price_list.as_mut().unwrap().id = PRICE_LIST.into();
    *f.shopify.catalogs.lock().unwrap() = vec![catalog];
    f.run(&SyncCatalogsTask, 1).await;
    let mut stored = f.catalog("2").await.unwrap().0;
    stored.prices_enabled = true;
    f.store
        .put_records(SHOP, CATALOGS, &[stored.to_record().unwrap()])
        .await
        .unwrap();
    f.items(2, "3").await;
    let c = f.run(&SyncCatalogPricesTask, 2).await;
    assert!(f.shopify.calls().is_empty());
    assert_eq!(c.get(price_counters::PRICES_UNPRICED), 2);
}
