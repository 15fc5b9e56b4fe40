//! `sync-payments` on the engine against in-memory doubles: a Shopify double that pages payouts by
//! numeric id (`id:>n`, an opaque cursor after the last one returned) and balance transactions by
//! date (at or after `since`, oldest first), whose payouts and transactions a test can change between
//! runs (Shopify's simulator cannot), and the record store of `shopsync-test-support`.

use super::cursors::{CURSORS, PAYOUTS_CURSOR, TRANSACTIONS_CURSOR};
use super::stored::{payout_record_id, transaction_status};
use super::*;
use crate::RunOutcome;
use crate::engine::{self, ShopClients};
use crate::test_run::{TaskHarness, deref_to_harness};
use shopsync_domain::job::JobCounters;
use shopsync_domain::orders::{
    BalanceTransaction, Money, Page, PayoutSummary, ShopifyOrder, ShopifyPayout,
};
use shopsync_domain::ports::RecordStore;
use shopsync_domain::settings::ShopSettings;
use shopsync_test_support::MemoryStore;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

const SHOP: &str = "PAY";

fn settings() -> ShopSettings {
    ShopSettings::from_json(
        &serde_json::json!({
            "code": SHOP,
            "shopify": {"store_domain": "pay.myshopify.com", "access_token_secret_id": "shopsync/PAY/shopify"},
            "bc": {"tenant": "contoso", "environment": "production",
                   "company_id": "5d5d2b5a-6a47-4d36-9a55-4f4c0f0e1a01", "credentials_secret_id": "shopsync/PAY/bc"}
        })
        .to_string(),
    )
    .unwrap()
}

fn money(amount: &str) -> Money {
    Money {
        amount: amount.into(),
        currency: "EUR".into(),
    }
}

fn payout(n: u64, status: &str) -> ShopifyPayout {
    ShopifyPayout {
        id: format!("gid://shopify/ShopifyPaymentsPayout/{n}"),
        legacy_id: n,
        issued_at: format!("2026-05-{:02}T00:00:00Z", n.min(28)),
        status: status.into(),
        transaction_type: "DEPOSIT".into(),
        net: money(&format!("{}.50", 100 + n)),
        summary: PayoutSummary {
            charges_gross: money("120.00"),
            charges_fee: money("3.40"),
            refunds_fee_gross: money("0.0"),
            refunds_fee: money("0.0"),
            adjustments_gross: money("0.0"),
            adjustments_fee: money("0.0"),
            reserved_funds_gross: money("0.0"),
            reserved_funds_fee: money("0.0"),
            retried_payouts_gross: money("0.0"),
            retried_payouts_fee: money("0.0"),
        },
    }
}

fn tx_id(n: u64) -> String {
    format!("gid://shopify/ShopifyPaymentsBalanceTransaction/{n}")
}

/// Transaction `n`, processed on day `n` at noon, of order `#100n`, in payout `payout` if any.
fn transaction(n: u64, payout: Option<u64>) -> BalanceTransaction {
    BalanceTransaction {
        id: tx_id(n),
        transaction_type: "CHARGE".into(),
        test: false,
        transaction_date: format!("2026-05-{:02}T12:00:00Z", n),
        amount: money("25.00"),
        fee: money("0.98"),
        net: money("24.02"),
        source_type: Some("CHARGE".into()),
        source_id: Some(format!("{}", 9_000_000 + n)),
        source_order_transaction_id: None,
        order_id: Some(format!("gid://shopify/Order/{n}")),
        order_name: Some(format!("#{}", 1000 + n)),
        payout_id: payout.map(|p| format!("gid://shopify/ShopifyPaymentsPayout/{p}")),
        payout_status: payout.map(|_| "PAID".into()),
    }
}

/// Shopify Payments: payouts and balance transactions, paged as the API does, every read recorded.
struct Shopify {
    payouts: Mutex<Vec<ShopifyPayout>>,
    transactions: Mutex<Vec<BalanceTransaction>>,
    page_size: usize,
    payout_reads: Mutex<Vec<(Option<u64>, Option<String>)>>,
    transaction_reads: Mutex<Vec<(Option<String>, Option<String>)>>,
}

