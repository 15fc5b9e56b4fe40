//! A shop's staged Shopify orders (the records sync-orders stages for create-sales-orders): list them
//! by status, read one, and queue create-sales-orders again for one that failed.
//!
//! Staged orders are records of the generic record store (kind [`STAGED_ORDERS`], id the order's GID,
//! status one of [`order_status`]). Their body belongs to the order tasks and grows with them, so the
//! API reads only a small view of it ([`OrderView`]): unknown fields are ignored, missing ones take
//! defaults, and a body that cannot be read at all still lists (with an `error` saying so).
//!
//! Every id the caller sends is checked against its pattern before it becomes part of a storage key:
//! a path's order id is `^[0-9]{1,20}$` ([`routes::order_gid`]), a listing's cursor an order GID
//! ([`routes::check_order_cursor`]).
//!
//! A retry places a **manual create-sales-orders job** by the very path of `POST /shops/{shop}/runs`
//! ([`Api::run_task`]): the same shop and task checks, at most one waiting job per shop and task (a
//! second retry, or a retry while a run waits, joins that job), the same answer. Only an
//! `unprocessed` order can be retried: a processed one already has its BC document (never made twice),
//! and a processed order that changed in Shopify afterwards is never applied again (DESIGN §6) — the
//! merchant fixes that document in BC.

use crate::Api;
use crate::http::{ApiError, ApiRequest, ApiResponse};
use crate::routes::{self, preview};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shopsync_domain::ports::Record;
use shopsync_domain::staging::{STAGED_ORDERS, order_status};
use shopsync_domain::text::bounded;
use shopsync_domain::{RunOptions, TaskKind};

/// The statuses a staged order can have, in the order the API names them.
pub const ORDER_STATUSES: [&str; 3] = [
    order_status::UNPROCESSED,
    order_status::PROCESSED,
    order_status::CHANGED_AFTER_PROCESSING,
];

/// Longest `name` an answer shows (sync-orders stages at most 100 characters).
const MAX_NAME_CHARS: usize = 100;
/// Longest `error` an answer shows (sync-orders composes at most 400 characters).
const MAX_ERROR_CHARS: usize = 500;

/// The `status` query parameter: one of [`ORDER_STATUSES`], default `unprocessed`.
pub fn status_param(req: &ApiRequest) -> Result<&'static str, ApiError> {
    match req.query_param("status")? {
        None => Ok(order_status::UNPROCESSED),
        Some(s) => ORDER_STATUSES
            .iter()
            .find(|known| **known == s)
            .copied()
            .ok_or_else(|| {
                ApiError::invalid(format!(
                    "status '{}' is not one of {}",
                    preview(s),
                    ORDER_STATUSES.join(", ")
                ))
            }),
    }
}

/// What the API shows of a staged order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrderView {
    /// The order's GID (the record id; a listing's cursor).
    pub id: String,
    /// `#1001`.
    pub name: String,
    /// One of [`ORDER_STATUSES`]; `None` for a record without a status (not on any listing).
    pub status: Option<String>,
    /// Shopify's `updatedAt` of the version staged.
    pub updated_at: String,
    /// Customer and every line mapped: create-sales-orders can make it a BC document.
    pub mapped: bool,
    /// Why the order is stuck (not mapped, the last attempt failed, changed after processing).
    pub error: Option<String>,
    /// The BC document made from the order, once there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document: Option<Value>,
}

/// The fields of a staged order's body the view reads; anything else is ignored.
#[derive(Debug, Default, Deserialize)]
struct Body {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    updated_at: Option<String>,
    #[serde(default)]
    mapped: Option<bool>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    document: Option<Value>,
}

impl OrderView {
    pub fn of(record: &Record) -> OrderView {
        let (body, unreadable) = match serde_json::from_str::<Body>(&record.body) {
            Ok(body) => (body, false),
            Err(e) => {
                tracing::warn!(id = %preview(&record.id), error = %e, "a staged order's body is unreadable");
                (Body::default(), true)
            }
        };
        let error = body
            .error
            .filter(|e| !e.trim().is_empty())
            .map(|e| bounded(&e, MAX_ERROR_CHARS))
            .or_else(|| unreadable.then(|| "the staged record is unreadable".to_string()));
        OrderView {
            id: record.id.clone(),
            name: bounded(body.name.as_deref().unwrap_or(""), MAX_NAME_CHARS),
            status: record.status.clone(),
            updated_at: bounded(body.updated_at.as_deref().unwrap_or(""), 64),
            mapped: body.mapped.unwrap_or(false),
            error,
            document: body.document.and_then(document),
        }
    }

