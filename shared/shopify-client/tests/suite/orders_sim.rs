//! The orders side of the client against the Shopify simulator over real HTTP on 127.0.0.1:
//! update-window paging, follow-up queries for long orders, what each document costs, a
//! `fulfillmentCreate` whose answer is lost (probed, never applied twice), `userErrors` as data,
//! the write-back and archiving, payouts and balance transactions, and pacing/throttling.

use crate::common;

use serde_json::json;
use shopify_sim::{
    BalanceTransactionSeed, FaultKind, LineSeed, OrderSeed, PayoutSeed, ShopifySim, SimConfig,
    VariantSeed,
};
use shopsync_domain::SyncError;
use shopsync_domain::orders::{
    BC_DOCUMENT_ATTRIBUTE, FulfillmentOrderLines, FulfillmentRequest, ShopifyOrder,
    ShopifyOrdersApi, Tracking,
};
use shopsync_shopify::documents::{
    BALANCE_TRANSACTIONS, FULFILLMENT_CREATE, FULFILLMENT_ORDER_LINES, ORDER, ORDER_CLOSE,
    ORDER_DETAILS, ORDER_FULFILLMENTS, ORDER_LINES, ORDER_UPDATE_CUSTOM_ATTRIBUTES,
    ORDERS_UPDATED_SINCE, PAYOUTS,
};
use shopsync_shopify::{Document, Pacer, ShopifyClient, ShopifyClientConfig, ShopifyError};
use std::sync::Arc;

const SHOP: &str = "orders-shop.myshopify.com";
const TOKEN: &str = "shpat_orders_token";
const T0: &str = "2026-05-01T08:00:00Z";

fn config(sim: &ShopifySim) -> ShopifyClientConfig {
    let mut c = common::sim_config(sim, SHOP, TOKEN, 20, 200);
    c.max_retries = 6;
    c
}

fn client(sim: &ShopifySim) -> ShopifyClient {
    ShopifyClient::new(config(sim), Arc::new(Pacer::new())).unwrap()
}

/// Standard-plan limits, refilled ten times faster than real time (pacing stays exact; tests that
/// read thousands of requested points do not wait for them in real seconds).
fn fast() -> SimConfig {
    SimConfig {
        time_scale: 10.0,
        ..Default::default()
    }
}

async fn start(cfg: SimConfig) -> ShopifySim {
    let sim = ShopifySim::start(cfg).await.expect("simulator starts");
    sim.store(SHOP).set_access_token(TOKEN);
    sim
}

/// Reads every page of a window through the port.
async fn read_window(
    api: &dyn ShopifyOrdersApi,
    since: Option<&str>,
    until: &str,
    open_only: bool,
) -> (Vec<ShopifyOrder>, usize) {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = api
            .orders_updated_since(since, until, open_only, after.as_deref())
            .await
            .unwrap();
        pages += 1;
        out.extend(page.items);
        match page.next_cursor {
            Some(c) => after = Some(c),
            None => return (out, pages),
        }
    }
}

fn fulfil_lines(order: &ShopifyOrder, take: &[(usize, i64)]) -> FulfillmentRequest {
    let fo = &order.fulfillment_orders[0];
    FulfillmentRequest {
        order_id: order.id.clone(),
        fulfillment_orders: vec![FulfillmentOrderLines {
            fulfillment_order_id: fo.id.clone(),
            lines: take
                .iter()
                .map(|&(i, q)| (fo.lines[i].id.clone(), q))
                .collect(),
        }],
        tracking: Some(Tracking {
            number: Some("1Z999AA10123456784".into()),
            company: Some("UPS".into()),
            url: None,
        }),
        notify_customer: false,
    }
}

