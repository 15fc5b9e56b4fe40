//! `sync-products` through the real path: the scheduled fan-out and a manual run, the task queue on
//! moto, the worker, DynamoDB, and the Shopify and BC simulators over HTTP (`productSet` keyed by the
//! `shopsync.bc_item` metafield, bulk mutations over a staged JSONL file, items PATCHed with their
//! ETag).
//!
//! - **Export under faults.** With 20 % of the requests on both sides failing (answers lost after the
//!   write among them, and one `productSet` answer certainly lost) and a message delivered twice, two
//!   shops export the same catalogue, one
//!   item by item and one through a bulk operation: each item has exactly one product, both shops end
//!   in the same Shopify state, and a run with nothing changed sends no mutation.
//! - **A bulk operation that fails half-way** (the simulator stops it after three lines, one of which
//!   Shopify refuses): the refused line is a skipped record and stays in the retry list, the lines
//!   that did not run are sent one by one in the same run, and once the item is fixed in BC the shop
//!   ends as a shop exported item by item.
//! - **Import.** A product is written to its BC item, an unknown one creates an item from the template
//!   item (once, under faults), and an item changed in BC while the import runs keeps BC's change.
//!
//! The rules are unit-tested in `shared/tasks/src/products/tests.rs`.

use bc_sim::{BcFault, BcFaultRule, SimItem};
use shopify_sim::{CatalogProduct, CatalogVariantSeed, FaultKind, ProductSeed};
use shopsync_domain::TaskKind;
use shopsync_domain::catalog::{ProductIdentifier, ProductSetRequest};
use shopsync_domain::job::{JobRecord, JobStatus, RunOptions};
use shopsync_domain::ports::{JobStore, SettingsStore, SkippedRecordStore};
use shopsync_domain::settings::{ShopSettings, SyncDirection, TaskSettings};
use shopsync_e2e::faults::{duplicate_a_message, faults_off, faults_on};
use shopsync_e2e::jobs::{queue_manual_run, tick_and_drain, total};
use shopsync_e2e::{Stack, StackOptions, local_runtime, tick_at};
use shopsync_runtime::RuntimeConfig;
use shopsync_runtime::local::LocalRunner;
use shopsync_tasks::catalogue::{self, MirroredProduct};
use shopsync_tasks::engine::ClientSource;
use shopsync_tasks::engine::clients::ClientFactory;
use shopsync_tasks::products::counters as c;
use std::time::Duration;

const DRAIN: Duration = Duration::from_secs(300);
/// The schedule's interval of sync-products (minutes): one tick an hour queues the shop again.
const HOUR: i64 = 60;
/// What the catalogue writes count as mutations.
const MUTATIONS: [&str; 3] = [
    "productSet",
    "bulkOperationRunMutation",
    "productVariantsBulkUpdate",
];

fn runtime() -> RuntimeConfig {
    RuntimeConfig {
        // A few steps per invocation, so the runs continue across messages too.
        max_run: Some(Duration::from_millis(300)),
        metrics: shopsync_runtime::metrics::MetricsSink::Off,
        ..local_runtime()
    }
}

fn products_runner(stack: &Stack) -> LocalRunner {
    stack
        .runner_for(TaskKind::SyncProducts, "SyncProductsQueue", runtime())
        .expect("the template has the sync-products queue")
}

/// A shop with sync-products on and `n` BC items (the first with variants RED and BLUE).
struct ProductsShop {
    code: String,
    domain: String,
    company: bc_sim::CompanyHandle,
    settings: ShopSettings,
    items: Vec<String>,
}

async fn products_shop(
    stack: &Stack,
    code: &str,
    n: usize,
    change: impl FnOnce(&mut ShopSettings),
) -> ProductsShop {
    let demo = stack.seed_shop(code, n).await.expect("seeded shop");
    let mut settings = demo.settings.clone();
    settings.tasks.insert(
        TaskKind::SyncProducts,
        TaskSettings {
            enabled: true,
            ..TaskSettings::default()
        },
    );
    settings.tasks.remove(&TaskKind::SyncInventory);
    settings.sync_item = SyncDirection::ToShopify;
    settings.can_update_shopify_products = true;
    change(&mut settings);
    stack.adapters.store.put_shop(&settings).await.unwrap();
    let items: Vec<String> = (0..n).map(|i| format!("{}{i:06}", demo.prefix)).collect();
    demo.company.add_item_variant(&items[0], "RED");
    demo.company.add_item_variant(&items[0], "BLUE");
    ProductsShop {
        code: code.into(),
        domain: demo.domain,
        company: demo.company,
        settings,
        items,
    }
}

