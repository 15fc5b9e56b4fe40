//! The orders pipeline under faults, through the real path: sync-orders and create-sales-orders on
//! their own task queues on moto, the worker, DynamoDB, and the Shopify and BC simulators over HTTP.
//! What every scenario proves is the one promise BC makes it hard to keep (BC has no idempotency
//! keys): **each Shopify order becomes exactly one BC document**, whatever fails on the way —
//! random faults on both sides, answers lost after BC applied the write, the same job message
//! delivered twice at once, a worker killed while a document request is in flight and another just
//! after BC made one, a burst of webhooks, an order changed after its document was made.
//!
//! One scenario checks what a job that is dead-lettered leaves behind: the write-backs its documents
//! still owe are sent by the next run.
//!
//! The task rules are unit-tested in `shared/tasks/src/orders/`; here they are seen end to end.
//! Each test has its own resources (provisioned from infra/template.yaml under a unique prefix) and
//! simulators, and every wait is bounded.

use aws_lambda_events::event::sqs::SqsEvent;
use bc_sim::{BcFault, BcFaultRule, BcSimConfig, SimCustomer, SimSalesDocument};
use shopify_sim::{FaultKind, LineSeed, OrderSeed, SeededOrder};
use shopsync_domain::TaskKind;
use shopsync_domain::job::{JobRecord, JobStatus, Trigger};
use shopsync_domain::orders::BC_DOCUMENT_ATTRIBUTE;
use shopsync_domain::ports::{LeaseStore, Record, RecordStore, SettingsStore};
use shopsync_domain::sales::to_code;
use shopsync_domain::settings::{ShopSettings, TaskSettings};
use shopsync_domain::staging::{ORDER_DOCUMENTS, STAGED_ORDERS, order_status};
use shopsync_e2e::faults::{acknowledge, faulty_stack, receive_event, send_body};
use shopsync_e2e::jobs::{jobs_of, tick_and_drain, total};
use shopsync_e2e::{ORDERS_QUEUE, Stack, StackOptions, local_runtime, tick_at};
use shopsync_runtime::RuntimeConfig;
use shopsync_runtime::local::LocalRunner;
use shopsync_tasks::engine::counters as engine;
use shopsync_tasks::orders::counters as sync;
use shopsync_tasks::orders::create::counters as create;
use shopsync_tasks::orders::effects::counters as doc;
use shopsync_tasks::orders::staged::{CHANGED_AFTER_PROCESSING, CLAIM_SECS};
use std::time::{Duration, Instant};

const DRAIN: Duration = Duration::from_secs(240);
/// Logical id of the create-sales-orders task queue in the template.
const CREATE_QUEUE: &str = "CreateSalesOrdersQueue";
/// BC items (and Shopify SKUs) of each shop: `<CODE>-000000` …
const ITEMS: usize = 10;
/// The G/L account shipping charges are booked to.
const SHIPPING_ACCOUNT: &str = "6100";

/// RFC 3339 (UTC, seconds) of the wall clock plus `secs`: a run's window ends at its start on the
/// wall clock, so orders are seeded against it.
fn wall(secs: i64) -> String {
    shopify_sim::format_time(shopsync_domain::time::now_secs() + secs)
}

/// A shop that sells: both order tasks enabled, a G/L account for shipping charges, and the buyer of
/// every seeded order (Ada, by e-mail) a BC customer already.
struct OrdersShop {
    code: String,
    domain: String,
    prefix: String,
    company: bc_sim::CompanyHandle,
    settings: ShopSettings,
}

async fn orders_shop(
    stack: &Stack,
    code: &str,
    tune: impl FnOnce(&mut ShopSettings),
) -> OrdersShop {
    let demo = stack.seed_shop(code, ITEMS).await.expect("seeded shop");
    let mut settings = demo.settings.clone();
    for task in [TaskKind::SyncOrders, TaskKind::CreateSalesOrders] {
        settings.tasks.insert(
            task,
            TaskSettings {
                enabled: true,
                ..TaskSettings::default()
            },
        );
    }
    settings.shipping_charges_account = Some(SHIPPING_ACCOUNT.into());
    tune(&mut settings);
    stack.adapters.store.put_shop(&settings).await.unwrap();
    demo.company.add_gl_account(SHIPPING_ACCOUNT);
    demo.company
        .add_customer(SimCustomer::new("", "Ada Lovelace", "ada@example.com"));
    OrdersShop {
        code: code.into(),
        domain: demo.domain,
        prefix: demo.prefix,
        company: demo.company,
        settings,
    }
}

