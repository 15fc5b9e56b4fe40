//! `sync-orders` through the real path: the scheduled fan-out, the task queue on moto, the worker,
//! DynamoDB and the Shopify and BC simulators over HTTP. The staging rules themselves are unit-tested
//! in `shared/tasks/src/orders/tests.rs`; here they are seen end to end: orders are staged with their
//! customer and lines mapped, a closed new order is not imported, a BC customer whose creation answer
//! is lost is found by the probe on the retry and made once, and the next run stages only what
//! changed.

use bc_sim::{BcFault, BcFaultRule, SimCustomer};
use shopify_sim::{CustomerSeed, OrderSeed};
use shopsync_domain::TaskKind;
use shopsync_domain::job::JobStatus;
use shopsync_domain::ports::{RecordStore, SettingsStore};
use shopsync_domain::settings::TaskSettings;
use shopsync_domain::staging::{STAGED_ORDERS, order_status};
use shopsync_e2e::{ORDERS_QUEUE, Stack, StackOptions, local_runtime, tick_at};
use std::time::Duration;

const DRAIN: Duration = Duration::from_secs(240);

/// RFC 3339 (UTC, seconds) of the wall clock plus `secs`: the window's end is the run's start on the
/// wall clock, so orders are seeded against it.
fn wall(secs: i64) -> String {
    shopify_sim::format_time(shopsync_domain::time::now_secs() + secs)
}

fn bought_by(seed: OrderSeed, email: &str, first_name: &str) -> OrderSeed {
    OrderSeed {
        email: Some(email.into()),
        customer: Some(CustomerSeed {
            first_name: Some(first_name.into()),
            last_name: Some("Buyer".into()),
            email: Some(email.into()),
            phone: None,
        }),
        ..seed
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_are_staged_mapped_and_a_customer_whose_answer_was_lost_is_made_once() {
    let stack = Stack::start(StackOptions::default())
        .await
        .expect("local stack");
    let shop = stack.seed_shop("ORD", 2).await.unwrap();
    let mut settings = shop.settings.clone();
    settings.tasks.insert(
        TaskKind::SyncOrders,
        TaskSettings {
            enabled: true,
            ..TaskSettings::default()
        },
    );
    settings.auto_create_unknown_customers = true;
    stack.adapters.store.put_shop(&settings).await.unwrap();

    // Ada is a BC customer already; Bob is not (two orders); one order is closed already.
    let known = shop
        .company
        .add_customer(SimCustomer::new("", "Ada Buyer", "ada@example.com"));
    let store = stack.shopify.store(&shop.domain);
    let at = wall(-20 * 60);
    let ada = store.add_order(
        bought_by(OrderSeed::with_lines(2), "ada@example.com", "Ada")
            .created_at(&at)
            .updated_at(&at),
    );
    let bob: Vec<_> = (0..2)
        .map(|i| {
            let at = wall(-19 * 60 + i);
            store.add_order(
                bought_by(OrderSeed::with_lines(1), "bob@example.com", "Bob")
                    .created_at(&at)
                    .updated_at(&at),
            )
        })
        .collect();
    let closed = store.add_order(OrderSeed {
        closed: true,
        ..OrderSeed::with_lines(1).created_at(&at).updated_at(&at)
    });
    // BC creates Bob, and the answer is lost on the way back.
    stack
        .bc
        .add_fault_rule(BcFaultRule::new(BcFault::DropAfterApply).on("POST", "customers"));

    let runner = stack
        .runner_for(TaskKind::SyncOrders, ORDERS_QUEUE, local_runtime())
        .unwrap();
    let report = runner.tick(tick_at(0)).await;
    assert_eq!(report.queued.len(), 1, "{report:?}");
    runner.drain(DRAIN).await.unwrap();

    let jobs = stack.jobs("ORD").await;
    let job = jobs
        .iter()
        .find(|j| j.task == TaskKind::SyncOrders)
        .expect("a sync-orders job");
    assert_eq!(job.status, JobStatus::Succeeded, "{:?}", job.error);
    assert!(
        job.attempts >= 2,
        "the lost answer made the first attempt fail"
    );
    assert_eq!(job.counters.get("orders_staged"), 3, "{:?}", job.counters);
    assert_eq!(
        job.counters.get("orders_skipped_closed"),
        0,
        "first sync: open orders only"
    );
    assert_eq!(
        job.counters.get("effects_found_by_probe"),
        1,
        "{:?}",
        job.counters
    );
    assert_eq!(stack.bc.pending_fault_rules(), 0, "the fault fired");

    let bobs: Vec<_> = shop
        .company
        .customers()
        .into_iter()
        .filter(|c| c.email == "bob@example.com")
        .collect();
    assert_eq!(bobs.len(), 1, "one customer for Bob, not two: {bobs:?}");

    let records = stack.adapters.store.clone();
    let staged = |id: &str| {
        let records = records.clone();
        let id = id.to_string();
        async move {
            let r = records
                .get_record("ORD", STAGED_ORDERS, &id)
                .await
                .unwrap()
                .expect("staged");
            let body: serde_json::Value = serde_json::from_str(&r.body).unwrap();
            (r.status, body)
        }
    };
    let (status, body) = staged(&ada.id).await;
    assert_eq!(status.as_deref(), Some(order_status::UNPROCESSED));
    assert_eq!(body["customer_no"], known.as_str());
    assert_eq!(body["mapped"], true, "{body}");
    assert_eq!(body["lines"][0]["item_no"], "SKU-0001");
    assert_eq!(body["name"], ada.name.as_str());
    for o in &bob {
        let (_, body) = staged(&o.id).await;
        assert_eq!(body["customer_no"], bobs[0].number.as_str(), "{body}");
        assert_eq!(body["mapped"], true, "{body}");
    }
    assert!(
        records
            .get_record("ORD", STAGED_ORDERS, &closed.id)
            .await
            .unwrap()
            .is_none(),
        "a closed order is not imported on the first sync"
    );
    assert_eq!(
        records
            .count_by_status("ORD", STAGED_ORDERS, order_status::UNPROCESSED)
            .await
            .unwrap(),
        3
    );

    // The next run: Ada's order changed; a new order arrives closed. Only Ada's order is written.
    store.touch_order(&ada.id, &wall(-60));
    let late = wall(-30);
    let closed_new = store.add_order(OrderSeed {
        closed: true,
        ..OrderSeed::with_lines(1).created_at(&late).updated_at(&late)
    });
    runner.tick(tick_at(15)).await;
    runner.drain(DRAIN).await.unwrap();
    let jobs = stack.jobs("ORD").await;
    let second = jobs
        .iter()
        .filter(|j| j.task == TaskKind::SyncOrders)
        .find(|j| j.job_id != job.job_id)
        .expect("a second sync-orders job");
    assert_eq!(second.status, JobStatus::Succeeded, "{:?}", second.error);
    assert_eq!(
        second.counters.get("orders_restaged"),
        1,
        "{:?}",
        second.counters
    );
    assert_eq!(
        second.counters.get("orders_staged"),
        0,
        "{:?}",
        second.counters
    );
    assert_eq!(
        second.counters.get("orders_skipped_closed"),
        1,
        "{:?}",
        second.counters
    );
    assert_eq!(second.counters.get("bc_customers_created"), 0);
    assert!(
        records
            .get_record("ORD", STAGED_ORDERS, &closed_new.id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(stack.dead_letters().await.is_empty());
}
