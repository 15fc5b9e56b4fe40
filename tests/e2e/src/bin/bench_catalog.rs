//! Catalogue benchmark (issue 10, item 5): `sync-products` exporting a BC catalogue to Shopify through
//! the whole pipeline (the task queue on moto → worker → DynamoDB on moto, the real Shopify and BC
//! clients) against the time-scaled Shopify simulator at Standard-plan limits (100 points/s, bucket
//! 2,000) and the BC simulator.
//!
//! Phases, all in one run, on one shop (`sync_item = to_shopify`, `can_update_shopify_products`,
//! `sync_prices`; the default `product_bulk_threshold`):
//! 1. **First run** (scheduled): `--items` items × `--variants-per-item` variants (2,000 × 10 =
//!    20,000 variants) are exported → Shopify points per variant.
//! 2. **No-change re-run** (manual): nothing changed in BC. The items are still read again (they were
//!    modified within the cursor's 5-minute rewind), so the run compares every rebuilt input with the
//!    mirror's hash → Shopify mutation requests (target 0).
//! 3. **1 % change re-run** (manual): 1 % of the variants' worth of changes (200 at the default
//!    sizes), one per item on distinct items — every other one the item's description, the others
//!    its unit price → points per change (target ≤ 1).
//! 4. **Price-only 1 % run** (manual, `prices_only`): the unit price of items holding 1 % of the
//!    variants changes in BC (other items than phase 3's) → points per changed variant price
//!    (reported, no target).
//! 5. **Baseline** (same run, same products): the reference connector's pattern — one `productUpdate`
//!    and one `productVariantsBulkUpdate` per product — sent as plain GraphQL that the simulator
//!    validates and charges, paced on its `throttleStatus` as the reference does → points per variant.
//!
//! Figures are counts and ratios, never timed assertions: the benchmark exits 0 when a target is
//! missed (it says so) and non-zero only when it could not run. Its last line is machine-readable:
//! `catalog: first_run_points_per_variant=<x> nochange_mutations=<n>
//! onepct_points_per_changed_variant=<x> baseline_points_per_variant=<x>` (one line).
//!
//! Options: `--items N` (2000), `--variants-per-item V` (10), `--time-scale X` (50: simulated
//! seconds per real second; BC's request-rate window and the bulk poll are scaled with it),
//! `--baseline-items N` (every item).

use serde_json::{Value, json};
use shopify_sim::SimStats;
use shopsync_domain::TaskKind;
use shopsync_domain::job::{JobRecord, RunOptions, Trigger};
use shopsync_domain::ports::{JobStore, SettingsStore};
use shopsync_domain::settings::{SHOPIFY_API_VERSION, SyncDirection, TaskSettings};
use shopsync_e2e::bench::{
    BUCKET_SIZE, PlainGraphql, RESTORE_RATE, met, ratio, standard_plan, start_moto,
};
use shopsync_e2e::{Stack, StackOptions, local_runtime, tick_at};
use shopsync_runtime::RuntimeConfig;
use shopsync_runtime::local::LocalRunner;
use shopsync_runtime::metrics::MetricsSink;
use shopsync_tasks::products::counters as c;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

const PRODUCTS_QUEUE: &str = "SyncProductsQueue";
const SHOP: &str = "CATALOG";
const DRAIN_TIMEOUT: Duration = Duration::from_secs(1_800);

/// Targets (the issue).
const TARGET_NOCHANGE_MUTATIONS: u64 = 0;
const TARGET_ONEPCT_POINTS_PER_CHANGE: f64 = 1.0;

