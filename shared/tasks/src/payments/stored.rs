//! What is kept per payout and per balance transaction: one record of kind [`PAYOUTS`] per payout and
//! one of kind [`BALANCE_TRANSACTIONS`] per balance transaction, the reference's `Shpfy Payout` and
//! `Shpfy Payment Transaction` rows.
//!
//! **Ids.** A payout's record id is its numeric id zero-padded to 20 digits ([`payout_record_id`]),
//! so the store's id order is numeric order and the lowest payout of a status is the first one its
//! status index lists. A transaction's record id is its GID: the API gives it no numeric id.
//!
//! **Statuses** (the store's sparse index): a payout has its Shopify status in lower case
//! (`scheduled`, `in_transit`, `paid`, `failed`, `canceled`); the ones that can still change
//! ([`payout_status::NOT_FINAL`]) are read again every run. A live transaction without a payout yet
//! has [`transaction_status::NO_PAYOUT`] (the reference's `Payout Id = 0`); every other transaction
//! has no status and is in no index.
//!
//! **Bodies** carry what the API and the status board show: the amounts as the decimal text Shopify
//! gave with their currency, the dates as Shopify gave them, the order (id and name) and the payout
//! (GID) of a transaction, and a `name` for drill-downs. A transaction does not copy its payout's
//! status: that would go stale the day the payout is paid; the payout's own record has it.
//!
//! **Change detection.** A record read again is written only when its body or status differs from
//! the stored one ([`Change`]), so a run that finds nothing new writes nothing.

use serde::{Deserialize, Serialize};
use shopsync_domain::SyncError;
use shopsync_domain::orders::{BalanceTransaction, Money, PayoutSummary, ShopifyPayout};
use shopsync_domain::ports::{Record, Result};
use shopsync_domain::text::{bounded, preview};

pub use shopsync_domain::staging::{BALANCE_TRANSACTIONS, PAYOUTS};

/// Statuses of a payout record: Shopify's, in lower case.
pub mod payout_status {
    pub const SCHEDULED: &str = "scheduled";
    /// Only on older payouts.
    pub const IN_TRANSIT: &str = "in_transit";
    pub const PAID: &str = "paid";
    pub const FAILED: &str = "failed";
    pub const CANCELED: &str = "canceled";
    /// The statuses a payout still leaves: read again every run until it has another. (A failed
    /// payout stays failed; Shopify pays its amount again in a later payout, as `retriedPayouts`.)
    pub const NOT_FINAL: [&str; 2] = [SCHEDULED, IN_TRANSIT];
}

/// Statuses of a balance transaction record.
pub mod transaction_status {
    /// Not part of a payout yet: read again every run until it is. Test transactions never get
    /// one and are left out.
    pub const NO_PAYOUT: &str = "no_payout";
}

/// Longest `name` kept (the drill-down shows it).
const MAX_NAME_CHARS: usize = 200;

/// The record id of payout `legacy_id`: 20 digits, zero-padded (id order is numeric order).
pub fn payout_record_id(legacy_id: u64) -> String {
    format!("{legacy_id:020}")
}

/// The numeric id of a payout record id.
pub fn payout_legacy_id(record_id: &str) -> Result<u64> {
    record_id.parse().map_err(|_| {
        SyncError::Internal(format!(
            "payout record id '{}' is not a number",
            preview(record_id)
        ))
    })
}

/// The body of a [`PAYOUTS`] record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredPayout {
    /// For drill-downs: `Payout 123 of 2026-05-01 (100.50 EUR)`.
    pub name: String,
    /// The payout GID.
    pub id: String,
    pub legacy_id: u64,
    /// As Shopify gave it (`SCHEDULED`, `PAID`, …); the record's status is its lower case.
    pub status: String,
    pub issued_at: String,
    /// `DEPOSIT` or `WITHDRAWAL`.
    pub transaction_type: String,
    pub net: Money,
    /// Gross amounts and fees by category.
    pub summary: PayoutSummary,
}

