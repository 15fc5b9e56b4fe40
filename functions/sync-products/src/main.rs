//! `sync-products` Lambda (reference report 30108): BC items ↔ Shopify products and prices, per the
//! shop's `sync_item`. Invoked by its EventBridge cron rule (fan-out) and by its SQS queue (one job
//! per message). All logic lives in `shared/`; this only wires.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shopsync_runtime::bootstrap::run_function(shopsync_runtime::registry::SYNC_PRODUCTS).await
}
