//! Request dispatch. One fallback handler parses the raw path itself because BC keys live inside path
//! segments (`companies(<guid>)`, `Company('CRONUS USA, Inc.')`) and must be percent-decoded per segment.
//! Every API request passes the same gates as in BC online, in order: bearer token, per-client
//! concurrency and rate limits, (injected faults), then the entity logic. Routing below the company
//! ([`company_route`]) takes the company already locked, so a `$batch` under `Isolation: snapshot` can
//! run all its operations under one lock and roll them back together.

// Route helpers return ready-made error responses as `Err`; they are built once per request, so boxing
// them would only add noise.
#![allow(clippy::result_large_err)]

use crate::auth::TokenProblem;
use crate::conn::ConnHandle;
use crate::faults::BcFault;
use crate::limits::{InFlight, LimitHit};
use crate::model::{
    AvailKey, AvailRow, Company, CompanyHandle, ITEM_TYPES, Item, Location, availability_json,
    company_json, etag, item_json, location_json,
};
use crate::odata::{CollectionQuery, Page, QueryError, page_of, prefer_max_page_size};
use crate::respond::{bc_error, entra_error, json_with};
use crate::text::{now_ms, parse_pairs, pct_decode, pct_encode};
use crate::{Shared, lock};
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;

const MAX_BODY: usize = 16 * 1024 * 1024;

pub(crate) async fn handle(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(conn): ConnectInfo<ConnHandle>,
    req: Request,
) -> Response {
    let raw_path = req.uri().path().to_string();
    let segs: Vec<String> = raw_path
        .trim_start_matches('/')
        .split('/')
        .map(pct_decode)
        .collect();
    if segs.len() == 4 && segs[1] == "oauth2" && segs[2] == "v2.0" && segs[3] == "token" {
        return token(&shared, &segs[0], req).await;
    }
    if segs.len() >= 4 && segs[0] == "v2.0" {
        return api(&shared, &conn, segs, raw_path, req).await;
    }
    bc_error(
        StatusCode::NOT_FOUND,
        "BadRequest_NotFound",
        &format!("No HTTP resource was found that matches the request URI '{raw_path}'."),
    )
}

async fn token(shared: &Shared, tenant: &str, req: Request) -> Response {
    if req.method() != Method::POST {
        return entra_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_request",
            "AADSTS900561: The endpoint only accepts POST requests.",
            900561,
        );
    }
    let body = match axum::body::to_bytes(req.into_body(), MAX_BODY).await {
        Ok(b) => b,
        Err(_) => {
            return entra_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "AADSTS900144: The request body could not be read.",
                900144,
            );
        }
    };
    let outcome = lock(&shared.auth).token_request(tenant, &body, shared.config.token_ttl);
    let mut stats = lock(&shared.stats);
    if outcome.issued {
        stats.tokens_issued += 1;
    } else {
        stats.token_failures += 1;
    }
    outcome.response
}

fn unauthorized(problem: TokenProblem) -> Response {
    let detail = match problem {
        TokenProblem::Missing => "The access token is missing",
        TokenProblem::Invalid => "The access token is invalid",
        TokenProblem::Expired => "The access token is expired",
        TokenProblem::WrongTenant => "The access token was issued for another tenant",
    };
    let mut r = bc_error(
        StatusCode::UNAUTHORIZED,
        "Authentication_InvalidCredentials",
        "The server has rejected the client credentials.",
    );
    if let Ok(v) = HeaderValue::from_str(&format!(
        "Bearer error=\"invalid_token\", error_description=\"{detail}\""
    )) {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    r
}

fn fault_response(fault: BcFault) -> Response {
    match fault {
        BcFault::Throttle { retry_after } => {
            let mut r = bc_error(
                StatusCode::TOO_MANY_REQUESTS,
                "Application_TooManyRequests",
                "Too many requests reached. Actual (6001). Maximum (6000).",
            );
            if retry_after {
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            r
        }
        BcFault::Unavailable => {
            let mut r = bc_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "ServiceUnavailable",
                "The service is temporarily unavailable. Please try again later.",
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            r
        }
        BcFault::Internal => bc_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal_ServerError",
            "An unexpected error occurred on the server.",
        ),
        BcFault::GatewayTimeout | BcFault::DropAfterApply | BcFault::DropBeforeApply => {
            let mut r = (StatusCode::GATEWAY_TIMEOUT, "<html><head><title>504 Gateway Time-out</title></head><body><h1>504 Gateway Time-out</h1></body></html>").into_response();
            r.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
            r
        }
    }
}

/// What a route needs from the request (or from one operation of a `$batch`).
pub(crate) struct Ctx<'a> {
    pub(crate) shared: &'a Shared,
    pub(crate) tenant: String,
    pub(crate) env: String,
    pub(crate) raw_path: String,
    pub(crate) pairs: Vec<(String, String)>,
    pub(crate) headers: HeaderMap,
    pub(crate) method: Method,
    pub(crate) body: Bytes,
}

