//! PostgreSQL catalog store: for a shop that outgrows one machine, several odoo-sync processes
//! on one database. They coordinate only through it: one running run (a partial unique index,
//! and an advisory lock around the check), run leases as in SQLite, webhook claims that pass
//! each other (`for update skip locked`), and catalog writers that take turns on the catalog
//! version row, which triggers bump in the writer's transaction.

mod catalog;
mod images;
mod inbox;
mod outbox;
mod pricing;
mod runs;
mod state;
mod storefront;
mod write;

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::types::Json;
use sqlx::{Connection, PgConnection, PgPool, Postgres, Transaction};

use super::stored::{
    corrupt, lease_end, odoo_datetime, run_not_found, session_from_state, session_to_state, Cells,
    ODOO_SESSION_KEY,
};
use super::{
    Checkpoint, ExistingRow, NewRun, OdooSession, RunLedger, StateStore, StoreError, StoredProduct,
};
use crate::domain::{
    Category, Product, RunCounts, RunId, RunStatus, Storefront, SyncCursor, SyncMode, SyncRun,
    Translation, Trigger, Variant, Watermark, WatermarkKey,
};

/// The advisory lock `create_run` holds while it checks for a running run and inserts its own.
const RUN_CREATION_LOCK: i64 = 0x6f64_6f6f_7379_6e63; // "odoosync"
/// The index that allows one running run (migrations/postgres/…_catalog.sql).
const ONE_RUNNING_RUN: &str = "sync_run_one_running_idx";

#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
    /// Host, port and database, to name the database in `Unavailable` errors (never the password).
    at: String,
    /// Where catalog changes are reported (none: no outbox rows are written).
    site: std::sync::Arc<super::SiteTargets>,
    /// Reads of the catalog version, shared by the callers waiting for one.
    version_reads: std::sync::Arc<super::version_reads::VersionReads>,
    /// What faceted answers are counted from, read again when the catalog version moves.
    facet_index: std::sync::Arc<super::facet_index::FacetIndexCache>,
}

impl PgStore {
    /// A read-only transaction that sees one snapshot of the database (repeatable read), as
    /// a SQLite read transaction does.
    pub(super) async fn snapshot(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("set transaction isolation level repeatable read, read only")
            .execute(&mut *tx)
            .await?;
        Ok(tx)
    }

    /// Connects to the database at `url` (`postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE`) and
    /// migrates it; several processes may do so at once (sqlx serialises migrations with an
    /// advisory lock).
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|_| StoreError::UnsupportedUrl(url.to_string()))?;
        let at = format!(
            "{}:{}/{}",
            options.get_host(),
            options.get_port(),
            options.get_database().unwrap_or_default()
        );
        let unavailable = |source| StoreError::Unavailable {
            at: at.clone(),
            source,
        };
        // One connection first: a refused connection or a wrong password fails now with its own
        // cause, where the pool would retry until its acquire timeout and say only that.
        let probe = PgConnection::connect_with(&options)
            .await
            .map_err(unavailable)?;
        let _ = probe.close().await;
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(unavailable)?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(PgStore {
            pool,
            at,
            site: Default::default(),
            version_reads: Default::default(),
            facet_index: Default::default(),
        })
    }

    /// Every catalog write from now on queues a "catalog changed" delivery for each URL.
    pub fn with_site_webhooks(mut self, targets: std::sync::Arc<super::SiteTargets>) -> Self {
        self.site = targets;
        self
    }

    /// A transaction that writes what the catalog API shows. It locks the catalog version row
    /// first: writers take turns (as SQLite's one writer does), always lock in the same order
    /// (no deadlock with the triggers' bump), and take `change_seq` values in commit order.
    async fn begin_catalog_write(&self) -> Result<Transaction<'static, Postgres>, StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("select version from catalog_version where catalog_version_id = 1 for update")
            .execute(&mut *tx)
            .await?;
        Ok(tx)
    }
}

async fn save_watermark(
    conn: &mut PgConnection,
    key: WatermarkKey,
    mark: Watermark,
) -> Result<(), StoreError> {
    let value = odoo_datetime(mark.0);
    put_state(conn, key.as_str(), &value).await
}

/// Sets one `sync_state` value.
pub(super) async fn put_state(
    conn: &mut PgConnection,
    key: &str,
    value: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "insert into sync_state (key, value, updated_at) values ($1, $2, $3) \
         on conflict (key) do update set value = excluded.value, updated_at = excluded.updated_at",
    )
    .bind(key)
    .bind(value)
    .bind(Utc::now())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(super) async fn state_value(pool: &PgPool, key: &str) -> Result<Option<String>, StoreError> {
    Ok(
        sqlx::query_scalar("select value from sync_state where key = $1")
            .bind(key)
            .fetch_optional(pool)
            .await?,
    )
}

