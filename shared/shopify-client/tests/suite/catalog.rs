//! The catalogue port of the client against the simulator over HTTP on 127.0.0.1: products by
//! `updated_at`, one product with all its variants, `productSet` upserts keyed by a unique
//! metafield, staged uploads with a real HTTP PUT/POST, images attached and replaced, variant price
//! updates and a bulk mutation with a partially failing file — and the requested costs the
//! documents are annotated with.

use crate::common;

use shopify_sim::{CatalogVariantSeed, ProductSeed, ShopifySim, SimConfig};
use shopsync_domain::catalog::{
    BulkMutation, BulkMutationStart, BulkMutationStatus, MediaAttach, MediaReplace, MetafieldSet,
    ProductIdentifier, ProductOption, ProductPriceUpdate, ProductSetRequest, ProductStatus,
    SelectedOption, ShopifyCatalogApi, StagedUploadRequest, UploadMethod, UploadResource,
    VariantPriceUpdate, VariantSet,
};
use shopsync_shopify::documents::{CATALOG_OPERATIONS, Document};
use shopsync_shopify::{Pacer, ShopifyClient};
use std::sync::Arc;
use std::time::Duration;

const SHOP: &str = "catalog-shop.myshopify.com";

async fn setup() -> (ShopifySim, ShopifyClient) {
    let sim = ShopifySim::start(SimConfig {
        time_scale: 50.0,
        bulk_completion_delay: Duration::from_secs(1),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let mut c = common::sim_config(&sim, SHOP, "shpat_catalog", 10, 100);
    c.bulk_poll_interval = Duration::from_millis(20);
    sim.store(SHOP).set_access_token("shpat_catalog");
    let client = ShopifyClient::new(c, Arc::new(Pacer::new())).unwrap();
    (sim, client)
}

fn seed(title: &str, updated_at: &str, variants: usize) -> ProductSeed {
    ProductSeed {
        title: title.into(),
        vendor: "Cronus".into(),
        updated_at: updated_at.into(),
        options: vec![(
            "Size".into(),
            (0..variants).map(|i| format!("S{i}")).collect(),
        )],
        variants: (0..variants)
            .map(|i| CatalogVariantSeed {
                sku: Some(format!("{title}-{i}")),
                price: "10.00".into(),
                compare_at_price: Some("12.00".into()),
                unit_cost: Some("4.50".into()),
                options: vec![format!("S{i}")],
                ..Default::default()
            })
            .collect(),
        images: vec!["https://cdn.example/a.png".into()],
        ..Default::default()
    }
}

fn custom_id(item: &str) -> ProductIdentifier {
    ProductIdentifier::CustomId {
        namespace: "shopsync".into(),
        key: "bc_item".into(),
        value: item.into(),
    }
}

fn upsert(item: &str, title: &str, sizes: &[&str], price: &str) -> ProductSetRequest {
    ProductSetRequest {
        identifier: Some(custom_id(item)),
        title: Some(title.into()),
        handle: None,
        vendor: Some("Cronus".into()),
        product_type: None,
        description_html: Some("<p>Item</p>".into()),
        status: Some(ProductStatus::Active),
        tags: Some(vec!["bc".into()]),
        metafields: vec![MetafieldSet {
            namespace: "shopsync".into(),
            key: "bc_item".into(),
            value: item.into(),
            r#type: "single_line_text_field".into(),
        }],
        options: vec![ProductOption {
            name: "Size".into(),
            values: sizes.iter().map(|s| s.to_string()).collect(),
        }],
        variants: sizes
            .iter()
            .map(|s| VariantSet {
                id: None,
                options: vec![SelectedOption {
                    name: "Size".into(),
                    value: s.to_string(),
                }],
                sku: Some(format!("{item}-{s}")),
                barcode: None,
                price: Some(price.into()),
                compare_at_price: None,
                unit_cost: Some("3.00".into()),
            })
            .collect(),
        files: None,
    }
}

/// The simulator charges every catalogue document exactly its `# cost:` annotation up front.
#[tokio::test]
async fn requested_costs_match_the_annotations() {
    let (sim, client) = setup().await;
    let store = sim.store(SHOP);
    let p = store.add_catalog_product(seed("A", "2026-05-01T00:00:00Z", 2));
    let probe = |doc: &'static Document, vars: serde_json::Value| {
        let client = &client;
        async move {
            let r = client.execute(doc, vars).await.unwrap();
            assert_eq!(
                r.cost.unwrap().requested,
                doc.annotated_cost(),
                "{}",
                doc.name
            );
        }
    };
    for doc in CATALOG_OPERATIONS {
        let vars = match doc.name {
            "ProductsUpdatedSince" => serde_json::json!({"query": null}),
            "CatalogProduct" => serde_json::json!({"id": p.product_id}),
            "ProductSet" => serde_json::json!({"input": {"title": "x"}}),
            "StagedUploadsCreate" => {
                serde_json::json!({"input": [{"resource": "IMAGE", "filename": "a.png", "mimeType": "image/png"}]})
            }
            "ProductAttachMedia" => serde_json::json!({"id": p.product_id, "media": []}),
            "MediaReplace" => serde_json::json!({"files": []}),
            "ProductMediaList" => serde_json::json!({"id": p.product_id}),
            "VariantPricesUpdate" => serde_json::json!({"productId": p.product_id, "variants": []}),
            "BulkOperationRunMutation" => {
                serde_json::json!({"mutation": "mutation { a }", "stagedUploadPath": "none"})
            }
            other => panic!("no probe for {other}"),
        };
        probe(doc, vars).await;
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn products_updated_since_pages_oldest_first_and_product_reads_every_variant() {
    let (sim, client) = setup().await;
    let store = sim.store(SHOP);
    for i in 0..12 {
        store.add_catalog_product(seed(
            &format!("P{i:02}"),
            &format!("2026-05-01T00:{:02}:00Z", 59 - i),
            1,
        ));
    }
    let mut gift = seed("Gift", "2026-05-02T00:00:00Z", 1);
    gift.gift_card = true;
    store.add_catalog_product(gift);
    let big = store.add_catalog_product(seed("Big", "2026-04-01T00:00:00Z", 230));

    let first = client
        .products_updated_since(Some("2026-05-01T00:50:00Z"), None)
        .await
        .unwrap();
    let titles: Vec<&str> = first.items.iter().map(|p| p.title.as_str()).collect();
    assert_eq!(
        titles,
        [
            "P09", "P08", "P07", "P06", "P05", "P04", "P03", "P02", "P01", "P00"
        ]
    );
    assert_eq!(first.next_cursor, None);
    let p = &first.items[9];
    assert_eq!(
        p.options,
        vec![ProductOption {
            name: "Size".into(),
            values: vec!["S0".into()]
        }]
    );
    assert_eq!(p.variants[0].price, "10.00");
    assert_eq!(p.variants[0].compare_at_price.as_deref(), Some("12.00"));
    // `unitCost` is a `MoneyV2` whose `amount` is a `Decimal` (`"4.5"`), prices are `Money` (`"10.00"`).
    assert_eq!(p.variants[0].unit_cost.as_deref(), Some("4.5"));
    assert_eq!(
        p.variants[0].options,
        vec![SelectedOption {
            name: "Size".into(),
            value: "S0".into()
        }]
    );
    assert_eq!(p.media[0].url.as_deref(), Some("https://cdn.example/a.png"));
    assert!(p.variants_complete);

    // All of them (gift cards excluded), two pages.
    let page1 = client.products_updated_since(None, None).await.unwrap();
    assert_eq!(page1.items.len(), 10);
    assert_eq!(page1.items[0].title, "Big", "oldest update first");
    assert!(!page1.items[0].variants_complete);
    assert_eq!(page1.items[0].variants.len(), 10);
    let page2 = client
        .products_updated_since(None, page1.next_cursor.as_deref())
        .await
        .unwrap();
    assert_eq!(page2.items.len(), 3);
    assert!(page2.items.iter().all(|p| p.title != "Gift"));
    assert_eq!(page2.next_cursor, None);

    let whole = client.product(&big.product_id).await.unwrap().unwrap();
    assert_eq!(whole.variants.len(), 230);
    assert!(whole.variants_complete);
    assert_eq!(whole.variants[229].sku.as_deref(), Some("Big-229"));
    assert_eq!(whole.variants[229].position, 230);
    assert!(
        client
            .product("gid://shopify/Product/999")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        client
            .products_updated_since(Some("x' OR 1"), None)
            .await
            .is_err()
    );
    sim.shutdown().await;
}

/// An upsert keyed by the BC item creates once and updates after: repeating it (a retry, a
/// duplicate delivery) never makes a second product; dropped sizes are dropped, kept ones keep
/// their variant ids.
#[tokio::test]
async fn product_set_upserts_by_custom_id() {
    let (sim, client) = setup().await;
    let store = sim.store(SHOP);
    let created = client
        .product_set(&upsert("1000", "Bicycle", &["S", "M", "L"], "100.00"))
        .await
        .unwrap();
    assert!(created.user_errors.is_empty(), "{:?}", created.user_errors);
    let product = created.product.unwrap();
    assert_eq!(product.variants.len(), 3);
    assert_eq!(product.variants[1].sku.as_deref(), Some("1000-M"));
    let again = client
        .product_set(&upsert("1000", "Bicycle", &["S", "M", "L"], "100.00"))
        .await
        .unwrap()
        .product
        .unwrap();
    assert_eq!(again.id, product.id);
    assert_eq!(again.variants, product.variants, "same variants, same ids");
    let fewer = client
        .product_set(&upsert("1000", "Bicycle 2", &["M", "XL"], "90.00"))
        .await
        .unwrap()
        .product
        .unwrap();
    assert_eq!(fewer.id, product.id);
    assert_eq!(
        fewer.variants[0].id, product.variants[1].id,
        "M kept its id"
    );
    assert_eq!(fewer.variants.len(), 2);
    let products = store.catalog_products();
    assert_eq!(products.len(), 1);
    let p = &products[0];
    assert_eq!(p.title, "Bicycle 2");
    assert_eq!(p.variants[1].sku.as_deref(), Some("1000-XL"));
    assert_eq!(p.variants[1].price, "90.00");
    assert_eq!(p.variants[1].unit_cost.as_deref(), Some("3.00"));
    assert_eq!(
        p.options,
        vec![("Size".into(), vec!["M".into(), "XL".into()])]
    );

    // Refusals are data.
    let mut dup = upsert("2000", "Dup", &["S", "S"], "1.00");
    dup.handle = Some("dup".into());
    let refused = client.product_set(&dup).await.unwrap();
    assert!(refused.product.is_none());
    assert_eq!(
        refused.user_errors[0].code.as_deref(),
        Some("DUPLICATED_OPTION_VALUE")
    );
    assert_eq!(store.catalog_products().len(), 1);
    sim.shutdown().await;
}

/// An image goes up with a real HTTP PUT to the simulator's staged target and is attached with
/// `productUpdate(media:)`; new bytes replace it with `fileUpdate` under the same media id.
#[tokio::test]
async fn staged_image_upload_attach_and_replace() {
    let (sim, client) = setup().await;
    let store = sim.store(SHOP);
    let p = store.add_catalog_product(ProductSeed {
        title: "Plain".into(),
        variants: vec![CatalogVariantSeed::default()],
        ..Default::default()
    });
    let request = StagedUploadRequest {
        resource: UploadResource::Image,
        filename: "item-1000.png".into(),
        mime_type: "image/png".into(),
        method: UploadMethod::Put,
        file_size: Some(4),
    };
    let staged = client
        .staged_uploads_create(std::slice::from_ref(&request))
        .await
        .unwrap();
    assert!(staged.user_errors.is_empty());
    let target = staged.targets[0].clone();
    assert!(target.url.starts_with(&sim.base_url()));
    client
        .upload(&target, b"PNG1".to_vec(), "image/png")
        .await
        .unwrap();
    let attached = client
        .product_media_attach(
            &p.product_id,
            &[MediaAttach {
                original_source: target.resource_url.clone().unwrap(),
                alt: Some("Plain".into()),
            }],
        )
        .await
        .unwrap();
    assert!(
        attached.user_errors.is_empty(),
        "{:?}",
        attached.user_errors
    );
    assert_eq!(attached.media.len(), 1);
    let media_id = attached.media[0].id.clone();
    assert_eq!(attached.media[0].status, "READY");
    let media = store.media();
    assert_eq!(media[0].bytes.as_deref(), Some(&b"PNG1"[..]));
    assert_eq!(media[0].product_id.as_deref(), Some(p.product_id.as_str()));
    // The image URL serves the bytes.
    let url = attached.media[0].url.clone().unwrap();
    let body = reqwest::get(&url).await.unwrap().bytes().await.unwrap();
    assert_eq!(&body[..], b"PNG1");

    let staged = client.staged_uploads_create(&[request]).await.unwrap();
    let target = staged.targets[0].clone();
    client
        .upload(&target, b"PNG2".to_vec(), "image/png")
        .await
        .unwrap();
    let replaced = client
        .media_replace(&[MediaReplace {
            media_id: media_id.clone(),
            original_source: target.resource_url.unwrap(),
            alt: None,
        }])
        .await
        .unwrap();
    assert!(
        replaced.user_errors.is_empty(),
        "{:?}",
        replaced.user_errors
    );
    assert_eq!(replaced.media[0].id, media_id);
    let media = store.media();
    assert_eq!(media.len(), 1, "replaced, not added");
    assert_eq!(media[0].bytes.as_deref(), Some(&b"PNG2"[..]));
    assert_eq!(store.upload_count(), 2);

    // An unknown source or media is a user error, nothing written.
    let bad = client
        .product_media_attach(
            &p.product_id,
            &[MediaAttach {
                original_source: format!("{}/staged-uploads/tmp/nope.png", sim.base_url()),
                alt: None,
            }],
        )
        .await
        .unwrap();
    assert_eq!(bad.user_errors.len(), 1);
    let bad = client
        .media_replace(&[MediaReplace {
            media_id: "gid://shopify/MediaImage/999".into(),
            original_source: "https://cdn.example/x.png".into(),
            alt: None,
        }])
        .await
        .unwrap();
    assert_eq!(
        bad.user_errors[0].code.as_deref(),
        Some("FILE_DOES_NOT_EXIST")
    );
    assert_eq!(store.media().len(), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn variant_prices_update_partially() {
    let (sim, client) = setup().await;
    let store = sim.store(SHOP);
    let p = store.add_catalog_product(seed("Shirt", "", 2));
    let out = client
        .variant_prices_update(&ProductPriceUpdate {
            product_id: p.product_id.clone(),
            variants: vec![
                VariantPriceUpdate {
                    variant_id: p.variant_ids[0].clone(),
                    price: "8.50".into(),
                    compare_at_price: None,
                    unit_cost: Some("2.00".into()),
                },
                VariantPriceUpdate {
                    variant_id: "gid://shopify/ProductVariant/999".into(),
                    price: "1.00".into(),
                    compare_at_price: None,
                    unit_cost: None,
                },
            ],
        })
        .await
        .unwrap();
    assert_eq!(out.variants.len(), 1);
    assert_eq!(out.variants[0].price, "8.50");
    assert_eq!(out.variants[0].compare_at_price, None);
    assert_eq!(
        out.user_errors[0].code.as_deref(),
        Some("PRODUCT_VARIANT_DOES_NOT_EXIST")
    );
    assert_eq!(out.user_errors[0].field, vec!["variants", "1", "id"]);
    let v = &store.catalog_product(&p.product_id).unwrap().variants;
    assert_eq!(v[0].price, "8.50");
    assert_eq!(v[0].compare_at_price, None, "cleared");
    assert_eq!(v[0].unit_cost.as_deref(), Some("2.00"));
    assert_eq!(v[1].price, "10.00", "untouched");
    sim.shutdown().await;
}

async fn wait(client: &ShopifyClient, id: &str) -> BulkMutationStatus {
    for _ in 0..500 {
        let s = client.bulk_mutation_status(id).await.unwrap();
        if s.is_terminal() {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("bulk mutation {id} did not finish");
}

/// A bulk `productSet` over a staged JSONL (multipart POST): good lines are written, a failing
/// line comes back with its user errors, and the result matches the per-record path.
#[tokio::test]
async fn bulk_product_set_with_a_failing_line() {
    let (sim, client) = setup().await;
    let store = sim.store(SHOP);
    let mut bad = upsert("3", "Bad", &["S"], "1.00");
    bad.variants[0].price = Some("abc".into());
    let lines = vec![
        upsert("1", "One", &["S", "M"], "5.00"),
        upsert("2", "Two", &["S"], "6.00"),
        bad,
    ];
    let start = client
        .bulk_mutation_run(&BulkMutation::ProductSet(lines.clone()), Some("job-1"))
        .await
        .unwrap();
    let BulkMutationStart::Started { id } = start else {
        panic!("{start:?}")
    };
    let status = wait(&client, &id).await;
    assert_eq!(status.status, "COMPLETED");
    let results = client.bulk_mutation_results(&status).await.unwrap();
    assert_eq!(results.len(), 3);
    assert!(results[0].succeeded() && results[1].succeeded());
    assert_eq!(results[0].product.as_ref().unwrap().variants.len(), 2);
    assert!(!results[2].succeeded());
    assert_eq!(results[2].line, 2);
    assert_eq!(
        results[2].user_errors[0].code.as_deref(),
        Some("INVALID_VARIANT")
    );
    let uploads = store.staged_uploads();
    assert_eq!(uploads.len(), 1);
    assert_eq!(uploads[0].method, "POST");
    assert_eq!(
        String::from_utf8_lossy(&uploads[0].bytes).lines().count(),
        3
    );
    let bulk_state = store.catalog_products();
    assert_eq!(bulk_state.len(), 2);

    // The same upserts one by one change nothing more: same products, same variants.
    for l in &lines[..2] {
        let o = client.product_set(l).await.unwrap();
        assert!(o.user_errors.is_empty());
    }
    let after = store.catalog_products();
    assert_eq!(after.len(), 2);
    for (a, b) in bulk_state.iter().zip(&after) {
        assert_eq!(a.variants, b.variants);
    }

    // A price-only bulk run, stopped half-way: the operation FAILS and only the first line ran.
    store.fail_next_bulk_mutation_after(1);
    let prices = after
        .iter()
        .map(|p| ProductPriceUpdate {
            product_id: p.id.clone(),
            variants: vec![VariantPriceUpdate {
                variant_id: p.variants[0].id.clone(),
                price: "7.77".into(),
                compare_at_price: Some("9.99".into()),
                unit_cost: None,
            }],
        })
        .collect();
    let BulkMutationStart::Started { id } = client
        .bulk_mutation_run(&BulkMutation::VariantPrices(prices), None)
        .await
        .unwrap()
    else {
        panic!()
    };
    let status = wait(&client, &id).await;
    assert_eq!(status.status, "FAILED");
    let results = client.bulk_mutation_results(&status).await.unwrap();
    assert_eq!(results.len(), 1, "line 1 never ran");
    assert_eq!(results[0].prices[0].price, "7.77");
    let now = store.catalog_products();
    assert_eq!(now[0].variants[0].price, "7.77");
    assert_eq!(now[1].variants[0].price, "6.00");

    // A path that was never uploaded is refused as data.
    let r = client
        .execute(
            &shopsync_shopify::documents::BULK_OPERATION_RUN_MUTATION,
            serde_json::json!({"mutation": "mutation { a }", "stagedUploadPath": "tmp/none"}),
        )
        .await
        .unwrap();
    let d: shopsync_shopify::catalog::BulkOperationRunMutationData =
        r.data_as("BulkOperationRunMutation").unwrap();
    assert!(matches!(
        shopsync_shopify::catalog::bulk_mutation_start(d).unwrap(),
        BulkMutationStart::Rejected { code: Some(c), .. } if c == "NO_SUCH_FILE"
    ));
    sim.shutdown().await;
}
