//! Wiring: the only place that names concrete types (SQLite or PostgreSQL store, JSON-RPC client).

use std::sync::Arc;

use odoo_rpc::{ClientConfig, LazyOdooClient, OdooApi, OdooClient, OdooError};
use tokio_util::sync::CancellationToken;

use crate::config::{Config, OdooSettings};
use crate::engine::site_webhooks::SiteWebhookWorker;
use crate::engine::{SyncEngine, SyncService};
use crate::http::{AppState, Application};
use crate::meters::MeteredOdoo;
use crate::store::{
    CatalogStore, OdooSession, PgStore, SiteTargets, SqliteStore, StoreError, StoreKind,
};

/// The store `DATABASE_URL` names: `sqlite://…` or `postgres://…` (`postgresql://…`).
pub async fn open_store(config: &Config) -> Result<Arc<dyn CatalogStore>, StoreError> {
    let url = &config.database_url;
    // Every catalog write, whichever command makes it, queues its site webhooks.
    let urls = config.site_webhooks.as_ref().map(|site| site.urls.clone());
    let targets = SiteTargets::new(urls.unwrap_or_default());
    Ok(match StoreKind::of_url(url) {
        Some(StoreKind::Sqlite) => {
            Arc::new(SqliteStore::connect(url).await?.with_site_webhooks(targets))
        }
        Some(StoreKind::Postgres) => {
            Arc::new(PgStore::connect(url).await?.with_site_webhooks(targets))
        }
        None => return Err(StoreError::UnsupportedUrl(url.clone())),
    })
}

pub fn client_config(settings: &OdooSettings) -> ClientConfig {
    let mut client = ClientConfig::new(
        &settings.url,
        &settings.db,
        &settings.login,
        settings.password.clone(),
    );
    client.timeout = settings.timeout;
    client.max_concurrency = settings.max_concurrency;
    client.api_key = settings.api_key.clone();
    client.protocol = settings.protocol;
    client
}

pub async fn connect_odoo(settings: &OdooSettings) -> Result<Arc<dyn OdooApi>, OdooError> {
    Ok(Arc::new(
        OdooClient::connect(client_config(settings)).await?,
    ))
}

/// For one-shot commands: connects now, failing fast, resuming the Odoo login an earlier process
/// kept (see `keep_odoo_session`) instead of logging in again.
pub async fn engine(config: &Config) -> anyhow::Result<SyncEngine> {
    let store = open_store(config).await?;
    let settings = config.odoo()?;
    let mut client = client_config(&settings);
    client.resume_uid = kept_session(store.as_ref(), &settings)
        .await
        .map(|session| session.uid);
    let odoo = Arc::new(OdooClient::connect(client).await?);
    Ok(SyncEngine::new(odoo, store, config.sync.clone()).with_images(image_store(config)?))
}

/// The image store `IMAGE_STORE` names.
pub fn image_store(config: &Config) -> anyhow::Result<Arc<dyn crate::store::ImageStore>> {
    Ok(Arc::new(crate::store::ObjectImageStore::open(
        &config.image_store,
    )?))
}

/// How long a kept login is resumed: after that the next process logs in (and, with `Auto`,
/// detects the protocol) again, so that an upgraded Odoo is noticed.
const SESSION_MAX_AGE: chrono::TimeDelta = chrono::TimeDelta::hours(24);

/// Keeps the engine's Odoo login in the store for the next one-shot command, when it is new.
pub async fn keep_odoo_session(config: &Config, engine: &SyncEngine) {
    let (Ok(settings), Some(uid)) = (config.odoo(), engine.odoo().resumable_uid()) else {
        return;
    };
    let store = engine.store().as_ref();
    if kept_session(store, &settings)
        .await
        .is_some_and(|kept| kept.uid == uid)
    {
        return;
    }
    let session = OdooSession {
        server: session_owner(&settings),
        uid,
        saved_at: chrono::Utc::now(),
    };
    if let Err(error) = store.save_odoo_session(&session).await {
        tracing::warn!(%error, "could not keep the Odoo login for the next run");
    }
}

/// The kept login of these settings' server, database and login, while it is fresh.
async fn kept_session(store: &dyn CatalogStore, settings: &OdooSettings) -> Option<OdooSession> {
    let kept = match store.odoo_session().await {
        Ok(kept) => kept?,
        Err(error) => {
            tracing::warn!(%error, "ignoring the kept Odoo login");
            return None;
        }
    };
    let fresh = chrono::Utc::now() - kept.saved_at < SESSION_MAX_AGE;
    (fresh && kept.server == session_owner(settings)).then_some(kept)
}

fn session_owner(settings: &OdooSettings) -> String {
    let url = settings.url.trim_end_matches('/');
    format!("{url} db={} login={}", settings.db, settings.login)
}

/// The server: the catalog is served even while Odoo is unreachable; Odoo is connected on first
/// use and again after a failed connection.
pub async fn application(
    config: &Config,
    cancel: CancellationToken,
) -> anyhow::Result<Application> {
    let store = open_store(config).await?;
    let odoo: Arc<dyn OdooApi> = Arc::new(MeteredOdoo::new(Arc::new(LazyOdooClient::new(
        client_config(&config.odoo()?),
    ))));
    let site_worker = config
        .site_webhooks
        .as_ref()
        .map(|site| SiteWebhookWorker::new(store.clone(), site.clone()));
    let engine =
        SyncEngine::new(odoo.clone(), store, config.sync.clone()).with_images(image_store(config)?);
    let service = SyncService::new(engine, cancel.clone());
    let state = AppState::new(service, odoo, config.serve.clone());
    let app = Application::build(state, config.serve.bind, cancel.clone()).await?;
    if let Some(worker) = site_worker {
        app.spawn_background(worker.run(cancel));
    }
    Ok(app)
}
