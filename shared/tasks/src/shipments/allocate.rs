//! Which fulfillment-order lines a posted shipment fulfils, and the `fulfillmentCreate` requests that
//! carry them: pure functions, no I/O.
//!
//! **Matching.** API v2.0 shipment lines carry an item number and a quantity, nothing else (no variant
//! code, no link to the order line). The staged order knows which BC item each Shopify order line was
//! mapped to, so a shipped item is matched to the order lines staged with that item number, and its
//! quantity is spread over their open fulfillment-order lines (status neither `CLOSED` nor
//! `CANCELLED`, something remaining), in the order's line order, as the reference allocates over its
//! open fulfillment-order lines. Whatever finds no open line stays unallocated.
//!
//! **Requests.** Shopify takes one location per `fulfillmentCreate` and, here, at most
//! [`MAX_FULFILLMENT_LINES`] line items in one (which also keeps a fulfillment within one page of the
//! probe), so the allocated lines are grouped by location and each group is cut into requests of at
//! most that many lines.

use serde::{Deserialize, Serialize};
use shopsync_domain::orders::{
    FulfillmentOrderLines, FulfillmentRequest, MAX_FULFILLMENT_LINES, ShopifyOrder, Tracking,
};
use shopsync_domain::sales::{Decimal, PostedShipment, to_code};
use std::collections::HashMap;

use crate::orders::mapping::StagedLine;

/// What a shipment shipped of one item: whole units (Shopify counts whole units).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippedItem {
    /// The BC item number, as BC stores it (upper case).
    pub item_no: String,
    pub quantity: i64,
}

/// `q` in whole units, rounded half away from zero; saturates at `i64::MAX` (a quantity that large is
/// limited by what remains to fulfil anyway).
pub fn whole_units(q: &Decimal) -> i64 {
    let text = q.as_str();
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let mut units = int.parse::<i64>().unwrap_or(i64::MAX);
    if frac.as_bytes().first().is_some_and(|d| *d >= b'5') {
        units = units.saturating_add(1);
    }
    if negative { -units } else { units }
}

/// The shipment's item lines with a positive quantity, in whole units summed per item, in the order
/// the items first appear. Empty: nothing a fulfillment could be made of.
pub fn shipped_items(shipment: &PostedShipment) -> Vec<ShippedItem> {
    let mut items: Vec<ShippedItem> = Vec::new();
    for line in shipment.item_lines() {
        let item_no = to_code(&line.item_number);
        let quantity = whole_units(&line.quantity);
        match items.iter_mut().find(|i| i.item_no == item_no) {
            Some(i) => i.quantity = i.quantity.saturating_add(quantity),
            None => items.push(ShippedItem { item_no, quantity }),
        }
    }
    items.retain(|i| i.quantity > 0);
    items
}

/// Units of one fulfillment-order line allocated to a shipment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocated {
    pub fulfillment_order_id: String,
    pub location_id: Option<String>,
    /// The fulfillment-order line.
    pub line_id: String,
    /// The order line it fulfils.
    pub line_item_id: String,
    pub quantity: i64,
}

/// What a shipment's items came to: the allocated lines and what found no open line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Allocation {
    pub lines: Vec<Allocated>,
    pub unallocated: Vec<ShippedItem>,
}

/// Whether a fulfillment order can still be fulfilled from.
fn is_open(status: &str) -> bool {
    !matches!(status, "CLOSED" | "CANCELLED")
}

/// Spread each shipped item over the open fulfillment-order lines of the order lines staged with its
/// item number.
pub fn allocate(items: &[ShippedItem], staged: &[StagedLine], order: &ShopifyOrder) -> Allocation {
    let mut left: HashMap<&str, i64> = HashMap::new();
    let mut allocation = Allocation::default();
    for item in items {
        let mut wanted = item.quantity;
        let order_lines = staged
            .iter()
            .filter(|l| l.item_no.as_deref().map(to_code).as_deref() == Some(&item.item_no));
        for order_line in order_lines {
            for fo in order
                .fulfillment_orders
                .iter()
                .filter(|fo| is_open(&fo.status))
            {
                for line in fo
                    .lines
                    .iter()
                    .filter(|l| l.line_item_id == order_line.line_id)
                {
                    let remaining = left.entry(&line.id).or_insert(line.remaining_quantity);
                    let take = wanted.min(*remaining);
                    if take <= 0 {
                        continue;
                    }
                    *remaining -= take;
                    wanted -= take;
                    allocation.lines.push(Allocated {
                        fulfillment_order_id: fo.id.clone(),
                        location_id: fo.location_id.clone(),
                        line_id: line.id.clone(),
                        line_item_id: line.line_item_id.clone(),
                        quantity: take,
                    });
                }
            }
        }
        if wanted > 0 {
            allocation.unallocated.push(ShippedItem {
                item_no: item.item_no.clone(),
                quantity: wanted,
            });
        }
    }
    allocation
}

