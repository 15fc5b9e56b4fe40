//! [`BcCustomersApi`] on BC API v2.0 `customers`: the customers changed since an instant (the
//! export of `sync-customers` and its contact index read them), and the update of a customer from
//! Shopify.
//!
//! - **Changed since**: `$filter=lastModifiedDateTime gt <instant>`, every page. The instant is
//!   parsed and written again by us (`2026-03-01T10:00:00.000Z`) before it goes into the filter, so
//!   no caller text reaches the URL.
//! - **Update**: `PATCH customers({id})` with only the fields that change and `If-Match: *`: the
//!   values come from the Shopify customer the link names, and the task decided to write them from
//!   what it read in the same run; a PATCH of the same values is harmless to repeat.

use crate::client::BcClient;
use crate::error::BcError;
use crate::sales::{CustomerRow, invalid, iso_to_ms, ms_to_iso, problems};
use crate::urls::with_query;
use async_trait::async_trait;
use serde_json::{Map, Value};
use shopsync_domain::customers::{BcCustomersApi, CustomerUpdate};
use shopsync_domain::patterns::is_guid;
use shopsync_domain::ports::Result;
use shopsync_domain::sales::{BcCustomer, NewCustomer, PostalAddress, to_code};

type Res<T> = std::result::Result<T, BcError>;

/// The `$filter` of customers modified after `since`.
pub fn modified_since_filter(since: &str) -> Res<String> {
    let ms = iso_to_ms(since).ok_or_else(|| {
        invalid(format!(
            "the customers cursor must be an RFC 3339 instant: {}",
            shopsync_domain::text::preview(since)
        ))
    })?;
    Ok(format!("lastModifiedDateTime gt {}", ms_to_iso(ms)))
}

/// The PATCH body of an update (only the fields it sets), checked against BC's field lengths.
pub fn update_body(update: &CustomerUpdate) -> Res<Value> {
    // The checks of a new customer apply field for field.
    let probe = NewCustomer {
        display_name: update
            .display_name
            .clone()
            .unwrap_or_else(|| "unchanged".into()),
        email: update.email.clone(),
        phone_number: update.phone_number.clone(),
        address: update.address.clone().unwrap_or_default(),
        ..NewCustomer::default()
    };
    probe
        .validate()
        .map_err(|p| problems("the customer update", p))?;
    let mut m = Map::new();
    let mut put = |k: &str, v: &str| {
        m.insert(k.into(), Value::String(v.to_string()));
    };
    if let Some(v) = &update.display_name {
        put("displayName", v);
    }
    if let Some(v) = &update.email {
        put("email", v);
    }
    if let Some(v) = &update.phone_number {
        put("phoneNumber", v);
    }
    if let Some(a) = &update.address {
        let a: PostalAddress = a.fitted();
        put("addressLine1", &a.line1);
        put("addressLine2", &a.line2);
        put("city", &a.city);
        put("state", &a.state);
        put("country", &to_code(&a.country));
        put("postalCode", &a.postal_code);
    }
    Ok(Value::Object(m))
}

impl BcClient {
    /// Customers modified after `since` (all when `None`), in (modified, number) order.
    pub async fn customers_modified_after(&self, since: Option<&str>) -> Res<Vec<BcCustomer>> {
        let filter = since.map(modified_since_filter).transpose()?;
        let mut options: Vec<(&str, &str)> = Vec::new();
        if let Some(f) = &filter {
            options.push(("$filter", f));
        }
        let url = with_query(&self.company_url("customers"), &options);
        let rows: Vec<CustomerRow> = self.get_collection(&url).await?;
        let mut customers: Vec<BcCustomer> =
            rows.into_iter().map(CustomerRow::into_customer).collect();
        customers.sort_by(|a, b| {
            (iso_to_ms(&a.last_modified), &a.number).cmp(&(iso_to_ms(&b.last_modified), &b.number))
        });
        Ok(customers)
    }

    /// PATCH a customer's fields.
    pub async fn patch_customer(
        &self,
        customer_id: &str,
        update: &CustomerUpdate,
    ) -> Res<BcCustomer> {
        if !is_guid(customer_id) {
            return Err(invalid(format!(
                "a customer id must be a GUID: {}",
                shopsync_domain::text::preview(customer_id)
            )));
        }
        let body = update_body(update)?;
        let patched = self
            .patch_json::<_, CustomerRow>(
                &self.company_url(&format!("customers({customer_id})")),
                "*",
                &body,
            )
            .await?;
        Ok(patched.entity.into_customer())
    }
}

#[async_trait]
impl BcCustomersApi for BcClient {
    async fn customers_modified_since(&self, since: Option<&str>) -> Result<Vec<BcCustomer>> {
        Ok(self.customers_modified_after(since).await?)
    }

    async fn update_customer(
        &self,
        customer_id: &str,
        update: &CustomerUpdate,
    ) -> Result<BcCustomer> {
        Ok(self.patch_customer(customer_id, update).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filter_instant_is_rewritten_by_us() {
        assert_eq!(
            modified_since_filter("2026-05-01T10:00:00+02:00").unwrap(),
            "lastModifiedDateTime gt 2026-05-01T08:00:00.000Z"
        );
        assert!(modified_since_filter("2026-05-01' or 1 eq 1").is_err());
    }

    #[test]
    fn an_update_sets_only_its_fields() {
        let body = update_body(&CustomerUpdate {
            email: Some("jane@example.com".into()),
            ..CustomerUpdate::default()
        })
        .unwrap();
        assert_eq!(body, serde_json::json!({"email": "jane@example.com"}));
        assert!(
            update_body(&CustomerUpdate {
                email: Some("x".repeat(200)),
                ..CustomerUpdate::default()
            })
            .is_err()
        );
    }
}
