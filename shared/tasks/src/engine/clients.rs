//! Per-shop Shopify and BC clients, built from the shop's settings and its two secrets, and kept per
//! warm container so that a run does not redo the TLS handshakes and the BC token fetch.
//!
//! A cached client is only reused while it still matches what it was built from: the store domain,
//! the BC tenant, environment and company, the secret ids, and the secret values themselves (their
//! hash stands in for the secret's version). Each job re-reads the shop's settings and asks the
//! secret source for both secrets — served from its short cache, so this costs no call most of the
//! time — and a changed store, secret id or rotated credential builds new clients at once instead of
//! sending the next job to the old store with the old token until something fails.
//!
//! Endpoints are configuration, so the same binary talks to Shopify and BC online, to a proxy, or to
//! the simulators: `SHOPIFY_URL_TEMPLATE` (default `https://{shop_domain}/admin/api/{version}/graphql.json`),
//! `BC_API_BASE_URL` and `BC_TOKEN_URL_TEMPLATE` (defaults: BC online and Microsoft Entra ID). The
//! client builders check every settings value that lands in a URL and the host of each built URL
//! before a credential is attached.

use async_trait::async_trait;
use serde::Deserialize;
use shopsync_bc::{BcClient, BcConfig};
use shopsync_domain::SyncError;
use shopsync_domain::b2b_catalogs::ShopifyB2bCatalogsApi;
use shopsync_domain::catalog::ShopifyCatalogApi;
use shopsync_domain::companies::ShopifyCompaniesApi;
use shopsync_domain::customers::{BcCustomersApi, ShopifyCustomersApi};
use shopsync_domain::items::BcItemsApi;
use shopsync_domain::orders::ShopifyOrdersApi;
use shopsync_domain::ports::{
    BcInventoryApi, LedgerEntry, Result, SecretSource, ShopifyInventoryApi, ShopifyUsage,
};
use shopsync_domain::sales::BcSalesApi;
use shopsync_domain::settings::ShopSettings;
use shopsync_shopify::{PacerRegistry, ShopifyClient, ShopifyClientConfig};
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

/// Everything a task may ask of Shopify: the capability ports of `shopsync_domain::ports`, which the
/// Shopify client implements (and test doubles can). One supertrait per capability, so a task reaches
/// every port through the same `run.clients.shopify` and a double that a task does not use answers
/// `unreachable!` for it.
pub trait ShopifyApi:
    ShopifyInventoryApi
    + ShopifyOrdersApi
    + ShopifyCatalogApi
    + ShopifyCustomersApi
    + ShopifyCompaniesApi
    + ShopifyB2bCatalogsApi
    + ShopifyUsage
{
}
impl<
    T: ShopifyInventoryApi
        + ShopifyOrdersApi
        + ShopifyCatalogApi
        + ShopifyCustomersApi
        + ShopifyCompaniesApi
        + ShopifyB2bCatalogsApi
        + ShopifyUsage,
> ShopifyApi for T
{
}

/// Everything a task may ask of Business Central.
pub trait BcApi: BcInventoryApi + BcSalesApi + BcItemsApi + BcCustomersApi {}
impl<T: BcInventoryApi + BcSalesApi + BcItemsApi + BcCustomersApi> BcApi for T {}

/// The two API clients of one shop, as tasks see them.
#[derive(Clone)]
pub struct ShopClients {
    pub shopify: Arc<dyn ShopifyApi>,
    pub bc: Arc<dyn BcApi>,
}

/// Where the engine gets a shop's clients.
#[async_trait]
pub trait ClientSource: Send + Sync {
    async fn clients(&self, settings: &ShopSettings) -> Result<ShopClients>;
    /// Drop what is cached for the shop (after an auth error: the token may have been revoked).
    fn forget(&self, shop: &str);
}

/// The concrete clients of one shop.
#[derive(Clone)]
pub struct BuiltClients {
    pub shopify: Arc<ShopifyClient>,
    pub bc: Arc<BcClient>,
}

#[async_trait]
impl ClientSource for ClientFactory {
    async fn clients(&self, settings: &ShopSettings) -> Result<ShopClients> {
        let built = self.for_shop(settings).await?;
        Ok(ShopClients {
            shopify: built.shopify,
            bc: built.bc,
        })
    }

    fn forget(&self, shop: &str) {
        ClientFactory::forget(self, shop);
    }
}

/// Builds and caches a shop's clients, keyed by what they were built from.
pub struct ClientFactory {
    secrets: Arc<dyn SecretSource>,
    endpoints: Endpoints,
    pacers: &'static PacerRegistry,
    /// Shop code → (fingerprint of what the clients were built from, the clients).
    cache: Mutex<HashMap<String, (String, BuiltClients)>>,
    built: std::sync::atomic::AtomicU64,
}

