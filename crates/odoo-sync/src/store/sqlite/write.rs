//! Catalog writes on SQLite (`CatalogWriter`): pages of products, deletions, stock. Products are
//! written in a few multi-row statements per table: sqlx hands every SQLite statement to the
//! connection's own thread and back, and row by row those hand-offs cost more than SQLite's work
//! (BENCHMARKS.md, "Rerun on a quiet machine").

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::query_builder::Separated;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::outbox::queue_site_change;
use super::SqliteTime;
use super::{advance_run, existing_products, next_change_seq, upsert_category, SqliteStore};
use crate::domain::site_event::CatalogChange;
use crate::domain::StockLevel;
use crate::domain::{Product, RunCounts};
use crate::store::search::{search_codes, search_names};
use crate::store::{plan_batch, CatalogBatch, CatalogWriter, Checkpoint, StoreError};

const ODOO_DATETIME: &str = "%Y-%m-%d %H:%M:%S";
/// Rows per statement: SQLite allows 32,766 bound values; the widest row here has 17.
const ROWS_PER_STATEMENT: usize = 1000;

/// A product to write, with its content hash and the change sequence it gets.
pub(super) struct ProductWrite<'a> {
    pub product: &'a Product,
    pub hash: String,
    pub change_seq: i64,
}

pub(super) async fn write_products(
    conn: &mut SqliteConnection,
    writes: &[ProductWrite<'_>],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    if writes.is_empty() {
        return Ok(());
    }
    let now = SqliteTime(now);
    for chunk in writes.chunks(ROWS_PER_STATEMENT) {
        upsert_products(conn, chunk, now).await?;
    }
    let ids = serde_json::to_string(&writes.iter().map(|w| w.product.id).collect::<Vec<_>>())
        .expect("ids serialise");
    for table in ["variant", "product_translation", "product_attribute_value"] {
        sqlx::query(&format!(
            "delete from {table} where product_id in (select value from json_each(?))"
        ))
        .bind(&ids)
        .execute(&mut *conn)
        .await?;
    }
    sqlx::query("delete from product_search where rowid in (select value from json_each(?))")
        .bind(&ids)
        .execute(&mut *conn)
        .await?;
    let products: Vec<&Product> = writes.iter().map(|w| w.product).collect();
    insert_variants(conn, &products).await?;
    insert_translations(conn, &products).await?;
    super::storefront::write_storefront(conn, &products).await?;
    insert_search_rows(conn, &products).await
}

