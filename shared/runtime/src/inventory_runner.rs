//! Runs `sync-inventory` for a shop: takes the shop's clients from the [`ClientFactory`] and calls the
//! task logic.

use crate::clients::ClientFactory;
pub use crate::clients::Endpoints;
use crate::{RunReport, TaskRunner};
use async_trait::async_trait;
use shopsync_domain::job::{JobCounters, JobRecord};
use shopsync_domain::ports::*;
use shopsync_domain::settings::ShopSettings;
use shopsync_domain::status_ports::CueStore;
use shopsync_domain::{SyncError, TaskKind};
use shopsync_tasks::inventory::{self, InventoryPorts};
use shopsync_tasks::{Progress, RunContext};
use std::sync::Arc;

pub struct InventoryRunner {
    pub state: Arc<dyn InventoryStateStore>,
    pub ledger: Arc<dyn IdempotencyLedger>,
    pub skipped: Arc<dyn SkippedRecordStore>,
    /// Status board cue entries (unmapped products).
    pub cues: Arc<dyn CueStore>,
    pub clients: ClientFactory,
}

impl InventoryRunner {
    /// `board` keeps what the status board shows: skipped records and cue entries.
    pub fn new<B>(
        secrets: Arc<dyn SecretSource>,
        state: Arc<dyn InventoryStateStore>,
        ledger: Arc<dyn IdempotencyLedger>,
        board: Arc<B>,
        endpoints: Endpoints,
    ) -> Self
    where
        B: SkippedRecordStore + CueStore + 'static,
    {
        InventoryRunner {
            state,
            ledger,
            skipped: board.clone(),
            cues: board,
            clients: ClientFactory::new(secrets, endpoints),
        }
    }
}

#[async_trait]
impl TaskRunner for InventoryRunner {
    fn task(&self) -> TaskKind {
        TaskKind::SyncInventory
    }

    async fn run(
        &self,
        settings: &ShopSettings,
        job: &JobRecord,
        progress: &dyn Progress,
    ) -> RunReport {
        let (shopify, bc) = match self.clients.for_shop(settings).await {
            Ok(c) => (c.shopify, c.bc),
            Err(e) => return RunReport::failed(e),
        };
        let cost_before = shopify.cost_points_used();
        let wait_before = shopify.throttle_wait_ms();
        let ports = InventoryPorts {
            shopify: shopify.as_ref(),
            bc: bc.as_ref(),
            state: self.state.as_ref(),
            ledger: self.ledger.as_ref(),
            skipped: self.skipped.as_ref(),
            cues: self.cues.as_ref(),
        };
        let mut ctx = RunContext {
            settings,
            job,
            progress,
            counters: JobCounters::default(),
        };
        let result = inventory::run(&mut ctx, &ports).await;
        if matches!(result, Err(SyncError::Auth { .. })) {
            // Credentials may have been rotated: read the secrets again next time.
            self.clients.forget(&settings.code);
        }
        RunReport {
            result,
            counters: ctx.counters,
            cost_points: shopify.cost_points_used() - cost_before,
            throttle_wait_ms: shopify.throttle_wait_ms().saturating_sub(wait_before),
        }
    }
}
