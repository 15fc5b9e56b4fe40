//! Requested query cost, computed from the document before execution.
//!
//! Shopify charges the worst case up front and refunds afterwards, so a client that paces on
//! `requestedQueryCost` must see the same numbers here as from the real API:
//! scalars/enums 0, an object 1, a connection `2 + first x (one node)` (nested connections
//! multiply, `pageInfo`/`edges`/`cursor` are free), a plain list of objects 1 + one element,
//! a mutation root field 10 plus its payload selection where `userErrors` and the bulk
//! operation payload object are free. `InventoryAdjustmentGroup.changes` is free as well:
//! the recorded 2026-04 answer charges 13 for
//! `inventoryAdjustmentGroup{changes{item{id} location{id}}}` (10 + group + item + location).
//! Root `*Count` fields are the exception to the object rule: every recorded count-only query
//! (`productsCount`, `customersCount`, `collectionsCount`, `companiesCount(limit: null)`) is
//! charged 10 requested and 10 actual, not the 1 an object would cost, so
//! `productVariantsCount` costs [`COUNT_ROOT_COST`] whatever it selects.
//! Amounts are free: every recorded answer selecting `MoneyBag`s (`shopMoney`/`presentmentMoney`,
//! both `MoneyV2`) charges nothing for them — `order(id) { id … totalOutstandingSet {…}
//! currentTotalPriceSet {…} totalPriceSet {…} }` with both monies is requested 1 and charged 1, the
//! order alone. A mutation payload's returned object is free as well where captures show it:
//! `fulfillmentCreate { fulfillment { id status displayStatus } userErrors {…} }` and
//! `orderClose { order { id closed closedAt } userErrors {…} }` are requested 10; the object's
//! own selection (`trackingInfo`, a nested `customer`) is still charged.
//! A union (`PurchasingEntity`) costs its own point plus the most expensive member selection, like
//! `Node`.
//! The actual cost uses the same rules with the returned counts (see `exec.rs`).

use apollo_compiler::ast::Selection;

use crate::gql::Doc;
use crate::schema::{FK, T, field};

/// Base cost of every mutation root field.
pub(crate) const MUTATION_BASE: f64 = 10.0;

/// Requested and actual cost of a root count field (captures: `productsCount { count precision }`
/// alone is charged 10/10; `companies(first: 1) {…}` + `companiesCount(limit: null)` 13 = 3 + 10).
pub(crate) const COUNT_ROOT_COST: f64 = 10.0;

/// Fields charged a fixed amount, selection included, instead of by the object/connection rules.
pub(crate) fn fixed_cost(parent: T, name: &str) -> Option<f64> {
    match (parent, name) {
        (T::Query, "productVariantsCount" | "ordersCount") => Some(COUNT_ROOT_COST),
        _ => None,
    }
}

/// Is `name` on payload/parent type `parent` free of its own object cost?
/// Returns `Some(true)` when the field and its children are free, `Some(false)` when only the
/// field's own point is waived, `None` for the normal rule.
pub(crate) fn free_field(parent: T, name: &str) -> Option<bool> {
    if let Some(free) = crate::catalog::free_field(parent, name) {
        return Some(free);
    }
    if let Some(free) = crate::companies::free_field(parent, name) {
        return Some(free);
    }
    if let Some((FK::Obj(T::MoneyBag | T::MoneyV2), _)) = field(parent, name) {
        return Some(true);
    }
    match (parent, name) {
        (_, "userErrors") => Some(true),
        (T::FulfillmentCreatePayload, "fulfillment")
        | (T::OrderUpdatePayload | T::OrderClosePayload, "order") => Some(false),
        (T::BulkRunQueryPayload | T::BulkCancelPayload, "bulkOperation") => Some(true),
        (T::Conn(_), "pageInfo") => Some(true),
        (T::AdjustmentGroup, "changes") => Some(false),
        _ => None,
    }
}

pub(crate) fn requested(doc: &Doc<'_>, root: T, sels: &[Selection]) -> f64 {
    let fields = doc.collect(root, &[sels]);
    let mut total = 0.0;
    for (_, fs) in fields {
        let f = fs[0];
        let Some((kind, _)) = field(root, f.name.as_str()) else {
            continue;
        };
        let children: Vec<&[Selection]> = fs.iter().map(|f| &f.selection_set[..]).collect();
        if root == T::Mutation {
            let inner = match kind {
                FK::Obj(pt) => sel_cost(doc, pt, &children, 0.0),
                _ => 0.0,
            };
            total += MUTATION_BASE + inner;
        } else {
            total += field_cost(doc, root, f.name.as_str(), kind, f, &children, 0.0);
        }
    }
    total
}

fn first_of(doc: &Doc<'_>, f: &apollo_compiler::ast::Field) -> f64 {
    doc.arg(f, "first")
        .or_else(|| doc.arg(f, "last"))
        .and_then(|v| v.as_f64())
        .unwrap_or(0.0)
        .max(0.0)
}

fn field_cost(
    doc: &Doc<'_>,
    parent: T,
    name: &str,
    kind: FK,
    f: &apollo_compiler::ast::Field,
    children: &[&[Selection]],
    first: f64,
) -> f64 {
    if let Some(fixed) = fixed_cost(parent, name) {
        return fixed;
    }
    let free = free_field(parent, name);
    if free == Some(true) {
        return 0.0;
    }
    let own = if free == Some(false) { 0.0 } else { 1.0 };
    match kind {
        FK::Scalar => 0.0,
        FK::Obj(ct) => own + sel_cost(doc, ct, children, first),
        FK::List(ct) => match (parent, name) {
            (T::Conn(_), "nodes") => first * (1.0 + sel_cost(doc, ct, children, 0.0)),
            (T::Conn(_), "edges") => first * sel_cost(doc, ct, children, 0.0),
            _ => own + sel_cost(doc, ct, children, 0.0),
        },
        FK::Conn(n) => 2.0 + sel_cost(doc, T::Conn(n), children, first_of(doc, f)),
    }
}

/// Cost of a selection on type `t`. For `Node` and unions the most expensive member counts;
/// on a connection the `nodes` and `edges` branches overlap, so the larger one counts.
fn sel_cost(doc: &Doc<'_>, t: T, sels: &[&[Selection]], first: f64) -> f64 {
    if let Some(types) = t.possible_types() {
        return types
            .iter()
            .map(|&ct| sel_cost(doc, ct, sels, first))
            .fold(0.0, f64::max);
    }
    let mut total: f64 = 0.0;
    for (_, fs) in doc.collect(t, sels) {
        let f = fs[0];
        let Some((kind, _)) = field(t, f.name.as_str()) else {
            continue;
        };
        let children: Vec<&[Selection]> = fs.iter().map(|f| &f.selection_set[..]).collect();
        let c = field_cost(doc, t, f.name.as_str(), kind, f, &children, first);
        if matches!(t, T::Conn(_)) {
            total = total.max(c);
        } else {
            total += c;
        }
    }
    total
}
