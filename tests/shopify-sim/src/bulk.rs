//! Bulk query operations: `bulkOperationRunQuery`, status polling, cancel, JSONL result files.
//!
//! Large reads (50,000 variants) go through bulk operations in the sync, so the simulator
//! enforces Shopify's bulk query rules (edges > node only, 1..=5 connections, nesting depth
//! at most 2, nested parents select `id`, no top-level `node`), the limit of five concurrent
//! query operations per shop, and writes the JSONL exactly as Shopify does: one object per
//! line, nested connection rows flattened with `__parentId`, parents before children. The
//! snapshot is taken when the operation completes (after `bulk_completion_delay` simulated time).

use apollo_compiler::ast::{self, Definition, Selection};
use serde_json::{Map, Value as Json};

use crate::exec::{Env, Exec, Obj, R, new_bulk_op};
use crate::gql::Doc;
use crate::inventory::UserErr;
use crate::schema::{FK, N, T, field as schema_field};
use crate::store::{BulkStatus, GID_BULK, StoreData, parse_gid};
use crate::validate::Validator;

/// Concurrent query bulk operations allowed per shop (API >= 2026-01).
pub(crate) const MAX_CONCURRENT: usize = 5;
const MAX_CONNECTIONS: usize = 5;
const MAX_DEPTH: usize = 2;

fn invalid(message: impl Into<String>) -> UserErr {
    UserErr {
        field: Some(vec!["query".into()]),
        message: message.into(),
        code: Some("INVALID".into()),
    }
}

/// Validates and registers a bulk query. Returns the operation index or user errors.
pub(crate) fn run_query(
    st: &mut StoreData,
    query: &str,
    env: &Env<'_>,
) -> (Option<usize>, Vec<UserErr>) {
    if let Err(e) = check_query(query) {
        return (None, vec![e]);
    }
    let active = st.active_bulk_query_ops();
    if active.len() >= MAX_CONCURRENT {
        let ids: Vec<String> = active.iter().map(|id| format!("{GID_BULK}{id}")).collect();
        return (
            None,
            vec![UserErr {
                field: None,
                message: format!(
                    "A bulk query operation for this app and shop is already in progress: {}.",
                    ids.join(", ")
                ),
                code: Some("OPERATION_IN_PROGRESS".into()),
            }],
        );
    }
    (Some(new_bulk_op(st, query, env)), Vec::new())
}

fn check_query(query: &str) -> Result<(), UserErr> {
    let document = match ast::Document::parse(query, "bulk.graphql") {
        Ok(d) => d,
        Err(e) => {
            let msg = e
                .errors
                .iter()
                .next()
                .map(|d| d.error.to_string())
                .unwrap_or_else(|| "unexpected end of file".into());
            return Err(invalid(format!("Invalid bulk query: syntax error, {msg}")));
        }
    };
    let ops: Vec<_> = document
        .definitions
        .iter()
        .filter_map(|d| match d {
            Definition::OperationDefinition(o) => Some(o),
            _ => None,
        })
        .collect();
    let Some(op) = ops.first() else {
        return Err(invalid("Invalid bulk query: no operation found"));
    };
    if op.operation_type != ast::OperationType::Query {
        return Err(invalid(
            "Invalid operation type. Only `query` operations are supported.",
        ));
    }
    let doc = Doc::new(&document, op);
    let mut v = Validator::new(&doc);
    v.bulk = true;
    v.selection(T::Query, &op.selection_set, &mut Vec::new());
    if let Some(e) = v.errors.first() {
        let msg = e["message"]
            .as_str()
            .unwrap_or("Invalid bulk query")
            .to_string();
        return Err(invalid(msg));
    }
    let roots = doc.collect(T::Query, &[&op.selection_set[..]]);
    if roots
        .iter()
        .any(|(_, fs)| matches!(fs[0].name.as_str(), "node" | "nodes"))
    {
        return Err(invalid(
            "Bulk queries cannot contain a top level `node` field.",
        ));
    }
    let mut stats = ConnStats::default();
    walk(&doc, T::Query, &[&op.selection_set[..]], 0, &mut stats);
    if !stats.via_nodes.is_empty() {
        return Err(invalid(format!(
            "All connection fields in a bulk query must select their contents using 'edges' > 'node', e.g: '{0} {{ edges {{ node {{'. Selecting via 'nodes' is not supported. Invalid connection fields: '{0}'.",
            stats.via_nodes.join("', '")
        )));
    }
    if stats.count == 0 {
        return Err(invalid(
            "Bulk queries must contain at least one connection.",
        ));
    }
    if stats.max_depth > MAX_DEPTH {
        return Err(invalid(format!(
            "Bulk queries cannot contain connections with a nesting depth greater than {MAX_DEPTH}."
        )));
    }
    if stats.count > MAX_CONNECTIONS {
        return Err(invalid(format!(
            "Bulk queries cannot contain more than {MAX_CONNECTIONS} connections."
        )));
    }
    if !stats.parents_without_id.is_empty() {
        return Err(invalid(format!(
            "The parent 'node' field for a nested connection must select the 'id' field without an alias and must be of 'ID' return type. Connection fields without 'id': {}.",
            stats.parents_without_id.join(", ")
        )));
    }
    Ok(())
}

