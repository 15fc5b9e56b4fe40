//! Export: the BC item's picture → the Shopify product's image (see the module documentation of
//! [`super`] for the rule that keeps an image from being added twice).

use super::records::{self, ImageState, find_marked, marker_alt, mirrored};
use super::{ImageEffect, ImageOutcome, ImagesState, Phase, QueuedItem, counters, dedupe};
use crate::catalogue::{self, MirroredProduct};
use crate::engine::{Effect, EffectKind, Settled, TaskRun};
use serde::{Deserialize, Serialize};
use shopsync_domain::SyncError;
use shopsync_domain::catalog::{
    MediaAttach, MediaReplace, ProductMedia, StagedUploadRequest, UploadMethod, UploadResource,
};
use shopsync_domain::catalogue::System;
use shopsync_domain::inventory::UserError;
use shopsync_domain::items::{ItemCursor, PictureState};
use shopsync_domain::ports::Result;
use std::collections::HashSet;

/// One item's picture to export: its content hash when planned, and where it goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportImage {
    pub item_no: String,
    pub item_id: String,
    pub product_id: String,
    /// The image the mirror links (replaced with `fileUpdate`); `None`: add one.
    #[serde(default)]
    pub media_id: Option<String>,
    /// The picture's content hash when planned.
    pub hash: String,
}

/// How an exported image got there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum How {
    /// `productUpdate(media:)` added it.
    Attached,
    /// `fileUpdate` replaced the linked image's content.
    Replaced,
    /// An earlier attempt whose answer was lost had added it: found by its marker.
    Found,
    /// Another run had exported it and settled it already.
    Already,
}

/// Fix what this run looks at: every item with an unfinished image state, and the items BC
/// changed since the cursor; in a `full` run, and in the first run (no cursor yet), every linked
/// item.
pub async fn open(run: &mut TaskRun<'_>, state: &mut ImagesState) -> Result<()> {
    let stored: Option<ItemCursor> = super::read_cursor(run, records::EXPORT_CURSOR).await?;
    if run.job.options.full || stored.is_none() {
        // Every linked item, a page of the mirror a step (nothing of it kept in the checkpoint).
        // Without a cursor yet, BC's newest change becomes the cursor.
        if stored.is_none() {
            state.export_cursor = run.clients.bc.items_modified_since(None).await?.next_cursor;
        }
        state.phase = Phase::ExportAll;
        return Ok(());
    }
    let mut queue: Vec<QueuedItem> = Vec::new();
    for status in [records::status::PENDING, records::status::ERROR] {
        for number in records::items_with_status(run, status).await? {
            queue.push(QueuedItem { number, id: None });
        }
    }
    let from = stored.as_ref().map(|c| c.rewound(super::EXPORT_REWIND_MS));
    let batch = run.clients.bc.items_modified_since(from.as_ref()).await?;
    for item in batch.items {
        queue.push(QueuedItem {
            number: item.number,
            id: Some(item.id),
        });
    }
    state.queue = dedupe(queue);
    state.export_cursor = batch.next_cursor.filter(|c| Some(c) != stored.as_ref());
    state.phase = if state.queue.is_empty() {
        Phase::Finish
    } else {
        Phase::Export
    };
    Ok(())
}

/// Look at the pictures of `batch`: an effect for each linked item whose picture's hash differs
/// from the mirror's.
pub async fn plan_items(run: &mut TaskRun<'_>, batch: Vec<QueuedItem>) -> Result<Vec<Effect>> {
    if batch.is_empty() {
        return Ok(Vec::new());
    }
    let shop = run.shop().to_string();
    let numbers: Vec<String> = batch.iter().map(|q| q.number.clone()).collect();
    let mirror = catalogue::load_many(run.stores.records.as_ref(), &shop, &numbers).await?;
    let with_state: HashSet<String> = run
        .stores
        .records
        .get_records(&shop, records::IMAGE_STATES, &numbers)
        .await?
        .into_iter()
        .map(|r| r.id)
        .collect();
    let mut effects = Vec::new();
    for q in batch {
        let has_state = with_state.contains(&q.number);
        let linked = mirror
            .get(&q.number)
            .map(|m| &m.product)
            .filter(|p| p.product_id.is_some());
        let Some(product) = linked else {
            run.counters.add(counters::NOT_LINKED, 1);
            if has_state {
                records::clear_state(run, &q.number).await?;
            }
            continue;
        };
        if let Some(effect) = plan_item(run, product, q.id, has_state).await? {
            effects.push(effect);
        }
    }
    Ok(effects)
}

