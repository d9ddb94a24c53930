//! Storefront data on PostgreSQL: the product's storefront columns and attribute rows (written
//! with the product, see write.rs), the website category tree and its scope's members. The same
//! JSON parameters as SQLite's (store/storefront.rs), unpacked with `jsonb_to_recordset`.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::Utc;
use sqlx::types::Json;
use sqlx::PgConnection;

use super::outbox::queue_site_change;
use super::PgStore;
use crate::domain::{CatalogScope, Product, ProductAttribute, PublicCategory};
use crate::store::stored::Cells;
use crate::store::storefront::{
    attribute_rows_json, attributes_by_product, public_categories_json, public_category_change,
    scope_predicate, storefront_columns_json, AttributeRow,
};
use crate::store::{StoreError, StorefrontStore};

/// The record type of one attribute row in `jsonb_to_recordset`.
const ATTRIBUTE_ROW_TYPE: &str = "product_id bigint, position integer, attribute_id bigint, \
     attribute_name text, display_type text, value_id bigint, ptav_id bigint, name text, \
     html_color text, price_extra double precision, attribute_name_translations jsonb, \
     name_translations jsonb";

/// Writes the storefront columns and attribute rows of products just upserted (their old
/// attribute rows already deleted).
pub(super) async fn write_storefront(
    conn: &mut PgConnection,
    products: &[&Product],
) -> Result<(), StoreError> {
    sqlx::query(
        "update product set slug = j.slug, website_id = j.website_id, website_url = j.website_url, \
         seo_title = j.seo_title, seo_description = j.seo_description, ribbon = j.ribbon, \
         currency = j.currency \
         from jsonb_to_recordset($1::jsonb) as j(id bigint, slug text, website_id bigint, \
           website_url text, seo_title text, seo_description text, ribbon text, currency text) \
         where product.product_id = j.id",
    )
    .bind(storefront_columns_json(products))
    .execute(&mut *conn)
    .await?;
    sqlx::query(&format!(
        "insert into product_attribute_value (product_id, position, attribute_id, attribute_name, \
         display_type, value_id, ptav_id, name, html_color, price_extra, \
         attribute_name_translations, name_translations) \
         select * from jsonb_to_recordset($1::jsonb) as j({ATTRIBUTE_ROW_TYPE})"
    ))
    .bind(attribute_rows_json(products))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Every product's attributes, for the export.
pub(super) async fn load_attributes(
    conn: &mut PgConnection,
) -> Result<HashMap<i64, Vec<ProductAttribute>>, StoreError> {
    let Json(rows): Json<Vec<AttributeRow>> = sqlx::query_scalar(
        "select coalesce(json_agg(a), '[]'::json) from product_attribute_value a",
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(attributes_by_product(rows))
}

#[async_trait]
impl StorefrontStore for PgStore {
    async fn replace_public_categories(
        &self,
        categories: &[PublicCategory],
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_catalog_write().await?;
        // Read with the version row locked: no other catalog writer moves them meanwhile.
        let before = self.public_categories().await?;
        let json = public_categories_json(categories);
        sqlx::query(
            "delete from public_category where public_category_id not in \
             (select j.id from jsonb_to_recordset($1::jsonb) as j(id bigint))",
        )
        .bind(&json)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "insert into public_category (public_category_id, name, parent_id, sequence, website_id, \
               name_translations, updated_at) \
             select j.id, j.name, j.parent_id, j.sequence, j.website_id, \
               coalesce(j.translations, '{}'::jsonb), $2 \
             from jsonb_to_recordset($1::jsonb) as j(id bigint, name text, parent_id bigint, \
               sequence integer, website_id bigint, translations jsonb) \
             on conflict (public_category_id) do update set name = excluded.name, \
               parent_id = excluded.parent_id, sequence = excluded.sequence, \
               website_id = excluded.website_id, name_translations = excluded.name_translations, \
               updated_at = excluded.updated_at \
             where (public_category.name, public_category.parent_id, public_category.sequence, \
               public_category.website_id, public_category.name_translations) is distinct from \
               (excluded.name, excluded.parent_id, excluded.sequence, excluded.website_id, \
               excluded.name_translations)",
        )
        .bind(&json)
        .bind(Utc::now())
        .execute(&mut *tx)
        .await?;
        let change = public_category_change(&before, categories);
        let queued = queue_site_change(&mut tx, &self.site, change).await?;
        tx.commit().await?;
        self.site.rung(queued);
        Ok(())
    }

    async fn public_categories(&self) -> Result<Vec<PublicCategory>, StoreError> {
        let rows = sqlx::query("select * from public_category order by public_category_id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                let cells = Cells::new(row, "public_category", "public_category_id");
                Ok(PublicCategory {
                    id: cells.get("public_category_id")?,
                    name: cells.get("name")?,
                    parent_id: cells.get("parent_id")?,
                    sequence: i64::from(cells.get::<i32>("sequence")?),
                    website_id: cells.get("website_id")?,
                    translations: cells.get::<Json<_>>("name_translations")?.0,
                })
            })
            .collect()
    }

    async fn public_category_members(
        &self,
        scope: CatalogScope,
    ) -> Result<Vec<(i64, Vec<i64>)>, StoreError> {
        let rows: Vec<(i64, Json<Vec<i64>>)> = sqlx::query_as(&format!(
            "select p.product_id, p.public_categ_ids from product p \
             where p.deleted_at is null and p.active and p.public_categ_ids != '[]'::jsonb{}",
            scope_predicate(scope, "p")
        ))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(id, Json(ids))| (id, ids)).collect())
    }
}
