//! The Admin API schema the document tests validate against, read from the reference data beside
//! the repository (`../../../shared/shopify/schema/admin-<version>.graphql`, never copied in).
//! The tests skip with a message when it is absent; each SDL is parsed and validated once per test
//! binary.
#![allow(dead_code)]

use apollo_compiler::validation::Valid;
use apollo_compiler::{ExecutableDocument, Schema};
use shopsync_shopify::documents::Document;
use std::path::PathBuf;
use std::sync::OnceLock;

/// A file of the reference data (`rel` below `shared/shopify`).
pub fn reference(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/shopify")
        .join(rel)
}

/// The path of the `version` schema.
pub fn schema_path_of(version: &str) -> PathBuf {
    reference(&format!("schema/admin-{version}.graphql"))
}

/// The 2026-07 schema's path.
pub fn schema_path() -> PathBuf {
    schema_path_of("2026-07")
}

/// The 2026-07 schema, or `None` when the reference data is absent.
pub fn schema() -> Option<&'static Valid<Schema>> {
    static SCHEMA: OnceLock<Option<Valid<Schema>>> = OnceLock::new();
    SCHEMA.get_or_init(|| load(schema_path())).as_ref()
}

/// Reads and validates one schema file; `None` (after saying so) when the reference data is absent.
pub fn load(path: PathBuf) -> Option<Valid<Schema>> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let Ok(sdl) = std::fs::read_to_string(&path) else {
        eprintln!(
            "SKIPPED: schema {} not found (reference data absent)",
            path.display()
        );
        return None;
    };
    // The SDL comes from a standard introspection query. It validates as-is: apollo-compiler
    // supplies the built-in directives (@skip, @include, @deprecated, @specifiedBy) and scalars
    // that introspection output omits, and Shopify's own directives (@idempotent,
    // @accessRestricted, …) are defined in the file. If that ever stops being true the error list
    // is printed in full rather than papered over.
    match Schema::parse_and_validate(sdl, &name) {
        Ok(s) => Some(s),
        Err(e) => panic!("{name} does not validate:\n{}", e.errors),
    }
}

/// Panics with the errors of the first of `docs` that does not validate against `schema`.
pub fn assert_all_validate<'a>(
    schema: &Valid<Schema>,
    docs: impl IntoIterator<Item = &'a Document>,
) {
    for doc in docs {
        if let Err(e) = ExecutableDocument::parse_and_validate(
            schema,
            doc.text,
            format!("{}.graphql", doc.name),
        ) {
            panic!("{} does not validate:\n{}", doc.name, e.errors);
        }
    }
}

/// A client configuration for `store` on the simulator `sim` with `token`: the simulator's URL
/// template (checked to resolve to the simulator's GraphQL URL), a 5-second request timeout and a
/// short backoff (`base_ms` doubling up to `cap_ms`); tests adjust retries and polling on top.
pub fn sim_config(
    sim: &shopify_sim::ShopifySim,
    store: &str,
    token: &str,
    base_ms: u64,
    cap_ms: u64,
) -> shopsync_shopify::ShopifyClientConfig {
    let mut c = shopsync_shopify::ShopifyClientConfig::for_store(
        &format!(
            "{}/{{shop_domain}}/admin/api/{{version}}/graphql.json",
            sim.base_url()
        ),
        store,
        token,
    )
    .unwrap();
    assert_eq!(
        c.graphql_url,
        sim.graphql_url(store, shopsync_shopify::API_VERSION)
    );
    c.request_timeout = std::time::Duration::from_secs(5);
    c.backoff = shopsync_shopify::retry::Backoff {
        base: std::time::Duration::from_millis(base_ms),
        cap: std::time::Duration::from_millis(cap_ms),
    };
    c
}
