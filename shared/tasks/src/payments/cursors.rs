//! The two "since" cursors of sync-payments, and where each read starts.
//!
//! Both are records of kind [`CURSORS`] (`sync-cursors`), like the orders cursor, and each states an
//! invariant about what is stored, so it may move after every page and not only at the end of a
//! pass: a run cut short (a crash, a plan too old and planned again) starts the next time from where
//! the stored records end, never from the beginning — a first sync of years of transactions gets
//! through however many invocations it takes.
//!
//! - **Payouts** (`payouts`, [`PayoutsCursor`]): every payout with a numeric id up to `highest_id`
//!   is stored. Payout ids grow, and Shopify reads payouts above an id, so a run reads from just
//!   below the lowest payout still `scheduled` or `in_transit` (the first one each status index lists:
//!   ids are zero-padded) or else from `highest_id`: one pass both refreshes the payouts that can
//!   still change and adds the new ones, and reads each page once.
//! - **Balance transactions** (`balance-transactions`, [`TransactionsCursor`]): every live
//!   transaction processed before `read_from` is stored with its payout. Transactions have no
//!   numeric id in the API; Shopify reads them from a time, oldest first. After a page, `read_from`
//!   is the oldest transaction of the run still without a payout, or else the newest one read: the
//!   next run reads again exactly the transactions that can still change (and the newest, whose
//!   instant may hold more), less [`TRANSACTIONS_OVERLAP_SECS`] for a transaction that shows up in
//!   the search late. Transactions read again unchanged are not written.
//!
//! Runs of one shop do not overlap (the category lease), so a cursor is written with a
//! compare-and-swap on the version this run last saw only to catch a run resumed from a checkpoint
//! older than its last cursor write: then the cursor is read again and merged.

use crate::engine::TaskRun;
use crate::orders::sync::{format_time, parse_time};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use shopsync_domain::SyncError;
use shopsync_domain::ports::{Record, Result};
use time::OffsetDateTime;

pub use crate::orders::sync::CURSORS;

/// The payouts cursor's id.
pub const PAYOUTS_CURSOR: &str = "payouts";
/// The balance transactions cursor's id.
pub const TRANSACTIONS_CURSOR: &str = "balance-transactions";
/// How far before `read_from` a transactions read starts.
pub const TRANSACTIONS_OVERLAP_SECS: i64 = 5 * 60;

/// Every payout with a numeric id up to `highest_id` is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayoutsCursor {
    pub highest_id: u64,
}

/// Every live transaction processed before `read_from` (RFC 3339, as Shopify gave it) is stored with
/// its payout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionsCursor {
    pub read_from: String,
}

/// A cursor as this run last saw it (kept in the checkpoint).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Seen<B> {
    /// 0: there is none.
    pub version: u64,
    pub body: Option<B>,
}

impl<B> Default for Seen<B> {
    fn default() -> Self {
        Seen {
            version: 0,
            body: None,
        }
    }
}

/// Read cursor `id`.
pub async fn read<B: DeserializeOwned>(run: &TaskRun<'_>, id: &str) -> Result<Seen<B>> {
    let stored = run
        .stores
        .records
        .get_record(run.shop(), CURSORS, id)
        .await?;
    match stored {
        None => Ok(Seen::default()),
        Some(record) => Ok(Seen {
            version: record.version,
            body: Some(serde_json::from_str(&record.body).map_err(|e| {
                SyncError::Internal(format!("the {id} cursor record is unreadable: {e}"))
            })?),
        }),
    }
}

/// Move cursor `id` to `ours` unless it is there already (then nothing is written). On a conflict
/// the stored cursor is read again and `merge(theirs, ours)` written over it, once.
pub async fn write<B>(
    run: &TaskRun<'_>,
    id: &str,
    seen: &mut Seen<B>,
    ours: B,
    merge: fn(&B, B) -> B,
) -> Result<()>
where
    B: Serialize + DeserializeOwned + PartialEq + Clone,
{
    let mut target = ours;
    for _ in 0..2 {
        if seen.body.as_ref() == Some(&target) {
            return Ok(());
        }
        let body = serde_json::to_string(&target)
            .map_err(|e| SyncError::Internal(format!("serialising: {e}")))?;
        let record = Record {
            version: seen.version,
            ..Record::new(id, None, body)
        };
        if run
            .stores
            .records
            .put_record_if(run.shop(), CURSORS, &record)
            .await?
        {
            seen.version += 1;
            seen.body = Some(target);
            return Ok(());
        }
        *seen = read(run, id).await?;
        if let Some(theirs) = &seen.body {
            target = merge(theirs, target);
        }
    }
    Err(SyncError::Conflict(format!(
        "the {id} cursor kept moving while this run advanced it"
    )))
}

