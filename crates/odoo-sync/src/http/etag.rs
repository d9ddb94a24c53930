//! Caching headers: static answers (the OpenAPI document) carry an `ETag` (a digest of the
//! body) and honour `If-None-Match` with a 304; sync answers are never cached. Catalog answers
//! are validated from the catalog version instead (`catalog_cache`).

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// Catalog bodies are small pages; a larger one is passed through without an ETag.
const MAX_TAGGED_BODY: usize = 8 * 1024 * 1024;

pub async fn cache_headers(
    State(cache_control): State<String>,
    request: Request,
    next: Next,
) -> Response {
    let is_get = request.method() == Method::GET;
    let if_none_match = request.headers().get(header::IF_NONE_MATCH).cloned();
    let response = next.run(request).await;
    if !is_get || response.status() != StatusCode::OK {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_TAGGED_BODY).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let digest = Sha256::digest(&bytes);
    let tag = format!(
        "\"{}\"",
        digest
            .iter()
            .take(12)
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let tag_value = HeaderValue::from_str(&tag).expect("hex is a valid header value");
    parts.headers.insert(header::ETAG, tag_value.clone());
    if let Ok(value) = HeaderValue::from_str(&cache_control) {
        parts.headers.insert(header::CACHE_CONTROL, value);
    }
    if if_none_match.is_some_and(|given| matches_tag(&given, &tag)) {
        let mut not_modified = Response::new(Body::empty());
        *not_modified.status_mut() = StatusCode::NOT_MODIFIED;
        for name in [header::ETAG, header::CACHE_CONTROL] {
            if let Some(value) = parts.headers.get(&name) {
                not_modified.headers_mut().insert(name, value.clone());
            }
        }
        return not_modified;
    }
    Response::from_parts(parts, Body::from(bytes))
}

pub(super) fn matches_tag(given: &HeaderValue, tag: &str) -> bool {
    let Ok(given) = given.to_str() else {
        return false;
    };
    given
        .split(',')
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == tag || t == "*")
}

pub async fn no_store(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
