//! Storefront data (attributes, SEO columns, website categories, the website scope) as both
//! stores write and read it: the rows travel as one JSON parameter per statement, built here
//! once, and the scope is one SQL predicate over product columns that both dialects accept.

use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::domain::site_event::CatalogChange;
use crate::domain::{
    slug, AttributeValue, CatalogScope, NameTranslations, Product, ProductAttribute, PublicCategory,
};

/// One website category with what the API shows of it.
#[derive(Debug, Clone, PartialEq)]
pub struct PublicCategoryNode {
    pub category: PublicCategory,
    /// Ids from the root down to this category, itself included.
    pub path: Vec<i64>,
    /// Products in scope in this category or any below it, each counted once.
    pub product_count: u64,
    pub children: Vec<PublicCategoryNode>,
}

/// The storefront columns of `product`, one object per product, for `update … from` a JSON array.
pub(super) fn storefront_columns_json(products: &[&Product]) -> String {
    let rows: Vec<_> = products
        .iter()
        .map(|p| {
            let s = &p.storefront;
            json!({
                "id": p.id,
                "slug": slug(&p.name, p.id),
                "website_id": s.website_id,
                "website_url": s.website_url,
                "seo_title": s.seo_title,
                "seo_description": s.seo_description,
                "ribbon": s.ribbon,
                "currency": s.currency,
            })
        })
        .collect();
    serde_json::Value::Array(rows).to_string()
}

/// A `product_attribute_value` row as both stores keep it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct AttributeRow {
    pub product_id: i64,
    pub position: i64,
    pub attribute_id: i64,
    pub attribute_name: String,
    pub display_type: String,
    pub value_id: i64,
    pub ptav_id: i64,
    pub name: String,
    pub html_color: Option<String>,
    pub price_extra: f64,
    #[serde(default)]
    pub attribute_name_translations: NameTranslations,
    #[serde(default)]
    pub name_translations: NameTranslations,
}

/// The `product_attribute_value` rows of `products`, as a JSON array.
pub(super) fn attribute_rows_json(products: &[&Product]) -> String {
    let mut rows = Vec::new();
    for product in products {
        let mut position = 0;
        for attribute in &product.storefront.attributes {
            for value in &attribute.values {
                rows.push(AttributeRow {
                    product_id: product.id,
                    position,
                    attribute_id: attribute.id,
                    attribute_name: attribute.name.clone(),
                    display_type: attribute.display_type.clone(),
                    value_id: value.id,
                    ptav_id: value.ptav_id,
                    name: value.name.clone(),
                    html_color: value.html_color.clone(),
                    price_extra: value.price_extra,
                    attribute_name_translations: attribute.translations.clone(),
                    name_translations: value.translations.clone(),
                });
                position += 1;
            }
        }
    }
    serde_json::to_string(&rows).expect("rows serialise")
}

/// A product's rows (in `position` order) back into attributes with their values.
pub(super) fn group_attributes(rows: Vec<AttributeRow>) -> Vec<ProductAttribute> {
    let mut attributes: Vec<ProductAttribute> = Vec::new();
    for row in rows {
        let value = AttributeValue {
            id: row.value_id,
            ptav_id: row.ptav_id,
            name: row.name,
            html_color: row.html_color,
            price_extra: row.price_extra,
            translations: row.name_translations,
        };
        match attributes.last_mut() {
            Some(last) if last.id == row.attribute_id => last.values.push(value),
            _ => attributes.push(ProductAttribute {
                id: row.attribute_id,
                name: row.attribute_name,
                display_type: row.display_type,
                values: vec![value],
                translations: row.attribute_name_translations,
            }),
        }
    }
    attributes
}

