//! The wire shapes of Shopify's Admin GraphQL answers as typed structs, decoded with serde.
//!
//! Why typed instead of looking values up by JSON path: a wrong shape fails loudly at the boundary,
//! with an error naming the JSON path and what was expected there (a missing `pageInfo`, a string
//! where `actualQueryCost` should be a number), instead of a lookup quietly yielding `None` deep in a
//! task; and the wide order shapes (`orders.rs`) reuse [`Connection`], [`PageInfo`], [`UserError`],
//! [`IdRef`] and [`MoneyBag`] instead of walking JSON by hand once more.
//!
//! Here: the envelope ([`GraphQlResponse`] with its `errors` and `extensions.cost`), the pieces every
//! document selects, the bulk JSONL line ([`BulkLine`]) and the decoding functions
//! ([`decode_slice`], [`decode_value`]). The `data` shape of each document sits beside the code that
//! sends it (`inventory.rs`, `bulk.rs`, `orders.rs`) and mirrors the document's selection field for
//! field: a field the schema declares non-null is required, a nullable one is an `Option`. Unknown
//! fields are ignored, so a selection may grow (or a recorded answer carry more) without breaking
//! decoding.
//!
//! Numbers: cost points arrive as `2000` or `2000.0` and are read as `f64`, also from a numeric
//! string; `UnsignedInt64` (`objectCount`) arrives as a string. `errors` is an array on GraphQL errors
//! but a plain string (401) or an object (a missing `query`) on some HTTP errors; all three decode.

use crate::error::ShopifyError;
use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

/// Longest decoding message kept (the reason may quote a value of the answer).
pub const MAX_DECODE_MESSAGE: usize = 300;

/// One answer: `data` as the document's typed shape (`T`), the top-level `errors`, and the
/// `extensions.cost` the pacer feeds on. The transport decodes the envelope with `T = Value` (it
/// does not know the document) and the caller decodes `data` with [`GraphQlResponse::into_data`].
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
pub struct GraphQlResponse<T = Value> {
    /// `null` or absent (THROTTLED, a refused document) is `None`.
    #[serde(default = "none")]
    pub data: Option<T>,
    #[serde(default, deserialize_with = "errors_field")]
    pub errors: Vec<GraphQlError>,
    /// `extensions.cost`, the only extension read.
    #[serde(
        default,
        rename = "extensions",
        deserialize_with = "cost_of_extensions"
    )]
    pub cost: Option<QueryCost>,
}

fn none<T>() -> Option<T> {
    None
}

impl<T> Default for GraphQlResponse<T> {
    fn default() -> Self {
        GraphQlResponse {
            data: None,
            errors: Vec::new(),
            cost: None,
        }
    }
}

/// One top-level GraphQL error (`{ message, extensions { code } }`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(from = "GraphQlErrorWire")]
pub struct GraphQlError {
    pub message: String,
    /// `extensions.code`, e.g. THROTTLED, MAX_COST_EXCEEDED, ACCESS_DENIED, BAD_REQUEST.
    pub code: Option<String>,
}

#[derive(Deserialize)]
struct GraphQlErrorWire {
    message: String,
    #[serde(default)]
    extensions: Option<ErrorExtensions>,
}

#[derive(Deserialize)]
struct ErrorExtensions {
    #[serde(default)]
    code: Option<String>,
}

impl From<GraphQlErrorWire> for GraphQlError {
    fn from(w: GraphQlErrorWire) -> Self {
        GraphQlError {
            message: w.message,
            code: w.extensions.and_then(|x| x.code),
        }
    }
}

/// `errors` as Shopify sends it: a list of error objects, a plain string (HTTP 401), or anything
/// else (an object on a request without `query`), kept as its JSON text.
#[derive(Deserialize)]
#[serde(untagged)]
enum ErrorsWire {
    List(Vec<GraphQlError>),
    Message(String),
    Other(Value),
}

fn errors_field<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<GraphQlError>, D::Error> {
    Ok(match Option::<ErrorsWire>::deserialize(d)? {
        None => Vec::new(),
        Some(ErrorsWire::List(errors)) => errors,
        Some(ErrorsWire::Message(message)) => vec![GraphQlError {
            message,
            code: None,
        }],
        Some(ErrorsWire::Other(other)) => vec![GraphQlError {
            message: other.to_string(),
            code: None,
        }],
    })
}

