//! One error type for task logic, classified by what the worker should do with it.
//!
//! The worker never inspects messages: it asks [`SyncError::is_retryable`]. Retryable failures return the
//! SQS message as a batch item failure so SQS redelivers it with backoff; permanent failures go to the
//! dead-letter queue at once and fail the job with the reason.

use thiserror::Error;

/// Coarse classification of a failure, stored on failed jobs and dead-letter messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    Throttled,
    Transport,
    Upstream,
    Auth,
    Validation,
    Settings,
    NotFound,
    Storage,
    Conflict,
    Internal,
}

#[derive(Debug, Error, Clone)]
pub enum SyncError {
    /// Shopify or BC kept throttling after the bounded retries.
    #[error("{service} throttled the request and retries were exhausted: {message}")]
    Throttled {
        service: &'static str,
        message: String,
    },
    /// Connection refused/reset, timeout, malformed response body.
    #[error("{service} could not be reached: {message}")]
    Transport {
        service: &'static str,
        message: String,
    },
    /// A 5xx (or equivalent) answer from an upstream service after retries.
    #[error("{service} answered with a server error ({status}): {message}")]
    Upstream {
        service: &'static str,
        status: u16,
        message: String,
    },
    /// 401/403: credentials wrong, expired or lacking scope. Retrying does not help.
    #[error("{service} refused our credentials ({status}): {message}")]
    Auth {
        service: &'static str,
        status: u16,
        message: String,
    },
    /// The upstream rejected the request itself (GraphQL validation, MAX_COST_EXCEEDED, 4xx).
    #[error("{service} rejected the request: {message}")]
    Rejected {
        service: &'static str,
        code: String,
        message: String,
    },
    /// The shop's settings do not allow or do not describe this run.
    #[error("shop settings: {0}")]
    Settings(String),
    /// The shop, job or another named thing does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// DynamoDB/SQS failed; usually transient.
    #[error("state store: {0}")]
    Storage(String),
    /// A conditional write lost a race; the caller decides whether that is benign.
    #[error("conflict: {0}")]
    Conflict(String),
    /// This run no longer owns its job (its lease expired and another run took the job over): it
    /// must stop before its next effect and write nothing more. Not retryable: the job is in other
    /// hands.
    #[error("job {job_id} was taken over by another run")]
    Fenced { job_id: String },
    /// A bug or an impossible state.
    #[error("internal: {0}")]
    Internal(String),
}

impl SyncError {
    /// Whether running the same job again later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            SyncError::Throttled { .. }
                | SyncError::Transport { .. }
                | SyncError::Upstream { .. }
                | SyncError::Storage(_)
                | SyncError::Conflict(_)
        )
    }

    pub fn kind(&self) -> ErrorKind {
        match self {
            SyncError::Throttled { .. } => ErrorKind::Throttled,
            SyncError::Transport { .. } => ErrorKind::Transport,
            SyncError::Upstream { .. } => ErrorKind::Upstream,
            SyncError::Auth { .. } => ErrorKind::Auth,
            SyncError::Rejected { .. } => ErrorKind::Validation,
            SyncError::Settings(_) => ErrorKind::Settings,
            SyncError::NotFound(_) => ErrorKind::NotFound,
            SyncError::Storage(_) => ErrorKind::Storage,
            SyncError::Conflict(_) | SyncError::Fenced { .. } => ErrorKind::Conflict,
            SyncError::Internal(_) => ErrorKind::Internal,
        }
    }
}

impl From<crate::settings::SettingsError> for SyncError {
    fn from(e: crate::settings::SettingsError) -> Self {
        SyncError::Settings(e.to_string())
    }
}
