//! `sync-images` on the engine against in-memory doubles: a Shopify double with products, their
//! images (all of them through `product_media`, the first one through the product reads, as the
//! documents ask), staged targets and the bytes uploaded to them; a BC double with items, their
//! `lastModifiedDateTime` and pictures with ETags. Both can lose the answer of a write after
//! applying it, and BC can have a user change a picture just before the import's write lands.

use super::records::{IMAGE_STATES, status};
use super::*;
use crate::catalogue::{self, MirroredProduct};
use crate::engine::ShopClients;
use crate::test_run::{TaskHarness, deref_to_harness};
use shopsync_domain::catalog::{
    MediaAttach, MediaOutcome, MediaReplace, Product, ProductMedia, ProductStatus, StagedTarget,
    StagedUploadRequest, StagedUploadsOutcome, UploadMethod,
};
use shopsync_domain::inventory::{BcItemType, UserError};
use shopsync_domain::items::{BcCatalogItem, ItemBatch, ItemPicture, PictureState, content_hash};
use shopsync_domain::job::JobCounters;
use shopsync_domain::orders::Page;
use shopsync_domain::ports::SkippedRecordStore;
use shopsync_domain::sales::Decimal;
use shopsync_domain::settings::ShopSettings;
use shopsync_test_support::MemoryStore;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

const SHOP: &str = "IMG";

fn settings(direction: &str) -> ShopSettings {
    ShopSettings::from_json(
        &serde_json::json!({
            "code": SHOP,
            "sync_item_images": direction,
            "shopify": {"store_domain": "img.myshopify.com", "access_token_secret_id": "shopsync/IMG/shopify"},
            "bc": {"tenant": "contoso", "environment": "production",
                   "company_id": "5d5d2b5a-6a47-4d36-9a55-4f4c0f0e1a01", "credentials_secret_id": "shopsync/IMG/bc"}
        })
        .to_string(),
    )
    .unwrap()
}

fn transport(what: &str) -> SyncError {
    SyncError::Transport {
        service: "test",
        message: format!("{what}: connection reset after the request was sent"),
    }
}

// ------------------------------------------------------------------------------------- Shopify

#[derive(Default)]
struct ShopifyData {
    /// Products with every image each has.
    products: Vec<Product>,
    /// Staged bytes by target URL (also the `resourceUrl`, and the image URL of what refers to it).
    uploads: HashMap<String, Vec<u8>>,
    /// Calls made, by name.
    calls: Vec<&'static str>,
}

#[derive(Default)]
struct Shopify {
    data: Mutex<ShopifyData>,
    next: AtomicU64,
    /// The next `productUpdate(media:)` is applied, and its answer lost.
    lose_next_attach: AtomicBool,
}

impl Shopify {
    fn id(&self) -> u64 {
        self.next.fetch_add(1, Ordering::Relaxed) + 1
    }

    fn add_product(&self, updated_at: &str) -> String {
        let n = self.id();
        let id = format!("gid://shopify/Product/{n}");
        self.data.lock().unwrap().products.push(Product {
            id: id.clone(),
            handle: format!("p-{n}"),
            title: format!("Product {n}"),
            vendor: None,
            product_type: None,
            description_html: None,
            status: ProductStatus::Active,
            tags: Vec::new(),
            updated_at: updated_at.into(),
            options: Vec::new(),
            variants: Vec::new(),
            media: Vec::new(),
            variants_complete: true,
        });
        id
    }

    /// A merchant puts `bytes` first on the product (or replaces the first image's content).
    fn merchant_image(&self, product_id: &str, bytes: &[u8], updated_at: &str) {
        let n = self.id();
        let url = format!("https://cdn.test/files/m{n}.png");
        let mut d = self.data.lock().unwrap();
        d.uploads.insert(url.clone(), bytes.to_vec());
        let p = d.products.iter_mut().find(|p| p.id == product_id).unwrap();
        p.updated_at = updated_at.into();
        match p.media.first_mut() {
            Some(m) => {
                m.url = Some(url);
                m.image_id = Some(format!("gid://shopify/ImageSource/{n}"));
            }
            None => p.media.push(ProductMedia {
                id: format!("gid://shopify/MediaImage/{n}"),
                alt: Some("a photo".into()),
                status: "READY".into(),
                url: Some(url),
                image_id: Some(format!("gid://shopify/ImageSource/{n}")),
            }),
        }
    }

    fn media(&self, product_id: &str) -> Vec<ProductMedia> {
        let d = self.data.lock().unwrap();
        d.products
            .iter()
            .find(|p| p.id == product_id)
            .unwrap()
            .media
            .clone()
    }

    /// The bytes behind an image.
    fn bytes_of(&self, media: &ProductMedia) -> Vec<u8> {
        let d = self.data.lock().unwrap();
        d.uploads[media.url.as_ref().unwrap()].clone()
    }

