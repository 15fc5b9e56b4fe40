//! [`BcInventoryApi`] on BC: item totals from standard API v2.0 `items`, and per-location availability
//! from a page the customer publishes as an OData web service (standard API v2.0 has no per-location or
//! per-variant stock). The page is expected to expose, per item/variant/location row, `itemNo`,
//! `variantCode`, `locationCode`, `projectedAvailableBalance` (the reference's "Projected Available Balance
//! at Today") and `freeInventory` (inventory minus reserved) and to be filterable by `locationCode`.

use crate::client::BcClient;
use crate::error::BcError;
use crate::urls::{odata_string, with_query};
use async_trait::async_trait;
use serde::Deserialize;
use shopsync_domain::inventory::{BcAvailability, BcItem, BcItemType};
use shopsync_domain::ports::{BcInventoryApi, Result};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ItemRow {
    number: String,
    #[serde(rename = "type")]
    item_type: String,
    #[serde(default)]
    blocked: bool,
    #[serde(default)]
    gtin: Option<String>,
    #[serde(default)]
    inventory: f64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AvailabilityRow {
    item_no: String,
    #[serde(default)]
    variant_code: String,
    location_code: String,
    #[serde(default)]
    projected_available_balance: f64,
    #[serde(default)]
    free_inventory: f64,
}

/// BC's item type; OData spells `Non-Inventory` as `Non_x002D_Inventory` in some versions.
pub(crate) fn item_type(raw: &str) -> BcItemType {
    match raw {
        "Inventory" => BcItemType::Inventory,
        "Service" => BcItemType::Service,
        "Non-Inventory" | "Non_x002D_Inventory" | "NonInventory" => BcItemType::NonInventory,
        other => {
            // Unknown types carry no stock we know how to read; treating them as non-inventory means they
            // are never synced rather than synced wrongly.
            tracing::warn!(
                item_type = other,
                "unknown BC item type; treated as Non-Inventory"
            );
            BcItemType::NonInventory
        }
    }
}

impl BcClient {
    /// All items of the company (all pages).
    pub async fn list_items(&self) -> std::result::Result<Vec<BcItem>, BcError> {
        let url = with_query(
            &self.company_url("items"),
            &[("$select", "number,type,blocked,gtin,inventory")],
        );
        let rows: Vec<ItemRow> = self.get_collection(&url).await?;
        Ok(rows
            .into_iter()
            .map(|r| BcItem {
                item_type: item_type(&r.item_type),
                number: r.number,
                gtin: r
                    .gtin
                    .map(|g| g.trim().to_string())
                    .filter(|g| !g.is_empty()),
                blocked: r.blocked,
                inventory: r.inventory,
            })
            .collect())
    }

    /// Availability rows of one location from a published page.
    pub async fn location_availability(
        &self,
        page: &str,
        company_name: &str,
        location_code: &str,
    ) -> std::result::Result<Vec<BcAvailability>, BcError> {
        let filter = format!("locationCode eq {}", odata_string(location_code));
        let url = with_query(
            &self.odata_page_url(company_name, page),
            &[("$filter", &filter)],
        );
        let rows: Vec<AvailabilityRow> = self.get_collection(&url).await?;
        Ok(rows
            .into_iter()
            .map(|r| BcAvailability {
                item_no: r.item_no,
                variant_code: r.variant_code,
                location_code: r.location_code,
                projected_available: r.projected_available_balance,
                free_inventory: r.free_inventory,
            })
            .collect())
    }
}

#[async_trait]
impl BcInventoryApi for BcClient {
    async fn items(&self) -> Result<Vec<BcItem>> {
        Ok(self.list_items().await?)
    }

    /// Reads the page once per location code, concurrently (the client's semaphore bounds it), and
    /// returns rows in the order of `location_codes`.
    async fn availability(
        &self,
        page: &str,
        company_name: &str,
        location_codes: &[String],
    ) -> Result<Vec<BcAvailability>> {
        let mut tasks = tokio::task::JoinSet::new();
        for (index, code) in location_codes.iter().enumerate() {
            let (client, page, company, code) = (
                self.clone(),
                page.to_string(),
                company_name.to_string(),
                code.clone(),
            );
            tasks.spawn(async move {
                (
                    index,
                    client.location_availability(&page, &company, &code).await,
                )
            });
        }
        let mut per_location: Vec<Vec<BcAvailability>> = vec![Vec::new(); location_codes.len()];
        while let Some(joined) = tasks.join_next().await {
            let (index, rows) = joined.map_err(|e| {
                shopsync_domain::SyncError::Internal(format!("availability task: {e}"))
            })?;
            per_location[index] = rows?;
        }
        Ok(per_location.into_iter().flatten().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_item_types() {
        assert_eq!(item_type("Inventory"), BcItemType::Inventory);
        assert_eq!(item_type("Service"), BcItemType::Service);
        assert_eq!(item_type("Non-Inventory"), BcItemType::NonInventory);
        assert_eq!(item_type("Non_x002D_Inventory"), BcItemType::NonInventory);
    }
}
