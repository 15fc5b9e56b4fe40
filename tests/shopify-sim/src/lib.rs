//! Shopify Admin GraphQL simulator.
