//! Pricelist prices: Odoo computes them in Python and no product `write_date` moves when a
//! pricelist rule changes, so odoo-sync mirrors `SYNC_PRICELIST_ID`'s rules and applies them.

use std::time::Duration;

use serde_json::{json, Map, Value};

use odoo_rpc::{Context, Domain, OdooApi, SearchOptions};

use crate::helpers::spawn_app;
use crate::webhooks::within;

const PRICELIST: i64 = 1;

fn values(pairs: Value) -> Map<String, Value> {
    pairs.as_object().unwrap().clone()
}

async fn rule(odoo: &dyn OdooApi, fields: Value) -> i64 {
    let mut vals = values(json!({"pricelist_id": PRICELIST}));
    vals.extend(values(fields));
    odoo.create("product.pricelist.item", vec![vals], &Context::default())
        .await
        .unwrap()[0]
}

/// Single-variant active templates, ascending, with their sales price and category.
async fn templates(odoo: &dyn OdooApi) -> Vec<(i64, f64, i64)> {
    let domain = Domain::leaf("product_variant_count", "=", 1);
    let options = SearchOptions {
        order: Some("id".into()),
        ..Default::default()
    };
    let fields = ["id", "list_price", "categ_id"];
    odoo.search_read("product.template", &domain, &fields, &options)
        .await
        .unwrap()
        .iter()
        .map(|r| {
            let category = r.get_many2one("categ_id").unwrap().unwrap().id;
            (r.id().unwrap(), r.get_f64("list_price").unwrap(), category)
        })
        .collect()
}

/// Whether `install-webhooks` reported `change` for the rule named `rule`.
fn said_of(output: &str, change: &str, rule: &str) -> bool {
    output
        .lines()
        .any(|line| line.starts_with(change) && line.ends_with(rule))
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6
}

fn pricelist_price(product: &Value) -> Option<f64> {
    product["variants"][0]["pricelistPrice"].as_f64()
}

