//! `/healthz`: the process is up. `/readyz`: the store and Odoo answer, and how old the last
//! successful sync is, checked at most every `READINESS_TTL`.

use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use super::AppState;
use crate::domain::RunStatus;

pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// How long a readiness answer is reused: probes every second cost Odoo one call per interval,
/// not one each.
const READINESS_TTL: Duration = Duration::from_secs(5);

/// The last readiness check, shared by every probe.
#[derive(Default)]
pub struct ReadinessCache(tokio::sync::Mutex<Option<(Instant, StatusCode, Value)>>);

/// Anyone may ask, so the answer says what is down in our words; the why is logged.
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let mut last = state.readiness.0.lock().await;
    if let Some((at, status, body)) = last.as_ref() {
        if at.elapsed() < READINESS_TTL {
            return (*status, Json(body.clone()));
        }
    }
    let (status, body) = check_readiness(&state).await;
    *last = Some((Instant::now(), status, body.clone()));
    (status, Json(body))
}

async fn check_readiness(state: &AppState) -> (StatusCode, Value) {
    let store = match state.store.ping().await {
        Ok(()) => json!({"ok": true}),
        Err(error) => {
            tracing::warn!(%error, "readiness: the store does not answer");
            json!({"ok": false, "error": "the store does not answer"})
        }
    };
    let odoo = match tokio::time::timeout(Duration::from_secs(3), state.odoo.version()).await {
        Ok(Ok(version)) => json!({"ok": true, "version": version.server_version}),
        Ok(Err(error)) => {
            tracing::warn!(%error, "readiness: Odoo does not answer");
            json!({"ok": false, "error": "Odoo does not answer"})
        }
        Err(_) => json!({"ok": false, "error": "Odoo gave no answer within 3 s"}),
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
    let body = json!({"ready": ready, "store": store, "odoo": odoo, "lastSuccessAt": last_success,
        "lastSyncAgeSeconds": age, "checkedAt": chrono::Utc::now()});
    (status, body)
}