/// Order `i`: 1 to 5 lines of distinct catalogue items (1 to 3 of each), bought by Ada, with a
/// shipping charge; created and last updated at `at`.
fn order_seed(shop: &OrdersShop, i: usize, at: &str) -> OrderSeed {
    let lines = 1 + (i * 7 + 3) % 5;
    OrderSeed {
        lines: (0..lines)
            .map(|l| {
                let sku = format!("{}{:06}", shop.prefix, (i + l * 3) % ITEMS);
                LineSeed::new(&sku, 1 + ((i + l) % 3) as i64, "12.50")
            })
            .collect(),
        ..OrderSeed::with_lines(0)
    }
    .created_at(at)
    .updated_at(at)
}

/// `n` new orders, updated one second apart from `minutes_ago` minutes ago.
fn seed_orders(stack: &Stack, shop: &OrdersShop, n: usize, minutes_ago: i64) -> Vec<SeededOrder> {
    let store = stack.shopify.store(&shop.domain);
    (0..n)
        .map(|i| {
            let at = wall(-minutes_ago * 60 + i as i64);
            store.add_order(order_seed(shop, i, &at))
        })
        .collect()
}

/// The local stack's runtime tuning (deferrals and retries in seconds), without metric lines.
fn quiet() -> RuntimeConfig {
    RuntimeConfig {
        metrics: shopsync_runtime::metrics::MetricsSink::Off,
        ..local_runtime()
    }
}

/// A runner of `task` on its queue (sync-orders: `SyncOrdersQueue`, create-sales-orders:
/// `CreateSalesOrdersQueue`): another worker process, with its own clients.
fn runner(stack: &Stack, task: TaskKind, runtime: RuntimeConfig) -> LocalRunner {
    let queue = match task {
        TaskKind::SyncOrders => ORDERS_QUEUE,
        TaskKind::CreateSalesOrders => CREATE_QUEUE,
        other => panic!("no queue for {other} here"),
    };
    stack
        .runner_for(task, queue, runtime)
        .expect("a runner of the task")
}

/// One scheduled tick of `runner`'s task at `minutes`, which must queue exactly this one shop's job,
/// then drain its queue.
async fn tick(runner: &LocalRunner, minutes: i64, timeout: Duration) {
    tick_and_drain(runner, minutes, 1, timeout).await;
}

fn finished(job: &JobRecord) -> bool {
    matches!(
        job.status,
        JobStatus::Succeeded | JobStatus::SucceededWithWarnings
    )
}

/// A staged order's record status and body.
async fn staged(stack: &Stack, code: &str, order_id: &str) -> (Option<String>, serde_json::Value) {
    let record = stack
        .adapters
        .store
        .get_record(code, STAGED_ORDERS, order_id)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("order {order_id} is not staged"));
    (record.status, serde_json::from_str(&record.body).unwrap())
}

/// Every way an order can be other than "exactly one BC document, recorded": the BC documents with
/// its name as external document number (one, made from its lines plus the shipping charge), the
/// staged order's document, the order ↔ document link, and the number written back to Shopify once.
/// Empty when all is well. Record statuses are checked by the caller.
async fn document_problems(
    stack: &Stack,
    shop: &OrdersShop,
    orders: &[SeededOrder],
) -> Vec<String> {
    let store = stack.shopify.store(&shop.domain);
    let mut problems = Vec::new();
    for o in orders {
        let docs = shop
            .company
            .documents_with_external_number(&to_code(&o.name));
        let [doc] = docs.as_slice() else {
            problems.push(format!("{}: {} BC documents", o.name, docs.len()));
            continue;
        };
        let item_lines = doc.lines.iter().filter(|l| l.line_type == "Item").count();
        if item_lines != o.line_item_ids.len() {
            problems.push(format!(
                "{}: {item_lines} item lines in {}, the order has {}",
                o.name,
                doc.number,
                o.line_item_ids.len()
            ));
        }
        let (_, body) = staged(stack, &shop.code, &o.id).await;
        if body["document"]["number"] != doc.number.as_str() {
            problems.push(format!(
                "{}: staged with document {}, BC has {}",
                o.name, body["document"], doc.number
            ));
        }
        let link = stack
            .adapters
            .store
            .get_record(&shop.code, ORDER_DOCUMENTS, &to_code(&o.name))
            .await
            .unwrap();
        let linked = link
            .map(|r| serde_json::from_str::<serde_json::Value>(&r.body).unwrap()["number"].clone());
        if linked.as_ref().and_then(|n| n.as_str()) != Some(doc.number.as_str()) {
            problems.push(format!("{}: linked to {linked:?}", o.name));
        }
        let attributes = store.order_custom_attributes(&o.id).unwrap_or_default();
        let written: Vec<_> = attributes
            .iter()
            .filter(|(k, _)| k == BC_DOCUMENT_ATTRIBUTE)
            .collect();
        if written.len() != 1 || written[0].1.as_deref() != Some(doc.number.as_str()) {
            problems.push(format!("{}: {BC_DOCUMENT_ATTRIBUTE} {written:?}", o.name));
        }
    }
    let made = shop.company.sales_orders().len() + shop.company.sales_invoices().len();
    if made != orders.len() {
        problems.push(format!(
            "BC holds {made} documents for {} orders",
            orders.len()
        ));
    }
    problems
}

