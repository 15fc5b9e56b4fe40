//! The catalogue side of the simulator: products with options, variants (price, compare-at price,
//! unit cost, option values) and image media; `products(query:)` by `updated_at`; `productSet`
//! upserts (by id, handle or a unique metafield `customId`); `stagedUploadsCreate` with targets the
//! simulator itself serves (`PUT`/`POST`/`GET /staged-uploads/{key}`); images attached with
//! `productUpdate(media:)` and replaced with `fileUpdate`; `productVariantsBulkUpdate`; and
//! `bulkOperationRunMutation`, which runs the staged JSONL line by line through the same executor
//! when the operation completes and writes `{"data": …, "__lineNumber": n}` lines (user errors of
//! failing lines included).
//!
//! Everything here is additive to the inventory/order simulator: catalogue attributes of a product
//! or variant live in [`CatalogData`] beside `StoreData::products`/`variants`, indexed alike.
//!
//! Simplifications: media are READY as soon as they are attached; a variant dropped by `productSet`
//! is detached from its product (not deleted from the inventory index); the bulk operation's `type`
//! reads `QUERY` like a query's.

use std::collections::{HashMap, HashSet};

use apollo_compiler::ast::{self, Definition};
use serde_json::{Map, Value as Json, json};

use crate::exec::{Env, Exec};
use crate::gql::Doc;
use crate::inventory::UserErr;
use crate::schema::{FK, N, T};
use crate::store::{GID_PRODUCT, GID_VARIANT, StoreData};
use crate::validate::Validator;

pub(crate) const GID_MEDIA: &str = "gid://shopify/MediaImage/";
/// Concurrent bulk mutations per shop (API >= 2026-01).
pub(crate) const MAX_CONCURRENT_MUTATIONS: usize = 5;

/// Catalogue output types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CT {
    ProductOption,
    SelectedOption,
    MediaImage,
    Image,
    ProductSetPayload,
    ProductSetUserError,
    StagedUploadsPayload,
    StagedTarget,
    StagedParam,
    ProductUpdatePayload,
    FileUpdatePayload,
    FilesUserError,
    VariantsBulkUpdatePayload,
    VariantsBulkUpdateUserError,
    BulkRunMutationPayload,
    BulkMutationUserError,
}

impl CT {
    const ALL: [CT; 16] = [
        CT::ProductOption,
        CT::SelectedOption,
        CT::MediaImage,
        CT::Image,
        CT::ProductSetPayload,
        CT::ProductSetUserError,
        CT::StagedUploadsPayload,
        CT::StagedTarget,
        CT::StagedParam,
        CT::ProductUpdatePayload,
        CT::FileUpdatePayload,
        CT::FilesUserError,
        CT::VariantsBulkUpdatePayload,
        CT::VariantsBulkUpdateUserError,
        CT::BulkRunMutationPayload,
        CT::BulkMutationUserError,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            CT::ProductOption => "ProductOption",
            CT::SelectedOption => "SelectedOption",
            CT::MediaImage => "MediaImage",
            CT::Image => "Image",
            CT::ProductSetPayload => "ProductSetPayload",
            CT::ProductSetUserError => "ProductSetUserError",
            CT::StagedUploadsPayload => "StagedUploadsCreatePayload",
            CT::StagedTarget => "StagedMediaUploadTarget",
            CT::StagedParam => "StagedUploadParameter",
            CT::ProductUpdatePayload => "ProductUpdatePayload",
            CT::FileUpdatePayload => "FileUpdatePayload",
            CT::FilesUserError => "FilesUserError",
            CT::VariantsBulkUpdatePayload => "ProductVariantsBulkUpdatePayload",
            CT::VariantsBulkUpdateUserError => "ProductVariantsBulkUpdateUserError",
            CT::BulkRunMutationPayload => "BulkOperationRunMutationPayload",
            CT::BulkMutationUserError => "BulkMutationUserError",
        }
    }

    pub(crate) fn by_name(name: &str) -> Option<CT> {
        CT::ALL.into_iter().find(|c| c.name() == name)
    }
}

const NONE: &[&str] = &[];
const PAGE: &[&str] = &[
    "first", "after", "last", "before", "reverse", "sortKey", "query",
];

