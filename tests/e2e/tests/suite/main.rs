//! The crate's integration tests, one module a file, linked into one test binary: a test binary
//! links every dependency, so one binary instead of one a file saves minutes of linking and
//! gigabytes of disk in CI.

mod api;
mod api_answers;
mod api_orders;
mod b2b_orders;
mod catalogs;
mod companies;
mod customers;
mod images;
mod inventory;
mod openapi;
mod openapi_fuzz;
mod orders;
mod orders_bulk;
mod orders_faults;
mod payments;
mod products;
mod run_path;
mod shipments;
mod template;
mod unmapped_products;
