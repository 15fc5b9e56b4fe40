//! End-to-end tests, local demo and benchmarks.
