//! Shopify Admin GraphQL simulator for tests and benchmarks.
//!
//! Shopsync's Shopify client has to be proven against the limits that matter in production —
//! the cost-based leaky bucket, page and input-size limits, the 2026-04+ inventory contract
//! (`@idempotent`, `changeFromQuantity`), bulk operations and flaky networks — without a real
//! store. This crate is a real HTTP server on 127.0.0.1 that answers in the shapes recorded
//! from the live API (`shopify/captures/`), so the production client runs unmodified against
//! it (the admin base URL is configuration).
//!
//! # Endpoints
//! * `POST /{shop_domain}/admin/api/{version}/graphql.json` — versions `2026-04` and
//!   `2026-07`; header `X-Shopify-Access-Token` must match [`StoreHandle::set_access_token`]
//!   (any token is accepted while none is set).
//! * `GET /bulk-results/{id}.jsonl` — result files of completed bulk queries.
//!
//! # Cost and time scale
//! Each store has a bucket of [`SimConfig::bucket_size`] points refilled at
//! [`SimConfig::restore_rate`] points per *simulated* second. Simulated time runs
//! [`SimConfig::time_scale`] times faster than real time; `throttleStatus.restoreRate` reports
//! the refill per **real** second (`restore_rate × time_scale`) and `maximumAvailable` the
//! bucket size, so an unmodified client that paces itself from `throttleStatus` paces
//! correctly at any scale. Bulk operations stay RUNNING for
//! [`SimConfig::bulk_completion_delay`] of simulated time.
//!
//! # Orders
//! Each store also holds orders (seeded with [`StoreHandle::add_order`] from an [`OrderSeed`]),
//! their fulfillment orders, fulfillments, refunds and transactions, and Shopify Payments payouts
//! and balance transactions. `orders(query:)` filters on `updated_at`/`created_at`/`processed_at`
//! (instants compared as Shopify's search syntax does), `status`, `financial_status`, … and pages by
//! `sortKey` with cursors that survive records moving. `fulfillmentCreate` checks and decrements
//! remaining quantities and closes fulfillment orders with nothing left; `orderUpdate` and
//! `orderClose` write; all three move the order's `updatedAt`. None of the three accepts
//! `@idempotent` (the real schema offers it on none of them); the simulator refuses it there.
//! [`ShopifySim::script_fault`] aims a fault at the next requests of one root field, e.g. apply the
//! next `fulfillmentCreate` and drop its answer.
//!
//! # Known simplifications
//! * Requested cost follows Shopify's published rules (see `cost.rs`), which the live API does
//!   not follow exactly for every field.
//! * Forward pagination only (`first`/`after`, `reverse`); `last`/`before` are refused.
//! * JSON object keys are emitted in sorted order (serde_json without `preserve_order`).
//! * `InventoryChange.quantityAfterChange` is `null`, as the live 2026-04 API answers.

mod b2b_catalogs;
mod bucket;
mod bulk;
mod catalog;
mod clock;
mod companies;
mod cost;
mod customers;
mod exec;
mod exec_b2b_catalogs;
mod exec_catalog;
mod exec_companies;
mod exec_customers;
mod exec_orders;
mod faults;
mod gql;
mod inventory;
mod orders;
mod schema;
mod search;
mod server;
mod store;
mod validate;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

pub use b2b_catalogs::{CatalogSeed, SeededCatalog, SimFixedPrice};
pub use catalog::{CatalogWrite, StagedUpload};
pub use companies::{
    CompanyLocationSeed, SeededCompany, ShopCompany, ShopCompanyContact, ShopCompanyLocation,
    ShopCompanySeed,
};
pub use customers::{CustomerAddressSeed, ShopCustomer, ShopCustomerSeed};
pub use faults::{FaultConfig, FaultKind, SLOW_DELAY, STALL_DELAY, ScriptedFault};
pub use orders::{
    AddressSeed, BalanceTransactionSeed, CustomerSeed, FulfillmentRecord, LineSeed, OrderSeed,
    OrderWrite, PayoutSeed, SeededOrder, ShippingLineSeed, TransactionSeed, parse_cents,
    parse_time,
};
pub use server::SUPPORTED_VERSIONS;
pub use store::{AppliedAdjustment, GidStyle};

