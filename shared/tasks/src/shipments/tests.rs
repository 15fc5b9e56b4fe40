//! `sync-shipments` on the engine against in-memory doubles: a Shopify double that applies
//! `fulfillmentCreate` as Shopify does (remaining quantities, userErrors when they do not suffice)
//! and can lose its answer after applying it, a BC double with posted shipments listed by cursor and
//! tracking, and the record store of `shopsync-test-support`.
//!
//! What is proven here: a shipment becomes one fulfillment with tracking and the shipping
//! confirmation setting, and a re-run does nothing; a lost answer is found by the probe on the retry
//! and across jobs (a job that died with a request in flight); two shipments asking for the same
//! quantities each keep their own fulfillment; each per-shipment outcome of the reference (nothing
//! to fulfil, not a Shopify order, order unknown then retried, no fulfillment lines, userErrors).

use super::probe::CLAIMS;
use super::record::{NO_FULFILLMENT_LINES, NO_LINES, RequestResult, ShipmentBody};
use super::*;
use crate::RunOutcome;
use crate::engine::ShopClients;
use crate::orders::mapping::map_lines;
use crate::orders::staged::StagedOrder;
use crate::orders::sync::{CURSORS, format_time};
use crate::test_run::{TaskHarness, deref_to_harness};
use shopsync_domain::inventory::UserError;
use shopsync_domain::job::JobCounters;
use shopsync_domain::orders::{
    FulfilledLine, FulfillmentOrder, FulfillmentOrderLine, Page, ShopifyFulfillment, ShopifyOrder,
};
use shopsync_domain::ports::{Record, RecordStore};
use shopsync_domain::sales::{
    Decimal, PostedShipment, PostedShipmentLine, SalesDocumentKind, ShipmentBatch,
    ShipmentTracking, to_code,
};
use shopsync_domain::staging::{ORDER_DOCUMENTS, OrderDocumentLink, STAGED_ORDERS};
use shopsync_test_support::{Faults, MemoryStore};
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

const SHOP: &str = "OR";
const CREATE: &str = "shopify.fulfillment_create";

/// Shopify's orders and fulfillments.
#[derive(Default)]
struct Shopify {
    orders: Mutex<Vec<ShopifyOrder>>,
    fulfillments: Mutex<Vec<(String, ShopifyFulfillment)>>,
    /// Every applied request, in order.
    applied: Mutex<Vec<FulfillmentRequest>>,
    faults: Faults,
}

impl Shopify {
    fn fulfillments_of(&self, order_id: &str) -> Vec<ShopifyFulfillment> {
        self.fulfillments
            .lock()
            .unwrap()
            .iter()
            .filter(|(o, _)| o == order_id)
            .map(|(_, f)| f.clone())
            .collect()
    }

