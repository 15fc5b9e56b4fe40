//! The subset of the Admin API schema the simulator serves (names as in admin-2026-07.graphql).
//!
//! Kept as a hand-written table rather than the 3.8 MB SDL: the simulator only has to answer
//! the documents the sync sends, and any field outside this table is reported exactly like
//! Shopify reports an undefined field, so a document drifting from the subset fails loudly.

/// Node types that appear in connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum N {
    Location,
    ProductVariant,
    InventoryItem,
    InventoryLevel,
    BulkOperation,
}

impl N {
    pub(crate) fn node_type(self) -> T {
        match self {
            N::Location => T::Location,
            N::ProductVariant => T::ProductVariant,
            N::InventoryItem => T::InventoryItem,
            N::InventoryLevel => T::InventoryLevel,
            N::BulkOperation => T::BulkOperation,
        }
    }
}

/// Output types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum T {
    Query,
    Mutation,
    Shop,
    ShopPlan,
    Location,
    ProductVariant,
    Product,
    InventoryItem,
    InventoryLevel,
    InventoryQuantity,
    BulkOperation,
    SetQuantitiesPayload,
    AdjustmentGroup,
    InventoryChange,
    SetQuantitiesUserError,
    BulkRunQueryPayload,
    BulkOperationUserError,
    BulkCancelPayload,
    UserError,
    PageInfo,
    Count,
    Node,
    Conn(N),
    Edge(N),
}

impl T {
    pub(crate) fn name(self) -> &'static str {
        match self {
            T::Query => "QueryRoot",
            T::Mutation => "Mutation",
            T::Shop => "Shop",
            T::ShopPlan => "ShopPlan",
            T::Location => "Location",
            T::ProductVariant => "ProductVariant",
            T::Product => "Product",
            T::InventoryItem => "InventoryItem",
            T::InventoryLevel => "InventoryLevel",
            T::InventoryQuantity => "InventoryQuantity",
            T::BulkOperation => "BulkOperation",
            T::SetQuantitiesPayload => "InventorySetQuantitiesPayload",
            T::AdjustmentGroup => "InventoryAdjustmentGroup",
            T::InventoryChange => "InventoryChange",
            T::SetQuantitiesUserError => "InventorySetQuantitiesUserError",
            T::BulkRunQueryPayload => "BulkOperationRunQueryPayload",
            T::BulkOperationUserError => "BulkOperationUserError",
            T::BulkCancelPayload => "BulkOperationCancelPayload",
            T::UserError => "UserError",
            T::PageInfo => "PageInfo",
            T::Count => "Count",
            T::Node => "Node",
            T::Conn(N::Location) => "LocationConnection",
            T::Conn(N::ProductVariant) => "ProductVariantConnection",
            T::Conn(N::InventoryItem) => "InventoryItemConnection",
            T::Conn(N::InventoryLevel) => "InventoryLevelConnection",
            T::Conn(N::BulkOperation) => "BulkOperationConnection",
            T::Edge(N::Location) => "LocationEdge",
            T::Edge(N::ProductVariant) => "ProductVariantEdge",
            T::Edge(N::InventoryItem) => "InventoryItemEdge",
            T::Edge(N::InventoryLevel) => "InventoryLevelEdge",
            T::Edge(N::BulkOperation) => "BulkOperationEdge",
        }
    }

    /// Concrete types that implement `Node` in this subset.
    pub(crate) const NODE_TYPES: [T; 6] = [
        T::Location,
        T::ProductVariant,
        T::Product,
        T::InventoryItem,
        T::InventoryLevel,
        T::BulkOperation,
    ];

    pub(crate) fn is_node(self) -> bool {
        Self::NODE_TYPES.contains(&self)
    }

    /// Does a fragment with type condition `cond` apply to an object of runtime type `self`?
    pub(crate) fn matches(self, cond: &str) -> bool {
        cond == self.name() || (cond == "Node" && (self.is_node() || self == T::Node))
    }

    /// Known type names usable as fragment conditions.
    pub(crate) fn by_name(name: &str) -> Option<T> {
        const ALL: [T; 22] = [
            T::Query,
            T::Mutation,
            T::Shop,
            T::ShopPlan,
            T::Location,
            T::ProductVariant,
            T::Product,
            T::InventoryItem,
            T::InventoryLevel,
            T::InventoryQuantity,
            T::BulkOperation,
            T::SetQuantitiesPayload,
            T::AdjustmentGroup,
            T::InventoryChange,
            T::SetQuantitiesUserError,
            T::BulkRunQueryPayload,
            T::BulkOperationUserError,
            T::BulkCancelPayload,
            T::UserError,
            T::PageInfo,
            T::Count,
            T::Node,
        ];
        ALL.into_iter().find(|t| t.name() == name)
    }
}