use server::{KillableListener, Shared, StoreRef, lock};
use store::{GID_ITEM, GID_LOCATION, GID_PRODUCT, GID_VARIANT, StoreData};

/// `YYYY-MM-DDTHH:MM:SSZ` of Unix seconds, as the simulator writes times (the inverse of
/// [`parse_time`]).
pub fn format_time(unix_secs: i64) -> String {
    clock::format_utc(unix_secs)
}

/// Simulator settings. `Default` is Shopify's Standard plan: 100 points/s, bucket 2,000.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Points restored per simulated second.
    pub restore_rate: f64,
    /// Bucket size (`maximumAvailable`).
    pub bucket_size: f64,
    /// Single-query ceiling (`MAX_COST_EXCEEDED` above it).
    pub max_query_cost: f64,
    /// Simulated seconds per real second.
    pub time_scale: f64,
    pub faults: FaultConfig,
    /// Simulated time a bulk operation stays RUNNING.
    pub bulk_completion_delay: Duration,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            restore_rate: 100.0,
            bucket_size: 2000.0,
            max_query_cost: 1000.0,
            time_scale: 1.0,
            faults: FaultConfig::default(),
            bulk_completion_delay: Duration::from_secs(2),
        }
    }
}

/// Counters since start.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SimStats {
    /// GraphQL requests that passed routing and authentication.
    pub requests: u64,
    /// THROTTLED answers produced by the real bucket (not injected ones).
    pub throttled: u64,
    pub injected_faults: u64,
    /// Sum of `actualQueryCost`.
    pub points_consumed: f64,
    /// Rows applied by `inventorySetQuantities` (rows that changed a quantity).
    pub applied_adjustments: u64,
    /// `inventorySetQuantities` calls answered from the idempotency store.
    pub idempotent_replays: u64,
    /// Executed mutation requests.
    pub mutation_calls: u64,
    /// GraphQL requests per operation name (`""` for an anonymous operation), counted once the
    /// operation to run is known — before validation, cost and throttling.
    pub operations: BTreeMap<String, u64>,
}

impl SimStats {
    /// Requests of the operation named `name` (see [`SimStats::operations`]).
    pub fn operation(&self, name: &str) -> u64 {
        self.operations.get(name).copied().unwrap_or(0)
    }
}

/// Seed for one variant.
#[derive(Debug, Clone, Default)]
pub struct VariantSeed {
    pub sku: Option<String>,
    pub barcode: Option<String>,
    pub tracked: bool,
}

/// GIDs created by [`StoreHandle::add_product`].
#[derive(Debug, Clone)]
pub struct SeededProduct {
    pub product_id: String,
    pub variant_ids: Vec<String>,
    pub inventory_item_ids: Vec<String>,
}

