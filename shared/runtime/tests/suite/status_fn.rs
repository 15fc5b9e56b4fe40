//! The status function's wiring against moto: configuration from the template's variable names,
//! adapters built as in Lambda, and one scheduled invocation.

use shopsync_aws::queues::queue_url_var;
use shopsync_aws::{DynamoStore, SqsTaskQueues};
use shopsync_domain::ports::{JobStore, TaskQueues};
use shopsync_domain::{JobRecord, JobStatus, RunOptions, TaskKind, Trigger};
use shopsync_localstack::MotoServer;
use shopsync_localstack::provision::{self, ProvisionOptions};
use shopsync_runtime::status_fn::{StatusConfig, handle, status_service};
use std::collections::HashMap;
use std::sync::Arc;

#[tokio::test]
async fn a_scheduled_invocation_runs_the_status_pass_on_the_configured_resources() {
    let moto = MotoServer::shared().expect("moto_server (set MOTO_SERVER or put it on PATH)");
    let sdk = moto.sdk_config().await;
    let prefix = format!("stfn{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    let res = provision::provision(
        &sdk,
        &ProvisionOptions::with_prefix(prefix).visibility_timeout(30),
    )
    .await
    .unwrap();
    // The variables the template sets on the status function.
    let env: HashMap<String, String> = HashMap::from([
        ("TABLE_NAME".to_string(), res.table_name.clone()),
        ("DLQ_URL".to_string(), res.dlq_url.clone()),
        (
            queue_url_var(TaskKind::SyncInventory),
            res.queues["SyncInventoryQueue"].clone(),
        ),
    ]);
    let lookup = |name: &str| env.get(name).cloned();
    let config = StatusConfig::from_lookup(lookup).unwrap();
    let queues = SqsTaskQueues::from_lookup(aws_sdk_sqs::Client::new(&sdk), lookup).unwrap();
    assert!(queues.queue(TaskKind::SyncInventory).is_some());
    let service = status_service(&sdk, &config, Arc::new(queues));

    // A job stuck `queued` whose message SQS redrove to the dead-letter queue.
    let store = DynamoStore::new(&sdk, &res.table_name);
    let job = JobRecord::new_queued(
        "DEMO",
        &shopsync_domain::job::job_id(TaskKind::SyncInventory, 1_795_000_000_000, "a"),
        TaskKind::SyncInventory,
        Trigger::Schedule,
        RunOptions::default(),
        1_795_000_000,
    );
    assert!(store.create_job(&job).await.unwrap());
    aws_sdk_sqs::Client::new(&sdk)
        .send_message()
        .queue_url(&res.dlq_url)
        .message_body(serde_json::to_string(&job.message()).unwrap())
        .send()
        .await
        .unwrap();

    let scheduled = serde_json::json!({
        "version": "0", "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa", "detail-type": "Scheduled Event",
        "source": "aws.events", "account": "123456789012", "time": "2026-11-26T18:05:00Z",
        "region": "us-east-1", "resources": ["arn:aws:events:us-east-1:123456789012:rule/status"], "detail": {}
    });
    let report = handle(&service, &scheduled).await.unwrap();
    assert_eq!(report.jobs_failed, vec![format!("DEMO/{}", job.job_id)]);
    assert_eq!(report.dead_letter_depth, 1);
    assert_eq!(
        store
            .get_job("DEMO", &job.job_id)
            .await
            .unwrap()
            .unwrap()
            .status,
        JobStatus::Failed
    );
    let last: serde_json::Value = serde_json::from_str(report.emf.last().unwrap()).unwrap();
    assert_eq!(last["DeadLetterDepth"], 1);
}
