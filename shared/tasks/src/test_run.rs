//! The engine-run fixture the task tests share: a job of a task for one shop, run by
//! [`engine::run`] one invocation at a time from the checkpoint the previous one saved (as the
//! runtime does after a deadline or a crash), with the counters of every invocation summed.
//!
//! A task's tests keep their own doubles of the APIs and hand their clients to a [`TaskHarness`];
//! their fixture holds the harness in a field `harness` and [`deref_to_harness!`] lets the tests
//! read the fixture's store, settings, job, saved checkpoint and counters as its own.
//!
//! It lives here rather than in `shopsync-test-support` because it runs the engine of this crate,
//! and that crate is a dev-dependency of this one.

use crate::engine::{self, EnginePorts, ShopClients, Task};
use crate::{Progress, RunContext, RunOutcome};
use async_trait::async_trait;
use serde_json::Value;
use shopsync_domain::TaskKind;
use shopsync_domain::job::{JobCounters, JobRecord, RunOptions, Trigger};
use shopsync_domain::ports::{JobStore, Result};
use shopsync_domain::settings::ShopSettings;
use shopsync_test_support::MemoryStore;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// How many invocations [`TaskHarness::until_finished`] allows a job unless told otherwise.
pub(crate) const MAX_INVOCATIONS: usize = 50;

/// Checkpoints kept in memory; `deadline` makes every invocation stop after one step.
#[derive(Default)]
pub(crate) struct Saved {
    pub(crate) checkpoint: Mutex<Option<Value>>,
    pub(crate) deadline: AtomicBool,
}

#[async_trait]
impl Progress for Saved {
    async fn checkpoint(&self, checkpoint: &Value, _counters: &JobCounters) -> Result<()> {
        *self.checkpoint.lock().unwrap() = Some(checkpoint.clone());
        Ok(())
    }
    fn deadline_near(&self) -> bool {
        self.deadline.load(Ordering::Relaxed)
    }
}

/// A shop's settings and store, the clients of a test's doubles, and the job that runs a task for
/// the shop.
pub(crate) struct TaskHarness {
    pub(crate) store: MemoryStore,
    pub(crate) settings: ShopSettings,
    pub(crate) job: JobRecord,
    pub(crate) saved: Saved,
    /// Counters of every invocation of the current job, summed.
    pub(crate) counters: JobCounters,
    /// How many invocations [`TaskHarness::until_finished`] allows a job.
    pub(crate) max_invocations: usize,
    pub(crate) clients: ShopClients,
    ports: EnginePorts,
}

impl TaskHarness {
    /// The shop of `settings` on `store`, its tasks calling `clients`. No job has started: `job` is
    /// a placeholder of `task`, not stored, until [`TaskHarness::next_job`].
    pub(crate) fn new(
        store: MemoryStore,
        clients: ShopClients,
        settings: ShopSettings,
        task: TaskKind,
    ) -> TaskHarness {
        TaskHarness {
            ports: EnginePorts::new(Arc::new(store.clone())),
            clients,
            job: JobRecord::new_queued(
                &settings.code,
                "placeholder",
                task,
                Trigger::Schedule,
                RunOptions::default(),
                0,
            ),
            store,
            settings,
            saved: Saved::default(),
            counters: JobCounters::default(),
            max_invocations: MAX_INVOCATIONS,
        }
    }

    /// Start job `n` of `task` (a new scheduled run, stored): no checkpoint, counters from zero.
    pub(crate) async fn next_job(&mut self, task: TaskKind, n: u32) {
        let shop = &self.settings.code;
        self.job = JobRecord::new_queued(
            shop,
            &format!("17643700{n:05}-{task}-{shop}"),
            task,
            Trigger::Schedule,
            RunOptions::default(),
            1_764_370_000 + i64::from(n),
        );
        self.store.create_job(&self.job).await.unwrap();
        *self.saved.checkpoint.lock().unwrap() = None;
        self.counters = JobCounters::default();
    }

    /// One invocation of `task`, resuming from the last saved checkpoint; its counters are added to
    /// [`TaskHarness::counters`].
    pub(crate) async fn invoke<T: Task>(&mut self, task: &T) -> Result<RunOutcome> {
        self.job.checkpoint = self.saved.checkpoint.lock().unwrap().clone();
        self.job.attempts += 1;
        let mut ctx = RunContext {
            settings: &self.settings,
            job: &self.job,
            progress: &self.saved,
            counters: JobCounters::default(),
        };
        let result = engine::run(task, &self.ports, &self.clients, &mut ctx).await;
        for (name, value) in &ctx.counters.values {
            self.counters.add(name, *value);
        }
        result
    }

    /// Invocations of the current job of `task` until it finishes: whether it finished with
    /// warnings. Panics when an invocation fails, when the run is skipped, or when it has not
    /// finished after [`TaskHarness::max_invocations`].
    pub(crate) async fn until_finished<T: Task>(&mut self, task: &T) -> bool {
        for _ in 0..self.max_invocations {
            match self.invoke(task).await.unwrap() {
                RunOutcome::Finished { warnings } => return warnings,
                RunOutcome::Continue { .. } => continue,
                RunOutcome::Skipped { reason } => panic!("skipped: {reason}"),
            }
        }
        panic!(
            "the run did not finish in {} invocations",
            self.max_invocations
        )
    }

    /// Invocations of the current job of `task` until it finishes: the job's counters.
    pub(crate) async fn finish<T: Task>(&mut self, task: &T) -> JobCounters {
        self.until_finished(task).await;
        self.counters.clone()
    }

    /// A whole run of `task` as new job `n`: invocations until it finishes, the job's counters.
    pub(crate) async fn run<T: Task>(&mut self, task: &T, n: u32) -> JobCounters {
        self.next_job(task.kind(), n).await;
        self.finish(task).await
    }
}

/// Implements `Deref` and `DerefMut` to [`TaskHarness`] for a task's test fixture that holds its
/// harness in the field `harness`: the tests read and change `f.settings`, `f.job`, `f.saved`,
/// `f.counters` and `f.store` of the fixture `f`. The fixture's own methods (an `invoke` or `run`
/// of its task) come before the harness's of the same name.
macro_rules! deref_to_harness {
    ($ty:ty) => {
        impl std::ops::Deref for $ty {
            type Target = $crate::test_run::TaskHarness;
            fn deref(&self) -> &Self::Target {
                &self.harness
            }
        }

        impl std::ops::DerefMut for $ty {
            fn deref_mut(&mut self) -> &mut Self::Target {
                &mut self.harness
            }
        }
    };
}
pub(crate) use deref_to_harness;