async fn plan_item(
    run: &mut TaskRun<'_>,
    product: &MirroredProduct,
    item_id: Option<String>,
    has_state: bool,
) -> Result<Option<Effect>> {
    let item_no = product.item_no.clone();
    let item_id = match item_id.or_else(|| product.item_id.clone()) {
        Some(id) => id,
        None => match run.clients.bc.item_by_number(&item_no).await? {
            Some(item) => item.id,
            None => {
                records::fail(
                    run,
                    &item_no,
                    &format!("BC has no item {item_no} any more"),
                    true,
                )
                .await?;
                run.counters.add(counters::FAILED, 1);
                return Ok(None);
            }
        },
    };
    let picture = run.clients.bc.item_picture(&item_id).await?;
    run.counters.add(counters::PICTURES_READ, 1);
    let picture = match picture {
        PictureState::Present(p) => p,
        PictureState::Absent { .. } => {
            run.counters.add(counters::NO_PICTURE, 1);
            if has_state {
                records::clear_state(run, &item_no).await?;
            }
            return Ok(None);
        }
    };
    if product.image.picture_hash.as_deref() == Some(picture.content_hash.as_str()) {
        run.counters.add(counters::UNCHANGED, 1);
        if has_state {
            records::clear_state(run, &item_no).await?;
        }
        return Ok(None);
    }
    let Some(product_id) = product.product_id.clone() else {
        return Ok(None);
    };
    let export = ExportImage {
        item_no,
        item_id,
        product_id,
        media_id: product.image.media_id.clone(),
        hash: picture.content_hash,
    };
    Ok(Some(effect(export)?))
}

fn effect(export: ExportImage) -> Result<Effect> {
    let label = format!("image of item {}", export.item_no);
    let payload = serde_json::to_value(ImageEffect::Export(export))
        .map_err(|e| SyncError::Internal(format!("serialising: {e}")))?;
    Ok(Effect::new(
        EffectKind::Probed,
        System::Shopify,
        label,
        payload,
    ))
}

/// The file name of an upload: the item number (letters, digits, `-`, `_` kept), the start of the
/// hash, and an extension Shopify infers the image type from.
pub fn file_name(item_no: &str, hash: &str, content_type: &str) -> String {
    let item: String = item_no
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let digest = hash.strip_prefix("sha256:").unwrap_or(hash);
    let short: String = digest.chars().take(16).collect();
    let ext = match content_type.to_ascii_lowercase().as_str() {
        "image/png" => "png",
        "image/gif" => "gif",
        "image/webp" => "webp",
        "image/bmp" => "bmp",
        "image/tiff" => "tif",
        _ => "jpg",
    };
    format!("{item}-{short}.{ext}")
}

/// Whether `errors` say the image to replace does not exist (deleted in Shopify).
fn media_gone(errors: &[UserError]) -> bool {
    errors.iter().any(|e| {
        e.code.as_deref() == Some("FILE_DOES_NOT_EXIST") || e.message.contains("does not exist")
    })
}

