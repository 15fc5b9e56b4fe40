//! create-sales-orders, and sync-orders with `auto_create_orders`, on the engine against the
//! in-memory doubles of [`super::tests`]: every mapped order becomes exactly one BC document however
//! often a request fails, an answer is lost or a job dies; the document number goes back to Shopify
//! only once the document exists; an order that cannot become a document keeps its reason.

use super::create::CreateSalesOrdersTask;
use super::effects::counters as doc;
use super::staged::{CLAIM_SECS, DocumentClaim, STAGED_ORDERS, order_status};
use super::tests::{Fixture, SHOP, at, now, order, secs};
use crate::RunOutcome;
use shopsync_domain::orders::{BC_DOCUMENT_ATTRIBUTE, ShopifyOrder};
use shopsync_domain::ports::{Record, RecordStore};
use shopsync_domain::sales::SalesDocumentKind;
use shopsync_domain::staging::{ORDER_DOCUMENTS, OrderDocumentLink};
use shopsync_domain::{SyncError, TaskKind};
use shopsync_test_support::Faults;
use std::collections::BTreeMap;

/// Orders 1..=n, updated a few minutes ago, mapped to the default customer (customer import off, so
/// no customer lookups are involved).
fn orders(n: u32) -> Vec<ShopifyOrder> {
    let t = now() - secs(600);
    (1..=n)
        .map(|i| order(i, &at(t + secs(i64::from(i)))))
        .collect()
}

async fn fixture(n: u32) -> Fixture {
    seeded(n, 0).await
}

async fn seeded(n: u32, seed: u64) -> Fixture {
    let mut f = Fixture::seeded(25, orders(n), seed).await;
    f.settings.default_customer_no = Some("GUEST".into());
    f.settings.customer_import_from_shopify = shopsync_domain::settings::ImportScope::None;
    f.settings.shipping_charges_account = Some("6100".into());
    f
}

fn documents_per_order(f: &Fixture) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for d in f.bc.documents.lock().unwrap().iter() {
        *out.entry(d.external_document_number.clone()).or_default() += 1;
    }
    out
}

fn processed(f: &Fixture, n: u32) -> bool {
    f.staged(n).unwrap().0.as_deref() == Some(order_status::PROCESSED)
}

#[tokio::test]
async fn mapped_orders_become_one_document_each_and_the_number_goes_back_afterwards() {
    let mut f = fixture(3).await;
    f.run(1).await;
    let c = f.run_task(&CreateSalesOrdersTask, 2).await;
    assert_eq!(c.get(doc::DOCUMENTS_CREATED), 3);
    assert_eq!(documents_per_order(&f).values().copied().max(), Some(1));
    for n in 1..=3 {
        assert!(processed(&f, n));
        let (_, staged) = f.staged(n).unwrap();
        let document = staged.document.expect("document recorded");
        assert_eq!(document.kind, "sales_order");
        assert!(staged.error.is_none());
        let link = f
            .store
            .record(SHOP, ORDER_DOCUMENTS, &format!("#{}", 1000 + n))
            .expect("link by external number");
        let link: OrderDocumentLink = serde_json::from_str(&link.body).unwrap();
        assert_eq!(
            (link.order_id.as_str(), link.number.as_str()),
            (staged.order_id.as_str(), document.number.as_str())
        );
    }
    let updates = f.shopify.updates.lock().unwrap().clone();
    assert_eq!(updates.len(), 3);
    assert!(updates.iter().all(|(_, attrs)| {
        attrs
            .iter()
            .any(|a| a.key == BC_DOCUMENT_ATTRIBUTE && a.value.is_some())
    }));
    let drafts = f.bc.documents.lock().unwrap().clone();
    assert_eq!(drafts[0].lines.len(), 2);
    assert_eq!(
        drafts[0].shipping_charge.as_ref().unwrap().amount.as_str(),
        "5"
    );

    // Nothing left: a second run makes nothing and writes nothing.
    let mark = f.store.writes().len();
    let c = f.run_task(&CreateSalesOrdersTask, 3).await;
    assert_eq!(c.get(doc::DOCUMENTS_CREATED), 0);
    assert!(f.staged_writes_since(mark).is_empty());
    // Our own write-back moved updatedAt: sync-orders leaves the processed orders as they are.
    let c = f.run(4).await;
    assert_eq!(c.get(super::counters::ORDERS_CHANGED_AFTER_PROCESSING), 0);
}

