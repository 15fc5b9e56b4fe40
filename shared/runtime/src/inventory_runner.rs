//! Runs `sync-inventory` for a shop: fetches the shop's credentials from Secrets Manager, builds (and
//! caches per shop) the Shopify and BC clients, and calls the task logic.
//!
//! Endpoints are configuration, so the same binary talks to Shopify and BC online, to a proxy, or to
//! the simulators: `SHOPIFY_URL_TEMPLATE` (default `https://{shop_domain}/admin/api/{version}/graphql.json`),
//! `BC_API_BASE_URL` and `BC_TOKEN_URL_TEMPLATE` (defaults: BC online and Microsoft Entra ID).

use crate::{RunReport, TaskRunner};
use async_trait::async_trait;
use serde::Deserialize;
use shopsync_bc::{BcClient, BcConfig};
use shopsync_domain::job::{JobCounters, JobRecord};
use shopsync_domain::ports::*;
use shopsync_domain::settings::ShopSettings;
use shopsync_domain::status_ports::CueStore;
use shopsync_domain::{SyncError, TaskKind};
use shopsync_shopify::{PacerRegistry, ShopifyClient, ShopifyClientConfig};
use shopsync_tasks::inventory::{self, InventoryPorts};
use shopsync_tasks::{Progress, RunContext};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Where the external APIs are, and how the clients are tuned.
#[derive(Debug, Clone)]
pub struct Endpoints {
    pub shopify_url_template: String,
    pub bc_api_base_url: String,
    pub bc_token_url_template: String,
    /// Pause between bulk operation polls.
    pub shopify_bulk_poll: Duration,
    /// Variant count above which catalogues are read with a bulk operation.
    pub shopify_bulk_threshold: usize,
}

impl Default for Endpoints {
    fn default() -> Self {
        let bc = BcConfig::new("", "", "", "", "");
        Endpoints {
            shopify_url_template: shopsync_shopify::DEFAULT_URL_TEMPLATE.to_string(),
            bc_api_base_url: bc.api_base_url,
            bc_token_url_template: bc.token_url_template,
            shopify_bulk_poll: Duration::from_secs(2),
            shopify_bulk_threshold: 2_000,
        }
    }
}

impl Endpoints {
    /// Defaults overridden by `SHOPIFY_URL_TEMPLATE`, `BC_API_BASE_URL`, `BC_TOKEN_URL_TEMPLATE`,
    /// `SHOPIFY_BULK_POLL_MS`, `SHOPIFY_BULK_THRESHOLD`.
    pub fn from_env() -> Self {
        let mut e = Endpoints::default();
        let var = |n: &str| std::env::var(n).ok().filter(|v| !v.trim().is_empty());
        if let Some(v) = var("SHOPIFY_URL_TEMPLATE") {
            e.shopify_url_template = v;
        }
        if let Some(v) = var("BC_API_BASE_URL") {
            e.bc_api_base_url = v;
        }
        if let Some(v) = var("BC_TOKEN_URL_TEMPLATE") {
            e.bc_token_url_template = v;
        }
        if let Some(v) = var("SHOPIFY_BULK_POLL_MS").and_then(|v| v.parse().ok()) {
            e.shopify_bulk_poll = Duration::from_millis(v);
        }
        if let Some(v) = var("SHOPIFY_BULK_THRESHOLD").and_then(|v| v.parse().ok()) {
            e.shopify_bulk_threshold = v;
        }
        e
    }
}

/// The BC credentials secret: `{"client_id": "...", "client_secret": "..."}`.
#[derive(Deserialize)]
struct BcCredentials {
    client_id: String,
    client_secret: String,
}

/// The Shopify secret: the token itself, or `{"access_token": "..."}`.
fn shopify_token(secret: &str) -> String {
    #[derive(Deserialize)]
    struct Wrapped {
        access_token: String,
    }
    serde_json::from_str::<Wrapped>(secret)
        .map(|w| w.access_token)
        .unwrap_or_else(|_| secret.trim().to_string())
}

type Clients = (Arc<ShopifyClient>, Arc<BcClient>);

pub struct InventoryRunner {
    pub secrets: Arc<dyn SecretSource>,
    pub state: Arc<dyn InventoryStateStore>,
    pub ledger: Arc<dyn IdempotencyLedger>,
    pub skipped: Arc<dyn SkippedRecordStore>,
    /// Status board cue entries (unmapped products).
    pub cues: Arc<dyn CueStore>,
    pub endpoints: Endpoints,
    pub pacers: &'static PacerRegistry,
    clients: Mutex<HashMap<String, Clients>>,
}

