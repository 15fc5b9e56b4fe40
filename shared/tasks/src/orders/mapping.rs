//! How a Shopify order maps to BC, per the shop's settings: its customer (the reference's
//! `Shpfy Order Mapping` → `ICustomer Mapping`) and its lines (`MapVariant` by `SKU Mapping`).
//!
//! Matching is exact, as in the inventory task: an e-mail or phone either names a BC customer or it
//! does not, and a SKU is an item number (and variant code) as written — no fuzzy or case-folded
//! matching, so a near-miss never lands an order on the wrong customer or item. What cannot be mapped
//! is not guessed at either: the staged order keeps a short reason, and stays unprocessed.
//!
//! Looking a customer up needs BC, so [`customer_lookup`] is where the reads happen; deciding what to
//! look up and composing the outcome are plain functions, tested without doubles.

use crate::catalogue::VariantLink;
use crate::engine::TaskRun;
use serde::{Deserialize, Serialize};
use shopsync_domain::companies::company_legacy_id;
use shopsync_domain::orders::{Address, Money, OrderLine, ShopifyOrder};
use shopsync_domain::ports::Result;
use shopsync_domain::sales::{
    BcCustomer, BcSalesApi, CustomerDefaults, CustomerType, NewCustomer, PostalAddress, limits,
    to_code,
};
use shopsync_domain::settings::{
    CompanyMappingType, CustomerMappingType, ImportScope, ShopSettings, SkuMapping,
};
use shopsync_domain::text::bounded;
use std::collections::HashMap;

/// Characters of an e-mail, phone or SKU quoted in a reason (BC's e-mail field is 80).
const QUOTE_CHARS: usize = 80;

/// One order line as staged: what it maps to, or why it does not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StagedLine {
    pub line_id: String,
    pub title: String,
    #[serde(default)]
    pub sku: Option<String>,
    /// BC item number; `None` when the line is not mapped (`error` says why).
    #[serde(default)]
    pub item_no: Option<String>,
    #[serde(default)]
    pub variant_code: Option<String>,
    /// Quantity after edits and refunds (what a document would carry).
    pub quantity: i64,
    /// Unit price before discounts, shop currency.
    pub unit_price: Money,
    /// Discount over the whole line, shop currency.
    pub discount: Money,
    #[serde(default)]
    pub error: Option<String>,
}

/// Lines of `order` that a document would carry (quantity left after edits and refunds), mapped by
/// the shop's `sku_mapping`; when the mirror lists the line's variant under the item its SKU names
/// (`links`, by variant GID: [`order_links`]), the mirror's item variant code wins — the reference
/// maps a line by its Shopify variant's item link, and a SKU may name only the item
/// (`sku_mapping: item_no` gives every variant of an exported item the item's number). Lines with
/// nothing left are not staged (the reference deletes them).
pub fn map_lines(
    settings: &ShopSettings,
    order: &ShopifyOrder,
    links: &HashMap<String, VariantLink>,
) -> Vec<StagedLine> {
    order
        .line_items
        .iter()
        .filter(|l| l.current_quantity > 0)
        .map(|l| map_line(settings, l, links))
        .collect()
}

/// The mirror's links of the variants `orders` sell, under the items their SKUs name (one batch of
/// reads for all of them).
pub async fn order_links(
    run: &TaskRun<'_>,
    orders: &[&ShopifyOrder],
) -> Result<HashMap<String, VariantLink>> {
    let mut pairs: Vec<(String, &str)> = Vec::new();
    for line in orders.iter().flat_map(|o| &o.line_items) {
        let (Some(variant), Some(sku)) = (line.variant_id.as_deref(), sku_of(line)) else {
            continue;
        };
        if let Ok((item_no, _)) = item_of(run.settings, line, Some(&sku)) {
            pairs.push((to_code(&item_no), variant));
        }
    }
    if pairs.is_empty() {
        return Ok(HashMap::new());
    }
    let pairs: Vec<(&str, &str)> = pairs.iter().map(|(i, v)| (i.as_str(), *v)).collect();
    crate::catalogue::links_of(&*run.stores.records, run.shop(), &pairs).await
}

