//! Sync under faults: flaky Odoo, Odoo down, malformed answers, slow transactions.

use std::collections::BTreeMap;

use axum::routing::post;
use axum::Json;
use serde_json::{json, Value};

use odoo_rpc::{Context, Domain, SearchOptions};

use crate::helpers::{assert_same_catalog, describe, sleep_ms, spawn_app};
use crate::odoo_state::expected_catalog;

#[tokio::test(flavor = "multi_thread")]
async fn a_flaky_odoo_with_errors_and_timeouts_still_ends_equal() {
    let mut app = spawn_app(1_000).await;
    app.env.insert("ODOO_TIMEOUT_SECONDS".into(), "1".into());
    app.env.insert("SYNC_BATCH_SIZE".into(), "100".into());
    app.set_faults(odoo_sim::Faults {
        error_rate: 0.05,
        timeout_rate: 0.05,
        ..Default::default()
    });
    app.cli_ok(&["sync", "--full"]).await;
    app.set_faults(odoo_sim::Faults::default());
    let odoo = app.odoo().await;
    assert_same_catalog(
        &app.export().await,
        &expected_catalog(odoo.as_ref(), &["fr_FR"]).await,
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn with_odoo_down_the_sync_fails_clearly_and_the_catalog_is_untouched() {
    let mut app = spawn_app(200).await;
    app.cli_ok(&["sync", "--full"]).await;
    let before = app.export().await;

    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    app.env
        .insert("ODOO_URL".into(), format!("http://{closed}"));
    let output = app.cli(&["sync", "--full"]).await;
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("error:") && last.contains(&closed.to_string()),
        "{}",
        describe(&output)
    );
    assert!(!stderr.contains("admin\""), "the password leaked: {stderr}");
    assert_eq!(app.export().await, before);
}

/// A fake Odoo whose product answers are malformed in the given way; a mock only because the
/// simulator, being right, cannot answer wrong.
async fn spawn_bad_odoo(bad_template: Value) -> String {
    let handler = move |Json(body): Json<Value>| {
        let bad_template = bad_template.clone();
        async move {
            let params = &body["params"];
            let result = match (params["service"].as_str(), params["method"].as_str()) {
                (Some("common"), Some("authenticate")) => json!(2),
                (Some("common"), Some("version")) => {
                    json!({"server_version": "18.0", "server_version_info": [18, 0, 0, "final", 0, ""], "protocol_version": 1})
                }
                _ => match params["args"][4].as_str() {
                    Some("fields_get") => json!({"name": {"type": "char"}}),
                    Some("search") => json!([1]),
                    Some("read") => json!([]),
                    _ if params["args"][3] == "product.template" => json!([bad_template]),
                    _ => json!([]),
                },
            };
            Json(json!({"jsonrpc": "2.0", "id": body["id"], "result": result}))
        }
    };
    let router = axum::Router::new().route("/jsonrpc", post(handler));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    url
}

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_odoo_answer_fails_the_run_naming_the_field_and_loses_nothing() {
    let mut app = spawn_app(100).await;
    app.cli_ok(&["sync", "--full"]).await;
    let before = app.export().await;

    let template = json!({"id": 1, "name": "Desk", "default_code": false, "barcode": false, "list_price": "abc",
        "categ_id": [1, "All"], "description_sale": false, "active": true, "sale_ok": true, "write_date": "2026-11-24 13:00:00"});
    app.env
        .insert("ODOO_URL".into(), spawn_bad_odoo(template).await);
    let output = app.cli(&["sync", "--full"]).await;
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("list_price"),
        "the error should name the field: {}",
        describe(&output)
    );
    assert_eq!(app.export().await, before);
    assert_eq!(app.last_run().await["status"], "failed");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_html_page_instead_of_json_fails_the_run_saying_what_came_back() {
    let mut app = spawn_app(50).await;
    app.cli_ok(&["sync", "--full"]).await;
    let before = app.export().await;
    let router = axum::Router::new().route(
        "/jsonrpc",
        post(|| async { axum::response::Html("<html><body>502 Bad Gateway</body></html>") }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    app.env.insert(
        "ODOO_URL".into(),
        format!("http://{}", listener.local_addr().unwrap()),
    );
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let output = app.cli(&["sync", "--full"]).await;
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("502 Bad Gateway"),
        "{}",
        describe(&output)
    );
    assert_eq!(app.export().await, before);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_late_commit_older_than_the_watermark_reaches_the_catalog_on_the_next_run() {
    let app = spawn_app(300).await;
    app.cli_ok(&["sync", "--full"]).await;
    let odoo = app.odoo().await;
    let ids = odoo
        .search(
            "product.template",
            &Domain::all(),
            &SearchOptions {
                limit: Some(2),
                order: Some("id".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let (slow, fast) = (ids[0], ids[1]);

    // A slow transaction starts (its write_date stamped now) and commits in 3 s...
    let hold = json!({"model": "product.template", "ids": [slow], "values": {"list_price": 4321.0}, "hold_ms": 3000});
    let answer = reqwest::Client::new()
        .post(format!("{}/__sim/hold", app.sim.url()))
        .json(&hold)
        .send()
        .await
        .unwrap();
    assert!(
        answer.status().is_success(),
        "{}",
        answer.text().await.unwrap()
    );
    sleep_ms(1_100).await;
    // ...while a quick one commits a later write_date, which the next run reaches.
    let price = json!({"list_price": 1234.0}).as_object().unwrap().clone();
    odoo.write("product.template", &[fast], price, &Context::default())
        .await
        .unwrap();
    app.cli_ok(&["sync", "--incremental"]).await;
    let catalog = app.export().await;
    assert_eq!(catalog[&fast]["list_price"], 1234.0);
    assert_ne!(
        catalog[&slow]["list_price"], 4321.0,
        "the held write should not be visible yet"
    );

    sleep_ms(2_500).await;
    app.cli_ok(&["sync", "--incremental"]).await;
    let catalog: BTreeMap<i64, Value> = app.export().await;
    assert_eq!(
        catalog[&slow]["list_price"], 4321.0,
        "the late commit was missed"
    );
}
