//! The route table (the paths of infra/openapi.yaml) and the input checks shared by the handlers.

use crate::http::{ApiError, ApiRequest};
use crate::{DEFAULT_LIMIT, MAX_LIMIT};
use serde::de::DeserializeOwned;
pub use shopsync_domain::text::{bounded, preview};

/// A matched route with its path parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    StartRun {
        shop: String,
    },
    ListJobs {
        shop: String,
    },
    GetJob {
        shop: String,
        job_id: String,
    },
    StatusBoard {
        shop: String,
    },
    DrillDown {
        shop: String,
        cue: String,
    },
    GetSettings {
        shop: String,
    },
    PutSettings {
        shop: String,
    },
    /// `shop: None` = every shop (`/failures`).
    ListFailures {
        shop: Option<String>,
    },
    RetryFailure {
        shop: Option<String>,
        failure_id: String,
    },
    DiscardFailure {
        shop: Option<String>,
        failure_id: String,
    },
    /// The shop's staged Shopify orders of one status.
    ListOrders {
        shop: String,
    },
    ListCatalogs {
        shop: String,
    },
    /// One staged order; `order_id` is the numeric part of its GID (unchecked until the handler).
    GetOrder {
        shop: String,
        order_id: String,
    },
    /// Queue create-sales-orders again for a staged order that failed.
    RetryOrder {
        shop: String,
        order_id: String,
    },
}

impl Route {
    /// Match a method and path; `404` for an unknown path, `405` for a known path with another method.
    pub fn parse(method: &str, path: &str) -> Result<Route, ApiError> {
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let owned = |s: &str| s.to_string();
        let (allowed, route): (&[&str], Option<Route>) = match segments.as_slice() {
            ["shops", shop, "runs"] => (
                &["POST"],
                (method == "POST").then(|| Route::StartRun { shop: owned(shop) }),
            ),
            ["shops", shop, "jobs"] => (
                &["GET"],
                (method == "GET").then(|| Route::ListJobs { shop: owned(shop) }),
            ),
            ["shops", shop, "jobs", id] => (
                &["GET"],
                (method == "GET").then(|| Route::GetJob {
                    shop: owned(shop),
                    job_id: owned(id),
                }),
            ),
            ["shops", shop, "status"] => (
                &["GET"],
                (method == "GET").then(|| Route::StatusBoard { shop: owned(shop) }),
            ),
            ["shops", shop, "status", cue] => (
                &["GET"],
                (method == "GET").then(|| Route::DrillDown {
                    shop: owned(shop),
                    cue: owned(cue),
                }),
            ),
            ["shops", shop, "settings"] => (
                &["GET", "PUT"],
                match method {
                    "GET" => Some(Route::GetSettings { shop: owned(shop) }),
                    "PUT" => Some(Route::PutSettings { shop: owned(shop) }),
                    _ => None,
                },
            ),
            ["shops", shop, "failures"] => (
                &["GET"],
                (method == "GET").then(|| Route::ListFailures {
                    shop: Some(owned(shop)),
                }),
            ),
            ["shops", shop, "failures", id] => (
                &["DELETE"],
                (method == "DELETE").then(|| Route::DiscardFailure {
                    shop: Some(owned(shop)),
                    failure_id: owned(id),
                }),
            ),
            ["shops", shop, "failures", id, "retry"] => (
                &["POST"],
                (method == "POST").then(|| Route::RetryFailure {
                    shop: Some(owned(shop)),
                    failure_id: owned(id),
                }),
            ),
            ["shops", shop, "catalogs"] => (
                &["GET"],
                (method == "GET").then(|| Route::ListCatalogs { shop: owned(shop) }),
            ),
            ["shops", shop, "orders"] => (
                &["GET"],
                (method == "GET").then(|| Route::ListOrders { shop: owned(shop) }),
            ),
            ["shops", shop, "orders", id] => (
                &["GET"],
                (method == "GET").then(|| Route::GetOrder {
                    shop: owned(shop),
                    order_id: owned(id),
                }),
            ),
            ["shops", shop, "orders", id, "retry"] => (
                &["POST"],
                (method == "POST").then(|| Route::RetryOrder {
                    shop: owned(shop),
                    order_id: owned(id),
                }),
            ),
            ["failures"] => (
                &["GET"],
                (method == "GET").then_some(Route::ListFailures { shop: None }),
            ),
            ["failures", id] => (
                &["DELETE"],
                (method == "DELETE").then(|| Route::DiscardFailure {
                    shop: None,
                    failure_id: owned(id),
                }),
            ),
            ["failures", id, "retry"] => (
                &["POST"],
                (method == "POST").then(|| Route::RetryFailure {
                    shop: None,
                    failure_id: owned(id),
                }),
            ),
            _ => {
                return Err(ApiError::not_found(format!(
                    "there is no route {}",
                    preview(path)
                )));
            }
        };
        route.ok_or_else(|| {
            ApiError::method_not_allowed(
                allowed,
                format!(
                    "{} answers {} only, not {}",
                    preview(path),
                    allowed.join(", "),
                    preview(method)
                ),
            )
        })
    }

