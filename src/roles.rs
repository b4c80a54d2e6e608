//! Roles that combine others: `ava migrate` and `ava dev`.

use tokio::net::TcpListener;

use crate::{
    app::Backends,
    config::Settings,
    emulator,
    ingress::{self, Ingress},
    scheduler,
    shutdown::Shutdown,
    store::Store,
    worker::Worker,
};

/// `ava migrate`: creates the schema and applies pending migrations.
pub async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    let store = Store::connect_lazy(&settings.database, 0)?;
    migrate_on(&store, settings).await
}

/// Applies the migrations through an existing pool (`dev` uses its process' pool).
async fn migrate_on(store: &Store, settings: &Settings) -> anyhow::Result<()> {
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

/// `ava dev`: migrations, ingress, worker, scheduler and a Bot API emulator in one process, on
/// one set of backends. Each role is the same as when it runs alone; only the composition is
/// shared. Serves on `listener`, or `http.addr`.
pub async fn dev(
    mut settings: Settings,
    listener: Option<TcpListener>,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    let listener = ingress::listener_or_bind(listener, &settings).await?;
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
    // No load balancer to notice a draining replica in dev: stop at once.
    settings.ingress.drain_secs = 0;
    let backends = Backends::connect(&settings).await?;
    migrate_on(&backends.store, &settings).await?;
    let ingress = Ingress::build(&backends, &settings);
    let worker = Worker::new(&backends, &settings)?;
    tracing::info!(%addr, path = %settings.webhook.path, mode = ?settings.ingress.mode, "dev mode: ingress, worker, scheduler and emulator running");
    let serve = ingress.run(listener, emulator::router(), shutdown.clone());
    let schedule = scheduler::run_on(&backends, &settings, shutdown.clone());
    let work = worker.run(settings.worker.concurrency, shutdown);
    let result = tokio::try_join!(serve, work, schedule).map(|_| ());
    backends.log.flush().await;
    result
}
