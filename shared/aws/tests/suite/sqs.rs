//! SqsTaskQueue against moto, on queues provisioned from infra/template.yaml.

use crate::common;

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{Message, MessageSystemAttributeName, QueueAttributeName};
use common::{stack, stack_with, unique};
use shopsync_aws::SqsTaskQueue;
use shopsync_domain::ports::{DeadLetterReason, TaskQueue};
use shopsync_domain::{JobMessage, TaskKind};
use shopsync_localstack::provision::ProvisionOptions;
use std::time::{Duration, Instant};

const TASK_QUEUE: &str = "SyncInventoryQueue";

fn msg(i: usize) -> JobMessage {
    JobMessage {
        shop: format!("SHOP{i}"),
        task: TaskKind::SyncInventory,
        job_id: format!("job-{i}"),
        seq: i as u64,
    }
}

/// Receive until `want` messages arrived or `timeout` passed; deletes what it receives.
async fn drain(client: &Client, url: &str, want: usize, timeout: Duration) -> Vec<Message> {
    let mut got = Vec::new();
    let deadline = Instant::now() + timeout;
    while got.len() < want && Instant::now() < deadline {
        let out = client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .message_attribute_names("All")
            .send()
            .await
            .unwrap();
        for m in out.messages.unwrap_or_default() {
            client
                .delete_message()
                .queue_url(url)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
            got.push(m);
        }
    }
    got
}

fn attr<'a>(m: &'a Message, name: &str) -> Option<&'a str> {
    m.message_attributes()
        .and_then(|a| a.get(name))
        .and_then(|v| v.string_value())
}

#[tokio::test]
async fn send_puts_a_job_message_on_the_task_queue() {
    let (sdk, res) = stack("send").await;
    let queue = SqsTaskQueue::new(&sdk, &res.queues[TASK_QUEUE], &res.dlq_url);
    queue.send(&msg(1), 0).await.unwrap();
    let client = Client::new(&sdk);
    let got = drain(&client, &res.queues[TASK_QUEUE], 1, Duration::from_secs(5)).await;
    assert_eq!(got.len(), 1);
    let body: JobMessage = serde_json::from_str(got[0].body().unwrap()).unwrap();
    assert_eq!(body, msg(1));
    assert_eq!(attr(&got[0], "shop"), Some("SHOP1"));
    assert_eq!(attr(&got[0], "task"), Some("sync-inventory"));
    assert_eq!(attr(&got[0], "job_id"), Some("job-1"));
    assert!(
        queue.send(&msg(1), 901).await.is_err(),
        "SQS allows at most 900 s of delay"
    );
}

#[tokio::test]
async fn send_batch_sends_ten_per_call_and_everything_arrives() {
    let (sdk, res) = stack("batch").await;
    let queue = SqsTaskQueue::new(&sdk, &res.queues[TASK_QUEUE], &res.dlq_url);
    let msgs: Vec<JobMessage> = (0..23).map(msg).collect();
    let failed = queue.send_batch(&msgs).await.unwrap();
    assert!(failed.is_empty(), "failed: {failed:?}");
    assert_eq!(queue.batch_calls(), 3);

    let client = Client::new(&sdk);
    let got = drain(
        &client,
        &res.queues[TASK_QUEUE],
        23,
        Duration::from_secs(15),
    )
    .await;
    let mut bodies: Vec<JobMessage> = got
        .iter()
        .map(|m| serde_json::from_str(m.body().unwrap()).unwrap())
        .collect();
    bodies.sort_by_key(|m| m.seq);
    assert_eq!(bodies, msgs);
    assert!(queue.send_batch(&[]).await.unwrap().is_empty());
    assert_eq!(queue.batch_calls(), 3, "an empty batch makes no call");
}

#[tokio::test]
async fn send_batch_reports_the_indexes_of_a_failed_call() {
    let (sdk, res) = stack("batchfail").await;
    let missing = format!("{}-missing", res.queues[TASK_QUEUE]);
    let queue = SqsTaskQueue::new(&sdk, &missing, &res.dlq_url);
    let msgs: Vec<JobMessage> = (0..12).map(msg).collect();
    assert_eq!(
        queue.send_batch(&msgs).await.unwrap(),
        (0..12).collect::<Vec<_>>()
    );
    assert_eq!(queue.batch_calls(), 2);
}

#[tokio::test]
async fn delayed_messages_are_invisible_until_the_delay_passes() {
    let (sdk, res) = stack("delay").await;
    let queue = SqsTaskQueue::new(&sdk, &res.queues[TASK_QUEUE], &res.dlq_url);
    let client = Client::new(&sdk);
    let sent = Instant::now();
    queue.send(&msg(7), 2).await.unwrap();
    let early = client
        .receive_message()
        .queue_url(&res.queues[TASK_QUEUE])
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    assert!(
        early.messages.unwrap_or_default().is_empty(),
        "a delayed message must not be visible at once"
    );
    let got = drain(&client, &res.queues[TASK_QUEUE], 1, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 1);
    assert!(
        sent.elapsed() >= Duration::from_millis(1500),
        "arrived after {:?}",
        sent.elapsed()
    );
    assert_eq!(
        serde_json::from_str::<JobMessage>(got[0].body().unwrap()).unwrap(),
        msg(7)
    );
}

