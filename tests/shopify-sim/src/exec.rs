//! Executor: resolves a validated operation against one store and computes the actual cost.
//!
//! Objects are small handles (record indices) into the locked `StoreData`; connections page by
//! position in an index vector, so a page costs O(page) whatever the catalogue size. The actual
//! cost follows the same rules as `cost.rs` with the returned counts instead of `first`.

use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};

use apollo_compiler::Node;
use apollo_compiler::ast::{self, Selection};
use serde_json::{Map, Value as Json, json};

use crate::clock::SimClock;
use crate::cost::{MUTATION_BASE, fixed_cost, free_field};
use crate::gql::{Doc, decode_cursor, encode_cursor, error};
use crate::inventory::{self, KeyUse, SetOutcome, UserErr};
use crate::orders::{self as ord, GID_FO, GID_ORDER};
use crate::search::Search;
use crate::store::{
    BulkOp, BulkStatus, GID_BULK, GID_GROUP, GID_ITEM, GID_LEVEL, GID_LOCATION, GID_PRODUCT,
    GID_VARIANT, StoreData, parse_gid,
};
use crate::{bulk, schema::FK, schema::N, schema::T, schema::field};

/// Quantity names readable through `InventoryLevel.quantities`.
pub(crate) const QUANTITY_NAMES: &[&str] = &[
    "available",
    "on_hand",
    "committed",
    "incoming",
    "reserved",
    "damaged",
    "quality_control",
    "safety_stock",
];

/// Request-independent context.
pub(crate) struct Env<'e> {
    pub now: f64,
    pub clock: &'e SimClock,
    pub request_number: u64,
    /// Keep idempotency keys in flight until the (delayed) answer is delivered.
    pub hold_keys: bool,
    pub bulk_ids: &'e AtomicU64,
    /// `http://127.0.0.1:PORT` (staged upload targets point there).
    pub base_url: &'e str,
}

#[derive(Clone)]
pub(crate) struct Page {
    pub(crate) n: N,
    pub(crate) items: Vec<Obj>,
    pub(crate) cursors: Vec<String>,
    pub(crate) has_next: bool,
    pub(crate) has_prev: bool,
}

