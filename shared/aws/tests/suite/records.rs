//! The generic record store of DynamoStore against moto, and the read-unit meter.

use crate::common;

use aws_sdk_dynamodb::types::AttributeValue;
use common::{sdk, stack};
use shopsync_aws::DynamoStore;
use shopsync_domain::SyncError;
use shopsync_domain::ports::{Record, RecordStore};

async fn store(label: &str) -> DynamoStore {
    let (sdk, res) = stack(label).await;
    DynamoStore::new(&sdk, &res.table_name)
}

fn rec(id: &str, status: Option<&str>, body: &str) -> Record {
    Record::new(id, status, body)
}

/// The raw item of a record, as DynamoDB holds it.
async fn raw(
    store: &DynamoStore,
    shop: &str,
    kind: &str,
    id: &str,
) -> Option<std::collections::HashMap<String, AttributeValue>> {
    store
        .client()
        .get_item()
        .table_name(store.table_name())
        .key("pk", AttributeValue::S(format!("SHOP#{shop}")))
        .key("sk", AttributeValue::S(format!("REC#{kind}#{id}")))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
}

#[tokio::test]
async fn a_record_is_created_once_then_compared_and_swapped_by_version() {
    let store = store("rec-cas").await;
    let id = "gid://shopify/Order/1";
    assert!(
        store
            .put_record_if("A", "order", &rec(id, Some("staged"), "{\"n\":1}"))
            .await
            .unwrap()
    );
    let stored = store.get_record("A", "order", id).await.unwrap().unwrap();
    assert_eq!(stored.version, 1);
    assert_eq!(stored.status.as_deref(), Some("staged"));
    assert_eq!(stored.body, "{\"n\":1}");
    assert!(stored.updated_at > 1_600_000_000, "stamped with the clock");
    let item = raw(&store, "A", "order", id).await.unwrap();
    assert_eq!(item["kind"], AttributeValue::S("order".into()));
    assert_eq!(item["rec_id"], AttributeValue::S(id.into()));
    assert_eq!(
        item["gsi1pk"],
        AttributeValue::S("SHOP#A#REC#order#staged".into())
    );
    assert_eq!(item["gsi1sk"], AttributeValue::S(id.into()));

    assert!(
        !store
            .put_record_if("A", "order", &rec(id, None, "again"))
            .await
            .unwrap(),
        "version 0: must not exist yet"
    );
    let mut next = stored.clone();
    next.body = "{\"n\":2}".into();
    next.status = None;
    assert!(store.put_record_if("A", "order", &next).await.unwrap());
    assert!(
        !store.put_record_if("A", "order", &next).await.unwrap(),
        "a stale version loses"
    );
    let mut absent = rec("nope", None, "x");
    absent.version = 3;
    assert!(!store.put_record_if("A", "order", &absent).await.unwrap());

    let stored = store.get_record("A", "order", id).await.unwrap().unwrap();
    assert_eq!((stored.version, stored.body.as_str()), (2, "{\"n\":2}"));
    assert_eq!(stored.status, None);
    let item = raw(&store, "A", "order", id).await.unwrap();
    assert!(
        !item.contains_key("gsi1pk") && !item.contains_key("status"),
        "no status, no index entry: {item:?}"
    );

    assert_eq!(store.get_record("A", "shipment", id).await.unwrap(), None);
    assert_eq!(store.get_record("B", "order", id).await.unwrap(), None);

    store
        .delete_records(
            "A",
            "order",
            &[id.to_string(), "nope".into(), id.to_string()],
        )
        .await
        .unwrap();
    assert_eq!(store.get_record("A", "order", id).await.unwrap(), None);
}

#[tokio::test]
async fn put_records_and_get_records_work_in_chunks() {
    let store = store("rec-batch").await;
    let mut records: Vec<Record> = (0..150)
        .map(|i| rec(&format!("r{i:03}"), Some("new"), &format!("{{\"i\":{i}}}")))
        .collect();
    records[7].version = 4; // read before: stored as 5
    records.push(rec("r000", Some("last"), "wins"));
    store.put_records("A", "row", &records).await.unwrap();

    let mut ids: Vec<String> = (0..150).map(|i| format!("r{i:03}")).collect();
    ids.push("absent".into());
    ids.push("r001".into());
    let got = store.get_records("A", "row", &ids).await.unwrap();
    assert_eq!(got.len(), 150, "absent left out, duplicates once");
    let r0 = got.iter().find(|r| r.id == "r000").unwrap();
    assert_eq!(
        (r0.body.as_str(), r0.status.as_deref(), r0.version),
        ("wins", Some("last"), 1)
    );
    assert_eq!(got.iter().find(|r| r.id == "r007").unwrap().version, 5);
    assert_eq!(store.count_by_status("A", "row", "new").await.unwrap(), 149);
    assert!(store.get_records("A", "row", &[]).await.unwrap().is_empty());
}

