//! Orders benchmark (DESIGN §11): `sync-orders` with `auto_create_orders` through the whole pipeline
//! (fan-out or webhook → SQS on moto → worker → DynamoDB, the real Shopify and BC clients) against the
//! Shopify simulator at Standard-plan limits (100 points/s, bucket 2,000) and the BC simulator.
//!
//! Phases, all in one run:
//! 1. **Import** (time-scaled): 5,000 open orders of 1–10 lines (a deterministic mix, every count
//!    equally often; buyers BC knows by e-mail) are imported by one scheduled run, which stages them,
//!    creates their BC sales orders and writes each document number back to Shopify. The simulators'
//!    counters give `points_per_order` (Shopify cost points charged ÷ orders) and
//!    `bc_requests_per_order` (BC API requests ÷ orders); the backlog is above the bulk threshold, so
//!    the run reads it with one bulk query and writes the numbers back with bulk `orderUpdate`
//!    mutations, and the points are those operations' (see the README's orders section);
//!    `duplicates` counts BC documents beyond the
//!    first with one external document number (over every phase). The run goes fan-out → SQS on moto
//!    → worker with the registry's runner and the real clients, but keeps its state in the in-memory
//!    store of the unit tests (`shopsync-test-support`, the DynamoDB adapter's conditions): moto
//!    spends milliseconds of Python on each DynamoDB request and the import makes about 13 state
//!    writes per order, so 5,000 orders on moto take a quarter of an hour (`--import-on-moto` does
//!    it anyway). No figure above depends on where the state is.
//! 2. **Baseline** (same run, same store): the reference connector's request pattern — a list page of
//!    25 orders, then a header query and a lines query per order (`GetOrdersToImport`,
//!    `GetOrderHeader`, `GetOrderLines`, restricted to the fields the simulator serves, so a lower
//!    bound) — sent as plain GraphQL over HTTP, validated and charged by the simulator, paced on its
//!    `throttleStatus` as the reference does → `baseline_points_per_order`.
//! 3. **Freshness** (real time): orders arrive at a steady rate; each creation sends Shopify's
//!    `orders/create` webhook, as EventBridge delivers it, to the sync-orders queue (every tenth twice:
//!    webhooks are delivered at least once). Workers poll the queue as the event source mapping does;
//!    the webhooks of a debounce window (the shop's default) make one run. For each order the time from
//!    its creation to the moment its BC document exists (the benchmark watches the BC simulator) →
//!    `seconds_to_bc_p95`. Before the arrivals, the orders of the last `--history-secs` are imported by
//!    a scheduled run, so every webhook run sees a steady-state window (the run re-reads the cursor's
//!    overlap). This phase runs on the wall clock: the engine's debounce window, the cursor's overlap
//!    and SQS delays are wall-clock seconds, so simulated time is real time here (time scale 1).
//!
//! moto is started by the benchmark itself, with one change to the local stack's: a
//! `TransactWriteItems` rolls back the items it touched instead of deep-copying its table first
//! ([`shopsync_e2e::bench::ITEM_ROLLBACK`]), without which a fenced write's cost grows with the table.
//!
//! Figures are counts and ratios, never timed assertions: the benchmark exits 0 when a target is missed
//! (it says so) and non-zero only when it could not run. Its last line is machine-readable:
//! `orders: points_per_order=<x> bc_requests_per_order=<x> duplicates=<n>
//! baseline_points_per_order=<x> seconds_to_bc_p95=<x>` (one line).
//!
//! Options: `--orders N` (5000), `--time-scale X` (50: simulated seconds per real second in the import
//! and the baseline; BC's request-rate window is scaled with it), `--baseline-orders N` (1000),
//! `--rate R` (0.25 orders per second in the freshness phase), `--arrival-secs S` (180; 0 skips the
//! phase), `--history-secs S` (300), `--pollers K` (3), `--import-on-moto`.

use serde_json::json;
use shopify_sim::{SeededOrder, SimStats};
use shopsync_domain::orders::BC_DOCUMENT_ATTRIBUTE;
use shopsync_domain::ports::SettingsStore;
use shopsync_domain::settings::SHOPIFY_API_VERSION;
use shopsync_domain::{JobRecord, TaskKind};
use shopsync_e2e::bench::{
    BUCKET_SIZE, PlainGraphql, RESTORE_RATE, met, percentile, ratio, standard_plan, start_moto,
};
use shopsync_e2e::orders_world::{
    OrderTasks, OrdersShop, documents_by_external_number, duplicate_documents, external_number,
    orders_create_event, orders_queue_url, push_event, set_up_orders,
};
use shopsync_e2e::{ORDERS_QUEUE, Stack, StackOptions, local_runtime, tick_at};
use shopsync_runtime::local::LocalRunner;
use shopsync_runtime::metrics::MetricsSink;
use shopsync_runtime::{App, RuntimeConfig};
use shopsync_tasks::engine::clients::ClientFactory;
use shopsync_tasks::registry::{self, TaskDeps};
use shopsync_test_support::{Clock, MemoryStore};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// SKUs of the seeded catalogue (Shopify variants and BC items).
const SKUS: usize = 200;
/// Buyers BC knows.
const BUYERS: usize = 400;
/// Generous: the import stages every order with its ledger entries and document link (a quarter of
/// an hour with `--import-on-moto`).
const DRAIN_TIMEOUT: Duration = Duration::from_secs(3_600);