#[derive(Clone)]
pub(crate) enum Obj {
    Query,
    Shop,
    ShopPlan,
    Location(usize),
    Variant(usize),
    Product(usize),
    Item(usize),
    Level(usize),
    Quantity(usize, &'static str),
    Bulk(usize, Option<BulkStatus>),
    /// A `Count`: the (possibly capped) count and whether it is exact.
    Count(u64, bool),
    SetPayload(Rc<SetOutcome>),
    Group(Rc<SetOutcome>),
    Change(Rc<SetOutcome>, usize),
    UserErr(T, Rc<UserErr>),
    BulkPayload(T, Option<(usize, Option<BulkStatus>)>, Rc<Vec<UserErr>>),
    Conn(Rc<Page>),
    Edge(Rc<Page>, usize),
    PageInfo(Rc<Page>),
    Order(usize),
    LineItem(usize),
    /// (order, index in the order's shipping lines)
    ShippingLine(usize, usize),
    Transaction(usize),
    Refund(usize),
    RefundLine(usize),
    Fo(usize),
    FoLine(usize),
    AssignedLocation(usize),
    Fulfillment(usize),
    FulfillmentLine(usize),
    /// (fulfillment, index in its tracking list)
    Tracking(usize, usize),
    Customer(usize),
    EmailAddress(usize),
    PhoneNumber(usize),
    /// (order, billing?)
    Address(usize, bool),
    PurchasingCompany(usize),
    Company(usize),
    CompanyLocation(usize),
    /// (order, index in its custom attributes)
    Attribute(usize, usize),
    Money(Rc<MoneyVal>),
    MoneyV2(i64, Rc<str>),
    FulfillmentPayload(Option<usize>, Rc<Vec<UserErr>>),
    OrderPayload(T, Option<usize>, Rc<Vec<UserErr>>),
    PaymentsAccount,
    Payout(usize),
    PayoutSummary(usize),
    Balance(usize),
    AssociatedOrder(usize),
    AssociatedPayout(Option<usize>),
    /// Catalogue objects (`exec_catalog.rs`).
    Cat(crate::exec_catalog::CatObj),
    /// Customers objects (`exec_customers.rs`).
    Cus(crate::exec_customers::CusObj),
    /// Catalogs-side objects (`exec_b2b_catalogs.rs`).
    B2b(crate::exec_b2b_catalogs::B2bObj),
    /// Companies objects (`exec_companies.rs`).
    Co(crate::exec_companies::CoObj),
}

/// A `MoneyBag`: cents in the shop's and the customer's currency.
#[derive(Debug)]
pub(crate) struct MoneyVal {
    pub shop: i64,
    pub shop_currency: String,
    pub presentment: i64,
    pub presentment_currency: String,
}

impl Obj {
    pub(crate) fn ty(&self) -> T {
        match self {
            Obj::Query => T::Query,
            Obj::Shop => T::Shop,
            Obj::ShopPlan => T::ShopPlan,
            Obj::Location(_) => T::Location,
            Obj::Variant(_) => T::ProductVariant,
            Obj::Product(_) => T::Product,
            Obj::Item(_) => T::InventoryItem,
            Obj::Level(_) => T::InventoryLevel,
            Obj::Quantity(..) => T::InventoryQuantity,
            Obj::Bulk(..) => T::BulkOperation,
            Obj::Count(..) => T::Count,
            Obj::SetPayload(_) => T::SetQuantitiesPayload,
            Obj::Group(_) => T::AdjustmentGroup,
            Obj::Change(..) => T::InventoryChange,
            Obj::UserErr(t, _) => *t,
            Obj::BulkPayload(t, ..) => *t,
            Obj::Conn(p) => T::Conn(p.n),
            Obj::Edge(p, _) => T::Edge(p.n),
            Obj::PageInfo(_) => T::PageInfo,
            Obj::Order(_) => T::Order,
            Obj::LineItem(_) => T::LineItem,
            Obj::ShippingLine(..) => T::ShippingLine,
            Obj::Transaction(_) => T::OrderTransaction,
            Obj::Refund(_) => T::Refund,
            Obj::RefundLine(_) => T::RefundLineItem,
            Obj::Fo(_) => T::FulfillmentOrder,
            Obj::FoLine(_) => T::FulfillmentOrderLineItem,
            Obj::AssignedLocation(_) => T::AssignedLocation,
            Obj::Fulfillment(_) => T::Fulfillment,
            Obj::FulfillmentLine(_) => T::FulfillmentLineItem,
            Obj::Tracking(..) => T::TrackingInfo,
            Obj::Customer(_) => T::Customer,
            Obj::EmailAddress(_) => T::CustomerEmailAddress,
            Obj::PhoneNumber(_) => T::CustomerPhoneNumber,
            Obj::Address(..) => T::MailingAddress,
            Obj::PurchasingCompany(_) => T::PurchasingCompany,
            Obj::Company(_) => T::Company,
            Obj::CompanyLocation(_) => T::CompanyLocation,
            Obj::Attribute(..) => T::Attribute,
            Obj::Money(_) => T::MoneyBag,
            Obj::MoneyV2(..) => T::MoneyV2,
            Obj::FulfillmentPayload(..) => T::FulfillmentCreatePayload,
            Obj::OrderPayload(t, ..) => *t,
            Obj::PaymentsAccount => T::PaymentsAccount,
            Obj::Payout(_) => T::Payout,
            Obj::PayoutSummary(_) => T::PayoutSummary,
            Obj::Balance(_) => T::BalanceTransaction,
            Obj::AssociatedOrder(_) => T::AssociatedOrder,
            Obj::AssociatedPayout(_) => T::AssociatedPayout,
            Obj::Cat(c) => c.ty(),
            Obj::Cus(c) => c.ty(),
            Obj::B2b(c) => c.ty(),
            Obj::Co(c) => c.ty(),
        }
    }
}

/// Result of resolving one field.
pub(crate) enum R {
    Val(Json),
    One(Option<Obj>),
    Many(Vec<Option<Obj>>),
    Page(Rc<Page>),
}

/// A field error: message + Shopify error code.
pub(crate) struct FieldErr {
    message: String,
    code: &'static str,
    extra_locations: Vec<Json>,
}

pub(crate) fn ferr(message: impl Into<String>, code: &'static str) -> FieldErr {
    FieldErr {
        message: message.into(),
        code,
        extra_locations: Vec::new(),
    }
}

pub(crate) struct Exec<'d, 'a, 's, 'e> {
    pub doc: &'d Doc<'a>,
    pub st: &'s mut StoreData,
    pub env: &'e Env<'e>,
    pub errors: Vec<Json>,
    /// Bulk mode: connections return every element.
    pub unbounded: bool,
    pub held_keys: Vec<String>,
    pub new_bulk_ops: Vec<u64>,
    pub applied_rows: u64,
    pub replays: u64,
}

impl<'d, 'a, 's, 'e> Exec<'d, 'a, 's, 'e> {
    pub(crate) fn new(doc: &'d Doc<'a>, st: &'s mut StoreData, env: &'e Env<'e>) -> Self {
        Self {
            doc,
            st,
            env,
            errors: Vec::new(),
            unbounded: false,
            held_keys: Vec::new(),
            new_bulk_ops: Vec::new(),
            applied_rows: 0,
            replays: 0,
        }
    }

    /// Executes a query operation; returns `data` and the actual cost.
    pub(crate) fn query(&mut self, sels: &'a [Selection]) -> (Json, f64) {
        let mut path = Vec::new();
        self.complete(&Obj::Query, &[sels], &mut path)
    }

    /// Executes mutation root fields serially; each costs 10 plus its payload selection.
    pub(crate) fn mutation(&mut self, sels: &'a [Selection]) -> (Json, f64) {
        let mut data = Map::new();
        let mut cost = 0.0;
        for (key, fs) in self.doc.collect(T::Mutation, &[sels]) {
            let f = fs[0];
            if f.name == "__typename" {
                data.insert(key, Json::String("Mutation".into()));
                continue;
            }
            cost += MUTATION_BASE;
            let children: Vec<&'a [Selection]> = fs.iter().map(|f| &f.selection_set[..]).collect();
            let mut path = vec![Json::String(key.clone())];
            let value = match self.mutate(f) {
                Ok(obj) => {
                    let (v, c) = self.complete(&obj, &children, &mut path);
                    cost += c;
                    v
                }
                Err(e) => {
                    self.push_field_error(f, &path, e);
                    Json::Null
                }
            };
            data.insert(key, value);
        }
        (Json::Object(data), cost)
    }

