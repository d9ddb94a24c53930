//! `OdooClient`: the ORM methods of `OdooApi` (search, read, write...) expressed as `execute_kw`
//! calls on any `Transport`, with their results decoded into typed values. `ClientConfig` is how
//! to reach and log into Odoo. Protocol details belong to the transports, and the choice between
//! them to `crate::connect`, not here.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};

use crate::domain::Domain;
use crate::error::{DecodeError, OdooError};
use crate::protocol::Protocol;
use crate::transport::Transport;
use crate::value::{ids_from_value, Context, Record, SearchOptions, ServerVersion};
use crate::OdooApi;

/// How to reach and log into Odoo. `Debug` shows the password and API key as `[REDACTED]`.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// e.g. `http://odoo:8069`, without `/jsonrpc`.
    pub url: String,
    pub db: String,
    pub login: String,
    /// The password or an API key (JSON-RPC's password slot takes either).
    pub password: SecretString,
    /// An API key, which Odoo 19's JSON-2 needs (it refuses passwords). With `Auto` and none
    /// set, the password is tried as one, then JSON-RPC.
    pub api_key: Option<SecretString>,
    /// Which API to speak; `Auto` detects it once at connect.
    pub protocol: Protocol,
    /// For one HTTP request, answer included.
    pub timeout: Duration,
    /// Requests in flight at once; Odoo serves one per worker process.
    pub max_concurrency: usize,
    pub max_retries: u32,
    /// The first retry waits up to this long; each next one up to twice as long.
    pub retry_base: Duration,
    /// The uid an earlier JSON-RPC login of this `login` on this server got (see
    /// `OdooClient::resumable_uid`): connecting then costs no call. A stale uid is noticed at the
    /// first call Odoo refuses, and replaced by a fresh login. Ignored when an API key is set,
    /// since that may mean JSON-2.
    pub resume_uid: Option<i64>,
}

impl ClientConfig {
    pub fn new(
        url: impl Into<String>,
        db: impl Into<String>,
        login: impl Into<String>,
        password: SecretString,
    ) -> Self {
        ClientConfig {
            url: url.into(),
            db: db.into(),
            login: login.into(),
            password,
            api_key: None,
            protocol: Protocol::Auto,
            timeout: Duration::from_secs(60),
            resume_uid: None,
            max_concurrency: 4,
            max_retries: 4,
            retry_base: Duration::from_millis(200),
        }
    }
}

impl ClientConfig {
    /// `api_key` unless it is empty (an environment variable set to nothing).
    pub(crate) fn usable_api_key(&self) -> Option<&SecretString> {
        self.api_key
            .as_ref()
            .filter(|key| !key.expose_secret().is_empty())
    }
}

#[derive(Clone)]
pub struct OdooClient {
    transport: Arc<dyn Transport>,
    server_version: Option<ServerVersion>,
    protocol_choice: Option<String>,
}

impl OdooClient {
    /// Connects with `config.protocol`: `JsonRpc` logs in over `/jsonrpc`; `Json2` checks
    /// `config.api_key` over JSON-2; `Auto` detects once which of the two the server has (see
    /// `crate::connect`) and logs the choice at info.
    pub async fn connect(config: ClientConfig) -> Result<OdooClient, OdooError> {
        crate::connect::connect(&config).await
    }

    pub fn new(transport: Arc<dyn Transport>) -> OdooClient {
        OdooClient {
            transport,
            server_version: None,
            protocol_choice: None,
        }
    }

    pub(crate) fn with_server_version(mut self, version: Option<ServerVersion>) -> OdooClient {
        self.server_version = version;
        self
    }

    pub(crate) fn with_protocol_choice(mut self, choice: String) -> OdooClient {
        self.protocol_choice = Some(choice);
        self
    }

    /// Why `connect` speaks `protocol()`: the setting, or what `Auto` detection saw.
    pub fn protocol_choice(&self) -> Option<&str> {
        self.protocol_choice.as_deref()
    }

    pub fn describe(&self) -> String {
        self.transport.describe()
    }

    /// The protocol in use: `Json2` or `JsonRpc` after `connect` (`Auto` only for a transport
    /// from outside this crate).
    pub fn protocol(&self) -> Protocol {
        self.transport.protocol()
    }

    /// The server version learnt while connecting, if it was: always for JSON-2 servers that
    /// answer `GET /web/version`, and when `Auto` detection saw it. `OdooApi::version` asks.
    pub fn server_version(&self) -> Option<&ServerVersion> {
        self.server_version.as_ref()
    }

    async fn call(
        &self,
        model: &str,
        method: &str,
        args: Vec<Value>,
        kwargs: Map<String, Value>,
    ) -> Result<Value, OdooError> {
        tracing::debug!(model, method, "Odoo call");
        self.transport.execute_kw(model, method, args, kwargs).await
    }
}

impl fmt::Debug for OdooClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OdooClient")
            .field("transport", &self.transport.describe())
            .field("server_version", &self.server_version)
            .finish()
    }
}

#[async_trait]
impl OdooApi for OdooClient {
    async fn version(&self) -> Result<ServerVersion, OdooError> {
        self.transport.version().await
    }

    fn resumable_uid(&self) -> Option<i64> {
        self.transport.resumable_uid()
    }

