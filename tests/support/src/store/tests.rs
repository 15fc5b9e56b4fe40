//! The semantics the run path leans on, checked against the double itself.

use super::*;
use crate::{FaultMode, Faults, op};
use shopsync_domain::job::JobError;
use shopsync_domain::ports::*;
use shopsync_domain::status::{Cue, CueEntry, Failure, FailureSource, FailureState};
use shopsync_domain::status_ports::{CueStore, FailureClaim, FailureStore, StatusCounts};
use shopsync_domain::{ErrorKind, JobStatus, RunOptions, SyncError, TaskKind, Trigger};

fn job(id: &str) -> JobRecord {
    let mut job = JobRecord::new_queued(
        "A",
        id,
        TaskKind::SyncInventory,
        Trigger::Manual,
        RunOptions::default(),
        1_000,
    );
    job.nonce = "n".into();
    job
}

fn entry(key: &str, payload: &str) -> LedgerEntry {
    LedgerEntry {
        key: key.into(),
        payload: payload.into(),
        payload_sha256: LedgerEntry::sha256_hex(payload),
        status: LedgerStatus::Pending,
        result: None,
        created_at: 1_000,
    }
}

// ---- jobs ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_job_is_created_once() {
    let store = MemoryStore::new();
    assert!(store.create_job(&job("j1")).await.unwrap());
    let mut other = job("j1");
    other.attempts = 9;
    assert!(!store.create_job(&other).await.unwrap(), "exists: no write");
    assert_eq!(store.job("A", "j1").unwrap().attempts, 0);
    assert_eq!(store.write_count(), 1);
    assert!(matches!(
        store.create_job(&job("")).await,
        Err(SyncError::Internal(_))
    ));
}

#[tokio::test]
async fn update_job_if_is_a_compare_and_swap_on_status_and_seq() {
    let store = MemoryStore::new();
    let j = job("j1");
    store.create_job(&j).await.unwrap();

    let mut running = j.clone();
    running.transition(JobStatus::Running, 1_010).unwrap();
    // Wrong status, wrong seq, absent job: all lose without writing.
    assert!(
        !store
            .update_job_if(&running, JobStatus::Deferred, 0)
            .await
            .unwrap()
    );
    assert!(
        !store
            .update_job_if(&running, JobStatus::Queued, 1)
            .await
            .unwrap()
    );
    assert!(
        !store
            .update_job_if(&job("absent"), JobStatus::Queued, 0)
            .await
            .unwrap()
    );
    assert_eq!(store.write_count(), 1);

    // Two deliveries read the same (queued, 0): exactly one starts the job.
    assert!(
        store
            .update_job_if(&running, JobStatus::Queued, 0)
            .await
            .unwrap()
    );
    assert!(
        !store
            .update_job_if(&running, JobStatus::Queued, 0)
            .await
            .unwrap()
    );
    assert_eq!(store.job("A", "j1").unwrap().status, JobStatus::Running);
}

#[tokio::test]
async fn a_takeover_moves_the_epoch_so_the_old_run_loses_with_the_right_status_and_seq() {
    // A running → running takeover after lease expiry keeps status and seq; only the epoch (moved
    // up by the transition) tells the runs apart: a checkpoint of the paused run then loses.
    let store = MemoryStore::new();
    let mut j = job("j1");
    store.create_job(&j).await.unwrap();
    j.transition(JobStatus::Running, 1_010).unwrap();
    assert_eq!(j.epoch, 1);
    assert!(store.update_job_if(&j, JobStatus::Queued, 0).await.unwrap());

    // A rewrite in the same epoch (a checkpoint of the current run) still lands.
    let mut checkpoint = j.clone();
    checkpoint.checkpoint = Some(serde_json::json!({"from": "the current run"}));
    assert!(
        store
            .update_job_if(&checkpoint, JobStatus::Running, 0)
            .await
            .unwrap()
    );

    let mut takeover = j.clone();
    takeover.transition(JobStatus::Running, 1_100).unwrap();
    takeover.attempts += 1;
    assert_eq!(takeover.epoch, 2);
    assert!(
        store
            .update_job_if(&takeover, JobStatus::Running, 0)
            .await
            .unwrap()
    );
    let mark = store.write_count();
    let mut stale_checkpoint = j.clone();
    stale_checkpoint.checkpoint = Some(serde_json::json!({"from": "the paused run"}));
    assert!(
        !store
            .update_job_if(&stale_checkpoint, JobStatus::Running, 0)
            .await
            .unwrap(),
        "an older epoch loses"
    );
    assert_eq!(store.write_count(), mark);
    assert_eq!(store.job("A", "j1").unwrap().epoch, 2);
}

