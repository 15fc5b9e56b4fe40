//! `sync-companies` (reference report 30114): Shopify B2B companies → BC customers (import), changed
//! BC customers of linked companies → Shopify (export), with a mirror in the record store.
//!
//! A run takes these planning steps (each checkpointed, so a big first sync spans invocations):
//!
//! 1. **Open.** The Shopify window is fixed: `until` = the run's start, `since` = the stored cursor
//!    minus [`OVERLAP_SECS`] (none on the first run: every company).
//! 2. **BC scan** (`can_update_shopify_companies`). BC customers modified since the BC cursor (minus
//!    the overlap: BC stamps `lastModifiedDateTime` before its transaction commits) that are linked
//!    to a company refresh their [`COMPANY_LINKS`] record; one whose rebuilt export hashes
//!    differently from what was last sent is marked `export_pending`.
//! 3. **Import**, one Shopify page a step, per `company_import_from_shopify`: `all` maps and (with
//!    `auto_create_unknown_companies`) creates; `with_order_import` only refreshes known companies.
//!    Mapping per `company_mapping_type`: the main contact's e-mail, else phone, *exactly*
//!    (asked of BC itself, then held against [`shopsync_domain::contact`]'s rules — BC's filter
//!    is not trusted to be exact); the first location's tax registration id against BC's
//!    `taxRegistrationNumber` (`by_tax_id`: asked of BC as given and in its normalised spelling,
//!    then held against [`tax_id_key`], exact after dropping case, spaces, dots, dashes and
//!    slashes); or `default_company_no`. A BC customer is created from the template defaults as a
//!    **probed** effect: after an unknown outcome BC is searched by what identified the company —
//!    the e-mail and phone that were sent, or with `by_tax_id` the tax registration number that
//!    was sent — before anything is sent again, and every creation is preceded by the same
//!    search, so a lost answer of an earlier job links instead of duplicating.
//!    At the window's end the Shopify cursor moves to `until`.
//! 4. **Retry.** Companies left in `error` by earlier runs are read again by id and handled as in
//!    the import, so a failure is not forgotten when the cursor moves past it; then the companies
//!    B2B orders `requested` ([`customer_of_company`]) are read by id and imported, whatever the
//!    import mode and however old their `updatedAt`.
//! 5. **Export** (`can_update_shopify_companies`): every `export_pending` link gets one export
//!    (`companyUpdate` + `companyLocationUpdate`); the hash of what was sent is stored, so unchanged
//!    data sends nothing.
//!
//! **One failing company never aborts the run** (the reference's import does, and its cursor then
//! stops): a company BC refuses, whose data cannot make a customer, or whose lookup BC answers with
//! a permanent error is recorded with status `error` and its reason and the run goes on; retryable
//! failures end the invocation and the engine resumes from the checkpoint. The cursor moves when
//! the window is read, whatever individual companies did — their state is in their records.
//!
//! Known gaps: `shopify_can_update_companies` (Shopify → BC updates of linked companies) is not
//! applied. Mapping by tax id asks BC only (there is no index of tax ids as there is of contacts):
//! a BC customer whose tax id is stored with separators (`GB 123 456 789`) is found only by a
//! company that spells it the same way; one stored in the plain form is found by every spelling.
//! The reference's `Company Tax Id Mapping` choice (`Registration No.` or `VAT Registration No.`)
//! is not offered: API v2.0 exposes only the VAT Registration No. A created customer takes its
//! template's defaults as in `sync-customers` (by the country of the first location's billing
//! address; [`crate::customer_templates`]).

pub mod records;
#[cfg(test)]
mod tests;

use crate::contacts::{
    ErroredRecord, advance_cursor, decode, ensure_progress, reread_errored, window_since,
    write_cursor,
};
use crate::customer_templates::{CustomerTemplates, country_of};
use crate::customers::records::{from_body, hash_of, index_ids, keys_of, read_many, to_body};
use crate::engine::{Effect, EffectKind, Planned, Settled, Task, TaskRun};
use crate::orders::sync::{format_time, parse_time};
use async_trait::async_trait;
use records::{
    BC_CURSOR, BcCopy, COMPANY_BC_CUSTOMERS, COMPANY_CONTACTS, CompanyRecord, ContactEntry,
    LinkRecord, SHOPIFY_CURSOR, export_of,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use shopsync_domain::catalogue::System;
use shopsync_domain::companies::{
    COMPANIES, COMPANY_LINKS, CompanyExport, CompanyExportOutcome, ShopifyCompany, company_status,
};
use shopsync_domain::contact::{
    ContactKind, contact_index_id, email_key, phone_key, same_email, same_phone, same_tax_id,
    tax_id_key,
};
use shopsync_domain::customers::postal_address;
use shopsync_domain::patterns::is_bc_code;
use shopsync_domain::ports::{Record, Result};
use shopsync_domain::sales::{BcCustomer, CustomerDefaults, CustomerType, NewCustomer, limits};
use shopsync_domain::settings::{CompanyMappingType, ImportScope, ShopSettings};
use shopsync_domain::text::{bounded, preview};
use shopsync_domain::{SyncError, TaskKind};
use std::collections::BTreeMap;
use time::OffsetDateTime;

pub use crate::contacts::OVERLAP_SECS;
/// Records listed per step in the retry and export passes.
const PASS_PAGE: usize = 50;

/// The task.
#[derive(Debug, Default, Clone, Copy)]
pub struct SyncCompaniesTask;

/// Where planning is.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    #[default]
    Open,
    BcScan,
    Import,
    Retry,
    /// Companies B2B orders named before this task had seen them.
    Requested,
    Export,
    Done,
}

