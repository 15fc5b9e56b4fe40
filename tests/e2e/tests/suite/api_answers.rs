//! The api function's answers, end to end through the local gateway: they stay small and plain
//! whatever the caller sends (caller input is echoed only as a short preview, a refused token gets
//! one plain sentence), every 405 says in `Allow` what the path serves, and what infra/openapi.yaml
//! documents as valid or invalid — its examples, ids, cursors, task options, settings strings — the
//! api function treats the same way.

use serde_json::{Value, json};
use shopsync_e2e::StackOptions;
use shopsync_e2e::api_stack::{Answer, ApiStack};
use std::time::Duration;

async fn api_stack() -> ApiStack {
    ApiStack::start(StackOptions::default(), Duration::from_secs(20))
        .await
        .expect("local stack")
}

/// An error answer of at most 1 KB that does not contain `echo`.
fn small_and_plain(a: &Answer, what: &str, echo: &str) {
    assert!(a.status >= 400, "{what}: {}", a.status);
    assert!(a.size < 1024, "{what}: an answer of {} bytes", a.size);
    let message = a.body["error"]["message"].as_str().unwrap_or("");
    assert!(!message.is_empty(), "{what}: {}", a.body);
    assert!(!a.body.to_string().contains(echo), "{what}: echoed whole");
}

#[tokio::test]
async fn a_method_a_path_does_not_serve_is_405_with_an_allow_header() {
    let s = api_stack().await;
    s.stack.seed_shop("ALW", 5).await.unwrap();
    let token = s.admin_token(&["*"]);
    for (method, path, allow) in [
        ("GET", "/shops/ALW/runs", "POST"),
        ("PATCH", "/shops/ALW/runs", "POST"),
        ("POST", "/shops/ALW/jobs", "GET"),
        (
            "DELETE",
            "/shops/ALW/jobs/1795000000000-sync-inventory-abc",
            "GET",
        ),
        ("PUT", "/shops/ALW/status", "GET"),
        ("POST", "/shops/ALW/status/skipped_records", "GET"),
        ("DELETE", "/shops/ALW/settings", "GET, PUT"),
        ("POST", "/shops/ALW/failures", "GET"),
        ("GET", "/shops/ALW/failures/x", "DELETE"),
        ("DELETE", "/shops/ALW/failures/x/retry", "POST"),
        ("PUT", "/failures", "GET"),
        ("OPTIONS", "/failures/x", "DELETE"),
        ("GET", "/failures/x/retry", "POST"),
    ] {
        // Before the token is looked at: no token, a good one, the same answer.
        for token in [None, Some(token.as_str())] {
            let a = s.raw(method, path, token, None).await;
            assert_eq!(
                (a.status, a.code()),
                (405, "method_not_allowed"),
                "{method} {path}"
            );
            assert_eq!(a.header("allow"), Some(allow), "{method} {path}");
            assert_eq!(a.header("content-type"), Some("application/json"));
        }
    }
    // An unknown path is 404, without Allow.
    let a = s.raw("GET", "/shops/ALW/nothing", Some(&token), None).await;
    assert_eq!((a.status, a.code()), (404, "not_found"));
    assert_eq!(a.header("allow"), None);
}

