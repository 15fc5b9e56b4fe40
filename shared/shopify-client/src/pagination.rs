//! Cursor pagination over a connection (`first`/`after`, `pageInfo { hasNextPage endCursor }`).
//!
//! Kept generic so every paged document is read the same way, with the two guards a hand-written
//! loop tends to forget: a page claiming more without a cursor, and a cursor that does not move.

use crate::client::ShopifyClient;
use crate::documents::Document;
use crate::error::ShopifyError;
use crate::response::{PageInfo, at, connection_nodes};
use serde_json::Value;

/// One page of a connection, already picked out of `data`.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub nodes: Vec<Value>,
    pub page_info: PageInfo,
}

/// Picks the connection at `path` out of `data`. `Ok(None)` when an object on the way is null (for
/// example `location(id:)` of an unknown id).
pub fn page_at(data: &Value, path: &[&str]) -> Result<Option<Page>, ShopifyError> {
    let Some(connection) = at(data, path) else {
        return Ok(None);
    };
    let page_info = PageInfo::of_connection(connection).ok_or_else(|| {
        ShopifyError::Unexpected(format!("connection {} has no pageInfo", path.join(".")))
    })?;
    let nodes = connection_nodes(connection).into_iter().cloned().collect();
    Ok(Some(Page { nodes, page_info }))
}

impl ShopifyClient {
    /// Reads every page of the connection at `path` (inside `data`) of `document`, passing
    /// `variables` plus `after`, and maps each node with `map` (returning `None` skips a node).
    /// A null object on the path yields [`ShopifyError::NotFound`].
    pub async fn paginate<T>(
        &self,
        document: &Document,
        variables: Value,
        path: &[&str],
        map: impl FnMut(&Value) -> Option<T>,
    ) -> Result<Vec<T>, ShopifyError> {
        let (items, _) = self
            .paginate_up_to(document, variables, path, usize::MAX, map)
            .await?;
        Ok(items)
    }

    /// Like [`paginate`](Self::paginate), but stops once `limit` or more items were read while
    /// further pages exist (so the connection has more than `limit`); the flag says whether the
    /// connection was read to its end.
    pub async fn paginate_up_to<T>(
        &self,
        document: &Document,
        variables: Value,
        path: &[&str],
        limit: usize,
        mut map: impl FnMut(&Value) -> Option<T>,
    ) -> Result<(Vec<T>, bool), ShopifyError> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut vars = variables.clone();
            if !vars.is_object() {
                vars = Value::Object(Default::default());
            }
            vars["after"] = after.clone().map_or(Value::Null, Value::String);
            let response = self.execute(document, vars).await?;
            let data = response.data.unwrap_or(Value::Null);
            let page = page_at(&data, path)?.ok_or_else(|| {
                ShopifyError::NotFound(format!(
                    "{} ({} with {})",
                    path.join("."),
                    document.name,
                    variables
                ))
            })?;
            out.extend(page.nodes.iter().filter_map(&mut map));
            if !page.page_info.has_next_page {
                return Ok((out, true));
            }
            if out.len() >= limit {
                return Ok((out, false));
            }
            match page.page_info.end_cursor {
                Some(c) if after.as_deref() != Some(c.as_str()) => after = Some(c),
                Some(_) => {
                    return Err(ShopifyError::Unexpected(format!(
                        "{}: the end cursor did not advance",
                        document.name
                    )));
                }
                None => {
                    return Err(ShopifyError::Unexpected(format!(
                        "{}: hasNextPage without an endCursor",
                        document.name
                    )));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn page_at_reads_nodes_or_edges() {
        let data = json!({"location": {"inventoryLevels": {
            "nodes": [{"item": {"id": "i1"}}],
            "pageInfo": {"hasNextPage": true, "endCursor": "c1"}}}});
        let p = page_at(&data, &["location", "inventoryLevels"])
            .unwrap()
            .unwrap();
        assert_eq!(p.nodes.len(), 1);
        assert_eq!(
            p.page_info,
            PageInfo {
                has_next_page: true,
                end_cursor: Some("c1".into())
            }
        );
        let data = json!({"x": {"edges": [{"cursor": "a", "node": {"id": 1}}, {"cursor": "b", "node": {"id": 2}}],
            "pageInfo": {"hasNextPage": false, "endCursor": null}}});
        let p = page_at(&data, &["x"]).unwrap().unwrap();
        assert_eq!(p.nodes, vec![json!({"id": 1}), json!({"id": 2})]);
        assert!(!p.page_info.has_next_page);
        assert_eq!(
            page_at(&json!({"location": null}), &["location", "inventoryLevels"]).unwrap(),
            None
        );
        assert!(page_at(&json!({"x": {"nodes": []}}), &["x"]).is_err());
    }
}
