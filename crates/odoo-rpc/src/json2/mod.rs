//! `Json2Transport`: Odoo 19's JSON-2 API, `POST /json/2/<model>/<method>` with named arguments,
//! an API key as bearer token and the database in `X-Odoo-Database`. Stateless: no login call;
//! `connect` checks the key once with `res.users/context_get`.

pub(crate) mod wire;

#[cfg(test)]
mod fixture_tests;

use std::fmt;

use async_trait::async_trait;
use reqwest::header::{
    HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, CONTENT_TYPE, USER_AGENT,
};
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};

use crate::client::ClientConfig;
use crate::error::{Credential, DecodeError, OdooError};
use crate::http::{redacted_url, HttpAnswer, HttpPoster, HttpRequest};
use crate::protocol::Protocol;
use crate::retry::{Replay, RetryPolicy, MAX_RETRY_DELAY};
use crate::transport::Transport;
use crate::value::ServerVersion;

const JSON_CONTENT_TYPE: &str = "application/json; charset=utf-8";
const DATABASE_HEADER: &str = "x-odoo-database";

pub struct Json2Transport {
    http: HttpPoster,
    /// The server URL without a trailing `/`, and as shown in messages (no credentials).
    base_url: String,
    shown_url: String,
    db: String,
    login: String,
    credential: Credential,
    /// Content type, user agent, the database and the (sensitive) bearer key.
    headers: HeaderMap,
    uid: Option<i64>,
}

impl Json2Transport {
    /// Uses `config.api_key` (`ApiKeyMissing` without one) and checks it with one call.
    pub async fn connect(config: &ClientConfig) -> Result<Self, OdooError> {
        let Some(key) = config.usable_api_key() else {
            return Err(OdooError::ApiKeyMissing {
                login: config.login.clone(),
                db: config.db.clone(),
            });
        };
        let mut transport = Self::new(config, key, Credential::ApiKey)?;
        transport.check_key().await?;
        Ok(transport)
    }

    /// The user the key belongs to, once `connect` has checked it.
    pub fn uid(&self) -> Option<i64> {
        self.uid
    }