#[tokio::test]
async fn strict_transitions_refuse_moves_the_state_machine_forbids() {
    let store = MemoryStore::new().with_strict_transitions();
    let mut j = job("j1");
    store.create_job(&j).await.unwrap();
    let mut done = j.clone();
    done.status = JobStatus::Succeeded;
    assert!(matches!(
        store.update_job_if(&done, JobStatus::Queued, 0).await,
        Err(SyncError::Internal(_))
    ));
    j.transition(JobStatus::Running, 1_001).unwrap();
    assert!(store.update_job_if(&j, JobStatus::Queued, 0).await.unwrap());
    j.checkpoint = Some(serde_json::json!(1));
    assert!(
        store
            .update_job_if(&j, JobStatus::Running, 0)
            .await
            .unwrap(),
        "a checkpoint keeps the status"
    );
    // Without strictness the adapter's behaviour: any move whose condition holds.
    let lax = MemoryStore::new();
    lax.create_job(&job("j1")).await.unwrap();
    assert!(
        lax.update_job_if(&done, JobStatus::Queued, 0)
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn listings_are_newest_first_and_paged_below_the_cursor() {
    let store = MemoryStore::new();
    for i in 1..=5 {
        let mut j = job(&format!("000{i}"));
        if i % 2 == 0 {
            j.status = JobStatus::Failed;
        }
        store.create_job(&j).await.unwrap();
    }
    let ids = |jobs: Vec<JobRecord>| jobs.into_iter().map(|j| j.job_id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.list_jobs("A", None, 3).await.unwrap()),
        ["0005", "0004", "0003"]
    );
    assert_eq!(
        ids(store
            .list_jobs("A", Some(JobStatus::Failed), 100)
            .await
            .unwrap()),
        ["0004", "0002"]
    );
    assert!(store.list_jobs("A", None, 0).await.unwrap().is_empty());
    let page = store.list_jobs_page("A", None, 2, None).await.unwrap();
    assert_eq!(ids(page.jobs), ["0005", "0004"]);
    assert_eq!(page.next_before.as_deref(), Some("0004"));
    let page = store
        .list_jobs_page("A", None, 2, Some("0004"))
        .await
        .unwrap();
    assert_eq!(ids(page.jobs), ["0003", "0002"]);
    let last = store
        .list_jobs_page("A", None, 2, page.next_before.as_deref())
        .await
        .unwrap();
    assert_eq!(ids(last.jobs), ["0001"]);
    assert_eq!(last.next_before, None);
}

#[tokio::test]
async fn of_concurrent_waiting_jobs_exactly_one_is_created() {
    let store = MemoryStore::new();
    let (a, b) = (job("ja"), job("jb"));
    let opts = RunOptions::default();
    assert_eq!(
        store
            .waiting_job_id("A", TaskKind::SyncInventory, &opts)
            .await
            .unwrap(),
        None
    );
    // Both read "none recorded".
    assert_eq!(
        store.create_waiting_job(&a, None).await.unwrap(),
        WaitingJobCreate::Created
    );
    assert_eq!(
        store.create_waiting_job(&b, None).await.unwrap(),
        WaitingJobCreate::Superseded
    );
    assert!(store.job("A", "jb").is_none(), "nothing written");
    // The job exists already: JobExists wins over the record's condition.
    assert_eq!(
        store.create_waiting_job(&a, Some("other")).await.unwrap(),
        WaitingJobCreate::JobExists
    );
    // Replacing the recorded one.
    assert_eq!(
        store.create_waiting_job(&b, Some("ja")).await.unwrap(),
        WaitingJobCreate::Created
    );
    assert_eq!(
        store
            .waiting_job_id("A", TaskKind::SyncInventory, &opts)
            .await
            .unwrap()
            .as_deref(),
        Some("jb")
    );
    // Another option set is another record.
    let full = RunOptions {
        full: true,
        ..RunOptions::default()
    };
    assert_eq!(
        store
            .waiting_job_id("A", TaskKind::SyncInventory, &full)
            .await
            .unwrap(),
        None
    );
    // The fan-out overwrites unconditionally.
    store.record_waiting_job(&a).await.unwrap();
    assert_eq!(
        store
            .waiting_job_id("A", TaskKind::SyncInventory, &opts)
            .await
            .unwrap()
            .as_deref(),
        Some("ja")
    );
}

// ---- leases -------------------------------------------------------------------------------------

#[tokio::test]
async fn a_lease_is_taken_only_if_free_expired_or_ours() {
    let store = MemoryStore::new();
    let acquire = |owner: &'static str, now: i64| {
        let store = store.clone();
        async move { store.acquire("A", "default", owner, 60, now).await.unwrap() }
    };
    assert_eq!(acquire("r1", 100).await, LeaseOutcome::Acquired);
    assert_eq!(
        acquire("r2", 159).await,
        LeaseOutcome::Held {
            owner: "r1".into(),
            expires_at: 160
        }
    );
    assert_eq!(
        acquire("r2", 160).await,
        LeaseOutcome::Held {
            owner: "r1".into(),
            expires_at: 160
        },
        "expires_at < now is strict: at 160 the lease is still held"
    );
    assert_eq!(acquire("r1", 150).await, LeaseOutcome::Acquired, "ours");
    assert_eq!(store.lease("A", "default").unwrap().expires_at, 210);
    assert_eq!(acquire("r2", 211).await, LeaseOutcome::Acquired, "expired");
    assert_eq!(store.lease("A", "default").unwrap().owner, "r2");
    assert_eq!(
        store.acquire("A", "other", "r1", 60, 0).await.unwrap(),
        LeaseOutcome::Acquired,
        "categories are independent"
    );
    assert!(matches!(
        store.acquire("A", "default", "", 60, 0).await,
        Err(SyncError::Internal(_))
    ));
}

#[tokio::test]
async fn heartbeats_and_releases_only_touch_our_own_lease() {
    let store = MemoryStore::new();
    store.acquire("A", "c", "r1", 60, 100).await.unwrap();
    assert!(store.heartbeat("A", "c", "r1", 60, 130).await.unwrap());
    assert_eq!(store.lease("A", "c").unwrap().expires_at, 190);
    // Expired but not taken: the adapter's heartbeat (owner = :me only) revives it.
    assert!(store.heartbeat("A", "c", "r1", 60, 500).await.unwrap());
    // Taken over after expiry: the old owner can neither extend nor drop it.
    store.acquire("A", "c", "r2", 60, 561).await.unwrap();
    assert!(!store.heartbeat("A", "c", "r1", 60, 562).await.unwrap());
    store.release("A", "c", "r1").await.unwrap();
    assert_eq!(store.lease("A", "c").unwrap().owner, "r2");
    store.release("A", "c", "r2").await.unwrap();
    assert!(store.lease("A", "c").is_none());
    assert!(
        !store.heartbeat("A", "c", "r2", 60, 563).await.unwrap(),
        "released"
    );
    store.release("A", "nothing", "r1").await.unwrap();
}

