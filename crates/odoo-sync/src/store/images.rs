//! Image references and blob metadata as both stores write and read them: rows travel as one
//! JSON parameter per statement and come back as one JSON object per row, built and parsed here
//! once for both dialects.

use std::collections::{BTreeMap, BTreeSet};

use crate::domain::{ImageMeta, ProductImage, RunId};

/// What an image pass changes, in one transaction.
pub struct ImageUpdate<'a> {
    /// The products whose images were read (each gets exactly `images`' rows for it).
    pub product_ids: &'a [i64],
    pub images: &'a [ProductImage],
    /// Blobs just put in the image store.
    pub new_blobs: &'a [ImageMeta],
    /// The run whose counts the pass adds to, if any.
    pub run: Option<RunId>,
    pub fetched: u64,
    pub unchanged: u64,
}

/// The key/value pairs of a `product_image` row as a JSON object (SQLite's `json_object`,
/// PostgreSQL's `json_build_object`, whose arguments are the same), fields of `ProductImage`.
pub(super) const IMAGE_ROW_PAIRS: &str = "'product_id', product_id, 'variant_id', variant_id, \
     'position', position, 'alt', alt, 'checksum', checksum, 'content_hash', content_hash, \
     'mime', mime, 'width', width, 'height', height, 'size', size";

/// The pairs of an `image_blob` row, fields of `ImageMeta`.
pub(super) const BLOB_PAIRS: &str = "'checksum', checksum, 'content_hash', content_hash, \
     'mime', mime, 'width', width, 'height', height, 'size', size";

/// The distinct checksums `images` point to.
pub(super) fn checksums_of(images: &[ProductImage]) -> Vec<&str> {
    let set: BTreeSet<&str> = images.iter().map(|i| i.meta.checksum.as_str()).collect();
    set.into_iter().collect()
}

/// Refuses an image pass when fewer of its blobs are stored than it points to.
pub(super) fn all_revived(revived: u64, wanted: usize) -> Result<(), super::StoreError> {
    match revived < wanted as u64 {
        true => Err(super::StoreError::ImagesCollected {
            missing: wanted as u64 - revived,
        }),
        false => Ok(()),
    }
}

/// Deletes the files of collected blobs (originals and resized copies).
pub(super) async fn delete_files(
    blobs: &dyn super::ImageStore,
    collected: &[ImageMeta],
) -> Result<(), super::StoreError> {
    for meta in collected {
        for name in meta.file_names() {
            blobs.delete(&name).await?;
        }
    }
    Ok(())
}

pub(super) fn rows_json<T: serde::Serialize>(rows: &[T]) -> String {
    serde_json::to_string(rows).expect("rows serialise")
}

pub(super) fn parse_rows<T: serde::de::DeserializeOwned>(
    what: &str,
    texts: Vec<String>,
) -> Result<Vec<T>, super::StoreError> {
    texts
        .into_iter()
        .map(|t| {
            serde_json::from_str(&t).map_err(|e| super::StoreError::Corrupt {
                what: what.to_string(),
                detail: e.to_string(),
            })
        })
        .collect()
}

/// The products of `ids` whose image rows differ between `old` and `new`.
pub(super) fn changed_products(
    ids: &[i64],
    old: &[ProductImage],
    new: &[ProductImage],
) -> BTreeSet<i64> {
    let group = |rows: &[ProductImage]| {
        let mut by: BTreeMap<i64, Vec<ProductImage>> = BTreeMap::new();
        for row in rows {
            by.entry(row.product_id).or_default().push(row.clone());
        }
        for rows in by.values_mut() {
            rows.sort_by_key(|r| (r.variant_id, r.position));
        }
        by
    };
    let (old, new) = (group(old), group(new));
    ids.iter()
        .copied()
        .filter(|id| old.get(id) != new.get(id))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(product_id: i64, checksum: &str) -> ProductImage {
        ProductImage {
            product_id,
            variant_id: None,
            position: 0,
            alt: None,
            meta: ImageMeta {
                checksum: checksum.into(),
                content_hash: format!("h{checksum}"),
                mime: "image/png".into(),
                width: 1,
                height: 1,
                size: 1,
            },
        }
    }

    #[test]
    fn images_only_changed_products_are_rewritten() {
        let old = [image(1, "a"), image(2, "b")];
        let new = [image(1, "a"), image(2, "c"), image(3, "d")];
        let changed = changed_products(&[1, 2, 3, 4], &old, &new);
        assert_eq!(changed.into_iter().collect::<Vec<_>>(), vec![2, 3]);
    }
}
