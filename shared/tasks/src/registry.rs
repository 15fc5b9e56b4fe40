//! The one table of tasks: which tasks this release has, and how each is built.
//!
//! The engine and the runtime name no task; this table is the only place that knows them all.
//! Adding a task is one [`Registration`] here (plus its module, its client calls and documents, a run
//! of the template generator — `cargo run -p shopsync-e2e --bin gen_template` — and a 3-line
//! `main.rs`; see the README's checklist). Whether a task is available
//! in this release is derived from this table ([`is_implemented`]), not kept beside it.

use crate::catalogs::{SyncCatalogPricesTask, SyncCatalogsTask};
use crate::companies::SyncCompaniesTask;
use crate::customers::SyncCustomersTask;
use crate::engine::{ClientSource, EnginePorts, EngineRunner, TaskRunner};
use crate::images::SyncImagesTask;
use crate::inventory::InventoryTask;
use crate::orders::SyncOrdersTask;
use crate::orders::create::CreateSalesOrdersTask;
use crate::payments::SyncPaymentsTask;
use crate::products::SyncProductsTask;
use crate::shipments::SyncShipmentsTask;
use shopsync_domain::TaskKind;
use shopsync_domain::ports::RunStoreSource;
use std::sync::Arc;

/// What the registry's constructors may hand a task: the adapters of this deployment.
#[derive(Clone)]
pub struct TaskDeps {
    pub clients: Arc<dyn ClientSource>,
    /// The stores; each run sees them through its fence.
    pub stores: Arc<dyn RunStoreSource>,
}

impl TaskDeps {
    fn engine_ports(&self) -> EnginePorts {
        EnginePorts::new(self.stores.clone())
    }

    fn runner<T: crate::engine::Task>(&self, task: T) -> Arc<dyn TaskRunner> {
        Arc::new(EngineRunner {
            task,
            ports: self.engine_ports(),
            clients: self.clients.clone(),
        })
    }
}

/// One row of the table.
pub struct Registration {
    pub kind: TaskKind,
    pub build: fn(&TaskDeps) -> Arc<dyn TaskRunner>,
}

/// One constant per task: a task function names its own, so its binary links that task's code only
/// (the table below is what the local stack and the tests look tasks up in).
pub const SYNC_INVENTORY: Registration = Registration {
    kind: TaskKind::SyncInventory,
    build: sync_inventory,
};
pub const SYNC_ORDERS: Registration = Registration {
    kind: TaskKind::SyncOrders,
    build: sync_orders,
};
pub const CREATE_SALES_ORDERS: Registration = Registration {
    kind: TaskKind::CreateSalesOrders,
    build: create_sales_orders,
};
pub const SYNC_SHIPMENTS: Registration = Registration {
    kind: TaskKind::SyncShipments,
    build: sync_shipments,
};
pub const SYNC_PAYMENTS: Registration = Registration {
    kind: TaskKind::SyncPayments,
    build: sync_payments,
};
pub const SYNC_PRODUCTS: Registration = Registration {
    kind: TaskKind::SyncProducts,
    build: sync_products,
};
pub const SYNC_IMAGES: Registration = Registration {
    kind: TaskKind::SyncImages,
    build: sync_images,
};
pub const SYNC_CUSTOMERS: Registration = Registration {
    kind: TaskKind::SyncCustomers,
    build: sync_customers,
};
pub const SYNC_COMPANIES: Registration = Registration {
    kind: TaskKind::SyncCompanies,
    build: sync_companies,
};
pub const SYNC_CATALOGS: Registration = Registration {
    kind: TaskKind::SyncCatalogs,
    build: sync_catalogs,
};
pub const SYNC_CATALOG_PRICES: Registration = Registration {
    kind: TaskKind::SyncCatalogPrices,
    build: sync_catalog_prices,
};

/// Every task of this release.
pub const REGISTRY: &[Registration] = &[
    SYNC_INVENTORY,
    SYNC_ORDERS,
    CREATE_SALES_ORDERS,
    SYNC_SHIPMENTS,
    SYNC_PAYMENTS,
    SYNC_PRODUCTS,
    SYNC_IMAGES,
    SYNC_CUSTOMERS,
    SYNC_COMPANIES,
    SYNC_CATALOGS,
    SYNC_CATALOG_PRICES,
];

fn sync_inventory(deps: &TaskDeps) -> Arc<dyn TaskRunner> {
    deps.runner(InventoryTask)
}

fn sync_orders(deps: &TaskDeps) -> Arc<dyn TaskRunner> {
    deps.runner(SyncOrdersTask)
}

fn create_sales_orders(deps: &TaskDeps) -> Arc<dyn TaskRunner> {
    deps.runner(CreateSalesOrdersTask)
}

fn sync_shipments(deps: &TaskDeps) -> Arc<dyn TaskRunner> {
    deps.runner(SyncShipmentsTask)
}

fn sync_payments(deps: &TaskDeps) -> Arc<dyn TaskRunner> {
    deps.runner(SyncPaymentsTask)
}

fn sync_products(deps: &TaskDeps) -> Arc<dyn TaskRunner> {
    deps.runner(SyncProductsTask::from_env())
}

fn sync_images(deps: &TaskDeps) -> Arc<dyn TaskRunner> {
    deps.runner(SyncImagesTask)
}

fn sync_customers(deps: &TaskDeps) -> Arc<dyn TaskRunner> {
    deps.runner(SyncCustomersTask)
}

fn sync_companies(deps: &TaskDeps) -> Arc<dyn TaskRunner> {
    deps.runner(SyncCompaniesTask)
}

fn sync_catalogs(deps: &TaskDeps) -> Arc<dyn TaskRunner> {
    deps.runner(SyncCatalogsTask)
}

fn sync_catalog_prices(deps: &TaskDeps) -> Arc<dyn TaskRunner> {
    deps.runner(SyncCatalogPricesTask)
}

/// The kinds of [`REGISTRY`], computed at compile time: asking whether a task exists this way keeps
/// the tasks' constructors (and so their code) out of a binary that only asks, like the api function.
const IMPLEMENTED: [TaskKind; REGISTRY.len()] = {
    let mut kinds = [TaskKind::SyncInventory; REGISTRY.len()];
    let mut i = 0;
    while i < REGISTRY.len() {
        kinds[i] = REGISTRY[i].kind;
        i += 1;
    }
    kinds
};

/// Whether this release has `kind`.
pub fn is_implemented(kind: TaskKind) -> bool {
    IMPLEMENTED.contains(&kind)
}

/// The runner of `kind`, or why this release has none.
pub fn runner(kind: TaskKind, deps: &TaskDeps) -> Result<Arc<dyn TaskRunner>, String> {
    REGISTRY
        .iter()
        .find(|r| r.kind == kind)
        .map(|r| (r.build)(deps))
        .ok_or_else(|| format!("{kind} is not available in this release"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_task_is_registered_once_and_the_catalogue_agrees() {
        for kind in TaskKind::ALL {
            let rows = REGISTRY.iter().filter(|r| r.kind == kind).count();
            assert!(rows <= 1, "{kind} is registered {rows} times");
            assert_eq!(is_implemented(kind), rows == 1);
        }
    }
}
