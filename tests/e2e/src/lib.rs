//! The local stack: moto (DynamoDB, SQS, Secrets Manager) provisioned from `infra/template.yaml`, the
//! Shopify and BC simulators on 127.0.0.1, and the `sync-inventory` app wired to them exactly as the
//! Lambda binary wires itself to AWS — only the endpoints differ. The end-to-end tests, the local demo
//! and the benchmark all start from here.

use aws_sdk_secretsmanager::Client as SecretsClient;
use bc_sim::{BcSim, BcSimConfig};
use shopify_sim::{ShopifySim, SimConfig};
use shopsync_aws::{Adapters, SdkConfig};
use shopsync_domain::ports::{JobStore, SettingsStore};
use shopsync_domain::settings::ShopSettings;
use shopsync_domain::{JobRecord, TaskKind};
use shopsync_localstack::MotoServer;
use shopsync_localstack::provision::{self, ProvisionOptions, ProvisionedResources};
use shopsync_runtime::Endpoints;
use shopsync_runtime::local::LocalRunner;
use shopsync_runtime::{App, RuntimeConfig, bootstrap};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

pub mod api_stack;
pub mod bench;
pub mod faults;
pub mod gateway;
pub mod jobs;
pub mod lambda_api;
pub mod openapi;
pub mod orders_world;

/// Logical id of the inventory task queue in the template.
pub const INVENTORY_QUEUE: &str = "SyncInventoryQueue";
/// Logical id of the orders task queue in the template.
pub const ORDERS_QUEUE: &str = "SyncOrdersQueue";
/// The page a demo BC company publishes with availability per location.
pub const AVAILABILITY_PAGE: &str = "ShopsyncItemAvailability";

pub struct StackOptions {
    pub shopify: SimConfig,
    pub bc: BcSimConfig,
    pub runtime: RuntimeConfig,
    pub endpoints_bulk_poll: Duration,
    /// Variant count above which the client reads catalogues and levels with bulk operations.
    pub bulk_threshold: usize,
}

/// The runtime tuning of the local stack: the production defaults with deferrals and retries that come
/// back in a second or two instead of minutes. Tests that tune one knob start from this.
pub fn local_runtime() -> RuntimeConfig {
    RuntimeConfig {
        deferral_delay_secs: 1,
        retry_backoff_base_secs: 1,
        retry_backoff_cap_secs: 2,
        ..RuntimeConfig::default()
    }
}

impl Default for StackOptions {
    fn default() -> Self {
        StackOptions {
            // Standard-plan limits, with simulated time running 10x faster than the wall clock.
            shopify: SimConfig {
                bulk_completion_delay: Duration::from_millis(500),
                time_scale: 10.0,
                ..SimConfig::default()
            },
            bc: BcSimConfig::default(),
            runtime: local_runtime(),
            endpoints_bulk_poll: Duration::from_millis(100),
            bulk_threshold: 1_000,
        }
    }
}

pub struct Stack {
    pub sdk: SdkConfig,
    pub resources: ProvisionedResources,
    pub adapters: Adapters,
    pub shopify: ShopifySim,
    pub bc: BcSim,
    pub app: App,
    pub runner: LocalRunner,
    pub secrets: SecretsClient,
    pub prefix: String,
    /// Where the simulators are, as the functions are configured with them.
    pub endpoints: Endpoints,
}

static STACKS: AtomicU32 = AtomicU32::new(0);

impl Stack {
    /// Start (or reuse) moto, provision a fresh, uniquely named set of resources from the template,
    /// start both simulators and wire the app.
    pub async fn start(mut opts: StackOptions) -> Result<Stack, String> {
        // The local stack's stdout is for people: no CloudWatch metric lines.
        opts.runtime.metrics = shopsync_runtime::metrics::MetricsSink::Off;
        let moto = MotoServer::shared().map_err(|e| format!("cannot start moto: {e}"))?;
        let sdk = moto.sdk_config().await;
        let prefix = format!(
            "t{}{}",
            std::process::id(),
            STACKS.fetch_add(1, Ordering::SeqCst)
        );
        let resources = provision::provision(
            &sdk,
            &ProvisionOptions::with_prefix(&prefix).visibility_timeout(30),
        )
        .await
        .map_err(|e| format!("provisioning from the template: {e}"))?;
        let mut aws = resources
            .aws_config(INVENTORY_QUEUE)
            .ok_or("the template has no SyncInventoryQueue")?;
        aws.max_receive_count = opts.runtime.max_receive_count;
        let adapters = Adapters::new(&sdk, &aws);
        let shopify = ShopifySim::start(opts.shopify)
            .await
            .map_err(|e| format!("shopify sim: {e}"))?;
        let bc = BcSim::start(opts.bc)
            .await
            .map_err(|e| format!("bc sim: {e}"))?;
        let endpoints = Endpoints {
            shopify_url_template: format!(
                "{}/{{shop_domain}}/admin/api/{{version}}/graphql.json",
                shopify.base_url()
            ),
            bc_api_base_url: bc.api_base_url(),
            bc_token_url_template: bc.token_url_template(),
            shopify_bulk_poll: opts.endpoints_bulk_poll,
            shopify_bulk_threshold: opts.bulk_threshold,
        };
        let app = bootstrap::app_for(
            TaskKind::SyncInventory,
            &adapters,
            opts.runtime,
            endpoints.clone(),
        )?;
        let runner = LocalRunner {
            app: app.clone(),
            sqs: aws_sdk_sqs::Client::new(&sdk),
            queue_url: aws.task_queue_url.clone(),
            invocation_timeout: Duration::from_secs(900),
        };
        let secrets = SecretsClient::new(&sdk);
        Ok(Stack {
            sdk,
            resources,
            adapters,
            shopify,
            bc,
            app,
            runner,
            secrets,
            prefix,
            endpoints,
        })
    }

