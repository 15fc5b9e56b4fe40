//! The task queue and the dead-letter queue on SQS.
//!
//! Task queues are standard queues, not FIFO: a deferred job is re-sent with `DelaySeconds`, which FIFO
//! queues only allow per queue. Duplicates that standard queues may deliver are harmless because each
//! message carries the job's `seq` and the job record is updated conditionally.
//!
//! `send_batch` sends 10 messages per `SendMessageBatch` (the SQS limit) and reports the indexes
//! that did not make it — per-entry failures and whole failed calls alike — so the fan-out can mark
//! exactly those jobs. `dead_letter` puts a raw body on the shared DLQ with the reason as message
//! attributes (`shop`, `task`, `job_id`, `error_kind`, `error`), so on-call can read why without
//! parsing bodies. Messages also carry `shop`/`task`/`job_id` attributes, which SQS keeps when the
//! redrive policy moves a message to the DLQ.

use crate::errors::storage;
use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{MessageAttributeValue, SendMessageBatchRequestEntry};
use shopsync_domain::JobMessage;
use shopsync_domain::SyncError;
use shopsync_domain::ports::{DeadLetterReason, Result, TaskQueue};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

/// Messages per `SendMessageBatch` (the SQS limit).
pub const MAX_BATCH_SEND: usize = 10;
/// Longest `DelaySeconds` SQS accepts (15 minutes).
pub const MAX_DELAY_SECS: u32 = 900;
/// SQS's largest visibility timeout (12 hours).
const MAX_VISIBILITY_SECS: u32 = 43_200;
/// Error texts on dead-letter attributes are cut to this many characters.
const MAX_ERROR_ATTR_CHARS: usize = 4096;

/// [`TaskQueue`] on one SQS task queue plus the shared dead-letter queue.
#[derive(Debug)]
pub struct SqsTaskQueue {
    client: Client,
    queue_url: String,
    dlq_url: String,
    batch_calls: AtomicU64,
}

impl SqsTaskQueue {
    pub fn new(sdk: &SdkConfig, queue_url: &str, dlq_url: &str) -> SqsTaskQueue {
        SqsTaskQueue::from_client(Client::new(sdk), queue_url, dlq_url)
    }

    pub fn from_client(client: Client, queue_url: &str, dlq_url: &str) -> SqsTaskQueue {
        SqsTaskQueue {
            client,
            queue_url: queue_url.to_string(),
            dlq_url: dlq_url.to_string(),
            batch_calls: AtomicU64::new(0),
        }
    }

    pub fn queue_url(&self) -> &str {
        &self.queue_url
    }

    pub fn dlq_url(&self) -> &str {
        &self.dlq_url
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// `SendMessageBatch` calls made so far (for metrics and tests).
    pub fn batch_calls(&self) -> u64 {
        self.batch_calls.load(Ordering::Relaxed)
    }
}

fn string_attr(value: &str) -> Result<MessageAttributeValue> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .map_err(|e| SyncError::Internal(format!("message attribute: {e}")))
}

/// Attributes for a job message. SQS rejects empty attribute values, so empty ones are left out.
fn attributes(pairs: &[(&str, Option<&str>)]) -> Result<HashMap<String, MessageAttributeValue>> {
    pairs
        .iter()
        .filter_map(|(k, v)| v.filter(|v| !v.is_empty()).map(|v| (k, v)))
        .map(|(k, v)| Ok((k.to_string(), string_attr(v)?)))
        .collect()
}

fn job_attributes(msg: &JobMessage) -> Result<HashMap<String, MessageAttributeValue>> {
    attributes(&[
        ("shop", Some(&msg.shop)),
        ("task", Some(msg.task.name())),
        ("job_id", Some(&msg.job_id)),
    ])
}

fn body(msg: &JobMessage) -> Result<String> {
    serde_json::to_string(msg)
        .map_err(|e| SyncError::Internal(format!("cannot serialise job message: {e}")))
}

fn truncate(text: &str, max_chars: usize) -> &str {
    match text.char_indices().nth(max_chars) {
        Some((i, _)) => &text[..i],
        None => text,
    }
}

