//! [`MemorySecrets`]: a map of secret id → value behind [`SecretSource`].
//!
//! The shop-prefix rule is the point of the port (the functions' role may read every `shopsync/*`
//! secret, so the adapter is where one shop is kept from another's credentials), so the double
//! applies it exactly as `shopsync_aws::secrets::SecretsManagerSource` does: through
//! [`check_shop_secret_id`], before any call (no fault, no count), with the same
//! `SyncError::Settings` message. A missing secret is `SyncError::NotFound` as in the adapter.
//!
//! Deliberate difference: ids are looked up as given. Secrets Manager resolves a name and its ARN
//! (with its random 6-character suffix) to one secret; here, register the id the code under test
//! will ask for. There is no cache, so a changed value is seen at once (the adapter caches values
//! for a few minutes).

use crate::{Faults, op};
use async_trait::async_trait;
use shopsync_domain::SyncError;
use shopsync_domain::patterns::check_shop_secret_id;
use shopsync_domain::ports::{Result, SecretSource};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// [`SecretSource`] on a map. Clones share the map. `Debug` never prints values.
#[derive(Clone, Default)]
pub struct MemorySecrets {
    values: Arc<Mutex<HashMap<String, String>>>,
    faults: Faults,
}

impl std::fmt::Debug for MemorySecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemorySecrets")
            .field("ids", &self.lock().keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl MemorySecrets {
    pub fn new() -> MemorySecrets {
        MemorySecrets::default()
    }

    pub fn with_faults(mut self, faults: Faults) -> MemorySecrets {
        self.faults = faults;
        self
    }

    /// Builder form of [`insert`](Self::insert).
    pub fn with(self, id: &str, value: &str) -> MemorySecrets {
        self.insert(id, value);
        self
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, String>> {
        self.values.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Store (or rotate) a secret. Any id may be stored, also one no shop may read.
    pub fn insert(&self, id: &str, value: &str) {
        self.lock().insert(id.to_string(), value.to_string());
    }

    pub fn remove(&self, id: &str) {
        self.lock().remove(id);
    }

    pub fn faults(&self) -> &Faults {
        &self.faults
    }
}

#[async_trait]
impl SecretSource for MemorySecrets {
    async fn secret(&self, shop: &str, id: &str) -> Result<String> {
        check_shop_secret_id(shop, id)
            .map_err(|e| SyncError::Settings(format!("secret id for shop {shop} {e}")))?;
        self.faults.run(op::SECRET, || {
            self.lock().get(id).cloned().ok_or_else(|| {
                SyncError::NotFound(format!("secret '{id}' does not exist in Secrets Manager"))
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_shop_reads_only_its_own_secrets() {
        let secrets = MemorySecrets::new()
            .with("shopsync/A/shopify", "token-a")
            .with("shopsync/B/shopify", "token-b");
        assert_eq!(
            secrets.secret("A", "shopsync/A/shopify").await.unwrap(),
            "token-a"
        );
        let err = secrets.secret("A", "shopsync/B/shopify").await.unwrap_err();
        assert!(matches!(err, SyncError::Settings(_)), "{err:?}");
        assert!(err.to_string().contains("shopsync/A/"), "{err}");
        assert!(matches!(
            secrets.secret("A", "shpat_abc").await,
            Err(SyncError::Settings(_))
        ));
        assert_eq!(
            secrets.faults().calls(op::SECRET),
            1,
            "refused ids never reach the service"
        );
    }

    #[tokio::test]
    async fn missing_secrets_and_faults_are_errors_of_their_kind() {
        let secrets = MemorySecrets::new().with("shopsync/A/bc", "v1");
        assert!(matches!(
            secrets.secret("A", "shopsync/A/shopify").await,
            Err(SyncError::NotFound(_))
        ));
        secrets
            .faults()
            .fail_next(op::SECRET, 1, Faults::unavailable());
        assert!(
            secrets
                .secret("A", "shopsync/A/bc")
                .await
                .unwrap_err()
                .is_retryable()
        );
        secrets.insert("shopsync/A/bc", "v2");
        assert_eq!(secrets.secret("A", "shopsync/A/bc").await.unwrap(), "v2");
        assert!(
            !format!("{secrets:?}").contains("v2"),
            "values never printed"
        );
    }
}
