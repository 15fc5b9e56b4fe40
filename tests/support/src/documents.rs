//! [`Documents`]: a target system without idempotency keys, such as Business Central's sales
//! documents, in memory.
//!
//! BC creates a second sales order when the same POST arrives twice; the only way to make a create
//! exactly-once is to *probe* before any resend whose first outcome is unknown: look the document up
//! by a natural key the request carried (`externalDocumentNumber` = the Shopify order name) and settle
//! the effect as done if it is there. The dangerous case is the one where the write happened and the
//! answer was lost (a timeout, a reset connection, a crash right after the call). This double makes
//! that case a one-liner — [`Documents::drop_next_answers`] — and counts creations, so a test can
//! assert "one BC record, however often the run was replayed".
//!
//! Like BC, it does **not** enforce uniqueness of the natural key: a second create with the same
//! number makes a second document ([`Documents::count_with_key`] then says 2). It is generic: the
//! documents are JSON objects, the natural key is any string field, and the operations are named
//! after the kind (`"<kind>.create"`, `"<kind>.find"`, `"<kind>.get"`), so sales orders, invoices and
//! shipments can each have one, failing apart or together.

use crate::Faults;
use serde_json::Value;
use shopsync_domain::SyncError;
use shopsync_domain::ports::Result;
use std::sync::{Arc, Mutex, MutexGuard};

/// BC's natural key of a sales document (API v2.0 `salesOrders`, `salesInvoices`).
pub const EXTERNAL_DOCUMENT_NUMBER: &str = "externalDocumentNumber";

#[derive(Debug, Default)]
struct State {
    /// In creation order.
    docs: Vec<(String, Value)>,
    creations: u64,
}

/// Documents of one kind, keyed by a generated id, with a natural-key field. Clones share them.
#[derive(Debug, Clone)]
pub struct Documents {
    kind: String,
    natural_key: String,
    service: &'static str,
    state: Arc<Mutex<State>>,
    faults: Faults,
}

impl Documents {
    /// Documents of `kind` (names the operations) whose natural key is the string field
    /// `natural_key`. Transport errors of [`drop_next_answers`](Self::drop_next_answers) name the
    /// service `bc`.
    pub fn new(kind: &str, natural_key: &str) -> Documents {
        Documents {
            kind: kind.to_string(),
            natural_key: natural_key.to_string(),
            service: "bc",
            state: Arc::default(),
            faults: Faults::default(),
        }
    }

    /// BC sales documents: kind `sales_documents`, natural key [`EXTERNAL_DOCUMENT_NUMBER`].
    pub fn bc_sales_documents() -> Documents {
        Documents::new("sales_documents", EXTERNAL_DOCUMENT_NUMBER)
    }

    pub fn with_faults(mut self, faults: Faults) -> Documents {
        self.faults = faults;
        self
    }

    /// The service named by injected transport errors (`bc` by default; `shopify` for a
    /// fulfillment double).
    pub fn with_service(mut self, service: &'static str) -> Documents {
        self.service = service;
        self
    }

    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    pub fn natural_key(&self) -> &str {
        &self.natural_key
    }

    /// The name of operation `method` (`create`, `find`, `get`), for fault rules.
    pub fn op(&self, method: &str) -> String {
        format!("{}.{method}", self.kind)
    }

    /// The next `n` creates are applied, then answered with a retryable transport error (the
    /// connection reset after the request went out): the lost-answer case.
    pub fn drop_next_answers(&self, n: u32) {
        self.faults.drop_answer_next(
            &self.op("create"),
            n,
            Faults::connection_reset(self.service),
        );
    }