#[derive(Default)]
struct ConnStats {
    count: usize,
    max_depth: usize,
    via_nodes: Vec<String>,
    parents_without_id: Vec<String>,
}

fn selects_plain_id(doc: &Doc<'_>, t: T, sels: &[&[Selection]]) -> bool {
    doc.collect(t, sels)
        .iter()
        .any(|(k, fs)| k == "id" && fs[0].name == "id" && fs[0].alias.is_none())
}

/// Counts connections and their depth below type `t`.
fn walk(doc: &Doc<'_>, t: T, sels: &[&[Selection]], depth: usize, out: &mut ConnStats) {
    for (_, fs) in doc.collect(t, sels) {
        let f = fs[0];
        let Some((kind, _)) = schema_field(t, f.name.as_str()) else {
            continue;
        };
        let children: Vec<&[Selection]> = fs.iter().map(|f| &f.selection_set[..]).collect();
        match kind {
            FK::Conn(n) => {
                out.count += 1;
                out.max_depth = out.max_depth.max(depth + 1);
                let conn = doc.collect(T::Conn(n), &children);
                if conn.iter().any(|(_, cf)| cf[0].name == "nodes") {
                    out.via_nodes.push(f.name.to_string());
                }
                for (_, ef) in conn.iter().filter(|(_, cf)| cf[0].name == "edges") {
                    let edge_sels: Vec<&[Selection]> =
                        ef.iter().map(|f| &f.selection_set[..]).collect();
                    for (_, nf) in doc
                        .collect(T::Edge(n), &edge_sels)
                        .iter()
                        .filter(|(_, x)| x[0].name == "node")
                    {
                        let node_sels: Vec<&[Selection]> =
                            nf.iter().map(|f| &f.selection_set[..]).collect();
                        let nt = n.node_type();
                        if has_nested_conn(doc, nt, &node_sels)
                            && !selects_plain_id(doc, nt, &node_sels)
                        {
                            out.parents_without_id.push(f.name.to_string());
                        }
                        walk(doc, nt, &node_sels, depth + 1, out);
                    }
                }
            }
            FK::Obj(ct) | FK::List(ct) => walk(doc, ct, &children, depth, out),
            FK::Scalar => {}
        }
    }
}

fn has_nested_conn(doc: &Doc<'_>, t: T, sels: &[&[Selection]]) -> bool {
    doc.collect(t, sels)
        .iter()
        .any(|(_, fs)| matches!(schema_field(t, fs[0].name.as_str()), Some((FK::Conn(_), _))))
}

/// `bulkOperationCancel(id:)`.
pub(crate) fn cancel(
    st: &mut StoreData,
    id: &str,
) -> (Option<(usize, Option<BulkStatus>)>, Vec<UserErr>) {
    let idx = parse_gid(GID_BULK, id).and_then(|n| st.bulk_index(n as u64 + 1));
    let Some(i) = idx else {
        return (
            None,
            vec![UserErr {
                field: Some(vec!["id".into()]),
                message: "Bulk operation does not exist".into(),
                code: None,
            }],
        );
    };
    let op = &mut st.bulk_ops[i];
    if !op.status.is_active() {
        let status = op.status.as_str().to_ascii_lowercase();
        return (
            Some((i, None)),
            vec![UserErr {
                field: None,
                message: format!("A bulk operation cannot be canceled when it is {status}"),
                code: None,
            }],
        );
    }
    // The answer shows CANCELING; the operation is CANCELED from then on.
    op.status = BulkStatus::Canceled;
    (Some((i, Some(BulkStatus::Canceling))), Vec::new())
}

