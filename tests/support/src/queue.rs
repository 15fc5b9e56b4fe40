//! The task queue, the per-task queue map and the dead-letter queue, in memory.
//!
//! [`MemoryQueue`] does not deliver anything: it records what the code under test asked SQS to do —
//! messages with their delays, dead letters with their reasons, visibility changes of received
//! messages — so a test can assert on them, or feed [`MemoryQueue::take_sent`] back to the worker as
//! the event source mapping would. What it mirrors of `shopsync_aws::sqs::SqsTaskQueue`:
//!
//! - `send` refuses a delay above 900 s with `SyncError::Internal` before any call;
//! - `send_batch` sends in chunks of 10 and never fails as a whole: a failed chunk (a fault on
//!   `<prefix>.send_batch`) or a failed entry (a fault on `<prefix>.send_batch_entry`) is reported
//!   by its indexes, sorted. A chunk whose answer is dropped ([`crate::FaultMode::ApplyThenFail`]) was
//!   sent *and* is reported failed, as when SQS took the batch but the response was lost;
//! - `dead_letter` stores the body (`{}` if empty) and the reason with the adapter's defaults
//!   (`error_kind` `unknown`, error `(no message)`, cut to 4096 characters), and hands the message
//!   to an attached [`MemoryDeadLetterQueue`] with the attributes SQS would carry;
//! - `retry_later` records the visibility change, capped at SQS's 12 hours.
//!
//! [`MemoryDeadLetterQueue`] holds messages in arrival order; a peek never removes or hides
//! anything. It differs from SQS deliberately: a message is never "in flight" in someone else's
//! peek, so `remove` finds every message that is there.

use crate::{Clock, Faults, op};
use async_trait::async_trait;
use shopsync_domain::JobMessage;
use shopsync_domain::SyncError;
use shopsync_domain::TaskKind;
use shopsync_domain::ports::{DeadLetterReason, Result, TaskQueue, TaskQueues};
use shopsync_domain::status_ports::{DeadLetterMessage, DeadLetterQueue};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

/// Messages per `SendMessageBatch` (the SQS limit).
pub const MAX_BATCH_SEND: usize = 10;
/// Longest `DelaySeconds` SQS accepts.
pub const MAX_DELAY_SECS: u32 = 900;
/// SQS's largest visibility timeout.
pub const MAX_VISIBILITY_SECS: u32 = 43_200;
/// Error texts on dead-letter attributes are cut to this many characters.
pub const MAX_ERROR_ATTR_CHARS: usize = 4096;
/// Messages one SQS receive returns at most (bounds [`DeadLetterQueue::peek_bounded`]).
pub const SQS_RECEIVE_BATCH: usize = 10;

/// One message the code under test sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMessage {
    pub message: JobMessage,
    pub delay_secs: u32,
    /// Sent with `send_batch` (which has no delay) rather than `send`.
    pub batch: bool,
}

/// One message put on the dead-letter queue through [`TaskQueue::dead_letter`], as the adapter
/// would send it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    pub body: String,
    pub reason: DeadLetterReason,
}

/// One [`TaskQueue::retry_later`] call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryLater {
    pub receipt_handle: String,
    /// As sent to SQS (capped at 12 hours).
    pub after_secs: u32,
}

#[derive(Debug, Default)]
struct QueueState {
    sent: Vec<SentMessage>,
    dead_letters: Vec<DeadLetter>,
    retries: Vec<RetryLater>,
    batch_calls: u64,
}

/// [`TaskQueue`] that records everything. Clones share the record.
#[derive(Debug, Clone)]
pub struct MemoryQueue {
    prefix: String,
    state: Arc<Mutex<QueueState>>,
    faults: Faults,
    dlq: Option<MemoryDeadLetterQueue>,
}

impl Default for MemoryQueue {
    fn default() -> Self {
        MemoryQueue {
            prefix: "sqs".into(),
            state: Arc::default(),
            faults: Faults::default(),
            dlq: None,
        }
    }
}

