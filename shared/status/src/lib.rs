//! The status board (DESIGN §8): the reference connector's "Shopify Activities" cues per shop, the
//! failures on the shared dead-letter queue, and what on-call does about them (retry, discard).
//!
//! Everything here is domain logic against ports ([`shopsync_domain::status_ports`] and the job,
//! skipped-record, settings and queue ports); the AWS adapters live in `shopsync-aws`, the Lambda glue
//! in `shopsync-runtime::status_fn`. The api function calls [`StatusService`] for the board, the
//! drill-downs and the failures; the status function calls [`StatusService::status_run`] every five
//! minutes.
//!
//! # The cues and where their figures come from
//!
//! The reference counts rows of its own tables (reference/bc-connector.md §4); we count the items
//! that carry the same meaning, each with one `Select=COUNT` Query on a sparse index:
//!
//! | Cue | Reference counts | Here |
//! |---|---|---|
//! | `unmapped_customers` | Shopify customers without a BC customer | `customers` records of `sync-customers` with status `unmapped` (no BC customer matches exactly, none may be created, or only a blocked one matches) |
//! | `unmapped_companies` | Shopify companies without a BC customer | `companies` records of `sync-companies` with status `unmapped` (no BC customer matches the main contact exactly and none may be created) |
//! | `unmapped_products` | Shopify products without a BC item | cue entries written by `sync-inventory` — every tracked **variant** its last full mapping could not map (finer than the reference's products; a full mapping replaces the list) — plus the `catalogue-unmapped-products` records of `sync-products` with status `unmapped` (products an import could not link to an item) |
//! | `unprocessed_orders` | imported orders not processed | cue entries of the orders tasks (none yet) |
//! | `unprocessed_order_updates` | orders with an order-state error | cue entries of the orders tasks (none yet) |
//! | `unprocessed_shipments` | shipments not sent to Shopify | cue entries of the shipments task (none yet) |
//! | `shipment_errors` | shipments that failed to sync | cue entries of the shipments task (none yet) |
//! | `synchronization_errors` | job queue log entries in error for the connector's reports | failed jobs of the shop (status index, kept 30 days like the log) **plus** open failures of the shop on the dead-letter queue whose job is not `failed` (a redriven message whose job never got to fail, a fan-out the worker could not start); a failure whose job is failed is counted once, as the job |
//! | `skipped_records` | skipped records | unexpired skipped records of the shop (`SKIP#`) |
//! | `api_errors` | log entries of failed API calls | the synchronization errors whose error kind says Shopify or BC failed us: `auth` (refused credentials), `throttled` (throttling outlasted the retries), `transport` (unreachable, timeouts), `upstream` (5xx). Retried-and-recovered calls are not errors here (the clients retry quietly), as the reference's "error only" log would not count a call that eventually succeeded either |
//!
//! Thresholds and styles are the reference's ([`shopsync_domain::status::Cue::style`]).
//!
//! # Failures
//!
//! A [`Failure`] mirrors one dead-letter message (see [`parse`] for the three message shapes). The
//! failures are listed, and retried or discarded by id, **from the mirror**: every status run refreshes
//! it from a non-destructive peek of the whole queue, and a request refreshes it only when it is older
//! than [`MIRROR_MAX_AGE_SECS`], with a bounded peek ([`ON_DEMAND_MAX_MESSAGES`] messages,
//! [`ON_DEMAND_MAX_RECEIVES`] receives), one request at a time (a compare-and-swap on the mirror's
//! refresh time). So listing, and retrying or discarding an unknown id, costs no SQS call while the
//! mirror is fresh and a bounded number when it is not. A message whose failure was already retried or
//! discarded (its removal failed, or a concurrent peek hid it) is removed by the next status run.
//! Retry and discard are the only ways a message leaves the queue: see [`StatusService::retry`] for
//! why a retry never queues a second job, however many callers ask at once.
//!
//! # Metrics
//!
//! [`StatusService::status_run`] prints one CloudWatch Embedded Metric Format line per shop
//! (namespace `Shopsync`, dimension `Shop`; see [`emf`]) and one without a dimension with the
//! dead-letter queue's depth.

mod board;
pub mod emf;
mod failures;
pub mod parse;
mod run;

pub use failures::retry_job_id;
pub use parse::{ParsedFailure, parse_dead_letter};
pub use run::StatusRunReport;

use shopsync_domain::ports::{JobStore, LeaseStore, SettingsStore, SkippedRecordStore, TaskQueues};
use shopsync_domain::status::Failure;
use shopsync_domain::status_ports::{CueStore, DeadLetterQueue, FailureStore, StatusCounts};
use std::sync::Arc;

