//! Bulk operations: for reads too big to page (a 50,000-variant catalogue would be 200 paged calls
//! and hundreds of thousands of requested points; one bulk query costs 10 plus cheap polls).
//!
//! Flow: `bulkOperationRunQuery` (waiting and retrying while another of our bulk queries is
//! `OPERATION_IN_PROGRESS`) → poll `bulkOperation(id)` every `bulk_poll_interval` until COMPLETED,
//! FAILED, CANCELED or EXPIRED → stream the JSONL from `url` with a plain GET (a signed URL, no
//! token) line by line, so memory is bounded by what the caller keeps, not by the file size.
//! COMPLETED with `url: null` means an empty result. Nested connection rows carry `__parentId`; they
//! follow their parent but not necessarily directly, hence [`group_by_parent`].

use crate::client::ShopifyClient;
use crate::documents::{BULK_OPERATION_RUN_QUERY, BULK_OPERATION_STATUS, Document};
use crate::error::ShopifyError;
use crate::response::{at, parse_user_errors};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Instant;

/// `bulkOperation(id)` as polled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkOperation {
    pub id: String,
    /// CREATED, RUNNING, COMPLETED, CANCELING, CANCELED, FAILED, EXPIRED.
    pub status: String,
    pub error_code: Option<String>,
    /// `UnsignedInt64`, serialised as a string by Shopify.
    pub object_count: Option<u64>,
    pub url: Option<String>,
    pub partial_data_url: Option<String>,
}

impl BulkOperation {
    pub fn from_json(v: &Value) -> Option<Self> {
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        Some(BulkOperation {
            id: s("id")?,
            status: s("status")?,
            error_code: s("errorCode"),
            object_count: v
                .get("objectCount")
                .and_then(|c| c.as_u64().or_else(|| c.as_str()?.parse().ok())),
            url: s("url"),
            partial_data_url: s("partialDataUrl"),
        })
    }

    pub fn is_terminal(&self) -> bool {
        matches!(
            self.status.as_str(),
            "COMPLETED" | "FAILED" | "CANCELED" | "EXPIRED"
        )
    }
}

/// The answer to `bulkOperationRunQuery`.
#[derive(Debug, Clone, PartialEq)]
pub enum BulkStart {
    Started {
        id: String,
    },
    /// Another bulk query of this app is running (the limit is 5 per app and shop).
    Busy(String),
    Rejected {
        code: Option<String>,
        message: String,
    },
}

/// Reads `data.bulkOperationRunQuery`.
pub fn parse_bulk_start(data: &Value) -> Result<BulkStart, ShopifyError> {
    let payload = at(data, &["bulkOperationRunQuery"])
        .ok_or_else(|| ShopifyError::Unexpected("bulkOperationRunQuery payload missing".into()))?;
    let errors = parse_user_errors(payload.get("userErrors"));
    if let Some(busy) = errors
        .iter()
        .find(|e| e.code.as_deref() == Some("OPERATION_IN_PROGRESS"))
    {
        return Ok(BulkStart::Busy(busy.message.clone()));
    }
    if let Some(e) = errors.first() {
        return Ok(BulkStart::Rejected {
            code: e.code.clone(),
            message: e.message.clone(),
        });
    }
    let id = at(payload, &["bulkOperation", "id"])
        .and_then(Value::as_str)
        .ok_or_else(|| {
            ShopifyError::Unexpected("bulkOperationRunQuery returned no operation".into())
        })?;
    Ok(BulkStart::Started { id: id.to_string() })
}

/// Parses JSONL text (blank lines ignored).
pub fn parse_jsonl(text: &str) -> Result<Vec<Value>, ShopifyError> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l)
                .map_err(|e| ShopifyError::Unexpected(format!("JSONL line {}: {e}", i + 1)))
        })
        .collect()
}

