//! A store with opaque (non-numeric) GIDs: ids are handed out and resolved as strings, by exact
//! match, through every query and the inventory mutation. Also: the per-operation request counter.

use crate::common;

use common::*;
use serde_json::{Value as Json, json};
use shopify_sim::{GidStyle, ShopifySim, SimConfig, StoreHandle};

const PREFIXES: [&str; 5] = [
    "gid://shopify/Location/",
    "gid://shopify/Product/",
    "gid://shopify/ProductVariant/",
    "gid://shopify/InventoryItem/",
    "gid://shopify/InventoryLevel/",
];

/// An id is opaque when what follows its type prefix is not a number.
fn assert_opaque(id: &str) {
    let rest = PREFIXES
        .iter()
        .find_map(|p| id.strip_prefix(p))
        .unwrap_or_else(|| panic!("{id} has no known GID prefix"));
    assert!(!rest.is_empty(), "{id}");
    let before_query = rest.split('?').next().unwrap();
    assert!(
        before_query.parse::<u64>().is_err(),
        "{id} is numeric in an opaque store"
    );
}

async fn opaque_fixture(variants: usize, locations: usize) -> Fixture {
    let sim = ShopifySim::start(SimConfig::default())
        .await
        .expect("start");
    let store: StoreHandle = sim.store(SHOP);
    store.set_access_token(TOKEN);
    store.set_gid_style(GidStyle::Opaque);
    assert_eq!(store.gid_style(), GidStyle::Opaque);
    let locs: Vec<String> = (0..locations)
        .map(|i| store.add_location(&format!("Location {i}")))
        .collect();
    let items = store.seed_catalogue(variants, &locs, "SKU-", |v, l| (v + l) as i64);
    let url = sim.graphql_url(SHOP, VERSION);
    Fixture {
        sim,
        store,
        url,
        client: reqwest::Client::new(),
        locations: locs,
        items,
    }
}

fn ids(v: &Json) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn an_opaque_store_hands_out_and_resolves_non_numeric_gids() {
    let f = opaque_fixture(3, 2).await;
    for id in f.locations.iter().chain(&f.items) {
        assert_opaque(id);
    }
    let b = f
        .gql(
            r#"{
              locations(first: 10) { nodes { id } }
              productVariants(first: 10) { nodes { id product { id } inventoryItem { id } } }
            }"#,
            json!({}),
        )
        .await;
    assert!(b.get("errors").is_none(), "{b}");
    assert_eq!(ids(&b["data"]["locations"]["nodes"]), f.locations);
    let variants = b["data"]["productVariants"]["nodes"].as_array().unwrap();
    assert_eq!(variants.len(), 3);
    for v in variants {
        assert_opaque(v["id"].as_str().unwrap());
        assert_opaque(v["product"]["id"].as_str().unwrap());
        assert_opaque(v["inventoryItem"]["id"].as_str().unwrap());
    }
    let item_ids: Vec<String> = variants
        .iter()
        .map(|v| v["inventoryItem"]["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(item_ids, f.items);

    // Levels of a location, looked up by its opaque id.
    let b = f
        .gql(
            r#"query L($id: ID!) { location(id: $id) { id inventoryLevels(first: 10) {
                 nodes { id item { id } quantities(names: ["available"]) { name quantity } } } } }"#,
            json!({"id": f.locations[1]}),
        )
        .await;
    let levels = b["data"]["location"]["inventoryLevels"]["nodes"]
        .as_array()
        .unwrap();
    assert_eq!(levels.len(), 3, "{b}");
    for (v, level) in levels.iter().enumerate() {
        assert_opaque(level["id"].as_str().unwrap());
        assert_eq!(level["item"]["id"], f.items[v]);
        assert_eq!(level["quantities"][0]["quantity"], (v + 1) as i64);
    }
    // Every id resolves through `nodes`, a level id included.
    let mut all: Vec<Json> = f
        .locations
        .iter()
        .chain(&f.items)
        .map(|s| json!(s))
        .collect();
    all.push(levels[0]["id"].clone());
    all.push(variants[0]["id"].clone());
    all.push(variants[0]["product"]["id"].clone());
    let b = f
        .gql(
            "query N($ids: [ID!]!) { nodes(ids: $ids) { id } }",
            json!({"ids": all}),
        )
        .await;
    let got: Vec<Json> = b["data"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].clone())
        .collect();
    assert_eq!(got, all, "{b}");

    // Ids are compared as strings: a numeric id, or the right id with another query, names nothing.
    let near_misses = [
        "gid://shopify/Location/1".to_string(),
        f.locations[0].replace("?src=sim", ""),
        f.locations[0].replace("?src=sim", "?src=other"),
        format!("{}x", f.locations[0]),
    ];
    for wrong in &near_misses {
        let b = f
            .gql(
                "query L($id: ID!) { location(id: $id) { id } }",
                json!({"id": wrong}),
            )
            .await;
        assert_eq!(b["data"]["location"], Json::Null, "{wrong} resolved: {b}");
    }
}

