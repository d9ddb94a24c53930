//! Facets and the attribute, price and stock filters of `GET /api/products`, through the binary:
//! for 20 seeded random filter sets, the products listed (every page) and every facet count
//! equal those counted by brute force over the whole catalog, on SQLite and PostgreSQL, and under
//! `CATALOG_SCOPE=website`; each bad parameter is a 400 naming it.
//!
//! The brute force reads `catalog export` (the products, prices, categories and flags) and, for
//! what Odoo's own field names there do not carry, each product's attributes and variant stock
//! as an unfiltered listing shows them.

use std::collections::{BTreeMap, BTreeSet};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_app_with_postgres, TestApp, TestServer};

const PRODUCTS: usize = 300;

/// A product as the brute force needs it.
struct Item {
    id: i64,
    price: f64,
    active: bool,
    shown_on_website: bool,
    /// Product category, or website categories under the website scope.
    categories: Vec<i64>,
    /// Attribute id → the value ids the product offers.
    values: BTreeMap<i64, BTreeSet<i64>>,
    in_stock: bool,
}

#[derive(Debug, Clone, Default)]
struct Filters {
    attr: Vec<i64>,
    price_min: Option<f64>,
    price_max: Option<f64>,
    in_stock: bool,
    category: Option<i64>,
    include_inactive: bool,
    /// Full-text terms (`q=`).
    text: Option<String>,
}

impl Filters {
    fn query(&self) -> String {
        let mut query = String::new();
        for value in &self.attr {
            query.push_str(&format!("&attr={value}"));
        }
        if let Some(min) = self.price_min {
            query.push_str(&format!("&price_min={min}"));
        }
        if let Some(max) = self.price_max {
            query.push_str(&format!("&price_max={max}"));
        }
        if self.in_stock {
            query.push_str("&in_stock=true");
        }
        if let Some(category) = self.category {
            query.push_str(&format!("&category={category}"));
        }
        if self.include_inactive {
            query.push_str("&include_inactive=true");
        }
        if let Some(text) = &self.text {
            query.push_str(&format!("&q={text}"));
        }
        query
    }
}

struct Catalog {
    items: Vec<Item>,
    /// Attribute id → (name, value id → name).
    names: BTreeMap<i64, (String, BTreeMap<i64, String>)>,
    /// Category id → itself and its ancestors.
    ancestors: BTreeMap<i64, BTreeSet<i64>>,
    website: bool,
    /// Words of product names → the products full-text search finds for each (listed, every
    /// product of the `all` scope): the brute force takes the search engine's word for text.
    matches: BTreeMap<String, BTreeSet<i64>>,
}

/// Every product page of a listing, following cursors, and the first page's facets.
async fn listing(server: &TestServer, query: &str) -> (Vec<Value>, Value) {
    let mut products = Vec::new();
    let mut path = format!("/api/products?limit=100&facets=true{query}");
    let mut facets = None;
    loop {
        let page = server.json(&path).await;
        facets.get_or_insert_with(|| page["facets"].clone());
        products.extend(page["products"].as_array().unwrap().iter().cloned());
        match page["nextCursor"].as_str() {
            Some(cursor) => {
                path = format!("/api/products?limit=100&facets=true{query}&cursor={cursor}")
            }
            None => return (products, facets.unwrap()),
        }
    }
}

/// The ids of every page of a listing in `sort` order, `limit` at a time, following cursors.
async fn ids_in_order(server: &TestServer, query: &str, sort: &str, limit: u32) -> Vec<i64> {
    let base = format!("/api/products?limit={limit}&sort={sort}{query}");
    let mut path = base.clone();
    let mut ids = Vec::new();
    loop {
        let page = server.json(&path).await;
        let products = page["products"].as_array().unwrap();
        assert!(
            products.len() <= limit as usize,
            "{path}: a page over its limit"
        );
        ids.extend(products.iter().map(|p| p["id"].as_i64().unwrap()));
        match page["nextCursor"].as_str() {
            Some(cursor) => path = format!("{base}&cursor={cursor}"),
            None => return ids,
        }
    }
}

