//! Shopify B2B companies, for `sync-companies` (the reference's report 30114): the company as the
//! import reads it (its locations and its main contact), the update the export sends, the port
//! through which the task reaches Shopify ([`ShopifyCompaniesApi`]) and the record kinds and
//! statuses the task keeps in the record store.
//!
//! Why these shapes:
//!
//! - **One read per page.** `companies(query: "updated_at:>=… updated_at:<=…", sortKey: UPDATED_AT)`
//!   with each company's locations and main contact in the same query, where the reference reads
//!   ids first and then every company on its own (12 + 14 points a company).
//! - **The main contact is the buyer's identity.** Mapping by e-mail/phone uses the main contact's
//!   customer e-mail and phone, matched exactly ([`crate::contact`]).
//! - **The export is one request.** `companyUpdate` (name) and `companyLocationUpdate` (the main
//!   location's phone and `externalId` = the BC customer number) go in one GraphQL operation,
//!   run in order by Shopify. Neither has an `@idempotent` key in 2026-07, but both only *set*
//!   fields, so sending the same payload twice leaves the same company: the export is safe to resend.

use crate::orders::{Address, Page};
use crate::ports::Result;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// Record kind of the Shopify companies the task has seen: one record per company, id its numeric
/// `legacyResourceId` (digits only, [`company_legacy_id`]), status [`company_status`].
pub const COMPANIES: &str = "companies";
/// Record kind of the BC customers linked to a company: id the BC customer number (a BC
/// `Code[20]`, checked with [`crate::patterns::is_bc_code`]), status
/// [`company_status::EXPORT_PENDING`] while its data still has to go to Shopify.
pub const COMPANY_LINKS: &str = "company-links";

/// Statuses of [`COMPANIES`] (and [`COMPANY_LINKS`]) records. `unmapped` and `error` are indexed:
/// the status board's unmapped-companies cue counts `unmapped`, the next run retries `error`.
pub mod company_status {
    /// Linked to a BC customer.
    pub const LINKED: &str = "linked";
    /// No BC customer matches, and none may be created.
    pub const UNMAPPED: &str = "unmapped";
    /// Importing it failed (BC refused the new customer, the data cannot make one); retried next run.
    pub const ERROR: &str = "error";
    /// Named by a B2B order before sync-companies has seen it: the next sync-companies run imports
    /// it (even when `company_import_from_shopify` is `with_order_import`), as the reference's order
    /// import imports an order's company.
    pub const REQUESTED: &str = "requested";
    /// A [`super::COMPANY_LINKS`] record whose BC data has not reached Shopify yet.
    pub const EXPORT_PENDING: &str = "export_pending";
}

/// A company's main contact: the customer behind it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompanyMainContact {
    /// `gid://shopify/CompanyContact/<n>`.
    pub id: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// One location (branch) of a company.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompanyLocation {
    /// `gid://shopify/CompanyLocation/<n>`.
    pub id: String,
    pub name: String,
    pub external_id: Option<String>,
    pub phone: Option<String>,
    /// From `taxSettings.taxRegistrationId`.
    pub tax_registration_id: Option<String>,
    pub billing_address: Option<Address>,
}

/// A Shopify company with what the import and the export need.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShopifyCompany {
    /// `gid://shopify/Company/<n>`.
    pub id: String,
    /// The numeric id, the record id of its mirror.
    pub legacy_id: u64,
    pub name: String,
    pub external_id: Option<String>,
    pub updated_at: String,
    pub main_contact: Option<CompanyMainContact>,
    /// The first locations (the first is the one the export writes).
    pub locations: Vec<CompanyLocation>,
}

/// What the export writes: the company's name, its location's phone and external id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompanyExport {
    /// `gid://shopify/Company/<n>`.
    pub company_id: String,
    pub name: String,
    /// `gid://shopify/CompanyLocation/<n>`.
    pub location_id: String,
    pub location_phone: Option<String>,
    /// The BC customer number.
    pub location_external_id: String,
}

/// A `BusinessCustomerUserError`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompanyUserError {
    pub code: Option<String>,
    pub field: Vec<String>,
    pub message: String,
}

/// What the export answered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompanyExportOutcome {
    /// The company's `updatedAt` after the update (feeds the newer-than guard of the import);
    /// `None` when Shopify answered no company.
    pub updated_at: Option<String>,
    /// Both mutations' `userErrors`.
    pub user_errors: Vec<CompanyUserError>,
}

/// Shopify's B2B companies.
#[async_trait]
pub trait ShopifyCompaniesApi: Send + Sync {
    /// One page of the companies updated at or after `since` (all when `None`) and at or before
    /// `until`, oldest update first, each with its first locations and its main contact.
    async fn companies_updated_since(
        &self,
        since: Option<&str>,
        until: &str,
        after: Option<&str>,
    ) -> Result<Page<ShopifyCompany>>;

    /// One company by id (`gid://shopify/Company/<n>`); `None` when it is gone.
    async fn company(&self, id: &str) -> Result<Option<ShopifyCompany>>;

    /// `companyUpdate` + `companyLocationUpdate` in one request.
    async fn company_export(&self, export: &CompanyExport) -> Result<CompanyExportOutcome>;
}

/// The numeric id of a `gid://shopify/<kind>/<n>`; `None` for anything else.
fn legacy_id_of(gid: &str, kind: &str) -> Option<u64> {
    let n = gid
        .strip_prefix("gid://shopify/")?
        .strip_prefix(kind)?
        .strip_prefix('/')?;
    if n.is_empty() || n.len() > 20 || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    n.parse().ok()
}

/// The numeric id of a `gid://shopify/Company/<n>`; `None` for anything else.
pub fn company_legacy_id(gid: &str) -> Option<u64> {
    legacy_id_of(gid, "Company")
}

/// Whether `gid` is a `gid://shopify/CompanyLocation/<n>` (the only ids the export sends).
pub fn is_company_location_id(gid: &str) -> bool {
    legacy_id_of(gid, "CompanyLocation").is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_ids_only_from_company_gids() {
        assert_eq!(company_legacy_id("gid://shopify/Company/42"), Some(42));
        assert_eq!(company_legacy_id("gid://shopify/CompanyLocation/42"), None);
        assert_eq!(company_legacy_id("gid://shopify/Company/4a"), None);
        assert_eq!(company_legacy_id("gid://shopify/Company/"), None);
        assert!(is_company_location_id("gid://shopify/CompanyLocation/7"));
        assert!(!is_company_location_id("gid://shopify/Company/7"));
    }
}
