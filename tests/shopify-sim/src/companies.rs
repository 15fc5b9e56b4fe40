//! B2B companies as `sync-companies` sees them: the `companies(query: "updated_at:…")` window,
//! one `company(id:)` (and `companyLocation(id:)`), each company's main contact (a customer with
//! e-mail and phone), its locations with `externalId`, phone, tax registration id and billing and
//! shipping addresses, and the `companyUpdate` / `companyLocationUpdate` mutations of the export.
//!
//! The companies are the order book's (`OrderBook::companies` / `company_locations`, which orders
//! with a purchasing company seed too), so an order's `purchasingEntity` and the companies API name
//! the same records; what only the companies API needs is kept beside them in [`CompanyData`],
//! index for index, and filled in the first time it is looked at ([`CompanyData::sync`]). A main
//! contact's customer is an ordinary customer of the store (`customers.rs`).
//!
//! The mutations follow the captures (`captures/b2b/b2b-update-unknown-id-resource-not-found`,
//! `b2b-external-id-validation`, `b2b-string-validation`, `b2b-no-input-validation`,
//! `b2b-company-update-customer-since`, `b2b-location-input-normalization`): an unknown id is a
//! `RESOURCE_NOT_FOUND` entry (`companyId` / `input`), an empty input `INVALID` / `NO_INPUT`, a
//! blank name `BLANK`, a name over 255 characters or an `externalId` over 64 `TOO_LONG`, an
//! `externalId` with a space `INVALID` and one another company (location) has `TAKEN`,
//! `customerSince` `INVALID_INPUT` (creation only); a location's phone is normalised to E.164
//! (`(415) 555-9999` → `+14155559999`) or refused `INVALID`. A change moves the record's
//! `updatedAt` strictly forward; an update that changes nothing leaves it. Neither mutation
//! accepts `@idempotent` (2026-07 offers none there).
//!
//! # Known simplifications
//! * A location update does not move its company's `updatedAt`.
//! * Contacts other than the main contact, roles and `contacts(first:)` are not modelled.

use serde_json::Value as Json;

use crate::customers::{CustomerAddressSeed, ShopCustomerSeed};
use crate::inventory::UserErr;
use crate::orders::{GID_COMPANY, GID_COMPANY_LOCATION, GID_CUSTOMER};
use crate::schema::{FK, N, T};
use crate::store::StoreData;
use crate::{StoreHandle, lock};

pub(crate) const GID_CONTACT: &str = "gid://shopify/CompanyContact/";
pub(crate) const GID_COMPANY_ADDRESS: &str = "gid://shopify/CompanyAddress/";

/// The company-side types this module adds to the schema subset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CoT {
    Contact,
    Address,
    TaxSettings,
    UpdatePayload,
    LocationUpdatePayload,
    UserError,
}

impl CoT {
    const ALL: [CoT; 6] = [
        CoT::Contact,
        CoT::Address,
        CoT::TaxSettings,
        CoT::UpdatePayload,
        CoT::LocationUpdatePayload,
        CoT::UserError,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            CoT::Contact => "CompanyContact",
            CoT::Address => "CompanyAddress",
            CoT::TaxSettings => "CompanyLocationTaxSettings",
            CoT::UpdatePayload => "CompanyUpdatePayload",
            CoT::LocationUpdatePayload => "CompanyLocationUpdatePayload",
            CoT::UserError => "BusinessCustomerUserError",
        }
    }

    pub(crate) fn by_name(name: &str) -> Option<CoT> {
        CoT::ALL.into_iter().find(|c| c.name() == name)
    }
}

/// A company location to seed (its address fields as `CompanyAddressInput` has them:
/// `province_code` is the `zoneCode`, `company` the `companyName`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompanyLocationSeed {
    pub name: String,
    pub external_id: Option<String>,
    pub phone: Option<String>,
    pub tax_registration_id: Option<String>,
    pub billing_address: Option<CustomerAddressSeed>,
    pub shipping_address: Option<CustomerAddressSeed>,
}

/// A company to seed ([`StoreHandle::add_company`]).
#[derive(Debug, Clone, Default)]
pub struct ShopCompanySeed {
    pub name: String,
    pub external_id: Option<String>,
    pub note: Option<String>,
    /// Made a customer of the store and the company's main contact.
    pub main_contact: Option<ShopCustomerSeed>,
    pub locations: Vec<CompanyLocationSeed>,
    /// `updatedAt` (and `createdAt`), RFC 3339; none: the simulated clock's now (strictly after
    /// every other company's). Tests that read windows ending at the wall clock seed against it.
    pub updated_at: Option<String>,
}

