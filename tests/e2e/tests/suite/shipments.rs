//! `sync-shipments` through the real path: the scheduled fan-out, a task queue on moto, the worker,
//! DynamoDB and the Shopify and BC simulators over HTTP. The rules themselves are unit-tested in
//! `shared/tasks/src/shipments/`; here they are seen end to end: a posted BC shipment of a Shopify
//! order becomes one fulfillment with its tracking and the shop's shipping-confirmation setting, and
//! a re-run makes none; a `fulfillmentCreate` applied by Shopify whose answer is lost is found by the
//! probe — on the job's retry, and by the next job when the first one died for good — and never made
//! twice; a shipment of more than 250 lines becomes two fulfillments.
//!
//! The shipments' orders are staged and linked to their BC documents directly in the record store
//! (what sync-orders and create-sales-orders leave behind), and the BC sales order is made through
//! the BC client, so the shipment is posted from a real document.

use bc_sim::SimCustomer;
use shopify_sim::{FaultKind, LineSeed, OrderSeed, SeededOrder};
use shopsync_domain::TaskKind;
use shopsync_domain::job::{JobRecord, JobStatus};
use shopsync_domain::orders::ShopifyOrder;
use shopsync_domain::ports::{Record, RecordStore, SettingsStore};
use shopsync_domain::sales::{
    Decimal, SalesDocumentDraft, SalesDocumentKind, SalesLineDraft, to_code,
};
use shopsync_domain::settings::{ShopSettings, TaskSettings};
use shopsync_domain::staging::{
    ORDER_DOCUMENTS, OrderDocumentLink, SHIPMENTS, STAGED_ORDERS, shipment_status,
};
use shopsync_e2e::{Stack, StackOptions, local_runtime, tick_at};
use shopsync_runtime::RuntimeConfig;
use shopsync_runtime::local::LocalRunner;
use shopsync_tasks::engine::clients::ClientFactory;
use shopsync_tasks::engine::{ClientSource, ShopClients};
use shopsync_tasks::orders::mapping::map_lines;
use shopsync_tasks::orders::staged::StagedOrder;
use std::time::Duration;

const DRAIN: Duration = Duration::from_secs(240);
const TRACKING_PAGE: &str = "ShopsyncShipmentTracking";

/// sync-shipments on its own queue, wired by the registry as in production.
fn shipments_runner(stack: &Stack, runtime: RuntimeConfig) -> LocalRunner {
    stack
        .runner_for(TaskKind::SyncShipments, "SyncShipmentsQueue", runtime)
        .expect("the template has the sync-shipments queue")
}

/// A shop with sync-shipments enabled, a published tracking page and a BC customer to sell to.
struct Shop {
    code: String,
    settings: ShopSettings,
    domain: String,
    company: bc_sim::CompanyHandle,
    clients: ShopClients,
    customer: String,
}

/// A Shopify order made into a BC sales order.
struct Sold {
    seeded: SeededOrder,
    order: ShopifyOrder,
    document: String,
}

async fn shop(stack: &Stack, code: &str, items: usize) -> Shop {
    let demo = stack.seed_shop(code, items).await.expect("seeded shop");
    let mut settings = demo.settings.clone();
    settings.tasks.insert(
        TaskKind::SyncShipments,
        TaskSettings {
            enabled: true,
            ..TaskSettings::default()
        },
    );
    settings.send_shipping_confirmation = true;
    settings.shipment_tracking_page = Some(TRACKING_PAGE.into());
    stack.adapters.store.put_shop(&settings).await.unwrap();
    demo.company.publish_tracking_page(TRACKING_PAGE);
    let customer = demo
        .company
        .add_customer(SimCustomer::new("", "Ada Buyer", "ada@example.com"));
    let clients = ClientFactory::new(stack.adapters.secrets.clone(), stack.endpoints.clone())
        .clients(&settings)
        .await
        .expect("clients");
    Shop {
        code: code.into(),
        settings,
        domain: demo.domain,
        company: demo.company,
        clients,
        customer,
    }
}

impl Shop {
    fn sku(&self, i: usize) -> String {
        format!("{}-{i:06}", self.code)
    }

    /// A BC sales order with these (item index, quantity) lines and external document number
    /// `external`.
    async fn bc_order(&self, external: &str, lines: &[(usize, i64)]) -> String {
        let draft = SalesDocumentDraft {
            kind: SalesDocumentKind::Order,
            customer_number: self.customer.clone(),
            external_document_number: external.into(),
            currency_code: None,
            document_date: "2026-05-01".into(),
            email: None,
            phone_number: None,
            bill_to: None,
            ship_to: None,
            lines: lines
                .iter()
                .map(|(i, q)| SalesLineDraft {
                    item_number: self.sku(*i),
                    variant_code: None,
                    description: None,
                    quantity: Decimal::parse(&q.to_string()).unwrap(),
                    unit_price: Decimal::parse("10").unwrap(),
                    discount_amount: None,
                })
                .collect(),
            shipping_charge: None,
            invoice_discount_amount: None,
        };
        let made = self.clients.bc.create_sales_document(&draft).await;
        made.expect("a BC sales order").number
    }