impl Ctx<'_> {
    pub(crate) fn root(&self) -> String {
        format!(
            "{}/v2.0/{}/{}",
            self.shared.base_url,
            pct_encode(&self.tenant),
            pct_encode(&self.env)
        )
    }

    pub(crate) fn header(&self, name: header::HeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub(crate) fn page_size(&self) -> (usize, Option<usize>) {
        let cfg = &self.shared.config;
        match prefer_max_page_size(self.header(header::HeaderName::from_static("prefer"))) {
            Some(n) => {
                let applied = n.min(cfg.max_page_size);
                (applied, Some(applied))
            }
            None => (cfg.default_page_size.max(1), None),
        }
    }

    pub(crate) fn not_found_uri(&self) -> Response {
        bc_error(
            StatusCode::NOT_FOUND,
            "BadRequest_NotFound",
            &format!(
                "No HTTP resource was found that matches the request URI '{}{}'.",
                self.shared.base_url, self.raw_path
            ),
        )
    }

    pub(crate) fn collection(
        &self,
        context: String,
        page: Page,
        applied: Option<usize>,
    ) -> Response {
        let mut body = json!({"@odata.context": context, "value": page.value});
        if let Some(q) = page.next_query {
            body["@odata.nextLink"] =
                Value::String(format!("{}{}?{}", self.shared.base_url, self.raw_path, q));
        }
        let headers: Vec<(&'static str, String)> = applied
            .map(|n| vec![("preference-applied", format!("odata.maxpagesize={n}"))])
            .unwrap_or_default();
        json_with(StatusCode::OK, &body, &headers)
    }

    pub(crate) fn entity(
        &self,
        status: StatusCode,
        context: String,
        entity: Map<String, Value>,
    ) -> Response {
        let tag = entity
            .get("@odata.etag")
            .and_then(Value::as_str)
            .map(str::to_string);
        let mut body = Map::new();
        body.insert("@odata.context".into(), Value::String(context));
        body.extend(entity);
        let headers: Vec<(&'static str, String)> =
            tag.map(|t| vec![("etag", t)]).unwrap_or_default();
        json_with(status, &Value::Object(body), &headers)
    }

    pub(crate) fn query(
        &self,
        sample: &Map<String, Value>,
        type_name: &str,
    ) -> Result<CollectionQuery, Response> {
        self.query_expanding(sample, type_name, &[])
    }

    /// [`Ctx::query`] allowing `$expand` of the given navigation properties.
    pub(crate) fn query_expanding(
        &self,
        sample: &Map<String, Value>,
        type_name: &str,
        expandable: &[&str],
    ) -> Result<CollectionQuery, Response> {
        let q = CollectionQuery::parse(&self.pairs).map_err(query_error)?;
        q.validate_expanding(sample, type_name, expandable)
            .map_err(query_error)?;
        Ok(q)
    }
}

pub(crate) fn query_error(e: QueryError) -> Response {
    bc_error(StatusCode::BAD_REQUEST, e.code, &e.message)
}

pub(crate) fn method_not_allowed(method: &Method) -> Response {
    bc_error(
        StatusCode::METHOD_NOT_ALLOWED,
        "BadRequest_MethodNotAllowed",
        &format!("'{method}' requests for this resource are not supported."),
    )
}

async fn api(
    shared: &Arc<Shared>,
    conn: &ConnHandle,
    segs: Vec<String>,
    raw_path: String,
    req: Request,
) -> Response {
    let cfg = &shared.config;
    {
        let mut stats = lock(&shared.stats);
        stats.requests += 1;
        *stats
            .by_route
            .entry(route_key(req.method(), &segs[3..]))
            .or_default() += 1;
    }
    let auth_header = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let caller = match lock(&shared.auth).check(auth_header.as_deref(), &segs[1]) {
        Ok(c) => c,
        Err(problem) => {
            lock(&shared.stats).unauthorized += 1;
            return unauthorized(problem);
        }
    };
    let client_key = format!("{}/{}", caller.tenant.to_lowercase(), caller.client_id);
    let admitted = lock(&shared.limits).admit(
        &client_key,
        cfg.max_concurrent,
        cfg.rate_limit,
        cfg.rate_window,
    );
    let _in_flight = match admitted {
        Ok(n) => {
            let mut stats = lock(&shared.stats);
            stats.max_concurrency_seen = stats.max_concurrency_seen.max(n);
            InFlight {
                limits: shared.limits.clone(),
                client: client_key,
            }
        }
        Err(hit) => {
            let mut stats = lock(&shared.stats);
            stats.throttled_429 += 1;
            let message = match hit {
                LimitHit::Concurrency => {
                    stats.concurrency_rejections += 1;
                    format!(
                        "Too many concurrent requests. Maximum ({}).",
                        cfg.max_concurrent
                    )
                }
                LimitHit::Rate => {
                    stats.rate_rejections += 1;
                    format!(
                        "Too many requests reached. Maximum ({}) per {} seconds.",
                        cfg.rate_limit,
                        cfg.rate_window.as_secs()
                    )
                }
            };
            return bc_error(
                StatusCode::TOO_MANY_REQUESTS,
                "Application_TooManyRequests",
                &message,
            );
        }
    };
    let fault = lock(&shared.faults).draw(req.method().as_str(), &segs.join("/"));
    if let Some(f) = fault {
        lock(&shared.stats).injected_faults += 1;
        if f == BcFault::DropBeforeApply {
            conn.kill();
            return fault_response(f);
        }
        if f.before_processing() {
            return fault_response(f);
        }
    }
    if !cfg.latency.is_zero() {
        tokio::time::sleep(cfg.latency).await;
    }
    let pairs = parse_pairs(req.uri().query().unwrap_or(""));
    let method = req.method().clone();
    let headers = req.headers().clone();
    let body = match axum::body::to_bytes(req.into_body(), MAX_BODY).await {
        Ok(b) => b,
        Err(_) => {
            return bc_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "BadRequest_RequestTooLarge",
                "The request body is too large.",
            );
        }
    };
    let ctx = Ctx {
        shared,
        tenant: segs[1].clone(),
        env: segs[2].clone(),
        raw_path,
        pairs,
        headers,
        method,
        body,
    };
    let rest = &segs[3..];
    let response =
        if rest.len() == 3 && rest[0] == "api" && rest[1] == "v2.0" && rest[2] == "$batch" {
            crate::batch::handle(&ctx).await
        } else {
            route(&ctx, rest)
        };
    match fault {
        Some(BcFault::DropAfterApply) => {
            conn.kill();
            response
        }
        Some(f @ BcFault::GatewayTimeout) => fault_response(f),
        _ => response,
    }
}

/// `"<METHOD> <resource>"` for [`crate::BcSimStats::by_route`]: the entity set and any navigation below
/// it, without keys (`POST salesOrders`, `GET salesShipments/salesShipmentLines`).
fn route_key(method: &Method, rest: &[String]) -> String {
    let resource = match rest {
        [a, v, tail @ ..] if a == "api" && v == "v2.0" => match tail {
            [] => "api".to_string(),
            [only] => split_key(only).0.to_string(),
            [_, set, more @ ..] => {
                let mut r = split_key(set).0.to_string();
                for m in more {
                    r.push('/');
                    r.push_str(split_key(m).0);
                }
                r
            }
        },
        [o, tail @ ..] if o == "ODataV4" => format!(
            "ODataV4 {}",
            tail.last().map(|s| split_key(s).0).unwrap_or("")
        ),
        _ => "other".to_string(),
    };
    format!("{method} {resource}")
}

/// `name(key)` → (`name`, Some(`key`)); `name` → (`name`, None).
pub(crate) fn split_key(seg: &str) -> (&str, Option<&str>) {
    match (seg.find('('), seg.ends_with(')')) {
        (Some(open), true) => (&seg[..open], Some(&seg[open + 1..seg.len() - 1])),
        _ => (seg, None),
    }
}

/// `'A''s'` → `A's`.
pub(crate) fn unquote(key: &str) -> String {
    key.strip_prefix('\'')
        .and_then(|k| k.strip_suffix('\''))
        .unwrap_or(key)
        .replace("''", "'")
}

/// The companies of the request's tenant and environment.
pub(crate) fn companies_of(ctx: &Ctx<'_>) -> Vec<CompanyHandle> {
    lock(&ctx.shared.companies)
        .get(&(ctx.tenant.to_lowercase(), ctx.env.to_lowercase()))
        .cloned()
        .unwrap_or_default()
}

/// The company named by a `companies(<id>)` key, or BC's 404.
pub(crate) fn find_company(
    companies: &[CompanyHandle],
    key: &str,
) -> Result<CompanyHandle, Response> {
    uuid::Uuid::parse_str(&unquote(key))
        .ok()
        .and_then(|id| companies.iter().find(|c| c.lock().id == id))
        .cloned()
        .ok_or_else(|| {
            bc_error(
                StatusCode::NOT_FOUND,
                "BadRequest_NotFound",
                &format!("The company '{}' does not exist.", unquote(key)),
            )
        })
}

pub(crate) fn route(ctx: &Ctx<'_>, rest: &[String]) -> Response {
    let companies = companies_of(ctx);
    match rest.first().map(String::as_str) {
        Some("api") if rest.get(1).map(String::as_str) == Some("v2.0") => {
            api_v2(ctx, &companies, &rest[2..])
        }
        Some("ODataV4") => odata_v4(ctx, &companies, &rest[1..]),
        _ => ctx.not_found_uri(),
    }
}

fn api_v2(ctx: &Ctx<'_>, companies: &[CompanyHandle], rest: &[String]) -> Response {
    let Some(first) = rest.first() else {
        return ctx.not_found_uri();
    };
    let (set, key) = split_key(first);
    if set != "companies" {
        return ctx.not_found_uri();
    }
    let root = ctx.root();
    let Some(key) = key else {
        if rest.len() != 1 {
            return ctx.not_found_uri();
        }
        if ctx.method != Method::GET {
            return method_not_allowed(&ctx.method);
        }
        let sample = company_json(&Company::new(uuid::Uuid::nil(), ""));
        let q = match ctx.query(&sample, "company") {
            Ok(q) => q,
            Err(r) => return r,
        };
        let map: BTreeMap<String, Map<String, Value>> = companies
            .iter()
            .map(|c| {
                let c = c.lock();
                (c.id.to_string(), company_json(&c))
            })
            .collect();
        let (size, applied) = ctx.page_size();
        let after = q.skiptoken.as_ref().and_then(|k| k.first().cloned());
        let page = page_of(&map, &q, size, after, |k| vec![k.clone()], |_, v| v.clone());
        return ctx.collection(
            format!("{root}/api/v2.0/$metadata#companies"),
            page,
            applied,
        );
    };
    let handle = match find_company(companies, key) {
        Ok(h) => h,
        Err(r) => return r,
    };
    let mut company = handle.lock();
    company_route(ctx, &mut company, &rest[1..])
}

/// Everything below `companies(<id>)/`, on the locked company. `rest` starts at the entity set.
pub(crate) fn company_route(ctx: &Ctx<'_>, company: &mut Company, rest: &[String]) -> Response {
    let root = ctx.root();
    let cid = company.id;
    let ctx_base = format!("{root}/api/v2.0/$metadata#companies({cid})");
    if let Some(first) = rest.first() {
        let (set, key) = split_key(first);
        if let Some(r) = crate::items::route(ctx, company, &ctx_base, set, key, &rest[1..]) {
            return r;
        }
        if let Some(r) = crate::sales::route(ctx, company, &ctx_base, set, key, &rest[1..]) {
            return r;
        }
    }
    match rest.first().map(|s| split_key(s)) {
        None if ctx.method == Method::GET => ctx.entity(
            StatusCode::OK,
            format!("{root}/api/v2.0/$metadata#companies/$entity"),
            company_json(company),
        ),
        None => method_not_allowed(&ctx.method),
        Some(_) if rest.len() > 1 => ctx.not_found_uri(),
        Some(("items", None)) => match ctx.method {
            Method::GET => {
                let q = match ctx.query(&item_json(&sample_item()), "item") {
                    Ok(q) => q,
                    Err(r) => return r,
                };
                let (size, applied) = ctx.page_size();
                let after = q.skiptoken.as_ref().and_then(|k| k.first().cloned());
                let page = page_of(
                    &company.items,
                    &q,
                    size,
                    after,
                    |k| vec![k.clone()],
                    |_, v| item_json(v),
                );
                ctx.collection(format!("{ctx_base}/items"), page, applied)
            }
            Method::POST => create_item(ctx, company, &ctx_base),
            _ => method_not_allowed(&ctx.method),
        },
        Some(("items", Some(id))) => {
            let number = uuid::Uuid::parse_str(&unquote(id))
                .ok()
                .and_then(|id| company.item_ids.get(&id).cloned());
            let Some(number) = number.filter(|n| company.items.contains_key(n)) else {
                return bc_error(
                    StatusCode::NOT_FOUND,
                    "Internal_RecordNotFound",
                    &format!(
                        "The Item does not exist. Identification fields and values: Id='{}'",
                        unquote(id)
                    ),
                );
            };
            match ctx.method {
                Method::GET => ctx.entity(
                    StatusCode::OK,
                    format!("{ctx_base}/items/$entity"),
                    item_json(&company.items[&number]),
                ),
                Method::PATCH => patch_item(ctx, company, &number, &ctx_base),
                _ => method_not_allowed(&ctx.method),
            }
        }
        Some(("locations", None)) if ctx.method == Method::GET => {
            let q = match ctx.query(&location_json(&sample_location()), "location") {
                Ok(q) => q,
                Err(r) => return r,
            };
            let (size, applied) = ctx.page_size();
            let after = q.skiptoken.as_ref().and_then(|k| k.first().cloned());
            let page = page_of(
                &company.locations,
                &q,
                size,
                after,
                |k| vec![k.clone()],
                |_, v| location_json(v),
            );
            ctx.collection(format!("{ctx_base}/locations"), page, applied)
        }
        Some(("locations", Some(id))) if ctx.method == Method::GET => {
            let wanted = unquote(id).to_lowercase();
            match company
                .locations
                .values()
                .find(|l| l.id.to_string() == wanted)
            {
                Some(l) => ctx.entity(
                    StatusCode::OK,
                    format!("{ctx_base}/locations/$entity"),
                    location_json(l),
                ),
                None => bc_error(
                    StatusCode::NOT_FOUND,
                    "Internal_RecordNotFound",
                    &format!(
                        "The Location does not exist. Identification fields and values: Id='{wanted}'"
                    ),
                ),
            }
        }
        Some(("locations", _)) => method_not_allowed(&ctx.method),
        Some(_) => ctx.not_found_uri(),
    }
}

fn sample_item() -> Item {
    Item {
        id: uuid::Uuid::nil(),
        number: String::new(),
        display_name: String::new(),
        item_type: ITEM_TYPES[0].to_string(),
        blocked: false,
        gtin: None,
        inventory: 0.0,
        unit_price: 0.0,
        extra: crate::items::ItemExtra::default(),
        modified_ms: 0,
        row_version: 0,
    }
}

fn sample_location() -> Location {
    Location {
        id: uuid::Uuid::nil(),
        code: String::new(),
        display_name: String::new(),
        modified_ms: 0,
        row_version: 0,
    }
}

pub(crate) fn json_body(ctx: &Ctx<'_>) -> Result<Map<String, Value>, Response> {
    match serde_json::from_slice::<Value>(&ctx.body) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(bc_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "The request body is not a valid JSON object.",
        )),
    }
}

