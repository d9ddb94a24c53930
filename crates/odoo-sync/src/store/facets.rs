//! Facets and the filters they count (attribute values, price bounds, stock). The filters of a
//! product list are SQL written once for both stores: text both SQLite and PostgreSQL accept,
//! with its values kept apart as [`Part`]s that each store binds with its own placeholders. Each
//! store adds its own base filters (category trees, full-text search, scope), which it already
//! has for its lists. The facets themselves are counted in memory ([`super::facet_index`]).
//!
//! The counts, over the live products the query matches (its cursor and limit aside):
//! - an attribute's values count the products matching every filter except that attribute's
//!   own (a shop's facets: ticking "Red" leaves "Blue" countable);
//! - the price range is that of the products matching every filter except the price bounds (a
//!   price slider shows how far it can go);
//! - each category counts the products matching every filter that `category=ID` would show (in
//!   it or below it, each product once): product categories, or the website categories under
//!   `CATALOG_SCOPE=website`.

use super::query::{AttributeFilter, ProductQuery};
use crate::domain::NameTranslations;

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
