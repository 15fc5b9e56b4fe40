//! Catalogue vocabulary on the Shopify side (products, variants, media, staged uploads, bulk
//! mutations) and the port through which the catalogue tasks (`sync-products`, `sync-images`)
//! reach it: [`ShopifyCatalogApi`].
//!
//! Amounts are Shopify `Decimal`s kept as the text Shopify wrote (`"12.50"`), never `f64`. Ids are
//! opaque strings. Writes follow the 2026-07 schema:
//! * products are upserted with `productSet`, keyed by a [`ProductIdentifier`] (the BC item as a
//!   unique metafield, `customId`), so a retried or duplicated call cannot create a second product.
//!   `productSet` offers **no** `@idempotent` key in 2026-07 (only the inventory family,
//!   `refundCreate`, `locationActivate`/`Deactivate`, … do), so the identifier is what makes it safe;
//! * media go through staged uploads (`stagedUploadsCreate`, then an HTTP PUT of the bytes) and are
//!   attached with `productUpdate(product:, media:)` or their content replaced with `fileUpdate`
//!   (`productCreateMedia` / `productUpdateMedia` are deprecated in 2026-07);
//! * large changes go through `bulkOperationRunMutation` over a staged JSONL file, whose result
//!   lines carry per-line `userErrors`;
//! * price-only runs use `productVariantsBulkUpdate` (one product per call).

use crate::error::SyncError;
use crate::inventory::UserError;
use crate::orders::Page;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// Most variants one product may have (all plans since 2025-10-15).
pub const MAX_VARIANTS_PER_PRODUCT: usize = 2048;
/// Most options one product may have.
pub const MAX_OPTIONS_PER_PRODUCT: usize = 3;
/// Most elements of any input list in one call (Shopify's general input limit).
pub const MAX_INPUT_ITEMS: usize = 250;
/// Most images [`ShopifyCatalogApi::product_media`] reads of one product.
pub const MAX_PRODUCT_MEDIA: usize = 50;

/// `ProductStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ProductStatus {
    Active,
    Archived,
    Draft,
    Unlisted,
}

impl ProductStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ProductStatus::Active => "ACTIVE",
            ProductStatus::Archived => "ARCHIVED",
            ProductStatus::Draft => "DRAFT",
            ProductStatus::Unlisted => "UNLISTED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "ACTIVE" => ProductStatus::Active,
            "ARCHIVED" => ProductStatus::Archived,
            "DRAFT" => ProductStatus::Draft,
            "UNLISTED" => ProductStatus::Unlisted,
            _ => return None,
        })
    }
}

/// A product option and its values, in position order (`Size: S, M, L`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductOption {
    pub name: String,
    pub values: Vec<String>,
}

/// One option value of a variant (`Size = M`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SelectedOption {
    pub name: String,
    pub value: String,
}

/// A Shopify product variant with what mapping, import and price export need.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductVariant {
    pub id: String,
    pub title: String,
    pub sku: Option<String>,
    pub barcode: Option<String>,
    /// 1-based position within the product.
    pub position: u32,
    pub price: String,
    pub compare_at_price: Option<String>,
    /// The inventory item's unit cost (`inventoryItem.unitCost.amount`).
    pub unit_cost: Option<String>,
    pub options: Vec<SelectedOption>,
    pub inventory_item_id: String,
    pub updated_at: String,
}

/// A product image (`MediaImage`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductMedia {
    pub id: String,
    pub alt: Option<String>,
    /// `MediaStatus`: UPLOADED, PROCESSING, READY, FAILED.
    pub status: String,
    /// The image URL once processed.
    pub url: Option<String>,
    /// Shopify's id of the image itself (`MediaImage.image.id`): it changes when the image's
    /// content is replaced while the media id stays, so it tells an import that the picture changed.
    /// `None` while the image is processing.
    #[serde(default)]
    pub image_id: Option<String>,
}

/// A Shopify product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    pub id: String,
    pub handle: String,
    pub title: String,
    pub vendor: Option<String>,
    pub product_type: Option<String>,
    pub description_html: Option<String>,
    pub status: ProductStatus,
    pub tags: Vec<String>,
    pub updated_at: String,
    pub options: Vec<ProductOption>,
    pub variants: Vec<ProductVariant>,
    /// The first media of the product (the reference imports only the first image).
    pub media: Vec<ProductMedia>,
    /// Whether `variants` holds every variant; a page of products carries only the first few
    /// variants of each, [`ShopifyCatalogApi::product`] all of them.
    pub variants_complete: bool,
}

