//! The domain port [`ShopifyCustomersApi`] on top of the paced, retrying transport: customers
//! updated in a window, one customer by id, and the `customerSet` upsert.
//!
//! The documents live in `graphql/Customer*.graphql` and are declared here (with their fragment
//! files) rather than in [`crate::documents`], so that the customers code is one module;
//! [`CUSTOMER_OPERATIONS`] lists them for the schema test (`tests/customers.rs`).
//!
//! Why the reads are shaped as they are (cost): a page of 50 customers with their default e-mail,
//! phone and address is 202 requested points, the per-customer query of the reference (12 points a
//! customer, after an id-only page) is not needed. Why the write is safe to repeat: `customerSet`
//! has no `@idempotent` in 2026-07; it is an upsert, and the export always names the customer by
//! its id, so a retry after a lost answer updates the same customer with the same values.
//! `userErrors` are data, never `Err`.

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
use shopsync_domain::customers::{
    CustomerIdentifier, CustomerSetInput, CustomerSetOutcome, CustomerUserError, ShopifyCustomer,
    ShopifyCustomersApi, customer_legacy_id,
};
use shopsync_domain::orders::{Address, Page};

macro_rules! customer_document {
    ($ident:ident, $name:literal) => {
        pub const $ident: Document = Document::new(
            $name,
            concat!(
                include_str!(concat!("../graphql/", $name, ".graphql")),
                "\n",
                include_str!("../graphql/CustomerFields.graphql"),
                "\n",
                include_str!("../graphql/AddressFields.graphql"),
            ),
        );
    };
}

customer_document!(CUSTOMERS_UPDATED_SINCE, "CustomersUpdatedSince");
customer_document!(CUSTOMER, "Customer");
customer_document!(CUSTOMER_SET, "CustomerSet");

/// Every customers document (for the schema test).
pub const CUSTOMER_OPERATIONS: &[Document] = &[CUSTOMERS_UPDATED_SINCE, CUSTOMER, CUSTOMER_SET];

// ---------------------------------------------------------------------------------------------
// Wire shapes
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EmailNode {
    email_address: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PhoneNode {
    phone_number: String,
}

/// `AddressFields` (every field optional: the captures select fewer fields than we do).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AddressNode {
    #[serde(default)]
    first_name: Option<String>,
    #[serde(default)]
    last_name: Option<String>,
    #[serde(default)]
    company: Option<String>,
    #[serde(default)]
    address1: Option<String>,
    #[serde(default)]
    address2: Option<String>,
    #[serde(default)]
    city: Option<String>,
    #[serde(default)]
    province_code: Option<String>,
    #[serde(default)]
    zip: Option<String>,
    #[serde(default, rename = "countryCodeV2")]
    country_code_v2: Option<String>,
    #[serde(default)]
    phone: Option<String>,
}

/// `CustomerFields`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerNode {
    id: String,
    #[serde(default)]
    first_name: Option<String>,
    #[serde(default)]
    last_name: Option<String>,
    #[serde(default)]
    display_name: Option<String>,
    updated_at: String,
    #[serde(default)]
    default_email_address: Option<EmailNode>,
    #[serde(default)]
    default_phone_number: Option<PhoneNode>,
    #[serde(default)]
    default_address: Option<AddressNode>,
}

#[derive(Deserialize)]
struct CustomersData {
    customers: Connection<CustomerNode>,
}

impl PagedData for CustomersData {
    type Node = CustomerNode;
    const CONNECTION: &'static str = "customers";
    fn into_connection(self) -> Option<Connection<CustomerNode>> {
        Some(self.customers)
    }
}

