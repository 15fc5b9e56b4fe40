//! Finding a fulfillment whose `fulfillmentCreate` answer was lost, and the claims that keep one
//! fulfillment from being taken for two requests.
//!
//! Shopify offers no idempotency key for `fulfillmentCreate`, so "did it happen?" is answered by
//! looking: a fulfillment of the order, not cancelled, created after the request was first planned
//! (less [`CLOCK_MARGIN_SECS`] for the clocks of Shopify and the run), whose quantities per order line
//! are exactly the request's ([`shopsync_domain::orders::FulfillmentRequest::expected_lines`],
//! resolved when it was planned and carried in the effect), and that no other request claimed.
//!
//! **Claims.** Two shipments of one order can ask for the same quantities (one unit of an item each):
//! both requests then match both fulfillments. So every fulfillment a request comes to (created or
//! found) is claimed in one record per order ([`CLAIMS`], id: the order GID, body [`Claims`]) before
//! the shipment record is written, and a claimed fulfillment matches only the request that claimed
//! it. Of several candidates, the request's own claim comes first, then the oldest.

use crate::engine::TaskRun;
use serde::{Deserialize, Serialize};
use shopsync_domain::SyncError;
use shopsync_domain::orders::ShopifyFulfillment;
use shopsync_domain::ports::{Record, Result};
use shopsync_domain::text::preview;
use std::collections::BTreeMap;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Record kind of the claims: one record per Shopify order (id: the order GID).
pub const CLAIMS: &str = "shipment-fulfillments";
/// How much earlier than the plan a fulfillment may say it was created and still be the request's.
pub const CLOCK_MARGIN_SECS: i64 = 120;

/// Which request each fulfillment of one order was taken for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Fulfillment GID → [`claimant`].
    #[serde(default)]
    pub fulfillments: BTreeMap<String, String>,
}

/// Who claims: request `index` of shipment `shipment_id`.
pub fn claimant(shipment_id: &str, index: usize) -> String {
    format!("{shipment_id}#{index}")
}

fn created_secs(at: &str) -> Option<i64> {
    OffsetDateTime::parse(at, &Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

/// The fulfillment that request `me` (planned at `since`, epoch seconds, for `expected` quantities
/// per order line) came to, if any.
pub fn find_match<'a>(
    fulfillments: &'a [ShopifyFulfillment],
    expected: &BTreeMap<String, i64>,
    since: i64,
    claims: &Claims,
    me: &str,
) -> Option<&'a ShopifyFulfillment> {
    fulfillments
        .iter()
        .filter(|f| f.status != "CANCELLED")
        .filter(|f| claims.fulfillments.get(&f.id).is_none_or(|c| c == me))
        .filter_map(|f| created_secs(&f.created_at).map(|t| (t, f)))
        .filter(|(t, f)| *t >= since - CLOCK_MARGIN_SECS && f.lines() == *expected)
        .min_by_key(|(t, f)| (!claims.fulfillments.contains_key(&f.id), *t, f.id.clone()))
        .map(|(_, f)| f)
}

/// The claims of order `order_id` and the version to write them over (0: none yet).
pub async fn read_claims(run: &TaskRun<'_>, order_id: &str) -> Result<(Claims, u64)> {
    let Some(record) = run
        .stores
        .records
        .get_record(run.shop(), CLAIMS, order_id)
        .await?
    else {
        return Ok((Claims::default(), 0));
    };
    let claims = serde_json::from_str(&record.body).map_err(|e| {
        SyncError::Internal(format!(
            "fulfillment claims of order {} are unreadable: {e}",
            preview(order_id)
        ))
    })?;
    Ok((claims, record.version))
}

