//! Facets counted in memory: an index of what the facets look at (each live product's activity,
//! scope, categories with their ancestors, price, stock and attribute values) is read once per
//! catalog version, in one snapshot, and every faceted answer of that version is counted from it
//! by one pass over the products. Counted by SQL, a faceted page of 100,000 products grouped
//! every attribute row again, each attribute with its own filter off (about 0.4 CPU-seconds a
//! page on SQLite); from the index it is a few milliseconds.
//!
//! The counts are those [`super::facets`] documents; every filter here means exactly what the
//! stores' SQL means for the product list (see each store's `filters` and
//! [`super::facets::narrowing`]), full-text search aside: the store answers which products match
//! the text, and the index counts among them.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use sqlx::{ColumnIndex, Decode, Row, Type};
use tokio::sync::{Mutex, RwLock};

use super::facets::{AttributeFacet, CategoryCount, Facets, PriceRange, ValueCount};
use super::query::{ProductPage, ProductQuery, ProductSort, SortKey};
use super::stored::{corrupt, Cells};
use super::{StoreError, StoredProduct};
use crate::domain::{CatalogScope, NameTranslations};

/// The statements an index is read with, text both databases accept; read them in one
/// snapshot, the version first.
pub(super) const VERSION_SQL: &str =
    "select version from catalog_version where catalog_version_id = 1";
pub(super) const PRODUCTS_SQL: &str = "select product_id, name, \
     cast(write_date as text) as write_date, active, category_id, \
     cast(public_categ_ids as text) as public_categ_ids, list_price, is_published, sale_ok, \
     website_id from product where deleted_at is null";
/// Products with a variant still sold that has stock free to sell (`facets::narrowing`'s).
pub(super) const IN_STOCK_SQL: &str = "select distinct v.product_id as product_id from variant v \
     join variant_stock s on s.variant_id = v.variant_id where v.active = true and s.free_qty > 0";
pub(super) const VALUES_SQL: &str = "select a.product_id, a.attribute_id, a.value_id, \
     a.attribute_name, a.name, cast(a.attribute_name_translations as text) as attribute_translations, \
     cast(a.name_translations as text) as value_translations from product_attribute_value a \
     join product p on p.product_id = a.product_id where p.deleted_at is null";
pub(super) const CATEGORIES_SQL: &str = "select category_id as id, parent_id from category";
pub(super) const PUBLIC_CATEGORIES_SQL: &str =
    "select public_category_id as id, parent_id from public_category";

/// A live product as the index reads it.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct ProductRow {
    pub product_id: i64,
    pub name: String,
    /// `YYYY-MM-DD HH:MM:SS`, as both databases print it: its text order is its time order.
    pub write_date: String,
    pub active: bool,
    pub category_id: Option<i64>,
    pub public_categ_ids: Vec<i64>,
    pub list_price: f64,
    pub is_published: bool,
    pub sale_ok: bool,
    pub website_id: Option<i64>,
}

/// One attribute value a product offers, with the names the facets show.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct ValueRow {
    pub product_id: i64,
    pub attribute_id: i64,
    pub value_id: i64,
    pub attribute_name: String,
    pub value_name: String,
    pub attribute_translations: String,
    pub value_translations: String,
}

/// Everything an index is made of, as read in one snapshot.
#[derive(Debug, Default)]
pub(super) struct IndexRows {
    pub version: i64,
    pub products: Vec<ProductRow>,
    pub in_stock: Vec<i64>,
    pub values: Vec<ValueRow>,
    /// (id, parent_id) of product categories, then of website categories.
    pub categories: Vec<(i64, Option<i64>)>,
    pub public_categories: Vec<(i64, Option<i64>)>,
}

pub(super) fn product_row<'r, R>(row: &'r R) -> Result<ProductRow, StoreError>
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    i64: Type<R::Database> + Decode<'r, R::Database>,
    f64: Type<R::Database> + Decode<'r, R::Database>,
    bool: Type<R::Database> + Decode<'r, R::Database>,
    String: Type<R::Database> + Decode<'r, R::Database>,
{
    let cells = Cells::new(row, "product", "product_id");
    let ids: String = cells.get("public_categ_ids")?;
    Ok(ProductRow {
        product_id: cells.get("product_id")?,
        name: cells.get("name")?,
        write_date: cells.get("write_date")?,
        active: cells.get("active")?,
        category_id: cells.get("category_id")?,
        public_categ_ids: serde_json::from_str(&ids)
            .map_err(|e| corrupt("product.public_categ_ids", e.to_string()))?,
        list_price: cells.get("list_price")?,
        is_published: cells.get("is_published")?,
        sale_ok: cells.get("sale_ok")?,
        website_id: cells.get("website_id")?,
    })
}

