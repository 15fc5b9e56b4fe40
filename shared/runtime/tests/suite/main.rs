//! The crate's integration tests, one module a file, linked into one test binary: a test binary
//! links every dependency, so one binary instead of one a file saves minutes of linking and
//! gigabytes of disk in CI.

mod pushed;
mod status_fn;
