//! `sync-customers` (reference report 30100): Shopify customers → BC customers (import), changed
//! BC customers → Shopify (export), with a mirror of the links in the record store.
//!
//! A run takes these planning steps (each checkpointed, so a big first sync spans invocations):
//!
//! 1. **Open.** The Shopify window is fixed: `until` = the run's start, `since` = the stored cursor
//!    minus [`OVERLAP_SECS`] (none on the first run: every customer).
//! 2. **BC scan.** BC customers modified since the BC cursor (minus the overlap: BC stamps
//!    `lastModifiedDateTime` before its transaction commits) refresh their [`BC_CUSTOMERS`] records
//!    and the contact index; a linked one whose rebuilt `customerSet` input hashes differently
//!    from what was last sent is marked `export_pending`. The BC cursor moves at once: what is left
//!    to do is in the records' statuses, not in the cursor.
//! 3. **Import**, one Shopify page a step, per [`ImportMode`]. For each customer: skipped when its
//!    latest change is our own export (the newer-than guard); refreshed in BC when linked and
//!    `shopify_can_update_customer` and its data changed; else (mode `all`) linked to the BC customer
//!    whose e-mail, or else phone, is exactly its own (see [`shopsync_domain::contact`]); else
//!    created in BC when `auto_create_unknown_customers` (a probed effect: after an unknown outcome
//!    BC is searched by the e-mail and phone that were sent before anything is sent again); else
//!    `unmapped`. At the window's end the Shopify cursor moves to `until`.
//! 4. **Retry.** Customers left in `error` by earlier runs are read again by id and handled as in
//!    the import, so a failure is not forgotten when the cursor moves past it.
//! 5. **Export** (`can_update_shopify_customer`): every `export_pending` (or `export_error`) BC
//!    customer gets one `customerSet` by its linked Shopify id; the hash of the input is stored, so
//!    unchanged data sends nothing. Only linked customers are exported: creating Shopify customers
//!    from BC is the reference's separate "Add Customer to Shopify" action.
//!
//! Mutually exclusive settings (`can_update_shopify_customer` / `shopify_can_update_customer`) are
//! refused by the settings model, so the two directions never write the same customer back and
//! forth; the newer-than guard keeps our own export from coming back as an import.
//!
//! A customer created in BC takes the defaults of its template customer: the one
//! `customer_templates` names for the country of its default address, else `customer_template_no`,
//! else BC's own ([`crate::customer_templates`]; each template is read once per invocation, and one
//! BC does not have leaves the customer in `error` with a reason naming it).
//!
//! Known gaps: only the posting fields API v2.0 exposes are copied from the template (see
//! [`shopsync_domain::sales::CustomerDefaults`]); customers linked by the order import are not
//! mirrored here (that import keeps its links on the staged orders).

pub mod mapping;
pub mod records;
#[cfg(test)]
mod tests;

use crate::contacts::{
    ErroredRecord, advance_cursor, decode, ensure_progress, reread_errored, window_since,
    write_cursor,
};
use crate::customer_templates::{CustomerTemplates, country_of};
use crate::engine::{Effect, EffectKind, Planned, Settled, Task, TaskRun};
use crate::orders::mapping::Lookup;
use crate::orders::sync::{format_time, parse_time};
use async_trait::async_trait;
use mapping::{ImportMode, customer_update, exact_match, export_input, import_mode, name_of};
use records::{
    BC_CURSOR, BcCustomerRecord, CustomerRecord, SHOPIFY_CURSOR, bc_status, from_body, hash_of,
    index_ids, keys_of, read_many, reindex, to_body, update_hash,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use shopsync_domain::catalogue::System;
use shopsync_domain::contact::{ContactKind, email_key, phone_key, same_email, same_phone};
use shopsync_domain::customers::{
    BC_CUSTOMERS, CUSTOMERS, CustomerIdentifier, CustomerSetInput, CustomerSetOutcome,
    CustomerUpdate, ShopifyCustomer, customer_status,
};
use shopsync_domain::patterns::is_bc_code;
use shopsync_domain::ports::{Record, Result};
use shopsync_domain::sales::{BcCustomer, NewCustomer, limits};
use shopsync_domain::settings::ShopSettings;
use shopsync_domain::text::{bounded, preview};
use shopsync_domain::{SyncError, TaskKind};
use time::OffsetDateTime;

pub use crate::contacts::OVERLAP_SECS;
/// Records listed per step in the retry and export passes.
const PASS_PAGE: usize = 50;

/// The task.
#[derive(Debug, Default, Clone, Copy)]
pub struct SyncCustomersTask;

/// Where planning is.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    #[default]
    Open,
    BcScan,
    Import,
    Retry,
    Export,
    Done,
}