pub(super) fn value_row<'r, R>(row: &'r R) -> Result<ValueRow, StoreError>
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    i64: Type<R::Database> + Decode<'r, R::Database>,
    String: Type<R::Database> + Decode<'r, R::Database>,
{
    let cells = Cells::new(row, "product_attribute_value", "value_id");
    Ok(ValueRow {
        product_id: cells.get("product_id")?,
        attribute_id: cells.get("attribute_id")?,
        value_id: cells.get("value_id")?,
        attribute_name: cells.get("attribute_name")?,
        value_name: cells.get("name")?,
        attribute_translations: cells.get("attribute_translations")?,
        value_translations: cells.get("value_translations")?,
    })
}

/// (id, parent_id) of a category row of either tree.
pub(super) fn parent_row<'r, R>(row: &'r R) -> Result<(i64, Option<i64>), StoreError>
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    i64: Type<R::Database> + Decode<'r, R::Database>,
    String: Type<R::Database> + Decode<'r, R::Database>,
{
    let cells = Cells::new(row, "category", "id");
    Ok((cells.get("id")?, cells.get("parent_id")?))
}

/// The rows of an index, read through `$conn` (a connection or transaction of either database:
/// the same statements and decoders, expanded once per store). Read it inside a transaction
/// that gives one snapshot.
macro_rules! read_index_rows {
    ($conn:expr) => {
        async {
            use $crate::store::facet_index as index;
            let conn = $conn;
            let version: i64 = sqlx::query_scalar(index::VERSION_SQL)
                .fetch_one(&mut *conn)
                .await?;
            let products = sqlx::query(index::PRODUCTS_SQL)
                .fetch_all(&mut *conn)
                .await?;
            let in_stock: Vec<i64> = sqlx::query_scalar(index::IN_STOCK_SQL)
                .fetch_all(&mut *conn)
                .await?;
            let values = sqlx::query(index::VALUES_SQL).fetch_all(&mut *conn).await?;
            let categories = sqlx::query(index::CATEGORIES_SQL)
                .fetch_all(&mut *conn)
                .await?;
            let public_categories = sqlx::query(index::PUBLIC_CATEGORIES_SQL)
                .fetch_all(&mut *conn)
                .await?;
            let all = |rows: Vec<_>| -> Result<Vec<(i64, Option<i64>)>, StoreError> {
                rows.iter().map(index::parent_row).collect()
            };
            Ok::<_, StoreError>(index::IndexRows {
                version,
                products: products
                    .iter()
                    .map(index::product_row)
                    .collect::<Result<_, _>>()?,
                in_stock,
                values: values
                    .iter()
                    .map(index::value_row)
                    .collect::<Result<_, _>>()?,
                categories: all(categories)?,
                public_categories: all(public_categories)?,
            })
        }
        .await
    };
}
pub(super) use read_index_rows;

/// What every pass over the catalog reads of a product, kept small and in one array so that a
/// pass streams through memory: lists (attribute values, category ancestors) live in [`Lists`]
/// in the same order, names and dates (only the page's sort needs them) apart.
#[derive(Debug)]
struct IndexedProduct {
    id: i64,
    list_price: f64,
    category_id: Option<i64>,
    website_id: Option<i64>,
    active: bool,
    /// Published, saleable and active: what `CATALOG_SCOPE=website` shows (its website aside).
    on_website: bool,
    in_stock: bool,
    /// The product's position in each sort's order (see [`SORTS`]).
    ranks: [u32; 3],
}

/// The sorts a product is ranked in, in the order of [`IndexedProduct::ranks`].
const SORTS: [ProductSort; 3] = [ProductSort::Name, ProductSort::Price, ProductSort::Updated];

fn sort_slot(sort: ProductSort) -> usize {
    match sort {
        ProductSort::Name => 0,
        ProductSort::Price => 1,
        ProductSort::Updated => 2,
    }
}

/// One list per product, all in one array (product `i`'s is `items[starts[i]..starts[i + 1]]`).
#[derive(Debug)]
struct Lists<T> {
    starts: Vec<u32>,
    items: Vec<T>,
}