struct Args {
    items: usize,
    variants: usize,
    time_scale: f64,
    baseline_items: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        items: 2_000,
        variants: 10,
        time_scale: 50.0,
        baseline_items: usize::MAX,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) => (f.to_string(), Some(v.to_string())),
            None => (a.clone(), None),
        };
        if flag == "-h" || flag == "--help" {
            println!(
                "bench-catalog [--items N (2000)] [--variants-per-item V (10)] [--time-scale X (50)] [--baseline-items N (all)]"
            );
            std::process::exit(0);
        }
        let value = inline
            .or_else(|| it.next())
            .ok_or_else(|| format!("{flag} needs a value"))?;
        let number = |v: &str| -> Result<f64, String> {
            v.parse::<f64>()
                .ok()
                .filter(|x| x.is_finite() && *x >= 0.0)
                .ok_or_else(|| format!("{flag}: '{v}' is not a non-negative number"))
        };
        match flag.as_str() {
            "--items" => args.items = number(&value)? as usize,
            "--variants-per-item" => args.variants = number(&value)? as usize,
            "--time-scale" => args.time_scale = number(&value)?,
            "--baseline-items" => args.baseline_items = number(&value)? as usize,
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    if !(10..=100_000).contains(&args.items) {
        return Err("--items must be between 10 and 100000".into());
    }
    if !(1..=100).contains(&args.variants) {
        return Err("--variants-per-item must be between 1 and 100".into());
    }
    if args.time_scale <= 0.0 {
        return Err("--time-scale must be positive".into());
    }
    args.baseline_items = args.baseline_items.clamp(1, args.items);
    Ok(args)
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            std::env::var("RUST_LOG")
                .unwrap_or_else(|_| "warn,shopsync_runtime::worker=error".into()),
        )
        .with_target(false)
        .init();
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("bench-catalog: {e}");
            std::process::exit(2);
        }
    };
    // The task's pause between two polls of a bulk operation is wall-clock (2 s in production):
    // scaled with simulated time, so a poll costs what it would live.
    if std::env::var_os("SHOPIFY_BULK_POLL_MS").is_none() {
        let ms = (2_000.0 / args.time_scale).round().max(5.0) as u64;
        // SAFETY: no other thread exists yet (the runtime is built below).
        unsafe { std::env::set_var("SHOPIFY_BULK_POLL_MS", ms.to_string()) };
    }
    let moto = if std::env::var("AWS_ENDPOINT_URL").is_ok_and(|v| !v.trim().is_empty()) {
        None
    } else {
        match start_moto() {
            Ok(moto) => {
                // SAFETY: no other thread exists yet (the runtime is built below).
                unsafe { std::env::set_var("AWS_ENDPOINT_URL", &moto.endpoint) };
                Some(moto)
            }
            Err(e) => {
                eprintln!("bench-catalog could not run: moto: {e}");
                std::process::exit(1);
            }
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("bench-catalog could not run: {e}");
            std::process::exit(1);
        }
    };
    let outcome = runtime.block_on(bench(args));
    drop(runtime);
    drop(moto);
    if let Err(e) = outcome {
        eprintln!("bench-catalog could not run: {e}");
        std::process::exit(1);
    }
}

/// The runtime of the local stack, without metric lines on stdout.
fn runtime() -> RuntimeConfig {
    RuntimeConfig {
        metrics: MetricsSink::Off,
        ..local_runtime()
    }
}

// ---- figures --------------------------------------------------------------------------------------

/// The Shopify and BC figures of one phase, from the simulators' counters.
struct Usage {
    requests: u64,
    points: f64,
    throttled: u64,
    mutations: u64,
    operations: BTreeMap<String, u64>,
    /// Catalogue writes Shopify logged, by mutation (a bulk operation's lines as their mutation).
    writes: BTreeMap<String, u64>,
    bc_requests: u64,
    bc_throttled: u64,
    simulated: Duration,
    wall: Duration,
}

/// Counters at the start of a phase.
struct Mark {
    shopify: SimStats,
    bc: bc_sim::BcSimStats,
    writes: BTreeMap<String, u64>,
    simulated: Duration,
    at: Instant,
}

fn writes_by_mutation(stack: &Stack, domain: &str) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for w in stack.shopify.store(domain).catalog_writes() {
        if w.applied {
            *out.entry(w.mutation).or_insert(0) += 1;
        }
    }
    out
}

fn mark(stack: &Stack, domain: &str) -> Mark {
    Mark {
        shopify: stack.shopify.stats(),
        bc: stack.bc.stats(),
        writes: writes_by_mutation(stack, domain),
        simulated: stack.shopify.simulated_elapsed(),
        at: Instant::now(),
    }
}

fn delta(after: &BTreeMap<String, u64>, before: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    after
        .iter()
        .map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0)))
        .filter(|(_, v)| *v > 0)
        .collect()
}

