//! The customers documents against the real Admin API 2026-07 schema, and recorded Shopify answers
//! (`../../../shared/shopify/captures/customers`, read in place) decoded through the customers
//! module's shapes. Skips with a message when the reference data is absent.

use crate::common;

use common::{assert_all_validate, reference, schema};
use shopsync_shopify::customers::{CUSTOMER_OPERATIONS, customer_set_outcome};

#[test]
fn customer_documents_validate_against_the_2026_07_schema() {
    let Some(schema) = schema() else { return };
    assert_all_validate(schema, CUSTOMER_OPERATIONS);
}

/// `customerSet` offers no `@idempotent` in 2026-07 (the export relies on the id identifier
/// instead), and none of our documents uses a deprecated field of `Customer`.
#[test]
fn customer_set_has_no_idempotent_key_and_we_select_nothing_deprecated() {
    let Some(schema) = schema() else { return };
    for doc in CUSTOMER_OPERATIONS {
        let code: String = doc
            .text
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n");
        assert!(!code.contains("@idempotent"), "{}", doc.name);
        for deprecated in ["  email\n", "  phone\n", "countryCode\n"] {
            assert!(
                !code.contains(&format!("  {deprecated}")),
                "{} selects {deprecated:?}",
                doc.name
            );
        }
    }
    let customer = schema.get_object("Customer").expect("Customer");
    for f in ["email", "phone"] {
        assert!(
            customer.fields[f].directives.get("deprecated").is_some(),
            "{f}"
        );
    }
}

fn capture(name: &str) -> Option<serde_json::Value> {
    let path = reference(&format!("captures/customers/{name}"));
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!("SKIPPED: capture {} not found", path.display());
        return None;
    };
    Some(serde_json::from_str(&text).unwrap())
}

#[test]
fn recorded_customer_set_answers_decode() {
    let Some(parity) = capture("customer-set-parity.json") else {
        return;
    };
    for case in ["update", "phoneUpsert"] {
        let data = parity[case]["response"]["data"].clone();
        let outcome = customer_set_outcome(data).unwrap();
        let c = outcome.customer.expect(case);
        assert!(outcome.user_errors.is_empty(), "{case}");
        assert!(c.legacy_id > 0 && c.id.starts_with("gid://shopify/Customer/"));
        assert!(c.phone.is_some(), "{case}: defaultPhoneNumber.phoneNumber");
        assert!(!c.updated_at.is_empty());
    }
    let update = customer_set_outcome(parity["update"]["response"]["data"].clone()).unwrap();
    let c = update.customer.unwrap();
    assert_eq!(c.first_name.as_deref(), Some("Hermes"));
    assert!(c.email.unwrap().starts_with("hermes-customerset-create"));
    assert_eq!(c.default_address.unwrap().city.as_deref(), Some("Ottawa"));

    // userErrors are data: an unknown id is a refusal, not an error.
    let unknown =
        customer_set_outcome(parity["validation"]["unknownIdWithCode"]["response"]["data"].clone())
            .unwrap();
    assert!(unknown.customer.is_none());
    assert_eq!(unknown.user_errors[0].code.as_deref(), Some("NOT_FOUND"));
    assert_eq!(unknown.user_errors[0].field, vec!["input".to_string()]);
}