impl<T> Default for Lists<T> {
    fn default() -> Self {
        Lists {
            starts: vec![0],
            items: Vec::new(),
        }
    }
}

impl<T> Lists<T> {
    fn push(&mut self, list: impl IntoIterator<Item = T>) {
        self.items.extend(list);
        self.starts.push(self.items.len() as u32);
    }

    fn of(&self, product: usize) -> &[T] {
        &self.items[self.starts[product] as usize..self.starts[product + 1] as usize]
    }
}

/// The categories of one tree that some product has as itself or an ancestor, by id, each
/// with its slot in the counts.
#[derive(Debug, Default)]
struct Tree {
    ids: Vec<i64>,
    slots: HashMap<i64, u32>,
}

impl Tree {
    fn new(ids: BTreeSet<i64>) -> Tree {
        let ids: Vec<i64> = ids.into_iter().collect();
        let slots = ids
            .iter()
            .enumerate()
            .map(|(slot, id)| (*id, slot as u32))
            .collect();
        Tree { ids, slots }
    }

    fn slots_of(&self, categories: &[i64]) -> Vec<u32> {
        categories.iter().map(|id| self.slots[id]).collect()
    }
}

#[derive(Debug)]
struct Named {
    name: String,
    translations: NameTranslations,
}

/// What the facets of one catalog version are counted from.
#[derive(Debug)]
pub struct FacetIndex {
    version: i64,
    /// Sorted by id.
    products: Vec<IndexedProduct>,
    /// Each product's (attribute, value) pairs, as slots of `pairs`.
    offered: Lists<u32>,
    /// Every (attribute, value) pair some product offers, sorted: a slot's place is its place
    /// in the answer.
    pairs: Vec<(i64, i64)>,
    /// The category and its ancestors, each once, as `category=ID` walks them (slots of
    /// `categories`).
    category_ancestors: Lists<u32>,
    categories: Tree,
    public_categ_ids: Lists<i64>,
    /// Each website category's ancestors (itself included), each once over all of them.
    public_ancestors: Lists<u32>,
    public_categories: Tree,
    /// The sort keys of the product list, by product.
    names: Vec<String>,
    write_dates: Vec<String>,
    /// Product positions in each sort's order.
    orders: [Vec<u32>; 3],
    attributes: HashMap<i64, Named>,
    values: HashMap<i64, Named>,
}

/// A category (of `parents`' tree) followed by each ancestor, once: a category that is not in
/// the tree has none, and a parent not in the tree ends the walk after it (as the stores'
/// recursive `up` does); a cycle, which Odoo forbids, ends where it closes.
fn ancestors(category: i64, parents: &HashMap<i64, Option<i64>>, into: &mut Vec<i64>) {
    if !parents.contains_key(&category) {
        return;
    }
    let mut current = category;
    if !into.contains(&current) {
        into.push(current);
    }
    while let Some(Some(parent)) = parents.get(&current) {
        if into.contains(parent) {
            break;
        }
        into.push(*parent);
        current = *parent;
    }
}

fn translations(column: &str, text: &str) -> Result<NameTranslations, StoreError> {
    serde_json::from_str(text).map_err(|e| corrupt(column, e.to_string()))
}

/// A query's conditions resolved once against an index: its categories as slots.
struct Base<'q> {
    query: &'q ProductQuery,
    text_matches: Option<&'q HashSet<i64>>,
    category: Option<u32>,
    public_category: Option<u32>,
}

