//! Stand-ins for the API ports a test's task does not use. A task's test double implements the
//! ports the task calls; the client bundle (`ShopClients`) needs every port, so the rest come from
//! these macros instead of a copy of panicking methods in each test: `unused_shopify_orders_api!`,
//! `unused_shopify_inventory_api!`, `unused_bc_sales_api!`, `unused_bc_inventory_api!`, and
//! `no_shopify_usage!` for the usage every Shopify double reports.

/// Implements [`ShopifyOrdersApi`](shopsync_domain::orders::ShopifyOrdersApi) for a test double whose test never calls it: every
/// method panics, naming the port. One implementation for every double of the API ports that a
/// test's task does not use.
#[macro_export]
macro_rules! unused_shopify_orders_api {
    ($ty:ty) => {
        #[$crate::async_trait::async_trait]
        impl $crate::shopsync_domain::orders::ShopifyOrdersApi for $ty {
            async fn orders_updated_since(
                &self,
                _since: Option<&str>,
                _until: &str,
                _open_only: bool,
                _after: Option<&str>,
            ) -> $crate::shopsync_domain::ports::Result<
                $crate::shopsync_domain::orders::Page<
                    $crate::shopsync_domain::orders::ShopifyOrder,
                >,
            > {
                unreachable!("{} is not used by this test", "ShopifyOrdersApi")
            }
            async fn order(
                &self,
                _id: &str,
            ) -> $crate::shopsync_domain::ports::Result<
                Option<$crate::shopsync_domain::orders::ShopifyOrder>,
            > {
                unreachable!("{} is not used by this test", "ShopifyOrdersApi")
            }
            async fn order_fulfillments(
                &self,
                _order_id: &str,
            ) -> $crate::shopsync_domain::ports::Result<
                Option<Vec<$crate::shopsync_domain::orders::ShopifyFulfillment>>,
            > {
                unreachable!("{} is not used by this test", "ShopifyOrdersApi")
            }
            async fn fulfillment_create(
                &self,
                _request: &$crate::shopsync_domain::orders::FulfillmentRequest,
            ) -> $crate::shopsync_domain::ports::Result<
                $crate::shopsync_domain::orders::FulfillmentOutcome,
            > {
                unreachable!("{} is not used by this test", "ShopifyOrdersApi")
            }
            async fn order_set_custom_attributes(
                &self,
                _order_id: &str,
                _attributes: &[$crate::shopsync_domain::orders::OrderAttribute],
            ) -> $crate::shopsync_domain::ports::Result<
                $crate::shopsync_domain::orders::OrderUpdateOutcome,
            > {
                unreachable!("{} is not used by this test", "ShopifyOrdersApi")
            }
            async fn order_close(
                &self,
                _order_id: &str,
            ) -> $crate::shopsync_domain::ports::Result<
                $crate::shopsync_domain::orders::OrderCloseOutcome,
            > {
                unreachable!("{} is not used by this test", "ShopifyOrdersApi")
            }
            async fn payouts_since(
                &self,
                _since_legacy_id: Option<u64>,
                _after: Option<&str>,
            ) -> $crate::shopsync_domain::ports::Result<
                $crate::shopsync_domain::orders::Page<
                    $crate::shopsync_domain::orders::ShopifyPayout,
                >,
            > {
                unreachable!("{} is not used by this test", "ShopifyOrdersApi")
            }
            async fn balance_transactions_since(
                &self,
                _since: Option<&str>,
                _after: Option<&str>,
            ) -> $crate::shopsync_domain::ports::Result<
                $crate::shopsync_domain::orders::Page<
                    $crate::shopsync_domain::orders::BalanceTransaction,
                >,
            > {
                unreachable!("{} is not used by this test", "ShopifyOrdersApi")
            }
        }
    };
}

