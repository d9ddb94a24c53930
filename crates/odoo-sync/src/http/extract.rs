//! Extractors whose rejections speak our error format: JSON bodies (unknown fields named, size
//! limited) and query strings.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::error::ApiError;

pub const BODY_LIMIT: usize = 64 * 1024;

/// A JSON body; an empty body reads as `{}` so `POST` with no body means "defaults".
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let LimitedBody(bytes) = LimitedBody::from_request(request, state).await?;
        let text: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &bytes
        };
        let mut deserializer = serde_json::Deserializer::from_slice(text);
        let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
            let path = e.path().to_string();
            let field = if path == "." {
                String::new()
            } else {
                format!(" field '{path}':")
            };
            ApiError::bad_request(
                "invalid_body",
                format!("request body:{field} {}", e.inner()),
            )
        })?;
        deserializer
            .end()
            .map_err(|e| ApiError::bad_request("invalid_body", format!("request body: {e}")))?;
        Ok(JsonBody(value))
    }
}

/// A raw body within the size limit; a larger one is a 413 in our error format.
pub struct LimitedBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for LimitedBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        Bytes::from_request(request, state)
            .await
            .map(LimitedBody)
            .map_err(body_rejection)
    }
}

fn body_rejection(rejection: BytesRejection) -> ApiError {
    match rejection {
        BytesRejection::FailedToBufferBody(_) => ApiError::PayloadTooLarge { limit: BODY_LIMIT },
        other => ApiError::bad_request("invalid_body", other.body_text()),
    }
}

/// Query parameters; a bad one is a 400 naming it.
pub struct QueryParams<T>(pub T);

/// How many items a list answers at most (its `limit`), and when none is asked: every list
/// checks its `limit` against its own bounds the same way.
#[derive(Debug, Clone, Copy)]
pub struct ListLimit {
    pub default: u32,
    pub max: u32,
}

impl ListLimit {
    pub const fn new(default: u32, max: u32) -> Self {
        ListLimit { default, max }
    }

    /// A `limit=` query parameter, or the default.
    pub fn of_query(self, given: Option<u32>) -> Result<u32, ApiError> {
        self.check(
            given.map_or(u64::from(self.default), u64::from),
            "invalid_query",
        )
    }

    /// A `limit` of a JSON body.
    pub fn of_body(self, given: u64) -> Result<u32, ApiError> {
        self.check(given, "invalid_body")
    }

    fn check(self, limit: u64, code: &'static str) -> Result<u32, ApiError> {
        match u32::try_from(limit) {
            Ok(limit) if (1..=self.max).contains(&limit) => Ok(limit),
            _ => Err(ApiError::bad_request(
                code,
                format!("limit must be between 1 and {}, got {limit}", self.max),
            )),
        }
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|query| QueryParams(query.0))
            .map_err(|rejection: QueryRejection| {
                ApiError::bad_request("invalid_query", rejection.body_text())
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(result: Result<u32, ApiError>) -> String {
        match result {
            Err(ApiError::BadRequest { code, message }) => format!("{code}: {message}"),
            other => panic!("not a bad request: {other:?}"),
        }
    }

    #[test]
    fn a_limit_is_the_default_when_absent_and_within_its_bounds_or_a_400_naming_them() {
        let runs = ListLimit::new(20, 200);
        assert_eq!(runs.of_query(None).unwrap(), 20);
        assert_eq!(runs.of_query(Some(1)).unwrap(), 1);
        assert_eq!(runs.of_query(Some(200)).unwrap(), 200);
        assert_eq!(
            message(runs.of_query(Some(0))),
            "invalid_query: limit must be between 1 and 200, got 0"
        );
        assert_eq!(
            message(runs.of_body(u64::from(u32::MAX) + 1)),
            "invalid_body: limit must be between 1 and 200, got 4294967296"
        );
    }
}