/// Targets (DESIGN §11 and the issue).
const TARGET_POINTS_PER_ORDER: f64 = 15.0;
const TARGET_BC_REQUESTS_PER_ORDER: f64 = 2.0;
const TARGET_SECONDS_TO_BC_P95: f64 = 90.0;

struct Args {
    orders: usize,
    time_scale: f64,
    baseline_orders: usize,
    rate: f64,
    arrival_secs: f64,
    history_secs: f64,
    pollers: usize,
    import_on_moto: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        orders: 5_000,
        time_scale: 50.0,
        baseline_orders: 1_000,
        rate: 0.25,
        arrival_secs: 180.0,
        history_secs: 300.0,
        pollers: 3,
        import_on_moto: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) => (f.to_string(), Some(v.to_string())),
            None => (a.clone(), None),
        };
        if flag == "--import-on-moto" {
            args.import_on_moto = true;
            continue;
        }
        if flag == "-h" || flag == "--help" {
            println!(
                "bench-orders [--orders N (5000)] [--time-scale X (50)] [--baseline-orders N (1000)] [--rate R (0.25/s)] [--arrival-secs S (180; 0 skips)] [--history-secs S (300)] [--pollers K (3)] [--import-on-moto]"
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
            "--orders" => args.orders = number(&value)? as usize,
            "--time-scale" => args.time_scale = number(&value)?,
            "--baseline-orders" => args.baseline_orders = number(&value)? as usize,
            "--rate" => args.rate = number(&value)?,
            "--arrival-secs" => args.arrival_secs = number(&value)?,
            "--history-secs" => args.history_secs = number(&value)?,
            "--pollers" => args.pollers = number(&value)? as usize,
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    if args.orders < 10 {
        return Err("--orders must be at least 10".into());
    }
    if args.time_scale <= 0.0 {
        return Err("--time-scale must be positive".into());
    }
    if args.arrival_secs > 0.0 && (args.rate <= 0.0 || args.rate * args.arrival_secs < 1.0) {
        return Err("--rate x --arrival-secs must make at least one order".into());
    }
    args.baseline_orders = args.baseline_orders.clamp(1, args.orders);
    args.pollers = args.pollers.clamp(1, 5);
    Ok(args)
}

fn main() {
    tracing_subscriber::fmt()
        // The local stack's queues hide a received message for 30 s, less than a long run takes: a
        // second poller then finds the job running under its live lease and puts the message back,
        // with a warning each time. The jobs' own states are printed, so those warnings are not.
        .with_env_filter(
            std::env::var("RUST_LOG")
                .unwrap_or_else(|_| "warn,shopsync_runtime::worker=error".into()),
        )
        .with_target(false)
        .init();
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("bench-orders: {e}");
            std::process::exit(2);
        }
    };
    // moto with item-level transaction rollback (see `bench::ITEM_ROLLBACK`), unless an endpoint is
    // given; the local stack then finds it through AWS_ENDPOINT_URL.
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
                eprintln!("bench-orders could not run: moto: {e}");
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
            eprintln!("bench-orders could not run: {e}");
            std::process::exit(1);
        }
    };
    let outcome = runtime.block_on(bench(args));
    drop(runtime);
    drop(moto);
    if let Err(e) = outcome {
        eprintln!("bench-orders could not run: {e}");
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

/// The Shopify and BC figures of one phase, from the simulators' counters.
struct Usage {
    shopify_requests: u64,
    points: f64,
    throttled: u64,
    operations: BTreeMap<String, u64>,
    bc_requests: u64,
    bc_throttled: u64,
    bc_routes: BTreeMap<String, u64>,
}

impl Usage {
    fn between(
        s0: &SimStats,
        s1: &SimStats,
        b0: &bc_sim::BcSimStats,
        b1: &bc_sim::BcSimStats,
    ) -> Usage {
        let delta = |after: &BTreeMap<String, u64>, before: &BTreeMap<String, u64>| {
            after
                .iter()
                .map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0)))
                .filter(|(_, v)| *v > 0)
                .collect()
        };
        Usage {
            shopify_requests: s1.requests - s0.requests,
            points: s1.points_consumed - s0.points_consumed,
            throttled: s1.throttled - s0.throttled,
            operations: delta(&s1.operations, &s0.operations),
            bc_requests: b1.requests - b0.requests,
            bc_throttled: b1.throttled_429 - b0.throttled_429,
            bc_routes: delta(&b1.by_route, &b0.by_route),
        }
    }

    fn print(&self, orders: usize) {
        let per = |x: f64| x / orders.max(1) as f64;
        println!(
            "  Shopify: {} requests, {:.0} points ({:.2} per order), THROTTLED {}; by operation: {}",
            self.shopify_requests,
            self.points,
            per(self.points),
            self.throttled,
            join(&self.operations)
        );
        println!(
            "  BC: {} requests ({:.3} per order), 429 {}; by route: {}",
            self.bc_requests,
            per(self.bc_requests as f64),
            self.bc_throttled,
            join(&self.bc_routes)
        );
    }

    /// Points of the write-back: `orderUpdate` costs 10 whatever it returns, and so do a bulk
    /// write-back's `stagedUploadsCreate` and `bulkOperationRunMutation` (the lines of a bulk
    /// mutation are not charged). Bulk status polls (1 point each) are counted with the reading:
    /// the simulator's counters do not tell a read's polls from a write's.
    fn write_back_points(&self) -> f64 {
        let op = |name: &str| self.operations.get(name).copied().unwrap_or(0) as f64;
        10.0 * (op("OrderUpdateCustomAttributes")
            + op("StagedUploadsCreate")
            + op("BulkOperationRunMutation"))
    }

    /// Requests of one operation.
    fn op(&self, name: &str) -> u64 {
        self.operations.get(name).copied().unwrap_or(0)
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
    let c = |k: &str| j.counters.get(k);
    let secs = match (j.started_at, j.finished_at) {
        (Some(s), Some(f)) => format!("{}s", f - s),
        _ => "-".into(),
    };
    format!(
        "{} {:<9} {:<10} attempts={} deferrals={} continuations={} pages={} read={} staged={} documents={} written_back={} cost_points={:.0} run={secs}{}",
        j.job_id,
        format!("{:?}", j.trigger).to_lowercase(),
        j.status.as_str(),
        j.attempts,
        j.deferrals,
        j.continuations,
        c("order_pages_read"),
        c("orders_read"),
        c("orders_staged"),
        c("bc_documents_created"),
        c("orders_written_back"),
        j.cost_points_used,
        j.error
            .as_ref()
            .map(|e| format!("  error: {}", e.message))
            .unwrap_or_default()
    )
}

