//! Field resolution and the mutations of the companies side (see `companies.rs`): the
//! `companies`, `company` and `companyLocation` roots, the `Company` and `CompanyLocation` fields
//! only that API reads (`updatedAt`, `mainContact`, `locations`, `taxSettings`, addresses, …), the
//! contact, address and tax settings objects, and the `companyUpdate` / `companyLocationUpdate`
//! payloads. Resolves into the same `Obj` handles and is costed by the same rules as the rest of
//! the executor; `id` and `name` stay with the order side, which serves them for
//! `purchasingEntity`.

use std::rc::Rc;

use apollo_compiler::Node;
use apollo_compiler::ast;
use serde_json::Value as Json;

use crate::companies::{
    CoT, CompanyData, GID_COMPANY_ADDRESS, GID_CONTACT, company_update, location_update,
};
use crate::exec::{Exec, FieldErr, Obj, R, refuse_idempotent, unknown};
use crate::inventory::UserErr;
use crate::orders::{GID_COMPANY, GID_COMPANY_LOCATION};
use crate::schema::{N, T};
use crate::search::Search;

/// Companies objects.
#[derive(Clone)]
pub(crate) enum CoObj {
    /// A company contact.
    Contact(usize),
    /// (company location, billing?)
    Address(usize, bool),
    /// A company location's tax settings.
    TaxSettings(usize),
    /// `companyUpdate`'s payload.
    UpdatePayload(Option<usize>, Rc<Vec<UserErr>>),
    /// `companyLocationUpdate`'s payload.
    LocationPayload(Option<usize>, Rc<Vec<UserErr>>),
}

impl CoObj {
    pub(crate) fn ty(&self) -> T {
        T::Co(match self {
            CoObj::Contact(_) => CoT::Contact,
            CoObj::Address(..) => CoT::Address,
            CoObj::TaxSettings(_) => CoT::TaxSettings,
            CoObj::UpdatePayload(..) => CoT::UpdatePayload,
            CoObj::LocationPayload(..) => CoT::LocationUpdatePayload,
        })
    }
}

fn opt(x: &Option<String>) -> Result<R, FieldErr> {
    Ok(R::Val(x.clone().map(Json::String).unwrap_or(Json::Null)))
}

fn string(x: &str) -> Result<R, FieldErr> {
    Ok(R::Val(Json::String(x.to_string())))
}

fn time(t: i64) -> Result<R, FieldErr> {
    string(&crate::clock::format_utc(t))
}

fn errors(errs: &Rc<Vec<UserErr>>) -> Result<R, FieldErr> {
    Ok(R::Many(
        errs.iter()
            .map(|e| Some(Obj::UserErr(T::Co(CoT::UserError), Rc::new(e.clone()))))
            .collect(),
    ))
}

impl<'d, 'a, 's, 'e> Exec<'d, 'a, 's, 'e> {
    fn sync_companies(&mut self) {
        let now = self.env.clock.unix(self.env.now);
        CompanyData::sync(self.st, now);
    }

    /// `companies(query:, sortKey:)`, `company(id:)` and `companyLocation(id:)`.
    pub(crate) fn companies_root(&mut self, f: &Node<ast::Field>) -> Result<R, FieldErr> {
        self.sync_companies();
        let st = &*self.st;
        match f.name.as_str() {
            "company" => Ok(R::One(
                self.id_arg(f, "id", GID_COMPANY, st.book.companies.len())
                    .map(Obj::Company),
            )),
            "companyLocation" => Ok(R::One(
                self.id_arg(
                    f,
                    "id",
                    GID_COMPANY_LOCATION,
                    st.book.company_locations.len(),
                )
                .map(Obj::CompanyLocation),
            )),
            _ => {
                let search = Search::parse(self.str_arg(f, "query").as_deref());
                let sort = self.str_arg(f, "sortKey");
                let keyed: Vec<(i64, usize)> = (0..st.book.companies.len())
                    .filter(|&c| search.matches_company(st, c))
                    .map(|c| {
                        let ext = &st.companies.companies[c];
                        let key = match sort.as_deref() {
                            Some("UPDATED_AT") => ext.updated_at,
                            Some("CREATED_AT" | "SINCE_DATE") => ext.created_at,
                            _ => c as i64,
                        };
                        (key, c)
                    })
                    .collect();
                self.keyed_page(f, N::Company, keyed, Obj::Company)
            }
        }
    }

