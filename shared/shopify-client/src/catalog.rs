//! The catalogue port ([`ShopifyCatalogApi`]) on [`ShopifyClient`]: products and variants,
//! `productSet` upserts, staged uploads and their HTTP transfer, media via `productUpdate` /
//! `fileUpdate`, bulk mutations over a staged JSONL file, and variant price updates.
//!
//! Every GraphQL call goes through [`ShopifyClient::execute`] (paced by the store's bucket,
//! retried on THROTTLED/5xx/transport failures). None of the catalogue mutations offers
//! `@idempotent` in 2026-07; all of them are safe to resend: `productSet` keyed by an identifier
//! updates the same product, `fileUpdate` and `productVariantsBulkUpdate` set absolute values,
//! `stagedUploadsCreate` only hands out targets, `bulkOperationRunMutation` of a lost answer at
//! worst starts a second run of the same upserts. `productUpdate(media:)` *adds* images: a resend
//! after a lost answer can add one twice, so it goes through `execute_at_most_once` and a caller
//! that gets an unknown outcome reads the product's media before trying again.
//!
//! Answers are decoded into the typed shapes below (a wrong shape fails at the boundary naming
//! the JSON path) and then converted into the domain's vocabulary.

use crate::bulk::{BulkOperation, BulkRunPayload};
use crate::client::ShopifyClient;
use crate::documents::{
    BULK_OPERATION_RUN_MUTATION, BULK_PRODUCT_SET, BULK_VARIANT_PRICES, CATALOG_PRODUCT, Document,
    MEDIA_REPLACE, PRODUCT_ATTACH_MEDIA, PRODUCT_MEDIA_LIST, PRODUCT_SET, PRODUCTS_UPDATED_SINCE,
    STAGED_UPLOADS_CREATE, VARIANT_PRICES_UPDATE,
};
use crate::error::ShopifyError;
use crate::pagination::{PagedData, page_of};
use crate::transport::describe_reqwest;
use crate::wire::{Connection, IdRef, UserError, decode_slice, decode_value, user_errors};
use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use shopsync_domain::SyncError;
use shopsync_domain::catalog::{
    BulkLineResult, BulkMutation, BulkMutationStart, BulkMutationStatus, FileSet, MAX_INPUT_ITEMS,
    MediaAttach, MediaOutcome, MediaReplace, Product, ProductIdentifier, ProductMedia,
    ProductOption, ProductPriceUpdate, ProductRef, ProductSetOutcome, ProductSetRequest,
    ProductStatus, ProductVariant, SelectedOption, ShopifyCatalogApi, StagedTarget,
    StagedUploadRequest, StagedUploadsOutcome, UploadMethod, UploadResource, VariantPrice,
    VariantPricesOutcome, VariantRef, VariantSet,
};
use shopsync_domain::orders::Page;

// ------------------------------------------------------------------------------ wire shapes

/// `CatalogProductFields` plus the document's `variants` page.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductNode {
    pub id: String,
    pub handle: String,
    pub title: String,
    #[serde(default)]
    pub vendor: Option<String>,
    #[serde(default)]
    pub product_type: Option<String>,
    #[serde(default)]
    pub description_html: Option<String>,
    pub status: String,
    pub tags: Vec<String>,
    pub updated_at: String,
    pub options: Vec<OptionNode>,
    pub media: Connection<MediaNode>,
    pub variants: Connection<VariantNode>,
}

/// `options { name values }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OptionNode {
    pub name: String,
    pub values: Vec<String>,
}

/// A media node: `id alt status ... on MediaImage { image { url } }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct MediaNode {
    pub id: String,
    #[serde(default)]
    pub alt: Option<String>,
    pub status: String,
    /// Absent for media other than images, null while an image is processing.
    #[serde(default)]
    pub image: Option<ImageNode>,
}

/// `image { id url }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ImageNode {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
}

/// `CatalogVariantFields`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VariantNode {
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub sku: Option<String>,
    #[serde(default)]
    pub barcode: Option<String>,
    pub position: u32,
    /// `Money` (a decimal string).
    pub price: String,
    #[serde(default)]
    pub compare_at_price: Option<String>,
    pub updated_at: String,
    pub selected_options: Vec<SelectedOptionNode>,
    pub inventory_item: VariantItemNode,
}

/// `selectedOptions { name value }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SelectedOptionNode {
    pub name: String,
    pub value: String,
}

/// `inventoryItem { id unitCost { amount } }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VariantItemNode {
    pub id: String,
    #[serde(default)]
    pub unit_cost: Option<AmountNode>,
}

/// `{ amount }` of a `MoneyV2`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AmountNode {
    pub amount: String,
}

/// `data` of `ProductsUpdatedSince`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ProductsUpdatedSinceData {
    pub products: Connection<ProductNode>,
}

impl PagedData for ProductsUpdatedSinceData {
    type Node = ProductNode;
    const CONNECTION: &'static str = "products";
    fn into_connection(self) -> Option<Connection<ProductNode>> {
        Some(self.products)
    }
}

/// `data` of `CatalogProduct` (`product(id:)` is null for an unknown id).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CatalogProductData {
    pub product: Option<ProductNode>,
}

/// `data` of `ProductSet` (and a line of `BulkProductSet`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductSetData {
    pub product_set: Option<ProductSetPayload>,
}

/// `productSet { product { … } userErrors { field message code } }`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductSetPayload {
    #[serde(default)]
    pub product: Option<ProductRefNode>,
    pub user_errors: Vec<UserError>,
}

/// `product { id handle updatedAt variants(first: 100) { nodes { id sku position } } }`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductRefNode {
    pub id: String,
    pub handle: String,
    pub updated_at: String,
    pub variants: Connection<VariantRefNode>,
}

/// `{ id sku position }` of a written variant.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct VariantRefNode {
    pub id: String,
    #[serde(default)]
    pub sku: Option<String>,
    pub position: u32,
}

/// `data` of `StagedUploadsCreate`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StagedUploadsCreateData {
    pub staged_uploads_create: Option<StagedUploadsPayload>,
}

/// `stagedUploadsCreate { stagedTargets { url resourceUrl parameters { name value } } userErrors }`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StagedUploadsPayload {
    #[serde(default)]
    pub staged_targets: Option<Vec<StagedTargetNode>>,
    pub user_errors: Vec<UserError>,
}