impl Shopify {
    fn new(page_size: usize) -> Shopify {
        Shopify {
            payouts: Mutex::new(Vec::new()),
            transactions: Mutex::new(Vec::new()),
            page_size,
            payout_reads: Mutex::new(Vec::new()),
            transaction_reads: Mutex::new(Vec::new()),
        }
    }

    fn add_payout(&self, p: ShopifyPayout) {
        self.payouts.lock().unwrap().push(p);
    }

    fn add_transaction(&self, t: BalanceTransaction) {
        self.transactions.lock().unwrap().push(t);
    }

    fn set_payout_status(&self, n: u64, status: &str) {
        let mut payouts = self.payouts.lock().unwrap();
        let p = payouts.iter_mut().find(|p| p.legacy_id == n).unwrap();
        p.status = status.into();
    }

    fn pay_out(&self, transaction: u64, payout: u64) {
        let mut all = self.transactions.lock().unwrap();
        let t = all.iter_mut().find(|t| t.id == tx_id(transaction)).unwrap();
        t.payout_id = Some(format!("gid://shopify/ShopifyPaymentsPayout/{payout}"));
        t.payout_status = Some("SCHEDULED".into());
    }

    fn take_payout_reads(&self) -> Vec<(Option<u64>, Option<String>)> {
        std::mem::take(&mut self.payout_reads.lock().unwrap())
    }

    fn take_transaction_reads(&self) -> Vec<(Option<String>, Option<String>)> {
        std::mem::take(&mut self.transaction_reads.lock().unwrap())
    }

    fn page<T: Clone>(&self, mut found: Vec<(String, T)>, after: Option<&str>) -> Page<T> {
        found.sort_by(|a, b| a.0.cmp(&b.0));
        let found: Vec<_> = found
            .into_iter()
            .filter(|(key, _)| after.is_none_or(|a| key.as_str() > a))
            .collect();
        let more = found.len() > self.page_size;
        let page: Vec<_> = found.into_iter().take(self.page_size).collect();
        Page {
            next_cursor: more.then(|| page.last().map(|(k, _)| k.clone())).flatten(),
            items: page.into_iter().map(|(_, t)| t).collect(),
        }
    }
}

#[async_trait]
impl shopsync_domain::orders::ShopifyOrdersApi for Shopify {
    async fn orders_updated_since(
        &self,
        _since: Option<&str>,
        _until: &str,
        _open_only: bool,
        _after: Option<&str>,
    ) -> Result<Page<ShopifyOrder>> {
        unreachable!("sync-payments reads no orders")
    }
    async fn order(&self, _id: &str) -> Result<Option<ShopifyOrder>> {
        unreachable!("sync-payments reads no orders")
    }
    async fn order_fulfillments(
        &self,
        _order_id: &str,
    ) -> Result<Option<Vec<shopsync_domain::orders::ShopifyFulfillment>>> {
        unreachable!("sync-payments reads no fulfillments")
    }
    async fn fulfillment_create(
        &self,
        _request: &shopsync_domain::orders::FulfillmentRequest,
    ) -> Result<shopsync_domain::orders::FulfillmentOutcome> {
        unreachable!("sync-payments writes nothing")
    }
    async fn order_set_custom_attributes(
        &self,
        _order_id: &str,
        _attributes: &[shopsync_domain::orders::OrderAttribute],
    ) -> Result<shopsync_domain::orders::OrderUpdateOutcome> {
        unreachable!("sync-payments writes nothing")
    }
    async fn order_close(
        &self,
        _order_id: &str,
    ) -> Result<shopsync_domain::orders::OrderCloseOutcome> {
        unreachable!("sync-payments writes nothing")
    }
    async fn payouts_since(
        &self,
        since_legacy_id: Option<u64>,
        after: Option<&str>,
    ) -> Result<Page<ShopifyPayout>> {
        self.payout_reads
            .lock()
            .unwrap()
            .push((since_legacy_id, after.map(String::from)));
        let found = self
            .payouts
            .lock()
            .unwrap()
            .iter()
            .filter(|p| since_legacy_id.is_none_or(|s| p.legacy_id > s))
            .map(|p| (format!("{:020}", p.legacy_id), p.clone()))
            .collect();
        Ok(self.page(found, after))
    }
    async fn balance_transactions_since(
        &self,
        since: Option<&str>,
        after: Option<&str>,
    ) -> Result<Page<BalanceTransaction>> {
        self.transaction_reads
            .lock()
            .unwrap()
            .push((since.map(String::from), after.map(String::from)));
        let since = since.map(|s| crate::orders::sync::parse_time("since", s).unwrap());
        let found = self
            .transactions
            .lock()
            .unwrap()
            .iter()
            .filter(|t| {
                let at = crate::orders::sync::parse_time("date", &t.transaction_date).unwrap();
                since.is_none_or(|s| at >= s)
            })
            .map(|t| (format!("{}|{}", t.transaction_date, t.id), t.clone()))
            .collect();
        Ok(self.page(found, after))
    }
}

