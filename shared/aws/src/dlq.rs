//! The shared dead-letter queue, read without losing a message.
//!
//! SQS has no "peek": a receive hides a message for its visibility timeout. So a peek receives with a
//! short visibility timeout and, once it has seen what it wanted, makes every received message visible
//! again with `ChangeMessageVisibilityBatch` (timeout 0). Nothing is ever deleted by a peek; if the
//! process dies in between, the messages come back by themselves when the short timeout ends.
//! Removing one message (retry, discard) is the only deletion: messages are received until the one
//! with the wanted id turns up, it is deleted by its receipt handle, and all others are released.
//!
//! While a peek holds messages they count as "in flight", not "visible": [`depth`](DeadLetterQueue::depth)
//! therefore adds both, and the depth alarm (on `ApproximateNumberOfMessagesVisible`, one-minute
//! maximum) only misses a message for the seconds a peek holds it.

use crate::errors::storage;
use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, Message, MessageSystemAttributeName,
    QueueAttributeName,
};
use shopsync_domain::SyncError;
use shopsync_domain::ports::Result;
use shopsync_domain::status_ports::{DeadLetterMessage, DeadLetterQueue};
use std::collections::BTreeMap;

/// Messages per receive and per visibility batch (the SQS limit).
const SQS_BATCH: usize = 10;
/// Seconds a peeked message stays hidden if it cannot be released (a crash mid-peek).
pub const DEFAULT_PEEK_VISIBILITY_SECS: i32 = 30;
/// Long-poll wait of each receive: with 0, SQS samples only some servers and may answer "empty"
/// while messages exist.
pub const DEFAULT_WAIT_SECS: i32 = 1;
/// Receives one `remove` makes at most before it concludes the message is not there.
const MAX_REMOVE_RECEIVES: usize = 200;

/// [`DeadLetterQueue`] on SQS.
#[derive(Debug, Clone)]
pub struct SqsDeadLetterQueue {
    client: Client,
    url: String,
    visibility_secs: i32,
    wait_secs: i32,
}

impl SqsDeadLetterQueue {
    pub fn new(sdk: &SdkConfig, url: &str) -> SqsDeadLetterQueue {
        SqsDeadLetterQueue::from_client(Client::new(sdk), url)
    }

    pub fn from_client(client: Client, url: &str) -> SqsDeadLetterQueue {
        SqsDeadLetterQueue {
            client,
            url: url.to_string(),
            visibility_secs: DEFAULT_PEEK_VISIBILITY_SECS,
            wait_secs: DEFAULT_WAIT_SECS,
        }
    }