/// Splits bulk lines into roots (no `__parentId`) and children by parent id, in file order.
pub fn group_by_parent(lines: Vec<Value>) -> (Vec<Value>, HashMap<String, Vec<Value>>) {
    let mut roots = Vec::new();
    let mut children: HashMap<String, Vec<Value>> = HashMap::new();
    for line in lines {
        match line
            .get("__parentId")
            .and_then(Value::as_str)
            .map(str::to_string)
        {
            Some(parent) => children.entry(parent).or_default().push(line),
            None => roots.push(line),
        }
    }
    (roots, children)
}

impl ShopifyClient {
    /// Runs `inner` as a bulk query and calls `on_line` for every JSONL object in file order.
    pub async fn run_bulk_query(
        &self,
        inner: &Document,
        mut on_line: impl FnMut(Value),
    ) -> Result<u64, ShopifyError> {
        let op = self.bulk_start_and_wait(inner).await?;
        let Some(url) = op.url else {
            return Ok(0);
        };
        self.stream_jsonl(&url, &mut on_line).await
    }

    /// Starts the bulk query and polls it to a terminal status (COMPLETED, or an error).
    pub async fn bulk_start_and_wait(
        &self,
        inner: &Document,
    ) -> Result<BulkOperation, ShopifyError> {
        let started = Instant::now();
        let id = self.start_bulk(inner, started).await?;
        loop {
            tokio::time::sleep(self.config.bulk_poll_interval).await;
            let op = self.poll_bulk(&id).await?;
            if op.is_terminal() {
                return match op.status.as_str() {
                    "COMPLETED" => Ok(op),
                    _ => Err(ShopifyError::Bulk {
                        id: op.id,
                        status: op.status,
                        error_code: op.error_code,
                    }),
                };
            }
            if started.elapsed() > self.config.bulk_timeout {
                return Err(ShopifyError::Bulk {
                    id,
                    status: format!("{} (gave up waiting)", op.status),
                    error_code: None,
                });
            }
        }
    }

    async fn start_bulk(&self, inner: &Document, started: Instant) -> Result<String, ShopifyError> {
        let mut busy_waits = 0u32;
        loop {
            let r = self
                .execute(&BULK_OPERATION_RUN_QUERY, json!({ "query": inner.text }))
                .await?;
            match parse_bulk_start(r.data.as_ref().unwrap_or(&Value::Null))? {
                BulkStart::Started { id } => {
                    tracing::info!(bulk_operation = %id, query = inner.name, "bulk query started");
                    return Ok(id);
                }
                BulkStart::Busy(message) => {
                    busy_waits += 1;
                    if started.elapsed() > self.config.bulk_timeout
                        || busy_waits > self.config.max_retries.max(1) * 10
                    {
                        return Err(ShopifyError::Throttled {
                            attempts: busy_waits,
                            message,
                        });
                    }
                    tracing::info!(query = inner.name, "another bulk query is running; waiting");
                    tokio::time::sleep(
                        self.config
                            .bulk_poll_interval
                            .max(self.config.backoff.ceiling(busy_waits)),
                    )
                    .await;
                }
                BulkStart::Rejected { code, message } => {
                    return Err(ShopifyError::Rejected {
                        code: code.unwrap_or_else(|| "BULK_QUERY_INVALID".into()),
                        message,
                    });
                }
            }
        }
    }

    /// One `bulkOperation(id)` poll.
    pub async fn poll_bulk(&self, id: &str) -> Result<BulkOperation, ShopifyError> {
        let r = self
            .execute(&BULK_OPERATION_STATUS, json!({ "id": id }))
            .await?;
        let v = r.data.as_ref().and_then(|d| at(d, &["bulkOperation"]));
        match v {
            None => Err(ShopifyError::NotFound(format!("bulk operation {id}"))),
            Some(v) => BulkOperation::from_json(v).ok_or_else(|| {
                ShopifyError::Unexpected(format!("bulk operation {id}: malformed status"))
            }),
        }
    }