/// The allocated lines grouped by location (in the order locations first appear) and, within one,
/// by fulfillment order.
fn by_location(lines: &[Allocated]) -> Vec<Vec<&Allocated>> {
    let mut groups: Vec<(Option<&str>, Vec<&str>, Vec<&Allocated>)> = Vec::new();
    for line in lines {
        let location = line.location_id.as_deref();
        let index = match groups.iter().position(|g| g.0 == location) {
            Some(i) => i,
            None => {
                groups.push((location, Vec::new(), Vec::new()));
                groups.len() - 1
            }
        };
        let group = &mut groups[index];
        if !group.1.contains(&line.fulfillment_order_id.as_str()) {
            group.1.push(&line.fulfillment_order_id);
        }
        group.2.push(line);
    }
    groups
        .into_iter()
        .map(|(_, fos, lines)| {
            let mut ordered = lines;
            ordered.sort_by_key(|l| fos.iter().position(|f| *f == l.fulfillment_order_id));
            ordered
        })
        .collect()
}

/// One `fulfillmentOrderLineItems` list per fulfillment order, consecutive lines of one fulfillment
/// order together.
fn per_fulfillment_order(lines: &[&Allocated]) -> Vec<FulfillmentOrderLines> {
    let mut out: Vec<FulfillmentOrderLines> = Vec::new();
    for line in lines {
        match out.last_mut() {
            Some(last) if last.fulfillment_order_id == line.fulfillment_order_id => {
                last.lines.push((line.line_id.clone(), line.quantity));
            }
            _ => out.push(FulfillmentOrderLines {
                fulfillment_order_id: line.fulfillment_order_id.clone(),
                lines: vec![(line.line_id.clone(), line.quantity)],
            }),
        }
    }
    out
}