#[tokio::test]
async fn a_document_whose_answer_was_lost_is_found_by_its_external_number_and_made_once() {
    let mut f = fixture(2).await;
    f.run(1).await;
    f.bc.faults
        .drop_answer_next("bc.documents.create", 1, Faults::connection_reset("BC"));
    f.next_job_of(TaskKind::CreateSalesOrders, 2).await;
    let first = f.invoke_task(&CreateSalesOrdersTask).await;
    assert!(first.unwrap_err().is_retryable());
    // The message comes back: the same job resumes and probes before it sends again.
    loop {
        if let RunOutcome::Finished { .. } = f.invoke_task(&CreateSalesOrdersTask).await.unwrap() {
            break;
        }
    }
    assert_eq!(f.counters.get(doc::DOCUMENTS_FOUND), 1);
    assert!(documents_per_order(&f).values().all(|&n| n == 1));
    assert_eq!(documents_per_order(&f).len(), 2);
    assert!(processed(&f, 1) && processed(&f, 2));
}

#[tokio::test]
async fn another_jobs_claim_keeps_the_order_and_a_stale_claim_is_probed_first() {
    let mut f = fixture(1).await;
    f.run(1).await;
    // A job sends the document, the answer is lost, and the job dies for good.
    f.bc.faults
        .drop_answer_next("bc.documents.create", 1, Faults::connection_reset("BC"));
    f.next_job_of(TaskKind::CreateSalesOrders, 2).await;
    assert!(f.invoke_task(&CreateSalesOrdersTask).await.is_err());
    assert_eq!(f.bc.documents.lock().unwrap().len(), 1);

    // A new job while the claim is fresh leaves the order to the other job.
    let c = f.run_task(&CreateSalesOrdersTask, 3).await;
    assert_eq!(c.get(super::create::counters::CLAIMED_ELSEWHERE), 1);
    assert_eq!(f.bc.documents.lock().unwrap().len(), 1);
    assert!(!processed(&f, 1));

    // Once the claim is old, the next job looks the document up first and finds it.
    let id = "gid://shopify/Order/1";
    let record = f.store.record(SHOP, STAGED_ORDERS, id).unwrap();
    let mut body: serde_json::Value = serde_json::from_str(&record.body).unwrap();
    let claim: DocumentClaim = serde_json::from_value(body["document_claim"].clone()).unwrap();
    body["document_claim"]["at"] = (claim.at - CLAIM_SECS - 1).into();
    let aged = Record {
        body: body.to_string(),
        ..record
    };
    assert!(
        f.store
            .put_record_if(SHOP, STAGED_ORDERS, &aged)
            .await
            .unwrap()
    );
    let c = f.run_task(&CreateSalesOrdersTask, 4).await;
    assert_eq!(c.get(doc::DOCUMENTS_FOUND), 1);
    assert_eq!(c.get(doc::DOCUMENTS_CREATED), 0);
    assert_eq!(f.bc.documents.lock().unwrap().len(), 1);
    assert!(processed(&f, 1));
}