/// Apply writable item fields from a request body; rejects unknown and read-only properties.
fn apply_item_fields(
    item: &mut Item,
    body: &Map<String, Value>,
    creating: bool,
) -> Result<(), Response> {
    let invalid = |field: &str, expected: &str| {
        bc_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            &format!(
                "Cannot convert the literal for property '{field}' to the expected type '{expected}'."
            ),
        )
    };
    for (k, v) in body {
        match k.as_str() {
            "@odata.etag" | "@odata.context" => {}
            "number" if creating => {
                item.number = v
                    .as_str()
                    .ok_or_else(|| invalid(k, "Edm.String"))?
                    .to_string()
            }
            "displayName" => {
                item.display_name = v
                    .as_str()
                    .ok_or_else(|| invalid(k, "Edm.String"))?
                    .to_string()
            }
            "type" => {
                let t = v.as_str().ok_or_else(|| invalid(k, "Edm.String"))?;
                if !ITEM_TYPES.contains(&t) {
                    return Err(bc_error(
                        StatusCode::BAD_REQUEST,
                        "BadRequest",
                        &format!("The value '{t}' is not a valid item type."),
                    ));
                }
                item.item_type = t.to_string();
            }
            "blocked" => item.blocked = v.as_bool().ok_or_else(|| invalid(k, "Edm.Boolean"))?,
            "gtin" => {
                let g = v.as_str().ok_or_else(|| invalid(k, "Edm.String"))?;
                if g.len() > 14 {
                    return Err(bc_error(
                        StatusCode::BAD_REQUEST,
                        "Application_StringExceededLength",
                        &format!(
                            "The length of the string is {}, but it must be less than or equal to 14 characters. Value: {g}",
                            g.len()
                        ),
                    ));
                }
                item.gtin = Some(g.to_string()).filter(|g| !g.is_empty());
            }
            "unitPrice" => item.unit_price = v.as_f64().ok_or_else(|| invalid(k, "Edm.Decimal"))?,
            other if crate::items::is_extra_field(other) => {
                crate::items::apply_extra_field(&mut item.extra, other, v)?
            }
            "id" | "number" | "inventory" | "lastModifiedDateTime" => {
                return Err(bc_error(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    &format!("The property '{k}' is read-only."),
                ));
            }
            _ => {
                return Err(bc_error(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    &format!(
                        "The property '{k}' does not exist on type 'Microsoft.NAV.item'. Make sure to only use property names that are defined by the type."
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn patch_item(ctx: &Ctx<'_>, company: &mut Company, number: &str, ctx_base: &str) -> Response {
    let Some(if_match) = ctx
        .header(header::IF_MATCH)
        .map(str::trim)
        .filter(|s| !s.is_empty())
    else {
        return bc_error(
            StatusCode::BAD_REQUEST,
            "BadRequest_InvalidToken",
            "Could not validate the client concurrency token required by the service. Please provide a valid token in the client request.",
        );
    };
    let body = match json_body(ctx) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let current = {
        let item = &company.items[number];
        etag(&item.number, item.row_version)
    };
    if if_match != "*" && if_match != current {
        return bc_error(
            StatusCode::CONFLICT,
            "Request_EntityChanged",
            "Another user has already changed the record.",
        );
    }
    let mut updated = company.items[number].clone();
    if let Err(r) = apply_item_fields(&mut updated, &body, false) {
        return r;
    }
    updated.row_version = company.next_version();
    updated.modified_ms = now_ms();
    let json = item_json(&updated);
    company.items.insert(number.to_string(), updated);
    ctx.entity(StatusCode::OK, format!("{ctx_base}/items/$entity"), json)
}

fn create_item(ctx: &Ctx<'_>, company: &mut Company, ctx_base: &str) -> Response {
    let body = match json_body(ctx) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let mut item = sample_item();
    if let Err(r) = apply_item_fields(&mut item, &body, true) {
        return r;
    }
    if item.number.is_empty() {
        item.number = format!("SIM{:06}", company.items.len() + 1);
    }
    if company.items.contains_key(&item.number) {
        return bc_error(
            StatusCode::BAD_REQUEST,
            "Internal_EntityWithSameKeyExists",
            &format!(
                "The record in table Item already exists. Identification fields and values: No.='{}'",
                item.number
            ),
        );
    }
    let (number, item_type, gtin) = (
        item.number.clone(),
        item.item_type.clone(),
        item.gtin.clone(),
    );
    company.upsert_item(&number, &item_type, gtin.as_deref());
    let stored = company.items.get_mut(&number).expect("just inserted");
    stored.display_name = if body.contains_key("displayName") {
        item.display_name
    } else {
        stored.display_name.clone()
    };
    stored.blocked = item.blocked;
    stored.unit_price = item.unit_price;
    stored.extra = item.extra;
    let json = item_json(stored);
    ctx.entity(
        StatusCode::CREATED,
        format!("{ctx_base}/items/$entity"),
        json,
    )
}

/// A published page served from its own rows: (ctx, company, company name, page name, query
/// pairs, pair to pass on in next links).
type CustomPage =
    fn(&Ctx<'_>, &Company, &str, &str, Vec<(String, String)>, Option<(String, String)>) -> Response;

/// `ODataV4/Company('<name>')/<Page>` (or `ODataV4/<Page>?company=<name>`).
fn odata_v4(ctx: &Ctx<'_>, companies: &[CompanyHandle], rest: &[String]) -> Response {
    let (company_name, page_name, pairs_company) = match rest {
        [company, page] => match split_key(company) {
            ("Company", Some(name)) => (unquote(name), page.clone(), false),
            _ => return ctx.not_found_uri(),
        },
        [page] => match ctx.pairs.iter().find(|(k, _)| k == "company") {
            Some((_, name)) => (name.clone(), page.clone(), true),
            None => {
                return bc_error(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    "A company must be specified in the URL or with the 'company' query parameter.",
                );
            }
        },
        _ => return ctx.not_found_uri(),
    };
    if ctx.method != Method::GET {
        return method_not_allowed(&ctx.method);
    }
    let Some(handle) = companies.iter().find(|c| c.lock().name == company_name) else {
        return bc_error(
            StatusCode::NOT_FOUND,
            "BadRequest_NotFound",
            &format!(
                "Cannot process the request because the company '{company_name}' does not exist."
            ),
        );
    };
    let company = handle.lock();
    // Published pages with their own rows (price lists, tracking numbers): the same query
    // handling, the `company` pair passed on through next links.
    let custom_page: Option<CustomPage> = if company.catalog.price_pages.contains(&page_name) {
        Some(crate::items::price_page)
    } else if company.sales.tracking_pages.contains(&page_name) {
        Some(crate::sales::tracking_page)
    } else {
        None
    };
    if let Some(serve) = custom_page {
        let mut pairs = ctx.pairs.clone();
        if pairs_company {
            pairs.retain(|(k, _)| k != "company");
        }
        let passthrough = pairs_company.then(|| ("company".to_string(), company_name.clone()));
        return serve(ctx, &company, &company_name, &page_name, pairs, passthrough);
    }
    if !company.pages.contains(&page_name) {
        return ctx.not_found_uri();
    }
    let sample_key: AvailKey = (String::new(), String::new(), String::new());
    let sample = availability_json(
        &sample_key,
        &AvailRow {
            projected_available: 0.0,
            free_inventory: 0.0,
            row_version: 0,
        },
    );
    let mut pairs = ctx.pairs.clone();
    if pairs_company {
        pairs.retain(|(k, _)| k != "company");
    }
    let q = match CollectionQuery::parse(&pairs).and_then(|mut q| {
        if pairs_company {
            q.passthrough.push(("company".into(), company_name.clone()));
        }
        q.validate(&sample, &page_name).map(|_| q)
    }) {
        Ok(q) => q,
        Err(e) => return query_error(e),
    };
    let after = match &q.skiptoken {
        Some(k) if k.len() == 3 => Some((k[0].clone(), k[1].clone(), k[2].clone())),
        Some(_) => {
            return bc_error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                "The skip token is not valid for this page.",
            );
        }
        None => None,
    };
    let (size, applied) = ctx.page_size();
    let page = page_of(
        &company.availability,
        &q,
        size,
        after,
        |k| vec![k.0.clone(), k.1.clone(), k.2.clone()],
        availability_json,
    );
    let context = format!(
        "{}/ODataV4/$metadata#Company('{}')/{}",
        ctx.root(),
        pct_encode(&company_name.replace('\'', "''")),
        pct_encode(&page_name)
    );
    ctx.collection(context, page, applied)
}
