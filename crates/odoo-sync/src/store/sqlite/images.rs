//! Image references and blob metadata on SQLite (shapes in store/images.rs).

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::outbox::queue_site_change;
use super::{renew_change_seqs, SqliteStore, SqliteTime};
use crate::domain::site_event::CatalogChange;
use crate::domain::{ImageMeta, ImageStats, ProductImage};
use crate::store::images::{
    all_revived, changed_products, checksums_of, delete_files, parse_rows, rows_json, ImageUpdate,
    BLOB_PAIRS, IMAGE_ROW_PAIRS,
};
use crate::store::{ImageCatalog, ImageStore, StoreError};

#[async_trait]
impl ImageCatalog for SqliteStore {
    async fn known_images(
        &self,
        checksums: &[String],
    ) -> Result<HashMap<String, ImageMeta>, StoreError> {
        let texts: Vec<String> = sqlx::query_scalar(&format!(
            "select json_object({BLOB_PAIRS}) from image_blob \
             where checksum in (select value from json_each(?))"
        ))
        .bind(rows_json(checksums))
        .fetch_all(&self.pool)
        .await?;
        let metas: Vec<ImageMeta> = parse_rows("image_blob", texts)?;
        Ok(metas.into_iter().map(|m| (m.checksum.clone(), m)).collect())
    }

    async fn replace_product_images(&self, update: ImageUpdate<'_>) -> Result<u64, StoreError> {
        let now = Utc::now().to_rfc3339();
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "insert into image_blob (checksum, content_hash, mime, width, height, size, created_at) \
             select j.value ->> '$.checksum', j.value ->> '$.content_hash', j.value ->> '$.mime', \
             j.value ->> '$.width', j.value ->> '$.height', j.value ->> '$.size', ? \
             from json_each(?) j where true on conflict (checksum) do update set unused_since = null",
        )
        .bind(&now)
        .bind(rows_json(update.new_blobs))
        .execute(&mut *tx)
        .await?;
        // Every blob pointed to is in use again, and still stored (see collect_unused_images).
        let pointed = checksums_of(update.images);
        let revived = sqlx::query(
            "update image_blob set unused_since = null \
             where checksum in (select value from json_each(?))",
        )
        .bind(rows_json(&pointed))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        all_revived(revived, pointed.len())?;
        let ids = rows_json(update.product_ids);
        let texts: Vec<String> = sqlx::query_scalar(&format!(
            "select json_object({IMAGE_ROW_PAIRS}) from product_image \
             where product_id in (select value from json_each(?))"
        ))
        .bind(&ids)
        .fetch_all(&mut *tx)
        .await?;
        let old: Vec<ProductImage> = parse_rows("product_image", texts)?;
        let changed = changed_products(update.product_ids, &old, update.images);
        let changed_ids: Vec<i64> = changed.iter().copied().collect();
        let rows: Vec<&ProductImage> = update
            .images
            .iter()
            .filter(|i| changed.contains(&i.product_id))
            .collect();
        // Only blobs the replaced rows pointed to can have lost their last user: marking
        // looks at those, not at every blob (a scan of all blobs per page made a first full
        // sync quadratic).
        let dropped: Vec<&str> = old
            .iter()
            .filter(|i| changed.contains(&i.product_id))
            .map(|i| i.meta.checksum.as_str())
            .collect();
        if !changed.is_empty() {
            sqlx::query(
                "delete from product_image where product_id in (select value from json_each(?))",
            )
            .bind(rows_json(&changed_ids))
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "insert into product_image (product_id, variant_id, position, checksum, content_hash, \
                 mime, width, height, size, alt) \
                 select j.value ->> '$.product_id', j.value ->> '$.variant_id', j.value ->> '$.position', \
                 j.value ->> '$.checksum', j.value ->> '$.content_hash', j.value ->> '$.mime', \
                 j.value ->> '$.width', j.value ->> '$.height', j.value ->> '$.size', j.value ->> '$.alt' \
                 from json_each(?) j",
            )
            .bind(rows_json(&rows))
            .execute(&mut *tx)
            .await?;
            // Blobs no row points to any more: collected by the sweep after a grace period.
            sqlx::query(
                "update image_blob set unused_since = ? where unused_since is null \
                 and checksum in (select value from json_each(?)) \
                 and not exists (select 1 from product_image p where p.checksum = image_blob.checksum)",
            )
            .bind(&now)
            .bind(rows_json(&dropped))
            .execute(&mut *tx)
            .await?;
        }
        if let Some(run) = update.run {
            sqlx::query(
                "update sync_run set images_fetched = images_fetched + ?, \
                 images_unchanged = images_unchanged + ? where sync_run_id = ?",
            )
            .bind(update.fetched as i64)
            .bind(update.unchanged as i64)
            .bind(run.0)
            .execute(&mut *tx)
            .await?;
        }
        // The change feed (/api/changes) shows an image-only change as the site webhook does.
        renew_change_seqs(&mut tx, &changed, SqliteTime(Utc::now())).await?;
        let change = CatalogChange {
            upserted: changed.clone(),
            ..CatalogChange::default()
        };
        let queued = queue_site_change(&mut tx, &self.site, change).await?;
        tx.commit().await?;
        self.site.rung(queued);
        Ok(changed.len() as u64)
    }

    async fn product_images(&self, product_ids: &[i64]) -> Result<Vec<ProductImage>, StoreError> {
        let texts: Vec<String> = sqlx::query_scalar(&format!(
            "select json_object({IMAGE_ROW_PAIRS}) from product_image \
             where product_id in (select value from json_each(?)) \
             order by product_id, variant_id is not null, variant_id, position"
        ))
        .bind(rows_json(product_ids))
        .fetch_all(&self.pool)
        .await?;
        parse_rows("product_image", texts)
    }

    async fn image(&self, content_hash: &str) -> Result<Option<ImageMeta>, StoreError> {
        let text: Option<String> = sqlx::query_scalar(&format!(
            "select json_object({BLOB_PAIRS}) from image_blob where content_hash = ? limit 1"
        ))
        .bind(content_hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(parse_rows("image_blob", text.into_iter().collect())?.pop())
    }

    async fn image_stats(&self) -> Result<ImageStats, StoreError> {
        let (count, bytes): (i64, Option<i64>) = sqlx::query_as(
            "select count(*), sum(size) from (select content_hash, max(size) as size from image_blob \
             group by content_hash)",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(ImageStats {
            count: count as u64,
            bytes: bytes.unwrap_or(0) as u64,
        })
    }

    async fn collect_unused_images(
        &self,
        unused_before: DateTime<Utc>,
        limit: u32,
        blobs: &dyn ImageStore,
    ) -> Result<Vec<ImageMeta>, StoreError> {
        let mut tx = self.begin_write().await?;
        let texts: Vec<String> = sqlx::query_scalar(&format!(
            "delete from image_blob where checksum in (select checksum from image_blob \
               where unused_since < ? \
               and not exists (select 1 from product_image p where p.checksum = image_blob.checksum) \
               order by unused_since limit ?) \
             returning json_object({BLOB_PAIRS})"
        ))
        .bind(unused_before.to_rfc3339())
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await?;
        let collected: Vec<ImageMeta> = parse_rows("image_blob", texts)?;
        delete_files(blobs, &collected).await?;
        tx.commit().await?;
        Ok(collected)
    }
}
