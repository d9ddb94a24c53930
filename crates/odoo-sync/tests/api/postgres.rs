//! The same product on PostgreSQL (`DATABASE_URL=postgres://…`, a fresh database per test): the
//! CLI sync equal to Odoo field by field, webhooks reaching the catalog API, and two instances on
//! one database that run one sync at a time and process each webhook once.

use std::time::Duration;

use serde_json::{json, Value};

use odoo_rpc::Context;

use crate::helpers::{describe, spawn_app, spawn_app_with_postgres, TestServer};
use crate::sync_cli::{
    active_ids, assert_catalog_matches_odoo, full_then_incremental_keep_the_catalog_equal_to_odoo,
    values,
};
use crate::webhooks::{real_time, within, WEBHOOK_SECRET};

#[tokio::test(flavor = "multi_thread")]
async fn on_postgresql_a_full_then_incremental_sync_keeps_the_catalog_equal_to_odoo() {
    let app = spawn_app_with_postgres(3_000).await;
    full_then_incremental_keep_the_catalog_equal_to_odoo(&app, 3_000).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn on_postgresql_an_edit_in_odoo_reaches_the_catalog_api_through_its_webhook() {
    let (app, server) = real_time(spawn_app_with_postgres(100).await, &[]).await;
    let odoo = app.odoo().await;
    let edited = active_ids(odoo.as_ref(), 1, 3).await[0];
    let before = server.get("/api/products").send().await.unwrap();
    let etag = before.headers()["etag"].to_str().unwrap().to_string();
    odoo.write(
        "product.template",
        &[edited],
        values(json!({"list_price": 777.25, "name": "Chaise webhook"})),
        &Context::default(),
    )
    .await
    .unwrap();
    let limit = Duration::from_secs(5);
    within(&server, &format!("/api/products/{edited}"), limit, |r| {
        r["body"]["price"] == 777.25
    })
    .await;
    within(&server, "/api/products?q=chaise%20webhook", limit, |r| {
        r["body"]["products"][0]["id"] == edited
    })
    .await;
    let after = server.get("/api/products").send().await.unwrap();
    assert_ne!(
        after.headers()["etag"],
        etag.as_str(),
        "a new catalog version"
    );
    assert_inbox_done_once(&server).await;
    server.stop().await;
}

/// Every event of the shared inbox was handled, and claimed once (a second claim counts a
/// second attempt).
async fn assert_inbox_done_once(server: &TestServer) -> usize {
    let inbox: Value = server
        .admin_get("/api/products/sync/webhooks?limit=500")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let events = inbox["events"].as_array().unwrap();
    assert!(!events.is_empty(), "no webhook arrived");
    for event in events {
        assert_eq!(event["status"], "done", "{event}");
        assert_eq!(event["attempts"], 1, "claimed more than once: {event}");
    }
    events.len()
}

async fn wait_for_backlog_zero(server: &TestServer) {
    for _ in 0..200 {
        let inbox: Value = server
            .admin_get("/api/products/sync/webhooks?status=pending")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if inbox["events"].as_array().unwrap().is_empty() {
            return;
        }
        crate::helpers::sleep_ms(50).await;
    }
    panic!("the inbox never emptied");
}

#[tokio::test(flavor = "multi_thread")]
async fn two_instances_on_one_database_run_one_sync_at_a_time_and_handle_each_webhook_once() {
    let mut app = spawn_app_with_postgres(400).await;
    app.env
        .insert("WEBHOOK_SECRET".into(), WEBHOOK_SECRET.into());
    app.env
        .insert("CURSOR_SECRET".into(), "shared-cursor-secret".into());
    app.cli_ok(&["sync", "--full"]).await;
    let settings = [
        ("SYNC_SWEEP_INTERVAL", "0"),
        ("SYNC_RECONCILE_INTERVAL", "0"),
        ("SYNC_BATCH_SIZE", "50"),
    ];
    let (one, two) = (app.serve(&settings).await, app.serve(&settings).await);

    // A sync asked of both at once: one runs, the other is told it is already running.
    app.set_faults(odoo_sim::Faults {
        latency_ms: 50,
        ..Default::default()
    });
    let body = json!({"forceRefresh": true});
    let (a, b) = tokio::join!(
        one.admin_post("/api/products/sync", body.clone()).send(),
        two.admin_post("/api/products/sync", body.clone()).send()
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [202, 409]);
    let (a, b): (Value, Value) = (a.json().await.unwrap(), b.json().await.unwrap());
    let (started, refused) = if a["runId"].is_null() { (b, a) } else { (a, b) };
    assert_eq!(refused["error"]["code"], "run_in_progress", "{refused}");
    assert_eq!(refused["error"]["runId"], started["runId"]);
    let cli = app.cli(&["sync", "--incremental"]).await;
    assert!(
        !cli.status.success() && String::from_utf8_lossy(&cli.stderr).contains("already running"),
        "the CLI started a second run:\n{}",
        describe(&cli)
    );
    app.set_faults(odoo_sim::Faults::default());
    let last = one.wait_for_idle().await;
    assert_eq!(last["status"], "succeeded", "{last}");
    assert_eq!(two.wait_for_idle().await["id"], last["id"], "the same run");
    assert_catalog_matches_odoo(&app).await;

    // Webhooks received by either instance, processed by the workers of both.
    let odoo = app.odoo().await;
    let plain = Context::default();
    let limit = Duration::from_secs(5);
    for (n, receiver) in [&one, &two].into_iter().enumerate() {
        let url = format!("{}/api/products/sync/webhook", receiver.url);
        app.cli_ok(&["odoo", "install-webhooks", "--url", &url])
            .await;
        let edited = active_ids(odoo.as_ref(), 20, 20 * n as u32).await;
        for (k, id) in edited.iter().enumerate() {
            let price = 1_000.0 * (n + 1) as f64 + k as f64;
            odoo.write(
                "product.template",
                &[*id],
                values(json!({"list_price": price})),
                &plain,
            )
            .await
            .unwrap();
        }
        let last = *edited.last().unwrap();
        let price = 1_000.0 * (n + 1) as f64 + (edited.len() - 1) as f64;
        for server in [&one, &two] {
            within(server, &format!("/api/products/{last}"), limit, |r| {
                r["body"]["price"] == price
            })
            .await;
        }
    }
    wait_for_backlog_zero(&one).await;
    let handled = assert_inbox_done_once(&two).await;
    assert!(handled >= 40, "{handled} events");
    assert_catalog_matches_odoo(&app).await;
    one.stop().await;
    two.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_database_url_that_is_unreachable_or_of_no_known_kind_stops_the_cli_naming_it() {
    let mut app = spawn_app(1).await;
    app.env.insert(
        "DATABASE_URL".into(),
        "postgres://postgres@127.0.0.1:1/catalog".into(),
    );
    let down = app.cli(&["status"]).await;
    let stderr = String::from_utf8_lossy(&down.stderr);
    assert!(
        !down.status.success()
            && stderr.contains("127.0.0.1:1/catalog")
            && stderr.contains("unavailable"),
        "{}",
        describe(&down)
    );
    app.env
        .insert("DATABASE_URL".into(), "mysql://db/catalog".into());
    let unknown = app.cli(&["status"]).await;
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert!(
        !unknown.status.success()
            && stderr.contains("DATABASE_URL")
            && stderr.contains("mysql://db/catalog"),
        "{}",
        describe(&unknown)
    );
}