    /// Apply `r` as Shopify does: everything or nothing.
    fn apply(&self, r: &FulfillmentRequest) -> FulfillmentOutcome {
        let mut orders = self.orders.lock().unwrap();
        let refused = |message: &str| FulfillmentOutcome {
            fulfillment_id: None,
            status: None,
            user_errors: vec![UserError {
                code: None,
                field: vec!["fulfillment".into()],
                message: message.into(),
            }],
        };
        let Some(order) = orders.iter_mut().find(|o| o.id == r.order_id) else {
            return refused("Fulfillment order does not exist.");
        };
        let mut lines = Vec::new();
        for entry in &r.fulfillment_orders {
            for (line_id, qty) in &entry.lines {
                match order.fulfillment_order_line(line_id) {
                    Some((fo, l)) if fo.status != "CLOSED" && l.remaining_quantity >= *qty => {
                        lines.push((line_id.clone(), l.line_item_id.clone(), *qty));
                    }
                    _ => return refused("Invalid fulfillment order line item quantity requested."),
                }
            }
        }
        for l in order
            .fulfillment_orders
            .iter_mut()
            .flat_map(|fo| fo.lines.iter_mut())
        {
            for (_, _, qty) in lines.iter().filter(|(id, _, _)| *id == l.id) {
                l.remaining_quantity -= qty;
            }
        }
        let mut all = self.fulfillments.lock().unwrap();
        let id = format!("gid://shopify/Fulfillment/{}", all.len() + 1);
        all.push((
            r.order_id.clone(),
            ShopifyFulfillment {
                id: id.clone(),
                status: "SUCCESS".into(),
                created_at: format_time(time::OffsetDateTime::now_utc()).unwrap(),
                tracking: r.tracking.iter().cloned().collect(),
                lines: lines
                    .into_iter()
                    .map(|(_, line_item_id, quantity)| FulfilledLine {
                        line_item_id,
                        quantity,
                    })
                    .collect(),
            },
        ));
        self.applied.lock().unwrap().push(r.clone());
        FulfillmentOutcome {
            fulfillment_id: Some(id),
            status: Some("SUCCESS".into()),
            user_errors: Vec::new(),
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
        unreachable!("sync-shipments reads orders one by one")
    }
    async fn order(&self, id: &str) -> Result<Option<ShopifyOrder>> {
        self.faults.run("shopify.order", || {
            Ok(self
                .orders
                .lock()
                .unwrap()
                .iter()
                .find(|o| o.id == id)
                .cloned())
        })
    }
    async fn order_fulfillments(&self, order_id: &str) -> Result<Option<Vec<ShopifyFulfillment>>> {
        self.faults.run("shopify.order_fulfillments", || {
            Ok(Some(self.fulfillments_of(order_id)))
        })
    }
    async fn fulfillment_create(&self, r: &FulfillmentRequest) -> Result<FulfillmentOutcome> {
        self.faults.run(CREATE, || Ok(self.apply(r)))
    }
    async fn order_set_custom_attributes(
        &self,
        _order_id: &str,
        _attributes: &[shopsync_domain::orders::OrderAttribute],
    ) -> Result<shopsync_domain::orders::OrderUpdateOutcome> {
        unreachable!("sync-shipments writes no order")
    }
    async fn order_close(
        &self,
        _order_id: &str,
    ) -> Result<shopsync_domain::orders::OrderCloseOutcome> {
        unreachable!("sync-shipments closes no order")
    }
    async fn payouts_since(
        &self,
        _since: Option<u64>,
        _after: Option<&str>,
    ) -> Result<Page<shopsync_domain::orders::ShopifyPayout>> {
        unreachable!("sync-shipments reads no payouts")
    }
    async fn balance_transactions_since(
        &self,
        _since: Option<&str>,
        _after: Option<&str>,
    ) -> Result<Page<shopsync_domain::orders::BalanceTransaction>> {
        unreachable!("sync-shipments reads no balance transactions")
    }
}

shopsync_test_support::unused_shopify_inventory_api!(Shopify);
shopsync_test_support::no_shopify_usage!(Shopify);
shopsync_test_support::unused_shopify_catalog_api!(Shopify);
shopsync_test_support::unused_shopify_companies_api!(Shopify);
shopsync_test_support::unused_shopify_b2b_catalogs_api!(Shopify);
shopsync_test_support::unused_shopify_customers_api!(Shopify);

/// BC's posted shipments and their tracking.
#[derive(Default)]
struct Bc {
    shipments: Mutex<Vec<PostedShipment>>,
    tracking: Mutex<HashMap<String, ShipmentTracking>>,
}

#[async_trait]
impl shopsync_domain::sales::BcSalesApi for Bc {
    async fn find_customer_by_email(
        &self,
        _email: &str,
    ) -> Result<Vec<shopsync_domain::sales::BcCustomer>> {
        unreachable!("sync-shipments looks up no customer")
    }
    async fn find_customer_by_phone(
        &self,
        _phone: &str,
    ) -> Result<Vec<shopsync_domain::sales::BcCustomer>> {
        unreachable!("sync-shipments looks up no customer")
    }
    async fn find_customer_by_tax_registration(
        &self,
        _number: &str,
    ) -> Result<Vec<shopsync_domain::sales::BcCustomer>> {
        unreachable!("sync-shipments looks up no customer")
    }
    async fn customer_template(
        &self,
        _number: &str,
    ) -> Result<shopsync_domain::sales::CustomerDefaults> {
        unreachable!("sync-shipments reads no template")
    }
    async fn create_customer(
        &self,
        _customer: &shopsync_domain::sales::NewCustomer,
    ) -> Result<shopsync_domain::sales::BcCustomer> {
        unreachable!("sync-shipments creates no customer")
    }
    async fn create_sales_document(
        &self,
        _draft: &shopsync_domain::sales::SalesDocumentDraft,
    ) -> Result<shopsync_domain::sales::SalesDocument> {
        unreachable!("sync-shipments creates no document")
    }
    async fn find_sales_documents_by_external_number(
        &self,
        _number: &str,
    ) -> Result<Vec<shopsync_domain::sales::SalesDocumentRef>> {
        unreachable!("sync-shipments looks up no document")
    }
    async fn posted_shipments_since(
        &self,
        cursor: Option<&shopsync_domain::sales::ShipmentCursor>,
    ) -> Result<ShipmentBatch> {
        let mut shipments: Vec<PostedShipment> = self
            .shipments
            .lock()
            .unwrap()
            .iter()
            .filter(|s| cursor.is_none_or(|c| c.is_before(s.modified_ms, &s.number)))
            .cloned()
            .collect();
        shipments.sort_by_key(PostedShipment::cursor);
        Ok(ShipmentBatch {
            next_cursor: shipments.last().map(PostedShipment::cursor),
            shipments,
        })
    }
    async fn shipment_tracking(
        &self,
        page: &str,
        _company_name: &str,
        shipment_number: &str,
    ) -> Result<Option<ShipmentTracking>> {
        assert_eq!(page, "ShopsyncShipmentTracking");
        Ok(self.tracking.lock().unwrap().get(shipment_number).cloned())
    }
    async fn delete_sales_document(
        &self,
        _document: &shopsync_domain::sales::SalesDocumentRef,
    ) -> Result<()> {
        unreachable!("sync-shipments deletes no document")
    }
}

shopsync_test_support::unused_bc_inventory_api!(Bc);
shopsync_test_support::unused_bc_items_api!(Bc);
shopsync_test_support::unused_bc_customers_api!(Bc);

/// A shop, its Shopify orders and BC shipments, and the job that runs sync-shipments for it. The
/// shop's store, settings, job, saved checkpoint and summed counters are its [`TaskHarness`]'s.
struct Fixture {
    shopify: Arc<Shopify>,
    bc: Arc<Bc>,
    harness: TaskHarness,
}

deref_to_harness!(Fixture);

impl Fixture {
    fn new() -> Fixture {
        let shopify = Arc::new(Shopify::default());
        let bc = Arc::new(Bc::default());
        let mut settings = crate::orders::tests::settings();
        settings.shipment_tracking_page = Some("ShopsyncShipmentTracking".into());
        let clients = ShopClients {
            shopify: shopify.clone(),
            bc: bc.clone(),
        };
        Fixture {
            harness: TaskHarness::new(
                MemoryStore::new(),
                clients,
                settings,
                TaskKind::SyncShipments,
            ),
            shopify,
            bc,
        }
    }

