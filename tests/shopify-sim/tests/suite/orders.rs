//! Orders over HTTP: `updated_at` search semantics and keyed cursors, `fulfillmentCreate`
//! (remaining quantities, statuses, refusals in the live API's words, no `@idempotent`),
//! `orderUpdate`/`orderClose`, costs, throttling, a mutation applied with its answer dropped, and
//! answers in the shapes (and, where the rules reach, the costs) recorded from the live API.

use crate::common;

use std::collections::BTreeSet;

use common::*;
use serde_json::{Value as Json, json};
use shopify_sim::{FaultKind, OrderSeed, SimConfig};

const CAPTURES: &str = "../../../shared/shopify/captures";

fn capture(rel: &str) -> Option<Json> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(CAPTURES)
        .join(rel);
    match std::fs::read_to_string(&path) {
        Ok(t) => Some(serde_json::from_str(&t).expect("capture is JSON")),
        Err(_) => {
            eprintln!("skipped: ../shared absent ({})", path.display());
            None
        }
    }
}

fn key_paths(v: &Json, prefix: String, out: &mut BTreeSet<String>) {
    match v {
        Json::Object(m) => {
            for (k, x) in m {
                let p = format!("{prefix}.{k}");
                out.insert(p.clone());
                key_paths(x, p, out);
            }
        }
        Json::Array(a) => {
            for x in a {
                key_paths(x, format!("{prefix}[]"), out);
            }
        }
        _ => {}
    }
}

fn paths(v: &Json) -> BTreeSet<String> {
    let mut s = BTreeSet::new();
    key_paths(v, String::new(), &mut s);
    s
}

fn cost(body: &Json) -> (f64, Option<f64>) {
    let c = &body["extensions"]["cost"];
    (
        c["requestedQueryCost"].as_f64().unwrap(),
        c["actualQueryCost"].as_f64(),
    )
}

const ORDERS_PAGE: &str = r#"query Page($query: String, $after: String, $sort: OrderSortKeys, $reverse: Boolean) {
  orders(first: 3, after: $after, sortKey: $sort, reverse: $reverse, query: $query) {
    nodes { id name updatedAt closed cancelledAt }
    pageInfo { hasNextPage endCursor }
  }
}"#;

async fn names(f: &Fixture, query: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut after = Json::Null;
    loop {
        let b = f
            .gql(
                ORDERS_PAGE,
                json!({"query": query, "after": after, "sort": "UPDATED_AT"}),
            )
            .await;
        let c = &b["data"]["orders"];
        for n in c["nodes"].as_array().unwrap() {
            out.push(n["name"].as_str().unwrap().to_string());
        }
        if !c["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            return out;
        }
        after = c["pageInfo"]["endCursor"].clone();
    }
}

#[tokio::test]
async fn updated_at_terms_compare_instants_as_the_search_syntax_does() {
    let f = fixture(SimConfig::default(), 0, 1).await;
    for (i, t) in [
        "2026-05-01T09:59:59Z",
        "2026-05-01T10:00:00Z",
        "2026-05-01T10:00:01Z",
        "2026-05-02T00:00:00Z",
    ]
    .iter()
    .enumerate()
    {
        f.store.add_order(OrderSeed {
            name: Some(format!("#{}", i + 1)),
            ..OrderSeed::with_lines(1).updated_at(t)
        });
    }
    assert_eq!(
        names(&f, "updated_at:>='2026-05-01T10:00:00Z'").await,
        ["#2", "#3", "#4"]
    );
    assert_eq!(
        names(&f, "updated_at:>'2026-05-01T10:00:00Z'").await,
        ["#3", "#4"]
    );
    assert_eq!(
        names(
            &f,
            "updated_at:>='2026-05-01T10:00:00Z' updated_at:<='2026-05-01T10:00:01Z'"
        )
        .await,
        ["#2", "#3"]
    );
    assert_eq!(
        names(&f, "updated_at:<'2026-05-01T12:00:02+02:00'").await,
        ["#1", "#2", "#3"],
        "offsets are honoured"
    );
    assert_eq!(
        names(&f, "updated_at:>=2026-05-02").await,
        ["#4"],
        "a date is midnight UTC"
    );
    assert_eq!(names(&f, "").await.len(), 4);
}

