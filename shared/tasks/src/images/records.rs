//! What sync-images keeps besides the catalogue mirror: one **image state** per BC item whose last
//! image attempt is not finished (kind [`IMAGE_STATES`], id = the item number), its two cursors, and
//! the marker that identifies an image this task put on a product.
//!
//! The mirror's `image` ([`MirroredImage`]) says what is *known* to be in Shopify and BC; an image
//! state says what is *in doubt or failed*, and is deleted once the item's image is settled. It is a
//! record kind of its own, not the mirror's `status`/`last_error`, so sync-images never fights
//! sync-products over the product's status:
//!
//! - status [`status::PENDING`]: an export is about to add (or has added) an image whose answer may
//!   be lost; `pending_hash` is the content hash its marker carries. Whoever handles the item next
//!   (a retry of the same job, or any later job) looks for that marker on the product before adding
//!   an image again;
//! - status [`status::ERROR`]: the last attempt failed for a reason a retry may not fix alone
//!   (`last_error`); every run takes these items again.

use crate::catalogue::MirroredImage;
use crate::engine::TaskRun;
use serde::{Deserialize, Serialize};
use shopsync_domain::SyncError;
use shopsync_domain::catalog::ProductMedia;
use shopsync_domain::ports::{Record, Result, SkippedRecord};
use shopsync_domain::text::{bounded, preview};

/// Items whose last image attempt is unfinished or failed.
pub const IMAGE_STATES: &str = "catalogue-image-states";

/// Statuses of [`IMAGE_STATES`] records.
pub mod status {
    /// An export may have added an image whose answer was lost: look for its marker first.
    pub const PENDING: &str = "pending";
    /// The last attempt failed; retried every run.
    pub const ERROR: &str = "error";
}

/// The export cursor's id (in the shared `sync-cursors` kind).
pub const EXPORT_CURSOR: &str = "images-export";
/// The import cursor's id.
pub const IMPORT_CURSOR: &str = "images-import";

/// The body of an [`IMAGE_STATES`] record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageState {
    pub item_no: String,
    /// The product the pending image was added to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_id: Option<String>,
    /// The content hash of an image that may have been added without us learning so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_hash: Option<String>,
    /// Why the last attempt failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

impl ImageState {
    fn status(&self) -> Option<&'static str> {
        if self.pending_hash.is_some() {
            Some(status::PENDING)
        } else if self.last_error.is_some() {
            Some(status::ERROR)
        } else {
            None
        }
    }
}

/// The image state of `item_no`, if any.
pub async fn load_state(run: &TaskRun<'_>, item_no: &str) -> Result<Option<ImageState>> {
    run.stores
        .records
        .get_record(run.shop(), IMAGE_STATES, item_no)
        .await?
        .map(|r| {
            serde_json::from_str(&r.body).map_err(|e| {
                SyncError::Internal(format!(
                    "image state '{}' is unreadable: {e}",
                    preview(&r.id)
                ))
            })
        })
        .transpose()
}

/// Write `state` (an upsert: one run per shop and category at a time holds the lease), or delete
/// the record when nothing is pending or failed.
pub async fn save_state(run: &TaskRun<'_>, state: &ImageState) -> Result<()> {
    let shop = run.shop();
    match state.status() {
        None => {
            run.stores
                .records
                .delete_records(shop, IMAGE_STATES, std::slice::from_ref(&state.item_no))
                .await
        }
        Some(s) => {
            let body = serde_json::to_string(state)
                .map_err(|e| SyncError::Internal(format!("image state: {e}")))?;
            run.stores
                .records
                .put_records(
                    shop,
                    IMAGE_STATES,
                    &[Record::new(state.item_no.clone(), Some(s), body)],
                )
                .await
        }
    }
}

/// The item's image is settled: nothing pending, nothing failed.
pub async fn clear_state(run: &TaskRun<'_>, item_no: &str) -> Result<()> {
    save_state(
        run,
        &ImageState {
            item_no: item_no.to_string(),
            ..Default::default()
        },
    )
    .await
}

