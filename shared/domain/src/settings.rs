//! Shop settings: what the reference connector's Shop Card holds that a sync needs, in snake_case,
//! with the reference defaults, plus connection data and *references* to secrets.
//!
//! Settings arrive from admins (API, seed files), so they are parsed strictly (unknown fields are an
//! error, not silently ignored) and validated as a whole: [`ShopSettings::validate`] returns every
//! problem at once, each naming the field, so one round trip fixes them all. Nothing is written unless
//! validation passes.

use crate::catalogue::TaskKind;
use crate::patterns;
use crate::text::preview;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// The Shopify Admin API version every GraphQL document of this release is written and validated for.
pub const SHOPIFY_API_VERSION: &str = "2026-07";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShopSettings {
    /// Shop code (the reference's `Code`): upper-case letters, digits, `-` and `_`, at most 20.
    pub code: String,
    #[serde(default)]
    pub enabled: bool,
    #[serde(default = "yes")]
    pub allow_background_syncs: bool,
    #[serde(default = "yes")]
    pub allow_outgoing_requests: bool,
    #[serde(default)]
    pub logging_mode: LoggingMode,

    // Products
    #[serde(default)]
    pub sync_item: SyncDirection,
    #[serde(default)]
    pub sync_item_images: SyncDirection,
    #[serde(default)]
    pub can_update_shopify_products: bool,
    #[serde(default)]
    pub shopify_can_update_items: bool,
    #[serde(default)]
    pub auto_create_unknown_items: bool,
    #[serde(default)]
    pub sku_mapping: SkuMapping,
    #[serde(default = "default_sku_separator")]
    pub sku_field_separator: String,
    #[serde(default = "yes")]
    pub sync_prices: bool,
    /// Number of the BC template item whose defaults (unit of measure, posting groups, …) items
    /// created from Shopify products take (`auto_create_unknown_items`); the reference's
    /// `Item Templ. Code`.
    #[serde(default)]
    pub item_template_no: Option<String>,
    /// What an export does, once, to the Shopify product of a BC item that became blocked.
    #[serde(default)]
    pub action_for_removed_products: RemovedProductAction,
    /// BC customer price group whose sales prices become Shopify prices; `None`: prices for all
    /// customers only.
    #[serde(default)]
    pub customer_price_group: Option<String>,
    /// Service name of a BC page published as an OData web service listing sales prices (item,
    /// variant, price group, currency, minimum quantity, dates); without it prices are the items'
    /// unit prices. Needs `bc.company_name`.
    #[serde(default)]
    pub sales_prices_page: Option<String>,
    /// Above this many changed products in one run, an export goes through one bulk operation
    /// (staged JSONL and `bulkOperationRunMutation`) instead of one call per product.
    #[serde(default = "default_product_bulk_threshold")]
    pub product_bulk_threshold: u32,

    // Customers and companies
    #[serde(default)]
    pub customer_import_from_shopify: ImportScope,
    #[serde(default)]
    pub auto_create_unknown_customers: bool,
    #[serde(default)]
    pub customer_mapping_type: CustomerMappingType,
    #[serde(default)]
    pub default_customer_no: Option<String>,
    /// Number of the BC *template customer* whose defaults (tax, currency, payment terms and method,
    /// shipment method; see [`crate::sales::CustomerDefaults`]) customers created from Shopify take,
    /// when no per-country template applies; the reference's `Customer Template Code`. `None`: BC's
    /// own defaults.
    #[serde(default)]
    pub customer_template_no: Option<String>,
    /// Per-country template customers (the reference's `Shpfy Customer Template` table): a customer
    /// whose address is in `country_code` is created from that template instead of
    /// `customer_template_no`. Each country at most once.
    #[serde(default)]
    pub customer_templates: Vec<CustomerTemplate>,
    #[serde(default)]
    pub shopify_can_update_customer: bool,
    #[serde(default)]
    pub can_update_shopify_customer: bool,
    #[serde(default)]
    pub company_import_from_shopify: ImportScope,
    /// The BC customer that B2B orders are booked to when companies are not imported
    /// (`company_import_from_shopify: none`), the reference's `Default Company No.`.
    #[serde(default)]
    pub default_company_no: Option<String>,
    /// Create a BC customer for a Shopify company that no BC customer matches (`sync-companies`
    /// with `company_import_from_shopify: all`), the reference's `Auto Create Unknown Companies`.
    #[serde(default)]
    pub auto_create_unknown_companies: bool,
    /// How `sync-companies` finds a company's BC customer, the reference's `Company Mapping Type`.
    #[serde(default)]
    pub company_mapping_type: CompanyMappingType,
    #[serde(default)]
    pub shopify_can_update_companies: bool,
    #[serde(default)]
    pub can_update_shopify_companies: bool,

    // Orders and shipping
    #[serde(default)]
    pub auto_create_orders: bool,
    #[serde(default = "yes")]
    pub create_invoices_from_orders: bool,
    #[serde(default = "yes")]
    pub send_shipping_confirmation: bool,
    /// Which currency a BC document is in: the shop's (`currency_code`) or the one the customer paid in.
    #[serde(default)]
    pub currency_handling: CurrencyHandling,
    /// The BC currency code of the shop's currency; `None`: it is the BC company's local currency.
    #[serde(default)]
    pub currency_code: Option<String>,
    /// Write the BC document number back to the Shopify order (custom attribute `BC Doc. No.`), once
    /// the document exists.
    #[serde(default = "yes")]
    pub order_attributes_to_shopify: bool,
    /// Close (`orderClose`) an order in Shopify once its BC invoice exists and it is paid and fulfilled.
    #[serde(default = "yes")]
    pub archive_processed_orders: bool,
    /// BC G/L account that shipping charges are booked to; an order with a shipping charge cannot
    /// become a document without it.
    #[serde(default)]
    pub shipping_charges_account: Option<String>,
    /// Service name of a published BC page giving each posted shipment's package tracking number and
    /// shipping agent (API v2.0 shipments have neither); without it fulfillments carry no tracking.
    #[serde(default)]
    pub shipment_tracking_page: Option<String>,
    /// Shopify pushes `orders/create` and `orders/updated` webhooks (through an EventBridge partner
    /// event source) and each burst queues one sync-orders run; the schedule stays as the
    /// reconciliation that catches a lost webhook (the reference's order-created webhook).
    #[serde(default)]
    pub order_webhooks: bool,

    // Inventory
    /// Per Shopify location: whether and how its stock is computed from BC.
    #[serde(default)]
    pub locations: Vec<LocationSettings>,
    /// Name of a BC page published as an OData web service that returns availability per item, variant
    /// and location. Without it, stock comes from `items.inventory` (a total over all locations), which
    /// can feed only one Shopify location.
    #[serde(default)]
    pub inventory_availability_page: Option<String>,

    /// Per-task schedule and serialisation category. Tasks not listed use the catalogue defaults and
    /// are disabled.
    #[serde(default)]
    pub tasks: BTreeMap<TaskKind, TaskSettings>,

    pub shopify: ShopifyConnection,
    pub bc: BcConnection,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShopifyConnection {
    /// `<store>.myshopify.com`
    pub store_domain: String,
    #[serde(default = "default_api_version")]
    pub api_version: String,
    /// Id or ARN of the AWS Secrets Manager secret holding the Admin API access token.
    pub access_token_secret_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BcConnection {
    /// Microsoft Entra tenant id or domain.
    pub tenant: String,
    pub environment: String,
    /// BC company id (GUID).
    pub company_id: String,
    /// Name of the company, needed only for OData web-service pages (they address companies by name).
    #[serde(default)]
    pub company_name: Option<String>,
    /// Id or ARN of the Secrets Manager secret holding `{"client_id": …, "client_secret": …}`.
    pub credentials_secret_id: String,
}

/// At most this many per-country customer templates (ISO 3166-1 has 249 countries).
pub const MAX_CUSTOMER_TEMPLATES: usize = 300;

/// One row of the per-country customer templates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerTemplate {
    /// ISO 3166-1 alpha-2, upper case (`DE`), as Shopify gives an address's `countryCodeV2`.
    pub country_code: String,
    /// Number of the BC template customer for buyers in that country.
    pub template_customer_no: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocationSettings {
    /// `gid://shopify/Location/<id>`
    pub shopify_location_id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub stock_calculation: StockCalculation,
    /// BC location code(s) whose availability feeds this Shopify location (the reference's
    /// `Location Filter`); several codes are summed. Empty = all locations (only with `items.inventory`).
    #[serde(default)]
    pub bc_location_codes: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StockCalculation {
    #[default]
    Disabled,
    /// BC's available quantity (the reference's "Projected Available Balance at Today").
    ProjectedAvailableBalance,
    /// Inventory minus reserved quantity (the reference's "Free Inventory").
    FreeInventory,
}

/// Webhooks of one shop within this many seconds make one run, unless the task's settings say otherwise.
pub const DEFAULT_WEBHOOK_DEBOUNCE_SECS: u32 = 60;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskSettings {
    #[serde(default)]
    pub enabled: bool,
    /// Minimum minutes between two scheduled runs; default from the catalogue.
    #[serde(default)]
    pub interval_minutes: Option<u32>,
    /// Minimum minutes between two `full` runs (inventory: re-read Shopify levels); default from the
    /// catalogue (daily for inventory).
    #[serde(default)]
    pub full_interval_minutes: Option<u32>,
    /// For a task pushed by webhooks: webhooks of the shop within this many seconds make one run
    /// (5 to 900; default [`DEFAULT_WEBHOOK_DEBOUNCE_SECS`]).
    #[serde(default)]
    pub webhook_debounce_secs: Option<u32>,
    /// Tasks of the same category never run at the same time for one shop (the reference's job queue
    /// category). Default: one category for all tasks of a shop.
    #[serde(default = "default_category")]
    pub category: String,
}

impl Default for TaskSettings {
    fn default() -> Self {
        TaskSettings {
            enabled: false,
            interval_minutes: None,
            full_interval_minutes: None,
            webhook_debounce_secs: None,
            category: default_category(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoggingMode {
    #[default]
    ErrorOnly,
    All,
    Disabled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncDirection {
    #[default]
    Disabled,
    ToShopify,
    FromShopify,
}

/// The reference's `Action for Removed Products` (and blocked items).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RemovedProductAction {
    DoNothing,
    #[default]
    StatusToArchived,
    StatusToDraft,
}

fn default_product_bulk_threshold() -> u32 {
    100
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkuMapping {
    #[default]
    None,
    ItemNo,
    VariantCode,
    ItemNoPlusVariantCode,
    VendorItemNo,
    BarCode,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportScope {
    None,
    #[default]
    WithOrderImport,
    All,
}

/// The reference's `Currency Handling`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CurrencyHandling {
    /// Amounts in the shop's currency; the document's currency is `currency_code` (local if none).
    #[default]
    ShopCurrency,
    /// Amounts in the currency the customer paid in; the document's currency is that currency's ISO
    /// code (BC must have a currency with that code), or local when it is `currency_code`'s.
    PresentmentCurrency,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CustomerMappingType {
    #[default]
    ByEmailPhone,
    ByBillToInfo,
    DefaultCustomer,
}

/// The reference's `Company Mapping Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CompanyMappingType {
    /// The main contact's e-mail, else phone, exactly (see [`crate::contact`]).
    #[default]
    ByEmailPhone,
    /// Every company is booked to `default_company_no`.
    DefaultCompany,
    /// The tax registration id of the company's first location against BC's `taxRegistrationNumber`
    /// (`VAT Registration No.`), exactly after [`crate::contact::tax_id_key`]'s normalisation.
    ByTaxId,
}

fn yes() -> bool {
    true
}
fn default_sku_separator() -> String {
    "|".to_string()
}
fn default_api_version() -> String {
    SHOPIFY_API_VERSION.to_string()
}
fn default_category() -> String {
    "default".to_string()
}

/// One problem with one field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SettingsProblem {
    pub field: String,
    pub message: String,
}

/// Every problem found in a settings document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
pub struct SettingsError {
    pub problems: Vec<SettingsProblem>,
}

impl fmt::Display for SettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid shop settings: ")?;
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                write!(f, "; ")?;
            }
            write!(f, "{}: {}", p.field, p.message)?;
        }
        Ok(())
    }
}

impl SettingsError {
    fn single(field: &str, message: impl Into<String>) -> Self {
        SettingsError {
            problems: vec![SettingsProblem {
                field: field.into(),
                message: message.into(),
            }],
        }
    }
}

impl ShopSettings {
    /// Parse a JSON settings document strictly and validate it.
    pub fn from_json(json: &str) -> Result<ShopSettings, SettingsError> {
        let settings: ShopSettings = serde_json::from_str(json).map_err(|e| {
            SettingsError::single("(document)", format!("not a valid settings document: {e}"))
        })?;
        settings.validate()?;
        Ok(settings)
    }

    /// The settings of one task, falling back to the catalogue defaults (disabled).
    pub fn task(&self, kind: TaskKind) -> TaskSettings {
        self.tasks.get(&kind).cloned().unwrap_or_default()
    }

    /// The debounce window of `kind`'s webhooks, in seconds.
    pub fn task_webhook_debounce_secs(&self, kind: TaskKind) -> u32 {
        self.task(kind)
            .webhook_debounce_secs
            .unwrap_or(DEFAULT_WEBHOOK_DEBOUNCE_SECS)
    }

    pub fn task_interval_minutes(&self, kind: TaskKind) -> u32 {
        self.task(kind)
            .interval_minutes
            .unwrap_or(kind.spec().default_interval_minutes)
    }

    pub fn task_full_interval_minutes(&self, kind: TaskKind) -> u32 {
        self.task(kind)
            .full_interval_minutes
            .unwrap_or(kind.spec().default_full_interval_minutes)
    }

    /// The template customer a new BC customer in `country` (ISO 3166-1 alpha-2, any case) is
    /// created from: the per-country one, else `customer_template_no`; `None`: BC's own defaults.
    pub fn customer_template_for(&self, country: Option<&str>) -> Option<&str> {
        let country = country.map(str::trim).filter(|c| !c.is_empty());
        country
            .and_then(|c| {
                self.customer_templates
                    .iter()
                    .find(|t| t.country_code.eq_ignore_ascii_case(c))
            })
            .map(|t| t.template_customer_no.as_str())
            .or(self.customer_template_no.as_deref())
    }

    /// Locations whose stock is synced.
    pub fn stock_locations(&self) -> impl Iterator<Item = &LocationSettings> {
        self.locations
            .iter()
            .filter(|l| l.stock_calculation != StockCalculation::Disabled)
    }

    /// Check the whole document; every problem is reported.
    pub fn validate(&self) -> Result<(), SettingsError> {
        let mut problems = Vec::new();
        let mut bad = |field: &str, message: String| {
            problems.push(SettingsProblem {
                field: field.into(),
                message,
            })
        };

        if self.code.is_empty() || self.code.len() > 20 {
            bad(
                "code",
                format!("must be 1 to 20 characters, got {}", self.code.len()),
            );
        } else if !self
            .code
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-' || c == '_')
        {
            bad(
                "code",
                format!("'{}' may hold only A-Z, 0-9, '-' and '_'", self.code),
            );
        }

        for (a, b, a_name, b_name) in [
            (
                self.can_update_shopify_products,
                self.shopify_can_update_items,
                "can_update_shopify_products",
                "shopify_can_update_items",
            ),
            (
                self.can_update_shopify_customer,
                self.shopify_can_update_customer,
                "can_update_shopify_customer",
                "shopify_can_update_customer",
            ),
            (
                self.can_update_shopify_companies,
                self.shopify_can_update_companies,
                "can_update_shopify_companies",
                "shopify_can_update_companies",
            ),
        ] {
            if a && b {
                bad(
                    a_name,
                    format!(
                        "cannot be on together with {b_name}: only one side may update the other"
                    ),
                );
            }
        }
        if self.customer_mapping_type == CustomerMappingType::DefaultCustomer
            && self
                .default_customer_no
                .as_deref()
                .is_none_or(str::is_empty)
        {
            bad(
                "default_customer_no",
                "is required when customer_mapping_type is default_customer".into(),
            );
        }
        if self.company_mapping_type == CompanyMappingType::DefaultCompany
            && self.default_company_no.as_deref().is_none_or(str::is_empty)
        {
            bad(
                "default_company_no",
                "is required when company_mapping_type is default_company".into(),
            );
        }
        if self.sku_mapping == SkuMapping::ItemNoPlusVariantCode
            && self.sku_field_separator.is_empty()
        {
            bad(
                "sku_field_separator",
                "must not be empty when sku_mapping is item_no_plus_variant_code".into(),
            );
        }

        // Connections: references to secrets, never secrets. Every value here reaches a URL or a
        // secret lookup, so each is held against a strict pattern (crate::patterns).
        let domain = &self.shopify.store_domain;
        if !patterns::is_store_domain(domain) {
            bad(
                "shopify.store_domain",
                format!(
                    "'{}' must be '<store>.myshopify.com' with <store> one lower-case DNS label (a-z, 0-9, '-')",
                    preview(domain)
                ),
            );
        }
        if self.shopify.api_version != SHOPIFY_API_VERSION {
            bad(
                "shopify.api_version",
                format!(
                    "'{}' is not supported: this release is built for {SHOPIFY_API_VERSION}",
                    preview(&self.shopify.api_version)
                ),
            );
        }
        for (field, id) in [
            (
                "shopify.access_token_secret_id",
                &self.shopify.access_token_secret_id,
            ),
            ("bc.credentials_secret_id", &self.bc.credentials_secret_id),
        ] {
            if let Err(e) = patterns::check_shop_secret_id(&self.code, id) {
                bad(field, e.to_string());
            }
        }
        if !patterns::is_bc_tenant(&self.bc.tenant) {
            bad(
                "bc.tenant",
                format!(
                    "'{}' must be the Entra tenant's GUID or domain name (e.g. contoso.onmicrosoft.com)",
                    preview(&self.bc.tenant)
                ),
            );
        }
        if !patterns::is_bc_environment(&self.bc.environment) {
            bad(
                "bc.environment",
                format!(
                    "'{}' must be a BC environment name: 1 to 30 of A-Z, a-z, 0-9, '_', '-'",
                    preview(&self.bc.environment)
                ),
            );
        }
        if !patterns::is_guid(&self.bc.company_id) {
            bad(
                "bc.company_id",
                format!(
                    "'{}' must be the BC company's id, a GUID like 5d5d2b5a-6a47-4d36-9a55-4f4c0f0e1a01",
                    preview(&self.bc.company_id)
                ),
            );
        }
        if let Some(name) = &self.bc.company_name
            && !patterns::is_bc_company_name(name)
        {
            bad(
                "bc.company_name",
                "must be 1 to 30 characters without control characters or surrounding spaces"
                    .into(),
            );
        }

        // Locations and the availability source.
        let mut seen = std::collections::BTreeSet::new();
        for (i, loc) in self.locations.iter().enumerate() {
            let field = format!("locations[{i}].shopify_location_id");
            if !patterns::is_location_gid(&loc.shopify_location_id) {
                bad(
                    &field,
                    format!(
                        "'{}' must be a location gid starting with gid://shopify/Location/ (at most 255 characters, no spaces)",
                        preview(&loc.shopify_location_id)
                    ),
                );
            }
            if !seen.insert(&loc.shopify_location_id) {
                bad(
                    &field,
                    format!("'{}' is listed twice", preview(&loc.shopify_location_id)),
                );
            }
        }
        let stocked: Vec<_> = self.stock_locations().collect();
        match &self.inventory_availability_page {
            Some(page) => {
                if !patterns::is_odata_service_name(page) {
                    bad(
                        "inventory_availability_page",
                        format!(
                            "'{}' is not a valid OData service name (1 to 64 letters, digits, '_')",
                            preview(page)
                        ),
                    );
                }
                if self.bc.company_name.as_deref().is_none_or(str::is_empty) {
                    bad("bc.company_name", "is required with inventory_availability_page: OData pages address the company by name".into());
                }
                for (i, loc) in self.locations.iter().enumerate() {
                    if loc.stock_calculation != StockCalculation::Disabled
                        && loc.bc_location_codes.is_empty()
                    {
                        bad(&format!("locations[{i}].bc_location_codes"), "must name at least one BC location when a per-location availability page is used".into());
                    }
                }
            }
            None if stocked.len() > 1 => bad(
                "locations",
                format!(
                    "{} locations have stock calculation on, but without inventory_availability_page BC API v2.0 only gives one total per item (items.inventory); name a per-location page or keep one location",
                    stocked.len()
                ),
            ),
            None => {}
        }

        // Orders: codes that reach BC request bodies and a page name that reaches a URL.
        if let Some(code) = &self.currency_code
            && !patterns::is_bc_code(code, 10)
        {
            bad(
                "currency_code",
                format!(
                    "'{}' must be a BC currency code: 1 to 10 of A-Z, 0-9, '-', '_'",
                    preview(code)
                ),
            );
        }
        if let Some(account) = &self.shipping_charges_account
            && !patterns::is_bc_code(account, 20)
        {
            bad(
                "shipping_charges_account",
                format!(
                    "'{}' must be a BC G/L account number: 1 to 20 of A-Z, 0-9, '-', '_'",
                    preview(account)
                ),
            );
        }
        if let Some(no) = &self.item_template_no
            && !patterns::is_bc_code(no, 20)
        {
            bad(
                "item_template_no",
                format!(
                    "'{}' must be a BC item number: 1 to 20 of A-Z, 0-9, '-', '_'",
                    preview(no)
                ),
            );
        }
        if let Some(no) = &self.customer_template_no
            && !patterns::is_bc_code(no, 20)
        {
            bad(
                "customer_template_no",
                format!(
                    "'{}' must be a BC customer number (the template customer): 1 to 20 of A-Z, 0-9, '-', '_'",
                    preview(no)
                ),
            );
        }
        if self.customer_templates.len() > MAX_CUSTOMER_TEMPLATES {
            bad(
                "customer_templates",
                format!(
                    "{} rows: at most {MAX_CUSTOMER_TEMPLATES} (one per country)",
                    self.customer_templates.len()
                ),
            );
        }
        let mut countries = std::collections::BTreeSet::new();
        for (i, t) in self.customer_templates.iter().enumerate() {
            let field = format!("customer_templates[{i}]");
            let c = &t.country_code;
            if c.len() != 2 || !c.bytes().all(|b| b.is_ascii_uppercase()) {
                bad(
                    &format!("{field}.country_code"),
                    format!(
                        "'{}' must be an ISO 3166-1 alpha-2 country code: 2 upper-case letters A-Z (e.g. DE)",
                        preview(c)
                    ),
                );
            } else if !countries.insert(c.as_str()) {
                bad(
                    &format!("{field}.country_code"),
                    format!("'{c}' is listed twice: each country has at most one template"),
                );
            }
            if !patterns::is_bc_code(&t.template_customer_no, 20) {
                bad(
                    &format!("{field}.template_customer_no"),
                    format!(
                        "'{}' must be a BC customer number (the template customer): 1 to 20 of A-Z, 0-9, '-', '_'",
                        preview(&t.template_customer_no)
                    ),
                );
            }
        }
        if let Some(group) = &self.customer_price_group
            && !patterns::is_bc_code(group, 10)
        {
            bad(
                "customer_price_group",
                format!(
                    "'{}' must be a BC customer price group: 1 to 10 of A-Z, 0-9, '-', '_'",
                    preview(group)
                ),
            );
        }
        if !(1..=100_000).contains(&self.product_bulk_threshold) {
            bad(
                "product_bulk_threshold",
                format!("{} is out of range 1..=100000", self.product_bulk_threshold),
            );
        }
        if let Some(page) = &self.sales_prices_page {
            if !patterns::is_odata_service_name(page) {
                bad(
                    "sales_prices_page",
                    format!(
                        "'{}' is not a valid OData service name (1 to 64 letters, digits, '_')",
                        preview(page)
                    ),
                );
            }
            if self.bc.company_name.as_deref().is_none_or(str::is_empty) {
                bad(
                    "bc.company_name",
                    "is required with sales_prices_page: OData pages address the company by name"
                        .into(),
                );
            }
        }
        if let Some(page) = &self.shipment_tracking_page {
            if !patterns::is_odata_service_name(page) {
                bad(
                    "shipment_tracking_page",
                    format!(
                        "'{}' is not a valid OData service name (1 to 64 letters, digits, '_')",
                        preview(page)
                    ),
                );
            }
            if self.bc.company_name.as_deref().is_none_or(str::is_empty) {
                bad(
                    "bc.company_name",
                    "is required with shipment_tracking_page: OData pages address the company by name"
                        .into(),
                );
            }
        }

        for (kind, task) in &self.tasks {
            // Whether a task may be enabled depends on the deployment (its function and queue),
            // which the settings cannot know: the API checks it against the task registry.
            let field = format!("tasks.{kind}");
            if let Some(m) = task.interval_minutes
                && !(1..=7 * 24 * 60).contains(&m)
            {
                bad(
                    &format!("{field}.interval_minutes"),
                    format!("{m} is out of range 1..=10080"),
                );
            }
            if let Some(m) = task.full_interval_minutes
                && !(1..=31 * 24 * 60).contains(&m)
            {
                bad(
                    &format!("{field}.full_interval_minutes"),
                    format!("{m} is out of range 1..=44640"),
                );
            }
            if let Some(secs) = task.webhook_debounce_secs
                && !(5..=900).contains(&secs)
            {
                bad(
                    &format!("{field}.webhook_debounce_secs"),
                    format!("{secs} is out of range 5..=900"),
                );
            }
            if task.category.trim().is_empty() {
                bad(&format!("{field}.category"), "must not be empty".into());
            }
        }
        if self.task(TaskKind::SyncInventory).enabled {
            if stocked.is_empty() {
                bad(
                    "locations",
                    "sync-inventory is enabled but no location has stock calculation on".into(),
                );
            }
            if self.sku_mapping == SkuMapping::None {
                bad(
                    "sku_mapping",
                    "sync-inventory needs a SKU mapping to match Shopify variants to BC items"
                        .into(),
                );
            }
            if self.sku_mapping == SkuMapping::VendorItemNo {
                bad("sku_mapping", "vendor_item_no is not exposed by BC API v2.0 items; use item_no, bar_code or a variant mapping".into());
            }
            if matches!(
                self.sku_mapping,
                SkuMapping::VariantCode | SkuMapping::ItemNoPlusVariantCode
            ) && self.inventory_availability_page.is_none()
            {
                bad(
                    "sku_mapping",
                    "variant mappings need per-variant stock: name an inventory_availability_page"
                        .into(),
                );
            }
        }

        if problems.is_empty() {
            Ok(())
        } else {
            Err(SettingsError { problems })
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub const DEMO_COMPANY_ID: &str = "5d5d2b5a-6a47-4d36-9a55-4f4c0f0e1a01";

    pub fn demo_json() -> serde_json::Value {
        serde_json::json!({
            "code": "DEMO",
            "enabled": true,
            "sku_mapping": "item_no",
            "locations": [
                {"shopify_location_id": "gid://shopify/Location/1", "stock_calculation": "projected_available_balance", "bc_location_codes": ["EAST"]},
                {"shopify_location_id": "gid://shopify/Location/2", "stock_calculation": "projected_available_balance", "bc_location_codes": ["WEST"]}
            ],
            "inventory_availability_page": "ShopsyncItemAvailability",
            "currency_code": null,
            "shipping_charges_account": "6100",
            "shipment_tracking_page": "ShopsyncShipmentTracking",
            "tasks": {"sync-inventory": {"enabled": true}},
            "shopify": {"store_domain": "demo.myshopify.com", "access_token_secret_id": "shopsync/DEMO/shopify"},
            "bc": {"tenant": "t1", "environment": "production", "company_id": DEMO_COMPANY_ID, "company_name": "CRONUS", "credentials_secret_id": "shopsync/DEMO/bc"}
        })
    }

    #[test]
    fn defaults_follow_the_reference_shop_card() {
        let s = ShopSettings::from_json(&demo_json().to_string()).unwrap();
        assert!(s.allow_background_syncs && s.allow_outgoing_requests);
        assert!(s.create_invoices_from_orders && s.send_shipping_confirmation && s.sync_prices);
        assert!(
            !s.can_update_shopify_products && !s.shopify_can_update_items && !s.auto_create_orders
        );
        assert_eq!(s.customer_import_from_shopify, ImportScope::WithOrderImport);
        assert_eq!(s.sku_field_separator, "|");
        assert_eq!(s.shopify.api_version, SHOPIFY_API_VERSION);
        assert_eq!(s.task_interval_minutes(TaskKind::SyncInventory), 15);
        assert_eq!(s.task_full_interval_minutes(TaskKind::SyncInventory), 1440);
        assert_eq!(s.task(TaskKind::SyncInventory).category, "default");
        assert!(!s.task(TaskKind::SyncOrders).enabled);
    }

    #[test]
    fn mutually_exclusive_settings_are_rejected_by_name() {
        let mut j = demo_json();
        j["can_update_shopify_products"] = true.into();
        j["shopify_can_update_items"] = true.into();
        let err = ShopSettings::from_json(&j.to_string()).unwrap_err();
        assert_eq!(err.problems.len(), 1);
        assert_eq!(err.problems[0].field, "can_update_shopify_products");
        assert!(err.to_string().contains("shopify_can_update_items"));
    }

    #[test]
    fn default_company_mapping_needs_the_default_company() {
        let mut j = demo_json();
        j["company_mapping_type"] = "default_company".into();
        let err = ShopSettings::from_json(&j.to_string()).unwrap_err();
        assert_eq!(err.problems[0].field, "default_company_no");
        j["default_company_no"] = "B2B".into();
        let s = ShopSettings::from_json(&j.to_string()).unwrap();
        assert_eq!(s.company_mapping_type, CompanyMappingType::DefaultCompany);
        assert!(!s.auto_create_unknown_companies);
        j["company_mapping_type"] = "by_tax_id".into();
        let s = ShopSettings::from_json(&j.to_string()).unwrap();
        assert_eq!(s.company_mapping_type, CompanyMappingType::ByTaxId);
        j["company_mapping_type"] = "by_vat".into();
        assert!(ShopSettings::from_json(&j.to_string()).is_err());
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let mut j = demo_json();
        j["code"] = "bad code".into();
        j["shopify"]["store_domain"] = "example.com".into();
        j["shopify"]["access_token_secret_id"] = "shpat_0123456789".into();
        j["tasks"]["sync-orders"] =
            serde_json::json!({"enabled": true, "interval_minutes": 0, "webhook_debounce_secs": 4});
        let err = ShopSettings::from_json(&j.to_string()).unwrap_err();
        let fields: Vec<_> = err.problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            vec![
                "code",
                "shopify.store_domain",
                "shopify.access_token_secret_id",
                // the code changed, so the BC secret is no longer under the shop's prefix
                "bc.credentials_secret_id",
                "tasks.sync-orders.interval_minutes",
                "tasks.sync-orders.webhook_debounce_secs"
            ]
        );
    }

    #[test]
    fn unknown_fields_and_wrong_types_are_errors() {
        let mut j = demo_json();
        j["alow_background_syncs"] = false.into();
        let err = ShopSettings::from_json(&j.to_string()).unwrap_err();
        assert!(err.to_string().contains("alow_background_syncs"), "{err}");
        let mut j = demo_json();
        j["sku_mapping"] = "by_magic".into();
        assert!(ShopSettings::from_json(&j.to_string()).is_err());
    }

    #[test]
    fn several_stock_locations_need_a_per_location_page() {
        let mut j = demo_json();
        j.as_object_mut()
            .unwrap()
            .remove("inventory_availability_page");
        let err = ShopSettings::from_json(&j.to_string()).unwrap_err();
        assert_eq!(err.problems[0].field, "locations");
        assert!(err.problems[0].message.contains("items.inventory"));
    }

    #[test]
    fn inventory_needs_a_sku_mapping_and_a_stock_location() {
        let mut j = demo_json();
        j["sku_mapping"] = "none".into();
        j["locations"] = serde_json::json!([]);
        let err = ShopSettings::from_json(&j.to_string()).unwrap_err();
        let fields: Vec<_> = err.problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, vec!["locations", "sku_mapping"]);
    }

    #[test]
    fn a_shop_may_name_only_its_own_secrets() {
        for (field, pointer) in [
            (
                "shopify.access_token_secret_id",
                "/shopify/access_token_secret_id",
            ),
            ("bc.credentials_secret_id", "/bc/credentials_secret_id"),
        ] {
            for foreign in [
                "shopsync/OTHER/shopify",
                "shopsync/DEMO2/shopify",
                "arn:aws:secretsmanager:eu-west-1:123456789012:secret:shopsync/OTHER/bc-AbCdEf",
                "prod/shopify",
            ] {
                let mut j = demo_json();
                *j.pointer_mut(pointer).unwrap() = foreign.into();
                let err = ShopSettings::from_json(&j.to_string()).unwrap_err();
                assert_eq!(err.problems.len(), 1, "{foreign}: {err}");
                assert_eq!(err.problems[0].field, field);
                assert!(
                    err.problems[0].message.contains("shopsync/DEMO/"),
                    "{}",
                    err.problems[0].message
                );
            }
        }
        let mut j = demo_json();
        j["shopify"]["access_token_secret_id"] =
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:shopsync/DEMO/shopify-AbCdEf"
                .into();
        ShopSettings::from_json(&j.to_string()).unwrap();
    }

    #[test]
    fn store_domains_that_smuggle_another_host_are_refused() {
        for evil in [
            "evil.example?.myshopify.com",
            "evil.example#.myshopify.com",
            "evil.example\\.myshopify.com",
            "169.254.169.254?.myshopify.com",
            "x@evil.example?.myshopify.com",
            "shop.evil.example/.myshopify.com",
        ] {
            let mut j = demo_json();
            j["shopify"]["store_domain"] = evil.into();
            let err = ShopSettings::from_json(&j.to_string()).unwrap_err();
            assert_eq!(err.problems[0].field, "shopify.store_domain", "{evil}");
        }
    }

    #[test]
    fn every_value_that_reaches_a_url_has_a_strict_pattern() {
        for (pointer, evil, field) in [
            ("/bc/tenant", "evil.example/x?", "bc.tenant"),
            ("/bc/tenant", "a@evil.example", "bc.tenant"),
            ("/bc/environment", "production/../../x", "bc.environment"),
            ("/bc/company_id", "c1", "bc.company_id"),
            ("/bc/company_id", "x)/../../companies(y", "bc.company_id"),
            ("/bc/company_name", "A\nB", "bc.company_name"),
            (
                "/inventory_availability_page",
                "Page?x=1",
                "inventory_availability_page",
            ),
            ("/currency_code", "eur", "currency_code"),
            (
                "/shipping_charges_account",
                "6100')/x",
                "shipping_charges_account",
            ),
            (
                "/shipment_tracking_page",
                "Page/../x",
                "shipment_tracking_page",
            ),
            ("/item_template_no", "T')/x", "item_template_no"),
            ("/customer_template_no", "T')/x", "customer_template_no"),
            (
                "/customer_price_group",
                "retail group",
                "customer_price_group",
            ),
            ("/sales_prices_page", "Prices?$top=1", "sales_prices_page"),
        ] {
            let mut j = demo_json();
            match j.pointer_mut(pointer) {
                Some(value) => *value = evil.into(),
                None => j[&pointer[1..]] = evil.into(),
            }
            let err = ShopSettings::from_json(&j.to_string()).unwrap_err();
            assert_eq!(err.problems[0].field, field, "{evil}");
        }
    }

    #[test]
    fn customer_templates_are_optional_and_resolve_per_country_first() {
        let s = ShopSettings::from_json(&demo_json().to_string()).unwrap();
        assert_eq!(s.customer_template_no, None);
        assert!(s.customer_templates.is_empty());
        assert_eq!(s.customer_template_for(Some("DE")), None);

        let mut j = demo_json();
        j["customer_template_no"] = "TPL-DEFAULT".into();
        j["customer_templates"] = serde_json::json!([
            {"country_code": "DE", "template_customer_no": "TPL-DE"},
            {"country_code": "FR", "template_customer_no": "TPL_FR"}
        ]);
        let s = ShopSettings::from_json(&j.to_string()).unwrap();
        assert_eq!(s.customer_template_for(Some("DE")), Some("TPL-DE"));
        assert_eq!(s.customer_template_for(Some(" fr ")), Some("TPL_FR"));
        assert_eq!(s.customer_template_for(Some("US")), Some("TPL-DEFAULT"));
        assert_eq!(s.customer_template_for(Some("")), Some("TPL-DEFAULT"));
        assert_eq!(s.customer_template_for(None), Some("TPL-DEFAULT"));

        j.as_object_mut().unwrap().remove("customer_template_no");
        let s = ShopSettings::from_json(&j.to_string()).unwrap();
        assert_eq!(s.customer_template_for(Some("DE")), Some("TPL-DE"));
        assert_eq!(s.customer_template_for(Some("US")), None);
    }

    #[test]
    fn customer_templates_are_validated_strictly() {
        let problems = |j: &serde_json::Value| {
            ShopSettings::from_json(&j.to_string())
                .unwrap_err()
                .problems
                .into_iter()
                .map(|p| (p.field, p.message))
                .collect::<Vec<_>>()
        };
        let mut j = demo_json();
        j["customer_template_no"] = "tpl')/x".into();
        let p = problems(&j);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].0, "customer_template_no");
        assert!(p[0].1.contains("BC customer number"), "{}", p[0].1);
        j["customer_template_no"] = "".into();
        assert_eq!(problems(&j)[0].0, "customer_template_no");
        j["customer_template_no"] = "T".repeat(21).into();
        assert_eq!(problems(&j)[0].0, "customer_template_no");

        let mut j = demo_json();
        j["customer_templates"] = serde_json::json!([
            {"country_code": "de", "template_customer_no": "TPL-DE"},
            {"country_code": "DEU", "template_customer_no": "TPL-DE"},
            {"country_code": "FR", "template_customer_no": "TPL FR"},
            {"country_code": "NL", "template_customer_no": "TPL-NL"},
            {"country_code": "NL", "template_customer_no": "TPL-NL2"}
        ]);
        let p = problems(&j);
        let fields: Vec<&str> = p.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            fields,
            vec![
                "customer_templates[0].country_code",
                "customer_templates[1].country_code",
                "customer_templates[2].template_customer_no",
                "customer_templates[4].country_code",
            ]
        );
        assert!(p[0].1.contains("ISO 3166-1 alpha-2"), "{}", p[0].1);
        assert!(p[1].1.contains("'DEU'"), "{}", p[1].1);
        assert!(p[2].1.contains("'TPL FR'"), "{}", p[2].1);
        assert!(p[3].1.contains("'NL' is listed twice"), "{}", p[3].1);

        let mut j = demo_json();
        j["customer_templates"] = serde_json::json!([{"country_code": "DE"}]);
        assert!(
            ShopSettings::from_json(&j.to_string()).is_err(),
            "the template number is required"
        );
        j["customer_templates"] = serde_json::json!([
            {"country_code": "DE", "template_customer_no": "T", "extra": 1}
        ]);
        assert!(
            ShopSettings::from_json(&j.to_string()).is_err(),
            "unknown fields are errors"
        );
        let rows: Vec<_> = (0..=MAX_CUSTOMER_TEMPLATES)
            .map(|i| {
                let c = [b'A' + (i / 26 % 26) as u8, b'A' + (i % 26) as u8];
                serde_json::json!({
                    "country_code": String::from_utf8(c.to_vec()).unwrap(),
                    "template_customer_no": "T"
                })
            })
            .collect();
        j["customer_templates"] = rows.into();
        let p = problems(&j);
        assert_eq!(p[0].0, "customer_templates");
        assert!(p[0].1.contains("at most 300"), "{}", p[0].1);
    }

    #[test]
    fn location_ids_are_opaque_gids() {
        let mut j = demo_json();
        j["locations"][0]["shopify_location_id"] = "gid://shopify/Location/1?x=y".into();
        j["locations"][1]["shopify_location_id"] = "gid://shopify/Location/abc".into();
        ShopSettings::from_json(&j.to_string()).unwrap();
    }

    #[test]
    fn echoed_values_are_short() {
        let mut j = demo_json();
        j["shopify"]["store_domain"] = "x".repeat(60_000).into();
        let err = ShopSettings::from_json(&j.to_string()).unwrap_err();
        assert!(err.to_string().len() < 500, "{}", err.to_string().len());
    }
}
