//! A shop's catalogs (the mirror sync-catalogs keeps, kind [`CATALOG_RECORDS`]) with their last
//! price sync (written by sync-catalog-prices): `GET /shops/{shop}/catalogs?after=&limit=`.
//!
//! The record body belongs to the catalog tasks and grows with them, so the API reads only a small
//! view of it ([`CatalogView`]): unknown fields are ignored, missing ones take defaults, and a body
//! that cannot be read at all still lists (with an `error` saying so). The cursor a caller sends
//! back is checked against its pattern (`^[0-9]{1,20}$`, a catalog's numeric id) before it becomes
//! part of a storage key.

use crate::Api;
use crate::http::{ApiError, ApiRequest, ApiResponse};
use crate::routes::{self, preview};
use serde::{Deserialize, Serialize};
use shopsync_domain::b2b_catalogs::CATALOG_RECORDS;
use shopsync_domain::ports::Record;

/// Longest title an answer shows.
const MAX_TITLE_CHARS: usize = 255;
/// Most digits of a catalog id.
pub const MAX_CATALOG_DIGITS: usize = 20;

/// A market or company location linked to a catalog.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkView {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub name: String,
}

/// A catalog's price list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceListView {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub currency: String,
}

/// A catalog's last price sync.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceSyncView {
    #[serde(default)]
    pub job_id: String,
    #[serde(default)]
    pub at: i64,
    #[serde(default)]
    pub prices_checked: u64,
    #[serde(default)]
    pub prices_changed: u64,
    #[serde(default)]
    pub prices_unpriced: u64,
}

/// What the API shows of a catalog.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogView {
    /// The catalog's GID.
    #[serde(default)]
    pub id: String,
    /// `company_location` or `market`.
    #[serde(default)]
    pub catalog_type: String,
    #[serde(default)]
    pub title: String,
    /// Shopify's status (`ACTIVE`, `DRAFT`, `ARCHIVED`).
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub gone: bool,
    #[serde(default)]
    pub price_list: Option<PriceListView>,
    #[serde(default)]
    pub markets: Vec<LinkView>,
    #[serde(default)]
    pub company_locations: Vec<LinkView>,
    #[serde(default)]
    pub prices_enabled: bool,
    #[serde(default)]
    pub price_group: Option<String>,
    #[serde(default)]
    pub last_price_sync: Option<PriceSyncView>,
    /// Set when the record's body could not be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl CatalogView {
    fn of(record: &Record) -> CatalogView {
        match serde_json::from_str::<CatalogView>(&record.body) {
            Ok(mut v) => {
                v.title = routes::bounded(&v.title, MAX_TITLE_CHARS);
                v.error = None;
                v
            }
            Err(e) => CatalogView {
                id: record.id.clone(),
                error: Some(format!(
                    "the stored catalog is unreadable: {}",
                    routes::parse_error(&e)
                )),
                ..CatalogView::default()
            },
        }
    }
}

/// One page of catalogs.
#[derive(Debug, Serialize)]
struct CatalogPage {
    catalogs: Vec<CatalogView>,
    /// Pass as `after` for the next page; `null` on the last page.
    next: Option<String>,
}

/// `after` must be a catalog's numeric id.
pub fn check_catalog_cursor(after: &str) -> Result<(), ApiError> {
    if !after.is_empty()
        && after.len() <= MAX_CATALOG_DIGITS
        && after.bytes().all(|b| b.is_ascii_digit())
    {
        Ok(())
    } else {
        Err(ApiError::invalid(format!(
            "after '{}' is not a cursor this API gave out (a catalog's numeric id, 1 to {MAX_CATALOG_DIGITS} digits)",
            preview(after)
        )))
    }
}

impl Api {
    /// `GET /shops/{shop}/catalogs?after=&limit=`: every mirrored catalog, gone ones included, in
    /// id order.
    pub(crate) async fn list_catalogs(
        &self,
        shop: &str,
        req: &ApiRequest,
    ) -> Result<ApiResponse, ApiError> {
        let limit = routes::limit(req)?;
        let after = req.query_param("after")?;
        if let Some(after) = after {
            check_catalog_cursor(after)?;
        }
        let page = self
            .records
            .list_records(shop, CATALOG_RECORDS, after, limit)
            .await?;
        let body = CatalogPage {
            catalogs: page.records.iter().map(CatalogView::of).collect(),
            next: page
                .next_after
                .filter(|next| check_catalog_cursor(next).is_ok()),
        };
        Ok(ApiResponse::json(200, &body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_are_numeric_ids() {
        assert!(check_catalog_cursor("154199097650").is_ok());
        for bad in [
            "",
            "12a",
            "1/2",
            "123456789012345678901",
            "gid://shopify/MarketCatalog/1",
        ] {
            assert!(check_catalog_cursor(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_body_is_read_loosely() {
        let r = Record::new(
            "7",
            None,
            r#"{"id":"gid://shopify/MarketCatalog/7","catalog_type":"market","title":"EU","status":"ACTIVE","prices_enabled":false,"extra":1}"#,
        );
        let v = CatalogView::of(&r);
        assert_eq!(v.catalog_type, "market");
        assert!(v.error.is_none() && v.last_price_sync.is_none());
        let broken = CatalogView::of(&Record::new("8", None, "{"));
        assert_eq!(broken.id, "8");
        assert!(broken.error.is_some());
    }
}
