//! Wiring: the only place that names concrete types (SQLite store, JSON-RPC client).

use std::sync::Arc;

use async_trait::async_trait;
use odoo_rpc::{
    ClientConfig, Context, Domain, OdooApi, OdooClient, OdooError, Record, SearchOptions,
    ServerVersion,
};
use serde_json::{Map, Value};
use tokio::sync::OnceCell;
use tokio_util::sync::CancellationToken;

use crate::config::{Config, OdooSettings};
use crate::engine::{SyncEngine, SyncService};
use crate::http::{AppState, Application};
use crate::store::{CatalogStore, SqliteStore, StoreError};

pub async fn open_store(config: &Config) -> Result<Arc<dyn CatalogStore>, StoreError> {
    Ok(Arc::new(SqliteStore::connect(&config.database_url).await?))
}

pub fn client_config(settings: &OdooSettings) -> ClientConfig {
    let mut client = ClientConfig::new(
        &settings.url,
        &settings.db,
        &settings.login,
        settings.password.clone(),
    );
    client.timeout = settings.timeout;
    client.api_key = settings.api_key.clone();
    client.protocol = settings.protocol;
    client
}

pub async fn connect_odoo(settings: &OdooSettings) -> Result<Arc<dyn OdooApi>, OdooError> {
    Ok(Arc::new(
        OdooClient::connect(client_config(settings)).await?,
    ))
}

/// For one-shot commands: connects (and authenticates) now, failing fast.
pub async fn engine(config: &Config) -> anyhow::Result<SyncEngine> {
    let store = open_store(config).await?;
    let odoo = connect_odoo(&config.odoo()?).await?;
    Ok(SyncEngine::new(odoo, store, config.sync.clone()))
}

/// The server: the catalog is served even while Odoo is unreachable; Odoo is connected on first
/// use and again after a failed connection.
pub async fn application(
    config: &Config,
    cancel: CancellationToken,
) -> anyhow::Result<Application> {
    let store = open_store(config).await?;
    let odoo: Arc<dyn OdooApi> = Arc::new(LazyOdoo {
        settings: config.odoo()?,
        client: OnceCell::new(),
    });
    let engine = SyncEngine::new(odoo.clone(), store, config.sync.clone());
    let service = SyncService::new(engine, cancel.clone());
    let state = AppState::new(service, odoo, config.serve.clone());
    Ok(Application::build(state, config.serve.bind, cancel).await?)
}

struct LazyOdoo {
    settings: OdooSettings,
    client: OnceCell<OdooClient>,
}

impl LazyOdoo {
    async fn client(&self) -> Result<&OdooClient, OdooError> {
        self.client
            .get_or_try_init(|| OdooClient::connect(client_config(&self.settings)))
            .await
    }
}

#[async_trait]
impl OdooApi for LazyOdoo {
    async fn version(&self) -> Result<ServerVersion, OdooError> {
        self.client().await?.version().await
    }
    async fn search(
        &self,
        model: &str,
        domain: &Domain,
        opts: &SearchOptions,
    ) -> Result<Vec<i64>, OdooError> {
        self.client().await?.search(model, domain, opts).await
    }
    async fn search_read(
        &self,
        model: &str,
        domain: &Domain,
        fields: &[&str],
        opts: &SearchOptions,
    ) -> Result<Vec<Record>, OdooError> {
        self.client()
            .await?
            .search_read(model, domain, fields, opts)
            .await
    }
    async fn read(
        &self,
        model: &str,
        ids: &[i64],
        fields: &[&str],
        context: &Context,
    ) -> Result<Vec<Record>, OdooError> {
        self.client().await?.read(model, ids, fields, context).await
    }
    async fn search_count(
        &self,
        model: &str,
        domain: &Domain,
        context: &Context,
    ) -> Result<u64, OdooError> {
        self.client()
            .await?
            .search_count(model, domain, context)
            .await
    }
    async fn fields_get(
        &self,
        model: &str,
        attributes: &[&str],
    ) -> Result<Map<String, Value>, OdooError> {
        self.client().await?.fields_get(model, attributes).await
    }
    async fn create(
        &self,
        model: &str,
        values: Vec<Map<String, Value>>,
        context: &Context,
    ) -> Result<Vec<i64>, OdooError> {
        self.client().await?.create(model, values, context).await
    }
    async fn write(
        &self,
        model: &str,
        ids: &[i64],
        values: Map<String, Value>,
        context: &Context,
    ) -> Result<(), OdooError> {
        self.client()
            .await?
            .write(model, ids, values, context)
            .await
    }
    async fn unlink(&self, model: &str, ids: &[i64], context: &Context) -> Result<(), OdooError> {
        self.client().await?.unlink(model, ids, context).await
    }
    async fn execute_kw(
        &self,
        model: &str,
        method: &str,
        args: Vec<Value>,
        kwargs: Map<String, Value>,
    ) -> Result<Value, OdooError> {
        self.client()
            .await?
            .execute_kw(model, method, args, kwargs)
            .await
    }
}