/// What [`StoreHandle::add_company`] made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeededCompany {
    pub id: String,
    pub location_ids: Vec<String>,
    pub main_contact_id: Option<String>,
    /// The main contact's customer.
    pub customer_id: Option<String>,
}

/// A company's main contact as the store has it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShopCompanyContact {
    pub id: String,
    pub customer_id: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// A company location as the store has it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShopCompanyLocation {
    pub id: String,
    pub location: CompanyLocationSeed,
    /// `updatedAt`, RFC 3339.
    pub updated_at: String,
}

/// A company as the store has it now (for tests; [`StoreHandle::edit_company`] writes one back).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShopCompany {
    pub id: String,
    pub name: String,
    pub external_id: Option<String>,
    pub note: Option<String>,
    pub main_contact: Option<ShopCompanyContact>,
    pub locations: Vec<ShopCompanyLocation>,
    /// `updatedAt`, RFC 3339.
    pub updated_at: String,
}

/// What the companies API adds to one of the order book's companies.
#[derive(Debug, Clone, Default)]
pub(crate) struct CompanyExt {
    pub external_id: Option<String>,
    pub note: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    /// Index in [`CompanyData::contacts`].
    pub main_contact: Option<usize>,
}

/// What the companies API adds to one of the order book's company locations.
#[derive(Debug, Clone, Default)]
pub(crate) struct LocationExt {
    pub external_id: Option<String>,
    pub phone: Option<String>,
    pub note: Option<String>,
    pub tax_registration_id: Option<String>,
    pub billing: Option<CustomerAddressSeed>,
    pub shipping: Option<CustomerAddressSeed>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A company contact: a customer of the store acting for a company.
#[derive(Debug, Clone)]
pub(crate) struct ContactRec {
    pub company: usize,
    pub customer: usize,
    pub created_at: i64,
}

/// The companies API's side of the store: index for index with the order book's companies and
/// company locations, plus the contacts.
#[derive(Debug, Clone, Default)]
pub(crate) struct CompanyData {
    pub companies: Vec<CompanyExt>,
    pub locations: Vec<LocationExt>,
    pub contacts: Vec<ContactRec>,
}

impl CompanyData {
    /// Give companies and locations seeded with orders their timestamps (now) and nothing else.
    pub(crate) fn sync(st: &mut StoreData, now: i64) {
        let co = &mut st.companies;
        while co.companies.len() < st.book.companies.len() {
            co.companies.push(CompanyExt {
                created_at: now,
                updated_at: now,
                ..CompanyExt::default()
            });
        }
        while co.locations.len() < st.book.company_locations.len() {
            co.locations.push(LocationExt {
                created_at: now,
                updated_at: now,
                ..LocationExt::default()
            });
        }
    }

    /// A time after every company's `updatedAt` handed out so far and not before `now`.
    fn next_time(&self, now: i64) -> i64 {
        let last = self.companies.iter().map(|c| c.updated_at);
        let last = last
            .chain(self.locations.iter().map(|l| l.updated_at))
            .max();
        last.map_or(now, |m| now.max(m + 1))
    }

