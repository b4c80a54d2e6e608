//! The HTTP edge: webhook (secret → parse → dedupe → classify → enqueue) and health.

mod update;
mod webhook;

use std::sync::Arc;

use axum::{
    Router,
    extract::DefaultBodyLimit,
    routing::{get, post},
};
use tokio::net::TcpListener;
use workers::RedisBroker;

use crate::{config::Settings, shutdown::Shutdown};

pub use update::{Envelope, classify_lane};

/// Largest webhook body accepted; Telegram's updates are far smaller.
const BODY_LIMIT: usize = 1024 * 1024;

/// What the handlers share.
#[derive(Clone)]
pub struct IngressState {
    broker: RedisBroker,
    secret: Arc<str>,
}

/// Builds the router: the webhook path, `/health`, and anything `extra` adds (the dev emulator).
pub async fn router(settings: &Settings) -> anyhow::Result<Router> {
    let broker = RedisBroker::connect(
        settings.redis.url.expose(),
        &settings.redis.prefix,
        settings.queue.to_config(),
    )
    .await
    .map_err(|e| anyhow::anyhow!("cannot connect to Redis at redis.url: {e}"))?;
    let state = IngressState {
        broker,
        secret: Arc::from(settings.webhook.secret.expose()),
    };
    Ok(Router::new()
        .route(&settings.webhook.path, post(webhook::receive))
        .route("/health", get(|| async { "ok" }))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state))
}

/// Serves `router` on `listener` until `shutdown`; in-flight requests finish first.
pub async fn serve(listener: TcpListener, router: Router, shutdown: Shutdown) -> anyhow::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await?;
    Ok(())
}

/// `ava ingress`: binds `http.addr` and serves until shutdown.
pub async fn run(settings: Settings, shutdown: Shutdown) -> anyhow::Result<()> {
    settings.require_webhook_secret()?;
    let router = router(&settings).await?;
    let listener = TcpListener::bind(settings.http.addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on http.addr {}: {e}", settings.http.addr))?;
    tracing::info!(addr = %settings.http.addr, path = %settings.webhook.path, "ingress listening");
    serve(listener, router, shutdown).await
}