    /// The next `n` creates fail with a retryable transport error and create nothing.
    pub fn fail_next_creates(&self, n: u32) {
        self.faults.fail_next(
            &self.op("create"),
            n,
            Faults::connection_reset(self.service),
        );
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Create a document; returns its id (GUID-shaped, sequential:
    /// `00000000-0000-0000-0000-000000000001`, ...). The stored document is `doc` with `id` set.
    /// A body that is not a JSON object is rejected (as BC answers 400) and creates nothing.
    pub async fn create(&self, doc: Value) -> Result<String> {
        let Value::Object(mut fields) = doc else {
            return Err(SyncError::Rejected {
                service: self.service,
                code: "BadRequest".into(),
                message: format!("a {} must be a JSON object", self.kind),
            });
        };
        self.faults.run(&self.op("create"), || {
            let mut state = self.lock();
            state.creations += 1;
            let id = format!("00000000-0000-0000-0000-{:012}", state.creations);
            fields.insert("id".into(), Value::String(id.clone()));
            state.docs.push((id.clone(), Value::Object(fields)));
            Ok(id)
        })
    }

    /// The first document created whose natural key equals `value` (the probe).
    pub async fn find_by_key(&self, value: &str) -> Result<Option<Value>> {
        self.faults.run(&self.op("find"), || {
            Ok(self
                .lock()
                .docs
                .iter()
                .find(|(_, d)| d.get(&self.natural_key).and_then(Value::as_str) == Some(value))
                .map(|(_, d)| d.clone()))
        })
    }

    /// [`find_by_key`](Self::find_by_key), named for BC sales documents.
    pub async fn find_by_external_document_number(&self, number: &str) -> Result<Option<Value>> {
        self.find_by_key(number).await
    }

    pub async fn get(&self, id: &str) -> Result<Option<Value>> {
        self.faults.run(&self.op("get"), || {
            Ok(self
                .lock()
                .docs
                .iter()
                .find(|(i, _)| i == id)
                .map(|(_, d)| d.clone()))
        })
    }

    // ---- inspection: no faults, not counted ---------------------------------------------------

    /// Documents created so far (including those whose answer was dropped).
    pub fn creations(&self) -> u64 {
        self.lock().creations
    }

    /// How many documents carry natural key `value`: more than 1 is a duplicate.
    pub fn count_with_key(&self, value: &str) -> usize {
        self.lock()
            .docs
            .iter()
            .filter(|(_, d)| d.get(&self.natural_key).and_then(Value::as_str) == Some(value))
            .count()
    }

    /// Every document, in creation order.
    pub fn all(&self) -> Vec<Value> {
        self.lock().docs.iter().map(|(_, d)| d.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn order(number: &str) -> Value {
        json!({"externalDocumentNumber": number, "customerNumber": "C1"})
    }

    #[tokio::test]
    async fn a_dropped_answer_leaves_the_document_created_and_findable() {
        let docs = Documents::bc_sales_documents();
        docs.drop_next_answers(1);
        let err = docs.create(order("#1001")).await.unwrap_err();
        assert!(matches!(err, SyncError::Transport { service: "bc", .. }));
        assert!(
            err.is_retryable(),
            "the caller cannot tell it from a lost request"
        );
        assert_eq!(docs.creations(), 1, "the write was applied");

        // A careful retry probes first and finds it.
        let found = docs
            .find_by_external_document_number("#1001")
            .await
            .unwrap()
            .expect("created before the answer was lost");
        assert_eq!(found["id"], "00000000-0000-0000-0000-000000000001");
        assert_eq!(found["customerNumber"], "C1");
        assert_eq!(docs.count_with_key("#1001"), 1);
    }

    #[tokio::test]
    async fn a_blind_resend_makes_a_second_record_as_bc_would() {
        let docs = Documents::bc_sales_documents();
        docs.drop_next_answers(1);
        assert!(docs.create(order("#1001")).await.is_err());
        docs.create(order("#1001")).await.unwrap();
        assert_eq!(docs.count_with_key("#1001"), 2, "no uniqueness, like BC");
        assert_eq!(docs.creations(), 2);
    }

    #[tokio::test]
    async fn a_failed_create_creates_nothing_and_bad_bodies_are_rejected() {
        let docs = Documents::new("shipments", "shipmentNo").with_service("shopify");
        docs.fail_next_creates(1);
        let err = docs.create(json!({"shipmentNo": "S1"})).await.unwrap_err();
        assert!(matches!(
            err,
            SyncError::Transport {
                service: "shopify",
                ..
            }
        ));
        assert_eq!(docs.creations(), 0);
        assert!(docs.find_by_key("S1").await.unwrap().is_none());
        assert!(matches!(
            docs.create(json!(["S1"])).await,
            Err(SyncError::Rejected { .. })
        ));
        let id = docs.create(json!({"shipmentNo": "S1"})).await.unwrap();
        assert_eq!(docs.get(&id).await.unwrap().unwrap()["shipmentNo"], "S1");
        assert_eq!(docs.faults().calls("shipments.create"), 2);
    }

    #[tokio::test]
    async fn probes_can_fail_too() {
        let docs = Documents::bc_sales_documents();
        docs.create(order("#1")).await.unwrap();
        docs.faults()
            .fail_next(&docs.op("find"), 1, Faults::connection_reset("bc"));
        assert!(docs.find_by_key("#1").await.is_err());
        assert!(docs.find_by_key("#1").await.unwrap().is_some());
        assert!(docs.find_by_key("#2").await.unwrap().is_none());
    }
}
