//! `sync-customers` on the engine against in-memory doubles: a Shopify double whose customers a
//! test changes between runs (window by `updatedAt`, `customerSet` by id recorded), and a BC double
//! whose customer filters compare text as stored (as BC's OData does), whose creation can fail once
//! and whose creation can apply yet lose its answer.

use super::records::{BC_CURSOR, BcCustomerRecord, CustomerRecord, SHOPIFY_CURSOR, bc_status};
use super::*;
use crate::RunOutcome;
use crate::engine::ShopClients;
use crate::orders::sync::CURSORS;
use crate::test_run::{TaskHarness, deref_to_harness};
use shopsync_domain::customers::{BcCustomersApi, CustomerSetOutcome, ShopifyCustomersApi};
use shopsync_domain::job::JobCounters;
use shopsync_domain::orders::Page;
use shopsync_domain::ports::RecordStore;
use shopsync_domain::sales::{
    BcSalesApi, CustomerType, PostalAddress, SalesDocument, SalesDocumentDraft, SalesDocumentRef,
    ShipmentBatch, ShipmentCursor, ShipmentTracking,
};
use shopsync_test_support::MemoryStore;
use std::sync::{Arc, Mutex};

const SHOP: &str = "CUS";

fn settings(extra: serde_json::Value) -> ShopSettings {
    let mut base = serde_json::json!({
        "code": SHOP,
        "customer_import_from_shopify": "all",
        "shopify": {"store_domain": "cus.myshopify.com", "access_token_secret_id": "shopsync/CUS/shopify"},
        "bc": {"tenant": "contoso", "environment": "production",
               "company_id": "5d5d2b5a-6a47-4d36-9a55-4f4c0f0e1a01", "credentials_secret_id": "shopsync/CUS/bc"}
    });
    for (k, v) in extra.as_object().unwrap() {
        base[k] = v.clone();
    }
    ShopSettings::from_json(&base.to_string()).unwrap()
}

fn shopify_customer(n: u64, email: Option<&str>, phone: Option<&str>, at: &str) -> ShopifyCustomer {
    ShopifyCustomer {
        id: format!("gid://shopify/Customer/{n}"),
        legacy_id: n,
        first_name: Some(format!("First{n}")),
        last_name: Some("Buyer".into()),
        display_name: format!("First{n} Buyer"),
        email: email.map(String::from),
        phone: phone.map(String::from),
        updated_at: at.into(),
        default_address: None,
    }
}

fn bc_customer(no: &str, name: &str, email: &str, phone: &str, at: &str) -> BcCustomer {
    BcCustomer {
        id: format!(
            "00000000-0000-0000-0000-{:0>12}",
            no.trim_start_matches('C')
        ),
        number: no.into(),
        display_name: name.into(),
        customer_type: CustomerType::Person,
        email: email.into(),
        phone_number: phone.into(),
        tax_registration_number: String::new(),
        address: PostalAddress::default(),
        currency_code: String::new(),
        blocked: false,
        last_modified: at.into(),
    }
}

/// Shopify's customers: a window by `updatedAt`, pages of `page_size`, `customerSet` by id.
#[derive(Default)]
struct Shopify {
    customers: Mutex<Vec<ShopifyCustomer>>,
    sets: Mutex<Vec<(CustomerIdentifier, CustomerSetInput)>>,
    /// The `updatedAt` a `customerSet` gives the customer.
    set_at: Mutex<String>,
}

