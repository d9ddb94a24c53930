//! `OdooClient` over JSON-2 and protocol detection, against a fake Odoo on 127.0.0.1:0 that
//! replays the recorded Odoo 19 answers: the requests it sends (path, headers, body compared with
//! the recorded ones), which protocol `Auto` picks on a 19 and an 18 server, API key errors, and
//! that the key never shows.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::to_bytes;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use odoo_rpc::{
    ClientConfig, Context, Credential, Domain, FaultKind, OdooApi, OdooClient, OdooError, Protocol,
    SearchOptions,
};
use secrecy::SecretString;
use serde_json::{json, Map, Value};

/// One answer of the fake Odoo: status and body (JSON, or text sent as HTML).
#[derive(Clone)]
struct Reply {
    status: u16,
    body: Value,
}

impl Reply {
    fn json(body: Value) -> Reply {
        Reply { status: 200, body }
    }

    /// A recorded `response`, status and body.
    fn recorded(fixture: &Value) -> Reply {
        let response = &fixture["response"];
        Reply {
            status: u16::try_from(response["status"].as_u64().expect("status")).expect("u16"),
            body: response["body"].clone(),
        }
    }

    fn html(status: u16, page: &str) -> Reply {
        Reply {
            status,
            body: Value::String(page.to_owned()),
        }
    }

    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).expect("status");
        match self.body {
            Value::String(page) => (
                status,
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                page,
            )
                .into_response(),
            body => (status, axum::Json(body)).into_response(),
        }
    }
}

const NOT_FOUND_PAGE: &str = "<!doctype html>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n<p>The requested URL was not found on the server.</p>";

/// What the fake received.
#[derive(Debug, Clone)]
struct Received {
    method: String,
    path: String,
    headers: Map<String, Value>,
    body: Value,
}

/// A fake Odoo: `/web/version` answers `version` (404 without), `/json/2/...` the next `json2`
/// reply (404 page when `json2` is `None`: no JSON-2 on this server), `/jsonrpc` the next
/// `jsonrpc` reply (404 when `None`: no legacy API).
#[derive(Default)]
struct Script {
    version: Option<Value>,
    json2: Option<Mutex<VecDeque<Reply>>>,
    jsonrpc: Option<Mutex<VecDeque<Reply>>>,
    received: Mutex<Vec<Received>>,
}

struct FakeOdoo {
    url: String,
    script: Arc<Script>,
}

