//! The catalogue side of the client against the simulator over HTTP on 127.0.0.1: items read by
//! `lastModifiedDateTime` across pages, items created from a template item and probed after a lost
//! answer, conditional updates, variants, pictures with content hashes and ETags, sales prices from a
//! published page (or the unit price), and reads under random faults.

use crate::common;

use common::*;

use bc_sim::{
    BcFault, BcFaultRule, BcFaults, BcSim, BcSimConfig, CompanyHandle, SimItem, SimPriceLine,
};
use shopsync_bc::BcClient;
use shopsync_domain::SyncError;
use shopsync_domain::inventory::BcItemType;
use shopsync_domain::items::{
    BcItemsApi, ItemUpdate, NewItem, NewItemVariant, PictureState, PriceOrigin, PriceScope,
    PriceTarget, content_hash,
};
use shopsync_domain::sales::Decimal;

const PRICES: &str = "ShopsyncSalesPrices";

async fn setup() -> (BcSim, CompanyHandle) {
    setup_with(BcSimConfig::default()).await
}

fn template() -> SimItem {
    SimItem {
        item_category_code: "CHAIRS".into(),
        general_product_posting_group_code: "RETAIL".into(),
        inventory_posting_group_code: "RESALE".into(),
        tax_group_code: "FURNITURE".into(),
        ..SimItem::new("TEMPLATE", "Template item", 0.0)
    }
}

#[tokio::test]
async fn changed_items_are_read_by_cursor_across_pages() {
    let (sim, company) = setup().await;
    for i in 0..30 {
        let number = format!("A{i:03}");
        company.add_catalog_item(&SimItem::new(&number, "Chair", 10.0 + i as f64));
        // Times out of number order, with ties, so order and tie-breaking both matter.
        company.set_item_modified_ms(&number, 1_700_000_000_000 + ((i * 7) % 10) as i64 * 1000);
    }
    let c = client_with(&sim, Some(7));
    let all = c.items_modified_since(None).await.unwrap();
    assert_eq!(all.items.len(), 30);
    let keys: Vec<(i64, String)> = all
        .items
        .iter()
        .map(|i| (i.modified_ms, i.number.clone()))
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    assert!(sim.stats().requests_to("GET", "items") >= 5, "paged");
    let cursor = all.next_cursor.clone().unwrap();
    assert_eq!(cursor, all.items.last().unwrap().cursor());

    // Nothing changed: nothing read back, and no cursor movement.
    let again = c.items_modified_since(Some(&cursor)).await.unwrap();
    assert!(again.items.is_empty() && again.next_cursor.is_none());

    // From the middle: exactly the items after it, ties broken by number.
    let middle = all.items[14].cursor();
    let rest = c.items_modified_since(Some(&middle)).await.unwrap();
    assert_eq!(rest.items, all.items[15..].to_vec());

    company.set_item_unit_price("A003", 99.5);
    let changed = c.items_modified_since(Some(&cursor)).await.unwrap();
    let numbers: Vec<&str> = changed.items.iter().map(|i| i.number.as_str()).collect();
    assert_eq!(numbers, ["A003"]);
    assert_eq!(changed.items[0].unit_price.as_str(), "99.5");
    assert_ne!(
        changed.items[0].etag,
        all.items.iter().find(|i| i.number == "A003").unwrap().etag
    );
}