    /// Streams the JSONL at `url`, one parsed object per line.
    async fn stream_jsonl(
        &self,
        url: &str,
        on_line: &mut impl FnMut(Value),
    ) -> Result<u64, ShopifyError> {
        let mut response = self.get_with_retries(url).await?;
        let mut buf: Vec<u8> = Vec::new();
        let mut count = 0u64;
        let mut line_no = 0u64;
        let mut handle =
            |line: &[u8], count: &mut u64, line_no: &mut u64| -> Result<(), ShopifyError> {
                *line_no += 1;
                if line.iter().all(u8::is_ascii_whitespace) {
                    return Ok(());
                }
                let v: Value =
                    serde_json::from_slice(line).map_err(|e| ShopifyError::Transport {
                        attempts: 1,
                        message: format!("bulk JSONL line {line_no}: {e}"),
                    })?;
                *count += 1;
                on_line(v);
                Ok(())
            };
        loop {
            let chunk = response
                .chunk()
                .await
                .map_err(|e| ShopifyError::Transport {
                    attempts: 1,
                    message: format!("bulk download: {}", e.without_url()),
                })?;
            let Some(chunk) = chunk else { break };
            buf.extend_from_slice(&chunk);
            let mut start = 0;
            while let Some(pos) = buf[start..].iter().position(|b| *b == b'\n') {
                handle(&buf[start..start + pos], &mut count, &mut line_no)?;
                start += pos + 1;
            }
            buf.drain(..start);
        }
        if !buf.is_empty() {
            handle(&buf, &mut count, &mut line_no)?;
        }
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn children_are_grouped_even_when_not_adjacent() {
        let text = "{\"id\":\"L1\"}\n{\"id\":\"L2\"}\n{\"item\":{\"id\":\"I1\"},\"__parentId\":\"L1\"}\n\n{\"item\":{\"id\":\"I2\"},\"__parentId\":\"L2\"}\n{\"item\":{\"id\":\"I3\"},\"__parentId\":\"L1\"}";
        let (roots, children) = group_by_parent(parse_jsonl(text).unwrap());
        assert_eq!(roots.len(), 2);
        assert_eq!(children["L1"].len(), 2);
        assert_eq!(children["L1"][1]["item"]["id"], "I3");
        assert_eq!(children["L2"].len(), 1);
        assert!(parse_jsonl("{\"a\":1}\nnot json").is_err());
    }

    #[test]
    fn start_payloads() {
        let busy = json!({"bulkOperationRunQuery": {"bulkOperation": null, "userErrors": [{"field": null, "message": "in progress", "code": "OPERATION_IN_PROGRESS"}]}});
        assert_eq!(
            parse_bulk_start(&busy).unwrap(),
            BulkStart::Busy("in progress".into())
        );
        let ok = json!({"bulkOperationRunQuery": {"bulkOperation": {"id": "gid://shopify/BulkOperation/1", "status": "CREATED"}, "userErrors": []}});
        assert_eq!(
            parse_bulk_start(&ok).unwrap(),
            BulkStart::Started {
                id: "gid://shopify/BulkOperation/1".into()
            }
        );
        let bad = json!({"bulkOperationRunQuery": {"bulkOperation": null, "userErrors": [{"field": ["query"], "message": "Invalid bulk query"}]}});
        assert!(matches!(
            parse_bulk_start(&bad).unwrap(),
            BulkStart::Rejected { code: None, .. }
        ));
    }

    #[test]
    fn status_with_string_counts() {
        let op = BulkOperation::from_json(&json!({"id": "b", "status": "COMPLETED", "errorCode": null, "objectCount": "1456", "url": null})).unwrap();
        assert!(op.is_terminal());
        assert_eq!(op.object_count, Some(1456));
        assert_eq!(op.url, None);
        let op =
            BulkOperation::from_json(&json!({"id": "b", "status": "RUNNING", "objectCount": 3}))
                .unwrap();
        assert!(!op.is_terminal());
        assert_eq!(op.object_count, Some(3));
    }
}