shopsync_test_support::unused_shopify_inventory_api!(Shopify);
shopsync_test_support::no_shopify_usage!(Shopify);
shopsync_test_support::unused_shopify_catalog_api!(Shopify);
shopsync_test_support::unused_shopify_companies_api!(Shopify);
shopsync_test_support::unused_shopify_b2b_catalogs_api!(Shopify);
shopsync_test_support::unused_shopify_customers_api!(Shopify);

/// BC: never asked.
struct Bc;

shopsync_test_support::unused_bc_inventory_api!(Bc);
shopsync_test_support::unused_bc_sales_api!(Bc);
shopsync_test_support::unused_bc_items_api!(Bc);
shopsync_test_support::unused_bc_customers_api!(Bc);

/// A shop with its Shopify Payments, and the job that runs sync-payments for it. The shop's store,
/// settings, job, saved checkpoint and summed counters are its [`TaskHarness`]'s.
struct Fixture {
    shopify: Arc<Shopify>,
    harness: TaskHarness,
}

deref_to_harness!(Fixture);

impl Fixture {
    fn new(page_size: usize) -> Fixture {
        let shopify = Arc::new(Shopify::new(page_size));
        let clients = ShopClients {
            shopify: shopify.clone(),
            bc: Arc::new(Bc),
        };
        let mut harness = TaskHarness::new(
            MemoryStore::new(),
            clients,
            settings(),
            TaskKind::SyncPayments,
        );
        // A payments run may take up to 100 invocations, twice the harness's default.
        harness.max_invocations = 100;
        Fixture { shopify, harness }
    }

    async fn next_job(&mut self, n: u32) {
        self.harness.next_job(TaskKind::SyncPayments, n).await
    }

    async fn invoke(&mut self) -> Result<RunOutcome> {
        self.harness.invoke(&SyncPaymentsTask).await
    }

    /// A whole run as new job `n`: invocations until it finishes, without warnings.
    async fn run(&mut self, n: u32) -> JobCounters {
        self.next_job(n).await;
        let warnings = self.harness.until_finished(&SyncPaymentsTask).await;
        assert!(!warnings);
        self.counters.clone()
    }

    fn payout(&self, n: u64) -> Option<(Option<String>, serde_json::Value)> {
        self.store
            .record(SHOP, PAYOUTS, &payout_record_id(n))
            .map(|r| (r.status, serde_json::from_str(&r.body).unwrap()))
    }

    fn transaction(&self, n: u64) -> Option<(Option<String>, serde_json::Value)> {
        self.store
            .record(SHOP, BALANCE_TRANSACTIONS, &tx_id(n))
            .map(|r| (r.status, serde_json::from_str(&r.body).unwrap()))
    }

    fn cursor(&self, id: &str) -> Option<serde_json::Value> {
        self.store
            .record(SHOP, CURSORS, id)
            .map(|r| serde_json::from_str(&r.body).unwrap())
    }

