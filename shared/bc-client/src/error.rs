//! BC failures as data. BC answers errors as `{"error":{"code","message"}}` (Entra as
//! `{"error","error_description"}`); the status and code decide what the caller can do, so they are
//! parsed into variants instead of being passed around as strings. The mapping to [`SyncError`] is where
//! "retry the job later" versus "fail it now" is decided for BC.

use crate::wire::{EntraErrorBody, ODataErrorBody};
use shopsync_domain::SyncError;
use std::time::Duration;
use thiserror::Error;

pub(crate) const SERVICE: &str = "bc";

#[derive(Debug, Error, Clone, PartialEq)]
pub enum BcError {
    /// 401/403 from BC, or the token endpoint refused our credentials.
    #[error("BC refused our credentials ({status} {code}): {message}")]
    Unauthorized {
        status: u16,
        code: String,
        message: String,
    },
    /// 409 `Request_EntityChanged` (or 412): the ETag we sent is stale.
    #[error("BC record was changed by someone else: {message}")]
    EntityChanged { message: String },
    /// 404: entity, company or published page does not exist.
    #[error("BC resource not found ({code}): {message}")]
    NotFound { code: String, message: String },
    /// 429 after the bounded retries.
    #[error("BC throttled the request (429): {message}")]
    Throttled {
        retry_after: Option<Duration>,
        message: String,
    },
    /// 5xx.
    #[error("BC server error {status} ({code}): {message}")]
    Server {
        status: u16,
        code: String,
        message: String,
        retry_after: Option<Duration>,
    },
    /// Any other 4xx: the request itself is wrong.
    #[error("BC rejected the request ({status} {code}): {message}")]
    BadRequest {
        status: u16,
        code: String,
        message: String,
    },
    /// No usable answer. `outcome_unknown` is true when the request may have reached BC (a write may have
    /// happened); false when it never left (connect failure).
    #[error("BC could not be reached: {message}")]
    Transport {
        message: String,
        outcome_unknown: bool,
    },
    /// A success answer that does not have the expected shape.
    #[error("BC answer could not be read: {message}")]
    Decode { message: String },
    /// The configuration cannot work (bad URL, …).
    #[error("BC client configuration: {0}")]
    Config(String),
    /// A value we were about to send would be refused by BC (too long for its field, not a GUID, a
    /// document without lines, a variant BC does not have, …); nothing was sent. Not retryable: the
    /// record is wrong, not the connection.
    #[error("not sent to BC: {message}")]
    Invalid { message: String },
}

impl BcError {
    /// Whether the same request may succeed later.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            BcError::Throttled { .. }
                | BcError::Server { .. }
                | BcError::Transport { .. }
                | BcError::Decode { .. }
        )
    }

    /// The server's `Retry-After`, if it sent one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            BcError::Throttled { retry_after, .. } | BcError::Server { retry_after, .. } => {
                *retry_after
            }
            _ => None,
        }
    }

    /// Build from a non-success BC answer.
    pub fn from_response(status: u16, retry_after: Option<Duration>, body: &[u8]) -> BcError {
        let (code, message) = parse_error_body(status, body);
        match status {
            401 | 403 => BcError::Unauthorized {
                status,
                code,
                message,
            },
            404 => BcError::NotFound { code, message },
            409 if code == "Request_EntityChanged" => BcError::EntityChanged { message },
            412 => BcError::EntityChanged { message },
            _ => Self::throttled_server_or_bad_request(status, code, message, retry_after),
        }
    }

    /// The classification BC API answers and token answers share: 429, 5xx, any other refusal.
    fn throttled_server_or_bad_request(
        status: u16,
        code: String,
        message: String,
        retry_after: Option<Duration>,
    ) -> BcError {
        match status {
            429 => BcError::Throttled {
                retry_after,
                message,
            },
            500..=599 => BcError::Server {
                status,
                code,
                message,
                retry_after,
            },
            _ => BcError::BadRequest {
                status,
                code,
                message,
            },
        }
    }

    /// Build from a refused token request (Entra's body shape).
    pub fn from_token_response(status: u16, retry_after: Option<Duration>, body: &[u8]) -> BcError {
        // Not Entra's shape (a proxy's page, …): no code, and the start of the body as the message.
        let parsed = serde_json::from_slice::<EntraErrorBody>(body).ok();
        let (code, description) = parsed
            .map(|b| (b.error, b.error_description))
            .unwrap_or_default();
        let code = code.unwrap_or_default();
        // Entra appends trace/correlation lines to the description; the first line is the useful part.
        let message = description
            .map(|d| d.lines().next().unwrap_or_default().to_string())
            .unwrap_or_else(|| snippet(status, body));
        match status {
            400 | 401 | 403 => BcError::Unauthorized {
                status,
                code,
                message,
            },
            _ => Self::throttled_server_or_bad_request(status, code, message, retry_after),
        }
    }
}

fn snippet(status: u16, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        format!("HTTP {status} without a body")
    } else {
        text.chars().take(200).collect()
    }
}

