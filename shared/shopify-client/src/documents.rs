//! The GraphQL documents the client sends, kept as `.graphql` files in `graphql/` so they can be
//! read, reviewed and validated against the real schema (`tests/documents.rs`) instead of being
//! assembled from strings at run time.
//!
//! Each file starts with `# cost: N`, the requested cost we expect Shopify to charge. The pacer
//! reserves that much before the first call of a document, so even the first call is paced
//! (the reference client sent unannotated documents with cost 0 and therefore unpaced).
//! After the first response the pacer uses the larger of the annotation and the observed
//! `requestedQueryCost`.
//!
//! The order documents share their selection through fragment files (`OrderFields.graphql`,
//! `LineItemFields.graphql`, …): a document is its operation file followed by the fragment files
//! it spreads, so the page query, the single-order query and the follow-ups cannot drift apart.

/// The Admin API version every document is written against and every URL is built with.
pub const API_VERSION: &str = "2026-07";

/// One GraphQL document with its name and expected requested cost.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Document {
    /// Operation name (the file name without `.graphql`); the pacer learns costs per name.
    pub name: &'static str,
    /// The document text as sent.
    pub text: &'static str,
}

impl Document {
    pub const fn new(name: &'static str, text: &'static str) -> Self {
        Document { name, text }
    }

    /// The `# cost: N` annotation on the first line; `None` if it is missing or malformed.
    pub fn annotated_cost(&self) -> Option<f64> {
        parse_cost_annotation(self.text)
    }

    /// The annotated cost, or 10 (a mutation's base cost) when a document has no annotation —
    /// never 0, so nothing is sent unpaced.
    pub fn expected_cost(&self) -> f64 {
        self.annotated_cost().unwrap_or(10.0)
    }
}

/// Reads `# cost: N` from the first line of a document.
pub fn parse_cost_annotation(text: &str) -> Option<f64> {
    let first = text.lines().next()?.trim();
    let rest = first.strip_prefix('#')?.trim_start();
    let value = rest.strip_prefix("cost:")?.trim();
    let v: f64 = value.parse().ok()?;
    (v.is_finite() && v >= 0.0).then_some(v)
}

