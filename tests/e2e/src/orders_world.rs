//! Orders on the local stack, for the orders benchmark and the demo: a seeded shop set up for the order
//! tasks (buyers BC knows by e-mail, a G/L account for shipping charges, the order settings), a
//! deterministic mix of orders whose lines use the shop's SKUs, and Shopify's `orders/create` webhook
//! as EventBridge delivers it to the sync-orders queue.

use crate::{DemoShop, ORDERS_QUEUE, Stack};
use bc_sim::{CompanyHandle, SimCustomer, SimSalesDocument};
use shopify_sim::{CustomerSeed, LineSeed, OrderSeed, SeededOrder};
use shopsync_domain::TaskKind;
use shopsync_domain::ports::SettingsStore;
use shopsync_domain::settings::{ShopSettings, TaskSettings};
use std::collections::HashMap;

/// The G/L account shipping charges are booked to in the seeded BC companies.
pub const SHIPPING_ACCOUNT: &str = "6130";
/// The BC page published with each posted shipment's tracking (`shipment_tracking_page`).
pub const TRACKING_PAGE: &str = "ShopsyncShipmentTracking";

/// How a shop takes part in the order tasks.
#[derive(Debug, Clone)]
pub struct OrderTasks {
    /// Buyers that are BC customers already (matched by e-mail).
    pub buyers: usize,
    /// sync-orders creates the BC documents of new mapped orders itself.
    pub auto_create_orders: bool,
    /// Shopify's order webhooks reach the sync-orders queue (`order_webhooks`).
    pub webhooks: bool,
    /// `tasks.sync-orders.webhook_debounce_secs` (`None`: the default).
    pub debounce_secs: Option<u32>,
    /// create-sales-orders is enabled too.
    pub create_sales_orders: bool,
    /// sync-shipments is enabled too, with BC's tracking page published.
    pub sync_shipments: bool,
}

/// A seeded shop set up for orders.
pub struct OrdersShop {
    /// Shopify store domain.
    pub domain: String,
    /// SKU (and BC item number) prefix of the seeded catalogue.
    pub prefix: String,
    pub company: CompanyHandle,
    pub settings: ShopSettings,
    /// (e-mail, BC customer number) of each buyer.
    pub buyers: Vec<(String, String)>,
    /// How many of the seeded catalogue's SKUs order lines use.
    pub skus: usize,
}

/// Set up `shop` (seeded with `variants` variants) for orders: BC customers for `opts.buyers` buyers,
/// the shipping G/L account, and the settings (validated as the API would).
pub async fn set_up_orders(
    stack: &Stack,
    shop: &DemoShop,
    variants: usize,
    opts: &OrderTasks,
) -> Result<OrdersShop, String> {
    if variants < 10 || opts.buyers == 0 {
        return Err("orders need at least 10 SKUs and one buyer".into());
    }
    shop.company.add_gl_account(SHIPPING_ACCOUNT);
    let buyers = (0..opts.buyers)
        .map(|k| {
            let email = buyer_email(k);
            let number =
                shop.company
                    .add_customer(SimCustomer::new("", &format!("Buyer {k}"), &email));
            (email, number)
        })
        .collect();
    let mut settings = shop.settings.clone();
    settings.auto_create_orders = opts.auto_create_orders;
    settings.order_webhooks = opts.webhooks;
    settings.shipping_charges_account = Some(SHIPPING_ACCOUNT.into());
    settings.tasks.insert(
        TaskKind::SyncOrders,
        TaskSettings {
            enabled: true,
            webhook_debounce_secs: opts.debounce_secs,
            ..TaskSettings::default()
        },
    );
    for (on, task) in [
        (opts.create_sales_orders, TaskKind::CreateSalesOrders),
        (opts.sync_shipments, TaskKind::SyncShipments),
    ] {
        if on {
            settings.tasks.insert(
                task,
                TaskSettings {
                    enabled: true,
                    ..TaskSettings::default()
                },
            );
        }
    }
    if opts.sync_shipments {
        shop.company.publish_tracking_page(TRACKING_PAGE);
        settings.shipment_tracking_page = Some(TRACKING_PAGE.into());
    }
    // Through the JSON door, so the settings are checked as the API checks them.
    let json = serde_json::to_string(&settings).map_err(|e| e.to_string())?;
    let settings = ShopSettings::from_json(&json).map_err(|e| e.to_string())?;
    stack
        .adapters
        .store
        .put_shop(&settings)
        .await
        .map_err(|e| e.to_string())?;
    Ok(OrdersShop {
        domain: shop.domain.clone(),
        prefix: shop.prefix.clone(),
        company: shop.company.clone(),
        settings,
        buyers,
        skus: variants,
    })
}

