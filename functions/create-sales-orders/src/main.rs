//! `create-sales-orders` Lambda (reference report 30103): Shopify orders staged in DynamoDB →
//! Business Central sales orders and invoices, exactly once. Invoked by its EventBridge cron rule
//! (fan-out) and by its SQS queue (one job per message). All logic lives in `shared/`; this only
//! wires.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shopsync_runtime::bootstrap::run_function(shopsync_runtime::registry::CREATE_SALES_ORDERS).await
}
