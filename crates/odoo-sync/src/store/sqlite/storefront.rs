//! Storefront data on SQLite: the product's storefront columns and attribute rows (written with
//! the product, see write.rs), the website category tree and its scope's members.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::Utc;
use sqlx::SqliteConnection;

use super::outbox::queue_site_change;
use super::{SqliteStore, SqliteTime};
use crate::domain::{CatalogScope, Product, ProductAttribute, PublicCategory};
use crate::store::stored::{corrupt, Cells};
use crate::store::storefront::{
    attribute_rows_json, attributes_by_product, public_categories_json, public_category_change,
    scope_predicate, storefront_columns_json, AttributeRow,
};
use crate::store::{StoreError, StorefrontStore};

/// The columns of one attribute row as `json_object` gives them (the names of `AttributeRow`).
pub(super) const ATTRIBUTE_ROW_OBJECT: &str = "json_object('product_id', a.product_id, \
     'position', a.position, 'attribute_id', a.attribute_id, 'attribute_name', a.attribute_name, \
     'display_type', a.display_type, 'value_id', a.value_id, 'ptav_id', a.ptav_id, 'name', a.name, \
     'html_color', a.html_color, 'price_extra', a.price_extra, \
     'attribute_name_translations', json(a.attribute_name_translations), \
     'name_translations', json(a.name_translations))";

/// Writes the storefront columns and attribute rows of products just upserted (their old
/// attribute rows already deleted).
pub(super) async fn write_storefront(
    conn: &mut SqliteConnection,
    products: &[&Product],
) -> Result<(), StoreError> {
    sqlx::query(
        "update product set slug = j.value ->> '$.slug', website_id = j.value ->> '$.website_id', \
         website_url = j.value ->> '$.website_url', seo_title = j.value ->> '$.seo_title', \
         seo_description = j.value ->> '$.seo_description', ribbon = j.value ->> '$.ribbon', \
         currency = j.value ->> '$.currency' \
         from json_each(?) j where product.product_id = j.value ->> '$.id'",
    )
    .bind(storefront_columns_json(products))
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "insert into product_attribute_value (product_id, position, attribute_id, attribute_name, \
         display_type, value_id, ptav_id, name, html_color, price_extra, \
         attribute_name_translations, name_translations) \
         select j.value ->> '$.product_id', j.value ->> '$.position', j.value ->> '$.attribute_id', \
           j.value ->> '$.attribute_name', j.value ->> '$.display_type', j.value ->> '$.value_id', \
           j.value ->> '$.ptav_id', j.value ->> '$.name', j.value ->> '$.html_color', \
           j.value ->> '$.price_extra', j.value -> '$.attribute_name_translations', \
           j.value -> '$.name_translations' \
         from json_each(?) j",
    )
    .bind(attribute_rows_json(products))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Every product's attributes, for the export.
pub(super) async fn load_attributes(
    conn: &mut SqliteConnection,
) -> Result<HashMap<i64, Vec<ProductAttribute>>, StoreError> {
    let text: String = sqlx::query_scalar(&format!(
        "select json_group_array(json({ATTRIBUTE_ROW_OBJECT})) from product_attribute_value a"
    ))
    .fetch_one(&mut *conn)
    .await?;
    let rows: Vec<AttributeRow> = serde_json::from_str(&text)
        .map_err(|e| corrupt("product_attribute_value", e.to_string()))?;
    Ok(attributes_by_product(rows))
}

#[async_trait]
impl StorefrontStore for SqliteStore {
    async fn replace_public_categories(
        &self,
        categories: &[PublicCategory],
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        // Read with the write gate held: no other writer of this process moves them meanwhile.
        let before = self.public_categories().await?;
        let json = public_categories_json(categories);
        sqlx::query(
            "delete from public_category where public_category_id not in \
             (select j.value ->> '$.id' from json_each(?) j)",
        )
        .bind(&json)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "insert into public_category (public_category_id, name, parent_id, sequence, website_id, \
               name_translations, updated_at) \
             select j.value ->> '$.id', j.value ->> '$.name', j.value ->> '$.parent_id', \
               j.value ->> '$.sequence', j.value ->> '$.website_id', j.value -> '$.translations', ? \
             from json_each(?) j where true \
             on conflict (public_category_id) do update set name = excluded.name, \
               parent_id = excluded.parent_id, sequence = excluded.sequence, \
               website_id = excluded.website_id, name_translations = excluded.name_translations, \
               updated_at = excluded.updated_at \
             where (public_category.name, public_category.parent_id, public_category.sequence, \
               public_category.website_id, public_category.name_translations) is not \
               (excluded.name, excluded.parent_id, excluded.sequence, excluded.website_id, \
               excluded.name_translations)",
        )
        .bind(SqliteTime(Utc::now()))
        .bind(&json)
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
                    sequence: cells.get("sequence")?,
                    website_id: cells.get("website_id")?,
                    translations: serde_json::from_str(&cells.get::<String>("name_translations")?)
                        .map_err(|e| corrupt("public_category.name_translations", e.to_string()))?,
                })
            })
            .collect()
    }

    async fn public_category_members(
        &self,
        scope: CatalogScope,
    ) -> Result<Vec<(i64, Vec<i64>)>, StoreError> {
        let rows: Vec<(i64, String)> = sqlx::query_as(&format!(
            "select p.product_id, p.public_categ_ids from product p \
             where p.deleted_at is null and p.active = 1 and p.public_categ_ids != '[]'{}",
            scope_predicate(scope, "p")
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(id, ids)| {
                let ids = serde_json::from_str(&ids)
                    .map_err(|e| corrupt("product.public_categ_ids", e.to_string()))?;
                Ok((id, ids))
            })
            .collect()
    }
}
