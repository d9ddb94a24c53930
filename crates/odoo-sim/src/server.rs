//! The HTTP side: axum routes for `/jsonrpc` (with Odoo's transport errors and the fault knobs,
//! and staged writes finished around their webhook POSTs as 18 or 19 does), on 19 the JSON-2
//! routes of `json2`, the control routes under `/__sim/` (faults, stats, hold, webhooks, phantom,
//! api_keys, databases), and the shared state behind them.

use crate::apikeys::{ApiKey, ApiKeys};
use crate::faults::{Fate, Faults, HANG};
use crate::json2;
use crate::methods::Call;
use crate::models::Db;
use crate::rpc::{self, Env, ADMIN_UID};
use crate::value::{fmt_dt_micros, now_micros};
use crate::webhooks::{self, Commit, Pending, WebhookStats};
use crate::wire::{
    self, OdooErr, BAD_REQUEST_HTML, INVALID_JSON, NOT_FOUND_HTML, UNAVAILABLE_HTML,
};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Json as AxumJson, Router};
use serde::Deserialize;
use serde_json::{json, Map, Value as Json};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// Everything the routes share.
pub struct AppState {
    pub db: RwLock<Db>,
    pub db_name: String,
    pub odoo_version: u8,
    pub faults: RwLock<Faults>,
    pub calls: AtomicU64,
    pub by_method: Mutex<BTreeMap<String, u64>>,
    pub webhooks: WebhookStats,
    pub workers: crate::latency::Workers,
    /// API keys (Odoo 19: JSON-2's bearer tokens, and passwords on `/jsonrpc`).
    pub keys: ApiKeys,
    /// Other databases the server has (empty: only `db_name`); they hold nothing.
    pub other_databases: RwLock<Vec<String>>,
}

impl AppState {
    pub fn faults(&self) -> Faults {
        self.faults
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn set_faults(&self, faults: Faults) {
        *self.faults.write().unwrap_or_else(|e| e.into_inner()) = faults;
    }

    pub fn add_database(&self, name: &str) {
        let mut others = self
            .other_databases
            .write()
            .unwrap_or_else(|e| e.into_inner());
        if name != self.db_name && !others.iter().any(|d| d == name) {
            others.push(name.to_owned());
        }
    }

    /// Does `X-Odoo-Database` (or its absence) select a database? Without the header only a
    /// server with a single database picks one.
    pub fn knows_database(&self, header: Option<&str>) -> bool {
        let others = self
            .other_databases
            .read()
            .unwrap_or_else(|e| e.into_inner());
        match header {
            None => others.is_empty(),
            Some(name) => name == self.db_name || others.iter().any(|d| d == name),
        }
    }

    pub fn count_call(&self, label: String) {
        *self
            .by_method
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(label)
            .or_default() += 1;
    }
}

pub fn router(state: Arc<AppState>) -> Router {
    let routes = Router::new();
    let routes = match state.odoo_version >= 19 {
        true => routes
            .route("/json/2/{*route}", any(json2::json2))
            .route("/json/2", any(json2::json2))
            .route("/web/version", get(json2::web_version)),
        false => routes,
    };
    routes
        .route("/jsonrpc", post(jsonrpc).fallback(bad_request))
        .route("/__sim/faults", get(get_faults).post(post_faults))
        .route("/__sim/stats", get(stats))
        .route("/__sim/hold", post(hold))
        .route("/__sim/webhooks", get(get_webhooks).post(post_webhooks))
        .route("/__sim/phantom", post(phantom))
        .route("/__sim/api_keys", get(get_api_keys).post(post_api_key))
        .route("/__sim/databases", post(post_database))
        .route("/json/{*record_path}", any(json_web_route))
        .route("/web/login", get(login_page))
        .fallback(not_found)
        .with_state(state)
}

/// Counts a call and plays the fault knobs on it: the fixed latency, then a 503 or a hang.
pub(crate) async fn enter_call(state: &AppState) -> Result<Faults, Response> {
    state.calls.fetch_add(1, Ordering::Relaxed);
    let faults = state.faults();
    if faults.latency_ms > 0 {
        tokio::time::sleep(faults.latency()).await;
    }
    match faults.roll() {
        Fate::Unavailable => return Err(html(StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE_HTML)),
        Fate::Hang => tokio::time::sleep(HANG).await,
        Fate::Serve => {}
    }
    Ok(faults)
}

pub fn html(status: StatusCode, body: &'static str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}

async fn bad_request() -> Response {
    html(StatusCode::BAD_REQUEST, BAD_REQUEST_HTML)
}

async fn not_found() -> Response {
    html(StatusCode::NOT_FOUND, NOT_FOUND_HTML)
}

/// Odoo 18's `web` module serves `/json/<path>` (records as JSON, for logged-in users of the web
/// client): without a session it redirects to the login page, whatever the method. This is what a
/// real Odoo 18 answers `POST /json/2/...` (measured), and Odoo 19 for `/json/` paths that are not
/// JSON-2.
async fn json_web_route(uri: axum::http::Uri) -> Response {
    let full_path = format!("{}?{}", uri.path(), uri.query().unwrap_or(""));
    let location = format!("/web/login?redirect={}", wire::url_quote(&full_path));
    let body = wire::redirect_html(&location);
    (
        StatusCode::SEE_OTHER,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8".to_owned()),
            (header::LOCATION, location),
        ],
        body,
    )
        .into_response()
}

/// The web client's login page, where `json_web_route` sends callers: what a client that follows
/// redirects ends up decoding.
async fn login_page() -> Response {
    html(StatusCode::OK, wire::LOGIN_HTML)
}

pub fn json_response(body: &Json) -> Response {
    let text = serde_json::to_string(body).unwrap_or_default();
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/json; charset=utf-8"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        text,
    )
        .into_response()
}

