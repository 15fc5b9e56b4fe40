//! What `sync-customers` keeps in the record store, and why each piece is there.
//!
//! - [`CUSTOMERS`] — **one record per Shopify customer** (id: its numeric id, digits only), the
//!   mirror of the link: the BC customer number it maps to, or why it maps to none. Its status is
//!   `linked`, `unmapped` (the status board's unmapped-customers cue counts these) or `error`
//!   (retried by the next run, whatever the cursor did meanwhile). It also holds what the two guards
//!   need: the hash of the Shopify data last applied to BC (an update is sent only when it changed)
//!   and the `updatedAt` our own last `customerSet` left (the newer-than guard: an import skips a
//!   customer whose latest change is our export).
//! - [`BC_CUSTOMERS`] — **one record per BC customer** seen by the BC scan (id: its number): its API
//!   id, the normalised e-mail and phone it is indexed under, the Shopify customer it is linked to,
//!   and the hash of the last `customerSet` input sent for it. Status `export_pending` (or
//!   `export_error`) while a changed, linked customer waits for its export.
//! - [`CUSTOMER_CONTACTS`] — the **contact index**: one record per normalised e-mail or phone
//!   (id: a hash, see [`contact_index_id`]) listing the BC customer numbers that have it. It is what
//!   makes matching exact in the way people expect — case-insensitive e-mail, phone by digits —
//!   which BC's OData filters cannot do (they compare text as stored).

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use shopsync_domain::SyncError;
use shopsync_domain::contact::{ContactKind, contact_index_id, email_key, phone_key};
use shopsync_domain::customers::CustomerUpdate;
pub use shopsync_domain::customers::{BC_CUSTOMERS, CUSTOMER_CONTACTS, CUSTOMERS, customer_status};
use shopsync_domain::ports::{LedgerEntry, Record, Result};
use shopsync_domain::sales::BcCustomer;
use std::collections::{BTreeMap, BTreeSet};

use crate::engine::TaskRun;

/// Statuses of [`BC_CUSTOMERS`] records (none: nothing to export).
pub mod bc_status {
    pub const EXPORT_PENDING: &str = "export_pending";
    /// Shopify refused the last export; sent again by the next run.
    pub const EXPORT_ERROR: &str = "export_error";
}

/// Ids of the task's cursors in the shared cursor kind.
pub const SHOPIFY_CURSOR: &str = "customers-shopify";
pub const BC_CURSOR: &str = "customers-bc";

/// A [`CUSTOMERS`] record's body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerRecord {
    /// For people (the cue's drill-down): display name, else e-mail or phone.
    pub name: String,
    pub shopify_id: String,
    #[serde(default)]
    pub bc_number: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    /// Shopify's `updatedAt` of the version last handled.
    #[serde(default)]
    pub updated_at: String,
    /// Hash of the [`CustomerUpdate`] last applied to (or found equal in) BC.
    #[serde(default)]
    pub imported_hash: Option<String>,
    /// Shopify's `updatedAt` after our last `customerSet`.
    #[serde(default)]
    pub exported_updated_at: Option<String>,
    #[serde(default)]
    pub error: Option<String>,
    /// The job that handled it last (a customer is handled once per job).
    #[serde(default)]
    pub job_id: Option<String>,
}

/// A [`BC_CUSTOMERS`] record's body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BcCustomerRecord {
    /// API id (GUID).
    pub id: String,
    pub number: String,
    #[serde(default)]
    pub blocked: bool,
    #[serde(default)]
    pub email_key: Option<String>,
    #[serde(default)]
    pub phone_key: Option<String>,
    /// The linked Shopify customer (`gid://shopify/Customer/<n>`).
    #[serde(default)]
    pub shopify_id: Option<String>,
    /// Hash of the last `customerSet` input sent (or taken as in step when the link was made).
    #[serde(default)]
    pub sent_hash: Option<String>,
    /// The customer as BC last gave it (what an export is built from).
    #[serde(default)]
    pub customer: Option<BcCustomer>,
    #[serde(default)]
    pub error: Option<String>,
}

/// A [`CUSTOMER_CONTACTS`] record's body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactEntry {
    pub numbers: BTreeSet<String>,
}

pub fn to_body<T: Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| SyncError::Internal(format!("serialising: {e}")))
}

