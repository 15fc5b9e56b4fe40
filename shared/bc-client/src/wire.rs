//! The wire shapes of Business Central's (and Entra's) answers as typed structs, decoded with serde.
//!
//! Why typed instead of looking values up by JSON path: a wrong shape fails loudly at the boundary,
//! as [`BcError::Decode`] naming the type, the JSON path and what was expected there (a page without
//! `value`, a string where `inventory` should be a number), instead of a lookup quietly yielding
//! nothing; and the wide order shapes coming next (sales orders and their lines) reuse [`ODataPage`]
//! and the error bodies instead of walking JSON by hand once more.
//!
//! Here: an OData collection page ([`ODataPage`], `value` plus `@odata.nextLink`), BC's error body
//! (`{"error":{"code","message"}}`), Entra's token answer and error body, the `@odata.etag` of an
//! entity, and [`decode`], which every success answer goes through. The entity shapes of each
//! resource sit beside the code that reads them (`inventory.rs`, [`BcCompany`](crate::BcCompany)).
//! Unknown fields are ignored, so a `$select` may grow without breaking decoding.

use crate::error::BcError;
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// Longest decoding message kept (the reason may quote a value of the answer).
pub const MAX_DECODE_MESSAGE: usize = 300;

/// One page of an OData collection: the rows, and the link to the next page on all but the last.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ODataPage<T> {
    pub value: Vec<T>,
    /// Absolute, or relative to the page's URL.
    #[serde(rename = "@odata.nextLink", default)]
    pub next_link: Option<String>,
}

/// BC's error body, `{"error":{"code","message"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ODataErrorBody {
    pub error: ODataError,
}

/// `error { code message }` (either may be missing on a gateway's answer).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ODataError {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub message: Option<String>,
}

/// The `@odata.etag` of an entity (when the `ETag` header is missing).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ODataEtag {
    #[serde(rename = "@odata.etag", default)]
    pub etag: Option<String>,
}

/// Entra's answer to a client-credentials token request.
#[derive(Deserialize)]
pub(crate) struct TokenAnswer {
    pub(crate) access_token: String,
    pub(crate) expires_in: u64,
}

/// Entra's error body, `{"error","error_description"}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct EntraErrorBody {
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub error_description: Option<String>,
}

/// Decodes a success answer as `T`. A body that is not JSON, or JSON of another shape, is
/// [`BcError::Decode`] saying what was decoded (the type, e.g. `ODataPage<ItemRow>`), where (the JSON
/// path) and why, in at most [`MAX_DECODE_MESSAGE`] characters.
pub fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, BcError> {
    decode_as(&short_type_name::<T>(), body)
}

/// [`decode`] with the decoded thing named by `what`. The JSON path of a wrong value comes from
/// `serde_path_to_error`, which tracks it while decoding.
pub(crate) fn decode_as<T: DeserializeOwned>(what: &str, body: &[u8]) -> Result<T, BcError> {
    let mut json = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut json).map_err(|e| BcError::Decode {
        message: decode_message(what, &e.path().to_string(), e.inner()),
    })
}

fn decode_message(what: &str, path: &str, e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let full = e.to_string();
    if matches!(
        e.classify(),
        Category::Syntax | Category::Eof | Category::Io
    ) {
        return bounded(format!("{what}: not JSON: {full}"));
    }
    // serde_json appends " at line L column C"; the JSON path says it better.
    let reason = full
        .strip_suffix(&format!(" at line {} column {}", e.line(), e.column()))
        .unwrap_or(&full);
    bounded(match path {
        "" | "." => format!("{what}: at the top level: {reason}"),
        path => format!("{what}: at {path}: {reason}"),
    })
}

fn bounded(message: String) -> String {
    if message.chars().count() > MAX_DECODE_MESSAGE {
        let mut cut: String = message.chars().take(MAX_DECODE_MESSAGE - 1).collect();
        cut.push('…');
        cut
    } else {
        message
    }
}

/// `T`'s name without module paths: `ODataPage<ItemRow>`, not
/// `shopsync_bc::wire::ODataPage<shopsync_bc::inventory::ItemRow>`.
fn short_type_name<T: ?Sized>() -> String {
    let full = std::any::type_name::<T>();
    let mut out = String::with_capacity(full.len());
    let mut segment = String::new();
    for c in full.chars() {
        if c.is_alphanumeric() || c == '_' || c == ':' {
            segment.push(c);
        } else {
            out.push_str(segment.rsplit("::").next().unwrap_or(""));
            segment.clear();
            out.push(c);
        }
    }
    out.push_str(segment.rsplit("::").next().unwrap_or(""));
    out
}

// ---------------------------------------------------------------------------------------------
// Catalogue (`items.rs`)
// ---------------------------------------------------------------------------------------------