impl FacetIndex {
    pub(super) fn build(rows: IndexRows) -> Result<Self, StoreError> {
        let parents: HashMap<i64, Option<i64>> = rows.categories.into_iter().collect();
        let public_parents: HashMap<i64, Option<i64>> =
            rows.public_categories.into_iter().collect();
        let in_stock: HashSet<i64> = rows.in_stock.into_iter().collect();
        let mut values_of: HashMap<i64, Vec<(i64, i64)>> = HashMap::new();
        // The smallest of each name (and its translations) over the rows that carry it, so that
        // an answer never depends on which row was read first.
        let mut attribute_names: BTreeMap<i64, (String, String)> = BTreeMap::new();
        let mut value_names: BTreeMap<i64, (String, String)> = BTreeMap::new();
        for row in rows.values {
            values_of
                .entry(row.product_id)
                .or_default()
                .push((row.attribute_id, row.value_id));
            keep_smallest(
                &mut attribute_names,
                row.attribute_id,
                (row.attribute_name, row.attribute_translations),
            );
            keep_smallest(
                &mut value_names,
                row.value_id,
                (row.value_name, row.value_translations),
            );
        }
        let pairs: Vec<(i64, i64)> = values_of
            .values()
            .flatten()
            .copied()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let pair_slots: HashMap<(i64, i64), u32> = pairs
            .iter()
            .enumerate()
            .map(|(slot, pair)| (*pair, slot as u32))
            .collect();
        let mut products_rows = rows.products;
        products_rows.sort_by_key(|p| p.product_id);
        let walks: Vec<(Vec<i64>, Vec<i64>)> = products_rows
            .iter()
            .map(|p| {
                let mut own = Vec::new();
                if let Some(category) = p.category_id {
                    ancestors(category, &parents, &mut own);
                }
                let mut public = Vec::new();
                for category in &p.public_categ_ids {
                    ancestors(*category, &public_parents, &mut public);
                }
                (own, public)
            })
            .collect();
        let categories = Tree::new(walks.iter().flat_map(|w| w.0.iter().copied()).collect());
        let public_categories = Tree::new(walks.iter().flat_map(|w| w.1.iter().copied()).collect());
        let mut index = FacetIndex {
            version: rows.version,
            products: Vec::with_capacity(products_rows.len()),
            offered: Lists::default(),
            pairs,
            category_ancestors: Lists::default(),
            categories,
            public_categ_ids: Lists::default(),
            public_ancestors: Lists::default(),
            public_categories,
            names: Vec::with_capacity(products_rows.len()),
            write_dates: Vec::with_capacity(products_rows.len()),
            orders: Default::default(),
            attributes: named(
                attribute_names,
                "product_attribute_value.attribute_name_translations",
            )?,
            values: named(value_names, "product_attribute_value.name_translations")?,
        };
        for (p, (own, public)) in products_rows.into_iter().zip(walks) {
            let mut offered: Vec<u32> = values_of
                .remove(&p.product_id)
                .unwrap_or_default()
                .iter()
                .map(|pair| pair_slots[pair])
                .collect();
            offered.sort_unstable();
            offered.dedup();
            index.offered.push(offered);
            index
                .category_ancestors
                .push(index.categories.slots_of(&own));
            index
                .public_ancestors
                .push(index.public_categories.slots_of(&public));
            index.public_categ_ids.push(p.public_categ_ids);
            index.names.push(p.name);
            index.write_dates.push(p.write_date);
            index.products.push(IndexedProduct {
                id: p.product_id,
                list_price: p.list_price,
                category_id: p.category_id,
                website_id: p.website_id,
                active: p.active,
                on_website: p.is_published && p.sale_ok && p.active,
                in_stock: in_stock.contains(&p.product_id),
                ranks: [0; 3],
            });
        }
        for sort in SORTS {
            let mut order: Vec<u32> = (0..index.products.len() as u32).collect();
            order.sort_unstable_by(|a, b| index.in_order(sort, *a as usize, *b as usize));
            for (rank, product) in order.iter().enumerate() {
                index.products[*product as usize].ranks[sort_slot(sort)] = rank as u32;
            }
            index.orders[sort_slot(sort)] = order;
        }
        Ok(index)
    }

    pub fn version(&self) -> i64 {
        self.version
    }

    /// (value, attribute) for each of `values` that some live product offers, by value.
    pub fn attribute_of_values(&self, values: &[i64]) -> Vec<(i64, i64)> {
        let mut found: Vec<(i64, i64)> = self
            .pairs
            .iter()
            .filter(|(_, value)| values.contains(value))
            .map(|(attribute, value)| (*value, *attribute))
            .collect();
        found.sort_unstable();
        found.dedup();
        found
    }

