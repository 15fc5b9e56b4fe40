//! Catalogue vocabulary on the Shopify side (products, variants, media, bulk mutations) and the port
//! through which the catalogue tasks reach it (in progress: see issue 10).
