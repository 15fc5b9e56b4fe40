//! SecretsManagerSource against moto.

mod common;

use aws_sdk_secretsmanager::Client;
use shopsync_aws::SecretsManagerSource;
use shopsync_domain::SyncError;
use shopsync_domain::ports::SecretSource;
use std::time::Duration;

#[tokio::test]
async fn secrets_round_trip_and_missing_ones_are_not_found() {
    let sdk = common::sdk().await;
    let client = Client::new(&sdk);
    let id = format!("shopsync/{}/shopify", common::unique("S"));
    client
        .create_secret()
        .name(&id)
        .secret_string("shpat_test_value")
        .send()
        .await
        .unwrap();

    let source = SecretsManagerSource::new(&sdk);
    assert_eq!(source.secret(&id).await.unwrap(), "shpat_test_value");

    // Cached for a while by default; without the cache a rotation is visible at once.
    client
        .put_secret_value()
        .secret_id(&id)
        .secret_string("rotated")
        .send()
        .await
        .unwrap();
    assert_eq!(source.secret(&id).await.unwrap(), "shpat_test_value");
    let uncached = SecretsManagerSource::new(&sdk).with_cache_ttl(Duration::ZERO);
    assert_eq!(uncached.secret(&id).await.unwrap(), "rotated");

    let err = uncached.secret("shopsync/none/such").await.unwrap_err();
    assert!(
        matches!(err, SyncError::NotFound(ref m) if m.contains("shopsync/none/such")),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    assert!(
        !format!("{source:?}").contains("shpat_"),
        "Debug must not print secret values"
    );
}
