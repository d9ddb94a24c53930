//! `OdooClient` over `JsonRpcTransport` against a scripted fake Odoo on 127.0.0.1:0: the requests
//! it sends (compared with the recorded Odoo 18 ones), retries, timeouts, unreadable answers,
//! authentication, the concurrency limit, and that the password never shows in errors.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use odoo_rpc::{
    ClientConfig, Context, Domain, FaultKind, LazyOdooClient, OdooApi, OdooClient, OdooError,
    Protocol, SearchOptions,
};
use secrecy::SecretString;
use serde_json::{json, Map, Value};

/// One scripted answer of the fake Odoo.
#[derive(Clone)]
enum Reply {
    Json(Value),
    Text(u16, &'static str, String),
    SleepThenJson(Duration, Value),
}

#[derive(Default)]
struct Script {
    replies: Mutex<VecDeque<Reply>>,
    received: Mutex<Vec<Value>>,
    calls: AtomicUsize,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

struct FakeOdoo {
    url: String,
    script: Arc<Script>,
}

impl FakeOdoo {
    async fn start(replies: Vec<Reply>) -> FakeOdoo {
        let script = Arc::new(Script::default());
        script.replies.lock().expect("lock").extend(replies);
        let app = Router::new()
            .route("/jsonrpc", post(answer))
            .with_state(script.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        FakeOdoo { url, script }
    }

    fn calls(&self) -> usize {
        self.script.calls.load(Ordering::SeqCst)
    }

    fn received(&self) -> Vec<Value> {
        self.script.received.lock().expect("lock").clone()
    }
}

async fn answer(State(script): State<Arc<Script>>, body: Bytes) -> Response {
    script.calls.fetch_add(1, Ordering::SeqCst);
    let in_flight = script.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    script.max_in_flight.fetch_max(in_flight, Ordering::SeqCst);
    let request = serde_json::from_slice(&body).unwrap_or(Value::Null);
    script.received.lock().expect("lock").push(request);
    let reply = script.replies.lock().expect("lock").pop_front();
    let response = match reply {
        Some(Reply::Json(body)) => axum::Json(body).into_response(),
        Some(Reply::Text(status, content_type, body)) => {
            let status = StatusCode::from_u16(status).expect("status");
            (status, [(header::CONTENT_TYPE, content_type)], body).into_response()
        }
        Some(Reply::SleepThenJson(delay, body)) => {
            tokio::time::sleep(delay).await;
            axum::Json(body).into_response()
        }
        None => (StatusCode::IM_A_TEAPOT, "script exhausted").into_response(),
    };
    script.in_flight.fetch_sub(1, Ordering::SeqCst);
    response
}

const SECRET: &str = "Sup3r-S3cret-pw";

fn config(url: &str, password: &str) -> ClientConfig {
    let mut config = ClientConfig::new(url, "demo18", "admin", SecretString::from(password));
    config.retry_base = Duration::from_millis(1);
    // This file tests the JSON-RPC transport; `tests/json2.rs` tests `Auto` detection.
    config.protocol = Protocol::JsonRpc;
    config
}

fn authenticated(uid: i64) -> Reply {
    Reply::Json(json!({"jsonrpc": "2.0", "id": 1, "result": uid}))
}

fn result(value: Value) -> Reply {
    Reply::Json(json!({"jsonrpc": "2.0", "id": 2, "result": value}))
}

fn html(status: u16, body: &str) -> Reply {
    Reply::Text(status, "text/html; charset=utf-8", body.to_owned())
}

fn fixture(relative: &str) -> Value {
    let path: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/odoo18-fixtures")
        .join(relative);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{relative}: {e}"));
    serde_json::from_str(&text).expect("fixture is JSON")
}

fn recorded_answer(relative: &str) -> Reply {
    Reply::Json(fixture(relative)["response"]["body"].clone())
}

/// The recorded `kwargs[key]` of a fixture's execute_kw call, as strings (a field list).
fn recorded_strings(relative: &str, key: &str) -> Vec<String> {
    let kwargs = &fixture(relative)["request"]["body"]["params"]["args"][6];
    let values = kwargs[key].as_array().expect("a list");
    values
        .iter()
        .map(|value| value.as_str().expect("a string").to_owned())
        .collect()
}

/// A client logged in as the fixtures' admin, whose next answer is `relative`'s recorded one.
async fn replaying(relative: &str) -> (OdooClient, FakeOdoo) {
    let replies = vec![
        recorded_answer("jsonrpc/common_authenticate_ok.json"),
        recorded_answer(relative),
    ];
    let odoo = FakeOdoo::start(replies).await;
    let client = OdooClient::connect(config(&odoo.url, "admin"))
        .await
        .expect("connects");
    (client, odoo)
}

/// What the client sent is what the recorded client sent, apart from the request id.
fn assert_sent_as_recorded(odoo: &FakeOdoo, relative: &str) {
    let received = odoo.received();
    let recorded_login = fixture("jsonrpc/common_authenticate_ok.json")["request"]["body"].clone();
    let recorded_call = fixture(relative)["request"]["body"].clone();
    assert_eq!(received.len(), 2, "{relative}");
    for (ours, recorded) in received.iter().zip([recorded_login, recorded_call]) {
        assert_eq!(ours["jsonrpc"], recorded["jsonrpc"], "{relative}");
        assert_eq!(ours["method"], recorded["method"], "{relative}");
        assert_eq!(ours["params"], recorded["params"], "{relative}");
    }
    let ids: Vec<_> = received.iter().map(|r| r["id"].as_u64()).collect();
    assert_eq!(ids, [Some(1), Some(2)], "request ids increase");
}

fn strs(values: &[String]) -> Vec<&str> {
    values.iter().map(String::as_str).collect()
}

#[tokio::test]
async fn search_read_sends_the_recorded_request_and_decodes_records() {
    let page = "jsonrpc/product_template_search_read_page.json";
    let (client, odoo) = replaying(page).await;
    let fields = recorded_strings(page, "fields");
    let opts = SearchOptions::default().limit(8).offset(4).order("id");
    let records = client
        .search_read("product.template", &Domain::all(), &strs(&fields), &opts)
        .await
        .expect("records");
    assert_sent_as_recorded(&odoo, page);
    assert_eq!(records.len(), 8);
    assert_eq!(records[0].id(), Ok(5));
    assert_eq!(records[0].get_str("barcode"), Ok(None));
    assert_eq!(
        records[0]
            .get_many2one("categ_id")
            .expect("m2o")
            .map(|c| c.id),
        Some(8)
    );

    let archived = "jsonrpc/product_template_search_read_active_test_false.json";
    let (client, odoo) = replaying(archived).await;
    let fields = recorded_strings(archived, "fields");
    let opts = SearchOptions::default()
        .order("id")
        .context(Context::default().active_test(false));
    let domain = Domain::leaf("id", "in", vec![31, 32, 33]);
    client
        .search_read("product.template", &domain, &strs(&fields), &opts)
        .await
        .expect("records");
    assert_sent_as_recorded(&odoo, archived);

    let french = "jsonrpc/product_template_search_read_lang_fr.json";
    let (client, odoo) = replaying(french).await;
    let fields = recorded_strings(french, "fields");
    let opts = SearchOptions::default()
        .order("id")
        .context(Context::default().lang("fr_FR"));
    let domain = Domain::leaf("id", "in", vec![5, 6, 9]);
    client
        .search_read("product.template", &domain, &strs(&fields), &opts)
        .await
        .expect("records");
    assert_sent_as_recorded(&odoo, french);
}

#[tokio::test]
async fn read_search_and_search_count_send_the_recorded_requests() {
    let read = "jsonrpc/product_template_read_ids.json";
    let (client, odoo) = replaying(read).await;
    let fields = recorded_strings(read, "fields");
    let records = client
        .read(
            "product.template",
            &[16, 5, 9],
            &strs(&fields),
            &Context::default(),
        )
        .await
        .expect("records");
    assert_sent_as_recorded(&odoo, read);
    assert_eq!(records.len(), 3);

    let search = "jsonrpc/product_template_search_ids.json";
    let (client, odoo) = replaying(search).await;
    let opts = SearchOptions::default().order("id");
    let ids = client
        .search("product.template", &Domain::all(), &opts)
        .await
        .expect("ids");
    assert_sent_as_recorded(&odoo, search);
    assert!(ids.contains(&5));

    let count = "jsonrpc/product_template_search_count.json";
    let (client, odoo) = replaying(count).await;
    let total = client
        .search_count("product.template", &Domain::all(), &Context::default())
        .await
        .expect("count");
    assert_sent_as_recorded(&odoo, count);
    assert_eq!(
        Value::from(total),
        fixture(count)["response"]["body"]["result"]
    );

    let archived = "jsonrpc/product_template_search_count_active_test_false.json";
    let (client, odoo) = replaying(archived).await;
    let context = Context::default().active_test(false);
    client
        .search_count("product.template", &Domain::all(), &context)
        .await
        .expect("count");
    assert_sent_as_recorded(&odoo, archived);
}

#[tokio::test]
async fn fields_get_version_and_execute_kw_send_the_recorded_requests() {
    let fields_get = "jsonrpc/product_template_fields_get.json";
    let (client, odoo) = replaying(fields_get).await;
    let attributes = recorded_strings(fields_get, "attributes");
    let fields = client
        .fields_get("product.template", &strs(&attributes))
        .await
        .expect("fields");
    assert_sent_as_recorded(&odoo, fields_get);
    assert_eq!(fields["list_price"]["type"], "float");

    let version = "jsonrpc/common_version.json";
    let (client, odoo) = replaying(version).await;
    let server = client.version().await.expect("version");
    assert_sent_as_recorded(&odoo, version);
    assert_eq!(server.major(), Some(18));

    let apply = "jsonrpc/stock_quant_action_apply_inventory.json";
    let (client, odoo) = replaying(apply).await;
    let outcome = client
        .execute_kw(
            "stock.quant",
            "action_apply_inventory",
            vec![json!([14])],
            Map::new(),
        )
        .await
        .expect("applied");
    assert_sent_as_recorded(&odoo, apply);
    assert_eq!(outcome, Value::Null);
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

#[tokio::test]
async fn create_write_and_unlink_send_the_recorded_requests() {
    let create = "jsonrpc/product_template_create_multi.json";
    let (client, odoo) = replaying(create).await;
    let recorded_rows = fixture(create)["request"]["body"]["params"]["args"][5][0].clone();
    let rows = recorded_rows
        .as_array()
        .expect("rows")
        .iter()
        .cloned()
        .map(object)
        .collect();
    let ids = client
        .create("product.template", rows, &Context::default())
        .await
        .expect("ids");
    assert_sent_as_recorded(&odoo, create);
    assert_eq!(
        Value::from(ids),
        fixture(create)["response"]["body"]["result"]
    );

    let write = "jsonrpc/product_template_write_list_price.json";
    let (client, odoo) = replaying(write).await;
    let values = object(json!({"list_price": 330.0}));
    client
        .write("product.template", &[11], values, &Context::default())
        .await
        .expect("written");
    assert_sent_as_recorded(&odoo, write);

    let translation = "jsonrpc/product_template_write_fr_translation.json";
    let (client, odoo) = replaying(translation).await;
    let values = object(json!({"name": "Lampe de bureau LED"}));
    let french = Context::default().lang("fr_FR");
    client
        .write("product.template", &[6], values, &french)
        .await
        .expect("written");
    assert_sent_as_recorded(&odoo, translation);

    let unlink = "jsonrpc/product_template_unlink.json";
    let (client, odoo) = replaying(unlink).await;
    client
        .unlink("product.template", &[41], &Context::default())
        .await
        .expect("deleted");
    assert_sent_as_recorded(&odoo, unlink);
}

#[tokio::test]
async fn a_502_then_a_503_are_retried_until_the_answer_comes() {
    let odoo = FakeOdoo::start(vec![
        authenticated(2),
        html(502, "<html><body><h1>502 Bad Gateway</h1></body></html>"),
        html(
            503,
            "<html><body><h1>503 Service Unavailable</h1></body></html>",
        ),
        result(json!(7)),
    ])
    .await;
    let client = OdooClient::connect(config(&odoo.url, SECRET))
        .await
        .expect("connects");
    let count = client
        .search_count("product.template", &Domain::all(), &Context::default())
        .await
        .expect("answer after retries");
    assert_eq!(count, 7);
    assert_eq!(odoo.calls(), 4);
}

#[tokio::test]
async fn a_create_answered_502_is_not_sent_again_and_its_outcome_is_unknown() {
    let odoo = FakeOdoo::start(vec![
        authenticated(2),
        html(502, "<html><body><h1>502 Bad Gateway</h1></body></html>"),
        result(json!([41])),
    ])
    .await;
    let client = OdooClient::connect(config(&odoo.url, SECRET))
        .await
        .expect("connects");
    let vals = json!({"name": "Desk"});
    let error = client
        .create(
            "product.template",
            vec![vals.as_object().unwrap().clone()],
            &Context::default(),
        )
        .await
        .expect_err("the proxy's 502");
    assert!(matches!(error, OdooError::OutcomeUnknown { .. }), "{error}");
    let message = error.to_string();
    assert!(message.contains("product.template.create may or may not have been applied"));
    assert!(message.contains("HTTP 502"), "{message}");
    assert_eq!(
        odoo.calls(),
        2,
        "login and one create, never a second create"
    );
}

#[tokio::test]
async fn retries_stop_after_max_retries() {
    let unavailable = html(503, "<h1>503 Service Unavailable</h1>");
    let odoo = FakeOdoo::start(vec![
        authenticated(2),
        unavailable.clone(),
        unavailable.clone(),
        unavailable,
    ])
    .await;
    let mut config = config(&odoo.url, SECRET);
    config.max_retries = 2;
    let client = OdooClient::connect(config).await.expect("connects");
    let error = client
        .search_count("product.template", &Domain::all(), &Context::default())
        .await
        .expect_err("still unavailable");
    assert!(
        matches!(error, OdooError::Http { status: 503, .. }),
        "{error}"
    );
    assert_eq!(odoo.calls(), 1 + 3);
}

#[tokio::test]
async fn an_access_denied_fault_is_not_retried() {
    let odoo = FakeOdoo::start(vec![
        authenticated(2),
        recorded_answer("errors/execute_kw_wrong_password.json"),
    ])
    .await;
    let client = OdooClient::connect(config(&odoo.url, SECRET))
        .await
        .expect("connects");
    let error = client
        .search_count("product.template", &Domain::all(), &Context::default())
        .await
        .expect_err("denied");
    assert_eq!(
        error.fault().map(|fault| fault.kind),
        Some(FaultKind::AccessDenied)
    );
    assert_eq!(odoo.calls(), 2);
}

#[tokio::test]
async fn a_slow_answer_is_a_timeout_error_naming_the_url() {
    let slow = Reply::SleepThenJson(Duration::from_secs(3), json!({"result": 1}));
    let odoo = FakeOdoo::start(vec![authenticated(2), slow.clone(), slow]).await;
    let mut config = config(&odoo.url, SECRET);
    config.timeout = Duration::from_millis(200);
    config.max_retries = 1;
    let client = OdooClient::connect(config).await.expect("connects");
    let error = client
        .search_count("product.template", &Domain::all(), &Context::default())
        .await
        .expect_err("too slow");
    let OdooError::Timeout { url, after } = &error else {
        panic!("expected a timeout, got {error}");
    };
    assert_eq!(url, &format!("{}/jsonrpc", odoo.url));
    assert_eq!(*after, Duration::from_millis(200));
    assert_eq!(odoo.calls(), 3, "a timeout is retried");
}

#[tokio::test]
async fn a_404_page_on_jsonrpc_says_the_server_does_not_speak_it() {
    let page = fixture("errors/wrong_path.json")["response"]["body"].clone();
    let odoo = FakeOdoo::start(vec![
        authenticated(2),
        html(404, page.as_str().expect("text")),
    ])
    .await;
    let client = OdooClient::connect(config(&odoo.url, SECRET))
        .await
        .expect("connects");
    let error = client
        .search(
            "product.template",
            &Domain::all(),
            &SearchOptions::default(),
        )
        .await
        .expect_err("not found");
    assert!(matches!(error, OdooError::ApiAbsent { .. }), "{error}");
    let text = error.to_string();
    assert!(
        text.contains("does not speak JSON-RPC: POST /jsonrpc (object.execute_kw) answered")
            && text.contains("HTTP 404: 404 Not Found Not Found The requested URL"),
        "{text}"
    );
    assert_eq!(odoo.calls(), 2, "a 404 is not retried");
}

#[tokio::test]
async fn truncated_json_is_an_invalid_response() {
    let truncated = r#"{"jsonrpc": "2.0", "id": 2, "result": [{"id": 5, "na"#;
    let reply = Reply::Text(200, "application/json", truncated.to_owned());
    let odoo = FakeOdoo::start(vec![authenticated(2), reply]).await;
    let client = OdooClient::connect(config(&odoo.url, SECRET))
        .await
        .expect("connects");
    let error = client
        .search_read(
            "product.template",
            &Domain::all(),
            &["id"],
            &SearchOptions::default(),
        )
        .await
        .expect_err("truncated");
    assert!(
        matches!(error, OdooError::InvalidResponse { status: 200, .. }),
        "{error}"
    );
    assert!(error.to_string().contains(r#""id": 5, "na"#), "{error}");
}

#[tokio::test]
async fn a_result_of_the_wrong_type_is_a_decode_error() {
    let odoo = FakeOdoo::start(vec![authenticated(2), result(json!("abc"))]).await;
    let client = OdooClient::connect(config(&odoo.url, SECRET))
        .await
        .expect("connects");
    let error = client
        .search(
            "product.template",
            &Domain::all(),
            &SearchOptions::default(),
        )
        .await
        .expect_err("not ids");
    assert!(matches!(error, OdooError::Decode(_)), "{error}");
    assert_eq!(
        error.to_string(),
        r#"result of product.template.search: expected a list of ids, got "abc""#
    );
}

#[tokio::test]
async fn authenticate_false_names_the_login_and_the_database() {
    let odoo = FakeOdoo::start(vec![recorded_answer(
        "jsonrpc/common_authenticate_wrong_password.json",
    )])
    .await;
    let error = OdooClient::connect(config(&odoo.url, SECRET))
        .await
        .expect_err("refused");
    assert!(
        matches!(error, OdooError::AuthenticationFailed { .. }),
        "{error}"
    );
    let text = error.to_string();
    assert!(
        text.contains("'admin'") && text.contains("'demo18'"),
        "{text}"
    );
    let sent = &odoo.received()[0]["params"]["args"];
    assert_eq!(sent, &json!(["demo18", "admin", SECRET, {}]));
}

#[tokio::test]
async fn no_more_requests_than_max_concurrency_are_in_flight() {
    let slow = Reply::SleepThenJson(Duration::from_millis(100), json!({"result": 1}));
    let mut replies = vec![authenticated(2)];
    replies.extend(std::iter::repeat_n(slow, 6));
    let odoo = FakeOdoo::start(replies).await;
    let mut config = config(&odoo.url, SECRET);
    config.max_concurrency = 2;
    let client = OdooClient::connect(config).await.expect("connects");
    let calls = (0..6).map(|_| {
        let client = client.clone();
        tokio::spawn(async move {
            client
                .search_count("product.template", &Domain::all(), &Context::default())
                .await
        })
    });
    for call in calls.collect::<Vec<_>>() {
        assert_eq!(call.await.expect("joined").expect("count"), 1);
    }
    assert_eq!(odoo.script.max_in_flight.load(Ordering::SeqCst), 2);
}

/// Every way a call can fail, with a distinctive password.
async fn every_kind_of_error() -> Vec<OdooError> {
    let mut errors = Vec::new();
    let refused = FakeOdoo::start(vec![recorded_answer(
        "jsonrpc/common_authenticate_wrong_password.json",
    )])
    .await;
    errors.extend(
        OdooClient::connect(config(&refused.url, SECRET))
            .await
            .err(),
    );

    let failing = [
        recorded_answer("errors/execute_kw_wrong_password.json"),
        recorded_answer("errors/search_read_unknown_field_in_fields.json"),
        html(502, "<h1>502 Bad Gateway</h1>"),
        Reply::Text(200, "application/json", "{\"resu".to_owned()),
        result(json!("abc")),
        Reply::SleepThenJson(Duration::from_secs(2), json!({"result": 1})),
    ];
    for reply in failing {
        let odoo = FakeOdoo::start(vec![authenticated(2), reply]).await;
        let mut config = config(&odoo.url, SECRET);
        config.max_retries = 0;
        config.timeout = Duration::from_millis(200);
        let client = OdooClient::connect(config).await.expect("connects");
        let search = client
            .search(
                "product.template",
                &Domain::all(),
                &SearchOptions::default(),
            )
            .await;
        errors.extend(search.err());
    }

    let closed_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address")
    };
    let mut config = config(&format!("http://{closed_port}"), SECRET);
    config.max_retries = 0;
    errors.extend(OdooClient::connect(config).await.err());
    errors
}

#[tokio::test]
async fn the_password_appears_in_no_error_nor_debug_output() {
    let errors = every_kind_of_error().await;
    assert_eq!(errors.len(), 8, "{errors:?}");
    for error in &errors {
        let shown = format!("{error} / {error:?}");
        assert!(!shown.contains(SECRET), "password leaked: {shown}");
    }
    assert!(errors
        .iter()
        .any(|e| matches!(e, OdooError::Transport { .. })));
    assert!(errors
        .iter()
        .any(|e| matches!(e, OdooError::Timeout { .. })));

    let config = config("http://odoo:8069", SECRET);
    assert!(!format!("{config:?}").contains(SECRET));
    let odoo = FakeOdoo::start(vec![authenticated(2)]).await;
    let client = OdooClient::connect(config_for(&odoo))
        .await
        .expect("connects");
    let shown = format!("{client:?} {}", client.describe());
    assert!(!shown.contains(SECRET), "{shown}");
    assert_eq!(
        client.describe(),
        format!("JSON-RPC at {} (db demo18, uid 2)", odoo.url)
    );
}

fn config_for(odoo: &FakeOdoo) -> ClientConfig {
    config(&odoo.url, SECRET)
}

#[tokio::test]
async fn a_refused_connection_names_the_url() {
    let closed_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address")
    };
    // Auto detection asks common.version over /jsonrpc first; JSON-RPC starts with its login.
    for protocol in [Protocol::Auto, Protocol::JsonRpc] {
        let path = "jsonrpc";
        let mut config = config(&format!("http://{closed_port}"), SECRET);
        config.max_retries = 0;
        config.protocol = protocol;
        let error = OdooClient::connect(config).await.expect_err("refused");
        assert!(matches!(error, OdooError::Transport { .. }), "{error}");
        assert!(error.is_retryable());
        let text = error.to_string();
        assert!(
            text.contains(&format!("cannot reach Odoo at http://{closed_port}/{path}")),
            "{text}"
        );
    }
}

fn resuming(url: &str, uid: i64) -> ClientConfig {
    let mut config = config(url, "admin");
    config.resume_uid = Some(uid);
    config
}

#[tokio::test]
async fn a_resumed_uid_costs_no_login_and_is_sent_with_the_calls() {
    let odoo = FakeOdoo::start(vec![recorded_answer(
        "jsonrpc/product_template_search_count.json",
    )])
    .await;
    let client = OdooClient::connect(resuming(&odoo.url, 2))
        .await
        .expect("connects without a call");
    assert_eq!(odoo.calls(), 0);
    assert_eq!(client.resumable_uid(), None, "not confirmed before a call");
    client
        .search_count("product.template", &Domain::all(), &Context::default())
        .await
        .expect("counts");
    let sent = &odoo.received()[0]["params"];
    assert_eq!(sent["method"], "execute_kw");
    assert_eq!(sent["args"][1], 2);
    assert_eq!(client.resumable_uid(), Some(2));
}

#[tokio::test]
async fn a_stale_resumed_uid_is_replaced_by_a_login_and_the_call_retried() {
    for refusal in [
        "errors/execute_kw_unknown_uid.json",
        "errors/execute_kw_wrong_password.json",
    ] {
        let odoo = FakeOdoo::start(vec![
            recorded_answer(refusal),
            authenticated(2),
            recorded_answer("jsonrpc/product_template_search_count.json"),
        ])
        .await;
        let client = OdooClient::connect(resuming(&odoo.url, 9999))
            .await
            .expect("connects");
        client
            .search_count("product.template", &Domain::all(), &Context::default())
            .await
            .unwrap_or_else(|e| panic!("{refusal}: {e}"));
        let methods: Vec<Value> = odoo
            .received()
            .iter()
            .map(|request| request["params"]["method"].clone())
            .collect();
        assert_eq!(
            methods,
            [
                json!("execute_kw"),
                json!("authenticate"),
                json!("execute_kw")
            ],
            "{refusal}"
        );
        assert_eq!(odoo.received()[2]["params"]["args"][1], 2, "{refusal}");
        assert_eq!(client.resumable_uid(), Some(2), "{refusal}");
    }
}

#[tokio::test]
async fn a_refused_login_after_a_stale_uid_is_the_authentication_error() {
    let odoo = FakeOdoo::start(vec![
        recorded_answer("errors/execute_kw_wrong_password.json"),
        recorded_answer("jsonrpc/common_authenticate_wrong_password.json"),
    ])
    .await;
    let client = OdooClient::connect(resuming(&odoo.url, 2))
        .await
        .expect("connects");
    let error = client
        .search_count("product.template", &Domain::all(), &Context::default())
        .await
        .expect_err("the password is wrong");
    assert!(
        matches!(error, OdooError::AuthenticationFailed { .. }),
        "{error}"
    );
}

#[tokio::test]
async fn once_odoo_accepted_a_resumed_uid_a_refusal_is_an_error_not_a_login() {
    let odoo = FakeOdoo::start(vec![
        recorded_answer("jsonrpc/product_template_search_count.json"),
        recorded_answer("errors/execute_kw_wrong_password.json"),
    ])
    .await;
    let client = OdooClient::connect(resuming(&odoo.url, 2))
        .await
        .expect("connects");
    let (all, context) = (Domain::all(), Context::default());
    let count = || client.search_count("product.template", &all, &context);
    count().await.expect("accepted");
    let error = count().await.expect_err("refused");
    assert_eq!(
        error.fault().map(|fault| fault.kind),
        Some(FaultKind::AccessDenied)
    );
    assert_eq!(odoo.calls(), 2);
}

#[tokio::test]
async fn an_api_key_means_no_resume_in_auto_mode() {
    let version = recorded_answer("jsonrpc/common_version.json");
    let odoo = FakeOdoo::start(vec![version, authenticated(2)]).await;
    let mut with_key = resuming(&odoo.url, 2);
    with_key.api_key = Some(SecretString::from("a-key"));
    with_key.protocol = Protocol::JsonRpc;
    OdooClient::connect(with_key.clone())
        .await
        .expect("JSON-RPC asked for: resumes");
    assert_eq!(odoo.calls(), 0);
    // Auto with a key detects again (the key may mean JSON-2): Odoo 18 has none, so a login.
    with_key.protocol = Protocol::Auto;
    let client = OdooClient::connect(with_key).await.expect("detects");
    assert_eq!(client.protocol(), Protocol::JsonRpc);
    assert_eq!(odoo.calls(), 2, "asked the version, then logged in");
    assert_eq!(odoo.received()[0]["params"]["method"], "version");
    assert_eq!(odoo.received()[1]["params"]["method"], "authenticate");
}

#[tokio::test]
async fn a_lazy_client_connects_on_first_use_and_again_after_a_failed_connection() {
    let odoo = FakeOdoo::start(vec![
        html(503, "<h1>Service Unavailable</h1>"),
        authenticated(2),
        result(json!([4, 7])),
    ])
    .await;
    let mut config = config_for(&odoo);
    config.max_retries = 0;
    let lazy = LazyOdooClient::new(config);
    assert_eq!(
        odoo.script.calls.load(Ordering::SeqCst),
        0,
        "no call before first use"
    );
    let (everything, options) = (Domain::all(), SearchOptions::default());
    let search = || lazy.search("product.template", &everything, &options);
    let failed = search().await.expect_err("Odoo is down");
    assert!(failed.is_retryable(), "{failed}");
    assert_eq!(search().await.expect("connects again"), [4, 7]);
    assert_eq!(lazy.resumable_uid(), Some(2));
}
