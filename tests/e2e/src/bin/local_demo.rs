//! The README's first command: the whole pipeline once, on local stand-ins, with a readable summary.
//!
//! moto + both simulators start on 127.0.0.1, the resources are provisioned from
//! `infra/template.yaml`, a demo shop is seeded (1,200 variants over 2 locations; a BC company with
//! matching items whose stock differs from Shopify's), then a scheduled tick runs through fan-out →
//! SQS → worker → DynamoDB → Shopify. A second tick 15 minutes later, after a few BC quantities
//! changed, shows that only the changes are sent. Everything started is stopped at the end.

use shopify_sim::VariantSeed;
use shopsync_domain::ports::SkippedRecordStore;
use shopsync_e2e::{Stack, StackOptions, bc_quantity, tick_at};
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
    let stack = Stack::start(StackOptions::default()).await?;
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
        shop.levels_off(&stack, expected)
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
    print_jobs(&stack, "DEMO").await;
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
        shop.levels_off(&stack, expected)
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
    print_jobs(&stack, "DEMO").await;
    let after = stack.shopify.stats();
    println!(
        "  Shopify: {} request(s), {:.0} cost points, {} levels adjusted (no level re-read)",
        after.requests - before.requests,
        after.points_consumed - before.points_consumed,
        after.applied_adjustments - before.applied_adjustments
    );
    println!(
        "  Shopify levels that differ from BC now: {}",
        shop.levels_off(&stack, changed)
    );

    let skipped = stack
        .adapters
        .store
        .list_skipped("DEMO", 10)
        .await
        .map_err(|e| e.to_string())?;
    println!("\nSkipped records: {}", skipped.len());
    for s in skipped.iter().take(5) {
        println!("  {} — {}", s.record_id, s.reason);
    }
    println!(
        "Dead-letter queue: {} message(s)",
        stack.dead_letters().await.len()
    );
    let ok = shop.levels_off(&stack, changed) == 0;
    println!(
        "\nResult: {}",
        if ok {
            "Shopify inventory matches BC."
        } else {
            "MISMATCH: Shopify inventory does not match BC."
        }
    );
    stack.shopify.shutdown().await;
    stack.bc.shutdown().await;
    if ok {
        Ok(())
    } else {
        Err("levels do not match".into())
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
