//! `inventorySetQuantities` with the 2026-04+ contract: `@idempotent(key:)` required,
//! `changeFromQuantity` present on every row (compare-and-set, explicit null skips the check),
//! all-or-nothing application, and replay of the original answer for a repeated key.
//!
//! The exactly-once guarantees of the sync rest on these semantics, so they are modelled
//! precisely, including what does *not* consume a key (requests refused at validation).

use std::collections::HashMap;

use serde_json::Value as Json;

use crate::store::{
    AppliedAdjustment, GID_ITEM, GID_LOCATION, IdemEntry, IdemState, StoreData, canonical,
};

/// Reasons Shopify accepts (message of INVALID_REASON in the 2026-04 capture).
pub(crate) const REASONS: &[&str] = &[
    "correction",
    "cycle_count_available",
    "damaged",
    "movement_canceled",
    "movement_created",
    "movement_received",
    "movement_updated",
    "other",
    "promotion",
    "quality_control",
    "received",
    "reservation_created",
    "reservation_deleted",
    "reservation_updated",
    "restock",
    "safety_stock",
    "shrinkage",
];

const LIMIT: i64 = 1_000_000_000;

#[derive(Debug, Clone)]
pub(crate) struct UserErr {
    pub field: Option<Vec<String>>,
    pub message: String,
    pub code: Option<String>,
}