/// Implements [`BcSalesApi`](shopsync_domain::sales::BcSalesApi) for a test double whose test never calls it: every
/// method panics, naming the port. One implementation for every double of the API ports that a
/// test's task does not use.
#[macro_export]
macro_rules! unused_bc_sales_api {
    ($ty:ty) => {
        #[$crate::async_trait::async_trait]
        impl $crate::shopsync_domain::sales::BcSalesApi for $ty {
            async fn find_customer_by_email(
                &self,
                _email: &str,
            ) -> $crate::shopsync_domain::ports::Result<Vec<$crate::shopsync_domain::sales::BcCustomer>> {
                unreachable!("{} is not used by this test", "BcSalesApi")
            }
            async fn find_customer_by_phone(
                &self,
                _phone: &str,
            ) -> $crate::shopsync_domain::ports::Result<Vec<$crate::shopsync_domain::sales::BcCustomer>> {
                unreachable!("{} is not used by this test", "BcSalesApi")
            }
            async fn customer_template(
                &self,
                _number: &str,
            ) -> $crate::shopsync_domain::ports::Result<$crate::shopsync_domain::sales::CustomerDefaults> {
                unreachable!("{} is not used by this test", "BcSalesApi")
            }
            async fn create_customer(
                &self,
                _customer: &$crate::shopsync_domain::sales::NewCustomer,
            ) -> $crate::shopsync_domain::ports::Result<$crate::shopsync_domain::sales::BcCustomer> {
                unreachable!("{} is not used by this test", "BcSalesApi")
            }
            async fn create_sales_document(
                &self,
                _draft: &$crate::shopsync_domain::sales::SalesDocumentDraft,
            ) -> $crate::shopsync_domain::ports::Result<$crate::shopsync_domain::sales::SalesDocument> {
                unreachable!("{} is not used by this test", "BcSalesApi")
            }
            async fn find_sales_documents_by_external_number(
                &self,
                _number: &str,
            ) -> $crate::shopsync_domain::ports::Result<Vec<$crate::shopsync_domain::sales::SalesDocumentRef>> {
                unreachable!("{} is not used by this test", "BcSalesApi")
            }
            async fn posted_shipments_since(
                &self,
                _cursor: Option<&$crate::shopsync_domain::sales::ShipmentCursor>,
            ) -> $crate::shopsync_domain::ports::Result<$crate::shopsync_domain::sales::ShipmentBatch> {
                unreachable!("{} is not used by this test", "BcSalesApi")
            }
            async fn shipment_tracking(
                &self,
                _page: &str,
                _company_name: &str,
                _shipment_number: &str,
            ) -> $crate::shopsync_domain::ports::Result<Option<$crate::shopsync_domain::sales::ShipmentTracking>> {
                unreachable!("{} is not used by this test", "BcSalesApi")
            }
            async fn delete_sales_document(
                &self,
                _document: &$crate::shopsync_domain::sales::SalesDocumentRef,
            ) -> $crate::shopsync_domain::ports::Result<()> {
                unreachable!("{} is not used by this test", "BcSalesApi")
            }
        }
    };
}

/// Implements [`ShopifyInventoryApi`](shopsync_domain::ports::ShopifyInventoryApi) for a test double whose test never calls it:
/// every method panics, naming the port. One implementation for every double of the API ports that
/// a test's task does not use.
#[macro_export]
macro_rules! unused_shopify_inventory_api {
    ($ty:ty) => {
        #[$crate::async_trait::async_trait]
        impl $crate::shopsync_domain::ports::ShopifyInventoryApi for $ty {
            async fn locations(
                &self,
            ) -> $crate::shopsync_domain::ports::Result<
                Vec<$crate::shopsync_domain::inventory::ShopifyLocation>,
            > {
                unreachable!("{} is not used by this test", "ShopifyInventoryApi")
            }
            async fn variants(
                &self,
            ) -> $crate::shopsync_domain::ports::Result<
                Vec<$crate::shopsync_domain::inventory::ShopifyVariant>,
            > {
                unreachable!("{} is not used by this test", "ShopifyInventoryApi")
            }
            async fn levels_at(
                &self,
                _location_id: &str,
            ) -> $crate::shopsync_domain::ports::Result<
                Vec<$crate::shopsync_domain::inventory::InventoryLevel>,
            > {
                unreachable!("{} is not used by this test", "ShopifyInventoryApi")
            }
            async fn levels_of(
                &self,
                _keys: &[$crate::shopsync_domain::inventory::LevelKey<'_>],
            ) -> $crate::shopsync_domain::ports::Result<
                Vec<$crate::shopsync_domain::inventory::InventoryLevel>,
            > {
                unreachable!("{} is not used by this test", "ShopifyInventoryApi")
            }
            async fn set_quantities(
                &self,
                _request: &$crate::shopsync_domain::inventory::SetQuantitiesRequest,
            ) -> $crate::shopsync_domain::ports::Result<
                $crate::shopsync_domain::inventory::SetQuantitiesOutcome,
            > {
                unreachable!("{} is not used by this test", "ShopifyInventoryApi")
            }
        }
    };
}

/// Implements [`BcInventoryApi`](shopsync_domain::ports::BcInventoryApi) for a test double whose test never calls it: every
/// method panics, naming the port. One implementation for every double of the API ports that a
/// test's task does not use.
#[macro_export]
macro_rules! unused_bc_inventory_api {
    ($ty:ty) => {
        #[$crate::async_trait::async_trait]
        impl $crate::shopsync_domain::ports::BcInventoryApi for $ty {
            async fn items(
                &self,
            ) -> $crate::shopsync_domain::ports::Result<
                Vec<$crate::shopsync_domain::inventory::BcItem>,
            > {
                unreachable!("{} is not used by this test", "BcInventoryApi")
            }
            async fn availability(
                &self,
                _page: &str,
                _company_name: &str,
                _location_codes: &[String],
            ) -> $crate::shopsync_domain::ports::Result<
                Vec<$crate::shopsync_domain::inventory::BcAvailability>,
            > {
                unreachable!("{} is not used by this test", "BcInventoryApi")
            }
        }
    };
}

/// Implements [`ShopifyUsage`](shopsync_domain::ports::ShopifyUsage) for a Shopify test double that spends nothing: no cost
/// points used, no time waited for the throttle. Unlike the `unused_*` macros it does not panic:
/// the engine's runner reads the usage around every invocation, whatever the task.
#[macro_export]
macro_rules! no_shopify_usage {
    ($ty:ty) => {
        impl $crate::shopsync_domain::ports::ShopifyUsage for $ty {
            fn cost_points_used(&self) -> f64 {
                0.0
            }
            fn throttle_wait_ms(&self) -> u64 {
                0
            }
        }
    };
}
