//! The pull sync through the CLI: full, incremental after every kind of edit, progressive steps
//! surviving a SIGKILL.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use odoo_rpc::{Context, Domain, OdooApi, SearchOptions};

use crate::helpers::{assert_same_catalog, describe, sleep_ms, spawn_app, TestApp};
use crate::odoo_state::expected_catalog;

pub async fn assert_catalog_matches_odoo(app: &TestApp) {
    let odoo = app.odoo().await;
    assert_same_catalog(
        &app.export().await,
        &expected_catalog(odoo.as_ref(), &["fr_FR"]).await,
    );
}

pub fn values(pairs: Value) -> Map<String, Value> {
    pairs.as_object().unwrap().clone()
}

pub async fn active_ids(odoo: &dyn OdooApi, limit: u32, offset: u32) -> Vec<i64> {
    let options = SearchOptions {
        limit: Some(limit),
        offset: Some(offset),
        order: Some("id".into()),
        ..Default::default()
    };
    odoo.search("product.template", &Domain::all(), &options)
        .await
        .unwrap()
}

pub async fn edit_like_a_shop_would(odoo: &dyn OdooApi) {
    let plain = Context::default();
    let edited = active_ids(odoo, 50, 100).await;
    for (n, id) in edited.iter().enumerate() {
        let price = json!({"list_price": 10.0 + n as f64});
        odoo.write("product.template", &[*id], values(price), &plain)
            .await
            .unwrap();
        if n % 5 == 0 {
            // A second write in the same second: only the last one may remain.
            let name = json!({"name": format!("Edited twice {n}")});
            odoo.write("product.template", &[*id], values(name), &plain)
                .await
                .unwrap();
        }
    }
    let archived = active_ids(odoo, 10, 300).await;
    odoo.write(
        "product.template",
        &archived,
        values(json!({"active": false})),
        &plain,
    )
    .await
    .unwrap();
    odoo.write(
        "product.template",
        &archived[..2],
        values(json!({"active": true})),
        &plain,
    )
    .await
    .unwrap();
    let deleted = active_ids(odoo, 5, 400).await;
    odoo.unlink("product.template", &deleted, &plain)
        .await
        .unwrap();
    let created: Vec<Map<String, Value>> = (0..20)
        .map(|n| values(json!({"name": format!("New product {n}"), "list_price": 5.5, "default_code": format!("NEW-{n}")})))
        .collect();
    odoo.create("product.template", created, &plain)
        .await
        .unwrap();
    let french = Context::default().lang("fr_FR");
    for id in active_ids(odoo, 3, 500).await {
        odoo.write(
            "product.template",
            &[id],
            values(json!({"name": format!("Nom français {id}")})),
            &french,
        )
        .await
        .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn full_then_incremental_sync_keeps_the_catalog_equal_to_odoo_field_by_field() {
    full_then_incremental_keep_the_catalog_equal_to_odoo(&spawn_app(5_000).await, 5_000).await;
}

/// `sync --full`, every kind of edit, `sync --incremental`, then a run with nothing to do: the
/// catalog equals Odoo field by field after each, whatever the store.
pub async fn full_then_incremental_keep_the_catalog_equal_to_odoo(app: &TestApp, products: usize) {
    let summary = app.cli_ok(&["sync", "--full"]).await;
    assert!(
        summary.contains(&format!("created {products}")),
        "{summary}"
    );
    assert_catalog_matches_odoo(app).await;

    let odoo = app.odoo().await;
    edit_like_a_shop_would(odoo.as_ref()).await;
    app.cli_ok(&["sync", "--incremental"]).await;
    assert_catalog_matches_odoo(app).await;
    let run = app.last_run().await;
    assert_eq!(run["counts"]["deleted"], 5, "{run}");
    assert_eq!(run["counts"]["created"], 20, "{run}");

    app.cli_ok(&["sync", "--incremental"]).await;
    let run = app.last_run().await;
    let counts = &run["counts"];
    assert_eq!(
        (counts["created"].as_u64(), counts["updated"].as_u64()),
        (Some(0), Some(0)),
        "a no-change run wrote rows: {run}"
    );
    assert_eq!(
        (counts["archived"].as_u64(), counts["deleted"].as_u64()),
        (Some(0), Some(0)),
        "{run}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_first_incremental_run_on_an_empty_store_is_a_full_run() {
    let app = spawn_app(300).await;
    app.cli_ok(&["sync"]).await;
    let run = app.last_run().await;
    assert_eq!(run["mode"], "full", "{run}");
    assert_catalog_matches_odoo(&app).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn progressive_steps_survive_a_sigkill_and_resume_without_loss_or_duplicates() {
    let app = spawn_app(2_000).await;
    let first = app.cli_ok(&["sync", "--full", "--limit", "200"]).await;
    assert!(first.contains("200/2000"), "{first}");
    app.cli_ok(&["sync", "--full", "--limit", "200"]).await;

    // A slow Odoo keeps the next step busy long enough to kill it half-way.
    app.set_faults(odoo_sim::Faults {
        latency_ms: 150,
        ..Default::default()
    });
    let mut child = app
        .command(&["sync", "--full", "--limit", "1000", "--batch-size", "50"])
        .spawn()
        .unwrap();
    sleep_ms(2_000).await;
    child.start_kill().unwrap();
    let status = child.wait().await.unwrap();
    assert!(
        !status.success(),
        "the step should have been killed, not finished"
    );
    app.set_faults(odoo_sim::Faults::default());

    let mut steps = 0;
    loop {
        let output = app.cli(&["sync", "--full", "--limit", "200"]).await;
        assert!(output.status.success(), "{}", describe(&output));
        steps += 1;
        if String::from_utf8_lossy(&output.stdout).contains("succeeded") {
            break;
        }
        assert!(steps < 30, "the run never ended");
    }
    let run = app.last_run().await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(
        run["counts"]["created"], 2000,
        "every product created exactly once: {run}"
    );
    assert_catalog_matches_odoo(&app).await;
}

/// Odoo calls by `model.method` (and `service.method`) the simulator served so far.
async fn calls_by_method(app: &TestApp) -> BTreeMap<String, u64> {
    let stats: Value = reqwest::get(format!("{}/__sim/stats", app.sim.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    serde_json::from_value(stats["by_method"].clone()).unwrap()
}

async fn calls_of_a_sync(app: &TestApp) -> BTreeMap<String, u64> {
    let before = calls_by_method(app).await;
    app.cli_ok(&["sync"]).await;
    let mut calls = calls_by_method(app).await;
    for (method, n) in &mut calls {
        *n -= before.get(method).copied().unwrap_or(0);
    }
    calls.retain(|_, n| *n > 0);
    calls
}

#[tokio::test]
async fn a_quiet_incremental_run_costs_two_counts_and_no_login() {
    let app = spawn_app(60).await;
    app.cli_ok(&["sync", "--full"]).await;
    app.cli_ok(&["sync"]).await;
    let quiet = calls_of_a_sync(&app).await;
    assert_eq!(
        quiet,
        BTreeMap::from([("product.template.search_count".to_string(), 2)]),
        "the login of the first run is resumed, and two counts find nothing to read"
    );
    assert_eq!(app.last_run().await["status"], "succeeded");
}

#[tokio::test]
async fn a_renamed_category_or_parent_category_is_not_mistaken_for_a_quiet_odoo() {
    let app = spawn_app(60).await;
    app.cli_ok(&["sync", "--full"]).await;
    let odoo = app.odoo().await;
    let categories = odoo
        .search_read(
            "product.category",
            &Domain::leaf("parent_id", "!=", false),
            &["id", "parent_id"],
            &SearchOptions::default(),
        )
        .await
        .unwrap();
    let used: Vec<i64> = app
        .export()
        .await
        .values()
        .filter_map(|product| product["categ_id"][0].as_i64())
        .collect();
    let parent_of = |category: &odoo_rpc::Record| category.get("parent_id").unwrap()[0].as_i64();
    // A parent no product is in: only its subcategory's products show its name.
    let child = categories
        .iter()
        .find(|category| {
            used.contains(&category.id().unwrap()) && !used.contains(&parent_of(category).unwrap())
        })
        .expect("a product in a subcategory of a category without products");
    let parent = parent_of(child).unwrap();
    for (category, name) in [
        (parent, "Renamed parent"),
        (child.id().unwrap(), "Renamed child"),
    ] {
        sleep_ms(1_100).await;
        let rename = values(json!({"name": name}));
        odoo.write("product.category", &[category], rename, &Context::default())
            .await
            .unwrap();
        let calls = calls_of_a_sync(&app).await;
        assert!(
            calls.contains_key("product.category.search_read"),
            "{name}: the run read the categories: {calls:?}"
        );
        assert_catalog_matches_odoo(&app).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_export_read_by_head_ends_quietly_when_the_pipe_closes() {
    use tokio::io::AsyncBufReadExt;
    let app = spawn_app(2_000).await;
    app.cli_ok(&["sync", "--full"]).await;
    let mut command = app.command(&["catalog", "export"]);
    command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = command.spawn().expect("odoo-sync runs");
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next_line().await.unwrap().expect("a first product");
    serde_json::from_str::<Value>(&first).expect("a JSON line");
    // `head -1` exits here: the rest of the catalog (far more than a pipe buffer) has nowhere to go.
    drop(lines);
    let output = child.wait_with_output().await.unwrap();
    assert!(output.status.success(), "{}", describe(&output));
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_extra_field_odoo_does_not_have_fails_the_sync_naming_it_and_keeps_the_catalog() {
    let mut app = spawn_app(20).await;
    app.cli_ok(&["sync", "--full"]).await;
    let before = app.export().await;
    app.env
        .insert("SYNC_EXTRA_FIELDS".into(), "no_such_field".into());
    let output = app.cli(&["sync", "--full"]).await;
    assert!(!output.status.success(), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "SYNC_EXTRA_FIELDS names 'no_such_field', which product.template does not have"
        ),
        "{stderr}"
    );
    app.env.remove("SYNC_EXTRA_FIELDS");
    assert_eq!(app.export().await, before, "nothing stored was lost");
}
