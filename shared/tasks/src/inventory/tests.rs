//! `sync-inventory` on the engine against in-memory doubles: a Shopify double with the
//! `inventorySetQuantities` contract that matters here (compare-and-swap per row, all or nothing,
//! `@idempotent` replay of the first answer) and the state store of `shopsync-test-support`.
//! Issue 8 item 5: a row Shopify refuses as `CHANGE_FROM_QUANTITY_STALE` is re-read, never
//! overwritten blindly.

use super::*;
use crate::RunOutcome;
use crate::engine::{self, ShopClients};
use crate::test_run::{Saved, TaskHarness, deref_to_harness};
use shopsync_domain::inventory::{
    BcAvailability, BcItem, BcItemType, ShopifyLocation, ShopifyVariant, UserError,
};
use shopsync_domain::job::JobCounters;
use shopsync_domain::ports::{BcInventoryApi, ShopifyInventoryApi};
use shopsync_test_support::{Faults, MemoryStore, op};
use std::sync::{Arc, Mutex};

const SHOP: &str = "EO";
const LOCATION: &str = "gid://shopify/Location/1";

fn item(n: usize) -> String {
    format!("gid://shopify/InventoryItem/{n}")
}

/// Shopify's levels at [`LOCATION`] and what was asked of it.
#[derive(Default)]
struct Shopify {
    levels: Mutex<HashMap<String, i64>>,
    /// Every `inventorySetQuantities` call as sent (replays included).
    calls: Mutex<Vec<SetQuantitiesRequest>>,
    /// First answer per idempotency key.
    answers: Mutex<HashMap<String, SetQuantitiesOutcome>>,
    /// Every `levels_of` read: its (item, location) pairs.
    reads: Mutex<Vec<Vec<(String, String)>>>,
    /// Rows applied, per inventory item.
    applied: Mutex<HashMap<String, u32>>,
}

impl Shopify {
    fn level(&self, item: &str) -> Option<i64> {
        self.levels.lock().unwrap().get(item).copied()
    }

    fn set(&self, item: &str, qty: i64) {
        self.levels.lock().unwrap().insert(item.to_string(), qty);
    }
}