impl InventoryRunner {
    /// `board` keeps what the status board shows: skipped records and cue entries.
    pub fn new<B>(
        secrets: Arc<dyn SecretSource>,
        state: Arc<dyn InventoryStateStore>,
        ledger: Arc<dyn IdempotencyLedger>,
        board: Arc<B>,
        endpoints: Endpoints,
    ) -> Self
    where
        B: SkippedRecordStore + CueStore + 'static,
    {
        InventoryRunner {
            secrets,
            state,
            ledger,
            skipped: board.clone(),
            cues: board,
            endpoints,
            pacers: PacerRegistry::global(),
            clients: Mutex::new(HashMap::new()),
        }
    }

    async fn clients_for(&self, settings: &ShopSettings) -> Result<Clients> {
        if let Some(c) = self
            .clients
            .lock()
            .map_err(|_| SyncError::Internal("client cache poisoned".into()))?
            .get(&settings.code)
        {
            return Ok(c.clone());
        }
        let token = shopify_token(
            &self
                .secrets
                .secret(&settings.shopify.access_token_secret_id)
                .await?,
        );
        let mut shopify_config = ShopifyClientConfig::for_store(
            &self.endpoints.shopify_url_template,
            &settings.shopify.store_domain,
            token,
        );
        shopify_config.bulk_poll_interval = self.endpoints.shopify_bulk_poll;
        shopify_config.bulk_threshold = self.endpoints.shopify_bulk_threshold;
        let shopify = ShopifyClient::new(
            shopify_config,
            self.pacers.pacer_for(&settings.shopify.store_domain),
        )
        .map_err(|e| SyncError::Settings(format!("Shopify client: {e}")))?;
        let bc_secret = self
            .secrets
            .secret(&settings.bc.credentials_secret_id)
            .await?;
        let creds: BcCredentials = serde_json::from_str(&bc_secret).map_err(|_| {
            SyncError::Settings(format!(
                "secret {} must be JSON with client_id and client_secret",
                settings.bc.credentials_secret_id
            ))
        })?;
        let bc_config = BcConfig::new(
            &settings.bc.tenant,
            &settings.bc.environment,
            &settings.bc.company_id,
            creds.client_id,
            creds.client_secret,
        )
        .with_endpoints(
            &self.endpoints.bc_api_base_url,
            &self.endpoints.bc_token_url_template,
        );
        let bc =
            BcClient::new(bc_config).map_err(|e| SyncError::Settings(format!("BC client: {e}")))?;
        let clients = (Arc::new(shopify), Arc::new(bc));
        self.clients
            .lock()
            .map_err(|_| SyncError::Internal("client cache poisoned".into()))?
            .insert(settings.code.clone(), clients.clone());
        Ok(clients)
    }

    fn forget_clients(&self, shop: &str) {
        if let Ok(mut cache) = self.clients.lock() {
            cache.remove(shop);
        }
    }
}

#[async_trait]
impl TaskRunner for InventoryRunner {
    fn task(&self) -> TaskKind {
        TaskKind::SyncInventory
    }

    async fn run(
        &self,
        settings: &ShopSettings,
        job: &JobRecord,
        progress: &dyn Progress,
    ) -> RunReport {
        let (shopify, bc) = match self.clients_for(settings).await {
            Ok(c) => c,
            Err(e) => return RunReport::failed(e),
        };
        let cost_before = shopify.cost_points_used();
        let wait_before = shopify.throttle_wait_ms();
        let ports = InventoryPorts {
            shopify: shopify.as_ref(),
            bc: bc.as_ref(),
            state: self.state.as_ref(),
            ledger: self.ledger.as_ref(),
            skipped: self.skipped.as_ref(),
            cues: self.cues.as_ref(),
        };
        let mut ctx = RunContext {
            settings,
            job,
            progress,
            counters: JobCounters::default(),
        };
        let result = inventory::run(&mut ctx, &ports).await;
        if matches!(result, Err(SyncError::Auth { .. })) {
            // Credentials may have been rotated: read the secrets again next time.
            self.forget_clients(&settings.code);
        }
        RunReport {
            result,
            counters: ctx.counters,
            cost_points: shopify.cost_points_used() - cost_before,
            throttle_wait_ms: shopify.throttle_wait_ms().saturating_sub(wait_before),
        }
    }
}