    /// Record writes (payouts, transactions, cursors) since write number `mark`.
    fn record_writes_since(&self, mark: usize) -> Vec<String> {
        self.store.writes()[mark..]
            .iter()
            .filter(|w| {
                [PAYOUTS, BALANCE_TRANSACTIONS, CURSORS]
                    .iter()
                    .any(|k| w.sk.contains(k))
            })
            .map(|w| w.sk.clone())
            .collect()
    }
}

/// Five payouts (4 and 5 scheduled) and six transactions (5 and 6 not paid out yet).
fn seeded(page_size: usize) -> Fixture {
    let f = Fixture::new(page_size);
    for n in 1..=5 {
        f.shopify
            .add_payout(payout(n, if n >= 4 { "SCHEDULED" } else { "PAID" }));
    }
    for n in 1..=6 {
        f.shopify
            .add_transaction(transaction(n, (n <= 4).then_some(n)));
    }
    f
}

#[tokio::test]
async fn the_first_run_stores_everything_page_by_page_and_a_second_run_writes_nothing() {
    let mut f = seeded(2);
    let c = f.run(1).await;
    assert_eq!(
        f.record_writes_since(0).len(),
        5 + 6 + 3 + 3,
        "every record, and each cursor once a page"
    );
    assert_eq!(c.get(counters::PAYOUT_PAGES_READ), 3, "{c:?}");
    assert_eq!(c.get(counters::PAYOUTS_STORED), 5);
    assert_eq!(c.get(counters::TRANSACTION_PAGES_READ), 3);
    assert_eq!(c.get(counters::TRANSACTIONS_STORED), 6);
    assert_eq!(c.get(engine::counters::EFFECTS_PLANNED), 0);
    let reads = f.shopify.take_payout_reads();
    assert_eq!(reads[0], (None, None), "first sync: every payout");
    assert_eq!(
        f.shopify.take_transaction_reads()[0],
        (None, None),
        "first sync: every transaction"
    );

    let (status, body) = f.payout(1).unwrap();
    assert_eq!(status.as_deref(), Some(payout_status::PAID));
    assert_eq!(body["net"]["amount"], "101.50");
    assert_eq!(body["net"]["currency"], "EUR");
    assert_eq!(body["issued_at"], "2026-05-01T00:00:00Z");
    assert_eq!(body["name"], "Payout 1 of 2026-05-01 (101.50 EUR)");
    assert_eq!(
        f.payout(5).unwrap().0.as_deref(),
        Some(payout_status::SCHEDULED)
    );
    let (status, body) = f.transaction(2).unwrap();
    assert_eq!(status, None, "paid out: in no index");
    assert_eq!(body["order_name"], "#1002");
    assert_eq!(body["order_id"], "gid://shopify/Order/2");
    assert_eq!(body["amount"]["amount"], "25.00");
    assert_eq!(body["fee"]["amount"], "0.98");
    assert_eq!(body["net"]["amount"], "24.02");
    assert_eq!(body["payout_id"], "gid://shopify/ShopifyPaymentsPayout/2");
    assert_eq!(
        f.transaction(5).unwrap().0.as_deref(),
        Some(transaction_status::NO_PAYOUT)
    );
    assert_eq!(
        f.cursor(PAYOUTS_CURSOR).unwrap(),
        serde_json::json!({"highest_id": 5})
    );
    assert_eq!(
        f.cursor(TRANSACTIONS_CURSOR).unwrap(),
        serde_json::json!({"read_from": "2026-05-05T12:00:00Z"}),
        "the oldest transaction without a payout"
    );

    // Nothing changed in Shopify: the open payouts and transactions are read again, nothing is
    // written, not even a cursor.
    let mark = f.store.write_count();
    let c = f.run(2).await;
    assert_eq!(f.record_writes_since(mark), Vec::<String>::new());
    assert_eq!(
        f.shopify.take_payout_reads(),
        [(Some(3), None)],
        "from below the lowest scheduled payout, in one page"
    );
    assert_eq!(
        f.shopify.take_transaction_reads(),
        [(Some("2026-05-05T11:55:00Z".to_string()), None)],
        "from the oldest transaction without a payout, less the overlap"
    );
    assert_eq!(c.get(counters::PAYOUTS_UNCHANGED), 2, "{c:?}");
    assert_eq!(c.get(counters::TRANSACTIONS_UNCHANGED), 2);
    for name in [
        counters::PAYOUTS_STORED,
        counters::PAYOUTS_UPDATED,
        counters::TRANSACTIONS_STORED,
        counters::TRANSACTIONS_UPDATED,
    ] {
        assert_eq!(c.get(name), 0, "{name}: {c:?}");
    }
}

