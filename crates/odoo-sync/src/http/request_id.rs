//! Request ids: each request gets one (the caller's `X-Request-Id` when it is a sane token, else
//! a new one), answers carry it back, and every log line of the request is in a span naming it.
//! A 5xx body gives only the id: the cause is in the log under it, for whoever runs the server.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

tokio::task_local! {
    static CURRENT: String;
}

/// The id of the request being answered, if any.
pub fn current() -> Option<String> {
    CURRENT.try_with(Clone::clone).ok()
}

pub async fn assign(request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .filter(|given| is_sane(given))
        .map_or_else(new_id, str::to_owned);
    let span = tracing::info_span!("request", request_id = %id);
    let mut response = CURRENT
        .scope(id.clone(), next.run(request).instrument(span))
        .await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(X_REQUEST_ID.clone(), value);
    }
    response
}

/// A caller's id is kept only when it cannot forge log lines or headers.
fn is_sane(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn new_id() -> String {
    rand::random::<[u8; 12]>()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_short_plain_tokens_are_taken_from_the_caller() {
        assert!(is_sane("b7e2-41c9_a.1"));
        assert!(!is_sane(""));
        assert!(!is_sane(&"a".repeat(65)));
        assert!(!is_sane("id\nlevel=ERROR forged"));
        assert!(!is_sane("a b"));
        assert_eq!(new_id().len(), 24);
        assert_ne!(new_id(), new_id());
    }
}