impl StoredPayout {
    pub fn new(payout: &ShopifyPayout) -> StoredPayout {
        let day = payout.issued_at.get(..10).unwrap_or(&payout.issued_at);
        StoredPayout {
            name: bounded(
                &format!(
                    "Payout {} of {day} ({} {})",
                    payout.legacy_id, payout.net.amount, payout.net.currency
                ),
                MAX_NAME_CHARS,
            ),
            id: payout.id.clone(),
            legacy_id: payout.legacy_id,
            status: payout.status.clone(),
            issued_at: payout.issued_at.clone(),
            transaction_type: payout.transaction_type.clone(),
            net: payout.net.clone(),
            summary: payout.summary.clone(),
        }
    }

    /// The record status: the payout status in lower case (none when Shopify gave none).
    pub fn record_status(&self) -> Option<String> {
        let status = self.status.trim().to_ascii_lowercase();
        (!status.is_empty()).then_some(status)
    }

    pub fn to_record(&self) -> Result<Record> {
        Ok(Record {
            status: self.record_status(),
            ..Record::new(payout_record_id(self.legacy_id), None, to_body(self)?)
        })
    }
}

/// The body of a [`BALANCE_TRANSACTIONS`] record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredTransaction {
    /// For drill-downs: `CHARGE #1001 25.00 EUR (2026-05-01)`.
    pub name: String,
    /// The transaction GID.
    pub id: String,
    /// `CHARGE`, `REFUND`, `ADJUSTMENT`, …
    pub transaction_type: String,
    pub test: bool,
    pub transaction_date: String,
    pub amount: Money,
    pub fee: Money,
    pub net: Money,
    pub source_type: Option<String>,
    /// Decimal text (Shopify's `BigInt`).
    pub source_id: Option<String>,
    pub source_order_transaction_id: Option<String>,
    /// The order GID and name (`#1001`), when the transaction belongs to an order.
    pub order_id: Option<String>,
    pub order_name: Option<String>,
    /// The payout GID, once the transaction is part of one (its status is on the payout record).
    pub payout_id: Option<String>,
}

impl StoredTransaction {
    pub fn new(t: &BalanceTransaction) -> StoredTransaction {
        let day = t.transaction_date.get(..10).unwrap_or(&t.transaction_date);
        let about = t
            .order_name
            .as_deref()
            .or(t.source_id.as_deref())
            .unwrap_or("-");
        StoredTransaction {
            name: bounded(
                &format!(
                    "{} {about} {} {} ({day})",
                    t.transaction_type, t.amount.amount, t.amount.currency
                ),
                MAX_NAME_CHARS,
            ),
            id: t.id.clone(),
            transaction_type: t.transaction_type.clone(),
            test: t.test,
            transaction_date: t.transaction_date.clone(),
            amount: t.amount.clone(),
            fee: t.fee.clone(),
            net: t.net.clone(),
            source_type: t.source_type.clone(),
            source_id: t.source_id.clone(),
            source_order_transaction_id: t.source_order_transaction_id.clone(),
            order_id: t.order_id.clone(),
            order_name: t.order_name.clone(),
            payout_id: t.payout_id.clone(),
        }
    }

    /// Whether the next runs read it again: a live transaction not paid out yet.
    pub fn awaits_payout(&self) -> bool {
        self.payout_id.is_none() && !self.test
    }

    pub fn to_record(&self) -> Result<Record> {
        let status = self
            .awaits_payout()
            .then_some(transaction_status::NO_PAYOUT);
        Ok(Record::new(self.id.clone(), status, to_body(self)?))
    }
}

fn to_body<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| SyncError::Internal(format!("serialising: {e}")))
}

/// How a record read again compares with the stored one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    New,
    Updated,
    Unchanged,
}