/// At most this many dead-letter messages are read per refresh.
pub const MAX_PEEK: usize = 1000;
/// A request refreshes the mirror from the queue only when its last refresh is older than this.
pub const MIRROR_MAX_AGE_SECS: i64 = 60;
/// Messages one on-demand refresh reads at most.
pub const ON_DEMAND_MAX_MESSAGES: usize = 100;
/// Receive calls one on-demand refresh makes at most.
pub const ON_DEMAND_MAX_RECEIVES: usize = 10;
/// How long a retry's claim on its failure holds off other retries (far longer than a retry takes;
/// after it, a retry that crashed is finished by the next call or status run).
pub const RETRY_CLAIM_SECS: i64 = 120;
/// A `queued` or `deferred` job untouched this long has nothing behind it (its message was lost):
/// well above a deferral's delay (≤ 15 min).
pub const ORPHAN_AFTER_SECS: i64 = 30 * 60;
/// A `running` job untouched this long whose run holds no live lease has nothing behind it (its run
/// died on its queue's last delivery, or was a foreground run killed with the api function): twice a
/// lease's default time to live.
pub const RUNNING_ORPHAN_AFTER_SECS: i64 = 10 * 60;
/// A job taken over this many times without finishing is failed by the sweep instead of woken again.
pub const MAX_SWEEP_ATTEMPTS: u32 = 10;

/// The ports the status service uses.
#[derive(Clone)]
pub struct StatusPorts {
    pub settings: Arc<dyn SettingsStore>,
    pub jobs: Arc<dyn JobStore>,
    pub counts: Arc<dyn StatusCounts>,
    pub skipped: Arc<dyn SkippedRecordStore>,
    pub cues: Arc<dyn CueStore>,
    pub failures: Arc<dyn FailureStore>,
    pub dlq: Arc<dyn DeadLetterQueue>,
    pub queues: Arc<dyn TaskQueues>,
    /// Read only: the sweep asks whether a `running` job's run still holds its lease.
    pub leases: Arc<dyn LeaseStore>,
    /// Read only: the order cues count staged records ([`Cue::record_source`](shopsync_domain::status::Cue::record_source)).
    pub records: Arc<dyn shopsync_domain::ports::RecordStore>,
}

/// The status board, failures, retry/discard and the scheduled status run.
#[derive(Clone)]
pub struct StatusService {
    settings: Arc<dyn SettingsStore>,
    jobs: Arc<dyn JobStore>,
    counts: Arc<dyn StatusCounts>,
    skipped: Arc<dyn SkippedRecordStore>,
    cues: Arc<dyn CueStore>,
    failures: Arc<dyn FailureStore>,
    dlq: Arc<dyn DeadLetterQueue>,
    queues: Arc<dyn TaskQueues>,
    leases: Arc<dyn LeaseStore>,
    records: Arc<dyn shopsync_domain::ports::RecordStore>,
    /// A job untouched this long in `queued` or `deferred`, or in `running` without a live lease, is
    /// presumed to have nothing behind it; the sweep wakes it up.
    orphan_after_secs: i64,
    running_orphan_after_secs: i64,
    max_peek: usize,
    mirror_max_age: i64,
    on_demand_max_messages: usize,
    on_demand_max_receives: usize,
    print_emf: bool,
}

impl StatusService {
    pub fn new(ports: StatusPorts) -> StatusService {
        StatusService {
            settings: ports.settings,
            jobs: ports.jobs,
            counts: ports.counts,
            skipped: ports.skipped,
            cues: ports.cues,
            failures: ports.failures,
            dlq: ports.dlq,
            queues: ports.queues,
            leases: ports.leases,
            records: ports.records,
            orphan_after_secs: ORPHAN_AFTER_SECS,
            running_orphan_after_secs: RUNNING_ORPHAN_AFTER_SECS,
            max_peek: MAX_PEEK,
            mirror_max_age: MIRROR_MAX_AGE_SECS,
            on_demand_max_messages: ON_DEMAND_MAX_MESSAGES,
            on_demand_max_receives: ON_DEMAND_MAX_RECEIVES,
            print_emf: true,
        }
    }

    /// Sweep `queued`/`deferred` jobs untouched for `waiting_secs` and `running` ones without a live
    /// lease untouched for `running_secs` (see [`ORPHAN_AFTER_SECS`], [`RUNNING_ORPHAN_AFTER_SECS`]).
    pub fn with_orphan_after(mut self, waiting_secs: i64, running_secs: i64) -> StatusService {
        self.orphan_after_secs = waiting_secs.max(0);
        self.running_orphan_after_secs = running_secs.max(0);
        self
    }

    /// Read at most `max` dead-letter messages per refresh (at least 1).
    pub fn with_max_peek(mut self, max: usize) -> StatusService {
        self.max_peek = max.max(1);
        self
    }

    /// Refresh the mirror within a request only when its last refresh is older than `secs` (0: on
    /// every request that reads failures).
    pub fn with_mirror_max_age(mut self, secs: i64) -> StatusService {
        self.mirror_max_age = secs.max(0);
        self
    }

    /// Bounds of one on-demand refresh: at most `max_messages` messages and `max_receives` receive
    /// calls (each at least 1).
    pub fn with_on_demand_refresh(
        mut self,
        max_messages: usize,
        max_receives: usize,
    ) -> StatusService {
        self.on_demand_max_messages = max_messages.max(1);
        self.on_demand_max_receives = max_receives.max(1);
        self
    }

    /// Whether `status_run` prints its EMF lines to stdout (default true; the lines are also in
    /// the report).
    pub fn with_emf_output(mut self, print: bool) -> StatusService {
        self.print_emf = print;
        self
    }
}

/// Whether a failure belongs to `shop` (`None` = admin, sees every failure).
fn visible_to(failure: &Failure, shop: Option<&str>) -> bool {
    match shop {
        None => true,
        Some(s) => failure.shop.as_deref() == Some(s),
    }
}
