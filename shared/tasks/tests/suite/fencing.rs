//! Fenced runs: a run paused past its lease while another run takes its job over writes nothing
//! after the takeover — no checkpoint, no ledger entry, no record — and stops with the typed
//! `SyncError::Fenced` before its next effect.
//!
//! The takeover is what the worker does when a lease expired: the job goes `running` again with the
//! next epoch. The paused run is an engine run whose first `send` waits on a gate; its checkpoints go
//! through the job store's conditional write exactly as the worker's do.

use async_trait::async_trait;
use serde_json::{Value, json};
use shopsync_domain::catalogue::System;
use shopsync_domain::job::{JobCounters, JobRecord, JobStatus, RunOptions, Trigger};
use shopsync_domain::ports::{JobStore, Record, RecordStore, Result};
use shopsync_domain::settings::ShopSettings;
use shopsync_domain::{SyncError, TaskKind};
use shopsync_tasks::engine::{
    self, Effect, EffectKind, EnginePorts, Planned, Settled, Task, TaskRun,
};
use shopsync_tasks::{Progress, RunContext, RunOutcome};
use shopsync_test_support::MemoryStore;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

const KIND: &str = "fencing-test";

/// Three effects; the first `send` of the process waits until the test opens the gate.
struct PausedOnce {
    entered: Arc<Notify>,
    gate: Arc<Notify>,
    pause_next: AtomicBool,
    sent: Mutex<Vec<String>>,
}

#[async_trait]
impl Task for PausedOnce {
    type State = ();

    fn kind(&self) -> TaskKind {
        TaskKind::CreateSalesOrders
    }

    async fn plan(&self, _run: &mut TaskRun<'_>, _state: &mut ()) -> Result<Planned> {
        Ok(Planned::last(
            ["a", "b", "c"]
                .iter()
                .map(|n| {
                    Effect::new(
                        EffectKind::Replayable,
                        System::Bc,
                        format!("document {n}"),
                        json!({ "n": n }),
                    )
                })
                .collect(),
        ))
    }

    async fn send(&self, _run: &mut TaskRun<'_>, effect: &Effect, _key: &str) -> Result<Value> {
        if self.pause_next.swap(false, Ordering::SeqCst) {
            self.entered.notify_one();
            self.gate.notified().await;
        }
        self.sent.lock().unwrap().push(effect.label.clone());
        Ok(json!({ "done": effect.label }))
    }

    async fn settle(
        &self,
        run: &mut TaskRun<'_>,
        _state: &mut (),
        effect: &Effect,
        _outcome: &Value,
    ) -> Result<Settled> {
        let record = Record::new(effect.label.clone(), Some("created"), "{}");
        run.stores
            .records
            .put_records(run.shop(), KIND, &[record])
            .await?;
        Ok(Settled::default())
    }
}

/// Checkpoints saved on the stored job, conditional as the worker's are.
struct StoredJob {
    store: MemoryStore,
    job: Mutex<JobRecord>,
}

#[async_trait]
impl Progress for StoredJob {
    async fn checkpoint(&self, checkpoint: &Value, _counters: &JobCounters) -> Result<()> {
        let current = self.job.lock().unwrap().clone();
        let mut next = current.clone();
        next.checkpoint = Some(checkpoint.clone());
        if !self
            .store
            .update_job_if(&next, JobStatus::Running, current.seq)
            .await?
        {
            return Err(SyncError::Fenced {
                job_id: current.job_id,
            });
        }
        *self.job.lock().unwrap() = next;
        Ok(())
    }

    fn deadline_near(&self) -> bool {
        false
    }
}

fn settings() -> ShopSettings {
    ShopSettings::from_json(
        &json!({
            "code": "FE",
            "shopify": {"store_domain": "fe.myshopify.com", "access_token_secret_id": "shopsync/FE/shopify"},
            "bc": {"tenant": "contoso", "environment": "production",
                   "company_id": "5d5d2b5a-6a47-4d36-9a55-4f4c0f0e1a01", "credentials_secret_id": "shopsync/FE/bc"}
        })
        .to_string(),
    )
    .unwrap()
}

async fn run_once(
    task: &PausedOnce,
    ports: &EnginePorts,
    settings: &ShopSettings,
    progress: &StoredJob,
) -> Result<RunOutcome> {
    let job = progress.job.lock().unwrap().clone();
    let clients = common::no_clients();
    let mut ctx = RunContext {
        settings,
        job: &job,
        progress,
        counters: JobCounters::default(),
    };
    engine::run(task, ports, &clients, &mut ctx).await
}

mod common {
    include!("support/no_clients.rs");
}

