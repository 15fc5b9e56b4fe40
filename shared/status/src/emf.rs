//! CloudWatch Embedded Metric Format: one JSON line per shop on stdout, which Lambda ships to
//! CloudWatch Logs and CloudWatch turns into metrics — no `PutMetricData` call, no extra permission,
//! nothing lost if the function dies after printing.
//!
//! Shape (one document per line): `{"_aws":{"Timestamp":<ms>,"CloudWatchMetrics":[{"Namespace":…,
//! "Dimensions":[[<dimension names>]],"Metrics":[{"Name":…,"Unit":"Count"},…]}]}, <dimension values>,
//! <metric values>}`. At most 100 metrics per document (the EMF limit).
//!
//! The status function's values are gauges — what the board shows at that moment (e.g. `JobsFailed`
//! = failed jobs of the shop still in the table) — so graph them with `Maximum`/`Average`, not `Sum`.
//! They carry the `Shop` dimension, which keeps them apart from the task functions' per-run counters
//! of the same name (dimension `Task`).

use serde_json::{Map, Value, json};
use shopsync_domain::JobStatus;
use shopsync_domain::status::StatusBoard;

/// Namespace of every Shopsync metric.
pub const NAMESPACE: &str = "Shopsync";
/// The per-shop dimension.
pub const SHOP_DIMENSION: &str = "Shop";
/// EMF accepts at most this many metrics per document.
pub const MAX_METRICS: usize = 100;

/// One EMF document of counts. `dimensions` are (name, value) pairs; an empty list gives metrics
/// without dimensions. Metrics beyond [`MAX_METRICS`] are left out (and logged).
pub fn emf_document(
    timestamp_ms: i64,
    namespace: &str,
    dimensions: &[(&str, &str)],
    metrics: &[(String, u64)],
) -> Value {
    let with_units: Vec<(String, u64, &str)> = metrics
        .iter()
        .map(|(name, value)| (name.clone(), *value, "Count"))
        .collect();
    emf_document_with_units(timestamp_ms, namespace, dimensions, &with_units)
}

/// [`emf_document`] with a CloudWatch unit per metric (`Count`, `Milliseconds`, ...).
pub fn emf_document_with_units(
    timestamp_ms: i64,
    namespace: &str,
    dimensions: &[(&str, &str)],
    metrics: &[(String, u64, &str)],
) -> Value {
    if metrics.len() > MAX_METRICS {
        tracing::warn!(
            count = metrics.len(),
            "more metrics than one EMF document holds; the rest are dropped"
        );
    }
    let metrics = &metrics[..metrics.len().min(MAX_METRICS)];
    let mut doc = Map::new();
    doc.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [dimensions.iter().map(|(k, _)| *k).collect::<Vec<_>>()],
                "Metrics": metrics
                    .iter()
                    .map(|(name, _, unit)| json!({"Name": name, "Unit": unit}))
                    .collect::<Vec<_>>(),
            }]
        }),
    );
    for (k, v) in dimensions {
        doc.insert((*k).to_string(), json!(v));
    }
    for (name, value, _) in metrics {
        doc.insert(name.clone(), json!(value));
    }
    Value::Object(doc)
}

/// `synchronization_errors` → `SynchronizationErrors`.
pub fn metric_name(snake: &str) -> String {
    pascal_case(snake, '_')
}

/// Words separated by `separator` → PascalCase (`sync-inventory`, '-' → `SyncInventory`).
pub fn pascal_case(text: &str, separator: char) -> String {
    text.split(separator)
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// The metrics of one shop's board: every cue, the open failures, and the jobs per status
/// (`JobsFailed`, `JobsSucceeded`, …; zero for statuses without jobs, so graphs have no gaps).
pub fn board_metrics(board: &StatusBoard) -> Vec<(String, u64)> {
    let mut metrics: Vec<(String, u64)> = board
        .cues
        .iter()
        .map(|c| (metric_name(c.cue.name()), c.count))
        .collect();
    metrics.push(("OpenFailures".into(), board.open_failures));
    for status in JobStatus::ALL {
        let count = board.jobs.get(&status).copied().unwrap_or(0);
        metrics.push((format!("Jobs{}", metric_name(status.as_str())), count));
    }
    metrics
}

/// The EMF document of one shop's board.
pub fn board_document(timestamp_ms: i64, board: &StatusBoard) -> Value {
    emf_document(
        timestamp_ms,
        NAMESPACE,
        &[(SHOP_DIMENSION, &board.shop)],
        &board_metrics(board),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_has_the_exact_emf_shape() {
        let doc = emf_document(
            1_764_180_000_123,
            "Shopsync",
            &[("Shop", "DEMO")],
            &[("SkippedRecords".into(), 3), ("OpenFailures".into(), 0)],
        );
        assert_eq!(
            doc,
            json!({
                "_aws": {
                    "Timestamp": 1_764_180_000_123_i64,
                    "CloudWatchMetrics": [{
                        "Namespace": "Shopsync",
                        "Dimensions": [["Shop"]],
                        "Metrics": [
                            {"Name": "SkippedRecords", "Unit": "Count"},
                            {"Name": "OpenFailures", "Unit": "Count"}
                        ]
                    }]
                },
                "Shop": "DEMO",
                "SkippedRecords": 3,
                "OpenFailures": 0
            })
        );
        // One line of JSON.
        assert!(!doc.to_string().contains('\n'));
    }

    #[test]
    fn a_document_without_dimensions_has_one_empty_dimension_set() {
        let doc = emf_document(1, "Shopsync", &[], &[("DeadLetterDepth".into(), 4)]);
        assert_eq!(
            doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([[]])
        );
        assert_eq!(doc["DeadLetterDepth"], json!(4));
    }

    #[test]
    fn metric_names_are_pascal_case() {
        assert_eq!(
            metric_name("synchronization_errors"),
            "SynchronizationErrors"
        );
        assert_eq!(
            metric_name("succeeded_with_warnings"),
            "SucceededWithWarnings"
        );
        let many: Vec<(String, u64)> = (0..150).map(|i| (format!("M{i}"), 1)).collect();
        let doc = emf_document(1, "Shopsync", &[], &many);
        assert_eq!(
            doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]
                .as_array()
                .unwrap()
                .len(),
            MAX_METRICS
        );
    }
}
