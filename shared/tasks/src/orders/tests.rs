//! `sync-orders` on the engine against in-memory doubles: a Shopify double that pages orders by
//! `updatedAt` the way the search does (oldest first, an opaque cursor after the last one returned,
//! both window bounds inclusive), a BC double with customers found by exact e-mail or phone, and the
//! record store of `shopsync-test-support`.
//!
//! Issue 9 item 8, the staging half: orders updated while a sync runs are not missed at the window
//! edge; an order changed after processing is flagged, not re-applied; an unmappable order stays
//! unprocessed with its reason; a customer whose creation answer was lost is created once.

use super::staged::{CHANGED_AFTER_PROCESSING, STAGED_ORDERS, StagedOrder, order_status};
use super::sync::{CURSORS, CursorBody, ORDERS_CURSOR, format_time, parse_time};
use super::*;
use crate::RunOutcome;
use crate::engine::{self, ShopClients};
use crate::test_run::{TaskHarness, deref_to_harness};
use shopsync_domain::job::JobCounters;
use shopsync_domain::orders::{
    Money, MoneyPair, OrderCustomer, OrderLine, OrderTotals, Page, ShopifyOrder,
};
use shopsync_domain::ports::{Record, RecordStore};
use shopsync_domain::sales::{BcCustomer, CustomerType, PostalAddress};
use shopsync_domain::settings::ShopSettings;
use shopsync_domain::staging::cue_detail;
use shopsync_test_support::{Faults, MemoryStore};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use time::OffsetDateTime;

pub(crate) const SHOP: &str = "OR";

