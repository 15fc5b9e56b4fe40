//! The domain port [`ShopifyCompaniesApi`] on top of the paced, retrying transport: companies
//! updated in a window (with their locations and main contact), one company by id, and the export
//! (`companyUpdate` + `companyLocationUpdate` in one request).
//!
//! The documents live in `graphql/Compan*.graphql` and are declared here (with their fragment) so
//! that the companies code is one module; [`COMPANY_OPERATIONS`] lists them for the schema test
//! (`tests/companies.rs`), which also decodes the recorded B2B answers through these shapes.
//!
//! Why a page is 25 companies: each costs 22 requested points with its main contact and first five
//! locations, so a page stays near 550 of the bucket's 2,000. `userErrors` are data, never `Err`.

use crate::client::ShopifyClient;
use crate::documents::Document;
use crate::error::ShopifyError;
use crate::pagination::PagedData;
use crate::updated_window::updated_search;
use crate::wire::{Connection, UserError};
use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use shopsync_domain::SyncError;
use shopsync_domain::companies::{
    CompanyExport, CompanyExportOutcome, CompanyLocation, CompanyMainContact, CompanyUserError,
    ShopifyCompaniesApi, ShopifyCompany, company_legacy_id, is_company_location_id,
};
use shopsync_domain::orders::{Address, Page};

macro_rules! company_document {
    ($ident:ident, $name:literal) => {
        pub const $ident: Document = Document::new(
            $name,
            concat!(
                include_str!(concat!("../graphql/", $name, ".graphql")),
                "\n",
                include_str!("../graphql/CompanyFields.graphql"),
            ),
        );
    };
}

company_document!(COMPANIES_UPDATED_SINCE, "CompaniesUpdatedSince");
company_document!(COMPANY, "Company");
/// The export (no fragment).
pub const COMPANY_EXPORT: Document = Document::new(
    "CompanyExport",
    include_str!("../graphql/CompanyExport.graphql"),
);

/// Every companies document (for the schema test).
pub const COMPANY_OPERATIONS: &[Document] = &[COMPANIES_UPDATED_SINCE, COMPANY, COMPANY_EXPORT];

