//! SecretsManagerSource against moto.

use crate::common;

use aws_sdk_secretsmanager::Client;
use shopsync_aws::SecretsManagerSource;
use shopsync_domain::SyncError;
use shopsync_domain::ports::SecretSource;
use std::time::Duration;

#[tokio::test]
async fn secrets_round_trip_and_missing_ones_are_not_found() {
    let sdk = common::sdk().await;
    let client = Client::new(&sdk);
    let shop = common::unique("S");
    let id = format!("shopsync/{shop}/shopify");
    client
        .create_secret()
        .name(&id)
        .secret_string("shpat_test_value")
        .send()
        .await
        .unwrap();

    let source = SecretsManagerSource::new(&sdk);
    assert_eq!(source.secret(&shop, &id).await.unwrap(), "shpat_test_value");

    // Cached for a while by default; without the cache a rotation is visible at once.
    client
        .put_secret_value()
        .secret_id(&id)
        .secret_string("rotated")
        .send()
        .await
        .unwrap();
    assert_eq!(source.secret(&shop, &id).await.unwrap(), "shpat_test_value");
    let uncached = SecretsManagerSource::new(&sdk).with_cache_ttl(Duration::ZERO);
    assert_eq!(uncached.secret(&shop, &id).await.unwrap(), "rotated");

    let missing = format!("shopsync/{shop}/none-such");
    let err = uncached.secret(&shop, &missing).await.unwrap_err();
    assert!(
        matches!(err, SyncError::NotFound(ref m) if m.contains("none-such")),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    assert!(
        !format!("{source:?}").contains("shpat_"),
        "Debug must not print secret values"
    );
}

#[tokio::test]
async fn a_shop_cannot_read_another_shops_secret() {
    let sdk = common::sdk().await;
    let client = Client::new(&sdk);
    let owner = common::unique("B");
    let id = format!("shopsync/{owner}/shopify");
    client
        .create_secret()
        .name(&id)
        .secret_string("shpat_owner_only")
        .send()
        .await
        .unwrap();
    let arn = client
        .describe_secret()
        .secret_id(&id)
        .send()
        .await
        .unwrap()
        .arn
        .unwrap();
    let source = SecretsManagerSource::new(&sdk);
    assert_eq!(
        source.secret(&owner, &arn).await.unwrap(),
        "shpat_owner_only"
    );
    let intruder = common::unique("A");
    for foreign in [id.as_str(), arn.as_str(), "other/prefix", ""] {
        let err = source.secret(&intruder, foreign).await.unwrap_err();
        assert!(matches!(err, SyncError::Settings(_)), "{foreign}: {err:?}");
        assert!(!err.is_retryable());
        assert!(!err.to_string().contains("shpat_"));
    }
}
