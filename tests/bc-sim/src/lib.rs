//! Business Central API simulator: a real HTTP server on 127.0.0.1 that speaks the parts of BC online's
//! API v2.0, its OData v4 web services and Entra ID's client-credentials token endpoint that Shopsync
//! uses — and enforces what makes BC hard to talk to: expiring bearer tokens, 5 concurrent requests and
//! 6,000 requests per 5 minutes per service principal (429), server-driven paging, ETags with
//! `If-Match`, and seeded faults (429, 503, 500, 504, dropped connections).
//!
//! The sales side (`sales.rs`): customers (a template customer is an ordinary one), item variants, sales
//! orders and invoices created with their lines in one deep-insert POST (all or nothing), posted sales
//! invoices and shipments made by test helpers ([`CompanyHandle::post_shipment`], …), an optional
//! shipment-tracking page, and `$batch` with `Isolation: snapshot` (`batch.rs`). Decimal values are kept
//! as the exact text the client sent. Every request is counted by route ([`BcSimStats::by_route`]), so
//! benchmarks can report BC requests per order, and faults can be scripted per route
//! ([`BcSim::add_fault_rule`]), e.g. "apply the next POST to salesOrders and drop the answer".
//!
//! The catalogue side (`items.rs`): item fields beyond the stock view (unit cost, item category,
//! posting groups), variants created under their item, item pictures as streams
//! (`items({id})/picture/pictureContent`, 412 on a stale `If-Match`), and a published sales-price page.
//!
//! Tests start it in-process with [`BcSim::start`]; `src/main.rs` runs the same server standalone. The
//! client under test reaches it only through configured URLs, exactly as it reaches BC in production.
//!
//! URL layout (same as BC online):
//! - token: `{base}/{tenant}/oauth2/v2.0/token`
//! - API v2.0: `{base}/v2.0/{tenant}/{environment}/api/v2.0/companies({id})/items`
//! - OData pages: `{base}/v2.0/{tenant}/{environment}/ODataV4/Company('{name}')/{Page}`
//! - batch: `{base}/v2.0/{tenant}/{environment}/api/v2.0/$batch`

mod api;
mod auth;
mod batch;
mod config;
mod conn;
mod faults;
mod items;
mod limits;
mod model;
mod odata;
mod respond;
mod sales;
mod text;

pub use config::{BcFaults, BcSimConfig};
pub use faults::{BcFault, BcFaultRule};
pub use items::{SimItem, SimPriceLine};
pub use limits::BcSimStats;
pub use model::CompanyHandle;
pub use sales::{SimCustomer, SimSalesDocument, SimSalesLine, SimShipment};

use auth::AuthState;
use conn::{ConnHandle, KillableListener};
use faults::FaultInjector;
use limits::Limits;
use model::Company;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Lock ignoring poisoning: a panicking test thread must not take the simulator down with it.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// State shared by all connections.
pub(crate) struct Shared {
    pub(crate) config: BcSimConfig,
    pub(crate) base_url: String,
    /// (tenant, environment), both lower-cased → companies.
    pub(crate) companies: Mutex<HashMap<(String, String), Vec<CompanyHandle>>>,
    pub(crate) auth: Mutex<AuthState>,
    pub(crate) limits: Arc<Mutex<Limits>>,
    pub(crate) faults: Mutex<FaultInjector>,
    pub(crate) stats: Mutex<BcSimStats>,
}

