//! `sync-companies` (reference report 30114) through the real path: the scheduled fan-out and
//! manual runs, the task's own queue on moto, the worker, DynamoDB, and the Shopify and BC
//! simulators over HTTP. What the scenarios prove:
//!
//! * under 20 % injected faults on both sides and a duplicated job message, **no company is
//!   created twice in either system**: every company whose main contact's e-mail or phone is
//!   exactly a BC customer's is linked to it, the others are created in BC once (and with
//!   `default_company` mapping every company is booked to the default customer, none created);
//! * **one failing company never aborts the run**: BC refuses one company's customer, the others
//!   are linked, the failing one is recorded `error` with BC's reason, the cursor moves, a company
//!   updated later is picked up by the next run and the failing one is retried by id (and linked
//!   once its data is fixed, although its `updatedAt` never moved);
//! * with `can_update_shopify_companies`, a changed BC customer linked to a company reaches
//!   Shopify once, and an unchanged one makes no mutation at all.
//! * with `by_tax_id` mapping, a company is linked to the BC customer with its tax registration id
//!   spelt differently (`gb 123 456 789` = `GB123456789`), a company whose id differs by one digit
//!   is created in BC once carrying its id (although its contact's e-mail is another customer's),
//!   and a company without one is left `unmapped` with the reason.
//!
//! The task rules are unit-tested in `shared/tasks/src/companies/`; here they are seen end to end.

use bc_sim::{BcSimConfig, SimCustomer};
use serde_json::Value;
use shopify_sim::{CompanyLocationSeed, CustomerAddressSeed, ShopCompanySeed, ShopCustomerSeed};
use shopsync_domain::TaskKind;
use shopsync_domain::companies::{COMPANIES, company_status};
use shopsync_domain::contact::email_key;
use shopsync_domain::job::{JobRecord, JobStatus, RunOptions};
use shopsync_domain::ports::{RecordStore, SettingsStore};
use shopsync_domain::settings::{CompanyMappingType, ImportScope, ShopSettings, TaskSettings};
use shopsync_e2e::faults::{
    duplicate_a_message, faults_off, faulty_stack, send_body, tick_and_deliver_twice_at_once,
};
use shopsync_e2e::jobs::{self, queue_manual_run, tick_and_drain, total};
use shopsync_e2e::{Stack, StackOptions, local_runtime, tick_at};
use shopsync_runtime::RuntimeConfig;
use shopsync_runtime::local::LocalRunner;
use shopsync_tasks::companies::counters as c;
use shopsync_tasks::companies::records::SHOPIFY_CURSOR;
use shopsync_tasks::orders::sync::CURSORS;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const DRAIN: Duration = Duration::from_secs(300);
const QUEUE: &str = "SyncCompaniesQueue";

fn quiet() -> RuntimeConfig {
    RuntimeConfig {
        metrics: shopsync_runtime::metrics::MetricsSink::Off,
        ..local_runtime()
    }
}

fn runner(stack: &Stack, runtime: RuntimeConfig) -> LocalRunner {
    stack
        .runner_for(TaskKind::SyncCompanies, QUEUE, runtime)
        .expect("the template has the sync-companies queue")
}

/// RFC 3339 (UTC, seconds) of the wall clock plus `secs`: a run's window ends at its start on the
/// wall clock, so companies are seeded against it.
fn wall(secs: i64) -> String {
    shopify_sim::format_time(shopsync_domain::time::now_secs() + secs)
}

/// A company with its main contact (`email` and/or `phone`) and one location with an address.
fn company(
    name: &str,
    email: Option<String>,
    phone: Option<String>,
    at: String,
) -> ShopCompanySeed {
    ShopCompanySeed {
        name: name.into(),
        main_contact: Some(ShopCustomerSeed {
            first_name: Some(name.split(' ').next().unwrap_or(name).into()),
            last_name: Some("Buyer".into()),
            email,
            phone,
            ..ShopCustomerSeed::default()
        }),
        locations: vec![CompanyLocationSeed {
            name: format!("{name} HQ"),
            tax_registration_id: Some("GB123456789".into()),
            billing_address: Some(CustomerAddressSeed {
                address1: Some("1 Market St".into()),
                city: Some("Leeds".into()),
                zip: Some("LS1 1AA".into()),
                country_code: Some("GB".into()),
                ..CustomerAddressSeed::default()
            }),
            ..CompanyLocationSeed::default()
        }],
        updated_at: Some(at),
        ..ShopCompanySeed::default()
    }
}