    fn push_field_error(&mut self, f: &Node<ast::Field>, path: &[Json], e: FieldErr) {
        let mut locs = match self.doc.loc(f) {
            Json::Array(a) => a,
            _ => Vec::new(),
        };
        locs.extend(e.extra_locations);
        self.errors.push(error(
            e.message,
            Some(Json::Array(locs)),
            Some(path.to_vec()),
            Some(json!({"code": e.code})),
        ));
    }

    /// Completes `obj` with the merged selection sets `sels`; returns the value and the
    /// cost of the selected children.
    pub(crate) fn complete(
        &mut self,
        obj: &Obj,
        sels: &[&'a [Selection]],
        path: &mut Vec<Json>,
    ) -> (Json, f64) {
        let t = obj.ty();
        let conn = matches!(t, T::Conn(_));
        let mut out = Map::new();
        let mut cost: f64 = 0.0;
        for (key, fs) in self.doc.collect(t, sels) {
            let f = fs[0];
            let name = f.name.as_str();
            if name == "__typename" {
                out.insert(key, Json::String(t.name().into()));
                continue;
            }
            let Some((kind, _)) = field(t, name) else {
                continue;
            };
            if self.unbounded && matches!(kind, FK::Conn(_)) {
                // Bulk output: nested connections become separate JSONL rows.
                continue;
            }
            let children: Vec<&'a [Selection]> = fs.iter().map(|f| &f.selection_set[..]).collect();
            path.push(Json::String(key.clone()));
            let (value, c) = match self.resolve(obj, f) {
                Err(e) => {
                    self.push_field_error(f, path, e);
                    (Json::Null, 0.0)
                }
                Ok(r) => self.complete_result(t, name, r, &children, path),
            };
            let c = fixed_cost(t, name).unwrap_or(c);
            path.pop();
            out.insert(key, value);
            if conn {
                cost = cost.max(c);
            } else {
                cost += c;
            }
        }
        (Json::Object(out), cost)
    }

    fn complete_result(
        &mut self,
        parent: T,
        name: &str,
        r: R,
        children: &[&'a [Selection]],
        path: &mut Vec<Json>,
    ) -> (Json, f64) {
        let free = free_field(parent, name);
        let own = if free.is_some() { 0.0 } else { 1.0 };
        let scale = if free == Some(true) { 0.0 } else { 1.0 };
        match r {
            R::Val(v) => (v, 0.0),
            R::One(None) => (Json::Null, own),
            R::One(Some(o)) => {
                let (v, c) = self.complete(&o, children, path);
                (v, own + c * scale)
            }
            R::Many(list) => {
                let mut arr = Vec::with_capacity(list.len());
                let mut sum = 0.0;
                let mut max: f64 = 0.0;
                for (i, o) in list.into_iter().enumerate() {
                    path.push(Json::from(i));
                    match o {
                        Some(o) => {
                            let (v, c) = self.complete(&o, children, path);
                            sum += c;
                            max = max.max(c);
                            arr.push(v);
                        }
                        None => arr.push(Json::Null),
                    }
                    path.pop();
                }
                let n = arr.len() as f64;
                let c = match (parent, name) {
                    (T::Conn(_), "nodes") => n + sum,
                    (T::Conn(_), "edges") => sum,
                    _ => own + max * scale,
                };
                (Json::Array(arr), c)
            }
            R::Page(p) => {
                let (v, c) = self.complete(&Obj::Conn(p), children, path);
                (v, 2.0 + c)
            }
        }
    }

    fn mutate(&mut self, f: &Node<ast::Field>) -> Result<Obj, FieldErr> {
        match f.name.as_str() {
            "inventorySetQuantities" => self.set_quantities(f),
            "bulkOperationRunQuery" => {
                let q = self
                    .doc
                    .arg(f, "query")
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default();
                let (op, errs) = bulk::run_query(self.st, &q, self.env);
                if let Some(i) = op {
                    self.new_bulk_ops.push(self.st.bulk_ops[i].id);
                }
                Ok(Obj::BulkPayload(
                    T::BulkRunQueryPayload,
                    op.map(|i| (i, None)),
                    Rc::new(errs),
                ))
            }
            "bulkOperationCancel" => {
                let id = self
                    .doc
                    .arg(f, "id")
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default();
                let (op, errs) = bulk::cancel(self.st, &id);
                Ok(Obj::BulkPayload(T::BulkCancelPayload, op, Rc::new(errs)))
            }
            "fulfillmentCreate" | "orderUpdate" | "orderClose" => self.order_mutation(f),
            "customerSet" => self.customer_set(f),
            "companyUpdate" | "companyLocationUpdate" => self.company_mutation(f),
            other if Self::is_catalog_mutation(other) => self.mutate_catalog(f),
            "priceListFixedPricesAdd" => self.fixed_prices_add(f),
            other => Err(ferr(
                format!("Field '{other}' is not supported"),
                "BAD_REQUEST",
            )),
        }
    }

    /// `fulfillmentCreate`, `orderUpdate`, `orderClose`. None of them accepts `@idempotent`
    /// (their schema descriptions do not offer it); one that carries it is refused before anything
    /// runs, so a client cannot believe itself protected by a key Shopify does not honour.
    fn order_mutation(&mut self, f: &Node<ast::Field>) -> Result<Obj, FieldErr> {
        let name = f.name.as_str();
        refuse_idempotent(f)?;
        let now = self.env.clock.unix(self.env.now);
        let rn = self.env.request_number;
        Ok(match name {
            "fulfillmentCreate" => {
                let input = self.doc.arg(f, "fulfillment").unwrap_or(Json::Null);
                let (fi, errs) = ord::fulfillment_create(self.st, &input, now, rn);
                Obj::FulfillmentPayload(fi, Rc::new(errs))
            }
            _ => {
                let input = self.doc.arg(f, "input").unwrap_or(Json::Null);
                let (order, errs, t) = if name == "orderUpdate" {
                    let (o, e) = ord::order_update(self.st, &input, now, rn);
                    (o, e, T::OrderUpdatePayload)
                } else {
                    let (o, e) = ord::order_close(self.st, &input, now, rn);
                    (o, e, T::OrderClosePayload)
                };
                Obj::OrderPayload(t, order, Rc::new(errs))
            }
        })
    }

    fn set_quantities(&mut self, f: &Node<ast::Field>) -> Result<Obj, FieldErr> {
        let Some(dir) = f.directives.iter().find(|d| d.name == "idempotent") else {
            return Err(ferr(
                "The @idempotent directive is required for this mutation but was not provided.",
                "BAD_REQUEST",
            ));
        };
        let key = dir
            .arguments
            .iter()
            .find(|a| a.name == "key")
            .map(|a| crate::gql::to_json(&a.value, &self.doc.vars))
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        if key.trim().is_empty() {
            return Err(ferr(
                "The idempotency key provided to the @idempotent directive must not be blank.",
                "BAD_REQUEST",
            ));
        }
        let input = self.doc.arg(f, "input").unwrap_or(Json::Null);
        if inventory::missing_change_from(&input).is_some() {
            let mut e = ferr(
                "InventoryQuantityInput must include the following argument: changeFromQuantity.",
                "INVALID_FIELD_ARGUMENTS",
            );
            if let Some(var) = self.doc.arg_variable(f, "input")
                && let Some(Json::Array(l)) = self.doc.var_locs.get(&var)
            {
                e.extra_locations.extend(l.iter().cloned());
            }
            return Err(e);
        }
        let res = inventory::set_quantities(
            self.st,
            &input,
            &key,
            self.env.now,
            self.env.request_number,
            self.env.hold_keys,
        );
        match res.key_use {
            KeyUse::Fresh => {
                if self.env.hold_keys {
                    self.held_keys.push(key);
                }
            }
            KeyUse::Replay => self.replays += 1,
            KeyUse::Rejected => {}
        }
        self.applied_rows += res.applied_rows;
        Ok(Obj::SetPayload(Rc::new(res.outcome)))
    }

    pub(crate) fn resolve(&mut self, obj: &Obj, f: &Node<ast::Field>) -> Result<R, FieldErr> {
        let name = f.name.as_str();
        let st = &*self.st;
        let v = |x: Json| Ok(R::Val(x));
        let s = |x: &str| Ok(R::Val(Json::String(x.to_string())));
        let one = |o: Option<Obj>| Ok(R::One(o));
        match obj {
            Obj::Query => match name {
                "shop" => one(Some(Obj::Shop)),
                "products" => self.products_page(f),
                "location" => one(self
                    .id_arg(f, "id", GID_LOCATION, st.locations.len())
                    .map(Obj::Location)),
                "productVariant" => one(self
                    .id_arg(f, "id", GID_VARIANT, st.variants.len())
                    .map(Obj::Variant)),
                "product" => one(self
                    .id_arg(f, "id", GID_PRODUCT, st.products.len())
                    .map(Obj::Product)),
                "inventoryItem" => one(self
                    .id_arg(f, "id", GID_ITEM, st.variants.len())
                    .map(Obj::Item)),
                "inventoryLevel" => one(self
                    .id_arg(f, "id", GID_LEVEL, st.levels.len())
                    .map(Obj::Level)),
                "bulkOperation" => {
                    let id = self
                        .doc
                        .arg(f, "id")
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default();
                    one(self.bulk_obj(&id))
                }
                "node" => {
                    let id = self
                        .doc
                        .arg(f, "id")
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default();
                    one(self.node(&id))
                }
                "nodes" => {
                    let ids = self.doc.arg(f, "ids").unwrap_or(Json::Null);
                    let list = ids
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .map(|x| self.node(x.as_str().unwrap_or("")))
                                .collect()
                        })
                        .unwrap_or_default();
                    Ok(R::Many(list))
                }
                "locations" => {
                    let search = Search::parse(self.str_arg(f, "query").as_deref());
                    let include_inactive = self
                        .doc
                        .arg(f, "includeInactive")
                        .and_then(|v| v.as_bool())
                        .unwrap_or(false);
                    let len = st.locations.len();
                    self.page(
                        f,
                        N::Location,
                        len,
                        |st, pos| {
                            let l = &st.locations[pos];
                            ((include_inactive || l.active) && search.matches_location(st, pos))
                                .then_some(Obj::Location(pos))
                        },
                        None,
                    )
                }
                "productVariants" | "inventoryItems" => {
                    let search = Search::parse(self.str_arg(f, "query").as_deref());
                    let candidates = search.sku_candidates(st);
                    let variants = name == "productVariants";
                    let len = st.variants.len();
                    self.page(
                        f,
                        if variants {
                            N::ProductVariant
                        } else {
                            N::InventoryItem
                        },
                        len,
                        |st, pos| {
                            search.matches_variant(st, pos).then_some({
                                if variants {
                                    Obj::Variant(pos)
                                } else {
                                    Obj::Item(pos)
                                }
                            })
                        },
                        candidates,
                    )
                }
                "productVariantsCount" => {
                    // `limit` defaults to 10,000; an explicit null means no limit. Above the limit
                    // the count is the limit, marked AT_LEAST.
                    let limit = match self.doc.arg(f, "limit") {
                        None => Some(10_000u64),
                        Some(Json::Null) => None,
                        Some(v) => Some(v.as_i64().unwrap_or(0).max(0) as u64),
                    };
                    let search = Search::parse(self.str_arg(f, "query").as_deref());
                    let total = (0..st.variants.len())
                        .filter(|&pos| search.matches_variant(st, pos))
                        .count() as u64;
                    one(Some(match limit {
                        Some(l) if total > l => Obj::Count(l, false),
                        _ => Obj::Count(total, true),
                    }))
                }
                "ordersCount" => {
                    // As `productVariantsCount`: `limit` defaults to 10,000, null is no limit.
                    let limit = match self.doc.arg(f, "limit") {
                        None => Some(10_000u64),
                        Some(Json::Null) => None,
                        Some(v) => Some(v.as_i64().unwrap_or(0).max(0) as u64),
                    };
                    let search = Search::parse(self.str_arg(f, "query").as_deref());
                    let total = (0..st.book.orders.len())
                        .filter(|&o| search.matches_order(st, o))
                        .count() as u64;
                    one(Some(match limit {
                        Some(l) if total > l => Obj::Count(l, false),
                        _ => Obj::Count(total, true),
                    }))
                }
                "orders" => {
                    let search = Search::parse(self.str_arg(f, "query").as_deref());
                    let sort = self.str_arg(f, "sortKey");
                    let keyed: Vec<(i64, usize)> = (0..st.book.orders.len())
                        .filter(|&o| search.matches_order(st, o))
                        .map(|o| {
                            let r = &st.book.orders[o];
                            let key = match sort.as_deref() {
                                Some("UPDATED_AT") => r.updated_at,
                                Some("CREATED_AT") => r.created_at,
                                Some("ID" | "ORDER_NUMBER") => o as i64,
                                _ => r.processed_at,
                            };
                            (key, o)
                        })
                        .collect();
                    self.keyed_page(f, N::Order, keyed, Obj::Order)
                }
                "order" => one(self
                    .id_arg(f, "id", GID_ORDER, st.book.orders.len())
                    .map(Obj::Order)),
                "fulfillmentOrder" => {
                    one(self.id_arg(f, "id", GID_FO, st.book.fos.len()).map(Obj::Fo))
                }
                "shopifyPaymentsAccount" => {
                    one(st.book.payments_account.then_some(Obj::PaymentsAccount))
                }
                "customers" | "customer" => self.customers_root(f),
                "companies" | "company" | "companyLocation" => self.companies_root(f),
                "catalogs" | "priceList" => self.b2b_root(f),
                "bulkOperations" => {
                    let search = Search::parse(self.str_arg(f, "query").as_deref());
                    let len = st.bulk_ops.len();
                    self.page(
                        f,
                        N::BulkOperation,
                        len,
                        |st, pos| search.matches_bulk(st, pos).then_some(Obj::Bulk(pos, None)),
                        None,
                    )
                }
                _ => Err(ferr(
                    format!("Field '{name}' is not supported"),
                    "BAD_REQUEST",
                )),
            },
            Obj::Shop => match name {
                "id" => s("gid://shopify/Shop/1"),
                "name" => s(st.domain.split('.').next().unwrap_or(&st.domain)),
                "myshopifyDomain" => s(&st.domain),
                "email" => s(&format!("owner@{}", st.domain)),
                "currencyCode" => s("EUR"),
                "plan" => one(Some(Obj::ShopPlan)),
                _ => unknown(name),
            },
            Obj::ShopPlan => match name {
                "displayName" | "publicDisplayName" => s("Basic"),
                "partnerDevelopment" | "shopifyPlus" => v(Json::Bool(false)),
                _ => unknown(name),
            },
            Obj::Location(i) => {
                let l = &st.locations[*i];
                match name {
                    "id" => s(&st.gid(GID_LOCATION, *i)),
                    "name" => s(&l.name),
                    "isActive" => v(Json::Bool(l.active)),
                    "legacyResourceId" => s(&(i + 1).to_string()),
                    "fulfillsOnlineOrders" => v(Json::Bool(true)),
                    "hasActiveInventory" => v(Json::Bool(!l.levels.is_empty())),
                    "inventoryLevels" => {
                        let len = l.levels.len();
                        let i = *i;
                        self.page(
                            f,
                            N::InventoryLevel,
                            len,
                            move |st, pos| Some(Obj::Level(st.locations[i].levels[pos] as usize)),
                            None,
                        )
                    }
                    "inventoryLevel" => {
                        let item = self.id_arg(f, "inventoryItemId", GID_ITEM, st.variants.len());
                        one(item.and_then(|it| st.level_of(it, *i)).map(Obj::Level))
                    }
                    _ => unknown(name),
                }
            }
            Obj::Variant(i) => {
                let var = &st.variants[*i];
                match name {
                    "id" => s(&st.gid(GID_VARIANT, *i)),
                    "sku" => s(var.sku.as_deref().unwrap_or("")),
                    "barcode" => v(var.barcode.clone().map(Json::String).unwrap_or(Json::Null)),
                    "title" => s(&var.title),
                    "displayName" => s(&format!(
                        "{} - {}",
                        st.products[var.product as usize].title, var.title
                    )),
                    "legacyResourceId" => s(&(i + 1).to_string()),
                    "inventoryQuantity" => v(Json::from(
                        var.levels
                            .iter()
                            .map(|&l| st.levels[l as usize].available)
                            .sum::<i64>(),
                    )),
                    "product" => one(Some(Obj::Product(var.product as usize))),
                    "inventoryItem" => one(Some(Obj::Item(*i))),
                    _ => self.resolve_catalog(obj, f),
                }
            }
            Obj::Product(i) => {
                let p = &st.products[*i];
                match name {
                    "id" => s(&st.gid(GID_PRODUCT, *i)),
                    "title" => s(&p.title),
                    "legacyResourceId" => s(&(i + 1).to_string()),
                    "totalInventory" => v(Json::from(
                        p.variants
                            .iter()
                            .flat_map(|&vi| st.variants[vi as usize].levels.iter())
                            .map(|&l| st.levels[l as usize].available)
                            .sum::<i64>(),
                    )),
                    "tracksInventory" => v(Json::Bool(
                        p.variants
                            .iter()
                            .any(|&vi| st.variants[vi as usize].tracked),
                    )),
                    "variants" => {
                        let len = p.variants.len();
                        let i = *i;
                        self.page(
                            f,
                            N::ProductVariant,
                            len,
                            move |st, pos| {
                                Some(Obj::Variant(st.products[i].variants[pos] as usize))
                            },
                            None,
                        )
                    }
                    _ => self.resolve_catalog(obj, f),
                }
            }
            Obj::Item(i) => {
                let var = &st.variants[*i];
                match name {
                    "id" => s(&st.gid(GID_ITEM, *i)),
                    "sku" => s(var.sku.as_deref().unwrap_or("")),
                    "tracked" => v(Json::Bool(var.tracked)),
                    "legacyResourceId" => s(&(i + 1).to_string()),
                    "requiresShipping" => v(Json::Bool(true)),
                    "variant" => one(Some(Obj::Variant(*i))),
                    "inventoryLevels" => {
                        let len = var.levels.len();
                        let i = *i;
                        self.page(
                            f,
                            N::InventoryLevel,
                            len,
                            move |st, pos| Some(Obj::Level(st.variants[i].levels[pos] as usize)),
                            None,
                        )
                    }
                    "inventoryLevel" => {
                        let loc = self.id_arg(f, "locationId", GID_LOCATION, st.locations.len());
                        one(loc.and_then(|lo| st.level_of(*i, lo)).map(Obj::Level))
                    }
                    _ => self.resolve_catalog(obj, f),
                }
            }
            Obj::Level(l) => {
                let lv = &st.levels[*l];
                match name {
                    "id" => s(&st.level_gid(*l)),
                    "isActive" => v(Json::Bool(true)),
                    "canDeactivate" => v(Json::Bool(true)),
                    "createdAt" => s(&self.env.clock.iso(lv.created_at)),
                    "updatedAt" => s(&self.env.clock.iso(lv.updated_at)),
                    "location" => one(Some(Obj::Location(lv.location as usize))),
                    "item" => one(Some(Obj::Item(lv.item as usize))),
                    "quantities" => {
                        let names = self.doc.arg(f, "names").unwrap_or(Json::Null);
                        let Some(names) = names.as_array() else {
                            return Err(ferr(
                                "Field 'quantities' is missing required arguments: names",
                                "missingRequiredArguments",
                            ));
                        };
                        let mut list = Vec::new();
                        for n in names {
                            let n = n.as_str().unwrap_or("");
                            match QUANTITY_NAMES.iter().find(|q| **q == n) {
                                Some(q) => list.push(Some(Obj::Quantity(*l, q))),
                                None => {
                                    return Err(ferr(
                                        format!(
                                            "'{n}' is not a valid inventory quantity name. Valid names are: {}.",
                                            QUANTITY_NAMES.join(", ")
                                        ),
                                        "BAD_REQUEST",
                                    ));
                                }
                            }
                        }
                        Ok(R::Many(list))
                    }
                    _ => unknown(name),
                }
            }
            Obj::Quantity(l, qn) => {
                let lv = &st.levels[*l];
                match name {
                    "id" => s(&format!(
                        "gid://shopify/InventoryQuantity/{}?inventory_item_id={}&name={qn}",
                        l + 1,
                        lv.item + 1
                    )),
                    "name" => s(qn),
                    "quantity" => v(Json::from(match *qn {
                        "available" => lv.available,
                        "on_hand" => lv.on_hand,
                        _ => 0,
                    })),
                    "updatedAt" => v(if *qn == "available" {
                        Json::String(self.env.clock.iso(lv.updated_at))
                    } else {
                        Json::Null
                    }),
                    _ => unknown(name),
                }
            }
            Obj::Order(_)
            | Obj::LineItem(_)
            | Obj::ShippingLine(..)
            | Obj::Transaction(_)
            | Obj::Refund(_)
            | Obj::RefundLine(_)
            | Obj::Fo(_)
            | Obj::FoLine(_)
            | Obj::AssignedLocation(_)
            | Obj::Fulfillment(_)
            | Obj::FulfillmentLine(_)
            | Obj::Tracking(..)
            | Obj::Customer(_)
            | Obj::EmailAddress(_)
            | Obj::PhoneNumber(_)
            | Obj::Address(..)
            | Obj::PurchasingCompany(_)
            | Obj::Attribute(..)
            | Obj::Money(_)
            | Obj::MoneyV2(..)
            | Obj::FulfillmentPayload(..)
            | Obj::OrderPayload(..)
            | Obj::PaymentsAccount
            | Obj::Payout(_)
            | Obj::PayoutSummary(_)
            | Obj::Balance(_)
            | Obj::AssociatedOrder(_)
            | Obj::AssociatedPayout(_) => self.resolve_order_side(obj, f),
            Obj::Cat(_) => self.resolve_catalog(obj, f),
            Obj::Cus(c) => self.resolve_customers(c, f),
            Obj::Company(_) | Obj::CompanyLocation(_) => self.resolve_company(obj, f),
            Obj::Co(c) => self.resolve_companies(c, f),
            Obj::B2b(c) => self.resolve_b2b(c, f),
            Obj::Bulk(i, over) => v(bulk::field(st, *i, *over, name, self.env)),
            Obj::Count(n, exact) => match name {
                "count" => v(Json::from(*n)),
                "precision" => s(if *exact { "EXACT" } else { "AT_LEAST" }),
                _ => unknown(name),
            },
            Obj::SetPayload(o) => match name {
                "inventoryAdjustmentGroup" => one(o.group.as_ref().map(|_| Obj::Group(o.clone()))),
                "userErrors" => Ok(R::Many(
                    o.user_errors
                        .iter()
                        .map(|e| Some(Obj::UserErr(T::SetQuantitiesUserError, Rc::new(e.clone()))))
                        .collect(),
                )),
                _ => unknown(name),
            },
            Obj::Group(o) => {
                let g = o
                    .group
                    .as_ref()
                    .ok_or_else(|| ferr("missing group", "INTERNAL_SERVER_ERROR"))?;
                match name {
                    "id" => s(&format!("{GID_GROUP}{}", g.id)),
                    "createdAt" => s(&self.env.clock.iso(g.created_at)),
                    "reason" => s(&g.reason),
                    "referenceDocumentUri" => v(g
                        .reference_document_uri
                        .clone()
                        .map(Json::String)
                        .unwrap_or(Json::Null)),
                    "changes" => {
                        let filter = |arg: &str| -> Option<Vec<String>> {
                            self.doc.arg(f, arg).and_then(|v| {
                                v.as_array().map(|a| {
                                    a.iter()
                                        .filter_map(|x| x.as_str().map(str::to_string))
                                        .collect()
                                })
                            })
                        };
                        let items = filter("inventoryItemIds");
                        let locs = filter("locationIds");
                        let names = filter("quantityNames");
                        let list = g
                            .changes
                            .iter()
                            .enumerate()
                            .filter(|(_, c)| {
                                items
                                    .as_ref()
                                    .is_none_or(|v| v.contains(&st.gid(GID_ITEM, c.item)))
                                    && locs.as_ref().is_none_or(|v| {
                                        v.contains(&st.gid(GID_LOCATION, c.location))
                                    })
                                    && names.as_ref().is_none_or(|v| v.iter().any(|n| n == c.name))
                            })
                            .map(|(k, _)| Some(Obj::Change(o.clone(), k)))
                            .collect();
                        Ok(R::Many(list))
                    }
                    _ => unknown(name),
                }
            }
            Obj::Change(o, k) => {
                let c = o
                    .group
                    .as_ref()
                    .and_then(|g| g.changes.get(*k))
                    .ok_or_else(|| ferr("missing change", "INTERNAL_SERVER_ERROR"))?;
                match name {
                    "name" => s(c.name),
                    "delta" => v(Json::from(c.delta)),
                    // The live 2026-04 API answers null here for inventorySetQuantities.
                    "quantityAfterChange" | "ledgerDocumentUri" => v(Json::Null),
                    "item" => one(Some(Obj::Item(c.item))),
                    "location" => one(Some(Obj::Location(c.location))),
                    _ => unknown(name),
                }
            }
            Obj::UserErr(_, e) => match name {
                "field" => v(e
                    .field
                    .as_ref()
                    .map(|f| Json::Array(f.iter().map(|x| Json::String(x.clone())).collect()))
                    .unwrap_or(Json::Null)),
                "message" => s(&e.message),
                "code" => v(e.code.clone().map(Json::String).unwrap_or(Json::Null)),
                _ => unknown(name),
            },
            Obj::BulkPayload(t, op, errs) => match name {
                "bulkOperation" => one(op.map(|(i, over)| Obj::Bulk(i, over))),
                "userErrors" => {
                    let et = if *t == T::BulkCancelPayload {
                        T::UserError
                    } else {
                        T::BulkOperationUserError
                    };
                    Ok(R::Many(
                        errs.iter()
                            .map(|e| Some(Obj::UserErr(et, Rc::new(e.clone()))))
                            .collect(),
                    ))
                }
                _ => unknown(name),
            },
            Obj::Conn(p) => match name {
                "nodes" => Ok(R::Many(p.items.iter().cloned().map(Some).collect())),
                "edges" => Ok(R::Many(
                    (0..p.items.len())
                        .map(|i| Some(Obj::Edge(p.clone(), i)))
                        .collect(),
                )),
                "pageInfo" => one(Some(Obj::PageInfo(p.clone()))),
                _ => unknown(name),
            },
            Obj::Edge(p, i) => match name {
                "cursor" => s(&p.cursors[*i]),
                "node" => one(Some(p.items[*i].clone())),
                _ => unknown(name),
            },
            Obj::PageInfo(p) => match name {
                "hasNextPage" => v(Json::Bool(p.has_next)),
                "hasPreviousPage" => v(Json::Bool(p.has_prev)),
                "startCursor" => v(p
                    .cursors
                    .first()
                    .cloned()
                    .map(Json::String)
                    .unwrap_or(Json::Null)),
                "endCursor" => v(p
                    .cursors
                    .last()
                    .cloned()
                    .map(Json::String)
                    .unwrap_or(Json::Null)),
                _ => unknown(name),
            },
        }
    }

