//! The SAM template is the one definition of the cloud resources. These tests run its validation
//! chain and check the wiring the functions rely on.
//!
//! Validation chain (tools installed by `tests/scripts/ensure-tools.sh`, all offline):
//! 1. `cfn-lint` on `infra/template.yaml` (`.venv`);
//! 2. `tests/scripts/sam-translate.py` (aws-sam-translator in `.venv`): inlines the local
//!    `AWS::Include` of `infra/openapi.yaml`, gives the functions `s3://` code locations as
//!    `sam package` would, and translates to plain CloudFormation; then `cfn-lint` on that JSON;
//! 3. `checkov` (`.venv-checkov`) on both forms: no failed check, no parsing error, and every skip
//!    carries a comment (skips live next to the resource, in `Metadata.checkov.skip`).
//!
//! A missing tool fails its test. `SHOPSYNC_SKIP_IAC_VALIDATION=1` turns those tests into skips on
//! machines without Python (documented in the README); the structural tests always run.
//!
//! The per-task pieces of the template are generated from the task registry by
//! `tests/e2e/src/bin/gen_template.rs` (`cargo run -p shopsync-e2e --bin gen_template`); the
//! generator tests below fail when the file differs from its output.

use serde_json::Value as Json;
use serde_yaml::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The template generator, compiled into this test so the test renders exactly what the command
/// writes.
#[path = "../../src/bin/gen_template.rs"]
#[allow(dead_code)]
mod gen_template;

const SKIP_VAR: &str = "SHOPSYNC_SKIP_IAC_VALIDATION";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn template_path() -> PathBuf {
    root().join("infra/template.yaml")
}

fn template() -> Value {
    let text = std::fs::read_to_string(template_path()).unwrap();
    serde_yaml::from_str(&text).unwrap()
}

/// True (and says so) when the tool tests are switched off for this machine.
fn tools_opted_out(what: &str) -> bool {
    if std::env::var(SKIP_VAR).as_deref() == Ok("1") {
        eprintln!("skipped {what}: {SKIP_VAR}=1");
        return true;
    }
    false
}

/// A tool from a project venv (or, failing that, PATH). Panics with the fix when it is missing.
fn tool(venv: &str, name: &str) -> PathBuf {
    let in_venv = root().join(venv).join("bin").join(name);
    if in_venv.exists() {
        return in_venv;
    }
    let on_path = std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(name))
            .find(|p| p.exists())
    });
    on_path.unwrap_or_else(|| {
        panic!(
            "{name} is not installed ({venv}/bin/{name}): run tests/scripts/ensure-tools.sh, or set \
             {SKIP_VAR}=1 on a machine without Python"
        )
    })
}

/// Runs a command; Ok(stdout) on success, Err(everything it printed) otherwise.
fn run(cmd: &mut Command) -> Result<String, String> {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        Ok(stdout)
    } else {
        Err(format!(
            "{cmd:?} exited with {}\n{stdout}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn cfn_lint(file: &Path) {
    let lint = tool(".venv", "cfn-lint");
    if let Err(findings) = run(Command::new(lint).arg(file)) {
        panic!("cfn-lint findings on {}:\n{findings}", file.display());
    }
}

/// The translated template, written once per test run.
fn translated() -> &'static Path {
    static OUT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let result = OUT.get_or_init(|| {
        let python = tool(".venv", "python");
        let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("template-{}.cfn.json", std::process::id()));
        run(Command::new(python)
            .arg(root().join("tests/scripts/sam-translate.py"))
            .arg(template_path())
            .arg(&out))
        .map(|_| out)
    });
    match result {
        Ok(p) => p,
        Err(e) => panic!(
            "the offline SAM translation failed (aws-sam-translator in .venv; tests/scripts/ensure-tools.sh installs it):\n{e}"
        ),
    }
}

fn checkov(file: &Path) {
    let checkov = tool(".venv-checkov", "checkov");
    let out = Command::new(checkov)
        .env("BC_SKIP_MAPPING", "TRUE")
        .args(["--framework", "cloudformation", "-o", "json", "-f"])
        .arg(file)
        .output()
        .expect("run checkov");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: Json = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "checkov gave no JSON report ({e}) for {}:\n{stdout}{}",
            file.display(),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    // One report per framework; only cloudformation was asked for.
    let report = match &report {
        Json::Array(a) => a.first().cloned().unwrap_or(Json::Null),
        other => other.clone(),
    };
    let summary = &report["summary"];
    let failed: Vec<String> = report["results"]["failed_checks"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            format!(
                "{} {} ({}) at {}",
                c["check_id"].as_str().unwrap_or("?"),
                c["resource"].as_str().unwrap_or("?"),
                c["check_name"].as_str().unwrap_or(""),
                c["file_line_range"]
            )
        })
        .collect();
    assert!(
        failed.is_empty() && summary["failed"].as_u64() == Some(0),
        "checkov findings on {} (fix them, or skip next to the resource with a reason in \
         Metadata.checkov.skip):\n{}",
        file.display(),
        failed.join("\n")
    );
    assert_eq!(
        summary["parsing_errors"].as_u64(),
        Some(0),
        "checkov could not parse {}",
        file.display()
    );
    assert!(
        summary["passed"].as_u64().unwrap_or(0) >= 20,
        "checkov ran suspiciously few checks on {}: {summary}",
        file.display()
    );
    for skipped in report["results"]["skipped_checks"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let comment = skipped["check_result"]["suppress_comment"]
            .as_str()
            .unwrap_or("");
        assert!(
            comment.trim().len() >= 20,
            "checkov skip {} on {} has no real justification: {comment:?}",
            skipped["check_id"],
            skipped["resource"]
        );
    }
    assert!(
        out.status.success(),
        "checkov exited with {} on {}:\n{stdout}",
        out.status,
        file.display()
    );
}