/// Every order document is requested at exactly the cost its `# cost:` line promises (the
/// simulator applies Shopify's published rules plus the capture-backed exceptions).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_orders_document_costs_what_it_says() {
    let sim = start(fast()).await;
    let store = sim.store(SHOP);
    let o = store.add_order(OrderSeed::with_lines(3));
    store.enable_payments();
    let c = client(&sim);
    let cases: Vec<(Document, serde_json::Value)> = vec![
        (
            ORDERS_UPDATED_SINCE,
            json!({"query": "updated_at:<='2030-01-01T00:00:00Z'", "after": null}),
        ),
        (ORDER, json!({"id": o.id})),
        (ORDER_LINES, json!({"id": o.id, "after": null})),
        (
            FULFILLMENT_ORDER_LINES,
            json!({"id": o.fulfillment_order_id, "after": null}),
        ),
        (ORDER_DETAILS, json!({"id": o.id})),
        (ORDER_FULFILLMENTS, json!({"id": o.id})),
        (PAYOUTS, json!({"query": null, "after": null})),
        (BALANCE_TRANSACTIONS, json!({"query": null, "after": null})),
        (
            ORDER_UPDATE_CUSTOM_ATTRIBUTES,
            json!({"input": {"id": o.id, "customAttributes": [{"key": "k", "value": "v"}]}}),
        ),
        (ORDER_CLOSE, json!({"input": {"id": o.id}})),
        (
            FULFILLMENT_CREATE,
            json!({"fulfillment": {"lineItemsByFulfillmentOrder": [
                {"fulfillmentOrderId": o.fulfillment_order_id}]}}),
        ),
    ];
    for (doc, vars) in cases {
        let r = c.execute(&doc, vars).await.unwrap();
        let cost = r.cost.unwrap();
        assert_eq!(
            cost.requested,
            doc.annotated_cost(),
            "{}: requested {:?}, annotated {:?}",
            doc.name,
            cost.requested,
            doc.annotated_cost()
        );
        assert!(
            cost.actual.unwrap() <= cost.requested.unwrap(),
            "{}",
            doc.name
        );
        assert!(
            cost.requested.unwrap() <= 1000.0,
            "{} above the single-query ceiling",
            doc.name
        );
    }
}

/// The window `[since, until]` is read in `updatedAt` order, 8 orders a page, each whole; orders
/// outside it are not; a first sync reads open orders only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_are_read_by_update_window_a_page_at_a_time() {
    let sim = start(fast()).await;
    let store = sim.store(SHOP);
    // 20 orders updated one minute apart from T0, three before, two after the window.
    let before = store.seed_orders(3, 2, "2026-04-30T08:00:00Z", 60);
    let inside = store.seed_orders(20, 4, T0, 60);
    let after = store.seed_orders(2, 2, "2026-05-02T08:00:00Z", 60);
    let closed = store.add_order(OrderSeed {
        closed: true,
        ..OrderSeed::with_lines(1).updated_at("2026-05-01T08:30:30Z")
    });
    let cancelled = store.add_order(OrderSeed {
        cancelled: true,
        ..OrderSeed::with_lines(1).updated_at("2026-05-01T08:31:30Z")
    });
    let c = client(&sim);
    let since = "2026-05-01T08:00:00Z";
    let until = "2026-05-01T12:00:00Z";
    let (orders, pages) = read_window(&c, Some(since), until, false).await;
    let ids: Vec<&str> = orders.iter().map(|o| o.id.as_str()).collect();
    assert_eq!(orders.len(), 22, "20 seeded + a closed + a cancelled one");
    assert_eq!(pages, 3, "8 + 8 + 6");
    assert!(
        orders
            .windows(2)
            .all(|w| w[0].updated_at <= w[1].updated_at),
        "oldest update first"
    );
    for o in before.iter().chain(&after) {
        assert!(
            !ids.contains(&o.id.as_str()),
            "{} is outside the window",
            o.id
        );
    }
    let first = orders.iter().find(|o| o.id == inside[0].id).unwrap();
    assert_eq!(first.updated_at, T0, "`since` is inclusive");
    assert_eq!(first.line_items.len(), 4);
    assert_eq!(first.line_items[0].sku.as_deref(), Some("SKU-0001"));
    assert_eq!(first.line_items[0].unit_price.amount, "10.0");
    assert_eq!(first.line_items[0].quantity, 2);
    assert_eq!(
        first.totals.total.shop.amount, "84.9",
        "4 × 2 × 10 + 4.90 shipping"
    );
    assert_eq!(first.shipping_lines[0].price.amount, "4.9");
    assert_eq!(first.transactions[0].kind, "SALE");
    assert_eq!(first.fulfillment_orders[0].lines.len(), 4);
    assert_eq!(
        first.customer.as_ref().unwrap().email.as_deref(),
        Some("ada@example.com")
    );
    assert!(first.incomplete.is_empty());
    // `until` is inclusive too: an order updated exactly then is in.
    let (edge, _) = read_window(&c, Some(since), "2026-05-01T08:19:00Z", false).await;
    assert_eq!(
        edge.len(),
        20,
        "T0 … T0 + 19 min; the closed and cancelled ones come later"
    );
    // A first sync (no `since`) reads the open orders only.
    let (open, _) = read_window(&c, None, until, true).await;
    assert!(open.iter().all(|o| !o.closed && o.cancelled_at.is_none()));
    assert!(
        !open
            .iter()
            .any(|o| o.id == closed.id || o.id == cancelled.id)
    );
    assert_eq!(open.len(), 3 + 20);
    // An order edited while the window is read moves past `until`: the cursor still pages on.
    let page = c
        .orders_updated_since(Some(since), until, false, None)
        .await
        .unwrap();
    store.touch_order(&inside[9].id, "2026-05-01T13:00:00Z");
    let rest = c
        .orders_updated_since(Some(since), until, false, page.next_cursor.as_deref())
        .await
        .unwrap();
    assert_eq!(rest.items[0].id, inside[8].id, "no order skipped");
    assert!(!rest.items.iter().any(|o| o.id == inside[9].id));
}

