//! Catalogs, price lists and fixed prices ([`ShopifyB2bCatalogsApi`]): the documents
//! `B2bCatalogsPage`, `PriceListFixedPrices` and `PriceListFixedPricesAdd`, and their decoding,
//! held against the recorded answers of `shopify/captures/markets` (`tests/b2b_catalogs.rs`).
//!
//! Catalogs are read per type through the `catalogs(type:)` connection with their price list,
//! publication and the first [`MAX_LINKS_READ`] linked markets or company locations; the catalog's
//! type is taken from `__typename` and must agree with the type asked for (a catalog of another
//! type is refused as `Unexpected`, not silently mirrored under the wrong type).
//!
//! `priceListFixedPricesAdd` offers no `@idempotent` key in 2026-07, and needs none: it sets each
//! variant's fixed price, so a resend after a lost answer leaves the state the first call left.
//! It is therefore sent like a read ([`ShopifyClient::execute`], resent after transport failures).
//! Every value that lands in a variable is checked first (GIDs, currency, 1..=250 rows).

use crate::client::ShopifyClient;
use crate::documents::Document;
use crate::error::ShopifyError;
use crate::pagination::PagedData;
use crate::pagination::{next_cursor, page_of};
use crate::wire::Connection;
use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{Value, json};
use shopsync_domain::SyncError;
use shopsync_domain::b2b_catalogs::{
    CatalogLink, CatalogType, CatalogsPage, FixedPrice, FixedPricesAddOutcome,
    FixedPricesAddRequest, MAX_LINKS_READ, PriceListRef, PriceUserError, ShopifyB2bCatalogsApi,
    ShopifyCatalog, is_gid_of,
};
use shopsync_domain::orders::Page;
use shopsync_domain::sales::Decimal;
use shopsync_domain::text::preview;

macro_rules! b2b_document {
    ($ident:ident, $name:literal) => {
        pub const $ident: Document = Document::new(
            $name,
            include_str!(concat!("../graphql/", $name, ".graphql")),
        );
    };
}

b2b_document!(B2B_CATALOGS_PAGE, "B2bCatalogsPage");
b2b_document!(PRICE_LIST_FIXED_PRICES, "PriceListFixedPrices");
b2b_document!(PRICE_LIST_FIXED_PRICES_ADD, "PriceListFixedPricesAdd");

/// Every catalogs document (for the schema tests).
pub const B2B_CATALOG_OPERATIONS: &[Document] = &[
    B2B_CATALOGS_PAGE,
    PRICE_LIST_FIXED_PRICES,
    PRICE_LIST_FIXED_PRICES_ADD,
];

// ---------------------------------------------------------------------------------------------
// Wire shapes
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ShopCurrency {
    currency_code: String,
}