    fn calls(&self, name: &str) -> usize {
        let d = self.data.lock().unwrap();
        d.calls.iter().filter(|c| **c == name).count()
    }

    fn call(&self, name: &'static str) {
        self.data.lock().unwrap().calls.push(name);
    }

    /// What the product reads return: the first image only (`media(first: 1)`).
    fn as_read(p: &Product) -> Product {
        let mut p = p.clone();
        p.media.truncate(1);
        p
    }
}

fn user_error(code: &str, message: &str) -> UserError {
    UserError {
        code: Some(code.into()),
        field: vec!["media".into()],
        message: message.into(),
    }
}

#[async_trait]
impl shopsync_domain::catalog::ShopifyCatalogApi for Shopify {
    async fn products_updated_since(
        &self,
        since: Option<&str>,
        after: Option<&str>,
    ) -> Result<Page<Product>> {
        assert!(after.is_none(), "one page only");
        self.call("products");
        let d = self.data.lock().unwrap();
        let mut items: Vec<Product> = d
            .products
            .iter()
            .filter(|p| since.is_none_or(|s| p.updated_at.as_str() >= s))
            .map(Shopify::as_read)
            .collect();
        items.sort_by(|a, b| a.updated_at.cmp(&b.updated_at));
        Ok(Page {
            items,
            next_cursor: None,
        })
    }

    async fn product(&self, id: &str) -> Result<Option<Product>> {
        self.call("product");
        let d = self.data.lock().unwrap();
        Ok(d.products.iter().find(|p| p.id == id).map(Shopify::as_read))
    }

    async fn product_set(
        &self,
        _request: &shopsync_domain::catalog::ProductSetRequest,
    ) -> Result<shopsync_domain::catalog::ProductSetOutcome> {
        unreachable!("sync-images writes no products")
    }

    async fn staged_uploads_create(
        &self,
        uploads: &[StagedUploadRequest],
    ) -> Result<StagedUploadsOutcome> {
        self.call("staged");
        let targets = uploads
            .iter()
            .map(|u| {
                assert_eq!(u.method, UploadMethod::Put);
                let url = format!("https://upload.test/{}/{}", self.id(), u.filename);
                StagedTarget {
                    url: url.clone(),
                    resource_url: Some(url),
                    parameters: vec![("content_type".into(), u.mime_type.clone())],
                    method: u.method,
                }
            })
            .collect();
        Ok(StagedUploadsOutcome {
            targets,
            user_errors: Vec::new(),
        })
    }

    async fn upload(&self, target: &StagedTarget, bytes: Vec<u8>, _mime: &str) -> Result<()> {
        self.call("upload");
        self.data
            .lock()
            .unwrap()
            .uploads
            .insert(target.url.clone(), bytes);
        Ok(())
    }

    async fn product_media_attach(
        &self,
        product_id: &str,
        media: &[MediaAttach],
    ) -> Result<MediaOutcome> {
        self.call("attach");
        let ids: Vec<u64> = media.iter().map(|_| self.id()).collect();
        let mut d = self.data.lock().unwrap();
        if media
            .iter()
            .any(|m| !d.uploads.contains_key(&m.original_source))
        {
            return Ok(MediaOutcome {
                media: Vec::new(),
                user_errors: vec![user_error("INVALID", "Image URL is invalid")],
            });
        }
        let Some(p) = d.products.iter_mut().find(|p| p.id == product_id) else {
            return Ok(MediaOutcome {
                media: Vec::new(),
                user_errors: vec![user_error("NOT_FOUND", "Product does not exist")],
            });
        };
        for (m, n) in media.iter().zip(ids) {
            p.media.push(ProductMedia {
                id: format!("gid://shopify/MediaImage/{n}"),
                alt: m.alt.clone(),
                status: "READY".into(),
                url: Some(m.original_source.clone()),
                image_id: Some(format!("gid://shopify/ImageSource/{n}")),
            });
        }
        let listed: Vec<ProductMedia> = p.media.iter().take(10).cloned().collect();
        drop(d);
        if self.lose_next_attach.swap(false, Ordering::Relaxed) {
            return Err(transport("productUpdate"));
        }
        Ok(MediaOutcome {
            media: listed,
            user_errors: Vec::new(),
        })
    }

    async fn media_replace(&self, updates: &[MediaReplace]) -> Result<MediaOutcome> {
        self.call("replace");
        let n = self.id();
        let mut d = self.data.lock().unwrap();
        let mut out = Vec::new();
        for u in updates {
            let found = d
                .products
                .iter_mut()
                .flat_map(|p| p.media.iter_mut())
                .find(|m| m.id == u.media_id);
            let Some(m) = found else {
                return Ok(MediaOutcome {
                    media: Vec::new(),
                    user_errors: vec![user_error(
                        "FILE_DOES_NOT_EXIST",
                        &format!("File id {} does not exist.", u.media_id),
                    )],
                });
            };
            // As on Shopify: the media id stays, the image is a new one (processing: no image yet
            // in the answer).
            m.url = Some(u.original_source.clone());
            m.alt = u.alt.clone();
            m.image_id = Some(format!("gid://shopify/ImageSource/{n}"));
            out.push(ProductMedia {
                image_id: None,
                url: None,
                ..m.clone()
            });
        }
        Ok(MediaOutcome {
            media: out,
            user_errors: Vec::new(),
        })
    }

