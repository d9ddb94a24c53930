//! Webhooks like Odoo 18's, against a test receiver (axum on 127.0.0.1:0) that records every POST
//! and can read the record back over JSON-RPC while the simulator waits for its answer. Rules are
//! installed over JSON-RPC as a client would. No timed assertions: only orders and states.

use axum::body::Bytes;
use axum::extract::{Path as UrlPath, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
mod common;

use common::{call, rpc};
use odoo_sim::Sim;
use serde_json::{json, Value as Json};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/odoo18-fixtures/webhooks"
);

fn ids(v: &Json) -> Vec<i64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_i64().unwrap())
        .collect()
}

/// How the receiver answers.
#[derive(Clone, Debug)]
enum Mode {
    Ok,
    Status(u16),
    Sleep(Duration),
    /// Reads `fields` of the posted record back from the simulator before answering.
    Readback(String, Vec<&'static str>),
}

#[derive(Clone, Debug)]
struct Received {
    path: String,
    query: String,
    headers: HeaderMap,
    raw: String,
    body: Json,
    readback: Option<Json>,
}

#[derive(Clone)]
struct Receiver {
    url: String,
    mode: Arc<Mutex<Mode>>,
    got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    async fn start(mode: Mode) -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let rx = Receiver {
            url: format!("http://{}", listener.local_addr().unwrap()),
            mode: Arc::new(Mutex::new(mode)),
            got: Arc::new(Mutex::new(Vec::new())),
        };
        let app = Router::new()
            .route("/odoo/webhook/{*rest}", post(receive))
            .with_state(rx.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        rx
    }

    fn hook_url(&self, tail: &str) -> String {
        format!("{}/odoo/webhook/{tail}?token=secret123", self.url)
    }

