//! Customers as `sync-customers` sees them: the `customers(query: "updated_at:…")` window, one
//! `customer(id:)`, and the `customerSet` upsert (2026-07), with e-mail, phone and a default address.
//!
//! The customers are the order book's (`OrderBook::customers`, which orders seed too); what only
//! the customers API needs — `updatedAt`, `createdAt` and the addresses — is kept beside them in
//! [`CustomerExt`], index for index, and filled in for customers seeded with orders the first time
//! it is looked at ([`CustomerExt::sync`]).
//!
//! `customerSet` follows the captures (`captures/customers/customer-set-*.json`): an upsert keyed
//! by `identifier` (`id`, `email` or `phone`); an unknown `id` is a `userErrors` entry
//! (`NOT_FOUND`, field `input`), an unknown e-mail or phone creates the customer; the e-mail and
//! the phone are unique in a store (`TAKEN`); a customer needs a name, e-mail or phone; `addresses`
//! replaces the list and its first entry becomes the default address. `@idempotent` is refused, as
//! Shopify does not offer it on `customerSet`. Every change moves `updatedAt` forward (strictly,
//! so a client comparing instants never sees two versions with one time).

use serde_json::Value as Json;

use crate::inventory::UserErr;
use crate::orders::CustomerRec;
use crate::schema::{FK, N, T};
use crate::store::StoreData;

/// A customer's address, as `MailingAddressInput` gives it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerAddressSeed {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub company: Option<String>,
    pub address1: Option<String>,
    pub address2: Option<String>,
    pub city: Option<String>,
    pub province_code: Option<String>,
    pub zip: Option<String>,
    pub country_code: Option<String>,
    pub phone: Option<String>,
}

/// A customer to seed ([`crate::StoreHandle::add_customer`]).
#[derive(Debug, Clone, Default)]
pub struct ShopCustomerSeed {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub address: Option<CustomerAddressSeed>,
    /// `updatedAt` (and `createdAt`), RFC 3339; none: the simulated clock's now. Tests that read
    /// windows ending at the wall clock seed against it (the simulated clock may run faster).
    pub updated_at: Option<String>,
}

/// A customer as the store has it now (for tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShopCustomer {
    pub id: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub address: Option<CustomerAddressSeed>,
    /// `updatedAt`, RFC 3339.
    pub updated_at: String,
}

/// What the customers API adds to the order book's customers, index for index.
#[derive(Debug, Clone, Default)]
pub(crate) struct CustomerExt {
    pub updated_at: Vec<i64>,
    pub created_at: Vec<i64>,
    pub address: Vec<Option<CustomerAddressSeed>>,
}

impl CustomerExt {
    /// Give customers seeded with orders their timestamps (now) and no address.
    pub(crate) fn sync(st: &mut StoreData, now: i64) {
        let n = st.book.customers.len();
        let ext = &mut st.customers_ext;
        while ext.updated_at.len() < n {
            ext.updated_at.push(now);
            ext.created_at.push(now);
            ext.address.push(None);
        }
    }

    /// A time after every `updatedAt` handed out so far and not before `now`.
    fn next_time(&self, now: i64) -> i64 {
        self.updated_at
            .iter()
            .copied()
            .max()
            .map_or(now, |m| now.max(m + 1))
    }
}

/// Add a customer; its index.
pub(crate) fn add(st: &mut StoreData, seed: ShopCustomerSeed, now: i64) -> usize {
    CustomerExt::sync(st, now);
    st.book.customers.push(CustomerRec {
        first_name: seed.first_name,
        last_name: seed.last_name,
        email: seed.email,
        phone: seed.phone,
    });
    let at = match seed.updated_at.as_deref() {
        Some(t) => crate::orders::parse_time(t).unwrap_or_else(|| panic!("bad updated_at {t}")),
        None => st.customers_ext.next_time(now),
    };
    st.customers_ext.updated_at.push(at);
    st.customers_ext.created_at.push(at);
    st.customers_ext.address.push(seed.address);
    st.book.customers.len() - 1
}

/// Mark customer `c` changed now (a change made in Shopify's admin).
pub(crate) fn touch(st: &mut StoreData, c: usize, now: i64) {
    CustomerExt::sync(st, now);
    let at = st.customers_ext.next_time(now);
    st.customers_ext.updated_at[c] = at;
}