#[async_trait]
impl ShopifyCustomersApi for Shopify {
    async fn customers_updated_since(
        &self,
        since: Option<&str>,
        until: &str,
        after: Option<&str>,
    ) -> Result<Page<ShopifyCustomer>> {
        let until = parse_time("until", until).unwrap();
        let since = since.map(|s| parse_time("since", s).unwrap());
        let mut found: Vec<ShopifyCustomer> = self
            .customers
            .lock()
            .unwrap()
            .iter()
            .filter(|c| {
                let at = parse_time("at", &c.updated_at).unwrap();
                at <= until && since.is_none_or(|s| at >= s)
            })
            .cloned()
            .collect();
        found.sort_by(|a, b| (&a.updated_at, a.legacy_id).cmp(&(&b.updated_at, b.legacy_id)));
        let start: usize = after.map_or(0, |a| a.parse().unwrap());
        let page: Vec<_> = found.iter().skip(start).take(2).cloned().collect();
        let next = start + page.len();
        Ok(Page {
            next_cursor: (next < found.len()).then(|| next.to_string()),
            items: page,
        })
    }

    async fn customer(&self, id: &str) -> Result<Option<ShopifyCustomer>> {
        Ok(self
            .customers
            .lock()
            .unwrap()
            .iter()
            .find(|c| c.id == id)
            .cloned())
    }

    async fn customer_set(
        &self,
        identifier: &CustomerIdentifier,
        input: &CustomerSetInput,
    ) -> Result<CustomerSetOutcome> {
        self.sets
            .lock()
            .unwrap()
            .push((identifier.clone(), input.clone()));
        let CustomerIdentifier::Id(id) = identifier else {
            panic!("the export names customers by id");
        };
        let at = self.set_at.lock().unwrap().clone();
        let mut all = self.customers.lock().unwrap();
        let c = all.iter_mut().find(|c| &c.id == id).unwrap();
        c.email = input.email.clone().or(c.email.take());
        c.first_name = input.first_name.clone().or(c.first_name.take());
        c.last_name = input.last_name.clone().or(c.last_name.take());
        c.updated_at = at;
        Ok(CustomerSetOutcome {
            customer: Some(c.clone()),
            user_errors: Vec::new(),
        })
    }
}

shopsync_test_support::unused_shopify_inventory_api!(Shopify);
shopsync_test_support::unused_shopify_orders_api!(Shopify);
shopsync_test_support::unused_shopify_catalog_api!(Shopify);
shopsync_test_support::unused_shopify_companies_api!(Shopify);
shopsync_test_support::unused_shopify_b2b_catalogs_api!(Shopify);
shopsync_test_support::no_shopify_usage!(Shopify);

/// BC's customers. Filters compare text as stored (e-mail: the value or its lower-case form, as
/// the BC client asks; phone: exactly), like BC's OData.
#[derive(Default)]
struct Bc {
    customers: Mutex<Vec<BcCustomer>>,
    created: Mutex<Vec<NewCustomer>>,
    updates: Mutex<Vec<(String, CustomerUpdate)>>,
    /// Refuse the next creation (a permanent 400).
    refuse_next: Mutex<bool>,
    /// Apply the next creation, then fail as if the answer was lost.
    lose_next_answer: Mutex<bool>,
    clock: Mutex<u32>,
    /// Template customers read, in order.
    template_reads: Mutex<Vec<String>>,
}

impl Bc {
    fn add(&self, c: BcCustomer) {
        self.customers.lock().unwrap().push(c);
    }
    fn tick(&self) -> String {
        let mut clock = self.clock.lock().unwrap();
        *clock += 1;
        format!("2026-06-01T00:{:02}:00Z", *clock % 60)
    }
}

