//! The storefront catalog through the binary: attributes and the variant picker, website
//! categories with counts, `CATALOG_SCOPE=website`, a database without website_sale, and an
//! attribute value rename reaching the catalog by webhook and by the sweep. Every expectation is
//! computed from the simulator's own state, read over RPC.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use odoo_rpc::{Context, Domain, OdooApi, Record, SearchOptions};
use serde_json::{json, Map, Value};

use crate::helpers::{spawn_app, spawn_app_with_postgres, TestApp, TestServer};
use crate::webhooks::{real_time_app, within};

const PRODUCTS: usize = 300;

async fn all(odoo: &dyn OdooApi, model: &str, domain: Domain, fields: &[&str]) -> Vec<Record> {
    all_in(odoo, model, domain, fields, None).await
}

/// `all`, names in `lang` (Odoo's base language without one).
async fn all_in(
    odoo: &dyn OdooApi,
    model: &str,
    domain: Domain,
    fields: &[&str],
    lang: Option<&str>,
) -> Vec<Record> {
    let mut context = Context::default().active_test(false);
    if let Some(lang) = lang {
        context = context.lang(lang);
    }
    let options = SearchOptions {
        order: Some("id".into()),
        context,
        ..SearchOptions::default()
    };
    odoo.search_read(model, &domain, fields, &options)
        .await
        .unwrap()
}

fn m2o(record: &Record, field: &str) -> i64 {
    record.get_many2one_id(field).unwrap().unwrap()
}

/// Every product page of the API, following cursors.
async fn every_product(server: &TestServer, query: &str) -> Vec<Value> {
    let mut products = Vec::new();
    let mut path = format!("/api/products?limit=100{query}");
    loop {
        let page = server.json(&path).await;
        products.extend(page["products"].as_array().unwrap().iter().cloned());
        match page["nextCursor"].as_str() {
            Some(cursor) => path = format!("/api/products?limit=100{query}&cursor={cursor}"),
            None => return products,
        }
    }
}

/// A template's attribute lines by (sequence, id), each with its values by (sequence, id).
type Lines = BTreeMap<(i64, i64), Vec<((i64, i64), Value)>>;

/// What the picker of each template must show, from Odoo's records: attributes by (sequence,
/// id), values by (sequence, id), active PTAVs only, names as Odoo reads them in `lang`.
async fn expected_pickers(odoo: &dyn OdooApi, lang: Option<&str>) -> BTreeMap<i64, Value> {
    let ptavs = all(
        odoo,
        "product.template.attribute.value",
        Domain::all(),
        &[
            "product_tmpl_id",
            "attribute_id",
            "product_attribute_value_id",
            "price_extra",
            "ptav_active",
        ],
    )
    .await;
    let attributes: HashMap<i64, Record> = all_in(
        odoo,
        "product.attribute",
        Domain::all(),
        &["name", "display_type", "sequence"],
        lang,
    )
    .await
    .into_iter()
    .map(|r| (r.id().unwrap(), r))
    .collect();
    let values: HashMap<i64, Record> = all_in(
        odoo,
        "product.attribute.value",
        Domain::all(),
        &["name", "html_color", "sequence"],
        lang,
    )
    .await
    .into_iter()
    .map(|r| (r.id().unwrap(), r))
    .collect();
    let mut by_template: BTreeMap<i64, Lines> = BTreeMap::new();
    for ptav in ptavs.iter().filter(|p| p.get_bool("ptav_active").unwrap()) {
        let (attribute, value) = (
            m2o(ptav, "attribute_id"),
            m2o(ptav, "product_attribute_value_id"),
        );
        let (a, v) = (&attributes[&attribute], &values[&value]);
        let html_color = v.get_str("html_color").unwrap();
        by_template
            .entry(m2o(ptav, "product_tmpl_id"))
            .or_default()
            .entry((a.get_i64("sequence").unwrap(), attribute))
            .or_default()
            .push((
                (v.get_i64("sequence").unwrap(), value),
                json!({"id": value, "name": v.get_str("name").unwrap(),
                "htmlColor": html_color, "priceExtra": ptav.get_f64("price_extra").unwrap()}),
            ));
    }
    by_template
        .into_iter()
        .map(|(template, lines)| {
            let attributes: Vec<Value> = lines
                .into_iter()
                .map(|((_, id), mut values)| {
                    values.sort_by_key(|(key, _)| *key);
                    let a = &attributes[&id];
                    json!({"id": id, "name": a.get_str("name").unwrap(), "displayType": a.get_str("display_type").unwrap(),
                        "values": values.into_iter().map(|(_, v)| v).collect::<Vec<_>>()})
                })
                .collect();
            (template, Value::Array(attributes))
        })
        .collect()
}

