//! Every GraphQL document the client sends (and the inner queries of bulk operations, as
//! executable documents) validates against the real Admin API 2026-07 schema.
//!
//! The schema is read from `../../../shared/shopify/schema/admin-2026-07.graphql` (reference data
//! beside the repository, not copied into it); the tests skip with a message when it is absent.
//! The 3.8 MB SDL is parsed and validated once per test binary.

use crate::common;

use common::{assert_all_validate, load, schema, schema_path, schema_path_of};

use apollo_compiler::executable::{OperationType, Selection};
use apollo_compiler::validation::Valid;
use apollo_compiler::{ExecutableDocument, Schema};
use shopsync_shopify::documents::{API_VERSION, BULK_QUERIES, NOT_IDEMPOTENT, OPERATIONS};
use std::sync::OnceLock;

/// The previous version's schema (the recorded captures are 2026-04 answers).
fn schema_2026_04() -> Option<&'static Valid<Schema>> {
    static SCHEMA: OnceLock<Option<Valid<Schema>>> = OnceLock::new();
    SCHEMA
        .get_or_init(|| load(schema_path_of("2026-04")))
        .as_ref()
}

#[test]
fn api_version_matches_schema_file() {
    assert_eq!(API_VERSION, "2026-07");
    assert!(schema_path().ends_with(format!("admin-{API_VERSION}.graphql")));
}

#[test]
fn operations_validate_against_the_schema() {
    let Some(schema) = schema() else { return };
    assert_all_validate(schema, OPERATIONS);
}

#[test]
fn bulk_inner_queries_validate_against_the_schema() {
    let Some(schema) = schema() else { return };
    assert_all_validate(schema, BULK_QUERIES);
}

#[test]
fn idempotent_directive_takes_a_variable() {
    // The directive argument is `key: String!` on FIELD; an executable directive may take a variable
    // of a compatible type, so the key is sent in `variables` rather than spliced into the text.
    let Some(schema) = schema() else { return };
    let def = schema
        .directive_definitions
        .get("idempotent")
        .expect("@idempotent defined");
    assert!(
        def.arguments
            .iter()
            .any(|a| a.name == "key" && a.ty.to_string() == "String!")
    );
    // And a mismatching variable type is caught, so this test can fail.
    let bad = "mutation($input: InventorySetQuantitiesInput!, $key: Int!) { inventorySetQuantities(input: $input) @idempotent(key: $key) { userErrors { code } } }";
    assert!(ExecutableDocument::parse_and_validate(schema, bad, "bad.graphql").is_err());
}

#[test]
fn a_wrong_field_is_caught() {
    let Some(schema) = schema() else { return };
    let bad = "query { locations(first: 1) { nodes { id nonExistingField } } }";
    assert!(ExecutableDocument::parse_and_validate(schema, bad, "bad.graphql").is_err());
}

#[test]
fn operations_validate_against_the_2026_04_schema_too() {
    // The captures the client is checked against are 2026-04 answers; the same documents are
    // valid there, so a recorded answer is an answer to (a superset of) our selection.
    let Some(schema) = schema_2026_04() else {
        return;
    };
    for doc in OPERATIONS {
        if let Err(e) = ExecutableDocument::parse_and_validate(
            schema,
            doc.text,
            format!("{}.graphql", doc.name),
        ) {
            panic!(
                "{} does not validate against 2026-04:\n{}",
                doc.name, e.errors
            );
        }
    }
}

/// `@idempotent` is used exactly where the schema offers it. A mutation offers it when its
/// description says so ("supports an optional idempotency key using the `@idempotent`
/// directive"); in 2026-07 that is the inventory family, `refundCreate`, `locationActivate` … but
/// not `fulfillmentCreate`, `orderUpdate` or `orderClose`. Should a later version add it to one of
/// ours, this fails and says which document to change.
#[test]
fn idempotent_exactly_where_the_schema_offers_it() {
    for (version, schema) in [("2026-07", schema()), ("2026-04", schema_2026_04())] {
        let Some(schema) = schema else { continue };
        let mutation = schema.get_object("Mutation").expect("Mutation type");
        let offers = |field: &str| {
            mutation
                .fields
                .get(field)
                .and_then(|f| f.description.as_ref())
                .is_some_and(|d| d.contains("@idempotent"))
        };
        assert!(offers("inventorySetQuantities"), "{version}");
        for name in ["fulfillmentCreate", "orderUpdate", "orderClose"] {
            assert!(!offers(name), "{version} now offers @idempotent on {name}");
        }
        let mut mutations = 0;
        for doc in OPERATIONS {
            let exec = ExecutableDocument::parse_and_validate(schema, doc.text, doc.name)
                .unwrap_or_else(|e| panic!("{}: {}", doc.name, e.errors));
            for op in exec.operations.iter() {
                if op.operation_type != OperationType::Mutation {
                    continue;
                }
                for sel in &op.selection_set.selections {
                    let Selection::Field(f) = sel else { continue };
                    mutations += 1;
                    let uses = f.directives.get("idempotent").is_some();
                    assert_eq!(
                        uses,
                        offers(f.name.as_str()),
                        "{version}: {} {} @idempotent on {}",
                        doc.name,
                        if uses { "uses" } else { "lacks" },
                        f.name
                    );
                    let marked = NOT_IDEMPOTENT.iter().any(|d| d.name == doc.name);
                    if marked {
                        assert!(!uses, "{} is listed as not idempotent", doc.name);
                    }
                }
            }
        }
        assert!(mutations >= 5, "{mutations}");
    }
}