async fn sync_orders_jobs(stack: &Stack, shop: &str) -> Vec<JobRecord> {
    let mut jobs: Vec<JobRecord> = stack
        .jobs(shop)
        .await
        .into_iter()
        .filter(|j| j.task == TaskKind::SyncOrders)
        .collect();
    jobs.reverse();
    jobs
}

/// Whether every seeded order has exactly its BC document and the document number written back.
struct Outcome {
    with_document: usize,
    written_back: usize,
    duplicates: usize,
}

fn outcome(stack: &Stack, orders: &OrdersShop, seeded: &[SeededOrder]) -> Outcome {
    let docs = documents_by_external_number(&orders.company);
    let store = stack.shopify.store(&orders.domain);
    let mut with_document = 0;
    let mut written_back = 0;
    for o in seeded {
        let Some(doc) = docs.get(&external_number(&o.name)).and_then(|d| d.first()) else {
            continue;
        };
        with_document += 1;
        let attributes = store.order_custom_attributes(&o.id).unwrap_or_default();
        if attributes
            .iter()
            .any(|(k, v)| k == BC_DOCUMENT_ATTRIBUTE && v.as_deref() == Some(doc.number.as_str()))
        {
            written_back += 1;
        }
    }
    Outcome {
        with_document,
        written_back,
        duplicates: duplicate_documents(&orders.company),
    }
}

async fn shutdown(stack: Stack) {
    let Stack { shopify, bc, .. } = stack;
    shopify.shutdown().await;
    bc.shutdown().await;
}

// ---- 1. import ------------------------------------------------------------------------------------

struct Import {
    usage: Usage,
    outcome: Outcome,
    simulated: Duration,
}

