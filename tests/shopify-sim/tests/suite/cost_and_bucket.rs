//! Cost model, leaky bucket, time scale, MAX_COST_EXCEEDED.

use crate::common;

use std::time::Duration;

use common::*;
use serde_json::json;
use shopify_sim::SimConfig;

#[tokio::test]
async fn requested_and_actual_cost_follow_the_rules() {
    let f = fixture(SimConfig::default(), 3, 2).await;
    let b = f
        .gql(
            "{ locations(first: 50) { nodes { id name } pageInfo { hasNextPage } } }",
            json!({}),
        )
        .await;
    let cost = &b["extensions"]["cost"];
    assert_eq!(cost["requestedQueryCost"], 52);
    assert_eq!(cost["actualQueryCost"], 4, "2 + 2 returned nodes");
    assert_eq!(cost["throttleStatus"]["maximumAvailable"], 2000);
    assert_eq!(cost["throttleStatus"]["restoreRate"], 100);
    assert!(
        cost["throttleStatus"]["currentlyAvailable"]
            .as_f64()
            .unwrap()
            >= 1995.0
    );

    let q = "{ inventoryItems(first: 10) { edges { cursor node { id inventoryLevels(first: 5) { nodes { id quantities(names: [\"available\"]) { name quantity } } } } } } }";
    let b = f.gql(q, json!({})).await;
    // 2 + 10 * (1 + (2 + 5 * (1 + 1)))
    assert_eq!(b["extensions"]["cost"]["requestedQueryCost"], 132);
    // 2 + 3 * (1 + (2 + 2 * (1 + 1)))
    assert_eq!(b["extensions"]["cost"]["actualQueryCost"], 23);

    let b = f
        .gql(SET_QTY_MIN, json!({"input": set_input(vec![row(&f.items[0], &f.locations[0], 10, Some(10))]), "key": "k-cost"}))
        .await;
    assert_eq!(b["extensions"]["cost"]["requestedQueryCost"], 10);
    assert_eq!(b["extensions"]["cost"]["actualQueryCost"], 10);
    assert!(f.sim.stats().points_consumed >= 4.0 + 23.0 + 10.0);
}

#[tokio::test]
async fn throttled_when_bucket_drained() {
    let config = SimConfig {
        bucket_size: 30.0,
        restore_rate: 0.01,
        ..SimConfig::default()
    };
    let f = fixture(config, 2, 1).await;
    let vars = |k: &str| json!({"input": set_input(vec![row(&f.items[0], &f.locations[0], 10, None)]), "key": k});
    for i in 0..3 {
        let b = f.gql(SET_QTY_MIN, vars(&format!("k{i}"))).await;
        assert!(b["data"]["inventorySetQuantities"].is_object(), "{b}");
    }
    let b = f.gql(SET_QTY_MIN, vars("k3")).await;
    assert_eq!(code(&b), "THROTTLED", "{b}");
    assert!(b.get("data").is_none());
    assert!(b["extensions"]["cost"]["actualQueryCost"].is_null());
    assert_eq!(b["extensions"]["cost"]["requestedQueryCost"], 10);
    assert_eq!(
        b["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"],
        0
    );
    let s = f.sim.stats();
    assert_eq!(s.throttled, 1);
    assert_eq!(s.mutation_calls, 3);
}

#[tokio::test]
async fn refill_runs_on_simulated_time() {
    let config = SimConfig {
        bucket_size: 100.0,
        restore_rate: 10.0,
        time_scale: 50.0,
        ..SimConfig::default()
    };
    let f = fixture(config, 120, 1).await;
    let q = "{ productVariants(first: 98) { nodes { id } } }";
    let b = f.gql(q, json!({})).await;
    assert_eq!(b["extensions"]["cost"]["actualQueryCost"], 100);
    assert_eq!(
        b["extensions"]["cost"]["throttleStatus"]["restoreRate"], 500,
        "per real second"
    );
    let b = f.gql(q, json!({})).await;
    assert_eq!(code(&b), "THROTTLED", "{b}");
    // 250 ms real = 12.5 s simulated = 125 points: the bucket is full again.
    tokio::time::sleep(Duration::from_millis(250)).await;
    let b = f.gql(q, json!({})).await;
    assert!(b["data"]["productVariants"]["nodes"].is_array(), "{b}");
    assert!(f.sim.simulated_elapsed() >= Duration::from_secs(12));
}

#[tokio::test]
async fn max_cost_exceeded_is_not_charged() {
    let f = fixture(SimConfig::default(), 1, 1).await;
    let q =
        "{ inventoryItems(first: 250) { nodes { inventoryLevels(first: 10) { nodes { id } } } } }";
    let b = f.gql(q, json!({})).await;
    assert_eq!(code(&b), "MAX_COST_EXCEEDED", "{b}");
    assert_eq!(
        b["errors"][0]["message"],
        "Query cost is 3252, which exceeds the single query max cost limit (1000)."
    );
    assert_eq!(b["errors"][0]["extensions"]["cost"], 3252);
    assert_eq!(b["errors"][0]["extensions"]["maxCost"], 1000);
    assert_eq!(
        b["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"],
        2000
    );
    assert_eq!(f.sim.stats().points_consumed, 0.0);
}

#[tokio::test]
async fn first_over_250_is_refused() {
    let f = fixture(SimConfig::default(), 1, 1).await;
    let b = f
        .gql("{ locations(first: 251) { nodes { id } } }", json!({}))
        .await;
    assert!(b.get("data").is_none(), "{b}");
    assert!(b["errors"][0]["message"].as_str().unwrap().contains("250"));
    let b = f.gql("{ locations { nodes { id } } }", json!({})).await;
    assert_eq!(
        b["errors"][0]["message"],
        "you must provide one of first or last"
    );
}

#[tokio::test]
async fn seeding_and_paging_a_large_catalogue_is_fast() {
    let started = std::time::Instant::now();
    let f = fixture(SimConfig::default(), 50_000, 2).await;
    assert_eq!(f.store.levels().len(), 100_000);
    let seeded = started.elapsed();
    assert!(seeded < Duration::from_secs(10), "seeding took {seeded:?}");
    // A page deep in the catalogue costs O(page), not O(catalogue).
    let b = f
        .gql(
            "query($a: String) { productVariants(first: 250, after: $a) { nodes { sku } pageInfo { endCursor } } }",
            json!({"a": null}),
        )
        .await;
    assert_eq!(
        b["data"]["productVariants"]["nodes"][249]["sku"],
        "SKU-000249"
    );
}