async fn existing_products(
    conn: &mut PgConnection,
    products: &[Product],
) -> Result<HashMap<i64, ExistingRow>, StoreError> {
    let ids: Vec<i64> = products.iter().map(|product| product.id).collect();
    let rows = sqlx::query(
        "select product_id, content_hash, active, deleted_at is not null as deleted \
         from product where product_id = any($1)",
    )
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            let cells = Cells::new(row, "product", "product_id");
            let existing = ExistingRow {
                hash: cells.get("content_hash")?,
                active: cells.get("active")?,
                deleted: cells.get("deleted")?,
            };
            Ok((cells.get("product_id")?, existing))
        })
        .collect()
}

/// Gives each of `products` a new `change_seq` and moves its `updated_at`, as a write of the
/// product would: the change feed shows changes made beside the product row (prices).
/// Called with the catalog version row locked (`begin_catalog_write`).
pub(super) async fn renew_change_seqs(
    conn: &mut PgConnection,
    products: &std::collections::BTreeSet<i64>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), StoreError> {
    if products.is_empty() {
        return Ok(());
    }
    let products: Vec<i64> = products.iter().copied().collect();
    let seqs = next_change_seqs(conn, products.len()).await?;
    sqlx::query(
        "update product set change_seq = renewed.seq, updated_at = $3 \
         from unnest($1::bigint[], $2::bigint[]) as renewed(product_id, seq) \
         where product.product_id = renewed.product_id",
    )
    .bind(&products)
    .bind(&seqs)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// `count` new change sequences, ascending. Called with the catalog version row locked, so
/// they are also in commit order.
pub(super) async fn next_change_seqs(
    conn: &mut PgConnection,
    count: usize,
) -> Result<Vec<i64>, StoreError> {
    if count == 0 {
        return Ok(Vec::new());
    }
    let mut seqs: Vec<i64> = sqlx::query_scalar(
        "select nextval('product_change_seq') from generate_series(1, $1::bigint)",
    )
    .bind(count as i64)
    .fetch_all(&mut *conn)
    .await?;
    seqs.sort_unstable();
    Ok(seqs)
}

async fn advance_run(
    conn: &mut PgConnection,
    checkpoint: &Checkpoint<'_>,
    counts: RunCounts,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let done = sqlx::query(
        "update sync_run set processed = processed + $1, created = created + $2, updated = updated + $3, \
         unchanged = unchanged + $4, archived = archived + $5, deleted = deleted + $6, cursor = $7, \
         total = coalesce($8, total), updated_at = $9 where sync_run_id = $10 and status = 'running'",
    )
    .bind(counts.processed() as i64)
    .bind(counts.created as i64)
    .bind(counts.updated as i64)
    .bind(counts.unchanged as i64)
    .bind(counts.archived as i64)
    .bind(counts.deleted as i64)
    .bind(Json(checkpoint.cursor))
    .bind(checkpoint.total.map(|t| t as i64))
    .bind(now)
    .bind(checkpoint.run.0)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound {
            what: format!("running sync run {}", checkpoint.run),
        });
    }
    Ok(())
}

async fn running_run_id(conn: &mut PgConnection) -> Result<Option<RunId>, StoreError> {
    let id: Option<i64> =
        sqlx::query_scalar("select sync_run_id from sync_run where status = 'running'")
            .fetch_optional(&mut *conn)
            .await?;
    Ok(id.map(RunId))
}

pub(super) async fn load_categories(
    conn: &mut PgConnection,
) -> Result<HashMap<i64, Category>, StoreError> {
    let rows = sqlx::query("select * from category")
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|row| {
            let cells = Cells::new(row, "category", "category_id");
            let category = Category {
                id: cells.get("category_id")?,
                name: cells.get("name")?,
                complete_name: cells.get("complete_name")?,
                parent_id: cells.get("parent_id")?,
                write_date: cells.get("write_date")?,
            };
            Ok((category.id, category))
        })
        .collect()
}

async fn load_variants(conn: &mut PgConnection) -> Result<HashMap<i64, Vec<Variant>>, StoreError> {
    let rows = sqlx::query("select * from variant order by product_id, position")
        .fetch_all(&mut *conn)
        .await?;
    let mut variants: HashMap<i64, Vec<Variant>> = HashMap::new();
    for row in &rows {
        let cells = Cells::new(row, "variant", "variant_id");
        let variant = Variant {
            id: cells.get("variant_id")?,
            default_code: cells.get("default_code")?,
            barcode: cells.get("barcode")?,
            lst_price: cells.get("lst_price")?,
            active: cells.get("active")?,
            product_template_attribute_value_ids: json_column(&cells, "attribute_value_ids")?,
            write_date: cells.get("write_date")?,
        };
        variants
            .entry(cells.get("product_id")?)
            .or_default()
            .push(variant);
    }
    Ok(variants)
}

