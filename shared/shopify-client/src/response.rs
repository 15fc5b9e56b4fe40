//! Parsing of Shopify's GraphQL response envelope, separate from HTTP so it can be checked against
//! recorded real responses (`tests/captures.rs`).
//!
//! Every answer carries `extensions.cost` (requested/actual cost and the bucket's `throttleStatus`),
//! which feeds the pacer; top-level `errors` decide between retry and failure; `userErrors` and
//! `pageInfo` live inside `data`. Numbers arrive as `2000` or `2000.0`, so all of them are read as
//! `f64`; `errors` is an array on GraphQL errors but a plain string on some HTTP errors (401).

use serde_json::Value;
use shopsync_domain::inventory::UserError;

/// `extensions.cost.throttleStatus`: the store's bucket as Shopify saw it when answering.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ThrottleStatus {
    pub maximum_available: f64,
    pub currently_available: f64,
    /// Points per second.
    pub restore_rate: f64,
}

/// `extensions.cost`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct QueryCost {
    pub requested: Option<f64>,
    /// `null` when the query did not run (THROTTLED).
    pub actual: Option<f64>,
    pub throttle_status: Option<ThrottleStatus>,
}

/// One top-level GraphQL error.
#[derive(Debug, Clone, PartialEq)]
pub struct GraphQlError {
    pub message: String,
    /// `extensions.code`, e.g. THROTTLED, MAX_COST_EXCEEDED, ACCESS_DENIED, BAD_REQUEST.
    pub code: Option<String>,
}

/// A parsed response body.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GraphQlResponse {
    pub data: Option<Value>,
    pub errors: Vec<GraphQlError>,
    pub cost: Option<QueryCost>,
}

/// What a response means for the caller, judged from its top-level errors.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// No top-level errors: `data` is the answer (it may still hold `userErrors`).
    Ok,
    /// The bucket could not hold the requested cost; wait and resend.
    Throttled,
    /// The document is too expensive to ever run.
    MaxCostExceeded(String),
    /// Missing scope.
    AccessDenied(String),
    /// Shopify failed internally; resending may work.
    Internal(String),
    /// Anything else: the request itself is wrong.
    Rejected { code: String, message: String },
}

fn num(v: &Value) -> Option<f64> {
    v.as_f64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

impl ThrottleStatus {
    pub fn from_json(v: &Value) -> Option<Self> {
        Some(ThrottleStatus {
            maximum_available: num(v.get("maximumAvailable")?)?,
            currently_available: num(v.get("currentlyAvailable")?)?,
            restore_rate: num(v.get("restoreRate")?)?,
        })
    }
}

impl QueryCost {
    pub fn from_json(v: &Value) -> Self {
        QueryCost {
            requested: v.get("requestedQueryCost").and_then(num),
            actual: v.get("actualQueryCost").and_then(num),
            throttle_status: v.get("throttleStatus").and_then(ThrottleStatus::from_json),
        }
    }
}

impl GraphQlResponse {
    /// Parses an already decoded JSON value.
    pub fn from_value(v: Value) -> Result<Self, String> {
        let Value::Object(mut map) = v else {
            return Err("response body is not a JSON object".into());
        };
        let errors = match map.remove("errors") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::String(message)) => vec![GraphQlError {
                message,
                code: None,
            }],
            Some(Value::Array(items)) => items
                .iter()
                .map(|e| GraphQlError {
                    message: e
                        .get("message")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                    code: e
                        .get("extensions")
                        .and_then(|x| x.get("code"))
                        .and_then(Value::as_str)
                        .map(str::to_string),
                })
                .collect(),
            Some(other) => vec![GraphQlError {
                message: other.to_string(),
                code: None,
            }],
        };
        let data = match map.remove("data") {
            None | Some(Value::Null) => None,
            Some(d) => Some(d),
        };
        let cost = map
            .get("extensions")
            .and_then(|x| x.get("cost"))
            .map(QueryCost::from_json);
        Ok(GraphQlResponse { data, errors, cost })
    }

    /// Parses a response body.
    pub fn parse(body: &[u8]) -> Result<Self, String> {
        let v: Value =
            serde_json::from_slice(body).map_err(|e| format!("malformed JSON body: {e}"))?;
        Self::from_value(v)
    }

    pub fn throttle_status(&self) -> Option<ThrottleStatus> {
        self.cost.and_then(|c| c.throttle_status)
    }

    /// Classifies the top-level errors (the most actionable one wins).
    pub fn verdict(&self) -> Verdict {
        if self.errors.is_empty() {
            return Verdict::Ok;
        }
        let has = |code: &str| self.errors.iter().find(|e| e.code.as_deref() == Some(code));
        if has("THROTTLED").is_some()
            || self
                .errors
                .iter()
                .any(|e| e.code.is_none() && e.message.eq_ignore_ascii_case("throttled"))
        {
            return Verdict::Throttled;
        }
        if let Some(e) = has("MAX_COST_EXCEEDED") {
            return Verdict::MaxCostExceeded(e.message.clone());
        }
        if let Some(e) = has("ACCESS_DENIED") {
            return Verdict::AccessDenied(e.message.clone());
        }
        if let Some(e) = has("INTERNAL_SERVER_ERROR") {
            return Verdict::Internal(e.message.clone());
        }
        let first = &self.errors[0];
        let message = self
            .errors
            .iter()
            .map(|e| e.message.as_str())
            .collect::<Vec<_>>()
            .join("; ");
        Verdict::Rejected {
            code: first.code.clone().unwrap_or_else(|| "GRAPHQL_ERROR".into()),
            message,
        }
    }
}