/// `extensions` (only `cost` is read).
#[derive(Deserialize)]
struct Extensions {
    #[serde(default)]
    cost: Option<QueryCost>,
}

fn cost_of_extensions<'de, D: Deserializer<'de>>(d: D) -> Result<Option<QueryCost>, D::Error> {
    Ok(Option::<Extensions>::deserialize(d)?.and_then(|x| x.cost))
}

/// `extensions.cost`.
#[derive(Debug, Clone, Copy, PartialEq, Default, Deserialize)]
pub struct QueryCost {
    #[serde(
        rename = "requestedQueryCost",
        default,
        deserialize_with = "points::option"
    )]
    pub requested: Option<f64>,
    /// `null` when the query did not run (THROTTLED).
    #[serde(
        rename = "actualQueryCost",
        default,
        deserialize_with = "points::option"
    )]
    pub actual: Option<f64>,
    #[serde(rename = "throttleStatus", default)]
    pub throttle_status: Option<ThrottleStatus>,
}

/// `extensions.cost.throttleStatus`: the store's bucket as Shopify saw it when answering.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThrottleStatus {
    #[serde(deserialize_with = "points::required")]
    pub maximum_available: f64,
    #[serde(deserialize_with = "points::required")]
    pub currently_available: f64,
    /// Points per second.
    #[serde(deserialize_with = "points::required")]
    pub restore_rate: f64,
}

/// Cost points: a JSON number, or a string holding one.
mod points {
    use super::*;

    struct Points;

    impl Visitor<'_> for Points {
        type Value = f64;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a number of cost points")
        }

        fn visit_f64<E: de::Error>(self, v: f64) -> Result<f64, E> {
            Ok(v)
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<f64, E> {
            Ok(v as f64)
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<f64, E> {
            Ok(v as f64)
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<f64, E> {
            v.trim()
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite())
                .ok_or_else(|| E::invalid_value(de::Unexpected::Str(v), &self))
        }
    }

    pub fn required<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        d.deserialize_any(Points)
    }

    pub fn option<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
        #[derive(Deserialize)]
        struct Wrap(#[serde(deserialize_with = "required")] f64);
        Ok(Option::<Wrap>::deserialize(d)?.map(|Wrap(v)| v))
    }
}

/// An `UnsignedInt64`: Shopify serialises it as a string (`"1456"`); a plain number is accepted too.
pub mod unsigned_int64 {
    use super::*;

    struct U64;

    impl Visitor<'_> for U64 {
        type Value = u64;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an unsigned 64-bit integer (as a string or a number)")
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
            Ok(v)
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
            u64::try_from(v).map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<u64, E> {
            v.trim()
                .parse()
                .map_err(|_| E::invalid_value(de::Unexpected::Str(v), &self))
        }
    }

    pub fn required<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        d.deserialize_any(U64)
    }

    pub fn option<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        #[derive(Deserialize)]
        struct Wrap(#[serde(deserialize_with = "required")] u64);
        Ok(Option::<Wrap>::deserialize(d)?.map(|Wrap(v)| v))
    }
}

/// A connection as selected: `nodes { … }` or `edges { node { … } }`, and `pageInfo` when the
/// document pages through it (a nested connection read in one go may leave it out).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Connection<N> {
    #[serde(default = "none")]
    pub nodes: Option<Vec<N>>,
    #[serde(default = "none")]
    pub edges: Option<Vec<Edge<N>>>,
    #[serde(default)]
    pub page_info: Option<PageInfo>,
}

impl<N> Connection<N> {
    /// The nodes, whether the document selected `nodes` or `edges { node }`.
    pub fn into_nodes(self) -> Vec<N> {
        match (self.nodes, self.edges) {
            (Some(nodes), _) => nodes,
            (None, Some(edges)) => edges.into_iter().map(|e| e.node).collect(),
            (None, None) => Vec::new(),
        }
    }
}

