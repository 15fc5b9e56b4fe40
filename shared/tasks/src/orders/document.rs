//! What BC document a staged order becomes (the reference's `Shpfy Process Order`), as plain
//! functions of the settings, the staged order and the Shopify order: no reads, no writes, so every
//! rule is tested without doubles.
//!
//! - **Which document:** a sales invoice when the order is fulfilled already and the shop creates
//!   invoices from orders (there is nothing left to ship), else a sales order.
//! - **Which currency:** the shop's (`currency_code`, BC's local currency when unset), or with
//!   `presentment_currency` the one the customer paid in, with its amounts. Shopify gives line
//!   discounts in the shop's currency only, so an order with discounts in another presentment currency
//!   is refused with the reason rather than converted at a guessed rate.
//! - **Lines:** one item line per staged line, at its unit price before discounts with the line's
//!   discount as its discount amount; the shipping charge as one line on the shop's
//!   `shipping_charges_account`. Order-level discounts reach BC through the lines (Shopify allocates
//!   them to lines), so no invoice discount is set on top.
//! - **The natural key:** the external document number is the Shopify order name; BC keeps it upper
//!   case in 35 characters, and the exactly-once probe looks documents up by it.
//!
//! Anything BC would refuse is found here, with every reason at once, so no request is spent on a
//! document that cannot be made and the order shows why.

use super::staged::StagedOrder;
use shopsync_domain::orders::{Address, ShopifyOrder};
use shopsync_domain::sales::{
    Decimal, DocumentAddress, PostalAddress, SalesDocumentDraft, SalesDocumentKind, SalesLineDraft,
    ShippingChargeAccount, ShippingChargeLine, fit, limits,
};
use shopsync_domain::settings::{CurrencyHandling, ShopSettings};
use shopsync_domain::text::bounded;

/// Characters of the reason an order cannot become a document.
const MAX_REASON_CHARS: usize = 400;

/// Fulfilled orders with `create_invoices_from_orders` become invoices; everything else an order.
pub fn document_kind(settings: &ShopSettings, order: &ShopifyOrder) -> SalesDocumentKind {
    if settings.create_invoices_from_orders && order.fulfillment_status == "FULFILLED" {
        SalesDocumentKind::Invoice
    } else {
        SalesDocumentKind::Order
    }
}

/// Whether the order is to be closed in Shopify once its document exists (the reference's
/// `Archive Processed Orders`): an invoice (so fulfilled) of an order that is paid in full.
pub fn closes_after(
    settings: &ShopSettings,
    kind: SalesDocumentKind,
    order: &ShopifyOrder,
) -> bool {
    settings.archive_processed_orders
        && kind == SalesDocumentKind::Invoice
        && !order.closed
        && order.financial_status.as_deref() == Some("PAID")
}

/// Whether a processed order (its document exists) is to be closed now: the reference archives an
/// order whose sales order exists once it is fulfilled and paid in full.
pub fn closes_processed(settings: &ShopSettings, order: &ShopifyOrder) -> bool {
    settings.archive_processed_orders
        && !order.closed
        && order.fulfillment_status == "FULFILLED"
        && order.financial_status.as_deref() == Some("PAID")
}

