//! The status board's adapters against moto: the dead-letter queue peek/remove, the failure mirror,
//! cue entries and the index counts, on resources provisioned from infra/template.yaml.

mod common;

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