    /// The shop in the path, if the route has one.
    pub fn shop(&self) -> Option<&str> {
        match self {
            Route::StartRun { shop }
            | Route::ListJobs { shop }
            | Route::GetJob { shop, .. }
            | Route::StatusBoard { shop }
            | Route::DrillDown { shop, .. }
            | Route::GetSettings { shop }
            | Route::PutSettings { shop }
            | Route::ListOrders { shop }
            | Route::ListCatalogs { shop }
            | Route::GetOrder { shop, .. }
            | Route::RetryOrder { shop, .. } => Some(shop),
            Route::ListFailures { shop }
            | Route::RetryFailure { shop, .. }
            | Route::DiscardFailure { shop, .. } => shop.as_deref(),
        }
    }

    /// Settings are for administrators only.
    pub fn needs_admin(&self) -> bool {
        matches!(self, Route::GetSettings { .. } | Route::PutSettings { .. })
    }
}

fn pattern_ok(value: &str, max: usize, allowed: impl Fn(char) -> bool) -> bool {
    !value.is_empty() && value.len() <= max && value.chars().all(allowed)
}

/// Shop codes: `^[A-Z0-9_-]{1,20}$`.
pub fn check_shop_code(shop: &str) -> Result<(), ApiError> {
    if pattern_ok(shop, 20, |c| {
        c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-' || c == '_'
    }) {
        Ok(())
    } else {
        Err(ApiError::invalid(format!(
            "'{}' is not a shop code (1 to 20 of A-Z, 0-9, '-', '_')",
            preview(shop)
        )))
    }
}

/// Job ids: 13 digits of creation time, a task name, a unique part (`[A-Za-z0-9_-]{1,64}`).
pub fn check_job_id(id: &str) -> Result<(), ApiError> {
    let bad = || ApiError::invalid(format!("'{}' is not a job id", preview(id)));
    let (millis, rest) = id.split_once('-').ok_or_else(bad)?;
    if millis.len() != 13 || !millis.chars().all(|c| c.is_ascii_digit()) {
        return Err(bad());
    }
    let unique = shopsync_domain::TaskKind::ALL
        .iter()
        .find_map(|t| {
            rest.strip_prefix(t.name())
                .and_then(|r| r.strip_prefix('-'))
        })
        .ok_or_else(bad)?;
    if pattern_ok(unique, 64, |c| {
        c.is_ascii_alphanumeric() || c == '_' || c == '-'
    }) {
        Ok(())
    } else {
        Err(bad())
    }
}

/// Failure ids (SQS message ids).
pub fn check_failure_id(id: &str) -> Result<(), ApiError> {
    if pattern_ok(id, 100, |c| {
        c.is_ascii_alphanumeric() || c == '-' || c == '_'
    }) {
        Ok(())
    } else {
        Err(ApiError::invalid(format!(
            "'{}' is not a failure id",
            preview(id)
        )))
    }
}

/// Longest numeric part of a Shopify order GID (a `u64` has 20 digits).
pub const MAX_ORDER_DIGITS: usize = 20;
/// What every staged order id (a Shopify order GID) starts with.
pub const ORDER_GID_PREFIX: &str = "gid://shopify/Order/";

/// An order id in a path: the numeric part of its GID, `^[0-9]{1,20}$`. Returns the GID.
pub fn order_gid(order_id: &str) -> Result<String, ApiError> {
    if pattern_ok(order_id, MAX_ORDER_DIGITS, |c| c.is_ascii_digit()) {
        Ok(format!("{ORDER_GID_PREFIX}{order_id}"))
    } else {
        Err(ApiError::invalid(format!(
            "'{}' is not an order id (1 to {MAX_ORDER_DIGITS} digits: the number at the end of the order's GID)",
            preview(order_id)
        )))
    }
}