    async fn product_media(&self, id: &str) -> Result<Option<Vec<ProductMedia>>> {
        self.call("media");
        let d = self.data.lock().unwrap();
        Ok(d.products
            .iter()
            .find(|p| p.id == id)
            .map(|p| p.media.clone()))
    }

    async fn image_bytes(&self, url: &str, _max_bytes: usize) -> Result<Vec<u8>> {
        self.call("download");
        let d = self.data.lock().unwrap();
        d.uploads
            .get(url)
            .cloned()
            .ok_or_else(|| SyncError::Rejected {
                service: "test",
                code: "HTTP_404".into(),
                message: "image download refused".into(),
            })
    }

    async fn bulk_mutation_run(
        &self,
        _m: &shopsync_domain::catalog::BulkMutation,
        _c: Option<&str>,
    ) -> Result<shopsync_domain::catalog::BulkMutationStart> {
        unreachable!("sync-images runs no bulk mutation")
    }

    async fn bulk_mutation_status(
        &self,
        _id: &str,
    ) -> Result<shopsync_domain::catalog::BulkMutationStatus> {
        unreachable!("sync-images runs no bulk mutation")
    }

    async fn bulk_mutation_results(
        &self,
        _s: &shopsync_domain::catalog::BulkMutationStatus,
    ) -> Result<Vec<shopsync_domain::catalog::BulkLineResult>> {
        unreachable!("sync-images runs no bulk mutation")
    }

    async fn variant_prices_update(
        &self,
        _u: &shopsync_domain::catalog::ProductPriceUpdate,
    ) -> Result<shopsync_domain::catalog::VariantPricesOutcome> {
        unreachable!("sync-images writes no prices")
    }
}

shopsync_test_support::unused_shopify_inventory_api!(Shopify);
shopsync_test_support::unused_shopify_orders_api!(Shopify);
shopsync_test_support::unused_shopify_customers_api!(Shopify);
shopsync_test_support::unused_shopify_companies_api!(Shopify);
shopsync_test_support::unused_shopify_b2b_catalogs_api!(Shopify);
shopsync_test_support::no_shopify_usage!(Shopify);

// ------------------------------------------------------------------------------------------ BC

struct BcItem {
    id: String,
    modified_ms: i64,
    picture: Option<Vec<u8>>,
    /// The picture entity's row version (its ETag).
    version: u64,
}

#[derive(Default)]
struct Bc {
    items: Mutex<BTreeMap<String, BcItem>>,
    clock: AtomicU64,
    /// Pictures written through the port (applied), by item number.
    writes: Mutex<Vec<String>>,
    /// The next picture write is applied, and its answer lost.
    lose_next_set: AtomicBool,
    /// A BC user sets this picture just before the next write of the port lands.
    change_before_set: Mutex<Option<Vec<u8>>>,
}

impl Bc {
    fn tick(&self) -> i64 {
        1_764_000_000_000 + self.clock.fetch_add(600_000, Ordering::Relaxed) as i64
    }

    fn add_item(&self, number: &str, picture: Option<&[u8]>) -> String {
        let id = format!(
            "00000000-0000-0000-0000-{:012}",
            number.len() * 1000 + self.items.lock().unwrap().len()
        );
        let modified_ms = self.tick();
        self.items.lock().unwrap().insert(
            number.into(),
            BcItem {
                id: id.clone(),
                modified_ms,
                picture: picture.map(<[u8]>::to_vec),
                version: 1,
            },
        );
        id
    }

    /// A user sets the item's picture in BC (modifies the item).
    fn set_picture(&self, number: &str, bytes: &[u8]) {
        let at = self.tick();
        let mut items = self.items.lock().unwrap();
        let item = items.get_mut(number).unwrap();
        item.picture = Some(bytes.to_vec());
        item.version += 1;
        item.modified_ms = at;
    }

    fn picture(&self, number: &str) -> Option<Vec<u8>> {
        self.items.lock().unwrap()[number].picture.clone()
    }

    fn writes(&self) -> usize {
        self.writes.lock().unwrap().len()
    }

