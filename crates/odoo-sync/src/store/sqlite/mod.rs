//! SQLite catalog store: embedded, zero set-up, WAL. One writer at a time (SQLite's rule), so
//! write transactions start with `BEGIN IMMEDIATE` and never wait on a lock half-way through.

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
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::sqlite::{Sqlite, SqliteTypeInfo, SqliteValueRef};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{SqliteConnection, SqlitePool};

use super::stored::{
    corrupt, lease_end, odoo_datetime, parse_odoo_datetime, run_not_found, session_from_state,
    session_to_state, Cells, ODOO_SESSION_KEY,
};
use super::{
    Checkpoint, ExistingRow, NewRun, OdooSession, RunLedger, StateStore, StoreError, StoredProduct,
};
use crate::domain::{
    Category, Product, RunCounts, RunId, RunStatus, Storefront, SyncCursor, SyncMode, SyncRun,
    Translation, Trigger, Variant, Watermark, WatermarkKey,
};

#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// Taken by every write of this process before SQLite's own lock. SQLite makes a writer that
    /// finds the database locked sleep and retry (1, 2, 5 … 100 ms), so a webhook's
    /// acknowledgement could sleep for tens of milliseconds behind an inbox or catalog write;
    /// queued here, it runs as soon as that write commits. Other processes still meet the busy
    /// timeout.
    write_gate: Arc<tokio::sync::Mutex<()>>,
    /// The URL, to name the database in `Unavailable` errors.
    at: String,
    /// Where catalog changes are reported (none: no outbox rows are written).
    site: Arc<super::SiteTargets>,
    /// Reads of the catalog version, shared by the callers waiting for one.
    version_reads: Arc<super::version_reads::VersionReads>,
    /// What faceted answers are counted from, read again when the catalog version moves.
    facet_index: Arc<super::facet_index::FacetIndexCache>,
}

/// A write transaction holding the store's write gate until it commits or is dropped.
pub(super) struct WriteTx {
    tx: sqlx::Transaction<'static, sqlx::Sqlite>,
    _gate: tokio::sync::OwnedMutexGuard<()>,
}

impl WriteTx {
    pub(super) async fn commit(self) -> Result<(), StoreError> {
        Ok(self.tx.commit().await?)
    }
}

impl std::ops::Deref for WriteTx {
    type Target = SqliteConnection;
    fn deref(&self) -> &SqliteConnection {
        &self.tx
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        &mut self.tx
    }
}

/// How much of the database file reads map (SQLite maps no more than the file's size).
const MMAP_SIZE: u64 = 1 << 30;

impl SqliteStore {
    /// Opens (creating if needed) the database at `url` (`sqlite://PATH`) and migrates it.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|_| StoreError::UnsupportedUrl(url.to_string()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            // Catalog reads map the file instead of copying each page through a read(2) into
            // each connection's cache: 5-8 % more faceted pages a second at 100k products.
            .pragma("mmap_size", MMAP_SIZE.to_string());
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            // sqlx pings every connection it hands out: for SQLite, a round trip to the
            // connection's thread before each statement, for a file that cannot drop the line.
            .test_before_acquire(false)
            .connect_with(options)
            .await
            .map_err(|source| StoreError::Unavailable {
                at: url.to_string(),
                source,
            })?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        Ok(SqliteStore {
            pool,
            write_gate: Arc::default(),
            at: url.to_string(),
            site: Arc::default(),
            version_reads: Arc::default(),
            facet_index: Arc::default(),
        })
    }

    /// Every catalog write from now on queues a "catalog changed" delivery for each URL.
    pub fn with_site_webhooks(mut self, targets: Arc<super::SiteTargets>) -> Self {
        self.site = targets;
        self
    }

    async fn begin_write(&self) -> Result<WriteTx, StoreError> {
        let gate = self.write_gate.clone().lock_owned().await;
        let tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        Ok(WriteTx { tx, _gate: gate })
    }

    /// The write gate, for a single-statement write outside `begin_write`.
    async fn gate(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.write_gate.lock().await
    }
}