impl UserErr {
    fn new(field: Option<Vec<String>>, message: impl Into<String>, code: &str) -> Self {
        Self {
            field,
            message: message.into(),
            code: Some(code.to_string()),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Change {
    pub name: &'static str,
    pub delta: i64,
    pub item: usize,
    pub location: usize,
}

#[derive(Debug, Clone)]
pub(crate) struct Group {
    pub id: u64,
    pub created_at: f64,
    pub reason: String,
    pub reference_document_uri: Option<String>,
    pub changes: Vec<Change>,
}

/// The payload of one `inventorySetQuantities` call (what a replay returns again).
#[derive(Debug, Clone)]
pub(crate) struct SetOutcome {
    pub group: Option<Group>,
    pub user_errors: Vec<UserErr>,
}

/// A shape problem in the input object (reported before execution).
pub(crate) struct InputProblem {
    pub path: Vec<String>,
    pub explanation: String,
    pub type_name: &'static str,
    pub field: String,
    pub undefined: bool,
}

impl InputProblem {
    pub(crate) fn literal_message(&self) -> String {
        if self.undefined {
            format!(
                "InputObject '{}' doesn't accept argument '{}'",
                self.type_name, self.field
            )
        } else {
            format!(
                "Argument '{}' on InputObject '{}' has an invalid value: {}",
                self.field, self.type_name, self.explanation
            )
        }
    }

    pub(crate) fn literal_code(&self) -> &'static str {
        if self.undefined {
            "argumentNotAccepted"
        } else {
            "argumentLiteralsIncompatible"
        }
    }
}

const INPUT_FIELDS: &[&str] = &["name", "reason", "referenceDocumentUri", "quantities"];
const ROW_FIELDS: &[&str] = &[
    "inventoryItemId",
    "locationId",
    "quantity",
    "changeFromQuantity",
];

/// GraphQL-level checks of `InventorySetQuantitiesInput` (unknown fields such as the removed
/// `ignoreCompareQuantity`/`compareQuantity`, missing required fields, wrong scalar types).
pub(crate) fn input_problems(input: &Json) -> Vec<InputProblem> {
    let mut out = Vec::new();
    let Some(obj) = input.as_object() else {
        out.push(InputProblem {
            path: vec![],
            explanation: "Expected value to not be null".into(),
            type_name: "InventorySetQuantitiesInput",
            field: "input".into(),
            undefined: false,
        });
        return out;
    };
    for k in obj.keys() {
        if !INPUT_FIELDS.contains(&k.as_str()) {
            out.push(InputProblem {
                path: vec![k.clone()],
                explanation: "Field is not defined on InventorySetQuantitiesInput".into(),
                type_name: "InventorySetQuantitiesInput",
                field: k.clone(),
                undefined: true,
            });
        }
    }
    for req in ["name", "reason", "quantities"] {
        match obj.get(req) {
            None | Some(Json::Null) => out.push(InputProblem {
                path: vec![req.into()],
                explanation: "Expected value to not be null".into(),
                type_name: "InventorySetQuantitiesInput",
                field: req.into(),
                undefined: false,
            }),
            Some(v) if req != "quantities" && !v.is_string() => out.push(InputProblem {
                path: vec![req.into()],
                explanation: format!("Could not coerce value {v} to String"),
                type_name: "InventorySetQuantitiesInput",
                field: req.into(),
                undefined: false,
            }),
            _ => {}
        }
    }
    if let Some(rows) = obj.get("quantities").and_then(|q| q.as_array()) {
        for (i, row) in rows.iter().enumerate() {
            let Some(r) = row.as_object() else {
                out.push(InputProblem {
                    path: vec!["quantities".into(), i.to_string()],
                    explanation: "Expected value to not be null".into(),
                    type_name: "InventoryQuantityInput",
                    field: "quantities".into(),
                    undefined: false,
                });
                continue;
            };
            for k in r.keys() {
                if !ROW_FIELDS.contains(&k.as_str()) {
                    out.push(InputProblem {
                        path: vec!["quantities".into(), i.to_string(), k.clone()],
                        explanation: "Field is not defined on InventoryQuantityInput".into(),
                        type_name: "InventoryQuantityInput",
                        field: k.clone(),
                        undefined: true,
                    });
                }
            }
            for req in ["inventoryItemId", "locationId", "quantity"] {
                let bad = match r.get(req) {
                    None | Some(Json::Null) => Some("Expected value to not be null".to_string()),
                    Some(v) if req == "quantity" && !is_int(v) => {
                        Some(format!("Could not coerce value {v} to Int"))
                    }
                    Some(v) if req != "quantity" && !v.is_string() => {
                        Some(format!("Could not coerce value {v} to ID"))
                    }
                    _ => None,
                };
                if let Some(explanation) = bad {
                    out.push(InputProblem {
                        path: vec!["quantities".into(), i.to_string(), req.into()],
                        explanation,
                        type_name: "InventoryQuantityInput",
                        field: req.into(),
                        undefined: false,
                    });
                }
            }
            if let Some(v) = r.get("changeFromQuantity")
                && !v.is_null()
                && !is_int(v)
            {
                out.push(InputProblem {
                    path: vec![
                        "quantities".into(),
                        i.to_string(),
                        "changeFromQuantity".into(),
                    ],
                    explanation: format!("Could not coerce value {v} to Int"),
                    type_name: "InventoryQuantityInput",
                    field: "changeFromQuantity".into(),
                    undefined: false,
                });
            }
        }
    }
    out
}

/// GraphQL `Int` is 32-bit.
fn is_int(v: &Json) -> bool {
    v.as_i64()
        .is_some_and(|n| n >= i32::MIN as i64 && n <= i32::MAX as i64)
}

/// Index of the first row without a `changeFromQuantity` key.
pub(crate) fn missing_change_from(input: &Json) -> Option<usize> {
    input
        .get("quantities")?
        .as_array()?
        .iter()
        .position(|r| r.get("changeFromQuantity").is_none())
}

/// What happened to the idempotency key.
pub(crate) enum KeyUse {
    Fresh,
    Replay,
    Rejected,
}

pub(crate) struct SetResult {
    pub outcome: SetOutcome,
    pub key_use: KeyUse,
    pub applied_rows: u64,
}

struct Row {
    item: Option<usize>,
    location: Option<usize>,
    item_raw: String,
    location_raw: String,
    quantity: i64,
    change_from: Option<i64>,
}

/// Runs the mutation on a validated input. `hold` keeps the key in flight until
/// [`finish_keys`] is called (the answer of a slow request has not been delivered yet).
pub(crate) fn set_quantities(
    st: &mut StoreData,
    input: &Json,
    key: &str,
    now: f64,
    request_number: u64,
    hold: bool,
) -> SetResult {
    let fingerprint = format!("inventorySetQuantities:{}", canonical(input));
    if let Some(entry) = st.idempotency.get(key) {
        let outcome = match entry.state {
            IdemState::InFlight => SetOutcome {
                group: None,
                user_errors: vec![UserErr::new(
                    None,
                    "A request with this idempotency key is currently in progress. Please retry later.",
                    "IDEMPOTENCY_CONCURRENT_REQUEST",
                )],
            },
            IdemState::Done if entry.fingerprint == fingerprint => {
                return SetResult {
                    outcome: entry.outcome.clone(),
                    key_use: KeyUse::Replay,
                    applied_rows: 0,
                };
            }
            IdemState::Done => SetOutcome {
                group: None,
                user_errors: vec![UserErr::new(
                    None,
                    "The same idempotency key cannot be used with different operation parameters.",
                    "IDEMPOTENCY_KEY_PARAMETER_MISMATCH",
                )],
            },
        };
        return SetResult {
            outcome,
            key_use: KeyUse::Rejected,
            applied_rows: 0,
        };
    }

    let name = input.get("name").and_then(|v| v.as_str()).unwrap_or("");
    let reason = input.get("reason").and_then(|v| v.as_str()).unwrap_or("");
    let reference = input
        .get("referenceDocumentUri")
        .and_then(|v| v.as_str())
        .map(str::to_string);
    let rows: Vec<Row> = input
        .get("quantities")
        .and_then(|q| q.as_array())
        .map(|a| a.as_slice())
        .unwrap_or(&[])
        .iter()
        .map(|r| {
            let item_raw = r["inventoryItemId"].as_str().unwrap_or("").to_string();
            let location_raw = r["locationId"].as_str().unwrap_or("").to_string();
            Row {
                item: st
                    .parse_gid(GID_ITEM, &item_raw)
                    .filter(|&i| i < st.variants.len()),
                location: st
                    .parse_gid(GID_LOCATION, &location_raw)
                    .filter(|&l| l < st.locations.len()),
                item_raw,
                location_raw,
                quantity: r["quantity"].as_i64().unwrap_or(0),
                change_from: r.get("changeFromQuantity").and_then(|v| v.as_i64()),
            }
        })
        .collect();

    let mut errors = Vec::new();
    let on_hand = match name {
        "available" => false,
        "on_hand" => true,
        _ => {
            errors.push(UserErr::new(
                Some(vec!["input".into(), "name".into()]),
                "The quantity name must be either 'available' or 'on_hand'.",
                "INVALID_NAME",
            ));
            false
        }
    };
    if !REASONS.contains(&reason) {
        errors.push(UserErr::new(
            Some(vec!["input".into(), "reason".into()]),
            format!(
                "The specified reason is invalid. Valid values are: {}.",
                REASONS.join(", ")
            ),
            "INVALID_REASON",
        ));
    }
    let mut pair_count: HashMap<(&str, &str), usize> = HashMap::new();
    for r in &rows {
        *pair_count
            .entry((r.item_raw.as_str(), r.location_raw.as_str()))
            .or_default() += 1;
    }
    let fp = |i: usize, f: &str| {
        Some(vec![
            "input".to_string(),
            "quantities".to_string(),
            i.to_string(),
            f.to_string(),
        ])
    };
    for (i, r) in rows.iter().enumerate() {
        if r.item.is_none() {
            errors.push(UserErr::new(
                fp(i, "inventoryItemId"),
                "The specified inventory item could not be found.",
                "INVALID_INVENTORY_ITEM",
            ));
        }
        if r.location.is_none() {
            errors.push(UserErr::new(
                fp(i, "locationId"),
                "The specified location could not be found.",
                "INVALID_LOCATION",
            ));
        }
        let level = match (r.item, r.location) {
            (Some(it), Some(lo)) => {
                let l = st.level_of(it, lo);
                if l.is_none() {
                    errors.push(UserErr::new(
                        fp(i, "locationId"),
                        "The specified inventory item is not stocked at the location.",
                        "ITEM_NOT_STOCKED_AT_LOCATION",
                    ));
                }
                l
            }
            _ => None,
        };
        if r.quantity > LIMIT {
            errors.push(UserErr::new(
                fp(i, "quantity"),
                "The quantity can't be higher than 1,000,000,000.",
                "INVALID_QUANTITY_TOO_HIGH",
            ));
        } else if r.quantity < -LIMIT {
            errors.push(UserErr::new(
                fp(i, "quantity"),
                "The quantity can't be lower than -1,000,000,000.",
                "INVALID_QUANTITY_TOO_LOW",
            ));
        } else if on_hand && r.quantity < 0 {
            errors.push(UserErr::new(
                fp(i, "quantity"),
                "The quantity can't be negative.",
                "INVALID_QUANTITY_NEGATIVE",
            ));
        }
        if pair_count[&(r.item_raw.as_str(), r.location_raw.as_str())] > 1 {
            errors.push(UserErr::new(
                fp(i, "locationId"),
                "The combination of inventoryItemId and locationId must be unique.",
                "NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR",
            ));
        }
        if let (Some(l), Some(expected)) = (level, r.change_from) {
            let lv = &st.levels[l];
            let current = if on_hand { lv.on_hand } else { lv.available };
            if current != expected {
                errors.push(UserErr::new(
                    fp(i, "changeFromQuantity"),
                    format!(
                        "The specified changeFromQuantity ({expected}) does not match the current quantity ({current})."
                    ),
                    "CHANGE_FROM_QUANTITY_STALE",
                ));
            }
        }
    }

    let mut applied_rows = 0;
    let outcome = if !errors.is_empty() {
        SetOutcome {
            group: None,
            user_errors: errors,
        }
    } else {
        let mut changes = Vec::new();
        for r in &rows {
            let (Some(it), Some(lo)) = (r.item, r.location) else {
                continue;
            };
            let Some(l) = st.level_of(it, lo) else {
                continue;
            };
            let lv = &mut st.levels[l];
            let current = if on_hand { lv.on_hand } else { lv.available };
            if current == r.quantity {
                continue;
            }
            let delta = r.quantity - current;
            lv.available += delta;
            lv.on_hand += delta;
            lv.updated_at = now;
            let (first, second) = if on_hand {
                ("on_hand", "available")
            } else {
                ("available", "on_hand")
            };
            for n in [first, second] {
                changes.push(Change {
                    name: n,
                    delta,
                    item: it,
                    location: lo,
                });
            }
            applied_rows += 1;
            let (inventory_item_id, location_id) = (st.gid(GID_ITEM, it), st.gid(GID_LOCATION, lo));
            st.log.push(AppliedAdjustment {
                inventory_item_id,
                location_id,
                name: name.to_string(),
                from: current,
                to: r.quantity,
                change_from: r.change_from,
                idempotency_key: key.to_string(),
                request_number,
            });
        }
        let group = if changes.is_empty() {
            None
        } else {
            let id = st.next_group;
            st.next_group += 1;
            Some(Group {
                id,
                created_at: now,
                reason: reason.to_string(),
                reference_document_uri: reference,
                changes,
            })
        };
        SetOutcome {
            group,
            user_errors: Vec::new(),
        }
    };
    st.idempotency.insert(
        key.to_string(),
        IdemEntry {
            fingerprint,
            state: if hold {
                IdemState::InFlight
            } else {
                IdemState::Done
            },
            outcome: outcome.clone(),
        },
    );
    SetResult {
        outcome,
        key_use: KeyUse::Fresh,
        applied_rows,
    }
}

/// Marks held keys as answered, so later requests replay instead of seeing them in flight.
pub(crate) fn finish_keys(st: &mut StoreData, keys: &[String]) {
    for k in keys {
        if let Some(e) = st.idempotency.get_mut(k) {
            e.state = IdemState::Done;
        }
    }
}