/// The document `staged` becomes, or every reason it cannot (one text, bounded).
pub fn draft(
    settings: &ShopSettings,
    staged: &StagedOrder,
    order: &ShopifyOrder,
) -> Result<SalesDocumentDraft, String> {
    let mut problems: Vec<String> = Vec::new();
    let customer_number = staged.customer_no.clone().unwrap_or_else(|| {
        problems.push("the order has no BC customer".into());
        String::new()
    });
    let (currency_code, presentment) = currency(settings, order);
    let amount = |shop: &str, presentment_amount: &str, what: &str, problems: &mut Vec<String>| {
        let text = if presentment {
            presentment_amount
        } else {
            shop
        };
        Decimal::parse(text).unwrap_or_else(|e| {
            problems.push(format!("{what} {e}"));
            Decimal::zero()
        })
    };
    let mut lines = Vec::with_capacity(staged.lines.len());
    for line in &staged.lines {
        let Some(item_number) = line.item_no.clone() else {
            problems.push(format!("line '{}' is not mapped", bounded(&line.title, 40)));
            continue;
        };
        let unit_presentment = order
            .line(&line.line_id)
            .map(|l| l.unit_price_presentment.amount.as_str())
            .unwrap_or(line.unit_price.amount.as_str());
        let unit_price = amount(
            &line.unit_price.amount,
            unit_presentment,
            "a unit price",
            &mut problems,
        );
        let discount = Decimal::parse(&line.discount.amount).unwrap_or_else(|e| {
            problems.push(format!("a line discount {e}"));
            Decimal::zero()
        });
        if presentment && !discount.is_zero() {
            problems.push(format!(
                "line '{}' has a discount, which Shopify gives only in the shop currency: with currency_handling presentment_currency it cannot be converted",
                bounded(&line.title, 40)
            ));
        }
        lines.push(SalesLineDraft {
            item_number,
            variant_code: line.variant_code.clone(),
            description: Some(fit(&line.title, limits::DESCRIPTION)).filter(|d| !d.is_empty()),
            quantity: Decimal::parse(&line.quantity.to_string())
                .unwrap_or_else(|_| Decimal::zero()),
            unit_price,
            discount_amount: (!discount.is_zero()).then_some(discount),
        });
    }
    let shipping = &order.totals.shipping;
    let shipping_amount = amount(
        &shipping.shop.amount,
        &shipping.presentment.amount,
        "the shipping charge",
        &mut problems,
    );
    let shipping_charge = if shipping_amount.is_positive() {
        match &settings.shipping_charges_account {
            Some(account) => Some(ShippingChargeLine {
                account: ShippingChargeAccount::GlAccount(account.clone()),
                description: order
                    .shipping_lines
                    .first()
                    .map(|s| fit(&s.title, limits::DESCRIPTION))
                    .filter(|d| !d.is_empty()),
                amount: shipping_amount,
            }),
            None => {
                problems.push(format!(
                    "the order has a shipping charge of {shipping_amount} and the shop has no shipping_charges_account"
                ));
                None
            }
        }
    } else {
        None
    };
    let draft = SalesDocumentDraft {
        kind: document_kind(settings, order),
        customer_number,
        external_document_number: order.name.clone(),
        currency_code,
        document_date: order.processed_at.get(..10).unwrap_or_default().to_string(),
        email: order
            .email
            .as_deref()
            .map(|e| fit(e, limits::EMAIL))
            .filter(|e| !e.is_empty()),
        phone_number: order
            .phone
            .as_deref()
            .map(|p| fit(p, limits::PHONE))
            .filter(|p| !p.is_empty()),
        bill_to: order.billing_address.as_ref().map(party),
        ship_to: order.shipping_address.as_ref().map(party),
        lines,
        shipping_charge,
        invoice_discount_amount: None,
    };
    if let Err(fields) = draft.validate() {
        problems.extend(fields.iter().map(ToString::to_string));
    }
    if problems.is_empty() {
        Ok(draft)
    } else {
        Err(bounded(
            &format!("no BC document can be made: {}", problems.join("; ")),
            MAX_REASON_CHARS,
        ))
    }
}

/// The document's currency code, and whether its amounts are the presentment ones.
fn currency(settings: &ShopSettings, order: &ShopifyOrder) -> (Option<String>, bool) {
    match settings.currency_handling {
        CurrencyHandling::PresentmentCurrency if order.presentment_currency != order.currency => {
            (Some(order.presentment_currency.clone()), true)
        }
        _ => (settings.currency_code.clone(), false),
    }
}

