//! Facets and the filters they count (attribute values, price bounds, stock), written once for
//! both stores: the SQL here is text both SQLite and PostgreSQL accept, with its values kept
//! apart as [`Part`]s that each store binds with its own placeholders. Each store adds its own
//! base filters (category trees, full-text search, scope), which it already has for its lists.
//!
//! The counts, over the live products the query matches (its cursor and limit aside):
//! - an attribute's values count the products matching every filter except that attribute's
//!   own (a shop's facets: ticking "Red" leaves "Blue" countable);
//! - the price range is that of the products matching every filter except the price bounds (a
//!   price slider shows how far it can go);
//! - each category counts the products matching every filter that `category=ID` would show (in
//!   it or below it, each product once): product categories, or the website categories under
//!   `CATALOG_SCOPE=website`.
//!
//! The only text that differs between the dialects is [`Dialect::json_ids`]: how an array of
//! ids in a JSON column becomes rows.

use std::collections::BTreeMap;

use super::query::{AttributeFilter, ProductQuery};
use sqlx::{ColumnIndex, Decode, Row, Type};

use super::stored::{corrupt, Cells};
use super::StoreError;
use crate::domain::{CatalogScope, NameTranslations};

/// A piece of a statement: SQL text, or a value to bind.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Part {
    Sql(String),
    Int(i64),
    Float(f64),
    Text(String),
}

/// SQL text with its values in place, for a store to push onto its query builder.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Sql(pub Vec<Part>);

impl Sql {
    pub(super) fn text(&mut self, text: impl Into<String>) -> &mut Self {
        self.0.push(Part::Sql(text.into()));
        self
    }

    pub(super) fn int(&mut self, value: i64) -> &mut Self {
        self.0.push(Part::Int(value));
        self
    }

    fn float(&mut self, value: f64) -> &mut Self {
        self.0.push(Part::Float(value));
        self
    }

    pub(super) fn string(&mut self, value: String) -> &mut Self {
        self.0.push(Part::Text(value));
        self
    }

    fn append(&mut self, other: &Sql) -> &mut Self {
        self.0.extend(other.0.iter().cloned());
        self
    }