    /// The name for messages: the order's name, or its GID when it has none.
    fn label(&self) -> String {
        if self.name.is_empty() {
            format!("order {}", preview(&self.id))
        } else {
            format!("order {}", preview(&self.name))
        }
    }

    /// Why this order cannot be retried (`409 not_retryable`), or `None` when it can.
    pub fn retry_refusal(&self) -> Option<ApiError> {
        let label = self.label();
        let reason = match self.status.as_deref() {
            Some(order_status::UNPROCESSED) => return None,
            Some(order_status::PROCESSED) => {
                let number = self
                    .document
                    .as_ref()
                    .and_then(|d| d.get("number"))
                    .and_then(Value::as_str)
                    .map(|n| format!(" {}", preview(n)))
                    .unwrap_or_default();
                format!(
                    "{label} already has BC document{number}; a document is never made twice for one order"
                )
            }
            Some(order_status::CHANGED_AFTER_PROCESSING) => format!(
                "{label} changed after processing; fix it in BC, changes are never re-applied"
            ),
            Some(other) => format!(
                "{label} is {}; only unprocessed orders can be retried",
                preview(other)
            ),
            None => format!("{label} has no status; only unprocessed orders can be retried"),
        };
        Some(ApiError::conflict("not_retryable", reason))
    }
}

/// The `document` of a body as an answer shows it: an object as it is, a bare string as its number;
/// anything else is not a document.
fn document(value: Value) -> Option<Value> {
    match value {
        Value::Object(_) => Some(value),
        Value::String(number) if !number.is_empty() => {
            Some(serde_json::json!({ "number": bounded(&number, 100) }))
        }
        _ => None,
    }
}

/// The answer of `GET /shops/{shop}/orders`.
#[derive(Debug, Serialize)]
struct OrderPage {
    orders: Vec<OrderView>,
    /// Pass as `after` for the next page; `null` on the last page.
    next: Option<String>,
}

impl Api {
    /// `GET /shops/{shop}/orders?status=&after=&limit=`.
    pub(crate) async fn list_orders(
        &self,
        shop: &str,
        req: &ApiRequest,
    ) -> Result<ApiResponse, ApiError> {
        let status = status_param(req)?;
        let limit = routes::limit(req)?;
        let after = req.query_param("after")?;
        if let Some(after) = after {
            routes::check_order_cursor(after)?;
        }
        let page = self
            .records
            .list_by_status(shop, STAGED_ORDERS, status, after, limit)
            .await?;
        let body = OrderPage {
            orders: page.records.iter().map(OrderView::of).collect(),
            // Only a cursor this API would take back (every staged order id is an order GID).
            next: page
                .next_after
                .filter(|next| routes::check_order_cursor(next).is_ok()),
        };
        Ok(ApiResponse::json(200, &body))
    }

