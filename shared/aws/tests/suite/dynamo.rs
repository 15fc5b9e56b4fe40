//! DynamoStore against moto, on a table provisioned from infra/template.yaml.

use crate::common;

use common::{settings, settings_json, stack};
use shopsync_aws::DynamoStore;
use shopsync_domain::ports::*;
use shopsync_domain::{
    JobRecord, JobStatus, RunOptions, ShopSettings, SyncError, TaskKind, Trigger,
};

async fn store(label: &str) -> DynamoStore {
    let (sdk, res) = stack(label).await;
    DynamoStore::new(&sdk, &res.table_name)
}

fn job(shop: &str, millis: i64, n: &str) -> JobRecord {
    let id = shopsync_domain::job::job_id(TaskKind::SyncInventory, millis, n);
    JobRecord::new_queued(
        shop,
        &id,
        TaskKind::SyncInventory,
        Trigger::Schedule,
        RunOptions::default(),
        millis / 1000,
    )
}

#[tokio::test]
async fn create_job_is_once_only_and_round_trips() {
    let store = store("jobs").await;
    let mut j = job("DEMO", 1_700_000_000_000, "a");
    j.counters.add("levels_set", 3);
    j.checkpoint = Some(serde_json::json!({"location": 2}));
    assert!(store.create_job(&j).await.unwrap());

    let mut other = j.clone();
    other.attempts = 9;
    assert!(
        !store.create_job(&other).await.unwrap(),
        "second create of the same id must be refused"
    );
    assert_eq!(
        store.get_job("DEMO", &j.job_id).await.unwrap(),
        Some(j.clone()),
        "the first record is unchanged"
    );
    assert_eq!(store.get_job("DEMO", "nope").await.unwrap(), None);
    assert_eq!(
        store.get_job("OTHER", &j.job_id).await.unwrap(),
        None,
        "jobs are partitioned by shop"
    );
}

#[tokio::test]
async fn update_job_if_compares_status_and_seq() {
    let store = store("jobcas").await;
    let j = job("DEMO", 1_700_000_000_000, "a");
    assert!(store.create_job(&j).await.unwrap());

    let mut running = j.clone();
    running
        .transition(JobStatus::Running, 1_700_000_010)
        .unwrap();
    running.attempts = 1;
    assert!(
        !store
            .update_job_if(&running, JobStatus::Queued, 1)
            .await
            .unwrap(),
        "stale seq loses"
    );
    assert!(
        !store
            .update_job_if(&running, JobStatus::Running, 0)
            .await
            .unwrap(),
        "wrong status loses"
    );
    assert_eq!(
        store
            .get_job("DEMO", &j.job_id)
            .await
            .unwrap()
            .unwrap()
            .status,
        JobStatus::Queued
    );

    assert!(
        store
            .update_job_if(&running, JobStatus::Queued, 0)
            .await
            .unwrap()
    );
    let stored = store.get_job("DEMO", &j.job_id).await.unwrap().unwrap();
    assert_eq!(stored, running);

    // A duplicate delivery that still believes the job is queued cannot move it again.
    assert!(
        !store
            .update_job_if(&running, JobStatus::Queued, 0)
            .await
            .unwrap()
    );

    // A continuation bumps seq; the old seq is then stale.
    let mut continued = running.clone();
    continued
        .transition(JobStatus::Queued, 1_700_000_020)
        .unwrap();
    continued.seq = 1;
    assert!(
        store
            .update_job_if(&continued, JobStatus::Running, 0)
            .await
            .unwrap()
    );
    assert!(
        !store
            .update_job_if(&running, JobStatus::Running, 0)
            .await
            .unwrap()
    );

    // A job that was never created cannot be updated into existence.
    let ghost = job("DEMO", 1_700_000_000_500, "ghost");
    assert!(
        !store
            .update_job_if(&ghost, JobStatus::Queued, 0)
            .await
            .unwrap()
    );
    assert_eq!(store.get_job("DEMO", &ghost.job_id).await.unwrap(), None);
}

