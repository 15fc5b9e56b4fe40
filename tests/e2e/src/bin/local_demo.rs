//! The README's first command: the whole pipeline once, on local stand-ins, with a readable summary.
//!
//! moto + both simulators start on 127.0.0.1, the resources are provisioned from
//! `infra/template.yaml`, a demo shop is seeded (1,200 variants over 2 locations; a BC company with
//! matching items whose stock differs from Shopify's), then a scheduled tick runs through fan-out →
//! SQS → worker → DynamoDB → Shopify. A second tick 15 minutes later, after a few BC quantities
//! changed, shows that only the changes are sent. Then a merchant starts a run through the HTTPS API
//! (the api function behind a local stand-in of API Gateway's HTTP API on 127.0.0.1, with a token
//! signed by a local key). Four Shopify orders are imported by a scheduled sync-orders run with
//! `auto_create_orders` (staged orders, their BC sales orders, the document number written back to
//! Shopify; one order waits for an item BC does not have), BC creates that item and create-sales-orders
//! makes the waiting order's sales order, BC posts a shipment that sync-shipments makes a Shopify
//! fulfillment, and sync-payments stores the shop's payouts and balance transactions. A second shop
//! exports its BC items as Shopify products (sync-products), sends a BC price change with a
//! price-only run started through the API, exports BC item pictures as product images
//! (sync-images), and mirrors a B2B catalog whose price list gets BC's prices (sync-catalogs,
//! sync-catalog-prices). A third shop imports Shopify customers into BC (sync-customers) and runs
//! sync-companies. The merchant reads the status board, and the demo ends with one table of all
//! eleven tasks, read from their job records; it exits non-zero if any task's job did not succeed.
//! Everything started is stopped at the end.

use bc_sim::{SimCustomer, SimPriceLine};
use serde_json::json;
use shopify_sim::{
    BalanceTransactionSeed, CatalogProduct, CatalogSeed, CompanyLocationSeed, OrderSeed,
    PayoutSeed, SeededOrder, ShopCompanySeed, ShopCustomerSeed, StoreHandle, VariantSeed,
};
use shopsync_domain::TaskKind;
use shopsync_domain::companies::{COMPANIES, company_status};
use shopsync_domain::customers::{CUSTOMERS, customer_status};
use shopsync_domain::job::{JobRecord, JobStatus, Trigger};
use shopsync_domain::orders::BC_DOCUMENT_ATTRIBUTE;
use shopsync_domain::ports::{RecordStore, SettingsStore};
use shopsync_domain::settings::{ImportScope, ShopSettings, SyncDirection, TaskSettings};
use shopsync_domain::staging::{BALANCE_TRANSACTIONS, PAYOUTS, STAGED_ORDERS};
use shopsync_e2e::api_stack::ApiStack;
use shopsync_e2e::orders_world::{OrderTasks, OrdersShop, external_number, set_up_orders};
use shopsync_e2e::{
    DemoShop, ORDERS_QUEUE, Stack, StackOptions, bc_quantity, local_runtime, tick_at,
};
use shopsync_runtime::RuntimeConfig;
use shopsync_runtime::metrics::MetricsSink;
use shopsync_tasks::engine::counters::SKIPPED_RECORDS;
use shopsync_tasks::payments::stored::{payout_status, transaction_status};
use shopsync_tasks::registry::REGISTRY;
use std::time::Duration;

const VARIANTS: usize = 1_200;

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
        .with_target(false)
        .init();
    if let Err(e) = demo().await {
        eprintln!("demo failed: {e}");
        std::process::exit(1);
    }
}