    /// The locations of company `c`, in creation order.
    pub(crate) fn locations_of(st: &StoreData, c: usize) -> Vec<usize> {
        (0..st.book.company_locations.len())
            .filter(|&l| st.book.company_locations[l].0 == c)
            .collect()
    }
}

fn at_or(st: &StoreData, at: Option<&str>, now: i64) -> i64 {
    match at {
        Some(t) => crate::orders::parse_time(t).unwrap_or_else(|| panic!("bad updated_at {t}")),
        None => st.companies.next_time(now),
    }
}

/// Add a company with its locations and main contact; its index.
pub(crate) fn add(st: &mut StoreData, seed: ShopCompanySeed, now: i64) -> usize {
    CompanyData::sync(st, now);
    let at = at_or(st, seed.updated_at.as_deref(), now);
    st.book.companies.push(seed.name);
    let c = st.book.companies.len() - 1;
    let main_contact = seed.main_contact.map(|mut customer| {
        customer.updated_at = customer
            .updated_at
            .or_else(|| Some(crate::clock::format_utc(at)));
        let customer = crate::customers::add(st, customer, now);
        st.companies.contacts.push(ContactRec {
            company: c,
            customer,
            created_at: at,
        });
        st.companies.contacts.len() - 1
    });
    st.companies.companies.push(CompanyExt {
        external_id: seed.external_id,
        note: seed.note,
        created_at: at,
        updated_at: at,
        main_contact,
    });
    for l in seed.locations {
        st.book.company_locations.push((c, l.name));
        st.companies.locations.push(LocationExt {
            external_id: l.external_id,
            phone: l.phone,
            note: None,
            tax_registration_id: l.tax_registration_id,
            billing: l.billing_address,
            shipping: l.shipping_address,
            created_at: at,
            updated_at: at,
        });
    }
    c
}

/// A `BusinessCustomerUserError`.
fn err(field: Option<&[&str]>, message: &str, code: &str) -> UserErr {
    UserErr {
        field: field.map(|f| f.iter().map(|s| s.to_string()).collect()),
        message: message.into(),
        code: Some(code.into()),
    }
}

/// A name's problem: blank, null (`UNEXPECTED_TYPE`), or over 255 characters.
fn name_error(v: &Json) -> Option<UserErr> {
    let field = Some(&["input", "name"][..]);
    match v {
        Json::Null => Some(err(
            field,
            "Name is of unexpected type NilClass",
            "UNEXPECTED_TYPE",
        )),
        Json::String(s) if s.trim().is_empty() => Some(err(field, "Name can't be blank", "BLANK")),
        Json::String(s) if s.chars().count() > 255 => Some(err(
            field,
            "Name is too long (maximum is 255 characters)",
            "TOO_LONG",
        )),
        _ => None,
    }
}

/// An `externalId`'s problem: over 64 characters, a character outside the allowed set, or `taken`.
fn external_id_error(id: &str, taken: bool) -> Option<UserErr> {
    let field = Some(&["input", "externalId"][..]);
    const SPECIAL: &str = "!@#$%^&*(){}[]\\/?<>_-~,.;:'`\"|+=";
    if id.chars().count() > 64 {
        Some(err(
            field,
            "External Id must be 64 characters or less.",
            "TOO_LONG",
        ))
    } else if !id
        .chars()
        .all(|ch| ch.is_ascii_alphanumeric() || SPECIAL.contains(ch))
    {
        Some(err(
            field,
            "External Id can only contain numbers, letters, and some special characters, including !@#$%^&*(){}[]\\/?<>_-~,.;:'`\"",
            "INVALID",
        ))
    } else if taken {
        Some(err(field, "External id has already been taken.", "TAKEN"))
    } else {
        None
    }
}

/// A phone as Shopify stores a location's: E.164, ten digits without a country read as `+1`.
fn normalise_phone(p: &str) -> Option<String> {
    let p = p.trim();
    if p.chars().any(|c| c.is_alphabetic()) {
        return None;
    }
    let digits: String = p.chars().filter(char::is_ascii_digit).collect();
    let e164 = if p.starts_with('+') {
        format!("+{digits}")
    } else if digits.len() == 10 {
        format!("+1{digits}")
    } else {
        return None;
    };
    (7..=15).contains(&digits.len()).then_some(e164)
}

/// A string field of an input: absent, null, or a string (other JSON as its text).
fn text(input: &Json, key: &str) -> Option<Option<String>> {
    match input.get(key)? {
        Json::Null => Some(None),
        Json::String(s) => Some(Some(s.clone())),
        other => Some(Some(other.to_string())),
    }
}

/// `companyUpdate(companyId:, input:)`: the company, or the errors.
pub(crate) fn company_update(
    st: &mut StoreData,
    id: &str,
    input: &Json,
    now: i64,
) -> (Option<usize>, Vec<UserErr>) {
    CompanyData::sync(st, now);
    let Some(c) = st
        .parse_gid(GID_COMPANY, id)
        .filter(|&c| c < st.book.companies.len())
    else {
        return (
            None,
            vec![err(
                Some(&["companyId"]),
                "Resource requested does not exist.",
                "RESOURCE_NOT_FOUND",
            )],
        );
    };
    if input.get("customerSince").is_some() {
        return (
            None,
            vec![err(
                Some(&["input", "customerSince"]),
                "This field may only be set on creation.",
                "INVALID_INPUT",
            )],
        );
    }
    if input.as_object().is_none_or(|m| m.is_empty()) {
        return (
            None,
            vec![err(
                Some(&["input"]),
                "At least one attribute to change must be present",
                "INVALID",
            )],
        );
    }
    let mut errors = Vec::new();
    if let Some(v) = input.get("name") {
        errors.extend(name_error(v));
    }
    let external_id = text(input, "externalId");
    if let Some(Some(x)) = &external_id {
        let taken = st
            .companies
            .companies
            .iter()
            .enumerate()
            .any(|(o, e)| o != c && e.external_id.as_deref() == Some(x.as_str()));
        errors.extend(external_id_error(x, taken));
    }
    if !errors.is_empty() {
        return (None, errors);
    }
    let before = (
        st.book.companies[c].clone(),
        st.companies.companies[c].clone(),
    );
    if let Some(Some(name)) = text(input, "name") {
        st.book.companies[c] = name;
    }
    if let Some(x) = external_id {
        st.companies.companies[c].external_id = x;
    }
    if let Some(note) = text(input, "note") {
        st.companies.companies[c].note = note;
    }
    let ext = &st.companies.companies[c];
    if before.0 != st.book.companies[c]
        || before.1.external_id != ext.external_id
        || before.1.note != ext.note
    {
        let at = st.companies.next_time(now);
        st.companies.companies[c].updated_at = at;
    }
    (Some(c), Vec::new())
}

/// `companyLocationUpdate(companyLocationId:, input:)`: the location, or the errors.
pub(crate) fn location_update(
    st: &mut StoreData,
    id: &str,
    input: &Json,
    now: i64,
) -> (Option<usize>, Vec<UserErr>) {
    CompanyData::sync(st, now);
    let Some(l) = st
        .parse_gid(GID_COMPANY_LOCATION, id)
        .filter(|&l| l < st.book.company_locations.len())
    else {
        return (
            None,
            vec![err(
                Some(&["input"]),
                "The company location doesn't exist",
                "RESOURCE_NOT_FOUND",
            )],
        );
    };
    if input.as_object().is_none_or(|m| m.is_empty()) {
        return (
            None,
            vec![err(
                None,
                "Company location update input is empty.",
                "NO_INPUT",
            )],
        );
    }
    let mut errors = Vec::new();
    if let Some(v) = input.get("name") {
        errors.extend(name_error(v));
    }
    let external_id = text(input, "externalId");
    if let Some(Some(x)) = &external_id {
        let taken = st
            .companies
            .locations
            .iter()
            .enumerate()
            .any(|(o, e)| o != l && e.external_id.as_deref() == Some(x.as_str()));
        errors.extend(external_id_error(x, taken));
    }
    let phone = match text(input, "phone") {
        Some(Some(p)) => match normalise_phone(&p) {
            Some(p) => Some(Some(p)),
            None => {
                errors.push(err(
                    Some(&["input", "phone"]),
                    "Phone is invalid",
                    "INVALID",
                ));
                None
            }
        },
        other => other,
    };
    if !errors.is_empty() {
        return (None, errors);
    }
    let before = (
        st.book.company_locations[l].1.clone(),
        st.companies.locations[l].clone(),
    );
    if let Some(Some(name)) = text(input, "name") {
        st.book.company_locations[l].1 = name;
    }
    let ext = &mut st.companies.locations[l];
    if let Some(x) = external_id {
        ext.external_id = x;
    }
    if let Some(p) = phone {
        ext.phone = p;
    }
    if let Some(note) = text(input, "note") {
        ext.note = note;
    }
    if before.0 != st.book.company_locations[l].1
        || before.1.external_id != ext.external_id
        || before.1.phone != ext.phone
        || before.1.note != ext.note
    {
        let at = st.companies.next_time(now);
        st.companies.locations[l].updated_at = at;
    }
    (Some(l), Vec::new())
}

const NONE: &[&str] = &[];
const ID: &[&str] = &["id"];
const PAGE: &[&str] = &[
    "first", "after", "last", "before", "reverse", "sortKey", "query",
];

/// The companies fields this module serves (`id`, `name` and `externalId` of `Company` and
/// `CompanyLocation` are `schema.rs`'s).
pub(crate) fn field(t: T, name: &str) -> Option<(FK, &'static [&'static str])> {
    use FK::*;
    let s = (Scalar, NONE);
    let co = T::Co;
    Some(match (t, name) {
        (T::Query, "companies") => (Conn(N::Company), PAGE),
        (T::Query, "company") => (Obj(T::Company), ID),
        (T::Query, "companyLocation") => (Obj(T::CompanyLocation), ID),
        (T::Mutation, "companyUpdate") => (Obj(co(CoT::UpdatePayload)), &["companyId", "input"]),
        (T::Mutation, "companyLocationUpdate") => (
            Obj(co(CoT::LocationUpdatePayload)),
            &["companyLocationId", "input"],
        ),
        (T::Company, "createdAt" | "updatedAt" | "customerSince" | "note") => s,
        (T::Company, "mainContact") => (Obj(co(CoT::Contact)), NONE),
        (T::Company, "locations") => (Conn(N::CompanyLocation), PAGE),
        (T::CompanyLocation, "createdAt" | "updatedAt" | "phone" | "note" | "locale") => s,
        (T::CompanyLocation, "company") => (Obj(T::Company), NONE),
        (T::CompanyLocation, "taxSettings") => (Obj(co(CoT::TaxSettings)), NONE),
        (T::CompanyLocation, "billingAddress" | "shippingAddress") => (Obj(co(CoT::Address)), NONE),
        (
            T::Co(CoT::Contact),
            "id" | "isMainContact" | "title" | "locale" | "createdAt" | "updatedAt",
        ) => s,
        (T::Co(CoT::Contact), "company") => (Obj(T::Company), NONE),
        (T::Co(CoT::Contact), "customer") => (Obj(T::Customer), NONE),
        (
            T::Co(CoT::Address),
            "id" | "address1" | "address2" | "city" | "zip" | "zoneCode" | "province"
            | "countryCode" | "country" | "phone" | "firstName" | "lastName" | "companyName"
            | "recipient" | "createdAt" | "updatedAt",
        ) => s,
        (T::Co(CoT::TaxSettings), "taxRegistrationId" | "taxExempt" | "taxExemptions") => s,
        (T::Co(CoT::UpdatePayload), "company") => (Obj(T::Company), NONE),
        (T::Co(CoT::LocationUpdatePayload), "companyLocation") => (Obj(T::CompanyLocation), NONE),
        (T::Co(CoT::UpdatePayload | CoT::LocationUpdatePayload), "userErrors") => {
            (List(co(CoT::UserError)), NONE)
        }
        (T::Co(CoT::UserError), "field" | "message" | "code") => s,
        _ => return None,
    })
}