fn truncate(text: &str, max_chars: usize) -> &str {
    match text.char_indices().nth(max_chars) {
        Some((i, _)) => &text[..i],
        None => text,
    }
}

impl MemoryQueue {
    /// A queue whose operations are `sqs.send`, `sqs.send_batch`, ... (see [`crate::op`]).
    pub fn new() -> MemoryQueue {
        MemoryQueue::default()
    }

    /// A queue whose operations are `sqs.<name>.send`, ... — to fail one queue of several.
    pub fn named(name: &str) -> MemoryQueue {
        MemoryQueue {
            prefix: format!("sqs.{name}"),
            ..MemoryQueue::default()
        }
    }

    pub fn with_faults(mut self, faults: Faults) -> MemoryQueue {
        self.faults = faults;
        self
    }

    /// Dead letters also land on `dlq`, as they would on the shared dead-letter queue.
    pub fn with_dead_letter_queue(mut self, dlq: MemoryDeadLetterQueue) -> MemoryQueue {
        self.dlq = Some(dlq);
        self
    }

    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// The name of this queue's operation `method` (`send`, `send_batch`, `send_batch_entry`,
    /// `dead_letter`, `retry_later`), for fault rules.
    pub fn op(&self, method: &str) -> String {
        format!("{}.{method}", self.prefix)
    }

    fn lock(&self) -> MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every message sent so far, in order.
    pub fn sent(&self) -> Vec<SentMessage> {
        self.lock().sent.clone()
    }

    /// The messages sent so far, removed from the record (deliver them to the worker).
    pub fn take_sent(&self) -> Vec<SentMessage> {
        std::mem::take(&mut self.lock().sent)
    }

    pub fn dead_letters(&self) -> Vec<DeadLetter> {
        self.lock().dead_letters.clone()
    }

    pub fn retries(&self) -> Vec<RetryLater> {
        self.lock().retries.clone()
    }

    /// `SendMessageBatch` calls made (chunks of at most 10).
    pub fn batch_calls(&self) -> u64 {
        self.lock().batch_calls
    }
}

#[async_trait]
impl TaskQueue for MemoryQueue {
    async fn send(&self, msg: &JobMessage, delay_secs: u32) -> Result<()> {
        if delay_secs > MAX_DELAY_SECS {
            return Err(SyncError::Internal(format!(
                "delay of {delay_secs} s exceeds the SQS maximum of {MAX_DELAY_SECS} s"
            )));
        }
        self.faults.run(&self.op("send"), || {
            self.lock().sent.push(SentMessage {
                message: msg.clone(),
                delay_secs,
                batch: false,
            });
            Ok(())
        })
    }

    async fn send_batch(&self, msgs: &[JobMessage]) -> Result<Vec<usize>> {
        let (chunk_op, entry_op) = (self.op("send_batch"), self.op("send_batch_entry"));
        let mut failed = Vec::new();
        for (chunk_no, chunk) in msgs.chunks(MAX_BATCH_SEND).enumerate() {
            let offset = chunk_no * MAX_BATCH_SEND;
            self.lock().batch_calls += 1;
            let dropped = match self.faults.enter(&chunk_op) {
                Err(_) => {
                    failed.extend(offset..offset + chunk.len());
                    continue;
                }
                Ok(after) => after.is_some(),
            };
            for (i, msg) in chunk.iter().enumerate() {
                let sent = match self.faults.enter(&entry_op) {
                    Err(_) => false,
                    Ok(after) => {
                        if after.is_some() {
                            failed.push(offset + i);
                        }
                        true
                    }
                };
                if sent {
                    self.lock().sent.push(SentMessage {
                        message: msg.clone(),
                        delay_secs: 0,
                        batch: true,
                    });
                } else {
                    failed.push(offset + i);
                }
            }
            if dropped {
                failed.extend(offset..offset + chunk.len());
            }
        }
        failed.sort_unstable();
        failed.dedup();
        Ok(failed)
    }