/// One page of 10-line orders: what the page query is requested and charged per order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cost_per_ten_line_order() {
    let sim = start(fast()).await;
    let store = sim.store(SHOP);
    store.seed_orders(8, 10, T0, 60);
    let c = client(&sim);
    let r = c
        .execute(
            &ORDERS_UPDATED_SINCE,
            json!({"query": "updated_at:>='2026-05-01T00:00:00Z'", "after": null}),
        )
        .await
        .unwrap();
    let cost = r.cost.unwrap();
    let (requested, actual) = (cost.requested.unwrap(), cost.actual.unwrap());
    eprintln!(
        "page of 8 ten-line orders: requested {requested}, actual {actual}: {:.2} requested / {:.2} actual per order",
        requested / 8.0,
        actual / 8.0
    );
    assert_eq!(requested, 914.0);
    // Each order: 63 points (node, attributes, customer 3, buyer, 2 addresses, lines 22, shipping
    // 3, transactions 2, no refund 1, one fulfillment order of 10 lines 27), plus the page's 2.
    assert_eq!(actual, 2.0 + 8.0 * 63.0);
    // Through the port: nothing but the one query.
    let before = sim.stats().requests;
    let spent_before = c.cost_points_used();
    let page = c
        .orders_updated_since(
            Some("2026-05-01T00:00:00Z"),
            "2026-05-02T00:00:00Z",
            false,
            None,
        )
        .await
        .unwrap();
    assert_eq!(page.items.len(), 8);
    assert_eq!(
        sim.stats().requests - before,
        1,
        "no follow-up for 10 lines"
    );
    assert_eq!(c.cost_points_used() - spent_before, actual);
    // The write-back (BC document number) and archiving: 10 points each.
    let o = &page.items[0];
    let before = c.cost_points_used();
    c.order_set_custom_attributes(&o.id, &o.attributes_with(BC_DOCUMENT_ATTRIBUTE, "SO-1001"))
        .await
        .unwrap();
    assert_eq!(c.cost_points_used() - before, 10.0);
    let before = c.cost_points_used();
    c.order_close(&o.id).await.unwrap();
    assert_eq!(c.cost_points_used() - before, 10.0);
}

