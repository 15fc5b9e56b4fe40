//! The eleven recurring tasks of the reference connector, with their reference report, data category,
//! what each reads and writes, and default schedule. All eleven are listed, so that settings, the API
//! and the status board can name them and say "not available yet" instead of "unknown task"; which
//! ones this release runs is the task registry's business (`shopsync_tasks::registry`).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TaskKind {
    SyncOrders,
    CreateSalesOrders,
    SyncShipments,
    SyncProducts,
    SyncInventory,
    SyncImages,
    SyncCustomers,
    SyncCompanies,
    SyncPayments,
    SyncCatalogs,
    SyncCatalogPrices,
}

/// What kind of data a task moves; used to group tasks on the status board.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataCategory {
    Orders,
    Shipping,
    Products,
    Inventory,
    Customers,
    Companies,
    Payments,
    Catalogs,
}

/// A system a task reads from or writes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum System {
    /// The Shopify Admin API of the shop's store.
    Shopify,
    /// The shop's Business Central company.
    Bc,
    /// Shopsync's own state (staged orders, mirrors), in DynamoDB.
    Store,
}

/// Static facts about one task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskSpec {
    pub kind: TaskKind,
    /// The report id of the reference connector this task ports.
    pub reference_report: u32,
    pub category: DataCategory,
    /// What the task reads. Replaces a single "direction": several tasks read one side and write the
    /// other *and* their own side (sync-orders stages orders, creates customers in BC and may close
    /// orders in Shopify), so reads and writes are listed apart.
    pub reads: &'static [System],
    /// What the task may write; effects that write [`System::Shopify`] are subject to the shop's
    /// `allow_outgoing_requests`.
    pub writes: &'static [System],
    /// EventBridge cron expression of the default schedule (UTC).
    pub default_schedule: &'static str,
    /// Default minimum minutes between two scheduled runs for one shop.
    pub default_interval_minutes: u32,
    /// Default minimum minutes between two `full` runs (0 = the task has no full/incremental split).
    pub default_full_interval_minutes: u32,
}

use System::{Bc, Shopify, Store};

pub const CATALOGUE: [TaskSpec; 11] = [
    spec(
        TaskKind::SyncOrders,
        30104,
        DataCategory::Orders,
        &[Shopify, Bc, Store],
        &[Store, Bc, Shopify],
        "cron(0/15 * * * ? *)",
        15,
        0,
    ),
    spec(
        TaskKind::CreateSalesOrders,
        30103,
        DataCategory::Orders,
        &[Store, Bc],
        &[Bc, Store, Shopify],
        "cron(5/15 * * * ? *)",
        15,
        0,
    ),
    spec(
        TaskKind::SyncShipments,
        30109,
        DataCategory::Shipping,
        &[Bc, Store, Shopify],
        &[Shopify, Store],
        "cron(10/30 * * * ? *)",
        30,
        0,
    ),
    spec(
        TaskKind::SyncProducts,
        30108,
        DataCategory::Products,
        &[Shopify, Bc, Store],
        &[Shopify, Bc, Store],
        "cron(0 * * * ? *)",
        60,
        0,
    ),
    spec(
        TaskKind::SyncInventory,
        30102,
        DataCategory::Inventory,
        &[Bc, Shopify, Store],
        &[Shopify, Store],
        "cron(0/15 * * * ? *)",
        15,
        1440,
    ),
    spec(
        TaskKind::SyncImages,
        30107,
        DataCategory::Products,
        &[Shopify, Bc, Store],
        &[Shopify, Bc, Store],
        "cron(30 2 * * ? *)",
        1440,
        0,
    ),
    spec(
        TaskKind::SyncCustomers,
        30100,
        DataCategory::Customers,
        &[Shopify, Bc, Store],
        &[Shopify, Bc, Store],
        "cron(20 * * * ? *)",
        60,
        0,
    ),
    spec(
        TaskKind::SyncCompanies,
        30114,
        DataCategory::Companies,
        &[Shopify, Bc, Store],
        &[Shopify, Bc, Store],
        "cron(25 * * * ? *)",
        60,
        0,
    ),
    spec(
        TaskKind::SyncPayments,
        30105,
        DataCategory::Payments,
        &[Shopify, Store],
        &[Store],
        "cron(0 4 * * ? *)",
        1440,
        0,
    ),
    spec(
        TaskKind::SyncCatalogs,
        30115,
        DataCategory::Catalogs,
        &[Shopify, Store],
        &[Store],
        "cron(0 3 * * ? *)",
        1440,
        0,
    ),
    spec(
        TaskKind::SyncCatalogPrices,
        30116,
        DataCategory::Catalogs,
        &[Store, Bc, Shopify],
        &[Shopify, Store],
        "cron(30 3 * * ? *)",
        1440,
        0,
    ),
];

impl TaskSpec {
    pub fn writes_to(&self, system: System) -> bool {
        self.writes.contains(&system)
    }

    pub fn reads_from(&self, system: System) -> bool {
        self.reads.contains(&system)
    }

    /// Whether the task has nothing to do when the shop does not allow outgoing requests: its only
    /// external writes go to Shopify (its own state aside). Other tasks still run; their effects that
    /// write Shopify are refused one by one.
    pub fn idle_without_outgoing_requests(&self) -> bool {
        self.writes_to(System::Shopify) && !self.writes_to(System::Bc)
    }
}

