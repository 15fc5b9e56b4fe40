//! The simulator's own behaviour over raw HTTP: tokens, limits, paging, ETags, OData pages, faults.

use bc_sim::{BcFaults, BcSim, BcSimConfig, CompanyHandle};
use serde_json::Value;
use std::collections::HashSet;
use std::time::Duration;

const TENANT: &str = "t1";
const CID: &str = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee";
const SCOPE: &str = "https://api.businesscentral.dynamics.com/.default";

async fn setup(config: BcSimConfig) -> (BcSim, CompanyHandle, reqwest::Client) {
    let sim = BcSim::start(config).await.unwrap();
    sim.add_client(TENANT, "app", "secret");
    let company = sim.add_company(TENANT, "production", CID, "My Co/Ltd, 'Quoted'");
    (sim, company, reqwest::Client::new())
}

async fn token_response(sim: &BcSim, http: &reqwest::Client, secret: &str) -> (u16, Value) {
    let r = http
        .post(sim.token_url(TENANT))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "app"),
            ("client_secret", secret),
            ("scope", SCOPE),
        ])
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

async fn token(sim: &BcSim, http: &reqwest::Client) -> String {
    let (status, body) = token_response(sim, http, "secret").await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_string()
}

fn api(sim: &BcSim, path: &str) -> String {
    format!(
        "{}/v2.0/{TENANT}/production/api/v2.0/{path}",
        sim.api_base_url()
    )
}

async fn get(
    http: &reqwest::Client,
    token: &str,
    url: &str,
    prefer: Option<&str>,
) -> reqwest::Response {
    let mut r = http.get(url).bearer_auth(token);
    if let Some(p) = prefer {
        r = r.header("Prefer", p);
    }
    r.send().await.unwrap()
}

#[tokio::test]
async fn token_endpoint_follows_entra() {
    let (sim, _c, http) = setup(BcSimConfig::default()).await;
    let (status, body) = token_response(&sim, &http, "secret").await;
    assert_eq!(status, 200);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3599);
    let (status, body) = token_response(&sim, &http, "wrong").await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "invalid_client");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .starts_with("AADSTS7000215")
    );
    let stats = sim.stats();
    assert_eq!((stats.tokens_issued, stats.token_failures), (1, 1));
}

#[tokio::test]
async fn api_requires_a_valid_token() {
    let (sim, _c, http) = setup(BcSimConfig {
        token_ttl: Duration::from_secs(1),
        ..BcSimConfig::default()
    })
    .await;
    let r = http.get(api(&sim, "companies")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "Authentication_InvalidCredentials");
    let t = token(&sim, &http).await;
    assert_eq!(
        get(&http, &t, &api(&sim, "companies"), None).await.status(),
        200
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        get(&http, &t, &api(&sim, "companies"), None).await.status(),
        401,
        "expired"
    );
}

#[tokio::test]
async fn concurrency_limit_answers_429() {
    let (sim, _c, http) = setup(BcSimConfig {
        latency: Duration::from_millis(300),
        ..BcSimConfig::default()
    })
    .await;
    let t = token(&sim, &http).await;
    let url = api(&sim, "companies");
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let (http, t, url) = (http.clone(), t.clone(), url.clone());
            tokio::spawn(async move { http.get(url).bearer_auth(t).send().await.unwrap() })
        })
        .collect();
    let mut codes = Vec::new();
    for h in handles {
        let r = h.await.unwrap();
        let status = r.status().as_u16();
        if status == 429 {
            let body: Value = r.json().await.unwrap();
            assert_eq!(body["error"]["code"], "Application_TooManyRequests");
        }
        codes.push(status);
    }
    assert_eq!(codes.iter().filter(|c| **c == 200).count(), 5, "{codes:?}");
    assert_eq!(codes.iter().filter(|c| **c == 429).count(), 3, "{codes:?}");
    let stats = sim.stats();
    assert_eq!(stats.max_concurrency_seen, 5);
    assert_eq!((stats.concurrency_rejections, stats.throttled_429), (3, 3));
}