/// One `StagedMediaUploadTarget` (`url` and `resourceUrl` are nullable `URL`s).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StagedTargetNode {
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub resource_url: Option<String>,
    pub parameters: Vec<ParameterNode>,
}

/// `parameters { name value }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ParameterNode {
    pub name: String,
    pub value: String,
}

/// `data` of `ProductAttachMedia`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductAttachMediaData {
    pub product_update: Option<ProductAttachMediaPayload>,
}

/// `productUpdate { product { id media(first: 10) { nodes … } } userErrors { field message } }`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductAttachMediaPayload {
    #[serde(default)]
    pub product: Option<ProductMediaNode>,
    pub user_errors: Vec<UserError>,
}

/// `product { id media { nodes { … } } }`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ProductMediaNode {
    pub id: String,
    pub media: Connection<MediaNode>,
}

/// `data` of `ProductMediaList`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ProductMediaListData {
    #[serde(default)]
    pub product: Option<ProductMediaNode>,
}

/// `data` of `MediaReplace`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaReplaceData {
    pub file_update: Option<FileUpdatePayload>,
}

/// `fileUpdate { files { id alt fileStatus } userErrors { field message code } }`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileUpdatePayload {
    #[serde(default)]
    pub files: Option<Vec<FileNode>>,
    pub user_errors: Vec<UserError>,
}

/// `{ id alt fileStatus }` of a `File`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileNode {
    pub id: String,
    #[serde(default)]
    pub alt: Option<String>,
    pub file_status: String,
}

/// `data` of `VariantPricesUpdate` (and a line of `BulkVariantPrices`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VariantPricesUpdateData {
    pub product_variants_bulk_update: Option<VariantPricesPayload>,
}

/// `productVariantsBulkUpdate { product { id } productVariants { id price compareAtPrice }
/// userErrors { field message code } }` (`product` only in the bulk line).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VariantPricesPayload {
    #[serde(default)]
    pub product: Option<IdRef>,
    #[serde(default)]
    pub product_variants: Option<Vec<VariantPriceNode>>,
    pub user_errors: Vec<UserError>,
}

/// `{ id price compareAtPrice }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VariantPriceNode {
    pub id: String,
    pub price: String,
    #[serde(default)]
    pub compare_at_price: Option<String>,
}

/// `data` of `BulkOperationRunMutation`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkOperationRunMutationData {
    pub bulk_operation_run_mutation: Option<BulkRunPayload>,
}

/// One line of a bulk mutation's result: `{"data": {...}, "__lineNumber": n}` or, when the line
/// could not run, `{"errors": [...], "__lineNumber": n}`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct BulkResultLine {
    #[serde(default)]
    pub data: Option<Value>,
    #[serde(default)]
    pub errors: Option<Vec<BulkLineError>>,
    #[serde(rename = "__lineNumber")]
    pub line_number: u64,
}

/// A top-level error of one bulk line.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct BulkLineError {
    pub message: String,
}

// ------------------------------------------------------------------------------ conversions

/// A product node as the domain's [`Product`].
pub fn product_from_node(node: ProductNode) -> Result<Product, ShopifyError> {
    let status = ProductStatus::parse(&node.status).ok_or_else(|| {
        ShopifyError::Unexpected(format!("unknown product status {:?}", node.status))
    })?;
    let complete = !node
        .variants
        .page_info
        .as_ref()
        .is_some_and(|p| p.has_next_page);
    Ok(Product {
        id: node.id,
        handle: node.handle,
        title: node.title,
        vendor: node.vendor.filter(|v| !v.is_empty()),
        product_type: node.product_type.filter(|v| !v.is_empty()),
        description_html: node.description_html.filter(|v| !v.is_empty()),
        status,
        tags: node.tags,
        updated_at: node.updated_at,
        options: node
            .options
            .into_iter()
            .map(|o| ProductOption {
                name: o.name,
                values: o.values,
            })
            .collect(),
        variants: node
            .variants
            .into_nodes()
            .into_iter()
            .map(variant_from_node)
            .collect(),
        media: node
            .media
            .into_nodes()
            .into_iter()
            .map(media_from_node)
            .collect(),
        variants_complete: complete,
    })
}

pub fn variant_from_node(v: VariantNode) -> ProductVariant {
    ProductVariant {
        id: v.id,
        title: v.title,
        sku: v.sku.filter(|s| !s.is_empty()),
        barcode: v.barcode.filter(|s| !s.is_empty()),
        position: v.position,
        price: v.price,
        compare_at_price: v.compare_at_price,
        unit_cost: v.inventory_item.unit_cost.map(|c| c.amount),
        options: v
            .selected_options
            .into_iter()
            .map(|o| SelectedOption {
                name: o.name,
                value: o.value,
            })
            .collect(),
        inventory_item_id: v.inventory_item.id,
        updated_at: v.updated_at,
    }
}

pub fn media_from_node(m: MediaNode) -> ProductMedia {
    let (image_id, url) = m.image.map(|i| (i.id, i.url)).unwrap_or_default();
    ProductMedia {
        id: m.id,
        alt: m.alt.filter(|a| !a.is_empty()),
        status: m.status,
        url,
        image_id,
    }
}

fn product_ref(p: ProductRefNode) -> ProductRef {
    ProductRef {
        id: p.id,
        handle: p.handle,
        updated_at: p.updated_at,
        variants: p
            .variants
            .into_nodes()
            .into_iter()
            .map(|v| VariantRef {
                id: v.id,
                sku: v.sku.filter(|s| !s.is_empty()),
                position: v.position,
            })
            .collect(),
    }
}

/// `data.productSet` as the domain's outcome.
pub fn product_set_outcome(data: ProductSetData) -> Result<ProductSetOutcome, ShopifyError> {
    let p = data
        .product_set
        .ok_or_else(|| ShopifyError::Unexpected("productSet payload missing".into()))?;
    Ok(ProductSetOutcome {
        product: p.product.map(product_ref),
        user_errors: user_errors(p.user_errors),
    })
}

