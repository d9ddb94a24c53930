//! `OdooClient::connect`: building the transport `ClientConfig::protocol` asks for, and for `Auto`
//! detecting once which API the server has, without relying on the legacy endpoints Odoo 20
//! removes: JSON-2 first (`GET /web/version`, then `res.users/context_get` with the key), JSON-RPC
//! only when JSON-2 is absent (a 404) or refused the password sent as a key.

use std::sync::Arc;

use secrecy::ExposeSecret;

use crate::client::{ClientConfig, OdooClient};
use crate::error::{Credential, FaultKind, OdooError};
use crate::json2::{Json2Transport, NO_DATABASE_NAME};
use crate::jsonrpc::JsonRpcTransport;
use crate::protocol::Protocol;
use crate::transport::Transport;
use crate::value::ServerVersion;

/// JSON-2 appeared in Odoo 19.
const FIRST_JSON2_MAJOR: u32 = 19;

pub(crate) async fn connect(config: &ClientConfig) -> Result<OdooClient, OdooError> {
    if let Some(uid) = resumable(config) {
        let transport = JsonRpcTransport::resume(&jsonrpc_config(config), uid)?;
        return Ok(connected(Arc::new(transport), None));
    }
    match config.protocol {
        Protocol::JsonRpc => connect_jsonrpc(config, None).await,
        Protocol::Json2 => {
            let transport = Json2Transport::connect(config).await?;
            let version = match transport.version().await {
                Ok(version) => Some(version),
                Err(error) => {
                    tracing::debug!(%error, "Odoo did not tell its version");
                    None
                }
            };
            Ok(connected(Arc::new(transport), version))
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
    let (secret, credential) = match config.usable_api_key() {
        Some(key) => (key, Credential::ApiKey),
        // The password slot may well hold an API key: JSON-RPC accepts either there.
        None => (&config.password, Credential::Password),
    };
    let mut json2 = Json2Transport::new(config, secret, credential)?;
    let version = match json2.version().await {
        Ok(version) => Some(version),
        // Unreachable, or still failing after the retries: nothing else would work either.
        Err(error) if error.is_retryable() => return Err(error),
        // Odoo 18 and older have no /web/version (404).
        Err(error) => {
            tracing::debug!(%error, "no version from GET /web/version");
            None
        }
    };
    let major = version.as_ref().and_then(ServerVersion::major);
    if major.is_some_and(|major| major < FIRST_JSON2_MAJOR) {
        return connect_jsonrpc(config, version).await;
    }
    match json2.check_key().await {
        Ok(_) => Ok(connected(Arc::new(json2), version)),
        Err(error) if means_no_json2(&error) => {
            tracing::debug!(%error, "no JSON-2 API, trying JSON-RPC");
            fall_back_to_jsonrpc(config, version, error).await
        }
        Err(
            error @ OdooError::ApiKeyRefused {
                credential: Credential::Password,
                ..
            },
        ) => {
            tracing::warn!(
                %error,
                "using Odoo's deprecated JSON-RPC endpoint (removed in Odoo 20); set ODOO_API_KEY \
                 to use JSON-2"
            );
            fall_back_to_jsonrpc(config, version, error).await
        }
        Err(error) => Err(error),
    }
}

/// Odoo before 19 answers `/json/2/...` with its 404 page; a server with several databases and no
/// database-by-hostname answers with its "No database is selected" page (Odoo 18 as well, which
/// knows no `X-Odoo-Database`).
fn means_no_json2(error: &OdooError) -> bool {
    match error {
        OdooError::Http { status, .. } => *status == 404 || *status == 405,
        OdooError::Fault(fault) => {
            fault.kind == FaultKind::Database && fault.code == 404 && fault.name == NO_DATABASE_NAME
        }
        _ => false,
    }
}

/// JSON-RPC after JSON-2 failed with `json2_error`; when `/jsonrpc` is not there either (Odoo 20+),
/// `json2_error` is the one that explains.
async fn fall_back_to_jsonrpc(
    config: &ClientConfig,
    version: Option<ServerVersion>,
    json2_error: OdooError,
) -> Result<OdooClient, OdooError> {
    match connect_jsonrpc(config, version).await {
        Err(OdooError::Http { status: 404, .. }) => Err(json2_error),
        outcome => outcome,
    }
}

async fn connect_jsonrpc(
    config: &ClientConfig,
    version: Option<ServerVersion>,
) -> Result<OdooClient, OdooError> {
    let transport = JsonRpcTransport::connect(&jsonrpc_config(config)).await?;
    Ok(connected(Arc::new(transport), version))
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

fn connected(transport: Arc<dyn Transport>, version: Option<ServerVersion>) -> OdooClient {
    let shown_version = version
        .as_ref()
        .map_or("unknown", |version| version.server_version.as_str());
    tracing::info!(
        protocol = %transport.protocol(),
        server_version = shown_version,
        transport = %transport.describe(),
        "connected to Odoo"
    );
    OdooClient::new(transport).with_server_version(version)
}