    /// A Shopify order of these (item index, quantity) lines, staged and made into a BC sales order
    /// with its link, as sync-orders and create-sales-orders leave it.
    async fn sell(&self, stack: &Stack, lines: &[(usize, i64)]) -> Sold {
        let seed = OrderSeed {
            lines: lines
                .iter()
                .map(|(i, q)| LineSeed::new(&self.sku(*i), *q, "10.00"))
                .collect(),
            ..OrderSeed::with_lines(0)
        };
        let seeded = stack.shopify.store(&self.domain).add_order(seed);
        let order = self
            .clients
            .shopify
            .order(&seeded.id)
            .await
            .unwrap()
            .unwrap();
        let records = &stack.adapters.store;
        let mut staged = StagedOrder::new(
            &order,
            map_lines(&self.settings, &order, &Default::default()),
        );
        let staged = Record::new(order.id.clone(), None, staged.to_body().unwrap());
        records
            .put_records(&self.code, STAGED_ORDERS, &[staged])
            .await
            .unwrap();
        let document = self.bc_order(&order.name, lines).await;
        let link = OrderDocumentLink {
            order_id: order.id.clone(),
            name: order.name.clone(),
            kind: SalesDocumentKind::Order,
            number: document.clone(),
            document_id: format!("doc-{document}"),
        };
        let link = Record::new(
            to_code(&order.name),
            None,
            serde_json::to_string(&link).unwrap(),
        );
        records
            .put_records(&self.code, ORDER_DOCUMENTS, &[link])
            .await
            .unwrap();
        Sold {
            seeded,
            order,
            document,
        }
    }

    /// Post a shipment of everything outstanding on BC order `document`.
    fn ship(&self, document: &str) -> String {
        self.company.post_shipment(document, &[]).expect("posted")
    }
}

/// The shipment record of the shipment numbered `number`: (status, body).
async fn shipment(stack: &Stack, shop: &Shop, number: &str) -> (Option<String>, serde_json::Value) {
    let id = shop
        .company
        .shipments()
        .into_iter()
        .find(|s| s.number == number)
        .expect("a posted shipment")
        .id;
    let record = stack
        .adapters
        .store
        .get_record(&shop.code, SHIPMENTS, &id)
        .await
        .unwrap()
        .expect("a shipment record");
    (record.status, serde_json::from_str(&record.body).unwrap())
}

/// Run one scheduled tick of `runner` to the end and return the job it made.
async fn run(stack: &Stack, shop: &Shop, runner: &LocalRunner, minutes: i64) -> JobRecord {
    let report = runner.tick(tick_at(minutes)).await;
    assert_eq!(report.queued.len(), 1, "{report:?}");
    runner.drain(DRAIN).await.unwrap();
    let job_id = report.queued[0].1.clone();
    stack
        .jobs(&shop.code)
        .await
        .into_iter()
        .find(|j| j.job_id == job_id)
        .expect("the job")
}

/// The job's counters named in `expected` have these values.
fn counts(job: &JobRecord, expected: &[(&str, u64)]) {
    for (name, value) in expected {
        assert_eq!(job.counters.get(name), *value, "{name}: {:?}", job.counters);
    }
}