#[tokio::test]
async fn an_order_that_cannot_become_a_document_keeps_its_reason_until_it_can() {
    let mut f = fixture(1).await;
    f.settings.shipping_charges_account = None;
    f.settings.default_customer_no = None;
    f.run(1).await;
    let (_, staged) = f.staged(1).unwrap();
    assert!(!staged.mapped, "no default customer: not mapped");

    // Mapped again with today's settings: the customer now, but the shipping account is missing.
    f.settings.default_customer_no = Some("GUEST".into());
    let c = f.run_task(&CreateSalesOrdersTask, 2).await;
    assert_eq!(c.get(super::create::counters::REMAPPED), 1);
    let (status, staged) = f.staged(1).unwrap();
    assert_eq!(status.as_deref(), Some(order_status::UNPROCESSED));
    assert!(staged.mapped);
    let reason = staged.error.unwrap();
    assert!(reason.contains("shipping_charges_account"), "{reason}");
    assert!(
        f.bc.documents.lock().unwrap().is_empty(),
        "no request spent"
    );

    // BC refuses the document: the reason is BC's, and the order is tried again next run.
    f.settings.shipping_charges_account = Some("6100".into());
    f.bc.faults.fail_next(
        "bc.documents.create",
        1,
        SyncError::Rejected {
            service: "BC",
            code: "Application_DialogException".into(),
            message: "Item ITEM-1 is blocked".into(),
        },
    );
    let c = f.run_task(&CreateSalesOrdersTask, 3).await;
    assert_eq!(c.get(doc::DOCUMENTS_REFUSED), 1);
    let (status, staged) = f.staged(1).unwrap();
    assert_eq!(status.as_deref(), Some(order_status::UNPROCESSED));
    assert!(staged.error.unwrap().contains("blocked"));
    assert!(
        f.shopify.updates.lock().unwrap().is_empty(),
        "nothing written back"
    );

    let c = f.run_task(&CreateSalesOrdersTask, 4).await;
    assert_eq!(c.get(doc::DOCUMENTS_CREATED), 1);
    let (_, staged) = f.staged(1).unwrap();
    assert!(processed(&f, 1) && staged.error.is_none());
}

#[tokio::test]
async fn a_fulfilled_paid_order_becomes_an_invoice_and_is_closed() {
    let mut f = fixture(1).await;
    f.shopify
        .update(1, |o| o.fulfillment_status = "FULFILLED".into());
    f.run(1).await;
    f.run_task(&CreateSalesOrdersTask, 2).await;
    let drafts = f.bc.documents.lock().unwrap().clone();
    assert_eq!(drafts[0].kind, SalesDocumentKind::Invoice);
    assert_eq!(
        f.shopify.closes.lock().unwrap().as_slice(),
        ["gid://shopify/Order/1"]
    );
    let (_, staged) = f.staged(1).unwrap();
    assert_eq!(staged.document.unwrap().kind, "sales_invoice");
}

#[tokio::test]
async fn sync_orders_with_auto_create_makes_the_documents_of_new_orders_itself() {
    let mut f = fixture(2).await;
    f.settings.auto_create_orders = true;
    let c = f.run(1).await;
    assert_eq!(c.get(doc::DOCUMENTS_CREATED), 2);
    assert!(processed(&f, 1) && processed(&f, 2));
    assert_eq!(f.shopify.updates.lock().unwrap().len(), 2);

    // A buyer whose BC customer is created in the same run gets the document once it is mapped.
    let mut f = Fixture::new(25, orders(1)).await;
    f.settings.auto_create_orders = true;
    f.settings.auto_create_unknown_customers = true;
    f.settings.shipping_charges_account = Some("6100".into());
    let c = f.run(1).await;
    assert_eq!(c.get(super::counters::CUSTOMERS_CREATED), 1);
    assert_eq!(c.get(doc::DOCUMENTS_CREATED), 1);
    let drafts = f.bc.documents.lock().unwrap().clone();
    assert_eq!(drafts[0].customer_number, "C00001");
}

