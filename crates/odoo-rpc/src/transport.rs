//! The `Transport` trait: how `OdooClient` reaches Odoo. JSON-RPC (`crate::jsonrpc`) and Odoo 19's
//! JSON-2 (`crate::json2`) implement it. Nothing protocol-specific lives here.

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::error::OdooError;
use crate::protocol::Protocol;
use crate::value::ServerVersion;

pub use crate::json2::Json2Transport;
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
    /// Never includes the password or API key.
    fn describe(&self) -> String;

    /// The API this transport speaks; `Auto` for one that does not say.
    fn protocol(&self) -> Protocol {
        Protocol::Auto
    }

    /// The uid of a login Odoo accepted, for `ClientConfig::resume_uid`; `None` when the
    /// protocol has no login.
    fn resumable_uid(&self) -> Option<i64> {
        None
    }
}
