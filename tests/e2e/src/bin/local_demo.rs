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
//! Shopify; one order stays unprocessed with its reason), BC posts a shipment of one of them, a
//! second shop exports its BC items as Shopify products (sync-products) and sends a BC price change
//! with a price-only run started through the API, and the merchant reads the status board.
//! Everything started is stopped at the end.

use serde_json::json;
use shopify_sim::{OrderSeed, SeededOrder, VariantSeed};
use shopsync_domain::TaskKind;
use shopsync_domain::orders::BC_DOCUMENT_ATTRIBUTE;
use shopsync_domain::ports::{RecordStore, SettingsStore};
use shopsync_domain::settings::{SyncDirection, TaskSettings};
use shopsync_domain::staging::STAGED_ORDERS;
use shopsync_e2e::api_stack::ApiStack;
use shopsync_e2e::orders_world::{OrderTasks, external_number, set_up_orders};
use shopsync_e2e::{
    DemoShop, ORDERS_QUEUE, Stack, StackOptions, bc_quantity, local_runtime, tick_at,
};
use shopsync_runtime::RuntimeConfig;
use shopsync_runtime::metrics::MetricsSink;
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
        "\n4) Orders: a scheduled sync-orders run with auto_create_orders, then a BC shipment and sync-shipments"
    );
    let orders_ok = demo_orders(stack, &shop).await?;

    println!(
        "\n5) Catalogue: a scheduled sync-products export, then a price change sent by a price-only run"
    );
    let catalogue_ok = demo_catalogue(&api).await?;

    println!("\n6) The status board: GET /shops/DEMO/status");
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
            "Three orders are BC sales orders with their number in Shopify (the fourth waits with its reason); the shipment is a Shopify fulfillment."
        } else {
            "MISMATCH: the orders did not end as expected."
        }
    );
    if catalogue_ok {
        println!(
            "The BC items are Shopify products, and the changed BC price is the Shopify price."
        );
    }
    if !catalogue_ok {
        println!("MISMATCH: the catalogue export or the price change did not reach Shopify.");
    }
    let ok = inventory_ok && orders_ok && catalogue_ok;
    let ApiStack { stack, gateway, .. } = api;
    drop(gateway);
    stack.shopify.shutdown().await;
    stack.bc.shutdown().await;
    if ok {
        Ok(())
    } else {
        Err("inventory, orders or the catalogue do not match".into())
    }
}

/// Four Shopify orders for the demo shop (three of them mapped, one with the discontinued SKU
/// LEGACY-1 that no BC item has), imported by sync-orders with `auto_create_orders`: staged orders,
/// their BC sales orders and the document number written back to Shopify; then BC posts a shipment
/// of the first one, with tracking, and sync-shipments makes it a Shopify fulfillment. Whether all
/// of it ended as expected.
async fn demo_orders(stack: &Stack, shop: &DemoShop) -> Result<bool, String> {
    let orders = set_up_orders(
        stack,
        shop,
        VARIANTS,
        &OrderTasks {
            buyers: 3,
            auto_create_orders: true,
            webhooks: false,
            debounce_secs: None,
            create_sales_orders: false,
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
        let documents = orders
            .company
            .documents_with_external_number(&external_number(&o.name));
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
            .unwrap_or_else(|| "no BC document".into());
        let written_back = store
            .order_custom_attributes(&o.id)
            .unwrap_or_default()
            .into_iter()
            .find(|(k, _)| k == BC_DOCUMENT_ATTRIBUTE)
            .and_then(|(_, v)| v)
            .map(|v| format!("\"{BC_DOCUMENT_ATTRIBUTE}\" = {v}"))
            .unwrap_or_else(|| "nothing written back".into());
        // The first three become sales orders with their number written back; the fourth waits.
        let made = documents.len() == 1 && written_back.ends_with(documents[0].number.as_str());
        as_expected &= if i < 3 {
            made
        } else {
            documents.is_empty() && status == "unprocessed"
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
    Ok(as_expected && shipped)
}

/// Shop CATALOG: three BC items (the first with variants RED and BLUE) exported by a scheduled
/// sync-products run (`productSet` keyed by the item), then a BC price change sent by a price-only
/// run started through the API. Whether Shopify ended with the products and the new price.
async fn demo_catalogue(api: &ApiStack) -> Result<bool, String> {
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
    let exported = |item: &str| {
        store.catalog_products().into_iter().find(|p| {
            p.metafields
                .iter()
                .any(|(n, k, v)| n == "shopsync" && k == "bc_item" && v == item)
        })
    };
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
    Ok(all_exported && a.status == 202 && new_price.parse::<f64>().ok() == Some(42.5))
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
