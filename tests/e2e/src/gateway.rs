//! A local stand-in for API Gateway's HTTP API: it listens on 127.0.0.1, turns each HTTP request into
//! the payload-2.0 event API Gateway would send (raw path, raw query string, lower-cased headers,
//! base64 body, request context) and hands it to the api function's event handler — the same function
//! the Lambda binary runs. The JWT check is the function's own (it re-verifies every token), so the
//! 401s seen here are the product's, not the stand-in's.

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use base64::Engine;
use serde_json::{Value, json};
use shopsync_api::Api;
use std::net::SocketAddr;
use std::sync::Arc;

/// A running local gateway; stops when dropped.
pub struct LocalGateway {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl LocalGateway {
    pub async fn start(api: Arc<Api>) -> std::io::Result<LocalGateway> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let app = axum::Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let api = api.clone();
                async move { forward(&api, method, uri, headers, body).await }
            },
        );
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(LocalGateway { addr, task })
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for LocalGateway {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The payload-2.0 event of one request.
pub fn http_api_event(method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Value {
    let mut hdrs = serde_json::Map::new();
    for (name, value) in headers {
        if let Ok(v) = value.to_str() {
            hdrs.insert(name.as_str().to_ascii_lowercase(), Value::from(v));
        }
    }
    let path = uri.path();
    json!({
        "version": "2.0",
        "routeKey": format!("{method} {path}"),
        "rawPath": path,
        "rawQueryString": uri.query().unwrap_or(""),
        "headers": hdrs,
        "body": base64::engine::general_purpose::STANDARD.encode(body),
        "isBase64Encoded": true,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": "127.0.0.1",
            "http": {"method": method.as_str(), "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "local"},
            "requestId": uuid::Uuid::new_v4().to_string(),
            "routeKey": "$default",
            "stage": "$default",
            "timeEpoch": shopsync_domain::time::now_millis(),
        }
    })
}

async fn forward(api: &Api, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let event = http_api_event(&method, &uri, &headers, &body);
    let answer = shopsync_runtime::api_fn::handle_event(api, event).await;
    let status = answer["statusCode"]
        .as_u64()
        .and_then(|s| StatusCode::from_u16(s as u16).ok());
    let mut response = Response::new(Body::from(
        answer["body"].as_str().unwrap_or("").to_string(),
    ));
    *response.status_mut() = status.unwrap_or(StatusCode::BAD_GATEWAY);
    if let Some(h) = answer["headers"].as_object() {
        for (k, v) in h {
            if let (Ok(name), Some(Ok(value))) = (
                axum::http::HeaderName::from_bytes(k.as_bytes()),
                v.as_str().map(HeaderValue::from_str),
            ) {
                response.headers_mut().insert(name, value);
            }
        }
    }
    response
}
