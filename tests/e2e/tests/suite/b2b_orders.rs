//! B2B orders through the real path (sync-orders, sync-companies and create-sales-orders on their own
//! queues, moto, both simulators): an order bought by a Shopify company is booked to the BC customer
//! that company is linked to — never to its buyer's own customer. A company sync-companies has not
//! seen yet is requested by the order import, imported by the next sync-companies run although the
//! shop imports companies only `with_order_import` and the company's `updatedAt` is older than the
//! window, and the order then gets its document from create-sales-orders, once.

use bc_sim::SimCustomer;
use serde_json::Value;
use shopify_sim::{
    CompanyLocationSeed, CustomerSeed, LineSeed, OrderSeed, ShopCompanySeed, ShopCustomerSeed,
};
use shopsync_domain::TaskKind;
use shopsync_domain::companies::{COMPANIES, company_status};
use shopsync_domain::job::{JobStatus, RunOptions};
use shopsync_domain::ports::{RecordStore, SettingsStore};
use shopsync_domain::settings::{ImportScope, TaskSettings};
use shopsync_e2e::jobs::{jobs_of, queue_manual_run};
use shopsync_e2e::orders_world::{documents_by_external_number, external_number};
use shopsync_e2e::{Stack, StackOptions, local_runtime};
use shopsync_tasks::orders::staged::{STAGED_ORDERS, order_status};
use std::time::Duration;

const DRAIN: Duration = Duration::from_secs(240);
const SHOP: &str = "B2BORD";

async fn run(stack: &Stack, task: TaskKind, queue: &str) {
    let runner = stack
        .runner_for(task, queue, local_runtime())
        .expect("the template has the task's queue");
    let id = queue_manual_run(stack, &runner, SHOP, task, RunOptions::default(), DRAIN).await;
    let job = jobs_of(stack, SHOP, task)
        .await
        .into_iter()
        .find(|j| j.job_id == id)
        .expect("the run's job");
    assert_eq!(job.status, JobStatus::Succeeded, "{task:?}: {job:?}");
}

async fn record(stack: &Stack, kind: &str, id: &str) -> Option<(String, Value)> {
    stack
        .adapters
        .store
        .get_record(SHOP, kind, id)
        .await
        .unwrap()
        .map(|r| {
            (
                r.status.unwrap_or_default(),
                serde_json::from_str(&r.body).unwrap(),
            )
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_b2b_order_waits_for_its_company_and_is_booked_to_the_company_s_bc_customer() {
    let stack = Stack::start(StackOptions::default()).await.unwrap();
    let demo = stack.seed_shop(SHOP, 10).await.expect("seeded shop");
    demo.company.add_gl_account("6130");
    // The buyer is a BC customer of their own: a B2B order must not land there.
    let buyer_no = demo.company.add_customer(SimCustomer::new(
        "",
        "Pat Purchaser",
        "pat@northwind.example",
    ));
    let mut settings = demo.settings.clone();
    for task in [
        TaskKind::SyncOrders,
        TaskKind::SyncCompanies,
        TaskKind::CreateSalesOrders,
    ] {
        settings.tasks.insert(
            task,
            TaskSettings {
                enabled: true,
                ..TaskSettings::default()
            },
        );
    }
    settings.shipping_charges_account = Some("6130".into());
    settings.customer_import_from_shopify = ImportScope::WithOrderImport;
    settings.company_import_from_shopify = ImportScope::WithOrderImport;
    settings.auto_create_unknown_companies = true;
    stack.adapters.store.put_shop(&settings).await.unwrap();

    let store = stack.shopify.store(&demo.domain);
    // Last changed long ago: no window of sync-companies would read it.
    let company = store.add_company(ShopCompanySeed {
        name: "Northwind B2B".into(),
        main_contact: Some(ShopCustomerSeed {
            first_name: Some("Pat".into()),
            last_name: Some("Purchaser".into()),
            email: Some("purchasing@northwind.example".into()),
            updated_at: Some("2024-01-01T00:00:00Z".into()),
            ..ShopCustomerSeed::default()
        }),
        locations: vec![CompanyLocationSeed {
            name: "Northwind HQ".into(),
            ..CompanyLocationSeed::default()
        }],
        updated_at: Some("2024-01-01T00:00:00Z".into()),
        ..ShopCompanySeed::default()
    });
    let at = shopify_sim::format_time(shopsync_domain::time::now_secs() - 120);
    let order = store.add_order(
        OrderSeed {
            email: Some("pat@northwind.example".into()),
            customer: Some(CustomerSeed {
                first_name: Some("Pat".into()),
                last_name: Some("Purchaser".into()),
                email: Some("pat@northwind.example".into()),
                phone: None,
            }),
            company: Some(("Northwind B2B".into(), "Northwind HQ".into())),
            lines: vec![LineSeed::new(&format!("{SHOP}-000001"), 2, "10.00")],
            ..OrderSeed::with_lines(0)
        }
        .created_at(&at)
        .updated_at(&at),
    );

    // 1. The order import names the company it does not know: the order waits, the company is
    //    requested.
    run(&stack, TaskKind::SyncOrders, "SyncOrdersQueue").await;
    let (status, staged) = record(&stack, STAGED_ORDERS, &order.id).await.unwrap();
    assert_eq!(status, order_status::UNPROCESSED);
    assert!(staged["customer_no"].is_null(), "{staged}");
    let reason = staged["customer_error"].as_str().unwrap_or_default();
    assert!(reason.contains("not imported yet"), "{staged}");
    let legacy = company.id.rsplit('/').next().unwrap();
    let (status, _) = record(&stack, COMPANIES, legacy).await.expect("requested");
    assert_eq!(status, company_status::REQUESTED);
    assert!(documents_by_external_number(&demo.company).is_empty());

    // 2. sync-companies imports it (created in BC: no customer has its main contact's e-mail).
    run(&stack, TaskKind::SyncCompanies, "SyncCompaniesQueue").await;
    let (status, body) = record(&stack, COMPANIES, legacy).await.unwrap();
    assert_eq!(status, company_status::LINKED, "{body}");
    let company_no = body["bc_number"].as_str().unwrap().to_string();
    assert_ne!(company_no, buyer_no);
    let made: Vec<_> = demo
        .company
        .customers()
        .into_iter()
        .filter(|c| c.email == "purchasing@northwind.example")
        .collect();
    assert_eq!(made.len(), 1, "one BC customer for the company");
    assert_eq!(made[0].number, company_no);

    // 3. create-sales-orders maps the order to the company's customer and makes its document; a
    //    second run makes nothing more.
    run(
        &stack,
        TaskKind::CreateSalesOrders,
        "CreateSalesOrdersQueue",
    )
    .await;
    run(
        &stack,
        TaskKind::CreateSalesOrders,
        "CreateSalesOrdersQueue",
    )
    .await;
    let documents = documents_by_external_number(&demo.company);
    let docs = documents
        .get(&external_number(&order.name))
        .expect("the order's document");
    assert_eq!(docs.len(), 1, "one document");
    assert_eq!(docs[0].customer_number, company_no);
    let (status, staged) = record(&stack, STAGED_ORDERS, &order.id).await.unwrap();
    assert_eq!(status, order_status::PROCESSED, "{staged}");
}
