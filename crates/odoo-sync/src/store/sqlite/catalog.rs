//! The catalog API's reads on SQLite: filtered, keyset-paged product lists, the category tree
//! with counts, one product, the change feed, and the catalog version that validates them.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use async_trait::async_trait;
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::storefront::{load_attributes, ATTRIBUTE_ROW_OBJECT};
use super::SqliteTime;
use super::{load_categories, load_translations, load_variants, stored_product, SqliteStore};
use crate::domain::{Category, Translation, Variant};
use crate::store::facet_index::{self, FacetIndex, IndexRows};
use crate::store::facets::{self, Part, Sql};
use crate::store::query::category_nodes;
use crate::store::stored::{corrupt, parse_odoo_datetime, Cells, PricesByPricelist};
use crate::store::storefront::{group_attributes, scope_predicate, AttributeRow};
use crate::store::{
    fts_query, CatalogReader, CategoryNode, Change, ChangePage, Facets, ProductPage, ProductQuery,
    ProductSort, SortKey, StockLevel, StoreError, StoredProduct,
};

/// Above this many full-text matches, a search page walks the index of its sort order instead
/// of sorting every match: about where both cost the same on a 25-product page of a catalog of
/// 40,000 (walking costs ~25 × catalog / matches row checks, sorting ~matches look-ups).
const WALK_SORT_INDEX_ABOVE_MATCHES: i64 = 1_000;

/// The products of the `page` CTE with their category, variants (with stock, in position order)
/// and translations in one statement: one round trip per answer instead of five, and one
/// snapshot, so a page never mixes a product with another write's children.
fn push_select_with_children(sql: &mut QueryBuilder<Sqlite>) {
    sql.push(
        " select page.*, c.name as category_name, c.complete_name as category_complete_name, \
         c.parent_id as category_parent_id, c.write_date as category_write_date, \
         (select json_group_array(json_array(v.variant_id, v.default_code, v.barcode, v.lst_price, \
           v.active, json(v.attribute_value_ids), v.write_date, s.qty_available, s.free_qty, \
           json((select json_group_object(pr.pricelist_id, pr.price) from variant_price pr \
                 where pr.variant_id = v.variant_id))) \
           order by v.position) \
          from variant v left join variant_stock s on s.variant_id = v.variant_id \
          where v.product_id = page.product_id) as variants_json, \
         (select json_group_array(json_array(t.lang, t.name, t.description_sale)) \
          from product_translation t where t.product_id = page.product_id) as translations_json, ",
    );
    sql.push(format!(
        "(select json_group_array(json({ATTRIBUTE_ROW_OBJECT}) order by a.position) \
          from product_attribute_value a where a.product_id = page.product_id) as attributes_json "
    ));
    sql.push(" from page left join category c on c.category_id = page.category_id");
}

/// A variant as `push_select_with_children` encodes it: id, default_code, barcode, lst_price,
/// active, attribute value ids, write_date, then stock (null when never seen), then the prices
/// by pricelist id (a null price: not computable).
type VariantColumns = (
    i64,
    Option<String>,
    Option<String>,
    f64,
    i64,
    Vec<i64>,
    String,
    Option<f64>,
    Option<f64>,
    PricesByPricelist,
);

fn product_with_children(row: &SqliteRow) -> Result<StoredProduct, StoreError> {
    let mut stored = stored_product(row, &HashMap::new())?;
    let cells = Cells::new(row, "product", "product_id");
    let category_name: Option<String> = cells.get("category_name")?;
    stored.category = match category_name {
        Some(name) => Some(Category {
            id: stored.product.categ_id.unwrap_or_default(),
            name,
            complete_name: cells.get("category_complete_name")?,
            parent_id: cells.get("category_parent_id")?,
            write_date: parse_odoo_datetime(cells.get("category_write_date")?)?,
        }),
        None => None,
    };
    let variants: Vec<VariantColumns> = json_text(&cells, "variants_json")?;
    for (id, default_code, barcode, lst_price, active, attributes, write_date, qty, free, price) in
        variants
    {
        if !price.is_empty() {
            stored.prices.insert(id, price.decode()?);
        }
        if let (Some(qty_available), Some(free_qty)) = (qty, free) {
            let level = StockLevel {
                variant_id: id,
                qty_available,
                free_qty,
            };
            stored.stock.insert(id, level);
        }
        stored.product.variants.push(Variant {
            id,
            default_code,
            barcode,
            lst_price,
            active: active != 0,
            product_template_attribute_value_ids: attributes,
            write_date: parse_odoo_datetime(&write_date)?,
        });
    }
    let attributes: Vec<AttributeRow> = json_text(&cells, "attributes_json")?;
    stored.product.storefront.attributes = group_attributes(attributes);
    let translations: Vec<(String, String, Option<String>)> =
        json_text(&cells, "translations_json")?;
    stored.product.translations = translations
        .into_iter()
        .map(|(lang, name, description_sale)| {
            (
                lang,
                Translation {
                    name,
                    description_sale,
                },
            )
        })
        .collect();
    Ok(stored)
}