async fn save_watermark(
    conn: &mut SqliteConnection,
    key: WatermarkKey,
    mark: Watermark,
) -> Result<(), StoreError> {
    let value = odoo_datetime(mark.0);
    put_state(conn, key.as_str(), &value).await
}

/// Sets one `sync_state` value.
pub(super) async fn put_state(
    conn: &mut SqliteConnection,
    key: &str,
    value: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "insert into sync_state (key, value, updated_at) values (?, ?, ?) \
         on conflict (key) do update set value = excluded.value, updated_at = excluded.updated_at",
    )
    .bind(key)
    .bind(value)
    .bind(SqliteTime(Utc::now()))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(super) async fn state_value(
    pool: &SqlitePool,
    key: &str,
) -> Result<Option<String>, StoreError> {
    Ok(
        sqlx::query_scalar("select value from sync_state where key = ?")
            .bind(key)
            .fetch_optional(pool)
            .await?,
    )
}

async fn existing_products(
    conn: &mut SqliteConnection,
    products: &[Product],
) -> Result<HashMap<i64, ExistingRow>, StoreError> {
    let mut existing = HashMap::with_capacity(products.len());
    for chunk in products.chunks(500) {
        let placeholders = vec!["?"; chunk.len()].join(",");
        let sql = format!(
            "select product_id, content_hash, active, deleted_at is not null as deleted \
             from product where product_id in ({placeholders})"
        );
        let mut query = sqlx::query(&sql);
        for product in chunk {
            query = query.bind(product.id);
        }
        for row in query.fetch_all(&mut *conn).await? {
            let cells = Cells::new(&row, "product", "product_id");
            let row_data = ExistingRow {
                hash: cells.get("content_hash")?,
                active: cells.get("active")?,
                deleted: cells.get("deleted")?,
            };
            existing.insert(cells.get("product_id")?, row_data);
        }
    }
    Ok(existing)
}

