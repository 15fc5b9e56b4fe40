//! The client's response parsing fed with real recorded Shopify answers
//! (`../../../shared/shopify/captures/**`, API 2026-04, read in place and never copied).
//! Each test skips with a message when the reference data is absent.

use serde_json::Value;
use shopsync_shopify::bulk::{BulkOperation, BulkStart, parse_bulk_start};
use shopsync_shopify::inventory::{item_level_from_node, level_from_node, parse_set_quantities};
use shopsync_shopify::pagination::page_at;
use shopsync_shopify::response::{GraphQlResponse, ThrottleStatus, Verdict};
use std::path::PathBuf;

fn capture(rel: &str) -> Option<Value> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/shopify/captures")
        .join(rel);
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

fn parse(v: &Value) -> GraphQlResponse {
    GraphQlResponse::parse(&serde_json::to_vec(v).unwrap()).expect("parses")
}

#[test]
fn inventory_set_quantities_success() {
    let Some(c) = capture("products/inventory-quantity-contracts-2026-04.json") else {
        return;
    };
    let r = parse(&c["inventorySetQuantities"]["response"]);
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
    let outcome = parse_set_quantities(r.data.as_ref().unwrap()).unwrap();
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
    let r = parse(&c["unknownIdValidation"]["setUnknownInventoryItem"]["response"]);
    assert_eq!(
        r.verdict(),
        Verdict::Ok,
        "userErrors are not top-level errors"
    );
    let outcome = parse_set_quantities(r.data.as_ref().unwrap()).unwrap();
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

    let r = parse(&c["unknownIdValidation"]["setUnknownLocation"]["response"]);
    let outcome = parse_set_quantities(r.data.as_ref().unwrap()).unwrap();
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
    let r = parse(&c["missingSetIdempotency"]["response"]);
    match r.verdict() {
        Verdict::Rejected { code, message } => {
            assert_eq!(code, "BAD_REQUEST");
            assert!(message.contains("@idempotent directive is required"));
        }
        v => panic!("{v:?}"),
    }
    // Shopify still charges for the rejected call: the pacer must see it.
    assert_eq!(r.cost.unwrap().actual, Some(10.0));
    let r = parse(&c["missingSetChangeFromQuantity"]["response"]);
    assert!(
        matches!(r.verdict(), Verdict::Rejected { code, .. } if code == "INVALID_FIELD_ARGUMENTS")
    );
    let r = parse(&c["legacySetShape"]["response"]);
    assert!(matches!(r.verdict(), Verdict::Rejected { code, .. } if code == "INVALID_VARIABLE"));
    assert!(r.cost.is_none(), "this recorded answer has no extensions");
}

#[test]
fn inventory_levels_connection_and_page_info() {
    let Some(c) = capture("products/inventory-item-levels-connection-windowing-2026-04.json")
    else {
        return;
    };
    let ops = &c["operations"];
    let r = parse(&ops["activeRead"]["response"]);
    let data = r.data.unwrap();
    let page = page_at(&data, &["inventoryItem", "activeLevels"])
        .unwrap()
        .unwrap();
    assert_eq!(page.nodes.len(), 2);
    assert!(!page.page_info.has_next_page);
    assert_eq!(
        page.page_info.end_cursor.as_deref(),
        Some("eyJsYXN0X2lkIjo1Njc3NjU1NjU0NDMwNiwibGFzdF92YWx1ZSI6IjU2Nzc2NTU2NTQ0MzA2In0=")
    );
    let levels: Vec<_> = page
        .nodes
        .iter()
        .map(|n| level_from_node(n, n["location"]["id"].as_str().unwrap()).unwrap())
        .collect();
    assert_eq!(
        levels[0].inventory_item_id,
        "gid://shopify/InventoryItem/53564958638386"
    );
    assert_eq!(levels[0].location_id, "gid://shopify/Location/113884234034");
    assert_eq!(levels[0].available, 4);
    assert_eq!(levels[1].available, 10);

    let r = parse(&ops["windowRead"]["response"]);
    let data = r.data.unwrap();
    let before = page_at(&data, &["inventoryItem", "beforeSecond"])
        .unwrap()
        .unwrap();
    assert!(before.page_info.has_next_page);
    assert_eq!(before.nodes.len(), 1);
    assert_eq!(r.cost.unwrap().requested, Some(13.0));
}

/// An inventory item's `inventoryLevel(locationId:)`, as `InventoryItemsLevelAt` selects it per
/// node: the recorded level (under the alias `inactiveLevel`) gives its `available`; the recorded
/// null level (`deletedLevel`, the item not stocked there) gives nothing.
#[test]
fn item_level_by_location() {
    let Some(c) = capture("products/inventory-inactive-level-lifecycle-2026-04.json") else {
        return;
    };
    let item = &c["upstreamCalls"][1]["response"]["body"]["data"]["inventoryItem"];
    let node = serde_json::json!({ "id": item["id"], "inventoryLevel": item["inactiveLevel"] });
    let location = item["inactiveLevel"]["location"]["id"].as_str().unwrap();
    let level = item_level_from_node(&node, location).unwrap();
    assert_eq!(
        level.inventory_item_id,
        "gid://shopify/InventoryItem/53214089609522"
    );
    assert_eq!(level.location_id, "gid://shopify/Location/106318463282");
    assert_eq!(level.available, 7);

    let Some(c) = capture("store-properties/location-delete-inventory-level-cascade.json") else {
        return;
    };
    let item =
        &c["workflow"]["defaultInventoryRead"]["response"]["payload"]["data"]["inventoryItem"];
    assert!(item["deletedLevel"].is_null());
    let node = serde_json::json!({ "id": item["id"], "inventoryLevel": item["deletedLevel"] });
    assert_eq!(
        item_level_from_node(&node, "gid://shopify/Location/1"),
        None
    );
}

#[test]
fn bulk_run_and_status() {
    let Some(c) = capture("bulk-operations/bulk-operation-run-query-group-objects.json") else {
        return;
    };
    let run = &c["runs"]["runQueryGroupObjectsTrue"];
    let r = parse(&run["run"]["response"]);
    assert_eq!(
        parse_bulk_start(r.data.as_ref().unwrap()).unwrap(),
        BulkStart::Started {
            id: "gid://shopify/BulkOperation/8001977286962".into()
        }
    );
    assert_eq!(r.cost.unwrap().requested, Some(10.0));
    let polls = run["statusPolls"].as_array().unwrap();
    let first = parse(&polls[0]["response"]);
    let op = BulkOperation::from_json(&first.data.as_ref().unwrap()["bulkOperation"]).unwrap();
    assert_eq!(op.status, "CREATED");
    assert!(!op.is_terminal());
    assert_eq!(
        first.cost.unwrap().requested,
        Some(1.0),
        "a status poll costs 1, as annotated"
    );
    let last = parse(&polls.last().unwrap()["response"]);
    let op = BulkOperation::from_json(&last.data.as_ref().unwrap()["bulkOperation"]).unwrap();
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
    let r = parse(&c["sixthRun"]["response"]);
    match parse_bulk_start(r.data.as_ref().unwrap()).unwrap() {
        BulkStart::Busy(m) => assert!(m.contains("already in progress")),
        other => panic!("{other:?}"),
    }
}
