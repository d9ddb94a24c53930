//! Writing a page of products on PostgreSQL: one statement per table, each binding one array per
//! column and reading the rows back with `unnest` (a page of 1,000 products is 4 round trips, and
//! no statement comes near the 65,535 bound values limit). An upsert may not touch a row twice,
//! so a page naming a product or variant twice keeps its last version, as SQLite's row-by-row
//! upsert ends up doing.

use std::collections::HashSet;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDateTime, Utc};
use sqlx::PgConnection;

use super::outbox::queue_site_change;
use super::{advance_run, existing_products, next_change_seqs, PgStore};
use crate::domain::site_event::CatalogChange;
use crate::domain::StockLevel;
use crate::domain::{Category, Product, RunCounts};
use crate::store::search::search_vector;
use crate::store::{plan_batch, CatalogBatch, CatalogWriter, Checkpoint, StoreError};

/// A product to write, with its content hash and the change sequence it gets.
pub(super) struct ProductWrite<'a> {
    pub product: &'a Product,
    pub hash: String,
    pub change_seq: i64,
}

/// The last occurrence of each key, in order of last occurrence.
fn last_of_each<T>(rows: Vec<T>, key: impl Fn(&T) -> i64) -> Vec<T> {
    let mut seen = HashSet::new();
    let mut kept: Vec<T> = rows
        .into_iter()
        .rev()
        .filter(|row| seen.insert(key(row)))
        .collect();
    kept.reverse();
    kept
}

pub(super) async fn upsert_categories(
    conn: &mut PgConnection,
    categories: &[Category],
    now: DateTime<Utc>,
) -> Result<Vec<i64>, StoreError> {
    let categories = last_of_each(categories.iter().collect(), |c| c.id);
    if categories.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = categories.iter().map(|c| c.id).collect();
    let names: Vec<&str> = categories.iter().map(|c| c.name.as_str()).collect();
    let complete: Vec<&str> = categories
        .iter()
        .map(|c| c.complete_name.as_str())
        .collect();
    let parents: Vec<Option<i64>> = categories.iter().map(|c| c.parent_id).collect();
    let dates: Vec<NaiveDateTime> = categories.iter().map(|c| c.write_date).collect();
    let hashes: Vec<String> = categories.iter().map(|c| c.content_hash()).collect();
    let rows = sqlx::query(
        "insert into category (category_id, name, complete_name, parent_id, write_date, content_hash, updated_at) \
         select c.*, $7 from unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::timestamp[], $6::text[]) \
           as c(category_id, name, complete_name, parent_id, write_date, content_hash) \
         on conflict (category_id) do update set name = excluded.name, complete_name = excluded.complete_name, \
         parent_id = excluded.parent_id, write_date = excluded.write_date, content_hash = excluded.content_hash, \
         updated_at = excluded.updated_at where category.content_hash <> excluded.content_hash \
         returning category_id",
    )
    .bind(&ids)
    .bind(&names)
    .bind(&complete)
    .bind(&parents)
    .bind(&dates)
    .bind(&hashes)
    .bind(now)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .iter()
        .map(|row| sqlx::Row::try_get(row, 0))
        .collect::<Result<_, _>>()?)
}