fn json_text<T: serde::de::DeserializeOwned>(
    cells: &Cells<'_, SqliteRow>,
    column: &str,
) -> Result<T, StoreError> {
    let text: String = cells.get(column)?;
    serde_json::from_str(&text).map_err(|e| corrupt(column, e.to_string()))
}

fn push_keyset(sql: &mut QueryBuilder<Sqlite>, after: Option<&SortKey>) {
    match after {
        None => {}
        Some(SortKey::Name { name, id }) => {
            sql.push(" and (p.name > ").push_bind(name.clone());
            sql.push(" or (p.name = ")
                .push_bind(name.clone())
                .push(" and p.product_id > ")
                .push_bind(*id)
                .push("))");
        }
        Some(SortKey::Price { price, id }) => {
            sql.push(" and (p.list_price > ").push_bind(*price);
            sql.push(" or (p.list_price = ")
                .push_bind(*price)
                .push(" and p.product_id > ")
                .push_bind(*id)
                .push("))");
        }
        Some(SortKey::Updated { write_date, id }) => {
            sql.push(" and (p.write_date < ")
                .push_bind(write_date.clone());
            sql.push(" or (p.write_date = ")
                .push_bind(write_date.clone());
            sql.push(" and p.product_id < ").push_bind(*id).push("))");
        }
    }
}

fn sort_key(row: &SqliteRow, sort: ProductSort) -> Result<SortKey, StoreError> {
    let cells = Cells::new(row, "product", "product_id");
    let id: i64 = cells.get("product_id")?;
    Ok(match sort {
        ProductSort::Name => SortKey::Name {
            name: cells.get("name")?,
            id,
        },
        ProductSort::Price => SortKey::Price {
            price: cells.get("list_price")?,
            id,
        },
        ProductSort::Updated => SortKey::Updated {
            write_date: cells.get("write_date")?,
            id,
        },
    })
}

/// Pushes `sql` (text and values) onto a statement.
fn push_parts(builder: &mut QueryBuilder<Sqlite>, sql: Sql) {
    for part in sql.0 {
        match part {
            Part::Sql(text) => builder.push(text),
            Part::Int(value) => builder.push_bind(value),
            Part::Float(value) => builder.push_bind(value),
            Part::Text(value) => builder.push_bind(value),
        };
    }
}

/// The query's conditions on the product `p` other than attributes, price and stock (those are
/// `facets::narrowing`'s): activity, category, scope, website category, full text. `None`
/// when its text can match nothing. A page (`paged`) of many matches walks its sort order's index.
async fn filters(
    conn: &mut SqliteConnection,
    query: &ProductQuery,
    paged: bool,
) -> Result<Option<Sql>, StoreError> {
    let mut sql = Sql::default();
    if !query.include_inactive {
        sql.text(" and p.active = 1");
    }
    if let Some(category) = query.category {
        sql.text(" and p.category_id in (with recursive below(id) as (select ")
            .int(category)
            .text(" union all select c.category_id from category c join below on c.parent_id = below.id) select id from below)");
    }
    sql.text(scope_predicate(query.scope, "p"));
    if let Some(category) = query.public_category {
        sql.text(
            " and exists (select 1 from json_each(p.public_categ_ids) pc where pc.value in \
             (with recursive below(id) as (select ",
        )
        .int(category)
        .text(
            " union all select c.public_category_id from public_category c \
             join below on c.parent_id = below.id) select id from below))",
        );
    }
    if let Some(text) = query.text.as_deref() {
        let Some(fts) = fts_query(text) else {
            return Ok(None);
        };
        let matches: i64 =
            sqlx::query_scalar("select count(*) from product_search where product_search match ?")
                .bind(&fts)
                .fetch_one(&mut *conn)
                .await?;
        if matches == 0 {
            return Ok(None);
        }
        // Few matches: look each one up and sort them. Many: walk the sort order's index and keep
        // the matches, which stops after a page (the unary + keeps SQLite from driving by id).
        sql.text(if paged && matches > WALK_SORT_INDEX_ABOVE_MATCHES {
            " and +p.product_id"
        } else {
            " and p.product_id"
        });
        sql.text(" in (select rowid from product_search where product_search match ")
            .string(fts)
            .text(")");
    }
    Ok(Some(sql))
}