#[tokio::test]
async fn a_scheduled_payout_that_was_paid_and_a_transaction_paid_out_are_refreshed_and_new_ones_added()
 {
    let mut f = seeded(10);
    f.run(1).await;
    f.shopify.take_payout_reads();
    f.shopify.take_transaction_reads();

    // Payout 4 is paid, payout 6 is scheduled with transactions 5 and 6; transaction 7 arrives.
    f.shopify.set_payout_status(4, "PAID");
    f.shopify.add_payout(payout(6, "SCHEDULED"));
    f.shopify.pay_out(5, 6);
    f.shopify.pay_out(6, 6);
    f.shopify.add_transaction(transaction(7, None));
    let c = f.run(2).await;
    assert_eq!(f.shopify.take_payout_reads(), [(Some(3), None)]);
    assert_eq!(c.get(counters::PAYOUTS_UPDATED), 1, "{c:?}");
    assert_eq!(c.get(counters::PAYOUTS_STORED), 1);
    assert_eq!(
        c.get(counters::PAYOUTS_UNCHANGED),
        1,
        "payout 5 is still scheduled"
    );
    assert_eq!(c.get(counters::TRANSACTIONS_UPDATED), 2);
    assert_eq!(c.get(counters::TRANSACTIONS_STORED), 1);
    let (status, body) = f.payout(4).unwrap();
    assert_eq!(status.as_deref(), Some(payout_status::PAID));
    assert_eq!(body["status"], "PAID");
    assert_eq!(
        f.payout(6).unwrap().0.as_deref(),
        Some(payout_status::SCHEDULED)
    );
    let (status, body) = f.transaction(5).unwrap();
    assert_eq!(status, None, "paid out: out of the no-payout index");
    assert_eq!(body["payout_id"], "gid://shopify/ShopifyPaymentsPayout/6");
    assert_eq!(
        f.store
            .count_by_status(SHOP, BALANCE_TRANSACTIONS, transaction_status::NO_PAYOUT)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        f.cursor(TRANSACTIONS_CURSOR).unwrap(),
        serde_json::json!({"read_from": "2026-05-07T12:00:00Z"})
    );
    assert_eq!(
        f.cursor(PAYOUTS_CURSOR).unwrap(),
        serde_json::json!({"highest_id": 6})
    );

    // Everything paid out and paid: the next run reads from the newest of each only.
    f.shopify.set_payout_status(5, "PAID");
    f.shopify.set_payout_status(6, "PAID");
    f.shopify.pay_out(7, 6);
    f.shopify.take_transaction_reads();
    f.run(3).await;
    f.shopify.take_payout_reads();
    f.shopify.take_transaction_reads();
    let c = f.run(4).await;
    assert_eq!(f.shopify.take_payout_reads(), [(Some(6), None)]);
    assert_eq!(
        f.shopify.take_transaction_reads(),
        [(Some("2026-05-07T11:55:00Z".to_string()), None)]
    );
    assert_eq!(c.get(counters::PAYOUTS_UNCHANGED), 0, "{c:?}");
    assert_eq!(c.get(counters::TRANSACTIONS_UNCHANGED), 1);
}

