//! Stand-ins for the API ports a test's task does not use. A task's test double implements the
//! ports the task calls; the client bundle (`ShopClients`) needs every port, so the rest come from
//! these macros instead of a copy of panicking methods in each test: `unused_shopify_orders_api!`,
//! `unused_shopify_inventory_api!`, `unused_shopify_catalog_api!`, `unused_bc_sales_api!`,
//! `unused_bc_inventory_api!`, `unused_bc_items_api!`, and `no_shopify_usage!` for the usage every
//! Shopify double reports.

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
            async fn find_customer_by_tax_registration(
                &self,
                _number: &str,
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

/// Implements [`ShopifyCatalogApi`](shopsync_domain::catalog::ShopifyCatalogApi) for a test double
/// whose test never calls it: every method panics, naming the port.
#[macro_export]
macro_rules! unused_shopify_catalog_api {
    ($ty:ty) => {
        #[$crate::async_trait::async_trait]
        impl $crate::shopsync_domain::catalog::ShopifyCatalogApi for $ty {
            async fn products_updated_since(
                &self,
                _since: Option<&str>,
                _after: Option<&str>,
            ) -> ::std::result::Result<
                $crate::shopsync_domain::orders::Page<$crate::shopsync_domain::catalog::Product>,
                $crate::shopsync_domain::SyncError,
            > {
                unreachable!("{} is not used by this test", "ShopifyCatalogApi")
            }
            async fn product(
                &self,
                _id: &str,
            ) -> ::std::result::Result<
                Option<$crate::shopsync_domain::catalog::Product>,
                $crate::shopsync_domain::SyncError,
            > {
                unreachable!("{} is not used by this test", "ShopifyCatalogApi")
            }
            async fn product_set(
                &self,
                _request: &$crate::shopsync_domain::catalog::ProductSetRequest,
            ) -> ::std::result::Result<
                $crate::shopsync_domain::catalog::ProductSetOutcome,
                $crate::shopsync_domain::SyncError,
            > {
                unreachable!("{} is not used by this test", "ShopifyCatalogApi")
            }
            async fn staged_uploads_create(
                &self,
                _uploads: &[$crate::shopsync_domain::catalog::StagedUploadRequest],
            ) -> ::std::result::Result<
                $crate::shopsync_domain::catalog::StagedUploadsOutcome,
                $crate::shopsync_domain::SyncError,
            > {
                unreachable!("{} is not used by this test", "ShopifyCatalogApi")
            }
            async fn upload(
                &self,
                _target: &$crate::shopsync_domain::catalog::StagedTarget,
                _bytes: Vec<u8>,
                _mime_type: &str,
            ) -> ::std::result::Result<(), $crate::shopsync_domain::SyncError> {
                unreachable!("{} is not used by this test", "ShopifyCatalogApi")
            }
            async fn product_media_attach(
                &self,
                _product_id: &str,
                _media: &[$crate::shopsync_domain::catalog::MediaAttach],
            ) -> ::std::result::Result<
                $crate::shopsync_domain::catalog::MediaOutcome,
                $crate::shopsync_domain::SyncError,
            > {
                unreachable!("{} is not used by this test", "ShopifyCatalogApi")
            }
            async fn media_replace(
                &self,
                _updates: &[$crate::shopsync_domain::catalog::MediaReplace],
            ) -> ::std::result::Result<
                $crate::shopsync_domain::catalog::MediaOutcome,
                $crate::shopsync_domain::SyncError,
            > {
                unreachable!("{} is not used by this test", "ShopifyCatalogApi")
            }
            async fn product_media(
                &self,
                _id: &str,
            ) -> ::std::result::Result<
                Option<Vec<$crate::shopsync_domain::catalog::ProductMedia>>,
                $crate::shopsync_domain::SyncError,
            > {
                unreachable!("{} is not used by this test", "ShopifyCatalogApi")
            }
            async fn image_bytes(
                &self,
                _url: &str,
                _max_bytes: usize,
            ) -> ::std::result::Result<Vec<u8>, $crate::shopsync_domain::SyncError> {
                unreachable!("{} is not used by this test", "ShopifyCatalogApi")
            }
            async fn bulk_mutation_run(
                &self,
                _mutation: &$crate::shopsync_domain::catalog::BulkMutation,
                _client_identifier: Option<&str>,
            ) -> ::std::result::Result<
                $crate::shopsync_domain::catalog::BulkMutationStart,
                $crate::shopsync_domain::SyncError,
            > {
                unreachable!("{} is not used by this test", "ShopifyCatalogApi")
            }
            async fn bulk_mutation_status(
                &self,
                _id: &str,
            ) -> ::std::result::Result<
                $crate::shopsync_domain::catalog::BulkMutationStatus,
                $crate::shopsync_domain::SyncError,
            > {
                unreachable!("{} is not used by this test", "ShopifyCatalogApi")
            }
            async fn bulk_mutation_results(
                &self,
                _status: &$crate::shopsync_domain::catalog::BulkMutationStatus,
            ) -> ::std::result::Result<
                Vec<$crate::shopsync_domain::catalog::BulkLineResult>,
                $crate::shopsync_domain::SyncError,
            > {
                unreachable!("{} is not used by this test", "ShopifyCatalogApi")
            }
            async fn variant_prices_update(
                &self,
                _update: &$crate::shopsync_domain::catalog::ProductPriceUpdate,
            ) -> ::std::result::Result<
                $crate::shopsync_domain::catalog::VariantPricesOutcome,
                $crate::shopsync_domain::SyncError,
            > {
                unreachable!("{} is not used by this test", "ShopifyCatalogApi")
            }
        }
    };
}

/// Implements [`BcItemsApi`](shopsync_domain::items::BcItemsApi) for a test double whose test never
/// calls it: every method panics, naming the port.
#[macro_export]
macro_rules! unused_bc_items_api {
    ($ty:ty) => {
        #[$crate::async_trait::async_trait]
        impl $crate::shopsync_domain::items::BcItemsApi for $ty {
            async fn items_modified_since(
                &self,
                _cursor: Option<&$crate::shopsync_domain::items::ItemCursor>,
            ) -> $crate::shopsync_domain::ports::Result<$crate::shopsync_domain::items::ItemBatch> {
                unreachable!("{} is not used by this test", "BcItemsApi")
            }
            async fn item_by_number(
                &self,
                _number: &str,
            ) -> $crate::shopsync_domain::ports::Result<Option<$crate::shopsync_domain::items::BcCatalogItem>> {
                unreachable!("{} is not used by this test", "BcItemsApi")
            }
            async fn item_variants(
                &self,
                _item_id: &str,
            ) -> $crate::shopsync_domain::ports::Result<Vec<$crate::shopsync_domain::items::BcItemVariant>> {
                unreachable!("{} is not used by this test", "BcItemsApi")
            }
            async fn items_by_numbers(
                &self,
                _numbers: &[String],
            ) -> $crate::shopsync_domain::ports::Result<Vec<$crate::shopsync_domain::items::BcCatalogItem>> {
                unreachable!("{} is not used by this test", "BcItemsApi")
            }
            async fn item_variants_modified_since(
                &self,
                _since_ms: i64,
            ) -> $crate::shopsync_domain::ports::Result<Vec<$crate::shopsync_domain::items::BcItemVariant>> {
                unreachable!("{} is not used by this test", "BcItemsApi")
            }
            async fn item_template(
                &self,
                _template_item_number: &str,
            ) -> $crate::shopsync_domain::ports::Result<$crate::shopsync_domain::items::ItemDefaults> {
                unreachable!("{} is not used by this test", "BcItemsApi")
            }
            async fn create_item(
                &self,
                _item: &$crate::shopsync_domain::items::NewItem,
            ) -> $crate::shopsync_domain::ports::Result<$crate::shopsync_domain::items::BcCatalogItem> {
                unreachable!("{} is not used by this test", "BcItemsApi")
            }
            async fn update_item(
                &self,
                _item_id: &str,
                _etag: &str,
                _update: &$crate::shopsync_domain::items::ItemUpdate,
            ) -> $crate::shopsync_domain::ports::Result<Option<$crate::shopsync_domain::items::BcCatalogItem>> {
                unreachable!("{} is not used by this test", "BcItemsApi")
            }
            async fn create_item_variant(
                &self,
                _variant: &$crate::shopsync_domain::items::NewItemVariant,
            ) -> $crate::shopsync_domain::ports::Result<$crate::shopsync_domain::items::BcItemVariant> {
                unreachable!("{} is not used by this test", "BcItemsApi")
            }
            async fn item_picture(
                &self,
                _item_id: &str,
            ) -> $crate::shopsync_domain::ports::Result<$crate::shopsync_domain::items::PictureState> {
                unreachable!("{} is not used by this test", "BcItemsApi")
            }
            async fn set_item_picture(
                &self,
                _item_id: &str,
                _etag: &str,
                _content: &[u8],
            ) -> $crate::shopsync_domain::ports::Result<()> {
                unreachable!("{} is not used by this test", "BcItemsApi")
            }
            async fn sales_prices(
                &self,
                _page: Option<&str>,
                _company_name: &str,
                _scope: &$crate::shopsync_domain::items::PriceScope,
                _targets: &[$crate::shopsync_domain::items::PriceTarget],
            ) -> $crate::shopsync_domain::ports::Result<Vec<$crate::shopsync_domain::items::SalesPrice>> {
                unreachable!("{} is not used by this test", "BcItemsApi")
            }
        }
    };
}

/// Implements [`ShopifyCustomersApi`](shopsync_domain::customers::ShopifyCustomersApi) for a test
/// double whose test never calls it: every method panics, naming the port.
#[macro_export]
macro_rules! unused_shopify_customers_api {
    ($ty:ty) => {
        #[$crate::async_trait::async_trait]
        impl $crate::shopsync_domain::customers::ShopifyCustomersApi for $ty {
            async fn customers_updated_since(
                &self,
                _since: Option<&str>,
                _until: &str,
                _after: Option<&str>,
            ) -> ::std::result::Result<
                $crate::shopsync_domain::orders::Page<
                    $crate::shopsync_domain::customers::ShopifyCustomer,
                >,
                $crate::shopsync_domain::SyncError,
            > {
                unreachable!("{} is not used by this test", "ShopifyCustomersApi")
            }
            async fn customer(
                &self,
                _id: &str,
            ) -> ::std::result::Result<
                Option<$crate::shopsync_domain::customers::ShopifyCustomer>,
                $crate::shopsync_domain::SyncError,
            > {
                unreachable!("{} is not used by this test", "ShopifyCustomersApi")
            }
            async fn customer_set(
                &self,
                _identifier: &$crate::shopsync_domain::customers::CustomerIdentifier,
                _input: &$crate::shopsync_domain::customers::CustomerSetInput,
            ) -> ::std::result::Result<
                $crate::shopsync_domain::customers::CustomerSetOutcome,
                $crate::shopsync_domain::SyncError,
            > {
                unreachable!("{} is not used by this test", "ShopifyCustomersApi")
            }
        }
    };
}

/// Implements [`ShopifyCompaniesApi`](shopsync_domain::companies::ShopifyCompaniesApi) for a test
/// double whose test never calls it: every method panics, naming the port.
#[macro_export]
macro_rules! unused_shopify_companies_api {
    ($ty:ty) => {
        #[$crate::async_trait::async_trait]
        impl $crate::shopsync_domain::companies::ShopifyCompaniesApi for $ty {
            async fn companies_updated_since(
                &self,
                _since: Option<&str>,
                _until: &str,
                _after: Option<&str>,
            ) -> ::std::result::Result<
                $crate::shopsync_domain::orders::Page<
                    $crate::shopsync_domain::companies::ShopifyCompany,
                >,
                $crate::shopsync_domain::SyncError,
            > {
                unreachable!("{} is not used by this test", "ShopifyCompaniesApi")
            }
            async fn company(
                &self,
                _id: &str,
            ) -> ::std::result::Result<
                Option<$crate::shopsync_domain::companies::ShopifyCompany>,
                $crate::shopsync_domain::SyncError,
            > {
                unreachable!("{} is not used by this test", "ShopifyCompaniesApi")
            }
            async fn company_export(
                &self,
                _export: &$crate::shopsync_domain::companies::CompanyExport,
            ) -> ::std::result::Result<
                $crate::shopsync_domain::companies::CompanyExportOutcome,
                $crate::shopsync_domain::SyncError,
            > {
                unreachable!("{} is not used by this test", "ShopifyCompaniesApi")
            }
        }
    };
}

/// Implements [`BcCustomersApi`](shopsync_domain::customers::BcCustomersApi) for a test double
/// whose test never calls it: every method panics, naming the port.
#[macro_export]
macro_rules! unused_bc_customers_api {
    ($ty:ty) => {
        #[$crate::async_trait::async_trait]
        impl $crate::shopsync_domain::customers::BcCustomersApi for $ty {
            async fn customers_modified_since(
                &self,
                _since: Option<&str>,
            ) -> ::std::result::Result<
                Vec<$crate::shopsync_domain::sales::BcCustomer>,
                $crate::shopsync_domain::SyncError,
            > {
                unreachable!("{} is not used by this test", "BcCustomersApi")
            }
            async fn update_customer(
                &self,
                _customer_id: &str,
                _update: &$crate::shopsync_domain::customers::CustomerUpdate,
            ) -> ::std::result::Result<
                $crate::shopsync_domain::sales::BcCustomer,
                $crate::shopsync_domain::SyncError,
            > {
                unreachable!("{} is not used by this test", "BcCustomersApi")
            }
        }
    };
}

/// Implements [`ShopifyB2bCatalogsApi`](shopsync_domain::b2b_catalogs::ShopifyB2bCatalogsApi) for a
/// test double whose test never calls it: every method panics, naming the port.
#[macro_export]
macro_rules! unused_shopify_b2b_catalogs_api {
    ($ty:ty) => {
        #[$crate::async_trait::async_trait]
        impl $crate::shopsync_domain::b2b_catalogs::ShopifyB2bCatalogsApi for $ty {
            async fn catalogs_page(
                &self,
                _catalog_type: $crate::shopsync_domain::b2b_catalogs::CatalogType,
                _after: Option<&str>,
            ) -> ::std::result::Result<
                $crate::shopsync_domain::b2b_catalogs::CatalogsPage,
                $crate::shopsync_domain::SyncError,
            > {
                unreachable!("{} is not used by this test", "ShopifyB2bCatalogsApi")
            }
            async fn price_list_fixed_prices_page(
                &self,
                _price_list_id: &str,
                _after: Option<&str>,
            ) -> ::std::result::Result<
                $crate::shopsync_domain::orders::Page<
                    $crate::shopsync_domain::b2b_catalogs::FixedPrice,
                >,
                $crate::shopsync_domain::SyncError,
            > {
                unreachable!("{} is not used by this test", "ShopifyB2bCatalogsApi")
            }
            async fn price_list_fixed_prices_add(
                &self,
                _request: &$crate::shopsync_domain::b2b_catalogs::FixedPricesAddRequest,
            ) -> ::std::result::Result<
                $crate::shopsync_domain::b2b_catalogs::FixedPricesAddOutcome,
                $crate::shopsync_domain::SyncError,
            > {
                unreachable!("{} is not used by this test", "ShopifyB2bCatalogsApi")
            }
        }
    };
}
