//! The status board's adapters against moto: the dead-letter queue peek/remove, the failure mirror,
//! cue entries and the index counts, on resources provisioned from infra/template.yaml.

use crate::common;

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::MessageAttributeValue;
use common::stack;
use shopsync_aws::{DynamoStore, SqsDeadLetterQueue};
use shopsync_domain::job::JobError;
use shopsync_domain::ports::{JobStore, SkippedRecord, SkippedRecordStore};
use shopsync_domain::status::{Cue, CueEntry, Failure, FailureSource, FailureState};
use shopsync_domain::status_ports::{CueStore, DeadLetterQueue, FailureStore, StatusCounts};
use shopsync_domain::{ErrorKind, JobRecord, JobStatus, RunOptions, TaskKind, Trigger};
use std::collections::BTreeSet;

fn attr(v: &str) -> MessageAttributeValue {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(v)
        .build()
        .unwrap()
}

async fn send(client: &Client, url: &str, body: &str, shop: &str) -> String {
    client
        .send_message()
        .queue_url(url)
        .message_body(body)
        .message_attributes("shop", attr(shop))
        .message_attributes("error_kind", attr("auth"))
        .send()
        .await
        .unwrap()
        .message_id
        .unwrap()
}

/// Every message id that is visible on the queue now, received independently of the adapter. The
/// messages stay hidden afterwards (for a minute), so this is a test's last look at the queue.
async fn receive_everything(client: &Client, url: &str) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    loop {
        let out = client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .visibility_timeout(60)
            .send()
            .await
            .unwrap();
        let batch = out.messages.unwrap_or_default();
        if batch.is_empty() {
            return ids;
        }
        for m in batch {
            assert!(ids.insert(m.message_id.unwrap()), "received twice");
        }
    }
}

#[tokio::test]
async fn peeking_many_times_leaves_every_message_on_the_queue() {
    let (sdk, res) = stack("dlqpeek").await;
    let client = Client::new(&sdk);
    let dlq = SqsDeadLetterQueue::new(&sdk, &res.dlq_url).with_wait_secs(0);
    let mut sent = BTreeSet::new();
    for i in 0..23 {
        sent.insert(send(&client, &res.dlq_url, &format!("{{\"n\":{i}}}"), "DEMO").await);
    }
    assert_eq!(dlq.depth().await.unwrap(), 23);
    for round in 0..5 {
        let seen = dlq.peek(1000).await.unwrap();
        let ids: BTreeSet<String> = seen.iter().map(|m| m.message_id.clone()).collect();
        assert_eq!(ids, sent, "peek {round} saw every message once");
        assert_eq!(seen.len(), 23, "no duplicates");
        let one = seen.iter().find(|m| m.body == "{\"n\":3}").unwrap();
        assert_eq!(one.attributes.get("shop").map(String::as_str), Some("DEMO"));
        assert_eq!(
            one.attributes.get("error_kind").map(String::as_str),
            Some("auth")
        );
        assert!(one.sent_at.is_some_and(|t| t > 1_700_000_000));
    }
    assert_eq!(dlq.depth().await.unwrap(), 23, "depth before = after");
    // A bounded peek returns at most what was asked and still loses nothing.
    assert_eq!(dlq.peek(5).await.unwrap().len(), 5);
    // Every message is still receivable right away (released, not waiting for a timeout).
    assert_eq!(receive_everything(&client, &res.dlq_url).await, sent);
}

#[tokio::test]
async fn remove_deletes_exactly_the_named_message() {
    let (sdk, res) = stack("dlqremove").await;
    let client = Client::new(&sdk);
    let dlq = SqsDeadLetterQueue::new(&sdk, &res.dlq_url).with_wait_secs(0);
    let mut sent = Vec::new();
    for i in 0..14 {
        sent.push(send(&client, &res.dlq_url, &format!("m{i}"), "DEMO").await);
    }
    let target = sent[11].clone();
    assert!(dlq.remove(&target).await.unwrap());
    let left: BTreeSet<String> = sent.iter().filter(|id| **id != target).cloned().collect();
    let peeked: BTreeSet<String> = dlq
        .peek(100)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.message_id)
        .collect();
    assert_eq!(peeked, left);
    assert!(!dlq.remove(&target).await.unwrap(), "already gone");
    assert!(!dlq.remove("no-such-id").await.unwrap());
    assert_eq!(dlq.depth().await.unwrap(), 13);
    assert_eq!(receive_everything(&client, &res.dlq_url).await, left);
}

