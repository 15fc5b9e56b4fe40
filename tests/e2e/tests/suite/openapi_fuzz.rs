//! infra/openapi.yaml and the api function agree, property-based: schemathesis (installed into
//! `.venv-schemathesis` by `tests/scripts/ensure-tools.sh`) reads the document and sends the api
//! function, behind the local gateway on 127.0.0.1, the document's examples, boundary and negative
//! cases of every parameter and body (coverage) and generated requests (fuzzing), with an
//! administrator's token for every shop and one registered shop (`DEMO`). Every answer must be: no
//! 5xx; a documented status with the documented schema, headers and content type; a schema-invalid
//! request refused; a schema-valid one never refused with a 400 (except a settings document that
//! breaks a rule between fields the document lists, checked by `tests/e2e/schemathesis/hooks.py`);
//! a method a path does not serve answered 405 with an `Allow` that lists the documented methods.
//! A second, smaller run sends requests with bad tokens (none, another scheme, expired, another
//! key, another audience or issuer, `alg: none`, HS256, a long key id, a malformed claim, garbage):
//! each must be a small 401 with one plain sentence.
//!
//! Bounded and reproducible: the settings are in `tests/e2e/schemathesis/schemathesis.toml` (fixed
//! seed, deterministic generation, a fixed number of examples per operation, one worker, no example
//! database), and a run is killed and fails after [`TIME_LIMIT`]. Nothing leaves 127.0.0.1.
//!
//! A missing schemathesis fails the test, saying how to install it; `SHOPSYNC_SKIP_API_FUZZ=1` turns
//! it into a skip on machines without Python (documented in the README).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Value, json};
use shopsync_api::local_issuer::LocalIssuer;
use shopsync_e2e::StackOptions;
use shopsync_e2e::api_stack::ApiStack;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

const SKIP_VAR: &str = "SHOPSYNC_SKIP_API_FUZZ";
/// The schemathesis version `tests/scripts/ensure-tools.sh` installs.
const SCHEMATHESIS_VERSION: &str = "4.32.5";
/// One schemathesis run may take this long.
const TIME_LIMIT: Duration = Duration::from_secs(600);
/// Examples per operation in the bad-token run.
const BAD_TOKEN_EXAMPLES: &str = "4";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// schemathesis from `.venv-schemathesis` (or PATH); panics with the fix when it is missing.
fn schemathesis() -> PathBuf {
    let in_venv = root().join(".venv-schemathesis/bin/schemathesis");
    let tool = if in_venv.exists() {
        in_venv
    } else {
        std::env::var_os("PATH")
            .and_then(|p| {
                std::env::split_paths(&p)
                    .map(|d| d.join("schemathesis"))
                    .find(|p| p.exists())
            })
            .unwrap_or_else(|| {
                panic!(
                    "schemathesis is not installed (.venv-schemathesis/bin/schemathesis): run \
                     tests/scripts/ensure-tools.sh, or set {SKIP_VAR}=1 on a machine without Python"
                )
            })
    };
    let version = std::process::Command::new(&tool)
        .arg("--version")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", tool.display()));
    let version = String::from_utf8_lossy(&version.stdout).into_owned();
    assert!(
        version.contains(SCHEMATHESIS_VERSION),
        "schemathesis {SCHEMATHESIS_VERSION} is expected, found {version}: run tests/scripts/ensure-tools.sh"
    );
    tool
}