#[async_trait]
impl CatalogReader for SqliteStore {
    async fn export(&self, include_deleted: bool) -> Result<Vec<StoredProduct>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let categories = load_categories(&mut conn).await?;
        let mut variants = load_variants(&mut conn).await?;
        let mut translations = load_translations(&mut conn).await?;
        let mut attributes = load_attributes(&mut conn).await?;
        let rows = sqlx::query(
            "select * from product where (? or deleted_at is null) order by product_id",
        )
        .bind(include_deleted)
        .fetch_all(&mut *conn)
        .await?;
        rows.iter()
            .map(|row| {
                let mut stored = stored_product(row, &categories)?;
                stored.product.variants = variants.remove(&stored.product.id).unwrap_or_default();
                stored.product.translations =
                    translations.remove(&stored.product.id).unwrap_or_default();
                stored.product.storefront.attributes =
                    attributes.remove(&stored.product.id).unwrap_or_default();
                Ok(stored)
            })
            .collect()
    }

    async fn list_products(&self, query: &ProductQuery) -> Result<ProductPage, StoreError> {
        if query.has_storefront_filters() {
            if let Some(page) = self.page_from_index(query).await? {
                return Ok(page);
            }
        }
        let mut pooled = self.pool.acquire().await?;
        let conn: &mut SqliteConnection = &mut pooled;
        let mut sql: QueryBuilder<Sqlite> =
            QueryBuilder::new("with page as (select p.* from product p where p.deleted_at is null");
        let Some(filters) = filters(conn, query, true).await? else {
            return Ok(ProductPage::default());
        };
        push_parts(&mut sql, filters);
        push_parts(&mut sql, facets::narrowing(query, "p"));
        push_keyset(&mut sql, query.after.as_ref());
        sql.push(query.sort.order_by("p"));
        sql.push(" limit ");
        sql.push_bind(i64::from(query.limit) + 1);
        sql.push(")");
        push_select_with_children(&mut sql);
        sql.push(query.sort.order_by("page"));
        let rows = sql.build().fetch_all(&mut *conn).await?;
        let has_more = rows.len() > query.limit as usize;
        let shown = &rows[..rows.len().min(query.limit as usize)];
        let next = if has_more {
            shown
                .last()
                .map(|row| sort_key(row, query.sort))
                .transpose()?
        } else {
            None
        };
        let products = shown
            .iter()
            .map(product_with_children)
            .collect::<Result<_, _>>()?;
        Ok(ProductPage { products, next })
    }

    async fn facets(&self, query: &ProductQuery) -> Result<Facets, StoreError> {
        let text_matches = match query.text {
            Some(_) => text_matches(&mut *self.pool.acquire().await?, query).await?,
            None => None,
        };
        let index = self.current_facet_index().await?;
        Ok(index.facets(query, text_matches.as_ref()))
    }

    async fn attribute_of_values(&self, values: &[i64]) -> Result<Vec<(i64, i64)>, StoreError> {
        if values.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self
            .current_facet_index()
            .await?
            .attribute_of_values(values))
    }

    async fn product(&self, id: i64) -> Result<Option<StoredProduct>, StoreError> {
        let mut pooled = self.pool.acquire().await?;
        let conn: &mut SqliteConnection = &mut pooled;
        let mut sql: QueryBuilder<Sqlite> =
            QueryBuilder::new("with page as (select * from product where product_id = ");
        sql.push_bind(id).push(")");
        push_select_with_children(&mut sql);
        let row = sql.build().fetch_optional(&mut *conn).await?;
        row.as_ref().map(product_with_children).transpose()
    }

    async fn product_by_sku(&self, sku: &str) -> Result<Option<StoredProduct>, StoreError> {
        let mut pooled = self.pool.acquire().await?;
        let conn: &mut SqliteConnection = &mut pooled;
        let mut sql: QueryBuilder<Sqlite> = QueryBuilder::new(
            "with page as (select * from product where deleted_at is null and (default_code = ",
        );
        sql.push_bind(sku);
        sql.push(" or product_id in (select product_id from variant where default_code = ");
        sql.push_bind(sku);
        sql.push(")) order by product_id limit 1)");
        push_select_with_children(&mut sql);
        let row = sql.build().fetch_optional(&mut *conn).await?;
        row.as_ref().map(product_with_children).transpose()
    }

    async fn category_tree(&self) -> Result<Vec<CategoryNode>, StoreError> {
        let mut pooled = self.pool.acquire().await?;
        let conn: &mut SqliteConnection = &mut pooled;
        let categories = load_categories(conn).await?;
        let rows = sqlx::query(
            "select category_id, count(*) as products from product \
             where deleted_at is null and active = 1 and category_id is not null group by category_id",
        )
        .fetch_all(&mut *conn)
        .await?;
        let direct: HashMap<i64, u64> = rows
            .iter()
            .map(|row| {
                let cells = Cells::new(row, "product", "category_id");
                Ok((
                    cells.get("category_id")?,
                    cells.get::<i64>("products")? as u64,
                ))
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(category_nodes(categories, &direct))
    }

    async fn catalog_version(&self) -> Result<i64, StoreError> {
        self.version_reads.of_pool(&self.pool).await
    }

    async fn changes_since(&self, seq: i64, limit: u32) -> Result<ChangePage, StoreError> {
        let mut pooled = self.pool.acquire().await?;
        let conn: &mut SqliteConnection = &mut pooled;
        let mut rows = sqlx::query(
            "select product_id, change_seq, deleted_at is not null as deleted, updated_at from product \
             where change_seq > ? order by change_seq limit ?",
        )
        .bind(seq)
        .bind(i64::from(limit) + 1)
        .fetch_all(&mut *conn)
        .await?;
        let has_more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let changes = rows
            .iter()
            .map(|row| {
                let cells = Cells::new(row, "product", "product_id");
                Ok(Change {
                    product_id: cells.get("product_id")?,
                    seq: cells.get("change_seq")?,
                    deleted: cells.get("deleted")?,
                    changed_at: cells.get::<SqliteTime>("updated_at")?.0,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let last_seq = changes.last().map_or(seq, |change| change.seq);
        Ok(ChangePage {
            changes,
            last_seq,
            has_more,
        })
    }

    async fn product_count(&self) -> Result<u64, StoreError> {
        let count: i64 =
            sqlx::query_scalar("select count(*) from product where deleted_at is null")
                .fetch_one(&self.pool)
                .await?;
        Ok(count as u64)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("select 1")
            .execute(&self.pool)
            .await
            .map_err(|source| StoreError::Unavailable {
                at: self.at.clone(),
                source,
            })?;
        Ok(())
    }
}

/// The products `query`'s full text matches (`None`: it has no text; empty: it can match
/// nothing), as the facet index takes them.
async fn text_matches(
    conn: &mut SqliteConnection,
    query: &ProductQuery,
) -> Result<Option<HashSet<i64>>, StoreError> {
    let Some(text) = query.text.as_deref() else {
        return Ok(None);
    };
    let Some(fts) = fts_query(text) else {
        return Ok(Some(HashSet::new()));
    };
    let ids: Vec<i64> =
        sqlx::query_scalar("select rowid from product_search where product_search match ?")
            .bind(fts)
            .fetch_all(&mut *conn)
            .await?;
    Ok(Some(ids.into_iter().collect()))
}

impl SqliteStore {
    /// A page whose ids the facet index picks, read in one snapshot of the same catalog
    /// version; `None` when the catalog moved on since the index was read (the caller then asks
    /// the list statement).
    async fn page_from_index(
        &self,
        query: &ProductQuery,
    ) -> Result<Option<ProductPage>, StoreError> {
        let index = self.current_facet_index().await?;
        let mut tx = self.pool.begin().await?;
        let now: i64 = sqlx::query_scalar(facet_index::VERSION_SQL)
            .fetch_one(&mut *tx)
            .await?;
        if now != index.version() {
            return Ok(None);
        }
        let text_matches = text_matches(&mut tx, query).await?;
        let page = index.page(query, text_matches.as_ref());
        let mut sql: QueryBuilder<Sqlite> = QueryBuilder::new(
            "with page as (select p.* from product p where p.deleted_at is null \
             and p.product_id in (select value from json_each(",
        );
        sql.push_bind(serde_json::to_string(&page.ids).expect("ids serialize"));
        sql.push(")))");
        push_select_with_children(&mut sql);
        let rows = sql.build().fetch_all(&mut *tx).await?;
        tx.commit().await?;
        let products = rows
            .iter()
            .map(product_with_children)
            .collect::<Result<Vec<_>, _>>();
        page.with_products(products?).map(Some)
    }

    /// The facet index of the catalog's current version (or a newer one).
    async fn current_facet_index(&self) -> Result<Arc<FacetIndex>, StoreError> {
        let version = self.catalog_version().await?;
        self.facet_index
            .at_least(version, || self.read_facet_index())
            .await
    }

    /// What the facet index is made of, in one read transaction (one snapshot).
    async fn read_facet_index(&self) -> Result<IndexRows, StoreError> {
        let mut tx = self.pool.begin().await?;
        let rows = facet_index::read_index_rows!(&mut *tx)?;
        tx.commit().await?;
        Ok(rows)
    }
}
