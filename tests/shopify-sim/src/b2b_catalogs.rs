//! Catalogs (company-location and market), their publications and price lists with fixed prices,
//! and `priceListFixedPricesAdd` — the data and the schema subset (names as in
//! admin-2026-07.graphql); field resolution is in `exec_b2b_catalogs.rs`.
//!
//! Shapes follow the recorded answers in `shopify/captures/markets` (`catalogs-connection-read`,
//! `price-list-fixed-prices-*`): `priceListFixedPricesAdd` answers `prices` and `userErrors` with
//! `field: ["prices", "<row>", …]`; a call with any refused row applies nothing (`prices: []`), as
//! the recorded currency-mismatch answer shows. More than 250 rows is a top-level
//! `MAX_INPUT_SIZE_EXCEEDED`, as for every input list.
//!
//! # Known simplifications
//! * `catalogs(query:)` is not searched (the sync reads by `type` only); `sortKey` is id order.
//! * A price list has fixed prices only: `prices(originType:)` lists them whatever the argument
//!   (relative prices from a parent adjustment are not modelled).

use std::collections::BTreeMap;

use crate::schema::{FK, N, T};
use crate::store::StoreData;
use crate::{StoreHandle, lock};

/// Catalogs-side types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BT {
    /// The `Catalog` interface.
    Catalog,
    MarketCatalog,
    CompanyLocationCatalog,
    PriceList,
    PriceListPrice,
    Publication,
    Market,
    AddPayload,
    PriceUserError,
}

impl BT {
    const ALL: [BT; 9] = [
        BT::Catalog,
        BT::MarketCatalog,
        BT::CompanyLocationCatalog,
        BT::PriceList,
        BT::PriceListPrice,
        BT::Publication,
        BT::Market,
        BT::AddPayload,
        BT::PriceUserError,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            BT::Catalog => "Catalog",
            BT::MarketCatalog => "MarketCatalog",
            BT::CompanyLocationCatalog => "CompanyLocationCatalog",
            BT::PriceList => "PriceList",
            BT::PriceListPrice => "PriceListPrice",
            BT::Publication => "Publication",
            BT::Market => "Market",
            BT::AddPayload => "PriceListFixedPricesAddPayload",
            BT::PriceUserError => "PriceListPriceUserError",
        }
    }

    pub(crate) fn by_name(name: &str) -> Option<BT> {
        BT::ALL.into_iter().find(|b| b.name() == name)
    }
}

/// The concrete types of the `Catalog` interface.
pub(crate) const CATALOG_TYPES: [T; 2] = [
    T::B2b(BT::MarketCatalog),
    T::B2b(BT::CompanyLocationCatalog),
];

const NONE: &[&str] = &[];
const ID: &[&str] = &["id"];
const CATALOGS_PAGE: &[&str] = &[
    "type", "first", "after", "last", "before", "reverse", "sortKey", "query",
];
const PAGE: &[&str] = &[
    "first", "after", "last", "before", "reverse", "sortKey", "query",
];
const MARKETS_PAGE: &[&str] = &[
    "type", "status", "first", "after", "last", "before", "reverse",
];
const PRICES_PAGE: &[&str] = &[
    "originType",
    "first",
    "after",
    "last",
    "before",
    "reverse",
    "query",
];