#[tokio::test]
async fn the_ttl_sweeper_removes_an_expired_lease_so_its_heartbeat_fails() {
    let store = MemoryStore::new();
    store.acquire("A", "c", "r1", 60, 100).await.unwrap();
    assert_eq!(store.expire_ttl(160), 0, "not before it is past");
    assert_eq!(store.expire_ttl(161), 1);
    assert!(!store.heartbeat("A", "c", "r1", 60, 170).await.unwrap());
}

// ---- ledger -------------------------------------------------------------------------------------

#[tokio::test]
async fn a_ledger_entry_is_begun_once_and_the_stored_one_comes_back() {
    let store = MemoryStore::new();
    assert_eq!(
        store.begin("A", &entry("k1", "first")).await.unwrap(),
        LedgerBegin::Started
    );
    match store.begin("A", &entry("k1", "second")).await.unwrap() {
        LedgerBegin::Existing(e) => {
            assert_eq!(e.payload, "first", "the stored payload, never the new one");
            assert_eq!(e.status, LedgerStatus::Pending);
        }
        other => panic!("{other:?}"),
    }
    store.complete("A", "k1", "ok").await.unwrap();
    let e = store.get("A", "k1").await.unwrap().unwrap();
    assert_eq!(
        (e.status, e.result.as_deref()),
        (LedgerStatus::Applied, Some("ok"))
    );
    assert!(matches!(
        store.complete("A", "never", "ok").await,
        Err(SyncError::NotFound(_))
    ));
    assert_eq!(
        store.begin("B", &entry("k1", "x")).await.unwrap(),
        LedgerBegin::Started,
        "keys are per shop"
    );
}

#[tokio::test]
async fn an_entry_goes_planned_then_sent_then_applied_and_never_back() {
    let store = MemoryStore::new();
    store.begin("A", &entry("k1", "p")).await.unwrap();
    store.mark_sent("A", "k1").await.unwrap();
    store.mark_sent("A", "k1").await.unwrap(); // again: still sent
    assert_eq!(
        store.get("A", "k1").await.unwrap().unwrap().status,
        LedgerStatus::Sent
    );
    store.complete("A", "k1", "done").await.unwrap();
    // An applied entry is never marked sent again, and a missing one cannot be marked: both are
    // the adapter's Conflict.
    assert!(matches!(
        store.mark_sent("A", "k1").await,
        Err(SyncError::Conflict(_))
    ));
    assert!(matches!(
        store.mark_sent("A", "nope").await,
        Err(SyncError::Conflict(_))
    ));
    assert_eq!(
        store.get("A", "k1").await.unwrap().unwrap().status,
        LedgerStatus::Applied
    );
}

#[tokio::test]
async fn a_begin_whose_answer_is_lost_is_found_by_the_retry() {
    let store = MemoryStore::new();
    store
        .faults()
        .drop_answer_next(op::LEDGER_BEGIN, 1, Faults::unavailable());
    let err = store.begin("A", &entry("k1", "p")).await.unwrap_err();
    assert!(err.is_retryable());
    assert_eq!(store.ledger_entries("A").len(), 1, "the write landed");
    assert!(matches!(
        store.begin("A", &entry("k1", "p")).await.unwrap(),
        LedgerBegin::Existing(_)
    ));
}

#[tokio::test]
async fn a_begin_that_fails_before_writes_nothing() {
    let store = MemoryStore::new();
    store
        .faults()
        .fail_next(op::LEDGER_BEGIN, 1, Faults::unavailable());
    assert!(store.begin("A", &entry("k1", "p")).await.is_err());
    assert!(store.ledger_entries("A").is_empty());
    assert_eq!(store.write_count(), 0);
    assert_eq!(
        store.begin("A", &entry("k1", "p")).await.unwrap(),
        LedgerBegin::Started
    );
}

#[tokio::test]
async fn ledger_entries_expire_seven_days_after_the_later_of_creation_and_now() {
    let store = MemoryStore::new().with_clock(Clock::at(5_000));
    store.begin("A", &entry("k1", "p")).await.unwrap(); // created_at 1_000 < now
    assert_eq!(store.expire_ttl(5_000 + LEDGER_TTL_SECS), 0);
    assert_eq!(store.expire_ttl(5_001 + LEDGER_TTL_SECS), 1);
    assert!(matches!(
        store.complete("A", "k1", "late").await,
        Err(SyncError::NotFound(_))
    ));
}

// ---- faults across the store ---------------------------------------------------------------------

#[tokio::test]
async fn dynamodb_unavailable_fails_every_store_operation_and_changes_nothing() {
    let store = MemoryStore::new();
    store.create_job(&job("j1")).await.unwrap();
    store
        .faults()
        .fail_next("dynamo.*", 3, Faults::unavailable());
    assert!(store.get_job("A", "j1").await.is_err());
    assert!(store.acquire("A", "c", "r", 60, 0).await.is_err());
    assert!(store.begin("A", &entry("k", "p")).await.is_err());
    assert_eq!(store.write_count(), 1);
    assert!(store.get_job("A", "j1").await.unwrap().is_some());
    assert_eq!(store.faults().injected("dynamo.*"), 3);
    assert_eq!(store.faults().calls(op::GET_JOB), 2);
}

