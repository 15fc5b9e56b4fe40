//! Response shapes: BC's JSON error envelope (with the `CorrelationId` suffix BC appends to messages),
//! Entra's OAuth error body, and OData JSON with the headers BC sends.

use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

pub(crate) const ODATA_JSON: &str = "application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8";

/// `{"error":{"code":…,"message":…}}` with the given status.
pub(crate) fn bc_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({"error": {"code": code, "message": format!("{message}  CorrelationId:  {}.", uuid::Uuid::new_v4())}});
    json_with(status, &body, &[])
}

/// An Entra ID token-endpoint error.
pub(crate) fn entra_error(
    status: StatusCode,
    error: &str,
    description: &str,
    code: u32,
) -> Response {
    let body = json!({
        "error": error,
        "error_description": format!("{description}\r\nTrace ID: {}\r\nCorrelation ID: {}\r\nTimestamp: {}", uuid::Uuid::new_v4(), uuid::Uuid::new_v4(), crate::text::format_iso(crate::text::now_ms())),
        "error_codes": [code],
        "timestamp": crate::text::format_iso(crate::text::now_ms()),
        "trace_id": uuid::Uuid::new_v4().to_string(),
        "correlation_id": uuid::Uuid::new_v4().to_string(),
    });
    let mut r = (status, body.to_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    r
}

/// OData JSON with extra headers.
pub(crate) fn json_with(
    status: StatusCode,
    body: &Value,
    headers: &[(&'static str, String)],
) -> Response {
    let mut r = (status, body.to_string()).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ODATA_JSON));
    h.insert(
        HeaderName::from_static("odata-version"),
        HeaderValue::from_static("4.0"),
    );
    for (name, value) in headers {
        if let Ok(v) = HeaderValue::from_str(value) {
            h.insert(HeaderName::from_static(name), v);
        }
    }
    r
}
