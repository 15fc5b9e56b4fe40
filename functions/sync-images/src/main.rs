//! `sync-images` Lambda (reference report 30107): BC item pictures ⇄ Shopify product images, in
//! the direction of the shop's `sync_item_images`. Invoked by its EventBridge cron rule (fan-out)
//! and by its SQS queue (one job per message). All logic lives in `shared/`; this only wires.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shopsync_runtime::bootstrap::run_function(shopsync_runtime::registry::SYNC_IMAGES).await
}