async fn import(
    stack: &Stack,
    orders: &OrdersShop,
    n: usize,
    on_moto: bool,
) -> Result<Import, String> {
    let store = stack.shopify.store(&orders.domain);
    // Open orders created over the two hours before the run, oldest first.
    let span = 7_200i64;
    let now = shopsync_domain::time::now_secs();
    let mut lines = 0;
    let seeded: Vec<SeededOrder> = (0..n)
        .map(|i| {
            lines += OrdersShop::lines_of(i);
            let at = shopify_sim::format_time(now - span + (i as i64 * span) / n as i64);
            store.add_order(orders.order_seed(i, &at))
        })
        .collect();
    println!(
        "  seeded {n} open orders with {lines} lines ({:.2} a order; 1 to 10, each count equally often), {BUYERS} buyers known to BC",
        lines as f64 / n as f64
    );
    let (runner, memory) = if on_moto {
        (
            stack.runner_for(TaskKind::SyncOrders, ORDERS_QUEUE, runtime())?,
            None,
        )
    } else {
        let (runner, memory) = memory_runner(stack, orders).await?;
        (runner, Some(memory))
    };
    let (s0, b0) = (stack.shopify.stats(), stack.bc.stats());
    let sim0 = stack.shopify.simulated_elapsed();
    let started = Instant::now();
    let report = runner.tick(tick_at(0)).await;
    if !report.errors.is_empty() || report.queued.is_empty() {
        return Err(format!(
            "the tick queued no sync-orders job: {:?}",
            report.errors
        ));
    }
    let drained = runner.drain(DRAIN_TIMEOUT).await?;
    let wall = started.elapsed();
    let simulated = stack.shopify.simulated_elapsed().saturating_sub(sim0);
    let usage = Usage::between(&s0, &stack.shopify.stats(), &b0, &stack.bc.stats());
    let jobs = match &memory {
        Some(memory) => memory.jobs(&orders.settings.code),
        None => sync_orders_jobs(stack, &orders.settings.code).await,
    };
    for j in jobs.iter().filter(|j| j.task == TaskKind::SyncOrders) {
        println!("  job {}", job_line(j));
    }
    if let Some(memory) = &memory {
        println!(
            "  state writes (in memory): {} ({:.1} per order)",
            memory.write_count(),
            memory.write_count() as f64 / n as f64
        );
    }
    println!(
        "  worker invocations {}, wall {:.1} s, simulated {:.0} s",
        drained.invocations,
        wall.as_secs_f64(),
        simulated.as_secs_f64()
    );
    let outcome = outcome(stack, orders, &seeded);
    Ok(Import {
        usage,
        outcome,
        simulated,
    })
}

/// The sync-orders worker of the stack with its state in memory: the task queue and Secrets Manager
/// are moto's, the clients and simulators the stack's, the runner the registry's; only the DynamoDB
/// adapter is replaced by the in-memory store of the unit tests (same conditions, see
/// `shopsync-test-support`). moto spends several milliseconds of Python on each DynamoDB request and
/// the import makes about 17 per order, which would keep a 5,000-order import busy for a quarter of
/// an hour (`--import-on-moto` runs it there anyway).
async fn memory_runner(
    stack: &Stack,
    orders: &OrdersShop,
) -> Result<(LocalRunner, MemoryStore), String> {
    let aws = stack
        .resources
        .aws_config(ORDERS_QUEUE)
        .ok_or("the template has no sync-orders queue")?;
    let adapters = shopsync_aws::Adapters::new(&stack.sdk, &aws);
    let memory = MemoryStore::new().with_clock(Clock::at(shopsync_domain::time::now_secs()));
    memory
        .put_shop(&orders.settings)
        .await
        .map_err(|e| e.to_string())?;
    let deps = TaskDeps {
        clients: Arc::new(ClientFactory::new(
            adapters.secrets.clone(),
            stack.endpoints.clone(),
        )),
        stores: Arc::new(memory.clone()),
    };
    let app = App {
        settings: Arc::new(memory.clone()),
        schedules: Arc::new(memory.clone()),
        jobs: Arc::new(memory.clone()),
        leases: Arc::new(memory.clone()),
        queue: adapters.queue.clone(),
        runner: registry::runner(TaskKind::SyncOrders, &deps)?,
        config: runtime(),
    };
    let runner = LocalRunner {
        app,
        sqs: aws_sdk_sqs::Client::new(&stack.sdk),
        queue_url: aws.task_queue_url,
        invocation_timeout: Duration::from_secs(900),
    };
    Ok((runner, memory))
}

// ---- 2. baseline ----------------------------------------------------------------------------------

/// `Orders_GetOrdersToImport` / `GetNextOrdersToImport` (cost 68 live), restricted to the simulator's
/// fields (no channel, risk, display address or tax lines).
const BASELINE_LIST: &str = "query BaselineOrdersToImport($query: String!, $after: String) { orders(first: 25, after: $after, query: $query) { pageInfo { hasNextPage endCursor } edges { cursor node { legacyResourceId name createdAt updatedAt test fullyPaid unpaid closed displayFinancialStatus displayFulfillmentStatus subtotalLineItemsQuantity totalPriceSet { shopMoney { amount currencyCode } } customAttributes { key value } tags shippingAddress { countryCodeV2 } billingAddress { countryCodeV2 } totalTaxSet { presentmentMoney { amount } shopMoney { amount } } purchasingEntity { ... on PurchasingCompany { company { id } } } } } } }";