/// Catalogs-side fields.
pub(crate) fn field(t: T, name: &str) -> Option<(FK, &'static [&'static str])> {
    use FK::*;
    let s = (Scalar, NONE);
    let b = T::B2b;
    let is_catalog = |t: T| {
        matches!(
            t,
            T::B2b(BT::Catalog | BT::MarketCatalog | BT::CompanyLocationCatalog)
        )
    };
    Some(match (t, name) {
        (T::Query, "catalogs") => (Conn(N::Catalog), CATALOGS_PAGE),
        (T::Query, "priceList") => (Obj(b(BT::PriceList)), ID),
        (T::Mutation, "priceListFixedPricesAdd") => {
            (Obj(b(BT::AddPayload)), &["priceListId", "prices"])
        }
        (t, "id" | "title" | "status") if is_catalog(t) => s,
        (t, "priceList") if is_catalog(t) => (Obj(b(BT::PriceList)), NONE),
        (t, "publication") if is_catalog(t) => (Obj(b(BT::Publication)), NONE),
        (T::B2b(BT::MarketCatalog), "markets") => (Conn(N::Market), MARKETS_PAGE),
        (T::B2b(BT::CompanyLocationCatalog), "companyLocations") => {
            (Conn(N::CompanyLocation), PAGE)
        }
        (T::B2b(BT::PriceList), "id" | "name" | "currency" | "fixedPricesCount") => s,
        (T::B2b(BT::PriceList), "catalog") => (Obj(b(BT::Catalog)), NONE),
        (T::B2b(BT::PriceList), "prices") => (Conn(N::PriceListPrice), PRICES_PAGE),
        (T::B2b(BT::PriceListPrice), "originType") => s,
        (T::B2b(BT::PriceListPrice), "price" | "compareAtPrice") => (Obj(T::MoneyV2), NONE),
        (T::B2b(BT::PriceListPrice), "variant") => (Obj(T::ProductVariant), NONE),
        (T::B2b(BT::Publication), "id" | "autoPublish") => s,
        (T::B2b(BT::Market), "id" | "name" | "handle" | "status" | "enabled") => s,
        (T::B2b(BT::AddPayload), "prices") => (List(b(BT::PriceListPrice)), NONE),
        (T::B2b(BT::AddPayload), "userErrors") => (List(b(BT::PriceUserError)), NONE),
        (T::B2b(BT::PriceUserError), "field" | "message" | "code") => s,
        _ => return None,
    })
}

pub(crate) const GID_MARKET_CATALOG: &str = "gid://shopify/MarketCatalog/";
pub(crate) const GID_COMPANY_CATALOG: &str = "gid://shopify/CompanyLocationCatalog/";
pub(crate) const GID_PRICE_LIST: &str = "gid://shopify/PriceList/";
pub(crate) const GID_PUBLICATION: &str = "gid://shopify/Publication/";
pub(crate) const GID_MARKET: &str = "gid://shopify/Market/";

/// A catalog.
#[derive(Debug, Clone)]
pub(crate) struct CatalogRec {
    pub market: bool,
    pub title: String,
    pub status: String,
    pub price_list: Option<usize>,
    /// Index into [`B2bData::publications`] (the products it holds are not modelled).
    pub publication: Option<usize>,
    /// Indices into [`B2bData::markets`].
    pub markets: Vec<usize>,
    /// (GID, name, externalId) of each company location.
    pub locations: Vec<(String, String, Option<String>)>,
    pub deleted: bool,
}

/// A fixed price, in cents of its price list's currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FixedRec {
    pub price: i64,
    pub compare_at: Option<i64>,
}

/// A price list.
#[derive(Debug, Clone, Default)]
pub(crate) struct PriceListRec {
    pub name: String,
    pub currency: String,
    /// Variant index → fixed price.
    pub fixed: BTreeMap<usize, FixedRec>,
    pub catalog: Option<usize>,
}

/// Every catalogs-side record of a store.
#[derive(Debug, Default)]
pub(crate) struct B2bData {
    pub catalogs: Vec<CatalogRec>,
    pub price_lists: Vec<PriceListRec>,
    pub publications: usize,
    pub markets: Vec<String>,
    /// Every `priceListFixedPricesAdd` call that reached the store: (price list, rows).
    pub add_calls: Vec<(usize, usize)>,
}

impl B2bData {
    pub(crate) fn catalog_gid(&self, c: usize) -> String {
        let prefix = if self.catalogs[c].market {
            GID_MARKET_CATALOG
        } else {
            GID_COMPANY_CATALOG
        };
        format!("{prefix}{}", 1000 + c)
    }

    pub(crate) fn price_list_of(&self, gid: &str) -> Option<usize> {
        let n: usize = gid.strip_prefix(GID_PRICE_LIST)?.parse().ok()?;
        n.checked_sub(2000).filter(|&i| i < self.price_lists.len())
    }
}

/// Cents of a decimal amount with at most 2 decimals; `None` when unreadable.
pub(crate) fn cents(amount: &str) -> Option<i64> {
    let (whole, frac) = amount.split_once('.').unwrap_or((amount, ""));
    if whole.is_empty()
        || frac.len() > 2
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let frac = format!("{frac:0<2}");
    Some(whole.parse::<i64>().ok()? * 100 + frac.parse::<i64>().ok()?)
}

