//! The chat page at `/chat`: plain HTML, CSS and JS built into the binary (no CDN, no build
//! step). It drives the client API in [`super::control`] and follows `/emulator/events` (SSE).

use axum::{
    Router,
    http::header,
    response::{Html, IntoResponse},
    routing::get,
};

use super::Emulator;

const HTML: &str = include_str!("page/chat.html");
const CSS: &str = include_str!("page/chat.css");
const JS: &str = include_str!("page/chat.js");

pub(super) fn routes() -> Router<Emulator> {
    Router::new()
        .route("/chat", get(|| async { Html(HTML) }))
        .route(
            "/chat/chat.css",
            get(|| async { ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], CSS).into_response() }),
        )
        .route(
            "/chat/chat.js",
            get(|| async {
                ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], JS).into_response()
            }),
        )
}