#[derive(Debug, Clone, Deserialize)]
struct IdOnly {
    id: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LinkNode {
    id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    external_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct Nodes<N> {
    #[serde(default = "Vec::new")]
    nodes: Vec<N>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CatalogNode {
    #[serde(rename = "__typename")]
    typename: String,
    id: String,
    title: String,
    status: String,
    #[serde(default)]
    price_list: Option<PriceListRef>,
    #[serde(default)]
    publication: Option<IdOnly>,
    #[serde(default)]
    markets: Option<Nodes<LinkNode>>,
    #[serde(default)]
    company_locations: Option<Nodes<LinkNode>>,
}

#[derive(Debug, Clone, Deserialize)]
struct CatalogsData {
    shop: ShopCurrency,
    catalogs: Connection<CatalogNode>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct MoneyV2 {
    amount: String,
    currency_code: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PriceNode {
    price: MoneyV2,
    #[serde(default)]
    compare_at_price: Option<MoneyV2>,
    variant: IdOnly,
}

#[derive(Debug, Clone, Deserialize)]
struct PriceListNode {
    prices: Connection<PriceNode>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PricesData {
    #[serde(default)]
    price_list: Option<PriceListNode>,
}

impl PagedData for PricesData {
    type Node = PriceNode;
    const CONNECTION: &'static str = "priceList.prices";
    fn into_connection(self) -> Option<Connection<PriceNode>> {
        self.price_list.map(|p| p.prices)
    }
}

impl PagedData for CatalogsData {
    type Node = CatalogNode;
    const CONNECTION: &'static str = "catalogs";
    fn into_connection(self) -> Option<Connection<CatalogNode>> {
        Some(self.catalogs)
    }
}

fn unexpected(m: String) -> ShopifyError {
    ShopifyError::Unexpected(m)
}

fn decimal(amount: &str, what: &str) -> Result<Decimal, ShopifyError> {
    Decimal::parse(amount).map_err(|e| {
        unexpected(format!(
            "{what} {:?} is not a decimal: {e}",
            preview(amount)
        ))
    })
}

fn links(nodes: Option<Nodes<LinkNode>>) -> Vec<CatalogLink> {
    nodes
        .map(|n| n.nodes)
        .unwrap_or_default()
        .into_iter()
        .take(MAX_LINKS_READ)
        .map(|l| CatalogLink {
            id: l.id,
            name: l.name,
            external_id: l.external_id.filter(|e| !e.is_empty()),
        })
        .collect()
}

/// A decoded catalog node; `Err` when its type is not `expected`.
fn catalog_from_node(
    node: CatalogNode,
    expected: CatalogType,
) -> Result<ShopifyCatalog, ShopifyError> {
    if node.typename != expected.gid_type() || !is_gid_of(&node.id, expected.gid_type()) {
        return Err(unexpected(format!(
            "catalogs(type: {}) returned {} {:?}",
            expected.as_graphql(),
            preview(&node.typename),
            preview(&node.id)
        )));
    }
    Ok(ShopifyCatalog {
        id: node.id,
        catalog_type: expected,
        title: node.title,
        status: node.status,
        price_list: node.price_list,
        publication_id: node.publication.map(|p| p.id),
        markets: links(node.markets),
        company_locations: links(node.company_locations),
    })
}

/// Decodes the `data` of a `B2bCatalogsPage` answer.
pub fn catalogs_page_from_data(
    data: Value,
    expected: CatalogType,
) -> Result<CatalogsPage, ShopifyError> {
    let data: CatalogsData =
        serde_json::from_value(data).map_err(|e| unexpected(format!("B2bCatalogsPage: {e}")))?;
    let shop_currency = data.shop.currency_code.clone();
    let page = page_of(data)?.ok_or_else(|| unexpected("catalogs missing".into()))?;
    Ok(CatalogsPage {
        shop_currency,
        page: Page {
            next_cursor: next_cursor(&page.page_info),
            items: page
                .nodes
                .into_iter()
                .map(|n| catalog_from_node(n, expected))
                .collect::<Result<_, _>>()?,
        },
    })
}

/// Decodes the `data` of a `PriceListFixedPrices` answer; `Ok(None)` when the price list is gone.
pub fn fixed_prices_from_data(data: Value) -> Result<Option<Page<FixedPrice>>, ShopifyError> {
    let data: PricesData = serde_json::from_value(data)
        .map_err(|e| unexpected(format!("PriceListFixedPrices: {e}")))?;
    let Some(page) = page_of(data)? else {
        return Ok(None);
    };
    let items = page
        .nodes
        .into_iter()
        .map(|n| {
            Ok(FixedPrice {
                variant_id: n.variant.id,
                price: decimal(&n.price.amount, "price")?,
                compare_at: n
                    .compare_at_price
                    .map(|c| decimal(&c.amount, "compareAtPrice"))
                    .transpose()?,
                currency: n.price.currency_code,
            })
        })
        .collect::<Result<_, ShopifyError>>()?;
    Ok(Some(Page {
        next_cursor: next_cursor(&page.page_info),
        items,
    }))
}

/// Decodes the `data` of a `priceListFixedPricesAdd` answer (the field itself may be aliased only
/// as `priceListFixedPricesAdd`).
pub fn fixed_prices_add_outcome(data: Value) -> Result<FixedPricesAddOutcome, ShopifyError> {
    #[derive(Deserialize)]
    struct Applied {
        variant: IdOnly,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Payload {
        #[serde(default)]
        prices: Option<Vec<Applied>>,
        #[serde(default)]
        user_errors: Vec<PriceUserError>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Data {
        price_list_fixed_prices_add: Option<Payload>,
    }
    let data: Data = serde_json::from_value(data)
        .map_err(|e| unexpected(format!("PriceListFixedPricesAdd: {e}")))?;
    let payload = data
        .price_list_fixed_prices_add
        .ok_or_else(|| unexpected("priceListFixedPricesAdd missing".into()))?;
    Ok(FixedPricesAddOutcome {
        applied: payload
            .prices
            .unwrap_or_default()
            .into_iter()
            .map(|p| p.variant.id)
            .collect(),
        user_errors: payload.user_errors,
    })
}

/// The variables of a `priceListFixedPricesAdd`, after the request's checks.
pub fn fixed_prices_add_variables(request: &FixedPricesAddRequest) -> Result<Value, ShopifyError> {
    request
        .validate()
        .map_err(|e| ShopifyError::InvalidRequest(e.to_string()))?;
    let prices: Vec<Value> = request
        .prices
        .iter()
        .map(|p| {
            let money =
                |d: &Decimal| json!({"amount": d.as_str(), "currencyCode": request.currency});
            let mut row = json!({"variantId": p.variant_id, "price": money(&p.price)});
            if let Some(c) = &p.compare_at {
                row["compareAtPrice"] = money(c);
            }
            row
        })
        .collect();
    Ok(json!({"priceListId": request.price_list_id, "prices": prices}))
}

impl ShopifyClient {
    /// One page of the catalogs of `catalog_type`.
    pub async fn b2b_catalogs_page(
        &self,
        catalog_type: CatalogType,
        after: Option<&str>,
    ) -> Result<CatalogsPage, ShopifyError> {
        let r = self
            .execute(
                &B2B_CATALOGS_PAGE,
                json!({"type": catalog_type.as_graphql(), "after": after}),
            )
            .await?;
        let data: Value = r.data_as(B2B_CATALOGS_PAGE.name)?;
        catalogs_page_from_data(data, catalog_type)
    }

    /// One page of a price list's fixed prices; `NotFound` when the price list is gone.
    pub async fn fixed_prices_page(
        &self,
        price_list_id: &str,
        after: Option<&str>,
    ) -> Result<Page<FixedPrice>, ShopifyError> {
        if !is_gid_of(price_list_id, "PriceList") {
            return Err(ShopifyError::InvalidRequest(format!(
                "{:?} is not a price list id",
                preview(price_list_id)
            )));
        }
        let r = self
            .execute(
                &PRICE_LIST_FIXED_PRICES,
                json!({"id": price_list_id, "after": after}),
            )
            .await?;
        let data: Value = r.data_as(PRICE_LIST_FIXED_PRICES.name)?;
        fixed_prices_from_data(data)?
            .ok_or_else(|| ShopifyError::NotFound(format!("price list {price_list_id}")))
    }

    /// `priceListFixedPricesAdd` (see the module's documentation on resending).
    pub async fn add_fixed_prices(
        &self,
        request: &FixedPricesAddRequest,
    ) -> Result<FixedPricesAddOutcome, ShopifyError> {
        let variables = fixed_prices_add_variables(request)?;
        let r = self
            .execute(&PRICE_LIST_FIXED_PRICES_ADD, variables)
            .await?;
        let data: Value = r.data_as(PRICE_LIST_FIXED_PRICES_ADD.name)?;
        fixed_prices_add_outcome(data)
    }
}

#[async_trait]
impl ShopifyB2bCatalogsApi for ShopifyClient {
    async fn catalogs_page(
        &self,
        catalog_type: CatalogType,
        after: Option<&str>,
    ) -> Result<CatalogsPage, SyncError> {
        Ok(self.b2b_catalogs_page(catalog_type, after).await?)
    }

    async fn price_list_fixed_prices_page(
        &self,
        price_list_id: &str,
        after: Option<&str>,
    ) -> Result<Page<FixedPrice>, SyncError> {
        Ok(self.fixed_prices_page(price_list_id, after).await?)
    }

    async fn price_list_fixed_prices_add(
        &self,
        request: &FixedPricesAddRequest,
    ) -> Result<FixedPricesAddOutcome, SyncError> {
        Ok(self.add_fixed_prices(request).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shopsync_domain::b2b_catalogs::FixedPriceInput;

    #[test]
    fn variables_carry_the_price_lists_currency_and_checked_ids() {
        let mut r = FixedPricesAddRequest {
            price_list_id: "gid://shopify/PriceList/7".into(),
            currency: "CAD".into(),
            prices: vec![FixedPriceInput {
                variant_id: "gid://shopify/ProductVariant/3".into(),
                price: Decimal::parse("812.34").unwrap(),
                compare_at: Some(Decimal::parse("845.67").unwrap()),
            }],
        };
        let v = fixed_prices_add_variables(&r).unwrap();
        assert_eq!(
            v["prices"][0]["price"],
            json!({"amount": "812.34", "currencyCode": "CAD"})
        );
        assert_eq!(v["prices"][0]["compareAtPrice"]["amount"], "845.67");
        r.prices[0].variant_id = "gid://shopify/ProductVariant/3\"}".into();
        assert!(fixed_prices_add_variables(&r).is_err());
    }

    #[test]
    fn a_catalog_of_another_type_is_refused() {
        let data = json!({
            "shop": {"currencyCode": "EUR"},
            "catalogs": {"nodes": [{"__typename": "MarketCatalog", "id": "gid://shopify/MarketCatalog/1",
                "title": "EU", "status": "ACTIVE", "priceList": null, "publication": null,
                "markets": {"nodes": []}}],
                "pageInfo": {"hasNextPage": false, "endCursor": null}}
        });
        assert!(catalogs_page_from_data(data.clone(), CatalogType::CompanyLocation).is_err());
        let page = catalogs_page_from_data(data, CatalogType::Market).unwrap();
        assert_eq!(page.shop_currency, "EUR");
        assert_eq!(page.page.items[0].catalog_type, CatalogType::Market);
    }
}