/// The task's resume state, checkpointed with the engine's.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct SyncState {
    #[serde(default)]
    pub phase: Phase,
    #[serde(default)]
    pub mode: ImportMode,
    /// The Shopify window.
    #[serde(default)]
    pub since: Option<String>,
    #[serde(default)]
    pub until: Option<String>,
    /// Shopify's cursor of the next page.
    #[serde(default)]
    pub after: Option<String>,
    /// Record id after which the retry or export pass lists next.
    #[serde(default)]
    pub pass_after: Option<String>,
    /// Export pass: 0 = `export_pending`, 1 = `export_error`.
    #[serde(default)]
    pub export_status: u8,
    /// Template customers read in this invocation (not checkpointed: a resumed run reads again).
    #[serde(skip)]
    pub templates: CustomerTemplates,
}

/// Counter names this task reports.
pub mod counters {
    pub const BC_CUSTOMERS_READ: &str = "bc_customers_read";
    pub const BC_CUSTOMERS_UNUSABLE: &str = "bc_customers_unusable_number";
    pub const PAGES_READ: &str = "customer_pages_read";
    pub const CUSTOMERS_READ: &str = "customers_read";
    pub const SKIPPED_OWN_EXPORT: &str = "customers_skipped_own_export";
    pub const SKIPPED_NOT_KNOWN: &str = "customers_skipped_not_known";
    pub const UNCHANGED: &str = "customers_unchanged";
    pub const LINKED: &str = "customers_linked";
    pub const UNMAPPED: &str = "customers_unmapped";
    pub const FAILED: &str = "customers_failed";
    pub const CREATED_IN_BC: &str = "customers_created_in_bc";
    pub const UPDATED_IN_BC: &str = "customers_updated_in_bc";
    pub const EXPORTED: &str = "customers_exported";
    pub const EXPORT_REFUSED: &str = "customers_export_refused";
    pub const RETRIED: &str = "customers_retried";
}

/// One effect's payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    /// Create the BC customer of a Shopify customer (probed by e-mail, then phone).
    CreateInBc {
        shopify_id: String,
        legacy_id: u64,
        name: String,
        updated_at: String,
        customer: NewCustomer,
        update_hash: String,
    },
    /// Write a linked Shopify customer's data to its BC customer.
    UpdateInBc {
        legacy_id: u64,
        bc_number: String,
        bc_id: String,
        updated_at: String,
        update: CustomerUpdate,
        update_hash: String,
    },
    /// `customerSet` a linked BC customer's data to its Shopify customer, by id.
    ExportToShopify {
        bc_number: String,
        shopify_id: String,
        input: CustomerSetInput,
        hash: String,
    },
}

#[async_trait]
impl Task for SyncCustomersTask {
    type State = SyncState;

    fn kind(&self) -> TaskKind {
        TaskKind::SyncCustomers
    }

    fn skip_reason(&self, settings: &ShopSettings) -> Option<String> {
        let (mode, why) = import_mode(settings);
        if mode == ImportMode::Off && !settings.can_update_shopify_customer {
            return Some(format!(
                "nothing to sync: no import ({}) and can_update_shopify_customer is off",
                why.unwrap_or("off")
            ));
        }
        None
    }

    async fn plan(&self, run: &mut TaskRun<'_>, state: &mut SyncState) -> Result<Planned> {
        match state.phase {
            Phase::Open => {
                open(run, state).await?;
                state.phase = Phase::BcScan;
                Ok(Planned::more(Vec::new()))
            }
            Phase::BcScan => {
                bc_scan(run).await?;
                state.phase = if state.mode == ImportMode::Off {
                    Phase::Export
                } else {
                    Phase::Import
                };
                Ok(Planned::more(Vec::new()))
            }
            Phase::Import => {
                let effects = import_step(run, state).await?;
                Ok(Planned::more(effects))
            }
            Phase::Retry => {
                let effects = retry_step(run, state).await?;
                Ok(Planned::more(effects))
            }
            Phase::Export => {
                if !run.settings.can_update_shopify_customer {
                    state.phase = Phase::Done;
                    return Ok(Planned::last(Vec::new()));
                }
                let effects = export_step(run, state).await?;
                if state.phase == Phase::Done {
                    return Ok(Planned::last(effects));
                }
                Ok(Planned::more(effects))
            }
            Phase::Done => Ok(Planned::last(Vec::new())),
        }
    }