/// A 300-line order: the page carries its first 10 lines and 10 of its fulfillment-order lines;
/// `OrderLines` and `FulfillmentOrderLines` read the rest (250 a page), for that order only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_300_line_order_is_completed_by_follow_up_queries() {
    let sim = start(fast()).await;
    let store = sim.store(SHOP);
    store.seed_orders(2, 3, T0, 60);
    let big = store.add_order(OrderSeed::with_lines(300).updated_at("2026-05-01T08:05:00Z"));
    store.seed_orders(2, 3, "2026-05-01T08:10:00Z", 60);
    let c = client(&sim);
    let before = sim.stats();
    let (orders, pages) = read_window(&c, Some(T0), "2026-05-01T09:00:00Z", false).await;
    assert_eq!((orders.len(), pages), (5, 1));
    let o = orders.iter().find(|o| o.id == big.id).unwrap();
    assert_eq!(o.line_items.len(), 300);
    let ids: Vec<&str> = o.line_items.iter().map(|l| l.id.as_str()).collect();
    let want: Vec<&str> = big.line_item_ids.iter().map(String::as_str).collect();
    assert_eq!(ids, want, "every line once, in order");
    assert_eq!(o.line_items[299].sku.as_deref(), Some("SKU-0300"));
    assert_eq!(o.fulfillment_orders[0].lines.len(), 300);
    assert_eq!(
        o.fulfillment_orders[0].lines[299].line_item_id,
        big.line_item_ids[299]
    );
    assert!(o.incomplete.is_empty());
    let after = sim.stats();
    let ran = |op: &str| after.operation(op) - before.operation(op);
    assert_eq!(ran("OrdersUpdatedSince"), 1);
    assert_eq!(ran("OrderLines"), 2, "10 + 250 + 40");
    assert_eq!(ran("FulfillmentOrderLines"), 2);
    assert_eq!(ran("OrderDetails"), 0);
    // The same through `order(id)`.
    let one = c.order(&big.id).await.unwrap().unwrap();
    assert_eq!(one.line_items.len(), 300);
    assert_eq!(c.order("gid://shopify/Order/999999").await.unwrap(), None);
}

/// More transactions, refunds and fulfillment orders than the page reads: one `OrderDetails` for
/// that order completes them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_long_lists_are_read_with_one_details_query() {
    let sim = start(fast()).await;
    let store = sim.store(SHOP);
    let seed = OrderSeed {
        transactions: Some(
            (0..12)
                .map(|i| shopify_sim::TransactionSeed {
                    kind: if i == 0 { "AUTHORIZATION" } else { "CAPTURE" }.into(),
                    status: "SUCCESS".into(),
                    gateway: "shopify_payments".into(),
                    amount: "1.00".into(),
                })
                .collect(),
        ),
        fulfillment_orders: 3,
        ..OrderSeed::with_lines(6).updated_at(T0)
    };
    let o = store.add_order(seed);
    for line in &o.line_item_ids {
        store.add_refund(&o.id, &[(line, 1)]);
    }
    let c = client(&sim);
    let before = sim.stats();
    let got = c.order(&o.id).await.unwrap().unwrap();
    assert_eq!(got.transactions.len(), 12);
    assert_eq!(got.transactions[1].kind, "CAPTURE");
    assert_eq!(got.refunds.len(), 6);
    assert_eq!(got.fulfillment_orders.len(), 3);
    let fo_ids: Vec<&str> = got
        .fulfillment_orders
        .iter()
        .map(|f| f.id.as_str())
        .collect();
    assert_eq!(
        fo_ids,
        o.fulfillment_order_ids
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
    );
    assert!(got.fulfillment_orders.iter().all(|f| f.lines.len() == 2));
    assert!(got.line_items.iter().all(|l| l.current_quantity == 1));
    assert!(got.incomplete.is_empty(), "{:?}", got.incomplete);
    assert_eq!(
        sim.stats().operation("OrderDetails") - before.operation("OrderDetails"),
        1
    );
}