    /// The facets of `query`; `text_matches` are the products its full text matches (`None`:
    /// the query has no text).
    pub fn facets(&self, query: &ProductQuery, text_matches: Option<&HashSet<i64>>) -> Facets {
        let base = self.base(query, text_matches);
        let mut value_counts = vec![0u64; self.pairs.len()];
        let mut price = PriceRange::default();
        let website_tree = matches!(query.scope, CatalogScope::Website { .. });
        let (tree, tree_ancestors) = match website_tree {
            true => (&self.public_categories, &self.public_ancestors),
            false => (&self.categories, &self.category_ancestors),
        };
        let mut category_counts = vec![0u64; tree.ids.len()];
        for (i, product) in self.products.iter().enumerate() {
            if !self.in_base(i, product, &base) {
                continue;
            }
            if query.in_stock && !product.in_stock {
                continue;
            }
            let within_price = within_price(product, query);
            let mut missed = query
                .attributes
                .iter()
                .filter(|filter| !self.offers(i, &filter.values))
                .map(|filter| filter.attribute_id);
            let (first_missed, more_missed) = (missed.next(), missed.next().is_some());
            if first_missed.is_none() {
                price.min = Some(
                    price
                        .min
                        .map_or(product.list_price, |m| m.min(product.list_price)),
                );
                price.max = Some(
                    price
                        .max
                        .map_or(product.list_price, |m| m.max(product.list_price)),
                );
            }
            if !within_price || more_missed {
                continue;
            }
            // A product missing one attribute's filter counts only for that attribute's values.
            for slot in self.offered.of(i) {
                let (attribute, _) = self.pairs[*slot as usize];
                if first_missed.is_none_or(|missed| missed == attribute) {
                    value_counts[*slot as usize] += 1;
                }
            }
            if first_missed.is_none() {
                for slot in tree_ancestors.of(i) {
                    category_counts[*slot as usize] += 1;
                }
            }
        }
        Facets {
            attributes: self.attribute_facets(&value_counts),
            price,
            categories: tree
                .ids
                .iter()
                .zip(category_counts)
                .filter(|(_, count)| *count > 0)
                .map(|(id, count)| CategoryCount { id: *id, count })
                .collect(),
        }
    }

    /// The ids of one page of `query`'s products, in its order, and the position after the
    /// page when more follow: what the stores' list statement answers, counted in memory.
    /// `text_matches` as for [`Self::facets`].
    pub fn page(&self, query: &ProductQuery, text_matches: Option<&HashSet<i64>>) -> IndexPage {
        let base = self.base(query, text_matches);
        let after = query.after.as_ref().map(|key| self.first_rank_after(key));
        let sort = sort_slot(query.sort);
        // (rank in the page's sort, product): ranks are unique, so they order the page alone.
        let mut matching: Vec<(u32, u32)> = self
            .products
            .iter()
            .enumerate()
            .filter(|(i, product)| {
                self.in_base(*i, product, &base)
                    && self.narrowed(*i, product, query)
                    && after.is_none_or(|(slot, first)| product.ranks[slot] >= first)
            })
            .map(|(i, product)| (product.ranks[sort], i as u32))
            .collect();
        let shown = query.limit as usize;
        // Only the first `shown + 1` need sorting: one more tells whether a next page exists.
        if matching.len() > shown + 1 {
            matching.select_nth_unstable(shown);
            matching.truncate(shown + 1);
        }
        matching.sort_unstable();
        let has_more = matching.len() > shown;
        matching.truncate(shown);
        let next = match matching.last() {
            Some((_, last)) if has_more => Some(self.sort_key(*last as usize, query.sort)),
            _ => None,
        };
        IndexPage {
            ids: matching
                .iter()
                .map(|(_, i)| self.products[*i as usize].id)
                .collect(),
            next,
        }
    }