    /// Order `n` in Shopify (ITEM-1 × 1, ITEM-2 × 2, one open fulfillment order at `LOC-1`), staged
    /// and made into BC sales order `SO-n` (its link written).
    async fn add_order(&self, n: u32) -> ShopifyOrder {
        let mut order = crate::orders::tests::order(n, "2026-05-01T00:00:00Z");
        order.fulfillment_orders = vec![FulfillmentOrder {
            id: format!("gid://shopify/FulfillmentOrder/{n}"),
            status: "OPEN".into(),
            request_status: "UNSUBMITTED".into(),
            location_id: Some("LOC-1".into()),
            lines: order
                .line_items
                .iter()
                .map(|l| FulfillmentOrderLine {
                    id: format!("FOL-{}", l.id),
                    line_item_id: l.id.clone(),
                    total_quantity: l.quantity,
                    remaining_quantity: l.quantity,
                })
                .collect(),
        }];
        self.shopify.orders.lock().unwrap().push(order.clone());
        let mut staged = StagedOrder::new(
            &order,
            map_lines(&self.settings, &order, &Default::default()),
        );
        let staged = Record::new(order.id.clone(), None, staged.to_body().unwrap());
        self.store
            .put_records(SHOP, STAGED_ORDERS, &[staged])
            .await
            .unwrap();
        self.link(&order.name, &order.id).await;
        order
    }