#[tokio::test]
async fn random_faults_on_both_sides_and_repeated_jobs_make_each_document_exactly_once() {
    for seed in [1u64, 2, 3] {
        let mut f = seeded(30, seed).await;
        f.run(1).await;
        let bc = f.bc.faults.clone();
        bc.fail_randomly("bc.documents.*", 0.1, Faults::connection_reset("BC"))
            .drop_answer_randomly("bc.documents.*", 0.1, Faults::connection_reset("BC"));
        f.shopify
            .faults
            .fail_randomly("shopify.orders.*", 0.1, Faults::connection_reset("Shopify"))
            .drop_answer_randomly("shopify.orders.*", 0.1, Faults::connection_reset("Shopify"));
        // Jobs run until every order is processed; each failed invocation is retried by the same
        // job (a redelivery), and every third job is abandoned after its first failure (a job that
        // died for good), so the next job finds its stale claims.
        let mut job = 10;
        for _ in 0..60 {
            job += 1;
            f.next_job_of(TaskKind::CreateSalesOrders, job).await;
            for attempt in 0..20 {
                match f.invoke_task(&CreateSalesOrdersTask).await {
                    Ok(RunOutcome::Finished { .. }) => break,
                    Ok(_) => {}
                    Err(e) if e.is_retryable() && !(job % 3 == 0 && attempt == 0) => {}
                    Err(e) if e.is_retryable() => {
                        age_claims(&f).await;
                        break;
                    }
                    Err(e) => panic!("seed {seed}: {e}"),
                }
            }
            if (1..=30).all(|n| processed(&f, n)) {
                break;
            }
        }
        let per_order = documents_per_order(&f);
        assert_eq!(
            per_order.len(),
            30,
            "seed {seed}: every order has its document"
        );
        assert!(
            per_order.values().all(|&n| n == 1),
            "seed {seed}: a document was made twice: {per_order:?}"
        );
        assert!(
            bc.injected("bc.documents.*") > 0,
            "seed {seed}: faults fired"
        );
    }
}

/// Make every claim older than [`CLAIM_SECS`]: the job that made it is gone for good.
async fn age_claims(f: &Fixture) {
    for n in 1..=30 {
        let id = format!("gid://shopify/Order/{n}");
        let Some(record) = f.store.record(SHOP, STAGED_ORDERS, &id) else {
            continue;
        };
        let mut body: serde_json::Value = serde_json::from_str(&record.body).unwrap();
        if let Some(at) = body["document_claim"]["at"].as_i64() {
            body["document_claim"]["at"] = (at - CLAIM_SECS - 1).into();
            let aged = Record {
                body: body.to_string(),
                ..record
            };
            f.store
                .put_record_if(SHOP, STAGED_ORDERS, &aged)
                .await
                .unwrap();
        }
    }
}

#[tokio::test]
async fn a_processed_order_fulfilled_and_paid_later_is_closed_by_the_next_sync() {
    let mut f = fixture(1).await;
    f.run(1).await;
    f.run_task(&CreateSalesOrdersTask, 2).await;
    assert!(
        f.shopify.closes.lock().unwrap().is_empty(),
        "an open sales order stays open"
    );
    let later = at(now());
    f.shopify.update(1, |o| {
        o.fulfillment_status = "FULFILLED".into();
        o.updated_at = later.clone();
    });
    let c = f.run(3).await;
    assert_eq!(c.get(doc::ORDERS_CLOSED), 1);
    assert_eq!(f.shopify.closes.lock().unwrap().len(), 1);
    let c = f.run(4).await;
    assert_eq!(c.get(doc::ORDERS_CLOSED), 0, "closed once");
}

