//! Facets counted in memory: an index of what the facets look at (each live product's activity,
//! scope, categories with their ancestors, price, stock and attribute values) is read once per
//! catalog version, in one snapshot, as sets of product positions (compressed bitmaps, one per
//! attribute value, category, flag and website), and every faceted answer of that version is
//! counted from it by intersecting sets. Counted by SQL, a faceted page of 100,000 products
//! grouped every attribute row again, each attribute with its own filter off (about 0.4
//! CPU-seconds a page on SQLite); a pass over every product per answer still cost milliseconds;
//! intersections of a few bitmaps cost microseconds.
//!
//! The counts are those [`super::facets`] documents; every filter here means exactly what the
//! stores' SQL means for the product list (see each store's `filters` and
//! [`super::facets::narrowing`]), full-text search aside: the store answers which products match
//! the text, and the index counts among them.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use roaring::RoaringBitmap;
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

/// What an answer reads of a product once it is in a set, kept small and in one array; what it
/// is filtered by lives in [`Sets`], names and dates (only the page's sort needs them) apart.
#[derive(Debug)]
struct IndexedProduct {
    id: i64,
    list_price: f64,
    /// The product's position in each sort's order (see [`SORTS`]).
    ranks: [u32; 3],
}

/// The products (as positions in [`FacetIndex::products`]) that have each property.
#[derive(Debug, Default)]
struct Sets {
    active: RoaringBitmap,
    /// Published, saleable and active: what `CATALOG_SCOPE=website` shows (its website aside).
    on_website: RoaringBitmap,
    in_stock: RoaringBitmap,
    /// Products of no particular website, shown on each.
    on_every_website: RoaringBitmap,
    by_website: HashMap<i64, RoaringBitmap>,
    /// By slot of [`FacetIndex::pairs`].
    by_pair: Vec<RoaringBitmap>,
    /// By slot of the category tree: the products with it as their category or an ancestor.
    by_category: Vec<RoaringBitmap>,
    /// By category id: the products with it as their own category (also one not in the tree).
    by_own_category: HashMap<i64, RoaringBitmap>,
    /// By slot of the website category tree, as `by_category`.
    by_public_category: Vec<RoaringBitmap>,
    /// By website category id: the products that list it in `public_categ_ids`.
    by_listed_public_category: HashMap<i64, RoaringBitmap>,
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
    sets: Sets,
    /// Every (attribute, value) pair some product offers, sorted: a slot's place is its place
    /// in the answer.
    pairs: Vec<(i64, i64)>,
    /// The categories that are some product's category or an ancestor of it, as `category=ID`
    /// walks them.
    categories: Tree,
    /// The same for website categories (each one a product lists, and their ancestors).
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

/// A query's conditions as sets of an index's products.
struct QuerySets {
    /// The store's own conditions (activity, scope, categories, text), and stock.
    base: RoaringBitmap,
    /// Within `price_min..=price_max`; none without a bound.
    price: Option<RoaringBitmap>,
    /// Each attribute filter: its attribute, and the products offering one of its values.
    filters: Vec<(i64, RoaringBitmap)>,
}

impl QuerySets {
    /// The base products that pass every attribute filter but `except`'s.
    fn passing_attributes(&self, except: Option<i64>) -> RoaringBitmap {
        let mut passing = self.base.clone();
        for (attribute, offering) in &self.filters {
            if Some(*attribute) != except {
                passing &= offering;
            }
        }
        passing
    }

