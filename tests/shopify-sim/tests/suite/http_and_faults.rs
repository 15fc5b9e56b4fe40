//! HTTP surface: auth, versions, document errors, pagination, fault injection.

use crate::common;

use common::*;
use serde_json::{Value as Json, json};
use shopify_sim::{FaultConfig, FaultKind, SimConfig};

#[tokio::test]
async fn wrong_token_is_401_and_bad_routes_404() {
    let f = fixture(SimConfig::default(), 1, 1).await;
    let r = f
        .client
        .post(&f.url)
        .header("X-Shopify-Access-Token", "nope")
        .json(&json!({"query": "{ shop { id } }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let body: Json = r.json().await.unwrap();
    assert_eq!(
        body,
        json!({"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"})
    );
    for url in [
        f.sim.graphql_url(SHOP, "2025-10"),
        f.sim.graphql_url("other.myshopify.com", VERSION),
    ] {
        let r = f
            .client
            .post(&url)
            .header("X-Shopify-Access-Token", TOKEN)
            .json(&json!({"query": "{ shop { id } }"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 404, "{url}");
    }
    assert_eq!(f.sim.stats().requests, 0);
}

#[tokio::test]
async fn unknown_field_and_syntax_errors() {
    let f = fixture(SimConfig::default(), 1, 1).await;
    let b = f.gql("query Q { shop { id bogus } }", json!({})).await;
    let e = &b["errors"][0];
    assert_eq!(e["message"], "Field 'bogus' doesn't exist on type 'Shop'");
    assert_eq!(e["extensions"]["code"], "undefinedField");
    assert_eq!(e["extensions"]["typeName"], "Shop");
    assert_eq!(e["extensions"]["fieldName"], "bogus");
    assert_eq!(e["path"], json!(["query Q", "shop", "bogus"]));
    assert_eq!(e["locations"], json!([{"line": 1, "column": 21}]));
    assert!(b.get("data").is_none());

    let b = f.gql("{ shop { id ", json!({})).await;
    assert!(
        b["errors"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("syntax error"),
        "{b}"
    );
    assert!(b["errors"][0]["locations"][0]["line"].is_number());
}

#[tokio::test]
async fn fragments_aliases_typename_and_nodes() {
    let f = fixture(SimConfig::default(), 2, 1).await;
    let q = r#"query($ids: [ID!]!) {
      a: nodes(ids: $ids) { __typename id ...Item ... on Location { name } }
      s: shop { myshopifyDomain }
    }
    fragment Item on InventoryItem { sku tracked variant { id } inventoryLevel(locationId: "gid://shopify/Location/1") { quantities(names: ["available", "on_hand"]) { name quantity } } }"#;
    let ids = json!([
        f.items[1],
        f.locations[0],
        "gid://shopify/InventoryItem/424242"
    ]);
    let b = f.gql(q, json!({"ids": ids})).await;
    let n = &b["data"]["a"];
    assert_eq!(n[0]["__typename"], "InventoryItem", "{b}");
    assert_eq!(n[0]["sku"], "SKU-000001");
    assert_eq!(
        n[0]["inventoryLevel"]["quantities"][1],
        json!({"name": "on_hand", "quantity": 10})
    );
    assert_eq!(n[1]["name"], "Location 0");
    assert!(n[2].is_null());
    assert_eq!(b["data"]["s"]["myshopifyDomain"], SHOP);
}

async fn collect_pages(f: &Fixture, q: &str, path: &[&str]) -> (Vec<String>, usize) {
    let mut after = Json::Null;
    let mut ids = Vec::new();
    let mut pages = 0;
    loop {
        let b = f.gql(q, json!({"after": after})).await;
        let mut conn = &b["data"];
        for p in path {
            conn = &conn[*p];
        }
        pages += 1;
        for e in conn["edges"].as_array().unwrap() {
            ids.push(e["node"]["id"].as_str().unwrap().to_string());
        }
        if !conn["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            break;
        }
        after = conn["pageInfo"]["endCursor"].clone();
    }
    (ids, pages)
}

#[tokio::test]
async fn pagination_of_locations_variants_and_levels() {
    let f = fixture(SimConfig::default(), 250, 5).await;
    let (ids, pages) = collect_pages(
        &f,
        "query($after: String) { locations(first: 2, after: $after) { edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }",
        &["locations"],
    )
    .await;
    assert_eq!(ids, f.locations);
    assert_eq!(pages, 3);

    let (ids, pages) = collect_pages(
        &f,
        "query($after: String) { productVariants(first: 100, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } } }",
        &["productVariants"],
    )
    .await;
    assert_eq!(ids.len(), 250);
    assert_eq!(pages, 3);
    let mut dedup = ids.clone();
    dedup.dedup();
    assert_eq!(dedup.len(), 250);

    let q = format!(
        "query($after: String) {{ location(id: \"{}\") {{ inventoryLevels(first: 100, after: $after) {{ edges {{ node {{ id item {{ id }} }} }} pageInfo {{ hasNextPage endCursor }} }} }} }}",
        f.locations[2]
    );
    let (ids, pages) = collect_pages(&f, &q, &["location", "inventoryLevels"]).await;
    assert_eq!(ids.len(), 250);
    assert_eq!(pages, 3);

    let b = f
        .gql("{ productVariants(first: 5, query: \"sku:SKU-000007 OR sku:SKU-000200\") { nodes { sku inventoryItem { id } } } }", json!({}))
        .await;
    let skus: Vec<&str> = b["data"]["productVariants"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["sku"].as_str().unwrap())
        .collect();
    assert_eq!(skus, vec!["SKU-000007", "SKU-000200"]);
}

#[tokio::test]
async fn injected_fault_rate_roughly_matches() {
    let config = SimConfig {
        faults: FaultConfig {
            rate: 0.3,
            seed: 42,
            kinds: vec![FaultKind::Http503, FaultKind::Http429, FaultKind::Throttled],
        },
        ..SimConfig::default()
    };
    let f = fixture(config, 1, 1).await;
    let mut failures = 0;
    for _ in 0..300 {
        let (status, body) = f.post("{ shop { id } }", json!({})).await;
        if status != 200 || code(&body) == "THROTTLED" {
            failures += 1;
        }
    }
    let s = f.sim.stats();
    assert_eq!(s.requests, 300);
    assert_eq!(s.injected_faults, failures);
    assert_eq!(
        s.throttled, 0,
        "injected THROTTLED is not a bucket throttle"
    );
    assert!((60..=120).contains(&failures), "{failures} of 300");

    f.sim.set_faults(FaultConfig {
        rate: 1.0,
        seed: 1,
        kinds: vec![FaultKind::Http429],
    });
    let r = f
        .client
        .post(&f.url)
        .header("X-Shopify-Access-Token", TOKEN)
        .json(&json!({"query": "{ shop { id } }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 429);
    assert_eq!(r.headers()["retry-after"], "1");
}

#[tokio::test]
async fn drop_after_apply_applies_but_client_sees_transport_error() {
    let f = fixture(SimConfig::default(), 1, 1).await;
    f.sim.set_faults(FaultConfig {
        rate: 1.0,
        seed: 3,
        kinds: vec![FaultKind::DropAfterApply],
    });
    let input = set_input(vec![row(&f.items[0], &f.locations[0], 7, Some(10))]);
    let res = f
        .client
        .post(&f.url)
        .header("X-Shopify-Access-Token", TOKEN)
        .json(&json!({"query": SET_QTY_MIN, "variables": {"input": input, "key": "drop-1"}}))
        .send()
        .await;
    assert!(res.is_err(), "expected a transport error, got {res:?}");
    assert_eq!(f.store.available(&f.items[0], &f.locations[0]), Some(7));
    assert_eq!(f.store.adjustment_log().len(), 1);

    // A retry with the same key replays instead of applying again.
    f.sim.set_faults(FaultConfig::default());
    let b = f
        .gql(SET_QTY_MIN, json!({"input": input, "key": "drop-1"}))
        .await;
    assert_eq!(b["data"]["inventorySetQuantities"]["userErrors"], json!([]));
    assert_eq!(f.store.adjustment_log().len(), 1);
    assert_eq!(f.sim.stats().idempotent_replays, 1);
}

#[tokio::test]
async fn drop_before_apply_does_not_apply() {
    let f = fixture(SimConfig::default(), 1, 1).await;
    f.sim.set_faults(FaultConfig {
        rate: 1.0,
        seed: 3,
        kinds: vec![FaultKind::DropBeforeApply],
    });
    let input = set_input(vec![row(&f.items[0], &f.locations[0], 7, Some(10))]);
    let res = f
        .client
        .post(&f.url)
        .header("X-Shopify-Access-Token", TOKEN)
        .json(&json!({"query": SET_QTY_MIN, "variables": {"input": input, "key": "drop-2"}}))
        .send()
        .await;
    assert!(res.is_err(), "expected a transport error, got {res:?}");
    assert_eq!(f.store.available(&f.items[0], &f.locations[0]), Some(10));
    assert!(f.store.adjustment_log().is_empty());
}

#[tokio::test]
async fn slow_request_holds_its_key_in_flight() {
    let f = fixture(SimConfig::default(), 1, 1).await;
    f.sim.set_faults(FaultConfig {
        rate: 1.0,
        seed: 3,
        kinds: vec![FaultKind::Slow],
    });
    let input = set_input(vec![row(&f.items[0], &f.locations[0], 8, Some(10))]);
    let slow = {
        let client = f.client.clone();
        let url = f.url.clone();
        let body = json!({"query": SET_QTY_MIN, "variables": {"input": input, "key": "slow"}});
        tokio::spawn(async move {
            client
                .post(&url)
                .header("X-Shopify-Access-Token", TOKEN)
                .json(&body)
                .send()
                .await
                .unwrap()
                .json::<Json>()
                .await
                .unwrap()
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    f.sim.set_faults(FaultConfig::default());
    let b = f
        .gql(SET_QTY_MIN, json!({"input": input, "key": "slow"}))
        .await;
    assert_eq!(
        b["data"]["inventorySetQuantities"]["userErrors"][0]["code"],
        "IDEMPOTENCY_CONCURRENT_REQUEST",
        "{b}"
    );
    let first = slow.await.unwrap();
    assert_eq!(
        first["data"]["inventorySetQuantities"]["userErrors"],
        json!([])
    );
    let b = f
        .gql(SET_QTY_MIN, json!({"input": input, "key": "slow"}))
        .await;
    assert_eq!(b["data"]["inventorySetQuantities"]["userErrors"], json!([]));
    assert_eq!(f.store.adjustment_log().len(), 1);
}
