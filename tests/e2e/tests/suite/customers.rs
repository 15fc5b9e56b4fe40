//! `sync-customers` through the real path: the scheduled fan-out and a manual run, the task's own
//! queue on moto, the worker, DynamoDB, and the Shopify and BC simulators over HTTP — under 20 %
//! injected faults on both sides plus BC creations whose answers are lost, and with the same job
//! message delivered twice at once. What every scenario proves: **no customer is created twice in
//! either system**, every Shopify customer whose e-mail or phone is exactly a BC customer's (case
//! and formatting aside) is linked to it, the others are created in BC once, and a changed BC
//! customer reaches Shopify once.
//!
//! The task rules are unit-tested in `shared/tasks/src/customers/`; here they are seen end to end.

use bc_sim::{BcFault, BcFaultRule, BcSimConfig, SimCustomer};
use shopify_sim::ShopCustomerSeed;
use shopsync_domain::TaskKind;
use shopsync_domain::contact::email_key;
use shopsync_domain::customers::{CUSTOMERS, customer_status};
use shopsync_domain::job::{JobRecord, JobStatus, RunOptions};
use shopsync_domain::ports::{RecordStore, SettingsStore};
use shopsync_domain::settings::{ImportScope, ShopSettings, TaskSettings};
use shopsync_e2e::faults::{faulty_stack, send_body, tick_and_deliver_twice_at_once};
use shopsync_e2e::jobs::{self, queue_manual_run, tick_and_drain, total};
use shopsync_e2e::{Stack, StackOptions, local_runtime};
use shopsync_runtime::RuntimeConfig;
use shopsync_runtime::local::LocalRunner;
use shopsync_tasks::customers::counters as c;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const DRAIN: Duration = Duration::from_secs(300);
const QUEUE: &str = "SyncCustomersQueue";

fn quiet() -> RuntimeConfig {
    RuntimeConfig {
        metrics: shopsync_runtime::metrics::MetricsSink::Off,
        ..local_runtime()
    }
}

fn runner(stack: &Stack, runtime: RuntimeConfig) -> LocalRunner {
    stack
        .runner_for(TaskKind::SyncCustomers, QUEUE, runtime)
        .expect("the template has the sync-customers queue")
}

/// A shop that imports every customer, creates the unknown ones and exports BC's changes; BC has
/// `known` customers, Shopify those `known` (spelled differently) and `new` more.
struct CustomersShop {
    code: String,
    domain: String,
    company: bc_sim::CompanyHandle,
    /// Shopify customer id → its e-mail.
    shopify: BTreeMap<String, String>,
}

async fn customers_shop(stack: &Stack, code: &str, known: usize, new: usize) -> CustomersShop {
    let demo = stack.seed_shop(code, 1).await.expect("seeded shop");
    let mut settings: ShopSettings = demo.settings.clone();
    settings.tasks.insert(
        TaskKind::SyncCustomers,
        TaskSettings {
            enabled: true,
            ..TaskSettings::default()
        },
    );
    settings.customer_import_from_shopify = ImportScope::All;
    settings.auto_create_unknown_customers = true;
    settings.can_update_shopify_customer = true;
    stack.adapters.store.put_shop(&settings).await.unwrap();
    let store = stack.shopify.store(&demo.domain);
    let mut shopify = BTreeMap::new();
    for i in 0..known {
        // BC spells the e-mail in capitals and the phone with spaces; every other one is matched by
        // phone only (Shopify has no e-mail for it).
        let mut bc = SimCustomer::new(
            "",
            &format!("Known{i} Buyer"),
            &format!("Known{i}@Example.COM"),
        );
        bc.phone_number = format!("+44 20 7946 {:04}", 1000 + i);
        demo.company.add_customer(bc);
        let by_phone = i % 2 == 1;
        let email = format!("known{i}@example.com");
        let id = store.add_customer(ShopCustomerSeed {
            first_name: Some(format!("Known{i}")),
            last_name: Some("Buyer".into()),
            email: (!by_phone).then(|| email.clone()),
            phone: Some(format!("+4420794{:05}", 61000 + i)),
            address: None,
            updated_at: Some(wall(-600 + i as i64)),
        });
        shopify.insert(id, email);
    }
    // A BC customer that merely shares a name token with a Shopify one: not a match.
    demo.company.add_customer(SimCustomer::new(
        "",
        "New0 Buyer",
        "someone.else@example.com",
    ));
    for i in 0..new {
        let email = format!("new{i}@example.com");
        let id = store.add_customer(ShopCustomerSeed {
            first_name: Some(format!("New{i}")),
            last_name: Some("Buyer".into()),
            email: Some(email.clone()),
            phone: None,
            address: None,
            updated_at: Some(wall(-300 + i as i64)),
        });
        shopify.insert(id, email);
    }
    CustomersShop {
        code: code.into(),
        domain: demo.domain,
        company: demo.company,
        shopify,
    }
}

