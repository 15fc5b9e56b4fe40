//! Mapping AWS SDK failures onto [`SyncError`].
//!
//! The worker decides between "retry the message" and "dead-letter it" by asking
//! [`SyncError::is_retryable`], so the mapping matters: anything the AWS services answer that is not a
//! lost condition is [`SyncError::Storage`] (retryable: throttling, timeouts, 5xx, a table that is
//! being created). Lost conditions are handled where they are expected, by each adapter.

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use shopsync_domain::SyncError;
use std::error::Error;

/// A retryable storage error naming the operation and the full SDK error chain.
pub(crate) fn storage<E, R>(op: &str, err: SdkError<E, R>) -> SyncError
where
    E: Error + 'static,
    R: std::fmt::Debug,
{
    SyncError::Storage(format!("{op}: {}", DisplayErrorContext(&err)))
}

/// A stored item that does not have the shape this crate writes: a bug or manual tampering.
pub(crate) fn corrupt(what: &str, detail: impl std::fmt::Display) -> SyncError {
    SyncError::Internal(format!("stored {what} is malformed: {detail}"))
}

/// Whether DynamoDB refused a write on its condition (`ConditionalCheckFailedException`), whatever the
/// operation.
pub(crate) fn is_condition_failed<E, R>(err: &SdkError<E, R>) -> bool
where
    E: ProvideErrorMetadata,
{
    err.as_service_error().and_then(|e| e.code()) == Some("ConditionalCheckFailedException")
}