#[allow(clippy::too_many_arguments)]
impl TaskSpec {
    /// The Shopify webhook topics that push this task: Shopify delivers them to an EventBridge partner
    /// event source, a rule sends them to the task's queue, and the worker turns each burst into one
    /// job. Empty for tasks that only run on their schedule or on request.
    pub fn pushed_by(&self) -> &'static [&'static str] {
        match self.kind {
            TaskKind::SyncOrders => &["orders/create", "orders/updated"],
            _ => &[],
        }
    }
}

const fn spec(
    kind: TaskKind,
    reference_report: u32,
    category: DataCategory,
    reads: &'static [System],
    writes: &'static [System],
    default_schedule: &'static str,
    default_interval_minutes: u32,
    default_full_interval_minutes: u32,
) -> TaskSpec {
    TaskSpec {
        kind,
        reference_report,
        category,
        reads,
        writes,
        default_schedule,
        default_interval_minutes,
        default_full_interval_minutes,
    }
}

impl TaskKind {
    pub const ALL: [TaskKind; 11] = [
        TaskKind::SyncOrders,
        TaskKind::CreateSalesOrders,
        TaskKind::SyncShipments,
        TaskKind::SyncProducts,
        TaskKind::SyncInventory,
        TaskKind::SyncImages,
        TaskKind::SyncCustomers,
        TaskKind::SyncCompanies,
        TaskKind::SyncPayments,
        TaskKind::SyncCatalogs,
        TaskKind::SyncCatalogPrices,
    ];

    pub fn spec(self) -> &'static TaskSpec {
        CATALOGUE
            .iter()
            .find(|s| s.kind == self)
            .expect("every task kind is in the catalogue")
    }

    /// The function/binary name, e.g. `sync-inventory`.
    pub fn name(self) -> &'static str {
        match self {
            TaskKind::SyncOrders => "sync-orders",
            TaskKind::CreateSalesOrders => "create-sales-orders",
            TaskKind::SyncShipments => "sync-shipments",
            TaskKind::SyncProducts => "sync-products",
            TaskKind::SyncInventory => "sync-inventory",
            TaskKind::SyncImages => "sync-images",
            TaskKind::SyncCustomers => "sync-customers",
            TaskKind::SyncCompanies => "sync-companies",
            TaskKind::SyncPayments => "sync-payments",
            TaskKind::SyncCatalogs => "sync-catalogs",
            TaskKind::SyncCatalogPrices => "sync-catalog-prices",
        }
    }
}

impl fmt::Display for TaskKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "unknown task '{}'; known tasks: sync-orders, create-sales-orders, sync-shipments, sync-products, sync-inventory, sync-images, sync-customers, sync-companies, sync-payments, sync-catalogs, sync-catalog-prices",
    crate::text::preview(.0)
)]
pub struct UnknownTask(pub String);

impl FromStr for TaskKind {
    type Err = UnknownTask;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TaskKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| UnknownTask(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_task_is_catalogued_once_with_its_reference_report() {
        let mut reports: Vec<u32> = CATALOGUE.iter().map(|s| s.reference_report).collect();
        reports.sort();
        assert_eq!(
            reports,
            vec![
                30100, 30102, 30103, 30104, 30105, 30107, 30108, 30109, 30114, 30115, 30116
            ]
        );
        for kind in TaskKind::ALL {
            assert_eq!(kind.spec().kind, kind);
            assert_eq!(kind.name().parse::<TaskKind>().unwrap(), kind);
            assert!(kind.spec().default_schedule.starts_with("cron("));
        }
    }

    #[test]
    fn only_inventory_has_a_daily_full_run() {
        let with_full: Vec<_> = CATALOGUE
            .iter()
            .filter(|s| s.default_full_interval_minutes > 0)
            .map(|s| s.kind)
            .collect();
        assert_eq!(with_full, vec![TaskKind::SyncInventory]);
        assert_eq!(
            TaskKind::SyncInventory.spec().default_full_interval_minutes,
            24 * 60
        );
    }

    #[test]
    fn unknown_task_names_are_rejected_with_the_list() {
        let err = "sync-everything".parse::<TaskKind>().unwrap_err();
        assert!(err.to_string().contains("sync-inventory"));
    }

    #[test]
    fn an_unknown_task_is_echoed_as_a_short_preview() {
        let err = "t\n"
            .repeat(30_000)
            .parse::<TaskKind>()
            .unwrap_err()
            .to_string();
        assert!(err.len() < 400, "{} bytes", err.len());
        assert!(!err.contains('\n'), "{err}");
    }

    #[test]
    fn reads_and_writes_say_where_effects_go() {
        let orders = TaskKind::CreateSalesOrders.spec();
        assert!(
            orders.writes_to(System::Bc),
            "create-sales-orders writes BC documents"
        );
        assert!(
            !orders.idle_without_outgoing_requests(),
            "allow_outgoing_requests (Shopify) must not block BC documents"
        );
        for idle in [
            TaskKind::SyncInventory,
            TaskKind::SyncShipments,
            TaskKind::SyncCatalogPrices,
        ] {
            assert!(idle.spec().idle_without_outgoing_requests(), "{idle}");
        }
        for runs in [
            TaskKind::SyncOrders,
            TaskKind::SyncPayments,
            TaskKind::SyncCatalogs,
            TaskKind::SyncProducts,
        ] {
            assert!(!runs.spec().idle_without_outgoing_requests(), "{runs}");
        }
        for t in TaskKind::ALL {
            assert!(
                !t.spec().reads.is_empty() && !t.spec().writes.is_empty(),
                "{t}"
            );
        }
    }
}
