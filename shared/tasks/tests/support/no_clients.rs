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

#[async_trait]
impl shopsync_domain::orders::ShopifyOrdersApi for NoApis {
    async fn orders_updated_since(
        &self,
        _since: Option<&str>,
        _until: &str,
        _open_only: bool,
        _after: Option<&str>,
    ) -> Result<shopsync_domain::orders::Page<shopsync_domain::orders::ShopifyOrder>> {
        unreachable!("not used by this task")
    }
    async fn order(&self, _id: &str) -> Result<Option<shopsync_domain::orders::ShopifyOrder>> {
        unreachable!("not used by this task")
    }
    async fn order_fulfillments(
        &self,
        _order_id: &str,
    ) -> Result<Option<Vec<shopsync_domain::orders::ShopifyFulfillment>>> {
        unreachable!("not used by this task")
    }
    async fn fulfillment_create(
        &self,
        _request: &shopsync_domain::orders::FulfillmentRequest,
    ) -> Result<shopsync_domain::orders::FulfillmentOutcome> {
        unreachable!("not used by this task")
    }
    async fn order_set_custom_attributes(
        &self,
        _order_id: &str,
        _attributes: &[shopsync_domain::orders::OrderAttribute],
    ) -> Result<shopsync_domain::orders::OrderUpdateOutcome> {
        unreachable!("not used by this task")
    }
    async fn order_close(
        &self,
        _order_id: &str,
    ) -> Result<shopsync_domain::orders::OrderCloseOutcome> {
        unreachable!("not used by this task")
    }
    async fn payouts_since(
        &self,
        _since_legacy_id: Option<u64>,
        _after: Option<&str>,
    ) -> Result<shopsync_domain::orders::Page<shopsync_domain::orders::ShopifyPayout>> {
        unreachable!("not used by this task")
    }
    async fn balance_transactions_since(
        &self,
        _since: Option<&str>,
        _after: Option<&str>,
    ) -> Result<shopsync_domain::orders::Page<shopsync_domain::orders::BalanceTransaction>> {
        unreachable!("not used by this task")
    }
}

#[async_trait]
impl shopsync_domain::sales::BcSalesApi for NoApis {
    async fn find_customer_by_email(
        &self,
        _email: &str,
    ) -> Result<Vec<shopsync_domain::sales::BcCustomer>> {
        unreachable!("not used by this task")
    }
    async fn find_customer_by_phone(
        &self,
        _phone: &str,
    ) -> Result<Vec<shopsync_domain::sales::BcCustomer>> {
        unreachable!("not used by this task")
    }
    async fn customer_template(
        &self,
        _number: &str,
    ) -> Result<shopsync_domain::sales::CustomerDefaults> {
        unreachable!("not used by this task")
    }
    async fn create_customer(
        &self,
        _customer: &shopsync_domain::sales::NewCustomer,
    ) -> Result<shopsync_domain::sales::BcCustomer> {
        unreachable!("not used by this task")
    }
    async fn create_sales_document(
        &self,
        _draft: &shopsync_domain::sales::SalesDocumentDraft,
    ) -> Result<shopsync_domain::sales::SalesDocument> {
        unreachable!("not used by this task")
    }
    async fn find_sales_documents_by_external_number(
        &self,
        _number: &str,
    ) -> Result<Vec<shopsync_domain::sales::SalesDocumentRef>> {
        unreachable!("not used by this task")
    }
    async fn posted_shipments_since(
        &self,
        _cursor: Option<&shopsync_domain::sales::ShipmentCursor>,
    ) -> Result<shopsync_domain::sales::ShipmentBatch> {
        unreachable!("not used by this task")
    }
    async fn shipment_tracking(
        &self,
        _page: &str,
        _company_name: &str,
        _shipment_number: &str,
    ) -> Result<Option<shopsync_domain::sales::ShipmentTracking>> {
        unreachable!("not used by this task")
    }
    async fn delete_sales_document(
        &self,
        _document: &shopsync_domain::sales::SalesDocumentRef,
    ) -> Result<()> {
        unreachable!("not used by this task")
    }
}