/// `data.stagedUploadsCreate` as the domain's outcome; `methods` are the requested methods, in
/// order (Shopify answers one target per input, in order).
pub fn staged_uploads_outcome(
    data: StagedUploadsCreateData,
    methods: &[UploadMethod],
) -> Result<StagedUploadsOutcome, ShopifyError> {
    let p = data
        .staged_uploads_create
        .ok_or_else(|| ShopifyError::Unexpected("stagedUploadsCreate payload missing".into()))?;
    let errors = user_errors(p.user_errors);
    let nodes = p.staged_targets.unwrap_or_default();
    if errors.is_empty() && nodes.len() != methods.len() {
        return Err(ShopifyError::Unexpected(format!(
            "stagedUploadsCreate answered {} targets for {} inputs",
            nodes.len(),
            methods.len()
        )));
    }
    let mut targets = Vec::with_capacity(nodes.len());
    for (t, method) in nodes.into_iter().zip(methods) {
        let url = t.url.ok_or_else(|| {
            ShopifyError::Unexpected("stagedUploadsCreate target without url".into())
        })?;
        targets.push(StagedTarget {
            url,
            resource_url: t.resource_url,
            parameters: t
                .parameters
                .into_iter()
                .map(|p| (p.name, p.value))
                .collect(),
            method: *method,
        });
    }
    Ok(StagedUploadsOutcome {
        targets,
        user_errors: errors,
    })
}

/// `data.productUpdate` of `ProductAttachMedia` as the domain's outcome.
pub fn attach_media_outcome(data: ProductAttachMediaData) -> Result<MediaOutcome, ShopifyError> {
    let p = data
        .product_update
        .ok_or_else(|| ShopifyError::Unexpected("productUpdate payload missing".into()))?;
    Ok(MediaOutcome {
        media: p
            .product
            .map(|p| {
                p.media
                    .into_nodes()
                    .into_iter()
                    .map(media_from_node)
                    .collect()
            })
            .unwrap_or_default(),
        user_errors: user_errors(p.user_errors),
    })
}

/// `data.fileUpdate` as the domain's outcome.
pub fn media_replace_outcome(data: MediaReplaceData) -> Result<MediaOutcome, ShopifyError> {
    let p = data
        .file_update
        .ok_or_else(|| ShopifyError::Unexpected("fileUpdate payload missing".into()))?;
    Ok(MediaOutcome {
        media: p
            .files
            .unwrap_or_default()
            .into_iter()
            .map(|f| ProductMedia {
                id: f.id,
                alt: f.alt.filter(|a| !a.is_empty()),
                status: f.file_status,
                url: None,
                image_id: None,
            })
            .collect(),
        user_errors: user_errors(p.user_errors),
    })
}

fn prices(nodes: Option<Vec<VariantPriceNode>>) -> Vec<VariantPrice> {
    nodes
        .unwrap_or_default()
        .into_iter()
        .map(|v| VariantPrice {
            variant_id: v.id,
            price: v.price,
            compare_at_price: v.compare_at_price,
        })
        .collect()
}

/// `data.productVariantsBulkUpdate` as the domain's outcome.
pub fn variant_prices_outcome(
    data: VariantPricesUpdateData,
) -> Result<VariantPricesOutcome, ShopifyError> {
    let p = data.product_variants_bulk_update.ok_or_else(|| {
        ShopifyError::Unexpected("productVariantsBulkUpdate payload missing".into())
    })?;
    Ok(VariantPricesOutcome {
        variants: prices(p.product_variants),
        user_errors: user_errors(p.user_errors),
    })
}

/// `data.bulkOperationRunMutation` as the domain's start.
pub fn bulk_mutation_start(
    data: BulkOperationRunMutationData,
) -> Result<BulkMutationStart, ShopifyError> {
    let p = data.bulk_operation_run_mutation.ok_or_else(|| {
        ShopifyError::Unexpected("bulkOperationRunMutation payload missing".into())
    })?;
    let errors = user_errors(p.user_errors);
    if let Some(busy) = errors
        .iter()
        .find(|e| e.code.as_deref() == Some("OPERATION_IN_PROGRESS"))
    {
        return Ok(BulkMutationStart::Busy(busy.message.clone()));
    }
    if let Some(e) = errors.into_iter().next() {
        return Ok(BulkMutationStart::Rejected {
            code: e.code,
            message: e.message,
        });
    }
    let op = p.bulk_operation.ok_or_else(|| {
        ShopifyError::Unexpected("bulkOperationRunMutation returned no operation".into())
    })?;
    Ok(BulkMutationStart::Started { id: op.id })
}

/// One result line of a bulk mutation of `productSet` or `productVariantsBulkUpdate`.
pub fn bulk_line_result(what: &str, line: &[u8]) -> Result<BulkLineResult, ShopifyError> {
    let raw: BulkResultLine = decode_slice(what, line)?;
    let mut out = BulkLineResult {
        line: raw.line_number,
        product: None,
        prices: Vec::new(),
        user_errors: Vec::new(),
        errors: raw
            .errors
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.message)
            .collect(),
    };
    let Some(data) = raw.data else {
        if out.errors.is_empty() {
            out.errors
                .push("line answered neither data nor errors".into());
        }
        return Ok(out);
    };
    if data.get("productSet").is_some() {
        let d: ProductSetData = decode_value(what, "data", &data)?;
        let o = product_set_outcome(d)?;
        out.product = o.product;
        out.user_errors = o.user_errors;
    } else if data.get("productVariantsBulkUpdate").is_some() {
        let d: VariantPricesUpdateData = decode_value(what, "data", &data)?;
        let p = d.product_variants_bulk_update.ok_or_else(|| {
            ShopifyError::Unexpected("productVariantsBulkUpdate payload missing".into())
        })?;
        out.product = p.product.map(|p| ProductRef {
            id: p.id,
            handle: String::new(),
            updated_at: String::new(),
            variants: Vec::new(),
        });
        out.prices = prices(p.product_variants);
        out.user_errors = user_errors(p.user_errors);
    } else if data.get("orderUpdate").is_some() {
        out.user_errors = crate::orders::bulk_order_update_errors(what, &data)?;
    } else if data.as_object().is_some_and(|m| !m.is_empty()) {
        return Err(ShopifyError::Unexpected(format!(
            "{what}: a result of another mutation"
        )));
    } else if out.errors.is_empty() {
        // `data: {"productSet": null}`-like lines carry their reason in `errors`.
        out.errors.push("line answered no payload".into());
    }
    Ok(out)
}