/// The attributes of every product in `rows` (any order of products, `position` order within).
pub(super) fn attributes_by_product(
    rows: Vec<AttributeRow>,
) -> HashMap<i64, Vec<ProductAttribute>> {
    let mut by_product: HashMap<i64, Vec<AttributeRow>> = HashMap::new();
    for row in rows {
        by_product.entry(row.product_id).or_default().push(row);
    }
    by_product
        .into_iter()
        .map(|(id, mut rows)| {
            rows.sort_by_key(|row| row.position);
            (id, group_attributes(rows))
        })
        .collect()
}

pub(super) fn public_categories_json(categories: &[PublicCategory]) -> String {
    serde_json::to_string(categories).expect("categories serialise")
}

/// The SQL condition (starting with ` and`) that keeps the products `scope` shows, on the
/// product columns of `table`; the same text on SQLite and PostgreSQL (booleans are 0/1 on
/// SQLite, which `= true` matches too). The website id is an integer, printed, never text.
/// What websites are told when the website category tree is replaced: the `public-category:ID`
/// tag of each category added, changed or gone (listings and menus show their names and places).
pub(super) fn public_category_change(
    before: &[PublicCategory],
    after: &[PublicCategory],
) -> CatalogChange {
    let old: HashMap<i64, &PublicCategory> = before.iter().map(|c| (c.id, c)).collect();
    let new: HashMap<i64, &PublicCategory> = after.iter().map(|c| (c.id, c)).collect();
    let changed = after
        .iter()
        .filter(|c| old.get(&c.id) != Some(c))
        .map(|c| c.id);
    let gone = before
        .iter()
        .filter(|c| !new.contains_key(&c.id))
        .map(|c| c.id);
    CatalogChange {
        other_tags: changed
            .chain(gone)
            .map(|id| format!("public-category:{id}"))
            .collect(),
        ..CatalogChange::default()
    }
}

pub(super) fn scope_predicate(scope: CatalogScope, table: &str) -> String {
    match scope {
        CatalogScope::All => String::new(),
        CatalogScope::Website { website } => {
            let mut sql = format!(
                " and {table}.is_published = true and {table}.sale_ok = true and {table}.active = true"
            );
            if let Some(website) = website {
                sql.push_str(&format!(
                    " and ({table}.website_id is null or {table}.website_id = {website})"
                ));
            }
            sql
        }
    }
}

