//! `sync-payments` through the real path: the scheduled fan-out, a task queue on moto, the worker,
//! DynamoDB and the Shopify simulator over HTTP. The refresh rules are unit-tested in
//! `shared/tasks/src/payments/tests.rs` (the simulator cannot change a payout's status or a
//! transaction's payout after seeding); here they are seen end to end: the first run stores every
//! payout and balance transaction across pages, a run with nothing new writes nothing and reads only
//! the open payouts and transactions again, and new ones after the cursors are added.
//!
//! The task runs on its own queue, wired by the registry as in production.

use shopify_sim::{BalanceTransactionSeed, OrderSeed, PayoutSeed};
use shopsync_domain::TaskKind;
use shopsync_domain::job::{JobCounters, JobStatus};
use shopsync_domain::ports::{Record, RecordStore, SettingsStore};
use shopsync_domain::settings::TaskSettings;
use shopsync_domain::staging::{BALANCE_TRANSACTIONS, PAYOUTS};
use shopsync_e2e::{Stack, StackOptions, local_runtime, tick_at};
use shopsync_runtime::local::LocalRunner;
use shopsync_tasks::payments::counters as c;
use shopsync_tasks::payments::cursors::{CURSORS, PAYOUTS_CURSOR, TRANSACTIONS_CURSOR};
use shopsync_tasks::payments::stored::{payout_record_id, payout_status, transaction_status};
use std::time::Duration;

const DRAIN: Duration = Duration::from_secs(240);
const SHOP: &str = "PAY";
/// 2026-01-01T00:00:00Z.
const BASE: i64 = 1_767_225_600;

/// sync-payments on its own queue, wired by the registry as in production.
fn payments_runner(stack: &Stack) -> LocalRunner {
    stack
        .runner_for(TaskKind::SyncPayments, "SyncPaymentsQueue", local_runtime())
        .expect("the template has the sync-payments queue")
}

fn payout_seed(day: i64, status: &str, net: &str) -> PayoutSeed {
    PayoutSeed {
        issued_at: shopify_sim::format_time(BASE + day * 86_400),
        status: status.into(),
        net: net.into(),
        charges_gross: "120.00".into(),
        charges_fee: "3.40".into(),
    }
}

fn transaction_seed(hour: i64, order: &str, payout: Option<&String>) -> BalanceTransactionSeed {
    BalanceTransactionSeed {
        processed_at: shopify_sim::format_time(BASE + hour * 3_600),
        transaction_type: "CHARGE".into(),
        amount: "25.00".into(),
        fee: "0.98".into(),
        order_id: Some(order.into()),
        payout_id: payout.cloned(),
    }
}

/// One scheduled run at `minutes`, to the end; its job's counters. `seen`: the ids of the jobs of
/// the runs before (this run's is added).
async fn run(
    stack: &Stack,
    runner: &LocalRunner,
    minutes: i64,
    seen: &mut Vec<String>,
) -> JobCounters {
    let report = runner.tick(tick_at(minutes)).await;
    assert_eq!(report.queued.len(), 1, "{report:?}");
    runner.drain(DRAIN).await.unwrap();
    let jobs: Vec<_> = stack
        .jobs(SHOP)
        .await
        .into_iter()
        .filter(|j| j.task == TaskKind::SyncPayments && !seen.contains(&j.job_id))
        .collect();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    let job = &jobs[0];
    assert_eq!(job.status, JobStatus::Succeeded, "{:?}", job.error);
    seen.push(job.job_id.clone());
    job.counters.clone()
}

async fn record(stack: &Stack, kind: &str, id: &str) -> Record {
    stack
        .adapters
        .store
        .get_record(SHOP, kind, id)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no {kind} record {id}"))
}

