//! The catalogs documents against the real Admin API 2026-07 schema, and recorded Shopify answers
//! (`../../../shared/shopify/captures/markets`, read in place, never copied) decoded through the
//! catalogs module's shapes. Skips with a message when the reference data is absent.

use crate::common;

use apollo_compiler::ExecutableDocument;
use common::{assert_all_validate, reference, schema};
use serde_json::{Value, json};
use shopsync_domain::b2b_catalogs::CatalogType;
use shopsync_shopify::b2b_catalogs::{
    B2B_CATALOG_OPERATIONS, catalogs_page_from_data, fixed_prices_add_outcome,
    fixed_prices_from_data,
};

fn capture(name: &str) -> Option<Value> {
    let path = reference(&format!("captures/markets/{name}"));
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!(
            "SKIPPED: {} not found (reference data absent)",
            path.display()
        );
        return None;
    };
    Some(serde_json::from_str(&text).expect("capture is JSON"))
}

#[test]
fn catalog_documents_validate_against_the_2026_07_schema() {
    let Some(schema) = schema() else { return };
    assert_all_validate(schema, B2B_CATALOG_OPERATIONS);
}

/// `priceListFixedPricesAdd` offers no `@idempotent` in 2026-07 (our document carries none; the
/// task relies on setting a fixed price being idempotent by nature), and every document is annotated.
#[test]
fn fixed_prices_add_has_no_idempotent_key() {
    let Some(schema) = schema() else { return };
    let mutation = schema.get_object("Mutation").expect("Mutation");
    let description = mutation.fields["priceListFixedPricesAdd"]
        .description
        .as_ref()
        .map(|d| d.to_string())
        .unwrap_or_default();
    assert!(!description.contains("@idempotent"));
    for doc in B2B_CATALOG_OPERATIONS {
        assert!(doc.annotated_cost().is_some(), "{}", doc.name);
        let code: String = doc
            .text
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .collect();
        assert!(!code.contains("@idempotent"), "{}", doc.name);
        ExecutableDocument::parse_and_validate(schema, doc.text, doc.name).unwrap();
    }
}

#[test]
fn recorded_market_catalogs_decode() {
    let Some(c) = capture("catalogs-connection-read.json") else {
        return;
    };
    let case = c["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "catalogsConnectionNextPage")
        .expect("case");
    let conn = case["response"]["payload"]["data"]["nextPage"].clone();
    let data = json!({"shop": {"currencyCode": "USD"}, "catalogs": conn});
    let page = catalogs_page_from_data(data.clone(), CatalogType::Market).unwrap();
    assert_eq!(page.page.items.len(), 1);
    let catalog = &page.page.items[0];
    assert_eq!(catalog.id, "gid://shopify/MarketCatalog/154199097650");
    assert_eq!(catalog.status, "ACTIVE");
    assert_eq!(catalog.markets[0].id, "gid://shopify/Market/98773565746");
    assert_eq!(page.page.next_cursor, None);
    // The same answer read as company-location catalogs is refused, not mis-filed.
    assert!(catalogs_page_from_data(data, CatalogType::CompanyLocation).is_err());
}

#[test]
fn recorded_fixed_prices_decode() {
    let Some(c) = capture("price-list-fixed-prices-variant-lifecycle.json") else {
        return;
    };
    let steps = c["successPath"].as_array().unwrap();
    let step = |name: &str| {
        steps
            .iter()
            .find(|s| s["name"] == name)
            .map(|s| s["response"]["payload"]["data"].clone())
            .expect(name)
    };
    let added = fixed_prices_add_outcome(step("add variant fixed price")).unwrap();
    assert_eq!(
        added.applied,
        ["gid://shopify/ProductVariant/49875425296690"]
    );
    assert!(added.user_errors.is_empty());

    let page = fixed_prices_from_data(step("read after add"))
        .unwrap()
        .unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].price.as_str(), "812.34");
    assert_eq!(
        page.items[0].compare_at.as_ref().unwrap().as_str(),
        "845.67"
    );
    assert_eq!(page.items[0].currency, "CAD");
    assert_eq!(page.next_cursor, None);
    let empty = fixed_prices_from_data(step("read after delete"))
        .unwrap()
        .unwrap();
    assert!(empty.items.is_empty());
    assert!(
        fixed_prices_from_data(json!({"priceList": null}))
            .unwrap()
            .is_none()
    );
}

#[test]
fn recorded_user_errors_decode_with_their_row() {
    let Some(c) = capture("price-list-fixed-prices-validation.json") else {
        return;
    };
    let data = c["cases"]["addCurrencyMismatch"]["response"]["payload"]["data"].clone();
    let outcome = fixed_prices_add_outcome(data).unwrap();
    assert!(outcome.applied.is_empty());
    assert_eq!(outcome.user_errors.len(), 1);
    assert_eq!(
        outcome.user_errors[0].code.as_deref(),
        Some("PRICE_LIST_CURRENCY_MISMATCH")
    );
    assert_eq!(outcome.user_errors[0].row(), Some(0));
}
