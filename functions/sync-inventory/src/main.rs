//! Lambda: BC availability to Shopify inventory levels.
fn main() {}