    fn catalog_item(number: &str, item: &BcItem) -> BcCatalogItem {
        BcCatalogItem {
            id: item.id.clone(),
            number: number.into(),
            description: format!("Item {number}"),
            item_type: BcItemType::Inventory,
            gtin: None,
            unit_price: Decimal::parse("10").unwrap(),
            unit_cost: Decimal::parse("4").unwrap(),
            price_includes_tax: false,
            blocked: false,
            sales_blocked: None,
            item_category_code: String::new(),
            base_unit_of_measure_code: "PCS".into(),
            modified_ms: item.modified_ms,
            etag: format!("W/\"item{}\"", item.version),
        }
    }
}

#[async_trait]
impl shopsync_domain::items::BcItemsApi for Bc {
    async fn items_modified_since(&self, cursor: Option<&ItemCursor>) -> Result<ItemBatch> {
        let items = self.items.lock().unwrap();
        let mut found: Vec<BcCatalogItem> = items
            .iter()
            .filter(|(n, i)| cursor.is_none_or(|c| c.is_before(i.modified_ms, n)))
            .map(|(n, i)| Bc::catalog_item(n, i))
            .collect();
        found.sort_by_key(BcCatalogItem::cursor);
        Ok(ItemBatch {
            next_cursor: found.last().map(BcCatalogItem::cursor),
            items: found,
        })
    }

    async fn item_by_number(&self, number: &str) -> Result<Option<BcCatalogItem>> {
        let items = self.items.lock().unwrap();
        Ok(items.get(number).map(|i| Bc::catalog_item(number, i)))
    }

    async fn item_variants(
        &self,
        _item_id: &str,
    ) -> Result<Vec<shopsync_domain::items::BcItemVariant>> {
        unreachable!("sync-images reads no variants")
    }

    async fn items_by_numbers(&self, _numbers: &[String]) -> Result<Vec<BcCatalogItem>> {
        unreachable!("sync-images reads items by cursor and one by one")
    }

    async fn item_variants_modified_since(
        &self,
        _since_ms: i64,
    ) -> Result<Vec<shopsync_domain::items::BcItemVariant>> {
        unreachable!("sync-images reads no variants")
    }

    async fn item_template(&self, _n: &str) -> Result<shopsync_domain::items::ItemDefaults> {
        unreachable!("sync-images creates no items")
    }

    async fn create_item(&self, _i: &shopsync_domain::items::NewItem) -> Result<BcCatalogItem> {
        unreachable!("sync-images creates no items")
    }

    async fn update_item(
        &self,
        _id: &str,
        _etag: &str,
        _u: &shopsync_domain::items::ItemUpdate,
    ) -> Result<Option<BcCatalogItem>> {
        unreachable!("sync-images updates no item fields")
    }

    async fn create_item_variant(
        &self,
        _v: &shopsync_domain::items::NewItemVariant,
    ) -> Result<shopsync_domain::items::BcItemVariant> {
        unreachable!("sync-images creates no variants")
    }

    async fn item_picture(&self, item_id: &str) -> Result<PictureState> {
        let items = self.items.lock().unwrap();
        let item = items
            .values()
            .find(|i| i.id == item_id)
            .ok_or_else(|| SyncError::NotFound(item_id.into()))?;
        let etag = format!("W/\"picture{}\"", item.version);
        Ok(match &item.picture {
            Some(bytes) => PictureState::Present(ItemPicture {
                item_id: item_id.into(),
                content_type: "image/png".into(),
                width: 10,
                height: 10,
                etag,
                content: bytes.clone(),
                content_hash: content_hash(bytes),
            }),
            None => PictureState::Absent { etag },
        })
    }

    async fn set_item_picture(&self, item_id: &str, etag: &str, content: &[u8]) -> Result<()> {
        let meanwhile = self.change_before_set.lock().unwrap().take();
        let number = {
            let items = self.items.lock().unwrap();
            items
                .iter()
                .find(|(_, i)| i.id == item_id)
                .map(|(n, _)| n.clone())
                .ok_or_else(|| SyncError::NotFound(item_id.into()))?
        };
        if let Some(bytes) = meanwhile {
            self.set_picture(&number, &bytes);
        }
        let at = self.tick();
        {
            let mut items = self.items.lock().unwrap();
            let item = items.get_mut(&number).unwrap();
            if etag != format!("W/\"picture{}\"", item.version) {
                return Err(SyncError::Conflict("Request_EntityChanged".into()));
            }
            item.picture = Some(content.to_vec());
            item.version += 1;
            item.modified_ms = at;
        }
        self.writes.lock().unwrap().push(number);
        if self.lose_next_set.swap(false, Ordering::Relaxed) {
            return Err(transport("PATCH pictureContent"));
        }
        Ok(())
    }

    async fn sales_prices(
        &self,
        _page: Option<&str>,
        _company: &str,
        _scope: &shopsync_domain::items::PriceScope,
        _targets: &[shopsync_domain::items::PriceTarget],
    ) -> Result<Vec<shopsync_domain::items::SalesPrice>> {
        unreachable!("sync-images reads no prices")
    }
}

