//! The image pass: after a page of products is written, reads their images' checksums from
//! `ir.attachment` (cheap: `res_field` named in the domain, no bytes), downloads only the bytes of
//! checksums not stored yet (a `read` of the one field for those ids), and makes the stored image
//! rows of those products what Odoo has (a removed image goes). A corrupt image is logged with
//! its product and skipped. Never reads `image_*` for records whose checksum is known.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use base64::Engine as _;
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
    /// Where the bytes are read from: model, record id, field.
    source: (&'static str, i64, &'static str),
}

/// `res_id -> checksum` of the `res_field` attachments of `ids`.
async fn checksums(
    odoo: &dyn OdooApi,
    res_model: &str,
    res_field: &str,
    ids: &[i64],
) -> Result<HashMap<i64, String>, SyncError> {
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
        .search_read(ATTACHMENT, &domain, &["res_id", "checksum"], &opts)
        .await?;
    Ok(records
        .iter()
        .filter_map(|r| Some((r.get_i64("res_id").ok()?, r.get_str("checksum").ok()??)))
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

/// One image to download: the record id, the checksum Odoo gave, and its size.
type Download = (i64, String, i64);

/// Blobs deleted per statement of the collector.
const COLLECT_BATCH: u32 = 500;

impl SyncEngine {
    /// The image pass over `products` (just written); its counts are added to `run` if any.
    pub(crate) async fn sync_images(
        &self,
        products: &[Product],
        run: Option<RunId>,
    ) -> Result<RunCounts, SyncError> {
        match self.image_pass(products, run).await {
            // Blobs it found stored were collected meanwhile: once more, they are fetched again.
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
        let Some(blobs) = self.images.clone() else {
            return Ok(RunCounts::default());
        };
        if products.is_empty() {
            return Ok(RunCounts::default());
        }
        let odoo = self.odoo.as_ref();
        let website = self.field_plan().await?.website;
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
        let extras = match website {
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
                        checksum: &String,
                        source: (&'static str, i64, &'static str)| {
            let position = next_position.entry((product_id, variant_id)).or_insert(0);
            wanted.push(Wanted {
                product_id,
                variant_id,
                position: *position,
                alt,
                checksum: checksum.clone(),
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
                ));
            }
        }
        let mut new_blobs = Vec::new();
        for ((model, field), records) in to_read {
            let ids: Vec<i64> = records.iter().map(|r| r.0).collect();
            let read = odoo
                .read(model, &ids, &["id", field], &archived_too())
                .await?;
            let by_id: HashMap<i64, Option<String>> = read
                .iter()
                .filter_map(|r| Some((r.id().ok()?, r.get_str(field).ok().flatten())))
                .collect();
            for (id, checksum, product_id) in records {
                let bytes = by_id.get(&id).cloned().flatten().and_then(|b64| {
                    base64::engine::general_purpose::STANDARD
                        .decode(b64.trim())
                        .ok()
                });
                let Some(bytes) = bytes else {
                    tracing::warn!(
                        product = product_id,
                        model,
                        record = id,
                        "image could not be read from Odoo; skipped"
                    );
                    continue;
                };
                let Some((mime, width, height)) = probe(&bytes) else {
                    tracing::warn!(
                        product = product_id,
                        model,
                        record = id,
                        "image in Odoo is not a decodable image; skipped"
                    );
                    continue;
                };
                let content_hash = hex(&Sha256::digest(&bytes));
                let size = bytes.len() as u64;
                blobs.put(&content_hash, bytes).await?;
                let meta = ImageMeta {
                    checksum: checksum.clone(),
                    content_hash,
                    mime: mime.to_string(),
                    width,
                    height,
                    size,
                };
                known.insert(checksum, meta.clone());
                new_blobs.push(meta);
            }
        }
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
