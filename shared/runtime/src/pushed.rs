//! Runs pushed by Shopify: webhooks delivered through Amazon EventBridge to a task's queue.
//!
//! The reference connector syncs orders when Shopify's order-created webhook fires, keeping at most
//! one waiting job per shop. Here Shopify delivers its webhooks (`orders/create`, `orders/updated`,
//! see [`TaskSpec::pushed_by`](shopsync_domain::TaskSpec::pushed_by)) to an EventBridge partner event
//! source; a rule in the template sends them to the task's queue, so the worker receives an
//! EventBridge event (`detail-type: shopifyWebhook`, the webhook's headers in `detail.metadata`)
//! instead of a job message.
//!
//! The payload itself is not trusted or used: the run reads the orders from Shopify as a scheduled
//! run does. A webhook only says "this shop has news": all webhooks of one shop within its debounce
//! window (`tasks.<task>.webhook_debounce_secs`) make one job, whose message is delayed to the end of the window,
//! so a burst of 100 order updates is read by one run. A webhook that finds a job of the task still
//! waiting (a manual run, the schedule's) joins it. A webhook for a shop that is unknown, disabled,
//! has the task off or `order_webhooks` off is dropped with a log line, not dead-lettered: it is not a
//! failure of ours, and the schedule reconciles anyway.

use crate::App;
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use serde::{Deserialize, Serialize};
use shopsync_domain::job::{RunOptions, Trigger, job_id};
use shopsync_domain::ports::Result;
use shopsync_domain::text::preview;
use shopsync_domain::waiting::{Placed, place_job};
use std::collections::HashMap;
use tracing::{info, warn};

/// `detail-type` of the events Shopify sends to EventBridge.
pub const SHOPIFY_WEBHOOK: &str = "shopifyWebhook";
const TOPIC_HEADER: &str = "x-shopify-topic";
const SHOP_HEADER: &str = "x-shopify-shop-domain";

/// The part of a webhook event the worker reads: the delivery headers.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct WebhookDetail {
    #[serde(default)]
    pub metadata: HashMap<String, serde_json::Value>,
}

impl WebhookDetail {
    fn header(&self, name: &str) -> Option<&str> {
        self.metadata
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v.as_str())
    }
}

/// What became of one webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookOutcome {
    /// A job was created for this burst; its message is due at the end of the window.
    Queued { job_id: String, delay_secs: u32 },
    /// A job of the task was already waiting for the shop: the webhook joined it.
    Joined { job_id: String },
    /// Not for us (why, for the log).
    Dropped(String),
}

/// If `body` is a Shopify webhook event, handle it and say what became of it; `None` when it is not
/// one (the caller then treats it as an unreadable message).
pub async fn handle(app: &App, body: &str) -> Option<Result<WebhookOutcome>> {
    let event: EventBridgeEvent<WebhookDetail> = serde_json::from_str(body).ok()?;
    if event.detail_type != SHOPIFY_WEBHOOK {
        return None;
    }
    let outcome = place(app, &event.detail).await;
    match &outcome {
        Ok(WebhookOutcome::Dropped(why)) => info!(why, "webhook dropped"),
        Ok(other) => info!(?other, "webhook placed"),
        Err(e) => warn!(error = %e, "webhook could not be placed; it will be redelivered"),
    }
    Some(outcome)
}

async fn place(app: &App, detail: &WebhookDetail) -> Result<WebhookOutcome> {
    let task = app.runner.task();
    let topic = detail.header(TOPIC_HEADER).unwrap_or_default();
    if !task.spec().pushed_by().contains(&topic) {
        return Ok(WebhookOutcome::Dropped(format!(
            "topic '{}' does not push {task}",
            preview(topic)
        )));
    }
    let domain = detail.header(SHOP_HEADER).unwrap_or_default();
    if !shopsync_domain::patterns::is_store_domain(domain) {
        return Ok(WebhookOutcome::Dropped(format!(
            "'{}' is not a store domain",
            preview(domain)
        )));
    }
    let Some(settings) = app
        .settings
        .list_shops()
        .await?
        .into_iter()
        .find(|s| s.shopify.store_domain == domain)
    else {
        return Ok(WebhookOutcome::Dropped(format!(
            "no shop is registered for {domain}"
        )));
    };
    let shop = settings.code.as_str();
    if !settings.enabled || !settings.task(task).enabled || !settings.order_webhooks {
        return Ok(WebhookOutcome::Dropped(format!(
            "shop {shop} is disabled, has {task} off or order_webhooks off"
        )));
    }
    let window_ms = i64::from(settings.task_webhook_debounce_secs(task).max(1)) * 1000;
    let now_ms = shopsync_domain::time::now_millis();
    let window_start = now_ms - now_ms.rem_euclid(window_ms);
    let unique = format!("{shop}-webhook");
    let options = RunOptions::default();
    let now = now_ms / 1000;
    let mut id = job_id(task, window_start, &unique);
    for _ in 0..2 {
        match place_job(
            app.jobs.as_ref(),
            shop,
            task,
            &options,
            &id,
            Trigger::Webhook,
            now,
        )
        .await?
        {
            Placed::Created(job) => {
                let delay_ms = (window_start + window_ms - now_ms).clamp(0, 900_000);
                let delay_secs = (delay_ms / 1000) as u32;
                app.queue.send(&job.message(), delay_secs).await?;
                return Ok(WebhookOutcome::Queued {
                    job_id: job.job_id,
                    delay_secs,
                });
            }
            Placed::Joined(job) => return Ok(WebhookOutcome::Joined { job_id: job.job_id }),
            Placed::Exists(job) if job.is_waiting(now) => {
                return Ok(WebhookOutcome::Joined { job_id: job.job_id });
            }
            // This window's job has started already: it may have read the orders before this
            // change, so the webhook gets a job of its own.
            Placed::Exists(_) => id = job_id(task, now_ms, &unique),
        }
    }
    Ok(WebhookOutcome::Dropped(format!(
        "shop {shop} had a job created at this very millisecond"
    )))
}
