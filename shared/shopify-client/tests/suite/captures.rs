//! The client's typed decoding fed with real recorded Shopify answers
//! (`../../../shared/shopify/captures/**`, API 2026-04, read in place and never copied).
//! Each test skips with a message when the reference data is absent.
//!
//! Every answer is decoded the way the transport does it: the body as a [`GraphQlResponse`]
//! envelope, then `data` as the typed shape of the document (`data_as`). The capture files are
//! recordings (request, response, notes); the tests find the answers in them by key, but what a
//! Shopify answer holds is only ever read through the typed structs.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use shopsync_shopify::bulk::{
    BulkOperationRunQueryData, BulkOperationStatusData, BulkStart, parse_bulk_start, parse_jsonl,
};
use shopsync_shopify::inventory::{
    InventorySetQuantitiesData, ItemLevelNode, LevelNode, LocationInventoryLevelsData,
    LocationsData, item_level_from_node, level_from_node, location_from_node, parse_set_quantities,
};
use shopsync_shopify::orders::{
    CustomerNode, FulfillmentCreateData, FulfillmentNode, FulfillmentOrderLineNode,
    FulfillmentOrderNode, LineItemNode, OrderCloseData, OrderUpdateData, TransactionNode,
    fulfillment_from_node, fulfillment_order_line, fulfillment_outcome, line_from_node,
    order_close_outcome, order_update_outcome,
};
use shopsync_shopify::pagination::{PagedData, page_of};
use shopsync_shopify::response::{GraphQlResponse, ThrottleStatus, Verdict};
use shopsync_shopify::wire::{BulkLine, Connection, IdRef, MoneyBag};
use std::path::PathBuf;
use std::sync::OnceLock;

fn captures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/shopify/captures")
}

fn capture(rel: &str) -> Option<Value> {
    let path = captures_dir().join(rel);
    match std::fs::read(&path) {
        Ok(bytes) => Some(serde_json::from_slice(&bytes).expect("capture is JSON")),
        Err(_) => {
            eprintln!(
                "SKIPPED: capture {} not found (reference data absent)",
                path.display()
            );
            None
        }
    }
}