impl FakeOdoo {
    async fn start(script: Script) -> FakeOdoo {
        let script = Arc::new(script);
        let app = Router::new().fallback(answer).with_state(script.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        FakeOdoo { url, script }
    }

    /// An Odoo 19: `/web/version`, JSON-2 with `json2` replies, and the legacy `/jsonrpc`.
    async fn odoo19(json2: Vec<Reply>, jsonrpc: Vec<Reply>) -> FakeOdoo {
        FakeOdoo::start(Script {
            version: Some(json!({"version_info": [19, 0, 0, "final", 0, ""], "version": "19.0"})),
            json2: Some(Mutex::new(json2.into())),
            jsonrpc: Some(Mutex::new(jsonrpc.into())),
            ..Script::default()
        })
        .await
    }

    /// An Odoo 18: 404 for `/web/version` and `/json/2/...`; `/jsonrpc` answers `jsonrpc`.
    async fn odoo18(jsonrpc: Vec<Reply>) -> FakeOdoo {
        FakeOdoo::start(Script {
            jsonrpc: Some(Mutex::new(jsonrpc.into())),
            ..Script::default()
        })
        .await
    }

    fn received(&self) -> Vec<Received> {
        self.script.received.lock().expect("lock").clone()
    }

    /// `METHOD /path` of every request, in order.
    fn requests(&self) -> Vec<String> {
        self.received()
            .iter()
            .map(|r| format!("{} {}", r.method, r.path))
            .collect()
    }
}

async fn answer(State(script): State<Arc<Script>>, request: Request) -> Response {
    let method = request.method().to_string();
    let path = request.uri().path().to_owned();
    let headers = request
        .headers()
        .iter()
        .map(|(name, value)| {
            let value = value.to_str().unwrap_or_default().to_owned();
            (name.as_str().to_owned(), Value::String(value))
        })
        .collect();
    let bytes = to_bytes(request.into_body(), usize::MAX)
        .await
        .unwrap_or_default();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    script.received.lock().expect("lock").push(Received {
        method,
        path: path.clone(),
        headers,
        body,
    });
    let next = |queue: &Option<Mutex<VecDeque<Reply>>>| match queue {
        Some(replies) => replies
            .lock()
            .expect("lock")
            .pop_front()
            .unwrap_or_else(|| Reply::html(418, "script exhausted")),
        None => Reply::html(404, NOT_FOUND_PAGE),
    };
    let reply = if path == "/web/version" {
        match &script.version {
            Some(version) => Reply::json(version.clone()),
            None => Reply::html(404, NOT_FOUND_PAGE),
        }
    } else if path.starts_with("/json/2/") {
        next(&script.json2)
    } else if path == "/jsonrpc" {
        next(&script.jsonrpc)
    } else {
        Reply::html(404, NOT_FOUND_PAGE)
    };
    reply.into_response()
}

fn fixture(relative: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/odoo19-fixtures")
        .join(relative);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{relative}: {e}"));
    serde_json::from_str(&text).expect("fixture is JSON")
}

/// The API key the fixtures were recorded with (a throwaway key of a loopback server).
fn recorded_key() -> String {
    let authorization = fixture("json2/res_users_context_get.json")["request"]["headers"]
        ["Authorization"]
        .as_str()
        .expect("Authorization")
        .to_owned();
    authorization
        .strip_prefix("bearer ")
        .expect("bearer")
        .to_owned()
}

const PASSWORD: &str = "Sup3r-S3cret-pw";

fn config(url: &str, protocol: Protocol, api_key: Option<&str>) -> ClientConfig {
    let mut config = ClientConfig::new(url, "demo19", "admin", SecretString::from(PASSWORD));
    config.api_key = api_key.map(SecretString::from);
    config.protocol = protocol;
    config.retry_base = Duration::from_millis(1);
    config
}

fn who_am_i() -> Reply {
    Reply::recorded(&fixture("json2/res_users_context_get.json"))
}

/// A client connected over JSON-2 with the recorded key, whose next answer is `relative`'s.
async fn replaying(relative: &str) -> (OdooClient, FakeOdoo) {
    let answer = Reply::recorded(&fixture(relative));
    let odoo = FakeOdoo::odoo19(vec![who_am_i(), answer], Vec::new()).await;
    let key = recorded_key();
    let client = OdooClient::connect(config(&odoo.url, Protocol::Json2, Some(&key)))
        .await
        .expect("connects");
    (client, odoo)
}

/// The last JSON-2 call has the recorded path, body and headers; the first was the recorded
/// `context_get`.
fn assert_sent_as_recorded(odoo: &FakeOdoo, relative: &str) {
    let posts: Vec<Received> = odoo
        .received()
        .into_iter()
        .filter(|r| r.method == "POST")
        .collect();
    assert_eq!(posts.len(), 2, "{relative}: {:?}", odoo.requests());
    let pairs = [
        (&posts[0], fixture("json2/res_users_context_get.json")),
        (&posts[1], fixture(relative)),
    ];
    for (ours, recorded) in pairs {
        let request = &recorded["request"];
        assert_eq!(
            ours.path,
            request["path"].as_str().expect("path"),
            "{relative}"
        );
        assert_eq!(ours.body, request["body"], "{relative}");
        let header = |name: &str| ours.headers.get(name).and_then(Value::as_str);
        assert_eq!(
            header("authorization"),
            request["headers"]["Authorization"].as_str(),
            "{relative}"
        );
        assert_eq!(
            header("x-odoo-database"),
            request["headers"]["X-Odoo-Database"].as_str(),
            "{relative}"
        );
        assert_eq!(
            header("content-type"),
            Some("application/json; charset=utf-8"),
            "{relative}"
        );
    }
}

fn recorded_strings(relative: &str, key: &str) -> Vec<String> {
    let values = fixture(relative)["request"]["body"][key].clone();
    serde_json::from_value(values).expect("a list of strings")
}

fn strs(values: &[String]) -> Vec<&str> {
    values.iter().map(String::as_str).collect()
}

fn recorded_domain(relative: &str) -> Domain {
    let terms = fixture(relative)["request"]["body"]["domain"].clone();
    let terms = serde_json::from_value(terms).expect("a list");
    Domain::from_terms(terms).expect("a domain")
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

fn recorded_result(relative: &str) -> Value {
    fixture(relative)["response"]["body"].clone()
}

#[tokio::test]
async fn search_read_and_search_send_the_recorded_json2_requests() {
    let page = "json2/product_template_search_read_page.json";
    let (client, odoo) = replaying(page).await;
    let fields = recorded_strings(page, "fields");
    let opts = SearchOptions::default().limit(8).offset(4).order("id");
    let records = client
        .search_read(
            "product.template",
            &recorded_domain(page),
            &strs(&fields),
            &opts,
        )
        .await
        .expect("records");
    assert_sent_as_recorded(&odoo, page);
    assert_eq!(records.len(), 8);
    assert_eq!(records[0].id(), Ok(5));
    assert_eq!(records[0].get_str("barcode"), Ok(None));

    let zh = "json2/product_template_search_read_active_test_false_lang_zh.json";
    let (client, odoo) = replaying(zh).await;
    let fields = recorded_strings(zh, "fields");
    let context = Context::default().active_test(false).lang("zh_CN");
    let opts = SearchOptions::default()
        .order("id desc")
        .limit(4)
        .offset(0)
        .context(context);
    client
        .search_read(
            "product.template",
            &recorded_domain(zh),
            &strs(&fields),
            &opts,
        )
        .await
        .expect("records");
    assert_sent_as_recorded(&odoo, zh);

    let search = "json2/product_template_search_ids.json";
    let (client, odoo) = replaying(search).await;
    let opts = SearchOptions::default().limit(10).order("id desc");
    let ids = client
        .search("product.template", &recorded_domain(search), &opts)
        .await
        .expect("ids");
    assert_sent_as_recorded(&odoo, search);
    assert_eq!(Value::from(ids), recorded_result(search));
}

#[tokio::test]
async fn read_search_count_and_fields_get_send_the_recorded_json2_requests() {
    let read = "json2/product_template_read_ids.json";
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

    let count = "json2/product_template_search_count_active_test_false.json";
    let (client, odoo) = replaying(count).await;
    let context = Context::default().active_test(false);
    let total = client
        .search_count("product.template", &Domain::all(), &context)
        .await
        .expect("count");
    assert_sent_as_recorded(&odoo, count);
    assert_eq!(Value::from(total), recorded_result(count));

    let fields_get = "json2/product_template_fields_get.json";
    let (client, odoo) = replaying(fields_get).await;
    let attributes = recorded_strings(fields_get, "attributes");
    let fields = client
        .fields_get("product.template", &strs(&attributes))
        .await
        .expect("fields");
    assert_sent_as_recorded(&odoo, fields_get);
    assert_eq!(fields["list_price"]["type"], "float");
}

#[tokio::test]
async fn create_write_and_unlink_send_the_recorded_json2_requests() {
    let create = "json2/product_template_create_multi.json";
    let (client, odoo) = replaying(create).await;
    let rows = fixture(create)["request"]["body"]["vals_list"]
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
    assert_eq!(Value::from(ids), recorded_result(create));

    let write = "json2/product_template_write_list_price.json";
    let (client, odoo) = replaying(write).await;
    let values = object(json!({"list_price": 27.0}));
    client
        .write("product.template", &[63], values, &Context::default())
        .await
        .expect("written");
    assert_sent_as_recorded(&odoo, write);

    let zh = "json2/product_template_write_zh_translation.json";
    let (client, odoo) = replaying(zh).await;
    let values = object(fixture(zh)["request"]["body"]["vals"].clone());
    client
        .write(
            "product.template",
            &[63],
            values,
            &Context::default().lang("zh_CN"),
        )
        .await
        .expect("written");
    assert_sent_as_recorded(&odoo, zh);

    let unlink = "json2/product_template_unlink.json";
    let (client, odoo) = replaying(unlink).await;
    client
        .unlink("product.template", &[66, 67], &Context::default())
        .await
        .expect("deleted");
    assert_sent_as_recorded(&odoo, unlink);
}

#[tokio::test]
async fn execute_kw_names_positional_arguments_for_name_search_and_record_methods() {
    let name_search = "json2/product_template_name_search.json";
    let (client, odoo) = replaying(name_search).await;
    let kwargs = object(json!({"limit": 5}));
    let found = client
        .execute_kw(
            "product.template",
            "name_search",
            vec![json!("Desk")],
            kwargs,
        )
        .await
        .expect("found");
    assert_sent_as_recorded(&odoo, name_search);
    assert_eq!(found, recorded_result(name_search));

    let apply = "json2/stock_quant_action_apply_inventory.json";
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

#[tokio::test]
async fn auto_picks_json2_on_an_odoo_19_and_knows_its_version() {
    let odoo = FakeOdoo::odoo19(vec![who_am_i()], Vec::new()).await;
    let key = recorded_key();
    let client = OdooClient::connect(config(&odoo.url, Protocol::Auto, Some(&key)))
        .await
        .expect("connects");
    assert_eq!(client.protocol(), Protocol::Json2);
    assert_eq!(client.server_version().and_then(|v| v.major()), Some(19));
    assert_eq!(
        client.describe(),
        format!("JSON-2 at {} (db demo19, uid 2)", odoo.url)
    );
    assert_eq!(
        odoo.requests(),
        ["GET /web/version", "POST /json/2/res.users/context_get"]
    );
    let version = client.version().await.expect("version");
    assert_eq!(version.server_version, "19.0");
}

#[tokio::test]
async fn auto_falls_back_to_jsonrpc_on_an_odoo_18() {
    let authenticated = Reply::json(json!({"jsonrpc": "2.0", "id": 1, "result": 2}));
    let odoo = FakeOdoo::odoo18(vec![authenticated]).await;
    let client = OdooClient::connect(config(&odoo.url, Protocol::Auto, None))
        .await
        .expect("connects");
    assert_eq!(client.protocol(), Protocol::JsonRpc);
    assert_eq!(
        odoo.requests(),
        [
            "GET /web/version",
            "POST /json/2/res.users/context_get",
            "POST /jsonrpc"
        ]
    );
    // JSON-RPC logs in with the password.
    let login = &odoo.received()[2].body["params"]["args"];
    assert_eq!(login, &json!(["demo19", "admin", PASSWORD, {}]));
}

#[tokio::test]
async fn auto_goes_straight_to_jsonrpc_when_the_version_says_before_19() {
    let authenticated = Reply::json(json!({"jsonrpc": "2.0", "id": 1, "result": 2}));
    let odoo = FakeOdoo::start(Script {
        version: Some(json!({"version_info": [18, 0, 0, "final", 0, ""], "version": "18.0"})),
        jsonrpc: Some(Mutex::new(vec![authenticated].into())),
        ..Script::default()
    })
    .await;
    let client = OdooClient::connect(config(&odoo.url, Protocol::Auto, None))
        .await
        .expect("connects");
    assert_eq!(client.protocol(), Protocol::JsonRpc);
    assert_eq!(client.server_version().and_then(|v| v.major()), Some(18));
    assert_eq!(odoo.requests(), ["GET /web/version", "POST /jsonrpc"]);
}

#[tokio::test]
async fn json2_without_an_api_key_is_a_clear_error_before_any_request() {
    let odoo = FakeOdoo::odoo19(Vec::new(), Vec::new()).await;
    // An empty key (ODOO_API_KEY set to nothing) counts as none.
    for key in [None, Some("")] {
        let error = OdooClient::connect(config(&odoo.url, Protocol::Json2, key))
            .await
            .expect_err("no key");
        assert!(matches!(error, OdooError::ApiKeyMissing { .. }), "{error}");
        let text = error.to_string();
        assert!(
            text.contains("ODOO_API_KEY") && text.contains("'admin'") && text.contains("'demo19'"),
            "{text}"
        );
    }
    assert!(odoo.requests().is_empty());
}

#[tokio::test]
async fn a_password_refused_by_json2_says_an_api_key_is_needed_when_there_is_no_jsonrpc() {
    // An Odoo 20-like server: JSON-2 refuses the password, and /jsonrpc is gone.
    let refused = Reply::recorded(&fixture("errors/password_as_bearer.json"));
    let odoo = FakeOdoo::start(Script {
        version: Some(json!({"version_info": [20, 0, 0, "final", 0, ""], "version": "20.0"})),
        json2: Some(Mutex::new(vec![refused].into())),
        ..Script::default()
    })
    .await;
    let error = OdooClient::connect(config(&odoo.url, Protocol::Auto, None))
        .await
        .expect_err("refused");
    let OdooError::ApiKeyRefused { credential, .. } = &error else {
        panic!("expected ApiKeyRefused, got {error}");
    };
    assert_eq!(*credential, Credential::Password);
    let text = error.to_string();
    assert!(
        text.contains("Odoo 19's JSON-2 API needs an API key (ODOO_API_KEY), not a password"),
        "{text}"
    );
    assert!(!format!("{text} {error:?}").contains(PASSWORD));
    let sent = odoo.received()[1].headers["authorization"].clone();
    assert_eq!(
        sent,
        format!("bearer {PASSWORD}"),
        "the password was tried as a key"
    );
}

#[tokio::test]
async fn a_password_refused_by_json2_falls_back_to_the_legacy_endpoint_on_19() {
    let refused = Reply::recorded(&fixture("errors/password_as_bearer.json"));
    let authenticated = Reply::recorded(&fixture("legacy/jsonrpc_common_authenticate.json"));
    let odoo = FakeOdoo::odoo19(vec![refused], vec![authenticated]).await;
    let client = OdooClient::connect(config(&odoo.url, Protocol::Auto, None))
        .await
        .expect("connects over JSON-RPC");
    assert_eq!(client.protocol(), Protocol::JsonRpc);
    assert_eq!(client.server_version().and_then(|v| v.major()), Some(19));
}

#[tokio::test]
async fn a_refused_api_key_names_login_and_database_never_the_key() {
    let odoo = FakeOdoo::odoo19(Vec::new(), Vec::new()).await;
    let key = recorded_key();
    for protocol in [Protocol::Json2, Protocol::Auto] {
        let refused = Reply::recorded(&fixture("errors/expired_api_key.json"));
        odoo.script
            .json2
            .as_ref()
            .expect("json2")
            .lock()
            .expect("lock")
            .push_back(refused);
        let error = OdooClient::connect(config(&odoo.url, protocol, Some(&key)))
            .await
            .expect_err("refused");
        assert!(
            matches!(
                error,
                OdooError::ApiKeyRefused {
                    credential: Credential::ApiKey,
                    ..
                }
            ),
            "{error}"
        );
        assert!(!error.is_retryable());
        let text = error.to_string();
        assert!(
            text.contains("refused the API key of login 'admin' on database 'demo19'"),
            "{text}"
        );
        assert!(text.contains("expired"), "{text}");
        assert!(!format!("{text} {error:?}").contains(&key), "{text}");
    }
    assert!(
        !odoo.requests().iter().any(|r| r.ends_with("/jsonrpc")),
        "a refused key is not retried over JSON-RPC"
    );
}

#[tokio::test]
async fn the_api_key_appears_in_no_display_or_debug_output() {
    let key = recorded_key();
    let value_error = Reply::recorded(&fixture("errors/search_read_unknown_field_in_fields.json"));
    let html = Reply::html(502, "<h1>502 Bad Gateway</h1>");
    let odoo = FakeOdoo::odoo19(vec![who_am_i(), value_error, html], Vec::new()).await;
    let mut config = config(&odoo.url, Protocol::Json2, Some(&key));
    config.max_retries = 0;
    let shown_config = format!("{config:?}");
    assert!(!shown_config.contains(&key), "{shown_config}");
    let client = OdooClient::connect(config).await.expect("connects");
    let mut shown = vec![format!("{client:?}"), client.describe()];
    for _ in 0..2 {
        let error = client
            .search(
                "product.template",
                &Domain::all(),
                &SearchOptions::default(),
            )
            .await
            .expect_err("fails");
        shown.push(format!("{error} {error:?}"));
    }
    for text in shown {
        assert!(!text.contains(&key), "key leaked: {text}");
    }
}

#[tokio::test]
async fn a_502_is_retried_but_an_odoo_fault_is_not() {
    let key = recorded_key();
    let count = Reply::recorded(&fixture("json2/product_template_search_count.json"));
    let odoo = FakeOdoo::odoo19(
        vec![
            who_am_i(),
            Reply::html(502, "<h1>502 Bad Gateway</h1>"),
            Reply::html(503, "<h1>503 Service Unavailable</h1>"),
            count.clone(),
            Reply::recorded(&fixture("errors/search_read_domain_bad_operator.json")),
        ],
        Vec::new(),
    )
    .await;
    let client = OdooClient::connect(config(&odoo.url, Protocol::Json2, Some(&key)))
        .await
        .expect("connects");
    let total = client
        .search_count("product.template", &Domain::all(), &Context::default())
        .await
        .expect("after retries");
    assert_eq!(Value::from(total), count.body);
    let error = client
        .search_count("product.template", &Domain::all(), &Context::default())
        .await
        .expect_err("bad operator");
    assert_eq!(
        error.fault().map(|f| f.kind),
        Some(FaultKind::InvalidArgument)
    );
    let posts = odoo
        .requests()
        .iter()
        .filter(|r| r.starts_with("POST"))
        .count();
    assert_eq!(posts, 1 + 3 + 1, "the fault was sent once");
}