/// `(code, message)` from `{"error":{"code","message"}}`; a body of another shape (a gateway's
/// HTML page, …) gives no code and the start of the body as the message. The status alone decides
/// the error's kind, so an unreadable error body never hides a 429 or a 503.
fn parse_error_body(status: u16, body: &[u8]) -> (String, String) {
    match serde_json::from_slice::<ODataErrorBody>(body) {
        Ok(ODataErrorBody { error }) => {
            let message = error
                .message
                .map(|m| m.trim().to_string())
                .unwrap_or_else(|| snippet(status, body));
            (error.code, message)
        }
        Err(_) => (String::new(), snippet(status, body)),
    }
}

impl From<BcError> for SyncError {
    fn from(e: BcError) -> SyncError {
        let text = e.to_string();
        match e {
            BcError::Unauthorized {
                status, message, ..
            } => SyncError::Auth {
                service: SERVICE,
                status,
                message,
            },
            BcError::EntityChanged { .. } => SyncError::Conflict(text),
            BcError::NotFound { .. } => SyncError::NotFound(text),
            BcError::Throttled { message, .. } => SyncError::Throttled {
                service: SERVICE,
                message,
            },
            BcError::Server {
                status, message, ..
            } => SyncError::Upstream {
                service: SERVICE,
                status,
                message,
            },
            BcError::BadRequest { code, message, .. } => SyncError::Rejected {
                service: SERVICE,
                code,
                message,
            },
            BcError::Transport { message, .. } => SyncError::Transport {
                service: SERVICE,
                message,
            },
            BcError::Decode { message } => SyncError::Transport {
                service: SERVICE,
                message: format!("malformed answer: {message}"),
            },
            BcError::Config(message) => SyncError::Settings(format!("Business Central: {message}")),
            BcError::Invalid { message } => SyncError::Rejected {
                service: SERVICE,
                code: "invalid_input".into(),
                message,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bc_error_bodies() {
        let body = br#"{"error":{"code":"Request_EntityChanged","message":"Another user has already changed the record."}}"#;
        assert_eq!(
            BcError::from_response(409, None, body),
            BcError::EntityChanged {
                message: "Another user has already changed the record.".into()
            }
        );
        let e = BcError::from_response(
            404,
            None,
            br#"{"error":{"code":"BadRequest_NotFound","message":"nope"}}"#,
        );
        assert!(matches!(e, BcError::NotFound { ref code, .. } if code == "BadRequest_NotFound"));
        let e = BcError::from_response(504, None, b"<html>504 Gateway Time-out</html>");
        assert!(matches!(e, BcError::Server { status: 504, .. }) && e.is_retryable());
        let e = BcError::from_response(
            400,
            None,
            br#"{"error":{"code":"BadRequest_InvalidToken","message":"x"}}"#,
        );
        assert!(matches!(e, BcError::BadRequest { status: 400, .. }) && !e.is_retryable());
    }

    #[test]
    fn error_bodies_of_other_shapes_keep_their_status() {
        // Not BC's shape: no code, the start of the body as the message; the status decides.
        let e = BcError::from_response(429, None, br#"{"error":"busy"}"#);
        assert_eq!(
            e,
            BcError::Throttled {
                retry_after: None,
                message: r#"{"error":"busy"}"#.into()
            }
        );
        let e = BcError::from_response(503, None, b"");
        assert!(
            matches!(e, BcError::Server { status: 503, ref message, .. } if message == "HTTP 503 without a body")
        );
        // BC's shape without a message: the code is kept.
        let e = BcError::from_response(400, None, br#"{"error":{"code":"BadRequest"}}"#);
        assert!(
            matches!(e, BcError::BadRequest { ref code, ref message, .. } if code == "BadRequest" && message.contains("BadRequest"))
        );
        let e = BcError::from_token_response(500, None, b"<html>down</html>");
        assert!(
            matches!(e, BcError::Server { status: 500, ref code, ref message, .. } if code.is_empty() && message == "<html>down</html>")
        );
    }

    #[test]
    fn maps_to_sync_error() {
        let auth: SyncError = BcError::from_token_response(401, None, br#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.\r\nTrace ID: x"}"#).into();
        assert!(
            matches!(auth, SyncError::Auth { status: 401, ref message, .. } if message == "AADSTS7000215: Invalid client secret provided.")
        );
        assert!(!auth.is_retryable());
        let throttled: SyncError = BcError::Throttled {
            retry_after: None,
            message: "m".into(),
        }
        .into();
        assert!(matches!(throttled, SyncError::Throttled { .. }) && throttled.is_retryable());
        let upstream: SyncError = BcError::Server {
            status: 503,
            code: String::new(),
            message: "m".into(),
            retry_after: None,
        }
        .into();
        assert!(matches!(upstream, SyncError::Upstream { status: 503, .. }));
        let rejected: SyncError = BcError::BadRequest {
            status: 400,
            code: "BadRequest".into(),
            message: "m".into(),
        }
        .into();
        assert!(matches!(rejected, SyncError::Rejected { .. }) && !rejected.is_retryable());
        let conflict: SyncError = BcError::EntityChanged {
            message: "m".into(),
        }
        .into();
        assert!(matches!(conflict, SyncError::Conflict(_)));
        let invalid = BcError::Invalid {
            message: "m".into(),
        };
        assert!(!invalid.is_retryable());
        let invalid: SyncError = invalid.into();
        assert!(
            matches!(invalid, SyncError::Rejected { ref code, .. } if code == "invalid_input")
                && !invalid.is_retryable()
        );
    }
}