    fn within_price(&self, mut products: RoaringBitmap) -> RoaringBitmap {
        if let Some(price) = &self.price {
            products &= price;
        }
        products
    }
}

/// The products in `category` of a tree (`category=ID`): it is their own (or listed) category,
/// or one of its ancestors.
fn in_tree(
    category: i64,
    tree: &Tree,
    by_slot: &[RoaringBitmap],
    by_own: &HashMap<i64, RoaringBitmap>,
) -> RoaringBitmap {
    let mut members = by_own.get(&category).cloned().unwrap_or_default();
    if let Some(slot) = tree.slots.get(&category) {
        members |= &by_slot[*slot as usize];
    }
    members
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
            sets: Sets {
                by_pair: vec![RoaringBitmap::new(); pairs.len()],
                by_category: vec![RoaringBitmap::new(); categories.ids.len()],
                by_public_category: vec![RoaringBitmap::new(); public_categories.ids.len()],
                ..Sets::default()
            },
            pairs,
            categories,
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
        for (position, (p, (own, public))) in products_rows.into_iter().zip(walks).enumerate() {
            let at = position as u32;
            let sets = &mut index.sets;
            for pair in values_of.remove(&p.product_id).unwrap_or_default() {
                sets.by_pair[pair_slots[&pair] as usize].insert(at);
            }
            for slot in index.categories.slots_of(&own) {
                sets.by_category[slot as usize].insert(at);
            }
            for slot in index.public_categories.slots_of(&public) {
                sets.by_public_category[slot as usize].insert(at);
            }
            if let Some(category) = p.category_id {
                sets.by_own_category.entry(category).or_default().insert(at);
            }
            for category in &p.public_categ_ids {
                sets.by_listed_public_category
                    .entry(*category)
                    .or_default()
                    .insert(at);
            }
            let flags = [
                (p.active, &mut sets.active),
                (
                    p.is_published && p.sale_ok && p.active,
                    &mut sets.on_website,
                ),
                (in_stock.contains(&p.product_id), &mut sets.in_stock),
            ];
            for (_, set) in flags.into_iter().filter(|(has, _)| *has) {
                set.insert(at);
            }
            match p.website_id {
                Some(website) => sets.by_website.entry(website).or_default().insert(at),
                None => sets.on_every_website.insert(at),
            };
            index.names.push(p.name);
            index.write_dates.push(p.write_date);
            index.products.push(IndexedProduct {
                id: p.product_id,
                list_price: p.list_price,
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
        let sets = self.query_sets(query, text_matches);
        let passing_attributes = sets.passing_attributes(None);
        let mut price = PriceRange::default();
        for position in &passing_attributes {
            let list_price = self.products[position as usize].list_price;
            price.min = Some(price.min.map_or(list_price, |m| m.min(list_price)));
            price.max = Some(price.max.map_or(list_price, |m| m.max(list_price)));
        }
        let narrowed = sets.within_price(passing_attributes);
        // Each filtered attribute's values are counted as if its own filter were off.
        let mut counted_without: HashMap<i64, RoaringBitmap> = HashMap::new();
        let value_counts: Vec<u64> = self
            .pairs
            .iter()
            .zip(&self.sets.by_pair)
            .map(|((attribute, _), offering)| {
                let among = match sets.filters.iter().any(|(id, _)| id == attribute) {
                    true => counted_without.entry(*attribute).or_insert_with(|| {
                        sets.within_price(sets.passing_attributes(Some(*attribute)))
                    }),
                    false => &narrowed,
                };
                among.intersection_len(offering)
            })
            .collect();
        let (tree, by_slot) = match query.scope {
            CatalogScope::Website { .. } => {
                (&self.public_categories, &self.sets.by_public_category)
            }
            CatalogScope::All => (&self.categories, &self.sets.by_category),
        };
        Facets {
            attributes: self.attribute_facets(&value_counts),
            price,
            categories: tree
                .ids
                .iter()
                .zip(by_slot)
                .map(|(id, members)| (*id, narrowed.intersection_len(members)))
                .filter(|(_, count)| *count > 0)
                .map(|(id, count)| CategoryCount { id, count })
                .collect(),
        }
    }

    /// The ids of one page of `query`'s products, in its order, and the position after the
    /// page when more follow: what the stores' list statement answers, counted in memory.
    /// `text_matches` as for [`Self::facets`].
    pub fn page(&self, query: &ProductQuery, text_matches: Option<&HashSet<i64>>) -> IndexPage {
        let sets = self.query_sets(query, text_matches);
        let matching = sets.within_price(sets.passing_attributes(None));
        let sort = sort_slot(query.sort);
        // The keyset condition, in the order of the sort the cursor was made in (the page's,
        // as cursors are signed with their sort).
        let (after_sort, first) = query
            .after
            .as_ref()
            .map_or((sort, 0), |key| self.first_rank_after(key));
        let after_key = |position: u32| self.products[position as usize].ranks[after_sort] >= first;
        let skipped = if after_sort == sort { first } else { 0 };
        let order = &self.orders[sort][skipped as usize..];
        let wanted = query.limit as usize + 1;
        // One more than the page tells whether a next page exists. A set dense in what is left
        // is met soonest walking the sort's order; a sparse one is ranked whole.
        let mut page: Vec<u32> = if matching.len() * 16 >= order.len() as u64 {
            order
                .iter()
                .copied()
                // Past `skipped`, the keyset condition holds when it is in the page's sort.
                .filter(|p| matching.contains(*p) && (after_sort == sort || after_key(*p)))
                .take(wanted)
                .collect()
        } else {
            let mut ranked: Vec<(u32, u32)> = matching
                .iter()
                .filter(|position| after_key(*position))
                .map(|position| (self.products[position as usize].ranks[sort], position))
                .collect();
            if ranked.len() > wanted {
                ranked.select_nth_unstable(wanted - 1);
                ranked.truncate(wanted);
            }
            ranked.sort_unstable();
            ranked.into_iter().map(|(_, position)| position).collect()
        };
        let has_more = page.len() == wanted;
        page.truncate(query.limit as usize);
        let next = match page.last() {
            Some(last) if has_more => Some(self.sort_key(*last as usize, query.sort)),
            _ => None,
        };
        IndexPage {
            ids: page
                .iter()
                .map(|position| self.products[*position as usize].id)
                .collect(),
            next,
        }
    }

    /// `query`'s conditions as sets of this index's products.
    fn query_sets(&self, query: &ProductQuery, text_matches: Option<&HashSet<i64>>) -> QuerySets {
        let mut base = self.base(query, text_matches);
        if query.in_stock {
            base &= &self.sets.in_stock;
        }
        let price = (query.price_min.is_some() || query.price_max.is_some()).then(|| {
            self.positions_where(|product| {
                query.price_min.is_none_or(|min| product.list_price >= min)
                    && query.price_max.is_none_or(|max| product.list_price <= max)
            })
        });
        let filters = query
            .attributes
            .iter()
            .map(|filter| {
                let mut offering = RoaringBitmap::new();
                for (pair, members) in self.pairs.iter().zip(&self.sets.by_pair) {
                    if filter.values.contains(&pair.1) {
                        offering |= members;
                    }
                }
                (filter.attribute_id, offering)
            })
            .collect();
        QuerySets {
            base,
            price,
            filters,
        }
    }

    /// The positions of the products `keep` holds for, set a bit at a time into bytes: pushing
    /// each into a bitmap was an eighth of a faceted page's CPU under load.
    fn positions_where(&self, keep: impl Fn(&IndexedProduct) -> bool) -> RoaringBitmap {
        let mut bytes = vec![0u8; self.products.len().div_ceil(8)];
        for (position, product) in self.products.iter().enumerate() {
            bytes[position / 8] |= u8::from(keep(product)) << (position % 8);
        }
        RoaringBitmap::from_lsb0_bytes(0, &bytes)
    }

    /// The store's own conditions: activity, scope, category trees, text.
    fn base(&self, query: &ProductQuery, text_matches: Option<&HashSet<i64>>) -> RoaringBitmap {
        let sets = &self.sets;
        let mut base = match query.include_inactive {
            true => {
                let mut all = RoaringBitmap::new();
                all.insert_range(0..self.products.len() as u32);
                all
            }
            false => sets.active.clone(),
        };
        if let CatalogScope::Website { website } = query.scope {
            base &= &sets.on_website;
            if let Some(website) = website {
                let mut here = sets.on_every_website.clone();
                if let Some(own) = sets.by_website.get(&website) {
                    here |= own;
                }
                base &= &here;
            }
        }
        if let Some(category) = query.category {
            base &= &in_tree(
                category,
                &self.categories,
                &sets.by_category,
                &sets.by_own_category,
            );
        }
        if let Some(category) = query.public_category {
            base &= &in_tree(
                category,
                &self.public_categories,
                &sets.by_public_category,
                &sets.by_listed_public_category,
            );
        }
        if let Some(matches) = text_matches {
            let mut positions: Vec<u32> = matches
                .iter()
                .filter_map(|id| {
                    self.products
                        .binary_search_by_key(id, |product| product.id)
                        .ok()
                })
                .map(|position| position as u32)
                .collect();
            positions.sort_unstable();
            base &= &RoaringBitmap::from_sorted_iter(positions).expect("positions ascend");
        }
        base
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
