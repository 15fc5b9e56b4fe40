//! Field resolution and mutations of the catalogue side (see `catalog.rs`): the `products`
//! root, the catalogue fields of products, variants and inventory items, media, staged targets and
//! the catalogue mutation payloads. Resolves into the same `Obj` handles and is costed by the same
//! rules as the rest of the executor.

use std::rc::Rc;

use apollo_compiler::Node;
use apollo_compiler::ast;
use serde_json::Value as Json;

use crate::catalog::{self, CT, CatalogData, GID_MEDIA, TargetVal, decimal};
use crate::exec::{Exec, FieldErr, Obj, R, ferr, refuse_idempotent, unknown};
use crate::inventory::UserErr;
use crate::schema::{N, T};

/// Catalogue objects.
#[derive(Clone)]
pub(crate) enum CatObj {
    /// (product, option index)
    Option(usize, usize),
    /// (variant, option index)
    Selected(usize, usize),
    Media(usize),
    Image(usize),
    ProductSet(Option<usize>, Rc<Vec<UserErr>>),
    Staged(Rc<Vec<TargetVal>>, Rc<Vec<UserErr>>),
    Target(Rc<TargetVal>),
    Param(Rc<(String, String)>),
    ProductUpdate(Option<usize>, Rc<Vec<UserErr>>),
    FileUpdate(Rc<Vec<usize>>, Rc<Vec<UserErr>>),
    VariantsUpdate(Option<usize>, Rc<Vec<usize>>, Rc<Vec<UserErr>>),
    BulkRun(Option<usize>, Rc<Vec<UserErr>>),
}

impl CatObj {
    pub(crate) fn ty(&self) -> T {
        T::Cat(match self {
            CatObj::Option(..) => CT::ProductOption,
            CatObj::Selected(..) => CT::SelectedOption,
            CatObj::Media(_) => CT::MediaImage,
            CatObj::Image(_) => CT::Image,
            CatObj::ProductSet(..) => CT::ProductSetPayload,
            CatObj::Staged(..) => CT::StagedUploadsPayload,
            CatObj::Target(_) => CT::StagedTarget,
            CatObj::Param(_) => CT::StagedParam,
            CatObj::ProductUpdate(..) => CT::ProductUpdatePayload,
            CatObj::FileUpdate(..) => CT::FileUpdatePayload,
            CatObj::VariantsUpdate(..) => CT::VariantsBulkUpdatePayload,
            CatObj::BulkRun(..) => CT::BulkRunMutationPayload,
        })
    }
}