shopsync_test_support::unused_bc_inventory_api!(Bc);
shopsync_test_support::unused_bc_sales_api!(Bc);
shopsync_test_support::unused_bc_customers_api!(Bc);

// ------------------------------------------------------------------------------------- fixture

struct Fixture {
    shopify: Arc<Shopify>,
    bc: Arc<Bc>,
    harness: TaskHarness,
    jobs: u32,
}

deref_to_harness!(Fixture);

impl Fixture {
    fn new(direction: &str) -> Fixture {
        let shopify = Arc::new(Shopify::default());
        let bc = Arc::new(Bc::default());
        let clients = ShopClients {
            shopify: shopify.clone(),
            bc: bc.clone(),
        };
        let harness = TaskHarness::new(
            MemoryStore::new(),
            clients,
            settings(direction),
            TaskKind::SyncImages,
        );
        Fixture {
            shopify,
            bc,
            harness,
            jobs: 0,
        }
    }

    /// Item `number` in BC (with `picture`), its product in Shopify, linked in the mirror as
    /// sync-products would: returns the product id.
    async fn linked(&mut self, number: &str, picture: Option<&[u8]>) -> String {
        let item_id = self.bc.add_item(number, picture);
        let product_id = self.shopify.add_product("2026-11-01T00:00:00Z");
        let pid = product_id.clone();
        catalogue::update(&self.harness.store, SHOP, number, move |p| {
            p.product_id = Some(pid.clone());
            p.item_id = Some(item_id.clone());
            p.title = format!("Item {}", p.item_no);
            true
        })
        .await
        .unwrap();
        product_id
    }

    fn mirror(&self, number: &str) -> MirroredProduct {
        let r = self
            .harness
            .store
            .record(SHOP, catalogue::PRODUCTS, number)
            .unwrap();
        serde_json::from_str(&r.body).unwrap()
    }

    fn image_state(&self, number: &str) -> Option<Record> {
        self.harness.store.record(SHOP, IMAGE_STATES, number)
    }

    async fn start(&mut self) {
        self.jobs += 1;
        let n = self.jobs;
        self.harness.next_job(TaskKind::SyncImages, n).await;
    }

    /// A whole new job: its counters; `warnings` as expected.
    async fn run(&mut self, warnings: bool) -> JobCounters {
        self.start().await;
        assert_eq!(self.harness.until_finished(&SyncImagesTask).await, warnings);
        self.harness.counters.clone()
    }

    async fn invoke(&mut self) -> Result<crate::RunOutcome> {
        self.harness.invoke(&SyncImagesTask).await
    }

    async fn skipped(&self) -> Vec<String> {
        self.harness
            .store
            .list_skipped(SHOP, 100)
            .await
            .unwrap()
            .into_iter()
            .map(|s| s.reason)
            .collect()
    }
}

const RED: &[u8] = b"\x89PNG red";
const BLUE: &[u8] = b"\x89PNG blue";
const GREEN: &[u8] = b"\x89PNG green";

// ------------------------------------------------------------------------------------ export

#[tokio::test]
async fn a_new_picture_is_uploaded_and_attached_once_and_an_unchanged_one_costs_nothing() {
    let mut f = Fixture::new("to_shopify");
    let product = f.linked("1000", Some(RED)).await;
    let bare = f.linked("2000", None).await;
    f.bc.add_item("3000", Some(BLUE)); // not linked to a product

    let c = f.run(false).await;
    assert_eq!(c.get(counters::PICTURES_READ), 2);
    assert_eq!(c.get(counters::ATTACHED), 1);
    assert_eq!(c.get(counters::NO_PICTURE), 1);
    assert_eq!(
        (
            f.shopify.calls("staged"),
            f.shopify.calls("upload"),
            f.shopify.calls("attach")
        ),
        (1, 1, 1)
    );
    let media = f.shopify.media(&product);
    assert_eq!(media.len(), 1);
    assert_eq!(f.shopify.bytes_of(&media[0]), RED);
    assert_eq!(
        media[0].alt.as_deref(),
        Some(records::marker_alt("1000", &content_hash(RED)).as_str())
    );
    assert!(f.shopify.media(&bare).is_empty());
    let image = f.mirror("1000").image;
    assert_eq!(image.picture_hash, Some(content_hash(RED)));
    assert_eq!(image.media_id.as_deref(), Some(media[0].id.as_str()));
    assert_eq!(image.shopify_image_id, media[0].image_id);
    assert!(f.image_state("1000").is_none());

    // Nothing changed: nothing is uploaded or sent (the item read last is read again, as the
    // cursor is read back a few minutes).
    let c = f.run(false).await;
    assert_eq!(c.get(counters::PICTURES_READ), c.get(counters::UNCHANGED));
    assert_eq!(c.get(counters::MEDIA_MUTATIONS), 0);
    // Touched in BC without a new picture (another field changed): read, hashed, nothing sent.
    // An item no product stands for is left alone.
    f.bc.set_picture("1000", RED);
    f.bc.set_picture("3000", GREEN);
    let c = f.run(false).await;
    assert_eq!(c.get(counters::NOT_LINKED), 1);
    assert_eq!(c.get(counters::PICTURES_READ), 1);
    assert_eq!(c.get(counters::UNCHANGED), 1);
    assert_eq!(c.get(counters::STAGED_UPLOADS), 0);
    assert_eq!(c.get(counters::UPLOADS), 0);
    assert_eq!(c.get(counters::MEDIA_MUTATIONS), 0);
    assert_eq!(
        (
            f.shopify.calls("staged"),
            f.shopify.calls("upload"),
            f.shopify.calls("attach")
        ),
        (1, 1, 1)
    );
}