#[tokio::test]
async fn a_conditional_write_whose_answer_is_lost_still_applied_once() {
    let store = MemoryStore::new();
    let mut j = job("j1");
    store.create_job(&j).await.unwrap();
    j.transition(JobStatus::Running, 1_001).unwrap();
    store.faults().inject_next(
        op::UPDATE_JOB_IF,
        1,
        FaultMode::ApplyThenFail,
        Faults::unavailable(),
    );
    assert!(store.update_job_if(&j, JobStatus::Queued, 0).await.is_err());
    assert_eq!(store.job("A", "j1").unwrap().status, JobStatus::Running);
    // The caller's retry of the same move now loses the condition: it must read before it decides.
    assert!(!store.update_job_if(&j, JobStatus::Queued, 0).await.unwrap());
}

#[tokio::test]
async fn the_journal_shows_which_writes_landed() {
    let store = MemoryStore::new();
    store.acquire("A", "c", "r1", 60, 0).await.unwrap();
    let mark = store.write_count();
    store.create_job(&job("j1")).await.unwrap();
    store.acquire("A", "c", "r2", 60, 1).await.unwrap(); // held: no write
    let after: Vec<_> = store.writes()[mark..]
        .iter()
        .map(|w| (w.op, w.sk.clone()))
        .collect();
    assert_eq!(after, [(op::CREATE_JOB, "JOB#j1".to_string())]);
}

// ---- generic records -----------------------------------------------------------------------------

fn rec(id: &str, status: Option<&str>, body: &str) -> Record {
    Record::new(id, status, body)
}

#[tokio::test]
async fn a_record_is_created_once_then_compared_and_swapped_by_version() {
    let store = MemoryStore::new().with_clock(Clock::at(4_000));
    assert!(
        store
            .put_record_if("A", "order", &rec("o1", Some("staged"), "{}"))
            .await
            .unwrap()
    );
    let stored = store.get_record("A", "order", "o1").await.unwrap().unwrap();
    assert_eq!((stored.version, stored.updated_at), (1, 4_000));
    assert_eq!(stored.status.as_deref(), Some("staged"));
    assert!(
        !store
            .put_record_if("A", "order", &rec("o1", None, "again"))
            .await
            .unwrap(),
        "version 0: must not exist"
    );

    let mut next = stored.clone();
    next.body = "{\"n\":2}".into();
    assert!(store.put_record_if("A", "order", &next).await.unwrap());
    assert!(
        !store.put_record_if("A", "order", &next).await.unwrap(),
        "stale version loses"
    );
    let mut absent = rec("o9", None, "x");
    absent.version = 3;
    assert!(!store.put_record_if("A", "order", &absent).await.unwrap());
    let stored = store.get_record("A", "order", "o1").await.unwrap().unwrap();
    assert_eq!((stored.version, stored.body.as_str()), (2, "{\"n\":2}"));

    // Kinds and shops are apart.
    assert_eq!(store.get_record("A", "shipment", "o1").await.unwrap(), None);
    assert_eq!(store.get_record("B", "order", "o1").await.unwrap(), None);

    let got = store
        .get_records("A", "order", &["o1".into(), "nope".into(), "o1".into()])
        .await
        .unwrap();
    assert_eq!(got.len(), 1, "absent ids left out, duplicates once");

    store
        .delete_records("A", "order", &["o1".into(), "nope".into()])
        .await
        .unwrap();
    assert_eq!(store.get_record("A", "order", "o1").await.unwrap(), None);
}

#[tokio::test]
async fn put_records_stores_one_version_past_the_given_one_and_the_last_of_an_id_wins() {
    let store = MemoryStore::new();
    let mut read = rec("b", None, "old");
    read.version = 4;
    store
        .put_records(
            "A",
            "row",
            &[rec("a", None, "1"), read, rec("a", Some("x"), "2")],
        )
        .await
        .unwrap();
    let a = store.record("A", "row", "a").unwrap();
    assert_eq!(
        (a.version, a.body.as_str(), a.status.as_deref()),
        (1, "2", Some("x"))
    );
    assert_eq!(store.record("A", "row", "b").unwrap().version, 5);
    assert_eq!(store.write_count(), 2, "one write per id");
}

#[tokio::test]
async fn move_status_only_moves_from_the_status_held_now_and_none_leaves_the_index() {
    let store = MemoryStore::new();
    store
        .put_record_if("A", "order", &rec("o1", None, "{}"))
        .await
        .unwrap();
    assert!(
        !store
            .move_status("A", "order", "o1", Some("staged"), Some("sent"))
            .await
            .unwrap(),
        "it has no status"
    );
    assert!(
        store
            .move_status("A", "order", "o1", None, Some("staged"))
            .await
            .unwrap()
    );
    assert!(
        !store
            .move_status("A", "order", "o1", None, Some("staged"))
            .await
            .unwrap(),
        "it has one now"
    );
    assert!(
        !store
            .move_status("A", "order", "absent", None, Some("staged"))
            .await
            .unwrap()
    );
    assert_eq!(
        store.count_by_status("A", "order", "staged").await.unwrap(),
        1
    );
    let page = store
        .list_by_status("A", "order", "staged", None, 10)
        .await
        .unwrap();
    assert_eq!(page.records.len(), 1);
    assert_eq!(page.records[0].version, 2);

    assert!(
        store
            .move_status("A", "order", "o1", Some("staged"), None)
            .await
            .unwrap()
    );
    assert_eq!(
        store.count_by_status("A", "order", "staged").await.unwrap(),
        0
    );
    assert!(
        store
            .list_by_status("A", "order", "staged", None, 10)
            .await
            .unwrap()
            .records
            .is_empty()
    );
    let stored = store.record("A", "order", "o1").unwrap();
    assert_eq!((stored.status, stored.version), (None, 3));
}