async fn load_translations(
    conn: &mut PgConnection,
) -> Result<HashMap<i64, BTreeMap<String, Translation>>, StoreError> {
    let rows = sqlx::query("select * from product_translation")
        .fetch_all(&mut *conn)
        .await?;
    let mut translations: HashMap<i64, BTreeMap<String, Translation>> = HashMap::new();
    for row in &rows {
        let cells = Cells::new(row, "product_translation", "product_id");
        let translation = Translation {
            name: cells.get("name")?,
            description_sale: cells.get("description_sale")?,
        };
        translations
            .entry(cells.get("product_id")?)
            .or_default()
            .insert(cells.get("lang")?, translation);
    }
    Ok(translations)
}

/// A `product` row without its children (variants, translations, stock, prices).
pub(super) fn stored_product(
    row: &PgRow,
    categories: &HashMap<i64, Category>,
) -> Result<StoredProduct, StoreError> {
    let cells = Cells::new(row, "product", "product_id");
    let categ_id: Option<i64> = cells.get("category_id")?;
    let product = Product {
        id: cells.get("product_id")?,
        name: cells.get("name")?,
        default_code: cells.get("default_code")?,
        barcode: cells.get("barcode")?,
        list_price: cells.get("list_price")?,
        categ_id,
        description_sale: cells.get("description_sale")?,
        active: cells.get("active")?,
        sale_ok: cells.get("sale_ok")?,
        is_published: cells.get("is_published")?,
        public_categ_ids: json_column(&cells, "public_categ_ids")?,
        write_date: cells.get("write_date")?,
        variants: Vec::new(),
        translations: BTreeMap::new(),
        extra: json_column(&cells, "extra")?,
        storefront: Storefront {
            website_id: cells.get("website_id")?,
            website_url: cells.get("website_url")?,
            seo_title: cells.get("seo_title")?,
            seo_description: cells.get("seo_description")?,
            ribbon: cells.get("ribbon")?,
            currency: cells.get("currency")?,
            // Read by the caller, with the other children.
            attributes: Vec::new(),
        },
    };
    Ok(StoredProduct {
        stock: BTreeMap::new(),
        prices: BTreeMap::new(),
        category: categ_id.and_then(|id| categories.get(&id).cloned()),
        deleted_at: cells.get("deleted_at")?,
        updated_at: cells.get("updated_at")?,
        change_seq: cells.get("change_seq")?,
        product,
    })
}

fn sync_run(row: &PgRow) -> Result<SyncRun, StoreError> {
    let cells = Cells::new(row, "sync_run", "sync_run_id");
    let text = |column: &str| -> Result<String, StoreError> { cells.get(column) };
    let count = |column: &str| -> Result<u64, StoreError> { Ok(cells.get::<i64>(column)? as u64) };
    Ok(SyncRun {
        id: RunId(cells.get("sync_run_id")?),
        mode: text("mode")?
            .parse::<SyncMode>()
            .map_err(|e| corrupt("sync_run.mode", e))?,
        trigger: text("trigger")?
            .parse::<Trigger>()
            .map_err(|e| corrupt("sync_run.trigger", e))?,
        status: text("status")?
            .parse::<RunStatus>()
            .map_err(|e| corrupt("sync_run.status", e))?,
        total: cells.get::<Option<i64>>("total")?.map(|t| t as u64),
        processed: count("processed")?,
        counts: RunCounts {
            created: count("created")?,
            updated: count("updated")?,
            unchanged: count("unchanged")?,
            archived: count("archived")?,
            deleted: count("deleted")?,
            images_fetched: count("images_fetched")?,
            images_unchanged: count("images_unchanged")?,
        },
        cursor: json_column(&cells, "cursor")?,
        error: cells.get("error")?,
        started_at: cells.get("started_at")?,
        updated_at: cells.get("updated_at")?,
        finished_at: cells.get("finished_at")?,
    })
}

/// A `json`/`jsonb` column decoded into `T`; a value of the wrong shape is `Corrupt`.
pub(super) fn json_column<T: serde::de::DeserializeOwned>(
    cells: &Cells<'_, PgRow>,
    column: &str,
) -> Result<T, StoreError> {
    let value: Json<serde_json::Value> = cells.get(column)?;
    serde_json::from_value(value.0).map_err(|e| corrupt(column, e.to_string()))
}