#[tokio::test]
async fn list_jobs_is_newest_first_and_filters_by_status() {
    let store = store("joblist").await;
    let ids = seed_jobs(&store, 12, 3).await;

    let all = store.list_jobs("DEMO", None, 100).await.unwrap();
    let expected: Vec<_> = ids.iter().rev().cloned().collect();
    assert_eq!(
        all.iter().map(|j| j.job_id.clone()).collect::<Vec<_>>(),
        expected
    );

    let newest5 = store.list_jobs("DEMO", None, 5).await.unwrap();
    assert_eq!(
        newest5.iter().map(|j| j.job_id.clone()).collect::<Vec<_>>(),
        expected[..5].to_vec()
    );

    let failed = store
        .list_jobs("DEMO", Some(JobStatus::Failed), 100)
        .await
        .unwrap();
    let expected_failed: Vec<_> = [9, 6, 3, 0].iter().map(|&i| ids[i].clone()).collect();
    assert_eq!(
        failed.iter().map(|j| j.job_id.clone()).collect::<Vec<_>>(),
        expected_failed
    );
    assert!(failed.iter().all(|j| j.status == JobStatus::Failed));

    // Pages of 2 (fewer than asked for): the listing follows LastEvaluatedKey, same answers.
    let paged = store.clone().with_page_size(2);
    let ids_of = |jobs: Vec<JobRecord>| jobs.into_iter().map(|j| j.job_id).collect::<Vec<_>>();
    assert_eq!(
        ids_of(paged.list_jobs("DEMO", None, 100).await.unwrap()),
        expected
    );
    assert_eq!(
        ids_of(paged.list_jobs("DEMO", None, 7).await.unwrap()),
        expected[..7].to_vec()
    );
    assert_eq!(
        ids_of(
            paged
                .list_jobs("DEMO", Some(JobStatus::Failed), 100)
                .await
                .unwrap()
        ),
        expected_failed
    );

    let queued = store
        .list_jobs("DEMO", Some(JobStatus::Queued), 3)
        .await
        .unwrap();
    assert_eq!(
        queued.iter().map(|j| j.job_id.clone()).collect::<Vec<_>>(),
        vec![ids[11].clone(), ids[10].clone(), ids[8].clone()]
    );
    assert!(
        store
            .list_jobs("DEMO", Some(JobStatus::Running), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn leases_exclude_others_until_they_expire() {
    let store = store("lease").await;
    let now = 1_800_000_000;
    assert_eq!(
        store
            .acquire("DEMO", "default", "w1", 60, now)
            .await
            .unwrap(),
        LeaseOutcome::Acquired
    );
    assert_eq!(
        store
            .acquire("DEMO", "default", "w2", 60, now + 10)
            .await
            .unwrap(),
        LeaseOutcome::Held {
            owner: "w1".into(),
            expires_at: now + 60
        }
    );
    // Another category or another shop is independent.
    assert_eq!(
        store
            .acquire("DEMO", "orders", "w2", 60, now)
            .await
            .unwrap(),
        LeaseOutcome::Acquired
    );
    assert_eq!(
        store
            .acquire("OTHER", "default", "w2", 60, now)
            .await
            .unwrap(),
        LeaseOutcome::Acquired
    );

    // Ours: re-acquiring extends it.
    assert_eq!(
        store
            .acquire("DEMO", "default", "w1", 60, now + 20)
            .await
            .unwrap(),
        LeaseOutcome::Acquired
    );
    assert_eq!(
        store
            .acquire("DEMO", "default", "w2", 60, now + 30)
            .await
            .unwrap(),
        LeaseOutcome::Held {
            owner: "w1".into(),
            expires_at: now + 80
        }
    );

    // Heartbeat by the owner extends; by someone else fails. A lease is held up to and
    // including its expires_at second.
    assert!(
        store
            .heartbeat("DEMO", "default", "w1", 100, now + 40)
            .await
            .unwrap()
    );
    assert!(
        !store
            .heartbeat("DEMO", "default", "w2", 100, now + 40)
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .acquire("DEMO", "default", "w2", 60, now + 140)
            .await
            .unwrap(),
        LeaseOutcome::Held {
            owner: "w1".into(),
            expires_at: now + 140
        }
    );

    // Release by a non-owner is a no-op.
    store.release("DEMO", "default", "w2").await.unwrap();
    assert!(
        matches!(store.acquire("DEMO", "default", "w3", 60, now + 50).await.unwrap(), LeaseOutcome::Held { owner, .. } if owner == "w1")
    );

    // Expired: taken over; the old owner can no longer heartbeat or release it.
    assert_eq!(
        store
            .acquire("DEMO", "default", "w2", 60, now + 141)
            .await
            .unwrap(),
        LeaseOutcome::Acquired
    );
    assert!(
        !store
            .heartbeat("DEMO", "default", "w1", 60, now + 142)
            .await
            .unwrap()
    );
    store.release("DEMO", "default", "w1").await.unwrap();
    assert_eq!(
        store
            .acquire("DEMO", "default", "w1", 60, now + 143)
            .await
            .unwrap(),
        LeaseOutcome::Held {
            owner: "w2".into(),
            expires_at: now + 201
        }
    );

    // Released by the owner: free at once.
    store.release("DEMO", "default", "w2").await.unwrap();
    assert_eq!(
        store
            .acquire("DEMO", "default", "w1", 60, now + 144)
            .await
            .unwrap(),
        LeaseOutcome::Acquired
    );
    // Heartbeat on a lease that does not exist fails.
    assert!(
        !store
            .heartbeat("DEMO", "nothing", "w1", 60, now)
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn ledger_begin_is_once_only_and_returns_the_first_payload() {
    let store = store("ledger").await;
    let entry = LedgerEntry {
        key: "inv-DEMO-job1-batch0".into(),
        payload: r#"{"quantities":[{"id":1,"q":5}]}"#.into(),
        payload_sha256: "abc123".into(),
        status: LedgerStatus::Pending,
        result: None,
        created_at: 1_800_000_000,
    };
    assert_eq!(
        store.begin("DEMO", &entry).await.unwrap(),
        LedgerBegin::Started
    );

    let mut retry = entry.clone();
    retry.payload = r#"{"quantities":[{"id":1,"q":6}]}"#.into();
    retry.payload_sha256 = "different".into();
    assert_eq!(
        store.begin("DEMO", &retry).await.unwrap(),
        LedgerBegin::Existing(entry.clone())
    );

    // planned → sent (again: a no-op) → settled; a settled entry is never marked sent again.
    store.mark_sent("DEMO", &entry.key).await.unwrap();
    store.mark_sent("DEMO", &entry.key).await.unwrap();
    let sent = store.get("DEMO", &entry.key).await.unwrap().unwrap();
    assert_eq!(sent.status, LedgerStatus::Sent);
    assert_eq!(sent.payload, entry.payload);
    assert!(matches!(
        store.mark_sent("DEMO", "never-begun").await,
        Err(shopsync_domain::SyncError::Conflict(_))
    ));

    store
        .complete(
            "DEMO",
            &entry.key,
            "gid://shopify/InventoryAdjustmentGroup/7",
        )
        .await
        .unwrap();
    let done = store.get("DEMO", &entry.key).await.unwrap().unwrap();
    assert_eq!(done.status, LedgerStatus::Applied);
    assert_eq!(
        done.result.as_deref(),
        Some("gid://shopify/InventoryAdjustmentGroup/7")
    );
    assert_eq!(done.payload, entry.payload);
    assert_eq!(
        store.begin("DEMO", &retry).await.unwrap(),
        LedgerBegin::Existing(done.clone())
    );
    assert!(matches!(
        store.mark_sent("DEMO", &entry.key).await,
        Err(shopsync_domain::SyncError::Conflict(_))
    ));
    assert_eq!(store.get("DEMO", &entry.key).await.unwrap().unwrap(), done);

    let err = store
        .complete("DEMO", "never-begun", "x")
        .await
        .unwrap_err();
    assert!(matches!(err, SyncError::NotFound(_)), "{err:?}");
    assert_eq!(
        store.get("DEMO", "never-begun").await.unwrap(),
        None,
        "complete must not create an entry"
    );
}

#[tokio::test]
async fn invalid_settings_are_rejected_and_nothing_is_written() {
    let store = store("settings").await;
    let mut json = settings_json("BAD");
    json["can_update_shopify_products"] = true.into();
    json["shopify_can_update_items"] = true.into();
    let invalid: ShopSettings = serde_json::from_value(json).unwrap();

    let err = store.put_shop(&invalid).await.unwrap_err();
    match &err {
        SyncError::Settings(msg) => {
            assert!(
                msg.contains("can_update_shopify_products")
                    && msg.contains("shopify_can_update_items"),
                "{msg}"
            )
        }
        other => panic!("expected a settings error, got {other:?}"),
    }
    assert!(!err.is_retryable());
    assert_eq!(store.get_shop("BAD").await.unwrap(), None);
    assert!(store.list_shops().await.unwrap().is_empty());
}

#[tokio::test]
async fn settings_round_trip_and_list_shops_uses_the_index() {
    let store = store("shops").await;
    for code in ["ZETA", "ALPHA", "MID-1"] {
        store.put_shop(&settings(code)).await.unwrap();
    }
    // Overwrite one; the listing must not duplicate it.
    let mut alpha = settings("ALPHA");
    alpha.enabled = false;
    store.put_shop(&alpha).await.unwrap();
    // Non-settings items of a shop must not show up as shops.
    store
        .create_job(&job("ALPHA", 1_700_000_000_000, "a"))
        .await
        .unwrap();
    store
        .put_schedule(
            "ALPHA",
            TaskKind::SyncInventory,
            &TaskSchedule {
                last_scheduled_at: Some(5),
                last_full_at: None,
            },
        )
        .await
        .unwrap();

    assert_eq!(store.get_shop("ALPHA").await.unwrap(), Some(alpha.clone()));
    let shops = store.list_shops().await.unwrap();
    assert_eq!(
        shops.iter().map(|s| s.code.as_str()).collect::<Vec<_>>(),
        vec!["ALPHA", "MID-1", "ZETA"]
    );
    assert_eq!(shops[0], alpha);
    let paged = store.clone().with_page_size(1).list_shops().await.unwrap();
    assert_eq!(paged, shops);
}

#[tokio::test]
async fn schedules_default_to_never_and_round_trip() {
    let store = store("sched").await;
    assert_eq!(
        store
            .get_schedule("DEMO", TaskKind::SyncInventory)
            .await
            .unwrap(),
        TaskSchedule::default()
    );
    let s = TaskSchedule {
        last_scheduled_at: Some(1_800_000_000),
        last_full_at: Some(1_799_000_000),
    };
    store
        .put_schedule("DEMO", TaskKind::SyncInventory, &s)
        .await
        .unwrap();
    assert_eq!(
        store
            .get_schedule("DEMO", TaskKind::SyncInventory)
            .await
            .unwrap(),
        s
    );
    assert_eq!(
        store
            .get_schedule("DEMO", TaskKind::SyncOrders)
            .await
            .unwrap(),
        TaskSchedule::default()
    );
    let s2 = TaskSchedule {
        last_scheduled_at: Some(1_800_000_900),
        last_full_at: None,
    };
    store
        .put_schedule("DEMO", TaskKind::SyncInventory, &s2)
        .await
        .unwrap();
    assert_eq!(
        store
            .get_schedule("DEMO", TaskKind::SyncInventory)
            .await
            .unwrap(),
        s2
    );
}

#[tokio::test]
async fn skipped_records_list_newest_first() {
    let store = store("skip").await;
    let records: Vec<SkippedRecord> = (0..40)
        .map(|i| SkippedRecord {
            job_id: "job-1".into(),
            task: TaskKind::SyncInventory,
            record_id: format!("gid://shopify/ProductVariant/{i}"),
            reason: format!("no BC item for SKU {i}"),
            at: 1_800_000_000 + i,
        })
        .collect();
    store.record_skipped("DEMO", &records).await.unwrap();
    // Same second twice: both kept.
    store
        .record_skipped("DEMO", &[records[39].clone()])
        .await
        .unwrap();

    let latest = store.list_skipped("DEMO", 3).await.unwrap();
    assert_eq!(
        latest,
        vec![
            records[39].clone(),
            records[39].clone(),
            records[38].clone()
        ]
    );
    let all = store.list_skipped("DEMO", 1000).await.unwrap();
    assert_eq!(all.len(), 41);
    assert_eq!(all.last(), Some(&records[0]));
    assert!(store.list_skipped("OTHER", 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn cursors_only_move_from_the_value_the_writer_read() {
    let store = store("cursors").await;
    assert_eq!(store.get_cursor("DEMO", "orders").await.unwrap(), None);
    assert!(
        store
            .advance_cursor("DEMO", "orders", None, "2026-11-01T00:00:00Z")
            .await
            .unwrap()
    );
    assert!(
        !store
            .advance_cursor("DEMO", "orders", None, "2026-01-01T00:00:00Z")
            .await
            .unwrap(),
        "already set"
    );
    assert!(
        store
            .advance_cursor(
                "DEMO",
                "orders",
                Some("2026-11-01T00:00:00Z"),
                "2026-11-02T00:00:00Z"
            )
            .await
            .unwrap()
    );
    assert!(
        !store
            .advance_cursor(
                "DEMO",
                "orders",
                Some("2026-11-01T00:00:00Z"),
                "2026-11-01T12:00:00Z"
            )
            .await
            .unwrap(),
        "stale writer"
    );
    assert_eq!(
        store.get_cursor("DEMO", "orders").await.unwrap().as_deref(),
        Some("2026-11-02T00:00:00Z")
    );
    assert_eq!(store.get_cursor("OTHER", "orders").await.unwrap(), None);
}

#[tokio::test]
async fn job_pages_follow_their_cursor_to_the_end_without_gaps_or_repeats() {
    let store = store("jobpages").await;
    let ids = seed_jobs(&store, 11, 2).await;
    let newest_first: Vec<String> = ids.iter().rev().cloned().collect();
    let failed_newest_first: Vec<String> = [10, 8, 6, 4, 2, 0]
        .iter()
        .map(|&i| ids[i].clone())
        .collect();

    for (status, expected) in [
        (None, &newest_first),
        (Some(JobStatus::Failed), &failed_newest_first),
    ] {
        for page_size in [1usize, 4, 100] {
            let mut seen = Vec::new();
            let mut before: Option<String> = None;
            let mut pages = 0;
            loop {
                let page = store
                    .list_jobs_page("DEMO", status, page_size, before.as_deref())
                    .await
                    .unwrap();
                assert!(page.jobs.len() <= page_size);
                pages += 1;
                seen.extend(page.jobs.iter().map(|j| j.job_id.clone()));
                match page.next_before {
                    Some(next) => before = Some(next),
                    None => break,
                }
                assert!(pages <= 20, "cursor does not advance");
            }
            assert_eq!(&seen, expected, "status {status:?}, pages of {page_size}");
            assert_eq!(pages, expected.len().div_ceil(page_size).max(1));
        }
    }
}

/// `count` jobs of shop DEMO one second apart (every `failed_every`-th failed) and one job of shop
/// OTHER; returns DEMO's job ids, oldest first.
async fn seed_jobs(store: &DynamoStore, count: i64, failed_every: i64) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..count {
        let mut j = job("DEMO", 1_700_000_000_000 + i * 1000, &format!("n{i}"));
        store.create_job(&j).await.unwrap();
        if i % failed_every == 0 {
            let seq = j.seq;
            j.transition(JobStatus::Failed, 1_700_000_100).unwrap();
            assert!(
                store
                    .update_job_if(&j, JobStatus::Queued, seq)
                    .await
                    .unwrap()
            );
        }
        ids.push(j.job_id.clone());
    }
    store
        .create_job(&job("OTHER", 1_700_000_999_000, "x"))
        .await
        .unwrap();
    ids
}
