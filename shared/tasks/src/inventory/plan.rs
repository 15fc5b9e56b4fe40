//! From BC availability to the list of Shopify levels that must change.
//!
//! Pure functions, so the rules are tested without any I/O: the quantity a Shopify location should
//! show is BC's availability at the BC location(s) mapped to it, by the location's stock calculation,
//! rounded down, never negative (the reference's rules). Only levels whose value differs from the last
//! value known to be in Shopify are sent; everything else costs nothing.

use shopsync_domain::inventory::{BcAvailability, BcItem, MAX_QUANTITIES_PER_CALL, QuantityChange};
use shopsync_domain::ports::VariantMapping;
use shopsync_domain::settings::{LocationSettings, StockCalculation};
use std::collections::HashMap;

/// BC stock, indexed for lookups by (item, variant, location).
#[derive(Debug, Default)]
pub struct BcStock {
    /// (item_no, variant_code, location_code) → (projected available, free inventory)
    per_location: HashMap<(String, String, String), (f64, f64)>,
    /// item_no → `items.inventory` (total over all locations)
    totals: HashMap<String, f64>,
    per_location_source: bool,
}

impl BcStock {
    /// Stock from `items.inventory`: one total per item, for a single Shopify location.
    pub fn from_items(items: &[BcItem]) -> Self {
        BcStock {
            totals: items
                .iter()
                .map(|i| (i.number.clone(), i.inventory))
                .collect(),
            ..Default::default()
        }
    }

    /// Stock from a per-location availability page.
    pub fn from_availability(rows: &[BcAvailability]) -> Self {
        let mut per_location = HashMap::with_capacity(rows.len());
        for r in rows {
            let e = per_location
                .entry((
                    r.item_no.clone(),
                    r.variant_code.clone(),
                    r.location_code.clone(),
                ))
                .or_insert((0.0, 0.0));
            e.0 += r.projected_available;
            e.1 += r.free_inventory;
        }
        BcStock {
            per_location,
            per_location_source: true,
            ..Default::default()
        }
    }

    /// The quantity a Shopify location should show for one mapped variant.
    pub fn quantity_for(&self, mapping: &VariantMapping, location: &LocationSettings) -> i64 {
        let raw = if self.per_location_source {
            location
                .bc_location_codes
                .iter()
                .map(|code| {
                    let key = (
                        mapping.item_no.clone(),
                        mapping.variant_code.clone(),
                        code.clone(),
                    );
                    let (projected, free) =
                        self.per_location.get(&key).copied().unwrap_or((0.0, 0.0));
                    match location.stock_calculation {
                        StockCalculation::FreeInventory => free,
                        _ => projected,
                    }
                })
                .sum::<f64>()
        } else {
            self.totals.get(&mapping.item_no).copied().unwrap_or(0.0)
        };
        shopify_quantity(raw)
    }
}

/// BC quantities are decimals; Shopify's are whole units: round down, never below zero.
pub fn shopify_quantity(bc: f64) -> i64 {
    if !bc.is_finite() || bc <= 0.0 {
        0
    } else {
        bc.floor().min(1_000_000_000.0) as i64
    }
}

/// The levels to send: desired ≠ last known. Unknown levels are sent with an explicit null
/// `changeFromQuantity` (a plain set); known ones carry the known value as compare-and-swap.
pub fn diff(
    mappings: &[VariantMapping],
    locations: &[&LocationSettings],
    stock: &BcStock,
    known: &super::state::KnownLevels,
) -> (Vec<QuantityChange>, usize) {
    let mut changes = Vec::new();
    let mut checked = 0;
    for m in mappings {
        for loc in locations {
            checked += 1;
            let want = stock.quantity_for(m, loc);
            let current = known.get(&m.inventory_item_id, &loc.shopify_location_id);
            if current != Some(want) {
                changes.push(QuantityChange {
                    inventory_item_id: m.inventory_item_id.clone(),
                    location_id: loc.shopify_location_id.clone(),
                    quantity: want,
                    change_from_quantity: current,
                });
            }
        }
    }
    // Stable order: the same inputs always make the same batches.
    changes.sort_by(|a, b| {
        (&a.location_id, &a.inventory_item_id).cmp(&(&b.location_id, &b.inventory_item_id))
    });
    (changes, checked)
}