// ---- validation chain ------------------------------------------------------------------------------

#[test]
fn the_template_passes_cfn_lint() {
    if tools_opted_out("cfn-lint") {
        return;
    }
    cfn_lint(&template_path());
}

#[test]
fn the_translated_template_passes_cfn_lint() {
    if tools_opted_out("the SAM translation and cfn-lint of its output") {
        return;
    }
    cfn_lint(translated());
}

#[test]
fn the_template_passes_checkov() {
    if tools_opted_out("checkov") {
        return;
    }
    checkov(&template_path());
}

#[test]
fn the_translated_template_passes_checkov() {
    if tools_opted_out("checkov on the translated template") {
        return;
    }
    checkov(translated());
}

#[test]
fn the_translation_inlines_the_openapi_document_and_generates_no_roles() {
    if tools_opted_out("the SAM translation") {
        return;
    }
    let out: Json = serde_json::from_str(&std::fs::read_to_string(translated()).unwrap()).unwrap();
    let resources = out["Resources"].as_object().unwrap();
    let api = &resources["ShopsyncHttpApi"];
    assert_eq!(api["Type"], "AWS::ApiGatewayV2::Api");
    let paths = api["Properties"]["Body"]["paths"].as_object().unwrap();
    assert!(
        paths.contains_key("/shops/{shop}/status"),
        "the OpenAPI document was not inlined: {:?}",
        paths.keys()
    );
    // Every IAM role is one of ours (SAM generated none, so it attached no managed policy with
    // account-wide resources), and no role carries a managed policy.
    let roles: BTreeSet<&str> = resources
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::IAM::Role")
        .map(|(k, _)| k.as_str())
        .collect();
    let doc = template();
    let ours: BTreeSet<&str> = doc["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some("AWS::IAM::Role"))
        .map(|(k, _)| k.as_str().unwrap())
        .collect();
    assert_eq!(roles, ours);
    for (id, r) in resources {
        assert!(
            r["Properties"].get("ManagedPolicyArns").is_none(),
            "{id} has managed policies"
        );
    }
}

/// A planted fault must make each step fail: the chain is not a no-op.
#[test]
fn the_validation_chain_catches_a_planted_fault() {
    if tools_opted_out("the planted-fault check") {
        return;
    }
    let dir =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("planted-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(root().join("infra/openapi.yaml"), dir.join("openapi.yaml")).unwrap();
    let text = std::fs::read_to_string(template_path()).unwrap();
    // A SAM-level typo only the translated form shows, and checkov skips that no longer match.
    let broken = text
        .replacen("- ReportBatchItemFailures", "- ReportBatchItemFailure", 1)
        .replace(
            "          - id: CKV_AWS_27\n",
            "          - id: CKV_AWS_0000\n",
        );
    assert_ne!(broken, text);
    let tpl = dir.join("template.yaml");
    std::fs::write(&tpl, broken).unwrap();
    let out = dir.join("template.cfn.json");
    run(Command::new(tool(".venv", "python"))
        .arg(root().join("tests/scripts/sam-translate.py"))
        .arg(&tpl)
        .arg(&out))
    .unwrap();
    let lint = run(Command::new(tool(".venv", "cfn-lint")).arg(&out)).unwrap_err();
    assert!(lint.contains("ReportBatchItemFailure"), "{lint}");
    let checkov = Command::new(tool(".venv-checkov", "checkov"))
        .env("BC_SKIP_MAPPING", "TRUE")
        .args([
            "--framework",
            "cloudformation",
            "--compact",
            "--quiet",
            "-f",
        ])
        .arg(&tpl)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&checkov.stdout);
    assert!(
        !checkov.status.success() && text.contains("CKV_AWS_27"),
        "checkov should report the unskipped queues: {text}"
    );
}

// ---- structure ---------------------------------------------------------------------------------------

fn ref_of(v: &Value) -> Option<&str> {
    match v {
        Value::Tagged(t) if t.tag == "Ref" => t.value.as_str(),
        Value::Mapping(m) if m.len() == 1 => m.get("Ref").and_then(Value::as_str),
        _ => None,
    }
}

/// `!GetAtt X.Attr` / `!GetAtt [X, Attr]` / `{Fn::GetAtt: [X, Attr]}` -> (X, Attr).
fn get_att(v: &Value) -> Option<(String, String)> {
    let (inner, tagged) = match v {
        Value::Tagged(t) if t.tag == "GetAtt" => (&t.value, true),
        Value::Mapping(m) if m.len() == 1 => (m.get("Fn::GetAtt")?, false),
        _ => return None,
    };
    match inner {
        Value::String(s) if tagged => s
            .split_once('.')
            .map(|(a, b)| (a.to_string(), b.to_string())),
        Value::Sequence(seq) => Some((
            seq.first()?.as_str()?.to_string(),
            seq.get(1)?.as_str()?.to_string(),
        )),
        _ => None,
    }
}

fn sub_of(v: &Value) -> Option<&str> {
    match v {
        Value::Tagged(t) if t.tag == "Sub" => t.value.as_str(),
        Value::Mapping(m) if m.len() == 1 => m.get("Fn::Sub").and_then(Value::as_str),
        _ => None,
    }
}

fn resources_of_type<'a>(doc: &'a Value, ty: &str) -> Vec<(&'a str, &'a Value)> {
    doc["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some(ty))
        .map(|(k, r)| (k.as_str().unwrap(), r))
        .collect()
}

/// A function's property, falling back to Globals.Function.
fn prop<'a>(doc: &'a Value, func: &'a Value, name: &str) -> &'a Value {
    match func["Properties"].get(name) {
        Some(v) => v,
        None => &doc["Globals"]["Function"][name],
    }
}

/// The function's environment: Globals merged with its own variables.
fn env_of<'a>(doc: &'a Value, func: &'a Value) -> BTreeMap<String, &'a Value> {
    let mut env = BTreeMap::new();
    for vars in [
        &doc["Globals"]["Function"]["Environment"]["Variables"],
        &func["Properties"]["Environment"]["Variables"],
    ] {
        if let Some(m) = vars.as_mapping() {
            for (k, v) in m {
                env.insert(k.as_str().unwrap().to_string(), v);
            }
        }
    }
    env
}

/// Task functions: those fed by an SQS queue. Returns (function id, queue id).
fn task_functions(doc: &Value) -> Vec<(&str, String)> {
    resources_of_type(doc, "AWS::Serverless::Function")
        .into_iter()
        .filter_map(|(id, f)| {
            let events = f["Properties"]["Events"].as_mapping()?;
            let sqs = events
                .values()
                .find(|e| e["Type"].as_str() == Some("SQS"))?;
            Some((id, get_att(&sqs["Properties"]["Queue"])?.0))
        })
        .collect()
}

/// Every statement that applies to a role: its own inline policies and the `AWS::IAM::Policy`
/// resources attached to it (`Roles: [!Ref <role>]`).
fn statements<'a>(doc: &'a Value, role_id: &str) -> Vec<&'a Value> {
    let own = doc["Resources"][role_id]["Properties"]["Policies"]
        .as_sequence()
        .into_iter()
        .flatten()
        .map(|p| &p["PolicyDocument"]);
    let attached = resources_of_type(doc, "AWS::IAM::Policy")
        .into_iter()
        .filter(|(_, p)| {
            p["Properties"]["Roles"]
                .as_sequence()
                .into_iter()
                .flatten()
                .any(|r| ref_of(r) == Some(role_id))
        })
        .map(|(_, p)| &p["Properties"]["PolicyDocument"]);
    own.chain(attached)
        .flat_map(|d| d["Statement"].as_sequence().into_iter().flatten())
        .collect()
}

