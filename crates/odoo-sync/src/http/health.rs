//! `/healthz`: the process is up. `/readyz`: the store and Odoo answer, and how old the last
//! successful sync is.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use super::AppState;
use crate::domain::RunStatus;

pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let store = match state.store.ping().await {
        Ok(()) => json!({"ok": true}),
        Err(error) => json!({"ok": false, "error": error.to_string()}),
    };
    let odoo = match tokio::time::timeout(Duration::from_secs(3), state.odoo.version()).await {
        Ok(Ok(version)) => json!({"ok": true, "version": version.server_version}),
        Ok(Err(error)) => json!({"ok": false, "error": error.to_string()}),
        Err(_) => json!({"ok": false, "error": "no answer within 3 s"}),
    };
    let runs = state.store.recent_runs(50).await.unwrap_or_default();
    let last_success = runs
        .iter()
        .find(|r| r.status == RunStatus::Succeeded)
        .and_then(|r| r.finished_at);
    let age = last_success.map(|at| (chrono::Utc::now() - at).num_seconds());
    let ready = store["ok"] == true && odoo["ok"] == true;
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({"ready": ready, "store": store, "odoo": odoo, "lastSuccessAt": last_success, "lastSyncAgeSeconds": age});
    (status, Json(body))
}