#[tokio::test(flavor = "multi_thread")]
async fn variants_carry_the_pricelist_price_and_follow_rule_changes_that_move_no_product() {
    let mut app = spawn_app(40).await;
    app.env
        .insert("SYNC_PRICELIST_ID".into(), PRICELIST.to_string());
    let odoo = app.odoo().await;
    let odoo = odoo.as_ref();
    let all = templates(odoo).await;
    let (fixed, discounted, on_cost) = (all[0], all[1], all[2]);
    let in_category = all
        .iter()
        .skip(3)
        .find(|t| t.2 != fixed.2 && t.2 != discounted.2 && t.2 != on_cost.2)
        .copied()
        .expect("a template in another category");
    let untouched = all
        .iter()
        .skip(3)
        .find(|t| t.2 != in_category.2)
        .copied()
        .expect("a template no specific rule covers");

    let fixed_rule = rule(
        odoo,
        json!({"applied_on": "1_product", "product_tmpl_id": fixed.0,
               "compute_price": "fixed", "fixed_price": 42.0}),
    )
    .await;
    rule(
        odoo,
        json!({"applied_on": "1_product", "product_tmpl_id": discounted.0,
               "compute_price": "percentage", "percent_price": 25.0}),
    )
    .await;
    rule(
        odoo,
        json!({"applied_on": "1_product", "product_tmpl_id": on_cost.0, "base": "standard_price",
               "compute_price": "percentage", "percent_price": 10.0}),
    )
    .await;
    rule(
        odoo,
        json!({"applied_on": "2_product_category", "categ_id": in_category.2,
               "compute_price": "formula", "price_discount": 50.0, "price_surcharge": 1.0}),
    )
    .await;
    let global = rule(
        odoo,
        json!({"applied_on": "3_global", "compute_price": "percentage", "percent_price": 10.0}),
    )
    .await;

    app.cli_ok(&["sync", "--full"]).await;
    let server = app
        .serve(&[
            ("SYNC_SWEEP_INTERVAL", "1"),
            ("SYNC_RECONCILE_INTERVAL", "0"),
        ])
        .await;
    let product = |id: i64| {
        let server = &server;
        async move { server.json(&format!("/api/products/{id}")).await }
    };
    assert_eq!(pricelist_price(&product(fixed.0).await), Some(42.0));
    let price = pricelist_price(&product(discounted.0).await).unwrap();
    assert!(
        close(price, discounted.1 * 0.75),
        "{price} for {discounted:?}"
    );
    let on_cost_view = product(on_cost.0).await;
    assert_eq!(on_cost_view["variants"][0]["pricelistPrice"], Value::Null);
    let price = pricelist_price(&product(in_category.0).await).unwrap();
    assert!(close(price, in_category.1 * 0.5 + 1.0), "{price}");
    if untouched.2 != in_category.2 {
        let price = pricelist_price(&product(untouched.0).await).unwrap();
        assert!(close(price, untouched.1 * 0.9), "{price}");
    }

    let feed = server.json("/api/changes").await;
    let token = feed["nextToken"].as_str().unwrap().to_string();
    odoo.write(
        "product.pricelist.item",
        &[fixed_rule],
        values(json!({"fixed_price": 40.0})),
        &Context::default(),
    )
    .await
    .unwrap();
    odoo.unlink("product.pricelist.item", &[global], &Context::default())
        .await
        .unwrap();
    let limit = Duration::from_secs(10);
    within(&server, &format!("/api/products/{}", fixed.0), limit, |r| {
        pricelist_price(&r["body"]) == Some(40.0)
    })
    .await;
    within(
        &server,
        &format!("/api/products/{}", untouched.0),
        limit,
        |r| pricelist_price(&r["body"]).is_some_and(|p| close(p, untouched.1)),
    )
    .await;
    let feed = server.json(&format!("/api/changes?since={token}")).await;
    let changed: Vec<i64> = feed["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert!(
        changed.contains(&fixed.0) && changed.contains(&untouched.0),
        "the change feed names the repriced products: {changed:?}"
    );
    assert!(
        !changed.contains(&discounted.0),
        "a product whose price did not change is not in the feed: {changed:?}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rule_that_ends_gives_way_to_the_next_without_any_write_in_odoo() {
    let mut app = spawn_app(10).await;
    app.env
        .insert("SYNC_PRICELIST_ID".into(), PRICELIST.to_string());
    let odoo = app.odoo().await;
    let (template, list_price, _) = templates(odoo.as_ref()).await[0];
    let ends = chrono::Utc::now().naive_utc() + chrono::Duration::seconds(3);
    rule(
        odoo.as_ref(),
        json!({"applied_on": "1_product", "product_tmpl_id": template, "compute_price": "fixed",
               "fixed_price": 1.0, "date_end": ends.format("%Y-%m-%d %H:%M:%S").to_string()}),
    )
    .await;
    app.cli_ok(&["sync", "--full"]).await;
    let server = app
        .serve(&[
            ("SYNC_SWEEP_INTERVAL", "1"),
            ("SYNC_RECONCILE_INTERVAL", "0"),
        ])
        .await;
    let path = format!("/api/products/{template}");
    let before = server.json(&path).await;
    let still_on = chrono::Utc::now().naive_utc() < ends;
    if still_on {
        assert_eq!(pricelist_price(&before), Some(1.0));
    }
    within(&server, &path, Duration::from_secs(15), |r| {
        pricelist_price(&r["body"]).is_some_and(|p| close(p, list_price))
    })
    .await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_pricelist_id_fails_the_sweep_naming_it_and_keeps_the_catalog() {
    let mut app = spawn_app(5).await;
    app.env.insert("SYNC_PRICELIST_ID".into(), "999".into());
    let output = app.cli(&["sync", "--full"]).await;
    assert!(output.status.success(), "pricing does not fail the sync");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("SYNC_PRICELIST_IDS names 999"),
        "the log names the bad id: {stderr}"
    );
    assert!(!app.export().await.is_empty(), "the products are stored");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pricelist_rule_saved_in_odoo_reaches_the_catalog_by_webhook_without_a_sweep() {
    let (app, server) =
        crate::webhooks::real_time_app(10, &[("SYNC_PRICELIST_ID", &PRICELIST.to_string())]).await;
    let server_url = format!("{}/api/products/sync/webhook", server.url);
    let install = ["odoo", "install-webhooks", "--url", server_url.as_str()];
    let installed = app.cli_ok(&install).await;
    assert!(
        said_of(&installed, "unchanged", "product.pricelist.item on save"),
        "with a pricelist, its items are watched: {installed}"
    );
    let odoo = app.odoo().await;
    let (template, _, _) = templates(odoo.as_ref()).await[0];
    let item = rule(
        odoo.as_ref(),
        json!({"applied_on": "1_product", "product_tmpl_id": template,
               "compute_price": "fixed", "fixed_price": 7.5}),
    )
    .await;
    let path = format!("/api/products/{template}");
    let limit = Duration::from_secs(2);
    within(&server, &path, limit, |r| {
        pricelist_price(&r["body"]) == Some(7.5)
    })
    .await;
    odoo.unlink("product.pricelist.item", &[item], &Context::default())
        .await
        .unwrap();
    within(&server, &path, limit, |r| {
        pricelist_price(&r["body"]).is_some_and(|p| p != 7.5)
    })
    .await;

    let mut without_pricelist = app.command(&install);
    without_pricelist.env_remove("SYNC_PRICELIST_ID");
    let output = without_pricelist.output().await.unwrap();
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(
        said_of(&said, "removed", "product.pricelist.item on save")
            && said_of(&said, "removed", "product.pricelist.item on deletion"),
        "without a pricelist, no pricelist webhook makes Odoo users wait: {said}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn each_synced_pricelist_prices_every_variant_in_its_currency_and_can_be_the_price_shown() {
    let mut app = spawn_app(10).await;
    let odoo = app.odoo().await;
    let odoo = odoo.as_ref();
    let ctx = Context::default();
    odoo.write(
        "res.currency",
        &[125],
        values(json!({"active": true})),
        &ctx,
    )
    .await
    .unwrap();
    let europe = odoo
        .create(
            "product.pricelist",
            vec![values(json!({"name": "Europe", "currency_id": 125}))],
            &ctx,
        )
        .await
        .unwrap()[0];
    let (template, list_price, _) = templates(odoo).await[0];
    rule(
        odoo,
        json!({"applied_on": "1_product", "product_tmpl_id": template,
               "compute_price": "fixed", "fixed_price": 42.0}),
    )
    .await;
    let mut vals = values(json!({"pricelist_id": europe}));
    vals.extend(values(
        json!({"applied_on": "3_global", "compute_price": "percentage",
                              "percent_price": 20.0}),
    ));
    odoo.create("product.pricelist.item", vec![vals], &ctx)
        .await
        .unwrap();
    let ids = format!("{PRICELIST},{europe}");
    app.env.insert("SYNC_PRICELIST_IDS".into(), ids);
    app.cli_ok(&["sync", "--full"]).await;
    let server = app
        .serve(&[
            ("SYNC_SWEEP_INTERVAL", "1"),
            ("SYNC_RECONCILE_INTERVAL", "0"),
        ])
        .await;
    let path = format!("/api/products/{template}");
    let europe_key = europe.to_string();
    within(&server, &path, Duration::from_secs(10), |r| {
        !r["body"]["variants"][0]["prices"][&europe_key]["price"].is_null()
    })
    .await;
    let answer = server.json(&path).await;
    let variant = &answer["variants"][0];
    assert_eq!(
        variant["pricelistPrice"],
        json!(42.0),
        "the first pricelist's"
    );
    assert_eq!(
        variant["prices"]["1"],
        json!({"price": 42.0, "currency": "USD"})
    );
    let european = variant["prices"][&europe_key]["price"].as_f64().unwrap();
    assert!(
        close(european, list_price * 0.8),
        "{european} for {list_price}"
    );
    assert_eq!(variant["prices"][&europe_key]["currency"], "EUR");
    assert_eq!(
        variant["price"],
        json!(list_price),
        "the sales price by default"
    );

    let shown = server.json(&format!("{path}?pricelist={europe}")).await;
    assert!(close(
        shown["variants"][0]["price"].as_f64().unwrap(),
        european
    ));
    assert!(close(shown["price"].as_f64().unwrap(), european));
    assert_eq!(shown["currency"], "EUR");
    let listed = server
        .json(&format!("/api/products?pricelist={PRICELIST}&limit=100"))
        .await;
    let listed = listed["products"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == json!(template))
        .expect("the template is listed")
        .clone();
    assert_eq!(listed["price"], json!(42.0));
    assert_eq!(listed["currency"], "USD");

    let pricelists = server.json("/api/pricelists").await;
    assert_eq!(
        pricelists,
        json!({"pricelists": [
            {"id": PRICELIST, "name": "Public Pricelist", "currency": "USD"},
            {"id": europe, "name": "Europe", "currency": "EUR"},
        ]})
    );
    let refused = server
        .get(&format!("{path}?pricelist=999"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unknown_pricelist", "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("999") && message.contains(&format!("1, {europe}")),
        "{body}"
    );
    server.stop().await;
}