    pub(crate) fn str_arg(&self, f: &ast::Field, name: &str) -> Option<String> {
        self.doc
            .arg(f, name)
            .and_then(|v| v.as_str().map(str::to_string))
    }

    pub(crate) fn id_arg(
        &self,
        f: &ast::Field,
        arg: &str,
        prefix: &str,
        len: usize,
    ) -> Option<usize> {
        let id = self.str_arg(f, arg)?;
        self.st.parse_gid(prefix, &id).filter(|&i| i < len)
    }

    fn bulk_obj(&self, id: &str) -> Option<Obj> {
        let n = parse_gid(GID_BULK, id)? as u64 + 1;
        self.st.bulk_index(n).map(|i| Obj::Bulk(i, None))
    }

    fn node(&self, id: &str) -> Option<Obj> {
        let st = &*self.st;
        if let Some(i) = st.parse_gid(GID_LOCATION, id) {
            return (i < st.locations.len()).then_some(Obj::Location(i));
        }
        if let Some(i) = st.parse_gid(GID_VARIANT, id) {
            return (i < st.variants.len()).then_some(Obj::Variant(i));
        }
        if let Some(i) = st.parse_gid(GID_ITEM, id) {
            return (i < st.variants.len()).then_some(Obj::Item(i));
        }
        if let Some(i) = st.parse_gid(GID_PRODUCT, id) {
            return (i < st.products.len()).then_some(Obj::Product(i));
        }
        if let Some(i) = st.parse_gid(GID_LEVEL, id) {
            return (i < st.levels.len()).then_some(Obj::Level(i));
        }
        if let Some(i) = st.parse_gid(GID_ORDER, id) {
            return (i < st.book.orders.len()).then_some(Obj::Order(i));
        }
        if let Some(i) = st.parse_gid(GID_FO, id) {
            return (i < st.book.fos.len()).then_some(Obj::Fo(i));
        }
        self.bulk_obj(id)
    }