    fn base<'q>(
        &self,
        query: &'q ProductQuery,
        text_matches: Option<&'q HashSet<i64>>,
    ) -> Base<'q> {
        Base {
            query,
            text_matches,
            category: query
                .category
                .and_then(|id| self.categories.slots.get(&id).copied()),
            public_category: query
                .public_category
                .and_then(|id| self.public_categories.slots.get(&id).copied()),
        }
    }

    /// The store's own conditions: activity, scope, category trees, text.
    fn in_base(&self, i: usize, product: &IndexedProduct, base: &Base<'_>) -> bool {
        let query = base.query;
        if !query.include_inactive && !product.active {
            return false;
        }
        if let CatalogScope::Website { website } = query.scope {
            let on_this_website = match (website, product.website_id) {
                (Some(website), Some(own)) => own == website,
                _ => true,
            };
            if !product.on_website || !on_this_website {
                return false;
            }
        }
        if let Some(category) = query.category {
            if product.category_id != Some(category)
                && !base
                    .category
                    .is_some_and(|slot| self.category_ancestors.of(i).contains(&slot))
            {
                return false;
            }
        }
        if let Some(category) = query.public_category {
            if !self.public_categ_ids.of(i).contains(&category)
                && !base
                    .public_category
                    .is_some_and(|slot| self.public_ancestors.of(i).contains(&slot))
            {
                return false;
            }
        }
        base.text_matches
            .is_none_or(|matches| matches.contains(&product.id))
    }

    /// The conditions `facets::narrowing` adds to the list statement: stock, price, attributes.
    fn narrowed(&self, i: usize, product: &IndexedProduct, query: &ProductQuery) -> bool {
        (!query.in_stock || product.in_stock)
            && within_price(product, query)
            && query
                .attributes
                .iter()
                .all(|filter| self.offers(i, &filter.values))
    }

    /// Whether product `i` offers one of `values`.
    fn offers(&self, i: usize, values: &[i64]) -> bool {
        self.offered
            .of(i)
            .iter()
            .any(|slot| values.contains(&self.pairs[*slot as usize].1))
    }

    /// The list statements' `order by` (see [`ProductSort::order_by`]): names compare as
    /// bytes, as SQLite's binary collation and PostgreSQL's `collate "C"` do.
    fn in_order(&self, sort: ProductSort, a: usize, b: usize) -> Ordering {
        let (pa, pb) = (&self.products[a], &self.products[b]);
        match sort {
            ProductSort::Name => self.names[a].cmp(&self.names[b]).then(pa.id.cmp(&pb.id)),
            ProductSort::Price => pa
                .list_price
                .partial_cmp(&pb.list_price)
                .unwrap_or(Ordering::Equal)
                .then(pa.id.cmp(&pb.id)),
            ProductSort::Updated => self.write_dates[b]
                .cmp(&self.write_dates[a])
                .then(pb.id.cmp(&pa.id)),
        }
    }

    /// The sort (as a slot of the ranks) of the page that ended at `key`, and the first rank
    /// in it that comes after the key (the stores' keyset condition).
    fn first_rank_after(&self, key: &SortKey) -> (usize, u32) {
        let sort = match key {
            SortKey::Name { .. } => ProductSort::Name,
            SortKey::Price { .. } => ProductSort::Price,
            SortKey::Updated { .. } => ProductSort::Updated,
        };
        let order = &self.orders[sort_slot(sort)];
        let first = order.partition_point(|i| !self.comes_after(*i as usize, key));
        (sort_slot(sort), first as u32)
    }

    fn comes_after(&self, i: usize, key: &SortKey) -> bool {
        let product = &self.products[i];
        match key {
            SortKey::Name { name, id } => {
                (self.names[i].as_str(), product.id) > (name.as_str(), *id)
            }
            SortKey::Price { price, id } => {
                product.list_price > *price || (product.list_price == *price && product.id > *id)
            }
            SortKey::Updated { write_date, id } => {
                (self.write_dates[i].as_str(), product.id) < (write_date.as_str(), *id)
            }
        }
    }

    fn sort_key(&self, i: usize, sort: ProductSort) -> SortKey {
        let id = self.products[i].id;
        match sort {
            ProductSort::Name => SortKey::Name {
                name: self.names[i].clone(),
                id,
            },
            ProductSort::Price => SortKey::Price {
                price: self.products[i].list_price,
                id,
            },
            ProductSort::Updated => SortKey::Updated {
                write_date: self.write_dates[i].clone(),
                id,
            },
        }
    }

    fn attribute_facets(&self, counts: &[u64]) -> Vec<AttributeFacet> {
        let mut facets: Vec<AttributeFacet> = Vec::new();
        for ((attribute, value), count) in self.pairs.iter().copied().zip(counts.iter().copied()) {
            if count == 0 {
                continue;
            }
            if facets.last().is_none_or(|last| last.id != attribute) {
                let named = self.attributes.get(&attribute);
                facets.push(AttributeFacet {
                    id: attribute,
                    name: named.map(|n| n.name.clone()).unwrap_or_default(),
                    translations: named.map(|n| n.translations.clone()).unwrap_or_default(),
                    values: Vec::new(),
                });
            }
            let named = self.values.get(&value);
            if let Some(last) = facets.last_mut() {
                last.values.push(ValueCount {
                    id: value,
                    name: named.map(|n| n.name.clone()).unwrap_or_default(),
                    translations: named.map(|n| n.translations.clone()).unwrap_or_default(),
                    count,
                });
            }
        }
        facets
    }
}

fn named(
    names: BTreeMap<i64, (String, String)>,
    column: &'static str,
) -> Result<HashMap<i64, Named>, StoreError> {
    names
        .into_iter()
        .map(|(id, (name, text))| {
            let translations = translations(column, &text)?;
            Ok((id, Named { name, translations }))
        })
        .collect()
}