/// A shop that imports every company (`mapping`), creates the unknown ones and exports BC's
/// changes; BC has `known` customers, Shopify companies whose main contacts are those `known`
/// (spelled differently; every other one by phone only) and `new` more.
struct CompaniesShop {
    code: String,
    domain: String,
    bc: bc_sim::CompanyHandle,
    /// Shopify company id → its main contact's e-mail (normalised).
    shopify: BTreeMap<String, String>,
    /// Companies seeded besides those, which are not expected to be linked.
    others: usize,
}

async fn companies_shop(
    stack: &Stack,
    code: &str,
    known: usize,
    new: usize,
    mapping: CompanyMappingType,
) -> CompaniesShop {
    let demo = stack.seed_shop(code, 1).await.expect("seeded shop");
    let mut settings: ShopSettings = demo.settings.clone();
    settings.tasks.insert(
        TaskKind::SyncCompanies,
        TaskSettings {
            enabled: true,
            ..TaskSettings::default()
        },
    );
    settings.company_import_from_shopify = ImportScope::All;
    settings.company_mapping_type = mapping;
    settings.auto_create_unknown_companies = true;
    settings.can_update_shopify_companies = mapping == CompanyMappingType::ByEmailPhone;
    if mapping == CompanyMappingType::DefaultCompany {
        let mut default = SimCustomer::new("", "Default B2B Buyer", "b2b@example.com");
        default.customer_type = "Company".into();
        settings.default_company_no = Some(demo.company.add_customer(default));
    }
    stack.adapters.store.put_shop(&settings).await.unwrap();
    let store = stack.shopify.store(&demo.domain);
    let mut shopify = BTreeMap::new();
    for i in 0..known {
        let mut bc = SimCustomer::new(
            "",
            &format!("Known{i} Trading"),
            &format!("Known{i}@Example.COM"),
        );
        bc.phone_number = format!("+44 20 7946 {:04}", 1000 + i);
        demo.company.add_customer(bc);
        let by_phone = i % 2 == 1;
        let email = format!("known{i}@example.com");
        let seeded = store.add_company(company(
            &format!("Known{i} Co"),
            (!by_phone).then(|| email.clone()),
            Some(format!("+4420794{:05}", 61000 + i)),
            wall(-600 + i as i64),
        ));
        shopify.insert(seeded.id, email);
    }
    // A BC customer that merely shares a name token with a company's contact: not a match.
    demo.company
        .add_customer(SimCustomer::new("", "New0 Co", "someone.else@example.com"));
    for i in 0..new {
        let email = format!("new{i}@example.com");
        let seeded = store.add_company(company(
            &format!("New{i} Co"),
            Some(email.clone()),
            None,
            wall(-300 + i as i64),
        ));
        shopify.insert(seeded.id, email);
    }
    CompaniesShop {
        code: code.into(),
        domain: demo.domain,
        bc: demo.company,
        shopify,
        others: 0,
    }
}

async fn manual_run(stack: &Stack, runner: &LocalRunner, code: &str) -> JobRecord {
    let id = queue_manual_run(
        stack,
        runner,
        code,
        TaskKind::SyncCompanies,
        RunOptions::default(),
        DRAIN,
    )
    .await;
    jobs_of(stack, code)
        .await
        .into_iter()
        .find(|j| j.job_id == id)
        .expect("the manual run's job")
}

async fn jobs_of(stack: &Stack, code: &str) -> Vec<JobRecord> {
    jobs::jobs_of(stack, code, TaskKind::SyncCompanies).await
}

/// A company's record: its status and body.
async fn record(stack: &Stack, code: &str, company_id: &str) -> Option<(String, Value)> {
    let legacy = company_id.rsplit('/').next().unwrap();
    let r = stack
        .adapters
        .store
        .get_record(code, COMPANIES, legacy)
        .await
        .unwrap()?;
    Some((
        r.status.unwrap_or_default(),
        serde_json::from_str(&r.body).unwrap(),
    ))
}

