//! `LazyOdooClient`: connecting deferred to the first call.

use async_trait::async_trait;
use serde_json::{Map, Value};
use tokio::sync::OnceCell;

use crate::client::{ClientConfig, OdooClient};
use crate::domain::Domain;
use crate::error::OdooError;
use crate::value::{Context, Record, SearchOptions, ServerVersion};
use crate::OdooApi;

/// An `OdooClient` that connects (and logs in) on first use, and again on the next call after a
/// failed connection: a server can start, and serve what it has, while Odoo is unreachable.
pub struct LazyOdooClient {
    config: ClientConfig,
    client: OnceCell<OdooClient>,
}

impl LazyOdooClient {
    pub fn new(config: ClientConfig) -> LazyOdooClient {
        LazyOdooClient {
            config,
            client: OnceCell::new(),
        }
    }

    async fn client(&self) -> Result<&OdooClient, OdooError> {
        self.client
            .get_or_try_init(|| OdooClient::connect(self.config.clone()))
            .await
    }
}

#[async_trait]
impl OdooApi for LazyOdooClient {
    async fn version(&self) -> Result<ServerVersion, OdooError> {
        self.client().await?.version().await
    }
    fn resumable_uid(&self) -> Option<i64> {
        self.client.get().and_then(OdooClient::resumable_uid)
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