impl ProductsShop {
    async fn mirror(&self, stack: &Stack, number: &str) -> Option<MirroredProduct> {
        catalogue::load(stack.adapters.store.as_ref(), &self.code, number)
            .await
            .unwrap()
            .map(|m| m.product)
    }

    /// The products an export made (keyed by the BC item metafield).
    /// The product exported for `item`.
    fn product_of(&self, stack: &Stack, item: &str) -> CatalogProduct {
        self.exported(stack)
            .into_iter()
            .find(|(i, _)| i == item)
            .map(|(_, p)| p)
            .unwrap_or_else(|| panic!("no product for item {item}"))
    }

    fn exported(&self, stack: &Stack) -> Vec<(String, CatalogProduct)> {
        stack
            .shopify
            .store(&self.domain)
            .catalog_products()
            .into_iter()
            .filter_map(|p| {
                let item = p
                    .metafields
                    .iter()
                    .find(|(n, k, _)| n == "shopsync" && k == "bc_item")
                    .map(|(_, _, v)| v.clone())?;
                Some((item, p))
            })
            .collect()
    }

    /// The exported catalogue without ids, times and this shop's item prefix: what two shops with
    /// the same items must agree on.
    fn state(&self, stack: &Stack) -> Vec<String> {
        let prefix = format!("{}-", self.code);
        let mut out: Vec<String> = self
            .exported(stack)
            .into_iter()
            .map(|(item, p)| {
                let variants: Vec<String> = p
                    .variants
                    .iter()
                    .map(|v| {
                        format!(
                            "{:?} sku={:?} price={} compare_at={:?} cost={:?}",
                            v.options, v.sku, v.price, v.compare_at_price, v.unit_cost
                        )
                    })
                    .collect();
                format!(
                    "{item}: {} [{}] {:?} {}",
                    p.title,
                    p.status,
                    p.options,
                    variants.join("; ")
                )
                .replace(&prefix, "")
            })
            .collect();
        out.sort();
        out
    }

    /// Catalogue mutations Shopify applied for this shop.
    fn mutations(&self, stack: &Stack) -> usize {
        stack
            .shopify
            .store(&self.domain)
            .catalog_writes()
            .iter()
            .filter(|w| MUTATIONS.contains(&w.mutation.as_str()))
            .count()
    }

    async fn jobs(&self, stack: &Stack) -> Vec<JobRecord> {
        stack
            .jobs(&self.code)
            .await
            .into_iter()
            .filter(|j| j.task == TaskKind::SyncProducts)
            .collect()
    }

    /// Every item has its product, linked in the mirror, with no error.
    async fn all_exported(&self, stack: &Stack) -> bool {
        for number in &self.items {
            match self.mirror(stack, number).await {
                Some(m) if m.product_id.is_some() && m.status.is_none() => {}
                _ => return false,
            }
        }
        true
    }
}

/// One scheduled tick at `minutes` that queues `shops` jobs, then the queue drained.
async fn tick(runner: &LocalRunner, minutes: i64, shops: usize) {
    tick_and_drain(runner, minutes, shops, DRAIN).await;
}

/// A manual run (as the api function queues one) of `code`: a `queued` job and its message.
async fn manual_run(
    stack: &Stack,
    runner: &LocalRunner,
    code: &str,
    options: RunOptions,
) -> String {
    queue_manual_run(stack, runner, code, TaskKind::SyncProducts, options, DRAIN).await
}

/// A manual run of `code` with `options`, and its job, which succeeded.
async fn manual_job(
    stack: &Stack,
    runner: &LocalRunner,
    code: &str,
    options: RunOptions,
) -> JobRecord {
    let id = manual_run(stack, runner, code, options).await;
    let job = job(stack, code, &id).await;
    assert_eq!(job.status, JobStatus::Succeeded, "{:?}", job.error);
    job
}

