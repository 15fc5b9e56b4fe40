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
    Order,
    LineItem,
    ShippingLine,
    RefundLineItem,
    FulfillmentOrder,
    FulfillmentOrderLineItem,
    FulfillmentLineItem,
    Payout,
    BalanceTransaction,
    Product,
    Media,
    Customer,
    Catalog,
    Market,
    CompanyLocation,
    PriceListPrice,
    Company,
}

impl N {
    pub(crate) fn node_type(self) -> T {
        match self {
            N::Location => T::Location,
            N::ProductVariant => T::ProductVariant,
            N::InventoryItem => T::InventoryItem,
            N::InventoryLevel => T::InventoryLevel,
            N::BulkOperation => T::BulkOperation,
            N::Order => T::Order,
            N::LineItem => T::LineItem,
            N::ShippingLine => T::ShippingLine,
            N::RefundLineItem => T::RefundLineItem,
            N::FulfillmentOrder => T::FulfillmentOrder,
            N::FulfillmentOrderLineItem => T::FulfillmentOrderLineItem,
            N::FulfillmentLineItem => T::FulfillmentLineItem,
            N::Payout => T::Payout,
            N::BalanceTransaction => T::BalanceTransaction,
            N::Product => T::Product,
            N::Media => T::Cat(crate::catalog::CT::MediaImage),
            N::Customer => T::Customer,
            N::Catalog => T::B2b(crate::b2b_catalogs::BT::Catalog),
            N::Market => T::B2b(crate::b2b_catalogs::BT::Market),
            N::CompanyLocation => T::CompanyLocation,
            N::PriceListPrice => T::B2b(crate::b2b_catalogs::BT::PriceListPrice),
            N::Company => T::Company,
        }
    }

