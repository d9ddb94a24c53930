//! `OdooClient::connect`: building the transport `ClientConfig::protocol` asks for, and for `Auto`
//! choosing it from what the server says it is. `common.version` over `/jsonrpc` needs no login
//! and every Odoo up to 19 answers it: JSON-2 when the server is 19 or later and an API key is
//! configured, JSON-RPC otherwise; JSON-2 too where `/jsonrpc` is gone (Odoo 20 and later).
//! Probing `/json/2` first cannot work: Odoo 18 redirects it to its login page.

use std::sync::Arc;

use secrecy::ExposeSecret;

use crate::client::{ClientConfig, OdooClient};
use crate::error::{Credential, OdooError};
use crate::json2::Json2Transport;
use crate::jsonrpc::JsonRpcTransport;
use crate::protocol::Protocol;
use crate::transport::Transport;
use crate::value::ServerVersion;

/// JSON-2 appeared in Odoo 19.
const FIRST_JSON2_MAJOR: u32 = 19;

pub(crate) async fn connect(config: &ClientConfig) -> Result<OdooClient, OdooError> {
    if let Some(uid) = resumable(config) {
        let transport = JsonRpcTransport::resume(&jsonrpc_config(config), uid)?;
        let choice = match config.protocol {
            Protocol::JsonRpc => "ODOO_PROTOCOL=jsonrpc",
            _ => "auto: no API key, and this login's earlier JSON-RPC session resumed",
        };
        return Ok(connected(Arc::new(transport), None, choice.to_owned()));
    }
    match config.protocol {
        Protocol::JsonRpc => {
            let transport = JsonRpcTransport::connect(&jsonrpc_config(config)).await?;
            Ok(connected(
                Arc::new(transport),
                None,
                "ODOO_PROTOCOL=jsonrpc".to_owned(),
            ))
        }
        Protocol::Json2 => {
            let transport = Json2Transport::connect(config).await?;
            let version = told_version(&transport).await;
            Ok(connected(
                Arc::new(transport),
                version,
                "ODOO_PROTOCOL=json2".to_owned(),
            ))
        }
        Protocol::Auto => detect(config).await,
    }
}

/// A uid to resume, where the protocol would be JSON-RPC anyway: asked for, or `Auto` without an
/// API key after an earlier JSON-RPC login (a key may mean JSON-2: detect again).
fn resumable(config: &ClientConfig) -> Option<i64> {
    let jsonrpc = match config.protocol {
        Protocol::JsonRpc => true,
        Protocol::Auto => config.usable_api_key().is_none(),
        Protocol::Json2 => false,
    };
    config.resume_uid.filter(|_| jsonrpc)
}

async fn detect(config: &ClientConfig) -> Result<OdooClient, OdooError> {
    let jsonrpc = JsonRpcTransport::unauthenticated(&jsonrpc_config(config))?;
    let version = match jsonrpc.version().await {
        Ok(version) => version,
        Err(OdooError::ApiAbsent { answer, .. }) => {
            return connect_json2_without_jsonrpc(config, &answer).await
        }
        Err(error) => return Err(error),
    };
    let shown = version.server_version.clone();
    let major = version.major();
    match (major, config.usable_api_key()) {
        (Some(major), Some(_)) if major >= FIRST_JSON2_MAJOR => {
            let transport = Json2Transport::connect(config).await?;
            let choice = format!("auto: Odoo {shown} has JSON-2 and an API key is configured");
            Ok(connected(Arc::new(transport), Some(version), choice))
        }
        (Some(major), None) if major >= FIRST_JSON2_MAJOR => {
            tracing::warn!(
                server_version = %shown,
                "using Odoo's deprecated JSON-RPC endpoint (removed in Odoo 20); set ODOO_API_KEY \
                 to use JSON-2"
            );
            jsonrpc.log_in().await?;
            let choice = format!(
                "auto: Odoo {shown} has JSON-2, but it needs an API key (ODOO_API_KEY) and none is \
                 configured"
            );
            Ok(connected(Arc::new(jsonrpc), Some(version), choice))
        }
        _ => {
            jsonrpc.log_in().await?;
            let choice = match major {
                Some(_) => format!("auto: Odoo {shown} has no JSON-2 (it appeared in Odoo 19)"),
                None => format!("auto: Odoo '{shown}' tells no major version; JSON-RPC is safe"),
            };
            Ok(connected(Arc::new(jsonrpc), Some(version), choice))
        }
    }
}

/// JSON-2 on a server without `/jsonrpc` (Odoo 20 and later): with the API key, or the password
/// slot, which may well hold a key.
async fn connect_json2_without_jsonrpc(
    config: &ClientConfig,
    jsonrpc_answer: &str,
) -> Result<OdooClient, OdooError> {
    let (secret, credential) = match config.usable_api_key() {
        Some(key) => (key, Credential::ApiKey),
        None => (&config.password, Credential::Password),
    };
    let mut transport = Json2Transport::new(config, secret, credential)?;
    transport.check_key().await?;
    let version = told_version(&transport).await;
    let choice = format!("auto: no /jsonrpc on this server ({jsonrpc_answer}), so JSON-2");
    Ok(connected(Arc::new(transport), version, choice))
}

/// `GET /web/version`, if the server tells it: only for logs and `odoo check`.
async fn told_version(transport: &Json2Transport) -> Option<ServerVersion> {
    match transport.version().await {
        Ok(version) => Some(version),
        Err(error) => {
            tracing::debug!(%error, "Odoo did not tell its version");
            None
        }
    }
}

/// `config` as JSON-RPC takes it: with only an API key configured, the key in the password slot.
fn jsonrpc_config(config: &ClientConfig) -> ClientConfig {
    match (
        config.usable_api_key(),
        config.password.expose_secret().is_empty(),
    ) {
        (Some(key), true) => {
            let mut with_key = config.clone();
            with_key.password = key.clone();
            with_key
        }
        _ => config.clone(),
    }
}

fn connected(
    transport: Arc<dyn Transport>,
    version: Option<ServerVersion>,
    choice: String,
) -> OdooClient {
    let shown_version = version
        .as_ref()
        .map_or("unknown", |version| version.server_version.as_str());
    tracing::info!(
        protocol = %transport.protocol(),
        server_version = shown_version,
        transport = %transport.describe(),
        why = %choice,
        "connected to Odoo"
    );
    OdooClient::new(transport)
        .with_server_version(version)
        .with_protocol_choice(choice)
}