#[async_trait]
impl ShopifyInventoryApi for Shopify {
    async fn locations(&self) -> Result<Vec<ShopifyLocation>> {
        unreachable!("an incremental run with known levels does not list locations")
    }
    async fn variants(&self) -> Result<Vec<ShopifyVariant>> {
        unreachable!("an incremental run with mappings does not read the catalogue")
    }
    async fn levels_at(&self, _location_id: &str) -> Result<Vec<InventoryLevel>> {
        unreachable!("an incremental run with known levels does not read every level")
    }
    async fn levels_of(&self, keys: &[LevelKey<'_>]) -> Result<Vec<InventoryLevel>> {
        self.reads.lock().unwrap().push(
            keys.iter()
                .map(|k| (k.inventory_item_id.to_string(), k.location_id.to_string()))
                .collect(),
        );
        let levels = self.levels.lock().unwrap();
        Ok(keys
            .iter()
            .filter(|k| k.location_id == LOCATION)
            .filter_map(|k| {
                levels
                    .get(k.inventory_item_id)
                    .map(|&available| InventoryLevel {
                        inventory_item_id: k.inventory_item_id.to_string(),
                        location_id: k.location_id.to_string(),
                        available,
                    })
            })
            .collect())
    }
    async fn set_quantities(&self, request: &SetQuantitiesRequest) -> Result<SetQuantitiesOutcome> {
        self.calls.lock().unwrap().push(request.clone());
        if let Some(first) = self.answers.lock().unwrap().get(&request.idempotency_key) {
            return Ok(first.clone());
        }
        let mut levels = self.levels.lock().unwrap();
        let user_errors: Vec<UserError> = request
            .quantities
            .iter()
            .enumerate()
            .filter_map(|(i, row)| {
                let current = levels.get(&row.inventory_item_id).copied();
                let error = |code: &str, message: String, field: &str| UserError {
                    code: Some(code.to_string()),
                    field: vec![
                        "input".into(),
                        "quantities".into(),
                        i.to_string(),
                        field.into(),
                    ],
                    message,
                };
                match (current, row.change_from_quantity) {
                    (None, _) => Some(error(
                        "ITEM_NOT_STOCKED_AT_LOCATION",
                        "The specified inventory item is not stocked at the location.".into(),
                        "locationId",
                    )),
                    (Some(now), Some(expected)) if now != expected => Some(error(
                        STALE,
                        format!(
                            "The specified changeFromQuantity ({expected}) does not match the current quantity ({now})."
                        ),
                        "changeFromQuantity",
                    )),
                    _ => None,
                }
            })
            .collect();
        if user_errors.is_empty() {
            let mut applied = self.applied.lock().unwrap();
            for row in &request.quantities {
                if levels.insert(row.inventory_item_id.clone(), row.quantity) != Some(row.quantity)
                {
                    *applied.entry(row.inventory_item_id.clone()).or_default() += 1;
                }
            }
        }
        let outcome = SetQuantitiesOutcome {
            adjustment_group_id: None,
            user_errors,
        };
        self.answers
            .lock()
            .unwrap()
            .insert(request.idempotency_key.clone(), outcome.clone());
        Ok(outcome)
    }
}

shopsync_test_support::no_shopify_usage!(Shopify);
shopsync_test_support::unused_shopify_catalog_api!(Shopify);
shopsync_test_support::unused_shopify_companies_api!(Shopify);
shopsync_test_support::unused_shopify_b2b_catalogs_api!(Shopify);
shopsync_test_support::unused_shopify_customers_api!(Shopify);
shopsync_test_support::unused_shopify_orders_api!(Shopify);

/// BC: `items.inventory` per item number.
struct Bc(Vec<(String, f64)>);

#[async_trait]
impl BcInventoryApi for Bc {
    async fn items(&self) -> Result<Vec<BcItem>> {
        Ok(self
            .0
            .iter()
            .map(|(number, inventory)| BcItem {
                number: number.clone(),
                gtin: None,
                item_type: BcItemType::Inventory,
                blocked: false,
                inventory: *inventory,
            })
            .collect())
    }
    async fn availability(
        &self,
        _page: &str,
        _company: &str,
        _codes: &[String],
    ) -> Result<Vec<BcAvailability>> {
        unreachable!("the shop has no availability page")
    }
}

shopsync_test_support::unused_bc_sales_api!(Bc);
shopsync_test_support::unused_bc_items_api!(Bc);
shopsync_test_support::unused_bc_customers_api!(Bc);

fn settings() -> ShopSettings {
    ShopSettings::from_json(
        &serde_json::json!({
            "code": SHOP,
            "locations": [{"shopify_location_id": LOCATION, "stock_calculation": "projected_available_balance"}],
            "shopify": {"store_domain": "eo.myshopify.com", "access_token_secret_id": "shopsync/EO/shopify"},
            "bc": {"tenant": "contoso", "environment": "production",
                   "company_id": "5d5d2b5a-6a47-4d36-9a55-4f4c0f0e1a01", "credentials_secret_id": "shopsync/EO/bc"}
        })
        .to_string(),
    )
    .unwrap()
}

/// A shop whose mapped items 1..=n have BC quantities `bc`, last known levels `known` and Shopify
/// levels `shopify` (`None`: not stocked), ready for an incremental run. The shop's store,
/// settings, clients, job and saved checkpoint (its deadline never near) are its [`TaskHarness`]'s.
struct Shop {
    faults: Faults,
    shopify: Arc<Shopify>,
    task: InventoryTask,
    harness: TaskHarness,
}

deref_to_harness!(Shop);

impl Shop {
    async fn new(bc: &[f64], known: &[i64], shopify: &[Option<i64>]) -> Shop {
        let faults = Faults::new();
        let store = MemoryStore::new().with_faults(faults.clone());
        let mappings: Vec<VariantMapping> = (1..=bc.len())
            .map(|n| VariantMapping {
                variant_id: format!("gid://shopify/ProductVariant/{n}"),
                inventory_item_id: item(n),
                item_no: format!("ITEM{n}"),
                variant_code: String::new(),
            })
            .collect();
        let state = InventoryState {
            records: &store,
            shop: SHOP,
        };
        state.replace_mappings(&mappings).await.unwrap();
        let known: Vec<InventoryLevel> = known
            .iter()
            .enumerate()
            .map(|(i, &available)| InventoryLevel {
                inventory_item_id: item(i + 1),
                location_id: LOCATION.into(),
                available,
            })
            .collect();
        state.replace_levels(&known).await.unwrap();
        let api = Arc::new(Shopify::default());
        for (i, level) in shopify.iter().enumerate() {
            if let Some(level) = level {
                api.set(&item(i + 1), *level);
            }
        }
        let bc = Arc::new(Bc(bc
            .iter()
            .enumerate()
            .map(|(i, q)| (format!("ITEM{}", i + 1), *q))
            .collect()));
        let clients = ShopClients {
            shopify: api.clone(),
            bc,
        };
        let mut harness = TaskHarness::new(store, clients, settings(), TaskKind::SyncInventory);
        // Job 0, `1764370000000-sync-inventory-EO`, stored as the runs' job: the stores fence every
        // write of a run on its epoch.
        harness.next_job(TaskKind::SyncInventory, 0).await;
        Shop {
            task: InventoryTask,
            shopify: api,
            faults,
            harness,
        }
    }

