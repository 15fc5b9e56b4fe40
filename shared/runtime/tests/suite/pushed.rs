//! Webhooks pushed by Shopify through EventBridge: a burst of one shop makes one job and one message,
//! due at the end of the shop's debounce window; webhooks that are not for us change nothing.

use async_trait::async_trait;
use serde_json::json;
use shopsync_domain::job::{JobRecord, JobStatus, Trigger};
use shopsync_domain::ports::SettingsStore;
use shopsync_domain::{ShopSettings, TaskKind};
use shopsync_runtime::pushed::{self, WebhookOutcome};
use shopsync_runtime::{App, RunReport, RuntimeConfig, TaskRunner};
use shopsync_tasks::Progress;
use shopsync_test_support::{MemoryQueue, MemoryStore};
use std::sync::Arc;

/// The worker only places webhook jobs here; it never runs one.
struct NeverRuns;

#[async_trait]
impl TaskRunner for NeverRuns {
    fn task(&self) -> TaskKind {
        TaskKind::SyncOrders
    }
    async fn run(&self, _: &ShopSettings, _: &JobRecord, _: &dyn Progress) -> RunReport {
        unreachable!("no run in these tests")
    }
}

fn app(store: &MemoryStore, queue: &MemoryQueue) -> App {
    App {
        settings: Arc::new(store.clone()),
        schedules: Arc::new(store.clone()),
        jobs: Arc::new(store.clone()),
        leases: Arc::new(store.clone()),
        queue: Arc::new(queue.clone()),
        runner: Arc::new(NeverRuns),
        config: RuntimeConfig::default(),
    }
}

async fn shop(store: &MemoryStore, code: &str, webhooks: bool, task_on: bool) {
    let settings = ShopSettings::from_json(
        &json!({
            "code": code, "enabled": true, "order_webhooks": webhooks,
            "tasks": {"sync-orders": {"enabled": task_on, "webhook_debounce_secs": 60}},
            "shopify": {"store_domain": format!("{}.myshopify.com", code.to_lowercase()),
                        "access_token_secret_id": format!("shopsync/{code}/shopify")},
            "bc": {"tenant": "contoso", "environment": "production",
                   "company_id": "5d5d2b5a-6a47-4d36-9a55-4f4c0f0e1a01",
                   "credentials_secret_id": format!("shopsync/{code}/bc")}
        })
        .to_string(),
    )
    .unwrap();
    store.put_shop(&settings).await.unwrap();
}

/// An event as EventBridge delivers a Shopify webhook (headers in `detail.metadata`).
fn webhook(topic: &str, domain: &str, order: u64) -> String {
    json!({
        "version": "0", "id": format!("ev-{order}"), "detail-type": "shopifyWebhook",
        "source": "aws.partner/shopify.com/347082227713/shopsync",
        "account": "123456789012", "time": "2026-11-29T03:00:00Z", "region": "us-east-1",
        "resources": [],
        "detail": {
            "payload": {"id": order, "name": format!("#{order}"), "admin_graphql_api_id": format!("gid://shopify/Order/{order}")},
            "metadata": {
                "Content-Type": "application/json", "X-Shopify-Topic": topic,
                "X-Shopify-Shop-Domain": domain, "X-Shopify-Order-Id": order.to_string(),
                "X-Shopify-API-Version": "2026-04", "X-Shopify-Webhook-Id": format!("wh-{order}")
            }
        }
    })
    .to_string()
}