/// Parses a whole bulk mutation result, sorted by input line.
pub fn parse_bulk_mutation_result(text: &str) -> Result<Vec<BulkLineResult>, ShopifyError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        out.push(bulk_line_result(
            &format!("bulk result line {}", i + 1),
            line.as_bytes(),
        )?);
    }
    out.sort_by_key(|l| l.line);
    Ok(out)
}

// ------------------------------------------------------------------------------ requests

/// A search time must be RFC 3339-like text; anything else could change the search query.
fn check_search_time(since: &str) -> Result<(), ShopifyError> {
    let ok = !since.is_empty()
        && since.len() <= 40
        && since
            .bytes()
            .all(|b| b.is_ascii_digit() || b"-:T.Z+".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(ShopifyError::InvalidRequest(format!(
            "{since:?} is not an RFC 3339 time"
        )))
    }
}

/// The `products(query:)` of a run: products updated at or after `since`, gift cards excluded.
pub fn products_search(since: Option<&str>) -> Result<String, ShopifyError> {
    match since {
        None => Ok("gift_card:false".into()),
        Some(t) => {
            check_search_time(t)?;
            Ok(format!("updated_at:>='{t}' gift_card:false"))
        }
    }
}

fn insert_opt(m: &mut Map<String, Value>, key: &str, v: &Option<String>) {
    if let Some(v) = v {
        m.insert(key.into(), Value::String(v.clone()));
    }
}

fn file_set_json(f: &FileSet) -> Value {
    let mut m = Map::new();
    insert_opt(&mut m, "id", &f.id);
    insert_opt(&mut m, "originalSource", &f.original_source);
    insert_opt(&mut m, "alt", &f.alt);
    insert_opt(&mut m, "filename", &f.filename);
    if f.id.is_none() {
        m.insert("contentType".into(), json!("IMAGE"));
    }
    Value::Object(m)
}

fn variant_set_json(v: &VariantSet) -> Value {
    let mut m = Map::new();
    insert_opt(&mut m, "id", &v.id);
    m.insert(
        "optionValues".into(),
        Value::Array(
            v.options
                .iter()
                .map(|o| json!({"optionName": o.name, "name": o.value}))
                .collect(),
        ),
    );
    insert_opt(&mut m, "sku", &v.sku);
    insert_opt(&mut m, "barcode", &v.barcode);
    insert_opt(&mut m, "price", &v.price);
    insert_opt(&mut m, "compareAtPrice", &v.compare_at_price);
    if let Some(cost) = &v.unit_cost {
        m.insert("inventoryItem".into(), json!({ "cost": cost }));
    }
    Value::Object(m)
}