/// How many of `orders` are staged with `status`.
async fn with_status(
    stack: &Stack,
    shop: &OrdersShop,
    orders: &[SeededOrder],
    status: &str,
) -> usize {
    let mut n = 0;
    for o in orders {
        let record = stack
            .adapters
            .store
            .get_record(&shop.code, STAGED_ORDERS, &o.id)
            .await
            .unwrap();
        if record.and_then(|r| r.status).as_deref() == Some(status) {
            n += 1;
        }
    }
    n
}

/// Move the document claims of the shop's unprocessed orders `CLAIM_SECS` into the past, as if half
/// an hour had passed since the job that claimed them died: the next job looks each document up by
/// its external number before it sends anything.
async fn age_claims(stack: &Stack, code: &str) -> usize {
    let records = &stack.adapters.store;
    let mut aged = 0;
    let mut after: Option<String> = None;
    loop {
        let page = records
            .list_by_status(
                code,
                STAGED_ORDERS,
                order_status::UNPROCESSED,
                after.as_deref(),
                100,
            )
            .await
            .unwrap();
        for record in page.records {
            let mut body: serde_json::Value = serde_json::from_str(&record.body).unwrap();
            let Some(at) = body["document_claim"]["at"].as_i64() else {
                continue;
            };
            body["document_claim"]["at"] = (at - CLAIM_SECS - 1).into();
            let aged_record = Record {
                body: body.to_string(),
                ..record
            };
            if records
                .put_record_if(code, STAGED_ORDERS, &aged_record)
                .await
                .unwrap()
            {
                aged += 1;
            }
        }
        match page.next_after {
            Some(next) => after = Some(next),
            None => return aged,
        }
    }
}

/// Hand `event` to `runner`'s worker in a task of its own (that the test may kill).
fn spawn_worker(
    runner: &LocalRunner,
    event: SqsEvent,
) -> tokio::task::JoinHandle<aws_lambda_events::event::sqs::SqsBatchResponse> {
    let app = runner.app.clone();
    tokio::spawn(async move {
        shopsync_runtime::worker::handle_batch(
            &app,
            event,
            Instant::now() + Duration::from_secs(900),
        )
        .await
    })
}

/// Wait (at most 10 s) until the shop's lease of a dead run can be taken: expired, by the store's
/// rule (`expires_at < now`, whole seconds).
async fn wait_for_lease_expiry(stack: &Stack, shop: &str) {
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let holder = stack.adapters.store.holder(shop, "default").await.unwrap();
        match holder {
            Some((_, expires_at)) if expires_at >= shopsync_domain::time::now_secs() => {
                assert!(Instant::now() < until, "the dead run's lease never expired");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            _ => return,
        }
    }
}

/// What SQS does with a message whose worker died: it becomes visible again (at once, here).
async fn make_visible(sqs: &aws_sdk_sqs::Client, queue_url: &str, handle: &str) {
    sqs.change_message_visibility()
        .queue_url(queue_url)
        .receipt_handle(handle)
        .visibility_timeout(0)
        .send()
        .await
        .expect("change the message's visibility");
}

/// A Shopify webhook as EventBridge delivers it to the sync-orders queue (headers in
/// `detail.metadata`, detail-type `shopifyWebhook`).
fn webhook(topic: &str, domain: &str, order: &SeededOrder, delivery: usize) -> String {
    let numeric = order.id.rsplit('/').next().unwrap_or_default();
    serde_json::json!({
        "version": "0", "id": format!("ev-{numeric}-{delivery}"), "detail-type": "shopifyWebhook",
        "source": "aws.partner/shopify.com/347082227713/shopsync",
        "account": "123456789012", "time": wall(0), "region": "us-east-1", "resources": [],
        "detail": {
            "payload": {"admin_graphql_api_id": order.id, "name": order.name},
            "metadata": {
                "Content-Type": "application/json", "X-Shopify-Topic": topic,
                "X-Shopify-Shop-Domain": domain, "X-Shopify-Order-Id": numeric,
                "X-Shopify-API-Version": "2026-04",
                "X-Shopify-Webhook-Id": format!("wh-{numeric}-{delivery}")
            }
        }
    })
    .to_string()
}