#[async_trait]
impl BcSalesApi for Bc {
    async fn find_customer_by_email(&self, email: &str) -> Result<Vec<BcCustomer>> {
        let lower = email.to_lowercase();
        Ok(self
            .customers
            .lock()
            .unwrap()
            .iter()
            .filter(|c| c.email == email || c.email == lower)
            .cloned()
            .collect())
    }
    async fn find_customer_by_phone(&self, phone: &str) -> Result<Vec<BcCustomer>> {
        Ok(self
            .customers
            .lock()
            .unwrap()
            .iter()
            .filter(|c| c.phone_number == phone)
            .cloned()
            .collect())
    }
    async fn find_customer_by_tax_registration(&self, number: &str) -> Result<Vec<BcCustomer>> {
        Ok(self
            .customers
            .lock()
            .unwrap()
            .iter()
            .filter(|c| c.tax_registration_number == number)
            .cloned()
            .collect())
    }
    async fn customer_template(&self, n: &str) -> Result<shopsync_domain::sales::CustomerDefaults> {
        self.template_reads.lock().unwrap().push(n.to_string());
        crate::customer_templates::test_template(n)
    }
    async fn create_customer(&self, customer: &NewCustomer) -> Result<BcCustomer> {
        if std::mem::take(&mut *self.refuse_next.lock().unwrap()) {
            return Err(SyncError::Rejected {
                service: "BC",
                code: "BadRequest".into(),
                message: "the customer posting group is missing".into(),
            });
        }
        self.created.lock().unwrap().push(customer.clone());
        let n = self.customers.lock().unwrap().len() + 100;
        let at = self.tick();
        let c = BcCustomer {
            address: customer.address.clone(),
            ..bc_customer(
                &format!("C{n}"),
                &customer.display_name,
                customer.email.as_deref().unwrap_or(""),
                customer.phone_number.as_deref().unwrap_or(""),
                &at,
            )
        };
        self.add(c.clone());
        if std::mem::take(&mut *self.lose_next_answer.lock().unwrap()) {
            return Err(SyncError::Transport {
                service: "BC",
                message: "connection reset after sending".into(),
            });
        }
        Ok(c)
    }
    async fn create_sales_document(&self, _d: &SalesDocumentDraft) -> Result<SalesDocument> {
        unreachable!()
    }
    async fn find_sales_documents_by_external_number(
        &self,
        _n: &str,
    ) -> Result<Vec<SalesDocumentRef>> {
        unreachable!()
    }
    async fn posted_shipments_since(&self, _c: Option<&ShipmentCursor>) -> Result<ShipmentBatch> {
        unreachable!()
    }
    async fn shipment_tracking(
        &self,
        _p: &str,
        _c: &str,
        _s: &str,
    ) -> Result<Option<ShipmentTracking>> {
        unreachable!()
    }
    async fn delete_sales_document(&self, _d: &SalesDocumentRef) -> Result<()> {
        unreachable!()
    }
}

#[async_trait]
impl BcCustomersApi for Bc {
    async fn customers_modified_since(&self, since: Option<&str>) -> Result<Vec<BcCustomer>> {
        let since = since.map(|s| parse_time("since", s).unwrap());
        Ok(self
            .customers
            .lock()
            .unwrap()
            .iter()
            .filter(|c| since.is_none_or(|s| parse_time("m", &c.last_modified).unwrap() > s))
            .cloned()
            .collect())
    }
    async fn update_customer(&self, id: &str, update: &CustomerUpdate) -> Result<BcCustomer> {
        self.updates
            .lock()
            .unwrap()
            .push((id.to_string(), update.clone()));
        let at = self.tick();
        let mut all = self.customers.lock().unwrap();
        let c = all.iter_mut().find(|c| c.id == id).unwrap();
        if let Some(v) = &update.display_name {
            c.display_name = v.clone();
        }
        if let Some(v) = &update.email {
            c.email = v.clone();
        }
        if let Some(v) = &update.phone_number {
            c.phone_number = v.clone();
        }
        c.last_modified = at;
        Ok(c.clone())
    }
}

shopsync_test_support::unused_bc_inventory_api!(Bc);
shopsync_test_support::unused_bc_items_api!(Bc);

struct Fixture {
    shopify: Arc<Shopify>,
    bc: Arc<Bc>,
    harness: TaskHarness,
    jobs: u32,
}

deref_to_harness!(Fixture);