#[tokio::test]
async fn an_item_is_created_from_a_template_item_and_probed_after_a_lost_answer() {
    let (sim, company) = setup().await;
    company.add_catalog_item(&template());
    let c = client(&sim);
    let defaults = c.item_template("template").await.unwrap();
    assert_eq!(defaults.item_type, Some(BcItemType::Inventory));
    assert_eq!(
        defaults.general_product_posting_group_code.as_deref(),
        Some("RETAIL")
    );
    assert_eq!(defaults.base_unit_of_measure_code.as_deref(), Some("PCS"));
    assert!(matches!(
        c.item_template("NOPE").await,
        Err(SyncError::NotFound(_))
    ));

    let mut item = NewItem::from_template(&defaults, "sku-100", "Oak chair");
    item.unit_price = Some(d("19.99"));
    item.unit_cost = Some(d("7.25"));
    item.gtin = Some("4006381333931".into());
    let created = c.create_item(&item).await.unwrap();
    assert_eq!(
        (
            created.number.as_str(),
            created.unit_price.as_str(),
            created.unit_cost.as_str()
        ),
        ("SKU-100", "19.99", "7.25")
    );
    assert_eq!(created.item_category_code, "CHAIRS");
    let stored = company.catalog_item("SKU-100").unwrap();
    assert_eq!(
        (
            stored.inventory_posting_group_code.as_str(),
            stored.tax_group_code.as_str(),
            stored.gtin.as_deref()
        ),
        ("RESALE", "FURNITURE", Some("4006381333931"))
    );

    // The answer is lost after BC applied the POST: the client does not resend it...
    sim.reset_stats();
    sim.add_fault_rule(BcFaultRule::new(BcFault::DropAfterApply).on("POST", "/items"));
    let lost = NewItem::from_template(&defaults, "SKU-101", "Pine chair");
    assert!(matches!(
        c.create_item(&lost).await,
        Err(SyncError::Transport { .. })
    ));
    assert_eq!(sim.stats().requests_to("POST", "items"), 1);
    // ...the probe by number finds it, and a second POST cannot make a second one.
    let probed = c.item_by_number("sku-101").await.unwrap().expect("created");
    assert_eq!(probed.description, "Pine chair");
    assert!(matches!(
        c.create_item(&lost).await,
        Err(SyncError::Rejected { ref code, .. }) if code == "Internal_EntityWithSameKeyExists"
    ));
    assert!(c.item_by_number("SKU-102").await.unwrap().is_none());
    assert_eq!(company.item_count(), 3);
}

#[tokio::test]
async fn updates_use_the_etag_and_a_stale_one_is_a_conflict() {
    let (sim, company) = setup().await;
    company.add_catalog_item(&SimItem::new("1000", "Chair", 20.0));
    let c = client(&sim);
    let item = c.item_by_number("1000").await.unwrap().unwrap();

    // Nothing to change: no request.
    sim.reset_stats();
    let same = ItemUpdate {
        description: Some("Chair".into()),
        unit_price: Some(d("20")),
        ..Default::default()
    }
    .changes_to(&item);
    assert_eq!(
        c.update_item(&item.id, &item.etag, &same).await.unwrap(),
        None
    );
    assert_eq!(sim.stats().write_requests(), 0);

    // Someone edits the item in BC while the import runs: the import's write is refused.
    company.set_item_display_name("1000", "Chair (edited in BC)");
    let update = ItemUpdate {
        unit_price: Some(d("18.99")),
        unit_cost: Some(d("6.5")),
        item_category_code: Some("chairs".into()),
        ..Default::default()
    };
    assert!(matches!(
        c.update_item(&item.id, &item.etag, &update).await,
        Err(SyncError::Conflict(_))
    ));
    assert_eq!(company.catalog_item("1000").unwrap().unit_price, 20.0);

    let fresh = c.item_by_number("1000").await.unwrap().unwrap();
    let updated = c
        .update_item(&fresh.id, &fresh.etag, &update)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            updated.unit_price.as_str(),
            updated.unit_cost.as_str(),
            updated.item_category_code.as_str(),
            updated.description.as_str()
        ),
        ("18.99", "6.5", "CHAIRS", "Chair (edited in BC)")
    );
    assert_ne!(updated.etag, fresh.etag);
    // The returned ETag is the current one.
    let block = ItemUpdate {
        blocked: Some(true),
        ..Default::default()
    };
    let blocked = c
        .update_item(&updated.id, &updated.etag, &block)
        .await
        .unwrap()
        .unwrap();
    assert!(blocked.blocked && blocked.is_blocked_for_sales());
}