    fn got(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    fn clear(&self) {
        self.got.lock().unwrap().clear();
    }
}

async fn receive(
    State(rx): State<Receiver>,
    UrlPath(rest): UrlPath<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let raw = String::from_utf8(body.to_vec()).unwrap();
    let parsed: Json = serde_json::from_str(&raw).unwrap();
    let mode = rx.mode.lock().unwrap().clone();
    let mut readback = None;
    let status = match mode {
        Mode::Ok => StatusCode::OK,
        Mode::Status(s) => StatusCode::from_u16(s).unwrap(),
        Mode::Sleep(d) => {
            tokio::time::sleep(d).await;
            StatusCode::OK
        }
        Mode::Readback(sim_url, fields) => {
            let model = parsed["_model"].as_str().unwrap().to_string();
            let args = json!([[parsed["_id"]]]);
            let kwargs = json!({"fields": fields, "context": {"active_test": false}});
            readback = Some(call(&sim_url, &model, "read", args, kwargs).await["result"].clone());
            StatusCode::OK
        }
    };
    rx.got.lock().unwrap().push(Received {
        path: format!("/odoo/webhook/{rest}"),
        query: query.unwrap_or_default(),
        headers,
        raw,
        body: parsed,
        readback,
    });
    status
}

/// ir.model.fields ids of `names` on `model`.
async fn field_ids(sim: &Sim, model: &str, names: &[&str]) -> Vec<i64> {
    let domain = json!([["model_id.model", "=", model], ["name", "in", names]]);
    let found = ids(&rpc(sim, "ir.model.fields", "search", json!([domain]), json!({})).await);
    assert_eq!(found.len(), names.len(), "{model} {names:?}");
    found
}

/// Installs an automation with one webhook action, as Odoo's UI/RPC does; returns (rule, action).
async fn install(
    sim: &Sim,
    model: &str,
    trigger: &str,
    url: &str,
    fields: &[&str],
    trigger_fields: &[&str],
) -> (i64, i64) {
    let model_ids = rpc(
        sim,
        "ir.model",
        "search",
        json!([[["model", "=", model]]]),
        json!({}),
    )
    .await;
    let model_id = ids(&model_ids)[0];
    let fields = field_ids(sim, model, fields).await;
    let triggers = match trigger_fields.is_empty() {
        true => Vec::new(),
        false => field_ids(sim, model, trigger_fields).await,
    };
    let rule = rpc(
        sim,
        "base.automation",
        "create",
        json!([{
            "name": format!("Sync webhook: {model} {trigger}"),
            "model_id": model_id,
            "trigger": trigger,
            "trigger_field_ids": [[6, 0, triggers]],
            "action_server_ids": [[0, 0, {
                "name": "Notify", "state": "webhook", "webhook_url": url,
                "webhook_field_ids": [[6, 0, fields]], "model_id": model_id}]],
            "active": true,
        }]),
        json!({}),
    )
    .await
    .as_i64()
    .unwrap();
    let rec = rpc(
        sim,
        "base.automation",
        "read",
        json!([[rule]]),
        json!({"fields": ["action_server_ids"]}),
    )
    .await;
    (rule, ids(&rec[0]["action_server_ids"])[0])
}

const TEMPLATE_FIELDS: &[&str] = &["name", "default_code", "list_price", "active", "write_date"];
const VARIANT_FIELDS: &[&str] = &[
    "name",
    "default_code",
    "barcode",
    "lst_price",
    "active",
    "product_tmpl_id",
    "write_date",
];

/// The three rules of the recordings (template saved, template deleted, variant saved).
async fn install_recorded_rules(sim: &Sim, rx: &Receiver) -> (i64, i64, i64) {
    let t = install(
        sim,
        "product.template",
        "on_create_or_write",
        &rx.hook_url("product.template"),
        TEMPLATE_FIELDS,
        &[],
    )
    .await
    .1;
    let u = install(
        sim,
        "product.template",
        "on_unlink",
        &rx.hook_url("product.template/unlink"),
        TEMPLATE_FIELDS,
        &[],
    )
    .await
    .1;
    let v = install(
        sim,
        "product.product",
        "on_create_or_write",
        &rx.hook_url("product.product"),
        VARIANT_FIELDS,
        &[],
    )
    .await
    .1;
    (t, u, v)
}

/// A single-variant active template: (template id, variant id).
async fn single_variant_template(sim: &Sim) -> (i64, i64) {
    let found = rpc(
        sim,
        "product.template",
        "search_read",
        json!([[["product_variant_count", "=", 1]]]),
        json!({"fields": ["product_variant_ids"], "limit": 1, "order": "id"}),
    )
    .await;
    (
        found[0]["id"].as_i64().unwrap(),
        ids(&found[0]["product_variant_ids"])[0],
    )
}

fn fixture(name: &str) -> Json {
    let text = std::fs::read_to_string(format!("{FIXTURES}/{name}")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "bool",
        Json::Number(n) if n.is_f64() => "float",
        Json::Number(_) => "int",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    }
}

/// Same keys in the same (sorted) order, same JSON types (a `false` may stand for any empty).
fn assert_same_shape(want: &Json, got: &Json) {
    let (w, g) = (want.as_object().unwrap(), got.as_object().unwrap());
    assert_eq!(
        w.keys().collect::<Vec<_>>(),
        g.keys().collect::<Vec<_>>(),
        "keys"
    );
    for (k, wv) in w {
        let gv = &g[k];
        let comparable = !matches!(wv, Json::Bool(false)) && !matches!(gv, Json::Bool(false));
        if comparable {
            assert_eq!(kind(wv), kind(gv), "type of {k}: {wv} vs {gv}");
        }
    }
}

fn micros(write_date: &Json) -> bool {
    let s = write_date.as_str().unwrap();
    s.len() == 26 && s.as_bytes()[19] == b'.' && s.as_bytes()[10] == b' '
}

#[tokio::test]
async fn rules_are_installed_over_rpc_and_read_back_like_odoo() {
    let sim = common::generated(30, 7).await;
    let rx = Receiver::start(Mode::Ok).await;
    let (rule, action) = install(
        &sim,
        "product.template",
        "on_create_or_write",
        &rx.hook_url("product.template"),
        TEMPLATE_FIELDS,
        &[],
    )
    .await;
    let want = &fixture("setup_server_actions_read.json")["response"]["body"]["result"][0];
    let fields: Vec<&str> = want
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let got = rpc(
        &sim,
        "ir.actions.server",
        "read",
        json!([[action]]),
        json!({"fields": fields}),
    )
    .await;
    let got = &got[0];
    assert_same_shape(want, got);
    assert_eq!(got["name"], "Send Webhook Notification");
    assert_eq!(got["state"], "webhook");
    assert_eq!(got["usage"], "base_automation");
    assert_eq!(got["model_id"][1], "Product");
    assert_eq!(got["base_automation_id"][0], rule);
    assert_eq!(got["webhook_field_ids"].as_array().unwrap().len(), 5);
    let sample: Json =
        serde_json::from_str(got["webhook_sample_payload"].as_str().unwrap()).unwrap();
    assert_eq!(sample["_name"], "Send Webhook Notification");

    let rules = rpc(
        &sim,
        "base.automation",
        "search_read",
        json!([[]]),
        json!({"fields": ["name", "model_id", "trigger", "trigger_field_ids", "action_server_ids", "active"]}),
    )
    .await;
    assert_eq!(rules[0]["trigger"], "on_create_or_write");
    assert_eq!(rules[0]["trigger_field_ids"], json!([]));
    assert_eq!(rules[0]["action_server_ids"], json!([action]));
}

#[tokio::test]
async fn a_template_write_posts_the_template_then_its_variant_in_the_recorded_shape() {
    let sim = common::generated(30, 7).await;
    let rx = Receiver::start(Mode::Ok).await;
    let (t_action, _, v_action) = install_recorded_rules(&sim, &rx).await;
    let (tmpl, variant) = single_variant_template(&sim).await;
    rpc(
        &sim,
        "product.template",
        "write",
        json!([[tmpl], {"list_price": 59.0}]),
        json!({}),
    )
    .await;
    let got = rx.got();
    let recorded = fixture("template_write_price.json");
    let want = recorded["requests"].as_array().unwrap();
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(want) {
        assert_eq!(g.path, w["path"].as_str().unwrap());
        assert_eq!(g.query, "token=secret123");
        assert_same_shape(&w["body"], &g.body);
        for (name, value) in w["headers"].as_object().unwrap() {
            if !matches!(name.as_str(), "Host" | "Content-Length") {
                assert_eq!(g.headers[name.as_str()], value.as_str().unwrap(), "{name}");
            }
        }
        // Python's json.dumps layout, keys sorted.
        assert_eq!(
            g.raw.split(", \"").count(),
            w["raw_body"].as_str().unwrap().split(", \"").count()
        );
        assert!(g
            .raw
            .starts_with("{\"_action\": \"Send Webhook Notification(#"));
        assert!(micros(&g.body["write_date"]));
    }
    assert_eq!(
        got[0].body["_action"],
        format!("Send Webhook Notification(#{t_action})")
    );
    assert_eq!(got[0].body["_id"], tmpl);
    assert_eq!(got[0].body["list_price"], 59.0);
    assert_eq!(
        got[1].body["_action"],
        format!("Send Webhook Notification(#{v_action})")
    );
    assert_eq!(got[1].body["_id"], variant);
    assert_eq!(got[1].body["product_tmpl_id"], tmpl);
    assert_eq!(got[1].body["lst_price"], 59.0);
    assert_eq!(got[0].body["write_date"], got[1].body["write_date"]);
    assert_eq!(sim.webhook_counts().sent, 2);
}

#[tokio::test]
async fn a_reader_during_the_post_sees_the_old_value_and_the_new_one_after_the_call() {
    let sim = common::generated(30, 7).await;
    let rx = Receiver::start(Mode::Readback(sim.url(), vec!["list_price", "write_date"])).await;
    install_recorded_rules(&sim, &rx).await;
    let (tmpl, _) = single_variant_template(&sim).await;
    let before = rpc(
        &sim,
        "product.template",
        "read",
        json!([[tmpl]]),
        json!({"fields": ["list_price", "write_date"]}),
    )
    .await;
    let old_price = before[0]["list_price"].as_f64().unwrap();
    rpc(
        &sim,
        "product.template",
        "write",
        json!([[tmpl], {"list_price": old_price + 11.0}]),
        json!({}),
    )
    .await;
    let got = rx.got();
    assert_eq!(got.len(), 2);
    let seen = got[0].readback.as_ref().unwrap();
    assert_eq!(got[0].body["list_price"], old_price + 11.0);
    assert_eq!(seen[0]["list_price"], old_price, "read during the POST");
    assert_eq!(seen[0]["write_date"], before[0]["write_date"]);
    let after = rpc(
        &sim,
        "product.template",
        "read",
        json!([[tmpl]]),
        json!({"fields": ["list_price", "write_date"]}),
    )
    .await;
    assert_eq!(after[0]["list_price"], old_price + 11.0);
    // The committed write_date is the one the POST announced (the call's start).
    let announced = got[0].body["write_date"].as_str().unwrap();
    assert_eq!(after[0]["write_date"].as_str().unwrap(), &announced[..19]);

    // A create: the reader finds nothing yet.
    rx.clear();
    let new_id = rpc(
        &sim,
        "product.template",
        "create",
        json!([{"name": "Timing Test Chair", "default_code": "TIME-002", "list_price": 45.0}]),
        json!({}),
    )
    .await;
    let got = rx.got();
    assert_eq!(got.len(), 26);
    assert!(got
        .iter()
        .all(|r| r.readback.as_ref().unwrap() == &json!([])));
    assert_eq!(
        rpc(
            &sim,
            "product.template",
            "read",
            json!([[new_id]]),
            json!({"fields": ["name"]})
        )
        .await[0]["name"],
        "Timing Test Chair"
    );
}

#[tokio::test]
async fn the_visibility_delay_keeps_the_change_hidden_after_the_posts() {
    let sim = common::generated(30, 7).await;
    let rx = Receiver::start(Mode::Ok).await;
    install_recorded_rules(&sim, &rx).await;
    sim.set_webhook_visibility_delay_ms(300);
    let (tmpl, _) = single_variant_template(&sim).await;
    // Write through a second task and read while it is still waiting: the POSTs are done, the
    // call has not answered, the change is not visible.
    let url = sim.url();
    let writer = tokio::spawn(async move {
        call(
            &url,
            "product.template",
            "write",
            json!([[tmpl], {"name": "Delayed"}]),
            json!({}),
        )
        .await
    });
    while rx.got().len() < 2 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let during = rpc(
        &sim,
        "product.template",
        "read",
        json!([[tmpl]]),
        json!({"fields": ["name"]}),
    )
    .await;
    let answered = writer.is_finished();
    let result = writer.await.unwrap();
    assert_eq!(result["result"], true);
    if !answered {
        assert_ne!(during[0]["name"], "Delayed");
    }
    let after = rpc(
        &sim,
        "product.template",
        "read",
        json!([[tmpl]]),
        json!({"fields": ["name"]}),
    )
    .await;
    assert_eq!(after[0]["name"], "Delayed");
    let knobs: Json = reqwest::get(format!("{}/__sim/webhooks", sim.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(knobs["webhook_visibility_delay_ms"], 300);
    assert_eq!(knobs["sent"], 2);
}

#[tokio::test]
async fn trigger_fields_limit_which_writes_fire() {
    let sim = common::generated(30, 7).await;
    let rx = Receiver::start(Mode::Ok).await;
    install(
        &sim,
        "product.template",
        "on_create_or_write",
        &rx.hook_url("product.template"),
        TEMPLATE_FIELDS,
        &["name", "list_price", "default_code", "active"],
    )
    .await;
    install(
        &sim,
        "product.product",
        "on_create_or_write",
        &rx.hook_url("product.product"),
        VARIANT_FIELDS,
        &["default_code", "barcode", "active"],
    )
    .await;
    let (tmpl, _) = single_variant_template(&sim).await;
    rpc(
        &sim,
        "product.template",
        "write",
        json!([[tmpl], {"description_sale": "not a trigger field"}]),
        json!({}),
    )
    .await;
    assert_eq!(rx.got().len(), 0, "a non-watched field is not notified");
    rpc(
        &sim,
        "product.template",
        "write",
        json!([[tmpl], {"list_price": 16.0}]),
        json!({}),
    )
    .await;
    let got = rx.got();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].path, "/odoo/webhook/product.template");
    rx.clear();
    rpc(
        &sim,
        "product.template",
        "create",
        json!([{"name": "Trigger Fields Lamp", "default_code": "TRIG-001", "list_price": 15.0}]),
        json!({}),
    )
    .await;
    let got = rx.got();
    let recorded = fixture("trigger_fields_template_create.json");
    let paths: Vec<&str> = got.iter().map(|r| r.path.as_str()).collect();
    let want: Vec<&str> = recorded["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, want);
    assert_eq!(got[0].body["default_code"], false, "an intermediate state");
    assert_eq!(got[4].body["default_code"], "TRIG-001");
}

#[tokio::test]
async fn a_create_without_trigger_fields_is_noisy_like_odoo() {
    let sim = common::generated(30, 7).await;
    let rx = Receiver::start(Mode::Ok).await;
    install_recorded_rules(&sim, &rx).await;
    rpc(
        &sim,
        "product.template",
        "create",
        json!([{"name": "Webhook Test Lamp", "default_code": "WH-001", "list_price": 49.0}]),
        json!({}),
    )
    .await;
    let got = rx.got();
    let recorded = fixture("template_create.json");
    let want = recorded["requests"].as_array().unwrap();
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(want) {
        assert_eq!(g.path, w["path"].as_str().unwrap());
        assert_eq!(
            g.body["default_code"],
            w["body"]["default_code"]
                .as_bool()
                .map_or(json!("WH-001"), |_| json!(false))
        );
        assert_same_shape(&w["body"], &g.body);
    }
}

#[tokio::test]
async fn an_unlink_rule_posts_the_last_values_and_the_record_goes_after() {
    let sim = common::generated(30, 7).await;
    let rx = Receiver::start(Mode::Readback(sim.url(), vec!["name"])).await;
    install_recorded_rules(&sim, &rx).await;
    let (tmpl, variant) = single_variant_template(&sim).await;
    let last = rpc(
        &sim,
        "product.template",
        "read",
        json!([[tmpl]]),
        json!({"fields": ["name", "list_price"]}),
    )
    .await;
    rpc(
        &sim,
        "product.template",
        "unlink",
        json!([[tmpl]]),
        json!({}),
    )
    .await;
    let got = rx.got();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].path, "/odoo/webhook/product.template/unlink");
    assert_eq!(got[0].body["name"], last[0]["name"]);
    assert_eq!(got[0].body["list_price"], last[0]["list_price"]);
    assert_same_shape(
        &fixture("template_unlink.json")["requests"][0]["body"],
        &got[0].body,
    );
    assert_eq!(
        got[0].readback.as_ref().unwrap()[0]["id"],
        tmpl,
        "still there during the POST"
    );
    assert_eq!(
        rpc(
            &sim,
            "product.template",
            "read",
            json!([[tmpl]]),
            json!({"fields": ["name"]})
        )
        .await,
        json!([])
    );
    assert_eq!(
        rpc(
            &sim,
            "product.product",
            "read",
            json!([[variant]]),
            json!({"fields": ["name"]})
        )
        .await,
        json!([])
    );
    let again = call(
        &sim.url(),
        "product.template",
        "unlink",
        json!([[tmpl]]),
        json!({}),
    )
    .await;
    assert_eq!(
        again["error"]["data"]["name"],
        "odoo.exceptions.MissingError"
    );
}

#[tokio::test]
async fn archiving_posts_the_variant_then_the_template_and_unarchiving_three() {
    let sim = common::generated(30, 7).await;
    let rx = Receiver::start(Mode::Ok).await;
    install_recorded_rules(&sim, &rx).await;
    let (tmpl, _) = single_variant_template(&sim).await;
    rpc(
        &sim,
        "product.template",
        "write",
        json!([[tmpl], {"active": false}]),
        json!({}),
    )
    .await;
    let paths: Vec<String> = rx.got().iter().map(|r| r.path.clone()).collect();
    assert_eq!(
        paths,
        [
            "/odoo/webhook/product.product",
            "/odoo/webhook/product.template"
        ]
    );
    assert!(rx.got().iter().all(|r| r.body["active"] == false));
    rx.clear();
    rpc(
        &sim,
        "product.template",
        "write",
        json!([[tmpl], {"active": true}]),
        json!({}),
    )
    .await;
    let got = rx.got();
    let actives: Vec<(&str, &Json)> = got
        .iter()
        .map(|r| (r.body["_model"].as_str().unwrap(), &r.body["active"]))
        .collect();
    assert_eq!(
        actives,
        [
            ("product.product", &json!(false)),
            ("product.product", &json!(true)),
            ("product.template", &json!(true))
        ]
    );
}

#[tokio::test]
async fn a_drop_rate_of_one_sends_nothing_and_counts_the_drops() {
    let sim = common::generated(30, 7).await;
    let rx = Receiver::start(Mode::Ok).await;
    install_recorded_rules(&sim, &rx).await;
    let set: Json = reqwest::Client::new()
        .post(format!("{}/__sim/webhooks", sim.url()))
        .json(&json!({"drop_webhooks": 1.0}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(set["drop_webhooks"], 1.0);
    let (tmpl, _) = single_variant_template(&sim).await;
    rpc(
        &sim,
        "product.template",
        "write",
        json!([[tmpl], {"list_price": 3.0}]),
        json!({}),
    )
    .await;
    assert_eq!(rx.got().len(), 0);
    let stats: Json = reqwest::get(format!("{}/__sim/stats", sim.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        stats["webhooks"],
        json!({"sent": 0, "failed": 0, "dropped": 2})
    );
    let price = rpc(
        &sim,
        "product.template",
        "read",
        json!([[tmpl]]),
        json!({"fields": ["list_price"]}),
    )
    .await;
    assert_eq!(price[0]["list_price"], 3.0, "the write itself commits");
}

#[tokio::test]
async fn a_receiver_that_is_down_failing_or_slow_does_not_fail_the_write() {
    let sim = common::generated(30, 7).await;
    // A port nobody listens on.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let down = format!(
        "http://{}/odoo/webhook/product.template?token=secret123",
        closed.local_addr().unwrap()
    );
    drop(closed);
    install(
        &sim,
        "product.template",
        "on_create_or_write",
        &down,
        TEMPLATE_FIELDS,
        &[],
    )
    .await;
    let (tmpl, _) = single_variant_template(&sim).await;
    rpc(
        &sim,
        "product.template",
        "write",
        json!([[tmpl], {"list_price": 23.0}]),
        json!({}),
    )
    .await;
    assert_eq!(sim.webhook_counts().failed, 1);

    let failing = Receiver::start(Mode::Status(500)).await;
    install(
        &sim,
        "product.product",
        "on_create_or_write",
        &failing.hook_url("product.product"),
        VARIANT_FIELDS,
        &[],
    )
    .await;
    rpc(
        &sim,
        "product.template",
        "write",
        json!([[tmpl], {"list_price": 24.0}]),
        json!({}),
    )
    .await;
    assert_eq!(failing.got().len(), 1, "no retry");
    assert_eq!(sim.webhook_counts().failed, 3);

    *failing.mode.lock().unwrap() = Mode::Sleep(Duration::from_millis(1500));
    rpc(
        &sim,
        "product.template",
        "write",
        json!([[tmpl], {"list_price": 25.0}]),
        json!({}),
    )
    .await;
    assert_eq!(sim.webhook_counts().failed, 5, "the slow POST timed out");
    let price = rpc(
        &sim,
        "product.template",
        "read",
        json!([[tmpl]]),
        json!({"fields": ["list_price"]}),
    )
    .await;
    assert_eq!(price[0]["list_price"], 25.0);
    assert_eq!(sim.webhook_counts().sent, 0);
}

#[tokio::test]
async fn a_phantom_write_posts_its_values_but_never_applies() {
    let sim = common::generated(30, 7).await;
    let rx = Receiver::start(Mode::Ok).await;
    install_recorded_rules(&sim, &rx).await;
    let (tmpl, _) = single_variant_template(&sim).await;
    let before = rpc(
        &sim,
        "product.template",
        "read",
        json!([[tmpl]]),
        json!({"fields": ["list_price", "write_date"]}),
    )
    .await;
    let answer: Json = reqwest::Client::new()
        .post(format!("{}/__sim/phantom", sim.url()))
        .json(&json!({"model": "product.template", "id": tmpl, "values": {"list_price": 666.0}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["posts"], 2);
    let got = rx.got();
    assert_eq!(got[0].body["list_price"], 666.0);
    assert_ne!(
        &got[0].body["write_date"].as_str().unwrap()[..19],
        before[0]["write_date"].as_str().unwrap()
    );
    let after = rpc(
        &sim,
        "product.template",
        "read",
        json!([[tmpl]]),
        json!({"fields": ["list_price", "write_date"]}),
    )
    .await;
    assert_eq!(after, before);
}

#[tokio::test]
async fn writes_without_rules_and_on_unwatched_models_post_nothing() {
    let sim = common::generated(30, 7).await;
    let rx = Receiver::start(Mode::Ok).await;
    install_recorded_rules(&sim, &rx).await;
    let ptav = rpc(
        &sim,
        "product.template.attribute.value",
        "search",
        json!([[]]),
        json!({"limit": 1}),
    )
    .await;
    rpc(
        &sim,
        "product.template.attribute.value",
        "write",
        json!([ptav, {"price_extra": 60.0}]),
        json!({}),
    )
    .await;
    assert_eq!(rx.got().len(), 0);
    // Deactivating the rules stops them.
    let rules = rpc(&sim, "base.automation", "search", json!([[]]), json!({})).await;
    rpc(
        &sim,
        "base.automation",
        "write",
        json!([rules, {"active": false}]),
        json!({}),
    )
    .await;
    let (tmpl, _) = single_variant_template(&sim).await;
    rpc(
        &sim,
        "product.template",
        "write",
        json!([[tmpl], {"list_price": 1.5}]),
        json!({}),
    )
    .await;
    assert_eq!(rx.got().len(), 0);
}

#[tokio::test]
async fn on_odoo_19_a_reader_during_the_post_already_sees_the_committed_change() {
    let sim = common::generated_as(19, 30, 7).await;
    let rx = Receiver::start(Mode::Readback(sim.url(), vec!["list_price", "write_date"])).await;
    install_recorded_rules(&sim, &rx).await;
    let (tmpl, _) = single_variant_template(&sim).await;
    let before = rpc(
        &sim,
        "product.template",
        "read",
        json!([[tmpl]]),
        json!({"fields": ["list_price"]}),
    )
    .await;
    let new_price = before[0]["list_price"].as_f64().unwrap() + 11.0;
    rpc(
        &sim,
        "product.template",
        "write",
        json!([[tmpl], {"list_price": new_price}]),
        json!({}),
    )
    .await;
    let got = rx.got();
    assert_eq!(got.len(), 2);
    let seen = got[0].readback.as_ref().unwrap();
    assert_eq!(seen[0]["list_price"], new_price, "read during the POST");

    rx.clear();
    rpc(
        &sim,
        "product.template",
        "create",
        json!([{"name": "Timing Test Chair", "default_code": "TIME-002", "list_price": 45.0}]),
        json!({}),
    )
    .await;
    let got = rx.got();
    assert_eq!(got.len(), 24, "Odoo 19 sends 24 POSTs for one template");
    assert!(got
        .iter()
        .all(|r| r.readback.as_ref().unwrap().as_array().unwrap().len() == 1));

    rx.clear();
    rpc(
        &sim,
        "product.template",
        "unlink",
        json!([[tmpl]]),
        json!({}),
    )
    .await;
    let got = rx.got();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].readback, Some(json!([])), "already deleted");
}

#[tokio::test]
async fn on_odoo_19_a_change_that_rolls_back_posts_nothing() {
    let sim = common::generated_as(19, 30, 7).await;
    let rx = Receiver::start(Mode::Ok).await;
    install_recorded_rules(&sim, &rx).await;
    let (tmpl, _) = single_variant_template(&sim).await;
    let answer: Json = reqwest::Client::new()
        .post(format!("{}/__sim/phantom", sim.url()))
        .json(&json!({"model": "product.template", "id": tmpl, "values": {"list_price": 666.0}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["posts"], 0);
    let failed = call(
        &sim.url(),
        "product.template",
        "write",
        json!([[tmpl], {"type": "product"}]),
        json!({}),
    )
    .await;
    assert!(failed.get("error").is_some(), "{failed}");
    assert!(rx.got().is_empty(), "{:?}", rx.got());
    assert_eq!(sim.webhook_counts().sent, 0);
}

#[tokio::test]
async fn on_odoo_19_the_payload_and_its_preview_keep_the_name_given_to_the_action() {
    let sim = common::generated_as(19, 30, 7).await;
    let rx = Receiver::start(Mode::Ok).await;
    let (_, action) = install(
        &sim,
        "product.template",
        "on_create_or_write",
        &rx.hook_url("product.template"),
        TEMPLATE_FIELDS,
        &[],
    )
    .await;
    let (tmpl, _) = single_variant_template(&sim).await;
    rpc(
        &sim,
        "product.template",
        "write",
        json!([[tmpl], {"list_price": 12.5}]),
        json!({}),
    )
    .await;
    let got = rx.got();
    assert_eq!(got[0].body["_action"], format!("Notify(#{action})"));
    let read = rpc(
        &sim,
        "ir.actions.server",
        "read",
        json!([[action]]),
        json!({"fields": ["name", "webhook_sample_payload"]}),
    )
    .await;
    assert_eq!(read[0]["name"], "Notify");
    let sample: Json =
        serde_json::from_str(read[0]["webhook_sample_payload"].as_str().unwrap()).unwrap();
    assert_eq!(sample["_action"], format!("Notify(#{action})"));
    assert!(
        sample.get("_id").is_some() && sample.get("_name").is_none(),
        "{sample}"
    );
}
