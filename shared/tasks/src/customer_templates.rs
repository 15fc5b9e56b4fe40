//! The template a new BC customer is created from, shared by every task that creates customers
//! (`sync-customers`, `sync-orders`, `sync-companies`).
//!
//! The shop's settings name *template customers* (see [`CustomerDefaults`] for how a template is
//! applied): one per country (`customer_templates`, the reference's `Shpfy Customer Template`
//! table) and a default one (`customer_template_no`, the reference's `Customer Template Code`).
//! A customer whose address is in a listed country takes that country's template, any other the
//! default one; with neither, BC's own defaults apply ([`CustomerDefaults::default`]).
//!
//! A [`CustomerTemplates`] lives in a task's state (not checkpointed), so each template customer is
//! read from BC at most once per invocation, however many customers are created from it. A template
//! BC does not have (or refuses to give) is not a crash of the run: every record that needs it gets
//! a per-record error naming the template and the setting that names it, and the run goes on.
//! Retryable failures (throttling, transport, 5xx) end the invocation as any other BC read does.

use crate::engine::TaskRun;
use shopsync_domain::SyncError;
use shopsync_domain::orders::Address;
use shopsync_domain::ports::Result;
use shopsync_domain::sales::{BcSalesApi, CustomerDefaults};
use shopsync_domain::settings::ShopSettings;
use shopsync_domain::text::{bounded, preview};
use std::collections::HashMap;

/// Characters of a per-record reason.
const REASON_CHARS: usize = 300;

/// The country of an address (ISO 3166-1 alpha-2, as Shopify's `countryCodeV2` gives it), if any.
pub fn country_of(address: Option<&Address>) -> Option<&str> {
    address
        .and_then(|a| a.country_code.as_deref())
        .map(str::trim)
        .filter(|c| !c.is_empty())
}

/// The template customers of one invocation, each read from BC at most once.
#[derive(Debug, Default)]
pub struct CustomerTemplates {
    /// By template number: its defaults, or why it cannot be used.
    read: HashMap<String, std::result::Result<CustomerDefaults, String>>,
}

impl CustomerTemplates {
    /// The defaults of a new customer in `country`, read through the run's BC client: `Ok(Err)`
    /// with the per-record reason when the template cannot be used; `Err` when the run must stop.
    pub async fn for_country(
        &mut self,
        run: &TaskRun<'_>,
        country: Option<&str>,
    ) -> Result<std::result::Result<CustomerDefaults, String>> {
        self.resolve(run.settings, run.clients.bc.as_ref(), country)
            .await
    }

    /// As [`CustomerTemplates::for_country`], with the settings and BC client given.
    pub async fn resolve(
        &mut self,
        settings: &ShopSettings,
        bc: &dyn BcSalesApi,
        country: Option<&str>,
    ) -> Result<std::result::Result<CustomerDefaults, String>> {
        let Some(number) = settings.customer_template_for(country) else {
            return Ok(Ok(CustomerDefaults::default()));
        };
        if !self.read.contains_key(number) {
            let read = match bc.customer_template(number).await {
                Ok(defaults) => Ok(defaults),
                Err(SyncError::NotFound(_)) => Err("does not exist in BC".to_string()),
                Err(e @ SyncError::Rejected { .. }) => {
                    Err(format!("could not be read from BC: {e}"))
                }
                Err(e) => return Err(e),
            };
            self.read.insert(number.to_string(), read);
        }
        Ok(match &self.read[number] {
            Ok(defaults) => Ok(defaults.clone()),
            Err(problem) => Err(bounded(
                &format!(
                    "the BC customer template '{}' ({}) {problem}: a customer cannot be created from it; create that template customer in BC or correct the setting",
                    preview(number),
                    setting_of(settings, number, country)
                ),
                REASON_CHARS,
            )),
        })
    }
}

/// The setting that names `number` for `country`, for messages.
fn setting_of(settings: &ShopSettings, number: &str, country: Option<&str>) -> String {
    let country = country.map(str::trim).unwrap_or("");
    match settings
        .customer_templates
        .iter()
        .find(|t| t.country_code.eq_ignore_ascii_case(country))
    {
        Some(t) if t.template_customer_no == number => {
            format!("customer_templates, country {}", t.country_code)
        }
        _ => "customer_template_no".to_string(),
    }
}

