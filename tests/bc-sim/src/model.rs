//! The data a simulated BC company holds and how it renders as API v2.0 / OData JSON. Entities live in
//! `BTreeMap`s keyed by their primary key so that paging is by key (like BC's skip tokens) and stays
//! stable while records are added between pages.

use crate::text::{base64, format_iso, now_ms};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use uuid::Uuid;

pub(crate) const ITEM_TYPES: [&str; 3] = ["Inventory", "Service", "Non-Inventory"];

#[derive(Debug, Clone)]
pub(crate) struct Item {
    pub id: Uuid,
    pub number: String,
    pub display_name: String,
    pub item_type: String,
    pub blocked: bool,
    pub gtin: Option<String>,
    pub inventory: f64,
    pub unit_price: f64,
    /// Catalogue fields (`items.rs`).
    pub extra: crate::items::ItemExtra,
    pub modified_ms: i64,
    pub row_version: u64,
}

#[derive(Debug, Clone)]
pub(crate) struct Location {
    pub id: Uuid,
    pub code: String,
    pub display_name: String,
    pub modified_ms: i64,
    pub row_version: u64,
}

#[derive(Debug, Clone)]
pub(crate) struct AvailRow {
    pub projected_available: f64,
    pub free_inventory: f64,
    pub row_version: u64,
}

/// (item no., variant code, location code): the primary key of the availability page.
pub(crate) type AvailKey = (String, String, String);

/// BC-style weak ETag: base64 of `'44;<key>1;<row version>;'`, which is why real ones start `W/"JzQ0O`.
pub(crate) fn etag(key: &str, row_version: u64) -> String {
    let inner = format!("'44;{}1;{};'", base64(key.as_bytes()), row_version);
    format!("W/\"{}\"", base64(inner.as_bytes()))
}

#[derive(Debug, Clone)]
pub(crate) struct Company {
    pub id: Uuid,
    pub name: String,
    pub items: BTreeMap<String, Item>,
    pub item_ids: HashMap<Uuid, String>,
    pub locations: BTreeMap<String, Location>,
    pub availability: BTreeMap<AvailKey, AvailRow>,
    pub pages: HashSet<String>,
    /// Customers, sales documents, posted shipments (`sales.rs`).
    pub sales: crate::sales::SalesData,
    /// Pictures and the published sales-price page (`items.rs`).
    pub catalog: crate::items::CatalogData,
    /// Company-wide row version counter (BC's timestamp column).
    version: u64,
    rng: fastrand::Rng,
}

impl Company {
    pub(crate) fn new(id: Uuid, name: &str) -> Company {
        Company {
            id,
            name: name.to_string(),
            items: BTreeMap::new(),
            item_ids: HashMap::new(),
            locations: BTreeMap::new(),
            availability: BTreeMap::new(),
            pages: HashSet::new(),
            sales: crate::sales::SalesData::default(),
            catalog: crate::items::CatalogData::default(),
            version: 0,
            rng: fastrand::Rng::with_seed(id.as_u128() as u64),
        }
    }

    pub(crate) fn next_version(&mut self) -> u64 {
        self.version += 1;
        self.version
    }

    pub(crate) fn new_id(&mut self) -> Uuid {
        let mut bytes = [0u8; 16];
        self.rng.fill(&mut bytes);
        uuid::Builder::from_random_bytes(bytes).into_uuid()
    }

    /// Insert a new item or update an existing one's type and GTIN.
    pub(crate) fn upsert_item(
        &mut self,
        number: &str,
        item_type: &str,
        gtin: Option<&str>,
    ) -> &Item {
        let version = self.next_version();
        let now = now_ms();
        if !self.items.contains_key(number) {
            let id = self.new_id();
            self.item_ids.insert(id, number.to_string());
            let inventory = self.inventory_of(number);
            self.items.insert(
                number.to_string(),
                Item {
                    id,
                    number: number.to_string(),
                    display_name: format!("Item {number}"),
                    item_type: item_type.to_string(),
                    blocked: false,
                    gtin: gtin.map(str::to_string),
                    inventory,
                    unit_price: 0.0,
                    extra: crate::items::ItemExtra::default(),
                    modified_ms: now,
                    row_version: version,
                },
            );
        } else if let Some(item) = self.items.get_mut(number) {
            item.item_type = item_type.to_string();
            item.gtin = gtin.map(str::to_string);
            item.modified_ms = now;
            item.row_version = version;
        }
        &self.items[number]
    }

    pub(crate) fn touch_item(&mut self, number: &str) {
        let version = self.next_version();
        if let Some(item) = self.items.get_mut(number) {
            item.modified_ms = now_ms();
            item.row_version = version;
        }
    }