/// Compare `fresh` with what is stored; for a write, `fresh` takes the stored version (the store
/// moves it up by one).
pub fn compare(stored: Option<&Record>, fresh: &mut Record) -> Change {
    match stored {
        None => Change::New,
        Some(s) if s.body == fresh.body && s.status == fresh.status => Change::Unchanged,
        Some(s) => {
            fresh.version = s.version;
            Change::Updated
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn money(amount: &str) -> Money {
        Money {
            amount: amount.into(),
            currency: "EUR".into(),
        }
    }

    fn summary() -> PayoutSummary {
        PayoutSummary {
            charges_gross: money("120.00"),
            charges_fee: money("3.40"),
            refunds_fee_gross: money("0.0"),
            refunds_fee: money("0.0"),
            adjustments_gross: money("0.0"),
            adjustments_fee: money("0.0"),
            reserved_funds_gross: money("0.0"),
            reserved_funds_fee: money("0.0"),
            retried_payouts_gross: money("0.0"),
            retried_payouts_fee: money("0.0"),
        }
    }

    #[test]
    fn a_payout_record_is_keyed_in_numeric_order_with_its_status_in_lower_case() {
        let payout = ShopifyPayout {
            id: "gid://shopify/ShopifyPaymentsPayout/42".into(),
            legacy_id: 42,
            issued_at: "2026-05-01T00:00:00Z".into(),
            status: "IN_TRANSIT".into(),
            transaction_type: "DEPOSIT".into(),
            net: money("116.60"),
            summary: summary(),
        };
        let record = StoredPayout::new(&payout).to_record().unwrap();
        assert_eq!(record.id, "00000000000000000042");
        assert!(payout_record_id(9) < payout_record_id(10));
        assert_eq!(payout_legacy_id(&record.id).unwrap(), 42);
        assert!(payout_legacy_id("x").is_err());
        assert_eq!(record.status.as_deref(), Some(payout_status::IN_TRANSIT));
        let body: serde_json::Value = serde_json::from_str(&record.body).unwrap();
        assert_eq!(body["name"], "Payout 42 of 2026-05-01 (116.60 EUR)");
        assert_eq!(body["net"]["amount"], "116.60", "the decimal text as given");
        assert_eq!(body["summary"]["charges_fee"]["amount"], "3.40");
        assert_eq!(
            shopsync_domain::staging::cue_detail(&record.body),
            "Payout 42 of 2026-05-01 (116.60 EUR)"
        );
    }

    fn transaction(payout: Option<&str>, test: bool) -> BalanceTransaction {
        BalanceTransaction {
            id: "gid://shopify/ShopifyPaymentsBalanceTransaction/7".into(),
            transaction_type: "CHARGE".into(),
            test,
            transaction_date: "2026-05-02T12:00:00Z".into(),
            amount: money("25.00"),
            fee: money("0.98"),
            net: money("24.02"),
            source_type: Some("CHARGE".into()),
            source_id: Some("9000001".into()),
            source_order_transaction_id: Some("11".into()),
            order_id: Some("gid://shopify/Order/1".into()),
            order_name: Some("#1001".into()),
            payout_id: payout.map(String::from),
            payout_status: payout.map(|_| "SCHEDULED".into()),
        }
    }

    #[test]
    fn only_a_live_transaction_without_a_payout_is_listed_for_refreshing() {
        let waiting = StoredTransaction::new(&transaction(None, false))
            .to_record()
            .unwrap();
        assert_eq!(
            waiting.status.as_deref(),
            Some(transaction_status::NO_PAYOUT)
        );
        assert_eq!(
            waiting.id,
            "gid://shopify/ShopifyPaymentsBalanceTransaction/7"
        );
        let body: serde_json::Value = serde_json::from_str(&waiting.body).unwrap();
        assert_eq!(body["name"], "CHARGE #1001 25.00 EUR (2026-05-02)");
        assert_eq!(body["order_name"], "#1001");
        assert!(body.get("payout_status").is_none(), "{body}");
        let paid = StoredTransaction::new(&transaction(Some("gid://p/1"), false))
            .to_record()
            .unwrap();
        assert_eq!(paid.status, None);
        let test = StoredTransaction::new(&transaction(None, true))
            .to_record()
            .unwrap();
        assert_eq!(test.status, None, "a test transaction is never paid out");
    }

    #[test]
    fn only_a_changed_record_is_written_and_over_the_stored_version() {
        let stored = Record {
            version: 3,
            ..Record::new("a", Some("scheduled"), "{}")
        };
        let mut same = Record::new("a", Some("scheduled"), "{}");
        assert_eq!(compare(Some(&stored), &mut same), Change::Unchanged);
        let mut moved = Record::new("a", Some("paid"), "{}");
        assert_eq!(compare(Some(&stored), &mut moved), Change::Updated);
        assert_eq!(moved.version, 3);
        let mut new = Record::new("b", None, "{}");
        assert_eq!(compare(None, &mut new), Change::New);
        assert_eq!(new.version, 0);
    }
}