    async fn send(&self, run: &mut TaskRun<'_>, effect: &Effect, _key: &str) -> Result<Value> {
        let op: Op = effect.payload_as()?;
        let answer = match &op {
            Op::CreateInBc { customer, .. } => run
                .clients
                .bc
                .create_customer(customer)
                .await
                .map(|c| json!({ "customer": c })),
            Op::UpdateInBc { bc_id, update, .. } => run
                .clients
                .bc
                .update_customer(bc_id, update)
                .await
                .map(|c| json!({ "customer": c })),
            Op::ExportToShopify {
                shopify_id, input, ..
            } => run
                .clients
                .shopify
                .customer_set(&CustomerIdentifier::Id(shopify_id.clone()), input)
                .await
                .map(|o| json!({ "set": o })),
        };
        match answer {
            Ok(v) => Ok(v),
            // Retryable failures end the invocation; the engine resends or probes the effect.
            Err(e) if e.is_retryable() => Err(e),
            Err(e) => Ok(json!({ "error": bounded(&e.to_string(), 300) })),
        }
    }

    async fn probe(
        &self,
        run: &mut TaskRun<'_>,
        effect: &Effect,
        _key: &str,
    ) -> Result<Option<Value>> {
        let Op::CreateInBc { customer, .. } = effect.payload_as()? else {
            return Ok(None);
        };
        Ok(find_created(run, &customer)
            .await?
            .map(|c| json!({ "customer": c })))
    }

    async fn settle(
        &self,
        run: &mut TaskRun<'_>,
        _state: &mut SyncState,
        effect: &Effect,
        outcome: &Value,
    ) -> Result<Settled> {
        if outcome.get("refused").is_some() {
            return Ok(Settled::default());
        }
        let error = outcome
            .get("error")
            .and_then(Value::as_str)
            .map(str::to_string);
        match effect.payload_as::<Op>()? {
            Op::CreateInBc {
                shopify_id,
                legacy_id,
                name,
                updated_at,
                customer,
                update_hash,
            } => {
                let mut rec = CustomerRecord {
                    name,
                    shopify_id: shopify_id.clone(),
                    email: customer.email.clone(),
                    phone: customer.phone_number.clone(),
                    updated_at,
                    job_id: Some(run.job.job_id.clone()),
                    ..CustomerRecord::default()
                };
                if let Some(reason) = error {
                    run.counters.add(counters::FAILED, 1);
                    rec.error = Some(reason);
                    return put_customer(run, legacy_id, customer_status::ERROR, &rec)
                        .await
                        .map(|_| Settled::default());
                }
                let created: BcCustomer = decode("sync-customers", outcome, "customer")?;
                run.counters.add(counters::CREATED_IN_BC, 1);
                rec.imported_hash = Some(update_hash);
                link(run, legacy_id, &shopify_id, rec, &created).await?;
            }
            Op::UpdateInBc {
                legacy_id,
                updated_at,
                update_hash,
                ..
            } => {
                let Some(stored) = get_customer(run, legacy_id).await? else {
                    return Ok(Settled::default());
                };
                let mut rec = stored.1;
                rec.updated_at = updated_at;
                rec.job_id = Some(run.job.job_id.clone());
                if let Some(reason) = error {
                    run.counters.add(counters::FAILED, 1);
                    rec.error = Some(reason);
                    put_customer(run, legacy_id, customer_status::ERROR, &rec).await?;
                    return Ok(Settled::default());
                }
                let updated: BcCustomer = decode("sync-customers", outcome, "customer")?;
                run.counters.add(counters::UPDATED_IN_BC, 1);
                rec.error = None;
                rec.imported_hash = Some(update_hash);
                let shopify_id = rec.shopify_id.clone();
                link(run, legacy_id, &shopify_id, rec, &updated).await?;
            }
            Op::ExportToShopify {
                bc_number,
                shopify_id,
                hash,
                ..
            } => {
                let Some(record) = run
                    .stores
                    .records
                    .get_record(run.shop(), BC_CUSTOMERS, &bc_number)
                    .await?
                else {
                    return Ok(Settled::default());
                };
                let mut bc: BcCustomerRecord = from_body("BC customer", &record)?;
                let set: Option<CustomerSetOutcome> = if error.is_some() {
                    None
                } else {
                    Some(decode("sync-customers", outcome, "set")?)
                };
                let refused = match (&error, &set) {
                    (Some(e), _) => Some(e.clone()),
                    (None, Some(o)) if !o.user_errors.is_empty() || o.customer.is_none() => {
                        Some(bounded(
                            &o.user_errors
                                .iter()
                                .map(|e| e.message.clone())
                                .collect::<Vec<_>>()
                                .join("; "),
                            300,
                        ))
                    }
                    _ => None,
                };
                if let Some(reason) = refused {
                    run.counters.add(counters::EXPORT_REFUSED, 1);
                    bc.error = Some(if reason.is_empty() {
                        "Shopify answered no customer".into()
                    } else {
                        reason
                    });
                    put_bc(run, Some(bc_status::EXPORT_ERROR), &bc).await?;
                    return Ok(Settled::default());
                }
                run.counters.add(counters::EXPORTED, 1);
                bc.error = None;
                bc.sent_hash = Some(hash);
                put_bc(run, None, &bc).await?;
                // The newer-than guard: our own change must not come back as an import.
                if let (Some(customer), Some(legacy)) = (
                    set.and_then(|o| o.customer),
                    shopsync_domain::customers::customer_legacy_id(&shopify_id),
                ) && let Some((status, mut rec)) = get_customer(run, legacy).await?
                {
                    rec.exported_updated_at = Some(customer.updated_at);
                    put_customer(run, legacy, &status, &rec).await?;
                }
            }
        }
        Ok(Settled::default())
    }
}