fn failure(id: &str, shop: Option<&str>, at: i64) -> Failure {
    Failure {
        id: id.into(),
        shop: shop.map(String::from),
        task: Some(TaskKind::SyncInventory),
        job_id: Some(format!("job-{id}")),
        source: FailureSource::Worker,
        state: FailureState::Open,
        error_kind: "auth".into(),
        error: "refused".into(),
        failed_at: at,
        retry_job_id: None,
    }
}

#[tokio::test]
async fn failures_are_mirrored_once_and_move_only_by_compare_and_swap() {
    let (sdk, res) = stack("failures").await;
    let store = DynamoStore::new(&sdk, &res.table_name).with_page_size(1);
    let now = 1_800_000_000;
    let a1 = failure("a1", Some("A"), now - 30);
    let a2 = failure("a2", Some("A"), now - 10);
    let b1 = failure("b1", Some("B"), now - 20);
    let none = failure("n1", None, now - 5);
    for f in [&a1, &a2, &b1, &none] {
        assert_eq!(&store.record_failure(f, now).await.unwrap(), f);
    }
    assert_eq!(store.count_open_failures("A").await.unwrap(), 2);
    assert_eq!(store.count_open_failures("B").await.unwrap(), 1);

    // Shop scoping: B's failure does not exist for A; on-call finds every failure by id.
    assert_eq!(store.get_failure(Some("A"), "b1").await.unwrap(), None);
    assert_eq!(
        store.get_failure(Some("B"), "b1").await.unwrap(),
        Some(b1.clone())
    );
    assert_eq!(
        store.get_failure(None, "b1").await.unwrap(),
        Some(b1.clone())
    );
    assert_eq!(
        store.get_failure(None, "n1").await.unwrap(),
        Some(none.clone())
    );
    assert_eq!(store.get_failure(None, "zz").await.unwrap(), None);

    let ids = |v: Vec<Failure>| v.into_iter().map(|f| f.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.list_failures(Some("A"), 10).await.unwrap()),
        ["a2", "a1"]
    );
    assert_eq!(
        ids(store.list_failures(Some("A"), 1).await.unwrap()),
        ["a2"]
    );
    assert_eq!(
        ids(store.list_failures(None, 10).await.unwrap()),
        ["n1", "a2", "b1", "a1"]
    );
    assert_eq!(
        ids(store.open_failures("A", 10).await.unwrap()),
        ["a2", "a1"]
    );

    // Open → Discarded once; a second writer expecting Open loses.
    let mut discarded = a1.clone();
    discarded.state = FailureState::Discarded;
    assert!(
        store
            .update_failure_if(&discarded, FailureState::Open, now)
            .await
            .unwrap()
    );
    let mut retrying = a1.clone();
    retrying.state = FailureState::Retrying;
    assert!(
        !store
            .update_failure_if(&retrying, FailureState::Open, now)
            .await
            .unwrap()
    );
    assert_eq!(
        store.count_open_failures("A").await.unwrap(),
        1,
        "closed ones leave the index"
    );
    // A refresh that sees the message again does not reopen it.
    assert_eq!(store.record_failure(&a1, now).await.unwrap(), discarded);
    assert_eq!(store.count_open_failures("A").await.unwrap(), 1);
    // Retrying stays counted (its message is still on the queue).
    let mut a2r = a2.clone();
    a2r.state = FailureState::Retrying;
    a2r.retry_job_id = Some("r".into());
    assert!(
        store
            .update_failure_if(&a2r, FailureState::Open, now)
            .await
            .unwrap()
    );
    assert_eq!(store.count_open_failures("A").await.unwrap(), 1);
    assert_eq!(store.get_failure(Some("A"), "a2").await.unwrap(), Some(a2r));
}

fn entry(id: &str) -> CueEntry {
    CueEntry {
        id: id.into(),
        detail: format!("variant {id} has no BC item"),
        task: Some(TaskKind::SyncInventory),
        at: 1,
    }
}