async fn count(stack: &Stack, kind: &str, status: &str) -> u64 {
    stack
        .adapters
        .store
        .count_by_status(SHOP, kind, status)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payouts_and_balance_transactions_are_stored_page_by_page_and_only_changes_are_written() {
    let stack = Stack::start(StackOptions::default())
        .await
        .expect("local stack");
    let shop = stack.seed_shop(SHOP, 1).await.unwrap();
    let mut settings = shop.settings.clone();
    settings.tasks.insert(
        TaskKind::SyncPayments,
        TaskSettings {
            enabled: true,
            ..TaskSettings::default()
        },
    );
    stack.adapters.store.put_shop(&settings).await.unwrap();

    // 130 payouts (two pages of 100), the last 5 still scheduled; 150 transactions (two pages), the
    // last 20 not paid out yet.
    let store = stack.shopify.store(&shop.domain);
    let order = store.add_order(OrderSeed::with_lines(1));
    let payouts: Vec<(String, u64)> = (0..130)
        .map(|i| {
            let status = if i < 125 { "PAID" } else { "SCHEDULED" };
            store.add_payout(payout_seed(i, status, &format!("{}.50", 100 + i)))
        })
        .collect();
    for i in 0..150 {
        let payout = (i < 130).then(|| &payouts[(i % 125) as usize].0);
        store.add_balance_transaction(transaction_seed(i, &order.id, payout));
    }

    let runner = payments_runner(&stack);
    let mut seen = Vec::new();
    let first = run(&stack, &runner, 0, &mut seen).await;
    assert_eq!(first.get(c::PAYOUT_PAGES_READ), 2, "{first:?}");
    assert_eq!(first.get(c::PAYOUTS_STORED), 130, "{first:?}");
    assert_eq!(first.get(c::TRANSACTION_PAGES_READ), 2, "{first:?}");
    assert_eq!(first.get(c::TRANSACTIONS_STORED), 150, "{first:?}");

    let (gid, legacy) = &payouts[0];
    let paid = record(&stack, PAYOUTS, &payout_record_id(*legacy)).await;
    assert_eq!(paid.status.as_deref(), Some(payout_status::PAID));
    let body: serde_json::Value = serde_json::from_str(&paid.body).unwrap();
    assert_eq!(body["id"], gid.as_str());
    assert_eq!(
        body["net"]["amount"], "100.5",
        "the decimal text Shopify gave"
    );
    assert_eq!(body["net"]["currency"], "EUR");
    assert_eq!(body["summary"]["charges_fee"]["amount"], "3.4");
    assert_eq!(body["issued_at"], "2026-01-01T00:00:00Z");
    assert_eq!(count(&stack, PAYOUTS, payout_status::PAID).await, 125);
    assert_eq!(count(&stack, PAYOUTS, payout_status::SCHEDULED).await, 5);
    assert_eq!(
        count(&stack, BALANCE_TRANSACTIONS, transaction_status::NO_PAYOUT).await,
        20
    );
    let listed = stack
        .adapters
        .store
        .list_records(SHOP, BALANCE_TRANSACTIONS, None, 1)
        .await
        .unwrap();
    let tx: serde_json::Value = serde_json::from_str(&listed.records[0].body).unwrap();
    assert_eq!(tx["order_id"], order.id.as_str(), "{tx}");
    assert_eq!(tx["order_name"], order.name.as_str());
    assert_eq!(tx["net"]["amount"], "24.02");
    assert!(tx["name"].as_str().unwrap().contains(&order.name), "{tx}");

    let cursor_versions = async || {
        let mut v = Vec::new();
        for id in [PAYOUTS_CURSOR, TRANSACTIONS_CURSOR] {
            v.push(record(&stack, CURSORS, id).await.version);
        }
        v.push(
            record(&stack, PAYOUTS, &payout_record_id(payouts[129].1))
                .await
                .version,
        );
        v
    };
    let before = cursor_versions().await;

    // Nothing new: the scheduled payouts and the transactions without a payout are read again (one
    // page each), nothing is written.
    let second = run(&stack, &runner, 24 * 60, &mut seen).await;
    assert_eq!(second.get(c::PAYOUT_PAGES_READ), 1, "{second:?}");
    assert_eq!(second.get(c::PAYOUTS_UNCHANGED), 5, "{second:?}");
    assert_eq!(second.get(c::TRANSACTION_PAGES_READ), 1, "{second:?}");
    assert_eq!(second.get(c::TRANSACTIONS_UNCHANGED), 20, "{second:?}");
    for name in [
        c::PAYOUTS_STORED,
        c::PAYOUTS_UPDATED,
        c::TRANSACTIONS_STORED,
        c::TRANSACTIONS_UPDATED,
    ] {
        assert_eq!(second.get(name), 0, "{name}: {second:?}");
    }
    assert_eq!(cursor_versions().await, before, "no record written");

    // New payouts and transactions after the cursors are added; the rest is left as it is.
    let mut new_payouts = Vec::new();
    for i in 130..133 {
        new_payouts.push(store.add_payout(payout_seed(i, "SCHEDULED", "42.00")));
    }
    for i in 150..155 {
        let payout = (i < 152).then(|| &new_payouts[0].0);
        store.add_balance_transaction(transaction_seed(i, &order.id, payout));
    }
    let third = run(&stack, &runner, 48 * 60, &mut seen).await;
    assert_eq!(third.get(c::PAYOUTS_STORED), 3, "{third:?}");
    assert_eq!(third.get(c::PAYOUTS_UNCHANGED), 5, "{third:?}");
    assert_eq!(third.get(c::TRANSACTIONS_STORED), 5, "{third:?}");
    assert_eq!(third.get(c::TRANSACTIONS_UNCHANGED), 20, "{third:?}");
    assert_eq!(third.get(c::PAYOUTS_UPDATED), 0, "{third:?}");
    assert_eq!(count(&stack, PAYOUTS, payout_status::SCHEDULED).await, 8);
    assert_eq!(
        count(&stack, BALANCE_TRANSACTIONS, transaction_status::NO_PAYOUT).await,
        23
    );
    let cursor: serde_json::Value =
        serde_json::from_str(&record(&stack, CURSORS, PAYOUTS_CURSOR).await.body).unwrap();
    assert_eq!(cursor["highest_id"], new_payouts[2].1);
    assert!(stack.dead_letters().await.is_empty());
}