/// Gives each of `products` a `change_seq` of its own after the newest and moves its
/// `updated_at`, as a write of the product would: the change feed shows changes made beside the
/// product row (prices).
pub(super) async fn renew_change_seqs(
    conn: &mut SqliteConnection,
    products: &std::collections::BTreeSet<i64>,
    now: SqliteTime,
) -> Result<(), StoreError> {
    if products.is_empty() {
        return Ok(());
    }
    let newest = next_change_seq(conn).await? - 1;
    let seqs: Vec<(i64, i64)> = products.iter().copied().zip(newest + 1..).collect();
    sqlx::query(
        "update product set change_seq = renewed.seq, updated_at = ?2 \
         from (select value ->> 0 as product_id, value ->> 1 as seq from json_each(?1)) as renewed \
         where product.product_id = renewed.product_id",
    )
    .bind(serde_json::to_string(&seqs).expect("seqs serialise"))
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn next_change_seq(conn: &mut SqliteConnection) -> Result<i64, StoreError> {
    let max: i64 = sqlx::query_scalar("select coalesce(max(change_seq), 0) from product")
        .fetch_one(&mut *conn)
        .await?;
    Ok(max + 1)
}

/// Writes a category when its content changed; returns whether it did.
async fn upsert_category(
    conn: &mut SqliteConnection,
    category: &Category,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "insert into category (category_id, name, complete_name, parent_id, write_date, content_hash, updated_at) \
         values (?, ?, ?, ?, ?, ?, ?) \
         on conflict (category_id) do update set name = excluded.name, complete_name = excluded.complete_name, \
         parent_id = excluded.parent_id, write_date = excluded.write_date, content_hash = excluded.content_hash, \
         updated_at = excluded.updated_at where category.content_hash != excluded.content_hash",
    )
    .bind(category.id)
    .bind(&category.name)
    .bind(&category.complete_name)
    .bind(category.parent_id)
    .bind(odoo_datetime(category.write_date))
    .bind(category.content_hash())
    .bind(SqliteTime(now))
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

async fn advance_run(
    conn: &mut SqliteConnection,
    checkpoint: &Checkpoint<'_>,
    counts: RunCounts,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let done = sqlx::query(
        "update sync_run set processed = processed + ?, created = created + ?, updated = updated + ?, \
         unchanged = unchanged + ?, archived = archived + ?, deleted = deleted + ?, cursor = ?, \
         total = coalesce(?, total), updated_at = ? where sync_run_id = ? and status = 'running'",
    )
    .bind(counts.processed() as i64)
    .bind(counts.created as i64)
    .bind(counts.updated as i64)
    .bind(counts.unchanged as i64)
    .bind(counts.archived as i64)
    .bind(counts.deleted as i64)
    .bind(cursor_json(checkpoint.cursor))
    .bind(checkpoint.total.map(|t| t as i64))
    .bind(SqliteTime(now))
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

async fn running_run_id(conn: &mut SqliteConnection) -> Result<Option<RunId>, StoreError> {
    let id: Option<i64> =
        sqlx::query_scalar("select sync_run_id from sync_run where status = 'running'")
            .fetch_optional(&mut *conn)
            .await?;
    Ok(id.map(RunId))
}

async fn held_by_other(
    conn: &mut SqliteConnection,
    run: RunId,
    owner: &str,
    now: DateTime<Utc>,
) -> Result<Option<(String, DateTime<Utc>)>, StoreError> {
    let row = sqlx::query("select lease_owner, lease_until from sync_run where sync_run_id = ?")
        .bind(run.0)
        .fetch_one(&mut *conn)
        .await?;
    let cells = Cells::new(&row, "sync_run", "sync_run_id");
    let holder: Option<String> = cells.get("lease_owner")?;
    let until: Option<SqliteTime> = cells.get("lease_until")?;
    let until = until.map(|at| at.0);
    Ok(match (holder, until) {
        (Some(holder), Some(until)) if holder != owner && until > now => Some((holder, until)),
        _ => None,
    })
}

async fn fetch_run(conn: &mut SqliteConnection, run: RunId) -> Result<Option<SyncRun>, StoreError> {
    let row = sqlx::query("select * from sync_run where sync_run_id = ?")
        .bind(run.0)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(sync_run).transpose()
}

pub(super) async fn load_categories(
    conn: &mut SqliteConnection,
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
                write_date: parse_odoo_datetime(cells.get("write_date")?)?,
            };
            Ok((category.id, category))
        })
        .collect()
}

async fn load_variants(
    conn: &mut SqliteConnection,
) -> Result<HashMap<i64, Vec<Variant>>, StoreError> {
    let rows = sqlx::query("select * from variant order by product_id, position")
        .fetch_all(&mut *conn)
        .await?;
    group_variants(&rows)
}

fn group_variants(rows: &[SqliteRow]) -> Result<HashMap<i64, Vec<Variant>>, StoreError> {
    let mut variants: HashMap<i64, Vec<Variant>> = HashMap::new();
    for row in rows {
        let cells = Cells::new(row, "variant", "variant_id");
        let variant = Variant {
            id: cells.get("variant_id")?,
            default_code: cells.get("default_code")?,
            barcode: cells.get("barcode")?,
            lst_price: cells.get("lst_price")?,
            active: cells.get("active")?,
            product_template_attribute_value_ids: json_column(&cells, "attribute_value_ids")?,
            write_date: parse_odoo_datetime(cells.get("write_date")?)?,
        };
        variants
            .entry(cells.get("product_id")?)
            .or_default()
            .push(variant);
    }
    Ok(variants)
}

async fn load_translations(
    conn: &mut SqliteConnection,
) -> Result<HashMap<i64, BTreeMap<String, Translation>>, StoreError> {
    let rows = sqlx::query("select * from product_translation")
        .fetch_all(&mut *conn)
        .await?;
    group_translations(&rows)
}