#[derive(Deserialize)]
struct CustomerData {
    #[serde(default)]
    customer: Option<CustomerNode>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CustomerSetData {
    customer_set: Option<CustomerSetPayload>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CustomerSetPayload {
    #[serde(default)]
    customer: Option<CustomerNode>,
    #[serde(default)]
    user_errors: Vec<UserError>,
}

fn some_text(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// A decoded customer node as the domain's customer; `Unexpected` for an id that is not a
/// customer's.
pub fn customer_from_node(node: CustomerNode) -> Result<ShopifyCustomer, ShopifyError> {
    let legacy_id = customer_legacy_id(&node.id).ok_or_else(|| {
        ShopifyError::Unexpected(format!(
            "customer id {:?} is not a gid://shopify/Customer/<n>",
            shopsync_domain::text::preview(&node.id)
        ))
    })?;
    Ok(ShopifyCustomer {
        legacy_id,
        display_name: node.display_name.unwrap_or_default(),
        first_name: some_text(node.first_name),
        last_name: some_text(node.last_name),
        email: some_text(node.default_email_address.map(|e| e.email_address)),
        phone: some_text(node.default_phone_number.map(|p| p.phone_number)),
        updated_at: node.updated_at,
        default_address: node.default_address.map(|a| Address {
            first_name: a.first_name,
            last_name: a.last_name,
            company: a.company,
            address1: a.address1,
            address2: a.address2,
            city: a.city,
            province_code: a.province_code,
            zip: a.zip,
            country_code: a.country_code_v2,
            phone: a.phone,
        }),
        id: node.id,
    })
}

/// The `customerSet` answer's `data` as the domain's outcome.
pub fn customer_set_outcome(data: Value) -> Result<CustomerSetOutcome, ShopifyError> {
    let data: CustomerSetData = serde_json::from_value(data)
        .map_err(|e| ShopifyError::Unexpected(format!("customerSet answer: {e}")))?;
    let payload = data
        .customer_set
        .ok_or_else(|| ShopifyError::Unexpected("customerSet answer: null payload".into()))?;
    Ok(CustomerSetOutcome {
        customer: payload.customer.map(customer_from_node).transpose()?,
        user_errors: payload
            .user_errors
            .into_iter()
            .map(|e| CustomerUserError {
                code: e.code,
                field: e.field.unwrap_or_default(),
                message: e.message,
            })
            .collect(),
    })
}

// ---------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------

/// The `customers(query:)` of an updated-since window: both bounds inclusive.
pub fn customers_search(since: Option<&str>, until: &str) -> Result<String, ShopifyError> {
    updated_search(since, until)
}

/// A `gid://shopify/Customer/<n>`, checked before it is sent.
fn customer_gid(id: &str) -> Result<&str, ShopifyError> {
    customer_legacy_id(id).map(|_| id).ok_or_else(|| {
        ShopifyError::InvalidRequest(format!(
            "{:?} is not a customer id",
            shopsync_domain::text::preview(id)
        ))
    })
}

fn put(m: &mut Map<String, Value>, key: &str, v: &Option<String>) {
    if let Some(v) = v {
        m.insert(key.into(), Value::String(v.clone()));
    }
}

/// The `customerSet` variables of an upsert.
pub fn customer_set_variables(
    identifier: &CustomerIdentifier,
    input: &CustomerSetInput,
) -> Result<Value, ShopifyError> {
    let identifier = match identifier {
        CustomerIdentifier::Id(id) => json!({ "id": customer_gid(id)? }),
        CustomerIdentifier::Email(e) => json!({ "email": e }),
        CustomerIdentifier::Phone(p) => json!({ "phone": p }),
    };
    let mut m = Map::new();
    put(&mut m, "firstName", &input.first_name);
    put(&mut m, "lastName", &input.last_name);
    put(&mut m, "email", &input.email);
    put(&mut m, "phone", &input.phone);
    if let Some(a) = &input.address {
        let mut addr = Map::new();
        put(&mut addr, "firstName", &a.first_name);
        put(&mut addr, "lastName", &a.last_name);
        put(&mut addr, "company", &a.company);
        put(&mut addr, "address1", &a.address1);
        put(&mut addr, "address2", &a.address2);
        put(&mut addr, "city", &a.city);
        put(&mut addr, "provinceCode", &a.province_code);
        put(&mut addr, "zip", &a.zip);
        put(&mut addr, "countryCode", &a.country_code);
        put(&mut addr, "phone", &a.phone);
        m.insert("addresses".into(), Value::Array(vec![Value::Object(addr)]));
    }
    Ok(json!({ "identifier": identifier, "input": Value::Object(m) }))
}

impl ShopifyClient {
    /// One page of customers updated in `[since, until]`, oldest update first.
    pub async fn customers_page(
        &self,
        since: Option<&str>,
        until: &str,
        after: Option<&str>,
    ) -> Result<Page<ShopifyCustomer>, ShopifyError> {
        self.updated_page::<CustomersData, _>(
            &CUSTOMERS_UPDATED_SINCE,
            since,
            until,
            after,
            customer_from_node,
        )
        .await
    }

    /// One customer by id; `None` when Shopify has none.
    pub async fn customer_by_id(&self, id: &str) -> Result<Option<ShopifyCustomer>, ShopifyError> {
        let id = customer_gid(id)?;
        let r = self.execute(&CUSTOMER, json!({ "id": id })).await?;
        let data: CustomerData = r.data_as(CUSTOMER.name)?;
        data.customer.map(customer_from_node).transpose()
    }

    /// `customerSet`; repeated after a lost answer like a read (see the module's documentation).
    pub async fn set_customer(
        &self,
        identifier: &CustomerIdentifier,
        input: &CustomerSetInput,
    ) -> Result<CustomerSetOutcome, ShopifyError> {
        let variables = customer_set_variables(identifier, input)?;
        let r = self.execute(&CUSTOMER_SET, variables).await?;
        let data: Value = r.data_as(CUSTOMER_SET.name)?;
        customer_set_outcome(data)
    }
}

#[async_trait]
impl ShopifyCustomersApi for ShopifyClient {
    async fn customers_updated_since(
        &self,
        since: Option<&str>,
        until: &str,
        after: Option<&str>,
    ) -> Result<Page<ShopifyCustomer>, SyncError> {
        Ok(self.customers_page(since, until, after).await?)
    }

    async fn customer(&self, id: &str) -> Result<Option<ShopifyCustomer>, SyncError> {
        Ok(self.customer_by_id(id).await?)
    }

    async fn customer_set(
        &self,
        identifier: &CustomerIdentifier,
        input: &CustomerSetInput,
    ) -> Result<CustomerSetOutcome, SyncError> {
        Ok(self.set_customer(identifier, input).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_terms_are_checked() {
        assert_eq!(
            customers_search(Some("2026-05-01T00:00:00Z"), "2026-05-02T00:00:00Z").unwrap(),
            "updated_at:>='2026-05-01T00:00:00Z' updated_at:<='2026-05-02T00:00:00Z'"
        );
        assert!(customers_search(Some("2026' OR email:*"), "2026-05-02T00:00:00Z").is_err());
        assert!(customer_gid("gid://shopify/Customer/1' x").is_err());
    }

    #[test]
    fn set_variables_name_the_customer_and_replace_the_address() {
        let v = customer_set_variables(
            &CustomerIdentifier::Id("gid://shopify/Customer/7".into()),
            &CustomerSetInput {
                first_name: Some("Jane".into()),
                email: Some("jane@example.com".into()),
                address: Some(Address {
                    first_name: None,
                    last_name: None,
                    company: None,
                    address1: Some("1 Main St".into()),
                    address2: None,
                    city: Some("Leeds".into()),
                    province_code: None,
                    zip: Some("LS1 1AA".into()),
                    country_code: Some("GB".into()),
                    phone: None,
                }),
                ..CustomerSetInput::default()
            },
        )
        .unwrap();
        assert_eq!(v["identifier"], json!({"id": "gid://shopify/Customer/7"}));
        assert_eq!(v["input"]["addresses"][0]["countryCode"], "GB");
        assert!(
            v["input"].get("phone").is_none(),
            "unset fields are left alone"
        );
    }
}
