//! The staged-orders routes of the HTTPS API end to end: the api function's handler behind the local
//! HTTP API stand-in on moto, with staged orders written by the record store's DynamoDB adapter as
//! sync-orders writes them. Every answer is checked against infra/openapi.yaml.
//!
//! A retry of a failed order is a manual run of create-sales-orders and answers as one. The retry's
//! job placement is checked with a run starter that records its messages instead of sending them:
//! exactly one waiting job however often, or however concurrently, a retry is asked; and one retry
//! goes all the way: the create-sales-orders function takes the job off its own queue and makes the
//! order's document.

use async_trait::async_trait;
use futures_util::future::join_all;
use serde_json::{Value, json};
use shopsync_api::{Api, RunStarter};
use shopsync_domain::ports::{Record, RecordStore, SettingsStore};
use shopsync_domain::settings::TaskSettings;
use shopsync_domain::staging::{STAGED_ORDERS, order_status};
use shopsync_domain::{JobRecord, JobStatus, SyncError, TaskKind, Trigger};
use shopsync_e2e::StackOptions;
use shopsync_e2e::api_stack::{Answer, ApiStack};
use shopsync_e2e::gateway::LocalGateway;
use std::sync::{Arc, Mutex};
use std::time::Duration;

async fn api_stack() -> ApiStack {
    ApiStack::start(StackOptions::default(), Duration::from_secs(5))
        .await
        .expect("local stack")
}

fn gid(n: u64) -> String {
    format!("gid://shopify/Order/{n}")
}

/// `after` as a query value (percent-encoded, as a client would send it).
fn encoded(value: &str) -> String {
    value.replace(':', "%3A").replace('/', "%2F")
}

/// A staged order's body as sync-orders writes it (with fields the API does not show).
fn staged(n: u64, mapped: bool, error: Option<&str>) -> Value {
    json!({
        "name": format!("#{n}"),
        "order_id": gid(n),
        "updated_at": "2026-03-01T10:00:00Z",
        "closed": false,
        "cancelled": false,
        "currency": "EUR",
        "presentment_currency": "EUR",
        "customer_no": mapped.then_some("C00010"),
        "lines": [{"line_id": "gid://shopify/LineItem/1", "quantity": 1}],
        "change_hash": "abc",
        "mapped": mapped,
        "error": error,
        "order_omitted": false
    })
}

/// Stage orders of `shop`: unprocessed 1001..=1007 (1002 and 1005 failed), processed 2001 and 2002
/// (with their BC document), 3001 changed after processing.
async fn seed_orders(s: &ApiStack, shop: &str) {
    let mut records = Vec::new();
    for n in 1001..=1007 {
        let error = match n {
            1002 => Some("customer C00099 does not exist in BC"),
            1005 => Some("BC refused the order: item 1000 is blocked"),
            _ => None,
        };
        let body = staged(n, n != 1002, error);
        records.push(Record::new(
            gid(n),
            Some(order_status::UNPROCESSED),
            body.to_string(),
        ));
    }
    for n in [2001, 2002] {
        let mut body = staged(n, true, None);
        body["document"] =
            json!({"kind": "sales_order", "number": format!("S-ORD{n}"), "id": "5d5d2b5a"});
        records.push(Record::new(
            gid(n),
            Some(order_status::PROCESSED),
            body.to_string(),
        ));
    }
    let mut body = staged(3001, true, None);
    body["error"] = json!("order changed after it was processed; changes were not applied");
    body["document"] = json!({"kind": "sales_order", "number": "S-ORD3001", "id": "77aa"});
    records.push(Record::new(
        gid(3001),
        Some(order_status::CHANGED_AFTER_PROCESSING),
        body.to_string(),
    ));
    s.stack
        .adapters
        .store
        .put_records(shop, STAGED_ORDERS, &records)
        .await
        .unwrap();
}