#[tokio::test]
async fn move_status_moves_only_from_the_status_held_now() {
    let store = store("rec-move").await;
    store
        .put_record_if("A", "order", &rec("o1", None, "{}"))
        .await
        .unwrap();
    assert!(
        !store
            .move_status("A", "order", "o1", Some("staged"), Some("sent"))
            .await
            .unwrap(),
        "it has no status"
    );
    assert!(
        store
            .move_status("A", "order", "o1", None, Some("staged"))
            .await
            .unwrap()
    );
    assert!(
        !store
            .move_status("A", "order", "o1", None, Some("staged"))
            .await
            .unwrap(),
        "it has one now"
    );
    assert!(
        !store
            .move_status("A", "order", "absent", None, Some("staged"))
            .await
            .unwrap(),
        "an absent record is not created"
    );
    assert!(
        store
            .get_record("A", "order", "absent")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        !store
            .move_status("A", "order", "o1", Some("sent"), None)
            .await
            .unwrap(),
        "wrong from"
    );
    assert_eq!(
        store.count_by_status("A", "order", "staged").await.unwrap(),
        1
    );
    let page = store
        .list_by_status("A", "order", "staged", None, 10)
        .await
        .unwrap();
    assert_eq!(page.records.len(), 1);
    assert_eq!(page.records[0].version, 2);

    assert!(
        store
            .move_status("A", "order", "o1", Some("staged"), Some("sent"))
            .await
            .unwrap()
    );
    assert_eq!(
        store.count_by_status("A", "order", "staged").await.unwrap(),
        0
    );
    assert_eq!(
        store.count_by_status("A", "order", "sent").await.unwrap(),
        1
    );

    assert!(
        store
            .move_status("A", "order", "o1", Some("sent"), None)
            .await
            .unwrap()
    );
    assert_eq!(
        store.count_by_status("A", "order", "sent").await.unwrap(),
        0
    );
    assert!(
        store
            .list_by_status("A", "order", "sent", None, 10)
            .await
            .unwrap()
            .records
            .is_empty()
    );
    let item = raw(&store, "A", "order", "o1").await.unwrap();
    assert!(
        !item.contains_key("gsi1pk")
            && !item.contains_key("gsi1sk")
            && !item.contains_key("status"),
        "the index entry is gone: {item:?}"
    );
    let stored = store.get_record("A", "order", "o1").await.unwrap().unwrap();
    assert_eq!((stored.status, stored.version), (None, 4));
}

