//! The record bodies of `sync-companies`: the mirror of each Shopify company ([`COMPANIES`](shopsync_domain::companies::COMPANIES), status
//! `linked` / `unmapped` / `error`) and the link of each BC customer to its company
//! ([`COMPANY_LINKS`](shopsync_domain::companies::COMPANY_LINKS), status `export_pending` while BC's data has to reach Shopify), plus the
//! export a linked BC customer makes.
//!
//! Why a link kind: the export starts from BC customers changed since the last run, so the company
//! of a BC number must be found without scanning every company; and one BC customer belongs to one
//! company (a second company matching it is `unmapped` with the conflict named).

use serde::{Deserialize, Serialize};
use shopsync_domain::companies::{CompanyExport, ShopifyCompany};
use shopsync_domain::sales::BcCustomer;

/// Cursor id (in the shared cursors kind) of the Shopify window.
pub const SHOPIFY_CURSOR: &str = "companies-shopify";
/// Cursor id of BC's `lastModifiedDateTime`.
pub const BC_CURSOR: &str = "companies-bc";

/// A [`COMPANIES`](shopsync_domain::companies::COMPANIES) record's body. `name` and `error` are what the status board's drill-down shows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompanyRecord {
    pub name: String,
    /// `gid://shopify/Company/<n>`.
    pub shopify_id: String,
    pub updated_at: String,
    #[serde(default)]
    pub contact_email: Option<String>,
    #[serde(default)]
    pub contact_phone: Option<String>,
    /// The company location the export writes (`gid://shopify/CompanyLocation/<n>`).
    #[serde(default)]
    pub location_id: Option<String>,
    #[serde(default)]
    pub location_external_id: Option<String>,
    #[serde(default)]
    pub tax_registration_id: Option<String>,
    /// The linked BC customer.
    #[serde(default)]
    pub bc_number: Option<String>,
    /// Why it is `unmapped` or in `error`.
    #[serde(default)]
    pub error: Option<String>,
    /// The job that last handled it (a company read twice in one window is handled once).
    #[serde(default)]
    pub job_id: Option<String>,
    /// Hash of the last export Shopify accepted.
    #[serde(default)]
    pub sent_hash: Option<String>,
    /// The company's `updatedAt` after our last export (the newer-than guard).
    #[serde(default)]
    pub exported_updated_at: Option<String>,
}

impl CompanyRecord {
    /// Take what Shopify says now.
    pub fn refresh(&mut self, c: &ShopifyCompany) {
        let contact = c.main_contact.as_ref();
        let location = c.locations.first();
        self.name = c.name.clone();
        self.shopify_id = c.id.clone();
        self.updated_at = c.updated_at.clone();
        self.contact_email = contact.and_then(|m| m.email.clone());
        self.contact_phone = contact.and_then(|m| m.phone.clone());
        self.location_id = location.map(|l| l.id.clone());
        self.location_external_id = location.and_then(|l| l.external_id.clone());
        self.tax_registration_id = location.and_then(|l| l.tax_registration_id.clone());
    }
}

/// A [`COMPANY_LINKS`](shopsync_domain::companies::COMPANY_LINKS) record's body (its id is the BC customer number).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkRecord {
    /// The company's numeric id.
    pub legacy_id: u64,
    /// `gid://shopify/Company/<n>`.
    pub company_id: String,
    /// The BC customer as last read.
    #[serde(default)]
    pub customer: Option<BcCustomer>,
    /// Why Shopify refused the last export (sent again next run).
    #[serde(default)]
    pub export_error: Option<String>,
}

/// What the export sends for a linked BC customer: its name to the company, its phone and number
/// to the company's first location. `None` when the company has no location to write to.
pub fn export_of(company: &CompanyRecord, customer: &BcCustomer) -> Option<CompanyExport> {
    let location_id = company.location_id.clone()?;
    let name = customer.display_name.trim();
    let phone = customer.phone_number.trim();
    Some(CompanyExport {
        company_id: company.shopify_id.clone(),
        name: if name.is_empty() {
            company.name.clone()
        } else {
            name.to_string()
        },
        location_id,
        location_phone: (!phone.is_empty()).then(|| phone.to_string()),
        location_external_id: customer.number.clone(),
    })
}

/// Record kind of the BC customers as this task last read them (id the number): what a contact
/// index entry's number resolves to, and which index entries a changed customer leaves.
pub const COMPANY_BC_CUSTOMERS: &str = "company-bc-customers";
/// Record kind of this task's contact index: id from
/// [`shopsync_domain::contact::contact_index_id`] of a normalised e-mail or phone, body the BC
/// customer numbers with it. BC's own filters compare text as stored, so `+44-20-7946-0000` would
/// not find `+44 20 7946 0000`; the index finds them by their normalised form.
pub const COMPANY_CONTACTS: &str = "company-contacts";

/// A [`COMPANY_BC_CUSTOMERS`] record's body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BcCopy {
    pub customer: BcCustomer,
    #[serde(default)]
    pub email_key: Option<String>,
    #[serde(default)]
    pub phone_key: Option<String>,
}

/// A [`COMPANY_CONTACTS`] record's body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactEntry {
    pub numbers: std::collections::BTreeSet<String>,
}
