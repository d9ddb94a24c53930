//! Pricelist rules and variant prices on PostgreSQL. A product whose price changes gets a new
//! `change_seq`, so the change feed and the websites that follow it see price changes.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use async_trait::async_trait;
use chrono::Utc;
use sqlx::types::Json;
use sqlx::PgConnection;

use super::outbox::queue_site_change;
use super::{put_state, renew_change_seqs, state_value, PgStore};
use crate::domain::pricelist::{category_chain, PricedVariant, Pricelist, PricelistRule};
use crate::domain::site_event::CatalogChange;
use crate::store::stored::{corrupt, pricelist_from_row, Cells};
use crate::store::{pricing_state_key, PricingState, PricingStore, StoreError, VariantPrice};

#[async_trait]
impl PricingStore for PgStore {
    async fn set_pricelists(&self, pricelists: &[Pricelist]) -> Result<(), StoreError> {
        let ids: Vec<i64> = pricelists.iter().map(|pricelist| pricelist.id).collect();
        let keys: Vec<String> = ids.iter().map(|id| pricing_state_key(*id)).collect();
        let mut tx = self.begin_catalog_write().await?;
        let conn: &mut PgConnection = &mut tx;
        for table in ["pricelist", "pricelist_rule", "variant_price"] {
            sqlx::query(&format!(
                "delete from {table} where pricelist_id <> all($1)"
            ))
            .bind(&ids)
            .execute(&mut *conn)
            .await?;
        }
        sqlx::query("delete from sync_state where key like 'pricing:%' and key <> all($1)")
            .bind(&keys)
            .execute(&mut *conn)
            .await?;
        sqlx::query(
            "insert into pricelist (pricelist_id, name, currency, position, updated_at) \
             select l.*, $5 from unnest($1::bigint[], $2::text[], $3::text[], $4::int[]) \
               as l(pricelist_id, name, currency, position) \
             on conflict (pricelist_id) do update set name = excluded.name, \
             currency = excluded.currency, position = excluded.position, \
             updated_at = excluded.updated_at \
             where (pricelist.name, pricelist.currency, pricelist.position) \
               is distinct from (excluded.name, excluded.currency, excluded.position)",
        )
        .bind(&ids)
        .bind(
            pricelists
                .iter()
                .map(|p| p.name.clone())
                .collect::<Vec<_>>(),
        )
        .bind(
            pricelists
                .iter()
                .map(|p| p.currency.clone())
                .collect::<Vec<_>>(),
        )
        .bind((0..pricelists.len() as i32).collect::<Vec<i32>>())
        .bind(Utc::now())
        .execute(&mut *conn)
        .await?;
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
        let rules: Vec<Json<serde_json::Value>> = sqlx::query_scalar(
            "select rule from pricelist_rule where pricelist_id = $1 order by rule_id",
        )
        .bind(pricelist)
        .fetch_all(&self.pool)
        .await?;
        rules
            .into_iter()
            .map(|Json(rule)| {
                serde_json::from_value(rule).map_err(|e| corrupt("pricelist rule", e.to_string()))
            })
            .collect()
    }

    async fn replace_pricelist_rules(
        &self,
        pricelist: i64,
        rules: &[PricelistRule],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let conn: &mut PgConnection = &mut tx;
        sqlx::query("delete from pricelist_rule where pricelist_id = $1")
            .bind(pricelist)
            .execute(&mut *conn)
            .await?;
        let rules: BTreeMap<i64, &PricelistRule> =
            rules.iter().map(|rule| (rule.id, rule)).collect();
        sqlx::query(
            "insert into pricelist_rule (pricelist_id, rule_id, rule, write_date) \
             select $4, r.* from unnest($1::bigint[], $2::jsonb[], $3::timestamp[]) as r",
        )
        .bind(rules.keys().copied().collect::<Vec<i64>>())
        .bind(rules.values().map(Json).collect::<Vec<_>>())
        .bind(
            rules
                .values()
                .map(|rule| rule.write_date)
                .collect::<Vec<_>>(),
        )
        .bind(pricelist)
        .execute(&mut *conn)
        .await?;
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
    /// the newest `change_seq` among all products, read from one snapshot.
    async fn variants_to_price(
        &self,
        after_seq: i64,
    ) -> Result<(Vec<PricedVariant>, i64), StoreError> {
        let mut tx = self.snapshot().await?;
        let conn: &mut PgConnection = &mut tx;
        let newest: i64 = sqlx::query_scalar("select coalesce(max(change_seq), 0) from product")
            .fetch_one(&mut *conn)
            .await?;
        let parents = sqlx::query("select category_id, parent_id from category")
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|row| {
                let cells = Cells::new(row, "category", "category_id");
                Ok((cells.get("category_id")?, cells.get("parent_id")?))
            })
            .collect::<Result<HashMap<i64, Option<i64>>, StoreError>>()?;
        let rows = sqlx::query(
            "select v.variant_id, v.product_id, v.lst_price, p.category_id from variant v \
             join product p on p.product_id = v.product_id \
             where p.deleted_at is null and p.change_seq > $1 and p.change_seq <= $2",
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
        tx.commit().await?;
        Ok((variants, newest))
    }

    /// Writes the prices that changed, gives their products a new `change_seq`, and saves the
    /// state, in one catalog write (which holds the catalog version row). Returns how many
    /// variant prices changed.
    async fn set_prices(
        &self,
        pricelist: i64,
        prices: &[VariantPrice],
        state: &PricingState,
    ) -> Result<u64, StoreError> {
        let mut tx = self.begin_catalog_write().await?;
        let conn: &mut PgConnection = &mut tx;
        let now = Utc::now();
        let changed = changed_prices(conn, pricelist, prices).await?;
        if !changed.is_empty() {
            let mut last = BTreeMap::new();
            for price in &changed {
                last.insert(price.variant_id, *price);
            }
            sqlx::query(
                "insert into variant_price (pricelist_id, variant_id, price, rule_id, updated_at) \
                 select $5, p.*, $4 from unnest($1::bigint[], $2::float8[], $3::bigint[]) as p(variant_id, price, rule_id) \
                 on conflict (variant_id, pricelist_id) do update set price = excluded.price, \
                 rule_id = excluded.rule_id, updated_at = excluded.updated_at",
            )
            .bind(last.keys().copied().collect::<Vec<i64>>())
            .bind(last.values().map(|p| p.price).collect::<Vec<Option<f64>>>())
            .bind(last.values().map(|p| p.rule_id).collect::<Vec<Option<i64>>>())
            .bind(now)
            .bind(pricelist)
            .execute(&mut *conn)
            .await?;
        }
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
    conn: &mut PgConnection,
    pricelist: i64,
    prices: &'a [VariantPrice],
) -> Result<Vec<&'a VariantPrice>, StoreError> {
    let ids: Vec<i64> = prices.iter().map(|price| price.variant_id).collect();
    let stored = sqlx::query(
        "select variant_id, price, rule_id from variant_price \
         where pricelist_id = $1 and variant_id = any($2)",
    )
    .bind(pricelist)
    .bind(&ids)
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
    .collect::<Result<HashMap<i64, (Option<f64>, Option<i64>)>, StoreError>>()?;
    Ok(prices
        .iter()
        .filter(|price| stored.get(&price.variant_id) != Some(&(price.price, price.rule_id)))
        .collect())
}