/// One page of ids, as [`FacetIndex::page`] finds it.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexPage {
    pub ids: Vec<i64>,
    pub next: Option<SortKey>,
}

impl IndexPage {
    /// The page of `products`, its rows read by id, put in the page's order. Read at the
    /// index's version, each id is there; one missing means the store and its index disagree.
    pub(super) fn with_products(
        self,
        products: Vec<StoredProduct>,
    ) -> Result<ProductPage, StoreError> {
        Ok(ProductPage {
            products: in_page_order(products, &self.ids)?,
            next: self.next,
        })
    }
}

fn in_page_order(
    products: Vec<StoredProduct>,
    ids: &[i64],
) -> Result<Vec<StoredProduct>, StoreError> {
    let mut by_id: HashMap<i64, StoredProduct> = products
        .into_iter()
        .map(|stored| (stored.product.id, stored))
        .collect();
    ids.iter()
        .map(|id| {
            by_id.remove(id).ok_or_else(|| {
                corrupt(
                    "product",
                    format!("product {id} of the facet index's page is not in the store at the index's version"),
                )
            })
        })
        .collect()
}

fn within_price(product: &IndexedProduct, query: &ProductQuery) -> bool {
    query.price_min.is_none_or(|min| product.list_price >= min)
        && query.price_max.is_none_or(|max| product.list_price <= max)
}

fn keep_smallest(names: &mut BTreeMap<i64, (String, String)>, id: i64, name: (String, String)) {
    match names.get_mut(&id) {
        Some(kept) if name < *kept => *kept = name,
        Some(_) => {}
        None => {
            names.insert(id, name);
        }
    }
}

/// The index of the latest catalog version read, shared by every faceted answer; one index is
/// read at a time, and answers waiting for it share it.
#[derive(Debug, Default)]
pub struct FacetIndexCache {
    latest: RwLock<Option<Arc<FacetIndex>>>,
    reading: Mutex<()>,
}

impl FacetIndexCache {
    /// An index at least as new as `version`, read with `read` when the one kept is older.
    pub async fn at_least<F, Fut>(
        &self,
        version: i64,
        read: F,
    ) -> Result<Arc<FacetIndex>, StoreError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<IndexRows, StoreError>>,
    {
        if let Some(index) = self.fresh(version).await {
            return Ok(index);
        }
        let _reading = self.reading.lock().await;
        if let Some(index) = self.fresh(version).await {
            return Ok(index);
        }
        let index = Arc::new(FacetIndex::build(read().await?)?);
        *self.latest.write().await = Some(index.clone());
        Ok(index)
    }