#[tokio::test]
async fn pages_span_invocations_and_a_run_cut_short_leaves_the_cursors_where_the_stored_records_end()
 {
    let mut f = Fixture::new(2);
    for n in 1..=7 {
        f.shopify.add_payout(payout(n, "PAID"));
    }
    for n in 1..=5 {
        f.shopify.add_transaction(transaction(n, Some(1)));
    }
    f.saved.deadline.store(true, Ordering::Relaxed);
    f.next_job(1).await;
    // One page a step, one step an invocation: payout pages 1 and 2, then the run is lost.
    for _ in 0..2 {
        assert!(matches!(
            f.invoke().await.unwrap(),
            RunOutcome::Continue { .. }
        ));
    }
    let reads = f.shopify.take_payout_reads();
    assert_eq!(reads.len(), 2);
    assert_eq!(reads[1].0, None, "a resumed run keeps its window");
    assert!(reads[1].1.is_some(), "and reads the next page");
    assert_eq!(
        f.cursor(PAYOUTS_CURSOR).unwrap(),
        serde_json::json!({"highest_id": 4})
    );

    // A new run (the old plan is gone) reads on from the cursor, not from the beginning.
    f.saved.deadline.store(false, Ordering::Relaxed);
    let c = f.run(2).await;
    let reads = f.shopify.take_payout_reads();
    assert_eq!(reads[0], (Some(4), None), "{reads:?}");
    assert_eq!(c.get(counters::PAYOUTS_STORED), 3, "{c:?}");
    assert_eq!(c.get(counters::PAYOUT_PAGES_READ), 2);
    assert_eq!(c.get(counters::TRANSACTIONS_STORED), 5);
    assert_eq!(c.get(counters::TRANSACTION_PAGES_READ), 3);
    for n in 1..=7 {
        assert!(f.payout(n).is_some(), "payout {n}");
    }
    assert_eq!(
        f.cursor(TRANSACTIONS_CURSOR).unwrap(),
        serde_json::json!({"read_from": "2026-05-05T12:00:00Z"}),
        "all paid out: the newest"
    );
}

#[tokio::test]
async fn a_test_transaction_without_a_payout_does_not_hold_the_cursor_back() {
    let mut f = Fixture::new(10);
    f.shopify.add_transaction(BalanceTransaction {
        test: true,
        ..transaction(1, None)
    });
    f.shopify.add_transaction(transaction(2, Some(1)));
    f.shopify.add_payout(payout(1, "PAID"));
    f.run(1).await;
    assert_eq!(f.transaction(1).unwrap().0, None);
    assert_eq!(
        f.cursor(TRANSACTIONS_CURSOR).unwrap(),
        serde_json::json!({"read_from": "2026-05-02T12:00:00Z"})
    );
}

#[tokio::test]
async fn a_shop_without_shopify_payments_reads_one_page_each_and_writes_nothing() {
    let mut f = Fixture::new(10);
    let mark = f.store.write_count();
    let c = f.run(1).await;
    assert_eq!(f.record_writes_since(mark), Vec::<String>::new());
    assert_eq!(c.get(counters::PAYOUT_PAGES_READ), 1);
    assert_eq!(c.get(counters::TRANSACTION_PAGES_READ), 1);
    assert_eq!(f.cursor(PAYOUTS_CURSOR), None);
}

#[tokio::test]
async fn a_cursor_moved_after_the_last_checkpoint_is_merged_not_moved_back() {
    let mut f = seeded(2);
    f.next_job(1).await;
    f.saved.deadline.store(true, Ordering::Relaxed);
    // Payout page 1 read and checkpointed.
    f.invoke().await.unwrap();
    let checkpoint = f.saved.checkpoint.lock().unwrap().clone();
    // Page 2 read (the cursor moves to 4), then the checkpoint of that step is lost.
    f.invoke().await.unwrap();
    assert_eq!(
        f.cursor(PAYOUTS_CURSOR).unwrap(),
        serde_json::json!({"highest_id": 4})
    );
    *f.saved.checkpoint.lock().unwrap() = checkpoint;
    f.saved.deadline.store(false, Ordering::Relaxed);
    loop {
        if let RunOutcome::Finished { .. } = f.invoke().await.unwrap() {
            break;
        }
    }
    assert_eq!(
        f.cursor(PAYOUTS_CURSOR).unwrap(),
        serde_json::json!({"highest_id": 5})
    );
    assert_eq!(
        f.counters.get(counters::PAYOUTS_STORED),
        5,
        "{:?}",
        f.counters
    );
    assert_eq!(
        f.counters.get(counters::PAYOUTS_UNCHANGED),
        2,
        "page 2 again"
    );
}
