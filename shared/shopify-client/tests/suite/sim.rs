//! The client against the Shopify simulator over real HTTP on 127.0.0.1: pacing, retries through
//! injected faults, idempotent resends, non-retried failures, userErrors as data, bulk reads.

use crate::common;

use shopify_sim::{FaultConfig, FaultKind, ShopifySim, SimConfig, VariantSeed};
use shopsync_domain::SyncError;
use shopsync_domain::inventory::{QuantityChange, SetQuantitiesRequest};
use shopsync_domain::ports::ShopifyInventoryApi;
use shopsync_shopify::{
    API_VERSION, Document, Pacer, PacerRegistry, ShopifyClient, ShopifyClientConfig, ShopifyError,
};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SHOP: &str = "test-shop.myshopify.com";
const TOKEN: &str = "shpat_test_token";

fn config(sim: &ShopifySim) -> ShopifyClientConfig {
    let mut c = common::sim_config(sim, SHOP, TOKEN, 20, 400);
    c.max_retries = 8;
    c.bulk_poll_interval = Duration::from_millis(50);
    c
}

fn client(sim: &ShopifySim) -> ShopifyClient {
    ShopifyClient::new(config(sim), Arc::new(Pacer::new())).unwrap()
}

async fn start(cfg: SimConfig) -> ShopifySim {
    let sim = ShopifySim::start(cfg).await.expect("simulator starts");
    sim.store(SHOP).set_access_token(TOKEN);
    sim
}

fn request(key: &str, rows: Vec<QuantityChange>) -> SetQuantitiesRequest {
    SetQuantitiesRequest {
        idempotency_key: key.into(),
        name: "available".into(),
        reason: "correction".into(),
        reference_document_uri: Some("gid://shopsync/Job/test".into()),
        quantities: rows,
    }
}

fn row(item: &str, loc: &str, qty: i64, from: Option<i64>) -> QuantityChange {
    QuantityChange {
        inventory_item_id: item.into(),
        location_id: loc.into(),
        quantity: qty,
        change_from_quantity: from,
    }
}