/// How `productSet` finds the product to update (`ProductSetIdentifiers`); none = create.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProductIdentifier {
    Id(String),
    Handle(String),
    /// A unique metafield value, e.g. namespace `shopsync`, key `bc_item`, value the BC item
    /// number: the upsert key of exported items.
    CustomId {
        namespace: String,
        key: String,
        value: String,
    },
}

/// A file of `productSet(input: {files})` or a variant's `file` (`FileSetInput`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileSet {
    /// An existing file's id, to keep it; or none with `original_source` to add one.
    pub id: Option<String>,
    pub original_source: Option<String>,
    pub alt: Option<String>,
    pub filename: Option<String>,
}

/// One variant of a `productSet` (`ProductVariantSetInput`). `id` is left out for a new variant;
/// Shopify matches existing ones by id, else by option values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VariantSet {
    pub id: Option<String>,
    pub options: Vec<SelectedOption>,
    pub sku: Option<String>,
    pub barcode: Option<String>,
    pub price: Option<String>,
    pub compare_at_price: Option<String>,
    pub unit_cost: Option<String>,
}

/// A `productSet` upsert. List fields given (`options`, `variants`, `files` when `Some`) replace
/// the product's; `None` scalars are left untouched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductSetRequest {
    pub identifier: Option<ProductIdentifier>,
    pub title: Option<String>,
    pub handle: Option<String>,
    pub vendor: Option<String>,
    pub product_type: Option<String>,
    pub description_html: Option<String>,
    pub status: Option<ProductStatus>,
    pub tags: Option<Vec<String>>,
    /// Metafields to set (namespace, key, value, type); the `CustomId` identifier's metafield must
    /// be among them on create so the next upsert finds the product.
    pub metafields: Vec<MetafieldSet>,
    pub options: Vec<ProductOption>,
    pub variants: Vec<VariantSet>,
    pub files: Option<Vec<FileSet>>,
}

/// One metafield of a product (`MetafieldInput`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetafieldSet {
    pub namespace: String,
    pub key: String,
    pub value: String,
    /// Shopify metafield type, e.g. `single_line_text_field`.
    pub r#type: String,
}

/// A variant as a write returned it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VariantRef {
    pub id: String,
    pub sku: Option<String>,
    pub position: u32,
}

/// What a `productSet` (or one bulk line of it) produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductSetOutcome {
    /// The product and its variants; `None` when refused.
    pub product: Option<ProductRef>,
    pub user_errors: Vec<UserError>,
}

/// A product as a write returned it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductRef {
    pub id: String,
    pub handle: String,
    pub updated_at: String,
    pub variants: Vec<VariantRef>,
}

/// What a staged upload is for (`StagedUploadTargetGenerateUploadResource`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum UploadResource {
    /// A product image (`IMAGE`; `PRODUCT_IMAGE` is deprecated).
    Image,
    /// The JSONL variables file of a bulk mutation.
    BulkMutationVariables,
}

/// How the bytes are sent to the target (`StagedUploadHttpMethodType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum UploadMethod {
    /// PUT of the raw bytes to `url` (images).
    Put,
    /// Multipart form POST of `parameters` and the file to `url` (bulk variables, as Shopify
    /// documents them).
    Post,
}

/// One `StagedUploadInput`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StagedUploadRequest {
    pub resource: UploadResource,
    pub filename: String,
    pub mime_type: String,
    pub method: UploadMethod,
    pub file_size: Option<u64>,
}

/// One staged upload target (`StagedMediaUploadTarget`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StagedTarget {
    /// Where to send the bytes.
    pub url: String,
    /// What to pass as `originalSource` afterwards (images).
    pub resource_url: Option<String>,
    /// Form fields (POST) or headers (`content_type`, `acl` for PUT).
    pub parameters: Vec<(String, String)>,
    /// How to send the bytes (the method requested).
    pub method: UploadMethod,
}

impl StagedTarget {
    /// The value of the parameter `name`.
    pub fn parameter(&self, name: &str) -> Option<&str> {
        self.parameters
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The `stagedUploadPath` of a bulk mutation: the `key` form parameter.
    pub fn staged_upload_path(&self) -> Option<&str> {
        self.parameter("key")
    }
}

/// The answer to `stagedUploadsCreate`: one target per request, in order, or user errors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StagedUploadsOutcome {
    pub targets: Vec<StagedTarget>,
    pub user_errors: Vec<UserError>,
}

/// A new image for a product (`CreateMediaInput` with `mediaContentType: IMAGE`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaAttach {
    /// The staged target's `resourceUrl` (or any public URL).
    pub original_source: String,
    pub alt: Option<String>,
}

