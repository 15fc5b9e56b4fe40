//! The inventory task's sync state, packed into a few hundred records of the generic record store.
//!
//! A large shop has 50,000 variants at two locations: 150,000 mappings and known levels. Kept one item
//! each, an incremental run read all of them (strongly consistent, about 150,000 items) to find the 1 %
//! that changed. Here they are packed:
//!
//! - **Mappings** (`inventory-mappings`) and **known levels** (`inventory-levels`) are hashed by variant
//!   (resp. inventory item) into [`BUCKETS`] buckets each, one record per bucket. The ids inside a
//!   bucket share a common prefix (Shopify GIDs: `gid://shopify/InventoryItem/`), stored once, so a
//!   level costs about 20 bytes. Loading the whole state is at most `2 × BUCKETS` records and, for
//!   the large shop, about 5 MB: ~1,200 strongly consistent read units instead of ~150,000 items.
//!   GIDs stay opaque: the prefix is whatever the ids of a bucket have in common, not a parsed form.
//! - **Level changes** made by a run are not merged into the buckets one call at a time (each call of
//!   250 levels would rewrite most buckets). Settling a call appends one small change record
//!   (`inventory-level-changes`); loading applies them, in order, over the buckets; the run's last
//!   planning step folds them into the buckets and deletes them. A crash before that only leaves them
//!   for the next run to fold.
//! - Full runs replace mappings and levels wholesale; buckets left empty are deleted.
//!
//! Every write goes through the run's fenced stores, so a run taken over writes no state.

use serde::{Deserialize, Serialize};
use shopsync_domain::SyncError;
use shopsync_domain::inventory::InventoryLevel;
use shopsync_domain::ports::{Record, RecordStore, Result, VariantMapping};
use std::collections::{BTreeMap, HashMap};

pub const MAPPINGS: &str = "inventory-mappings";
pub const LEVELS: &str = "inventory-levels";
pub const LEVEL_CHANGES: &str = "inventory-level-changes";

/// Buckets per kind: small shops have fewer records (only non-empty buckets exist); for the 50,000 ×
/// 2 shop a levels bucket is ~16 KB, far below DynamoDB's 400 KB item limit, which is reached only at
/// about 2 million levels.
pub const BUCKETS: u64 = 128;
/// Records per listing page.
const PAGE: usize = 1000;

/// The last `available` known to be in Shopify, per location and inventory item.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct KnownLevels {
    by_location: HashMap<String, HashMap<String, i64>>,
}

impl KnownLevels {
    pub fn get(&self, inventory_item_id: &str, location_id: &str) -> Option<i64> {
        self.by_location
            .get(location_id)
            .and_then(|items| items.get(inventory_item_id))
            .copied()
    }

    pub fn set(&mut self, level: &InventoryLevel) {
        self.by_location
            .entry(level.location_id.clone())
            .or_default()
            .insert(level.inventory_item_id.clone(), level.available);
    }

    pub fn len(&self) -> usize {
        self.by_location.values().map(HashMap::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn from_levels<'a>(levels: impl IntoIterator<Item = &'a InventoryLevel>) -> Self {
        let mut known = KnownLevels::default();
        for level in levels {
            known.set(level);
        }
        known
    }
}

/// FNV-1a: a hash that is the same in every process and release (std's is randomly seeded).
fn bucket_of(id: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in id.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash % BUCKETS
}

fn bucket_id(bucket: u64) -> String {
    format!("b{bucket:03}")
}

fn common_prefix<'a>(mut ids: impl Iterator<Item = &'a str>) -> String {
    let Some(first) = ids.next() else {
        return String::new();
    };
    let mut len = first.len();
    for id in ids {
        len = first
            .bytes()
            .zip(id.bytes())
            .take(len)
            .take_while(|(a, b)| a == b)
            .count();
    }
    while !first.is_char_boundary(len) {
        len -= 1;
    }
    first[..len].to_string()
}

/// Levels as stored: per location, `[id suffix, level]` pairs after the common id prefix `p`.
#[derive(Debug, Default, Serialize, Deserialize)]
struct PackedLevels {
    p: String,
    l: BTreeMap<String, Vec<(String, i64)>>,
}

