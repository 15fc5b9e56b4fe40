//! The sync tasks, written against the domain ports only.