/// The variables of one `productSet`: `{input, identifier}`.
pub fn product_set_variables(r: &ProductSetRequest) -> Result<Value, ShopifyError> {
    if r.variants.len() > shopsync_domain::catalog::MAX_VARIANTS_PER_PRODUCT {
        return Err(ShopifyError::InvalidRequest(format!(
            "{} variants; a product has at most {}",
            r.variants.len(),
            shopsync_domain::catalog::MAX_VARIANTS_PER_PRODUCT
        )));
    }
    if r.options.len() > shopsync_domain::catalog::MAX_OPTIONS_PER_PRODUCT {
        return Err(ShopifyError::InvalidRequest(format!(
            "{} options; a product has at most {}",
            r.options.len(),
            shopsync_domain::catalog::MAX_OPTIONS_PER_PRODUCT
        )));
    }
    let mut input = Map::new();
    insert_opt(&mut input, "title", &r.title);
    insert_opt(&mut input, "handle", &r.handle);
    insert_opt(&mut input, "vendor", &r.vendor);
    insert_opt(&mut input, "productType", &r.product_type);
    insert_opt(&mut input, "descriptionHtml", &r.description_html);
    if let Some(s) = r.status {
        input.insert("status".into(), json!(s.as_str()));
    }
    if let Some(tags) = &r.tags {
        input.insert("tags".into(), json!(tags));
    }
    if !r.metafields.is_empty() {
        input.insert(
            "metafields".into(),
            Value::Array(
                r.metafields
                    .iter()
                    .map(|m| {
                        json!({"namespace": m.namespace, "key": m.key, "value": m.value, "type": m.r#type})
                    })
                    .collect(),
            ),
        );
    }
    if !r.options.is_empty() {
        input.insert(
            "productOptions".into(),
            Value::Array(
                r.options
                    .iter()
                    .enumerate()
                    .map(|(i, o)| {
                        json!({
                            "name": o.name,
                            "position": i + 1,
                            "values": o.values.iter().map(|v| json!({"name": v})).collect::<Vec<_>>(),
                        })
                    })
                    .collect(),
            ),
        );
    }
    if !r.variants.is_empty() {
        input.insert(
            "variants".into(),
            Value::Array(r.variants.iter().map(variant_set_json).collect()),
        );
    }
    if let Some(files) = &r.files {
        input.insert(
            "files".into(),
            Value::Array(files.iter().map(file_set_json).collect()),
        );
    }
    let identifier = match &r.identifier {
        None => Value::Null,
        Some(ProductIdentifier::Id(id)) => json!({ "id": id }),
        Some(ProductIdentifier::Handle(h)) => json!({ "handle": h }),
        Some(ProductIdentifier::CustomId {
            namespace,
            key,
            value,
        }) => json!({ "customId": { "namespace": namespace, "key": key, "value": value } }),
    };
    Ok(json!({ "input": Value::Object(input), "identifier": identifier }))
}

/// The variables of one `productVariantsBulkUpdate`: `{productId, variants}`.
pub fn variant_prices_variables(u: &ProductPriceUpdate) -> Result<Value, ShopifyError> {
    if u.variants.is_empty() || u.variants.len() > MAX_INPUT_ITEMS {
        return Err(ShopifyError::InvalidRequest(format!(
            "{} variants in one price update (1..={MAX_INPUT_ITEMS})",
            u.variants.len()
        )));
    }
    let variants: Vec<Value> = u
        .variants
        .iter()
        .map(|v| {
            let mut m = Map::new();
            m.insert("id".into(), json!(v.variant_id));
            m.insert("price".into(), json!(v.price));
            m.insert(
                "compareAtPrice".into(),
                v.compare_at_price
                    .clone()
                    .map_or(Value::Null, Value::String),
            );
            if let Some(cost) = &v.unit_cost {
                m.insert("inventoryItem".into(), json!({ "cost": cost }));
            }
            Value::Object(m)
        })
        .collect();
    Ok(json!({ "productId": u.product_id, "variants": variants }))
}

/// The JSONL variables file of a bulk mutation and the inner mutation it runs.
pub fn bulk_mutation_file(
    mutation: &BulkMutation,
) -> Result<(&'static Document, String), ShopifyError> {
    let mut out = String::new();
    let doc = match mutation {
        BulkMutation::ProductSet(lines) => {
            for l in lines {
                out.push_str(&product_set_variables(l)?.to_string());
                out.push('\n');
            }
            &BULK_PRODUCT_SET
        }
        BulkMutation::VariantPrices(lines) => {
            for l in lines {
                out.push_str(&variant_prices_variables(l)?.to_string());
                out.push('\n');
            }
            &BULK_VARIANT_PRICES
        }
        BulkMutation::OrderAttributes(lines) => {
            crate::orders::order_attributes_lines(lines, &mut out)?;
            &crate::documents::ORDER_UPDATE_CUSTOM_ATTRIBUTES
        }
    };
    Ok((doc, out))
}

fn staged_input(u: &StagedUploadRequest) -> Value {
    let mut m = Map::new();
    m.insert(
        "resource".into(),
        json!(match u.resource {
            UploadResource::Image => "IMAGE",
            UploadResource::BulkMutationVariables => "BULK_MUTATION_VARIABLES",
        }),
    );
    m.insert("filename".into(), json!(u.filename));
    m.insert("mimeType".into(), json!(u.mime_type));
    m.insert(
        "httpMethod".into(),
        json!(match u.method {
            UploadMethod::Put => "PUT",
            UploadMethod::Post => "POST",
        }),
    );
    if let Some(size) = u.file_size {
        // `UnsignedInt64` is sent as a string.
        m.insert("fileSize".into(), json!(size.to_string()));
    }
    Value::Object(m)
}

/// A `multipart/form-data` body: the target's parameters as fields, then the file.
pub fn multipart_body(
    boundary: &str,
    parameters: &[(String, String)],
    filename: &str,
    mime_type: &str,
    bytes: &[u8],
) -> Vec<u8> {
    let mut body = Vec::with_capacity(bytes.len() + 512);
    for (name, value) in parameters {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{}\"\r\n\r\n{value}\r\n",
                name.replace('"', "")
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{}\"\r\nContent-Type: {mime_type}\r\n\r\n",
            filename.replace('"', "")
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    body
}

impl ShopifyClient {
    /// One page of the products updated since `since`.
    pub async fn products_page(
        &self,
        since: Option<&str>,
        after: Option<&str>,
    ) -> Result<Page<Product>, ShopifyError> {
        let query = products_search(since)?;
        let r = self
            .execute(
                &PRODUCTS_UPDATED_SINCE,
                json!({ "query": query, "after": after }),
            )
            .await?;
        let data: ProductsUpdatedSinceData = r.data_as(PRODUCTS_UPDATED_SINCE.name)?;
        let page = page_of(data)?.ok_or_else(|| ShopifyError::Unexpected("products".into()))?;
        let items = page
            .nodes
            .into_iter()
            .map(product_from_node)
            .collect::<Result<Vec<_>, _>>()?;
        let next_cursor = if page.page_info.has_next_page {
            Some(page.page_info.end_cursor.ok_or_else(|| {
                ShopifyError::Unexpected("products page claims more without a cursor".into())
            })?)
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }

    /// One product with all its variants (paging `variants` 100 at a time).
    pub async fn product_by_id(&self, id: &str) -> Result<Option<Product>, ShopifyError> {
        let mut product: Option<Product> = None;
        let mut after: Option<String> = None;
        loop {
            let r = self
                .execute(&CATALOG_PRODUCT, json!({ "id": id, "after": after }))
                .await?;
            let data: CatalogProductData = r.data_as(CATALOG_PRODUCT.name)?;
            let Some(node) = data.product else {
                return Ok(product);
            };
            let page_info = node.variants.page_info.clone().unwrap_or_default();
            let page = product_from_node(node)?;
            match &mut product {
                None => product = Some(page),
                Some(p) => p.variants.extend(page.variants),
            }
            if !page_info.has_next_page {
                if let Some(p) = &mut product {
                    p.variants_complete = true;
                }
                return Ok(product);
            }
            match page_info.end_cursor {
                Some(c) if after.as_deref() != Some(c.as_str()) => after = Some(c),
                _ => {
                    return Err(ShopifyError::Unexpected(format!(
                        "variants of {id}: the cursor does not move"
                    )));
                }
            }
        }
    }

    pub async fn set_product(
        &self,
        request: &ProductSetRequest,
    ) -> Result<ProductSetOutcome, ShopifyError> {
        let vars = product_set_variables(request)?;
        let r = self.execute(&PRODUCT_SET, vars).await?;
        product_set_outcome(r.data_as(PRODUCT_SET.name)?)
    }

    pub async fn create_staged_uploads(
        &self,
        uploads: &[StagedUploadRequest],
    ) -> Result<StagedUploadsOutcome, ShopifyError> {
        if uploads.is_empty() || uploads.len() > MAX_INPUT_ITEMS {
            return Err(ShopifyError::InvalidRequest(format!(
                "{} staged uploads in one call (1..={MAX_INPUT_ITEMS})",
                uploads.len()
            )));
        }
        let input: Vec<Value> = uploads.iter().map(staged_input).collect();
        let r = self
            .execute(&STAGED_UPLOADS_CREATE, json!({ "input": input }))
            .await?;
        let methods: Vec<UploadMethod> = uploads.iter().map(|u| u.method).collect();
        staged_uploads_outcome(r.data_as(STAGED_UPLOADS_CREATE.name)?, &methods)
    }

    /// Sends `bytes` to `target` (PUT of the raw bytes, or a multipart POST of the parameters and
    /// the file), retrying 5xx/429 and transport failures with backoff: writing the same bytes to
    /// the same target again is harmless.
    pub async fn upload_to(
        &self,
        target: &StagedTarget,
        bytes: Vec<u8>,
        mime_type: &str,
    ) -> Result<(), ShopifyError> {
        let url = reqwest::Url::parse(&target.url)
            .map_err(|e| ShopifyError::Unexpected(format!("staged upload url: {e}")))?;
        if !matches!(url.scheme(), "https" | "http") {
            return Err(ShopifyError::Unexpected(
                "staged upload url is not http(s)".into(),
            ));
        }
        let boundary = format!("shopsync-{:016x}", fastrand::u64(..));
        let filename = target
            .parameter("key")
            .and_then(|k| k.rsplit('/').next())
            .unwrap_or("upload")
            .to_string();
        let body = match target.method {
            UploadMethod::Put => bytes,
            UploadMethod::Post => {
                multipart_body(&boundary, &target.parameters, &filename, mime_type, &bytes)
            }
        };
        self.send_with_retries("staged upload", || match target.method {
            UploadMethod::Put => {
                let content_type = target
                    .parameter("content_type")
                    .or_else(|| target.parameter("Content-Type"))
                    .unwrap_or(mime_type);
                let mut rq = self
                    .http
                    .put(url.clone())
                    .header(reqwest::header::CONTENT_TYPE, content_type);
                if let Some(acl) = target.parameter("acl") {
                    rq = rq.header("x-goog-acl", acl);
                }
                rq.body(body.clone())
            }
            UploadMethod::Post => self
                .http
                .post(url.clone())
                .header(
                    reqwest::header::CONTENT_TYPE,
                    format!("multipart/form-data; boundary={boundary}"),
                )
                .body(body.clone()),
        })
        .await?;
        Ok(())
    }

    /// `productUpdate(product: {id}, media)`, sent at most once (a resend could add an image twice).
    pub async fn attach_media(
        &self,
        product_id: &str,
        media: &[MediaAttach],
    ) -> Result<MediaOutcome, ShopifyError> {
        if media.is_empty() || media.len() > MAX_INPUT_ITEMS {
            return Err(ShopifyError::InvalidRequest(format!(
                "{} media in one call (1..={MAX_INPUT_ITEMS})",
                media.len()
            )));
        }
        let media: Vec<Value> = media
            .iter()
            .map(|m| {
                json!({"originalSource": m.original_source, "alt": m.alt, "mediaContentType": "IMAGE"})
            })
            .collect();
        let r = self
            .execute_at_most_once(
                &PRODUCT_ATTACH_MEDIA,
                json!({ "id": product_id, "media": media }),
            )
            .await?;
        attach_media_outcome(r.data_as(PRODUCT_ATTACH_MEDIA.name)?)
    }

    /// The images of one product (`ProductMediaList`); `None` when the product does not exist.
    pub async fn media_of_product(
        &self,
        id: &str,
    ) -> Result<Option<Vec<ProductMedia>>, ShopifyError> {
        let r = self
            .execute(&PRODUCT_MEDIA_LIST, json!({ "id": id }))
            .await?;
        let data: ProductMediaListData = r.data_as(PRODUCT_MEDIA_LIST.name)?;
        Ok(data.product.map(|p| {
            p.media
                .into_nodes()
                .into_iter()
                .map(media_from_node)
                .collect()
        }))
    }

    /// GETs an image Shopify serves (a media's `image.url`: Shopify's CDN, or the simulator),
    /// retrying 5xx/429 and transport failures; refuses a URL that is not http(s) and an answer
    /// longer than `max_bytes` (checked while reading, so a huge body is not held).
    pub async fn download_image(
        &self,
        url: &str,
        max_bytes: usize,
    ) -> Result<Vec<u8>, ShopifyError> {
        let parsed = reqwest::Url::parse(url)
            .map_err(|e| ShopifyError::InvalidRequest(format!("image url: {e}")))?;
        if !matches!(parsed.scheme(), "https" | "http") {
            return Err(ShopifyError::InvalidRequest(
                "image url is not http(s)".into(),
            ));
        }
        let mut response = self
            .send_with_retries("image download", || self.http.get(parsed.clone()))
            .await?;
        let too_large = || ShopifyError::Rejected {
            code: "IMAGE_TOO_LARGE".into(),
            message: format!("the image is larger than {max_bytes} bytes"),
        };
        if response
            .content_length()
            .is_some_and(|l| l > max_bytes as u64)
        {
            return Err(too_large());
        }
        let mut bytes = Vec::new();
        loop {
            let chunk = response
                .chunk()
                .await
                .map_err(|e| ShopifyError::Transport {
                    attempts: 1,
                    message: format!("image download: {}", describe_reqwest(e)),
                })?;
            let Some(chunk) = chunk else { break };
            if bytes.len() + chunk.len() > max_bytes {
                return Err(too_large());
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes)
    }

    /// `fileUpdate` of the content (and alt) of existing images.
    pub async fn replace_media(
        &self,
        updates: &[MediaReplace],
    ) -> Result<MediaOutcome, ShopifyError> {
        if updates.is_empty() || updates.len() > MAX_INPUT_ITEMS {
            return Err(ShopifyError::InvalidRequest(format!(
                "{} files in one call (1..={MAX_INPUT_ITEMS})",
                updates.len()
            )));
        }
        let files: Vec<Value> = updates
            .iter()
            .map(|u| {
                let mut m = Map::new();
                m.insert("id".into(), json!(u.media_id));
                m.insert("originalSource".into(), json!(u.original_source));
                insert_opt(&mut m, "alt", &u.alt);
                Value::Object(m)
            })
            .collect();
        let r = self
            .execute(&MEDIA_REPLACE, json!({ "files": files }))
            .await?;
        media_replace_outcome(r.data_as(MEDIA_REPLACE.name)?)
    }

    pub async fn update_variant_prices(
        &self,
        update: &ProductPriceUpdate,
    ) -> Result<VariantPricesOutcome, ShopifyError> {
        let vars = variant_prices_variables(update)?;
        let r = self.execute(&VARIANT_PRICES_UPDATE, vars).await?;
        variant_prices_outcome(r.data_as(VARIANT_PRICES_UPDATE.name)?)
    }

    /// Stages the JSONL of `mutation` and starts the bulk mutation.
    pub async fn run_bulk_mutation(
        &self,
        mutation: &BulkMutation,
        client_identifier: Option<&str>,
    ) -> Result<BulkMutationStart, ShopifyError> {
        if mutation.is_empty() {
            return Err(ShopifyError::InvalidRequest(
                "a bulk mutation needs at least one line".into(),
            ));
        }
        let (inner, jsonl) = bulk_mutation_file(mutation)?;
        let filename = format!("shopsync-{}.jsonl", inner.name);
        let staged = self
            .create_staged_uploads(&[StagedUploadRequest {
                resource: UploadResource::BulkMutationVariables,
                filename,
                mime_type: "text/jsonl".into(),
                method: UploadMethod::Post,
                file_size: Some(jsonl.len() as u64),
            }])
            .await?;
        if let Some(e) = staged.user_errors.into_iter().next() {
            return Ok(BulkMutationStart::Rejected {
                code: e.code,
                message: e.message,
            });
        }
        let target = staged
            .targets
            .into_iter()
            .next()
            .ok_or_else(|| ShopifyError::Unexpected("no staged upload target".into()))?;
        let path = target
            .staged_upload_path()
            .ok_or_else(|| ShopifyError::Unexpected("staged target without a key".into()))?
            .to_string();
        self.upload_to(&target, jsonl.into_bytes(), "text/jsonl")
            .await?;
        let r = self
            .execute(
                &BULK_OPERATION_RUN_MUTATION,
                json!({
                    "mutation": inner.text,
                    "stagedUploadPath": path,
                    "clientIdentifier": client_identifier,
                }),
            )
            .await?;
        let start = bulk_mutation_start(r.data_as(BULK_OPERATION_RUN_MUTATION.name)?)?;
        if let BulkMutationStart::Started { id } = &start {
            tracing::info!(bulk_operation = %id, mutation = inner.name, lines = mutation.len(), "bulk mutation started");
        }
        Ok(start)
    }

    /// Reads the result lines of a finished bulk mutation.
    pub async fn bulk_mutation_lines(
        &self,
        status: &BulkMutationStatus,
    ) -> Result<Vec<BulkLineResult>, ShopifyError> {
        let Some(url) = status.url.as_deref().or(status.partial_data_url.as_deref()) else {
            return Ok(Vec::new());
        };
        let response = self.get_with_retries(url).await?;
        let text = response.text().await.map_err(|e| ShopifyError::Transport {
            attempts: 1,
            message: format!("bulk result download: {}", describe_reqwest(e)),
        })?;
        parse_bulk_mutation_result(&text)
    }
}

fn status_from(op: BulkOperation) -> BulkMutationStatus {
    BulkMutationStatus {
        id: op.id,
        status: op.status,
        error_code: op.error_code,
        object_count: op.object_count,
        url: op.url,
        partial_data_url: op.partial_data_url,
    }
}

#[async_trait]
impl ShopifyCatalogApi for ShopifyClient {
    async fn products_updated_since(
        &self,
        since: Option<&str>,
        after: Option<&str>,
    ) -> Result<Page<Product>, SyncError> {
        Ok(self.products_page(since, after).await?)
    }

    async fn product(&self, id: &str) -> Result<Option<Product>, SyncError> {
        Ok(self.product_by_id(id).await?)
    }

    async fn product_set(
        &self,
        request: &ProductSetRequest,
    ) -> Result<ProductSetOutcome, SyncError> {
        Ok(self.set_product(request).await?)
    }

    async fn staged_uploads_create(
        &self,
        uploads: &[StagedUploadRequest],
    ) -> Result<StagedUploadsOutcome, SyncError> {
        Ok(self.create_staged_uploads(uploads).await?)
    }

    async fn upload(
        &self,
        target: &StagedTarget,
        bytes: Vec<u8>,
        mime_type: &str,
    ) -> Result<(), SyncError> {
        Ok(self.upload_to(target, bytes, mime_type).await?)
    }

    async fn product_media_attach(
        &self,
        product_id: &str,
        media: &[MediaAttach],
    ) -> Result<MediaOutcome, SyncError> {
        Ok(self.attach_media(product_id, media).await?)
    }

    async fn media_replace(&self, updates: &[MediaReplace]) -> Result<MediaOutcome, SyncError> {
        Ok(self.replace_media(updates).await?)
    }

    async fn product_media(&self, id: &str) -> Result<Option<Vec<ProductMedia>>, SyncError> {
        Ok(self.media_of_product(id).await?)
    }

    async fn image_bytes(&self, url: &str, max_bytes: usize) -> Result<Vec<u8>, SyncError> {
        Ok(self.download_image(url, max_bytes).await?)
    }

    async fn bulk_mutation_run(
        &self,
        mutation: &BulkMutation,
        client_identifier: Option<&str>,
    ) -> Result<BulkMutationStart, SyncError> {
        Ok(self.run_bulk_mutation(mutation, client_identifier).await?)
    }

    async fn bulk_mutation_status(&self, id: &str) -> Result<BulkMutationStatus, SyncError> {
        Ok(status_from(self.poll_bulk(id).await?))
    }

    async fn bulk_mutation_results(
        &self,
        status: &BulkMutationStatus,
    ) -> Result<Vec<BulkLineResult>, SyncError> {
        Ok(self.bulk_mutation_lines(status).await?)
    }

    async fn variant_prices_update(
        &self,
        update: &ProductPriceUpdate,
    ) -> Result<VariantPricesOutcome, SyncError> {
        Ok(self.update_variant_prices(update).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shopsync_domain::catalog::{MetafieldSet, VariantPriceUpdate};

    fn decode<T: serde::de::DeserializeOwned>(v: Value) -> T {
        serde_json::from_value(v).unwrap()
    }

    fn request() -> ProductSetRequest {
        ProductSetRequest {
            identifier: Some(ProductIdentifier::CustomId {
                namespace: "shopsync".into(),
                key: "bc_item".into(),
                value: "1000".into(),
            }),
            title: Some("Bicycle".into()),
            handle: None,
            vendor: Some("Cronus".into()),
            product_type: None,
            description_html: None,
            status: Some(ProductStatus::Active),
            tags: None,
            metafields: vec![MetafieldSet {
                namespace: "shopsync".into(),
                key: "bc_item".into(),
                value: "1000".into(),
                r#type: "single_line_text_field".into(),
            }],
            options: vec![ProductOption {
                name: "Size".into(),
                values: vec!["S".into(), "M".into()],
            }],
            variants: vec![VariantSet {
                id: None,
                options: vec![SelectedOption {
                    name: "Size".into(),
                    value: "S".into(),
                }],
                sku: Some("1000-S".into()),
                barcode: None,
                price: Some("10.00".into()),
                compare_at_price: None,
                unit_cost: Some("4.00".into()),
            }],
            files: None,
        }
    }

    #[test]
    fn product_set_variables_shape() {
        let v = product_set_variables(&request()).unwrap();
        assert_eq!(
            v["identifier"],
            json!({"customId": {"namespace": "shopsync", "key": "bc_item", "value": "1000"}})
        );
        let input = &v["input"];
        assert_eq!(input["title"], "Bicycle");
        assert_eq!(input["status"], "ACTIVE");
        assert!(input.get("handle").is_none(), "None scalars are left out");
        assert!(input.get("files").is_none());
        assert_eq!(
            input["productOptions"],
            json!([{"name": "Size", "position": 1, "values": [{"name": "S"}, {"name": "M"}]}])
        );
        assert_eq!(
            input["variants"][0],
            json!({"optionValues": [{"optionName": "Size", "name": "S"}], "sku": "1000-S", "price": "10.00", "inventoryItem": {"cost": "4.00"}})
        );
        let mut r = request();
        r.identifier = None;
        assert_eq!(
            product_set_variables(&r).unwrap()["identifier"],
            Value::Null
        );
        r.options = vec![r.options[0].clone(); 4];
        assert!(matches!(
            product_set_variables(&r),
            Err(ShopifyError::InvalidRequest(_))
        ));
    }

    #[test]
    fn price_variables_send_null_compare_at() {
        let u = ProductPriceUpdate {
            product_id: "gid://shopify/Product/1".into(),
            variants: vec![VariantPriceUpdate {
                variant_id: "gid://shopify/ProductVariant/1".into(),
                price: "9.99".into(),
                compare_at_price: None,
                unit_cost: None,
            }],
        };
        let v = variant_prices_variables(&u).unwrap();
        assert_eq!(
            v["variants"][0],
            json!({"id": "gid://shopify/ProductVariant/1", "price": "9.99", "compareAtPrice": null})
        );
        let empty = ProductPriceUpdate {
            product_id: "p".into(),
            variants: Vec::new(),
        };
        assert!(variant_prices_variables(&empty).is_err());
    }

    #[test]
    fn search_times_are_checked() {
        assert_eq!(
            products_search(Some("2026-05-01T00:00:00Z")).unwrap(),
            "updated_at:>='2026-05-01T00:00:00Z' gift_card:false"
        );
        assert_eq!(products_search(None).unwrap(), "gift_card:false");
        assert!(products_search(Some("2026' OR title:x")).is_err());
    }

    #[test]
    fn bulk_file_is_one_line_per_request() {
        let (doc, text) =
            bulk_mutation_file(&BulkMutation::ProductSet(vec![request(), request()])).unwrap();
        assert_eq!(doc.name, "BulkProductSet");
        assert_eq!(text.lines().count(), 2);
        let line: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(line["input"]["title"], "Bicycle");
    }

    #[test]
    fn bulk_result_lines_with_user_errors_and_failures() {
        let text = concat!(
            r#"{"data":{"productSet":{"product":null,"userErrors":[{"field":["input","handle"],"message":"taken","code":"HANDLE_NOT_UNIQUE"}]}},"__lineNumber":1}"#,
            "\n",
            r#"{"data":{"productSet":{"product":{"id":"gid://shopify/Product/1","handle":"a","updatedAt":"2026-01-01T00:00:00Z","variants":{"nodes":[{"id":"gid://shopify/ProductVariant/1","sku":"A","position":1}]}},"userErrors":[]}},"__lineNumber":0}"#,
            "\n\n",
            r#"{"errors":[{"message":"Internal error"}],"__lineNumber":2}"#,
            "\n"
        );
        let lines = parse_bulk_mutation_result(text).unwrap();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0].line, 0);
        assert!(lines[0].succeeded());
        assert_eq!(
            lines[0].product.as_ref().unwrap().variants[0]
                .sku
                .as_deref(),
            Some("A")
        );
        assert!(!lines[1].succeeded());
        assert_eq!(
            lines[1].user_errors[0].code.as_deref(),
            Some("HANDLE_NOT_UNIQUE")
        );
        assert_eq!(lines[2].errors, vec!["Internal error".to_string()]);
        let prices = r#"{"data":{"productVariantsBulkUpdate":{"product":{"id":"P"},"productVariants":[{"id":"V","price":"1.00","compareAtPrice":null}],"userErrors":[]}},"__lineNumber":0}"#;
        let l = parse_bulk_mutation_result(prices).unwrap();
        assert_eq!(l[0].prices[0].price, "1.00");
        assert_eq!(l[0].product.as_ref().unwrap().id, "P");
        assert!(parse_bulk_mutation_result(r#"{"data":{"x":1}}"#).is_err());
    }

    #[test]
    fn start_payloads() {
        let busy = json!({"bulkOperationRunMutation": {"bulkOperation": null, "userErrors": [{"field": null, "message": "in progress", "code": "OPERATION_IN_PROGRESS"}]}});
        assert_eq!(
            bulk_mutation_start(decode(busy)).unwrap(),
            BulkMutationStart::Busy("in progress".into())
        );
        let missing = json!({"bulkOperationRunMutation": {"bulkOperation": null, "userErrors": [{"field": null, "message": "no file", "code": "NO_SUCH_FILE"}]}});
        assert!(matches!(
            bulk_mutation_start(decode(missing)).unwrap(),
            BulkMutationStart::Rejected { code: Some(c), .. } if c == "NO_SUCH_FILE"
        ));
    }

    #[test]
    fn multipart_has_parameters_then_file() {
        let body = multipart_body(
            "b",
            &[("key".into(), "tmp/x.jsonl".into())],
            "x.jsonl",
            "text/jsonl",
            b"{}\n",
        );
        let text = String::from_utf8(body).unwrap();
        assert!(text.starts_with(
            "--b\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\ntmp/x.jsonl\r\n"
        ));
        assert!(text.contains("name=\"file\"; filename=\"x.jsonl\"\r\nContent-Type: text/jsonl\r\n\r\n{}\n\r\n--b--\r\n"));
    }
}