#[tokio::test]
async fn cue_entries_count_list_and_replace() {
    let (sdk, res) = stack("cues").await;
    let store = DynamoStore::new(&sdk, &res.table_name).with_page_size(2);
    let cue = Cue::UnmappedProducts;
    let entries: Vec<CueEntry> = (0..30).map(|i| entry(&format!("v{i:02}"))).collect();
    store.put_entries("A", cue, &entries).await.unwrap();
    store.put_entries("B", cue, &entries[..1]).await.unwrap();
    store
        .put_entries("A", Cue::UnprocessedOrders, &entries[..3])
        .await
        .unwrap();
    assert_eq!(
        store.count_entries("A", cue).await.unwrap(),
        30,
        "counted over many pages"
    );
    assert_eq!(store.count_entries("B", cue).await.unwrap(), 1);
    assert_eq!(
        store
            .count_entries("A", Cue::UnprocessedOrders)
            .await
            .unwrap(),
        3
    );
    assert_eq!(
        store.count_entries("A", Cue::ShipmentErrors).await.unwrap(),
        0
    );
    let listed = store.list_entries("A", cue, 5).await.unwrap();
    assert_eq!(listed, entries[..5].to_vec());

    store
        .replace_entries("A", cue, &[entry("v03"), entry("new")])
        .await
        .unwrap();
    let ids: Vec<String> = store
        .list_entries("A", cue, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(ids, ["new", "v03"]);
    assert_eq!(
        store
            .count_entries("A", Cue::UnprocessedOrders)
            .await
            .unwrap(),
        3,
        "other cues untouched"
    );
    store
        .remove_entries("A", cue, &["new".into(), "absent".into()])
        .await
        .unwrap();
    assert_eq!(store.count_entries("A", cue).await.unwrap(), 1);
    store.replace_entries("A", cue, &[]).await.unwrap();
    assert_eq!(store.count_entries("A", cue).await.unwrap(), 0);
    assert_eq!(
        store.count_entries("B", cue).await.unwrap(),
        1,
        "other shops untouched"
    );
}

fn job(shop: &str, n: i64, status: JobStatus, kind: Option<ErrorKind>) -> JobRecord {
    let id = shopsync_domain::job::job_id(TaskKind::SyncInventory, 1_700_000_000_000 + n, "x");
    let mut job = JobRecord::new_queued(
        shop,
        &id,
        TaskKind::SyncInventory,
        Trigger::Schedule,
        RunOptions::default(),
        1_700_000_000,
    );
    job.status = status;
    job.error = kind.map(|kind| JobError {
        kind,
        message: "m".into(),
    });
    job
}

#[tokio::test]
async fn jobs_and_skipped_records_are_counted_from_indexes() {
    let (sdk, res) = stack("counts").await;
    let store = DynamoStore::new(&sdk, &res.table_name).with_page_size(2);
    let plan = [
        (JobStatus::Failed, Some(ErrorKind::Auth)),
        (JobStatus::Failed, Some(ErrorKind::Auth)),
        (JobStatus::Failed, Some(ErrorKind::Internal)),
        (JobStatus::Failed, None),
        (JobStatus::Succeeded, None),
        (JobStatus::Queued, None),
    ];
    for (i, (status, kind)) in plan.into_iter().enumerate() {
        assert!(
            store
                .create_job(&job("A", i as i64, status, kind))
                .await
                .unwrap()
        );
    }
    store
        .create_job(&job("B", 0, JobStatus::Failed, None))
        .await
        .unwrap();
    assert_eq!(store.count_jobs("A", JobStatus::Failed).await.unwrap(), 4);
    assert_eq!(
        store.count_jobs("A", JobStatus::Succeeded).await.unwrap(),
        1
    );
    assert_eq!(store.count_jobs("A", JobStatus::Running).await.unwrap(), 0);
    let kinds = store.failed_jobs_by_kind("A").await.unwrap();
    assert_eq!(kinds.get("auth"), Some(&2));
    assert_eq!(kinds.get("internal"), Some(&1));
    assert_eq!(kinds.get("unknown"), Some(&1));

    let now = 1_800_000_000;
    let records: Vec<SkippedRecord> = (0..7)
        .map(|i| SkippedRecord {
            job_id: "j".into(),
            task: TaskKind::SyncInventory,
            record_id: format!("r{i}"),
            reason: "no".into(),
            at: now,
        })
        .collect();
    store.record_skipped("A", &records).await.unwrap();
    assert_eq!(store.count_skipped("A", now).await.unwrap(), 7);
    assert_eq!(store.count_skipped("B", now).await.unwrap(), 0);
    assert_eq!(
        store
            .count_skipped("A", now + 31 * 24 * 3600)
            .await
            .unwrap(),
        0,
        "expired records are not counted even before TTL deletes them"
    );
}

// ---- issue 7: claims, the mirror's refresh time, bounded peeks, the waiting-job record ----------

/// Counts the SQS calls a client puts on the wire, by action (`X-Amz-Target`).
#[derive(Debug, Default, Clone)]
struct SqsCalls(std::sync::Arc<std::sync::Mutex<std::collections::BTreeMap<String, u32>>>);

impl SqsCalls {
    fn client(&self, sdk: &shopsync_aws::SdkConfig) -> Client {
        let conf = aws_sdk_sqs::config::Builder::from(sdk)
            .interceptor(self.clone())
            .build();
        Client::from_conf(conf)
    }

    fn count(&self, action: &str) -> u32 {
        self.0.lock().unwrap().get(action).copied().unwrap_or(0)
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
    ) -> Result<(), aws_sdk_sqs::error::BoxError> {
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

#[tokio::test]
async fn a_bounded_peek_makes_no_more_receives_than_allowed_and_loses_nothing() {
    let (sdk, res) = stack("dlqbound").await;
    let client = Client::new(&sdk);
    let mut sent = BTreeSet::new();
    for i in 0..35 {
        sent.insert(send(&client, &res.dlq_url, &format!("m{i}"), "A").await);
    }
    let calls = SqsCalls::default();
    let dlq = SqsDeadLetterQueue::from_client(calls.client(&sdk), &res.dlq_url).with_wait_secs(0);
    let seen = dlq.peek_bounded(1000, 2).await.unwrap();
    assert_eq!(calls.count("ReceiveMessage"), 2, "two receives, no more");
    assert!(!seen.is_empty() && seen.len() <= 20, "{}", seen.len());
    let seen = dlq.peek_bounded(5, 100).await.unwrap();
    assert_eq!(seen.len(), 5);
    assert_eq!(
        calls.count("ReceiveMessage"),
        3,
        "five messages come in one receive"
    );
    assert_eq!(
        receive_everything(&client, &res.dlq_url).await,
        sent,
        "every message is visible again"
    );
}

#[tokio::test]
async fn a_retry_claim_is_won_once_and_held_until_released_or_expired() {
    use shopsync_domain::status_ports::FailureClaim;
    let (sdk, res) = stack("claims").await;
    let store = DynamoStore::new(&sdk, &res.table_name);
    let now = 1_800_000_000;
    let open = failure("c1", Some("A"), now - 30);
    store.record_failure(&open, now).await.unwrap();
    let mut retrying = open.clone();
    retrying.state = FailureState::Retrying;
    retrying.retry_job_id = Some("retry-job".into());
    let claim = |owner: &str, until: i64| FailureClaim {
        owner: owner.into(),
        until,
    };

    // Twenty concurrent claims of the open failure: exactly one wins.
    let mut set = tokio::task::JoinSet::new();
    for i in 0..20 {
        let (store, retrying) = (store.clone(), retrying.clone());
        set.spawn(async move {
            store
                .claim_failure(
                    &retrying,
                    FailureState::Open,
                    &FailureClaim {
                        owner: format!("o{i}"),
                        until: now + 120,
                    },
                    now,
                )
                .await
                .unwrap()
        });
    }
    let wins = set.join_all().await.into_iter().filter(|won| *won).count();
    assert_eq!(wins, 1);
    assert_eq!(
        store.get_failure(Some("A"), "c1").await.unwrap(),
        Some(retrying.clone()),
        "the claim is not part of the failure"
    );
    // While the claim is live nobody takes over; once it expired, someone may.
    let b = claim("b", now + 300);
    assert!(
        !store
            .claim_failure(&retrying, FailureState::Retrying, &b, now + 60)
            .await
            .unwrap()
    );
    assert!(
        store
            .claim_failure(&retrying, FailureState::Retrying, &b, now + 121)
            .await
            .unwrap()
    );
    // Only the owner releases it; then the next call takes over at once.
    store
        .release_failure_claim(&retrying, "someone")
        .await
        .unwrap();
    let c = claim("c", now + 400);
    assert!(
        !store
            .claim_failure(&retrying, FailureState::Retrying, &c, now + 122)
            .await
            .unwrap()
    );
    store.release_failure_claim(&retrying, "b").await.unwrap();
    assert!(
        store
            .claim_failure(&retrying, FailureState::Retrying, &c, now + 122)
            .await
            .unwrap()
    );
    // The plain update that closes the failure drops the claim with the state.
    let mut retried = retrying.clone();
    retried.state = FailureState::Retried;
    assert!(
        store
            .update_failure_if(&retried, FailureState::Retrying, now + 123)
            .await
            .unwrap()
    );
    assert!(
        !store
            .claim_failure(
                &retrying,
                FailureState::Retrying,
                &claim("d", now + 500),
                now + 124
            )
            .await
            .unwrap(),
        "a retried failure cannot be claimed"
    );
    assert_eq!(
        store.get_failure(Some("A"), "c1").await.unwrap(),
        Some(retried)
    );
}

#[tokio::test]
async fn the_mirror_refresh_time_moves_only_by_compare_and_swap() {
    let (sdk, res) = stack("mirror").await;
    let store = DynamoStore::new(&sdk, &res.table_name);
    assert_eq!(store.mirror_refreshed_at().await.unwrap(), None);
    let mut set = tokio::task::JoinSet::new();
    for i in 0..10 {
        let store = store.clone();
        set.spawn(async move { store.swap_mirror_refreshed_at(None, 100 + i).await.unwrap() });
    }
    let wins = set.join_all().await.into_iter().filter(|won| *won).count();
    assert_eq!(wins, 1, "concurrent refreshes: one goes ahead");
    let at = store.mirror_refreshed_at().await.unwrap().unwrap();
    assert!(
        !store
            .swap_mirror_refreshed_at(Some(at + 1), 200)
            .await
            .unwrap()
    );
    assert!(store.swap_mirror_refreshed_at(Some(at), 200).await.unwrap());
    assert_eq!(store.mirror_refreshed_at().await.unwrap(), Some(200));
    assert!(
        store.list_failures(None, 10).await.unwrap().is_empty(),
        "the refresh time is not a failure"
    );
}

#[tokio::test]
async fn of_concurrent_waiting_job_creations_exactly_one_writes() {
    use shopsync_domain::ports::WaitingJobCreate;
    let (sdk, res) = stack("waiting").await;
    let store = DynamoStore::new(&sdk, &res.table_name);
    let delta = RunOptions::default();
    let manual = |n: i64, full: bool| {
        let id = shopsync_domain::job::job_id(TaskKind::SyncInventory, 1_700_000_000_000 + n, "m");
        JobRecord::new_queued(
            "A",
            &id,
            TaskKind::SyncInventory,
            Trigger::Manual,
            RunOptions {
                full,
                ..RunOptions::default()
            },
            1_700_000_000,
        )
    };
    assert_eq!(
        store
            .waiting_job_id("A", TaskKind::SyncInventory, &delta)
            .await
            .unwrap(),
        None
    );

    let mut set = tokio::task::JoinSet::new();
    for n in 0..20 {
        let (store, job) = (store.clone(), manual(n, false));
        set.spawn(async move {
            let outcome = store.create_waiting_job(&job, None).await.unwrap();
            (job.job_id, outcome)
        });
    }
    let outcomes = set.join_all().await;
    let created: Vec<&String> = outcomes
        .iter()
        .filter(|(_, o)| *o == WaitingJobCreate::Created)
        .map(|(id, _)| id)
        .collect();
    assert_eq!(created.len(), 1, "{outcomes:?}");
    assert!(
        outcomes
            .iter()
            .all(|(_, o)| matches!(o, WaitingJobCreate::Created | WaitingJobCreate::Superseded))
    );
    let winner = created[0].clone();
    assert_eq!(store.list_jobs("A", None, 100).await.unwrap().len(), 1);
    assert_eq!(
        store
            .waiting_job_id("A", TaskKind::SyncInventory, &delta)
            .await
            .unwrap(),
        Some(winner.clone())
    );

    // Replacing needs the record to be what the caller read; the same job id twice is "exists".
    let next = manual(100, false);
    assert_eq!(
        store
            .create_waiting_job(&next, Some("not-it"))
            .await
            .unwrap(),
        WaitingJobCreate::Superseded
    );
    assert_eq!(
        store.create_waiting_job(&next, None).await.unwrap(),
        WaitingJobCreate::Superseded
    );
    let same = store.get_job("A", &winner).await.unwrap().unwrap();
    assert_eq!(
        store
            .create_waiting_job(&same, Some(&winner))
            .await
            .unwrap(),
        WaitingJobCreate::JobExists
    );
    assert_eq!(
        store
            .create_waiting_job(&next, Some(&winner))
            .await
            .unwrap(),
        WaitingJobCreate::Created
    );
    assert_eq!(
        store
            .waiting_job_id("A", TaskKind::SyncInventory, &delta)
            .await
            .unwrap(),
        Some(next.job_id.clone())
    );
    // Full runs have their own record; the fan-out overwrites whatever is recorded.
    assert_eq!(
        store
            .waiting_job_id(
                "A",
                TaskKind::SyncInventory,
                &RunOptions {
                    full: true,
                    ..RunOptions::default()
                }
            )
            .await
            .unwrap(),
        None
    );
    let scheduled = job("A", 500, JobStatus::Queued, None);
    assert!(store.create_job(&scheduled).await.unwrap());
    store.record_waiting_job(&scheduled).await.unwrap();
    assert_eq!(
        store
            .waiting_job_id("A", TaskKind::SyncInventory, &delta)
            .await
            .unwrap(),
        Some(scheduled.job_id)
    );
}
