//! Jobs in the end-to-end tests: a scheduled tick and its queue drained, a manual run queued as the
//! api function queues one, a shop's jobs of one task and a counter summed over them.

use crate::{Stack, tick_at};
use shopsync_domain::TaskKind;
use shopsync_domain::job::{JobRecord, RunOptions, Trigger};
use shopsync_domain::ports::JobStore;
use shopsync_runtime::local::LocalRunner;
use std::time::Duration;

/// One scheduled tick of `runner`'s task at `minutes`, which must queue exactly `shops` jobs, then
/// its queue drained within `timeout`.
pub async fn tick_and_drain(runner: &LocalRunner, minutes: i64, shops: usize, timeout: Duration) {
    let report = runner.tick(tick_at(minutes)).await;
    assert_eq!(report.queued.len(), shops, "{report:?}");
    runner.drain(timeout).await.expect("the queue drains");
}

/// A manual run of `task` for `code` (as the api function queues one): a `queued` job and its
/// message on `runner`'s queue, then the queue drained within `timeout`. Returns the job's id.
pub async fn queue_manual_run(
    stack: &Stack,
    runner: &LocalRunner,
    code: &str,
    task: TaskKind,
    options: RunOptions,
    timeout: Duration,
) -> String {
    let id = shopsync_domain::job::job_id(task, shopsync_domain::time::now_millis(), "manual");
    let job = JobRecord::new_queued(
        code,
        &id,
        task,
        Trigger::Manual,
        options,
        shopsync_domain::time::now_secs(),
    );
    assert!(stack.adapters.store.create_job(&job).await.unwrap());
    aws_sdk_sqs::Client::new(&stack.sdk)
        .send_message()
        .queue_url(&runner.queue_url)
        .message_body(serde_json::to_string(&job.message()).unwrap())
        .send()
        .await
        .expect("queue the manual run");
    runner.drain(timeout).await.expect("the queue drains");
    id
}

/// The shop's jobs of `task`, newest first.
pub async fn jobs_of(stack: &Stack, code: &str, task: TaskKind) -> Vec<JobRecord> {
    stack
        .jobs(code)
        .await
        .into_iter()
        .filter(|j| j.task == task)
        .collect()
}

/// A counter summed over jobs.
pub fn total(jobs: &[JobRecord], counter: &str) -> u64 {
    jobs.iter().map(|j| j.counters.get(counter)).sum()
}
