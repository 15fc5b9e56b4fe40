//! Field resolution and the mutation of the catalogs side (see `b2b_catalogs.rs`): the `catalogs`
//! and `priceList` roots, catalogs, price lists, their fixed prices, publications, markets and
//! company locations, and `priceListFixedPricesAdd`. Resolves into the same `Obj` handles and is
//! costed by the same rules as the rest of the executor.

use std::rc::Rc;

use apollo_compiler::Node;
use apollo_compiler::ast;
use serde_json::Value as Json;

use crate::b2b_catalogs::{BT, FixedRec, GID_MARKET, GID_PRICE_LIST, GID_PUBLICATION, cents};
use crate::exec::{Exec, FieldErr, Obj, R, ferr, refuse_idempotent, unknown};
use crate::inventory::UserErr;
use crate::schema::{N, T};
use crate::store::GID_VARIANT;

/// Most rows of one `priceListFixedPricesAdd`.
const MAX_ROWS: usize = 250;

/// Catalogs-side objects.
#[derive(Clone)]
pub(crate) enum B2bObj {
    /// (catalog, is a market catalog)
    Catalog(usize, bool),
    PriceList(usize),
    /// (price list, variant)
    Price(usize, usize),
    Publication(usize),
    Market(usize),
    /// (catalog, index of its company location)
    Location(usize, usize),
    /// Applied rows (price list, variants) and errors.
    AddPayload(usize, Rc<Vec<usize>>, Rc<Vec<UserErr>>),
}

impl B2bObj {
    pub(crate) fn ty(&self) -> T {
        match self {
            B2bObj::Catalog(_, market) => T::B2b(if *market {
                BT::MarketCatalog
            } else {
                BT::CompanyLocationCatalog
            }),
            B2bObj::PriceList(_) => T::B2b(BT::PriceList),
            B2bObj::Price(..) => T::B2b(BT::PriceListPrice),
            B2bObj::Publication(_) => T::B2b(BT::Publication),
            B2bObj::Market(_) => T::B2b(BT::Market),
            B2bObj::Location(..) => T::CompanyLocation,
            B2bObj::AddPayload(..) => T::B2b(BT::AddPayload),
        }
    }
}

fn b(o: B2bObj) -> Obj {
    Obj::B2b(o)
}

impl<'d, 'a, 's, 'e> Exec<'d, 'a, 's, 'e> {
    /// `catalogs(type:)` and `priceList(id:)`.
    pub(crate) fn b2b_root(&mut self, f: &Node<ast::Field>) -> Result<R, FieldErr> {
        let st = &*self.st;
        match f.name.as_str() {
            "priceList" => {
                let id = self.str_arg(f, "id").unwrap_or_default();
                Ok(R::One(
                    st.b2b.price_list_of(&id).map(|p| b(B2bObj::PriceList(p))),
                ))
            }
            _ => {
                let ty = self.str_arg(f, "type");
                let market = match ty.as_deref() {
                    None => None,
                    Some("MARKET") => Some(true),
                    Some("COMPANY_LOCATION") => Some(false),
                    // APP and NONE catalogs are not modelled: none of them exists.
                    Some(_) => {
                        return self.page(f, N::Catalog, 0, |_, _| None, None);
                    }
                };
                let len = st.b2b.catalogs.len();
                self.page(
                    f,
                    N::Catalog,
                    len,
                    |st, c| {
                        let rec = &st.b2b.catalogs[c];
                        (!rec.deleted && market.is_none_or(|m| rec.market == m))
                            .then_some(b(B2bObj::Catalog(c, rec.market)))
                    },
                    None,
                )
            }
        }
    }

