//! Customers on both sides, for `sync-customers` (the reference's report 30100): the Shopify
//! customer as the import reads it, the `customerSet` upsert the export sends, the ports through
//! which the task reaches them ([`ShopifyCustomersApi`], [`BcCustomersApi`]) and the record kinds
//! and statuses the task keeps in the record store.
//!
//! Why these shapes:
//!
//! - **`customerSet` by identifier.** 2026-07 offers no `@idempotent` key on `customerSet`; it is an
//!   upsert keyed by [`CustomerIdentifier`]. The export only updates customers already linked, by
//!   their Shopify id, so a repeated call writes the same values again and cannot create a second
//!   customer.
//! - **Reads are windows of `updatedAt`.** Shopify's `customers(query: "updated_at:>=…")` with
//!   sort key `UPDATED_AT`; the window's upper bound keeps paging stable while customers change.
//! - **BC customers by `lastModifiedDateTime`.** API v2.0 `customers` filtered with
//!   `lastModifiedDateTime gt …` gives what changed since the last run, for the export and for the
//!   contact index that makes e-mail/phone matching exact (see [`crate::contact`]).

use crate::orders::{Address, Page};
use crate::ports::Result;
use crate::sales::BcCustomer;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// Record kind of the Shopify customers the task has seen: one record per Shopify customer, id its
/// numeric `legacyResourceId` (digits only), status [`customer_status`].
pub const CUSTOMERS: &str = "customers";
/// Record kind of the BC customers the task has seen: one record per BC customer, id its number
/// (a BC `Code[20]`, checked with [`crate::patterns::is_bc_code`]).
pub const BC_CUSTOMERS: &str = "bc-customers";
/// Record kind of the contact index: id from [`crate::contact::contact_index_id`], body the BC
/// customer numbers with that e-mail or phone.
pub const CUSTOMER_CONTACTS: &str = "customer-contacts";

/// Statuses of [`CUSTOMERS`] records. `unmapped` and `error` are indexed (the status board's
/// unmapped-customers cue counts `unmapped`); `linked` is the quiet state.
pub mod customer_status {
    /// Linked to a BC customer.
    pub const LINKED: &str = "linked";
    /// No BC customer matches, and none may be created (or only blocked ones match).
    pub const UNMAPPED: &str = "unmapped";
    /// Importing it failed (BC refused the new customer, the data cannot make one); retried next run.
    pub const ERROR: &str = "error";
}

/// A Shopify customer with what the import and the export need.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShopifyCustomer {
    /// `gid://shopify/Customer/<n>`.
    pub id: String,
    /// The numeric id (`legacyResourceId`), the record id of its mirror.
    pub legacy_id: u64,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub display_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub updated_at: String,
    pub default_address: Option<Address>,
}

/// How `customerSet` finds the customer to update (`CustomerSetIdentifiers`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CustomerIdentifier {
    Id(String),
    Email(String),
    Phone(String),
}

/// The fields of a `customerSet` (`CustomerSetInput`); `None` leaves a field as it is. The address,
/// when given, replaces the customer's address list (Shopify's list semantics).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerSetInput {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub address: Option<Address>,
}

/// A `customerSet` `userErrors` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerUserError {
    pub code: Option<String>,
    pub field: Vec<String>,
    pub message: String,
}

/// What `customerSet` answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerSetOutcome {
    /// The customer as written (its new `updatedAt` feeds the newer-than guard of the import).
    pub customer: Option<ShopifyCustomer>,
    pub user_errors: Vec<CustomerUserError>,
}

/// Shopify's customers.
#[async_trait]
pub trait ShopifyCustomersApi: Send + Sync {
    /// One page of the customers updated at or after `since` (all when `None`) and at or before
    /// `until`, oldest update first.
    async fn customers_updated_since(
        &self,
        since: Option<&str>,
        until: &str,
        after: Option<&str>,
    ) -> Result<Page<ShopifyCustomer>>;

    /// One customer by id (`gid://shopify/Customer/<n>`); `None` when it is gone.
    async fn customer(&self, id: &str) -> Result<Option<ShopifyCustomer>>;

    /// Upsert one customer (`customerSet`).
    async fn customer_set(
        &self,
        identifier: &CustomerIdentifier,
        input: &CustomerSetInput,
    ) -> Result<CustomerSetOutcome>;
}

/// What an update from Shopify changes on a BC customer (`None`: left as it is).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerUpdate {
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub phone_number: Option<String>,
    pub address: Option<crate::sales::PostalAddress>,
}

impl CustomerUpdate {
    pub fn is_empty(&self) -> bool {
        self.display_name.is_none()
            && self.email.is_none()
            && self.phone_number.is_none()
            && self.address.is_none()
    }
}

/// Business Central's customers, beyond what the orders pipeline needs ([`crate::sales::BcSalesApi`]).
#[async_trait]
pub trait BcCustomersApi: Send + Sync {
    /// Customers whose `lastModifiedDateTime` is after `since` (an RFC 3339 instant; all when
    /// `None`), in (modified, number) order.
    async fn customers_modified_since(&self, since: Option<&str>) -> Result<Vec<BcCustomer>>;

    /// Change a customer's fields (`PATCH customers({id})`); the customer as BC now has it.
    async fn update_customer(
        &self,
        customer_id: &str,
        update: &CustomerUpdate,
    ) -> Result<BcCustomer>;
}

/// A Shopify address as BC's postal address (missing parts empty), shared by the order import and
/// `sync-customers` so both put the same address on the customers they create.
pub fn postal_address(a: &Address) -> crate::sales::PostalAddress {
    let s = |v: &Option<String>| v.as_deref().unwrap_or("").trim().to_string();
    crate::sales::PostalAddress {
        line1: s(&a.address1),
        line2: s(&a.address2),
        city: s(&a.city),
        state: s(&a.province_code),
        country: s(&a.country_code),
        postal_code: s(&a.zip),
    }
}

/// The numeric id of a `gid://shopify/Customer/<n>`; `None` for anything else.
pub fn customer_legacy_id(gid: &str) -> Option<u64> {
    let n = gid.strip_prefix("gid://shopify/Customer/")?;
    if n.is_empty() || n.len() > 20 || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    n.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_ids_only_from_customer_gids() {
        assert_eq!(customer_legacy_id("gid://shopify/Customer/42"), Some(42));
        assert_eq!(customer_legacy_id("gid://shopify/Customer/4a"), None);
        assert_eq!(customer_legacy_id("gid://shopify/Order/42"), None);
        assert_eq!(customer_legacy_id("gid://shopify/Customer/"), None);
    }
}
