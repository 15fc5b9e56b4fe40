//! Bulk query operations: validation, lifecycle, JSONL with __parentId, concurrency.

use crate::common;

use std::time::Duration;

use common::*;
use serde_json::{Value as Json, json};
use shopify_sim::SimConfig;

const RUN: &str = r#"mutation Run($query: String!) {
  bulkOperationRunQuery(query: $query) {
    bulkOperation { id status type errorCode createdAt completedAt objectCount rootObjectCount fileSize url partialDataUrl query }
    userErrors { field message code }
  }
}"#;

const POLL: &str = "query($id: ID!) { bulkOperation(id: $id) { id status objectCount rootObjectCount fileSize url completedAt } }";

fn fast() -> SimConfig {
    SimConfig {
        time_scale: 20.0,
        bulk_completion_delay: Duration::from_secs(2),
        ..SimConfig::default()
    }
}

#[tokio::test]
async fn bulk_query_lifecycle_and_jsonl() {
    let f = fixture(fast(), 3, 2).await;
    let inner = r#"{ inventoryItems { edges { node { id sku inventoryLevels { edges { node { id location { id } quantities(names: ["available"]) { name quantity } } } } } } } }"#;
    let b = f.gql(RUN, json!({"query": inner})).await;
    let op = &b["data"]["bulkOperationRunQuery"]["bulkOperation"];
    assert_eq!(op["status"], "CREATED", "{b}");
    assert_eq!(op["type"], "QUERY");
    assert_eq!(op["objectCount"], "0");
    assert!(op["url"].is_null());
    assert_eq!(op["query"], inner);
    assert_eq!(b["extensions"]["cost"]["requestedQueryCost"], 10);
    let id = op["id"].as_str().unwrap().to_string();

    let b = f.gql(POLL, json!({"id": id})).await;
    assert_eq!(b["data"]["bulkOperation"]["status"], "RUNNING", "{b}");
    assert_eq!(b["extensions"]["cost"]["requestedQueryCost"], 1);

    let mut done = Json::Null;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let b = f.gql(POLL, json!({"id": id})).await;
        if b["data"]["bulkOperation"]["status"] == "COMPLETED" {
            done = b["data"]["bulkOperation"].clone();
            break;
        }
    }
    assert_eq!(done["status"], "COMPLETED", "never completed");
    assert_eq!(done["rootObjectCount"], "3");
    assert_eq!(done["objectCount"], "9");
    let url = done["url"].as_str().unwrap();
    assert!(url.starts_with(&f.sim.base_url()));
    let text = f
        .client
        .get(url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(done["fileSize"], text.len().to_string());
    let lines: Vec<Json> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 9);
    assert_eq!(lines[0]["id"], f.items[0]);
    assert_eq!(lines[0]["sku"], "SKU-000000");
    assert!(lines[0].get("__parentId").is_none());
    assert!(lines[0].get("inventoryLevels").is_none());
    assert_eq!(lines[1]["__parentId"], f.items[0]);
    assert_eq!(
        lines[1]["quantities"],
        json!([{"name": "available", "quantity": 10}])
    );
    assert_eq!(lines[2]["location"]["id"], f.locations[1]);
    assert_eq!(lines[3]["id"], f.items[1]);
    assert!(
        lines[4]["id"]
            .as_str()
            .unwrap()
            .starts_with("gid://shopify/InventoryLevel/")
    );
}

#[tokio::test]
async fn bulk_query_validation() {
    let f = fixture(fast(), 1, 1).await;
    let cases = [
        (
            "{ productVariants { nodes { id } } }",
            "Selecting via 'nodes' is not supported",
        ),
        (
            "{ shop { id } }",
            "Bulk queries must contain at least one connection.",
        ),
        (
            "{ node(id: \"gid://shopify/Location/1\") { id } }",
            "top level `node` field",
        ),
        (
            "mutation { bulkOperationCancel(id: \"x\") { userErrors { message } } }",
            "Only `query` operations",
        ),
        (
            "{ inventoryItems { edges { node { sku inventoryLevels { edges { node { id } } } } } } }",
            "Connection fields without 'id': inventoryItems",
        ),
        ("{ productVariants { edges { node { id", "syntax error"),
        (
            "{ productVariants { edges { node { id nope } } } }",
            "Field 'nope' doesn't exist on type 'ProductVariant'",
        ),
    ];
    for (q, expect) in cases {
        let b = f.gql(RUN, json!({"query": q})).await;
        let p = &b["data"]["bulkOperationRunQuery"];
        assert!(p["bulkOperation"].is_null(), "{q}: {b}");
        assert_eq!(p["userErrors"][0]["code"], "INVALID", "{q}: {b}");
        assert_eq!(p["userErrors"][0]["field"], json!(["query"]));
        let msg = p["userErrors"][0]["message"].as_str().unwrap();
        assert!(msg.contains(expect), "{q}: {msg}");
    }
}

#[tokio::test]
async fn at_most_five_concurrent_bulk_queries_and_cancel() {
    let config = SimConfig {
        bulk_completion_delay: Duration::from_secs(3600),
        ..SimConfig::default()
    };
    let f = fixture(config, 1, 1).await;
    let q = "{ locations { edges { node { id } } } }";
    let mut ids = Vec::new();
    for _ in 0..5 {
        let b = f.gql(RUN, json!({"query": q})).await;
        ids.push(
            b["data"]["bulkOperationRunQuery"]["bulkOperation"]["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let b = f.gql(RUN, json!({"query": q})).await;
    let e = &b["data"]["bulkOperationRunQuery"]["userErrors"][0];
    assert_eq!(e["code"], "OPERATION_IN_PROGRESS", "{b}");
    assert!(e["field"].is_null());
    assert!(e["message"].as_str().unwrap().contains(&ids[4]));

    let cancel = "mutation($id: ID!) { bulkOperationCancel(id: $id) { bulkOperation { id status } userErrors { field message } } }";
    let b = f.gql(cancel, json!({"id": ids[0]})).await;
    assert_eq!(
        b["data"]["bulkOperationCancel"]["bulkOperation"]["status"], "CANCELING",
        "{b}"
    );
    let b = f.gql(POLL, json!({"id": ids[0]})).await;
    assert_eq!(b["data"]["bulkOperation"]["status"], "CANCELED");
    let b = f.gql(RUN, json!({"query": q})).await;
    assert_eq!(
        b["data"]["bulkOperationRunQuery"]["userErrors"],
        json!([]),
        "{b}"
    );

    let list = f
        .gql(
            "{ bulkOperations(first: 10, query: \"status:canceled\") { nodes { id status } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        list["data"]["bulkOperations"]["nodes"],
        json!([{"id": ids[0], "status": "CANCELED"}])
    );
}