/// Catalogue fields: the `products` root, the mutations, the catalogue fields of `Product`,
/// `ProductVariant` and `InventoryItem`, and the catalogue types.
pub(crate) fn field(t: T, name: &str) -> Option<(FK, &'static [&'static str])> {
    use FK::*;
    let s = (Scalar, NONE);
    let c = T::Cat;
    Some(match (t, name) {
        (T::Query, "products") => (Conn(N::Product), PAGE),
        (T::Mutation, "productSet") => (
            Obj(c(CT::ProductSetPayload)),
            &["input", "synchronous", "identifier"],
        ),
        (T::Mutation, "stagedUploadsCreate") => (Obj(c(CT::StagedUploadsPayload)), &["input"]),
        (T::Mutation, "productUpdate") => (
            Obj(c(CT::ProductUpdatePayload)),
            &["product", "media", "identifier"],
        ),
        (T::Mutation, "fileUpdate") => (Obj(c(CT::FileUpdatePayload)), &["files"]),
        (T::Mutation, "productVariantsBulkUpdate") => (
            Obj(c(CT::VariantsBulkUpdatePayload)),
            &["productId", "variants", "media", "allowPartialUpdates"],
        ),
        (T::Mutation, "bulkOperationRunMutation") => (
            Obj(c(CT::BulkRunMutationPayload)),
            &[
                "mutation",
                "stagedUploadPath",
                "groupObjects",
                "clientIdentifier",
            ],
        ),
        (
            T::Product,
            "handle" | "vendor" | "productType" | "descriptionHtml" | "status" | "tags"
            | "updatedAt" | "createdAt" | "isGiftCard",
        ) => s,
        (T::Product, "options") => (List(c(CT::ProductOption)), &["first"]),
        (T::Product, "media") => (Conn(N::Media), PAGE),
        (
            T::ProductVariant,
            "position" | "price" | "compareAtPrice" | "updatedAt" | "createdAt",
        ) => s,
        (T::ProductVariant, "selectedOptions") => (List(c(CT::SelectedOption)), NONE),
        (T::InventoryItem, "unitCost") => (Obj(T::MoneyV2), NONE),
        (T::Cat(CT::ProductOption), "id" | "name" | "values" | "position") => s,
        (T::Cat(CT::SelectedOption), "name" | "value") => s,
        (
            T::Cat(CT::MediaImage),
            "id" | "alt" | "status" | "fileStatus" | "mediaContentType" | "createdAt" | "updatedAt",
        ) => s,
        (T::Cat(CT::MediaImage), "image") => (Obj(c(CT::Image)), NONE),
        (T::Cat(CT::Image), "url" | "altText" | "id" | "width" | "height") => {
            (Scalar, &["transform"])
        }
        (T::Cat(CT::ProductSetPayload), "product") => (Obj(T::Product), NONE),
        (T::Cat(CT::ProductSetPayload), "userErrors") => (List(c(CT::ProductSetUserError)), NONE),
        (T::Cat(CT::StagedUploadsPayload), "stagedTargets") => (List(c(CT::StagedTarget)), NONE),
        (T::Cat(CT::StagedUploadsPayload | CT::ProductUpdatePayload), "userErrors") => {
            (List(T::UserError), NONE)
        }
        (T::Cat(CT::StagedTarget), "url" | "resourceUrl") => s,
        (T::Cat(CT::StagedTarget), "parameters") => (List(c(CT::StagedParam)), NONE),
        (T::Cat(CT::StagedParam), "name" | "value") => s,
        (T::Cat(CT::ProductUpdatePayload), "product") => (Obj(T::Product), NONE),
        (T::Cat(CT::FileUpdatePayload), "files") => (List(c(CT::MediaImage)), NONE),
        (T::Cat(CT::FileUpdatePayload), "userErrors") => (List(c(CT::FilesUserError)), NONE),
        (T::Cat(CT::VariantsBulkUpdatePayload), "product") => (Obj(T::Product), NONE),
        (T::Cat(CT::VariantsBulkUpdatePayload), "productVariants") => {
            (List(T::ProductVariant), NONE)
        }
        (T::Cat(CT::VariantsBulkUpdatePayload), "userErrors") => {
            (List(c(CT::VariantsBulkUpdateUserError)), NONE)
        }
        (T::Cat(CT::BulkRunMutationPayload), "bulkOperation") => (Obj(T::BulkOperation), NONE),
        (T::Cat(CT::BulkRunMutationPayload), "userErrors") => {
            (List(c(CT::BulkMutationUserError)), NONE)
        }
        (
            T::Cat(
                CT::ProductSetUserError
                | CT::FilesUserError
                | CT::VariantsBulkUpdateUserError
                | CT::BulkMutationUserError,
            ),
            "field" | "message" | "code",
        ) => s,
        _ => return None,
    })
}

/// Cost exceptions (see `cost.rs`), from the recorded answers: the product a `productSet` or
/// `productUpdate` returns and the variants `productVariantsBulkUpdate` returns cost no point of
/// their own (`productSet { product { id title handle } … }` is requested 10,
/// `productVariantsBulkUpdate { productVariants { … inventoryItem { … } } … }` 11); the parameters
/// of a staged target are free (`stagedUploadsCreate { stagedTargets { url resourceUrl parameters
/// { name value } } … }` is requested 11); a bulk mutation's returned operation is free (10).
pub(crate) fn free_field(parent: T, name: &str) -> Option<bool> {
    match (parent, name) {
        (T::Cat(CT::ProductSetPayload | CT::ProductUpdatePayload), "product")
        | (T::Cat(CT::VariantsBulkUpdatePayload), "productVariants")
        | (T::Cat(CT::StagedTarget), "parameters") => Some(false),
        (T::Cat(CT::BulkRunMutationPayload), "bulkOperation") => Some(true),
        _ => None,
    }
}

// ------------------------------------------------------------------------------ data

/// Catalogue attributes of one product (indexed like `StoreData::products`).
#[derive(Debug, Clone, Default)]
pub(crate) struct ProductExtra {
    pub handle: String,
    pub vendor: String,
    pub product_type: String,
    pub description_html: String,
    pub status: String,
    pub tags: Vec<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub gift_card: bool,
    pub options: Vec<(String, Vec<String>)>,
    pub media: Vec<usize>,
    /// (namespace, key, value)
    pub metafields: Vec<(String, String, String)>,
}

/// Catalogue attributes of one variant (indexed like `StoreData::variants`).
#[derive(Debug, Clone, Default)]
pub(crate) struct VariantExtra {
    pub price: i64,
    pub compare_at: Option<i64>,
    pub cost: Option<i64>,
    pub options: Vec<(String, String)>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// One image.
#[derive(Debug, Clone)]
pub(crate) struct MediaRec {
    pub product: Option<usize>,
    pub alt: Option<String>,
    /// Where the bytes are (a staged key of this simulator, or an outside URL).
    pub source: String,
    pub updated_at: i64,
}

/// A bulk mutation waiting for its operation to complete.
#[derive(Debug, Clone)]
pub(crate) struct BulkMutationJob {
    pub mutation: String,
    pub lines: String,
}

/// One catalogue write, for tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogWrite {
    /// `productSet`, `productUpdate`, `fileUpdate`, `productVariantsBulkUpdate`,
    /// `stagedUploadsCreate`, `bulkOperationRunMutation` (a bulk line is logged as its mutation).
    pub mutation: String,
    /// The product (or media, for `fileUpdate`) written, when there is one.
    pub target: Option<String>,
    /// Whether it was applied (false: refused with user errors).
    pub applied: bool,
}

/// One staged upload as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StagedUpload {
    pub key: String,
    pub method: String,
    pub content_type: Option<String>,
    pub bytes: Vec<u8>,
}

#[derive(Debug, Default)]
pub(crate) struct CatalogData {
    pub products: Vec<ProductExtra>,
    pub variants: Vec<VariantExtra>,
    pub media: Vec<MediaRec>,
    /// Keys handed out by `stagedUploadsCreate` (an upload to any other key is refused).
    pub issued: HashSet<String>,
    pub uploads: HashMap<String, StagedUpload>,
    pub upload_log: Vec<String>,
    pub next_upload: u64,
    pub writes: Vec<CatalogWrite>,
    pub bulk_jobs: HashMap<u64, BulkMutationJob>,
    /// Fail the next bulk mutation after this many lines (FAILED, partial data).
    pub fail_next_bulk_after: Option<usize>,
}