// ---------------------------------------------------------------------------------------------
// Steps
// ---------------------------------------------------------------------------------------------

async fn open(run: &TaskRun<'_>, state: &mut SyncState) -> Result<()> {
    state.mode = import_mode(run.settings).0;
    state.until = Some(format_time(OffsetDateTime::now_utc())?);
    state.since = window_since(run, SHOPIFY_CURSOR, "customers").await?;
    state.after = None;
    state.pass_after = None;
    state.export_status = 0;
    Ok(())
}

/// Refresh the BC customers changed since the BC cursor: records, contact index, export marks.
async fn bc_scan(run: &mut TaskRun<'_>) -> Result<()> {
    let since = window_since(run, BC_CURSOR, "customers").await?;
    let changed = run
        .clients
        .bc
        .customers_modified_since(since.as_deref())
        .await?;
    run.counters
        .add(counters::BC_CUSTOMERS_READ, changed.len() as u64);
    let mut newest: Option<OffsetDateTime> = None;
    for chunk in changed.chunks(100) {
        let usable: Vec<&BcCustomer> = chunk
            .iter()
            .filter(|c| is_bc_code(&c.number, limits::NUMBER))
            .collect();
        run.counters.add(
            counters::BC_CUSTOMERS_UNUSABLE,
            (chunk.len() - usable.len()) as u64,
        );
        let ids: Vec<String> = usable.iter().map(|c| c.number.clone()).collect();
        let stored = read_many(run, BC_CUSTOMERS, &ids).await?;
        let mut writes = Vec::new();
        let mut moves = Vec::new();
        for c in usable {
            if let Ok(t) = parse_time("lastModifiedDateTime", &c.last_modified) {
                newest = Some(newest.map_or(t, |n| n.max(t)));
            }
            let old: Option<(Option<String>, BcCustomerRecord)> = match stored.get(&c.number) {
                Some(r) => Some((r.status.clone(), from_body("BC customer", r)?)),
                None => None,
            };
            let (email, phone) = keys_of(c);
            let mut rec = old.as_ref().map(|o| o.1.clone()).unwrap_or_default();
            let old_ids = index_ids(rec.email_key.as_deref(), rec.phone_key.as_deref());
            rec.id = c.id.clone();
            rec.number = c.number.clone();
            rec.blocked = c.blocked;
            rec.email_key = email;
            rec.phone_key = phone;
            rec.customer = Some(c.clone());
            let mut status = old.as_ref().and_then(|o| o.0.clone());
            if let Some(shopify_id) = &rec.shopify_id
                && run.settings.can_update_shopify_customer
            {
                let hash = hash_of(&(shopify_id, export_input(c)))?;
                if rec.sent_hash.as_deref() != Some(hash.as_str()) {
                    status = Some(bc_status::EXPORT_PENDING.to_string());
                } else if status.as_deref() == Some(bc_status::EXPORT_PENDING) {
                    status = None;
                }
            }
            let new_ids = index_ids(rec.email_key.as_deref(), rec.phone_key.as_deref());
            moves.push((rec.number.clone(), old_ids, new_ids));
            let unchanged = old.as_ref().is_some_and(|(s, o)| *o == rec && *s == status);
            if !unchanged {
                writes.push(Record::new(
                    rec.number.clone(),
                    status.as_deref(),
                    to_body(&rec)?,
                ));
            }
        }
        reindex(run, &moves).await?;
        for w in writes.chunks(25) {
            run.stores
                .records
                .put_records(run.shop(), BC_CUSTOMERS, w)
                .await?;
        }
    }
    advance_cursor(run, BC_CURSOR, "customers", newest).await?;
    Ok(())
}

