//! The sync API (the seed's interface, made safe), its live progress over SSE, and the
//! Vercel-style cron endpoint.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::IntoResponse;
use axum::Json;
use futures::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use tokio_stream::wrappers::BroadcastStream;
use utoipa::{IntoParams, ToSchema};

use super::auth::{bearer, require_admin};
use super::error::ApiError;
use super::extract::{JsonBody, ListLimit, QueryParams};

/// Products in one progressive step (`limit` of the body; a step always names its own).
const PROGRESSIVE_STEP: ListLimit = ListLimit::new(200, 100_000);
use super::views::RunView;
use super::AppState;
use crate::domain::{RunStatus, SyncMode, Trigger};
use crate::engine::{RunEvent, SyncRequest};

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SyncBody {
    /// `true`: a full sync, with deletions. `false` or absent: incremental.
    #[serde(default)]
    force_refresh: bool,
    /// Run one progressive step of at most this many products and answer when it is done.
    limit: Option<u64>,
    /// `nextCursor` of the previous step.
    cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StepView {
    pub run_id: i64,
    pub processed: u64,
    pub total: Option<u64>,
    pub done: bool,
    pub next_cursor: Option<String>,
    pub status: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StartedView {
    pub run_id: i64,
}

#[utoipa::path(post, path = "/api/products/sync", request_body = SyncBody, tag = "sync", security(("admin" = [])),
    responses((status = 200, description = "one progressive step ran", body = StepView),
        (status = 202, description = "a whole run started in the background", body = StartedView),
        (status = 401, description = "no or wrong token"), (status = 409, description = "a run is already going")))]
pub async fn start_sync(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<SyncBody>,
) -> Result<axum::response::Response, ApiError> {
    let mode = if body.force_refresh {
        SyncMode::Full
    } else {
        SyncMode::Incremental
    };
    let request = SyncRequest {
        mode,
        trigger: Trigger::Api,
    };
    let Some(limit) = body.limit else {
        if body.cursor.is_some() {
            return Err(ApiError::bad_request(
                "invalid_body",
                "cursor needs limit: it continues a progressive run step by step",
            ));
        }
        let run = state.sync.start(request).await?;
        return Ok((StatusCode::ACCEPTED, Json(StartedView { run_id: run.id.0 })).into_response());
    };
    let limit = u64::from(PROGRESSIVE_STEP.of_body(limit)?);
    let outcome = state
        .sync
        .step(request, limit, body.cursor.as_deref())
        .await?;
    let run = &outcome.run;
    let view = StepView {
        run_id: run.id.0,
        processed: run.processed,
        total: run.total,
        done: outcome.done,
        next_cursor: outcome.next_cursor.clone(),
        status: run.status.to_string(),
    };
    Ok(Json(view).into_response())
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatusView {
    pub current: Option<RunView>,
    pub last: Option<RunView>,
    pub last_success_at: Option<chrono::DateTime<chrono::Utc>>,
    pub next_scheduled_at: Option<chrono::DateTime<chrono::Utc>>,
    pub catalog_products: u64,
    /// Images in the image store (distinct blobs, originals only).
    pub catalog_images: u64,
    /// Their size in bytes.
    pub catalog_image_bytes: u64,
}

#[utoipa::path(get, path = "/api/products/sync/status", tag = "sync", security(("admin" = [])),
    responses((status = 200, body = StatusView), (status = 401, description = "no or wrong token")))]