/// Every way the shop is other than "each company linked to exactly one BC customer (by contact,
/// or the default one), no BC customer twice, no Shopify company made": empty when all is well.
async fn problems(
    stack: &Stack,
    shop: &CompaniesShop,
    bc_before: usize,
    default: Option<&str>,
) -> Vec<String> {
    let mut problems = Vec::new();
    let bc = shop.bc.customers();
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
    let new = shop
        .shopify
        .values()
        .filter(|e| !e.starts_with("known"))
        .count();
    let created = if default.is_some() { 0 } else { new };
    if bc.len() != bc_before + created {
        problems.push(format!(
            "BC holds {} customers, expected {bc_before} + {created} created",
            bc.len()
        ));
    }
    let shopify_now = stack.shopify.store(&shop.domain).shop_companies();
    if shopify_now.len() != shop.shopify.len() + shop.others {
        problems.push(format!(
            "Shopify holds {} companies, {} were seeded",
            shopify_now.len(),
            shop.shopify.len() + shop.others
        ));
    }
    for (id, email) in &shop.shopify {
        let Some((status, body)) = record(stack, &shop.code, id).await else {
            problems.push(format!("{id}: no record"));
            continue;
        };
        if status != company_status::LINKED {
            problems.push(format!("{id}: {status} {body}"));
            continue;
        }
        let number = body["bc_number"].as_str().unwrap_or_default();
        if let Some(default) = default {
            if number != default {
                problems.push(format!(
                    "{id}: linked to {number}, not the default {default}"
                ));
            }
            continue;
        }
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
async fn twenty_percent_faults_and_a_duplicate_delivery_create_no_company_twice() {
    let started = Instant::now();
    let runtime = RuntimeConfig {
        max_run: Some(Duration::from_millis(300)),
        ..quiet()
    };
    let stack = Stack::start(faulty_stack(0.2, 30_114, 30_114, runtime.clone()))
        .await
        .expect("local stack");
    let shop = companies_shop(&stack, "COMPFLT", 8, 12, CompanyMappingType::ByEmailPhone).await;
    let bc_before = shop.bc.customers().len();
    let runner = runner(&stack, runtime);

    // The schedule's message, delivered twice; then (should a job have used up its receives)
    // manual runs until every company is linked.
    let report = runner.tick(tick_at(0)).await;
    assert_eq!(report.queued.len(), 1, "{report:?}");
    duplicate_a_message(&stack, &runner.queue_url).await;
    runner.drain(DRAIN).await.expect("the queue drains");
    let mut manual = 0;
    while !problems(&stack, &shop, bc_before, None).await.is_empty() {
        manual += 1;
        assert!(
            manual <= 3,
            "{:#?}",
            problems(&stack, &shop, bc_before, None).await
        );
        manual_run(&stack, &runner, &shop.code).await;
    }
    assert!(
        stack.bc.stats().injected_faults > 0 && stack.shopify.stats().injected_faults > 0,
        "faults happened on both sides: BC {:?}, Shopify {:?}",
        stack.bc.stats().injected_faults,
        stack.shopify.stats().injected_faults
    );
    // Every linked company gets its export (the BC number as its location's externalId); a job
    // that failed before its export phase left it pending, which a run without faults sends.
    faults_off(&stack);
    let job = manual_run(&stack, &runner, &shop.code).await;
    assert_eq!(job.status, JobStatus::Succeeded, "{:?}", job.error);
    assert_eq!(
        job.counters.get(c::CREATED_IN_BC),
        0,
        "nothing left to create"
    );
    let jobs = jobs_of(&stack, &shop.code).await;
    assert!(total(&jobs, c::CREATED_IN_BC) >= 12, "{jobs:?}");
    let store = stack.shopify.store(&shop.domain);
    for co in store.shop_companies() {
        let (_, body) = record(&stack, &shop.code, &co.id).await.unwrap();
        assert_eq!(
            co.locations[0].location.external_id.as_deref(),
            body["bc_number"].as_str(),
            "{}",
            co.name
        );
    }
    let problems = problems(&stack, &shop, bc_before, None).await;
    assert!(problems.is_empty(), "{problems:#?}");
    eprintln!(
        "{} companies: {} BC faults, {} Shopify faults, {} manual run(s), {:?}",
        shop.shopify.len(),
        stack.bc.stats().injected_faults,
        stack.shopify.stats().injected_faults,
        manual,
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_delivery_at_once_creates_no_company_twice() {
    let stack = Stack::start(StackOptions {
        bc: BcSimConfig {
            latency: Duration::from_millis(30),
            ..BcSimConfig::default()
        },
        ..StackOptions::default()
    })
    .await
    .expect("local stack");
    let shop = companies_shop(&stack, "COMPDUP", 4, 6, CompanyMappingType::ByEmailPhone).await;
    let bc_before = shop.bc.customers().len();
    let first = runner(&stack, quiet());
    let second = runner(&stack, quiet());
    let body = tick_and_deliver_twice_at_once(&stack, &first, &second, DRAIN).await;
    let queue = first.queue_url.clone();

    let jobs = jobs_of(&stack, &shop.code).await;
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].status, JobStatus::Succeeded, "{:?}", jobs[0].error);
    assert_eq!(jobs[0].attempts, 1, "only one delivery may start the job");
    assert_eq!(jobs[0].counters.get(c::CREATED_IN_BC), 6);
    assert_eq!(jobs[0].counters.get(c::LINKED), 4);
    let problems = problems(&stack, &shop, bc_before, None).await;
    assert!(problems.is_empty(), "{problems:#?}");
    let posts = stack.bc.stats().requests_to("POST", "customers");
    assert_eq!(posts, 6, "no customer was sent twice");
    let exports = stack.shopify.stats().operation("CompanyExport");
    assert_eq!(exports, 10, "each linked company exported once");

    // A late duplicate of the finished job does nothing at all.
    send_body(&stack, &queue, &body).await;
    first.drain(DRAIN).await.unwrap();
    assert_eq!(stack.bc.stats().requests_to("POST", "customers"), posts);
    assert_eq!(stack.shopify.stats().operation("CompanyExport"), exports);
    assert!(stack.dead_letters().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_company_mapping_books_every_company_to_the_default_customer() {
    let stack = Stack::start(StackOptions::default())
        .await
        .expect("local stack");
    let shop = companies_shop(&stack, "COMPDEF", 2, 3, CompanyMappingType::DefaultCompany).await;
    let bc_before = shop.bc.customers().len();
    let settings = stack
        .adapters
        .store
        .get_shop(&shop.code)
        .await
        .unwrap()
        .unwrap();
    let default = settings.default_company_no.clone().unwrap();
    let runner = runner(&stack, quiet());
    tick_and_drain(&runner, 0, 1, DRAIN).await;
    let jobs = jobs_of(&stack, &shop.code).await;
    assert_eq!(jobs[0].status, JobStatus::Succeeded, "{:?}", jobs[0].error);
    assert_eq!(jobs[0].counters.get(c::LINKED), 5);
    let problems = problems(&stack, &shop, bc_before, Some(&default)).await;
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(stack.bc.stats().requests_to("POST", "customers"), 0);
    assert_eq!(stack.shopify.stats().mutation_calls, 0, "nothing exported");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_failing_company_never_aborts_the_run() {
    let stack = Stack::start(StackOptions::default())
        .await
        .expect("local stack");
    let mut shop = companies_shop(&stack, "COMPBAD", 1, 3, CompanyMappingType::ByEmailPhone).await;
    let store = stack.shopify.store(&shop.domain);
    // Between the others in update order, and before the next window's overlap (so that only the
    // retry pass reads it again): a main contact whose e-mail BC cannot hold (`E-Mail` is
    // `Text[80]`), so looking it up in BC and creating it are refused (by the BC client, before
    // anything is sent).
    let long = format!("{}@example.com", "a".repeat(80));
    let bad = store.add_company(company("Overlong Co", Some(long.clone()), None, wall(-450)));
    shop.others = 1;
    let bc_before = shop.bc.customers().len();
    let runner = runner(&stack, quiet());

    let before_run = wall(0);
    tick_and_drain(&runner, 0, 1, DRAIN).await;
    let job = jobs_of(&stack, &shop.code).await.remove(0);
    assert_eq!(job.status, JobStatus::Succeeded, "{:?}", job.error);
    assert_eq!(job.counters.get(c::FAILED), 1);
    assert_eq!(job.counters.get(c::CREATED_IN_BC), 3);
    let problems_now = problems(&stack, &shop, bc_before, None).await;
    assert!(
        problems_now.is_empty(),
        "the others are synced: {problems_now:#?}"
    );
    let (status, body) = record(&stack, &shop.code, &bad.id).await.unwrap();
    assert_eq!(status, company_status::ERROR, "{body}");
    let reason = body["error"].as_str().unwrap_or_default().to_string();
    assert!(
        reason.contains("e-mail address must be 1 to 80 characters"),
        "BC's reason: {reason}"
    );
    assert!(shop.bc.customers().iter().all(|b| b.email != long));
    let cursor = stack
        .adapters
        .store
        .get_record(&shop.code, CURSORS, SHOPIFY_CURSOR)
        .await
        .unwrap()
        .expect("the window's cursor moved");
    let cursor: Value = serde_json::from_str(&cursor.body).unwrap();
    let cursor = cursor["updated_at"].as_str().unwrap().to_string();
    assert!(
        cursor >= before_run && cursor > store.shop_company(&bad.id).unwrap().updated_at,
        "the cursor passed the failing company: {cursor}"
    );

    // A company updated after the run is read by the next one; the failing one is retried by id
    // (its `updatedAt` is long before the window) and fails again, recorded again.
    let later = store.add_company(company(
        "Later Co",
        Some("later@example.com".into()),
        None,
        wall(0),
    ));
    shop.shopify
        .insert(later.id.clone(), "later@example.com".into());
    let posts = stack.bc.stats().requests_to("POST", "customers");
    let job = manual_run(&stack, &runner, &shop.code).await;
    assert_eq!(job.status, JobStatus::Succeeded, "{:?}", job.error);
    assert_eq!(job.counters.get(c::RETRIED), 1, "{:?}", job.counters);
    assert_eq!(job.counters.get(c::FAILED), 1);
    assert_eq!(job.counters.get(c::CREATED_IN_BC), 1);
    assert_eq!(
        stack.bc.stats().requests_to("POST", "customers"),
        posts + 1,
        "the later company's; the failing one is refused again before it is sent"
    );
    assert_eq!(
        record(&stack, &shop.code, &later.id).await.unwrap().0,
        company_status::LINKED
    );
    assert_eq!(
        record(&stack, &shop.code, &bad.id).await.unwrap().0,
        company_status::ERROR
    );

    // Its contact's e-mail is fixed in Shopify without the company's `updatedAt` moving: only the
    // retry pass can see it, and it is created once.
    let fixed = "overlong@example.com".to_string();
    let at = store.shop_company(&bad.id).unwrap().updated_at;
    store.edit_company(&bad.id, Some(&at), |co| {
        co.main_contact.as_mut().unwrap().email = Some(fixed.clone());
    });
    shop.shopify.insert(bad.id.clone(), fixed.clone());
    shop.others = 0;
    let job = manual_run(&stack, &runner, &shop.code).await;
    assert_eq!(job.status, JobStatus::Succeeded, "{:?}", job.error);
    assert_eq!(job.counters.get(c::RETRIED), 1);
    assert_eq!(job.counters.get(c::CREATED_IN_BC), 1);
    let problems_now = problems(&stack, &shop, bc_before, None).await;
    assert!(problems_now.is_empty(), "{problems_now:#?}");
    let job = manual_run(&stack, &runner, &shop.code).await;
    assert_eq!(job.counters.get(c::RETRIED), 0, "nothing left to retry");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_bc_customer_reaches_its_company_once_and_an_unchanged_one_sends_nothing() {
    let stack = Stack::start(StackOptions::default())
        .await
        .expect("local stack");
    let shop = companies_shop(&stack, "COMPEXP", 3, 0, CompanyMappingType::ByEmailPhone).await;
    let bc_before = shop.bc.customers().len();
    let runner = runner(&stack, quiet());
    let exports = || stack.shopify.stats().operation("CompanyExport");
    let mutations = || stack.shopify.stats().mutation_calls;

    // The first run links the three and writes each one's BC number to its location, once.
    tick_and_drain(&runner, 0, 1, DRAIN).await;
    let problems_now = problems(&stack, &shop, bc_before, None).await;
    assert!(problems_now.is_empty(), "{problems_now:#?}");
    assert_eq!(exports(), 3);
    assert_eq!(mutations(), 3);
    let store = stack.shopify.store(&shop.domain);
    let linked: Vec<(String, String)> = {
        let mut v = Vec::new();
        for id in shop.shopify.keys() {
            let (_, body) = record(&stack, &shop.code, id).await.unwrap();
            v.push((id.clone(), body["bc_number"].as_str().unwrap().to_string()));
        }
        v
    };
    for (id, number) in &linked {
        let co = store.shop_company(id).unwrap();
        assert_eq!(
            co.locations[0].location.external_id.as_deref(),
            Some(number.as_str())
        );
        assert_eq!(
            co.locations[0]
                .location
                .phone
                .as_deref()
                .map(|p| p.replace(' ', "")),
            shop.bc
                .customer(number)
                .map(|b| b.phone_number.replace(' ', ""))
        );
    }

    // Nothing changed: no mutation at all.
    let job = manual_run(&stack, &runner, &shop.code).await;
    assert_eq!(job.status, JobStatus::Succeeded, "{:?}", job.error);
    assert_eq!(mutations(), 3, "an unchanged BC customer sends nothing");

    // One BC customer renamed: its company alone is updated, once.
    let (renamed_id, number) = linked[0].clone();
    let untouched = store.shop_company(&linked[1].0).unwrap();
    assert!(shop.bc.rename_customer(&number, "Renamed Trading Ltd"));
    let job = manual_run(&stack, &runner, &shop.code).await;
    assert_eq!(job.status, JobStatus::Succeeded, "{:?}", job.error);
    assert_eq!(job.counters.get(c::EXPORTED), 1, "{:?}", job.counters);
    assert_eq!(exports(), 4);
    assert_eq!(
        store.shop_company(&renamed_id).unwrap().name,
        "Renamed Trading Ltd"
    );
    assert_eq!(store.shop_company(&linked[1].0).unwrap(), untouched);

    // Our own change does not come back: neither as an import nor as another export.
    let job = manual_run(&stack, &runner, &shop.code).await;
    assert_eq!(job.status, JobStatus::Succeeded, "{:?}", job.error);
    assert_eq!(mutations(), 4, "the export is not repeated");
    assert_eq!(job.counters.get(c::CREATED_IN_BC), 0);
    assert_eq!(shop.bc.customers().len(), bc_before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn by_tax_id_links_the_same_id_and_creates_an_unknown_one_carrying_it() {
    let stack = Stack::start(StackOptions::default())
        .await
        .expect("local stack");
    let shop = companies_shop(&stack, "COMPTAX", 0, 0, CompanyMappingType::ByTaxId).await;
    let mut known = SimCustomer::new("", "Taxed Trading", "accounts@taxed.example");
    known.customer_type = "Company".into();
    known.tax_registration_number = "GB123456789".into();
    let known = shop.bc.add_customer(known);
    let store = stack.shopify.store(&shop.domain);
    let taxed = |name: &str, email: &str, tax_id: Option<&str>, at: String| {
        let mut seed = company(name, Some(email.into()), None, at);
        seed.locations[0].tax_registration_id = tax_id.map(String::from);
        seed
    };
    // Its contact's e-mail is no BC customer's: only the tax id matches.
    let same = store.add_company(taxed(
        "Taxed Co",
        "buyer@taxed.example",
        Some("gb 123 456 789"),
        wall(-300),
    ));
    // The known customer's e-mail, but another tax id: created.
    let other = store.add_company(taxed(
        "Other Co",
        "accounts@taxed.example",
        Some("GB12345678"),
        wall(-200),
    ));
    let untaxed = store.add_company(taxed("Untaxed Co", "x@untaxed.example", None, wall(-100)));
    let bc_before = shop.bc.customers().len();
    let runner = runner(&stack, quiet());
    tick_and_drain(&runner, 0, 1, DRAIN).await;
    let jobs = jobs_of(&stack, &shop.code).await;
    assert_eq!(jobs[0].status, JobStatus::Succeeded, "{:?}", jobs[0].error);

    let (status, body) = record(&stack, &shop.code, &same.id).await.unwrap();
    assert_eq!(status, company_status::LINKED, "{body}");
    assert_eq!(body["bc_number"].as_str(), Some(known.as_str()));
    let (status, body) = record(&stack, &shop.code, &other.id).await.unwrap();
    assert_eq!(status, company_status::LINKED, "{body}");
    let created = body["bc_number"].as_str().unwrap().to_string();
    assert_ne!(created, known);
    let created = shop.bc.customer(&created).expect("created in BC");
    assert_eq!(created.tax_registration_number, "GB12345678");
    let (status, body) = record(&stack, &shop.code, &untaxed.id).await.unwrap();
    assert_eq!(status, company_status::UNMAPPED, "{body}");
    assert_eq!(
        body["error"].as_str(),
        Some("the company has no tax registration id to match a BC customer by")
    );
    assert_eq!(shop.bc.customers().len(), bc_before + 1);
    assert_eq!(stack.bc.stats().requests_to("POST", "customers"), 1);

    // Another run creates nothing more.
    let job = manual_run(&stack, &runner, &shop.code).await;
    assert_eq!(job.status, JobStatus::Succeeded, "{:?}", job.error);
    assert_eq!(shop.bc.customers().len(), bc_before + 1);
    assert_eq!(stack.bc.stats().requests_to("POST", "customers"), 1);
}