impl Usage {
    fn since(stack: &Stack, domain: &str, m: &Mark) -> Usage {
        let (s1, b1) = (stack.shopify.stats(), stack.bc.stats());
        Usage {
            requests: s1.requests - m.shopify.requests,
            points: s1.points_consumed - m.shopify.points_consumed,
            throttled: s1.throttled - m.shopify.throttled,
            mutations: s1.mutation_calls - m.shopify.mutation_calls,
            operations: delta(&s1.operations, &m.shopify.operations),
            writes: delta(&writes_by_mutation(stack, domain), &m.writes),
            bc_requests: b1.requests - m.bc.requests,
            bc_throttled: b1.throttled_429 - m.bc.throttled_429,
            simulated: stack
                .shopify
                .simulated_elapsed()
                .saturating_sub(m.simulated),
            wall: m.at.elapsed(),
        }
    }

    fn print(&self) {
        println!(
            "  Shopify: {} requests, {:.0} points, THROTTLED {}, {} mutation requests; by operation: {}",
            self.requests,
            self.points,
            self.throttled,
            self.mutations,
            join(&self.operations)
        );
        println!(
            "  catalogue writes applied (a bulk operation's lines counted as their mutation): {}",
            join(&self.writes)
        );
        println!(
            "  BC: {} requests, 429 {}; simulated {:.1} s, wall {:.1} s",
            self.bc_requests,
            self.bc_throttled,
            self.simulated.as_secs_f64(),
            self.wall.as_secs_f64()
        );
    }
}

