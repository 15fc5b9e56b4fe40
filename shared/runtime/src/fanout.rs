//! Scheduled fan-out: one queued job and one message per shop whose task is enabled and due.
//!
//! The tick's time makes the job id, so a duplicate delivery of the same tick finds its jobs already
//! there and only re-sends the message of a job still waiting at its first message (a send that was
//! lost). Messages go out with `SendMessageBatch`, 10 a call. No sync work happens here. Each job
//! whose message went out is recorded as its shop's waiting job of the task, so a manual run asked
//! for while it waits joins it instead of queuing another.

use crate::App;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use shopsync_domain::ErrorKind;
use shopsync_domain::job::{
    JobError, JobMessage, JobRecord, JobStatus, RunOptions, Trigger, job_id,
};
use shopsync_domain::ports::TaskSchedule;
use shopsync_domain::settings::ShopSettings;
use shopsync_domain::time::now_secs;
use tracing::{info, warn};

#[derive(Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct FanOutReport {
    pub task: String,
    /// Jobs queued, as (shop, job id).
    pub queued: Vec<(String, String)>,
    /// Shops not due yet, disabled, or not allowed to receive data.
    pub not_due: Vec<String>,
    /// Shops whose job could not be created or sent, with the error.
    pub errors: Vec<(String, String)>,
}

enum Decision {
    NotDue(String),
    Error(String, String),
    /// Send this job's message, then record this schedule.
    Queue(Box<JobRecord>, TaskSchedule, bool),
}

/// Whether one shop is due, and if so its queued job (created here, conditionally).
async fn decide(app: &App, shop: ShopSettings, tick_millis: i64) -> Decision {
    let task = app.runner.task();
    let code = shop.code.clone();
    let tick_secs = tick_millis / 1000;
    if !shop.enabled
        || !shop.task(task).enabled
        || (task.spec().idle_without_outgoing_requests() && !shop.allow_outgoing_requests)
    {
        return Decision::NotDue(code);
    }
    let schedule = match app.schedules.get_schedule(&code, task).await {
        Ok(s) => s,
        Err(e) => return Decision::Error(code, e.to_string()),
    };
    // A little slack so a cron tick that fires a few seconds early still counts as due.
    let interval = i64::from(shop.task_interval_minutes(task)) * 60 - 30;
    if schedule
        .last_scheduled_at
        .is_some_and(|last| tick_secs - last < interval)
    {
        return Decision::NotDue(code);
    }
    let full_every = i64::from(shop.task_full_interval_minutes(task)) * 60;
    let full = full_every > 0
        && schedule
            .last_full_at
            .is_none_or(|last| tick_secs - last >= full_every - 30);
    let id = job_id(task, tick_millis, &code);
    let job = JobRecord::new_queued(
        &code,
        &id,
        task,
        Trigger::Schedule,
        RunOptions {
            full,
            ..RunOptions::default()
        },
        now_secs(),
    );
    let send = match app.jobs.create_job(&job).await {
        Ok(true) => true,
        // Same tick delivered twice: re-send only if the job still waits for its first message.
        Ok(false) => {
            matches!(app.jobs.get_job(&code, &id).await, Ok(Some(j)) if j.status == JobStatus::Queued && j.seq == 0)
        }
        Err(e) => return Decision::Error(code, e.to_string()),
    };
    if !send {
        return Decision::NotDue(code);
    }
    // A full run is recorded when it is queued, so the next ticks do not queue another while it runs;
    // the worker clears the mark if the full run fails.
    let next = TaskSchedule {
        last_scheduled_at: Some(tick_secs),
        last_full_at: if full {
            Some(tick_secs)
        } else {
            schedule.last_full_at
        },
    };
    Decision::Queue(Box::new(job), next, full)
}

/// Queue a job for every due shop.
pub async fn fan_out(app: &App, tick_millis: i64) -> FanOutReport {
    let task = app.runner.task();
    let mut report = FanOutReport {
        task: task.to_string(),
        ..Default::default()
    };
    let shops = match app.settings.list_shops().await {
        Ok(s) => s,
        Err(e) => {
            report.errors.push(("*".into(), e.to_string()));
            return report;
        }
    };
    // Shops are looked at concurrently (each needs a few DynamoDB calls), in a bounded window.
    let decisions: Vec<Decision> = futures_util::stream::iter(shops)
        .map(|shop| decide(app, shop, tick_millis))
        .buffered(16)
        .collect()
        .await;
    let mut pending: Vec<(JobRecord, TaskSchedule, bool)> = Vec::new();
    for decision in decisions {
        match decision {
            Decision::NotDue(code) => report.not_due.push(code),
            Decision::Error(code, e) => report.errors.push((code, e)),
            Decision::Queue(job, schedule, full) => pending.push((*job, schedule, full)),
        }
    }

    let messages: Vec<JobMessage> = pending.iter().map(|(j, _, _)| j.message()).collect();
    let failed = match app.queue.send_batch(&messages).await {
        Ok(failed) => failed,
        Err(e) => (0..messages.len())
            .inspect(|_| warn!(error = %e, "batch send failed"))
            .collect(),
    };
    for (i, (mut job, schedule, full)) in pending.into_iter().enumerate() {
        let msg = job.message();
        if failed.contains(&i) {
            // Without a message the job would wait forever: close it; the next tick queues a new one.
            job.error = Some(JobError {
                kind: ErrorKind::Storage,
                message: "the job message could not be sent to the task queue".into(),
            });
            if job.transition(JobStatus::Failed, now_secs()).is_ok() {
                let _ = app.jobs.update_job_if(&job, JobStatus::Queued, 0).await;
            }
            report.errors.push((
                msg.shop.clone(),
                "could not send the job message; the next tick retries".into(),
            ));
            continue;
        }
        if let Err(e) = app.schedules.put_schedule(&msg.shop, task, &schedule).await {
            warn!(shop = %msg.shop, error = %e, "could not record the schedule");
        }
        // Manual runs of the same task and options join this job while it waits.
        if let Err(e) = app.jobs.record_waiting_job(&job).await {
            warn!(shop = %msg.shop, error = %e, "could not record the job as the waiting one");
        }
        info!(shop = %msg.shop, job_id = %msg.job_id, full, "job queued");
        report.queued.push((msg.shop, msg.job_id));
    }
    report
}
