//! HTTP plumbing shared by transports: one pooled `reqwest::Client`, the per-request timeout, the
//! concurrency limit and retries. Maps reqwest failures to `OdooError` without the URL's
//! credentials; knows nothing about JSON-RPC.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::Semaphore;

use crate::error::OdooError;
use crate::retry::{with_retries, RetryPolicy};

/// What came back over HTTP, whatever the status.
pub(crate) struct HttpAnswer {
    pub status: u16,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone)]
pub(crate) struct HttpPoster {
    client: reqwest::Client,
    permits: Arc<Semaphore>,
    timeout: Duration,
    retry: RetryPolicy,
}

impl HttpPoster {
    /// `shown_url` names the server in a setup error.
    pub fn new(
        shown_url: &str,
        timeout: Duration,
        max_concurrency: usize,
        retry: RetryPolicy,
    ) -> Result<Self, OdooError> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|error| transport_error(shown_url, error))?;
        Ok(HttpPoster {
            client,
            permits: Arc::new(Semaphore::new(max_concurrency.max(1))),
            timeout,
            retry,
        })
    }

    /// POSTs `body` as JSON and decodes the answer with `decode`, retrying retryable failures
    /// (including those `decode` reports, such as an HTTP 502).
    pub async fn post_json<T>(
        &self,
        url: &str,
        body: &Value,
        decode: impl Fn(HttpAnswer) -> Result<T, OdooError>,
    ) -> Result<T, OdooError> {
        let shown_url = redacted_url(url);
        with_retries(self.retry, &shown_url, || async {
            let answer = self.post_once(url, &shown_url, body).await?;
            decode(answer)
        })
        .await
    }

    async fn post_once(
        &self,
        url: &str,
        shown_url: &str,
        body: &Value,
    ) -> Result<HttpAnswer, OdooError> {
        // The semaphore is never closed, so acquiring cannot fail.
        let _permit = self.permits.acquire().await.ok();
        let to_odoo_error = |error| self.request_error(shown_url, error);
        let response = self
            .client
            .post(url)
            .json(body)
            .send()
            .await
            .map_err(to_odoo_error)?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(to_odoo_error)?;
        Ok(HttpAnswer {
            status,
            body: body.to_vec(),
        })
    }

    fn request_error(&self, shown_url: &str, error: reqwest::Error) -> OdooError {
        if error.is_timeout() {
            OdooError::Timeout {
                url: shown_url.to_owned(),
                after: self.timeout,
            }
        } else {
            transport_error(shown_url, error)
        }
    }
}

fn transport_error(shown_url: &str, error: reqwest::Error) -> OdooError {
    OdooError::Transport {
        url: shown_url.to_owned(),
        // We name the URL ourselves, without any user:password@ it may carry.
        source: Box::new(error.without_url()),
    }
}

/// The URL as it may appear in messages: without `user:password@`.
pub(crate) fn redacted_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() || !parsed.username().is_empty() => {
            // Both only fail for URLs that cannot carry credentials in the first place.
            let _ = parsed.set_password(None);
            let _ = parsed.set_username("");
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_the_url_are_not_shown() {
        let shown = redacted_url("http://admin:s3cret@odoo.example:8069/jsonrpc");
        assert_eq!(shown, "http://odoo.example:8069/jsonrpc");
        assert_eq!(
            redacted_url("http://odoo:8069/jsonrpc"),
            "http://odoo:8069/jsonrpc"
        );
    }
}
