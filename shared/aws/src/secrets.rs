//! Secrets from AWS Secrets Manager.
//!
//! Settings hold only secret *ids*; the values are fetched at run time with the function's role
//! (scoped to `shopsync/*` in the template); each read is for one shop and only ids under that shop's
//! own prefix `shopsync/<shop>/` are fetched. Values are cached for a few minutes per warm Lambda
//! container — a sync run asks for the same two secrets on every page, and `GetSecretValue` is billed
//! and rate-limited — but not forever, so a rotated credential is picked up without a redeploy.
//! Values are never logged.

use crate::errors::storage;
use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;
use shopsync_domain::SyncError;
use shopsync_domain::ports::{Result, SecretSource};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a fetched secret is served from memory by default.
pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(300);

pub struct SecretsManagerSource {
    client: Client,
    ttl: Duration,
    cache: Mutex<HashMap<String, (Instant, String)>>,
}

impl std::fmt::Debug for SecretsManagerSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print cached values.
        f.debug_struct("SecretsManagerSource")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl SecretsManagerSource {
    pub fn new(sdk: &SdkConfig) -> SecretsManagerSource {
        SecretsManagerSource::from_client(Client::new(sdk))
    }

    pub fn from_client(client: Client) -> SecretsManagerSource {
        SecretsManagerSource {
            client,
            ttl: DEFAULT_CACHE_TTL,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Change how long values are cached; `Duration::ZERO` disables the cache.
    pub fn with_cache_ttl(mut self, ttl: Duration) -> SecretsManagerSource {
        self.ttl = ttl;
        self
    }

    fn cached(&self, id: &str) -> Option<String> {
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache
            .get(id)
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, v)| v.clone())
    }
}

#[async_trait]
impl SecretSource for SecretsManagerSource {
    async fn secret(&self, shop: &str, id: &str) -> Result<String> {
        // Checked again here, not only when settings are saved: the function's role may read every
        // `shopsync/*` secret, so this is where one shop is kept from another's credentials.
        shopsync_domain::patterns::check_shop_secret_id(shop, id)
            .map_err(|e| SyncError::Settings(format!("secret id for shop {shop} {e}")))?;
        if let Some(v) = self.cached(id) {
            return Ok(v);
        }
        let out = match self.client.get_secret_value().secret_id(id).send().await {
            Ok(out) => out,
            Err(e)
                if e.as_service_error()
                    .is_some_and(GetSecretValueError::is_resource_not_found_exception) =>
            {
                return Err(SyncError::NotFound(format!(
                    "secret '{id}' does not exist in Secrets Manager"
                )));
            }
            Err(e) => return Err(storage(&format!("GetSecretValue '{id}'"), e)),
        };
        let value = out.secret_string().map(str::to_string).ok_or_else(|| {
            SyncError::Settings(format!(
                "secret '{id}' has no string value (binary secrets are not supported)"
            ))
        })?;
        if !self.ttl.is_zero() {
            self.cache
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(id.to_string(), (Instant::now(), value.clone()));
        }
        Ok(value)
    }
}