macro_rules! document {
    ($(#[$meta:meta])* $ident:ident, $name:literal) => {
        $(#[$meta])*
        pub const $ident: Document =
            Document::new($name, include_str!(concat!("../graphql/", $name, ".graphql")));
    };
    // A document followed by the fragment files it spreads (each fragment kept in one file and
    // shared by every document that uses it; the `# cost:` line is the operation file's).
    ($(#[$meta:meta])* $ident:ident, $name:literal, [$($fragment:literal),+ $(,)?]) => {
        $(#[$meta])*
        pub const $ident: Document = Document::new(
            $name,
            concat!(
                include_str!(concat!("../graphql/", $name, ".graphql")),
                $("\n", include_str!(concat!("../graphql/", $fragment, ".graphql")),)+
            ),
        );
    };
}

document!(LOCATIONS, "Locations");
document!(PRODUCT_VARIANTS_PAGE, "ProductVariantsPage");
document!(PRODUCT_VARIANTS_COUNT, "ProductVariantsCount");
document!(LOCATION_INVENTORY_LEVELS, "LocationInventoryLevels");
document!(INVENTORY_SET_QUANTITIES, "InventorySetQuantities");
document!(
    /// The `available` level of up to [`MAX_NODE_IDS`] inventory items at one location.
    INVENTORY_ITEMS_LEVEL_AT,
    "InventoryItemsLevelAt"
);
document!(BULK_OPERATION_RUN_QUERY, "BulkOperationRunQuery");
document!(BULK_OPERATION_STATUS, "BulkOperationStatus");
document!(
    /// Inner query of a bulk operation (sent as a string variable, never executed directly).
    BULK_VARIANTS_QUERY,
    "BulkVariantsQuery"
);
document!(
    /// Inner query of a bulk operation: locations → inventory levels.
    BULK_LEVELS_QUERY,
    "BulkLevelsQuery"
);

// Orders, fulfillments and payments (`orders.rs`). The order selection lives in fragment files
// shared by the page query, the single-order query and the follow-ups.
document!(
    /// One page of the orders updated in a window (8 orders, 914 requested points).
    ORDERS_UPDATED_SINCE,
    "OrdersUpdatedSince",
    [
        "OrderFields",
        "LineItemFields",
        "ShippingLineFields",
        "TransactionFields",
        "RefundLineFields",
        "FulfillmentOrderFields",
        "FulfillmentOrderLineFields",
        "AddressFields",
        "MoneyBagFields",
    ]
);
document!(
    /// One order by id, selected like a page of [`ORDERS_UPDATED_SINCE`].
    ORDER,
    "Order",
    [
        "OrderFields",
        "LineItemFields",
        "ShippingLineFields",
        "TransactionFields",
        "RefundLineFields",
        "FulfillmentOrderFields",
        "FulfillmentOrderLineFields",
        "AddressFields",
        "MoneyBagFields",
    ]
);
document!(
    /// Lines of one order past the ones the order selection carries.
    ORDER_LINES,
    "OrderLines",
    ["LineItemFields", "MoneyBagFields"]
);
document!(
    /// Lines of one fulfillment order past the ones the order selection carries.
    FULFILLMENT_ORDER_LINES,
    "FulfillmentOrderLines",
    ["FulfillmentOrderLineFields"]
);
document!(
    /// The other lists of one order, when the order selection read them only in part.
    ORDER_DETAILS,
    "OrderDetails",
    [
        "ShippingLineFields",
        "TransactionFields",
        "RefundLineFields",
        "FulfillmentOrderFields",
        "FulfillmentOrderLineFields",
        "MoneyBagFields",
    ]
);
document!(
    /// The fulfillments of one order (the probe after a lost `fulfillmentCreate` answer).
    ORDER_FULFILLMENTS,
    "OrderFulfillments"
);
document!(FULFILLMENT_CREATE, "FulfillmentCreate");
document!(
    ORDER_UPDATE_CUSTOM_ATTRIBUTES,
    "OrderUpdateCustomAttributes"
);
document!(ORDER_CLOSE, "OrderClose");
document!(
    /// How many orders a sync window holds (up to a limit): paging or one bulk query.
    ORDERS_COUNT,
    "OrdersCount"
);
document!(
    /// Inner query of a bulk operation: the orders of a window with their lines and shipping
    /// lines (the search string is put in before it is sent; see `orders::bulk_orders_query`).
    BULK_ORDERS_QUERY,
    "BulkOrdersQuery",
    [
        "LineItemFields",
        "ShippingLineFields",
        "TransactionFields",
        "AddressFields",
        "MoneyBagFields",
    ]
);
document!(PAYOUTS, "Payouts");
document!(BALANCE_TRANSACTIONS, "BalanceTransactions");

/// Every operation document the client sends directly (for validation tests).
pub const OPERATIONS: &[Document] = &[
    LOCATIONS,
    PRODUCT_VARIANTS_PAGE,
    PRODUCT_VARIANTS_COUNT,
    LOCATION_INVENTORY_LEVELS,
    INVENTORY_SET_QUANTITIES,
    INVENTORY_ITEMS_LEVEL_AT,
    BULK_OPERATION_RUN_QUERY,
    BULK_OPERATION_STATUS,
    ORDERS_UPDATED_SINCE,
    ORDER,
    ORDER_LINES,
    FULFILLMENT_ORDER_LINES,
    ORDER_DETAILS,
    ORDER_FULFILLMENTS,
    FULFILLMENT_CREATE,
    ORDER_UPDATE_CUSTOM_ATTRIBUTES,
    ORDER_CLOSE,
    ORDERS_COUNT,
    PAYOUTS,
    BALANCE_TRANSACTIONS,
    crate::b2b_catalogs::B2B_CATALOGS_PAGE,
    crate::b2b_catalogs::PRICE_LIST_FIXED_PRICES,
    crate::b2b_catalogs::PRICE_LIST_FIXED_PRICES_ADD,
];

/// The mutations Shopify offers no `@idempotent` key for: sent at most once per call (see
/// `ShopifyClient::execute_at_most_once`), or — when resending changes nothing — like any other.
pub const NOT_IDEMPOTENT: &[Document] = &[FULFILLMENT_CREATE];

/// Most ids one `nodes(ids:)` query takes: Shopify refuses any input array of more than 250 items
/// (`MAX_INPUT_SIZE_EXCEEDED`).
pub const MAX_NODE_IDS: usize = 250;

/// The inner queries of bulk operations.
pub const BULK_QUERIES: &[Document] = &[BULK_VARIANTS_QUERY, BULK_LEVELS_QUERY, BULK_ORDERS_QUERY];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_document_is_annotated() {
        for doc in OPERATIONS.iter().chain(BULK_QUERIES) {
            assert!(
                doc.annotated_cost().is_some(),
                "{} lacks a `# cost: N` first line",
                doc.name
            );
        }
    }

    #[test]
    fn inventory_mutation_stays_within_ten_points() {
        assert_eq!(INVENTORY_SET_QUANTITIES.annotated_cost(), Some(10.0));
        assert!(
            INVENTORY_SET_QUANTITIES
                .text
                .contains("@idempotent(key: $key)")
        );
        let body: String = INVENTORY_SET_QUANTITIES
            .text
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .collect();
        assert!(!body.contains("inventoryAdjustmentGroup"), "{body}");
        assert!(body.contains("userErrors"));
    }

    #[test]
    fn stale_level_reread_is_three_points_for_up_to_250_items() {
        assert_eq!(INVENTORY_ITEMS_LEVEL_AT.annotated_cost(), Some(3.0));
        assert!(
            INVENTORY_ITEMS_LEVEL_AT
                .text
                .contains("nodes(ids: $inventoryItemIds)")
        );
        assert_eq!(MAX_NODE_IDS, 250);
    }

    #[test]
    fn annotation_parsing() {
        assert_eq!(parse_cost_annotation("# cost: 12\nquery {}"), Some(12.0));
        assert_eq!(parse_cost_annotation("#cost:3.5"), Some(3.5));
        assert_eq!(parse_cost_annotation("query { a }"), None);
        assert_eq!(parse_cost_annotation("# cost: lots"), None);
        assert_eq!(parse_cost_annotation("# cost: -1"), None);
        let d = Document::new("X", "query { a }");
        assert_eq!(d.expected_cost(), 10.0);
    }
}

// Catalogue: products, variants, media, staged uploads and bulk mutations (`catalog.rs`). The
// product and variant selections live in fragment files shared by the page query, the
// single-product query and the bulk result.
document!(
    /// One page of the products updated since a time, with their first variants and image.
    PRODUCTS_UPDATED_SINCE,
    "ProductsUpdatedSince",
    ["CatalogProductFields", "CatalogVariantFields"]
);
document!(
    /// One product with a page of its variants.
    CATALOG_PRODUCT,
    "CatalogProduct",
    ["CatalogProductFields", "CatalogVariantFields"]
);
document!(PRODUCT_SET, "ProductSet");
document!(STAGED_UPLOADS_CREATE, "StagedUploadsCreate");
document!(PRODUCT_ATTACH_MEDIA, "ProductAttachMedia");
document!(MEDIA_REPLACE, "MediaReplace");
document!(PRODUCT_MEDIA_LIST, "ProductMediaList");
document!(VARIANT_PRICES_UPDATE, "VariantPricesUpdate");
document!(BULK_OPERATION_RUN_MUTATION, "BulkOperationRunMutation");
document!(
    /// Inner mutation of a bulk operation (sent as a string variable): one `productSet` a line.
    BULK_PRODUCT_SET,
    "BulkProductSet"
);
document!(
    /// Inner mutation of a bulk operation: one product's variant prices a line.
    BULK_VARIANT_PRICES,
    "BulkVariantPrices"
);

/// Every catalogue operation document the client sends directly (validated like [`OPERATIONS`]).
pub const CATALOG_OPERATIONS: &[Document] = &[
    PRODUCTS_UPDATED_SINCE,
    CATALOG_PRODUCT,
    PRODUCT_SET,
    STAGED_UPLOADS_CREATE,
    PRODUCT_ATTACH_MEDIA,
    MEDIA_REPLACE,
    PRODUCT_MEDIA_LIST,
    VARIANT_PRICES_UPDATE,
    BULK_OPERATION_RUN_MUTATION,
];

/// The inner mutations of bulk mutations (executable documents, one run per JSONL line).
/// (The orders' bulk write-back runs [`ORDER_UPDATE_CUSTOM_ATTRIBUTES`], one order's own document,
/// validated with [`OPERATIONS`].)
pub const BULK_MUTATIONS: &[Document] = &[BULK_PRODUCT_SET, BULK_VARIANT_PRICES];

#[cfg(test)]
mod catalog_document_tests {
    use super::*;

    #[test]
    fn every_catalog_document_is_annotated() {
        for doc in CATALOG_OPERATIONS.iter().chain(BULK_MUTATIONS) {
            assert!(doc.annotated_cost().is_some(), "{}", doc.name);
        }
    }

    #[test]
    fn deprecated_media_mutations_are_not_used() {
        for doc in CATALOG_OPERATIONS.iter().chain(BULK_MUTATIONS) {
            let body: String = doc
                .text
                .lines()
                .filter(|l| !l.trim_start().starts_with('#'))
                .collect();
            for deprecated in ["productCreateMedia", "productUpdateMedia", "PRODUCT_IMAGE"] {
                assert!(!body.contains(deprecated), "{} uses {deprecated}", doc.name);
            }
        }
        assert!(PRODUCT_ATTACH_MEDIA.text.contains("productUpdate(product:"));
        assert!(MEDIA_REPLACE.text.contains("fileUpdate(files:"));
    }
}
