//! The catalogs mirror and its two tasks: `sync-catalogs` (reference report 30115, [`sync`]) and
//! `sync-catalog-prices` (30116, [`prices`]).
//!
//! **The mirror.** One record per Shopify catalog (kind [`CATALOGS`], id = the catalog's numeric
//! id: company-location and market catalogs are one `Catalog` model in Shopify and share one id
//! sequence). The body ([`StoredCatalog`]) has what Shopify says — type, title, status, price list
//! and its currency, publication, the linked markets or company locations (the first
//! [`shopsync_domain::b2b_catalogs::MAX_LINKS_READ`]), the shop's currency — and what the merchant decides per catalog, which a
//! sync never overwrites:
//!
//! - `prices_enabled`: whether sync-catalog-prices writes BC prices into the catalog's price list.
//!   **Default on for company-location catalogs, off for market catalogs.** A B2B catalog exists to
//!   give a company its own prices, which live in BC (the reference's `Sync Prices` is set for the
//!   catalogs it creates for companies); a market catalog's prices usually come from Shopify's
//!   own currency conversion and price adjustments, and overwriting them with fixed prices the
//!   first time the task runs would be a surprise. A merchant turns it on per market catalog.
//! - `price_group`: the BC customer price group whose prices the catalog gets; `None`: the shop's
//!   `customer_price_group`.
//!
//! A catalog that is no longer in Shopify is kept with status [`status::GONE`] (and `gone_since`),
//! not deleted: its last price sync stays readable, and it is priced no more. One that comes back
//! (the same id) is mirrored again as present.
//!
//! **Price skips.** A price Shopify refused (`userErrors` of `priceListFixedPricesAdd`) becomes a
//! skipped record of the run (the status board's skipped-records cue) and a record of kind
//! [`PRICE_SKIPS`] (id `<catalog>-<variant>`, status [`status::SKIPPED`]) with Shopify's code and
//! message, overwritten by the next refusal of the same price.

pub mod prices;
pub mod sync;
#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};
use shopsync_domain::SyncError;
use shopsync_domain::b2b_catalogs::{
    CatalogLink, CatalogType, PriceListRef, ShopifyCatalog, numeric_gid,
};
use shopsync_domain::ports::{Record, Result};
use shopsync_domain::text::preview;

pub use prices::SyncCatalogPricesTask;
pub use sync::SyncCatalogsTask;

/// One record per catalog: [`StoredCatalog`].
pub const CATALOGS: &str = shopsync_domain::b2b_catalogs::CATALOG_RECORDS;
/// Prices Shopify refused, one record per (catalog, variant).
pub const PRICE_SKIPS: &str = "catalog-price-skips";

/// Statuses of the records of this module (the store's sparse index).
pub mod status {
    /// The catalog is no longer in Shopify.
    pub const GONE: &str = "gone";
    /// A price Shopify refused.
    pub const SKIPPED: &str = "skipped";
}

/// The last price sync of a catalog.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceSync {
    pub job_id: String,
    /// Unix seconds when its planning finished.
    pub at: i64,
    /// Mapped variants BC had a price for.
    pub prices_checked: u64,
    /// Prices that differed from the price list's fixed prices and were sent.
    pub prices_changed: u64,
    /// Mapped variants without a BC price in the catalog's currency, or whose item is blocked.
    pub prices_unpriced: u64,
}

/// The body of a [`CATALOGS`] record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredCatalog {
    /// The catalog GID.
    pub id: String,
    pub catalog_type: CatalogType,
    pub title: String,
    /// Shopify's `CatalogStatus` (`ACTIVE`, `DRAFT`, `ARCHIVED`).
    pub status: String,
    #[serde(default)]
    pub price_list: Option<PriceListRef>,
    #[serde(default)]
    pub publication_id: Option<String>,
    #[serde(default)]
    pub markets: Vec<CatalogLink>,
    #[serde(default)]
    pub company_locations: Vec<CatalogLink>,
    /// The shop's currency when the catalog was last read.
    #[serde(default)]
    pub shop_currency: String,
    /// The merchant's: whether BC prices go into the price list (see the module's documentation).
    pub prices_enabled: bool,
    /// The merchant's: the BC customer price group of the catalog's prices.
    #[serde(default)]
    pub price_group: Option<String>,
    #[serde(default)]
    pub gone: bool,
    #[serde(default)]
    pub gone_since: Option<i64>,
    #[serde(default)]
    pub last_price_sync: Option<PriceSync>,
}

impl StoredCatalog {
    /// A catalog seen for the first time, with the defaults of the merchant's fields.
    pub fn new(catalog: &ShopifyCatalog, shop_currency: &str) -> StoredCatalog {
        StoredCatalog {
            id: catalog.id.clone(),
            catalog_type: catalog.catalog_type,
            title: catalog.title.clone(),
            status: catalog.status.clone(),
            price_list: catalog.price_list.clone(),
            publication_id: catalog.publication_id.clone(),
            markets: catalog.markets.clone(),
            company_locations: catalog.company_locations.clone(),
            shop_currency: shop_currency.to_string(),
            prices_enabled: catalog.catalog_type == CatalogType::CompanyLocation,
            price_group: None,
            gone: false,
            gone_since: None,
            last_price_sync: None,
        }
    }

    /// This record with Shopify's side taken from `catalog` (the merchant's fields and the last
    /// price sync kept); present again if it was gone.
    pub fn refreshed(&self, catalog: &ShopifyCatalog, shop_currency: &str) -> StoredCatalog {
        StoredCatalog {
            prices_enabled: self.prices_enabled,
            price_group: self.price_group.clone(),
            last_price_sync: self.last_price_sync.clone(),
            ..StoredCatalog::new(catalog, shop_currency)
        }
    }

    /// The record id: the catalog's numeric id.
    pub fn record_id(&self) -> Result<String> {
        catalog_record_id(&self.id, self.catalog_type)
    }

    /// Whether sync-catalog-prices writes this catalog's prices now.
    pub fn priced(&self) -> bool {
        self.prices_enabled && !self.gone && self.status != "ARCHIVED" && self.price_list.is_some()
    }

    pub fn to_record(&self) -> Result<Record> {
        let body = serde_json::to_string(self)
            .map_err(|e| SyncError::Internal(format!("catalog record: {e}")))?;
        Ok(Record::new(
            self.record_id()?,
            self.gone.then_some(status::GONE),
            body,
        ))
    }

    pub fn from_record(record: &Record) -> Result<StoredCatalog> {
        serde_json::from_str(&record.body).map_err(|e| {
            SyncError::Internal(format!(
                "catalog record '{}' is unreadable: {e}",
                preview(&record.id)
            ))
        })
    }
}

/// The record id of catalog `gid` of `catalog_type`: its numeric id, checked.
pub fn catalog_record_id(gid: &str, catalog_type: CatalogType) -> Result<String> {
    numeric_gid(gid, catalog_type.gid_type())
        .map(str::to_string)
        .ok_or_else(|| {
            SyncError::Internal(format!(
                "'{}' is not a {} id",
                preview(gid),
                catalog_type.gid_type()
            ))
        })
}

/// The body of a [`PRICE_SKIPS`] record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceSkip {
    pub catalog_id: String,
    pub price_list_id: String,
    pub variant_id: String,
    #[serde(default)]
    pub code: Option<String>,
    pub message: String,
    pub job_id: String,
    pub at: i64,
}