/// One page of the Shopify window.
async fn import_step(run: &mut TaskRun<'_>, state: &mut SyncState) -> Result<Vec<Effect>> {
    let until = state.until.clone().ok_or_else(|| {
        SyncError::Internal("sync-customers imports a window it never opened".into())
    })?;
    let page = run
        .clients
        .shopify
        .customers_updated_since(state.since.as_deref(), &until, state.after.as_deref())
        .await?;
    run.counters.add(counters::PAGES_READ, 1);
    let effects = handle(run, state.mode, &mut state.templates, &page.items, false).await?;
    ensure_progress(&page.next_cursor, &state.after, "customers")?;
    state.after = page.next_cursor;
    if state.after.is_none() {
        write_cursor(run, SHOPIFY_CURSOR, &until).await?;
        state.phase = Phase::Retry;
        state.pass_after = None;
    }
    Ok(effects)
}

#[async_trait]
impl ErroredRecord for CustomerRecord {
    type Contact = ShopifyCustomer;
    const WHAT: &'static str = "customer";
    fn shopify_id(&self) -> &str {
        &self.shopify_id
    }
    fn job_id(&self) -> Option<&str> {
        self.job_id.as_deref()
    }
    async fn fetch(run: &TaskRun<'_>, shopify_id: &str) -> Result<Option<Self::Contact>> {
        run.clients.shopify.customer(shopify_id).await
    }
}

/// One page of the customers left in `error`: read again by id and handled again.
async fn retry_step(run: &mut TaskRun<'_>, state: &mut SyncState) -> Result<Vec<Effect>> {
    let (fresh, next_after) = reread_errored::<CustomerRecord>(
        run,
        CUSTOMERS,
        customer_status::ERROR,
        state.pass_after.as_deref(),
        PASS_PAGE,
    )
    .await?;
    run.counters.add(counters::RETRIED, fresh.len() as u64);
    let effects = handle(run, state.mode, &mut state.templates, &fresh, true).await?;
    state.pass_after = next_after;
    if state.pass_after.is_none() {
        state.phase = Phase::Export;
        state.export_status = 0;
    }
    Ok(effects)
}

/// One page of the BC customers waiting for their export.
async fn export_step(run: &mut TaskRun<'_>, state: &mut SyncState) -> Result<Vec<Effect>> {
    let status = if state.export_status == 0 {
        bc_status::EXPORT_PENDING
    } else {
        bc_status::EXPORT_ERROR
    };
    let page = run
        .stores
        .records
        .list_by_status(
            run.shop(),
            BC_CUSTOMERS,
            status,
            state.pass_after.as_deref(),
            PASS_PAGE,
        )
        .await?;
    let mut effects = Vec::new();
    for r in &page.records {
        let rec: BcCustomerRecord = from_body("BC customer", r)?;
        let (Some(shopify_id), Some(customer)) = (&rec.shopify_id, &rec.customer) else {
            continue;
        };
        let input = export_input(customer);
        let hash = hash_of(&(shopify_id, &input))?;
        if rec.sent_hash.as_deref() == Some(hash.as_str()) {
            run.stores
                .records
                .move_status(run.shop(), BC_CUSTOMERS, &r.id, Some(status), None)
                .await?;
            continue;
        }
        effects.push(Effect::new(
            EffectKind::Replayable,
            System::Shopify,
            format!("customer {} to Shopify", preview(&rec.number)),
            serde_json::to_value(Op::ExportToShopify {
                bc_number: rec.number.clone(),
                shopify_id: shopify_id.clone(),
                input,
                hash,
            })
            .map_err(|e| SyncError::Internal(format!("serialising: {e}")))?,
        ));
    }
    state.pass_after = page.next_after;
    if state.pass_after.is_none() {
        if state.export_status == 0 {
            state.export_status = 1;
        } else {
            state.phase = Phase::Done;
        }
    }
    Ok(effects)
}