/// The mutation payloads' objects are free, as the captures show (`companyUpdate { company { id }
/// userErrors {…} }` is requested 10); their own selections are still charged.
pub(crate) fn free_field(parent: T, name: &str) -> Option<bool> {
    match (parent, name) {
        (T::Co(CoT::UpdatePayload), "company")
        | (T::Co(CoT::LocationUpdatePayload), "companyLocation") => Some(false),
        _ => None,
    }
}

impl StoreData {
    fn shop_company(&self, c: usize) -> ShopCompany {
        let ext = &self.companies.companies[c];
        let main_contact = ext.main_contact.map(|k| {
            let contact = &self.companies.contacts[k];
            let r = &self.book.customers[contact.customer];
            ShopCompanyContact {
                id: self.gid(GID_CONTACT, k),
                customer_id: self.gid(GID_CUSTOMER, contact.customer),
                first_name: r.first_name.clone(),
                last_name: r.last_name.clone(),
                email: r.email.clone(),
                phone: r.phone.clone(),
            }
        });
        let locations = CompanyData::locations_of(self, c)
            .into_iter()
            .map(|l| {
                let x = &self.companies.locations[l];
                ShopCompanyLocation {
                    id: self.gid(GID_COMPANY_LOCATION, l),
                    location: CompanyLocationSeed {
                        name: self.book.company_locations[l].1.clone(),
                        external_id: x.external_id.clone(),
                        phone: x.phone.clone(),
                        tax_registration_id: x.tax_registration_id.clone(),
                        billing_address: x.billing.clone(),
                        shipping_address: x.shipping.clone(),
                    },
                    updated_at: crate::clock::format_utc(x.updated_at),
                }
            })
            .collect();
        ShopCompany {
            id: self.gid(GID_COMPANY, c),
            name: self.book.companies[c].clone(),
            external_id: ext.external_id.clone(),
            note: ext.note.clone(),
            main_contact,
            locations,
            updated_at: crate::clock::format_utc(ext.updated_at),
        }
    }
}