/// `Orders_GetOrderHeader` (cost 36 live), restricted to the simulator's fields.
const BASELINE_HEADER: &str = "query BaselineOrderHeader($id: ID!) { order(id: $id) { legacyResourceId name createdAt confirmed updatedAt cancelReason cancelledAt closed closedAt currentSubtotalLineItemsQuantity test email phone poNumber customer { id firstName lastName defaultEmailAddress { emailAddress } defaultPhoneNumber { phoneNumber } } shippingAddress { id name firstName lastName company address1 address2 zip city provinceCode province countryCodeV2 country phone } billingAddress { id name firstName lastName company address1 address2 zip city provinceCode province countryCodeV2 country phone } currencyCode presentmentCurrencyCode fullyPaid unpaid note customAttributes { key value } displayFinancialStatus displayFulfillmentStatus tags paymentGatewayNames processedAt requiresShipping taxesIncluded currentSubtotalPriceSet { presentmentMoney { amount } shopMoney { amount } } currentTotalDiscountsSet { presentmentMoney { amount } shopMoney { amount } } currentTotalPriceSet { presentmentMoney { amount } shopMoney { amount } } currentTotalTaxSet { presentmentMoney { amount } shopMoney { amount } } netPaymentSet { presentmentMoney { amount } shopMoney { amount } } subtotalPriceSet { presentmentMoney { amount } shopMoney { amount } } totalDiscountsSet { presentmentMoney { amount } shopMoney { amount } } totalOutstandingSet { presentmentMoney { amount } shopMoney { amount } } totalPriceSet { presentmentMoney { amount } shopMoney { amount } } totalReceivedSet { presentmentMoney { amount } shopMoney { amount } } totalRefundedSet { presentmentMoney { amount } shopMoney { amount } } totalShippingPriceSet { presentmentMoney { amount } shopMoney { amount } } totalTaxSet { presentmentMoney { amount } shopMoney { amount } } refunds { legacyResourceId updatedAt } purchasingEntity { ... on PurchasingCompany { company { id name } location { id } } } } }";

/// `Orders_GetOrderLines` / `GetNextOrderLines` (`lineItems(first: 10)`, cost 43 live), restricted to
/// the simulator's fields (no product, duties, tax lines, discount allocations or fulfillment service).
const BASELINE_LINES: &str = "query BaselineOrderLines($id: ID!, $after: String) { order(id: $id) { legacyResourceId lineItems(first: 10, after: $after) { pageInfo { hasNextPage endCursor } nodes { id name quantity currentQuantity nonFulfillableQuantity sku title variantTitle isGiftCard variant { legacyResourceId } refundableQuantity requiresShipping taxable discountedTotalSet { presentmentMoney { amount } shopMoney { amount } } discountedUnitPriceSet { presentmentMoney { amount } shopMoney { amount } } originalTotalSet { presentmentMoney { amount } shopMoney { amount } } originalUnitPriceSet { presentmentMoney { amount } shopMoney { amount } } totalDiscountSet { presentmentMoney { amount } shopMoney { amount } } } } } }";

struct Baseline {
    usage: Usage,
    orders: usize,
    pages: u64,
    throttled: u64,
}

