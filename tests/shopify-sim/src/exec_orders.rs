//! Field resolution of the order side of the schema (orders and their lines, fulfillment orders,
//! fulfillments, refunds, transactions, customers, B2B buyers, money, mutation payloads, Shopify
//! Payments payouts and balance transactions), and pages of connections sorted by a key.
//!
//! Kept apart from `exec.rs` so the inventory resolver stays readable; both resolve into the same
//! `Obj` handles and are costed by the same rules.

use std::rc::Rc;

use apollo_compiler::Node;
use apollo_compiler::ast;
use serde_json::Value as Json;

use crate::exec::{Exec, FieldErr, MoneyVal, Obj, Page, R, ferr, unknown};
use crate::gql::{decode_keyed_cursor, encode_keyed_cursor};
use crate::orders::{
    GID_ACCOUNT, GID_ADDRESS, GID_BALANCE, GID_COMPANY, GID_COMPANY_LOCATION, GID_CUSTOMER, GID_FO,
    GID_FO_LINE, GID_FULFILLMENT, GID_FULFILLMENT_LINE, GID_LINE, GID_ORDER, GID_PAYOUT,
    GID_REFUND, GID_REFUND_LINE, GID_TRANSACTION, decimal,
};
use crate::schema::{N, T};
use crate::search::Search;
use crate::store::StoreData;

impl<'d, 'a, 's, 'e> Exec<'d, 'a, 's, 'e> {
    /// A page of a connection whose order is a key (`sortKey`): `keyed` holds (key, position)
    /// pairs; the cursor carries both, so the next page starts after that pair even if records
    /// changed in between.
    pub(crate) fn keyed_page(
        &self,
        f: &ast::Field,
        n: N,
        mut keyed: Vec<(i64, usize)>,
        make: impl Fn(usize) -> Obj,
    ) -> Result<R, FieldErr> {
        let first = if self.unbounded {
            usize::MAX
        } else {
            self.doc
                .arg(f, "first")
                .and_then(|v| v.as_u64())
                .unwrap_or(0) as usize
        };
        let reverse = self
            .doc
            .arg(f, "reverse")
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        keyed.sort_unstable();
        if reverse {
            keyed.reverse();
        }
        let after = match self.str_arg(f, "after") {
            None => None,
            Some(c) => Some(
                decode_keyed_cursor(&c)
                    .map(|(pos, value)| (value, pos))
                    .ok_or_else(|| {
                        ferr("Invalid cursor for current pagination sort.", "BAD_REQUEST")
                    })?,
            ),
        };
        let start = match after {
            None => 0,
            Some(mark) => keyed
                .iter()
                .position(|k| if reverse { *k < mark } else { *k > mark })
                .unwrap_or(keyed.len()),
        };
        let rest = &keyed[start..];
        let take = rest.len().min(first);
        Ok(R::Page(Rc::new(Page {
            n,
            items: rest[..take].iter().map(|&(_, p)| make(p)).collect(),
            cursors: rest[..take]
                .iter()
                .map(|&(v, p)| encode_keyed_cursor(p, v))
                .collect(),
            has_next: rest.len() > take,
            has_prev: after.is_some(),
        })))
    }

    /// A plain list limited by its `first` argument (absent: all).
    fn first_of_list(&self, f: &ast::Field, items: Vec<Obj>) -> R {
        let first = self
            .doc
            .arg(f, "first")
            .and_then(|v| v.as_u64())
            .map(|n| n as usize)
            .unwrap_or(usize::MAX);
        R::Many(items.into_iter().take(first).map(Some).collect())
    }

    fn money(&self, order: usize, shop: i64) -> Obj {
        let o = &self.st.book.orders[order];
        Obj::Money(Rc::new(MoneyVal {
            shop,
            shop_currency: o.currency.clone(),
            presentment: (shop as f64 * o.rate).round() as i64,
            presentment_currency: o.presentment_currency.clone(),
        }))
    }

    fn payout_money(&self, cents: i64) -> Obj {
        Obj::MoneyV2(cents, Rc::from("EUR"))
    }

