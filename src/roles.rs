//! Roles that combine others: `ava migrate` and `ava dev`.

use tokio::net::TcpListener;

use crate::{config::Settings, emulator, ingress, scheduler, shutdown::Shutdown, store::Store, worker};

/// `ava migrate`: creates the schema and applies pending migrations.
pub async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    let store = Store::connect_lazy(&settings.database)?;
    store.migrate(&settings.database.schema).await.map_err(|e| {
        anyhow::anyhow!(
            "migrations failed (database.url, schema {}): {e}",
            settings.database.schema
        )
    })?;
    tracing::info!(schema = %settings.database.schema, "migrations applied");
    Ok(())
}

/// Webhook secret used by `ava dev` when none is configured.
pub const DEV_SECRET: &str = "dev-secret";

/// `ava dev`: migrations, ingress, worker, scheduler and a Bot API emulator in one process.
pub async fn dev(mut settings: Settings, shutdown: Shutdown) -> anyhow::Result<()> {
    let listener = TcpListener::bind(settings.http.addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on http.addr {}: {e}", settings.http.addr))?;
    let addr = listener.local_addr()?;
    if settings.telegram.token.expose().is_empty() {
        settings.telegram.token = crate::config::Secret::new("dev");
        settings.telegram.api_url = format!("http://{addr}{}", emulator::MOUNT);
        tracing::info!("no telegram.token: replies go to the built-in emulator, see GET /emulator/messages");
    }
    if settings.webhook.secret.expose().is_empty() {
        settings.webhook.secret = crate::config::Secret::new(DEV_SECRET);
        tracing::info!("no webhook.secret: dev mode accepts the header value {DEV_SECRET:?}");
    }
    crate::ops::redis_check::check_url(settings.redis.url.expose()).await?;
    migrate(&settings).await?;
    // One acceptor for the webhook and the poller, recording rate-limit violations.
    let (acceptor, log) = ingress::recording_acceptor(&settings).await?;
    let router = ingress::router_with(&settings, acceptor.clone())
        .await?
        .merge(emulator::router());
    tracing::info!(%addr, path = %settings.webhook.path, mode = ?settings.ingress.mode, "dev mode: ingress, worker, scheduler and emulator running");
    let serve = ingress::serve(listener, router, shutdown.clone());
    let poll_shutdown = shutdown.clone();
    let poll = async {
        if settings.ingress.mode == crate::config::IngressMode::Polling {
            ingress::polling::run(&settings, acceptor, poll_shutdown).await
        } else {
            Ok(())
        }
    };
    let schedule = scheduler::run(settings.clone(), shutdown.clone());
    let work = worker::run(settings.clone(), shutdown);
    tokio::try_join!(serve, poll, work, schedule)?;
    log.flush().await;
    Ok(())
}
