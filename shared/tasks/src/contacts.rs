//! What `sync-customers` and `sync-companies` share: both read a Shopify window of contacts
//! changed since a stored cursor (less an overlap), scan the BC customers changed since a second
//! cursor, and decode the outcomes of their BC effects the same way.
//!
//! The two tasks were written side by side and carried identical copies of this code; it lives
//! here once so that a fix to the window or cursor handling reaches both tasks. Each task keeps
//! its own cursor ids (`SHOPIFY_CURSOR`, `BC_CURSOR` in its `records` module) and names itself in
//! the messages, so what they store and report is unchanged.

use crate::customers::records::{from_body, to_body};
use crate::engine::TaskRun;
use crate::orders::sync::{CURSORS, format_time, parse_time};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shopsync_domain::SyncError;
use shopsync_domain::ports::{Record, Result};
use time::OffsetDateTime;

/// How far before a stored cursor the next window starts (late commits, clock skew).
pub const OVERLAP_SECS: i64 = 5 * 60;

/// A cursor record's body.
#[derive(Debug, Serialize, Deserialize)]
struct CursorBody {
    updated_at: String,
}

/// The instant stored under cursor `id`; `noun` ("customers", "companies") names it in errors.
pub async fn read_cursor(
    run: &TaskRun<'_>,
    id: &str,
    noun: &str,
) -> Result<Option<OffsetDateTime>> {
    match run
        .stores
        .records
        .get_record(run.shop(), CURSORS, id)
        .await?
    {
        Some(r) => {
            let body: CursorBody = from_body("cursor", &r)?;
            Ok(Some(parse_time(
                &format!("the {noun} cursor"),
                &body.updated_at,
            )?))
        }
        None => Ok(None),
    }
}

/// Store `at` (RFC 3339) under cursor `id`.
pub async fn write_cursor(run: &TaskRun<'_>, id: &str, at: &str) -> Result<()> {
    let body = to_body(&CursorBody {
        updated_at: at.to_string(),
    })?;
    run.stores
        .records
        .put_records(run.shop(), CURSORS, &[Record::new(id, None, body)])
        .await
}

/// Where a window read from cursor `t` starts: [`OVERLAP_SECS`] before it.
pub fn window_start(t: OffsetDateTime) -> Result<String> {
    format_time(t - time::Duration::seconds(OVERLAP_SECS))
}

/// The start of the window read from cursor `id` (none before the first run: everything).
pub async fn window_since(run: &TaskRun<'_>, id: &str, noun: &str) -> Result<Option<String>> {
    read_cursor(run, id, noun)
        .await?
        .map(window_start)
        .transpose()
}

/// Move cursor `id` to `newest` when that is later than what it holds.
pub async fn advance_cursor(
    run: &TaskRun<'_>,
    id: &str,
    noun: &str,
    newest: Option<OffsetDateTime>,
) -> Result<()> {
    if let Some(t) = newest {
        let stored = read_cursor(run, id, noun).await?;
        if stored.is_none_or(|s| t > s) {
            write_cursor(run, id, &format_time(t)?).await?;
        }
    }
    Ok(())
}

/// A Shopify page that hands back the cursor it was read from would loop forever.
pub fn ensure_progress(next: &Option<String>, after: &Option<String>, noun: &str) -> Result<()> {
    if next.is_some() && next == after {
        return Err(SyncError::Internal(format!(
            "Shopify returned the same page cursor twice while reading {noun}"
        )));
    }
    Ok(())
}

/// Field `field` of an effect's outcome; `task` names the task in the error.
pub fn decode<T: serde::de::DeserializeOwned>(
    task: &str,
    outcome: &Value,
    field: &str,
) -> Result<T> {
    serde_json::from_value(outcome.get(field).cloned().unwrap_or(Value::Null))
        .map_err(|e| SyncError::Internal(format!("{task} outcome without a readable {field}: {e}")))
}

/// A contact record that the retry pass reads again from Shopify when it was left in error.
#[async_trait::async_trait]
pub trait ErroredRecord: serde::de::DeserializeOwned + Send + Sync {
    /// The Shopify contact the record stands for.
    type Contact: Send;
    /// What the record is called in errors ("customer", "company").
    const WHAT: &'static str;
    /// The Shopify id to read the contact by.
    fn shopify_id(&self) -> &str;
    /// The run that handled the record last.
    fn job_id(&self) -> Option<&str>;
    /// The contact read from Shopify by its id (`None`: gone from Shopify).
    async fn fetch(run: &TaskRun<'_>, shopify_id: &str) -> Result<Option<Self::Contact>>;
}

/// One page of the records of `table` left in `status`, read again from Shopify:
/// those this run handled already are skipped, those gone from Shopify are deleted (nothing to
/// retry). Returns the contacts read and where the next page starts.
pub async fn reread_errored<R: ErroredRecord>(
    run: &TaskRun<'_>,
    table: &str,
    status: &str,
    after: Option<&str>,
    page_size: usize,
) -> Result<(Vec<R::Contact>, Option<String>)> {
    let page = run
        .stores
        .records
        .list_by_status(run.shop(), table, status, after, page_size)
        .await?;
    let mut fresh = Vec::new();
    for r in &page.records {
        let rec: R = from_body(R::WHAT, r)?;
        if rec.job_id() == Some(run.job.job_id.as_str()) {
            continue; // handled by this run already
        }
        match R::fetch(run, rec.shopify_id()).await? {
            Some(c) => fresh.push(c),
            None => {
                // Gone from Shopify: nothing to retry.
                run.stores
                    .records
                    .delete_records(run.shop(), table, std::slice::from_ref(&r.id))
                    .await?;
            }
        }
    }
    Ok((fresh, page.next_after))
}