    /// The staged order `order_id` (the numeric part of its GID), or `404`.
    async fn staged_order(&self, shop: &str, order_id: &str) -> Result<OrderView, ApiError> {
        let gid = routes::order_gid(order_id)?;
        let record = self
            .records
            .get_record(shop, STAGED_ORDERS, &gid)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("shop {shop} has no staged order {gid}")))?;
        Ok(OrderView::of(&record))
    }

    /// `GET /shops/{shop}/orders/{order_id}`.
    pub(crate) async fn get_order(
        &self,
        shop: &str,
        order_id: &str,
    ) -> Result<ApiResponse, ApiError> {
        let order = self.staged_order(shop, order_id).await?;
        Ok(ApiResponse::json(200, &order))
    }

    /// `POST /shops/{shop}/orders/{order_id}/retry`: a manual create-sales-orders job for an
    /// unprocessed order, by the path of a manual run.
    pub(crate) async fn retry_order(
        &self,
        shop: &str,
        order_id: &str,
    ) -> Result<ApiResponse, ApiError> {
        let order = self.staged_order(shop, order_id).await?;
        if let Some(refusal) = order.retry_refusal() {
            return Err(refusal);
        }
        let answer = self
            .run_task(
                shop,
                TaskKind::CreateSalesOrders,
                &RunOptions::default(),
                None,
            )
            .await?;
        tracing::info!(shop, order = %preview(&order.id), status = answer.status,
            job_id = answer.body["job_id"].as_str().unwrap_or("-"), "staged order retried");
        Ok(answer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(status: Option<&str>, body: &str) -> Record {
        Record::new("gid://shopify/Order/1001", status, body)
    }

    #[test]
    fn the_status_defaults_to_unprocessed_and_names_the_allowed_values() {
        let req = |v: Option<&str>| {
            let r = ApiRequest::new("GET", "/shops/DEMO/orders");
            match v {
                Some(v) => r.query("status", v),
                None => r,
            }
        };
        assert_eq!(status_param(&req(None)).unwrap(), "unprocessed");
        for s in ORDER_STATUSES {
            assert_eq!(status_param(&req(Some(s))).unwrap(), s);
        }
        for bad in [
            "",
            "Processed",
            "failed",
            "unprocessed ",
            &"x".repeat(10_000),
        ] {
            let e = status_param(&req(Some(bad))).unwrap_err();
            assert_eq!((e.status, e.code), (400, "invalid_request"), "{bad:?}");
            assert!(
                e.message
                    .ends_with("unprocessed, processed, changed_after_processing"),
                "{}",
                e.message
            );
            assert!(e.message.len() < 200, "{}", e.message.len());
        }
        let twice = req(Some("processed")).query("status", "processed");
        assert_eq!(status_param(&twice).unwrap_err().status, 400);
    }

    #[test]
    fn the_view_reads_what_it_knows_and_ignores_the_rest() {
        let body = r##"{"name":"#1001","order_id":"gid://shopify/Order/1001","updated_at":"2026-01-02T03:04:05Z",
            "mapped":true,"error":null,"customer_no":"C1","lines":[{"x":1}],"future":{"a":[1,2]},
            "document":{"kind":"sales_order","number":"S-ORD101001","id":"abc"}}"##;
        let view = OrderView::of(&record(Some("processed"), body));
        assert_eq!(view.id, "gid://shopify/Order/1001");
        assert_eq!(view.name, "#1001");
        assert_eq!(view.status.as_deref(), Some("processed"));
        assert_eq!(view.updated_at, "2026-01-02T03:04:05Z");
        assert!(view.mapped);
        assert_eq!(view.error, None);
        assert_eq!(view.document.as_ref().unwrap()["number"], "S-ORD101001");
        let shown = serde_json::to_value(&view).unwrap();
        let mut keys: Vec<_> = shown.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "document",
                "error",
                "id",
                "mapped",
                "name",
                "status",
                "updated_at"
            ]
        );

        // Missing fields take defaults; no document is left out of the answer.
        let view = OrderView::of(&record(Some("unprocessed"), r#"{"error":"no customer"}"#));
        assert_eq!((view.name.as_str(), view.mapped), ("", false));
        assert_eq!(view.error.as_deref(), Some("no customer"));
        assert!(
            serde_json::to_value(&view)
                .unwrap()
                .get("document")
                .is_none()
        );
        // A blank error is no error; a bare document number is shown as one.
        let view = OrderView::of(&record(
            Some("processed"),
            r#"{"error":"  ","document":"S-ORD1"}"#,
        ));
        assert_eq!(view.error, None);
        assert_eq!(view.document, Some(serde_json::json!({"number": "S-ORD1"})));
        // An unreadable body still lists, saying so.
        let view = OrderView::of(&record(Some("unprocessed"), "not json"));
        assert_eq!(
            view.error.as_deref(),
            Some("the staged record is unreadable")
        );
        let view = OrderView::of(&record(Some("unprocessed"), r#"{"name": 5}"#));
        assert!(view.error.is_some());
        // Long stored texts are bounded.
        let long = "x".repeat(5_000);
        let view = OrderView::of(&record(
            Some("unprocessed"),
            &serde_json::json!({"name": long, "error": long}).to_string(),
        ));
        assert!(view.name.chars().count() <= MAX_NAME_CHARS + 1);
        assert!(view.error.unwrap().chars().count() <= MAX_ERROR_CHARS + 1);
    }

    #[test]
    fn only_an_unprocessed_order_can_be_retried() {
        let view = |status: Option<&str>, body: &str| OrderView::of(&record(status, body));
        assert!(
            view(
                Some("unprocessed"),
                r##"{"name":"#1","error":"BC said no"}"##
            )
            .retry_refusal()
            .is_none()
        );

        let e = view(
            Some("processed"),
            r##"{"name":"#1001","document":{"number":"S-ORD101001"}}"##,
        )
        .retry_refusal()
        .unwrap();
        assert_eq!((e.status, e.code), (409, "not_retryable"));
        assert!(
            e.message
                .starts_with("order #1001 already has BC document S-ORD101001"),
            "{}",
            e.message
        );
        let e = view(Some("processed"), r##"{"name":"#1001"}"##)
            .retry_refusal()
            .unwrap();
        assert!(
            e.message
                .starts_with("order #1001 already has BC document;"),
            "{}",
            e.message
        );

        let e = view(Some("changed_after_processing"), r##"{"name":"#7"}"##)
            .retry_refusal()
            .unwrap();
        assert_eq!((e.status, e.code), (409, "not_retryable"));
        assert_eq!(
            e.message,
            "order #7 changed after processing; fix it in BC, changes are never re-applied"
        );

        for status in [None, Some("archived")] {
            let e = view(status, "{}").retry_refusal().unwrap();
            assert_eq!(e.status, 409);
            assert!(
                e.message.starts_with("order gid://shopify/Order/1001"),
                "{}",
                e.message
            );
        }
    }

    /// The handler on doubles: every gate in order, and the retry's one waiting job.
    mod handler {
        use crate::auth::{AuthConfig, KeySource};
        use crate::local_issuer::LocalIssuer;
        use crate::{Api, ApiRequest, RunStarter, StatusApi, Verifier};
        use async_trait::async_trait;
        use serde_json::{Value, json};
        use shopsync_domain::ports::{
            IdempotencyLedger, JobPage, JobStore, LedgerBegin, LedgerEntry, Record, RecordPage,
            RecordStore, Result, SettingsStore, WaitingJobCreate,
        };
        use shopsync_domain::staging::STAGED_ORDERS;
        use shopsync_domain::status::{Cue, CueEntry, Failure, StatusBoard};
        use shopsync_domain::{
            JobRecord, JobStatus, RunOptions, ShopSettings, SyncError, TaskKind,
        };
        use std::collections::{BTreeMap, HashMap};
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        use std::sync::{Arc, Mutex};
        use std::time::Duration;

        const SHOP: &str = "DEMO";

        /// One shop's stores, in memory; what a route must not reach panics.
        #[derive(Default)]
        struct Doubles {
            settings: Mutex<Option<ShopSettings>>,
            jobs: Mutex<BTreeMap<String, JobRecord>>,
            waiting: Mutex<HashMap<String, String>>,
            records: Mutex<BTreeMap<String, Record>>,
            record_reads: AtomicUsize,
            available: AtomicBool,
            enqueued: Mutex<Vec<String>>,
        }

        fn waiting_key(task: TaskKind, options: &RunOptions) -> String {
            format!("{task}/{}", serde_json::to_string(options).unwrap())
        }

        #[async_trait]
        impl SettingsStore for Doubles {
            async fn get_shop(&self, code: &str) -> Result<Option<ShopSettings>> {
                let settings = self.settings.lock().unwrap().clone();
                Ok(settings.filter(|s| s.code == code))
            }
            async fn put_shop(&self, _: &ShopSettings) -> Result<()> {
                unreachable!("settings are not written")
            }
            async fn list_shops(&self) -> Result<Vec<ShopSettings>> {
                unreachable!()
            }
        }

        #[async_trait]
        impl JobStore for Doubles {
            async fn create_job(&self, _: &JobRecord) -> Result<bool> {
                unreachable!("jobs are placed as waiting jobs")
            }
            async fn get_job(&self, _: &str, job_id: &str) -> Result<Option<JobRecord>> {
                Ok(self.jobs.lock().unwrap().get(job_id).cloned())
            }
            async fn update_job_if(&self, _: &JobRecord, _: JobStatus, _: u64) -> Result<bool> {
                unreachable!("the doubles' queue never fails")
            }
            async fn list_jobs(
                &self,
                _: &str,
                _: Option<JobStatus>,
                _: usize,
            ) -> Result<Vec<JobRecord>> {
                unreachable!()
            }
            async fn list_jobs_page(
                &self,
                _: &str,
                _: Option<JobStatus>,
                _: usize,
                _: Option<&str>,
            ) -> Result<JobPage> {
                unreachable!()
            }
            async fn waiting_job_id(
                &self,
                _: &str,
                task: TaskKind,
                options: &RunOptions,
            ) -> Result<Option<String>> {
                let key = waiting_key(task, options);
                Ok(self.waiting.lock().unwrap().get(&key).cloned())
            }
            async fn create_waiting_job(
                &self,
                job: &JobRecord,
                replacing: Option<&str>,
            ) -> Result<WaitingJobCreate> {
                let mut jobs = self.jobs.lock().unwrap();
                let mut waiting = self.waiting.lock().unwrap();
                let key = waiting_key(job.task, &job.options);
                if jobs.contains_key(&job.job_id) {
                    return Ok(WaitingJobCreate::JobExists);
                }
                if waiting.get(&key).map(String::as_str) != replacing {
                    return Ok(WaitingJobCreate::Superseded);
                }
                jobs.insert(job.job_id.clone(), job.clone());
                waiting.insert(key, job.job_id.clone());
                Ok(WaitingJobCreate::Created)
            }
            async fn record_waiting_job(&self, _: &JobRecord) -> Result<()> {
                unreachable!()
            }
        }

        #[async_trait]
        impl IdempotencyLedger for Doubles {
            async fn begin(&self, _: &str, _: &LedgerEntry) -> Result<LedgerBegin> {
                unreachable!("a retry carries no Idempotency-Key")
            }
            async fn get(&self, _: &str, _: &str) -> Result<Option<LedgerEntry>> {
                unreachable!()
            }
            async fn mark_sent(&self, _: &str, _: &str) -> Result<()> {
                unreachable!()
            }
            async fn complete(&self, _: &str, _: &str, _: &str) -> Result<()> {
                unreachable!()
            }
        }

        #[async_trait]
        impl RecordStore for Doubles {
            async fn get_record(&self, shop: &str, kind: &str, id: &str) -> Result<Option<Record>> {
                assert_eq!((shop, kind), (SHOP, STAGED_ORDERS));
                self.record_reads.fetch_add(1, Ordering::SeqCst);
                Ok(self.records.lock().unwrap().get(id).cloned())
            }
            async fn get_records(&self, _: &str, _: &str, _: &[String]) -> Result<Vec<Record>> {
                unreachable!()
            }
            async fn put_record_if(&self, _: &str, _: &str, _: &Record) -> Result<bool> {
                unreachable!("the API never writes a staged order")
            }
            async fn put_records(&self, _: &str, _: &str, _: &[Record]) -> Result<()> {
                unreachable!("the API never writes a staged order")
            }
            async fn delete_records(&self, _: &str, _: &str, _: &[String]) -> Result<()> {
                unreachable!("the API never writes a staged order")
            }
            async fn move_status(
                &self,
                _: &str,
                _: &str,
                _: &str,
                _: Option<&str>,
                _: Option<&str>,
            ) -> Result<bool> {
                unreachable!("the API never writes a staged order")
            }
            async fn list_records(
                &self,
                _: &str,
                _: &str,
                _: Option<&str>,
                _: usize,
            ) -> Result<RecordPage> {
                unreachable!()
            }
            async fn list_by_status(
                &self,
                shop: &str,
                kind: &str,
                status: &str,
                after: Option<&str>,
                limit: usize,
            ) -> Result<RecordPage> {
                assert_eq!((shop, kind), (SHOP, STAGED_ORDERS));
                self.record_reads.fetch_add(1, Ordering::SeqCst);
                let records = self.records.lock().unwrap();
                let mut matching = records
                    .values()
                    .filter(|r| r.status.as_deref() == Some(status))
                    .filter(|r| after.is_none_or(|a| r.id.as_str() > a))
                    .cloned();
                let page: Vec<Record> = matching.by_ref().take(limit).collect();
                let next_after = matching
                    .next()
                    .and_then(|_| page.last().map(|r| r.id.clone()));
                Ok(RecordPage {
                    records: page,
                    next_after,
                })
            }
            async fn count_by_status(&self, _: &str, _: &str, _: &str) -> Result<u64> {
                unreachable!()
            }
        }

        #[async_trait]
        impl RunStarter for Doubles {
            fn available(&self, task: TaskKind) -> bool {
                task == TaskKind::CreateSalesOrders && self.available.load(Ordering::SeqCst)
            }
            async fn enqueue(&self, job: &JobRecord) -> std::result::Result<(), SyncError> {
                self.enqueued.lock().unwrap().push(job.job_id.clone());
                Ok(())
            }
            async fn run_now(
                &self,
                _: &JobRecord,
                _: Duration,
            ) -> std::result::Result<JobRecord, SyncError> {
                unreachable!("the doubles' shop runs in the background")
            }
        }

        #[async_trait]
        impl StatusApi for Doubles {
            async fn board(&self, _: &str) -> Result<StatusBoard> {
                unreachable!()
            }
            async fn drill_down(&self, _: &str, _: Cue, _: usize) -> Result<Vec<CueEntry>> {
                unreachable!()
            }
            async fn failures(&self, _: Option<&str>, _: usize) -> Result<Vec<Failure>> {
                unreachable!()
            }
            async fn retry(&self, _: Option<&str>, _: &str) -> Result<Failure> {
                unreachable!()
            }
            async fn discard(&self, _: Option<&str>, _: &str) -> Result<Failure> {
                unreachable!()
            }
        }

        struct Fixture {
            api: Api,
            doubles: Arc<Doubles>,
            issuer: LocalIssuer,
        }

        fn settings(create_sales_orders: bool) -> ShopSettings {
            ShopSettings::from_json(
                &json!({
                    "code": SHOP,
                    "enabled": true,
                    "tasks": {"create-sales-orders": {"enabled": create_sales_orders}},
                    "shopify": {"store_domain": "demo.myshopify.com", "access_token_secret_id": "shopsync/DEMO/shopify"},
                    "bc": {"tenant": "t", "environment": "production", "company_id": "5d5d2b5a-6a47-4d36-9a55-4f4c0f0e1a01", "credentials_secret_id": "shopsync/DEMO/bc"}
                })
                .to_string(),
            )
            .unwrap()
        }

        fn fixture() -> Fixture {
            let issuer = LocalIssuer::generate();
            let doubles = Arc::new(Doubles::default());
            *doubles.settings.lock().unwrap() = Some(settings(true));
            doubles.available.store(true, Ordering::SeqCst);
            for (n, status, body) in [
                (
                    1,
                    "unprocessed",
                    json!({"name": "#1", "mapped": true, "error": "BC said no"}),
                ),
                (
                    2,
                    "unprocessed",
                    json!({"name": "#2", "mapped": false, "error": "no customer"}),
                ),
                (
                    3,
                    "processed",
                    json!({"name": "#3", "mapped": true, "document": {"number": "S-ORD3"}}),
                ),
                (
                    4,
                    "changed_after_processing",
                    json!({"name": "#4", "mapped": true}),
                ),
                (5, "unprocessed", json!({"name": "#5", "mapped": true})),
            ] {
                let id = format!("gid://shopify/Order/{n}");
                doubles
                    .records
                    .lock()
                    .unwrap()
                    .insert(id.clone(), Record::new(id, Some(status), body.to_string()));
            }
            let api = Api {
                verifier: Arc::new(Verifier::new(AuthConfig {
                    issuer: issuer.issuer.clone(),
                    audience: issuer.audience.clone(),
                    keys: KeySource::Inline(issuer.jwks()),
                    leeway_secs: 30,
                })),
                settings: doubles.clone(),
                jobs: doubles.clone(),
                ledger: doubles.clone(),
                records: doubles.clone(),
                runs: doubles.clone(),
                status: doubles.clone(),
                foreground_budget: Duration::from_secs(1),
            };
            Fixture {
                api,
                doubles,
                issuer,
            }
        }

        impl Fixture {
            async fn call(&self, req: ApiRequest, shops: &[&str]) -> (u16, Value) {
                let token = self.issuer.token("merchant", shops, false, 600);
                let answer = self.api.handle(&req.bearer(&token)).await;
                (answer.status, answer.body)
            }
            fn reads(&self) -> usize {
                self.doubles.record_reads.load(Ordering::SeqCst)
            }
        }

        fn get(path: &str) -> ApiRequest {
            ApiRequest::new("GET", path)
        }

        #[tokio::test]
        async fn orders_are_listed_by_status_in_pages() {
            let f = fixture();
            let (status, body) = f.call(get("/shops/DEMO/orders"), &[SHOP]).await;
            assert_eq!(status, 200, "{body}");
            let names: Vec<&str> = body["orders"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o["name"].as_str().unwrap())
                .collect();
            assert_eq!(names, ["#1", "#2", "#5"]);
            assert_eq!(body["next"], Value::Null);
            assert_eq!(body["orders"][1]["error"], "no customer");
            assert_eq!(body["orders"][1]["mapped"], false);

            let req = get("/shops/DEMO/orders").query("limit", "2");
            let (_, body) = f.call(req, &[SHOP]).await;
            assert_eq!(body["orders"].as_array().unwrap().len(), 2);
            assert_eq!(body["next"], "gid://shopify/Order/2");
            let req = get("/shops/DEMO/orders")
                .query("limit", "2")
                .query("after", "gid://shopify/Order/2");
            let (_, body) = f.call(req, &[SHOP]).await;
            assert_eq!(body["orders"][0]["id"], "gid://shopify/Order/5");
            assert_eq!(body["next"], Value::Null);

            let req = get("/shops/DEMO/orders").query("status", "processed");
            let (_, body) = f.call(req, &[SHOP]).await;
            assert_eq!(body["orders"][0]["document"]["number"], "S-ORD3");
            assert_eq!(body["orders"][0]["status"], "processed");
        }

        #[tokio::test]
        async fn bad_input_is_400_before_any_store_is_read() {
            let f = fixture();
            let long = "9".repeat(50_000);
            for req in [
                get("/shops/DEMO/orders").query("status", "failed"),
                get("/shops/DEMO/orders").query("limit", "0"),
                get("/shops/DEMO/orders").query("limit", "101"),
                get("/shops/DEMO/orders").query("after", "gid://shopify/Order/"),
                get("/shops/DEMO/orders").query("after", "gid://shopify/Product/1"),
                get("/shops/DEMO/orders").query("after", "gid://shopify/Order/1/../2"),
                get("/shops/DEMO/orders").query("after", &format!("gid://shopify/Order/{long}")),
                get("/shops/DEMO/orders").query("after", "1"),
                get("/shops/DEMO/orders/gid:%2F%2Fshopify%2FOrder%2F1"),
                get("/shops/DEMO/orders/12a"),
                get("/shops/DEMO/orders/-1"),
                get("/shops/DEMO/orders/"),
                get(&format!("/shops/DEMO/orders/{long}")),
                get("/shops/DEMO/orders/123456789012345678901"),
                ApiRequest::new("POST", "/shops/DEMO/orders/1.0/retry"),
            ] {
                let what = format!(
                    "{} {} {:?}",
                    req.method,
                    &req.path[..req.path.len().min(40)],
                    req.query.first().map(|(k, v)| (k.clone(), v.len()))
                );
                let (status, body) = f.call(req, &[SHOP]).await;
                assert_eq!(status, 400, "{what}: {body}");
                assert_eq!(body["error"]["code"], "invalid_request", "{what}");
                assert!(body.to_string().len() < 400, "{what}: {body}");
            }
            assert_eq!(f.reads(), 0, "nothing invalid reached the record store");
        }

        #[tokio::test]
        async fn a_token_reaches_only_its_own_shops_orders() {
            let f = fixture();
            for req in [
                get("/shops/DEMO/orders"),
                get("/shops/DEMO/orders/1"),
                ApiRequest::new("POST", "/shops/DEMO/orders/1/retry"),
            ] {
                let (status, body) = f.call(req, &["OTHER"]).await;
                assert_eq!(
                    (status, body["error"]["code"].as_str()),
                    (403, Some("forbidden"))
                );
            }
            assert_eq!(f.api.handle(&get("/shops/DEMO/orders")).await.status, 401);
            assert_eq!(f.reads(), 0);
            assert!(f.doubles.jobs.lock().unwrap().is_empty());
            // A merchant token (no admin scope) is enough for its own shop.
            assert_eq!(f.call(get("/shops/DEMO/orders/1"), &[SHOP]).await.0, 200);
            assert_eq!(f.call(get("/shops/DEMO/orders/1"), &["*"]).await.0, 200);
        }

        #[tokio::test]
        async fn one_order_is_shown_or_404() {
            let f = fixture();
            let (status, body) = f.call(get("/shops/DEMO/orders/3"), &[SHOP]).await;
            assert_eq!(status, 200);
            assert_eq!(
                body,
                json!({"id": "gid://shopify/Order/3", "name": "#3", "status": "processed",
                    "updated_at": "", "mapped": true, "error": null, "document": {"number": "S-ORD3"}})
            );
            let (status, body) = f.call(get("/shops/DEMO/orders/99"), &[SHOP]).await;
            assert_eq!(
                (status, body["error"]["code"].as_str()),
                (404, Some("not_found"))
            );
            let retry = ApiRequest::new("POST", "/shops/DEMO/orders/99/retry");
            assert_eq!(f.call(retry, &[SHOP]).await.0, 404);
            assert!(f.doubles.jobs.lock().unwrap().is_empty());
        }

        #[tokio::test]
        async fn a_retry_places_one_waiting_create_sales_orders_job() {
            let f = fixture();
            let retry = |n: u32| ApiRequest::new("POST", &format!("/shops/DEMO/orders/{n}/retry"));
            let (status, first) = f.call(retry(1), &[SHOP]).await;
            assert_eq!(status, 202, "{first}");
            assert_eq!(first["mode"], "background");
            assert_eq!(first["job"]["task"], "create-sales-orders");
            assert_eq!(first["job"]["trigger"], "manual");
            assert_eq!(first["job"]["status"], "queued");
            assert!(first.get("coalesced").is_none());
            // Again, and for another failed order: both join the waiting job.
            for n in [1, 2] {
                let (status, again) = f.call(retry(n), &[SHOP]).await;
                assert_eq!(status, 202, "{again}");
                assert_eq!(again["job_id"], first["job_id"]);
                assert_eq!(again["coalesced"], true);
            }
            assert_eq!(f.doubles.jobs.lock().unwrap().len(), 1);
            assert_eq!(f.doubles.enqueued.lock().unwrap().len(), 1, "one message");
        }

        #[tokio::test]
        async fn processed_and_changed_orders_are_409_and_queue_nothing() {
            let f = fixture();
            let retry = |n: u32| ApiRequest::new("POST", &format!("/shops/DEMO/orders/{n}/retry"));
            let (status, body) = f.call(retry(3), &[SHOP]).await;
            assert_eq!(
                (status, body["error"]["code"].as_str()),
                (409, Some("not_retryable"))
            );
            assert!(
                body["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("already has BC document S-ORD3"),
                "{body}"
            );
            let (status, body) = f.call(retry(4), &[SHOP]).await;
            assert_eq!(status, 409);
            assert!(
                body["error"]["message"].as_str().unwrap().contains(
                    "changed after processing; fix it in BC, changes are never re-applied"
                ),
                "{body}"
            );
            assert!(f.doubles.jobs.lock().unwrap().is_empty());
            assert!(f.doubles.enqueued.lock().unwrap().is_empty());
        }

        /// A retry of order 1 and a run of create-sales-orders: the same answer, its status and code.
        async fn both(f: &Fixture) -> (u16, String) {
            let retry = f
                .call(
                    ApiRequest::new("POST", "/shops/DEMO/orders/1/retry"),
                    &[SHOP],
                )
                .await;
            let run = ApiRequest::new("POST", "/shops/DEMO/runs")
                .json(&json!({"task": "create-sales-orders"}));
            let run = f.call(run, &[SHOP]).await;
            assert_eq!(retry, run, "a retry answers as the runs endpoint does");
            let code = retry.1["error"]["code"].as_str().unwrap_or("").to_string();
            (retry.0, code)
        }

        #[tokio::test]
        async fn a_retry_answers_like_a_run_when_the_task_cannot_run() {
            let f = fixture();
            f.doubles.available.store(false, Ordering::SeqCst);
            assert_eq!(both(&f).await, (409, "task_not_available".into()));
            f.doubles.available.store(true, Ordering::SeqCst);
            *f.doubles.settings.lock().unwrap() = Some(settings(false));
            assert_eq!(both(&f).await, (409, "task_disabled".into()));
            let mut disabled = settings(true);
            disabled.enabled = false;
            *f.doubles.settings.lock().unwrap() = Some(disabled);
            assert_eq!(both(&f).await, (409, "shop_disabled".into()));
            *f.doubles.settings.lock().unwrap() = None;
            assert_eq!(both(&f).await, (404, "not_found".into()));
            assert!(f.doubles.jobs.lock().unwrap().is_empty());
        }
    }
}