async fn demo() -> Result<(), String> {
    println!("Starting moto, the Shopify simulator and the BC simulator on 127.0.0.1 ...");
    let api = ApiStack::start(StackOptions::default(), Duration::from_secs(20)).await?;
    let stack = &api.stack;
    println!(
        "  table {}, queue {}",
        stack.resources.table_name, stack.runner.queue_url
    );
    let shop = stack.seed_shop("DEMO", VARIANTS).await?;
    println!(
        "Seeded shop DEMO: Shopify store {} with {VARIANTS} variants at 2 locations; BC company with {VARIANTS} items.",
        shop.domain
    );
    // Three discontinued variants whose SKUs BC does not know: they become skipped records.
    let store = stack.shopify.store(&shop.domain);
    let legacy: Vec<VariantSeed> = (1..=3)
        .map(|n| VariantSeed {
            sku: Some(format!("LEGACY-{n}")),
            barcode: None,
            tracked: true,
        })
        .collect();
    let seeded = store.add_product("Discontinued line", &legacy);
    for item in &seeded.inventory_item_ids {
        store.set_available(item, &shop.locations[0], 4);
    }
    println!("  plus 3 variants whose SKUs (LEGACY-1..3) match no BC item.");
    let expected = |i: usize, l: usize| bc_quantity(i, l) as i64;
    println!(
        "  Shopify levels that differ from BC before the sync: {}",
        shop.levels_off(stack, expected)
    );

    println!("\n1) Scheduled tick (EventBridge) -> fan-out -> SQS -> worker");
    let before = stack.shopify.stats();
    let report = stack.runner.tick(tick_at(0)).await;
    println!(
        "  fan-out queued {} job(s), errors: {:?}",
        report.queued.len(),
        report.errors
    );
    let drained = stack.runner.drain(Duration::from_secs(300)).await?;
    println!(
        "  worker invocations: {}, messages handled: {}",
        drained.invocations, drained.messages
    );
    print_jobs(stack, "DEMO").await;
    let after = stack.shopify.stats();
    println!(
        "  Shopify: {} requests, {:.0} cost points, {} levels adjusted, THROTTLED {}",
        after.requests - before.requests,
        after.points_consumed - before.points_consumed,
        after.applied_adjustments - before.applied_adjustments,
        after.throttled - before.throttled
    );
    println!(
        "  Shopify levels that differ from BC now: {}",
        shop.levels_off(stack, expected)
    );

    println!("\n2) BC changes 12 quantities; next tick 15 minutes later");
    for i in 0..12 {
        let item = format!("{}{i:06}", shop.prefix);
        shop.company
            .set_availability(&item, "", "EAST", 100.0 + i as f64, 100.0 + i as f64);
    }
    let changed = |i: usize, l: usize| {
        if i < 12 && l == 0 {
            100 + i as i64
        } else {
            bc_quantity(i, l) as i64
        }
    };
    let before = stack.shopify.stats();
    stack.runner.tick(tick_at(15)).await;
    stack.runner.drain(Duration::from_secs(300)).await?;
    print_jobs(stack, "DEMO").await;
    let after = stack.shopify.stats();
    println!(
        "  Shopify: {} request(s), {:.0} cost points, {} levels adjusted (no level re-read)",
        after.requests - before.requests,
        after.points_consumed - before.points_consumed,
        after.applied_adjustments - before.applied_adjustments
    );
    println!(
        "  Shopify levels that differ from BC now: {}",
        shop.levels_off(stack, changed)
    );

    println!(
        "\n3) A merchant starts a run through the HTTPS API ({})",
        api.gateway.base_url()
    );
    for i in 12..17 {
        let item = format!("{}{i:06}", shop.prefix);
        shop.company
            .set_availability(&item, "", "WEST", 200.0 + i as f64, 200.0 + i as f64);
    }
    let changed_again = |i: usize, l: usize| match (i, l) {
        (0..12, 0) => 100 + i as i64,
        (12..17, 1) => 200 + i as i64,
        _ => bc_quantity(i, l) as i64,
    };
    let token = api.token(&["DEMO"]);
    println!("  token: a JWT signed by a local RSA key, claims shops=[\"DEMO\"] (no admin scope)");
    let a = api
        .call(
            "POST",
            "/shops/DEMO/runs",
            None,
            Some(&json!({"task": "sync-inventory"})),
        )
        .await;
    println!(
        "  POST /shops/DEMO/runs without a token -> {} {}",
        a.status,
        a.code()
    );
    let other = api.token(&["OTHER"]);
    let a = api
        .call(
            "POST",
            "/shops/DEMO/runs",
            Some(&other),
            Some(&json!({"task": "sync-inventory"})),
        )
        .await;
    println!(
        "  POST /shops/DEMO/runs with a token for shop OTHER -> {} {}",
        a.status,
        a.code()
    );
    let a = api
        .call(
            "POST",
            "/shops/DEMO/runs",
            Some(&token),
            Some(&json!({"task": "sync-inventory"})),
        )
        .await;
    let job_id = a.body["job_id"].as_str().unwrap_or_default().to_string();
    println!(
        "  POST /shops/DEMO/runs {{\"task\":\"sync-inventory\"}} -> {} ({}), job {job_id}, Location {}",
        a.status,
        a.body["mode"].as_str().unwrap_or("?"),
        a.location.as_deref().unwrap_or("-")
    );
    stack.runner.drain(Duration::from_secs(300)).await?;
    let a = api
        .call(
            "GET",
            &format!("/shops/DEMO/jobs/{job_id}"),
            Some(&token),
            None,
        )
        .await;
    println!(
        "  GET /shops/DEMO/jobs/{job_id} -> {} status={} levels_changed={} cost_points={}",
        a.status,
        a.body["status"].as_str().unwrap_or("?"),
        a.body["counters"]["levels_changed"],
        a.body["cost_points_used"]
    );

    println!(
        "\n4) Orders: sync-orders with auto_create_orders, create-sales-orders, then a BC shipment and sync-shipments"
    );
    let (orders_ok, orders) = demo_orders(stack, &shop).await?;

    println!("\n5) Payments: payouts and balance transactions stored by sync-payments");
    let payments_ok = demo_payments(stack, &shop, &orders).await?;

    println!(
        "\n6) Catalogue: a scheduled sync-products export, then a price change sent by a price-only run"
    );
    let (catalogue_ok, catalog) = demo_catalogue(&api).await?;
    println!("\n7) Images: BC item pictures exported as product images by sync-images");
    let images_ok = demo_images(stack, &catalog).await?;
    println!(
        "\n8) B2B catalogs: sync-catalogs mirrors them, sync-catalog-prices sends BC's prices"
    );
    let catalogs_ok = demo_catalogs(stack, &catalog).await?;

    println!("\n9) Customers and companies: sync-customers, then sync-companies");
    let customers_ok = demo_customers(stack).await?;

    println!("\n10) The status board: GET /shops/DEMO/status");
    let board = api
        .call("GET", "/shops/DEMO/status", Some(&token), None)
        .await;
    for cue in board.body["cues"].as_array().into_iter().flatten() {
        println!(
            "  {:<28} {:>5}  {:<12} {}",
            cue["caption"].as_str().unwrap_or("?"),
            cue["count"],
            cue["style"].as_str().unwrap_or("?"),
            cue["drill_down"].as_str().unwrap_or("")
        );
    }
    println!(
        "  jobs by status: {}   open failures: {}",
        board.body["jobs"], board.body["open_failures"]
    );
    let drill = api
        .call(
            "GET",
            "/shops/DEMO/status/skipped_records?limit=3",
            Some(&token),
            None,
        )
        .await;
    for e in drill.body["entries"].as_array().into_iter().flatten() {
        println!(
            "    skipped: {} — {}",
            e["id"].as_str().unwrap_or("?"),
            e["detail"].as_str().unwrap_or("")
        );
    }
    println!(
        "Dead-letter queue: {} message(s)",
        stack.dead_letters().await.len()
    );
    let inventory_ok = shop.levels_off(stack, changed_again) == 0 && a.status == 200;
    println!(
        "\nResult: {} {}",
        if inventory_ok {
            "Shopify inventory matches BC."
        } else {
            "MISMATCH: Shopify inventory does not match BC."
        },
        if orders_ok {
            "The four orders are BC sales orders with their number in Shopify (the fourth once BC had its item); the shipment is a Shopify fulfillment."
        } else {
            "MISMATCH: the orders did not end as expected."
        }
    );
    let outcomes = [
        (
            payments_ok,
            "The payouts and balance transactions are stored.",
            "MISMATCH: the payouts or balance transactions are not stored as expected.",
        ),
        (
            catalogue_ok,
            "The BC items are Shopify products, and the changed BC price is the Shopify price.",
            "MISMATCH: the catalogue export or the price change did not reach Shopify.",
        ),
        (
            images_ok,
            "Each BC picture is its product's one image.",
            "MISMATCH: the BC pictures are not the products' images.",
        ),
        (
            catalogs_ok,
            "The B2B catalog's price list holds BC's prices.",
            "MISMATCH: the B2B catalog's price list does not hold BC's prices.",
        ),
        (
            customers_ok,
            "Each Shopify customer is linked to one BC customer (one found by e-mail, one created).",
            "MISMATCH: the Shopify customers are not linked to BC customers as expected.",
        ),
    ];
    for (ok, yes, no) in outcomes {
        println!("{}", if ok { yes } else { no });
    }
    let data_ok = inventory_ok && orders_ok && outcomes.iter().all(|(ok, _, _)| *ok);
    let tasks_ok = print_summary(stack, &["DEMO", "CATALOG", "PEOPLE"]).await;
    let ApiStack { stack, gateway, .. } = api;
    drop(gateway);
    stack.shopify.shutdown().await;
    stack.bc.shutdown().await;
    match (tasks_ok, data_ok) {
        (true, true) => Ok(()),
        (false, _) => Err("not every task's jobs succeeded (see the table)".into()),
        (true, false) => Err("the data does not match what the tasks should have made".into()),
    }
}

