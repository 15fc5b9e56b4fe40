//! OData JSON `$batch` (`POST …/api/v2.0/$batch`, `{"requests":[{id, method, url, headers, body,
//! dependsOn}]}` → `{"responses":[{id, status, headers, body}]}`), at most 100 operations, as BC online
//! takes it.
//!
//! Without `Isolation: snapshot` every operation runs on its own, in order; one whose `dependsOn` names a
//! failed operation is answered 424 without running. With `Isolation: snapshot` the batch is one
//! transaction: the operations run under one lock of their company (the simulator requires them to
//! address one company), and when one fails the company is restored to its state before the batch and
//! the `$batch` request itself is answered with that operation's status and error body. (BC documents
//! that everything is rolled back; how it reports the failure is not documented, and answering with the
//! failure leaves no way to mistake a rolled-back operation for a done one.)
//!
//! Operation bodies are passed on byte for byte, so decimals keep their text as in a single request.

// Route helpers return ready-made error responses as `Err`.
#![allow(clippy::result_large_err)]

use crate::api::{Ctx, companies_of, company_route, find_company, method_not_allowed, split_key};
use crate::lock;
use crate::respond::{bc_error, json_with};
use crate::text::{parse_pairs, pct_decode, pct_encode};
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashSet};

/// BC online's limit on operations per batch.
pub(crate) const MAX_OPERATIONS: usize = 100;
const MAX_OPERATION_ANSWER: usize = 16 * 1024 * 1024;

#[derive(Deserialize)]
struct BatchBody {
    requests: Vec<Operation>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Operation {
    id: String,
    method: String,
    url: String,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    body: Option<Box<RawValue>>,
    #[serde(default)]
    depends_on: Vec<String>,
    #[serde(default)]
    atomicity_group: Option<String>,
}

fn bad(message: &str) -> Response {
    bc_error(StatusCode::BAD_REQUEST, "BadRequest", message)
}

/// An operation's URL relative to `…/api/v2.0/`: absolute on this server, absolute path, or relative.
fn relative_url(ctx: &Ctx<'_>, url: &str) -> Option<String> {
    let api_path = format!(
        "/v2.0/{}/{}/api/v2.0/",
        pct_encode(&ctx.tenant),
        pct_encode(&ctx.env)
    );
    if let Some(rest) = url.strip_prefix(&ctx.shared.base_url) {
        return rest.strip_prefix(&api_path).map(str::to_string);
    }
    if url.starts_with('/') {
        return url.strip_prefix(&api_path).map(str::to_string);
    }
    if url.contains("://") {
        return None;
    }
    Some(url.to_string())
}

/// The context of one operation.
fn operation_ctx<'a>(ctx: &Ctx<'a>, op: &Operation) -> Result<(Ctx<'a>, Vec<String>), Response> {
    let method = Method::from_bytes(op.method.to_ascii_uppercase().as_bytes())
        .map_err(|_| bad(&format!("Operation '{}': bad method.", op.id)))?;
    let rel = relative_url(ctx, &op.url).ok_or_else(|| {
        bad(&format!(
            "Operation '{}': the URL is not on this service.",
            op.id
        ))
    })?;
    let (path, query) = rel.split_once('?').unwrap_or((&rel, ""));
    let segs: Vec<String> = path.split('/').map(pct_decode).collect();
    let mut headers = HeaderMap::new();
    for (k, v) in &op.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(k.to_ascii_lowercase().as_bytes()),
            HeaderValue::from_str(v),
        ) {
            headers.insert(name, value);
        }
    }
    let body = op
        .body
        .as_ref()
        .map(|b| Bytes::copy_from_slice(b.get().as_bytes()))
        .unwrap_or_default();
    let sub = Ctx {
        shared: ctx.shared,
        tenant: ctx.tenant.clone(),
        env: ctx.env.clone(),
        raw_path: format!(
            "/v2.0/{}/{}/api/v2.0/{path}",
            pct_encode(&ctx.tenant),
            pct_encode(&ctx.env)
        ),
        pairs: parse_pairs(query),
        headers,
        method,
        body,
    };
    Ok((sub, segs))
}

