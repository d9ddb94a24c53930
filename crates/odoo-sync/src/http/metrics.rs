//! `GET /metrics` (Prometheus text), and the middleware that meters HTTP answers: catalog
//! requests by route template, webhook acknowledgements by latency. Names live in `meters`.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics::{counter, histogram};

use super::auth;
use super::error::ApiError;
use super::AppState;
use crate::meters;

/// The content type of Prometheus' text exposition format.
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Every metric of this process; the inbox gauges are read from the store now. Open unless
/// `METRICS_TOKEN` is set.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    security((), ("metrics" = [])),
    responses((status = 200, content_type = "text/plain; version=0.0.4", body = String,
            description = "Prometheus text format; names in docs/metrics.md"),
        (status = 401, description = "METRICS_TOKEN is set and the bearer token is missing or wrong")))]
pub async fn scrape(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(expected) = state.settings.metrics_token.as_ref() {
        match auth::bearer(&headers) {
            Some(token) if auth::accepts(expected, token) => {}
            _ => {
                return ApiError::Unauthorized(
                    "missing or wrong Authorization: Bearer <METRICS_TOKEN>",
                )
                .into_response()
            }
        }
    }
    // A store that does not answer leaves the gauges at their last value: the rest of the
    // scrape (Odoo errors, runs) matters most exactly then. The failure is logged.
    match state.store.webhook_inbox_stats().await {
        Ok(stats) => meters::inbox_sampled(&stats, chrono::Utc::now()),
        Err(error) => tracing::warn!(%error, "metrics: could not read the webhook inbox"),
    }
    match state.store.site_outbox_stats().await {
        Ok(stats) => meters::outbox_sampled(&stats, chrono::Utc::now()),
        Err(error) => tracing::warn!(%error, "metrics: could not read the site outbox"),
    }
    match state.store.image_stats().await {
        Ok(stats) => meters::images_sampled(&stats),
        Err(error) => tracing::warn!(%error, "metrics: could not read the image counts"),
    }
    state.metrics.run_upkeep();
    let mut response = state.metrics.render().into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(TEXT_FORMAT));
    response
}

/// The route template (`/api/products/{id}`), never the raw path, so ids make no new series.
fn route(request: &Request) -> String {
    request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |path| path.as_str().to_string())
}

/// Counts every catalog answer, 304s, cached bodies and refusals included.
pub async fn count_catalog_requests(request: Request, next: Next) -> Response {
    let route = route(&request);
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    counter!(meters::CATALOG_REQUESTS, "route" => route, "status" => status).increment(1);
    response
}

/// How long Odoo waits for the webhook's answer (it waits at most 1 s, blocking the user's save).
pub async fn time_webhook_ack(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    histogram!(meters::WEBHOOK_ACK_SECONDS, "status" => status).record(started.elapsed());
    response
}