/// A refund lowers the current quantity and comes with its lines.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refunds_come_with_their_lines() {
    let sim = start(fast()).await;
    let store = sim.store(SHOP);
    let o = store.add_order(OrderSeed::with_lines(2).updated_at(T0));
    let refund = store.add_refund(&o.id, &[(&o.line_item_ids[1], 1)]);
    let c = client(&sim);
    let got = c.order(&o.id).await.unwrap().unwrap();
    assert_eq!(got.refunds.len(), 1);
    assert_eq!(got.refunds[0].id, refund);
    assert_eq!(got.refunds[0].lines[0].line_item_id, o.line_item_ids[1]);
    assert_eq!(got.refunds[0].lines[0].quantity, 1);
    assert_eq!(got.refunds[0].lines[0].subtotal.amount, "10.0");
    let line = got.line(&o.line_item_ids[1]).unwrap();
    assert_eq!((line.quantity, line.current_quantity), (2, 1));
    assert!(got.updated_at.as_str() > T0, "a refund moves updatedAt");
}

/// A `fulfillmentCreate` applied by Shopify whose answer is lost is not resent by the client (it
/// would fulfil more units): the call fails retryably, the probe finds the fulfillment, and a
/// blind resend is refused by Shopify as data. A request refused before it ran (THROTTLED) is
/// resent and applied once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_fulfillment_answer_is_probed_never_applied_twice() {
    let sim = start(fast()).await;
    let store = sim.store(SHOP);
    let seeded = store.add_order(OrderSeed::with_lines(3).updated_at(T0));
    let c = client(&sim);
    let order = c.order(&seeded.id).await.unwrap().unwrap();
    let request = fulfil_lines(&order, &[(0, 2), (1, 1)]);

    sim.script_fault(FaultKind::DropAfterApply, Some("fulfillmentCreate"), 1);
    let attempts = c.http_attempts();
    let err = c.fulfillment_create(&request).await.unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
    assert!(matches!(err, SyncError::Transport { .. }), "{err:?}");
    assert!(err.to_string().contains("outcome unknown"), "{err}");
    assert_eq!(c.http_attempts() - attempts, 1, "not resent");
    assert_eq!(
        store.fulfillments(&seeded.id).len(),
        1,
        "Shopify applied it"
    );

    // The probe: the fulfillment is there, with exactly the lines asked.
    let found = c.order_fulfillments(&seeded.id).await.unwrap().unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(Some(found[0].lines()), request.expected_lines(&order));
    assert_eq!(
        found[0].tracking[0].number.as_deref(),
        Some("1Z999AA10123456784")
    );
    assert_eq!(found[0].tracking[0].company.as_deref(), Some("UPS"));

    // Sent again blindly, Shopify refuses the line already fulfilled in full: data, not `Err`.
    let again = c.fulfillment_create(&request).await.unwrap();
    assert_eq!(again.fulfillment_id, None);
    assert_eq!(
        again.user_errors[0].message,
        "Invalid fulfillment order line item quantity requested."
    );
    assert_eq!(store.fulfillments(&seeded.id).len(), 1);
    assert_eq!(
        store.remaining_quantity(&seeded.fulfillment_order_line_ids[1]),
        Some(1)
    );

    // A 503 leaves the outcome open as well (here Shopify did not apply it): not resent, and
    // the probe finds nothing new, so the caller may send it again.
    let rest = fulfil_lines(&order, &[(1, 1), (2, 2)]);
    sim.script_fault(FaultKind::Http503, Some("fulfillmentCreate"), 1);
    let err = c.fulfillment_create(&rest).await.unwrap_err();
    assert!(err.is_retryable());
    assert_eq!(
        c.order_fulfillments(&seeded.id)
            .await
            .unwrap()
            .unwrap()
            .len(),
        1
    );

    // THROTTLED proves it did not run: the client resends by itself and it is applied once.
    sim.script_fault(FaultKind::Throttled, Some("fulfillmentCreate"), 1);
    let throttled = c.throttled_count();
    let done = c.fulfillment_create(&rest).await.unwrap();
    assert!(done.user_errors.is_empty(), "{:?}", done.user_errors);
    assert_eq!(done.status.as_deref(), Some("SUCCESS"));
    assert_eq!(c.throttled_count() - throttled, 1);
    let all = store.fulfillments(&seeded.id);
    assert_eq!(all.len(), 2);
    assert_eq!(all[1].id, done.fulfillment_id.unwrap());
    assert_eq!(
        store.fulfillment_order_status(&seeded.fulfillment_order_id),
        Some("CLOSED")
    );
    let after = c.order(&seeded.id).await.unwrap().unwrap();
    assert_eq!(after.fulfillment_status, "FULFILLED");
    assert!(after.line_items.iter().all(|l| l.fulfillable_quantity == 0));
    assert_eq!(after.fulfillment_orders[0].status, "CLOSED");
}