#[tokio::test]
async fn keyed_cursors_survive_an_order_moving_and_reverse_paging() {
    let f = fixture(SimConfig::default(), 0, 1).await;
    let orders = f.store.seed_orders(7, 1, "2026-05-01T00:00:00Z", 60);
    let b = f
        .gql(
            ORDERS_PAGE,
            json!({"query": null, "after": null, "sort": "UPDATED_AT"}),
        )
        .await;
    let cursor = b["data"]["orders"]["pageInfo"]["endCursor"].clone();
    // The first order of the next page is edited now: it moves to the end, nothing is skipped.
    f.store.touch_order(&orders[3].id, "2026-06-01T00:00:00Z");
    let b = f
        .gql(
            ORDERS_PAGE,
            json!({"query": null, "after": cursor, "sort": "UPDATED_AT"}),
        )
        .await;
    let next: Vec<&str> = b["data"]["orders"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap())
        .collect();
    assert_eq!(next, [&orders[4].id, &orders[5].id, &orders[6].id]);
    assert_eq!(b["data"]["orders"]["pageInfo"]["hasNextPage"], true);
    let b = f
        .gql(
            ORDERS_PAGE,
            json!({"query": null, "after": null, "sort": "UPDATED_AT", "reverse": true}),
        )
        .await;
    assert_eq!(b["data"]["orders"]["nodes"][0]["id"], orders[3].id.as_str());
    let b = f
        .gql(
            ORDERS_PAGE,
            json!({"query": null, "after": "garbage", "sort": "UPDATED_AT"}),
        )
        .await;
    assert_eq!(code(&b), "BAD_REQUEST");
}

#[tokio::test]
async fn status_terms_select_open_closed_and_cancelled_orders() {
    let f = fixture(SimConfig::default(), 0, 1).await;
    let t = "2026-05-01T00:00:00Z";
    f.store.add_order(OrderSeed::with_lines(1).updated_at(t));
    f.store.add_order(OrderSeed {
        closed: true,
        ..OrderSeed::with_lines(1).updated_at(t)
    });
    f.store.add_order(OrderSeed {
        cancelled: true,
        ..OrderSeed::with_lines(1).updated_at(t)
    });
    let q = |s: &str| format!("status:{s} updated_at:>='{t}'");
    assert_eq!(names(&f, &q("open")).await, ["#1001"]);
    assert_eq!(names(&f, &q("closed")).await, ["#1002"]);
    assert_eq!(names(&f, &q("cancelled")).await, ["#1003"]);
    assert_eq!(names(&f, &q("any")).await.len(), 3);
}

const CREATE: &str = r#"mutation Create($fulfillment: FulfillmentInput!) {
  fulfillmentCreate(fulfillment: $fulfillment) {
    fulfillment { id status displayStatus trackingInfo(first: 1) { number company url }
      fulfillmentLineItems(first: 10) { nodes { quantity lineItem { id } } } }
    userErrors { field message }
  }
}"#;

fn by_fo(fo: &str, lines: &[(&str, i64)]) -> Json {
    json!({"fulfillmentOrderId": fo,
           "fulfillmentOrderLineItems": lines.iter().map(|(id, q)| json!({"id": id, "quantity": q})).collect::<Vec<_>>()})
}

