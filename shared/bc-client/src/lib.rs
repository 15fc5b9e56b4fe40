//! Business Central API v2.0 client: OAuth2 client credentials against Entra ID with a shared cached
//! token, at most 5 requests in flight per client, server-driven paging, `If-Match` updates, bounded
//! retries with backoff that honour `Retry-After`, and BC error bodies parsed into [`BcError`].
//!
//! Every answer is decoded into typed structs ([`wire`]): a wrong shape is a [`BcError::Decode`] naming
//! the type and the JSON path.
//!
//! All URLs come from [`BcConfig`], so the same code runs against BC online and the `bc-sim` simulator.
//! [`BcClient`] implements the domain's [`shopsync_domain::ports::BcInventoryApi`] (`inventory.rs`) and
//! [`shopsync_domain::sales::BcSalesApi`] (`sales.rs`: customers, sales documents created with their
//! lines in one request, the exactly-once probe by external document number, posted shipments), and
//! sends OData `$batch` requests ([`BcClient::batch`]). [`shopsync_domain::items::BcItemsApi`] (`items.rs`):
//! catalogue items, variants, template items, pictures and sales prices from a published page.

mod batch;
mod client;
mod config;
pub mod customers;
mod error;
mod inventory;
pub mod items;
mod retry;
mod sales;
mod token;
pub mod urls;
pub mod wire;

pub use batch::{BatchAnswer, BatchIsolation, BatchOperation, MAX_BATCH_OPERATIONS};
pub use client::{BcClient, BcCompany, BcResponse, Patched};
pub use config::{BcConfig, DEFAULT_API_BASE_URL, DEFAULT_SCOPE, DEFAULT_TOKEN_URL_TEMPLATE};
pub use error::BcError;
pub use reqwest::Method;