#[tokio::test]
async fn inventory_set_quantities_takes_opaque_ids() {
    let f = opaque_fixture(2, 1).await;
    let input = set_input(vec![
        row(&f.items[0], &f.locations[0], 40, Some(0)),
        row(&f.items[1], &f.locations[0], 41, Some(1)),
    ]);
    let b = f
        .gql(SET_QTY, json!({"input": input, "key": "opaque-1"}))
        .await;
    let p = &b["data"]["inventorySetQuantities"];
    assert_eq!(p["userErrors"], json!([]), "{b}");
    let changes = p["inventoryAdjustmentGroup"]["changes"].as_array().unwrap();
    assert_eq!(changes[0]["item"]["id"], f.items[0]);
    assert_eq!(changes[0]["location"]["id"], f.locations[0]);
    assert_eq!(f.store.available(&f.items[0], &f.locations[0]), Some(40));
    assert_eq!(f.store.available(&f.items[1], &f.locations[0]), Some(41));
    let log = f.store.adjustment_log();
    assert_eq!(log[0].inventory_item_id, f.items[0]);
    assert_eq!(log[0].location_id, f.locations[0]);

    // A numeric id is not one of this store's.
    let input = set_input(vec![row(
        "gid://shopify/InventoryItem/1",
        &f.locations[0],
        7,
        None,
    )]);
    let b = f
        .gql(SET_QTY_MIN, json!({"input": input, "key": "opaque-2"}))
        .await;
    let errors = b["data"]["inventorySetQuantities"]["userErrors"]
        .as_array()
        .unwrap();
    assert!(!errors.is_empty(), "{b}");
    assert_eq!(f.store.available(&f.items[0], &f.locations[0]), Some(40));
}

#[tokio::test]
async fn a_seeded_store_keeps_its_gid_style() {
    let f = fixture(SimConfig::default(), 1, 1).await;
    assert_eq!(f.store.gid_style(), GidStyle::Numeric);
    assert_eq!(f.locations[0], "gid://shopify/Location/1");
    let again = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        f.store.set_gid_style(GidStyle::Opaque)
    }));
    assert!(again.is_err(), "ids already handed out must not change");
    f.store.set_gid_style(GidStyle::Numeric);
}

#[tokio::test]
async fn requests_are_counted_per_operation_name() {
    let f = fixture(SimConfig::default(), 2, 1).await;
    for _ in 0..2 {
        f.gql(
            "query ProductVariantsCount { productVariantsCount(limit: null) { count } }",
            json!({}),
        )
        .await;
    }
    f.gql("{ shop { id } }", json!({})).await;
    f.gql(
        "query A { shop { id } } query B { locations(first: 1) { nodes { id } } }",
        json!({}),
    )
    .await;
    let (_, _) = f
        .post(r#"{"not": "parsed as an operation"#, json!({}))
        .await;
    let stats = f.sim.stats();
    assert_eq!(stats.operation("ProductVariantsCount"), 2);
    assert_eq!(stats.operation(""), 1, "{stats:?}");
    assert_eq!(
        stats.operation("A"),
        0,
        "no operation picked without operationName"
    );
    assert_eq!(stats.operation("B"), 0);
    assert_eq!(stats.operations.values().sum::<u64>(), 3);
    assert_eq!(stats.requests, 5);
}
