//! The one error type of AVA's HTTP edge. Its bodies are fixed sentences: no internals leak.

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::json;

use crate::ops::metrics as m;

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    /// Missing or wrong `X-Telegram-Bot-Api-Secret-Token`.
    #[error("wrong or missing secret token")]
    Unauthorized,
    /// Body over `ingress.body_limit_bytes`.
    #[error("body too large")]
    PayloadTooLarge,
    /// Not JSON, or no integer `update_id`.
    #[error("body is not a Telegram update")]
    BadRequest,
    /// The queue cannot take the update now; Telegram retries.
    #[error("queue unavailable, retry later")]
    Unavailable,
    /// The process is stopping; Telegram retries, another replica takes it.
    #[error("shutting down, retry later")]
    ShuttingDown,
}

impl HttpError {
    fn status(self) -> StatusCode {
        match self {
            HttpError::Unauthorized => StatusCode::UNAUTHORIZED,
            HttpError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            HttpError::BadRequest => StatusCode::BAD_REQUEST,
            HttpError::Unavailable | HttpError::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn reason(self) -> &'static str {
        match self {
            HttpError::Unauthorized => "unauthorized",
            HttpError::PayloadTooLarge => "too_large",
            HttpError::BadRequest => "malformed",
            HttpError::Unavailable => "unavailable",
            HttpError::ShuttingDown => "shutting_down",
        }
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        metrics::counter!(m::INGRESS_REJECTED, "reason" => self.reason()).increment(1);
        let mut response = (
            self.status(),
            Json(json!({ "ok": false, "error": self.to_string() })),
        )
            .into_response();
        if self.status() == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}
