//! The edge: webhook (secret → size → parse → limit → dedupe → classify → enqueue), the
//! getUpdates poller feeding the same path, health/readiness/metrics, and webhook management.

use anyhow::Context as _;
mod accept;
mod error;
mod health;
mod inbound_limit;
#[cfg(feature = "lambda")]
pub mod lambda;
pub mod limits_admin;
pub mod polling;
pub mod receive;
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
use tokio::net::TcpListener;
use workers::RedisConn;

use crate::{
    app::Backends,
    config::{IngressMode, Settings},
    shutdown::Shutdown,
    store::Store,
};

pub use accept::{AcceptError, Accepted, Acceptor, InboundViolation, Source, ViolationSink};
pub use error::HttpError;
pub use inbound_limit::{InboundLimiter, LimitStatus, Verdict};
pub use violations::{INBOUND_SCOPE, RecordedViolations};

/// What the handlers share.
#[derive(Clone)]
pub struct IngressState {
    acceptor: Acceptor,
    secret: Arc<str>,
    body_limit: usize,
    redis: RedisConn,
    store: Store,
}

/// The ingress role over a process' backends: the webhook (in webhook mode) or the poller (in
/// polling mode) feeding one [`Acceptor`], and `/health`, `/ready`, `/metrics`.
pub struct Ingress {
    settings: Settings,
    acceptor: Acceptor,
    state: IngressState,
}

impl Ingress {
    /// Builds the ingress on `backends`; rate-limit violations go to the Postgres record through
    /// the process' log writer.
    pub fn build(backends: &Backends, settings: &Settings) -> Self {
        crate::ops::metrics::install();
        let acceptor = Acceptor::new(
            backends,
            &settings.ingress,
            &settings.lanes,
            &settings.inbound_limit,
        )
        .with_violation_sink(Arc::new(RecordedViolations::new(backends.log.clone())));
        let state = IngressState {
            acceptor: acceptor.clone(),
            secret: Arc::from(settings.webhook.secret.expose()),
            body_limit: settings.ingress.body_limit_bytes,
            redis: backends.redis.clone(),
            store: backends.store.clone(),
        };
        crate::ops::process::watch_pool(backends.store.pool());
        Self {
            settings: settings.clone(),
            acceptor,
            state,
        }
    }

    /// The acceptor the webhook and the poller share.
    pub fn acceptor(&self) -> &Acceptor {
        &self.acceptor
    }

    /// The routes: the webhook path (in webhook mode), `/health`, `/ready` and `/metrics`
    /// (unless `http.metrics_addr` moves it to a listener of its own).
    pub fn router(&self) -> Router {
        let mut router = Router::new()
            .route("/health", get(health::health))
            .route("/ready", get(health::ready));
        if self.settings.http.metrics_addr.is_empty() {
            router = router.route("/metrics", get(crate::ops::metrics::handler));
        }
        if self.settings.ingress.mode == IngressMode::Webhook {
            router = router.route(&self.settings.webhook.path, post(webhook::receive));
        }
        router.with_state(self.state.clone())
    }

    /// Serves HTTP on `listener` (its routes plus `extra`, e.g. `dev`'s emulator) and, in polling
    /// mode, runs the getUpdates poller, until `shutdown`; then drains for `ingress.drain_secs`.
    pub async fn run(self, listener: TcpListener, extra: Router, shutdown: Shutdown) -> anyhow::Result<()> {
        // `/metrics` apart, where Telegram does not reach (`http.metrics_addr`).
        let metrics = match self.settings.http.metrics_addr.as_str() {
            "" => None,
            addr => Some(crate::ops::metrics::serve_on(addr, "http.metrics_addr", shutdown.clone()).await?),
        };
        let drain = Duration::from_secs(self.settings.ingress.drain_secs);
        let addr = listener.local_addr()?;
        let serve = serve_draining(listener, self.router().merge(extra), shutdown.clone(), drain);
        let served = match self.settings.ingress.mode {
            IngressMode::Webhook => {
                tracing::info!(%addr, path = %self.settings.webhook.path, "ingress listening for webhooks");
                serve.await
            }
            IngressMode::Polling => {
                tracing::info!(%addr, "ingress polling getUpdates; HTTP serves /health /ready /metrics");
                let poll = polling::run(&self.settings, self.acceptor.clone(), shutdown);
                tokio::try_join!(serve, poll).map(|_| ())
            }
        };
        if let Some(metrics) = metrics {
            metrics.await??;
        }
        served
    }
}

/// Binds `http.addr` unless a listener is given (tests pass one on port 0).
pub async fn listener_or_bind(
    listener: Option<TcpListener>,
    settings: &Settings,
) -> anyhow::Result<TcpListener> {
    match listener {
        Some(listener) => Ok(listener),
        None => TcpListener::bind(settings.http.addr)
            .await
            .with_context(|| format!("cannot listen on http.addr {}", settings.http.addr)),
    }
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

/// `ava ingress` (and `ava poll`): serves HTTP on `listener` (or `http.addr`), and in polling mode
/// runs the getUpdates poller too, until shutdown; then flushes the log.
pub async fn run(
    settings: Settings,
    listener: Option<TcpListener>,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    match settings.ingress.mode {
        IngressMode::Webhook => settings.require_webhook_secret()?,
        IngressMode::Polling => settings.require_token()?,
    }
    let backends = Backends::connect(&settings).await?;
    let listener = listener_or_bind(listener, &settings).await?;
    let result = Ingress::build(&backends, &settings)
        .run(listener, Router::new(), shutdown)
        .await;
    backends.log.flush().await;
    result
}
