//! End-to-end scenarios of `sync-inventory` through the real path: scheduled tick → fan-out → SQS
//! (moto) → worker → DynamoDB (moto) → Shopify simulator, with BC from the BC simulator. Each test has
//! its own resources (provisioned from infra/template.yaml under a unique prefix) and simulators.

use shopify_sim::{FaultConfig, FaultKind, SimConfig};
use shopsync_domain::job::JobStatus;
use shopsync_domain::ports::{LeaseStore, SettingsStore};
use shopsync_domain::settings::ShopSettings;
use shopsync_e2e::{Stack, StackOptions, bc_quantity, tick_at};
use shopsync_runtime::RuntimeConfig;
use std::time::Duration;

const DRAIN: Duration = Duration::from_secs(240);

fn expected(i: usize, l: usize) -> i64 {
    bc_quantity(i, l) as i64
}

async fn stack(opts: StackOptions) -> Stack {
    Stack::start(opts).await.expect("local stack")
}

fn dlq_attr(m: &aws_sdk_sqs::types::Message, name: &str) -> String {
    m.message_attributes
        .as_ref()
        .and_then(|a| a.get(name))
        .and_then(|v| v.string_value.clone())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_sync_converges_then_sends_only_what_changed() {
    let stack = stack(StackOptions::default()).await;
    let shop = stack.seed_shop("CONV", 300).await.unwrap();
    let differing = shop.levels_off(&stack, expected);
    assert!(
        differing > 500,
        "the seed must start far from BC ({differing})"
    );

    let report = stack.runner.tick(tick_at(0)).await;
    assert_eq!(report.queued.len(), 1, "{report:?}");
    stack.runner.drain(DRAIN).await.unwrap();
    let jobs = stack.jobs("CONV").await;
    assert_eq!(jobs.len(), 1);
    let first = &jobs[0];
    assert_eq!(first.status, JobStatus::Succeeded, "{:?}", first.error);
    assert!(
        first.options.full,
        "a shop's first scheduled run is a full run"
    );
    assert_eq!(first.counters.get("levels_changed") as usize, differing);
    assert!(first.cost_points_used > 0.0);
    assert_eq!(shop.levels_off(&stack, expected), 0);

    // BC changes three quantities; the next tick sends exactly those, in one call, with no reads.
    for i in [3usize, 40, 77] {
        shop.company
            .set_availability(&format!("{}{i:06}", shop.prefix), "", "WEST", 500.0, 500.0);
    }
    let changed = |i: usize, l: usize| {
        if [3, 40, 77].contains(&i) && l == 1 {
            500
        } else {
            expected(i, l)
        }
    };
    let before = stack.shopify.stats();
    stack.runner.tick(tick_at(15)).await;
    stack.runner.drain(DRAIN).await.unwrap();
    let after = stack.shopify.stats();
    let jobs = stack.jobs("CONV").await;
    let second = &jobs[0];
    assert_eq!(second.status, JobStatus::Succeeded);
    assert!(!second.options.full);
    assert_eq!(second.counters.get("levels_changed"), 3);
    assert_eq!(
        after.requests - before.requests,
        1,
        "one mutation, no Shopify reads"
    );
    assert_eq!(after.points_consumed - before.points_consumed, 10.0);
    let store = stack.shopify.store(&shop.domain);
    let got: Vec<_> = [3usize, 40, 77]
        .iter()
        .map(|i| store.available(&shop.inventory_items[*i], &shop.locations[1]))
        .collect();
    assert_eq!(got, vec![Some(500); 3]);
    assert_eq!(shop.levels_off(&stack, changed), 0);
    // Each of the three levels was adjusted once per BC change: once by each run, never more.
    assert_eq!(
        stack.shopify.store(&shop.domain).adjustment_log().len(),
        differing + 3
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_delivery_changes_nothing_twice() {
    let stack = stack(StackOptions::default()).await;
    let shop = stack.seed_shop("DUP", 300).await.unwrap();
    let differing = shop.levels_off(&stack, expected) as u64;
    stack.runner.tick(tick_at(0)).await;

    // Copy the job message so SQS holds it twice (an at-least-once duplicate).
    let sqs = aws_sdk_sqs::Client::new(&stack.sdk);
    let got = sqs
        .receive_message()
        .queue_url(&stack.runner.queue_url)
        .send()
        .await
        .unwrap();
    let original = got.messages.unwrap().remove(0);
    let body = original.body.clone().unwrap();
    sqs.change_message_visibility()
        .queue_url(&stack.runner.queue_url)
        .receipt_handle(original.receipt_handle.unwrap())
        .visibility_timeout(0)
        .send()
        .await
        .unwrap();
    sqs.send_message()
        .queue_url(&stack.runner.queue_url)
        .message_body(&body)
        .send()
        .await
        .unwrap();

    stack.runner.drain(DRAIN).await.unwrap();
    let job = &stack.jobs("DUP").await[0];
    assert_eq!(job.status, JobStatus::Succeeded);
    assert_eq!(job.attempts, 1, "only one delivery may start the job");
    assert_eq!(stack.shopify.stats().applied_adjustments, differing);
    assert_eq!(shop.double_applied(&stack), 0);

    // A late duplicate of a finished job does nothing at all.
    let before = stack.shopify.stats();
    sqs.send_message()
        .queue_url(&stack.runner.queue_url)
        .message_body(&body)
        .send()
        .await
        .unwrap();
    stack.runner.drain(DRAIN).await.unwrap();
    assert_eq!(stack.shopify.stats().requests, before.requests);
    assert_eq!(stack.jobs("DUP").await[0].attempts, 1);
    assert!(stack.dead_letters().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_lease_defers_the_run_instead_of_failing_it() {
    let stack = stack(StackOptions::default()).await;
    let shop = stack.seed_shop("LEASE", 100).await.unwrap();
    let now = shopsync_domain::time::now_secs();
    let leases = stack.adapters.store.clone();
    leases
        .acquire("LEASE", "default", "sync-products#other-run", 60, now)
        .await
        .unwrap();
    let release = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(2500)).await;
        leases
            .release("LEASE", "default", "sync-products#other-run")
            .await
            .unwrap();
    });
    stack.runner.tick(tick_at(0)).await;
    stack.runner.drain(DRAIN).await.unwrap();
    release.await.unwrap();
    let job = &stack.jobs("LEASE").await[0];
    assert_eq!(job.status, JobStatus::Succeeded, "{:?}", job.error);
    assert!(
        job.deferrals >= 1,
        "the job must have been deferred while the lease was held"
    );
    assert_eq!(shop.levels_off(&stack, expected), 0);
    assert!(stack.dead_letters().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_held_too_long_skips_the_job_with_the_reason() {
    let opts = StackOptions {
        runtime: RuntimeConfig {
            deferral_delay_secs: 1,
            max_deferrals: 2,
            ..shopsync_e2e::local_runtime()
        },
        ..StackOptions::default()
    };
    let stack = stack(opts).await;
    stack.seed_shop("HELD", 50).await.unwrap();
    let now = shopsync_domain::time::now_secs();
    stack
        .adapters
        .store
        .acquire("HELD", "default", "sync-products#long-run", 600, now)
        .await
        .unwrap();
    stack.runner.tick(tick_at(0)).await;
    stack.runner.drain(DRAIN).await.unwrap();
    let job = &stack.jobs("HELD").await[0];
    assert_eq!(job.status, JobStatus::Skipped);
    assert_eq!(job.deferrals, 2);
    assert!(
        job.error
            .as_ref()
            .unwrap()
            .message
            .contains("sync-products#long-run")
    );
    assert_eq!(stack.shopify.stats().mutation_calls, 0);
    assert!(
        stack.dead_letters().await.is_empty(),
        "a deferral is not a failure"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_that_reaches_its_deadline_continues_and_ends_like_an_uninterrupted_one() {
    let interrupted = stack(StackOptions {
        runtime: RuntimeConfig {
            max_run: Some(Duration::ZERO),
            ..shopsync_e2e::local_runtime()
        },
        ..StackOptions::default()
    })
    .await;
    let uninterrupted = stack(StackOptions::default()).await;
    let a = interrupted.seed_shop("CONT", 700).await.unwrap();
    let b = uninterrupted.seed_shop("CONT", 700).await.unwrap();
    for s in [&interrupted, &uninterrupted] {
        s.runner.tick(tick_at(0)).await;
        s.runner.drain(DRAIN).await.unwrap();
    }
    let ja = &interrupted.jobs("CONT").await[0];
    let jb = &uninterrupted.jobs("CONT").await[0];
    assert_eq!(ja.status, JobStatus::Succeeded, "{:?}", ja.error);
    assert_eq!(jb.status, JobStatus::Succeeded);
    assert!(
        ja.continuations >= 4,
        "one batch per invocation: {} continuations",
        ja.continuations
    );
    assert_eq!(jb.continuations, 0);
    assert!(ja.checkpoint.is_none());
    for counter in [
        "levels_checked",
        "levels_changed",
        "mutations",
        "skipped_records",
    ] {
        assert_eq!(
            ja.counters.get(counter),
            jb.counters.get(counter),
            "{counter}"
        );
    }
    let levels = |stack: &Stack, shop: &shopsync_e2e::DemoShop| {
        let store = stack.shopify.store(&shop.domain);
        let mut all = Vec::new();
        for item in &shop.inventory_items {
            for loc in &shop.locations {
                all.push(store.available(item, loc));
            }
        }
        all
    };
    assert_eq!(levels(&interrupted, &a), levels(&uninterrupted, &b));
    assert_eq!(a.levels_off(&interrupted, expected), 0);
    assert_eq!(a.double_applied(&interrupted), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_20_percent_faults_levels_converge_and_nothing_is_applied_twice() {
    let opts = StackOptions {
        shopify: SimConfig {
            faults: FaultConfig {
                rate: 0.2,
                seed: 20_260_726,
                kinds: FaultKind::ALL.to_vec(),
            },
            time_scale: 10.0,
            ..StackOptions::default().shopify
        },
        bc: bc_sim::BcSimConfig {
            faults: bc_sim::BcFaults::new(0.2, 4242),
            ..bc_sim::BcSimConfig::default()
        },
        runtime: RuntimeConfig {
            max_receive_count: 20,
            max_run: Some(Duration::from_millis(300)),
            ..shopsync_e2e::local_runtime()
        },
        ..StackOptions::default()
    };
    let stack = stack(opts).await;
    let shop = stack.seed_shop("FAULTS", 800).await.unwrap();
    stack.runner.tick(tick_at(0)).await;
    stack.runner.drain(Duration::from_secs(400)).await.unwrap();
    let job = &stack.jobs("FAULTS").await[0];
    assert!(
        matches!(
            job.status,
            JobStatus::Succeeded | JobStatus::SucceededWithWarnings
        ),
        "{:?} {:?}",
        job.status,
        job.error
    );
    let stats = stack.shopify.stats();
    assert!(
        stats.injected_faults > 0,
        "faults must actually have been injected"
    );
    assert_eq!(
        shop.levels_off(&stack, expected),
        0,
        "Shopify must converge to BC"
    );
    assert_eq!(
        shop.double_applied(&stack),
        0,
        "no adjustment may be applied twice"
    );
    assert!(stack.dead_letters().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_messages_end_in_the_dead_letter_queue_with_the_reason() {
    let opts = StackOptions {
        runtime: RuntimeConfig {
            max_receive_count: 2,
            ..shopsync_e2e::local_runtime()
        },
        ..StackOptions::default()
    };
    let stack = stack(opts).await;
    let sqs = aws_sdk_sqs::Client::new(&stack.sdk);

    // 1. A body that is not a job message.
    sqs.send_message()
        .queue_url(&stack.runner.queue_url)
        .message_body("{not json")
        .send()
        .await
        .unwrap();
    stack.runner.drain(DRAIN).await.unwrap();
    let dead = stack.dead_letters().await;
    assert_eq!(dead.len(), 1);
    assert!(
        dlq_attr(&dead[0], "error").contains("unreadable job message"),
        "{:?}",
        dead[0]
    );
    assert_eq!(dead[0].body.as_deref(), Some("{not json"));

    // 2. A permanent failure: Shopify refuses the shop's token.
    let shop = stack.seed_shop("BADTOKEN", 20).await.unwrap();
    stack
        .shopify
        .store(&shop.domain)
        .set_access_token("rotated-elsewhere");
    stack.runner.tick(tick_at(0)).await;
    stack.runner.drain(DRAIN).await.unwrap();
    let job = &stack.jobs("BADTOKEN").await[0];
    assert_eq!(job.status, JobStatus::Failed);
    assert_eq!(job.attempts, 1, "a permanent failure is not retried");
    let error = job.error.as_ref().unwrap();
    assert_eq!(error.kind, shopsync_domain::ErrorKind::Auth);
    let dead = stack.dead_letters().await;
    let ours = dead
        .iter()
        .find(|m| dlq_attr(m, "job_id") == job.job_id)
        .expect("job message in the DLQ");
    assert_eq!(dlq_attr(ours, "shop"), "BADTOKEN");
    assert_eq!(dlq_attr(ours, "error_kind"), "auth");

    // 3. A retryable failure that never heals: BC down. After maxReceiveCount receives the job fails.
    let shop = stack.seed_shop("BCDOWN", 20).await.unwrap();
    drop(shop);
    stack.bc.set_faults(bc_sim::BcFaults::new(1.0, 1));
    stack.runner.tick(tick_at(0)).await;
    stack.runner.drain(DRAIN).await.unwrap();
    let job = &stack.jobs("BCDOWN").await[0];
    assert_eq!(job.status, JobStatus::Failed, "{:?}", job.error);
    assert_eq!(job.attempts, 2);
    assert!(
        job.error
            .as_ref()
            .unwrap()
            .message
            .contains("gave up after 2 receives"),
        "{:?}",
        job.error
    );
    let dead = stack.dead_letters().await;
    assert!(dead.iter().any(|m| dlq_attr(m, "job_id") == job.job_id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_shop_settings_are_rejected_with_a_clear_error_and_nothing_is_written() {
    let stack = stack(StackOptions::default()).await;
    let good = stack.seed_shop("GOOD", 5).await.unwrap();
    let mut bad = good.settings.clone();
    bad.code = "BAD".into();
    bad.can_update_shopify_products = true;
    bad.shopify_can_update_items = true;
    let err = stack.adapters.store.put_shop(&bad).await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("can_update_shopify_products") && text.contains("shopify_can_update_items"),
        "{text}"
    );
    assert!(!err.is_retryable());
    assert!(
        stack
            .adapters
            .store
            .get_shop("BAD")
            .await
            .unwrap()
            .is_none(),
        "nothing may be written"
    );
    let codes: Vec<String> = stack
        .adapters
        .store
        .list_shops()
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.code)
        .collect();
    assert_eq!(codes, vec!["GOOD".to_string()]);

    let doc = serde_json::to_value(&good.settings).unwrap();
    let mut typo = doc.clone();
    typo["alow_outgoing_requests"] = false.into();
    let err = ShopSettings::from_json(&typo.to_string()).unwrap_err();
    assert!(err.to_string().contains("alow_outgoing_requests"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fan_out_queues_due_enabled_shops_once_per_tick() {
    let stack = stack(StackOptions::default()).await;
    stack.seed_shop("ON", 5).await.unwrap();
    let off = stack.seed_shop("OFF", 5).await.unwrap();
    let mut settings = off.settings.clone();
    settings
        .tasks
        .get_mut(&shopsync_domain::TaskKind::SyncInventory)
        .unwrap()
        .enabled = false;
    stack.adapters.store.put_shop(&settings).await.unwrap();

    let first = stack.runner.tick(tick_at(0)).await;
    assert_eq!(
        first
            .queued
            .iter()
            .map(|(s, _)| s.as_str())
            .collect::<Vec<_>>(),
        vec!["ON"]
    );
    assert!(first.not_due.contains(&"OFF".to_string()));
    // The same tick delivered again: the shop is not due any more and no second job appears.
    let again = stack.runner.tick(tick_at(0)).await;
    assert!(again.queued.is_empty(), "{again:?}");
    stack.runner.drain(DRAIN).await.unwrap();
    assert_eq!(stack.jobs("ON").await.len(), 1);
    assert_eq!(stack.jobs("ON").await[0].attempts, 1);
    // Five minutes later the 15-minute interval has not elapsed.
    let early = stack.runner.tick(tick_at(5)).await;
    assert!(early.queued.is_empty() && early.not_due.contains(&"ON".to_string()));
    assert!(stack.jobs("OFF").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_run_is_taken_over_from_its_checkpoint_without_double_applying() {
    let opts = StackOptions {
        runtime: RuntimeConfig {
            lease_ttl_secs: 2,
            ..shopsync_e2e::local_runtime()
        },
        ..StackOptions::default()
    };
    let stack = stack(opts).await;
    let shop = stack.seed_shop("CRASH", 1_000).await.unwrap();
    let differing = shop.levels_off(&stack, expected) as u64;
    stack.runner.tick(tick_at(0)).await;

    // Hand the message to a worker, and kill that worker once it has sent a few batches.
    let sqs = aws_sdk_sqs::Client::new(&stack.sdk);
    let (event, handle) = stack.receive_as_event(1).await;
    let app = stack.app.clone();
    let worker = tokio::spawn(async move {
        shopsync_runtime::worker::handle_batch(
            &app,
            event,
            std::time::Instant::now() + Duration::from_secs(900),
        )
        .await
    });
    let until = std::time::Instant::now() + Duration::from_secs(60);
    while stack.shopify.stats().mutation_calls < 3 && std::time::Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    worker.abort();
    let _ = worker.await;
    let job = &stack.jobs("CRASH").await[0];
    assert_eq!(
        job.status,
        JobStatus::Running,
        "the killed run leaves its job running"
    );
    assert!(
        stack.shopify.stats().applied_adjustments < differing,
        "the kill must happen mid-run"
    );

    // SQS redelivers the unacknowledged message; once the dead run's lease expires, it takes over.
    sqs.change_message_visibility()
        .queue_url(&stack.runner.queue_url)
        .receipt_handle(handle)
        .visibility_timeout(0)
        .send()
        .await
        .unwrap();
    stack.runner.drain(DRAIN).await.unwrap();
    let job = &stack.jobs("CRASH").await[0];
    assert_eq!(job.status, JobStatus::Succeeded, "{:?}", job.error);
    assert_eq!(job.attempts, 2, "one takeover");
    assert_eq!(shop.levels_off(&stack, expected), 0);
    assert_eq!(
        shop.double_applied(&stack),
        0,
        "the batch in flight at the kill is replayed, not re-applied"
    );
    assert_eq!(stack.shopify.stats().applied_adjustments, differing);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_shopify_refuses_become_skipped_records_and_the_rest_of_the_call_is_applied() {
    let stack = stack(StackOptions::default()).await;
    let shop = stack.seed_shop("REFUSE", 200).await.unwrap();
    // A second variant of BC item 000005, stocked only at the first location: Shopify refuses a level
    // for it at the second one (ITEM_NOT_STOCKED_AT_LOCATION), which makes the whole call fail.
    let store = stack.shopify.store(&shop.domain);
    let odd = store.add_product(
        "Odd one",
        &[shopify_sim::VariantSeed {
            sku: Some(format!("{}000005", shop.prefix)),
            barcode: None,
            tracked: true,
        }],
    );
    store.set_available(&odd.inventory_item_ids[0], &shop.locations[0], 1);

    stack.runner.tick(tick_at(0)).await;
    stack.runner.drain(DRAIN).await.unwrap();
    let job = &stack.jobs("REFUSE").await[0];
    assert_eq!(
        job.status,
        JobStatus::SucceededWithWarnings,
        "{:?}",
        job.error
    );
    assert_eq!(job.counters.get("skipped_records"), 1);
    assert!(
        job.counters.get("retried_rows") > 0,
        "the refused call's other rows are sent again"
    );
    let skipped = shopsync_domain::ports::SkippedRecordStore::list_skipped(
        stack.adapters.store.as_ref(),
        "REFUSE",
        10,
    )
    .await
    .unwrap();
    assert_eq!(skipped.len(), 1);
    assert_eq!(
        skipped[0].record_id,
        format!("{}@{}", odd.inventory_item_ids[0], shop.locations[1])
    );
    assert!(
        skipped[0].reason.contains("ITEM_NOT_STOCKED_AT_LOCATION"),
        "{}",
        skipped[0].reason
    );
    assert_eq!(
        shop.levels_off(&stack, expected),
        0,
        "every other level is applied"
    );
    assert_eq!(
        store.available(&odd.inventory_item_ids[0], &shop.locations[0]),
        Some(expected(5, 0))
    );
    assert_eq!(shop.double_applied(&stack), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_run_is_scheduled_first_and_then_once_a_day() {
    let stack = stack(StackOptions::default()).await;
    stack.seed_shop("DAILY", 20).await.unwrap();
    let mut fulls = Vec::new();
    for minutes in [0, 15, 30, 24 * 60, 24 * 60 + 15] {
        let report = stack.runner.tick(tick_at(minutes)).await;
        assert_eq!(report.queued.len(), 1, "tick at {minutes} min: {report:?}");
        stack.runner.drain(DRAIN).await.unwrap();
        let job = &stack.jobs("DAILY").await[0];
        assert_eq!(job.status, JobStatus::Succeeded);
        fulls.push(job.options.full);
    }
    assert_eq!(fulls, vec![true, false, false, true, false]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_warm_worker_follows_the_settings_to_a_new_secret_at_once() {
    let stack = stack(StackOptions::default()).await;
    let shop = stack.seed_shop("ROTATE", 20).await.unwrap();
    stack.runner.tick(tick_at(0)).await;
    stack.runner.drain(DRAIN).await.unwrap();
    assert_eq!(stack.jobs("ROTATE").await[0].status, JobStatus::Succeeded);

    // The admin rotates the store's token into a new secret and points the settings at it; the old
    // token stops working at once. The same (warm) worker must use the new secret on its next job,
    // not the clients it cached for the shop.
    let token = "local-token-rotated";
    stack.shopify.store(&shop.domain).set_access_token(token);
    let secret_id = stack
        .put_secret(
            "ROTATE",
            "shopify-rotated",
            &serde_json::json!({"access_token": token}).to_string(),
        )
        .await
        .unwrap();
    let mut settings = shop.settings.clone();
    settings.shopify.access_token_secret_id = secret_id;
    stack.adapters.store.put_shop(&settings).await.unwrap();
    shop.company.set_availability(
        &format!("{}{:06}", shop.prefix, 5),
        "",
        "WEST",
        321.0,
        321.0,
    );

    stack.runner.tick(tick_at(15)).await;
    stack.runner.drain(DRAIN).await.unwrap();
    let second = &stack.jobs("ROTATE").await[0];
    assert_eq!(second.status, JobStatus::Succeeded, "{:?}", second.error);
    assert_eq!(second.counters.get("levels_changed"), 1);
    let store = stack.shopify.store(&shop.domain);
    assert_eq!(
        store.available(&shop.inventory_items[5], &shop.locations[1]),
        Some(321)
    );
}

/// Issue 8 item 12: Shopify GIDs are opaque strings. Against a store whose locations, products,
/// variants, inventory items and levels have non-numeric ids, the first scheduled run converges
/// like the numeric one, counts the store's variants once, and the next run sends only what changed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_with_opaque_gids_converges_and_counts_its_variants_once() {
    let stack = stack(StackOptions::default()).await;
    let shop = stack
        .seed_shop_with(
            "OPAQUE",
            300,
            shopsync_e2e::SeedOptions { opaque_gids: true },
        )
        .await
        .unwrap();
    for (prefix, ids) in [
        ("gid://shopify/Location/", &shop.locations),
        ("gid://shopify/InventoryItem/", &shop.inventory_items),
    ] {
        for id in ids {
            let rest = id.strip_prefix(prefix).unwrap();
            assert!(rest.parse::<u64>().is_err(), "{id} is numeric");
        }
    }
    let differing = shop.levels_off(&stack, expected);
    assert!(
        differing > 500,
        "the seed must start far from BC ({differing})"
    );

    let before = stack.shopify.stats();
    stack.runner.tick(tick_at(0)).await;
    stack.runner.drain(DRAIN).await.unwrap();
    let after = stack.shopify.stats();
    let first = &stack.jobs("OPAQUE").await[0];
    assert_eq!(first.status, JobStatus::Succeeded, "{:?}", first.error);
    assert!(first.options.full);
    assert_eq!(first.counters.get("variants_mapped"), 300);
    assert_eq!(first.counters.get("levels_changed") as usize, differing);
    assert_eq!(shop.levels_off(&stack, expected), 0);
    assert_eq!(
        after.operation("ProductVariantsCount") - before.operation("ProductVariantsCount"),
        1,
        "a full run counts the store's variants once"
    );

    // The stored levels are keyed by the opaque ids: one BC change, one row sent, no reads.
    shop.company.set_availability(
        &format!("{}{:06}", shop.prefix, 7),
        "",
        "EAST",
        123.0,
        123.0,
    );
    let before = stack.shopify.stats();
    stack.runner.tick(tick_at(15)).await;
    stack.runner.drain(DRAIN).await.unwrap();
    let after = stack.shopify.stats();
    let second = &stack.jobs("OPAQUE").await[0];
    assert_eq!(second.status, JobStatus::Succeeded, "{:?}", second.error);
    assert!(!second.options.full);
    assert_eq!(second.counters.get("levels_changed"), 1);
    assert_eq!(
        after.requests - before.requests,
        1,
        "one mutation, no reads"
    );
    let changed = |i: usize, l: usize| {
        if (i, l) == (7, 0) {
            123
        } else {
            expected(i, l)
        }
    };
    assert_eq!(shop.levels_off(&stack, changed), 0);
    // Each level was adjusted once by the first run, the changed one once more by the second.
    assert_eq!(
        stack.shopify.store(&shop.domain).adjustment_log().len(),
        differing + 1
    );
}

/// Issue 8 item 5: a level someone changed in Shopify since Shopsync last knew it comes back
/// `CHANGE_FROM_QUANTITY_STALE`; it is read again from Shopify (one read for the call's stale
/// rows), kept as the known level, and set compare-and-swap from the value read — never overwritten
/// with an explicit null. A stale level that already shows BC's quantity is not sent again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_level_changed_in_shopify_meanwhile_is_read_again_and_set_from_what_was_read() {
    let stack = stack(StackOptions::default()).await;
    let shop = stack.seed_shop("STALE", 50).await.unwrap();
    stack.runner.tick(tick_at(0)).await;
    stack.runner.drain(DRAIN).await.unwrap();
    let first = &stack.jobs("STALE").await[0];
    assert_eq!(first.status, JobStatus::Succeeded, "{:?}", first.error);
    assert_eq!(shop.levels_off(&stack, expected), 0);

    // All three at the second location (WEST), so they travel in one call.
    let (edited, in_step, untouched) = (5usize, 9usize, 20usize);
    let west = &shop.locations[1];
    let store = stack.shopify.store(&shop.domain);
    // Someone edits Shopify: one level by hand, another to exactly what BC is about to say.
    store.set_available(&shop.inventory_items[edited], west, 999);
    store.set_available(&shop.inventory_items[in_step], west, 321);
    // BC changes all three.
    for (i, qty) in [(edited, 123.0), (in_step, 321.0), (untouched, 77.0)] {
        shop.company
            .set_availability(&format!("{}{i:06}", shop.prefix), "", "WEST", qty, qty);
    }
    let changed = |i: usize, l: usize| match (i, l) {
        (5, 1) => 123,
        (9, 1) => 321,
        (20, 1) => 77,
        _ => expected(i, l),
    };
    let log_before = store.adjustment_log().len();
    let before = stack.shopify.stats();
    stack.runner.tick(tick_at(15)).await;
    stack.runner.drain(DRAIN).await.unwrap();
    let after = stack.shopify.stats();

    let second = &stack.jobs("STALE").await[0];
    assert_eq!(second.status, JobStatus::Succeeded, "{:?}", second.error);
    assert!(
        !second.options.full,
        "an incremental run, with no level read up front"
    );

    // Shopify ends at BC's values, and the state knows it.
    assert_eq!(shop.levels_off(&stack, changed), 0);
    let known = shopsync_tasks::inventory::state::InventoryState {
        records: stack.adapters.store.as_ref(),
        shop: "STALE",
    }
    .load_levels()
    .await
    .unwrap();
    for i in [edited, in_step, untouched] {
        assert_eq!(
            known.get(&shop.inventory_items[i], &west),
            Some(changed(i, 1)),
            "known level of item {i}"
        );
    }

    // What Shopify applied: the untouched level from the known value, the edited one compare-and-swap
    // from the value read back; the one already in step not at all; nothing with a null
    // changeFromQuantity.
    let log = store.adjustment_log();
    let mut applied: Vec<_> = log[log_before..]
        .iter()
        .map(|a| {
            let i = shop
                .inventory_items
                .iter()
                .position(|id| *id == a.inventory_item_id)
                .unwrap();
            (i, a.location_id == *west, a.from, a.to, a.change_from)
        })
        .collect();
    applied.sort();
    assert_eq!(
        applied,
        vec![
            (edited, true, 999, 123, Some(999)),
            (
                untouched,
                true,
                expected(untouched, 1),
                77,
                Some(expected(untouched, 1))
            ),
        ],
        "{applied:?}"
    );
    assert!(
        log.iter().all(|a| a.change_from.is_some()),
        "no level was overwritten blindly"
    );

    // And the run says so.
    assert_eq!(second.counters.get("stale_levels_reread"), 2);
    assert_eq!(second.counters.get("levels_already_in_step"), 1);
    assert_eq!(second.counters.get("retried_rows"), 2);
    assert_eq!(second.counters.get("levels_changed"), 2);
    assert_eq!(second.counters.get("skipped_records"), 0);
    let ops = |name: &str| after.operation(name) - before.operation(name);
    assert_eq!(ops("InventorySetQuantities"), 2, "the call and its retry");
    assert_eq!(
        ops("InventoryItemsLevelAt"),
        1,
        "one read for the stale rows"
    );
    assert_eq!(after.requests - before.requests, 3);
}
