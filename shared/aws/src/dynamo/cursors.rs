//! Incremental cursors (`CURSOR#<name>`): one string value per shop and name, moved only by a
//! conditional write on the value the writer read, so two overlapping runs cannot move it backwards.

use super::{DynamoStore, keys, s};
use crate::errors::storage;
use async_trait::async_trait;
use shopsync_domain::ports::{CursorStore, Result};

#[async_trait]
impl CursorStore for DynamoStore {
    async fn get_cursor(&self, shop: &str, name: &str) -> Result<Option<String>> {
        let item = self
            .get_item(shop, keys::cursor_sk(name), "GetItem cursor")
            .await?;
        Ok(item.and_then(|i| i.get("value").and_then(|v| v.as_s().ok()).cloned()))
    }

    async fn advance_cursor(
        &self,
        shop: &str,
        name: &str,
        expected: Option<&str>,
        value: &str,
    ) -> Result<bool> {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(keys::shop_pk(shop)))
            .item("sk", s(keys::cursor_sk(name)))
            .item("value", s(value));
        let put = match expected {
            None => put.condition_expression("attribute_not_exists(pk)"),
            Some(old) => put
                .condition_expression("#v = :old")
                .expression_attribute_names("#v", "value")
                .expression_attribute_values(":old", s(old)),
        };
        match put.send().await {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(storage("PutItem cursor", e)),
        }
    }
}
