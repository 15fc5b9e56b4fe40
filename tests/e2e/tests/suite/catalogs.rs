//! `sync-catalogs` and `sync-catalog-prices` through the real path: the scheduled fan-out and a
//! manual run, each task on its own queue on moto, the worker, DynamoDB, and the Shopify and BC
//! simulators over HTTP (`catalogs(type:)`, `priceList.prices(originType: FIXED)`,
//! `priceListFixedPricesAdd`; BC items and a published price page).
//!
//! With 20 % of the requests on both sides failing (answers lost after the write among them) and the
//! prices run's message delivered twice, every mapped variant of each priced catalog ends with BC's
//! price (the price group's line where there is one, else the unit price), the market catalog is
//! left alone, a run with nothing changed in BC makes no mutation, and one price changed in BC makes
//! one call of one row. A catalog removed in Shopify is marked gone by the next catalogs run.
//!
//! The rules are unit-tested in `shared/tasks/src/catalogs/tests.rs`.

use bc_sim::SimPriceLine;
use shopify_sim::CatalogSeed;
use shopsync_domain::TaskKind;
use shopsync_domain::job::{JobRecord, JobStatus, RunOptions};
use shopsync_domain::ports::{JobStore, RecordStore, SettingsStore};
use shopsync_domain::settings::TaskSettings;
use shopsync_e2e::faults::{duplicate_a_message, faults_off, faults_on};
use shopsync_e2e::jobs::queue_manual_run;
use shopsync_e2e::{Stack, StackOptions, local_runtime, tick_at};
use shopsync_runtime::RuntimeConfig;
use shopsync_runtime::local::LocalRunner;
use shopsync_tasks::catalogs::{CATALOGS, StoredCatalog, status};
use shopsync_tasks::catalogue::{self, MirroredVariant};
use std::time::Duration;

const DRAIN: Duration = Duration::from_secs(300);
const SHOP: &str = "CATS";
const ITEMS: usize = 30;
const PRICE_PAGE: &str = "SalesPrices";

fn runtime() -> RuntimeConfig {
    RuntimeConfig {
        // A few steps per invocation, so the runs continue across messages too.
        max_run: Some(Duration::from_millis(300)),
        metrics: shopsync_runtime::metrics::MetricsSink::Off,
        ..local_runtime()
    }
}

/// A manual run (as the api function queues one) of `task`: a `queued` job and its message.
async fn manual_run(stack: &Stack, runner: &LocalRunner, task: TaskKind) -> JobRecord {
    let id = queue_manual_run(stack, runner, SHOP, task, RunOptions::default(), DRAIN).await;
    stack
        .adapters
        .store
        .get_job(SHOP, &id)
        .await
        .unwrap()
        .expect("the job")
}

async fn catalog(stack: &Stack, id: &str) -> (StoredCatalog, Option<String>) {
    let r = stack
        .adapters
        .store
        .get_record(SHOP, CATALOGS, id)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no catalog record {id}"));
    (StoredCatalog::from_record(&r).unwrap(), r.status)
}

fn numeric(gid: &str) -> &str {
    gid.rsplit('/').next().unwrap()
}