/// A running simulator.
pub struct ShopifySim {
    shared: Arc<Shared>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl ShopifySim {
    /// Binds 127.0.0.1 on an ephemeral port and serves in the background.
    pub async fn start(config: SimConfig) -> std::io::Result<ShopifySim> {
        Self::start_on(config, 0).await
    }

    /// Like [`ShopifySim::start`] on a given port (0 = ephemeral).
    pub async fn start_on(config: SimConfig, port: u16) -> std::io::Result<ShopifySim> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            clock: clock::SimClock::new(config.time_scale),
            faults: Mutex::new(faults::FaultState::new(config.faults.clone())),
            cfg: config,
            base_url: format!("http://{addr}"),
            stores: RwLock::new(HashMap::new()),
            stats: Mutex::new(SimStats::default()),
            bulk_files: Mutex::new(HashMap::new()),
            bulk_ids: AtomicU64::new(1),
            request_numbers: AtomicU64::new(0),
        });
        let app =
            server::router(shared.clone()).into_make_service_with_connect_info::<server::ConnCtl>();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serve =
                axum::serve(KillableListener(listener), app).with_graceful_shutdown(async move {
                    let _ = rx.await;
                });
            if let Err(e) = serve.await {
                tracing::warn!(error = %e, "shopify-sim server stopped");
            }
        });
        Ok(ShopifySim {
            shared,
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:PORT`
    pub fn base_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// `{base}/{shop_domain}/admin/api/{version}/graphql.json`
    pub fn graphql_url(&self, shop_domain: &str, api_version: &str) -> String {
        format!(
            "{}/{shop_domain}/admin/api/{api_version}/graphql.json",
            self.shared.base_url
        )
    }

    /// The store for `shop_domain`, created empty if missing.
    pub fn store(&self, shop_domain: &str) -> StoreHandle {
        let existing = self
            .shared
            .stores
            .read()
            .ok()
            .and_then(|m| m.get(shop_domain).cloned());
        let data = match existing {
            Some(d) => d,
            None => {
                let mut m = self
                    .shared
                    .stores
                    .write()
                    .unwrap_or_else(|p| p.into_inner());
                m.entry(shop_domain.to_string())
                    .or_insert_with(|| {
                        Arc::new(Mutex::new(StoreData::new(
                            shop_domain,
                            self.shared.cfg.bucket_size,
                        )))
                    })
                    .clone()
            }
        };
        StoreHandle {
            shared: self.shared.clone(),
            data,
        }
    }

    /// Replaces the random-fault settings (the RNG is re-seeded from `faults.seed`); scripted
    /// faults stay.
    pub fn set_faults(&self, faults: FaultConfig) {
        lock(&self.shared.faults).reconfigure(faults);
    }

    /// Injects `kind` into the next `times` requests whose operation selects the root field
    /// `root_field` (any request when `None`), before the random faults. With
    /// [`FaultKind::DropAfterApply`] the request runs — a mutation is applied — and its answer is
    /// lost.
    pub fn script_fault(&self, kind: FaultKind, root_field: Option<&str>, times: u32) {
        lock(&self.shared.faults).script(ScriptedFault {
            kind,
            root_field: root_field.map(str::to_string),
            times,
        });
    }

    pub fn stats(&self) -> SimStats {
        lock(&self.shared.stats).clone()
    }

    /// Simulated time since start.
    pub fn simulated_elapsed(&self) -> Duration {
        self.shared.clock.elapsed()
    }

    /// Stops serving and waits (at most 2 s) for open connections to finish.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(2), task)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }
}

impl Drop for ShopifySim {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Test-side access to one store (seeding and inspection bypass HTTP and the bucket).
#[derive(Clone)]
pub struct StoreHandle {
    shared: Arc<Shared>,
    data: StoreRef,
}

impl StoreHandle {
    /// Requests must then send `X-Shopify-Access-Token: token`, else 401.
    pub fn set_access_token(&self, token: &str) {
        lock(&self.data).token = Some(token.to_string());
    }

    /// The token requests must send (None = any).
    pub fn access_token(&self) -> Option<String> {
        lock(&self.data).token.clone()
    }

    /// How this store spells the GIDs it hands out (numeric unless set otherwise).
    pub fn gid_style(&self) -> GidStyle {
        lock(&self.data).gid_style
    }

    /// Makes this store hand out GIDs in `style` — [`GidStyle::Opaque`] for non-numeric ids, so
    /// that a client assuming digits after `gid://shopify/<Type>/` fails against it.
    ///
    /// # Panics
    /// If the store already has locations or products: their ids were handed out already.
    pub fn set_gid_style(&self, style: GidStyle) {
        let mut st = lock(&self.data);
        assert!(
            st.gid_style == style || (st.locations.is_empty() && st.products.is_empty()),
            "set the GID style of {} before seeding it",
            st.domain
        );
        st.gid_style = style;
    }

    /// Adds an active location; returns its GID (`gid://shopify/Location/<n>` unless the store's
    /// [`GidStyle`] is opaque).
    pub fn add_location(&self, name: &str) -> String {
        let mut st = lock(&self.data);
        let i = st.add_location(name);
        st.gid(GID_LOCATION, i)
    }

    /// Adds a product with the given variants (each with its inventory item).
    pub fn add_product(&self, title: &str, variants: &[VariantSeed]) -> SeededProduct {
        let mut st = lock(&self.data);
        let p = st.add_product(title);
        let mut variant_ids = Vec::new();
        let mut inventory_item_ids = Vec::new();
        for v in variants {
            let i = st.add_variant(p, v.sku.clone(), v.barcode.clone(), v.tracked);
            variant_ids.push(st.gid(GID_VARIANT, i));
            inventory_item_ids.push(st.gid(GID_ITEM, i));
        }
        SeededProduct {
            product_id: st.gid(GID_PRODUCT, p),
            variant_ids,
            inventory_item_ids,
        }
    }

    /// Stocks the item at the location (if not yet) with `qty` available.
    ///
    /// # Panics
    /// If either id is unknown — a seeding mistake in the test.
    pub fn set_available(&self, inventory_item_id: &str, location_id: &str, qty: i64) {
        let mut st = lock(&self.data);
        let item = st
            .parse_gid(GID_ITEM, inventory_item_id)
            .filter(|&i| i < st.variants.len())
            .unwrap_or_else(|| panic!("unknown inventory item {inventory_item_id}"));
        let loc = st
            .parse_gid(GID_LOCATION, location_id)
            .filter(|&i| i < st.locations.len())
            .unwrap_or_else(|| panic!("unknown location {location_id}"));
        let now = self.shared.clock.now();
        st.set_level(item, loc, qty, now);
    }

    /// Available quantity of a level, `None` when the item is not stocked there.
    pub fn available(&self, inventory_item_id: &str, location_id: &str) -> Option<i64> {
        let st = lock(&self.data);
        let item = st.parse_gid(GID_ITEM, inventory_item_id)?;
        let loc = st.parse_gid(GID_LOCATION, location_id)?;
        st.level_of(item, loc).map(|l| st.levels[l].available)
    }

    /// On-hand quantity of a level.
    pub fn on_hand(&self, inventory_item_id: &str, location_id: &str) -> Option<i64> {
        let st = lock(&self.data);
        let item = st.parse_gid(GID_ITEM, inventory_item_id)?;
        let loc = st.parse_gid(GID_LOCATION, location_id)?;
        st.level_of(item, loc).map(|l| st.levels[l].on_hand)
    }

    /// Every level as (inventory item GID, location GID, available).
    pub fn levels(&self) -> Vec<(String, String, i64)> {
        let st = lock(&self.data);
        st.levels
            .iter()
            .map(|l| {
                (
                    st.gid(GID_ITEM, l.item as usize),
                    st.gid(GID_LOCATION, l.location as usize),
                    l.available,
                )
            })
            .collect()
    }

    /// Every row applied by `inventorySetQuantities`, in order.
    pub fn adjustment_log(&self) -> Vec<AppliedAdjustment> {
        lock(&self.data).log.clone()
    }

    /// Unix seconds of the simulated wall clock now.
    fn unix_now(&self) -> i64 {
        self.shared.clock.unix(self.shared.clock.now())
    }

    /// Adds an order with one fulfillment order holding every shipped line.
    ///
    /// # Panics
    /// On a seeding mistake (an unknown location, an unreadable amount or time).
    pub fn add_order(&self, seed: OrderSeed) -> SeededOrder {
        let now = self.unix_now();
        lock(&self.data).add_order(seed, now)
    }

    /// Adds `count` orders of `lines` lines each ([`OrderSeed::with_lines`]), updated one after
    /// the other every `step_secs` from `first_updated_at` (RFC 3339).
    pub fn seed_orders(
        &self,
        count: usize,
        lines: usize,
        first_updated_at: &str,
        step_secs: i64,
    ) -> Vec<SeededOrder> {
        let start =
            parse_time(first_updated_at).unwrap_or_else(|| panic!("bad time {first_updated_at}"));
        (0..count)
            .map(|i| {
                let t = clock::format_utc(start + i as i64 * step_secs);
                self.add_order(OrderSeed::with_lines(lines).created_at(&t).updated_at(&t))
            })
            .collect()
    }

    /// Refunds `quantity` of each given order line (GIDs), without restock; returns the refund's
    /// GID. Moves the order's `updatedAt` to now.
    ///
    /// # Panics
    /// If the order or a line is unknown or not the order's.
    pub fn add_refund(&self, order_id: &str, lines: &[(&str, i64)]) -> String {
        let now = self.unix_now();
        let mut st = lock(&self.data);
        let o = st
            .order_index(order_id)
            .unwrap_or_else(|| panic!("unknown order {order_id}"));
        let lines: Vec<(usize, i64)> = lines
            .iter()
            .map(|(id, q)| {
                let l = st
                    .parse_gid(orders::GID_LINE, id)
                    .filter(|&l| l < st.book.lines.len() && st.book.lines[l].order == o)
                    .unwrap_or_else(|| panic!("unknown line {id} of {order_id}"));
                (l, *q)
            })
            .collect();
        let r = st.add_refund(o, &lines, now);
        st.gid(orders::GID_REFUND, r)
    }

    /// Sets an order's `updatedAt` (RFC 3339), as if someone edited it then.
    ///
    /// # Panics
    /// If the order is unknown or the time unreadable.
    pub fn touch_order(&self, order_id: &str, updated_at: &str) {
        let t = parse_time(updated_at).unwrap_or_else(|| panic!("bad time {updated_at}"));
        let mut st = lock(&self.data);
        let o = st
            .order_index(order_id)
            .unwrap_or_else(|| panic!("unknown order {order_id}"));
        st.book.orders[o].updated_at = t;
    }

    /// An order's `updatedAt`.
    pub fn order_updated_at(&self, order_id: &str) -> Option<String> {
        let st = lock(&self.data);
        let o = st.order_index(order_id)?;
        Some(clock::format_utc(st.book.orders[o].updated_at))
    }

    /// Whether an order is closed.
    pub fn order_closed(&self, order_id: &str) -> Option<bool> {
        let st = lock(&self.data);
        let o = st.order_index(order_id)?;
        Some(st.book.orders[o].closed_at.is_some())
    }

    /// An order's custom attributes.
    pub fn order_custom_attributes(&self, order_id: &str) -> Option<Vec<(String, Option<String>)>> {
        let st = lock(&self.data);
        let o = st.order_index(order_id)?;
        Some(st.book.orders[o].custom_attributes.clone())
    }

    /// The fulfillments of an order, oldest first.
    pub fn fulfillments(&self, order_id: &str) -> Vec<FulfillmentRecord> {
        let st = lock(&self.data);
        let Some(o) = st.order_index(order_id) else {
            return Vec::new();
        };
        st.book.orders[o]
            .fulfillments
            .iter()
            .map(|&f| st.fulfillment_record(f))
            .collect()
    }

    /// What remains to fulfil of a fulfillment-order line (GID).
    pub fn remaining_quantity(&self, fulfillment_order_line_id: &str) -> Option<i64> {
        let st = lock(&self.data);
        let l = st
            .parse_gid(orders::GID_FO_LINE, fulfillment_order_line_id)
            .filter(|&l| l < st.book.fo_lines.len())?;
        Some(st.book.fo_lines[l].remaining)
    }

    /// The status of a fulfillment order (GID): `OPEN`, `IN_PROGRESS` or `CLOSED`.
    pub fn fulfillment_order_status(&self, fulfillment_order_id: &str) -> Option<&'static str> {
        let st = lock(&self.data);
        let f = st
            .parse_gid(orders::GID_FO, fulfillment_order_id)
            .filter(|&f| f < st.book.fos.len())?;
        Some(st.book.fos[f].status.as_str())
    }

    /// Every applied `orderUpdate` and `orderClose`, in order.
    pub fn order_writes(&self) -> Vec<OrderWrite> {
        lock(&self.data).book.writes.clone()
    }

    /// Gives the store a Shopify Payments account (`shopifyPaymentsAccount` is null without one).
    pub fn enable_payments(&self) {
        lock(&self.data).book.payments_account = true;
    }

    /// Adds a payout (and the payments account); returns its GID and numeric id.
    ///
    /// # Panics
    /// On an unreadable amount or time.
    pub fn add_payout(&self, seed: PayoutSeed) -> (String, u64) {
        let cents = |t: &str| parse_cents(t).unwrap_or_else(|| panic!("bad amount {t}"));
        let mut st = lock(&self.data);
        st.book.payments_account = true;
        st.book.payouts.push(orders::PayoutRec {
            issued_at: parse_time(&seed.issued_at)
                .unwrap_or_else(|| panic!("bad time {}", seed.issued_at)),
            status: seed.status,
            net_cents: cents(&seed.net),
            charges_gross_cents: cents(&seed.charges_gross),
            charges_fee_cents: cents(&seed.charges_fee),
        });
        let i = st.book.payouts.len() - 1;
        (st.gid(orders::GID_PAYOUT, i), i as u64 + 1)
    }

    /// Adds a balance transaction (and the payments account); returns its GID.
    ///
    /// # Panics
    /// On an unknown order or payout, an unreadable amount or time.
    pub fn add_balance_transaction(&self, seed: BalanceTransactionSeed) -> String {
        let cents = |t: &str| parse_cents(t).unwrap_or_else(|| panic!("bad amount {t}"));
        let mut st = lock(&self.data);
        let order = seed.order_id.as_deref().map(|id| {
            st.order_index(id)
                .unwrap_or_else(|| panic!("unknown order {id}"))
        });
        let payout = seed.payout_id.as_deref().map(|id| {
            st.parse_gid(orders::GID_PAYOUT, id)
                .filter(|&p| p < st.book.payouts.len())
                .unwrap_or_else(|| panic!("unknown payout {id}"))
        });
        st.book.payments_account = true;
        st.book.balance.push(orders::BalanceRec {
            processed_at: parse_time(&seed.processed_at)
                .unwrap_or_else(|| panic!("bad time {}", seed.processed_at)),
            transaction_type: seed.transaction_type,
            amount_cents: cents(&seed.amount),
            fee_cents: cents(&seed.fee),
            order,
            payout,
        });
        let i = st.book.balance.len() - 1;
        st.gid(orders::GID_BALANCE, i)
    }

    /// Seeds `variants` tracked variants (100 per product) with skus `"{sku_prefix}{index:06}"`,
    /// stocked at every location in `locations` with `qty(variant_index, location_index)`.
    /// Returns the inventory item GIDs in variant order.
    ///
    /// # Panics
    /// If a location id is unknown.
    pub fn seed_catalogue(
        &self,
        variants: usize,
        locations: &[String],
        sku_prefix: &str,
        qty: impl Fn(usize, usize) -> i64,
    ) -> Vec<String> {
        let mut st = lock(&self.data);
        let locs: Vec<usize> = locations
            .iter()
            .map(|l| {
                st.parse_gid(GID_LOCATION, l)
                    .filter(|&i| i < st.locations.len())
                    .unwrap_or_else(|| panic!("unknown location {l}"))
            })
            .collect();
        let now = self.shared.clock.now();
        st.variants.reserve(variants);
        st.levels.reserve(variants * locs.len());
        st.level_index.reserve(variants * locs.len());
        let mut items = Vec::with_capacity(variants);
        let mut product = 0;
        for v in 0..variants {
            if v % 100 == 0 {
                product = st.add_product(&format!("{sku_prefix} product {}", v / 100 + 1));
            }
            let item = st.add_variant(product, Some(format!("{sku_prefix}{v:06}")), None, true);
            for (li, &loc) in locs.iter().enumerate() {
                st.set_level(item, loc, qty(v, li), now);
            }
            items.push(st.gid(GID_ITEM, item));
        }
        items
    }
}