impl CatalogData {
    /// Makes the side tables as long as the store's products and variants.
    pub(crate) fn sync(st: &mut StoreData, now: i64) {
        let (np, nv) = (st.products.len(), st.variants.len());
        while st.catalog.products.len() < np {
            let i = st.catalog.products.len();
            st.catalog.products.push(ProductExtra {
                handle: handleize(&st.products[i].title, i),
                status: "ACTIVE".into(),
                created_at: now,
                updated_at: now,
                ..Default::default()
            });
        }
        while st.catalog.variants.len() < nv {
            st.catalog.variants.push(VariantExtra {
                price: 0,
                created_at: now,
                updated_at: now,
                ..Default::default()
            });
        }
    }
}

fn handleize(title: &str, i: usize) -> String {
    let mut h: String = title
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    while h.contains("--") {
        h = h.replace("--", "-");
    }
    let h = h.trim_matches('-').to_string();
    if h.is_empty() {
        format!("product-{}", i + 1)
    } else {
        h
    }
}

/// Cents of a decimal text (`"12.5"` → 1250); `None` when unreadable or negative.
pub(crate) fn cents(v: &Json) -> Option<i64> {
    let text = match v {
        Json::String(s) => s.clone(),
        Json::Number(n) => n.to_string(),
        _ => return None,
    };
    let c = crate::orders::parse_cents(&text)?;
    (c >= 0).then_some(c)
}

/// A `Money` scalar as Shopify writes it (`"10.00"`: two decimals, unlike `Decimal`'s `"10.0"`).
pub(crate) fn decimal(c: i64) -> String {
    let sign = if c < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", c.abs() / 100, c.abs() % 100)
}

fn uerr(field: &[&str], message: impl Into<String>, code: Option<&str>) -> UserErr {
    UserErr {
        field: Some(field.iter().map(|s| s.to_string()).collect()),
        message: message.into(),
        code: code.map(str::to_string),
    }
}

fn log(st: &mut StoreData, mutation: &str, target: Option<String>, applied: bool) {
    st.catalog.writes.push(CatalogWrite {
        mutation: mutation.into(),
        target,
        applied,
    });
}

// ------------------------------------------------------------------------------ search

/// Does product `p` match a `products(query:)` search? Supported: `updated_at`/`created_at` with
/// `:`, `:>`, `:>=`, `:<`, `:<=` and a quoted or bare time, `gift_card:true|false`, `status:…`,
/// `handle:…`, `sku:…`; other terms are ignored (Shopify treats them as free text).
pub(crate) fn product_matches(st: &StoreData, p: usize, query: Option<&str>) -> bool {
    let Some(q) = query else { return true };
    let e = &st.catalog.products[p];
    for term in q.split_whitespace() {
        let Some((field, rest)) = term.split_once(':') else {
            continue;
        };
        let (op, value) = ["<=", ">=", "<", ">"]
            .iter()
            .find_map(|op| rest.strip_prefix(op).map(|v| (*op, v)))
            .unwrap_or(("=", rest));
        let value = value.trim_matches(|c| c == '\'' || c == '"');
        let ok = match field {
            "updated_at" | "created_at" => {
                let Some(t) = crate::orders::parse_time(value) else {
                    continue;
                };
                let have = if field == "updated_at" {
                    e.updated_at
                } else {
                    e.created_at
                };
                match op {
                    "<=" => have <= t,
                    ">=" => have >= t,
                    // Shopify's `>`/`<` on dates behave inclusively in practice.
                    "<" => have <= t,
                    ">" => have >= t,
                    _ => have == t,
                }
            }
            "gift_card" => e.gift_card == (value == "true"),
            "status" => value.split(',').any(|s| s.eq_ignore_ascii_case(&e.status)),
            "handle" => e.handle == value,
            "sku" => st.products[p]
                .variants
                .iter()
                .any(|&v| st.variants[v as usize].sku.as_deref() == Some(value)),
            _ => true,
        };
        if !ok {
            return false;
        }
    }
    true
}

// ------------------------------------------------------------------------------ productSet

fn str_of(v: &Json, k: &str) -> Option<String> {
    v.get(k).and_then(Json::as_str).map(str::to_string)
}

fn find_product(st: &StoreData, identifier: &Json) -> Result<Option<usize>, UserErr> {
    if let Some(id) = str_of(identifier, "id") {
        return st
            .parse_gid(GID_PRODUCT, &id)
            .filter(|&p| p < st.products.len())
            .map(Some)
            .ok_or_else(|| {
                uerr(
                    &["identifier", "id"],
                    "Product does not exist",
                    Some("NOT_FOUND"),
                )
            });
    }
    if let Some(h) = str_of(identifier, "handle") {
        return Ok(st.catalog.products.iter().position(|e| e.handle == h));
    }
    if let Some(c) = identifier.get("customId").filter(|c| c.is_object()) {
        let ns = str_of(c, "namespace").unwrap_or_else(|| "custom".into());
        let key = str_of(c, "key").unwrap_or_default();
        let value = str_of(c, "value").unwrap_or_default();
        return Ok(st.catalog.products.iter().position(|e| {
            e.metafields
                .iter()
                .any(|(n, k, v)| *n == ns && *k == key && *v == value)
        }));
    }
    Ok(None)
}

/// `productSet(input, identifier)`: the product written, or user errors (nothing written).
pub(crate) fn product_set(
    st: &mut StoreData,
    input: &Json,
    identifier: &Json,
    now: i64,
    base_url: &str,
) -> (Option<usize>, Vec<UserErr>) {
    CatalogData::sync(st, now);
    let (p, errs) = product_set_inner(st, input, identifier, now, base_url);
    let target = p.map(|p| st.gid(GID_PRODUCT, p));
    log(st, "productSet", target, errs.is_empty());
    (p, errs)
}