/// Four Shopify orders for the demo shop (three of them mapped, one with the discontinued SKU
/// LEGACY-1 that no BC item has), imported by sync-orders with `auto_create_orders`: staged orders,
/// their BC sales orders and the document number written back to Shopify. BC then creates item
/// LEGACY-1 and create-sales-orders, which takes up every unprocessed order again, makes the fourth
/// one's sales order. BC posts
/// a shipment of the first one, with tracking, and sync-shipments makes it a Shopify fulfillment.
/// Whether all of it ended as expected, and the orders.
async fn demo_orders(stack: &Stack, shop: &DemoShop) -> Result<(bool, Vec<SeededOrder>), String> {
    let orders = set_up_orders(
        stack,
        shop,
        VARIANTS,
        &OrderTasks {
            buyers: 3,
            auto_create_orders: true,
            webhooks: false,
            debounce_secs: None,
            create_sales_orders: true,
            sync_shipments: true,
        },
    )
    .await?;
    let store = stack.shopify.store(&shop.domain);
    let at = shopify_sim::format_time(shopsync_domain::time::now_secs() - 600);
    let mut seeds: Vec<OrderSeed> = (0..4).map(|i| orders.order_seed(i, &at)).collect();
    seeds[3].lines[0].sku = Some("LEGACY-1".into());
    let seeded: Vec<SeededOrder> = seeds.into_iter().map(|o| store.add_order(o)).collect();
    println!(
        "  seeded 4 orders ({}) by buyers BC knows by e-mail; {} has a line of LEGACY-1, which no BC item matches",
        seeded
            .iter()
            .map(|o| o.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        seeded[3].name
    );
    let runner = stack.runner_for(TaskKind::SyncOrders, ORDERS_QUEUE, runtime())?;
    let before = stack.shopify.stats();
    let report = runner.tick(tick_at(0)).await;
    println!(
        "  sync-orders fan-out queued {} job(s), errors: {:?}",
        report.queued.len(),
        report.errors
    );
    runner.drain(Duration::from_secs(300)).await?;
    for j in stack
        .jobs("DEMO")
        .await
        .iter()
        .filter(|j| j.task == TaskKind::SyncOrders)
    {
        println!(
            "    {}  {:<10} orders_read={} staged={} unmapped={} bc_documents_created={} written_back={} cost_points={:.0}{}",
            j.job_id,
            j.status.as_str(),
            j.counters.get("orders_read"),
            j.counters.get("orders_staged"),
            j.counters.get("orders_unmapped"),
            j.counters.get("bc_documents_created"),
            j.counters.get("orders_written_back"),
            j.cost_points_used,
            j.error
                .as_ref()
                .map(|e| format!("  error: {}", e.message))
                .unwrap_or_default()
        );
    }
    let after = stack.shopify.stats();
    println!(
        "  Shopify: {} requests, {:.0} cost points",
        after.requests - before.requests,
        after.points_consumed - before.points_consumed
    );
    println!("  staged orders -> BC documents -> written back to Shopify:");
    let mut as_expected = true;
    for (i, o) in seeded.iter().enumerate() {
        let record = stack
            .adapters
            .store
            .get_record("DEMO", STAGED_ORDERS, &o.id)
            .await
            .map_err(|e| e.to_string())?;
        let (status, reason) = match &record {
            Some(r) => {
                let body: serde_json::Value = serde_json::from_str(&r.body).unwrap_or_default();
                (
                    r.status.clone().unwrap_or_default(),
                    body["error"].as_str().map(str::to_string),
                )
            }
            None => ("not staged".into(), None),
        };
        let (made, document, written_back) = bc_document(&orders, &store, o);
        // The first three become sales orders with their number written back; the fourth waits.
        as_expected &= if i < 3 {
            made
        } else {
            document == NO_DOCUMENT && status == "unprocessed"
        };
        println!(
            "    {:<6} {:<12} {document}; Shopify: {written_back}{}",
            o.name,
            status,
            reason
                .map(|r| format!("\n           reason: {r}"))
                .unwrap_or_default()
        );
    }

    // BC gets the item the fourth order waits for; create-sales-orders takes it up again.
    shop.company.add_item("LEGACY-1", "Inventory", None);
    println!(
        "  BC creates item LEGACY-1; a scheduled create-sales-orders run takes up {} (unprocessed) again",
        seeded[3].name
    );
    scheduled(stack, TaskKind::CreateSalesOrders, "DEMO").await?;
    let (made, document, written_back) = bc_document(&orders, &store, &seeded[3]);
    println!(
        "    {:<6} {document}; Shopify: {written_back}",
        seeded[3].name
    );
    as_expected &= made;

    let first = orders
        .company
        .documents_with_external_number(&external_number(&seeded[0].name));
    let Some(order) = first.first() else {
        return Err(format!("{} has no BC document", seeded[0].name));
    };
    let shipment = orders.company.post_shipment(&order.number, &[])?;
    orders.company.set_shipment_tracking(
        &shipment,
        TRACKING_NUMBER,
        "UPS",
        "UPS",
        &format!("https://www.ups.com/track?tracknum={TRACKING_NUMBER}"),
    )?;
    println!(
        "  BC posts shipment {shipment} of sales order {} (every line of {}), UPS tracking {TRACKING_NUMBER}",
        order.number, seeded[0].name
    );

    let runner = stack.runner_for(TaskKind::SyncShipments, "SyncShipmentsQueue", runtime())?;
    let report = runner.tick(tick_at(0)).await;
    println!(
        "  sync-shipments fan-out queued {} job(s), errors: {:?}",
        report.queued.len(),
        report.errors
    );
    runner.drain(Duration::from_secs(300)).await?;
    for j in stack
        .jobs("DEMO")
        .await
        .iter()
        .filter(|j| j.task == TaskKind::SyncShipments)
    {
        println!(
            "    {}  {:<10} shipments_fulfilled={} fulfillments_created={} cost_points={:.0}{}",
            j.job_id,
            j.status.as_str(),
            j.counters.get("shipments_fulfilled"),
            j.counters.get("fulfillments_created"),
            j.cost_points_used,
            j.error
                .as_ref()
                .map(|e| format!("  error: {}", e.message))
                .unwrap_or_default()
        );
    }
    let fulfillments = store.fulfillments(&seeded[0].id);
    for f in &fulfillments {
        println!(
            "  Shopify fulfillment {} of {}: {} line(s), {} unit(s), tracking {} {}, customer notified: {}",
            f.id,
            seeded[0].name,
            f.lines.len(),
            f.lines.iter().map(|(_, q)| q).sum::<i64>(),
            f.tracking_company.as_deref().unwrap_or("-"),
            f.tracking_number.as_deref().unwrap_or("-"),
            if f.notify_customer { "yes" } else { "no" }
        );
    }
    let shipped = fulfillments.len() == 1
        && fulfillments[0].tracking_number.as_deref() == Some(TRACKING_NUMBER);
    Ok((as_expected && shipped, seeded))
}

/// What an order description says when BC has no document for it.
const NO_DOCUMENT: &str = "no BC document";

/// Whether BC has exactly one document for `order` whose number was written back to Shopify, how
/// that document reads, and what Shopify holds of it.
fn bc_document(
    orders: &OrdersShop,
    store: &StoreHandle,
    order: &SeededOrder,
) -> (bool, String, String) {
    let documents = orders
        .company
        .documents_with_external_number(&external_number(&order.name));
    let document = documents
        .first()
        .map(|d| {
            format!(
                "BC sales {} {} ({} lines, customer {})",
                d.kind,
                d.number,
                d.lines.len(),
                d.customer_number
            )
        })
        .unwrap_or_else(|| NO_DOCUMENT.into());
    let written_back = store
        .order_custom_attributes(&order.id)
        .unwrap_or_default()
        .into_iter()
        .find(|(k, _)| k == BC_DOCUMENT_ATTRIBUTE)
        .and_then(|(_, v)| v)
        .map(|v| format!("\"{BC_DOCUMENT_ATTRIBUTE}\" = {v}"))
        .unwrap_or_else(|| "nothing written back".into());
    let made = documents.len() == 1 && written_back.ends_with(documents[0].number.as_str());
    (made, document, written_back)
}

/// Shop CATALOG: three BC items (the first with variants RED and BLUE) exported by a scheduled
/// sync-products run (`productSet` keyed by the item), then a BC price change sent by a price-only
/// run started through the API. Whether Shopify ended with the products and the new price, and the
/// shop (the images and B2B catalogs parts go on with it).
async fn demo_catalogue(api: &ApiStack) -> Result<(bool, DemoShop), String> {
    let stack = &api.stack;
    let shop = stack.seed_shop("CATALOG", 3).await?;
    let mut settings = shop.settings.clone();
    settings.tasks.remove(&TaskKind::SyncInventory);
    settings.tasks.insert(
        TaskKind::SyncProducts,
        TaskSettings {
            enabled: true,
            ..TaskSettings::default()
        },
    );
    settings.sync_item = SyncDirection::ToShopify;
    settings.can_update_shopify_products = true;
    settings.sync_prices = true;
    stack
        .adapters
        .store
        .put_shop(&settings)
        .await
        .map_err(|e| e.to_string())?;
    let items: Vec<String> = (0..3).map(|i| format!("{}{i:06}", shop.prefix)).collect();
    shop.company.add_item_variant(&items[0], "RED");
    shop.company.add_item_variant(&items[0], "BLUE");
    println!(
        "  shop CATALOG: BC items {} (with variants RED and BLUE), {} and {}; sync_item to_shopify, sync_prices",
        items[0], items[1], items[2]
    );
    let runner = stack.runner_for(TaskKind::SyncProducts, "SyncProductsQueue", runtime())?;
    let before = stack.shopify.stats();
    let report = runner.tick(tick_at(0)).await;
    println!(
        "  sync-products fan-out queued {} job(s), errors: {:?}",
        report.queued.len(),
        report.errors
    );
    runner.drain(Duration::from_secs(300)).await?;
    let after = stack.shopify.stats();
    print_task_jobs(stack, "CATALOG", TaskKind::SyncProducts).await;
    println!(
        "  Shopify: {} productSet call(s), {:.0} cost points",
        after.operation("ProductSet") - before.operation("ProductSet"),
        after.points_consumed - before.points_consumed
    );
    let store = stack.shopify.store(&shop.domain);
    let exported = |item: &str| exported_product(&store, item);
    for item in &items {
        if let Some(p) = exported(item) {
            println!(
                "    {} -> {} \"{}\" ({}), variants: {}",
                item,
                p.id,
                p.title,
                p.status,
                p.variants
                    .iter()
                    .map(|v| format!(
                        "{} at {}",
                        v.options
                            .first()
                            .map(|(_, value)| value.as_str())
                            .unwrap_or("-"),
                        v.price
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    let all_exported = items.iter().all(|i| exported(i).is_some());

    let price_of = |item: &str| {
        exported(item)
            .and_then(|p| p.variants.first().map(|v| v.price.clone()))
            .unwrap_or_default()
    };
    let old_price = price_of(&items[1]);
    shop.company.set_item_unit_price(&items[1], 42.5);
    println!(
        "  BC: the unit price of {} changes from {old_price} to 42.5",
        items[1]
    );
    let token = api.token(&["CATALOG"]);
    let a = api
        .call(
            "POST",
            "/shops/CATALOG/runs",
            Some(&token),
            Some(&json!({"task": "sync-products", "options": {"prices_only": true}})),
        )
        .await;
    println!(
        "  POST /shops/CATALOG/runs {{\"task\":\"sync-products\",\"options\":{{\"prices_only\":true}}}} -> {} ({})",
        a.status,
        a.body["mode"].as_str().unwrap_or("?")
    );
    let before = stack.shopify.stats();
    runner.drain(Duration::from_secs(300)).await?;
    let after = stack.shopify.stats();
    print_task_jobs(stack, "CATALOG", TaskKind::SyncProducts).await;
    let new_price = price_of(&items[1]);
    println!(
        "  Shopify: {} productVariantsBulkUpdate call(s), {} productSet call(s); {} now costs {new_price}",
        after.operation("VariantPricesUpdate") - before.operation("VariantPricesUpdate"),
        after.operation("ProductSet") - before.operation("ProductSet"),
        items[1]
    );
    let ok = all_exported && a.status == 202 && new_price.parse::<f64>().ok() == Some(42.5);
    Ok((ok, shop))
}

/// The Shopify product sync-products exported for BC item `item` (its `shopsync.bc_item`
/// metafield).
fn exported_product(store: &StoreHandle, item: &str) -> Option<CatalogProduct> {
    store.catalog_products().into_iter().find(|p| {
        p.metafields
            .iter()
            .any(|(n, k, v)| n == "shopsync" && k == "bc_item" && v == item)
    })
}

/// sync-payments for the demo shop: two payouts (one paid, one scheduled) and three balance
/// transactions of the demo's orders (two paid out in the first payout, one not paid out yet),
/// stored by a scheduled run. Whether the store holds them with their statuses.
async fn demo_payments(
    stack: &Stack,
    shop: &DemoShop,
    orders: &[SeededOrder],
) -> Result<bool, String> {
    enable(stack, "DEMO", &[TaskKind::SyncPayments], |_| {}).await?;
    let store = stack.shopify.store(&shop.domain);
    let now = shopsync_domain::time::now_secs();
    let payout = |days_ago: i64, status: &str, net: &str, gross: &str, fee: &str| {
        store.add_payout(PayoutSeed {
            issued_at: shopify_sim::format_time(now - days_ago * 86_400),
            status: status.into(),
            net: net.into(),
            charges_gross: gross.into(),
            charges_fee: fee.into(),
        })
    };
    let (paid, _) = payout(1, "PAID", "56.04", "58.00", "1.96");
    let (scheduled_payout, _) = payout(0, "SCHEDULED", "28.02", "29.00", "0.98");
    let charges = [
        (&orders[0], Some(&paid)),
        (&orders[1], Some(&paid)),
        (&orders[2], None),
    ];
    for (hours_ago, (order, payout)) in (2..).zip(charges) {
        store.add_balance_transaction(BalanceTransactionSeed {
            processed_at: shopify_sim::format_time(now - hours_ago * 3_600),
            transaction_type: "CHARGE".into(),
            amount: "29.00".into(),
            fee: "0.98".into(),
            order_id: Some(order.id.clone()),
            payout_id: payout.cloned(),
        });
    }
    println!(
        "  Shopify: payout {paid} PAID (charges of {} and {}), payout {scheduled_payout} SCHEDULED; a charge of {} not paid out yet",
        orders[0].name, orders[1].name, orders[2].name
    );
    scheduled(stack, TaskKind::SyncPayments, "DEMO").await?;
    let count = async |kind: &str, status: &str| {
        stack
            .adapters
            .store
            .count_by_status("DEMO", kind, status)
            .await
            .unwrap_or(0)
    };
    let paid_payouts = count(PAYOUTS, payout_status::PAID).await;
    let scheduled_payouts = count(PAYOUTS, payout_status::SCHEDULED).await;
    let open_charges = count(BALANCE_TRANSACTIONS, transaction_status::NO_PAYOUT).await;
    println!(
        "  stored: {paid_payouts} paid and {scheduled_payouts} scheduled payout(s), {open_charges} balance transaction(s) without a payout (read again next run)"
    );
    Ok(paid_payouts == 1 && scheduled_payouts == 1 && open_charges == 1)
}

/// sync-images for shop CATALOG: BC has pictures of two of the three exported items; a scheduled
/// export run (`sync_item_images: to_shopify`) uploads each and attaches it to its product. Whether
/// each of the two products has exactly that picture as its one image.
async fn demo_images(stack: &Stack, shop: &DemoShop) -> Result<bool, String> {
    enable(stack, "CATALOG", &[TaskKind::SyncImages], |s| {
        s.sync_item_images = SyncDirection::ToShopify;
    })
    .await?;
    let items: Vec<String> = (0..3).map(|i| format!("{}{i:06}", shop.prefix)).collect();
    let with_picture = [&items[0], &items[2]];
    for (n, item) in with_picture.iter().enumerate() {
        shop.company.set_item_picture(
            item,
            &picture(&format!("{item} front"), 640 + n as u32, 480),
        );
    }
    println!(
        "  BC: pictures of {} and {}; {} has none; sync_item_images to_shopify",
        items[0], items[2], items[1]
    );
    scheduled(stack, TaskKind::SyncImages, "CATALOG").await?;
    let store = stack.shopify.store(&shop.domain);
    let media = store.media();
    let mut ok = true;
    for item in &items {
        let Some(product) = exported_product(&store, item) else {
            return Ok(false);
        };
        let images: Vec<_> = media
            .iter()
            .filter(|m| m.product_id.as_deref() == Some(product.id.as_str()))
            .collect();
        let want = shop.company.item_picture(item);
        ok &= match &want {
            Some(bytes) => images.len() == 1 && images[0].bytes.as_ref() == Some(bytes),
            None => images.is_empty(),
        };
        println!(
            "    {item} -> {}: {}",
            product.id,
            match images.first() {
                Some(m) => format!(
                    "image {} ({} bytes, alt \"{}\")",
                    m.id,
                    m.bytes.as_ref().map_or(0, Vec::len),
                    m.alt.as_deref().unwrap_or("")
                ),
                None => "no image".into(),
            }
        );
    }
    Ok(ok)
}

/// sync-catalogs and sync-catalog-prices for shop CATALOG: a B2B catalog of a company location with
/// a EUR price list, and BC's prices published on a page with a RETAIL line for one item. A
/// scheduled sync-catalogs run mirrors the catalog, a scheduled sync-catalog-prices run sets the
/// price list's fixed prices of every exported variant. Whether each has BC's price.
async fn demo_catalogs(stack: &Stack, shop: &DemoShop) -> Result<bool, String> {
    const PRICE_PAGE: &str = "SalesPrices";
    enable(
        stack,
        "CATALOG",
        &[TaskKind::SyncCatalogs, TaskKind::SyncCatalogPrices],
        |s| {
            s.sales_prices_page = Some(PRICE_PAGE.into());
            s.customer_price_group = Some("RETAIL".into());
        },
    )
    .await?;
    let items: Vec<String> = (0..3).map(|i| format!("{}{i:06}", shop.prefix)).collect();
    shop.company.publish_price_page(PRICE_PAGE);
    shop.company.add_price_line(SimPriceLine {
        item_no: items[2].clone(),
        variant_code: String::new(),
        price_group_code: "RETAIL".into(),
        currency_code: String::new(),
        minimum_quantity: 0.0,
        unit_price: 39.9,
        starting_date: String::new(),
        ending_date: String::new(),
    });
    let store = stack.shopify.store(&shop.domain);
    let catalog = store.add_catalog(CatalogSeed {
        market: false,
        title: "Acme Wholesale".into(),
        status: "ACTIVE".into(),
        currency: Some("EUR".into()),
        publication: false,
        markets: Vec::new(),
        locations: vec![(
            "gid://shopify/CompanyLocation/1".into(),
            "Acme HQ".into(),
            None,
        )],
    });
    println!(
        "  Shopify: B2B catalog {} \"Acme Wholesale\" (company location Acme HQ, EUR price list); BC: price page {PRICE_PAGE}, a RETAIL price of 39.9 for {}",
        catalog.id, items[2]
    );
    scheduled(stack, TaskKind::SyncCatalogs, "CATALOG").await?;
    scheduled(stack, TaskKind::SyncCatalogPrices, "CATALOG").await?;
    let Some(list) = catalog.price_list_id.as_deref() else {
        return Ok(false);
    };
    let fixed = store.fixed_prices(list);
    let mut ok = true;
    let mut variants = 0;
    for item in &items {
        let Some(product) = exported_product(&store, item) else {
            return Ok(false);
        };
        for v in &product.variants {
            variants += 1;
            let price = fixed.iter().find(|p| p.variant_id == v.id);
            // The RETAIL line where BC has one, else the variant's (BC unit) price.
            let want = if *item == items[2] {
                39.9
            } else {
                v.price.parse().unwrap_or(f64::NAN)
            };
            ok &= price.and_then(|p| p.amount.parse::<f64>().ok()) == Some(want);
            println!(
                "    {item} {:<5} {} -> price list: {}",
                v.options
                    .first()
                    .map(|(_, value)| value.as_str())
                    .unwrap_or("-"),
                v.id,
                price.map_or("none", |p| p.amount.as_str())
            );
        }
    }
    Ok(ok && fixed.len() == variants)
}

/// sync-customers and sync-companies for a third shop, PEOPLE: BC knows Ada Lovelace by
/// `ADA.LOVELACE@EXAMPLE.COM`; Shopify has her as `ada.lovelace@example.com` and Grace Hopper, whom
/// BC does not know. A scheduled sync-customers run (`customer_import_from_shopify: all`,
/// `auto_create_unknown_customers`) links Ada to her BC customer and creates Grace in BC. Then a
/// scheduled sync-companies run. Whether each Shopify customer is linked to one BC customer and BC
/// has no customer twice.
async fn demo_customers(stack: &Stack) -> Result<bool, String> {
    let shop = stack.seed_shop("PEOPLE", 1).await?;
    let store = stack.shopify.store(&shop.domain);
    let ada_bc = shop.company.add_customer(SimCustomer::new(
        "",
        "Ada Lovelace",
        "ADA.LOVELACE@EXAMPLE.COM",
    ));
    let updated_at = Some(shopify_sim::format_time(
        shopsync_domain::time::now_secs() - 600,
    ));
    let customer = |first: &str, last: &str, email: &str| {
        store.add_customer(ShopCustomerSeed {
            first_name: Some(first.into()),
            last_name: Some(last.into()),
            email: Some(email.into()),
            phone: None,
            address: None,
            updated_at: updated_at.clone(),
        })
    };
    let seeded = [
        (
            customer("Ada", "Lovelace", "ada.lovelace@example.com"),
            Some(ada_bc.clone()),
        ),
        (
            customer("Grace", "Hopper", "grace.hopper@example.com"),
            None,
        ),
    ];
    println!(
        "  shop PEOPLE: BC customer {ada_bc} ADA.LOVELACE@EXAMPLE.COM; Shopify customers ada.lovelace@example.com and grace.hopper@example.com"
    );
    enable(stack, "PEOPLE", &[TaskKind::SyncCustomers], |s| {
        s.tasks.remove(&TaskKind::SyncInventory);
        s.customer_import_from_shopify = ImportScope::All;
        s.auto_create_unknown_customers = true;
    })
    .await?;
    scheduled(stack, TaskKind::SyncCustomers, "PEOPLE").await?;
    let bc = shop.company.customers();
    let mut ok = bc.len() == 2;
    for (id, known) in &seeded {
        let legacy = id.rsplit('/').next().unwrap_or_default();
        let record = stack
            .adapters
            .store
            .get_record("PEOPLE", CUSTOMERS, legacy)
            .await
            .map_err(|e| e.to_string())?;
        let (status, number) = match &record {
            Some(r) => {
                let body: serde_json::Value = serde_json::from_str(&r.body).unwrap_or_default();
                (
                    r.status.clone().unwrap_or_default(),
                    body["bc_number"].as_str().unwrap_or_default().to_string(),
                )
            }
            None => ("no record".into(), String::new()),
        };
        let email = store
            .shop_customers()
            .into_iter()
            .find(|c| c.id == *id)
            .and_then(|c| c.email)
            .unwrap_or_default();
        let bc_customer = bc.iter().find(|c| c.number == number);
        ok &= status == customer_status::LINKED
            && bc_customer.is_some()
            && known.as_ref().is_none_or(|k| *k == number);
        println!(
            "    {email:<26} {status:<8} BC customer {} {}",
            if number.is_empty() { "-" } else { &number },
            match (bc_customer, known) {
                (Some(c), Some(_)) => format!("(found by e-mail: {})", c.email),
                (Some(c), None) => format!("(created: {}, {})", c.display_name, c.email),
                (None, _) => String::new(),
            }
        );
    }

    let companies = seed_companies(&store, &shop.company);
    enable(stack, "PEOPLE", &[TaskKind::SyncCompanies], |s| {
        if companies > 0 {
            s.company_import_from_shopify = ImportScope::All;
            s.auto_create_unknown_companies = true;
        } else {
            // Nothing to import: the run scans BC for changes of linked companies to export.
            s.company_import_from_shopify = ImportScope::None;
        }
        s.can_update_shopify_companies = true;
    })
    .await?;
    println!(
        "  sync-companies: {companies} Shopify compan{} seeded; company_import_from_shopify {}, can_update_shopify_companies",
        if companies == 1 { "y" } else { "ies" },
        if companies > 0 { "all" } else { "none" }
    );
    scheduled(stack, TaskKind::SyncCompanies, "PEOPLE").await?;
    let bc = shop.company.customers();
    for c in store.shop_companies() {
        let legacy = c.id.rsplit('/').next().unwrap_or_default();
        let record = stack
            .adapters
            .store
            .get_record("PEOPLE", COMPANIES, legacy)
            .await
            .map_err(|e| e.to_string())?;
        let (status, number) = match &record {
            Some(r) => {
                let body: serde_json::Value = serde_json::from_str(&r.body).unwrap_or_default();
                (
                    r.status.clone().unwrap_or_default(),
                    body["bc_number"].as_str().unwrap_or_default().to_string(),
                )
            }
            None => ("no record".into(), String::new()),
        };
        let bc_customer = bc.iter().find(|b| b.number == number);
        ok &= status == company_status::LINKED && bc_customer.is_some();
        println!(
            "    {:<18} {status:<8} BC customer {} {}",
            c.name,
            if number.is_empty() { "-" } else { &number },
            bc_customer
                .map(|b| format!("({}, {})", b.display_name, b.email))
                .unwrap_or_default()
        );
    }
    Ok(ok)
}

/// Shopify B2B companies of shop PEOPLE for sync-companies to import: one whose main contact's
/// e-mail is a BC customer's (spelt in another case), one BC does not know (created from the
/// template defaults). How many were seeded.
fn seed_companies(store: &StoreHandle, company: &bc_sim::CompanyHandle) -> usize {
    company.add_customer(SimCustomer::new(
        "",
        "Contoso Trading",
        "BUYER@CONTOSO.EXAMPLE",
    ));
    let updated_at = Some(shopify_sim::format_time(
        shopsync_domain::time::now_secs() - 600,
    ));
    for (name, first, email) in [
        ("Contoso Trading", "Casey", "buyer@contoso.example"),
        ("Fabrikam Ltd", "Fran", "orders@fabrikam.example"),
    ] {
        store.add_company(ShopCompanySeed {
            name: name.into(),
            main_contact: Some(ShopCustomerSeed {
                first_name: Some(first.into()),
                last_name: Some("Buyer".into()),
                email: Some(email.into()),
                updated_at: updated_at.clone(),
                ..ShopCustomerSeed::default()
            }),
            locations: vec![CompanyLocationSeed {
                name: format!("{name} HQ"),
                ..CompanyLocationSeed::default()
            }],
            updated_at: updated_at.clone(),
            ..ShopCompanySeed::default()
        });
    }
    2
}

/// Turn `tasks` on for shop `code` and change its settings with `edit`; the result goes through the
/// JSON door, so it is checked as the API checks settings.
async fn enable(
    stack: &Stack,
    code: &str,
    tasks: &[TaskKind],
    edit: impl FnOnce(&mut ShopSettings),
) -> Result<(), String> {
    let mut settings = stack
        .adapters
        .store
        .get_shop(code)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no shop {code}"))?;
    for task in tasks {
        settings.tasks.insert(
            *task,
            TaskSettings {
                enabled: true,
                ..TaskSettings::default()
            },
        );
    }
    edit(&mut settings);
    let json = serde_json::to_string(&settings).map_err(|e| e.to_string())?;
    let settings = ShopSettings::from_json(&json).map_err(|e| e.to_string())?;
    stack
        .adapters
        .store
        .put_shop(&settings)
        .await
        .map_err(|e| e.to_string())
}

/// One scheduled tick of `task` (EventBridge → its fan-out → its queue in the template), the queue
/// drained by the task's worker; prints the fan-out and the task's jobs of shop `code`.
async fn scheduled(stack: &Stack, task: TaskKind, code: &str) -> Result<(), String> {
    let runner = stack.runner_for(task, &queue_of(task), runtime())?;
    let report = runner.tick(tick_at(0)).await;
    println!(
        "  {task} fan-out queued {} job(s), errors: {:?}",
        report.queued.len(),
        report.errors
    );
    runner.drain(Duration::from_secs(300)).await?;
    print_task_jobs(stack, code, task).await;
    Ok(())
}

/// The logical id of a task's queue in the template (`sync-catalog-prices` → `SyncCatalogPricesQueue`).
fn queue_of(task: TaskKind) -> String {
    format!(
        "{}Queue",
        shopsync_status::emf::pascal_case(task.name(), '-')
    )
}

/// A small PNG (signature, then the header chunk of a `width`×`height` image) carrying `tag`, so
/// each picture's content is its own.
fn picture(tag: &str, width: u32, height: u32) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    bytes.extend_from_slice(&width.to_be_bytes());
    bytes.extend_from_slice(&height.to_be_bytes());
    bytes.extend_from_slice(tag.as_bytes());
    bytes
}

/// The job counters that count records a task changed (in Shopify, in BC or in its own records),
/// by task; the summary prints those that are not zero.
fn changed_counters(task: TaskKind) -> &'static [&'static str] {
    use shopsync_tasks::{
        catalogs, companies, customers, images, inventory, orders, payments, products, shipments,
    };
    const ORDER_DOCUMENTS: [&str; 4] = [
        orders::effects::counters::DOCUMENTS_CREATED,
        orders::effects::counters::ORDERS_WRITTEN_BACK,
        orders::bulk::counters::WRITTEN_BACK_IN_BULK,
        orders::effects::counters::ORDERS_CLOSED,
    ];
    match task {
        TaskKind::SyncInventory => &[inventory::counters::LEVELS_CHANGED],
        TaskKind::SyncOrders => &[
            orders::counters::ORDERS_STAGED,
            orders::counters::ORDERS_RESTAGED,
            orders::counters::CUSTOMERS_CREATED,
            ORDER_DOCUMENTS[0],
            ORDER_DOCUMENTS[1],
            ORDER_DOCUMENTS[2],
            ORDER_DOCUMENTS[3],
        ],
        TaskKind::CreateSalesOrders => &[
            orders::create::counters::REMAPPED,
            ORDER_DOCUMENTS[0],
            ORDER_DOCUMENTS[1],
            ORDER_DOCUMENTS[2],
            ORDER_DOCUMENTS[3],
        ],
        TaskKind::SyncShipments => &[shipments::counters::FULFILLMENTS_CREATED],
        TaskKind::SyncPayments => &[
            payments::counters::PAYOUTS_STORED,
            payments::counters::PAYOUTS_UPDATED,
            payments::counters::TRANSACTIONS_STORED,
            payments::counters::TRANSACTIONS_UPDATED,
        ],
        TaskKind::SyncProducts => &[
            products::counters::PRODUCTS_EXPORTED,
            products::counters::PRICES_UPDATED,
            products::counters::PRODUCTS_LINKED,
            products::counters::ITEMS_CREATED,
            products::counters::ITEMS_UPDATED,
            products::counters::ITEM_VARIANTS_CREATED,
        ],
        TaskKind::SyncImages => &[
            images::counters::ATTACHED,
            images::counters::REPLACED,
            images::counters::PICTURES_WRITTEN,
        ],
        TaskKind::SyncCustomers => &[
            customers::counters::LINKED,
            customers::counters::CREATED_IN_BC,
            customers::counters::UPDATED_IN_BC,
            customers::counters::EXPORTED,
        ],
        TaskKind::SyncCompanies => &[
            companies::counters::LINKED,
            companies::counters::CREATED_IN_BC,
            companies::counters::EXPORTED,
        ],
        TaskKind::SyncCatalogs => &[
            catalogs::sync::counters::CATALOGS_STORED,
            catalogs::sync::counters::CATALOGS_UPDATED,
            catalogs::sync::counters::CATALOGS_GONE,
        ],
        TaskKind::SyncCatalogPrices => &[catalogs::prices::counters::PRICES_SET],
    }
}

/// The summary: one row per task of the registry, in its order, read from the job records of the
/// demo's shops — how its jobs were started, their states, skipped records, Shopify cost points
/// and the records they changed. Whether every task has jobs and each of them succeeded (with or
/// without warnings).
async fn print_summary(stack: &Stack, shops: &[&str]) -> bool {
    let mut jobs: Vec<JobRecord> = Vec::new();
    for shop in shops {
        jobs.extend(stack.jobs(shop).await);
    }
    println!("\nEvery task, from its job records (DynamoDB):");
    println!(
        "  {:<19} {:>6}  {:<7} {:<16} {:<35} {:>7} {:>8}  records changed",
        "task", "report", "shop", "started by", "job state", "skipped", "cost pts"
    );
    let mut all_ok = true;
    for registration in REGISTRY {
        let task = registration.kind;
        // Oldest first (each shop's jobs are listed newest first).
        let mine: Vec<&JobRecord> = jobs.iter().rev().filter(|j| j.task == task).collect();
        let succeeded = !mine.is_empty()
            && mine.iter().all(|j| {
                matches!(
                    j.status,
                    JobStatus::Succeeded | JobStatus::SucceededWithWarnings
                )
            });
        all_ok &= succeeded;
        let mut shops_of: Vec<&str> = mine.iter().map(|j| j.shop.as_str()).collect();
        shops_of.sort_unstable();
        shops_of.dedup();
        let started = tally(mine.iter().map(|j| match j.trigger {
            Trigger::Schedule => "schedule",
            Trigger::Manual => "API",
            Trigger::Retry => "retry",
            Trigger::Webhook => "webhook",
        }));
        let states = tally(mine.iter().map(|j| j.status.as_str()));
        let changed: Vec<String> = changed_counters(task)
            .iter()
            .map(|name| (name, mine.iter().map(|j| j.counters.get(name)).sum::<u64>()))
            .filter(|(_, n)| *n > 0)
            .map(|(name, n)| format!("{name} {n}"))
            .collect();
        println!(
            "  {:<19} {:>6}  {:<7} {:<16} {:<35} {:>7} {:>8.0}  {}",
            task.name(),
            task.spec().reference_report,
            shops_of.join(","),
            if mine.is_empty() { "-".into() } else { started },
            if mine.is_empty() {
                "NO JOB".into()
            } else {
                states
            },
            mine.iter()
                .map(|j| j.counters.get(SKIPPED_RECORDS))
                .sum::<u64>(),
            mine.iter().map(|j| j.cost_points_used).sum::<f64>(),
            if changed.is_empty() {
                "none".into()
            } else {
                changed.join(", ")
            }
        );
        for j in mine.iter().filter(|j| j.error.is_some()) {
            if let Some(e) = &j.error {
                println!("      {} {}: {}", j.job_id, j.status.as_str(), e.message);
            }
        }
    }
    println!(
        "{}",
        if all_ok {
            "All eleven tasks ran and every job succeeded."
        } else {
            "FAILED: a task has no job, or a job that did not succeed."
        }
    );
    all_ok
}

/// `a 2, b` for the values `a, a, b` (first-seen order; a count only where it is above one).
fn tally<'a>(values: impl Iterator<Item = &'a str>) -> String {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for v in values {
        match counts.iter_mut().find(|(seen, _)| *seen == v) {
            Some((_, n)) => *n += 1,
            None => counts.push((v, 1)),
        }
    }
    counts
        .iter()
        .map(|(v, n)| {
            if *n > 1 {
                format!("{v} {n}")
            } else {
                v.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The jobs of one task of a shop, newest first, with their counters.
async fn print_task_jobs(stack: &Stack, shop: &str, task: TaskKind) {
    for j in stack
        .jobs(shop)
        .await
        .iter()
        .filter(|j| j.task == task)
        .take(3)
    {
        let counters: Vec<String> = j
            .counters
            .values
            .iter()
            .filter(|(_, v)| **v > 0)
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        println!(
            "    {}  {:<10} {} cost_points={:.0}{}",
            j.job_id,
            j.status.as_str(),
            counters.join(" "),
            j.cost_points_used,
            j.error
                .as_ref()
                .map(|e| format!("  error: {}", e.message))
                .unwrap_or_default()
        );
    }
}

/// The tracking number of the demo's shipment.
const TRACKING_NUMBER: &str = "1Z999AA10123456784";

/// The local runtime without metric lines on stdout.
fn runtime() -> RuntimeConfig {
    RuntimeConfig {
        metrics: MetricsSink::Off,
        ..local_runtime()
    }
}

async fn print_jobs(stack: &Stack, shop: &str) {
    println!("  jobs of {shop} (newest first):");
    for j in stack.jobs(shop).await.iter().take(5) {
        println!(
            "    {}  {:<24} full={:<5} attempts={} levels_checked={} levels_changed={} mutations={} skipped={} cost_points={:.0}{}",
            j.job_id,
            j.status.as_str(),
            j.options.full,
            j.attempts,
            j.counters.get("levels_checked"),
            j.counters.get("levels_changed"),
            j.counters.get("mutations"),
            j.counters.get("skipped_records"),
            j.cost_points_used,
            j.error
                .as_ref()
                .map(|e| format!("  error: {}", e.message))
                .unwrap_or_default()
        );
    }
}