    /// A local runner of another task of the template (its app on its own queue, `queue_logical_id`),
    /// wired to this stack's moto and simulators as [`Stack::start`] wires sync-inventory.
    pub fn runner_for(
        &self,
        task: TaskKind,
        queue_logical_id: &str,
        runtime: RuntimeConfig,
    ) -> Result<LocalRunner, String> {
        let mut aws = self
            .resources
            .aws_config(queue_logical_id)
            .ok_or_else(|| format!("the template has no {queue_logical_id}"))?;
        aws.max_receive_count = runtime.max_receive_count;
        let adapters = Adapters::new(&self.sdk, &aws);
        let app = bootstrap::app_for(task, &adapters, runtime, self.endpoints.clone())?;
        Ok(LocalRunner {
            app,
            sqs: aws_sdk_sqs::Client::new(&self.sdk),
            queue_url: aws.task_queue_url,
            invocation_timeout: Duration::from_secs(900),
        })
    }

    /// Store a secret of shop `code` in (moto's) Secrets Manager and return its id. Ids live under the
    /// shop's own prefix (`shopsync/<code>/…`), the only place a shop may read secrets from; the
    /// stack's prefix keeps the stacks that share one moto apart.
    pub async fn put_secret(&self, code: &str, name: &str, value: &str) -> Result<String, String> {
        let id = format!("shopsync/{code}/{}-{name}", self.prefix);
        self.secrets
            .create_secret()
            .name(&id)
            .secret_string(value)
            .send()
            .await
            .map_err(|e| {
                format!(
                    "create secret: {}",
                    aws_sdk_secretsmanager::error::DisplayErrorContext(e)
                )
            })?;
        Ok(id)
    }

    /// Seed a shop: a Shopify store with `variants` variants stocked at two locations (with quantities
    /// that differ from BC's), a BC company with matching items and a per-location availability page,
    /// the credentials in Secrets Manager, and the shop's settings.
    pub async fn seed_shop(&self, code: &str, variants: usize) -> Result<DemoShop, String> {
        self.seed_shop_with(code, variants, SeedOptions::default())
            .await
    }

    /// [`Stack::seed_shop`] with options.
    pub async fn seed_shop_with(
        &self,
        code: &str,
        variants: usize,
        opts: SeedOptions,
    ) -> Result<DemoShop, String> {
        let domain = format!("{}.myshopify.com", code.to_lowercase());
        let store = self.shopify.store(&domain);
        if opts.opaque_gids {
            store.set_gid_style(shopify_sim::GidStyle::Opaque);
        }
        let token = format!("local-token-{}", uuid::Uuid::new_v4().simple());
        store.set_access_token(&token);
        let east = store.add_location("East Warehouse");
        let west = store.add_location("West Warehouse");
        let prefix = format!("{code}-");
        let items =
            store.seed_catalogue(variants, &[east.clone(), west.clone()], &prefix, |v, l| {
                ((v * 7 + l * 3) % 40) as i64
            });

        let tenant = format!("tenant-{}", code.to_lowercase());
        let company_id = uuid::Uuid::new_v4().to_string();
        let company_name = format!("{code} Trading");
        let client_id = uuid::Uuid::new_v4().to_string();
        let client_secret = format!("local-{}", uuid::Uuid::new_v4().simple());
        self.bc.add_client(&tenant, &client_id, &client_secret);
        let company = self
            .bc
            .add_company(&tenant, "production", &company_id, &company_name);
        company.seed_items(variants, &prefix, &["EAST", "WEST"], |i, l| {
            bc_quantity(i, l)
        });
        company.publish_availability_page(AVAILABILITY_PAGE);

        let shopify_secret = self
            .put_secret(
                code,
                "shopify",
                &serde_json::json!({"access_token": token}).to_string(),
            )
            .await?;
        let bc_secret = self
            .put_secret(
                code,
                "bc",
                &serde_json::json!({"client_id": client_id, "client_secret": client_secret})
                    .to_string(),
            )
            .await?;
        let settings = ShopSettings::from_json(
            &serde_json::json!({
                "code": code,
                "enabled": true,
                "sku_mapping": "item_no",
                "locations": [
                    {"shopify_location_id": east, "name": "East Warehouse", "stock_calculation": "projected_available_balance", "bc_location_codes": ["EAST"]},
                    {"shopify_location_id": west, "name": "West Warehouse", "stock_calculation": "projected_available_balance", "bc_location_codes": ["WEST"]}
                ],
                "inventory_availability_page": AVAILABILITY_PAGE,
                "tasks": {"sync-inventory": {"enabled": true}},
                "shopify": {"store_domain": domain, "access_token_secret_id": shopify_secret},
                "bc": {"tenant": tenant, "environment": "production", "company_id": company_id, "company_name": company_name, "credentials_secret_id": bc_secret}
            })
            .to_string(),
        )
        .map_err(|e| e.to_string())?;
        self.adapters
            .store
            .put_shop(&settings)
            .await
            .map_err(|e| e.to_string())?;
        Ok(DemoShop {
            settings,
            domain,
            locations: vec![east, west],
            inventory_items: items,
            company,
            prefix,
        })
    }

