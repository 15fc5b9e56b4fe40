//! The real `sync-inventory` binary, run as Lambda runs it: configured only through its environment
//! (the variables the SAM template sets, plus `AWS_ENDPOINT_URL` for moto and the simulators'
//! endpoints), talking to a local Lambda Runtime API that hands it a scheduled event and then the SQS
//! batch the event source mapping would deliver.

use serde_json::json;
use shopsync_domain::JobStatus;
use shopsync_e2e::lambda_api::{LambdaRuntimeApi, function_process};
use shopsync_e2e::{Stack, StackOptions, bc_quantity, tick_at};
use shopsync_localstack::MotoServer;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_fans_out_a_tick_and_runs_the_job_through_the_runtime_api() {
    let stack = Stack::start(StackOptions::default())
        .await
        .expect("local stack");
    let shop = stack.seed_shop("BIN", 60).await.unwrap();
    let api = LambdaRuntimeApi::start().await.unwrap();
    let moto = MotoServer::shared().unwrap();
    let mut child = function_process(
        env!("CARGO_BIN_EXE_sync-inventory"),
        "sync-inventory",
        &api,
        &stack,
        moto.endpoint(),
    )
    .env("TASK_QUEUE_URL", &stack.runner.queue_url)
    .env(
        "SHOPIFY_URL_TEMPLATE",
        format!(
            "{}/{{shop_domain}}/admin/api/{{version}}/graphql.json",
            stack.shopify.base_url()
        ),
    )
    .env("BC_API_BASE_URL", stack.bc.api_base_url())
    .env("BC_TOKEN_URL_TEMPLATE", stack.bc.token_url_template())
    .env("SHOPIFY_BULK_POLL_MS", "100")
    .spawn()
    .expect("start the function binary");

    // 1. The EventBridge rule's scheduled event: fan-out.
    let tick = json!({
        "version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718", "detail-type": "Scheduled Event",
        "source": "aws.events", "account": "123456789012", "time": shopsync_runtime::events::format_rfc3339(tick_at(0)),
        "region": "us-east-1", "resources": ["arn:aws:events:us-east-1:123456789012:rule/sync-inventory"], "detail": {}
    });
    let report = api
        .invoke(tick, Duration::from_secs(60))
        .await
        .expect("fan-out answered");
    assert_eq!(
        report["queued"].as_array().map(Vec::len),
        Some(1),
        "{report}"
    );

    // 2. The event source mapping's batch with that job message: the worker.
    let sqs = aws_sdk_sqs::Client::new(&stack.sdk);
    let got = sqs
        .receive_message()
        .queue_url(&stack.runner.queue_url)
        .wait_time_seconds(2)
        .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
        .send()
        .await
        .unwrap();
    let m = got
        .messages
        .unwrap_or_default()
        .pop()
        .expect("the fan-out's message");
    let batch = json!({"Records": [{
        "messageId": m.message_id, "receiptHandle": m.receipt_handle, "body": m.body,
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1795000000000"},
        "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:SyncInventoryQueue", "awsRegion": "us-east-1"
    }]});
    let response = api
        .invoke(batch, Duration::from_secs(120))
        .await
        .expect("worker answered");
    assert_eq!(response["batchItemFailures"], json!([]), "{response}");
    let job = &stack.jobs("BIN").await[0];
    assert_eq!(job.status, JobStatus::Succeeded, "{:?}", job.error);
    assert_eq!(shop.levels_off(&stack, |i, l| bc_quantity(i, l) as i64), 0);

    // 3. A payload that is neither: a clear error, and the process keeps serving.
    let err = api
        .invoke(json!({"hello": "world"}), Duration::from_secs(10))
        .await
        .unwrap_err();
    assert!(
        err["errorMessage"]
            .as_str()
            .unwrap_or_default()
            .contains("unrecognised invocation payload"),
        "{err}"
    );
    assert!(
        child.try_wait().unwrap().is_none(),
        "the function process must still be running"
    );
    child.kill().await.unwrap();
}