fn join(m: &BTreeMap<String, u64>) -> String {
    if m.is_empty() {
        return "-".into();
    }
    m.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn job_line(j: &JobRecord) -> String {
    let n = |k: &str| j.counters.get(k);
    format!(
        "{} {:<9} {:<10} attempts={} continuations={} items_read={} unchanged={} queued={} exported={} failed={} bulk_operations={} prices_updated={} prices_unchanged={} cost_points={:.0}{}",
        j.job_id,
        format!("{:?}", j.trigger).to_lowercase(),
        j.status.as_str(),
        j.attempts,
        j.continuations,
        n(c::ITEMS_READ),
        n(c::PRODUCTS_UNCHANGED),
        n(c::PRODUCTS_QUEUED),
        n(c::PRODUCTS_EXPORTED),
        n(c::PRODUCTS_FAILED),
        n(c::BULK_OPERATIONS),
        n(c::PRICES_UPDATED),
        n(c::PRICES_UNCHANGED),
        j.cost_points_used,
        j.error
            .as_ref()
            .map(|e| format!("  error: {}", e.message))
            .unwrap_or_default()
    )
}

// ---- the shop and its runs --------------------------------------------------------------------------

struct Shop {
    domain: String,
    company: bc_sim::CompanyHandle,
    items: Vec<String>,
}

fn item_number(i: usize) -> String {
    format!("CAT{i:06}")
}

fn variant_code(v: usize) -> String {
    format!("V{:02}", v + 1)
}

fn price_of(i: usize) -> f64 {
    10.0 + (i % 90) as f64 + 0.5
}

async fn set_up(stack: &Stack, args: &Args) -> Result<Shop, String> {
    let demo = stack.seed_shop(SHOP, 0).await?;
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
    settings.sync_prices = true;
    stack
        .adapters
        .store
        .put_shop(&settings)
        .await
        .map_err(|e| e.to_string())?;
    let mut items = Vec::with_capacity(args.items);
    for i in 0..args.items {
        let number = item_number(i);
        let mut item = bc_sim::SimItem::new(&number, &format!("Product {i}"), price_of(i));
        item.unit_cost = 4.25;
        demo.company.add_catalog_item(&item);
        for v in 0..args.variants {
            demo.company.add_item_variant(&number, &variant_code(v));
        }
        items.push(number);
    }
    Ok(Shop {
        domain: demo.domain,
        company: demo.company,
        items,
    })
}

/// A manual run (as the api function queues one) on the task queue, drained by the worker.
async fn manual_run(
    stack: &Stack,
    runner: &LocalRunner,
    options: RunOptions,
) -> Result<JobRecord, String> {
    let id = shopsync_domain::job::job_id(
        TaskKind::SyncProducts,
        shopsync_domain::time::now_millis(),
        "manual",
    );
    let job = JobRecord::new_queued(
        SHOP,
        &id,
        TaskKind::SyncProducts,
        Trigger::Manual,
        options,
        shopsync_domain::time::now_secs(),
    );
    if !stack
        .adapters
        .store
        .create_job(&job)
        .await
        .map_err(|e| e.to_string())?
    {
        return Err(format!("job {id} exists already"));
    }
    let body = serde_json::to_string(&job.message()).map_err(|e| e.to_string())?;
    aws_sdk_sqs::Client::new(&stack.sdk)
        .send_message()
        .queue_url(&runner.queue_url)
        .message_body(body)
        .send()
        .await
        .map_err(|e| format!("queue the manual run: {e}"))?;
    runner.drain(DRAIN_TIMEOUT).await?;
    stack
        .adapters
        .store
        .get_job(SHOP, &id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("job {id} is gone"))
}

/// The scheduled run of the first export.
async fn scheduled_run(stack: &Stack, runner: &LocalRunner) -> Result<JobRecord, String> {
    let report = runner.tick(tick_at(0)).await;
    if report.queued.len() != 1 {
        return Err(format!(
            "the tick queued {} sync-products jobs: {:?}",
            report.queued.len(),
            report.errors
        ));
    }
    runner.drain(DRAIN_TIMEOUT).await?;
    stack
        .jobs(SHOP)
        .await
        .into_iter()
        .find(|j| j.task == TaskKind::SyncProducts)
        .ok_or_else(|| "no sync-products job".to_string())
}

struct Phase {
    job: JobRecord,
    usage: Usage,
}

async fn phase(
    stack: &Stack,
    shop: &Shop,
    runner: &LocalRunner,
    options: Option<RunOptions>,
) -> Result<Phase, String> {
    let m = mark(stack, &shop.domain);
    let job = match options {
        None => scheduled_run(stack, runner).await?,
        Some(o) => manual_run(stack, runner, o).await?,
    };
    let usage = Usage::since(stack, &shop.domain, &m);
    println!("  job {}", job_line(&job));
    usage.print();
    Ok(Phase { job, usage })
}

/// `n` indexes spread evenly over `0..len`, skipping those in `taken`.
fn spread(len: usize, n: usize, taken: &BTreeSet<usize>) -> Vec<usize> {
    let free: Vec<usize> = (0..len).filter(|i| !taken.contains(i)).collect();
    let n = n.min(free.len());
    (0..n).map(|k| free[k * free.len() / n.max(1)]).collect()
}

// ---- baseline ---------------------------------------------------------------------------------------

/// The reference's product write (`productUpdate` with the product's fields), valid against the
/// simulator's schema (and Shopify's 2026-07).
const BASELINE_PRODUCT: &str = "mutation BaselineProductUpdate($product: ProductUpdateInput!) { productUpdate(product: $product) { product { id } userErrors { field message } } }";

/// The reference's variant write: every variant of the product with its price, compare-at price
/// and cost.
const BASELINE_VARIANTS: &str = "mutation BaselineVariantsUpdate($productId: ID!, $variants: [ProductVariantsBulkInput!]!) { productVariantsBulkUpdate(productId: $productId, variants: $variants) { productVariants { id } userErrors { field message } } }";

struct Baseline {
    usage: Usage,
    products: usize,
    variants: usize,
    user_errors: usize,
    throttled: u64,
}

async fn baseline(
    stack: &Stack,
    shop: &Shop,
    n: usize,
    time_scale: f64,
) -> Result<Baseline, String> {
    let store = stack.shopify.store(&shop.domain);
    let mut client = PlainGraphql::new(
        stack.shopify.graphql_url(&shop.domain, SHOPIFY_API_VERSION),
        store.access_token().unwrap_or_default(),
    );
    // The reference knows its products' and variants' ids from its own tables: taken from the
    // store, not read (reading would only add to the baseline's cost).
    let mut products: Vec<_> = store
        .catalog_products()
        .into_iter()
        .filter_map(|p| {
            let item = p
                .metafields
                .iter()
                .find(|(ns, k, _)| ns == "shopsync" && k == "bc_item")
                .map(|(_, _, v)| v.clone())?;
            Some((item, p))
        })
        .collect();
    products.sort_by(|a, b| a.0.cmp(&b.0));
    products.truncate(n);
    // Let the bucket fill up again after the previous phases.
    tokio::time::sleep(Duration::from_secs_f64(
        BUCKET_SIZE / RESTORE_RATE / time_scale + 0.5,
    ))
    .await;
    let m = mark(stack, &shop.domain);
    let mut variants = 0;
    let mut user_errors = 0;
    for (item, p) in &products {
        let bc = shop.company.catalog_item(item);
        let title = bc
            .as_ref()
            .map(|i| i.display_name.clone())
            .unwrap_or_else(|| p.title.clone());
        let data = client
            .call(
                "BaselineProductUpdate",
                BASELINE_PRODUCT,
                json!({"product": {"id": p.id, "title": title, "status": "ACTIVE"}}),
            )
            .await?;
        user_errors += data["productUpdate"]["userErrors"]
            .as_array()
            .map_or(0, Vec::len);
        let cost = bc.as_ref().map(|i| format!("{:.2}", i.unit_cost));
        let list: Vec<Value> = p
            .variants
            .iter()
            .map(|v| {
                let price = bc
                    .as_ref()
                    .map(|i| format!("{:.2}", i.unit_price))
                    .unwrap_or_else(|| v.price.clone());
                json!({
                    "id": v.id,
                    "price": price,
                    "compareAtPrice": v.compare_at_price,
                    "inventoryItem": {"cost": cost.clone().or_else(|| v.unit_cost.clone())},
                })
            })
            .collect();
        variants += list.len();
        let data = client
            .call(
                "BaselineVariantsUpdate",
                BASELINE_VARIANTS,
                json!({"productId": p.id, "variants": list}),
            )
            .await?;
        user_errors += data["productVariantsBulkUpdate"]["userErrors"]
            .as_array()
            .map_or(0, Vec::len);
    }
    Ok(Baseline {
        usage: Usage::since(stack, &shop.domain, &m),
        products: products.len(),
        variants,
        user_errors,
        throttled: client.throttled,
    })
}

// ---- the run ------------------------------------------------------------------------------------------

fn per(x: f64, n: usize) -> f64 {
    x / n.max(1) as f64
}

async fn bench(args: Args) -> Result<(), String> {
    let x = args.time_scale;
    let total_variants = args.items * args.variants;
    println!(
        "Catalogue benchmark: {} items x {} variants = {total_variants} variants, sync-products (to_shopify, sync_prices), Shopify Standard plan ({RESTORE_RATE} points/s, bucket {BUCKET_SIZE}), simulated time x{x} (BC's 6,000 requests / 5 minutes window and the bulk poll scaled with it)",
        args.items, args.variants
    );
    let stack = Stack::start(StackOptions {
        bc: bc_sim::BcSimConfig {
            rate_window: Duration::from_secs_f64(300.0 / x),
            ..bc_sim::BcSimConfig::default()
        },
        ..standard_plan(x)
    })
    .await?;
    let shop = set_up(&stack, &args).await?;
    let runner = stack.runner_for(TaskKind::SyncProducts, PRODUCTS_QUEUE, runtime())?;
    let threshold = stack
        .adapters
        .store
        .get_shop(SHOP)
        .await
        .map_err(|e| e.to_string())?
        .map(|s| s.product_bulk_threshold)
        .unwrap_or_default();

    println!(
        "\n1) First run (scheduled): {} items, {total_variants} variants exported (product_bulk_threshold {threshold})",
        args.items
    );
    let first = phase(&stack, &shop, &runner, None).await?;
    let exported = shop.items.len();
    let products = stack.shopify.store(&shop.domain).catalog_products();
    let variants_in_shopify: usize = products.iter().map(|p| p.variants.len()).sum();
    println!(
        "  Shopify now holds {} products with {variants_in_shopify} variants ({exported} BC items)",
        products.len()
    );
    let first_ppv = per(first.usage.points, total_variants);

    println!(
        "\n2) No-change re-run (manual): nothing changed in BC; the items are read again (modified within the cursor's 5-minute rewind)"
    );
    let nochange = phase(&stack, &shop, &runner, Some(RunOptions::default())).await?;
    let nochange_mutations = nochange.usage.mutations;

    let changes = (total_variants / 100).max(1);
    let mut taken = BTreeSet::new();
    let changed = spread(args.items, changes, &taken);
    taken.extend(changed.iter().copied());
    println!(
        "\n3) 1 % change re-run (manual): {} changes on {} distinct items (every other one the description, the rest the unit price)",
        changed.len(),
        changed.len()
    );
    for (k, &i) in changed.iter().enumerate() {
        let number = &shop.items[i];
        if k % 2 == 0 {
            let mut item = shop
                .company
                .catalog_item(number)
                .ok_or_else(|| format!("item {number} is gone"))?;
            item.display_name = format!("{} (revised)", item.display_name);
            shop.company.add_catalog_item(&item);
        } else {
            shop.company.set_item_unit_price(number, price_of(i) + 1.0);
        }
    }
    let onepct = phase(&stack, &shop, &runner, Some(RunOptions::default())).await?;
    let onepct_ppc = per(onepct.usage.points, changed.len());

    let price_items = changes.div_ceil(args.variants).max(1);
    let repriced = spread(args.items, price_items, &taken);
    let changed_prices = repriced.len() * args.variants;
    println!(
        "\n4) Price-only run (manual, prices_only): the unit price of {} items changes in BC ({changed_prices} variant prices, 1 %)",
        repriced.len()
    );
    for &i in &repriced {
        shop.company
            .set_item_unit_price(&shop.items[i], price_of(i) + 2.0);
    }
    let prices = phase(
        &stack,
        &shop,
        &runner,
        Some(RunOptions {
            prices_only: true,
            ..RunOptions::default()
        }),
    )
    .await?;
    let prices_ppc = per(prices.usage.points, changed_prices);

    println!(
        "\n5) Baseline (reference pattern): one productUpdate and one productVariantsBulkUpdate per product, over {} products",
        args.baseline_items
    );
    let base = baseline(&stack, &shop, args.baseline_items, x).await?;
    base.usage.print();
    println!(
        "  {} products, {} variants sent, user errors {}, client THROTTLED {}",
        base.products, base.variants, base.user_errors, base.throttled
    );
    let baseline_ppv = per(base.usage.points, base.variants);
    let Stack { shopify, bc, .. } = stack;
    shopify.shutdown().await;
    bc.shutdown().await;

    println!("\nSummary:");
    println!("| phase | Shopify requests | points | mutations | per unit | simulated s |");
    println!("| --- | --- | --- | --- | --- | --- |");
    let row = |name: &str, u: &Usage, unit: String| {
        println!(
            "| {name} | {} | {:.0} | {} | {unit} | {:.1} |",
            u.requests,
            u.points,
            u.mutations,
            u.simulated.as_secs_f64()
        );
    };
    row(
        "first run",
        &first.usage,
        format!("{first_ppv:.4} per variant ({total_variants})"),
    );
    row(
        "no change",
        &nochange.usage,
        format!(
            "{} items re-read, {} unchanged",
            nochange.job.counters.get(c::ITEMS_READ),
            nochange.job.counters.get(c::PRODUCTS_UNCHANGED)
        ),
    );
    row(
        "1 % changed",
        &onepct.usage,
        format!("{onepct_ppc:.4} per change ({})", changed.len()),
    );
    row(
        "prices only, 1 %",
        &prices.usage,
        format!("{prices_ppc:.4} per changed price ({changed_prices})"),
    );
    row(
        "baseline",
        &base.usage,
        format!("{baseline_ppv:.4} per variant ({})", base.variants),
    );
    println!("\nRatios (same run):");
    println!(
        "  points per variant: first run {first_ppv:.4}, baseline {baseline_ppv:.4} -> baseline spends {} as much",
        ratio(baseline_ppv, first_ppv)
    );
    println!(
        "  points per changed variant: 1 % run {onepct_ppc:.4}, baseline {baseline_ppv:.4} per variant it writes -> {}",
        ratio(baseline_ppv, onepct_ppc)
    );
    println!(
        "  points per changed price (prices_only): {prices_ppc:.4} -> baseline {}",
        ratio(baseline_ppv, prices_ppc)
    );
    println!(
        "\ntargets: nochange_mutations={TARGET_NOCHANGE_MUTATIONS} {} ({nochange_mutations}); first run cheaper per variant than the baseline {} ({first_ppv:.4} < {baseline_ppv:.4}); onepct_points_per_changed_variant<={TARGET_ONEPCT_POINTS_PER_CHANGE} {} ({onepct_ppc:.4})",
        met(nochange_mutations == TARGET_NOCHANGE_MUTATIONS),
        met(first_ppv < baseline_ppv),
        met(onepct_ppc <= TARGET_ONEPCT_POINTS_PER_CHANGE),
    );
    println!(
        "catalog: first_run_points_per_variant={first_ppv:.4} nochange_mutations={nochange_mutations} onepct_points_per_changed_variant={onepct_ppc:.4} baseline_points_per_variant={baseline_ppv:.4}"
    );
    Ok(())
}