    /// `(connection type, edge type)` names.
    fn names(self) -> (&'static str, &'static str) {
        match self {
            N::Location => ("LocationConnection", "LocationEdge"),
            N::ProductVariant => ("ProductVariantConnection", "ProductVariantEdge"),
            N::InventoryItem => ("InventoryItemConnection", "InventoryItemEdge"),
            N::InventoryLevel => ("InventoryLevelConnection", "InventoryLevelEdge"),
            N::BulkOperation => ("BulkOperationConnection", "BulkOperationEdge"),
            N::Order => ("OrderConnection", "OrderEdge"),
            N::LineItem => ("LineItemConnection", "LineItemEdge"),
            N::ShippingLine => ("ShippingLineConnection", "ShippingLineEdge"),
            N::RefundLineItem => ("RefundLineItemConnection", "RefundLineItemEdge"),
            N::FulfillmentOrder => ("FulfillmentOrderConnection", "FulfillmentOrderEdge"),
            N::FulfillmentOrderLineItem => (
                "FulfillmentOrderLineItemConnection",
                "FulfillmentOrderLineItemEdge",
            ),
            N::FulfillmentLineItem => ("FulfillmentLineItemConnection", "FulfillmentLineItemEdge"),
            N::Payout => (
                "ShopifyPaymentsPayoutConnection",
                "ShopifyPaymentsPayoutEdge",
            ),
            N::Customer => ("CustomerConnection", "CustomerEdge"),
            N::Catalog => ("CatalogConnection", "CatalogEdge"),
            N::Market => ("MarketConnection", "MarketEdge"),
            N::CompanyLocation => ("CompanyLocationConnection", "CompanyLocationEdge"),
            N::PriceListPrice => ("PriceListPriceConnection", "PriceListPriceEdge"),
            N::Company => ("CompanyConnection", "CompanyEdge"),
            N::BalanceTransaction => (
                "ShopifyPaymentsBalanceTransactionConnection",
                "ShopifyPaymentsBalanceTransactionEdge",
            ),
            N::Product => ("ProductConnection", "ProductEdge"),
            N::Media => ("MediaConnection", "MediaEdge"),
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
    // Orders, fulfillments and payments.
    Order,
    LineItem,
    ShippingLine,
    OrderTransaction,
    Refund,
    RefundLineItem,
    FulfillmentOrder,
    FulfillmentOrderLineItem,
    AssignedLocation,
    Fulfillment,
    FulfillmentLineItem,
    TrackingInfo,
    Customer,
    CustomerEmailAddress,
    CustomerPhoneNumber,
    MailingAddress,
    PurchasingEntity,
    PurchasingCompany,
    Company,
    CompanyLocation,
    Attribute,
    MoneyBag,
    MoneyV2,
    FulfillmentCreatePayload,
    OrderUpdatePayload,
    OrderClosePayload,
    PaymentsAccount,
    Payout,
    PayoutSummary,
    BalanceTransaction,
    AssociatedOrder,
    AssociatedPayout,
    /// `customerSet`'s payload and errors (`customers.rs`).
    CustomerSetPayload,
    CustomerSetUserError,
    /// Catalogue types (`catalog.rs`).
    Cat(crate::catalog::CT),
    /// Catalogs-side types (`b2b_catalogs.rs`).
    B2b(crate::b2b_catalogs::BT),
    /// Companies-side types (`companies.rs`).
    Co(crate::companies::CoT),
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
            T::Order => "Order",
            T::LineItem => "LineItem",
            T::ShippingLine => "ShippingLine",
            T::OrderTransaction => "OrderTransaction",
            T::Refund => "Refund",
            T::RefundLineItem => "RefundLineItem",
            T::FulfillmentOrder => "FulfillmentOrder",
            T::FulfillmentOrderLineItem => "FulfillmentOrderLineItem",
            T::AssignedLocation => "FulfillmentOrderAssignedLocation",
            T::Fulfillment => "Fulfillment",
            T::FulfillmentLineItem => "FulfillmentLineItem",
            T::TrackingInfo => "FulfillmentTrackingInfo",
            T::Customer => "Customer",
            T::CustomerEmailAddress => "CustomerEmailAddress",
            T::CustomerPhoneNumber => "CustomerPhoneNumber",
            T::MailingAddress => "MailingAddress",
            T::PurchasingEntity => "PurchasingEntity",
            T::PurchasingCompany => "PurchasingCompany",
            T::Company => "Company",
            T::CompanyLocation => "CompanyLocation",
            T::Attribute => "Attribute",
            T::MoneyBag => "MoneyBag",
            T::MoneyV2 => "MoneyV2",
            T::FulfillmentCreatePayload => "FulfillmentCreatePayload",
            T::OrderUpdatePayload => "OrderUpdatePayload",
            T::OrderClosePayload => "OrderClosePayload",
            T::PaymentsAccount => "ShopifyPaymentsAccount",
            T::Payout => "ShopifyPaymentsPayout",
            T::PayoutSummary => "ShopifyPaymentsPayoutSummary",
            T::BalanceTransaction => "ShopifyPaymentsBalanceTransaction",
            T::AssociatedOrder => "ShopifyPaymentsAssociatedOrder",
            T::AssociatedPayout => "ShopifyPaymentsBalanceTransactionAssociatedPayout",
            T::CustomerSetPayload => "CustomerSetPayload",
            T::CustomerSetUserError => "CustomerSetUserError",
            T::Cat(c) => c.name(),
            T::B2b(b) => b.name(),
            T::Co(c) => c.name(),
            T::Conn(n) => n.names().0,
            T::Edge(n) => n.names().1,
        }
    }

    /// Concrete types that implement `Node` in this subset.
    pub(crate) const NODE_TYPES: [T; 11] = [
        T::Location,
        T::ProductVariant,
        T::Product,
        T::InventoryItem,
        T::InventoryLevel,
        T::BulkOperation,
        T::Order,
        T::LineItem,
        T::FulfillmentOrder,
        T::Fulfillment,
        T::Refund,
    ];

    pub(crate) fn is_node(self) -> bool {
        Self::NODE_TYPES.contains(&self)
    }