    /// The `Company` and `CompanyLocation` fields the order side does not serve.
    pub(crate) fn resolve_company(
        &mut self,
        obj: &Obj,
        f: &Node<ast::Field>,
    ) -> Result<R, FieldErr> {
        self.sync_companies();
        let st = &*self.st;
        let name = f.name.as_str();
        match obj {
            Obj::Company(c) => {
                let ext = &st.companies.companies[*c];
                match name {
                    "externalId" => opt(&ext.external_id),
                    "note" => opt(&ext.note),
                    "createdAt" | "customerSince" => time(ext.created_at),
                    "updatedAt" => time(ext.updated_at),
                    "mainContact" => {
                        Ok(R::One(ext.main_contact.map(|k| Obj::Co(CoObj::Contact(k)))))
                    }
                    "locations" => {
                        let locations = CompanyData::locations_of(st, *c);
                        self.page(
                            f,
                            N::CompanyLocation,
                            locations.len(),
                            move |_, pos| Some(Obj::CompanyLocation(locations[pos])),
                            None,
                        )
                    }
                    _ => self.resolve_order_side(obj, f),
                }
            }
            Obj::CompanyLocation(l) => {
                let x = &st.companies.locations[*l];
                match name {
                    "externalId" => opt(&x.external_id),
                    "phone" => opt(&x.phone),
                    "note" => opt(&x.note),
                    "locale" => string("en"),
                    "createdAt" => time(x.created_at),
                    "updatedAt" => time(x.updated_at),
                    "company" => Ok(R::One(Some(Obj::Company(st.book.company_locations[*l].0)))),
                    "taxSettings" => Ok(R::One(Some(Obj::Co(CoObj::TaxSettings(*l))))),
                    "billingAddress" => Ok(R::One(
                        x.billing
                            .as_ref()
                            .map(|_| Obj::Co(CoObj::Address(*l, true))),
                    )),
                    "shippingAddress" => Ok(R::One(
                        x.shipping
                            .as_ref()
                            .map(|_| Obj::Co(CoObj::Address(*l, false))),
                    )),
                    _ => self.resolve_order_side(obj, f),
                }
            }
            _ => unknown(name),
        }
    }

    pub(crate) fn resolve_companies(
        &mut self,
        obj: &CoObj,
        f: &Node<ast::Field>,
    ) -> Result<R, FieldErr> {
        let st = &*self.st;
        let name = f.name.as_str();
        match obj {
            CoObj::Contact(k) => {
                let contact = &st.companies.contacts[*k];
                let main = st.companies.companies[contact.company].main_contact == Some(*k);
                match name {
                    "id" => string(&st.gid(GID_CONTACT, *k)),
                    "isMainContact" => Ok(R::Val(Json::Bool(main))),
                    "title" => Ok(R::Val(Json::Null)),
                    "locale" => string("en"),
                    "createdAt" => time(contact.created_at),
                    "updatedAt" => time(
                        st.customers_ext
                            .updated_at
                            .get(contact.customer)
                            .copied()
                            .unwrap_or(contact.created_at),
                    ),
                    "company" => Ok(R::One(Some(Obj::Company(contact.company)))),
                    "customer" => Ok(R::One(Some(Obj::Customer(contact.customer)))),
                    _ => unknown(name),
                }
            }
            CoObj::Address(l, billing) => {
                let x = &st.companies.locations[*l];
                let Some(a) = (if *billing { &x.billing } else { &x.shipping }) else {
                    return Ok(R::Val(Json::Null));
                };
                match name {
                    "id" => string(&st.gid(GID_COMPANY_ADDRESS, l * 2 + usize::from(!billing))),
                    "address1" => string(a.address1.as_deref().unwrap_or("")),
                    "address2" => opt(&a.address2),
                    "city" => opt(&a.city),
                    "zip" => opt(&a.zip),
                    "zoneCode" | "province" => opt(&a.province_code),
                    "countryCode" | "country" => opt(&a.country_code),
                    "phone" => opt(&a.phone),
                    "firstName" => opt(&a.first_name),
                    "lastName" => opt(&a.last_name),
                    "companyName" => string(
                        a.company
                            .as_deref()
                            .unwrap_or(&st.book.companies[st.book.company_locations[*l].0]),
                    ),
                    "recipient" => Ok(R::Val(
                        [a.first_name.clone(), a.last_name.clone()]
                            .into_iter()
                            .flatten()
                            .reduce(|a, b| format!("{a} {b}"))
                            .map(Json::String)
                            .unwrap_or(Json::Null),
                    )),
                    "createdAt" => time(x.created_at),
                    "updatedAt" => time(x.updated_at),
                    _ => unknown(name),
                }
            }
            CoObj::TaxSettings(l) => match name {
                "taxRegistrationId" => opt(&st.companies.locations[*l].tax_registration_id),
                "taxExempt" => Ok(R::Val(Json::Bool(false))),
                "taxExemptions" => Ok(R::Val(Json::Array(Vec::new()))),
                _ => unknown(name),
            },
            CoObj::UpdatePayload(c, errs) => match name {
                "company" => Ok(R::One(c.map(Obj::Company))),
                "userErrors" => errors(errs),
                _ => unknown(name),
            },
            CoObj::LocationPayload(l, errs) => match name {
                "companyLocation" => Ok(R::One(l.map(Obj::CompanyLocation))),
                "userErrors" => errors(errs),
                _ => unknown(name),
            },
        }
    }

    /// `companyUpdate` and `companyLocationUpdate`; `@idempotent` is refused (2026-07 has none
    /// here).
    pub(crate) fn company_mutation(&mut self, f: &Node<ast::Field>) -> Result<Obj, FieldErr> {
        refuse_idempotent(f)?;
        let now = self.env.clock.unix(self.env.now);
        let input = self.doc.arg(f, "input").unwrap_or(Json::Null);
        if f.name == "companyUpdate" {
            let id = self.str_arg(f, "companyId").unwrap_or_default();
            let (c, errs) = company_update(self.st, &id, &input, now);
            Ok(Obj::Co(CoObj::UpdatePayload(c, Rc::new(errs))))
        } else {
            let id = self.str_arg(f, "companyLocationId").unwrap_or_default();
            let (l, errs) = location_update(self.st, &id, &input, now);
            Ok(Obj::Co(CoObj::LocationPayload(l, Rc::new(errs))))
        }
    }
}