#[tokio::test]
async fn rate_limit_answers_429_per_client() {
    let (sim, _c, http) = setup(BcSimConfig {
        rate_limit: 3,
        rate_window: Duration::from_secs(60),
        ..BcSimConfig::default()
    })
    .await;
    sim.add_client(TENANT, "other", "secret2");
    let t = token(&sim, &http).await;
    for _ in 0..3 {
        assert_eq!(
            get(&http, &t, &api(&sim, "companies"), None).await.status(),
            200
        );
    }
    assert_eq!(
        get(&http, &t, &api(&sim, "companies"), None).await.status(),
        429
    );
    let other: Value = http
        .post(sim.token_url(TENANT))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "other"),
            ("client_secret", "secret2"),
            ("scope", SCOPE),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let t2 = other["access_token"].as_str().unwrap();
    assert_eq!(
        get(&http, t2, &api(&sim, "companies"), None).await.status(),
        200,
        "limits are per principal"
    );
    assert_eq!(sim.stats().rate_rejections, 1);
}

#[tokio::test]
async fn server_driven_paging() {
    let (sim, company, http) = setup(BcSimConfig::default()).await;
    company.seed_items(2500, "P", &["EAST"], |i, _| i as f64);
    let t = token(&sim, &http).await;
    let mut url = Some(api(
        &sim,
        &format!("companies({CID})/items?$select=number,inventory"),
    ));
    let mut seen = HashSet::new();
    let mut pages = 0;
    while let Some(u) = url.take() {
        let r = get(&http, &t, &u, Some("odata.maxpagesize=1000")).await;
        assert_eq!(r.headers()["preference-applied"], "odata.maxpagesize=1000");
        let body: Value = r.json().await.unwrap();
        assert!(
            body["@odata.context"]
                .as_str()
                .unwrap()
                .ends_with(&format!("$metadata#companies({CID})/items"))
        );
        for v in body["value"].as_array().unwrap() {
            assert!(v.get("displayName").is_none(), "$select applied");
            assert!(v["@odata.etag"].as_str().unwrap().starts_with("W/\"JzQ0O"));
            assert!(
                seen.insert(v["number"].as_str().unwrap().to_string()),
                "duplicate across pages"
            );
        }
        url = body["@odata.nextLink"].as_str().map(|s| {
            assert!(
                s.starts_with(&sim.api_base_url()) && s.contains("$skiptoken="),
                "{s}"
            );
            s.to_string()
        });
        pages += 1;
    }
    assert_eq!((pages, seen.len()), (3, 2500));

    // Cap at max_page_size, default page size without Prefer.
    let r = get(
        &http,
        &t,
        &api(&sim, &format!("companies({CID})/items")),
        Some("odata.maxpagesize=50000"),
    )
    .await;
    assert_eq!(r.headers()["preference-applied"], "odata.maxpagesize=20000");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["value"].as_array().unwrap().len(), 2500);
    assert!(body.get("@odata.nextLink").is_none());
    let body: Value = get(
        &http,
        &t,
        &api(&sim, &format!("companies({CID})/items")),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(body["value"].as_array().unwrap().len(), 1000);
}