/// An API v2.0 `items` row as the catalogue reads it. Decimals stay raw JSON text (never `f64`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CatalogItemRow {
    #[serde(rename = "@odata.etag", default)]
    pub etag: Option<String>,
    pub id: String,
    pub number: String,
    #[serde(default)]
    pub display_name: String,
    #[serde(rename = "type", default)]
    pub item_type: String,
    #[serde(default)]
    pub blocked: bool,
    #[serde(default)]
    pub gtin: Option<String>,
    pub unit_price: Box<serde_json::value::RawValue>,
    pub unit_cost: Box<serde_json::value::RawValue>,
    #[serde(default)]
    pub price_includes_tax: bool,
    #[serde(default)]
    pub item_category_code: String,
    #[serde(default)]
    pub base_unit_of_measure_code: String,
    #[serde(default)]
    pub general_product_posting_group_code: String,
    #[serde(default)]
    pub inventory_posting_group_code: String,
    #[serde(default)]
    pub tax_group_code: String,
    pub last_modified_date_time: String,
}

/// An API v2.0 `itemVariants` row.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemVariantRow {
    pub id: String,
    pub item_id: String,
    pub item_number: String,
    pub code: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub last_modified_date_time: String,
}

/// An API v2.0 `picture` entity (`items({id})/picture`): metadata; the bytes are a stream of their own.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PictureRow {
    #[serde(rename = "@odata.etag", default)]
    pub etag: Option<String>,
    #[serde(default)]
    pub width: u32,
    #[serde(default)]
    pub height: u32,
    #[serde(default)]
    pub content_type: String,
}

/// One row of the published sales-price page (see `shopsync_domain::items`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PriceLineRow {
    pub item_no: String,
    #[serde(default)]
    pub variant_code: String,
    #[serde(default)]
    pub price_group_code: String,
    #[serde(default)]
    pub currency_code: String,
    #[serde(default)]
    pub minimum_quantity: Option<Box<serde_json::value::RawValue>>,
    pub unit_price: Box<serde_json::value::RawValue>,
    #[serde(default)]
    pub starting_date: String,
    #[serde(default)]
    pub ending_date: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Row {
        number: String,
        #[serde(default)]
        inventory: f64,
    }

    fn decode_error<T: DeserializeOwned + std::fmt::Debug>(body: &str) -> String {
        match decode::<T>(body.as_bytes()).unwrap_err() {
            BcError::Decode { message } => {
                assert!(message.chars().count() <= MAX_DECODE_MESSAGE, "{message}");
                message
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn pages_decode_with_and_without_next_link() {
        let page: ODataPage<Row> = decode(
            br#"{"@odata.context":"x","value":[{"number":"1000","inventory":5}],"@odata.nextLink":"https://bc/items?$skiptoken=1"}"#,
        )
        .unwrap();
        assert_eq!(page.value[0].inventory, 5.0);
        assert_eq!(
            page.next_link.as_deref(),
            Some("https://bc/items?$skiptoken=1")
        );
        let page: ODataPage<Row> = decode(br#"{"value":[]}"#).unwrap();
        assert_eq!(page.next_link, None);
    }

    #[test]
    fn a_page_without_value_is_a_decode_error_naming_it() {
        assert_eq!(
            decode_error::<ODataPage<Row>>(r#"{"@odata.context":"x","items":[]}"#),
            "ODataPage<Row>: at the top level: missing field `value`"
        );
        assert_eq!(
            decode_error::<ODataPage<Row>>(r#"{"value":{"number":"1"}}"#),
            "ODataPage<Row>: at value: invalid type: map, expected a sequence"
        );
        // Pretty-printed (several lines): the path is still found.
        assert_eq!(
            decode_error::<ODataPage<Row>>(
                "{\n  \"value\": [\n    {\"number\": \"1\"},\n    {\"number\": \"2\", \"inventory\": \"many\"}\n  ]\n}"
            ),
            "ODataPage<Row>: at value[1].inventory: invalid type: string \"many\", expected f64"
        );
        assert_eq!(
            decode_error::<ODataPage<Row>>(r#"{"value":[{"inventory":1}]}"#),
            "ODataPage<Row>: at value[0]: missing field `number`"
        );
        let m = decode_error::<ODataPage<Row>>("<html>504</html>");
        assert!(m.starts_with("ODataPage<Row>: not JSON: "), "{m}");
        let long = format!(r#"{{"value":[{{"number":1,"x":"{}"}}]}}"#, "y".repeat(2000));
        assert!(decode_error::<ODataPage<Row>>(&long).contains("at value[0].number"));
        let m = decode_error::<ODataPage<Row>>(&format!(
            r#"{{"value":[{{"number":"{}","inventory":"x"}}]}}"#,
            "n".repeat(2000)
        ));
        assert!(
            m.starts_with("ODataPage<Row>: at value[0].inventory: "),
            "{m}"
        );
        let m = decode_error::<ODataPage<Row>>(&format!(
            r#"{{"value":[{{"number":"2","inventory":"{}"}}]}}"#,
            "n".repeat(2000)
        ));
        assert!(m.ends_with('…') && m.chars().count() == MAX_DECODE_MESSAGE);
    }

    #[test]
    fn short_type_names() {
        assert_eq!(short_type_name::<ODataPage<Row>>(), "ODataPage<Row>");
        assert_eq!(
            short_type_name::<Vec<Option<String>>>(),
            "Vec<Option<String>>"
        );
        assert_eq!(short_type_name::<serde_json::Value>(), "Value");
    }
}