/// The numeric id of media `m`'s image. As on Shopify, the image is a new one whenever the media's
/// content is replaced (`fileUpdate` with an `originalSource`) while the media id stays: derived
/// from the media and its current source (FNV-1a), so the same content keeps its id and new
/// content gets another.
fn image_number(m: usize, source: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in m.to_le_bytes().iter().chain(source.as_bytes()) {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    // 14 digits, like Shopify's numeric ids.
    10_000_000_000_000 + h % 90_000_000_000_000
}

fn errs(t: CT, e: &Rc<Vec<UserErr>>) -> Result<R, FieldErr> {
    Ok(R::Many(
        e.iter()
            .map(|e| Some(Obj::UserErr(T::Cat(t), Rc::new(e.clone()))))
            .collect(),
    ))
}

fn plain_errs(e: &Rc<Vec<UserErr>>) -> Result<R, FieldErr> {
    Ok(R::Many(
        e.iter()
            .map(|e| Some(Obj::UserErr(T::UserError, Rc::new(e.clone()))))
            .collect(),
    ))
}

impl<'d, 'a, 's, 'e> Exec<'d, 'a, 's, 'e> {
    /// Whether `name` is a catalogue mutation.
    pub(crate) fn is_catalog_mutation(name: &str) -> bool {
        matches!(
            name,
            "productSet"
                | "stagedUploadsCreate"
                | "productUpdate"
                | "fileUpdate"
                | "productVariantsBulkUpdate"
                | "bulkOperationRunMutation"
        )
    }

    /// Runs a catalogue mutation. None of them accepts `@idempotent` (2026-07 offers it on none).
    pub(crate) fn mutate_catalog(&mut self, f: &Node<ast::Field>) -> Result<Obj, FieldErr> {
        let name = f.name.as_str();
        refuse_idempotent(f)?;
        let now = self.env.clock.unix(self.env.now);
        let base = self.env.base_url;
        let arg = |n: &str| self.doc.arg(f, n).unwrap_or(Json::Null);
        Ok(Obj::Cat(match name {
            "productSet" => {
                let (input, identifier) = (arg("input"), arg("identifier"));
                let (p, e) = catalog::product_set(self.st, &input, &identifier, now, base);
                CatObj::ProductSet(p, Rc::new(e))
            }
            "stagedUploadsCreate" => {
                let input = arg("input");
                let (t, e) = catalog::staged_uploads_create(self.st, &input, base);
                CatObj::Staged(Rc::new(t), Rc::new(e))
            }
            "productUpdate" => {
                let (product, media) = (arg("product"), arg("media"));
                let (p, e) = catalog::product_update(self.st, &product, &media, now, base);
                CatObj::ProductUpdate(p, Rc::new(e))
            }
            "fileUpdate" => {
                let files = arg("files");
                let (m, e) = catalog::file_update(self.st, &files, now, base);
                CatObj::FileUpdate(Rc::new(m), Rc::new(e))
            }
            "productVariantsBulkUpdate" => {
                let product = arg("productId").as_str().unwrap_or("").to_string();
                let variants = arg("variants");
                let partial = arg("allowPartialUpdates").as_bool().unwrap_or(false);
                let (p, v, e) =
                    catalog::variants_bulk_update(self.st, &product, &variants, partial, now);
                CatObj::VariantsUpdate(p, Rc::new(v), Rc::new(e))
            }
            "bulkOperationRunMutation" => {
                let mutation = arg("mutation").as_str().unwrap_or("").to_string();
                let path = arg("stagedUploadPath").as_str().unwrap_or("").to_string();
                let (op, e) = catalog::bulk_run_mutation(self.st, &mutation, &path, self.env);
                if let Some(i) = op {
                    self.new_bulk_ops.push(self.st.bulk_ops[i].id);
                }
                CatObj::BulkRun(op, Rc::new(e))
            }
            other => {
                return Err(ferr(
                    format!("Field '{other}' is not supported"),
                    "BAD_REQUEST",
                ));
            }
        }))
    }

    /// `products(first, after, sortKey, reverse, query)`.
    pub(crate) fn products_page(&mut self, f: &Node<ast::Field>) -> Result<R, FieldErr> {
        let now = self.env.clock.unix(self.env.now);
        CatalogData::sync(self.st, now);
        let query = self.str_arg(f, "query");
        let sort = self.str_arg(f, "sortKey");
        let st = &*self.st;
        let keyed: Vec<(i64, usize)> = (0..st.products.len())
            .filter(|&p| catalog::product_matches(st, p, query.as_deref()))
            .map(|p| {
                let e = &st.catalog.products[p];
                let key = match sort.as_deref() {
                    Some("UPDATED_AT") => e.updated_at,
                    Some("CREATED_AT") => e.created_at,
                    _ => p as i64,
                };
                (key, p)
            })
            .collect();
        self.keyed_page(f, N::Product, keyed, Obj::Product)
    }

    /// Catalogue fields of products, variants and inventory items, and the catalogue objects.
    pub(crate) fn resolve_catalog(
        &mut self,
        obj: &Obj,
        f: &Node<ast::Field>,
    ) -> Result<R, FieldErr> {
        let now = self.env.clock.unix(self.env.now);
        CatalogData::sync(self.st, now);
        let name = f.name.as_str();
        let st = &*self.st;
        let base = self.env.base_url;
        let v = |x: Json| Ok(R::Val(x));
        let s = |x: &str| Ok(R::Val(Json::String(x.to_string())));
        let opt =
            |x: &Option<String>| Ok(R::Val(x.clone().map(Json::String).unwrap_or(Json::Null)));
        let one = |o: Option<Obj>| Ok(R::One(o));
        let time = |t: i64| Json::String(crate::clock::format_utc(t));
        match obj {
            Obj::Product(p) => {
                let e = &st.catalog.products[*p];
                match name {
                    "handle" => s(&e.handle),
                    "vendor" => s(&e.vendor),
                    "productType" => s(&e.product_type),
                    "descriptionHtml" => s(&e.description_html),
                    "status" => s(&e.status),
                    "isGiftCard" => v(Json::Bool(e.gift_card)),
                    "tags" => v(Json::Array(
                        e.tags.iter().map(|t| Json::String(t.clone())).collect(),
                    )),
                    "updatedAt" => v(time(e.updated_at)),
                    "createdAt" => v(time(e.created_at)),
                    "options" => {
                        let first = self
                            .doc
                            .arg(f, "first")
                            .and_then(|v| v.as_u64())
                            .map_or(usize::MAX, |n| n as usize);
                        let n = e.options.len().min(first);
                        Ok(R::Many(
                            (0..n)
                                .map(|i| Some(Obj::Cat(CatObj::Option(*p, i))))
                                .collect(),
                        ))
                    }
                    "media" => {
                        let len = e.media.len();
                        let p = *p;
                        self.page(
                            f,
                            N::Media,
                            len,
                            move |st, pos| {
                                Some(Obj::Cat(CatObj::Media(st.catalog.products[p].media[pos])))
                            },
                            None,
                        )
                    }
                    _ => unknown(name),
                }
            }
            Obj::Variant(i) => {
                let x = &st.catalog.variants[*i];
                match name {
                    "position" => {
                        let p = st.variants[*i].product as usize;
                        let pos = st.products[p]
                            .variants
                            .iter()
                            .position(|&w| w as usize == *i)
                            .map_or(0, |n| n + 1);
                        v(Json::from(pos))
                    }
                    "price" => s(&decimal(x.price)),
                    "compareAtPrice" => opt(&x.compare_at.map(decimal)),
                    "updatedAt" => v(time(x.updated_at)),
                    "createdAt" => v(time(x.created_at)),
                    "selectedOptions" => {
                        let n = if x.options.is_empty() {
                            1
                        } else {
                            x.options.len()
                        };
                        Ok(R::Many(
                            (0..n)
                                .map(|k| Some(Obj::Cat(CatObj::Selected(*i, k))))
                                .collect(),
                        ))
                    }
                    _ => unknown(name),
                }
            }
            Obj::Item(i) => match name {
                "unitCost" => one(st.catalog.variants[*i]
                    .cost
                    .map(|c| Obj::MoneyV2(c, Rc::from("EUR")))),
                _ => unknown(name),
            },
            Obj::Cat(c) => match c {
                CatObj::Option(p, k) => {
                    let (n, values) = &st.catalog.products[*p].options[*k];
                    match name {
                        "id" => s(&format!("gid://shopify/ProductOption/{}{k}", p + 1)),
                        "name" => s(n),
                        "position" => v(Json::from(k + 1)),
                        "values" => v(Json::Array(
                            values.iter().map(|x| Json::String(x.clone())).collect(),
                        )),
                        _ => unknown(name),
                    }
                }
                CatObj::Selected(i, k) => {
                    let opts = &st.catalog.variants[*i].options;
                    let (n, value) = opts
                        .get(*k)
                        .cloned()
                        .unwrap_or_else(|| ("Title".into(), "Default Title".into()));
                    match name {
                        "name" => s(&n),
                        "value" => s(&value),
                        _ => unknown(name),
                    }
                }
                CatObj::Media(m) => {
                    let r = &st.catalog.media[*m];
                    match name {
                        "id" => s(&st.gid(GID_MEDIA, *m)),
                        "alt" => s(r.alt.as_deref().unwrap_or("")),
                        "status" | "fileStatus" => s("READY"),
                        "mediaContentType" => s("IMAGE"),
                        "createdAt" | "updatedAt" => v(time(r.updated_at)),
                        "image" => one(Some(Obj::Cat(CatObj::Image(*m)))),
                        _ => unknown(name),
                    }
                }
                CatObj::Image(m) => {
                    let r = &st.catalog.media[*m];
                    match name {
                        "url" => {
                            if r.source.starts_with("http") {
                                s(&r.source)
                            } else {
                                s(&format!("{base}/staged-uploads/{}", r.source))
                            }
                        }
                        "altText" => opt(&r.alt),
                        "id" => s(&format!(
                            "gid://shopify/ImageSource/{}",
                            image_number(*m, &r.source)
                        )),
                        "width" | "height" => v(Json::from(360)),
                        _ => unknown(name),
                    }
                }
                CatObj::ProductSet(p, e) => match name {
                    "product" => one(p.map(Obj::Product)),
                    "productSetOperation" => v(Json::Null),
                    "userErrors" => errs(CT::ProductSetUserError, e),
                    _ => unknown(name),
                },
                CatObj::Staged(t, e) => match name {
                    "stagedTargets" => Ok(R::Many(
                        t.iter()
                            .map(|t| Some(Obj::Cat(CatObj::Target(Rc::new(t.clone())))))
                            .collect(),
                    )),
                    "userErrors" => plain_errs(e),
                    _ => unknown(name),
                },
                CatObj::Target(t) => match name {
                    "url" => s(&t.url),
                    "resourceUrl" => s(&t.resource_url),
                    "parameters" => Ok(R::Many(
                        t.parameters
                            .iter()
                            .map(|p| Some(Obj::Cat(CatObj::Param(Rc::new(p.clone())))))
                            .collect(),
                    )),
                    _ => unknown(name),
                },
                CatObj::Param(p) => match name {
                    "name" => s(&p.0),
                    "value" => s(&p.1),
                    _ => unknown(name),
                },
                CatObj::ProductUpdate(p, e) => match name {
                    "product" => one(if e.is_empty() {
                        p.map(Obj::Product)
                    } else {
                        None
                    }),
                    "userErrors" => plain_errs(e),
                    _ => unknown(name),
                },
                CatObj::FileUpdate(m, e) => match name {
                    "files" => Ok(R::Many(
                        m.iter()
                            .map(|&m| Some(Obj::Cat(CatObj::Media(m))))
                            .collect(),
                    )),
                    "userErrors" => errs(CT::FilesUserError, e),
                    _ => unknown(name),
                },
                CatObj::VariantsUpdate(p, w, e) => match name {
                    "product" => one(p.map(Obj::Product)),
                    "productVariants" => {
                        Ok(R::Many(w.iter().map(|&i| Some(Obj::Variant(i))).collect()))
                    }
                    "userErrors" => errs(CT::VariantsBulkUpdateUserError, e),
                    _ => unknown(name),
                },
                CatObj::BulkRun(op, e) => match name {
                    "bulkOperation" => one(op.map(|i| Obj::Bulk(i, None))),
                    "userErrors" => errs(CT::BulkMutationUserError, e),
                    _ => unknown(name),
                },
            },
            _ => unknown(name),
        }
    }
}
