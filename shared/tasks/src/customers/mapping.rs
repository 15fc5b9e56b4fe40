//! What `sync-customers` decides from the settings and the data alone (no I/O): whether and how
//! customers are imported, which BC customer a Shopify customer is, and the values each direction
//! would write. Tested without doubles.

use serde::{Deserialize, Serialize};
use shopsync_domain::contact::{same_email, same_phone};
use shopsync_domain::customers::{
    CustomerSetInput, CustomerUpdate, ShopifyCustomer, postal_address,
};
use shopsync_domain::orders::Address;
use shopsync_domain::sales::{
    BcCustomer, CustomerDefaults, CustomerType, NewCustomer, PostalAddress, limits,
};
use shopsync_domain::settings::{CustomerMappingType, ImportScope, ShopSettings};
use shopsync_domain::text::bounded;

use crate::orders::mapping::{Lookup, pick};

/// How this run imports Shopify customers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportMode {
    /// No import (`customer_import_from_shopify: none`, or a mapping type that maps nobody by
    /// customer, or `with_order_import` without `shopify_can_update_customer`).
    #[default]
    Off,
    /// `with_order_import`: refresh the customers already linked, link or create nobody.
    RefreshKnown,
    /// `all`: link by exact e-mail/phone, create when allowed, refresh the linked.
    All,
}

/// The import mode of `settings`, and why it is off when it is.
pub fn import_mode(settings: &ShopSettings) -> (ImportMode, Option<&'static str>) {
    match settings.customer_mapping_type {
        CustomerMappingType::ByEmailPhone => {}
        CustomerMappingType::DefaultCustomer => {
            return (
                ImportMode::Off,
                Some("customer_mapping_type default_customer maps every buyer to one BC customer"),
            );
        }
        CustomerMappingType::ByBillToInfo => {
            return (
                ImportMode::Off,
                Some(
                    "customer_mapping_type by_bill_to_info is not supported by sync-customers yet",
                ),
            );
        }
    }
    match settings.customer_import_from_shopify {
        ImportScope::None => (
            ImportMode::Off,
            Some("customer_import_from_shopify is none"),
        ),
        ImportScope::WithOrderImport if settings.shopify_can_update_customer => {
            (ImportMode::RefreshKnown, None)
        }
        ImportScope::WithOrderImport => (
            ImportMode::Off,
            Some(
                "with_order_import only refreshes known customers, and shopify_can_update_customer is off",
            ),
        ),
        ImportScope::All => (ImportMode::All, None),
    }
}

/// What people call this customer: the display name, else the e-mail or phone.
pub fn name_of(c: &ShopifyCustomer) -> String {
    let name = person_name(c);
    let name = if name.is_empty() {
        c.email
            .clone()
            .or_else(|| c.phone.clone())
            .unwrap_or_default()
    } else {
        name
    };
    bounded(&name, limits::NAME)
}

fn person_name(c: &ShopifyCustomer) -> String {
    let joined = [c.first_name.as_deref(), c.last_name.as_deref()]
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    if joined.is_empty() {
        c.display_name.trim().to_string()
    } else {
        joined
    }
}

/// The first BC customer (by number, not blocked) among `candidates` whose e-mail, or else whose
/// phone, is exactly the Shopify customer's. Candidates come from the contact index; they are
/// checked again here so that a stale index entry cannot make a link.
pub fn exact_match(c: &ShopifyCustomer, candidates: &[BcCustomer]) -> Lookup {
    let mut by_number: Vec<BcCustomer> = candidates.to_vec();
    by_number.sort_by(|a, b| a.number.cmp(&b.number));
    by_number.dedup_by(|a, b| a.number == b.number);
    let by_email: Vec<BcCustomer> = match &c.email {
        Some(e) => by_number
            .iter()
            .filter(|b| same_email(&b.email, e))
            .cloned()
            .collect(),
        None => Vec::new(),
    };
    let by_phone: Vec<BcCustomer> = match &c.phone {
        Some(p) => by_number
            .iter()
            .filter(|b| same_phone(&b.phone_number, p))
            .cloned()
            .collect(),
        None => Vec::new(),
    };
    match pick(&by_email) {
        Lookup::Found(no) => Lookup::Found(no),
        blocked_or_none => match (pick(&by_phone), blocked_or_none) {
            (Lookup::Found(no), _) => Lookup::Found(no),
            (_, Lookup::Blocked(no)) => Lookup::Blocked(no),
            (phone, _) => phone,
        },
    }
}

/// The BC customer to create for `c` from the template's defaults; `Err` with the reason when BC
/// would refuse it or it could never be found again (no e-mail and no phone).
pub fn new_customer(
    c: &ShopifyCustomer,
    defaults: &CustomerDefaults,
) -> std::result::Result<NewCustomer, String> {
    if c.email.is_none() && c.phone.is_none() {
        return Err("the customer has neither e-mail nor phone: it could not be matched again, so it is not created".into());
    }
    let address = c
        .default_address
        .as_ref()
        .map(postal_address)
        .unwrap_or_default();
    let new = NewCustomer::from_template(
        defaults,
        &name_of(c),
        CustomerType::Person,
        c.email.as_deref(),
        c.phone.as_deref(),
        &address,
    );
    new.validate().map_err(|problems| {
        let fields: Vec<String> = problems
            .iter()
            .map(|p| format!("{} {}", p.field, p.message))
            .collect();
        bounded(
            &format!("a BC customer cannot be created: {}", fields.join("; ")),
            300,
        )
    })?;
    Ok(new)
}

