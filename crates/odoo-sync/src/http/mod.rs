//! The HTTP server: catalog API, sync API, cron endpoint, admin page, health checks.
//!
//! Owns routing, `ApiError` (the only `IntoResponse` error) and the admin assets. Talks to the
//! engine (`SyncService`) and reads through the store trait; never imports sqlx.

mod admin;
mod auth;
mod catalog;
mod catalog_cache;
mod error;
mod etag;
mod extract;
mod facets;
mod health;
mod images;
mod metrics;
mod openapi;
mod page_cursor;
mod request_id;
mod site_webhooks;
mod stream_ticket;
mod sync;
mod views;
mod webhook;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware;
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, Utc};
use odoo_rpc::OdooApi;
use secrecy::ExposeSecret;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::config::{RotatingSecret, ServeSettings};
use crate::engine::scheduler::{self, next_firing};
use crate::engine::sweeps;
use crate::engine::webhooks::{self, WebhookSettings};
use crate::engine::SyncService;
use crate::store::CatalogStore;

pub use error::ApiError;
pub use openapi::ApiDoc;

#[derive(Clone)]
pub struct AppState {
    store: Arc<dyn CatalogStore>,
    sync: SyncService,
    odoo: Arc<dyn OdooApi>,
    settings: Arc<ServeSettings>,
    admin_token: Option<RotatingSecret>,
    cron_secret: Option<RotatingSecret>,
    cursors: page_cursor::CursorSigner,
    stream_tickets: Arc<stream_ticket::StreamTickets>,
    catalog_cache: Arc<catalog_cache::CatalogCache>,
    readiness: Arc<health::ReadinessCache>,
    /// Renders `GET /metrics`.
    metrics: metrics_exporter_prometheus::PrometheusHandle,
    /// Fires when the server stops: long-lived answers (SSE) end so shutdown does not wait on them.
    shutdown: CancellationToken,
}

impl AppState {
    pub fn new(sync: SyncService, odoo: Arc<dyn OdooApi>, settings: ServeSettings) -> Self {
        let key = match &settings.cursor_secret {
            Some(secret) => secret.expose_secret().as_bytes().to_vec(),
            None => random_key(),
        };
        AppState {
            store: sync.engine().store().clone(),
            admin_token: settings.admin_token.clone(),
            cron_secret: settings.cron_secret.clone(),
            cursors: page_cursor::CursorSigner::new(&key),
            stream_tickets: Arc::new(stream_ticket::StreamTickets::new(&key)),
            catalog_cache: Arc::new(catalog_cache::CatalogCache::new(&key)),
            readiness: Arc::default(),
            metrics: crate::meters::install(),
            shutdown: CancellationToken::new(),
            sync,
            odoo,
            settings: Arc::new(settings),
        }
    }

    fn check_catalog_access(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        if self.settings.catalog_public {
            return Ok(());
        }
        let given = auth::bearer(headers);
        let accepted = [
            self.settings.catalog_token.as_ref(),
            self.admin_token.as_ref(),
        ];
        match given {
            Some(token)
                if accepted
                    .into_iter()
                    .flatten()
                    .any(|secret| auth::accepts(secret, token)) =>
            {
                Ok(())
            }
            _ => Err(ApiError::Unauthorized(
                "the catalog is private: send Authorization: Bearer <CATALOG_TOKEN>",
            )),
        }
    }

    fn next_scheduled(&self) -> Option<DateTime<Utc>> {
        next_firing(&self.settings.schedules, self.settings.timezone, Utc::now()).map(|(at, _)| at)
    }
}

fn random_key() -> Vec<u8> {
    rand::random::<[u8; 32]>().to_vec()
}

pub fn router(state: AppState) -> Router {
    let catalog = Router::new()
        .route("/api/products", get(catalog::list_products))
        .route("/api/products/by-sku/{sku}", get(catalog::product_by_sku))
        .route("/api/products/{id}", get(catalog::product_by_id))
        .route("/api/categories", get(catalog::categories))
        .route("/api/public-categories", get(catalog::public_categories))
        .route("/api/pricelists", get(catalog::pricelists))
        .route("/api/changes", get(catalog::changes))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            catalog_cache::versioned,
        ))
        .route_layer(middleware::from_fn(metrics::count_catalog_requests));
    let documents = Router::new()
        .route("/api/openapi.json", get(openapi::document))
        .layer(middleware::from_fn_with_state(
            state.settings.cache_control.clone(),
            etag::cache_headers,
        ));
    let admin = Router::new()
        .route("/api/products/sync", post(sync::start_sync))
        .route("/api/products/sync/status", get(sync::status))
        .route("/api/products/sync/runs", get(sync::runs))
        .route(
            "/api/products/sync/events/ticket",
            post(sync::stream_ticket),
        )
        .route("/api/products/sync/webhooks", get(webhook::list))
        .route(
            "/api/products/sync/webhooks/{id}/retry",
            post(webhook::retry),
        )
        .route("/api/site-webhooks", get(site_webhooks::list))
        .route(
            "/api/site-webhooks/{id}/replay",
            post(site_webhooks::replay),
        )
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::admin_only,
        ));
    let cron = Router::new()
        .route("/api/cron/sync", get(sync::cron).post(sync::cron))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::cron_only,
        ));
    let webhook = Router::new()
        .route("/api/products/sync/webhook", post(webhook::receive))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::webhook_only,
        ))
        .route_layer(middleware::from_fn(metrics::time_webhook_ack));
    // The progress stream checks its own credential: the admin token or a stream ticket.
    let sync = Router::new()
        .route("/api/products/sync/events", get(sync::events))
        .merge(admin)
        .merge(cron)
        .merge(webhook)
        .layer(middleware::from_fn(etag::no_store));
    // Images answer with their own immutable ETag, not the catalog version's.
    let images = Router::new()
        .route("/api/images/{hash}", get(images::image))
        .route_layer(middleware::from_fn(metrics::count_catalog_requests));
    Router::new()
        .merge(catalog)
        .merge(images)
        .merge(documents)
        .merge(sync)
        .merge(admin::routes())
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::scrape))
        .fallback(|| async { ApiError::NotFound("no such route".to_string()) })
        .layer(middleware::from_fn(no_sniffing))
        .layer(middleware::from_fn(request_id::assign))
        .layer(DefaultBodyLimit::max(extract::BODY_LIMIT))
        .layer(cors(&state.settings.cors_origins))
        .with_state(state)
}

