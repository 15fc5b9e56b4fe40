//! Bulk operations: for reads too big to page (a 50,000-variant catalogue would be 200 paged calls
//! and hundreds of thousands of requested points; one bulk query costs 10 plus cheap polls).
//!
//! Flow: `bulkOperationRunQuery` (waiting and retrying while another of our bulk queries is
//! `OPERATION_IN_PROGRESS`) → poll `bulkOperation(id)` every `bulk_poll_interval` until COMPLETED,
//! FAILED, CANCELED or EXPIRED → stream the JSONL from `url` with a plain GET (a signed URL, no
//! token) line by line, so memory is bounded by what the caller keeps, not by the file size.
//! COMPLETED with `url: null` means an empty result. Nested connection rows carry `__parentId`; they
//! follow their parent but not necessarily directly, hence [`group_by_parent`].
//!
//! Two ways to wait. A read that fits one call (the inventory's catalogue) starts and polls to the
//! end inside [`ShopifyClient::run_bulk_query`]. A read a task resumes across invocations (the
//! orders of a large sync window) starts with [`ShopifyClient::start_bulk_text`], keeps the
//! operation's id in its checkpoint and polls once per planning step
//! ([`ShopifyClient::wait_and_poll_bulk`]), then streams the file with
//! [`ShopifyClient::read_bulk_jsonl`]: a deadline or a crash costs a poll, not the operation.

use crate::client::ShopifyClient;
use crate::documents::{BULK_OPERATION_RUN_QUERY, BULK_OPERATION_STATUS, Document};
use crate::error::ShopifyError;
use crate::wire::{BulkLine, UserError, unsigned_int64, user_errors};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;
use std::collections::HashMap;
use std::time::Instant;

/// `bulkOperation(id)` as polled (`BulkOperationStatus`: `id status errorCode objectCount url
/// partialDataUrl`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkOperation {
    pub id: String,
    /// CREATED, RUNNING, COMPLETED, CANCELING, CANCELED, FAILED, EXPIRED.
    pub status: String,
    #[serde(default)]
    pub error_code: Option<String>,
    /// `UnsignedInt64`, serialised as a string by Shopify.
    #[serde(default, deserialize_with = "unsigned_int64::option")]
    pub object_count: Option<u64>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub partial_data_url: Option<String>,
}

impl BulkOperation {
    pub fn is_terminal(&self) -> bool {
        matches!(
            self.status.as_str(),
            "COMPLETED" | "FAILED" | "CANCELED" | "EXPIRED"
        )
    }
}

/// `data` of `BulkOperationStatus` (`bulkOperation(id:)` is null for an unknown id).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkOperationStatusData {
    pub bulk_operation: Option<BulkOperation>,
}

/// `data` of `BulkOperationRunQuery`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkOperationRunQueryData {
    pub bulk_operation_run_query: Option<BulkRunPayload>,
}

/// `bulkOperationRunQuery { bulkOperation { id status } userErrors { code field message } }`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkRunPayload {
    /// Null when the query was refused.
    #[serde(default)]
    pub bulk_operation: Option<StartedBulkOperation>,
    pub user_errors: Vec<UserError>,
}

/// `bulkOperation { id status }` of a start.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct StartedBulkOperation {
    pub id: String,
    pub status: String,
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
pub fn parse_bulk_start(data: BulkOperationRunQueryData) -> Result<BulkStart, ShopifyError> {
    let payload = data
        .bulk_operation_run_query
        .ok_or_else(|| ShopifyError::Unexpected("bulkOperationRunQuery payload missing".into()))?;
    let errors = user_errors(payload.user_errors);
    if let Some(busy) = errors
        .iter()
        .find(|e| e.code.as_deref() == Some("OPERATION_IN_PROGRESS"))
    {
        return Ok(BulkStart::Busy(busy.message.clone()));
    }
    if let Some(e) = errors.into_iter().next() {
        return Ok(BulkStart::Rejected {
            code: e.code,
            message: e.message,
        });
    }
    let op = payload.bulk_operation.ok_or_else(|| {
        ShopifyError::Unexpected("bulkOperationRunQuery returned no operation".into())
    })?;
    Ok(BulkStart::Started { id: op.id })
}

