//! The catalogue documents against the real Admin API schema, and recorded Shopify answers
//! (`../../../shared/shopify/captures/{products,media,bulk-operations}`, read in place, never
//! copied) decoded through the catalogue's typed shapes. Skips with a message when the reference
//! data is absent.

use crate::common;

use common::{assert_all_validate, reference, schema};

use apollo_compiler::ExecutableDocument;
use apollo_compiler::executable::{OperationType, Selection};
use shopsync_shopify::documents::{BULK_MUTATIONS, CATALOG_OPERATIONS, Document};
use std::sync::OnceLock;

fn all_documents() -> impl Iterator<Item = &'static Document> {
    CATALOG_OPERATIONS.iter().chain(BULK_MUTATIONS)
}

#[test]
fn catalog_documents_validate_against_the_2026_07_schema() {
    let Some(schema) = schema() else { return };
    assert_all_validate(schema, all_documents());
}

/// No field, argument or enum value we send is deprecated in 2026-07 (the media mutations the
/// reference used are; `productUpdate(input:)` is).
#[test]
fn catalog_documents_use_nothing_deprecated() {
    let Some(schema) = schema() else { return };
    let mutation = schema.get_object("Mutation").expect("Mutation");
    for doc in all_documents() {
        let exec = ExecutableDocument::parse_and_validate(schema, doc.text, doc.name).unwrap();
        for op in exec.operations.iter() {
            if op.operation_type != OperationType::Mutation {
                continue;
            }
            for sel in &op.selection_set.selections {
                let Selection::Field(f) = sel else { continue };
                let def = mutation.fields.get(f.name.as_str()).expect("root field");
                assert!(
                    def.directives.get("deprecated").is_none(),
                    "{}: {} is deprecated",
                    doc.name,
                    f.name
                );
                for arg in &f.arguments {
                    let a = def
                        .arguments
                        .iter()
                        .find(|a| a.name == arg.name)
                        .expect("argument");
                    assert!(
                        a.directives.get("deprecated").is_none(),
                        "{}: {}({}) is deprecated",
                        doc.name,
                        f.name,
                        arg.name
                    );
                }
            }
        }
    }
    for deprecated in ["productCreateMedia", "productUpdateMedia"] {
        let f = mutation
            .fields
            .get(deprecated)
            .expect("still in the schema");
        assert!(f.directives.get("deprecated").is_some(), "{deprecated}");
    }
}

/// `@idempotent` exactly where 2026-07 offers it: on none of the catalogue mutations
/// (`productSet`, `productUpdate`, `fileUpdate`, `stagedUploadsCreate`,
/// `productVariantsBulkUpdate`, `bulkOperationRunMutation`). Upserts keyed by an identifier make
/// them safe to repeat instead. Fails, naming the mutation, once a version offers it.
#[test]
fn no_catalog_mutation_offers_idempotent_in_2026_07() {
    let Some(schema) = schema() else { return };
    let mutation = schema.get_object("Mutation").expect("Mutation");
    let mut seen = 0;
    for doc in all_documents() {
        let exec = ExecutableDocument::parse_and_validate(schema, doc.text, doc.name).unwrap();
        for op in exec.operations.iter() {
            for sel in &op.selection_set.selections {
                let Selection::Field(f) = sel else { continue };
                if op.operation_type != OperationType::Mutation {
                    continue;
                }
                seen += 1;
                let offers = mutation
                    .fields
                    .get(f.name.as_str())
                    .and_then(|d| d.description.as_ref())
                    .is_some_and(|d| d.contains("@idempotent"));
                assert!(
                    !offers,
                    "2026-07 offers @idempotent on {}: use it in {}",
                    f.name, doc.name
                );
                assert!(f.directives.get("idempotent").is_none(), "{}", doc.name);
            }
        }
    }
    assert_eq!(seen, 8);
}

// ------------------------------------------------------------------------------ captures

use serde::de::DeserializeOwned;
use serde_json::Value;
use shopsync_domain::catalog::{BulkMutationStart, UploadMethod};
use shopsync_shopify::catalog::{
    BulkOperationRunMutationData, BulkResultLine, MediaNode, MediaReplaceData, ProductSetPayload,
    StagedUploadsCreateData, VariantPricesUpdateData, bulk_mutation_start, media_replace_outcome,
    staged_uploads_outcome, variant_prices_outcome,
};
use shopsync_shopify::response::{GraphQlResponse, Verdict};
use shopsync_shopify::wire::UserError;