/// New content for an existing image (`FileUpdateInput { id originalSource alt }`); the media id
/// stays the same.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaReplace {
    pub media_id: String,
    pub original_source: String,
    pub alt: Option<String>,
}

/// What a media write produced: the product's media after `productUpdate`, or the updated files
/// after `fileUpdate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaOutcome {
    pub media: Vec<ProductMedia>,
    pub user_errors: Vec<UserError>,
}

/// New price data of one variant (`ProductVariantsBulkInput { id price compareAtPrice
/// inventoryItem { cost } }`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VariantPriceUpdate {
    pub variant_id: String,
    pub price: String,
    /// `None` clears the compare-at price (sent as null).
    pub compare_at_price: Option<String>,
    /// `None` leaves the unit cost unchanged.
    pub unit_cost: Option<String>,
}

/// The price updates of one product (`productVariantsBulkUpdate` takes one product per call).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductPriceUpdate {
    pub product_id: String,
    pub variants: Vec<VariantPriceUpdate>,
}

/// A variant's price as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VariantPrice {
    pub variant_id: String,
    pub price: String,
    pub compare_at_price: Option<String>,
}

/// What `productVariantsBulkUpdate` produced (sent with `allowPartialUpdates: true`, so valid
/// rows are written even when others fail).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VariantPricesOutcome {
    pub variants: Vec<VariantPrice>,
    pub user_errors: Vec<UserError>,
}

/// The work of one bulk mutation: one line per upsert or per product's price update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum BulkMutation {
    ProductSet(Vec<ProductSetRequest>),
    VariantPrices(Vec<ProductPriceUpdate>),
    /// `orderUpdate` of orders' custom attributes (the `BC Doc. No.` write-back of a backlog).
    OrderAttributes(Vec<crate::orders::OrderAttributesUpdate>),
}

impl BulkMutation {
    pub fn len(&self) -> usize {
        match self {
            BulkMutation::ProductSet(l) => l.len(),
            BulkMutation::VariantPrices(l) => l.len(),
            BulkMutation::OrderAttributes(l) => l.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The answer to starting a bulk mutation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum BulkMutationStart {
    Started {
        id: String,
    },
    /// Too many bulk mutations of this app are running (OPERATION_IN_PROGRESS): try later.
    Busy(String),
    /// Refused (empty or invalid file, invalid mutation, …).
    Rejected {
        code: Option<String>,
        message: String,
    },
}

/// `BulkOperationStatus`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkMutationStatus {
    pub id: String,
    /// CREATED, RUNNING, COMPLETED, CANCELING, CANCELED, FAILED, EXPIRED.
    pub status: String,
    pub error_code: Option<String>,
    pub object_count: Option<u64>,
    /// The result JSONL (COMPLETED), `None` when there is nothing to read.
    pub url: Option<String>,
    /// Lines written before a failure.
    pub partial_data_url: Option<String>,
}

impl BulkMutationStatus {
    pub fn is_terminal(&self) -> bool {
        matches!(
            self.status.as_str(),
            "COMPLETED" | "FAILED" | "CANCELED" | "EXPIRED"
        )
    }
}

/// One line of a bulk mutation's result, matched to its input line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkLineResult {
    /// 0-based index of the input line (`__lineNumber`).
    pub line: u64,
    /// The product written (`productSet`) or the product whose variants were written.
    pub product: Option<ProductRef>,
    /// Variant prices written (`productVariantsBulkUpdate`).
    pub prices: Vec<VariantPrice>,
    pub user_errors: Vec<UserError>,
    /// Top-level GraphQL errors of this line (it did not run).
    pub errors: Vec<String>,
}

impl BulkLineResult {
    /// Whether the line was written without any error.
    pub fn succeeded(&self) -> bool {
        self.user_errors.is_empty() && self.errors.is_empty()
    }
}

/// What the catalogue tasks need from Shopify. Every paged read returns one page and the cursor
/// of the next, so a task can checkpoint between pages.
#[async_trait]
pub trait ShopifyCatalogApi: Send + Sync {
    /// One page of the products (gift cards excluded) updated at or after `since` (RFC 3339; all
    /// when `None`), oldest update first (`sortKey: UPDATED_AT`). Each product carries its first
    /// variants only (`variants_complete` says whether that is all of them).
    async fn products_updated_since(
        &self,
        since: Option<&str>,
        after: Option<&str>,
    ) -> Result<Page<Product>, SyncError>;

    /// One product with every variant; `None` when Shopify does not know the id.
    async fn product(&self, id: &str) -> Result<Option<Product>, SyncError>;