async fn pickers_and_variant_attributes_equal_odoo_s(app: &TestApp) {
    app.cli_ok(&["sync", "--full"]).await;
    let server = app.serve(&[]).await;
    let odoo = app.odoo().await;
    // Odoo's base language, then a language of SYNC_LANGS (the test apps sync fr_FR).
    for lang in [None, Some("fr_FR")] {
        let expected = expected_pickers(odoo.as_ref(), lang).await;
        let query = lang.map_or(String::new(), |lang| format!("&lang={lang}"));
        let products = every_product(&server, &format!("&include_inactive=true{query}")).await;
        assert_pickers(&products, &expected);
        let shown = serde_json::to_string(&products).unwrap();
        let french = lang.is_some();
        assert_eq!(shown.contains("\"Couleur\""), french, "lang {lang:?}");
        assert_eq!(shown.contains("\"Rouge\""), french, "lang {lang:?}");
    }
    let products = every_product(&server, "&include_inactive=true").await;
    storefront_fields_equal_odoo_s(odoo.as_ref(), &products).await;
    server.stop().await;
}

/// Each product's picker is `expected`'s, and each variant names one value of it per line.
fn assert_pickers(products: &[Value], expected: &BTreeMap<i64, Value>) {
    assert_eq!(products.len(), PRODUCTS);
    let mut with_colours = 0;
    for product in products {
        let id = product["id"].as_i64().unwrap();
        let want = expected.get(&id).cloned().unwrap_or(json!([]));
        assert_eq!(product["attributes"], want, "product {id}");
        with_colours += usize::from(product["attributes"].to_string().contains("#FF0000"));
        // Every variant names one value of each attribute line it has, from the product's picker.
        for variant in product["variants"].as_array().unwrap() {
            let picked = variant["attributes"].as_array().unwrap();
            for pick in picked {
                let attribute = product["attributes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|a| a["id"] == pick["attributeId"])
                    .expect("the product's attribute");
                assert_eq!(pick["name"], attribute["name"]);
                let value = attribute["values"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|v| v["id"] == pick["valueId"])
                    .expect("one of its values");
                assert_eq!(pick["value"], value["name"]);
            }
            assert_eq!(
                picked.len(),
                variant["attributeValueIds"].as_array().unwrap().len(),
                "variant {variant}"
            );
        }
    }
    assert!(with_colours > 0, "some products offer a red swatch");
}

/// Storefront fields, against Odoo's own values.
async fn storefront_fields_equal_odoo_s(odoo: &dyn OdooApi, products: &[Value]) {
    let templates = all(
        odoo,
        "product.template",
        Domain::all(),
        &[
            "name",
            "website_url",
            "website_meta_title",
            "website_ribbon_id",
            "currency_id",
        ],
    )
    .await;
    let ribbons: HashMap<i64, String> = all(odoo, "product.ribbon", Domain::all(), &["name"])
        .await
        .into_iter()
        .map(|r| (r.id().unwrap(), r.get_str("name").unwrap().unwrap()))
        .collect();
    for template in &templates {
        let id = template.id().unwrap();
        let product = products.iter().find(|p| p["id"] == id).unwrap();
        assert_eq!(
            product["websiteUrl"],
            json!(template.get_str("website_url").unwrap())
        );
        assert_eq!(
            product["seo"]["title"],
            json!(template.get_str("website_meta_title").unwrap())
        );
        let ribbon = template
            .get_many2one_id("website_ribbon_id")
            .unwrap()
            .map(|r| ribbons[&r].clone());
        assert_eq!(product["ribbon"], json!(ribbon));
        assert_eq!(product["currency"], "USD");
        // Odoo's own URL ends with its slug.
        let url = template.get_str("website_url").unwrap().unwrap();
        assert_eq!(format!("/shop/{}", product["slug"].as_str().unwrap()), url);
    }
}

#[tokio::test]
async fn attribute_pickers_variant_attributes_and_seo_fields_equal_the_simulator_s_on_sqlite() {
    pickers_and_variant_attributes_equal_odoo_s(&spawn_app(PRODUCTS).await).await;
}

#[tokio::test]
async fn attribute_pickers_variant_attributes_and_seo_fields_equal_the_simulator_s_on_postgres() {
    pickers_and_variant_attributes_equal_odoo_s(&spawn_app_with_postgres(PRODUCTS).await).await;
}

/// Counts per website category, subcategories included, from Odoo: products published,
/// saleable and active, each counted once per category whatever many of its subcategories hold it.
async fn expected_counts(odoo: &dyn OdooApi) -> BTreeMap<i64, u64> {
    let categories = all(
        odoo,
        "product.public.category",
        Domain::all(),
        &["parent_id"],
    )
    .await;
    let parent: HashMap<i64, Option<i64>> = categories
        .iter()
        .map(|c| (c.id().unwrap(), c.get_many2one_id("parent_id").unwrap()))
        .collect();
    let shown = Domain::leaf("is_published", "=", true)
        .and(Domain::leaf("sale_ok", "=", true))
        .and(Domain::leaf("active", "=", true));
    let templates = all(odoo, "product.template", shown, &["public_categ_ids"]).await;
    let mut counts: BTreeMap<i64, u64> = parent.keys().map(|id| (*id, 0)).collect();
    for template in &templates {
        let mut reached = BTreeSet::new();
        for mut category in template
            .get_ids("public_categ_ids")
            .unwrap()
            .into_iter()
            .map(Some)
        {
            while let Some(id) = category {
                reached.insert(id);
                category = parent[&id];
            }
        }
        for id in reached {
            *counts.get_mut(&id).unwrap() += 1;
        }
    }
    counts
}

fn flatten(nodes: &Value, out: &mut BTreeMap<i64, (u64, Vec<i64>, Option<i64>)>) {
    for node in nodes.as_array().unwrap() {
        let path = node["path"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_i64().unwrap())
            .collect();
        out.insert(
            node["id"].as_i64().unwrap(),
            (
                node["productCount"].as_u64().unwrap(),
                path,
                node["parentId"].as_i64(),
            ),
        );
        flatten(&node["children"], out);
    }
}

fn category_names(nodes: &Value, out: &mut BTreeMap<i64, Value>) {
    for node in nodes.as_array().unwrap() {
        out.insert(node["id"].as_i64().unwrap(), node["name"].clone());
        category_names(&node["children"], out);
    }
}

#[tokio::test]
async fn the_website_scope_hides_unpublished_products_everywhere_and_counts_the_category_tree_as_odoo_would(
) {
    let app = spawn_app(PRODUCTS).await;
    app.cli_ok(&["sync", "--full"]).await;
    let server = app.serve(&[("CATALOG_SCOPE", "website")]).await;
    let odoo = app.odoo().await;
    let tree = server.json("/api/public-categories").await;
    let mut got = BTreeMap::new();
    flatten(&tree["categories"], &mut got);
    let expected = expected_counts(odoo.as_ref()).await;
    assert_eq!(
        got.iter()
            .map(|(id, (count, _, _))| (*id, *count))
            .collect::<BTreeMap<_, _>>(),
        expected
    );
    assert!(
        got.values().any(|(_, path, _)| path.len() == 3),
        "three levels: {tree}"
    );
    for (id, (_, path, parent)) in &got {
        assert_eq!(path.last(), Some(id));
        assert_eq!(path.len().checked_sub(2).map(|i| path[i]), *parent);
    }
    // Names as Odoo reads them, in its base language and in one of SYNC_LANGS.
    for lang in [None, Some("fr_FR")] {
        let query = lang.map_or(String::new(), |lang| format!("?lang={lang}"));
        let tree = server.json(&format!("/api/public-categories{query}")).await;
        let mut names = BTreeMap::new();
        category_names(&tree["categories"], &mut names);
        let odoo_names: BTreeMap<i64, Value> = all_in(
            odoo.as_ref(),
            "product.public.category",
            Domain::all(),
            &["name"],
            lang,
        )
        .await
        .iter()
        .map(|r| (r.id().unwrap(), json!(r.get_str("name").unwrap())))
        .collect();
        assert_eq!(names, odoo_names, "lang {lang:?}");
    }
    assert_ne!(
        server.json("/api/public-categories?lang=fr_FR").await,
        server.json("/api/public-categories").await,
        "some names are translated"
    );
    // The tree has an ETag and answers 304 to it, like every catalog GET.
    let first = server.get("/api/public-categories").send().await.unwrap();
    let etag = first.headers()["etag"].to_str().unwrap().to_string();
    let again = server
        .get("/api/public-categories")
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);

    // Lists, search, by id and by SKU, and the change feed show only what the shop shows.
    let hidden = all(
        odoo.as_ref(),
        "product.template",
        Domain::leaf("is_published", "=", false).and(Domain::leaf("active", "=", true)),
        &["default_code", "name"],
    )
    .await;
    assert!(!hidden.is_empty());
    let listed = every_product(&server, "").await;
    let shown = all(
        odoo.as_ref(),
        "product.template",
        Domain::leaf("is_published", "=", true)
            .and(Domain::leaf("sale_ok", "=", true))
            .and(Domain::leaf("active", "=", true)),
        &["id"],
    )
    .await;
    let listed_ids: BTreeSet<i64> = listed.iter().map(|p| p["id"].as_i64().unwrap()).collect();
    assert_eq!(listed_ids, shown.iter().map(|r| r.id().unwrap()).collect());
    let one = &hidden[0];
    let id = one.id().unwrap();
    assert_eq!(
        server
            .get(&format!("/api/products/{id}"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    if let Some(code) = one.get_str("default_code").unwrap() {
        assert_eq!(
            server
                .get(&format!("/api/products/by-sku/{code}"))
                .send()
                .await
                .unwrap()
                .status(),
            404
        );
    }
    let name = one.get_str("name").unwrap().unwrap();
    let found = server
        .json(&format!("/api/products?q={}", urlencode(&name)))
        .await;
    assert!(
        found["products"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["id"] != id),
        "{found}"
    );
    let feed = server.json("/api/changes?limit=1000").await;
    let change = feed["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap();
    assert_eq!(change["action"], "delete");
    // category= filters on website categories, subcategories included.
    let root = tree["categories"][0]["id"].as_i64().unwrap();
    let in_root = every_product(&server, &format!("&category={root}")).await;
    assert_eq!(in_root.len() as u64, expected[&root]);
    // The export is the website's too (and everything without the scope).
    assert!(app.export().await.contains_key(&id));
    let output = app
        .command(&["catalog", "export"])
        .env("CATALOG_SCOPE", "website")
        .output()
        .await
        .unwrap();
    assert!(output.status.success());
    let exported: BTreeSet<i64> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            serde_json::from_str::<Value>(line).unwrap()["id"]
                .as_i64()
                .unwrap()
        })
        .collect();
    assert_eq!(exported, listed_ids);
    server.stop().await;
}

fn urlencode(text: &str) -> String {
    text.replace(' ', "%20")
}

#[tokio::test]
async fn bad_scope_settings_stop_the_server_with_errors_naming_the_key() {
    let app = spawn_app(1).await;
    let output = app
        .command(&["serve"])
        .env("CATALOG_SCOPE", "shop")
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("CATALOG_SCOPE") && stderr.contains("'shop'"),
        "{stderr}"
    );
    let output = app
        .command(&["serve"])
        .env("WEBSITE_ID", "3")
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success() && stderr.contains("WEBSITE_ID"),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_sync_against_odoo_without_website_sale_succeeds_and_serves_the_rest() {
    let app = spawn_app(100).await;
    app.sim.uninstall_website();
    app.cli_ok(&["sync", "--full"]).await;
    let server = app.serve(&[]).await;
    let products = every_product(&server, "&include_inactive=true").await;
    assert_eq!(products.len(), 100);
    let expected = expected_pickers(app.odoo().await.as_ref(), None).await;
    for product in &products {
        let id = product["id"].as_i64().unwrap();
        assert_eq!(
            product["attributes"],
            expected.get(&id).cloned().unwrap_or(json!([]))
        );
        assert_eq!(product["websiteUrl"], Value::Null);
        assert_eq!(product["ribbon"], Value::Null);
        assert_eq!(product["published"], false);
        assert_eq!(product["currency"], "USD");
    }
    assert_eq!(
        server.json("/api/public-categories").await["categories"],
        json!([])
    );
    // An incremental run too.
    app.cli_ok(&["sync"]).await;
    server.stop().await;
}

fn values(pairs: Value) -> Map<String, Value> {
    pairs.as_object().unwrap().clone()
}

/// A product with a picker, the attribute value of its first line, and that value's name.
async fn a_picked_value(server: &TestServer) -> (i64, i64) {
    let products = every_product(server, "").await;
    let product = products
        .iter()
        .find(|p| !p["attributes"].as_array().unwrap().is_empty())
        .unwrap();
    (
        product["id"].as_i64().unwrap(),
        product["attributes"][0]["values"][0]["id"]
            .as_i64()
            .unwrap(),
    )
}

fn shows_value(r: &Value, value: i64, name: &str) -> bool {
    r["body"]["attributes"]
        .as_array()
        .is_some_and(|attributes| {
            attributes
                .iter()
                .flat_map(|a| a["values"].as_array().unwrap())
                .any(|v| v["id"] == value && v["name"] == name)
        })
        && r["body"]["variants"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|v| v["attributes"].as_array().unwrap())
            .filter(|a| a["valueId"] == value)
            .all(|a| a["value"] == name)
}

/// Renames a value a served product picks, in Odoo, and waits for every variant to show it.
async fn rename_a_picked_value(app: &TestApp, server: &TestServer, name: &str, wait: Duration) {
    let (product, value) = a_picked_value(server).await;
    let odoo = app.odoo().await;
    odoo.write(
        "product.attribute.value",
        &[value],
        values(json!({"name": name})),
        &Context::default(),
    )
    .await
    .unwrap();
    within(server, &format!("/api/products/{product}"), wait, |r| {
        shows_value(r, value, name)
    })
    .await;
}

#[tokio::test]
async fn an_attribute_value_renamed_in_odoo_reaches_the_catalog_by_webhook() {
    let (app, server) = real_time_app(PRODUCTS, &[]).await;
    rename_a_picked_value(&app, &server, "Renamed by webhook", Duration::from_secs(20)).await;
    server.stop().await;
}

#[tokio::test]
async fn an_attribute_value_renamed_in_odoo_reaches_the_catalog_by_the_sweep() {
    let app = spawn_app(PRODUCTS).await;
    app.cli_ok(&["sync", "--full"]).await;
    let server = app.serve(&[("SYNC_SWEEP_INTERVAL", "1")]).await;
    rename_a_picked_value(&app, &server, "Renamed, swept", Duration::from_secs(30)).await;
    server.stop().await;
}