/// `pageInfo { hasNextPage endCursor }` of a connection.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PageInfo {
    pub has_next_page: bool,
    pub end_cursor: Option<String>,
}

impl PageInfo {
    /// Reads `pageInfo` from a connection object (`{ nodes, pageInfo }`).
    pub fn of_connection(connection: &Value) -> Option<Self> {
        let p = connection.get("pageInfo")?;
        Some(PageInfo {
            has_next_page: p.get("hasNextPage")?.as_bool()?,
            end_cursor: p
                .get("endCursor")
                .and_then(Value::as_str)
                .map(str::to_string),
        })
    }
}

/// The nodes of a connection, whether it selected `nodes` or `edges { node }`.
pub fn connection_nodes(connection: &Value) -> Vec<&Value> {
    if let Some(nodes) = connection.get("nodes").and_then(Value::as_array) {
        return nodes.iter().collect();
    }
    connection
        .get("edges")
        .and_then(Value::as_array)
        .map(|edges| edges.iter().filter_map(|e| e.get("node")).collect())
        .unwrap_or_default()
}

/// Parses a `userErrors` array (`field` may be null or absent; `code` exists only on typed errors).
pub fn parse_user_errors(v: Option<&Value>) -> Vec<UserError> {
    let Some(items) = v.and_then(Value::as_array) else {
        return Vec::new();
    };
    items
        .iter()
        .map(|e| UserError {
            code: e.get("code").and_then(Value::as_str).map(str::to_string),
            field: e
                .get("field")
                .and_then(Value::as_array)
                .map(|f| {
                    f.iter()
                        .map(|p| match p {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            message: e
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
        })
        .collect()
}

/// Follows a path of object keys into `data`.
pub fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter()
        .try_fold(v, |cur, k| cur.get(k))
        .filter(|v| !v.is_null())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn throttled_body_with_float_and_int_numbers() {
        let r = GraphQlResponse::from_value(json!({"errors":[{"message":"Throttled","extensions":{"code":"THROTTLED"}}],
            "extensions":{"cost":{"requestedQueryCost":752,"actualQueryCost":null,
            "throttleStatus":{"maximumAvailable":1000.0,"currentlyAvailable":666,"restoreRate":50.0}}}}))
        .unwrap();
        assert_eq!(r.verdict(), Verdict::Throttled);
        let c = r.cost.unwrap();
        assert_eq!(c.requested, Some(752.0));
        assert_eq!(c.actual, None);
        assert_eq!(
            c.throttle_status,
            Some(ThrottleStatus {
                maximum_available: 1000.0,
                currently_available: 666.0,
                restore_rate: 50.0
            })
        );
        assert!(r.data.is_none());
    }

    #[test]
    fn string_errors_and_max_cost() {
        let r =
            GraphQlResponse::from_value(json!({"errors":"[API] Invalid API key or access token"}))
                .unwrap();
        assert!(matches!(r.verdict(), Verdict::Rejected { code, .. } if code == "GRAPHQL_ERROR"));
        let r = GraphQlResponse::from_value(json!({"errors":[{"message":"Query cost is 1066, which exceeds the single query max cost limit (1000).",
            "extensions":{"code":"MAX_COST_EXCEEDED","cost":1066,"maxCost":1000}}]}))
        .unwrap();
        assert!(matches!(r.verdict(), Verdict::MaxCostExceeded(m) if m.contains("1066")));
        assert!(GraphQlResponse::parse(b"<html>").is_err());
    }

    #[test]
    fn user_errors_with_and_without_field() {
        let v = json!([{"field":["input","quantities","3","changeFromQuantity"],"message":"stale","code":"CHANGE_FROM_QUANTITY_STALE"},
                       {"field":null,"message":"busy","code":"OPERATION_IN_PROGRESS"}]);
        let errs = parse_user_errors(Some(&v));
        assert_eq!(errs.len(), 2);
        assert_eq!(errs[0].quantity_row(), Some(3));
        assert_eq!(errs[1].field, Vec::<String>::new());
        assert_eq!(errs[1].code.as_deref(), Some("OPERATION_IN_PROGRESS"));
    }
}