fn buyer_email(k: usize) -> String {
    format!("buyer{k:04}@example.com")
}

impl OrdersShop {
    /// Lines of the `i`th order of the deterministic mix: 1 to 10, each count equally often.
    pub fn lines_of(i: usize) -> usize {
        1 + (i * 37 + 11) % 10
    }

    /// The `i`th order of the deterministic mix, created and updated at `at` (RFC 3339): 1–10 lines of
    /// distinct SKUs of the shop, quantities 1–3, one shipping line, bought by one of the buyers.
    pub fn order_seed(&self, i: usize, at: &str) -> OrderSeed {
        let lines = (0..Self::lines_of(i))
            .map(|l| {
                let item = (i * 31 + l * 17) % self.skus;
                let price = format!("{}.{:02}", 5 + (i + 3 * l) % 40, (i * 7 + l) % 100);
                LineSeed::new(
                    &format!("{}{item:06}", self.prefix),
                    1 + ((i + l) % 3) as i64,
                    &price,
                )
            })
            .collect();
        let k = (i * 7919) % self.buyers.len();
        let email = self.buyers[k].0.clone();
        OrderSeed {
            email: Some(email.clone()),
            customer: Some(CustomerSeed {
                first_name: Some("Buyer".into()),
                last_name: Some(format!("{k:04}")),
                email: Some(email),
                phone: None,
            }),
            lines,
            ..OrderSeed::with_lines(0)
        }
        .created_at(at)
        .updated_at(at)
    }
}

/// Shopify's `orders/create` webhook for `order` as an EventBridge partner event source delivers it
/// (the delivery headers in `detail.metadata`); `delivery` makes the webhook id.
pub fn orders_create_event(domain: &str, order: &SeededOrder, delivery: u64) -> String {
    serde_json::json!({
        "version": "0", "id": uuid::Uuid::new_v4().to_string(), "detail-type": "shopifyWebhook",
        "source": "aws.partner/shopify.com/347082227713/shopsync",
        "account": "123456789012", "time": shopify_sim::format_time(shopsync_domain::time::now_secs()),
        "region": "us-east-1", "resources": [],
        "detail": {
            "payload": {"admin_graphql_api_id": order.id, "name": order.name},
            "metadata": {
                "Content-Type": "application/json", "X-Shopify-Topic": "orders/create",
                "X-Shopify-Shop-Domain": domain, "X-Shopify-API-Version": "2026-07",
                "X-Shopify-Webhook-Id": format!("wh-{delivery}")
            }
        }
    })
    .to_string()
}

/// The sync-orders queue of the stack.
pub fn orders_queue_url(stack: &Stack) -> Result<String, String> {
    stack
        .resources
        .aws_config(ORDERS_QUEUE)
        .map(|c| c.task_queue_url)
        .ok_or_else(|| format!("the template has no {ORDERS_QUEUE}"))
}

/// Send one event to the sync-orders queue, as the template's EventBridge rule does.
pub async fn push_event(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    body: &str,
) -> Result<(), String> {
    sqs.send_message()
        .queue_url(queue_url)
        .message_body(body)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| {
            format!(
                "send webhook: {}",
                aws_sdk_sqs::error::DisplayErrorContext(e)
            )
        })
}

/// Every BC sales document of the company (orders and invoices, posted or not) by external document
/// number.
pub fn documents_by_external_number(
    company: &CompanyHandle,
) -> HashMap<String, Vec<SimSalesDocument>> {
    let mut by_number: HashMap<String, Vec<SimSalesDocument>> = HashMap::new();
    for d in company
        .sales_orders()
        .into_iter()
        .chain(company.sales_invoices())
    {
        by_number
            .entry(d.external_document_number.clone())
            .or_default()
            .push(d);
    }
    by_number
}

/// BC documents beyond the first with the same external document number.
pub fn duplicate_documents(company: &CompanyHandle) -> usize {
    documents_by_external_number(company)
        .values()
        .map(|docs| docs.len().saturating_sub(1))
        .sum()
}

/// The external document number BC keeps for a Shopify order name (a `Code` field: upper case).
pub fn external_number(order_name: &str) -> String {
    order_name.to_uppercase()
}