/// An order listing's cursor: the GID of the last order of the previous page,
/// `^gid://shopify/Order/[0-9]{1,20}$`, checked before it becomes part of a storage key.
pub fn check_order_cursor(after: &str) -> Result<(), ApiError> {
    let digits = after.strip_prefix(ORDER_GID_PREFIX).unwrap_or("");
    if pattern_ok(digits, MAX_ORDER_DIGITS, |c| c.is_ascii_digit()) {
        Ok(())
    } else {
        Err(ApiError::invalid(format!(
            "after '{}' is not a cursor this API gave out (an order GID, gid://shopify/Order/<digits>)",
            preview(after)
        )))
    }
}

/// `limit` query parameter: 1..=100 in plain digits, default 25.
pub fn limit(req: &ApiRequest) -> Result<usize, ApiError> {
    match req.query_param("limit")? {
        None => Ok(DEFAULT_LIMIT),
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) && v.bytes().all(|b| b.is_ascii_digit()) => Ok(n),
            _ => Err(ApiError::invalid(format!(
                "limit '{}' must be a whole number from 1 to {MAX_LIMIT}",
                preview(v)
            ))),
        },
    }
}

/// A JSON body of type `T`, with the reason when it is not.
pub fn json_body<T: DeserializeOwned>(req: &ApiRequest) -> Result<T, ApiError> {
    if req.body.is_empty() {
        return Err(ApiError::new(
            400,
            "invalid_json",
            "a JSON body is required",
        ));
    }
    serde_json::from_slice(&req.body).map_err(|e| {
        ApiError::new(
            400,
            "invalid_json",
            format!("the body is not the expected JSON: {}", parse_error(&e)),
        )
    })
}

