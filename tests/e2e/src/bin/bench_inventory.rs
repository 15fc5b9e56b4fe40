//! Inventory benchmark (DESIGN §11): the whole pipeline against the time-scaled Shopify simulator at
//! Standard-plan limits (100 points/s, bucket 2,000), 10,000 variants × 2 locations.
//!
//! Phases, all in one run on one local stack (moto + both simulators + the `sync-inventory` app):
//! 1. a first (full) sync — the shop has never been synced;
//! 2. a re-run 15 minutes later with 1 % of the BC levels changed → `points_per_changed_level`;
//! 3. a re-run with nothing changed → `nochange_mutations`;
//! 4. a baseline following the reference connector's pattern, measured in the same run: re-read every
//!    Shopify level of every location page by page, read BC, write the differences (250 rows a call)
//!    for another 1 % of BC levels changed → `baseline_points_per_changed_level`;
//! 5. a pacing phase: one client sends the sync's own paged read query (`LocationInventoryLevels`) back
//!    to back for 120 simulated seconds from a full bucket → `pacing_ceiling_fraction` = points consumed
//!    ÷ (starting bucket + restore rate × elapsed).
//!
//! Figures are ratios and counts, never timed assertions: the benchmark exits 0 when a target is missed
//! (it says so) and non-zero only when it could not run. Its last line is machine-readable:
//! `inventory: points_per_changed_level=<x> nochange_mutations=<n> throttled=<n>
//! pacing_ceiling_fraction=<x> baseline_points_per_changed_level=<x>` (one line), where `throttled`
//! counts THROTTLED answers over every phase except the baseline.
//!
//! Options: `--variants N` (10000), `--time-scale X` (20: simulated seconds per real second),
//! `--pacing-seconds S` (120 simulated seconds).
//!
//! `inventory-scale` (issue 8 item 6) is a phase of its own: a 50,000-variant × 2-location shop's
//! first (full) run and a 1 % incremental run, with the worker in a process of its own (this binary
//! with `--worker`, driven over stdin) so that its peak RSS is the worker's alone, and simulated
//! Lambda invocations of `--invocation-secs` (30) so the first run has to span invocations. Its last
//! line is `inventory_scale: variants=<n> peak_rss_mb=<x> incremental_read_units=<x>
//! first_run_invocations=<n>` (read units: DynamoDB read capacity consumed by the incremental run, as
//! the store's meter computes it from the items read by DynamoDB's rule; moto's own figures are
//! constants). Options: `--variants N` (50000), `--time-scale X` (50),
//! `--invocation-secs S` (30).

use serde_json::{Value, json};
use shopify_sim::SimStats;
use shopsync_bc::{BcClient, BcConfig};
use shopsync_domain::JobRecord;
use shopsync_domain::inventory::{MAX_QUANTITIES_PER_CALL, QuantityChange, SetQuantitiesRequest};
use shopsync_domain::ports::BcInventoryApi;
use shopsync_e2e::bench::{BUCKET_SIZE, RESTORE_RATE, met, ratio, standard_plan_stack};
use shopsync_e2e::{AVAILABILITY_PAGE, DemoShop, Stack, bc_quantity, tick_at};
use shopsync_shopify::documents::LOCATION_INVENTORY_LEVELS;
use shopsync_shopify::{PacerRegistry, ShopifyClient, ShopifyClientConfig};
use shopsync_tasks::inventory::plan::shopify_quantity;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

const SHOP: &str = "BENCH";
/// BC location codes of the seeded company, in the order of the shop's Shopify locations.
const BC_LOCATIONS: [&str; 2] = ["EAST", "WEST"];
/// Generous: the full run writes every level and mapping to (moto's) DynamoDB.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(3_600);

/// Targets (DESIGN §11).
const TARGET_POINTS_PER_CHANGED_LEVEL: f64 = 0.05;
const TARGET_PACING_FRACTION: f64 = 0.9;

