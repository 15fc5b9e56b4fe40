//! Client construction and configuration.
//!
//! One [`ShopifyClient`] talks to one store with one token; the [`Pacer`] it is given is the
//! store's shared bucket model (take it from [`PacerRegistry`](crate::PacerRegistry) so that every
//! client of the same store in the process paces together). The URL comes from a template so the
//! same binary talks to Shopify or to the simulator.

use crate::documents::API_VERSION;
use crate::error::ShopifyError;
use crate::pacer::Pacer;
use crate::retry::Backoff;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Shopify's endpoint; `{shop_domain}` and `{version}` are substituted.
pub const DEFAULT_URL_TEMPLATE: &str = "https://{shop_domain}/admin/api/{version}/graphql.json";

/// How a client reaches a store and how patient it is.
#[derive(Clone)]
pub struct ShopifyClientConfig {
    /// Full GraphQL endpoint URL.
    pub graphql_url: String,
    /// Sent as `X-Shopify-Access-Token`; redacted from `Debug` and never logged.
    pub access_token: String,
    /// Retries after the first attempt for THROTTLED/429/502/503/504/transport failures.
    pub max_retries: u32,
    /// Timeout of one HTTP exchange (connect to end of body).
    pub request_timeout: Duration,
    /// Catalogues with more variants than this are read with a bulk operation.
    pub bulk_threshold: usize,
    /// Pause between `bulkOperation(id)` polls.
    pub bulk_poll_interval: Duration,
    /// Give up waiting for a bulk operation after this long (the job is retried later).
    pub bulk_timeout: Duration,
    /// Backoff for 5xx and transport failures.
    pub backoff: Backoff,
}

impl fmt::Debug for ShopifyClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShopifyClientConfig")
            .field("graphql_url", &self.graphql_url)
            .field("access_token", &"<redacted>")
            .field("max_retries", &self.max_retries)
            .field("request_timeout", &self.request_timeout)
            .field("bulk_threshold", &self.bulk_threshold)
            .field("bulk_poll_interval", &self.bulk_poll_interval)
            .field("bulk_timeout", &self.bulk_timeout)
            .field("backoff", &self.backoff)
            .finish()
    }
}

impl ShopifyClientConfig {
    /// A config with production defaults for `store_domain` (e.g. `acme.myshopify.com`), its URL
    /// built from `url_template` ([`DEFAULT_URL_TEMPLATE`] for Shopify).
    pub fn for_store(
        url_template: &str,
        store_domain: &str,
        access_token: impl Into<String>,
    ) -> Self {
        let graphql_url = url_template
            .replace("{shop_domain}", store_domain.trim())
            .replace("{version}", API_VERSION);
        ShopifyClientConfig {
            graphql_url,
            access_token: access_token.into(),
            max_retries: 6,
            request_timeout: Duration::from_secs(30),
            bulk_threshold: 2_000,
            bulk_poll_interval: Duration::from_secs(2),
            bulk_timeout: Duration::from_secs(600),
            backoff: Backoff::default(),
        }
    }
}

/// The Shopify Admin GraphQL client of one store.
pub struct ShopifyClient {
    pub(crate) config: ShopifyClientConfig,
    pub(crate) http: reqwest::Client,
    pub(crate) pacer: Arc<Pacer>,
    pub(crate) points_used: Mutex<f64>,
    pub(crate) throttled: AtomicU64,
    pub(crate) http_attempts: AtomicU64,
    /// Milliseconds spent waiting for the store's cost bucket before sending.
    pub(crate) throttle_wait_ms: AtomicU64,
}

impl fmt::Debug for ShopifyClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShopifyClient")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl ShopifyClient {
    pub fn new(config: ShopifyClientConfig, pacer: Arc<Pacer>) -> Result<Self, ShopifyError> {
        if config.access_token.trim().is_empty() {
            return Err(ShopifyError::InvalidRequest(
                "empty Shopify access token".into(),
            ));
        }
        let http = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .connect_timeout(config.request_timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| ShopifyError::Unexpected(format!("cannot build the HTTP client: {e}")))?;
        Ok(ShopifyClient {
            config,
            http,
            pacer,
            points_used: Mutex::new(0.0),
            throttled: AtomicU64::new(0),
            http_attempts: AtomicU64::new(0),
            throttle_wait_ms: AtomicU64::new(0),
        })
    }

    pub fn config(&self) -> &ShopifyClientConfig {
        &self.config
    }

    pub fn pacer(&self) -> &Arc<Pacer> {
        &self.pacer
    }

    /// THROTTLED answers and HTTP 429s seen by this client (should stay 0 in steady state).
    pub fn throttled_count(&self) -> u64 {
        self.throttled.load(Ordering::Relaxed)
    }

    /// HTTP requests this client sent to the GraphQL endpoint, retries included.
    pub fn http_attempts(&self) -> u64 {
        self.http_attempts.load(Ordering::Relaxed)
    }

    /// Milliseconds this client waited for the store's cost bucket (pacing and throttle back-off).
    pub fn throttle_wait_ms(&self) -> u64 {
        self.throttle_wait_ms.load(Ordering::Relaxed)
    }

    /// Sum of `actualQueryCost` over every answer this client received.
    pub fn cost_points_used(&self) -> f64 {
        *self.points_used.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn add_points(&self, points: f64) {
        *self.points_used.lock().unwrap_or_else(|e| e.into_inner()) += points;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_template_and_redaction() {
        let c = ShopifyClientConfig::for_store(
            DEFAULT_URL_TEMPLATE,
            "acme.myshopify.com",
            "shpat_secret",
        );
        assert_eq!(
            c.graphql_url,
            "https://acme.myshopify.com/admin/api/2026-07/graphql.json"
        );
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("shpat_secret"), "{dbg}");
        assert!(dbg.contains("<redacted>"));
        let c = ShopifyClientConfig::for_store(
            "http://127.0.0.1:9/{shop_domain}/{version}",
            "s",
            "tok_secret",
        );
        assert_eq!(c.graphql_url, "http://127.0.0.1:9/s/2026-07");
        let client = ShopifyClient::new(c, Arc::new(Pacer::new())).unwrap();
        assert!(!format!("{client:?}").contains("tok_secret"));
    }
}