impl Fixture {
    fn new(extra: serde_json::Value) -> Fixture {
        let shopify = Arc::new(Shopify::default());
        *shopify.set_at.lock().unwrap() = "2026-06-02T00:00:00Z".into();
        let bc = Arc::new(Bc::default());
        let clients = ShopClients {
            shopify: shopify.clone(),
            bc: bc.clone(),
        };
        let harness = TaskHarness::new(
            MemoryStore::new(),
            clients,
            settings(extra),
            TaskKind::SyncCustomers,
        );
        Fixture {
            shopify,
            bc,
            harness,
            jobs: 0,
        }
    }

    async fn run(&mut self) -> JobCounters {
        self.jobs += 1;
        let n = self.jobs;
        self.harness.next_job(TaskKind::SyncCustomers, n).await;
        self.harness.until_finished(&SyncCustomersTask).await;
        self.counters.clone()
    }

    fn customer(&self, n: u64) -> Option<(Option<String>, CustomerRecord)> {
        self.store
            .record(SHOP, CUSTOMERS, &n.to_string())
            .map(|r| (r.status, serde_json::from_str(&r.body).unwrap()))
    }

    fn linked_to(&self, n: u64) -> Option<String> {
        self.customer(n)
            .filter(|(s, _)| s.as_deref() == Some(customer_status::LINKED))
            .and_then(|(_, r)| r.bc_number)
    }

    fn add_shopify(&self, c: ShopifyCustomer) {
        self.shopify.customers.lock().unwrap().push(c);
    }

    /// Every record that is neither a cursor nor a mirror, i.e. nothing: mutations are counted on
    /// the doubles.
    fn mutations(&self) -> usize {
        self.bc.created.lock().unwrap().len()
            + self.bc.updates.lock().unwrap().len()
            + self.shopify.sets.lock().unwrap().len()
    }
}

const T1: &str = "2026-05-01T10:00:00Z";

#[tokio::test]
async fn an_email_differing_only_in_case_maps() {
    let mut f = Fixture::new(serde_json::json!({}));
    f.bc.add(bc_customer(
        "C1",
        "Jane Doe",
        "Jane.Doe@Example.COM",
        "",
        T1,
    ));
    f.add_shopify(shopify_customer(1, Some(" jane.doe@example.com"), None, T1));
    let c = f.run().await;
    assert_eq!(f.linked_to(1).as_deref(), Some("C1"));
    assert_eq!(c.get(counters::LINKED), 1);
    assert_eq!(f.mutations(), 0);
}

#[tokio::test]
async fn a_phone_differing_only_in_formatting_maps() {
    let mut f = Fixture::new(serde_json::json!({}));
    f.bc.add(bc_customer("C1", "Jane Doe", "", "0044 (20) 7946-0000", T1));
    f.add_shopify(shopify_customer(1, None, Some("+442079460000"), T1));
    f.run().await;
    assert_eq!(f.linked_to(1).as_deref(), Some("C1"));
}

#[tokio::test]
async fn a_customer_that_merely_shares_a_name_token_does_not_map() {
    let mut f = Fixture::new(serde_json::json!({}));
    f.bc.add(bc_customer(
        "C1",
        "First1 Buyer",
        "first1@example.com",
        "+44 20 7946 0000",
        T1,
    ));
    // Same name, an e-mail sharing a token, a phone sharing a prefix: no link.
    f.add_shopify(shopify_customer(
        1,
        Some("first1@example.org"),
        Some("+44 20 7946 00"),
        T1,
    ));
    let c = f.run().await;
    let (status, rec) = f.customer(1).unwrap();
    assert_eq!(status.as_deref(), Some(customer_status::UNMAPPED));
    assert!(
        rec.error
            .unwrap()
            .contains("auto_create_unknown_customers is off")
    );
    assert_eq!(c.get(counters::UNMAPPED), 1);
    assert_eq!(
        f.store
            .count_by_status(SHOP, CUSTOMERS, customer_status::UNMAPPED)
            .await
            .unwrap(),
        1
    );
}

