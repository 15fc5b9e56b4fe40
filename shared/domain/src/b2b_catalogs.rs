//! Shopify catalogs (B2B company-location catalogs and market catalogs), their price lists and the
//! price lists' fixed prices, and the port through which `sync-catalogs` (reference report 30115)
//! and `sync-catalog-prices` (30116) reach them: [`ShopifyB2bCatalogsApi`].
//!
//! Reads go through the `catalogs(type:)` connection of the 2026-07 schema, one catalog type at a
//! time (the reference reads company catalogs company by company, which costs one query per
//! company whether it has catalogs or not). Fixed prices are read with
//! `priceList.prices(originType: FIXED)` and written with `priceListFixedPricesAdd`, at most
//! [`MAX_FIXED_PRICES_PER_CALL`] rows a call. `priceListFixedPricesAdd` offers no `@idempotent`
//! key, and needs none: it *sets* the fixed price of each variant, so applying the same rows twice
//! leaves the same state.
//!
//! Amounts are Shopify `Decimal`s kept as the text Shopify wrote (`"812.34"`), never `f64`.

use crate::error::SyncError;
use crate::orders::Page;
use crate::sales::Decimal;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;

/// The record kind of the catalogs mirror (one record per catalog, id = its numeric id; the body
/// is `shopsync_tasks::catalogs::StoredCatalog`), written by sync-catalogs and sync-catalog-prices
/// and read by the API.
pub const CATALOG_RECORDS: &str = "catalogs";

/// Most rows one `priceListFixedPricesAdd` takes (Shopify's input limit; the reference's batch).
pub const MAX_FIXED_PRICES_PER_CALL: usize = 250;

/// The catalog types Shopsync mirrors (`CatalogType`; app catalogs are not priced from BC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CatalogType {
    /// `COMPANY_LOCATION`: a B2B catalog of one or more company locations.
    CompanyLocation,
    /// `MARKET`: the catalog of one or more markets.
    Market,
}

impl CatalogType {
    pub const ALL: [CatalogType; 2] = [CatalogType::CompanyLocation, CatalogType::Market];

    /// The `CatalogType` enum value.
    pub fn as_graphql(self) -> &'static str {
        match self {
            CatalogType::CompanyLocation => "COMPANY_LOCATION",
            CatalogType::Market => "MARKET",
        }
    }

    /// The GID type name of its catalogs.
    pub fn gid_type(self) -> &'static str {
        match self {
            CatalogType::CompanyLocation => "CompanyLocationCatalog",
            CatalogType::Market => "MarketCatalog",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CatalogType::CompanyLocation => "company_location",
            CatalogType::Market => "market",
        }
    }
}

/// A catalog's price list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceListRef {
    /// `gid://shopify/PriceList/N`.
    pub id: String,
    /// ISO 4217 code (`CurrencyCode`).
    pub currency: String,
}

/// A market or company location linked to a catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogLink {
    pub id: String,
    pub name: String,
    /// A company location's `externalId` (the BC customer it stands for, when sync-companies set
    /// it); `None` for markets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
}

/// One catalog as Shopify has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShopifyCatalog {
    /// `gid://shopify/CompanyLocationCatalog/N` or `gid://shopify/MarketCatalog/N`.
    pub id: String,
    pub catalog_type: CatalogType,
    pub title: String,
    /// `CatalogStatus`: `ACTIVE`, `DRAFT`, `ARCHIVED`.
    pub status: String,
    pub price_list: Option<PriceListRef>,
    pub publication_id: Option<String>,
    /// Linked markets (market catalogs), as far as the read goes ([`MAX_LINKS_READ`]).
    pub markets: Vec<CatalogLink>,
    /// Linked company locations (company-location catalogs), likewise.
    pub company_locations: Vec<CatalogLink>,
}

/// How many markets or company locations a catalog read returns with each catalog.
pub const MAX_LINKS_READ: usize = 5;

/// A page of catalogs, with the shop's own currency (read in the same query, one point): a price
/// list in the shop's currency is priced in the shop's BC currency.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogsPage {
    pub shop_currency: String,
    pub page: Page<ShopifyCatalog>,
}

/// One fixed price of a price list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FixedPrice {
    pub variant_id: String,
    pub price: Decimal,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compare_at: Option<Decimal>,
    pub currency: String,
}

/// One row of a `priceListFixedPricesAdd`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FixedPriceInput {
    pub variant_id: String,
    pub price: Decimal,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compare_at: Option<Decimal>,
}

impl FixedPriceInput {
    /// Whether Shopify's `current` fixed price (if any) is already this row: same price and same
    /// compare-at price, compared as numbers (`"10.5"` is `"10.50"`).
    pub fn same_as(&self, current: Option<&FixedPrice>) -> bool {
        let Some(c) = current else { return false };
        let eq = |a: &Decimal, b: &Decimal| compare_amounts(a, b) == Ordering::Equal;
        eq(&self.price, &c.price)
            && match (&self.compare_at, &c.compare_at) {
                (None, None) => true,
                (Some(a), Some(b)) => eq(a, b),
                _ => false,
            }
    }
}

fn compare_amounts(a: &Decimal, b: &Decimal) -> Ordering {
    crate::items::compare_decimals(a, b)
}

/// A `priceListFixedPricesAdd` call: rows in the price list's currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FixedPricesAddRequest {
    pub price_list_id: String,
    pub currency: String,
    pub prices: Vec<FixedPriceInput>,
}

