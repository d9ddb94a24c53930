//! The catalog API's reads on SQLite: filtered, keyset-paged product lists, the category tree
//! with counts, and the change feed.

use std::collections::HashMap;

use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};

use super::sqlite::{load_categories, product_with_children};
use super::{
    fts_query, CategoryNode, Change, ChangePage, ProductPage, ProductQuery, ProductSort, SortKey,
    StoreError,
};

pub(super) async fn list_products(
    conn: &mut SqliteConnection,
    query: &ProductQuery,
) -> Result<ProductPage, StoreError> {
    let mut sql: QueryBuilder<Sqlite> =
        QueryBuilder::new("select p.* from product p where p.deleted_at is null");
    if !query.include_inactive {
        sql.push(" and p.active = 1");
    }
    if let Some(category) = query.category {
        sql.push(" and p.category_id in (with recursive below(id) as (select ");
        sql.push_bind(category);
        sql.push(" union all select c.category_id from category c join below on c.parent_id = below.id) select id from below)");
    }
    if let Some(text) = query.text.as_deref() {
        match fts_query(text) {
            Some(fts) => {
                sql.push(" and p.product_id in (select rowid from product_search where product_search match ");
                sql.push_bind(fts);
                sql.push(")");
            }
            None => {
                sql.push(" and 0");
            }
        }
    }
    push_keyset(&mut sql, query.after.as_ref());
    sql.push(match query.sort {
        ProductSort::Name => " order by p.name, p.product_id",
        ProductSort::Price => " order by p.list_price, p.product_id",
        ProductSort::Updated => " order by p.write_date desc, p.product_id desc",
    });
    sql.push(" limit ");
    sql.push_bind(i64::from(query.limit) + 1);
    let mut rows = sql.build().fetch_all(&mut *conn).await?;
    let has_more = rows.len() > query.limit as usize;
    rows.truncate(query.limit as usize);
    let next = if has_more {
        rows.last().map(|row| sort_key(row, query.sort))
    } else {
        None
    };
    let products = product_with_children(conn, &rows).await?;
    Ok(ProductPage { products, next })
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

fn sort_key(row: &SqliteRow, sort: ProductSort) -> SortKey {
    let id: i64 = row.get("product_id");
    match sort {
        ProductSort::Name => SortKey::Name {
            name: row.get("name"),
            id,
        },
        ProductSort::Price => SortKey::Price {
            price: row.get("list_price"),
            id,
        },
        ProductSort::Updated => SortKey::Updated {
            write_date: row.get("write_date"),
            id,
        },
    }
}

pub(super) async fn category_tree(
    conn: &mut SqliteConnection,
) -> Result<Vec<CategoryNode>, StoreError> {
    let categories = load_categories(conn).await?;
    let rows = sqlx::query(
        "select category_id, count(*) as products from product \
         where deleted_at is null and active = 1 and category_id is not null group by category_id",
    )
    .fetch_all(&mut *conn)
    .await?;
    let direct: HashMap<i64, u64> = rows
        .iter()
        .map(|row| (row.get("category_id"), row.get::<i64, _>("products") as u64))
        .collect();
    let mut totals: HashMap<i64, u64> = HashMap::new();
    for (category, count) in &direct {
        // Walk up the tree once per category with products; trees are shallow.
        let mut current = Some(*category);
        let mut guard = 0;
        while let Some(id) = current.filter(|_| guard < 64) {
            *totals.entry(id).or_default() += count;
            current = categories.get(&id).and_then(|c| c.parent_id);
            guard += 1;
        }
    }
    let mut nodes: Vec<CategoryNode> = categories
        .into_values()
        .map(|category| CategoryNode {
            product_count: direct.get(&category.id).copied().unwrap_or(0),
            total_count: totals.get(&category.id).copied().unwrap_or(0),
            category,
        })
        .collect();
    nodes.sort_by(|a, b| a.category.complete_name.cmp(&b.category.complete_name));
    Ok(nodes)
}

pub(super) async fn changes_since(
    conn: &mut SqliteConnection,
    seq: i64,
    limit: u32,
) -> Result<ChangePage, StoreError> {
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
            Ok(Change {
                product_id: row.get("product_id"),
                seq: row.get("change_seq"),
                deleted: row.get("deleted"),
                changed_at: super::sqlite::parse_timestamp(row.get("updated_at"))?,
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