/// Every order of `status`, page by page of `limit`; the pages' sizes.
async fn all_pages(
    s: &ApiStack,
    shop: &str,
    token: &str,
    status: &str,
    limit: usize,
) -> (Vec<Value>, Vec<usize>) {
    let (mut orders, mut sizes, mut after) = (Vec::new(), Vec::new(), None::<String>);
    loop {
        let mut path = format!("/shops/{shop}/orders?status={status}&limit={limit}");
        if let Some(a) = &after {
            path.push_str(&format!("&after={}", encoded(a)));
        }
        let a = s.call("GET", &path, Some(token), None).await;
        assert_eq!(a.status, 200, "{}", a.body);
        let page = a.body["orders"].as_array().unwrap().clone();
        sizes.push(page.len());
        orders.extend(page);
        match a.body["next"].as_str() {
            Some(next) => after = Some(next.to_string()),
            None => {
                assert_eq!(a.body["next"], Value::Null);
                return (orders, sizes);
            }
        }
        assert!(sizes.len() < 20, "paging does not end");
    }
}

fn ids(orders: &[Value]) -> Vec<&str> {
    orders.iter().map(|o| o["id"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn staged_orders_are_listed_by_status_in_pages_and_shown_one_by_one() {
    let s = api_stack().await;
    s.stack.seed_shop("ORDA", 1).await.unwrap();
    seed_orders(&s, "ORDA").await;
    let token = s.token(&["ORDA"]);

    // Unprocessed (the default status), three at a time: every order once, in id order.
    let (orders, sizes) = all_pages(&s, "ORDA", &token, "unprocessed", 3).await;
    assert_eq!(sizes, [3, 3, 1]);
    let want: Vec<String> = (1001..=1007).map(gid).collect();
    assert_eq!(ids(&orders), want);
    let a = s
        .call("GET", "/shops/ORDA/orders", Some(&token), None)
        .await;
    assert_eq!(a.status, 200);
    assert_eq!(ids(a.body["orders"].as_array().unwrap()), want);
    assert_eq!(a.body["next"], Value::Null);
    let failed = &orders[1];
    assert_eq!(
        failed,
        &json!({"id": gid(1002), "name": "#1002", "status": "unprocessed",
            "updated_at": "2026-03-01T10:00:00Z", "mapped": false,
            "error": "customer C00099 does not exist in BC"})
    );
    assert_eq!(orders[0]["error"], Value::Null);
    assert!(orders.iter().all(|o| o.get("document").is_none()));

    // The other statuses.
    let (processed, _) = all_pages(&s, "ORDA", &token, "processed", 1).await;
    assert_eq!(ids(&processed), [gid(2001), gid(2002)]);
    assert_eq!(processed[0]["document"]["number"], "S-ORD2001");
    assert_eq!(processed[0]["status"], "processed");
    let (changed, _) = all_pages(&s, "ORDA", &token, "changed_after_processing", 25).await;
    assert_eq!(ids(&changed), [gid(3001)]);
    assert!(
        changed[0]["error"]
            .as_str()
            .unwrap()
            .contains("changed after it was processed")
    );

    // Paging starts after any well-formed order id, staged or not.
    let a = s
        .call(
            "GET",
            &format!("/shops/ORDA/orders?after={}", encoded(&gid(1004))),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(
        ids(a.body["orders"].as_array().unwrap()),
        [gid(1005), gid(1006), gid(1007)]
    );
    let a = s
        .call(
            "GET",
            &format!("/shops/ORDA/orders?after={}", encoded(&gid(9))),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(
        (a.status, a.body["orders"].as_array().unwrap().len()),
        (200, 0)
    );

    // Bad input: 400 with the allowed values, input only as a short preview.
    let a = s
        .call(
            "GET",
            "/shops/ORDA/orders?status=failed",
            Some(&token),
            None,
        )
        .await;
    assert_eq!((a.status, a.code()), (400, "invalid_request"));
    let message = a.body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("unprocessed, processed, changed_after_processing"),
        "{message}"
    );
    let long = "7".repeat(5_000);
    for query in [
        format!("after={}", encoded("gid://shopify/Product/1")),
        format!("after={}", encoded(&format!("gid://shopify/Order/{long}"))),
        "after=1001".to_string(),
        format!("after={}", encoded("gid://shopify/Order/1/../../x")),
        "limit=0".to_string(),
        "limit=101".to_string(),
        format!("status={long}"),
    ] {
        let a = s
            .call(
                "GET",
                &format!("/shops/ORDA/orders?{query}"),
                Some(&token),
                None,
            )
            .await;
        assert_eq!((a.status, a.code()), (400, "invalid_request"), "{query}");
        assert!(a.size < 500, "{query}: {} bytes", a.size);
    }

    // One order.
    let a = s
        .call("GET", "/shops/ORDA/orders/2002", Some(&token), None)
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["id"], gid(2002));
    assert_eq!(a.body["name"], "#2002");
    assert_eq!(a.body["status"], "processed");
    assert_eq!(a.body["mapped"], true);
    assert_eq!(a.body["error"], Value::Null);
    assert_eq!(a.body["document"]["number"], "S-ORD2002");
    let a = s
        .call("GET", "/shops/ORDA/orders/4242", Some(&token), None)
        .await;
    assert_eq!((a.status, a.code()), (404, "not_found"));
    for bad in ["12a", "123456789012345678901", "-1"] {
        let a = s
            .call(
                "GET",
                &format!("/shops/ORDA/orders/{bad}"),
                Some(&token),
                None,
            )
            .await;
        assert_eq!((a.status, a.code()), (400, "invalid_request"), "{bad}");
    }
}

#[tokio::test]
async fn a_shop_token_reaches_only_its_own_staged_orders() {
    let s = api_stack().await;
    seed_orders(&s, "ORDB").await;
    seed_orders(&s, "ORDC").await;
    // ORDC has one more order; ORDB's token never sees it.
    s.stack
        .adapters
        .store
        .put_records(
            "ORDC",
            STAGED_ORDERS,
            &[Record::new(
                gid(1008),
                Some(order_status::UNPROCESSED),
                staged(1008, true, None).to_string(),
            )],
        )
        .await
        .unwrap();
    let token = s.token(&["ORDB"]);
    for (method, path) in [
        ("GET", "/shops/ORDC/orders"),
        ("GET", "/shops/ORDC/orders/1008"),
        ("POST", "/shops/ORDC/orders/1001/retry"),
    ] {
        let a = s.call(method, path, Some(&token), None).await;
        assert_eq!((a.status, a.code()), (403, "forbidden"), "{method} {path}");
        let a = s.call(method, path, None, None).await;
        assert_eq!(
            (a.status, a.code()),
            (401, "unauthorized"),
            "{method} {path}"
        );
    }
    let (own, _) = all_pages(&s, "ORDB", &token, "unprocessed", 100).await;
    assert_eq!(own.len(), 7);
    let a = s
        .call("GET", "/shops/ORDB/orders/1008", Some(&token), None)
        .await;
    assert_eq!(
        a.status, 404,
        "another shop's order is not found under this one"
    );
    assert!(s.stack.jobs("ORDC").await.is_empty());
}

#[tokio::test]
async fn a_retry_is_refused_for_orders_that_have_or_had_a_document_and_answers_like_a_run() {
    let s = api_stack().await;
    let shop = s.stack.seed_shop("ORDD", 1).await.unwrap();
    let mut settings = shop.settings.clone();
    settings.tasks.insert(
        TaskKind::CreateSalesOrders,
        TaskSettings {
            enabled: true,
            ..TaskSettings::default()
        },
    );
    s.stack.adapters.store.put_shop(&settings).await.unwrap();
    seed_orders(&s, "ORDD").await;
    let token = s.token(&["ORDD"]);
    let retry = |n: u64| format!("/shops/ORDD/orders/{n}/retry");

    let a = s.call("POST", &retry(2001), Some(&token), None).await;
    assert_eq!((a.status, a.code()), (409, "not_retryable"));
    let message = a.body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("already has BC document S-ORD2001"),
        "{message}"
    );

    let a = s.call("POST", &retry(3001), Some(&token), None).await;
    assert_eq!((a.status, a.code()), (409, "not_retryable"));
    let message = a.body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("changed after processing; fix it in BC, changes are never re-applied"),
        "{message}"
    );

    let a = s.call("POST", &retry(4242), Some(&token), None).await;
    assert_eq!((a.status, a.code()), (404, "not_found"));
    let a = s
        .call("POST", "/shops/ORDD/orders/x1/retry", Some(&token), None)
        .await;
    assert_eq!((a.status, a.code()), (400, "invalid_request"));

    // A failed order's retry answers as a run of create-sales-orders does.
    let a = s.call("POST", &retry(1005), Some(&token), None).await;
    let run = s
        .post_run("ORDD", &token, &json!({"task": "create-sales-orders"}))
        .await;
    if s.api.runs.available(TaskKind::CreateSalesOrders) {
        assert_eq!(a.status, 202, "{}", a.body);
        assert_eq!(
            run.body["job_id"], a.body["job_id"],
            "the run joins the retry's job"
        );
        assert_eq!(run.body["coalesced"], true);
    } else {
        assert_eq!(
            (a.status, a.code()),
            (409, "task_not_available"),
            "{}",
            a.body
        );
        assert_eq!(a.body, run.body);
        assert!(s.stack.jobs("ORDD").await.is_empty(), "nothing was written");
    }
}

/// The deployed run starter, plus create-sales-orders (whose messages it records: this release has no
/// queue for that task).
struct WithCreateSalesOrders {
    inner: Arc<dyn RunStarter>,
    sent: Mutex<Vec<JobRecord>>,
}

#[async_trait]
impl RunStarter for WithCreateSalesOrders {
    fn available(&self, task: TaskKind) -> bool {
        task == TaskKind::CreateSalesOrders || self.inner.available(task)
    }
    async fn enqueue(&self, job: &JobRecord) -> Result<(), SyncError> {
        if job.task == TaskKind::CreateSalesOrders {
            self.sent.lock().unwrap().push(job.clone());
            return Ok(());
        }
        self.inner.enqueue(job).await
    }
    async fn run_now(&self, job: &JobRecord, budget: Duration) -> Result<JobRecord, SyncError> {
        assert_ne!(
            job.task,
            TaskKind::CreateSalesOrders,
            "the shop runs in the background"
        );
        self.inner.run_now(job, budget).await
    }
}

/// One request to `gateway`, its answer checked against infra/openapi.yaml.
async fn send(
    s: &ApiStack,
    gateway: &LocalGateway,
    method: &str,
    path: &str,
    token: &str,
    body: Option<&Value>,
) -> Answer {
    let mut req = reqwest::Client::new()
        .request(
            reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
            format!("{}{path}", gateway.base_url()),
        )
        .bearer_auth(token);
    if let Some(b) = body {
        req = req
            .header("content-type", "application/json")
            .body(b.to_string());
    }
    let response = req.send().await.expect("local gateway answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let location = headers
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    let text = response.text().await.unwrap();
    let answer = Answer {
        status,
        location,
        body: serde_json::from_str(&text).unwrap_or(Value::String(text.clone())),
        headers,
        size: text.len(),
    };
    if let Err(e) = s
        .openapi
        .check_response(method, path, answer.status, &answer.body)
    {
        panic!("answer does not match infra/openapi.yaml: {e}");
    }
    answer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_places_one_waiting_create_sales_orders_job_however_often_asked() {
    let s = api_stack().await;
    s.stack.seed_shop("ORDE", 1).await.unwrap();
    seed_orders(&s, "ORDE").await;
    let store = &s.stack.adapters.store;
    let mut settings = store.get_shop("ORDE").await.unwrap().unwrap();
    settings.tasks.insert(
        TaskKind::CreateSalesOrders,
        TaskSettings {
            enabled: true,
            ..TaskSettings::default()
        },
    );
    store.put_shop(&settings).await.unwrap();

    let runs = Arc::new(WithCreateSalesOrders {
        inner: s.api.runs.clone(),
        sent: Mutex::new(Vec::new()),
    });
    let api = Api {
        runs: runs.clone(),
        ..(*s.api).clone()
    };
    let gateway = LocalGateway::start(Arc::new(api)).await.unwrap();
    let token = s.token(&["ORDE"]);

    let first = send(
        &s,
        &gateway,
        "POST",
        "/shops/ORDE/orders/1005/retry",
        &token,
        None,
    )
    .await;
    assert_eq!(first.status, 202, "{}", first.body);
    assert_eq!(first.body["mode"], "background");
    assert_eq!(first.body["job"]["task"], "create-sales-orders");
    assert_eq!(first.body["job"]["trigger"], "manual");
    assert_eq!(first.body["job"]["status"], "queued");
    assert!(first.body.get("coalesced").is_none());
    let job_id = first.body["job_id"].as_str().unwrap().to_string();
    assert_eq!(
        first.location.as_deref(),
        Some(format!("/shops/ORDE/jobs/{job_id}").as_str())
    );

    // The same order again, and another failed one: both join the waiting job.
    for n in [1005, 1002] {
        let again = send(
            &s,
            &gateway,
            "POST",
            &format!("/shops/ORDE/orders/{n}/retry"),
            &token,
            None,
        )
        .await;
        assert_eq!(again.status, 202, "{}", again.body);
        assert_eq!(again.body["job_id"], job_id.as_str());
        assert_eq!(again.body["coalesced"], true);
        assert!(
            again.body["message"]
                .as_str()
                .unwrap()
                .contains("already waiting")
        );
    }
    // Many at once: still that one job.
    let answers = join_all((0..12).map(|i| {
        let path = format!("/shops/ORDE/orders/{}/retry", 1001 + i % 7);
        let (s, gateway, token) = (&s, &gateway, &token);
        async move { send(s, gateway, "POST", &path, token, None).await }
    }))
    .await;
    for a in &answers {
        assert_eq!(
            (a.status, a.body["job_id"].as_str()),
            (202, Some(job_id.as_str())),
            "{}",
            a.body
        );
    }
    // A manual run of the task joins it too: the retry took the runs endpoint's path.
    let run = send(
        &s,
        &gateway,
        "POST",
        "/shops/ORDE/runs",
        &token,
        Some(&json!({"task": "create-sales-orders"})),
    )
    .await;
    assert_eq!(
        (run.status, run.body["job_id"].as_str()),
        (202, Some(job_id.as_str()))
    );
    assert_eq!(run.body["coalesced"], true);

    let jobs = s.stack.jobs("ORDE").await;
    let placed: Vec<&JobRecord> = jobs
        .iter()
        .filter(|j| j.task == TaskKind::CreateSalesOrders)
        .collect();
    assert_eq!(placed.len(), 1, "{jobs:?}");
    assert_eq!(placed[0].job_id, job_id);
    assert_eq!(placed[0].status, JobStatus::Queued);
    assert_eq!(placed[0].trigger, Trigger::Manual);
    assert_eq!(jobs.len(), 1, "nothing else was queued");
    let sent = runs.sent.lock().unwrap().clone();
    assert_eq!(sent.len(), 1, "one message");
    assert_eq!(sent[0].job_id, job_id);

    // Refusals on this deployment too, and nothing more placed.
    let a = send(
        &s,
        &gateway,
        "POST",
        "/shops/ORDE/orders/2001/retry",
        &token,
        None,
    )
    .await;
    assert_eq!((a.status, a.code()), (409, "not_retryable"));
    let a = send(
        &s,
        &gateway,
        "POST",
        "/shops/ORDE/orders/3001/retry",
        &token,
        None,
    )
    .await;
    assert_eq!((a.status, a.code()), (409, "not_retryable"));
    assert_eq!(s.stack.jobs("ORDE").await.len(), 1);
    // The staged orders are only read.
    let a = send(&s, &gateway, "GET", "/shops/ORDE/orders/1005", &token, None).await;
    assert_eq!(a.body["status"], "unprocessed");
    assert_eq!(
        a.body["error"],
        "BC refused the order: item 1000 is blocked"
    );
}

/// RFC 3339 (UTC, seconds) of the wall clock plus `secs`.
fn wall(secs: i64) -> String {
    shopify_sim::format_time(shopsync_domain::time::now_secs() + secs)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_order_gets_its_document_from_the_create_sales_orders_function() {
    let s = api_stack().await;
    let shop = s.stack.seed_shop("RTY", 2).await.unwrap();
    let mut settings = shop.settings.clone();
    for task in [TaskKind::SyncOrders, TaskKind::CreateSalesOrders] {
        settings.tasks.insert(
            task,
            TaskSettings {
                enabled: true,
                ..TaskSettings::default()
            },
        );
    }
    // Customers are not imported and there is no default customer yet: the order cannot be mapped.
    settings.customer_import_from_shopify = shopsync_domain::settings::ImportScope::None;
    settings.shipping_charges_account = Some("6100".into());
    shop.company.add_gl_account("6100");
    s.stack.adapters.store.put_shop(&settings).await.unwrap();
    let at = wall(-10 * 60);
    let order = s.stack.shopify.store(&shop.domain).add_order(
        shopify_sim::OrderSeed {
            lines: (0..2)
                .map(|i| {
                    let sku = format!("{}{i:06}", shop.prefix);
                    shopify_sim::LineSeed::new(&sku, 1 + i as i64, "12.50")
                })
                .collect(),
            ..shopify_sim::OrderSeed::with_lines(0)
        }
        .created_at(&at)
        .updated_at(&at),
    );
    let sync = s
        .stack
        .runner_for(
            TaskKind::SyncOrders,
            shopsync_e2e::ORDERS_QUEUE,
            shopsync_e2e::local_runtime(),
        )
        .unwrap();
    sync.tick(shopsync_e2e::tick_at(0)).await;
    sync.drain(Duration::from_secs(120)).await.unwrap();
    let number = order.id.rsplit('/').next().unwrap().to_string();
    let token = s.token(&["RTY"]);
    let a = s
        .call(
            "GET",
            &format!("/shops/RTY/orders/{number}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["status"], "unprocessed");
    assert!(
        a.body["error"]
            .as_str()
            .unwrap()
            .contains("default_customer_no"),
        "{}",
        a.body
    );

    // The merchant sets a default customer and retries the order through the API.
    let guest =
        shop.company
            .add_customer(bc_sim::SimCustomer::new("", "Guest", "guest@example.com"));
    settings.default_customer_no = Some(guest);
    s.stack.adapters.store.put_shop(&settings).await.unwrap();
    let a = s
        .call(
            "POST",
            &format!("/shops/RTY/orders/{number}/retry"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(a.status, 202, "{}", a.body);
    assert_eq!(a.body["job"]["task"], "create-sales-orders");

    // The create-sales-orders function takes the job off its own queue and makes the document.
    let create = s
        .stack
        .runner_for(
            TaskKind::CreateSalesOrders,
            "CreateSalesOrdersQueue",
            shopsync_e2e::local_runtime(),
        )
        .unwrap();
    create.drain(Duration::from_secs(120)).await.unwrap();
    let job = s
        .stack
        .jobs("RTY")
        .await
        .into_iter()
        .find(|j| j.task == TaskKind::CreateSalesOrders)
        .expect("the retry's job");
    assert_eq!(job.status, JobStatus::Succeeded, "{:?}", job.error);
    assert_eq!(job.trigger, Trigger::Manual);
    let a = s
        .call(
            "GET",
            &format!("/shops/RTY/orders/{number}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(
        job.counters.get("bc_documents_created"),
        1,
        "{:?} {}",
        job.counters,
        a.body
    );
    let documents = shop
        .company
        .documents_with_external_number(&shopsync_domain::sales::to_code(&order.name));
    assert_eq!(documents.len(), 1);
    let a = s
        .call(
            "GET",
            &format!("/shops/RTY/orders/{number}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(a.body["status"], "processed", "{}", a.body);
    assert_eq!(a.body["document"]["number"], documents[0].number.as_str());
}