    /// Builds one page. `at(st, pos)` yields the element at position `pos` of the underlying
    /// list if it passes the filters; `candidates` optionally narrows the positions scanned.
    pub(crate) fn page(
        &self,
        f: &ast::Field,
        n: N,
        len: usize,
        at: impl Fn(&StoreData, usize) -> Option<Obj>,
        candidates: Option<Vec<usize>>,
    ) -> Result<R, FieldErr> {
        let first = if self.unbounded {
            usize::MAX
        } else {
            self.doc
                .arg(f, "first")
                .and_then(|v| v.as_u64())
                .unwrap_or(0) as usize
        };
        let after = match self.str_arg(f, "after") {
            None => None,
            Some(c) => Some(decode_cursor(&c).ok_or_else(|| {
                ferr("Invalid cursor for current pagination sort.", "BAD_REQUEST")
            })?),
        };
        let reverse = self
            .doc
            .arg(f, "reverse")
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        let start = after.map(|a| a + 1).unwrap_or(0);
        let mut items = Vec::new();
        let mut cursors = Vec::new();
        let mut has_next = false;
        let positions: Box<dyn Iterator<Item = usize>> = match (candidates, reverse) {
            (Some(c), false) => Box::new(c.into_iter().filter(move |&p| p >= start && p < len)),
            (Some(mut c), true) => {
                c.reverse();
                let lim = after.unwrap_or(usize::MAX);
                Box::new(c.into_iter().filter(move |&p| p < lim && p < len))
            }
            (None, false) => Box::new(start..len),
            (None, true) => Box::new((0..after.unwrap_or(len).min(len)).rev()),
        };
        for pos in positions {
            if let Some(o) = at(self.st, pos) {
                if items.len() == first {
                    has_next = true;
                    break;
                }
                items.push(o);
                cursors.push(encode_cursor(pos));
            }
        }
        Ok(R::Page(Rc::new(Page {
            n,
            items,
            cursors,
            has_next,
            has_prev: after.is_some(),
        })))
    }
}

pub(crate) fn unknown(name: &str) -> Result<R, FieldErr> {
    Err(ferr(
        format!("Field '{name}' is not supported"),
        "BAD_REQUEST",
    ))
}

/// Registers a new bulk operation record (id from the simulator-wide counter).
pub(crate) fn new_bulk_op(st: &mut StoreData, query: &str, env: &Env<'_>) -> usize {
    let id = env.bulk_ids.fetch_add(1, Ordering::Relaxed);
    st.bulk_ops.push(BulkOp {
        id,
        query: query.to_string(),
        status: BulkStatus::Created,
        created_at: env.now,
        created_by_request: env.request_number,
        completed_at: None,
        object_count: 0,
        root_object_count: 0,
        file_size: None,
        url: None,
    });
    st.bulk_ops.len() - 1
}

/// Refuses a mutation `f` that carries `@idempotent` when Shopify does not honour it there, before
/// anything runs, so a client cannot believe itself protected by a key that is ignored.
pub(crate) fn refuse_idempotent(f: &Node<ast::Field>) -> Result<(), FieldErr> {
    if f.directives.iter().any(|d| d.name == "idempotent") {
        return Err(ferr(
            format!(
                "The @idempotent directive is not supported for the {} mutation.",
                f.name
            ),
            "BAD_REQUEST",
        ));
    }
    Ok(())
}
