//! The client against the real simulator over HTTP: tokens, paging, concurrency, retries, errors.

use crate::common;

use common::*;

use bc_sim::{BcFaults, BcSimConfig};
use shopsync_bc::{BcClient, BcConfig, BcError};
use shopsync_domain::SyncError;
use shopsync_domain::inventory::BcItemType;
use shopsync_domain::ports::BcInventoryApi;
use std::collections::HashSet;
use std::time::Duration;

#[tokio::test]
async fn one_token_serves_many_calls() {
    let (sim, company) = setup_with(BcSimConfig::default()).await;
    company.seed_items(10, "I", &["EAST"], |_, _| 1.0);
    let c = client(&sim);
    for _ in 0..15 {
        assert_eq!(c.list_items().await.unwrap().len(), 10);
    }
    let clones: Vec<_> = (0..10).map(|_| c.clone()).collect();
    let handles: Vec<_> = clones
        .into_iter()
        .map(|c| tokio::spawn(async move { c.companies().await }))
        .collect();
    for h in handles {
        assert_eq!(h.await.unwrap().unwrap().len(), 1);
    }
    assert_eq!(sim.stats().tokens_issued, 1);
    assert_eq!(c.tokens_fetched(), 1);
}

#[tokio::test]
async fn concurrent_first_calls_share_one_token_fetch() {
    let (sim, _company) = setup_with(BcSimConfig::default()).await;
    let c = client(&sim);
    let handles: Vec<_> = (0..12)
        .map(|_| {
            let c = c.clone();
            tokio::spawn(async move { c.companies().await })
        })
        .collect();
    for h in handles {
        h.await.unwrap().unwrap();
    }
    assert_eq!(sim.stats().tokens_issued, 1, "single-flight refresh");
}

#[tokio::test]
async fn token_is_refreshed_before_it_expires() {
    let (sim, _company) = setup_with(BcSimConfig {
        token_ttl: Duration::from_secs(2),
        ..BcSimConfig::default()
    })
    .await;
    let c = client(&sim);
    c.companies().await.unwrap();
    tokio::time::sleep(Duration::from_millis(2300)).await;
    c.companies().await.unwrap();
    let stats = sim.stats();
    assert_eq!(stats.tokens_issued, 2);
    assert_eq!(
        stats.unauthorized, 0,
        "refreshed proactively, not after a 401"
    );
}

#[tokio::test]
async fn unauthorized_forces_one_refresh_and_resend() {
    let (sim, _company) = setup_with(BcSimConfig::default()).await;
    let c = client(&sim);
    c.companies().await.unwrap();
    sim.revoke_tokens();
    assert_eq!(c.companies().await.unwrap().len(), 1);
    let stats = sim.stats();
    assert_eq!(stats.unauthorized, 1);
    assert_eq!(stats.tokens_issued, 2);
}

#[tokio::test]
async fn bad_secret_is_an_auth_error_without_retries() {
    let (sim, _company) = setup_with(BcSimConfig::default()).await;
    let c = BcClient::new(client_config(&sim, "wrong-secret")).unwrap();
    let err = c.companies().await.unwrap_err();
    match &err {
        BcError::Unauthorized {
            status,
            code,
            message,
        } => {
            assert_eq!((*status, code.as_str()), (401, "invalid_client"));
            assert!(message.starts_with("AADSTS7000215"), "{message}");
        }
        other => panic!("expected Unauthorized, got {other:?}"),
    }
    assert!(!err.is_retryable());
    let stats = sim.stats();
    assert_eq!(stats.token_failures, 1, "not retried");
    assert_eq!(stats.requests, 0, "no API call without a token");
    let sync: SyncError = err.into();
    assert!(matches!(sync, SyncError::Auth { status: 401, .. }));
    assert!(!sync.is_retryable());
    // And through the port:
    assert!(matches!(c.items().await, Err(SyncError::Auth { .. })));
}