fn err(field: &[&str], message: &str, code: &str) -> UserErr {
    UserErr {
        field: Some(field.iter().map(|s| s.to_string()).collect()),
        message: message.into(),
        code: Some(code.into()),
    }
}

fn text(v: &Json, key: &str) -> Option<Option<String>> {
    match v.get(key) {
        None => None,
        Some(Json::Null) => Some(None),
        Some(Json::String(s)) => Some(Some(s.clone()).filter(|s| !s.trim().is_empty())),
        Some(other) => Some(Some(other.to_string())),
    }
}

fn address_of(v: &Json) -> CustomerAddressSeed {
    let t = |k: &str| text(v, k).flatten();
    CustomerAddressSeed {
        first_name: t("firstName"),
        last_name: t("lastName"),
        company: t("company"),
        address1: t("address1"),
        address2: t("address2"),
        city: t("city"),
        province_code: t("provinceCode"),
        zip: t("zip"),
        country_code: t("countryCode").map(|c| c.to_ascii_uppercase()),
        phone: t("phone"),
    }
}

fn same_email(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

/// `customerSet(input:, identifier:)`: the customer written, or the errors.
pub(crate) fn customer_set(
    st: &mut StoreData,
    input: &Json,
    identifier: &Json,
    now: i64,
) -> (Option<usize>, Vec<UserErr>) {
    CustomerExt::sync(st, now);
    let n = st.book.customers.len();
    let by_email = |st: &StoreData, e: &str| {
        st.book
            .customers
            .iter()
            .position(|c| c.email.as_deref().is_some_and(|x| same_email(x, e)))
    };
    let by_phone = |st: &StoreData, p: &str| {
        st.book
            .customers
            .iter()
            .position(|c| c.phone.as_deref() == Some(p.trim()))
    };
    let target: Option<usize> = if let Some(id) = identifier.get("id").and_then(Json::as_str) {
        match st
            .parse_gid(crate::orders::GID_CUSTOMER, id)
            .filter(|&i| i < n)
        {
            Some(i) => Some(i),
            None => {
                return (
                    None,
                    vec![err(
                        &["input"],
                        "Resource matching the identifier was not found.",
                        "NOT_FOUND",
                    )],
                );
            }
        }
    } else if let Some(e) = identifier.get("email").and_then(Json::as_str) {
        by_email(st, e)
    } else if let Some(p) = identifier.get("phone").and_then(Json::as_str) {
        by_phone(st, p)
    } else {
        None
    };
    let email = text(input, "email");
    let phone = text(input, "phone");
    let first = text(input, "firstName");
    let last = text(input, "lastName");
    let mut errors = Vec::new();
    if let Some(Some(e)) = &email {
        if !e.contains('@') || e.contains(char::is_whitespace) {
            errors.push(err(&["input", "email"], "Email is invalid", "INVALID"));
        } else if by_email(st, e).is_some_and(|i| Some(i) != target) {
            errors.push(err(
                &["input", "email"],
                "Email has already been taken",
                "TAKEN",
            ));
        }
    }
    if let Some(Some(p)) = &phone {
        let digits = p.chars().filter(char::is_ascii_digit).count();
        if !p.trim().starts_with('+') || digits < 6 {
            errors.push(err(&["input", "phone"], "Phone is invalid", "INVALID"));
        } else if by_phone(st, p).is_some_and(|i| Some(i) != target) {
            errors.push(err(
                &["input", "phone"],
                "Phone has already been taken",
                "TAKEN",
            ));
        }
    }
    if target.is_none() {
        let has = |v: &Option<Option<String>>| matches!(v, Some(Some(_)));
        if !(has(&email) || has(&phone) || has(&first) || has(&last)) {
            errors.push(err(
                &["input"],
                "A name, phone number, or email address must be present",
                "INVALID",
            ));
        }
    }
    if !errors.is_empty() {
        return (None, errors);
    }
    let at = st.customers_ext.next_time(now);
    let c = match target {
        Some(i) => i,
        None => {
            st.book.customers.push(CustomerRec {
                first_name: None,
                last_name: None,
                email: None,
                phone: None,
            });
            st.customers_ext.updated_at.push(at);
            st.customers_ext.created_at.push(at);
            st.customers_ext.address.push(None);
            st.book.customers.len() - 1
        }
    };
    let rec = &mut st.book.customers[c];
    if let Some(v) = first {
        rec.first_name = v;
    }
    if let Some(v) = last {
        rec.last_name = v;
    }
    if let Some(v) = email {
        rec.email = v;
    }
    if let Some(v) = phone.map(|p| p.map(|p| p.trim().to_string())) {
        rec.phone = v;
    }
    if let Some(list) = input.get("addresses").and_then(Json::as_array) {
        st.customers_ext.address[c] = list.first().map(address_of);
    }
    st.customers_ext.updated_at[c] = at;
    (Some(c), Vec::new())
}

/// The customers fields this module serves (the rest of `Customer` is `schema.rs`'s).
pub(crate) fn field(t: T, name: &str) -> Option<(FK, &'static [&'static str])> {
    use FK::*;
    const NONE: &[&str] = &[];
    const PAGE: &[&str] = &[
        "first", "after", "last", "before", "reverse", "sortKey", "query",
    ];
    Some(match (t, name) {
        (T::Query, "customers") => (Conn(N::Customer), PAGE),
        (T::Query, "customer") => (Obj(T::Customer), &["id"]),
        (T::Mutation, "customerSet") => (Obj(T::CustomerSetPayload), &["input", "identifier"]),
        (T::Customer, "updatedAt" | "createdAt" | "legacyResourceId" | "note" | "tags") => {
            (Scalar, NONE)
        }
        (T::Customer, "defaultAddress") => (Obj(T::MailingAddress), NONE),
        (T::CustomerSetPayload, "customer") => (Obj(T::Customer), NONE),
        (T::CustomerSetPayload, "userErrors") => (List(T::CustomerSetUserError), NONE),
        (T::CustomerSetUserError, "field" | "message" | "code") => (Scalar, NONE),
        _ => return None,
    })
}

