//! The API's view of HTTP: a request as the handler needs it, a JSON response, and the one error shape
//! (`{"error": {"code", "message", "problems"?}}`) that every failure becomes.
//!
//! Codes are stable and listed in infra/openapi.yaml; messages are one plain sentence for people.

use serde::Serialize;
use serde_json::{Value, json};
use shopsync_domain::settings::SettingsProblem;
use shopsync_domain::text::{bounded, preview};
use shopsync_domain::{ErrorKind, SyncError};

/// Largest request body accepted (settings documents are a few KB).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Longest error message an answer carries (characters); messages quote caller input only as a
/// short preview, this bounds whatever else a message may quote (parser errors, stored values).
pub const MAX_MESSAGE_CHARS: usize = 300;
/// Most problems an `invalid_settings` answer lists, and the longest field name it shows.
pub const MAX_PROBLEMS: usize = 50;
const MAX_FIELD_CHARS: usize = 100;

/// An HTTP request, already taken out of its transport (API Gateway event or local server).
#[derive(Debug, Clone, Default)]
pub struct ApiRequest {
    pub method: String,
    /// The path without query string, e.g. `/shops/DEMO/jobs`.
    pub path: String,
    /// Decoded query parameters in order.
    pub query: Vec<(String, String)>,
    /// The `Authorization` header, if any.
    pub authorization: Option<String>,
    /// The `Idempotency-Key` header, if any: a repeated run request with the same key gets the first
    /// request's job instead of a second run.
    pub idempotency_key: Option<String>,
    pub body: Vec<u8>,
    /// For logs only.
    pub request_id: Option<String>,
}

impl ApiRequest {
    pub fn new(method: &str, path: &str) -> ApiRequest {
        ApiRequest {
            method: method.to_ascii_uppercase(),
            path: path.to_string(),
            ..ApiRequest::default()
        }
    }

    pub fn bearer(mut self, token: &str) -> ApiRequest {
        self.authorization = Some(format!("Bearer {token}"));
        self
    }

    pub fn json(mut self, body: &Value) -> ApiRequest {
        self.body = body.to_string().into_bytes();
        self
    }

    pub fn idempotency_key(mut self, key: &str) -> ApiRequest {
        self.idempotency_key = Some(key.to_string());
        self
    }

    pub fn query(mut self, name: &str, value: &str) -> ApiRequest {
        self.query.push((name.to_string(), value.to_string()));
        self
    }

    /// The value of a query parameter; a parameter given twice is an error.
    pub fn query_param(&self, name: &str) -> Result<Option<&str>, ApiError> {
        let mut values = self.query.iter().filter(|(k, _)| k == name);
        let first = values.next().map(|(_, v)| v.as_str());
        if values.next().is_some() {
            return Err(ApiError::invalid(format!(
                "the query parameter '{name}' is given more than once"
            )));
        }
        Ok(first)
    }
}

/// A JSON answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

impl ApiResponse {
    pub fn json(status: u16, body: impl Serialize) -> ApiResponse {
        let body = serde_json::to_value(body).unwrap_or_else(|e| {
            json!({"error": {"code": "internal", "message": format!("could not encode the answer: {e}")}})
        });
        ApiResponse {
            status,
            headers: Vec::new(),
            body,
        }
    }

    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> ApiResponse {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    /// The error code of an error answer.
    pub fn error_code(&self) -> Option<&str> {
        self.body.pointer("/error/code").and_then(Value::as_str)
    }
}

/// Every way a request can fail, with its HTTP status and stable code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code} ({status}): {message}")]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    pub problems: Vec<SettingsProblem>,
    /// Headers of the answer (`Allow` on a `405`).
    pub headers: Vec<(&'static str, String)>,
}

impl ApiError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            problems: Vec::new(),
            headers: Vec::new(),
        }
    }
    /// `405 method_not_allowed` with the `Allow` header listing the methods the path answers.
    pub fn method_not_allowed(allowed: &[&str], message: impl Into<String>) -> ApiError {
        let mut e = ApiError::new(405, "method_not_allowed", message);
        e.headers.push(("Allow", allowed.join(", ")));
        e
    }
    pub fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::new(400, "invalid_request", message)
    }
    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(401, "unauthorized", message)
    }
    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(403, "forbidden", message)
    }
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(404, "not_found", message)
    }
    pub fn conflict(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(409, code, message)
    }
    pub fn with_problems(mut self, problems: Vec<SettingsProblem>) -> ApiError {
        self.problems = problems;
        self
    }

    /// The answer: the error shape, every text in it bounded ([`plain`] messages, at most
    /// [`MAX_PROBLEMS`] problems), and the error's headers.
    pub fn into_response(self) -> ApiResponse {
        let mut error = json!({"code": self.code, "message": plain(&self.message)});
        if !self.problems.is_empty() {
            let problems: Vec<Value> = self
                .problems
                .iter()
                .take(MAX_PROBLEMS)
                .map(|p| {
                    json!({
                        "field": bounded(&p.field, MAX_FIELD_CHARS),
                        "message": plain(&p.message),
                    })
                })
                .collect();
            error["problems"] = Value::Array(problems);
        }
        let mut response = ApiResponse::json(self.status, json!({ "error": error }));
        for (name, value) in self.headers {
            response = response.with_header(name, value);
        }
        response
    }
}

