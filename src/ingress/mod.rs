//! The edge: webhook (secret → size → parse → limit → dedupe → classify → enqueue), the
//! getUpdates poller feeding the same path, health/readiness/metrics, and webhook management.

mod accept;
mod error;
mod health;
mod inbound_limit;
#[cfg(feature = "lambda")]
pub mod lambda;
pub mod polling;
pub mod receive;
mod update;
mod violations;
mod webhook;
pub mod webhook_admin;

use std::{sync::Arc, time::Duration};

use axum::{
    Router,
    extract::Request,
    middleware::{self, Next},
    response::IntoResponse,
    routing::{get, post},
};
use redis::aio::ConnectionManager;
use tokio::net::TcpListener;

use crate::{
    config::{IngressMode, Settings},
    shutdown::Shutdown,
    store::{LogWriter, Store},
    telegram::limits::connect_redis,
};

pub use accept::{
    AcceptError, Accepted, Acceptor, RATE_LIMIT_NOTICE, RateLimitViolation, Source, ViolationSink,
};
pub use error::HttpError;
pub use inbound_limit::{InboundLimiter, Verdict};
pub use update::Envelope;
pub use violations::{INBOUND_SCOPE, RecordedViolations};

/// What the handlers share.
#[derive(Clone)]
pub struct IngressState {
    acceptor: Acceptor,
    secret: Arc<str>,
    body_limit: usize,
    redis: ConnectionManager,
    store: Store,
}

/// Builds the router: the webhook path (in webhook mode), `/health`, `/ready` and `/metrics`.
/// Rate-limit violations are recorded in Postgres.
pub async fn router(settings: &Settings) -> anyhow::Result<Router> {
    let (acceptor, _log) = recording_acceptor(settings).await?;
    router_with(settings, acceptor).await
}

/// An [`Acceptor`] whose rate-limit violations go to the Postgres record, and the log writer
/// they go through (flush it before exit).
pub async fn recording_acceptor(settings: &Settings) -> anyhow::Result<(Acceptor, LogWriter)> {
    let log = crate::store::start_writer(settings).await?;
    let acceptor = Acceptor::build(settings)
        .await?
        .with_violation_sink(Arc::new(violations::RecordedViolations::new(log.clone())));
    Ok((acceptor, log))
}

/// [`router`] around a given acceptor (e.g. one with a [`ViolationSink`]).
pub async fn router_with(settings: &Settings, acceptor: Acceptor) -> anyhow::Result<Router> {
    crate::ops::metrics::install();
    let redis = connect_redis(settings.redis.url.expose())
        .await
        .map_err(|e| anyhow::anyhow!("cannot connect to Redis at redis.url: {e}"))?;
    let state = IngressState {
        acceptor,
        secret: Arc::from(settings.webhook.secret.expose()),
        body_limit: settings.ingress.body_limit_bytes,
        redis,
        store: Store::connect_lazy(&settings.database)?,
    };
    let mut router = Router::new()
        .route("/health", get(health::health))
        .route("/ready", get(health::ready))
        .route("/metrics", get(crate::ops::metrics::handler));
    if settings.ingress.mode == IngressMode::Webhook {
        router = router.route(&settings.webhook.path, post(webhook::receive));
    }
    Ok(router.with_state(state))
}

/// Serves `router` on `listener` until `shutdown`; in-flight requests finish first.
pub async fn serve(listener: TcpListener, router: Router, shutdown: Shutdown) -> anyhow::Result<()> {
    serve_draining(listener, router, shutdown, Duration::ZERO).await
}

/// Like [`serve`], but after `shutdown` keeps the listener up for `drain`, answering 503 to every
/// new request but `/health` and `/metrics`: Telegram retries them (on another replica) while a
/// load balancer notices, and requests already in flight finish normally.
pub async fn serve_draining(
    listener: TcpListener,
    router: Router,
    shutdown: Shutdown,
    drain: Duration,
) -> anyhow::Result<()> {
    let stopping = shutdown.clone();
    let router = router.layer(middleware::from_fn(move |request: Request, next: Next| {
        let stopping = stopping.clone();
        async move {
            if stopping.is_cancelled() && !matches!(request.uri().path(), "/health" | "/metrics") {
                return HttpError::ShuttingDown.into_response();
            }
            next.run(request).await
        }
    }));
    let closed = async move {
        shutdown.cancelled().await;
        tokio::time::sleep(drain).await;
    };
    axum::serve(listener, router)
        .with_graceful_shutdown(closed)
        .await?;
    Ok(())
}

/// `ava ingress` (and `ava poll`): serves HTTP on `http.addr`, and in polling mode runs the
/// getUpdates poller too, until shutdown.
pub async fn run(settings: Settings, shutdown: Shutdown) -> anyhow::Result<()> {
    match settings.ingress.mode {
        IngressMode::Webhook => settings.require_webhook_secret()?,
        IngressMode::Polling => settings.require_token()?,
    }
    let (acceptor, log) = recording_acceptor(&settings).await?;
    let router = router_with(&settings, acceptor.clone()).await?;
    let listener = TcpListener::bind(settings.http.addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on http.addr {}: {e}", settings.http.addr))?;
    let drain = Duration::from_secs(settings.ingress.drain_secs);
    let serve = serve_draining(listener, router, shutdown.clone(), drain);
    match settings.ingress.mode {
        IngressMode::Webhook => {
            tracing::info!(addr = %settings.http.addr, path = %settings.webhook.path, "ingress listening for webhooks");
            serve.await?;
        }
        IngressMode::Polling => {
            tracing::info!(addr = %settings.http.addr, "ingress polling getUpdates; HTTP serves /health /ready /metrics");
            let poll = polling::run(&settings, acceptor, shutdown);
            tokio::try_join!(serve, poll)?;
        }
    }
    log.flush().await;
    Ok(())
}