/// Seed of a catalogue product ([`StoreHandle::add_catalog_product`]).
#[derive(Debug, Clone, Default)]
pub struct ProductSeed {
    pub title: String,
    /// Empty: derived from the title.
    pub handle: String,
    pub vendor: String,
    pub product_type: String,
    pub status: String,
    pub tags: Vec<String>,
    /// RFC 3339; empty = now.
    pub updated_at: String,
    pub gift_card: bool,
    pub options: Vec<(String, Vec<String>)>,
    /// (namespace, key, value)
    pub metafields: Vec<(String, String, String)>,
    pub variants: Vec<CatalogVariantSeed>,
    /// Images by URL (outside URLs are fine).
    pub images: Vec<String>,
}

/// Seed of one catalogue variant.
#[derive(Debug, Clone, Default)]
pub struct CatalogVariantSeed {
    pub sku: Option<String>,
    pub barcode: Option<String>,
    /// Decimal text; empty = 0.
    pub price: String,
    pub compare_at_price: Option<String>,
    pub unit_cost: Option<String>,
    /// Option values in the product's option order.
    pub options: Vec<String>,
}

/// A product as the simulator holds it (inspection).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogProduct {
    pub id: String,
    pub title: String,
    pub handle: String,
    pub vendor: String,
    pub status: String,
    pub updated_at: String,
    pub options: Vec<(String, Vec<String>)>,
    pub metafields: Vec<(String, String, String)>,
    pub variants: Vec<CatalogVariant>,
    /// Media GIDs, in order.
    pub media: Vec<String>,
}