impl FixedPricesAddRequest {
    /// Checked before sending (a failure is a planning bug: `Internal`): a price list GID, an ISO currency, 1..=250 rows of variant GIDs with
    /// non-negative prices.
    pub fn validate(&self) -> Result<(), SyncError> {
        let bad = |m: String| Err(SyncError::Internal(m));
        if !is_gid_of(&self.price_list_id, "PriceList") {
            return bad(format!(
                "'{}' is not a price list id",
                crate::text::preview(&self.price_list_id)
            ));
        }
        if !is_currency_code(&self.currency) {
            return bad(format!(
                "'{}' is not a currency code",
                crate::text::preview(&self.currency)
            ));
        }
        if self.prices.is_empty() || self.prices.len() > MAX_FIXED_PRICES_PER_CALL {
            return bad(format!(
                "{} fixed prices in one call; 1 to {MAX_FIXED_PRICES_PER_CALL} allowed",
                self.prices.len()
            ));
        }
        for p in &self.prices {
            if !is_gid_of(&p.variant_id, "ProductVariant") {
                return bad(format!(
                    "'{}' is not a variant id",
                    crate::text::preview(&p.variant_id)
                ));
            }
            if p.price.is_negative() || p.compare_at.as_ref().is_some_and(Decimal::is_negative) {
                return bad(format!("negative price for {}", p.variant_id));
            }
        }
        Ok(())
    }
}

/// One `PriceListPriceUserError`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceUserError {
    #[serde(default)]
    pub field: Vec<String>,
    pub message: String,
    #[serde(default)]
    pub code: Option<String>,
}

impl PriceUserError {
    /// The row of the request the error names (`["prices", "3", …]`), if it names one.
    pub fn row(&self) -> Option<usize> {
        match self.field.as_slice() {
            [first, index, ..] if first == "prices" => index.parse().ok(),
            _ => None,
        }
    }
}

/// What a `priceListFixedPricesAdd` answered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FixedPricesAddOutcome {
    /// The variants whose fixed price Shopify reports as added or updated.
    pub applied: Vec<String>,
    pub user_errors: Vec<PriceUserError>,
}

/// `gid://shopify/<ty>/<digits>`.
pub fn is_gid_of(id: &str, ty: &str) -> bool {
    numeric_gid(id, ty).is_some()
}

/// The numeric part of `gid://shopify/<ty>/<digits>`.
pub fn numeric_gid<'a>(id: &'a str, ty: &str) -> Option<&'a str> {
    let rest = id.strip_prefix("gid://shopify/")?.strip_prefix(ty)?;
    let n = rest.strip_prefix('/')?;
    (!n.is_empty() && n.len() <= 20 && n.bytes().all(|b| b.is_ascii_digit())).then_some(n)
}

/// Three upper-case letters (ISO 4217, as `CurrencyCode` writes it).
pub fn is_currency_code(s: &str) -> bool {
    s.len() == 3 && s.bytes().all(|b| b.is_ascii_uppercase())
}

/// The catalog side of Shopify.
#[async_trait]
pub trait ShopifyB2bCatalogsApi: Send + Sync {
    /// One page of the catalogs of `catalog_type` (every status), after `after`.
    async fn catalogs_page(
        &self,
        catalog_type: CatalogType,
        after: Option<&str>,
    ) -> Result<CatalogsPage, SyncError>;

    /// One page of the fixed prices (`originType: FIXED`) of a price list; `NotFound` when the price
    /// list is gone.
    async fn price_list_fixed_prices_page(
        &self,
        price_list_id: &str,
        after: Option<&str>,
    ) -> Result<Page<FixedPrice>, SyncError>;

    /// `priceListFixedPricesAdd` of at most [`MAX_FIXED_PRICES_PER_CALL`] rows. userErrors are data,
    /// returned in the outcome.
    async fn price_list_fixed_prices_add(
        &self,
        request: &FixedPricesAddRequest,
    ) -> Result<FixedPricesAddOutcome, SyncError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        Decimal::parse(s).unwrap()
    }

    #[test]
    fn gids_are_checked_strictly() {
        assert_eq!(
            numeric_gid("gid://shopify/PriceList/31", "PriceList"),
            Some("31")
        );
        assert!(!is_gid_of("gid://shopify/PriceList/31/x", "PriceList"));
        assert!(!is_gid_of("gid://shopify/PriceListX/31", "PriceList"));
        assert!(!is_gid_of("gid://shopify/PriceList/", "PriceList"));
        assert!(is_currency_code("EUR") && !is_currency_code("eur") && !is_currency_code("EURO"));
    }

    #[test]
    fn same_price_compares_numbers() {
        let row = FixedPriceInput {
            variant_id: "gid://shopify/ProductVariant/1".into(),
            price: d("10.5"),
            compare_at: None,
        };
        let mut current = FixedPrice {
            variant_id: row.variant_id.clone(),
            price: d("10.50"),
            compare_at: None,
            currency: "EUR".into(),
        };
        assert!(row.same_as(Some(&current)));
        current.compare_at = Some(d("12"));
        assert!(!row.same_as(Some(&current)));
        assert!(!row.same_as(None));
    }

    #[test]
    fn requests_are_bounded() {
        let row = |n: usize| FixedPriceInput {
            variant_id: format!("gid://shopify/ProductVariant/{n}"),
            price: d("1"),
            compare_at: None,
        };
        let mut r = FixedPricesAddRequest {
            price_list_id: "gid://shopify/PriceList/1".into(),
            currency: "EUR".into(),
            prices: (0..250).map(row).collect(),
        };
        assert!(r.validate().is_ok());
        r.prices.push(row(250));
        assert!(r.validate().is_err());
        r.prices.clear();
        assert!(r.validate().is_err());
    }

    #[test]
    fn user_errors_name_their_row() {
        let e = PriceUserError {
            field: vec!["prices".into(), "3".into(), "price".into()],
            message: "x".into(),
            code: None,
        };
        assert_eq!(e.row(), Some(3));
    }
}