pub(crate) fn settings() -> ShopSettings {
    ShopSettings::from_json(
        &serde_json::json!({
            "code": SHOP,
            "sku_mapping": "item_no",
            "shopify": {"store_domain": "or.myshopify.com", "access_token_secret_id": "shopsync/OR/shopify"},
            "bc": {"tenant": "contoso", "environment": "production",
                   "company_id": "5d5d2b5a-6a47-4d36-9a55-4f4c0f0e1a01", "credentials_secret_id": "shopsync/OR/bc"}
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

fn pair(amount: &str) -> MoneyPair {
    MoneyPair {
        shop: money(amount),
        presentment: money(amount),
    }
}

fn line(order: u32, n: u32, sku: &str, quantity: i64) -> OrderLine {
    OrderLine {
        id: format!("gid://shopify/LineItem/{order}{n:02}"),
        sku: Some(sku.into()),
        variant_id: Some(format!("gid://shopify/ProductVariant/{n}")),
        title: format!("Product {n}"),
        variant_title: None,
        quantity,
        current_quantity: quantity,
        fulfillable_quantity: quantity,
        unit_price: money("19.99"),
        unit_price_presentment: money("19.99"),
        discount: money("0.0"),
        taxable: true,
        requires_shipping: true,
        gift_card: false,
    }
}

/// Order `n` (`#100n`), open, two lines (ITEM-1 × 1, ITEM-2 × 2), bought by `buyer<n>@example.com`.
pub(crate) fn order(n: u32, updated_at: &str) -> ShopifyOrder {
    ShopifyOrder {
        id: format!("gid://shopify/Order/{n}"),
        name: format!("#{}", 1000 + n),
        created_at: updated_at.into(),
        updated_at: updated_at.into(),
        processed_at: updated_at.into(),
        closed: false,
        closed_at: None,
        cancelled_at: None,
        cancel_reason: None,
        test: false,
        financial_status: Some("PAID".into()),
        fulfillment_status: "UNFULFILLED".into(),
        currency: "EUR".into(),
        presentment_currency: "EUR".into(),
        email: Some(format!("buyer{n}@example.com")),
        phone: None,
        po_number: None,
        note: None,
        tags: Vec::new(),
        taxes_included: true,
        custom_attributes: Vec::new(),
        customer: Some(OrderCustomer {
            id: format!("gid://shopify/Customer/{n}"),
            email: Some(format!("buyer{n}@example.com")),
            phone: None,
            first_name: Some("Ann".into()),
            last_name: Some(format!("Buyer{n}")),
        }),
        company: None,
        billing_address: None,
        shipping_address: None,
        totals: OrderTotals {
            total: pair("64.97"),
            current_total: pair("64.97"),
            subtotal: Some(pair("59.97")),
            shipping: pair("5.0"),
            tax: None,
            discounts: None,
            outstanding: pair("0.0"),
        },
        line_items: vec![line(n, 1, "ITEM-1", 1), line(n, 2, "ITEM-2", 2)],
        shipping_lines: Vec::new(),
        transactions: Vec::new(),
        refunds: Vec::new(),
        fulfillment_orders: Vec::new(),
        incomplete: Vec::new(),
    }
}

pub(crate) fn at(t: OffsetDateTime) -> String {
    format_time(t).unwrap()
}

/// One `orders_updated_since` call as asked: (since, until, open_only, after).
type OrdersCall = (Option<String>, String, bool, Option<String>);
/// Runs before call `i` (0-based) is answered, with the call's `until`: a change made in Shopify while
/// the run pages.
type Hook = Box<dyn FnMut(usize, &str, &mut Vec<ShopifyOrder>) + Send>;

/// Shopify's orders, paged like the search: oldest `updatedAt` first, `after` an opaque cursor past
/// the last order returned.
pub(crate) struct Shopify {
    orders: Mutex<Vec<ShopifyOrder>>,
    page_size: usize,
    calls: Mutex<Vec<OrdersCall>>,
    hook: Mutex<Option<Hook>>,
    /// `orderUpdate` calls applied: (order id, attributes).
    pub(crate) updates: Mutex<Vec<(String, Vec<shopsync_domain::orders::OrderAttribute>)>>,
    /// `orderClose` calls applied.
    pub(crate) closes: Mutex<Vec<String>>,
    /// Faults of `shopify.orders.update`, `shopify.orders.close`.
    pub(crate) faults: Faults,
    /// Windows of more orders than this are read in bulk (`None`: this double offers no bulk read).
    bulk_threshold: Mutex<Option<usize>>,
    /// Polls a bulk read answers RUNNING before it completes; `FAILED` when `bulk_fails`.
    bulk_polls: Mutex<u32>,
    bulk_fails: std::sync::atomic::AtomicBool,
    /// The window each bulk read was started over (since, until, open_only).
    bulk_windows: Mutex<Vec<(Option<String>, String, bool)>>,
    /// Downloads of a bulk read's file.
    bulk_downloads: std::sync::atomic::AtomicUsize,
}

impl Shopify {
    fn new(page_size: usize, orders: Vec<ShopifyOrder>) -> Shopify {
        Shopify {
            orders: Mutex::new(orders),
            page_size,
            calls: Mutex::new(Vec::new()),
            hook: Mutex::new(None),
            updates: Mutex::new(Vec::new()),
            closes: Mutex::new(Vec::new()),
            faults: Faults::default(),
            bulk_threshold: Mutex::new(None),
            bulk_polls: Mutex::new(0),
            bulk_fails: std::sync::atomic::AtomicBool::new(false),
            bulk_windows: Mutex::new(Vec::new()),
            bulk_downloads: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// The orders of a window, oldest update first, as the search selects them.
    fn window(&self, since: Option<&str>, until: &str, open_only: bool) -> Vec<ShopifyOrder> {
        let since = since.map(|s| parse_time("since", s).unwrap());
        let until = parse_time("until", until).unwrap();
        let mut found: Vec<ShopifyOrder> = self
            .orders
            .lock()
            .unwrap()
            .iter()
            .filter(|o| {
                let (t, _) = sort_key(o);
                since.is_none_or(|s| t >= s) && t <= until && !(open_only && o.closed)
            })
            .cloned()
            .collect();
        found.sort_by_key(sort_key);
        found
    }

    /// Replace order `id` in Shopify with what `change` makes of it.
    pub(crate) fn update(&self, id: u32, change: impl FnOnce(&mut ShopifyOrder)) {
        let mut orders = self.orders.lock().unwrap();
        let o = orders
            .iter_mut()
            .find(|o| o.id == format!("gid://shopify/Order/{id}"))
            .unwrap();
        change(o);
    }

    fn update_by_gid(&self, id: &str, change: impl FnOnce(&mut ShopifyOrder)) {
        if let Some(o) = self.orders.lock().unwrap().iter_mut().find(|o| o.id == id) {
            change(o);
        }
    }

    fn calls(&self) -> Vec<OrdersCall> {
        self.calls.lock().unwrap().clone()
    }
}

fn sort_key(o: &ShopifyOrder) -> (OffsetDateTime, String) {
    (
        parse_time("updatedAt", &o.updated_at).unwrap(),
        o.id.clone(),
    )
}

#[async_trait]
impl shopsync_domain::orders::ShopifyOrdersApi for Shopify {
    async fn orders_updated_since(
        &self,
        since: Option<&str>,
        until: &str,
        open_only: bool,
        after: Option<&str>,
    ) -> Result<Page<ShopifyOrder>> {
        let index = {
            let mut calls = self.calls.lock().unwrap();
            calls.push((
                since.map(String::from),
                until.to_string(),
                open_only,
                after.map(String::from),
            ));
            calls.len() - 1
        };
        let mut orders = self.orders.lock().unwrap();
        if let Some(hook) = self.hook.lock().unwrap().as_mut() {
            hook(index, until, &mut orders);
        }
        let since = since.map(|s| parse_time("since", s).unwrap());
        let until = parse_time("until", until).unwrap();
        let after = after.map(|a| {
            let (t, id) = a.split_once('|').unwrap();
            (parse_time("after", t).unwrap(), id.to_string())
        });
        let mut found: Vec<&ShopifyOrder> = orders
            .iter()
            .filter(|o| {
                let (t, _) = sort_key(o);
                since.is_none_or(|s| t >= s) && t <= until && !(open_only && o.closed)
            })
            .filter(|o| after.as_ref().is_none_or(|a| sort_key(o) > *a))
            .collect();
        found.sort_by_key(|o| sort_key(o));
        let more = found.len() > self.page_size;
        let items: Vec<ShopifyOrder> = found.into_iter().take(self.page_size).cloned().collect();
        let next_cursor = more.then(|| {
            let last = items.last().unwrap();
            format!("{}|{}", last.updated_at, last.id)
        });
        Ok(Page { items, next_cursor })
    }
    async fn orders_prefer_bulk(
        &self,
        since: Option<&str>,
        until: &str,
        open_only: bool,
    ) -> Result<Option<bool>> {
        let threshold = *self.bulk_threshold.lock().unwrap();
        Ok(threshold.map(|t| self.window(since, until, open_only).len() > t))
    }
    async fn orders_bulk_start(
        &self,
        since: Option<&str>,
        until: &str,
        open_only: bool,
    ) -> Result<String> {
        let mut windows = self.bulk_windows.lock().unwrap();
        windows.push((since.map(String::from), until.to_string(), open_only));
        Ok(format!("gid://shopify/BulkOperation/{}", windows.len()))
    }
    async fn bulk_operation_wait(
        &self,
        id: &str,
    ) -> Result<shopsync_domain::catalog::BulkMutationStatus> {
        let mut left = self.bulk_polls.lock().unwrap();
        let status = if *left > 0 {
            *left -= 1;
            "RUNNING"
        } else if self.bulk_fails.load(Ordering::Relaxed) {
            "FAILED"
        } else {
            "COMPLETED"
        };
        Ok(shopsync_domain::catalog::BulkMutationStatus {
            id: id.to_string(),
            status: status.into(),
            error_code: None,
            object_count: None,
            url: (status == "COMPLETED").then(|| format!("https://files.example/{id}.jsonl")),
            partial_data_url: None,
        })
    }
    async fn orders_bulk_read(&self, _url: &str) -> Result<Vec<ShopifyOrder>> {
        self.bulk_downloads.fetch_add(1, Ordering::Relaxed);
        let (since, until, open_only) = self.bulk_windows.lock().unwrap().last().cloned().unwrap();
        Ok(self.window(since.as_deref(), &until, open_only))
    }
    async fn order(&self, id: &str) -> Result<Option<ShopifyOrder>> {
        Ok(self
            .orders
            .lock()
            .unwrap()
            .iter()
            .find(|o| o.id == id)
            .cloned())
    }
    async fn order_fulfillments(
        &self,
        _order_id: &str,
    ) -> Result<Option<Vec<shopsync_domain::orders::ShopifyFulfillment>>> {
        unreachable!("the order tasks read no fulfillments")
    }
    async fn fulfillment_create(
        &self,
        _request: &shopsync_domain::orders::FulfillmentRequest,
    ) -> Result<shopsync_domain::orders::FulfillmentOutcome> {
        unreachable!("the order tasks fulfil nothing")
    }
    async fn order_set_custom_attributes(
        &self,
        order_id: &str,
        attributes: &[shopsync_domain::orders::OrderAttribute],
    ) -> Result<shopsync_domain::orders::OrderUpdateOutcome> {
        self.faults.run("shopify.orders.update", || {
            self.updates
                .lock()
                .unwrap()
                .push((order_id.to_string(), attributes.to_vec()));
            self.update_by_gid(order_id, |o| o.custom_attributes = attributes.to_vec());
            Ok(shopsync_domain::orders::OrderUpdateOutcome {
                updated: true,
                user_errors: Vec::new(),
            })
        })
    }
    async fn order_close(
        &self,
        order_id: &str,
    ) -> Result<shopsync_domain::orders::OrderCloseOutcome> {
        self.faults.run("shopify.orders.close", || {
            self.closes.lock().unwrap().push(order_id.to_string());
            self.update_by_gid(order_id, |o| o.closed = true);
            Ok(shopsync_domain::orders::OrderCloseOutcome {
                closed: true,
                closed_at: None,
                user_errors: Vec::new(),
            })
        })
    }
    async fn payouts_since(
        &self,
        _since_legacy_id: Option<u64>,
        _after: Option<&str>,
    ) -> Result<Page<shopsync_domain::orders::ShopifyPayout>> {
        unreachable!("sync-orders reads no payouts")
    }
    async fn balance_transactions_since(
        &self,
        _since: Option<&str>,
        _after: Option<&str>,
    ) -> Result<Page<shopsync_domain::orders::BalanceTransaction>> {
        unreachable!("sync-orders reads no balance transactions")
    }
}

/// BC's customers; creation goes through `faults` as `"bc.customers.create"`.
#[derive(Default)]
pub(crate) struct Bc {
    customers: Mutex<Vec<BcCustomer>>,
    /// Documents made (`bc.documents.create`), in order.
    pub(crate) documents: Mutex<Vec<shopsync_domain::sales::SalesDocumentDraft>>,
    pub(crate) faults: Faults,
    /// Template customers read, and per customer created its e-mail and template, in order.
    template_reads: Mutex<Vec<String>>,
    created_from: Mutex<Vec<(String, String)>>,
}

impl Bc {
    pub(crate) fn add(&self, number: &str, email: &str, phone: &str) -> BcCustomer {
        let c = BcCustomer {
            id: format!("id-{number}"),
            number: number.into(),
            display_name: number.into(),
            customer_type: CustomerType::Person,
            email: email.into(),
            phone_number: phone.into(),
            tax_registration_number: String::new(),
            address: PostalAddress::default(),
            currency_code: String::new(),
            blocked: false,
            last_modified: String::new(),
        };
        self.customers.lock().unwrap().push(c.clone());
        c
    }

    fn count(&self) -> usize {
        self.customers.lock().unwrap().len()
    }
}

#[async_trait]
impl shopsync_domain::sales::BcSalesApi for Bc {
    async fn find_customer_by_email(&self, email: &str) -> Result<Vec<BcCustomer>> {
        self.faults.run("bc.customers.find", || {
            Ok(self
                .customers
                .lock()
                .unwrap()
                .iter()
                .filter(|c| c.email == email)
                .cloned()
                .collect())
        })
    }
    async fn find_customer_by_phone(&self, phone: &str) -> Result<Vec<BcCustomer>> {
        self.faults.run("bc.customers.find", || {
            Ok(self
                .customers
                .lock()
                .unwrap()
                .iter()
                .filter(|c| c.phone_number == phone)
                .cloned()
                .collect())
        })
    }
    async fn find_customer_by_tax_registration(&self, number: &str) -> Result<Vec<BcCustomer>> {
        self.faults.run("bc.customers.find", || {
            Ok(self
                .customers
                .lock()
                .unwrap()
                .iter()
                .filter(|c| c.tax_registration_number == number)
                .cloned()
                .collect())
        })
    }
    async fn customer_template(
        &self,
        number: &str,
    ) -> Result<shopsync_domain::sales::CustomerDefaults> {
        self.template_reads.lock().unwrap().push(number.to_string());
        crate::customer_templates::test_template(number)
    }
    async fn create_customer(
        &self,
        customer: &shopsync_domain::sales::NewCustomer,
    ) -> Result<BcCustomer> {
        self.faults.run("bc.customers.create", || {
            self.created_from.lock().unwrap().push((
                customer.email.clone().unwrap_or_default(),
                customer.defaults.template_number.clone(),
            ));
            let number = format!("C{:05}", self.count() + 1);
            Ok(self.add(
                &number,
                customer.email.as_deref().unwrap_or(""),
                customer.phone_number.as_deref().unwrap_or(""),
            ))
        })
    }
    async fn create_sales_document(
        &self,
        draft: &shopsync_domain::sales::SalesDocumentDraft,
    ) -> Result<shopsync_domain::sales::SalesDocument> {
        self.faults.run("bc.documents.create", || {
            let mut documents = self.documents.lock().unwrap();
            documents.push(draft.clone());
            Ok(shopsync_domain::sales::SalesDocument {
                kind: draft.kind,
                id: format!("doc-{}", documents.len()),
                number: format!("SO{:05}", documents.len()),
                external_document_number: draft.normalized_external_number(),
                status: "Draft".into(),
            })
        })
    }
    async fn find_sales_documents_by_external_number(
        &self,
        number: &str,
    ) -> Result<Vec<shopsync_domain::sales::SalesDocumentRef>> {
        self.faults.run("bc.documents.find", || {
            let wanted = shopsync_domain::sales::to_code(number);
            Ok(self
                .documents
                .lock()
                .unwrap()
                .iter()
                .enumerate()
                .filter(|(_, d)| d.normalized_external_number() == wanted)
                .map(|(i, _)| shopsync_domain::sales::SalesDocumentRef {
                    kind: shopsync_domain::sales::FoundDocumentKind::SalesOrder,
                    id: format!("doc-{}", i + 1),
                    number: format!("SO{:05}", i + 1),
                    external_document_number: wanted.clone(),
                    status: Some("Draft".into()),
                    order_number: None,
                })
                .collect())
        })
    }
    async fn posted_shipments_since(
        &self,
        _cursor: Option<&shopsync_domain::sales::ShipmentCursor>,
    ) -> Result<shopsync_domain::sales::ShipmentBatch> {
        unreachable!("sync-orders reads no shipments")
    }
    async fn shipment_tracking(
        &self,
        _page: &str,
        _company_name: &str,
        _shipment_number: &str,
    ) -> Result<Option<shopsync_domain::sales::ShipmentTracking>> {
        unreachable!("sync-orders reads no shipments")
    }
    async fn delete_sales_document(
        &self,
        _document: &shopsync_domain::sales::SalesDocumentRef,
    ) -> Result<()> {
        unreachable!("sync-orders deletes no documents")
    }
}

/// A shop with its Shopify orders and BC customers, and the job that runs an order task for it. The
/// shop's store, settings, job, saved checkpoint and summed counters are its [`TaskHarness`]'s.
pub(crate) struct Fixture {
    pub(crate) shopify: Arc<Shopify>,
    pub(crate) bc: Arc<Bc>,
    harness: TaskHarness,
}

deref_to_harness!(Fixture);

impl Fixture {
    pub(crate) async fn new(page_size: usize, orders: Vec<ShopifyOrder>) -> Fixture {
        Self::seeded(page_size, orders, 0).await
    }

    /// With the doubles' random faults drawn from `seed` (BC) and `seed + 1` (Shopify).
    pub(crate) async fn seeded(page_size: usize, orders: Vec<ShopifyOrder>, seed: u64) -> Fixture {
        let mut shopify = Shopify::new(page_size, orders);
        shopify.faults = Faults::seeded(seed + 1);
        let shopify = Arc::new(shopify);
        let bc = Arc::new(Bc {
            faults: Faults::seeded(seed),
            ..Bc::default()
        });
        let clients = ShopClients {
            shopify: shopify.clone(),
            bc: bc.clone(),
        };
        Fixture {
            harness: TaskHarness::new(
                MemoryStore::new(),
                clients,
                settings(),
                TaskKind::SyncOrders,
            ),
            shopify,
            bc,
        }
    }

    /// Start job `n` of sync-orders (a new scheduled run): no checkpoint, counters from zero.
    async fn next_job(&mut self, n: u32) {
        self.next_job_of(TaskKind::SyncOrders, n).await
    }

    /// Start job `n` of `task`.
    pub(crate) async fn next_job_of(&mut self, task: TaskKind, n: u32) {
        self.harness.next_job(task, n).await
    }

    /// One invocation of sync-orders, resuming from the last saved checkpoint.
    async fn invoke(&mut self) -> Result<RunOutcome> {
        self.invoke_task(&SyncOrdersTask).await
    }

    /// One invocation of `task`, resuming from the last saved checkpoint.
    pub(crate) async fn invoke_task<T: crate::engine::Task>(
        &mut self,
        task: &T,
    ) -> Result<RunOutcome> {
        self.harness.invoke(task).await
    }

    /// A whole sync-orders run as a new job: invocations until it finishes.
    pub(crate) async fn run(&mut self, n: u32) -> JobCounters {
        self.run_task(&SyncOrdersTask, n).await
    }

    /// A whole run of `task` as new job `n`: invocations until it finishes.
    pub(crate) async fn run_task<T: crate::engine::Task>(
        &mut self,
        task: &T,
        n: u32,
    ) -> JobCounters {
        self.harness.run(task, n).await
    }

    pub(crate) fn staged(&self, n: u32) -> Option<(Option<String>, StagedOrder)> {
        self.store
            .record(SHOP, STAGED_ORDERS, &format!("gid://shopify/Order/{n}"))
            .map(|r| (r.status, serde_json::from_str(&r.body).unwrap()))
    }

    fn cursor(&self) -> Option<String> {
        self.store.record(SHOP, CURSORS, ORDERS_CURSOR).map(|r| {
            serde_json::from_str::<CursorBody>(&r.body)
                .unwrap()
                .updated_at
        })
    }

    async fn set_cursor(&self, at: &str) {
        let body = serde_json::json!({ "updated_at": at }).to_string();
        self.store
            .put_records(SHOP, CURSORS, &[Record::new(ORDERS_CURSOR, None, body)])
            .await
            .unwrap();
    }

    /// Staged-order writes since write number `mark`.
    pub(crate) fn staged_writes_since(&self, mark: usize) -> Vec<String> {
        self.store.writes()[mark..]
            .iter()
            .filter(|w| w.sk.contains(STAGED_ORDERS))
            .map(|w| w.sk.clone())
            .collect()
    }
}

pub(crate) fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

pub(crate) fn secs(n: i64) -> time::Duration {
    time::Duration::seconds(n)
}

#[tokio::test]
async fn pages_span_invocations_and_resume_from_the_checkpoint() {
    let t0 = now();
    let orders = (1..=5)
        .map(|n| order(n, &at(t0 - secs(600 - i64::from(n) * 60))))
        .collect();
    let mut f = Fixture::new(2, orders).await;
    f.bc.add("C00042", "buyer3@example.com", "");
    f.settings.default_customer_no = Some("GUEST".into());
    f.next_job(1).await;
    // Each invocation takes one step, then stops for the deadline and continues in the next.
    f.saved.deadline.store(true, Ordering::Relaxed);
    let mut continuations = 0;
    loop {
        match f.invoke().await.unwrap() {
            RunOutcome::Continue { .. } => continuations += 1,
            RunOutcome::Finished { .. } => break,
            other => panic!("{other:?}"),
        }
        if continuations == 1 {
            // A resumed run keeps the window it started with, whatever the clock says now.
            tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        }
    }
    let calls = f.shopify.calls();
    assert_eq!(calls.len(), 3, "{calls:?}");
    assert_eq!(continuations, 2, "one page per invocation");
    let (since, until, open_only, _) = calls[0].clone();
    assert_eq!(
        (since, open_only),
        (None, true),
        "the first sync ever reads open orders"
    );
    for (i, call) in calls.iter().enumerate() {
        assert_eq!(call.1, until, "call {i} kept the window's end");
    }
    assert_eq!(calls[0].3, None);
    assert!(calls[1].3.as_deref().unwrap().ends_with("Order/2"));
    assert!(calls[2].3.as_deref().unwrap().ends_with("Order/4"));

    for n in 1..=5 {
        let (status, staged) = f.staged(n).unwrap();
        assert_eq!(status.as_deref(), Some(order_status::UNPROCESSED));
        assert_eq!(staged.name, format!("#{}", 1000 + n));
        let lines: Vec<_> = staged
            .lines
            .iter()
            .map(|l| (l.item_no.as_deref().unwrap(), l.quantity))
            .collect();
        assert_eq!(lines, [("ITEM-1", 1), ("ITEM-2", 2)]);
        assert!(staged.order.is_some(), "the whole order rides along");
    }
    let (_, third) = f.staged(3).unwrap();
    assert_eq!(third.customer_no.as_deref(), Some("C00042"));
    assert!(third.mapped && third.error.is_none(), "{third:?}");
    let (_, first) = f.staged(1).unwrap();
    assert!(!first.mapped);
    assert_eq!(
        first.error.as_deref(),
        Some("no BC customer for buyer1@example.com")
    );
    assert_eq!(
        f.cursor(),
        Some(until),
        "the cursor moved to the window's end"
    );
    assert_eq!(f.counters.get(counters::ORDERS_STAGED), 5);
    assert_eq!(f.counters.get(counters::PAGES_READ), 3);
}

#[tokio::test]
async fn an_order_updated_at_the_window_edge_during_the_run_is_caught_by_the_overlap() {
    let t0 = now();
    let mut f = Fixture::new(
        2,
        vec![
            order(1, &at(t0 - secs(240))),
            order(2, &at(t0 - secs(200))),
            order(3, &at(t0 - secs(100))),
        ],
    )
    .await;
    f.set_cursor(&at(t0 - secs(600))).await;
    // While the run reads page 2, order 4 shows up in the search with an `updatedAt` before the
    // position the run has paged to (the search index lags the write): the run does not see it.
    let edge = at(t0 - secs(220));
    *f.shopify.hook.lock().unwrap() = Some(Box::new(move |call, _until, orders| {
        if call == 1 {
            orders.push(order(4, &edge));
        }
    }));
    f.run(1).await;
    assert!(f.staged(3).is_some());
    assert!(f.staged(4).is_none(), "missed by the run it appeared in");
    let until = f.cursor().unwrap();

    // The next window starts five minutes before the cursor: order 4 is in it; orders 1 to 3 are read
    // again and recognised.
    let mark = f.store.write_count();
    let counters = f.run(2).await;
    let second = f.shopify.calls().last().unwrap().clone();
    assert_eq!(
        second.0,
        Some(at(parse_time("", &until).unwrap() - secs(300)))
    );
    let (status, staged) = f.staged(4).expect("staged by the next run");
    assert_eq!(status.as_deref(), Some(order_status::UNPROCESSED));
    assert_eq!(staged.updated_at, at(t0 - secs(220)));
    assert_eq!(counters.get(counters::ORDERS_STAGED), 1);
    assert_eq!(counters.get(counters::ORDERS_UNCHANGED), 3);
    assert_eq!(
        f.staged_writes_since(mark),
        ["REC#staged-orders#gid://shopify/Order/4"]
    );
}

#[tokio::test]
async fn a_line_whose_variant_the_mirror_lists_under_its_sku_s_item_takes_the_mirror_s_variant_code()
 {
    // Line 1 (SKU ITEM-1) sells the variant sync-products exported as item ITEM-1's RED.
    let t0 = now();
    let o = order(1, &at(t0 - secs(60)));
    let variant = o.line_items[0].variant_id.clone().unwrap();
    let mut f = Fixture::new(10, vec![o]).await;
    let mut mirrored = crate::catalogue::MirroredProduct::new("ITEM-1");
    mirrored.product_id = Some("gid://shopify/Product/1".into());
    mirrored.variants = vec![crate::catalogue::MirroredVariant {
        variant_code: Some("RED".into()),
        variant_id: variant,
        ..Default::default()
    }];
    assert!(
        crate::catalogue::save(&f.store, SHOP, &mirrored, 0)
            .await
            .unwrap()
    );
    f.set_cursor(&at(t0 - secs(120))).await;
    f.run(1).await;
    let (_, staged) = f.staged(1).unwrap();
    let lines: Vec<_> = staged
        .lines
        .iter()
        .map(|l| (l.item_no.as_deref(), l.variant_code.as_deref()))
        .collect();
    assert_eq!(
        lines,
        [(Some("ITEM-1"), Some("RED")), (Some("ITEM-2"), None)]
    );
}

#[tokio::test]
async fn an_unchanged_order_is_not_written_again_and_a_changed_one_is_restaged() {
    let t0 = now();
    let mut f = Fixture::new(10, vec![order(1, &at(t0 - secs(60)))]).await;
    f.set_cursor(&at(t0 - secs(120))).await;
    f.run(1).await;
    let first = f
        .store
        .record(SHOP, STAGED_ORDERS, "gid://shopify/Order/1")
        .unwrap();

    let mark = f.store.write_count();
    let counters = f.run(2).await;
    assert_eq!(counters.get(counters::ORDERS_READ), 1);
    assert_eq!(counters.get(counters::ORDERS_UNCHANGED), 1);
    assert!(f.staged_writes_since(mark).is_empty(), "dedup: no write");
    assert_eq!(
        counters.get(counters::CUSTOMER_LOOKUPS),
        0,
        "not mapped again"
    );

    // Still unprocessed and changed in Shopify: staged again over the version read.
    f.shopify.update(1, |o| {
        o.updated_at = at(now());
        o.line_items[1].current_quantity = 5;
    });
    let counters = f.run(3).await;
    assert_eq!(counters.get(counters::ORDERS_RESTAGED), 1);
    let again = f
        .store
        .record(SHOP, STAGED_ORDERS, "gid://shopify/Order/1")
        .unwrap();
    assert_eq!(again.version, first.version + 1);
    let (_, staged) = f.staged(1).unwrap();
    assert_eq!(staged.lines[1].quantity, 5);

    // A new order that is closed already is not imported.
    let mut closed = order(2, &at(now()));
    closed.closed = true;
    f.shopify.orders.lock().unwrap().push(closed);
    let counters = f.run(4).await;
    assert_eq!(counters.get(counters::ORDERS_SKIPPED_CLOSED), 1);
    assert!(f.staged(2).is_none());
}

#[tokio::test]
async fn a_processed_order_changed_afterwards_is_flagged_and_not_reapplied() {
    let t0 = now();
    let mut f = Fixture::new(10, vec![order(1, &at(t0 - secs(60)))]).await;
    f.bc.add("C00001", "buyer1@example.com", "");
    f.set_cursor(&at(t0 - secs(120))).await;
    f.run(1).await;
    // create-sales-orders made its document and moved it to processed.
    let id = "gid://shopify/Order/1";
    assert!(
        f.store
            .move_status(
                SHOP,
                STAGED_ORDERS,
                id,
                Some(order_status::UNPROCESSED),
                Some(order_status::PROCESSED)
            )
            .await
            .unwrap()
    );

    // The BC document number written back moves `updatedAt` only: left as is.
    f.shopify.update(1, |o| o.updated_at = at(now()));
    let mark = f.store.write_count();
    let counters = f.run(2).await;
    assert_eq!(counters.get(counters::ORDERS_LEFT_AS_IS), 1);
    assert!(f.staged_writes_since(mark).is_empty());
    assert_eq!(
        f.staged(1).unwrap().0.as_deref(),
        Some(order_status::PROCESSED)
    );

    // A quantity changed in Shopify: flagged, the processed version kept.
    f.shopify.update(1, |o| {
        o.updated_at = at(now());
        o.line_items[0].current_quantity = 3;
    });
    let counters = f.run(3).await;
    assert_eq!(counters.get(counters::ORDERS_CHANGED_AFTER_PROCESSING), 1);
    let (status, staged) = f.staged(1).unwrap();
    assert_eq!(
        status.as_deref(),
        Some(order_status::CHANGED_AFTER_PROCESSING)
    );
    assert_eq!(staged.error.as_deref(), Some(CHANGED_AFTER_PROCESSING));
    assert_eq!(staged.lines[0].quantity, 1, "the processed version is kept");
    let body = f.store.record(SHOP, STAGED_ORDERS, id).unwrap().body;
    assert_eq!(
        cue_detail(&body),
        format!("#1001: {CHANGED_AFTER_PROCESSING}")
    );
    assert_eq!(
        f.store
            .count_by_status(SHOP, STAGED_ORDERS, order_status::CHANGED_AFTER_PROCESSING)
            .await
            .unwrap(),
        1
    );

    // Changed again: it stays flagged, nothing is re-applied or rewritten.
    f.shopify.update(1, |o| {
        o.updated_at = at(now());
        o.line_items[0].current_quantity = 4;
    });
    let mark = f.store.write_count();
    let counters = f.run(4).await;
    assert_eq!(counters.get(counters::ORDERS_LEFT_AS_IS), 1);
    assert!(f.staged_writes_since(mark).is_empty());
    assert_eq!(
        f.staged(1).unwrap().0.as_deref(),
        Some(order_status::CHANGED_AFTER_PROCESSING)
    );
}

#[tokio::test]
async fn an_unmappable_order_stays_unprocessed_with_its_reason() {
    let t0 = now();
    let mut o = order(1, &at(t0 - secs(60)));
    o.line_items[1].sku = None;
    let mut f = Fixture::new(10, vec![o]).await;
    f.set_cursor(&at(t0 - secs(120))).await;
    let counters = f.run(1).await;
    assert_eq!(counters.get(counters::ORDERS_UNMAPPED), 1);
    let (status, staged) = f.staged(1).unwrap();
    assert_eq!(status.as_deref(), Some(order_status::UNPROCESSED));
    assert!(!staged.mapped);
    assert_eq!(staged.customer_no, None);
    assert_eq!(
        staged.error.as_deref(),
        Some("no BC customer for buyer1@example.com; line 'Product 2' has no SKU")
    );
    let body = f
        .store
        .record(SHOP, STAGED_ORDERS, "gid://shopify/Order/1")
        .unwrap()
        .body;
    assert_eq!(
        cue_detail(&body),
        "#1001: no BC customer for buyer1@example.com; line 'Product 2' has no SKU"
    );
    assert_eq!(
        f.store
            .count_by_status(SHOP, STAGED_ORDERS, order_status::UNPROCESSED)
            .await
            .unwrap(),
        1
    );
    assert_eq!(f.bc.count(), 0, "no customer created without auto-create");
}

#[tokio::test]
async fn a_customer_creation_whose_answer_was_lost_is_found_by_its_probe_and_made_once() {
    let t0 = now();
    // Two orders of one buyer on one page, and one more on the next page.
    let mut orders: Vec<ShopifyOrder> = (1..=3)
        .map(|n| order(n, &at(t0 - secs(100 - i64::from(n)))))
        .collect();
    for o in &mut orders {
        o.email = Some("ann@example.com".into());
        o.customer.as_mut().unwrap().email = Some("ann@example.com".into());
    }
    let mut f = Fixture::new(2, orders).await;
    f.settings.auto_create_unknown_customers = true;
    f.set_cursor(&at(t0 - secs(600))).await;
    // BC creates the customer, and the answer is lost on the way back.
    f.bc.faults.drop_answer_next(
        "bc.customers.create",
        1,
        Faults::connection_reset("business_central"),
    );
    f.next_job(1).await;
    let first = f.invoke().await;
    assert!(
        matches!(&first, Err(e) if e.is_retryable()),
        "the lost answer fails the invocation, to be retried: {first:?}"
    );
    assert_eq!(f.bc.count(), 1, "BC has the customer");
    let (_, waiting) = f.staged(1).unwrap();
    assert!(waiting.customer_pending && !waiting.mapped);
    assert_eq!(
        f.cursor(),
        Some(at(t0 - secs(600))),
        "the cursor did not move"
    );

    // The retry probes before it sends: the customer is found, not created again.
    let mut outcome = f.invoke().await.unwrap();
    while let RunOutcome::Continue { .. } = outcome {
        outcome = f.invoke().await.unwrap();
    }
    assert!(
        matches!(outcome, RunOutcome::Finished { .. }),
        "{outcome:?}"
    );
    assert_eq!(f.bc.count(), 1, "one customer");
    assert_eq!(f.bc.faults.calls("bc.customers.create"), 1, "never resent");
    assert_eq!(f.counters.get(engine::counters::EFFECTS_FOUND_BY_PROBE), 1);
    for n in 1..=3 {
        let (status, staged) = f.staged(n).unwrap();
        assert_eq!(status.as_deref(), Some(order_status::UNPROCESSED));
        assert_eq!(staged.customer_no.as_deref(), Some("C00001"), "order {n}");
        assert!(staged.mapped && !staged.customer_pending, "order {n}");
    }
    assert!(f.cursor().unwrap() > at(t0 - secs(600)));
}

#[tokio::test]
async fn a_customer_bc_refuses_becomes_the_orders_reason_and_the_run_goes_on() {
    let t0 = now();
    let mut f = Fixture::new(10, vec![order(1, &at(t0 - secs(60)))]).await;
    f.settings.auto_create_unknown_customers = true;
    f.set_cursor(&at(t0 - secs(120))).await;
    f.bc.faults.fail_next(
        "bc.customers.create",
        1,
        SyncError::Rejected {
            service: "business_central",
            code: "BadRequest".into(),
            message: "the customer template is missing".into(),
        },
    );
    let counters = f.run(1).await;
    assert_eq!(counters.get(counters::CUSTOMERS_REFUSED), 1);
    let (status, staged) = f.staged(1).unwrap();
    assert_eq!(status.as_deref(), Some(order_status::UNPROCESSED));
    assert!(!staged.mapped && !staged.customer_pending);
    let error = staged.error.unwrap();
    assert!(
        error.starts_with("BC refused to create a customer for buyer1@example.com"),
        "{error}"
    );
    assert!(f.cursor().is_some());
}

#[test]
fn the_change_hash_covers_lines_quantities_and_shipping_only() {
    let o = order(1, "2026-05-01T00:00:00Z");
    let h = staged::change_hash(&o);
    let mut later = o.clone();
    later.updated_at = "2026-05-02T00:00:00Z".into();
    later.note = Some("BC Doc. No. written back".into());
    later.totals.shipping.shop.amount = "5.00".into();
    assert_eq!(staged::change_hash(&later), h, "same lines, same shipping");
    let mut q = o.clone();
    q.line_items[0].current_quantity = 2;
    assert_ne!(staged::change_hash(&q), h);
    let mut s = o.clone();
    s.totals.shipping.shop.amount = "7.5".into();
    assert_ne!(staged::change_hash(&s), h);
    let mut l = o.clone();
    l.line_items.push(line(1, 3, "ITEM-3", 1));
    assert_ne!(staged::change_hash(&l), h);
}

#[test]
fn a_huge_order_is_staged_without_its_copy_and_stays_under_the_limit() {
    let mut o = order(1, "2026-05-01T00:00:00Z");
    o.note = Some("x".repeat(300 * 1024));
    let mut staged = StagedOrder::new(&o, mapping::map_lines(&settings(), &o, &Default::default()));
    let body = staged.to_body().unwrap();
    assert!(body.len() <= staged::MAX_BODY_BYTES);
    assert!(staged.order_omitted && staged.order.is_none());
    assert_eq!(staged.lines.len(), 2, "the lines are kept");
}

shopsync_test_support::unused_shopify_inventory_api!(Shopify);
shopsync_test_support::no_shopify_usage!(Shopify);
shopsync_test_support::unused_shopify_catalog_api!(Shopify);
shopsync_test_support::unused_shopify_companies_api!(Shopify);
shopsync_test_support::unused_shopify_b2b_catalogs_api!(Shopify);
shopsync_test_support::unused_shopify_customers_api!(Shopify);
shopsync_test_support::unused_bc_inventory_api!(Bc);
shopsync_test_support::unused_bc_items_api!(Bc);
shopsync_test_support::unused_bc_customers_api!(Bc);

#[tokio::test]
async fn a_run_over_a_date_window_imports_closed_orders_and_leaves_the_cursor() {
    let t0 = now();
    let mut orders: Vec<ShopifyOrder> = (1..=3)
        .map(|n| order(n, &at(t0 - secs(3 * 86_400 + i64::from(n)))))
        .collect();
    orders[1].closed = true;
    let mut f = Fixture::new(25, orders).await;
    f.settings.default_customer_no = Some("GUEST".into());
    let cursor = at(t0 - secs(60));
    f.set_cursor(&cursor).await;
    f.next_job(1).await;
    f.job.options.orders_from = Some(
        format_time(t0 - secs(4 * 86_400))
            .unwrap()
            .replace("+00:00", "Z"),
    );
    f.job.options.orders_to = Some(
        format_time(t0 - secs(2 * 86_400))
            .unwrap()
            .replace("+00:00", "Z"),
    );
    loop {
        if let RunOutcome::Finished { .. } = f.invoke().await.unwrap() {
            break;
        }
    }
    assert!(f.staged(2).is_some(), "the closed order is imported");
    assert_eq!(f.counters.get(counters::ORDERS_STAGED), 3);
    let (since, until, open_only, _) = f.shopify.calls()[0].clone();
    assert_eq!(since, f.job.options.orders_from);
    assert_eq!(Some(until), f.job.options.orders_to);
    assert!(!open_only);
    assert_eq!(
        f.cursor(),
        Some(cursor),
        "the incremental cursor did not move"
    );

    // A window the options cannot describe fails the run with the reason.
    f.next_job(2).await;
    f.job.options.orders_from = Some("last week".into());
    let err = f.invoke().await.unwrap_err();
    assert!(err.to_string().contains("orders_from"), "{err}");
}

#[tokio::test]
async fn a_backlog_is_read_in_bulk_polled_and_staged_across_invocations_like_pages() {
    let t0 = now();
    let n = (bulk::STAGE_CHUNK * 2 + 7) as u32;
    let orders = (1..=n)
        .map(|i| order(i, &at(t0 - secs(3_600 - i64::from(i)))))
        .collect();
    let mut f = Fixture::new(8, orders).await;
    f.settings.default_customer_no = Some("GUEST".into());
    f.settings.customer_mapping_type =
        shopsync_domain::settings::CustomerMappingType::DefaultCustomer;
    *f.shopify.bulk_threshold.lock().unwrap() = Some(20);
    *f.shopify.bulk_polls.lock().unwrap() = 3;
    f.next_job(1).await;
    // One step an invocation: the bulk operation is polled, and its orders staged, across
    // continuations, each of which downloads the file again.
    f.saved.deadline.store(true, Ordering::Relaxed);
    let mut invocations = 0;
    loop {
        invocations += 1;
        assert!(invocations < 40, "the run does not end");
        match f.invoke().await.unwrap() {
            RunOutcome::Continue { .. } => {}
            RunOutcome::Finished { .. } => break,
            other => panic!("{other:?}"),
        }
    }
    assert!(f.shopify.calls().is_empty(), "no page was read");
    let windows = f.shopify.bulk_windows.lock().unwrap().clone();
    assert_eq!(windows.len(), 1, "one bulk read: {windows:?}");
    let (since, until, open_only) = windows[0].clone();
    assert_eq!(
        (since, open_only),
        (None, true),
        "the first sync reads open orders"
    );
    assert_eq!(f.counters.get(bulk::counters::BULK_READS), 1);
    assert_eq!(f.counters.get(bulk::counters::BULK_READ_POLLS), 4);
    assert_eq!(
        f.shopify.bulk_downloads.load(Ordering::Relaxed),
        3,
        "one download per invocation that staged a chunk"
    );
    assert_eq!(f.counters.get(counters::ORDERS_STAGED), u64::from(n));
    for i in [1, bulk::STAGE_CHUNK as u32 + 1, n] {
        let (status, staged) = f.staged(i).unwrap();
        assert_eq!(status.as_deref(), Some(order_status::UNPROCESSED));
        assert_eq!(staged.customer_no.as_deref(), Some("GUEST"));
        assert!(staged.mapped, "{staged:?}");
    }
    assert_eq!(
        f.cursor(),
        Some(until),
        "the cursor moved to the window's end"
    );

    // The same window again is not written again, paged or not.
    let mark = f.store.writes().len();
    f.saved.deadline.store(false, Ordering::Relaxed);
    let counters = f.run(2).await;
    assert!(f.staged_writes_since(mark).is_empty());
    assert_eq!(counters.get(counters::ORDERS_STAGED), 0);
}

#[tokio::test]
async fn a_failed_bulk_read_pages_the_window_instead() {
    let t0 = now();
    let orders = (1..=30)
        .map(|i| order(i, &at(t0 - secs(3_600 - i64::from(i)))))
        .collect();
    let mut f = Fixture::new(8, orders).await;
    f.settings.default_customer_no = Some("GUEST".into());
    f.settings.customer_mapping_type =
        shopsync_domain::settings::CustomerMappingType::DefaultCustomer;
    *f.shopify.bulk_threshold.lock().unwrap() = Some(20);
    f.shopify.bulk_fails.store(true, Ordering::Relaxed);
    let counters = f.run(1).await;
    assert_eq!(counters.get(bulk::counters::BULK_READS_FAILED), 1);
    assert_eq!(f.shopify.calls().len(), 4, "30 orders in pages of 8");
    assert_eq!(counters.get(counters::ORDERS_STAGED), 30);
    assert_eq!(f.shopify.bulk_downloads.load(Ordering::Relaxed), 0);
}

#[tokio::test]
async fn created_buyers_take_their_countrys_template_and_a_missing_one_is_a_reason() {
    let t0 = now();
    let address = |country: &str| shopsync_domain::orders::Address {
        first_name: None,
        last_name: None,
        company: None,
        address1: Some("1 Main Street".into()),
        address2: None,
        city: Some("Town".into()),
        province_code: None,
        zip: Some("12345".into()),
        country_code: Some(country.into()),
        phone: None,
    };
    let mut orders: Vec<ShopifyOrder> = (1..=5)
        .map(|n| order(n, &at(t0 - secs(100 - i64::from(n)))))
        .collect();
    // Billing in Germany (shipping elsewhere), shipping only in the US, none, France, Germany.
    orders[0].billing_address = Some(address("DE"));
    orders[0].shipping_address = Some(address("FR"));
    orders[1].shipping_address = Some(address("US"));
    orders[3].billing_address = Some(address("FR"));
    orders[4].billing_address = Some(address("DE"));
    let mut f = Fixture::new(2, orders).await;
    f.settings.auto_create_unknown_customers = true;
    f.settings.customer_template_no = Some("TPL-ANY".into());
    f.settings.customer_templates = vec![
        shopsync_domain::settings::CustomerTemplate {
            country_code: "DE".into(),
            template_customer_no: "TPL-DE".into(),
        },
        shopsync_domain::settings::CustomerTemplate {
            country_code: "FR".into(),
            template_customer_no: "MISSING-FR".into(),
        },
    ];
    f.set_cursor(&at(t0 - secs(600))).await;
    f.run(1).await;
    let mut created = f.bc.created_from.lock().unwrap().clone();
    created.sort();
    let pair = |e: &str, t: &str| (e.to_string(), t.to_string());
    assert_eq!(
        created,
        vec![
            pair("buyer1@example.com", "TPL-DE"),
            pair("buyer2@example.com", "TPL-ANY"),
            pair("buyer3@example.com", "TPL-ANY"),
            pair("buyer5@example.com", "TPL-DE"),
        ]
    );
    // Read once each over three pages, the missing one included.
    let mut reads = f.bc.template_reads.lock().unwrap().clone();
    reads.sort();
    assert_eq!(reads, vec!["MISSING-FR", "TPL-ANY", "TPL-DE"]);
    let (status, staged) = f.staged(4).unwrap();
    assert_eq!(status.as_deref(), Some(order_status::UNPROCESSED));
    assert!(!staged.mapped && !staged.customer_pending);
    let error = staged.error.unwrap();
    assert!(
        error.contains("BC customer template 'MISSING-FR' (customer_templates, country FR) does not exist in BC"),
        "{error}"
    );
    assert!(f.staged(5).unwrap().1.customer_error.is_none());
}