/// The `fulfillmentCreate` requests for the allocated lines of order `order_id`: one per location,
/// cut at [`MAX_FULFILLMENT_LINES`] line items.
pub fn requests(
    order_id: &str,
    lines: &[Allocated],
    tracking: Option<&Tracking>,
    notify_customer: bool,
) -> Vec<FulfillmentRequest> {
    by_location(lines)
        .iter()
        .flat_map(|group| group.chunks(MAX_FULFILLMENT_LINES))
        .map(|chunk| FulfillmentRequest {
            order_id: order_id.to_string(),
            fulfillment_orders: per_fulfillment_order(chunk),
            tracking: tracking.cloned(),
            notify_customer,
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use shopsync_domain::orders::{FulfillmentOrder, FulfillmentOrderLine, Money};
    use shopsync_domain::sales::PostedShipmentLine;

    pub(crate) fn staged_line(line_id: &str, item_no: &str) -> StagedLine {
        let zero = Money {
            amount: "0.0".into(),
            currency: "EUR".into(),
        };
        StagedLine {
            line_id: line_id.into(),
            title: line_id.into(),
            sku: Some(item_no.into()),
            item_no: Some(item_no.into()),
            variant_code: None,
            quantity: 1,
            unit_price: zero.clone(),
            discount: zero,
            error: None,
        }
    }

    fn fo(id: &str, status: &str, location: &str, lines: &[(&str, &str, i64)]) -> FulfillmentOrder {
        FulfillmentOrder {
            id: id.into(),
            status: status.into(),
            request_status: "UNSUBMITTED".into(),
            location_id: Some(location.into()),
            lines: lines
                .iter()
                .map(|(id, item, remaining)| FulfillmentOrderLine {
                    id: (*id).into(),
                    line_item_id: (*item).into(),
                    total_quantity: *remaining,
                    remaining_quantity: *remaining,
                })
                .collect(),
        }
    }

    fn order(fos: Vec<FulfillmentOrder>) -> ShopifyOrder {
        let mut o = crate::orders::tests::order(1, "2026-05-01T00:00:00Z");
        o.fulfillment_orders = fos;
        o
    }

    fn item(no: &str, quantity: i64) -> ShippedItem {
        ShippedItem {
            item_no: no.into(),
            quantity,
        }
    }

    fn line(sequence: i64, line_type: &str, item: &str, quantity: &str) -> PostedShipmentLine {
        PostedShipmentLine {
            sequence,
            line_type: line_type.into(),
            item_number: item.into(),
            description: String::new(),
            quantity: Decimal::parse(quantity).unwrap(),
        }
    }

    #[test]
    fn quantities_round_to_whole_units() {
        for (text, units) in [("2", 2), ("1.5", 2), ("1.49", 1), ("0.4", 0), ("-2.5", -3)] {
            assert_eq!(whole_units(&Decimal::parse(text).unwrap()), units, "{text}");
        }
        let huge = Decimal::parse("99999999999999999999999").unwrap();
        assert_eq!(whole_units(&huge), i64::MAX);
    }

    #[test]
    fn shipped_items_are_item_lines_summed_per_item() {
        let shipment = PostedShipment {
            id: "S".into(),
            number: "S-SHPT1".into(),
            order_number: "SO1".into(),
            external_document_number: "#1001".into(),
            customer_number: "C1".into(),
            shipment_date: "2026-05-01".into(),
            modified_ms: 0,
            lines: vec![
                line(1, "Item", "a-1", "2"),
                line(2, "Comment", "", "0"),
                line(3, "Item", "B-2", "1"),
                line(4, "Item", "A-1", "1"),
                line(5, "Item", "C-3", "0.2"),
                line(6, "Account", "6100", "1"),
            ],
        };
        assert_eq!(
            shipped_items(&shipment),
            vec![item("A-1", 3), item("B-2", 1)]
        );
        let comments_only = PostedShipment {
            lines: vec![line(1, "Comment", "", "0"), line(2, "Item", "A-1", "0")],
            ..shipment
        };
        assert!(shipped_items(&comments_only).is_empty());
    }

    #[test]
    fn items_are_spread_over_open_fulfillment_order_lines_of_their_order_lines() {
        let staged = vec![
            staged_line("L1", "ITEM-1"),
            staged_line("L2", "ITEM-2"),
            staged_line("L3", "item-1"),
        ];
        let o = order(vec![
            fo("FO0", "CLOSED", "LOC-A", &[("X1", "L1", 5)]),
            fo("FO1", "OPEN", "LOC-A", &[("F1", "L1", 1), ("F2", "L2", 0)]),
            fo(
                "FO2",
                "IN_PROGRESS",
                "LOC-B",
                &[("F3", "L3", 4), ("F4", "L2", 2)],
            ),
        ]);
        let a = allocate(&[item("ITEM-1", 3), item("ITEM-2", 5)], &staged, &o);
        let got: Vec<(&str, &str, i64)> = a
            .lines
            .iter()
            .map(|l| {
                (
                    l.fulfillment_order_id.as_str(),
                    l.line_id.as_str(),
                    l.quantity,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![("FO1", "F1", 1), ("FO2", "F3", 2), ("FO2", "F4", 2)],
            "closed fulfillment orders and lines with nothing left are passed over"
        );
        assert_eq!(a.unallocated, vec![item("ITEM-2", 3)]);
        assert_eq!(a.lines[1].line_item_id, "L3");
        assert_eq!(a.lines[1].location_id.as_deref(), Some("LOC-B"));
        let none = allocate(&[item("ITEM-9", 1)], &staged, &o);
        assert!(none.lines.is_empty());
        assert_eq!(none.unallocated, vec![item("ITEM-9", 1)]);
    }

    fn allocated(fo: &str, location: &str, n: usize) -> Allocated {
        Allocated {
            fulfillment_order_id: fo.into(),
            location_id: Some(location.into()),
            line_id: format!("{fo}-L{n}"),
            line_item_id: format!("L{n}"),
            quantity: 1,
        }
    }

    #[test]
    fn one_request_per_location_with_its_fulfillment_orders_together() {
        let lines = vec![
            allocated("FO1", "EAST", 1),
            allocated("FO2", "WEST", 2),
            allocated("FO3", "EAST", 3),
            allocated("FO1", "EAST", 4),
        ];
        let tracking = Tracking {
            number: Some("1Z".into()),
            company: Some("UPS".into()),
            url: None,
        };
        let r = requests("O1", &lines, Some(&tracking), true);
        assert_eq!(r.len(), 2);
        let ids = |r: &FulfillmentRequest| -> Vec<(String, usize)> {
            r.fulfillment_orders
                .iter()
                .map(|f| (f.fulfillment_order_id.clone(), f.lines.len()))
                .collect()
        };
        assert_eq!(ids(&r[0]), vec![("FO1".into(), 2), ("FO3".into(), 1)]);
        assert_eq!(ids(&r[1]), vec![("FO2".into(), 1)]);
        assert!(r.iter().all(|r| r.notify_customer && r.order_id == "O1"));
        assert_eq!(r[1].tracking.as_ref(), Some(&tracking));
    }

    #[test]
    fn a_location_with_more_than_250_lines_is_split() {
        let mut lines: Vec<Allocated> = (0..300).map(|n| allocated("FO1", "EAST", n)).collect();
        lines.extend((0..10).map(|n| allocated("FO2", "EAST", 1000 + n)));
        lines.push(allocated("FO3", "WEST", 1));
        let r = requests("O1", &lines, None, false);
        let counts: Vec<usize> = r
            .iter()
            .map(|r| r.fulfillment_orders.iter().map(|f| f.lines.len()).sum())
            .collect();
        assert_eq!(counts, vec![250, 60, 1]);
        assert_eq!(r[1].fulfillment_orders.len(), 2, "FO1's rest, then FO2");
        assert_eq!(r[1].fulfillment_orders[0].fulfillment_order_id, "FO1");
    }
}
