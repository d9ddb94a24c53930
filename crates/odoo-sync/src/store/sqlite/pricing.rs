//! Pricelist rules and variant prices on SQLite. A product whose price changes gets a new
//! `change_seq`, so the change feed and the websites that follow it see price changes.

use std::collections::{BTreeSet, HashMap};

use async_trait::async_trait;
use chrono::Utc;
use sqlx::SqliteConnection;

use super::outbox::queue_site_change;
use super::write::insert_in_chunks;
use super::SqliteTime;
use super::{put_state, renew_change_seqs, state_value, SqliteStore};
use crate::domain::pricelist::{category_chain, PricedVariant, Pricelist, PricelistRule};
use crate::domain::site_event::CatalogChange;
use crate::store::stored::{corrupt, pricelist_from_row, Cells};
use crate::store::{pricing_state_key, PricingState, PricingStore, StoreError, VariantPrice};

#[async_trait]
impl PricingStore for SqliteStore {
    async fn set_pricelists(&self, pricelists: &[Pricelist]) -> Result<(), StoreError> {
        let ids: Vec<i64> = pricelists.iter().map(|pricelist| pricelist.id).collect();
        let ids = serde_json::to_string(&ids).expect("ids serialise");
        let keys: Vec<String> = pricelists.iter().map(|p| pricing_state_key(p.id)).collect();
        let mut tx = self.begin_write().await?;
        let conn: &mut SqliteConnection = &mut tx;
        for (table, column) in [
            ("pricelist", "pricelist_id"),
            ("pricelist_rule", "pricelist_id"),
            ("variant_price", "pricelist_id"),
        ] {
            sqlx::query(&format!(
                "delete from {table} where {column} not in (select value from json_each(?))"
            ))
            .bind(&ids)
            .execute(&mut *conn)
            .await?;
        }
        sqlx::query(
            "delete from sync_state where key like 'pricing:%' \
             and key not in (select value from json_each(?))",
        )
        .bind(serde_json::to_string(&keys).expect("keys serialise"))
        .execute(&mut *conn)
        .await?;
        for (position, pricelist) in pricelists.iter().enumerate() {
            sqlx::query(
                "insert into pricelist (pricelist_id, name, currency, position, updated_at) \
                 values (?, ?, ?, ?, ?) on conflict (pricelist_id) do update set \
                 name = excluded.name, currency = excluded.currency, position = excluded.position, \
                 updated_at = excluded.updated_at \
                 where (name, currency, position) is not (excluded.name, excluded.currency, excluded.position)",
            )
            .bind(pricelist.id)
            .bind(&pricelist.name)
            .bind(&pricelist.currency)
            .bind(position as i64)
            .bind(SqliteTime(Utc::now()))
            .execute(&mut *conn)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn pricelists(&self) -> Result<Vec<Pricelist>, StoreError> {
        let rows =
            sqlx::query("select pricelist_id, name, currency from pricelist order by position")
                .fetch_all(&self.pool)
                .await?;
        rows.iter().map(pricelist_from_row).collect()
    }

    async fn pricelist_rules(&self, pricelist: i64) -> Result<Vec<PricelistRule>, StoreError> {
        let texts: Vec<String> = sqlx::query_scalar(
            "select rule from pricelist_rule where pricelist_id = ? order by rule_id",
        )
        .bind(pricelist)
        .fetch_all(&self.pool)
        .await?;
        texts
            .iter()
            .map(|text| {
                serde_json::from_str(text).map_err(|e| corrupt("pricelist rule", e.to_string()))
            })
            .collect()
    }

    async fn replace_pricelist_rules(
        &self,
        pricelist: i64,
        rules: &[PricelistRule],
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let conn: &mut SqliteConnection = &mut tx;
        sqlx::query("delete from pricelist_rule where pricelist_id = ?")
            .bind(pricelist)
            .execute(&mut *conn)
            .await?;
        for rule in rules {
            sqlx::query(
                "insert into pricelist_rule (pricelist_id, rule_id, rule, write_date) \
                 values (?, ?, ?, ?)",
            )
            .bind(pricelist)
            .bind(rule.id)
            .bind(serde_json::to_string(rule).expect("a rule serialises"))
            .bind(rule.write_date.format("%Y-%m-%d %H:%M:%S").to_string())
            .execute(&mut *conn)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn pricing_state(&self, pricelist: i64) -> Result<Option<PricingState>, StoreError> {
        let text = state_value(&self.pool, &pricing_state_key(pricelist)).await?;
        text.map(|text| {
            serde_json::from_str(&text).map_err(|e| corrupt("pricing state", e.to_string()))
        })
        .transpose()
    }

    /// The live variants of products changed after `after_seq`, with their category chains, and
    /// the newest `change_seq` among all products.
    async fn variants_to_price(
        &self,
        after_seq: i64,
    ) -> Result<(Vec<PricedVariant>, i64), StoreError> {
        let mut conn = self.pool.acquire().await?;
        let newest: i64 = sqlx::query_scalar("select coalesce(max(change_seq), 0) from product")
            .fetch_one(&mut *conn)
            .await?;
        let parents: HashMap<i64, Option<i64>> =
            sqlx::query("select category_id, parent_id from category")
                .fetch_all(&mut *conn)
                .await?
                .iter()
                .map(|row| {
                    let cells = Cells::new(row, "category", "category_id");
                    Ok((cells.get("category_id")?, cells.get("parent_id")?))
                })
                .collect::<Result<_, StoreError>>()?;
        let rows = sqlx::query(
            "select v.variant_id, v.product_id, v.lst_price, p.category_id from variant v \
             join product p on p.product_id = v.product_id \
             where p.deleted_at is null and p.change_seq > ? and p.change_seq <= ?",
        )
        .bind(after_seq)
        .bind(newest)
        .fetch_all(&mut *conn)
        .await?;
        let variants = rows
            .iter()
            .map(|row| {
                let cells = Cells::new(row, "variant", "variant_id");
                Ok(PricedVariant {
                    variant_id: cells.get("variant_id")?,
                    template_id: cells.get("product_id")?,
                    categories: category_chain(&parents, cells.get("category_id")?),
                    list_price: cells.get("lst_price")?,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        Ok((variants, newest))
    }

    /// Writes the prices that changed, gives their products a new `change_seq`, and saves the
    /// state, in one transaction. Returns how many variant prices changed.
    async fn set_prices(
        &self,
        pricelist: i64,
        prices: &[VariantPrice],
        state: &PricingState,
    ) -> Result<u64, StoreError> {
        let mut tx = self.begin_write().await?;
        let conn: &mut SqliteConnection = &mut tx;
        let now = SqliteTime(Utc::now());
        let changed = changed_prices(conn, pricelist, prices).await?;
        insert_in_chunks(
            conn,
            "insert into variant_price (pricelist_id, variant_id, price, rule_id, updated_at) ",
            &changed,
            |mut row, price| {
                row.push_bind(pricelist)
                    .push_bind(price.variant_id)
                    .push_bind(price.price)
                    .push_bind(price.rule_id)
                    .push_bind(now);
            },
            " on conflict (variant_id, pricelist_id) do update set price = excluded.price, \
             rule_id = excluded.rule_id, updated_at = excluded.updated_at",
        )
        .await?;
        let products: BTreeSet<i64> = changed.iter().map(|price| price.template_id).collect();
        let change = CatalogChange {
            upserted: products.clone(),
            ..CatalogChange::default()
        };
        renew_change_seqs(conn, &products, now).await?;
        let state = serde_json::to_string(state).expect("the pricing state serialises");
        put_state(conn, &pricing_state_key(pricelist), &state).await?;
        let queued = queue_site_change(conn, &self.site, change).await?;
        let changed = changed.len() as u64;
        tx.commit().await?;
        self.site.rung(queued);
        Ok(changed)
    }
}

/// The prices that differ from the stored ones (or are not stored yet), read in one statement.
async fn changed_prices<'a>(
    conn: &mut SqliteConnection,
    pricelist: i64,
    prices: &'a [VariantPrice],
) -> Result<Vec<&'a VariantPrice>, StoreError> {
    let ids: Vec<i64> = prices.iter().map(|price| price.variant_id).collect();
    let stored: HashMap<i64, (Option<f64>, Option<i64>)> = sqlx::query(
        "select variant_id, price, rule_id from variant_price \
         where pricelist_id = ? and variant_id in (select value from json_each(?))",
    )
    .bind(pricelist)
    .bind(serde_json::to_string(&ids).expect("ids serialise"))
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|row| {
        let cells = Cells::new(row, "variant_price", "variant_id");
        Ok((
            cells.get("variant_id")?,
            (cells.get("price")?, cells.get("rule_id")?),
        ))
    })
    .collect::<Result<_, StoreError>>()?;
    Ok(prices
        .iter()
        .filter(|price| stored.get(&price.variant_id) != Some(&(price.price, price.rule_id)))
        .collect())
}