#[tokio::test]
async fn record_pages_follow_id_order_across_dynamodb_pages() {
    let store = store("rec-pages").await.with_page_size(3);
    let records: Vec<Record> = (0..25)
        .map(|i| {
            let status = (i % 2 == 0).then_some("even");
            rec(&format!("r{i:02}"), status, "{}")
        })
        .collect();
    store.put_records("A", "row", &records).await.unwrap();
    store
        .put_records("A", "rows", &[rec("r00", Some("even"), "another kind")])
        .await
        .unwrap();

    let mut ids = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = store
            .list_records("A", "row", after.as_deref(), 10)
            .await
            .unwrap();
        pages += 1;
        assert!(page.records.len() <= 10);
        ids.extend(page.records.iter().map(|r| r.id.clone()));
        match page.next_after {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(ids, (0..25).map(|i| format!("r{i:02}")).collect::<Vec<_>>());

    let page = store
        .list_records("A", "row", Some("r14"), 10)
        .await
        .unwrap();
    assert_eq!(page.records.len(), 10);
    assert_eq!(page.next_after, None, "exactly the rest: no next page");
    let page = store
        .list_records("A", "row", Some("r10x"), 2)
        .await
        .unwrap();
    assert_eq!(
        page.records
            .iter()
            .map(|r| r.id.as_str())
            .collect::<Vec<_>>(),
        ["r11", "r12"],
        "`after` need not exist"
    );
    assert_eq!(page.next_after.as_deref(), Some("r12"));

    let mut even = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = store
            .list_by_status("A", "row", "even", after.as_deref(), 4)
            .await
            .unwrap();
        even.extend(page.records.iter().map(|r| r.id.clone()));
        match page.next_after {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(
        even,
        (0..25)
            .step_by(2)
            .map(|i| format!("r{i:02}"))
            .collect::<Vec<_>>()
    );
    assert_eq!(store.count_by_status("A", "row", "even").await.unwrap(), 13);
    assert_eq!(store.count_by_status("A", "rows", "even").await.unwrap(), 1);
    assert_eq!(store.count_by_status("A", "row", "odd").await.unwrap(), 0);
}

#[tokio::test]
async fn bad_kinds_ids_and_statuses_are_refused_before_any_call() {
    // A table that does not exist: any call that went out would fail with a storage error.
    let store = DynamoStore::new(&sdk().await, "no-such-table");
    let internal = |e: SyncError| matches!(e, SyncError::Internal(_));
    assert!(internal(
        store
            .put_record_if("A", "Order", &rec("o1", None, "{}"))
            .await
            .unwrap_err()
    ));
    assert!(internal(
        store
            .put_record_if("A", "order", &rec("", None, "{}"))
            .await
            .unwrap_err()
    ));
    assert!(internal(
        store
            .put_record_if("A", "order", &rec("a\nb", None, "{}"))
            .await
            .unwrap_err()
    ));
    assert!(internal(
        store
            .put_record_if("A", "order", &rec("o1", Some(""), "{}"))
            .await
            .unwrap_err()
    ));
    assert!(internal(
        store
            .put_records(
                "A",
                "order",
                &[rec("ok", None, "{}"), rec(&"x".repeat(513), None, "{}")]
            )
            .await
            .unwrap_err()
    ));
    assert!(internal(
        store
            .move_status("A", "order#x", "o1", None, Some("s"))
            .await
            .unwrap_err()
    ));
    assert!(internal(
        store
            .get_records("A", "order", &["ok".into(), String::new()])
            .await
            .unwrap_err()
    ));
    assert!(internal(
        store
            .delete_records("A", "k", &["\u{7}".into()])
            .await
            .unwrap_err()
    ));
    assert!(internal(store.get_record("A", "", "o1").await.unwrap_err()));
    assert!(internal(
        store
            .list_records("A", "UPPER", None, 10)
            .await
            .unwrap_err()
    ));
    assert!(internal(
        store
            .list_by_status("A", "order", "", None, 10)
            .await
            .unwrap_err()
    ));
    assert!(internal(
        store
            .count_by_status("A", "order", "a\tb")
            .await
            .unwrap_err()
    ));
    assert_eq!(store.read_units(), 0.0, "no read went out either");

    // The same store does call out for a valid request (and fails on the missing table).
    assert!(matches!(
        store.get_record("A", "order", "o1").await,
        Err(SyncError::Storage(_))
    ));
}

#[tokio::test]
async fn the_read_meter_counts_units_by_item_size() {
    let store = store("rec-meter").await.with_computed_read_units();
    // Three records of a little over 3,000 bytes each (body 3,000 + ~150 of keys and attributes).
    let body = "x".repeat(3_000);
    let records: Vec<Record> = (0..3)
        .map(|i| rec(&format!("r{i}"), Some("s"), &body))
        .collect();
    store.put_records("A", "row", &records).await.unwrap();
    store
        .put_record_if("A", "big", &rec("b", None, &"y".repeat(5_000)))
        .await
        .unwrap();
    assert_eq!(store.read_units(), 0.0, "writes are not reads");

    // One strongly consistent Query page of ~9.5 KB: 3 blocks of 4 KB, 1 unit each.
    let page = store.list_records("A", "row", None, 10).await.unwrap();
    assert_eq!(page.records.len(), 3);
    assert_eq!(store.read_units(), 3.0);

    // The same items from the (eventually consistent) index: half.
    store.reset_read_units();
    store
        .list_by_status("A", "row", "s", None, 10)
        .await
        .unwrap();
    assert_eq!(store.read_units(), 1.5);

    // GetItem rounds each item up on its own: ~5.1 KB is 2 units; a miss still costs 1.
    store.reset_read_units();
    store.get_record("A", "big", "b").await.unwrap().unwrap();
    assert_eq!(store.read_units(), 2.0);
    store.get_record("A", "big", "nope").await.unwrap();
    assert_eq!(store.read_units(), 3.0);

    // BatchGetItem: per item, 1 unit each for ~3.1 KB, and 1 for the missing key.
    store.reset_read_units();
    let ids = ["r0", "r1", "r2", "absent"].map(String::from);
    assert_eq!(store.get_records("A", "row", &ids).await.unwrap().len(), 3);
    assert_eq!(store.read_units(), 4.0);

    // Clones (and fenced views) share the meter; a count page costs its minimum when computed.
    store.reset_read_units();
    let clone = store.clone().with_page_size(1);
    assert_eq!(clone.count_by_status("A", "row", "s").await.unwrap(), 3);
    assert!(
        store.read_units() >= 1.5,
        "≥ 3 index pages at 0.5: {}",
        store.read_units()
    );

    // Without `with_computed_read_units`, moto's own ConsumedCapacity is added (moto 5.2 reports
    // constants, see the dynamo module docs), so only its presence is checked.
    let reported = DynamoStore::from_client(store.client().clone(), store.table_name());
    reported.get_record("A", "big", "b").await.unwrap();
    assert!(reported.read_units() > 0.0);
}
