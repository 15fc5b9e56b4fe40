//! What each task invocation tells CloudWatch, as one Embedded Metric Format line on stdout (Lambda
//! ships stdout to CloudWatch Logs, which turns the line into metrics: no `PutMetricData` call, no
//! extra permission). Namespace `Shopsync`, dimension `Task`; the dashboard in infra/template.yaml
//! reads these with SEARCH expressions, so a new task appears without editing it.
//!
//! Per invocation: `CostPointsUsed` (Shopify `actualQueryCost`), `ThrottleWaitMs` (time spent waiting
//! for the store's cost bucket), `RunDurationMs`. When the invocation ends the job: one of
//! `JobsSucceeded`, `JobsSucceededWithWarnings`, `JobsFailed`, `JobsSkipped`.

use serde_json::Value;
use shopsync_domain::{JobStatus, TaskKind};
use shopsync_status::emf::{NAMESPACE, emf_document_with_units};

/// The dimension of task metrics.
pub const TASK_DIMENSION: &str = "Task";

/// Where metric lines go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricsSink {
    /// stdout, for CloudWatch (the functions).
    Stdout,
    /// Nowhere (local runs and tests, whose stdout is for people).
    Off,
}

/// One invocation's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct InvocationFigures {
    pub task: TaskKind,
    pub cost_points: f64,
    pub throttle_wait_ms: u64,
    pub run_ms: u64,
    /// The job's final status, when this invocation ended it.
    pub finished: Option<JobStatus>,
}

/// The EMF document of one invocation.
pub fn invocation_document(timestamp_ms: i64, f: &InvocationFigures) -> Value {
    let mut metrics = vec![
        (
            "CostPointsUsed".to_string(),
            f.cost_points.max(0.0).round() as u64,
            "Count",
        ),
        (
            "ThrottleWaitMs".to_string(),
            f.throttle_wait_ms,
            "Milliseconds",
        ),
        ("RunDurationMs".to_string(), f.run_ms, "Milliseconds"),
    ];
    let finished = match f.finished {
        Some(JobStatus::Succeeded) => Some("JobsSucceeded"),
        Some(JobStatus::SucceededWithWarnings) => Some("JobsSucceededWithWarnings"),
        Some(JobStatus::Failed) => Some("JobsFailed"),
        Some(JobStatus::Skipped) => Some("JobsSkipped"),
        _ => None,
    };
    if let Some(name) = finished {
        metrics.push((name.to_string(), 1, "Count"));
    }
    emf_document_with_units(
        timestamp_ms,
        NAMESPACE,
        &[(TASK_DIMENSION, f.task.name())],
        &metrics,
    )
}

/// Emit one invocation's line to `sink`.
pub fn emit(sink: MetricsSink, figures: &InvocationFigures) {
    if sink == MetricsSink::Stdout {
        let doc = invocation_document(shopsync_domain::time::now_millis(), figures);
        println!("{doc}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_invocation_that_ends_a_job_counts_it_with_its_cost_and_times() {
        let doc = invocation_document(
            1_795_000_000_000,
            &InvocationFigures {
                task: TaskKind::SyncInventory,
                cost_points: 141.6,
                throttle_wait_ms: 250,
                run_ms: 4_000,
                finished: Some(JobStatus::Failed),
            },
        );
        assert_eq!(
            doc,
            json!({
                "_aws": {"Timestamp": 1_795_000_000_000_i64, "CloudWatchMetrics": [{
                    "Namespace": "Shopsync",
                    "Dimensions": [["Task"]],
                    "Metrics": [
                        {"Name": "CostPointsUsed", "Unit": "Count"},
                        {"Name": "ThrottleWaitMs", "Unit": "Milliseconds"},
                        {"Name": "RunDurationMs", "Unit": "Milliseconds"},
                        {"Name": "JobsFailed", "Unit": "Count"}
                    ]}]},
                "Task": "sync-inventory",
                "CostPointsUsed": 142, "ThrottleWaitMs": 250, "RunDurationMs": 4000, "JobsFailed": 1
            })
        );
    }

    #[test]
    fn a_continued_job_is_not_counted_as_finished() {
        let doc = invocation_document(
            1,
            &InvocationFigures {
                task: TaskKind::SyncInventory,
                cost_points: 10.0,
                throttle_wait_ms: 0,
                run_ms: 1,
                finished: None,
            },
        );
        let names: Vec<&str> = doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["Name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["CostPointsUsed", "ThrottleWaitMs", "RunDurationMs"]);
    }
}