/// Refusals are `userErrors` in the outcome, in Shopify's words; nothing is applied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_errors_come_back_as_data() {
    let sim = start(fast()).await;
    let store = sim.store(SHOP);
    let seeded = store.add_order(OrderSeed::with_lines(2).updated_at(T0));
    let c = client(&sim);
    let order = c.order(&seeded.id).await.unwrap().unwrap();

    let too_many = fulfil_lines(&order, &[(0, 3)]);
    let out = c.fulfillment_create(&too_many).await.unwrap();
    assert_eq!(out.fulfillment_id, None);
    assert_eq!(out.user_errors[0].field, vec!["fulfillment"]);
    assert_eq!(
        out.user_errors[0].message,
        "Invalid fulfillment order line item quantity requested."
    );
    let zero = fulfil_lines(&order, &[(0, 0)]);
    let out = c.fulfillment_create(&zero).await.unwrap();
    assert_eq!(
        out.user_errors[0].message,
        "Quantity must be greater than 0"
    );
    assert_eq!(
        out.user_errors[0].field,
        vec![
            "fulfillment",
            "lineItemsByFulfillmentOrder",
            "0",
            "fulfillmentOrderLineItems",
            "0",
            "quantity"
        ]
    );
    let mut unknown = fulfil_lines(&order, &[(0, 1)]);
    unknown.fulfillment_orders[0].fulfillment_order_id =
        "gid://shopify/FulfillmentOrder/424242".into();
    let out = c.fulfillment_create(&unknown).await.unwrap();
    assert_eq!(
        out.user_errors[0].message,
        "Fulfillment order does not exist."
    );
    assert!(store.fulfillments(&seeded.id).is_empty());

    // The whole fulfillment order, then once more: closed.
    let whole = FulfillmentRequest {
        order_id: order.id.clone(),
        fulfillment_orders: vec![FulfillmentOrderLines {
            fulfillment_order_id: order.fulfillment_orders[0].id.clone(),
            lines: vec![],
        }],
        tracking: None,
        notify_customer: true,
    };
    assert!(
        c.fulfillment_create(&whole)
            .await
            .unwrap()
            .user_errors
            .is_empty()
    );
    let out = c.fulfillment_create(&whole).await.unwrap();
    assert!(
        out.user_errors[0]
            .message
            .ends_with("has an unfulfillable status= closed."),
        "{:?}",
        out.user_errors
    );
    assert!(store.fulfillments(&seeded.id)[0].notify_customer);

    let missing = "gid://shopify/Order/987654321";
    let u = c.order_set_custom_attributes(missing, &[]).await.unwrap();
    assert!(!u.updated);
    assert_eq!(u.user_errors[0].message, "Order does not exist");
    assert_eq!(u.user_errors[0].field, vec!["id"]);
    let closed = c.order_close(missing).await.unwrap();
    assert!(!closed.closed);
    assert_eq!(closed.user_errors[0].message, "Order does not exist");
    assert!(store.order_writes().is_empty());
    // More than 250 lines in one fulfillment is refused before sending.
    let mut long = fulfil_lines(&order, &[]);
    long.fulfillment_orders[0].lines = (0..251)
        .map(|i| (format!("gid://shopify/FulfillmentOrderLineItem/{i}"), 1))
        .collect();
    let before = sim.stats().requests;
    let err = c.fulfillment_create(&long).await.unwrap_err();
    assert!(matches!(err, SyncError::Rejected { .. }), "{err:?}");
    assert_eq!(sim.stats().requests, before);
}

