//! The status board's "Unmapped Products" cue, fed by `sync-inventory`: a full mapping of the
//! catalogue replaces the shop's unmapped-products cue entries with exactly the variants it could not
//! map (through the real path: tick → SQS → worker → DynamoDB, on moto and the simulators).

use shopify_sim::VariantSeed;
use shopsync_domain::job::JobStatus;
use shopsync_domain::status::{Cue, CueEntry};
use shopsync_domain::status_ports::CueStore;
use shopsync_e2e::{Stack, StackOptions, tick_at};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_mapping_replaces_the_unmapped_products_cue() {
    let stack = Stack::start(StackOptions::default())
        .await
        .expect("local stack");
    let shop = stack.seed_shop("UNMAP", 12).await.unwrap();
    let orphans = stack.shopify.store(&shop.domain).add_product(
        "Not in BC",
        &[
            VariantSeed {
                sku: Some("NO-SUCH-ITEM-1".into()),
                barcode: None,
                tracked: true,
            },
            VariantSeed {
                sku: Some("NO-SUCH-ITEM-2".into()),
                barcode: None,
                tracked: true,
            },
        ],
    );
    let store = &stack.adapters.store;
    // An entry from an earlier mapping that no longer holds: the full mapping must remove it.
    let stale = CueEntry {
        id: "gid://shopify/ProductVariant/999999".into(),
        detail: "old".into(),
        task: None,
        at: 1,
    };
    store
        .put_entries("UNMAP", Cue::UnmappedProducts, &[stale])
        .await
        .unwrap();

    let report = stack.runner.tick(tick_at(0)).await;
    assert_eq!(report.queued.len(), 1, "{report:?}");
    stack.runner.drain(Duration::from_secs(240)).await.unwrap();
    let jobs = stack.jobs("UNMAP").await;
    assert_eq!(jobs.len(), 1);
    assert!(
        jobs[0].options.full,
        "the first run maps the whole catalogue"
    );
    assert_eq!(
        jobs[0].status,
        JobStatus::SucceededWithWarnings,
        "{:?}",
        jobs[0].error
    );

    assert_eq!(
        store
            .count_entries("UNMAP", Cue::UnmappedProducts)
            .await
            .unwrap(),
        2
    );
    let mut ids: Vec<String> = store
        .list_entries("UNMAP", Cue::UnmappedProducts, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|e| {
            assert!(!e.detail.is_empty());
            e.id
        })
        .collect();
    ids.sort();
    let mut expected = orphans.variant_ids.clone();
    expected.sort();
    assert_eq!(ids, expected);
}