async fn upsert_products(
    conn: &mut SqliteConnection,
    writes: &[ProductWrite<'_>],
    now: SqliteTime,
) -> Result<(), StoreError> {
    let mut sql = QueryBuilder::<Sqlite>::new(
        "insert into product (product_id, name, default_code, barcode, list_price, category_id, \
         description_sale, active, sale_ok, is_published, public_categ_ids, extra, write_date, \
         content_hash, deleted_at, change_seq, created_at, updated_at) ",
    );
    sql.push_values(writes, |mut row, write| {
        let product = write.product;
        row.push_bind(product.id)
            .push_bind(product.name.clone())
            .push_bind(product.default_code.clone())
            .push_bind(product.barcode.clone())
            .push_bind(product.list_price)
            .push_bind(product.categ_id)
            .push_bind(product.description_sale.clone())
            .push_bind(product.active)
            .push_bind(product.sale_ok)
            .push_bind(product.is_published)
            .push_bind(serde_json::to_string(&product.public_categ_ids).expect("ids serialise"))
            .push_bind(serde_json::Value::Object(product.extra.clone()).to_string())
            .push_bind(product.write_date.format(ODOO_DATETIME).to_string())
            .push_bind(write.hash.clone())
            .push("null")
            .push_bind(write.change_seq)
            .push_bind(now)
            .push_bind(now);
    });
    sql.push(
        " on conflict (product_id) do update set name = excluded.name, default_code = excluded.default_code, \
         barcode = excluded.barcode, list_price = excluded.list_price, category_id = excluded.category_id, \
         description_sale = excluded.description_sale, active = excluded.active, sale_ok = excluded.sale_ok, \
         is_published = excluded.is_published, public_categ_ids = excluded.public_categ_ids, extra = excluded.extra, \
         write_date = excluded.write_date, content_hash = excluded.content_hash, deleted_at = null, \
         change_seq = excluded.change_seq, updated_at = excluded.updated_at",
    );
    sql.build().execute(&mut *conn).await?;
    Ok(())
}

async fn insert_variants(
    conn: &mut SqliteConnection,
    products: &[&Product],
) -> Result<(), StoreError> {
    let rows: Vec<_> = products
        .iter()
        .flat_map(|product| {
            product
                .variants
                .iter()
                .enumerate()
                .map(move |(position, variant)| (product.id, position, variant))
        })
        .collect();
    insert_in_chunks(
        conn,
        "insert into variant (variant_id, product_id, position, default_code, barcode, lst_price, \
         active, attribute_value_ids, write_date) ",
        &rows,
        |mut row, (product_id, position, variant)| {
            let attributes = &variant.product_template_attribute_value_ids;
            row.push_bind(variant.id)
                .push_bind(*product_id)
                .push_bind(*position as i64)
                .push_bind(variant.default_code.clone())
                .push_bind(variant.barcode.clone())
                .push_bind(variant.lst_price)
                .push_bind(variant.active)
                .push_bind(serde_json::to_string(attributes).expect("ids serialise"))
                .push_bind(variant.write_date.format(ODOO_DATETIME).to_string());
        },
        // A variant moved to another template keeps its id.
        " on conflict (variant_id) do update set product_id = excluded.product_id, position = excluded.position, \
         default_code = excluded.default_code, barcode = excluded.barcode, lst_price = excluded.lst_price, \
         active = excluded.active, attribute_value_ids = excluded.attribute_value_ids, write_date = excluded.write_date",
    )
    .await
}

async fn insert_translations(
    conn: &mut SqliteConnection,
    products: &[&Product],
) -> Result<(), StoreError> {
    let rows: Vec<_> = products
        .iter()
        .flat_map(|product| {
            product
                .translations
                .iter()
                .map(move |(lang, translation)| (product.id, lang, translation))
        })
        .collect();
    insert_in_chunks(
        conn,
        "insert into product_translation (product_id, lang, name, description_sale) ",
        &rows,
        |mut row, (product_id, lang, translation)| {
            row.push_bind(*product_id)
                .push_bind(lang.to_string())
                .push_bind(translation.name.clone())
                .push_bind(translation.description_sale.clone());
        },
        "",
    )
    .await
}

/// The full-text row of each product: its names in every language, and its codes.
async fn insert_search_rows(
    conn: &mut SqliteConnection,
    products: &[&Product],
) -> Result<(), StoreError> {
    insert_in_chunks(
        conn,
        "insert into product_search (rowid, names, codes) ",
        products,
        |mut row, product| {
            row.push_bind(product.id)
                .push_bind(search_names(product))
                .push_bind(search_codes(product));
        },
        "",
    )
    .await
}

/// `insert` followed by the rows' values, `ROWS_PER_STATEMENT` rows per statement, then `suffix`.
pub(super) async fn insert_in_chunks<T>(
    conn: &mut SqliteConnection,
    insert: &str,
    rows: &[T],
    bind: impl Fn(Separated<'_, '_, Sqlite, &'static str>, &T),
    suffix: &str,
) -> Result<(), StoreError> {
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let mut sql = QueryBuilder::<Sqlite>::new(insert);
        sql.push_values(chunk, &bind);
        sql.push(suffix);
        sql.build().execute(&mut *conn).await?;
    }
    Ok(())
}

#[async_trait]
impl CatalogWriter for SqliteStore {
    async fn apply_batch(&self, batch: CatalogBatch<'_>) -> Result<RunCounts, StoreError> {
        let now = Utc::now();
        let mut tx = self.begin_write().await?;
        let mut change = CatalogChange::default();
        for category in batch.categories {
            if upsert_category(&mut tx, category, now).await? {
                change
                    .other_tags
                    .insert(format!("category:{}", category.id));
            }
        }
        let existing = existing_products(&mut tx, batch.products).await?;
        let (counts, planned) = plan_batch(batch.products, &existing);
        let first_seq = next_change_seq(&mut tx).await?;
        let writes: Vec<ProductWrite> = planned
            .into_iter()
            .zip(first_seq..)
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
        let mut tx = self.begin_write().await?;
        let mut next_seq = next_change_seq(&mut tx).await?;
        let mut deleted = 0;
        let mut change = CatalogChange::default();
        for id in ids {
            let done = sqlx::query(
                "update product set deleted_at = ?, change_seq = ?, updated_at = ? \
                 where product_id = ? and deleted_at is null",
            )
            .bind(SqliteTime(now))
            .bind(next_seq)
            .bind(SqliteTime(now))
            .bind(id)
            .execute(&mut *tx)
            .await?;
            deleted += done.rows_affected();
            if done.rows_affected() > 0 {
                change.deleted.insert(*id);
            }
            next_seq += 1;
        }
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

    async fn set_stock(&self, levels: &[StockLevel]) -> Result<u64, StoreError> {
        let mut tx = self.begin_write().await?;
        let conn: &mut SqliteConnection = &mut tx;
        let now = SqliteTime(Utc::now());
        let mut written = 0;
        let mut changed_variants = Vec::new();
        for level in levels {
            let done = sqlx::query(
                "insert into variant_stock (variant_id, qty_available, free_qty, updated_at) values (?, ?, ?, ?) \
                 on conflict (variant_id) do update set qty_available = excluded.qty_available, free_qty = excluded.free_qty, \
                 updated_at = excluded.updated_at \
                 where variant_stock.qty_available != excluded.qty_available or variant_stock.free_qty != excluded.free_qty",
            )
            .bind(level.variant_id)
            .bind(level.qty_available)
            .bind(level.free_qty)
            .bind(now)
            .execute(&mut *conn)
            .await?;
            written += done.rows_affected();
            if done.rows_affected() > 0 {
                changed_variants.push(level.variant_id);
            }
        }
        let products: Vec<i64> = sqlx::query_scalar(
            "select distinct product_id from variant where variant_id in (select value from json_each(?))",
        )
        .bind(serde_json::to_string(&changed_variants).expect("ids serialise"))
        .fetch_all(&mut *conn)
        .await?;
        let change = CatalogChange {
            upserted: products.into_iter().collect(),
            ..CatalogChange::default()
        };
        let queued = queue_site_change(conn, &self.site, change).await?;
        tx.commit().await?;
        self.site.rung(queued);
        Ok(written)
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