#[tokio::test]
async fn fulfillments_decrement_remaining_quantities_and_close_fulfillment_orders() {
    let f = fixture(SimConfig::default(), 0, 1).await;
    let o = f
        .store
        .add_order(OrderSeed::with_lines(2).updated_at("2026-05-01T00:00:00Z"));
    let (l0, l1) = (
        o.fulfillment_order_line_ids[0].as_str(),
        o.fulfillment_order_line_ids[1].as_str(),
    );
    let b = f
        .gql(
            CREATE,
            json!({"fulfillment": {"notifyCustomer": true,
                "trackingInfo": {"number": "TRK-1", "company": "DHL", "url": "https://example.com/t/1"},
                "lineItemsByFulfillmentOrder": [by_fo(&o.fulfillment_order_id, &[(l0, 1)])]}}),
        )
        .await;
    let p = &b["data"]["fulfillmentCreate"];
    assert_eq!(p["userErrors"], json!([]), "{b}");
    assert_eq!(p["fulfillment"]["status"], "SUCCESS");
    assert_eq!(p["fulfillment"]["trackingInfo"][0]["number"], "TRK-1");
    assert_eq!(
        p["fulfillment"]["fulfillmentLineItems"]["nodes"][0]["lineItem"]["id"],
        o.line_item_ids[0].as_str()
    );
    assert_eq!(f.store.remaining_quantity(l0), Some(1));
    assert_eq!(
        f.store.fulfillment_order_status(&o.fulfillment_order_id),
        Some("IN_PROGRESS")
    );
    let read = r#"query($id: ID!) { order(id: $id) { displayFulfillmentStatus updatedAt
        lineItems(first: 5) { nodes { unfulfilledQuantity } } } }"#;
    let b = f.gql(read, json!({"id": o.id})).await;
    assert_eq!(
        b["data"]["order"]["displayFulfillmentStatus"],
        "PARTIALLY_FULFILLED"
    );
    assert_ne!(b["data"]["order"]["updatedAt"], "2026-05-01T00:00:00Z");
    // The rest: the whole fulfillment order (no lines named = all that remains).
    let b = f
        .gql(
            CREATE,
            json!({"fulfillment": {"lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": o.fulfillment_order_id}]}}),
        )
        .await;
    assert_eq!(
        b["data"]["fulfillmentCreate"]["userErrors"],
        json!([]),
        "{b}"
    );
    let lines = &b["data"]["fulfillmentCreate"]["fulfillment"]["fulfillmentLineItems"]["nodes"];
    assert_eq!(lines[0]["quantity"], 1);
    assert_eq!(lines[1]["quantity"], 2);
    assert_eq!(
        (
            f.store.remaining_quantity(l0),
            f.store.remaining_quantity(l1)
        ),
        (Some(0), Some(0))
    );
    assert_eq!(
        f.store.fulfillment_order_status(&o.fulfillment_order_id),
        Some("CLOSED")
    );
    let b = f.gql(read, json!({"id": o.id})).await;
    assert_eq!(b["data"]["order"]["displayFulfillmentStatus"], "FULFILLED");
    let fs = f.store.fulfillments(&o.id);
    assert_eq!(fs.len(), 2);
    assert_eq!(fs[0].tracking_company.as_deref(), Some("DHL"));
    assert!(fs[0].notify_customer && !fs[1].notify_customer);
}