impl PackedLevels {
    fn pack(levels: &[&InventoryLevel]) -> Self {
        let p = common_prefix(levels.iter().map(|l| l.inventory_item_id.as_str()));
        let mut l: BTreeMap<String, Vec<(String, i64)>> = BTreeMap::new();
        for level in levels {
            l.entry(level.location_id.clone()).or_default().push((
                level.inventory_item_id[p.len()..].to_string(),
                level.available,
            ));
        }
        for rows in l.values_mut() {
            rows.sort();
        }
        PackedLevels { p, l }
    }

    fn unpack_into(self, known: &mut KnownLevels) {
        for (location, rows) in self.l {
            let items = known.by_location.entry(location).or_default();
            for (suffix, level) in rows {
                items.insert(format!("{}{suffix}", self.p), level);
            }
        }
    }
}

/// Mappings as stored: `[variant suffix, inventory item suffix, item no, variant code]` after the
/// common prefixes `v` and `i`.
#[derive(Debug, Default, Serialize, Deserialize)]
struct PackedMappings {
    v: String,
    i: String,
    m: Vec<(String, String, String, String)>,
}

fn to_json<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value)
        .map_err(|e| SyncError::Internal(format!("packing inventory state: {e}")))
}

fn from_json<'a, T: Deserialize<'a>>(record: &'a Record, kind: &str) -> Result<T> {
    serde_json::from_str(&record.body).map_err(|e| {
        SyncError::Storage(format!(
            "unreadable {kind} record {}: {e}",
            shopsync_domain::text::preview(&record.id)
        ))
    })
}

/// The inventory state of one shop, on a record store (the run's fenced one).
pub struct InventoryState<'a> {
    pub records: &'a dyn RecordStore,
    pub shop: &'a str,
}