#[tokio::test]
async fn a_burst_of_a_hundred_webhooks_makes_one_job_and_one_message() {
    let (store, queue) = (MemoryStore::new(), MemoryQueue::new());
    shop(&store, "WEB", true, true).await;
    let app = app(&store, &queue);
    let bodies: Vec<String> = (0..100)
        .map(|n| {
            let topic = if n % 3 == 0 {
                "orders/create"
            } else {
                "orders/updated"
            };
            webhook(topic, "web.myshopify.com", 1000 + n)
        })
        .collect();
    let outcomes =
        futures_util::future::join_all(bodies.iter().map(|b| pushed::handle(&app, b))).await;
    let queued: Vec<_> = outcomes
        .iter()
        .filter(|o| matches!(o, Some(Ok(WebhookOutcome::Queued { .. }))))
        .collect();
    // Unless the burst straddles a window edge, in which case the second window has its own job.
    let jobs = store.jobs("WEB");
    assert!(
        (1..=2).contains(&jobs.len()) && queued.len() == jobs.len(),
        "{jobs:?}"
    );
    assert!(
        outcomes.iter().all(|o| matches!(o, Some(Ok(_)))),
        "{outcomes:?}"
    );
    let sent = queue.sent();
    assert_eq!(sent.len(), jobs.len());
    for (job, message) in jobs.iter().zip(&sent) {
        assert_eq!(job.status, JobStatus::Queued);
        assert_eq!(job.trigger, Trigger::Webhook);
        assert_eq!(job.task, TaskKind::SyncOrders);
        assert!(message.delay_secs <= 60, "due within the window");
    }
}

#[tokio::test]
async fn a_webhook_joins_a_job_already_waiting() {
    let (store, queue) = (MemoryStore::new(), MemoryQueue::new());
    shop(&store, "JOIN", true, true).await;
    let app = app(&store, &queue);
    let first = pushed::handle(&app, &webhook("orders/create", "join.myshopify.com", 1)).await;
    let Some(Ok(WebhookOutcome::Queued { job_id, .. })) = first else {
        panic!("{first:?}")
    };
    // Later in the window, or after a manual run recorded itself as the waiting job: joined.
    let later = pushed::handle(&app, &webhook("orders/updated", "join.myshopify.com", 2)).await;
    assert!(
        matches!(&later, Some(Ok(WebhookOutcome::Joined { job_id: j }) | Ok(WebhookOutcome::Queued { job_id: j, .. })) if *j == job_id || store.jobs("JOIN").len() == 2),
        "{later:?}"
    );
}

#[tokio::test]
async fn webhooks_that_are_not_for_us_change_nothing() {
    let (store, queue) = (MemoryStore::new(), MemoryQueue::new());
    shop(&store, "OFF", false, true).await;
    shop(&store, "TASKOFF", true, false).await;
    let app = app(&store, &queue);
    for body in [
        webhook("orders/create", "off.myshopify.com", 1),
        webhook("orders/create", "taskoff.myshopify.com", 1),
        webhook("orders/create", "nobody.myshopify.com", 1),
        webhook("products/update", "off.myshopify.com", 1),
        webhook("orders/create", "evil.example.com/x", 1),
    ] {
        let outcome = pushed::handle(&app, &body).await;
        assert!(
            matches!(outcome, Some(Ok(WebhookOutcome::Dropped(_)))),
            "{outcome:?}"
        );
    }
    assert!(pushed::handle(&app, r#"{"shop":"A"}"#).await.is_none());
    assert!(store.jobs("OFF").is_empty() && store.jobs("TASKOFF").is_empty());
    assert!(queue.sent().is_empty());
}

#[tokio::test]
async fn the_worker_takes_webhook_events_from_its_queue() {
    let (store, queue) = (MemoryStore::new(), MemoryQueue::new());
    shop(&store, "SQS", true, true).await;
    let app = app(&store, &queue);
    let records: Vec<serde_json::Value> = (0..10)
        .map(|n| {
            json!({"messageId": format!("m{n}"), "receiptHandle": format!("r{n}"),
                   "body": webhook("orders/updated", "sqs.myshopify.com", n),
                   "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {},
                   "eventSource": "aws:sqs"})
        })
        .collect();
    let event = serde_json::from_value(json!({ "Records": records })).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let response = shopsync_runtime::worker::handle_batch(&app, event, deadline).await;
    assert!(response.batch_item_failures.is_empty());
    let jobs = store.jobs("SQS");
    assert!((1..=2).contains(&jobs.len()), "{jobs:?}");
    assert_eq!(queue.sent().len(), jobs.len());
    assert!(
        queue.dead_letters().is_empty(),
        "a webhook is not an unreadable message"
    );
}