/// A message as an answer carries it: every part in backticks or double quotes (where parsers quote
/// the input they choke on) cut to a short preview, the whole at most [`MAX_MESSAGE_CHARS`].
pub fn plain(message: &str) -> String {
    let mut out = String::with_capacity(message.len().min(MAX_MESSAGE_CHARS * 2));
    let mut rest = message;
    while let Some(start) = rest.find(['`', '"']) {
        let quote = if rest[start..].starts_with('`') {
            '`'
        } else {
            '"'
        };
        out.push_str(&rest[..start + 1]);
        let inner = &rest[start + 1..];
        match inner.find(quote) {
            Some(end) => {
                out.push_str(&preview(&inner[..end]));
                out.push(quote);
                rest = &inner[end + 1..];
            }
            None => {
                out.push_str(&preview(inner));
                rest = "";
            }
        }
        if out.len() > MAX_MESSAGE_CHARS * 4 {
            rest = "";
            break;
        }
    }
    out.push_str(rest);
    bounded(&out, MAX_MESSAGE_CHARS)
}

/// Storage and upstream failures: 404/409/400 when they say so, 503 when retrying later helps, else
/// 500. The details of a 5xx (SDK errors carry raw responses) go to the log, not to the caller.
impl From<SyncError> for ApiError {
    fn from(e: SyncError) -> ApiError {
        match e.kind() {
            ErrorKind::NotFound => ApiError::not_found(e.to_string()),
            ErrorKind::Conflict => ApiError::conflict("conflict", e.to_string()),
            ErrorKind::Validation | ErrorKind::Settings => ApiError::invalid(e.to_string()),
            kind if e.is_retryable() => {
                tracing::warn!(error = %e, ?kind, "request failed on a service that may recover");
                ApiError::new(
                    503,
                    "unavailable",
                    "a service Shopsync depends on is unavailable right now; nothing was lost, try again shortly",
                )
            }
            kind => {
                tracing::error!(error = %e, ?kind, "request failed");
                ApiError::new(
                    500,
                    "internal",
                    "the request failed inside Shopsync; the details are in the api function's log",
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_quote_caller_input_only_as_previews() {
        let long = "x".repeat(60_000);
        let message = format!("options: unknown field `{long}`, expected `full`");
        let shown = plain(&message);
        assert!(shown.len() < 200, "{shown}");
        assert!(shown.ends_with("expected `full`"), "{shown}");
        let message = format!("invalid type: string \"{long}\", expected a boolean");
        assert!(plain(&message).ends_with("expected a boolean"));
        assert_eq!(
            plain("failures of every shop need a token for all shops (\"*\")"),
            "failures of every shop need a token for all shops (\"*\")"
        );
        assert!(plain(&long).chars().count() <= MAX_MESSAGE_CHARS + 1);
        assert!(plain(&format!("unterminated `{long}")).len() < 100);

        let problems = (0..500)
            .map(|i| SettingsProblem {
                field: format!("f{i}{long}"),
                message: long.clone(),
            })
            .collect();
        let response = ApiError::new(400, "invalid_settings", long.clone())
            .with_problems(problems)
            .into_response();
        let size = response.body.to_string().len();
        assert!(size < 50 * 1024, "{size} bytes");
        assert_eq!(
            response.body["error"]["problems"].as_array().unwrap().len(),
            MAX_PROBLEMS
        );
    }
}
