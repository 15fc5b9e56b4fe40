//! The simulator answers `inventorySetQuantities` in the same key structure as the live API
//! recorded in `shared/shopify/captures/products/inventory-quantity-contracts-2026-04.json`.

use crate::common;

use std::collections::BTreeSet;

use common::*;
use serde_json::{Value as Json, json};
use shopify_sim::SimConfig;

const CAPTURE: &str =
    "../../../shared/shopify/captures/products/inventory-quantity-contracts-2026-04.json";

/// Every key path in `v` (array elements collapsed to `[]`).
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

#[tokio::test]
async fn inventory_set_quantities_matches_recorded_shape() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(CAPTURE);
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!("skipped: ../shared absent ({})", path.display());
        return;
    };
    let capture: Json = serde_json::from_str(&text).expect("capture is JSON");
    let recorded = &capture["inventorySetQuantities"]["response"];
    let recorded_missing = &capture["missingSetChangeFromQuantity"]["response"];

    let f = fixture(SimConfig::default(), 1, 1).await;
    let q = r#"mutation Set($input: InventorySetQuantitiesInput!, $idempotencyKey: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $idempotencyKey) {
    inventoryAdjustmentGroup { id createdAt reason referenceDocumentUri
      changes { name delta quantityAfterChange item { id } location { id name } } }
    userErrors { field message code }
  }
}"#;
    let input = json!({"name": "available", "reason": "correction",
        "referenceDocumentUri": "logistics://sim/set/1",
        "quantities": [row(&f.items[0], &f.locations[0], 15, Some(10))]});
    let ours = f
        .gql(q, json!({"input": input, "idempotencyKey": "shape-1"}))
        .await;
    assert_eq!(
        paths(&ours),
        paths(recorded),
        "ours: {ours}\nrecorded: {recorded}"
    );
    let ours_changes =
        &ours["data"]["inventorySetQuantities"]["inventoryAdjustmentGroup"]["changes"];
    let rec_changes =
        &recorded["data"]["inventorySetQuantities"]["inventoryAdjustmentGroup"]["changes"];
    let names = |c: &Json| {
        c.as_array()
            .unwrap()
            .iter()
            .map(|x| x["name"].clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(ours_changes), names(rec_changes));
    assert!(ours["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"].is_number());

    let missing = json!({"name": "available", "reason": "correction",
        "quantities": [{"inventoryItemId": f.items[0], "locationId": f.locations[0], "quantity": 5}]});
    let ours = f
        .gql(q, json!({"input": missing, "idempotencyKey": "shape-2"}))
        .await;
    assert_eq!(
        paths(&ours),
        paths(recorded_missing),
        "ours: {ours}\nrecorded: {recorded_missing}"
    );
    assert_eq!(
        ours["errors"][0]["message"],
        recorded_missing["errors"][0]["message"]
    );
    assert_eq!(
        ours["errors"][0]["extensions"],
        recorded_missing["errors"][0]["extensions"]
    );
    // Same number of locations (the field and the `$input` definition); the numbers differ
    // because the recorded document is laid out differently.
    assert_eq!(
        ours["errors"][0]["locations"].as_array().map(Vec::len),
        recorded_missing["errors"][0]["locations"]
            .as_array()
            .map(Vec::len)
    );
}