#[tokio::test]
async fn record_pages_follow_id_order_and_say_when_more_follow() {
    let store = MemoryStore::new();
    let records: Vec<Record> = (0..25)
        .map(|i| {
            let status = if i % 2 == 0 { Some("even") } else { None };
            rec(&format!("r{i:02}"), status, "{}")
        })
        .collect();
    store.put_records("A", "row", &records).await.unwrap();
    store
        .put_records("A", "rows", &[rec("r00", Some("even"), "other kind")])
        .await
        .unwrap();

    let mut ids = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = store
            .list_records("A", "row", after.as_deref(), 10)
            .await
            .unwrap();
        pages += 1;
        ids.extend(page.records.iter().map(|r| r.id.clone()));
        match page.next_after {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(ids, (0..25).map(|i| format!("r{i:02}")).collect::<Vec<_>>());

    // A page that ends exactly at the last record says so.
    let page = store
        .list_records("A", "row", Some("r14"), 10)
        .await
        .unwrap();
    assert_eq!(page.records.len(), 10);
    assert_eq!(page.next_after, None);
    // `after` need not exist.
    let page = store
        .list_records("A", "row", Some("r10x"), 2)
        .await
        .unwrap();
    assert_eq!(
        page.records
            .iter()
            .map(|r| r.id.as_str())
            .collect::<Vec<_>>(),
        ["r11", "r12"]
    );
    assert_eq!(page.next_after.as_deref(), Some("r12"));

    let page = store
        .list_by_status("A", "row", "even", Some("r04"), 3)
        .await
        .unwrap();
    assert_eq!(
        page.records
            .iter()
            .map(|r| r.id.as_str())
            .collect::<Vec<_>>(),
        ["r06", "r08", "r10"]
    );
    assert_eq!(page.next_after.as_deref(), Some("r10"));
    assert_eq!(store.count_by_status("A", "row", "even").await.unwrap(), 13);
    assert_eq!(store.count_by_status("A", "rows", "even").await.unwrap(), 1);
}

#[tokio::test]
async fn bad_record_kinds_ids_and_statuses_are_refused_before_any_call() {
    let store = MemoryStore::new();
    let internal = |r: Result<bool>| matches!(r, Err(SyncError::Internal(_)));
    assert!(internal(
        store
            .put_record_if("A", "Order", &rec("o1", None, "{}"))
            .await
    ));
    assert!(internal(
        store
            .put_record_if("A", "order", &rec("", None, "{}"))
            .await
    ));
    assert!(internal(
        store
            .put_record_if("A", "order", &rec("a\u{0}b", None, "{}"))
            .await
    ));
    assert!(internal(
        store
            .put_record_if("A", "order", &rec("o1", Some(""), "{}"))
            .await
    ));
    assert!(internal(
        store
            .move_status("A", "order#x", "o1", None, Some("s"))
            .await
    ));
    assert!(
        store
            .put_records(
                "A",
                "order",
                &[rec("ok", None, "{}"), rec(&"x".repeat(513), None, "{}")]
            )
            .await
            .is_err(),
        "one bad id refuses the whole batch"
    );
    assert!(store.list_records("A", "", None, 10).await.is_err());
    assert!(store.count_by_status("A", "order", "").await.is_err());
    assert_eq!(store.faults().calls("dynamo.records.*"), 0);
    assert_eq!(store.write_count(), 0);
}

#[tokio::test]
async fn record_writes_have_fault_points() {
    let store = MemoryStore::new();
    store
        .faults()
        .fail_next(op::PUT_RECORD_IF, 1, Faults::unavailable());
    assert!(
        store
            .put_record_if("A", "order", &rec("o1", None, "{}"))
            .await
            .is_err()
    );
    assert_eq!(store.record("A", "order", "o1"), None);
    store
        .faults()
        .drop_answer_next(op::PUT_RECORD_IF, 1, Faults::unavailable());
    assert!(
        store
            .put_record_if("A", "order", &rec("o1", None, "{}"))
            .await
            .is_err()
    );
    assert_eq!(
        store.record("A", "order", "o1").unwrap().version,
        1,
        "landed"
    );
    store
        .faults()
        .fail_next("dynamo.records.*", 2, Faults::unavailable());
    assert!(
        store
            .move_status("A", "order", "o1", None, Some("s"))
            .await
            .is_err()
    );
    assert!(store.list_records("A", "order", None, 5).await.is_err());
    assert_eq!(store.faults().calls(op::MOVE_STATUS), 1);
}

// ---- fencing ---------------------------------------------------------------------------------------

/// A running job of shop A in epoch 1, and a fence of it.
async fn running_job(store: &MemoryStore) -> (JobRecord, Fence) {
    let mut j = job("j1");
    store.create_job(&j).await.unwrap();
    j.transition(JobStatus::Running, 1_010).unwrap();
    assert!(store.update_job_if(&j, JobStatus::Queued, 0).await.unwrap());
    let fence = j.fence();
    assert_eq!(fence.epoch, 1);
    (j, fence)
}

#[tokio::test]
async fn a_fenced_view_writes_while_its_epoch_is_the_stored_one() {
    let store = MemoryStore::new();
    let (_, fence) = running_job(&store).await;
    let run = store.fenced(fence);
    assert_eq!(
        run.begin("A", &entry("k1", "p")).await.unwrap(),
        LedgerBegin::Started
    );
    assert!(matches!(
        run.begin("A", &entry("k1", "q")).await.unwrap(),
        LedgerBegin::Existing(e) if e.payload == "p"
    ));
    run.mark_sent("A", "k1").await.unwrap();
    run.complete("A", "k1", "ok").await.unwrap();
    assert!(
        run.put_record_if("A", "order", &rec("o1", None, "{}"))
            .await
            .unwrap()
    );
    assert!(
        !run.put_record_if("A", "order", &rec("o1", None, "{}"))
            .await
            .unwrap(),
        "the write's own condition still answers"
    );
    run.record_skipped("A", &[skipped("v1")]).await.unwrap();
    run.put_entries("A", Cue::UnmappedProducts, &[cue_entry("v1")])
        .await
        .unwrap();
    // Reads go through the view too, unfenced.
    assert_eq!(
        run.get("A", "k1").await.unwrap().unwrap().status,
        LedgerStatus::Applied
    );
}

#[tokio::test]
async fn a_fenced_view_whose_job_was_taken_over_writes_nothing() {
    let store = MemoryStore::new();
    let (j, fence) = running_job(&store).await;
    let run = store.fenced(fence);
    run.begin("A", &entry("k1", "p")).await.unwrap();
    let old = rec("o1", None, "{}");
    run.put_record_if("A", "order", &old).await.unwrap();

    // Another run takes the job over: the epoch moves on.
    let mut takeover = j.clone();
    takeover.transition(JobStatus::Running, 1_100).unwrap();
    assert!(
        store
            .update_job_if(&takeover, JobStatus::Running, 0)
            .await
            .unwrap()
    );
    let mark = store.write_count();
    let fenced = |e: SyncError| matches!(e, SyncError::Fenced { ref job_id } if job_id == "j1");

    assert!(fenced(run.begin("A", &entry("k2", "p")).await.unwrap_err()));
    assert!(
        fenced(run.begin("A", &entry("k1", "p")).await.unwrap_err()),
        "an existing entry too: the run must stop"
    );
    assert!(fenced(run.mark_sent("A", "k1").await.unwrap_err()));
    assert!(fenced(run.complete("A", "k1", "late").await.unwrap_err()));
    let mut next = store.record("A", "order", "o1").unwrap();
    next.body = "late".into();
    assert!(fenced(
        run.put_record_if("A", "order", &next).await.unwrap_err()
    ));
    let many: Vec<Record> = (0..150)
        .map(|i| rec(&format!("m{i:03}"), None, "{}"))
        .collect();
    assert!(fenced(
        run.put_records("A", "order", &many).await.unwrap_err()
    ));
    assert!(fenced(
        run.move_status("A", "order", "o1", None, Some("s"))
            .await
            .unwrap_err()
    ));
    assert!(fenced(
        run.delete_records("A", "order", &["o1".into()])
            .await
            .unwrap_err()
    ));
    assert!(fenced(
        run.record_skipped("A", &[skipped("v1")]).await.unwrap_err()
    ));
    assert!(fenced(
        run.put_entries("A", Cue::UnmappedProducts, &[cue_entry("v1")])
            .await
            .unwrap_err()
    ));
    assert!(fenced(
        run.replace_entries("A", Cue::UnmappedProducts, &[])
            .await
            .unwrap_err()
    ));
    assert!(
        !SyncError::Fenced {
            job_id: "j1".into()
        }
        .is_retryable()
    );

    assert_eq!(store.write_count(), mark, "nothing written");
    assert_eq!(store.ledger_entries("A")[0].status, LedgerStatus::Pending);
    assert_eq!(store.record("A", "order", "o1").unwrap().body, "{}");
    assert_eq!(store.records("A", "order").len(), 1);
    assert!(store.list_skipped("A", 10).await.unwrap().is_empty());

    // The new run's own view writes.
    let new_run = store.fenced(takeover.fence());
    new_run.complete("A", "k1", "ok").await.unwrap();
    new_run.put_records("A", "order", &many).await.unwrap();
    assert_eq!(store.records("A", "order").len(), 151);
}

#[tokio::test]
async fn a_fence_of_a_missing_job_refuses_and_faults_still_come_first() {
    let store = MemoryStore::new();
    let run = store.fenced(Fence {
        shop: "A".into(),
        job_id: "gone".into(),
        epoch: 0,
    });
    assert!(matches!(
        run.begin("A", &entry("k1", "p")).await,
        Err(SyncError::Fenced { .. })
    ));
    store
        .faults()
        .fail_next(op::LEDGER_BEGIN, 1, Faults::unavailable());
    assert!(matches!(
        run.begin("A", &entry("k1", "p")).await,
        Err(SyncError::Storage(_))
    ));
    assert_eq!(store.write_count(), 0);
}

#[tokio::test]
async fn the_run_store_source_fences_only_when_given_a_fence() {
    let store = MemoryStore::new();
    let (j, fence) = running_job(&store).await;
    let mut takeover = j.clone();
    takeover.transition(JobStatus::Running, 1_100).unwrap();
    store
        .update_job_if(&takeover, JobStatus::Running, 0)
        .await
        .unwrap();

    let stale = store.for_run(Some(fence));
    assert!(matches!(
        stale
            .records
            .put_records("A", "row", &[rec("a", None, "{}")])
            .await,
        Err(SyncError::Fenced { .. })
    ));
    assert!(matches!(
        stale.ledger.begin("A", &entry("k", "p")).await,
        Err(SyncError::Fenced { .. })
    ));
    assert!(
        stale
            .skipped
            .record_skipped("A", &[skipped("v")])
            .await
            .is_err()
    );
    assert!(
        stale
            .cues
            .put_entries("A", Cue::UnmappedProducts, &[cue_entry("v")])
            .await
            .is_err()
    );

    let current = store.for_run(Some(takeover.fence()));
    current
        .records
        .put_records("A", "row", &[rec("a", None, "{}")])
        .await
        .unwrap();
    let unfenced = store.for_run(None);
    unfenced.ledger.begin("A", &entry("k", "p")).await.unwrap();
    unfenced
        .skipped
        .record_skipped("A", &[skipped("v")])
        .await
        .unwrap();
    // A fenced store's unfenced runs are unfenced too.
    let from_fenced = store.fenced(takeover.fence()).for_run(None);
    from_fenced
        .cues
        .put_entries("A", Cue::UnmappedProducts, &[cue_entry("v")])
        .await
        .unwrap();
}

fn skipped(id: &str) -> SkippedRecord {
    SkippedRecord {
        job_id: "j1".into(),
        task: TaskKind::SyncInventory,
        record_id: id.into(),
        reason: "unmapped".into(),
        at: 1_000,
    }
}

fn cue_entry(id: &str) -> CueEntry {
    CueEntry {
        id: id.into(),
        detail: "detail".into(),
        task: None,
        at: 1_000,
    }
}

// ---- settings, schedules, cursors -----------------------------------------------------------------

fn settings(code: &str) -> ShopSettings {
    ShopSettings::from_json(
        &serde_json::json!({
            "code": code,
            "enabled": true,
            "shopify": {"store_domain": "demo.myshopify.com", "access_token_secret_id": format!("shopsync/{code}/shopify")},
            "bc": {"tenant": "t1", "environment": "production", "company_id": "5d5d2b5a-6a47-4d36-9a55-4f4c0f0e1a01", "company_name": "CRONUS", "credentials_secret_id": format!("shopsync/{code}/bc")}
        })
        .to_string(),
    )
    .unwrap()
}

#[tokio::test]
async fn settings_are_validated_before_they_are_written_and_listed_by_code() {
    let store = MemoryStore::new();
    store.put_shop(&settings("B")).await.unwrap();
    store.put_shop(&settings("A")).await.unwrap();
    let mut bad = settings("C");
    bad.shopify.access_token_secret_id = "shopsync/OTHER/shopify".into();
    assert!(matches!(
        store.put_shop(&bad).await,
        Err(SyncError::Settings(_))
    ));
    let codes: Vec<_> = store
        .list_shops()
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.code)
        .collect();
    assert_eq!(codes, ["A", "B"]);
    assert!(store.get_shop("C").await.unwrap().is_none());
}