fn party(a: &Address) -> DocumentAddress {
    let s = |v: &Option<String>| v.as_deref().unwrap_or("").trim().to_string();
    let person = [s(&a.first_name), s(&a.last_name)]
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let company = s(&a.company);
    let (name, contact) = if company.is_empty() {
        (person, String::new())
    } else {
        (company, person)
    };
    DocumentAddress {
        name,
        contact,
        address: PostalAddress {
            line1: s(&a.address1),
            line2: s(&a.address2),
            city: s(&a.city),
            state: s(&a.province_code),
            country: s(&a.country_code),
            postal_code: s(&a.zip),
        },
    }
    .fitted()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::orders::mapping::map_lines;
    use crate::orders::tests::{order, settings};

    fn staged(settings: &ShopSettings, order: &ShopifyOrder) -> StagedOrder {
        let mut s = StagedOrder::new(order, map_lines(settings, order, &Default::default()));
        s.customer_no = Some("C0001".into());
        s.refresh();
        s
    }

    #[test]
    fn a_mapped_order_becomes_an_order_with_its_lines_and_shipping() {
        let mut s = settings();
        s.shipping_charges_account = Some("6100".into());
        let o = order(1, "2026-05-01T10:00:00Z");
        let d = draft(&s, &staged(&s, &o), &o).unwrap();
        assert_eq!(d.kind, SalesDocumentKind::Order);
        assert_eq!(d.external_document_number, "#1001");
        assert_eq!(d.customer_number, "C0001");
        assert_eq!(d.document_date, "2026-05-01");
        assert_eq!(d.currency_code, None);
        let lines: Vec<(&str, &str, &str)> = d
            .lines
            .iter()
            .map(|l| {
                (
                    l.item_number.as_str(),
                    l.quantity.as_str(),
                    l.unit_price.as_str(),
                )
            })
            .collect();
        assert_eq!(lines, [("ITEM-1", "1", "19.99"), ("ITEM-2", "2", "19.99")]);
        let ship = d.shipping_charge.unwrap();
        assert_eq!(
            (ship.account, ship.amount.as_str()),
            (ShippingChargeAccount::GlAccount("6100".into()), "5")
        );
    }

    #[test]
    fn fulfilled_orders_become_invoices_and_paid_invoices_close_the_order() {
        let mut s = settings();
        let mut o = order(1, "2026-05-01T10:00:00Z");
        assert_eq!(document_kind(&s, &o), SalesDocumentKind::Order);
        o.fulfillment_status = "FULFILLED".into();
        assert_eq!(document_kind(&s, &o), SalesDocumentKind::Invoice);
        assert!(closes_after(&s, SalesDocumentKind::Invoice, &o));
        assert!(!closes_after(&s, SalesDocumentKind::Order, &o));
        o.financial_status = Some("PARTIALLY_PAID".into());
        assert!(!closes_after(&s, SalesDocumentKind::Invoice, &o));
        s.create_invoices_from_orders = false;
        assert_eq!(document_kind(&s, &o), SalesDocumentKind::Order);
    }

    #[test]
    fn every_reason_is_given_at_once() {
        let s = settings();
        let mut o = order(1, "2026-05-01T10:00:00Z");
        o.name = format!("#{}", "9".repeat(40));
        let mut st = staged(&s, &o);
        st.customer_no = None;
        let reason = draft(&s, &st, &o).unwrap_err();
        assert!(reason.contains("no BC customer"), "{reason}");
        assert!(reason.contains("shipping_charges_account"), "{reason}");
        assert!(reason.contains("external_document_number"), "{reason}");
    }

    #[test]
    fn presentment_currency_takes_the_customers_amounts() {
        let mut s = settings();
        s.shipping_charges_account = Some("6100".into());
        s.currency_handling = CurrencyHandling::PresentmentCurrency;
        let mut o = order(1, "2026-05-01T10:00:00Z");
        o.presentment_currency = "USD".into();
        for l in &mut o.line_items {
            l.unit_price_presentment.amount = "21.50".into();
        }
        o.totals.shipping.presentment.amount = "5.40".into();
        let d = draft(&s, &staged(&s, &o), &o).unwrap();
        assert_eq!(d.currency_code.as_deref(), Some("USD"));
        assert_eq!(d.lines[0].unit_price.as_str(), "21.5");
        assert_eq!(d.shipping_charge.unwrap().amount.as_str(), "5.4");

        o.line_items[0].discount.amount = "1.00".into();
        let st = staged(&s, &o);
        assert!(draft(&s, &st, &o).unwrap_err().contains("discount"));

        s.currency_handling = CurrencyHandling::ShopCurrency;
        s.currency_code = Some("EUR".into());
        let d = draft(&s, &st, &o).unwrap();
        assert_eq!(d.currency_code.as_deref(), Some("EUR"));
        assert_eq!(d.lines[0].discount_amount.as_ref().unwrap().as_str(), "1");
    }
}
