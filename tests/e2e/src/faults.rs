//! Faults and unruly deliveries for the end-to-end tests: 20 % injected faults on both simulators,
//! an at-least-once duplicate of a job message, and the hand work of the event source mapping
//! (receive a message as an SQS event, send a body, delete what a worker handled) for the tests
//! that drive a worker by hand.

use crate::{Stack, StackOptions};
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use aws_sdk_sqs::types::MessageSystemAttributeName;
use bc_sim::{BcFaults, BcSimConfig};
use shopify_sim::{FaultConfig, FaultKind, SimConfig};
use shopsync_runtime::RuntimeConfig;

/// The share of requests that fail on each simulator under [`faults_on`].
pub const FAULT_RATE: f64 = 0.2;

/// Faults of every kind on a share `rate` of Shopify's GraphQL requests, seeded with `seed`.
pub fn every_kind(rate: f64, seed: u64) -> FaultConfig {
    FaultConfig {
        rate,
        seed,
        kinds: FaultKind::ALL.to_vec(),
    }
}

/// Options of a local stack (otherwise [`StackOptions::default`]) whose simulators fail a share
/// `rate` of the requests from the start — every kind on Shopify (seeded with `shopify_seed`), and
/// BC's (seeded with `bc_seed`) — and whose functions run with `runtime`.
pub fn faulty_stack(
    rate: f64,
    shopify_seed: u64,
    bc_seed: u64,
    runtime: RuntimeConfig,
) -> StackOptions {
    let defaults = StackOptions::default();
    StackOptions {
        shopify: SimConfig {
            faults: every_kind(rate, shopify_seed),
            ..defaults.shopify
        },
        bc: BcSimConfig {
            faults: BcFaults::new(rate, bc_seed),
            ..BcSimConfig::default()
        },
        runtime,
        ..StackOptions::default()
    }
}

/// 20 % faults of every kind on Shopify's GraphQL API (seeded with `seed`) and on BC's API (seeded
/// with `seed + 1`), from now on.
pub fn faults_on(stack: &Stack, seed: u64) {
    stack.shopify.set_faults(every_kind(FAULT_RATE, seed));
    stack.bc.set_faults(BcFaults::new(FAULT_RATE, seed + 1));
}

/// No more faults on either simulator.
pub fn faults_off(stack: &Stack) {
    stack.shopify.set_faults(FaultConfig::default());
    stack.bc.set_faults(BcFaults::none());
}

/// Take a message on the queue and put it back twice: an at-least-once duplicate delivery (a copy
/// is sent, and the original is made visible again at once).
pub async fn duplicate_a_message(stack: &Stack, queue_url: &str) {
    let sqs = aws_sdk_sqs::Client::new(&stack.sdk);
    let got = sqs
        .receive_message()
        .queue_url(queue_url)
        .wait_time_seconds(2)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .send()
        .await
        .expect("receive from the task queue");
    let m = got
        .messages
        .unwrap_or_default()
        .into_iter()
        .next()
        .expect("a job's message");
    sqs.send_message()
        .queue_url(queue_url)
        .message_body(m.body.clone().unwrap_or_default())
        .send()
        .await
        .expect("send the copy");
    sqs.change_message_visibility()
        .queue_url(queue_url)
        .receipt_handle(m.receipt_handle.unwrap_or_default())
        .visibility_timeout(0)
        .send()
        .await
        .expect("make the original visible again");
}

/// Receive one message of `queue_url` as the SQS event of its `receive_count`th delivery, as the
/// event source mapping hands it to a worker: the event, the receipt handle and the body. The
/// message stays in flight under the returned receipt handle.
pub async fn receive_event(
    stack: &Stack,
    queue_url: &str,
    receive_count: u32,
) -> (SqsEvent, String, String) {
    let got = aws_sdk_sqs::Client::new(&stack.sdk)
        .receive_message()
        .queue_url(queue_url)
        .wait_time_seconds(2)
        .send()
        .await
        .expect("receive from the task queue");
    let m = got
        .messages
        .unwrap_or_default()
        .into_iter()
        .next()
        .expect("a message on the task queue");
    let handle = m.receipt_handle.clone().unwrap_or_default();
    let body = m.body.clone().unwrap_or_default();
    let event = serde_json::from_value(serde_json::json!({"Records": [{
        "messageId": m.message_id, "receiptHandle": m.receipt_handle, "body": m.body,
        "attributes": {"ApproximateReceiveCount": receive_count.to_string()},
        "messageAttributes": {}, "eventSource": "aws:sqs"
    }]}))
    .expect("an SQS event");
    (event, handle, body)
}

/// Send `body` to `queue_url`.
pub async fn send_body(stack: &Stack, queue_url: &str, body: &str) {
    aws_sdk_sqs::Client::new(&stack.sdk)
        .send_message()
        .queue_url(queue_url)
        .message_body(body)
        .send()
        .await
        .expect("send to the task queue");
}

/// What the event source mapping does once a worker answered: a success is deleted; a reported
/// failure is left (the worker has set when it comes back).
pub async fn acknowledge(
    stack: &Stack,
    queue_url: &str,
    handle: &str,
    response: &SqsBatchResponse,
) {
    if response.batch_item_failures.is_empty() {
        aws_sdk_sqs::Client::new(&stack.sdk)
            .delete_message()
            .queue_url(queue_url)
            .receipt_handle(handle)
            .send()
            .await
            .expect("delete a handled message");
    }
}

/// One scheduled tick (exactly one job queued), its message delivered twice at the same moment —
/// to `first` and to `second`, as SQS's at-least-once delivery may — both answers acknowledged as
/// the event source mapping would, then the queue drained by `first` within `drain`. The message's
/// body, for a later duplicate.
pub async fn tick_and_deliver_twice_at_once(
    stack: &Stack,
    first: &shopsync_runtime::local::LocalRunner,
    second: &shopsync_runtime::local::LocalRunner,
    drain: std::time::Duration,
) -> String {
    let queue = first.queue_url.clone();
    let report = first.tick(crate::tick_at(0)).await;
    assert_eq!(report.queued.len(), 1, "{report:?}");
    let (event_a, handle_a, body) = receive_event(stack, &queue, 1).await;
    send_body(stack, &queue, &body).await;
    let (event_b, handle_b, copy) = receive_event(stack, &queue, 1).await;
    assert_eq!(copy, body);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(900);
    let (a, b) = tokio::join!(
        shopsync_runtime::worker::handle_batch(&first.app, event_a, deadline),
        shopsync_runtime::worker::handle_batch(&second.app, event_b, deadline),
    );
    acknowledge(stack, &queue, &handle_a, &a).await;
    acknowledge(stack, &queue, &handle_b, &b).await;
    first.drain(drain).await.unwrap();
    body
}