/// What an update from Shopify writes to the BC customer: name, e-mail, phone and the default
/// address, each only when Shopify has one (an empty Shopify field never blanks BC's).
pub fn customer_update(c: &ShopifyCustomer) -> CustomerUpdate {
    let name = person_name(c);
    CustomerUpdate {
        display_name: (!name.is_empty()).then(|| bounded(&name, limits::NAME)),
        email: c.email.clone(),
        phone_number: c.phone.clone(),
        address: c
            .default_address
            .as_ref()
            .map(postal_address)
            .filter(|a| !a.line1.is_empty() || !a.city.is_empty())
            .map(|a| a.fitted()),
    }
}

/// The `customerSet` input of a BC customer: its name split into first and last at the first
/// space (BC has one name field), its e-mail, phone and address, each only when BC has one.
pub fn export_input(b: &BcCustomer) -> CustomerSetInput {
    let name = b.display_name.trim();
    let (first, last) = match name.split_once(' ') {
        Some((f, l)) => (Some(f.trim().to_string()), Some(l.trim().to_string())),
        None if !name.is_empty() => (None, Some(name.to_string())),
        None => (None, None),
    };
    let text = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    let a: &PostalAddress = &b.address;
    let address = (!a.line1.trim().is_empty() || !a.city.trim().is_empty()).then(|| Address {
        first_name: first.clone(),
        last_name: last.clone(),
        company: None,
        address1: text(&a.line1),
        address2: text(&a.line2),
        city: text(&a.city),
        province_code: text(&a.state),
        zip: text(&a.postal_code),
        country_code: text(&a.country),
        phone: None,
    });
    CustomerSetInput {
        first_name: first,
        last_name: last,
        email: text(&b.email),
        phone: text(&b.phone_number),
        address,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn bc(no: &str, email: &str, phone: &str) -> BcCustomer {
        BcCustomer {
            id: format!(
                "00000000-0000-0000-0000-{:0>12}",
                no.trim_start_matches('C')
            ),
            number: no.into(),
            display_name: format!("Customer {no}"),
            customer_type: CustomerType::Person,
            email: email.into(),
            phone_number: phone.into(),
            tax_registration_number: String::new(),
            address: PostalAddress::default(),
            currency_code: String::new(),
            blocked: false,
            last_modified: "2026-05-01T00:00:00Z".into(),
        }
    }

    fn shopify(email: Option<&str>, phone: Option<&str>) -> ShopifyCustomer {
        ShopifyCustomer {
            id: "gid://shopify/Customer/1".into(),
            legacy_id: 1,
            first_name: Some("Jane".into()),
            last_name: Some("Doe".into()),
            display_name: "Jane Doe".into(),
            email: email.map(String::from),
            phone: phone.map(String::from),
            updated_at: "2026-05-01T00:00:00Z".into(),
            default_address: None,
        }
    }

    #[test]
    fn matches_are_exact_after_normalising() {
        let all = [
            bc("C1", "JANE@Example.com", ""),
            bc("C2", "", "+44 20 7946 0000"),
            bc("C3", "jane.doe@example.org", "+44 20 7946 0001"),
        ];
        let c = shopify(Some("jane@example.com"), None);
        assert_eq!(exact_match(&c, &all), Lookup::Found("C1".into()));
        let c = shopify(None, Some("+442079460000"));
        assert_eq!(exact_match(&c, &all), Lookup::Found("C2".into()));
        let c = shopify(Some("doe@example.org"), Some("+44 20 7946 00"));
        assert_eq!(exact_match(&c, &all), Lookup::NotFound, "no partial match");
    }

    #[test]
    fn an_unblocked_phone_match_beats_a_blocked_email_match() {
        let mut blocked = bc("C1", "jane@example.com", "");
        blocked.blocked = true;
        let all = [blocked, bc("C2", "", "+1 555 010 0199")];
        let c = shopify(Some("jane@example.com"), Some("+15550100199"));
        assert_eq!(exact_match(&c, &all), Lookup::Found("C2".into()));
        let c = shopify(Some("jane@example.com"), None);
        assert_eq!(exact_match(&c, &all), Lookup::Blocked("C1".into()));
    }

    #[test]
    fn exports_split_the_name_and_leave_empty_fields_alone() {
        let mut b = bc("C1", "jane@example.com", "");
        b.display_name = "Jane van Dijk".into();
        let input = export_input(&b);
        assert_eq!(input.first_name.as_deref(), Some("Jane"));
        assert_eq!(input.last_name.as_deref(), Some("van Dijk"));
        assert_eq!(input.phone, None);
        assert_eq!(input.address, None);
    }

    #[test]
    fn a_customer_without_contact_is_not_created() {
        assert!(new_customer(&shopify(None, None), &CustomerDefaults::default()).is_err());
        let new = new_customer(
            &shopify(Some("jane@example.com"), None),
            &CustomerDefaults::default(),
        )
        .unwrap();
        assert_eq!(new.display_name, "Jane Doe");
    }
}