// ---------------------------------------------------------------------------------------------
// Handling one customer
// ---------------------------------------------------------------------------------------------

/// The stored record of a Shopify customer: its status and body.
async fn get_customer(
    run: &TaskRun<'_>,
    legacy_id: u64,
) -> Result<Option<(String, CustomerRecord)>> {
    match run
        .stores
        .records
        .get_record(run.shop(), CUSTOMERS, &legacy_id.to_string())
        .await?
    {
        Some(r) => Ok(Some((
            r.status.clone().unwrap_or_default(),
            from_body("customer", &r)?,
        ))),
        None => Ok(None),
    }
}

async fn put_customer(
    run: &TaskRun<'_>,
    legacy_id: u64,
    status: &str,
    rec: &CustomerRecord,
) -> Result<()> {
    let status = (!status.is_empty()).then_some(status);
    run.stores
        .records
        .put_records(
            run.shop(),
            CUSTOMERS,
            &[Record::new(legacy_id.to_string(), status, to_body(rec)?)],
        )
        .await
}

async fn put_bc(run: &TaskRun<'_>, status: Option<&str>, rec: &BcCustomerRecord) -> Result<()> {
    run.stores
        .records
        .put_records(
            run.shop(),
            BC_CUSTOMERS,
            &[Record::new(rec.number.clone(), status, to_body(rec)?)],
        )
        .await
}

/// Link a Shopify customer to `bc` (found or made): the customer's record `linked`, the BC
/// customer's record naming it (and taken as in step with Shopify), the contact index updated.
async fn link(
    run: &TaskRun<'_>,
    legacy_id: u64,
    shopify_id: &str,
    mut rec: CustomerRecord,
    bc: &BcCustomer,
) -> Result<()> {
    // The number becomes a record id: only a BC code is taken.
    if !is_bc_code(&bc.number, limits::NUMBER) {
        return Err(SyncError::Internal(format!(
            "BC customer number '{}' is not a BC code",
            preview(&bc.number)
        )));
    }
    let stored = run
        .stores
        .records
        .get_record(run.shop(), BC_CUSTOMERS, &bc.number)
        .await?;
    let (status, mut bc_rec) = match &stored {
        Some(r) => (
            r.status.clone(),
            from_body::<BcCustomerRecord>("BC customer", r)?,
        ),
        None => (None, BcCustomerRecord::default()),
    };
    let old_ids = index_ids(bc_rec.email_key.as_deref(), bc_rec.phone_key.as_deref());
    let (email, phone) = keys_of(bc);
    bc_rec.id = bc.id.clone();
    bc_rec.number = bc.number.clone();
    bc_rec.blocked = bc.blocked;
    bc_rec.email_key = email;
    bc_rec.phone_key = phone;
    bc_rec.customer = Some(bc.clone());
    bc_rec.shopify_id = Some(shopify_id.to_string());
    // The two sides agree as of now: only a later BC change is exported.
    bc_rec.sent_hash = Some(hash_of(&(shopify_id, export_input(bc)))?);
    let status = status.filter(|s| s != bc_status::EXPORT_PENDING);
    let new_ids = index_ids(bc_rec.email_key.as_deref(), bc_rec.phone_key.as_deref());
    reindex(run, &[(bc.number.clone(), old_ids, new_ids)]).await?;
    put_bc(run, status.as_deref(), &bc_rec).await?;
    rec.bc_number = Some(bc.number.clone());
    rec.error = None;
    put_customer(run, legacy_id, customer_status::LINKED, &rec).await
}

/// The BC customers the contact index names for a normalised key, as BC last gave them.
async fn candidates(
    run: &TaskRun<'_>,
    c: &ShopifyCustomer,
) -> Result<Vec<(BcCustomer, Option<String>)>> {
    let mut numbers = Vec::new();
    if let Some(e) = c.email.as_deref().and_then(email_key) {
        numbers.extend(records::numbers_for(run, ContactKind::Email, &e).await?);
    }
    if let Some(p) = c.phone.as_deref().and_then(phone_key) {
        numbers.extend(records::numbers_for(run, ContactKind::Phone, &p).await?);
    }
    numbers.sort();
    numbers.dedup();
    let stored = read_many(run, BC_CUSTOMERS, &numbers).await?;
    let mut out = Vec::new();
    for r in stored.values() {
        let rec: BcCustomerRecord = from_body("BC customer", r)?;
        if let Some(customer) = rec.customer {
            out.push((customer, rec.shopify_id));
        }
    }
    Ok(out)
}