impl StoreHandle {
    /// Adds a company with its locations and main contact (a new customer).
    pub fn add_company(&self, seed: ShopCompanySeed) -> SeededCompany {
        let now = self.unix_now();
        let mut st = lock(&self.data);
        let c = add(&mut st, seed, now);
        let company = st.shop_company(c);
        SeededCompany {
            id: company.id,
            location_ids: company.locations.into_iter().map(|l| l.id).collect(),
            main_contact_id: company.main_contact.as_ref().map(|m| m.id.clone()),
            customer_id: company.main_contact.map(|m| m.customer_id),
        }
    }

    /// Changes a company as the admin would: its name, `externalId`, note, its main contact's
    /// customer (name, e-mail, phone) and its locations (by position; ids are ignored). The
    /// company's `updatedAt` moves to `updated_at` (RFC 3339), or else strictly past every other.
    pub fn edit_company(
        &self,
        id: &str,
        updated_at: Option<&str>,
        edit: impl FnOnce(&mut ShopCompany),
    ) {
        let now = self.unix_now();
        let mut st = lock(&self.data);
        CompanyData::sync(&mut st, now);
        let c = st
            .parse_gid(GID_COMPANY, id)
            .filter(|&c| c < st.book.companies.len())
            .unwrap_or_else(|| panic!("unknown company {id}"));
        let mut company = st.shop_company(c);
        edit(&mut company);
        let at = at_or(&st, updated_at, now);
        st.book.companies[c] = company.name;
        let ext = &mut st.companies.companies[c];
        ext.external_id = company.external_id;
        ext.note = company.note;
        ext.updated_at = at;
        if let (Some(k), Some(m)) = (ext.main_contact, company.main_contact) {
            let customer = st.companies.contacts[k].customer;
            let r = &mut st.book.customers[customer];
            r.first_name = m.first_name;
            r.last_name = m.last_name;
            r.email = m.email;
            r.phone = m.phone;
            crate::customers::touch(&mut st, customer, now);
        }
        for (l, edited) in CompanyData::locations_of(&st, c)
            .into_iter()
            .zip(company.locations)
        {
            let e = edited.location;
            st.book.company_locations[l].1 = e.name;
            let x = &mut st.companies.locations[l];
            x.external_id = e.external_id;
            x.phone = e.phone;
            x.tax_registration_id = e.tax_registration_id;
            x.billing = e.billing_address;
            x.shipping = e.shipping_address;
            x.updated_at = at;
        }
    }

