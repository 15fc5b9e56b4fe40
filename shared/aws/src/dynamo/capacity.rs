//! DynamoDB's documented rule for read capacity, used by the read meter when the service reports no
//! `ConsumedCapacity` (or when asked to compute it, e.g. against moto, whose figures are constants).
//!
//! - An item's size is the sum, over its attributes, of the attribute name's UTF-8 bytes and the
//!   value's size: a string its UTF-8 bytes, binary its bytes, a number about one byte per two
//!   significant digits plus one, a boolean or null one byte, a list or map 3 bytes plus one byte
//!   per element plus the elements (map keys count as names), a set the sum of its elements.
//! - `GetItem` (and each item of a `BatchGetItem`) rounds the item's size up to 4 KB; a missing item
//!   still costs one 4 KB block.
//! - A `Query` page sums the sizes of the items it read and rounds the sum up to 4 KB, at least
//!   one block.
//! - A strongly consistent block costs 1 read unit, an eventually consistent one 0.5 (index
//!   queries are always eventually consistent).
//!
//! Computed figures are a lower bound where DynamoDB reads more than it returns: a projection or a
//! `Select=COUNT` (whose items are not returned, so a computed count page costs one block) and a
//! filter (the filtered-out items were read too).

use super::Item;
use aws_sdk_dynamodb::types::AttributeValue;

/// DynamoDB's unit of read size.
pub(crate) const READ_BLOCK: usize = 4096;

/// The size of an item as DynamoDB counts it.
pub(crate) fn item_size(item: &Item) -> usize {
    item.iter()
        .map(|(name, value)| name.len() + value_size(value))
        .sum()
}

fn value_size(value: &AttributeValue) -> usize {
    match value {
        AttributeValue::S(s) => s.len(),
        AttributeValue::N(n) => number_size(n),
        AttributeValue::B(b) => b.as_ref().len(),
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::Ss(v) => v.iter().map(String::len).sum(),
        AttributeValue::Ns(v) => v.iter().map(|n| number_size(n)).sum(),
        AttributeValue::Bs(v) => v.iter().map(|b| b.as_ref().len()).sum(),
        AttributeValue::L(v) => 3 + v.iter().map(|e| 1 + value_size(e)).sum::<usize>(),
        AttributeValue::M(m) => {
            3 + m
                .iter()
                .map(|(k, e)| 1 + k.len() + value_size(e))
                .sum::<usize>()
        }
        _ => 0,
    }
}

/// One byte per two significant digits (leading and trailing zeroes trimmed), plus one.
fn number_size(n: &str) -> usize {
    let mantissa = n.split(['e', 'E']).next().unwrap_or("");
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let significant = digits.trim_start_matches('0').trim_end_matches('0').len();
    significant.div_ceil(2) + 1
}

fn units(bytes: usize, consistent: bool) -> f64 {
    let blocks = bytes.div_ceil(READ_BLOCK).max(1) as f64;
    if consistent { blocks } else { blocks / 2.0 }
}

/// Units of one `GetItem` (or one key of a `BatchGetItem`) that found `item` (`None`: nothing).
pub(crate) fn get_units(item: Option<&Item>, consistent: bool) -> f64 {
    units(item.map(item_size).unwrap_or(0), consistent)
}

/// Units of one `Query` page whose items weigh `bytes` together.
pub(crate) fn query_units(bytes: usize, consistent: bool) -> f64 {
    units(bytes, consistent)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn s(v: &str) -> AttributeValue {
        AttributeValue::S(v.into())
    }

    #[test]
    fn item_sizes_count_names_and_values() {
        let item: Item = HashMap::from([
            ("pk".to_string(), s("SHOP#A")),                      // 2 + 6
            ("n".to_string(), AttributeValue::N("12345".into())), // 1 + 3 + 1
            ("b".to_string(), AttributeValue::Bool(true)),        // 1 + 1
            ("l".to_string(), AttributeValue::L(vec![s("ab")])),  // 1 + 3 + 1 + 2
        ]);
        assert_eq!(item_size(&item), 8 + 5 + 2 + 7);
        assert_eq!(number_size("0"), 1);
        assert_eq!(number_size("-1200"), 2, "trailing zeroes trimmed");
        assert_eq!(number_size("0.0012"), 2, "leading zeroes trimmed");
        assert_eq!(number_size("123456789"), 6);
    }

    #[test]
    fn reads_round_up_to_4_kb_and_eventual_consistency_halves_them() {
        let big = |bytes: usize| -> Item {
            HashMap::from([("body".to_string(), s(&"x".repeat(bytes - 4)))])
        };
        assert_eq!(get_units(None, true), 1.0, "a miss costs a block");
        assert_eq!(get_units(Some(&big(4096)), true), 1.0);
        assert_eq!(get_units(Some(&big(4097)), true), 2.0);
        assert_eq!(get_units(Some(&big(4097)), false), 1.0);
        assert_eq!(
            query_units(0, false),
            0.5,
            "an empty page still costs a block"
        );
        // A page sums its items before rounding: 3 × 3000 bytes is 3 blocks, not 3 × 1.
        assert_eq!(query_units(3 * item_size(&big(3000)), true), 3.0);
    }
}
