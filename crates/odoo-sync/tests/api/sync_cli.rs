//! The pull sync through the CLI: full, incremental after every kind of edit, progressive steps
//! surviving a SIGKILL.

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

fn values(pairs: Value) -> Map<String, Value> {
    pairs.as_object().unwrap().clone()
}

async fn active_ids(odoo: &dyn OdooApi, limit: u32, offset: u32) -> Vec<i64> {
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
    let app = spawn_app(5_000).await;
    let summary = app.cli_ok(&["sync", "--full"]).await;
    assert!(summary.contains("created 5000"), "{summary}");
    assert_catalog_matches_odoo(&app).await;

    let odoo = app.odoo().await;
    edit_like_a_shop_would(odoo.as_ref()).await;
    app.cli_ok(&["sync", "--incremental"]).await;
    assert_catalog_matches_odoo(&app).await;
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
