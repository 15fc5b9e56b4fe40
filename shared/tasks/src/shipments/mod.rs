//! `sync-shipments` (reference report 30109): posted BC sales shipments → Shopify fulfillments (in progress).
