//! `sync-images` through the real path: the scheduled fan-out and a manual run, the task queue on
//! moto, the worker, DynamoDB, and the Shopify and BC simulators over HTTP — staged uploads are real
//! HTTP PUTs to the Shopify simulator, and imported images are fetched from the URLs it serves.
//!
//! With 20 % of the requests on both sides failing (answers lost after the write among them), a
//! lost `productUpdate(media:)` answer scripted on top, and the first job's message delivered twice:
//! each changed BC picture is attached to its product once (one image per product, never two), an
//! unchanged picture causes no upload and no mutation, a changed one replaces the image's content
//! (same media, new image), and an import writes each BC picture once.
//!
//! The catalogue mirror's links (BC item ↔ Shopify product) are written directly, as sync-products
//! leaves them. The rules are unit-tested in `shared/tasks/src/images/tests.rs`.

use bc_sim::{BcFault, BcFaultRule};
use shopify_sim::{CatalogVariantSeed, FaultKind, ProductSeed};
use shopsync_domain::TaskKind;
use shopsync_domain::catalog::{
    MediaAttach, MediaReplace, StagedUploadRequest, UploadMethod, UploadResource,
};
use shopsync_domain::items::content_hash;
use shopsync_domain::job::{JobRecord, JobStatus, RunOptions, Trigger};
use shopsync_domain::ports::{RecordStore, SettingsStore};
use shopsync_domain::settings::{ShopSettings, SyncDirection, TaskSettings};
use shopsync_e2e::faults::{duplicate_a_message, faults_off, faults_on};
use shopsync_e2e::jobs::{jobs_of, queue_manual_run, tick_and_drain, total};
use shopsync_e2e::{Stack, StackOptions, local_runtime, tick_at};
use shopsync_runtime::RuntimeConfig;
use shopsync_runtime::local::LocalRunner;
use shopsync_tasks::catalogue::{self, MirroredProduct};
use shopsync_tasks::engine::clients::ClientFactory;
use shopsync_tasks::engine::{ClientSource, ShopClients};
use shopsync_tasks::images::counters as c;
use shopsync_tasks::images::records::{IMAGE_STATES, marker_alt};
use std::time::Duration;

const DRAIN: Duration = Duration::from_secs(300);
/// The schedule's interval of sync-images (minutes): one tick a day queues the shop again.
const DAY: i64 = 24 * 60;

fn runtime() -> RuntimeConfig {
    RuntimeConfig {
        // A few effects per invocation, so the runs continue across messages too.
        max_run: Some(Duration::from_millis(300)),
        metrics: shopsync_runtime::metrics::MetricsSink::Off,
        ..local_runtime()
    }
}

fn images_runner(stack: &Stack) -> LocalRunner {
    stack
        .runner_for(TaskKind::SyncImages, "SyncImagesQueue", runtime())
        .expect("the template has the sync-images queue")
}

/// A small PNG (BC's simulator reads its type and size from the header) whose content is `tag`.
fn png(tag: &str) -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    b.extend_from_slice(&64u32.to_be_bytes());
    b.extend_from_slice(&48u32.to_be_bytes());
    b.extend_from_slice(tag.as_bytes());
    b
}

/// A shop with sync-images on in `direction`, and `n` BC items each linked in the mirror to a
/// Shopify product of its own.
struct ImagesShop {
    code: String,
    domain: String,
    company: bc_sim::CompanyHandle,
    settings: ShopSettings,
    /// (item number, product id)
    linked: Vec<(String, String)>,
}

async fn images_shop(stack: &Stack, code: &str, n: usize, direction: SyncDirection) -> ImagesShop {
    let demo = stack.seed_shop(code, n).await.expect("seeded shop");
    let mut settings = demo.settings.clone();
    settings.tasks.insert(
        TaskKind::SyncImages,
        TaskSettings {
            enabled: true,
            ..TaskSettings::default()
        },
    );
    settings.sync_item_images = direction;
    stack.adapters.store.put_shop(&settings).await.unwrap();
    let store = stack.shopify.store(&demo.domain);
    let mut linked = Vec::new();
    for i in 0..n {
        let number = format!("{}{i:06}", demo.prefix);
        let product = store.add_catalog_product(ProductSeed {
            title: format!("Item {number}"),
            variants: vec![CatalogVariantSeed {
                sku: Some(number.clone()),
                price: "10.00".into(),
                ..CatalogVariantSeed::default()
            }],
            updated_at: "2026-01-01T00:00:00Z".into(),
            ..ProductSeed::default()
        });
        let item_id = demo.company.item_id(&number).expect("a seeded BC item");
        let pid = product.product_id.clone();
        catalogue::update(stack.adapters.store.as_ref(), code, &number, move |p| {
            p.product_id = Some(pid.clone());
            p.item_id = Some(item_id.clone());
            p.title = format!("Item {}", p.item_no);
            true
        })
        .await
        .unwrap();
        linked.push((number, product.product_id));
    }
    ImagesShop {
        code: code.into(),
        domain: demo.domain,
        company: demo.company,
        settings,
        linked,
    }
}

