//! Signed "catalog changed" webhooks out to websites (`SITE_WEBHOOK_URLS`), end to end: a
//! receiver on a random port records every POST; the signatures are checked with the PyPI
//! `standardwebhooks` package, an implementation that is not ours.

use std::collections::{BTreeSet, VecDeque};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use odoo_rpc::Context;
use serde_json::{json, Map, Value};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::helpers::{
    describe, sleep_ms, spawn_app, spawn_app_with_postgres, TestApp, ADMIN_TOKEN,
};
use crate::webhooks::{real_time_app, within};

/// A Standard Webhooks secret (24 random bytes, base64).
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

#[derive(Debug, Clone)]
struct Received {
    id: String,
    timestamp: String,
    signature: String,
    content_type: String,
    body: String,
    at: Instant,
}

impl Received {
    fn event(&self) -> Value {
        serde_json::from_str(&self.body).expect("events are JSON")
    }
}

/// What the receiver answers: the queued statuses first (`0` = hold the request unanswered),
/// then 200.
#[derive(Default)]
struct Receiver {
    received: Mutex<Vec<Received>>,
    answers: Mutex<VecDeque<u16>>,
}

struct Site {
    url: String,
    state: Arc<Receiver>,
}

impl Site {
    async fn spawn() -> Site {
        let state = Arc::new(Receiver::default());
        let app = Router::new()
            .route("/hook", post(receive))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Site { url, state }
    }

    fn answer_with(&self, statuses: &[u16]) {
        self.state.answers.lock().unwrap().extend(statuses);
    }

    fn received(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }

    /// Waits until `count` requests came.
    async fn wait_for(&self, count: usize) -> Vec<Received> {
        for _ in 0..400 {
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            sleep_ms(50).await;
        }
        panic!(
            "the receiver got {} requests, not {count}: {:?}",
            self.received().len(),
            self.received()
        );
    }
}

async fn receive(
    State(state): State<Arc<Receiver>>,
    headers: HeaderMap,
    body: String,
) -> (StatusCode, String) {
    let header = |name: &str| {
        headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    };
    state.received.lock().unwrap().push(Received {
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        content_type: header("content-type"),
        body,
        at: Instant::now(),
    });
    let answer = state.answers.lock().unwrap().pop_front().unwrap_or(200);
    if answer == 0 {
        std::future::pending::<()>().await;
    }
    let status = StatusCode::from_u16(answer).unwrap();
    (status, format!("answered {answer}"))
}

/// Checks every request's signature with the PyPI `standardwebhooks` package (installed with pip
/// when missing). Skips loudly only if pip cannot install it.
async fn verify_with_standardwebhooks(requests: &[Received]) {
    let have = || {
        std::process::Command::new("python3")
            .args(["-c", "import standardwebhooks"])
            .status()
            .is_ok_and(|s| s.success())
    };
    if !have() {
        let _ = std::process::Command::new("python3")
            .args(["-m", "pip", "install", "--quiet", "standardwebhooks"])
            .status();
        if !have() {
            eprintln!(
                "\n!!! SKIPPED: the standardwebhooks PyPI package cannot be installed; \
                 signatures were NOT checked by an independent implementation !!!\n"
            );
            return;
        }
    }
    let script = r#"
import json, sys
from standardwebhooks.webhooks import Webhook
secret, requests = json.load(sys.stdin)
hook = Webhook(secret)
for r in requests:
    headers = {"webhook-id": r["id"], "webhook-timestamp": r["timestamp"], "webhook-signature": r["signature"]}
    hook.verify(r["body"], headers)
    tampered = dict(headers, **{"webhook-id": r["id"] + "x"})
    try:
        hook.verify(r["body"], tampered)
        sys.exit("a tampered request verified")
    except Exception:
        pass
print(len(requests))
"#;
    let input: Vec<Value> = requests
        .iter()
        .map(|r| json!({"id": r.id, "timestamp": r.timestamp, "signature": r.signature, "body": r.body}))
        .collect();
    let mut child = tokio::process::Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdin = serde_json::to_vec(&json!([SECRET, input])).unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut child.stdin.take().unwrap(), &stdin)
        .await
        .unwrap();
    let output = child.wait_with_output().await.unwrap();
    assert!(
        output.status.success(),
        "standardwebhooks refused a signature:\n{}",
        describe(&output)
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        requests.len().to_string()
    );
}