#[tokio::test]
async fn schedules_default_to_never_and_cursors_only_move_from_what_was_read() {
    let store = MemoryStore::new();
    assert_eq!(
        store
            .get_schedule("A", TaskKind::SyncInventory)
            .await
            .unwrap(),
        TaskSchedule::default()
    );
    let s = TaskSchedule {
        last_scheduled_at: Some(5),
        last_full_at: None,
    };
    store
        .put_schedule("A", TaskKind::SyncInventory, &s)
        .await
        .unwrap();
    assert_eq!(
        store
            .get_schedule("A", TaskKind::SyncInventory)
            .await
            .unwrap(),
        s
    );

    assert!(
        !store
            .advance_cursor("A", "o", Some("x"), "y")
            .await
            .unwrap()
    );
    assert!(store.advance_cursor("A", "o", None, "t1").await.unwrap());
    assert!(!store.advance_cursor("A", "o", None, "t0").await.unwrap());
    assert!(
        !store
            .advance_cursor("A", "o", Some("t0"), "t2")
            .await
            .unwrap()
    );
    assert!(
        store
            .advance_cursor("A", "o", Some("t1"), "t2")
            .await
            .unwrap()
    );
    assert_eq!(
        store.get_cursor("A", "o").await.unwrap().as_deref(),
        Some("t2")
    );
}

