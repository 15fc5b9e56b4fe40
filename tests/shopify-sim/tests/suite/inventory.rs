//! inventorySetQuantities: 2026-04+ contract, userErrors, all-or-nothing, @idempotent.

use crate::common;

use common::*;
use serde_json::json;
use shopify_sim::SimConfig;

#[tokio::test]
async fn applies_available_and_on_hand_and_logs() {
    let f = fixture(SimConfig::default(), 3, 2).await;
    let input = set_input(vec![
        row(&f.items[0], &f.locations[0], 15, Some(10)),
        row(&f.items[1], &f.locations[1], 10, Some(10)), // unchanged: no change row
        row(&f.items[2], &f.locations[0], 4, None),
    ]);
    let b = f
        .gql(SET_QTY, json!({"input": input, "key": "job-1-batch-0"}))
        .await;
    let p = &b["data"]["inventorySetQuantities"];
    assert_eq!(p["userErrors"], json!([]), "{b}");
    let changes = p["inventoryAdjustmentGroup"]["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 4);
    assert_eq!(changes[0]["name"], "available");
    assert_eq!(changes[0]["delta"], 5);
    assert_eq!(changes[1]["name"], "on_hand");
    assert_eq!(changes[2]["delta"], -6);
    assert_eq!(changes[0]["location"]["name"], "Location 0");
    assert_eq!(p["inventoryAdjustmentGroup"]["reason"], "correction");
    assert_eq!(f.store.available(&f.items[0], &f.locations[0]), Some(15));
    assert_eq!(f.store.on_hand(&f.items[0], &f.locations[0]), Some(15));
    assert_eq!(f.store.available(&f.items[2], &f.locations[0]), Some(4));
    let log = f.store.adjustment_log();
    assert_eq!(log.len(), 2);
    assert_eq!((log[0].from, log[0].to), (10, 15));
    assert_eq!(
        (log[0].change_from, log[1].change_from),
        (Some(10), None),
        "the log keeps each row's changeFromQuantity, an explicit null as None"
    );
    assert_eq!(log[0].idempotency_key, "job-1-batch-0");
    assert_eq!(f.sim.stats().applied_adjustments, 2);

    // Nothing changes → group null.
    let input = set_input(vec![row(&f.items[0], &f.locations[0], 15, Some(15))]);
    let b = f
        .gql(SET_QTY, json!({"input": input, "key": "job-1-batch-1"}))
        .await;
    assert!(b["data"]["inventorySetQuantities"]["inventoryAdjustmentGroup"].is_null());
}

#[tokio::test]
async fn more_than_250_rows_is_an_input_size_error() {
    let f = fixture(SimConfig::default(), 251, 1).await;
    let rows = f
        .items
        .iter()
        .map(|i| row(i, &f.locations[0], 1, None))
        .collect();
    let b = f
        .gql(SET_QTY_MIN, json!({"input": set_input(rows), "key": "big"}))
        .await;
    assert_eq!(code(&b), "MAX_INPUT_SIZE_EXCEEDED", "{b}");
    assert_eq!(
        b["errors"][0]["message"],
        "The input array size of 251 is greater than the maximum allowed of 250."
    );
    assert!(b.get("data").is_none());
    assert!(f.store.adjustment_log().is_empty());
    // 250 rows are fine.
    let rows = f.items[..250]
        .iter()
        .map(|i| row(i, &f.locations[0], 1, None))
        .collect();
    let b = f
        .gql(SET_QTY_MIN, json!({"input": set_input(rows), "key": "big"}))
        .await;
    assert_eq!(
        b["data"]["inventorySetQuantities"]["userErrors"],
        json!([]),
        "{b}"
    );
    assert_eq!(f.store.adjustment_log().len(), 250);
}

#[tokio::test]
async fn missing_change_from_quantity_is_a_top_level_error_and_keeps_the_key() {
    let f = fixture(SimConfig::default(), 1, 1).await;
    let input = json!({"name": "available", "reason": "correction",
        "quantities": [{"inventoryItemId": f.items[0], "locationId": f.locations[0], "quantity": 5}]});
    let b = f
        .gql(SET_QTY_MIN, json!({"input": input, "key": "k1"}))
        .await;
    assert_eq!(code(&b), "INVALID_FIELD_ARGUMENTS", "{b}");
    assert_eq!(
        b["errors"][0]["message"],
        "InventoryQuantityInput must include the following argument: changeFromQuantity."
    );
    assert!(b["data"]["inventorySetQuantities"].is_null());
    assert_eq!(b["errors"][0]["path"], json!(["inventorySetQuantities"]));
    assert_eq!(f.store.available(&f.items[0], &f.locations[0]), Some(10));
    // The key was not consumed.
    let good = set_input(vec![row(&f.items[0], &f.locations[0], 5, Some(10))]);
    let b = f
        .gql(SET_QTY_MIN, json!({"input": good, "key": "k1"}))
        .await;
    assert_eq!(
        b["data"]["inventorySetQuantities"]["userErrors"],
        json!([]),
        "{b}"
    );
    assert_eq!(f.store.available(&f.items[0], &f.locations[0]), Some(5));
}

#[tokio::test]
async fn missing_idempotent_directive_and_blank_key() {
    let f = fixture(SimConfig::default(), 1, 1).await;
    let q = "mutation($input: InventorySetQuantitiesInput!) { inventorySetQuantities(input: $input) { userErrors { code } } }";
    let input = set_input(vec![row(&f.items[0], &f.locations[0], 5, None)]);
    let b = f.gql(q, json!({"input": input})).await;
    assert_eq!(code(&b), "BAD_REQUEST", "{b}");
    assert_eq!(
        b["errors"][0]["message"],
        "The @idempotent directive is required for this mutation but was not provided."
    );
    assert!(b["data"]["inventorySetQuantities"].is_null());
    let b = f
        .gql(SET_QTY_MIN, json!({"input": input, "key": "  "}))
        .await;
    assert_eq!(code(&b), "BAD_REQUEST", "{b}");
    assert_eq!(f.store.available(&f.items[0], &f.locations[0]), Some(10));
}

#[tokio::test]
async fn removed_compare_fields_are_variable_errors() {
    let f = fixture(SimConfig::default(), 1, 1).await;
    let mut input = set_input(vec![row(&f.items[0], &f.locations[0], 5, None)]);
    input["ignoreCompareQuantity"] = json!(true);
    let b = f
        .gql(SET_QTY_MIN, json!({"input": input, "key": "x"}))
        .await;
    assert_eq!(code(&b), "INVALID_VARIABLE", "{b}");
    assert!(
        b["errors"][0]["message"].as_str().unwrap().contains(
            "ignoreCompareQuantity (Field is not defined on InventorySetQuantitiesInput)"
        )
    );
    let mut input = set_input(vec![row(&f.items[0], &f.locations[0], 5, None)]);
    input["quantities"][0]["compareQuantity"] = json!(10);
    let b = f
        .gql(SET_QTY_MIN, json!({"input": input, "key": "x"}))
        .await;
    assert_eq!(code(&b), "INVALID_VARIABLE", "{b}");
    assert_eq!(f.store.available(&f.items[0], &f.locations[0]), Some(10));
}

#[tokio::test]
async fn stale_change_from_applies_nothing() {
    let f = fixture(SimConfig::default(), 2, 1).await;
    let input = set_input(vec![
        row(&f.items[0], &f.locations[0], 20, Some(10)),
        row(&f.items[1], &f.locations[0], 20, Some(7)),
    ]);
    let b = f
        .gql(SET_QTY, json!({"input": input, "key": "stale"}))
        .await;
    let p = &b["data"]["inventorySetQuantities"];
    assert!(p["inventoryAdjustmentGroup"].is_null());
    assert_eq!(
        p["userErrors"][0]["code"], "CHANGE_FROM_QUANTITY_STALE",
        "{b}"
    );
    assert_eq!(
        p["userErrors"][0]["field"],
        json!(["input", "quantities", "1", "changeFromQuantity"])
    );
    assert_eq!(p["userErrors"].as_array().unwrap().len(), 1);
    assert_eq!(f.store.available(&f.items[0], &f.locations[0]), Some(10));
    assert!(f.store.adjustment_log().is_empty());
}

#[tokio::test]
async fn user_errors_for_bad_rows() {
    let f = fixture(SimConfig::default(), 2, 2).await;
    let unstocked = f.add_unstocked_item();
    let input = json!({"name": "available", "reason": "correction", "quantities": [
        row("gid://shopify/InventoryItem/999999", &f.locations[0], 1, None),
        row(&f.items[0], "gid://shopify/Location/999999", 1, None),
        row(&unstocked, &f.locations[0], 1, None),
        row(&f.items[1], &f.locations[0], 1_000_000_001, None),
        row(&f.items[0], &f.locations[1], 1, None),
        row(&f.items[0], &f.locations[1], 2, None),
    ]});
    let b = f.gql(SET_QTY, json!({"input": input, "key": "bad"})).await;
    let errs = b["data"]["inventorySetQuantities"]["userErrors"]
        .as_array()
        .unwrap()
        .clone();
    let codes: Vec<&str> = errs.iter().map(|e| e["code"].as_str().unwrap()).collect();
    assert_eq!(
        codes,
        vec![
            "INVALID_INVENTORY_ITEM",
            "INVALID_LOCATION",
            "ITEM_NOT_STOCKED_AT_LOCATION",
            "INVALID_QUANTITY_TOO_HIGH",
            "NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR",
            "NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR",
        ],
        "{b}"
    );
    assert_eq!(
        errs[0]["field"],
        json!(["input", "quantities", "0", "inventoryItemId"])
    );
    let mut bad = set_input(vec![row(&f.items[0], &f.locations[0], 1, None)]);
    bad["name"] = json!("committed");
    bad["reason"] = json!("because");
    let b = f.gql(SET_QTY, json!({"input": bad, "key": "bad2"})).await;
    let errs = &b["data"]["inventorySetQuantities"]["userErrors"];
    assert_eq!(errs[0]["code"], "INVALID_NAME");
    assert_eq!(errs[1]["code"], "INVALID_REASON");
    assert!(f.store.adjustment_log().is_empty());
}

#[tokio::test]
async fn idempotent_replay_applies_once_and_mismatch_is_refused() {
    let f = fixture(SimConfig::default(), 1, 1).await;
    let input = set_input(vec![row(&f.items[0], &f.locations[0], 3, Some(10))]);
    let a = f.gql(SET_QTY, json!({"input": input, "key": "same"})).await;
    let b = f.gql(SET_QTY, json!({"input": input, "key": "same"})).await;
    assert_eq!(a["data"], b["data"]);
    assert!(a["data"]["inventorySetQuantities"]["inventoryAdjustmentGroup"]["id"].is_string());
    assert_eq!(f.store.adjustment_log().len(), 1);
    assert_eq!(f.sim.stats().idempotent_replays, 1);

    let other = set_input(vec![row(&f.items[0], &f.locations[0], 4, Some(3))]);
    let c = f.gql(SET_QTY, json!({"input": other, "key": "same"})).await;
    let p = &c["data"]["inventorySetQuantities"];
    assert_eq!(
        p["userErrors"][0]["code"], "IDEMPOTENCY_KEY_PARAMETER_MISMATCH",
        "{c}"
    );
    assert!(p["inventoryAdjustmentGroup"].is_null());
    assert_eq!(f.store.available(&f.items[0], &f.locations[0]), Some(3));
    assert_eq!(f.store.adjustment_log().len(), 1);
}

#[tokio::test]
async fn on_hand_name_moves_both_quantities() {
    let f = fixture(SimConfig::default(), 1, 1).await;
    let mut input = set_input(vec![row(&f.items[0], &f.locations[0], 12, Some(10))]);
    input["name"] = json!("on_hand");
    let b = f.gql(SET_QTY, json!({"input": input, "key": "oh"})).await;
    let ch = &b["data"]["inventorySetQuantities"]["inventoryAdjustmentGroup"]["changes"];
    assert_eq!(ch[0]["name"], "on_hand", "{b}");
    assert_eq!(f.store.on_hand(&f.items[0], &f.locations[0]), Some(12));
    assert_eq!(f.store.available(&f.items[0], &f.locations[0]), Some(12));
}