    async fn search(
        &self,
        model: &str,
        domain: &Domain,
        opts: &SearchOptions,
    ) -> Result<Vec<i64>, OdooError> {
        let mut kwargs = Map::new();
        opts.insert_into(&mut kwargs);
        let result = self
            .call(model, "search", vec![domain.to_value()], kwargs)
            .await?;
        decode_ids(&format!("{model}.search"), &result)
    }

    async fn search_read(
        &self,
        model: &str,
        domain: &Domain,
        fields: &[&str],
        opts: &SearchOptions,
    ) -> Result<Vec<Record>, OdooError> {
        let mut kwargs = fields_kwargs(fields);
        opts.insert_into(&mut kwargs);
        if opts.bare_many2one {
            kwargs.insert("load".to_owned(), Value::Null);
        }
        let result = self
            .call(model, "search_read", vec![domain.to_value()], kwargs)
            .await?;
        decode_records(&format!("{model}.search_read"), result)
    }

    async fn read(
        &self,
        model: &str,
        ids: &[i64],
        fields: &[&str],
        context: &Context,
    ) -> Result<Vec<Record>, OdooError> {
        // Nothing to ask: Odoo would answer [] after a round trip.
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut kwargs = fields_kwargs(fields);
        context.insert_into(&mut kwargs);
        let result = self
            .call(model, "read", vec![Value::from(ids)], kwargs)
            .await?;
        decode_records(&format!("{model}.read"), result)
    }

    async fn search_count(
        &self,
        model: &str,
        domain: &Domain,
        context: &Context,
    ) -> Result<u64, OdooError> {
        let mut kwargs = Map::new();
        context.insert_into(&mut kwargs);
        let result = self
            .call(model, "search_count", vec![domain.to_value()], kwargs)
            .await?;
        result.as_u64().ok_or_else(|| {
            DecodeError::result(&format!("{model}.search_count"), "a count", &result).into()
        })
    }

    async fn fields_get(
        &self,
        model: &str,
        attributes: &[&str],
    ) -> Result<Map<String, Value>, OdooError> {
        let mut kwargs = Map::new();
        if !attributes.is_empty() {
            kwargs.insert("attributes".to_owned(), Value::from(attributes));
        }
        match self.call(model, "fields_get", Vec::new(), kwargs).await? {
            Value::Object(fields) => Ok(fields),
            other => {
                let call = format!("{model}.fields_get");
                Err(DecodeError::result(&call, "an object of fields", &other).into())
            }
        }
    }

    async fn create(
        &self,
        model: &str,
        values: Vec<Map<String, Value>>,
        context: &Context,
    ) -> Result<Vec<i64>, OdooError> {
        if values.is_empty() {
            return Ok(Vec::new());
        }
        let mut kwargs = Map::new();
        context.insert_into(&mut kwargs);
        let rows = values.into_iter().map(Value::Object).collect();
        let result = self
            .call(model, "create", vec![Value::Array(rows)], kwargs)
            .await?;
        // Odoo answers a list for a list of values, but one id for a single dict.
        match result.as_i64() {
            Some(id) => Ok(vec![id]),
            None => decode_ids(&format!("{model}.create"), &result),
        }
    }

    async fn write(
        &self,
        model: &str,
        ids: &[i64],
        values: Map<String, Value>,
        context: &Context,
    ) -> Result<(), OdooError> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut kwargs = Map::new();
        context.insert_into(&mut kwargs);
        let args = vec![Value::from(ids), Value::Object(values)];
        let result = self.call(model, "write", args, kwargs).await?;
        expect_true(&format!("{model}.write"), &result)
    }

    async fn unlink(&self, model: &str, ids: &[i64], context: &Context) -> Result<(), OdooError> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut kwargs = Map::new();
        context.insert_into(&mut kwargs);
        let result = self
            .call(model, "unlink", vec![Value::from(ids)], kwargs)
            .await?;
        expect_true(&format!("{model}.unlink"), &result)
    }

    async fn execute_kw(
        &self,
        model: &str,
        method: &str,
        args: Vec<Value>,
        kwargs: Map<String, Value>,
    ) -> Result<Value, OdooError> {
        self.call(model, method, args, kwargs).await
    }
}

/// An empty field list asks Odoo for every field.
fn fields_kwargs(fields: &[&str]) -> Map<String, Value> {
    let mut kwargs = Map::new();
    if !fields.is_empty() {
        kwargs.insert("fields".to_owned(), Value::from(fields));
    }
    kwargs
}

fn decode_ids(call: &str, result: &Value) -> Result<Vec<i64>, OdooError> {
    ids_from_value(result).ok_or_else(|| DecodeError::result(call, "a list of ids", result).into())
}

fn decode_records(call: &str, result: Value) -> Result<Vec<Record>, OdooError> {
    let Value::Array(rows) = result else {
        return Err(DecodeError::result(call, "a list of records", &result).into());
    };
    rows.into_iter()
        .map(|row| match row {
            Value::Object(map) => Ok(Record(map)),
            other => Err(DecodeError::result(call, "a record object", &other).into()),
        })
        .collect()
}

fn expect_true(call: &str, result: &Value) -> Result<(), OdooError> {
    match result {
        Value::Bool(true) => Ok(()),
        other => Err(DecodeError::result(call, "true", other).into()),
    }
}
