//! One binary per task is invoked by two triggers: the EventBridge cron rule (fan-out) and the SQS
//! event source mapping (worker). This module tells them apart and dispatches.

use crate::{App, fanout, worker};
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use serde_json::Value;
use std::time::Instant;

/// What invoked us.
pub enum Invocation {
    /// An SQS batch for the worker.
    Sqs(SqsEvent),
    /// A scheduled tick at this time (epoch ms).
    Schedule { tick_millis: i64 },
}

#[derive(Debug, thiserror::Error)]
#[error("unrecognised invocation payload: {0}")]
pub struct UnknownEvent(pub String);

/// Why an invocation failed as a whole (Lambda then retries it, and finally sends it to the
/// function's on-failure destination, the dead-letter queue).
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error(transparent)]
    Unknown(#[from] UnknownEvent),
    /// Some shops could not be queued. Retrying the tick is safe: shops already queued are not due
    /// any more, and job ids derive from the tick.
    #[error("fan-out could not queue {count} shop(s), first {shop}: {error}")]
    FanOutIncomplete {
        count: usize,
        shop: String,
        error: String,
    },
}

/// Classify a raw payload with the event types of `aws_lambda_events`. Scheduled events are the
/// EventBridge envelope (`source: aws.events`, `detail-type: Scheduled Event`); their `time` fixes
/// the tick, so a duplicate delivery of one tick maps to the same jobs.
pub fn classify(payload: Value) -> Result<Invocation, UnknownEvent> {
    if payload.get("Records").is_some() {
        return serde_json::from_value(payload)
            .map(Invocation::Sqs)
            .map_err(|e| UnknownEvent(format!("bad SQS event: {e}")));
    }
    let preview: String = payload.to_string().chars().take(200).collect();
    let event: EventBridgeEvent = serde_json::from_value(payload)
        .map_err(|e| UnknownEvent(format!("{preview} (not an SQS or EventBridge event: {e})")))?;
    if event.source != "aws.events" || event.detail_type != "Scheduled Event" {
        return Err(UnknownEvent(format!(
            "an EventBridge event from '{}' of type '{}' is not a schedule",
            event.source.chars().take(60).collect::<String>(),
            event.detail_type.chars().take(60).collect::<String>()
        )));
    }
    let time = event
        .time
        .ok_or_else(|| UnknownEvent("scheduled event without a time".into()))?;
    Ok(Invocation::Schedule {
        tick_millis: time.timestamp_millis(),
    })
}

/// Handle any invocation; returns the JSON the runtime should answer with.
pub async fn handle(app: &App, payload: Value, deadline: Instant) -> Result<Value, HandlerError> {
    match classify(payload)? {
        Invocation::Sqs(event) => {
            let response: SqsBatchResponse = worker::handle_batch(app, event, deadline).await;
            Ok(serde_json::to_value(response).unwrap_or(Value::Null))
        }
        Invocation::Schedule { tick_millis } => {
            let report = fanout::fan_out(app, tick_millis).await;
            if let Some((shop, error)) = report.errors.first() {
                return Err(HandlerError::FanOutIncomplete {
                    count: report.errors.len(),
                    shop: shop.clone(),
                    error: error.clone(),
                });
            }
            Ok(serde_json::to_value(report).unwrap_or(Value::Null))
        }
    }
}

/// An RFC 3339 timestamp → epoch milliseconds.
pub fn parse_rfc3339_millis(s: &str) -> Option<i64> {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()?;
    Some((t.unix_timestamp_nanos() / 1_000_000) as i64)
}

/// Epoch milliseconds → RFC 3339 (UTC).
pub fn format_rfc3339(millis: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(millis as i128 * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheduled_events_are_recognised_with_their_tick() {
        let ev = serde_json::json!({"version":"0","id":"x","detail-type":"Scheduled Event","source":"aws.events","account":"1","time":"2026-11-26T16:15:00Z","region":"us-east-1","resources":[],"detail":{}});
        match classify(ev).unwrap() {
            Invocation::Schedule { tick_millis } => {
                assert_eq!(format_rfc3339(tick_millis), "2026-11-26T16:15:00Z")
            }
            _ => panic!("not a schedule"),
        }
    }

    #[test]
    fn sqs_events_are_recognised_and_garbage_is_named() {
        let ev =
            serde_json::json!({"Records":[{"messageId":"m1","body":"{}","eventSource":"aws:sqs"}]});
        assert!(matches!(classify(ev).unwrap(), Invocation::Sqs(e) if e.records.len() == 1));
        let err = classify(serde_json::json!({"hello":"world"}))
            .err()
            .unwrap();
        assert!(err.to_string().contains("hello"));
    }

    #[test]
    fn rfc3339_round_trips() {
        assert_eq!(parse_rfc3339_millis("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339_millis("2000-03-01T00:00:01.5Z"),
            Some(951_868_801_500)
        );
        assert_eq!(format_rfc3339(951_868_801_500), "2000-03-01T00:00:01.5Z");
        assert_eq!(parse_rfc3339_millis("2026-13-01T00:00:00Z"), None);
    }

    #[test]
    fn other_eventbridge_events_and_bad_times_are_refused() {
        let other = serde_json::json!({"detail-type":"Object Created","source":"aws.s3","time":"2026-11-26T16:15:00Z","detail":{}});
        assert!(
            classify(other)
                .err()
                .unwrap()
                .to_string()
                .contains("not a schedule")
        );
        let bad_time = serde_json::json!({"detail-type":"Scheduled Event","source":"aws.events","time":"yesterday","detail":{}});
        assert!(classify(bad_time).is_err());
    }
}