    /// Jobs of a shop, newest first.
    pub async fn jobs(&self, shop: &str) -> Vec<JobRecord> {
        self.adapters
            .store
            .list_jobs(shop, None, 100)
            .await
            .unwrap_or_default()
    }

    /// Messages waiting in the dead-letter queue (received, then made visible again).
    /// Receive the one message on the task queue and wrap it as the SQS event of its
    /// `receive_count`th delivery, as the event source mapping would hand it to the worker. The
    /// message stays in flight under the returned receipt handle.
    pub async fn receive_as_event(
        &self,
        receive_count: u32,
    ) -> (aws_lambda_events::event::sqs::SqsEvent, String) {
        let sqs = aws_sdk_sqs::Client::new(&self.sdk);
        let got = sqs
            .receive_message()
            .queue_url(&self.runner.queue_url)
            .send()
            .await
            .expect("receive from the task queue");
        let m = got
            .messages
            .unwrap_or_default()
            .into_iter()
            .next()
            .expect("a message on the task queue");
        let handle = m.receipt_handle.clone().unwrap_or_default();
        let event = serde_json::from_value(serde_json::json!({"Records": [{
            "messageId": m.message_id, "receiptHandle": m.receipt_handle, "body": m.body,
            "attributes": {"ApproximateReceiveCount": receive_count.to_string()},
            "messageAttributes": {}, "eventSource": "aws:sqs"
        }]}))
        .expect("an SQS event");
        (event, handle)
    }

    pub async fn dead_letters(&self) -> Vec<aws_sdk_sqs::types::Message> {
        let sqs = aws_sdk_sqs::Client::new(&self.sdk);
        let mut out = Vec::new();
        for _ in 0..5 {
            let r = sqs
                .receive_message()
                .queue_url(&self.resources.dlq_url)
                .max_number_of_messages(10)
                .visibility_timeout(0)
                .message_attribute_names("All")
                .wait_time_seconds(0)
                .send()
                .await;
            let msgs = r.ok().and_then(|r| r.messages).unwrap_or_default();
            if msgs.is_empty() {
                break;
            }
            for m in msgs {
                if !out
                    .iter()
                    .any(|o: &aws_sdk_sqs::types::Message| o.message_id == m.message_id)
                {
                    out.push(m);
                }
            }
            if !out.is_empty() {
                break;
            }
        }
        out
    }
}

/// How [`Stack::seed_shop_with`] seeds a shop, beyond its size.
#[derive(Debug, Clone, Copy, Default)]
pub struct SeedOptions {
    /// The Shopify store hands out opaque, non-numeric GIDs for its locations, products, variants,
    /// inventory items and levels (`shopify_sim::GidStyle::Opaque`).
    pub opaque_gids: bool,
}

/// BC's quantity for item `i` at location `l` in the seeded companies.
pub fn bc_quantity(i: usize, l: usize) -> f64 {
    ((i * 13 + l * 5) % 50) as f64
}

pub struct DemoShop {
    pub settings: ShopSettings,
    pub domain: String,
    pub locations: Vec<String>,
    /// Inventory item gids, in the order of the seeded catalogue.
    pub inventory_items: Vec<String>,
    pub company: bc_sim::CompanyHandle,
    pub prefix: String,
}

impl DemoShop {
    /// How many Shopify levels differ from what BC says they should be.
    pub fn levels_off(&self, stack: &Stack, expected: impl Fn(usize, usize) -> i64) -> usize {
        let store = stack.shopify.store(&self.domain);
        let mut off = 0;
        for (i, item) in self.inventory_items.iter().enumerate() {
            for (l, loc) in self.locations.iter().enumerate() {
                if store.available(item, loc) != Some(expected(i, l)) {
                    off += 1;
                }
            }
        }
        off
    }

    /// How many levels were adjusted more than once (must be zero when BC does not change).
    pub fn double_applied(&self, stack: &Stack) -> usize {
        let mut seen = std::collections::HashMap::new();
        for a in stack.shopify.store(&self.domain).adjustment_log() {
            *seen
                .entry((a.inventory_item_id, a.location_id))
                .or_insert(0) += 1;
        }
        seen.values().filter(|n| **n > 1).count()
    }
}

/// Epoch milliseconds of a schedule tick, `minutes` after a fixed origin.
pub fn tick_at(minutes: i64) -> i64 {
    1_795_000_000_000 + minutes * 60_000
}
