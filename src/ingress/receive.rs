//! The webhook's checks and answer, apart from any HTTP server: secret (constant time) → size →
//! [`Acceptor::accept`] → the status Telegram gets. The axum webhook and the Lambda function both
//! call these, so the two front doors cannot drift apart.

use std::time::Duration;

use axum::{
    Json,
    response::{IntoResponse, Response},
};
use serde_json::json;
use subtle::ConstantTimeEq;

use super::{
    accept::{AcceptError, Accepted, Acceptor, Source},
    error::HttpError,
};
use crate::ops::throttle::Throttle;

/// The header Telegram puts the webhook secret in (any case; HTTP header names are not
/// case-sensitive and both servers lower-case them).
pub const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

/// 401 unless `given` is the configured secret.
pub fn check_secret(configured: &str, given: Option<&[u8]>) -> Result<(), HttpError> {
    let given = given.unwrap_or_default();
    // An empty configured secret would match a missing header: refuse everything instead.
    // `ct_eq` compares equal-length values in constant time; only the length can leak, and the
    // secret's length is no help in guessing it.
    if configured.is_empty() || !bool::from(given.ct_eq(configured.as_bytes())) {
        return Err(HttpError::Unauthorized);
    }
    Ok(())
}

/// 413 when a body of `len` bytes (declared or read) is over `limit`.
pub fn check_size(len: u64, limit: usize) -> Result<(), HttpError> {
    if len > limit as u64 {
        return Err(HttpError::PayloadTooLarge);
    }
    Ok(())
}

/// Accepts a body already read in full (the Lambda event carries it whole): size, then
/// [`Acceptor::accept`], with its errors mapped to the answer Telegram must get.
pub async fn accept_body(
    acceptor: &Acceptor,
    body: &[u8],
    limit: usize,
    source: Source,
) -> Result<Accepted, HttpError> {
    check_size(body.len() as u64, limit)?;
    accept(acceptor, body, source).await
}

/// [`Acceptor::accept`] with its errors mapped: malformed → 400, Redis did not take it → 503, so
/// Telegram delivers it again.
pub async fn accept(acceptor: &Acceptor, body: &[u8], source: Source) -> Result<Accepted, HttpError> {
    match acceptor.accept(body, source).await {
        Ok(accepted) => Ok(accepted),
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

/// The body of a 200: `{"ok": true, "result": "queued" | "duplicate" | …}`.
pub fn acknowledged(accepted: &Accepted) -> Json<serde_json::Value> {
    let mut answer = json!({ "ok": true, "result": accepted.label() });
    // Someone re-posting a hand-written update wonders why nothing happens: say why.
    if let Accepted::Duplicate { update_id } = accepted {
        answer["description"] = json!(format!(
            "update_id {update_id} was already received and is not processed twice \
             (queue.dedupe_window_hours); send the next update with a new update_id"
        ));
    }
    Json(answer)
}

/// The whole HTTP answer for a result: 200 with [`acknowledged`], or the error's status and body.
pub fn respond(result: Result<Accepted, HttpError>) -> Response {
    match result {
        Ok(accepted) => acknowledged(&accepted).into_response(),
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_must_match_exactly_and_an_empty_one_refuses_all() {
        assert_eq!(check_secret("s3cret", Some(b"s3cret")), Ok(()));
        for given in [
            Some(&b"s3cre"[..]),
            Some(b"s3cret "),
            Some(b"S3CRET"),
            Some(b""),
            None,
        ] {
            assert_eq!(
                check_secret("s3cret", given),
                Err(HttpError::Unauthorized),
                "{given:?}"
            );
        }
        assert_eq!(check_secret("", None), Err(HttpError::Unauthorized));
        assert_eq!(check_secret("", Some(b"")), Err(HttpError::Unauthorized));
    }

    #[test]
    fn size_at_the_limit_passes_one_over_is_413() {
        assert_eq!(check_size(1024, 1024), Ok(()));
        assert_eq!(check_size(1025, 1024), Err(HttpError::PayloadTooLarge));
    }
}