    pub(crate) fn resolve_order_side(
        &mut self,
        obj: &Obj,
        f: &Node<ast::Field>,
    ) -> Result<R, FieldErr> {
        let name = f.name.as_str();
        let st: &StoreData = &*self.st;
        let b = &st.book;
        let v = |x: Json| Ok(R::Val(x));
        let s = |x: &str| Ok(R::Val(Json::String(x.to_string())));
        let opt =
            |x: &Option<String>| Ok(R::Val(x.clone().map(Json::String).unwrap_or(Json::Null)));
        let one = |o: Option<Obj>| Ok(R::One(o));
        let time = |t: i64| Json::String(crate::clock::format_utc(t));
        match obj {
            Obj::Order(o) => {
                let r = &b.orders[*o];
                match name {
                    "id" => s(&st.gid(GID_ORDER, *o)),
                    "legacyResourceId" => s(&(o + 1).to_string()),
                    "name" => s(&r.name),
                    "createdAt" => v(time(r.created_at)),
                    "updatedAt" => v(time(r.updated_at)),
                    "processedAt" => v(time(r.processed_at)),
                    "closed" => v(Json::Bool(r.closed_at.is_some())),
                    "closedAt" => v(r.closed_at.map(time).unwrap_or(Json::Null)),
                    "cancelledAt" => v(r.cancelled_at.map(time).unwrap_or(Json::Null)),
                    "cancelReason" => v(if r.cancelled_at.is_some() {
                        Json::String("OTHER".into())
                    } else {
                        Json::Null
                    }),
                    "test" => v(Json::Bool(r.test)),
                    "confirmed" => v(Json::Bool(true)),
                    "fullyPaid" => v(Json::Bool(
                        b.order_money(*o, "totalOutstandingSet") == Some(0),
                    )),
                    "unpaid" => v(Json::Bool(b.received_cents(*o) == 0)),
                    "displayFinancialStatus" => opt(&r.financial_status),
                    "displayFulfillmentStatus" => s(b.fulfillment_status(*o)),
                    "currencyCode" => s(&r.currency),
                    "presentmentCurrencyCode" => s(&r.presentment_currency),
                    "email" => opt(&r.email),
                    "phone" => opt(&r.phone),
                    "poNumber" => opt(&r.po_number),
                    "note" => opt(&r.note),
                    "tags" => v(Json::Array(
                        r.tags.iter().map(|t| Json::String(t.clone())).collect(),
                    )),
                    "taxesIncluded" => v(Json::Bool(r.taxes_included)),
                    "paymentGatewayNames" => {
                        let mut names: Vec<String> = r
                            .transactions
                            .iter()
                            .filter_map(|&t| b.transactions[t].gateway.clone())
                            .collect();
                        names.dedup();
                        v(Json::Array(names.into_iter().map(Json::String).collect()))
                    }
                    "requiresShipping" => v(Json::Bool(
                        r.lines.iter().any(|&l| b.lines[l].requires_shipping),
                    )),
                    "subtotalLineItemsQuantity" => v(Json::from(
                        r.lines.iter().map(|&l| b.lines[l].quantity).sum::<i64>(),
                    )),
                    "currentSubtotalLineItemsQuantity" => v(Json::from(
                        r.lines.iter().map(|&l| b.current_quantity(l)).sum::<i64>(),
                    )),
                    "customAttributes" => Ok(R::Many(
                        (0..r.custom_attributes.len())
                            .map(|i| Some(Obj::Attribute(*o, i)))
                            .collect(),
                    )),
                    "customer" => one(r.customer.map(Obj::Customer)),
                    "purchasingEntity" => one(match (r.company, r.customer) {
                        (Some(_), _) => Some(Obj::PurchasingCompany(*o)),
                        (None, Some(c)) => Some(Obj::Customer(c)),
                        (None, None) => None,
                    }),
                    "billingAddress" => one(r.billing.as_ref().map(|_| Obj::Address(*o, true))),
                    "shippingAddress" => one(r.shipping.as_ref().map(|_| Obj::Address(*o, false))),
                    "lineItems" => {
                        let o = *o;
                        let len = r.lines.len();
                        self.page(
                            f,
                            N::LineItem,
                            len,
                            move |st, pos| Some(Obj::LineItem(st.book.orders[o].lines[pos])),
                            None,
                        )
                    }
                    "shippingLines" => {
                        let o = *o;
                        let len = r.shipping_lines.len();
                        self.page(
                            f,
                            N::ShippingLine,
                            len,
                            move |_, pos| Some(Obj::ShippingLine(o, pos)),
                            None,
                        )
                    }
                    "transactions" => {
                        let items = r
                            .transactions
                            .iter()
                            .map(|&t| Obj::Transaction(t))
                            .collect();
                        Ok(self.first_of_list(f, items))
                    }
                    "refunds" => {
                        let items = r.refunds.iter().map(|&x| Obj::Refund(x)).collect();
                        Ok(self.first_of_list(f, items))
                    }
                    "fulfillmentOrders" => {
                        let o = *o;
                        let len = r.fos.len();
                        self.page(
                            f,
                            N::FulfillmentOrder,
                            len,
                            move |st, pos| Some(Obj::Fo(st.book.orders[o].fos[pos])),
                            None,
                        )
                    }
                    "fulfillments" => {
                        let items = r
                            .fulfillments
                            .iter()
                            .map(|&x| Obj::Fulfillment(x))
                            .collect();
                        Ok(self.first_of_list(f, items))
                    }
                    n => match b.order_money(*o, n) {
                        Some(cents) => one(Some(self.money(*o, cents))),
                        None => unknown(n),
                    },
                }
            }
            Obj::LineItem(l) => {
                let r = &b.lines[*l];
                match name {
                    "id" => s(&st.gid(GID_LINE, *l)),
                    "sku" => opt(&r.sku),
                    "name" | "title" => s(&r.title),
                    "variantTitle" => opt(&r.variant_title),
                    "vendor" => v(Json::Null),
                    "quantity" => v(Json::from(r.quantity)),
                    "currentQuantity" | "refundableQuantity" => {
                        v(Json::from(b.current_quantity(*l)))
                    }
                    "unfulfilledQuantity" => v(Json::from(b.unfulfilled(*l))),
                    "nonFulfillableQuantity" => v(Json::from(r.refunded)),
                    "taxable" => v(Json::Bool(r.taxable)),
                    "requiresShipping" => v(Json::Bool(r.requires_shipping)),
                    "isGiftCard" => v(Json::Bool(r.gift_card)),
                    "variant" => one(r.variant.map(Obj::Variant)),
                    "originalUnitPriceSet" => one(Some(self.money(r.order, r.unit_cents))),
                    "discountedUnitPriceSet" => {
                        let per_unit = if r.quantity > 0 {
                            r.unit_cents - r.discount_cents / r.quantity
                        } else {
                            r.unit_cents
                        };
                        one(Some(self.money(r.order, per_unit)))
                    }
                    "totalDiscountSet" => one(Some(self.money(r.order, r.discount_cents))),
                    "originalTotalSet" => one(Some(self.money(r.order, r.unit_cents * r.quantity))),
                    "discountedTotalSet" => one(Some(
                        self.money(r.order, r.unit_cents * r.quantity - r.discount_cents),
                    )),
                    _ => unknown(name),
                }
            }
            Obj::ShippingLine(o, i) => {
                let r = &b.orders[*o].shipping_lines[*i];
                match name {
                    "id" => s(&format!("gid://shopify/ShippingLine/{}", i + 1)),
                    "title" => s(&r.title),
                    "code" => opt(&r.code),
                    "source" => s("shopify"),
                    "carrierIdentifier" => v(Json::Null),
                    "custom" => v(Json::Bool(false)),
                    "originalPriceSet" | "discountedPriceSet" | "currentDiscountedPriceSet" => {
                        one(Some(self.money(*o, r.price_cents)))
                    }
                    _ => unknown(name),
                }
            }
            Obj::Transaction(t) => {
                let r = &b.transactions[*t];
                match name {
                    "id" => s(&st.gid(GID_TRANSACTION, *t)),
                    "kind" => s(&r.kind),
                    "status" => s(&r.status),
                    "gateway" => opt(&r.gateway),
                    "processedAt" | "createdAt" => v(time(r.processed_at)),
                    "test" => v(Json::Bool(b.orders[r.order].test)),
                    "amountSet" => one(Some(self.money(r.order, r.amount_cents))),
                    "parentTransaction" => one(r.parent.map(Obj::Transaction)),
                    _ => unknown(name),
                }
            }
            Obj::Refund(x) => {
                let r = &b.refunds[*x];
                let order = r
                    .lines
                    .first()
                    .map(|&rl| b.lines[b.refund_lines[rl].line].order)
                    .unwrap_or(0);
                match name {
                    "id" => s(&st.gid(GID_REFUND, *x)),
                    "legacyResourceId" => s(&(x + 1).to_string()),
                    "createdAt" | "updatedAt" => v(time(r.created_at)),
                    "note" => v(Json::Null),
                    "totalRefundedSet" => {
                        let cents = r
                            .lines
                            .iter()
                            .map(|&rl| b.refund_lines[rl].subtotal_cents)
                            .sum();
                        one(Some(self.money(order, cents)))
                    }
                    "refundLineItems" => {
                        let x = *x;
                        let len = r.lines.len();
                        self.page(
                            f,
                            N::RefundLineItem,
                            len,
                            move |st, pos| Some(Obj::RefundLine(st.book.refunds[x].lines[pos])),
                            None,
                        )
                    }
                    _ => unknown(name),
                }
            }
            Obj::RefundLine(rl) => {
                let r = &b.refund_lines[*rl];
                let order = b.lines[r.line].order;
                match name {
                    "id" => s(&st.gid(GID_REFUND_LINE, *rl)),
                    "quantity" => v(Json::from(r.quantity)),
                    "restockType" => s(r.restock_type),
                    "restocked" => v(Json::Bool(false)),
                    "lineItem" => one(Some(Obj::LineItem(r.line))),
                    "subtotalSet" => one(Some(self.money(order, r.subtotal_cents))),
                    "priceSet" => one(Some(self.money(order, b.lines[r.line].unit_cents))),
                    "totalTaxSet" => one(Some(self.money(order, 0))),
                    _ => unknown(name),
                }
            }
            Obj::Fo(x) => {
                let r = &b.fos[*x];
                match name {
                    "id" => s(&st.gid(GID_FO, *x)),
                    "status" => s(r.status.as_str()),
                    "requestStatus" => s("UNSUBMITTED"),
                    "createdAt" => v(time(b.orders[r.order].created_at)),
                    "updatedAt" => v(time(r.updated_at)),
                    "orderId" => s(&st.gid(GID_ORDER, r.order)),
                    "orderName" => s(&b.orders[r.order].name),
                    "order" => one(Some(Obj::Order(r.order))),
                    "assignedLocation" => one(Some(Obj::AssignedLocation(*x))),
                    "lineItems" => {
                        let x = *x;
                        let len = r.lines.len();
                        self.page(
                            f,
                            N::FulfillmentOrderLineItem,
                            len,
                            move |st, pos| Some(Obj::FoLine(st.book.fos[x].lines[pos])),
                            None,
                        )
                    }
                    _ => unknown(name),
                }
            }
            Obj::AssignedLocation(x) => {
                let loc = b.fos[*x].location;
                match name {
                    "name" => s(&st.locations[loc].name),
                    "countryCode" => s("DE"),
                    "location" => one(Some(Obj::Location(loc))),
                    _ => unknown(name),
                }
            }
            Obj::FoLine(x) => {
                let r = &b.fo_lines[*x];
                match name {
                    "id" => s(&st.gid(GID_FO_LINE, *x)),
                    "totalQuantity" => v(Json::from(r.total)),
                    "remainingQuantity" => v(Json::from(r.remaining)),
                    "sku" => opt(&b.lines[r.line].sku),
                    "requiresShipping" => v(Json::Bool(true)),
                    "lineItem" => one(Some(Obj::LineItem(r.line))),
                    _ => unknown(name),
                }
            }
            Obj::Fulfillment(x) => {
                let r = &b.fulfillments[*x];
                match name {
                    "id" => s(&st.gid(GID_FULFILLMENT, *x)),
                    "name" => s(&format!("{}-F{}", b.orders[r.order].name, x + 1)),
                    "status" => s("SUCCESS"),
                    "displayStatus" => s("FULFILLED"),
                    "createdAt" | "updatedAt" => v(time(r.created_at)),
                    "totalQuantity" => v(Json::from(
                        r.lines
                            .iter()
                            .map(|&l| b.fulfillment_lines[l].quantity)
                            .sum::<i64>(),
                    )),
                    "order" => one(Some(Obj::Order(r.order))),
                    "trackingInfo" => {
                        let x = *x;
                        let items = (0..r.tracking.len()).map(|i| Obj::Tracking(x, i)).collect();
                        Ok(self.first_of_list(f, items))
                    }
                    "fulfillmentLineItems" => {
                        let x = *x;
                        let len = r.lines.len();
                        self.page(
                            f,
                            N::FulfillmentLineItem,
                            len,
                            move |st, pos| {
                                Some(Obj::FulfillmentLine(st.book.fulfillments[x].lines[pos]))
                            },
                            None,
                        )
                    }
                    _ => unknown(name),
                }
            }
            Obj::Tracking(x, i) => {
                let t = &b.fulfillments[*x].tracking[*i];
                match name {
                    "number" => opt(&t.number),
                    "company" => opt(&t.company),
                    "url" => opt(&t.url),
                    _ => unknown(name),
                }
            }
            Obj::FulfillmentLine(x) => {
                let r = &b.fulfillment_lines[*x];
                match name {
                    "id" => s(&st.gid(GID_FULFILLMENT_LINE, *x)),
                    "quantity" => v(Json::from(r.quantity)),
                    "lineItem" => one(Some(Obj::LineItem(r.line))),
                    _ => unknown(name),
                }
            }
            Obj::Customer(c) => {
                let r = &b.customers[*c];
                match name {
                    "id" => s(&st.gid(GID_CUSTOMER, *c)),
                    "firstName" => opt(&r.first_name),
                    "lastName" => opt(&r.last_name),
                    "displayName" => s(&[r.first_name.clone(), r.last_name.clone()]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join(" ")),
                    "email" => opt(&r.email),
                    "phone" => opt(&r.phone),
                    "defaultEmailAddress" => one(r.email.as_ref().map(|_| Obj::EmailAddress(*c))),
                    "defaultPhoneNumber" => one(r.phone.as_ref().map(|_| Obj::PhoneNumber(*c))),
                    _ => self.customer_extra(*c, f),
                }
            }
            Obj::EmailAddress(c) => match name {
                "emailAddress" => opt(&b.customers[*c].email),
                _ => unknown(name),
            },
            Obj::PhoneNumber(c) => match name {
                "phoneNumber" => opt(&b.customers[*c].phone),
                _ => unknown(name),
            },
            Obj::Address(o, billing) => {
                let r = &b.orders[*o];
                let a = if *billing { &r.billing } else { &r.shipping };
                let a = a
                    .as_ref()
                    .ok_or_else(|| ferr("missing address", "INTERNAL_SERVER_ERROR"))?;
                match name {
                    "id" => s(&st.gid(GID_ADDRESS, o * 2 + usize::from(!billing))),
                    "firstName" => opt(&a.first_name),
                    "lastName" => opt(&a.last_name),
                    "name" => s(&[a.first_name.clone(), a.last_name.clone()]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join(" ")),
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
            Obj::PurchasingCompany(o) => {
                let (company, location) = b.orders[*o]
                    .company
                    .ok_or_else(|| ferr("missing company", "INTERNAL_SERVER_ERROR"))?;
                match name {
                    "company" => one(Some(Obj::Company(company))),
                    "location" => one(Some(Obj::CompanyLocation(location))),
                    _ => unknown(name),
                }
            }
            Obj::Company(c) => match name {
                "id" => s(&st.gid(GID_COMPANY, *c)),
                "name" => s(&b.companies[*c]),
                "externalId" => v(Json::Null),
                _ => unknown(name),
            },
            Obj::CompanyLocation(c) => match name {
                "id" => s(&st.gid(GID_COMPANY_LOCATION, *c)),
                "name" => s(&b.company_locations[*c].1),
                "externalId" => v(Json::Null),
                _ => unknown(name),
            },
            Obj::Attribute(o, i) => {
                let (k, val) = &b.orders[*o].custom_attributes[*i];
                match name {
                    "key" => s(k),
                    "value" => opt(val),
                    _ => unknown(name),
                }
            }
            Obj::Money(m) => match name {
                "shopMoney" => one(Some(Obj::MoneyV2(
                    m.shop,
                    Rc::from(m.shop_currency.as_str()),
                ))),
                "presentmentMoney" => one(Some(Obj::MoneyV2(
                    m.presentment,
                    Rc::from(m.presentment_currency.as_str()),
                ))),
                _ => unknown(name),
            },
            Obj::MoneyV2(cents, currency) => match name {
                "amount" => s(&decimal(*cents)),
                "currencyCode" => s(currency),
                _ => unknown(name),
            },
            Obj::FulfillmentPayload(fi, errs) => match name {
                "fulfillment" => one(fi.map(Obj::Fulfillment)),
                "userErrors" => Ok(user_errors(errs)),
                _ => unknown(name),
            },
            Obj::OrderPayload(_, order, errs) => match name {
                "order" => one(order.map(Obj::Order)),
                "userErrors" => Ok(user_errors(errs)),
                _ => unknown(name),
            },
            Obj::PaymentsAccount => match name {
                "id" => s(GID_ACCOUNT),
                "activated" => v(Json::Bool(true)),
                "defaultCurrency" => s("EUR"),
                "country" => s("DE"),
                "payouts" => {
                    let search = Search::parse(self.str_arg(f, "query").as_deref());
                    let by_issue = self.str_arg(f, "sortKey").as_deref() != Some("ID");
                    let keyed = (0..b.payouts.len())
                        .filter(|&p| search.matches_payout(st, p))
                        .map(|p| {
                            let key = if by_issue {
                                b.payouts[p].issued_at
                            } else {
                                p as i64
                            };
                            (key, p)
                        })
                        .collect();
                    self.keyed_page(f, N::Payout, keyed, Obj::Payout)
                }
                "balanceTransactions" => {
                    let search = Search::parse(self.str_arg(f, "query").as_deref());
                    let by_id = self.str_arg(f, "sortKey").as_deref() == Some("ID");
                    let keyed = (0..b.balance.len())
                        .filter(|&x| search.matches_balance(st, x))
                        .map(|x| {
                            let key = if by_id {
                                x as i64
                            } else {
                                b.balance[x].processed_at
                            };
                            (key, x)
                        })
                        .collect();
                    self.keyed_page(f, N::BalanceTransaction, keyed, Obj::Balance)
                }
                _ => unknown(name),
            },
            Obj::Payout(p) => {
                let r = &b.payouts[*p];
                match name {
                    "id" => s(&st.gid(GID_PAYOUT, *p)),
                    "legacyResourceId" => s(&(p + 1).to_string()),
                    "issuedAt" => v(time(r.issued_at)),
                    "status" => s(&r.status),
                    "transactionType" => s(if r.net_cents < 0 {
                        "WITHDRAWAL"
                    } else {
                        "DEPOSIT"
                    }),
                    "externalTraceId" => v(Json::Null),
                    "net" => one(Some(self.payout_money(r.net_cents))),
                    "summary" => one(Some(Obj::PayoutSummary(*p))),
                    _ => unknown(name),
                }
            }
            Obj::PayoutSummary(p) => {
                let r = &b.payouts[*p];
                let cents = match name {
                    "chargesGross" => r.charges_gross_cents,
                    "chargesFee" => r.charges_fee_cents,
                    _ => 0,
                };
                if crate::schema::PAYOUT_SUMMARY.contains(&name) {
                    one(Some(self.payout_money(cents)))
                } else {
                    unknown(name)
                }
            }
            Obj::Balance(x) => {
                let r = &b.balance[*x];
                match name {
                    "id" => s(&st.gid(GID_BALANCE, *x)),
                    "type" => s(&r.transaction_type),
                    "test" => v(Json::Bool(false)),
                    "transactionDate" => v(time(r.processed_at)),
                    "sourceType" => s(&r.transaction_type),
                    // BigInt: Shopify writes these as strings.
                    "sourceId" => s(&(9_000_000 + x).to_string()),
                    "sourceOrderTransactionId" => v(r
                        .order
                        .and_then(|o| b.orders[o].transactions.first())
                        .map(|t| Json::String((t + 1).to_string()))
                        .unwrap_or(Json::Null)),
                    "adjustmentReason" => v(Json::Null),
                    "amount" => one(Some(self.payout_money(r.amount_cents))),
                    "fee" => one(Some(self.payout_money(r.fee_cents))),
                    "net" => one(Some(self.payout_money(r.amount_cents - r.fee_cents))),
                    "associatedOrder" => one(r.order.map(Obj::AssociatedOrder)),
                    "associatedPayout" => one(Some(Obj::AssociatedPayout(r.payout))),
                    _ => unknown(name),
                }
            }
            Obj::AssociatedOrder(o) => match name {
                "id" => s(&st.gid(GID_ORDER, *o)),
                "name" => s(&b.orders[*o].name),
                _ => unknown(name),
            },
            Obj::AssociatedPayout(p) => match name {
                "id" => v(p
                    .map(|p| Json::String(st.gid(GID_PAYOUT, p)))
                    .unwrap_or(Json::Null)),
                "status" => v(p
                    .map(|p| Json::String(b.payouts[p].status.clone()))
                    .unwrap_or(Json::Null)),
                _ => unknown(name),
            },
            _ => unknown(name),
        }
    }
}

fn user_errors(errs: &Rc<Vec<crate::inventory::UserErr>>) -> R {
    R::Many(
        errs.iter()
            .map(|e| Some(Obj::UserErr(T::UserError, Rc::new(e.clone()))))
            .collect(),
    )
}