/// The BC document number is written back without dropping the order's other attributes, a
/// resend changes nothing, and closing twice is harmless. Both writes move `updatedAt`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_back_and_archive() {
    let sim = start(fast()).await;
    let store = sim.store(SHOP);
    let seeded = store.add_order(OrderSeed {
        custom_attributes: vec![("gift_message".into(), "Happy birthday".into())],
        ..OrderSeed::with_lines(1).updated_at(T0)
    });
    let c = client(&sim);
    let order = c.order(&seeded.id).await.unwrap().unwrap();
    let attrs = order.attributes_with(BC_DOCUMENT_ATTRIBUTE, "SO-1001");
    // The answer is lost once: the update is resent (repeating it changes nothing).
    sim.script_fault(FaultKind::DropAfterApply, Some("orderUpdate"), 1);
    let u = c
        .order_set_custom_attributes(&order.id, &attrs)
        .await
        .unwrap();
    assert!(u.updated && u.user_errors.is_empty(), "{u:?}");
    assert_eq!(
        store.order_custom_attributes(&seeded.id).unwrap(),
        vec![
            (
                "gift_message".to_string(),
                Some("Happy birthday".to_string())
            ),
            (
                BC_DOCUMENT_ATTRIBUTE.to_string(),
                Some("SO-1001".to_string())
            ),
        ]
    );
    let after = c.order(&seeded.id).await.unwrap().unwrap();
    assert_eq!(after.attribute(BC_DOCUMENT_ATTRIBUTE), Some("SO-1001"));
    assert!(
        after.updated_at > order.updated_at,
        "the write-back moves updatedAt"
    );

    let closed = c.order_close(&order.id).await.unwrap();
    assert!(closed.closed && closed.closed_at.is_some());
    let again = c.order_close(&order.id).await.unwrap();
    assert!(again.closed && again.user_errors.is_empty());
    assert_eq!(again.closed_at, closed.closed_at);
    assert_eq!(store.order_closed(&seeded.id), Some(true));
    let writes: Vec<&str> = store.order_writes().iter().map(|w| w.mutation).collect();
    assert_eq!(
        writes,
        ["orderUpdate", "orderUpdate", "orderClose", "orderClose"]
    );
}

/// Pages of orders are paced by their requested cost and never throttled in steady state; a
/// THROTTLED answer is waited out and resent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_are_paced_and_throttling_is_retried() {
    let sim = start(SimConfig {
        bucket_size: 1000.0,
        restore_rate: 50.0,
        time_scale: 20.0,
        ..Default::default()
    })
    .await;
    let store = sim.store(SHOP);
    store.seed_orders(40, 10, T0, 30);
    let c = client(&sim);
    let (orders, pages) = read_window(&c, Some(T0), "2026-05-02T00:00:00Z", false).await;
    assert_eq!((orders.len(), pages), (40, 5));
    assert_eq!(
        sim.stats().throttled,
        0,
        "paced: no THROTTLED from the bucket"
    );
    assert_eq!(c.throttled_count(), 0);
    assert!(
        c.throttle_wait_ms() > 0,
        "a 914-point page waits for a 1,000 bucket"
    );
    sim.script_fault(FaultKind::Throttled, Some("orders"), 2);
    let page = c
        .orders_updated_since(Some(T0), "2026-05-02T00:00:00Z", false, None)
        .await
        .unwrap();
    assert_eq!(page.items.len(), 8);
    assert_eq!(c.throttled_count(), 2);
    // Retries are bounded: a shop that keeps throttling ends in a retryable error.
    let mut cfg = config(&sim);
    cfg.max_retries = 1;
    let impatient = ShopifyClient::new(cfg, Arc::new(Pacer::new())).unwrap();
    sim.script_fault(FaultKind::Throttled, Some("orders"), 2);
    let err = impatient
        .orders_page(Some(T0), "2026-05-02T00:00:00Z", false, None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, ShopifyError::Throttled { attempts: 2, .. }),
        "{err:?}"
    );
    assert!(err.is_retryable());
}