/// The capture files of the catalogue domains, parsed once; `None` when absent.
fn captures() -> Option<&'static [(String, Value)]> {
    static ALL: OnceLock<Option<Vec<(String, Value)>>> = OnceLock::new();
    ALL.get_or_init(|| {
        let mut out = Vec::new();
        for domain in ["products", "media", "bulk-operations"] {
            let dir = reference(&format!("captures/{domain}"));
            let Ok(files) = std::fs::read_dir(&dir) else {
                eprintln!(
                    "SKIPPED: captures {} not found (reference data absent)",
                    dir.display()
                );
                return None;
            };
            for f in files {
                let f = f.unwrap().path();
                if f.extension().is_some_and(|e| e == "json") {
                    let v = serde_json::from_slice(&std::fs::read(&f).unwrap()).expect("JSON");
                    out.push((
                        format!("{domain}/{}", f.file_name().unwrap().to_string_lossy()),
                        v,
                    ));
                }
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Some(out)
    })
    .as_deref()
}

/// Recorded answer envelopes (objects of only `data`/`errors`/`extensions`) in a capture.
fn answers(v: &Value, at: String, out: &mut Vec<(String, Value)>) {
    match v {
        Value::Object(map) => {
            if (map.contains_key("data") || map.contains_key("errors"))
                && map
                    .keys()
                    .all(|k| matches!(k.as_str(), "data" | "errors" | "extensions"))
            {
                out.push((at.clone(), v.clone()));
            }
            for (k, x) in map {
                answers(x, format!("{at}/{k}"), out);
            }
        }
        Value::Array(items) => {
            for (i, x) in items.iter().enumerate() {
                answers(x, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

fn each_answer(mut f: impl FnMut(&str, &GraphQlResponse, &serde_json::Map<String, Value>)) {
    let Some(files) = captures() else { return };
    for (file, capture) in files {
        let mut found = Vec::new();
        answers(capture, String::new(), &mut found);
        for (at, v) in found {
            let r = GraphQlResponse::<Value>::parse(&serde_json::to_vec(&v).unwrap())
                .unwrap_or_else(|e| panic!("{file}{at}: {e}"));
            if let Some(Value::Object(data)) = &r.data {
                f(&format!("{file}{at}"), &r, data);
            }
        }
    }
}

fn typed<D: DeserializeOwned>(whence: &str, v: &Value) -> D {
    serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("{whence}: {e}"))
}

fn has(v: &Value, keys: &[&str]) -> bool {
    v.as_object()
        .is_some_and(|m| keys.iter().all(|k| m.contains_key(*k)))
}

/// Every recorded catalogue mutation payload decodes as our shape and reads into the domain's
/// outcome, `userErrors` (with their codes) included, wherever the recording selected at least
/// what our document selects.
#[test]
fn recorded_catalog_mutation_answers_decode_as_our_shapes() {
    if captures().is_none() {
        return;
    }
    let mut counts = std::collections::BTreeMap::<&str, usize>::new();
    let mut busy = 0;
    let mut rejected_codes = std::collections::BTreeSet::new();
    let mut targets = 0;
    each_answer(|whence, r, data| {
        let _ = r.verdict();
        if let Some(p) = data.get("productSet").filter(|p| p.is_object()) {
            let errors: Vec<UserError> = typed(whence, &p["userErrors"]);
            let product = &p["product"];
            if product.is_null() || has(product, &["id", "handle", "updatedAt", "variants"]) {
                let _: ProductSetPayload = typed(whence, p);
            }
            for e in &errors {
                assert!(!e.message.is_empty(), "{whence}");
            }
            *counts.entry("productSet").or_default() += 1;
        }
        if let Some(p) = data.get("stagedUploadsCreate").filter(|p| p.is_object()) {
            let d: StagedUploadsCreateData = typed(whence, &Value::Object(data.clone()));
            let n = p["stagedTargets"].as_array().map_or(0, Vec::len);
            let all_have_url = p["stagedTargets"]
                .as_array()
                .is_some_and(|t| t.iter().all(|t| t["url"].is_string()));
            if all_have_url {
                let o = staged_uploads_outcome(d, &vec![UploadMethod::Post; n])
                    .unwrap_or_else(|e| panic!("{whence}: {e}"));
                targets += o.targets.len();
            }
            *counts.entry("stagedUploadsCreate").or_default() += 1;
        }
        if let Some(p) = data
            .get("bulkOperationRunMutation")
            .filter(|p| p.is_object())
        {
            let op = &p["bulkOperation"];
            if op.is_null() || has(op, &["id", "status"]) {
                let d: BulkOperationRunMutationData = typed(whence, &Value::Object(data.clone()));
                match bulk_mutation_start(d).unwrap_or_else(|e| panic!("{whence}: {e}")) {
                    BulkMutationStart::Started { id } => {
                        assert!(id.starts_with("gid://shopify/BulkOperation/"), "{whence}")
                    }
                    BulkMutationStart::Busy(_) => busy += 1,
                    BulkMutationStart::Rejected { code, .. } => {
                        rejected_codes.insert(code.unwrap_or_default());
                    }
                }
                *counts.entry("bulkOperationRunMutation").or_default() += 1;
            }
        }
        if let Some(p) = data.get("fileUpdate").filter(|p| p.is_object()) {
            let ours = p["files"]
                .as_array()
                .is_none_or(|f| f.iter().all(|f| has(f, &["id", "fileStatus"])));
            if ours {
                let d: MediaReplaceData = typed(whence, &Value::Object(data.clone()));
                media_replace_outcome(d).unwrap();
                *counts.entry("fileUpdate").or_default() += 1;
            }
        }
        if let Some(p) = data
            .get("productVariantsBulkUpdate")
            .filter(|p| p.is_object())
        {
            let ours = p["productVariants"]
                .as_array()
                .is_none_or(|v| v.iter().all(|v| has(v, &["id", "price"])));
            let product_ok = p
                .get("product")
                .is_none_or(|x| x.is_null() || has(x, &["id"]));
            if ours && product_ok {
                let d: VariantPricesUpdateData = typed(whence, &Value::Object(data.clone()));
                variant_prices_outcome(d).unwrap();
                *counts.entry("productVariantsBulkUpdate").or_default() += 1;
            }
        }
    });
    eprintln!("decoded: {counts:?}, busy {busy}, rejected {rejected_codes:?}, {targets} targets");
    for (root, at_least) in [
        ("productSet", 5),
        ("stagedUploadsCreate", 20),
        ("bulkOperationRunMutation", 20),
        ("fileUpdate", 10),
        ("productVariantsBulkUpdate", 1),
    ] {
        assert!(
            counts.get(root).copied().unwrap_or(0) >= at_least,
            "{root}: {counts:?}"
        );
    }
    assert!(busy >= 1, "the concurrency-limit capture reads as Busy");
    assert!(
        rejected_codes.contains("NO_SUCH_FILE"),
        "{rejected_codes:?}"
    );
    assert!(targets >= 10);
}

fn capture(rel: &str) -> Option<Value> {
    let path = reference(&format!("captures/{rel}"));
    match std::fs::read(&path) {
        Ok(b) => Some(serde_json::from_slice(&b).expect("JSON")),
        Err(_) => {
            eprintln!(
                "SKIPPED: capture {} not found (reference data absent)",
                path.display()
            );
            None
        }
    }
}

fn data_of<D: DeserializeOwned>(envelope: &Value, document: &str) -> (GraphQlResponse, D) {
    let r = GraphQlResponse::<Value>::parse(&serde_json::to_vec(envelope).unwrap()).unwrap();
    let d = r
        .data_as::<D>(document)
        .unwrap_or_else(|e| panic!("{document}: {e}"));
    (r, d)
}

/// `productSet` with both `input.id` and an identifier is refused with a typed user error, as
/// data (not a top-level error), at the recorded cost of 10.
#[test]
fn product_set_refusal_is_a_user_error() {
    let Some(c) = capture("products/product-set-id-not-allowed.json") else {
        return;
    };
    let (r, d) = data_of::<shopsync_shopify::catalog::ProductSetData>(
        &c["idNotAllowed"]["response"],
        "ProductSet",
    );
    assert_eq!(r.verdict(), Verdict::Ok);
    assert_eq!(r.cost.unwrap().requested, Some(10.0));
    let p = d.product_set.unwrap();
    assert!(p.product.is_none());
    let e = &p.user_errors[0];
    assert_eq!(e.code.as_deref(), Some("ID_NOT_ALLOWED"));
    assert_eq!(e.field.as_deref(), Some(&["input".to_string()][..]));
}

/// Image targets (PUT, the default method) carry a signed `url`, the `resourceUrl` to attach and
/// `content_type`/`acl` parameters that become headers of the PUT; bulk variables targets (POST)
/// carry the form fields, `key` among them, which is the `stagedUploadPath`.
#[test]
fn staged_upload_targets_read_as_the_domain_target() {
    let Some(c) = capture("media/media-staged-uploads-create-default-http-method.json") else {
        return;
    };
    let (r, d) = data_of::<StagedUploadsCreateData>(
        &c["cases"][0]["response"]["payload"],
        "StagedUploadsCreate",
    );
    assert_eq!(r.verdict(), Verdict::Ok);
    let o = staged_uploads_outcome(d, &[UploadMethod::Put, UploadMethod::Put]).unwrap();
    assert_eq!(o.targets.len(), 2);
    let t = &o.targets[0];
    assert!(t.url.contains("default-method-image.png?X-Goog-Algorithm="));
    assert!(
        t.resource_url
            .as_deref()
            .unwrap()
            .ends_with("/default-method-image.png")
    );
    assert_eq!(t.parameter("content_type"), Some("image/png"));
    assert_eq!(t.parameter("acl"), Some("private"));
    assert_eq!(t.staged_upload_path(), None);

    let Some(c) = capture("bulk-operations/bulk-operation-run-mutation-user-errors.json") else {
        return;
    };
    let (r, d) = data_of::<StagedUploadsCreateData>(
        &c["setup"]["stagedUploadTarget"]["response"],
        "StagedUploadsCreate",
    );
    assert_eq!(r.cost.unwrap().requested, Some(11.0), "as annotated");
    // This recording selected only `parameters`: no url, so it is no usable target.
    assert!(staged_uploads_outcome(d.clone(), &[UploadMethod::Post]).is_err());
    let p = d.staged_uploads_create.unwrap();
    let key = p.staged_targets.unwrap()[0]
        .parameters
        .iter()
        .find(|p| p.name == "key")
        .map(|p| p.value.clone())
        .unwrap();
    assert!(
        key.starts_with("tmp/") && key.ends_with("/har-725-missing.jsonl"),
        "{key}"
    );
}

/// The recorded bulk mutation result files: every line is `{"data": …, "__lineNumber": n}`.
#[test]
fn recorded_bulk_mutation_results_decode() {
    let mut lines = 0;
    for rel in [
        "bulk-operations/bulk-operation-run-mutation-allowed-roots.json",
        "bulk-operations/bulk-operation-run-mutation-created-status.json",
    ] {
        let Some(c) = capture(rel) else { return };
        let mut bodies = Vec::new();
        fn walk(v: &Value, out: &mut Vec<String>) {
            match v {
                Value::Object(m) => {
                    if let Some(Value::String(b)) = m.get("body")
                        && b.contains("__lineNumber")
                    {
                        out.push(b.clone());
                    }
                    m.values().for_each(|x| walk(x, out));
                }
                Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
                _ => {}
            }
        }
        walk(&c, &mut bodies);
        assert!(!bodies.is_empty(), "{rel}");
        for body in bodies {
            for l in body.lines().filter(|l| !l.trim().is_empty()) {
                let line: BulkResultLine =
                    serde_json::from_str(l).unwrap_or_else(|e| panic!("{rel}: {e}"));
                assert!(line.data.is_some() || line.errors.is_some(), "{rel}");
                lines += 1;
            }
        }
    }
    assert!(lines >= 2, "{lines}");
}

/// Every recorded `MediaImage` with at least our `id status` (and `alt`/`image` when recorded)
/// decodes as our media node.
#[test]
fn recorded_media_images_decode() {
    let Some(files) = captures() else { return };
    fn walk(v: &Value, out: &mut Vec<Value>) {
        match v {
            Value::Object(m) => {
                if m.get("id")
                    .and_then(Value::as_str)
                    .is_some_and(|id| id.starts_with("gid://shopify/MediaImage/"))
                    && m.contains_key("status")
                {
                    out.push(v.clone());
                }
                m.values().for_each(|x| walk(x, out));
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    for (_, c) in files {
        walk(c, &mut found);
    }
    for m in &found {
        let node: MediaNode =
            serde_json::from_value(m.clone()).unwrap_or_else(|e| panic!("{m}: {e}"));
        assert!(
            ["UPLOADED", "PROCESSING", "READY", "FAILED"].contains(&node.status.as_str()),
            "{m}"
        );
    }
    eprintln!("{} recorded media images decoded", found.len());
    assert!(found.len() >= 5, "{}", found.len());
}