/// Every capture file, parsed once per test binary; `None` (after saying so) when the reference
/// data is absent.
fn all_captures() -> Option<&'static [(String, Value)]> {
    static ALL: OnceLock<Option<Vec<(String, Value)>>> = OnceLock::new();
    ALL.get_or_init(|| {
        let dir = captures_dir();
        let Ok(domains) = std::fs::read_dir(&dir) else {
            eprintln!(
                "SKIPPED: captures {} not found (reference data absent)",
                dir.display()
            );
            return None;
        };
        let mut out = Vec::new();
        for domain in domains {
            let domain = domain.unwrap().path();
            if !domain.is_dir() {
                continue;
            }
            for file in std::fs::read_dir(&domain).unwrap() {
                let file = file.unwrap().path();
                if file.extension().is_some_and(|e| e == "json") {
                    let bytes = std::fs::read(&file).unwrap();
                    let name = file.strip_prefix(&dir).unwrap().display().to_string();
                    out.push((
                        name,
                        serde_json::from_slice(&bytes).expect("capture is JSON"),
                    ));
                }
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Some(out)
    })
    .as_deref()
}

/// The recorded answers in a capture: objects whose keys are a subset of `data`, `errors` and
/// `extensions` and hold `data` or `errors`, with where they sit in the file.
fn recorded_answers(v: &Value, at: String, out: &mut Vec<(String, Value)>) {
    match v {
        Value::Object(map) => {
            let envelope = (map.contains_key("data") || map.contains_key("errors"))
                && map
                    .keys()
                    .all(|k| matches!(k.as_str(), "data" | "errors" | "extensions"));
            if envelope {
                out.push((at.clone(), v.clone()));
            }
            for (k, x) in map {
                recorded_answers(x, format!("{at}/{k}"), out);
            }
        }
        Value::Array(items) => {
            for (i, x) in items.iter().enumerate() {
                recorded_answers(x, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// Decodes a recorded body as the transport does: the envelope from the body's bytes.
fn envelope(v: &Value) -> GraphQlResponse {
    GraphQlResponse::<Value>::parse(&serde_json::to_vec(v).unwrap()).expect("envelope decodes")
}

/// The envelope and `data` as the typed shape `D` of `document`.
fn answer<D: DeserializeOwned>(v: &Value, document: &str) -> (GraphQlResponse, D) {
    let r = envelope(v);
    let data = r
        .data_as::<D>(document)
        .unwrap_or_else(|e| panic!("{document}: {e}"));
    (r, data)
}

#[test]
fn inventory_set_quantities_success() {
    let Some(c) = capture("products/inventory-quantity-contracts-2026-04.json") else {
        return;
    };
    let (r, data) = answer::<InventorySetQuantitiesData>(
        &c["inventorySetQuantities"]["response"],
        "InventorySetQuantities",
    );
    assert_eq!(r.verdict(), Verdict::Ok);
    let cost = r.cost.unwrap();
    assert_eq!(cost.requested, Some(13.0));
    assert_eq!(cost.actual, Some(13.0));
    assert_eq!(
        cost.throttle_status,
        Some(ThrottleStatus {
            maximum_available: 2000.0,
            currently_available: 1986.0,
            restore_rate: 100.0
        })
    );
    let outcome = parse_set_quantities(data).unwrap();
    assert_eq!(
        outcome.adjustment_group_id.as_deref(),
        Some("gid://shopify/InventoryAdjustmentGroup/54640716251442")
    );
    assert!(outcome.user_errors.is_empty());
}

#[test]
fn inventory_set_quantities_user_errors_are_data() {
    let Some(c) = capture("products/inventory-quantity-contracts-2026-04.json") else {
        return;
    };
    let (r, data) = answer::<InventorySetQuantitiesData>(
        &c["unknownIdValidation"]["setUnknownInventoryItem"]["response"],
        "InventorySetQuantities",
    );
    assert_eq!(
        r.verdict(),
        Verdict::Ok,
        "userErrors are not top-level errors"
    );
    let outcome = parse_set_quantities(data).unwrap();
    assert_eq!(outcome.adjustment_group_id, None);
    assert_eq!(outcome.user_errors.len(), 1);
    let e = &outcome.user_errors[0];
    assert_eq!(e.code.as_deref(), Some("INVALID_INVENTORY_ITEM"));
    assert_eq!(e.field, vec!["input", "quantities", "0", "inventoryItemId"]);
    assert_eq!(e.quantity_row(), Some(0));
    assert_eq!(
        e.message,
        "The specified inventory item could not be found."
    );

    let (r, data) = answer::<InventorySetQuantitiesData>(
        &c["unknownIdValidation"]["setUnknownLocation"]["response"],
        "InventorySetQuantities",
    );
    let outcome = parse_set_quantities(data).unwrap();
    assert_eq!(
        outcome.user_errors[0].code.as_deref(),
        Some("INVALID_LOCATION")
    );
    assert_eq!(r.throttle_status().unwrap().currently_available, 1987.0);
}

#[test]
fn contract_violations_are_rejected_not_retried() {
    let Some(c) = capture("products/inventory-quantity-contracts-2026-04.json") else {
        return;
    };
    let r = envelope(&c["missingSetIdempotency"]["response"]);
    match r.verdict() {
        Verdict::Rejected { code, message } => {
            assert_eq!(code, "BAD_REQUEST");
            assert!(message.contains("@idempotent directive is required"));
        }
        v => panic!("{v:?}"),
    }
    // Shopify still charges for the rejected call: the pacer must see it.
    assert_eq!(r.cost.unwrap().actual, Some(10.0));
    let r = envelope(&c["missingSetChangeFromQuantity"]["response"]);
    assert!(
        matches!(r.verdict(), Verdict::Rejected { code, .. } if code == "INVALID_FIELD_ARGUMENTS")
    );
    let r = envelope(&c["legacySetShape"]["response"]);
    assert!(matches!(r.verdict(), Verdict::Rejected { code, .. } if code == "INVALID_VARIABLE"));
    assert!(r.cost.is_none(), "this recorded answer has no extensions");
}

/// The capture's own document: `inventoryItem { activeLevels / beforeSecond: inventoryLevels { …
/// item { id } location { id } quantities { name quantity } } }` — our level node plus `location`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ItemLevelsWindow {
    inventory_item: ItemWindows,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ItemWindows {
    #[serde(default)]
    active_levels: Option<Connection<LocatedLevel>>,
    #[serde(default)]
    before_second: Option<Connection<LocatedLevel>>,
}

#[derive(Debug, Deserialize)]
struct LocatedLevel {
    #[serde(flatten)]
    level: LevelNode,
    location: IdRef,
}

/// The window read through `activeLevels`.
#[derive(Deserialize)]
#[serde(transparent)]
struct Active(ItemLevelsWindow);

/// The window read through `beforeSecond`.
#[derive(Deserialize)]
#[serde(transparent)]
struct BeforeSecond(ItemLevelsWindow);

impl PagedData for Active {
    type Node = LocatedLevel;
    const CONNECTION: &'static str = "inventoryItem.activeLevels";
    fn into_connection(self) -> Option<Connection<LocatedLevel>> {
        self.0.inventory_item.active_levels
    }
}

impl PagedData for BeforeSecond {
    type Node = LocatedLevel;
    const CONNECTION: &'static str = "inventoryItem.beforeSecond";
    fn into_connection(self) -> Option<Connection<LocatedLevel>> {
        self.0.inventory_item.before_second
    }
}

#[test]
fn inventory_levels_connection_and_page_info() {
    let Some(c) = capture("products/inventory-item-levels-connection-windowing-2026-04.json")
    else {
        return;
    };
    let ops = &c["operations"];
    let (_, data) = answer::<Active>(&ops["activeRead"]["response"], "activeRead");
    let page = page_of(data).unwrap().unwrap();
    assert_eq!(page.nodes.len(), 2);
    assert!(!page.page_info.has_next_page);
    assert_eq!(
        page.page_info.end_cursor.as_deref(),
        Some("eyJsYXN0X2lkIjo1Njc3NjU1NjU0NDMwNiwibGFzdF92YWx1ZSI6IjU2Nzc2NTU2NTQ0MzA2In0=")
    );
    let levels: Vec<_> = page
        .nodes
        .into_iter()
        .map(|n| level_from_node(n.level, &n.location.id).unwrap())
        .collect();
    assert_eq!(
        levels[0].inventory_item_id,
        "gid://shopify/InventoryItem/53564958638386"
    );
    assert_eq!(levels[0].location_id, "gid://shopify/Location/113884234034");
    assert_eq!(levels[0].available, 4);
    assert_eq!(levels[1].available, 10);

    let (r, data) = answer::<BeforeSecond>(&ops["windowRead"]["response"], "windowRead");
    let before = page_of(data).unwrap().unwrap();
    assert!(before.page_info.has_next_page);
    assert_eq!(before.nodes.len(), 1);
    assert_eq!(r.cost.unwrap().requested, Some(13.0));
}

/// An inventory item's `inventoryLevel(locationId:)`, as `InventoryItemsLevelAt` selects it per
/// node: the recorded level (under the alias `inactiveLevel`) gives its `available`; the recorded
/// null level (`deletedLevel`, the item not stocked there) gives nothing.
#[test]
fn item_level_by_location() {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Data {
        inventory_item: Item,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Item {
        id: String,
        #[serde(default)]
        inactive_level: Option<Value>,
        #[serde(default)]
        deleted_level: Option<Value>,
    }
    #[derive(Deserialize)]
    struct Located {
        location: IdRef,
    }
    let Some(c) = capture("products/inventory-inactive-level-lifecycle-2026-04.json") else {
        return;
    };
    let (_, data) = answer::<Data>(&c["upstreamCalls"][1]["response"]["body"], "inventoryItem");
    let recorded = data.inventory_item.inactive_level.unwrap();
    let location: Located = serde_json::from_value(recorded.clone()).unwrap();
    // The node as `InventoryItemsLevelAt` selects it: `id` and the level under `inventoryLevel`.
    let node: Option<ItemLevelNode> = serde_json::from_value(
        serde_json::json!({ "id": data.inventory_item.id, "inventoryLevel": recorded }),
    )
    .unwrap();
    let level = item_level_from_node(node, &location.location.id).unwrap();
    assert_eq!(
        level.inventory_item_id,
        "gid://shopify/InventoryItem/53214089609522"
    );
    assert_eq!(level.location_id, "gid://shopify/Location/106318463282");
    assert_eq!(level.available, 7);

    let Some(c) = capture("store-properties/location-delete-inventory-level-cascade.json") else {
        return;
    };
    let (_, data) = answer::<Data>(
        &c["workflow"]["defaultInventoryRead"]["response"]["payload"],
        "inventoryItem",
    );
    assert!(data.inventory_item.deleted_level.is_none());
    let node: Option<ItemLevelNode> = serde_json::from_value(
        serde_json::json!({ "id": data.inventory_item.id, "inventoryLevel": null }),
    )
    .unwrap();
    assert_eq!(item_level_from_node(node, "gid://shopify/Location/1"), None);
}

#[test]
fn bulk_run_and_status() {
    let Some(c) = capture("bulk-operations/bulk-operation-run-query-group-objects.json") else {
        return;
    };
    let run = &c["runs"]["runQueryGroupObjectsTrue"];
    let (r, data) = answer::<BulkOperationRunQueryData>(&run["run"]["response"], "run");
    assert_eq!(
        parse_bulk_start(data).unwrap(),
        BulkStart::Started {
            id: "gid://shopify/BulkOperation/8001977286962".into()
        }
    );
    assert_eq!(r.cost.unwrap().requested, Some(10.0));
    let polls = run["statusPolls"].as_array().unwrap();
    let (first, data) = answer::<BulkOperationStatusData>(&polls[0]["response"], "poll");
    let op = data.bulk_operation.unwrap();
    assert_eq!(op.status, "CREATED");
    assert!(!op.is_terminal());
    assert_eq!(
        first.cost.unwrap().requested,
        Some(1.0),
        "a status poll costs 1, as annotated"
    );
    let (_, data) = answer::<BulkOperationStatusData>(&polls.last().unwrap()["response"], "poll");
    let op = data.bulk_operation.unwrap();
    assert_eq!(op.status, "COMPLETED");
    assert!(op.is_terminal());
    assert_eq!(op.object_count, Some(1456));
    assert!(
        op.url
            .as_deref()
            .unwrap()
            .starts_with("https://storage.googleapis.com/")
    );
    assert_eq!(op.partial_data_url, None);
}

#[test]
fn bulk_concurrency_limit_is_busy() {
    let Some(c) = capture("bulk-operations/bulk-operation-run-query-concurrency-limit.json") else {
        return;
    };
    let (_, data) = answer::<BulkOperationRunQueryData>(&c["sixthRun"]["response"], "run");
    match parse_bulk_start(data).unwrap() {
        BulkStart::Busy(m) => assert!(m.contains("already in progress")),
        other => panic!("{other:?}"),
    }
}

/// A recorded bulk result (JSONL with nested connections): roots and `__parentId` children decode
/// as [`BulkLine`]s.
#[test]
fn recorded_bulk_jsonl_lines() {
    let Some(c) = capture("bulk-operations/bulk-operation-root-count-and-search-filters.json")
    else {
        return;
    };
    let text = c["run"]["result"]["body"].as_str().expect("a JSONL body");
    let lines = parse_jsonl::<IdRef, IdRef>(text).unwrap();
    let roots = lines
        .iter()
        .filter(|l| matches!(l, BulkLine::Root(_)))
        .count();
    assert!(roots >= 1);
    let product = match &lines[0] {
        BulkLine::Root(r) => r.id.clone(),
        other => panic!("{other:?}"),
    };
    assert!(product.starts_with("gid://shopify/Product/"));
    assert!(lines.iter().any(|l| matches!(l,
        BulkLine::Child { parent_id, node } if *parent_id == product
            && node.id.starts_with("gid://shopify/ProductVariant/"))));
}

/// Every recorded answer (≈5,300 across all domains) decodes as the typed envelope: `errors` in each
/// of its shapes, and every `extensions.cost` with its `throttleStatus`.
#[test]
fn every_recorded_envelope_decodes() {
    let Some(files) = all_captures() else { return };
    let mut answers = 0;
    let mut with_status = 0;
    let mut with_errors = 0;
    for (file, capture) in files {
        let mut found = Vec::new();
        recorded_answers(capture, String::new(), &mut found);
        for (at, v) in found {
            let r = GraphQlResponse::<Value>::parse(&serde_json::to_vec(&v).unwrap())
                .unwrap_or_else(|e| panic!("{file}{at}: {e}"));
            answers += 1;
            if let Some(ts) = r.throttle_status() {
                assert!(
                    ts.maximum_available > 0.0 && ts.restore_rate > 0.0,
                    "{file}{at}"
                );
                with_status += 1;
            }
            if r.verdict() != Verdict::Ok {
                with_errors += 1;
            }
        }
    }
    eprintln!(
        "{answers} recorded answers decoded ({with_status} with a throttleStatus, {with_errors} with top-level errors)"
    );
    assert!(answers > 5_000 && with_status > 5_000 && with_errors > 100);
}

/// Every recorded answer to a root field our documents select decodes as our typed `data`, where
/// the recording selected (at least) what our document selects.
#[test]
fn recorded_answers_of_our_root_fields_decode_as_our_shapes() {
    let Some(files) = all_captures() else { return };
    let mut decoded = std::collections::BTreeMap::<&str, usize>::new();
    for (file, capture) in files {
        let mut found = Vec::new();
        recorded_answers(capture, String::new(), &mut found);
        for (at, v) in found {
            let r = envelope(&v);
            let Some(Value::Object(data)) = &r.data else {
                continue;
            };
            let whence = format!("{file}{at}");
            let mut check = |root: &'static str, ok: Result<(), String>| {
                if let Err(e) = ok {
                    panic!("{whence}: {e}");
                }
                *decoded.entry(root).or_default() += 1;
            };
            fn typed<D: DeserializeOwned>(r: &GraphQlResponse, name: &str) -> Result<D, String> {
                r.data_as::<D>(name).map_err(|e| e.to_string())
            }
            // A recorded `inventoryAdjustmentGroup` without `id` is a selection ours does not
            // cover (ours selects no group; a group, if ever selected, is `{ id }`).
            let group_without_id = data
                .get("inventorySetQuantities")
                .and_then(|p| p.get("inventoryAdjustmentGroup"))
                .is_some_and(|g| g.is_object() && g.get("id").is_none());
            if data.contains_key("inventorySetQuantities") && !group_without_id {
                check(
                    "inventorySetQuantities",
                    typed::<InventorySetQuantitiesData>(&r, "InventorySetQuantities").and_then(
                        |d| match d.inventory_set_quantities {
                            Some(_) => parse_set_quantities(d).map(drop).map_err(|e| e.to_string()),
                            None => Ok(()),
                        },
                    ),
                );
            }
            if data.contains_key("bulkOperationRunQuery") {
                check(
                    "bulkOperationRunQuery",
                    typed::<BulkOperationRunQueryData>(&r, "BulkOperationRunQuery").and_then(|d| {
                        match d.bulk_operation_run_query {
                            Some(_) => parse_bulk_start(d).map(drop).map_err(|e| e.to_string()),
                            None => Ok(()),
                        }
                    }),
                );
            }
            if data.contains_key("bulkOperation") {
                check(
                    "bulkOperation",
                    typed::<BulkOperationStatusData>(&r, "BulkOperationStatus").map(drop),
                );
            }
            if let Some(Value::Object(location)) = data.get("location")
                && location.contains_key("inventoryLevels")
            {
                check(
                    "location.inventoryLevels",
                    typed::<LocationInventoryLevelsData>(&r, "LocationInventoryLevels").and_then(
                        |d| {
                            let page = page_of(d).map_err(|e| e.to_string())?.unwrap();
                            let location = "gid://shopify/Location/0";
                            for node in page.nodes {
                                level_from_node(node, location);
                            }
                            Ok(())
                        },
                    ),
                );
            }
            // `locations` recorded with at least our `id name isActive` on every node.
            let ours = |node: &Value| {
                ["id", "name", "isActive"]
                    .iter()
                    .all(|k| node.get(k).is_some())
            };
            if let Some(Value::Object(locations)) = data.get("locations")
                && let Some(Value::Array(nodes)) = locations.get("nodes")
                && nodes.iter().all(ours)
            {
                check(
                    "locations",
                    typed::<LocationsData>(&r, "Locations").map(|d| {
                        for node in d.locations.into_nodes() {
                            location_from_node(node);
                        }
                    }),
                );
            }
        }
    }
    eprintln!("decoded as our shapes: {decoded:?}");
    for (root, at_least) in [
        ("inventorySetQuantities", 35),
        ("bulkOperationRunQuery", 30),
        ("bulkOperation", 60),
        ("location.inventoryLevels", 30),
        ("locations", 5),
    ] {
        assert!(
            decoded.get(root).copied().unwrap_or(0) >= at_least,
            "{root}: {decoded:?}"
        );
    }
}

/// Every `MoneyBag` (`…Set { shopMoney { amount currencyCode } }`) recorded in the order captures
/// decodes as [`MoneyBag`], the amount kept as Shopify's decimal string.
#[test]
fn recorded_order_money_decodes() {
    fn bags(v: &Value, out: &mut Vec<Value>) {
        match v {
            Value::Object(map) => {
                if map.contains_key("shopMoney") {
                    out.push(v.clone());
                }
                map.values().for_each(|x| bags(x, out));
            }
            Value::Array(items) => items.iter().for_each(|x| bags(x, out)),
            _ => {}
        }
    }
    let Some(files) = all_captures() else { return };
    let mut found = Vec::new();
    for (file, capture) in files.iter().filter(|(f, _)| f.starts_with("orders")) {
        let before = found.len();
        bags(capture, &mut found);
        for bag in &found[before..] {
            let m: MoneyBag =
                serde_json::from_value(bag.clone()).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert!(
                m.shop_money.amount.parse::<f64>().is_ok(),
                "{file}: {}",
                m.shop_money.amount
            );
        }
    }
    assert!(found.len() > 500, "{}", found.len());
}

/// The order documents' payloads: every recorded `fulfillmentCreate`, `orderClose` and
/// `orderUpdate` answer (our selections are subsets of what was recorded) decodes as our typed
/// `data` and reads into the domain outcome, `userErrors` included. No payout or balance
/// transaction was recorded (the captured store has no Shopify Payments): those shapes are checked
/// against the simulator only.
#[test]
fn recorded_order_mutation_answers_decode_as_our_shapes() {
    let Some(files) = all_captures() else { return };
    let mut decoded = std::collections::BTreeMap::<&str, usize>::new();
    let mut refused = 0;
    for (file, capture) in files {
        let mut found = Vec::new();
        recorded_answers(capture, String::new(), &mut found);
        for (at, v) in found {
            let r = envelope(&v);
            let Some(Value::Object(data)) = &r.data else {
                continue;
            };
            let whence = format!("{file}{at}");
            if data.get("fulfillmentCreate").is_some_and(|p| p.is_object()) {
                let d: FulfillmentCreateData = r
                    .data_as("FulfillmentCreate")
                    .unwrap_or_else(|e| panic!("{whence}: {e}"));
                let o = fulfillment_outcome(d).unwrap();
                assert_eq!(
                    o.fulfillment_id.is_some(),
                    o.user_errors.is_empty(),
                    "{whence}: a fulfillment or a reason"
                );
                refused += usize::from(o.fulfillment_id.is_none());
                *decoded.entry("fulfillmentCreate").or_default() += 1;
            }
            if data.get("orderClose").is_some_and(|p| p.is_object()) {
                let d: OrderCloseData = r
                    .data_as("OrderClose")
                    .unwrap_or_else(|e| panic!("{whence}: {e}"));
                order_close_outcome(d).unwrap();
                *decoded.entry("orderClose").or_default() += 1;
            }
            if data.get("orderUpdate").is_some_and(|p| p.is_object()) {
                let d: OrderUpdateData = r
                    .data_as("OrderUpdateCustomAttributes")
                    .unwrap_or_else(|e| panic!("{whence}: {e}"));
                order_update_outcome(d).unwrap();
                *decoded.entry("orderUpdate").or_default() += 1;
            }
        }
    }
    eprintln!("decoded as our shapes: {decoded:?} ({refused} refused fulfillments)");
    for (root, at_least) in [
        ("fulfillmentCreate", 15),
        ("orderClose", 3),
        ("orderUpdate", 1),
    ] {
        assert!(
            decoded.get(root).copied().unwrap_or(0) >= at_least,
            "{root}: {decoded:?}"
        );
    }
    assert!(
        refused >= 10,
        "recorded refusals carry userErrors: {refused}"
    );
}

/// The pieces of an order as our selection reads them, wherever a recorded answer selected at
/// least our fields of that piece: fulfillment-order lines and fulfillment orders, order lines,
/// transactions, customers, fulfillments (the probe). No recording selects the whole order
/// selection at once, so the order is checked piece by piece.
#[test]
fn recorded_order_pieces_decode_as_our_shapes() {
    fn has(v: &serde_json::Map<String, Value>, keys: &[&str]) -> bool {
        keys.iter().all(|k| v.contains_key(*k))
    }
    fn nodes(v: &Value) -> Vec<&Value> {
        match v {
            Value::Object(c) => match (c.get("nodes"), c.get("edges")) {
                (Some(Value::Array(n)), _) => n.iter().collect(),
                (_, Some(Value::Array(e))) => e.iter().filter_map(|e| e.get("node")).collect(),
                _ => Vec::new(),
            },
            _ => Vec::new(),
        }
    }
    fn walk(
        v: &Value,
        key: Option<&str>,
        whence: &str,
        counts: &mut std::collections::BTreeMap<&'static str, usize>,
    ) {
        match v {
            Value::Object(m) => {
                let fo_line = ["id", "totalQuantity", "remainingQuantity", "lineItem"];
                if has(m, &fo_line) && m["lineItem"].get("id").is_some() {
                    let n: FulfillmentOrderLineNode = serde_json::from_value(v.clone())
                        .unwrap_or_else(|e| panic!("{whence}: {e}"));
                    fulfillment_order_line(n);
                    *counts.entry("fulfillmentOrder.lineItems").or_default() += 1;
                }
                let fo = [
                    "id",
                    "status",
                    "requestStatus",
                    "assignedLocation",
                    "lineItems",
                ];
                if has(m, &fo)
                    && m["assignedLocation"].get("location").is_some()
                    && nodes(&m["lineItems"])
                        .iter()
                        .all(|n| n.as_object().is_some_and(|n| has(n, &fo_line)))
                {
                    let _: FulfillmentOrderNode = serde_json::from_value(v.clone())
                        .unwrap_or_else(|e| panic!("{whence}: {e}"));
                    *counts.entry("fulfillmentOrders").or_default() += 1;
                }
                let line = [
                    "id",
                    "title",
                    "quantity",
                    "currentQuantity",
                    "unfulfilledQuantity",
                    "taxable",
                    "requiresShipping",
                    "isGiftCard",
                    "originalUnitPriceSet",
                    "totalDiscountSet",
                ];
                if has(m, &line) {
                    let n: LineItemNode = serde_json::from_value(v.clone())
                        .unwrap_or_else(|e| panic!("{whence}: {e}"));
                    line_from_node(n);
                    *counts.entry("lineItems").or_default() += 1;
                }
                if has(m, &["id", "kind", "status", "amountSet"]) {
                    let _: TransactionNode = serde_json::from_value(v.clone())
                        .unwrap_or_else(|e| panic!("{whence}: {e}"));
                    *counts.entry("transactions").or_default() += 1;
                }
                if key == Some("customer") && m.contains_key("id") {
                    let _: CustomerNode = serde_json::from_value(v.clone())
                        .unwrap_or_else(|e| panic!("{whence}: {e}"));
                    *counts.entry("customer").or_default() += 1;
                }
                let fulfillment = [
                    "id",
                    "status",
                    "createdAt",
                    "trackingInfo",
                    "fulfillmentLineItems",
                ];
                if has(m, &fulfillment) {
                    let n: FulfillmentNode = serde_json::from_value(v.clone())
                        .unwrap_or_else(|e| panic!("{whence}: {e}"));
                    fulfillment_from_node(n);
                    *counts.entry("fulfillments").or_default() += 1;
                }
                for (k, x) in m {
                    walk(x, Some(k), whence, counts);
                }
            }
            Value::Array(items) => items.iter().for_each(|x| walk(x, key, whence, counts)),
            _ => {}
        }
    }
    let Some(files) = all_captures() else { return };
    let mut counts = std::collections::BTreeMap::new();
    for (file, capture) in files {
        let mut found = Vec::new();
        recorded_answers(capture, String::new(), &mut found);
        for (at, v) in found {
            if let Some(data) = v.get("data") {
                walk(data, None, &format!("{file}{at}"), &mut counts);
            }
        }
    }
    eprintln!("order pieces decoded as our shapes: {counts:?}");
    for (piece, at_least) in [
        ("fulfillmentOrder.lineItems", 60),
        ("fulfillmentOrders", 10),
        ("transactions", 10),
        ("customer", 10),
    ] {
        assert!(
            counts.get(piece).copied().unwrap_or(0) >= at_least,
            "{piece}: {counts:?}"
        );
    }
}