fn messages(errors: &[UserError]) -> String {
    errors
        .iter()
        .map(|e| match &e.code {
            Some(c) => format!("{c}: {}", e.message),
            None => e.message.clone(),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The product's images; `None` when Shopify no longer has the product.
async fn product_images(run: &TaskRun<'_>, product_id: &str) -> Result<Option<Vec<ProductMedia>>> {
    run.clients.shopify.product_media(product_id).await
}

fn found(hash: &str, media: &ProductMedia, how: How) -> ImageOutcome {
    ImageOutcome::Exported {
        hash: hash.to_string(),
        media_id: media.id.clone(),
        image_id: media.image_id.clone(),
        how,
    }
}

/// Whether the mirror already holds content `hash` (another run exported and settled it).
async fn already(run: &TaskRun<'_>, e: &ExportImage) -> Result<Option<ImageOutcome>> {
    let Some(m) = catalogue::load(run.stores.records.as_ref(), run.shop(), &e.item_no).await?
    else {
        return Ok(None);
    };
    let image = m.product.image;
    Ok(match image.media_id {
        Some(media_id) if image.picture_hash.as_deref() == Some(e.hash.as_str()) => {
            Some(ImageOutcome::Exported {
                hash: e.hash.clone(),
                media_id,
                image_id: image.shopify_image_id,
                how: How::Already,
            })
        }
        _ => None,
    })
}

/// After an unknown outcome: the image is there when the mirror has it or the product has an image
/// with its marker.
pub async fn probe(run: &mut TaskRun<'_>, e: &ExportImage) -> Result<Option<ImageOutcome>> {
    if let Some(done) = already(run, e).await? {
        return Ok(Some(done));
    }
    let Some(media) = product_images(run, &e.product_id).await? else {
        return Ok(None);
    };
    Ok(find_marked(&media, &e.hash).map(|m| found(&e.hash, m, How::Found)))
}

/// Export one picture: upload, then replace the linked image or add one.
pub async fn send(run: &mut TaskRun<'_>, e: &ExportImage) -> Result<ImageOutcome> {
    let picture = match run.clients.bc.item_picture(&e.item_id).await? {
        PictureState::Present(p) => p,
        PictureState::Absent { .. } => return Ok(ImageOutcome::NoPicture),
    };
    if picture.content_hash != e.hash {
        return Ok(ImageOutcome::Stale {
            hash: picture.content_hash,
        });
    }
    if let Some(done) = already(run, e).await? {
        return Ok(done);
    }
    let mut media_id = e.media_id.clone();
    // An image whose answer was lost, by this job or an earlier one: look before adding another.
    let state = records::load_state(run, &e.item_no).await?;
    if let Some(pending) = state.as_ref().and_then(|s| s.pending_hash.clone())
        && let Some(images) = product_images(run, &e.product_id).await?
    {
        if let Some(m) = find_marked(&images, &e.hash) {
            return Ok(found(&e.hash, m, How::Found));
        }
        if let Some(m) = find_marked(&images, &pending) {
            // An earlier content of this picture was added and never recorded: reuse that image
            // rather than leaving it beside a new one.
            media_id = Some(m.id.clone());
        }
    }
    records::save_state(
        run,
        &ImageState {
            item_no: e.item_no.clone(),
            product_id: Some(e.product_id.clone()),
            pending_hash: Some(e.hash.clone()),
            last_error: None,
        },
    )
    .await?;

    let shopify = run.clients.shopify.clone();
    let staged = shopify
        .staged_uploads_create(&[StagedUploadRequest {
            resource: UploadResource::Image,
            filename: file_name(&e.item_no, &e.hash, &picture.content_type),
            mime_type: picture.content_type.clone(),
            method: UploadMethod::Put,
            file_size: Some(picture.content.len() as u64),
        }])
        .await?;
    run.counters.add(counters::STAGED_UPLOADS, 1);
    if !staged.user_errors.is_empty() {
        return Ok(ImageOutcome::Refused {
            reason: format!(
                "Shopify refused the upload: {}",
                messages(&staged.user_errors)
            ),
        });
    }
    let target = staged
        .targets
        .into_iter()
        .next()
        .ok_or_else(|| SyncError::Internal("stagedUploadsCreate answered no target".into()))?;
    let source = target
        .resource_url
        .clone()
        .ok_or_else(|| SyncError::Internal("the staged upload target has no resourceUrl".into()))?;
    shopify
        .upload(&target, picture.content, &picture.content_type)
        .await?;
    run.counters.add(counters::UPLOADS, 1);
    let alt = marker_alt(&e.item_no, &e.hash);

    if let Some(media_id) = media_id {
        let out = shopify
            .media_replace(&[MediaReplace {
                media_id: media_id.clone(),
                original_source: source.clone(),
                alt: Some(alt.clone()),
            }])
            .await?;
        run.counters.add(counters::MEDIA_MUTATIONS, 1);
        if out.user_errors.is_empty() {
            let image_id = out
                .media
                .iter()
                .find(|m| m.id == media_id)
                .and_then(|m| m.image_id.clone());
            return Ok(ImageOutcome::Exported {
                hash: e.hash.clone(),
                media_id,
                image_id,
                how: How::Replaced,
            });
        }
        if !media_gone(&out.user_errors) {
            return Ok(ImageOutcome::Refused {
                reason: format!(
                    "Shopify refused the image update: {}",
                    messages(&out.user_errors)
                ),
            });
        }
        // The linked image was deleted in Shopify: add a new one.
    }

    let out = shopify
        .product_media_attach(
            &e.product_id,
            &[MediaAttach {
                original_source: source,
                alt: Some(alt),
            }],
        )
        .await?;
    run.counters.add(counters::MEDIA_MUTATIONS, 1);
    if !out.user_errors.is_empty() {
        return Ok(ImageOutcome::Refused {
            reason: format!("Shopify refused the image: {}", messages(&out.user_errors)),
        });
    }
    if let Some(m) = find_marked(&out.media, &e.hash) {
        return Ok(found(&e.hash, m, How::Attached));
    }
    // The answer lists only the product's first images: look at more of them.
    if let Some(images) = product_images(run, &e.product_id).await?
        && let Some(m) = find_marked(&images, &e.hash)
    {
        return Ok(found(&e.hash, m, How::Attached));
    }
    Ok(ImageOutcome::Unconfirmed {
        hash: e.hash.clone(),
        reason: "Shopify accepted the image but does not list it on the product yet".into(),
    })
}

/// Record what an export came to.
pub async fn settle(
    run: &mut TaskRun<'_>,
    e: &ExportImage,
    outcome: ImageOutcome,
) -> Result<Settled> {
    let shop = run.shop().to_string();
    match outcome {
        ImageOutcome::Exported {
            hash,
            media_id,
            image_id,
            how,
        } => {
            let image = mirrored(&hash, Some(media_id), image_id);
            catalogue::update(run.stores.records.as_ref(), &shop, &e.item_no, |p| {
                if p.product_id.is_none() || p.image == image {
                    return false;
                }
                p.image = image.clone();
                true
            })
            .await?;
            records::clear_state(run, &e.item_no).await?;
            run.counters.add(
                match how {
                    How::Attached => counters::ATTACHED,
                    How::Replaced => counters::REPLACED,
                    How::Found => counters::FOUND_BY_MARKER,
                    How::Already => counters::ALREADY_EXPORTED,
                },
                1,
            );
            Ok(Settled::default())
        }
        ImageOutcome::Stale { hash } => {
            run.counters.add(counters::STALE, 1);
            let newer = ExportImage { hash, ..e.clone() };
            Ok(Settled {
                follow_ups: vec![effect(newer)?],
            })
        }
        ImageOutcome::NoPicture => {
            run.counters.add(counters::NO_PICTURE, 1);
            records::clear_state(run, &e.item_no).await?;
            Ok(Settled::default())
        }
        ImageOutcome::Unconfirmed { hash, reason } => {
            run.counters.add(counters::FAILED, 1);
            records::fail(run, &e.item_no, &reason, true).await?;
            // Keep it pending: the next run looks for the image before adding it again.
            records::save_state(
                run,
                &ImageState {
                    item_no: e.item_no.clone(),
                    product_id: Some(e.product_id.clone()),
                    pending_hash: Some(hash),
                    last_error: Some(reason),
                },
            )
            .await?;
            Ok(Settled::default())
        }
        ImageOutcome::Refused { reason } => {
            run.counters.add(counters::FAILED, 1);
            records::fail(run, &e.item_no, &reason, true).await?;
            Ok(Settled::default())
        }
        other @ (ImageOutcome::Imported { .. } | ImageOutcome::KeptBc { .. }) => {
            Err(SyncError::Internal(format!(
                "an image export of item {} came to an import's outcome: {other:?}",
                e.item_no
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_safe_and_typed() {
        assert_eq!(
            file_name("A/1 x", "sha256:0123456789abcdef0123", "image/png"),
            "A_1_x-0123456789abcdef.png"
        );
        assert_eq!(file_name("1000", "sha256:ab", "image/jpeg"), "1000-ab.jpg");
    }
}