#[tokio::test]
async fn fulfillment_refusals_use_the_recorded_words_and_apply_nothing() {
    let f = fixture(SimConfig::default(), 0, 2).await;
    let a = f.store.add_order(OrderSeed::with_lines(1));
    let b_order = f.store.add_order(OrderSeed::with_lines(1));
    let elsewhere = f.store.add_order(OrderSeed {
        location: Some(f.locations[1].clone()),
        ..OrderSeed::with_lines(1)
    });
    let create =
        |entries: Vec<Json>| json!({"fulfillment": {"lineItemsByFulfillmentOrder": entries}});
    let err = |b: &Json| {
        b["data"]["fulfillmentCreate"]["userErrors"][0]["message"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let fo_a = a.fulfillment_order_id.as_str();
    let l_a = a.fulfillment_order_line_ids[0].as_str();

    let b = f.gql(CREATE, create(vec![by_fo(fo_a, &[(l_a, 3)])])).await;
    assert_eq!(
        err(&b),
        "Invalid fulfillment order line item quantity requested."
    );
    let b = f
        .gql(
            CREATE,
            create(vec![
                by_fo(fo_a, &[(l_a, 1)]),
                by_fo(fo_a, &[(l_a, 1), (l_a, 0)]),
            ]),
        )
        .await;
    assert_eq!(
        b["data"]["fulfillmentCreate"]["userErrors"][0]["field"],
        json!([
            "fulfillment",
            "lineItemsByFulfillmentOrder",
            "1",
            "fulfillmentOrderLineItems",
            "1",
            "quantity"
        ])
    );
    assert_eq!(err(&b), "Quantity must be greater than 0");
    let b = f
        .gql(
            CREATE,
            create(vec![by_fo("gid://shopify/FulfillmentOrder/999", &[])]),
        )
        .await;
    assert_eq!(err(&b), "Fulfillment order does not exist.");
    let b = f
        .gql(
            CREATE,
            create(vec![
                json!({"fulfillmentOrderId": fo_a}),
                json!({"fulfillmentOrderId": b_order.fulfillment_order_id}),
            ]),
        )
        .await;
    assert!(
        err(&b).starts_with("All fulfillment orders must belong to the same order."),
        "{b}"
    );
    let _ = elsewhere;
    let b = f
        .gql(
            CREATE,
            create(vec![by_fo(
                fo_a,
                &[(b_order.fulfillment_order_line_ids[0].as_str(), 1)],
            )]),
        )
        .await;
    assert_eq!(err(&b), "Fulfillment order line item does not exist.");
    for o in [&a, &b_order, &elsewhere] {
        assert!(f.store.fulfillments(&o.id).is_empty());
    }
    assert_eq!(f.store.remaining_quantity(l_a), Some(2));
    // Once fulfilled, the fulfillment order is closed.
    f.gql(CREATE, create(vec![json!({"fulfillmentOrderId": fo_a})]))
        .await;
    let b = f
        .gql(CREATE, create(vec![json!({"fulfillmentOrderId": fo_a})]))
        .await;
    assert!(
        err(&b).ends_with("has an unfulfillable status= closed."),
        "{b}"
    );
}

#[tokio::test]
async fn idempotent_is_refused_where_shopify_does_not_offer_it() {
    let f = fixture(SimConfig::default(), 0, 1).await;
    let o = f.store.add_order(OrderSeed::with_lines(1));
    let q = r#"mutation($fulfillment: FulfillmentInput!, $key: String!) {
      fulfillmentCreate(fulfillment: $fulfillment) @idempotent(key: $key) { fulfillment { id } userErrors { field message } } }"#;
    let b = f
        .gql(
            q,
            json!({"key": "k-1", "fulfillment": {"lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": o.fulfillment_order_id}]}}),
        )
        .await;
    assert_eq!(code(&b), "BAD_REQUEST", "{b}");
    assert!(f.store.fulfillments(&o.id).is_empty());
}

#[tokio::test]
async fn a_dropped_answer_after_apply_leaves_the_fulfillment_applied() {
    let f = fixture(SimConfig::default(), 0, 1).await;
    let o = f.store.add_order(OrderSeed::with_lines(1));
    f.sim
        .script_fault(FaultKind::DropAfterApply, Some("fulfillmentCreate"), 1);
    let vars = json!({"fulfillment": {"lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": o.fulfillment_order_id}]}});
    let r = f
        .client
        .post(&f.url)
        .header("X-Shopify-Access-Token", TOKEN)
        .json(&json!({"query": CREATE, "variables": vars}))
        .send()
        .await;
    let lost = match r {
        Err(_) => true,
        Ok(resp) => resp.text().await.is_err(),
    };
    assert!(lost, "the answer was dropped");
    assert_eq!(
        f.store.fulfillments(&o.id).len(),
        1,
        "but the mutation was applied"
    );
    // The scripted fault is used up; a read is not affected by one aimed at a mutation.
    let b = f.gql(ORDERS_PAGE, json!({"query": null})).await;
    assert_eq!(b["data"]["orders"]["nodes"].as_array().unwrap().len(), 1);
    assert_eq!(f.sim.stats().injected_faults, 1);
}