// ---- inventory, skipped, cues, counts ---------------------------------------------------------------

#[tokio::test]
async fn skipped_records_list_newest_first_and_count_until_their_ttl() {
    let store = MemoryStore::new().with_clock(Clock::at(100));
    let rec = |id: &str, at| SkippedRecord {
        job_id: "j".into(),
        task: TaskKind::SyncInventory,
        record_id: id.into(),
        reason: "r".into(),
        at,
    };
    store
        .record_skipped("A", &[rec("old", 50), rec("new", 200), rec("same", 200)])
        .await
        .unwrap();
    let ids: Vec<_> = store
        .list_skipped("A", 10)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.record_id)
        .collect();
    assert_eq!(ids, ["same", "new", "old"]);
    assert_eq!(store.list_skipped("A", 1).await.unwrap().len(), 1);
    // TTL: max(at, now) + 30 days → 100 + 30d for "old", 200 + 30d for the others.
    assert_eq!(store.count_skipped("A", 100).await.unwrap(), 3);
    assert_eq!(
        store
            .count_skipped("A", 100 + SKIPPED_TTL_SECS)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        store.list_skipped("A", 10).await.unwrap().len(),
        3,
        "listing does not filter: TTL deletes lazily"
    );
}

#[tokio::test]
async fn cue_entries_are_put_removed_and_replaced_by_id() {
    let store = MemoryStore::new();
    let e = |id: &str, detail: &str| CueEntry {
        id: id.into(),
        detail: detail.into(),
        task: None,
        at: 1,
    };
    let cue = Cue::UnmappedProducts;
    store
        .put_entries("A", cue, &[e("b", "1"), e("a", "1"), e("b", "2")])
        .await
        .unwrap();
    assert_eq!(store.count_entries("A", cue).await.unwrap(), 2);
    let listed = store.list_entries("A", cue, 10).await.unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|e| (e.id.as_str(), e.detail.as_str()))
            .collect::<Vec<_>>(),
        [("a", "1"), ("b", "2")]
    );
    assert!(matches!(
        store.put_entries("A", cue, &[e("c", ""), e("", "")]).await,
        Err(SyncError::Internal(_))
    ));
    assert_eq!(
        store.count_entries("A", cue).await.unwrap(),
        2,
        "nothing written"
    );
    store
        .put_entries("A", Cue::SkippedRecords, &[e("a", "other cue")])
        .await
        .unwrap();
    store
        .replace_entries("A", cue, &[e("c", "3")])
        .await
        .unwrap();
    let ids: Vec<_> = store
        .list_entries("A", cue, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(ids, ["c"]);
    assert_eq!(
        store.count_entries("A", Cue::SkippedRecords).await.unwrap(),
        1
    );
    store
        .remove_entries("A", cue, &["c".into(), "zz".into()])
        .await
        .unwrap();
    assert_eq!(store.count_entries("A", cue).await.unwrap(), 0);
}