    /// Fields of the catalogs-side objects.
    pub(crate) fn resolve_b2b(
        &mut self,
        obj: &B2bObj,
        f: &Node<ast::Field>,
    ) -> Result<R, FieldErr> {
        let name = f.name.as_str();
        let st = &*self.st;
        let s = |x: &str| Ok(R::Val(Json::String(x.to_string())));
        match obj {
            B2bObj::Catalog(c, _) => {
                let rec = &st.b2b.catalogs[*c];
                match name {
                    "id" => s(&st.b2b.catalog_gid(*c)),
                    "title" => s(&rec.title),
                    "status" => s(&rec.status),
                    "priceList" => Ok(R::One(rec.price_list.map(|p| b(B2bObj::PriceList(p))))),
                    "publication" => Ok(R::One(rec.publication.map(|p| b(B2bObj::Publication(p))))),
                    "markets" if rec.market => {
                        let markets = rec.markets.clone();
                        self.page(
                            f,
                            N::Market,
                            markets.len(),
                            |_, i| Some(b(B2bObj::Market(markets[i]))),
                            None,
                        )
                    }
                    "companyLocations" if !rec.market => {
                        let (c, len) = (*c, rec.locations.len());
                        self.page(
                            f,
                            N::CompanyLocation,
                            len,
                            |_, i| Some(b(B2bObj::Location(c, i))),
                            None,
                        )
                    }
                    _ => unknown(name),
                }
            }
            B2bObj::PriceList(p) => {
                let rec = &st.b2b.price_lists[*p];
                match name {
                    "id" => s(&format!("{GID_PRICE_LIST}{}", 2000 + p)),
                    "name" => s(&rec.name),
                    "currency" => s(&rec.currency),
                    "fixedPricesCount" => Ok(R::Val(Json::from(rec.fixed.len()))),
                    "catalog" => Ok(R::One(
                        rec.catalog
                            .map(|c| b(B2bObj::Catalog(c, st.b2b.catalogs[c].market))),
                    )),
                    "prices" => {
                        let variants: Vec<usize> = rec.fixed.keys().copied().collect();
                        let p = *p;
                        self.page(
                            f,
                            N::PriceListPrice,
                            variants.len(),
                            |_, i| Some(b(B2bObj::Price(p, variants[i]))),
                            None,
                        )
                    }
                    _ => unknown(name),
                }
            }
            B2bObj::Price(p, v) => {
                let rec = &st.b2b.price_lists[*p];
                let fixed = rec.fixed.get(v).cloned();
                let currency: Rc<str> = Rc::from(rec.currency.as_str());
                match name {
                    "originType" => s("FIXED"),
                    "price" => Ok(R::One(
                        fixed.map(|x| Obj::MoneyV2(x.price, currency.clone())),
                    )),
                    "compareAtPrice" => Ok(R::One(
                        fixed
                            .and_then(|x| x.compare_at)
                            .map(|c| Obj::MoneyV2(c, currency.clone())),
                    )),
                    "variant" => Ok(R::One(Some(Obj::Variant(*v)))),
                    _ => unknown(name),
                }
            }
            B2bObj::Publication(i) => match name {
                "id" => s(&format!("{GID_PUBLICATION}{}", 3000 + i)),
                "autoPublish" => Ok(R::Val(Json::Bool(false))),
                _ => unknown(name),
            },
            B2bObj::Market(m) => match name {
                "id" => s(&format!("{GID_MARKET}{}", 4000 + m)),
                "name" => s(&st.b2b.markets[*m]),
                "handle" => s(&st.b2b.markets[*m].to_lowercase().replace(' ', "-")),
                "status" => s("ACTIVE"),
                "enabled" => Ok(R::Val(Json::Bool(true))),
                _ => unknown(name),
            },
            B2bObj::Location(c, i) => {
                let (id, loc_name, external) = &st.b2b.catalogs[*c].locations[*i];
                match name {
                    "id" => s(id),
                    "name" => s(loc_name),
                    "externalId" => Ok(R::Val(
                        external.clone().map(Json::String).unwrap_or(Json::Null),
                    )),
                    _ => unknown(name),
                }
            }
            B2bObj::AddPayload(p, applied, errs) => match name {
                "prices" => Ok(R::Many(
                    applied
                        .iter()
                        .map(|v| Some(b(B2bObj::Price(*p, *v))))
                        .collect(),
                )),
                "userErrors" => Ok(R::Many(
                    errs.iter()
                        .map(|e| Some(Obj::UserErr(T::B2b(BT::PriceUserError), Rc::new(e.clone()))))
                        .collect(),
                )),
                _ => unknown(name),
            },
        }
    }

