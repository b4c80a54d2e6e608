//! Postgres: the record of everything AVA receives and sends, written by a batched writer that
//! spools to Redis while Postgres is unreachable.
//!
//! - [`rows`]: one typed struct per kind of log row; [`LogRow`] wraps them.
//! - [`writer`]: [`LogWriter`], the only way log rows reach Postgres; never makes a caller wait
//!   on Postgres.
//! - [`batch`]: one batch into Postgres (multi-row `INSERT … UNNEST`, idempotent).
//! - [`spool`]: the bounded Redis spool used during outages.
//! - [`retention`]: deletes rows past each table's period.
//! - [`metrics`]: the store's metric names and help texts.

use anyhow::Context as _;
pub mod alerts;
pub mod batch;
pub mod metrics;
pub mod prices;
pub mod retention;
pub mod rows;
pub mod spool;
pub mod writer;

use std::{str::FromStr, time::Duration};

use sqlx::{
    PgPool,
    postgres::{PgConnectOptions, PgPoolOptions},
};

pub use rows::{
    AccessDenied, ConversationTransition, DeadLetter, DeadLetterAction, DeadLetterAudit, JobAttempt, LogRow,
    MessageLogRow, OutboundLogRow, RateLimitViolation, UserBlocked, UserSeen, new_log_key,
};
pub use spool::{Spool, SpoolError};
pub use writer::{FlushReport, LogWriter};

use crate::config::{DatabaseSettings, StoreSettings};

/// Migrations embedded in the binary, applied by `ava migrate`.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// How long a caller waits for a pooled connection before it calls Postgres unreachable; short,
/// so the log writer notices an outage fast and spools.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);

/// Handle to AVA's Postgres.
#[derive(Clone)]
pub struct Store {
    pool: PgPool,
}

impl Store {
    /// Connects lazily: the pool opens connections when first used, so start-up never waits on
    /// Postgres. It is the process' only pool, so it holds `database.max_connections` plus one
    /// per log batch in flight (`store.write_concurrency`) and one for the spool drain.
    pub fn connect_lazy(settings: &DatabaseSettings, write_concurrency: usize) -> anyhow::Result<Self> {
        let max = settings.max_connections + write_concurrency as u32 + 1;
        Ok(Self {
            pool: lazy_pool(settings, max, ACQUIRE_TIMEOUT)?,
        })
    }

    /// The pool, for queries that live elsewhere.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Creates the schema if needed and applies pending migrations.
    pub async fn migrate(&self, schema: &str) -> anyhow::Result<()> {
        // The schema name is validated by config (letters, digits, _), so quoting is safe.
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE SCHEMA IF NOT EXISTS \"{schema}\""
        )))
        .execute(&self.pool)
        .await?;
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }
}

/// Starts the log writer of this process over its pool and a spool on its Redis handle.
pub fn start_writer(pool: PgPool, spool: Spool, settings: &StoreSettings) -> LogWriter {
    LogWriter::start(pool, spool, settings)
}

fn lazy_pool(settings: &DatabaseSettings, max: u32, acquire_timeout: Duration) -> anyhow::Result<PgPool> {
    let options = PgConnectOptions::from_str(settings.url.expose())
        .context("database.url is not a valid Postgres URL")?
        .options([("search_path", settings.schema.as_str())])
        // Names this process in pg_stat_activity, so an operator (and a test) can count its
        // connections.
        .application_name(&format!("ava-{}", std::process::id()));
    Ok(PgPoolOptions::new()
        .max_connections(max)
        .acquire_timeout(acquire_timeout)
        .connect_lazy_with(options))
}
