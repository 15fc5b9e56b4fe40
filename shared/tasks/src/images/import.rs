//! Import: the Shopify product's first image → the BC item's picture, when Shopify's image id
//! differs from the one the mirror last recorded (see the module documentation of [`super`]).

use super::records::{self, mirrored};
use super::{ImageEffect, ImageOutcome, ImagesState, Phase, counters};
use crate::catalogue;
use crate::engine::{Effect, EffectKind, Settled, TaskRun};
use crate::orders::sync::{format_time, parse_time};
use serde::{Deserialize, Serialize};
use shopsync_domain::SyncError;
use shopsync_domain::catalog::Product;
use shopsync_domain::catalogue::System;
use shopsync_domain::items::{PictureState, content_hash, limits};
use shopsync_domain::ports::Result;
use std::collections::VecDeque;
use time::{Duration, OffsetDateTime};

/// One product image to import into an item's picture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportImage {
    pub item_no: String,
    /// BC's id of the item, when the mirror has it.
    #[serde(default)]
    pub item_id: Option<String>,
    pub product_id: String,
    pub media_id: String,
    pub image_id: String,
    /// Where Shopify serves the image.
    pub url: String,
}

/// Fix what this run reads: products updated since the cursor (all in a `full` run), then the
/// products whose last import failed.
pub async fn open(run: &mut TaskRun<'_>, state: &mut ImagesState) -> Result<()> {
    let started = OffsetDateTime::now_utc();
    let stored: Option<String> = super::read_cursor(run, records::IMPORT_CURSOR).await?;
    state.since = match (&stored, run.job.options.full) {
        (Some(s), false) => Some(format_time(
            parse_time("import cursor", s)? - Duration::seconds(super::IMPORT_OVERLAP_SECS),
        )?),
        _ => None,
    };
    state.import_cursor = Some(format_time(started)?);
    let failed = records::items_with_status(run, records::status::ERROR).await?;
    let mirror = catalogue::load_many(run.stores.records.as_ref(), run.shop(), &failed).await?;
    let mut retries = VecDeque::new();
    for item_no in failed {
        match mirror
            .get(&item_no)
            .and_then(|m| m.product.product_id.clone())
        {
            Some(product_id) => retries.push_back((item_no, product_id)),
            None => records::clear_state(run, &item_no).await?,
        }
    }
    state.retries = retries;
    state.page_after = None;
    state.phase = Phase::Import;
    Ok(())
}

/// One page of updated products: their effects and the next page's cursor.
pub async fn plan_page(
    run: &mut TaskRun<'_>,
    state: &ImagesState,
) -> Result<(Vec<Effect>, Option<String>)> {
    let page = run
        .clients
        .shopify
        .products_updated_since(state.since.as_deref(), state.page_after.as_deref())
        .await?;
    let mut effects = Vec::new();
    for product in &page.items {
        let item_no =
            catalogue::item_of_product(run.stores.records.as_ref(), run.shop(), &product.id)
                .await?;
        let Some(item_no) = item_no else {
            run.counters.add(counters::NOT_LINKED, 1);
            continue;
        };
        if let Some(e) = plan_product(run, product, &item_no, false).await? {
            effects.push(e);
        }
    }
    Ok((effects, page.next_cursor))
}

/// The products whose last import failed, read again one by one.
pub async fn plan_retries(
    run: &mut TaskRun<'_>,
    batch: Vec<(String, String)>,
) -> Result<Vec<Effect>> {
    let mut effects = Vec::new();
    for (item_no, product_id) in batch {
        match run.clients.shopify.product(&product_id).await? {
            Some(product) => {
                if let Some(e) = plan_product(run, &product, &item_no, true).await? {
                    effects.push(e);
                }
            }
            None => {
                records::fail(
                    run,
                    &item_no,
                    &format!("Shopify has no product {product_id} any more"),
                    true,
                )
                .await?
            }
        }
    }
    Ok(effects)
}

async fn plan_product(
    run: &mut TaskRun<'_>,
    product: &Product,
    item_no: &str,
    retry: bool,
) -> Result<Option<Effect>> {
    let Some(m) = catalogue::load(run.stores.records.as_ref(), run.shop(), item_no).await? else {
        run.counters.add(counters::NOT_LINKED, 1);
        return Ok(None);
    };
    let Some(media) = product.media.first() else {
        run.counters.add(counters::NO_PICTURE, 1);
        if retry {
            records::clear_state(run, item_no).await?;
        }
        return Ok(None);
    };
    if media.image_id.is_some() && media.image_id == m.product.image.shopify_image_id {
        run.counters.add(counters::UNCHANGED, 1);
        if retry {
            records::clear_state(run, item_no).await?;
        }
        return Ok(None);
    }
    let (Some(image_id), Some(url)) = (media.image_id.clone(), media.url.clone()) else {
        // Still processing: no URL yet. Not an error of the data; the next run takes it again.
        run.counters.add(counters::NOT_READY, 1);
        records::fail(
            run,
            item_no,
            &format!("Shopify is still processing image {}", media.id),
            false,
        )
        .await?;
        return Ok(None);
    };
    let import = ImportImage {
        item_no: item_no.to_string(),
        item_id: m.product.item_id.clone(),
        product_id: product.id.clone(),
        media_id: media.id.clone(),
        image_id,
        url,
    };
    let label = format!("picture of item {item_no}");
    let payload = serde_json::to_value(ImageEffect::Import(import))
        .map_err(|e| SyncError::Internal(format!("serialising: {e}")))?;
    Ok(Some(Effect::new(
        EffectKind::Probed,
        System::Bc,
        label,
        payload,
    )))
}