pub async fn status(State(state): State<AppState>) -> Result<Json<StatusView>, ApiError> {
    let store = &state.store;
    let runs = store.recent_runs(50).await?;
    let current = runs
        .iter()
        .find(|r| r.status == RunStatus::Running)
        .map(RunView::from);
    let last = runs.iter().find(|r| r.is_finished()).map(RunView::from);
    let images = store.image_stats().await?;
    let last_success_at = runs
        .iter()
        .find(|r| r.status == RunStatus::Succeeded)
        .and_then(|r| r.finished_at);
    Ok(Json(StatusView {
        current,
        last,
        last_success_at,
        next_scheduled_at: state.next_scheduled(),
        catalog_products: store.product_count().await?,
        catalog_images: images.count,
        catalog_image_bytes: images.bytes,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RunsParams {
    /// How many runs, newest first, 1 to 200 (default 20).
    limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RunList {
    pub runs: Vec<RunView>,
}

#[utoipa::path(get, path = "/api/products/sync/runs", params(RunsParams), tag = "sync", security(("admin" = [])),
    responses((status = 200, body = RunList)))]
pub async fn runs(
    State(state): State<AppState>,
    QueryParams(params): QueryParams<RunsParams>,
) -> Result<Json<RunList>, ApiError> {
    let limit = ListLimit::new(20, 200).of_query(params.limit)?;
    let runs = state.store.recent_runs(limit).await?;
    Ok(Json(RunList {
        runs: runs.iter().map(RunView::from).collect(),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EventsParams {
    /// A stream ticket from `POST /api/products/sync/events/ticket`, for clients that cannot send
    /// headers (EventSource).
    ticket: Option<String>,
    /// Refused with a 401 that says why: the admin token does not belong in a URL (proxies
    /// log them).
    token: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TicketView {
    /// Opens one `GET /api/products/sync/events?ticket=…` stream, once.
    ticket: String,
    expires_at: chrono::DateTime<chrono::Utc>,
}

#[utoipa::path(post, path = "/api/products/sync/events/ticket", tag = "sync", security(("admin" = [])),
    responses((status = 200, body = TicketView, description = "A single-use ticket for the progress stream, valid for a minute")))]
pub async fn stream_ticket(State(state): State<AppState>) -> Json<TicketView> {
    let (ticket, expires_at) = state.stream_tickets.issue(chrono::Utc::now());
    Json(TicketView { ticket, expires_at })
}

/// The admin token in `Authorization`, or a stream ticket in the query.
fn authorize_stream(
    state: &AppState,
    headers: &HeaderMap,
    params: &EventsParams,
) -> Result<(), ApiError> {
    if params.token.is_some() {
        return Err(ApiError::Unauthorized(
            "the admin token is not accepted in the URL (proxies log URLs): send Authorization: \
             Bearer <ADMIN_TOKEN>, or a ticket from POST /api/products/sync/events/ticket",
        ));
    }
    match (&params.ticket, bearer(headers)) {
        (Some(_), None) if state.admin_token.is_none() => Err(ApiError::SyncApiDisabled),
        (Some(ticket), None) => state
            .stream_tickets
            .redeem(ticket, chrono::Utc::now())
            .map_err(|error| ApiError::TicketRefused(error.to_string())),
        (_, token) => require_admin(state.admin_token.as_ref(), token),
    }
}

#[utoipa::path(get, path = "/api/products/sync/events", params(EventsParams), tag = "sync", security(("admin" = [])),
    responses((status = 200, description = "text/event-stream: `progress` events (RunView) after each batch, `done` at the end")))]
pub async fn events(
    State(state): State<AppState>,
    headers: HeaderMap,
    QueryParams(params): QueryParams<EventsParams>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    authorize_stream(&state, &headers, &params)?;
    let updates = BroadcastStream::new(state.sync.subscribe());
    let current = state.store.running_run().await?;
    let first = current.map(|run| sse_event("progress", &RunView::from(&run)));
    let live = updates.filter_map(|event| async move {
        match event {
            Ok(RunEvent::Progress(progress)) => {
                Some(sse_event("progress", &RunView::from(&progress)))
            }
            Ok(RunEvent::Finished(run)) => Some(sse_event("done", &RunView::from(run.as_ref()))),
            // A slow listener missed some batches: the next one catches it up.
            Err(_) => None,
        }
    });
    let shutdown = state.shutdown.clone().cancelled_owned();
    let stream = futures::stream::iter(first)
        .chain(live)
        .take_until(shutdown)
        .map(Ok);
    Ok(Sse::new(stream).keep_alive(
        KeepAlive::new()
            .interval(Duration::from_secs(15))
            .text("keepalive"),
    ))
}

fn sse_event(name: &str, view: &RunView) -> Event {
    Event::default()
        .event(name)
        .json_data(view)
        .expect("run views serialise")
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CronParams {
    /// `true` for a full sync with deletions.
    full: Option<bool>,
}

#[utoipa::path(get, path = "/api/cron/sync", params(CronParams), tag = "sync", security(("cron" = [])),
    responses((status = 202, body = StartedView), (status = 401, description = "wrong or missing CRON_SECRET"),
        (status = 404, description = "CRON_SECRET is not set"), (status = 409, description = "a run is already going; recorded as skipped")))]
pub async fn cron(
    State(state): State<AppState>,
    QueryParams(params): QueryParams<CronParams>,
) -> Result<(StatusCode, Json<StartedView>), ApiError> {
    let mode = if params.full.unwrap_or(false) {
        SyncMode::Full
    } else {
        SyncMode::Incremental
    };
    match state
        .sync
        .start(SyncRequest {
            mode,
            trigger: Trigger::Cron,
        })
        .await
    {
        Ok(run) => Ok((StatusCode::ACCEPTED, Json(StartedView { run_id: run.id.0 }))),
        Err(crate::engine::SyncError::RunInProgress { running }) => {
            let reason = format!("skipped: sync run {running} was in progress");
            state
                .store
                .record_skipped_run(mode, Trigger::Cron, &reason)
                .await?;
            Err(ApiError::RunInProgress(running))
        }
        Err(other) => Err(other.into()),
    }
}
