//! Matching Shopify variants to BC items: first by the catalogue mirror's link (a product
//! sync-products exported or imported: the mirror knows each variant's item and variant code, where
//! a SKU may not tell them apart), else by SKU, per the shop's `sku_mapping` (the reference's "SKU
//! Mapping" field). A variant matches when its SKU (or barcode, for `bar_code`) equals the BC key
//! exactly; there is no fuzzy or case-folded matching, so a near-miss never maps to the wrong item.

use crate::catalogue::VariantLink;
use shopsync_domain::inventory::{BcItem, BcItemType, ShopifyVariant};
use shopsync_domain::ports::VariantMapping;
use shopsync_domain::sales::to_code;
use shopsync_domain::settings::{ShopSettings, SkuMapping};
use std::collections::HashMap;

/// Why a variant could not be mapped; becomes a skipped record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmapped {
    pub variant_id: String,
    pub reason: String,
}

/// Result of mapping a catalogue.
#[derive(Debug, Default)]
pub struct MappingResult {
    pub mapped: Vec<VariantMapping>,
    pub unmapped: Vec<Unmapped>,
    /// Variants Shopify does not track inventory for: not synced, not an error.
    pub untracked: usize,
}

/// Map every variant to a BC item (and variant code): by its mirror link in `links` (by variant
/// GID) when the linked item is in `items`, else by the shop's SKU mapping.
pub fn map_variants(
    settings: &ShopSettings,
    variants: &[ShopifyVariant],
    items: &[BcItem],
    links: &HashMap<String, VariantLink>,
) -> MappingResult {
    let by_number: HashMap<&str, &BcItem> = items.iter().map(|i| (i.number.as_str(), i)).collect();
    let by_code: HashMap<String, &BcItem> = if links.is_empty() {
        HashMap::new()
    } else {
        items.iter().map(|i| (to_code(&i.number), i)).collect()
    };
    let by_gtin: HashMap<&str, &BcItem> = items
        .iter()
        .filter_map(|i| i.gtin.as_deref().filter(|g| !g.is_empty()).map(|g| (g, i)))
        .collect();
    let mut result = MappingResult::default();
    for v in variants {
        if !v.tracked {
            result.untracked += 1;
            continue;
        }
        let sku = v.sku.as_deref().map(str::trim).unwrap_or("");
        let linked = links.get(&v.variant_id).and_then(|l| {
            let item = by_code.get(&to_code(&l.item_no))?;
            Some((item, l.variant_code.clone().unwrap_or_default()))
        });
        let (item, variant_code): (Option<&&BcItem>, String) = match linked {
            Some((item, code)) => (Some(item), code),
            None => sku_match(settings, v, sku, &by_number, &by_gtin),
        };
        match item {
            Some(i) if i.item_type == BcItemType::Inventory && !i.blocked => {
                result.mapped.push(VariantMapping {
                    variant_id: v.variant_id.clone(),
                    inventory_item_id: v.inventory_item_id.clone(),
                    item_no: i.number.clone(),
                    variant_code,
                })
            }
            Some(i) => {
                let reason = if i.blocked {
                    format!("BC item {} is blocked", i.number)
                } else {
                    format!(
                        "BC item {} is a {:?} item and has no stock",
                        i.number, i.item_type
                    )
                };
                result.unmapped.push(Unmapped {
                    variant_id: v.variant_id.clone(),
                    reason,
                });
            }
            None => {
                let reason = if sku.is_empty() && settings.sku_mapping != SkuMapping::BarCode {
                    "variant has no SKU".to_string()
                } else {
                    format!(
                        "no BC item matches {} '{}'",
                        key_name(settings.sku_mapping),
                        key_value(settings, v)
                    )
                };
                result.unmapped.push(Unmapped {
                    variant_id: v.variant_id.clone(),
                    reason,
                });
            }
        }
    }
    result
}

/// The BC item (and variant code) the variant's SKU or barcode names per `sku_mapping`.
fn sku_match<'a, 'b>(
    settings: &ShopSettings,
    v: &ShopifyVariant,
    sku: &str,
    by_number: &'b HashMap<&str, &'a BcItem>,
    by_gtin: &'b HashMap<&str, &'a BcItem>,
) -> (Option<&'b &'a BcItem>, String) {
    match settings.sku_mapping {
        SkuMapping::ItemNo => (by_number.get(sku), String::new()),
        SkuMapping::BarCode => {
            let code = v.barcode.as_deref().map(str::trim).unwrap_or("");
            (by_gtin.get(code), String::new())
        }
        SkuMapping::ItemNoPlusVariantCode => {
            let sep = settings.sku_field_separator.as_str();
            match sku.split_once(sep) {
                Some((no, code)) => (by_number.get(no), code.to_string()),
                None => (by_number.get(sku), String::new()),
            }
        }
        // A variant code alone does not name an item; it is matched inside the availability rows
        // of the item whose number is the SKU's item part, which needs the item number as well.
        SkuMapping::VariantCode | SkuMapping::VendorItemNo | SkuMapping::None => {
            (None, String::new())
        }
    }
}

fn key_name(mapping: SkuMapping) -> &'static str {
    match mapping {
        SkuMapping::BarCode => "barcode",
        _ => "SKU",
    }
}

