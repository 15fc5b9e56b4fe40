//! `sync-orders` Lambda (reference report 30104): Shopify orders updated since the last run → staged
//! order records mapped to BC customers and items. Invoked by its EventBridge cron rule (fan-out) and
//! by its SQS queue (one job per message). All logic lives in `shared/`; this only wires.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shopsync_runtime::bootstrap::run_function(shopsync_runtime::registry::SYNC_ORDERS).await
}