fn group_translations(
    rows: &[SqliteRow],
) -> Result<HashMap<i64, BTreeMap<String, Translation>>, StoreError> {
    let mut translations: HashMap<i64, BTreeMap<String, Translation>> = HashMap::new();
    for row in rows {
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

pub(super) fn stored_product(
    row: &SqliteRow,
    categories: &HashMap<i64, Category>,
) -> Result<StoredProduct, StoreError> {
    let cells = Cells::new(row, "product", "product_id");
    let categ_id: Option<i64> = cells.get("category_id")?;
    let extra: serde_json::Value = json_column(&cells, "extra")?;
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
        write_date: parse_odoo_datetime(cells.get("write_date")?)?,
        variants: Vec::new(),
        translations: BTreeMap::new(),
        extra: match extra {
            serde_json::Value::Object(map) => map,
            other => {
                return Err(corrupt(
                    "product.extra",
                    format!("expected an object, found {other}"),
                ))
            }
        },

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
    let deleted_at: Option<SqliteTime> = cells.get("deleted_at")?;
    Ok(StoredProduct {
        stock: BTreeMap::new(),
        prices: BTreeMap::new(),
        category: categ_id.and_then(|id| categories.get(&id).cloned()),
        deleted_at: deleted_at.map(|at| at.0),
        updated_at: cells.get::<SqliteTime>("updated_at")?.0,
        change_seq: cells.get("change_seq")?,
        product,
    })
}

fn sync_run(row: &SqliteRow) -> Result<SyncRun, StoreError> {
    let cells = Cells::new(row, "sync_run", "sync_run_id");
    let text = |column: &str| -> Result<String, StoreError> { cells.get(column) };
    let count = |column: &str| -> Result<u64, StoreError> { Ok(cells.get::<i64>(column)? as u64) };
    let cursor: SyncCursor = serde_json::from_str(&text("cursor")?)
        .map_err(|e| corrupt("sync_run.cursor", e.to_string()))?;
    let finished_at: Option<SqliteTime> = cells.get("finished_at")?;
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
        cursor,
        error: cells.get("error")?,
        started_at: cells.get::<SqliteTime>("started_at")?.0,
        updated_at: cells.get::<SqliteTime>("updated_at")?.0,
        finished_at: finished_at.map(|at| at.0),
    })
}

fn json_column<T: serde::de::DeserializeOwned>(
    cells: &Cells<'_, SqliteRow>,
    column: &str,
) -> Result<T, StoreError> {
    let text: String = cells.get(column)?;
    serde_json::from_str(&text).map_err(|e| corrupt(column, e.to_string()))
}

fn cursor_json(cursor: &SyncCursor) -> String {
    serde_json::to_string(cursor).expect("cursor always serialises")
}

fn lease_until(now: DateTime<Utc>, lease: Duration) -> SqliteTime {
    SqliteTime(lease_end(now, lease))
}

/// A timestamp as SQLite keeps it: RFC 3339 text with microseconds and `Z`, one format for every
/// column, so that timestamps compare as text in SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct SqliteTime(pub DateTime<Utc>);

impl sqlx::Type<Sqlite> for SqliteTime {
    fn type_info() -> SqliteTypeInfo {
        <String as sqlx::Type<Sqlite>>::type_info()
    }

    fn compatible(ty: &SqliteTypeInfo) -> bool {
        <String as sqlx::Type<Sqlite>>::compatible(ty)
    }
}

impl<'q> sqlx::Encode<'q, Sqlite> for SqliteTime {
    fn encode_by_ref(
        &self,
        buf: &mut <Sqlite as sqlx::Database>::ArgumentBuffer<'q>,
    ) -> Result<IsNull, BoxDynError> {
        let text = self.0.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        <String as sqlx::Encode<'q, Sqlite>>::encode(text, buf)
    }
}

impl<'r> sqlx::Decode<'r, Sqlite> for SqliteTime {
    fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
        let text = <&str as sqlx::Decode<'r, Sqlite>>::decode(value)?;
        Ok(SqliteTime(
            DateTime::parse_from_rfc3339(text)?.with_timezone(&Utc),
        ))
    }
}
