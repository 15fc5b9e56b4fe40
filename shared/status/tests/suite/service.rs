//! StatusService end to end on moto (real AWS SDK): the DLQ mirror, the board, retry/discard and the
//! scheduled status run, on resources provisioned from infra/template.yaml.

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::MessageAttributeValue;
use shopsync_aws::{DynamoStore, SdkConfig, SqsDeadLetterQueue, SqsTaskQueue, SqsTaskQueues};
use shopsync_domain::job::JobError;
use shopsync_domain::ports::{
    DeadLetterReason, JobStore, Result, SettingsStore, SkippedRecord, SkippedRecordStore,
    TaskQueue, TaskQueues,
};
use shopsync_domain::status::{Cue, CueEntry, CueStyle, FailureSource, FailureState};
use shopsync_domain::status_ports::{CueStore, DeadLetterQueue, FailureStore};
use shopsync_domain::{
    ErrorKind, JobMessage, JobRecord, JobStatus, RunOptions, ShopSettings, SyncError, TaskKind,
    Trigger,
};
use shopsync_localstack::MotoServer;
use shopsync_localstack::provision::{self, ProvisionOptions, ProvisionedResources};
use shopsync_status::{StatusPorts, StatusService};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

const TASK_QUEUE: &str = "SyncInventoryQueue";

struct Env {
    sdk: SdkConfig,
    res: ProvisionedResources,
    store: Arc<DynamoStore>,
    sqs: Client,
    service: StatusService,
}

async fn env(label: &str) -> Env {
    env_with(label, |q| q).await
}

