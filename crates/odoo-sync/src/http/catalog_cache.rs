//! Validators and a response cache for the catalog API, both derived from the store's catalog
//! version (a number the store changes in the same transaction as any write to what the catalog
//! shows): a 304 or a repeated page costs one tiny read instead of the page's queries, and the
//! ETag is known before the handler runs.
//!
//! A body is a function of the catalog's content, the request's path and query, and the cursor
//! key of this process (next-page cursors are signed with it); the ETag covers all three.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::body::{to_bytes, Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::etag::matches_tag;
use super::{ApiError, AppState};

/// Bodies kept at most: enough for the hot pages of a shop, small next to the process.
const MAX_CACHED_BYTES: usize = 32 * 1024 * 1024;
const MAX_CACHED_ENTRIES: usize = 4_096;
/// A larger body is served but not kept.
const MAX_CACHED_BODY: usize = 1024 * 1024;
/// Catalog bodies are pages of at most 100 products; anything larger is refused as an error.
const MAX_BODY: usize = 8 * 1024 * 1024;

pub struct CatalogCache {
    salt: [u8; 32],
    entries: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    by_request: HashMap<String, Cached>,
    bytes: usize,
}

#[derive(Clone)]
struct Cached {
    version: i64,
    content_type: Option<HeaderValue>,
    body: Bytes,
}

impl CatalogCache {
    /// `cursor_key` is the key next-page cursors are signed with: another key, other bodies.
    pub fn new(cursor_key: &[u8]) -> Self {
        let salt = Sha256::new()
            .chain_update(b"odoo-sync catalog etag\0")
            .chain_update(cursor_key)
            .finalize()
            .into();
        CatalogCache {
            salt,
            entries: Mutex::new(Entries::default()),
        }
    }

    /// `"<version>-<digest of the request>"`: changes with the catalog, differs between requests.
    pub fn etag(&self, version: i64, request: &str) -> HeaderValue {
        let digest = Sha256::new()
            .chain_update(self.salt)
            .chain_update(request.as_bytes())
            .finalize();
        let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
        HeaderValue::from_str(&format!("\"{version:x}-{hex}\""))
            .expect("hex is a valid header value")
    }

    fn get(&self, request: &str, version: i64) -> Option<Cached> {
        let entries = self.entries.lock().expect("cache lock is never poisoned");
        entries
            .by_request
            .get(request)
            .filter(|cached| cached.version == version)
            .cloned()
    }

    fn put(&self, request: String, cached: Cached) {
        if cached.body.len() > MAX_CACHED_BODY {
            return;
        }
        let mut entries = self.entries.lock().expect("cache lock is never poisoned");
        if let Some(old) = entries.by_request.remove(&request) {
            entries.bytes -= old.body.len();
        }
        let full = |e: &Entries| {
            e.by_request.len() >= MAX_CACHED_ENTRIES
                || e.bytes + cached.body.len() > MAX_CACHED_BYTES
        };
        if full(&entries) {
            entries
                .by_request
                .retain(|_, c| c.version >= cached.version);
            entries.bytes = entries.by_request.values().map(|c| c.body.len()).sum();
        }
        if full(&entries) {
            // Simpler than an LRU and enough here: the hot pages are back after one miss each.
            *entries = Entries::default();
        }
        entries.bytes += cached.body.len();
        entries.by_request.insert(request, cached);
    }
}

