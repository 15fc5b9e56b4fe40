//! The SAM template is the one definition of the cloud resources: it must pass cfn-lint (installed
//! into `.venv` by `tests/scripts/ensure-tools.sh`) and declare what the worker relies on.

use std::path::PathBuf;
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn cfn_lint() -> Option<PathBuf> {
    let venv = root().join(".venv/bin/cfn-lint");
    if venv.exists() {
        return Some(venv);
    }
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| PathBuf::from(d).join("cfn-lint"))
        .find(|p| p.exists())
}

#[test]
fn the_template_passes_cfn_lint() {
    let Some(lint) = cfn_lint() else {
        eprintln!("skipped: cfn-lint is not installed (tests/scripts/ensure-tools.sh installs it)");
        return;
    };
    let out = Command::new(lint)
        .arg(root().join("infra/template.yaml"))
        .output()
        .expect("run cfn-lint");
    assert!(
        out.status.success(),
        "cfn-lint findings:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_template_wires_the_worker_as_the_runtime_expects() {
    let text = std::fs::read_to_string(root().join("infra/template.yaml")).unwrap();
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let res = &doc["Resources"];
    let func = &res["SyncInventoryFunction"]["Properties"];
    assert_eq!(
        res["SyncInventoryFunction"]["Metadata"]["BuildMethod"].as_str(),
        Some("rust-cargolambda")
    );
    let globals = &doc["Globals"]["Function"];
    assert_eq!(globals["Runtime"].as_str(), Some("provided.al2023"));
    assert_eq!(globals["Architectures"][0].as_str(), Some("arm64"));
    let events = func["Events"].as_mapping().unwrap();
    let kinds: Vec<&str> = events.values().filter_map(|e| e["Type"].as_str()).collect();
    assert!(
        kinds.contains(&"Schedule") && kinds.contains(&"SQS"),
        "{kinds:?}"
    );
    let sqs = events
        .values()
        .find(|e| e["Type"].as_str() == Some("SQS"))
        .unwrap();
    assert_eq!(
        sqs["Properties"]["FunctionResponseTypes"][0].as_str(),
        Some("ReportBatchItemFailures")
    );
    let timeout = globals["Timeout"].as_u64().unwrap();
    let visibility = res["SyncInventoryQueue"]["Properties"]["VisibilityTimeout"]
        .as_u64()
        .unwrap();
    assert!(
        visibility >= 6 * timeout,
        "visibility {visibility} < 6 x timeout {timeout}"
    );
    assert_eq!(
        res["DeadLetterQueueDepthAlarm"]["Type"].as_str(),
        Some("AWS::CloudWatch::Alarm")
    );
}
