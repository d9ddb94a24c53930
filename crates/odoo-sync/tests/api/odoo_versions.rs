//! Odoo 18 and 19, JSON-RPC and JSON-2: the same pull sync on each, JSON-2's refused keys, what
//! `odoo check` detects, and webhooks that need no second read once Odoo commits first (19).

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use odoo_rpc::{Context, Domain, SearchOptions};
use odoo_sim::ApiKey;

use crate::helpers::{describe, sleep_ms, spawn_app_on, TestApp, TestServer};
use crate::sync_cli::{assert_catalog_matches_odoo, edit_like_a_shop_would};

const PRODUCTS: usize = 800;
const WEBHOOK_SECRET: &str = "test-webhook-secret";

/// The protocol a test configures: `ODOO_PROTOCOL`'s value, or `DEFAULT` for none at all.
const DEFAULT: &str = "the default";

/// An app on Odoo `version` speaking `protocol` (`ODOO_PROTOCOL`, unset for `DEFAULT`).
async fn app_speaking(version: u8, protocol: &str, products: usize) -> TestApp {
    let mut app = spawn_app_on(products, version).await;
    if protocol != DEFAULT {
        app.env.insert("ODOO_PROTOCOL".into(), protocol.into());
    }
    app
}

/// Full sync, a shop's edits (prices, names twice in a second, archive, unarchive, delete,
/// create, translations), incremental, a no-change incremental: equal to Odoo field by field.
async fn pull_sync_scenario(version: u8, protocol: &str) {
    let app = app_speaking(version, protocol, PRODUCTS).await;
    let summary = app.cli_ok(&["sync", "--full"]).await;
    assert!(
        summary.contains(&format!("created {PRODUCTS}")),
        "{summary}"
    );
    assert_catalog_matches_odoo(&app).await;

    let odoo = app.odoo().await;
    edit_like_a_shop_would(odoo.as_ref()).await;
    app.cli_ok(&["sync", "--incremental"]).await;
    assert_catalog_matches_odoo(&app).await;
    let run = app.last_run().await;
    assert_eq!(run["counts"]["deleted"], 5, "{run}");
    assert_eq!(run["counts"]["created"], 20, "{run}");

    app.cli_ok(&["sync", "--incremental"]).await;
    let counts = app.last_run().await["counts"].clone();
    assert_eq!(
        (counts["created"].as_u64(), counts["updated"].as_u64()),
        (Some(0), Some(0)),
        "a no-change run on Odoo {version} over {protocol} wrote rows: {counts}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_pull_sync_matches_odoo_18_over_jsonrpc() {
    pull_sync_scenario(18, "jsonrpc").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_pull_sync_matches_odoo_19_over_its_legacy_jsonrpc() {
    pull_sync_scenario(19, "jsonrpc").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_pull_sync_matches_odoo_19_over_json2() {
    pull_sync_scenario(19, "json2").await;
}

/// What a new user meets: no `ODOO_PROTOCOL`, on an 18 (whose `/json/2` redirects to its login
/// page) and on a 19 with an API key.
#[tokio::test(flavor = "multi_thread")]
async fn the_pull_sync_matches_odoo_18_and_19_with_the_default_protocol() {
    pull_sync_scenario(18, DEFAULT).await;
    pull_sync_scenario(19, DEFAULT).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_api_key_on_odoo_18_does_not_lead_the_default_protocol_astray() {
    let mut app = app_speaking(18, DEFAULT, 30).await;
    app.env
        .insert("ODOO_API_KEY".into(), odoo_sim::DEFAULT_API_KEY.into());
    let summary = app.cli_ok(&["sync", "--full"]).await;
    assert!(summary.contains("created 30"), "{summary}");
    assert_catalog_matches_odoo(&app).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_explicit_json2_on_odoo_18_is_refused_with_the_way_out() {
    let mut app = app_speaking(18, "json2", 5).await;
    app.env
        .insert("ODOO_API_KEY".into(), odoo_sim::DEFAULT_API_KEY.into());
    let output = app.cli(&["sync", "--full"]).await;
    assert!(!output.status.success(), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    for part in ["does not speak JSON-2", "HTTP 303", "ODOO_PROTOCOL=jsonrpc"] {
        assert!(stderr.contains(part), "{part}:\n{}", describe(&output));
    }
}

/// A synced app on 19 over JSON-2, then a price change in Odoo the next sync would bring.
async fn synced_then_changed_on_19() -> TestApp {
    let app = app_speaking(19, "json2", 50).await;
    app.cli_ok(&["sync", "--full"]).await;
    let odoo = app.odoo().await;
    let first = odoo
        .search(
            "product.template",
            &Domain::all(),
            &SearchOptions::default(),
        )
        .await
        .unwrap()[0];
    let price = json!({"list_price": 987.0}).as_object().unwrap().clone();
    odoo.write("product.template", &[first], price, &Context::default())
        .await
        .unwrap();
    app
}

/// The sync fails, exits non-zero with a message containing `expected`, and stores nothing.
async fn sync_is_refused(app: &TestApp, expected: &str) {
    let before = app.export().await;
    let output = app.cli(&["sync", "--incremental"]).await;
    assert!(!output.status.success(), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(expected),
        "the message should say {expected:?}:\n{}",
        describe(&output)
    );
    assert_eq!(app.export().await, before, "the catalog changed");
}

#[tokio::test(flavor = "multi_thread")]
async fn json2_without_an_api_key_stops_the_sync_and_says_so() {
    let mut app = synced_then_changed_on_19().await;
    app.env.remove("ODOO_API_KEY");
    sync_is_refused(&app, "ODOO_API_KEY").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn json2_with_a_wrong_api_key_stops_the_sync_and_says_so() {
    let mut app = synced_then_changed_on_19().await;
    app.env
        .insert("ODOO_API_KEY".into(), "not-a-key-of-this-odoo".into());
    sync_is_refused(&app, "Invalid apikey").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn json2_with_an_expired_api_key_stops_the_sync_and_says_so() {
    let mut app = synced_then_changed_on_19().await;
    app.sim.add_api_key(ApiKey {
        expired: true,
        ..ApiKey::admin("expired-key")
    });
    app.env.insert("ODOO_API_KEY".into(), "expired-key".into());
    sync_is_refused(&app, "Invalid apikey").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn odoo_check_says_which_protocol_it_detected_and_why() {
    let app19 = app_speaking(19, "auto", 5).await;
    let out = app19.cli_ok(&["odoo", "check"]).await;
    assert!(
        out.contains("Odoo 19.0")
            && out.contains("over json2 (auto: Odoo 19.0 has JSON-2 and an API key is configured)"),
        "{out}"
    );
    let app18 = app_speaking(18, DEFAULT, 5).await;
    let out = app18.cli_ok(&["odoo", "check"]).await;
    assert!(
        out.contains("Odoo 18.0")
            && out
                .contains("over jsonrpc (auto: Odoo 18.0 has no JSON-2 (it appeared in Odoo 19))"),
        "{out}"
    );
    let mut keyless19 = app_speaking(19, DEFAULT, 5).await;
    keyless19.env.remove("ODOO_API_KEY");
    let out = keyless19.cli_ok(&["odoo", "check"]).await;
    assert!(
        out.contains("over jsonrpc") && out.contains("ODOO_API_KEY"),
        "{out}"
    );
    let explicit = app_speaking(18, "jsonrpc", 5).await;
    let out = explicit.cli_ok(&["odoo", "check"]).await;
    assert!(
        out.contains("over jsonrpc (ODOO_PROTOCOL=jsonrpc)"),
        "{out}"
    );
}

/// A server on Odoo `version` receiving webhooks, and a template whose price changed in Odoo.
async fn webhook_app(version: u8) -> (TestApp, TestServer, i64) {
    let mut app = app_speaking(version, "auto", 20).await;
    app.env
        .insert("WEBHOOK_SECRET".into(), WEBHOOK_SECRET.into());
    app.cli_ok(&["sync", "--full"]).await;
    let server = app
        .serve(&[
            ("SYNC_SWEEP_INTERVAL", "0"),
            ("SYNC_RECONCILE_INTERVAL", "0"),
        ])
        .await;
    let odoo = app.odoo().await;
    let id = odoo
        .search(
            "product.template",
            &Domain::all(),
            &SearchOptions::default(),
        )
        .await
        .unwrap()[0];
    let price = json!({"list_price": 321.0}).as_object().unwrap().clone();
    odoo.write("product.template", &[id], price, &Context::default())
        .await
        .unwrap();
    (app, server, id)
}

/// POSTs a webhook for template `id` whose payload has no `write_date` (a rule without it), and
/// waits until the inbox has handled it; returns the event.
async fn webhook_without_write_date(server: &TestServer, id: i64) -> Value {
    let payload =
        json!({"_action": "Sync webhook(#1)", "_id": id, "_model": "product.template", "id": id});
    let url = format!(
        "{}/api/products/sync/webhook?token={WEBHOOK_SECRET}",
        server.url
    );
    let accepted: Value = server
        .http
        .post(url)
        .json(&payload)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let event_id = accepted["id"].clone();
    let started = Instant::now();
    loop {
        let list: Value = server
            .admin_get("/api/products/sync/webhooks")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let event = list["events"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["id"] == event_id)
            .cloned()
            .unwrap();
        if event["status"] != "pending" {
            return event;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "never handled: {event}"
        );
        sleep_ms(50).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn on_19_a_webhook_is_done_after_its_first_read_since_odoo_committed_before_sending() {
    let (_app, server, id) = webhook_app(19).await;
    let event = webhook_without_write_date(&server, id).await;
    assert_eq!(event["status"], "done", "{event}");
    assert_eq!(event["attempts"], 1, "read once, not again: {event}");
    let product = server.json(&format!("/api/products/{id}")).await;
    assert_eq!(product["price"], 321.0, "{product}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn on_18_a_webhook_without_write_date_is_read_again_since_odoo_may_not_have_committed() {
    let (_app, server, id) = webhook_app(18).await;
    let event = webhook_without_write_date(&server, id).await;
    assert_eq!(event["status"], "done", "{event}");
    assert!(
        event["attempts"].as_u64().unwrap() > 1,
        "18 reads again on its schedule: {event}"
    );
    server.stop().await;
}
