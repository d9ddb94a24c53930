//! HTTP plumbing shared by transports: one pooled `reqwest::Client`, the per-request timeout, the
//! concurrency limit and retries. Maps reqwest failures to `OdooError` without the URL's
//! credentials, and shortens error bodies for messages (`snippet`); knows nothing about JSON-RPC
//! or JSON-2.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::Value;
use tokio::sync::Semaphore;

use crate::error::{truncate_chars, OdooError};
use crate::retry::{with_retries, Replay, RetryPolicy};

/// One request to send (again, on a retry). Headers marked sensitive stay out of `Debug` output.
pub(crate) struct HttpRequest<'a> {
    pub method: Method,
    pub url: &'a str,
    pub headers: HeaderMap,
    /// Sent as is; the `Content-Type` is the caller's (in `headers`).
    pub body: Option<Vec<u8>>,
}

/// What came back over HTTP, whatever the status. Redirects are never followed: they are
/// answers too (Odoo 18 redirects anonymous callers of its `/json/` web route to its login page).
#[derive(Debug)]
pub(crate) struct HttpAnswer {
    pub status: u16,
    pub body: Vec<u8>,
    /// The `Location` header of a redirect.
    pub location: Option<String>,
    /// The `Content-Type` header, lowercased.
    pub content_type: Option<String>,
}

impl HttpAnswer {
    /// Whether the answer is a redirect or a web page: what a server sends for a path its API
    /// does not serve, never an API's own answer (JSON-RPC and JSON-2 always answer JSON).
    pub fn foreign_to_api(&self) -> Option<String> {
        if (300..400).contains(&self.status) {
            let target = self.location.as_deref().unwrap_or("nowhere named");
            return Some(format!("HTTP {} redirecting to {target}", self.status));
        }
        let html = self
            .content_type
            .as_deref()
            .is_some_and(|kind| kind.starts_with("text/html"))
            || self.body.trim_ascii_start().starts_with(b"<");
        html.then(|| {
            format!(
                "HTTP {} with an HTML page: {}",
                self.status,
                snippet(&self.body)
            )
        })
    }
}

#[cfg(test)]
impl HttpAnswer {
    /// The answer a recorded fixture holds (`relative` to `../shared`), headers included.
    pub fn recorded(relative: &str) -> HttpAnswer {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared")
            .join(relative);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{relative}: {e}"));
        let fixture: serde_json::Value = serde_json::from_str(&text).expect("a JSON fixture");
        let response = &fixture["response"];
        let header = |name: &str| response["headers"][name].as_str().map(str::to_owned);
        let body = match &response["body"] {
            serde_json::Value::String(text) => text.clone().into_bytes(),
            body => body.to_string().into_bytes(),
        };
        HttpAnswer {
            status: u16::try_from(response["status"].as_u64().expect("a status")).expect("u16"),
            body,
            location: header("Location"),
            content_type: header("Content-Type").map(|kind| kind.to_lowercase()),
        }
    }
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
            .redirect(reqwest::redirect::Policy::none())
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
    /// (including those `decode` reports, such as an HTTP 502) as `replay` allows.
    pub async fn post_json<T>(
        &self,
        url: &str,
        body: &Value,
        replay: Replay<'_>,
        decode: impl Fn(HttpAnswer) -> Result<T, OdooError>,
    ) -> Result<T, OdooError> {
        let shown_url = redacted_url(url);
        with_retries(self.retry, &shown_url, replay, || async {
            let answer = self.post_once(url, &shown_url, body).await?;
            decode(answer)
        })
        .await
    }

    /// Sends `request` and decodes the answer with `decode`, retrying retryable failures like
    /// `post_json`.
    pub async fn send<T>(
        &self,
        request: &HttpRequest<'_>,
        replay: Replay<'_>,
        decode: impl Fn(HttpAnswer) -> Result<T, OdooError>,
    ) -> Result<T, OdooError> {
        let shown_url = redacted_url(request.url);
        with_retries(self.retry, &shown_url, replay, || async {
            let mut builder = self
                .client
                .request(request.method.clone(), request.url)
                .headers(request.headers.clone());
            if let Some(body) = &request.body {
                builder = builder.body(body.clone());
            }
            let answer = self.send_once(builder, &shown_url).await?;
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
        self.send_once(self.client.post(url).json(body), shown_url)
            .await
    }

    async fn send_once(
        &self,
        builder: reqwest::RequestBuilder,
        shown_url: &str,
    ) -> Result<HttpAnswer, OdooError> {
        // The semaphore is never closed, so acquiring cannot fail.
        let _permit = self.permits.acquire().await.ok();
        let to_odoo_error = |error| self.request_error(shown_url, error);
        let response = builder.send().await.map_err(to_odoo_error)?;
        let status = response.status().as_u16();
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned)
        };
        let location = header(reqwest::header::LOCATION);
        let content_type = header(reqwest::header::CONTENT_TYPE).map(|kind| kind.to_lowercase());
        let body = response.bytes().await.map_err(to_odoo_error)?;
        Ok(HttpAnswer {
            status,
            body: body.to_vec(),
            location,
            content_type,
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

const SNIPPET_CHARS: usize = 200;

/// The start of a body for error messages: HTML tags stripped, whitespace collapsed.
pub(crate) fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let without_tags = strip_tags(&text);
    let collapsed = without_tags
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if collapsed.is_empty() {
        return "(empty body)".to_owned();
    }
    truncate_chars(&collapsed, SNIPPET_CHARS)
}

/// Drops `<...>` tags (and `<!-- -->` comments with them) from an HTML page.
fn strip_tags(text: &str) -> String {
    if !text.trim_start().starts_with('<') {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut in_tag = false;
    for ch in text.chars() {
        match ch {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(ch),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippets_are_short() {
        let long = "x".repeat(1000);
        assert_eq!(snippet(long.as_bytes()).chars().count(), SNIPPET_CHARS + 3);
    }

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