/// BC customers with exactly the e-mail, or else the phone, of `c` — asked of BC itself, right
/// before a creation, so that an index that missed a change cannot cause a duplicate.
async fn live_match(
    run: &TaskRun<'_>,
    email: Option<&str>,
    phone: Option<&str>,
) -> Result<Vec<BcCustomer>> {
    let mut found = Vec::new();
    if let Some(e) = email {
        found.extend(
            run.clients
                .bc
                .find_customer_by_email(e)
                .await?
                .into_iter()
                .filter(|b| same_email(&b.email, e)),
        );
    }
    if found.is_empty()
        && let Some(p) = phone
    {
        found.extend(
            run.clients
                .bc
                .find_customer_by_phone(p)
                .await?
                .into_iter()
                .filter(|b| same_phone(&b.phone_number, p)),
        );
    }
    found.sort_by(|a, b| a.number.cmp(&b.number));
    Ok(found)
}

/// After an unknown outcome: the customer that creation made, if BC has it (by the e-mail, then
/// the phone, that were sent).
async fn find_created(run: &TaskRun<'_>, customer: &NewCustomer) -> Result<Option<BcCustomer>> {
    let found = live_match(
        run,
        customer.email.as_deref(),
        customer.phone_number.as_deref(),
    )
    .await?;
    Ok(found.into_iter().find(|b| !b.blocked))
}

