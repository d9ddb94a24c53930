//! Real time: Odoo's webhooks through the durable inbox, with rules installed by
//! `odoo install-webhooks` on the simulator, which fires them like Odoo 18 (before its commit).

use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};

use odoo_rpc::{Context, Domain, SearchOptions};

use crate::helpers::{sleep_ms, spawn_app, TestApp, TestServer, ADMIN_TOKEN};

pub const WEBHOOK_SECRET: &str = "test-webhook-secret";

fn values(pairs: Value) -> Map<String, Value> {
    pairs.as_object().unwrap().clone()
}

/// A synced catalog, a server receiving webhooks, and the rules installed in the simulator.
pub async fn real_time_app(products: usize, extra: &[(&str, &str)]) -> (TestApp, TestServer) {
    real_time(spawn_app(products).await, extra).await
}

/// `real_time_app` for an app already spawned (on PostgreSQL, say).
pub async fn real_time(mut app: TestApp, extra: &[(&str, &str)]) -> (TestApp, TestServer) {
    app.env
        .insert("WEBHOOK_SECRET".into(), WEBHOOK_SECRET.into());
    for (key, value) in extra {
        app.env.insert(key.to_string(), value.to_string());
    }
    app.cli_ok(&["sync", "--full"]).await;
    let mut settings = vec![
        ("SYNC_SWEEP_INTERVAL", "0"),
        ("SYNC_RECONCILE_INTERVAL", "0"),
    ];
    settings.extend_from_slice(extra);
    let server = app.serve(&settings).await;
    let url = format!("{}/api/products/sync/webhook", server.url);
    let installed = app
        .cli_ok(&["odoo", "install-webhooks", "--url", &url])
        .await;
    assert!(installed.contains("created"), "{installed}");
    (app, server)
}

/// Polls the catalog API until `check` holds, returning how long it took.
pub async fn within(
    server: &TestServer,
    path: &str,
    limit: Duration,
    check: impl Fn(&Value) -> bool,
) -> Duration {
    let start = Instant::now();
    loop {
        let answer = server.get(path).send().await.unwrap();
        let status = answer.status().as_u16();
        let body: Value = answer.json().await.unwrap_or(Value::Null);
        if check(&json!({"status": status, "body": body})) {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < limit,
            "{path} did not reach the expected state within {limit:?}: {status} {body}"
        );
        sleep_ms(50).await;
    }
}

async fn first_active(app: &TestApp, offset: u32) -> i64 {
    let odoo = app.odoo().await;
    let options = SearchOptions {
        limit: Some(1),
        offset: Some(offset),
        order: Some("id".into()),
        ..Default::default()
    };
    odoo.search("product.template", &Domain::all(), &options)
        .await
        .unwrap()[0]
}

