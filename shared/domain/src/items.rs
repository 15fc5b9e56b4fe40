//! Catalogue vocabulary on the Business Central side (items, item variants, pictures, templates,
//! sales prices) and the port through which the catalogue tasks reach it (in progress: see issue 10).