#[tokio::test]
async fn caller_input_is_echoed_only_as_a_short_preview() {
    let s = api_stack().await;
    s.stack.seed_shop("ECH", 5).await.unwrap();
    let token = s.admin_token(&["ECH"]);
    let long = "x".repeat(60_000);
    let upper = "X".repeat(60_000);

    for (method, path, status) in [
        // A cue, a job status, a cursor, a limit, a job id, a failure id, a shop code.
        ("GET", format!("/shops/ECH/status/{long}"), 400),
        ("GET", format!("/shops/ECH/jobs?status={long}"), 400),
        ("GET", format!("/shops/ECH/jobs?cursor={long}"), 400),
        ("GET", format!("/shops/ECH/jobs?limit={long}"), 400),
        ("GET", format!("/shops/ECH/jobs/{long}"), 400),
        ("DELETE", format!("/shops/ECH/failures/{long}"), 400),
        ("GET", format!("/shops/{upper}/status"), 400),
        // An unknown path and a method the path does not serve.
        ("GET", format!("/shops/ECH/{long}"), 404),
        ("GET", format!("/{long}"), 404),
        ("PUT", format!("/shops/{upper}/runs"), 405),
    ] {
        let a = s.raw(method, &path, Some(&token), None).await;
        assert_eq!(a.status, status, "{method} {}…: {}", &path[..30], a.body);
        small_and_plain(&a, &path[..30], &long[..100]);
        small_and_plain(&a, &path[..30], &upper[..100]);
    }

    // A task name, an unknown field and options in a run request (bodies under the 64 KB limit).
    let with_key = |mut object: Value, key: &str, value: Value| {
        object
            .as_object_mut()
            .unwrap()
            .insert(key.to_string(), value);
        object
    };
    for (body, code) in [
        (json!({"task": long}), "unknown_task"),
        (
            with_key(json!({"task": "sync-inventory"}), &long, json!(1)),
            "invalid_json",
        ),
        (
            json!({"task": "sync-inventory", "options": with_key(json!({}), &long, json!(true))}),
            "invalid_options",
        ),
        (
            json!({"task": "sync-inventory", "options": {"full": long}}),
            "invalid_options",
        ),
    ] {
        let a = s
            .raw(
                "POST",
                "/shops/ECH/runs",
                Some(&token),
                Some(body.to_string().into_bytes()),
            )
            .await;
        assert_eq!((a.status, a.code()), (400, code), "{}", a.body);
        small_and_plain(&a, code, &long[..100]);
    }
    // A settings document whose every string is long: each problem is bounded.
    let mut settings =
        s.openapi.document()["components"]["schemas"]["ShopSettings"]["example"].clone();
    settings["code"] = json!("ECH");
    settings["shopify"]["store_domain"] = json!(long[..20_000]);
    settings["bc"]["tenant"] = json!(long[..20_000]);
    settings["bc"]["company_name"] = json!(long[..20_000]);
    let a = s
        .raw(
            "PUT",
            "/shops/ECH/settings",
            Some(&token),
            Some(settings.to_string().into_bytes()),
        )
        .await;
    assert_eq!(
        (a.status, a.code()),
        (400, "invalid_settings"),
        "{}",
        a.body
    );
    assert!(a.size < 2048, "{} bytes", a.size);
    assert!(!a.body.to_string().contains(&long[..100]));
}

#[tokio::test]
async fn a_refused_token_gets_one_plain_sentence() {
    use base64::Engine;
    let b64 = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let s = api_stack().await;
    s.stack.seed_shop("TKN", 5).await.unwrap();
    let now = shopsync_domain::time::now_secs();
    let claims = json!({"iss": s.issuer.issuer, "aud": s.issuer.audience, "sub": "m",
        "iat": now, "exp": now + 600, "shops": ["TKN"]});
    let long_kid = "k".repeat(60_000);
    let mut bad_shops = claims.clone();
    bad_shops["shops"] = json!({"nested": [1, 2]});
    for (authorization, answer) in [
        (
            format!(
                "Bearer {}.{}.c2ln",
                b64(json!({"alg": "RS256", "typ": "JWT", "kid": long_kid})),
                b64(claims.clone())
            ),
            "invalid token",
        ),
        (
            format!(
                "Bearer {}.{}.",
                b64(json!({"alg": "none", "typ": "JWT"})),
                b64(claims.clone())
            ),
            "invalid token",
        ),
        (
            format!("Bearer {}", s.issuer.sign(&bad_shops)),
            "invalid token",
        ),
        (
            format!("Bearer {}", s.issuer.token("m", &["TKN"], false, -600)),
            "token expired",
        ),
        (
            "Basic dXNlcjpwYXNz".to_string(),
            "the Authorization header must be 'Bearer <token>'",
        ),
    ] {
        let a = s
            .raw_with_authorization("GET", "/shops/TKN/status", &authorization)
            .await;
        assert_eq!((a.status, a.code()), (401, "unauthorized"), "{}", a.body);
        assert_eq!(
            a.body["error"]["message"],
            answer,
            "{}",
            &authorization[..20]
        );
        small_and_plain(&a, answer, &long_kid[..100]);
    }
    let a = s.raw("GET", "/shops/TKN/status", None, None).await;
    assert_eq!(a.body["error"]["message"], "missing bearer token");
}

/// Whether `value` is valid for the named parameter of `method template` in the document.
fn documented(s: &ApiStack, method: &str, path: &str, parameter: &str, value: &str) -> bool {
    let (op, _) = s.openapi.find(method, path).expect("documented operation");
    let p = op.spec["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| match p["$ref"].as_str() {
            Some(r) => s
                .openapi
                .document()
                .pointer(r.trim_start_matches('#'))
                .unwrap(),
            None => p,
        })
        .find(|p| p["name"] == parameter)
        .unwrap_or_else(|| panic!("{method} {path} has no parameter {parameter}"));
    s.openapi.validate(&p["schema"], &json!(value)).is_ok()
}