/// `edges { cursor node }`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Edge<N> {
    pub node: N,
    #[serde(default)]
    pub cursor: Option<String>,
}

/// `pageInfo { hasNextPage endCursor }` of a connection.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageInfo {
    pub has_next_page: bool,
    /// `null` on an empty page.
    #[serde(default)]
    pub end_cursor: Option<String>,
}

/// An object of which only `id` is selected (`product { id }`, `item { id }`, a bulk root line).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct IdRef {
    pub id: String,
}

/// A `userErrors` entry, `{ field message code }` (`field` may be null; `code` exists only on the
/// typed user errors of newer mutations). Returned to callers as data, never as `Err`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct UserError {
    #[serde(default)]
    pub field: Option<Vec<String>>,
    pub message: String,
    #[serde(default)]
    pub code: Option<String>,
}

impl From<UserError> for shopsync_domain::inventory::UserError {
    fn from(e: UserError) -> Self {
        shopsync_domain::inventory::UserError {
            code: e.code,
            field: e.field.unwrap_or_default(),
            message: e.message,
        }
    }
}

/// The user errors of a payload, as the domain carries them.
pub fn user_errors(errors: Vec<UserError>) -> Vec<shopsync_domain::inventory::UserError> {
    errors.into_iter().map(Into::into).collect()
}

/// `Count { count precision }` (`productVariantsCount`, `ordersCount`, …).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Count {
    pub count: u64,
    /// EXACT or AT_LEAST.
    pub precision: String,
}

/// `MoneyV2 { amount currencyCode }`. `amount` is a `Decimal`, which Shopify serialises as a string
/// (`"12.50"`); it stays that string so no amount is rounded through `f64`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Money {
    pub amount: String,
    pub currency_code: String,
}

/// `MoneyBag { shopMoney presentmentMoney }` (an order's `totalPriceSet` and the like).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MoneyBag {
    pub shop_money: Money,
    /// Absent when the document selects only `shopMoney`.
    #[serde(default)]
    pub presentment_money: Option<Money>,
}

/// One line of a bulk operation's JSONL result: a root object, or a row of a nested connection,
/// which carries its parent's id in `__parentId` (and follows the parent, not necessarily directly).
#[derive(Debug, Clone, PartialEq)]
pub enum BulkLine<R, C> {
    Root(R),
    Child { parent_id: String, node: C },
}

impl<R: DeserializeOwned, C: DeserializeOwned> BulkLine<R, C> {
    /// Decodes one JSONL line: as `C` when it has a `__parentId`, else as `R`.
    pub fn decode(what: &str, line: &[u8]) -> Result<Self, DecodeError> {
        #[derive(Deserialize)]
        struct Head {
            #[serde(rename = "__parentId", default)]
            parent_id: Option<String>,
        }
        let head: Head = decode_slice(what, line)?;
        match head.parent_id {
            None => decode_slice(what, line).map(BulkLine::Root),
            Some(parent_id) => {
                decode_slice(what, line).map(|node| BulkLine::Child { parent_id, node })
            }
        }
    }
}

/// Why a body, a `data` object or a JSONL line could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// Not JSON at all (truncated, HTML, …) rather than JSON of the wrong shape.
    pub syntax: bool,
    /// What was decoded, where the shape was wrong (JSON path), and why; at most
    /// [`MAX_DECODE_MESSAGE`] characters.
    pub message: String,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<DecodeError> for ShopifyError {
    /// Unreadable JSON is a transport failure (retryable: the next answer may arrive whole); JSON of
    /// the wrong shape is [`ShopifyError::Unexpected`] (not retryable: the same answer would come back).
    fn from(e: DecodeError) -> Self {
        if e.syntax {
            ShopifyError::Transport {
                attempts: 1,
                message: e.message,
            }
        } else {
            ShopifyError::Unexpected(e.message)
        }
    }
}

/// Decodes JSON text as `T`; `what` names it in the error (`"LocationInventoryLevels answer"`).
pub fn decode_slice<T: DeserializeOwned>(what: &str, bytes: &[u8]) -> Result<T, DecodeError> {
    let mut json = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut json)
        .map_err(|e| decode_error(what, "", &e.path().to_string(), e.inner()))
}