async fn jsonrpc(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    let ctype = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ctype.contains("json") {
        return bad_request().await;
    }
    let Ok(request) = serde_json::from_slice::<Json>(&body) else {
        return html(StatusCode::BAD_REQUEST, INVALID_JSON);
    };
    let now = now_micros();
    let faults = match enter_call(&state).await {
        Ok(faults) => faults,
        Err(refused) => return refused,
    };
    let busy = match &faults.latency_model {
        Some(model) => Some(state.workers.acquire(model.workers).await),
        None => None,
    };
    let shape_request = faults.latency_model.as_ref().map(|_| request.clone());
    let worker = state.clone();
    let computing = Instant::now();
    let answered = tokio::task::spawn_blocking(move || {
        let env = Env {
            db: &worker.db,
            db_name: &worker.db_name,
            odoo_version: worker.odoo_version,
            now,
            pending: Default::default(),
            admin_keys: worker.keys.admin_keys(&worker.db_name),
        };
        let (answer, label) = rpc::handle(&env, &request);
        worker.count_call(label);
        (answer, env.pending.into_inner())
    })
    .await;
    let computed = computing.elapsed();
    let answer = match answered {
        Ok((answer, pending)) => {
            if let Some(pending) = pending {
                finish(&state, pending).await;
            }
            answer
        }
        Err(e) => {
            json!({"jsonrpc": "2.0", "id": null, "error": OdooErr::new("builtins.RuntimeError", e.to_string()).to_json(state.odoo_version)})
        }
    };
    if let (Some(model), Some(request)) = (&faults.latency_model, &shape_request) {
        // The modelled cost is what a real Odoo takes; the simulator's own computing is an
        // artefact of this process, so it counts towards the cost instead of adding to it.
        let cost = model.cost(&crate::latency::shape_of(request, &answer));
        tokio::time::sleep(cost.saturating_sub(computed)).await;
    }
    drop(busy);
    let records = answer["result"].as_array().map_or(0, Vec::len);
    if faults.per_record_us > 0 && records > 0 {
        tokio::time::sleep(faults.per_records(records)).await;
    }
    json_response(&answer)
}

