//! `ApiError`: the only type that becomes an HTTP error response. Every error body is
//! `{"error": {"code": "snake_case_code", "message": "…"}}`; 5xx bodies stay opaque and their
//! cause is logged once, here.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::request_id;
use crate::domain::RunId;
use crate::engine::SyncError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Unauthorized(&'static str),
    /// A progress-stream ticket that is malformed, forged, expired or used.
    #[error("{0}")]
    TicketRefused(String),
    #[error("the sync API is disabled: set ADMIN_TOKEN to enable it")]
    SyncApiDisabled,
    #[error("{0}")]
    NotFound(String),
    #[error("sync run {0} is already running")]
    RunInProgress(RunId),
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    #[error("request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// Odoo failed us; what it said (URLs, its own messages) stays in the log.
    #[error("Odoo could not be reached or refused the call")]
    Odoo(#[source] SyncError),
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            code,
            message: message.into(),
        }
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::TicketRefused(_) => (StatusCode::UNAUTHORIZED, "ticket_refused"),
            ApiError::SyncApiDisabled => (StatusCode::SERVICE_UNAVAILABLE, "sync_api_disabled"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::RunInProgress(_) => (StatusCode::CONFLICT, "run_in_progress"),
            ApiError::Conflict { code, .. } => (StatusCode::CONFLICT, code),
            ApiError::BadRequest { code, .. } => (StatusCode::BAD_REQUEST, code),
            ApiError::PayloadTooLarge { .. } => {
                (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
            }
            ApiError::Odoo(_) => (StatusCode::BAD_GATEWAY, "odoo_error"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl ApiError {
    /// What a 5xx hides from its body and logs instead.
    fn logged_cause(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ApiError::Odoo(cause) => Some(cause),
            ApiError::Internal(cause) => Some(cause.as_ref()),
            _ => None,
        }
    }
}

/// `error: its source: its source's source…`, as one log field.
fn cause_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut chain = error.to_string();
    let mut next = error.source();
    while let Some(cause) = next {
        chain.push_str(": ");
        chain.push_str(&cause.to_string());
        next = cause.source();
    }
    chain
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let mut error = json!({"code": code, "message": self.to_string()});
        if let Some(cause) = self.logged_cause() {
            // The body stays opaque: the cause is logged once, under the id the body gives.
            let request_id = request_id::current();
            tracing::error!(request_id, error = %cause_chain(cause), "request failed: {self}");
            if let Some(id) = request_id {
                error["message"] = json!(format!(
                    "{self}; the server log has the cause under request id {id}"
                ));
                error["requestId"] = json!(id);
            }
        }
        if let ApiError::RunInProgress(run) = &self {
            error["runId"] = json!(run.0);
        }
        let mut response = (status, Json(json!({ "error": error }))).into_response();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            // The rest of the body is left unread, so the connection cannot carry another
            // request: say so, or a keep-alive client may send its next one into a closed socket.
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        response
    }
}

impl From<SyncError> for ApiError {
    fn from(error: SyncError) -> Self {
        match error {
            SyncError::RunInProgress { running } => ApiError::RunInProgress(running),
            SyncError::InvalidCursor(e) => ApiError::bad_request("invalid_cursor", e.to_string()),
            e @ SyncError::StaleCursor { .. } => ApiError::Conflict {
                code: "stale_cursor",
                message: e.to_string(),
            },
            e @ (SyncError::Odoo(_)
            | SyncError::BadRecord { .. }
            | SyncError::UnknownExtraField { .. }
            | SyncError::UnknownPricelists { .. }) => ApiError::Odoo(e),
            SyncError::Store(e) => e.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound { what } => ApiError::NotFound(format!("{what} not found")),
            StoreError::RunInProgress { running } => ApiError::RunInProgress(running),
            StoreError::RunLeased { run, .. } => ApiError::RunInProgress(run),
            other => ApiError::Internal(Box::new(other)),
        }
    }
}

impl From<image::ImageError> for ApiError {
    fn from(error: image::ImageError) -> Self {
        ApiError::Internal(Box::new(error))
    }
}
