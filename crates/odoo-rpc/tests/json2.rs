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
    location: Option<String>,
}

impl Reply {
    fn json(body: Value) -> Reply {
        Reply {
            status: 200,
            body,
            location: None,
        }
    }

    /// A recorded `response`, status and body.
    fn recorded(fixture: &Value) -> Reply {
        let response = &fixture["response"];
        Reply {
            status: u16::try_from(response["status"].as_u64().expect("status")).expect("u16"),
            body: response["body"].clone(),
            location: None,
        }
    }

    fn html(status: u16, page: &str) -> Reply {
        Reply {
            status,
            body: Value::String(page.to_owned()),
            location: None,
        }
    }

    /// What Odoo 18 measured answers a POST to `/json/2/...`: its `/json/<path>` web route wants a
    /// session and sends the caller to the login page.
    fn redirect_to_login(path: &str) -> Reply {
        let quoted = format!("{path}?").replace('/', "%2F").replace('?', "%3F");
        let location = format!("/web/login?redirect={quoted}");
        Reply {
            status: 303,
            body: Value::String(format!(
                "<!doctype html>\n<html lang=en>\n<title>Redirecting...</title>\n<h1>Redirecting...</h1>\n<p>You should be redirected automatically to the target URL: <a href=\"{location}\">{location}</a>. If not, click the link.\n"
            )),
            location: Some(location),
        }
    }

    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).expect("status");
        let mut response = match self.body {
            Value::String(page) => (
                status,
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                page,
            )
                .into_response(),
            body => (status, axum::Json(body)).into_response(),
        };
        if let Some(location) = self.location {
            let location = location.parse().expect("a header value");
            response.headers_mut().insert(header::LOCATION, location);
        }
        response
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

/// A fake Odoo of one `series` (18, 19 or 20), answering as the recorded servers do:
/// `/jsonrpc` answers `common.version` itself and every other call with the next `jsonrpc` reply
/// (404 page on 20: no legacy API); `/web/version` tells the version from 19 (404 on 18);
/// `/json/2/...` answers the next `json2` reply from 19, and on 18 redirects to the login page, as
/// Odoo 18's `/json/<path>` web route does.
#[derive(Default)]
struct Script {
    series: u32,
    json2: Mutex<VecDeque<Reply>>,
    jsonrpc: Mutex<VecDeque<Reply>>,
    received: Mutex<Vec<Received>>,
}

impl Script {
    fn next(queue: &Mutex<VecDeque<Reply>>) -> Reply {
        queue
            .lock()
            .expect("lock")
            .pop_front()
            .unwrap_or_else(|| Reply::html(418, "script exhausted"))
    }

    fn web_version(&self) -> Reply {
        if self.series < 19 {
            return Reply::html(404, NOT_FOUND_PAGE);
        }
        let series = format!("{}.0", self.series);
        Reply::json(json!({"version_info": [self.series, 0, 0, "final", 0, ""], "version": series}))
    }

    fn json2(&self, path: &str) -> Reply {
        if self.series < 19 {
            return Reply::redirect_to_login(path);
        }
        Script::next(&self.json2)
    }

    fn jsonrpc(&self, body: &Value) -> Reply {
        if self.series >= 20 {
            return Reply::html(404, NOT_FOUND_PAGE);
        }
        let params = &body["params"];
        if params["service"] == "common" && params["method"] == "version" {
            let recorded = match self.series {
                18 => fixture18("jsonrpc/common_version.json"),
                _ => fixture("legacy/jsonrpc_common_version.json"),
            };
            return Reply::recorded(&recorded);
        }
        Script::next(&self.jsonrpc)
    }
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

    async fn series(series: u32, json2: Vec<Reply>, jsonrpc: Vec<Reply>) -> FakeOdoo {
        FakeOdoo::start(Script {
            series,
            json2: Mutex::new(json2.into()),
            jsonrpc: Mutex::new(jsonrpc.into()),
            ..Script::default()
        })
        .await
    }

    /// An Odoo 19: `/web/version`, JSON-2 with `json2` replies, and the legacy `/jsonrpc`.
    async fn odoo19(json2: Vec<Reply>, jsonrpc: Vec<Reply>) -> FakeOdoo {
        FakeOdoo::series(19, json2, jsonrpc).await
    }

