//! HTTP layer: routing, authentication, fault injection, the bucket, and response shapes.
//!
//! Dropped connections are produced below HTTP: every accepted socket is wrapped in a
//! [`KillableStream`] whose switch the handler can flip; once flipped, writes fail, hyper
//! closes the socket, and the client sees a transport error instead of a response — exactly
//! what a load balancer reset looks like to the sync.

use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::task::{Context, Poll};

use apollo_compiler::ast::{self, Definition};
use axum::Router;
use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::extract::connect_info::Connected;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::serve::{IncomingStream, Listener};
use serde_json::{Map, Value as Json, json};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

use crate::clock::SimClock;
use crate::exec::{Env, Exec};
use crate::faults::{FaultKind, FaultState, SLOW_DELAY, STALL_DELAY};
use crate::gql::{Doc, error};
use crate::schema::T;
use crate::store::StoreData;
use crate::validate::Validator;
use crate::{SimConfig, SimStats, bulk, cost, inventory};

/// API versions the simulator answers (others get 404).
pub const SUPPORTED_VERSIONS: &[&str] = &["2026-04", "2026-07"];

pub(crate) type StoreRef = Arc<Mutex<StoreData>>;

pub(crate) struct Shared {
    pub cfg: SimConfig,
    pub clock: SimClock,
    pub base_url: String,
    pub stores: RwLock<HashMap<String, StoreRef>>,
    pub faults: Mutex<FaultState>,
    pub stats: Mutex<SimStats>,
    pub bulk_files: Mutex<HashMap<u64, Arc<String>>>,
    pub bulk_ids: AtomicU64,
    pub request_numbers: AtomicU64,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

// ---------------------------------------------------------------- killable connections

pub(crate) struct KillableListener(pub TcpListener);

pub(crate) struct KillableStream {
    inner: TcpStream,
    kill: Arc<AtomicBool>,
}

impl Listener for KillableListener {
    type Io = KillableStream;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.0.accept().await {
                Ok((s, a)) => {
                    let _ = s.set_nodelay(true);
                    return (
                        KillableStream {
                            inner: s,
                            kill: Arc::new(AtomicBool::new(false)),
                        },
                        a,
                    );
                }
                Err(e) => {
                    tracing::debug!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

impl AsyncRead for KillableStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.kill.load(Ordering::SeqCst) {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for KillableStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.kill.load(Ordering::SeqCst) {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "connection dropped by fault injection",
            )));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Handle on the current connection, available to handlers.
#[derive(Clone)]
pub(crate) struct ConnCtl(Arc<AtomicBool>);

impl ConnCtl {
    fn drop_connection(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

impl Connected<IncomingStream<'_, KillableListener>> for ConnCtl {
    fn connect_info(stream: IncomingStream<'_, KillableListener>) -> Self {
        ConnCtl(stream.io().kill.clone())
    }
}

// ---------------------------------------------------------------- routes

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/{shop}/admin/api/{version}/graphql.json", post(graphql))
        .route("/bulk-results/{file}", get(bulk_file))
        .route(
            "/staged-uploads/{*key}",
            put(crate::catalog::staged_put)
                .get(crate::catalog::staged_get)
                .layer(DefaultBodyLimit::max(STAGED_UPLOAD_MAX_BYTES)),
        )
        .route(
            "/staged-uploads/",
            post(crate::catalog::staged_post).layer(DefaultBodyLimit::max(STAGED_UPLOAD_MAX_BYTES)),
        )
        .with_state(shared)
}

/// What a staged upload may hold: Shopify takes a bulk mutation's variables file up to 100 MB (since
/// 2026-01), not axum's default 2 MB body limit (a 2,000-product `productSet` file is larger).
const STAGED_UPLOAD_MAX_BYTES: usize = 100 * 1024 * 1024;

fn json_response(status: StatusCode, body: &Json) -> Response {
    let mut r = (status, body.to_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    r
}

fn not_found() -> Response {
    json_response(StatusCode::NOT_FOUND, &json!({"errors": "Not Found"}))
}

async fn bulk_file(State(shared): State<Arc<Shared>>, Path(file): Path<String>) -> Response {
    let id = file
        .strip_suffix(".jsonl")
        .and_then(|n| n.parse::<u64>().ok());
    let content = id.and_then(|id| lock(&shared.bulk_files).get(&id).cloned());
    match content {
        Some(c) => {
            let mut r = (StatusCode::OK, c.as_str().to_string()).into_response();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/jsonl"),
            );
            r
        }
        None => (StatusCode::NOT_FOUND, "NoSuchKey").into_response(),
    }
}

async fn graphql(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(conn): ConnectInfo<ConnCtl>,
    Path((shop, version)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !SUPPORTED_VERSIONS.contains(&version.as_str()) {
        return not_found();
    }
    let Some(store) = shared
        .stores
        .read()
        .ok()
        .and_then(|m| m.get(&shop).cloned())
    else {
        return not_found();
    };
    let expected = lock(&store).token.clone();
    if let Some(expected) = expected {
        let got = headers
            .get("x-shopify-access-token")
            .and_then(|v| v.to_str().ok());
        if got != Some(expected.as_str()) {
            return json_response(
                StatusCode::UNAUTHORIZED,
                &json!({"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}),
            );
        }
    }
    let request_number = shared.request_numbers.fetch_add(1, Ordering::Relaxed) + 1;
    lock(&shared.stats).requests += 1;
    let fault = {
        let mut faults = lock(&shared.faults);
        match faults.take_scripted(&root_fields(&body)) {
            Some(kind) => Some(kind),
            None => faults.roll(),
        }
    };
    if fault.is_some() {
        lock(&shared.stats).injected_faults += 1;
    }
    let plain = |status: StatusCode, text: &'static str| {
        let mut r = (status, text).into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        r
    };
    match fault {
        Some(FaultKind::Http429) => {
            let mut r = json_response(
                StatusCode::TOO_MANY_REQUESTS,
                &json!({"errors": "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service."}),
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            return r;
        }
        Some(FaultKind::Http502) => return plain(StatusCode::BAD_GATEWAY, "502 Bad Gateway"),
        Some(FaultKind::Http503) => {
            return plain(StatusCode::SERVICE_UNAVAILABLE, "503 Service Unavailable");
        }
        Some(FaultKind::Http504) => {
            return plain(StatusCode::GATEWAY_TIMEOUT, "504 Gateway Timeout");
        }
        Some(FaultKind::DropBeforeApply) => {
            conn.drop_connection();
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
        _ => {}
    }
    let delay = match fault {
        Some(FaultKind::Slow) => Some(SLOW_DELAY),
        Some(FaultKind::Stall) => Some(STALL_DELAY),
        _ => None,
    };
    let slow = delay.is_some();
    let out = process(
        &shared,
        &store,
        request_number,
        &body,
        slow,
        fault == Some(FaultKind::Throttled),
    );
    for id in &out.new_bulk_ops {
        spawn_bulk_completion(shared.clone(), store.clone(), *id);
    }
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
        if !out.held_keys.is_empty() {
            inventory::finish_keys(&mut lock(&store), &out.held_keys);
        }
    }
    if fault == Some(FaultKind::DropAfterApply) {
        conn.drop_connection();
    }
    json_response(out.status, &out.body)
}

/// The root field names of the operation a request body would run (empty when it does not
/// parse), for faults aimed at one mutation or query.
fn root_fields(body: &[u8]) -> Vec<String> {
    let Ok(req) = serde_json::from_slice::<Json>(body) else {
        return Vec::new();
    };
    let Some(query) = req.get("query").and_then(|q| q.as_str()) else {
        return Vec::new();
    };
    let Ok(document) = ast::Document::parse(query, "query.graphql") else {
        return Vec::new();
    };
    let name = req.get("operationName").and_then(|v| v.as_str());
    document
        .definitions
        .iter()
        .filter_map(|d| match d {
            Definition::OperationDefinition(o) => Some(o),
            _ => None,
        })
        .find(|o| name.is_none_or(|n| o.name.as_ref().is_some_and(|x| x == n)))
        .map(|o| {
            o.selection_set
                .iter()
                .filter_map(|s| match s {
                    ast::Selection::Field(f) => Some(f.name.to_string()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

pub(crate) struct Outcome {
    pub status: StatusCode,
    pub body: Json,
    pub held_keys: Vec<String>,
    pub new_bulk_ops: Vec<u64>,
}

fn num(x: f64) -> Json {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        Json::from(x as i64)
    } else {
        serde_json::Number::from_f64(x)
            .map(Json::Number)
            .unwrap_or(Json::Null)
    }
}

fn cost_ext(shared: &Shared, st: &mut StoreData, requested: f64, actual: Option<f64>) -> Json {
    let cfg = &shared.cfg;
    let level = st
        .bucket
        .level(shared.clock.now(), cfg.restore_rate, cfg.bucket_size);
    json!({"cost": {
        "requestedQueryCost": num(requested),
        "actualQueryCost": actual.map(num).unwrap_or(Json::Null),
        "throttleStatus": {
            "maximumAvailable": num(cfg.bucket_size),
            "currentlyAvailable": num(level.floor()),
            "restoreRate": num(cfg.restore_rate * shared.clock.scale()),
        }
    }})
}

fn plain_outcome(status: StatusCode, body: Json) -> Outcome {
    Outcome {
        status,
        body,
        held_keys: Vec::new(),
        new_bulk_ops: Vec::new(),
    }
}

/// Parses, validates, charges and executes one GraphQL request against `store`.
pub(crate) fn process(
    shared: &Shared,
    store: &StoreRef,
    request_number: u64,
    body: &[u8],
    hold_keys: bool,
    force_throttle: bool,
) -> Outcome {
    let req: Json = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(_) => {
            return plain_outcome(
                StatusCode::BAD_REQUEST,
                json!({"errors": {"query": "Required parameter missing or invalid"}}),
            );
        }
    };
    let Some(query) = req.get("query").and_then(|q| q.as_str()) else {
        return plain_outcome(
            StatusCode::BAD_REQUEST,
            json!({"errors": {"query": "Required parameter missing or invalid"}}),
        );
    };
    let provided = req
        .get("variables")
        .and_then(|v| v.as_object())
        .cloned()
        .unwrap_or_default();
    let op_name = req.get("operationName").and_then(|v| v.as_str());

    let document = match ast::Document::parse(query, "query.graphql") {
        Ok(d) => d,
        Err(e) => {
            let errors: Vec<Json> = e
                .errors
                .iter()
                .map(|d| {
                    let msg = d.error.to_string();
                    let msg = if msg.starts_with("syntax error") {
                        msg
                    } else {
                        format!("syntax error, {msg}")
                    };
                    let locs = d
                        .line_column_range()
                        .map(|r| json!([{"line": r.start.line, "column": r.start.column}]))
                        .unwrap_or(json!([]));
                    error(msg, Some(locs), None, None)
                })
                .collect();
            return plain_outcome(StatusCode::OK, json!({"errors": errors}));
        }
    };
    let ops: Vec<&apollo_compiler::Node<ast::OperationDefinition>> = document
        .definitions
        .iter()
        .filter_map(|d| match d {
            Definition::OperationDefinition(o) => Some(o),
            _ => None,
        })
        .collect();
    let op = match op_name {
        Some(n) => ops
            .iter()
            .find(|o| o.name.as_ref().is_some_and(|x| x == n))
            .copied(),
        None if ops.len() == 1 => Some(ops[0]),
        None => None,
    };
    let Some(op) = op else {
        let msg = match (op_name, ops.len()) {
            (Some(n), _) => format!("No operation named \"{n}\""),
            (None, 0) => "No operations in query document".to_string(),
            _ => "An operation name is required".to_string(),
        };
        return plain_outcome(
            StatusCode::OK,
            json!({"errors": [error(msg, None, None, None)]}),
        );
    };
    {
        let name = op.name.as_ref().map_or("", |n| n.as_str());
        *lock(&shared.stats)
            .operations
            .entry(name.to_string())
            .or_default() += 1;
    }
    let root = match op.operation_type {
        ast::OperationType::Query => T::Query,
        ast::OperationType::Mutation => T::Mutation,
        ast::OperationType::Subscription => {
            return plain_outcome(
                StatusCode::OK,
                json!({"errors": [error("Schema is not configured for subscriptions", Some(crate::gql::loc(op, &document.sources)), None, None)]}),
            );
        }
    };

    let mut doc = Doc::new(&document, op);
    let mut errors = Vec::new();
    for vd in &op.variables {
        let name = vd.name.as_str();
        let non_null = vd.ty.is_non_null();
        match provided.get(name) {
            Some(Json::Null) | None if non_null && vd.default_value.is_none() => {
                errors.push(error(
                    format!(
                        "Variable ${name} of type {} was provided invalid value",
                        vd.ty
                    ),
                    doc.var_locs.get(name).cloned(),
                    None,
                    Some(json!({"code": "INVALID_VARIABLE", "value": Json::Null, "problems": [{"path": [], "explanation": "Expected value to not be null"}]})),
                ));
            }
            Some(v) => {
                doc.vars.insert(name.to_string(), v.clone());
            }
            None => {
                if let Some(d) = &vd.default_value {
                    let v = crate::gql::to_json(d, &Map::new());
                    doc.vars.insert(name.to_string(), v);
                }
            }
        }
    }
    if errors.is_empty() {
        let mut v = Validator::new(&doc);
        v.selection(root, &op.selection_set, &mut Vec::new());
        errors = v.errors;
    }

    let mut st = lock(store);
    if !errors.is_empty() {
        let requested = cost::requested(&doc, root, &op.selection_set);
        let ext = cost_ext(shared, &mut st, requested, None);
        return plain_outcome(StatusCode::OK, json!({"errors": errors, "extensions": ext}));
    }

    let requested = cost::requested(&doc, root, &op.selection_set);
    let cfg = &shared.cfg;
    if requested > cfg.max_query_cost {
        let ext = cost_ext(shared, &mut st, requested, None);
        let r = num(requested.ceil());
        return plain_outcome(
            StatusCode::OK,
            json!({"errors": [error(
                format!("Query cost is {r}, which exceeds the single query max cost limit ({}).", num(cfg.max_query_cost)),
                None,
                None,
                Some(json!({"code": "MAX_COST_EXCEEDED", "cost": r, "maxCost": num(cfg.max_query_cost)})),
            )], "extensions": ext}),
        );
    }
    let now = shared.clock.now();
    let throttled = force_throttle
        || !st
            .bucket
            .try_take(requested, now, cfg.restore_rate, cfg.bucket_size);
    if throttled {
        if !force_throttle {
            lock(&shared.stats).throttled += 1;
        }
        let ext = cost_ext(shared, &mut st, requested, None);
        return plain_outcome(
            StatusCode::OK,
            json!({"errors": [error(
                "Throttled",
                None,
                None,
                Some(json!({"code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"})),
            )], "extensions": ext}),
        );
    }

    let env = Env {
        now,
        clock: &shared.clock,
        request_number,
        hold_keys,
        bulk_ids: &shared.bulk_ids,
        base_url: &shared.base_url,
    };
    let mut ex = Exec::new(&doc, &mut st, &env);
    let (data, actual) = if root == T::Mutation {
        ex.mutation(&op.selection_set)
    } else {
        ex.query(&op.selection_set)
    };
    let exec_errors = std::mem::take(&mut ex.errors);
    let held_keys = std::mem::take(&mut ex.held_keys);
    let new_bulk_ops = std::mem::take(&mut ex.new_bulk_ops);
    let (applied, replays) = (ex.applied_rows, ex.replays);
    drop(ex);
    let actual = actual.min(requested);
    st.bucket.refund(requested - actual, cfg.bucket_size);
    let ext = cost_ext(shared, &mut st, requested, Some(actual));
    drop(st);
    {
        let mut s = lock(&shared.stats);
        s.points_consumed += actual;
        s.applied_adjustments += applied;
        s.idempotent_replays += replays;
        if root == T::Mutation {
            s.mutation_calls += 1;
        }
    }
    let mut body = Map::new();
    if !exec_errors.is_empty() {
        body.insert("errors".into(), Json::Array(exec_errors));
    }
    body.insert("data".into(), data);
    body.insert("extensions".into(), ext);
    Outcome {
        status: StatusCode::OK,
        body: Json::Object(body),
        held_keys,
        new_bulk_ops,
    }
}

/// Completes bulk operation `id` after the configured simulated delay.
pub(crate) fn spawn_bulk_completion(shared: Arc<Shared>, store: StoreRef, id: u64) {
    tokio::spawn(async move {
        let real = shared.clock.real_for(shared.cfg.bulk_completion_delay);
        tokio::time::sleep(real).await;
        let mut st = lock(&store);
        let Some(i) = st.bulk_index(id) else {
            return;
        };
        if !st.bulk_ops[i].status.is_active() {
            return;
        }
        let query = st.bulk_ops[i].query.clone();
        let env = Env {
            now: shared.clock.now(),
            clock: &shared.clock,
            request_number: 0,
            hold_keys: false,
            bulk_ids: &shared.bulk_ids,
            base_url: &shared.base_url,
        };
        if let Some(job) = st.catalog.bulk_jobs.get(&id).cloned() {
            crate::catalog::complete_bulk_mutation(&shared, &mut st, i, id, &job, &env);
            return;
        }
        let file = bulk::generate(&mut st, &query, &env);
        let file_size = file.jsonl.len() as u64;
        // The file must be downloadable before any poll can see COMPLETED and its url: a poll
        // waiting on the store lock answers the moment it is released.
        lock(&shared.bulk_files).insert(id, Arc::new(file.jsonl));
        let op = &mut st.bulk_ops[i];
        op.status = crate::store::BulkStatus::Completed;
        op.completed_at = Some(env.now);
        op.object_count = file.objects;
        op.root_object_count = file.roots;
        op.file_size = Some(file_size);
        op.url = Some(format!("{}/bulk-results/{id}.jsonl", shared.base_url));
    });
}
