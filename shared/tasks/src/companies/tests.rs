//! `sync-companies` on the engine against in-memory doubles: a Shopify double whose companies a
//! test changes between runs (window by `updatedAt`, pages of 2, the export recorded), and a BC
//! double whose customer filters compare text as stored (as BC's OData does), whose creation can be
//! refused for one company and can apply yet lose its answer.

use super::records::{CompanyRecord, SHOPIFY_CURSOR};
use super::*;
use crate::engine::ShopClients;
use crate::orders::sync::CURSORS;
use crate::test_run::{TaskHarness, deref_to_harness};
use shopsync_domain::companies::{
    CompanyExportOutcome, CompanyLocation, CompanyMainContact, ShopifyCompaniesApi,
};
use shopsync_domain::customers::{BcCustomersApi, CustomerUpdate};
use shopsync_domain::job::JobCounters;
use shopsync_domain::orders::Page;
use shopsync_domain::ports::RecordStore;
use shopsync_domain::sales::{
    BcSalesApi, PostalAddress, SalesDocument, SalesDocumentDraft, SalesDocumentRef, ShipmentBatch,
    ShipmentCursor, ShipmentTracking,
};
use shopsync_test_support::MemoryStore;
use std::sync::{Arc, Mutex};

const SHOP: &str = "COM";

fn settings(extra: serde_json::Value) -> ShopSettings {
    let mut base = serde_json::json!({
        "code": SHOP,
        "company_import_from_shopify": "all",
        "auto_create_unknown_companies": true,
        "shopify": {"store_domain": "com.myshopify.com", "access_token_secret_id": "shopsync/COM/shopify"},
        "bc": {"tenant": "contoso", "environment": "production",
               "company_id": "5d5d2b5a-6a47-4d36-9a55-4f4c0f0e1a01", "credentials_secret_id": "shopsync/COM/bc"}
    });
    for (k, v) in extra.as_object().unwrap() {
        base[k] = v.clone();
    }
    ShopSettings::from_json(&base.to_string()).unwrap()
}

fn company(n: u64, email: Option<&str>, phone: Option<&str>, at: &str) -> ShopifyCompany {
    ShopifyCompany {
        id: format!("gid://shopify/Company/{n}"),
        legacy_id: n,
        name: format!("Company {n}"),
        external_id: None,
        updated_at: at.into(),
        main_contact: Some(CompanyMainContact {
            id: format!("gid://shopify/CompanyContact/{n}"),
            first_name: Some("Main".into()),
            last_name: Some(format!("Contact{n}")),
            email: email.map(String::from),
            phone: phone.map(String::from),
        }),
        locations: vec![CompanyLocation {
            id: format!("gid://shopify/CompanyLocation/{n}0"),
            name: format!("Company {n} HQ"),
            ..CompanyLocation::default()
        }],
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
        customer_type: CustomerType::Company,
        email: email.into(),
        phone_number: phone.into(),
        tax_registration_number: String::new(),
        address: PostalAddress::default(),
        currency_code: String::new(),
        blocked: false,
        last_modified: at.into(),
    }
}

/// Shopify's companies: a window by `updatedAt`, pages of 2, exports recorded.
#[derive(Default)]
struct Shopify {
    companies: Mutex<Vec<ShopifyCompany>>,
    exports: Mutex<Vec<CompanyExport>>,
}