/// Claim `fulfillment_id` of order `order_id` for `me` (compare-and-swap; idempotent). A fulfillment
/// claimed by another request is an error: the probe never offers one.
pub async fn claim(
    run: &TaskRun<'_>,
    order_id: &str,
    fulfillment_id: &str,
    me: &str,
) -> Result<()> {
    for _ in 0..3 {
        let (mut claims, version) = read_claims(run, order_id).await?;
        match claims.fulfillments.get(fulfillment_id) {
            Some(c) if c == me => return Ok(()),
            Some(c) => {
                return Err(SyncError::Internal(format!(
                    "fulfillment {} is claimed by {} and {}",
                    preview(fulfillment_id),
                    preview(c),
                    preview(me)
                )));
            }
            None => {}
        }
        claims
            .fulfillments
            .insert(fulfillment_id.to_string(), me.to_string());
        let body = serde_json::to_string(&claims)
            .map_err(|e| SyncError::Internal(format!("serialising: {e}")))?;
        let record = Record {
            version,
            ..Record::new(order_id, None, body)
        };
        if run
            .stores
            .records
            .put_record_if(run.shop(), CLAIMS, &record)
            .await?
        {
            return Ok(());
        }
    }
    Err(SyncError::Conflict(format!(
        "the fulfillment claims of order {} kept changing",
        preview(order_id)
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use shopsync_domain::orders::FulfilledLine;

    const SINCE: i64 = 1_777_000_000;

    fn at(secs: i64) -> String {
        OffsetDateTime::from_unix_timestamp(secs)
            .unwrap()
            .format(&Rfc3339)
            .unwrap()
    }

    fn fulfillment(
        id: &str,
        status: &str,
        created: i64,
        lines: &[(&str, i64)],
    ) -> ShopifyFulfillment {
        ShopifyFulfillment {
            id: id.into(),
            status: status.into(),
            created_at: at(created),
            tracking: Vec::new(),
            lines: lines
                .iter()
                .map(|(l, q)| FulfilledLine {
                    line_item_id: (*l).into(),
                    quantity: *q,
                })
                .collect(),
        }
    }

    fn expected(lines: &[(&str, i64)]) -> BTreeMap<String, i64> {
        lines.iter().map(|(l, q)| ((*l).to_string(), *q)).collect()
    }

    #[test]
    fn the_match_has_the_same_quantities_and_came_after_the_plan() {
        let want = expected(&[("L1", 2), ("L2", 1)]);
        let found = |fs: &[ShopifyFulfillment]| {
            find_match(fs, &want, SINCE, &Claims::default(), "S#0").map(|f| f.id.clone())
        };
        let ok = fulfillment(
            "F1",
            "SUCCESS",
            SINCE + 3,
            &[("L1", 1), ("L2", 1), ("L1", 1)],
        );
        assert_eq!(
            found(std::slice::from_ref(&ok)).as_deref(),
            Some("F1"),
            "lines are summed per order line"
        );
        for other in [
            fulfillment("F2", "SUCCESS", SINCE + 3, &[("L1", 2)]),
            fulfillment("F3", "SUCCESS", SINCE + 3, &[("L1", 2), ("L2", 2)]),
            fulfillment("F4", "CANCELLED", SINCE + 3, &[("L1", 2), ("L2", 1)]),
            fulfillment("F5", "SUCCESS", SINCE - 600, &[("L1", 2), ("L2", 1)]),
            ShopifyFulfillment {
                created_at: "yesterday".into(),
                ..ok.clone()
            },
        ] {
            assert_eq!(found(std::slice::from_ref(&other)), None, "{other:?}");
        }
        let skewed = fulfillment("F6", "SUCCESS", SINCE - 30, &[("L1", 2), ("L2", 1)]);
        assert_eq!(
            found(&[skewed]).as_deref(),
            Some("F6"),
            "within the clock margin"
        );
    }

    #[test]
    fn a_fulfillment_claimed_by_another_request_is_not_taken() {
        let want = expected(&[("L1", 1)]);
        let fs = vec![
            fulfillment("F1", "SUCCESS", SINCE + 1, &[("L1", 1)]),
            fulfillment("F2", "SUCCESS", SINCE + 2, &[("L1", 1)]),
        ];
        let mut claims = Claims::default();
        let pick = |claims: &Claims, me: &str| {
            find_match(&fs, &want, SINCE, claims, me).map(|f| f.id.clone())
        };
        assert_eq!(
            pick(&claims, "S2#0").as_deref(),
            Some("F1"),
            "the oldest first"
        );
        claims.fulfillments.insert("F1".into(), "S1#0".into());
        assert_eq!(pick(&claims, "S2#0").as_deref(), Some("F2"));
        claims.fulfillments.insert("F2".into(), "S2#0".into());
        assert_eq!(
            pick(&claims, "S2#0").as_deref(),
            Some("F2"),
            "its own claim"
        );
        assert_eq!(pick(&claims, "S3#0"), None);
    }
}