#[tokio::test]
async fn filter_top_and_unknown_properties() {
    let (sim, company, http) = setup(BcSimConfig::default()).await;
    company.seed_items(20, "F", &["EAST"], |_, _| 1.0);
    let t = token(&sim, &http).await;
    let items = api(&sim, &format!("companies({CID})/items"));
    let body: Value = get(
        &http,
        &t,
        &format!("{items}?$filter=number%20eq%20'F000007'"),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(body["value"].as_array().unwrap().len(), 1);
    let body: Value = get(&http, &t, &format!("{items}?$top=4"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["value"].as_array().unwrap().len(), 4);
    assert!(body.get("@odata.nextLink").is_none());
    let body: Value = get(
        &http,
        &t,
        &format!("{items}?$filter=lastModifiedDateTime%20gt%202000-01-01T00:00:00Z"),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(body["value"].as_array().unwrap().len(), 20);
    let r = get(
        &http,
        &t,
        &format!("{items}?$filter=colour%20eq%20'red'"),
        None,
    )
    .await;
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn patch_requires_a_current_etag() {
    let (sim, company, http) = setup(BcSimConfig::default()).await;
    company.add_item("X1", "Inventory", None);
    let t = token(&sim, &http).await;
    let url = api(
        &sim,
        &format!("companies({CID})/items({})", company.item_id("X1").unwrap()),
    );
    let item: Value = get(&http, &t, &url, None).await.json().await.unwrap();
    let etag = item["@odata.etag"].as_str().unwrap().to_string();
    let patch = |if_match: Option<String>, name: &str| {
        let mut r = http
            .patch(&url)
            .bearer_auth(&t)
            .json(&serde_json::json!({"displayName": name}));
        if let Some(m) = if_match {
            r = r.header("If-Match", m);
        }
        r.send()
    };
    let r = patch(None, "a").await.unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "BadRequest_InvalidToken"
    );
    let r = patch(Some(etag.clone()), "b").await.unwrap();
    assert_eq!(r.status(), 200);
    let new_etag = r.headers()["etag"].to_str().unwrap().to_string();
    assert_ne!(new_etag, etag);
    let r = patch(Some(etag), "c").await.unwrap();
    assert_eq!(r.status(), 409);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "Request_EntityChanged");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Another user has already changed the record.")
    );
    assert_eq!(patch(Some("*".into()), "d").await.unwrap().status(), 200);
    // A change from the BC side changes the ETag too.
    company.set_item_display_name("X1", "e");
    assert_eq!(patch(Some(new_etag), "f").await.unwrap().status(), 409);
}

#[tokio::test]
async fn odata_page_with_encoded_company_name() {
    let (sim, company, http) = setup(BcSimConfig::default()).await;
    company.seed_items(30, "A", &["EAST", "WEST"], |i, l| (i * 10 + l) as f64);
    company.publish_availability_page("Avail");
    let t = token(&sim, &http).await;
    let base = format!(
        "{}/v2.0/{TENANT}/production/ODataV4/Company('My%20Co%2FLtd,%20''Quoted''')",
        sim.api_base_url()
    );
    let r = get(
        &http,
        &t,
        &format!("{base}/Avail?$filter=locationCode%20eq%20'WEST'"),
        Some("odata.maxpagesize=7"),
    )
    .await;
    assert_eq!(r.status(), 200);
    let mut body: Value = r.json().await.unwrap();
    let mut rows = Vec::new();
    loop {
        rows.extend(body["value"].as_array().unwrap().clone());
        let Some(next) = body["@odata.nextLink"].as_str().map(str::to_string) else {
            break;
        };
        body = get(&http, &t, &next, Some("odata.maxpagesize=7"))
            .await
            .json()
            .await
            .unwrap();
    }
    assert_eq!(rows.len(), 30);
    assert!(rows.iter().all(|r| r["locationCode"] == "WEST"));
    let a5 = rows.iter().find(|r| r["itemNo"] == "A000005").unwrap();
    assert_eq!(a5["projectedAvailableBalance"], 51.0);
    assert_eq!(a5["freeInventory"], 51.0);
    let r = get(&http, &t, &format!("{base}/Missing"), None).await;
    assert_eq!(r.status(), 404);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "BadRequest_NotFound"
    );
}

#[tokio::test]
async fn faults_are_injected_at_the_configured_rate() {
    let (sim, _company, http) = setup(BcSimConfig::default()).await;
    let t = token(&sim, &http).await;
    sim.set_faults(BcFaults::new(1.0, 3));
    let mut outcomes = HashSet::new();
    for _ in 0..40 {
        match http
            .get(api(&sim, "companies"))
            .bearer_auth(&t)
            .send()
            .await
        {
            Ok(r) => {
                let status = r.status().as_u16();
                if status == 503 {
                    assert_eq!(r.headers()["retry-after"], "1");
                }
                outcomes.insert(status.to_string());
            }
            Err(_) => {
                outcomes.insert("dropped".to_string());
            }
        }
    }
    for expected in ["429", "500", "503", "504", "dropped"] {
        assert!(
            outcomes.contains(expected),
            "{expected} never injected: {outcomes:?}"
        );
    }
    assert!(!outcomes.contains("200"));
    assert_eq!(sim.stats().injected_faults, 40);
    sim.set_faults(BcFaults::none());
    assert_eq!(
        get(&http, &t, &api(&sim, "companies"), None).await.status(),
        200
    );
}

#[tokio::test]
async fn seeding_fifty_thousand_items_is_fast_enough_for_tests() {
    let (sim, company, http) = setup(BcSimConfig::default()).await;
    company.seed_items(50_000, "S", &["EAST", "WEST", "NORTH"], |i, l| {
        ((i + l) % 9) as f64
    });
    assert_eq!(company.item_count(), 50_000);
    let t = token(&sim, &http).await;
    let body: Value = get(
        &http,
        &t,
        &api(&sim, &format!("companies({CID})/items?$select=number")),
        Some("odata.maxpagesize=20000"),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(body["value"].as_array().unwrap().len(), 20_000);
    assert!(body["@odata.nextLink"].is_string());
    sim.shutdown().await;
}
