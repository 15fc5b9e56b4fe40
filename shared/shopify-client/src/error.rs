//! The crate's error type. It keeps enough detail for tests and logs (HTTP status, GraphQL code,
//! attempts) and classifies itself, so the worker only ever asks `is_retryable()` — directly or
//! after conversion into the domain's [`SyncError`].

use shopsync_domain::SyncError;
use thiserror::Error;

const SERVICE: &str = "shopify";

#[derive(Debug, Error, Clone, PartialEq)]
pub enum ShopifyError {
    /// THROTTLED or HTTP 429 on every attempt.
    #[error("throttled after {attempts} attempts: {message}")]
    Throttled { attempts: u32, message: String },
    /// 5xx (or a top-level INTERNAL_SERVER_ERROR) on the last attempt.
    #[error("server error {status} after {attempts} attempts: {message}")]
    Upstream {
        status: u16,
        attempts: u32,
        message: String,
    },
    /// Connection refused/reset, timeout, unreadable or malformed body, on the last attempt.
    #[error("transport error after {attempts} attempts: {message}")]
    Transport { attempts: u32, message: String },
    /// A mutation that would apply twice if repeated failed in a way that leaves open whether
    /// Shopify ran it (connection lost after sending, 5xx). Not resent; retryable once the caller
    /// has looked for its effect.
    #[error("outcome unknown, not resent: {message}")]
    OutcomeUnknown { message: String },
    /// 401/403 or a top-level ACCESS_DENIED: the token is wrong, expired or lacks a scope.
    #[error("credentials refused ({status}): {message}")]
    Auth { status: u16, message: String },
    /// The document costs more than Shopify allows for one query; resending cannot help.
    #[error("query cost exceeds the single-query maximum: {message}")]
    MaxCostExceeded { message: String },
    /// Any other top-level GraphQL error (validation, invalid variables, BAD_REQUEST…), or another 4xx.
    #[error("request rejected ({code}): {message}")]
    Rejected { code: String, message: String },
    /// Refused locally before sending (e.g. more than 250 rows).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// A bulk operation ended FAILED, CANCELED or EXPIRED, or could not be started.
    #[error("bulk operation {id} ended {status} ({error_code:?})")]
    Bulk {
        id: String,
        status: String,
        error_code: Option<String>,
    },
    /// A named object (location, bulk operation) does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The response parsed but lacked something we rely on (a bug on one side or the other).
    #[error("unexpected response: {0}")]
    Unexpected(String),
}

impl ShopifyError {
    /// Whether running the same work again later may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            ShopifyError::Throttled { .. }
            | ShopifyError::Upstream { .. }
            | ShopifyError::Transport { .. }
            | ShopifyError::OutcomeUnknown { .. } => true,
            // ACCESS_DENIED will not go away; a timeout, internal error, cancel or expiry may.
            ShopifyError::Bulk { error_code, .. } => error_code.as_deref() != Some("ACCESS_DENIED"),
            ShopifyError::Auth { .. }
            | ShopifyError::MaxCostExceeded { .. }
            | ShopifyError::Rejected { .. }
            | ShopifyError::InvalidRequest(_)
            | ShopifyError::NotFound(_)
            | ShopifyError::Unexpected(_) => false,
        }
    }
}

impl From<ShopifyError> for SyncError {
    fn from(e: ShopifyError) -> Self {
        let message = e.to_string();
        match e {
            ShopifyError::Throttled { .. } => SyncError::Throttled {
                service: SERVICE,
                message,
            },
            ShopifyError::Upstream { status, .. } => SyncError::Upstream {
                service: SERVICE,
                status,
                message,
            },
            ShopifyError::Transport { .. } | ShopifyError::OutcomeUnknown { .. } => {
                SyncError::Transport {
                    service: SERVICE,
                    message,
                }
            }
            ShopifyError::Auth { status, .. } => SyncError::Auth {
                service: SERVICE,
                status,
                message,
            },
            ShopifyError::MaxCostExceeded { .. } => SyncError::Rejected {
                service: SERVICE,
                code: "MAX_COST_EXCEEDED".into(),
                message,
            },
            ShopifyError::Rejected { code, .. } => SyncError::Rejected {
                service: SERVICE,
                code,
                message,
            },
            ShopifyError::InvalidRequest(_) => SyncError::Rejected {
                service: SERVICE,
                code: "INVALID_REQUEST".into(),
                message,
            },
            ShopifyError::Bulk { ref error_code, .. }
                if error_code.as_deref() == Some("ACCESS_DENIED") =>
            {
                SyncError::Auth {
                    service: SERVICE,
                    status: 403,
                    message,
                }
            }
            // A failed/expired bulk operation is Shopify's side failing; no HTTP status exists, 500 stands in.
            ShopifyError::Bulk { .. } => SyncError::Upstream {
                service: SERVICE,
                status: 500,
                message,
            },
            ShopifyError::NotFound(what) => SyncError::NotFound(format!("shopify {what}")),
            ShopifyError::Unexpected(_) => SyncError::Internal(message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_survives_conversion() {
        let cases = [
            ShopifyError::Throttled {
                attempts: 7,
                message: "x".into(),
            },
            ShopifyError::Upstream {
                status: 503,
                attempts: 7,
                message: "x".into(),
            },
            ShopifyError::Transport {
                attempts: 7,
                message: "x".into(),
            },
            ShopifyError::OutcomeUnknown {
                message: "x".into(),
            },
            ShopifyError::Auth {
                status: 401,
                message: "x".into(),
            },
            ShopifyError::MaxCostExceeded {
                message: "x".into(),
            },
            ShopifyError::Rejected {
                code: "BAD_REQUEST".into(),
                message: "x".into(),
            },
            ShopifyError::InvalidRequest("x".into()),
            ShopifyError::Bulk {
                id: "b".into(),
                status: "FAILED".into(),
                error_code: Some("TIMEOUT".into()),
            },
            ShopifyError::Bulk {
                id: "b".into(),
                status: "FAILED".into(),
                error_code: Some("ACCESS_DENIED".into()),
            },
        ];
        for e in cases {
            let retryable = e.is_retryable();
            let s: SyncError = e.clone().into();
            assert_eq!(s.is_retryable(), retryable, "{e:?} -> {s:?}");
        }
        let s: SyncError = ShopifyError::MaxCostExceeded {
            message: "m".into(),
        }
        .into();
        assert!(matches!(s, SyncError::Rejected { ref code, .. } if code == "MAX_COST_EXCEEDED"));
        let s: SyncError = ShopifyError::Auth {
            status: 403,
            message: "m".into(),
        }
        .into();
        assert!(matches!(s, SyncError::Auth { status: 403, .. }));
    }
}