fn site_env(site: &Site) -> Vec<(&'static str, String)> {
    vec![
        ("SITE_WEBHOOK_URLS", site.url.clone()),
        ("SITE_WEBHOOK_SECRET", SECRET.to_string()),
        ("SITE_WEBHOOK_RETRY_DELAYS", "200ms,400ms,800ms".to_string()),
    ]
}

fn values(pairs: Value) -> Map<String, Value> {
    pairs.as_object().unwrap().clone()
}

/// The product ids the events name, upserted and deleted.
fn named(events: &[Received]) -> (BTreeSet<i64>, BTreeSet<i64>) {
    let mut upserted = BTreeSet::new();
    let mut deleted = BTreeSet::new();
    for event in events.iter().map(Received::event) {
        assert_eq!(event["type"], "catalog.changed");
        let ids = |key: &str| -> Vec<i64> {
            event["changes"][key]
                .as_array()
                .unwrap()
                .iter()
                .map(|id| id.as_i64().unwrap())
                .collect()
        };
        upserted.extend(ids("upserted"));
        deleted.extend(ids("deleted"));
    }
    (upserted, deleted)
}

fn tags(events: &[Received]) -> BTreeSet<String> {
    events
        .iter()
        .flat_map(|r| r.event()["tags"].as_array().unwrap().clone())
        .map(|tag| tag.as_str().unwrap().to_string())
        .collect()
}

/// The requests after the first `seen`, once nothing is pending in the webhook inbox (an Odoo 18
/// event is read again for seconds after it is first applied) nor then in the outbox.
async fn settled_since(site: &Site, server_url: &str, seen: &mut usize) -> Vec<Received> {
    let http = reqwest::Client::new();
    let pending = |path: &str, key: &'static str| {
        let request = http
            .get(format!("{server_url}{path}?status=pending"))
            .bearer_auth(ADMIN_TOKEN);
        async move {
            let list: Value = request.send().await.unwrap().json().await.unwrap();
            list[key].as_array().unwrap().len()
        }
    };
    for _ in 0..600 {
        if pending("/api/products/sync/webhooks", "events").await == 0
            && pending("/api/site-webhooks", "deliveries").await == 0
        {
            let all = site.received();
            let fresh = all[*seen..].to_vec();
            *seen = all.len();
            return fresh;
        }
        sleep_ms(50).await;
    }
    panic!("site webhooks stayed pending");
}

/// The tags an event about product `id` carries: the product, its category, its website
/// categories (as the catalog API shows them), and `products`.
async fn expected_tags(server: &crate::helpers::TestServer, id: i64) -> BTreeSet<String> {
    let product = server.json(&format!("/api/products/{id}")).await;
    let mut tags = BTreeSet::from([format!("product:{id}"), "products".to_string()]);
    if let Some(category) = product["category"]["id"].as_i64() {
        tags.insert(format!("category:{category}"));
    }
    for public in product["publicCategoryIds"].as_array().unwrap() {
        tags.insert(format!("public-category:{public}"));
    }
    tags
}

/// Every product of the catalog, archived ones included.
async fn product_ids(app: &TestApp) -> Vec<i64> {
    app.export().await.into_keys().collect()
}

/// An app whose catalog was synced in full and whose events were all delivered.
async fn synced_app(site: &Site, products: usize) -> (TestApp, crate::helpers::TestServer) {
    let mut app = spawn_app(products).await;
    for (key, value) in site_env(site) {
        app.env.insert(key.into(), value);
    }
    let server = app.serve(&[]).await;
    app.cli_ok(&["sync", "--full"]).await;
    settled_since(site, &server.url, &mut 0).await;
    (app, server)
}