/// The reference's pattern over the first `n` orders of the store (oldest first).
async fn baseline(
    stack: &Stack,
    orders: &OrdersShop,
    n: usize,
    time_scale: f64,
) -> Result<Baseline, String> {
    let store = stack.shopify.store(&orders.domain);
    let mut client = PlainGraphql::new(
        stack
            .shopify
            .graphql_url(&orders.domain, SHOPIFY_API_VERSION),
        store.access_token().unwrap_or_default(),
    );
    // Let the bucket fill up again after the import.
    tokio::time::sleep(Duration::from_secs_f64(
        BUCKET_SIZE / RESTORE_RATE / time_scale + 0.5,
    ))
    .await;
    let (s0, b0) = (stack.shopify.stats(), stack.bc.stats());
    // The reference's cursor query: everything updated after the last sync (here: since the day
    // before, which is every order of the store).
    let since = shopify_sim::format_time(shopsync_domain::time::now_secs() - 86_400);
    let query = format!("updated_at:>'{since}'");
    let mut ids = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    while ids.len() < n {
        let data = client
            .call(
                "BaselineOrdersToImport",
                BASELINE_LIST,
                json!({"query": query, "after": after}),
            )
            .await?;
        pages += 1;
        let conn = &data["orders"];
        for edge in conn["edges"].as_array().into_iter().flatten() {
            // The reference builds the GID from legacyResourceId; the node's id is not selected.
            if let Some(legacy) = edge["node"]["legacyResourceId"].as_str() {
                ids.push(format!("gid://shopify/Order/{legacy}"));
            }
        }
        if conn["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = conn["pageInfo"]["endCursor"].as_str().map(str::to_string);
    }
    ids.truncate(n);
    for id in &ids {
        let header = client
            .call("BaselineOrderHeader", BASELINE_HEADER, json!({"id": id}))
            .await?;
        if header["order"].is_null() {
            return Err(format!("baseline: order {id} not found"));
        }
        let mut after: Option<String> = None;
        loop {
            let data = client
                .call(
                    "BaselineOrderLines",
                    BASELINE_LINES,
                    json!({"id": id, "after": after}),
                )
                .await?;
            let info = &data["order"]["lineItems"]["pageInfo"];
            if info["hasNextPage"] != true {
                break;
            }
            after = info["endCursor"].as_str().map(str::to_string);
        }
    }
    Ok(Baseline {
        usage: Usage::between(&s0, &stack.shopify.stats(), &b0, &stack.bc.stats()),
        orders: ids.len(),
        pages,
        throttled: client.throttled,
    })
}

// ---- 3. freshness ---------------------------------------------------------------------------------

struct Freshness {
    arrived: usize,
    latencies: Vec<f64>,
    missing: usize,
    usage: Usage,
    duplicates: usize,
    debounce: u32,
    webhooks: u64,
    runs: Vec<JobRecord>,
}

async fn freshness(args: &Args) -> Result<Freshness, String> {
    let stack = Stack::start(standard_plan(1.0)).await?;
    let shop = stack.seed_shop("FRESH", SKUS).await?;
    let orders = set_up_orders(
        &stack,
        &shop,
        SKUS,
        &OrderTasks {
            buyers: BUYERS,
            auto_create_orders: true,
            webhooks: true,
            debounce_secs: None,
            create_sales_orders: false,
            sync_shipments: false,
        },
    )
    .await?;
    let debounce = orders
        .settings
        .task_webhook_debounce_secs(TaskKind::SyncOrders);
    let domain = orders.domain.clone();
    let store = stack.shopify.store(&domain);
    let config = runtime();

    // Steady state: the orders of the last `history_secs` are in Shopify and imported already, so
    // every webhook run re-reads a full overlap, as it does in production.
    let history = (args.rate * args.history_secs).round() as usize;
    let now = shopsync_domain::time::now_secs();
    for i in 0..history {
        let at = shopify_sim::format_time(
            now - args.history_secs as i64 + (i as f64 / args.rate) as i64,
        );
        store.add_order(orders.order_seed(i, &at));
    }
    let scheduled = stack.runner_for(TaskKind::SyncOrders, ORDERS_QUEUE, config.clone())?;
    let report = scheduled.tick(tick_at(0)).await;
    if report.queued.is_empty() {
        return Err(format!("history: no job queued ({:?})", report.errors));
    }
    scheduled.drain(DRAIN_TIMEOUT).await?;
    for j in sync_orders_jobs(&stack, "FRESH").await {
        println!("  history import: {}", job_line(&j));
    }
    let history_jobs = sync_orders_jobs(&stack, "FRESH").await.len();

    // Workers: the event source mapping polls with up to `pollers` concurrent invocations.
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for _ in 0..args.pollers {
        let runner = stack.runner_for(TaskKind::SyncOrders, ORDERS_QUEUE, config.clone())?;
        let stop = stop.clone();
        workers.push(tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                if runner.drain(Duration::from_secs(2)).await.is_ok() {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }));
    }

    // The watcher: when each order's BC document first exists.
    let company = orders.company.clone();
    let seen: Arc<std::sync::Mutex<HashMap<String, Instant>>> = Default::default();
    let watcher = {
        let seen = seen.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                let docs = documents_by_external_number(&company);
                let at = Instant::now();
                {
                    let mut seen = seen.lock().unwrap_or_else(|p| p.into_inner());
                    for number in docs.keys() {
                        seen.entry(number.clone()).or_insert(at);
                    }
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    };

    let sqs = aws_sdk_sqs::Client::new(&stack.sdk);
    let queue = orders_queue_url(&stack)?;
    let (s0, b0) = (stack.shopify.stats(), stack.bc.stats());
    let arrivals = (args.rate * args.arrival_secs).round().max(1.0) as usize;
    println!(
        "  {arrivals} orders arrive over {:.0} s ({:.2} per second = {:.0} an hour), debounce window {debounce} s, {} pollers",
        args.arrival_secs,
        args.rate,
        args.rate * 3600.0,
        args.pollers
    );
    let start = Instant::now();
    let mut created: Vec<(String, Instant)> = Vec::with_capacity(arrivals);
    let mut webhooks = 0u64;
    for j in 0..arrivals {
        let due = start + Duration::from_secs_f64(j as f64 / args.rate);
        tokio::time::sleep_until(due.into()).await;
        let at = shopify_sim::format_time(shopsync_domain::time::now_secs());
        let order = store.add_order(orders.order_seed(history + j, &at));
        created.push((external_number(&order.name), Instant::now()));
        let body = orders_create_event(&domain, &order, j as u64);
        let deliveries = if j % 10 == 9 { 2 } else { 1 };
        for _ in 0..deliveries {
            push_event(&sqs, &queue, &body).await?;
            webhooks += 1;
        }
    }
    // Wait for the last window's run (bounded).
    let limit = Instant::now() + Duration::from_secs(u64::from(debounce) + 240);
    loop {
        let done = {
            let seen = seen.lock().unwrap_or_else(|p| p.into_inner());
            created.iter().all(|(n, _)| seen.contains_key(n))
        };
        if done || Instant::now() > limit {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    stop.store(true, Ordering::SeqCst);
    for w in workers {
        let _ = w.await;
    }
    let _ = watcher.await;
    let usage = Usage::between(&s0, &stack.shopify.stats(), &b0, &stack.bc.stats());
    let seen = seen.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let mut latencies = Vec::new();
    let mut missing = 0;
    for (number, at) in &created {
        match seen.get(number) {
            Some(doc) => latencies.push(doc.saturating_duration_since(*at).as_secs_f64()),
            None => missing += 1,
        }
    }
    let runs: Vec<JobRecord> = sync_orders_jobs(&stack, "FRESH")
        .await
        .into_iter()
        .skip(history_jobs)
        .collect();
    let duplicates = duplicate_documents(&orders.company);
    shutdown(stack).await;
    Ok(Freshness {
        arrived: arrivals,
        latencies,
        missing,
        usage,
        duplicates,
        debounce,
        webhooks,
        runs,
    })
}

// ---- the run --------------------------------------------------------------------------------------

async fn bench(args: Args) -> Result<(), String> {
    let x = args.time_scale;
    println!(
        "Orders benchmark: {} orders of 1-10 lines, Shopify Standard plan ({RESTORE_RATE} points/s, bucket {BUCKET_SIZE}), simulated time x{x} (BC's 6,000 requests / 5 minutes window scaled with it)",
        args.orders
    );
    let stack = Stack::start(StackOptions {
        bc: bc_sim::BcSimConfig {
            rate_window: Duration::from_secs_f64(300.0 / x),
            ..bc_sim::BcSimConfig::default()
        },
        ..standard_plan(x)
    })
    .await?;
    let shop = stack.seed_shop("ORDERS", SKUS).await?;
    let orders = set_up_orders(
        &stack,
        &shop,
        SKUS,
        &OrderTasks {
            buyers: BUYERS,
            auto_create_orders: true,
            webhooks: false,
            debounce_secs: None,
            create_sales_orders: false,
            sync_shipments: false,
        },
    )
    .await?;

    println!(
        "\n1) Import: one scheduled sync-orders run (first sync: open orders), auto_create_orders on; state {}",
        if args.import_on_moto {
            "in moto's DynamoDB"
        } else {
            "in memory (the task queue and secrets on moto)"
        }
    );
    let imp = import(&stack, &orders, args.orders, args.import_on_moto).await?;
    imp.usage.print(args.orders);
    let n = args.orders as f64;
    let points_per_order = imp.usage.points / n;
    let bc_requests_per_order = imp.usage.bc_requests as f64 / n;
    let write_back = imp.usage.write_back_points();
    println!(
        "  of the points: reading orders {:.0} ({:.2} per order), writing document numbers back {:.0} ({:.2} per order)",
        imp.usage.points - write_back,
        (imp.usage.points - write_back) / n,
        write_back,
        write_back / n
    );
    println!(
        "  how: the window was counted ({} OrdersCount at 10 points) and, above the bulk threshold, read with {} bulk query(ies) ({} pages of OrdersUpdatedSince, {} status polls at 1 point, shared with the write-backs); the document numbers went back as {} bulk orderUpdate mutation(s) (10 points each plus a staged upload of 10, lines free) and {} single orderUpdate(s) at 10 points",
        imp.usage.op("OrdersCount"),
        imp.usage.op("BulkOperationRunQuery"),
        imp.usage.op("OrdersUpdatedSince"),
        imp.usage.op("BulkOperationStatus"),
        imp.usage.op("BulkOperationRunMutation"),
        imp.usage.op("OrderUpdateCustomAttributes"),
    );
    println!(
        "  orders with their BC document {}/{}, number written back {}/{}, duplicate documents {}; {:.1} orders and {:.0} points per simulated second ({:.0} % of the restore rate)",
        imp.outcome.with_document,
        args.orders,
        imp.outcome.written_back,
        args.orders,
        imp.outcome.duplicates,
        n / imp.simulated.as_secs_f64().max(f64::MIN_POSITIVE),
        imp.usage.points / imp.simulated.as_secs_f64().max(f64::MIN_POSITIVE),
        100.0 * imp.usage.points
            / imp.simulated.as_secs_f64().max(f64::MIN_POSITIVE)
            / RESTORE_RATE
    );

    println!(
        "\n2) Baseline (reference pattern): a list page of 25 orders, then a header and a lines query per order, over {} orders",
        args.baseline_orders
    );
    let base = baseline(&stack, &orders, args.baseline_orders, x).await?;
    base.usage.print(base.orders);
    println!(
        "  {} list page(s), client THROTTLED {}",
        base.pages, base.throttled
    );
    let baseline_points_per_order = base.usage.points / base.orders.max(1) as f64;
    let import_read_points_per_order = (imp.usage.points - write_back) / n;
    shutdown(stack).await;

    let mut duplicates = imp.outcome.duplicates;
    let mut p95 = f64::NAN;
    if args.arrival_secs > 0.0 {
        println!(
            "\n3) Freshness on the webhook path (real time: the engine's debounce window and cursor overlap are wall-clock seconds)"
        );
        let fresh = freshness(&args).await?;
        duplicates += fresh.duplicates;
        for j in &fresh.runs {
            println!("  run {}", job_line(j));
        }
        fresh.usage.print(fresh.arrived);
        let read: u64 = fresh
            .runs
            .iter()
            .map(|j| j.counters.get("orders_read"))
            .sum();
        let fresh_write_back = fresh.usage.write_back_points();
        println!(
            "  the webhook runs read {read} orders for {} new ones ({:.1} reads per new order: each run re-reads the cursor's overlap, and an order once more after its own write-back): {:.1} points per new order, {:.1} of them reading",
            fresh.arrived,
            read as f64 / fresh.arrived.max(1) as f64,
            fresh.usage.points / fresh.arrived.max(1) as f64,
            (fresh.usage.points - fresh_write_back) / fresh.arrived.max(1) as f64
        );
        p95 = percentile(&fresh.latencies, 95.0).unwrap_or(f64::NAN);
        println!(
            "  {} webhooks for {} orders made {} run(s); seconds from creation to BC document: p50 {:.1}, p95 {:.1}, max {:.1}; without a document at the end: {}; duplicate documents {}",
            fresh.webhooks,
            fresh.arrived,
            fresh.runs.len(),
            percentile(&fresh.latencies, 50.0).unwrap_or(f64::NAN),
            p95,
            percentile(&fresh.latencies, 100.0).unwrap_or(f64::NAN),
            fresh.missing,
            fresh.duplicates
        );
        if fresh.missing > 0 {
            // An order whose document never came counts as late as the wait allowed, not as absent.
            p95 = p95.max(f64::from(fresh.debounce) + 240.0);
        }
    }

    println!("\nRatios (same run):");
    println!(
        "  Shopify points per order: ours {points_per_order:.2} (reading {import_read_points_per_order:.2} + write-back {:.2}), baseline (reads only) {baseline_points_per_order:.2} -> baseline spends {} as much as our reads",
        write_back / n,
        ratio(baseline_points_per_order, import_read_points_per_order)
    );
    println!(
        "\ntargets: points_per_order<={TARGET_POINTS_PER_ORDER} {} ({points_per_order:.2}); bc_requests_per_order<={TARGET_BC_REQUESTS_PER_ORDER} {} ({bc_requests_per_order:.3}); duplicates=0 {} ({duplicates}); seconds_to_bc_p95<={TARGET_SECONDS_TO_BC_P95} {} ({p95:.1})",
        met(points_per_order <= TARGET_POINTS_PER_ORDER),
        met(bc_requests_per_order <= TARGET_BC_REQUESTS_PER_ORDER),
        met(duplicates == 0),
        met(p95 <= TARGET_SECONDS_TO_BC_P95)
    );
    println!(
        "orders: points_per_order={points_per_order:.2} bc_requests_per_order={bc_requests_per_order:.3} duplicates={duplicates} baseline_points_per_order={baseline_points_per_order:.2} seconds_to_bc_p95={p95:.1}"
    );
    Ok(())
}