/// Scalar fields of `BulkOperation`.
pub(crate) fn field(
    st: &StoreData,
    i: usize,
    over: Option<BulkStatus>,
    name: &str,
    env: &Env<'_>,
) -> Json {
    let op = &st.bulk_ops[i];
    let status = over.unwrap_or(match op.status {
        BulkStatus::Created if env.request_number != op.created_by_request => BulkStatus::Running,
        s => s,
    });
    let s = |x: String| Json::String(x);
    match name {
        "id" => s(format!("{GID_BULK}{}", op.id)),
        "status" => s(status.as_str().into()),
        "errorCode" => Json::Null,
        "createdAt" => s(env.clock.iso(op.created_at)),
        "completedAt" => op
            .completed_at
            .map(|t| s(env.clock.iso(t)))
            .unwrap_or(Json::Null),
        "objectCount" => s(op.object_count.to_string()),
        "rootObjectCount" => s(op.root_object_count.to_string()),
        "fileSize" => op.file_size.map(|n| s(n.to_string())).unwrap_or(Json::Null),
        "url" => op.url.clone().map(s).unwrap_or(Json::Null),
        "partialDataUrl" => Json::Null,
        "type" => s("QUERY".into()),
        "query" => s(op.query.clone()),
        _ => Json::Null,
    }
}

/// Output of a completed bulk query.
pub(crate) struct BulkFile {
    pub jsonl: String,
    pub objects: u64,
    pub roots: u64,
}

/// Runs the (already validated) bulk query over the whole store.
pub(crate) fn generate(st: &mut StoreData, query: &str, env: &Env<'_>) -> BulkFile {
    let mut file = BulkFile {
        jsonl: String::new(),
        objects: 0,
        roots: 0,
    };
    let Ok(document) = ast::Document::parse(query, "bulk.graphql") else {
        return file;
    };
    let Some(op) = document.definitions.iter().find_map(|d| match d {
        Definition::OperationDefinition(o) => Some(o),
        _ => None,
    }) else {
        return file;
    };
    let doc = Doc::new(&document, op);
    let mut ex = Exec::new(&doc, st, env);
    ex.unbounded = true;
    let roots = doc.collect(T::Query, &[&op.selection_set[..]]);
    for (_, fs) in roots {
        let f = fs[0];
        let Some((FK::Conn(n), _)) = schema_field(T::Query, f.name.as_str()) else {
            continue;
        };
        let children: Vec<&[Selection]> = fs.iter().map(|f| &f.selection_set[..]).collect();
        let Some(items) = conn_items(&mut ex, &Obj::Query, f) else {
            continue;
        };
        for item in items {
            file.roots += 1;
            emit(&mut ex, &doc, n, &item, &children, None, &mut file);
        }
    }
    file
}

fn conn_items(
    ex: &mut Exec<'_, '_, '_, '_>,
    parent: &Obj,
    f: &apollo_compiler::Node<ast::Field>,
) -> Option<Vec<Obj>> {
    match ex.resolve(parent, f) {
        Ok(R::Page(p)) => Some(p.items.clone()),
        _ => None,
    }
}

/// Writes `item` (one node of connection `n`) and, after it, the rows of its nested
/// connections with `__parentId`.
fn emit<'a>(
    ex: &mut Exec<'_, 'a, '_, '_>,
    doc: &Doc<'a>,
    n: N,
    item: &Obj,
    conn_sels: &[&'a [Selection]],
    parent_id: Option<&str>,
    file: &mut BulkFile,
) {
    // conn { edges { node { ... } } }
    let mut node_sels: Vec<&'a [Selection]> = Vec::new();
    for (_, ef) in doc.collect(T::Conn(n), conn_sels) {
        if ef[0].name != "edges" {
            continue;
        }
        let edge_sels: Vec<&'a [Selection]> = ef.iter().map(|f| &f.selection_set[..]).collect();
        for (_, nf) in doc.collect(T::Edge(n), &edge_sels) {
            if nf[0].name == "node" {
                node_sels.extend(nf.iter().map(|f| &f.selection_set[..]));
            }
        }
    }
    let (value, _) = ex.complete(item, &node_sels, &mut Vec::new());
    let mut row = match value {
        Json::Object(m) => m,
        _ => Map::new(),
    };
    if let Some(p) = parent_id {
        row.insert("__parentId".into(), Json::String(p.to_string()));
    }
    // Validation guarantees that a parent of a nested connection selects `id`.
    let my_id = row.get("id").and_then(|v| v.as_str()).map(str::to_string);
    file.jsonl.push_str(&Json::Object(row).to_string());
    file.jsonl.push('\n');
    file.objects += 1;

    let nt = n.node_type();
    for (_, fs) in doc.collect(nt, &node_sels) {
        let f = fs[0];
        let Some((FK::Conn(cn), _)) = schema_field(nt, f.name.as_str()) else {
            continue;
        };
        let children: Vec<&'a [Selection]> = fs.iter().map(|f| &f.selection_set[..]).collect();
        let Some(items) = conn_items(ex, item, f) else {
            continue;
        };
        for child in items {
            emit(ex, doc, cn, &child, &children, my_id.as_deref(), file);
        }
    }
}
