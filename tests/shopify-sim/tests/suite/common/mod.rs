//! Shared helpers for the simulator's HTTP tests.
#![allow(dead_code)]

use serde_json::{Value as Json, json};
use shopify_sim::{ShopifySim, SimConfig, StoreHandle, VariantSeed};

pub const SHOP: &str = "test-shop.myshopify.com";
pub const TOKEN: &str = "shpat_test";
pub const VERSION: &str = "2026-07";

pub struct Fixture {
    pub sim: ShopifySim,
    pub store: StoreHandle,
    pub url: String,
    pub client: reqwest::Client,
    pub locations: Vec<String>,
    pub items: Vec<String>,
}

/// Starts a simulator with one store: `locations` locations and `variants` tracked
/// variants stocked everywhere with 10 available.
pub async fn fixture(config: SimConfig, variants: usize, locations: usize) -> Fixture {
    let sim = ShopifySim::start(config).await.expect("start");
    let store = sim.store(SHOP);
    store.set_access_token(TOKEN);
    let locs: Vec<String> = (0..locations)
        .map(|i| store.add_location(&format!("Location {i}")))
        .collect();
    let items = store.seed_catalogue(variants, &locs, "SKU-", |_, _| 10);
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

impl Fixture {
    pub async fn post(&self, query: &str, variables: Json) -> (u16, Json) {
        let r = self
            .client
            .post(&self.url)
            .header("X-Shopify-Access-Token", TOKEN)
            .json(&json!({"query": query, "variables": variables}))
            .send()
            .await
            .expect("send");
        let status = r.status().as_u16();
        let text = r.text().await.expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Json::String(text)),
        )
    }

    pub async fn gql(&self, query: &str, variables: Json) -> Json {
        let (status, body) = self.post(query, variables).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    pub fn add_unstocked_item(&self) -> String {
        self.store
            .add_product(
                "Unstocked",
                &[VariantSeed {
                    sku: Some("UNSTOCKED".into()),
                    barcode: None,
                    tracked: true,
                }],
            )
            .inventory_item_ids[0]
            .clone()
    }
}

pub const SET_QTY: &str = r#"mutation Set($input: InventorySetQuantitiesInput!, $key: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup { id createdAt reason referenceDocumentUri
      changes { name delta quantityAfterChange item { id } location { id name } } }
    userErrors { code field message }
  }
}"#;

pub const SET_QTY_MIN: &str = r#"mutation Set($input: InventorySetQuantitiesInput!, $key: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) { userErrors { code field message } }
}"#;

pub fn row(item: &str, location: &str, quantity: i64, change_from: Option<i64>) -> Json {
    json!({"inventoryItemId": item, "locationId": location, "quantity": quantity, "changeFromQuantity": change_from})
}

pub fn set_input(rows: Vec<Json>) -> Json {
    json!({"name": "available", "reason": "correction", "referenceDocumentUri": "gid://shopsync/Job/1", "quantities": rows})
}

pub fn code(body: &Json) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("")
}