fn key_value<'a>(settings: &ShopSettings, v: &'a ShopifyVariant) -> &'a str {
    match settings.sku_mapping {
        SkuMapping::BarCode => v.barcode.as_deref().unwrap_or(""),
        _ => v.sku.as_deref().unwrap_or(""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(mapping: &str) -> ShopSettings {
        ShopSettings::from_json(
            &serde_json::json!({
                "code": "T", "sku_mapping": mapping,
                "shopify": {"store_domain": "t.myshopify.com", "access_token_secret_id": "shopsync/T/shopify"},
                "bc": {"tenant": "t", "environment": "e", "company_id": "5d5d2b5a-6a47-4d36-9a55-4f4c0f0e1a01", "credentials_secret_id": "shopsync/T/bc"}
            })
            .to_string(),
        )
        .unwrap()
    }

    fn variant(n: u32, sku: Option<&str>, barcode: Option<&str>, tracked: bool) -> ShopifyVariant {
        ShopifyVariant {
            variant_id: format!("gid://shopify/ProductVariant/{n}"),
            product_id: "gid://shopify/Product/1".into(),
            sku: sku.map(String::from),
            barcode: barcode.map(String::from),
            inventory_item_id: format!("gid://shopify/InventoryItem/{n}"),
            tracked,
        }
    }

    fn item(number: &str, gtin: Option<&str>, item_type: BcItemType, blocked: bool) -> BcItem {
        BcItem {
            number: number.into(),
            gtin: gtin.map(String::from),
            item_type,
            blocked,
            inventory: 1.0,
        }
    }

    #[test]
    fn skus_match_item_numbers_exactly_and_every_miss_has_a_reason() {
        let items = [
            item("1000", None, BcItemType::Inventory, false),
            item("1001", None, BcItemType::Service, false),
            item("1002", None, BcItemType::Inventory, true),
        ];
        let variants = [
            variant(1, Some("1000"), None, true),
            variant(2, Some("1000-X"), None, true),
            variant(3, Some("1001"), None, true),
            variant(4, Some("1002"), None, true),
            variant(5, None, None, true),
            variant(6, Some("1000"), None, false),
        ];
        let r = map_variants(&settings("item_no"), &variants, &items, &HashMap::new());
        assert_eq!(r.mapped.len(), 1);
        assert_eq!(r.mapped[0].item_no, "1000");
        assert_eq!(r.untracked, 1);
        let reasons: Vec<&str> = r.unmapped.iter().map(|u| u.reason.as_str()).collect();
        assert_eq!(reasons[0], "no BC item matches SKU '1000-X'");
        assert!(reasons[1].contains("Service"));
        assert!(reasons[2].contains("blocked"));
        assert_eq!(reasons[3], "variant has no SKU");
    }

    #[test]
    fn barcodes_and_item_plus_variant_codes_map_by_their_own_rules() {
        let items = [item(
            "1000",
            Some("5012345678900"),
            BcItemType::Inventory,
            false,
        )];
        let r = map_variants(
            &settings("bar_code"),
            &[variant(1, Some("x"), Some("5012345678900"), true)],
            &items,
            &HashMap::new(),
        );
        assert_eq!(r.mapped[0].item_no, "1000");
        let r = map_variants(
            &settings("item_no_plus_variant_code"),
            &[variant(1, Some("1000|RED"), None, true)],
            &items,
            &HashMap::new(),
        );
        assert_eq!(
            (
                r.mapped[0].item_no.as_str(),
                r.mapped[0].variant_code.as_str()
            ),
            ("1000", "RED")
        );
    }

    #[test]
    fn a_mirror_link_names_the_variant_code_a_shared_sku_cannot() {
        // sync-products exported item 1000's RED and BLUE with the item number as every SKU
        // (`sku_mapping: item_no`): only the mirror tells them apart. A link to an item BC does not
        // list (deleted) falls back to the SKU; an unlinked variant maps by SKU as before.
        let items = [
            item("1000", None, BcItemType::Inventory, false),
            item("2000", None, BcItemType::Inventory, false),
        ];
        let link = |item_no: &str, code: Option<&str>| VariantLink {
            item_no: item_no.into(),
            variant_code: code.map(String::from),
        };
        let links = HashMap::from([
            (
                variant(1, None, None, true).variant_id,
                link("1000", Some("RED")),
            ),
            (
                variant(2, None, None, true).variant_id,
                link("1000", Some("BLUE")),
            ),
            (variant(3, None, None, true).variant_id, link("GONE", None)),
        ]);
        let variants = [
            variant(1, Some("1000"), None, true),
            variant(2, Some("1000"), None, true),
            variant(3, Some("2000"), None, true),
            variant(4, Some("2000"), None, true),
        ];
        let r = map_variants(&settings("item_no"), &variants, &items, &links);
        let mapped: Vec<(&str, &str)> = r
            .mapped
            .iter()
            .map(|m| (m.item_no.as_str(), m.variant_code.as_str()))
            .collect();
        assert_eq!(
            mapped,
            [
                ("1000", "RED"),
                ("1000", "BLUE"),
                ("2000", ""),
                ("2000", "")
            ]
        );
        assert!(r.unmapped.is_empty());
    }
}