/// The category tree (siblings by sequence, then id) with each node's count of distinct
/// products in it or below it. `members` are (product, its public category ids) of the products
/// in scope. A category whose parent is unknown is a root. Odoo refuses cyclic parents; a
/// database edited by hand that has some still ends the walk, leaving the cycle out.
pub fn public_category_tree(
    categories: Vec<PublicCategory>,
    members: &[(i64, Vec<i64>)],
) -> Vec<PublicCategoryNode> {
    let by_id: HashMap<i64, &PublicCategory> = categories.iter().map(|c| (c.id, c)).collect();
    let ancestors_and_self = |id: i64| -> Vec<i64> {
        let mut path = vec![id];
        let mut current = by_id.get(&id).and_then(|c| c.parent_id);
        while let Some(parent) = current {
            if path.contains(&parent) || !by_id.contains_key(&parent) {
                break;
            }
            path.push(parent);
            current = by_id.get(&parent).and_then(|c| c.parent_id);
        }
        path.reverse();
        path
    };
    let mut counts: HashMap<i64, u64> = HashMap::new();
    for (_, categories) in members {
        let reached: BTreeSet<i64> = categories
            .iter()
            .filter(|id| by_id.contains_key(id))
            .flat_map(|id| ancestors_and_self(*id))
            .collect();
        for id in reached {
            *counts.entry(id).or_default() += 1;
        }
    }
    let mut children: HashMap<Option<i64>, Vec<&PublicCategory>> = HashMap::new();
    for category in &categories {
        let path = ancestors_and_self(category.id);
        // The root of the chain (path[0]) has no known parent; everything else hangs below.
        let parent = if path.len() > 1 {
            Some(path[path.len() - 2])
        } else {
            None
        };
        children.entry(parent).or_default().push(category);
    }
    for list in children.values_mut() {
        list.sort_by_key(|c| (c.sequence, c.id));
    }
    fn build(
        parent: Option<i64>,
        path: &[i64],
        children: &HashMap<Option<i64>, Vec<&PublicCategory>>,
        counts: &HashMap<i64, u64>,
    ) -> Vec<PublicCategoryNode> {
        children
            .get(&parent)
            .into_iter()
            .flatten()
            .map(|category| {
                let mut own = path.to_vec();
                own.push(category.id);
                PublicCategoryNode {
                    category: (*category).clone(),
                    children: build(Some(category.id), &own, children, counts),
                    product_count: counts.get(&category.id).copied().unwrap_or(0),
                    path: own,
                }
            })
            .collect()
    }
    build(None, &[], &children, &counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn category(id: i64, parent: Option<i64>, sequence: i64) -> PublicCategory {
        PublicCategory {
            id,
            name: format!("c{id}"),
            parent_id: parent,
            sequence,
            website_id: None,
            translations: NameTranslations::new(),
        }
    }

    #[test]
    fn a_product_in_a_category_and_its_child_counts_once_for_the_parent() {
        let categories = vec![
            category(1, None, 2),
            category(2, Some(1), 0),
            category(3, Some(2), 0),
            category(4, None, 1),
        ];
        let members = vec![(10, vec![1, 3]), (11, vec![3]), (12, vec![4, 99])];
        let tree = public_category_tree(categories, &members);
        assert_eq!(
            tree.iter().map(|n| n.category.id).collect::<Vec<_>>(),
            [4, 1]
        );
        assert_eq!(tree[0].product_count, 1);
        let furniture = &tree[1];
        assert_eq!(furniture.product_count, 2);
        assert_eq!(furniture.children[0].product_count, 2);
        assert_eq!(furniture.children[0].children[0].path, [1, 2, 3]);
        assert_eq!(furniture.children[0].children[0].product_count, 2);
    }

    #[test]
    fn a_cycle_of_parents_ends_the_walk_and_is_left_out() {
        let categories = vec![
            category(1, Some(2), 0),
            category(2, Some(1), 0),
            category(3, None, 0),
        ];
        let tree = public_category_tree(categories, &[(10, vec![1, 3])]);
        assert_eq!(tree.len(), 1);
        assert_eq!((tree[0].category.id, tree[0].product_count), (3, 1));
    }

    #[test]
    fn attribute_rows_group_back_into_the_attributes_they_came_from() {
        let value = |id: i64| AttributeValue {
            id,
            ptav_id: id + 100,
            name: format!("v{id}"),
            html_color: (id == 1).then(|| "#FF0000".to_string()),
            price_extra: id as f64,
            translations: NameTranslations::from([("fr_FR".into(), format!("v{id} fr"))]),
        };
        let attributes = vec![
            ProductAttribute {
                id: 1,
                name: "Color".into(),
                display_type: "color".into(),
                values: vec![value(1), value(2)],
                translations: NameTranslations::from([("fr_FR".into(), "Couleur".into())]),
            },
            ProductAttribute {
                id: 2,
                name: "Size".into(),
                display_type: "pills".into(),
                values: vec![value(5)],
                translations: NameTranslations::new(),
            },
        ];
        let mut product: Product = serde_json::from_value(json!({
            "id": 7, "name": "Desk", "default_code": null, "barcode": null, "list_price": 1.0,
            "categ_id": null, "description_sale": null, "active": true, "sale_ok": true,
            "is_published": true, "public_categ_ids": [], "write_date": "2026-11-24 13:00:00",
            "variants": [], "translations": {}, "extra": {}
        }))
        .unwrap();
        product.storefront.attributes = attributes.clone();
        let rows: Vec<AttributeRow> =
            serde_json::from_str(&attribute_rows_json(&[&product])).unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(attributes_by_product(rows)[&7], attributes);
    }
}