    async fn link(&self, name: &str, order_id: &str) {
        let link = OrderDocumentLink {
            order_id: order_id.into(),
            name: name.into(),
            kind: SalesDocumentKind::Order,
            number: format!("SO-{name}"),
            document_id: format!("doc-{name}"),
        };
        let record = Record::new(to_code(name), None, serde_json::to_string(&link).unwrap());
        self.store
            .put_records(SHOP, ORDER_DOCUMENTS, &[record])
            .await
            .unwrap();
    }

    /// Post shipment `n` of the order named `order_name`: (type, item, quantity) lines.
    fn post(&self, n: u32, order_name: &str, lines: &[(&str, &str, &str)]) -> String {
        let number = format!("S-SHPT{n:06}");
        self.bc.shipments.lock().unwrap().push(PostedShipment {
            id: format!("shipment-{n}"),
            number: number.clone(),
            order_number: format!("SO-{order_name}"),
            external_document_number: to_code(order_name),
            customer_number: "C1".into(),
            shipment_date: "2026-05-02".into(),
            modified_ms: shopsync_domain::time::now_millis() + i64::from(n),
            lines: lines
                .iter()
                .enumerate()
                .map(|(i, (line_type, item, qty))| PostedShipmentLine {
                    sequence: (i as i64 + 1) * 10_000,
                    line_type: (*line_type).into(),
                    item_number: (*item).into(),
                    description: String::new(),
                    quantity: Decimal::parse(qty).unwrap(),
                })
                .collect(),
        });
        number
    }

    async fn invoke(&mut self) -> Result<RunOutcome> {
        self.harness.invoke(&SyncShipmentsTask).await
    }

    /// Start job `n`: no checkpoint, counters from zero.
    async fn next_job(&mut self, n: u32) {
        self.harness.next_job(TaskKind::SyncShipments, n).await
    }

    /// Invocations of the current job until it finishes.
    async fn finish(&mut self) -> JobCounters {
        self.harness.finish(&SyncShipmentsTask).await
    }

    /// A whole run as new job `n`.
    async fn run(&mut self, n: u32) -> JobCounters {
        self.next_job(n).await;
        self.finish().await
    }

    fn shipment(&self, n: u32) -> Option<(Option<String>, ShipmentBody)> {
        self.store
            .record(SHOP, SHIPMENTS, &format!("shipment-{n}"))
            .map(|r| (r.status, serde_json::from_str(&r.body).unwrap()))
    }

    fn status(&self, n: u32) -> Option<String> {
        self.shipment(n).and_then(|(s, _)| s)
    }