#[tokio::test]
async fn unchanged_data_makes_zero_mutations() {
    let mut f = Fixture::new(serde_json::json!({
        "auto_create_unknown_customers": true,
        "shopify_can_update_customer": true,
    }));
    f.bc.add(bc_customer("C1", "First1 Buyer", "one@example.com", "", T1));
    f.add_shopify(shopify_customer(1, Some("one@example.com"), None, T1));
    f.add_shopify(shopify_customer(2, Some("two@example.com"), None, T1));
    f.run().await;
    assert_eq!(f.linked_to(1).as_deref(), Some("C1"));
    assert!(f.linked_to(2).is_some(), "created");
    let first = f.mutations();
    assert_eq!(f.bc.created.lock().unwrap().len(), 1);
    // The same data again (the window overlaps, so both are read again): nothing is written.
    let c = f.run().await;
    assert_eq!(f.mutations(), first, "{c:?}");
    let c = f.run().await;
    assert_eq!(f.mutations(), first, "{c:?}");
}

#[tokio::test]
async fn a_failed_customer_is_retried_next_run() {
    let mut f = Fixture::new(serde_json::json!({"auto_create_unknown_customers": true}));
    f.add_shopify(shopify_customer(1, Some("one@example.com"), None, T1));
    *f.bc.refuse_next.lock().unwrap() = true;
    f.run().await;
    let (status, rec) = f.customer(1).unwrap();
    assert_eq!(status.as_deref(), Some(customer_status::ERROR));
    assert!(rec.error.unwrap().contains("posting group"));
    assert!(
        f.store.record(SHOP, CURSORS, SHOPIFY_CURSOR).is_some(),
        "the cursor moved on"
    );
    // The customer is not in the next window (unchanged, and long before the cursor) …
    let c = f.run().await;
    // … and is still created.
    assert_eq!(c.get(counters::RETRIED), 1);
    assert!(f.linked_to(1).is_some());
    assert_eq!(f.bc.created.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_lost_creation_answer_is_probed_not_created_twice() {
    let mut f = Fixture::new(serde_json::json!({"auto_create_unknown_customers": true}));
    f.add_shopify(shopify_customer(1, Some("One@Example.com"), None, T1));
    *f.bc.lose_next_answer.lock().unwrap() = true;
    f.jobs += 1;
    f.harness.next_job(TaskKind::SyncCustomers, 1).await;
    let first = f.harness.invoke(&SyncCustomersTask).await;
    let mut tries = 0;
    let mut outcome = first;
    while outcome.is_err() || matches!(outcome, Ok(RunOutcome::Continue { .. })) {
        tries += 1;
        assert!(tries < 20);
        outcome = f.harness.invoke(&SyncCustomersTask).await;
    }
    assert_eq!(f.bc.created.lock().unwrap().len(), 1, "created once");
    assert!(f.linked_to(1).is_some());
    assert!(
        f.counters
            .get(crate::engine::counters::EFFECTS_FOUND_BY_PROBE)
            == 1
    );
}

#[tokio::test]
async fn changed_bc_customers_are_exported_once_and_do_not_come_back() {
    let mut f = Fixture::new(serde_json::json!({"can_update_shopify_customer": true}));
    f.bc.add(bc_customer("C1", "First1 Buyer", "one@example.com", "", T1));
    f.add_shopify(shopify_customer(1, Some("one@example.com"), None, T1));
    f.run().await;
    assert_eq!(f.linked_to(1).as_deref(), Some("C1"));
    assert_eq!(
        f.mutations(),
        0,
        "linking sends nothing: the two sides agree"
    );
    // BC changes the name: one customerSet by id.
    {
        let mut all = f.bc.customers.lock().unwrap();
        all[0].display_name = "Jane Buyer".into();
        all[0].last_modified = "2026-06-01T12:00:00Z".into();
    }
    let c = f.run().await;
    assert_eq!(c.get(counters::EXPORTED), 1);
    let sets = f.shopify.sets.lock().unwrap().clone();
    assert_eq!(sets.len(), 1);
    assert_eq!(
        sets[0].0,
        CustomerIdentifier::Id("gid://shopify/Customer/1".into())
    );
    assert_eq!(sets[0].1.first_name.as_deref(), Some("Jane"));
    let rec = f.customer(1).unwrap().1;
    assert_eq!(
        rec.exported_updated_at.as_deref(),
        Some("2026-06-02T00:00:00Z")
    );
    let bc: BcCustomerRecord =
        serde_json::from_str(&f.store.record(SHOP, BC_CUSTOMERS, "C1").unwrap().body).unwrap();
    assert!(bc.sent_hash.is_some());
    assert!(f.store.record(SHOP, CURSORS, BC_CURSOR).is_some());
    // Nothing changed since: nothing sent; our own export is not imported back.
    let c = f.run().await;
    assert_eq!(f.shopify.sets.lock().unwrap().len(), 1, "{c:?}");
    assert_eq!(
        f.store
            .count_by_status(SHOP, BC_CUSTOMERS, bc_status::EXPORT_PENDING)
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn shopify_changes_update_the_linked_bc_customer_when_allowed() {
    let mut f = Fixture::new(serde_json::json!({
        "customer_import_from_shopify": "with_order_import",
        "shopify_can_update_customer": true,
    }));
    f.bc.add(bc_customer("C1", "Old Name", "one@example.com", "", T1));
    f.add_shopify(shopify_customer(1, Some("one@example.com"), None, T1));
    f.add_shopify(shopify_customer(2, Some("two@example.com"), None, T1));
    f.run().await;
    // with_order_import links nobody new: refresh of known customers only.
    assert!(f.customer(1).is_none() && f.customer(2).is_none());
    assert_eq!(f.mutations(), 0);
    // Customer 1 changes in Shopify; an `all` run links it and refreshes BC from it.
    let now = format_time(OffsetDateTime::now_utc()).unwrap();
    f.shopify.customers.lock().unwrap()[0].updated_at = now;
    f.settings.customer_import_from_shopify = shopsync_domain::settings::ImportScope::All;
    f.run().await;
    assert_eq!(f.linked_to(1).as_deref(), Some("C1"));
    let updates = f.bc.updates.lock().unwrap().clone();
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0].1.display_name.as_deref(), Some("First1 Buyer"));
    f.settings.customer_import_from_shopify =
        shopsync_domain::settings::ImportScope::WithOrderImport;
    f.run().await;
    assert_eq!(
        f.bc.updates.lock().unwrap().len(),
        1,
        "unchanged: not sent again"
    );
}

fn in_country(mut c: ShopifyCustomer, country: &str) -> ShopifyCustomer {
    c.default_address = Some(shopsync_domain::orders::Address {
        first_name: None,
        last_name: None,
        company: None,
        address1: Some("1 Main Street".into()),
        address2: None,
        city: Some("Town".into()),
        province_code: None,
        zip: Some("12345".into()),
        country_code: Some(country.into()),
        phone: None,
    });
    c
}

fn with_templates() -> serde_json::Value {
    serde_json::json!({
        "auto_create_unknown_customers": true,
        "customer_template_no": "TPL-ANY",
        "customer_templates": [
            {"country_code": "DE", "template_customer_no": "TPL-DE"},
            {"country_code": "FR", "template_customer_no": "MISSING-FR"}
        ]
    })
}

/// The template each created customer was made from, by e-mail.
fn templates_used(f: &Fixture) -> Vec<(String, String)> {
    let mut used: Vec<_> =
        f.bc.created
            .lock()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c.email.clone().unwrap_or_default(),
                    c.defaults.template_number.clone(),
                )
            })
            .collect();
    used.sort();
    used
}