// -------------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_percent_faults_on_both_sides_make_every_document_exactly_once() {
    let started = Instant::now();
    let runtime = RuntimeConfig {
        // A few effects per invocation: each step is its own message, so a run of bad luck on one
        // step does not use up the receives of the whole job.
        max_run: Some(Duration::from_millis(300)),
        ..quiet()
    };
    let stack = Stack::start(faulty_stack(0.2, 20_260_501, 30_103, runtime.clone()))
        .await
        .expect("local stack");
    let shop = orders_shop(&stack, "FAULTY", |_| {}).await;
    let orders = seed_orders(&stack, &shop, 40, 30);
    // On top of the random faults, certainly: BC makes the first two documents and both answers are
    // lost, and Shopify applies the first two write-backs and both answers are lost.
    stack.bc.add_fault_rule(
        BcFaultRule::new(BcFault::DropAfterApply)
            .on("POST", "salesOrders")
            .times(2),
    );
    stack
        .shopify
        .script_fault(FaultKind::DropAfterApply, Some("orderUpdate"), 2);

    let syncs = runner(&stack, TaskKind::SyncOrders, runtime.clone());
    let creates = runner(&stack, TaskKind::CreateSalesOrders, runtime);
    tick(&syncs, 0, DRAIN).await;
    tick(&creates, 0, Duration::from_secs(400)).await;

    // A job that used up its receives is dead-lettered; its claims then keep other jobs off its
    // orders for CLAIM_SECS. Should that happen, half an hour passes (the claims are aged) and the
    // schedule runs both tasks again: the rest is finished, looking every claimed document up first.
    let mut reruns = 0;
    while with_status(&stack, &shop, &orders, order_status::PROCESSED).await < orders.len() {
        reruns += 1;
        assert!(reruns <= 3, "three re-runs did not finish the orders");
        let failed: Vec<_> = stack
            .jobs("FAULTY")
            .await
            .into_iter()
            .filter(|j| j.status == JobStatus::Failed)
            .map(|j| (j.task, j.job_id, j.error))
            .collect();
        eprintln!("re-run {reruns} after failed jobs: {failed:?}");
        age_claims(&stack, "FAULTY").await;
        tick(&syncs, 15 * reruns, DRAIN).await;
        tick(&creates, 15 * reruns, Duration::from_secs(400)).await;
    }

    let problems = document_problems(&stack, &shop, &orders).await;
    assert!(
        problems.is_empty(),
        "after {reruns} re-run(s): {problems:#?}{}",
        if reruns > 0 {
            "\n(a dead-lettered job loses the write-backs of the documents it made: see \
             a_dead_lettered_job_leaves_no_document_without_its_number_in_shopify)"
        } else {
            ""
        }
    );
    assert_eq!(
        with_status(&stack, &shop, &orders, order_status::PROCESSED).await,
        orders.len()
    );
    let records = &stack.adapters.store;
    assert_eq!(
        records
            .count_by_status("FAULTY", STAGED_ORDERS, order_status::UNPROCESSED)
            .await
            .unwrap(),
        0
    );

    // Faults did happen, on both sides, and the lost document answers were settled by the lookup.
    let (bc, shopify) = (stack.bc.stats(), stack.shopify.stats());
    assert_eq!(
        stack.bc.pending_fault_rules(),
        0,
        "the scripted BC faults fired"
    );
    assert!(bc.injected_faults > 2, "{bc:?}");
    assert!(shopify.injected_faults > 2, "{shopify:?}");
    let creates_jobs = jobs_of(&stack, "FAULTY", TaskKind::CreateSalesOrders).await;
    let sync_jobs = jobs_of(&stack, "FAULTY", TaskKind::SyncOrders).await;
    assert!(
        total(&creates_jobs, doc::DOCUMENTS_FOUND) >= 2,
        "the documents whose answers were lost are found, not made again: {:?}",
        creates_jobs.iter().map(|j| &j.counters).collect::<Vec<_>>()
    );
    assert_eq!(
        total(&creates_jobs, doc::DOCUMENTS_CREATED) + total(&creates_jobs, doc::DOCUMENTS_FOUND),
        orders.len() as u64,
        "each document is either made or found, once"
    );
    assert!(creates_jobs.iter().any(finished) && sync_jobs.iter().any(finished));
    // Starts that were not the first or a continuation: retries after a failure.
    let retries: u32 = creates_jobs
        .iter()
        .map(|j| j.attempts.saturating_sub(1 + j.continuations))
        .sum();
    assert!(retries >= 2, "the lost answers made attempts fail");
    let dead = stack.dead_letters().await;
    if reruns == 0 {
        assert!(dead.is_empty(), "{dead:?}");
    }
    eprintln!(
        "{} orders: {} BC faults, {} Shopify faults; create-sales-orders: {} job(s), {} retries, {} \
         continuations, {} documents found by the lookup, {} document POSTs; {} re-run(s); {:?}",
        orders.len(),
        bc.injected_faults,
        shopify.injected_faults,
        creates_jobs.len(),
        retries,
        creates_jobs.iter().map(|j| j.continuations).sum::<u32>(),
        total(&creates_jobs, doc::DOCUMENTS_FOUND),
        bc.requests_to("POST", "salesOrders"),
        reruns,
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_delivery_of_the_same_job_message_makes_nothing_twice() {
    // A little BC latency keeps the run busy while the duplicate arrives.
    let stack = Stack::start(StackOptions {
        bc: BcSimConfig {
            latency: Duration::from_millis(50),
            ..BcSimConfig::default()
        },
        ..StackOptions::default()
    })
    .await
    .expect("local stack");
    let shop = orders_shop(&stack, "TWICE", |_| {}).await;
    let orders = seed_orders(&stack, &shop, 12, 20);
    tick(&runner(&stack, TaskKind::SyncOrders, quiet()), 0, DRAIN).await;
    assert_eq!(
        with_status(&stack, &shop, &orders, order_status::UNPROCESSED).await,
        orders.len()
    );

    // Two workers; the job's message is on the queue twice (an at-least-once duplicate), and each
    // worker gets one copy at the same moment.
    let first = runner(&stack, TaskKind::CreateSalesOrders, quiet());
    let second = runner(&stack, TaskKind::CreateSalesOrders, quiet());
    let queue = first.queue_url.clone();
    let report = first.tick(tick_at(0)).await;
    assert_eq!(report.queued.len(), 1, "{report:?}");
    let (event_a, handle_a, body) = receive_event(&stack, &queue, 1).await;
    send_body(&stack, &queue, &body).await;
    let (event_b, handle_b, copy) = receive_event(&stack, &queue, 1).await;
    assert_eq!(copy, body);
    let deadline = Instant::now() + Duration::from_secs(900);
    let (a, b) = tokio::join!(
        shopsync_runtime::worker::handle_batch(&first.app, event_a, deadline),
        shopsync_runtime::worker::handle_batch(&second.app, event_b, deadline),
    );
    acknowledge(&stack, &queue, &handle_a, &a).await;
    acknowledge(&stack, &queue, &handle_b, &b).await;
    // Whatever either delivery left (a retry, a deferral) comes back and is handled.
    first.drain(DRAIN).await.unwrap();

    let jobs = jobs_of(&stack, "TWICE", TaskKind::CreateSalesOrders).await;
    assert_eq!(jobs.len(), 1);
    let job = &jobs[0];
    assert_eq!(job.status, JobStatus::Succeeded, "{:?}", job.error);
    assert_eq!(job.attempts, 1, "only one delivery may start the job");
    eprintln!(
        "concurrent deliveries: {} and {} asked for redelivery; the job was deferred {} time(s)",
        a.batch_item_failures.len(),
        b.batch_item_failures.len(),
        job.deferrals
    );
    assert_eq!(
        job.counters.get(doc::DOCUMENTS_CREATED),
        orders.len() as u64
    );
    let problems = document_problems(&stack, &shop, &orders).await;
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(
        with_status(&stack, &shop, &orders, order_status::PROCESSED).await,
        orders.len()
    );
    let posts = stack.bc.stats().requests_to("POST", "salesOrders");
    assert_eq!(posts, orders.len() as u64, "no document was sent twice");

    // A late duplicate of the finished job does nothing at all.
    let writes = stack.shopify.store(&shop.domain).order_writes().len();
    send_body(&stack, &queue, &body).await;
    first.drain(DRAIN).await.unwrap();
    assert_eq!(stack.bc.stats().requests_to("POST", "salesOrders"), posts);
    assert_eq!(
        stack.shopify.store(&shop.domain).order_writes().len(),
        writes
    );
    let job = &jobs_of(&stack, "TWICE", TaskKind::CreateSalesOrders).await[0];
    assert_eq!(job.attempts, 1);
    assert!(stack.dead_letters().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_run_is_taken_over_without_a_second_document() {
    // BC answers every request 400 ms after it arrives, so each kill can be placed exactly.
    let latency = Duration::from_millis(400);
    let runtime = RuntimeConfig {
        lease_ttl_secs: 2,
        ..quiet()
    };
    let stack = Stack::start(StackOptions {
        bc: BcSimConfig {
            latency,
            ..BcSimConfig::default()
        },
        runtime: runtime.clone(),
        ..StackOptions::default()
    })
    .await
    .expect("local stack");
    let shop = orders_shop(&stack, "KILLED", |_| {}).await;
    let orders = seed_orders(&stack, &shop, 8, 20);
    tick(
        &runner(&stack, TaskKind::SyncOrders, runtime.clone()),
        0,
        DRAIN,
    )
    .await;
    let creates = runner(&stack, TaskKind::CreateSalesOrders, runtime.clone());
    let queue = creates.queue_url.clone();
    let report = creates.tick(tick_at(0)).await;
    assert_eq!(report.queued.len(), 1, "{report:?}");
    let sqs = aws_sdk_sqs::Client::new(&stack.sdk);
    let posts = || stack.bc.stats().requests_to("POST", "salesOrders");
    let made = || shop.company.sales_orders().len();
    let job = || async {
        jobs_of(&stack, "KILLED", TaskKind::CreateSalesOrders)
            .await
            .remove(0)
    };
    let until = Instant::now() + Duration::from_secs(60);

    // Kill 1: the first worker dies while its third document request is inside BC (sent, not yet
    // made). BC drops the request with the connection: it never makes that document.
    let (event, handle, _) = receive_event(&stack, &queue, 1).await;
    let worker = spawn_worker(
        &runner(&stack, TaskKind::CreateSalesOrders, runtime.clone()),
        event,
    );
    while posts() < 3 && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    worker.abort();
    let _ = worker.await;
    assert_eq!(
        (posts(), made()),
        (3, 2),
        "killed with the third document in flight"
    );
    let j = job().await;
    assert_eq!(
        (j.status, j.attempts),
        (JobStatus::Running, 1),
        "the killed run leaves its job running"
    );
    // Whatever BC does with the dead worker's request happens now; then its lease expires.
    tokio::time::sleep(latency * 2).await;
    wait_for_lease_expiry(&stack, "KILLED").await;
    let kill_1_made_it = made() == 3;
    let lookups_before = stack.bc.stats().requests_to("POST", "$batch");

    // Kill 2: SQS redelivers the message to a second worker, which takes the job over from the
    // checkpoint and is killed the moment BC has made its fifth document — before the run can have
    // recorded it.
    make_visible(&sqs, &queue, &handle).await;
    let (event, handle, _) = receive_event(&stack, &queue, 2).await;
    let worker = spawn_worker(
        &runner(&stack, TaskKind::CreateSalesOrders, runtime.clone()),
        event,
    );
    while made() < 5 && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    worker.abort();
    let _ = worker.await;
    assert_eq!(made(), 5, "killed right after the fifth document was made");
    // An order whose document BC has made but which is not processed: the dead run had not
    // recorded it (at most one can be, the one in flight).
    let mut unrecorded = 0;
    for o in &orders {
        let has_document = !shop
            .company
            .documents_with_external_number(&to_code(&o.name))
            .is_empty();
        let (status, _) = staged(&stack, "KILLED", &o.id).await;
        if has_document && status.as_deref() != Some(order_status::PROCESSED) {
            unrecorded += 1;
        }
    }
    assert!(unrecorded <= 1, "{unrecorded} documents unrecorded");
    let kill_2_unrecorded = unrecorded == 1;
    let j = job().await;
    assert_eq!((j.status, j.attempts), (JobStatus::Running, 2));
    assert!(
        stack.bc.stats().requests_to("POST", "$batch") > lookups_before,
        "the first takeover looked the document in flight at kill 1 up before sending it again"
    );
    wait_for_lease_expiry(&stack, "KILLED").await;

    // A third worker takes the job over again and finishes it.
    make_visible(&sqs, &queue, &handle).await;
    runner(&stack, TaskKind::CreateSalesOrders, runtime)
        .drain(DRAIN)
        .await
        .unwrap();

    let j = job().await;
    assert_eq!(j.status, JobStatus::Succeeded, "{:?}", j.error);
    assert_eq!(j.attempts, 3, "two takeovers");
    let problems = document_problems(&stack, &shop, &orders).await;
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(
        with_status(&stack, &shop, &orders, order_status::PROCESSED).await,
        orders.len()
    );
    // Each document in flight at a kill was looked up before anything was sent again: found when
    // BC had made it, sent once more when it had not.
    assert_eq!(
        j.counters.get(engine::EFFECTS_FOUND_BY_PROBE),
        u64::from(kill_1_made_it) + u64::from(kill_2_unrecorded),
        "{:?}",
        j.counters
    );
    assert_eq!(posts(), orders.len() as u64 + u64::from(!kill_1_made_it));
    eprintln!(
        "kill 1: the document in flight was {}made by BC; kill 2: the document BC had just made was \
         {}recorded by the dead run",
        if kill_1_made_it { "" } else { "not " },
        if kill_2_unrecorded { "not " } else { "" },
    );
    assert!(stack.dead_letters().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_pushed_by_webhooks_reach_bc_once() {
    const DEBOUNCE_SECS: u32 = 5;
    let stack = Stack::start(StackOptions::default())
        .await
        .expect("local stack");
    let shop = orders_shop(&stack, "PUSHED", |s| {
        s.order_webhooks = true;
        s.auto_create_orders = true;
        s.tasks.insert(
            TaskKind::SyncOrders,
            TaskSettings {
                enabled: true,
                webhook_debounce_secs: Some(DEBOUNCE_SECS),
                ..TaskSettings::default()
            },
        );
        // Only the webhooks make documents here.
        s.tasks.remove(&TaskKind::CreateSalesOrders);
    })
    .await;
    assert!(shop.settings.order_webhooks);
    let orders = seed_orders(&stack, &shop, 12, 2);
    // BC makes the first document and the answer is lost.
    stack
        .bc
        .add_fault_rule(BcFaultRule::new(BcFault::DropAfterApply).on("POST", "salesOrders"));

    // One orders/create webhook per new order, two of them delivered twice, as EventBridge may.
    let syncs = runner(&stack, TaskKind::SyncOrders, quiet());
    let queue = syncs.queue_url.clone();
    for (i, o) in orders.iter().enumerate() {
        send_body(
            &stack,
            &queue,
            &webhook("orders/create", &shop.domain, o, 0),
        )
        .await;
        if i % 6 == 0 {
            send_body(
                &stack,
                &queue,
                &webhook("orders/create", &shop.domain, o, 1),
            )
            .await;
        }
    }
    // Start at the beginning of a debounce window, so the burst's job waits for all of it.
    let window = i64::from(DEBOUNCE_SECS) * 1000;
    let into = shopsync_domain::time::now_millis().rem_euclid(window);
    tokio::time::sleep(Duration::from_millis((window - into + 100) as u64)).await;
    syncs.drain(DRAIN).await.unwrap();

    let jobs = jobs_of(&stack, "PUSHED", TaskKind::SyncOrders).await;
    assert_eq!(jobs.len(), 1, "one burst, one job: {jobs:?}");
    let job = &jobs[0];
    assert_eq!(job.trigger, Trigger::Webhook);
    assert_eq!(job.status, JobStatus::Succeeded, "{:?}", job.error);
    assert!(job.attempts >= 2, "the lost answer made an attempt fail");
    assert_eq!(job.counters.get(sync::ORDERS_STAGED), orders.len() as u64);
    assert_eq!(
        job.counters.get(doc::DOCUMENTS_FOUND),
        1,
        "{:?}",
        job.counters
    );
    assert_eq!(
        job.counters.get(doc::DOCUMENTS_CREATED),
        orders.len() as u64 - 1
    );
    assert_eq!(stack.bc.pending_fault_rules(), 0);
    let problems = document_problems(&stack, &shop, &orders).await;
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(
        with_status(&stack, &shop, &orders, order_status::PROCESSED).await,
        orders.len()
    );
    assert!(
        jobs_of(&stack, "PUSHED", TaskKind::CreateSalesOrders)
            .await
            .is_empty()
    );

    // A late webhook (our own write-back updates the orders, too) starts a run of its own, which
    // makes nothing again.
    let posts = stack.bc.stats().requests_to("POST", "salesOrders");
    send_body(
        &stack,
        &queue,
        &webhook("orders/updated", &shop.domain, &orders[3], 2),
    )
    .await;
    syncs.drain(DRAIN).await.unwrap();
    let jobs = jobs_of(&stack, "PUSHED", TaskKind::SyncOrders).await;
    assert_eq!(jobs.len(), 2);
    assert!(jobs.iter().all(|j| j.status == JobStatus::Succeeded));
    assert_eq!(stack.bc.stats().requests_to("POST", "salesOrders"), posts);
    let problems = document_problems(&stack, &shop, &orders).await;
    assert!(problems.is_empty(), "{problems:#?}");
    assert!(stack.dead_letters().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_changed_after_processing_is_flagged_and_its_document_is_not_remade() {
    let stack = Stack::start(StackOptions::default())
        .await
        .expect("local stack");
    let shop = orders_shop(&stack, "CHANGED", |_| {}).await;
    let orders = seed_orders(&stack, &shop, 3, 20);
    let syncs = runner(&stack, TaskKind::SyncOrders, quiet());
    let creates = runner(&stack, TaskKind::CreateSalesOrders, quiet());
    tick(&syncs, 0, DRAIN).await;
    tick(&creates, 0, DRAIN).await;
    let problems = document_problems(&stack, &shop, &orders).await;
    assert!(problems.is_empty(), "{problems:#?}");

    // In Shopify: one unit of the first line of order 0 is refunded (its quantity changes); order 1
    // is edited in a way its document does not care about; a new order arrives.
    let (changed, touched) = (&orders[0], &orders[1]);
    let before: SimSalesDocument = shop
        .company
        .documents_with_external_number(&to_code(&changed.name))
        .remove(0);
    let (_, processed_body) = staged(&stack, "CHANGED", &changed.id).await;
    let store = stack.shopify.store(&shop.domain);
    store.add_refund(&changed.id, &[(&changed.line_item_ids[0], 1)]);
    store.touch_order(&changed.id, &wall(-10));
    store.touch_order(&touched.id, &wall(-9));
    let new = store.add_order(order_seed(&shop, 3, &wall(-8)));

    tick(&syncs, 15, DRAIN).await;
    let second = &jobs_of(&stack, "CHANGED", TaskKind::SyncOrders).await[0];
    assert_eq!(second.status, JobStatus::Succeeded, "{:?}", second.error);
    assert_eq!(
        second.counters.get(sync::ORDERS_CHANGED_AFTER_PROCESSING),
        1,
        "{:?}",
        second.counters
    );
    assert_eq!(second.counters.get(sync::ORDERS_STAGED), 1);
    assert!(second.counters.get(sync::ORDERS_LEFT_AS_IS) >= 1);
    let (status, body) = staged(&stack, "CHANGED", &changed.id).await;
    assert_eq!(
        status.as_deref(),
        Some(order_status::CHANGED_AFTER_PROCESSING)
    );
    assert_eq!(body["error"], CHANGED_AFTER_PROCESSING);
    assert_eq!(
        body["document"], processed_body["document"],
        "the flag keeps the document"
    );
    assert_eq!(
        body["change_hash"], processed_body["change_hash"],
        "the record keeps the version the document was made from"
    );
    assert_ne!(body["changed_hash"], body["change_hash"]);
    let (status, _) = staged(&stack, "CHANGED", &touched.id).await;
    assert_eq!(status.as_deref(), Some(order_status::PROCESSED));

    // create-sales-orders makes the new order's document and leaves the flagged one alone.
    let posts = stack.bc.stats().requests_to("POST", "salesOrders");
    tick(&creates, 15, DRAIN).await;
    let run = &jobs_of(&stack, "CHANGED", TaskKind::CreateSalesOrders).await[0];
    assert_eq!(run.status, JobStatus::Succeeded, "{:?}", run.error);
    assert_eq!(
        run.counters.get(create::ORDERS_READ),
        1,
        "{:?}",
        run.counters
    );
    assert_eq!(run.counters.get(doc::DOCUMENTS_CREATED), 1);
    assert_eq!(
        stack.bc.stats().requests_to("POST", "salesOrders"),
        posts + 1
    );
    let after = shop
        .company
        .documents_with_external_number(&to_code(&changed.name));
    assert_eq!(after, vec![before], "the document is not remade or changed");

    let mut all = orders.clone();
    all.push(new.clone());
    let problems = document_problems(&stack, &shop, &all).await;
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(
        with_status(&stack, &shop, &all, order_status::PROCESSED).await,
        3
    );

    // Seen again by the next sync, the flagged order stays as it is.
    tick(&syncs, 30, DRAIN).await;
    let third = &jobs_of(&stack, "CHANGED", TaskKind::SyncOrders).await[0];
    assert_eq!(third.status, JobStatus::Succeeded, "{:?}", third.error);
    assert_eq!(third.counters.get(sync::ORDERS_CHANGED_AFTER_PROCESSING), 0);
    let (status, _) = staged(&stack, "CHANGED", &changed.id).await;
    assert_eq!(
        status.as_deref(),
        Some(order_status::CHANGED_AFTER_PROCESSING)
    );
    assert_eq!(
        shop.company
            .documents_with_external_number(&to_code(&changed.name))
            .len(),
        1
    );
    assert!(stack.dead_letters().await.is_empty());
}

/// A job dead-lettered after making some documents leaves their write-backs owed (the follow-ups
/// in its ledger die with it); the next run sends them, and no document is made twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_lettered_job_leaves_no_document_without_its_number_in_shopify() {
    let stack = Stack::start(StackOptions {
        runtime: quiet(),
        ..StackOptions::default()
    })
    .await
    .expect("local stack");
    let shop = orders_shop(&stack, "DLQ", |_| {}).await;
    let orders = seed_orders(&stack, &shop, 6, 20);
    tick(&runner(&stack, TaskKind::SyncOrders, quiet()), 0, DRAIN).await;

    // BC goes down once it has made three documents, until the job has used up its receives.
    let creates = runner(&stack, TaskKind::CreateSalesOrders, quiet());
    let report = creates.tick(tick_at(0)).await;
    assert_eq!(report.queued.len(), 1, "{report:?}");
    let (drained, ()) = tokio::join!(creates.drain(DRAIN), async {
        let until = Instant::now() + Duration::from_secs(60);
        while shop.company.sales_orders().len() < 3 && Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        stack
            .bc
            .add_fault_rule(BcFaultRule::new(BcFault::Internal).times(10_000));
    });
    drained.unwrap();
    stack.bc.clear_fault_rules();
    let first = &jobs_of(&stack, "DLQ", TaskKind::CreateSalesOrders).await[0];
    assert_eq!(first.status, JobStatus::Failed, "{:?}", first.error);
    let made = shop.company.sales_orders().len();
    assert!((3..orders.len()).contains(&made), "{made} documents");

    // Half an hour later the schedule runs the task again and makes the rest.
    age_claims(&stack, "DLQ").await;
    tick(&creates, 15, DRAIN).await;
    let second = &jobs_of(&stack, "DLQ", TaskKind::CreateSalesOrders).await[0];
    assert_eq!(second.status, JobStatus::Succeeded, "{:?}", second.error);
    assert_eq!(
        with_status(&stack, &shop, &orders, order_status::PROCESSED).await,
        orders.len()
    );
    // Fails today: the orders of the dead job's documents have no BC Doc. No.
    let problems = document_problems(&stack, &shop, &orders).await;
    assert!(problems.is_empty(), "{problems:#?}");
}