#[async_trait]
impl ShopifyCompaniesApi for Shopify {
    async fn companies_updated_since(
        &self,
        since: Option<&str>,
        until: &str,
        after: Option<&str>,
    ) -> Result<Page<ShopifyCompany>> {
        let until = parse_time("until", until).unwrap();
        let since = since.map(|s| parse_time("since", s).unwrap());
        let mut found: Vec<ShopifyCompany> = self
            .companies
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

    async fn company(&self, id: &str) -> Result<Option<ShopifyCompany>> {
        Ok(self
            .companies
            .lock()
            .unwrap()
            .iter()
            .find(|c| c.id == id)
            .cloned())
    }

    async fn company_export(&self, export: &CompanyExport) -> Result<CompanyExportOutcome> {
        self.exports.lock().unwrap().push(export.clone());
        let mut all = self.companies.lock().unwrap();
        let c = all.iter_mut().find(|c| c.id == export.company_id).unwrap();
        c.name = export.name.clone();
        c.locations[0].external_id = Some(export.location_external_id.clone());
        c.updated_at = "2026-06-02T00:00:00Z".into();
        Ok(CompanyExportOutcome {
            updated_at: Some(c.updated_at.clone()),
            user_errors: Vec::new(),
        })
    }
}

shopsync_test_support::unused_shopify_inventory_api!(Shopify);
shopsync_test_support::unused_shopify_orders_api!(Shopify);
shopsync_test_support::unused_shopify_catalog_api!(Shopify);
shopsync_test_support::unused_shopify_customers_api!(Shopify);
shopsync_test_support::unused_shopify_b2b_catalogs_api!(Shopify);
shopsync_test_support::no_shopify_usage!(Shopify);

/// BC's customers. Filters compare text as stored (e-mail: the value or its lower-case form, as
/// the BC client asks; phone: exactly; tax registration number: the value or its `tax_id_key`
/// form, as the BC client asks), like BC's OData.
#[derive(Default)]
struct Bc {
    customers: Mutex<Vec<BcCustomer>>,
    created: Mutex<Vec<NewCustomer>>,
    /// Refuse creations with this display name (a permanent 400).
    refuse_name: Mutex<Option<String>>,
    /// Apply the next creation, then fail as if the answer was lost.
    lose_next_answer: Mutex<bool>,
    /// The values customers were looked up by tax registration number with.
    tax_lookups: Mutex<Vec<String>>,
    clock: Mutex<u32>,
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
        self.tax_lookups.lock().unwrap().push(number.to_string());
        let key = tax_id_key(number);
        Ok(self
            .customers
            .lock()
            .unwrap()
            .iter()
            .filter(|c| {
                c.tax_registration_number == number
                    || Some(&c.tax_registration_number) == key.as_ref()
            })
            .cloned()
            .collect())
    }
    async fn customer_template(&self, n: &str) -> Result<CustomerDefaults> {
        crate::customer_templates::test_template(n)
    }
    async fn create_customer(&self, customer: &NewCustomer) -> Result<BcCustomer> {
        if self.refuse_name.lock().unwrap().as_deref() == Some(customer.display_name.as_str()) {
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
            tax_registration_number: customer.tax_registration_number.clone().unwrap_or_default(),
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
    async fn update_customer(&self, _id: &str, _u: &CustomerUpdate) -> Result<BcCustomer> {
        unreachable!("sync-companies does not update BC customers")
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
        let bc = Arc::new(Bc::default());
        let clients = ShopClients {
            shopify: shopify.clone(),
            bc: bc.clone(),
        };
        let harness = TaskHarness::new(
            MemoryStore::new(),
            clients,
            settings(extra),
            TaskKind::SyncCompanies,
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
        self.harness.next_job(TaskKind::SyncCompanies, n).await;
        self.harness.until_finished(&SyncCompaniesTask).await;
        self.counters.clone()
    }

    async fn record(&self, n: u64) -> (Option<String>, CompanyRecord) {
        let r = self
            .store
            .get_record(SHOP, COMPANIES, &n.to_string())
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("no record of company {n}"));
        (r.status.clone(), serde_json::from_str(&r.body).unwrap())
    }

    async fn cursor(&self) -> Option<String> {
        self.store
            .get_record(SHOP, CURSORS, SHOPIFY_CURSOR)
            .await
            .unwrap()
            .map(|r| r.body)
    }

    fn companies(&self, list: Vec<ShopifyCompany>) {
        *self.shopify.companies.lock().unwrap() = list;
    }
}

fn c(counters: &JobCounters, name: &str) -> u64 {
    counters.values.get(name).copied().unwrap_or(0)
}

#[tokio::test]
async fn a_failing_company_leaves_the_others_synced_and_the_cursor_moved() {
    let mut f = Fixture::new(serde_json::json!({}));
    f.companies(vec![
        company(1, Some("one@example.com"), None, "2026-05-01T00:00:00Z"),
        company(2, Some("two@example.com"), None, "2026-05-01T00:01:00Z"),
        company(3, Some("three@example.com"), None, "2026-05-01T00:02:00Z"),
        company(4, None, None, "2026-05-01T00:03:00Z"),
        company(5, Some("five@example.com"), None, "2026-05-01T00:04:00Z"),
    ]);
    *f.bc.refuse_name.lock().unwrap() = Some("Company 2".into());
    let counters = f.run().await;
    assert_eq!(c(&counters, counters::CREATED_IN_BC), 3, "{counters:?}");
    assert_eq!(c(&counters, counters::FAILED), 1);
    assert_eq!(c(&counters, counters::UNMAPPED), 1);
    for n in [1, 3, 5] {
        let (status, rec) = f.record(n).await;
        assert_eq!(
            status.as_deref(),
            Some(company_status::LINKED),
            "company {n}"
        );
        assert!(rec.bc_number.is_some());
    }
    let (status, rec) = f.record(2).await;
    assert_eq!(status.as_deref(), Some(company_status::ERROR));
    assert!(rec.error.unwrap().contains("posting group"));
    let (status, rec) = f.record(4).await;
    assert_eq!(status.as_deref(), Some(company_status::UNMAPPED));
    assert!(rec.error.unwrap().contains("no e-mail or phone"));
    // The cursor moved to the run's start despite the failure.
    assert!(f.cursor().await.is_some());
    // The unmapped-companies cue counts the unmapped one.
    let unmapped = f
        .store
        .list_by_status(SHOP, COMPANIES, company_status::UNMAPPED, None, 10)
        .await
        .unwrap();
    assert_eq!(unmapped.records.len(), 1);

    // Next run: BC accepts it now; the error is retried although the window moved past it.
    *f.bc.refuse_name.lock().unwrap() = None;
    let counters = f.run().await;
    assert_eq!(c(&counters, counters::RETRIED), 1, "{counters:?}");
    assert_eq!(c(&counters, counters::CREATED_IN_BC), 1);
    assert_eq!(f.record(2).await.0.as_deref(), Some(company_status::LINKED));
    assert_eq!(
        f.bc.created.lock().unwrap().len(),
        4,
        "each company created once"
    );
}

#[tokio::test]
async fn contacts_match_exactly_only() {
    let mut f = Fixture::new(serde_json::json!({"auto_create_unknown_companies": false}));
    let at = "2026-05-01T00:00:00Z";
    f.bc.add(bc_customer("C1", "Acme", "buyer@acme.example", "", at));
    f.bc.add(bc_customer("C2", "Bolt", "", "+44 20 7946 0000", at));
    f.bc.add(bc_customer("C3", "Jane", "jane.smith@example.com", "", at));
    f.companies(vec![
        // Case differs only: the same address.
        company(1, Some("Buyer@ACME.example"), None, at),
        // Formatting differs only: the same number.
        company(2, None, Some("+44-20-7946-0000"), at),
        // Shares a token with C3's address, is another address: no match.
        company(3, Some("jane@example.com"), None, at),
    ]);
    let counters = f.run().await;
    assert_eq!(c(&counters, counters::LINKED), 2, "{counters:?}");
    assert_eq!(f.record(1).await.1.bc_number.as_deref(), Some("C1"));
    assert_eq!(f.record(2).await.1.bc_number.as_deref(), Some("C2"));
    let (status, rec) = f.record(3).await;
    assert_eq!(status.as_deref(), Some(company_status::UNMAPPED));
    assert_eq!(rec.bc_number, None);
    assert!(f.bc.created.lock().unwrap().is_empty());
}

#[tokio::test]
async fn unchanged_data_sends_no_mutation() {
    let mut f = Fixture::new(serde_json::json!({"can_update_shopify_companies": true}));
    f.companies(vec![
        company(1, Some("one@example.com"), None, "2026-05-01T00:00:00Z"),
        company(2, Some("two@example.com"), None, "2026-05-01T00:01:00Z"),
    ]);
    f.run().await;
    // The links were exported once (the location learns its BC customer number).
    assert_eq!(f.shopify.exports.lock().unwrap().len(), 2);
    let created = f.bc.created.lock().unwrap().len();
    // Nothing changed on either side: no mutation, nothing created.
    for _ in 0..2 {
        let counters = f.run().await;
        assert_eq!(c(&counters, counters::EXPORTED), 0, "{counters:?}");
        assert_eq!(c(&counters, counters::CREATED_IN_BC), 0);
    }
    assert_eq!(f.shopify.exports.lock().unwrap().len(), 2);
    assert_eq!(f.bc.created.lock().unwrap().len(), created);

    // A BC change of a linked customer is exported once.
    {
        let mut all = f.bc.customers.lock().unwrap();
        let first = all
            .iter_mut()
            .find(|b| b.email == "one@example.com")
            .unwrap();
        first.display_name = "One Ltd".into();
        first.last_modified = "2026-06-01T00:30:00Z".into();
    }
    let counters = f.run().await;
    assert_eq!(c(&counters, counters::EXPORTED), 1, "{counters:?}");
    let last = f.shopify.exports.lock().unwrap().last().cloned().unwrap();
    assert_eq!(last.name, "One Ltd");
    let counters = f.run().await;
    assert_eq!(c(&counters, counters::EXPORTED), 0, "{counters:?}");
}

#[tokio::test]
async fn a_lost_creation_answer_creates_no_second_customer() {
    let mut f = Fixture::new(serde_json::json!({}));
    f.companies(vec![company(
        1,
        Some("one@example.com"),
        Some("+1 555 0100 200"),
        "2026-05-01T00:00:00Z",
    )]);
    *f.bc.lose_next_answer.lock().unwrap() = true;
    f.next_job(TaskKind::SyncCompanies, 1).await;
    // The first invocation loses BC's answer (a retryable failure ends it)…
    assert!(f.invoke(&SyncCompaniesTask).await.is_err());
    // …the retry probes, finds the customer and links it.
    f.until_finished(&SyncCompaniesTask).await;
    assert_eq!(f.bc.created.lock().unwrap().len(), 1);
    let (status, rec) = f.record(1).await;
    assert_eq!(status.as_deref(), Some(company_status::LINKED));
    assert_eq!(rec.bc_number.as_deref(), Some("C100"));
    // A later run after a job that died mid-creation looks BC up before creating: still one.
    f.jobs = 1;
    f.run().await;
    assert_eq!(f.bc.created.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_dead_job_s_creation_is_found_by_the_next_job() {
    let mut f = Fixture::new(serde_json::json!({}));
    f.companies(vec![company(
        7,
        Some("seven@example.com"),
        None,
        "2026-05-01T00:00:00Z",
    )]);
    *f.bc.lose_next_answer.lock().unwrap() = true;
    f.next_job(TaskKind::SyncCompanies, 1).await;
    assert!(f.invoke(&SyncCompaniesTask).await.is_err());
    // The job is abandoned (its messages gone); the next scheduled job starts afresh.
    f.jobs = 1;
    f.run().await;
    assert_eq!(f.bc.created.lock().unwrap().len(), 1, "no second customer");
    assert_eq!(f.record(7).await.0.as_deref(), Some(company_status::LINKED));
}

#[tokio::test]
async fn two_companies_with_one_contact_make_one_customer() {
    let mut f = Fixture::new(serde_json::json!({}));
    f.companies(vec![
        company(1, Some("same@example.com"), None, "2026-05-01T00:00:00Z"),
        company(2, Some("SAME@example.com"), None, "2026-05-01T00:01:00Z"),
    ]);
    f.run().await;
    f.run().await;
    assert_eq!(f.bc.created.lock().unwrap().len(), 1);
    assert_eq!(f.record(1).await.0.as_deref(), Some(company_status::LINKED));
    let (status, rec) = f.record(2).await;
    assert_eq!(status.as_deref(), Some(company_status::UNMAPPED));
    assert!(rec.error.unwrap().contains("linked to company 1"));
}

#[tokio::test]
async fn default_company_and_known_only_modes() {
    let mut f = Fixture::new(serde_json::json!({
        "company_mapping_type": "default_company", "default_company_no": "B2B"
    }));
    f.companies(vec![company(1, None, None, "2026-05-01T00:00:00Z")]);
    f.run().await;
    assert_eq!(f.record(1).await.1.bc_number.as_deref(), Some("B2B"));

    let mut f =
        Fixture::new(serde_json::json!({"company_import_from_shopify": "with_order_import"}));
    f.companies(vec![company(
        1,
        Some("one@example.com"),
        None,
        "2026-05-01T00:00:00Z",
    )]);
    let counters = f.run().await;
    assert_eq!(c(&counters, counters::SKIPPED_NOT_KNOWN), 1);
    assert!(f.bc.created.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_company_an_order_requested_is_imported_in_with_order_import_mode() {
    let mut f =
        Fixture::new(serde_json::json!({"company_import_from_shopify": "with_order_import"}));
    // Updated long before the window: only the request brings it in.
    f.companies(vec![
        company(1, Some("one@example.com"), None, "2020-01-01T00:00:00Z"),
        company(2, Some("two@example.com"), None, "2020-01-01T00:00:00Z"),
    ]);
    f.store
        .put_records(
            SHOP,
            CURSORS,
            &[Record::new(
                SHOPIFY_CURSOR,
                None,
                serde_json::json!({"updated_at": "2026-01-01T00:00:00Z"}).to_string(),
            )],
        )
        .await
        .unwrap();
    // What the order import writes for an order's unknown company.
    let requested = CompanyRecord {
        shopify_id: "gid://shopify/Company/1".into(),
        ..CompanyRecord::default()
    };
    f.store
        .put_records(
            SHOP,
            COMPANIES,
            &[Record::new(
                "1",
                Some(company_status::REQUESTED),
                serde_json::to_string(&requested).unwrap(),
            )],
        )
        .await
        .unwrap();
    let counters = f.run().await;
    assert_eq!(c(&counters, counters::CREATED_IN_BC), 1, "{counters:?}");
    let (status, rec) = f.record(1).await;
    assert_eq!(status.as_deref(), Some(company_status::LINKED));
    assert_eq!(rec.name, "Company 1", "refreshed from Shopify");
    assert!(rec.bc_number.is_some());
    // The company no order asked for is left alone.
    assert!(
        f.store
            .get_record(SHOP, COMPANIES, "2")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(f.bc.created.lock().unwrap().len(), 1);
    // A second run has nothing left to import.
    let counters = f.run().await;
    assert_eq!(c(&counters, counters::CREATED_IN_BC), 0, "{counters:?}");
}

#[tokio::test]
async fn a_created_company_customer_takes_its_billing_countrys_template() {
    let mut f = Fixture::new(serde_json::json!({
        "customer_template_no": "TPL-ANY",
        "customer_templates": [
            {"country_code": "DE", "template_customer_no": "TPL-DE"},
            {"country_code": "FR", "template_customer_no": "MISSING-FR"}
        ]
    }));
    let in_country = |mut co: ShopifyCompany, country: &str| {
        co.locations[0].billing_address = Some(shopsync_domain::orders::Address {
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
        co
    };
    f.companies(vec![
        in_country(
            company(1, Some("one@example.com"), None, "2026-05-01T00:00:00Z"),
            "DE",
        ),
        company(2, Some("two@example.com"), None, "2026-05-01T00:01:00Z"),
        in_country(
            company(3, Some("three@example.com"), None, "2026-05-01T00:02:00Z"),
            "FR",
        ),
    ]);
    let counters = f.run().await;
    assert_eq!(c(&counters, counters::CREATED_IN_BC), 2, "{counters:?}");
    assert_eq!(c(&counters, counters::FAILED), 1);
    let mut used: Vec<(String, String)> =
        f.bc.created
            .lock()
            .unwrap()
            .iter()
            .map(|n| (n.display_name.clone(), n.defaults.template_number.clone()))
            .collect();
    used.sort();
    assert_eq!(
        used,
        vec![
            ("Company 1".to_string(), "TPL-DE".to_string()),
            ("Company 2".to_string(), "TPL-ANY".to_string()),
        ]
    );
    let (status, rec) = f.record(3).await;
    assert_eq!(status.as_deref(), Some(company_status::ERROR));
    let error = rec.error.unwrap();
    assert!(
        error.contains("'MISSING-FR' (customer_templates, country FR) does not exist in BC"),
        "{error}"
    );
}

// ---------------------------------------------------------------------------------------------
// company_mapping_type: by_tax_id
// ---------------------------------------------------------------------------------------------

/// A company whose first location has `tax_id`.
fn taxed(n: u64, email: Option<&str>, tax_id: Option<&str>, at: &str) -> ShopifyCompany {
    let mut co = company(n, email, None, at);
    co.locations[0].tax_registration_id = tax_id.map(String::from);
    co
}

fn bc_taxed(no: &str, email: &str, tax_id: &str) -> BcCustomer {
    BcCustomer {
        tax_registration_number: tax_id.into(),
        ..bc_customer(no, no, email, "", "2026-05-01T00:00:00Z")
    }
}

#[tokio::test]
async fn by_tax_id_links_the_same_id_spelt_differently_only() {
    let mut f = Fixture::new(serde_json::json!({
        "company_mapping_type": "by_tax_id", "auto_create_unknown_companies": false
    }));
    let at = "2026-05-01T00:00:00Z";
    f.bc.add(bc_taxed("C1", "", "GB123456789"));
    // Has company 2's contact e-mail: by tax id, the e-mail is not what matches.
    f.bc.add(bc_taxed("C2", "two@example.com", "GB987654321"));
    f.companies(vec![
        taxed(1, Some("one@example.com"), Some("GB 123 456 789"), at),
        // One digit short of C1's: another id.
        taxed(2, Some("two@example.com"), Some("GB12345678"), at),
    ]);
    let counters = f.run().await;
    assert_eq!(c(&counters, counters::LINKED), 1, "{counters:?}");
    assert_eq!(c(&counters, counters::UNMAPPED), 1);
    let (status, rec) = f.record(1).await;
    assert_eq!(status.as_deref(), Some(company_status::LINKED));
    assert_eq!(rec.bc_number.as_deref(), Some("C1"));
    let (status, rec) = f.record(2).await;
    assert_eq!(status.as_deref(), Some(company_status::UNMAPPED));
    assert_eq!(rec.bc_number, None);
    let error = rec.error.unwrap();
    assert!(
        error.contains("no BC customer has the company's tax registration id"),
        "{error}"
    );
    assert!(f.bc.created.lock().unwrap().is_empty());
}

#[tokio::test]
async fn by_tax_id_an_unknown_id_is_created_once_with_its_tax_id() {
    let mut f = Fixture::new(serde_json::json!({"company_mapping_type": "by_tax_id"}));
    let at = "2026-05-01T00:00:00Z";
    f.bc.add(bc_taxed("C1", "", "GB123456789"));
    f.companies(vec![taxed(
        1,
        Some("one@example.com"),
        Some("GB123456780"),
        at,
    )]);
    let counters = f.run().await;
    assert_eq!(c(&counters, counters::CREATED_IN_BC), 1, "{counters:?}");
    let created = f.bc.created.lock().unwrap().clone();
    assert_eq!(created.len(), 1);
    assert_eq!(
        created[0].tax_registration_number.as_deref(),
        Some("GB123456780")
    );
    let (status, rec) = f.record(1).await;
    assert_eq!(status.as_deref(), Some(company_status::LINKED));
    assert_ne!(rec.bc_number.as_deref(), Some("C1"));
    // Later runs find it by its tax id: still one.
    f.shopify.companies.lock().unwrap()[0].updated_at = "2026-05-02T00:00:00Z".into();
    f.run().await;
    f.run().await;
    assert_eq!(f.bc.created.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn by_tax_id_a_lost_creation_answer_is_found_by_the_probe() {
    let mut f = Fixture::new(serde_json::json!({"company_mapping_type": "by_tax_id"}));
    // A BC customer with the company's e-mail but another tax id: the probe must not take it.
    f.bc.add(bc_taxed("C1", "one@example.com", "DE111111111"));
    f.companies(vec![taxed(
        1,
        Some("one@example.com"),
        Some("gb 123.456-789"),
        "2026-05-01T00:00:00Z",
    )]);
    *f.bc.lose_next_answer.lock().unwrap() = true;
    f.next_job(TaskKind::SyncCompanies, 1).await;
    assert!(f.invoke(&SyncCompaniesTask).await.is_err());
    let lookups = f.bc.tax_lookups.lock().unwrap().len();
    f.until_finished(&SyncCompaniesTask).await;
    assert!(
        f.bc.tax_lookups.lock().unwrap().len() > lookups,
        "the probe asked BC by tax id"
    );
    assert_eq!(f.bc.created.lock().unwrap().len(), 1, "not created twice");
    let (status, rec) = f.record(1).await;
    assert_eq!(status.as_deref(), Some(company_status::LINKED));
    assert_eq!(rec.bc_number.as_deref(), Some("C101"));
    // A later job after one that died mid-creation looks BC up by tax id first: still one.
    f.jobs = 1;
    f.run().await;
    assert_eq!(f.bc.created.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn by_tax_id_a_company_without_one_is_unmapped() {
    let mut f = Fixture::new(serde_json::json!({"company_mapping_type": "by_tax_id"}));
    // Its contact's e-mail is a BC customer's: by tax id that is no match.
    f.bc.add(bc_taxed("C1", "one@example.com", ""));
    f.companies(vec![
        taxed(1, Some("one@example.com"), None, "2026-05-01T00:00:00Z"),
        taxed(
            2,
            Some("two@example.com"),
            Some(" - "),
            "2026-05-01T00:01:00Z",
        ),
    ]);
    let counters = f.run().await;
    assert_eq!(c(&counters, counters::UNMAPPED), 2, "{counters:?}");
    for n in [1, 2] {
        let (status, rec) = f.record(n).await;
        assert_eq!(status.as_deref(), Some(company_status::UNMAPPED));
        assert_eq!(
            rec.error.as_deref(),
            Some("the company has no tax registration id to match a BC customer by")
        );
    }
    assert!(f.bc.created.lock().unwrap().is_empty());
    assert!(f.bc.tax_lookups.lock().unwrap().is_empty());
}

#[tokio::test]
async fn by_tax_id_a_customer_linked_to_another_company_is_not_linked_again() {
    let mut f = Fixture::new(serde_json::json!({"company_mapping_type": "by_tax_id"}));
    f.companies(vec![
        taxed(
            1,
            Some("one@example.com"),
            Some("GB123456789"),
            "2026-05-01T00:00:00Z",
        ),
        taxed(
            2,
            Some("two@example.com"),
            Some("GB-123-456-789"),
            "2026-05-01T00:01:00Z",
        ),
    ]);
    f.run().await;
    f.run().await;
    assert_eq!(f.bc.created.lock().unwrap().len(), 1);
    assert_eq!(f.record(1).await.0.as_deref(), Some(company_status::LINKED));
    let (status, rec) = f.record(2).await;
    assert_eq!(status.as_deref(), Some(company_status::UNMAPPED));
    assert!(rec.error.unwrap().contains("linked to company 1"));
}
