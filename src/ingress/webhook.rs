//! `POST <webhook.path>`: secret → size → [`super::Acceptor::accept`]; 2xx only once the update
//! is durably queued (or deliberately dropped). The checks and the answer live in
//! [`super::receive`], shared with the Lambda function; this file only reads HTTP.

use axum::{
    Json,
    body::Body,
    extract::State,
    http::{HeaderMap, header},
};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde_json::Value;

use super::{
    IngressState,
    accept::Source,
    error::HttpError,
    receive::{self, SECRET_HEADER},
};

pub(super) async fn receive(
    State(state): State<IngressState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, HttpError> {
    receive::check_secret(&state.secret, headers.get(SECRET_HEADER).map(|v| v.as_bytes()))?;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(declared) = declared {
        receive::check_size(declared, state.body_limit)?;
    }
    // The declared length may lie (or be absent with chunked encoding): count while reading.
    let bytes = match Limited::new(body, state.body_limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => return Err(HttpError::PayloadTooLarge),
        Err(_) => return Err(HttpError::BadRequest),
    };
    let accepted = receive::accept(&state.acceptor, &bytes, Source::Webhook).await?;
    Ok(receive::acknowledged(&accepted))
}