/// A line's SKU, trimmed; `None` when blank.
fn sku_of(line: &OrderLine) -> Option<String> {
    line.sku
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn map_line(
    settings: &ShopSettings,
    line: &OrderLine,
    links: &HashMap<String, VariantLink>,
) -> StagedLine {
    let sku = sku_of(line);
    let mut staged = StagedLine {
        line_id: line.id.clone(),
        title: bounded(&line.title, limits::DESCRIPTION),
        sku: sku.clone(),
        item_no: None,
        variant_code: None,
        quantity: line.current_quantity,
        unit_price: line.unit_price.clone(),
        discount: line.discount.clone(),
        error: None,
    };
    let linked = line.variant_id.as_ref().and_then(|v| links.get(v));
    let mapped = item_of(settings, line, sku.as_deref()).map(|(item_no, code)| match linked {
        Some(link) if to_code(&link.item_no) == to_code(&item_no) => {
            (item_no, link.variant_code.clone())
        }
        _ => (item_no, code),
    });
    match mapped {
        Ok((item_no, variant_code)) => {
            staged.item_no = Some(item_no);
            staged.variant_code = variant_code;
        }
        Err(reason) => staged.error = Some(reason),
    }
    staged
}

/// The BC item number (and variant code) a line's SKU names, or why there is none.
fn item_of(
    settings: &ShopSettings,
    line: &OrderLine,
    sku: Option<&str>,
) -> std::result::Result<(String, Option<String>), String> {
    let title = bounded(&line.title, 40);
    if line.gift_card {
        return Err(format!(
            "line '{title}' sells a gift card, which needs a G/L account: not supported yet"
        ));
    }
    let unsupported = |what: &str| {
        Err(format!(
            "sku_mapping {what} is not supported for orders yet"
        ))
    };
    match settings.sku_mapping {
        SkuMapping::ItemNo | SkuMapping::ItemNoPlusVariantCode => {}
        SkuMapping::BarCode => return unsupported("bar_code"),
        SkuMapping::VariantCode => return unsupported("variant_code"),
        SkuMapping::VendorItemNo => return unsupported("vendor_item_no"),
        SkuMapping::None => {
            return Err("the shop has no sku_mapping: order lines cannot be mapped".into());
        }
    }
    let Some(sku) = sku else {
        return Err(format!("line '{title}' has no SKU"));
    };
    let (item_no, variant_code) = match settings.sku_mapping {
        SkuMapping::ItemNoPlusVariantCode => match sku.split_once(&settings.sku_field_separator) {
            Some((no, code)) => (no.trim(), Some(code.trim()).filter(|c| !c.is_empty())),
            None => (sku, None),
        },
        _ => (sku, None),
    };
    let quoted = bounded(sku, QUOTE_CHARS);
    if item_no.is_empty() {
        return Err(format!("SKU '{quoted}' names no item number"));
    }
    if item_no.chars().count() > limits::NUMBER {
        return Err(format!(
            "SKU '{quoted}' is longer than a BC item number ({} characters)",
            limits::NUMBER
        ));
    }
    if let Some(code) = variant_code
        && code.chars().count() > limits::VARIANT_CODE
    {
        return Err(format!(
            "SKU '{quoted}' has a variant code longer than BC's {} characters",
            limits::VARIANT_CODE
        ));
    }
    Ok((item_no.to_string(), variant_code.map(str::to_string)))
}

/// Who an order's customer is to be, before BC is asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustomerPlan {
    /// The shop's default customer (import off, default mapping, or an order without a customer).
    Default(String),
    /// Look the buyer up in BC by e-mail, then phone.
    Lookup(Contact),
    /// A B2B order: the BC customer its purchasing company is linked to by sync-companies.
    Company { legacy_id: u64, id: String },
    /// Not mappable, with the reason.
    Unmappable(String),
}

/// How the buyer of an order can be found (or created) in BC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
}

impl Contact {
    /// What people and cache keys call this buyer: the e-mail, else the phone.
    pub fn key(&self) -> String {
        match (&self.email, &self.phone) {
            (Some(e), _) => format!("email:{e}"),
            (None, Some(p)) => format!("phone:{p}"),
            (None, None) => String::new(),
        }
    }

    pub fn describe(&self) -> String {
        bounded(
            self.email
                .as_deref()
                .or(self.phone.as_deref())
                .unwrap_or(""),
            QUOTE_CHARS,
        )
    }
}