#[tokio::test]
async fn the_board_counts_jobs_by_status_and_failed_jobs_by_kind() {
    let store = MemoryStore::new();
    for (id, status, kind) in [
        ("1", JobStatus::Failed, Some(ErrorKind::Auth)),
        ("2", JobStatus::Failed, Some(ErrorKind::Auth)),
        ("3", JobStatus::Failed, None),
        ("4", JobStatus::Queued, None),
    ] {
        let mut j = job(id);
        j.status = status;
        j.error = kind.map(|kind| JobError {
            kind,
            message: "m".into(),
        });
        store.create_job(&j).await.unwrap();
    }
    assert_eq!(store.count_jobs("A", JobStatus::Failed).await.unwrap(), 3);
    assert_eq!(store.count_jobs("A", JobStatus::Running).await.unwrap(), 0);
    let kinds = store.failed_jobs_by_kind("A").await.unwrap();
    assert_eq!(kinds.get("auth"), Some(&2));
    assert_eq!(kinds.get("unknown"), Some(&1));
}

// ---- failures -------------------------------------------------------------------------------------

fn failure(id: &str, shop: Option<&str>, failed_at: i64) -> Failure {
    Failure {
        id: id.into(),
        shop: shop.map(String::from),
        task: None,
        job_id: None,
        source: FailureSource::Worker,
        state: FailureState::Open,
        error_kind: "auth".into(),
        error: "e".into(),
        failed_at,
        retry_job_id: None,
    }
}

#[tokio::test]
async fn a_recorded_failure_is_never_reopened_by_a_refresh() {
    let store = MemoryStore::new();
    let f = failure("m1", Some("A"), 10);
    store.record_failure(&f, 20).await.unwrap();
    let mut closed = f.clone();
    closed.state = FailureState::Discarded;
    assert!(
        store
            .update_failure_if(&closed, FailureState::Open, 30)
            .await
            .unwrap()
    );
    assert!(
        !store
            .update_failure_if(&closed, FailureState::Open, 31)
            .await
            .unwrap(),
        "moved already"
    );
    let again = store.record_failure(&f, 40).await.unwrap();
    assert_eq!(again.state, FailureState::Discarded, "the stored one wins");
    assert_eq!(store.count_open_failures("A").await.unwrap(), 0);
    assert_eq!(
        store
            .get_failure(None, "m1")
            .await
            .unwrap()
            .map(|f| f.state),
        Some(FailureState::Discarded),
        "admin finds it through the locator"
    );
    assert!(store.get_failure(Some("B"), "m1").await.unwrap().is_none());
}

#[tokio::test]
async fn of_concurrent_retries_one_claims_the_failure_until_its_claim_ends() {
    let store = MemoryStore::new();
    let f = failure("m1", Some("A"), 10);
    store.record_failure(&f, 10).await.unwrap();
    let mut retrying = f.clone();
    retrying.state = FailureState::Retrying;
    let claim = |owner: &str, until| FailureClaim {
        owner: owner.into(),
        until,
    };
    assert!(
        store
            .claim_failure(&retrying, FailureState::Open, &claim("c1", 100), 50)
            .await
            .unwrap()
    );
    // Another retry sees "retrying" with a live claim.
    assert!(
        !store
            .claim_failure(&retrying, FailureState::Retrying, &claim("c2", 200), 100)
            .await
            .unwrap(),
        "until < now is strict"
    );
    // Someone else's release is a no-op; after the claim ends another may take over.
    store.release_failure_claim(&retrying, "c2").await.unwrap();
    assert!(
        store
            .claim_failure(&retrying, FailureState::Retrying, &claim("c2", 200), 101)
            .await
            .unwrap()
    );
    // The owner's release frees it at once.
    store.release_failure_claim(&retrying, "c2").await.unwrap();
    assert!(
        store
            .claim_failure(&retrying, FailureState::Retrying, &claim("c3", 300), 102)
            .await
            .unwrap()
    );
    // A plain update drops the claim.
    let mut retried = retrying.clone();
    retried.state = FailureState::Retried;
    assert!(
        store
            .update_failure_if(&retried, FailureState::Retrying, 103)
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn failures_list_newest_first_and_the_mirror_time_moves_by_swap() {
    let store = MemoryStore::new();
    store
        .record_failure(&failure("m1", Some("A"), 10), 10)
        .await
        .unwrap();
    store
        .record_failure(&failure("m2", None, 30), 30)
        .await
        .unwrap();
    store
        .record_failure(&failure("m3", Some("A"), 20), 20)
        .await
        .unwrap();
    let ids = |fs: Vec<Failure>| fs.into_iter().map(|f| f.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.list_failures(Some("A"), 10).await.unwrap()),
        ["m3", "m1"]
    );
    assert_eq!(
        ids(store.list_failures(None, 10).await.unwrap()),
        ["m2", "m3", "m1"]
    );
    assert_eq!(ids(store.open_failures("A", 1).await.unwrap()), ["m3"]);

    assert_eq!(store.mirror_refreshed_at().await.unwrap(), None);
    assert!(!store.swap_mirror_refreshed_at(Some(1), 5).await.unwrap());
    assert!(store.swap_mirror_refreshed_at(None, 5).await.unwrap());
    assert!(!store.swap_mirror_refreshed_at(None, 6).await.unwrap());
    assert!(store.swap_mirror_refreshed_at(Some(5), 6).await.unwrap());
    assert_eq!(store.mirror_refreshed_at().await.unwrap(), Some(6));
}
