//! `MeteredOdoo`: any `OdooApi`, with every call counted, timed and its failure classified.
//! A call is what the engine asked for: the client's own retries are inside its duration.

use std::borrow::Cow;
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use metrics::{counter, histogram};
use odoo_rpc::{Context, Domain, OdooApi, OdooError, Record, SearchOptions, ServerVersion};
use serde_json::{Map, Value};

use super::{ODOO_CALLS, ODOO_CALL_SECONDS, ODOO_ERRORS};

pub struct MeteredOdoo {
    inner: Arc<dyn OdooApi>,
}

impl MeteredOdoo {
    pub fn new(inner: Arc<dyn OdooApi>) -> Self {
        MeteredOdoo { inner }
    }
}

/// The `kind` label of a failed call: the Python exception Odoo raised (`error.data.name`, e.g.
/// `odoo.exceptions.AccessError`), else what went wrong on the way.
pub fn error_kind(error: &OdooError) -> Cow<'static, str> {
    let kind = match error {
        OdooError::Fault(fault) => return Cow::Owned(fault.name.clone()),
        OdooError::Transport { .. } => "transport",
        OdooError::Timeout { .. } => "timeout",
        OdooError::Http { status, .. } if *status >= 500 => "http_5xx",
        OdooError::Http { .. } => "http_4xx",
        OdooError::InvalidResponse { .. } => "invalid_response",
        OdooError::AuthenticationFailed { .. } => "authentication_failed",
        OdooError::ApiKeyRefused { .. } => "api_key_refused",
        OdooError::ApiAbsent { .. } => "api_absent",
        OdooError::ApiKeyMissing { .. } => "api_key_missing",
        OdooError::InvalidCall { .. } => "invalid_call",
        OdooError::OutcomeUnknown { .. } => "outcome_unknown",
        OdooError::Decode(_) => "decode",
    };
    Cow::Borrowed(kind)
}

async fn metered<T>(
    method: Cow<'static, str>,
    call: impl Future<Output = Result<T, OdooError>>,
) -> Result<T, OdooError> {
    let started = Instant::now();
    let outcome = call.await;
    histogram!(ODOO_CALL_SECONDS, "method" => method.clone()).record(started.elapsed());
    counter!(ODOO_CALLS, "method" => method.clone()).increment(1);
    if let Err(error) = &outcome {
        counter!(ODOO_ERRORS, "method" => method, "kind" => error_kind(error)).increment(1);
    }
    outcome
}

#[async_trait]
impl OdooApi for MeteredOdoo {
    async fn version(&self) -> Result<ServerVersion, OdooError> {
        metered("version".into(), self.inner.version()).await
    }
    fn resumable_uid(&self) -> Option<i64> {
        self.inner.resumable_uid()
    }
    async fn search(
        &self,
        model: &str,
        domain: &Domain,
        opts: &SearchOptions,
    ) -> Result<Vec<i64>, OdooError> {
        metered("search".into(), self.inner.search(model, domain, opts)).await
    }
    async fn search_read(
        &self,
        model: &str,
        domain: &Domain,
        fields: &[&str],
        opts: &SearchOptions,
    ) -> Result<Vec<Record>, OdooError> {
        let call = self.inner.search_read(model, domain, fields, opts);
        metered("search_read".into(), call).await
    }
    async fn read(
        &self,
        model: &str,
        ids: &[i64],
        fields: &[&str],
        context: &Context,
    ) -> Result<Vec<Record>, OdooError> {
        metered("read".into(), self.inner.read(model, ids, fields, context)).await
    }
    async fn search_count(
        &self,
        model: &str,
        domain: &Domain,
        context: &Context,
    ) -> Result<u64, OdooError> {
        let call = self.inner.search_count(model, domain, context);
        metered("search_count".into(), call).await
    }
    async fn fields_get(
        &self,
        model: &str,
        attributes: &[&str],
    ) -> Result<Map<String, Value>, OdooError> {
        metered(
            "fields_get".into(),
            self.inner.fields_get(model, attributes),
        )
        .await
    }
    async fn create(
        &self,
        model: &str,
        values: Vec<Map<String, Value>>,
        context: &Context,
    ) -> Result<Vec<i64>, OdooError> {
        metered("create".into(), self.inner.create(model, values, context)).await
    }
    async fn write(
        &self,
        model: &str,
        ids: &[i64],
        values: Map<String, Value>,
        context: &Context,
    ) -> Result<(), OdooError> {
        metered(
            "write".into(),
            self.inner.write(model, ids, values, context),
        )
        .await
    }
    async fn unlink(&self, model: &str, ids: &[i64], context: &Context) -> Result<(), OdooError> {
        metered("unlink".into(), self.inner.unlink(model, ids, context)).await
    }
    async fn execute_kw(
        &self,
        model: &str,
        method: &str,
        args: Vec<Value>,
        kwargs: Map<String, Value>,
    ) -> Result<Value, OdooError> {
        // The method names are our code's, a handful: a bounded label.
        let label = Cow::Owned(method.to_string());
        metered(label, self.inner.execute_kw(model, method, args, kwargs)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use odoo_rpc::OdooFault;

    #[test]
    fn a_fault_is_labelled_by_odoo_s_exception_name_and_the_rest_by_what_failed() {
        let fault = OdooFault::new("odoo.exceptions.AccessError", "no", 200);
        assert_eq!(
            error_kind(&OdooError::Fault(fault)),
            "odoo.exceptions.AccessError"
        );
        let timeout = OdooError::Timeout {
            url: "http://odoo".into(),
            after: std::time::Duration::from_secs(1),
        };
        assert_eq!(error_kind(&timeout), "timeout");
        let bad_gateway = OdooError::Http {
            status: 502,
            url: "http://odoo".into(),
            snippet: String::new(),
        };
        assert_eq!(error_kind(&bad_gateway), "http_5xx");
    }
}
