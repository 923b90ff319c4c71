//! The one place errors become HTTP statuses. Clients get a stable code and a message naming
//! the problem; internal details are logged, never echoed.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use vitals_core::alerts::lifecycle::LifecycleError;
use vitals_core::config::ConfigIssue;
use vitals_core::error::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is wrong; the message names the field and the problem.
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// Authenticated, but the role may not do this.
    #[error("your role may not do this")]
    Forbidden,
    #[error("not found")]
    NotFound,
    /// A browser on an origin the ingest CORS settings do not allow.
    #[error("{0}")]
    OriginNotAllowed(String),
    /// The resource changed since the client read it (optimistic concurrency).
    #[error("{0}")]
    Conflict(String),
    /// A configuration was refused; every problem is listed by key.
    #[error("configuration has {} problem(s)", .0.len())]
    InvalidConfig(Vec<ConfigIssue>),
    /// A dependency is briefly unavailable; the client should retry.
    #[error("service temporarily unavailable")]
    Unavailable(String),
    #[error("internal error")]
    Internal(String),
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        if e.is_retryable() {
            ApiError::Unavailable(e.to_string())
        } else {
            ApiError::Internal(e.to_string())
        }
    }
}

impl From<LifecycleError> for ApiError {
    fn from(e: LifecycleError) -> Self {
        match e {
            LifecycleError::NotFound(_) => ApiError::NotFound,
            LifecycleError::Invalid { .. } => ApiError::BadRequest(e.to_string()),
            LifecycleError::Stale { .. } | LifecycleError::Already(_) => {
                ApiError::Conflict(e.to_string())
            }
            LifecycleError::Store(StoreError::Conflict(_)) => ApiError::Conflict(
                "the alert kept changing while updating: reload and retry".into(),
            ),
            LifecycleError::Store(s) => s.into(),
            LifecycleError::Queue(q) => ApiError::Unavailable(q.to_string()),
        }
    }
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Forbidden => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::OriginNotAllowed(_) => StatusCode::FORBIDDEN,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::InvalidConfig(_) => StatusCode::BAD_REQUEST,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad_request",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::PayloadTooLarge(_) => "payload_too_large",
            ApiError::UnsupportedMediaType(_) => "unsupported_media_type",
            ApiError::Forbidden => "forbidden",
            ApiError::NotFound => "not_found",
            ApiError::OriginNotAllowed(_) => "origin_not_allowed",
            ApiError::Conflict(_) => "conflict",
            ApiError::InvalidConfig(_) => "invalid_config",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Internal(_) => "internal",
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        match &self {
            ApiError::Unavailable(detail) => tracing::warn!(%detail, "request failed, retryable"),
            ApiError::Internal(detail) => tracing::error!(%detail, "request failed"),
            _ => {}
        }
        let mut error = json!({"code": self.code(), "message": self.to_string()});
        if let ApiError::InvalidConfig(issues) = &self {
            error["issues"] = json!(issues
                .iter()
                .map(|i| json!({"key": i.key, "problem": i.problem}))
                .collect::<Vec<_>>());
        }
        let mut response = (
            status,
            axum::Json(json!({"success": false, "error": error})),
        )
            .into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("1"),
            );
        }
        response
    }
}