    /// An Odoo 18: `/jsonrpc` answers `jsonrpc`; no `/web/version`, `/json/2` redirects.
    async fn odoo18(jsonrpc: Vec<Reply>) -> FakeOdoo {
        FakeOdoo::series(18, Vec::new(), jsonrpc).await
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
    let reply = if path == "/web/version" {
        script.web_version()
    } else if path.starts_with("/json/2/") {
        script.json2(&path)
    } else if path == "/jsonrpc" {
        script.jsonrpc(&body)
    } else {
        Reply::html(404, NOT_FOUND_PAGE)
    };
    script.received.lock().expect("lock").push(Received {
        method,
        path,
        headers,
        body,
    });
    reply.into_response()
}

fn fixture18(relative: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/odoo18-fixtures")
        .join(relative);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{relative}: {e}"));
    serde_json::from_str(&text).expect("fixture is JSON")
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
async fn auto_picks_json2_on_an_odoo_19_with_an_api_key_and_knows_its_version() {
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
        ["POST /jsonrpc", "POST /json/2/res.users/context_get"]
    );
    let why = client.protocol_choice().expect("a reason");
    assert!(
        why.contains("Odoo 19.0") && why.contains("API key"),
        "{why}"
    );
    let version = client.version().await.expect("version");
    assert_eq!(version.server_version, "19.0");
}

#[tokio::test]
async fn auto_uses_jsonrpc_on_an_odoo_18_and_never_touches_json2() {
    let key = recorded_key();
    for api_key in [None, Some(key.as_str())] {
        let authenticated = Reply::json(json!({"jsonrpc": "2.0", "id": 1, "result": 2}));
        let odoo = FakeOdoo::odoo18(vec![authenticated]).await;
        let client = OdooClient::connect(config(&odoo.url, Protocol::Auto, api_key))
            .await
            .expect("connects");
        assert_eq!(client.protocol(), Protocol::JsonRpc);
        assert_eq!(client.server_version().and_then(|v| v.major()), Some(18));
        assert_eq!(odoo.requests(), ["POST /jsonrpc", "POST /jsonrpc"]);
        let received = odoo.received();
        assert_eq!(received[0].body["params"]["method"], "version");
        // JSON-RPC logs in with the password, even when a key is configured too.
        let login = &received[1].body["params"];
        assert_eq!(login["method"], "authenticate");
        assert_eq!(login["args"], json!(["demo19", "admin", PASSWORD, {}]));
        let why = client.protocol_choice().expect("a reason");
        assert!(why.contains("Odoo 18.0 has no JSON-2"), "{why}");
    }
}

#[tokio::test]
async fn auto_uses_jsonrpc_on_an_odoo_19_without_an_api_key_and_says_why() {
    let authenticated = Reply::recorded(&fixture("legacy/jsonrpc_common_authenticate.json"));
    let odoo = FakeOdoo::odoo19(Vec::new(), vec![authenticated]).await;
    let client = OdooClient::connect(config(&odoo.url, Protocol::Auto, None))
        .await
        .expect("connects over JSON-RPC");
    assert_eq!(client.protocol(), Protocol::JsonRpc);
    assert_eq!(client.server_version().and_then(|v| v.major()), Some(19));
    assert_eq!(odoo.requests(), ["POST /jsonrpc", "POST /jsonrpc"]);
    let why = client.protocol_choice().expect("a reason");
    assert!(why.contains("ODOO_API_KEY"), "{why}");
}

#[tokio::test]
async fn explicit_json2_against_an_odoo_18_names_the_redirect_and_the_way_out() {
    let odoo = FakeOdoo::odoo18(Vec::new()).await;
    let key = recorded_key();
    let error = OdooClient::connect(config(&odoo.url, Protocol::Json2, Some(&key)))
        .await
        .expect_err("no JSON-2 on 18");
    assert!(
        matches!(
            error,
            OdooError::ApiAbsent {
                protocol: Protocol::Json2,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(!error.is_retryable());
    let text = error.to_string();
    for part in [
        "does not speak JSON-2",
        "HTTP 303",
        "/web/login?redirect=%2Fjson%2F2%2Fres.users%2Fcontext_get%3F",
        "ODOO_PROTOCOL=jsonrpc",
    ] {
        assert!(text.contains(part), "{part} missing from: {text}");
    }
    assert_eq!(odoo.requests(), ["POST /json/2/res.users/context_get"]);
}

#[tokio::test]
async fn explicit_jsonrpc_against_a_server_without_it_says_so() {
    let odoo = FakeOdoo::series(20, Vec::new(), Vec::new()).await;
    let error = OdooClient::connect(config(&odoo.url, Protocol::JsonRpc, None))
        .await
        .expect_err("no /jsonrpc on 20");
    let text = error.to_string();
    assert!(
        matches!(
            error,
            OdooError::ApiAbsent {
                protocol: Protocol::JsonRpc,
                ..
            }
        ),
        "{text}"
    );
    assert!(
        text.contains("HTTP 404") && text.contains("ODOO_API_KEY"),
        "{text}"
    );
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
    let odoo = FakeOdoo::series(20, vec![refused], Vec::new()).await;
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
async fn a_refused_api_key_names_login_and_database_never_the_key() {
    let odoo = FakeOdoo::odoo19(Vec::new(), Vec::new()).await;
    let key = recorded_key();
    for protocol in [Protocol::Json2, Protocol::Auto] {
        let refused = Reply::recorded(&fixture("errors/expired_api_key.json"));
        odoo.script.json2.lock().expect("lock").push_back(refused);
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
    let logins = odoo
        .received()
        .iter()
        .filter(|r| r.body["params"]["method"] == "authenticate")
        .count();
    assert_eq!(logins, 0, "a refused key is not retried over JSON-RPC");
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