struct Args {
    variants: usize,
    time_scale: f64,
    pacing_secs: f64,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        variants: 10_000,
        time_scale: 20.0,
        pacing_secs: 120.0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) => (f.to_string(), Some(v.to_string())),
            None => (a.clone(), None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| it.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match flag.as_str() {
            "--variants" => {
                args.variants = value("--variants")?
                    .parse()
                    .map_err(|e| format!("--variants: {e}"))?
            }
            "--time-scale" => {
                args.time_scale = value("--time-scale")?
                    .parse()
                    .map_err(|e| format!("--time-scale: {e}"))?
            }
            "--pacing-seconds" => {
                args.pacing_secs = value("--pacing-seconds")?
                    .parse()
                    .map_err(|e| format!("--pacing-seconds: {e}"))?
            }
            "-h" | "--help" => {
                println!(
                    "bench-inventory [--variants N (10000)] [--time-scale X (20)] [--pacing-seconds S (120)]"
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    if args.variants < 50 {
        return Err(
            "--variants must be at least 50 (1 % of the levels must be one or more)".into(),
        );
    }
    if !(args.time_scale.is_finite() && args.time_scale > 0.0) {
        return Err("--time-scale must be positive".into());
    }
    if !(args.pacing_secs.is_finite() && args.pacing_secs > 0.0) {
        return Err("--pacing-seconds must be positive".into());
    }
    Ok(args)
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
        .with_target(false)
        .init();
    let argv: Vec<String> = std::env::args().skip(1).collect();
    if argv.first().map(String::as_str) == Some("--worker") {
        if let Err(e) = worker_process().await {
            eprintln!("bench-inventory worker: {e}");
            std::process::exit(1);
        }
        return;
    }
    if argv.first().map(String::as_str) == Some("inventory-scale") {
        let outcome = match parse_scale_args(&argv[1..]) {
            Ok(args) => bench_scale(args).await,
            Err(e) => {
                eprintln!("bench-inventory inventory-scale: {e}");
                std::process::exit(2);
            }
        };
        if let Err(e) = outcome {
            eprintln!("bench-inventory inventory-scale could not run: {e}");
            std::process::exit(1);
        }
        return;
    }
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("bench-inventory: {e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = bench(args).await {
        eprintln!("bench-inventory could not run: {e}");
        std::process::exit(1);
    }
}

/// What one phase cost, from the simulator's counters.
struct Phase {
    name: &'static str,
    requests: u64,
    points: f64,
    /// Rows Shopify applied (levels whose quantity changed).
    applied: u64,
    mutations: u64,
    throttled: u64,
    wall: Duration,
    simulated: Duration,
}

impl Phase {
    fn measure(
        name: &'static str,
        before: &SimStats,
        after: &SimStats,
        wall: Duration,
        simulated: Duration,
    ) -> Phase {
        Phase {
            name,
            requests: after.requests - before.requests,
            points: after.points_consumed - before.points_consumed,
            applied: after.applied_adjustments - before.applied_adjustments,
            mutations: after.mutation_calls - before.mutation_calls,
            throttled: after.throttled - before.throttled,
            wall,
            simulated,
        }
    }
}

/// BC's current quantities as the benchmark changed them (the seed's `bc_quantity` otherwise).
#[derive(Default)]
struct Expected {
    overrides: HashMap<(usize, usize), i64>,
}

impl Expected {
    fn get(&self, i: usize, l: usize) -> i64 {
        self.overrides
            .get(&(i, l))
            .copied()
            .unwrap_or(bc_quantity(i, l) as i64)
    }
}

/// Change `n` distinct (item, location) levels in BC, spread over the catalogue (`round` shifts the
/// set so two rounds touch different levels), each to a value it never had. Returns how many changed.
fn change_bc_levels(
    shop: &DemoShop,
    expected: &mut Expected,
    variants: usize,
    n: usize,
    round: usize,
) -> usize {
    let stride = variants / n;
    for k in 0..n {
        let i = k * variants / n + (round * stride / 2) % stride.max(1);
        let l = (k + round) % BC_LOCATIONS.len();
        let qty = 50 * (round as i64 + 1) + (k % 50) as i64;
        let item = format!("{}{i:06}", shop.prefix);
        shop.company
            .set_availability(&item, "", BC_LOCATIONS[l], qty as f64, qty as f64);
        expected.overrides.insert((i, l), qty);
    }
    n
}

/// The shop's job queued by a tick, as stored after the run.
async fn job(stack: &Stack, job_id: &str) -> Result<JobRecord, String> {
    stack
        .jobs(SHOP)
        .await
        .into_iter()
        .find(|j| j.job_id == job_id)
        .ok_or_else(|| format!("job {job_id} not found"))
}

/// One scheduled tick through fan-out → SQS → worker, measured.
async fn sync_phase(
    stack: &Stack,
    name: &'static str,
    minutes: i64,
) -> Result<(Phase, JobRecord), String> {
    let before = stack.shopify.stats();
    let sim0 = stack.shopify.simulated_elapsed();
    let started = Instant::now();
    let report = stack.runner.tick(tick_at(minutes)).await;
    if !report.errors.is_empty() {
        return Err(format!("{name}: fan-out errors {:?}", report.errors));
    }
    let Some((_, job_id)) = report.queued.iter().find(|(shop, _)| shop == SHOP).cloned() else {
        return Err(format!(
            "{name}: the tick queued no job for {SHOP} (not due: {:?})",
            report.not_due
        ));
    };
    stack.runner.drain(DRAIN_TIMEOUT).await?;
    let wall = started.elapsed();
    let after = stack.shopify.stats();
    let simulated = stack.shopify.simulated_elapsed().saturating_sub(sim0);
    let job = job(stack, &job_id).await?;
    println!(
        "  {name}: job {} {} full={} attempts={} continuations={} levels_checked={} levels_changed={} mutations={} shopify_levels_read={} job cost_points={:.0}{}",
        job.job_id,
        job.status.as_str(),
        job.options.full,
        job.attempts,
        job.continuations,
        job.counters.get("levels_checked"),
        job.counters.get("levels_changed"),
        job.counters.get("mutations"),
        job.counters.get("shopify_levels_read"),
        job.cost_points_used,
        job.error
            .as_ref()
            .map(|e| format!("  error: {}", e.message))
            .unwrap_or_default()
    );
    Ok((Phase::measure(name, &before, &after, wall, simulated), job))
}

async fn secret(stack: &Stack, id: &str) -> Result<Value, String> {
    let out = stack
        .secrets
        .get_secret_value()
        .secret_id(id)
        .send()
        .await
        .map_err(|e| {
            format!(
                "secret {id}: {}",
                aws_sdk_secretsmanager::error::DisplayErrorContext(e)
            )
        })?;
    serde_json::from_str(out.secret_string().unwrap_or_default())
        .map_err(|e| format!("secret {id}: {e}"))
}

/// A Shopify client of the benchmark shop with a pacer of its own (no state shared with the app's).
async fn own_shopify_client(stack: &Stack, shop: &DemoShop) -> Result<ShopifyClient, String> {
    let token = secret(stack, &shop.settings.shopify.access_token_secret_id).await?["access_token"]
        .as_str()
        .ok_or("the Shopify secret has no access_token")?
        .to_string();
    let template = format!(
        "{}/{{shop_domain}}/admin/api/{{version}}/graphql.json",
        stack.shopify.base_url()
    );
    let config = ShopifyClientConfig::for_store(&template, &shop.domain, token)
        .map_err(|e| format!("Shopify client: {e}"))?;
    ShopifyClient::new(config, PacerRegistry::new().pacer_for(&shop.domain))
        .map_err(|e| format!("Shopify client: {e}"))
}

struct Baseline {
    phase: Phase,
    levels_read: usize,
    changed: usize,
    user_errors: usize,
    client_throttled: u64,
}

/// The reference connector's pattern: read every Shopify level of every location page by page, read
/// BC, send the differences 250 rows a call with `changeFromQuantity` = the value just read.
/// The variant ↔ item mapping is taken from the seed for free (the reference also re-reads the
/// catalogue), so this is a lower bound of what the reference spends.
async fn baseline(stack: &Stack, shop: &DemoShop) -> Result<Baseline, String> {
    let client = own_shopify_client(stack, shop).await?;
    let creds = secret(stack, &shop.settings.bc.credentials_secret_id).await?;
    let bc_settings = &shop.settings.bc;
    let bc = BcClient::new(
        BcConfig::new(
            &bc_settings.tenant,
            &bc_settings.environment,
            &bc_settings.company_id,
            creds["client_id"].as_str().unwrap_or_default(),
            creds["client_secret"].as_str().unwrap_or_default(),
        )
        .with_endpoints(stack.bc.api_base_url(), stack.bc.token_url_template()),
    )
    .map_err(|e| format!("BC client: {e}"))?;
    let company = bc_settings
        .company_name
        .clone()
        .ok_or("the shop has no BC company name")?;
    let item_index: HashMap<&str, usize> = shop
        .inventory_items
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();

    let before = stack.shopify.stats();
    let sim0 = stack.shopify.simulated_elapsed();
    let started = Instant::now();

    let mut levels = Vec::new();
    for location in &shop.locations {
        levels.extend(
            client
                .location_levels(location)
                .await
                .map_err(|e| format!("baseline: reading levels at {location}: {e}"))?,
        );
    }
    let codes: Vec<String> = BC_LOCATIONS.iter().map(|c| c.to_string()).collect();
    let availability = bc
        .availability(AVAILABILITY_PAGE, &company, &codes)
        .await
        .map_err(|e| format!("baseline: BC availability: {e}"))?;
    let bc_stock: HashMap<(&str, &str), f64> = availability
        .iter()
        .filter(|a| a.variant_code.is_empty())
        .map(|a| {
            (
                (a.item_no.as_str(), a.location_code.as_str()),
                a.projected_available,
            )
        })
        .collect();

    let mut changes = Vec::new();
    for level in &levels {
        let Some(&i) = item_index.get(level.inventory_item_id.as_str()) else {
            continue;
        };
        let Some(l) = shop.locations.iter().position(|x| *x == level.location_id) else {
            continue;
        };
        let item_no = format!("{}{i:06}", shop.prefix);
        let want = shopify_quantity(
            bc_stock
                .get(&(item_no.as_str(), BC_LOCATIONS[l]))
                .copied()
                .unwrap_or(0.0),
        );
        if want != level.available {
            changes.push(QuantityChange {
                inventory_item_id: level.inventory_item_id.clone(),
                location_id: level.location_id.clone(),
                quantity: want,
                change_from_quantity: Some(level.available),
            });
        }
    }
    let mut user_errors = 0;
    for rows in changes.chunks(MAX_QUANTITIES_PER_CALL) {
        let request = SetQuantitiesRequest {
            idempotency_key: format!("bench-baseline/{}", uuid::Uuid::new_v4()),
            name: "available".into(),
            reason: "correction".into(),
            reference_document_uri: None,
            quantities: rows.to_vec(),
        };
        let outcome = client
            .set_inventory_quantities(&request)
            .await
            .map_err(|e| format!("baseline: inventorySetQuantities: {e}"))?;
        user_errors += outcome.user_errors.len();
    }
    let wall = started.elapsed();
    let after = stack.shopify.stats();
    let simulated = stack.shopify.simulated_elapsed().saturating_sub(sim0);
    Ok(Baseline {
        phase: Phase::measure("baseline (reference)", &before, &after, wall, simulated),
        levels_read: levels.len(),
        changed: changes.len(),
        user_errors,
        client_throttled: client.throttled_count(),
    })
}

struct Pacing {
    phase: Phase,
    pages: u64,
    starting_bucket: f64,
    measured_start: Option<f64>,
    elapsed_secs: f64,
    fraction: f64,
    client_throttled: u64,
}

/// Back-to-back `LocationInventoryLevels` pages (the sync's paged read) from a full bucket for
/// `seconds` of simulated time; the share of the points the bucket allowed that were used.
async fn pacing(
    stack: &Stack,
    shop: &DemoShop,
    seconds: f64,
    time_scale: f64,
) -> Result<Pacing, String> {
    // Let the bucket fill up again after the baseline drained it.
    let refill_real = BUCKET_SIZE / RESTORE_RATE / time_scale;
    tokio::time::sleep(Duration::from_secs_f64(refill_real * 1.5 + 0.5)).await;

    let client = own_shopify_client(stack, shop).await?;
    let before = stack.shopify.stats();
    let sim0 = stack.shopify.simulated_elapsed();
    let started = Instant::now();
    let window = Duration::from_secs_f64(seconds);
    let mut pages = 0u64;
    let mut measured_start = None;
    let mut location = 0usize;
    let mut cursor: Option<String> = None;
    while stack.shopify.simulated_elapsed().saturating_sub(sim0) < window {
        let r = client
            .execute(
                &LOCATION_INVENTORY_LEVELS,
                json!({ "locationId": shop.locations[location], "after": cursor }),
            )
            .await
            .map_err(|e| format!("pacing: LocationInventoryLevels: {e}"))?;
        if pages == 0
            && let Some(cost) = r.cost
            && let (Some(actual), Some(ts)) = (cost.actual, cost.throttle_status)
        {
            // What the bucket held when the first page was charged (restore during the call aside).
            measured_start = Some((ts.currently_available + actual).min(ts.maximum_available));
        }
        pages += 1;
        let info = r
            .data
            .as_ref()
            .and_then(|d| d.pointer("/location/inventoryLevels/pageInfo"))
            .cloned()
            .unwrap_or(Value::Null);
        if info["hasNextPage"].as_bool() == Some(true) {
            cursor = info["endCursor"].as_str().map(str::to_string);
        } else {
            cursor = None;
            location = (location + 1) % shop.locations.len();
        }
    }
    let wall = started.elapsed();
    let after = stack.shopify.stats();
    let simulated = stack.shopify.simulated_elapsed().saturating_sub(sim0);
    let phase = Phase::measure("pacing", &before, &after, wall, simulated);
    let elapsed_secs = simulated.as_secs_f64();
    let starting_bucket = BUCKET_SIZE;
    let fraction = phase.points / (starting_bucket + RESTORE_RATE * elapsed_secs);
    Ok(Pacing {
        phase,
        pages,
        starting_bucket,
        measured_start,
        elapsed_secs,
        fraction,
        client_throttled: client.throttled_count(),
    })
}

fn check(stack: &Stack, shop: &DemoShop, expected: &Expected, when: &str) -> Result<(), String> {
    let off = shop.levels_off(stack, |i, l| expected.get(i, l));
    if off == 0 {
        println!("  Shopify matches BC {when} (every level checked).");
        Ok(())
    } else {
        Err(format!("{off} Shopify level(s) differ from BC {when}"))
    }
}

async fn bench(args: Args) -> Result<(), String> {
    let variants = args.variants;
    let levels_total = variants * BC_LOCATIONS.len();
    let one_percent = (levels_total / 100).max(1);
    println!(
        "Inventory benchmark: {variants} variants x {} locations, Shopify Standard plan ({RESTORE_RATE} points/s, bucket {BUCKET_SIZE}), simulated time x{}",
        BC_LOCATIONS.len(),
        args.time_scale
    );
    let stack = standard_plan_stack(args.time_scale).await?;
    let shop = stack.seed_shop(SHOP, variants).await?;
    let mut expected = Expected::default();
    println!(
        "Seeded {}: {levels_total} levels, {} differ from BC before the first sync.",
        shop.domain,
        shop.levels_off(&stack, |i, l| expected.get(i, l))
    );

    println!("\n1) First sync (full: no full run yet)");
    let (full, full_job) = sync_phase(&stack, "full sync", 0).await?;
    if !full_job.options.full {
        return Err("the first job was not a full run".into());
    }
    check(&stack, &shop, &expected, "after the full sync")?;

    println!("\n2) {one_percent} BC levels changed (1 %); tick 15 minutes later");
    let changed = change_bc_levels(&shop, &mut expected, variants, one_percent, 0);
    let (incremental, inc_job) = sync_phase(&stack, "1 % changed", 15).await?;
    let job_changed = inc_job.counters.get("levels_changed");
    if job_changed != changed as u64 {
        println!("  WARNING: the job changed {job_changed} levels, {changed} were changed in BC");
    }
    if inc_job.options.full {
        println!("  WARNING: the 1 % run was a full run");
    }
    check(&stack, &shop, &expected, "after the 1 % run")?;
    let points_per_changed_level = incremental.points / changed as f64;

    println!("\n3) Nothing changed; tick 15 minutes later");
    let (nochange, _) = sync_phase(&stack, "no change", 30).await?;
    let nochange_mutations = nochange.mutations;
    check(&stack, &shop, &expected, "after the no-change run")?;

    println!(
        "\n4) Baseline (reference pattern): another {one_percent} BC levels changed; re-read every Shopify level, write the differences"
    );
    let baseline_changed = change_bc_levels(&shop, &mut expected, variants, one_percent, 1);
    let base = baseline(&stack, &shop).await?;
    println!(
        "  read {} levels in {} pages, {} differ (changed in BC: {baseline_changed}), {} call(s), userErrors {}, client THROTTLED {}",
        base.levels_read,
        base.phase.requests - base.phase.mutations,
        base.changed,
        base.phase.mutations,
        base.user_errors,
        base.client_throttled
    );
    check(&stack, &shop, &expected, "after the baseline")?;
    let baseline_points_per_changed_level = if base.changed > 0 {
        base.phase.points / base.changed as f64
    } else {
        f64::NAN
    };

    println!(
        "\n5) Pacing: LocationInventoryLevels pages back to back for {} simulated seconds from a full bucket",
        args.pacing_secs
    );
    let pace = pacing(&stack, &shop, args.pacing_secs, args.time_scale).await?;
    println!(
        "  {} pages, {:.0} points in {:.1} simulated s; allowed {:.0} + {RESTORE_RATE} x {:.1} = {:.0}; bucket at start (from the first answer) {}; client THROTTLED {}",
        pace.pages,
        pace.phase.points,
        pace.elapsed_secs,
        pace.starting_bucket,
        pace.elapsed_secs,
        pace.starting_bucket + RESTORE_RATE * pace.elapsed_secs,
        pace.measured_start
            .map(|v| format!("{v:.0}"))
            .unwrap_or_else(|| "unknown".into()),
        pace.client_throttled
    );

    let phases = [&full, &incremental, &nochange, &base.phase, &pace.phase];
    println!(
        "\n{:<22} {:>9} {:>10} {:>14} {:>9} {:>9} {:>10} {:>11}",
        "phase",
        "requests",
        "points",
        "levels changed",
        "mutations",
        "THROTTLED",
        "wall s",
        "simulated s"
    );
    for p in phases {
        println!(
            "{:<22} {:>9} {:>10.0} {:>14} {:>9} {:>9} {:>10.2} {:>11.1}",
            p.name,
            p.requests,
            p.points,
            p.applied,
            p.mutations,
            p.throttled,
            p.wall.as_secs_f64(),
            p.simulated.as_secs_f64()
        );
    }
    println!("\nRatios (same run):");
    println!(
        "  points per changed level: ours {points_per_changed_level:.4}, baseline {baseline_points_per_changed_level:.4} -> baseline spends {} as much",
        ratio(baseline_points_per_changed_level, points_per_changed_level)
    );
    println!(
        "  points of the 1 % run / points of the baseline: {:.5}",
        incremental.points / base.phase.points.max(f64::MIN_POSITIVE)
    );
    println!(
        "  wall time of the 1 % run / the full run: {:.3}",
        incremental.wall.as_secs_f64() / full.wall.as_secs_f64()
    );
    println!(
        "  wall time of the baseline / the 1 % run: {}",
        ratio(
            base.phase.wall.as_secs_f64(),
            incremental.wall.as_secs_f64()
        )
    );

    let throttled =
        full.throttled + incremental.throttled + nochange.throttled + pace.phase.throttled;
    println!(
        "\ntargets: points_per_changed_level<={TARGET_POINTS_PER_CHANGED_LEVEL} {} ({points_per_changed_level:.4}); nochange_mutations=0 {} ({nochange_mutations}); throttled=0 {} ({throttled}); pacing_ceiling_fraction>={TARGET_PACING_FRACTION} {} ({:.4})",
        met(points_per_changed_level <= TARGET_POINTS_PER_CHANGED_LEVEL),
        met(nochange_mutations == 0),
        met(throttled == 0),
        met(pace.fraction >= TARGET_PACING_FRACTION),
        pace.fraction
    );

    let Stack { shopify, bc, .. } = stack;
    shopify.shutdown().await;
    bc.shutdown().await;

    println!(
        "inventory: points_per_changed_level={points_per_changed_level:.4} nochange_mutations={nochange_mutations} throttled={throttled} pacing_ceiling_fraction={:.4} baseline_points_per_changed_level={baseline_points_per_changed_level:.4}",
        pace.fraction
    );
    Ok(())
}

// ---- scale phase (`inventory-scale`) ---------------------------------------------------------------

/// What the worker child process reports on stdout, one line per drain and one at the end.
const DRAINED: &str = "drained";
const PEAK_RSS: &str = "peak_rss_kb=";

/// Options of the scale phase.
struct ScaleArgs {
    variants: usize,
    time_scale: f64,
    /// The simulated Lambda timeout of one worker invocation.
    invocation_secs: u64,
}

fn parse_scale_args(rest: &[String]) -> Result<ScaleArgs, String> {
    let mut args = ScaleArgs {
        variants: 50_000,
        time_scale: 50.0,
        invocation_secs: 30,
    };
    let mut it = rest.iter();
    while let Some(flag) = it.next() {
        let mut value = |name: &str| it.next().cloned().ok_or(format!("{name} needs a value"));
        match flag.as_str() {
            "--variants" => {
                args.variants = value(flag)?.parse().map_err(|e| format!("{flag}: {e}"))?
            }
            "--time-scale" => {
                args.time_scale = value(flag)?.parse().map_err(|e| format!("{flag}: {e}"))?
            }
            "--invocation-secs" => {
                args.invocation_secs = value(flag)?.parse().map_err(|e| format!("{flag}: {e}"))?
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if args.variants < 100 || args.invocation_secs < 5 {
        return Err("--variants must be at least 100 and --invocation-secs at least 5".into());
    }
    Ok(args)
}

/// The `sync-inventory` worker in a process of its own, as a Lambda container runs it: the local
/// runner drains the task queue whenever the parent writes `drain`, and reports the drain's
/// invocations and DynamoDB read units; at the end of its input it reports its peak RSS.
async fn worker_process() -> Result<(), String> {
    use tokio::io::AsyncBufReadExt;
    let endpoint = std::env::var("AWS_ENDPOINT_URL").map_err(|_| "AWS_ENDPOINT_URL is not set")?;
    let sdk = shopsync_localstack::local::sdk_config_for(&endpoint).await;
    let aws = shopsync_aws::AwsConfig::from_env().map_err(|e| e.to_string())?;
    // moto reports constant capacity figures (0.5 a GetItem, 1 a Query page, whatever the size), so
    // the meter computes DynamoDB's documented rule from the items' sizes instead.
    let adapters = shopsync_aws::Adapters {
        store: Arc::new(
            shopsync_aws::DynamoStore::new(&sdk, &aws.table_name).with_computed_read_units(),
        ),
        ..shopsync_aws::Adapters::new(&sdk, &aws)
    };
    let runtime = shopsync_runtime::RuntimeConfig {
        metrics: shopsync_runtime::metrics::MetricsSink::Off,
        ..shopsync_runtime::RuntimeConfig::from_env()?
    };
    let invocation_secs: u64 = std::env::var("BENCH_INVOCATION_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    let app = shopsync_runtime::bootstrap::app_for(
        shopsync_domain::TaskKind::SyncInventory,
        &adapters,
        runtime,
        shopsync_runtime::Endpoints::from_env(),
    )?;
    let runner = shopsync_runtime::local::LocalRunner {
        app,
        sqs: aws_sdk_sqs::Client::new(&sdk),
        queue_url: aws.task_queue_url.clone(),
        invocation_timeout: Duration::from_secs(invocation_secs),
    };
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = lines.next_line().await.map_err(|e| e.to_string())? {
        if line.trim() != "drain" {
            return Err(format!("unknown command {line:?}"));
        }
        adapters.store.reset_read_units();
        let stats = runner.drain(DRAIN_TIMEOUT).await?;
        println!(
            "{DRAINED} invocations={} read_units={:.1}",
            stats.invocations,
            adapters.store.read_units()
        );
    }
    let status = std::fs::read_to_string("/proc/self/status").map_err(|e| e.to_string())?;
    let peak_kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .ok_or("no VmHWM in /proc/self/status")?;
    println!("{PEAK_RSS}{peak_kb}");
    Ok(())
}

/// The parent's handle on the worker process.
struct Worker {
    child: tokio::process::Child,
    stdin: Option<tokio::process::ChildStdin>,
    stdout: tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
}

impl Worker {
    fn spawn(stack: &Stack, invocation_secs: u64) -> Result<Worker, String> {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let aws = stack
            .resources
            .aws_config(shopsync_e2e::INVENTORY_QUEUE)
            .ok_or("no inventory queue")?;
        let moto = shopsync_localstack::local::MotoServer::shared().map_err(|e| e.to_string())?;
        let e = &stack.endpoints;
        let mut child = tokio::process::Command::new(exe)
            .arg("--worker")
            .env("AWS_ENDPOINT_URL", moto.endpoint())
            .env("TABLE_NAME", &aws.table_name)
            .env("TASK_QUEUE_URL", &aws.task_queue_url)
            .env("DLQ_URL", &aws.dlq_url)
            .env("MAX_RECEIVE_COUNT", aws.max_receive_count.to_string())
            .env("SHOPIFY_URL_TEMPLATE", &e.shopify_url_template)
            .env("BC_API_BASE_URL", &e.bc_api_base_url)
            .env("BC_TOKEN_URL_TEMPLATE", &e.bc_token_url_template)
            .env(
                "SHOPIFY_BULK_POLL_MS",
                e.shopify_bulk_poll.as_millis().to_string(),
            )
            .env(
                "SHOPIFY_BULK_THRESHOLD",
                e.shopify_bulk_threshold.to_string(),
            )
            .env("BENCH_INVOCATION_SECS", invocation_secs.to_string())
            .env("DEADLINE_MARGIN_SECS", "3")
            .env("RETRY_BACKOFF_BASE_SECS", "1")
            .env("RETRY_BACKOFF_CAP_SECS", "2")
            .env("DEFERRAL_DELAY_SECS", "1")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start the worker process: {e}"))?;
        let stdin = child.stdin.take().ok_or("no stdin")?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        use tokio::io::AsyncBufReadExt;
        Ok(Worker {
            child,
            stdin: Some(stdin),
            stdout: tokio::io::BufReader::new(stdout).lines(),
        })
    }

    async fn line(&mut self, prefix: &str) -> Result<String, String> {
        while let Some(line) = self.stdout.next_line().await.map_err(|e| e.to_string())? {
            if let Some(rest) = line.strip_prefix(prefix) {
                return Ok(rest.trim().to_string());
            }
        }
        Err(format!("the worker process ended before saying {prefix:?}"))
    }

    /// Drain the queue in the worker; returns (invocations, read units).
    async fn drain(&mut self) -> Result<(u64, f64), String> {
        use tokio::io::AsyncWriteExt;
        self.stdin
            .as_mut()
            .ok_or("the worker's input is closed")?
            .write_all(b"drain\n")
            .await
            .map_err(|e| e.to_string())?;
        let answer = self.line(DRAINED).await?;
        let field = |name: &str| {
            answer
                .split_whitespace()
                .find_map(|kv| kv.strip_prefix(name))
                .ok_or(format!("no {name} in {answer:?}"))
        };
        let invocations = field("invocations=")?.parse().map_err(|_| "invocations")?;
        let units = field("read_units=")?.parse().map_err(|_| "read_units")?;
        Ok((invocations, units))
    }

    /// End the worker; its peak RSS in MB.
    async fn finish(mut self) -> Result<f64, String> {
        drop(self.stdin.take());
        let kb: f64 = self
            .line(PEAK_RSS)
            .await?
            .parse()
            .map_err(|_| "peak rss".to_string())?;
        let _ = self.child.wait().await;
        Ok(kb / 1024.0)
    }
}

/// One tick, drained by the worker process.
async fn scale_phase(
    stack: &Stack,
    worker: &mut Worker,
    name: &str,
    minutes: i64,
) -> Result<(JobRecord, u64, f64, Duration), String> {
    let started = Instant::now();
    let report = stack.runner.tick(tick_at(minutes)).await;
    let Some((_, job_id)) = report.queued.iter().find(|(shop, _)| shop == SHOP).cloned() else {
        return Err(format!(
            "{name}: the tick queued no job ({:?})",
            report.errors
        ));
    };
    let (invocations, read_units) = worker.drain().await?;
    let job = job(stack, &job_id).await?;
    let wall = started.elapsed();
    println!(
        "  {name}: job {} full={} attempts={} continuations={} levels_checked={} levels_changed={} mutations={} invocations={invocations} read_units={read_units:.1} wall={:.1}s{}",
        job.status.as_str(),
        job.options.full,
        job.attempts,
        job.continuations,
        job.counters.get("levels_checked"),
        job.counters.get("levels_changed"),
        job.counters.get("mutations"),
        wall.as_secs_f64(),
        job.error
            .as_ref()
            .map(|e| format!("  error: {}", e.message))
            .unwrap_or_default()
    );
    Ok((job, invocations, read_units, wall))
}

async fn bench_scale(args: ScaleArgs) -> Result<(), String> {
    let variants = args.variants;
    let levels_total = variants * BC_LOCATIONS.len();
    let one_percent = (levels_total / 100).max(1);
    println!(
        "Inventory scale benchmark: {variants} variants x {} locations; the worker runs in its own process with {} s invocations",
        BC_LOCATIONS.len(),
        args.invocation_secs
    );
    let stack = standard_plan_stack(args.time_scale).await?;
    let shop = stack.seed_shop(SHOP, variants).await?;
    let mut expected = Expected::default();
    let mut worker = Worker::spawn(&stack, args.invocation_secs)?;

    println!("\n1) First sync of the shop (full)");
    let (first, first_invocations, _, _) = scale_phase(&stack, &mut worker, "first run", 0).await?;
    if !first.status.is_terminal() {
        return Err(format!("the first run ended {}", first.status.as_str()));
    }
    check(&stack, &shop, &expected, "after the first run")?;
    let first_run_invocations = u64::from(first.continuations) + 1;
    if first_run_invocations != first_invocations {
        println!(
            "  note: the worker made {first_invocations} invocations, the job counts {first_run_invocations}"
        );
    }

    println!("\n2) {one_percent} BC levels changed (1 %); tick 15 minutes later");
    let changed = change_bc_levels(&shop, &mut expected, variants, one_percent, 0);
    let (inc, _, incremental_read_units, _) =
        scale_phase(&stack, &mut worker, "1 % changed", 15).await?;
    if inc.counters.get("levels_changed") != changed as u64 {
        println!(
            "  WARNING: the job changed {} levels, {changed} were changed in BC",
            inc.counters.get("levels_changed")
        );
    }
    check(&stack, &shop, &expected, "after the 1 % run")?;
    let peak_rss_mb = worker.finish().await?;

    println!(
        "\ntargets: peak_rss_mb<=128 {} ({peak_rss_mb:.1}); incremental_read_units<=2000 {} ({incremental_read_units:.1}); first run spans invocations: {first_run_invocations}",
        met(peak_rss_mb <= 128.0),
        met(incremental_read_units <= 2_000.0)
    );
    let Stack { shopify, bc, .. } = stack;
    shopify.shutdown().await;
    bc.shutdown().await;
    println!(
        "inventory_scale: variants={variants} peak_rss_mb={peak_rss_mb:.1} incremental_read_units={incremental_read_units:.1} first_run_invocations={first_run_invocations}"
    );
    Ok(())
}