    /// `priceListFixedPricesAdd`: every row checked (variant exists, currency is the price
    /// list's, amounts readable); with any refused row nothing is applied.
    pub(crate) fn fixed_prices_add(&mut self, f: &Node<ast::Field>) -> Result<Obj, FieldErr> {
        refuse_idempotent(f)?;
        let list_id = self
            .doc
            .arg(f, "priceListId")
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let rows = self.doc.arg(f, "prices").unwrap_or(Json::Null);
        let rows = rows.as_array().cloned().unwrap_or_default();
        if rows.len() > MAX_ROWS {
            return Err(ferr(
                format!(
                    "The input array size of {} is greater than the maximum allowed of {MAX_ROWS}.",
                    rows.len()
                ),
                "MAX_INPUT_SIZE_EXCEEDED",
            ));
        }
        let err = |field: Vec<String>, message: &str, code: &str| UserErr {
            field: Some(field),
            message: message.to_string(),
            code: Some(code.to_string()),
        };
        let Some(p) = self.st.b2b.price_list_of(&list_id) else {
            let e = err(
                vec!["priceListId".into()],
                "Price list does not exist.",
                "PRICE_LIST_NOT_FOUND",
            );
            return Ok(b(B2bObj::AddPayload(
                0,
                Rc::new(Vec::new()),
                Rc::new(vec![e]),
            )));
        };
        self.st.b2b.add_calls.push((p, rows.len()));
        let currency = self.st.b2b.price_lists[p].currency.clone();
        let mut errors = Vec::new();
        let mut ok: Vec<(usize, FixedRec)> = Vec::new();
        for (i, row) in rows.iter().enumerate() {
            let at = |rest: &[&str]| {
                let mut v = vec!["prices".to_string(), i.to_string()];
                v.extend(rest.iter().map(|s| s.to_string()));
                v
            };
            let variant = row["variantId"]
                .as_str()
                .and_then(|id| self.st.parse_gid(GID_VARIANT, id))
                .filter(|&v| v < self.st.variants.len());
            let Some(variant) = variant else {
                errors.push(err(
                    at(&["variantId"]),
                    "Variant not found.",
                    "VARIANT_NOT_FOUND",
                ));
                continue;
            };
            let money = |key: &str| -> Result<Option<i64>, UserErr> {
                let m = &row[key];
                if m.is_null() {
                    return Ok(None);
                }
                if m["currencyCode"].as_str() != Some(currency.as_str()) {
                    return Err(err(
                        at(&[key, "currencyCode"]),
                        "The specified currency does not match the price list's currency.",
                        "PRICE_LIST_CURRENCY_MISMATCH",
                    ));
                }
                m["amount"]
                    .as_str()
                    .and_then(cents)
                    .map(Some)
                    .ok_or_else(|| err(at(&[key, "amount"]), "Amount is invalid.", "BLANK"))
            };
            match (money("price"), money("compareAtPrice")) {
                (Ok(Some(price)), Ok(compare_at)) => {
                    ok.push((variant, FixedRec { price, compare_at }))
                }
                (Ok(None), _) => errors.push(err(at(&["price"]), "Price can't be blank.", "BLANK")),
                (Err(e), _) | (_, Err(e)) => errors.push(e),
            }
        }
        if !errors.is_empty() {
            return Ok(b(B2bObj::AddPayload(
                p,
                Rc::new(Vec::new()),
                Rc::new(errors),
            )));
        }
        let list = &mut self.st.b2b.price_lists[p];
        let mut applied = Vec::with_capacity(ok.len());
        for (v, rec) in ok {
            list.fixed.insert(v, rec);
            applied.push(v);
        }
        Ok(b(B2bObj::AddPayload(
            p,
            Rc::new(applied),
            Rc::new(Vec::new()),
        )))
    }
}