/// The task's resume state, checkpointed with the engine's.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct SyncState {
    #[serde(default)]
    pub phase: Phase,
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
    /// Template customers read in this invocation (not checkpointed: a resumed run reads again).
    #[serde(skip)]
    pub templates: CustomerTemplates,
}

/// Counter names this task reports.
pub mod counters {
    pub const BC_CUSTOMERS_READ: &str = "bc_customers_read";
    pub const PAGES_READ: &str = "company_pages_read";
    pub const COMPANIES_READ: &str = "companies_read";
    pub const SKIPPED_OWN_EXPORT: &str = "companies_skipped_own_export";
    pub const SKIPPED_NOT_KNOWN: &str = "companies_skipped_not_known";
    pub const UNCHANGED: &str = "companies_unchanged";
    pub const LINKED: &str = "companies_linked";
    pub const UNMAPPED: &str = "companies_unmapped";
    pub const FAILED: &str = "companies_failed";
    pub const CREATED_IN_BC: &str = "companies_created_in_bc";
    pub const EXPORTED: &str = "companies_exported";
    pub const EXPORT_REFUSED: &str = "companies_export_refused";
    pub const RETRIED: &str = "companies_retried";
}

/// What the import does with companies it does not know yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ImportMode {
    Off,
    KnownOnly,
    All,
}

fn import_mode(settings: &ShopSettings) -> ImportMode {
    match settings.company_import_from_shopify {
        ImportScope::None => ImportMode::Off,
        ImportScope::WithOrderImport => ImportMode::KnownOnly,
        ImportScope::All => ImportMode::All,
    }
}

/// One effect's payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    /// Create the BC customer of a company (probed by the tax registration number sent, if any;
    /// else by the e-mail, then phone, sent).
    CreateInBc {
        legacy_id: u64,
        customer: Box<NewCustomer>,
    },
    /// Export a linked BC customer's data to its company.
    ExportToShopify {
        bc_number: String,
        legacy_id: u64,
        export: CompanyExport,
        hash: String,
    },
}

fn payload(op: &Op) -> Result<Value> {
    serde_json::to_value(op).map_err(|e| SyncError::Internal(format!("serialising: {e}")))
}

#[async_trait]
impl Task for SyncCompaniesTask {
    type State = SyncState;

    fn kind(&self) -> TaskKind {
        TaskKind::SyncCompanies
    }

    fn skip_reason(&self, settings: &ShopSettings) -> Option<String> {
        (import_mode(settings) == ImportMode::Off && !settings.can_update_shopify_companies).then(
            || {
                "nothing to sync: company_import_from_shopify is none and can_update_shopify_companies is off"
                    .to_string()
            },
        )
    }

