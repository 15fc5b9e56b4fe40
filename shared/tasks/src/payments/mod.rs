//! `sync-payments` (reference report 30105): Shopify Payments payouts and balance transactions → stored records (in progress).
