//! One GraphQL call: pace, send, classify, retry.
//!
//! Every attempt reserves the document's cost from the store's [`Pacer`](crate::Pacer) first and
//! feeds the answer's `throttleStatus` back, so pacing is not optional for any caller. The
//! reservation is a guard: an attempt that ends without a status — or whose future is dropped while
//! it waits or mid-send — gives it back when the guard drops. Retried:
//! THROTTLED (200 body) and 429 (waiting what the bucket or `Retry-After` says), 502/503/504,
//! top-level INTERNAL_SERVER_ERROR and transport failures (backoff). Not retried: 401/403,
//! MAX_COST_EXCEEDED, validation and other top-level errors. A mutation whose answer was lost is
//! resent unchanged — inventory mutations carry their `@idempotent` key inside the request, so the
//! resend cannot apply twice.
//!
//! A mutation Shopify offers no idempotency key for, and whose repetition would apply twice
//! (`fulfillmentCreate`), goes through [`ShopifyClient::execute_at_most_once`]: it is resent only
//! after failures that prove it was not run (THROTTLED, 429, a connection never made). After any
//! other failure the request may have been applied, and the call ends with
//! [`ShopifyError::OutcomeUnknown`] so that the caller looks before it sends again.

use crate::client::ShopifyClient;
use crate::documents::Document;
use crate::error::ShopifyError;
use crate::response::{GraphQlResponse, Verdict};
use crate::retry::{Transient, is_retryable_status, parse_retry_after};
use crate::wire::DecodeError;
use reqwest::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use serde_json::{Value, json};
use std::sync::atomic::Ordering;
use std::time::Duration;

/// What one HTTP exchange produced.
enum Attempt {
    Done(GraphQlResponse),
    Retry(Transient, Delivery),
    Fail(ShopifyError),
}

/// Whether a failed attempt may have run on Shopify's side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Delivery {
    /// Shopify did not run it: THROTTLED, 429, or no connection was made.
    NotRun,
    /// It may have run: the connection broke after sending, a 5xx, an unreadable answer.
    MaybeRun,
}

/// When a transiently failed attempt may be sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Resend {
    /// After any transient failure (reads, and mutations safe to repeat).
    Always,
    /// Only when the failed attempt certainly did not run.
    OnlyIfNotRun,
}

const TOKEN_HEADER: &str = "X-Shopify-Access-Token";

impl ShopifyClient {
    /// Sends `document` with `variables` and returns the response once it has no top-level errors
    /// (its `data` may still carry `userErrors`, which are the caller's business).
    pub async fn execute(
        &self,
        document: &Document,
        variables: Value,
    ) -> Result<GraphQlResponse, ShopifyError> {
        self.execute_with(document, variables, Resend::Always).await
    }

    /// Like [`execute`](Self::execute) for a mutation that would apply twice if repeated: resent
    /// only after failures that prove it did not run. Any other failure ends the call with
    /// [`ShopifyError::OutcomeUnknown`] (retryable: look for its effect, then send it again).
    pub async fn execute_at_most_once(
        &self,
        document: &Document,
        variables: Value,
    ) -> Result<GraphQlResponse, ShopifyError> {
        self.execute_with(document, variables, Resend::OnlyIfNotRun)
            .await
    }

    async fn execute_with(
        &self,
        document: &Document,
        variables: Value,
        resend: Resend,
    ) -> Result<GraphQlResponse, ShopifyError> {
        let body = json!({ "query": document.text, "variables": variables });
        let body =
            serde_json::to_vec(&body).map_err(|e| ShopifyError::Unexpected(e.to_string()))?;
        let attempts_allowed = self.config.max_retries.saturating_add(1);
        let mut last = None;
        for attempt in 0..attempts_allowed {
            let cost = self.pacer.cost_for(document.name, document.expected_cost());
            let reservation = self.pacer.reserve(cost).await;
            self.throttle_wait_ms.fetch_add(
                (reservation.waited_secs() * 1000.0) as u64,
                Ordering::Relaxed,
            );
            let outcome = self.attempt(document, &body, reservation).await;
            let transient = match outcome {
                Attempt::Done(r) => return Ok(r),
                Attempt::Fail(e) => return Err(e),
                Attempt::Retry(t, Delivery::MaybeRun) if resend == Resend::OnlyIfNotRun => {
                    tracing::warn!(
                        document = document.name,
                        failure = ?t,
                        "a mutation that cannot be repeated safely may have been applied; not resending"
                    );
                    return Err(ShopifyError::OutcomeUnknown {
                        message: transient_message(&t),
                    });
                }
                Attempt::Retry(t, _) => t,
            };
            tracing::warn!(
                document = document.name,
                attempt = attempt + 1,
                of = attempts_allowed,
                failure = ?transient,
                "shopify call failed transiently"
            );
            if attempt + 1 < attempts_allowed {
                match &transient {
                    // The pacer already knows how long the bucket needs (throttleStatus or Retry-After);
                    // without either, back off.
                    Transient::Throttled {
                        retry_after: Some(_),
                        ..
                    } => {}
                    Transient::Throttled {
                        retry_after: None, ..
                    } if self.pacer.bucket().is_some() => {}
                    _ => tokio::time::sleep(self.config.backoff.delay(attempt)).await,
                }
            }
            last = Some(transient);
        }
        Err(match last {
            Some(Transient::Throttled { message, .. }) => ShopifyError::Throttled {
                attempts: attempts_allowed,
                message,
            },
            Some(Transient::Upstream { status, message }) => ShopifyError::Upstream {
                status,
                attempts: attempts_allowed,
                message,
            },
            Some(Transient::Transport { message }) => ShopifyError::Transport {
                attempts: attempts_allowed,
                message,
            },
            None => ShopifyError::Unexpected("no attempt was made".into()),
        })
    }

