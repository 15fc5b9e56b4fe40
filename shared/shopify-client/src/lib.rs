//! Shopify Admin GraphQL client: paced, retrying, idempotent.