/// Catalog reads: access check, then 304 or a cached body when the catalog version allows,
/// else the handler, whose 200 body is kept for the next identical request.
pub async fn versioned(State(state): State<AppState>, request: Request, next: Next) -> Response {
    // Checked here because a cached body or a 304 never reaches the handler.
    if let Err(refused) = state.check_catalog_access(request.headers()) {
        return refused.into_response();
    }
    if request.method() != Method::GET {
        return next.run(request).await;
    }
    let version = match state.store.catalog_version().await {
        Ok(version) => version,
        Err(error) => return ApiError::from(error).into_response(),
    };
    let key = request.uri().to_string();
    let cache = &state.catalog_cache;
    let etag = cache.etag(version, &key);
    let cache_control = CacheHeaders {
        cache_control: HeaderValue::from_str(&state.settings.cache_control).ok(),
        // A private catalog answers by credential: a cache must key on it.
        vary_authorization: !state.settings.catalog_public,
    };
    let revalidated = request
        .headers()
        .get(header::IF_NONE_MATCH)
        .is_some_and(|given| etag.to_str().is_ok_and(|tag| matches_tag(given, tag)));
    if revalidated {
        cache_result("not_modified");
        return with_validators(
            StatusCode::NOT_MODIFIED.into_response(),
            etag,
            cache_control,
        );
    }
    let cached = (!asks_for_fresh_body(&request))
        .then(|| cache.get(&key, version))
        .flatten();
    if let Some(cached) = cached {
        cache_result("hit");
        let mut response = Response::new(Body::from(cached.body));
        if let Some(content_type) = cached.content_type {
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, content_type);
        }
        return with_validators(response, etag, cache_control);
    }
    cache_result("miss");
    let response = next.run(request).await;
    if response.status() != StatusCode::OK {
        return response;
    }
    let (parts, body) = response.into_parts();
    let Ok(body) = to_bytes(body, MAX_BODY).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let cached = Cached {
        version,
        content_type: parts.headers.get(header::CONTENT_TYPE).cloned(),
        body: body.clone(),
    };
    cache.put(key, cached);
    with_validators(
        Response::from_parts(parts, Body::from(body)),
        etag,
        cache_control,
    )
}

fn cache_result(result: &'static str) {
    metrics::counter!(crate::meters::CATALOG_CACHE, "result" => result).increment(1);
}

/// `Cache-Control: no-cache` (a browser's hard reload, a load test of the queries): the body is
/// made again, not taken from the cache; it still replaces the cached one.
fn asks_for_fresh_body(request: &Request) -> bool {
    request
        .headers()
        .get_all(header::CACHE_CONTROL)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|directive| directive.trim().eq_ignore_ascii_case("no-cache"))
}

struct CacheHeaders {
    cache_control: Option<HeaderValue>,
    vary_authorization: bool,
}

fn with_validators(mut response: Response, etag: HeaderValue, cache: CacheHeaders) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::ETAG, etag);
    if let Some(value) = cache.cache_control {
        headers.insert(header::CACHE_CONTROL, value);
    }
    if cache.vary_authorization {
        headers.append(header::VARY, HeaderValue::from_static("Authorization"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cached(version: i64, body: &'static str) -> Cached {
        Cached {
            version,
            content_type: None,
            body: Bytes::from_static(body.as_bytes()),
        }
    }

    #[test]
    fn etags_change_with_the_version_the_request_and_the_cursor_key() {
        let cache = CatalogCache::new(b"key");
        let tag = cache.etag(7, "/api/products?limit=5");
        assert_eq!(tag, cache.etag(7, "/api/products?limit=5"));
        assert_ne!(tag, cache.etag(8, "/api/products?limit=5"));
        assert_ne!(tag, cache.etag(7, "/api/products?limit=6"));
        assert_ne!(
            tag,
            CatalogCache::new(b"other").etag(7, "/api/products?limit=5")
        );
    }

    #[test]
    fn a_cached_body_is_only_served_for_the_version_it_was_made_at() {
        let cache = CatalogCache::new(b"key");
        cache.put("/a".to_string(), cached(3, "three"));
        assert_eq!(cache.get("/a", 3).unwrap().body, "three");
        assert!(cache.get("/a", 4).is_none());
        assert!(cache.get("/b", 3).is_none());
        cache.put("/a".to_string(), cached(4, "four"));
        assert_eq!(cache.get("/a", 4).unwrap().body, "four");
    }

    #[test]
    fn a_full_cache_drops_stale_versions_first_and_keeps_its_byte_count() {
        let cache = CatalogCache::new(b"key");
        for i in 0..MAX_CACHED_ENTRIES - 1 {
            cache.put(format!("/old/{i}"), cached(1, "x"));
        }
        cache.put("/current".to_string(), cached(2, "current"));
        cache.put("/next".to_string(), cached(2, "next"));
        let entries = cache.entries.lock().unwrap();
        assert_eq!(entries.by_request.len(), 2);
        assert_eq!(entries.bytes, "current".len() + "next".len());
    }
}
