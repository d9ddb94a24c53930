//! The `Transport` trait: how `OdooClient` reaches Odoo. JSON-RPC (`crate::jsonrpc`) is one
//! implementation; Odoo 19's JSON-2 will be another. Nothing protocol-specific lives here.

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::error::OdooError;
use crate::value::ServerVersion;

pub use crate::jsonrpc::JsonRpcTransport;

#[async_trait]
pub trait Transport: Send + Sync {
    async fn version(&self) -> Result<ServerVersion, OdooError>;

    /// Calls `model.method(*args, **kwargs)` as the authenticated user.
    async fn execute_kw(
        &self,
        model: &str,
        method: &str,
        args: Vec<Value>,
        kwargs: Map<String, Value>,
    ) -> Result<Value, OdooError>;

    /// For logs and the admin page, e.g. `JSON-RPC at http://host:8069 (db odoo, uid 2)`.
    /// Never includes the password.
    fn describe(&self) -> String;
}
