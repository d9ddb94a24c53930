//! Wiring: the only place that names concrete types (SQLite store, JSON-RPC client).

use std::sync::Arc;

use odoo_rpc::{ClientConfig, OdooApi, OdooClient};

use crate::config::{Config, OdooSettings};
use crate::engine::SyncEngine;
use crate::store::{CatalogStore, SqliteStore, StoreError};

pub async fn open_store(config: &Config) -> Result<Arc<dyn CatalogStore>, StoreError> {
    Ok(Arc::new(SqliteStore::connect(&config.database_url).await?))
}

pub async fn connect_odoo(settings: &OdooSettings) -> Result<Arc<dyn OdooApi>, odoo_rpc::OdooError> {
    let mut client = ClientConfig::new(&settings.url, &settings.db, &settings.login, settings.password.clone());
    client.timeout = settings.timeout;
    Ok(Arc::new(OdooClient::connect(client).await?))
}

pub async fn engine(config: &Config) -> anyhow::Result<SyncEngine> {
    let store = open_store(config).await?;
    let odoo = connect_odoo(&config.odoo()?).await?;
    Ok(SyncEngine::new(odoo, store, config.sync.clone()))
}
