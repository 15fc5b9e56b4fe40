//! The real `status` binary, run as Lambda runs it: configured only through the environment the SAM
//! template gives it (plus `AWS_ENDPOINT_URL` for moto), handed a scheduled event by a local Lambda
//! Runtime API. It mirrors the dead-letter queue without consuming it and prints the board as
//! CloudWatch EMF lines on stdout.

use serde_json::{Value, json};
use shopsync_domain::ports::{DeadLetterReason, TaskQueue};
use shopsync_e2e::lambda_api::{LambdaRuntimeApi, function_process};
use shopsync_e2e::{Stack, StackOptions};
use shopsync_localstack::MotoServer;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_runs_the_status_pass_and_prints_emf() {
    let stack = Stack::start(StackOptions::default())
        .await
        .expect("local stack");
    stack.seed_shop("BINST", 5).await.unwrap();
    let body = json!({"shop": "BINST", "task": "sync-inventory", "job_id": "1795000000000-sync-inventory-x", "seq": 0});
    stack
        .adapters
        .queue
        .dead_letter(
            &body.to_string(),
            &DeadLetterReason {
                shop: Some("BINST".into()),
                task: Some("sync-inventory".into()),
                job_id: Some("1795000000000-sync-inventory-x".into()),
                error_kind: "auth".into(),
                error: "Shopify refused our credentials (401)".into(),
            },
        )
        .await
        .unwrap();

    let runtime = LambdaRuntimeApi::start().await.unwrap();
    let moto = MotoServer::shared().unwrap();
    let mut child = function_process(
        env!("CARGO_BIN_EXE_status"),
        "status",
        &runtime,
        &stack,
        moto.endpoint(),
    )
    .env("QUEUE_URL_SYNC_INVENTORY", &stack.runner.queue_url)
    .stdout(std::process::Stdio::piped())
    .spawn()
    .expect("start the function binary");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();

    let tick = json!({
        "version": "0", "id": "0d1b2c3d-0000-4000-8000-000000000000", "detail-type": "Scheduled Event",
        "source": "aws.events", "account": "123456789012", "time": "2026-11-26T18:00:00Z",
        "region": "us-east-1", "resources": ["arn:aws:events:us-east-1:123456789012:rule/status"], "detail": {}
    });
    let report = runtime
        .invoke(tick, Duration::from_secs(60))
        .await
        .expect("the status run answered");
    assert_eq!(report["dead_letter_depth"], 1, "{report}");
    assert_eq!(report["open_failures"], 1, "{report}");
    assert_eq!(
        stack.dead_letters().await.len(),
        1,
        "the status run must not consume the dead-letter queue"
    );

    // stdout carries the board of BINST as an EMF document.
    let mut board_line: Option<Value> = None;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while board_line.is_none() && tokio::time::Instant::now() < deadline {
        let Ok(Ok(Some(line))) =
            tokio::time::timeout(Duration::from_secs(2), lines.next_line()).await
        else {
            break;
        };
        if let Ok(doc) = serde_json::from_str::<Value>(&line)
            && doc["Shop"] == "BINST"
        {
            board_line = Some(doc);
        }
    }
    let doc = board_line.expect("an EMF line for shop BINST on stdout");
    assert_eq!(doc["_aws"]["CloudWatchMetrics"][0]["Namespace"], "Shopsync");
    assert_eq!(doc["OpenFailures"], 1, "{doc}");
    assert_eq!(doc["SynchronizationErrors"], 1, "{doc}");
    assert!(
        child.try_wait().unwrap().is_none(),
        "the function process must still be running"
    );
    child.kill().await.unwrap();
}
