//! `sync-companies` Lambda (reference report 30114): Shopify B2B companies → BC customers, and
//! changed BC customers of linked companies → Shopify. Invoked by its EventBridge cron rule
//! (fan-out) and by its SQS queue (one job per message). All logic lives in `shared/`; this only
//! wires.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shopsync_runtime::bootstrap::run_function(shopsync_runtime::registry::SYNC_COMPANIES).await
}