/// Payouts are read above a numeric id, balance transactions from a time; a shop without Shopify
/// Payments reads nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payouts_and_balance_transactions() {
    let sim = start(fast()).await;
    let store = sim.store(SHOP);
    let c = client(&sim);
    assert!(c.payouts_since(None, None).await.unwrap().items.is_empty());
    assert!(
        c.balance_transactions_since(None, None)
            .await
            .unwrap()
            .items
            .is_empty()
    );
    let order = store.add_order(OrderSeed::with_lines(1).updated_at(T0));
    let mut payouts = Vec::new();
    for i in 0..130 {
        payouts.push(store.add_payout(PayoutSeed {
            issued_at: format!("2026-05-{:02}T00:00:00Z", 1 + i % 28),
            status: if i < 120 { "PAID" } else { "SCHEDULED" }.into(),
            net: format!("{}.50", 100 + i),
            charges_gross: "120.00".into(),
            charges_fee: "3.40".into(),
        }));
    }
    let first = c.payouts_since(None, None).await.unwrap();
    assert_eq!(first.items.len(), 100);
    assert!(first.next_cursor.is_some());
    let second = c
        .payouts_since(None, first.next_cursor.as_deref())
        .await
        .unwrap();
    assert_eq!(second.items.len(), 30);
    assert_eq!(second.next_cursor, None);
    assert_eq!(first.items[0].legacy_id, payouts[0].1);
    assert_eq!(first.items[0].net.amount, "100.5");
    assert_eq!(first.items[0].summary.charges_fee.amount, "3.4");
    let since = c.payouts_since(Some(payouts[124].1), None).await.unwrap();
    let ids: Vec<u64> = since.items.iter().map(|p| p.legacy_id).collect();
    assert_eq!(ids, (126..=130).collect::<Vec<u64>>());
    assert_eq!(since.items[0].status, "SCHEDULED");

    let payout = &payouts[0].0;
    for day in 1..=3 {
        store.add_balance_transaction(BalanceTransactionSeed {
            processed_at: format!("2026-05-0{day}T12:00:00Z"),
            transaction_type: "CHARGE".into(),
            amount: "25.00".into(),
            fee: "0.98".into(),
            order_id: Some(order.id.clone()),
            payout_id: (day == 1).then(|| payout.clone()),
        });
    }
    let all = c.balance_transactions_since(None, None).await.unwrap();
    assert_eq!(all.items.len(), 3);
    assert_eq!(all.items[0].net.amount, "24.02");
    assert_eq!(all.items[0].payout_id.as_deref(), Some(payout.as_str()));
    assert_eq!(all.items[0].order_id.as_deref(), Some(order.id.as_str()));
    assert_eq!(all.items[1].payout_id, None);
    let recent = c
        .balance_transactions_since(Some("2026-05-02T12:00:00Z"), None)
        .await
        .unwrap();
    assert_eq!(recent.items.len(), 2, "the mark itself is included");
    assert_eq!(recent.items[0].transaction_date, "2026-05-02T12:00:00Z");
}

/// Order lines name their variants; a GID style without digits changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lines_name_their_variants_on_opaque_gid_stores_too() {
    let sim = start(fast()).await;
    let store = sim.store(SHOP);
    store.set_gid_style(shopify_sim::GidStyle::Opaque);
    let p = store.add_product(
        "Mug",
        &[VariantSeed {
            sku: Some("MUG-1".into()),
            barcode: None,
            tracked: true,
        }],
    );
    let mut line = LineSeed::new("MUG-1", 3, "12.50");
    line.variant_id = Some(p.variant_ids[0].clone());
    let seeded = store.add_order(OrderSeed {
        lines: vec![line],
        ..OrderSeed::with_lines(0).updated_at(T0)
    });
    assert!(
        seeded
            .id
            .rsplit('/')
            .next()
            .unwrap()
            .parse::<u64>()
            .is_err()
    );
    let c = client(&sim);
    let (orders, _) = read_window(&c, Some(T0), "2026-05-02T00:00:00Z", false).await;
    assert_eq!(orders.len(), 1);
    let l = &orders[0].line_items[0];
    assert_eq!(l.variant_id.as_deref(), Some(p.variant_ids[0].as_str()));
    assert_eq!(l.unit_price.amount, "12.5");
    let request = fulfil_lines(&orders[0], &[(0, 3)]);
    let out = c.fulfillment_create(&request).await.unwrap();
    assert!(out.user_errors.is_empty(), "{:?}", out.user_errors);
}