    /// `productSet` (synchronous upsert). Safe to repeat when keyed by an identifier.
    async fn product_set(
        &self,
        request: &ProductSetRequest,
    ) -> Result<ProductSetOutcome, SyncError>;

    /// `stagedUploadsCreate` for up to [`MAX_INPUT_ITEMS`] files.
    async fn staged_uploads_create(
        &self,
        uploads: &[StagedUploadRequest],
    ) -> Result<StagedUploadsOutcome, SyncError>;

    /// Sends `bytes` to a staged target over HTTP (PUT, or multipart POST per the target).
    async fn upload(
        &self,
        target: &StagedTarget,
        bytes: Vec<u8>,
        mime_type: &str,
    ) -> Result<(), SyncError>;

    /// `productUpdate(product: {id}, media: [...])`: adds images to a product; returns the
    /// product's media afterwards (the new ones last).
    async fn product_media_attach(
        &self,
        product_id: &str,
        media: &[MediaAttach],
    ) -> Result<MediaOutcome, SyncError>;

    /// `fileUpdate`: replaces the content of existing images (their ids stay).
    async fn media_replace(&self, updates: &[MediaReplace]) -> Result<MediaOutcome, SyncError>;

    /// The images of product `id` (up to [`MAX_PRODUCT_MEDIA`], in position order); `None` when
    /// Shopify does not know the product. What a caller reads after a `productUpdate(media:)` whose
    /// answer was lost, to find the image it may have added before adding it again.
    async fn product_media(&self, id: &str) -> Result<Option<Vec<ProductMedia>>, SyncError>;

    /// The bytes of an image Shopify serves at `url` (a media's `image.url`), at most
    /// `max_bytes`; a larger image is `SyncError::Rejected`. Safe to repeat.
    async fn image_bytes(&self, url: &str, max_bytes: usize) -> Result<Vec<u8>, SyncError>;

    /// Writes the JSONL of `mutation` to a staged upload and starts `bulkOperationRunMutation`.
    async fn bulk_mutation_run(
        &self,
        mutation: &BulkMutation,
        client_identifier: Option<&str>,
    ) -> Result<BulkMutationStart, SyncError>;

    /// One status poll of a bulk operation.
    async fn bulk_mutation_status(&self, id: &str) -> Result<BulkMutationStatus, SyncError>;

    /// The result lines of a finished bulk mutation (`url`, else `partial_data_url`), in input
    /// line order; a line missing from the result did not run.
    async fn bulk_mutation_results(
        &self,
        status: &BulkMutationStatus,
    ) -> Result<Vec<BulkLineResult>, SyncError>;

    /// `productVariantsBulkUpdate` of the prices of up to [`MAX_INPUT_ITEMS`] variants of one
    /// product.
    async fn variant_prices_update(
        &self,
        update: &ProductPriceUpdate,
    ) -> Result<VariantPricesOutcome, SyncError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_round_trip() {
        for s in [
            ProductStatus::Active,
            ProductStatus::Archived,
            ProductStatus::Draft,
            ProductStatus::Unlisted,
        ] {
            assert_eq!(ProductStatus::parse(s.as_str()), Some(s));
            assert_eq!(
                serde_json::to_value(s).unwrap(),
                serde_json::Value::String(s.as_str().into())
            );
        }
        assert_eq!(ProductStatus::parse("active"), None);
    }

    #[test]
    fn staged_target_parameters() {
        let t = StagedTarget {
            url: "https://u".into(),
            resource_url: None,
            parameters: vec![
                ("Content-Type".into(), "text/jsonl".into()),
                ("key".into(), "tmp/1/bulk/x.jsonl".into()),
            ],
            method: UploadMethod::Post,
        };
        assert_eq!(t.staged_upload_path(), Some("tmp/1/bulk/x.jsonl"));
        assert_eq!(t.parameter("Content-Type"), Some("text/jsonl"));
        assert_eq!(t.parameter("acl"), None);
    }

    #[test]
    fn bulk_line_success_needs_no_errors() {
        let mut l = BulkLineResult {
            line: 3,
            product: None,
            prices: Vec::new(),
            user_errors: Vec::new(),
            errors: Vec::new(),
        };
        assert!(l.succeeded());
        l.user_errors.push(UserError {
            code: Some("INVALID".into()),
            field: vec!["input".into()],
            message: "bad".into(),
        });
        assert!(!l.succeeded());
        let m = BulkMutation::VariantPrices(Vec::new());
        assert!(m.is_empty());
    }
}
