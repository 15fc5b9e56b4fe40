//! Run-path guarantees that hold for every task: no job is left `running` or `queued` with nothing
//! behind it. Each scenario runs the real worker against moto and the simulators.

use shopsync_domain::job::JobStatus;
use shopsync_domain::ports::{JobStore, LeaseStore};
use shopsync_e2e::{Stack, StackOptions, bc_quantity, tick_at};
use shopsync_runtime::RuntimeConfig;
use std::time::Duration;

const DRAIN: Duration = Duration::from_secs(240);

/// Move the shop's newest job to `running` with `attempts`, as a run that started and then died
/// leaves it; returns it.
async fn left_running(stack: &Stack, shop: &str, attempts: u32) -> shopsync_domain::JobRecord {
    let mut job = stack.jobs(shop).await.remove(0);
    let (status, seq) = (job.status, job.seq);
    job.transition(JobStatus::Running, shopsync_domain::time::now_secs())
        .unwrap();
    job.attempts = attempts;
    assert!(
        stack
            .adapters
            .store
            .update_job_if(&job, status, seq)
            .await
            .unwrap()
    );
    job
}

/// Receive the one message on the task queue as the event of its `receive_count`th delivery, and
/// take it off the queue (the local runner would otherwise redeliver it while the test holds it).
async fn receive_as_event(
    stack: &Stack,
    receive_count: u32,
) -> aws_lambda_events::event::sqs::SqsEvent {
    let (event, handle) = stack.receive_as_event(receive_count).await;
    aws_sdk_sqs::Client::new(&stack.sdk)
        .delete_message()
        .queue_url(&stack.runner.queue_url)
        .receipt_handle(handle)
        .send()
        .await
        .unwrap();
    event
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_job_whose_lease_another_job_holds_is_deferred_not_dropped() {
    let opts = StackOptions {
        runtime: RuntimeConfig {
            deferral_delay_secs: 1,
            ..shopsync_e2e::local_runtime()
        },
        ..StackOptions::default()
    };
    let max_receive_count = opts.runtime.max_receive_count;
    let stack = Stack::start(opts).await.expect("local stack");
    let shop = stack.seed_shop("ORPH", 20).await.unwrap();
    stack.runner.tick(tick_at(0)).await;

    // The job's first run died after it started (job `running`), its lease expired, and another job
    // of the same category took the lease. Then the job's message comes back on its last receive.
    let store = stack.adapters.store.clone();
    left_running(&stack, "ORPH", 1).await;
    let now = shopsync_domain::time::now_secs();
    let other = "1764370000000-sync-products-otherrun#r1";
    store
        .acquire("ORPH", "default", other, 60, now)
        .await
        .unwrap();
    let event = receive_as_event(&stack, max_receive_count).await;
    let response = shopsync_runtime::worker::handle_batch(
        &stack.app,
        event,
        std::time::Instant::now() + Duration::from_secs(900),
    )
    .await;
    assert!(response.batch_item_failures.is_empty());
    let job = &stack.jobs("ORPH").await[0];
    assert_eq!(
        job.status,
        JobStatus::Deferred,
        "the job waits for the lease with a message behind it"
    );

    // The other job finishes; the deferred job then runs to the end.
    store.release("ORPH", "default", other).await.unwrap();
    stack.runner.drain(DRAIN).await.unwrap();
    let job = &stack.jobs("ORPH").await[0];
    assert_eq!(job.status, JobStatus::Succeeded, "{:?}", job.error);
    assert_eq!(shop.levels_off(&stack, |i, l| bc_quantity(i, l) as i64), 0);
    assert!(stack.dead_letters().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retryable_failure_comes_back_in_seconds_not_after_the_queues_visibility_timeout() {
    // The stack's queue keeps a received message invisible for 30 s; the retry clock (1-2 s here)
    // must bring a failed message back long before that.
    let stack = Stack::start(StackOptions::default())
        .await
        .expect("local stack");
    stack.seed_shop("RETRY", 10).await.unwrap();
    stack.runner.tick(tick_at(0)).await;
    let (event, _) = stack.receive_as_event(1).await;

    stack.bc.set_faults(bc_sim::BcFaults::new(1.0, 7));
    let response = shopsync_runtime::worker::handle_batch(
        &stack.app,
        event,
        std::time::Instant::now() + Duration::from_secs(900),
    )
    .await;
    assert_eq!(response.batch_item_failures.len(), 1, "BC is down: retry");
    stack.bc.set_faults(bc_sim::BcFaults::none());

    // Bounded wait (10 s) far below the queue's 30 s visibility timeout.
    let again = aws_sdk_sqs::Client::new(&stack.sdk)
        .receive_message()
        .queue_url(&stack.runner.queue_url)
        .wait_time_seconds(10)
        .send()
        .await
        .unwrap();
    assert_eq!(
        again.messages.unwrap_or_default().len(),
        1,
        "the failed message is back within seconds"
    );
}

/// A stack with the status function's service, sweeping jobs as soon as they are quiet.
async fn sweeping_stack() -> (
    shopsync_e2e::api_stack::ApiStack,
    shopsync_status::StatusService,
) {
    let s =
        shopsync_e2e::api_stack::ApiStack::start(StackOptions::default(), Duration::from_secs(20))
            .await
            .expect("local stack");
    let status = (*s.status).clone().with_orphan_after(0, 0);
    (s, status)
}

/// Take every queued message off the task queue (they are "lost").
async fn lose_the_message(stack: &Stack) {
    let sqs = aws_sdk_sqs::Client::new(&stack.sdk);
    for _ in 0..10 {
        let got = sqs
            .receive_message()
            .queue_url(&stack.runner.queue_url)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        let messages = got.messages.unwrap_or_default();
        if messages.is_empty() {
            return;
        }
        for m in messages {
            sqs.delete_message()
                .queue_url(&stack.runner.queue_url)
                .receipt_handle(m.receipt_handle.unwrap())
                .send()
                .await
                .unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_run_wakes_jobs_left_with_nothing_behind_them() {
    let (s, status) = sweeping_stack().await;
    let stack = &s.stack;
    let store = stack.adapters.store.clone();

    // One tick queues a job for each of three shops; every message is then lost.
    let dead = stack.seed_shop("DEAD", 10).await.unwrap();
    let lost = stack.seed_shop("LOST", 10).await.unwrap();
    stack.seed_shop("LIVE", 10).await.unwrap();
    stack.runner.tick(tick_at(0)).await;
    lose_the_message(stack).await;

    // DEAD: a run that died on its last delivery (or a foreground run killed with the api
    // function): the job is `running`, no lease of its own is alive, no message is left.
    let job = left_running(stack, "DEAD", 1).await;

    // LOST: a queued job whose message was lost.
    // LIVE: a running job whose run is alive (its own live lease) is left alone.
    let live = left_running(stack, "LIVE", 0).await;
    let owner = format!("{}#alive", live.job_id);
    store
        .acquire(
            "LIVE",
            "default",
            &owner,
            600,
            shopsync_domain::time::now_secs(),
        )
        .await
        .unwrap();

    let report = status
        .status_run(shopsync_domain::time::now_secs() + 1)
        .await
        .unwrap();
    let mut resumed = report.jobs_resumed.clone();
    resumed.sort();
    assert_eq!(
        resumed,
        vec![
            format!("DEAD/{}", job.job_id),
            format!("LOST/{}", stack.jobs("LOST").await[0].job_id)
        ]
    );
    stack.runner.drain(DRAIN).await.unwrap();
    for (code, shop) in [("DEAD", &dead), ("LOST", &lost)] {
        let job = &stack.jobs(code).await[0];
        assert_eq!(job.status, JobStatus::Succeeded, "{code}: {:?}", job.error);
        assert_eq!(shop.levels_off(stack, |i, l| bc_quantity(i, l) as i64), 0);
    }
    assert_eq!(stack.jobs("LIVE").await[0].status, JobStatus::Running);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_whose_runs_keep_dying_is_failed_by_the_sweep_not_woken_forever() {
    let (s, status) = sweeping_stack().await;
    let stack = &s.stack;
    stack.seed_shop("DOOM", 5).await.unwrap();
    stack.runner.tick(tick_at(0)).await;
    lose_the_message(stack).await;
    let job = left_running(stack, "DOOM", shopsync_status::MAX_SWEEP_ATTEMPTS).await;
    let report = status
        .status_run(shopsync_domain::time::now_secs() + 1)
        .await
        .unwrap();
    assert!(report.jobs_resumed.is_empty());
    assert_eq!(report.jobs_failed, vec![format!("DOOM/{}", job.job_id)]);
    let job = &stack.jobs("DOOM").await[0];
    assert_eq!(job.status, JobStatus::Failed);
    assert!(job.error.as_ref().unwrap().message.contains("abandoned"));
}