/// A staged write. Odoo 18: its POSTs, one after another, then the visibility delay, then the
/// commit. Odoo 19: the commit, then the POSTs (from a post-commit hook, still before the answer).
pub async fn finish(state: &Arc<AppState>, pending: Pending) {
    let faults = state.faults();
    if state.odoo_version >= 19 {
        let posts = pending.posts;
        commit(state, pending.commit).await;
        webhooks::deliver(&posts, faults.drop_webhooks, &state.webhooks).await;
        return;
    }
    webhooks::deliver(&pending.posts, faults.drop_webhooks, &state.webhooks).await;
    if faults.webhook_visibility_delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(faults.webhook_visibility_delay_ms)).await;
    }
    commit(state, pending.commit).await;
}

async fn commit(state: &Arc<AppState>, commit: Commit) {
    let worker = state.clone();
    let apply = move || {
        let mut db = worker.db.write().unwrap_or_else(|e| e.into_inner());
        commit.apply(&mut db);
    };
    let _ = tokio::task::spawn_blocking(apply).await;
}

async fn get_api_keys(State(state): State<Arc<AppState>>) -> AxumJson<Vec<ApiKey>> {
    AxumJson(state.keys.list())
}

/// `POST /__sim/api_keys`: adds (or replaces) a key, e.g. an expired one or another user's.
async fn post_api_key(
    State(state): State<Arc<AppState>>,
    AxumJson(key): AxumJson<ApiKey>,
) -> AxumJson<Vec<ApiKey>> {
    state.keys.add(key);
    AxumJson(state.keys.list())
}

#[derive(Debug, Deserialize)]
pub struct NewDatabase {
    pub name: String,
}

/// `POST /__sim/databases`: another (empty) database, so that "which database?" matters.
async fn post_database(
    State(state): State<Arc<AppState>>,
    AxumJson(db): AxumJson<NewDatabase>,
) -> StatusCode {
    state.add_database(&db.name);
    StatusCode::NO_CONTENT
}

async fn get_faults(State(state): State<Arc<AppState>>) -> AxumJson<Faults> {
    AxumJson(state.faults())
}

async fn post_faults(
    State(state): State<Arc<AppState>>,
    AxumJson(faults): AxumJson<Faults>,
) -> AxumJson<Faults> {
    state.set_faults(faults.clone());
    AxumJson(faults)
}

async fn stats(State(state): State<Arc<AppState>>) -> AxumJson<Json> {
    let by_method = state
        .by_method
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    AxumJson(json!({
        "calls": state.calls.load(Ordering::Relaxed),
        "by_method": by_method,
        "webhooks": state.webhooks.counts(),
        "queue": state.workers.counts(),
    }))
}

/// `POST /__sim/webhooks`: the webhook knobs, each optional.
#[derive(Debug, Default, Deserialize)]
pub struct WebhookKnobs {
    pub drop_webhooks: Option<f64>,
    pub webhook_visibility_delay_ms: Option<u64>,
}

fn webhooks_view(state: &AppState) -> Json {
    let faults = state.faults();
    let counts = state.webhooks.counts();
    json!({
        "drop_webhooks": faults.drop_webhooks,
        "webhook_visibility_delay_ms": faults.webhook_visibility_delay_ms,
        "sent": counts.sent,
        "failed": counts.failed,
        "dropped": counts.dropped,
    })
}

async fn get_webhooks(State(state): State<Arc<AppState>>) -> AxumJson<Json> {
    AxumJson(webhooks_view(&state))
}

async fn post_webhooks(
    State(state): State<Arc<AppState>>,
    AxumJson(knobs): AxumJson<WebhookKnobs>,
) -> AxumJson<Json> {
    let mut faults = state.faults();
    if let Some(rate) = knobs.drop_webhooks {
        faults.drop_webhooks = rate;
    }
    if let Some(ms) = knobs.webhook_visibility_delay_ms {
        faults.webhook_visibility_delay_ms = ms;
    }
    state.set_faults(faults);
    AxumJson(webhooks_view(&state))
}