#[tokio::test]
async fn pages_return_every_item_exactly_once() {
    let (sim, company) = setup_with(BcSimConfig::default()).await;
    company.seed_items(2500, "ITEM-", &["EAST", "WEST"], |i, l| (i % 7 + l) as f64);
    let mut config = client_config(&sim, SECRET);
    config.page_size = Some(1000);
    let c = BcClient::new(config).unwrap();
    let items = c.list_items().await.unwrap();
    assert_eq!(items.len(), 2500);
    let numbers: HashSet<_> = items.iter().map(|i| i.number.clone()).collect();
    assert_eq!(numbers.len(), 2500);
    assert_eq!(sim.stats().requests, 3, "three pages of 1000");
    let first = items.iter().find(|i| i.number == "ITEM-000003").unwrap();
    assert_eq!(first.inventory, 7.0, "EAST 3 + WEST 4");
    assert_eq!(first.item_type, BcItemType::Inventory);
    assert!(first.gtin.as_deref().is_some_and(|g| g.len() == 13));

    // Without Prefer the server's page size (1000 here) applies; the result is the same.
    let default_pages = client(&sim).list_items().await.unwrap();
    assert_eq!(default_pages.len(), 2500);
}

#[tokio::test]
async fn never_more_than_five_in_flight() {
    let (sim, company) = setup_with(BcSimConfig {
        latency: Duration::from_millis(40),
        ..BcSimConfig::default()
    })
    .await;
    company.seed_items(5, "I", &["EAST"], |_, _| 1.0);
    let c = client(&sim);
    let handles: Vec<_> = (0..20)
        .map(|_| {
            let c = c.clone();
            tokio::spawn(async move { c.list_items().await })
        })
        .collect();
    for h in handles {
        assert_eq!(h.await.unwrap().unwrap().len(), 5);
    }
    let stats = sim.stats();
    assert_eq!(stats.requests, 20);
    assert_eq!(
        stats.max_concurrency_seen, 5,
        "the limit is used, not exceeded"
    );
    assert_eq!(stats.throttled_429, 0, "no 429 from the concurrency limit");
}

#[tokio::test]
async fn retries_through_injected_faults() {
    let (sim, company) = setup_with(BcSimConfig {
        faults: BcFaults::new(0.3, 42),
        ..BcSimConfig::default()
    })
    .await;
    company.seed_items(2500, "ITEM-", &["EAST", "WEST"], |i, l| {
        ((i + l) % 11) as f64
    });
    company.publish_availability_page("ItemAvail");
    let mut config = client_config(&sim, SECRET);
    config.page_size = Some(250);
    config.max_retries = 8;
    let c = BcClient::new(config).unwrap();
    let items = c.items().await.unwrap();
    assert_eq!(items.len(), 2500);
    assert_eq!(
        items
            .iter()
            .map(|i| &i.number)
            .collect::<HashSet<_>>()
            .len(),
        2500
    );
    let avail = c
        .availability("ItemAvail", COMPANY, &["EAST".into(), "WEST".into()])
        .await
        .unwrap();
    assert_eq!(avail.len(), 5000);
    let stats = sim.stats();
    assert!(stats.injected_faults > 0, "faults were injected: {stats:?}");
    assert!(stats.requests > 30, "pages were retried: {stats:?}");
}

#[tokio::test]
async fn stale_etag_is_entity_changed() {
    let (sim, company) = setup_with(BcSimConfig::default()).await;
    company.add_item("1000", "Inventory", Some("4006381333931"));
    let c = client(&sim);
    let id = company.item_id("1000").unwrap();
    let url = c.company_url(&format!("items({id})"));
    let item: serde_json::Value = c.get_json(&url).await.unwrap();
    let etag = item["@odata.etag"].as_str().unwrap().to_string();

    let patched = c
        .patch_json::<_, serde_json::Value>(
            &url,
            &etag,
            &serde_json::json!({"displayName": "Bicycle"}),
        )
        .await
        .unwrap();
    assert_eq!(patched.entity["displayName"], "Bicycle");
    let new_etag = patched.etag.clone().unwrap();
    assert_ne!(new_etag, etag);

    let err = c
        .patch_json::<_, serde_json::Value>(
            &url,
            &etag,
            &serde_json::json!({"displayName": "Bike"}),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, BcError::EntityChanged { .. }), "{err:?}");
    assert!(matches!(SyncError::from(err), SyncError::Conflict(_)));

    let ok = c
        .patch_json::<_, serde_json::Value>(
            &url,
            &new_etag,
            &serde_json::json!({"displayName": "Bike"}),
        )
        .await
        .unwrap();
    assert_eq!(ok.entity["displayName"], "Bike");
}

