//! The local stack plus the api function: a locally signed token issuer, the API on moto and the
//! simulators, and the local gateway in front of it on 127.0.0.1. Every answer a test reads through
//! [`ApiStack::call`] is checked against infra/openapi.yaml.

use crate::gateway::LocalGateway;
use crate::openapi::OpenApi;
use crate::{INVENTORY_QUEUE, Stack, StackOptions};
use serde_json::Value;
use shopsync_api::Api;
use shopsync_api::auth::{AuthConfig, KeySource};
use shopsync_api::local_issuer::LocalIssuer;
use shopsync_aws::SqsTaskQueues;
use shopsync_domain::TaskKind;
use shopsync_runtime::api_fn::{self, ApiSettings};
use shopsync_runtime::status_fn::{StatusConfig, status_service};
use shopsync_status::StatusService;
use std::sync::Arc;
use std::time::Duration;

pub struct ApiStack {
    pub stack: Stack,
    pub issuer: LocalIssuer,
    pub api: Arc<Api>,
    pub status: Arc<StatusService>,
    pub gateway: LocalGateway,
    pub openapi: OpenApi,
    http: reqwest::Client,
}

/// An answer: status, `Location` header, JSON body, every header, and the body's size.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub location: Option<String>,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
    /// Bytes of the body as sent.
    pub size: usize,
}

impl Answer {
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }

    /// A header's value, if present and text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl ApiStack {
    pub async fn start(
        opts: StackOptions,
        foreground_budget: Duration,
    ) -> Result<ApiStack, String> {
        let stack = Stack::start(opts).await?;
        let issuer = LocalIssuer::generate();
        // Every task queue of the template, as the api function's `QUEUE_URL_<TASK>` variables name
        // them (`<Task>Queue`, e.g. SyncInventoryQueue).
        let urls: Vec<(TaskKind, String)> = TaskKind::ALL
            .into_iter()
            .filter_map(|task| {
                let logical = format!(
                    "{}Queue",
                    shopsync_status::emf::pascal_case(task.name(), '-')
                );
                stack
                    .resources
                    .queues
                    .get(&logical)
                    .map(|url| (task, url.clone()))
            })
            .collect();
        if !urls.iter().any(|(t, _)| *t == TaskKind::SyncInventory) {
            return Err(format!("the template has no {INVENTORY_QUEUE}"));
        }
        let queues = SqsTaskQueues::from_urls(
            aws_sdk_sqs::Client::new(&stack.sdk),
            urls,
            &stack.resources.dlq_url,
        );
        let state = StatusConfig {
            table_name: stack.resources.table_name.clone(),
            dlq_url: stack.resources.dlq_url.clone(),
        };
        let status = Arc::new(
            status_service(&stack.sdk, &state, Arc::new(queues.clone())).with_emf_output(false),
        );
        let settings = ApiSettings {
            auth: AuthConfig {
                issuer: issuer.issuer.clone(),
                audience: issuer.audience.clone(),
                keys: KeySource::Inline(issuer.jwks()),
                leeway_secs: 30,
            },
            runtime: stack.app.config.clone(),
            foreground_budget,
        };
        let api = Arc::new(api_fn::build_api(
            &stack.adapters,
            queues,
            status.clone(),
            settings,
        ));
        let gateway = LocalGateway::start(api.clone())
            .await
            .map_err(|e| format!("local gateway: {e}"))?;
        Ok(ApiStack {
            stack,
            issuer,
            api,
            status,
            gateway,
            openapi: OpenApi::load()?,
            http: reqwest::Client::new(),
        })
    }

    /// A merchant token for `shops` (10 minutes).
    pub fn token(&self, shops: &[&str]) -> String {
        self.issuer.token("merchant", shops, false, 600)
    }

    /// An administrator token for `shops`.
    pub fn admin_token(&self, shops: &[&str]) -> String {
        self.issuer.token("admin", shops, true, 600)
    }

    /// Send a request through the local gateway; the answer must match the OpenAPI document.
    pub async fn call(
        &self,
        method: &str,
        path_and_query: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Answer {
        self.call_with_headers(method, path_and_query, token, body, &[])
            .await
    }

    /// `POST /shops/{shop}/runs` with `body`.
    pub async fn post_run(&self, shop: &str, token: &str, body: &Value) -> Answer {
        self.call(
            "POST",
            &format!("/shops/{shop}/runs"),
            Some(token),
            Some(body),
        )
        .await
    }

    /// [`ApiStack::post_run`] with an `Idempotency-Key`.
    pub async fn post_run_with_key(
        &self,
        shop: &str,
        token: &str,
        body: &Value,
        key: &str,
    ) -> Answer {
        let path = format!("/shops/{shop}/runs");
        let headers = [("Idempotency-Key", key)];
        self.call_with_headers("POST", &path, Some(token), Some(body), &headers)
            .await
    }

    /// [`ApiStack::call`] with extra request headers.
    pub async fn call_with_headers(
        &self,
        method: &str,
        path_and_query: &str,
        token: Option<&str>,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let body = body.map(|b| b.to_string().into_bytes());
        let answer = self
            .send(method, path_and_query, token, body, headers)
            .await;
        let path = path_and_query.split('?').next().unwrap_or("");
        if let Err(e) = self
            .openapi
            .check_response(method, path, answer.status, &answer.body)
        {
            panic!("answer does not match infra/openapi.yaml: {e}");
        }
        answer
    }

    /// Send raw bytes (for malformed bodies); the answer is not checked.
    pub async fn raw(
        &self,
        method: &str,
        path_and_query: &str,
        token: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> Answer {
        self.send(method, path_and_query, token, body, &[]).await
    }

    /// [`ApiStack::raw`] with a whole `Authorization` header value instead of a bearer token.
    pub async fn raw_with_authorization(
        &self,
        method: &str,
        path_and_query: &str,
        authorization: &str,
    ) -> Answer {
        let headers = [("Authorization", authorization)];
        self.send(method, path_and_query, None, None, &headers)
            .await
    }

    async fn send(
        &self,
        method: &str,
        path_and_query: &str,
        token: Option<&str>,
        body: Option<Vec<u8>>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let url = format!("{}{}", self.gateway.base_url(), path_and_query);
        let mut req = self
            .http
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).expect("method"),
                url,
            )
            .header("content-type", "application/json");
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        if let Some(b) = body {
            req = req.body(b);
        }
        let response = req.send().await.expect("local gateway answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let location = headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(String::from);
        let text = response.text().await.unwrap_or_default();
        let size = text.len();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Answer {
            status,
            location,
            body,
            headers,
            size,
        }
    }
}