/// Parses JSONL text (blank lines ignored): lines with a `__parentId` as `C`, the others as `R`.
pub fn parse_jsonl<R: DeserializeOwned, C: DeserializeOwned>(
    text: &str,
) -> Result<Vec<BulkLine<R, C>>, ShopifyError> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| {
            BulkLine::decode(&format!("JSONL line {}", i + 1), l.as_bytes())
                .map_err(|e| ShopifyError::Unexpected(e.message))
        })
        .collect()
}

/// Splits bulk lines into roots and children by parent id, in file order.
pub fn group_by_parent<R, C>(lines: Vec<BulkLine<R, C>>) -> (Vec<R>, HashMap<String, Vec<C>>) {
    let mut roots = Vec::new();
    let mut children: HashMap<String, Vec<C>> = HashMap::new();
    for line in lines {
        match line {
            BulkLine::Child { parent_id, node } => {
                children.entry(parent_id).or_default().push(node)
            }
            BulkLine::Root(root) => roots.push(root),
        }
    }
    (roots, children)
}

impl ShopifyClient {
    /// Runs `inner` as a bulk query and calls `on_line` for every JSONL object in file order,
    /// decoded as `R` (a root line) or `C` (a line with `__parentId`).
    pub async fn run_bulk_query<R: DeserializeOwned, C: DeserializeOwned>(
        &self,
        inner: &Document,
        mut on_line: impl FnMut(BulkLine<R, C>),
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
        self.start_bulk_named(inner.name, inner.text, started).await
    }

    /// Starts a bulk query whose text is built at run time from document `name` (e.g. with the
    /// window's search put in), waiting while five of ours are running; the operation's id.
    pub async fn start_bulk_text(&self, name: &str, text: &str) -> Result<String, ShopifyError> {
        self.start_bulk_named(name, text, Instant::now()).await
    }

    /// Waits one poll interval, then polls operation `id` once.
    pub async fn wait_and_poll_bulk(&self, id: &str) -> Result<BulkOperation, ShopifyError> {
        tokio::time::sleep(self.config.bulk_poll_interval).await;
        self.poll_bulk(id).await
    }

    /// Streams the JSONL of a finished bulk operation at `url`, one decoded object per line.
    pub async fn read_bulk_jsonl<R: DeserializeOwned, C: DeserializeOwned>(
        &self,
        url: &str,
        mut on_line: impl FnMut(BulkLine<R, C>),
    ) -> Result<u64, ShopifyError> {
        self.stream_jsonl(url, &mut on_line).await
    }