#[tokio::test]
async fn a_changed_picture_replaces_the_linked_image_whose_image_id_changes() {
    let mut f = Fixture::new("to_shopify");
    let product = f.linked("1000", Some(RED)).await;
    f.run(false).await;
    let first = f.shopify.media(&product)[0].clone();

    f.bc.set_picture("1000", BLUE);
    let c = f.run(false).await;
    assert_eq!(c.get(counters::REPLACED), 1);
    assert_eq!(f.shopify.calls("replace"), 1);
    assert_eq!(f.shopify.calls("attach"), 1, "no second image");
    let media = f.shopify.media(&product);
    assert_eq!(media.len(), 1);
    assert_eq!(media[0].id, first.id, "fileUpdate keeps the media id");
    assert_ne!(media[0].image_id, first.image_id);
    assert_eq!(f.shopify.bytes_of(&media[0]), BLUE);
    let image = f.mirror("1000").image;
    assert_eq!(image.picture_hash, Some(content_hash(BLUE)));
    assert_eq!(image.media_id, Some(first.id));
}

#[tokio::test]
async fn a_lost_attach_answer_is_found_by_its_marker_and_not_added_again() {
    let mut f = Fixture::new("to_shopify");
    let product = f.linked("1000", Some(RED)).await;
    f.shopify.lose_next_attach.store(true, Ordering::Relaxed);
    f.start().await;
    assert!(f.invoke().await.unwrap_err().is_retryable());
    assert_eq!(
        f.image_state("1000").unwrap().status.as_deref(),
        Some(status::PENDING)
    );
    // The queue delivers the job again: the effect was sent, so it is probed first.
    assert!(!f.harness.until_finished(&SyncImagesTask).await);
    assert_eq!(f.shopify.calls("attach"), 1);
    assert_eq!(f.shopify.media(&product).len(), 1);
    assert_eq!(
        f.harness.counters.get(counters::FOUND_BY_MARKER),
        1,
        "{:?}",
        f.harness.counters
    );
    assert_eq!(f.mirror("1000").image.picture_hash, Some(content_hash(RED)));
    assert!(f.image_state("1000").is_none());
}

#[tokio::test]
async fn a_pending_image_left_by_an_abandoned_job_is_looked_for_by_the_next_job() {
    let mut f = Fixture::new("to_shopify");
    let product = f.linked("1000", Some(RED)).await;
    f.shopify.lose_next_attach.store(true, Ordering::Relaxed);
    f.start().await;
    assert!(f.invoke().await.is_err());
    // That job is never resumed (it went to the dead-letter queue); the next scheduled job runs.
    let c = f.run(false).await;
    assert_eq!(c.get(counters::FOUND_BY_MARKER), 1);
    assert_eq!(f.shopify.calls("attach"), 1);
    assert_eq!(f.shopify.media(&product).len(), 1);
    assert_eq!(
        f.mirror("1000").image.media_id.as_deref(),
        Some(f.shopify.media(&product)[0].id.as_str())
    );
}

#[tokio::test]
async fn an_image_of_an_older_content_left_pending_is_reused_not_left_beside_a_new_one() {
    let mut f = Fixture::new("to_shopify");
    let product = f.linked("1000", Some(RED)).await;
    f.shopify.lose_next_attach.store(true, Ordering::Relaxed);
    f.start().await;
    assert!(f.invoke().await.is_err());
    // The job is abandoned with RED added but unrecorded; then the picture changes in BC.
    f.bc.set_picture("1000", BLUE);
    let c = f.run(false).await;
    assert_eq!(c.get(counters::REPLACED), 1, "{c:?}");
    assert_eq!(f.shopify.calls("attach"), 1);
    let media = f.shopify.media(&product);
    assert_eq!(media.len(), 1);
    assert_eq!(f.shopify.bytes_of(&media[0]), BLUE);
    assert_eq!(f.mirror("1000").image.media_id, Some(media[0].id.clone()));
    assert!(f.image_state("1000").is_none());
}

