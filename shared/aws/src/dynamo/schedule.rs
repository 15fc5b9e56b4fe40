//! Per-task schedule state (`SCHEDULE#<task>`): when the fan-out last queued the task for the shop and
//! when it last queued a full run. A missing item means "never", which makes the first run due.

use super::{DynamoStore, get_opt_i64, keys, n, s};
use crate::errors::storage;
use async_trait::async_trait;
use shopsync_domain::TaskKind;
use shopsync_domain::ports::{Result, ScheduleStore, TaskSchedule};

#[async_trait]
impl ScheduleStore for DynamoStore {
    async fn get_schedule(&self, shop: &str, task: TaskKind) -> Result<TaskSchedule> {
        let Some(item) = self
            .get_item(shop, keys::schedule_sk(task), "GetItem task schedule")
            .await?
        else {
            return Ok(TaskSchedule::default());
        };
        Ok(TaskSchedule {
            last_scheduled_at: get_opt_i64(&item, "last_scheduled_at", "task schedule")?,
            last_full_at: get_opt_i64(&item, "last_full_at", "task schedule")?,
        })
    }

    async fn put_schedule(
        &self,
        shop: &str,
        task: TaskKind,
        schedule: &TaskSchedule,
    ) -> Result<()> {
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(keys::shop_pk(shop)))
            .item("sk", s(keys::schedule_sk(task)))
            .item("task", s(task.name()));
        if let Some(at) = schedule.last_scheduled_at {
            put = put.item("last_scheduled_at", n(at));
        }
        if let Some(at) = schedule.last_full_at {
            put = put.item("last_full_at", n(at));
        }
        put.send()
            .await
            .map_err(|e| storage("PutItem task schedule", e))?;
        Ok(())
    }
}
