//! What Shopify's GraphQL response envelope means, separate from HTTP so it can be checked against
//! recorded real responses (`tests/captures.rs`). The envelope's typed shape is
//! [`GraphQlResponse`] in [`wire`](crate::wire).
//!
//! Every answer carries `extensions.cost` (requested/actual cost and the bucket's `throttleStatus`),
//! which feeds the pacer; top-level `errors` decide between retry and failure ([`Verdict`]);
//! `userErrors` and `pageInfo` live inside `data`, which is decoded as the document's own typed
//! shape ([`GraphQlResponse::data_as`]). A body that is not JSON is [`DecodeError::syntax`]; JSON of
//! another shape is a [`DecodeError`] naming the JSON path.

use crate::error::ShopifyError;
use crate::wire::{DecodeError, decode_slice, decode_value};
use serde::de::DeserializeOwned;
use serde_json::Value;

pub use crate::wire::{GraphQlError, GraphQlResponse, PageInfo, QueryCost, ThrottleStatus};

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

impl<T: DeserializeOwned> GraphQlResponse<T> {
    /// Decodes a response body: the envelope, and `data` as `T`.
    pub fn parse(body: &[u8]) -> Result<Self, DecodeError> {
        decode_slice("Shopify answer", body)
    }

    /// Decodes an already parsed body.
    pub fn from_value(v: Value) -> Result<Self, DecodeError> {
        decode_value("Shopify answer", "", &v)
    }
}

impl GraphQlResponse<Value> {
    /// `data` decoded as the typed shape of `document`'s selection; an answer without `data`, or
    /// whose `data` has another shape, is [`ShopifyError::Unexpected`] naming the document and the
    /// JSON path.
    pub fn data_as<D: DeserializeOwned>(&self, document: &str) -> Result<D, ShopifyError> {
        let data = self
            .data
            .as_ref()
            .ok_or_else(|| ShopifyError::Unexpected(format!("{document} answer: no `data`")))?;
        Ok(decode_value(&format!("{document} answer"), "data", data)?)
    }
}

impl<T> GraphQlResponse<T> {
    /// `data`, or [`ShopifyError::Unexpected`] naming `document` when the answer has none.
    pub fn into_data(self, document: &str) -> Result<T, ShopifyError> {
        self.data
            .ok_or_else(|| ShopifyError::Unexpected(format!("{document} answer: no `data`")))
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn throttled_body_with_float_and_int_numbers() {
        let r = GraphQlResponse::<Value>::from_value(json!({"errors":[{"message":"Throttled","extensions":{"code":"THROTTLED"}}],
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
        let r = GraphQlResponse::<Value>::from_value(
            json!({"errors":"[API] Invalid API key or access token"}),
        )
        .unwrap();
        assert!(matches!(r.verdict(), Verdict::Rejected { code, .. } if code == "GRAPHQL_ERROR"));
        let r = GraphQlResponse::<Value>::from_value(json!({"errors":[{"message":"Query cost is 1066, which exceeds the single query max cost limit (1000).",
            "extensions":{"code":"MAX_COST_EXCEEDED","cost":1066,"maxCost":1000}}]}))
        .unwrap();
        assert!(matches!(r.verdict(), Verdict::MaxCostExceeded(m) if m.contains("1066")));
        assert!(GraphQlResponse::<Value>::parse(b"<html>").is_err());
    }

    #[test]
    fn user_errors_with_and_without_field() {
        let v = json!([{"field":["input","quantities","3","changeFromQuantity"],"message":"stale","code":"CHANGE_FROM_QUANTITY_STALE"},
                       {"field":null,"message":"busy","code":"OPERATION_IN_PROGRESS"}]);
        let errs = crate::wire::user_errors(serde_json::from_value(v).unwrap());
        assert_eq!(errs.len(), 2);
        assert_eq!(errs[0].quantity_row(), Some(3));
        assert_eq!(errs[1].field, Vec::<String>::new());
        assert_eq!(errs[1].code.as_deref(), Some("OPERATION_IN_PROGRESS"));
    }

    #[test]
    fn errors_as_an_object_are_kept_as_text() {
        let r = GraphQlResponse::<Value>::from_value(
            json!({"errors": {"query": "Required parameter missing or invalid"}}),
        )
        .unwrap();
        assert!(
            matches!(r.verdict(), Verdict::Rejected { code, message } if code == "GRAPHQL_ERROR" && message.contains("Required parameter"))
        );
    }

    #[test]
    fn a_wrong_type_in_actual_query_cost_is_a_typed_error() {
        for bad in [json!("lots"), json!(true), json!({"points": 3})] {
            let body = json!({"data": {"x": 1}, "extensions": {"cost": {"requestedQueryCost": 10,
                "actualQueryCost": bad, "throttleStatus": {"maximumAvailable": 2000,
                "currentlyAvailable": 1990, "restoreRate": 100}}}});
            let e =
                GraphQlResponse::<Value>::parse(&serde_json::to_vec(&body).unwrap()).unwrap_err();
            assert!(!e.syntax);
            assert!(
                e.message
                    .starts_with("Shopify answer: at extensions.cost.actualQueryCost: invalid "),
                "{e}"
            );
            assert!(
                e.message.contains("expected a number of cost points"),
                "{e}"
            );
            assert!(matches!(ShopifyError::from(e), ShopifyError::Unexpected(_)));
        }
        // A numeric string is still read, as before.
        let r = GraphQlResponse::<Value>::from_value(json!({"data": {}, "extensions": {"cost":
            {"requestedQueryCost": "10", "actualQueryCost": "9.5"}}}))
        .unwrap();
        assert_eq!(r.cost.unwrap().actual, Some(9.5));
        let e =
            GraphQlResponse::<Value>::from_value(json!({"extensions": {"cost": {"throttleStatus":
            {"maximumAvailable": 2000, "restoreRate": 100}}}}))
            .unwrap_err();
        assert_eq!(
            e.message,
            "Shopify answer: at extensions.cost.throttleStatus: missing field `currentlyAvailable`"
        );
    }

    #[test]
    fn missing_data_is_a_typed_error() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Data {
            locations: crate::wire::Connection<crate::wire::IdRef>,
        }
        let r = GraphQlResponse::<Value>::from_value(
            json!({"extensions": {"cost": {"requestedQueryCost": 2}}}),
        )
        .unwrap();
        assert_eq!(r.verdict(), Verdict::Ok);
        assert_eq!(
            r.data_as::<Data>("Locations").unwrap_err(),
            ShopifyError::Unexpected("Locations answer: no `data`".into())
        );
        let typed = GraphQlResponse::<Data>::from_value(json!({"errors": null})).unwrap();
        assert_eq!(
            typed.into_data("Locations").unwrap_err(),
            ShopifyError::Unexpected("Locations answer: no `data`".into())
        );
        let r = GraphQlResponse::<Value>::from_value(json!({"data": {"location": null}})).unwrap();
        assert_eq!(
            r.data_as::<Data>("Locations").unwrap_err(),
            ShopifyError::Unexpected("Locations answer: at data: missing field `locations`".into())
        );
        // Not JSON at all is a syntax failure (the transport retries it), never a panic.
        let e = GraphQlResponse::<Value>::parse(b"{\"data\": {\"locations\"").unwrap_err();
        assert!(e.syntax, "{e}");
    }
}
