//! Settings, schedules and cursors, as `dynamo/settings.rs`, `schedule.rs` and `cursors.rs`.
//!
//! - `put_shop` validates first and writes nothing on error (`SyncError::Settings`), then overwrites
//!   unconditionally; `list_shops` is in code order (the adapter's `gsi1sk = <code>`).
//! - A missing schedule reads as `TaskSchedule::default()`; `put_schedule` replaces the whole item
//!   (a `None` field is removed, not kept).
//! - `advance_cursor` is `attribute_not_exists(pk)` for `expected = None`, `value = :old` otherwise.

use super::MemoryStore;
use crate::op;
use async_trait::async_trait;
use shopsync_domain::ports::{CursorStore, Result, ScheduleStore, SettingsStore, TaskSchedule};
use shopsync_domain::{ShopSettings, SyncError, TaskKind};

#[async_trait]
impl SettingsStore for MemoryStore {
    async fn get_shop(&self, code: &str) -> Result<Option<ShopSettings>> {
        self.op(op::GET_SHOP, |t| {
            Ok(t.read(code).and_then(|p| p.settings.clone()))
        })
    }

    async fn put_shop(&self, settings: &ShopSettings) -> Result<()> {
        settings
            .validate()
            .map_err(|e| SyncError::Settings(e.to_string()))?;
        self.op(op::PUT_SHOP, |t| {
            t.shop(&settings.code).settings = Some(settings.clone());
            t.wrote(op::PUT_SHOP, &settings.code, "SETTINGS");
            Ok(())
        })
    }

    async fn list_shops(&self) -> Result<Vec<ShopSettings>> {
        self.op(op::LIST_SHOPS, |t| {
            Ok(t.shops
                .values()
                .filter_map(|p| p.settings.clone())
                .collect())
        })
    }
}

#[async_trait]
impl ScheduleStore for MemoryStore {
    async fn get_schedule(&self, shop: &str, task: TaskKind) -> Result<TaskSchedule> {
        self.op(op::GET_SCHEDULE, |t| {
            Ok(t.read(shop)
                .and_then(|p| p.schedules.get(&task).cloned())
                .unwrap_or_default())
        })
    }

    async fn put_schedule(
        &self,
        shop: &str,
        task: TaskKind,
        schedule: &TaskSchedule,
    ) -> Result<()> {
        self.op(op::PUT_SCHEDULE, |t| {
            t.shop(shop).schedules.insert(task, schedule.clone());
            t.wrote(op::PUT_SCHEDULE, shop, format!("SCHEDULE#{}", task.name()));
            Ok(())
        })
    }
}

#[async_trait]
impl CursorStore for MemoryStore {
    async fn get_cursor(&self, shop: &str, name: &str) -> Result<Option<String>> {
        self.op(op::GET_CURSOR, |t| {
            Ok(t.read(shop).and_then(|p| p.cursors.get(name).cloned()))
        })
    }

    async fn advance_cursor(
        &self,
        shop: &str,
        name: &str,
        expected: Option<&str>,
        value: &str,
    ) -> Result<bool> {
        self.op(op::ADVANCE_CURSOR, |t| {
            let current = t.read(shop).and_then(|p| p.cursors.get(name));
            if current.map(String::as_str) != expected {
                return Ok(false);
            }
            t.shop(shop)
                .cursors
                .insert(name.to_string(), value.to_string());
            t.wrote(op::ADVANCE_CURSOR, shop, format!("CURSOR#{name}"));
            Ok(true)
        })
    }
}
