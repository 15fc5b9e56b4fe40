//! The crate's integration tests, one module a file, linked into one test binary: a test binary
//! links every dependency, so one binary instead of one a file saves minutes of linking and
//! gigabytes of disk in CI.

mod bulk;
mod capture_shape;
mod common;
mod companies;
mod cost_and_bucket;
mod count;
mod http_and_faults;
mod inventory;
mod level_reads;
mod opaque_gids;
mod orders;