    /// One invocation, resuming from the last saved checkpoint (a redelivery after a crash), and
    /// the counters of that invocation only.
    async fn invoke(&mut self) -> (Result<RunOutcome>, JobCounters) {
        let result = self.harness.invoke(&self.task).await;
        (result, std::mem::take(&mut self.harness.counters))
    }

    async fn known(&self, n: usize) -> Option<i64> {
        InventoryState {
            records: &self.store,
            shop: SHOP,
        }
        .load_levels()
        .await
        .unwrap()
        .get(&item(n), LOCATION)
    }

    /// `(item, quantity, changeFromQuantity)` of every row of call `i`.
    fn call(&self, i: usize) -> Vec<(String, i64, Option<i64>)> {
        self.shopify.calls.lock().unwrap()[i]
            .quantities
            .iter()
            .map(|q| {
                (
                    q.inventory_item_id.clone(),
                    q.quantity,
                    q.change_from_quantity,
                )
            })
            .collect()
    }

    fn no_blind_overwrite(&self) {
        for call in self.shopify.calls.lock().unwrap().iter() {
            for q in &call.quantities {
                assert!(
                    q.change_from_quantity.is_some(),
                    "a known level was sent with changeFromQuantity null: {q:?}"
                );
            }
        }
    }
}

#[tokio::test]
async fn a_stale_row_is_reread_and_retried_from_the_level_shopify_has_now() {
    // Item 1: as known. Item 2: someone set 40 in Shopify. Item 3: someone already set BC's 9.
    let mut shop = Shop::new(&[5.0, 7.0, 9.0], &[1, 2, 3], &[Some(1), Some(40), Some(9)]).await;
    let (result, counters) = shop.invoke().await;
    assert!(
        matches!(result, Ok(RunOutcome::Finished { warnings: false })),
        "{result:?}"
    );

    // The first call is compare-and-swap from the known levels; Shopify refuses it whole.
    assert_eq!(
        shop.call(0),
        vec![
            (item(1), 5, Some(1)),
            (item(2), 7, Some(2)),
            (item(3), 9, Some(3)),
        ]
    );
    // The two stale rows are read again, in one read.
    assert_eq!(
        *shop.shopify.reads.lock().unwrap(),
        vec![vec![
            (item(2), LOCATION.to_string()),
            (item(3), LOCATION.to_string())
        ]]
    );
    // The retry: the collateral row as it was, the stale one from what Shopify has now; the level
    // already in step is not sent again.
    assert_eq!(shop.shopify.calls.lock().unwrap().len(), 2);
    assert_eq!(
        shop.call(1),
        vec![(item(1), 5, Some(1)), (item(2), 7, Some(40))]
    );
    shop.no_blind_overwrite();

    for (n, want) in [(1, 5), (2, 7), (3, 9)] {
        assert_eq!(
            shop.shopify.level(&item(n)),
            Some(want),
            "Shopify, item {n}"
        );
        assert_eq!(shop.known(n).await, Some(want), "known level, item {n}");
    }
    assert_eq!(counters.get(counters::STALE_LEVELS_REREAD), 2);
    assert_eq!(counters.get(counters::LEVELS_ALREADY_IN_STEP), 1);
    assert_eq!(counters.get(counters::RETRIED_ROWS), 2);
    assert_eq!(counters.get(counters::LEVELS_CHANGED), 2);
    assert_eq!(counters.get(counters::SKIPPED_RECORDS), 0);
    assert_eq!(counters.get(counters::MUTATIONS), 2);
}

#[tokio::test]
async fn a_crash_before_the_stale_call_is_settled_rereads_and_sends_the_same_retry() {
    let mut shop = Shop::new(&[5.0, 7.0], &[1, 2], &[Some(1), Some(40)]).await;
    // The stale call is answered and settled (re-read, known level saved), then the run dies before
    // its ledger entry is completed: the redelivery replays the call under its key.
    shop.faults
        .fail_next(op::LEDGER_COMPLETE, 1, Faults::connection_reset("dynamodb"));
    let (first, _) = shop.invoke().await;
    assert!(first.is_err(), "the crash ends the first run");
    assert_eq!(shop.known(2).await, Some(40), "the re-read is kept at once");
    let (second, counters) = shop.invoke().await;
    assert!(
        matches!(second, Ok(RunOutcome::Finished { .. })),
        "{second:?}"
    );
    assert!(counters.get(engine::counters::EFFECTS_REPLAYED) >= 1);

    let calls = shop.shopify.calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 3, "the call, its replay, the retry");
    assert_eq!(calls[0], calls[1], "the replay resends the stored payload");
    assert_eq!(
        shop.call(2),
        vec![(item(1), 5, Some(1)), (item(2), 7, Some(40))]
    );
    shop.no_blind_overwrite();
    assert_eq!(shop.shopify.level(&item(2)), Some(7));
    assert_eq!(shop.known(2).await, Some(7));
    assert_eq!(
        *shop.shopify.applied.lock().unwrap(),
        HashMap::from([(item(1), 1), (item(2), 1)]),
        "each level applied once"
    );
}