    async fn dead_letter(&self, body: &str, reason: &DeadLetterReason) -> Result<()> {
        let mut reason = reason.clone();
        if reason.error_kind.is_empty() {
            reason.error_kind = "unknown".into();
        }
        reason.error = if reason.error.is_empty() {
            "(no message)".into()
        } else {
            truncate(&reason.error, MAX_ERROR_ATTR_CHARS).to_string()
        };
        let body = if body.is_empty() { "{}" } else { body };
        self.faults.run(&self.op("dead_letter"), || {
            self.lock().dead_letters.push(DeadLetter {
                body: body.to_string(),
                reason: reason.clone(),
            });
            if let Some(dlq) = &self.dlq {
                let attributes = [
                    ("shop", reason.shop.as_deref()),
                    ("task", reason.task.as_deref()),
                    ("job_id", reason.job_id.as_deref()),
                    ("error_kind", Some(reason.error_kind.as_str())),
                    ("error", Some(reason.error.as_str())),
                ]
                .into_iter()
                .filter_map(|(k, v)| v.filter(|v| !v.is_empty()).map(|v| (k, v)));
                dlq.push(body, attributes);
            }
            Ok(())
        })
    }

    async fn retry_later(&self, receipt_handle: &str, after_secs: u32) -> Result<()> {
        self.faults.run(&self.op("retry_later"), || {
            self.lock().retries.push(RetryLater {
                receipt_handle: receipt_handle.to_string(),
                after_secs: after_secs.min(MAX_VISIBILITY_SECS),
            });
            Ok(())
        })
    }
}

/// [`TaskQueues`]: a [`MemoryQueue`] per task that has one.
#[derive(Debug, Clone, Default)]
pub struct MemoryQueues {
    queues: HashMap<TaskKind, MemoryQueue>,
}

impl MemoryQueues {
    /// No queues: every task is "not deployed".
    pub fn new() -> MemoryQueues {
        MemoryQueues::default()
    }

    /// A queue named after each task (`sqs.<task>.send`, ...), sharing `faults` and `dlq`.
    pub fn for_tasks(
        tasks: &[TaskKind],
        faults: &Faults,
        dlq: &MemoryDeadLetterQueue,
    ) -> MemoryQueues {
        let mut queues = MemoryQueues::new();
        for task in tasks {
            queues = queues.with_queue(
                *task,
                MemoryQueue::named(task.name())
                    .with_faults(faults.clone())
                    .with_dead_letter_queue(dlq.clone()),
            );
        }
        queues
    }

    pub fn with_queue(mut self, task: TaskKind, queue: MemoryQueue) -> MemoryQueues {
        self.queues.insert(task, queue);
        self
    }

    /// The queue of `task`, to inspect.
    pub fn queue_of(&self, task: TaskKind) -> Option<&MemoryQueue> {
        self.queues.get(&task)
    }
}

impl TaskQueues for MemoryQueues {
    fn queue(&self, task: TaskKind) -> Option<Arc<dyn TaskQueue>> {
        self.queues
            .get(&task)
            .map(|q| Arc::new(q.clone()) as Arc<dyn TaskQueue>)
    }
}

#[derive(Debug, Default)]
struct DlqState {
    messages: Vec<DeadLetterMessage>,
    next_id: u64,
}

/// [`DeadLetterQueue`] in memory. Clones share the messages.
#[derive(Debug, Clone, Default)]
pub struct MemoryDeadLetterQueue {
    state: Arc<Mutex<DlqState>>,
    faults: Faults,
    clock: Clock,
}

impl MemoryDeadLetterQueue {
    pub fn new() -> MemoryDeadLetterQueue {
        MemoryDeadLetterQueue::default()
    }

    pub fn with_faults(mut self, faults: Faults) -> MemoryDeadLetterQueue {
        self.faults = faults;
        self
    }

