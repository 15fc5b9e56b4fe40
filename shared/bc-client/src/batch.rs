//! OData JSON `$batch`: several BC operations in one HTTP request (`POST {api root}/$batch`, at most 100
//! operations). Why it is here:
//!
//! - **Fewer requests.** BC online counts requests per service principal (6,000 per 5 minutes) and runs
//!   5 at a time; the exactly-once probe of a sales document reads three resources and sends them as one
//!   batch.
//! - **One transaction.** With `Isolation: snapshot` BC runs the whole batch in one transaction and
//!   rolls all of it back when one operation fails ([`BatchIsolation::Snapshot`]); for writes that no
//!   single request can carry.
//!
//! A batch of reads is retried like a read; a batch with a write is resent only when BC certainly did not
//! process it, as any write. Operation bodies are raw JSON, so decimals keep their digits.

use crate::client::BcClient;
use crate::error::BcError;
use crate::retry::Resend;
use crate::wire;
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::collections::BTreeMap;

/// BC online's limit on operations in one batch.
pub const MAX_BATCH_OPERATIONS: usize = 100;

/// Whether BC runs the batch as one transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchIsolation {
    /// Each operation on its own (reads; independent writes).
    None,
    /// `Isolation: snapshot`: all operations or none.
    Snapshot,
}

/// One operation of a batch.
#[derive(Debug, Clone)]
pub struct BatchOperation {
    /// Unique within the batch; answers carry it.
    pub id: String,
    pub method: Method,
    /// Absolute URL under the client's API root (built with [`BcClient::company_url`] and
    /// [`crate::urls::with_query`]); sent relative to the root.
    pub url: String,
    pub headers: Vec<(String, String)>,
    /// JSON body, sent as it is.
    pub body: Option<Box<RawValue>>,
}

impl BatchOperation {
    /// A GET of `url`.
    pub fn get(id: impl Into<String>, url: impl Into<String>) -> BatchOperation {
        BatchOperation {
            id: id.into(),
            method: Method::GET,
            url: url.into(),
            headers: Vec::new(),
            body: None,
        }
    }
}

/// The answer to one operation.
#[derive(Debug, Clone)]
pub struct BatchAnswer {
    pub id: String,
    pub status: u16,
    pub body: Option<Box<RawValue>>,
}

impl BatchAnswer {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body decoded as `T` ([`wire::decode`]); a non-success answer is the [`BcError`] its status
    /// and error body make.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, BcError> {
        let bytes = self
            .body
            .as_ref()
            .map(|b| b.get().as_bytes())
            .unwrap_or(b"");
        if !self.is_success() {
            return Err(BcError::from_response(self.status, None, bytes));
        }
        wire::decode(bytes)
    }
}

#[derive(Serialize)]
struct RequestBody<'a> {
    requests: Vec<RequestOperation<'a>>,
}

#[derive(Serialize)]
struct RequestOperation<'a> {
    id: &'a str,
    method: &'a str,
    url: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    headers: BTreeMap<&'a str, &'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<&'a RawValue>,
}

/// `{"responses":[{id, status, headers, body}]}`.
#[derive(Deserialize)]
struct ResponseBody {
    responses: Vec<ResponseOperation>,
}

#[derive(Deserialize)]
struct ResponseOperation {
    id: String,
    status: u16,
    #[serde(default)]
    body: Option<Box<RawValue>>,
}

impl BcClient {
    /// Send `operations` as one `$batch` and return their answers in the order of `operations`.
    ///
    /// Under [`BatchIsolation::Snapshot`] a failed operation rolls the batch back; BC then answers the
    /// batch with an error, which comes back as that error (nothing was applied). Individual answers'
    /// failures are left to the caller ([`BatchAnswer::json`]).
    pub async fn batch(
        &self,
        operations: &[BatchOperation],
        isolation: BatchIsolation,
    ) -> Result<Vec<BatchAnswer>, BcError> {
        if operations.is_empty() {
            return Ok(Vec::new());
        }
        if operations.len() > MAX_BATCH_OPERATIONS {
            return Err(BcError::Invalid {
                message: format!(
                    "a batch of {} operations; BC takes at most {MAX_BATCH_OPERATIONS}",
                    operations.len()
                ),
            });
        }
        let root = format!("{}/", self.api_root());
        let mut requests = Vec::with_capacity(operations.len());
        for op in operations {
            let url = op.url.strip_prefix(&root).ok_or_else(|| {
                BcError::Config(format!(
                    "batch operation {} is not under the API root",
                    op.id
                ))
            })?;
            requests.push(RequestOperation {
                id: &op.id,
                method: op.method.as_str(),
                url: url.to_string(),
                headers: op
                    .headers
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect(),
                body: op.body.as_deref(),
            });
        }
        let body = serde_json::to_vec(&RequestBody { requests })
            .map_err(|e| BcError::Config(format!("batch body: {e}")))?;
        let resend = if operations.iter().all(|o| o.method == Method::GET) {
            Resend::Safe
        } else {
            Resend::NotProcessedOnly
        };
        let headers: Vec<(&'static str, String)> = match isolation {
            BatchIsolation::None => Vec::new(),
            BatchIsolation::Snapshot => vec![("Isolation", "snapshot".to_string())],
        };
        let answer: ResponseBody = self
            .send(
                Method::POST,
                &format!("{}/$batch", self.api_root()),
                &headers,
                Some(&body),
                resend,
            )
            .await?
            .json()?;
        let mut by_id: BTreeMap<String, ResponseOperation> = answer
            .responses
            .into_iter()
            .map(|r| (r.id.clone(), r))
            .collect();
        operations
            .iter()
            .map(|op| {
                let r = by_id.remove(&op.id).ok_or_else(|| BcError::Decode {
                    message: format!("$batch answer has no response for operation {}", op.id),
                })?;
                Ok(BatchAnswer {
                    id: r.id,
                    status: r.status,
                    body: r.body,
                })
            })
            .collect()
    }
}