/// A cheap document whose actual cost equals its requested cost when the shop has 10 locations.
const TEN_LOCATIONS: Document = Document::new(
    "TenLocations",
    "# cost: 12\nquery TenLocations { locations(first: 10) { nodes { id } } }",
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pacing_drains_a_small_bucket_without_throttling() {
    let sim = start(SimConfig {
        bucket_size: 100.0,
        restore_rate: 50.0,
        time_scale: 10.0,
        ..Default::default()
    })
    .await;
    let store = sim.store(SHOP);
    for i in 0..10 {
        store.add_location(&format!("L{i}"));
    }
    let c = client(&sim);
    let started = Instant::now();
    let mut calls = 0;
    while started.elapsed() < Duration::from_secs(3) {
        c.execute(&TEN_LOCATIONS, serde_json::json!({}))
            .await
            .unwrap();
        calls += 1;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let stats = sim.stats();
    assert_eq!(stats.throttled, 0, "simulator saw THROTTLED");
    assert_eq!(c.throttled_count(), 0);
    let (max, rate) = c.pacer().bucket().unwrap();
    assert_eq!(
        (max, rate),
        (100.0, 500.0),
        "restoreRate is reported per real second"
    );
    let theoretical = max + rate * elapsed;
    let ratio = stats.points_consumed / theoretical;
    eprintln!(
        "{calls} calls, {:.0} points in {elapsed:.2}s, {:.1}% of theoretical",
        stats.points_consumed,
        ratio * 100.0
    );
    assert!(ratio >= 0.9, "throughput {ratio:.3} of theoretical");
    assert!((c.cost_points_used() - stats.points_consumed).abs() < 1e-6);
    // Past the first 100 points every call waited for the bucket, and the client says how long.
    assert!(
        c.throttle_wait_ms() > 1_000,
        "waited only {} ms in {elapsed:.2}s of paced calls",
        c.throttle_wait_ms()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_clients_share_the_store_pacer() {
    let sim = start(SimConfig {
        bucket_size: 100.0,
        restore_rate: 50.0,
        time_scale: 10.0,
        ..Default::default()
    })
    .await;
    let store = sim.store(SHOP);
    for i in 0..10 {
        store.add_location(&format!("L{i}"));
    }
    let registry = PacerRegistry::new();
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let c = ShopifyClient::new(config(&sim), registry.pacer_for(SHOP)).unwrap();
        tasks.push(tokio::spawn(async move {
            for _ in 0..25 {
                c.execute(&TEN_LOCATIONS, serde_json::json!({}))
                    .await
                    .unwrap();
            }
            c.throttled_count()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 0);
    }
    assert_eq!(sim.stats().throttled, 0);
    assert_eq!(sim.stats().requests, 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_and_writes_survive_injected_faults() {
    let sim = start(SimConfig {
        time_scale: 10.0,
        ..Default::default()
    })
    .await;
    let store = sim.store(SHOP);
    let locs: Vec<String> = (0..3)
        .map(|i| store.add_location(&format!("Warehouse {i}")))
        .collect();
    let items = store.seed_catalogue(600, &locs, "SKU-", |v, l| (v * 3 + l) as i64);
    sim.set_faults(FaultConfig {
        rate: 0.2,
        seed: 42,
        kinds: FaultKind::ALL.to_vec(),
    });
    let c = client(&sim);

    let locations = c.locations().await.unwrap();
    assert_eq!(c.levels(&[]).await.unwrap(), vec![]);
    assert_eq!(
        locations.iter().map(|l| l.id.clone()).collect::<Vec<_>>(),
        locs
    );
    assert!(locations.iter().all(|l| l.is_active));

    let variants = c.variants_paged().await.unwrap();
    assert_eq!(variants.len(), 600);
    let got: BTreeSet<_> = variants
        .iter()
        .map(|v| v.inventory_item_id.clone())
        .collect();
    assert_eq!(got, items.iter().cloned().collect());
    assert!(
        variants
            .iter()
            .all(|v| v.tracked && v.sku.as_deref().is_some_and(|s| s.starts_with("SKU-")))
    );

    let expected: BTreeMap<(String, String), i64> = store
        .levels()
        .into_iter()
        .map(|(i, l, q)| ((i, l), q))
        .collect();
    let mut read = BTreeMap::new();
    for l in &locs {
        for lvl in c.levels_at(l).await.unwrap() {
            read.insert((lvl.inventory_item_id, lvl.location_id), lvl.available);
        }
    }
    assert_eq!(read, expected);

    // Writes: 30 batches of 20 rows at the first location, each under its own key.
    for (b, chunk) in items.chunks(20).enumerate() {
        let rows = chunk
            .iter()
            .map(|i| {
                let current = expected[&(i.clone(), locs[0].clone())];
                row(i, &locs[0], current + 1000, Some(current))
            })
            .collect();
        let outcome = c
            .set_quantities(&request(&format!("job-f/batch-{b}"), rows))
            .await
            .unwrap();
        assert!(outcome.user_errors.is_empty(), "{:?}", outcome.user_errors);
    }
    for i in &items {
        assert_eq!(
            store.available(i, &locs[0]),
            Some(expected[&(i.clone(), locs[0].clone())] + 1000)
        );
    }
    let per_key: HashMap<(String, String), usize> =
        store
            .adjustment_log()
            .into_iter()
            .fold(HashMap::new(), |mut m, a| {
                *m.entry((a.inventory_item_id, a.idempotency_key))
                    .or_default() += 1;
                m
            });
    assert!(
        per_key.values().all(|n| *n == 1),
        "an adjustment was applied twice"
    );
    assert_eq!(per_key.len(), 600);
    let stats = sim.stats();
    assert!(
        stats.injected_faults >= 3,
        "faults were injected: {stats:?}"
    );
    // 1 locations page + 3 variant pages + 3×3 level pages + 30 mutations = 43 calls, plus one
    // resend per injected fault (Slow answers arrive before the client's timeout, so they cost none).
    assert!(
        c.http_attempts() > 43 && c.http_attempts() <= 43 + stats.injected_faults,
        "{stats:?}, attempts {}",
        c.http_attempts()
    );
    eprintln!(
        "{stats:?}, client attempts {}, throttled {}",
        c.http_attempts(),
        c.throttled_count()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mutation_lost_after_apply_is_resent_and_applied_once() {
    let sim = start(SimConfig::default()).await;
    let store = sim.store(SHOP);
    let loc = store.add_location("Main");
    let p = store.add_product(
        "P",
        &[VariantSeed {
            sku: Some("A".into()),
            barcode: None,
            tracked: true,
        }],
    );
    let item = p.inventory_item_ids[0].clone();
    store.set_available(&item, &loc, 0);
    let c = client(&sim);
    // Warm the pacer so the faults hit the mutations.
    c.locations().await.unwrap();
    sim.set_faults(FaultConfig {
        rate: 0.5,
        seed: 3,
        kinds: vec![FaultKind::DropAfterApply],
    });
    for n in 1..=10i64 {
        let outcome = c
            .set_quantities(&request(
                &format!("job-d/batch-{n}"),
                vec![row(&item, &loc, n, Some(n - 1))],
            ))
            .await
            .unwrap();
        assert!(outcome.user_errors.is_empty(), "{:?}", outcome.user_errors);
    }
    assert_eq!(store.available(&item, &loc), Some(10));
    let log = store.adjustment_log();
    assert_eq!(log.len(), 10, "each key applied exactly once: {log:?}");
    let stats = sim.stats();
    assert!(stats.injected_faults > 0);
    assert_eq!(
        stats.idempotent_replays, stats.injected_faults,
        "every dropped answer was replayed from its key"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_cost_exceeded_is_not_retried() {
    let sim = start(SimConfig {
        max_query_cost: 100.0,
        ..Default::default()
    })
    .await;
    sim.store(SHOP).add_location("Main");
    let c = client(&sim);
    let err = c.list_locations().await.unwrap_err();
    assert!(
        matches!(err, ShopifyError::MaxCostExceeded { .. }),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    assert_eq!(c.http_attempts(), 1);
    assert_eq!(sim.stats().requests, 1);
    let e: SyncError = err.into();
    assert!(matches!(e, SyncError::Rejected { ref code, .. } if code == "MAX_COST_EXCEEDED"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_token_is_not_retried() {
    let sim = start(SimConfig::default()).await;
    let mut cfg = config(&sim);
    cfg.access_token = "shpat_wrong".into();
    let c = ShopifyClient::new(cfg, Arc::new(Pacer::new())).unwrap();
    let err = c.locations().await.unwrap_err();
    assert!(
        matches!(err, SyncError::Auth { status: 401, .. }),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    assert!(
        !err.to_string().contains("shpat_"),
        "no token in messages: {err}"
    );
    assert_eq!(c.http_attempts(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_errors_come_back_as_data() {
    let sim = start(SimConfig::default()).await;
    let store = sim.store(SHOP);
    let loc = store.add_location("Main");
    let p = store.add_product(
        "P",
        &[VariantSeed {
            sku: Some("A".into()),
            barcode: None,
            tracked: true,
        }],
    );
    let item = p.inventory_item_ids[0].clone();
    store.set_available(&item, &loc, 5);
    let c = client(&sim);
    let outcome = c
        .set_quantities(&request(
            "job-u/1",
            vec![
                row(&item, &loc, 7, Some(5)),
                row(&item, "gid://shopify/Location/999999", 1, None),
            ],
        ))
        .await
        .unwrap();
    assert!(!outcome.user_errors.is_empty());
    let e = &outcome.user_errors[0];
    assert_eq!(e.code.as_deref(), Some("INVALID_LOCATION"), "{e:?}");
    assert_eq!(e.quantity_row(), Some(1));
    // Stale compare-and-swap.
    let outcome = c
        .set_quantities(&request("job-u/2", vec![row(&item, &loc, 9, Some(4))]))
        .await
        .unwrap();
    assert_eq!(outcome.user_errors.len(), 1);
    assert_eq!(
        outcome.user_errors[0].code.as_deref(),
        Some("CHANGE_FROM_QUANTITY_STALE")
    );
    assert_eq!(outcome.user_errors[0].quantity_row(), Some(0));
    assert_eq!(store.available(&item, &loc), Some(5));
    // A one-row call costs the 10 points the document promises.
    let before = c.cost_points_used();
    c.set_quantities(&request("job-u/3", vec![row(&item, &loc, 6, Some(5))]))
        .await
        .unwrap();
    assert_eq!(c.cost_points_used() - before, 10.0);
    assert_eq!(store.available(&item, &loc), Some(6));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_than_250_rows_are_refused_before_sending() {
    let sim = start(SimConfig::default()).await;
    let c = client(&sim);
    let rows = (0..251)
        .map(|i| {
            row(
                &format!("gid://shopify/InventoryItem/{i}"),
                "gid://shopify/Location/1",
                1,
                None,
            )
        })
        .collect();
    let err = c
        .set_quantities(&request("job-r/1", rows))
        .await
        .unwrap_err();
    assert!(
        matches!(err, SyncError::Rejected { ref code, .. } if code == "INVALID_REQUEST"),
        "{err:?}"
    );
    assert!(err.to_string().contains("251"));
    assert_eq!(c.http_attempts(), 0);
    assert_eq!(sim.stats().requests, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_catalogue_and_levels_match_the_seeded_store() {
    let sim = start(SimConfig {
        time_scale: 20.0,
        ..Default::default()
    })
    .await;
    let store = sim.store(SHOP);
    let locs: Vec<String> = (0..2)
        .map(|i| store.add_location(&format!("W{i}")))
        .collect();
    let items = store.seed_catalogue(2000, &locs, "BULK-", |v, l| (v % 97) as i64 + l as i64);
    let mut cfg = config(&sim);
    cfg.bulk_threshold = 500;
    let c = ShopifyClient::new(cfg, Arc::new(Pacer::new())).unwrap();

    let variants = c.variants().await.unwrap();
    assert_eq!(variants.len(), 2000);
    let by_item: HashMap<_, _> = variants
        .iter()
        .map(|v| (v.inventory_item_id.clone(), v))
        .collect();
    for (n, item) in items.iter().enumerate() {
        let v = by_item[item];
        assert_eq!(v.sku.as_deref(), Some(format!("BULK-{n:06}").as_str()));
        assert!(v.tracked);
        assert!(v.product_id.starts_with("gid://shopify/Product/"));
    }
    // The switch to bulk happened after at most 3 pages of 250: far fewer points than 8 pages.
    assert!(
        c.cost_points_used() < 8.0 * 252.0,
        "{}",
        c.cost_points_used()
    );

    let mut levels: Vec<_> = c
        .all_levels_bulk(&[])
        .await
        .unwrap()
        .into_iter()
        .map(|l| (l.inventory_item_id, l.location_id, l.available))
        .collect();
    let mut expected = store.levels();
    levels.sort();
    expected.sort();
    assert_eq!(levels.len(), 4000);
    assert_eq!(levels, expected);
    // Through the port: the catalogue is above the threshold, so this is one bulk query too.
    let before = c.cost_points_used();
    let mut via_port: Vec<_> = c
        .levels(&locs)
        .await
        .unwrap()
        .into_iter()
        .map(|l| (l.inventory_item_id, l.location_id, l.available))
        .collect();
    via_port.sort();
    assert_eq!(via_port, expected);
    let spent = c.cost_points_used() - before;
    // One bulk query (the catalogue read above learned the size; at most a count more), instead of
    // 8 pages per location.
    assert!(
        spent < 3.0 * 753.0,
        "paged everything instead of bulk: {spent}"
    );
    let only_first = c.all_levels_bulk(&locs[..1]).await.unwrap();
    assert_eq!(only_first.len(), 2000);
    assert!(only_first.iter().all(|l| l.location_id == locs[0]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_bulk_result_and_unknown_location() {
    let sim = start(SimConfig {
        time_scale: 20.0,
        ..Default::default()
    })
    .await;
    let c = client(&sim);
    assert!(c.variants_bulk().await.unwrap().is_empty());
    let err = c
        .levels_at("gid://shopify/Location/424242")
        .await
        .unwrap_err();
    assert!(
        matches!(err, SyncError::NotFound(_) | SyncError::Rejected { .. }),
        "{err:?}"
    );
    assert!(!err.is_retryable());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_are_bounded_and_end_in_retryable_errors() {
    let sim = start(SimConfig::default()).await;
    sim.store(SHOP).add_location("Main");
    let cases = [
        (FaultKind::Http503, "upstream"),
        (FaultKind::Throttled, "throttled"),
        (FaultKind::DropBeforeApply, "transport"),
    ];
    for (kind, expected) in cases {
        sim.set_faults(FaultConfig {
            rate: 1.0,
            seed: 1,
            kinds: vec![kind],
        });
        let mut cfg = config(&sim);
        cfg.max_retries = 2;
        let c = ShopifyClient::new(cfg, Arc::new(Pacer::new())).unwrap();
        let err = c.list_locations().await.unwrap_err();
        assert_eq!(c.http_attempts(), 3, "{kind:?}: 1 attempt + 2 retries");
        assert!(err.is_retryable(), "{err:?}");
        match (expected, &err) {
            (
                "upstream",
                ShopifyError::Upstream {
                    status: 503,
                    attempts: 3,
                    ..
                },
            ) => {}
            ("throttled", ShopifyError::Throttled { attempts: 3, .. }) => {
                assert_eq!(c.throttled_count(), 3)
            }
            ("transport", ShopifyError::Transport { attempts: 3, .. }) => {}
            _ => panic!("{kind:?} ended in {err:?}"),
        }
        let sync: SyncError = err.into();
        assert!(sync.is_retryable());
    }
    // Nothing listening at all.
    let mut cfg = config(&sim);
    cfg.graphql_url = "http://127.0.0.1:9/nothing/graphql.json".into();
    cfg.max_retries = 1;
    let c = ShopifyClient::new(cfg, Arc::new(Pacer::new())).unwrap();
    let err = c.locations().await.unwrap_err();
    assert!(matches!(err, SyncError::Transport { .. }), "{err:?}");
}

/// Starts `call`, waits (bounded, polling the simulator) until its request has reached the
/// simulator, which holds the answer back ([`FaultKind::Stall`]), then drops the future: the
/// caller is cancelled mid-send.
async fn cancel_mid_send<T: std::fmt::Debug>(
    sim: &ShopifySim,
    c: &ShopifyClient,
    call: impl std::future::Future<Output = T>,
) {
    sim.set_faults(FaultConfig {
        rate: 1.0,
        seed: 1,
        kinds: vec![FaultKind::Stall],
    });
    let before = sim.stats().requests;
    let mut call = Box::pin(call);
    let mut arrived = false;
    for _ in 0..1_000 {
        tokio::select! {
            r = &mut call => panic!("answered although the simulator stalls: {r:?}"),
            _ = tokio::time::sleep(Duration::from_millis(10)) => {}
        }
        if sim.stats().requests > before {
            arrived = true;
            break;
        }
    }
    assert!(arrived, "the request never reached the simulator");
    assert!(
        c.pacer().reserved_points() > 0.0,
        "the request in flight holds its reservation"
    );
    drop(call);
    sim.set_faults(FaultConfig::default());
}

/// Issue 8 item 7: a request future dropped mid-send gives its pacer reservation back (a guard, not
/// a manual release), so the next request still goes out and the bucket model does not keep the
/// dropped request's cost. Asserted on the pacer's state; the only timeout bounds a hang.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_cancelled_mid_send_releases_its_reservation() {
    const HANG_GUARD: Duration = Duration::from_secs(20);
    let sim = start(SimConfig::default()).await;
    sim.store(SHOP).add_location("Main");
    let c = client(&sim);

    // The first request of a fresh pacer is the probe everyone else waits for. Cancelled, it must
    // not stay "in flight": the next caller would wait for its answer forever.
    cancel_mid_send(&sim, &c, c.list_locations()).await;
    assert!(
        !c.pacer().probe_in_flight(),
        "the cancelled probe still blocks every other caller"
    );
    assert_eq!(c.pacer().reserved_points(), 0.0);
    let locations = tokio::time::timeout(HANG_GUARD, c.list_locations())
        .await
        .expect("the next request never went out")
        .unwrap();
    assert_eq!(locations.len(), 1);
    assert_eq!(c.pacer().reserved_points(), 0.0);
    assert!(c.pacer().bucket().is_some());

    // With the bucket known: the cancelled request's cost is not held back from the model.
    cancel_mid_send(&sim, &c, c.list_locations()).await;
    assert_eq!(
        c.pacer().reserved_points(),
        0.0,
        "the model still holds the dropped request's cost"
    );
    let locations = tokio::time::timeout(HANG_GUARD, c.list_locations())
        .await
        .expect("the next request never went out")
        .unwrap();
    assert_eq!(locations.len(), 1);
    assert_eq!(c.pacer().reserved_points(), 0.0);
    // Two cancelled requests and two answered ones, nothing resent in between.
    assert_eq!(sim.stats().requests, 4);
    assert_eq!(c.http_attempts(), 4);
}

/// Issue 8 item 12: a full inventory run reads the catalogue and then every level of the mapped
/// locations; the store's variants are counted once for both, not once each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_run_counts_the_variants_once() {
    let sim = start(SimConfig {
        time_scale: 20.0,
        ..Default::default()
    })
    .await;
    let store = sim.store(SHOP);
    let locs: Vec<String> = (0..2)
        .map(|i| store.add_location(&format!("W{i}")))
        .collect();
    store.seed_catalogue(600, &locs, "ONCE-", |v, l| (v + l) as i64);
    // Small catalogue (paged) and large one (bulk): the count decides both reads.
    for threshold in [2_000, 500] {
        let mut cfg = config(&sim);
        cfg.bulk_threshold = threshold;
        let c = ShopifyClient::new(cfg, Arc::new(Pacer::new())).unwrap();
        let before = sim.stats().operation("ProductVariantsCount");
        // What a full run of sync-inventory asks through the port, in this order.
        let api: &dyn ShopifyInventoryApi = &c;
        assert_eq!(api.variants().await.unwrap().len(), 600);
        assert_eq!(api.levels(&locs).await.unwrap().len(), 1200);
        assert_eq!(
            sim.stats().operation("ProductVariantsCount") - before,
            1,
            "threshold {threshold}: the catalogue was counted more than once in one run"
        );
    }
}

/// Issue 8 item 12: GIDs are opaque strings. A store handing out non-numeric ids is read by pages
/// and in bulk (where levels are matched to their location by `__parentId`) and written to, with the
/// ids compared as strings only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_opaque_gid_store_is_read_by_pages_and_in_bulk_and_written() {
    let sim = start(SimConfig {
        time_scale: 20.0,
        ..Default::default()
    })
    .await;
    let store = sim.store(SHOP);
    store.set_gid_style(shopify_sim::GidStyle::Opaque);
    let locs: Vec<String> = ["East", "West"]
        .iter()
        .map(|n| store.add_location(n))
        .collect();
    let items = store.seed_catalogue(300, &locs, "OPQ-", |v, l| (v * 2 + l) as i64);
    for id in locs.iter().chain(&items) {
        let rest = id.rsplit_once('/').unwrap().1;
        assert!(rest.parse::<u64>().is_err(), "{id}");
    }
    let mut expected = store.levels();
    expected.sort();
    for threshold in [2_000, 100] {
        let mut cfg = config(&sim);
        cfg.bulk_threshold = threshold;
        let c = ShopifyClient::new(cfg, Arc::new(Pacer::new())).unwrap();
        let api: &dyn ShopifyInventoryApi = &c;
        assert_eq!(
            api.locations()
                .await
                .unwrap()
                .into_iter()
                .map(|l| l.id)
                .collect::<Vec<_>>(),
            locs
        );
        let variants = api.variants().await.unwrap();
        let got: BTreeSet<_> = variants
            .iter()
            .map(|v| v.inventory_item_id.clone())
            .collect();
        assert_eq!(
            got,
            items.iter().cloned().collect(),
            "threshold {threshold}"
        );
        let mut levels: Vec<_> = api
            .levels(&locs)
            .await
            .unwrap()
            .into_iter()
            .map(|l| (l.inventory_item_id, l.location_id, l.available))
            .collect();
        levels.sort();
        assert_eq!(levels, expected, "threshold {threshold}");
    }
    let c = client(&sim);
    let outcome = c
        .set_quantities(&request(
            "job-o/1",
            vec![row(&items[3], &locs[1], 99, Some(7))],
        ))
        .await
        .unwrap();
    assert!(outcome.user_errors.is_empty(), "{:?}", outcome.user_errors);
    assert_eq!(store.available(&items[3], &locs[1]), Some(99));
}

/// Issue 8 item 5: the levels a call refused as stale are re-read, not overwritten. `levels_of`
/// reads the current level of each (item, location) pair with one `InventoryItemsLevelAt` query per
/// location among them (3 points each, as annotated), on numeric and opaque GIDs alike, and leaves
/// out pairs Shopify does not stock or does not know.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn levels_of_reads_each_pair_with_one_query_per_location() {
    use shopsync_domain::inventory::{InventoryLevel, LevelKey};
    let sim = start(SimConfig::default()).await;
    for (shop, opaque) in [(SHOP, false), ("opaque-shop.myshopify.com", true)] {
        let store = sim.store(shop);
        store.set_access_token(TOKEN);
        if opaque {
            store.set_gid_style(shopify_sim::GidStyle::Opaque);
        }
        let locs: Vec<String> = ["East", "West"]
            .iter()
            .map(|n| store.add_location(n))
            .collect();
        let items = store.seed_catalogue(5, &locs, "RE-", |v, l| (v * 10 + l) as i64);
        let unstocked = store
            .add_product(
                "Nowhere",
                &[VariantSeed {
                    sku: Some("RE-X".into()),
                    barcode: None,
                    tracked: true,
                }],
            )
            .inventory_item_ids[0]
            .clone();
        // Someone edits Shopify after Shopsync last saw these levels.
        store.set_available(&items[1], &locs[0], 77);
        store.set_available(&items[4], &locs[1], 0);

        let mut cfg = config(&sim);
        cfg.graphql_url = sim.graphql_url(shop, API_VERSION);
        let c = ShopifyClient::new(cfg, Arc::new(Pacer::new())).unwrap();
        let key = |item: &str, loc: &str| (item.to_string(), loc.to_string());
        let pairs = [
            key(&items[1], &locs[0]),
            key(&items[4], &locs[1]),
            key(&items[2], &locs[1]),
            key(&unstocked, &locs[0]),
            key(&items[1], &locs[0]),
        ];
        let keys: Vec<LevelKey<'_>> = pairs
            .iter()
            .map(|(i, l)| LevelKey {
                inventory_item_id: i,
                location_id: l,
            })
            .collect();
        let before = sim.stats();
        let cost_before = c.cost_points_used();
        let api: &dyn ShopifyInventoryApi = &c;
        let mut got = api.levels_of(&keys).await.unwrap();
        got.sort_by(|a, b| {
            (&a.location_id, &a.inventory_item_id).cmp(&(&b.location_id, &b.inventory_item_id))
        });
        let level = |i: &str, l: &str, available: i64| InventoryLevel {
            inventory_item_id: i.into(),
            location_id: l.into(),
            available,
        };
        let mut want = vec![
            level(&items[1], &locs[0], 77),
            level(&items[2], &locs[1], 21),
            level(&items[4], &locs[1], 0),
        ];
        want.sort_by(|a, b| {
            (&a.location_id, &a.inventory_item_id).cmp(&(&b.location_id, &b.inventory_item_id))
        });
        assert_eq!(got, want, "opaque: {opaque}");
        let after = sim.stats();
        assert_eq!(
            after.operation("InventoryItemsLevelAt") - before.operation("InventoryItemsLevelAt"),
            2,
            "one query per location"
        );
        assert_eq!(after.requests - before.requests, 2);
        assert!(
            c.cost_points_used() - cost_before <= 2.0 * 3.0,
            "{}",
            c.cost_points_used() - cost_before
        );
        assert!(store.adjustment_log().is_empty(), "reading adjusts nothing");
        assert!(api.levels_of(&[]).await.unwrap().is_empty());
        assert_eq!(
            sim.stats().requests,
            after.requests,
            "nothing to read, no query"
        );
    }
}