#[tokio::test]
async fn a_created_customer_takes_its_countrys_template_else_the_default_one() {
    let mut f = Fixture::new(with_templates());
    f.add_shopify(in_country(
        shopify_customer(1, Some("de@example.com"), None, T1),
        "DE",
    ));
    f.add_shopify(in_country(
        shopify_customer(2, Some("us@example.com"), None, T1),
        "US",
    ));
    f.add_shopify(shopify_customer(3, Some("none@example.com"), None, T1));
    let c = f.run().await;
    assert_eq!(c.get(counters::CREATED_IN_BC), 3, "{c:?}");
    assert_eq!(
        templates_used(&f),
        vec![
            ("de@example.com".into(), "TPL-DE".into()),
            ("none@example.com".into(), "TPL-ANY".into()),
            ("us@example.com".into(), "TPL-ANY".into()),
        ]
    );
    // The template's defaults reach BC, not only its number.
    let created = f.bc.created.lock().unwrap().clone();
    let de = created
        .iter()
        .find(|c| c.email.as_deref() == Some("de@example.com"))
        .unwrap();
    assert_eq!(de.defaults.currency_code.as_deref(), Some("ED-"));
}

#[tokio::test]
async fn without_a_template_setting_bc_defaults_apply() {
    let mut f = Fixture::new(serde_json::json!({"auto_create_unknown_customers": true}));
    f.add_shopify(in_country(
        shopify_customer(1, Some("de@example.com"), None, T1),
        "DE",
    ));
    f.run().await;
    let created = f.bc.created.lock().unwrap().clone();
    assert_eq!(created.len(), 1);
    assert_eq!(
        created[0].defaults,
        shopsync_domain::sales::CustomerDefaults::default()
    );
    assert!(f.bc.template_reads.lock().unwrap().is_empty());
}