impl crate::StoreHandle {
    /// Adds a customer (not tied to an order); returns its GID.
    pub fn add_customer(&self, seed: ShopCustomerSeed) -> String {
        let now = self.unix_now();
        let mut st = crate::lock(&self.data);
        let c = add(&mut st, seed, now);
        st.gid(crate::orders::GID_CUSTOMER, c)
    }

    /// Changes a customer's e-mail, phone or name as the admin would (`updatedAt` moves).
    pub fn edit_customer(&self, id: &str, edit: impl FnOnce(&mut ShopCustomerSeed)) {
        let now = self.unix_now();
        let mut st = crate::lock(&self.data);
        CustomerExt::sync(&mut st, now);
        let c = st
            .parse_gid(crate::orders::GID_CUSTOMER, id)
            .filter(|&i| i < st.book.customers.len())
            .unwrap_or_else(|| panic!("unknown customer {id}"));
        let r = &st.book.customers[c];
        let mut seed = ShopCustomerSeed {
            first_name: r.first_name.clone(),
            last_name: r.last_name.clone(),
            email: r.email.clone(),
            phone: r.phone.clone(),
            address: st.customers_ext.address[c].clone(),
            updated_at: None,
        };
        edit(&mut seed);
        let r = &mut st.book.customers[c];
        r.first_name = seed.first_name;
        r.last_name = seed.last_name;
        r.email = seed.email;
        r.phone = seed.phone;
        st.customers_ext.address[c] = seed.address;
        touch(&mut st, c, now);
    }

    /// Every customer, in creation order.
    pub fn shop_customers(&self) -> Vec<ShopCustomer> {
        let now = self.unix_now();
        let mut st = crate::lock(&self.data);
        CustomerExt::sync(&mut st, now);
        (0..st.book.customers.len())
            .map(|c| {
                let r = &st.book.customers[c];
                ShopCustomer {
                    id: st.gid(crate::orders::GID_CUSTOMER, c),
                    first_name: r.first_name.clone(),
                    last_name: r.last_name.clone(),
                    email: r.email.clone(),
                    phone: r.phone.clone(),
                    address: st.customers_ext.address[c].clone(),
                    updated_at: crate::clock::format_utc(st.customers_ext.updated_at[c]),
                }
            })
            .collect()
    }
}