#[tokio::test]
async fn variants_are_created_under_their_item_and_probed() {
    let (sim, company) = setup().await;
    let item_id = company.add_catalog_item(&SimItem::new("2000", "Shirt", 15.0));
    let c = client(&sim);
    let red = NewItemVariant {
        item_id: item_id.clone(),
        item_number: "2000".into(),
        code: "RED".into(),
        description: "Red shirt".into(),
    };
    let v = c.create_item_variant(&red).await.unwrap();
    assert_eq!(
        (v.code.as_str(), v.item_id.as_str()),
        ("RED", item_id.as_str())
    );
    assert!(matches!(
        c.create_item_variant(&red).await,
        Err(SyncError::Rejected { ref code, .. }) if code == "Internal_EntityWithSameKeyExists"
    ));

    sim.add_fault_rule(BcFaultRule::new(BcFault::DropAfterApply).on("POST", "itemVariants"));
    let blue = NewItemVariant {
        code: "BLUE".into(),
        description: "Blue shirt".into(),
        ..red.clone()
    };
    assert!(c.create_item_variant(&blue).await.is_err());
    let variants = c.item_variants(&item_id).await.unwrap();
    let codes: Vec<&str> = variants.iter().map(|v| v.code.as_str()).collect();
    assert_eq!(codes, ["BLUE", "RED"]);
    assert_eq!(company.item_variant_codes("2000"), ["BLUE", "RED"]);
    // A lower-case code is refused before any request (BC would store it upper case, and the probe
    // compares codes as BC stores them).
    let lower = NewItemVariant {
        code: "green".into(),
        ..red
    };
    assert!(c.create_item_variant(&lower).await.is_err());
    assert!(c.item_variants("not-a-guid").await.is_err());
}

#[tokio::test]
async fn items_are_read_by_number_twenty_to_a_request() {
    let (sim, company) = setup().await;
    for i in 0..30 {
        company.add_catalog_item(&SimItem::new(&format!("N{i:02}"), "Lamp", 10.0));
    }
    let c = client(&sim);
    // 25 distinct numbers (one lower-case twin, one BC lacks): two requests, the missing one left out.
    let mut numbers: Vec<String> = (0..24).map(|i| format!("N{i:02}")).collect();
    numbers.push("n03".into());
    numbers.push("MISSING".into());
    let before = sim.stats().requests_to("GET", "items");
    let items = c.items_by_numbers(&numbers).await.unwrap();
    assert_eq!(sim.stats().requests_to("GET", "items") - before, 2);
    let got: Vec<&str> = items.iter().map(|i| i.number.as_str()).collect();
    let want: Vec<String> = (0..24).map(|i| format!("N{i:02}")).collect();
    assert_eq!(got, want);
    assert!(
        c.items_by_numbers(&["A'1 OR 1 eq 1".into()])
            .await
            .unwrap()
            .is_empty()
    );
    let too_long = "X".repeat(21);
    assert!(c.items_by_numbers(&[too_long]).await.is_err());
}

#[tokio::test]
async fn variants_modified_since_an_instant_are_read_across_pages_in_order() {
    let (sim, company) = setup().await;
    for i in 0..6 {
        company.add_catalog_item(&SimItem::new(&format!("V{i}"), "Shirt", 15.0));
    }
    company.add_item_variant("V0", "OLD").unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let since = shopsync_domain::time::now_millis();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    for i in (1..6).rev() {
        for code in ["RED", "BLUE"] {
            company.add_item_variant(&format!("V{i}"), code).unwrap();
        }
    }
    let c = client_with(&sim, Some(3));
    let changed = c.item_variants_modified_since(since).await.unwrap();
    assert!(sim.stats().requests_to("GET", "itemVariants") >= 4, "paged");
    assert_eq!(
        changed.len(),
        10,
        "the variant added before `since` is not read"
    );
    assert!(
        changed
            .iter()
            .all(|v| v.modified_ms >= since && v.code != "OLD")
    );
    let keys: Vec<_> = changed
        .iter()
        .map(|v| (v.modified_ms, v.item_number.clone(), v.code.clone()))
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    let all = c.item_variants_modified_since(0).await.unwrap();
    assert_eq!(all.len(), 11);
}