/// What a field returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FK {
    /// Scalar or enum (cost 0).
    Scalar,
    /// Single object (cost 1 + children).
    Obj(T),
    /// Plain list of objects (cost 1 + children of one element).
    List(T),
    /// Paginated connection (cost 2 + first x node).
    Conn(N),
}

const PAGE: &[&str] = &[
    "first", "after", "last", "before", "reverse", "sortKey", "query",
];
const LOC_PAGE: &[&str] = &[
    "first",
    "after",
    "last",
    "before",
    "reverse",
    "sortKey",
    "query",
    "includeInactive",
    "includeLegacy",
];
const NONE: &[&str] = &[];
const ID: &[&str] = &["id"];

/// Field definition: return kind and accepted argument names.
pub(crate) fn field(t: T, name: &str) -> Option<(FK, &'static [&'static str])> {
    use FK::*;
    let s = (Scalar, NONE);
    let r: (FK, &'static [&'static str]) = match (t, name) {
        (T::Query, "shop") => (Obj(T::Shop), NONE),
        (T::Query, "location") => (Obj(T::Location), ID),
        (T::Query, "locations") => (Conn(N::Location), LOC_PAGE),
        (T::Query, "productVariant") => (Obj(T::ProductVariant), ID),
        (T::Query, "productVariants") => (Conn(N::ProductVariant), PAGE),
        (T::Query, "product") => (Obj(T::Product), ID),
        (T::Query, "inventoryItem") => (Obj(T::InventoryItem), ID),
        (T::Query, "inventoryItems") => (Conn(N::InventoryItem), PAGE),
        (T::Query, "inventoryLevel") => (Obj(T::InventoryLevel), ID),
        (T::Query, "node") => (Obj(T::Node), ID),
        (T::Query, "nodes") => (List(T::Node), &["ids"]),
        (T::Query, "bulkOperation") => (Obj(T::BulkOperation), ID),
        (T::Query, "bulkOperations") => (Conn(N::BulkOperation), PAGE),
        (T::Query, "productVariantsCount") => (Obj(T::Count), &["query", "limit"]),

        (T::Mutation, "inventorySetQuantities") => (Obj(T::SetQuantitiesPayload), &["input"]),
        (T::Mutation, "bulkOperationRunQuery") => {
            (Obj(T::BulkRunQueryPayload), &["query", "groupObjects"])
        }
        (T::Mutation, "bulkOperationCancel") => (Obj(T::BulkCancelPayload), ID),

        (T::Shop, "id" | "name" | "myshopifyDomain" | "email" | "currencyCode") => s,
        (T::Shop, "plan") => (Obj(T::ShopPlan), NONE),
        (
            T::ShopPlan,
            "displayName" | "publicDisplayName" | "partnerDevelopment" | "shopifyPlus",
        ) => s,

        (T::Node, "id") => s,

        (
            T::Location,
            "id"
            | "name"
            | "isActive"
            | "legacyResourceId"
            | "fulfillsOnlineOrders"
            | "hasActiveInventory",
        ) => s,
        (T::Location, "inventoryLevels") => (Conn(N::InventoryLevel), PAGE),
        (T::Location, "inventoryLevel") => (Obj(T::InventoryLevel), &["inventoryItemId"]),

        (
            T::ProductVariant,
            "id" | "sku" | "barcode" | "title" | "displayName" | "legacyResourceId"
            | "inventoryQuantity",
        ) => s,
        (T::ProductVariant, "product") => (Obj(T::Product), NONE),
        (T::ProductVariant, "inventoryItem") => (Obj(T::InventoryItem), NONE),

        (
            T::Product,
            "id" | "title" | "legacyResourceId" | "totalInventory" | "tracksInventory",
        ) => s,
        (T::Product, "variants") => (Conn(N::ProductVariant), PAGE),

        (T::InventoryItem, "id" | "sku" | "tracked" | "legacyResourceId" | "requiresShipping") => s,
        (T::InventoryItem, "variant") => (Obj(T::ProductVariant), NONE),
        (T::InventoryItem, "inventoryLevels") => (Conn(N::InventoryLevel), PAGE),
        (T::InventoryItem, "inventoryLevel") => {
            (Obj(T::InventoryLevel), &["locationId", "includeInactive"])
        }

        (T::InventoryLevel, "id" | "isActive" | "canDeactivate" | "createdAt" | "updatedAt") => s,
        (T::InventoryLevel, "location") => (Obj(T::Location), NONE),
        (T::InventoryLevel, "item") => (Obj(T::InventoryItem), NONE),
        (T::InventoryLevel, "quantities") => (List(T::InventoryQuantity), &["names"]),

        (T::InventoryQuantity, "id" | "name" | "quantity" | "updatedAt") => s,

        (
            T::BulkOperation,
            "id" | "status" | "errorCode" | "createdAt" | "completedAt" | "objectCount"
            | "rootObjectCount" | "fileSize" | "url" | "partialDataUrl" | "type" | "query",
        ) => s,

        (T::SetQuantitiesPayload, "inventoryAdjustmentGroup") => (Obj(T::AdjustmentGroup), NONE),
        (T::SetQuantitiesPayload, "userErrors") => (List(T::SetQuantitiesUserError), NONE),
        (T::AdjustmentGroup, "id" | "createdAt" | "reason" | "referenceDocumentUri") => s,
        (T::AdjustmentGroup, "changes") => (
            List(T::InventoryChange),
            &["inventoryItemIds", "locationIds", "quantityNames"],
        ),
        (T::InventoryChange, "name" | "delta" | "quantityAfterChange" | "ledgerDocumentUri") => s,
        (T::InventoryChange, "item") => (Obj(T::InventoryItem), NONE),
        (T::InventoryChange, "location") => (Obj(T::Location), NONE),
        (T::SetQuantitiesUserError | T::BulkOperationUserError, "field" | "message" | "code") => s,
        (T::UserError, "field" | "message") => s,

        (T::BulkRunQueryPayload, "bulkOperation") => (Obj(T::BulkOperation), NONE),
        (T::BulkRunQueryPayload, "userErrors") => (List(T::BulkOperationUserError), NONE),
        (T::BulkCancelPayload, "bulkOperation") => (Obj(T::BulkOperation), NONE),
        (T::BulkCancelPayload, "userErrors") => (List(T::UserError), NONE),

        (T::Count, "count" | "precision") => s,
        (T::PageInfo, "hasNextPage" | "hasPreviousPage" | "startCursor" | "endCursor") => s,
        (T::Conn(n), "nodes") => (List(n.node_type()), NONE),
        (T::Conn(n), "edges") => (List(T::Edge(n)), NONE),
        (T::Conn(_), "pageInfo") => (Obj(T::PageInfo), NONE),
        (T::Edge(_), "cursor") => s,
        (T::Edge(n), "node") => (Obj(n.node_type()), NONE),
        _ => return None,
    };
    Some(r)
}
