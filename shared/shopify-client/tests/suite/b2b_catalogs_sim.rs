//! The catalogs client against the Shopify simulator: both catalog types read through
//! `catalogs(type:)` with their price lists and links, fixed prices read and written, the 250-row
//! limit, userErrors as data (a refused row applies nothing of its call), the requested cost of
//! each document as annotated, and a resend of `priceListFixedPricesAdd` after a lost answer
//! leaving the same prices.

use crate::common;

use serde_json::json;
use shopify_sim::{CatalogSeed, FaultConfig, FaultKind, ShopifySim, SimConfig, VariantSeed};
use shopsync_domain::b2b_catalogs::{
    CatalogType, FixedPriceInput, FixedPricesAddRequest, ShopifyB2bCatalogsApi,
};
use shopsync_domain::sales::Decimal;
use shopsync_shopify::b2b_catalogs::{
    B2B_CATALOGS_PAGE, PRICE_LIST_FIXED_PRICES, PRICE_LIST_FIXED_PRICES_ADD,
};
use shopsync_shopify::{Pacer, ShopifyClient};
use std::sync::Arc;

const SHOP: &str = "b2b-shop.myshopify.com";
const TOKEN: &str = "shpat_b2b_token";

async fn start() -> (ShopifySim, ShopifyClient) {
    let sim = ShopifySim::start(SimConfig {
        time_scale: 10.0,
        ..Default::default()
    })
    .await
    .expect("simulator starts");
    sim.store(SHOP).set_access_token(TOKEN);
    let mut config = common::sim_config(&sim, SHOP, TOKEN, 20, 200);
    config.max_retries = 6;
    let client = ShopifyClient::new(config, Arc::new(Pacer::new())).unwrap();
    (sim, client)
}

fn company(title: &str, publication: bool) -> CatalogSeed {
    CatalogSeed {
        market: false,
        title: title.into(),
        status: "ACTIVE".into(),
        currency: Some("EUR".into()),
        publication,
        markets: Vec::new(),
        locations: vec![(
            "gid://shopify/CompanyLocation/77".into(),
            "HQ".into(),
            Some("C10000".into()),
        )],
    }
}

fn variants(sim: &ShopifySim, n: usize) -> Vec<String> {
    let seeds: Vec<VariantSeed> = (0..n)
        .map(|i| VariantSeed {
            sku: Some(format!("SKU-{i}")),
            barcode: None,
            tracked: true,
        })
        .collect();
    let mut out = Vec::new();
    for chunk in seeds.chunks(100) {
        out.extend(sim.store(SHOP).add_product("P", chunk).variant_ids);
    }
    out
}

