//! `GET /metrics` of a real `odoo-sync serve` process (its own recorder, so no other test's
//! counts mix in): the text parses strictly, and each counter moves by what the test did.

use std::collections::BTreeMap;
use std::process::Stdio;

use odoo_sim::Faults;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::helpers::{spawn_app, TestApp, ADMIN_TOKEN};
use crate::webhooks::WEBHOOK_SECRET;

const METRICS_TOKEN: &str = "test-metrics-token";

/// One sample: name, labels, value.
#[derive(Debug, Clone, PartialEq)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Prometheus' text format, strictly: `# HELP`/`# TYPE` comments, then `name{k="v",…} value`
/// lines; anything else fails the test, naming the line.
fn parse(text: &str) -> Vec<Sample> {
    let mut samples = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        if let Some(comment) = line.strip_prefix("# ") {
            let kind = comment.split(' ').next().unwrap_or("");
            assert!(
                kind == "HELP" || kind == "TYPE",
                "unknown comment line: {line}"
            );
            continue;
        }
        samples.push(parse_sample(line).unwrap_or_else(|why| panic!("{why}: {line}")));
    }
    samples
}

fn parse_sample(line: &str) -> Result<Sample, &'static str> {
    let name_end = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .ok_or("no value")?;
    let name = &line[..name_end];
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        return Err("bad metric name");
    }
    let mut rest = &line[name_end..];
    let mut labels = BTreeMap::new();
    if let Some(mut inner) = rest.strip_prefix('{') {
        loop {
            if let Some(after) = inner.strip_prefix('}') {
                rest = after;
                break;
            }
            let (key, after_key) = inner.split_once("=\"").ok_or("label without =\"")?;
            if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err("bad label name");
            }
            let mut value = String::new();
            let mut chars = after_key.char_indices();
            let end = loop {
                match chars.next().ok_or("unterminated label value")? {
                    (i, '"') => break i,
                    (_, '\\') => match chars.next().ok_or("unterminated escape")?.1 {
                        'n' => value.push('\n'),
                        c @ ('\\' | '"') => value.push(c),
                        _ => return Err("bad escape in label value"),
                    },
                    (_, c) => value.push(c),
                }
            };
            labels.insert(key.to_string(), value);
            inner = &after_key[end + 1..];
            if let Some(after_comma) = inner.strip_prefix(',') {
                inner = after_comma;
            } else if !inner.starts_with('}') {
                return Err("labels not separated by commas");
            }
        }
    }
    let value_text = rest.strip_prefix(' ').ok_or("no space before the value")?;
    let value = match value_text {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        text => text.parse().map_err(|_| "value is not a number")?,
    };
    Ok(Sample {
        name: name.to_string(),
        labels,
        value,
    })
}

struct Scrape(Vec<Sample>);

impl Scrape {
    /// The value of the one series with exactly these labels; 0 when it does not exist yet.
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let wanted: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let found: Vec<&Sample> = self
            .0
            .iter()
            .filter(|s| s.name == name && s.labels == wanted)
            .collect();
        assert!(found.len() <= 1, "{name} {labels:?} appears twice");
        found.first().map_or(0.0, |s| s.value)
    }

    /// The sum over every series of `name` whose labels include these.
    fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.0
            .iter()
            .filter(|s| s.name == name)
            .filter(|s| {
                labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(v))
            })
            .map(|s| s.value)
            .sum()
    }

    fn series(&self, name: &str) -> Vec<&Sample> {
        self.0.iter().filter(|s| s.name == name).collect()
    }
}

struct Served {
    _child: tokio::process::Child,
    url: String,
    http: reqwest::Client,
}

