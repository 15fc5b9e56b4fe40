//! API Gateway HTTP API (payload format 2.0) in and out, with the event types of `aws_lambda_events`.
//!
//! Only what the API uses is read: method, raw path, raw query string, the `authorization` and
//! `idempotency-key` headers, the body (base64 when `isBase64Encoded`) and the request id. The
//! answer is the 2.0 response shape with a JSON body.

use crate::http::{ApiRequest, ApiResponse};
use aws_lambda_events::encodings::Body;
use aws_lambda_events::event::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::http::{HeaderMap, HeaderName, HeaderValue};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

/// An HTTP API event as API Gateway sends it.
#[derive(Debug)]
pub struct HttpApiEvent(pub ApiGatewayV2httpRequest);

#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("not an HTTP API (payload 2.0) event: {0}")]
    Shape(String),
    #[error("the body is marked base64 but is not: {0}")]
    Base64(String),
}

impl HttpApiEvent {
    pub fn from_value(value: Value) -> Result<HttpApiEvent, EventError> {
        serde_json::from_value(value)
            .map(HttpApiEvent)
            .map_err(|e| EventError::Shape(crate::routes::parse_error(&e)))
    }

    pub fn into_request(self) -> Result<ApiRequest, EventError> {
        let event = self.0;
        let body = match event.body {
            None => Vec::new(),
            Some(b) if event.is_base64_encoded => STANDARD
                .decode(b.as_bytes())
                .map_err(|e| EventError::Base64(crate::routes::parse_error(&e)))?,
            Some(b) => b.into_bytes(),
        };
        let header = |name: &str| {
            event
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let authorization = header("authorization");
        let idempotency_key = header("idempotency-key");
        let path = event
            .raw_path
            .filter(|p| !p.is_empty())
            .or(event.request_context.http.path)
            .unwrap_or_default();
        Ok(ApiRequest {
            method: event
                .request_context
                .http
                .method
                .as_str()
                .to_ascii_uppercase(),
            path,
            query: parse_query(event.raw_query_string.as_deref().unwrap_or_default()),
            authorization,
            idempotency_key,
            body,
            request_id: event.request_context.request_id,
        })
    }
}

/// `a=1&b=x%20y` → pairs, percent- and plus-decoded (`application/x-www-form-urlencoded` rules, as
/// API Gateway passes the raw query string through).
pub fn parse_query(raw: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(raw.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The 2.0 response shape, with the answer's headers (`Location`, `Allow`) lower-cased as HTTP API
/// sends them.
pub fn to_event_response(response: &ApiResponse) -> Value {
    let mut headers = HeaderMap::new();
    headers.insert(
        aws_lambda_events::http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    for (k, v) in &response.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(k.to_ascii_lowercase().as_bytes()),
            HeaderValue::from_str(v),
        ) {
            headers.insert(name, value);
        }
    }
    let mut answer = ApiGatewayV2httpResponse::default();
    answer.status_code = i64::from(response.status);
    answer.headers = headers;
    answer.body = Some(Body::Text(response.body.to_string()));
    answer.is_base64_encoded = false;
    serde_json::to_value(answer).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
        assert_eq!(
            parse_query("a=%zz%4&b=%C3%A4%&c=x+y"),
            vec![
                ("a".to_string(), "%zz%4".to_string()),
                ("b".to_string(), "ä%".to_string()),
                ("c".to_string(), "x y".to_string())
            ]
        );
    }
}
