//! The image pass: after a page of products is written, reads their images' checksums from
//! `ir.attachment` (cheap: `res_field` named in the domain, no bytes), downloads only the bytes of
//! checksums not stored yet (a `read` of the one field for those ids), and makes the stored image
//! rows of those products what Odoo has (a removed image goes). A corrupt image is logged with
//! its product and skipped. Never reads `image_*` for records whose checksum is known.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use base64::Engine as _;
use futures::{StreamExt, TryStreamExt};
use odoo_rpc::{Domain, OdooApi, SearchOptions};
use sha2::{Digest, Sha256};

use super::fetch::{archived_too, PRODUCT_IMAGE, TEMPLATE, VARIANT};
use super::{SyncEngine, SyncError};
use crate::domain::{ImageMeta, Product, ProductImage, RunCounts, RunId};
use crate::store::{ImageUpdate, StoreError};

const ATTACHMENT: &str = "ir.attachment";

/// One image Odoo shows, before its bytes are known.
struct Wanted {
    product_id: i64,
    variant_id: Option<i64>,
    position: i64,
    alt: Option<String>,
    checksum: String,
    /// The bytes' size, as Odoo gives it (downloads are grouped by it).
    size: i64,
    /// Where the bytes are read from: model, record id, field.
    source: (&'static str, i64, &'static str),
}

/// An image's attachment: the checksum Odoo gives its bytes, and their size.
type Attachment = (String, i64);

/// `res_id -> attachment` of the `res_field` attachments of `ids`.
async fn checksums(
    odoo: &dyn OdooApi,
    res_model: &str,
    res_field: &str,
    ids: &[i64],
) -> Result<HashMap<i64, Attachment>, SyncError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let domain = Domain::leaf("res_model", "=", res_model)
        .and(Domain::leaf("res_field", "=", res_field))
        .and(Domain::leaf("res_id", "in", ids.to_vec()));
    let opts = SearchOptions {
        context: archived_too(),
        ..SearchOptions::default()
    };
    let records = odoo
        .search_read(
            ATTACHMENT,
            &domain,
            &["res_id", "checksum", "file_size"],
            &opts,
        )
        .await?;
    Ok(records
        .iter()
        .filter_map(|r| {
            let size = r.get_i64("file_size").ok().unwrap_or(0);
            Some((
                r.get_i64("res_id").ok()?,
                (r.get_str("checksum").ok()??, size),
            ))
        })
        .collect())
}