    /// Long-poll wait per receive (0..=20 s). Tests against moto use 0: it answers from one place.
    pub fn with_wait_secs(mut self, secs: i32) -> SqsDeadLetterQueue {
        self.wait_secs = secs.clamp(0, 20);
        self
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    async fn receive(&self) -> Result<Vec<Message>> {
        let out = self
            .client
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(SQS_BATCH as i32)
            .visibility_timeout(self.visibility_secs)
            .wait_time_seconds(self.wait_secs)
            .message_attribute_names("All")
            .message_system_attribute_names(MessageSystemAttributeName::SentTimestamp)
            .send()
            .await
            .map_err(|e| storage("ReceiveMessage from the dead-letter queue", e))?;
        Ok(out.messages.unwrap_or_default())
    }

    /// Make messages visible again, 10 per call. Every entry is tried; the first failure is
    /// reported after all were tried (a message not released comes back after the short timeout).
    async fn release(&self, handles: Vec<String>) -> Result<()> {
        let mut first_error = None;
        for chunk in handles.chunks(SQS_BATCH) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, handle)| {
                    ChangeMessageVisibilityBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(handle)
                        .visibility_timeout(0)
                        .build()
                        .map_err(|e| SyncError::Internal(format!("visibility entry: {e}")))
                })
                .collect::<Result<Vec<_>>>()?;
            match self
                .client
                .change_message_visibility_batch()
                .queue_url(&self.url)
                .set_entries(Some(entries))
                .send()
                .await
            {
                Ok(out) => {
                    for f in out.failed() {
                        tracing::warn!(
                            code = f.code(),
                            message = f.message(),
                            "a peeked dead-letter message could not be released; it returns after its visibility timeout"
                        );
                    }
                }
                Err(e) => {
                    let err = storage("ChangeMessageVisibilityBatch on the dead-letter queue", e);
                    tracing::warn!(error = %err, "peeked dead-letter messages could not be released; they return after their visibility timeout");
                    first_error.get_or_insert(err);
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

fn to_dead_letter(m: &Message) -> DeadLetterMessage {
    let attributes = m
        .message_attributes()
        .map(|attrs| {
            attrs
                .iter()
                .filter_map(|(k, v)| v.string_value().map(|s| (k.clone(), s.to_string())))
                .collect()
        })
        .unwrap_or_default();
    let sent_at = m
        .attributes()
        .and_then(|a| a.get(&MessageSystemAttributeName::SentTimestamp))
        .and_then(|v| v.parse::<i64>().ok())
        .map(|ms| ms / 1000);
    DeadLetterMessage {
        message_id: m.message_id().unwrap_or_default().to_string(),
        body: m.body().unwrap_or_default().to_string(),
        attributes,
        sent_at,
    }
}

#[async_trait]
impl DeadLetterQueue for SqsDeadLetterQueue {
    async fn peek(&self, max: usize) -> Result<Vec<DeadLetterMessage>> {
        self.peek_bounded(max, usize::MAX).await
    }

    /// Receives until `max` messages were seen, a receive brings nothing new, or `max_receives`
    /// receives were made; then one `ChangeMessageVisibilityBatch` per 10 messages seen.
    async fn peek_bounded(
        &self,
        max: usize,
        max_receives: usize,
    ) -> Result<Vec<DeadLetterMessage>> {
        // message id → (message, latest receipt handle): a handle is only valid from its receive.
        let mut seen: BTreeMap<String, (DeadLetterMessage, String)> = BTreeMap::new();
        let mut order = Vec::new();
        let mut receives = 0usize;
        let received = loop {
            if seen.len() >= max || receives >= max_receives {
                break Ok(());
            }
            receives += 1;
            let batch = match self.receive().await {
                Ok(batch) => batch,
                Err(e) => break Err(e),
            };
            if batch.is_empty() {
                break Ok(());
            }
            let mut new = 0;
            for m in &batch {
                let (Some(id), Some(handle)) = (m.message_id(), m.receipt_handle()) else {
                    continue;
                };
                if !seen.contains_key(id) {
                    order.push(id.to_string());
                    new += 1;
                }
                seen.insert(id.to_string(), (to_dead_letter(m), handle.to_string()));
            }
            if new == 0 {
                break Ok(());
            }
        };
        let handles = seen.values().map(|(_, h)| h.clone()).collect();
        let released = self.release(handles).await;
        received?;
        released?;
        let mut out: Vec<DeadLetterMessage> = order
            .into_iter()
            .filter_map(|id| seen.remove(&id).map(|(m, _)| m))
            .collect();
        out.truncate(max);
        Ok(out)
    }

    async fn remove(&self, message_id: &str) -> Result<bool> {
        let mut others: BTreeMap<String, String> = BTreeMap::new();
        let mut found = None;
        let mut error = None;
        for _ in 0..MAX_REMOVE_RECEIVES {
            let batch = match self.receive().await {
                Ok(b) => b,
                Err(e) => {
                    error = Some(e);
                    break;
                }
            };
            if batch.is_empty() {
                break;
            }
            let mut new = 0;
            for m in &batch {
                let (Some(id), Some(handle)) = (m.message_id(), m.receipt_handle()) else {
                    continue;
                };
                if id == message_id {
                    found = Some(handle.to_string());
                } else if others.insert(id.to_string(), handle.to_string()).is_none() {
                    new += 1;
                }
            }
            if found.is_some() || new == 0 {
                break;
            }
        }
        let deleted = match (&found, &error) {
            (Some(handle), None) => self
                .client
                .delete_message()
                .queue_url(&self.url)
                .receipt_handle(handle)
                .send()
                .await
                .map(|_| true)
                .map_err(|e| storage("DeleteMessage from the dead-letter queue", e)),
            _ => Ok(false),
        };
        let released = self.release(others.into_values().collect()).await;
        if let Some(e) = error {
            if let Some(handle) = found {
                let _ = self.release(vec![handle]).await;
            }
            return Err(e);
        }
        let deleted = deleted?;
        released?;
        Ok(deleted)
    }

    async fn depth(&self) -> Result<u64> {
        let out = self
            .client
            .get_queue_attributes()
            .queue_url(&self.url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesDelayed)
            .send()
            .await
            .map_err(|e| storage("GetQueueAttributes of the dead-letter queue", e))?;
        let attrs = out.attributes.unwrap_or_default();
        let get = |name: QueueAttributeName| {
            attrs
                .get(&name)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        Ok(get(QueueAttributeName::ApproximateNumberOfMessages)
            + get(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            + get(QueueAttributeName::ApproximateNumberOfMessagesDelayed))
    }
}
