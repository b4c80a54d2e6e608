//! `POST <webhook.path>`: secret → size → [`Acceptor::accept`]; 2xx only once the update is
//! durably queued (or deliberately dropped).

use std::time::Duration;

use axum::{
    Json,
    body::Body,
    extract::State,
    http::{HeaderMap, header},
};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde_json::{Value, json};
use subtle::ConstantTimeEq;

use super::{
    IngressState,
    accept::{AcceptError, Source},
    error::HttpError,
};
use crate::ops::throttle::Throttle;

const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

pub(super) async fn receive(
    State(state): State<IngressState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, HttpError> {
    let given = headers
        .get(SECRET_HEADER)
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    // An empty configured secret would match a missing header: refuse everything instead.
    // `ct_eq` compares equal-length values in constant time; only the length can leak, and the
    // secret's length is no help in guessing it.
    if state.secret.is_empty() || !bool::from(given.ct_eq(state.secret.as_bytes())) {
        return Err(HttpError::Unauthorized);
    }
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > state.body_limit as u64) {
        return Err(HttpError::PayloadTooLarge);
    }
    // The declared length may lie (or be absent with chunked encoding): count while reading.
    let bytes = match Limited::new(body, state.body_limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => return Err(HttpError::PayloadTooLarge),
        Err(_) => return Err(HttpError::BadRequest),
    };
    match state.acceptor.accept(&bytes, Source::Webhook).await {
        Ok(accepted) => {
            let mut answer = json!({ "ok": true, "result": accepted.label() });
            // Someone re-posting a hand-written update wonders why nothing happens: say why.
            if let super::accept::Accepted::Duplicate { update_id } = accepted {
                answer["description"] = json!(format!(
                    "update_id {update_id} was already received and is not processed twice \
                     (queue.dedupe_window_hours); send the next update with a new update_id"
                ));
            }
            Ok(Json(answer))
        }
        Err(AcceptError::Malformed(_)) => Err(HttpError::BadRequest),
        Err(AcceptError::Unavailable(e)) => {
            // Every update fails the same way while Redis is away: say so once per interval.
            static SAID: Throttle = Throttle::new(Duration::from_secs(10));
            if let Some(held) = SAID.check() {
                tracing::error!(error = %e, similar_since_last = held, "cannot queue update; answering 503 so Telegram retries");
            }
            Err(HttpError::Unavailable)
        }
    }
}