impl ClientFactory {
    pub fn new(secrets: Arc<dyn SecretSource>, endpoints: Endpoints) -> ClientFactory {
        ClientFactory {
            secrets,
            endpoints,
            pacers: PacerRegistry::global(),
            cache: Mutex::new(HashMap::new()),
            built: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// How many client pairs this factory has built (cache misses).
    pub fn built(&self) -> u64 {
        self.built.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The shop's clients: the cached pair if it was built from exactly these settings and secrets,
    /// else a new pair.
    pub async fn for_shop(&self, settings: &ShopSettings) -> Result<BuiltClients> {
        let shop = &settings.code;
        let shopify_secret = self
            .secrets
            .secret(shop, &settings.shopify.access_token_secret_id)
            .await?;
        let bc_secret = self
            .secrets
            .secret(shop, &settings.bc.credentials_secret_id)
            .await?;
        let fingerprint = LedgerEntry::sha256_hex(
            &serde_json::json!([
                settings.shopify.store_domain,
                settings.shopify.api_version,
                settings.shopify.access_token_secret_id,
                LedgerEntry::sha256_hex(&shopify_secret),
                settings.bc.tenant,
                settings.bc.environment,
                settings.bc.company_id,
                settings.bc.credentials_secret_id,
                LedgerEntry::sha256_hex(&bc_secret),
            ])
            .to_string(),
        );
        if let Some((built_from, clients)) = self.lock()?.get(shop)
            && *built_from == fingerprint
        {
            return Ok(clients.clone());
        }
        let clients = self.build(settings, &shopify_secret, &bc_secret)?;
        self.built
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.lock()?
            .insert(shop.clone(), (fingerprint, clients.clone()));
        Ok(clients)
    }

    /// Drop the shop's cached clients (after an auth error: the token may have been revoked).
    pub fn forget(&self, shop: &str) {
        if let Ok(mut cache) = self.lock() {
            cache.remove(shop);
        }
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, HashMap<String, (String, BuiltClients)>>> {
        self.cache
            .lock()
            .map_err(|_| SyncError::Internal("client cache poisoned".into()))
    }

    fn build(
        &self,
        settings: &ShopSettings,
        shopify_secret: &str,
        bc_secret: &str,
    ) -> Result<BuiltClients> {
        let mut shopify_config = ShopifyClientConfig::for_store(
            &self.endpoints.shopify_url_template,
            &settings.shopify.store_domain,
            shopify_token(shopify_secret),
        )
        .map_err(|e| SyncError::Settings(format!("Shopify client: {e}")))?;
        shopify_config.bulk_poll_interval = self.endpoints.shopify_bulk_poll;
        shopify_config.bulk_threshold = self.endpoints.shopify_bulk_threshold;
        let shopify = ShopifyClient::new(
            shopify_config,
            self.pacers.pacer_for(&settings.shopify.store_domain),
        )
        .map_err(|e| SyncError::Settings(format!("Shopify client: {e}")))?;
        let creds: BcCredentials = serde_json::from_str(bc_secret).map_err(|_| {
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
        Ok(BuiltClients {
            shopify: Arc::new(shopify),
            bc: Arc::new(bc),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Secrets in memory, readable by any shop for the test's purposes (the id check is the
    /// adapter's; here it is the cache that is under test).
    #[derive(Default)]
    struct Secrets(Mutex<HashMap<String, String>>);

    #[async_trait]
    impl SecretSource for Secrets {
        async fn secret(&self, _shop: &str, id: &str) -> Result<String> {
            self.0
                .lock()
                .unwrap()
                .get(id)
                .cloned()
                .ok_or_else(|| SyncError::NotFound(id.into()))
        }
    }

    fn settings(domain: &str, shopify_secret: &str) -> ShopSettings {
        ShopSettings::from_json(
            &serde_json::json!({
                "code": "S1",
                "shopify": {"store_domain": domain, "access_token_secret_id": shopify_secret},
                "bc": {"tenant": "contoso", "environment": "production",
                       "company_id": "5d5d2b5a-6a47-4d36-9a55-4f4c0f0e1a01",
                       "credentials_secret_id": "shopsync/S1/bc"}
            })
            .to_string(),
        )
        .unwrap()
    }

    #[tokio::test]
    async fn clients_follow_the_settings_and_the_secrets_they_were_built_from() {
        let secrets = Arc::new(Secrets::default());
        let put = |id: &str, v: &str| {
            secrets.0.lock().unwrap().insert(id.into(), v.into());
        };
        put("shopsync/S1/shopify", "shpat_one");
        put("shopsync/S1/shopify-2", "shpat_two");
        put("shopsync/S1/bc", r#"{"client_id":"c","client_secret":"s"}"#);
        let factory = ClientFactory::new(secrets.clone(), Endpoints::default());

        let a = settings("a.myshopify.com", "shopsync/S1/shopify");
        let first = factory.for_shop(&a).await.unwrap();
        let again = factory.for_shop(&a).await.unwrap();
        assert!(
            Arc::ptr_eq(&first.shopify, &again.shopify),
            "unchanged: reused"
        );
        assert_eq!(factory.built(), 1);

        // The store moved: the next job talks to the new store at once.
        let b = settings("b.myshopify.com", "shopsync/S1/shopify");
        let moved = factory.for_shop(&b).await.unwrap();
        assert!(
            moved
                .shopify
                .config()
                .graphql_url
                .contains("//b.myshopify.com/")
        );
        assert_eq!(factory.built(), 2);

        // Another secret id, then a rotated value under the same id.
        let c = settings("b.myshopify.com", "shopsync/S1/shopify-2");
        let other = factory.for_shop(&c).await.unwrap();
        assert_eq!(other.shopify.config().access_token, "shpat_two");
        put("shopsync/S1/shopify-2", "shpat_three");
        let rotated = factory.for_shop(&c).await.unwrap();
        assert_eq!(rotated.shopify.config().access_token, "shpat_three");
        assert_eq!(factory.built(), 4);
        factory.for_shop(&c).await.unwrap();
        assert_eq!(factory.built(), 4);
    }
}