#[tokio::test]
async fn pictures_round_trip_with_a_content_hash_and_the_picture_etag() {
    let (sim, company) = setup().await;
    let item_id = company.add_catalog_item(&SimItem::new("3000", "Lamp", 40.0));
    let c = client(&sim);
    let PictureState::Absent { etag } = c.item_picture(&item_id).await.unwrap() else {
        panic!("no picture yet");
    };
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    png.extend_from_slice(&800u32.to_be_bytes());
    png.extend_from_slice(&600u32.to_be_bytes());
    png.extend_from_slice(&[7u8; 300]);

    let before = c.item_by_number("3000").await.unwrap().unwrap();
    c.set_item_picture(&item_id, &etag, &png).await.unwrap();
    assert_eq!(
        company.item_picture("3000").as_deref(),
        Some(png.as_slice())
    );
    let PictureState::Present(p) = c.item_picture(&item_id).await.unwrap() else {
        panic!("picture set");
    };
    assert_eq!(p.content, png);
    assert_eq!(p.content_hash, content_hash(&png));
    assert_eq!(
        (p.content_type.as_str(), p.width, p.height),
        ("image/png", 800, 600)
    );
    // Setting the picture modified the item (BC's Picture is a field of the item).
    let after = c
        .items_modified_since(Some(&before.cursor()))
        .await
        .unwrap();
    assert_eq!(after.items.len(), 1);

    // The old picture ETag is stale now.
    assert!(matches!(
        c.set_item_picture(&item_id, &etag, b"other").await,
        Err(SyncError::Conflict(_))
    ));

    // A user changes the picture in BC: the hash tells.
    company.set_item_picture("3000", &[0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3]);
    let PictureState::Present(changed) = c.item_picture(&item_id).await.unwrap() else {
        panic!("still a picture");
    };
    assert_ne!(changed.content_hash, p.content_hash);
    assert_eq!(changed.content_type, "image/jpeg");

    // The answer to a picture write is lost after BC applied it: re-reading shows it arrived.
    sim.add_fault_rule(BcFaultRule::new(BcFault::DropAfterApply).on("PATCH", "pictureContent"));
    assert!(
        c.set_item_picture(&item_id, &changed.etag, &png)
            .await
            .is_err()
    );
    let PictureState::Present(again) = c.item_picture(&item_id).await.unwrap() else {
        panic!("picture");
    };
    assert_eq!(again.content_hash, content_hash(&png));
    assert!(
        c.set_item_picture(&item_id, &again.etag, &[])
            .await
            .is_err(),
        "empty refused"
    );
}