    async fn attempt(
        &self,
        document: &Document,
        body: &[u8],
        mut reservation: crate::pacer::Reservation<'_>,
    ) -> Attempt {
        self.http_attempts.fetch_add(1, Ordering::Relaxed);
        let mut token = match HeaderValue::from_str(&self.config.access_token) {
            Ok(v) => v,
            Err(_) => {
                // Nothing was sent: dropping the reservation gives its points back.
                return Attempt::Fail(ShopifyError::InvalidRequest(
                    "access token is not a valid header value".into(),
                ));
            }
        };
        token.set_sensitive(true);
        // From here on the request may reach Shopify (and be charged) even if no answer comes back
        // or this future is dropped; the reservation, when dropped unsettled, only stops counting
        // as in flight.
        reservation.mark_sent();
        let sent = self
            .http
            .post(&self.config.graphql_url)
            .header(TOKEN_HEADER, token)
            .header(CONTENT_TYPE, "application/json")
            .body(body.to_vec())
            .send()
            .await;
        let response = match sent {
            Ok(r) => r,
            Err(e) => {
                // A connection that was never made carried nothing; any other failure may have
                // come after the request was written.
                let delivery = if e.is_connect() {
                    Delivery::NotRun
                } else {
                    Delivery::MaybeRun
                };
                return Attempt::Retry(
                    Transient::Transport {
                        message: describe_reqwest(e),
                    },
                    delivery,
                );
            }
        };
        let status = response.status().as_u16();
        let retry_after = parse_retry_after(
            response
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok()),
        );
        let bytes = match response.bytes().await {
            Ok(b) => b,
            Err(e) => {
                return Attempt::Retry(
                    Transient::Transport {
                        message: describe_reqwest(e),
                    },
                    Delivery::MaybeRun,
                );
            }
        };
        let parsed = GraphQlResponse::<Value>::parse(&bytes);
        // Feed the pacer whatever the answer says about the bucket, whatever the status.
        match parsed.as_ref().ok().and_then(|r| r.throttle_status()) {
            Some(ts) => reservation.observe(ts),
            None => drop(reservation),
        }
        if let Ok(r) = &parsed
            && let Some(cost) = r.cost
        {
            if let Some(requested) = cost.requested {
                self.pacer.learn_cost(document.name, requested);
            }
            if let Some(actual) = cost.actual {
                self.add_points(actual);
            }
        }
        let snippet = || body_snippet(&bytes, &parsed);
        match status {
            200..=299 => {}
            401 | 403 => {
                return Attempt::Fail(ShopifyError::Auth {
                    status,
                    message: snippet(),
                });
            }
            429 => {
                self.throttled.fetch_add(1, Ordering::Relaxed);
                // Without `Retry-After`, wait 1 s like Shopify's own client does.
                let wait = retry_after.unwrap_or(Duration::from_secs(1));
                self.pacer.hold_for(wait);
                return Attempt::Retry(
                    Transient::Throttled {
                        message: format!("HTTP 429: {}", snippet()),
                        retry_after: Some(wait),
                    },
                    Delivery::NotRun,
                );
            }
            s if is_retryable_status(s) => {
                return Attempt::Retry(
                    Transient::Upstream {
                        status: s,
                        message: snippet(),
                    },
                    Delivery::MaybeRun,
                );
            }
            s if s >= 500 => {
                return Attempt::Fail(ShopifyError::Upstream {
                    status: s,
                    attempts: 1,
                    message: snippet(),
                });
            }
            s => {
                return Attempt::Fail(ShopifyError::Rejected {
                    code: format!("HTTP_{s}"),
                    message: snippet(),
                });
            }
        }
        let parsed = match parsed {
            Ok(p) => p,
            // Not JSON (cut short, an HTML page from a proxy): the next answer may arrive whole.
            Err(e) if e.syntax => {
                return Attempt::Retry(
                    Transient::Transport { message: e.message },
                    Delivery::MaybeRun,
                );
            }
            // JSON of another shape (`extensions.cost` with a string for a number, …): the same
            // answer would come back; fail loudly, naming the path.
            Err(e) => return Attempt::Fail(e.into()),
        };
        match parsed.verdict() {
            Verdict::Ok => {
                if parsed.data.is_none() {
                    return Attempt::Fail(ShopifyError::Unexpected(
                        "response without data or errors".into(),
                    ));
                }
                Attempt::Done(parsed)
            }
            Verdict::Throttled => {
                self.throttled.fetch_add(1, Ordering::Relaxed);
                Attempt::Retry(
                    Transient::Throttled {
                        message: "THROTTLED".into(),
                        retry_after: None,
                    },
                    Delivery::NotRun,
                )
            }
            Verdict::MaxCostExceeded(message) => {
                Attempt::Fail(ShopifyError::MaxCostExceeded { message })
            }
            Verdict::AccessDenied(message) => Attempt::Fail(ShopifyError::Auth {
                status: 403,
                message,
            }),
            Verdict::Internal(message) => Attempt::Retry(
                Transient::Upstream {
                    status: 500,
                    message,
                },
                Delivery::MaybeRun,
            ),
            Verdict::Rejected { code, message } => {
                Attempt::Fail(ShopifyError::Rejected { code, message })
            }
        }
    }

    /// Plain GET of a bulk result (a signed URL: no token is sent), with the same retry policy for
    /// transport failures and 5xx. Returns the response for streaming.
    pub(crate) async fn get_with_retries(
        &self,
        url: &str,
    ) -> Result<reqwest::Response, ShopifyError> {
        self.send_with_retries("bulk result download", || self.http.get(url))
            .await
    }

    /// Sends the request `build` makes (once per attempt) until it answers 2xx, retrying 5xx/429
    /// and transport failures with the configured backoff; any other status fails at once as
    /// `Rejected` (`HTTP_<status>`, "`what` refused"). For requests that are safe to repeat and
    /// carry no token (signed bulk result and staged upload URLs).
    pub(crate) async fn send_with_retries(
        &self,
        what: &str,
        build: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, ShopifyError> {
        let attempts_allowed = self.config.max_retries.saturating_add(1);
        let mut last = String::new();
        let mut last_status = None;
        for attempt in 0..attempts_allowed {
            if attempt > 0 {
                tokio::time::sleep(self.config.backoff.delay(attempt - 1)).await;
            }
            match build().send().await {
                Ok(r) if r.status().is_success() => return Ok(r),
                Ok(r) => {
                    let s = r.status().as_u16();
                    if !(is_retryable_status(s) || s == 429) {
                        return Err(ShopifyError::Rejected {
                            code: format!("HTTP_{s}"),
                            message: format!("{what} refused"),
                        });
                    }
                    last_status = Some(s);
                    last = format!("{what} answered {s}");
                }
                Err(e) => {
                    last_status = None;
                    last = describe_reqwest(e);
                }
            }
        }
        Err(match last_status {
            Some(status) => ShopifyError::Upstream {
                status,
                attempts: attempts_allowed,
                message: last,
            },
            None => ShopifyError::Transport {
                attempts: attempts_allowed,
                message: last,
            },
        })
    }
}

/// What a transient failure was, for [`ShopifyError::OutcomeUnknown`].
fn transient_message(t: &Transient) -> String {
    match t {
        Transient::Throttled { message, .. } | Transient::Transport { message } => message.clone(),
        Transient::Upstream { status, message } => format!("HTTP {status}: {message}"),
    }
}

/// A short, token-free description of an error answer for logs and errors.
fn body_snippet(bytes: &[u8], parsed: &Result<GraphQlResponse, DecodeError>) -> String {
    if let Ok(r) = parsed
        && !r.errors.is_empty()
    {
        return r
            .errors
            .iter()
            .map(|e| e.message.as_str())
            .collect::<Vec<_>>()
            .join("; ");
    }
    let text = String::from_utf8_lossy(bytes);
    text.chars().take(200).collect()
}

/// A token- and URL-free description of a request failure (its kind, then the error chain).
pub(crate) fn describe_reqwest(e: reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect"
    } else if e.is_body() || e.is_decode() {
        "body"
    } else {
        "request"
    };
    // `without_url` keeps signed bulk and upload URLs out of messages.
    let e = e.without_url();
    let mut message = format!("{kind}: {e}");
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    message
}
