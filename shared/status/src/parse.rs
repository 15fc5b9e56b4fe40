//! Reading a dead-letter message into a [`Failure`].
//!
//! The shared dead-letter queue receives three kinds of message, and on-call must be told which is
//! which, because only the first two can be retried:
//!
//! - **Worker**: a task message (the [`JobMessage`] JSON) that a worker sent itself, with the reason as
//!   message attributes (`error_kind`, `error`, plus `shop`, `task`, `job_id`).
//! - **Redrive**: a task message that SQS moved after the queue's `maxReceiveCount` receives. It keeps
//!   the job attributes every task message carries, but nobody said why: every attempt ended without
//!   the worker finishing (a crash, a timeout, throttled invocations).
//! - **AsyncInvoke**: Lambda's on-failure destination record of a scheduled (asynchronous) invocation
//!   that failed all its attempts — a failed fan-out. It belongs to no shop; the task is recognised
//!   from the function name (`…-SyncInventoryFunction-…`).
//!
//! Anything else is **Unreadable** and can only be discarded.

use serde::Deserialize;
use shopsync_domain::status::{Failure, FailureSource, FailureState};
use shopsync_domain::status_ports::DeadLetterMessage;
use shopsync_domain::{JobMessage, TaskKind};

/// Error texts kept on a failure are cut to this many characters.
const MAX_ERROR_CHARS: usize = 2000;
/// How much of an unreadable body is quoted in its error.
const BODY_EXCERPT_CHARS: usize = 160;

/// A dead-letter message as understood: the failure, plus the seq of the job message it carried (a
/// message older than the job's current seq does not speak for the job any more).
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedFailure {
    pub failure: Failure,
    pub seq: Option<u64>,
}