#[tokio::test]
async fn settling_a_stale_outcome_again_builds_the_same_follow_up() {
    // Item 2 is stale; item 3 is stale and gone from the location by the time it is re-read.
    let shop = Shop::new(&[5.0, 7.0, 9.0], &[1, 2, 3], &[Some(1), Some(40), None]).await;
    let rows = vec![
        QuantityChange {
            inventory_item_id: item(1),
            location_id: LOCATION.into(),
            quantity: 5,
            change_from_quantity: Some(1),
        },
        QuantityChange {
            inventory_item_id: item(2),
            location_id: LOCATION.into(),
            quantity: 7,
            change_from_quantity: Some(2),
        },
        QuantityChange {
            inventory_item_id: item(3),
            location_id: LOCATION.into(),
            quantity: 9,
            change_from_quantity: Some(3),
        },
    ];
    let stale = |row: usize| UserError {
        code: Some(STALE.into()),
        field: vec![
            "input".into(),
            "quantities".into(),
            row.to_string(),
            "changeFromQuantity".into(),
        ],
        message: "stale".into(),
    };
    let outcome = to_value(&SetQuantitiesOutcome {
        adjustment_group_id: None,
        user_errors: vec![stale(1), stale(2)],
    })
    .unwrap();
    let effect = batch_effect(rows, false).unwrap();
    let saved = Saved::default();
    let mut settled = Vec::new();
    for _ in 0..2 {
        let mut run = TaskRun {
            settings: &shop.settings,
            job: &shop.job,
            clients: &shop.clients,
            stores: shopsync_domain::ports::RunStoreSource::for_run(
                &shop.store,
                Some(shop.job.fence()),
            ),
            counters: JobCounters::default(),
            progress: &saved,
        };
        settled.push(
            shop.task
                .settle(&mut run, &mut PlanState::default(), &effect, &outcome)
                .await
                .unwrap(),
        );
    }
    assert_eq!(settled[0], settled[1], "same outcome, same follow-up");
    assert_eq!(settled[0].follow_ups.len(), 1);
    let retry: Batch = settled[0].follow_ups[0].payload_as().unwrap();
    assert!(retry.retry);
    assert_eq!(
        retry
            .quantities
            .iter()
            .map(|q| (q.inventory_item_id.clone(), q.change_from_quantity))
            .collect::<Vec<_>>(),
        vec![(item(1), Some(1)), (item(2), Some(40))]
    );
    assert_eq!(shop.known(2).await, Some(40));
    assert_eq!(shop.known(3).await, Some(3), "nothing read, nothing kept");
    // The level no longer there is a skipped record (one per settling).
    let skipped = shop.store.list_skipped(SHOP, 10).await.unwrap();
    assert_eq!(skipped.len(), 2, "{skipped:?}");
    for s in &skipped {
        assert_eq!(s.record_id, format!("{}@{LOCATION}", item(3)));
        assert!(s.reason.contains("could not be read again"), "{}", s.reason);
    }
}