/// Filtered pages come in the same order, cut at the same places, as the catalog listed
/// without filters: each sort, through small pages, against the unfiltered order kept to the
/// brute force's matches.
async fn filtered_pages_keep_the_order_of_every_sort(
    server: &TestServer,
    catalog: &Catalog,
    rng: &mut StdRng,
) {
    for sort in ["name", "price", "updated"] {
        let all = ids_in_order(server, "&include_inactive=true", sort, 100).await;
        for _ in 0..3 {
            let filters = catalog.random_filters(rng);
            let expected_set = catalog.expected_ids(&filters);
            let expected: Vec<i64> = all
                .iter()
                .copied()
                .filter(|id| expected_set.contains(id))
                .collect();
            let query = filters.query();
            let got = ids_in_order(server, &query, sort, 7).await;
            assert_eq!(got, expected, "sort {sort}, {query}");
        }
    }
}

/// Parents from a category tree (`/api/categories` or `/api/public-categories`).
fn parents(nodes: &Value, out: &mut BTreeMap<i64, Option<i64>>) {
    for node in nodes.as_array().unwrap() {
        out.insert(node["id"].as_i64().unwrap(), node["parentId"].as_i64());
        parents(&node["children"], out);
    }
}

/// The whole catalog, read through `server` (of the `all` scope, which shows every product);
/// `website`: with website categories, and each product's website flags.
async fn catalog(app: &TestApp, server: &TestServer, website: bool) -> Catalog {
    let export = app.export().await;
    let (listed, _) = listing(server, "&include_inactive=true").await;
    let listed: BTreeMap<i64, Value> = listed
        .into_iter()
        .map(|p| (p["id"].as_i64().unwrap(), p))
        .collect();
    let tree = match website {
        false => server.json("/api/categories").await,
        true => server.json("/api/public-categories").await,
    };
    let mut parent = BTreeMap::new();
    parents(&tree["categories"], &mut parent);
    let ancestors = parent
        .keys()
        .map(|id| {
            let mut up = BTreeSet::from([*id]);
            let mut current = parent[id];
            while let Some(p) = current.filter(|p| up.insert(*p)) {
                current = parent.get(&p).copied().flatten();
            }
            (*id, up)
        })
        .collect();
    let mut names: BTreeMap<i64, (String, BTreeMap<i64, String>)> = BTreeMap::new();
    let mut items = Vec::new();
    for (id, exported) in &export {
        let shown_on_website = exported["is_published"] == true
            && exported["sale_ok"] == true
            && exported["active"] == true;
        let product = &listed[id];
        let mut values: BTreeMap<i64, BTreeSet<i64>> = BTreeMap::new();
        for attribute in product["attributes"].as_array().unwrap() {
            let attribute_id = attribute["id"].as_i64().unwrap();
            let entry = names.entry(attribute_id).or_insert_with(|| {
                (
                    attribute["name"].as_str().unwrap().to_string(),
                    BTreeMap::new(),
                )
            });
            for value in attribute["values"].as_array().unwrap() {
                let value_id = value["id"].as_i64().unwrap();
                entry
                    .1
                    .insert(value_id, value["name"].as_str().unwrap().to_string());
                values.entry(attribute_id).or_default().insert(value_id);
            }
        }
        let in_stock =
            product["variants"].as_array().unwrap().iter().any(|v| {
                v["active"] == true && v["stock"]["free"].as_f64().is_some_and(|f| f > 0.0)
            });
        let categories = match website {
            false => exported["categ_id"][0].as_i64().into_iter().collect(),
            true => exported["public_categ_ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_i64().unwrap())
                .collect(),
        };
        items.push(Item {
            id: *id,
            price: exported["list_price"].as_f64().unwrap(),
            active: exported["active"] == true,
            shown_on_website,
            categories,
            values,
            in_stock,
        });
    }
    assert!(items.len() > PRODUCTS / 2, "{} products", items.len());
    let mut matches = BTreeMap::new();
    for exported in export.values().step_by(37) {
        let name = exported["name"].as_str().unwrap_or_default();
        let Some(word) = name.split_whitespace().next().map(str::to_lowercase) else {
            continue;
        };
        let (found, _) = listing(server, &format!("&q={word}&include_inactive=true")).await;
        let found: BTreeSet<i64> = found.iter().map(|p| p["id"].as_i64().unwrap()).collect();
        assert!(!found.is_empty(), "searching '{word}' finds '{name}'");
        matches.insert(word, found);
    }
    assert!(matches.len() >= 2, "words to search: {matches:?}");
    Catalog {
        items,
        names,
        ancestors,
        website,
        matches,
    }
}

impl Catalog {
    fn attribute_of(&self, value: i64) -> i64 {
        *self
            .names
            .iter()
            .find(|(_, (_, values))| values.contains_key(&value))
            .unwrap()
            .0
    }

    fn in_category(&self, item: &Item, category: i64) -> bool {
        item.categories.iter().any(|c| {
            self.ancestors
                .get(c)
                .is_some_and(|up| up.contains(&category))
        })
    }

    /// Whether the item passes the filters, with one attribute's filter or the price's off.
    fn passes(
        &self,
        item: &Item,
        f: &Filters,
        skip_attribute: Option<i64>,
        skip_price: bool,
    ) -> bool {
        let scoped = match self.website {
            true => item.shown_on_website,
            false => item.active || f.include_inactive,
        };
        let mut groups: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
        for value in &f.attr {
            groups
                .entry(self.attribute_of(*value))
                .or_default()
                .push(*value);
        }
        let attributes = groups.iter().all(|(attribute, wanted)| {
            Some(*attribute) == skip_attribute
                || item
                    .values
                    .get(attribute)
                    .is_some_and(|offered| wanted.iter().any(|v| offered.contains(v)))
        });
        let priced = skip_price
            || (f.price_min.is_none_or(|min| item.price >= min)
                && f.price_max.is_none_or(|max| item.price <= max));
        scoped
            && attributes
            && priced
            && (!f.in_stock || item.in_stock)
            && f.category.is_none_or(|c| self.in_category(item, c))
            && f.text
                .as_ref()
                .is_none_or(|t| self.matches[t].contains(&item.id))
    }

    fn expected_ids(&self, f: &Filters) -> BTreeSet<i64> {
        let items = self.items.iter();
        items
            .filter(|i| self.passes(i, f, None, false))
            .map(|i| i.id)
            .collect()
    }

    fn expected_facets(&self, f: &Filters) -> Value {
        let mut attributes = Vec::new();
        for (attribute, (name, values)) in &self.names {
            let counted: Vec<Value> = values
                .iter()
                .filter_map(|(value, value_name)| {
                    let count = self
                        .items
                        .iter()
                        .filter(|i| self.passes(i, f, Some(*attribute), false))
                        .filter(|i| i.values.get(attribute).is_some_and(|v| v.contains(value)))
                        .count();
                    (count > 0).then(|| json!({"id": value, "name": value_name, "count": count}))
                })
                .collect();
            if !counted.is_empty() {
                attributes.push(json!({"id": attribute, "name": name, "values": counted}));
            }
        }
        let prices: Vec<f64> = self
            .items
            .iter()
            .filter(|i| self.passes(i, f, None, true))
            .map(|i| i.price)
            .collect();
        let min = prices.iter().copied().reduce(f64::min);
        let max = prices.iter().copied().reduce(f64::max);
        let categories: Vec<Value> = self
            .ancestors
            .keys()
            .filter_map(|category| {
                let count = self
                    .items
                    .iter()
                    .filter(|i| self.passes(i, f, None, false) && self.in_category(i, *category))
                    .count();
                (count > 0).then(|| json!({"id": category, "count": count}))
            })
            .collect();
        json!({"attributes": attributes, "price": {"min": min, "max": max}, "categories": categories})
    }

    fn random_filters(&self, rng: &mut StdRng) -> Filters {
        let values: Vec<i64> = self
            .names
            .values()
            .flat_map(|(_, v)| v.keys().copied())
            .collect();
        let prices: Vec<f64> = self.items.iter().map(|i| i.price).collect();
        let categories: Vec<i64> = self.ancestors.keys().copied().collect();
        let mut attr: Vec<i64> = (0..rng.gen_range(0..=3))
            .map(|_| values[rng.gen_range(0..values.len())])
            .collect();
        attr.dedup();
        let mut f = Filters {
            attr,
            in_stock: rng.gen_bool(0.3),
            include_inactive: !self.website && rng.gen_bool(0.2),
            category: rng
                .gen_bool(0.3)
                .then(|| categories[rng.gen_range(0..categories.len())]),
            text: rng
                .gen_bool(0.3)
                .then(|| {
                    self.matches
                        .keys()
                        .nth(rng.gen_range(0..self.matches.len()))
                })
                .flatten()
                .cloned(),
            ..Filters::default()
        };
        if rng.gen_bool(0.5) {
            let (a, b) = (
                prices[rng.gen_range(0..prices.len())],
                prices[rng.gen_range(0..prices.len())],
            );
            f.price_min = rng.gen_bool(0.8).then_some(a.min(b));
            f.price_max = rng.gen_bool(0.8).then_some(a.max(b));
        }
        f
    }
}

async fn facets_equal_brute_force(app: TestApp, website: bool) {
    app.cli_ok(&["sync", "--full"]).await;
    let everything = app.serve(&[]).await;
    let catalog = catalog(&app, &everything, website).await;
    if website {
        let hidden = catalog.items.iter().filter(|i| !i.shown_on_website).count();
        assert!(
            hidden > 10,
            "only {hidden} products out of the website scope"
        );
    }
    let server = match website {
        true => {
            everything.stop().await;
            app.serve(&[("CATALOG_SCOPE", "website")]).await
        }
        false => everything,
    };
    let mut rng = StdRng::seed_from_u64(13);
    let mut non_empty = 0;
    for round in 0..20 {
        let filters = catalog.random_filters(&mut rng);
        let query = filters.query();
        let (products, facets) = listing(&server, &query).await;
        let got: BTreeSet<i64> = products.iter().map(|p| p["id"].as_i64().unwrap()).collect();
        assert_eq!(
            got.len(),
            products.len(),
            "round {round} {query}: a product listed twice"
        );
        let expected = catalog.expected_ids(&filters);
        assert_eq!(got, expected, "round {round}: products of {query}");
        assert_eq!(
            facets,
            catalog.expected_facets(&filters),
            "round {round}: facets of {query}"
        );
        non_empty += usize::from(!expected.is_empty());
    }
    assert!(
        non_empty >= 8,
        "only {non_empty} of 20 filter sets matched anything"
    );
    if !website {
        filtered_pages_keep_the_order_of_every_sort(&server, &catalog, &mut rng).await;
    }
    facet_names_are_the_pickers_in_the_asked_language(&server).await;
    if !website {
        facets_follow_a_change_synced_by_another_process(&app, &server, &catalog).await;
    }
    server.stop().await;
}

/// Facets are counted from what the catalog holds now: a price raised in Odoo and synced by a
/// CLI run (another process) moves the facets' range at once, and the counts stay exact.
async fn facets_follow_a_change_synced_by_another_process(
    app: &TestApp,
    server: &TestServer,
    before: &Catalog,
) {
    let (_, facets) = listing(server, "").await;
    let dearest = facets["price"]["max"].as_f64().unwrap();
    let product = before.items.iter().find(|i| i.active).unwrap().id;
    let raised = (dearest + 1000.0).round();
    app.odoo()
        .await
        .write(
            "product.template",
            &[product],
            json!({"list_price": raised}).as_object().unwrap().clone(),
            &odoo_rpc::Context::default(),
        )
        .await
        .unwrap();
    app.cli_ok(&["sync", "--incremental"]).await;
    let (_, facets) = listing(server, "").await;
    assert_eq!(facets["price"]["max"].as_f64(), Some(raised), "{facets}");
    let after = catalog(app, server, false).await;
    let unfiltered = Filters::default();
    assert_eq!(facets, after.expected_facets(&unfiltered));
    let priced = Filters {
        price_min: Some(raised),
        ..Filters::default()
    };
    let (products, facets) = listing(server, &priced.query()).await;
    assert_eq!(products.len(), 1, "only the raised product costs {raised}");
    assert_eq!(facets, after.expected_facets(&priced));
}

/// With `lang=`, facets name attributes and values as the products' pickers do in it.
async fn facet_names_are_the_pickers_in_the_asked_language(server: &TestServer) {
    let (products, facets) = listing(server, "&lang=fr_FR").await;
    let mut picker = BTreeMap::new();
    for attribute in products
        .iter()
        .flat_map(|p| p["attributes"].as_array().unwrap())
    {
        picker.insert(
            ("attribute", attribute["id"].as_i64().unwrap()),
            attribute["name"].clone(),
        );
        for value in attribute["values"].as_array().unwrap() {
            picker.insert(
                ("value", value["id"].as_i64().unwrap()),
                value["name"].clone(),
            );
        }
    }
    let mut named = 0;
    for attribute in facets["attributes"].as_array().unwrap() {
        let key = ("attribute", attribute["id"].as_i64().unwrap());
        assert_eq!(picker.get(&key), Some(&attribute["name"]), "{attribute}");
        for value in attribute["values"].as_array().unwrap() {
            let key = ("value", value["id"].as_i64().unwrap());
            assert_eq!(picker.get(&key), Some(&value["name"]), "{value}");
            named += 1;
        }
    }
    assert!(named > 0, "facets name some values: {facets}");
    assert!(facets.to_string().contains("\"Couleur\""), "{facets}");
}

#[tokio::test]
async fn facets_and_filtered_lists_equal_a_brute_force_count_over_the_export_on_sqlite() {
    facets_equal_brute_force(spawn_app(PRODUCTS).await, false).await;
}

#[tokio::test]
async fn facets_and_filtered_lists_equal_a_brute_force_count_over_the_export_on_postgres() {
    facets_equal_brute_force(spawn_app_with_postgres(PRODUCTS).await, false).await;
}

#[tokio::test]
async fn under_the_website_scope_facets_count_no_unpublished_product() {
    facets_equal_brute_force(spawn_app(PRODUCTS).await, true).await;
}

#[tokio::test]
async fn each_bad_facet_parameter_is_a_400_that_names_it() {
    let app = spawn_app(30).await;
    app.cli_ok(&["sync", "--full"]).await;
    let server = app.serve(&[]).await;
    for (query, named) in [
        ("attr=red", "attr"),
        ("attr=0", "attr"),
        ("attr=999999", "attr 999999"),
        (
            "price_min=50&price_max=10",
            "price_min (50) is above price_max (10)",
        ),
        ("price_min=-1", "price_min"),
        ("price_max=cheap", "price_max"),
        ("in_stock=yes", "in_stock"),
        ("facets=1", "facets"),
    ] {
        let answer = server
            .get(&format!("/api/products?{query}"))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 400, "{query}");
        let body: Value = answer.json().await.unwrap();
        assert_eq!(body["error"]["code"], "invalid_query", "{query}: {body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(named), "{query}: {message}");
    }
    // A cursor is only good for the filters it was made under.
    let page = server.json("/api/products?limit=1&attr=1").await;
    let cursor = page["nextCursor"]
        .as_str()
        .expect("more than one red product");
    let answer = server
        .get(&format!("/api/products?limit=1&attr=2&cursor={cursor}"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 400);
    let body: Value = answer.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_cursor", "{body}");
    // The cache and the ETags tell filter sets apart.
    let etag = |query: &'static str| {
        let request = server.get(&format!("/api/products?facets=true&{query}"));
        async move { request.send().await.unwrap().headers()["etag"].clone() }
    };
    assert_ne!(etag("attr=1").await, etag("attr=2").await);
    assert_ne!(etag("price_max=10").await, etag("price_max=20").await);
    assert_ne!(etag("in_stock=true").await, etag("").await);
    assert_eq!(etag("attr=1").await, etag("attr=1").await);
    let red = server.json("/api/products?attr=1&facets=true").await;
    let blue = server.json("/api/products?attr=2&facets=true").await;
    assert_ne!(red["products"], blue["products"]);
    // Other filters answer as before, without facets unless asked.
    let plain = server.json("/api/products?limit=2").await;
    assert!(plain.get("facets").is_none(), "{plain}");
    server.stop().await;
}