    /// `sent_at` of new messages is read from `clock`.
    pub fn with_clock(mut self, clock: Clock) -> MemoryDeadLetterQueue {
        self.clock = clock;
        self
    }

    fn lock(&self) -> MutexGuard<'_, DlqState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Put a message on the queue as SQS would receive it (a worker's dead letter, a redrive, an
    /// async-invoke failure); returns its message id (`dlq-1`, `dlq-2`, ...).
    pub fn push<'a>(
        &self,
        body: &str,
        attributes: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> String {
        let mut state = self.lock();
        state.next_id += 1;
        let message_id = format!("dlq-{}", state.next_id);
        state.messages.push(DeadLetterMessage {
            message_id: message_id.clone(),
            body: body.to_string(),
            attributes: attributes
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
            sent_at: Some(self.clock.now()),
        });
        message_id
    }

    /// Every message on the queue, oldest first (not counted, no faults).
    pub fn messages(&self) -> Vec<DeadLetterMessage> {
        self.lock().messages.clone()
    }
}

#[async_trait]
impl DeadLetterQueue for MemoryDeadLetterQueue {
    async fn peek(&self, max: usize) -> Result<Vec<DeadLetterMessage>> {
        self.faults.run(op::DLQ_PEEK, || {
            Ok(self.lock().messages.iter().take(max).cloned().collect())
        })
    }

    async fn peek_bounded(
        &self,
        max: usize,
        max_receives: usize,
    ) -> Result<Vec<DeadLetterMessage>> {
        let max = max.min(max_receives.saturating_mul(SQS_RECEIVE_BATCH));
        self.faults.run(op::DLQ_PEEK, || {
            Ok(self.lock().messages.iter().take(max).cloned().collect())
        })
    }

    async fn remove(&self, message_id: &str) -> Result<bool> {
        self.faults.run(op::DLQ_REMOVE, || {
            let mut state = self.lock();
            let before = state.messages.len();
            state.messages.retain(|m| m.message_id != message_id);
            Ok(state.messages.len() < before)
        })
    }