    /// Every company, in creation order.
    pub fn shop_companies(&self) -> Vec<ShopCompany> {
        let now = self.unix_now();
        let mut st = lock(&self.data);
        CompanyData::sync(&mut st, now);
        (0..st.book.companies.len())
            .map(|c| st.shop_company(c))
            .collect()
    }

    /// One company by id.
    pub fn shop_company(&self, id: &str) -> Option<ShopCompany> {
        let now = self.unix_now();
        let mut st = lock(&self.data);
        CompanyData::sync(&mut st, now);
        st.parse_gid(GID_COMPANY, id)
            .filter(|&c| c < st.book.companies.len())
            .map(|c| st.shop_company(c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_and_external_ids() {
        assert_eq!(
            normalise_phone("(415) 555-9999").as_deref(),
            Some("+14155559999")
        );
        assert_eq!(
            normalise_phone("+44 20 7946 1000").as_deref(),
            Some("+442079461000")
        );
        assert_eq!(normalise_phone("not-a-phone"), None);
        assert_eq!(normalise_phone("12345"), None);
        assert!(external_id_error("C00010", false).is_none());
        assert_eq!(
            external_id_error("bad id", false).unwrap().code.as_deref(),
            Some("INVALID")
        );
        assert_eq!(
            external_id_error(&"x".repeat(65), false)
                .unwrap()
                .code
                .as_deref(),
            Some("TOO_LONG")
        );
        assert_eq!(
            external_id_error("C1", true).unwrap().code.as_deref(),
            Some("TAKEN")
        );
    }
}