fn one_or_many(v: &Value) -> Vec<&Value> {
    match v {
        Value::Sequence(s) => s.iter().collect(),
        other => vec![other],
    }
}

/// Actions a role allows on the resource `!GetAtt <logical>.Arn`.
fn actions_on(doc: &Value, role_id: &str, logical: &str) -> BTreeSet<String> {
    statements(doc, role_id)
        .into_iter()
        .filter(|s| {
            one_or_many(&s["Resource"])
                .into_iter()
                .any(|r| get_att(r).is_some_and(|(id, att)| id == logical && att == "Arn"))
        })
        .flat_map(|s| {
            one_or_many(&s["Action"])
                .into_iter()
                .filter_map(|a| a.as_str().map(str::to_string))
        })
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn every_function_is_built_by_cargo_lambda_for_arm64_from_its_package() {
    let doc = template();
    let functions = resources_of_type(&doc, "AWS::Serverless::Function");
    let mut packages = BTreeSet::new();
    for (id, f) in &functions {
        assert_eq!(
            f["Metadata"]["BuildMethod"].as_str(),
            Some("rust-cargolambda"),
            "{id}"
        );
        assert_eq!(
            prop(&doc, f, "Runtime").as_str(),
            Some("provided.al2023"),
            "{id}"
        );
        assert_eq!(
            prop(&doc, f, "Architectures")[0].as_str(),
            Some("arm64"),
            "{id}"
        );
        assert_eq!(prop(&doc, f, "Handler").as_str(), Some("bootstrap"), "{id}");
        let code = f["Properties"]["CodeUri"].as_str().unwrap();
        let dir = code
            .strip_prefix("../functions/")
            .unwrap_or_else(|| panic!("{id}: CodeUri {code} is not ../functions/<package>"));
        assert!(
            root()
                .join("functions")
                .join(dir)
                .join("Cargo.toml")
                .exists(),
            "{id}: {code} has no Cargo.toml"
        );
        packages.insert(dir.to_string());
    }
    // Every package under functions/ is deployed.
    let on_disk: BTreeSet<String> = std::fs::read_dir(root().join("functions"))
        .unwrap()
        .filter_map(|e| {
            let e = e.ok()?;
            e.path()
                .join("Cargo.toml")
                .exists()
                .then(|| e.file_name().to_string_lossy().into_owned())
        })
        .collect();
    assert_eq!(
        packages, on_disk,
        "functions/ packages vs template functions"
    );
    assert!(
        ["api", "status", "sync-inventory"]
            .iter()
            .all(|p| packages.contains(*p))
    );
    // A task function runs its own task: its main names the registration of the task it is called
    // after (a copied main.rs that still names another task would deploy the wrong code).
    for task in shopsync_domain::TaskKind::ALL
        .into_iter()
        .filter(|k| shopsync_tasks::registry::is_implemented(*k))
    {
        let main = std::fs::read_to_string(
            root()
                .join("functions")
                .join(task.name())
                .join("src/main.rs"),
        )
        .unwrap_or_else(|e| panic!("functions/{}/src/main.rs: {e}", task.name()));
        let registration = task.name().replace('-', "_").to_uppercase();
        assert!(
            main.contains(&format!(
                "run_function(shopsync_runtime::registry::{registration})"
            )),
            "functions/{}/src/main.rs must run registry::{registration}",
            task.name()
        );
    }
}

#[test]
fn every_function_logs_json_to_its_own_log_group_with_retention() {
    let doc = template();
    assert_eq!(
        doc["Parameters"]["LogRetentionDays"]["Default"].as_u64(),
        Some(30)
    );
    for (id, f) in resources_of_type(&doc, "AWS::Serverless::Function") {
        let logging = &f["Properties"]["LoggingConfig"];
        assert_eq!(
            prop(&doc, f, "LoggingConfig")["LogFormat"]
                .as_str()
                .or(doc["Globals"]["Function"]["LoggingConfig"]["LogFormat"].as_str()),
            Some("JSON"),
            "{id}"
        );
        let group_id = ref_of(&logging["LogGroup"])
            .unwrap_or_else(|| panic!("{id}: LoggingConfig.LogGroup must be !Ref <its log group>"));
        let group = &doc["Resources"][group_id];
        assert_eq!(group["Type"].as_str(), Some("AWS::Logs::LogGroup"), "{id}");
        assert_eq!(
            ref_of(&group["Properties"]["RetentionInDays"]),
            Some("LogRetentionDays"),
            "{group_id}"
        );
        let name = sub_of(&f["Properties"]["FunctionName"]).unwrap_or_else(|| {
            panic!("{id}: FunctionName must be !Sub ${{AWS::StackName}}-<name>")
        });
        assert!(name.starts_with("${AWS::StackName}-"), "{id}: {name}");
        assert_eq!(
            sub_of(&group["Properties"]["LogGroupName"]),
            Some(format!("/aws/lambda/{name}").as_str()),
            "{group_id} must be /aws/lambda/<function name>"
        );
    }
}

#[test]
fn every_task_queue_redrives_to_the_dead_letter_queue_and_outlives_its_run() {
    let doc = template();
    let tasks = task_functions(&doc);
    assert!(tasks.iter().any(|(f, _)| *f == "SyncInventoryFunction"));
    let queues = resources_of_type(&doc, "AWS::SQS::Queue");
    for (id, q) in &queues {
        assert_eq!(
            q["Properties"]["SqsManagedSseEnabled"].as_bool(),
            Some(true),
            "{id} is encrypted"
        );
        if *id == "DeadLetterQueue" {
            continue;
        }
        let redrive = &q["Properties"]["RedrivePolicy"];
        assert_eq!(
            get_att(&redrive["deadLetterTargetArn"]),
            Some(("DeadLetterQueue".into(), "Arn".into())),
            "{id}"
        );
        assert_eq!(
            ref_of(&redrive["maxReceiveCount"]),
            Some("MaxReceiveCount"),
            "{id}"
        );
        assert!(
            tasks.iter().any(|(_, queue)| queue == id),
            "{id} feeds no task function"
        );
    }
    for (func_id, queue_id) in &tasks {
        let f = &doc["Resources"][*func_id];
        let timeout = prop(&doc, f, "Timeout").as_u64().unwrap();
        let visibility = doc["Resources"][queue_id.as_str()]["Properties"]["VisibilityTimeout"]
            .as_u64()
            .unwrap();
        assert!(
            visibility >= 6 * timeout,
            "{queue_id}: visibility {visibility} < 6 x {func_id} timeout {timeout}"
        );
        let events = f["Properties"]["Events"].as_mapping().unwrap();
        let kinds: Vec<&str> = events.values().filter_map(|e| e["Type"].as_str()).collect();
        assert!(kinds.contains(&"Schedule"), "{func_id}: {kinds:?}");
        let schedule = events
            .values()
            .find(|e| e["Type"].as_str() == Some("Schedule"))
            .unwrap();
        let param = ref_of(&schedule["Properties"]["Schedule"])
            .unwrap_or_else(|| panic!("{func_id}: the schedule must be !Ref <Task>Schedule"));
        let default = doc["Parameters"][param]["Default"].as_str().unwrap_or("");
        assert!(
            default.starts_with("cron(") || default.starts_with("rate("),
            "{func_id}: parameter {param} needs a default schedule, got {default:?}"
        );
        let sqs = events
            .values()
            .find(|e| e["Type"].as_str() == Some("SQS"))
            .unwrap();
        assert_eq!(
            sqs["Properties"]["FunctionResponseTypes"][0].as_str(),
            Some("ReportBatchItemFailures"),
            "{func_id}"
        );
        let env = env_of(&doc, f);
        assert!(env.contains_key("TASK"), "{func_id}");
        assert_eq!(
            env.get("TASK_QUEUE_URL").and_then(|v| ref_of(v)),
            Some(queue_id.as_str()),
            "{func_id}"
        );
        assert_eq!(
            get_att(
                &f["Properties"]["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]["Destination"]
            ),
            Some(("DeadLetterQueue".into(), "Arn".into())),
            "{func_id}: failed scheduled invocations go to the dead-letter queue"
        );
    }
    assert_eq!(
        resources_of_type(&doc, "AWS::CloudWatch::Alarm")
            .iter()
            .filter(|(id, _)| *id == "DeadLetterQueueDepthAlarm")
            .count(),
        1
    );
}

#[test]
fn the_api_and_status_functions_know_every_task_queue() {
    let doc = template();
    let api = &doc["Resources"]["ApiFunction"];
    let status = &doc["Resources"]["StatusFunction"];
    for (func_id, queue_id) in task_functions(&doc) {
        let task = env_of(&doc, &doc["Resources"][func_id])["TASK"]
            .as_str()
            .unwrap()
            .to_string();
        let var = format!("QUEUE_URL_{}", task.to_uppercase().replace('-', "_"));
        for (name, f) in [("ApiFunction", api), ("StatusFunction", status)] {
            assert_eq!(
                env_of(&doc, f).get(&var).and_then(|v| ref_of(v)),
                Some(queue_id.as_str()),
                "{name} needs {var}: !Ref {queue_id}"
            );
        }
        for role in ["ApiRole", "StatusRole"] {
            assert!(
                actions_on(&doc, role, &queue_id).contains("sqs:SendMessage"),
                "{role} must allow sqs:SendMessage on {queue_id} (manual runs, retries)"
            );
        }
    }
    let env = env_of(&doc, api);
    for var in [
        "JWT_ISSUER",
        "JWT_AUDIENCE",
        "JWT_JWKS_URL",
        "FOREGROUND_BUDGET_SECS",
        "TABLE_NAME",
        "DLQ_URL",
    ] {
        assert!(env.contains_key(var), "ApiFunction needs {var}");
    }
    assert_eq!(api["Properties"]["Timeout"].as_u64(), Some(29));
    assert_eq!(api["Properties"]["MemorySize"].as_u64(), Some(512));
    assert!(
        api["Properties"].get("Events").is_none(),
        "the api routes come from the OpenAPI document, not SAM events"
    );
    assert_eq!(status["Properties"]["Timeout"].as_u64(), Some(120));
    let events = status["Properties"]["Events"].as_mapping().unwrap();
    assert!(
        events
            .values()
            .any(|e| e["Type"].as_str() == Some("Schedule")
                && e["Properties"]["Schedule"].as_str() == Some("rate(5 minutes)"))
    );
    assert!(env_of(&doc, status).contains_key("DLQ_URL"));
}

#[test]
fn every_function_has_its_own_least_privilege_role() {
    let doc = template();
    let mut seen_roles = BTreeSet::new();
    for (id, f) in resources_of_type(&doc, "AWS::Serverless::Function") {
        assert!(
            f["Properties"].get("Policies").is_none(),
            "{id}: permissions belong in its role"
        );
        let (role_id, att) = get_att(&f["Properties"]["Role"])
            .unwrap_or_else(|| panic!("{id}: Role must be !GetAtt <its role>.Arn"));
        assert_eq!(att, "Arn");
        assert!(seen_roles.insert(role_id.clone()), "{role_id} is shared");
        let role = &doc["Resources"][role_id.as_str()];
        assert_eq!(role["Type"].as_str(), Some("AWS::IAM::Role"), "{id}");
        assert!(
            role["Properties"].get("ManagedPolicyArns").is_none(),
            "{role_id}"
        );
        let trust = &role["Properties"]["AssumeRolePolicyDocument"]["Statement"];
        assert_eq!(
            trust[0]["Principal"]["Service"].as_str(),
            Some("lambda.amazonaws.com"),
            "{role_id}"
        );
        for s in statements(&doc, &role_id) {
            assert_eq!(s["Effect"].as_str(), Some("Allow"), "{role_id}");
            let actions: Vec<&str> = one_or_many(&s["Action"])
                .into_iter()
                .map(|a| a.as_str().unwrap())
                .collect();
            for a in &actions {
                assert!(!a.contains('*'), "{role_id}: wildcard action {a}");
            }
            for r in one_or_many(&s["Resource"]) {
                if r.as_str() == Some("*") {
                    // X-Ray has no resource-level permissions.
                    assert!(
                        actions.iter().all(|a| a.starts_with("xray:")),
                        "{role_id}: Resource * for {actions:?}"
                    );
                }
            }
        }
        let logs = actions_on(
            &doc,
            &role_id,
            ref_of(&f["Properties"]["LoggingConfig"]["LogGroup"]).unwrap(),
        );
        assert_eq!(
            logs,
            set(&["logs:CreateLogStream", "logs:PutLogEvents"]),
            "{role_id}"
        );
    }

    let res = &doc["Resources"];
    let crud = set(&[
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:Query",
        "dynamodb:BatchGetItem",
        "dynamodb:BatchWriteItem",
        "dynamodb:ConditionCheckItem",
        "dynamodb:DescribeTable",
    ]);
    for role in ["SyncInventoryRole", "ApiRole", "StatusRole"] {
        assert_eq!(actions_on(&doc, role, "ShopsyncTable"), crud, "{role}");
    }
    assert_eq!(
        actions_on(&doc, "ApiRole", "DeadLetterQueue"),
        set(&[
            "sqs:SendMessage",
            "sqs:ReceiveMessage",
            "sqs:DeleteMessage",
            "sqs:ChangeMessageVisibility",
            "sqs:GetQueueAttributes"
        ])
    );
    assert_eq!(
        actions_on(&doc, "StatusRole", "DeadLetterQueue"),
        set(&[
            "sqs:SendMessage",
            "sqs:ReceiveMessage",
            "sqs:DeleteMessage",
            "sqs:ChangeMessageVisibility",
            "sqs:GetQueueAttributes"
        ]),
        "status mirrors the DLQ; SendMessage only for its OnFailure destination"
    );
    for (func_id, queue_id) in task_functions(&doc) {
        let role = get_att(&res[func_id]["Properties"]["Role"]).unwrap().0;
        assert_eq!(
            actions_on(&doc, &role, &queue_id),
            set(&[
                "sqs:SendMessage",
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:ChangeMessageVisibility",
                "sqs:GetQueueAttributes"
            ]),
            "{role} on {queue_id}"
        );
        assert_eq!(
            actions_on(&doc, &role, "DeadLetterQueue"),
            set(&["sqs:SendMessage"]),
            "{role}"
        );
    }
    // Secrets: only shopsync/*, only for the functions that call Shopify/BC (the task functions;
    // the api function runs no task, not even a foreground run).
    for role in ["SyncInventoryRole", "ApiRole", "StatusRole"] {
        let secret_resources: Vec<&str> = statements(&doc, role)
            .into_iter()
            .filter(|s| {
                one_or_many(&s["Action"])
                    .iter()
                    .any(|a| a.as_str().unwrap().starts_with("secretsmanager:"))
            })
            .flat_map(|s| one_or_many(&s["Resource"]).into_iter().filter_map(sub_of))
            .collect();
        if role != "SyncInventoryRole" {
            assert!(secret_resources.is_empty(), "{role} reads no secrets");
        } else {
            assert_eq!(
                secret_resources,
                vec![
                    "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:shopsync/*"
                ],
                "{role}"
            );
        }
    }
}

#[test]
fn the_http_api_is_the_openapi_document_with_logs_throttling_and_permission() {
    let doc = template();
    let res = &doc["Resources"];
    let api = &res["ShopsyncHttpApi"];
    assert_eq!(api["Type"].as_str(), Some("AWS::Serverless::HttpApi"));
    let include = &api["Properties"]["DefinitionBody"]["Fn::Transform"];
    assert_eq!(include["Name"].as_str(), Some("AWS::Include"));
    let location = include["Parameters"]["Location"].as_str().unwrap();
    assert_eq!(location, "openapi.yaml");
    let openapi: Value = serde_yaml::from_str(
        &std::fs::read_to_string(root().join("infra").join(location)).unwrap(),
    )
    .unwrap();
    let uri = openapi["components"]["x-amazon-apigateway-integrations"]["api"]["uri"]["Fn::Sub"]
        .as_str()
        .unwrap();
    assert!(uri.contains("${ApiFunction.Arn}"), "{uri}");
    assert_eq!(
        openapi["components"]["securitySchemes"]["jwt"]["x-amazon-apigateway-authorizer"]["type"]
            .as_str(),
        Some("jwt")
    );
    let mut operations = 0;
    for (path, item) in openapi["paths"].as_mapping().unwrap() {
        for (method, op) in item.as_mapping().unwrap() {
            if !["get", "put", "post", "delete", "patch"].contains(&method.as_str().unwrap()) {
                continue;
            }
            operations += 1;
            assert!(
                op.get("x-amazon-apigateway-integration").is_some(),
                "{path:?} {method:?} has no integration"
            );
        }
    }
    assert!(operations >= 1);
    let props = &api["Properties"];
    assert_eq!(
        get_att(&props["AccessLogSettings"]["DestinationArn"]).map(|(id, _)| id),
        Some("ApiAccessLogGroup".to_string())
    );
    let format = props["AccessLogSettings"]["Format"].as_str().unwrap();
    assert!(
        !format.contains("header"),
        "access logs must not carry headers: {format}"
    );
    for limit in ["ThrottlingBurstLimit", "ThrottlingRateLimit"] {
        assert!(
            ref_of(&props["DefaultRouteSettings"][limit]).is_some(),
            "{limit}"
        );
    }
    let perm = &res["ApiInvokePermission"];
    assert_eq!(perm["Type"].as_str(), Some("AWS::Lambda::Permission"));
    assert_eq!(
        ref_of(&perm["Properties"]["FunctionName"]),
        Some("ApiFunction")
    );
    assert_eq!(
        perm["Properties"]["Principal"].as_str(),
        Some("apigateway.amazonaws.com")
    );
    assert!(
        sub_of(&perm["Properties"]["SourceArn"])
            .unwrap()
            .ends_with(":${ShopsyncHttpApi}/*")
    );
}

#[test]
fn the_dashboard_shows_the_metric_contract_and_the_outputs_name_everything() {
    let doc = template();
    let body =
        sub_of(&doc["Resources"]["ShopsyncDashboard"]["Properties"]["DashboardBody"]).unwrap();
    // Valid JSON once the ${...} substitutions are filled in.
    let filled = body
        .replace("${AWS::StackName}", "stack")
        .replace("${AWS::Region}", "us-east-1")
        .replace("${DeadLetterQueueDepthAlarm.Arn}", "arn:alarm")
        .replace("${DeadLetterQueue.QueueName}", "dlq");
    assert!(
        !filled.contains("${"),
        "unexpected substitution in the dashboard"
    );
    let json: Json = serde_json::from_str(&filled).expect("dashboard body is JSON");
    assert!(json["widgets"].as_array().unwrap().len() >= 6);
    for metric in [
        "JobsSucceeded",
        "JobsSucceededWithWarnings",
        "JobsFailed",
        "JobsSkipped",
        "CostPointsUsed",
        "ThrottleWaitMs",
        "RunDurationMs",
        "OpenFailures",
        "DeadLetterDepth",
        "ApproximateNumberOfMessagesVisible",
    ] {
        assert!(body.contains(metric), "dashboard lacks {metric}");
    }
    assert!(body.contains("SEARCH('{Shopsync,Task}") && body.contains("SEARCH('{Shopsync,Shop}"));
    let outputs = doc["Outputs"].as_mapping().unwrap();
    for out in [
        "ApiUrl",
        "TableName",
        "DeadLetterQueueUrl",
        "AlarmTopicArn",
        "DashboardName",
    ] {
        assert!(outputs.contains_key(out), "output {out}");
    }
    for (_, queue_id) in task_functions(&doc) {
        assert!(
            outputs.contains_key(format!("{queue_id}Url").as_str()),
            "output {queue_id}Url"
        );
    }
}

// ---- generated task regions -----------------------------------------------------------------------

/// The file's task regions are exactly what the generator renders from the registry: adding a task
/// is its `Registration` plus a run of the generator, never a hand-copied block.
#[test]
fn the_task_regions_are_the_generators_output() {
    let text = std::fs::read_to_string(template_path()).unwrap();
    let tasks = gen_template::registered_tasks();
    let rendered = gen_template::render(&text, &tasks).unwrap_or_else(|e| {
        panic!(
            "infra/template.yaml: {e}\n(the generated regions are described in \
             tests/e2e/src/bin/gen_template.rs)"
        )
    });
    if rendered != text {
        let names: Vec<&str> = tasks.iter().map(|t| t.name).collect();
        panic!(
            "infra/template.yaml differs from the generator's output for the registered tasks ({}).\n\
             The lines between `# BEGIN GENERATED <region>` and `# END GENERATED <region>` are \
             generated from shared/tasks/src/registry.rs: do not edit them by hand; change the \
             pieces in tests/e2e/src/bin/gen_template.rs if needed, and run `{}` to update.\n\
             (- the file, + the generator)\n{}",
            names.join(", "),
            gen_template::COMMAND,
            gen_template::diff(&text, &rendered, 40)
        );
    }
    // Every registered task has its block, under its stable logical ids.
    let doc = template();
    for t in &tasks {
        for suffix in ["Queue", "LogGroup", "Role", "Function"] {
            assert!(
                doc["Resources"]
                    .get(format!("{}{suffix}", t.logical).as_str())
                    .is_some(),
                "{}{suffix}",
                t.logical
            );
        }
    }
    assert!(
        tasks
            .iter()
            .any(|t| t.logical == "SyncInventory" && t.env == "SYNC_INVENTORY")
    );
}

/// The guard is real: a hand edit inside a generated region is reverted by the generator (so the
/// test above fails on it), text outside the regions is kept, and broken markers are errors.
#[test]
fn a_hand_edit_inside_a_generated_region_is_caught() {
    let text = std::fs::read_to_string(template_path()).unwrap();
    let tasks = gen_template::registered_tasks();
    let clean = gen_template::render(&text, &tasks).unwrap();

    let edited = clean.replacen("BatchSize: 10", "BatchSize: 9", 1);
    assert_ne!(edited, clean, "the task block has BatchSize: 10");
    let back = gen_template::render(&edited, &tasks).unwrap();
    assert_eq!(back, clean, "the generator restores the region");
    let shown = gen_template::diff(&edited, &back, 10);
    assert!(
        shown
            .lines()
            .any(|l| l.starts_with('-') && l.ends_with("BatchSize: 9"))
            && shown
                .lines()
                .any(|l| l.starts_with('+') && l.ends_with("BatchSize: 10")),
        "{shown}"
    );

    // Outside the regions, hand-written text is kept as is.
    let outside = clean.replacen("Timeout: 120", "Timeout: 119", 1);
    assert_ne!(outside, clean);
    assert_eq!(gen_template::render(&outside, &tasks).unwrap(), outside);

    let no_end = clean.replacen("# END GENERATED task-outputs", "# task-outputs", 1);
    let err = gen_template::render(&no_end, &tasks).unwrap_err();
    assert!(err.contains("task-outputs"), "{err}");
    let no_region = clean.replacen("# BEGIN GENERATED task-queue-arns", "# task-queue-arns", 1);
    assert!(gen_template::render(&no_region, &tasks).is_err());
    assert!(gen_template::render(&clean, &[]).is_err(), "no task");
}

/// The template rendered for the registered tasks plus the first catalogued task this release does
/// not implement: (that task, the list, the template).
fn with_one_more_task() -> (
    shopsync_domain::TaskKind,
    Vec<gen_template::TaskEntry>,
    String,
) {
    let mut tasks = gen_template::registered_tasks();
    // A task this release does not run yet; once every task runs, the last registered one stands
    // for the addition: the template is rendered without it first, then with it.
    let extra = match shopsync_domain::TaskKind::ALL
        .into_iter()
        .find(|k| !shopsync_tasks::registry::is_implemented(*k))
    {
        Some(kind) => {
            tasks.push(gen_template::TaskEntry::of(kind));
            kind
        }
        None => {
            shopsync_tasks::registry::REGISTRY
                .last()
                .expect("the registry lists tasks")
                .kind
        }
    };
    let text = std::fs::read_to_string(template_path()).unwrap();
    let without = gen_template::render(&text, &tasks[..tasks.len() - 1]).unwrap();
    assert!(
        !without.contains(&format!(
            "{}Function:",
            gen_template::TaskEntry::of(extra).logical
        )),
        "the template without {extra} has no function of it"
    );
    let rendered = gen_template::render(&without, &tasks).unwrap();
    (extra, tasks, rendered)
}

/// Adding a task is one list entry: rendering with one more task yields a template whose every
/// per-task piece names it (schedule parameter with the catalogue's cron, queue, log group, role,
/// function, api/status queue URL and send permission, outputs), and the local stack provisions
/// its queue.
#[test]
fn adding_a_task_to_the_list_wires_every_piece() {
    let (extra, tasks, rendered) = with_one_more_task();
    let new = tasks.last().unwrap().clone();
    assert_eq!(
        gen_template::render(&rendered, &tasks).unwrap(),
        rendered,
        "rendering is idempotent"
    );
    let doc: Value = serde_yaml::from_str(&rendered).expect("the rendered template is YAML");

    let queue = format!("{}Queue", new.logical);
    let function = format!("{}Function", new.logical);
    let functions = task_functions(&doc);
    assert_eq!(functions.len(), tasks.len(), "{functions:?}");
    assert!(
        functions
            .iter()
            .any(|(f, q)| *f == function.as_str() && *q == queue),
        "{functions:?}"
    );
    let f = &doc["Resources"][function.as_str()];
    let env = env_of(&doc, f);
    assert_eq!(env["TASK"].as_str(), Some(new.name));
    assert_eq!(ref_of(env["TASK_QUEUE_URL"]), Some(queue.as_str()));
    assert_eq!(
        f["Properties"]["CodeUri"].as_str(),
        Some(format!("../functions/{}", new.name).as_str())
    );
    assert_eq!(
        sub_of(&f["Properties"]["FunctionName"]),
        Some(format!("${{AWS::StackName}}-{}", new.name).as_str())
    );
    let param = format!("{}Schedule", new.logical);
    assert_eq!(
        doc["Parameters"][param.as_str()]["Default"].as_str(),
        Some(extra.spec().default_schedule)
    );
    assert_eq!(
        ref_of(&f["Properties"]["Events"]["Schedule"]["Properties"]["Schedule"]),
        Some(param.as_str())
    );
    let role = format!("{}Role", new.logical);
    assert_eq!(
        get_att(&f["Properties"]["Role"]),
        Some((role.clone(), "Arn".into()))
    );
    assert!(actions_on(&doc, &role, &queue).contains("sqs:ReceiveMessage"));
    assert_eq!(
        actions_on(&doc, &role, &format!("{}LogGroup", new.logical)),
        set(&["logs:CreateLogStream", "logs:PutLogEvents"])
    );
    for name in ["ApiFunction", "StatusFunction"] {
        assert_eq!(
            env_of(&doc, &doc["Resources"][name])
                .get(&format!("QUEUE_URL_{}", new.env))
                .and_then(|v| ref_of(v)),
            Some(queue.as_str()),
            "{name}"
        );
    }
    for r in ["ApiRole", "StatusRole"] {
        for t in &tasks {
            assert!(
                actions_on(&doc, r, &format!("{}Queue", t.logical)).contains("sqs:SendMessage"),
                "{r} on {}",
                t.name
            );
        }
    }
    let outputs = doc["Outputs"].as_mapping().unwrap();
    for out in [format!("{queue}Url"), format!("{function}Name")] {
        assert!(outputs.contains_key(out.as_str()), "output {out}");
    }
    // A task pushed by webhooks (sync-orders is, registered or not) gets its EventBridge rule to its
    // queue, conditional on its event-bus parameter, and a queue policy for that rule.
    let pushed: Vec<_> = tasks.iter().filter(|t| !t.pushed.is_empty()).collect();
    assert!(!pushed.is_empty(), "no task pushed by webhooks to check");
    for t in pushed {
        let rule = &doc["Resources"][format!("{}WebhookRule", t.logical).as_str()];
        let condition = format!("{}HasWebhookEventBus", t.logical);
        assert_eq!(rule["Condition"].as_str(), Some(condition.as_str()));
        assert!(doc["Conditions"].get(condition.as_str()).is_some());
        assert!(
            doc["Parameters"]
                .get(format!("{}WebhookEventBus", t.logical).as_str())
                .is_some()
        );
        let topics: Vec<&str> =
            rule["Properties"]["EventPattern"]["detail"]["metadata"]["X-Shopify-Topic"]
                .as_sequence()
                .unwrap()
                .iter()
                .filter_map(|t| t.as_str())
                .collect();
        assert_eq!(topics, t.pushed);
        assert_eq!(
            get_att(&rule["Properties"]["Targets"][0]["Arn"]),
            Some((format!("{}Queue", t.logical), "Arn".into()))
        );
        let policy = &doc["Resources"][format!("{}WebhookQueuePolicy", t.logical).as_str()];
        assert_eq!(
            policy["Properties"]["PolicyDocument"]["Statement"][0]["Principal"]["Service"].as_str(),
            Some("events.amazonaws.com")
        );
    }
    for t in tasks.iter().filter(|t| t.pushed.is_empty()) {
        assert!(
            doc["Resources"]
                .get(format!("{}WebhookRule", t.logical).as_str())
                .is_none()
        );
    }
    // The shared resources are not repeated.
    assert_eq!(resources_of_type(&doc, "AWS::CloudWatch::Alarm").len(), 1);
    assert_eq!(resources_of_type(&doc, "AWS::DynamoDB::Table").len(), 1);
    // The local stack (moto) provisions the new queue, redriving to the dead-letter queue.
    let local = shopsync_localstack::provision::parse_template(&rendered).unwrap();
    let q = local
        .queues
        .iter()
        .find(|q| q.logical_id == queue)
        .unwrap_or_else(|| panic!("provision does not create {queue}"));
    assert_eq!(
        q.redrive.as_ref().map(|r| r.dead_letter_queue.as_str()),
        Some("DeadLetterQueue")
    );
}

/// A generated block for a new task passes the source lint, the SAM translation and the lint of its
/// output (checkov sees the same skips as on the real task block).
#[test]
fn the_template_with_one_more_task_passes_cfn_lint_and_translation() {
    if tools_opted_out("the validation of a template with one more task") {
        return;
    }
    let (extra, _, rendered) = with_one_more_task();
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("one-more-task-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(root().join("infra/openapi.yaml"), dir.join("openapi.yaml")).unwrap();
    let tpl = dir.join("template.yaml");
    std::fs::write(&tpl, &rendered).unwrap();
    cfn_lint(&tpl);
    let out = dir.join("template.cfn.json");
    if let Err(e) = run(Command::new(tool(".venv", "python"))
        .arg(root().join("tests/scripts/sam-translate.py"))
        .arg(&tpl)
        .arg(&out))
    {
        panic!("the SAM translation of the template with {extra} failed:\n{e}");
    }
    cfn_lint(&out);
    let json: Json = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let logical = gen_template::TaskEntry::of(extra).logical;
    assert_eq!(
        json["Resources"][format!("{logical}Function").as_str()]["Type"],
        "AWS::Lambda::Function"
    );
}