/// Decide how `order`'s customer is mapped, from the settings and the order alone. A B2B order (one
/// with a purchasing company) goes to `default_company_no` when companies are not imported or are
/// mapped to the default company, and otherwise to the BC customer its company is linked to (see
/// [`crate::companies::customer_of_company`]); any other order is matched by its buyer.
pub fn plan_customer(settings: &ShopSettings, order: &ShopifyOrder) -> CustomerPlan {
    if let Some(company) = &order.company {
        if settings.company_import_from_shopify == ImportScope::None
            || settings.company_mapping_type == CompanyMappingType::DefaultCompany
        {
            return match settings.default_company_no.as_deref().map(str::trim) {
                Some(no) if !no.is_empty() => CustomerPlan::Default(no.to_string()),
                _ => CustomerPlan::Unmappable(
                    "a B2B order needs the shop's default company customer, and default_company_no is not set"
                        .into(),
                ),
            };
        }
        return match company_legacy_id(&company.company_id) {
            Some(legacy_id) => CustomerPlan::Company {
                legacy_id,
                id: company.company_id.clone(),
            },
            None => CustomerPlan::Unmappable(format!(
                "the order's purchasing company id {} is not a Shopify company id",
                shopsync_domain::text::preview(&company.company_id)
            )),
        };
    }
    let default = || match settings.default_customer_no.as_deref().map(str::trim) {
        Some(no) if !no.is_empty() => CustomerPlan::Default(no.to_string()),
        _ => CustomerPlan::Unmappable(
            "the order needs the shop's default customer, and default_customer_no is not set"
                .into(),
        ),
    };
    if settings.customer_import_from_shopify == ImportScope::None
        || settings.customer_mapping_type == CustomerMappingType::DefaultCustomer
    {
        return default();
    }
    let Some(customer) = &order.customer else {
        return default();
    };
    if settings.customer_mapping_type == CustomerMappingType::ByBillToInfo {
        return CustomerPlan::Unmappable(
            "customer_mapping_type by_bill_to_info is not supported for orders yet".into(),
        );
    }
    let clean = |v: Option<&String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let contact = Contact {
        email: clean(customer.email.as_ref()).or_else(|| clean(order.email.as_ref())),
        phone: clean(customer.phone.as_ref()).or_else(|| clean(order.phone.as_ref())),
    };
    if contact.email.is_none() && contact.phone.is_none() {
        return CustomerPlan::Unmappable(
            "the order's customer has neither e-mail nor phone: no BC customer can be matched"
                .into(),
        );
    }
    CustomerPlan::Lookup(contact)
}

/// What looking a buyer up in BC found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    Found(String),
    /// Only blocked customers match: not used, and not duplicated by a new one either.
    Blocked(String),
    NotFound,
}

/// The customer a list of matches names: the first not blocked (BC gives them by number).
pub fn pick(matches: &[BcCustomer]) -> Lookup {
    match matches.iter().find(|c| !c.blocked) {
        Some(c) => Lookup::Found(c.number.clone()),
        None => match matches.first() {
            Some(c) => Lookup::Blocked(c.number.clone()),
            None => Lookup::NotFound,
        },
    }
}

/// The reason an order has no BC customer when the only match is blocked.
pub fn blocked_reason(number: &str, contact: &Contact) -> String {
    format!(
        "BC customer {} matching {} is blocked",
        shopsync_domain::text::preview(number),
        contact.describe()
    )
}

/// The reason an order has no BC customer when none matches.
pub fn not_found_reason(contact: &Contact) -> String {
    bounded(&format!("no BC customer for {}", contact.describe()), 200)
}

/// Find the buyer in BC: exactly by e-mail, then exactly by phone.
pub async fn customer_lookup(bc: &dyn BcSalesApi, contact: &Contact) -> Result<Lookup> {
    let mut blocked = None;
    if let Some(email) = &contact.email {
        match pick(&bc.find_customer_by_email(email).await?) {
            Lookup::Found(no) => return Ok(Lookup::Found(no)),
            Lookup::Blocked(no) => blocked = Some(no),
            Lookup::NotFound => {}
        }
    }
    if let Some(phone) = &contact.phone {
        match pick(&bc.find_customer_by_phone(phone).await?) {
            Lookup::Found(no) => return Ok(Lookup::Found(no)),
            Lookup::Blocked(no) => blocked = blocked.or(Some(no)),
            Lookup::NotFound => {}
        }
    }
    Ok(blocked.map_or(Lookup::NotFound, Lookup::Blocked))
}