#[tokio::test]
async fn order_update_and_close() {
    let f = fixture(SimConfig::default(), 0, 1).await;
    let o = f.store.add_order(OrderSeed {
        custom_attributes: vec![("a".into(), "1".into())],
        ..OrderSeed::with_lines(1).updated_at("2026-05-01T00:00:00Z")
    });
    let update = r#"mutation($input: OrderInput!) { orderUpdate(input: $input) {
        order { id customAttributes { key value } poNumber } userErrors { field message } } }"#;
    let b = f
        .gql(
            update,
            json!({"input": {"id": o.id, "poNumber": "PO-7", "customAttributes": [
                {"key": "a", "value": "1"}, {"key": "BC Doc. No.", "value": "SO-1"}]}}),
        )
        .await;
    let p = &b["data"]["orderUpdate"];
    assert_eq!(p["userErrors"], json!([]));
    assert_eq!(p["order"]["poNumber"], "PO-7");
    assert_eq!(p["order"]["customAttributes"][1]["value"], "SO-1");
    assert_eq!(
        cost(&b).0,
        11.0,
        "10 + customAttributes; the payload's order is free"
    );
    let b = f.gql(update, json!({"input": {"id": o.id}})).await;
    assert_eq!(
        b["data"]["orderUpdate"]["userErrors"],
        json!([{"field": null, "message": "No valid update parameters have been provided"}])
    );
    let b = f
        .gql(update, json!({"input": {"id": "gid://shopify/Order/77"}}))
        .await;
    assert_eq!(b["data"]["orderUpdate"]["order"], Json::Null);
    assert_eq!(
        b["data"]["orderUpdate"]["userErrors"],
        json!([{"field": ["id"], "message": "Order does not exist"}])
    );
    let close = r#"mutation($input: OrderCloseInput!) { orderClose(input: $input) {
        order { id closed closedAt } userErrors { field message } } }"#;
    let b = f.gql(close, json!({"input": {"id": o.id}})).await;
    assert_eq!(b["data"]["orderClose"]["order"]["closed"], true);
    let at = b["data"]["orderClose"]["order"]["closedAt"].clone();
    let b = f.gql(close, json!({"input": {"id": o.id}})).await;
    assert_eq!(
        b["data"]["orderClose"]["order"]["closedAt"], at,
        "closing again changes nothing"
    );
    assert_eq!(b["data"]["orderClose"]["userErrors"], json!([]));
    assert_eq!(cost(&b), (10.0, Some(10.0)));
    assert_eq!(f.store.order_writes().len(), 3);
    // A missing required argument is a validation error, charged nothing.
    let b = f
        .gql(
            "mutation { orderClose { userErrors { message } } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&b), "missingRequiredArguments");
}

#[tokio::test]
async fn an_expensive_page_is_throttled_by_its_requested_cost_and_refunded_to_its_actual() {
    let f = fixture(
        SimConfig {
            bucket_size: 500.0,
            restore_rate: 1.0,
            ..Default::default()
        },
        0,
        1,
    )
    .await;
    f.store.seed_orders(2, 1, "2026-05-01T00:00:00Z", 60);
    let q = r#"query { orders(first: 40) { nodes { id lineItems(first: 10) { nodes { id variant { id } } } } } }"#;
    // 2 + 40 × (1 + 2 + 10 × 2) = 922: more than the bucket holds.
    let b = f.gql(q, json!({})).await;
    assert_eq!(code(&b), "THROTTLED");
    assert_eq!(cost(&b), (922.0, None));
    assert_eq!(b["data"], Json::Null);
    let small = r#"query { orders(first: 20) { nodes { id lineItems(first: 10) { nodes { id variant { id } } } } } }"#;
    let b = f.gql(small, json!({})).await;
    // 2 + 20 × 23 = 462 requested; two one-line orders come back: 2 + 2 × (1 + 2 + 1 × 2).
    assert_eq!(cost(&b), (462.0, Some(12.0)));
    let left = b["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"]
        .as_f64()
        .unwrap();
    assert!(left >= 487.0, "the difference was refunded: {left}");
}

