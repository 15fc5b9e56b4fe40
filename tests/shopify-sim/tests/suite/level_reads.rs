//! Reading single levels by (inventory item, location): `nodes(ids:)` over inventory items with
//! `inventoryLevel(locationId:)`, the client's `InventoryItemsLevelAt` document (the re-read of a
//! level `inventorySetQuantities` refused as stale), answered in the shapes the live API recorded
//! in `shared/shopify/captures/` and charged as `nodes(ids:)` is charged there.

use crate::common;

use std::collections::BTreeSet;

use common::*;
use serde_json::{Value as Json, json};
use shopify_sim::SimConfig;

/// The client's document, as it sends it.
const LEVEL_AT: &str =
    include_str!("../../../../shared/shopify-client/graphql/InventoryItemsLevelAt.graphql");

const CAPTURES: &str = "../../../shared/shopify/captures";

fn capture(rel: &str) -> Option<Json> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(CAPTURES)
        .join(rel);
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(serde_json::from_str(&text).expect("capture is JSON")),
        Err(_) => {
            eprintln!("skipped: ../shared absent ({})", path.display());
            None
        }
    }
}

/// Every key path in `v` (array elements collapsed to `[]`).
fn paths(v: &Json) -> BTreeSet<String> {
    fn walk(v: &Json, prefix: String, out: &mut BTreeSet<String>) {
        match v {
            Json::Object(m) => {
                for (k, x) in m {
                    let p = format!("{prefix}.{k}");
                    out.insert(p.clone());
                    walk(x, p, out);
                }
            }
            Json::Array(a) => {
                for x in a {
                    walk(x, format!("{prefix}[]"), out);
                }
            }
            _ => {}
        }
    }
    let mut s = BTreeSet::new();
    walk(v, String::new(), &mut s);
    s
}

#[tokio::test]
async fn items_level_at_a_location_reads_current_levels_for_three_points() {
    let f = fixture(SimConfig::default(), 3, 2).await;
    let unstocked = f.add_unstocked_item();
    // Someone edits Shopify: the level is no longer what the seed put there.
    f.store.set_available(&f.items[0], &f.locations[1], 42);
    let ids = json!([
        f.items[0],
        f.items[1],
        unstocked,
        "gid://shopify/InventoryItem/424242",
        f.locations[0]
    ]);
    let b = f
        .gql(
            LEVEL_AT,
            json!({"inventoryItemIds": ids, "locationId": f.locations[1]}),
        )
        .await;
    assert!(b.get("errors").is_none(), "{b}");
    let available = |q: i64| json!({"quantities": [{"name": "available", "quantity": q}]});
    assert_eq!(
        b["data"]["nodes"],
        json!([
            {"id": f.items[0], "inventoryLevel": available(42)},
            {"id": f.items[1], "inventoryLevel": available(10)},
            // Not stocked at the location: the level is null, the item is there.
            {"id": unstocked, "inventoryLevel": null},
            // Unknown id: null.
            null,
            // Another type: the inline fragment does not apply.
            {}
        ]),
        "{b}"
    );
    // `nodes(ids:)` is charged like a plain list (1 + one element), whatever the number of ids:
    // 1 + inventoryLevel 1 + quantities 1.
    let cost = &b["extensions"]["cost"];
    assert_eq!(cost["requestedQueryCost"], 3, "{b}");
    assert!(cost["actualQueryCost"].as_f64().unwrap() <= 3.0, "{b}");
    assert_eq!(
        LEVEL_AT.lines().next().map(str::trim),
        Some("# cost: 3"),
        "the annotation promises what is charged"
    );
    // Reading is not adjusting.
    assert!(f.store.adjustment_log().is_empty());
}

#[tokio::test]
async fn more_than_250_ids_are_an_input_size_error() {
    let f = fixture(SimConfig::default(), 251, 1).await;
    let b = f
        .gql(
            LEVEL_AT,
            json!({"inventoryItemIds": f.items, "locationId": f.locations[0]}),
        )
        .await;
    assert_eq!(code(&b), "MAX_INPUT_SIZE_EXCEEDED", "{b}");
    assert!(b.get("data").is_none());
    let b = f
        .gql(
            LEVEL_AT,
            json!({"inventoryItemIds": &f.items[..250], "locationId": f.locations[0]}),
        )
        .await;
    assert_eq!(b["data"]["nodes"].as_array().map(Vec::len), Some(250));
}

/// `inventoryLevel(locationId:)` of an item: null where it is not stocked, the level where it is,
/// in the key structure of the live answers (`deletedLevel` of the location-delete cascade capture,
/// `inactiveLevel` of the inactive-level lifecycle capture, which passes `includeInactive`).
#[tokio::test]
async fn item_level_by_location_matches_recorded_shapes() {
    let Some(cascade) = capture("store-properties/location-delete-inventory-level-cascade.json")
    else {
        return;
    };
    let Some(lifecycle) = capture("products/inventory-inactive-level-lifecycle-2026-04.json")
    else {
        return;
    };
    let recorded_null = &cascade["workflow"]["defaultInventoryRead"]["response"]["payload"]["data"]
        ["inventoryItem"];
    let recorded_level = &cascade["workflow"]["inventoryBeforeDelete"]["response"]["payload"]["data"]
        ["inventoryItem"];
    let recorded_inactive = &lifecycle["upstreamCalls"][1]["response"]["body"]["data"]["inventoryItem"]
        ["inactiveLevel"];
    assert!(recorded_null["deletedLevel"].is_null());
    assert!(recorded_level["deletedLevel"].is_object());
    assert!(recorded_inactive.is_object());

    let f = fixture(SimConfig::default(), 1, 2).await;
    let unstocked = f.add_unstocked_item();
    let q = r#"query Read($inventoryItemId: ID!, $locationId: ID!) {
  inventoryItem(id: $inventoryItemId) {
    id
    deletedLevel: inventoryLevel(locationId: $locationId) { id location { id name } }
    inactiveLevel: inventoryLevel(locationId: $locationId, includeInactive: true) {
      id isActive location { id name }
      quantities(names: ["available", "on_hand", "incoming"]) { name quantity }
    }
  }
}"#;
    let stocked = f
        .gql(
            q,
            json!({"inventoryItemId": f.items[0], "locationId": f.locations[1]}),
        )
        .await;
    let item = &stocked["data"]["inventoryItem"];
    assert_eq!(
        paths(&item["deletedLevel"]),
        paths(&recorded_level["deletedLevel"]),
        "{stocked}"
    );
    assert_eq!(
        paths(&item["inactiveLevel"]),
        paths(recorded_inactive),
        "{stocked}"
    );
    assert_eq!(
        item["inactiveLevel"]["quantities"][0],
        json!({"name": "available", "quantity": 10})
    );

    let none = f
        .gql(
            q,
            json!({"inventoryItemId": unstocked, "locationId": f.locations[1]}),
        )
        .await;
    let item = &none["data"]["inventoryItem"];
    assert_eq!(item["id"], json!(unstocked), "{none}");
    assert_eq!(item["deletedLevel"], recorded_null["deletedLevel"]);
    assert!(item["inactiveLevel"].is_null());
}