    async fn plan(&self, run: &mut TaskRun<'_>, state: &mut SyncState) -> Result<Planned> {
        match state.phase {
            Phase::Open => {
                open(run, state).await?;
                state.phase = Phase::BcScan;
                Ok(Planned::more(Vec::new()))
            }
            Phase::BcScan => {
                if run.settings.can_update_shopify_companies || needs_index(run.settings) {
                    bc_scan(run).await?;
                }
                state.phase = if import_mode(run.settings) == ImportMode::Off {
                    Phase::Export
                } else {
                    Phase::Import
                };
                Ok(Planned::more(Vec::new()))
            }
            Phase::Import => Ok(Planned::more(import_step(run, state).await?)),
            Phase::Retry => Ok(Planned::more(
                reread_step(run, state, company_status::ERROR, Phase::Requested).await?,
            )),
            Phase::Requested => Ok(Planned::more(
                reread_step(run, state, company_status::REQUESTED, Phase::Export).await?,
            )),
            Phase::Export => {
                if !run.settings.can_update_shopify_companies {
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
        let answer = match effect.payload_as::<Op>()? {
            Op::CreateInBc { customer, .. } => run
                .clients
                .bc
                .create_customer(&customer)
                .await
                .map(|c| json!({ "customer": c })),
            Op::ExportToShopify { export, .. } => run
                .clients
                .shopify
                .company_export(&export)
                .await
                .map(|o| json!({ "export": o })),
        };
        match answer {
            Ok(v) => Ok(v),
            // Retryable failures end the invocation; the engine resends or probes the effect.
            Err(e) if e.is_retryable() => Err(e),
            // A permanent refusal belongs to this company only: recorded, the run goes on.
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
        // A creation by tax id is probed by it alone: the e-mail could name another customer.
        let found = match customer.tax_registration_number.as_deref() {
            Some(tax_id) => tax_match(run, tax_id).await?,
            None => {
                live_match(
                    run,
                    customer.email.as_deref(),
                    customer.phone_number.as_deref(),
                )
                .await?
            }
        };
        Ok(found
            .into_iter()
            .find(|b| !b.blocked)
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
            Op::CreateInBc { legacy_id, .. } => {
                let Some((_, mut rec)) = get_company(run, legacy_id).await? else {
                    return Ok(Settled::default());
                };
                if let Some(reason) = error {
                    run.counters.add(counters::FAILED, 1);
                    rec.error = Some(reason);
                    put_company(run, legacy_id, company_status::ERROR, &rec).await?;
                    return Ok(Settled::default());
                }
                let created: BcCustomer = decode("sync-companies", outcome, "customer")?;
                run.counters.add(counters::CREATED_IN_BC, 1);
                link(run, legacy_id, rec, &created.number, Some(&created)).await?;
            }
            Op::ExportToShopify {
                bc_number,
                legacy_id,
                hash,
                ..
            } => {
                let Some(r) = run
                    .stores
                    .records
                    .get_record(run.shop(), COMPANY_LINKS, &bc_number)
                    .await?
                else {
                    return Ok(Settled::default());
                };
                let mut link_rec: LinkRecord = from_body("company link", &r)?;
                let answered: Option<CompanyExportOutcome> = match &error {
                    Some(_) => None,
                    None => Some(decode("sync-companies", outcome, "export")?),
                };
                let refused = match (&error, &answered) {
                    (Some(e), _) => Some(e.clone()),
                    (None, Some(o)) if !o.user_errors.is_empty() || o.updated_at.is_none() => {
                        let text = o
                            .user_errors
                            .iter()
                            .map(|e| e.message.clone())
                            .collect::<Vec<_>>()
                            .join("; ");
                        Some(if text.is_empty() {
                            "Shopify answered no company".to_string()
                        } else {
                            bounded(&text, 300)
                        })
                    }
                    _ => None,
                };
                if let Some(reason) = refused {
                    // Stays export_pending: sent again by the next run.
                    run.counters.add(counters::EXPORT_REFUSED, 1);
                    link_rec.export_error = Some(reason);
                    put_link(
                        run,
                        &bc_number,
                        Some(company_status::EXPORT_PENDING),
                        &link_rec,
                    )
                    .await?;
                    return Ok(Settled::default());
                }
                run.counters.add(counters::EXPORTED, 1);
                link_rec.export_error = None;
                put_link(run, &bc_number, None, &link_rec).await?;
                if let Some((status, mut rec)) = get_company(run, legacy_id).await? {
                    rec.sent_hash = Some(hash);
                    // The newer-than guard: our own change must not come back as an import.
                    rec.exported_updated_at = answered.and_then(|o| o.updated_at);
                    put_company(run, legacy_id, &status, &rec).await?;
                }
            }
        }
        Ok(Settled::default())
    }
}

// ---------------------------------------------------------------------------------------------
// Cursors
// ---------------------------------------------------------------------------------------------

// ---------------------------------------------------------------------------------------------
// Steps
// ---------------------------------------------------------------------------------------------

async fn open(run: &TaskRun<'_>, state: &mut SyncState) -> Result<()> {
    state.until = Some(format_time(OffsetDateTime::now_utc())?);
    state.since = window_since(run, SHOPIFY_CURSOR, "companies").await?;
    state.after = None;
    state.pass_after = None;
    Ok(())
}

/// The BC customers changed since the BC cursor that are linked to a company: their link records
/// refreshed, marked `export_pending` when what the export would send changed.
async fn bc_scan(run: &mut TaskRun<'_>) -> Result<()> {
    let since = window_since(run, BC_CURSOR, "companies").await?;
    let changed = run
        .clients
        .bc
        .customers_modified_since(since.as_deref())
        .await?;
    run.counters
        .add(counters::BC_CUSTOMERS_READ, changed.len() as u64);
    let mut newest: Option<OffsetDateTime> = None;
    for c in &changed {
        if let Ok(t) = parse_time("lastModifiedDateTime", &c.last_modified) {
            newest = Some(newest.map_or(t, |n| n.max(t)));
        }
    }
    for chunk in changed.chunks(100) {
        let usable: Vec<&BcCustomer> = chunk
            .iter()
            .filter(|c| is_bc_code(&c.number, limits::NUMBER))
            .collect();
        let ids: Vec<String> = usable.iter().map(|c| c.number.clone()).collect();
        if needs_index(run.settings) {
            index(run, &usable, &ids).await?;
        }
        if !run.settings.can_update_shopify_companies {
            continue;
        }
        let links = read_many(run, COMPANY_LINKS, &ids).await?;
        for c in usable {
            let Some(r) = links.get(&c.number) else {
                continue;
            };
            let mut link_rec: LinkRecord = from_body("company link", r)?;
            let Some((_, company)) = get_company(run, link_rec.legacy_id).await? else {
                continue;
            };
            link_rec.customer = Some(c.clone());
            let status = match export_of(&company, c) {
                Some(export) if company.sent_hash.as_deref() != Some(&hash_of(&export)?) => {
                    Some(company_status::EXPORT_PENDING)
                }
                _ => r
                    .status
                    .as_deref()
                    .filter(|_| link_rec.export_error.is_some()),
            };
            put_link(run, &c.number, status, &link_rec).await?;
        }
    }
    advance_cursor(run, BC_CURSOR, "companies", newest).await?;
    Ok(())
}

/// Whether mapping needs the contact index (mapping by e-mail/phone of new companies).
fn needs_index(settings: &ShopSettings) -> bool {
    import_mode(settings) == ImportMode::All
        && settings.company_mapping_type == CompanyMappingType::ByEmailPhone
}

/// Refresh the copies of changed BC customers and move them in the contact index.
async fn index(run: &TaskRun<'_>, customers: &[&BcCustomer], ids: &[String]) -> Result<()> {
    let stored = read_many(run, COMPANY_BC_CUSTOMERS, ids).await?;
    let mut copies = Vec::new();
    let mut adds: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut drops: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for c in customers {
        let (email, phone) = keys_of(c);
        let old = match stored.get(&c.number) {
            Some(r) => Some(from_body::<BcCopy>("BC customer copy", r)?),
            None => None,
        };
        let old_ids = old
            .as_ref()
            .map(|o| index_ids(o.email_key.as_deref(), o.phone_key.as_deref()))
            .unwrap_or_default();
        let new_ids = index_ids(email.as_deref(), phone.as_deref());
        for id in &old_ids {
            if !new_ids.contains(id) {
                drops.entry(id.clone()).or_default().push(c.number.clone());
            }
        }
        for id in &new_ids {
            if !old_ids.contains(id) {
                adds.entry(id.clone()).or_default().push(c.number.clone());
            }
        }
        let copy = BcCopy {
            customer: (*c).clone(),
            email_key: email,
            phone_key: phone,
        };
        if old.as_ref() != Some(&copy) {
            copies.push(Record::new(c.number.clone(), None, to_body(&copy)?));
        }
    }
    let touched: Vec<String> = adds.keys().chain(drops.keys()).cloned().collect();
    let entries = read_many(run, COMPANY_CONTACTS, &touched).await?;
    let mut writes = Vec::new();
    for id in adds
        .keys()
        .chain(drops.keys())
        .collect::<std::collections::BTreeSet<_>>()
    {
        let mut entry: ContactEntry = match entries.get(id) {
            Some(r) => from_body("contact entry", r)?,
            None => ContactEntry::default(),
        };
        for n in drops.get(id).into_iter().flatten() {
            entry.numbers.remove(n);
        }
        for n in adds.get(id).into_iter().flatten() {
            entry.numbers.insert(n.clone());
        }
        writes.push(Record::new(id.clone(), None, to_body(&entry)?));
    }
    for w in writes.chunks(25) {
        run.stores
            .records
            .put_records(run.shop(), COMPANY_CONTACTS, w)
            .await?;
    }
    for w in copies.chunks(25) {
        run.stores
            .records
            .put_records(run.shop(), COMPANY_BC_CUSTOMERS, w)
            .await?;
    }
    Ok(())
}

/// The BC customers the contact index names for a normalised e-mail or phone, as last read.
async fn indexed(run: &TaskRun<'_>, kind: ContactKind, key: &str) -> Result<Vec<BcCustomer>> {
    let id = contact_index_id(kind, key);
    let Some(r) = run
        .stores
        .records
        .get_record(run.shop(), COMPANY_CONTACTS, &id)
        .await?
    else {
        return Ok(Vec::new());
    };
    let entry: ContactEntry = from_body("contact entry", &r)?;
    let numbers: Vec<String> = entry.numbers.into_iter().collect();
    let copies = read_many(run, COMPANY_BC_CUSTOMERS, &numbers).await?;
    copies
        .values()
        .map(|r| from_body::<BcCopy>("BC customer copy", r).map(|c| c.customer))
        .collect()
}

/// One page of the Shopify window.
async fn import_step(run: &mut TaskRun<'_>, state: &mut SyncState) -> Result<Vec<Effect>> {
    let until = state.until.clone().ok_or_else(|| {
        SyncError::Internal("sync-companies imports a window it never opened".into())
    })?;
    let page = run
        .clients
        .shopify
        .companies_updated_since(state.since.as_deref(), &until, state.after.as_deref())
        .await?;
    run.counters.add(counters::PAGES_READ, 1);
    ensure_progress(&page.next_cursor, &state.after, "companies")?;
    let effects = handle(run, &mut state.templates, &page.items, false).await?;
    state.after = page.next_cursor;
    if state.after.is_none() {
        // The window is read: what individual companies still owe is in their records.
        write_cursor(run, SHOPIFY_CURSOR, &until).await?;
        state.phase = Phase::Retry;
        state.pass_after = None;
    }
    Ok(effects)
}

#[async_trait]
impl ErroredRecord for CompanyRecord {
    type Contact = ShopifyCompany;
    const WHAT: &'static str = "company";
    fn shopify_id(&self) -> &str {
        &self.shopify_id
    }
    fn job_id(&self) -> Option<&str> {
        self.job_id.as_deref()
    }
    async fn fetch(run: &TaskRun<'_>, shopify_id: &str) -> Result<Option<Self::Contact>> {
        run.clients.shopify.company(shopify_id).await
    }
}

/// One page of the companies with `status` (left in `error`, or `requested` by an order): read
/// again by id and handled again; `next` is the phase after the last page.
async fn reread_step(
    run: &mut TaskRun<'_>,
    state: &mut SyncState,
    status: &str,
    next: Phase,
) -> Result<Vec<Effect>> {
    let (fresh, next_after) = reread_errored::<CompanyRecord>(
        run,
        COMPANIES,
        status,
        state.pass_after.as_deref(),
        PASS_PAGE,
    )
    .await?;
    run.counters.add(counters::RETRIED, fresh.len() as u64);
    let effects = handle(run, &mut state.templates, &fresh, true).await?;
    state.pass_after = next_after;
    if state.pass_after.is_none() {
        state.phase = next;
    }
    Ok(effects)
}

/// One page of the links waiting for their export.
async fn export_step(run: &mut TaskRun<'_>, state: &mut SyncState) -> Result<Vec<Effect>> {
    let page = run
        .stores
        .records
        .list_by_status(
            run.shop(),
            COMPANY_LINKS,
            company_status::EXPORT_PENDING,
            state.pass_after.as_deref(),
            PASS_PAGE,
        )
        .await?;
    let mut effects = Vec::new();
    for r in &page.records {
        let link_rec: LinkRecord = from_body("company link", r)?;
        let company = get_company(run, link_rec.legacy_id).await?;
        let export = match (&company, &link_rec.customer) {
            (Some((_, company)), Some(customer)) => export_of(company, customer),
            _ => None,
        };
        let Some(export) = export else {
            // Nothing to export to (no location, or the company is gone).
            put_link(run, &r.id, None, &link_rec).await?;
            continue;
        };
        let hash = hash_of(&export)?;
        if company.as_ref().and_then(|c| c.1.sent_hash.as_deref()) == Some(hash.as_str()) {
            put_link(run, &r.id, None, &link_rec).await?;
            continue;
        }
        effects.push(Effect::new(
            EffectKind::Replayable,
            System::Shopify,
            format!(
                "company {} from BC customer {}",
                link_rec.legacy_id,
                preview(&r.id)
            ),
            payload(&Op::ExportToShopify {
                bc_number: r.id.clone(),
                legacy_id: link_rec.legacy_id,
                export,
                hash,
            })?,
        ));
    }
    state.pass_after = page.next_after;
    if state.pass_after.is_none() {
        state.phase = Phase::Done;
    }
    Ok(effects)
}

// ---------------------------------------------------------------------------------------------
// Records
// ---------------------------------------------------------------------------------------------

async fn get_company(run: &TaskRun<'_>, legacy_id: u64) -> Result<Option<(String, CompanyRecord)>> {
    match run
        .stores
        .records
        .get_record(run.shop(), COMPANIES, &legacy_id.to_string())
        .await?
    {
        Some(r) => Ok(Some((
            r.status.clone().unwrap_or_default(),
            from_body("company", &r)?,
        ))),
        None => Ok(None),
    }
}

/// The BC customer a B2B order's company is linked to (`Ok(number)`), or why the order has none
/// yet (`Err(reason)`). A company this task has not seen is recorded as
/// [`company_status::REQUESTED`] (created only if absent, so a link written meanwhile is kept): the
/// next sync-companies run imports it, and create-sales-orders maps the order once it is linked —
/// the reference's order import, which imports an order's company on the spot.
pub async fn customer_of_company(
    run: &TaskRun<'_>,
    legacy_id: u64,
    company_id: &str,
) -> Result<std::result::Result<String, String>> {
    let waiting = || {
        format!(
            "B2B company {} is not imported yet: sync-companies imports it on its next run",
            preview(company_id)
        )
    };
    for _ in 0..2 {
        let Some((status, rec)) = get_company(run, legacy_id).await? else {
            let rec = CompanyRecord {
                shopify_id: company_id.to_string(),
                ..CompanyRecord::default()
            };
            let requested = Record::new(
                legacy_id.to_string(),
                Some(company_status::REQUESTED),
                to_body(&rec)?,
            );
            if run
                .stores
                .records
                .put_record_if(run.shop(), COMPANIES, &requested)
                .await?
            {
                return Ok(Err(waiting()));
            }
            continue; // written meanwhile: read what it is now
        };
        let name = if rec.name.trim().is_empty() {
            preview(company_id)
        } else {
            preview(&rec.name)
        };
        return Ok(match (status.as_str(), rec.bc_number) {
            (company_status::LINKED, Some(no)) if !no.trim().is_empty() => Ok(no),
            (company_status::REQUESTED, _) => Err(waiting()),
            (status, _) => Err(bounded(
                &format!(
                    "B2B company {name} is {status} in sync-companies: {}",
                    rec.error
                        .as_deref()
                        .unwrap_or("no BC customer is linked to it")
                ),
                300,
            )),
        });
    }
    Ok(Err(waiting()))
}

async fn put_company(
    run: &TaskRun<'_>,
    legacy_id: u64,
    status: &str,
    rec: &CompanyRecord,
) -> Result<()> {
    let status = (!status.is_empty()).then_some(status);
    run.stores
        .records
        .put_records(
            run.shop(),
            COMPANIES,
            &[Record::new(legacy_id.to_string(), status, to_body(rec)?)],
        )
        .await
}

async fn put_link(
    run: &TaskRun<'_>,
    bc_number: &str,
    status: Option<&str>,
    rec: &LinkRecord,
) -> Result<()> {
    run.stores
        .records
        .put_records(
            run.shop(),
            COMPANY_LINKS,
            &[Record::new(bc_number, status, to_body(rec)?)],
        )
        .await
}

/// Link a company to `bc` (found or made): the company's record `linked`, and (for a customer of
/// its own, not the default company) the link record naming it, due for export when exports are on.
async fn link(
    run: &TaskRun<'_>,
    legacy_id: u64,
    mut rec: CompanyRecord,
    number: &str,
    customer: Option<&BcCustomer>,
) -> Result<()> {
    rec.bc_number = Some(number.to_string());
    rec.error = None;
    if let Some(bc) = customer
        && is_bc_code(&bc.number, limits::NUMBER)
    {
        let link_rec = LinkRecord {
            legacy_id,
            company_id: rec.shopify_id.clone(),
            customer: Some(bc.clone()),
            export_error: None,
        };
        let status = run
            .settings
            .can_update_shopify_companies
            .then_some(company_status::EXPORT_PENDING);
        put_link(run, &bc.number, status, &link_rec).await?;
    }
    put_company(run, legacy_id, company_status::LINKED, &rec).await
}

/// BC customers with exactly `email`, or else `phone` — asked of BC (which finds values as stored)
/// and of the contact index (which finds other spellings of the same value, as of the last scan),
/// then held against the exact rules; by number, a live answer before an indexed copy.
async fn live_match(
    run: &TaskRun<'_>,
    email: Option<&str>,
    phone: Option<&str>,
) -> Result<Vec<BcCustomer>> {
    let mut found = Vec::new();
    if let Some((e, key)) = email.and_then(|e| email_key(e).map(|k| (e, k))) {
        let mut all = run.clients.bc.find_customer_by_email(e).await?;
        all.extend(indexed(run, ContactKind::Email, &key).await?);
        found.extend(all.into_iter().filter(|b| same_email(&b.email, e)));
    }
    if found.is_empty()
        && let Some((p, key)) = phone.and_then(|p| phone_key(p).map(|k| (p, k)))
    {
        let mut all = run.clients.bc.find_customer_by_phone(p).await?;
        all.extend(indexed(run, ContactKind::Phone, &key).await?);
        found.extend(all.into_iter().filter(|b| same_phone(&b.phone_number, p)));
    }
    found.sort_by(|a, b| a.number.cmp(&b.number));
    found.dedup_by(|a, b| a.number == b.number);
    Ok(found)
}

/// BC customers whose tax registration number is `tax_id` after [`tax_id_key`] — asked of BC
/// (which compares as stored), then held against the key; by number.
async fn tax_match(run: &TaskRun<'_>, tax_id: &str) -> Result<Vec<BcCustomer>> {
    if tax_id_key(tax_id).is_none() {
        return Ok(Vec::new());
    }
    let mut found: Vec<BcCustomer> = run
        .clients
        .bc
        .find_customer_by_tax_registration(tax_id.trim())
        .await?
        .into_iter()
        .filter(|b| same_tax_id(&b.tax_registration_number, tax_id))
        .collect();
    found.sort_by(|a, b| a.number.cmp(&b.number));
    found.dedup_by(|a, b| a.number == b.number);
    Ok(found)
}

/// The BC customer to create for a company; `Err` with the reason when it cannot be made safely.
/// `tax_id` (mapping by tax id) is sent as its `taxRegistrationNumber` and is what a lost answer
/// is probed by; without it the main contact's e-mail or phone must be there to probe by.
fn new_customer(
    c: &ShopifyCompany,
    defaults: &CustomerDefaults,
    tax_id: Option<&str>,
) -> std::result::Result<NewCustomer, String> {
    let contact = c.main_contact.as_ref();
    let email = contact
        .and_then(|m| m.email.as_deref())
        .filter(|e| email_key(e).is_some());
    let phone = contact
        .and_then(|m| m.phone.as_deref())
        .filter(|p| phone_key(p).is_some());
    if tax_id.is_none() && email.is_none() && phone.is_none() {
        // Without either, a lost answer could not be told apart from no creation at all.
        return Err(
            "the main contact has no e-mail or phone: a BC customer is not created without one"
                .into(),
        );
    }
    let name = c.name.trim();
    if name.is_empty() {
        return Err("the company has no name".into());
    }
    let address = c
        .locations
        .first()
        .and_then(|l| l.billing_address.as_ref())
        .map(postal_address)
        .unwrap_or_default();
    Ok(NewCustomer::from_template(
        defaults,
        name,
        CustomerType::Company,
        email,
        phone,
        &address,
    )
    .with_tax_registration_number(tax_id))
}

/// Handle companies read from Shopify; the effects they need.
async fn handle(
    run: &mut TaskRun<'_>,
    templates: &mut CustomerTemplates,
    companies: &[ShopifyCompany],
    retrying: bool,
) -> Result<Vec<Effect>> {
    run.counters
        .add(counters::COMPANIES_READ, companies.len() as u64);
    let ids: Vec<String> = companies.iter().map(|c| c.legacy_id.to_string()).collect();
    let stored = read_many(run, COMPANIES, &ids).await?;
    let job_id = run.job.job_id.clone();
    let mode = import_mode(run.settings);
    let mut effects = Vec::new();
    // Contacts whose creation this step plans: a second company with one of them waits.
    let mut creating: Vec<String> = Vec::new();
    for c in companies {
        let id = c.legacy_id.to_string();
        let (status, old) = match stored.get(&id) {
            Some(r) => (
                r.status.clone().unwrap_or_default(),
                Some(from_body::<CompanyRecord>("company", r)?),
            ),
            None => (String::new(), None),
        };
        let mut rec = old.clone().unwrap_or_default();
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
        rec.refresh(c);
        if status == company_status::LINKED && rec.bc_number.is_some() {
            run.counters.add(counters::UNCHANGED, 1);
            rec.job_id = old.as_ref().and_then(|o| o.job_id.clone());
            if old.as_ref() != Some(&rec) {
                rec.job_id = Some(job_id.clone());
                put_company(run, c.legacy_id, &status, &rec).await?;
            }
            continue;
        }
        rec.job_id = Some(job_id.clone());
        // A company an order asked for is imported whatever the mode (with_order_import).
        if mode != ImportMode::All && status != company_status::REQUESTED {
            run.counters.add(counters::SKIPPED_NOT_KNOWN, 1);
            continue;
        }
        match map_one(run, templates, c, &mut rec, &mut creating).await {
            Ok(Some(effect)) => effects.push(effect),
            Ok(None) => {}
            Err(e) if e.is_retryable() => return Err(e),
            Err(e) => {
                // This company's lookup failed for good: recorded, the others go on.
                run.counters.add(counters::FAILED, 1);
                rec.error = Some(bounded(&e.to_string(), 300));
                put_company(run, c.legacy_id, company_status::ERROR, &rec).await?;
            }
        }
    }
    Ok(effects)
}

/// Map one company not linked yet: linked, unmapped, in error, or a creation to make.
async fn map_one(
    run: &mut TaskRun<'_>,
    templates: &mut CustomerTemplates,
    c: &ShopifyCompany,
    rec: &mut CompanyRecord,
    creating: &mut Vec<String>,
) -> Result<Option<Effect>> {
    let unmapped = |rec: &mut CompanyRecord, why: String| {
        rec.error = Some(bounded(&why, 300));
    };
    if run.settings.company_mapping_type == CompanyMappingType::DefaultCompany {
        let number = run.settings.default_company_no.clone().unwrap_or_default();
        run.counters.add(counters::LINKED, 1);
        link(run, c.legacy_id, rec.clone(), &number, None).await?;
        return Ok(None);
    }
    let email = rec.contact_email.clone();
    let phone = rec.contact_phone.clone();
    // By tax id: the first location's tax registration id, and nothing else, identifies it.
    let tax_id = (run.settings.company_mapping_type == CompanyMappingType::ByTaxId).then(|| {
        rec.tax_registration_id
            .clone()
            .filter(|t| tax_id_key(t).is_some())
    });
    let (keys, what): (Vec<String>, &str) = match &tax_id {
        Some(t) => (
            t.as_deref()
                .and_then(tax_id_key)
                .map(|k| format!("t:{k}"))
                .into_iter()
                .collect(),
            "the company's tax registration id",
        ),
        None => (
            [
                email
                    .as_deref()
                    .and_then(email_key)
                    .map(|k| format!("e:{k}")),
                phone
                    .as_deref()
                    .and_then(phone_key)
                    .map(|k| format!("p:{k}")),
            ]
            .into_iter()
            .flatten()
            .collect(),
            "the main contact's e-mail or phone",
        ),
    };
    if keys.is_empty() {
        run.counters.add(counters::UNMAPPED, 1);
        let why = if tax_id.is_some() {
            "the company has no tax registration id to match a BC customer by"
        } else {
            "the main contact has no e-mail or phone to match a BC customer by"
        };
        unmapped(rec, why.into());
        put_company(run, c.legacy_id, company_status::UNMAPPED, rec).await?;
        return Ok(None);
    }
    let tax_id = tax_id.flatten();
    let found = match tax_id.as_deref() {
        Some(t) => tax_match(run, t).await?,
        None => live_match(run, email.as_deref(), phone.as_deref()).await?,
    };
    if let Some(bc) = found.iter().find(|b| !b.blocked) {
        let owner = if is_bc_code(&bc.number, limits::NUMBER) {
            run.stores
                .records
                .get_record(run.shop(), COMPANY_LINKS, &bc.number)
                .await?
                .map(|r| from_body::<LinkRecord>("company link", &r))
                .transpose()?
                .filter(|l| l.legacy_id != c.legacy_id)
        } else {
            None
        };
        if let Some(other) = owner {
            run.counters.add(counters::UNMAPPED, 1);
            unmapped(
                rec,
                format!(
                    "BC customer {} matches, but is linked to company {} already",
                    preview(&bc.number),
                    other.legacy_id
                ),
            );
            put_company(run, c.legacy_id, company_status::UNMAPPED, rec).await?;
            return Ok(None);
        }
        run.counters.add(counters::LINKED, 1);
        link(run, c.legacy_id, rec.clone(), &bc.number, Some(bc)).await?;
        return Ok(None);
    }
    if let Some(blocked) = found.first() {
        run.counters.add(counters::UNMAPPED, 1);
        unmapped(
            rec,
            format!(
                "the only BC customer with {what} ({}) is blocked",
                preview(&blocked.number)
            ),
        );
        put_company(run, c.legacy_id, company_status::UNMAPPED, rec).await?;
        return Ok(None);
    }
    if !run.settings.auto_create_unknown_companies {
        run.counters.add(counters::UNMAPPED, 1);
        unmapped(
            rec,
            format!("no BC customer has {what}, and auto_create_unknown_companies is off"),
        );
        put_company(run, c.legacy_id, company_status::UNMAPPED, rec).await?;
        return Ok(None);
    }
    if keys.iter().any(|k| creating.contains(k)) {
        // Another company of this step creates a customer with this contact: this one waits for
        // the next run, which finds that customer (and reports the conflict) instead of a second.
        run.counters.add(counters::FAILED, 1);
        rec.error = Some(if tax_id.is_some() {
            "another company with the same tax registration id is being created".into()
        } else {
            "another company with the same main contact is being created".into()
        });
        put_company(run, c.legacy_id, company_status::ERROR, rec).await?;
        return Ok(None);
    }
    // The template of the country of the address the customer gets.
    let address = c.locations.first().and_then(|l| l.billing_address.as_ref());
    let defaults = templates.for_country(run, country_of(address)).await?;
    match defaults.and_then(|d| new_customer(c, &d, tax_id.as_deref())) {
        Err(reason) => {
            run.counters.add(counters::FAILED, 1);
            rec.error = Some(reason);
            put_company(run, c.legacy_id, company_status::ERROR, rec).await?;
            Ok(None)
        }
        Ok(customer) => {
            creating.extend(keys);
            // The record exists before the effect, so its settling finds it.
            put_company(
                run,
                c.legacy_id,
                company_status::ERROR,
                &CompanyRecord {
                    error: Some("being created in BC".into()),
                    ..rec.clone()
                },
            )
            .await?;
            Ok(Some(Effect::new(
                EffectKind::Probed,
                System::Bc,
                format!("company {} to BC", c.legacy_id),
                payload(&Op::CreateInBc {
                    legacy_id: c.legacy_id,
                    customer: Box::new(customer),
                })?,
            )))
        }
    }
}