fn cents(amount: &str) -> i64 {
    (amount.parse::<f64>().unwrap() * 100.0).round() as i64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalog_prices_are_set_once_under_faults_and_unchanged_prices_make_no_mutation() {
    let stack = Stack::start(StackOptions {
        runtime: runtime(),
        ..StackOptions::default()
    })
    .await
    .expect("local stack");
    let demo = stack.seed_shop(SHOP, ITEMS).await.expect("seeded shop");
    let mut settings = demo.settings.clone();
    settings.tasks.remove(&TaskKind::SyncInventory);
    for task in [TaskKind::SyncCatalogs, TaskKind::SyncCatalogPrices] {
        settings.tasks.insert(
            task,
            TaskSettings {
                enabled: true,
                ..TaskSettings::default()
            },
        );
    }
    settings.sales_prices_page = Some(PRICE_PAGE.into());
    settings.customer_price_group = Some("RETAIL".into());
    stack.adapters.store.put_shop(&settings).await.unwrap();

    // BC: unit prices i + 0.99 (seeded), a RETAIL line for the first 5 items.
    demo.company.publish_price_page(PRICE_PAGE);
    for i in 0..5 {
        demo.company.add_price_line(SimPriceLine {
            item_no: format!("{}{i:06}", demo.prefix),
            variant_code: String::new(),
            price_group_code: "RETAIL".into(),
            currency_code: String::new(),
            minimum_quantity: 0.0,
            unit_price: 0.5 + i as f64,
            starting_date: String::new(),
            ending_date: String::new(),
        });
    }
    // The catalogue mirror (sync-products' side) links each item to its Shopify variant.
    let store = stack.shopify.store(&demo.domain);
    for i in 0..ITEMS {
        let no = format!("{}{i:06}", demo.prefix);
        catalogue::update(stack.adapters.store.as_ref(), SHOP, &no, |p| {
            p.variants = vec![MirroredVariant {
                variant_id: format!("gid://shopify/ProductVariant/{}", i + 1),
                ..Default::default()
            }];
            true
        })
        .await
        .unwrap();
    }
    // Shopify: two company-location catalogs (one with an empty publication) and a market one.
    let company = |title: &str, publication: bool| CatalogSeed {
        market: false,
        title: title.into(),
        status: "ACTIVE".into(),
        currency: Some("EUR".into()),
        publication,
        markets: Vec::new(),
        locations: vec![("gid://shopify/CompanyLocation/9".into(), "HQ".into(), None)],
    };
    let acme = store.add_catalog(company("Acme", false));
    let globex = store.add_catalog(company("Globex", true));
    let swiss = store.add_catalog(CatalogSeed {
        market: true,
        title: "Switzerland".into(),
        status: "ACTIVE".into(),
        currency: Some("CHF".into()),
        publication: true,
        markets: vec!["Switzerland".into()],
        locations: Vec::new(),
    });

    let catalogs = stack
        .runner_for(TaskKind::SyncCatalogs, "SyncCatalogsQueue", runtime())
        .expect("the template has the sync-catalogs queue");
    let prices = stack
        .runner_for(
            TaskKind::SyncCatalogPrices,
            "SyncCatalogPricesQueue",
            runtime(),
        )
        .expect("the template has the sync-catalog-prices queue");

    // Scheduled catalogs run, under faults.
    faults_on(&stack, 41);
    let report = catalogs.tick(tick_at(0)).await;
    assert_eq!(report.queued.len(), 1, "{report:?}");
    catalogs.drain(DRAIN).await.expect("the queue drains");
    for c in [&acme, &globex, &swiss] {
        let (stored, st) = catalog(&stack, numeric(&c.id)).await;
        assert_eq!(st, None);
        assert_eq!(stored.id, c.id);
    }
    assert!(!catalog(&stack, numeric(&swiss.id)).await.0.prices_enabled);

    // Scheduled prices run, under faults, its message delivered twice.
    let report = prices.tick(tick_at(0)).await;
    assert_eq!(report.queued.len(), 1, "{report:?}");
    duplicate_a_message(&stack, &prices.queue_url).await;
    prices.drain(DRAIN).await.expect("the queue drains");
    faults_off(&stack);

    let jobs: Vec<JobRecord> = stack
        .jobs(SHOP)
        .await
        .into_iter()
        .filter(|j| j.task == TaskKind::SyncCatalogPrices)
        .collect();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert_eq!(jobs[0].status, JobStatus::Succeeded, "{:?}", jobs[0].error);
    let expected = |i: usize| -> i64 {
        if i < 5 {
            50 + 100 * i as i64
        } else {
            ((i % 100) as i64) * 100 + 99
        }
    };
    for c in [&acme, &globex] {
        let list = c.price_list_id.as_ref().unwrap();
        let fixed = store.fixed_prices(list);
        assert_eq!(fixed.len(), ITEMS, "{}", c.id);
        for (i, p) in fixed.iter().enumerate() {
            assert_eq!(
                p.variant_id,
                format!("gid://shopify/ProductVariant/{}", i + 1)
            );
            assert_eq!(cents(&p.amount), expected(i), "{p:?}");
        }
        let (stored, _) = catalog(&stack, numeric(&c.id)).await;
        let sync = stored.last_price_sync.expect("a last price sync");
        assert_eq!(sync.prices_checked, ITEMS as u64);
    }
    assert!(
        store
            .fixed_prices(swiss.price_list_id.as_ref().unwrap())
            .is_empty(),
        "the market catalog's prices are not enabled"
    );
    assert!(stack.dead_letters().await.is_empty());

    // Nothing changed in BC: a manual run makes no mutation.
    let calls = store.fixed_price_calls().len();
    let job = manual_run(&stack, &prices, TaskKind::SyncCatalogPrices).await;
    assert_eq!(job.status, JobStatus::Succeeded, "{:?}", job.error);
    assert_eq!(store.fixed_price_calls().len(), calls, "no mutation");

    // One unit price changes in BC: one call of one row per priced catalog.
    demo.company
        .set_item_unit_price(&format!("{}{:06}", demo.prefix, 7), 123.45);
    let job = manual_run(&stack, &prices, TaskKind::SyncCatalogPrices).await;
    assert_eq!(job.status, JobStatus::Succeeded, "{:?}", job.error);
    let after = store.fixed_price_calls();
    assert_eq!(&after[calls..], &[1, 1]);
    let p = &store.fixed_prices(acme.price_list_id.as_ref().unwrap())[7];
    assert_eq!(cents(&p.amount), 12345);

    // A catalog removed in Shopify: marked gone by the next catalogs run.
    store.delete_catalog(&globex.id);
    let job = manual_run(&stack, &catalogs, TaskKind::SyncCatalogs).await;
    assert_eq!(job.status, JobStatus::Succeeded, "{:?}", job.error);
    let (gone, st) = catalog(&stack, numeric(&globex.id)).await;
    assert_eq!(st.as_deref(), Some(status::GONE));
    assert!(gone.gone);
    assert_eq!(catalog(&stack, numeric(&acme.id)).await.1, None);
}