#[tokio::test]
async fn sales_prices_come_from_the_published_page_or_the_unit_price() {
    let (sim, company) = setup().await;
    company.publish_price_page(PRICES);
    let mut targets = Vec::new();
    for i in 0..20 {
        let number = format!("P{i:03}");
        company.add_catalog_item(&SimItem::new(&number, "Thing", 30.0));
        company.add_price_line(SimPriceLine {
            item_no: number.clone(),
            unit_price: 25.0 + i as f64 / 100.0,
            ..Default::default()
        });
        targets.push(PriceTarget {
            item_number: number,
            variant_code: None,
            unit_price: d("30"),
        });
    }
    company.add_catalog_item(&SimItem::new("O'NEIL", "Quoted", 12.0));
    for line in [
        SimPriceLine {
            item_no: "O'NEIL".into(),
            price_group_code: "RETAIL".into(),
            unit_price: 10.5,
            ..Default::default()
        },
        SimPriceLine {
            item_no: "O'NEIL".into(),
            variant_code: "RED".into(),
            unit_price: 9.75,
            ending_date: "2026-12-31".into(),
            ..Default::default()
        },
        SimPriceLine {
            item_no: "O'NEIL".into(),
            currency_code: "EUR".into(),
            unit_price: 11.0,
            ..Default::default()
        },
        SimPriceLine {
            item_no: "O'NEIL".into(),
            minimum_quantity: 5.0,
            unit_price: 1.0,
            ..Default::default()
        },
    ] {
        company.add_price_line(line);
    }
    for variant in [None, Some("RED")] {
        targets.push(PriceTarget {
            item_number: "O'NEIL".into(),
            variant_code: variant.map(String::from),
            unit_price: d("12"),
        });
    }
    targets.push(PriceTarget {
        item_number: "NOLINES".into(),
        variant_code: None,
        unit_price: d("5"),
    });
    let scope = PriceScope {
        price_group: Some("RETAIL".into()),
        currency_code: None,
        date: "2026-03-01".into(),
    };
    let c = client_with(&sim, Some(5));
    sim.reset_stats();
    let prices = c
        .sales_prices(Some(PRICES), COMPANY, &scope, &targets)
        .await
        .unwrap();
    assert_eq!(prices.len(), targets.len());
    assert_eq!(prices[3].price.as_str(), "25.03");
    assert_eq!(
        prices[3].compare_at.as_ref().map(Decimal::as_str),
        Some("30")
    );
    let tail: Vec<(&str, PriceOrigin)> = prices[20..]
        .iter()
        .map(|p| (p.price.as_str(), p.origin))
        .collect();
    assert_eq!(
        tail,
        [
            ("10.5", PriceOrigin::PriceList),
            ("9.75", PriceOrigin::PriceList),
            ("5", PriceOrigin::UnitPrice)
        ]
    );
    // 22 item numbers in chunks of 15: two filtered reads (each paged by 5).
    assert!(sim.stats().requests_to("GET", &format!("ODataV4 {PRICES}")) >= 2);

    // No page: the unit price, without a request.
    sim.reset_stats();
    let plain = c
        .sales_prices(None, COMPANY, &scope, &targets[..2])
        .await
        .unwrap();
    assert!(
        plain
            .iter()
            .all(|p| p.price.as_str() == "30" && p.origin == PriceOrigin::UnitPrice)
    );
    assert_eq!(sim.stats().requests, 0);

    // Foreign currency: only lines in that currency; no line, no price.
    let eur = PriceScope {
        currency_code: Some("EUR".into()),
        ..scope.clone()
    };
    let prices = c
        .sales_prices(Some(PRICES), COMPANY, &eur, &targets[20..])
        .await
        .unwrap();
    let got: Vec<(&str, Option<&str>)> = prices
        .iter()
        .map(|p| (p.price.as_str(), p.variant_code.as_deref()))
        .collect();
    assert_eq!(got, [("11", None), ("11", Some("RED"))]);

    // Names that would break the URL are refused before any request.
    assert!(
        c.sales_prices(Some("bad page"), COMPANY, &scope, &targets)
            .await
            .is_err()
    );
    assert!(
        c.sales_prices(Some("Unpublished"), COMPANY, &scope, &targets)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn reads_survive_random_faults() {
    let (sim, company) = setup_with(BcSimConfig {
        faults: BcFaults::new(0.2, 42),
        ..BcSimConfig::default()
    })
    .await;
    for i in 0..40 {
        company.add_catalog_item(&SimItem::new(&format!("F{i:03}"), "Fault", 1.0));
    }
    let id = company.add_catalog_item(&SimItem::new("PIC", "Picture", 1.0));
    company.set_item_picture("PIC", b"bytes");
    let mut config = client_config(&sim, SECRET);
    config.page_size = Some(4);
    config.max_retries = 10;
    let c = BcClient::new(config).unwrap();
    let all = c.items_modified_since(None).await.unwrap();
    assert_eq!(all.items.len(), 41);
    let PictureState::Present(p) = c.item_picture(&id).await.unwrap() else {
        panic!("picture");
    };
    assert_eq!(p.content, b"bytes");
    assert!(sim.stats().injected_faults > 0);
}
