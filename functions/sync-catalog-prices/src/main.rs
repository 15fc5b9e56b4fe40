//! `sync-catalog-prices` Lambda (reference report 30116): BC prices → the fixed prices of each
//! catalog's price list. Invoked by its EventBridge cron rule (fan-out) and by its SQS queue (one
//! job per message). All logic lives in `shared/`; this only wires.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shopsync_runtime::bootstrap::run_function(shopsync_runtime::registry::SYNC_CATALOG_PRICES).await
}