pub(super) async fn write_products(
    conn: &mut PgConnection,
    writes: &[ProductWrite<'_>],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let writes = last_of_each(writes.iter().collect(), |w| w.product.id);
    if writes.is_empty() {
        return Ok(());
    }
    upsert_products(conn, &writes, now).await?;
    let ids: Vec<i64> = writes.iter().map(|w| w.product.id).collect();
    for table in ["variant", "product_translation", "product_attribute_value"] {
        sqlx::query(&format!("delete from {table} where product_id = any($1)"))
            .bind(&ids)
            .execute(&mut *conn)
            .await?;
    }
    let products: Vec<&Product> = writes.iter().map(|w| w.product).collect();
    insert_variants(conn, &products).await?;
    insert_translations(conn, &products).await?;
    super::storefront::write_storefront(conn, &products).await
}

async fn upsert_products(
    conn: &mut PgConnection,
    writes: &[&ProductWrite<'_>],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let column = |f: &dyn Fn(&Product) -> Option<String>| -> Vec<Option<String>> {
        writes.iter().map(|w| f(w.product)).collect()
    };
    let ids: Vec<i64> = writes.iter().map(|w| w.product.id).collect();
    let names = column(&|p| Some(p.name.clone()));
    let default_codes = column(&|p| p.default_code.clone());
    let barcodes = column(&|p| p.barcode.clone());
    let prices: Vec<f64> = writes.iter().map(|w| w.product.list_price).collect();
    let categories: Vec<Option<i64>> = writes.iter().map(|w| w.product.categ_id).collect();
    let descriptions = column(&|p| p.description_sale.clone());
    let flag =
        |f: fn(&Product) -> bool| -> Vec<bool> { writes.iter().map(|w| f(w.product)).collect() };
    let public_categ_ids =
        column(&|p| Some(serde_json::to_string(&p.public_categ_ids).expect("ids serialise")));
    let extras = column(&|p| Some(serde_json::Value::Object(p.extra.clone()).to_string()));
    let dates: Vec<NaiveDateTime> = writes.iter().map(|w| w.product.write_date).collect();
    let hashes: Vec<&str> = writes.iter().map(|w| w.hash.as_str()).collect();
    let searches = column(&|p| Some(search_vector(p)));
    let seqs: Vec<i64> = writes.iter().map(|w| w.change_seq).collect();
    sqlx::query(
        "insert into product (product_id, name, default_code, barcode, list_price, category_id, \
         description_sale, active, sale_ok, is_published, public_categ_ids, extra, write_date, \
         content_hash, search, deleted_at, change_seq, created_at, updated_at) \
         select p.product_id, p.name, p.default_code, p.barcode, p.list_price, p.category_id, \
           p.description_sale, p.active, p.sale_ok, p.is_published, p.public_categ_ids::jsonb, \
           p.extra::json, p.write_date, p.content_hash, p.search::tsvector, null, p.change_seq, $17, $17 \
         from unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::float8[], $6::bigint[], \
           $7::text[], $8::bool[], $9::bool[], $10::bool[], $11::text[], $12::text[], $13::timestamp[], \
           $14::text[], $15::text[], $16::bigint[]) \
           as p(product_id, name, default_code, barcode, list_price, category_id, description_sale, \
           active, sale_ok, is_published, public_categ_ids, extra, write_date, content_hash, search, change_seq) \
         on conflict (product_id) do update set name = excluded.name, default_code = excluded.default_code, \
         barcode = excluded.barcode, list_price = excluded.list_price, category_id = excluded.category_id, \
         description_sale = excluded.description_sale, active = excluded.active, sale_ok = excluded.sale_ok, \
         is_published = excluded.is_published, public_categ_ids = excluded.public_categ_ids, extra = excluded.extra, \
         write_date = excluded.write_date, content_hash = excluded.content_hash, search = excluded.search, \
         deleted_at = null, change_seq = excluded.change_seq, updated_at = excluded.updated_at",
    )
    .bind(&ids)
    .bind(&names)
    .bind(&default_codes)
    .bind(&barcodes)
    .bind(&prices)
    .bind(&categories)
    .bind(&descriptions)
    .bind(flag(|p| p.active))
    .bind(flag(|p| p.sale_ok))
    .bind(flag(|p| p.is_published))
    .bind(&public_categ_ids)
    .bind(&extras)
    .bind(&dates)
    .bind(&hashes)
    .bind(&searches)
    .bind(&seqs)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn insert_variants(conn: &mut PgConnection, products: &[&Product]) -> Result<(), StoreError> {
    let rows: Vec<_> = products
        .iter()
        .flat_map(|product| {
            product
                .variants
                .iter()
                .enumerate()
                .map(move |(position, variant)| (product.id, position as i32, variant))
        })
        .collect();
    // A variant moved to another template keeps its id: the last template naming it wins.
    let rows = last_of_each(rows, |(_, _, variant)| variant.id);
    if rows.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "insert into variant (variant_id, product_id, position, default_code, barcode, lst_price, \
         active, attribute_value_ids, write_date) \
         select v.variant_id, v.product_id, v.position, v.default_code, v.barcode, v.lst_price, \
           v.active, v.attribute_value_ids::jsonb, v.write_date \
         from unnest($1::bigint[], $2::bigint[], $3::int[], $4::text[], $5::text[], $6::float8[], \
           $7::bool[], $8::text[], $9::timestamp[]) \
           as v(variant_id, product_id, position, default_code, barcode, lst_price, active, \
           attribute_value_ids, write_date) \
         on conflict (variant_id) do update set product_id = excluded.product_id, position = excluded.position, \
         default_code = excluded.default_code, barcode = excluded.barcode, lst_price = excluded.lst_price, \
         active = excluded.active, attribute_value_ids = excluded.attribute_value_ids, write_date = excluded.write_date",
    )
    .bind(rows.iter().map(|(_, _, v)| v.id).collect::<Vec<i64>>())
    .bind(rows.iter().map(|(p, _, _)| *p).collect::<Vec<i64>>())
    .bind(rows.iter().map(|(_, n, _)| *n).collect::<Vec<i32>>())
    .bind(
        rows.iter()
            .map(|(_, _, v)| v.default_code.as_deref())
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|(_, _, v)| v.barcode.as_deref())
            .collect::<Vec<_>>(),
    )
    .bind(rows.iter().map(|(_, _, v)| v.lst_price).collect::<Vec<f64>>())
    .bind(rows.iter().map(|(_, _, v)| v.active).collect::<Vec<bool>>())
    .bind(
        rows.iter()
            .map(|(_, _, v)| {
                serde_json::to_string(&v.product_template_attribute_value_ids)
                    .expect("ids serialise")
            })
            .collect::<Vec<String>>(),
    )
    .bind(
        rows.iter()
            .map(|(_, _, v)| v.write_date)
            .collect::<Vec<NaiveDateTime>>(),
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn insert_translations(
    conn: &mut PgConnection,
    products: &[&Product],
) -> Result<(), StoreError> {
    let rows: Vec<_> = products
        .iter()
        .flat_map(|product| {
            product
                .translations
                .iter()
                .map(move |(lang, translation)| (product.id, lang.as_str(), translation))
        })
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "insert into product_translation (product_id, lang, name, description_sale) \
         select * from unnest($1::bigint[], $2::text[], $3::text[], $4::text[])",
    )
    .bind(rows.iter().map(|(id, _, _)| *id).collect::<Vec<i64>>())
    .bind(rows.iter().map(|(_, lang, _)| *lang).collect::<Vec<&str>>())
    .bind(
        rows.iter()
            .map(|(_, _, t)| t.name.as_str())
            .collect::<Vec<&str>>(),
    )
    .bind(
        rows.iter()
            .map(|(_, _, t)| t.description_sale.as_deref())
            .collect::<Vec<Option<&str>>>(),
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[async_trait]
impl CatalogWriter for PgStore {
    async fn apply_batch(&self, batch: CatalogBatch<'_>) -> Result<RunCounts, StoreError> {
        let now = Utc::now();
        let mut tx = self.begin_catalog_write().await?;
        let mut change = CatalogChange::default();
        for id in upsert_categories(&mut tx, batch.categories, now).await? {
            change.other_tags.insert(format!("category:{id}"));
        }
        let existing = existing_products(&mut tx, batch.products).await?;
        let (counts, planned) = plan_batch(batch.products, &existing);
        let seqs = next_change_seqs(&mut tx, planned.len()).await?;
        let writes: Vec<ProductWrite> = planned
            .into_iter()
            .zip(seqs)
            .map(|((product, hash), change_seq)| ProductWrite {
                product,
                hash,
                change_seq,
            })
            .collect();
        write_products(&mut tx, &writes, now).await?;
        if let Some(checkpoint) = &batch.checkpoint {
            advance_run(&mut tx, checkpoint, counts, now).await?;
        }
        change
            .upserted
            .extend(writes.iter().map(|write| write.product.id));
        let queued = queue_site_change(&mut tx, &self.site, change).await?;
        tx.commit().await?;
        self.site.rung(queued);
        Ok(counts)
    }

    async fn mark_deleted(
        &self,
        ids: &[i64],
        checkpoint: Option<Checkpoint<'_>>,
    ) -> Result<u64, StoreError> {
        let now = Utc::now();
        let mut tx = self.begin_catalog_write().await?;
        // In the order given, once each, as SQLite numbers them.
        let mut unique = Vec::with_capacity(ids.len());
        for id in ids {
            if !unique.contains(id) {
                unique.push(*id);
            }
        }
        let seqs = next_change_seqs(&mut tx, unique.len()).await?;
        let done = sqlx::query(
            "update product set deleted_at = $3, change_seq = gone.seq, updated_at = $3 \
             from unnest($1::bigint[], $2::bigint[]) as gone(product_id, seq) \
             where product.product_id = gone.product_id and product.deleted_at is null \
             returning product.product_id",
        )
        .bind(&unique)
        .bind(&seqs)
        .bind(now)
        .fetch_all(&mut *tx)
        .await?;
        let deleted = done.len() as u64;
        let change = CatalogChange {
            deleted: done
                .iter()
                .map(|row| sqlx::Row::try_get(row, 0))
                .collect::<Result<_, _>>()?,
            ..CatalogChange::default()
        };
        let counts = RunCounts {
            deleted,
            ..RunCounts::default()
        };
        if let Some(checkpoint) = &checkpoint {
            advance_run(&mut tx, checkpoint, counts, now).await?;
        }
        let queued = queue_site_change(&mut tx, &self.site, change).await?;
        tx.commit().await?;
        self.site.rung(queued);
        Ok(deleted)
    }

    /// Writes the levels that changed; returns how many rows were written. A variant named twice
    /// keeps its last level.
    async fn set_stock(&self, levels: &[StockLevel]) -> Result<u64, StoreError> {
        let mut tx = self.begin_catalog_write().await?;
        let conn: &mut PgConnection = &mut tx;
        let mut last = std::collections::BTreeMap::new();
        for level in levels {
            last.insert(level.variant_id, level);
        }
        if last.is_empty() {
            return Ok(0);
        }
        let done = sqlx::query(
            "insert into variant_stock (variant_id, qty_available, free_qty, updated_at) \
             select s.*, $4 from unnest($1::bigint[], $2::float8[], $3::float8[]) as s(variant_id, qty_available, free_qty) \
             on conflict (variant_id) do update set qty_available = excluded.qty_available, \
             free_qty = excluded.free_qty, updated_at = excluded.updated_at \
             where variant_stock.qty_available <> excluded.qty_available \
                or variant_stock.free_qty <> excluded.free_qty \
             returning variant_id",
        )
        .bind(last.keys().copied().collect::<Vec<i64>>())
        .bind(last.values().map(|l| l.qty_available).collect::<Vec<f64>>())
        .bind(last.values().map(|l| l.free_qty).collect::<Vec<f64>>())
        .bind(Utc::now())
        .fetch_all(&mut *conn)
        .await?;
        let found = done.len() as u64;
        let variants: Vec<i64> = done
            .iter()
            .map(|row| sqlx::Row::try_get(row, 0))
            .collect::<Result<_, _>>()?;
        let products: Vec<i64> = sqlx::query_scalar(
            "select distinct product_id from variant where variant_id = any($1)",
        )
        .bind(&variants)
        .fetch_all(&mut *conn)
        .await?;
        let change = CatalogChange {
            upserted: products.into_iter().collect(),
            ..CatalogChange::default()
        };
        let queued = queue_site_change(conn, &self.site, change).await?;
        tx.commit().await?;
        self.site.rung(queued);
        Ok(found)
    }

    async fn live_product_ids(&self) -> Result<Vec<i64>, StoreError> {
        let ids = sqlx::query_scalar(
            "select product_id from product where deleted_at is null order by product_id",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(ids)
    }
}
