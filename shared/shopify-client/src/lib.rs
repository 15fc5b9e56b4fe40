//! Shopify Admin GraphQL client: paced, retrying, idempotent.
//!
//! The crate exists so that task logic never thinks about Shopify's cost budget, retries or paging:
//! it calls [`ShopifyClient`] through the domain port
//! [`ShopifyInventoryApi`](shopsync_domain::ports::ShopifyInventoryApi) and gets data or a classified
//! [`SyncError`](shopsync_domain::SyncError).
//!
//! * [`documents`] — every GraphQL document, from `graphql/*.graphql`, pinned to [`API_VERSION`].
//! * [`pacer`] — the per-store leaky-bucket model that keeps us out of THROTTLED.
//! * [`retry`] — bounded, jittered backoff and `Retry-After`.
//! * [`wire`] — the typed shapes of the answers (envelope, connections, `userErrors`, money, bulk
//!   lines) and their decoding: a wrong shape fails at the boundary, naming the JSON path.
//! * [`response`] — what the response envelope means (cost, top-level errors → [`Verdict`](response::Verdict)).
//! * [`transport`] — one paced, retried GraphQL call over HTTP.
//! * [`pagination`] / [`bulk`] — the two ways of reading big collections.
//! * [`inventory`] — the inventory port on top of all that.
//! * [`catalog`] — the catalogue port ([`ShopifyCatalogApi`](shopsync_domain::catalog::ShopifyCatalogApi)).
//! * [`orders`] — the orders, fulfillments and payments port
//!   ([`ShopifyOrdersApi`](shopsync_domain::orders::ShopifyOrdersApi)).

pub mod b2b_catalogs;
pub mod bulk;
pub mod catalog;
pub mod client;
pub mod companies;
pub mod customers;
pub mod documents;
pub mod error;
pub mod inventory;
pub mod orders;
pub mod pacer;
pub mod pagination;
pub mod response;
pub mod retry;
pub mod transport;
pub mod updated_window;
pub mod wire;

pub use client::{DEFAULT_URL_TEMPLATE, ShopifyClient, ShopifyClientConfig};
pub use documents::{API_VERSION, Document};
pub use error::ShopifyError;
pub use pacer::{Pacer, PacerRegistry};