/// One schemathesis run against `base_url` with the test's configuration and hooks; panics with
/// schemathesis' report when it finds anything.
async fn run(
    tool: &Path,
    base_url: &str,
    what: &str,
    args: &[String],
    env: &[(&str, String)],
) -> Duration {
    let config = root().join("tests/e2e/schemathesis");
    // A fresh working directory: schemathesis writes nothing into the repository.
    let work = std::env::temp_dir().join(format!(
        "shopsync-api-fuzz-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&work).unwrap();
    let mut command = tokio::process::Command::new(tool);
    command
        .arg("--config-file")
        .arg(config.join("schemathesis.toml"))
        .arg("--no-color")
        .arg("run")
        .arg(root().join("infra/openapi.yaml"))
        .arg("--url")
        .arg(base_url)
        .arg("--report-dir")
        .arg(&work)
        .args(args)
        .current_dir(&work)
        .env("SCHEMATHESIS_HOOKS", config.join("hooks.py"))
        // The run stays on 127.0.0.1: no proxy.
        .env("NO_PROXY", "127.0.0.1")
        .env_remove("HTTP_PROXY")
        .env_remove("HTTPS_PROXY")
        .env_remove("http_proxy")
        .env_remove("https_proxy")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (name, value) in env {
        command.env(name, value);
    }
    let started = Instant::now();
    let output = match tokio::time::timeout(TIME_LIMIT, command.output()).await {
        Ok(output) => output.unwrap_or_else(|e| panic!("cannot run {}: {e}", tool.display())),
        Err(_) => panic!("the {what} run of schemathesis did not finish within {TIME_LIMIT:?}"),
    };
    let took = started.elapsed();
    let _ = std::fs::remove_dir_all(&work);
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "schemathesis ({what}) found answers that disagree with infra/openapi.yaml (exit {}):\n{report}",
        output.status
    );
    eprintln!("schemathesis ({what}) passed in {took:?}:\n{report}");
    took
}

/// `Authorization` values that must all be refused (`null` = no header).
fn bad_authorizations(s: &ApiStack) -> Vec<Value> {
    let b64 = |v: Value| B64.encode(v.to_string());
    let now = shopsync_domain::time::now_secs();
    let claims = json!({"iss": s.issuer.issuer, "aud": s.issuer.audience, "sub": "fuzz",
        "iat": now, "exp": now + 600, "shops": ["*"], "scope": "shopsync/admin"});
    let with = |key: &str, value: Value| {
        let mut c = claims.clone();
        c[key] = value;
        c
    };
    let bearer = |t: String| Value::from(format!("Bearer {t}"));
    vec![
        Value::Null,
        Value::from("Basic dXNlcjpwYXNz"),
        Value::from("Bearer"),
        bearer("garbage".into()),
        bearer(s.issuer.token("fuzz", &["*"], true, -600)),
        bearer(LocalIssuer::generate().token("fuzz", &["*"], true, 600)),
        bearer(s.issuer.sign(&with("aud", json!("someone-else")))),
        bearer(s.issuer.sign(&with("iss", json!("https://evil.example")))),
        bearer(s.issuer.sign(&with("nbf", json!(now + 3600)))),
        bearer(s.issuer.sign(&with("shops", json!(5)))),
        bearer(format!(
            "{}.{}.",
            b64(json!({"alg": "none", "typ": "JWT"})),
            b64(claims.clone())
        )),
        bearer(format!(
            "{}.{}.c2ln",
            b64(json!({"alg": "HS256", "typ": "JWT", "kid": "x"})),
            b64(claims.clone())
        )),
        bearer(format!(
            "{}.{}.c2ln",
            b64(json!({"alg": "RS256", "typ": "JWT", "kid": "k".repeat(2000)})),
            b64(claims.clone())
        )),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_the_document_describes_is_answered_as_it_says() {
    if std::env::var(SKIP_VAR).as_deref() == Ok("1") {
        eprintln!("skipped the property-based API test: {SKIP_VAR}=1");
        return;
    }
    let tool = schemathesis();
    let s = ApiStack::start(StackOptions::default(), Duration::from_secs(5))
        .await
        .expect("local stack");
    s.stack.seed_shop("DEMO", 5).await.unwrap();
    let base_url = s.gateway.base_url();
    assert!(base_url.starts_with("http://127.0.0.1:"), "{base_url}");

    let token = s.admin_token(&["*"]);
    let good = run(
        &tool,
        &base_url,
        "an administrator's token",
        &["--header".into(), format!("Authorization: Bearer {token}")],
        &[],
    )
    .await;

    let bad_tokens = serde_json::to_string(&bad_authorizations(&s)).unwrap();
    let bad = run(
        &tool,
        &base_url,
        "bad tokens",
        &[
            "--phases".into(),
            "examples,fuzzing".into(),
            "--max-examples".into(),
            BAD_TOKEN_EXAMPLES.into(),
            "--checks".into(),
            "not_a_server_error,status_code_conformance,content_type_conformance,\
             response_schema_conformance,refused_without_a_valid_token"
                .into(),
        ],
        &[("SHOPSYNC_FUZZ_BAD_TOKENS", bad_tokens)],
    )
    .await;
    eprintln!("schemathesis took {good:?} with the good token and {bad:?} with bad ones");
}