/// RFC 3339 (UTC, seconds) of the wall clock plus `secs`: a run's window ends at its start on the
/// wall clock, so customers are seeded against it.
fn wall(secs: i64) -> String {
    shopify_sim::format_time(shopsync_domain::time::now_secs() + secs)
}

async fn tick(runner: &LocalRunner, minutes: i64) {
    tick_and_drain(runner, minutes, 1, DRAIN).await;
}

/// A manual run (as the api function queues one): a `queued` job and its message on the queue.
async fn manual_run(stack: &Stack, runner: &LocalRunner, code: &str) -> String {
    queue_manual_run(
        stack,
        runner,
        code,
        TaskKind::SyncCustomers,
        RunOptions::default(),
        DRAIN,
    )
    .await
}

async fn jobs_of(stack: &Stack, code: &str) -> Vec<JobRecord> {
    jobs::jobs_of(stack, code, TaskKind::SyncCustomers).await
}

/// Every way the shop is other than "each Shopify customer linked to exactly one BC customer, no
/// BC customer twice, no Shopify customer made": empty when all is well.
async fn problems(stack: &Stack, shop: &CustomersShop, bc_before: usize) -> Vec<String> {
    let mut problems = Vec::new();
    let bc = shop.company.customers();
    let mut by_email: BTreeMap<String, usize> = BTreeMap::new();
    for b in &bc {
        if let Some(k) = email_key(&b.email) {
            *by_email.entry(k).or_default() += 1;
        }
    }
    for (email, n) in &by_email {
        if *n > 1 {
            problems.push(format!("{n} BC customers with {email}"));
        }
    }
    let known = shop
        .shopify
        .values()
        .filter(|e| e.starts_with("known"))
        .count();
    let new = shop.shopify.len() - known;
    if bc.len() != bc_before + new {
        problems.push(format!(
            "BC holds {} customers, expected {} + {new} created",
            bc.len(),
            bc_before
        ));
    }
    let shopify_now = stack.shopify.store(&shop.domain).shop_customers();
    if shopify_now.len() != shop.shopify.len() {
        problems.push(format!(
            "Shopify holds {} customers, {} were seeded",
            shopify_now.len(),
            shop.shopify.len()
        ));
    }
    for (id, email) in &shop.shopify {
        let legacy = id.rsplit('/').next().unwrap();
        let record = stack
            .adapters
            .store
            .get_record(&shop.code, CUSTOMERS, legacy)
            .await
            .unwrap();
        let Some(record) = record else {
            problems.push(format!("{id}: no record"));
            continue;
        };
        if record.status.as_deref() != Some(customer_status::LINKED) {
            problems.push(format!("{id}: {:?} {}", record.status, record.body));
            continue;
        }
        let body: serde_json::Value = serde_json::from_str(&record.body).unwrap();
        let number = body["bc_number"].as_str().unwrap_or_default();
        let Some(b) = bc.iter().find(|b| b.number == number) else {
            problems.push(format!("{id}: linked to {number}, which BC does not have"));
            continue;
        };
        if email_key(&b.email).as_deref() != Some(email.as_str()) {
            problems.push(format!("{id} ({email}): linked to {number} ({})", b.email));
        }
    }
    problems
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_percent_faults_create_no_customer_twice_and_link_every_one() {
    let started = Instant::now();
    let runtime = RuntimeConfig {
        max_run: Some(Duration::from_millis(300)),
        ..quiet()
    };
    let stack = Stack::start(faulty_stack(0.2, 30_100, 30_100, runtime.clone()))
        .await
        .expect("local stack");
    let shop = customers_shop(&stack, "CUSTFLT", 12, 16).await;
    let bc_before = shop.company.customers().len();
    // On top of the random faults, certainly: BC makes two customers and both answers are lost.
    stack.bc.add_fault_rule(
        BcFaultRule::new(BcFault::DropAfterApply)
            .on("POST", "customers")
            .times(2),
    );
    let runner = runner(&stack, runtime);

    // The schedule, then (should a job have used up its receives) manual runs until all is linked.
    tick(&runner, 0).await;
    let mut manual = 0;
    while !problems(&stack, &shop, bc_before).await.is_empty() {
        manual += 1;
        assert!(
            manual <= 3,
            "{:#?}",
            problems(&stack, &shop, bc_before).await
        );
        manual_run(&stack, &runner, &shop.code).await;
    }
    assert_eq!(
        stack.bc.pending_fault_rules(),
        0,
        "the scripted BC faults fired"
    );
    let jobs = jobs_of(&stack, &shop.code).await;
    assert!(
        total(
            &jobs,
            shopsync_tasks::engine::counters::EFFECTS_FOUND_BY_PROBE
        ) >= 1
            || total(&jobs, c::LINKED) > 12,
        "a lost creation is found again, not made twice: {:?}",
        jobs.iter().map(|j| &j.counters).collect::<Vec<_>>()
    );
    // BC is asked much more often than Shopify (one page of customers a run): its faults did
    // happen; Shopify's are counted below.
    assert!(
        stack.bc.stats().injected_faults > 0,
        "{:?}",
        stack.bc.stats()
    );

    // A BC change reaches Shopify once (a manual run, through the queue); nothing else is sent.
    let first = shop.shopify.keys().next().unwrap().clone();
    let legacy = first.rsplit('/').next().unwrap();
    let body: serde_json::Value = serde_json::from_str(
        &stack
            .adapters
            .store
            .get_record(&shop.code, CUSTOMERS, legacy)
            .await
            .unwrap()
            .unwrap()
            .body,
    )
    .unwrap();
    let number = body["bc_number"].as_str().unwrap().to_string();
    shop.company.rename_customer(&number, "Renamed Buyer");
    let mut runs = 0;
    loop {
        runs += 1;
        assert!(runs <= 3, "the rename never reached Shopify");
        let id = manual_run(&stack, &runner, &shop.code).await;
        let job = jobs_of(&stack, &shop.code)
            .await
            .into_iter()
            .find(|j| j.job_id == id)
            .unwrap();
        if job.status == JobStatus::Failed {
            continue;
        }
        let now = stack.shopify.store(&shop.domain).shop_customers();
        let c = now.iter().find(|c| c.id == first).unwrap();
        if c.first_name.as_deref() == Some("Renamed") {
            assert_eq!(c.last_name.as_deref(), Some("Buyer"));
            break;
        }
    }
    let problems = problems(&stack, &shop, bc_before).await;
    assert!(problems.is_empty(), "{problems:#?}");
    eprintln!(
        "{} Shopify customers: {} BC faults, {} Shopify faults, {} manual run(s), {:?}",
        shop.shopify.len(),
        stack.bc.stats().injected_faults,
        stack.shopify.stats().injected_faults,
        manual,
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_delivery_creates_no_customer_twice() {
    let stack = Stack::start(StackOptions {
        bc: BcSimConfig {
            latency: Duration::from_millis(30),
            ..BcSimConfig::default()
        },
        ..StackOptions::default()
    })
    .await
    .expect("local stack");
    let shop = customers_shop(&stack, "CUSTDUP", 6, 10).await;
    let bc_before = shop.company.customers().len();
    let first = runner(&stack, quiet());
    let second = runner(&stack, quiet());
    let body = tick_and_deliver_twice_at_once(&stack, &first, &second, DRAIN).await;
    let queue = first.queue_url.clone();

    let jobs = jobs_of(&stack, &shop.code).await;
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].status, JobStatus::Succeeded, "{:?}", jobs[0].error);
    assert_eq!(jobs[0].attempts, 1, "only one delivery may start the job");
    assert_eq!(jobs[0].counters.get(c::CREATED_IN_BC), 10);
    let problems = problems(&stack, &shop, bc_before).await;
    assert!(problems.is_empty(), "{problems:#?}");
    let posts = stack.bc.stats().requests_to("POST", "customers");
    assert_eq!(posts, 10, "no customer was sent twice");

    // A late duplicate of the finished job does nothing at all.
    send_body(&stack, &queue, &body).await;
    first.drain(DRAIN).await.unwrap();
    assert_eq!(stack.bc.stats().requests_to("POST", "customers"), posts);
    assert!(stack.dead_letters().await.is_empty());
}