/// A stack with the task queues wrapped by `wrap` (to inject failures).
async fn env_with(
    label: &str,
    wrap: impl FnOnce(Arc<dyn TaskQueues>) -> Arc<dyn TaskQueues>,
) -> Env {
    let moto = MotoServer::shared().expect("moto_server (set MOTO_SERVER or put it on PATH)");
    let sdk = moto.sdk_config().await;
    let prefix = format!(
        "{label}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    );
    let res = provision::provision(
        &sdk,
        &ProvisionOptions::with_prefix(prefix).visibility_timeout(30),
    )
    .await
    .expect("provision the template into moto");
    let store = Arc::new(DynamoStore::new(&sdk, &res.table_name).with_page_size(3));
    let sqs = Client::new(&sdk);
    let queues: Arc<dyn TaskQueues> = Arc::new(SqsTaskQueues::from_urls(
        sqs.clone(),
        [(TaskKind::SyncInventory, res.queues[TASK_QUEUE].clone())],
        &res.dlq_url,
    ));
    let service = StatusService::new(StatusPorts {
        settings: store.clone(),
        jobs: store.clone(),
        counts: store.clone(),
        skipped: store.clone(),
        cues: store.clone(),
        failures: store.clone(),
        dlq: Arc::new(SqsDeadLetterQueue::from_client(sqs.clone(), &res.dlq_url).with_wait_secs(0)),
        queues: wrap(queues),
        leases: store.clone(),
        records: store.clone(),
    })
    .with_emf_output(false);
    Env {
        sdk,
        res,
        store,
        sqs,
        service,
    }
}

impl Env {
    fn task_queue(&self) -> SqsTaskQueue {
        SqsTaskQueue::new(&self.sdk, &self.res.queues[TASK_QUEUE], &self.res.dlq_url)
    }

    fn dlq(&self) -> SqsDeadLetterQueue {
        SqsDeadLetterQueue::from_client(self.sqs.clone(), &self.res.dlq_url).with_wait_secs(0)
    }

    async fn job(
        &self,
        shop: &str,
        n: i64,
        status: JobStatus,
        kind: Option<ErrorKind>,
    ) -> JobRecord {
        let id = shopsync_domain::job::job_id(TaskKind::SyncInventory, 1_790_000_000_000 + n, "t");
        let mut job = JobRecord::new_queued(
            shop,
            &id,
            TaskKind::SyncInventory,
            Trigger::Schedule,
            RunOptions {
                full: n % 2 == 1,
                ..RunOptions::default()
            },
            1_790_000_000,
        );
        job.status = status;
        job.error = kind.map(|kind| JobError {
            kind,
            message: format!("{kind:?} trouble"),
        });
        assert!(self.store.create_job(&job).await.unwrap());
        job
    }

    /// What a worker does when it gives up on `job`.
    async fn worker_dead_letter(&self, job: &JobRecord, kind: &str, error: &str) {
        let msg = job.message();
        self.task_queue()
            .dead_letter(
                &serde_json::to_string(&msg).unwrap(),
                &DeadLetterReason {
                    shop: Some(msg.shop.clone()),
                    task: Some(msg.task.to_string()),
                    job_id: Some(msg.job_id.clone()),
                    error_kind: kind.into(),
                    error: error.into(),
                },
            )
            .await
            .unwrap();
    }

    /// What SQS does after maxReceiveCount: the task message, with its job attributes only.
    async fn redrive(&self, msg: &JobMessage) {
        let attr = |v: &str| {
            MessageAttributeValue::builder()
                .data_type("String")
                .string_value(v)
                .build()
                .unwrap()
        };
        self.sqs
            .send_message()
            .queue_url(&self.res.dlq_url)
            .message_body(serde_json::to_string(msg).unwrap())
            .message_attributes("shop", attr(&msg.shop))
            .message_attributes("task", attr(msg.task.name()))
            .message_attributes("job_id", attr(&msg.job_id))
            .send()
            .await
            .unwrap();
    }

    async fn raw(&self, body: &str) {
        self.sqs
            .send_message()
            .queue_url(&self.res.dlq_url)
            .message_body(body)
            .send()
            .await
            .unwrap();
    }

    /// Everything visible on a queue now, received independently of the adapters (hidden after).
    async fn receive_everything(&self, url: &str) -> Vec<String> {
        let mut bodies = Vec::new();
        loop {
            let out = self
                .sqs
                .receive_message()
                .queue_url(url)
                .max_number_of_messages(10)
                .visibility_timeout(60)
                .send()
                .await
                .unwrap();
            let batch = out.messages.unwrap_or_default();
            if batch.is_empty() {
                return bodies;
            }
            bodies.extend(batch.into_iter().map(|m| m.body.unwrap_or_default()));
        }
    }

    async fn depth(&self) -> u64 {
        self.dlq().depth().await.unwrap()
    }

    async fn register(&self, code: &str) {
        let json = serde_json::json!({
            "code": code,
            "enabled": true,
            "sku_mapping": "item_no",
            "locations": [
                {"shopify_location_id": "gid://shopify/Location/1", "stock_calculation": "projected_available_balance", "bc_location_codes": ["EAST"]}
            ],
            "tasks": {"sync-inventory": {"enabled": true}},
            "shopify": {"store_domain": "demo.myshopify.com", "access_token_secret_id": format!("shopsync/{code}/shopify")},
            "bc": {"tenant": "t1", "environment": "production", "company_id": "5d5d2b5a-6a47-4d36-9a55-4f4c0f0e1a01", "credentials_secret_id": format!("shopsync/{code}/bc")}
        });
        let settings = ShopSettings::from_json(&json.to_string()).unwrap();
        self.store.put_shop(&settings).await.unwrap();
    }
}

fn async_record(function: &str) -> String {
    serde_json::json!({
        "version": "1.0",
        "timestamp": "2026-11-26T18:00:03.123Z",
        "requestContext": {
            "requestId": "e4b2a3f0-5a4c-4a57-9a57-7c1f7a1e2b3c",
            "functionArn": format!("arn:aws:lambda:us-east-1:123456789012:function:{function}:$LATEST"),
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 2
        },
        "requestPayload": {"version": "0", "id": "53dc4d37", "detail-type": "Scheduled Event", "source": "aws.events", "detail": {}},
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {"errorType": "Error", "errorMessage": "state store: Query shops: timeout"}
    })
    .to_string()
}

fn is_conflict(r: &Result<impl std::fmt::Debug>) -> bool {
    matches!(r, Err(SyncError::Conflict(_)))
}

fn is_not_found(r: &Result<impl std::fmt::Debug>) -> bool {
    matches!(r, Err(SyncError::NotFound(_)))
}

#[tokio::test]
async fn every_dead_letter_shape_is_mirrored_and_reading_loses_nothing() {
    let e = env("shapes").await;
    let failed = e
        .job("A", 1, JobStatus::Failed, Some(ErrorKind::Auth))
        .await;
    e.worker_dead_letter(&failed, "auth", "Shopify refused our credentials (401)")
        .await;
    let running = e.job("A", 2, JobStatus::Running, None).await;
    e.redrive(&running.message()).await;
    e.raw(&async_record("shopsync-SyncInventoryFunction-AbC"))
        .await;
    e.raw("<html>not a message</html>").await;

    for _ in 0..4 {
        let all = e.service.failures(None, 100).await.unwrap();
        assert_eq!(all.len(), 4);
    }
    let all = e.service.failures(None, 100).await.unwrap();
    let source_of = |job: Option<&str>, source: FailureSource| {
        all.iter()
            .find(|f| f.source == source && f.job_id.as_deref() == job)
            .unwrap_or_else(|| panic!("no {source:?} failure for {job:?} in {all:#?}"))
    };
    let worker = source_of(Some(&failed.job_id), FailureSource::Worker);
    assert_eq!(worker.shop.as_deref(), Some("A"));
    assert_eq!(worker.error_kind, "auth");
    assert!(worker.error.contains("401"));
    let redrive = source_of(Some(&running.job_id), FailureSource::Redrive);
    assert!(redrive.error.contains("maxReceiveCount"));
    let fanout = source_of(None, FailureSource::AsyncInvoke);
    assert_eq!(fanout.shop, None);
    assert_eq!(fanout.task, Some(TaskKind::SyncInventory));
    let unreadable = source_of(None, FailureSource::Unreadable);
    assert!(unreadable.error.contains("not a message"));
    assert!(all.iter().all(|f| f.state == FailureState::Open));

    let mine = e.service.failures(Some("A"), 100).await.unwrap();
    assert_eq!(mine.len(), 2, "a shop sees its own failures only");
    assert!(e.service.failures(Some("B"), 100).await.unwrap().is_empty());

    assert_eq!(e.depth().await, 4, "reading the failures deleted nothing");
    assert_eq!(
        e.receive_everything(&e.res.dlq_url).await.len(),
        4,
        "and hid nothing"
    );
}

#[tokio::test]
async fn the_board_counts_each_cue_with_the_reference_styles() {
    let e = env("board").await;
    let entries = |n: usize| -> Vec<CueEntry> {
        (0..n)
            .map(|i| CueEntry {
                id: format!("gid://shopify/ProductVariant/{i}"),
                detail: format!("SKU S{i} matches no BC item"),
                task: Some(TaskKind::SyncInventory),
                at: 1_790_000_000 + i as i64,
            })
            .collect()
    };
    // Unmapped companies and customers are the records of their tasks with status `unmapped`.
    let unmapped = |kind: &'static str, shop: &'static str, n: usize| {
        let store = e.store.clone();
        async move {
            let records: Vec<shopsync_domain::ports::Record> = (0..n)
                .map(|i| {
                    shopsync_domain::ports::Record::new(
                        format!("{i}"),
                        Some("unmapped"),
                        format!(r#"{{"title":"Record {i}","reason":"no BC match"}}"#),
                    )
                })
                .collect();
            shopsync_domain::ports::RecordStore::put_records(store.as_ref(), shop, kind, &records)
                .await
                .unwrap();
        }
    };
    unmapped(shopsync_domain::companies::COMPANIES, "A", 1).await;
    unmapped(shopsync_domain::customers::CUSTOMERS, "B", 6).await;
    // Unmapped products: the variants sync-inventory could not map (entries) and the products a
    // sync-products import could not link (records).
    unmapped(shopsync_domain::staging::UNMAPPED_PRODUCTS, "A", 2).await;
    e.store
        .put_entries("A", Cue::UnmappedProducts, &entries(5))
        .await
        .unwrap();
    // Order cues count the staged orders (records), on DynamoDB's sparse index.
    let orders: Vec<shopsync_domain::ports::Record> = (0..6)
        .map(|i| {
            shopsync_domain::ports::Record::new(
                format!("gid://shopify/Order/{i}"),
                Some(shopsync_domain::staging::order_status::UNPROCESSED),
                format!(r##"{{"name":"#{}"}}"##, 1000 + i),
            )
        })
        .collect();
    shopsync_domain::ports::RecordStore::put_records(
        e.store.as_ref(),
        "A",
        shopsync_domain::staging::STAGED_ORDERS,
        &orders,
    )
    .await
    .unwrap();
    e.store
        .record_skipped(
            "A",
            &[SkippedRecord {
                job_id: "j".into(),
                task: TaskKind::SyncInventory,
                record_id: "gid://shopify/InventoryItem/9@gid://shopify/Location/1".into(),
                reason: "inventory update refused (INVALID_LOCATION): no".into(),
                at: shopsync_domain::time::now_secs(),
            }],
        )
        .await
        .unwrap();
    // Two failed jobs (one an API error), one more failed job on the DLQ (counted once, as the job),
    // one running job whose message SQS redrove (a failure without a failed job).
    e.job("A", 1, JobStatus::Failed, Some(ErrorKind::Throttled))
        .await;
    e.job("A", 2, JobStatus::Failed, Some(ErrorKind::Internal))
        .await;
    let dead = e
        .job("A", 3, JobStatus::Failed, Some(ErrorKind::Auth))
        .await;
    e.worker_dead_letter(&dead, "auth", "refused (401)").await;
    let stuck = e.job("A", 4, JobStatus::Running, None).await;
    e.redrive(&stuck.message()).await;
    e.job("A", 5, JobStatus::Succeeded, None).await;
    e.service.failures(Some("A"), 10).await.unwrap(); // mirror the queue

    let board = e.service.board("A").await.unwrap();
    assert_eq!(board.shop, "A");
    assert_eq!(
        board.cues.iter().map(|c| c.cue).collect::<Vec<_>>(),
        Cue::ALL.to_vec()
    );
    let figure = |cue: Cue| {
        let f = board.cues.iter().find(|c| c.cue == cue).unwrap();
        (f.count, f.style)
    };
    assert_eq!(
        figure(Cue::UnmappedCustomers),
        (0, CueStyle::Favorable),
        "B's entries are B's"
    );
    assert_eq!(figure(Cue::UnmappedCompanies), (1, CueStyle::Ambiguous));
    assert_eq!(figure(Cue::UnmappedProducts), (7, CueStyle::Unfavorable));
    assert_eq!(figure(Cue::UnprocessedOrders), (6, CueStyle::Unfavorable));
    assert_eq!(figure(Cue::SkippedRecords), (1, CueStyle::Ambiguous));
    assert_eq!(
        figure(Cue::SynchronizationErrors),
        (4, CueStyle::Ambiguous),
        "3 failed jobs + 1 redriven"
    );
    assert_eq!(
        figure(Cue::ApiErrors),
        (2, CueStyle::Unfavorable),
        "throttled + auth"
    );
    assert_eq!(board.open_failures, 2);
    assert_eq!(board.jobs.get(&JobStatus::Failed), Some(&3));
    assert_eq!(board.jobs.get(&JobStatus::Running), Some(&1));
    assert_eq!(board.jobs.get(&JobStatus::Succeeded), Some(&1));
    assert_eq!(board.jobs.get(&JobStatus::Queued), None);
    let products = board
        .cues
        .iter()
        .find(|c| c.cue == Cue::UnmappedProducts)
        .unwrap();
    assert_eq!(products.drill_down, "/shops/A/status/unmapped_products");

    let b = e.service.board("B").await.unwrap();
    assert_eq!(b.cues[0].count, 6);
    assert_eq!(b.cues[0].style, CueStyle::Unfavorable);

    let rows = e
        .service
        .drill_down("A", Cue::SynchronizationErrors, 50)
        .await
        .unwrap();
    assert_eq!(rows.len(), 4);
    assert!(
        rows.iter()
            .any(|r| r.id == dead.job_id && r.detail.contains("Auth trouble"))
    );
    assert!(
        rows.iter().any(|r| r.detail.contains("maxReceiveCount")),
        "{rows:#?}"
    );
    let api = e.service.drill_down("A", Cue::ApiErrors, 50).await.unwrap();
    assert_eq!(api.len(), 2);
    let skipped = e
        .service
        .drill_down("A", Cue::SkippedRecords, 50)
        .await
        .unwrap();
    assert_eq!(skipped.len(), 1);
    assert!(skipped[0].detail.contains("INVALID_LOCATION"));
    let products = e
        .service
        .drill_down("A", Cue::UnmappedProducts, 3)
        .await
        .unwrap();
    assert_eq!(products.len(), 3);
    // Newest first: the import's two products, then inventory's variants.
    assert!(
        products[..2]
            .iter()
            .all(|p| p.detail.ends_with(": no BC match"))
    );
    assert!(products[2].detail.contains("matches no BC item"));
    assert!(
        e.service
            .drill_down("A", Cue::ShipmentErrors, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

/// Sends to the real queue, counting the calls; fails the first `fail_first` sends (a crash
/// between creating the retry job and sending its message).
struct FlakyQueues {
    inner: Arc<dyn TaskQueues>,
    fail_first: u32,
    sends: Arc<AtomicU32>,
}

struct FlakyQueue {
    inner: Arc<dyn TaskQueue>,
    fail_first: u32,
    sends: Arc<AtomicU32>,
}

impl TaskQueues for FlakyQueues {
    fn queue(&self, task: TaskKind) -> Option<Arc<dyn TaskQueue>> {
        let inner = self.inner.queue(task)?;
        Some(Arc::new(FlakyQueue {
            inner,
            fail_first: self.fail_first,
            sends: self.sends.clone(),
        }))
    }
}

#[async_trait]
impl TaskQueue for FlakyQueue {
    async fn send(&self, msg: &JobMessage, delay_secs: u32) -> Result<()> {
        if self.sends.fetch_add(1, Ordering::SeqCst) < self.fail_first {
            return Err(SyncError::Storage(
                "SendMessage: connection reset (simulated crash)".into(),
            ));
        }
        self.inner.send(msg, delay_secs).await
    }
    async fn send_batch(&self, msgs: &[JobMessage]) -> Result<Vec<usize>> {
        self.inner.send_batch(msgs).await
    }
    async fn dead_letter(&self, body: &str, reason: &DeadLetterReason) -> Result<()> {
        self.inner.dead_letter(body, reason).await
    }
    async fn retry_later(&self, receipt_handle: &str, after_secs: u32) -> Result<()> {
        self.inner.retry_later(receipt_handle, after_secs).await
    }
}

async fn one_failure_id(e: &Env, shop: &str) -> String {
    let list = e.service.failures(Some(shop), 10).await.unwrap();
    assert_eq!(list.len(), 1, "{list:#?}");
    list[0].id.clone()
}

#[tokio::test]
async fn retrying_twice_queues_exactly_one_job() {
    let e = env("retry").await;
    let original = e
        .job("A", 1, JobStatus::Failed, Some(ErrorKind::Upstream))
        .await;
    assert!(original.options.full);
    e.worker_dead_letter(&original, "upstream", "BC answered 503")
        .await;
    let id = one_failure_id(&e, "A").await;

    let first = e.service.retry(Some("A"), &id).await.unwrap();
    assert_eq!(first.state, FailureState::Retried);
    let retry_job = first.retry_job_id.clone().expect("the retry job id");
    let second = e.service.retry(Some("A"), &id).await.unwrap();
    assert_eq!(second, first, "a second retry changes nothing");
    let third = e.service.retry(None, &id).await.unwrap();
    assert_eq!(third, first, "nor does on-call's");

    let queued = e
        .store
        .list_jobs("A", Some(JobStatus::Queued), 10)
        .await
        .unwrap();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].job_id, retry_job);
    assert_eq!(queued[0].trigger, Trigger::Retry);
    assert!(queued[0].options.full, "the original job's options");
    let sent = e.receive_everything(&e.res.queues[TASK_QUEUE]).await;
    assert_eq!(
        sent,
        vec![serde_json::to_string(&queued[0].message()).unwrap()]
    );
    assert_eq!(e.depth().await, 0, "the dead-letter message is gone");
    let board = e.service.board("A").await.unwrap();
    assert_eq!(board.open_failures, 0);
}

#[tokio::test]
async fn a_retry_interrupted_mid_way_is_finished_by_the_next_call() {
    let sends = Arc::new(AtomicU32::new(0));
    let counter = sends.clone();
    let e = env_with("crash", move |inner| {
        Arc::new(FlakyQueues {
            inner,
            fail_first: 1,
            sends: counter,
        })
    })
    .await;
    let original = e
        .job("A", 2, JobStatus::Failed, Some(ErrorKind::Transport))
        .await;
    e.worker_dead_letter(&original, "transport", "timeout")
        .await;
    let id = one_failure_id(&e, "A").await;

    let crashed = e.service.retry(Some("A"), &id).await;
    assert!(matches!(crashed, Err(SyncError::Storage(_))), "{crashed:?}");
    let stuck = e.store.get_failure(Some("A"), &id).await.unwrap().unwrap();
    assert_eq!(stuck.state, FailureState::Retrying);
    assert_eq!(
        e.depth().await,
        1,
        "the message stays until the retry is through"
    );
    // Discard is refused while a retry is half done.
    assert!(is_conflict(&e.service.discard(Some("A"), &id).await));

    let done = e.service.retry(Some("A"), &id).await.unwrap();
    assert_eq!(done.state, FailureState::Retried);
    assert_eq!(done.retry_job_id, stuck.retry_job_id, "the same job id");
    let queued = e
        .store
        .list_jobs("A", Some(JobStatus::Queued), 10)
        .await
        .unwrap();
    assert_eq!(queued.len(), 1, "exactly one new job");
    assert_eq!(
        e.receive_everything(&e.res.queues[TASK_QUEUE]).await.len(),
        1,
        "one message"
    );
    assert_eq!(
        sends.load(Ordering::SeqCst),
        2,
        "one failed send, one real one"
    );
    assert_eq!(e.depth().await, 0);
}

#[tokio::test]
async fn discard_removes_the_message_and_a_later_retry_is_refused() {
    let e = env("discard").await;
    let job = e
        .job("A", 1, JobStatus::Failed, Some(ErrorKind::Settings))
        .await;
    e.worker_dead_letter(&job, "settings", "shop A is disabled")
        .await;
    let id = one_failure_id(&e, "A").await;

    let discarded = e.service.discard(Some("A"), &id).await.unwrap();
    assert_eq!(discarded.state, FailureState::Discarded);
    assert_eq!(e.depth().await, 0);
    let refused = e.service.retry(Some("A"), &id).await;
    assert!(is_conflict(&refused), "{refused:?}");
    assert_eq!(
        e.service.discard(Some("A"), &id).await.unwrap().state,
        FailureState::Discarded
    );
    assert!(
        e.store
            .list_jobs("A", Some(JobStatus::Queued), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let listed = e.service.failures(Some("A"), 10).await.unwrap();
    assert_eq!(
        listed[0].state,
        FailureState::Discarded,
        "closed failures stay listed"
    );

    // A message whose failure was closed but whose removal did not happen is removed by the next
    // status run (which also mirrors a message that arrived after the mirror was refreshed).
    let other = e
        .job("A", 2, JobStatus::Failed, Some(ErrorKind::Settings))
        .await;
    e.worker_dead_letter(&other, "settings", "again").await;
    e.service
        .status_run(shopsync_domain::time::now_secs())
        .await
        .unwrap();
    let open = e.service.failures(Some("A"), 10).await.unwrap();
    let mut f = open
        .into_iter()
        .find(|f| f.state == FailureState::Open)
        .unwrap();
    f.state = FailureState::Discarded;
    assert!(
        e.store
            .update_failure_if(&f, FailureState::Open, 1)
            .await
            .unwrap()
    );
    assert_eq!(e.depth().await, 1);
    e.service
        .status_run(shopsync_domain::time::now_secs())
        .await
        .unwrap();
    assert_eq!(e.depth().await, 0);
}

#[tokio::test]
async fn a_shop_cannot_see_retry_or_discard_another_shops_failure() {
    let e = env("isolation").await;
    let job = e
        .job("B", 1, JobStatus::Failed, Some(ErrorKind::Auth))
        .await;
    e.worker_dead_letter(&job, "auth", "refused").await;
    let id = one_failure_id(&e, "B").await;

    assert!(e.service.failures(Some("A"), 10).await.unwrap().is_empty());
    let retry = e.service.retry(Some("A"), &id).await;
    assert!(is_not_found(&retry), "{retry:?}");
    let discard = e.service.discard(Some("A"), &id).await;
    assert!(is_not_found(&discard), "{discard:?}");
    // Exactly what an unknown id gets: nothing reveals that the failure exists.
    let unknown = e
        .service
        .retry(Some("A"), "00000000-0000-0000-0000-000000000000")
        .await;
    assert_eq!(
        format!("{:?}", retry.unwrap_err()).replace(&id, "X"),
        format!("{:?}", unknown.unwrap_err()).replace("00000000-0000-0000-0000-000000000000", "X")
    );
    assert_eq!(e.depth().await, 1, "untouched");
    let b = e.store.get_failure(Some("B"), &id).await.unwrap().unwrap();
    assert_eq!(b.state, FailureState::Open);
    assert_eq!(
        e.service.discard(None, &id).await.unwrap().state,
        FailureState::Discarded,
        "on-call may"
    );
}

#[tokio::test]
async fn failures_without_a_job_can_only_be_discarded() {
    let e = env("unretryable").await;
    e.raw(&async_record("shopsync-SyncInventoryFunction-AbC"))
        .await;
    e.raw("garbage").await;
    let all = e.service.failures(None, 10).await.unwrap();
    assert_eq!(all.len(), 2);
    for f in &all {
        let refused = e.service.retry(None, &f.id).await;
        match refused {
            Err(SyncError::Conflict(why)) => assert!(why.contains("discard it instead"), "{why}"),
            other => panic!("expected a conflict, got {other:?}"),
        }
        // They belong to no shop: no shop can reach them.
        assert!(is_not_found(&e.service.discard(Some("A"), &f.id).await));
    }
    assert_eq!(e.depth().await, 2);
    for f in &all {
        assert_eq!(
            e.service.discard(None, &f.id).await.unwrap().state,
            FailureState::Discarded
        );
    }
    assert_eq!(e.depth().await, 0);
    assert!(
        e.receive_everything(&e.res.queues[TASK_QUEUE])
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn the_status_run_fails_dead_lettered_jobs_and_emits_emf() {
    let e = env("run").await;
    e.register("A").await;
    e.register("B").await;
    // SQS redrove the message of a job that stayed `running` (every attempt crashed).
    let stuck = e.job("A", 1, JobStatus::Running, None).await;
    e.redrive(&stuck.message()).await;
    // A stale message (the job moved on to seq 2 since) must not fail its job.
    let mut moved = e.job("A", 2, JobStatus::Queued, None).await;
    let stale = moved.message();
    moved.seq = 2;
    assert!(
        e.store
            .update_job_if(&moved, JobStatus::Queued, 0)
            .await
            .unwrap()
    );
    e.redrive(&stale).await;
    e.raw(&async_record("shopsync-SyncInventoryFunction-AbC"))
        .await;

    let report = e
        .service
        .status_run(shopsync_domain::time::now_secs())
        .await
        .unwrap();
    assert_eq!(report.jobs_failed, vec![format!("A/{}", stuck.job_id)]);
    let failed = e.store.get_job("A", &stuck.job_id).await.unwrap().unwrap();
    assert_eq!(failed.status, JobStatus::Failed);
    assert!(failed.error.unwrap().message.contains("dead-letter queue"));
    let untouched = e.store.get_job("A", &moved.job_id).await.unwrap().unwrap();
    assert_eq!(untouched.status, JobStatus::Queued);
    assert_eq!(report.messages_seen, 3);
    assert_eq!(report.dead_letter_depth, 3);
    assert_eq!(report.shops, vec!["A".to_string(), "B".to_string()]);
    assert!(report.board_errors.is_empty());

    // A second run changes no job.
    let again = e
        .service
        .status_run(shopsync_domain::time::now_secs())
        .await
        .unwrap();
    assert!(again.jobs_failed.is_empty());

    assert_eq!(
        report.emf.len(),
        3,
        "one line per shop and one without a shop"
    );
    let docs: Vec<serde_json::Value> = report
        .emf
        .iter()
        .map(|l| serde_json::from_str(l).expect("each EMF line is JSON"))
        .collect();
    let a = &docs[0];
    let meta = &a["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(meta["Namespace"], "Shopsync");
    assert_eq!(meta["Dimensions"], serde_json::json!([["Shop"]]));
    assert_eq!(a["Shop"], "A");
    assert!(a["_aws"]["Timestamp"].as_i64().unwrap() > 1_700_000_000_000);
    let names: BTreeSet<&str> = meta["Metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            assert_eq!(m["Unit"], "Count");
            m["Name"].as_str().unwrap()
        })
        .collect();
    for name in [
        "SynchronizationErrors",
        "ApiErrors",
        "SkippedRecords",
        "UnmappedProducts",
        "OpenFailures",
        "JobsFailed",
        "JobsSucceeded",
    ] {
        assert!(names.contains(name), "{name} missing from {names:?}");
        assert!(a[name].is_u64(), "{name} has a value");
    }
    assert_eq!(a["JobsFailed"], 1);
    assert_eq!(a["OpenFailures"], 2, "the redriven and the stale message");
    assert_eq!(
        a["SynchronizationErrors"], 2,
        "the failed job + the stale message's failure"
    );
    assert_eq!(docs[1]["Shop"], "B");
    let last = &docs[2];
    assert_eq!(
        last["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
        serde_json::json!([[]])
    );
    assert_eq!(last["DeadLetterDepth"], 3);
    assert_eq!(last["UnattributedFailures"], 1);
    assert_eq!(e.depth().await, 3, "the run deleted nothing");
}

#[tokio::test]
async fn the_status_run_finishes_a_retry_interrupted_after_the_message_was_removed() {
    let e = env("finish").await;
    e.register("A").await;
    let original = e
        .job("A", 1, JobStatus::Failed, Some(ErrorKind::Throttled))
        .await;
    e.worker_dead_letter(&original, "throttled", "Shopify throttled")
        .await;
    let id = one_failure_id(&e, "A").await;
    // The first steps of a retry, then a crash right after the message was removed.
    let mut f = e.store.get_failure(Some("A"), &id).await.unwrap().unwrap();
    f.state = FailureState::Retrying;
    f.retry_job_id = Some(shopsync_status::retry_job_id(
        TaskKind::SyncInventory,
        1_795_000_000_000,
        &id,
    ));
    assert!(
        e.store
            .update_failure_if(&f, FailureState::Open, 1)
            .await
            .unwrap()
    );
    assert!(e.dlq().remove(&id).await.unwrap());
    assert_eq!(
        e.service.board("A").await.unwrap().open_failures,
        1,
        "stuck as open"
    );

    let report = e
        .service
        .status_run(shopsync_domain::time::now_secs())
        .await
        .unwrap();
    assert_eq!(report.retries_finished, vec![id.clone()]);
    let done = e.store.get_failure(Some("A"), &id).await.unwrap().unwrap();
    assert_eq!(done.state, FailureState::Retried);
    let queued = e
        .store
        .list_jobs("A", Some(JobStatus::Queued), 10)
        .await
        .unwrap();
    assert_eq!(queued.len(), 1);
    assert_eq!(Some(&queued[0].job_id), f.retry_job_id.as_ref());
    assert_eq!(
        e.receive_everything(&e.res.queues[TASK_QUEUE]).await.len(),
        1
    );
    assert_eq!(e.service.board("A").await.unwrap().open_failures, 0);
    let again = e
        .service
        .status_run(shopsync_domain::time::now_secs())
        .await
        .unwrap();
    assert!(again.retries_finished.is_empty());
}

// ---- issue 7: failures answer from the mirror; concurrent retries send one message -------------

/// Counts the SQS calls a client puts on the wire, by action (`X-Amz-Target`).
#[derive(Debug, Default, Clone)]
struct SqsCalls(Arc<std::sync::Mutex<std::collections::BTreeMap<String, u32>>>);

impl SqsCalls {
    fn client(&self, sdk: &SdkConfig) -> Client {
        let conf = aws_sdk_sqs::config::Builder::from(sdk)
            .interceptor(self.clone())
            .build();
        Client::from_conf(conf)
    }

    fn count(&self, action: &str) -> u32 {
        self.0.lock().unwrap().get(action).copied().unwrap_or(0)
    }

    fn total(&self) -> u32 {
        self.0.lock().unwrap().values().sum()
    }

    fn reset(&self) {
        self.0.lock().unwrap().clear();
    }
}

impl aws_sdk_sqs::config::Intercept for SqsCalls {
    fn name(&self) -> &'static str {
        "SqsCalls"
    }

    fn read_before_transmit(
        &self,
        context: &aws_sdk_sqs::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
        _components: &aws_sdk_sqs::config::RuntimeComponents,
        _cfg: &mut aws_sdk_sqs::config::ConfigBag,
    ) -> std::result::Result<(), aws_sdk_sqs::error::BoxError> {
        let action = context
            .request()
            .headers()
            .get("x-amz-target")
            .unwrap_or("?")
            .trim_start_matches("AmazonSQS.")
            .to_string();
        *self.0.lock().unwrap().entry(action).or_default() += 1;
        Ok(())
    }
}

impl Env {
    /// A status service on this stack whose dead-letter queue client counts its SQS calls.
    fn counted_service(&self, calls: &SqsCalls) -> StatusService {
        let queues: Arc<dyn TaskQueues> = Arc::new(SqsTaskQueues::from_urls(
            self.sqs.clone(),
            [(TaskKind::SyncInventory, self.res.queues[TASK_QUEUE].clone())],
            &self.res.dlq_url,
        ));
        StatusService::new(StatusPorts {
            settings: self.store.clone(),
            jobs: self.store.clone(),
            counts: self.store.clone(),
            skipped: self.store.clone(),
            cues: self.store.clone(),
            failures: self.store.clone(),
            dlq: Arc::new(
                SqsDeadLetterQueue::from_client(calls.client(&self.sdk), &self.res.dlq_url)
                    .with_wait_secs(0),
            ),
            queues,
            leases: self.store.clone(),
            records: self.store.clone(),
        })
        .with_emf_output(false)
    }
}

const UNKNOWN_ID: &str = "00000000-0000-0000-0000-000000000000";

#[tokio::test]
async fn failures_are_listed_and_unknown_ids_refused_from_a_fresh_mirror_without_sqs_calls() {
    let e = env("fresh").await;
    let calls = SqsCalls::default();
    let service = e.counted_service(&calls);
    let job = e
        .job("A", 1, JobStatus::Failed, Some(ErrorKind::Auth))
        .await;
    e.worker_dead_letter(&job, "auth", "refused (401)").await;
    for i in 0..30 {
        e.raw(&format!("noise {i}")).await;
    }
    // The status run mirrors the whole queue (31 messages).
    let report = service
        .status_run(shopsync_domain::time::now_secs())
        .await
        .unwrap();
    assert_eq!(report.messages_seen, 31);
    assert!(calls.count("ReceiveMessage") >= 4, "{calls:?}");

    calls.reset();
    for _ in 0..5 {
        assert_eq!(service.failures(Some("A"), 10).await.unwrap().len(), 1);
        assert_eq!(service.failures(None, 100).await.unwrap().len(), 31);
        assert!(service.failures(Some("B"), 10).await.unwrap().is_empty());
    }
    assert!(is_not_found(&service.retry(Some("A"), UNKNOWN_ID).await));
    assert!(is_not_found(&service.discard(Some("A"), UNKNOWN_ID).await));
    assert!(is_not_found(&service.retry(None, UNKNOWN_ID).await));
    assert!(is_not_found(&service.discard(None, UNKNOWN_ID).await));
    println!(
        "SQS calls of 15 listings and 4 unknown-id retries/discards on a fresh mirror: {calls:?}"
    );
    assert_eq!(calls.total(), 0, "a fresh mirror answers alone: {calls:?}");

    // A message that arrives now is listed once the mirror is stale again (or the next status run).
    let later = e
        .job("A", 2, JobStatus::Failed, Some(ErrorKind::Auth))
        .await;
    e.worker_dead_letter(&later, "auth", "refused again").await;
    assert_eq!(service.failures(Some("A"), 10).await.unwrap().len(), 1);
    let at = e.store.mirror_refreshed_at().await.unwrap().unwrap();
    assert!(
        e.store
            .swap_mirror_refreshed_at(Some(at), at - 3600)
            .await
            .unwrap()
    );
    assert_eq!(service.failures(Some("A"), 10).await.unwrap().len(), 2);
    assert_eq!(calls.count("DeleteMessage"), 0, "listing deletes nothing");
    assert_eq!(e.depth().await, 32);
}

#[tokio::test]
async fn a_stale_mirror_is_refreshed_once_and_within_bounds() {
    let e = env("stale").await;
    let calls = SqsCalls::default();
    for i in 0..35 {
        e.raw(&format!("noise {i}")).await;
    }
    // Unknown id on a never-refreshed mirror: one bounded refresh (2 receives), then 404.
    let bounded = e.counted_service(&calls).with_on_demand_refresh(1000, 2);
    assert!(is_not_found(&bounded.retry(Some("A"), UNKNOWN_ID).await));
    println!("SQS calls of an unknown-id retry on a stale mirror (bound: 2 receives): {calls:?}");
    assert_eq!(calls.count("ReceiveMessage"), 2, "{calls:?}");
    assert!(
        calls.count("ChangeMessageVisibilityBatch") <= 2,
        "{calls:?}"
    );
    assert_eq!(
        calls.total(),
        calls.count("ReceiveMessage") + calls.count("ChangeMessageVisibilityBatch")
    );
    calls.reset();
    assert!(is_not_found(&bounded.discard(None, UNKNOWN_ID).await));
    assert_eq!(calls.total(), 0, "refreshed a moment ago: {calls:?}");

    // Twenty concurrent listings of a stale mirror: one of them refreshes it, the others answer
    // from it as it is.
    let service = e.counted_service(&calls);
    let at = e.store.mirror_refreshed_at().await.unwrap().unwrap();
    assert!(
        e.store
            .swap_mirror_refreshed_at(Some(at), at - 3600)
            .await
            .unwrap()
    );
    calls.reset();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let service = service.clone();
        set.spawn(async move { service.failures(None, 100).await.unwrap().len() });
    }
    let counts = set.join_all().await;
    println!("SQS calls of 20 concurrent listings of a stale mirror: {calls:?}");
    assert!(
        calls.count("ReceiveMessage") as usize <= shopsync_status::ON_DEMAND_MAX_RECEIVES,
        "{calls:?}"
    );
    assert!(counts.iter().all(|n| *n <= 35));
    assert_eq!(service.failures(None, 100).await.unwrap().len(), 35);
    assert_eq!(e.depth().await, 35, "nothing was deleted");
}

#[tokio::test]
async fn concurrent_retries_of_one_failure_send_exactly_one_message() {
    let sends = Arc::new(AtomicU32::new(0));
    let counter = sends.clone();
    let e = env_with("retryrace", move |inner| {
        Arc::new(FlakyQueues {
            inner,
            fail_first: 0,
            sends: counter,
        })
    })
    .await;
    let original = e
        .job("A", 1, JobStatus::Failed, Some(ErrorKind::Upstream))
        .await;
    e.worker_dead_letter(&original, "upstream", "BC answered 503")
        .await;
    let id = one_failure_id(&e, "A").await;

    let mut set = tokio::task::JoinSet::new();
    for i in 0..20 {
        let (service, id) = (e.service.clone(), id.clone());
        let shop = (i % 2 == 0).then_some("A");
        set.spawn(async move { service.retry(shop, &id).await });
    }
    let answers: Vec<_> = set
        .join_all()
        .await
        .into_iter()
        .map(|r| r.expect("every caller gets the failure back"))
        .collect();
    let named: BTreeSet<String> = answers
        .iter()
        .map(|f| {
            f.retry_job_id
                .clone()
                .expect("each answer names the retry job")
        })
        .collect();
    assert_eq!(named.len(), 1, "one retry job: {named:?}");
    assert!(
        answers
            .iter()
            .all(|f| matches!(f.state, FailureState::Retrying | FailureState::Retried))
    );
    assert_eq!(sends.load(Ordering::SeqCst), 1, "exactly one message sent");
    let queued = e
        .store
        .list_jobs("A", Some(JobStatus::Queued), 10)
        .await
        .unwrap();
    assert_eq!(queued.len(), 1);
    assert!(named.contains(&queued[0].job_id));
    assert_eq!(
        e.receive_everything(&e.res.queues[TASK_QUEUE]).await.len(),
        1
    );
    assert_eq!(e.depth().await, 0, "the dead-letter message is gone");
    let done = e.service.retry(Some("A"), &id).await.unwrap();
    assert_eq!(done.state, FailureState::Retried);
    assert_eq!(sends.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_retry_that_crashed_holding_its_claim_is_finished_once_the_claim_expired() {
    use shopsync_domain::status_ports::FailureClaim;
    let e = env("claimexpiry").await;
    e.register("A").await;
    let original = e
        .job("A", 1, JobStatus::Failed, Some(ErrorKind::Transport))
        .await;
    e.worker_dead_letter(&original, "transport", "timeout")
        .await;
    let id = one_failure_id(&e, "A").await;
    let now = shopsync_domain::time::now_secs();
    // A retry claimed the failure and died before creating its job: its claim is live for a while.
    let mut f = e.store.get_failure(Some("A"), &id).await.unwrap().unwrap();
    f.state = FailureState::Retrying;
    f.retry_job_id = Some(shopsync_status::retry_job_id(
        TaskKind::SyncInventory,
        now * 1000,
        &id,
    ));
    let live = FailureClaim {
        owner: "crashed".into(),
        until: now + 60,
    };
    assert!(
        e.store
            .claim_failure(&f, FailureState::Open, &live, now)
            .await
            .unwrap()
    );
    // Meanwhile a retry answers with the claimed retry's job and queues nothing; the status run
    // leaves a retry in progress alone.
    let answer = e.service.retry(Some("A"), &id).await.unwrap();
    assert_eq!(answer.state, FailureState::Retrying);
    assert_eq!(answer.retry_job_id, f.retry_job_id);
    let report = e.service.status_run(now).await.unwrap();
    assert!(report.retries_finished.is_empty());
    assert!(
        e.store
            .list_jobs("A", Some(JobStatus::Queued), 10)
            .await
            .unwrap()
            .is_empty()
    );
    // The claim expires (here: the crashed call's claim is replaced by one that already expired).
    let expired = FailureClaim {
        owner: "crashed".into(),
        until: now - 1,
    };
    e.store.release_failure_claim(&f, "crashed").await.unwrap();
    assert!(
        e.store
            .claim_failure(&f, FailureState::Retrying, &expired, now - 10)
            .await
            .unwrap()
    );
    let done = e.service.retry(Some("A"), &id).await.unwrap();
    assert_eq!(done.state, FailureState::Retried);
    assert_eq!(done.retry_job_id, f.retry_job_id, "the same job id");
    let queued = e
        .store
        .list_jobs("A", Some(JobStatus::Queued), 10)
        .await
        .unwrap();
    assert_eq!(queued.len(), 1);
    assert_eq!(
        e.receive_everything(&e.res.queues[TASK_QUEUE]).await.len(),
        1
    );
    assert_eq!(e.depth().await, 0);
}

#[tokio::test]
async fn an_on_demand_refresh_of_a_long_queue_stops_at_its_bounds() {
    let e = env("long").await;
    let calls = SqsCalls::default();
    for i in 0..150 {
        e.raw(&format!("noise {i}")).await;
    }
    let service = e.counted_service(&calls);
    assert!(is_not_found(&service.retry(None, UNKNOWN_ID).await));
    println!(
        "SQS calls of an unknown-id retry on a stale mirror of a 150-message queue: {calls:?}"
    );
    let receives = calls.count("ReceiveMessage") as usize;
    assert!(
        (1..=shopsync_status::ON_DEMAND_MAX_RECEIVES).contains(&receives),
        "{calls:?}"
    );
    let mirrored = service.failures(None, 1000).await.unwrap().len();
    assert!(
        (1..=shopsync_status::ON_DEMAND_MAX_MESSAGES).contains(&mirrored),
        "{mirrored}"
    );
    // The status run reads the whole queue.
    let report = service
        .status_run(shopsync_domain::time::now_secs())
        .await
        .unwrap();
    assert_eq!(report.messages_seen, 150);
    assert_eq!(service.failures(None, 1000).await.unwrap().len(), 150);
    assert_eq!(e.depth().await, 150);
}
