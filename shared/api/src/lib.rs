//! The HTTPS API (DESIGN §7). Work in progress.