/// Decodes an already parsed value as `T`. `root` is the value's own path in the answer (`"data"`),
/// so a failure names the full path (`data.location.inventoryLevels.nodes[3].item`).
pub fn decode_value<T: DeserializeOwned>(
    what: &str,
    root: &str,
    value: &Value,
) -> Result<T, DecodeError> {
    serde_path_to_error::deserialize(value)
        .map_err(|e| decode_error(what, root, &e.path().to_string(), e.inner()))
}

/// `path` is `serde_path_to_error`'s (`a.b[3].c`, `.` for the top level), which tracks it while
/// decoding.
fn decode_error(what: &str, root: &str, path: &str, e: &serde_json::Error) -> DecodeError {
    use serde_json::error::Category;
    let syntax = matches!(
        e.classify(),
        Category::Syntax | Category::Eof | Category::Io
    );
    let full = e.to_string();
    if syntax {
        return DecodeError {
            syntax,
            message: bounded(format!("{what}: not JSON: {full}")),
        };
    }
    // serde_json appends " at line L column C"; the JSON path says it better.
    let reason = full
        .strip_suffix(&format!(" at line {} column {}", e.line(), e.column()))
        .unwrap_or(&full);
    let path = match path {
        "" | "." => String::new(),
        p if p.starts_with('[') => p.to_string(),
        p => format!(".{p}"),
    };
    DecodeError {
        syntax,
        message: bounded(format!("{what}: at {}: {reason}", show_path(root, &path))),
    }
}

fn show_path(root: &str, path: &str) -> String {
    match (root.is_empty(), path.is_empty()) {
        (true, true) => "the top level".into(),
        (true, false) => path.trim_start_matches('.').to_string(),
        (false, _) => format!("{root}{path}"),
    }
}