impl ImagesShop {
    async fn mirror(&self, stack: &Stack, number: &str) -> MirroredProduct {
        catalogue::load(stack.adapters.store.as_ref(), &self.code, number)
            .await
            .unwrap()
            .expect("a mirror record")
            .product
    }

    async fn clients(&self, stack: &Stack) -> ShopClients {
        ClientFactory::new(stack.adapters.secrets.clone(), stack.endpoints.clone())
            .clients(&self.settings)
            .await
            .expect("clients")
    }

    /// What the simulator counts of the catalogue writes: (staged uploads PUT, `productUpdate`s
    /// applied, `fileUpdate`s applied).
    fn shopify_writes(&self, stack: &Stack) -> (usize, usize, usize) {
        let store = stack.shopify.store(&self.domain);
        let writes = store.catalog_writes();
        let applied = |m: &str| {
            writes
                .iter()
                .filter(|w| w.mutation == m && w.applied)
                .count()
        };
        (
            store.upload_count(),
            applied("productUpdate"),
            applied("fileUpdate"),
        )
    }
}

/// One scheduled tick at `minutes` that queues this shop's job, then the queue drained.
async fn tick(runner: &LocalRunner, minutes: i64) {
    tick_and_drain(runner, minutes, 1, DRAIN).await;
}

/// A manual run (as the api function queues one): a `queued` job and its message on the task queue.
async fn manual_run(stack: &Stack, runner: &LocalRunner, code: &str) -> String {
    queue_manual_run(
        stack,
        runner,
        code,
        TaskKind::SyncImages,
        RunOptions::default(),
        DRAIN,
    )
    .await
}

async fn jobs(stack: &Stack, code: &str) -> Vec<JobRecord> {
    jobs_of(stack, code, TaskKind::SyncImages).await
}

