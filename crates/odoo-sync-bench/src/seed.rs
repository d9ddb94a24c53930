//! The seed's full sync, reimplemented faithfully: `search_read` with `offset` in pages of 200,
//! one after the other, default context (active products only), the 10 fields without
//! `qty_available`, each page upserted row by row into a fresh SQLite file in one transaction per
//! page (Python `sqlite3` defaults: rollback journal, `synchronous = FULL`).

use std::str::FromStr;
use std::time::Instant;

use odoo_rpc::{Context, Domain, Record, SearchOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{Connection, SqliteConnection};

use crate::case::{peak_rss_mb, SyncOutcome, Target};

const PAGE: u32 = 200;
const FIELDS: &[&str] = &[
    "id",
    "name",
    "default_code",
    "barcode",
    "list_price",
    "categ_id",
    "description_sale",
    "active",
    "sale_ok",
    "write_date",
];

const SCHEMA: &str = "create table if not exists product_template (
    id integer primary key, name text not null, default_code text, barcode text,
    list_price real, categ_id integer, description_sale text, active integer,
    sale_ok integer, write_date text)";

const UPSERT: &str = "insert into product_template
    (id, name, default_code, barcode, list_price, categ_id, description_sale, active, sale_ok, write_date)
    values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    on conflict (id) do update set name = excluded.name, default_code = excluded.default_code,
    barcode = excluded.barcode, list_price = excluded.list_price, categ_id = excluded.categ_id,
    description_sale = excluded.description_sale, active = excluded.active,
    sale_ok = excluded.sale_ok, write_date = excluded.write_date";

pub async fn run(target: &Target) -> anyhow::Result<SyncOutcome> {
    let started = Instant::now();
    let odoo = crate::sim::client(&target.sim_url).await?;
    let options =
        SqliteConnectOptions::from_str(&format!("sqlite://{}", target.db_path.display()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Delete)
            .synchronous(SqliteSynchronous::Full);
    let mut db = SqliteConnection::connect_with(&options).await?;
    sqlx::query(SCHEMA).execute(&mut db).await?;
    let mut offset = 0u32;
    let mut written = 0u64;
    loop {
        let options = SearchOptions {
            limit: Some(PAGE),
            offset: Some(offset),
            order: Some("id".to_string()),
            context: Context::default(),
            // The seed read many2one fields with their names.
            bare_many2one: false,
        };
        let page = odoo
            .search_read("product.template", &Domain::all(), FIELDS, &options)
            .await?;
        let mut tx = db.begin().await?;
        for record in &page {
            upsert(&mut tx, record).await?;
        }
        tx.commit().await?;
        written += page.len() as u64;
        if page.len() < PAGE as usize {
            break;
        }
        offset += PAGE;
    }
    Ok(SyncOutcome {
        wall_s: started.elapsed().as_secs_f64(),
        products: written,
        peak_rss_mb: peak_rss_mb(),
    })
}

async fn upsert(db: &mut SqliteConnection, record: &Record) -> anyhow::Result<()> {
    sqlx::query(UPSERT)
        .bind(record.id()?)
        .bind(record.get_str("name")?)
        .bind(record.get_str("default_code")?)
        .bind(record.get_str("barcode")?)
        .bind(record.get_f64("list_price")?)
        .bind(record.get_many2one("categ_id")?.map(|m| m.id))
        .bind(record.get_str("description_sale")?)
        .bind(record.get_bool("active")?)
        .bind(record.get_bool("sale_ok")?)
        .bind(record.get_str("write_date")?)
        .execute(db)
        .await?;
    Ok(())
}