/// A parser's error for a message: it quotes the input it choked on, so only previews of that.
pub fn parse_error(e: &impl std::fmt::Display) -> String {
    bounded(&crate::http::plain(&e.to_string()), 200)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match_and_wrong_methods_are_405() {
        assert_eq!(
            Route::parse("POST", "/shops/DEMO/runs").unwrap(),
            Route::StartRun {
                shop: "DEMO".into()
            }
        );
        assert_eq!(
            Route::parse("POST", "/failures/abc/retry").unwrap(),
            Route::RetryFailure {
                shop: None,
                failure_id: "abc".into()
            }
        );
        assert_eq!(
            Route::parse("GET", "/shops/DEMO/runs").unwrap_err().status,
            405
        );
        assert_eq!(Route::parse("GET", "/nope").unwrap_err().status, 404);
        assert_eq!(
            Route::parse("GET", "/shops/DEMO/jobs/x/y")
                .unwrap_err()
                .status,
            404
        );
    }

    #[test]
    fn a_405_names_the_allowed_methods_in_its_allow_header() {
        for (method, path, allow) in [
            ("GET", "/shops/DEMO/runs", "POST"),
            ("DELETE", "/shops/DEMO/settings", "GET, PUT"),
            ("POST", "/shops/DEMO/jobs", "GET"),
            ("PATCH", "/shops/DEMO/failures/x", "DELETE"),
            ("GET", "/failures/x/retry", "POST"),
            ("OPTIONS", "/failures", "GET"),
        ] {
            let err = Route::parse(method, path).unwrap_err();
            assert_eq!((err.status, err.code), (405, "method_not_allowed"));
            let response = err.into_response();
            assert_eq!(
                response.headers,
                vec![("Allow".to_string(), allow.to_string())],
                "{method} {path}"
            );
            let event = crate::lambda::to_event_response(&response);
            assert_eq!(
                event["headers"]["allow"], allow,
                "the Lambda answer carries it"
            );
        }
        assert!(Route::parse("GET", "/nope").unwrap_err().headers.is_empty());
    }

    #[test]
    fn paths_and_methods_are_echoed_as_short_previews() {
        let long = format!("/shops/DEMO/{}", "x".repeat(60_000));
        let err = Route::parse("GET", &long).unwrap_err();
        assert_eq!(err.status, 404);
        assert!(err.message.len() < 200, "{}", err.message.len());
        let long = format!("/shops/{}/runs", "X".repeat(60_000));
        let err = Route::parse(&"M".repeat(60_000), &long).unwrap_err();
        assert_eq!(err.status, 405);
        assert!(err.message.len() < 300, "{}", err.message.len());
        let body = crate::http::ApiRequest {
            body: format!("{{\"{}\": 1,}}", "k".repeat(60_000)).into_bytes(),
            ..Default::default()
        };
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Strict {
            #[allow(dead_code)]
            task: String,
        }
        let err = json_body::<Strict>(&body).unwrap_err();
        assert_eq!(err.code, "invalid_json");
        assert!(err.message.len() < 400, "{}", err.message.len());
    }

    #[test]
    fn limits_are_plain_whole_numbers() {
        let with = |v: &str| limit(&ApiRequest::new("GET", "/failures").query("limit", v));
        assert_eq!(with("1").unwrap(), 1);
        assert_eq!(with("100").unwrap(), 100);
        for bad in ["0", "101", "+5", "-1", " 5", "5.0", "1e1", ""] {
            assert!(with(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn order_routes_match_and_are_shop_scoped_without_admin() {
        let list = Route::parse("GET", "/shops/DEMO/orders").unwrap();
        assert_eq!(
            list,
            Route::ListOrders {
                shop: "DEMO".into()
            }
        );
        let one = Route::parse("GET", "/shops/DEMO/orders/1001").unwrap();
        assert_eq!(
            one,
            Route::GetOrder {
                shop: "DEMO".into(),
                order_id: "1001".into()
            }
        );
        let retry = Route::parse("POST", "/shops/DEMO/orders/1001/retry").unwrap();
        assert_eq!(
            retry,
            Route::RetryOrder {
                shop: "DEMO".into(),
                order_id: "1001".into()
            }
        );
        for route in [&list, &one, &retry] {
            assert_eq!(route.shop(), Some("DEMO"));
            assert!(!route.needs_admin(), "{route:?}");
        }
        for (method, path, allow) in [
            ("POST", "/shops/DEMO/orders", "GET"),
            ("DELETE", "/shops/DEMO/orders/1", "GET"),
            ("GET", "/shops/DEMO/orders/1/retry", "POST"),
        ] {
            let err = Route::parse(method, path).unwrap_err();
            assert_eq!(err.status, 405, "{method} {path}");
            assert_eq!(err.headers, vec![("Allow", allow.to_string())]);
        }
        assert_eq!(
            Route::parse("GET", "/shops/DEMO/orders/1/x")
                .unwrap_err()
                .status,
            404
        );
        assert_eq!(
            Route::parse("POST", "/shops/DEMO/orders/1/retry/now")
                .unwrap_err()
                .status,
            404
        );
    }

    #[test]
    fn order_ids_and_cursors_are_checked_before_they_become_keys() {
        assert_eq!(order_gid("1001").unwrap(), "gid://shopify/Order/1001");
        assert_eq!(
            order_gid("18446744073709551615").unwrap(),
            "gid://shopify/Order/18446744073709551615"
        );
        for bad in [
            "",
            "123456789012345678901",
            "12a",
            "-1",
            "+1",
            " 1",
            "1.0",
            "１",
            "gid://shopify/Order/1",
            "../1",
        ] {
            let e = order_gid(bad).unwrap_err();
            assert_eq!((e.status, e.code), (400, "invalid_request"), "{bad:?}");
        }
        let e = order_gid(&"9".repeat(60_000)).unwrap_err();
        assert!(e.message.len() < 200, "{}", e.message.len());

        assert!(check_order_cursor("gid://shopify/Order/1").is_ok());
        assert!(check_order_cursor("gid://shopify/Order/12345678901234567890").is_ok());
        for bad in [
            "",
            "1",
            "gid://shopify/Order/",
            "gid://shopify/Order/123456789012345678901",
            "gid://shopify/Order/1 ",
            "gid://shopify/Order/1/2",
            "gid://shopify/Order/1\n",
            "gid://shopify/Product/1",
            "GID://shopify/Order/1",
            "1700000000000-sync-orders-x",
        ] {
            assert!(check_order_cursor(bad).is_err(), "{bad:?}");
        }
        let long = format!("gid://shopify/Order/{}", "1".repeat(60_000));
        let e = check_order_cursor(&long).unwrap_err();
        assert!(e.message.len() < 200, "{}", e.message.len());
    }

    #[test]
    fn ids_are_checked_against_their_patterns() {
        assert!(check_shop_code("DEMO-1_X").is_ok());
        assert!(check_shop_code("demo").is_err());
        assert!(check_shop_code("ABCDEFGHIJKLMNOPQRSTU").is_err());
        assert!(check_job_id("1700000000000-sync-inventory-0123456789ab").is_ok());
        assert!(check_job_id("1700000000000-sync-inventory-").is_err());
        assert!(check_job_id("170000000000-sync-inventory-x").is_err());
        assert!(check_job_id("1700000000000-sync-inventory-retry-5fea7756-0ea4").is_ok());
        assert!(check_job_id("1700000000000-sync-nothing-x").is_err());
        assert!(check_job_id("../../etc").is_err());
        assert!(check_failure_id("5fea7756-0ea4-451a-a703-a558b933e274").is_ok());
        assert!(check_failure_id("a b").is_err());
    }
}
