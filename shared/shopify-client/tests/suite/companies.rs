//! The companies documents against the real Admin API 2026-07 schema, and recorded Shopify B2B
//! answers (`../../../shared/shopify/captures/b2b`, read in place) decoded through the companies
//! module's shapes. Skips with a message when the reference data is absent.

use crate::common;

use common::{assert_all_validate, reference, schema};
use serde_json::{Value, json};
use shopsync_shopify::companies::{COMPANY_OPERATIONS, company_export_outcome, company_from_node};

#[test]
fn company_documents_validate_against_the_2026_07_schema() {
    let Some(schema) = schema() else { return };
    assert_all_validate(schema, COMPANY_OPERATIONS);
}

/// Every document states its requested cost (the pacer reserves it before sending).
#[test]
fn company_documents_are_annotated() {
    for doc in COMPANY_OPERATIONS {
        assert!(
            doc.annotated_cost().is_some(),
            "{} lacks `# cost: N`",
            doc.name
        );
    }
}

fn capture(name: &str) -> Option<Value> {
    let path = reference(&format!("captures/b2b/{name}"));
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!("SKIPPED: capture {} not found", path.display());
        return None;
    };
    Some(serde_json::from_str(&text).unwrap())
}

/// Every `data.<field>` object in a capture that is a company (its id names one).
fn companies_in(v: &Value, out: &mut Vec<Value>) {
    match v {
        Value::Object(m) => {
            if m.get("id")
                .and_then(Value::as_str)
                .is_some_and(|id| id.starts_with("gid://shopify/Company/"))
            {
                out.push(v.clone());
            }
            m.values().for_each(|x| companies_in(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| companies_in(x, out)),
        _ => {}
    }
}

/// A recorded company with its main contact and locations decodes (given an `updatedAt`, which
/// that capture did not select).
#[test]
fn recorded_companies_decode() {
    let Some(c) = capture("b2b-cold-company-location-hydration.json") else {
        return;
    };
    let mut found = Vec::new();
    companies_in(&c, &mut found);
    let with_locations: Vec<_> = found
        .into_iter()
        .filter(|v| v.get("locations").is_some() && v.get("mainContact").is_some())
        .collect();
    assert!(!with_locations.is_empty());
    for mut v in with_locations {
        v["updatedAt"] = json!("2026-05-05T21:36:53Z");
        let node = serde_json::from_value(v).unwrap();
        let company = company_from_node(node).unwrap();
        assert!(company.legacy_id > 0);
        assert!(company.main_contact.is_some());
        assert!(!company.locations.is_empty());
        assert!(
            company.locations[0]
                .id
                .starts_with("gid://shopify/CompanyLocation/")
        );
    }
}

/// A refused `companyUpdate` (userErrors, null company) is data, not an error.
#[test]
fn recorded_company_update_refusal_decodes() {
    let Some(c) = capture("b2b-company-update-customer-since.json") else {
        return;
    };
    let data = c["updateCustomerSinceOnly"]["response"]["data"].clone();
    let outcome = company_export_outcome(data).unwrap();
    assert_eq!(outcome.updated_at, None);
    assert_eq!(outcome.user_errors.len(), 1);
    assert_eq!(
        outcome.user_errors[0].code.as_deref(),
        Some("INVALID_INPUT")
    );
    assert_eq!(outcome.user_errors[0].field, vec!["input", "customerSince"]);
}
