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
use std::time::{Duration, Instant};

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
    ///
    /// The store domain must be one DNS label then `.myshopify.com`
    /// ([`is_store_domain`](shopsync_domain::patterns::is_store_domain)); it is percent-encoded where
    /// it lands, and the built URL is parsed and its host compared with the host the template names
    /// before the config (and so the access token) can be used. A domain that would move the request
    /// to another host (`evil.example?.myshopify.com`) is refused here.
    pub fn for_store(
        url_template: &str,
        store_domain: &str,
        access_token: impl Into<String>,
    ) -> Result<Self, ShopifyError> {
        let graphql_url = store_url(url_template, store_domain)?;
        Ok(ShopifyClientConfig {
            graphql_url,
            access_token: access_token.into(),
            max_retries: 6,
            request_timeout: Duration::from_secs(30),
            bulk_threshold: 2_000,
            bulk_poll_interval: Duration::from_secs(2),
            bulk_timeout: Duration::from_secs(600),
            backoff: crate::retry::DEFAULT_BACKOFF,
        })
    }
}

/// The GraphQL URL of `store_domain` from `url_template`, with its host checked.
fn store_url(url_template: &str, store_domain: &str) -> Result<String, ShopifyError> {
    use shopsync_domain::patterns::{is_store_domain, template_host};
    let bad = |why: String| ShopifyError::InvalidRequest(why);
    if !is_store_domain(store_domain) {
        return Err(bad(
            "the store domain must be '<store>.myshopify.com' with <store> one lower-case DNS label"
                .into(),
        ));
    }
    // A validated domain encodes to itself; encoding anyway keeps any future slack from reaching the
    // URL's structure.
    let domain = encode_segment(store_domain);
    let vars = [
        ("{shop_domain}", domain.as_str()),
        ("{version}", API_VERSION),
    ];
    let expected = template_host(url_template, &vars)
        .ok_or_else(|| bad("the Shopify URL template has no host".into()))?;
    let built = vars
        .iter()
        .fold(url_template.to_string(), |url, (k, v)| url.replace(k, v));
    let parsed = reqwest::Url::parse(&built)
        .map_err(|e| bad(format!("the Shopify URL is not a URL: {e}")))?;
    let host_ok = parsed
        .host_str()
        .is_some_and(|h| h.eq_ignore_ascii_case(&expected));
    if !host_ok
        || !parsed.username().is_empty()
        || parsed.password().is_some()
        || !matches!(parsed.scheme(), "https" | "http")
    {
        return Err(bad(format!(
            "the Shopify URL for this store would go to {:?}, not {expected:?}; refusing to send the token",
            parsed.host_str().unwrap_or("")
        )));
    }
    Ok(built)
}

/// Percent-encode all but RFC 3986 unreserved characters.
fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
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
    /// The catalogue size one read learned, for the next read of the same run (see
    /// `ShopifyClient::catalogue_size`).
    pub(crate) catalogue_size: Mutex<Option<(u64, Instant)>>,
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
            catalogue_size: Mutex::new(None),
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

impl shopsync_domain::ports::ShopifyUsage for ShopifyClient {
    fn cost_points_used(&self) -> f64 {
        ShopifyClient::cost_points_used(self)
    }

    fn throttle_wait_ms(&self) -> u64 {
        ShopifyClient::throttle_wait_ms(self)
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
        )
        .unwrap();
        assert_eq!(
            c.graphql_url,
            "https://acme.myshopify.com/admin/api/2026-07/graphql.json"
        );
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("shpat_secret"), "{dbg}");
        assert!(dbg.contains("<redacted>"));
        let c = ShopifyClientConfig::for_store(
            "http://127.0.0.1:9/{shop_domain}/{version}",
            "s.myshopify.com",
            "tok_secret",
        )
        .unwrap();
        assert_eq!(c.graphql_url, "http://127.0.0.1:9/s.myshopify.com/2026-07");
        let client = ShopifyClient::new(c, Arc::new(Pacer::new())).unwrap();
        assert!(!format!("{client:?}").contains("tok_secret"));
    }

    #[test]
    fn a_store_domain_cannot_move_the_request_to_another_host() {
        for evil in [
            "evil.example?.myshopify.com",
            "evil.example#.myshopify.com",
            "evil.example\\.myshopify.com",
            "169.254.169.254?.myshopify.com",
            "x@evil.example?.myshopify.com",
            "evil.example/.myshopify.com",
            "a.b.myshopify.com",
        ] {
            for template in [
                DEFAULT_URL_TEMPLATE,
                "http://127.0.0.1:9/{shop_domain}/{version}",
            ] {
                let err = ShopifyClientConfig::for_store(template, evil, "shpat_x").unwrap_err();
                assert!(
                    matches!(err, ShopifyError::InvalidRequest(_)),
                    "{evil}: {err:?}"
                );
            }
        }
        // A template whose host is not what it seems is refused too.
        let err = ShopifyClientConfig::for_store(
            "https://user@{shop_domain}/admin/api/{version}/graphql.json",
            "acme.myshopify.com",
            "shpat_x",
        )
        .unwrap_err();
        assert!(matches!(err, ShopifyError::InvalidRequest(_)), "{err:?}");
    }
}