    /// The concrete types an abstract type (`Node`, a union) may be at run time; `None` for a
    /// concrete type.
    pub(crate) fn possible_types(self) -> Option<&'static [T]> {
        match self {
            T::Node => Some(&Self::NODE_TYPES),
            T::PurchasingEntity => Some(&[T::Customer, T::PurchasingCompany]),
            T::B2b(crate::b2b_catalogs::BT::Catalog) => Some(&crate::b2b_catalogs::CATALOG_TYPES),
            _ => None,
        }
    }

    /// Does a fragment with type condition `cond` apply to an object of runtime type `self`?
    pub(crate) fn matches(self, cond: &str) -> bool {
        cond == self.name()
            || (cond == "Node" && (self.is_node() || self == T::Node))
            || (cond == "Catalog" && crate::b2b_catalogs::CATALOG_TYPES.contains(&self))
            || (cond == "PurchasingEntity"
                && matches!(
                    self,
                    T::Customer | T::PurchasingCompany | T::PurchasingEntity
                ))
    }

    /// Known type names usable as fragment conditions.
    pub(crate) fn by_name(name: &str) -> Option<T> {
        const ALL: [T; 56] = [
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
            T::Order,
            T::LineItem,
            T::ShippingLine,
            T::OrderTransaction,
            T::Refund,
            T::RefundLineItem,
            T::FulfillmentOrder,
            T::FulfillmentOrderLineItem,
            T::AssignedLocation,
            T::Fulfillment,
            T::FulfillmentLineItem,
            T::TrackingInfo,
            T::Customer,
            T::CustomerEmailAddress,
            T::CustomerPhoneNumber,
            T::CustomerSetPayload,
            T::CustomerSetUserError,
            T::MailingAddress,
            T::PurchasingEntity,
            T::PurchasingCompany,
            T::Company,
            T::CompanyLocation,
            T::Attribute,
            T::MoneyBag,
            T::MoneyV2,
            T::FulfillmentCreatePayload,
            T::OrderUpdatePayload,
            T::OrderClosePayload,
            T::PaymentsAccount,
            T::Payout,
            T::PayoutSummary,
            T::BalanceTransaction,
            T::AssociatedOrder,
            T::AssociatedPayout,
        ];
        ALL.into_iter()
            .find(|t| t.name() == name)
            .or_else(|| crate::catalog::CT::by_name(name).map(T::Cat))
            .or_else(|| crate::b2b_catalogs::BT::by_name(name).map(T::B2b))
            .or_else(|| crate::companies::CoT::by_name(name).map(T::Co))
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
const FIRST: &[&str] = &["first"];
const ORDER_PAGE: &[&str] = &[
    "first",
    "after",
    "last",
    "before",
    "reverse",
    "sortKey",
    "query",
    "savedSearchId",
];
const SHIPPING_PAGE: &[&str] = &[
    "first",
    "after",
    "last",
    "before",
    "reverse",
    "includeRemovals",
];
const FO_PAGE: &[&str] = &[
    "first",
    "after",
    "last",
    "before",
    "reverse",
    "query",
    "displayable",
];
const PAYOUT_PAGE: &[&str] = &[
    "first",
    "after",
    "last",
    "before",
    "reverse",
    "sortKey",
    "query",
    "savedSearchId",
    "transactionType",
];
const BALANCE_PAGE: &[&str] = &[
    "first",
    "after",
    "last",
    "before",
    "reverse",
    "sortKey",
    "query",
    "savedSearchId",
    "hideTransfers",
];

/// Order fields that return a `MoneyBag`.
pub(crate) const ORDER_MONEY: &[&str] = &[
    "totalPriceSet",
    "currentTotalPriceSet",
    "subtotalPriceSet",
    "currentSubtotalPriceSet",
    "totalShippingPriceSet",
    "currentShippingPriceSet",
    "totalTaxSet",
    "currentTotalTaxSet",
    "totalDiscountsSet",
    "currentTotalDiscountsSet",
    "totalOutstandingSet",
    "totalRefundedSet",
    "totalReceivedSet",
    "netPaymentSet",
];

/// `ShopifyPaymentsPayoutSummary` fields (all `MoneyV2`).
pub(crate) const PAYOUT_SUMMARY: &[&str] = &[
    "adjustmentsFee",
    "adjustmentsGross",
    "advanceFees",
    "advanceGross",
    "chargesFee",
    "chargesGross",
    "refundsFee",
    "refundsFeeGross",
    "reservedFundsFee",
    "reservedFundsGross",
    "retriedPayoutsFee",
    "retriedPayoutsGross",
];

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
        (T::Query, "ordersCount") => (Obj(T::Count), &["query", "limit"]),

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

        (T::Query, "orders") => (Conn(N::Order), ORDER_PAGE),
        (T::Query, "order") => (Obj(T::Order), ID),
        (T::Query, "fulfillmentOrder") => (Obj(T::FulfillmentOrder), ID),
        (T::Query, "shopifyPaymentsAccount") => (Obj(T::PaymentsAccount), NONE),
        (T::Mutation, "fulfillmentCreate") => (
            Obj(T::FulfillmentCreatePayload),
            &["fulfillment", "message"],
        ),
        (T::Mutation, "orderUpdate") => (Obj(T::OrderUpdatePayload), &["input"]),
        (T::Mutation, "orderClose") => (Obj(T::OrderClosePayload), &["input"]),

        (
            T::Order,
            "id"
            | "legacyResourceId"
            | "name"
            | "createdAt"
            | "updatedAt"
            | "processedAt"
            | "closed"
            | "closedAt"
            | "cancelledAt"
            | "cancelReason"
            | "test"
            | "confirmed"
            | "fullyPaid"
            | "unpaid"
            | "displayFinancialStatus"
            | "displayFulfillmentStatus"
            | "currencyCode"
            | "presentmentCurrencyCode"
            | "email"
            | "phone"
            | "poNumber"
            | "note"
            | "tags"
            | "taxesIncluded"
            | "paymentGatewayNames"
            | "requiresShipping"
            | "subtotalLineItemsQuantity"
            | "currentSubtotalLineItemsQuantity",
        ) => s,
        (T::Order, "customAttributes") => (List(T::Attribute), NONE),
        (T::Order, "customer") => (Obj(T::Customer), NONE),
        (T::Order, "purchasingEntity") => (Obj(T::PurchasingEntity), NONE),
        (T::Order, "billingAddress" | "shippingAddress") => (Obj(T::MailingAddress), NONE),
        (T::Order, n) if ORDER_MONEY.contains(&n) => (Obj(T::MoneyBag), NONE),
        (T::Order, "lineItems") => (Conn(N::LineItem), PAGE),
        (T::Order, "shippingLines") => (Conn(N::ShippingLine), SHIPPING_PAGE),
        (T::Order, "transactions") => (
            List(T::OrderTransaction),
            &["first", "capturable", "manuallyResolvable"],
        ),
        (T::Order, "refunds") => (List(T::Refund), FIRST),
        (T::Order, "fulfillmentOrders") => (Conn(N::FulfillmentOrder), FO_PAGE),
        (T::Order, "fulfillments") => (List(T::Fulfillment), &["first", "query"]),

        (
            T::LineItem,
            "id"
            | "sku"
            | "name"
            | "title"
            | "variantTitle"
            | "vendor"
            | "quantity"
            | "currentQuantity"
            | "unfulfilledQuantity"
            | "refundableQuantity"
            | "nonFulfillableQuantity"
            | "taxable"
            | "requiresShipping"
            | "isGiftCard",
        ) => s,
        (T::LineItem, "variant") => (Obj(T::ProductVariant), NONE),
        (
            T::LineItem,
            "originalUnitPriceSet"
            | "discountedUnitPriceSet"
            | "totalDiscountSet"
            | "originalTotalSet"
            | "discountedTotalSet",
        ) => (Obj(T::MoneyBag), NONE),

        (T::ShippingLine, "id" | "title" | "code" | "source" | "carrierIdentifier" | "custom") => s,
        (
            T::ShippingLine,
            "originalPriceSet" | "discountedPriceSet" | "currentDiscountedPriceSet",
        ) => (Obj(T::MoneyBag), NONE),

        (
            T::OrderTransaction,
            "id" | "kind" | "status" | "gateway" | "processedAt" | "createdAt" | "test",
        ) => s,
        (T::OrderTransaction, "amountSet") => (Obj(T::MoneyBag), NONE),
        (T::OrderTransaction, "parentTransaction") => (Obj(T::OrderTransaction), NONE),

        (T::Refund, "id" | "legacyResourceId" | "createdAt" | "updatedAt" | "note") => s,
        (T::Refund, "refundLineItems") => (Conn(N::RefundLineItem), PAGE),
        (T::Refund, "totalRefundedSet") => (Obj(T::MoneyBag), NONE),
        (T::RefundLineItem, "id" | "quantity" | "restockType" | "restocked") => s,
        (T::RefundLineItem, "lineItem") => (Obj(T::LineItem), NONE),
        (T::RefundLineItem, "subtotalSet" | "priceSet" | "totalTaxSet") => (Obj(T::MoneyBag), NONE),

        (
            T::FulfillmentOrder,
            "id" | "status" | "requestStatus" | "createdAt" | "updatedAt" | "orderId" | "orderName",
        ) => s,
        (T::FulfillmentOrder, "assignedLocation") => (Obj(T::AssignedLocation), NONE),
        (T::FulfillmentOrder, "lineItems") => (Conn(N::FulfillmentOrderLineItem), PAGE),
        (T::FulfillmentOrder, "order") => (Obj(T::Order), NONE),
        (T::AssignedLocation, "name" | "countryCode") => s,
        (T::AssignedLocation, "location") => (Obj(T::Location), NONE),
        (
            T::FulfillmentOrderLineItem,
            "id" | "totalQuantity" | "remainingQuantity" | "sku" | "requiresShipping",
        ) => s,
        (T::FulfillmentOrderLineItem, "lineItem") => (Obj(T::LineItem), NONE),

        (
            T::Fulfillment,
            "id" | "name" | "status" | "displayStatus" | "createdAt" | "updatedAt"
            | "totalQuantity",
        ) => s,
        (T::Fulfillment, "trackingInfo") => (List(T::TrackingInfo), FIRST),
        (T::Fulfillment, "fulfillmentLineItems") => (Conn(N::FulfillmentLineItem), PAGE),
        (T::Fulfillment, "order") => (Obj(T::Order), NONE),
        (T::TrackingInfo, "number" | "company" | "url") => s,
        (T::FulfillmentLineItem, "id" | "quantity") => s,
        (T::FulfillmentLineItem, "lineItem") => (Obj(T::LineItem), NONE),

        (T::Customer, "id" | "firstName" | "lastName" | "displayName" | "email" | "phone") => s,
        (T::Customer, "defaultEmailAddress") => (Obj(T::CustomerEmailAddress), NONE),
        (T::Customer, "defaultPhoneNumber") => (Obj(T::CustomerPhoneNumber), NONE),
        (T::CustomerEmailAddress, "emailAddress") => s,
        (T::CustomerPhoneNumber, "phoneNumber") => s,
        (
            T::MailingAddress,
            "id" | "firstName" | "lastName" | "name" | "company" | "address1" | "address2" | "city"
            | "province" | "provinceCode" | "zip" | "country" | "countryCodeV2" | "phone",
        ) => s,
        (T::PurchasingCompany, "company") => (Obj(T::Company), NONE),
        (T::PurchasingCompany, "location") => (Obj(T::CompanyLocation), NONE),
        (T::Company | T::CompanyLocation, "id" | "name" | "externalId") => s,
        (T::Attribute, "key" | "value") => s,
        (T::MoneyBag, "shopMoney" | "presentmentMoney") => (Obj(T::MoneyV2), NONE),
        (T::MoneyV2, "amount" | "currencyCode") => s,

        (T::FulfillmentCreatePayload, "fulfillment") => (Obj(T::Fulfillment), NONE),
        (T::FulfillmentCreatePayload, "userErrors") => (List(T::UserError), NONE),
        (T::OrderUpdatePayload | T::OrderClosePayload, "order") => (Obj(T::Order), NONE),
        (T::OrderUpdatePayload | T::OrderClosePayload, "userErrors") => (List(T::UserError), NONE),

        (T::PaymentsAccount, "id" | "activated" | "defaultCurrency" | "country") => s,
        (T::PaymentsAccount, "payouts") => (Conn(N::Payout), PAYOUT_PAGE),
        (T::PaymentsAccount, "balanceTransactions") => (Conn(N::BalanceTransaction), BALANCE_PAGE),
        (
            T::Payout,
            "id" | "legacyResourceId" | "issuedAt" | "status" | "transactionType"
            | "externalTraceId",
        ) => s,
        (T::Payout, "net") => (Obj(T::MoneyV2), NONE),
        (T::Payout, "summary") => (Obj(T::PayoutSummary), NONE),
        (T::PayoutSummary, n) if PAYOUT_SUMMARY.contains(&n) => (Obj(T::MoneyV2), NONE),
        (
            T::BalanceTransaction,
            "id"
            | "type"
            | "test"
            | "transactionDate"
            | "sourceType"
            | "sourceId"
            | "sourceOrderTransactionId"
            | "adjustmentReason",
        ) => s,
        (T::BalanceTransaction, "amount" | "fee" | "net") => (Obj(T::MoneyV2), NONE),
        (T::BalanceTransaction, "associatedOrder") => (Obj(T::AssociatedOrder), NONE),
        (T::BalanceTransaction, "associatedPayout") => (Obj(T::AssociatedPayout), NONE),
        (T::AssociatedOrder, "id" | "name") => s,
        (T::AssociatedPayout, "id" | "status") => s,

        (T::Count, "count" | "precision") => s,
        (T::PageInfo, "hasNextPage" | "hasPreviousPage" | "startCursor" | "endCursor") => s,
        (T::Conn(n), "nodes") => (List(n.node_type()), NONE),
        (T::Conn(n), "edges") => (List(T::Edge(n)), NONE),
        (T::Conn(_), "pageInfo") => (Obj(T::PageInfo), NONE),
        (T::Edge(_), "cursor") => s,
        (T::Edge(n), "node") => (Obj(n.node_type()), NONE),
        _ => {
            return crate::customers::field(t, name)
                .or_else(|| crate::catalog::field(t, name))
                .or_else(|| crate::b2b_catalogs::field(t, name))
                .or_else(|| crate::companies::field(t, name));
        }
    };
    Some(r)
}