pub fn from_body<T: DeserializeOwned>(what: &str, r: &Record) -> Result<T> {
    serde_json::from_str(&r.body)
        .map_err(|e| SyncError::Internal(format!("{what} record {} is unreadable: {e}", r.id)))
}

/// SHA-256 (hex) of a value's JSON.
pub fn hash_of<T: Serialize>(v: &T) -> Result<String> {
    Ok(LedgerEntry::sha256_hex(&to_body(v)?))
}

/// The hash a [`CustomerUpdate`] is compared by.
pub fn update_hash(u: &CustomerUpdate) -> Result<String> {
    hash_of(u)
}

/// The stored records of `kind` with these ids, by id.
pub async fn read_many(
    run: &TaskRun<'_>,
    kind: &str,
    ids: &[String],
) -> Result<BTreeMap<String, Record>> {
    let mut out = BTreeMap::new();
    for chunk in ids.chunks(100) {
        for r in run
            .stores
            .records
            .get_records(run.shop(), kind, chunk)
            .await?
        {
            out.insert(r.id.clone(), r);
        }
    }
    Ok(out)
}

/// The index ids a BC customer is found under.
pub fn index_ids(email: Option<&str>, phone: Option<&str>) -> Vec<String> {
    let mut ids = Vec::new();
    if let Some(e) = email {
        ids.push(contact_index_id(ContactKind::Email, e));
    }
    if let Some(p) = phone {
        ids.push(contact_index_id(ContactKind::Phone, p));
    }
    ids
}

/// What a BC customer is indexed under: its normalised e-mail and phone.
pub fn keys_of(c: &BcCustomer) -> (Option<String>, Option<String>) {
    (email_key(&c.email), phone_key(&c.phone_number))
}

/// Move BC customers in the contact index: for each `(number, old keys, new keys)`, drop the
/// number from the entries of keys it no longer has and add it to those of its new keys. One read
/// and one write of the touched entries.
pub async fn reindex(
    run: &TaskRun<'_>,
    moves: &[(String, Vec<String>, Vec<String>)],
) -> Result<()> {
    let touched: BTreeSet<String> = moves
        .iter()
        .flat_map(|(_, old, new)| old.iter().chain(new))
        .cloned()
        .collect();
    if touched.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = touched.into_iter().collect();
    let stored = read_many(run, CUSTOMER_CONTACTS, &ids).await?;
    let mut entries: BTreeMap<String, ContactEntry> = BTreeMap::new();
    for id in &ids {
        let entry = match stored.get(id) {
            Some(r) => from_body("contact index", r)?,
            None => ContactEntry::default(),
        };
        entries.insert(id.clone(), entry);
    }
    let before = entries.clone();
    for (number, old, new) in moves {
        for id in old.iter().filter(|id| !new.contains(id)) {
            if let Some(e) = entries.get_mut(id) {
                e.numbers.remove(number);
            }
        }
        for id in new {
            if let Some(e) = entries.get_mut(id) {
                e.numbers.insert(number.clone());
            }
        }
    }
    let mut writes = Vec::new();
    let mut deletes = Vec::new();
    for (id, entry) in entries {
        if before.get(&id) == Some(&entry) {
            continue;
        }
        if entry.numbers.is_empty() {
            deletes.push(id);
        } else {
            writes.push(Record::new(id, None, to_body(&entry)?));
        }
    }
    let records = &run.stores.records;
    for chunk in writes.chunks(25) {
        records
            .put_records(run.shop(), CUSTOMER_CONTACTS, chunk)
            .await?;
    }
    if !deletes.is_empty() {
        records
            .delete_records(run.shop(), CUSTOMER_CONTACTS, &deletes)
            .await?;
    }
    Ok(())
}

/// The BC customer numbers indexed under a normalised e-mail or phone.
pub async fn numbers_for(run: &TaskRun<'_>, kind: ContactKind, key: &str) -> Result<Vec<String>> {
    let id = contact_index_id(kind, key);
    Ok(
        match run
            .stores
            .records
            .get_record(run.shop(), CUSTOMER_CONTACTS, &id)
            .await?
        {
            Some(r) => from_body::<ContactEntry>("contact index", &r)?
                .numbers
                .into_iter()
                .collect(),
            None => Vec::new(),
        },
    )
}
