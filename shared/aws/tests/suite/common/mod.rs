//! Shared test setup: one moto per test binary, one freshly provisioned stack (from the SAM template)
//! per test, isolated by a unique name prefix.
#![allow(dead_code)]

use shopsync_aws::SdkConfig;
use shopsync_domain::ShopSettings;
use shopsync_localstack::MotoServer;
use shopsync_localstack::provision::{self, ProvisionOptions, ProvisionedResources};

pub fn unique(label: &str) -> String {
    format!(
        "{label}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

pub async fn sdk() -> SdkConfig {
    let moto = MotoServer::shared()
        .expect("moto_server must be available (set MOTO_SERVER or put it on PATH)");
    moto.sdk_config().await
}

pub async fn stack(label: &str) -> (SdkConfig, ProvisionedResources) {
    stack_with(ProvisionOptions::with_prefix(unique(label)).visibility_timeout(30)).await
}

pub async fn stack_with(opts: ProvisionOptions) -> (SdkConfig, ProvisionedResources) {
    let sdk = sdk().await;
    let resources = provision::provision(&sdk, &opts)
        .await
        .expect("provision the template into moto");
    (sdk, resources)
}

pub fn settings_json(code: &str) -> serde_json::Value {
    serde_json::json!({
        "code": code,
        "enabled": true,
        "sku_mapping": "item_no",
        "locations": [
            {"shopify_location_id": "gid://shopify/Location/1", "stock_calculation": "projected_available_balance", "bc_location_codes": ["EAST"]}
        ],
        "tasks": {"sync-inventory": {"enabled": true}},
        "shopify": {"store_domain": "demo.myshopify.com", "access_token_secret_id": format!("shopsync/{code}/shopify")},
        "bc": {"tenant": "t1", "environment": "production", "company_id": "5d5d2b5a-6a47-4d36-9a55-4f4c0f0e1a01", "credentials_secret_id": format!("shopsync/{code}/bc")}
    })
}

pub fn settings(code: &str) -> ShopSettings {
    ShopSettings::from_json(&settings_json(code).to_string()).expect("valid test settings")
}
