//! A local stand-in for the two AWS pieces moto does not run: the EventBridge rule (it sends the
//! scheduled event) and the SQS → Lambda event source mapping (it long-polls the queue, hands batches of
//! up to 10 to the very handler the function binary wraps, deletes the successes and leaves reported
//! failures for redelivery, so the queue's redrive policy moves poison messages to the DLQ). Like
//! Lambda, it takes no shortcut for failures: a failed message returns when the visibility the worker
//! gave it ends.

use crate::{App, events, fanout::FanOutReport, worker};
use aws_lambda_events::event::sqs::SqsEvent;
use aws_sdk_sqs::types::{
    DeleteMessageBatchRequestEntry, MessageSystemAttributeName, QueueAttributeName,
};
use serde_json::json;
use std::time::{Duration, Instant};

pub struct LocalRunner {
    pub app: App,
    pub sqs: aws_sdk_sqs::Client,
    pub queue_url: String,
    /// How long one simulated invocation may run (Lambda's timeout).
    pub invocation_timeout: Duration,
}

#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct DrainStats {
    pub invocations: u64,
    pub messages: u64,
    pub redeliveries_requested: u64,
}

impl LocalRunner {
    /// Play one EventBridge cron tick at `tick_millis`.
    pub async fn tick(&self, tick_millis: i64) -> FanOutReport {
        let event = json!({
            "version": "0", "id": uuid::Uuid::new_v4().to_string(), "detail-type": "Scheduled Event",
            "source": "aws.events", "account": "123456789012", "time": events::format_rfc3339(tick_millis),
            "region": "us-east-1", "resources": [], "detail": {}
        });
        let deadline = Instant::now() + self.invocation_timeout;
        match events::handle(&self.app, event, deadline).await {
            Ok(v) => serde_json::from_value(v).unwrap_or_default(),
            Err(e) => FanOutReport {
                errors: vec![("*".into(), e.to_string())],
                ..Default::default()
            },
        }
    }

    /// Poll the queue and run batches until it is empty (visible, in flight and delayed) or `timeout`.
    pub async fn drain(&self, timeout: Duration) -> Result<DrainStats, String> {
        let until = Instant::now() + timeout;
        let mut stats = DrainStats::default();
        while Instant::now() < until {
            let received = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .message_system_attribute_names(MessageSystemAttributeName::All)
                .send()
                .await
                .map_err(|e| format!("receive: {}", aws_sdk_sqs::error::DisplayErrorContext(e)))?;
            let messages = received.messages.unwrap_or_default();
            if messages.is_empty() {
                if self.queue_is_empty().await? {
                    return Ok(stats);
                }
                continue;
            }
            let records: Vec<_> = messages
                .iter()
                .map(|m| {
                    let attributes: serde_json::Map<String, serde_json::Value> = m
                        .attributes
                        .as_ref()
                        .map(|a| a.iter().map(|(k, v)| (k.as_str().to_string(), json!(v))).collect())
                        .unwrap_or_default();
                    json!({
                        "messageId": m.message_id, "receiptHandle": m.receipt_handle, "body": m.body,
                        "attributes": attributes, "messageAttributes": {}, "eventSource": "aws:sqs",
                        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:local", "awsRegion": "us-east-1"
                    })
                })
                .collect();
            let event: SqsEvent =
                serde_json::from_value(json!({ "Records": records })).map_err(|e| e.to_string())?;
            let deadline = Instant::now() + self.invocation_timeout;
            let response = worker::handle_batch(&self.app, event, deadline).await;
            stats.invocations += 1;
            stats.messages += messages.len() as u64;
            let failed: Vec<String> = response
                .batch_item_failures
                .iter()
                .map(|f| f.item_identifier.clone())
                .collect();
            let mut deletes = Vec::new();
            for m in &messages {
                let id = m.message_id.clone().unwrap_or_default();
                let handle = m.receipt_handle.clone().unwrap_or_default();
                if failed.contains(&id) {
                    // As Lambda does: a reported failure is left alone; it returns when its
                    // visibility ends (the worker set it with its retry backoff).
                    stats.redeliveries_requested += 1;
                } else {
                    deletes.push(
                        DeleteMessageBatchRequestEntry::builder()
                            .id(id)
                            .receipt_handle(handle)
                            .build()
                            .map_err(|e| e.to_string())?,
                    );
                }
            }
            if !deletes.is_empty() {
                self.sqs
                    .delete_message_batch()
                    .queue_url(&self.queue_url)
                    .set_entries(Some(deletes))
                    .send()
                    .await
                    .map_err(|e| {
                        format!("delete: {}", aws_sdk_sqs::error::DisplayErrorContext(e))
                    })?;
            }
        }
        Err(format!("the queue did not drain within {timeout:?}"))
    }

    async fn queue_is_empty(&self) -> Result<bool, String> {
        let attrs = self
            .sqs
            .get_queue_attributes()
            .queue_url(&self.queue_url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesDelayed)
            .send()
            .await
            .map_err(|e| {
                format!(
                    "queue attributes: {}",
                    aws_sdk_sqs::error::DisplayErrorContext(e)
                )
            })?;
        let total: u64 = attrs
            .attributes
            .unwrap_or_default()
            .values()
            .map(|v| v.parse::<u64>().unwrap_or(0))
            .sum();
        Ok(total == 0)
    }
}
