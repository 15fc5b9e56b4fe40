//! The sales side of the client against the simulator over HTTP on 127.0.0.1: documents created in one
//! request and found again by external number, the exactly-once probe after a lost answer, OData quoting,
//! paging, the posted-shipment cursor, customers from a template, `$batch` isolation.

use crate::common;

use common::*;

use bc_sim::{BcFault, BcFaultRule, BcSim, BcSimConfig, CompanyHandle, SimCustomer};
use shopsync_bc::{BatchIsolation, BatchOperation, BcError, Method};
use shopsync_domain::SyncError;
use shopsync_domain::sales::{
    BcSalesApi, CustomerType, DocumentAddress, FoundDocumentKind, NewCustomer, PostalAddress,
    SalesDocumentDraft, SalesDocumentKind, SalesLineDraft, ShipmentCursor, ShippingChargeAccount,
    ShippingChargeLine,
};
use std::collections::BTreeSet;

const TERMS: &str = "7d5a0e2c-1b2f-4c3d-9e4f-5a6b7c8d9e0f";

async fn setup() -> (BcSim, CompanyHandle) {
    let (sim, company) = setup_with(BcSimConfig::default()).await;
    company.add_item("1000", "Inventory", None);
    company.add_item("2000", "Inventory", None);
    company.add_item_variant("2000", "RED").unwrap();
    company.add_gl_account("6910");
    company.add_item_charge("S-FREIGHT");
    company.add_customer(SimCustomer::new("C1", "Ann Buyer", "ann@example.com"));
    (sim, company)
}

fn line(item: &str, qty: &str, price: &str) -> SalesLineDraft {
    SalesLineDraft {
        item_number: item.into(),
        variant_code: None,
        description: None,
        quantity: d(qty),
        unit_price: d(price),
        discount_amount: None,
    }
}

fn draft(external: &str) -> SalesDocumentDraft {
    SalesDocumentDraft {
        kind: SalesDocumentKind::Order,
        customer_number: "C1".into(),
        external_document_number: external.into(),
        currency_code: None,
        document_date: "2026-03-01".into(),
        email: Some("ann@example.com".into()),
        phone_number: None,
        bill_to: None,
        ship_to: Some(DocumentAddress {
            name: "Ann Buyer".into(),
            contact: "Ann".into(),
            address: PostalAddress {
                line1: "1 Main St".into(),
                city: "Springfield".into(),
                country: "us".into(),
                postal_code: "12345".into(),
                ..PostalAddress::default()
            },
        }),
        lines: vec![
            SalesLineDraft {
                discount_amount: Some(d("2.00")),
                ..line("1000", "3", "19.99")
            },
            SalesLineDraft {
                variant_code: Some("red".into()),
                description: Some("T-shirt, red".into()),
                ..line("2000", "1", "0.1")
            },
        ],
        shipping_charge: Some(ShippingChargeLine {
            account: ShippingChargeAccount::GlAccount("6910".into()),
            description: Some("Shipping".into()),
            amount: d("4.95"),
        }),
        invoice_discount_amount: None,
    }
}

