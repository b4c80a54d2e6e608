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

/// `ava dev`: migrations, ingress, worker, scheduler in one process, on one set of backends.
/// Each role is the same as when it runs alone; only the composition is shared. Serves on
/// `listener`, or `http.addr`. Without `telegram.token` the built-in emulator is Telegram
/// (webhook delivery, or getUpdates with `ingress.mode = "polling"`) and the chat page is
/// served; with one, the real Bot API is polled.
pub async fn dev(
    mut settings: Settings,
    listener: Option<TcpListener>,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    let listener = ingress::listener_or_bind(listener, &settings).await?;
    let addr = listener.local_addr()?;
    let emulator = settings.telegram.token.expose().is_empty().then(|| {
        let emulator = emulator::Emulator::new(Some(DEV_TOKEN.into()));
        emulator.set_addr(addr);
        settings.telegram.token = crate::config::Secret::new(DEV_TOKEN);
        settings.telegram.api_url = emulator.api_url();
        emulator
    });
    if emulator.is_none() {
        // A real bot on a developer's machine has no public HTTPS address: poll.
        settings.ingress.mode = crate::config::IngressMode::Polling;
    }
    if settings.webhook.secret.expose().is_empty() {
        settings.webhook.secret = crate::config::Secret::new(DEV_SECRET);
    }
    // No load balancer to notice a draining replica in dev: stop at once.
    settings.ingress.drain_secs = 0;
    let backends = Backends::connect(&settings).await?;
    migrate_on(&backends.store, &settings).await?;
    let ingress = Ingress::build(&backends, &settings);
    let worker = Worker::new(&backends, &settings)?;
    let mut extra = axum::Router::new();
    if let Some(emulator) = &emulator {
        extra = emulator.router();
        if settings.ingress.mode == crate::config::IngressMode::Webhook {
            let url = format!("http://{addr}{}", settings.webhook.path);
            emulator.set_webhook(&url, Some(settings.webhook.secret.expose()));
        }
    }
    println!("{}", dev_banner(&settings, addr, emulator.is_some()));
    let serve = ingress.run(listener, extra, shutdown.clone());
    let schedule = scheduler::run_on(&backends, &settings, shutdown.clone());
    let work = worker.run(settings.worker.concurrency, shutdown);
    let result = tokio::try_join!(serve, work, schedule).map(|_| ());
    if let Some(emulator) = emulator {
        emulator.stop();
    }
    backends.log.flush().await;
    result
}

/// `ava dev` speaks through its start-up block and the chat page: with the default filter
/// (`info`) and no `RUST_LOG` it logs warnings and errors only, so the block is not buried.
pub fn quiet_dev_logs(log: &mut crate::config::LogSettings) {
    if log.filter == "info" && std::env::var_os("RUST_LOG").is_none() {
        log.filter = "warn".into();
    }
}

/// Bot token `ava dev` gives its emulator.
pub const DEV_TOKEN: &str = "dev";

/// The start-up block of `ava dev`: what runs where, and how to stop.
fn dev_banner(settings: &Settings, addr: std::net::SocketAddr, emulated: bool) -> String {
    let telegram = if emulated {
        match settings.ingress.mode {
            crate::config::IngressMode::Webhook => "built-in emulator (no token), delivering by webhook",
            crate::config::IngressMode::Polling => "built-in emulator (no token), polled with getUpdates",
        }
    } else {
        "the real Bot API (telegram.token is set), polling getUpdates"
    };
    let mut lines = vec![
        "AVA dev is running (ingress, worker, scheduler in one process)".to_owned(),
        format!("  telegram   {telegram}"),
        format!(
            "  queue      Redis at {}",
            without_credentials(settings.redis.url.expose())
        ),
        format!(
            "  record     Postgres at {} (schema {})",
            without_credentials(settings.database.url.expose()),
            settings.database.schema
        ),
    ];
    if emulated {
        lines.push(format!("  chat page  http://{addr}/chat"));
    }
    lines.push(format!(
        "  webhook    http://{addr}{} (header X-Telegram-Bot-Api-Secret-Token)",
        settings.webhook.path
    ));
    lines.push(format!("  metrics    http://{addr}/metrics"));
    let mut log = settings.log.clone();
    quiet_dev_logs(&mut log);
    lines.push(format!(
        "  logs       filter {:?} (AVA_LOG__FILTER=info shows more)",
        log.filter
    ));
    lines.push("  stop       Ctrl-C (SIGINT) or SIGTERM; jobs in flight finish first".to_owned());
    lines.join("\n")
}

/// `url` without its user and password: the banner names where, never how to log in.
fn without_credentials(url: &str) -> String {
    match (url.split_once("://"), url.rfind('@')) {
        (Some((scheme, _)), Some(at)) => format!("{scheme}://{}", &url[at + 1..]),
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_banner_shows_no_password() {
        assert_eq!(
            super::without_credentials("postgres://ava:s3cret@db:5432/ava"),
            "postgres://db:5432/ava"
        );
        assert_eq!(
            super::without_credentials("redis://127.0.0.1:6379"),
            "redis://127.0.0.1:6379"
        );
    }
}