    async fn depth(&self) -> Result<u64> {
        self.faults
            .run(op::DLQ_DEPTH, || Ok(self.lock().messages.len() as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(n: u64) -> JobMessage {
        JobMessage {
            shop: "A".into(),
            task: TaskKind::SyncInventory,
            job_id: format!("j{n}"),
            seq: n,
        }
    }

    #[tokio::test]
    async fn sends_are_recorded_with_their_delays_and_long_delays_refused() {
        let q = MemoryQueue::new();
        q.send(&msg(1), 0).await.unwrap();
        q.send(&msg(2), 900).await.unwrap();
        assert!(matches!(
            q.send(&msg(3), 901).await,
            Err(SyncError::Internal(_))
        ));
        let sent = q.take_sent();
        assert_eq!(
            sent.iter().map(|s| s.delay_secs).collect::<Vec<_>>(),
            [0, 900]
        );
        assert!(q.sent().is_empty(), "taken");
        assert_eq!(
            q.faults().calls(op::SEND),
            2,
            "the refused send made no call"
        );
    }

    #[tokio::test]
    async fn a_failed_batch_chunk_is_reported_by_index_not_as_an_error() {
        let q = MemoryQueue::new();
        let msgs: Vec<_> = (0..25).map(msg).collect();
        assert!(q.send_batch(&msgs).await.unwrap().is_empty());
        assert_eq!(q.take_sent().len(), 25);
        assert_eq!(q.batch_calls(), 3, "chunks of at most 10");

        // Now: the first chunk's call fails as a whole, and one entry of the next is refused.
        q.faults()
            .fail_next(op::SEND_BATCH, 1, Faults::unavailable());
        q.faults()
            .fail_next("sqs.send_batch_entry", 1, Faults::unavailable());
        let failed = q.send_batch(&msgs).await.unwrap();
        assert_eq!(failed, (0..11).collect::<Vec<_>>());
        let sent = q.take_sent();
        assert_eq!(sent.len(), 14);
        assert!(sent.iter().all(|s| s.batch && s.delay_secs == 0));
    }

    #[tokio::test]
    async fn a_batch_whose_answer_is_lost_was_sent_and_is_reported_failed() {
        let q = MemoryQueue::new();
        q.faults()
            .drop_answer_next(op::SEND_BATCH, 1, Faults::unavailable());
        let failed = q.send_batch(&[msg(1), msg(2)]).await.unwrap();
        assert_eq!(failed, [0, 1]);
        assert_eq!(
            q.sent().len(),
            2,
            "a resend duplicates them: seq makes that harmless"
        );
    }

    #[tokio::test]
    async fn dead_letters_carry_the_adapter_defaults_and_reach_the_dlq() {
        let dlq = MemoryDeadLetterQueue::new().with_clock(Clock::at(5));
        let q = MemoryQueue::new().with_dead_letter_queue(dlq.clone());
        let reason = DeadLetterReason {
            shop: Some("A".into()),
            task: None,
            job_id: Some(String::new()),
            error_kind: String::new(),
            error: "é".repeat(5000),
        };
        q.dead_letter("", &reason).await.unwrap();
        let dl = &q.dead_letters()[0];
        assert_eq!(dl.body, "{}");
        assert_eq!(dl.reason.error_kind, "unknown");
        assert_eq!(dl.reason.error.chars().count(), MAX_ERROR_ATTR_CHARS);
        let on_queue = dlq.peek(10).await.unwrap();
        assert_eq!(on_queue.len(), 1);
        assert_eq!(
            on_queue[0].attributes.keys().collect::<Vec<_>>(),
            ["error", "error_kind", "shop"],
            "empty and absent attributes are left out"
        );
        assert_eq!(on_queue[0].sent_at, Some(5));
    }

    #[tokio::test]
    async fn retry_later_is_recorded_and_capped() {
        let q = MemoryQueue::new();
        q.retry_later("rh-1", 30).await.unwrap();
        q.retry_later("rh-1", 100_000).await.unwrap();
        assert_eq!(
            q.retries().iter().map(|r| r.after_secs).collect::<Vec<_>>(),
            [30, MAX_VISIBILITY_SECS]
        );
    }

    #[tokio::test]
    async fn a_peek_never_removes_and_remove_takes_exactly_one() {
        let dlq = MemoryDeadLetterQueue::new();
        let a = dlq.push("a", []);
        let _b = dlq.push("b", [("shop", "A")]);
        assert_eq!(dlq.peek(10).await.unwrap().len(), 2);
        assert_eq!(dlq.peek(10).await.unwrap().len(), 2);
        assert_eq!(dlq.peek_bounded(100, 0).await.unwrap().len(), 0);
        assert!(dlq.remove(&a).await.unwrap());
        assert!(!dlq.remove(&a).await.unwrap());
        assert_eq!(dlq.depth().await.unwrap(), 1);
    }

    #[tokio::test]
    async fn named_queues_fail_apart() {
        let faults = Faults::new();
        let dlq = MemoryDeadLetterQueue::new();
        let queues = MemoryQueues::for_tasks(
            &[TaskKind::SyncInventory, TaskKind::SyncOrders],
            &faults,
            &dlq,
        );
        faults.fail_next("sqs.sync-orders.*", 1, Faults::unavailable());
        let inventory = queues.queue(TaskKind::SyncInventory).unwrap();
        let orders = queues.queue(TaskKind::SyncOrders).unwrap();
        assert!(queues.queue(TaskKind::SyncImages).is_none());
        inventory.send(&msg(1), 0).await.unwrap();
        assert!(orders.send(&msg(2), 0).await.is_err());
        orders.send(&msg(3), 0).await.unwrap();
        let sent = queues.queue_of(TaskKind::SyncOrders).unwrap().sent();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].message.seq, 3);
    }
}
