//! A local Lambda Runtime API, so the real function binary can be run and invoked as Lambda would:
//! the binary long-polls `GET /2018-06-01/runtime/invocation/next`, gets an event with its request id
//! and deadline headers, and posts the result to `…/{id}/response` (or `…/{id}/error`). Only what
//! `lambda_runtime` uses is served; everything listens on 127.0.0.1.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::Notify;

#[derive(Default)]
struct Inner {
    pending: VecDeque<(String, Value)>,
    results: HashMap<String, Result<Value, Value>>,
    init_error: Option<Value>,
}

#[derive(Default)]
struct Shared {
    inner: Mutex<Inner>,
    event_ready: Notify,
    result_ready: Notify,
}

pub struct LambdaRuntimeApi {
    address: String,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
    /// Lambda's timeout given to each invocation (its deadline header).
    pub timeout: Duration,
}

impl LambdaRuntimeApi {
    pub async fn start() -> std::io::Result<LambdaRuntimeApi> {
        let shared = Arc::new(Shared::default());
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?.to_string();
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(LambdaRuntimeApi {
            address,
            shared,
            server,
            timeout: Duration::from_secs(900),
        })
    }

    /// `host:port`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// Invoke the function with `event` and wait up to `wait` for its answer: `Ok(response)` or
    /// `Err(error body)` (`errorType`, `errorMessage`).
    pub async fn invoke(&self, event: Value, wait: Duration) -> Result<Value, Value> {
        let id = uuid::Uuid::new_v4().to_string();
        {
            let mut inner = self.shared.inner.lock().expect("runtime api state");
            inner.pending.push_back((id.clone(), event));
        }
        self.shared.event_ready.notify_one();
        let until = tokio::time::Instant::now() + wait;
        loop {
            let notified = self.shared.result_ready.notified();
            {
                let mut inner = self.shared.inner.lock().expect("runtime api state");
                if let Some(result) = inner.results.remove(&id) {
                    return result;
                }
                if let Some(e) = inner.init_error.clone() {
                    return Err(e);
                }
            }
            if tokio::time::timeout_at(until, notified).await.is_err() {
                return Err(
                    serde_json::json!({"errorType": "Sandbox.Timedout", "errorMessage": format!("no answer within {wait:?}")}),
                );
            }
        }
    }
}

impl Drop for LambdaRuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn next(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    loop {
        let notified = shared.event_ready.notified();
        let item = shared
            .inner
            .lock()
            .expect("runtime api state")
            .pending
            .pop_front();
        if let Some((id, event)) = item {
            let deadline = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                + Duration::from_secs(900);
            let mut headers = HeaderMap::new();
            let value = |s: String| {
                HeaderValue::from_str(&s).unwrap_or(HeaderValue::from_static("invalid"))
            };
            headers.insert("lambda-runtime-aws-request-id", value(id));
            headers.insert(
                "lambda-runtime-deadline-ms",
                value(deadline.as_millis().to_string()),
            );
            headers.insert(
                "lambda-runtime-invoked-function-arn",
                HeaderValue::from_static("arn:aws:lambda:us-east-1:123456789012:function:local"),
            );
            headers.insert(
                "lambda-runtime-trace-id",
                HeaderValue::from_static("Root=1-00000000-000000000000000000000000;Sampled=0"),
            );
            return (StatusCode::OK, headers, event.to_string());
        }
        notified.await;
    }
}

fn parse(body: &Bytes) -> Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
}

async fn response(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    record(&shared, id, Ok(parse(&body)))
}

async fn error(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    record(&shared, id, Err(parse(&body)))
}

fn record(shared: &Shared, id: String, result: Result<Value, Value>) -> StatusCode {
    shared
        .inner
        .lock()
        .expect("runtime api state")
        .results
        .insert(id, result);
    shared.result_ready.notify_waiters();
    StatusCode::ACCEPTED
}

async fn init_error(State(shared): State<Arc<Shared>>, body: Bytes) -> StatusCode {
    shared.inner.lock().expect("runtime api state").init_error = Some(parse(&body));
    shared.result_ready.notify_waiters();
    StatusCode::ACCEPTED
}

/// A function binary configured as Lambda and the SAM template configure it on this local stack:
/// the Runtime API of `runtime`, the stack's table and dead-letter queue, moto as the AWS endpoint
/// with dummy credentials, and nothing inherited from the test's environment but `PATH`. Callers add
/// the function's own variables.
pub fn function_process(
    binary: &str,
    name: &str,
    runtime: &LambdaRuntimeApi,
    stack: &crate::Stack,
    aws_endpoint: &str,
) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(binary);
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_LAMBDA_RUNTIME_API", runtime.address())
        .env("AWS_LAMBDA_FUNCTION_NAME", name)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("TABLE_NAME", &stack.resources.table_name)
        .env("DLQ_URL", &stack.resources.dlq_url)
        .env("MAX_RECEIVE_COUNT", "5")
        .env("AWS_ENDPOINT_URL", aws_endpoint)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("RUST_LOG", "warn")
        .kill_on_drop(true);
    command
}