#[tokio::test]
async fn a_picture_changed_after_planning_is_exported_in_its_newest_content() {
    let mut f = Fixture::new("to_shopify");
    let product = f.linked("1000", Some(RED)).await;
    f.start().await;
    // Planning only: the run stops after each step.
    f.harness.saved.deadline.store(true, Ordering::Relaxed);
    let mut steps = 0;
    loop {
        steps += 1;
        if steps == 3 {
            // The plan holds RED; BC now has GREEN.
            f.bc.set_picture("1000", GREEN);
        }
        match f.invoke().await.unwrap() {
            crate::RunOutcome::Finished { .. } => break,
            _ => assert!(steps < 20),
        }
    }
    assert_eq!(f.harness.counters.get(counters::STALE), 1);
    let media = f.shopify.media(&product);
    assert_eq!(media.len(), 1);
    assert_eq!(f.shopify.bytes_of(&media[0]), GREEN);
    assert_eq!(
        f.mirror("1000").image.picture_hash,
        Some(content_hash(GREEN))
    );
}

#[tokio::test]
async fn a_deleted_image_is_added_again_and_refusals_are_retried_next_run() {
    let mut f = Fixture::new("to_shopify");
    let product = f.linked("1000", Some(RED)).await;
    f.run(false).await;
    // The merchant deletes the image in Shopify; BC's picture changes.
    f.shopify.data.lock().unwrap().products[0].media.clear();
    f.bc.set_picture("1000", BLUE);
    let c = f.run(false).await;
    assert_eq!(c.get(counters::ATTACHED), 1);
    assert_eq!(f.shopify.calls("replace"), 1);
    let media = f.shopify.media(&product);
    assert_eq!(media.len(), 1);
    assert_eq!(f.mirror("1000").image.media_id, Some(media[0].id.clone()));

    // The product is gone from Shopify: refused, kept as an error, retried (and refused) next run.
    f.shopify.data.lock().unwrap().products.clear();
    f.bc.set_picture("1000", GREEN);
    let c = f.run(true).await;
    assert_eq!(c.get(counters::FAILED), 1);
    assert_eq!(
        f.image_state("1000").unwrap().status.as_deref(),
        Some(status::ERROR)
    );
    assert!(
        f.skipped()
            .await
            .iter()
            .any(|r| r.contains("does not exist"))
    );
    let c = f.run(true).await;
    assert_eq!(
        c.get(counters::PICTURES_READ),
        1,
        "the failed item is read again"
    );
}

#[tokio::test]
async fn a_full_run_looks_at_every_linked_item_and_leaves_the_cursor() {
    let mut f = Fixture::new("to_shopify");
    f.linked("1000", Some(RED)).await;
    f.linked("2000", Some(BLUE)).await;
    f.run(false).await;
    let cursor = f
        .harness
        .store
        .record(SHOP, CURSORS, records::EXPORT_CURSOR);
    assert!(cursor.is_some());
    f.start().await;
    f.harness.job.options.full = true;
    assert!(!f.harness.until_finished(&SyncImagesTask).await);
    let c = f.harness.counters.clone();
    assert_eq!(c.get(counters::PICTURES_READ), 2);
    assert_eq!(c.get(counters::UNCHANGED), 2);
    assert_eq!(c.get(counters::MEDIA_MUTATIONS), 0);
    assert_eq!(
        f.harness
            .store
            .record(SHOP, CURSORS, records::EXPORT_CURSOR)
            .map(|r| r.body),
        cursor.map(|r| r.body)
    );
}

#[tokio::test]
async fn the_mirror_keeps_what_sync_products_wrote_meanwhile() {
    let mut f = Fixture::new("to_shopify");
    f.linked("1000", Some(RED)).await;
    f.run(false).await;
    catalogue::update(&f.harness.store, SHOP, "1000", |p| {
        p.export_hash = Some("products-hash".into());
        true
    })
    .await
    .unwrap();
    f.bc.set_picture("1000", BLUE);
    f.run(false).await;
    let m = f.mirror("1000");
    assert_eq!(m.export_hash.as_deref(), Some("products-hash"));
    assert_eq!(m.image.picture_hash, Some(content_hash(BLUE)));
    assert_eq!(m.status, None);
}

#[tokio::test]
async fn runs_are_skipped_when_disabled_or_when_an_export_may_not_write() {
    let mut f = Fixture::new("disabled");
    f.start().await;
    assert!(matches!(
        f.invoke().await.unwrap(),
        crate::RunOutcome::Skipped { .. }
    ));
    let mut f = Fixture::new("to_shopify");
    f.harness.settings.allow_outgoing_requests = false;
    f.start().await;
    assert!(matches!(
        f.invoke().await.unwrap(),
        crate::RunOutcome::Skipped { .. }
    ));
}

// ------------------------------------------------------------------------------------ import