/// What a test seeds: one catalog.
#[derive(Debug, Clone)]
pub struct CatalogSeed {
    /// A market catalog (else a company-location catalog).
    pub market: bool,
    pub title: String,
    /// `ACTIVE`, `DRAFT` or `ARCHIVED`.
    pub status: String,
    /// Currency of its price list; `None`: no price list.
    pub currency: Option<String>,
    /// Whether it has a publication (an empty one: products are not modelled).
    pub publication: bool,
    /// Market names (market catalogs).
    pub markets: Vec<String>,
    /// (GID, name, externalId) of company locations (company-location catalogs).
    pub locations: Vec<(String, String, Option<String>)>,
}

/// The GIDs of a seeded catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeededCatalog {
    pub id: String,
    pub price_list_id: Option<String>,
}

/// A fixed price as a test reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimFixedPrice {
    pub variant_id: String,
    /// Shopify's decimal text (`"17.5"`).
    pub amount: String,
    pub compare_at: Option<String>,
}

fn seed(st: &mut StoreData, seed: CatalogSeed) -> SeededCatalog {
    let c = st.b2b.catalogs.len();
    let price_list = seed.currency.map(|currency| {
        st.b2b.price_lists.push(PriceListRec {
            name: format!("{} prices", seed.title),
            currency,
            fixed: BTreeMap::new(),
            catalog: Some(c),
        });
        st.b2b.price_lists.len() - 1
    });
    let publication = seed.publication.then(|| {
        st.b2b.publications += 1;
        st.b2b.publications - 1
    });
    let markets = seed
        .markets
        .into_iter()
        .map(|m| {
            st.b2b.markets.push(m);
            st.b2b.markets.len() - 1
        })
        .collect();
    st.b2b.catalogs.push(CatalogRec {
        market: seed.market,
        title: seed.title,
        status: seed.status,
        price_list,
        publication,
        markets,
        locations: seed.locations,
        deleted: false,
    });
    SeededCatalog {
        id: st.b2b.catalog_gid(c),
        price_list_id: price_list.map(|p| format!("{GID_PRICE_LIST}{}", 2000 + p)),
    }
}

impl StoreHandle {
    /// Adds a catalog (with its price list and publication when the seed asks).
    pub fn add_catalog(&self, catalog: CatalogSeed) -> SeededCatalog {
        seed(&mut lock(&self.data), catalog)
    }

    /// Deletes a catalog (it is no longer listed).
    ///
    /// # Panics
    /// On an unknown catalog id.
    pub fn delete_catalog(&self, catalog_id: &str) {
        let mut st = lock(&self.data);
        let c = (0..st.b2b.catalogs.len())
            .find(|&c| st.b2b.catalog_gid(c) == catalog_id)
            .expect("a seeded catalog");
        st.b2b.catalogs[c].deleted = true;
    }

    /// The fixed prices of a price list, in variant order.
    pub fn fixed_prices(&self, price_list_id: &str) -> Vec<SimFixedPrice> {
        let st = lock(&self.data);
        let Some(p) = st.b2b.price_list_of(price_list_id) else {
            return Vec::new();
        };
        st.b2b.price_lists[p]
            .fixed
            .iter()
            .map(|(v, f)| SimFixedPrice {
                variant_id: st.gid(crate::store::GID_VARIANT, *v),
                amount: crate::orders::decimal(f.price),
                compare_at: f.compare_at.map(crate::orders::decimal),
            })
            .collect()
    }

    /// How many `priceListFixedPricesAdd` calls reached the store, and their row counts.
    pub fn fixed_price_calls(&self) -> Vec<usize> {
        lock(&self.data)
            .b2b
            .add_calls
            .iter()
            .map(|(_, rows)| *rows)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_read_to_the_cent() {
        assert_eq!(cents("17.5"), Some(1750));
        assert_eq!(cents("812.34"), Some(81234));
        assert_eq!(cents("3"), Some(300));
        assert_eq!(cents("1.234"), None);
        assert_eq!(cents("-1"), None);
    }
}
