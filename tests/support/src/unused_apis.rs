//! Stand-ins for the API ports a test's task does not use. A task's test double implements the
//! ports the task calls; the client bundle (`ShopClients`) needs every port, so the rest come from
//! these macros instead of a copy of panicking methods in each test.

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