/// Ticks (a day apart, from `minutes`) until `done` holds, at most three: a job that used up its
/// receives under the faults is dead-lettered, and the next one finishes its work.
async fn until<F>(runner: &LocalRunner, mut minutes: i64, mut done: F) -> i64
where
    F: AsyncFnMut() -> bool,
{
    let mut reruns = 0;
    while !done().await {
        reruns += 1;
        assert!(reruns <= 3, "three more runs did not finish the work");
        minutes += DAY;
        tick(runner, minutes).await;
    }
    minutes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_under_faults_attaches_each_changed_picture_once_and_skips_unchanged_ones() {
    let stack = Stack::start(StackOptions {
        runtime: runtime(),
        ..StackOptions::default()
    })
    .await
    .expect("local stack");
    let shop = images_shop(&stack, "IMGOUT", 12, SyncDirection::ToShopify).await;
    let store = stack.shopify.store(&shop.domain);
    // Items 0..10 have a picture in BC; 10 and 11 have none.
    for (i, (number, _)) in shop.linked.iter().enumerate().take(10) {
        shop.company
            .set_item_picture(number, &png(&format!("red {i}")));
    }
    let runner = images_runner(&stack);

    faults_on(&stack, 30_107);
    // Certainly, on top of the random faults: Shopify adds the first image and the answer is lost.
    stack
        .shopify
        .script_fault(FaultKind::DropAfterApply, Some("productUpdate"), 1);
    let report = runner.tick(tick_at(0)).await;
    assert_eq!(report.queued.len(), 1, "{report:?}");
    duplicate_a_message(&stack, &runner.queue_url).await;
    runner.drain(DRAIN).await.expect("the queue drains");

    let exported = async || {
        let mut all = true;
        for (number, _) in shop.linked.iter().take(10) {
            let m = shop.mirror(&stack, number).await;
            let want = content_hash(&shop.company.item_picture(number).unwrap());
            all &= m.image.picture_hash.as_deref() == Some(want.as_str());
        }
        all
    };
    let minutes = until(&runner, 0, exported).await;

    for (i, (number, product)) in shop.linked.iter().enumerate() {
        let media: Vec<_> = store
            .media()
            .into_iter()
            .filter(|m| m.product_id.as_deref() == Some(product.as_str()))
            .collect();
        if i >= 10 {
            assert!(media.is_empty(), "{number} has no picture: {media:?}");
            continue;
        }
        let picture = png(&format!("red {i}"));
        assert_eq!(media.len(), 1, "{number}: one image, never two: {media:?}");
        assert_eq!(
            media[0].bytes.as_deref(),
            Some(picture.as_slice()),
            "{number}"
        );
        assert_eq!(
            media[0].alt.as_deref(),
            Some(marker_alt(number, &content_hash(&picture)).as_str())
        );
        let m = shop.mirror(&stack, number).await;
        assert_eq!(m.image.media_id.as_deref(), Some(media[0].id.as_str()));
    }
    let (_, attached, _) = shop.shopify_writes(&stack);
    assert_eq!(attached, 10, "each picture attached once");
    let all = jobs(&stack, "IMGOUT").await;
    assert!(
        total(&all, c::FOUND_BY_MARKER) >= 1,
        "the lost answer was found by its marker: {:?}",
        all.iter().map(|j| &j.counters).collect::<Vec<_>>()
    );
    assert_eq!(
        stack
            .adapters
            .store
            .count_by_status("IMGOUT", IMAGE_STATES, "pending")
            .await
            .unwrap(),
        0
    );
    let (shopify, bc) = (stack.shopify.stats(), stack.bc.stats());
    assert!(shopify.injected_faults > 0 && bc.injected_faults > 0);
    eprintln!(
        "export: {} Shopify faults, {} BC faults, {} job(s), {} found by marker",
        shopify.injected_faults,
        bc.injected_faults,
        all.len(),
        total(&all, c::FOUND_BY_MARKER)
    );

    // Nothing changed: no upload, no mutation (faults still on).
    let before = shop.shopify_writes(&stack);
    let staged_before = store
        .catalog_writes()
        .iter()
        .filter(|w| w.mutation == "stagedUploadsCreate")
        .count();
    let minutes = minutes + DAY;
    tick(&runner, minutes).await;
    assert_eq!(shop.shopify_writes(&stack), before);
    assert_eq!(
        store
            .catalog_writes()
            .iter()
            .filter(|w| w.mutation == "stagedUploadsCreate")
            .count(),
        staged_before,
        "no staged upload for an unchanged picture"
    );

    // Three pictures change in BC; a manual run replaces those images' content, adds none.
    let mut first_ids = Vec::new();
    for (i, (number, _)) in shop.linked.iter().enumerate().take(3) {
        shop.company
            .set_item_picture(number, &png(&format!("blue {i}")));
        first_ids.push(shop.mirror(&stack, number).await.image.media_id);
    }
    let manual = manual_run(&stack, &runner, "IMGOUT").await;
    let replaced = async || {
        let mut all = true;
        for (i, (number, _)) in shop.linked.iter().enumerate().take(3) {
            let m = shop.mirror(&stack, number).await;
            let want = content_hash(&png(&format!("blue {i}")));
            all &= m.image.picture_hash.as_deref() == Some(want.as_str());
        }
        all
    };
    until(&runner, minutes, replaced).await;
    let job = stack
        .jobs("IMGOUT")
        .await
        .into_iter()
        .find(|j| j.job_id == manual)
        .expect("the manual job");
    assert_eq!(job.trigger, Trigger::Manual);
    for (i, (number, product)) in shop.linked.iter().enumerate().take(3) {
        let media: Vec<_> = store
            .media()
            .into_iter()
            .filter(|m| m.product_id.as_deref() == Some(product.as_str()))
            .collect();
        assert_eq!(media.len(), 1, "{number}: still one image");
        assert_eq!(Some(media[0].id.clone()), first_ids[i], "the same media");
        assert_eq!(
            media[0].bytes.as_deref(),
            Some(png(&format!("blue {i}")).as_slice())
        );
    }
    let (_, attached_after, replaced_count) = shop.shopify_writes(&stack);
    assert_eq!(attached_after, 10, "no image added for a changed picture");
    assert!(replaced_count >= 3, "{replaced_count}");
    faults_off(&stack);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_under_faults_writes_each_bc_picture_once() {
    let stack = Stack::start(StackOptions {
        runtime: runtime(),
        ..StackOptions::default()
    })
    .await
    .expect("local stack");
    let shop = images_shop(&stack, "IMGIN", 8, SyncDirection::FromShopify).await;
    let clients = shop.clients(&stack).await;
    // The merchant's photos on products 0..7 (product 7 has none); BC item 6 has that very photo.
    let mut media_ids = Vec::new();
    for (i, (_, product)) in shop.linked.iter().enumerate().take(7) {
        let photo = png(&format!("photo {i}"));
        let staged = clients
            .shopify
            .staged_uploads_create(&[StagedUploadRequest {
                resource: UploadResource::Image,
                filename: format!("photo-{i}.png"),
                mime_type: "image/png".into(),
                method: UploadMethod::Put,
                file_size: Some(photo.len() as u64),
            }])
            .await
            .unwrap();
        let target = staged.targets[0].clone();
        clients
            .shopify
            .upload(&target, photo, "image/png")
            .await
            .unwrap();
        let out = clients
            .shopify
            .product_media_attach(
                product,
                &[MediaAttach {
                    original_source: target.resource_url.clone().unwrap(),
                    alt: Some(format!("photo {i}")),
                }],
            )
            .await
            .unwrap();
        assert!(out.user_errors.is_empty(), "{:?}", out.user_errors);
        media_ids.push(out.media[0].id.clone());
    }
    let (item6, _) = &shop.linked[6];
    shop.company.set_item_picture(item6, &png("photo 6"));
    let runner = images_runner(&stack);

    faults_on(&stack, 30_108);
    // Certainly: BC writes the first picture and the answer is lost.
    stack.bc.add_fault_rule(
        BcFaultRule::new(BcFault::DropAfterApply)
            .on("PATCH", "pictureContent")
            .times(1),
    );
    let report = runner.tick(tick_at(0)).await;
    assert_eq!(report.queued.len(), 1, "{report:?}");
    duplicate_a_message(&stack, &runner.queue_url).await;
    runner.drain(DRAIN).await.expect("the queue drains");
    let imported = async || {
        let mut all = true;
        for (i, (number, _)) in shop.linked.iter().enumerate().take(7) {
            all &= shop.company.item_picture(number) == Some(png(&format!("photo {i}")));
            all &= shop
                .mirror(&stack, number)
                .await
                .image
                .shopify_image_id
                .is_some();
        }
        all
    };
    let minutes = until(&runner, 0, imported).await;

    for (i, (number, _)) in shop.linked.iter().enumerate() {
        let want = match i {
            0..6 => 1,
            _ => 0,
        };
        assert_eq!(
            shop.company.picture_writes(number),
            want,
            "{number}: BC's picture written {want} time(s)"
        );
    }
    assert_eq!(shop.company.item_picture(&shop.linked[7].0), None);
    assert_eq!(
        stack.bc.pending_fault_rules(),
        0,
        "the scripted fault fired"
    );
    let all = jobs(&stack, "IMGIN").await;
    eprintln!(
        "import: {} Shopify faults, {} BC faults, {} job(s), {} pictures written",
        stack.shopify.stats().injected_faults,
        stack.bc.stats().injected_faults,
        all.len(),
        total(&all, c::PICTURES_WRITTEN)
    );

    // Nothing changed in Shopify: nothing fetched, nothing written.
    let writes_before: Vec<u64> = shop
        .linked
        .iter()
        .map(|(n, _)| shop.company.picture_writes(n))
        .collect();
    let minutes = minutes + DAY;
    tick(&runner, minutes).await;
    let last = jobs(&stack, "IMGIN").await;
    let newest = last.iter().max_by(|a, b| a.job_id.cmp(&b.job_id)).unwrap();
    assert!(
        matches!(newest.status, JobStatus::Succeeded),
        "{:?}",
        newest.error
    );
    assert_eq!(
        newest.counters.get(c::DOWNLOADED),
        0,
        "{:?}",
        newest.counters
    );
    let writes_after: Vec<u64> = shop
        .linked
        .iter()
        .map(|(n, _)| shop.company.picture_writes(n))
        .collect();
    assert_eq!(writes_after, writes_before);

    // The merchant replaces product 0's photo (same media, a new image); a manual run imports it.
    faults_off(&stack);
    let photo = png("photo 0, retaken");
    let staged = clients
        .shopify
        .staged_uploads_create(&[StagedUploadRequest {
            resource: UploadResource::Image,
            filename: "photo-0b.png".into(),
            mime_type: "image/png".into(),
            method: UploadMethod::Put,
            file_size: Some(photo.len() as u64),
        }])
        .await
        .unwrap();
    let target = staged.targets[0].clone();
    clients
        .shopify
        .upload(&target, photo.clone(), "image/png")
        .await
        .unwrap();
    let out = clients
        .shopify
        .media_replace(&[MediaReplace {
            media_id: media_ids[0].clone(),
            original_source: target.resource_url.clone().unwrap(),
            alt: None,
        }])
        .await
        .unwrap();
    assert!(out.user_errors.is_empty(), "{:?}", out.user_errors);
    faults_on(&stack, 30_109);
    manual_run(&stack, &runner, "IMGIN").await;
    let (item0, _) = &shop.linked[0];
    until(&runner, minutes, async || {
        shop.company.item_picture(item0).as_deref() == Some(photo.as_slice())
    })
    .await;
    assert_eq!(shop.company.picture_writes(item0), 2);
    for (number, _) in shop.linked.iter().skip(1) {
        let i = shop.linked.iter().position(|(n, _)| n == number).unwrap();
        assert_eq!(shop.company.picture_writes(number), writes_before[i]);
    }
    faults_off(&stack);
}