/// Every answer is what its Content-Type says: a browser must not guess a script out of JSON.
async fn no_sniffing(
    request: axum::extract::Request,
    next: middleware::Next,
) -> axum::response::Response {
    let mut response = next.run(request).await;
    response.headers_mut().insert(
        axum::http::header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

fn cors(origins: &[String]) -> CorsLayer {
    let layer = CorsLayer::new()
        .allow_methods([axum::http::Method::GET, axum::http::Method::POST])
        .allow_headers([
            axum::http::header::AUTHORIZATION,
            axum::http::header::CONTENT_TYPE,
            axum::http::header::IF_NONE_MATCH,
        ])
        .expose_headers([axum::http::header::ETAG]);
    if origins.iter().any(|o| o == "*") {
        return layer.allow_origin(AllowOrigin::any());
    }
    let allowed: Vec<HeaderValue> = origins.iter().filter_map(|o| o.parse().ok()).collect();
    layer.allow_origin(AllowOrigin::list(allowed))
}

/// How long a stopping server waits for its background work (a webhook batch, a sweep, a site
/// delivery) to end after the last request: under the 30 s a container is usually given.
const BACKGROUND_GRACE: std::time::Duration = std::time::Duration::from_secs(25);

/// The server as production and tests run it: bind first (port 0 allowed), then serve. Every
/// background task it runs is tracked, and a stop waits for them.
pub struct Application {
    listener: TcpListener,
    state: AppState,
    cancel: CancellationToken,
    background: TaskTracker,
}

impl Application {
    pub async fn build(
        mut state: AppState,
        bind: SocketAddr,
        cancel: CancellationToken,
    ) -> std::io::Result<Self> {
        state.shutdown = cancel.clone();
        let listener = TcpListener::bind(bind).await?;
        Ok(Application {
            listener,
            state,
            cancel,
            background: TaskTracker::new(),
        })
    }

    /// Runs `task` beside the server; it must end soon after the server's cancel token fires,
    /// and a stop waits for it (up to `BACKGROUND_GRACE`).
    pub fn spawn_background<F>(&self, task: F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        self.background.spawn(task);
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Serves until `cancel` fires, then lets a running sync commit its batch and the background
    /// work end (an inbox batch being handled is finished, not dropped) before returning.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let settings = self.state.settings.clone();
        let service = self.state.sync.clone();
        if !settings.schedules.is_empty() {
            let schedules = settings.schedules.clone();
            self.background.spawn(scheduler::run_schedules(
                service.clone(),
                schedules,
                settings.timezone,
                self.cancel.clone(),
            ));
        }
        let mut webhook_settings = WebhookSettings::default();
        webhook_settings.coalesce.quiet = settings.webhook_coalesce;
        for _ in 0..settings.webhook_workers {
            let engine = service.engine().clone();
            self.background.spawn(webhooks::run_webhook_worker(
                engine,
                webhook_settings.clone(),
                self.cancel.clone(),
            ));
        }
        let periods = sweeps::SweepPeriods {
            sweep: settings.sweep_interval,
            reconcile: settings.reconcile_interval,
            webhook_retention: settings.webhook_retention,
            image_retention: settings.image_retention,
        };
        self.background.spawn(sweeps::run_sweeps(
            service.clone(),
            periods,
            self.cancel.clone(),
        ));
        let cancel = self.cancel.clone();
        let app = router(self.state);
        let served = axum::serve(self.listener, app)
            .with_graceful_shutdown(async move { cancel.cancelled().await })
            .await;
        // An error from serve ends the server too: the background work must see it stop.
        self.cancel.cancel();
        service.shutdown().await;
        self.background.close();
        if tokio::time::timeout(BACKGROUND_GRACE, self.background.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                tasks = self.background.len(),
                "background work still running {BACKGROUND_GRACE:?} after the stop; leaving it"
            );
        }
        served
    }
}