    async fn start_bulk_named(
        &self,
        name: &str,
        text: &str,
        started: Instant,
    ) -> Result<String, ShopifyError> {
        let mut busy_waits = 0u32;
        loop {
            let r = self
                .execute(&BULK_OPERATION_RUN_QUERY, json!({ "query": text }))
                .await?;
            match parse_bulk_start(r.data_as(BULK_OPERATION_RUN_QUERY.name)?)? {
                BulkStart::Started { id } => {
                    tracing::info!(bulk_operation = %id, query = name, "bulk query started");
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
                    tracing::info!(query = name, "another bulk query is running; waiting");
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
        let data: BulkOperationStatusData = r.data_as(BULK_OPERATION_STATUS.name)?;
        data.bulk_operation
            .ok_or_else(|| ShopifyError::NotFound(format!("bulk operation {id}")))
    }

    /// Streams the JSONL at `url`, one decoded object per line. A line that is not JSON (a cut
    /// download) is a retryable transport failure; a line of another shape is
    /// [`ShopifyError::Unexpected`] naming the line and the JSON path.
    async fn stream_jsonl<R: DeserializeOwned, C: DeserializeOwned>(
        &self,
        url: &str,
        on_line: &mut impl FnMut(BulkLine<R, C>),
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
                let v = BulkLine::decode(&format!("bulk JSONL line {line_no}"), line)?;
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
    use crate::inventory::LevelNode;
    use crate::wire::IdRef;

    fn decode<T: DeserializeOwned>(v: serde_json::Value) -> T {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn children_are_grouped_even_when_not_adjacent() {
        let text = "{\"id\":\"L1\"}\n{\"id\":\"L2\"}\n{\"item\":{\"id\":\"I1\"},\"quantities\":[],\"__parentId\":\"L1\"}\n\n{\"item\":{\"id\":\"I2\"},\"quantities\":[],\"__parentId\":\"L2\"}\n{\"item\":{\"id\":\"I3\"},\"quantities\":[],\"__parentId\":\"L1\"}";
        let (roots, children) = group_by_parent(parse_jsonl::<IdRef, LevelNode>(text).unwrap());
        assert_eq!(roots.len(), 2);
        assert_eq!(children["L1"].len(), 2);
        assert_eq!(children["L1"][1].item.id, "I3");
        assert_eq!(children["L2"].len(), 1);
        assert!(parse_jsonl::<IdRef, LevelNode>("{\"id\":\"a\"}\nnot json").is_err());
        assert_eq!(
            parse_jsonl::<IdRef, LevelNode>(
                "{\"id\":\"a\"}\n{\"item\":{\"id\":1},\"__parentId\":\"a\"}"
            )
            .unwrap_err(),
            ShopifyError::Unexpected(
                "JSONL line 2: at item.id: invalid type: integer `1`, expected a string".into()
            )
        );
    }

    #[test]
    fn start_payloads() {
        let busy = json!({"bulkOperationRunQuery": {"bulkOperation": null, "userErrors": [{"field": null, "message": "in progress", "code": "OPERATION_IN_PROGRESS"}]}});
        assert_eq!(
            parse_bulk_start(decode(busy)).unwrap(),
            BulkStart::Busy("in progress".into())
        );
        let ok = json!({"bulkOperationRunQuery": {"bulkOperation": {"id": "gid://shopify/BulkOperation/1", "status": "CREATED"}, "userErrors": []}});
        assert_eq!(
            parse_bulk_start(decode(ok)).unwrap(),
            BulkStart::Started {
                id: "gid://shopify/BulkOperation/1".into()
            }
        );
        let bad = json!({"bulkOperationRunQuery": {"bulkOperation": null, "userErrors": [{"field": ["query"], "message": "Invalid bulk query"}]}});
        assert!(matches!(
            parse_bulk_start(decode(bad)).unwrap(),
            BulkStart::Rejected { code: None, .. }
        ));
        let none = json!({"bulkOperationRunQuery": {"bulkOperation": null, "userErrors": []}});
        assert_eq!(
            parse_bulk_start(decode(none)).unwrap_err(),
            ShopifyError::Unexpected("bulkOperationRunQuery returned no operation".into())
        );
    }

    #[test]
    fn status_with_string_counts() {
        let op: BulkOperation = decode(
            json!({"id": "b", "status": "COMPLETED", "errorCode": null, "objectCount": "1456", "url": null}),
        );
        assert!(op.is_terminal());
        assert_eq!(op.object_count, Some(1456));
        assert_eq!(op.url, None);
        let op: BulkOperation = decode(json!({"id": "b", "status": "RUNNING", "objectCount": 3}));
        assert!(!op.is_terminal());
        assert_eq!(op.object_count, Some(3));
        let r = crate::response::GraphQlResponse::<serde_json::Value>::from_value(
            json!({"data": {"bulkOperation": {"id": "b", "status": "RUNNING", "objectCount": "many"}}}),
        )
        .unwrap();
        let e = r
            .data_as::<BulkOperationStatusData>("BulkOperationStatus")
            .unwrap_err();
        assert!(
            matches!(&e, ShopifyError::Unexpected(m) if m.starts_with("BulkOperationStatus answer: at data.bulkOperation.objectCount: invalid value: string \"many\"")),
            "{e:?}"
        );
    }
}
