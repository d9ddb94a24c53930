//! What the catalog API asks of the store: pages of products, one product, the category tree,
//! the change feed. Plain types; each store turns them into its own SQL.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::StoredProduct;
use crate::domain::{CatalogScope, Category};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProductSort {
    /// By name, A to Z.
    Name,
    /// By list price, cheapest first.
    Price,
    /// Most recently written in Odoo first.
    Updated,
}

impl ProductSort {
    /// The `order by` clause of this sort on `table`'s product columns, in both stores' SQL.
    pub(super) fn order_by(self, table: &str) -> String {
        match self {
            ProductSort::Name => format!(" order by {table}.name, {table}.product_id"),
            ProductSort::Price => format!(" order by {table}.list_price, {table}.product_id"),
            ProductSort::Updated => {
                format!(" order by {table}.write_date desc, {table}.product_id desc")
            }
        }
    }
}

/// The position after the last product of a page, in the page's sort order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum SortKey {
    Name { name: String, id: i64 },
    Price { price: f64, id: i64 },
    Updated { write_date: String, id: i64 },
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProductQuery {
    pub limit: u32,
    pub after: Option<SortKey>,
    /// Products of this category or any of its sub-categories.
    pub category: Option<i64>,
    /// Full-text terms over names (all languages), SKUs and barcodes.
    pub text: Option<String>,
    pub sort: ProductSort,
    pub include_inactive: bool,
    /// Only the products a shop shows (`CATALOG_SCOPE=website`).
    pub scope: CatalogScope,
    /// Products in this website category or any below it.
    pub public_category: Option<i64>,
    /// Products offering one of each filter's values (values of one attribute OR-ed, attributes
    /// AND-ed).
    pub attributes: Vec<AttributeFilter>,
    /// Bounds (inclusive) of `list_price`, the price the API shows.
    pub price_min: Option<f64>,
    pub price_max: Option<f64>,
    /// Only products with a variant still sold that has stock free to sell (`free_qty > 0`).
    pub in_stock: bool,
}

impl ProductQuery {
    /// Filters by attributes, price, stock or a category tree: what a storefront's facets set,
    /// and what the list statement answers slowly on a large catalog (a sub-select or a tree
    /// walk per product), so the stores take such pages from the facet index.
    pub fn has_storefront_filters(&self) -> bool {
        !self.attributes.is_empty()
            || self.price_min.is_some()
            || self.price_max.is_some()
            || self.in_stock
            || self.category.is_some()
            || self.public_category.is_some()
    }
}

/// Values of one attribute (`product.attribute.value` ids), any of which a product must offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeFilter {
    pub attribute_id: i64,
    pub values: Vec<i64>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProductPage {
    pub products: Vec<StoredProduct>,
    pub next: Option<SortKey>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CategoryNode {
    pub category: Category,
    /// Active products directly in this category.
    pub product_count: u64,
    /// Active products in this category and all below it.
    pub total_count: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub product_id: i64,
    pub seq: i64,
    pub deleted: bool,
    pub changed_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangePage {
    pub changes: Vec<Change>,
    /// The sequence to ask from next time (the last change's, or the one asked when none).
    pub last_seq: i64,
    pub has_more: bool,
}

/// Turns what a shopper typed into an FTS5 query: every term must match, as a prefix, with
/// quotes so that punctuation in SKUs cannot become FTS5 syntax. Control characters go too:
/// SQLite reads the query as a C string, so a NUL would end it inside its quotes.
pub fn fts_query(text: &str) -> Option<String> {
    let terms: Vec<String> = text
        .split_whitespace()
        .map(|term| {
            term.chars()
                .filter(|c| *c != '"' && !c.is_control())
                .collect::<String>()
        })
        .filter(|term| term.chars().any(char::is_alphanumeric))
        .map(|term| format!("\"{term}\"*"))
        .collect();
    (!terms.is_empty()).then(|| terms.join(" AND "))
}

/// The category tree with counts, sorted by complete name, from the categories and the number of
/// active products directly in each.
pub(super) fn category_nodes(
    categories: HashMap<i64, Category>,
    direct: &HashMap<i64, u64>,
) -> Vec<CategoryNode> {
    let mut totals: HashMap<i64, u64> = HashMap::new();
    for (category, count) in direct {
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
    nodes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_terms_become_quoted_prefix_terms() {
        assert_eq!(
            fts_query("élève bureau").unwrap(),
            "\"élève\"* AND \"bureau\"*"
        );
        assert_eq!(
            fts_query("FURN_0096 \"x").unwrap(),
            "\"FURN_0096\"* AND \"x\"*"
        );
        assert_eq!(fts_query("  - * "), None);
        assert_eq!(
            fts_query("chaise\0 \u{1b}x").unwrap(),
            "\"chaise\"* AND \"x\"*"
        );
    }
}