/// The item's last attempt failed with `reason`: kept for the next run, and a skipped record (the
/// job ends with warnings) when `skipped` is set.
pub async fn fail(run: &mut TaskRun<'_>, item_no: &str, reason: &str, skipped: bool) -> Result<()> {
    let reason = bounded(reason, 250);
    save_state(
        run,
        &ImageState {
            item_no: item_no.to_string(),
            last_error: Some(reason.clone()),
            ..Default::default()
        },
    )
    .await?;
    if skipped {
        skip(run, item_no, &reason).await?;
    }
    Ok(())
}

/// A skipped record for `item_no` (the job ends with warnings); nothing kept for a retry.
pub async fn skip(run: &mut TaskRun<'_>, item_no: &str, reason: &str) -> Result<()> {
    let record = SkippedRecord {
        job_id: run.job.job_id.clone(),
        task: shopsync_domain::TaskKind::SyncImages,
        record_id: item_no.to_string(),
        reason: bounded(reason, 250),
        at: shopsync_domain::time::now_secs(),
    };
    run.stores
        .skipped
        .record_skipped(run.shop(), &[record])
        .await?;
    run.counters
        .add(crate::engine::counters::SKIPPED_RECORDS, 1);
    Ok(())
}

/// Item numbers of every image state with `status`, in id order.
pub async fn items_with_status(run: &TaskRun<'_>, status: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = run
            .stores
            .records
            .list_by_status(run.shop(), IMAGE_STATES, status, after.as_deref(), 1000)
            .await?;
        out.extend(page.records.into_iter().map(|r| r.id));
        match page.next_after {
            Some(next) if after.as_deref() != Some(next.as_str()) => after = Some(next),
            _ => return Ok(out),
        }
    }
}

/// The alt text of an image exported for `item_no` with content hash `hash`: readable for people
/// (and screen readers), and the **marker** by which [`find_marked`] recognises the image after a
/// lost answer. The full hash is in it, so two contents never share a marker.
pub fn marker_alt(item_no: &str, hash: &str) -> String {
    format!("{item_no} (BC picture {hash})")
}

/// The image among `media` that carries the marker of content `hash`, if any (the last such, as
/// Shopify appends new media).
pub fn find_marked<'m>(media: &'m [ProductMedia], hash: &str) -> Option<&'m ProductMedia> {
    let needle = format!("(BC picture {hash})");
    media
        .iter()
        .rev()
        .find(|m| m.alt.as_deref().is_some_and(|a| a.ends_with(&needle)))
}

/// The mirror's image after an export or import of content `hash` held by media `media_id`.
pub fn mirrored(hash: &str, media_id: Option<String>, image_id: Option<String>) -> MirroredImage {
    MirroredImage {
        picture_hash: Some(hash.to_string()),
        media_id,
        shopify_image_id: image_id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn media(id: &str, alt: Option<&str>) -> ProductMedia {
        ProductMedia {
            id: id.into(),
            alt: alt.map(String::from),
            status: "READY".into(),
            url: None,
            image_id: None,
        }
    }

    #[test]
    fn markers_name_the_content() {
        let alt = marker_alt("1000", "sha256:ab");
        assert_eq!(alt, "1000 (BC picture sha256:ab)");
        let list = [
            media("m1", Some("a merchant's photo")),
            media("m2", Some(&alt)),
            media("m3", Some(&marker_alt("1000", "sha256:abc"))),
            media("m4", None),
        ];
        assert_eq!(find_marked(&list, "sha256:ab").unwrap().id, "m2");
        assert_eq!(find_marked(&list, "sha256:abc").unwrap().id, "m3");
        assert!(find_marked(&list, "sha256:a").is_none());
    }

    #[test]
    fn states_have_the_status_of_what_is_open() {
        let mut s = ImageState {
            item_no: "1".into(),
            ..Default::default()
        };
        assert_eq!(s.status(), None);
        s.last_error = Some("x".into());
        assert_eq!(s.status(), Some(status::ERROR));
        s.pending_hash = Some("h".into());
        assert_eq!(s.status(), Some(status::PENDING));
    }
}
