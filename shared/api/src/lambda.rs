//! API Gateway HTTP API (payload format 2.0) in and out.
//!
//! Only the fields the API uses are read: method, raw path, raw query string, the `authorization`
//! header (HTTP API lower-cases header names), the body (base64 when `isBase64Encoded`) and the
//! request id. The answer is the 2.0 response shape with a JSON body.

use crate::http::{ApiRequest, ApiResponse};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpApiEvent {
    #[serde(default)]
    pub raw_path: String,
    #[serde(default)]
    pub raw_query_string: String,
    #[serde(default)]
    pub headers: HashMap<String, String>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub is_base64_encoded: bool,
    pub request_context: RequestContext,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestContext {
    pub http: HttpDescription,
    #[serde(default)]
    pub request_id: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct HttpDescription {
    pub method: String,
    #[serde(default)]
    pub path: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("not an HTTP API (payload 2.0) event: {0}")]
    Shape(String),
    #[error("the body is marked base64 but is not: {0}")]
    Base64(String),
}

impl HttpApiEvent {
    pub fn from_value(value: Value) -> Result<HttpApiEvent, EventError> {
        serde_json::from_value(value).map_err(|e| EventError::Shape(crate::routes::parse_error(&e)))
    }

    pub fn into_request(self) -> Result<ApiRequest, EventError> {
        let body = match self.body {
            None => Vec::new(),
            Some(b) if self.is_base64_encoded => STANDARD
                .decode(b.as_bytes())
                .map_err(|e| EventError::Base64(crate::routes::parse_error(&e)))?,
            Some(b) => b.into_bytes(),
        };
        let header = |name: &str| {
            self.headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        let authorization = header("authorization");
        let idempotency_key = header("idempotency-key");
        let path = if self.raw_path.is_empty() {
            self.request_context.http.path.unwrap_or_default()
        } else {
            self.raw_path
        };
        Ok(ApiRequest {
            method: self.request_context.http.method.to_ascii_uppercase(),
            path,
            query: parse_query(&self.raw_query_string),
            authorization,
            idempotency_key,
            body,
            request_id: self.request_context.request_id,
        })
    }
}

/// `a=1&b=x%20y` → pairs, percent- and plus-decoded.
pub fn parse_query(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The 2.0 response shape, with the answer's headers (`Location`, `Allow`) lower-cased as HTTP API
/// sends them.
pub fn to_event_response(response: &ApiResponse) -> Value {
    let mut headers = serde_json::Map::new();
    headers.insert("content-type".into(), Value::from("application/json"));
    for (k, v) in &response.headers {
        headers.insert(k.to_ascii_lowercase(), Value::from(v.as_str()));
    }
    json!({
        "statusCode": response.status,
        "headers": headers,
        "body": response.body.to_string(),
        "isBase64Encoded": false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_http_api_event_becomes_a_request() {
        let event = json!({
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": "/shops/DEMO/jobs",
            "rawQueryString": "status=failed&limit=5&cursor=a%2Db+c",
            "headers": {"authorization": "Bearer x.y.z", "content-type": "application/json", "idempotency-key": "k1"},
            "requestContext": {"http": {"method": "GET", "path": "/shops/DEMO/jobs"}, "requestId": "r1"},
            "body": "e30=",
            "isBase64Encoded": true
        });
        let req = HttpApiEvent::from_value(event)
            .unwrap()
            .into_request()
            .unwrap();
        assert_eq!(req.method, "GET");
        assert_eq!(req.path, "/shops/DEMO/jobs");
        assert_eq!(req.query_param("cursor").unwrap(), Some("a-b c"));
        assert_eq!(req.query_param("limit").unwrap(), Some("5"));
        assert_eq!(req.authorization.as_deref(), Some("Bearer x.y.z"));
        assert_eq!(req.idempotency_key.as_deref(), Some("k1"));
        assert_eq!(req.body, b"{}");
    }

    #[test]
    fn a_bad_event_is_explained() {
        let err = HttpApiEvent::from_value(json!({"Records": []})).unwrap_err();
        assert!(err.to_string().contains("requestContext"), "{err}");
        assert_eq!(decode("%zz%4"), "%zz%4");
        assert_eq!(decode("%C3%A4%"), "ä%");
        assert_eq!(decode("ä%e"), "ä%e");
    }
}
