//! The crate's integration tests, one module a file, linked into one test binary: a test binary
//! links every dependency, so one binary instead of one a file saves minutes of linking and
//! gigabytes of disk in CI.

mod b2b_catalogs;
mod b2b_catalogs_sim;
mod captures;
mod catalog;
mod catalog_schema;
mod common;
mod companies;
mod companies_sim;
mod customers;
mod customers_sim;
mod documents;
mod malformed;
mod orders_sim;
mod sim;