#[tokio::test]
async fn a_document_is_created_in_one_request_and_found_by_its_external_number() {
    let (sim, company) = setup().await;
    let c = client(&sim);
    c.companies().await.unwrap(); // token and connection first
    sim.reset_stats();
    let doc = c.create_sales_document(&draft("#1001")).await.unwrap();
    assert_eq!(doc.kind, SalesDocumentKind::Order);
    assert_eq!(doc.external_document_number, "#1001");
    assert_eq!(doc.status, "Draft");
    let stats = sim.stats();
    assert_eq!(
        stats.requests_to("POST", "salesOrders"),
        1,
        "{:?}",
        stats.by_route
    );
    assert_eq!(stats.write_requests(), 1, "header and lines in one request");
    assert_eq!(
        stats.requests_to("GET", "itemVariants"),
        1,
        "the variant id is read once"
    );
    assert_eq!(stats.requests, 2);

    // What BC stored: every line, decimals with exactly the digits sent, codes upper case.
    let stored = company.documents_with_external_number("#1001");
    assert_eq!(stored.len(), 1);
    let order = &stored[0];
    assert_eq!(order.number, doc.number);
    assert_eq!(
        (order.ship_to_name.as_str(), order.ship_to_city.as_str()),
        ("Ann Buyer", "Springfield")
    );
    let lines: Vec<(&str, &str, &str, &str, &str, &str)> = order
        .lines
        .iter()
        .map(|l| {
            (
                l.line_type.as_str(),
                l.number.as_str(),
                l.variant_code.as_str(),
                l.quantity.as_str(),
                l.unit_price.as_str(),
                l.discount_amount.as_str(),
            )
        })
        .collect();
    assert_eq!(
        lines,
        [
            ("Item", "1000", "", "3", "19.99", "2"),
            ("Item", "2000", "RED", "1", "0.1", "0"),
            ("Account", "6910", "", "1", "4.95", "0"),
        ]
    );

    sim.reset_stats();
    let found = c
        .find_sales_documents_by_external_number("#1001")
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].kind, FoundDocumentKind::SalesOrder);
    assert_eq!(
        (found[0].id.as_str(), found[0].number.as_str()),
        (doc.id.as_str(), doc.number.as_str())
    );
    let stats = sim.stats();
    assert_eq!(stats.requests, 1, "the probe is one $batch");
    assert_eq!(stats.batch_operations, 3);
    assert!(
        c.find_sales_documents_by_external_number("#1002")
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn invoices_and_lower_case_external_numbers() {
    let (sim, company) = setup().await;
    let c = client(&sim);
    let mut invoice = draft("#abc-7");
    invoice.kind = SalesDocumentKind::Invoice;
    invoice.shipping_charge = Some(ShippingChargeLine {
        account: ShippingChargeAccount::ItemCharge("s-freight".into()),
        description: None,
        amount: d("5"),
    });
    invoice.invoice_discount_amount = Some(d("1.5"));
    let doc = c.create_sales_document(&invoice).await.unwrap();
    assert_eq!(doc.kind, SalesDocumentKind::Invoice);
    assert_eq!(
        doc.external_document_number, "#ABC-7",
        "BC stores Code fields upper case"
    );
    let stored = &company.sales_invoices()[0];
    assert_eq!(stored.discount_amount, "1.5");
    assert_eq!(stored.lines[2].line_type, "Charge");
    // The probe normalises the same way, so the lower-case name finds it.
    let found = c
        .find_sales_documents_by_external_number("#abc-7")
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].kind, FoundDocumentKind::SalesInvoice);
    assert_eq!(found[0].status.as_deref(), Some("Draft"));
}