    pub(crate) fn upsert_location(&mut self, code: &str, name: &str) {
        let version = self.next_version();
        let id = match self.locations.get(code) {
            Some(l) => l.id,
            None => self.new_id(),
        };
        self.locations.insert(
            code.to_string(),
            Location {
                id,
                code: code.to_string(),
                display_name: name.to_string(),
                modified_ms: now_ms(),
                row_version: version,
            },
        );
    }

    /// Sum of projected available balance over every variant and location of an item.
    fn inventory_of(&self, item_no: &str) -> f64 {
        let start = (item_no.to_string(), String::new(), String::new());
        self.availability
            .range(start..)
            .take_while(|(k, _)| k.0 == item_no)
            .map(|(_, r)| r.projected_available)
            .sum()
    }

    pub(crate) fn set_availability(&mut self, key: AvailKey, projected: f64, free: f64) {
        let version = self.next_version();
        let item_no = key.0.clone();
        self.availability.insert(
            key,
            AvailRow {
                projected_available: projected,
                free_inventory: free,
                row_version: version,
            },
        );
        // `inventory` is a FlowField: it changes without touching the record's timestamp or ETag.
        let total = self.inventory_of(&item_no);
        if let Some(item) = self.items.get_mut(&item_no) {
            item.inventory = total;
        }
    }
}

pub(crate) fn item_json(item: &Item) -> Map<String, Value> {
    let v = json!({
        "@odata.etag": etag(&item.number, item.row_version),
        "id": item.id.to_string(),
        "number": item.number,
        "displayName": item.display_name,
        "displayName2": "",
        "type": item.item_type,
        "itemCategoryId": Uuid::nil().to_string(),
        "itemCategoryCode": "",
        "blocked": item.blocked,
        "gtin": item.gtin.clone().unwrap_or_default(),
        "inventory": item.inventory,
        "unitPrice": item.unit_price,
        "priceIncludesTax": false,
        "unitCost": 0.0,
        "baseUnitOfMeasureCode": "PCS",
        "lastModifiedDateTime": format_iso(item.modified_ms),
    });
    let mut m = into_map(v);
    crate::items::extend_item_json(&mut m, &item.extra);
    m
}

pub(crate) fn location_json(loc: &Location) -> Map<String, Value> {
    into_map(json!({
        "@odata.etag": etag(&loc.code, loc.row_version),
        "id": loc.id.to_string(),
        "code": loc.code,
        "displayName": loc.display_name,
        "contact": "",
        "addressLine1": "",
        "addressLine2": "",
        "city": "",
        "state": "",
        "country": "",
        "postalCode": "",
        "phoneNumber": "",
        "email": "",
        "website": "",
        "lastModifiedDateTime": format_iso(loc.modified_ms),
    }))
}

pub(crate) fn availability_json(key: &AvailKey, row: &AvailRow) -> Map<String, Value> {
    into_map(json!({
        "@odata.etag": etag(&format!("{}|{}|{}", key.0, key.1, key.2), row.row_version),
        "itemNo": key.0,
        "variantCode": key.1,
        "locationCode": key.2,
        "projectedAvailableBalance": row.projected_available,
        "freeInventory": row.free_inventory,
    }))
}

pub(crate) fn company_json(c: &Company) -> Map<String, Value> {
    into_map(json!({
        "id": c.id.to_string(),
        "systemVersion": "25.0.0.0",
        "name": c.name,
        "displayName": c.name,
        "businessProfileId": "",
    }))
}