#[tokio::test]
async fn items_map_type_gtin_and_blocked() {
    let (sim, company) = setup_with(BcSimConfig::default()).await;
    company.add_item("A", "Inventory", Some("4006381333931"));
    company.add_item("B", "Service", None);
    company.add_item("C", "Non-Inventory", None);
    company.set_item_blocked("C", true);
    company.set_availability("A", "", "EAST", 4.0, 3.0);
    company.set_availability("A", "RED", "WEST", 2.5, 2.5);
    let items = client(&sim).items().await.unwrap();
    let by_no = |n: &str| items.iter().find(|i| i.number == n).unwrap().clone();
    assert_eq!(by_no("A").item_type, BcItemType::Inventory);
    assert_eq!(by_no("A").gtin.as_deref(), Some("4006381333931"));
    assert_eq!(by_no("A").inventory, 6.5);
    assert_eq!(by_no("B").item_type, BcItemType::Service);
    assert_eq!(by_no("B").gtin, None);
    assert_eq!(by_no("C").item_type, BcItemType::NonInventory);
    assert!(by_no("C").blocked && !by_no("A").blocked);
}

#[tokio::test]
async fn availability_is_read_per_location() {
    let (sim, company) = setup_with(BcSimConfig::default()).await;
    company.add_location("EAST", "East");
    company.add_location("WEST", "West");
    company.add_location("O'HARE", "Airport");
    company.add_item("A", "Inventory", None);
    company.set_availability("A", "", "EAST", 10.0, 8.0);
    company.set_availability("A", "RED", "EAST", 1.0, 0.0);
    company.set_availability("A", "", "WEST", 5.0, 5.0);
    company.set_availability("A", "", "O'HARE", 7.0, 6.0);
    company.publish_availability_page("ShopsyncAvailability");
    let c = client(&sim);
    let rows = c
        .availability(
            "ShopsyncAvailability",
            COMPANY,
            &["EAST".into(), "O'HARE".into()],
        )
        .await
        .unwrap();
    assert_eq!(sim.stats().requests, 2, "one read per location");
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|r| r.location_code != "WEST"));
    let red = rows.iter().find(|r| r.variant_code == "RED").unwrap();
    assert_eq!((red.projected_available, red.free_inventory), (1.0, 0.0));
    let ohare = rows.iter().find(|r| r.location_code == "O'HARE").unwrap();
    assert_eq!(
        (ohare.projected_available, ohare.free_inventory),
        (7.0, 6.0)
    );
    assert_eq!(
        rows[0].location_code, "EAST",
        "rows follow the order of location codes"
    );
}

#[tokio::test]
async fn missing_page_is_not_found() {
    let (sim, _company) = setup_with(BcSimConfig::default()).await;
    let c = client(&sim);
    let err = c
        .location_availability("NoSuchPage", COMPANY, "EAST")
        .await
        .unwrap_err();
    match &err {
        BcError::NotFound { code, message } => {
            assert_eq!(code, "BadRequest_NotFound");
            assert!(message.contains("NoSuchPage"), "{message}");
        }
        other => panic!("expected NotFound, got {other:?}"),
    }
    assert_eq!(sim.stats().requests, 1, "404 is not retried");
    let sync = c
        .availability("NoSuchPage", COMPANY, &["EAST".into()])
        .await
        .unwrap_err();
    assert!(
        matches!(sync, SyncError::NotFound(ref m) if m.contains("NoSuchPage")),
        "{sync:?}"
    );
}

