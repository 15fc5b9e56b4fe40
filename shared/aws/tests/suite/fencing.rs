//! Fenced views of DynamoStore against moto: a run whose job was taken over writes nothing.

use crate::common;

use aws_sdk_dynamodb::types::AttributeValue;
use common::stack;
use shopsync_aws::DynamoStore;
use shopsync_domain::ports::*;
use shopsync_domain::status::{Cue, CueEntry};
use shopsync_domain::status_ports::CueStore;
use shopsync_domain::{JobRecord, JobStatus, RunOptions, SyncError, TaskKind, Trigger};

const SHOP: &str = "DEMO";

async fn store(label: &str) -> DynamoStore {
    let (sdk, res) = stack(label).await;
    DynamoStore::new(&sdk, &res.table_name)
}

/// A job of SHOP started once (epoch 1), as stored.
async fn running_job(store: &DynamoStore) -> JobRecord {
    let id = shopsync_domain::job::job_id(TaskKind::SyncInventory, 1_700_000_000_000, "f");
    let mut job = JobRecord::new_queued(
        SHOP,
        &id,
        TaskKind::SyncInventory,
        Trigger::Manual,
        RunOptions::default(),
        1_700_000_000,
    );
    assert!(store.create_job(&job).await.unwrap());
    job.transition(JobStatus::Running, 1_700_000_010).unwrap();
    assert_eq!(job.epoch, 1);
    assert!(
        store
            .update_job_if(&job, JobStatus::Queued, 0)
            .await
            .unwrap()
    );
    job
}

/// Another run takes the job over (running → running): the stored epoch moves on.
async fn take_over(store: &DynamoStore, job: &JobRecord) -> JobRecord {
    let mut takeover = job.clone();
    takeover
        .transition(JobStatus::Running, 1_700_000_100)
        .unwrap();
    takeover.attempts += 1;
    assert!(
        store
            .update_job_if(&takeover, JobStatus::Running, job.seq)
            .await
            .unwrap()
    );
    takeover
}

fn entry(key: &str, payload: &str) -> LedgerEntry {
    LedgerEntry {
        key: key.into(),
        payload: payload.into(),
        payload_sha256: LedgerEntry::sha256_hex(payload),
        status: LedgerStatus::Pending,
        result: None,
        created_at: 1_700_000_000,
    }
}

fn skipped(id: &str) -> SkippedRecord {
    SkippedRecord {
        job_id: "j".into(),
        task: TaskKind::SyncInventory,
        record_id: id.into(),
        reason: "unmapped".into(),
        at: 1_700_000_000,
    }
}

fn cue(id: &str) -> CueEntry {
    CueEntry {
        id: id.into(),
        detail: "detail".into(),
        task: None,
        at: 1_700_000_000,
    }
}

fn many(prefix: &str, n: usize) -> Vec<Record> {
    (0..n)
        .map(|i| Record::new(format!("{prefix}{i:03}"), Some("new"), "{}"))
        .collect()
}

fn is_fenced(err: SyncError, job: &JobRecord) -> bool {
    matches!(err, SyncError::Fenced { ref job_id } if *job_id == job.job_id)
}

#[tokio::test]
async fn a_fenced_view_writes_while_its_epoch_is_the_stored_one() {
    let store = store("fence-ok").await;
    let job = running_job(&store).await;
    let run = store.fenced(job.fence());

    assert_eq!(
        run.begin(SHOP, &entry("k1", "p")).await.unwrap(),
        LedgerBegin::Started
    );
    match run.begin(SHOP, &entry("k1", "other")).await.unwrap() {
        LedgerBegin::Existing(e) => assert_eq!(e.payload, "p", "the stored entry comes back"),
        other => panic!("{other:?}"),
    }
    run.mark_sent(SHOP, "k1").await.unwrap();
    run.complete(SHOP, "k1", "ok").await.unwrap();
    assert!(matches!(
        run.complete(SHOP, "never", "ok").await,
        Err(SyncError::NotFound(_))
    ));
    assert!(matches!(
        run.mark_sent(SHOP, "k1").await,
        Err(SyncError::Conflict(_))
    ));
    let e = store.get(SHOP, "k1").await.unwrap().unwrap();
    assert_eq!(
        (e.status, e.result.as_deref()),
        (LedgerStatus::Applied, Some("ok"))
    );

    assert!(
        run.put_record_if(SHOP, "order", &Record::new("o1", None, "{}"))
            .await
            .unwrap()
    );
    assert!(
        !run.put_record_if(SHOP, "order", &Record::new("o1", None, "{}"))
            .await
            .unwrap(),
        "the write's own condition still answers Ok(false)"
    );
    assert!(
        run.move_status(SHOP, "order", "o1", None, Some("staged"))
            .await
            .unwrap()
    );
    assert!(
        !run.move_status(SHOP, "order", "o1", None, Some("staged"))
            .await
            .unwrap()
    );

    // 150 records: two transactions of at most 99 writes and the check, plus a repeated id.
    let mut batch = many("m", 150);
    batch.push(Record::new("m000", Some("last"), "wins"));
    run.put_records(SHOP, "row", &batch).await.unwrap();
    assert_eq!(run.count_by_status(SHOP, "row", "new").await.unwrap(), 149);
    assert_eq!(
        run.get_record(SHOP, "row", "m000")
            .await
            .unwrap()
            .unwrap()
            .body,
        "wins"
    );
    let ids: Vec<String> = (0..120).map(|i| format!("m{i:03}")).collect();
    run.delete_records(SHOP, "row", &ids).await.unwrap();
    assert_eq!(
        run.list_records(SHOP, "row", None, 1000)
            .await
            .unwrap()
            .records
            .len(),
        30
    );

    run.record_skipped(SHOP, &[skipped("v1"), skipped("v2")])
        .await
        .unwrap();
    assert_eq!(store.list_skipped(SHOP, 10).await.unwrap().len(), 2);
    run.put_entries(SHOP, Cue::UnmappedProducts, &[cue("v1"), cue("v2")])
        .await
        .unwrap();
    run.replace_entries(SHOP, Cue::UnmappedProducts, &[cue("v2")])
        .await
        .unwrap();
    assert_eq!(
        store
            .count_entries(SHOP, Cue::UnmappedProducts)
            .await
            .unwrap(),
        1
    );
}