    async fn fresh(&self, version: i64) -> Option<Arc<FacetIndex>> {
        self.latest
            .read()
            .await
            .as_ref()
            .filter(|index| index.version >= version)
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::query::AttributeFilter;

    fn product(id: i64, category: Option<i64>, price: f64) -> ProductRow {
        ProductRow {
            product_id: id,
            name: format!("product {id}"),
            write_date: "2026-01-01 00:00:00".into(),
            active: true,
            category_id: category,
            public_categ_ids: Vec::new(),
            list_price: price,
            is_published: true,
            sale_ok: true,
            website_id: None,
        }
    }

    fn unfiltered() -> ProductQuery {
        ProductQuery {
            limit: 24,
            after: None,
            category: None,
            text: None,
            sort: crate::store::ProductSort::Name,
            include_inactive: false,
            scope: CatalogScope::All,
            public_category: None,
            attributes: Vec::new(),
            price_min: None,
            price_max: None,
            in_stock: false,
        }
    }

    fn value(product_id: i64, attribute_id: i64, value_id: i64) -> ValueRow {
        ValueRow {
            product_id,
            attribute_id,
            value_id,
            attribute_name: format!("attribute {attribute_id}"),
            value_name: format!("value {value_id}"),
            attribute_translations: "{}".into(),
            value_translations: "{}".into(),
        }
    }

    #[test]
    fn ancestors_stop_at_unknown_parents_and_cycles() {
        let parents: HashMap<i64, Option<i64>> = [
            (1, None),
            (2, Some(1)),
            (3, Some(9)),
            (4, Some(5)),
            (5, Some(4)),
        ]
        .into();
        let walk = |category| {
            let mut into = Vec::new();
            ancestors(category, &parents, &mut into);
            into
        };
        assert_eq!(walk(2), [2, 1]);
        assert_eq!(
            walk(3),
            [3, 9],
            "a parent outside the tree is counted, then the walk ends"
        );
        assert_eq!(walk(4), [4, 5], "a cycle ends where it closes");
        assert_eq!(
            walk(7),
            Vec::<i64>::new(),
            "a category outside the tree has none"
        );
    }

    #[test]
    fn each_attribute_is_counted_with_its_own_filter_off() {
        // Color 1 (values 10, 11), size 2 (values 20, 21).
        let rows = IndexRows {
            version: 3,
            products: vec![
                product(1, Some(2), 10.0),
                product(2, Some(2), 20.0),
                product(3, Some(1), 30.0),
            ],
            in_stock: vec![1, 3],
            values: vec![
                value(1, 1, 10),
                value(1, 2, 20),
                value(2, 1, 11),
                value(2, 2, 20),
                value(3, 1, 10),
                value(3, 2, 21),
            ],
            categories: vec![(1, None), (2, Some(1))],
            public_categories: Vec::new(),
        };
        let index = FacetIndex::build(rows).unwrap();
        let query = ProductQuery {
            attributes: vec![AttributeFilter {
                attribute_id: 1,
                values: vec![10],
            }],
            price_max: Some(25.0),
            ..unfiltered()
        };
        let facets = index.facets(&query, None);
        let counts: Vec<(i64, Vec<(i64, u64)>)> = facets
            .attributes
            .iter()
            .map(|a| (a.id, a.values.iter().map(|v| (v.id, v.count)).collect()))
            .collect();
        // Color ignores its own filter (products 1 and 2 under the price bound); size counts
        // only product 1, the one with colour 10 under the bound.
        assert_eq!(counts, [(1, vec![(10, 1), (11, 1)]), (2, vec![(20, 1)])]);
        // The price range ignores the bounds: products 1 and 3 offer colour 10.
        assert_eq!(
            facets.price,
            PriceRange {
                min: Some(10.0),
                max: Some(30.0)
            }
        );
        let categories: Vec<(i64, u64)> =
            facets.categories.iter().map(|c| (c.id, c.count)).collect();
        assert_eq!(categories, [(1, 1), (2, 1)]);
        let stocked = ProductQuery {
            in_stock: true,
            ..unfiltered()
        };
        let only: HashSet<i64> = [2, 3].into();
        let facets = index.facets(&stocked, Some(&only));
        assert_eq!(
            facets.price,
            PriceRange {
                min: Some(30.0),
                max: Some(30.0)
            },
            "stock and text apply to every count"
        );
    }

    #[test]
    fn pages_follow_each_sort_with_ties_broken_by_id_and_end_without_a_cursor() {
        let mut products = Vec::new();
        for (id, name, price, written) in [
            (5, "b", 2.0, "2026-01-02 00:00:00"),
            (3, "a", 2.0, "2026-01-01 00:00:00"),
            (9, "a", 1.0, "2026-01-02 00:00:00"),
            (1, "c", 3.0, "2026-01-01 00:00:00"),
            (7, "b", 2.0, "2026-01-03 00:00:00"),
        ] {
            let mut row = product(id, None, price);
            row.name = name.into();
            row.write_date = written.into();
            products.push(row);
        }
        let index = FacetIndex::build(IndexRows {
            products,
            ..IndexRows::default()
        })
        .unwrap();
        let every_page = |sort: ProductSort| {
            let mut query = ProductQuery {
                limit: 2,
                sort,
                price_min: Some(0.0),
                ..unfiltered()
            };
            let mut ids: Vec<i64> = Vec::new();
            loop {
                let page = index.page(&query, None);
                assert!(page.ids.len() <= 2);
                ids.extend(&page.ids);
                match page.next {
                    Some(key) => query.after = Some(key),
                    None => return ids,
                }
            }
        };
        assert_eq!(every_page(ProductSort::Name), [3, 9, 5, 7, 1]);
        assert_eq!(every_page(ProductSort::Price), [9, 3, 5, 7, 1]);
        assert_eq!(every_page(ProductSort::Updated), [7, 9, 5, 3, 1]);
        let matches = HashSet::from([5, 7]);
        let query = ProductQuery {
            limit: 2,
            ..unfiltered()
        };
        let page = index.page(&query, Some(&matches));
        assert_eq!(
            (page.ids, page.next),
            (vec![5, 7], None),
            "an exact last page"
        );
    }
}