#[tokio::test]
async fn exhausted_throttling_is_throttled() {
    let (sim, _company) = setup_with(BcSimConfig {
        rate_limit: 2,
        rate_window: Duration::from_secs(60),
        ..BcSimConfig::default()
    })
    .await;
    let mut config = client_config(&sim, SECRET);
    config.max_retries = 1;
    let c = BcClient::new(config).unwrap();
    c.companies().await.unwrap();
    c.companies().await.unwrap();
    let err = c.companies().await.unwrap_err();
    assert!(matches!(err, BcError::Throttled { .. }), "{err:?}");
    assert_eq!(sim.stats().rate_rejections, 2, "one try plus one retry");
    let sync: SyncError = err.into();
    assert!(matches!(sync, SyncError::Throttled { .. }) && sync.is_retryable());
}

#[tokio::test]
async fn writes_are_not_resent_when_the_outcome_is_unknown() {
    // Every request faults. Reads would be retried; a POST may only be resent after 429/503, so however
    // the faults fall at most one item can have been created.
    let (sim, company) = setup_with(BcSimConfig {
        faults: BcFaults::new(1.0, 7),
        ..BcSimConfig::default()
    })
    .await;
    let c = client(&sim);
    let url = c.company_url("items");
    for n in 0..6 {
        let before = company.item_count();
        let result = c
            .post_json::<_, serde_json::Value>(
                &url,
                &serde_json::json!({"number": format!("NEW-{n}")}),
            )
            .await;
        assert!(result.is_err(), "every request faults");
        assert!(
            company.item_count() - before <= 1,
            "a write was resent after an unknown outcome"
        );
    }
}

/// A listener on 127.0.0.1 that counts the connections it gets (it answers none of them).
async fn thief() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        while let Ok((_socket, _)) = listener.accept().await {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    });
    (format!("http://{addr}"), hits)
}

#[tokio::test]
async fn the_token_goes_only_to_the_api_host() {
    let (sim, _company) = setup_with(BcSimConfig::default()).await;
    let c = client(&sim);
    c.companies().await.unwrap();
    let (evil, hits) = thief().await;
    // e.g. an @odata.nextLink or a media link that names another host
    for url in [
        format!("{evil}/v2.0/contoso/production/api/v2.0/companies"),
        "http://user@127.0.0.1:1/x".to_string(),
    ] {
        let err = c.get_json::<serde_json::Value>(&url).await.unwrap_err();
        assert!(matches!(err, BcError::Config(_)), "{url}: {err:?}");
        assert!(!SyncError::from(err).is_retryable());
    }
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 0);
}

#[tokio::test]
async fn values_that_reach_urls_are_checked_before_any_request() {
    let (sim, _company) = setup_with(BcSimConfig::default()).await;
    let (evil, hits) = thief().await;
    let evil_host = evil.trim_start_matches("http://").to_string();
    for (tenant, env, company) in [
        (
            format!("{evil_host}/x?"),
            ENV.to_string(),
            COMPANY_ID.to_string(),
        ),
        ("a@b".to_string(), ENV.to_string(), COMPANY_ID.to_string()),
        (
            TENANT.to_string(),
            "production/../..".to_string(),
            COMPANY_ID.to_string(),
        ),
        (TENANT.to_string(), ENV.to_string(), "c1".to_string()),
        (
            TENANT.to_string(),
            ENV.to_string(),
            format!("{COMPANY_ID})/../x("),
        ),
    ] {
        let config = BcConfig::new(&tenant, &env, &company, CLIENT_ID, SECRET)
            .with_endpoints(sim.api_base_url(), sim.token_url_template());
        let err = BcClient::new(config).err().expect("refused");
        assert!(
            matches!(err, BcError::Config(_)),
            "{tenant} {env} {company}: {err:?}"
        );
    }
    // A token URL template whose host the tenant could move is refused too.
    let config = BcConfig::new(TENANT, ENV, COMPANY_ID, CLIENT_ID, SECRET)
        .with_endpoints(sim.api_base_url(), "https://{tenant}@login.example/token");
    assert!(matches!(BcClient::new(config), Err(BcError::Config(_))));
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 0);
    assert_eq!(sim.stats().tokens_issued, 0);
}
