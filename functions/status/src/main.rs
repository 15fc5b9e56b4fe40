//! `status` Lambda: every five minutes (EventBridge schedule) mirrors the dead-letter queue, fails
//! dead-lettered jobs and prints the status board as EMF metrics. All logic lives in `shared/`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shopsync_runtime::status_fn::run_function().await
}