#[tokio::test]
async fn dead_letter_carries_the_reason_as_attributes() {
    let (sdk, res) = stack("dlq").await;
    let queue = SqsTaskQueue::new(&sdk, &res.queues[TASK_QUEUE], &res.dlq_url);
    let body = serde_json::to_string(&msg(3)).unwrap();
    let reason = DeadLetterReason {
        shop: Some("SHOP3".into()),
        task: Some("sync-inventory".into()),
        job_id: Some("job-3".into()),
        error_kind: "auth".into(),
        error: "shopify refused our credentials (401): invalid token".into(),
    };
    queue.dead_letter(&body, &reason).await.unwrap();
    queue
        .dead_letter(
            "not json",
            &DeadLetterReason {
                shop: None,
                task: None,
                job_id: None,
                error_kind: "validation".into(),
                error: "bad body".into(),
            },
        )
        .await
        .unwrap();

    let client = Client::new(&sdk);
    let got = drain(&client, &res.dlq_url, 2, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 2);
    let first = got
        .iter()
        .find(|m| m.body() == Some(body.as_str()))
        .expect("the job message is on the DLQ");
    assert_eq!(attr(first, "shop"), Some("SHOP3"));
    assert_eq!(attr(first, "task"), Some("sync-inventory"));
    assert_eq!(attr(first, "job_id"), Some("job-3"));
    assert_eq!(attr(first, "error_kind"), Some("auth"));
    assert_eq!(
        attr(first, "error"),
        Some("shopify refused our credentials (401): invalid token")
    );
    let second = got.iter().find(|m| m.body() == Some("not json")).unwrap();
    assert_eq!(attr(second, "error_kind"), Some("validation"));
    assert_eq!(attr(second, "shop"), None);
    // Nothing went to the task queue.
    assert!(
        drain(
            &client,
            &res.queues[TASK_QUEUE],
            1,
            Duration::from_millis(1200)
        )
        .await
        .is_empty()
    );
}

#[tokio::test]
async fn the_redrive_policy_moves_a_poison_message_to_the_dlq() {
    // A queue like the template's, with maxReceiveCount 2 and a 1 s visibility timeout.
    let yaml = r#"
Resources:
  Dlq: {Type: AWS::SQS::Queue, Properties: {MessageRetentionPeriod: 1209600}}
  Work:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: 900
      RedrivePolicy: {deadLetterTargetArn: !GetAtt Dlq.Arn, maxReceiveCount: 2}
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
"#;
    let sdk = common::sdk().await;
    let opts = ProvisionOptions::with_prefix(unique("redrive")).visibility_timeout(1);
    let res = shopsync_localstack::provision::provision_template(&sdk, yaml, &opts)
        .await
        .unwrap();
    assert_eq!(res.max_receive_count, 2);
    let work = &res.queues["Work"];
    let queue = SqsTaskQueue::new(&sdk, work, &res.dlq_url);
    queue.send(&msg(5), 0).await.unwrap();

    let client = Client::new(&sdk);
    for expected_count in ["1", "2"] {
        let out = client
            .receive_message()
            .queue_url(work)
            .wait_time_seconds(2)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .unwrap();
        let msgs = out.messages.unwrap_or_default();
        assert_eq!(msgs.len(), 1, "receive #{expected_count}");
        let count = msgs[0]
            .attributes()
            .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
            .map(String::as_str);
        assert_eq!(count, Some(expected_count));
        // Not deleted: the worker "failed"; wait for the visibility timeout to expire.
        tokio::time::sleep(Duration::from_millis(1500)).await;
    }
    let third = client
        .receive_message()
        .queue_url(work)
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap();
    assert!(
        third.messages.unwrap_or_default().is_empty(),
        "after maxReceiveCount receives the message leaves the queue"
    );

    let dead = drain(&client, &res.dlq_url, 1, Duration::from_secs(5)).await;
    assert_eq!(dead.len(), 1);
    assert_eq!(
        serde_json::from_str::<JobMessage>(dead[0].body().unwrap()).unwrap(),
        msg(5)
    );
    assert_eq!(
        attr(&dead[0], "job_id"),
        Some("job-5"),
        "attributes survive the redrive"
    );

    let depth = client
        .get_queue_attributes()
        .queue_url(work)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await
        .unwrap();
    assert_eq!(
        depth.attributes.unwrap()[&QueueAttributeName::ApproximateNumberOfMessages],
        "0"
    );
}

#[tokio::test]
async fn stack_with_overrides_visibility() {
    let (sdk, res) =
        stack_with(ProvisionOptions::with_prefix(unique("vis")).visibility_timeout(7)).await;
    let client = Client::new(&sdk);
    let attrs = client
        .get_queue_attributes()
        .queue_url(&res.queues[TASK_QUEUE])
        .attribute_names(QueueAttributeName::VisibilityTimeout)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap();
    assert_eq!(attrs[&QueueAttributeName::VisibilityTimeout], "7");
}