/// What the test doubles of BC answer for a template customer: `MISSING…` does not exist, every
/// other number gives defaults that name it (`template_number`, and a currency code of its own
/// so a created customer shows which template it came from).
#[cfg(test)]
pub(crate) fn test_template(number: &str) -> Result<CustomerDefaults> {
    if number.starts_with("MISSING") {
        return Err(SyncError::NotFound(format!(
            "BC has no template customer {number}"
        )));
    }
    Ok(CustomerDefaults {
        template_number: number.to_string(),
        currency_code: Some(number.chars().rev().take(3).collect::<String>()),
        ..CustomerDefaults::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_trait::async_trait;
    use shopsync_domain::sales::{
        BcCustomer, NewCustomer, SalesDocument, SalesDocumentDraft, SalesDocumentRef,
        ShipmentBatch, ShipmentCursor, ShipmentTracking,
    };
    use std::sync::Mutex;

    /// BC's template customers, with every read recorded; `fail` makes the next read fail so.
    #[derive(Default)]
    struct Bc {
        reads: Mutex<Vec<String>>,
        fail: Mutex<Option<SyncError>>,
    }

    #[async_trait]
    impl BcSalesApi for Bc {
        async fn find_customer_by_email(&self, _e: &str) -> Result<Vec<BcCustomer>> {
            unreachable!()
        }
        async fn find_customer_by_phone(&self, _p: &str) -> Result<Vec<BcCustomer>> {
            unreachable!()
        }
        async fn find_customer_by_tax_registration(&self, _n: &str) -> Result<Vec<BcCustomer>> {
            unreachable!()
        }
        async fn customer_template(&self, number: &str) -> Result<CustomerDefaults> {
            self.reads.lock().unwrap().push(number.to_string());
            if let Some(e) = self.fail.lock().unwrap().take() {
                return Err(e);
            }
            test_template(number)
        }
        async fn create_customer(&self, _c: &NewCustomer) -> Result<BcCustomer> {
            unreachable!()
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
        async fn posted_shipments_since(
            &self,
            _c: Option<&ShipmentCursor>,
        ) -> Result<ShipmentBatch> {
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

    fn settings(extra: serde_json::Value) -> ShopSettings {
        let mut base = serde_json::json!({
            "code": "TPL",
            "shopify": {"store_domain": "tpl.myshopify.com", "access_token_secret_id": "shopsync/TPL/shopify"},
            "bc": {"tenant": "contoso", "environment": "production",
                   "company_id": "5d5d2b5a-6a47-4d36-9a55-4f4c0f0e1a01", "credentials_secret_id": "shopsync/TPL/bc"}
        });
        for (k, v) in extra.as_object().unwrap() {
            base[k] = v.clone();
        }
        ShopSettings::from_json(&base.to_string()).unwrap()
    }

    fn both() -> ShopSettings {
        settings(serde_json::json!({
            "customer_template_no": "TPL-ANY",
            "customer_templates": [
                {"country_code": "DE", "template_customer_no": "TPL-DE"},
                {"country_code": "FR", "template_customer_no": "MISSING-FR"}
            ]
        }))
    }

    async fn number(
        t: &mut CustomerTemplates,
        s: &ShopSettings,
        bc: &Bc,
        country: Option<&str>,
    ) -> String {
        t.resolve(s, bc, country)
            .await
            .unwrap()
            .unwrap()
            .template_number
    }

    #[tokio::test]
    async fn the_country_template_wins_over_the_default_one() {
        let (s, bc, mut t) = (both(), Bc::default(), CustomerTemplates::default());
        let de = t.resolve(&s, &bc, Some("DE")).await.unwrap().unwrap();
        assert_eq!(de.template_number, "TPL-DE");
        assert_eq!(de.currency_code.as_deref(), Some("ED-"));
        assert_eq!(number(&mut t, &s, &bc, Some("de")).await, "TPL-DE");
    }

    #[tokio::test]
    async fn the_default_template_serves_other_countries_and_no_country() {
        let (s, bc, mut t) = (both(), Bc::default(), CustomerTemplates::default());
        assert_eq!(number(&mut t, &s, &bc, Some("US")).await, "TPL-ANY");
        assert_eq!(number(&mut t, &s, &bc, None).await, "TPL-ANY");
        assert_eq!(number(&mut t, &s, &bc, Some(" ")).await, "TPL-ANY");
    }

    #[tokio::test]
    async fn without_templates_bc_defaults_apply_and_bc_is_not_asked() {
        let (s, bc, mut t) = (
            settings(serde_json::json!({})),
            Bc::default(),
            CustomerTemplates::default(),
        );
        for country in [Some("DE"), None] {
            let d = t.resolve(&s, &bc, country).await.unwrap().unwrap();
            assert_eq!(d, CustomerDefaults::default());
        }
        // Only per-country templates: other countries take BC's defaults.
        let s = settings(serde_json::json!({
            "customer_templates": [{"country_code": "DE", "template_customer_no": "TPL-DE"}]
        }));
        let d = t.resolve(&s, &bc, Some("US")).await.unwrap().unwrap();
        assert_eq!(d, CustomerDefaults::default());
        assert!(bc.reads.lock().unwrap().is_empty());
        assert_eq!(number(&mut t, &s, &bc, Some("DE")).await, "TPL-DE");
    }

    #[tokio::test]
    async fn each_template_is_read_once() {
        let (s, bc, mut t) = (both(), Bc::default(), CustomerTemplates::default());
        for _ in 0..20 {
            for country in [Some("DE"), Some("US"), None, Some("FR")] {
                t.resolve(&s, &bc, country).await.unwrap().ok();
            }
        }
        let mut reads = bc.reads.lock().unwrap().clone();
        reads.sort();
        assert_eq!(reads, vec!["MISSING-FR", "TPL-ANY", "TPL-DE"]);
    }

    #[tokio::test]
    async fn a_missing_template_is_a_reason_naming_it_and_its_setting() {
        let (s, bc, mut t) = (both(), Bc::default(), CustomerTemplates::default());
        for _ in 0..2 {
            let reason = t.resolve(&s, &bc, Some("FR")).await.unwrap().unwrap_err();
            assert!(reason.contains("'MISSING-FR'"), "{reason}");
            assert!(
                reason.contains("customer_templates, country FR"),
                "{reason}"
            );
            assert!(reason.contains("does not exist in BC"), "{reason}");
        }
        assert_eq!(bc.reads.lock().unwrap().len(), 1, "the answer is kept");
        let s = settings(serde_json::json!({"customer_template_no": "MISSING-ANY"}));
        let reason = t.resolve(&s, &bc, Some("DE")).await.unwrap().unwrap_err();
        assert!(
            reason.contains("'MISSING-ANY' (customer_template_no) does not exist in BC"),
            "{reason}"
        );
    }

    #[tokio::test]
    async fn a_refused_read_is_a_reason_and_a_passing_failure_ends_the_invocation() {
        let (s, bc, mut t) = (both(), Bc::default(), CustomerTemplates::default());
        *bc.fail.lock().unwrap() = Some(SyncError::Transport {
            service: "BC",
            message: "reset".into(),
        });
        let e = t.resolve(&s, &bc, Some("DE")).await.unwrap_err();
        assert!(e.is_retryable());
        // Not kept: the next invocation (or record) asks again.
        assert_eq!(number(&mut t, &s, &bc, Some("DE")).await, "TPL-DE");

        *bc.fail.lock().unwrap() = Some(SyncError::Rejected {
            service: "BC",
            code: "BadRequest".into(),
            message: "the filter is invalid".into(),
        });
        let reason = t.resolve(&s, &bc, None).await.unwrap().unwrap_err();
        assert!(reason.contains("'TPL-ANY' (customer_template_no) could not be read from BC"));
        assert!(reason.contains("the filter is invalid"), "{reason}");
    }
}