    /// A transport sending `secret` as its bearer key, not yet checked.
    pub(crate) fn new(
        config: &ClientConfig,
        secret: &SecretString,
        credential: Credential,
    ) -> Result<Self, OdooError> {
        let base_url = config.url.trim_end_matches('/').to_owned();
        let shown_url = redacted_url(&base_url);
        let retry = RetryPolicy {
            max_retries: config.max_retries,
            base: config.retry_base,
            cap: MAX_RETRY_DELAY,
        };
        let http = HttpPoster::new(&shown_url, config.timeout, config.max_concurrency, retry)?;
        let setup_error = |reason: &str| OdooError::InvalidCall {
            call: format!("JSON-2 at {shown_url}"),
            reason: reason.to_owned(),
        };
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(JSON_CONTENT_TYPE));
        headers.insert(
            USER_AGENT,
            HeaderValue::from_static(concat!("odoo-rpc/", env!("CARGO_PKG_VERSION"))),
        );
        let mut authorization =
            HeaderValue::from_str(&format!("bearer {}", secret.expose_secret())).map_err(|_| {
                setup_error("the API key has characters an HTTP header cannot carry")
            })?;
        authorization.set_sensitive(true);
        headers.insert(AUTHORIZATION, authorization);
        if !config.db.is_empty() {
            let db = HeaderValue::from_str(&config.db).map_err(|_| {
                setup_error("the database name has characters an HTTP header cannot carry")
            })?;
            headers.insert(HeaderName::from_static(DATABASE_HEADER), db);
        }
        Ok(Json2Transport {
            http,
            base_url,
            shown_url,
            db: config.db.clone(),
            login: config.login.clone(),
            credential,
            headers,
            uid: None,
        })
    }

    /// `res.users/context_get`, the cheapest authenticated call: checks the key and the
    /// database, and tells the uid.
    pub(crate) async fn check_key(&mut self) -> Result<i64, OdooError> {
        let context = self.call("res.users", "context_get", Map::new()).await?;
        let uid = context
            .get("uid")
            .and_then(Value::as_i64)
            .ok_or_else(|| DecodeError::result("res.users.context_get", "{uid, ...}", &context))?;
        self.uid = Some(uid);
        Ok(uid)
    }

    fn error_context(&self) -> wire::ErrorContext<'_> {
        wire::ErrorContext {
            url: &self.shown_url,
            login: &self.login,
            db: &self.db,
            credential: self.credential,
        }
    }

    async fn call(
        &self,
        model: &str,
        method: &str,
        body: Map<String, Value>,
    ) -> Result<Value, OdooError> {
        let url = format!("{}/json/2/{model}/{method}", self.base_url);
        let body =
            serde_json::to_vec(&Value::Object(body)).map_err(|error| OdooError::InvalidCall {
                call: format!("{model}.{method} over JSON-2"),
                reason: format!("arguments not serialisable: {error}"),
            })?;
        let request = HttpRequest {
            method: Method::POST,
            url: &url,
            headers: self.headers.clone(),
            body: Some(body),
        };
        let context = self.error_context();
        let call = format!("POST /json/2/{model}/{method}");
        let name = format!("{model}.{method}");
        let replay = Replay::of_method(method, &name);
        self.http
            .send(&request, replay, |answer| {
                self.decode(&call, &answer, &context)
            })
            .await
    }

    fn decode(
        &self,
        call: &str,
        answer: &HttpAnswer,
        context: &wire::ErrorContext<'_>,
    ) -> Result<Value, OdooError> {
        if let Some(foreign) = wire::without_json2(answer) {
            return Err(OdooError::ApiAbsent {
                url: self.shown_url.clone(),
                protocol: Protocol::Json2,
                call: call.to_owned(),
                answer: foreign,
            });
        }
        wire::decode_response(answer.status, &answer.body, context)
    }
}

#[async_trait]
impl Transport for Json2Transport {
    /// `GET /web/version` (no key needed; Odoo 19's documented replacement for `common.version`,
    /// and not one of the legacy endpoints Odoo 20 removes). The shared fixtures do not record
    /// this route: they show only that JSON-2 itself carries no version call.
    async fn version(&self) -> Result<ServerVersion, OdooError> {
        let url = format!("{}/web/version", self.base_url);
        let mut headers = HeaderMap::new();
        headers.insert(
            USER_AGENT,
            HeaderValue::from_static(concat!("odoo-rpc/", env!("CARGO_PKG_VERSION"))),
        );
        let request = HttpRequest {
            method: Method::GET,
            url: &url,
            headers,
            body: None,
        };
        let context = self.error_context();
        let value = self
            .http
            .send(&request, Replay::Read, |answer| {
                self.decode("GET /web/version", &answer, &context)
            })
            .await?;
        wire::decode_version(&value).ok_or_else(|| {
            DecodeError::result("GET /web/version", "{version, version_info}", &value).into()
        })
    }

    async fn execute_kw(
        &self,
        model: &str,
        method: &str,
        args: Vec<Value>,
        kwargs: Map<String, Value>,
    ) -> Result<Value, OdooError> {
        let body = wire::request_body(model, method, args, kwargs)?;
        self.call(model, method, body).await
    }

    fn describe(&self) -> String {
        match self.uid {
            Some(uid) => format!("JSON-2 at {} (db {}, uid {uid})", self.shown_url, self.db),
            None => format!("JSON-2 at {} (db {})", self.shown_url, self.db),
        }
    }

    fn protocol(&self) -> Protocol {
        Protocol::Json2
    }
}

impl fmt::Debug for Json2Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Json2Transport")
            .field("url", &self.shown_url)
            .field("db", &self.db)
            .field("login", &self.login)
            .field("credential", &self.credential)
            .field("uid", &self.uid)
            .finish_non_exhaustive()
    }
}