/// A variant as the simulator holds it (inspection).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogVariant {
    pub id: String,
    pub sku: Option<String>,
    pub price: String,
    pub compare_at_price: Option<String>,
    pub unit_cost: Option<String>,
    pub options: Vec<(String, String)>,
}

/// An image as the simulator holds it (inspection).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogMedia {
    pub id: String,
    pub product_id: Option<String>,
    pub alt: Option<String>,
    /// The staged key (or outside URL) its content came from.
    pub source: String,
    /// The bytes, when they were uploaded to this simulator.
    pub bytes: Option<Vec<u8>>,
}

impl StoreHandle {
    /// Adds a catalogue product (options, variants with prices, images); returns its GIDs.
    ///
    /// # Panics
    /// On an unreadable amount or time.
    pub fn add_catalog_product(&self, seed: ProductSeed) -> SeededProduct {
        let now = self.unix_now();
        let money = |t: &str| {
            if t.is_empty() {
                0
            } else {
                parse_cents(t).unwrap_or_else(|| panic!("bad amount {t}"))
            }
        };
        let mut st = lock(&self.data);
        catalog::CatalogData::sync(&mut st, now);
        let p = st.add_product(&seed.title);
        let mut variant_ids = Vec::new();
        let mut inventory_item_ids = Vec::new();
        let mut vis = Vec::new();
        for v in &seed.variants {
            let i = st.add_variant(p, v.sku.clone(), v.barcode.clone(), true);
            vis.push(i);
            variant_ids.push(st.gid(GID_VARIANT, i));
            inventory_item_ids.push(st.gid(GID_ITEM, i));
        }
        catalog::CatalogData::sync(&mut st, now);
        let updated = if seed.updated_at.is_empty() {
            now
        } else {
            parse_time(&seed.updated_at).unwrap_or_else(|| panic!("bad time {}", seed.updated_at))
        };
        for (v, &i) in seed.variants.iter().zip(&vis) {
            let names: Vec<String> = seed.options.iter().map(|(n, _)| n.clone()).collect();
            let x = &mut st.catalog.variants[i];
            x.price = money(&v.price);
            x.compare_at = v.compare_at_price.as_deref().map(money);
            x.cost = v.unit_cost.as_deref().map(money);
            x.options = names.into_iter().zip(v.options.iter().cloned()).collect();
            x.updated_at = updated;
            let title = v.options.join(" / ");
            if !title.is_empty() {
                st.variants[i].title = title;
            }
        }
        let mut media = Vec::new();
        for url in &seed.images {
            st.catalog.media.push(catalog::MediaRec {
                product: Some(p),
                alt: None,
                source: url.clone(),
                updated_at: updated,
            });
            media.push(st.catalog.media.len() - 1);
        }
        let e = &mut st.catalog.products[p];
        if !seed.handle.is_empty() {
            e.handle = seed.handle;
        }
        e.vendor = seed.vendor;
        e.product_type = seed.product_type;
        if !seed.status.is_empty() {
            e.status = seed.status;
        }
        e.tags = seed.tags;
        e.gift_card = seed.gift_card;
        e.options = seed.options;
        e.metafields = seed.metafields;
        e.media = media;
        e.created_at = updated;
        e.updated_at = updated;
        SeededProduct {
            product_id: st.gid(GID_PRODUCT, p),
            variant_ids,
            inventory_item_ids,
        }
    }