#[tokio::test]
async fn each_template_is_read_once_per_invocation_for_many_customers() {
    let mut f = Fixture::new(with_templates());
    for n in 1..=9 {
        let country = ["DE", "US", "NL"][n as usize % 3];
        f.add_shopify(in_country(
            shopify_customer(n, Some(&format!("c{n}@example.com")), None, T1),
            country,
        ));
    }
    // The Shopify double gives pages of two: five import steps in one invocation.
    let c = f.run().await;
    assert_eq!(c.get(counters::CREATED_IN_BC), 9, "{c:?}");
    assert!(c.get(counters::PAGES_READ) >= 5, "{c:?}");
    let mut reads = f.bc.template_reads.lock().unwrap().clone();
    reads.sort();
    assert_eq!(reads, vec!["TPL-ANY", "TPL-DE"]);
}

#[tokio::test]
async fn a_missing_template_leaves_the_customer_in_error_with_a_reason_naming_it() {
    let mut f = Fixture::new(with_templates());
    f.add_shopify(in_country(
        shopify_customer(1, Some("fr1@example.com"), None, T1),
        "FR",
    ));
    f.add_shopify(in_country(
        shopify_customer(2, Some("fr2@example.com"), None, T1),
        "FR",
    ));
    f.add_shopify(in_country(
        shopify_customer(3, Some("de@example.com"), None, T1),
        "DE",
    ));
    let c = f.run().await;
    for n in [1, 2] {
        let (status, rec) = f.customer(n).unwrap();
        assert_eq!(status.as_deref(), Some(customer_status::ERROR));
        let reason = rec.error.unwrap();
        assert!(reason.contains("'MISSING-FR'"), "{reason}");
        assert!(
            reason.contains("customer_templates, country FR"),
            "{reason}"
        );
        assert!(reason.contains("does not exist in BC"), "{reason}");
    }
    assert_eq!(c.get(counters::FAILED), 2, "{c:?}");
    // The run went on: the other customer was created, and the missing template read once.
    assert!(f.linked_to(3).is_some());
    assert_eq!(templates_used(&f).len(), 1);
    let reads = f.bc.template_reads.lock().unwrap().clone();
    assert_eq!(reads.iter().filter(|r| *r == "MISSING-FR").count(), 1);
}
