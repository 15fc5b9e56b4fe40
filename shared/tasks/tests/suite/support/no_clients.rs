// Shared by the engine's integration tests (`include!`d; not a test target of its own).

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

shopsync_test_support::unused_shopify_orders_api!(NoApis);
shopsync_test_support::unused_shopify_inventory_api!(NoApis);
shopsync_test_support::no_shopify_usage!(NoApis);
shopsync_test_support::unused_shopify_catalog_api!(NoApis);
shopsync_test_support::unused_shopify_companies_api!(NoApis);
shopsync_test_support::unused_shopify_b2b_catalogs_api!(NoApis);
shopsync_test_support::unused_shopify_customers_api!(NoApis);

shopsync_test_support::unused_bc_sales_api!(NoApis);
shopsync_test_support::unused_bc_inventory_api!(NoApis);
shopsync_test_support::unused_bc_items_api!(NoApis);
shopsync_test_support::unused_bc_customers_api!(NoApis);
