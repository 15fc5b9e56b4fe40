//! The HTTPS API end to end: the api function's handler behind a local HTTP API stand-in, on moto and
//! the simulators, with tokens signed by a local RSA key. Every answer is checked against
//! infra/openapi.yaml by `ApiStack::call`.

use serde_json::{Value, json};
use shopsync_domain::ports::{JobStore, SettingsStore};
use shopsync_domain::{JobStatus, TaskKind};
use shopsync_e2e::StackOptions;
use shopsync_e2e::api_stack::ApiStack;
use std::time::Duration;

async fn api_stack(budget: Duration) -> ApiStack {
    ApiStack::start(StackOptions::default(), budget)
        .await
        .expect("local stack")
}

async fn queue_depth(s: &ApiStack) -> usize {
    let sqs = aws_sdk_sqs::Client::new(&s.stack.sdk);
    let url = &s.stack.resources.queues[shopsync_e2e::INVENTORY_QUEUE];
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
        .send()
        .await
        .unwrap();
    let get = |n: &str| {
        attrs
            .attributes()
            .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::from(n)))
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(0)
    };
    get("ApproximateNumberOfMessages") + get("ApproximateNumberOfMessagesNotVisible")
}

/// Awaits `request` while the task function consumes its queue, as Lambda's event source mapping
/// does in the cloud: a foreground run is a queued job whose answer waits for the task function.
async fn with_task_function<T>(s: &ApiStack, request: impl std::future::Future<Output = T>) -> T {
    let done = std::sync::atomic::AtomicBool::new(false);
    let consume = async {
        while !done.load(std::sync::atomic::Ordering::SeqCst) {
            s.stack.runner.drain(Duration::from_secs(60)).await.unwrap();
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let request = async {
        let answer = request.await;
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        answer
    };
    let ((), answer) = tokio::join!(consume, request);
    answer
}

async fn set_background(s: &ApiStack, shop: &str, on: bool) {
    let store = &s.stack.adapters.store;
    let mut settings = store.get_shop(shop).await.unwrap().unwrap();
    settings.allow_background_syncs = on;
    store.put_shop(&settings).await.unwrap();
}

#[tokio::test]
async fn a_background_run_answers_202_at_once_and_finishes_from_the_queue() {
    let s = api_stack(Duration::from_secs(20)).await;
    let shop = s.stack.seed_shop("BGA", 30).await.unwrap();
    let token = s.token(&["BGA"]);

    let started = std::time::Instant::now();
    let a = s
        .post_run("BGA", &token, &json!({"task": "sync-inventory"}))
        .await;
    let answered_in = started.elapsed();
    assert_eq!(a.status, 202, "{:?}", a.body);
    assert_eq!(a.body["mode"], "background");
    assert_eq!(a.body["job"]["status"], "queued");
    assert_eq!(a.body["job"]["trigger"], "manual");
    let job_id = a.body["job_id"].as_str().unwrap().to_string();
    assert_eq!(
        a.location.as_deref(),
        Some(format!("/shops/BGA/jobs/{job_id}").as_str())
    );
    assert_eq!(queue_depth(&s).await, 1, "one message per manual run");
    // Nothing ran yet: the answer did not wait for the sync.
    assert_eq!(
        s.stack.shopify.store(&shop.domain).adjustment_log().len(),
        0
    );
    println!("background answer took {answered_in:?}");

    s.stack.runner.drain(Duration::from_secs(60)).await.unwrap();
    let a = s
        .call(
            "GET",
            &format!("/shops/BGA/jobs/{job_id}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body["status"], "succeeded", "{}", a.body);
    assert_eq!(
        shop.levels_off(&s.stack, |i, l| shopsync_e2e::bc_quantity(i, l) as i64),
        0
    );
}

#[tokio::test]
async fn a_foreground_run_answers_with_the_finished_job() {
    let s = api_stack(Duration::from_secs(20)).await;
    let shop = s.stack.seed_shop("FGA", 30).await.unwrap();
    set_background(&s, "FGA", false).await;
    let token = s.token(&["FGA"]);

    let a = with_task_function(
        &s,
        s.post_run(
            "FGA",
            &token,
            &json!({"task": "sync-inventory", "options": {"full": true}}),
        ),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["mode"], "foreground");
    assert_eq!(a.body["job"]["status"], "succeeded");
    assert_eq!(a.body["job"]["options"]["full"], true);
    assert!(
        a.body["job"]["counters"]["levels_changed"]
            .as_u64()
            .unwrap_or(0)
            > 0,
        "{}",
        a.body
    );
    assert_eq!(
        queue_depth(&s).await,
        0,
        "a finished foreground run leaves nothing queued"
    );
    assert_eq!(
        shop.levels_off(&s.stack, |i, l| shopsync_e2e::bc_quantity(i, l) as i64),
        0
    );
}

#[tokio::test]
async fn a_foreground_run_past_its_budget_continues_in_the_background() {
    // A zero budget: the answer does not wait for the task function at all.
    let s = api_stack(Duration::ZERO).await;
    let shop = s.stack.seed_shop("FGB", 1_200).await.unwrap();
    set_background(&s, "FGB", false).await;
    let token = s.token(&["FGB"]);
    let a = s
        .post_run("FGB", &token, &json!({"task": "sync-inventory"}))
        .await;
    assert_eq!(a.status, 202, "{}", a.body);
    assert_eq!(a.body["mode"], "foreground");
    assert_eq!(a.body["job"]["status"], "queued", "{}", a.body);
    assert_eq!(
        queue_depth(&s).await,
        1,
        "the rest continues from the queue"
    );

    s.stack
        .runner
        .drain(Duration::from_secs(120))
        .await
        .unwrap();
    let job_id = a.body["job_id"].as_str().unwrap();
    let job = s
        .stack
        .adapters
        .store
        .get_job("FGB", job_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.status, JobStatus::Succeeded);
    assert_eq!(
        shop.levels_off(&s.stack, |i, l| shopsync_e2e::bc_quantity(i, l) as i64),
        0
    );
    assert_eq!(shop.double_applied(&s.stack), 0);
}

#[tokio::test]
async fn bad_runs_get_specific_4xx_codes_and_write_nothing() {
    let s = api_stack(Duration::from_secs(20)).await;
    s.stack.seed_shop("BAD", 5).await.unwrap();
    let token = s.token(&["BAD", "NOPE", "OFF"]);
    let run = |body: Value| {
        let s = &s;
        let token = token.clone();
        async move {
            s.call("POST", "/shops/BAD/runs", Some(&token), Some(&body))
                .await
        }
    };

    for (body, status, code) in [
        (json!({"task": "sync-everything"}), 400, "unknown_task"),
        (
            json!({"task": "sync-inventory", "options": {"fast": true}}),
            400,
            "invalid_options",
        ),
        (
            json!({"task": "sync-inventory", "options": {"full": "yes"}}),
            400,
            "invalid_options",
        ),
        (
            json!({"task": "sync-payments", "options": {"full": true}}),
            400,
            "invalid_options",
        ),
        (
            json!({"task": "sync-inventory", "extra": 1}),
            400,
            "invalid_json",
        ),
        (json!({"options": {}}), 400, "invalid_json"),
        // A task this release runs, not enabled for the shop.
        (json!({"task": "create-sales-orders"}), 409, "task_disabled"),
        (
            json!({"task": "sync-payments", "options": {"orders_from": "2026-05-01T00:00:00Z"}}),
            400,
            "invalid_options",
        ),
        (
            json!({"task": "sync-orders", "options": {"orders_from": "last week"}}),
            400,
            "invalid_options",
        ),
    ] {
        let a = run(body.clone()).await;
        assert_eq!((a.status, a.code()), (status, code), "{body} → {}", a.body);
        assert!(!a.body["error"]["message"].as_str().unwrap().is_empty());
    }
    let a = s
        .raw(
            "POST",
            "/shops/BAD/runs",
            Some(&token),
            Some(b"{not json".to_vec()),
        )
        .await;
    assert_eq!((a.status, a.code()), (400, "invalid_json"));
    let a = s
        .raw(
            "POST",
            "/shops/BAD/runs",
            Some(&token),
            Some(vec![b' '; 70_000]),
        )
        .await;
    assert_eq!((a.status, a.code()), (400, "body_too_large"));

    // Unknown shop, disabled shop, disabled task.
    let a = s
        .post_run("NOPE", &token, &json!({"task": "sync-inventory"}))
        .await;
    assert_eq!((a.status, a.code()), (404, "not_found"));
    s.stack.seed_shop("OFF", 5).await.unwrap();
    let store = &s.stack.adapters.store;
    let mut off = store.get_shop("OFF").await.unwrap().unwrap();
    off.tasks.get_mut(&TaskKind::SyncInventory).unwrap().enabled = false;
    store.put_shop(&off).await.unwrap();
    let a = s
        .post_run("OFF", &token, &json!({"task": "sync-inventory"}))
        .await;
    assert_eq!((a.status, a.code()), (409, "task_disabled"));
    off.enabled = false;
    store.put_shop(&off).await.unwrap();
    let a = s
        .post_run("OFF", &token, &json!({"task": "sync-inventory"}))
        .await;
    assert_eq!((a.status, a.code()), (409, "shop_disabled"));

    // Input limits on the other routes.
    for (path, code) in [
        ("/shops/bad/jobs", "invalid_request"),
        ("/shops/BAD/jobs?limit=0", "invalid_request"),
        ("/shops/BAD/jobs?limit=101", "invalid_request"),
        ("/shops/BAD/jobs?status=done", "invalid_request"),
        ("/shops/BAD/jobs?cursor=x", "invalid_request"),
        ("/shops/BAD/jobs/..%2F..%2Fetc", "invalid_request"),
        ("/shops/BAD/status/orders", "invalid_request"),
    ] {
        let a = s.raw("GET", path, Some(&token), None).await;
        assert_eq!((a.status, a.code()), (400, code), "{path} → {}", a.body);
    }
    let a = s
        .raw(
            "GET",
            "/shops/BAD/jobs/1700000000000-sync-inventory-missing",
            Some(&token),
            None,
        )
        .await;
    assert_eq!((a.status, a.code()), (404, "not_found"));
    let a = s.raw("PATCH", "/shops/BAD/runs", Some(&token), None).await;
    assert_eq!((a.status, a.code()), (405, "method_not_allowed"));
    let a = s.raw("GET", "/admin", Some(&token), None).await;
    assert_eq!((a.status, a.code()), (404, "not_found"));

    // Nothing was written: no job, no message.
    for shop in ["BAD", "OFF", "NOPE"] {
        assert!(s.stack.jobs(shop).await.is_empty(), "{shop} has jobs");
    }
    assert_eq!(queue_depth(&s).await, 0);
}

#[tokio::test]
async fn a_caller_of_shop_a_can_neither_read_run_nor_change_shop_b() {
    let s = api_stack(Duration::from_secs(20)).await;
    s.stack.seed_shop("SHA", 5).await.unwrap();
    let b = s.stack.seed_shop("SHB", 5).await.unwrap();
    // B has a job and a failure.
    let admin_b = s.admin_token(&["SHB"]);
    let a = s
        .post_run("SHB", &admin_b, &json!({"task": "sync-inventory"}))
        .await;
    assert_eq!(a.status, 202);
    let b_job = a.body["job_id"].as_str().unwrap().to_string();
    s.stack
        .shopify
        .store(&b.domain)
        .set_access_token("rotated-elsewhere");
    s.stack.runner.drain(Duration::from_secs(60)).await.unwrap();
    let b_failures = s
        .call("GET", "/shops/SHB/failures", Some(&admin_b), None)
        .await;
    let b_failure = b_failures.body["failures"][0]["id"]
        .as_str()
        .expect("B has a failure")
        .to_string();
    let b_settings_before = s.stack.adapters.store.get_shop("SHB").await.unwrap();

    for token in [s.token(&["SHA"]), s.admin_token(&["SHA"])] {
        let settings_body = json!({"code": "SHB", "shopify": {"store_domain": "x.myshopify.com", "access_token_secret_id": "shopsync/SHB/x"}, "bc": {"tenant": "t", "environment": "production", "company_id": "5d5d2b5a-6a47-4d36-9a55-4f4c0f0e1a01", "credentials_secret_id": "shopsync/SHB/bc"}});
        for (method, path, body) in [
            ("GET", "/shops/SHB/status".to_string(), None),
            (
                "GET",
                "/shops/SHB/status/synchronization_errors".to_string(),
                None,
            ),
            ("GET", "/shops/SHB/jobs".to_string(), None),
            ("GET", format!("/shops/SHB/jobs/{b_job}"), None),
            (
                "POST",
                "/shops/SHB/runs".to_string(),
                Some(json!({"task": "sync-inventory"})),
            ),
            ("GET", "/shops/SHB/settings".to_string(), None),
            (
                "PUT",
                "/shops/SHB/settings".to_string(),
                Some(settings_body.clone()),
            ),
            ("GET", "/shops/SHB/failures".to_string(), None),
            (
                "POST",
                format!("/shops/SHB/failures/{b_failure}/retry"),
                None,
            ),
            ("DELETE", format!("/shops/SHB/failures/{b_failure}"), None),
            // Admin-of-every-shop routes.
            ("GET", "/failures".to_string(), None),
            ("POST", format!("/failures/{b_failure}/retry"), None),
            ("DELETE", format!("/failures/{b_failure}"), None),
        ] {
            let a = s.call(method, &path, Some(&token), body.as_ref()).await;
            assert_eq!(
                (a.status, a.code()),
                (403, "forbidden"),
                "{method} {path} → {}",
                a.body
            );
        }
        // B's failure through A's own path: not found (A cannot even learn it exists).
        for (method, path) in [
            ("POST", format!("/shops/SHA/failures/{b_failure}/retry")),
            ("DELETE", format!("/shops/SHA/failures/{b_failure}")),
        ] {
            let a = s.call(method, &path, Some(&token), None).await;
            assert_eq!(
                (a.status, a.code()),
                (404, "not_found"),
                "{method} {path} → {}",
                a.body
            );
        }
        let a = s
            .call("GET", "/shops/SHA/failures", Some(&token), None)
            .await;
        assert_eq!(a.body["failures"], json!([]));
        let a = s
            .call(
                "GET",
                &format!("/shops/SHA/jobs/{b_job}"),
                Some(&token),
                None,
            )
            .await;
        assert_eq!(a.status, 404);
    }
    // Nothing of B changed.
    assert_eq!(s.stack.jobs("SHB").await.len(), 1);
    assert_eq!(
        s.stack.adapters.store.get_shop("SHB").await.unwrap(),
        b_settings_before
    );
    let still = s
        .call("GET", "/shops/SHB/failures", Some(&admin_b), None)
        .await;
    assert_eq!(still.body["failures"][0]["state"], "open");
    assert!(s.stack.jobs("SHA").await.is_empty());
}

#[tokio::test]
async fn missing_expired_and_badly_signed_tokens_are_401_everywhere() {
    let s = api_stack(Duration::from_secs(20)).await;
    s.stack.seed_shop("TOK", 5).await.unwrap();
    let expired = s.issuer.token("m", &["TOK"], true, -600);
    let good = s.token(&["TOK"]);
    let mut parts: Vec<String> = good.split('.').map(String::from).collect();
    parts[2] = parts[2].chars().rev().collect();
    let badly_signed = parts.join(".");
    let foreign =
        shopsync_api::local_issuer::LocalIssuer::generate().token("m", &["TOK"], true, 600);
    for token in [
        None,
        Some(expired.as_str()),
        Some(badly_signed.as_str()),
        Some(foreign.as_str()),
        Some("garbage"),
    ] {
        for (method, path, body) in [
            ("GET", "/shops/TOK/status", None),
            ("GET", "/shops/TOK/jobs", None),
            (
                "POST",
                "/shops/TOK/runs",
                Some(json!({"task": "sync-inventory"})),
            ),
            ("PUT", "/shops/TOK/settings", Some(json!({"code": "TOK"}))),
            ("GET", "/failures", None),
        ] {
            let a = s.call(method, path, token, body.as_ref()).await;
            assert_eq!(
                (a.status, a.code()),
                (401, "unauthorized"),
                "{method} {path} with {token:?} → {}",
                a.body
            );
        }
    }
    assert!(s.stack.jobs("TOK").await.is_empty());
    assert_eq!(queue_depth(&s).await, 0);
}

#[tokio::test]
async fn settings_are_admin_only_and_validated_whole() {
    let s = api_stack(Duration::from_secs(20)).await;
    s.stack.seed_shop("SET", 5).await.unwrap();
    let admin = s.admin_token(&["SET", "NEW"]);
    let merchant = s.token(&["SET"]);

    let a = s
        .call("GET", "/shops/SET/settings", Some(&merchant), None)
        .await;
    assert_eq!((a.status, a.code()), (403, "forbidden"));
    let a = s
        .call("GET", "/shops/SET/settings", Some(&admin), None)
        .await;
    assert_eq!(a.status, 200);
    let mut doc = a.body.clone();

    // Register a new shop.
    doc["code"] = json!("NEW");
    // A shop may name only secrets under its own prefix.
    doc["shopify"]["access_token_secret_id"] = json!("shopsync/NEW/shopify");
    doc["bc"]["credentials_secret_id"] = json!("shopsync/NEW/bc");
    assert!(
        s.openapi
            .check_request("PUT", "/shops/NEW/settings", &doc)
            .is_ok()
    );
    let a = s
        .call("PUT", "/shops/NEW/settings", Some(&admin), Some(&doc))
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(
        s.stack
            .adapters
            .store
            .get_shop("NEW")
            .await
            .unwrap()
            .is_some()
    );

    // Every problem at once, and nothing saved.
    let before = s.stack.adapters.store.get_shop("NEW").await.unwrap();
    let mut bad = doc.clone();
    bad["can_update_shopify_products"] = json!(true);
    bad["shopify_can_update_items"] = json!(true);
    bad["shopify"]["access_token_secret_id"] = json!("shpat_0123456789");
    let a = s
        .call("PUT", "/shops/NEW/settings", Some(&admin), Some(&bad))
        .await;
    assert_eq!(
        (a.status, a.code()),
        (400, "invalid_settings"),
        "{}",
        a.body
    );
    assert_eq!(
        a.body["error"]["problems"].as_array().unwrap().len(),
        2,
        "{}",
        a.body
    );
    assert_eq!(
        s.stack.adapters.store.get_shop("NEW").await.unwrap(),
        before
    );

    // The body must be for the shop in the path.
    let a = s
        .call("PUT", "/shops/SET/settings", Some(&admin), Some(&doc))
        .await;
    assert_eq!((a.status, a.code()), (400, "invalid_settings"));
    let a = s
        .call("PUT", "/shops/NEW/settings", Some(&merchant), Some(&doc))
        .await;
    assert_eq!(a.status, 403);
}

#[tokio::test]
async fn jobs_are_listed_newest_first_in_pages() {
    let s = api_stack(Duration::from_secs(20)).await;
    s.stack.seed_shop("PAG", 5).await.unwrap();
    let token = s.token(&["PAG"]);
    // Five queued jobs, written directly: through the API, runs asked for while one waits join it.
    let mut ids = Vec::new();
    let (now, millis) = (
        shopsync_domain::time::now_secs(),
        shopsync_domain::time::now_millis(),
    );
    for n in 0..5 {
        let id = shopsync_domain::job::job_id(TaskKind::SyncInventory, millis + n, "pag");
        let job = shopsync_domain::JobRecord::new_queued(
            "PAG",
            &id,
            TaskKind::SyncInventory,
            shopsync_domain::Trigger::Manual,
            Default::default(),
            now,
        );
        assert!(s.stack.adapters.store.create_job(&job).await.unwrap());
        ids.push(id);
    }
    ids.reverse();
    let mut seen = Vec::new();
    let mut path = "/shops/PAG/jobs?limit=2".to_string();
    loop {
        let a = s.call("GET", &path, Some(&token), None).await;
        assert_eq!(a.status, 200);
        seen.extend(
            a.body["jobs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|j| j["job_id"].as_str().unwrap().to_string()),
        );
        match a.body["next_cursor"].as_str() {
            Some(c) => path = format!("/shops/PAG/jobs?limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, ids);
    let a = s
        .call(
            "GET",
            "/shops/PAG/jobs?status=queued&limit=100",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(a.body["jobs"].as_array().unwrap().len(), 5);
    let a = s
        .call("GET", "/shops/PAG/jobs?status=failed", Some(&token), None)
        .await;
    assert_eq!(a.body["jobs"], json!([]));
}

#[tokio::test]
async fn the_status_board_shows_a_failure_that_is_retried_once_however_often_asked() {
    let s = api_stack(Duration::from_secs(20)).await;
    let shop = s.stack.seed_shop("STA", 10).await.unwrap();
    let token = s.token(&["STA"]);
    let a = s.call("GET", "/shops/STA/status", Some(&token), None).await;
    assert_eq!(a.status, 200);
    assert!(
        a.body["cues"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["count"] == 0 && c["style"] == "favorable")
    );

    // A run that fails for good: Shopify refuses the stored token.
    let store = s.stack.shopify.store(&shop.domain);
    let good_token = store.access_token().expect("seeded with a token");
    store.set_access_token("rotated");
    let a = s
        .post_run("STA", &token, &json!({"task": "sync-inventory"}))
        .await;
    let failed_job = a.body["job_id"].as_str().unwrap().to_string();
    s.stack.runner.drain(Duration::from_secs(60)).await.unwrap();

    let board = s.call("GET", "/shops/STA/status", Some(&token), None).await;
    let cue = |name: &str| {
        board.body["cues"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["cue"] == name)
            .cloned()
            .unwrap()
    };
    assert_eq!(cue("synchronization_errors")["count"], 1, "{}", board.body);
    assert_eq!(cue("synchronization_errors")["style"], "ambiguous");
    assert_eq!(cue("api_errors")["count"], 1);
    assert_eq!(cue("api_errors")["style"], "unfavorable");
    let drill = s
        .call(
            "GET",
            cue("synchronization_errors")["drill_down"]
                .as_str()
                .unwrap(),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(drill.status, 200);
    assert!(
        drill.body["entries"].to_string().contains(&failed_job),
        "{}",
        drill.body
    );

    let list = s
        .call("GET", "/shops/STA/failures", Some(&token), None)
        .await;
    let failures = list.body["failures"].as_array().unwrap().clone();
    assert_eq!(failures.len(), 1, "{}", list.body);
    assert_eq!(failures[0]["job_id"], failed_job.as_str());
    assert_eq!(failures[0]["error_kind"], "auth");
    let id = failures[0]["id"].as_str().unwrap().to_string();
    // Listing twice leaves the message on the queue.
    let again = s
        .call("GET", "/shops/STA/failures", Some(&token), None)
        .await;
    assert_eq!(again.body["failures"].as_array().unwrap().len(), 1);
    assert_eq!(s.stack.dead_letters().await.len(), 1);

    // Fix the cause, then retry three times: one new job, one message.
    store.set_access_token(&good_token);
    let mut retry_jobs = Vec::new();
    for _ in 0..3 {
        let a = s
            .call(
                "POST",
                &format!("/shops/STA/failures/{id}/retry"),
                Some(&token),
                None,
            )
            .await;
        assert_eq!(a.status, 202, "{}", a.body);
        assert_eq!(a.body["state"], "retried");
        retry_jobs.push(a.body["retry_job_id"].as_str().unwrap().to_string());
    }
    assert!(
        retry_jobs.windows(2).all(|w| w[0] == w[1]),
        "{retry_jobs:?}"
    );
    assert_eq!(queue_depth(&s).await, 1);
    assert!(s.stack.dead_letters().await.is_empty());
    s.stack.runner.drain(Duration::from_secs(60)).await.unwrap();
    let a = s
        .call(
            "GET",
            &format!("/shops/STA/jobs/{}", retry_jobs[0]),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(a.body["status"], "succeeded", "{}", a.body);
    assert_eq!(a.body["trigger"], "retry");
    assert_eq!(
        s.stack.jobs("STA").await.len(),
        2,
        "the failed job and its one retry"
    );

    // A retried failure cannot be discarded; an unknown one is 404.
    let a = s
        .call(
            "DELETE",
            &format!("/shops/STA/failures/{id}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(a.status, 409, "{}", a.body);
    let a = s
        .call(
            "DELETE",
            "/shops/STA/failures/00000000-0000-0000-0000-000000000000",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(a.status, 404);
}

#[tokio::test]
async fn a_repeated_run_request_with_the_same_idempotency_key_runs_once() {
    let s = api_stack(Duration::from_secs(20)).await;
    s.stack.seed_shop("IDK", 5).await.unwrap();
    let token = s.token(&["IDK"]);
    let body = json!({"task": "sync-inventory"});
    let first = s.post_run_with_key("IDK", &token, &body, "click-42").await;
    assert_eq!(first.status, 202, "{}", first.body);
    for _ in 0..3 {
        let again = s.post_run_with_key("IDK", &token, &body, "click-42").await;
        assert_eq!(again.status, 202);
        assert_eq!(again.body["job_id"], first.body["job_id"]);
    }
    assert_eq!(s.stack.jobs("IDK").await.len(), 1);
    assert_eq!(queue_depth(&s).await, 1, "one message for one run");

    // After it finished, the same key answers 200 with the finished job.
    s.stack.runner.drain(Duration::from_secs(60)).await.unwrap();
    let done = s.post_run_with_key("IDK", &token, &body, "click-42").await;
    assert_eq!(done.status, 200);
    assert_eq!(done.body["job"]["status"], "succeeded");

    // The same key for another run is refused; a malformed key is a 400; nothing more was written.
    let other = s
        .post_run_with_key(
            "IDK",
            &token,
            &json!({"task": "sync-inventory", "options": {"full": true}}),
            "click-42",
        )
        .await;
    assert_eq!(
        (other.status, other.code()),
        (409, "idempotency_key_reused")
    );
    let bad = s.post_run_with_key("IDK", &token, &body, "a b").await;
    assert_eq!((bad.status, bad.code()), (400, "invalid_request"));
    assert_eq!(s.stack.jobs("IDK").await.len(), 1);
}

#[tokio::test]
async fn a_foreground_run_that_fails_for_good_answers_with_the_failed_job() {
    let s = api_stack(Duration::from_secs(20)).await;
    let shop = s.stack.seed_shop("FGF", 5).await.unwrap();
    set_background(&s, "FGF", false).await;
    s.stack
        .shopify
        .store(&shop.domain)
        .set_access_token("rotated");
    let token = s.token(&["FGF"]);
    let a = with_task_function(
        &s,
        s.post_run("FGF", &token, &json!({"task": "sync-inventory"})),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["job"]["status"], "failed");
    assert_eq!(a.body["job"]["error"]["kind"], "auth");
    assert_eq!(
        queue_depth(&s).await,
        0,
        "a permanent failure is not retried from the queue"
    );
    assert_eq!(
        s.stack.dead_letters().await.len(),
        1,
        "it is on the dead-letter queue for on-call"
    );
}

#[tokio::test]
async fn a_run_that_cannot_be_queued_is_503_and_leaves_no_job_waiting() {
    let s = api_stack(Duration::from_secs(20)).await;
    s.stack.seed_shop("NOQ", 5).await.unwrap();
    // The same API, but its task queue does not exist.
    let gone = format!("{}-gone", s.stack.runner.queue_url);
    let queues = shopsync_aws::SqsTaskQueues::from_urls(
        aws_sdk_sqs::Client::new(&s.stack.sdk),
        [(TaskKind::SyncInventory, gone)],
        &s.stack.resources.dlq_url,
    );
    let settings = shopsync_runtime::api_fn::ApiSettings {
        auth: shopsync_api::AuthConfig {
            issuer: s.issuer.issuer.clone(),
            audience: s.issuer.audience.clone(),
            keys: shopsync_api::auth::KeySource::Inline(s.issuer.jwks()),
            leeway_secs: 30,
        },
        runtime: s.stack.app.config.clone(),
        foreground_budget: Duration::from_secs(20),
    };
    let api =
        shopsync_runtime::api_fn::build_api(&s.stack.adapters, queues, s.status.clone(), settings);
    // A task whose queue this deployment does not have is not available here.
    let request = shopsync_api::ApiRequest::new("POST", "/shops/NOQ/runs")
        .bearer(&s.token(&["NOQ"]))
        .json(&json!({"task": "sync-payments"}));
    let answer = api.handle(&request).await;
    assert_eq!(answer.status, 409, "{:?}", answer.body);
    assert_eq!(answer.error_code(), Some("task_not_available"));
    let request = shopsync_api::ApiRequest::new("POST", "/shops/NOQ/runs")
        .bearer(&s.token(&["NOQ"]))
        .json(&json!({"task": "sync-inventory"}));
    let answer = api.handle(&request).await;
    s.openapi
        .check_response("POST", "/shops/NOQ/runs", answer.status, &answer.body)
        .unwrap();
    assert_eq!(answer.status, 503, "{:?}", answer.body);
    assert_eq!(answer.error_code(), Some("unavailable"));
    let jobs = s.stack.jobs("NOQ").await;
    assert_eq!(jobs.len(), 1);
    assert_eq!(
        jobs[0].status,
        JobStatus::Failed,
        "no job may wait for a message that never went out"
    );
    assert!(
        jobs[0]
            .error
            .as_ref()
            .unwrap()
            .message
            .contains("could not be queued")
    );
}

// ---- issue 7: manual runs join the waiting job; concurrent same-key runs and retries -------------

/// The answers of `n` run requests sent at once.
async fn concurrent_runs(
    s: &ApiStack,
    shop: &str,
    token: &str,
    body: &Value,
    key: Option<&str>,
    n: usize,
) -> Vec<shopsync_e2e::api_stack::Answer> {
    futures_util::future::join_all((0..n).map(|_| async move {
        match key {
            Some(key) => s.post_run_with_key(shop, token, body, key).await,
            None => s.post_run(shop, token, body).await,
        }
    }))
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_concurrent_manual_runs_make_one_job_and_one_message() {
    let s = api_stack(Duration::from_secs(20)).await;
    s.stack.seed_shop("BURST", 5).await.unwrap();
    let token = s.token(&["BURST"]);
    let body = json!({"task": "sync-inventory"});
    let answers = concurrent_runs(&s, "BURST", &token, &body, None, 100).await;

    let ids: std::collections::BTreeSet<&str> = answers
        .iter()
        .map(|a| {
            assert_eq!(a.status, 202, "{}", a.body);
            a.body["job_id"].as_str().unwrap()
        })
        .collect();
    assert_eq!(ids.len(), 1, "every answer names the one job: {ids:?}");
    let job_id = ids.into_iter().next().unwrap().to_string();
    let joined: Vec<_> = answers
        .iter()
        .filter(|a| a.body["coalesced"] == true)
        .collect();
    assert_eq!(joined.len(), 99, "all but the first joined it");
    for a in &joined {
        assert_eq!(
            a.location.as_deref(),
            Some(format!("/shops/BURST/jobs/{job_id}").as_str())
        );
        assert!(
            a.body["message"]
                .as_str()
                .unwrap()
                .contains("already waiting"),
            "{}",
            a.body
        );
        assert_eq!(a.body["job"]["status"], "queued");
    }
    assert_eq!(s.stack.jobs("BURST").await.len(), 1, "one job");
    assert_eq!(queue_depth(&s).await, 1, "one message");

    // It runs once; nobody fought for the lease.
    s.stack.runner.drain(Duration::from_secs(60)).await.unwrap();
    let jobs = s.stack.jobs("BURST").await;
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].status, JobStatus::Succeeded);
    assert_eq!(jobs[0].deferrals, 0);
}

#[tokio::test]
async fn quick_manual_runs_join_the_waiting_job_until_it_starts() {
    let s = api_stack(Duration::from_secs(20)).await;
    s.stack.seed_shop("QUICK", 5).await.unwrap();
    let token = s.token(&["QUICK"]);
    let body = json!({"task": "sync-inventory"});
    let first = s.post_run("QUICK", &token, &body).await;
    assert_eq!(first.status, 202, "{}", first.body);
    assert!(first.body.get("coalesced").is_none(), "{}", first.body);
    for _ in 0..5 {
        let again = s.post_run("QUICK", &token, &body).await;
        assert_eq!(again.status, 202);
        assert_eq!(again.body["job_id"], first.body["job_id"]);
        assert_eq!(again.body["coalesced"], true);
        assert_eq!(again.body["mode"], "background");
    }
    // A full run is another run: it gets its own waiting job, which full runs then join.
    let full = json!({"task": "sync-inventory", "options": {"full": true}});
    let f1 = s.post_run("QUICK", &token, &full).await;
    assert_ne!(f1.body["job_id"], first.body["job_id"]);
    assert!(f1.body.get("coalesced").is_none());
    let f2 = s.post_run("QUICK", &token, &full).await;
    assert_eq!(f2.body["job_id"], f1.body["job_id"]);
    assert_eq!(f2.body["coalesced"], true);
    assert_eq!(s.stack.jobs("QUICK").await.len(), 2);
    assert_eq!(queue_depth(&s).await, 2);

    // Once the jobs ran, a run asked for now is a new job.
    s.stack.runner.drain(Duration::from_secs(60)).await.unwrap();
    let later = s.post_run("QUICK", &token, &body).await;
    assert_eq!(later.status, 202);
    assert!(later.body.get("coalesced").is_none(), "{}", later.body);
    assert_ne!(later.body["job_id"], first.body["job_id"]);
    assert_eq!(s.stack.jobs("QUICK").await.len(), 3);
}

#[tokio::test]
async fn a_manual_run_joins_the_job_the_schedule_queued_in_either_mode() {
    let s = api_stack(Duration::from_secs(20)).await;
    let bg = s.stack.seed_shop("SCHBG", 5).await.unwrap();
    let fg = s.stack.seed_shop("SCHFG", 5).await.unwrap();
    set_background(&s, "SCHFG", false).await;
    let report = s.stack.runner.tick(shopsync_e2e::tick_at(0)).await;
    assert_eq!(report.queued.len(), 2, "{report:?}");
    let scheduled = |shop: &str| {
        report
            .queued
            .iter()
            .find(|(code, _)| code == shop)
            .map(|(_, id)| id.clone())
            .unwrap()
    };
    // A shop's first scheduled run is a full one: a full manual run joins it.
    let full = json!({"task": "sync-inventory", "options": {"full": true}});
    for shop in ["SCHBG", "SCHFG"] {
        let token = s.token(&[shop]);
        let a = s.post_run(shop, &token, &full).await;
        assert_eq!(a.status, 202, "{}", a.body);
        assert_eq!(a.body["job_id"], scheduled(shop).as_str());
        assert_eq!(a.body["coalesced"], true);
        assert_eq!(a.body["job"]["trigger"], "schedule");
        assert_eq!(
            a.body["job"]["status"], "queued",
            "nothing ran in the request"
        );
    }
    assert_eq!(s.stack.shopify.store(&fg.domain).adjustment_log().len(), 0);
    assert_eq!(s.stack.shopify.store(&bg.domain).adjustment_log().len(), 0);
    assert_eq!(s.stack.jobs("SCHBG").await.len(), 1);
    assert_eq!(s.stack.jobs("SCHFG").await.len(), 1);
    assert_eq!(queue_depth(&s).await, 2, "the two scheduled messages only");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_with_one_idempotency_key_replay_the_first_answer() {
    let s = api_stack(Duration::from_secs(20)).await;
    s.stack.seed_shop("IDC", 5).await.unwrap();
    let token = s.token(&["IDC"]);
    let body = json!({"task": "sync-inventory"});
    let answers = concurrent_runs(&s, "IDC", &token, &body, Some("double-click-7"), 20).await;
    let ids: std::collections::BTreeSet<&str> = answers
        .iter()
        .map(|a| {
            assert_eq!(a.status, 202, "no loser gets a 500: {}", a.body);
            assert!(
                a.body.get("coalesced").is_none(),
                "a replay, not a join: {}",
                a.body
            );
            a.body["job_id"].as_str().unwrap()
        })
        .collect();
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(s.stack.jobs("IDC").await.len(), 1);
    assert_eq!(queue_depth(&s).await, 1, "one message");

    // The window between a first request remembering its key and creating its job: here the first
    // request remembered the key (with the job id it chose) and has not created the job yet, while
    // twenty repeats arrive at once. One of them creates that job and sends it; all answer with it.
    s.stack.seed_shop("IDW", 5).await.unwrap();
    let token_w = s.token(&["IDW"]);
    let chosen = shopsync_domain::job::job_id(
        TaskKind::SyncInventory,
        shopsync_domain::time::now_millis(),
        "firstrequest",
    );
    let request = json!({"task": "sync-inventory", "options": {"full": false}}).to_string();
    let remembered = shopsync_domain::ports::LedgerEntry {
        key: "api-run/slow-click-9".into(),
        payload: chosen.clone(),
        payload_sha256: shopsync_domain::ports::LedgerEntry::sha256_hex(&request),
        status: shopsync_domain::ports::LedgerStatus::Applied,
        result: None,
        created_at: shopsync_domain::time::now_secs(),
    };
    let begun = shopsync_domain::ports::IdempotencyLedger::begin(
        s.stack.adapters.store.as_ref(),
        "IDW",
        &remembered,
    )
    .await
    .unwrap();
    assert_eq!(begun, shopsync_domain::ports::LedgerBegin::Started);
    let answers = concurrent_runs(&s, "IDW", &token_w, &body, Some("slow-click-9"), 20).await;
    for a in &answers {
        assert_eq!(a.status, 202, "no loser gets a 500: {}", a.body);
        assert_eq!(a.body["job_id"], chosen.as_str(), "{}", a.body);
        assert!(a.body.get("coalesced").is_none(), "{}", a.body);
    }
    assert_eq!(s.stack.jobs("IDW").await.len(), 1);
    assert_eq!(
        queue_depth(&s).await,
        2,
        "one message for each shop's one job"
    );

    // A second key asked while that job waits joins it, and its repeats replay the join.
    let other = s
        .post_run_with_key("IDC", &token, &body, "another-click")
        .await;
    assert_eq!(other.body["coalesced"], true);
    let again = s
        .post_run_with_key("IDC", &token, &body, "another-click")
        .await;
    assert_eq!(again.body["job_id"], other.body["job_id"]);
    assert_eq!(again.body["coalesced"], true);
    assert_eq!(s.stack.jobs("IDC").await.len(), 1);
    assert_eq!(queue_depth(&s).await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_retries_of_one_failure_queue_one_job_and_send_one_message() {
    let s = api_stack(Duration::from_secs(20)).await;
    let shop = s.stack.seed_shop("RTC", 5).await.unwrap();
    let token = s.token(&["RTC"]);
    let store = s.stack.shopify.store(&shop.domain);
    let good_token = store.access_token().expect("seeded with a token");
    store.set_access_token("rotated");
    let a = s
        .post_run("RTC", &token, &json!({"task": "sync-inventory"}))
        .await;
    assert_eq!(a.status, 202);
    s.stack.runner.drain(Duration::from_secs(60)).await.unwrap();
    let list = s
        .call("GET", "/shops/RTC/failures", Some(&token), None)
        .await;
    let id = list.body["failures"][0]["id"]
        .as_str()
        .expect("the failed run is on the dead-letter queue")
        .to_string();
    store.set_access_token(&good_token);
    assert_eq!(queue_depth(&s).await, 0);

    let path = format!("/shops/RTC/failures/{id}/retry");
    let answers =
        futures_util::future::join_all((0..10).map(|_| s.call("POST", &path, Some(&token), None)))
            .await;
    let retry_jobs: std::collections::BTreeSet<&str> = answers
        .iter()
        .map(|a| {
            assert_eq!(a.status, 202, "{}", a.body);
            a.body["retry_job_id"].as_str().unwrap()
        })
        .collect();
    assert_eq!(retry_jobs.len(), 1, "{retry_jobs:?}");
    let retry_job = retry_jobs.into_iter().next().unwrap();
    assert_eq!(queue_depth(&s).await, 1, "exactly one message");
    let retries: Vec<_> = s
        .stack
        .jobs("RTC")
        .await
        .into_iter()
        .filter(|j| j.trigger == shopsync_domain::Trigger::Retry)
        .collect();
    assert_eq!(retries.len(), 1);
    assert_eq!(retries[0].job_id, retry_job);

    // Unknown ids are 404 from the mirror.
    for (method, path) in [
        (
            "POST",
            "/shops/RTC/failures/00000000-0000-0000-0000-000000000000/retry",
        ),
        (
            "DELETE",
            "/shops/RTC/failures/00000000-0000-0000-0000-000000000000",
        ),
    ] {
        let a = s.call(method, path, Some(&token), None).await;
        assert_eq!(a.status, 404, "{method} {path}: {}", a.body);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_of_one_shop_cannot_point_its_settings_at_another_shops_secrets_or_host() {
    let s = api_stack(Duration::from_secs(20)).await;
    s.stack.seed_shop("SHA", 5).await.unwrap();
    let victim = s.stack.seed_shop("SHB", 5).await.unwrap();
    let admin_a = s.admin_token(&["SHA"]);
    let mine = s
        .call("GET", "/shops/SHA/settings", Some(&admin_a), None)
        .await;
    assert_eq!(mine.status, 200);
    let cases = [
        (
            "/shopify/access_token_secret_id",
            json!(victim.settings.shopify.access_token_secret_id),
            "shopify.access_token_secret_id",
        ),
        (
            "/bc/credentials_secret_id",
            json!(victim.settings.bc.credentials_secret_id),
            "bc.credentials_secret_id",
        ),
        (
            "/shopify/store_domain",
            json!("evil.example?.myshopify.com"),
            "shopify.store_domain",
        ),
        (
            "/shopify/store_domain",
            json!("169.254.169.254?.myshopify.com"),
            "shopify.store_domain",
        ),
        ("/bc/tenant", json!("evil.example/x?"), "bc.tenant"),
    ];
    for (pointer, value, field) in cases {
        let mut doc = mine.body.clone();
        *doc.pointer_mut(pointer).unwrap() = value.clone();
        let answer = s
            .call("PUT", "/shops/SHA/settings", Some(&admin_a), Some(&doc))
            .await;
        assert_eq!(answer.status, 400, "{pointer} = {value}: {:?}", answer.body);
        assert_eq!(answer.code(), "invalid_settings");
        let fields: Vec<&str> = answer.body["error"]["problems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["field"].as_str().unwrap())
            .collect();
        assert_eq!(fields, vec![field], "{pointer}");
    }
    let stored = s
        .stack
        .adapters
        .store
        .get_shop("SHA")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        serde_json::to_value(&stored).unwrap(),
        mine.body,
        "nothing was saved"
    );
}