/// A running simulator. Dropping it stops the server; [`BcSim::shutdown`] stops it gracefully.
pub struct BcSim {
    shared: Arc<Shared>,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl BcSim {
    /// Start on an ephemeral port of 127.0.0.1.
    pub async fn start(config: BcSimConfig) -> std::io::Result<BcSim> {
        BcSim::start_on(config, 0).await
    }

    /// Start on a given port of 127.0.0.1 (0 = ephemeral).
    pub async fn start_on(config: BcSimConfig, port: u16) -> std::io::Result<BcSim> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            faults: Mutex::new(FaultInjector::new(config.faults)),
            config,
            base_url: format!("http://{addr}"),
            companies: Mutex::new(HashMap::new()),
            auth: Mutex::new(AuthState::default()),
            limits: Arc::new(Mutex::new(Limits::default())),
            stats: Mutex::new(BcSimStats::default()),
        });
        let app = axum::Router::new()
            .fallback(api::handle)
            .with_state(shared.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let server = axum::serve(
            KillableListener(listener),
            app.into_make_service_with_connect_info::<ConnHandle>(),
        )
        .with_graceful_shutdown(async move {
            let _ = stopped.await;
        });
        let task = tokio::spawn(async move {
            if let Err(e) = server.await {
                tracing::warn!(error = %e, "bc-sim server stopped with an error");
            }
        });
        tracing::debug!(%addr, "bc-sim listening");
        Ok(BcSim {
            shared,
            addr,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:PORT`; the API lives at `{base}/v2.0/{tenant}/{environment}/api/v2.0/…`.
    pub fn api_base_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// `{base}/{tenant}/oauth2/v2.0/token`.
    pub fn token_url(&self, tenant: &str) -> String {
        format!("{}/{tenant}/oauth2/v2.0/token", self.shared.base_url)
    }

    /// `{base}/{tenant}/oauth2/v2.0/token` with a literal `{tenant}` placeholder, the shape of a client's
    /// token URL template.
    pub fn token_url_template(&self) -> String {
        format!("{}/{{tenant}}/oauth2/v2.0/token", self.shared.base_url)
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Register an Entra app (service principal) allowed to get tokens for `tenant`.
    pub fn add_client(&self, tenant: &str, client_id: &str, client_secret: &str) {
        lock(&self.shared.auth).add_client(tenant, client_id, client_secret);
    }

    /// Invalidate every issued token (a revoke or secret rotation): the next API call gets 401.
    pub fn revoke_tokens(&self) {
        lock(&self.shared.auth).revoke_all();
    }

    /// Add a company (or return the existing one with that id). `id` must be a GUID.
    ///
    /// # Panics
    /// If `id` is not a GUID: that is a mistake in the test's setup, not a runtime condition.
    pub fn add_company(
        &self,
        tenant: &str,
        environment: &str,
        id: &str,
        name: &str,
    ) -> CompanyHandle {
        let id = uuid::Uuid::parse_str(id)
            .unwrap_or_else(|e| panic!("company id {id:?} is not a GUID: {e}"));
        let mut all = lock(&self.shared.companies);
        let list = all
            .entry((tenant.to_lowercase(), environment.to_lowercase()))
            .or_default();
        if let Some(existing) = list.iter().find(|c| c.lock().id == id) {
            return existing.clone();
        }
        let handle = CompanyHandle {
            company: Arc::new(Mutex::new(Company::new(id, name))),
        };
        list.push(handle.clone());
        handle
    }

    /// A company added earlier, by tenant, environment and id.
    pub fn company(&self, tenant: &str, environment: &str, id: &str) -> Option<CompanyHandle> {
        let id = uuid::Uuid::parse_str(id).ok()?;
        lock(&self.shared.companies)
            .get(&(tenant.to_lowercase(), environment.to_lowercase()))?
            .iter()
            .find(|c| c.lock().id == id)
            .cloned()
    }

    /// Replace the random fault configuration (the RNG restarts from the new seed). Scripted rules
    /// ([`BcSim::add_fault_rule`]) stay.
    pub fn set_faults(&self, f: BcFaults) {
        lock(&self.shared.faults).set_random(f);
    }

    /// Script a fault: the next requests matching the rule get it (see [`BcFaultRule`]). Rules are
    /// consulted before the random faults, in the order they were added.
    pub fn add_fault_rule(&self, rule: BcFaultRule) {
        lock(&self.shared.faults).add_rule(rule);
    }

    /// Drop every scripted fault rule.
    pub fn clear_fault_rules(&self) {
        lock(&self.shared.faults).clear_rules();
    }

    /// Scripted fault rules not used up yet.
    pub fn pending_fault_rules(&self) -> usize {
        lock(&self.shared.faults).pending_rules()
    }

    pub fn stats(&self) -> BcSimStats {
        lock(&self.shared.stats).clone()
    }

    pub fn reset_stats(&self) {
        *lock(&self.shared.stats) = BcSimStats::default();
    }

    pub fn config(&self) -> &BcSimConfig {
        &self.shared.config
    }

    /// Stop accepting, let in-flight requests finish (bounded), then stop.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(Duration::from_secs(2), &mut task)
                .await
                .is_err()
        {
            task.abort();
        }
    }
}

impl Drop for BcSim {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
