//! The order cues count the order tasks' staged records on the record store's status index, and
//! drill down to the records with their name and error.

use shopsync_domain::ports::{Record, RecordStore};
use shopsync_domain::staging::{SHIPMENTS, STAGED_ORDERS, order_status, shipment_status};
use shopsync_domain::status::Cue;
use shopsync_status::{StatusPorts, StatusService};
use shopsync_test_support::{MemoryDeadLetterQueue, MemoryQueues, MemoryStore};
use std::sync::Arc;

fn service(store: &MemoryStore) -> StatusService {
    let s = Arc::new(store.clone());
    StatusService::new(StatusPorts {
        settings: s.clone(),
        jobs: s.clone(),
        counts: s.clone(),
        skipped: s.clone(),
        cues: s.clone(),
        failures: s.clone(),
        dlq: Arc::new(MemoryDeadLetterQueue::new()),
        queues: Arc::new(MemoryQueues::new()),
        leases: s.clone(),
        records: s,
    })
    .with_emf_output(false)
}

fn figure(board: &shopsync_domain::status::StatusBoard, cue: Cue) -> u64 {
    board
        .cues
        .iter()
        .find(|f| f.cue == cue)
        .map(|f| f.count)
        .unwrap()
}

#[tokio::test]
async fn order_cues_count_staged_records_by_status() {
    let store = MemoryStore::new();
    let order = |n: u32, status: &str, error: Option<&str>| {
        let body = serde_json::json!({"name": format!("#{n}"), "error": error}).to_string();
        Record::new(format!("gid://shopify/Order/{n}"), Some(status), body)
    };
    store
        .put_records(
            "ORD",
            STAGED_ORDERS,
            &[
                order(1001, order_status::UNPROCESSED, None),
                order(
                    1002,
                    order_status::UNPROCESSED,
                    Some("no customer for a@b.c"),
                ),
                order(1003, order_status::PROCESSED, None),
                order(
                    1004,
                    order_status::CHANGED_AFTER_PROCESSING,
                    Some("changed after processing"),
                ),
            ],
        )
        .await
        .unwrap();
    let shipment = |n: u32, status: &str| {
        Record::new(
            format!("ship-{n}"),
            Some(status),
            format!(r#"{{"name":"S-{n}"}}"#),
        )
    };
    store
        .put_records(
            "ORD",
            SHIPMENTS,
            &[
                shipment(1, shipment_status::NOT_SYNCED),
                shipment(2, shipment_status::ERROR),
                shipment(3, shipment_status::NOTHING_TO_FULFIL),
                shipment(4, shipment_status::FULFILLED),
            ],
        )
        .await
        .unwrap();
    let service = service(&store);
    let board = service.board("ORD").await.unwrap();
    assert_eq!(figure(&board, Cue::UnprocessedOrders), 2);
    assert_eq!(figure(&board, Cue::UnprocessedOrderUpdates), 1);
    assert_eq!(figure(&board, Cue::UnprocessedShipments), 1);
    assert_eq!(
        figure(&board, Cue::ShipmentErrors),
        1,
        "nothing-to-fulfil is not an error"
    );

    let rows = service
        .drill_down("ORD", Cue::UnprocessedOrders, 10)
        .await
        .unwrap();
    let mut details: Vec<_> = rows
        .iter()
        .map(|r| (r.id.as_str(), r.detail.as_str()))
        .collect();
    details.sort();
    assert_eq!(
        details,
        [
            ("gid://shopify/Order/1001", "#1001"),
            ("gid://shopify/Order/1002", "#1002: no customer for a@b.c")
        ]
    );

    // Processing moves the record out of the cue.
    assert!(
        store
            .move_status(
                "ORD",
                STAGED_ORDERS,
                "gid://shopify/Order/1001",
                Some(order_status::UNPROCESSED),
                Some(order_status::PROCESSED)
            )
            .await
            .unwrap()
    );
    let board = service.board("ORD").await.unwrap();
    assert_eq!(figure(&board, Cue::UnprocessedOrders), 1);
    assert_eq!(
        figure(
            &service.board("OTHER").await.unwrap(),
            Cue::UnprocessedOrders
        ),
        0
    );
}