/// A job of shop FE, stored and started (epoch 1), as the worker leaves it when its run begins.
async fn running_job(store: &MemoryStore, id: &str) -> JobRecord {
    let mut job = JobRecord::new_queued(
        "FE",
        id,
        TaskKind::CreateSalesOrders,
        Trigger::Schedule,
        RunOptions::default(),
        1_764_370_000,
    );
    store.create_job(&job).await.unwrap();
    job.transition(JobStatus::Running, 1_764_370_001).unwrap();
    assert!(
        store
            .update_job_if(&job, JobStatus::Queued, 0)
            .await
            .unwrap()
    );
    job
}

#[tokio::test]
async fn a_run_paused_past_its_lease_writes_nothing_after_another_run_took_its_job_over() {
    let store = MemoryStore::new();
    let settings = settings();
    let ports = EnginePorts::new(Arc::new(store.clone()));
    let task = Arc::new(PausedOnce {
        entered: Arc::new(Notify::new()),
        gate: Arc::new(Notify::new()),
        pause_next: AtomicBool::new(true),
        sent: Mutex::default(),
    });

    let job = running_job(&store, "1764370000000-create-sales-orders-FE").await;

    // Run A: plans, then pauses inside its first send.
    let paused = {
        let (task, ports, settings, store) =
            (task.clone(), ports.clone(), settings.clone(), store.clone());
        let progress = StoredJob {
            store,
            job: Mutex::new(job.clone()),
        };
        tokio::spawn(async move { run_once(&task, &ports, &settings, &progress).await })
    };
    task.entered.notified().await;

    // The lease expired: run B takes the job over in the next epoch and finishes it.
    let mut taken = store.job("FE", &job.job_id).unwrap();
    let seq = taken.seq;
    taken.transition(JobStatus::Running, 1_764_370_400).unwrap();
    assert_eq!(taken.epoch, job.epoch + 1);
    assert!(
        store
            .update_job_if(&taken, JobStatus::Running, seq)
            .await
            .unwrap()
    );
    let takeover = StoredJob {
        store: store.clone(),
        job: Mutex::new(taken),
    };
    let outcome = run_once(&task, &ports, &settings, &takeover).await.unwrap();
    assert!(
        matches!(outcome, RunOutcome::Finished { .. }),
        "{outcome:?}"
    );
    let writes_after_takeover = store.writes().len();
    let job_after_takeover = store.job("FE", &job.job_id).unwrap();

    // Run A wakes up: its answer arrives, and every write it tries is refused.
    task.gate.notify_one();
    let result = paused.await.unwrap();
    assert!(
        matches!(result, Err(SyncError::Fenced { ref job_id }) if *job_id == job.job_id),
        "{result:?}"
    );
    assert_eq!(
        store.writes().len(),
        writes_after_takeover,
        "the paused run wrote after the takeover: {:?}",
        &store.writes()[writes_after_takeover..]
    );
    assert_eq!(store.job("FE", &job.job_id).unwrap(), job_after_takeover);
    // Each document was settled once, by the run that owns the job.
    let records = store
        .list_records("FE", KIND, None, 100)
        .await
        .unwrap()
        .records;
    assert_eq!(records.len(), 3);
    assert!(records.iter().all(|r| r.version == 1), "{records:?}");
}

#[tokio::test]
async fn a_run_whose_heartbeat_lost_the_lease_stops_before_its_next_effect() {
    struct LostLease(StoredJob);
    #[async_trait]
    impl Progress for LostLease {
        async fn checkpoint(&self, checkpoint: &Value, counters: &JobCounters) -> Result<()> {
            self.0.checkpoint(checkpoint, counters).await
        }
        fn deadline_near(&self) -> bool {
            false
        }
        fn lease_lost(&self) -> bool {
            true
        }
    }
    let store = MemoryStore::new();
    let job = running_job(&store, "1764370000001-create-sales-orders-FE").await;
    let task = PausedOnce {
        entered: Arc::new(Notify::new()),
        gate: Arc::new(Notify::new()),
        pause_next: AtomicBool::new(false),
        sent: Mutex::default(),
    };
    let progress = LostLease(StoredJob {
        store: store.clone(),
        job: Mutex::new(job.clone()),
    });
    let clients = common::no_clients();
    let ports = EnginePorts::new(Arc::new(store.clone()));
    let settings = settings();
    let mut ctx = RunContext {
        settings: &settings,
        job: &job,
        progress: &progress,
        counters: JobCounters::default(),
    };
    let result = engine::run(&task, &ports, &clients, &mut ctx).await;
    assert!(
        matches!(result, Err(SyncError::Fenced { .. })),
        "{result:?}"
    );
    assert!(task.sent.lock().unwrap().is_empty(), "nothing was sent");
}