fn picture_hash(state: &PictureState) -> Option<&str> {
    match state {
        PictureState::Present(p) => Some(p.content_hash.as_str()),
        PictureState::Absent { .. } => None,
    }
}

/// Fetch the image and write it as the item's picture unless BC has those bytes already.
pub async fn send(run: &mut TaskRun<'_>, i: &ImportImage) -> Result<ImageOutcome> {
    let bytes = match run
        .clients
        .shopify
        .image_bytes(&i.url, limits::PICTURE_BYTES)
        .await
    {
        Ok(b) => b,
        Err(e) if !e.is_retryable() => {
            return Ok(ImageOutcome::Refused {
                reason: format!(
                    "the image of product {} cannot be fetched: {e}",
                    i.product_id
                ),
            });
        }
        Err(e) => return Err(e),
    };
    run.counters.add(counters::DOWNLOADED, 1);
    if bytes.is_empty() {
        return Ok(ImageOutcome::Refused {
            reason: format!("the image of product {} is empty", i.product_id),
        });
    }
    let hash = content_hash(&bytes);
    let bc = run.clients.bc.clone();
    let item_id = match &i.item_id {
        Some(id) => id.clone(),
        None => match bc.item_by_number(&i.item_no).await? {
            Some(item) => item.id,
            None => {
                return Ok(ImageOutcome::Refused {
                    reason: format!("BC has no item {}", i.item_no),
                });
            }
        },
    };
    let current = bc.item_picture(&item_id).await?;
    if picture_hash(&current) == Some(hash.as_str()) {
        return Ok(ImageOutcome::Imported {
            hash,
            written: false,
        });
    }
    let etag = match &current {
        PictureState::Present(p) => p.etag.clone(),
        PictureState::Absent { etag } => etag.clone(),
    };
    match bc.set_item_picture(&item_id, &etag, &bytes).await {
        Ok(()) => {
            run.counters.add(counters::PICTURES_WRITTEN, 1);
            Ok(ImageOutcome::Imported {
                hash,
                written: true,
            })
        }
        Err(SyncError::Conflict(_)) => {
            // BC's picture changed since it was read: ours (an earlier write whose answer was lost)
            // or someone's in BC, which the import must not overwrite.
            let now = bc.item_picture(&item_id).await?;
            match picture_hash(&now) {
                Some(h) if h == hash => Ok(ImageOutcome::Imported {
                    hash,
                    written: false,
                }),
                other => Ok(ImageOutcome::KeptBc {
                    hash: other.map(String::from),
                    reason: format!(
                        "the picture of item {} changed in BC while the image of product {} was \
                         imported; BC's picture is kept",
                        i.item_no, i.product_id
                    ),
                }),
            }
        }
        Err(e) if !e.is_retryable() => Ok(ImageOutcome::Refused {
            reason: format!("BC refused the picture of item {}: {e}", i.item_no),
        }),
        Err(e) => Err(e),
    }
}

/// Record what an import came to.
pub async fn settle(
    run: &mut TaskRun<'_>,
    i: &ImportImage,
    outcome: ImageOutcome,
) -> Result<Settled> {
    let shop = run.shop().to_string();
    let (image, note) = match outcome {
        ImageOutcome::Imported { hash, written } => {
            if !written {
                run.counters.add(counters::IMPORT_UNCHANGED, 1);
            }
            (
                mirrored(&hash, Some(i.media_id.clone()), Some(i.image_id.clone())),
                None,
            )
        }
        ImageOutcome::KeptBc { hash, reason } => {
            run.counters.add(counters::KEPT_BC, 1);
            // Shopify's image is taken as seen (not imported again until it changes in Shopify);
            // BC's picture is the newer one.
            let image = crate::catalogue::MirroredImage {
                picture_hash: hash,
                media_id: Some(i.media_id.clone()),
                shopify_image_id: Some(i.image_id.clone()),
            };
            (image, Some(reason))
        }
        ImageOutcome::Refused { reason } => {
            run.counters.add(counters::FAILED, 1);
            records::fail(run, &i.item_no, &reason, true).await?;
            return Ok(Settled::default());
        }
        other => {
            return Err(SyncError::Internal(format!(
                "an image import of item {} came to an export's outcome: {other:?}",
                i.item_no
            )));
        }
    };
    catalogue::update(run.stores.records.as_ref(), &shop, &i.item_no, |p| {
        if p.product_id.is_none() || p.image == image {
            return false;
        }
        p.image = image.clone();
        true
    })
    .await?;
    records::clear_state(run, &i.item_no).await?;
    if let Some(reason) = note {
        // A skipped record tells the merchant; nothing is left to retry.
        records::skip(run, &i.item_no, &reason).await?;
    }
    Ok(Settled::default())
}