#[tokio::test]
async fn updates_owed_by_a_job_that_died_are_sent_by_the_next_run() {
    let mut f = fixture(2).await;
    f.run(1).await;
    // The job makes both documents, then Shopify fails its write-backs and the job dies for good.
    f.shopify.faults.fail_next(
        "shopify.orders.update",
        1,
        Faults::connection_reset("Shopify"),
    );
    f.next_job_of(TaskKind::CreateSalesOrders, 2).await;
    let mut outcome = f.invoke_task(&CreateSalesOrdersTask).await;
    while outcome.is_ok() {
        outcome = f.invoke_task(&CreateSalesOrdersTask).await;
    }
    assert!(processed(&f, 1) && processed(&f, 2));
    assert!(f.shopify.updates.lock().unwrap().is_empty());
    assert_eq!(
        f.store
            .count_by_status(SHOP, super::effects::OWED_UPDATES, super::effects::OWED)
            .await
            .unwrap(),
        2
    );

    let c = f.run_task(&CreateSalesOrdersTask, 3).await;
    assert_eq!(c.get(super::create::counters::OWED_UPDATES_RESENT), 2);
    assert_eq!(c.get(doc::ORDERS_WRITTEN_BACK), 2);
    assert_eq!(c.get(doc::DOCUMENTS_CREATED), 0);
    assert_eq!(
        f.store
            .count_by_status(SHOP, super::effects::OWED_UPDATES, super::effects::OWED)
            .await
            .unwrap(),
        0,
        "nothing owed any more"
    );
    let c = f.run_task(&CreateSalesOrdersTask, 4).await;
    assert_eq!(c.get(doc::ORDERS_WRITTEN_BACK), 0);
}

#[tokio::test]
async fn a_b2b_order_waits_for_its_company_and_is_made_for_the_customer_it_is_linked_to() {
    use crate::companies::records::CompanyRecord;
    use shopsync_domain::companies::{COMPANIES, company_status};
    use shopsync_domain::orders::PurchasingCompany;
    use shopsync_domain::settings::ImportScope;
    let mut b2b = orders(2);
    for o in b2b.iter_mut() {
        o.company = Some(PurchasingCompany {
            company_id: "gid://shopify/Company/77".into(),
            location_id: "gid://shopify/CompanyLocation/7".into(),
        });
    }
    let mut f = Fixture::seeded(25, b2b, 0).await;
    f.settings.default_customer_no = Some("GUEST".into());
    f.settings.customer_import_from_shopify = ImportScope::None;
    f.settings.company_import_from_shopify = ImportScope::WithOrderImport;
    f.settings.shipping_charges_account = Some("6100".into());
    f.run(1).await;
    for n in 1..=2 {
        let (status, staged) = f.staged(n).unwrap();
        assert_eq!(status.as_deref(), Some(order_status::UNPROCESSED));
        assert_eq!(staged.customer_no, None, "not the default customer");
        assert!(
            staged
                .error
                .as_deref()
                .is_some_and(|e| e.contains("Company/77") && e.contains("not imported yet")),
            "{:?}",
            staged.error
        );
    }
    // The order import asked sync-companies for the company, once.
    let requested = f.store.record(SHOP, COMPANIES, "77").expect("requested");
    assert_eq!(requested.status.as_deref(), Some(company_status::REQUESTED));
    assert_eq!(requested.version, 1, "written once for two orders");

    // Not linked yet: create-sales-orders makes nothing.
    let c = f.run_task(&CreateSalesOrdersTask, 2).await;
    assert_eq!(c.get(doc::DOCUMENTS_CREATED), 0);

    // sync-companies links it (as its import of a requested company does) …
    let linked = CompanyRecord {
        name: "Acme B2B".into(),
        shopify_id: "gid://shopify/Company/77".into(),
        bc_number: Some("C-ACME".into()),
        ..CompanyRecord::default()
    };
    f.store
        .put_records(
            SHOP,
            COMPANIES,
            &[Record::new(
                "77",
                Some(company_status::LINKED),
                serde_json::to_string(&linked).unwrap(),
            )],
        )
        .await
        .unwrap();
    // … and the next create-sales-orders run maps both orders to its customer.
    let c = f.run_task(&CreateSalesOrdersTask, 3).await;
    assert_eq!(c.get(doc::DOCUMENTS_CREATED), 2);
    for d in f.bc.documents.lock().unwrap().iter() {
        assert_eq!(d.customer_number, "C-ACME");
    }
    assert!(processed(&f, 1) && processed(&f, 2));
}
