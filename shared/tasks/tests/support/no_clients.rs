// Shared by the engine's integration tests (`include!`d; not a test target of its own).

use async_trait::async_trait;
use shopsync_domain::inventory::{
    BcAvailability, BcItem, InventoryLevel, SetQuantitiesOutcome, SetQuantitiesRequest,
    ShopifyLocation, ShopifyVariant,
};
use shopsync_domain::ports::{BcInventoryApi, Result, ShopifyInventoryApi, ShopifyUsage};
use shopsync_tasks::engine::ShopClients;
use std::sync::Arc;

/// Clients for tasks that call no API.
pub fn no_clients() -> ShopClients {
    let apis = Arc::new(NoApis);
    ShopClients {
        shopify: apis.clone(),
        bc: apis,
    }
}

/// Clients the test task never calls.
pub struct NoApis;

#[async_trait]
impl ShopifyInventoryApi for NoApis {
    async fn locations(&self) -> Result<Vec<ShopifyLocation>> {
        unreachable!("not used by this task")
    }
    async fn variants(&self) -> Result<Vec<ShopifyVariant>> {
        unreachable!("not used by this task")
    }
    async fn levels_at(&self, _location_id: &str) -> Result<Vec<InventoryLevel>> {
        unreachable!("not used by this task")
    }
    async fn levels_of(
        &self,
        _keys: &[shopsync_domain::inventory::LevelKey<'_>],
    ) -> Result<Vec<InventoryLevel>> {
        unreachable!("not used by this task")
    }
    async fn set_quantities(&self, _r: &SetQuantitiesRequest) -> Result<SetQuantitiesOutcome> {
        unreachable!("not used by this task")
    }
}

impl ShopifyUsage for NoApis {
    fn cost_points_used(&self) -> f64 {
        0.0
    }
    fn throttle_wait_ms(&self) -> u64 {
        0
    }
}

#[async_trait]
impl BcInventoryApi for NoApis {
    async fn items(&self) -> Result<Vec<BcItem>> {
        unreachable!("not used by this task")
    }
    async fn availability(
        &self,
        _page: &str,
        _company: &str,
        _codes: &[String],
    ) -> Result<Vec<BcAvailability>> {
        unreachable!("not used by this task")
    }
}

shopsync_test_support::unused_shopify_orders_api!(NoApis);

shopsync_test_support::unused_bc_sales_api!(NoApis);