/// Understand one dead-letter message. `now` stands in for a missing send time.
pub fn parse_dead_letter(m: &DeadLetterMessage, now: i64) -> ParsedFailure {
    let attr = |name: &str| {
        m.attributes
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    let failed_at = m.sent_at.unwrap_or(now);
    if let Ok(job) = serde_json::from_str::<JobMessage>(&m.body) {
        let worker = attr("error_kind").is_some() || attr("error").is_some();
        let (source, error_kind, error) = if worker {
            (
                FailureSource::Worker,
                attr("error_kind").unwrap_or_else(|| "unknown".into()),
                attr("error").unwrap_or_else(|| "(the worker gave no message)".into()),
            )
        } else {
            (
                FailureSource::Redrive,
                "unknown".into(),
                "SQS moved this message to the dead-letter queue after the task queue's \
                 maxReceiveCount receives: no attempt finished or gave a reason (the function \
                 crashed, timed out or could not be invoked)"
                    .into(),
            )
        };
        return ParsedFailure {
            failure: Failure {
                id: m.message_id.clone(),
                shop: Some(job.shop),
                task: Some(job.task),
                job_id: Some(job.job_id),
                source,
                state: FailureState::Open,
                error_kind,
                error: cut(&error),
                failed_at,
                retry_job_id: None,
            },
            seq: Some(job.seq),
        };
    }
    if let Ok(record) = serde_json::from_str::<AsyncRecord>(&m.body) {
        return ParsedFailure {
            failure: record.into_failure(&m.message_id, failed_at),
            seq: None,
        };
    }
    let error = match attr("error") {
        Some(e) => e,
        None => format!(
            "the message is neither a Shopsync job message nor a Lambda failure record \
             ({} bytes): {}",
            m.body.len(),
            excerpt(&m.body, BODY_EXCERPT_CHARS)
        ),
    };
    ParsedFailure {
        failure: Failure {
            id: m.message_id.clone(),
            shop: attr("shop"),
            task: attr("task").and_then(|t| t.parse().ok()),
            job_id: attr("job_id"),
            source: FailureSource::Unreadable,
            state: FailureState::Open,
            error_kind: attr("error_kind").unwrap_or_else(|| "unknown".into()),
            error: cut(&error),
            failed_at,
            retry_job_id: None,
        },
        seq: None,
    }
}

/// Lambda's on-failure destination record of an asynchronous invocation.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AsyncRecord {
    #[serde(default)]
    timestamp: Option<String>,
    request_context: RequestContext,
    #[serde(default)]
    response_context: Option<ResponseContext>,
    #[serde(default)]
    response_payload: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RequestContext {
    function_arn: String,
    #[serde(default)]
    condition: Option<String>,
    #[serde(default)]
    approximate_invoke_count: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResponseContext {
    #[serde(default)]
    function_error: Option<String>,
}

impl AsyncRecord {
    fn into_failure(self, id: &str, sent_at: i64) -> Failure {
        let function = function_name(&self.request_context.function_arn);
        let attempts = self.request_context.approximate_invoke_count.unwrap_or(1);
        let condition = self
            .request_context
            .condition
            .as_deref()
            .unwrap_or("unknown condition");
        let payload = self.response_payload.as_ref();
        let text = |key: &str| {
            payload
                .and_then(|p| p.get(key))
                .and_then(|v| v.as_str())
                .map(str::to_string)
        };
        let what = match (text("errorType"), text("errorMessage")) {
            (Some(t), Some(m)) => format!("{t}: {m}"),
            (Some(t), None) => t,
            (None, Some(m)) => m,
            (None, None) => self
                .response_context
                .and_then(|c| c.function_error)
                .map(|e| format!("function error {e}"))
                .unwrap_or_else(|| "no error reported".into()),
        };
        let failed_at = self
            .timestamp
            .as_deref()
            .and_then(|t| {
                time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
            })
            .map(|t| t.unix_timestamp())
            .unwrap_or(sent_at);
        Failure {
            id: id.to_string(),
            shop: None,
            task: task_of_function(function),
            job_id: None,
            source: FailureSource::AsyncInvoke,
            state: FailureState::Open,
            error_kind: "unknown".into(),
            error: cut(&format!(
                "the scheduled invocation of {function} failed after {attempts} attempt(s) \
                 ({condition}): {what}"
            )),
            failed_at,
            retry_job_id: None,
        }
    }
}

/// `arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]` → `<name>`.
fn function_name(arn: &str) -> &str {
    let mut parts = arn.split(':');
    match parts.position(|p| p == "function") {
        Some(_) => parts.next().unwrap_or(arn),
        None => arn,
    }
}

/// The task whose CamelCase name (`SyncInventory`) the function name contains; the longest wins, so
/// `SyncCatalogPrices` is not taken for `SyncCatalogs`.
pub fn task_of_function(function: &str) -> Option<TaskKind> {
    TaskKind::ALL
        .into_iter()
        .map(|t| (t, crate::emf::pascal_case(t.name(), '-')))
        .filter(|(_, camel)| function.contains(camel.as_str()))
        .max_by_key(|(_, camel)| camel.len())
        .map(|(t, _)| t)
}

fn excerpt(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

fn cut(text: &str) -> String {
    excerpt(text, MAX_ERROR_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn message(body: &str, attrs: &[(&str, &str)]) -> DeadLetterMessage {
        DeadLetterMessage {
            message_id: "9f0c4e8e-1d2b-4d7e-a3f1-0b6c2d9e7a11".into(),
            body: body.into(),
            attributes: attrs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
            sent_at: Some(1_764_000_000),
        }
    }

    const JOB: &str = r#"{"shop":"DEMO","task":"sync-inventory","job_id":"1764000000000-sync-inventory-ab12","seq":2}"#;

    #[test]
    fn a_worker_dead_letter_carries_its_reason() {
        let m = message(
            JOB,
            &[
                ("shop", "DEMO"),
                ("task", "sync-inventory"),
                ("job_id", "1764000000000-sync-inventory-ab12"),
                ("error_kind", "auth"),
                (
                    "error",
                    "Shopify refused our credentials (401): Invalid API key",
                ),
            ],
        );
        let p = parse_dead_letter(&m, 5);
        assert_eq!(p.seq, Some(2));
        let f = p.failure;
        assert_eq!(f.source, FailureSource::Worker);
        assert_eq!(f.id, m.message_id);
        assert_eq!(f.shop.as_deref(), Some("DEMO"));
        assert_eq!(f.task, Some(TaskKind::SyncInventory));
        assert_eq!(
            f.job_id.as_deref(),
            Some("1764000000000-sync-inventory-ab12")
        );
        assert_eq!(f.error_kind, "auth");
        assert!(f.error.contains("401"), "{}", f.error);
        assert_eq!(f.state, FailureState::Open);
        assert_eq!(f.failed_at, 1_764_000_000);
    }

    #[test]
    fn a_redriven_task_message_says_sqs_moved_it() {
        let m = message(
            JOB,
            &[
                ("shop", "DEMO"),
                ("task", "sync-inventory"),
                ("job_id", "1764000000000-sync-inventory-ab12"),
            ],
        );
        let f = parse_dead_letter(&m, 5).failure;
        assert_eq!(f.source, FailureSource::Redrive);
        assert_eq!(f.error_kind, "unknown");
        assert!(f.error.contains("maxReceiveCount"), "{}", f.error);
        assert_eq!(
            f.job_id.as_deref(),
            Some("1764000000000-sync-inventory-ab12")
        );
    }

    #[test]
    fn a_lambda_on_failure_record_is_an_async_failure_of_the_task() {
        let body = serde_json::json!({
            "version": "1.0",
            "timestamp": "2026-11-26T18:00:03.123Z",
            "requestContext": {
                "requestId": "e4b2a3f0-5a4c-4a57-9a57-7c1f7a1e2b3c",
                "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:shopsync-SyncInventoryFunction-AbC:$LATEST",
                "condition": "RetriesExhausted",
                "approximateInvokeCount": 2
            },
            "requestPayload": {
                "version": "0",
                "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
                "detail-type": "Scheduled Event",
                "source": "aws.events",
                "account": "123456789012",
                "time": "2026-11-26T18:00:00Z",
                "region": "us-east-1",
                "resources": ["arn:aws:events:us-east-1:123456789012:rule/shopsync-SyncInventoryFunctionSchedule-XYZ"],
                "detail": {}
            },
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "responsePayload": {"errorType": "&lambda_runtime::Error", "errorMessage": "state store: Query shops: timeout"}
        })
        .to_string();
        let f = parse_dead_letter(&message(&body, &[]), 5).failure;
        assert_eq!(f.source, FailureSource::AsyncInvoke);
        assert_eq!(f.shop, None);
        assert_eq!(f.job_id, None);
        assert_eq!(f.task, Some(TaskKind::SyncInventory));
        assert_eq!(f.failed_at, 1_795_716_003);
        assert!(
            f.error.contains("shopsync-SyncInventoryFunction-AbC"),
            "{}",
            f.error
        );
        assert!(
            f.error.contains("2 attempt(s) (RetriesExhausted)"),
            "{}",
            f.error
        );
        assert!(f.error.contains("Query shops: timeout"), "{}", f.error);

        let other = body.replace("SyncInventoryFunction", "StatusFunction");
        let f = parse_dead_letter(&message(&other, &[]), 5).failure;
        assert_eq!(f.source, FailureSource::AsyncInvoke);
        assert_eq!(f.task, None);
    }

    #[test]
    fn the_longest_task_name_wins() {
        assert_eq!(
            task_of_function("shopsync-SyncCatalogPricesFunction-1"),
            Some(TaskKind::SyncCatalogPrices)
        );
        assert_eq!(
            task_of_function("shopsync-SyncCatalogsFunction-1"),
            Some(TaskKind::SyncCatalogs)
        );
        assert_eq!(
            task_of_function("shopsync-CreateSalesOrdersFunction-1"),
            Some(TaskKind::CreateSalesOrders)
        );
        assert_eq!(function_name("arn:aws:lambda:r:1:function:f:$LATEST"), "f");
        assert_eq!(function_name("arn:aws:lambda:r:1:function:f"), "f");
    }

    #[test]
    fn anything_else_is_unreadable() {
        let f = parse_dead_letter(&message("not json at all", &[]), 5).failure;
        assert_eq!(f.source, FailureSource::Unreadable);
        assert_eq!(f.shop, None);
        assert!(f.error.contains("not json at all"), "{}", f.error);

        // What the worker sends for a body it could not read: its reason, no job.
        let f = parse_dead_letter(
            &message(
                r#"{"shop":"DEMO"}"#,
                &[
                    ("error_kind", "validation"),
                    ("error", "unreadable job message: missing field `task`"),
                ],
            ),
            5,
        )
        .failure;
        assert_eq!(f.source, FailureSource::Unreadable);
        assert_eq!(f.error_kind, "validation");
        assert!(f.error.starts_with("unreadable job message"), "{}", f.error);

        let mut m = message(&"x".repeat(10_000), &[]);
        m.sent_at = None;
        let f = parse_dead_letter(&m, 77).failure;
        assert_eq!(f.failed_at, 77);
        assert!(f.error.chars().count() < 400, "bodies are quoted briefly");
    }
}