pub(crate) fn into_map(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// A company in the simulator, for seeding and changing data from tests.
#[derive(Clone, Debug)]
pub struct CompanyHandle {
    pub(crate) company: Arc<Mutex<Company>>,
}

impl CompanyHandle {
    pub(crate) fn lock(&self) -> MutexGuard<'_, Company> {
        self.company.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The company's id (GUID).
    pub fn id(&self) -> String {
        self.lock().id.to_string()
    }

    pub fn name(&self) -> String {
        self.lock().name.clone()
    }

    pub fn add_location(&self, code: &str, name: &str) {
        self.lock().upsert_location(code, name);
    }

    /// Add an item (or change the type/GTIN of an existing one). `item_type` is `Inventory`, `Service` or
    /// `Non-Inventory`.
    pub fn add_item(&self, number: &str, item_type: &str, gtin: Option<&str>) {
        self.lock().upsert_item(number, item_type, gtin);
    }

    /// The API id (GUID) of an item, if it exists.
    pub fn item_id(&self, number: &str) -> Option<String> {
        self.lock().items.get(number).map(|i| i.id.to_string())
    }

    /// Set one availability row; `items.inventory` becomes the sum of `projected_available` over the
    /// item's variants and locations.
    pub fn set_availability(
        &self,
        item_no: &str,
        variant_code: &str,
        location_code: &str,
        projected_available: f64,
        free_inventory: f64,
    ) {
        let key = (
            item_no.to_string(),
            variant_code.to_string(),
            location_code.to_string(),
        );
        self.lock()
            .set_availability(key, projected_available, free_inventory);
    }

    pub fn set_item_blocked(&self, number: &str, blocked: bool) {
        let mut c = self.lock();
        if let Some(item) = c.items.get_mut(number) {
            item.blocked = blocked;
        }
        c.touch_item(number);
    }

    /// Change an item's display name (a modification: new ETag and `lastModifiedDateTime`).
    pub fn set_item_display_name(&self, number: &str, display_name: &str) {
        let mut c = self.lock();
        if let Some(item) = c.items.get_mut(number) {
            item.display_name = display_name.to_string();
        }
        c.touch_item(number);
    }

    /// Publish the availability page as an OData web service under this name.
    pub fn publish_availability_page(&self, page_name: &str) {
        self.lock().pages.insert(page_name.to_string());
    }

    pub fn unpublish_availability_page(&self, page_name: &str) {
        self.lock().pages.remove(page_name);
    }

    /// Number of items in the company.
    pub fn item_count(&self) -> usize {
        self.lock().items.len()
    }

    /// Seed `n` inventory items `{prefix}{i:06}` (GTIN-13 with a valid check digit) and, for each location
    /// `l`, an availability row with `qty(i, l)` as both projected available balance and free inventory.
    /// Locations that do not exist yet are created. One lock, no per-row bookkeeping: fast for 50,000.
    pub fn seed_items(
        &self,
        n: usize,
        prefix: &str,
        locations: &[&str],
        qty: impl Fn(usize, usize) -> f64,
    ) {
        let mut c = self.lock();
        for code in locations {
            if !c.locations.contains_key(*code) {
                c.upsert_location(code, code);
            }
        }
        let now = now_ms();
        for i in 0..n {
            let number = format!("{prefix}{i:06}");
            let mut total = 0.0;
            for (l, code) in locations.iter().enumerate() {
                let q = qty(i, l);
                total += q;
                let version = c.next_version();
                c.availability.insert(
                    (number.clone(), String::new(), code.to_string()),
                    AvailRow {
                        projected_available: q,
                        free_inventory: q,
                        row_version: version,
                    },
                );
            }
            let version = c.next_version();
            let id = match c.items.get(&number) {
                Some(existing) => existing.id,
                None => c.new_id(),
            };
            c.item_ids.insert(id, number.clone());
            c.items.insert(
                number.clone(),
                Item {
                    id,
                    display_name: format!("Item {number}"),
                    number,
                    item_type: "Inventory".to_string(),
                    blocked: false,
                    gtin: Some(gtin13(i as u64)),
                    inventory: total,
                    unit_price: (i % 100) as f64 + 0.99,
                    extra: crate::items::ItemExtra::default(),
                    modified_ms: now,
                    row_version: version,
                },
            );
        }
    }
}

/// A GTIN-13 in the "20" in-store prefix range with a correct check digit.
pub(crate) fn gtin13(i: u64) -> String {
    let body = format!("20{:010}", i % 10_000_000_000);
    let sum: u32 = body
        .chars()
        .enumerate()
        .map(|(pos, c)| c.to_digit(10).unwrap_or(0) * if pos % 2 == 0 { 1 } else { 3 })
        .sum();
    format!("{body}{}", (10 - sum % 10) % 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etag_has_bc_shape() {
        let e = etag("1000", 7);
        assert!(e.starts_with("W/\"JzQ0O"), "{e}");
        assert_ne!(e, etag("1000", 8));
    }

    #[test]
    fn gtin_check_digit() {
        // 4006381333931 is a well-known valid EAN-13; recompute its check digit with the same rule.
        let body = "400638133393";
        let sum: u32 = body
            .chars()
            .enumerate()
            .map(|(p, c)| c.to_digit(10).unwrap() * if p % 2 == 0 { 1 } else { 3 })
            .sum();
        assert_eq!((10 - sum % 10) % 10, 1);
        assert_eq!(gtin13(5).len(), 13);
    }

    #[test]
    fn inventory_is_sum_of_projected() {
        let mut c = Company::new(Uuid::from_u128(1), "C");
        c.upsert_item("A", "Inventory", None);
        c.set_availability(("A".into(), "".into(), "EAST".into()), 3.0, 1.0);
        c.set_availability(("A".into(), "RED".into(), "WEST".into()), 4.5, 4.5);
        c.set_availability(("B".into(), "".into(), "EAST".into()), 100.0, 100.0);
        assert_eq!(c.items["A"].inventory, 7.5);
    }
}