async fn job(stack: &Stack, code: &str, id: &str) -> JobRecord {
    stack
        .adapters
        .store
        .get_job(code, id)
        .await
        .unwrap()
        .expect("the job")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_under_faults_makes_each_product_once_and_bulk_and_per_record_agree() {
    let stack = Stack::start(StackOptions {
        runtime: runtime(),
        ..StackOptions::default()
    })
    .await
    .expect("local stack");
    let one = products_shop(&stack, "PRODONE", 5, |_| {}).await;
    let bulk = products_shop(&stack, "PRODBULK", 5, |s| s.product_bulk_threshold = 2).await;
    let runner = products_runner(&stack);

    faults_on(&stack, 30_108);
    // Certainly, on top of the random faults: Shopify applies a productSet and the answer is lost.
    stack
        .shopify
        .script_fault(FaultKind::DropAfterApply, Some("productSet"), 1);
    let report = runner.tick(tick_at(0)).await;
    assert_eq!(report.queued.len(), 2, "{report:?}");
    duplicate_a_message(&stack, &runner.queue_url).await;
    runner.drain(DRAIN).await.expect("the queue drains");
    // A job that used up its receives under the faults is dead-lettered; the next tick finishes.
    let mut minutes = 0;
    let mut reruns = 0;
    while !(one.all_exported(&stack).await && bulk.all_exported(&stack).await) {
        reruns += 1;
        assert!(reruns <= 3, "three more runs did not finish the export");
        minutes += HOUR;
        tick(&runner, minutes, 2).await;
    }
    let (shopify, bc) = (stack.shopify.stats(), stack.bc.stats());
    assert!(shopify.injected_faults > 0 && bc.injected_faults > 0);
    faults_off(&stack);

    for shop in [&one, &bulk] {
        let exported = shop.exported(&stack);
        let mut items: Vec<&String> = exported.iter().map(|(i, _)| i).collect();
        items.sort();
        items.dedup();
        assert_eq!(exported.len(), 5, "{}: one product per item", shop.code);
        assert_eq!(items.len(), 5, "{}: no item twice", shop.code);
        for (item, p) in &exported {
            let m = shop.mirror(&stack, item).await.unwrap();
            assert_eq!(m.product_id.as_deref(), Some(p.id.as_str()), "{item}");
            let ids: Vec<&str> = m.variants.iter().map(|v| v.variant_id.as_str()).collect();
            let theirs: Vec<&str> = p.variants.iter().map(|v| v.id.as_str()).collect();
            assert_eq!(ids, theirs, "{item}: the mirror knows every variant");
        }
        let first = exported
            .iter()
            .find(|(i, _)| *i == shop.items[0])
            .map(|(_, p)| p)
            .unwrap();
        assert_eq!(first.variants.len(), 2, "RED and BLUE");
        assert!(
            first
                .variants
                .iter()
                .all(|v| v.sku.as_deref() == Some(shop.items[0].as_str())),
            "sku_mapping item_no"
        );
    }
    assert_eq!(one.state(&stack), bulk.state(&stack));
    let all = [one.jobs(&stack).await, bulk.jobs(&stack).await];
    assert_eq!(total(&all[0], c::BULK_OPERATIONS), 0);
    eprintln!(
        "export: {} Shopify faults, {} BC faults, jobs {} + {}, bulk operations {}",
        shopify.injected_faults,
        bc.injected_faults,
        all[0].len(),
        all[1].len(),
        total(&all[1], c::BULK_OPERATIONS)
    );

    // Nothing changed: the items are read again (the cursor moves back 5 minutes), no mutation.
    let before = (one.mutations(&stack), bulk.mutations(&stack));
    minutes += HOUR;
    tick(&runner, minutes, 2).await;
    assert_eq!((one.mutations(&stack), bulk.mutations(&stack)), before);
    let last = one.jobs(&stack).await;
    assert_eq!(last[0].status, JobStatus::Succeeded, "{:?}", last[0].error);
    assert!(
        last[0].counters.get(c::PRODUCTS_UNCHANGED) >= 5,
        "{:?}",
        last[0].counters
    );

    // One item's unit price changes in BC: a manual run sends one productSet (the item scan reads
    // the item; its price pass then finds every price as sent).
    one.company.set_item_unit_price(&one.items[2], 77.5);
    let manual = manual_job(&stack, &runner, &one.code, RunOptions::default()).await;
    assert_eq!(
        (
            manual.counters.get(c::PRODUCTS_EXPORTED),
            manual.counters.get(c::PRICES_UPDATED)
        ),
        (1, 0),
        "{:?}",
        manual.counters
    );
    assert_eq!(one.mutations(&stack), before.0 + 1);
    let p = one.product_of(&stack, &one.items[2]);
    assert_eq!(p.variants[0].price, "77.50");

    // A variant added in BC to an item (RED, BLUE) last modified an hour ago (BC leaves the item's
    // modification time alone): the next run finds it through the variant scan and sends one
    // productSet, and the product's other variants keep their ids.
    let older = shopsync_domain::time::now_millis() - 3_600_000;
    one.company.set_item_modified_ms(&one.items[0], older);
    let kept: Vec<String> = (one.product_of(&stack, &one.items[0]).variants)
        .iter()
        .map(|v| v.id.clone())
        .collect();
    one.company
        .add_item_variant(&one.items[0], "GREEN")
        .unwrap();
    let manual = manual_job(&stack, &runner, &one.code, RunOptions::default()).await;
    assert_eq!(
        (
            manual.counters.get(c::ITEMS_WITH_CHANGED_VARIANTS),
            manual.counters.get(c::PRODUCTS_EXPORTED)
        ),
        (1, 1),
        "{:?}",
        manual.counters
    );
    assert_eq!(one.mutations(&stack), before.0 + 2);
    let p = one.product_of(&stack, &one.items[0]);
    let ids: Vec<&str> = p.variants.iter().map(|v| v.id.as_str()).collect();
    assert_eq!(ids.len(), 3, "GREEN joined RED and BLUE");
    assert!(
        kept.iter().all(|k| ids.contains(&k.as_str())),
        "{kept:?} {ids:?}"
    );

    // A price-only run with a customer price group: only the changed variant's price is sent.
    let mut settings = one.settings.clone();
    settings.sales_prices_page = Some("ShopsyncPrices".into());
    settings.customer_price_group = Some("RETAIL".into());
    stack.adapters.store.put_shop(&settings).await.unwrap();
    one.company.publish_price_page("ShopsyncPrices");
    one.company.add_price_line(bc_sim::SimPriceLine {
        item_no: one.items[0].clone(),
        variant_code: "RED".into(),
        price_group_code: "RETAIL".into(),
        currency_code: String::new(),
        minimum_quantity: 0.0,
        unit_price: 1.25,
        starting_date: String::new(),
        ending_date: String::new(),
    });
    let prices_only = RunOptions {
        prices_only: true,
        ..RunOptions::default()
    };
    let prices = manual_job(&stack, &runner, &one.code, prices_only).await;
    assert_eq!(
        prices.counters.get(c::PRICES_UPDATED),
        1,
        "{:?}",
        prices.counters
    );
    let writes = stack.shopify.store(&one.domain).catalog_writes();
    assert_eq!(
        writes
            .iter()
            .filter(|w| w.mutation == "productVariantsBulkUpdate")
            .count(),
        1
    );
    let chair = one.product_of(&stack, &one.items[0]);
    let red = chair
        .variants
        .iter()
        .find(|v| v.options.iter().any(|(_, value)| value == "RED"))
        .unwrap();
    assert_eq!(red.price, "1.25");

    // A retail line for an item last modified an hour ago changes no item in BC: the item scan does
    // not read it, and the scheduled export's price pass sends the new price as one price update,
    // with no productSet.
    let lamp = one.items[3].clone();
    one.company.set_item_modified_ms(&lamp, older);
    one.company.add_price_line(bc_sim::SimPriceLine {
        item_no: lamp.clone(),
        variant_code: String::new(),
        price_group_code: "RETAIL".into(),
        currency_code: String::new(),
        minimum_quantity: 0.0,
        unit_price: 1.1,
        starting_date: String::new(),
        ending_date: String::new(),
    });
    let product_sets = |stack: &Stack| {
        stack
            .shopify
            .store(&one.domain)
            .catalog_writes()
            .iter()
            .filter(|w| w.mutation == "productSet")
            .count()
    };
    let sets = product_sets(&stack);
    minutes += HOUR;
    tick(&runner, minutes, 2).await;
    let scheduled = &one.jobs(&stack).await[0];
    assert_eq!(
        scheduled.status,
        JobStatus::Succeeded,
        "{:?}",
        scheduled.error
    );
    assert_eq!(
        scheduled.counters.get(c::PRICES_UPDATED),
        1,
        "{:?}",
        scheduled.counters
    );
    assert_eq!(product_sets(&stack), sets);
    let p = one.product_of(&stack, &lamp);
    assert_eq!(p.variants[0].price, "1.10");

    // The bulk shop (threshold 2): three items' new unit prices (four variants) go as one bulk
    // price update.
    for item in &bulk.items[..3] {
        bulk.company.set_item_unit_price(item, 9.5);
    }
    let prices_only = RunOptions {
        prices_only: true,
        ..RunOptions::default()
    };
    let prices = manual_job(&stack, &runner, &bulk.code, prices_only).await;
    assert_eq!(
        (
            prices.counters.get(c::BULK_OPERATIONS),
            prices.counters.get(c::PRICES_UPDATED)
        ),
        (1, 4),
        "{:?}",
        prices.counters
    );
    for item in &bulk.items[..3] {
        let p = bulk.product_of(&stack, item);
        assert!(p.variants.iter().all(|v| v.price == "9.50"), "{item}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_operation_that_fails_half_way_leaves_skipped_records_and_retries_the_rest() {
    let stack = Stack::start(StackOptions {
        runtime: runtime(),
        ..StackOptions::default()
    })
    .await
    .expect("local stack");
    let half = products_shop(&stack, "PRODHALF", 6, |s| s.product_bulk_threshold = 2).await;
    let reference = products_shop(&stack, "PRODREF", 6, |_| {}).await;
    // Shopify refuses a price with three decimals: line 1 of the bulk operation fails.
    half.company.set_item_unit_price(&half.items[1], 12.345);
    reference
        .company
        .set_item_unit_price(&reference.items[1], 12.35);
    stack
        .shopify
        .store(&half.domain)
        .fail_next_bulk_mutation_after(3);
    let runner = products_runner(&stack);
    tick(&runner, 0, 2).await;

    let jobs = half.jobs(&stack).await;
    assert_eq!(jobs.len(), 1);
    let first = &jobs[0];
    assert_eq!(
        first.status,
        JobStatus::SucceededWithWarnings,
        "{:?}",
        first.error
    );
    assert_eq!(
        first.counters.get(c::BULK_OPERATIONS),
        1,
        "{:?}",
        first.counters
    );
    assert_eq!(
        first.counters.get(c::BULK_LINES_FAILED),
        1,
        "{:?}",
        first.counters
    );
    assert_eq!(
        first.counters.get(c::BULK_LINES_NOT_RUN),
        3,
        "{:?}",
        first.counters
    );
    assert_eq!(
        first.counters.get(c::PRODUCTS_EXPORTED),
        5,
        "{:?}",
        first.counters
    );
    let writes = stack.shopify.store(&half.domain).catalog_writes();
    assert_eq!(
        writes
            .iter()
            .filter(|w| w.mutation == "productSet" && w.applied)
            .count(),
        2 + 3,
        "two lines applied by the operation, three sent one by one"
    );
    assert_eq!(
        writes.iter().filter(|w| w.mutation == "productSet").count(),
        3 + 3,
        "the operation ran three lines (one refused) and stopped"
    );
    assert_eq!(half.exported(&stack).len(), 5);
    let m = half.mirror(&stack, &half.items[1]).await.unwrap();
    assert_eq!(m.status.as_deref(), Some(catalogue::status::ERROR));
    let skipped = stack
        .adapters
        .store
        .list_skipped(&half.code, 50)
        .await
        .unwrap();
    assert!(
        skipped
            .iter()
            .any(|s| s.record_id == half.items[1] && s.task == TaskKind::SyncProducts),
        "{skipped:?}"
    );

    // Fixed in BC: the next run sends it (one by one, below the threshold) and the shop ends as the
    // one exported item by item.
    half.company.set_item_unit_price(&half.items[1], 12.35);
    tick(&runner, HOUR, 2).await;
    assert!(half.all_exported(&stack).await);
    assert_eq!(half.state(&stack), reference.state(&stack));
    let ref_jobs = reference.jobs(&stack).await;
    assert_eq!(total(&ref_jobs, c::BULK_OPERATIONS), 0);
    assert!(stack.dead_letters().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_writes_items_once_and_keeps_a_change_made_in_bc_meanwhile() {
    let stack = Stack::start(StackOptions {
        runtime: runtime(),
        ..StackOptions::default()
    })
    .await
    .expect("local stack");
    let shop = products_shop(&stack, "PRODIN", 1, |s| {
        s.sync_item = SyncDirection::FromShopify;
        s.can_update_shopify_products = false;
        s.shopify_can_update_items = true;
        s.auto_create_unknown_items = true;
    })
    .await;
    let mut settings = shop.settings.clone();
    settings.item_template_no = Some(shop.items[0].clone());
    stack.adapters.store.put_shop(&settings).await.unwrap();
    shop.company
        .add_catalog_item(&SimItem::new("CHAIR-1", "Chair", 20.0));
    let store = stack.shopify.store(&shop.domain);
    let product = |title: &str, sku: &str, price: &str| ProductSeed {
        title: title.into(),
        variants: vec![CatalogVariantSeed {
            sku: Some(sku.into()),
            price: price.into(),
            ..CatalogVariantSeed::default()
        }],
        ..ProductSeed::default()
    };
    let chair = store.add_catalog_product(product("Red chair", "CHAIR-1", "22.00"));
    let stool = store.add_catalog_product(product("Stool", "STOOL-1", "15.00"));
    let runner = products_runner(&stack);

    faults_on(&stack, 30_188);
    let report = runner.tick(tick_at(0)).await;
    assert_eq!(report.queued.len(), 1, "{report:?}");
    duplicate_a_message(&stack, &runner.queue_url).await;
    runner.drain(DRAIN).await.expect("the queue drains");
    let mut minutes = 0;
    let mut reruns = 0;
    loop {
        let linked = shop
            .mirror(&stack, "CHAIR-1")
            .await
            .and_then(|m| m.product_id)
            == Some(chair.product_id.clone())
            && shop
                .mirror(&stack, "STOOL-1")
                .await
                .and_then(|m| m.product_id)
                == Some(stool.product_id.clone());
        if linked {
            break;
        }
        reruns += 1;
        assert!(reruns <= 3, "three more runs did not finish the import");
        minutes += HOUR;
        tick(&runner, minutes, 1).await;
    }
    faults_off(&stack);
    let item = shop.company.catalog_item("CHAIR-1").unwrap();
    assert_eq!(
        (item.display_name.as_str(), item.unit_price),
        ("Red chair", 22.0)
    );
    let created = shop
        .company
        .catalog_item("STOOL-1")
        .expect("created from the template");
    assert_eq!(
        (created.display_name.as_str(), created.unit_price),
        ("Stool", 15.0)
    );
    let template = shop.company.catalog_item(&shop.items[0]).unwrap();
    assert_eq!(
        created.general_product_posting_group_code,
        template.general_product_posting_group_code
    );
    let jobs = shop.jobs(&stack).await;
    assert!(total(&jobs, c::ITEMS_CREATED) + total(&jobs, c::ITEMS_FOUND_BY_PROBE) >= 1);

    // The chair changes in Shopify; while the import's PATCH waits (BC answers 503 once and the
    // client retries after a second), someone changes the item in BC. BC's change is kept.
    let clients = ClientFactory::new(stack.adapters.secrets.clone(), stack.endpoints.clone())
        .clients(&settings)
        .await
        .expect("clients");
    clients
        .shopify
        .product_set(&ProductSetRequest {
            identifier: Some(ProductIdentifier::Id(chair.product_id.clone())),
            title: Some("Blue chair".into()),
            handle: None,
            vendor: None,
            product_type: None,
            description_html: None,
            status: None,
            tags: None,
            metafields: Vec::new(),
            options: Vec::new(),
            variants: Vec::new(),
            files: None,
        })
        .await
        .expect("the title changes in Shopify");
    stack
        .bc
        .add_fault_rule(BcFaultRule::new(BcFault::Unavailable).on("PATCH", "items("));
    let report = runner.tick(tick_at(minutes + HOUR)).await;
    assert_eq!(report.queued.len(), 1, "{report:?}");
    let drain = {
        let runner = products_runner(&stack);
        tokio::spawn(async move { runner.drain(DRAIN).await })
    };
    let waited = std::time::Instant::now();
    while stack.bc.pending_fault_rules() > 0 {
        assert!(
            waited.elapsed() < Duration::from_secs(120),
            "the PATCH never came"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut changed = shop.company.catalog_item("CHAIR-1").unwrap();
    changed.display_name = "Chair (edited in BC)".into();
    shop.company.add_catalog_item(&changed);
    drain.await.unwrap().expect("the queue drains");

    let item = shop.company.catalog_item("CHAIR-1").unwrap();
    assert_eq!(
        item.display_name, "Chair (edited in BC)",
        "BC's change is kept"
    );
    let jobs = shop.jobs(&stack).await;
    assert_eq!(
        jobs[0].counters.get(c::ITEM_CONFLICTS),
        1,
        "{:?}",
        jobs[0].counters
    );
    assert_eq!(jobs[0].status, JobStatus::SucceededWithWarnings);
    let m = shop.mirror(&stack, "CHAIR-1").await.unwrap();
    assert!(m.last_error.unwrap().contains("BC's change is kept"));
}
