//! `productVariantsCount(query, limit) { count precision }` — what the Shopify client asks before
//! choosing between paging and a bulk operation.

use crate::common;

use common::*;
use serde_json::json;
use shopify_sim::SimConfig;

/// The client's document (`shared/shopify-client/graphql/ProductVariantsCount.graphql`).
const CLIENT_COUNT: &str = r#"query ProductVariantsCount {
  productVariantsCount(limit: null) {
    count
    precision
  }
}"#;

#[tokio::test]
async fn counts_every_variant_for_ten_points() {
    let f = fixture(SimConfig::default(), 12, 2).await;
    f.add_unstocked_item();
    let b = f.gql(CLIENT_COUNT, json!({})).await;
    assert!(b.get("errors").is_none(), "{b}");
    assert_eq!(
        b["data"]["productVariantsCount"],
        json!({"count": 13, "precision": "EXACT"})
    );
    // Captured count-only queries (`productsCount`, `companiesCount(limit: null)`, …) are charged
    // 10 requested and 10 actual.
    let cost = &b["extensions"]["cost"];
    assert_eq!(cost["requestedQueryCost"], 10, "{b}");
    assert_eq!(cost["actualQueryCost"], 10, "{b}");
    assert_eq!(f.sim.stats().points_consumed, 10.0);

    // Selecting only one scalar, or aliasing, costs the same; next to a connection it adds 10.
    let b = f
        .gql("{ n: productVariantsCount { count } }", json!({}))
        .await;
    assert_eq!(b["data"]["n"], json!({"count": 13}));
    assert_eq!(b["extensions"]["cost"]["requestedQueryCost"], 10);
    let b = f
        .gql(
            "{ locations(first: 1) { nodes { id } } productVariantsCount { count precision } }",
            json!({}),
        )
        .await;
    assert_eq!(b["extensions"]["cost"]["requestedQueryCost"], 13, "{b}");
    assert_eq!(b["extensions"]["cost"]["actualQueryCost"], 13, "{b}");
}

#[tokio::test]
async fn limit_caps_the_count_at_least() {
    let f = fixture(SimConfig::default(), 10_001, 1).await;
    // Default limit 10,000.
    let b = f
        .gql("{ productVariantsCount { count precision } }", json!({}))
        .await;
    assert_eq!(
        b["data"]["productVariantsCount"],
        json!({"count": 10_000, "precision": "AT_LEAST"})
    );
    // Explicit null: no limit.
    let b = f.gql(CLIENT_COUNT, json!({})).await;
    assert_eq!(
        b["data"]["productVariantsCount"],
        json!({"count": 10_001, "precision": "EXACT"})
    );
    // Through variables; an omitted variable leaves the default in place.
    let q = "query C($limit: Int, $query: String) { productVariantsCount(limit: $limit, query: $query) { count precision } }";
    let b = f.gql(q, json!({"limit": 5})).await;
    assert_eq!(
        b["data"]["productVariantsCount"],
        json!({"count": 5, "precision": "AT_LEAST"})
    );
    let b = f.gql(q, json!({"limit": 20_000})).await;
    assert_eq!(
        b["data"]["productVariantsCount"],
        json!({"count": 10_001, "precision": "EXACT"})
    );
    let b = f.gql(q, json!({})).await;
    assert_eq!(b["data"]["productVariantsCount"]["count"], 10_000);
    let b = f.gql(q, json!({"limit": null})).await;
    assert_eq!(b["data"]["productVariantsCount"]["count"], 10_001);
    // "No supported search fields": the query narrows by sku like productVariants does.
    let b = f
        .gql(q, json!({"limit": null, "query": "sku:SKU-000007"}))
        .await;
    assert_eq!(b["data"]["productVariantsCount"]["count"], 1, "{b}");
}

#[tokio::test]
async fn count_is_validated_like_any_object() {
    let f = fixture(SimConfig::default(), 2, 1).await;
    let b = f.gql("{ productVariantsCount }", json!({})).await;
    assert_eq!(code(&b), "selectionMismatch", "{b}");
    assert!(b.get("data").is_none());
    let b = f
        .gql("{ productVariantsCount { count total } }", json!({}))
        .await;
    assert_eq!(code(&b), "undefinedField", "{b}");
    assert_eq!(b["errors"][0]["extensions"]["typeName"], "Count", "{b}");
    let b = f
        .gql("{ productVariantsCount(first: 3) { count } }", json!({}))
        .await;
    assert_eq!(code(&b), "argumentNotAccepted", "{b}");
    let b = f
        .gql(
            "{ c: productVariantsCount { ... on Count { count } } }",
            json!({}),
        )
        .await;
    assert_eq!(b["data"]["c"], json!({"count": 2}), "{b}");
    // Nothing executed was charged for the refused documents.
    assert_eq!(f.sim.stats().points_consumed, 10.0);
}
