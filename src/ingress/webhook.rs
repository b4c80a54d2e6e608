//! `POST <webhook.path>`: answers 2xx only once the update is durably queued.

use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
};
use subtle::ConstantTimeEq;
use workers::{Broker, Enqueued, NewJob};

use super::{Envelope, IngressState, classify_lane};

const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

pub(super) async fn receive(
    State(state): State<IngressState>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, &'static str) {
    let given = headers
        .get(SECRET_HEADER)
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    if !bool::from(given.ct_eq(state.secret.as_bytes())) {
        return (StatusCode::UNAUTHORIZED, "wrong or missing secret token");
    }
    let update: Envelope = match serde_json::from_slice(&body) {
        Ok(update) => update,
        Err(_) => return (StatusCode::BAD_REQUEST, "body is not a Telegram update"),
    };
    let lane = classify_lane(&update);
    let key = update
        .chat_id()
        .map(|id| id.to_string())
        .unwrap_or_else(|| format!("update:{}", update.update_id));
    let job = NewJob::new(crate::worker::TELEGRAM_UPDATE, lane, key, body.to_vec())
        .with_id(update.update_id.to_string());
    match state.broker.enqueue(job).await {
        Ok(Enqueued::Queued(_)) => {
            tracing::debug!(update_id = update.update_id, kind = update.kind(), %lane, "queued");
            (StatusCode::OK, "queued")
        }
        Ok(Enqueued::Duplicate) => {
            tracing::debug!(update_id = update.update_id, "duplicate update dropped");
            (StatusCode::OK, "duplicate")
        }
        Err(e) => {
            tracing::error!(update_id = update.update_id, error = %e, "cannot queue update; Telegram will retry");
            (StatusCode::SERVICE_UNAVAILABLE, "queue unavailable, retry later")
        }
    }
}