/// The customer to create in BC for `order`'s buyer, from its template's `defaults` (see
/// [`crate::customer_templates`]); `Err` with the reason when BC would refuse it.
pub fn new_customer(
    order: &ShopifyOrder,
    contact: &Contact,
    defaults: &CustomerDefaults,
) -> std::result::Result<NewCustomer, String> {
    let customer = order.customer.as_ref();
    let name = [
        customer.and_then(|c| c.first_name.as_deref()),
        customer.and_then(|c| c.last_name.as_deref()),
    ]
    .into_iter()
    .flatten()
    .map(str::trim)
    .filter(|s| !s.is_empty())
    .collect::<Vec<_>>()
    .join(" ");
    let display_name = if name.is_empty() {
        contact.describe()
    } else {
        name
    };
    let address = order
        .billing_address
        .as_ref()
        .or(order.shipping_address.as_ref())
        .map(postal)
        .unwrap_or_default();
    let new = NewCustomer::from_template(
        defaults,
        &display_name,
        CustomerType::Person,
        contact.email.as_deref(),
        contact.phone.as_deref(),
        &address,
    );
    new.validate().map_err(|problems| {
        let fields: Vec<String> = problems
            .iter()
            .map(|p| format!("{} {}", p.field, p.message))
            .collect();
        bounded(
            &format!(
                "a BC customer for {} cannot be created: {}",
                contact.describe(),
                fields.join("; ")
            ),
            300,
        )
    })?;
    Ok(new)
}