    fn creates(&self) -> u64 {
        self.shopify.faults.calls(CREATE)
    }
}

/// The counters named in `expected` have these values.
fn counts(c: &JobCounters, expected: &[(&str, u64)]) {
    for (name, value) in expected {
        assert_eq!(c.get(name), *value, "{name}: {c:?}");
    }
}

fn lost() -> SyncError {
    Faults::connection_reset("Shopify")
}

#[tokio::test]
async fn a_shipment_is_fulfilled_once_with_tracking_and_a_rerun_does_nothing() {
    let mut f = Fixture::new();
    let order = f.add_order(1).await;
    let number = f.post(
        1,
        &order.name,
        &[("Item", "ITEM-1", "1"), ("Item", "item-2", "2")],
    );
    f.bc.tracking.lock().unwrap().insert(
        number.clone(),
        ShipmentTracking {
            shipment_number: number.clone(),
            tracking_number: "1Z999".into(),
            company: Some("UPS".into()),
            url: None,
        },
    );
    f.settings.send_shipping_confirmation = false;
    let c = f.run(1).await;
    counts(
        &c,
        &[
            (counters::SHIPMENTS_FULFILLED, 1),
            (counters::FULFILLMENTS_CREATED, 1),
        ],
    );
    let applied = f.shopify.applied.lock().unwrap().clone();
    assert_eq!(applied.len(), 1);
    assert!(!applied[0].notify_customer);
    let tracking = applied[0].tracking.clone().unwrap();
    assert_eq!(
        (tracking.number.as_deref(), tracking.company.as_deref()),
        (Some("1Z999"), Some("UPS"))
    );
    assert_eq!(applied[0].fulfillment_orders[0].lines.len(), 2);
    let (status, body) = f.shipment(1).unwrap();
    assert_eq!(status.as_deref(), Some(shipment_status::FULFILLED));
    assert_eq!(body.fulfillment_ids(), vec!["gid://shopify/Fulfillment/1"]);
    assert_eq!(body.name, number);
    assert!(
        f.store
            .record(SHOP, CURSORS, plan::SHIPMENTS_CURSOR)
            .is_some()
    );
    assert!(f.store.record(SHOP, CLAIMS, &order.id).is_some());

    // Read again (the cursor is rewound) and left alone.
    let c = f.run(2).await;
    counts(
        &c,
        &[
            (counters::SHIPMENTS_READ, 1),
            (counters::SHIPMENTS_ALREADY_SYNCED, 1),
        ],
    );
    assert_eq!(f.creates(), 1, "nothing sent again");
    assert_eq!(
        f.shopify.faults.calls("shopify.order"),
        1,
        "nothing read again"
    );
}

#[tokio::test]
async fn each_shipment_gets_the_reference_outcome() {
    let mut f = Fixture::new();
    let order = f.add_order(1).await;
    f.post(
        1,
        &order.name,
        &[("Comment", "", "0"), ("Item", "ITEM-1", "0")],
    );
    f.post(2, "#9999", &[("Item", "ITEM-1", "1")]);
    f.post(3, &order.name, &[("Item", "OTHER", "1")]);
    // Linked, but not (yet) in Shopify.
    f.link("#1002", "gid://shopify/Order/2").await;
    f.post(4, "#1002", &[("Item", "ITEM-2", "1")]);
    // Every invocation takes one step.
    f.saved.deadline.store(true, Ordering::Relaxed);
    let c = f.run(1).await;
    counts(&c, &[(counters::SHIPMENTS_READ, 4)]);
    assert_eq!(
        f.status(1).as_deref(),
        Some(shipment_status::NOTHING_TO_FULFIL)
    );
    assert_eq!(f.shipment(1).unwrap().1.error.as_deref(), Some(NO_LINES));
    assert_eq!(f.shipment(2), None, "not a Shopify order: no record");
    counts(&c, &[(counters::SHIPMENTS_NOT_SHOPIFY, 1)]);
    assert_eq!(f.status(3).as_deref(), Some(shipment_status::ERROR));
    assert_eq!(
        f.shipment(3).unwrap().1.error.as_deref(),
        Some(NO_FULFILLMENT_LINES)
    );
    assert_eq!(f.status(4).as_deref(), Some(shipment_status::NOT_SYNCED));
    assert!(
        f.shipment(4)
            .unwrap()
            .1
            .error
            .unwrap()
            .contains("not found")
    );
    counts(
        &c,
        &[
            (counters::SHIPMENTS_ORDER_NOT_FOUND, 1),
            (crate::engine::counters::SKIPPED_RECORDS, 3),
        ],
    );
    assert_eq!(f.creates(), 0);

    // The order arrives; the waiting shipment is fulfilled by the next run (read again, or from the
    // list of waiting shipments once the rewind no longer reaches it).
    f.add_order(2).await;
    f.bc.shipments
        .lock()
        .unwrap()
        .iter_mut()
        .for_each(|s| s.modified_ms -= 3_600_000);
    let c = f.run(2).await;
    counts(
        &c,
        &[
            (counters::SHIPMENTS_READ, 0),
            (counters::SHIPMENTS_RETRIED, 1),
        ],
    );
    assert_eq!(f.status(4).as_deref(), Some(shipment_status::FULFILLED));
    assert_eq!(f.shipment(4).unwrap().1.error, None);
    assert_eq!(f.creates(), 1);
}

#[tokio::test]
async fn a_lost_answer_is_found_by_the_probe_on_the_retry() {
    let mut f = Fixture::new();
    let order = f.add_order(1).await;
    f.post(1, &order.name, &[("Item", "ITEM-2", "2")]);
    f.shopify.faults.drop_answer_next(CREATE, 1, lost());
    f.next_job(1).await;
    assert!(f.invoke().await.unwrap_err().is_retryable());
    let c = f.finish().await;
    counts(
        &c,
        &[
            (crate::engine::counters::EFFECTS_FOUND_BY_PROBE, 1),
            (counters::FULFILLMENTS_FOUND_BY_PROBE, 1),
        ],
    );
    assert_eq!(f.creates(), 1, "not sent again");
    assert_eq!(f.shopify.fulfillments_of(&order.id).len(), 1);
    assert_eq!(f.status(1).as_deref(), Some(shipment_status::FULFILLED));
}

#[tokio::test]
async fn a_job_that_died_with_a_request_in_flight_does_not_make_a_second_fulfillment() {
    let mut f = Fixture::new();
    let order = f.add_order(1).await;
    f.post(1, &order.name, &[("Item", "ITEM-1", "1")]);
    f.post(2, &order.name, &[("Item", "ITEM-2", "1")]);
    // Job 1 creates shipment 1's fulfillment and never learns it; it dies for good.
    f.shopify.faults.drop_answer_next(CREATE, 1, lost());
    f.next_job(1).await;
    assert!(f.invoke().await.is_err());
    let (_, body) = f.shipment(1).unwrap();
    assert_eq!(body.requests[0].result, RequestResult::Pending);

    // Job 2 plans both again: shipment 1 is probed first and found, shipment 2 was never sent.
    let c = f.run(2).await;
    counts(
        &c,
        &[
            (counters::SHIPMENTS_RESUMED, 2),
            (counters::FULFILLMENTS_FOUND_BY_PROBE, 1),
        ],
    );
    assert_eq!(f.creates(), 2, "one create each, none twice");
    assert_eq!(f.shopify.fulfillments_of(&order.id).len(), 2);
    assert_eq!(f.status(1).as_deref(), Some(shipment_status::FULFILLED));
    assert_eq!(f.status(2).as_deref(), Some(shipment_status::FULFILLED));
}

#[tokio::test]
async fn shipments_asking_for_the_same_quantities_keep_their_own_fulfillments() {
    let mut f = Fixture::new();
    let order = f.add_order(1).await;
    f.post(1, &order.name, &[("Item", "ITEM-2", "1")]);
    f.post(2, &order.name, &[("Item", "ITEM-2", "1")]);
    // Both answers are lost: shipment 2's probe sees both fulfillments, one claimed by shipment 1.
    f.shopify.faults.drop_answer_next(CREATE, 2, lost());
    f.next_job(1).await;
    assert!(f.invoke().await.is_err(), "shipment 1's answer is lost");
    assert!(f.invoke().await.is_err(), "shipment 2's answer is lost");
    let c = f.finish().await;
    counts(&c, &[(counters::FULFILLMENTS_FOUND_BY_PROBE, 2)]);
    assert_eq!(f.creates(), 2);
    let ids = |n| f.shipment(n).unwrap().1.fulfillment_ids().join(",");
    assert_eq!(ids(1), "gid://shopify/Fulfillment/1");
    assert_eq!(ids(2), "gid://shopify/Fulfillment/2");
}

#[tokio::test]
async fn user_errors_make_the_shipment_an_error_without_a_retry() {
    let mut f = Fixture::new();
    let order = f.add_order(1).await;
    // Both ship the one unit of ITEM-1: planned against the same order, the second is refused.
    f.post(1, &order.name, &[("Item", "ITEM-1", "1")]);
    f.post(2, &order.name, &[("Item", "ITEM-1", "1")]);
    let c = f.run(1).await;
    counts(
        &c,
        &[
            (counters::SHIPMENTS_FULFILLED, 1),
            (counters::SHIPMENT_ERRORS, 1),
        ],
    );
    assert_eq!(f.status(2).as_deref(), Some(shipment_status::ERROR));
    assert_eq!(
        f.shipment(2).unwrap().1.error.as_deref(),
        Some("Invalid fulfillment order line item quantity requested.")
    );
    let c = f.run(2).await;
    counts(&c, &[(counters::SHIPMENTS_ALREADY_SYNCED, 2)]);
    assert_eq!(f.creates(), 2, "an error is not retried");
}
