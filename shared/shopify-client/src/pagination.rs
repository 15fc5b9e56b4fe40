//! Cursor pagination over a connection (`first`/`after`, `pageInfo { hasNextPage endCursor }`).
//!
//! Kept generic so every paged document is read the same way, with the two guards a hand-written
//! loop tends to forget: a page claiming more without a cursor, and a cursor that does not move.
//! Each paged document names its typed `data` shape and where the connection sits in it
//! ([`PagedData`]); the nodes reach the caller already decoded.

use crate::client::ShopifyClient;
use crate::documents::Document;
use crate::error::ShopifyError;
use crate::wire::{Connection, PageInfo};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// The typed `data` of a paged document.
pub trait PagedData: DeserializeOwned {
    /// The connection's node shape.
    type Node;
    /// Where the connection sits in `data` (`location.inventoryLevels`), for messages.
    const CONNECTION: &'static str;
    /// The connection, or `None` when an object on the way is null (for example `location(id:)` of
    /// an unknown id).
    fn into_connection(self) -> Option<Connection<Self::Node>>;
}

/// One page of a connection, already picked out of `data`.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<N> {
    pub nodes: Vec<N>,
    pub page_info: PageInfo,
}

/// Picks the page out of a document's `data`. `Ok(None)` when an object on the way is null; a
/// connection without `pageInfo` cannot be paged and is [`ShopifyError::Unexpected`].
pub fn page_of<D: PagedData>(data: D) -> Result<Option<Page<D::Node>>, ShopifyError> {
    let Some(connection) = data.into_connection() else {
        return Ok(None);
    };
    let page_info = connection.page_info.clone().ok_or_else(|| {
        ShopifyError::Unexpected(format!("connection {} has no pageInfo", D::CONNECTION))
    })?;
    Ok(Some(Page {
        nodes: connection.into_nodes(),
        page_info,
    }))
}

/// Where the next page starts: the end cursor while the page says more follow.
pub fn next_cursor(page_info: &PageInfo) -> Option<String> {
    page_info
        .has_next_page
        .then(|| page_info.end_cursor.clone())
        .flatten()
}

impl ShopifyClient {
    /// Reads every page of `document` (whose `data` is `D`), passing `variables` plus `after`, and
    /// maps each node with `map` (returning `None` skips a node). A null object on the way to the
    /// connection yields [`ShopifyError::NotFound`].
    pub async fn paginate<D: PagedData, T>(
        &self,
        document: &Document,
        variables: Value,
        map: impl FnMut(D::Node) -> Option<T>,
    ) -> Result<Vec<T>, ShopifyError> {
        let (items, _) = self
            .paginate_up_to::<D, T>(document, variables, usize::MAX, map)
            .await?;
        Ok(items)
    }

    /// Like [`paginate`](Self::paginate), but stops once `limit` or more items were read while
    /// further pages exist (so the connection has more than `limit`); the flag says whether the
    /// connection was read to its end.
    pub async fn paginate_up_to<D: PagedData, T>(
        &self,
        document: &Document,
        variables: Value,
        limit: usize,
        mut map: impl FnMut(D::Node) -> Option<T>,
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
            let data: D = response.data_as(document.name)?;
            let page = page_of(data)?.ok_or_else(|| {
                ShopifyError::NotFound(format!(
                    "{} ({} with {})",
                    D::CONNECTION,
                    document.name,
                    variables
                ))
            })?;
            out.extend(page.nodes.into_iter().filter_map(&mut map));
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
    use crate::wire::IdRef;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Deserialize)]
    struct Levels {
        location: Option<Location>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Location {
        inventory_levels: Connection<Level>,
    }

    #[derive(Debug, Clone, PartialEq, Deserialize)]
    struct Level {
        item: IdRef,
    }

    impl PagedData for Levels {
        type Node = Level;
        const CONNECTION: &'static str = "location.inventoryLevels";
        fn into_connection(self) -> Option<Connection<Level>> {
            self.location.map(|l| l.inventory_levels)
        }
    }

    #[derive(Debug, Deserialize)]
    struct X {
        x: Connection<Value>,
    }

    impl PagedData for X {
        type Node = Value;
        const CONNECTION: &'static str = "x";
        fn into_connection(self) -> Option<Connection<Value>> {
            Some(self.x)
        }
    }

    #[test]
    fn page_of_reads_nodes_or_edges() {
        let data: Levels = serde_json::from_value(json!({"location": {"inventoryLevels": {
            "nodes": [{"item": {"id": "i1"}}],
            "pageInfo": {"hasNextPage": true, "endCursor": "c1"}}}}))
        .unwrap();
        let p = page_of(data).unwrap().unwrap();
        assert_eq!(
            p.nodes,
            vec![Level {
                item: IdRef { id: "i1".into() }
            }]
        );
        assert_eq!(
            p.page_info,
            PageInfo {
                has_next_page: true,
                end_cursor: Some("c1".into())
            }
        );
        let data: X = serde_json::from_value(json!({"x": {"edges": [{"cursor": "a", "node": {"id": 1}}, {"cursor": "b", "node": {"id": 2}}],
            "pageInfo": {"hasNextPage": false, "endCursor": null}}}))
        .unwrap();
        let p = page_of(data).unwrap().unwrap();
        assert_eq!(p.nodes, vec![json!({"id": 1}), json!({"id": 2})]);
        assert!(!p.page_info.has_next_page);
        let data: Levels = serde_json::from_value(json!({"location": null})).unwrap();
        assert_eq!(page_of(data).unwrap(), None);
        let data: X = serde_json::from_value(json!({"x": {"nodes": []}})).unwrap();
        assert_eq!(
            page_of(data).unwrap_err(),
            ShopifyError::Unexpected("connection x has no pageInfo".into())
        );
    }
}