pub(crate) async fn handle(ctx: &Ctx<'_>) -> Response {
    if ctx.method != Method::POST {
        return method_not_allowed(&ctx.method);
    }
    let batch: BatchBody = match serde_json::from_slice(&ctx.body) {
        Ok(b) => b,
        Err(e) => return bad(&format!("The batch request body is not valid: {e}")),
    };
    if batch.requests.len() > MAX_OPERATIONS {
        return bad(&format!(
            "The batch has {} operations; at most {MAX_OPERATIONS} are allowed.",
            batch.requests.len()
        ));
    }
    let mut ids = HashSet::new();
    for op in &batch.requests {
        if !ids.insert(op.id.as_str()) {
            return bad(&format!("The operation id '{}' is used twice.", op.id));
        }
        if op.atomicity_group.is_some() {
            return bad("atomicityGroup is not supported; use the Isolation: snapshot header.");
        }
    }
    lock(&ctx.shared.stats).batch_operations += batch.requests.len() as u64;
    let snapshot = ctx
        .header(HeaderName::from_static("isolation"))
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("snapshot"));
    let answers = if snapshot {
        match run_snapshot(ctx, &batch.requests) {
            Ok(answers) => answers,
            Err(failed) => return failed,
        }
    } else {
        run_each(ctx, &batch.requests)
    };
    let mut responses = Vec::with_capacity(answers.len());
    for (id, response) in answers {
        let status = response.status().as_u16();
        let mut headers = Map::new();
        for (k, v) in response.headers() {
            if let Ok(v) = v.to_str() {
                headers.insert(k.as_str().to_string(), Value::String(v.to_string()));
            }
        }
        let bytes = axum::body::to_bytes(response.into_body(), MAX_OPERATION_ANSWER)
            .await
            .unwrap_or_default();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        let mut entry = json!({"id": id, "status": status, "headers": headers});
        if !body.is_null() {
            entry["body"] = body;
        }
        responses.push(entry);
    }
    json_with(StatusCode::OK, &json!({"responses": responses}), &[])
}

fn ok(r: &Response) -> bool {
    r.status().is_success()
}

/// Each operation on its own.
fn run_each(ctx: &Ctx<'_>, ops: &[Operation]) -> Vec<(String, Response)> {
    let mut failed: HashSet<&str> = HashSet::new();
    let mut answers = Vec::with_capacity(ops.len());
    for op in ops {
        let response = if op.depends_on.iter().any(|d| failed.contains(d.as_str())) {
            bc_error(
                StatusCode::FAILED_DEPENDENCY,
                "BadRequest_FailedDependency",
                &format!("Operation '{}' depends on an operation that failed.", op.id),
            )
        } else {
            match operation_ctx(ctx, op) {
                Ok((sub, segs)) => crate::api::route(&sub, &api_rest(&segs)),
                Err(r) => r,
            }
        };
        if !ok(&response) {
            failed.insert(&op.id);
        }
        answers.push((op.id.clone(), response));
    }
    answers
}

/// `["api", "v2.0", <segments>…]`: the shape [`crate::api::route`] takes.
fn api_rest(segs: &[String]) -> Vec<String> {
    let mut rest = vec!["api".to_string(), "v2.0".to_string()];
    rest.extend(segs.iter().cloned());
    rest
}

/// All operations as one transaction on one company: the answers, or the failed operation's answer
/// after the company was restored.
fn run_snapshot(ctx: &Ctx<'_>, ops: &[Operation]) -> Result<Vec<(String, Response)>, Response> {
    let mut prepared = Vec::with_capacity(ops.len());
    let mut company_key: Option<String> = None;
    for op in ops {
        let (sub, segs) = operation_ctx(ctx, op)?;
        let key = match segs.first().map(|s| split_key(s)) {
            Some(("companies", Some(k))) => k.to_string(),
            _ => {
                return Err(bad(
                    "The simulator runs an Isolation: snapshot batch within one company: every operation must address companies(<id>)/….",
                ));
            }
        };
        if company_key.as_ref().is_some_and(|c| *c != key) {
            return Err(bad(
                "The simulator runs an Isolation: snapshot batch within one company.",
            ));
        }
        company_key = Some(key);
        prepared.push((op.id.clone(), sub, segs));
    }
    let Some(key) = company_key else {
        return Ok(Vec::new());
    };
    let handle = find_company(&companies_of(ctx), &key)?;
    let mut company = handle.lock();
    let before = company.clone();
    let mut answers = Vec::with_capacity(prepared.len());
    for (id, sub, segs) in &prepared {
        let response = company_route(sub, &mut company, &segs[1..]);
        if !ok(&response) {
            *company = before;
            return Err(response);
        }
        answers.push((id.clone(), response));
    }
    Ok(answers)
}