#[tokio::test]
async fn an_image_is_imported_once_and_again_only_when_shopify_replaced_it() {
    let mut f = Fixture::new("from_shopify");
    let product = f.linked("1000", None).await;
    let other = f.linked("2000", Some(BLUE)).await;
    let unlinked = f.shopify.add_product("2026-11-02T00:00:00Z");
    f.shopify
        .merchant_image(&product, RED, "2026-11-02T00:00:00Z");
    f.shopify
        .merchant_image(&other, BLUE, "2026-11-02T00:00:00Z");
    f.shopify
        .merchant_image(&unlinked, GREEN, "2026-11-02T00:00:00Z");

    let c = f.run(false).await;
    assert_eq!(f.bc.picture("1000").as_deref(), Some(RED));
    assert_eq!(c.get(counters::PICTURES_WRITTEN), 1);
    assert_eq!(
        c.get(counters::IMPORT_UNCHANGED),
        1,
        "2000 has BLUE already"
    );
    assert_eq!(c.get(counters::NOT_LINKED), 1);
    assert_eq!(f.bc.writes(), 1);
    let media = f.shopify.media(&product);
    let image = f.mirror("1000").image;
    assert_eq!(image.shopify_image_id, media[0].image_id);
    assert_eq!(image.picture_hash, Some(content_hash(RED)));

    // Nothing changed in Shopify: the same image ids, nothing fetched or written.
    let downloads = f.shopify.calls("download");
    let c = f.run(false).await;
    assert_eq!(c.get(counters::PICTURES_WRITTEN), 0);
    assert_eq!(f.shopify.calls("download"), downloads);
    assert_eq!(f.bc.writes(), 1);

    // The merchant replaces the image: a new image id.
    f.shopify
        .merchant_image(&product, GREEN, "2099-01-01T00:00:00Z");
    let c = f.run(false).await;
    assert_eq!(c.get(counters::PICTURES_WRITTEN), 1);
    assert_eq!(f.bc.picture("1000").as_deref(), Some(GREEN));
    assert_eq!(f.bc.writes(), 2);
}

#[tokio::test]
async fn a_lost_picture_write_is_not_written_twice() {
    let mut f = Fixture::new("from_shopify");
    let product = f.linked("1000", None).await;
    f.shopify
        .merchant_image(&product, RED, "2026-11-02T00:00:00Z");
    f.bc.lose_next_set.store(true, Ordering::Relaxed);
    f.start().await;
    assert!(f.invoke().await.is_err());
    assert!(!f.harness.until_finished(&SyncImagesTask).await);
    assert_eq!(f.bc.writes(), 1);
    assert_eq!(f.harness.counters.get(counters::IMPORT_UNCHANGED), 1);
    assert_eq!(f.bc.picture("1000").as_deref(), Some(RED));
    assert_eq!(
        f.mirror("1000").image.shopify_image_id,
        f.shopify.media(&product)[0].image_id
    );
}

#[tokio::test]
async fn a_picture_changed_in_bc_during_the_import_is_kept() {
    let mut f = Fixture::new("from_shopify");
    let product = f.linked("1000", Some(BLUE)).await;
    f.shopify
        .merchant_image(&product, RED, "2026-11-02T00:00:00Z");
    *f.bc.change_before_set.lock().unwrap() = Some(GREEN.to_vec());
    let c = f.run(true).await;
    assert_eq!(c.get(counters::KEPT_BC), 1);
    assert_eq!(f.bc.picture("1000").as_deref(), Some(GREEN));
    assert_eq!(f.bc.writes(), 0);
    assert!(
        f.skipped()
            .await
            .iter()
            .any(|r| r.contains("BC's picture is kept"))
    );
    // Shopify's image is taken as seen: the next run does not import it over BC's.
    let c = f.run(false).await;
    assert_eq!(c.get(counters::DOWNLOADED), 0);
    assert_eq!(f.bc.picture("1000").as_deref(), Some(GREEN));
}

#[tokio::test]
async fn an_image_that_cannot_be_fetched_is_retried_next_run() {
    let mut f = Fixture::new("from_shopify");
    let product = f.linked("1000", None).await;
    f.shopify
        .merchant_image(&product, RED, "2026-11-02T00:00:00Z");
    let url = f.shopify.media(&product)[0].url.clone().unwrap();
    let bytes = f.shopify.data.lock().unwrap().uploads.remove(&url).unwrap();
    let c = f.run(true).await;
    assert_eq!(c.get(counters::FAILED), 1);
    assert_eq!(
        f.image_state("1000").unwrap().status.as_deref(),
        Some(status::ERROR)
    );
    // Served again; the product did not change since, but the failed import is retried.
    f.shopify.data.lock().unwrap().uploads.insert(url, bytes);
    let c = f.run(false).await;
    assert_eq!(c.get(counters::PICTURES_WRITTEN), 1);
    assert_eq!(f.bc.picture("1000").as_deref(), Some(RED));
    assert!(f.image_state("1000").is_none());
}
