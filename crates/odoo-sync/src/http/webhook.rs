//! Odoo's webhooks in, and the inbox out to the admin page: failed events and their retry.
//!
//! Odoo waits at most 1 s for the answer, blocking the user's save, and never retries: the event
//! is committed to the inbox and acknowledged at once; processing happens in the worker.

use axum::extract::{Path, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::ApiError;
use super::extract::{LimitedBody, ListLimit, QueryParams};
use super::AppState;
use crate::domain::{parse_webhook, WebhookEvent, WebhookKind, WebhookState};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WebhookParams {
    /// The webhook secret, for senders that cannot add headers (Odoo).
    // Checked by `auth::webhook_only` before the handler; declared for the OpenAPI document.
    #[allow(dead_code)]
    token: Option<String>,
    /// `unlink` for the URL of an `on_unlink` rule; otherwise the record was created or written.
    event: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Accepted {
    /// The inbox event id.
    pub id: i64,
}

#[utoipa::path(post, path = "/api/products/sync/webhook", params(WebhookParams), tag = "webhooks",
    request_body(content = Object, description = "Odoo's payload: {\"_action\", \"_id\", \"_model\", \"id\", …fields}"),
    responses((status = 200, body = Accepted, description = "committed to the inbox"),
        (status = 400, description = "not a webhook of a synced model"), (status = 401, description = "wrong or missing secret"),
        (status = 404, description = "WEBHOOK_SECRET is not set"), (status = 413, description = "body too large")))]
pub async fn receive(
    State(state): State<AppState>,
    QueryParams(params): QueryParams<WebhookParams>,
    LimitedBody(body): LimitedBody,
) -> Result<Json<Accepted>, ApiError> {
    let kind = match params.event.as_deref() {
        None | Some("save") | Some("write") | Some("create") => WebhookKind::Save,
        Some("unlink") => WebhookKind::Unlink,
        Some(other) => {
            return Err(ApiError::bad_request(
                "invalid_query",
                format!("event must be save or unlink, got '{other}'"),
            ))
        }
    };
    let event = parse_webhook(&body, kind)
        .map_err(|message| ApiError::bad_request("invalid_webhook", message))?;
    let id = state.store.enqueue_webhook(&event).await?;
    Ok(Json(Accepted { id }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct InboxParams {
    /// `pending`, `done` or `failed`; all when absent.
    status: Option<String>,
    /// 1 to 500, default 100.
    limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventView {
    pub id: i64,
    pub model: String,
    pub record_id: i64,
    pub kind: String,
    pub status: String,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub outcome: Option<String>,
    pub received_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl From<WebhookEvent> for EventView {
    fn from(event: WebhookEvent) -> Self {
        EventView {
            id: event.id,
            model: event.model,
            record_id: event.record_id,
            kind: event.kind.as_str().to_string(),
            status: event.state.to_string(),
            attempts: event.attempts,
            last_error: event.last_error,
            outcome: event.outcome,
            received_at: event.received_at,
            updated_at: event.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventList {
    pub events: Vec<EventView>,
}

#[utoipa::path(get, path = "/api/products/sync/webhooks", params(InboxParams), tag = "webhooks", security(("admin" = [])),
    responses((status = 200, body = EventList)))]
pub async fn list(
    State(state): State<AppState>,
    QueryParams(params): QueryParams<InboxParams>,
) -> Result<Json<EventList>, ApiError> {
    let status = params
        .status
        .as_deref()
        .map(|s| s.parse::<WebhookState>())
        .transpose()
        .map_err(|message| ApiError::bad_request("invalid_query", format!("status: {message}")))?;
    let limit = ListLimit::new(100, 500).of_query(params.limit)?;
    let events = state.store.webhooks(status, limit).await?;
    Ok(Json(EventList {
        events: events.into_iter().map(EventView::from).collect(),
    }))
}

#[utoipa::path(post, path = "/api/products/sync/webhooks/{id}/retry", params(("id" = i64, Path, description = "inbox event id")),
    tag = "webhooks", security(("admin" = [])),
    responses((status = 200, body = EventView), (status = 404, description = "no failed event with this id")))]
pub async fn retry(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<EventView>, ApiError> {
    let id: i64 = id.parse().map_err(|_| {
        ApiError::bad_request(
            "invalid_path",
            format!("event id must be an integer, got '{id}'"),
        )
    })?;
    let event = state.store.retry_webhook(id).await?;
    let event = event.ok_or_else(|| ApiError::NotFound(format!("no failed webhook event {id}")))?;
    Ok(Json(EventView::from(event)))
}