impl InventoryState<'_> {
    async fn all(&self, kind: &str) -> Result<Vec<Record>> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = self
                .records
                .list_records(self.shop, kind, after.as_deref(), PAGE)
                .await?;
            out.extend(page.records);
            match page.next_after {
                Some(next) => after = Some(next),
                None => return Ok(out),
            }
        }
    }

    /// Write the given buckets and delete every other bucket of `kind` that exists.
    async fn replace_buckets(&self, kind: &str, buckets: Vec<Record>) -> Result<()> {
        let keep: std::collections::HashSet<&str> = buckets.iter().map(|r| r.id.as_str()).collect();
        let gone: Vec<String> = self
            .all(kind)
            .await?
            .into_iter()
            .map(|r| r.id)
            .filter(|id| !keep.contains(id.as_str()))
            .collect();
        self.records.put_records(self.shop, kind, &buckets).await?;
        if !gone.is_empty() {
            self.records.delete_records(self.shop, kind, &gone).await?;
        }
        Ok(())
    }

    pub async fn load_mappings(&self) -> Result<Vec<VariantMapping>> {
        let mut out = Vec::new();
        for record in self.all(MAPPINGS).await? {
            let packed: PackedMappings = from_json(&record, MAPPINGS)?;
            out.extend(
                packed
                    .m
                    .into_iter()
                    .map(|(v, i, item_no, variant_code)| VariantMapping {
                        variant_id: format!("{}{v}", packed.v),
                        inventory_item_id: format!("{}{i}", packed.i),
                        item_no,
                        variant_code,
                    }),
            );
        }
        out.sort_by(|a, b| a.variant_id.cmp(&b.variant_id));
        Ok(out)
    }

    /// Replace the shop's mappings with `mappings` (a full mapping of the catalogue).
    pub async fn replace_mappings(&self, mappings: &[VariantMapping]) -> Result<()> {
        let mut buckets: BTreeMap<u64, Vec<&VariantMapping>> = BTreeMap::new();
        for m in mappings {
            buckets.entry(bucket_of(&m.variant_id)).or_default().push(m);
        }
        let records = buckets
            .into_iter()
            .map(|(bucket, mut rows)| {
                rows.sort_by(|a, b| a.variant_id.cmp(&b.variant_id));
                rows.dedup_by(|a, b| a.variant_id == b.variant_id);
                let v = common_prefix(rows.iter().map(|m| m.variant_id.as_str()));
                let i = common_prefix(rows.iter().map(|m| m.inventory_item_id.as_str()));
                let m = rows
                    .iter()
                    .map(|r| {
                        (
                            r.variant_id[v.len()..].to_string(),
                            r.inventory_item_id[i.len()..].to_string(),
                            r.item_no.clone(),
                            r.variant_code.clone(),
                        )
                    })
                    .collect();
                Ok(Record::new(
                    bucket_id(bucket),
                    None,
                    to_json(&PackedMappings { v, i, m })?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        self.replace_buckets(MAPPINGS, records).await
    }

    /// The known levels: the buckets, with the change records of runs not yet folded in applied over
    /// them in the order they were made.
    pub async fn load_levels(&self) -> Result<KnownLevels> {
        let mut known = KnownLevels::default();
        for record in self.all(LEVELS).await? {
            from_json::<PackedLevels>(&record, LEVELS)?.unpack_into(&mut known);
        }
        for record in self.all(LEVEL_CHANGES).await? {
            from_json::<PackedLevels>(&record, LEVEL_CHANGES)?.unpack_into(&mut known);
        }
        Ok(known)
    }

    /// Replace every known level with `levels` (a full read of Shopify) and drop pending changes.
    pub async fn replace_levels(&self, levels: &[InventoryLevel]) -> Result<()> {
        let changes: Vec<String> = self
            .all(LEVEL_CHANGES)
            .await?
            .into_iter()
            .map(|r| r.id)
            .collect();
        self.replace_buckets(LEVELS, level_buckets(levels.iter())?)
            .await?;
        if !changes.is_empty() {
            self.records
                .delete_records(self.shop, LEVEL_CHANGES, &changes)
                .await?;
        }
        Ok(())
    }

    /// Record levels now known to be in Shopify as one change record. Ids sort in the order the
    /// changes were made ([`change_id`]), so loading applies later changes over earlier ones; recording the same levels again (a settle replayed
    /// after a crash) only repeats absolute values.
    pub async fn record_changes(&self, levels: &[InventoryLevel]) -> Result<()> {
        if levels.is_empty() {
            return Ok(());
        }
        let refs: Vec<&InventoryLevel> = levels.iter().collect();
        let id = change_id(shopsync_domain::time::now_millis());
        let record = Record::new(id, None, to_json(&PackedLevels::pack(&refs))?);
        self.records
            .put_records(self.shop, LEVEL_CHANGES, &[record])
            .await
    }

    /// Fold the change records into the buckets they touch, then delete them. Returns how many change
    /// records were folded.
    pub async fn fold_changes(&self) -> Result<usize> {
        let changes = self.all(LEVEL_CHANGES).await?;
        if changes.is_empty() {
            return Ok(0);
        }
        let mut changed = KnownLevels::default();
        for record in &changes {
            from_json::<PackedLevels>(record, LEVEL_CHANGES)?.unpack_into(&mut changed);
        }
        let touched: std::collections::BTreeSet<u64> = changed
            .by_location
            .values()
            .flat_map(|items| items.keys().map(|id| bucket_of(id)))
            .collect();
        let ids: Vec<String> = touched.iter().map(|b| bucket_id(*b)).collect();
        let mut merged = KnownLevels::default();
        for record in self.records.get_records(self.shop, LEVELS, &ids).await? {
            from_json::<PackedLevels>(&record, LEVELS)?.unpack_into(&mut merged);
        }
        for (location, items) in changed.by_location {
            merged
                .by_location
                .entry(location)
                .or_default()
                .extend(items);
        }
        let levels: Vec<InventoryLevel> = merged
            .by_location
            .into_iter()
            .flat_map(|(location, items)| {
                items
                    .into_iter()
                    .map(move |(item, available)| InventoryLevel {
                        inventory_item_id: item,
                        location_id: location.clone(),
                        available,
                    })
            })
            .collect();
        self.records
            .put_records(self.shop, LEVELS, &level_buckets(levels.iter())?)
            .await?;
        let ids: Vec<String> = changes.into_iter().map(|r| r.id).collect();
        self.records
            .delete_records(self.shop, LEVEL_CHANGES, &ids)
            .await?;
        Ok(ids.len())
    }
}

/// The id of a change record: its time in milliseconds, then a sequence number of this process, so
/// that two changes of the same millisecond still sort in the order they were made (the sequence is
/// enough within a process; runs of one shop in two processes are minutes apart, serialized by the
/// lease), then a random part against collisions between processes.
fn change_id(now_millis: i64) -> String {
    static SEQUENCE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = SEQUENCE.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    format!("{now_millis:013}-{n:012}-{:08x}", fastrand::u32(..))
}

fn level_buckets<'a>(levels: impl Iterator<Item = &'a InventoryLevel>) -> Result<Vec<Record>> {
    let mut buckets: BTreeMap<u64, Vec<&InventoryLevel>> = BTreeMap::new();
    for level in levels {
        buckets
            .entry(bucket_of(&level.inventory_item_id))
            .or_default()
            .push(level);
    }
    buckets
        .into_iter()
        .map(|(bucket, rows)| {
            Ok(Record::new(
                bucket_id(bucket),
                None,
                to_json(&PackedLevels::pack(&rows))?,
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn level(item: &str, location: &str, available: i64) -> InventoryLevel {
        InventoryLevel {
            inventory_item_id: item.into(),
            location_id: location.into(),
            available,
        }
    }

    #[test]
    fn change_ids_sort_in_the_order_they_were_made_even_within_a_millisecond() {
        let ids: Vec<String> = (0..1000).map(|_| change_id(1_764_370_000_000)).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted);
        assert!(change_id(999) < change_id(1000));
    }

    #[test]
    fn buckets_are_stable_and_spread() {
        assert_eq!(
            bucket_of("gid://shopify/InventoryItem/1"),
            bucket_of("gid://shopify/InventoryItem/1")
        );
        let used: std::collections::HashSet<u64> = (0..10_000)
            .map(|i| bucket_of(&format!("gid://shopify/InventoryItem/{i}")))
            .collect();
        assert_eq!(used.len() as u64, BUCKETS);
    }

    #[test]
    fn packing_keeps_opaque_ids_exactly() {
        let levels = [
            level(
                "gid://shopify/InventoryItem/12",
                "gid://shopify/Location/1",
                5,
            ),
            level(
                "gid://shopify/InventoryItem/12?x=y",
                "gid://shopify/Location/1",
                6,
            ),
            level(
                "gid://shopify/InventoryItem/é",
                "gid://shopify/Location/a-b",
                -2,
            ),
            level("other", "gid://shopify/Location/1", 0),
        ];
        let refs: Vec<&InventoryLevel> = levels.iter().collect();
        let packed = PackedLevels::pack(&refs);
        let json = serde_json::to_string(&packed).unwrap();
        let mut known = KnownLevels::default();
        serde_json::from_str::<PackedLevels>(&json)
            .unwrap()
            .unpack_into(&mut known);
        assert_eq!(known, KnownLevels::from_levels(&levels));
        assert_eq!(
            common_prefix(["gid://a/é1", "gid://a/é2"].into_iter()),
            "gid://a/é"
        );
        assert_eq!(common_prefix(["ab", "ac", "x"].into_iter()), "");
    }

    #[test]
    fn a_packed_level_costs_about_twenty_bytes() {
        let levels: Vec<InventoryLevel> = (0..1000)
            .map(|i| {
                level(
                    &format!("gid://shopify/InventoryItem/4{:011}", i * 7919),
                    "gid://shopify/Location/1",
                    i,
                )
            })
            .collect();
        let refs: Vec<&InventoryLevel> = levels.iter().collect();
        let size = serde_json::to_string(&PackedLevels::pack(&refs))
            .unwrap()
            .len();
        assert!(size < 1000 * 22, "{size} bytes for 1000 levels");
    }
}