fn postal(a: &Address) -> PostalAddress {
    let s = |v: &Option<String>| v.as_deref().unwrap_or("").to_string();
    PostalAddress {
        line1: s(&a.address1),
        line2: s(&a.address2),
        city: s(&a.city),
        state: s(&a.province_code),
        country: s(&a.country_code),
        postal_code: s(&a.zip),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::orders::tests::{order, settings};

    #[test]
    fn lines_map_by_item_number_and_variant_code() {
        let mut s = settings();
        s.sku_mapping = SkuMapping::ItemNoPlusVariantCode;
        let mut o = order(1, "2026-05-01T00:00:00Z");
        o.line_items[0].sku = Some(" 1000|RED ".into());
        o.line_items[1].sku = Some("2000".into());
        let lines = map_lines(&s, &o, &HashMap::new());
        assert_eq!(lines[0].item_no.as_deref(), Some("1000"));
        assert_eq!(lines[0].variant_code.as_deref(), Some("RED"));
        assert_eq!(
            (
                lines[1].item_no.as_deref(),
                lines[1].variant_code.as_deref()
            ),
            (Some("2000"), None)
        );

        s.sku_mapping = SkuMapping::BarCode;
        let lines = map_lines(&s, &o, &HashMap::new());
        assert!(lines[0].error.as_deref().unwrap().contains("not supported"));

        s.sku_mapping = SkuMapping::ItemNo;
        o.line_items[0].sku = None;
        o.line_items[1].current_quantity = 0;
        let lines = map_lines(&s, &o, &HashMap::new());
        assert_eq!(lines.len(), 1, "a line with nothing left is not staged");
        assert!(lines[0].error.as_deref().unwrap().contains("has no SKU"));
    }

    #[tokio::test]
    async fn the_mirror_names_the_variant_code_of_the_item_a_sku_names() {
        // sync-products exported item 1000's RED and BLUE variants with the item number as every
        // SKU (`sku_mapping: item_no`): the mirror, not the SKU, names the variant code. A line
        // whose SKU names another item than the mirror's link keeps what its SKU says.
        let store = shopsync_test_support::MemoryStore::default();
        let mut o = order(1, "2026-05-01T00:00:00Z");
        let red = o.line_items[0].variant_id.clone().unwrap();
        let other = o.line_items[1].variant_id.clone().unwrap();
        let mut chair = crate::catalogue::MirroredProduct::new("1000");
        chair.product_id = Some("gid://shopify/Product/10".into());
        chair.variants = vec![crate::catalogue::MirroredVariant {
            variant_code: Some("RED".into()),
            variant_id: red.clone(),
            ..Default::default()
        }];
        assert!(
            crate::catalogue::save(&store, "S", &chair, 0)
                .await
                .unwrap()
        );
        let pairs = [
            ("1000", red.as_str()),
            ("1000", other.as_str()),
            ("2000", "gid://shopify/ProductVariant/77"),
        ];
        let links = crate::catalogue::links_of(&store, "S", &pairs)
            .await
            .unwrap();
        assert_eq!(
            links.len(),
            1,
            "only the variant the mirror lists under the item"
        );
        o.line_items[0].sku = Some("1000".into());
        o.line_items[1].sku = Some("2000".into());
        let lines = map_lines(&settings(), &o, &links);
        let mapped: Vec<_> = lines
            .iter()
            .map(|l| (l.item_no.as_deref(), l.variant_code.as_deref()))
            .collect();
        assert_eq!(mapped, [(Some("1000"), Some("RED")), (Some("2000"), None)]);
        // The SKU names item 3000 now: the link of item 1000 does not apply.
        o.line_items[0].sku = Some("3000".into());
        let lines = map_lines(&settings(), &o, &links);
        assert_eq!(
            (
                lines[0].item_no.as_deref(),
                lines[0].variant_code.as_deref()
            ),
            (Some("3000"), None)
        );
        // A linked gift card is still not a line BC can take.
        o.line_items[0].sku = Some("1000".into());
        o.line_items[0].gift_card = true;
        let lines = map_lines(&settings(), &o, &links);
        assert!(lines[0].error.as_deref().unwrap().contains("gift card"));
    }

    #[test]
    fn the_default_customer_serves_when_import_is_off_or_the_order_has_no_customer() {
        let mut s = settings();
        s.default_customer_no = Some("GUEST".into());
        let mut o = order(1, "2026-05-01T00:00:00Z");
        assert!(matches!(plan_customer(&s, &o), CustomerPlan::Lookup(_)));
        o.customer = None;
        assert_eq!(plan_customer(&s, &o), CustomerPlan::Default("GUEST".into()));
        let o = order(1, "2026-05-01T00:00:00Z");
        s.customer_import_from_shopify = ImportScope::None;
        assert_eq!(plan_customer(&s, &o), CustomerPlan::Default("GUEST".into()));
        s.default_customer_no = None;
        assert!(matches!(
            plan_customer(&s, &o),
            CustomerPlan::Unmappable(r) if r.contains("default_customer_no")
        ));
    }

    #[test]
    fn a_b2b_order_goes_to_its_company_or_to_the_default_company_when_companies_are_not_imported() {
        use shopsync_domain::orders::PurchasingCompany;
        let mut s = settings();
        let mut o = order(1, "2026-05-01T00:00:00Z");
        o.company = Some(PurchasingCompany {
            company_id: "gid://shopify/Company/1".into(),
            location_id: "gid://shopify/CompanyLocation/1".into(),
        });
        assert_eq!(
            plan_customer(&s, &o),
            CustomerPlan::Company {
                legacy_id: 1,
                id: "gid://shopify/Company/1".into()
            }
        );
        s.company_mapping_type = CompanyMappingType::DefaultCompany;
        assert!(matches!(
            plan_customer(&s, &o),
            CustomerPlan::Unmappable(r) if r.contains("default_company_no")
        ));
        s.company_mapping_type = CompanyMappingType::ByEmailPhone;
        s.company_import_from_shopify = ImportScope::None;
        assert!(matches!(
            plan_customer(&s, &o),
            CustomerPlan::Unmappable(r) if r.contains("default_company_no")
        ));
        s.default_company_no = Some("B2B-DEFAULT".into());
        assert_eq!(
            plan_customer(&s, &o),
            CustomerPlan::Default("B2B-DEFAULT".into())
        );
    }

    #[test]
    fn the_first_unblocked_match_wins_and_a_blocked_one_is_not_duplicated() {
        let c = |no: &str, blocked: bool| BcCustomer {
            id: format!("id-{no}"),
            number: no.into(),
            display_name: no.into(),
            customer_type: CustomerType::Person,
            email: String::new(),
            phone_number: String::new(),
            tax_registration_number: String::new(),
            address: PostalAddress::default(),
            currency_code: String::new(),
            blocked,
            last_modified: String::new(),
        };
        assert_eq!(
            pick(&[c("C1", true), c("C2", false)]),
            Lookup::Found("C2".into())
        );
        assert_eq!(pick(&[c("C1", true)]), Lookup::Blocked("C1".into()));
        assert_eq!(pick(&[]), Lookup::NotFound);
    }
}