// ---------------------------------------------------------------------------------------------
// Wire shapes (every field but the ids optional: the captures select fewer fields than we do)
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EmailNode {
    email_address: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PhoneNode {
    phone_number: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ContactCustomerNode {
    #[serde(default)]
    first_name: Option<String>,
    #[serde(default)]
    last_name: Option<String>,
    #[serde(default)]
    default_email_address: Option<EmailNode>,
    #[serde(default)]
    default_phone_number: Option<PhoneNode>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ContactNode {
    id: String,
    #[serde(default)]
    customer: Option<ContactCustomerNode>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TaxSettingsNode {
    #[serde(default)]
    tax_registration_id: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CompanyAddressNode {
    #[serde(default)]
    address1: Option<String>,
    #[serde(default)]
    address2: Option<String>,
    #[serde(default)]
    city: Option<String>,
    #[serde(default)]
    zip: Option<String>,
    #[serde(default)]
    zone_code: Option<String>,
    #[serde(default)]
    country_code: Option<String>,
    #[serde(default)]
    phone: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LocationNode {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    external_id: Option<String>,
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    tax_settings: Option<TaxSettingsNode>,
    #[serde(default)]
    billing_address: Option<CompanyAddressNode>,
}

#[derive(Debug, Clone, Deserialize)]
struct Nodes<T> {
    nodes: Vec<T>,
}

/// `CompanyFields`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompanyNode {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    external_id: Option<String>,
    #[serde(default)]
    updated_at: Option<String>,
    #[serde(default)]
    main_contact: Option<ContactNode>,
    #[serde(default)]
    locations: Option<Nodes<LocationNode>>,
}

#[derive(Deserialize)]
struct CompaniesData {
    companies: Connection<CompanyNode>,
}

impl PagedData for CompaniesData {
    type Node = CompanyNode;
    const CONNECTION: &'static str = "companies";
    fn into_connection(self) -> Option<Connection<CompanyNode>> {
        Some(self.companies)
    }
}

#[derive(Deserialize)]
struct CompanyData {
    #[serde(default)]
    company: Option<CompanyNode>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdatedCompany {
    #[serde(default)]
    updated_at: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CompanyUpdatePayload {
    #[serde(default)]
    company: Option<UpdatedCompany>,
    #[serde(default)]
    user_errors: Vec<UserError>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LocationUpdatePayload {
    #[serde(default)]
    user_errors: Vec<UserError>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExportData {
    company_update: Option<CompanyUpdatePayload>,
    #[serde(default)]
    company_location_update: Option<LocationUpdatePayload>,
}

fn some_text(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// A decoded company node as the domain's company; `Unexpected` for an id that is not a company's
/// or a company without `updatedAt`.
pub fn company_from_node(node: CompanyNode) -> Result<ShopifyCompany, ShopifyError> {
    let legacy_id = company_legacy_id(&node.id).ok_or_else(|| {
        ShopifyError::Unexpected(format!(
            "company id {:?} is not a gid://shopify/Company/<n>",
            shopsync_domain::text::preview(&node.id)
        ))
    })?;
    let updated_at = node.updated_at.ok_or_else(|| {
        ShopifyError::Unexpected(format!("company {legacy_id} without updatedAt"))
    })?;
    let main_contact = node.main_contact.map(|c| {
        let customer = c.customer.unwrap_or_default();
        CompanyMainContact {
            id: c.id,
            first_name: some_text(customer.first_name),
            last_name: some_text(customer.last_name),
            email: some_text(customer.default_email_address.map(|e| e.email_address)),
            phone: some_text(customer.default_phone_number.map(|p| p.phone_number)),
        }
    });
    let locations = node
        .locations
        .map(|l| l.nodes)
        .unwrap_or_default()
        .into_iter()
        .map(|l| CompanyLocation {
            name: l.name.unwrap_or_default(),
            external_id: some_text(l.external_id),
            phone: some_text(l.phone),
            tax_registration_id: some_text(l.tax_settings.and_then(|t| t.tax_registration_id)),
            billing_address: l.billing_address.map(|a| Address {
                first_name: None,
                last_name: None,
                company: None,
                address1: a.address1,
                address2: a.address2,
                city: a.city,
                province_code: a.zone_code,
                zip: a.zip,
                country_code: a.country_code,
                phone: a.phone,
            }),
            id: l.id,
        })
        .collect();
    Ok(ShopifyCompany {
        legacy_id,
        name: node.name.unwrap_or_default(),
        external_id: some_text(node.external_id),
        updated_at,
        main_contact,
        locations,
        id: node.id,
    })
}

fn user_errors(errors: Vec<UserError>) -> impl Iterator<Item = CompanyUserError> {
    errors.into_iter().map(|e| CompanyUserError {
        code: e.code,
        field: e.field.unwrap_or_default(),
        message: e.message,
    })
}

/// The export answer's `data` as the domain's outcome (either payload may carry `userErrors`).
pub fn company_export_outcome(data: Value) -> Result<CompanyExportOutcome, ShopifyError> {
    let data: ExportData = serde_json::from_value(data)
        .map_err(|e| ShopifyError::Unexpected(format!("companyUpdate answer: {e}")))?;
    let company = data
        .company_update
        .ok_or_else(|| ShopifyError::Unexpected("companyUpdate answer: null payload".into()))?;
    let mut errors: Vec<CompanyUserError> = user_errors(company.user_errors).collect();
    if let Some(location) = data.company_location_update {
        errors.extend(user_errors(location.user_errors));
    }
    Ok(CompanyExportOutcome {
        updated_at: company.company.and_then(|c| c.updated_at),
        user_errors: errors,
    })
}

// ---------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------

/// The `companies(query:)` of an updated-since window: both bounds inclusive.
pub fn companies_search(since: Option<&str>, until: &str) -> Result<String, ShopifyError> {
    updated_search(since, until)
}

fn invalid(what: &str, v: &str) -> ShopifyError {
    ShopifyError::InvalidRequest(format!(
        "{:?} is not a {what}",
        shopsync_domain::text::preview(v)
    ))
}

/// The variables of the export, every id checked against its pattern before it is sent.
pub fn company_export_variables(export: &CompanyExport) -> Result<Value, ShopifyError> {
    if company_legacy_id(&export.company_id).is_none() {
        return Err(invalid("company id", &export.company_id));
    }
    if !is_company_location_id(&export.location_id) {
        return Err(invalid("company location id", &export.location_id));
    }
    let mut location = Map::new();
    location.insert(
        "externalId".into(),
        Value::String(export.location_external_id.clone()),
    );
    if let Some(p) = &export.location_phone {
        location.insert("phone".into(), Value::String(p.clone()));
    }
    Ok(json!({
        "companyId": export.company_id,
        "company": { "name": export.name },
        "locationId": export.location_id,
        "location": Value::Object(location),
    }))
}

impl ShopifyClient {
    /// One page of companies updated in `[since, until]`, oldest update first.
    pub async fn companies_page(
        &self,
        since: Option<&str>,
        until: &str,
        after: Option<&str>,
    ) -> Result<Page<ShopifyCompany>, ShopifyError> {
        self.updated_page::<CompaniesData, _>(
            &COMPANIES_UPDATED_SINCE,
            since,
            until,
            after,
            company_from_node,
        )
        .await
    }

    /// One company by id; `None` when Shopify has none.
    pub async fn company_by_id(&self, id: &str) -> Result<Option<ShopifyCompany>, ShopifyError> {
        if company_legacy_id(id).is_none() {
            return Err(invalid("company id", id));
        }
        let r = self.execute(&COMPANY, json!({ "id": id })).await?;
        let data: CompanyData = r.data_as(COMPANY.name)?;
        data.company.map(company_from_node).transpose()
    }

    /// The export; repeated after a lost answer like a read (see the module's documentation).
    pub async fn export_company(
        &self,
        export: &CompanyExport,
    ) -> Result<CompanyExportOutcome, ShopifyError> {
        let variables = company_export_variables(export)?;
        let r = self.execute(&COMPANY_EXPORT, variables).await?;
        let data: Value = r.data_as(COMPANY_EXPORT.name)?;
        company_export_outcome(data)
    }
}

#[async_trait]
impl ShopifyCompaniesApi for ShopifyClient {
    async fn companies_updated_since(
        &self,
        since: Option<&str>,
        until: &str,
        after: Option<&str>,
    ) -> Result<Page<ShopifyCompany>, SyncError> {
        Ok(self.companies_page(since, until, after).await?)
    }

    async fn company(&self, id: &str) -> Result<Option<ShopifyCompany>, SyncError> {
        Ok(self.company_by_id(id).await?)
    }

    async fn company_export(
        &self,
        export: &CompanyExport,
    ) -> Result<CompanyExportOutcome, SyncError> {
        Ok(self.export_company(export).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_terms_and_ids_are_checked() {
        assert_eq!(
            companies_search(Some("2026-05-01T00:00:00Z"), "2026-05-02T00:00:00Z").unwrap(),
            "updated_at:>='2026-05-01T00:00:00Z' updated_at:<='2026-05-02T00:00:00Z'"
        );
        assert!(companies_search(Some("2026' OR name:*"), "2026-05-02T00:00:00Z").is_err());
        let mut export = CompanyExport {
            company_id: "gid://shopify/Company/1".into(),
            name: "Acme".into(),
            location_id: "gid://shopify/CompanyLocation/2".into(),
            location_phone: None,
            location_external_id: "C00010".into(),
        };
        let v = company_export_variables(&export).unwrap();
        assert_eq!(v["location"], json!({"externalId": "C00010"}));
        export.location_id = "gid://shopify/Company/2".into();
        assert!(company_export_variables(&export).is_err());
    }
}