fn succeeded(job: &JobRecord) {
    assert_eq!(job.task, TaskKind::SyncShipments);
    assert_eq!(job.status, JobStatus::Succeeded, "{:?}", job.error);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_posted_shipment_is_fulfilled_once_with_tracking_and_a_rerun_does_nothing() {
    let stack = Stack::start(StackOptions::default())
        .await
        .expect("local stack");
    let shop = shop(&stack, "SHP", 3).await;
    let sold = shop.sell(&stack, &[(0, 2), (1, 1)]).await;
    let number = shop.ship(&sold.document);
    shop.company
        .set_shipment_tracking(
            &number,
            "1Z999AA1",
            "UPS",
            "UPS",
            "https://ups.example/1Z999AA1",
        )
        .unwrap();
    // A BC order that is not a Shopify order's: its shipment is left alone.
    let manual = shop.bc_order("PHONE-ORDER-7", &[(2, 1)]).await;
    let manual_shipment = shop.ship(&manual);

    let runner = shipments_runner(&stack, local_runtime());
    let job = run(&stack, &shop, &runner, 0).await;
    succeeded(&job);
    counts(
        &job,
        &[
            ("shipments_fulfilled", 1),
            ("fulfillments_created", 1),
            ("shipments_not_shopify", 1),
        ],
    );

    let store = stack.shopify.store(&shop.domain);
    let made = store.fulfillments(&sold.order.id);
    assert_eq!(made.len(), 1, "{made:?}");
    let f = &made[0];
    assert_eq!(
        f.lines,
        vec![
            (sold.seeded.line_item_ids[0].clone(), 2),
            (sold.seeded.line_item_ids[1].clone(), 1)
        ]
    );
    assert_eq!(f.tracking_number.as_deref(), Some("1Z999AA1"));
    assert_eq!(f.tracking_company.as_deref(), Some("UPS"));
    assert!(f.notify_customer, "send_shipping_confirmation is on");
    let (status, body) = shipment(&stack, &shop, &number).await;
    assert_eq!(status.as_deref(), Some(shipment_status::FULFILLED));
    assert_eq!(body["name"], number.as_str());
    assert_eq!(
        body["requests"][0]["result"]["fulfillment_id"],
        f.id.as_str()
    );
    let ids: Vec<String> = shop
        .company
        .shipments()
        .into_iter()
        .filter(|s| s.number == manual_shipment)
        .map(|s| s.id)
        .collect();
    let others = stack
        .adapters
        .store
        .get_records(&shop.code, SHIPMENTS, &ids)
        .await
        .unwrap();
    assert!(
        others.is_empty(),
        "no record for a shipment of no Shopify order"
    );

    // The next run reads the shipment again (the cursor is rewound) and sends nothing.
    let again = run(&stack, &shop, &runner, 60).await;
    succeeded(&again);
    counts(
        &again,
        &[("shipments_already_synced", 1), ("fulfillments_created", 0)],
    );
    assert_eq!(store.fulfillments(&sold.order.id).len(), 1);
    assert!(stack.dead_letters().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fulfillment_whose_answer_was_lost_is_found_by_the_probe_and_not_made_twice() {
    let stack = Stack::start(StackOptions::default())
        .await
        .expect("local stack");
    let shop = shop(&stack, "LOST", 2).await;
    let store = stack.shopify.store(&shop.domain);

    // The job's retry probes and finds the fulfillment Shopify made.
    let first = shop.sell(&stack, &[(0, 1), (1, 3)]).await;
    let number = shop.ship(&first.document);
    stack
        .shopify
        .script_fault(FaultKind::DropAfterApply, Some("fulfillmentCreate"), 1);
    let runner = shipments_runner(&stack, local_runtime());
    let job = run(&stack, &shop, &runner, 0).await;
    succeeded(&job);
    assert!(
        job.attempts >= 2,
        "the lost answer failed the first attempt"
    );
    counts(
        &job,
        &[
            ("effects_found_by_probe", 1),
            ("fulfillments_found_by_probe", 1),
        ],
    );
    assert_eq!(store.fulfillments(&first.order.id).len(), 1, "made once");
    let (status, _) = shipment(&stack, &shop, &number).await;
    assert_eq!(status.as_deref(), Some(shipment_status::FULFILLED));

    // A job that gives up after the lost answer (one receive allowed) dies for good; the next job
    // plans the shipment again, probes before sending, and finds it.
    let second = shop.sell(&stack, &[(1, 2)]).await;
    let number = shop.ship(&second.document);
    stack
        .shopify
        .script_fault(FaultKind::DropAfterApply, Some("fulfillmentCreate"), 1);
    let impatient = shipments_runner(
        &stack,
        RuntimeConfig {
            max_receive_count: 1,
            ..local_runtime()
        },
    );
    let died = run(&stack, &shop, &impatient, 60).await;
    assert_eq!(died.status, JobStatus::Failed, "{died:?}");
    assert_eq!(
        store.fulfillments(&second.order.id).len(),
        1,
        "Shopify made it"
    );
    let (status, body) = shipment(&stack, &shop, &number).await;
    assert_eq!(status.as_deref(), Some(shipment_status::NOT_SYNCED));
    assert_eq!(body["requests"][0]["result"]["state"], "pending");

    let next = run(&stack, &shop, &runner, 120).await;
    succeeded(&next);
    counts(
        &next,
        &[
            ("shipments_resumed", 1),
            ("fulfillments_found_by_probe", 1),
            ("fulfillments_created", 0),
        ],
    );
    assert_eq!(
        store.fulfillments(&second.order.id).len(),
        1,
        "not made twice"
    );
    let (status, _) = shipment(&stack, &shop, &number).await;
    assert_eq!(status.as_deref(), Some(shipment_status::FULFILLED));
    assert_eq!(stack.dead_letters().await.len(), 1, "the job that died");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shipment_of_more_than_250_lines_becomes_two_fulfillments() {
    let stack = Stack::start(StackOptions::default())
        .await
        .expect("local stack");
    let shop = shop(&stack, "BIG", 260).await;
    let lines: Vec<(usize, i64)> = (0..260).map(|i| (i, 1)).collect();
    let sold = shop.sell(&stack, &lines).await;
    let number = shop.ship(&sold.document);
    let runner = shipments_runner(&stack, local_runtime());
    let job = run(&stack, &shop, &runner, 0).await;
    succeeded(&job);
    counts(&job, &[("fulfillments_created", 2)]);
    let made = stack
        .shopify
        .store(&shop.domain)
        .fulfillments(&sold.order.id);
    let sizes: Vec<usize> = made.iter().map(|f| f.lines.len()).collect();
    assert_eq!(sizes, vec![250, 10]);
    let (status, body) = shipment(&stack, &shop, &number).await;
    assert_eq!(status.as_deref(), Some(shipment_status::FULFILLED));
    assert_eq!(body["requests"].as_array().map(Vec::len), Some(2));
}
