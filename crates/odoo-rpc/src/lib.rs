//! Odoo client: the engine-facing `OdooApi` trait, `OdooClient` (its implementation over any
//! `Transport`), the JSON-RPC and JSON-2 transports and the choice between them, typed values,
//! domains and errors.
//! Must not import anything of the other odoo-sync crates.

#[cfg(test)]
mod answer_properties;
mod client;
mod connect;
mod domain;
mod error;
#[cfg(test)]
mod fixtures;
mod http;
mod json2;
mod jsonrpc;
mod lazy;
mod protocol;
mod retry;
mod transport;
mod value;

pub use client::{ClientConfig, OdooClient};
pub use domain::Domain;
pub use error::{Credential, DecodeError, FaultKind, OdooError, OdooFault};
pub use lazy::LazyOdooClient;
pub use protocol::{ParseProtocolError, Protocol};
pub use retry::{backoff_ceiling, backoff_delay, MAX_RETRY_DELAY};
pub use transport::{Json2Transport, JsonRpcTransport, Transport};
pub use value::{
    format_odoo_datetime, parse_odoo_datetime, Context, Many2one, Record, SearchOptions,
    ServerVersion,
};

/// Engine-facing API. `OdooClient` implements it; the engine holds `Arc<dyn OdooApi>`.
#[async_trait::async_trait]
pub trait OdooApi: Send + Sync {
    async fn version(&self) -> Result<ServerVersion, OdooError>;
    /// The uid of a JSON-RPC login Odoo accepted, to resume in a later process (see
    /// `ClientConfig::resume_uid`); `None` where there is none.
    fn resumable_uid(&self) -> Option<i64> {
        None
    }
    async fn search(
        &self,
        model: &str,
        domain: &Domain,
        opts: &SearchOptions,
    ) -> Result<Vec<i64>, OdooError>;
    /// An empty `fields` asks for every field.
    async fn search_read(
        &self,
        model: &str,
        domain: &Domain,
        fields: &[&str],
        opts: &SearchOptions,
    ) -> Result<Vec<Record>, OdooError>;
    /// Ids that do not exist are silently left out of the answer (Odoo 18 behaviour).
    async fn read(
        &self,
        model: &str,
        ids: &[i64],
        fields: &[&str],
        context: &Context,
    ) -> Result<Vec<Record>, OdooError>;
    async fn search_count(
        &self,
        model: &str,
        domain: &Domain,
        context: &Context,
    ) -> Result<u64, OdooError>;
    async fn fields_get(
        &self,
        model: &str,
        attributes: &[&str],
    ) -> Result<serde_json::Map<String, serde_json::Value>, OdooError>;
    async fn create(
        &self,
        model: &str,
        values: Vec<serde_json::Map<String, serde_json::Value>>,
        context: &Context,
    ) -> Result<Vec<i64>, OdooError>;
    async fn write(
        &self,
        model: &str,
        ids: &[i64],
        values: serde_json::Map<String, serde_json::Value>,
        context: &Context,
    ) -> Result<(), OdooError>;
    async fn unlink(&self, model: &str, ids: &[i64], context: &Context) -> Result<(), OdooError>;
    /// Escape hatch for any other model method (e.g. name_search, action_apply_inventory).
    async fn execute_kw(
        &self,
        model: &str,
        method: &str,
        args: Vec<serde_json::Value>,
        kwargs: serde_json::Map<String, serde_json::Value>,
    ) -> Result<serde_json::Value, OdooError>;
}