    fn ints(&mut self, values: &[i64]) -> &mut Self {
        for (i, value) in values.iter().enumerate() {
            if i > 0 {
                self.text(", ");
            }
            self.int(*value);
        }
        self
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// A `from` item named `j` whose column `value` holds the ids of a JSON array column.
    fn json_ids(self, column: &str) -> String {
        match self {
            Dialect::Sqlite => format!("json_each({column}) as j"),
            Dialect::Postgres => format!("jsonb_array_elements_text({column}) as j(value)"),
        }
    }
}

/// What the facets of a query count.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facets {
    /// Attributes in id order, each with its values (in id order) that count products.
    pub attributes: Vec<AttributeFacet>,
    pub price: PriceRange,
    /// Categories in id order with the products `category=ID` would add, those with none left out.
    pub categories: Vec<CategoryCount>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AttributeFacet {
    pub id: i64,
    pub name: String,
    pub translations: NameTranslations,
    pub values: Vec<ValueCount>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ValueCount {
    pub id: i64,
    pub name: String,
    pub translations: NameTranslations,
    pub count: u64,
}

/// The cheapest and dearest `list_price`; `None` when no product matches.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PriceRange {
    pub min: Option<f64>,
    pub max: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CategoryCount {
    pub id: i64,
    pub count: u64,
}

/// The attribute of each of `values` that some product offers.
pub(super) fn attribute_of_values(values: &[i64]) -> Sql {
    let mut sql = Sql::default();
    sql.text(
        "select distinct value_id, attribute_id from product_attribute_value where value_id in (",
    )
    .ints(values)
    .text(")");
    sql
}

/// Whether the product of `table` offers one of the filter's values. An `in` over the values'
/// index, not an `exists` per product: a value is on a few products of many.
fn offers(sql: &mut Sql, filter: &AttributeFilter, table: &str) {
    sql.text(format!(
        "{table}.product_id in (select fa.product_id from product_attribute_value fa \
         where fa.value_id in ("
    ))
    .ints(&filter.values)
    .text("))");
}

/// Whether the product of `table` has a variant still sold with some stock free to sell.
fn in_stock(table: &str) -> String {
    format!(
        "{table}.product_id in (select v.product_id from variant v \
         join variant_stock s on s.variant_id = v.variant_id where v.active = true and s.free_qty > 0)"
    )
}

fn price_bounds(sql: &mut Sql, query: &ProductQuery, table: &str) {
    if let Some(min) = query.price_min {
        sql.text(format!(" and {table}.list_price >= ")).float(min);
    }
    if let Some(max) = query.price_max {
        sql.text(format!(" and {table}.list_price <= ")).float(max);
    }
}

/// The conditions (each starting with ` and`) of the attribute, price and stock filters on the
/// product columns of `table`, for a product list.
pub(super) fn narrowing(query: &ProductQuery, table: &str) -> Sql {
    let mut sql = Sql::default();
    for filter in &query.attributes {
        sql.text(" and ");
        offers(&mut sql, filter, table);
    }
    price_bounds(&mut sql, query, table);
    if query.in_stock {
        sql.text(format!(" and {}", in_stock(table)));
    }
    sql
}

/// The facet statement, one row per count: `kind` (attribute, price, category), `id`, `name`,
/// `value_id`, `value_name`, `products`, `low`, `high`. `base` is the store's own conditions
/// (each starting with ` and`) on the product `p`: activity, category, scope, text. Each facet
/// is its own `select` over `product p` with the conditions it keeps, so that each can use an
/// index (a CTE of the filtered products would be copied whole first: too slow at 100k).
pub(super) fn facets_statement(query: &ProductQuery, dialect: Dialect, base: &Sql) -> Sql {
    let (table, key) = match query.scope {
        CatalogScope::All => ("category", "category_id"),
        CatalogScope::Website { .. } => ("public_category", "public_category_id"),
    };
    let mut sql = Sql::default();
    // up: every category with itself and each of its ancestors (`union` ends a cycle).
    sql.text(format!(
        "with recursive up(category_id, ancestor) as (select {key}, {key} from {table} \
         union select up.category_id, c.parent_id from up join {table} c on c.{key} = up.ancestor \
         where c.parent_id is not null)"
    ));
    let kept = |sql: &mut Sql, price: bool, attributes: bool| {
        sql.text(" where p.deleted_at is null").append(base);
        if query.in_stock {
            sql.text(format!(" and {}", in_stock("p")));
        }
        if price {
            price_bounds(sql, query, "p");
        }
        for filter in query.attributes.iter().filter(|_| attributes) {
            sql.text(" and ");
            offers(sql, filter, "p");
        }
    };
    // Each attribute's values, that attribute's own filter off.
    sql.text(
        " select 'attribute' as kind, a.attribute_id as id, min(a.attribute_name) as name, \
         a.value_id as value_id, min(a.name) as value_name, count(distinct a.product_id) as products, \
         cast(null as double precision) as low, cast(null as double precision) as high, \
         min(cast(a.attribute_name_translations as text)) as name_translations, \
         min(cast(a.name_translations as text)) as value_translations \
         from product_attribute_value a join product p on p.product_id = a.product_id",
    );
    kept(&mut sql, true, false);
    if !query.attributes.is_empty() {
        sql.text(" and case a.attribute_id");
        for (i, filter) in query.attributes.iter().enumerate() {
            sql.text(" when ")
                .int(filter.attribute_id)
                .text(" then (true");
            for (j, other) in query.attributes.iter().enumerate() {
                if j != i {
                    sql.text(" and ");
                    offers(&mut sql, other, "p");
                }
            }
            sql.text(")");
        }
        sql.text(" else (true");
        for filter in &query.attributes {
            sql.text(" and ");
            offers(&mut sql, filter, "p");
        }
        sql.text(") end");
    }
    sql.text(" group by a.attribute_id, a.value_id");
    // The price range, the price bounds off.
    sql.text(
        " union all select 'price', cast(null as bigint), cast(null as text), cast(null as bigint), \
         cast(null as text), count(*), min(p.list_price), max(p.list_price), cast(null as text), \
         cast(null as text) from product p",
    );
    kept(&mut sql, false, true);
    // Categories: products counted where they are, then added up the tree (`d`: ancestor, n).
    sql.text(
        " union all select 'category', d.ancestor, cast(null as text), cast(null as bigint), \
         cast(null as text), cast(sum(d.n) as bigint), cast(null as double precision), \
         cast(null as double precision), cast(null as text), cast(null as text) from ",
    );
    match query.scope {
        CatalogScope::All => {
            sql.text(
                "(select up.ancestor as ancestor, e.n as n from (select p.category_id as category_id, \
                 count(*) as n from product p",
            );
            kept(&mut sql, true, true);
            sql.text(" group by p.category_id) e join up on up.category_id = e.category_id) d");
        }
        CatalogScope::Website { .. } => {
            // Grouped by the array of website categories (few distinct ones), then each
            // ancestor once per array: a product in two categories under one parent counts once.
            sql.text(
                "(select distinct e.ids as ids, e.n as n, up.ancestor as ancestor from \
                 (select p.public_categ_ids as ids, count(*) as n from product p",
            );
            kept(&mut sql, true, true);
            sql.text(format!(
                " group by p.public_categ_ids) e cross join {} join up on up.category_id = \
                 cast(j.value as bigint)) d",
                dialect.json_ids("e.ids")
            ));
        }
    }
    sql.text(" group by d.ancestor");
    sql
}

/// One row of the facet statement, as a store decodes it.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct FacetRow {
    pub kind: String,
    pub id: Option<i64>,
    pub name: Option<String>,
    pub value_id: Option<i64>,
    pub value_name: Option<String>,
    pub products: i64,
    pub low: Option<f64>,
    pub high: Option<f64>,
    pub name_translations: NameTranslations,
    pub value_translations: NameTranslations,
}

/// One row of the facet statement, from either database (the columns have the same types).
pub(super) fn facet_row<'r, R>(row: &'r R) -> Result<FacetRow, StoreError>
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    i64: Type<R::Database> + Decode<'r, R::Database>,
    f64: Type<R::Database> + Decode<'r, R::Database>,
    String: Type<R::Database> + Decode<'r, R::Database>,
{
    let cells = Cells::new(row, "product_attribute_value", "kind");
    Ok(FacetRow {
        kind: cells.get("kind")?,
        id: cells.get("id")?,
        name: cells.get("name")?,
        value_id: cells.get("value_id")?,
        value_name: cells.get("value_name")?,
        products: cells.get("products")?,
        low: cells.get("low")?,
        high: cells.get("high")?,
        name_translations: translations_cell(cells.get("name_translations")?)?,
        value_translations: translations_cell(cells.get("value_translations")?)?,
    })
}

