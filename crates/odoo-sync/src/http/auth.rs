//! Bearer tokens, compared in constant time. Tokens are never logged.

use std::collections::HashMap;

use axum::extract::{Query, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::error::ApiError;
use super::AppState;
use crate::config::RotatingSecret;

/// Compares digests so that neither the content nor the length of the secret leaks by timing.
pub fn same_secret(given: &str, expected: &SecretString) -> bool {
    let given = Sha256::digest(given.as_bytes());
    let expected = Sha256::digest(expected.expose_secret().as_bytes());
    given.ct_eq(&expected).into()
}

pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// `given` is one of the values `secret` accepts (during a rotation, the previous one too).
pub fn accepts(secret: &RotatingSecret, given: &str) -> bool {
    // Every value is compared, so the timing does not tell which one matched.
    secret
        .accepted()
        .fold(false, |matched, value| same_secret(given, value) | matched)
}

/// The sync API's guard: 503 when no admin token is configured, 401 unless it is presented.
pub fn require_admin(
    expected: Option<&RotatingSecret>,
    given: Option<&str>,
) -> Result<(), ApiError> {
    let expected = expected.ok_or(ApiError::SyncApiDisabled)?;
    match given {
        Some(token) if accepts(expected, token) => Ok(()),
        Some(_) => Err(ApiError::Unauthorized(
            "the bearer token is not the admin token",
        )),
        None => Err(ApiError::Unauthorized(
            "missing Authorization: Bearer <ADMIN_TOKEN>",
        )),
    }
}

/// The doors, checked before any extractor reads the query or the body, so that a caller
/// without the secret learns nothing of what the route would accept.
pub async fn admin_only(State(state): State<AppState>, request: Request, next: Next) -> Response {
    match require_admin(state.admin_token.as_ref(), bearer(request.headers())) {
        Ok(()) => next.run(request).await,
        Err(refused) => refused.into_response(),
    }
}

pub async fn cron_only(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(secret) = state.cron_secret.as_ref() else {
        let unset = "no route /api/cron/sync: CRON_SECRET is not set";
        return ApiError::NotFound(unset.to_string()).into_response();
    };
    match bearer(request.headers()) {
        Some(token) if accepts(secret, token) => next.run(request).await,
        _ => ApiError::Unauthorized("missing or wrong Authorization: Bearer <CRON_SECRET>")
            .into_response(),
    }
}

/// Odoo's webhook action posts to a bare URL: the secret comes as `?token=` (or a header).
pub async fn webhook_only(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(secret) = state.settings.webhook_secret.as_ref() else {
        let unset = "no route /api/products/sync/webhook: WEBHOOK_SECRET is not set";
        return ApiError::NotFound(unset.to_string()).into_response();
    };
    let query = Query::<HashMap<String, String>>::try_from_uri(request.uri())
        .map(|Query(query)| query)
        .unwrap_or_default();
    let given = request
        .headers()
        .get("x-webhook-token")
        .and_then(|v| v.to_str().ok())
        .or(query.get("token").map(String::as_str));
    let refused = match given {
        Some(token) if accepts(secret, token) => return next.run(request).await,
        Some(_) => ApiError::Unauthorized("the webhook token is wrong"),
        None => ApiError::Unauthorized(
            "missing webhook token: add ?token=… to the URL or an X-Webhook-Token header",
        ),
    };
    refused.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_token_passes() {
        let expected = SecretString::from("s3cret".to_string());
        assert!(same_secret("s3cret", &expected));
        assert!(!same_secret("s3cre", &expected));
        assert!(!same_secret("s3cret ", &expected));
        assert!(matches!(
            require_admin(None, Some("x")),
            Err(ApiError::SyncApiDisabled)
        ));
        let admin = RotatingSecret {
            current: expected,
            previous: Some(SecretString::from("old".to_string())),
        };
        assert!(matches!(
            require_admin(Some(&admin), None),
            Err(ApiError::Unauthorized(_))
        ));
        assert!(require_admin(Some(&admin), Some("s3cret")).is_ok());
        assert!(require_admin(Some(&admin), Some("old")).is_ok());
        assert!(require_admin(Some(&admin), Some("ol")).is_err());
    }

    #[test]
    fn bearer_is_read_case_insensitively() {
        let mut headers = HeaderMap::new();
        headers.insert("authorization", "bearer abc".parse().unwrap());
        assert_eq!(bearer(&headers), Some("abc"));
        headers.insert("authorization", "Basic abc".parse().unwrap());
        assert_eq!(bearer(&headers), None);
    }
}