fn bounded(message: String) -> String {
    if message.chars().count() > MAX_DECODE_MESSAGE {
        let mut cut: String = message.chars().take(MAX_DECODE_MESSAGE - 1).collect();
        cut.push('…');
        cut
    } else {
        message
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Shape {
        location: Option<Levels>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Levels {
        inventory_levels: Connection<Level>,
    }

    #[derive(Debug, PartialEq, Deserialize)]
    #[allow(dead_code)]
    struct Level {
        item: IdRef,
        quantities: Vec<Q>,
    }

    #[derive(Debug, PartialEq, Deserialize)]
    #[allow(dead_code)]
    struct Q {
        name: String,
        quantity: i64,
    }

    fn shape_error(v: Value) -> String {
        let e = decode_value::<Shape>("LocationInventoryLevels answer", "data", &v).unwrap_err();
        assert!(!e.syntax);
        assert!(e.message.chars().count() <= MAX_DECODE_MESSAGE, "{e}");
        e.message
    }

    #[test]
    fn a_wrong_shape_names_its_path() {
        let ok = json!({"location": {"inventoryLevels": {"nodes": [
            {"item": {"id": "i1"}, "quantities": [{"name": "available", "quantity": 1}]}],
            "pageInfo": {"hasNextPage": false, "endCursor": null}}}});
        assert!(decode_value::<Shape>("x", "data", &ok).is_ok());

        let m = shape_error(json!({"location": {"inventoryLevels": {"nodes": [
            {"item": {"id": "i1"}, "quantities": [{"name": "available", "quantity": 1}]},
            {"item": {"id": "i2"}, "quantities": [{"name": "available", "quantity": "7"}]}]}}}));
        assert_eq!(
            m,
            "LocationInventoryLevels answer: at data.location.inventoryLevels.nodes[1].quantities[0].quantity: \
             invalid type: string \"7\", expected i64"
        );
        let m =
            shape_error(json!({"location": {"inventoryLevels": {"nodes": [{"quantities": []}]}}}));
        assert_eq!(
            m,
            "LocationInventoryLevels answer: at data.location.inventoryLevels.nodes[0]: missing field `item`"
        );
        let m = shape_error(json!({"location": {"inventoryLevels": {"nodes": [],
            "pageInfo": {"endCursor": null}}}}));
        assert!(
            m.ends_with("at data.location.inventoryLevels.pageInfo: missing field `hasNextPage`"),
            "{m}"
        );
        let m = shape_error(json!({"location": {"inventoryLevels": {"nodes": {"a": 1}}}}));
        assert!(
            m.contains("at data.location.inventoryLevels.nodes: invalid type: map"),
            "{m}"
        );
        let m = shape_error(json!({"location": 3}));
        assert!(
            m.contains("at data.location: invalid type: integer `3`"),
            "{m}"
        );
        let m = shape_error(json!("text"));
        assert!(m.contains("at data: invalid type: string \"text\""), "{m}");
    }

    #[test]
    fn messages_are_bounded() {
        let long = "x".repeat(5_000);
        let e = decode_value::<Shape>("x", "data", &json!({ "location": long })).unwrap_err();
        assert_eq!(e.message.chars().count(), MAX_DECODE_MESSAGE);
        assert!(e.message.ends_with('…'));
    }

    #[test]
    fn paths_in_multi_line_text_and_escaped_keys() {
        let text =
            "{\n  \"a\\\"b\": 1,\n  \"list\": [\n    {\"id\": \"1\"},\n    {\"id\": 2}\n  ]\n}";
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct T {
            list: Vec<IdRef>,
        }
        let e = decode_slice::<T>("t", text.as_bytes()).unwrap_err();
        assert_eq!(
            e.message,
            "t: at list[1].id: invalid type: integer `2`, expected a string"
        );
        let e = decode_slice::<T>("t", b"{\"list\": [").unwrap_err();
        assert!(e.syntax && e.message.starts_with("t: not JSON: "), "{e}");
        let e = decode_slice::<T>("t", b"{}").unwrap_err();
        assert_eq!(e.message, "t: at the top level: missing field `list`");
    }

    #[test]
    fn decode_errors_become_shopify_errors() {
        let shape = DecodeError {
            syntax: false,
            message: "m".into(),
        };
        assert_eq!(
            ShopifyError::from(shape),
            ShopifyError::Unexpected("m".into())
        );
        let syntax = DecodeError {
            syntax: true,
            message: "m".into(),
        };
        assert!(ShopifyError::from(syntax).is_retryable());
    }

    #[test]
    fn connections_nodes_or_edges() {
        let c: Connection<IdRef> = serde_json::from_value(json!({
            "edges": [{"cursor": "a", "node": {"id": "1"}}, {"cursor": "b", "node": {"id": "2"}}],
            "pageInfo": {"hasNextPage": false, "endCursor": null}}))
        .unwrap();
        assert_eq!(c.page_info, Some(PageInfo::default()));
        assert_eq!(
            c.into_nodes(),
            vec![IdRef { id: "1".into() }, IdRef { id: "2".into() }]
        );
        let c: Connection<IdRef> = serde_json::from_value(json!({"nodes": [{"id": "3"}]})).unwrap();
        assert_eq!(c.page_info, None);
        assert_eq!(c.into_nodes().len(), 1);
    }

    #[test]
    fn bulk_lines_roots_and_children() {
        type Line = BulkLine<IdRef, Level>;
        let root = Line::decode("l", br#"{"id":"L1"}"#).unwrap();
        assert_eq!(root, BulkLine::Root(IdRef { id: "L1".into() }));
        let child = Line::decode(
            "l",
            br#"{"item":{"id":"I1"},"quantities":[],"__parentId":"L1"}"#,
        )
        .unwrap();
        assert!(matches!(child, BulkLine::Child { ref parent_id, .. } if parent_id == "L1"));
        let e = Line::decode("bulk JSONL line 3", br#"{"item":{},"__parentId":"L1"}"#).unwrap_err();
        assert_eq!(e.message, "bulk JSONL line 3: at item: missing field `id`");
    }

    #[test]
    fn money_keeps_the_decimal_string() {
        let m: MoneyBag = serde_json::from_value(
            json!({"shopMoney": {"amount": "12.50", "currencyCode": "EUR"}}),
        )
        .unwrap();
        assert_eq!(m.shop_money.amount, "12.50");
        assert_eq!(m.presentment_money, None);
    }
}
