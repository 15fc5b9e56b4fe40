//! The real `api` binary, run as Lambda runs it: configured only through the environment the SAM
//! template gives it (plus `AWS_ENDPOINT_URL` for moto and an inline key set instead of the issuer's
//! JWKS URL), answering HTTP API (payload 2.0) events from a local Lambda Runtime API.

use axum::http::{HeaderMap, HeaderValue, Method, Uri};
use serde_json::{Value, json};
use shopsync_api::local_issuer::LocalIssuer;
use shopsync_e2e::gateway::http_api_event;
use shopsync_e2e::lambda_api::{LambdaRuntimeApi, function_process};
use shopsync_e2e::{Stack, StackOptions};
use shopsync_localstack::MotoServer;
use std::time::Duration;

fn event(method: &str, path_and_query: &str, token: Option<&str>, body: &[u8]) -> Value {
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    if let Some(t) = token {
        headers.insert(
            "authorization",
            HeaderValue::from_str(&format!("Bearer {t}")).unwrap(),
        );
    }
    let uri: Uri = path_and_query.parse().unwrap();
    http_api_event(
        &Method::from_bytes(method.as_bytes()).unwrap(),
        &uri,
        &headers,
        body,
    )
}

fn body(answer: &Value) -> Value {
    serde_json::from_str(answer["body"].as_str().unwrap_or("null")).unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_answers_http_api_events_with_the_api() {
    let stack = Stack::start(StackOptions::default())
        .await
        .expect("local stack");
    stack.seed_shop("BINAPI", 10).await.unwrap();
    let issuer = LocalIssuer::generate();
    let runtime = LambdaRuntimeApi::start().await.unwrap();
    let moto = MotoServer::shared().unwrap();
    let mut child = function_process(
        env!("CARGO_BIN_EXE_api"),
        "api",
        &runtime,
        &stack,
        moto.endpoint(),
    )
    .env("QUEUE_URL_SYNC_INVENTORY", &stack.runner.queue_url)
    .env("JWT_ISSUER", &issuer.issuer)
    .env("JWT_AUDIENCE", &issuer.audience)
    .env("JWT_JWKS", issuer.jwks())
    .env("FOREGROUND_BUDGET_SECS", "20")
    .spawn()
    .expect("start the function binary");

    let token = issuer.token("merchant", &["BINAPI"], false, 600);
    let run = serde_json::to_vec(&json!({"task": "sync-inventory"})).unwrap();
    let answer = runtime
        .invoke(
            event("POST", "/shops/BINAPI/runs", Some(&token), &run),
            Duration::from_secs(60),
        )
        .await
        .expect("the api answered");
    assert_eq!(answer["statusCode"], 202, "{answer}");
    assert_eq!(answer["headers"]["content-type"], "application/json");
    let job_id = body(&answer)["job_id"].as_str().unwrap().to_string();
    assert_eq!(
        answer["headers"]["location"],
        format!("/shops/BINAPI/jobs/{job_id}")
    );
    assert_eq!(stack.jobs("BINAPI").await.len(), 1);

    let answer = runtime
        .invoke(
            event(
                "GET",
                &format!("/shops/BINAPI/jobs/{job_id}"),
                Some(&token),
                b"",
            ),
            Duration::from_secs(30),
        )
        .await
        .unwrap();
    assert_eq!(answer["statusCode"], 200);
    assert_eq!(body(&answer)["status"], "queued");

    // No token: 401 from the function itself; another shop: 403.
    let answer = runtime
        .invoke(
            event("GET", "/shops/BINAPI/status", None, b""),
            Duration::from_secs(30),
        )
        .await
        .unwrap();
    assert_eq!(answer["statusCode"], 401);
    let answer = runtime
        .invoke(
            event("GET", "/shops/OTHER/status", Some(&token), b""),
            Duration::from_secs(30),
        )
        .await
        .unwrap();
    assert_eq!(answer["statusCode"], 403);

    // An event that is not an HTTP API event: a 400 answer, and the process keeps serving.
    let answer = runtime
        .invoke(json!({"Records": []}), Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(answer["statusCode"], 400, "{answer}");
    assert!(
        child.try_wait().unwrap().is_none(),
        "the function process must still be running"
    );
    child.kill().await.unwrap();
}