fn product_set_inner(
    st: &mut StoreData,
    input: &Json,
    identifier: &Json,
    now: i64,
    base_url: &str,
) -> (Option<usize>, Vec<UserErr>) {
    if !identifier.is_null() && input.get("id").is_some_and(|v| !v.is_null()) {
        return (
            None,
            vec![uerr(
                &["input"],
                "The id field is not allowed if identifier is provided.",
                Some("ID_NOT_ALLOWED"),
            )],
        );
    }
    let existing = if identifier.is_null() {
        match str_of(input, "id") {
            Some(id) => match find_product(st, &json!({ "id": id })) {
                Ok(p) => p,
                Err(e) => return (None, vec![e]),
            },
            None => None,
        }
    } else {
        match find_product(st, identifier) {
            Ok(p) => p,
            Err(e) => return (None, vec![e]),
        }
    };
    // Validation before any write.
    let options: Vec<(String, Vec<String>)> = input
        .get("productOptions")
        .and_then(Json::as_array)
        .map(|a| {
            a.iter()
                .map(|o| {
                    (
                        str_of(o, "name").unwrap_or_default(),
                        o.get("values")
                            .and_then(Json::as_array)
                            .map(|v| v.iter().filter_map(|x| str_of(x, "name")).collect())
                            .unwrap_or_default(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    if options.len() > crate::catalog::MAX_OPTIONS {
        return (
            None,
            vec![uerr(
                &["input", "productOptions"],
                "Can only specify a maximum of 3 options",
                Some("OPTIONS_OVER_LIMIT"),
            )],
        );
    }
    let variants = input.get("variants").and_then(Json::as_array).cloned();
    let mut errs = Vec::new();
    if let Some(vs) = &variants {
        if vs.len() > MAX_VARIANTS {
            return (
                None,
                vec![uerr(
                    &["input", "variants"],
                    "Exceeded the maximum of 2048 variants",
                    Some("VARIANTS_OVER_LIMIT"),
                )],
            );
        }
        let mut seen = HashSet::new();
        for (i, v) in vs.iter().enumerate() {
            let idx = i.to_string();
            let combo: Vec<(String, String)> = v
                .get("optionValues")
                .and_then(Json::as_array)
                .map(|a| {
                    a.iter()
                        .map(|o| {
                            (
                                str_of(o, "optionName").unwrap_or_default(),
                                str_of(o, "name").unwrap_or_default(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            if !seen.insert(combo) {
                errs.push(uerr(
                    &["input", "variants", &idx],
                    "The variant already exists with the same option values",
                    Some("DUPLICATED_OPTION_VALUE"),
                ));
            }
            for k in ["price", "compareAtPrice"] {
                if let Some(x) = v.get(k).filter(|x| !x.is_null())
                    && cents(x).is_none()
                {
                    errs.push(uerr(
                        &["input", "variants", &idx, k],
                        format!("{k} is invalid"),
                        Some("INVALID_VARIANT"),
                    ));
                }
            }
        }
    }
    if let Some(h) = str_of(input, "handle")
        && st
            .catalog
            .products
            .iter()
            .enumerate()
            .any(|(i, e)| e.handle == h && Some(i) != existing)
    {
        errs.push(uerr(
            &["input", "handle"],
            format!("Handle '{h}' already in use. Please provide a new handle."),
            Some("HANDLE_NOT_UNIQUE"),
        ));
    }
    if !errs.is_empty() {
        return (None, errs);
    }
    // Apply.
    let p = match existing {
        Some(p) => p,
        None => {
            let title = str_of(input, "title").unwrap_or_else(|| "Untitled".into());
            let p = st.add_product(&title);
            CatalogData::sync(st, now);
            p
        }
    };
    if let Some(t) = str_of(input, "title") {
        st.products[p].title = t;
    }
    let e = &mut st.catalog.products[p];
    if let Some(h) = str_of(input, "handle") {
        e.handle = h;
    }
    if let Some(v) = str_of(input, "vendor") {
        e.vendor = v;
    }
    if let Some(v) = str_of(input, "productType") {
        e.product_type = v;
    }
    if let Some(v) = str_of(input, "descriptionHtml") {
        e.description_html = v;
    }
    if let Some(v) = str_of(input, "status") {
        e.status = v;
    }
    if let Some(tags) = input.get("tags").and_then(Json::as_array) {
        e.tags = tags
            .iter()
            .filter_map(|t| t.as_str().map(str::to_string))
            .collect();
    }
    if let Some(giftcard) = input.get("giftCard").and_then(Json::as_bool) {
        e.gift_card = giftcard;
    }
    if let Some(mfs) = input.get("metafields").and_then(Json::as_array) {
        for m in mfs {
            let ns = str_of(m, "namespace").unwrap_or_else(|| "custom".into());
            let key = str_of(m, "key").unwrap_or_default();
            let value = str_of(m, "value").unwrap_or_default();
            e.metafields.retain(|(n, k, _)| !(*n == ns && *k == key));
            e.metafields.push((ns, key, value));
        }
    }
    // A customId identifier that created the product keeps it findable.
    if existing.is_none()
        && let Some(c) = identifier.get("customId").filter(|c| c.is_object())
    {
        let ns = str_of(c, "namespace").unwrap_or_else(|| "custom".into());
        let key = str_of(c, "key").unwrap_or_default();
        if !e.metafields.iter().any(|(n, k, _)| *n == ns && *k == key) {
            e.metafields
                .push((ns, key, str_of(c, "value").unwrap_or_default()));
        }
    }
    if input.get("productOptions").is_some() {
        e.options = options;
    }
    e.updated_at = now;
    if let Some(vs) = variants {
        let old: Vec<usize> = st.products[p]
            .variants
            .iter()
            .map(|&v| v as usize)
            .collect();
        let mut keep = Vec::with_capacity(vs.len());
        for v in &vs {
            let combo: Vec<(String, String)> = v
                .get("optionValues")
                .and_then(Json::as_array)
                .map(|a| {
                    a.iter()
                        .map(|o| {
                            (
                                str_of(o, "optionName").unwrap_or_default(),
                                str_of(o, "name").unwrap_or_default(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            let by_id = str_of(v, "id")
                .and_then(|id| st.parse_gid(GID_VARIANT, &id))
                .filter(|i| old.contains(i));
            let by_options = || {
                old.iter()
                    .copied()
                    .find(|&i| !keep.contains(&i) && st.catalog.variants[i].options == combo)
            };
            let vi = match by_id.or_else(by_options) {
                Some(i) => i,
                None => {
                    let sku = str_of(v, "sku");
                    let i = st.add_variant(p, sku, str_of(v, "barcode"), true);
                    CatalogData::sync(st, now);
                    st.products[p].variants.pop();
                    i
                }
            };
            if let Some(sku) = str_of(v, "sku") {
                set_sku(st, vi, Some(sku));
            }
            if let Some(b) = str_of(v, "barcode") {
                st.variants[vi].barcode = Some(b);
            }
            let x = &mut st.catalog.variants[vi];
            x.options = combo;
            if let Some(c) = v.get("price").and_then(cents) {
                x.price = c;
            }
            if let Some(c) = v.get("compareAtPrice") {
                x.compare_at = cents(c);
            }
            if let Some(c) = v.get("inventoryItem").and_then(|i| i.get("cost")) {
                x.cost = cents(c);
            }
            x.updated_at = now;
            keep.push(vi);
        }
        for (n, &vi) in keep.iter().enumerate() {
            let title = st.catalog.variants[vi]
                .options
                .iter()
                .map(|(_, v)| v.as_str())
                .collect::<Vec<_>>()
                .join(" / ");
            st.variants[vi].title = if title.is_empty() {
                if n == 0 {
                    "Default Title".into()
                } else {
                    format!("Variant {}", n + 1)
                }
            } else {
                title
            };
        }
        st.products[p].variants = keep.iter().map(|&v| v as u32).collect();
    }
    if let Some(files) = input.get("files").and_then(Json::as_array) {
        let mut media = Vec::new();
        for f in files {
            if let Some(m) = str_of(f, "id").and_then(|id| st.parse_gid(GID_MEDIA, &id)) {
                if m < st.catalog.media.len() {
                    media.push(m);
                }
            } else if let Some(src) = str_of(f, "originalSource") {
                let m = add_media(st, Some(p), &src, str_of(f, "alt"), now, base_url);
                media.push(m);
            }
        }
        st.catalog.products[p].media = media;
    }
    (Some(p), Vec::new())
}

pub(crate) const MAX_OPTIONS: usize = 3;
pub(crate) const MAX_VARIANTS: usize = 2048;

fn set_sku(st: &mut StoreData, vi: usize, sku: Option<String>) {
    if st.variants[vi].sku == sku {
        return;
    }
    if let Some(old) = &st.variants[vi].sku
        && let Some(list) = st.sku_index.get_mut(old)
    {
        list.retain(|&i| i as usize != vi);
    }
    if let Some(s) = &sku {
        st.sku_index.entry(s.clone()).or_default().push(vi as u32);
    }
    st.variants[vi].sku = sku;
}

/// The staged key of a `resourceUrl` this simulator handed out.
pub(crate) fn staged_key<'u>(source: &'u str, base_url: &str) -> Option<&'u str> {
    source
        .strip_prefix(base_url)?
        .strip_prefix("/staged-uploads/")
        .map(|k| k.split('?').next().unwrap_or(k))
}

fn add_media(
    st: &mut StoreData,
    product: Option<usize>,
    source: &str,
    alt: Option<String>,
    now: i64,
    base_url: &str,
) -> usize {
    let source = staged_key(source, base_url).unwrap_or(source).to_string();
    st.catalog.media.push(MediaRec {
        product,
        alt,
        source,
        updated_at: now,
    });
    st.catalog.media.len() - 1
}

/// Is `source` usable as an `originalSource`: an uploaded staged key of ours, or an outside URL?
fn source_ok(st: &StoreData, source: &str, base_url: &str) -> bool {
    match staged_key(source, base_url) {
        Some(k) => st.catalog.uploads.contains_key(k),
        None => source.starts_with("https://") || source.starts_with("http://"),
    }
}

// ------------------------------------------------------------------------------ other mutations

/// `productUpdate(product: {id, …}, media)`: the product, or user errors.
pub(crate) fn product_update(
    st: &mut StoreData,
    product: &Json,
    media: &Json,
    now: i64,
    base_url: &str,
) -> (Option<usize>, Vec<UserErr>) {
    CatalogData::sync(st, now);
    let Some(p) = str_of(product, "id")
        .and_then(|id| st.parse_gid(GID_PRODUCT, &id))
        .filter(|&p| p < st.products.len())
    else {
        log(st, "productUpdate", None, false);
        return (None, vec![uerr(&["id"], "Product does not exist", None)]);
    };
    let list = media.as_array().cloned().unwrap_or_default();
    let mut errs = Vec::new();
    for (i, m) in list.iter().enumerate() {
        let src = str_of(m, "originalSource").unwrap_or_default();
        if !source_ok(st, &src, base_url) {
            errs.push(uerr(
                &["media", &i.to_string(), "originalSource"],
                "Image URL is invalid",
                None,
            ));
        }
    }
    let target = Some(st.gid(GID_PRODUCT, p));
    if !errs.is_empty() {
        log(st, "productUpdate", target, false);
        return (Some(p), errs);
    }
    if let Some(t) = str_of(product, "title") {
        st.products[p].title = t;
    }
    if let Some(s) = str_of(product, "status") {
        st.catalog.products[p].status = s;
    }
    for m in &list {
        let src = str_of(m, "originalSource").unwrap_or_default();
        let mi = add_media(st, Some(p), &src, str_of(m, "alt"), now, base_url);
        st.catalog.products[p].media.push(mi);
    }
    st.catalog.products[p].updated_at = now;
    log(st, "productUpdate", target, true);
    (Some(p), Vec::new())
}

/// `fileUpdate(files)`: all or nothing, like Shopify's validation of the batch.
pub(crate) fn file_update(
    st: &mut StoreData,
    files: &Json,
    now: i64,
    base_url: &str,
) -> (Vec<usize>, Vec<UserErr>) {
    CatalogData::sync(st, now);
    let list = files.as_array().cloned().unwrap_or_default();
    let mut errs = Vec::new();
    let mut ids = Vec::new();
    for (i, f) in list.iter().enumerate() {
        let idx = i.to_string();
        let id = str_of(f, "id").unwrap_or_default();
        match st
            .parse_gid(GID_MEDIA, &id)
            .filter(|&m| m < st.catalog.media.len())
        {
            Some(m) => ids.push(m),
            None => errs.push(uerr(
                &["files", &idx, "id"],
                format!("File id {id} does not exist."),
                Some("FILE_DOES_NOT_EXIST"),
            )),
        }
        if let Some(src) = str_of(f, "originalSource")
            && !source_ok(st, &src, base_url)
        {
            errs.push(uerr(
                &["files", &idx, "originalSource"],
                "Image URL is invalid",
                Some("INVALID"),
            ));
        }
    }
    if !errs.is_empty() {
        log(st, "fileUpdate", None, false);
        return (Vec::new(), errs);
    }
    for (f, &m) in list.iter().zip(&ids) {
        if let Some(src) = str_of(f, "originalSource") {
            st.catalog.media[m].source = staged_key(&src, base_url).unwrap_or(&src).to_string();
        }
        if let Some(alt) = str_of(f, "alt") {
            st.catalog.media[m].alt = Some(alt);
        }
        st.catalog.media[m].updated_at = now;
        if let Some(p) = st.catalog.media[m].product {
            st.catalog.products[p].updated_at = now;
        }
        let target = Some(st.gid(GID_MEDIA, m));
        log(st, "fileUpdate", target, true);
    }
    (ids, Vec::new())
}

/// `productVariantsBulkUpdate`: (product, variants written, user errors).
pub(crate) fn variants_bulk_update(
    st: &mut StoreData,
    product_id: &str,
    variants: &Json,
    allow_partial: bool,
    now: i64,
) -> (Option<usize>, Vec<usize>, Vec<UserErr>) {
    CatalogData::sync(st, now);
    let Some(p) = st
        .parse_gid(GID_PRODUCT, product_id)
        .filter(|&p| p < st.products.len())
    else {
        log(st, "productVariantsBulkUpdate", None, false);
        return (
            None,
            Vec::new(),
            vec![uerr(
                &["productId"],
                "Product does not exist",
                Some("PRODUCT_DOES_NOT_EXIST"),
            )],
        );
    };
    let list = variants.as_array().cloned().unwrap_or_default();
    let mut errs = Vec::new();
    let mut good = Vec::new();
    for (i, v) in list.iter().enumerate() {
        let idx = i.to_string();
        let vi = str_of(v, "id")
            .and_then(|id| st.parse_gid(GID_VARIANT, &id))
            .filter(|&vi| st.products[p].variants.contains(&(vi as u32)));
        let Some(vi) = vi else {
            errs.push(uerr(
                &["variants", &idx, "id"],
                "Product variant does not exist",
                Some("PRODUCT_VARIANT_DOES_NOT_EXIST"),
            ));
            continue;
        };
        let mut bad = false;
        for k in ["price", "compareAtPrice"] {
            if let Some(x) = v.get(k).filter(|x| !x.is_null())
                && cents(x).is_none()
            {
                errs.push(uerr(
                    &["variants", &idx, k],
                    format!("{k} is invalid"),
                    Some("INVALID_INPUT"),
                ));
                bad = true;
            }
        }
        if !bad {
            good.push((vi, v.clone()));
        }
    }
    let target = Some(st.gid(GID_PRODUCT, p));
    if !errs.is_empty() && !allow_partial {
        log(st, "productVariantsBulkUpdate", target, false);
        return (Some(p), Vec::new(), errs);
    }
    let mut written = Vec::new();
    for (vi, v) in good {
        let x = &mut st.catalog.variants[vi];
        if let Some(c) = v.get("price").and_then(cents) {
            x.price = c;
        }
        if let Some(c) = v.get("compareAtPrice") {
            x.compare_at = cents(c);
        }
        if let Some(c) = v.get("inventoryItem").and_then(|i| i.get("cost")) {
            x.cost = cents(c);
        }
        x.updated_at = now;
        written.push(vi);
    }
    if !written.is_empty() {
        st.catalog.products[p].updated_at = now;
    }
    log(st, "productVariantsBulkUpdate", target, !written.is_empty());
    (Some(p), written, errs)
}

/// One staged target as answered.
#[derive(Debug, Clone)]
pub(crate) struct TargetVal {
    pub url: String,
    pub resource_url: String,
    pub parameters: Vec<(String, String)>,
}

/// `stagedUploadsCreate(input)`.
pub(crate) fn staged_uploads_create(
    st: &mut StoreData,
    input: &Json,
    base_url: &str,
) -> (Vec<TargetVal>, Vec<UserErr>) {
    let list = input.as_array().cloned().unwrap_or_default();
    let mut out = Vec::new();
    let mut errs = Vec::new();
    for (i, u) in list.iter().enumerate() {
        let resource = str_of(u, "resource").unwrap_or_default();
        let filename = str_of(u, "filename").unwrap_or_default();
        let mime = str_of(u, "mimeType").unwrap_or_default();
        let method = str_of(u, "httpMethod").unwrap_or_else(|| "PUT".into());
        if filename.is_empty() || filename.contains('/') {
            errs.push(uerr(
                &["input", &i.to_string(), "filename"],
                "Filename is invalid",
                None,
            ));
            continue;
        }
        st.catalog.next_upload += 1;
        let kind = if resource == "BULK_MUTATION_VARIABLES" {
            "bulk"
        } else {
            "files"
        };
        let key = format!(
            "tmp/{}/{kind}/{:08}/{filename}",
            st.domain, st.catalog.next_upload
        );
        st.catalog.issued.insert(key.clone());
        let resource_url = format!("{base_url}/staged-uploads/{key}");
        let target = if method == "POST" {
            TargetVal {
                url: format!("{base_url}/staged-uploads/"),
                resource_url: format!("{base_url}/staged-uploads/"),
                parameters: vec![
                    ("Content-Type".into(), mime.clone()),
                    ("success_action_status".into(), "201".into()),
                    ("acl".into(), "private".into()),
                    ("key".into(), key),
                ],
            }
        } else {
            TargetVal {
                url: format!("{resource_url}?X-Sim-Signature={}", st.catalog.next_upload),
                resource_url,
                parameters: vec![
                    ("content_type".into(), mime.clone()),
                    ("acl".into(), "private".into()),
                ],
            }
        };
        out.push(target);
    }
    log(st, "stagedUploadsCreate", None, errs.is_empty());
    if !errs.is_empty() {
        out.clear();
    }
    (out, errs)
}

/// Stores an upload to an issued key; `false` when the key was never issued.
pub(crate) fn receive_upload(
    st: &mut StoreData,
    key: &str,
    method: &str,
    content_type: Option<String>,
    bytes: Vec<u8>,
) -> bool {
    if !st.catalog.issued.contains(key) {
        return false;
    }
    st.catalog.upload_log.push(key.to_string());
    st.catalog.uploads.insert(
        key.to_string(),
        StagedUpload {
            key: key.to_string(),
            method: method.to_string(),
            content_type,
            bytes,
        },
    );
    true
}

/// `bulkOperationRunMutation`: validates and registers the operation (its lines run when it
/// completes).
pub(crate) fn bulk_run_mutation(
    st: &mut StoreData,
    mutation: &str,
    path: &str,
    env: &Env<'_>,
) -> (Option<usize>, Vec<UserErr>) {
    let Some(upload) = st.catalog.uploads.get(path) else {
        return (
            None,
            vec![UserErr {
                field: None,
                message: "The JSONL file could not be found. Try uploading the file again, and check that you've entered the URL correctly for the stagedUploadPath mutation argument.".into(),
                code: Some("NO_SUCH_FILE".into()),
            }],
        );
    };
    let lines = String::from_utf8_lossy(&upload.bytes).into_owned();
    if lines.trim().is_empty() {
        return (
            None,
            vec![uerr(
                &["stagedUploadPath"],
                "The JSONL file is empty.",
                Some("INVALID_STAGED_UPLOAD_FILE"),
            )],
        );
    }
    if let Some((i, _)) = lines
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .find(|(_, l)| !serde_json::from_str::<Json>(l).is_ok_and(|v| v.is_object()))
    {
        return (
            None,
            vec![uerr(
                &["stagedUploadPath"],
                format!("Failed to parse the JSONL file at line {}.", i + 1),
                Some("INVALID_STAGED_UPLOAD_FILE"),
            )],
        );
    }
    if let Err(m) = check_mutation(mutation) {
        return (None, vec![uerr(&["mutation"], m, Some("INVALID_MUTATION"))]);
    }
    let active: Vec<u64> = st
        .bulk_ops
        .iter()
        .filter(|o| o.status.is_active() && st.catalog.bulk_jobs.contains_key(&o.id))
        .map(|o| o.id)
        .collect();
    if active.len() >= MAX_CONCURRENT_MUTATIONS {
        let ids: Vec<String> = active
            .iter()
            .map(|id| format!("{}{id}", crate::store::GID_BULK))
            .collect();
        return (
            None,
            vec![UserErr {
                field: None,
                message: format!(
                    "A bulk mutation operation for this app and shop is already in progress: {}.",
                    ids.join(", ")
                ),
                code: Some("OPERATION_IN_PROGRESS".into()),
            }],
        );
    }
    let i = crate::exec::new_bulk_op(st, mutation, env);
    let id = st.bulk_ops[i].id;
    st.catalog.bulk_jobs.insert(
        id,
        BulkMutationJob {
            mutation: mutation.to_string(),
            lines,
        },
    );
    log(st, "bulkOperationRunMutation", None, true);
    (Some(i), Vec::new())
}

fn check_mutation(mutation: &str) -> Result<(), String> {
    let document = ast::Document::parse(mutation, "bulk.graphql")
        .map_err(|_| "Invalid mutation: syntax error".to_string())?;
    let ops: Vec<_> = document
        .definitions
        .iter()
        .filter_map(|d| match d {
            Definition::OperationDefinition(o) => Some(o),
            _ => None,
        })
        .collect();
    let [op] = ops.as_slice() else {
        return Err("Invalid mutation: exactly one operation expected".into());
    };
    if op.operation_type != ast::OperationType::Mutation {
        return Err("Invalid operation type. Only `mutation` operations are supported.".into());
    }
    if op.selection_set.len() != 1 {
        return Err("Bulk mutations must have exactly one top-level field.".into());
    }
    Ok(())
}

/// Runs the lines of a bulk mutation job: one `{"data": …, "__lineNumber": n}` (or
/// `{"errors": …}`) line each, at most `limit` lines. Returns the JSONL and the line count.
pub(crate) fn run_bulk_lines(
    st: &mut StoreData,
    job: &BulkMutationJob,
    env: &Env<'_>,
    limit: usize,
) -> (String, u64) {
    let mut out = String::new();
    let mut count = 0u64;
    let Ok(document) = ast::Document::parse(job.mutation.as_str(), "bulk.graphql") else {
        return (out, 0);
    };
    let Some(op) = document.definitions.iter().find_map(|d| match d {
        Definition::OperationDefinition(o) => Some(o),
        _ => None,
    }) else {
        return (out, 0);
    };
    for (n, line) in job
        .lines
        .lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .take(limit)
    {
        let vars: Map<String, Json> = serde_json::from_str(line).unwrap_or_default();
        let mut doc = Doc::new(&document, op);
        doc.vars = vars;
        let mut v = Validator::new(&doc);
        v.selection(T::Mutation, &op.selection_set, &mut Vec::new());
        let row = if !v.errors.is_empty() {
            json!({ "errors": v.errors, "__lineNumber": n })
        } else {
            let mut ex = Exec::new(&doc, st, env);
            let (data, _) = ex.mutation(&op.selection_set);
            let errors = std::mem::take(&mut ex.errors);
            if errors.is_empty() {
                json!({ "data": data, "__lineNumber": n })
            } else {
                json!({ "data": data, "errors": errors, "__lineNumber": n })
            }
        };
        out.push_str(&row.to_string());
        out.push('\n');
        count += 1;
    }
    (out, count)
}

// ------------------------------------------------------------------------------ completion, HTTP

/// Completes bulk mutation operation `i` (id `id`): runs its lines and publishes the result file;
/// FAILED with partial data when [`CatalogData::fail_next_bulk_after`] was set.
pub(crate) fn complete_bulk_mutation(
    shared: &crate::server::Shared,
    st: &mut StoreData,
    i: usize,
    id: u64,
    job: &BulkMutationJob,
    env: &Env<'_>,
) {
    let fail_after = st.catalog.fail_next_bulk_after.take();
    let (jsonl, count) = run_bulk_lines(st, job, env, fail_after.unwrap_or(usize::MAX));
    st.catalog.bulk_jobs.remove(&id);
    let size = jsonl.len() as u64;
    crate::server::lock(&shared.bulk_files).insert(id, std::sync::Arc::new(jsonl));
    let url = format!("{}/bulk-results/{id}.jsonl", shared.base_url);
    let op = &mut st.bulk_ops[i];
    op.completed_at = Some(env.now);
    op.object_count = count;
    op.root_object_count = count;
    op.file_size = Some(size);
    if fail_after.is_some() {
        op.status = crate::store::BulkStatus::Failed;
        // Lines written before the failure are readable through `partialDataUrl`; the simulator
        // serves the same file for both.
        op.url = Some(url);
    } else {
        op.status = crate::store::BulkStatus::Completed;
        op.url = Some(url);
    }
}

fn store_of_key(shared: &crate::server::Shared, key: &str) -> Option<crate::server::StoreRef> {
    let domain = key.strip_prefix("tmp/")?.split('/').next()?;
    shared.stores.read().ok()?.get(domain).cloned()
}

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// `PUT /staged-uploads/{key}`: the bytes of an image (or any staged file).
pub(crate) async fn staged_put(
    State(shared): State<Arc<crate::server::Shared>>,
    Path(key): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(store) = store_of_key(&shared, &key) else {
        return (StatusCode::FORBIDDEN, "AccessDenied").into_response();
    };
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let mut st = crate::server::lock(&store);
    if receive_upload(&mut st, &key, "PUT", ct, body.to_vec()) {
        StatusCode::OK.into_response()
    } else {
        (StatusCode::FORBIDDEN, "AccessDenied").into_response()
    }
}

/// `GET /staged-uploads/{key}`: an uploaded file (image URLs point here).
pub(crate) async fn staged_get(
    State(shared): State<Arc<crate::server::Shared>>,
    Path(key): Path<String>,
) -> Response {
    let Some(store) = store_of_key(&shared, &key) else {
        return (StatusCode::NOT_FOUND, "NoSuchKey").into_response();
    };
    let st = crate::server::lock(&store);
    match st.catalog.uploads.get(&key) {
        Some(u) => {
            let ct = u
                .content_type
                .clone()
                .unwrap_or_else(|| "application/octet-stream".into());
            ([(header::CONTENT_TYPE, ct)], u.bytes.clone()).into_response()
        }
        None => (StatusCode::NOT_FOUND, "NoSuchKey").into_response(),
    }
}

/// `POST /staged-uploads/`: a multipart form with the target's parameters (`key` among them) and
/// the `file` part, as Shopify's bulk variables targets take it.
pub(crate) async fn staged_post(
    State(shared): State<Arc<crate::server::Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let boundary = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|ct| ct.split("boundary=").nth(1))
        .map(|b| b.trim_matches('"').to_string());
    let Some(boundary) = boundary else {
        return (StatusCode::BAD_REQUEST, "multipart/form-data expected").into_response();
    };
    let parts = parse_multipart(&body, &boundary);
    let field = |n: &str| parts.iter().find(|(name, _, _)| name == n);
    let (Some((_, _, key)), Some((_, file_ct, file))) = (field("key"), field("file")) else {
        return (StatusCode::BAD_REQUEST, "key and file are required").into_response();
    };
    let key = String::from_utf8_lossy(key).into_owned();
    let Some(store) = store_of_key(&shared, &key) else {
        return (StatusCode::FORBIDDEN, "AccessDenied").into_response();
    };
    let mut st = crate::server::lock(&store);
    if receive_upload(&mut st, &key, "POST", file_ct.clone(), file.clone()) {
        StatusCode::CREATED.into_response()
    } else {
        (StatusCode::FORBIDDEN, "AccessDenied").into_response()
    }
}

/// (field name, content type, content) of each part.
pub(crate) fn parse_multipart(
    body: &[u8],
    boundary: &str,
) -> Vec<(String, Option<String>, Vec<u8>)> {
    let delim = format!("--{boundary}").into_bytes();
    let find = |hay: &[u8], needle: &[u8], from: usize| {
        (from..=hay.len().saturating_sub(needle.len())).find(|&i| hay[i..].starts_with(needle))
    };
    let mut out = Vec::new();
    let mut pos = match find(body, &delim, 0) {
        Some(p) => p + delim.len(),
        None => return out,
    };
    while let Some(next) = find(body, &delim, pos) {
        let part = &body[pos..next];
        pos = next + delim.len();
        let part = part.strip_prefix(b"\r\n").unwrap_or(part);
        let part = part.strip_suffix(b"\r\n").unwrap_or(part);
        let Some(split) = find(part, b"\r\n\r\n", 0) else {
            continue;
        };
        let head = String::from_utf8_lossy(&part[..split]).into_owned();
        let content = part[split + 4..].to_vec();
        let mut name = None;
        let mut ct = None;
        for line in head.split("\r\n") {
            let lower = line.to_ascii_lowercase();
            if lower.starts_with("content-disposition:") {
                name = line
                    .split("name=\"")
                    .nth(1)
                    .and_then(|r| r.split('"').next())
                    .map(str::to_string);
            } else if lower.starts_with("content-type:") {
                ct = Some(line[13..].trim().to_string());
            }
        }
        if let Some(n) = name {
            out.push((n, ct, content));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_parts() {
        let body = b"--b\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\ntmp/s/bulk/1/x.jsonl\r\n--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.jsonl\"\r\nContent-Type: text/jsonl\r\n\r\n{\"a\":1}\n\r\n--b--\r\n";
        let parts = parse_multipart(body, "b");
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].0, "key");
        assert_eq!(parts[0].2, b"tmp/s/bulk/1/x.jsonl");
        assert_eq!(parts[1].1.as_deref(), Some("text/jsonl"));
        assert_eq!(parts[1].2, b"{\"a\":1}\n");
    }

    #[test]
    fn handles_and_cents() {
        assert_eq!(handleize("Red  Bike!", 0), "red-bike");
        assert_eq!(handleize("!!", 4), "product-5");
        assert_eq!(cents(&json!("12.5")), Some(1250));
        assert_eq!(cents(&json!("-1")), None);
        assert_eq!(cents(&json!("abc")), None);
        assert_eq!(decimal(1250), "12.50");
        assert_eq!(decimal(5), "0.05");
    }

    #[test]
    fn staged_keys() {
        assert_eq!(
            staged_key(
                "http://127.0.0.1:1/staged-uploads/tmp/a/files/1/x.png?sig=1",
                "http://127.0.0.1:1"
            ),
            Some("tmp/a/files/1/x.png")
        );
        assert_eq!(
            staged_key("https://cdn.example/x.png", "http://127.0.0.1:1"),
            None
        );
    }
}