/// One change in Odoo, synced by the CLI: one event.
async fn edit_and_sync(app: &TestApp, id: i64, price: f64) {
    let odoo = app.odoo().await;
    odoo.write(
        "product.template",
        &[id],
        values(json!({"list_price": price})),
        &Context::default(),
    )
    .await
    .unwrap();
    app.cli_ok(&["sync", "--incremental"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_kind_of_catalog_change_reaches_the_site_with_exactly_its_ids_and_tags_signed() {
    let site = Site::spawn().await;
    let env = site_env(&site);
    let mut extra: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    extra.push(("SYNC_PRICELIST_ID", "1"));
    // The full sync runs from the CLI before `serve` starts: its events wait in the outbox.
    let (app, server) = real_time_app(20, &extra).await;
    let all = product_ids(&app).await;
    let mut seen = 0;
    let events = settled_since(&site, &server.url, &mut seen).await;
    let (upserted, deleted) = named(&events);
    assert_eq!(
        upserted,
        all.iter().copied().collect(),
        "the full sync names every product"
    );
    assert!(deleted.is_empty());
    assert!(tags(&events).contains("products"));
    let odoo = app.odoo().await;
    let plain = Context::default();

    // An edit in Odoo; the webhook rules are installed, so it arrives as a webhook batch.
    let edited = all[3];
    odoo.write(
        "product.template",
        &[edited],
        values(json!({"list_price": 321.5})),
        &plain,
    )
    .await
    .unwrap();
    let path = format!("/api/products/{edited}");
    within(&server, &path, Duration::from_secs(20), |r| {
        r["body"]["price"] == 321.5
    })
    .await;
    let events = settled_since(&site, &server.url, &mut seen).await;
    assert_eq!(named(&events), (BTreeSet::from([edited]), BTreeSet::new()));
    assert_eq!(tags(&events), expected_tags(&server, edited).await);
    let feed = server.json("/api/changes").await;
    let last = events.last().unwrap().event();
    assert_eq!(
        last["changeToken"], feed["nextToken"],
        "the feed's token after the change"
    );

    // An edit picked up by an incremental sync (from the CLI, another process).
    let synced = all[5];
    odoo.write(
        "product.template",
        &[synced],
        values(json!({"name": "Renamed"})),
        &plain,
    )
    .await
    .unwrap();
    app.cli_ok(&["sync", "--incremental"]).await;
    let events = settled_since(&site, &server.url, &mut seen).await;
    assert_eq!(named(&events), (BTreeSet::from([synced]), BTreeSet::new()));
    assert_eq!(tags(&events), expected_tags(&server, synced).await);

    // A deletion in Odoo.
    let gone = all[7];
    let gone_tags = expected_tags(&server, gone).await;
    odoo.unlink("product.template", &[gone], &plain)
        .await
        .unwrap();
    within(
        &server,
        &format!("/api/products/{gone}"),
        Duration::from_secs(20),
        |r| r["status"] == 404,
    )
    .await;
    let events = settled_since(&site, &server.url, &mut seen).await;
    assert_eq!(named(&events), (BTreeSet::new(), BTreeSet::from([gone])));
    assert_eq!(tags(&events), gone_tags);

    // A repricing: a pricelist rule for one product moves no product in Odoo.
    let repriced = all[9];
    let rule = json!({"pricelist_id": 1, "applied_on": "1_product", "product_tmpl_id": repriced,
                      "compute_price": "fixed", "fixed_price": 7.5});
    odoo.create("product.pricelist.item", vec![values(rule)], &plain)
        .await
        .unwrap();
    within(
        &server,
        &format!("/api/products/{repriced}"),
        Duration::from_secs(20),
        |r| r["body"]["variants"][0]["pricelistPrice"] == 7.5,
    )
    .await;
    let events = settled_since(&site, &server.url, &mut seen).await;
    assert_eq!(
        named(&events),
        (BTreeSet::from([repriced]), BTreeSet::new())
    );
    assert_eq!(tags(&events), expected_tags(&server, repriced).await);

    let received = site.received();
    assert!(received
        .iter()
        .all(|r| r.content_type == "application/json"));
    let ids: BTreeSet<&str> = received.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(
        ids.len(),
        received.len(),
        "each event once, each with its own id"
    );
    verify_with_standardwebhooks(&received).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_receiver_failing_three_times_gets_the_event_on_the_fourth_attempt_on_schedule() {
    let site = Site::spawn().await;
    let (app, server) = synced_app(&site, 5).await;
    let before = site.received().len();
    site.answer_with(&[500, 500, 500]);
    edit_and_sync(&app, product_ids(&app).await[1], 55.5).await;
    let received = site.wait_for(before + 4).await[before..].to_vec();
    let id = &received[0].id;
    assert!(
        received.iter().all(|r| &r.id == id),
        "one event, retried under its id"
    );
    assert!(received.iter().all(|r| r.body == received[0].body));
    // 200 ms, 400 ms, 800 ms ± 20 %: each wait is longer than the one before's shortest bound.
    let waits: Vec<Duration> = received.windows(2).map(|w| w[1].at - w[0].at).collect();
    for (wait, scheduled) in waits.iter().zip([200, 400, 800]) {
        assert!(
            *wait >= Duration::from_millis(scheduled * 8 / 10),
            "waits {waits:?} shorter than the schedule"
        );
    }
    let delivered: Value = server
        .admin_get("/api/site-webhooks?status=delivered")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let deliveries = delivered["deliveries"].as_array().unwrap();
    let delivery = deliveries
        .iter()
        .find(|d| d["eventId"] == json!(id))
        .unwrap();
    assert_eq!(delivery["attempts"], 4);
    assert_eq!(delivery["lastStatus"], 200);
    sleep_ms(300).await;
    assert_eq!(
        site.received().len(),
        before + 4,
        "nothing sent after the acceptance"
    );
    verify_with_standardwebhooks(&received).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn after_the_last_attempt_a_delivery_is_failed_and_kept_and_replay_sends_it_again() {
    let site = Site::spawn().await;
    let (app, server) = synced_app(&site, 3).await;
    let before = site.received().len();
    site.answer_with(&[503, 500, 500, 500]);
    edit_and_sync(&app, product_ids(&app).await[0], 12.25).await;
    site.wait_for(before + 4).await;
    let mut failed = Value::Null;
    for _ in 0..100 {
        failed = server
            .admin_get("/api/site-webhooks?status=failed")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if !failed["deliveries"].as_array().unwrap().is_empty() {
            break;
        }
        sleep_ms(50).await;
    }
    let delivery = &failed["deliveries"][0];
    assert_eq!(failed["failed"], 1, "{failed}");
    assert_eq!(delivery["attempts"], 4, "{failed}");
    assert_eq!(delivery["lastStatus"], 500);
    assert_eq!(delivery["lastError"], "HTTP 500: answered 500");
    assert!(delivery["nextAttemptAt"].is_null());
    let id = delivery["id"].as_i64().unwrap();
    let bad = server
        .admin_get("/api/site-webhooks?status=lost")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let replayed = server
        .admin_post(&format!("/api/site-webhooks/{id}/replay"), json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(replayed.status(), 200);
    let received = site.wait_for(before + 5).await;
    assert_eq!(
        received[before + 4].id,
        received[before].id,
        "the replay is the same event"
    );
    let again = server
        .admin_post(&format!("/api/site-webhooks/{id}/replay"), json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 404, "only a failed delivery is replayed");
    let anonymous = server.get("/api/site-webhooks").send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let openapi = server.json("/api/openapi.json").await;
    let list = &openapi["paths"]["/api/site-webhooks"]["get"];
    assert!(list["security"].is_array(), "admin only: {list}");
    assert!(openapi["paths"]["/api/site-webhooks/{id}/replay"]["post"].is_object());
    let example = &openapi["components"]["schemas"]["DeliveryView"]["example"];
    assert_eq!(example["event"]["type"], "catalog.changed", "{example}");
    server.stop().await;
}

/// `odoo-sync serve` as a child process on a free port.
async fn serve_binary(app: &TestApp) -> (tokio::process::Child, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let mut command = app.command(&["serve"]);
    command
        .env("BIND", format!("127.0.0.1:{port}"))
        .env("ADMIN_TOKEN", ADMIN_TOKEN)
        .env("SYNC_SCHEDULE", "off")
        .env("SYNC_FULL_SCHEDULE", "off")
        .env("SYNC_SWEEP_INTERVAL", "0")
        .env("SYNC_RECONCILE_INTERVAL", "0")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = command.spawn().expect("odoo-sync serve starts");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut announce = String::new();
    stdout.read_line(&mut announce).await.unwrap();
    assert!(announce.contains("serving on"), "{announce}");
    tokio::spawn(async move {
        let mut sink = String::new();
        while stdout.read_line(&mut sink).await.is_ok_and(|n| n > 0) {
            sink.clear();
        }
    });
    (child, format!("http://127.0.0.1:{port}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_serve_killed_between_commit_and_delivery_loses_nothing_the_next_one_delivers_it() {
    let site = Site::spawn().await;
    // The first POST is held unanswered: the process dies with the delivery in flight.
    site.answer_with(&[0]);
    let mut app = spawn_app(4).await;
    for (key, value) in site_env(&site) {
        app.env.insert(key.into(), value);
    }
    let (mut first, _) = serve_binary(&app).await;
    app.cli_ok(&["sync", "--full"]).await;
    let held = site.wait_for(1).await[0].clone();
    first.start_kill().unwrap();
    let _ = first.wait().await;
    let (mut second, _) = serve_binary(&app).await;
    // The killed worker's lease runs out (15 s), then the new process sends the same event.
    let mut received = Vec::new();
    for _ in 0..800 {
        received = site.received();
        if received.iter().filter(|r| r.id == held.id).count() >= 2 {
            break;
        }
        sleep_ms(50).await;
    }
    let again: Vec<&Received> = received.iter().filter(|r| r.id == held.id).collect();
    assert_eq!(
        again.len(),
        2,
        "the held event is sent again after the restart"
    );
    assert_eq!(again[1].body, held.body);
    verify_with_standardwebhooks(&received).await;
    second.start_kill().unwrap();
    let _ = second.wait().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn two_serve_instances_on_one_postgres_database_deliver_each_event_exactly_once() {
    let site = Site::spawn().await;
    let mut app = spawn_app_with_postgres(30).await;
    for (key, value) in site_env(&site) {
        app.env.insert(key.into(), value);
    }
    // Events big enough to come as many: one per page of 5 products.
    app.env.insert("SYNC_FULL_BATCH_SIZE".into(), "5".into());
    let (mut one, url_one) = serve_binary(&app).await;
    let (mut two, _) = serve_binary(&app).await;
    app.cli_ok(&["sync", "--full"]).await;
    let mut seen = 0;
    settled_since(&site, &url_one, &mut seen).await;
    let odoo = app.odoo().await;
    let all = product_ids(&app).await;
    for id in &all[..6] {
        odoo.write(
            "product.template",
            &[*id],
            values(json!({"list_price": 9.5})),
            &Context::default(),
        )
        .await
        .unwrap();
        app.cli_ok(&["sync", "--incremental"]).await;
    }
    settled_since(&site, &url_one, &mut seen).await;
    sleep_ms(1500).await;
    let received = site.received();
    let ids: Vec<&str> = received.iter().map(|r| r.id.as_str()).collect();
    let unique: BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(
        ids.len(),
        unique.len(),
        "an event was delivered twice: {ids:?}"
    );
    let (upserted, _) = named(&received);
    assert_eq!(upserted, all.iter().copied().collect());
    assert!(received.len() >= 6 + 6, "{} events", received.len());
    one.start_kill().unwrap();
    two.start_kill().unwrap();
    let _ = one.wait().await;
    let _ = two.wait().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_test_command_sends_a_signed_test_event_to_each_url_and_fails_if_one_refuses() {
    let good = Site::spawn().await;
    let bad = Site::spawn().await;
    bad.answer_with(&[410]);
    let mut app = spawn_app(1).await;
    app.env.insert("SITE_WEBHOOK_SECRET".into(), SECRET.into());
    app.env.insert("SITE_WEBHOOK_URLS".into(), good.url.clone());
    let said = app.cli_ok(&["site-webhooks", "test"]).await;
    assert!(
        said.contains(&format!("{} -> 200 answered 200", good.url)),
        "{said}"
    );
    let received = good.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].event()["type"], "catalog.test");
    verify_with_standardwebhooks(&received).await;

    app.env.insert(
        "SITE_WEBHOOK_URLS".into(),
        format!("{},{}", good.url, bad.url),
    );
    let output = app.cli(&["site-webhooks", "test"]).await;
    assert!(!output.status.success());
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(
        said.contains(&format!("{} -> 410 answered 410", bad.url)),
        "{}",
        describe(&output)
    );

    app.env
        .insert("SITE_WEBHOOK_SECRET".into(), "whsec_tooshort".into());
    let output = app.cli(&["site-webhooks", "test"]).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success() && stderr.contains("SITE_WEBHOOK_SECRET is invalid"),
        "{}",
        describe(&output)
    );
}