    /// Every product with its catalogue attributes, in creation order.
    pub fn catalog_products(&self) -> Vec<CatalogProduct> {
        let now = self.unix_now();
        let mut st = lock(&self.data);
        catalog::CatalogData::sync(&mut st, now);
        (0..st.products.len())
            .map(|p| {
                let e = &st.catalog.products[p];
                CatalogProduct {
                    id: st.gid(GID_PRODUCT, p),
                    title: st.products[p].title.clone(),
                    handle: e.handle.clone(),
                    vendor: e.vendor.clone(),
                    status: e.status.clone(),
                    updated_at: clock::format_utc(e.updated_at),
                    options: e.options.clone(),
                    metafields: e.metafields.clone(),
                    variants: st.products[p]
                        .variants
                        .iter()
                        .map(|&v| {
                            let v = v as usize;
                            let x = &st.catalog.variants[v];
                            CatalogVariant {
                                id: st.gid(GID_VARIANT, v),
                                sku: st.variants[v].sku.clone(),
                                price: catalog::decimal(x.price),
                                compare_at_price: x.compare_at.map(catalog::decimal),
                                unit_cost: x.cost.map(catalog::decimal),
                                options: x.options.clone(),
                            }
                        })
                        .collect(),
                    media: e
                        .media
                        .iter()
                        .map(|&m| st.gid(catalog::GID_MEDIA, m))
                        .collect(),
                }
            })
            .collect()
    }