#[tokio::test(flavor = "multi_thread")]
async fn installing_the_rules_twice_changes_nothing_and_uninstall_removes_exactly_them() {
    let (app, server) = real_time_app(30, &[]).await;
    let url = format!("{}/api/products/sync/webhook", server.url);
    let again = app
        .cli_ok(&["odoo", "install-webhooks", "--url", &url])
        .await;
    assert!(
        !again.contains("created") && !again.contains("updated") && again.contains("unchanged"),
        "{again}"
    );
    let check = app.cli_ok(&["odoo", "check"]).await;
    assert!(
        check.contains("test event reached") && !check.contains(WEBHOOK_SECRET),
        "{check}"
    );
    let removed = app.cli_ok(&["odoo", "uninstall-webhooks"]).await;
    assert!(removed.contains("removed"), "{removed}");
    assert!(app
        .cli_ok(&["odoo", "uninstall-webhooks"])
        .await
        .contains("nothing to remove"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn edits_creates_archives_deletes_renames_and_stock_reach_the_catalog_within_two_seconds() {
    let (app, server) = real_time_app(200, &[]).await;
    let odoo = app.odoo().await;
    let plain = Context::default();
    let limit = Duration::from_secs(2);

    let edited = first_active(&app, 3).await;
    odoo.write(
        "product.template",
        &[edited],
        values(json!({"list_price": 777.25})),
        &plain,
    )
    .await
    .unwrap();
    within(&server, &format!("/api/products/{edited}"), limit, |r| {
        r["body"]["price"] == 777.25
    })
    .await;

    let created = odoo
        .create(
            "product.template",
            vec![values(json!({"name": "Lampe webhook", "list_price": 12.0}))],
            &plain,
        )
        .await
        .unwrap()[0];
    within(&server, &format!("/api/products/{created}"), limit, |r| {
        r["body"]["name"] == "Lampe webhook"
    })
    .await;

    let archived = first_active(&app, 5).await;
    odoo.write(
        "product.template",
        &[archived],
        values(json!({"active": false})),
        &plain,
    )
    .await
    .unwrap();
    within(&server, &format!("/api/products/{archived}"), limit, |r| {
        r["body"]["active"] == false
    })
    .await;

    let deleted = first_active(&app, 6).await;
    odoo.unlink("product.template", &[deleted], &plain)
        .await
        .unwrap();
    within(&server, &format!("/api/products/{deleted}"), limit, |r| {
        r["status"] == 404
    })
    .await;

    let product = server.json(&format!("/api/products/{edited}")).await;
    let category = product["category"]["id"].as_i64().unwrap();
    odoo.write(
        "product.category",
        &[category],
        values(json!({"name": "Renamed by webhook"})),
        &plain,
    )
    .await
    .unwrap();
    within(&server, &format!("/api/products/{edited}"), limit, |r| {
        r["body"]["category"]["name"] == "Renamed by webhook"
            && r["body"]["category"]["path"]
                .as_str()
                .is_some_and(|p| p.ends_with("Renamed by webhook"))
    })
    .await;

    let variant = product["variants"][0]["id"].as_i64().unwrap();
    let location = 8;
    let quant = odoo
        .create(
            "stock.quant",
            vec![values(
                json!({"product_id": variant, "location_id": location, "inventory_quantity": 42.0}),
            )],
            &plain,
        )
        .await
        .unwrap()[0];
    odoo.execute_kw(
        "stock.quant",
        "action_apply_inventory",
        vec![json!([quant])],
        Map::new(),
    )
    .await
    .unwrap();
    within(&server, &format!("/api/products/{edited}"), limit, |r| {
        r["body"]["variants"][0]["stock"]["onHand"] == 42.0
    })
    .await;

    let failed: Value = server
        .admin_get("/api/products/sync/webhooks?status=failed")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(failed["events"].as_array().unwrap().is_empty(), "{failed}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn with_webhooks_sent_before_a_slow_commit_the_catalog_ends_with_the_new_value_never_the_old()
{
    let (app, server) = real_time_app(50, &[]).await;
    app.sim.set_webhook_visibility_delay_ms(300);
    let odoo = app.odoo().await;
    let id = first_active(&app, 2).await;
    let old = server.json(&format!("/api/products/{id}")).await["price"].clone();
    odoo.write(
        "product.template",
        &[id],
        values(json!({"list_price": 4242.0})),
        &Context::default(),
    )
    .await
    .unwrap();
    within(
        &server,
        &format!("/api/products/{id}"),
        Duration::from_secs(3),
        |r| r["body"]["price"] == 4242.0,
    )
    .await;
    for _ in 0..20 {
        let now = server.json(&format!("/api/products/{id}")).await["price"].clone();
        assert_eq!(now, 4242.0, "went back to the old value {old}");
        sleep_ms(100).await;
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn acknowledged_events_survive_a_sigkill_before_processing() {
    let mut app = spawn_app(40).await;
    app.env
        .insert("WEBHOOK_SECRET".into(), WEBHOOK_SECRET.into());
    app.cli_ok(&["sync", "--full"]).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let bind = format!("127.0.0.1:{port}");
    let base = format!("http://{bind}");
    let serve = |workers: &str| {
        let mut command = app.command(&["serve"]);
        command
            .env("BIND", &bind)
            .env("WEBHOOK_WORKERS", workers)
            .env("ADMIN_TOKEN", ADMIN_TOKEN);
        command
            .env("SYNC_SWEEP_INTERVAL", "0")
            .env("SYNC_RECONCILE_INTERVAL", "0")
            .env("SYNC_SCHEDULE", "off")
            .env("SYNC_FULL_SCHEDULE", "off");
        command.spawn().unwrap()
    };
    let http = reqwest::Client::new();
    let wait_up = |http: reqwest::Client, base: String| async move {
        for _ in 0..100 {
            if http.get(format!("{base}/healthz")).send().await.is_ok() {
                return;
            }
            sleep_ms(100).await;
        }
        panic!("serve did not come up");
    };

    // Only receiving: nothing processes the inbox in this process.
    let mut receiver = serve("0");
    wait_up(http.clone(), base.clone()).await;
    let odoo = app.odoo().await;
    let id = first_active(&app, 1).await;
    odoo.write(
        "product.template",
        &[id],
        values(json!({"list_price": 31.5})),
        &Context::default(),
    )
    .await
    .unwrap();
    let hook = json!({"_action": "Send Webhook Notification(#1)", "_id": id, "_model": "product.template", "id": id});
    let ack = http
        .post(format!(
            "{base}/api/products/sync/webhook?token={WEBHOOK_SECRET}"
        ))
        .json(&hook)
        .send()
        .await
        .unwrap();
    assert_eq!(ack.status(), 200);
    assert!(ack.json::<Value>().await.unwrap()["id"].is_i64());
    receiver.start_kill().unwrap();
    receiver.wait().await.unwrap();
    assert_ne!(
        app.export().await[&id]["list_price"],
        31.5,
        "nothing processed it before the kill"
    );

    let mut processor = serve("1");
    wait_up(http.clone(), base.clone()).await;
    let start = Instant::now();
    while app.export().await[&id]["list_price"] != 31.5 {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the acknowledged event was lost"
        );
        sleep_ms(200).await;
    }
    processor.start_kill().unwrap();
    let _ = processor.wait().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn with_every_webhook_lost_the_sweep_heals_edits_and_the_reconcile_heals_deletions() {
    let (app, server) = real_time_app(
        100,
        &[
            ("SYNC_SWEEP_INTERVAL", "1"),
            ("SYNC_RECONCILE_INTERVAL", "1"),
        ],
    )
    .await;
    app.sim.set_drop_webhooks(1.0);
    let odoo = app.odoo().await;
    let plain = Context::default();
    let edited = first_active(&app, 2).await;
    let deleted = first_active(&app, 3).await;
    odoo.write(
        "product.template",
        &[edited],
        values(json!({"name": "Healed by the sweep"})),
        &plain,
    )
    .await
    .unwrap();
    odoo.unlink("product.template", &[deleted], &plain)
        .await
        .unwrap();
    let limit = Duration::from_secs(10);
    within(&server, &format!("/api/products/{edited}"), limit, |r| {
        r["body"]["name"] == "Healed by the sweep"
    })
    .await;
    within(&server, &format!("/api/products/{deleted}"), limit, |r| {
        r["status"] == 404
    })
    .await;
    let inbox = inbox_events(&server).await;
    assert!(inbox.is_empty(), "no webhook arrived: {inbox:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_webhooks_get_a_4xx_naming_the_problem_and_leave_the_inbox_empty() {
    let mut app = spawn_app(10).await;
    app.env
        .insert("WEBHOOK_SECRET".into(), WEBHOOK_SECRET.into());
    let server = app.serve(&[]).await;
    let url = |token: &str| format!("{}/api/products/sync/webhook{token}", server.url);
    let good = format!("?token={WEBHOOK_SECRET}");
    let cases: Vec<(String, Vec<u8>, u16, &str)> = vec![
        (
            url("?token=wrong"),
            br#"{"_model": "product.template", "_id": 1}"#.to_vec(),
            401,
            "token",
        ),
        (
            url(""),
            br#"{"_model": "product.template", "_id": 1}"#.to_vec(),
            401,
            "token",
        ),
        (url(&good), b"<xml/>".to_vec(), 400, "not JSON"),
        (
            url(&good),
            br#"{"_model": "product.template", "_id": "one"}"#.to_vec(),
            400,
            "_id",
        ),
        (
            url(&good),
            br#"{"_model": "res.partner", "_id": 3}"#.to_vec(),
            400,
            "res.partner",
        ),
        (url(&good), br#"{"_id": 3}"#.to_vec(), 400, "_model"),
        (url(&good), vec![b'x'; 200_000], 413, "larger than"),
    ];
    for (target, body, status, named) in cases {
        let answer = server
            .http
            .post(&target)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status().as_u16(), status, "{target}");
        if status == 413 {
            // The unread rest of the body makes the connection unusable: the client is told.
            assert_eq!(answer.headers()["connection"], "close");
        }
        let body: Value = answer.json().await.unwrap();
        assert!(
            body["error"]["message"].as_str().unwrap().contains(named),
            "{body} should name {named}"
        );
    }
    let header = server
        .http
        .post(url(""))
        .header("x-webhook-token", WEBHOOK_SECRET)
        .json(&json!({"_model": "product.template", "_id": 1, "extra": "fine"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        header.status(),
        200,
        "the header works too and unknown fields are fine"
    );
    let inbox = inbox_events(&server).await;
    assert_eq!(inbox.len(), 1, "only the good one is stored: {inbox:?}");
    server.stop().await;

    let unset = spawn_app(5).await.serve(&[]).await;
    let answer = unset
        .http
        .post(format!("{}/api/products/sync/webhook?token=x", unset.url))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        answer.status(),
        404,
        "webhooks are off without WEBHOOK_SECRET"
    );
    unset.stop().await;
}

/// Every inbox event of `server`, as the admin API lists them.
async fn inbox_events(server: &TestServer) -> Vec<Value> {
    let inbox: Value = server
        .admin_get("/api/products/sync/webhooks")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    inbox["events"].as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stop_while_the_inbox_worker_handles_an_event_waits_for_it_to_finish() {
    let (app, server) = real_time_app(10, &[]).await;
    let odoo = app.odoo().await;
    let plain = Context::default();
    odoo.write(
        "product.template",
        &[1],
        values(json!({"name": "Edited just before the stop"})),
        &plain,
    )
    .await
    .unwrap();
    // Odoo slow from now on: the worker's reads take seconds, so the stop comes mid-batch.
    app.set_faults(odoo_sim::Faults {
        latency_ms: 400,
        ..Default::default()
    });
    let started = Instant::now();
    loop {
        let events = inbox_events(&server).await;
        let claimed = events
            .iter()
            .any(|e| e["status"] == "pending" && e["attempts"].as_u64() > Some(0));
        if claimed {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "the worker never took the event: {events:?}"
        );
        sleep_ms(10).await;
    }
    server.stop().await;
    app.set_faults(odoo_sim::Faults::default());
    let after = app.serve(&[("WEBHOOK_WORKERS", "0")]).await;
    let events = inbox_events(&after).await;
    assert!(!events.is_empty());
    for event in &events {
        assert_eq!(
            event["status"], "done",
            "handled before the stop ended: {event}"
        );
    }
    let product = after.json("/api/products/1").await;
    assert_eq!(product["name"], "Edited just before the stop");
    after.stop().await;
}