#[tokio::test]
async fn payments_account_is_null_until_the_shop_has_one() {
    let f = fixture(SimConfig::default(), 0, 1).await;
    let q = r#"query { shopifyPaymentsAccount { payouts(first: 5, sortKey: ID, query: "id:>1") {
        nodes { id legacyResourceId status net { amount currencyCode } } } } }"#;
    let b = f.gql(q, json!({})).await;
    assert_eq!(b["data"]["shopifyPaymentsAccount"], Json::Null);
    for day in 1..=3 {
        f.store.add_payout(shopify_sim::PayoutSeed {
            issued_at: format!("2026-05-0{day}T00:00:00Z"),
            status: "PAID".into(),
            net: "10.00".into(),
            charges_gross: "10.50".into(),
            charges_fee: "0.50".into(),
        });
    }
    let b = f.gql(q, json!({})).await;
    let nodes = b["data"]["shopifyPaymentsAccount"]["payouts"]["nodes"]
        .as_array()
        .unwrap();
    assert_eq!(nodes.len(), 2, "id:>1");
    assert_eq!(nodes[0]["legacyResourceId"], "2");
    assert_eq!(nodes[0]["net"]["amount"], "10.0");
}

// ---------------------------------------------------------------- recorded shapes and costs

/// `order(id)` with three MoneyBags in both currencies: the live API charged 1 (the order), the
/// simulator charges the same and answers in the same keys.
#[tokio::test]
async fn money_bags_are_free_as_recorded() {
    let Some(c) = capture("payments/payment-terms-create-order-eligibility.json") else {
        return;
    };
    let rec = &c["cases"]["paid"]["setup"]["stateRead"];
    let f = fixture(SimConfig::default(), 0, 1).await;
    let o = f.store.add_order(OrderSeed::with_lines(1));
    let ours = f
        .gql(rec["query"].as_str().unwrap(), json!({"id": o.id}))
        .await;
    assert_eq!(paths(&ours), paths(&rec["response"]), "ours: {ours}");
    assert_eq!(cost(&ours), cost(&rec["response"]));
    assert_eq!(cost(&ours), (1.0, Some(1.0)));
}

/// The order read and `orderClose` recorded in `orderClose-parity.json`: same keys, same requested
/// and actual cost (3 for the read: order, customer, transactions; 12 for the close: 10 + customer
/// + transactions, the payload's order free), for an order without customer or transactions.
#[tokio::test]
async fn order_read_and_close_match_the_recording() {
    let Some(c) = capture("orders/orderClose-parity.json") else {
        return;
    };
    let read = c["upstreamCalls"][0]["query"].as_str().unwrap();
    let f = fixture(SimConfig::default(), 0, 1).await;
    let o = f.store.add_order(OrderSeed {
        transactions: Some(vec![]),
        ..OrderSeed::default()
    });
    let ours = f.gql(read, json!({"id": o.id})).await;
    let rec = &c["downstreamRead"]["response"];
    assert_eq!(paths(&ours), paths(rec), "ours: {ours}");
    assert_eq!(cost(&ours), cost(rec));
    assert_eq!(ours["data"]["order"]["customer"], Json::Null);
    assert_eq!(ours["data"]["order"]["transactions"], json!([]));

    // The close, with the read's selection as its payload.
    let selection = &read[read.find("order(id: $id) {").unwrap() + "order(id: $id) ".len()..];
    let selection = &selection[..selection.rfind('}').unwrap()];
    let close = format!(
        "mutation Close($input: OrderCloseInput!) {{ orderClose(input: $input) {{ order {selection} userErrors {{ field message }} }} }}"
    );
    let ours = f.gql(&close, json!({"input": {"id": o.id}})).await;
    let rec = &c["mutation"]["response"];
    assert_eq!(paths(&ours), paths(rec), "ours: {ours}");
    assert_eq!(cost(&ours), cost(rec));
    assert_eq!(ours["data"]["orderClose"]["order"]["closed"], true);
}