#[async_trait]
impl TaskQueue for SqsTaskQueue {
    async fn retry_later(&self, receipt_handle: &str, after_secs: u32) -> Result<()> {
        self.client
            .change_message_visibility()
            .queue_url(&self.queue_url)
            .receipt_handle(receipt_handle)
            .visibility_timeout(after_secs.min(MAX_VISIBILITY_SECS) as i32)
            .send()
            .await
            .map_err(|e| storage("ChangeMessageVisibility", e))?;
        Ok(())
    }

    async fn send(&self, msg: &JobMessage, delay_secs: u32) -> Result<()> {
        if delay_secs > MAX_DELAY_SECS {
            return Err(SyncError::Internal(format!(
                "delay of {delay_secs} s exceeds the SQS maximum of {MAX_DELAY_SECS} s"
            )));
        }
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body(msg)?)
            .delay_seconds(delay_secs as i32)
            .set_message_attributes(Some(job_attributes(msg)?))
            .send()
            .await
            .map_err(|e| storage("SendMessage", e))?;
        Ok(())
    }

    async fn send_batch(&self, msgs: &[JobMessage]) -> Result<Vec<usize>> {
        let mut failed = Vec::new();
        for (chunk_no, chunk) in msgs.chunks(MAX_BATCH_SEND).enumerate() {
            let offset = chunk_no * MAX_BATCH_SEND;
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, msg)| {
                    SendMessageBatchRequestEntry::builder()
                        .id((offset + i).to_string())
                        .message_body(body(msg)?)
                        .set_message_attributes(Some(job_attributes(msg)?))
                        .build()
                        .map_err(|e| SyncError::Internal(format!("batch entry: {e}")))
                })
                .collect::<Result<Vec<_>>>()?;
            self.batch_calls.fetch_add(1, Ordering::Relaxed);
            match self
                .client
                .send_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(entries))
                .send()
                .await
            {
                Ok(out) => {
                    for f in out.failed() {
                        match f.id().parse::<usize>() {
                            Ok(i) if (offset..offset + chunk.len()).contains(&i) => {
                                tracing::warn!(
                                    index = i,
                                    code = f.code(),
                                    message = f.message(),
                                    "SendMessageBatch entry failed"
                                );
                                failed.push(i);
                            }
                            _ => {
                                return Err(SyncError::Internal(format!(
                                    "SendMessageBatch answered with an unknown entry id '{}'",
                                    f.id()
                                )));
                            }
                        }
                    }
                }
                Err(e) => {
                    let err = storage("SendMessageBatch", e);
                    tracing::warn!(error = %err, from = offset, count = chunk.len(), "SendMessageBatch call failed");
                    failed.extend(offset..offset + chunk.len());
                }
            }
        }
        failed.sort_unstable();
        Ok(failed)
    }

    async fn dead_letter(&self, body: &str, reason: &DeadLetterReason) -> Result<()> {
        let kind = if reason.error_kind.is_empty() {
            "unknown"
        } else {
            reason.error_kind.as_str()
        };
        let error = if reason.error.is_empty() {
            "(no message)"
        } else {
            truncate(&reason.error, MAX_ERROR_ATTR_CHARS)
        };
        let attrs = attributes(&[
            ("shop", reason.shop.as_deref()),
            ("task", reason.task.as_deref()),
            ("job_id", reason.job_id.as_deref()),
            ("error_kind", Some(kind)),
            ("error", Some(error)),
        ])?;
        let body = if body.is_empty() { "{}" } else { body };
        self.client
            .send_message()
            .queue_url(&self.dlq_url)
            .message_body(body)
            .set_message_attributes(Some(attrs))
            .send()
            .await
            .map_err(|e| storage("SendMessage to the dead-letter queue", e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_respects_char_boundaries() {
        assert_eq!(truncate("äöü", 2), "äö");
        assert_eq!(truncate("abc", 10), "abc");
    }

    #[test]
    fn empty_attribute_values_are_left_out() {
        let attrs =
            attributes(&[("shop", Some("A")), ("task", None), ("job_id", Some(""))]).unwrap();
        assert_eq!(attrs.keys().collect::<Vec<_>>(), vec!["shop"]);
    }
}