#[tokio::test]
async fn a_fenced_view_whose_job_was_taken_over_writes_nothing() {
    let store = store("fence-lost").await;
    let job = running_job(&store).await;
    let run = store.fenced(job.fence());
    run.begin(SHOP, &entry("k1", "p")).await.unwrap();
    run.put_record_if(SHOP, "order", &Record::new("o1", None, "{}"))
        .await
        .unwrap();
    run.put_entries(SHOP, Cue::UnmappedProducts, &[cue("v1")])
        .await
        .unwrap();

    let takeover = take_over(&store, &job).await;
    assert_eq!(takeover.epoch, 2);

    assert!(is_fenced(
        run.begin(SHOP, &entry("k2", "p")).await.unwrap_err(),
        &job
    ));
    assert!(
        is_fenced(run.begin(SHOP, &entry("k1", "p")).await.unwrap_err(), &job),
        "the job check wins over the entry's own condition"
    );
    assert!(is_fenced(
        run.mark_sent(SHOP, "k1").await.unwrap_err(),
        &job
    ));
    assert!(is_fenced(
        run.complete(SHOP, "k1", "late").await.unwrap_err(),
        &job
    ));
    let mut next = store
        .get_record(SHOP, "order", "o1")
        .await
        .unwrap()
        .unwrap();
    next.body = "late".into();
    assert!(is_fenced(
        run.put_record_if(SHOP, "order", &next).await.unwrap_err(),
        &job
    ));
    assert!(is_fenced(
        run.put_record_if(SHOP, "order", &Record::new("o1", None, "x"))
            .await
            .unwrap_err(),
        &job
    ));
    assert!(is_fenced(
        run.put_records(SHOP, "row", &many("m", 150))
            .await
            .unwrap_err(),
        &job
    ));
    assert!(is_fenced(
        run.move_status(SHOP, "order", "o1", None, Some("staged"))
            .await
            .unwrap_err(),
        &job
    ));
    assert!(is_fenced(
        run.delete_records(SHOP, "order", &["o1".into()])
            .await
            .unwrap_err(),
        &job
    ));
    assert!(is_fenced(
        run.record_skipped(SHOP, &[skipped("v1")])
            .await
            .unwrap_err(),
        &job
    ));
    assert!(is_fenced(
        run.put_entries(SHOP, Cue::UnmappedProducts, &[cue("v2")])
            .await
            .unwrap_err(),
        &job
    ));
    assert!(is_fenced(
        run.remove_entries(SHOP, Cue::UnmappedProducts, &["v1".into()])
            .await
            .unwrap_err(),
        &job
    ));

    // Nothing of it was written.
    let e = store.get(SHOP, "k1").await.unwrap().unwrap();
    assert_eq!((e.status, e.result), (LedgerStatus::Pending, None));
    assert_eq!(store.get(SHOP, "k2").await.unwrap(), None);
    let o1 = store
        .get_record(SHOP, "order", "o1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((o1.body.as_str(), o1.version, o1.status), ("{}", 1, None));
    assert!(
        store
            .list_records(SHOP, "row", None, 1000)
            .await
            .unwrap()
            .records
            .is_empty(),
        "not even the first transaction of the batch"
    );
    assert!(store.list_skipped(SHOP, 10).await.unwrap().is_empty());
    let entries = store
        .list_entries(SHOP, Cue::UnmappedProducts, 10)
        .await
        .unwrap();
    assert_eq!(
        entries.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
        ["v1"]
    );

    // The run that took the job over writes through its own fence; the old run's job write loses.
    let new_run = store.fenced(takeover.fence());
    new_run.complete(SHOP, "k1", "ok").await.unwrap();
    new_run
        .put_records(SHOP, "row", &many("m", 150))
        .await
        .unwrap();
    assert_eq!(
        store.count_by_status(SHOP, "row", "new").await.unwrap(),
        150
    );
    let mut stale_checkpoint = job.clone();
    stale_checkpoint.checkpoint = Some(serde_json::json!({"from": "the paused run"}));
    assert!(
        !store
            .update_job_if(&stale_checkpoint, JobStatus::Running, job.seq)
            .await
            .unwrap(),
        "an older epoch loses even with the right status and seq"
    );
    assert_eq!(
        store
            .get_job(SHOP, &job.job_id)
            .await
            .unwrap()
            .unwrap()
            .epoch,
        2
    );
}

#[tokio::test]
async fn update_job_if_accepts_the_same_or_a_newer_epoch_only() {
    let store = store("fence-epoch").await;
    let job = running_job(&store).await;
    let item = store
        .client()
        .get_item()
        .table_name(store.table_name())
        .key("pk", AttributeValue::S(format!("SHOP#{SHOP}")))
        .key("sk", AttributeValue::S(format!("JOB#{}", job.job_id)))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert_eq!(item["epoch"], AttributeValue::N("1".into()));

    let mut checkpoint = job.clone();
    checkpoint.checkpoint = Some(serde_json::json!({"n": 1}));
    assert!(
        store
            .update_job_if(&checkpoint, JobStatus::Running, job.seq)
            .await
            .unwrap(),
        "the same epoch writes"
    );
    let mut older = checkpoint.clone();
    older.epoch = 0;
    assert!(
        !store
            .update_job_if(&older, JobStatus::Running, job.seq)
            .await
            .unwrap()
    );

    // A job item written before epochs existed has no `epoch` attribute: any epoch may write it.
    store
        .client()
        .update_item()
        .table_name(store.table_name())
        .key("pk", AttributeValue::S(format!("SHOP#{SHOP}")))
        .key("sk", AttributeValue::S(format!("JOB#{}", job.job_id)))
        .update_expression("REMOVE epoch")
        .send()
        .await
        .unwrap();
    assert!(
        store
            .update_job_if(&older, JobStatus::Running, job.seq)
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn a_fence_of_epoch_0_accepts_a_legacy_job_but_never_a_missing_one() {
    let store = store("fence-legacy").await;
    let job = running_job(&store).await;
    store
        .client()
        .update_item()
        .table_name(store.table_name())
        .key("pk", AttributeValue::S(format!("SHOP#{SHOP}")))
        .key("sk", AttributeValue::S(format!("JOB#{}", job.job_id)))
        .update_expression("REMOVE epoch")
        .send()
        .await
        .unwrap();
    let legacy = store.fenced(Fence {
        epoch: 0,
        ..job.fence()
    });
    legacy.begin(SHOP, &entry("k1", "p")).await.unwrap();
    assert!(is_fenced(
        store
            .fenced(job.fence())
            .begin(SHOP, &entry("k2", "p"))
            .await
            .unwrap_err(),
        &job
    ));

    let gone = store.fenced(Fence {
        shop: SHOP.into(),
        job_id: "no-such-job".into(),
        epoch: 0,
    });
    assert!(matches!(
        gone.begin(SHOP, &entry("k3", "p")).await,
        Err(SyncError::Fenced { .. })
    ));
    assert!(matches!(
        gone.put_records(SHOP, "row", &many("r", 3)).await,
        Err(SyncError::Fenced { .. })
    ));
    assert_eq!(store.get(SHOP, "k3").await.unwrap(), None);
}

#[tokio::test]
async fn the_run_store_source_fences_only_when_given_a_fence() {
    let store = store("fence-source").await;
    let job = running_job(&store).await;
    let takeover = take_over(&store, &job).await;

    let stale = store.for_run(Some(job.fence()));
    assert!(is_fenced(
        stale
            .records
            .put_records(SHOP, "row", &many("a", 2))
            .await
            .unwrap_err(),
        &job
    ));
    assert!(is_fenced(
        stale
            .ledger
            .begin(SHOP, &entry("k", "p"))
            .await
            .unwrap_err(),
        &job
    ));
    assert!(is_fenced(
        stale
            .skipped
            .record_skipped(SHOP, &[skipped("v")])
            .await
            .unwrap_err(),
        &job
    ));
    assert!(is_fenced(
        stale
            .cues
            .put_entries(SHOP, Cue::UnmappedProducts, &[cue("v")])
            .await
            .unwrap_err(),
        &job
    ));

    let current = store.for_run(Some(takeover.fence()));
    current
        .records
        .put_records(SHOP, "row", &many("a", 2))
        .await
        .unwrap();
    let unfenced = store.fenced(job.fence()).for_run(None);
    unfenced.ledger.begin(SHOP, &entry("k", "p")).await.unwrap();
    unfenced
        .skipped
        .record_skipped(SHOP, &[skipped("v")])
        .await
        .unwrap();
    unfenced
        .cues
        .put_entries(SHOP, Cue::UnmappedProducts, &[cue("v")])
        .await
        .unwrap();
}
