//! Shop settings: one `SETTINGS` item per shop, listed through the sparse `gsi1` (`gsi1pk = SHOPS`).
//!
//! Settings are validated before anything is written: an invalid document must never reach the
//! table, because every scheduled run reads it. Listing shops is a Query on the index (in code
//! order, since `gsi1sk` is the code), never a Scan of a table that also holds every job and level.

use super::{DynamoStore, GSI1, SHOPS_GSI_PK, body, keys, s, to_json};
use crate::errors::storage;
use async_trait::async_trait;
use shopsync_domain::ShopSettings;
use shopsync_domain::SyncError;
use shopsync_domain::ports::{Result, SettingsStore};

#[async_trait]
impl SettingsStore for DynamoStore {
    async fn get_shop(&self, code: &str) -> Result<Option<ShopSettings>> {
        let Some(item) = self
            .get_item(code, keys::SETTINGS_SK, "GetItem shop settings")
            .await?
        else {
            return Ok(None);
        };
        body(&item, "shop settings").map(Some)
    }

    async fn put_shop(&self, settings: &ShopSettings) -> Result<()> {
        settings
            .validate()
            .map_err(|e| SyncError::Settings(e.to_string()))?;
        let json = to_json(settings, "shop settings")?;
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(keys::shop_pk(&settings.code)))
            .item("sk", s(keys::SETTINGS_SK))
            .item("body", s(json))
            .item("gsi1pk", s(SHOPS_GSI_PK))
            .item("gsi1sk", s(&settings.code))
            .send()
            .await
            .map_err(|e| storage("PutItem shop settings", e))?;
        Ok(())
    }

    async fn list_shops(&self) -> Result<Vec<ShopSettings>> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(GSI1)
            .key_condition_expression("gsi1pk = :p")
            .expression_attribute_values(":p", s(SHOPS_GSI_PK))
            .scan_index_forward(true);
        let items = self.query_all(query, None, "Query shops on gsi1").await?;
        items
            .iter()
            .map(|item| body(item, "shop settings"))
            .collect()
    }
}
