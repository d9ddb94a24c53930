//! `JsonRpcTransport`: Odoo's `POST /jsonrpc` endpoint (Odoo 18, and Odoo 19's legacy API).
//! Authenticates once with `common.authenticate` and sends the uid and password with every
//! `object.execute_kw` call, as that protocol requires. A uid from an earlier process can be
//! resumed instead of logging in again; if Odoo refuses it, the transport logs in and retries.

pub(crate) mod wire;

#[cfg(test)]
mod fixture_tests;

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};

use crate::client::ClientConfig;
use crate::error::{DecodeError, FaultKind, OdooError};
use crate::http::{redacted_url, HttpPoster};
use crate::protocol::Protocol;
use crate::retry::{Replay, RetryPolicy, MAX_RETRY_DELAY};
use crate::transport::Transport;
use crate::value::ServerVersion;

pub struct JsonRpcTransport {
    http: HttpPoster,
    endpoint: String,
    /// `endpoint` and the server URL as shown in messages (no credentials).
    shown_endpoint: String,
    shown_url: String,
    db: String,
    login: String,
    uid: AtomicI64,
    /// Whether Odoo accepted `uid` with the password: false for a resumed uid until a call
    /// succeeds.
    confirmed: AtomicBool,
    password: SecretString,
    next_request_id: AtomicU64,
}

impl JsonRpcTransport {
    /// Authenticates `config.login` on `config.db`.
    pub async fn connect(config: &ClientConfig) -> Result<Self, OdooError> {
        let transport = Self::unauthenticated(config)?;
        transport.log_in().await?;
        Ok(transport)
    }

    /// Takes `uid` as the login's without asking Odoo: no call until the first `execute_kw`.
    pub fn resume(config: &ClientConfig, uid: i64) -> Result<Self, OdooError> {
        let transport = Self::unauthenticated(config)?;
        transport.uid.store(uid, Ordering::Relaxed);
        Ok(transport)
    }

    /// The authenticated user's id.
    pub fn uid(&self) -> i64 {
        self.uid.load(Ordering::Relaxed)
    }

    pub(crate) async fn log_in(&self) -> Result<i64, OdooError> {
        let uid = self.authenticate(&self.login).await?;
        self.uid.store(uid, Ordering::Relaxed);
        self.confirmed.store(true, Ordering::Relaxed);
        Ok(uid)
    }

    /// A transport that has not logged in yet: `common.version` works, `execute_kw` does not.
    pub(crate) fn unauthenticated(config: &ClientConfig) -> Result<Self, OdooError> {
        let base_url = config.url.trim_end_matches('/');
        let endpoint = format!("{base_url}/jsonrpc");
        let retry = RetryPolicy {
            max_retries: config.max_retries,
            base: config.retry_base,
            cap: MAX_RETRY_DELAY,
        };
        let shown_endpoint = redacted_url(&endpoint);
        let http = HttpPoster::new(
            &shown_endpoint,
            config.timeout,
            config.max_concurrency,
            retry,
        )?;
        Ok(JsonRpcTransport {
            http,
            endpoint,
            shown_endpoint,
            shown_url: redacted_url(base_url),
            db: config.db.clone(),
            login: config.login.clone(),
            uid: AtomicI64::new(0),
            confirmed: AtomicBool::new(false),
            password: config.password.clone(),
            next_request_id: AtomicU64::new(1),
        })
    }

    async fn authenticate(&self, login: &str) -> Result<i64, OdooError> {
        // The fourth argument is the user-agent environment Odoo records with the login.
        let args = vec![
            Value::from(self.db.as_str()),
            Value::from(login),
            Value::from(self.password.expose_secret()),
            Value::Object(Map::new()),
        ];
        let result = self
            .call("common", "authenticate", args, Replay::Read)
            .await?;
        match result {
            Value::Bool(false) => Err(OdooError::AuthenticationFailed {
                login: login.to_owned(),
                db: self.db.clone(),
            }),
            other => other.as_i64().ok_or_else(|| {
                DecodeError::result("common.authenticate", "a uid or false", &other).into()
            }),
        }
    }

    async fn call(
        &self,
        service: &str,
        method: &str,
        args: Vec<Value>,
        replay: Replay<'_>,
    ) -> Result<Value, OdooError> {
        let id = self.next_request_id.fetch_add(1, Ordering::Relaxed);
        let body = wire::request_body(id, service, method, args);
        self.http
            .post_json(&self.endpoint, &body, replay, |answer| {
                if let Some(foreign) = wire::without_jsonrpc(&answer) {
                    return Err(OdooError::ApiAbsent {
                        url: self.shown_url.clone(),
                        protocol: Protocol::JsonRpc,
                        call: format!("POST /jsonrpc ({service}.{method})"),
                        answer: foreign,
                    });
                }
                wire::decode_response(answer.status, &answer.body, &self.shown_endpoint)
            })
            .await
    }
}

#[async_trait]
impl Transport for JsonRpcTransport {
    async fn version(&self) -> Result<ServerVersion, OdooError> {
        let result = self
            .call("common", "version", Vec::new(), Replay::Read)
            .await?;
        serde_json::from_value(result.clone()).map_err(|_| {
            let expected = "{server_version, server_version_info, ...}";
            DecodeError::result("common.version", expected, &result).into()
        })
    }

    async fn execute_kw(
        &self,
        model: &str,
        method: &str,
        args: Vec<Value>,
        kwargs: Map<String, Value>,
    ) -> Result<Value, OdooError> {
        let name = format!("{model}.{method}");
        let replay = Replay::of_method(method, &name);
        let call = |uid: i64, args: Vec<Value>, kwargs: Map<String, Value>| {
            let call_args = vec![
                Value::from(self.db.as_str()),
                Value::from(uid),
                Value::from(self.password.expose_secret()),
                Value::from(model),
                Value::from(method),
                Value::Array(args),
                Value::Object(kwargs),
            ];
            self.call("object", "execute_kw", call_args, replay)
        };
        if self.confirmed.load(Ordering::Relaxed) {
            return call(self.uid(), args, kwargs).await;
        }
        // A resumed uid Odoo has not accepted yet: keep the arguments for one retry after a login.
        let outcome = call(self.uid(), args.clone(), kwargs.clone()).await;
        match outcome {
            Err(error) if refuses_uid(&error) => {
                tracing::info!(%error, "Odoo refused the resumed uid: logging in again");
                let uid = self.log_in().await?;
                call(uid, args, kwargs).await
            }
            Ok(value) => {
                self.confirmed.store(true, Ordering::Relaxed);
                Ok(value)
            }
            Err(error) => Err(error),
        }
    }

    fn describe(&self) -> String {
        format!(
            "JSON-RPC at {} (db {}, uid {})",
            self.shown_url,
            self.db,
            self.uid()
        )
    }

    fn protocol(&self) -> Protocol {
        Protocol::JsonRpc
    }

    fn resumable_uid(&self) -> Option<i64> {
        self.confirmed.load(Ordering::Relaxed).then(|| self.uid())
    }
}

/// What Odoo answers a uid that is not (or no longer) the login's: `AccessDenied` when it is
/// another user's, `MissingError` on `res.users` when it does not exist.
fn refuses_uid(error: &OdooError) -> bool {
    matches!(error, OdooError::Fault(fault)
        if matches!(fault.kind, FaultKind::AccessDenied | FaultKind::MissingError))
}

impl fmt::Debug for JsonRpcTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JsonRpcTransport")
            .field("url", &self.shown_url)
            .field("db", &self.db)
            .field("uid", &self.uid())
            .finish_non_exhaustive()
    }
}
