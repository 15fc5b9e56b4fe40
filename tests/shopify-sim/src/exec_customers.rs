//! Field resolution and the mutation of the customers side (see `customers.rs`): the `customers`
//! and `customer` roots, the `Customer` fields only that API reads (`updatedAt`,
//! `defaultAddress`, …), a customer's address, and the `customerSet` payload. Resolves into the
//! same `Obj` handles and is costed by the same rules as the rest of the executor.

use std::rc::Rc;

use apollo_compiler::Node;
use apollo_compiler::ast;
use serde_json::Value as Json;

use crate::customers::{CustomerExt, customer_set};
use crate::exec::{Exec, FieldErr, Obj, R, refuse_idempotent, unknown};
use crate::inventory::UserErr;
use crate::orders::{GID_ADDRESS, GID_CUSTOMER};
use crate::schema::{N, T};
use crate::search::Search;

/// Customers objects.
#[derive(Clone)]
pub(crate) enum CusObj {
    /// A customer's default address.
    Address(usize),
    /// `customerSet`'s payload.
    SetPayload(Option<usize>, Rc<Vec<UserErr>>),
}

impl CusObj {
    pub(crate) fn ty(&self) -> T {
        match self {
            CusObj::Address(_) => T::MailingAddress,
            CusObj::SetPayload(..) => T::CustomerSetPayload,
        }
    }
}

impl<'d, 'a, 's, 'e> Exec<'d, 'a, 's, 'e> {
    /// `customers(query:, sortKey:)` and `customer(id:)`.
    pub(crate) fn customers_root(&mut self, f: &Node<ast::Field>) -> Result<R, FieldErr> {
        let now = self.env.clock.unix(self.env.now);
        CustomerExt::sync(self.st, now);
        let st = &*self.st;
        match f.name.as_str() {
            "customer" => Ok(R::One(
                self.id_arg(f, "id", GID_CUSTOMER, st.book.customers.len())
                    .map(Obj::Customer),
            )),
            _ => {
                let search = Search::parse(self.str_arg(f, "query").as_deref());
                let sort = self.str_arg(f, "sortKey");
                let keyed: Vec<(i64, usize)> = (0..st.book.customers.len())
                    .filter(|&c| search.matches_customer(st, c))
                    .map(|c| {
                        let key = match sort.as_deref() {
                            Some("UPDATED_AT") => st.customers_ext.updated_at[c],
                            Some("CREATED_AT") => st.customers_ext.created_at[c],
                            _ => c as i64,
                        };
                        (key, c)
                    })
                    .collect();
                self.keyed_page(f, N::Customer, keyed, Obj::Customer)
            }
        }
    }

    /// The `Customer` fields the order side does not serve.
    pub(crate) fn customer_extra(&self, c: usize, f: &Node<ast::Field>) -> Result<R, FieldErr> {
        let st = &*self.st;
        let name = f.name.as_str();
        let time = |t: Option<&i64>| {
            Ok(R::Val(
                t.map(|t| Json::String(crate::clock::format_utc(*t)))
                    .unwrap_or(Json::Null),
            ))
        };
        match name {
            "updatedAt" => time(st.customers_ext.updated_at.get(c)),
            "createdAt" => time(st.customers_ext.created_at.get(c)),
            "legacyResourceId" => Ok(R::Val(Json::String((c + 1).to_string()))),
            "note" => Ok(R::Val(Json::Null)),
            "tags" => Ok(R::Val(Json::Array(Vec::new()))),
            "defaultAddress" => Ok(R::One(
                st.customers_ext
                    .address
                    .get(c)
                    .and_then(Option::as_ref)
                    .map(|_| Obj::Cus(CusObj::Address(c))),
            )),
            _ => unknown(name),
        }
    }

    pub(crate) fn resolve_customers(
        &mut self,
        obj: &CusObj,
        f: &Node<ast::Field>,
    ) -> Result<R, FieldErr> {
        let st = &*self.st;
        let name = f.name.as_str();
        let opt =
            |x: &Option<String>| Ok(R::Val(x.clone().map(Json::String).unwrap_or(Json::Null)));
        match obj {
            CusObj::Address(c) => {
                let Some(a) = st.customers_ext.address.get(*c).and_then(Option::as_ref) else {
                    return Ok(R::Val(Json::Null));
                };
                match name {
                    "id" => Ok(R::Val(Json::String(format!(
                        "{}?model_name=CustomerAddress",
                        st.gid(GID_ADDRESS, 1_000_000 + c)
                    )))),
                    "firstName" => opt(&a.first_name),
                    "lastName" => opt(&a.last_name),
                    "name" => Ok(R::Val(Json::String(
                        [a.first_name.clone(), a.last_name.clone()]
                            .into_iter()
                            .flatten()
                            .collect::<Vec<_>>()
                            .join(" "),
                    ))),
                    "company" => opt(&a.company),
                    "address1" => opt(&a.address1),
                    "address2" => opt(&a.address2),
                    "city" => opt(&a.city),
                    "province" | "provinceCode" => opt(&a.province_code),
                    "zip" => opt(&a.zip),
                    "country" | "countryCodeV2" => opt(&a.country_code),
                    "phone" => opt(&a.phone),
                    _ => unknown(name),
                }
            }
            CusObj::SetPayload(c, errs) => match name {
                "customer" => Ok(R::One(c.map(Obj::Customer))),
                "userErrors" => Ok(R::Many(
                    errs.iter()
                        .map(|e| Some(Obj::UserErr(T::CustomerSetUserError, Rc::new(e.clone()))))
                        .collect(),
                )),
                _ => unknown(name),
            },
        }
    }

    /// `customerSet(input:, identifier:)`; `@idempotent` is refused (2026-07 has none here).
    pub(crate) fn customer_set(&mut self, f: &Node<ast::Field>) -> Result<Obj, FieldErr> {
        refuse_idempotent(f)?;
        let now = self.env.clock.unix(self.env.now);
        let input = self.doc.arg(f, "input").unwrap_or(Json::Null);
        let identifier = self.doc.arg(f, "identifier").unwrap_or(Json::Null);
        let (c, errs) = customer_set(self.st, &input, &identifier, now);
        Ok(Obj::Cus(CusObj::SetPayload(c, Rc::new(errs))))
    }
}