impl Served {
    async fn scrape(&self) -> Scrape {
        let response = self
            .http
            .get(format!("{}/metrics", self.url))
            .bearer_auth(METRICS_TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let content_type = response.headers()["content-type"].to_str().unwrap();
        assert!(
            content_type.starts_with("text/plain; version=0.0.4"),
            "{content_type}"
        );
        Scrape(parse(&response.text().await.unwrap()))
    }
}

/// `odoo-sync serve` on a port of its own choosing, read from its announcement.
async fn serve(app: &TestApp) -> Served {
    let mut command = app.command(&["serve"]);
    command
        .env("BIND", "127.0.0.1:0")
        .env("ADMIN_TOKEN", ADMIN_TOKEN)
        .env("WEBHOOK_SECRET", WEBHOOK_SECRET)
        .env("METRICS_TOKEN", METRICS_TOKEN)
        // Nothing drains the inbox, so its depth is what the test sent.
        .env("WEBHOOK_WORKERS", "0")
        .env("SYNC_SWEEP_INTERVAL", "0")
        .env("SYNC_RECONCILE_INTERVAL", "0")
        .env("SYNC_SCHEDULE", "off")
        .env("SYNC_FULL_SCHEDULE", "off")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = command.spawn().expect("odoo-sync serve starts");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut announce = String::new();
    stdout.read_line(&mut announce).await.unwrap();
    let url = announce
        .split_whitespace()
        .find(|word| word.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in {announce:?}"))
        .to_string();
    Served {
        _child: child,
        url,
        http: reqwest::Client::new(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_count_runs_products_odoo_calls_webhooks_and_catalog_reads_by_route_template() {
    let app = spawn_app(20).await;
    let server = serve(&app).await;
    let http = &server.http;
    let metrics_url = format!("{}/metrics", server.url);

    for (what, request) in [
        ("no token", http.get(&metrics_url)),
        ("a wrong token", http.get(&metrics_url).bearer_auth("wrong")),
        (
            "the admin token",
            http.get(&metrics_url).bearer_auth(ADMIN_TOKEN),
        ),
    ] {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401, "/metrics with {what}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "unauthorized", "{body}");
    }
    let before = server.scrape().await;
    assert_eq!(before.sum("odoo_sync_runs_total", &[]), 0.0);

    // A whole full sync in one step.
    let step: Value = http
        .post(format!("{}/api/products/sync", server.url))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"limit": 10_000}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(step["done"], true, "{step}");
    let processed = step["processed"].as_f64().unwrap();
    assert!(processed >= 20.0, "{step}");

    // Catalog reads: a miss, a hit, a 304, and two products by id.
    let products = format!("{}/api/products?limit=5", server.url);
    let first = http.get(&products).send().await.unwrap();
    assert_eq!(first.status(), 200);
    let etag = first.headers()["etag"].clone();
    let page: Value = first.json().await.unwrap();
    assert_eq!(http.get(&products).send().await.unwrap().status(), 200);
    let revalidated = http
        .get(&products)
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(revalidated.status(), 304);
    let ids: Vec<i64> = page["products"]
        .as_array()
        .unwrap_or_else(|| panic!("a page has items: {page}"))
        .iter()
        .take(2)
        .map(|p| p["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), 2);
    for id in &ids {
        let url = format!("{}/api/products/{id}", server.url);
        assert_eq!(http.get(url).send().await.unwrap().status(), 200);
    }

    // One webhook, left pending (no workers).
    let hook = json!({"_action": "Send Webhook Notification(#1)", "_id": ids[0], "_model": "product.template", "id": ids[0]});
    let ack = http
        .post(format!(
            "{}/api/products/sync/webhook?token={WEBHOOK_SECRET}",
            server.url
        ))
        .json(&hook)
        .send()
        .await
        .unwrap();
    assert_eq!(ack.status(), 200);

    // Odoo down: an incremental run fails on a 503.
    app.set_faults(Faults {
        error_rate: 1.0,
        ..Faults::default()
    });
    let failed = http
        .post(format!("{}/api/products/sync", server.url))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"limit": 10_000}))
        .send()
        .await
        .unwrap();
    assert_eq!(failed.status(), 502);
    app.set_faults(Faults::default());

    let after = server.scrape().await;
    let runs = "odoo_sync_runs_total";
    assert_eq!(
        after.value(runs, &[("mode", "full"), ("status", "succeeded")]),
        1.0
    );
    assert_eq!(
        after.value(runs, &[("mode", "incremental"), ("status", "failed")]),
        1.0
    );
    assert_eq!(after.sum(runs, &[]), 2.0);

    let synced = "odoo_sync_products_synced_total";
    assert_eq!(
        after.value(synced, &[("source", "run"), ("outcome", "created")]),
        processed
    );
    assert_eq!(after.sum(synced, &[]), processed);

    let calls = "odoo_sync_odoo_calls_total";
    assert!(
        after.sum(calls, &[]) >= 3.0,
        "a full run makes several calls"
    );
    for call in after.series(calls) {
        let method = call.labels["method"].as_str();
        let timed = after.value(
            "odoo_sync_odoo_call_duration_seconds_count",
            &[("method", method)],
        );
        assert_eq!(timed, call.value, "every {method} call is timed");
    }
    let errors = "odoo_sync_odoo_errors_total";
    assert!(after.sum(errors, &[("kind", "http_5xx")]) >= 1.0);
    assert_eq!(
        after.sum(errors, &[]),
        after.sum(errors, &[("kind", "http_5xx")])
    );

    let requests = "odoo_sync_catalog_requests_total";
    let route = |template: &str, status: &str| {
        after.value(requests, &[("route", template), ("status", status)])
    };
    assert_eq!(route("/api/products", "200"), 2.0);
    assert_eq!(route("/api/products", "304"), 1.0);
    assert_eq!(route("/api/products/{id}", "200"), 2.0);
    assert_eq!(
        after.sum(requests, &[]),
        5.0,
        "{:?}",
        after.series(requests)
    );

    let cache = "odoo_sync_catalog_cache_total";
    assert_eq!(after.value(cache, &[("result", "miss")]), 3.0);
    assert_eq!(after.value(cache, &[("result", "hit")]), 1.0);
    assert_eq!(after.value(cache, &[("result", "not_modified")]), 1.0);

    let acks = "odoo_sync_webhook_ack_duration_seconds_count";
    assert_eq!(after.value(acks, &[("status", "200")]), 1.0);
    let inbox = "odoo_sync_webhook_inbox_events";
    assert_eq!(after.value(inbox, &[("state", "pending")]), 1.0);
    assert_eq!(after.value(inbox, &[("state", "failed")]), 0.0);
    let oldest = after.value("odoo_sync_webhook_inbox_oldest_pending_age_seconds", &[]);
    assert!(oldest > 0.0, "the pending event has an age: {oldest}");
}

#[test]
fn the_parser_refuses_what_is_not_the_text_format() {
    let good = "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"1\",y=\"q\\\"\"} 3\nb 1.5\n";
    let samples = parse(good);
    assert_eq!(samples.len(), 2);
    assert_eq!(samples[0].labels["y"], "q\"");
    assert_eq!(samples[1].value, 1.5);
    for bad in [
        "a_total{x=1} 3",
        "a_total 3x",
        "a_total{x=\"1\" 3",
        "a_total",
    ] {
        assert!(parse_sample(bad).is_err(), "{bad} parsed");
    }
}