fn rows(variants: &[String], price: &str) -> Vec<FixedPriceInput> {
    variants
        .iter()
        .map(|v| FixedPriceInput {
            variant_id: v.clone(),
            price: Decimal::parse(price).unwrap(),
            compare_at: None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalogs_of_each_type_are_read_with_their_price_lists() {
    let (sim, c) = start().await;
    let store = sim.store(SHOP);
    let a = store.add_catalog(company("Acme", false));
    let m = store.add_catalog(CatalogSeed {
        market: true,
        title: "Switzerland".into(),
        status: "DRAFT".into(),
        currency: Some("CHF".into()),
        publication: true,
        markets: vec!["Switzerland".into()],
        locations: Vec::new(),
    });
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let page = c
            .catalogs_page(CatalogType::CompanyLocation, after.as_deref())
            .await
            .unwrap();
        assert_eq!(page.shop_currency, "EUR");
        all.extend(page.page.items);
        after = page.page.next_cursor;
        if after.is_none() {
            break;
        }
    }
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].id, a.id);
    assert_eq!(all[0].price_list.as_ref().unwrap().currency, "EUR");
    assert_eq!(all[0].publication_id, None);
    assert_eq!(
        all[0].company_locations[0].external_id.as_deref(),
        Some("C10000")
    );
    let markets = c.catalogs_page(CatalogType::Market, None).await.unwrap();
    assert_eq!(markets.page.items.len(), 1);
    let market = &markets.page.items[0];
    assert_eq!(
        (market.id.as_str(), market.status.as_str()),
        (m.id.as_str(), "DRAFT")
    );
    assert_eq!(market.markets[0].name, "Switzerland");
    assert!(market.publication_id.is_some());

    store.delete_catalog(&a.id);
    let page = c
        .catalogs_page(CatalogType::CompanyLocation, None)
        .await
        .unwrap();
    assert!(page.page.items.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixed_prices_are_written_read_and_refused_as_shopify_does() {
    let (sim, c) = start().await;
    let store = sim.store(SHOP);
    let cat = store.add_catalog(company("Acme", false));
    let list = cat.price_list_id.clone().unwrap();
    let vs = variants(&sim, 251);

    // 251 rows: refused before sending; the simulator refuses them too.
    let mut request = FixedPricesAddRequest {
        price_list_id: list.clone(),
        currency: "EUR".into(),
        prices: rows(&vs, "9.99"),
    };
    assert!(c.price_list_fixed_prices_add(&request).await.is_err());
    let too_many = c
        .execute(
            &PRICE_LIST_FIXED_PRICES_ADD,
            json!({"priceListId": list, "prices": vs.iter().map(|v| json!({
                "variantId": v, "price": {"amount": "1", "currencyCode": "EUR"}})).collect::<Vec<_>>()}),
        )
        .await;
    assert!(too_many.is_err(), "{too_many:?}");

    request.prices.truncate(250);
    let outcome = c.price_list_fixed_prices_add(&request).await.unwrap();
    assert_eq!(outcome.applied.len(), 250);
    assert!(outcome.user_errors.is_empty());
    let mut read = Vec::new();
    let mut after = None;
    loop {
        let page = c
            .price_list_fixed_prices_page(&list, after.as_deref())
            .await
            .unwrap();
        read.extend(page.items);
        after = page.next_cursor;
        if after.is_none() {
            break;
        }
    }
    assert_eq!(read.len(), 250);
    assert_eq!(read[0].price.as_str(), "9.99");
    assert_eq!(read[0].currency, "EUR");

    // One row in another currency: a userError naming its row, and nothing of the call applied.
    let bad = FixedPricesAddRequest {
        price_list_id: list.clone(),
        currency: "USD".into(),
        prices: rows(&vs[250..], "5"),
    };
    let outcome = c.price_list_fixed_prices_add(&bad).await.unwrap();
    assert!(outcome.applied.is_empty());
    assert_eq!(outcome.user_errors.len(), 1);
    assert_eq!(outcome.user_errors[0].row(), Some(0));
    assert_eq!(
        outcome.user_errors[0].code.as_deref(),
        Some("PRICE_LIST_CURRENCY_MISMATCH")
    );
    assert_eq!(store.fixed_prices(&list).len(), 250);

    // A price list that is gone: NotFound.
    assert!(matches!(
        c.price_list_fixed_prices_page("gid://shopify/PriceList/999999", None)
            .await,
        Err(shopsync_domain::SyncError::NotFound(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_cost_what_they_are_annotated() {
    let (sim, c) = start().await;
    let cat = sim.store(SHOP).add_catalog(company("Acme", true));
    let list = cat.price_list_id.unwrap();
    let vs = variants(&sim, 1);
    for (doc, vars) in [
        (
            B2B_CATALOGS_PAGE,
            json!({"type": "COMPANY_LOCATION", "after": null}),
        ),
        (PRICE_LIST_FIXED_PRICES, json!({"id": list, "after": null})),
        (
            PRICE_LIST_FIXED_PRICES_ADD,
            json!({"priceListId": list, "prices": [
                {"variantId": vs[0], "price": {"amount": "1.5", "currencyCode": "EUR"}}]}),
        ),
    ] {
        let r = c.execute(&doc, vars).await.unwrap();
        let cost = r.cost.unwrap();
        assert!(
            cost.requested.unwrap() <= doc.annotated_cost().unwrap(),
            "{}: requested {:?}, annotated {:?}",
            doc.name,
            cost.requested,
            doc.annotated_cost()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_answer_resent_leaves_the_same_prices() {
    let (sim, c) = start().await;
    let cat = sim.store(SHOP).add_catalog(company("Acme", false));
    let list = cat.price_list_id.unwrap();
    let vs = variants(&sim, 3);
    c.catalogs_page(CatalogType::Market, None).await.unwrap();
    sim.set_faults(FaultConfig {
        rate: 0.5,
        seed: 11,
        kinds: vec![FaultKind::DropAfterApply],
    });
    for price in ["2", "3", "4"] {
        let request = FixedPricesAddRequest {
            price_list_id: list.clone(),
            currency: "EUR".into(),
            prices: rows(&vs, price),
        };
        let outcome = c.price_list_fixed_prices_add(&request).await.unwrap();
        assert!(outcome.user_errors.is_empty());
        let prices = sim.store(SHOP).fixed_prices(&list);
        assert_eq!(prices.len(), 3);
        assert!(
            prices
                .iter()
                .all(|p| p.amount.parse::<f64>().unwrap() == price.parse::<f64>().unwrap()),
            "{prices:?}"
        );
    }
}
