//! One page of the contacts (customers, companies) updated in a window `[since, until]`.
//!
//! The customers and companies reads were written side by side and carried the same search
//! query, the same check of its date-times and the same paging and decoding; they live here once
//! so that the quoting rule of the search term (the guard against a value that ends the quoted
//! term and adds its own) cannot drift between them. Each caller keeps its own document, `data`
//! shape and node decoding.

use crate::client::ShopifyClient;
use crate::documents::Document;
use crate::error::ShopifyError;
use crate::pagination::{PagedData, next_cursor, page_of};
use serde_json::json;
use shopsync_domain::orders::Page;

/// A date-time that goes into a search query between quotes: RFC 3339 characters only, so no
/// value can end the quoted term and add its own.
fn search_time(what: &str, value: &str) -> Result<String, ShopifyError> {
    let ok = !value.is_empty()
        && value.len() <= 40
        && value.as_bytes()[0].is_ascii_digit()
        && value
            .bytes()
            .all(|b| b.is_ascii_digit() || b"-:.+TZ".contains(&b));
    if ok {
        Ok(value.to_string())
    } else {
        Err(ShopifyError::InvalidRequest(format!(
            "{what} must be an RFC 3339 date-time, got {:?}",
            shopsync_domain::text::preview(value)
        )))
    }
}

/// The `query:` of an updated-since window: both bounds inclusive.
pub fn updated_search(since: Option<&str>, until: &str) -> Result<String, ShopifyError> {
    let until = search_time("until", until)?;
    Ok(match since {
        Some(s) => format!(
            "updated_at:>='{}' updated_at:<='{until}'",
            search_time("since", s)?
        ),
        None => format!("updated_at:<='{until}'"),
    })
}

impl ShopifyClient {
    /// One page of `document` (whose `data` is `D`) over the window `[since, until]` after
    /// `after`, each node decoded by `decode`; a null connection is [`ShopifyError::Unexpected`]
    /// ("`<connection>` missing").
    pub async fn updated_page<D: PagedData, T>(
        &self,
        document: &Document,
        since: Option<&str>,
        until: &str,
        after: Option<&str>,
        decode: impl FnMut(D::Node) -> Result<T, ShopifyError>,
    ) -> Result<Page<T>, ShopifyError> {
        let query = updated_search(since, until)?;
        let r = self
            .execute(document, json!({ "query": query, "after": after }))
            .await?;
        let data: D = r.data_as(document.name)?;
        let page = page_of(data)?
            .ok_or_else(|| ShopifyError::Unexpected(format!("{} missing", D::CONNECTION)))?;
        Ok(Page {
            next_cursor: next_cursor(&page.page_info),
            items: page
                .nodes
                .into_iter()
                .map(decode)
                .collect::<Result<_, _>>()?,
        })
    }
}