    /// One product by GID.
    pub fn catalog_product(&self, product_id: &str) -> Option<CatalogProduct> {
        self.catalog_products()
            .into_iter()
            .find(|p| p.id == product_id)
    }

    /// Every image, in creation order.
    pub fn media(&self) -> Vec<CatalogMedia> {
        let st = lock(&self.data);
        st.catalog
            .media
            .iter()
            .enumerate()
            .map(|(m, r)| CatalogMedia {
                id: st.gid(catalog::GID_MEDIA, m),
                product_id: r.product.map(|p| st.gid(GID_PRODUCT, p)),
                alt: r.alt.clone(),
                source: r.source.clone(),
                bytes: st.catalog.uploads.get(&r.source).map(|u| u.bytes.clone()),
            })
            .collect()
    }

    /// Every staged upload received (the last one per key), by key.
    pub fn staged_uploads(&self) -> Vec<StagedUpload> {
        let st = lock(&self.data);
        let mut out: Vec<StagedUpload> = st.catalog.uploads.values().cloned().collect();
        out.sort_by(|a, b| a.key.cmp(&b.key));
        out
    }

    /// How many uploads (PUT or POST) reached the staged endpoint, repeats included.
    pub fn upload_count(&self) -> usize {
        lock(&self.data).catalog.upload_log.len()
    }

    /// Every catalogue mutation executed (bulk lines included), in order.
    pub fn catalog_writes(&self) -> Vec<CatalogWrite> {
        lock(&self.data).catalog.writes.clone()
    }

    /// Makes the next bulk mutation to complete stop after `lines` lines: it ends FAILED and only
    /// those lines are written (and appear in its result file).
    pub fn fail_next_bulk_mutation_after(&self, lines: usize) {
        lock(&self.data).catalog.fail_next_bulk_after = Some(lines);
    }

    /// Sets a product's `updatedAt` (RFC 3339), as if someone edited it then.
    ///
    /// # Panics
    /// If the product is unknown or the time unreadable.
    pub fn touch_product(&self, product_id: &str, updated_at: &str) {
        let now = self.unix_now();
        let t = parse_time(updated_at).unwrap_or_else(|| panic!("bad time {updated_at}"));
        let mut st = lock(&self.data);
        catalog::CatalogData::sync(&mut st, now);
        let p = st
            .parse_gid(GID_PRODUCT, product_id)
            .filter(|&p| p < st.products.len())
            .unwrap_or_else(|| panic!("unknown product {product_id}"));
        st.catalog.products[p].updated_at = t;
    }
}