#[tokio::test]
async fn what_the_document_accepts_the_api_accepts_and_what_it_refuses_the_api_refuses() {
    let s = api_stack().await;
    s.stack.seed_shop("DOC", 5).await.unwrap();
    let token = s.admin_token(&["DOC"]);

    // Cursors: a job id, as the document says; `0000000000000-a-0` names no task.
    for (cursor, valid) in [
        ("0000000000000-a-0", false),
        ("0000000000000-sync-inventory-0", true),
        ("1795000000000-sync-catalog-prices-retry-5fea7756", true),
        ("1795000000000-sync-inventory-", false),
    ] {
        assert_eq!(
            documented(&s, "GET", "/shops/DOC/jobs", "cursor", cursor),
            valid,
            "the document on cursor {cursor}"
        );
        let a = s
            .call(
                "GET",
                &format!("/shops/DOC/jobs?cursor={cursor}"),
                Some(&token),
                None,
            )
            .await;
        assert_eq!(
            a.status,
            if valid { 200 } else { 400 },
            "cursor {cursor}: {}",
            a.body
        );
    }

    // Job ids: one of the documented shape that names no job is 404, not 400.
    let example = s.openapi.document()["components"]["schemas"]["JobId"]["example"]
        .as_str()
        .unwrap()
        .to_string();
    for (id, valid) in [
        (example.as_str(), true),
        ("0000000000000-a-0", false),
        ("1795000000000-sync-images-x_Y-1", true),
    ] {
        let path = format!("/shops/DOC/jobs/{id}");
        assert_eq!(
            documented(&s, "GET", &path, "job_id", id),
            valid,
            "the document on job id {id}"
        );
        let a = s.call("GET", &path, Some(&token), None).await;
        assert_eq!(
            (a.status, a.code()),
            if valid {
                (404, "not_found")
            } else {
                (400, "invalid_request")
            },
            "job id {id}: {}",
            a.body
        );
    }

    // Task options: `full` only for a task with a full run; the document says so.
    for (body, status, code) in [
        (
            json!({"task": "sync-images", "options": {"full": true}}),
            400,
            "invalid_options",
        ),
        (
            json!({"task": "sync-images", "options": {"full": false}}),
            409,
            "task_disabled",
        ),
        (
            json!({"task": "sync-images", "options": null}),
            409,
            "task_disabled",
        ),
        (
            json!({"task": "sync-inventory", "options": {"full": true}}),
            202,
            "",
        ),
    ] {
        let valid = status != 400;
        assert_eq!(
            s.openapi
                .check_request("POST", "/shops/DOC/runs", &body)
                .is_ok(),
            valid,
            "the document on {body}"
        );
        let a = s.post_run("DOC", &token, &body).await;
        assert_eq!((a.status, a.code()), (status, code), "{body}: {}", a.body);
    }

    // Settings: the document's example is accepted as it stands (for its own shop), and empty
    // strings the code refuses the document refuses too.
    let admin = s.admin_token(&["DEMO"]);
    let example = s.openapi.document()["components"]["schemas"]["ShopSettings"]["example"].clone();
    assert!(
        s.openapi
            .check_request("PUT", "/shops/DEMO/settings", &example)
            .is_ok()
    );
    let a = s
        .call("PUT", "/shops/DEMO/settings", Some(&admin), Some(&example))
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    for (pointer, value) in [
        ("/bc/company_name", json!("")),
        ("/bc/tenant", json!("")),
        ("/bc/environment", json!("")),
        ("/bc/company_id", json!("")),
        ("/shopify/store_domain", json!("")),
        ("/shopify/access_token_secret_id", json!("")),
        ("/inventory_availability_page", json!("")),
        (
            "/locations/0/shopify_location_id",
            json!("gid://shopify/Location/"),
        ),
        ("/tasks/sync-inventory/category", json!(" ")),
        (
            "/shopify/store_domain",
            json!("evil.example?.myshopify.com"),
        ),
        ("/bc/company_id", json!("c1")),
    ] {
        let mut body = example.clone();
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        let parent = match parent {
            "" => &mut body,
            p => body.pointer_mut(p).unwrap(),
        };
        match parent {
            Value::Array(items) => items[key.parse::<usize>().unwrap()] = value.clone(),
            object => {
                object[key] = value.clone();
            }
        }
        assert!(
            s.openapi
                .check_request("PUT", "/shops/DEMO/settings", &body)
                .is_err(),
            "the document accepts {pointer} = {value}"
        );
        let a = s
            .call("PUT", "/shops/DEMO/settings", Some(&admin), Some(&body))
            .await;
        assert_eq!(
            (a.status, a.code()),
            (400, "invalid_settings"),
            "{pointer} = {value}: {}",
            a.body
        );
    }
}