/// Handle customers read from Shopify; the effects they need.
async fn handle(
    run: &mut TaskRun<'_>,
    mode: ImportMode,
    templates: &mut CustomerTemplates,
    customers: &[ShopifyCustomer],
    retrying: bool,
) -> Result<Vec<Effect>> {
    run.counters
        .add(counters::CUSTOMERS_READ, customers.len() as u64);
    let ids: Vec<String> = customers.iter().map(|c| c.legacy_id.to_string()).collect();
    let stored = read_many(run, CUSTOMERS, &ids).await?;
    let job_id = run.job.job_id.clone();
    let mut effects = Vec::new();
    for c in customers {
        let id = c.legacy_id.to_string();
        let (status, mut rec) = match stored.get(&id) {
            Some(r) => (
                r.status.clone().unwrap_or_default(),
                from_body::<CustomerRecord>("customer", r)?,
            ),
            None => (String::new(), CustomerRecord::default()),
        };
        if !retrying && rec.job_id.as_deref() == Some(job_id.as_str()) {
            continue; // seen twice in one window (a page boundary moved): handled once
        }
        // The newer-than guard: the latest change is our own export.
        if let Some(ours) = &rec.exported_updated_at
            && parse_time("updatedAt", &c.updated_at)?
                <= parse_time("our export's updatedAt", ours)?
        {
            run.counters.add(counters::SKIPPED_OWN_EXPORT, 1);
            continue;
        }
        rec.name = name_of(c);
        rec.shopify_id = c.id.clone();
        rec.email = c.email.clone();
        rec.phone = c.phone.clone();
        rec.updated_at = c.updated_at.clone();
        rec.job_id = Some(job_id.clone());
        let update = customer_update(c);
        let hash = update_hash(&update)?;
        let linked = status == customer_status::LINKED && rec.bc_number.is_some();
        if linked {
            if run.settings.shopify_can_update_customer
                && rec.imported_hash.as_deref() != Some(hash.as_str())
                && let Some(effect) = update_effect(run, c, &rec, update, hash).await?
            {
                effects.push(effect);
            } else {
                run.counters.add(counters::UNCHANGED, 1);
                if stored.get(&id).is_some_and(|r| {
                    from_body::<CustomerRecord>("customer", r).ok().as_ref() != Some(&rec)
                }) {
                    put_customer(run, c.legacy_id, &status, &rec).await?;
                }
            }
            continue;
        }
        if mode != ImportMode::All {
            run.counters.add(counters::SKIPPED_NOT_KNOWN, 1);
            continue;
        }
        let found = candidates(run, c).await?;
        let all: Vec<BcCustomer> = found.iter().map(|(b, _)| b.clone()).collect();
        match exact_match(c, &all) {
            Lookup::Found(number) => {
                let (bc, owner) = found
                    .iter()
                    .find(|(b, _)| b.number == number)
                    .cloned()
                    .ok_or_else(|| SyncError::Internal("a matched BC customer vanished".into()))?;
                if let Some(other) = owner.filter(|o| *o != c.id) {
                    run.counters.add(counters::UNMAPPED, 1);
                    rec.error = Some(bounded(
                        &format!(
                            "BC customer {} matches, but is linked to Shopify customer {} already",
                            preview(&number),
                            preview(&other)
                        ),
                        300,
                    ));
                    put_customer(run, c.legacy_id, customer_status::UNMAPPED, &rec).await?;
                    continue;
                }
                run.counters.add(counters::LINKED, 1);
                rec.imported_hash =
                    (!run.settings.shopify_can_update_customer).then(|| hash.clone());
                link(run, c.legacy_id, &c.id, rec.clone(), &bc).await?;
                if run.settings.shopify_can_update_customer {
                    rec.bc_number = Some(bc.number.clone());
                    if let Some(effect) = update_effect(run, c, &rec, update, hash).await? {
                        effects.push(effect);
                    }
                }
            }
            Lookup::Blocked(number) => {
                run.counters.add(counters::UNMAPPED, 1);
                rec.error = Some(format!(
                    "the only BC customer with this e-mail or phone ({}) is blocked",
                    preview(&number)
                ));
                put_customer(run, c.legacy_id, customer_status::UNMAPPED, &rec).await?;
            }
            Lookup::NotFound if !run.settings.auto_create_unknown_customers => {
                run.counters.add(counters::UNMAPPED, 1);
                rec.error = Some(
                    "no BC customer has this e-mail or phone, and auto_create_unknown_customers is off"
                        .into(),
                );
                put_customer(run, c.legacy_id, customer_status::UNMAPPED, &rec).await?;
            }
            Lookup::NotFound => match templates
                .for_country(run, country_of(c.default_address.as_ref()))
                .await?
                .and_then(|defaults| mapping::new_customer(c, &defaults))
            {
                Err(reason) => {
                    run.counters.add(counters::FAILED, 1);
                    rec.error = Some(reason);
                    put_customer(run, c.legacy_id, customer_status::ERROR, &rec).await?;
                }
                Ok(new) => {
                    // The index may lag BC: ask BC itself before creating.
                    let live =
                        live_match(run, new.email.as_deref(), new.phone_number.as_deref()).await?;
                    if let Some(bc) = live.iter().find(|b| !b.blocked) {
                        run.counters.add(counters::LINKED, 1);
                        rec.imported_hash = Some(hash.clone());
                        link(run, c.legacy_id, &c.id, rec, bc).await?;
                        continue;
                    }
                    effects.push(Effect::new(
                        EffectKind::Probed,
                        System::Bc,
                        format!("customer {} to BC", c.legacy_id),
                        serde_json::to_value(Op::CreateInBc {
                            shopify_id: c.id.clone(),
                            legacy_id: c.legacy_id,
                            name: rec.name.clone(),
                            updated_at: c.updated_at.clone(),
                            customer: new,
                            update_hash: hash,
                        })
                        .map_err(|e| SyncError::Internal(format!("serialising: {e}")))?,
                    ));
                }
            },
        }
    }
    Ok(effects)
}

/// The update of a linked customer's BC customer, if there is anything to write.
async fn update_effect(
    run: &TaskRun<'_>,
    c: &ShopifyCustomer,
    rec: &CustomerRecord,
    update: CustomerUpdate,
    hash: String,
) -> Result<Option<Effect>> {
    let Some(number) = rec.bc_number.clone() else {
        return Ok(None);
    };
    let Some(r) = run
        .stores
        .records
        .get_record(run.shop(), BC_CUSTOMERS, &number)
        .await?
    else {
        return Ok(None);
    };
    let bc: BcCustomerRecord = from_body("BC customer", &r)?;
    if update.is_empty() || bc.id.is_empty() {
        return Ok(None);
    }
    Ok(Some(Effect::new(
        EffectKind::Replayable,
        System::Bc,
        format!(
            "customer {} to BC customer {}",
            c.legacy_id,
            preview(&number)
        ),
        serde_json::to_value(Op::UpdateInBc {
            legacy_id: c.legacy_id,
            bc_number: number,
            bc_id: bc.id,
            updated_at: c.updated_at.clone(),
            update,
            update_hash: hash,
        })
        .map_err(|e| SyncError::Internal(format!("serialising: {e}")))?,
    )))
}
