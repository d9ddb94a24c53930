//! The site outbox on the admin API: deliveries of "catalog changed" events to websites by
//! status, and the replay of a failed one.

use axum::extract::{Path, State};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::ApiError;
use super::extract::{ListLimit, QueryParams};
use super::AppState;
use crate::domain::site_event::{DeliveryStatus, SiteDelivery};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeliveryParams {
    /// `pending`, `failed` or `delivered`; all when absent.
    status: Option<String>,
    /// 1 to 500, default 100.
    limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({
    "id": 12, "eventId": "msg_3f0c9a4e1b2d4c5e8f7a6b5c4d3e2f1a", "url": "https://shop.example/api/revalidate",
    "status": "failed", "attempts": 7, "lastStatus": 500, "lastError": "HTTP 500: upstream down",
    "nextAttemptAt": null, "createdAt": "2026-12-06T10:00:00Z", "deliveredAt": null,
    "event": {"type": "catalog.changed", "changes": {"upserted": [42], "deleted": []},
              "tags": ["category:5", "product:42", "products"], "changeToken": "Y2hhbmdlczoxMDI"}
}))]
pub struct DeliveryView {
    /// The delivery id (one per event and target URL), for the replay route.
    pub id: i64,
    /// The `webhook-id` header of every attempt.
    pub event_id: String,
    pub url: String,
    pub status: String,
    pub attempts: u32,
    /// The HTTP status of the last answer, if one came.
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    /// When the next attempt is due (pending deliveries only).
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    /// The body POSTed.
    #[schema(value_type = Object)]
    pub event: serde_json::Value,
}

impl From<SiteDelivery> for DeliveryView {
    fn from(delivery: SiteDelivery) -> Self {
        DeliveryView {
            id: delivery.id,
            event_id: delivery.event_id,
            url: delivery.url,
            status: delivery.status.to_string(),
            attempts: delivery.attempts,
            last_status: delivery.last_status,
            last_error: delivery.last_error,
            next_attempt_at: (delivery.status == DeliveryStatus::Pending)
                .then_some(delivery.next_at),
            created_at: delivery.created_at,
            delivered_at: delivery.delivered_at,
            event: serde_json::from_str(&delivery.body).unwrap_or(serde_json::Value::Null),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryList {
    pub deliveries: Vec<DeliveryView>,
    /// Failed deliveries in all, whatever the filter (for a dashboard's warning).
    pub failed: u64,
}

#[utoipa::path(get, path = "/api/site-webhooks", operation_id = "list_site_webhooks", params(DeliveryParams), tag = "site webhooks", security(("admin" = [])),
    responses((status = 200, body = DeliveryList, description = "deliveries, oldest first"),
        (status = 400, description = "unknown status or limit out of range")))]
pub async fn list(
    State(state): State<AppState>,
    QueryParams(params): QueryParams<DeliveryParams>,
) -> Result<Json<DeliveryList>, ApiError> {
    let status = params
        .status
        .as_deref()
        .map(str::parse::<DeliveryStatus>)
        .transpose()
        .map_err(|message| ApiError::bad_request("invalid_query", format!("status: {message}")))?;
    let limit = ListLimit::new(100, 500).of_query(params.limit)?;
    let deliveries = state.store.site_deliveries(status, limit).await?;
    let failed = state.store.failed_site_deliveries().await?;
    Ok(Json(DeliveryList {
        deliveries: deliveries.into_iter().map(DeliveryView::from).collect(),
        failed,
    }))
}

#[utoipa::path(post, path = "/api/site-webhooks/{id}/replay", operation_id = "replay_site_webhook", params(("id" = i64, Path, description = "delivery id")),
    tag = "site webhooks", security(("admin" = [])),
    responses((status = 200, body = DeliveryView, description = "pending again, due now, attempts reset"),
        (status = 404, description = "no failed delivery with this id")))]
pub async fn replay(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<DeliveryView>, ApiError> {
    let id: i64 = id.parse().map_err(|_| {
        ApiError::bad_request(
            "invalid_path",
            format!("delivery id must be an integer, got '{id}'"),
        )
    })?;
    let replayed = state.store.replay_site_delivery(id).await?;
    let replayed = replayed
        .ok_or_else(|| ApiError::NotFound(format!("no failed site webhook delivery {id}")))?;
    Ok(Json(DeliveryView::from(replayed)))
}