/// A write whose webhooks are sent but which never commits (Odoo's rolled-back transaction).
#[derive(Debug, Deserialize)]
pub struct Phantom {
    pub model: String,
    pub id: i64,
    pub values: Map<String, Json>,
    #[serde(default)]
    pub context: Option<Json>,
}

async fn phantom(State(state): State<Arc<AppState>>, AxumJson(req): AxumJson<Phantom>) -> Response {
    let started = now_micros();
    let worker = state.clone();
    let staged = tokio::task::spawn_blocking(move || {
        let mut db = worker.db.write().unwrap_or_else(|e| e.into_inner());
        if db.table(&req.model).is_none() {
            return Err(format!("unknown model {}", req.model));
        }
        let ctx = rpc::context(&db, req.context.as_ref()).map_err(|e| e.message)?;
        let args = [json!([req.id]), Json::Object(req.values)];
        let kwargs = Map::new();
        let call = Call {
            model: &req.model,
            method: "write",
            args: &args,
            kwargs: &kwargs,
            ctx,
            uid: ADMIN_UID,
            now: started,
        };
        match webhooks::stage(&mut db, &call) {
            (Err(e), _) => Err(e.message),
            (Ok(_), pending) => Ok(pending.map(|p| p.posts).unwrap_or_default()),
        }
    })
    .await;
    let posts = match staged {
        Ok(Ok(posts)) => posts,
        Ok(Err(message)) => {
            return (StatusCode::BAD_REQUEST, AxumJson(json!({"error": message}))).into_response()
        }
        Err(e) => {
            let body = json!({"error": e.to_string()});
            return (StatusCode::INTERNAL_SERVER_ERROR, AxumJson(body)).into_response();
        }
    };
    // Odoo 19 queues webhooks for after the commit: a rolled-back change sends nothing.
    let posts = match state.odoo_version >= 19 {
        true => Vec::new(),
        false => posts,
    };
    let faults = state.faults();
    webhooks::deliver(&posts, faults.drop_webhooks, &state.webhooks).await;
    let body = json!({"ok": true, "posts": posts.len(), "write_date": fmt_dt_micros(&started), "applied": false});
    (StatusCode::OK, AxumJson(body)).into_response()
}

/// A write held uncommitted for `hold_ms`, stamped with the time of the call.
#[derive(Debug, Deserialize)]
pub struct Hold {
    pub model: String,
    pub ids: Vec<i64>,
    pub values: Map<String, Json>,
    #[serde(default)]
    pub hold_ms: u64,
    #[serde(default)]
    pub context: Option<Json>,
}

async fn hold(State(state): State<Arc<AppState>>, AxumJson(req): AxumJson<Hold>) -> Response {
    let started = now_micros();
    let ctx = {
        let db = state.db.read().unwrap_or_else(|e| e.into_inner());
        if db.table(&req.model).is_none() {
            return (
                StatusCode::BAD_REQUEST,
                AxumJson(json!({"error": format!("unknown model {}", req.model)})),
            )
                .into_response();
        }
        match rpc::context(&db, req.context.as_ref()) {
            Ok(ctx) => ctx,
            Err(e) => {
                return (
                    StatusCode::BAD_REQUEST,
                    AxumJson(json!({"error": e.message})),
                )
                    .into_response()
            }
        }
    };
    let worker = state.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(req.hold_ms)).await;
        // The commit waits for the write lock like any writer: off the async workers.
        let commit = move || {
            let mut db = worker.db.write().unwrap_or_else(|e| e.into_inner());
            let (model, ids, values) = (&req.model, &req.ids, &req.values);
            let outcome =
                crate::write::write(&mut db, model, ids, values, &ctx, started, ADMIN_UID);
            if let Err(e) = outcome {
                tracing::warn!(error = %e.message, "held write failed");
            }
        };
        let _ = tokio::task::spawn_blocking(commit).await;
    });
    let body =
        json!({"ok": true, "write_date": fmt_dt_micros(&started), "visible_after_ms": req.hold_ms});
    (StatusCode::OK, AxumJson(body)).into_response()
}