#[tokio::test]
async fn a_refused_line_leaves_no_document_behind() {
    let (sim, company) = setup().await;
    let c = client(&sim);
    let mut bad = draft("#2001");
    bad.lines.push(line("NO-SUCH-ITEM", "1", "1"));
    let err = c.create_sales_document(&bad).await.unwrap_err();
    assert!(
        matches!(err, SyncError::Rejected { ref message, .. } if message.contains("NO-SUCH-ITEM")),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    assert!(
        company.sales_orders().is_empty(),
        "no header without its lines"
    );
    assert!(
        c.find_sales_documents_by_external_number("#2001")
            .await
            .unwrap()
            .is_empty()
    );
    // A variant BC does not have is found before the write.
    let mut bad = draft("#2002");
    bad.lines[1].variant_code = Some("BLUE".into());
    sim.reset_stats();
    let err = c.create_sales_document(&bad).await.unwrap_err();
    assert!(
        matches!(err, SyncError::Rejected { ref code, .. } if code == "invalid_input"),
        "{err:?}"
    );
    assert_eq!(sim.stats().write_requests(), 0);
}

#[tokio::test]
async fn invalid_drafts_are_refused_before_any_request() {
    let (sim, _company) = setup().await;
    let c = client(&sim);
    let mut bad = draft(&"9".repeat(36));
    bad.lines[0].quantity = d("0");
    let err = c.post_sales_document(&bad).await.unwrap_err();
    match &err {
        BcError::Invalid { message } => {
            assert!(message.contains("external_document_number"), "{message}");
            assert!(message.contains("lines[0].quantity"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(sim.stats().requests, 0);
    assert_eq!(sim.stats().tokens_issued, 0);
}

#[tokio::test]
async fn an_applied_write_whose_answer_was_dropped_is_found_by_the_probe() {
    let (sim, company) = setup().await;
    let c = client(&sim);
    sim.add_fault_rule(BcFaultRule::new(BcFault::DropAfterApply).on("POST", "salesOrders"));
    let err = c.create_sales_document(&draft("#3001")).await.unwrap_err();
    assert!(matches!(err, SyncError::Transport { .. }), "{err:?}");
    assert!(err.is_retryable(), "the job is retried, after the probe");
    assert_eq!(sim.pending_fault_rules(), 0);
    assert_eq!(
        sim.stats().requests_to("POST", "salesOrders"),
        1,
        "a write with an unknown outcome is not resent"
    );
    // The retry probes first and finds the document: nothing is created twice.
    let found = c
        .find_sales_documents_by_external_number("#3001")
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].kind, FoundDocumentKind::SalesOrder);
    assert_eq!(company.sales_orders().len(), 1);

    // The same after a gateway timeout that came after the work was done.
    sim.add_fault_rule(BcFaultRule::new(BcFault::GatewayTimeout).on("POST", "salesOrders"));
    let err = c.create_sales_document(&draft("#3002")).await.unwrap_err();
    assert!(
        matches!(err, SyncError::Upstream { status: 504, .. }),
        "{err:?}"
    );
    assert_eq!(
        c.find_sales_documents_by_external_number("#3002")
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(company.sales_orders().len(), 2);
    assert_eq!(sim.stats().requests_to("POST", "salesOrders"), 2);
}

#[tokio::test]
async fn writes_bc_refused_to_process_are_resent_and_others_are_not() {
    let (sim, company) = setup().await;
    let c = client(&sim);
    sim.add_fault_rule(
        BcFaultRule::new(BcFault::Throttle { retry_after: true }).on("POST", "salesOrders"),
    );
    sim.add_fault_rule(BcFaultRule::new(BcFault::Unavailable).on("POST", "salesOrders"));
    sim.add_fault_rule(BcFaultRule::new(BcFault::Internal).on("POST", "$batch"));
    let doc = c.create_sales_document(&draft("#4001")).await.unwrap();
    assert_eq!(
        sim.stats().requests_to("POST", "salesOrders"),
        3,
        "429 and 503 say BC did not process the request: resent"
    );
    assert_eq!(company.sales_orders().len(), 1);
    // The probe is all reads: a 500 on it is retried.
    let found = c
        .find_sales_documents_by_external_number("#4001")
        .await
        .unwrap();
    assert_eq!(found[0].number, doc.number);
    assert_eq!(sim.stats().requests_to("POST", "$batch"), 2);

    // A 500 on a write is not resent: BC may have done it.
    sim.add_fault_rule(BcFaultRule::new(BcFault::Internal).on("POST", "salesOrders"));
    let err = c.create_sales_document(&draft("#4002")).await.unwrap_err();
    assert!(
        matches!(err, SyncError::Upstream { status: 500, .. }),
        "{err:?}"
    );
    assert_eq!(sim.stats().requests_to("POST", "salesOrders"), 4);

    // A connection cut before BC read the request looks the same to the client as one cut after:
    // not resent; the probe finds nothing, so creating it again is safe, and makes exactly one.
    sim.add_fault_rule(BcFaultRule::new(BcFault::DropBeforeApply).on("POST", "salesOrders"));
    let err = c.create_sales_document(&draft("#4003")).await.unwrap_err();
    assert!(matches!(err, SyncError::Transport { .. }), "{err:?}");
    assert!(
        c.find_sales_documents_by_external_number("#4003")
            .await
            .unwrap()
            .is_empty()
    );
    c.create_sales_document(&draft("#4003")).await.unwrap();
    assert_eq!(company.documents_with_external_number("#4003").len(), 1);
}

#[tokio::test]
async fn values_with_quotes_and_url_characters_are_quoted_and_encoded() {
    let (sim, company) = setup().await;
    company.add_customer(SimCustomer {
        phone_number: "+1 (555) 010-0199".into(),
        ..SimCustomer::new("C2", "Pat O'Neil", "o'neil&co+1@example.com")
    });
    let c = client(&sim);
    let by_email = c
        .find_customer_by_email("O'Neil&Co+1@Example.com")
        .await
        .unwrap();
    assert_eq!(by_email.len(), 1, "the lower-case form is looked up too");
    assert_eq!(by_email[0].number, "C2");
    assert_eq!(by_email[0].display_name, "Pat O'Neil");
    let by_phone = c.find_customer_by_phone("+1 (555) 010-0199").await.unwrap();
    assert_eq!(by_phone.len(), 1);
    assert!(c.find_customer_by_phone("+1 555").await.unwrap().is_empty());

    let external = "#O'NEIL & CO+1% ?#/";
    c.create_sales_document(&draft(external)).await.unwrap();
    let found = c
        .find_sales_documents_by_external_number(external)
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].external_document_number, external);
    // A control character never reaches a URL.
    sim.reset_stats();
    let err = c.find_customer_by_email("a@b.c\r\nX: y").await.unwrap_err();
    assert!(matches!(err, SyncError::Rejected { .. }), "{err:?}");
    assert_eq!(sim.stats().requests, 0);
}

#[tokio::test]
async fn collections_are_read_across_pages() {
    let (sim, company) = setup().await;
    for i in 0..25 {
        company.add_customer(SimCustomer::new(
            &format!("D{i:03}"),
            &format!("Twin {i}"),
            "twin@example.com",
        ));
    }
    let c = client_with(&sim, Some(10));
    c.companies().await.unwrap();
    sim.reset_stats();
    let twins = c.find_customer_by_email("twin@example.com").await.unwrap();
    assert_eq!(twins.len(), 25);
    assert_eq!(twins[0].number, "D000", "by number");
    assert_eq!(sim.stats().requests_to("GET", "customers"), 3);

    // The probe's first pages come in the batch; further pages are followed with plain GETs.
    for _ in 0..7 {
        c.create_sales_document(&draft("#DUP")).await.unwrap();
    }
    let small = client_with(&sim, Some(3));
    sim.reset_stats();
    let found = small
        .find_sales_documents_by_external_number("#DUP")
        .await
        .unwrap();
    assert_eq!(found.len(), 7);
    assert_eq!(
        found
            .iter()
            .map(|f| &f.number)
            .collect::<BTreeSet<_>>()
            .len(),
        7
    );
    let stats = sim.stats();
    assert_eq!(stats.requests_to("POST", "$batch"), 1);
    assert_eq!(stats.requests_to("GET", "salesOrders"), 2, "pages 2 and 3");
}

#[tokio::test]
async fn posted_shipments_are_read_after_a_cursor() {
    let (sim, company) = setup().await;
    let c = client_with(&sim, Some(2));
    let first = c.create_sales_document(&draft("#5001")).await.unwrap();
    let second = c.create_sales_document(&draft("#5002")).await.unwrap();
    let s1 = company
        .post_shipment(&first.number, &[("1000", "2")])
        .unwrap();
    let s2 = company.post_shipment(&second.number, &[]).unwrap();
    let s3 = company
        .post_shipment(&first.number, &[("1000", "1"), ("2000", "1")])
        .unwrap();
    // s3 before s1 in time, s1 and s2 in the same millisecond.
    company.set_shipment_modified_ms(&s3, 1_000);
    company.set_shipment_modified_ms(&s1, 2_000);
    company.set_shipment_modified_ms(&s2, 2_000);

    let all = c.posted_shipments_since(None).await.unwrap();
    let order: Vec<&str> = all.shipments.iter().map(|s| s.number.as_str()).collect();
    assert_eq!(order, [s3.as_str(), s1.as_str(), s2.as_str()]);
    let shipped = &all.shipments[1];
    assert_eq!(shipped.order_number, first.number);
    assert_eq!(shipped.external_document_number, "#5001");
    let lines: Vec<(&str, &str)> = shipped
        .item_lines()
        .map(|l| (l.item_number.as_str(), l.quantity.as_str()))
        .collect();
    assert_eq!(lines, [("1000", "2")]);
    assert_eq!(
        all.shipments[2].item_lines().count(),
        2,
        "everything outstanding"
    );
    assert_eq!(
        all.next_cursor,
        Some(ShipmentCursor {
            modified_ms: 2_000,
            number: s2.clone()
        })
    );

    // Just after s1: s2 (same millisecond, later number) is still to come.
    let after_s1 = ShipmentCursor {
        modified_ms: 2_000,
        number: s1.clone(),
    };
    let rest = c.posted_shipments_since(Some(&after_s1)).await.unwrap();
    assert_eq!(rest.shipments.len(), 1);
    assert_eq!(rest.shipments[0].number, s2);

    let cursor = all.next_cursor.unwrap();
    let none = c.posted_shipments_since(Some(&cursor)).await.unwrap();
    assert!(none.shipments.is_empty() && none.next_cursor.is_none());

    // Tracking added later modifies the shipment: it comes again, with its tracking on the page.
    company.publish_tracking_page("ShopsyncShipmentTracking");
    company
        .set_shipment_tracking(&s1, "1Z999", "UPS", "UPS", "https://ups.example/1Z999")
        .unwrap();
    let again = c.posted_shipments_since(Some(&cursor)).await.unwrap();
    assert_eq!(again.shipments.len(), 1);
    assert_eq!(again.shipments[0].number, s1);
    let tracking = c
        .shipment_tracking("ShopsyncShipmentTracking", COMPANY, &s1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(tracking.tracking_number, "1Z999");
    assert_eq!(tracking.company.as_deref(), Some("UPS"));
    assert_eq!(tracking.url.as_deref(), Some("https://ups.example/1Z999"));
    assert_eq!(
        c.shipment_tracking("ShopsyncShipmentTracking", COMPANY, &s2)
            .await
            .unwrap(),
        None,
        "no tracking number yet"
    );
    let err = c
        .shipment_tracking("Tracking/../x", COMPANY, &s1)
        .await
        .unwrap_err();
    assert!(matches!(err, SyncError::Settings(_)), "{err:?}");
}

#[tokio::test]
async fn the_probe_finds_what_a_document_became() {
    let (sim, company) = setup().await;
    let c = client(&sim);
    let order = c.create_sales_document(&draft("#6001")).await.unwrap();
    company.post_shipment(&order.number, &[]).unwrap();
    let posted = company.invoice_order(&order.number).unwrap();
    assert!(
        company.sales_orders().is_empty(),
        "BC deletes an order shipped and invoiced in full"
    );
    let found = c
        .find_sales_documents_by_external_number("#6001")
        .await
        .unwrap();
    let kinds: BTreeSet<FoundDocumentKind> = found.iter().map(|f| f.kind).collect();
    assert_eq!(
        kinds,
        BTreeSet::from([
            FoundDocumentKind::PostedSalesInvoice,
            FoundDocumentKind::PostedSalesShipment
        ])
    );
    let invoice = found
        .iter()
        .find(|f| f.kind == FoundDocumentKind::PostedSalesInvoice)
        .unwrap();
    assert_eq!(invoice.number, posted);
    assert_eq!(invoice.order_number.as_deref(), Some(order.number.as_str()));
    assert!(invoice.is_posted());
    let err = c.delete_sales_document(invoice).await.unwrap_err();
    assert!(matches!(err, SyncError::Rejected { .. }), "{err:?}");

    let mut inv = draft("#6002");
    inv.kind = SalesDocumentKind::Invoice;
    let draft_invoice = c.create_sales_document(&inv).await.unwrap();
    let posted = company.post_invoice(&draft_invoice.number).unwrap();
    let found = c
        .find_sales_documents_by_external_number("#6002")
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(
        (found[0].kind, found[0].number.as_str()),
        (FoundDocumentKind::PostedSalesInvoice, posted.as_str())
    );
}

#[tokio::test]
async fn draft_documents_can_be_deleted() {
    let (sim, company) = setup().await;
    let c = client(&sim);
    c.create_sales_document(&draft("#7001")).await.unwrap();
    let found = c
        .find_sales_documents_by_external_number("#7001")
        .await
        .unwrap();
    c.delete_sales_document(&found[0]).await.unwrap();
    assert!(company.sales_orders().is_empty());
    // Deleting again (a resend after a lost answer) finds nothing and is done.
    c.delete_sales_document(&found[0]).await.unwrap();
}

#[tokio::test]
async fn customers_are_created_from_a_template_customer() {
    let (sim, company) = setup().await;
    company.add_customer(SimCustomer {
        tax_liable: true,
        payment_terms_id: Some(TERMS.into()),
        currency_code: "EUR".into(),
        ..SimCustomer::new("TEMPLATE-WEB", "Web shop template", "")
    });
    let c = client(&sim);
    let defaults = c.customer_template("template-web").await.unwrap();
    assert_eq!(defaults.template_number, "TEMPLATE-WEB");
    assert_eq!(defaults.payment_terms_id.as_deref(), Some(TERMS));
    assert_eq!(defaults.currency_code.as_deref(), Some("EUR"));
    assert_eq!(defaults.tax_liable, Some(true));
    assert_eq!(defaults.payment_method_id, None, "a nil GUID is no value");

    let new = NewCustomer::from_template(
        &defaults,
        "Bo Buyer",
        CustomerType::Person,
        Some("bo@example.com"),
        Some("+4512345678"),
        &PostalAddress {
            line1: "Nørregade 1".into(),
            city: "København".into(),
            country: "dk".into(),
            postal_code: "1165".into(),
            ..PostalAddress::default()
        },
    );
    sim.reset_stats();
    let created = c.create_customer(&new).await.unwrap();
    assert_eq!(sim.stats().requests_to("POST", "customers"), 1);
    assert_eq!(created.email, "bo@example.com");
    assert_eq!(created.address.country, "DK");
    let stored = company.customer(&created.number).unwrap();
    assert_eq!(stored.payment_terms_id.as_deref(), Some(TERMS));
    assert_eq!(stored.currency_code, "EUR");
    assert!(stored.tax_liable);
    assert_eq!(
        c.find_customer_by_email("bo@example.com").await.unwrap()[0].number,
        created.number
    );
    let err = c.customer_template("NOPE").await.unwrap_err();
    assert!(matches!(err, SyncError::NotFound(_)), "{err:?}");
}

#[tokio::test]
async fn a_snapshot_batch_is_all_or_nothing() {
    let (sim, company) = setup().await;
    let c = client(&sim);
    let url = c.company_url("customers");
    let op = |id: &str, name: &str| BatchOperation {
        id: id.into(),
        method: Method::POST,
        url: url.clone(),
        headers: Vec::new(),
        body: Some(
            serde_json::value::to_raw_value(&serde_json::json!({"displayName": name})).unwrap(),
        ),
    };
    let before = company.customers().len();
    let too_long = "x".repeat(101);
    let err = c
        .batch(
            &[op("1", "Kept?"), op("2", &too_long)],
            BatchIsolation::Snapshot,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, BcError::BadRequest { ref code, .. } if code == "Application_StringExceededLength"),
        "{err:?}"
    );
    assert_eq!(company.customers().len(), before, "rolled back");

    let answers = c
        .batch(&[op("1", "Kept"), op("2", &too_long)], BatchIsolation::None)
        .await
        .unwrap();
    assert_eq!(answers[0].status, 201);
    assert_eq!(answers[1].status, 400);
    assert!(answers[1].json::<serde_json::Value>().is_err());
    assert_eq!(company.customers().len(), before + 1, "each on its own");

    let ok = c
        .batch(&[op("a", "One"), op("b", "Two")], BatchIsolation::Snapshot)
        .await
        .unwrap();
    assert!(ok.iter().all(|a| a.status == 201));
    assert_eq!(company.customers().len(), before + 3);
    assert_eq!(sim.stats().requests_to("POST", "$batch"), 3);
}