/// Payouts only move up.
pub fn merge_payouts(theirs: &PayoutsCursor, ours: PayoutsCursor) -> PayoutsCursor {
    PayoutsCursor {
        highest_id: theirs.highest_id.max(ours.highest_id),
    }
}

/// This run's read is the newer word on which transactions can still change.
pub fn merge_transactions(
    _theirs: &TransactionsCursor,
    ours: TransactionsCursor,
) -> TransactionsCursor {
    ours
}

/// The first payout id a run reads above: below the lowest payout that can still change, or the
/// highest stored; `None` (everything) on the first sync.
pub fn payouts_since(cursor: Option<&PayoutsCursor>, lowest_not_final: Option<u64>) -> Option<u64> {
    let highest = cursor?.highest_id;
    Some(match lowest_not_final {
        Some(low) => highest.min(low.saturating_sub(1)),
        None => highest,
    })
}

/// Where a transactions read starts: `read_from` less the overlap; `None` (everything) on the
/// first sync.
pub fn transactions_since(cursor: Option<&TransactionsCursor>) -> Result<Option<String>> {
    let Some(cursor) = cursor else {
        return Ok(None);
    };
    let from = parse_time("the balance transactions cursor", &cursor.read_from)?;
    Ok(Some(format_time(
        from - time::Duration::seconds(TRANSACTIONS_OVERLAP_SECS),
    )?))
}

/// The earlier of two instants given as text (`b` when `a` is `None`).
pub fn earlier(a: Option<String>, b: &str) -> Result<String> {
    pick(a, b, |x, y| x <= y)
}

/// The later of two instants given as text (`b` when `a` is `None`).
pub fn later(a: Option<String>, b: &str) -> Result<String> {
    pick(a, b, |x, y| x >= y)
}

fn pick(
    a: Option<String>,
    b: &str,
    keep_a: fn(OffsetDateTime, OffsetDateTime) -> bool,
) -> Result<String> {
    let Some(a) = a else {
        return Ok(b.to_string());
    };
    let (x, y) = (
        parse_time("a transaction date", &a)?,
        parse_time("a transaction date", b)?,
    );
    Ok(if keep_a(x, y) { a } else { b.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payouts_are_read_from_below_the_lowest_one_that_can_still_change() {
        assert_eq!(payouts_since(None, Some(4)), None, "first sync: all");
        let c = PayoutsCursor { highest_id: 9 };
        assert_eq!(payouts_since(Some(&c), None), Some(9));
        assert_eq!(payouts_since(Some(&c), Some(4)), Some(3));
        assert_eq!(payouts_since(Some(&c), Some(12)), Some(9));
        assert_eq!(payouts_since(Some(&c), Some(1)), Some(0));
        assert_eq!(
            merge_payouts(&PayoutsCursor { highest_id: 12 }, c),
            PayoutsCursor { highest_id: 12 },
            "never backwards"
        );
    }

    #[test]
    fn transactions_are_read_from_the_cursor_less_the_overlap() {
        assert_eq!(transactions_since(None).unwrap(), None);
        let c = TransactionsCursor {
            read_from: "2026-05-02T12:00:00Z".into(),
        };
        assert_eq!(
            transactions_since(Some(&c)).unwrap().as_deref(),
            Some("2026-05-02T11:55:00Z")
        );
        let bad = TransactionsCursor {
            read_from: "yesterday".into(),
        };
        assert!(transactions_since(Some(&bad)).is_err());
    }

    #[test]
    fn instants_compare_as_instants_not_as_text() {
        let a = "2026-05-02T12:00:00+02:00".to_string();
        assert_eq!(
            earlier(Some(a.clone()), "2026-05-02T11:00:00Z").unwrap(),
            a,
            "10:00 UTC is earlier"
        );
        assert_eq!(
            later(Some(a), "2026-05-02T11:00:00Z").unwrap(),
            "2026-05-02T11:00:00Z"
        );
        assert_eq!(
            earlier(None, "2026-05-02T11:00:00Z").unwrap(),
            "2026-05-02T11:00:00Z"
        );
    }
}