/// A facet row's translations column: a JSON object, or null on rows that are not attributes.
fn translations_cell(text: Option<String>) -> Result<NameTranslations, StoreError> {
    match text {
        None => Ok(NameTranslations::new()),
        Some(text) => serde_json::from_str(&text)
            .map_err(|e| corrupt("product_attribute_value.name_translations", e.to_string())),
    }
}

pub(super) fn facets_from_rows(rows: Vec<FacetRow>) -> Facets {
    let mut attributes: BTreeMap<i64, AttributeFacet> = BTreeMap::new();
    let mut facets = Facets::default();
    for row in rows {
        match (row.kind.as_str(), row.id) {
            ("attribute", Some(id)) => {
                let attribute = attributes.entry(id).or_insert_with(|| AttributeFacet {
                    id,
                    name: row.name.clone().unwrap_or_default(),
                    translations: row.name_translations.clone(),
                    values: Vec::new(),
                });
                attribute.values.push(ValueCount {
                    id: row.value_id.unwrap_or_default(),
                    name: row.value_name.unwrap_or_default(),
                    translations: row.value_translations,
                    count: row.products as u64,
                });
            }
            ("price", _) if row.products > 0 => {
                facets.price = PriceRange {
                    min: row.low,
                    max: row.high,
                };
            }
            ("category", Some(id)) => facets.categories.push(CategoryCount {
                id,
                count: row.products as u64,
            }),
            _ => {}
        }
    }
    facets.attributes = attributes
        .into_values()
        .map(|mut attribute| {
            attribute.values.sort_by_key(|v| v.id);
            attribute
        })
        .collect();
    facets.categories.sort_by_key(|c| c.id);
    facets
}