/// `fulfillmentCreate` as recorded in `order-delete-snapshot-staging.json`: same keys, 10 points.
#[tokio::test]
async fn fulfillment_create_matches_the_recording() {
    let Some(c) = capture("orders/order-delete-snapshot-staging.json") else {
        return;
    };
    let rec = &c["operations"]["fulfillmentCreate"];
    let f = fixture(SimConfig::default(), 0, 1).await;
    let o = f.store.add_order(OrderSeed::with_lines(2));
    let mut vars = rec["variables"].clone();
    vars["fulfillment"]["lineItemsByFulfillmentOrder"][0]["fulfillmentOrderId"] =
        json!(o.fulfillment_order_id);
    let ours = f.gql(rec["query"].as_str().unwrap(), vars).await;
    let recorded = &rec["response"]["payload"];
    assert_eq!(paths(&ours), paths(recorded), "ours: {ours}");
    assert_eq!(cost(&ours), cost(recorded));
    assert_eq!(
        ours["data"]["fulfillmentCreate"]["fulfillment"]["displayStatus"],
        recorded["data"]["fulfillmentCreate"]["fulfillment"]["displayStatus"]
    );
    assert_eq!(
        f.store.fulfillments(&o.id)[0].tracking_company.as_deref(),
        Some("Hermes")
    );
}

/// The refusals recorded in `fulfillment-create-preconditions.json`, replayed on the simulator's
/// own order: the same `userErrors` (field and message; the closed case names its fulfillment order).
#[tokio::test]
async fn fulfillment_refusals_match_the_recording() {
    let Some(c) = capture("orders/fulfillment-create-preconditions.json") else {
        return;
    };
    let f = fixture(SimConfig::default(), 0, 1).await;
    let q = "mutation C($fulfillment: FulfillmentInput!, $message: String) { fulfillmentCreate(fulfillment: $fulfillment, message: $message) { fulfillment { id } userErrors { field message } } }";
    for case in [
        "overFulfill",
        "nonPositiveQuantity",
        "missingFulfillmentOrder",
        "closed",
    ] {
        let rec = &c["cases"][case];
        // One unit of one line, as recorded.
        let o = f.store.add_order(OrderSeed {
            lines: vec![shopify_sim::LineSeed::new("ONE", 1, "10.00")],
            ..OrderSeed::default()
        });
        if case == "closed" {
            f.gql(
                q,
                json!({"fulfillment": {"lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": o.fulfillment_order_id}]}}),
            )
            .await;
        }
        let mut vars = rec["variables"].clone();
        let entry = &mut vars["fulfillment"]["lineItemsByFulfillmentOrder"][0];
        if case != "missingFulfillmentOrder" {
            entry["fulfillmentOrderId"] = json!(o.fulfillment_order_id);
        }
        if let Some(lines) = entry
            .get_mut("fulfillmentOrderLineItems")
            .and_then(|l| l.as_array_mut())
        {
            for l in lines {
                l["id"] = json!(o.fulfillment_order_line_ids[0]);
            }
        }
        let ours = f.gql(q, vars).await;
        let ours = &ours["data"]["fulfillmentCreate"]["userErrors"];
        let recorded = &rec["response"]["data"]["fulfillmentCreate"]["userErrors"];
        assert_eq!(ours[0]["field"], recorded[0]["field"], "{case}");
        if case == "closed" {
            let tail = o.fulfillment_order_id.rsplit('/').next().unwrap();
            assert_eq!(
                ours[0]["message"],
                format!("Fulfillment order {tail} has an unfulfillable status= closed."),
                "{case}"
            );
        } else {
            assert_eq!(ours[0]["message"], recorded[0]["message"], "{case}");
        }
    }
}

/// `UserError` has no `code`: selecting it is the validation error the live API gives.
#[tokio::test]
async fn order_mutation_user_errors_have_no_code() {
    let Some(c) = capture("orders/orderLifecycle-plain-usererror-no-code.json") else {
        return;
    };
    let rec = &c["codeSelection"]["response"]["payload"]["errors"][1];
    let f = fixture(SimConfig::default(), 0, 1).await;
    let b = f
        .gql(
            "mutation($closeInput: OrderCloseInput!) { close: orderClose(input: $closeInput) { order { id } userErrors { field message code } } }",
            json!({"closeInput": {"id": "gid://shopify/Order/999999999999"}}),
        )
        .await;
    assert_eq!(b["errors"][0]["message"], rec["message"]);
    assert_eq!(b["errors"][0]["extensions"], rec["extensions"]);
}