/// Split changes into calls of at most 250 rows.
pub fn batches(changes: Vec<QuantityChange>) -> Vec<Vec<QuantityChange>> {
    let mut out = Vec::with_capacity(changes.len().div_ceil(MAX_QUANTITIES_PER_CALL));
    let mut it = changes.into_iter().peekable();
    while it.peek().is_some() {
        out.push(it.by_ref().take(MAX_QUANTITIES_PER_CALL).collect());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc(id: &str, codes: &[&str], calc: StockCalculation) -> LocationSettings {
        LocationSettings {
            shopify_location_id: id.into(),
            name: None,
            stock_calculation: calc,
            bc_location_codes: codes.iter().map(|c| c.to_string()).collect(),
        }
    }

    fn mapping(n: usize) -> VariantMapping {
        VariantMapping {
            variant_id: format!("gid://shopify/ProductVariant/{n}"),
            inventory_item_id: format!("gid://shopify/InventoryItem/{n}"),
            item_no: format!("ITEM{n}"),
            variant_code: String::new(),
        }
    }

    fn avail(item: &str, loc: &str, projected: f64, free: f64) -> BcAvailability {
        BcAvailability {
            item_no: item.into(),
            variant_code: String::new(),
            location_code: loc.into(),
            projected_available: projected,
            free_inventory: free,
        }
    }

    #[test]
    fn quantities_round_down_and_never_go_negative() {
        assert_eq!(shopify_quantity(4.99), 4);
        assert_eq!(shopify_quantity(-3.0), 0);
        assert_eq!(shopify_quantity(f64::NAN), 0);
        assert_eq!(shopify_quantity(0.0), 0);
    }

    #[test]
    fn per_location_stock_sums_the_mapped_bc_locations_by_calculation() {
        let stock = BcStock::from_availability(&[
            avail("ITEM1", "EAST", 5.0, 3.0),
            avail("ITEM1", "NORTH", 2.5, 2.0),
            avail("ITEM1", "WEST", 9.0, 9.0),
        ]);
        let east_north = loc(
            "gid://shopify/Location/1",
            &["EAST", "NORTH"],
            StockCalculation::ProjectedAvailableBalance,
        );
        let free = loc(
            "gid://shopify/Location/1",
            &["EAST", "NORTH"],
            StockCalculation::FreeInventory,
        );
        assert_eq!(stock.quantity_for(&mapping(1), &east_north), 7);
        assert_eq!(stock.quantity_for(&mapping(1), &free), 5);
        assert_eq!(
            stock.quantity_for(&mapping(2), &east_north),
            0,
            "no BC row = nothing available"
        );
    }

    #[test]
    fn only_changed_levels_are_sent_with_the_known_value_as_change_from() {
        let stock = BcStock::from_items(&[
            BcItem {
                number: "ITEM1".into(),
                gtin: None,
                item_type: shopsync_domain::inventory::BcItemType::Inventory,
                blocked: false,
                inventory: 5.0,
            },
            BcItem {
                number: "ITEM2".into(),
                gtin: None,
                item_type: shopsync_domain::inventory::BcItemType::Inventory,
                blocked: false,
                inventory: 7.0,
            },
        ]);
        let l = loc(
            "gid://shopify/Location/1",
            &[],
            StockCalculation::ProjectedAvailableBalance,
        );
        let level = |n: usize, available| shopsync_domain::inventory::InventoryLevel {
            inventory_item_id: mapping(n).inventory_item_id,
            location_id: l.shopify_location_id.clone(),
            available,
        };
        let known = super::super::state::KnownLevels::from_levels(&[level(1, 5), level(2, 6)]);
        let (changes, checked) = diff(&[mapping(1), mapping(2), mapping(3)], &[&l], &stock, &known);
        assert_eq!(checked, 3);
        assert_eq!(changes.len(), 2);
        assert_eq!(
            (changes[0].quantity, changes[0].change_from_quantity),
            (7, Some(6))
        );
        assert_eq!(
            (changes[1].quantity, changes[1].change_from_quantity),
            (0, None)
        );
    }

    #[test]
    fn batches_hold_at_most_250_rows() {
        let rows: Vec<_> = (0..501)
            .map(|i| QuantityChange {
                inventory_item_id: format!("{i}"),
                location_id: "l".into(),
                quantity: 1,
                change_from_quantity: None,
            })
            .collect();
        let b = batches(rows);
        assert_eq!(
            b.iter().map(Vec::len).collect::<Vec<_>>(),
            vec![250, 250, 1]
        );
        assert!(batches(Vec::new()).is_empty());
    }
}