/// What the image crate makes of the bytes: (mime, width, height), `None` when not an image.
fn probe(bytes: &[u8]) -> Option<(&'static str, u32, u32)> {
    let reader = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .ok()?;
    let format = reader.format()?;
    let mime = match format {
        image::ImageFormat::Png => "image/png",
        image::ImageFormat::Jpeg => "image/jpeg",
        image::ImageFormat::WebP => "image/webp",
        image::ImageFormat::Gif => "image/gif",
        _ => return None,
    };
    // Decoding the whole image proves it is not truncated or corrupt.
    let decoded = image::load_from_memory_with_format(bytes, format).ok()?;
    Some((mime, decoded.width(), decoded.height()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// One image to download: the record id, the checksum Odoo gave, its product and its size.
type Download = (i64, String, i64, i64);

/// At most this many bytes of images (before base64) are read in one call: a read of a page's
/// 2,500 new 1920-pixel images in one answer would be hundreds of megabytes in an Odoo worker
/// (whose `limit_memory_hard` kills it) and in ours.
const DOWNLOAD_BYTES: i64 = 16 << 20;
/// And at most this many records, whatever their size.
const DOWNLOAD_RECORDS: usize = 1000;

/// One group's image bytes, as Odoo answers them (checked later, off the async threads).
async fn download(
    odoo: &dyn OdooApi,
    model: &'static str,
    field: &'static str,
    records: Vec<Download>,
) -> Result<Vec<Downloaded>, SyncError> {
    let ids: Vec<i64> = records.iter().map(|r| r.0).collect();
    let read = odoo
        .read(model, &ids, &["id", field], &archived_too())
        .await?;
    let mut by_id: HashMap<i64, Option<String>> = read
        .iter()
        .filter_map(|r| Some((r.id().ok()?, r.get_str(field).ok().flatten())))
        .collect();
    Ok(records
        .into_iter()
        .map(|(id, checksum, product_id, _)| Downloaded {
            model,
            id,
            checksum,
            product_id,
            base64: by_id.remove(&id).flatten(),
        })
        .collect())
}

/// `downloads` in groups of at most `DOWNLOAD_BYTES` and `DOWNLOAD_RECORDS` (an image larger
/// than the byte bound alone in its group), in their order.
fn download_groups(downloads: Vec<Download>) -> Vec<Vec<Download>> {
    let mut groups: Vec<Vec<Download>> = Vec::new();
    let mut bytes = 0;
    for download in downloads {
        let size = download.3.max(0);
        let full = groups.last().is_none_or(|group| {
            group.len() >= DOWNLOAD_RECORDS || (bytes + size > DOWNLOAD_BYTES && !group.is_empty())
        });
        if full {
            groups.push(Vec::new());
            bytes = 0;
        }
        bytes += size;
        groups
            .last_mut()
            .expect("a group was just pushed")
            .push(download);
    }
    groups
}

/// Blob writes in flight at once.
const PUTS_IN_FLIGHT: usize = 16;

/// An image's field as Odoo answered it, before it is checked.
struct Downloaded {
    model: &'static str,
    id: i64,
    checksum: String,
    product_id: i64,
    base64: Option<String>,
}

impl Downloaded {
    /// The blob and its bytes, or `None` (logged by product) when it is missing or no image.
    fn check(self) -> Option<(ImageMeta, Vec<u8>)> {
        let (model, record, product) = (self.model, self.id, self.product_id);
        let bytes = self.base64.and_then(|b64| {
            base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .ok()
        });
        let Some(bytes) = bytes else {
            tracing::warn!(
                product,
                model,
                record,
                "image could not be read from Odoo; skipped"
            );
            return None;
        };
        let Some((mime, width, height)) = probe(&bytes) else {
            tracing::warn!(
                product,
                model,
                record,
                "image in Odoo is not a decodable image; skipped"
            );
            return None;
        };
        let meta = ImageMeta {
            checksum: self.checksum,
            content_hash: hex(&Sha256::digest(&bytes)),
            mime: mime.to_string(),
            width,
            height,
            size: bytes.len() as u64,
        };
        Some((meta, bytes))
    }
}

/// What a page's products show, read from Odoo without any image bytes (a few cheap calls):
/// the template and variant images' checksums, and with website_sale their extra media.
pub(crate) struct ImageRefs {
    tmpl_ids: Vec<i64>,
    wanted: Vec<Wanted>,
}

/// The image references of `products` (see `ImageRefs`); read ahead of the writer in a full pass.
pub(crate) async fn read_image_refs(
    odoo: &dyn OdooApi,
    website: bool,
    products: &[Product],
) -> Result<ImageRefs, SyncError> {
    let tmpl_ids: Vec<i64> = products.iter().map(|p| p.id).collect();
    let variant_ids: Vec<i64> = products
        .iter()
        .flat_map(|p| p.variants.iter().map(|v| v.id))
        .collect();
    let owner_of: HashMap<i64, i64> = products
        .iter()
        .flat_map(|p| p.variants.iter().map(move |v| (v.id, p.id)))
        .collect();
    let names: HashMap<i64, &str> = products.iter().map(|p| (p.id, p.name.as_str())).collect();
    let (tmpl_sums, variant_sums) = futures::try_join!(
        checksums(odoo, TEMPLATE, "image_1920", &tmpl_ids),
        checksums(odoo, VARIANT, "image_variant_1920", &variant_ids),
    )?;
    let extras =
        match website {
            true => {
                let domain = Domain::leaf("product_tmpl_id", "in", tmpl_ids.clone()).or(
                    Domain::leaf("product_variant_id", "in", variant_ids.clone()),
                );
                let opts = SearchOptions {
                    order: Some("sequence, id".into()),
                    context: archived_too(),
                    bare_many2one: true,
                    ..SearchOptions::default()
                };
                odoo.search_read(
                    PRODUCT_IMAGE,
                    &domain,
                    &[
                        "id",
                        "product_tmpl_id",
                        "product_variant_id",
                        "name",
                        "sequence",
                    ],
                    &opts,
                )
                .await?
            }
            false => Vec::new(),
        };
    let extra_ids: Vec<i64> = extras.iter().filter_map(|r| r.id().ok()).collect();
    let extra_sums = checksums(odoo, PRODUCT_IMAGE, "image_1920", &extra_ids).await?;

    let mut wanted = Vec::new();
    let mut next_position: HashMap<(i64, Option<i64>), i64> = HashMap::new();
    let mut push = |product_id: i64,
                    variant_id: Option<i64>,
                    alt: Option<String>,
                    (checksum, size): &Attachment,
                    source: (&'static str, i64, &'static str)| {
        let position = next_position.entry((product_id, variant_id)).or_insert(0);
        wanted.push(Wanted {
            product_id,
            variant_id,
            position: *position,
            alt,
            checksum: checksum.clone(),
            size: *size,
            source,
        });
        *position += 1;
    };
    let alt = |product: i64| names.get(&product).map(|n| n.to_string());
    for id in &tmpl_ids {
        if let Some(sum) = tmpl_sums.get(id) {
            push(*id, None, alt(*id), sum, (TEMPLATE, *id, "image_1920"));
        }
    }
    for vid in &variant_ids {
        if let (Some(sum), Some(pid)) = (variant_sums.get(vid), owner_of.get(vid)) {
            push(
                *pid,
                Some(*vid),
                alt(*pid),
                sum,
                (VARIANT, *vid, "image_variant_1920"),
            );
        }
    }
    for record in &extras {
        let Ok(id) = record.id() else { continue };
        let Some(sum) = extra_sums.get(&id) else {
            continue;
        };
        let name = record.get_str("name").ok().flatten();
        let variant = record.get_many2one_id("product_variant_id").ok().flatten();
        let tmpl = record.get_many2one_id("product_tmpl_id").ok().flatten();
        match (
            tmpl,
            variant.and_then(|v| owner_of.get(&v).map(|p| (v, *p))),
        ) {
            (_, Some((vid, pid))) => {
                push(pid, Some(vid), name, sum, (PRODUCT_IMAGE, id, "image_1920"))
            }
            (Some(pid), None) if names.contains_key(&pid) => {
                push(pid, None, name, sum, (PRODUCT_IMAGE, id, "image_1920"))
            }
            _ => {}
        }
    }

    Ok(ImageRefs { tmpl_ids, wanted })
}

/// Blobs deleted per statement of the collector.
const COLLECT_BATCH: u32 = 500;

impl SyncEngine {
    /// The image pass over `products` (just written); its counts are added to `run` if any.
    pub(crate) async fn sync_images(
        &self,
        products: &[Product],
        run: Option<RunId>,
    ) -> Result<RunCounts, SyncError> {
        if self.images.is_none() || products.is_empty() {
            return Ok(RunCounts::default());
        }
        let website = self.field_plan().await?.website;
        let refs = read_image_refs(self.odoo.as_ref(), website, products).await?;
        self.sync_read_images(refs, products, run).await
    }

    /// Deletes the image blobs no product has shown for `retention` (their bytes and resized
    /// copies too), in batches; returns how many.
    pub async fn collect_unused_images(&self, retention: Duration) -> Result<u64, SyncError> {
        let Some(blobs) = self.images.clone() else {
            return Ok(0);
        };
        let retention = chrono::Duration::from_std(retention).unwrap_or(chrono::Duration::MAX);
        let unused_before = chrono::Utc::now()
            .checked_sub_signed(retention)
            .unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC);
        let mut collected = 0;
        loop {
            let batch = self
                .store
                .collect_unused_images(unused_before, COLLECT_BATCH, blobs.as_ref())
                .await?;
            collected += batch.len() as u64;
            if batch.len() < COLLECT_BATCH as usize {
                return Ok(collected);
            }
        }
    }

    async fn image_pass(
        &self,
        products: &[Product],
        run: Option<RunId>,
    ) -> Result<RunCounts, SyncError> {
        if self.images.is_none() || products.is_empty() {
            return Ok(RunCounts::default());
        }
        let website = self.field_plan().await?.website;
        let refs = read_image_refs(self.odoo.as_ref(), website, products).await?;
        self.store_images(refs, run).await
    }

    /// The image pass of a page whose image references were read ahead (`read_image_refs`):
    /// once more from the start if blobs it found stored were collected meanwhile (they are
    /// then fetched again).
    pub(crate) async fn sync_read_images(
        &self,
        refs: ImageRefs,
        products: &[Product],
        run: Option<RunId>,
    ) -> Result<RunCounts, SyncError> {
        match self.store_images(refs, run).await {
            Err(SyncError::Store(StoreError::ImagesCollected { missing })) => {
                tracing::info!(
                    missing,
                    "image blobs collected during an image pass; reading it again"
                );
                self.image_pass(products, run).await
            }
            other => other,
        }
    }

    /// Downloads the images not stored yet, stores them, and makes the page's image rows `refs`.
    async fn store_images(
        &self,
        refs: ImageRefs,
        run: Option<RunId>,
    ) -> Result<RunCounts, SyncError> {
        let Some(blobs) = self.images.clone() else {
            return Ok(RunCounts::default());
        };
        let ImageRefs { tmpl_ids, wanted } = refs;
        let all: Vec<String> = wanted
            .iter()
            .map(|w| w.checksum.clone())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let mut known = self.store.known_images(&all).await?;
        let unchanged = wanted
            .iter()
            .filter(|w| known.contains_key(&w.checksum))
            .count() as u64;
        // One download per new checksum, grouped by model and field.
        let mut to_read: HashMap<(&'static str, &'static str), Vec<Download>> = HashMap::new();
        let mut asked = HashSet::new();
        for w in &wanted {
            if !known.contains_key(&w.checksum) && asked.insert(w.checksum.clone()) {
                let (model, id, field) = w.source;
                to_read.entry((model, field)).or_default().push((
                    id,
                    w.checksum.clone(),
                    w.product_id,
                    w.size,
                ));
            }
        }
        // The downloads of each model and field at once, then decoding and hashing every image
        // off the async threads, then writing the blobs several at a time: a first full sync
        // stores tens of thousands of them.
        let groups: Vec<(&'static str, &'static str, Vec<Download>)> = to_read
            .into_iter()
            .flat_map(|((model, field), records)| {
                download_groups(records)
                    .into_iter()
                    .map(move |group| (model, field, group))
            })
            .collect();
        type Read = futures::future::BoxFuture<'static, Result<Vec<Downloaded>, SyncError>>;
        let mut reads: Vec<Read> = Vec::with_capacity(groups.len());
        for (model, field, records) in groups {
            let odoo = self.odoo.clone();
            reads.push(Box::pin(async move {
                download(odoo.as_ref(), model, field, records).await
            }));
        }
        let downloaded: Vec<Downloaded> = futures::stream::iter(reads)
            .buffer_unordered(self.settings.concurrency.max(1))
            .try_concat()
            .await?;
        let checked = tokio::task::spawn_blocking(move || {
            downloaded
                .into_iter()
                .filter_map(Downloaded::check)
                .collect::<Vec<_>>()
        })
        .await
        .unwrap_or_else(|failed| std::panic::resume_unwind(failed.into_panic()));
        let mut new_blobs = Vec::with_capacity(checked.len());
        let mut puts = Vec::with_capacity(checked.len());
        for (meta, bytes) in checked {
            puts.push(Ok((meta.content_hash.clone(), bytes)));
            known.insert(meta.checksum.clone(), meta.clone());
            new_blobs.push(meta);
        }
        futures::stream::iter(puts)
            .try_for_each_concurrent(PUTS_IN_FLIGHT, |(name, bytes)| {
                let blobs = blobs.clone();
                async move { blobs.put(&name, bytes).await }
            })
            .await?;
        let fetched = new_blobs.len() as u64;
        let images: Vec<ProductImage> = wanted
            .into_iter()
            .filter_map(|w| {
                Some(ProductImage {
                    product_id: w.product_id,
                    variant_id: w.variant_id,
                    position: w.position,
                    alt: w.alt,
                    meta: known.get(&w.checksum)?.clone(),
                })
            })
            .collect();
        self.store
            .replace_product_images(ImageUpdate {
                product_ids: &tmpl_ids,
                images: &images,
                new_blobs: &new_blobs,
                run,
                fetched,
                unchanged,
            })
            .await?;
        Ok(RunCounts {
            images_fetched: fetched,
            images_unchanged: unchanged,
            ..RunCounts::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sized(id: i64, size: i64) -> Download {
        (id, format!("c{id}"), 1, size)
    }

    #[test]
    fn downloads_are_grouped_by_bytes_and_by_count_and_a_huge_image_goes_alone() {
        let mb = 1 << 20;
        let ids = |groups: Vec<Vec<Download>>| -> Vec<Vec<i64>> {
            groups
                .into_iter()
                .map(|g| g.into_iter().map(|d| d.0).collect())
                .collect()
        };
        let mixed = vec![
            sized(1, 6 * mb),
            sized(2, 6 * mb),
            sized(3, 6 * mb),
            sized(4, 40 * mb),
            sized(5, mb),
        ];
        assert_eq!(
            ids(download_groups(mixed)),
            [vec![1, 2], vec![3], vec![4], vec![5]]
        );
        let small: Vec<Download> = (0..2050).map(|i| sized(i, 10)).collect();
        let groups = download_groups(small);
        assert_eq!(
            groups.iter().map(Vec::len).collect::<Vec<_>>(),
            [1000, 1000, 50]
        );
        assert!(download_groups(Vec::new()).is_empty());
    }
}
