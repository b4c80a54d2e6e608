//! Postgres: the record of everything AVA receives and sends.

pub mod alerts;
pub mod prices;

use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{
    PgPool,
    postgres::{PgConnectOptions, PgPoolOptions},
};

use crate::config::DatabaseSettings;

/// Migrations embedded in the binary, applied by `ava migrate`.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// An incoming update, as logged.
#[derive(Debug, Clone)]
pub struct UpdateRow<'a> {
    /// Telegram's update_id.
    pub update_id: i64,
    /// Chat it belongs to, if any.
    pub chat_id: Option<i64>,
    /// Sender, if any.
    pub user_id: Option<i64>,
    /// `message`, `callback_query`, ...
    pub kind: &'a str,
    /// Lane it was queued in.
    pub lane: &'a str,
    /// Text or command, if any.
    pub text: Option<&'a str>,
    /// The update as received.
    pub raw: &'a Value,
    /// When the ingress queued it.
    pub received_at: DateTime<Utc>,
    /// When the worker started it.
    pub started_at: DateTime<Utc>,
    /// Attempt number.
    pub attempts: i32,
    /// Worker that ran it.
    pub worker: &'a str,
}

/// An outgoing Bot API call, as logged.
#[derive(Debug, Clone)]
pub struct OutboundRow<'a> {
    /// The update this answers.
    pub update_id: Option<i64>,
    /// Target chat.
    pub chat_id: i64,
    /// Bot API method.
    pub method: &'a str,
    /// Request body.
    pub payload: &'a Value,
    /// Telegram's message id, when sent.
    pub message_id: Option<i64>,
    /// `sent` or `failed`.
    pub status: &'a str,
    /// Error text, when failed.
    pub error: Option<&'a str>,
    /// Call latency in milliseconds.
    pub latency_ms: Option<i32>,
}

/// Handle to AVA's Postgres.
#[derive(Clone)]
pub struct Store {
    pool: PgPool,
}

impl Store {
    /// Connects lazily: the pool opens connections when first used, so start-up never waits on Postgres.
    pub fn connect_lazy(settings: &DatabaseSettings) -> anyhow::Result<Self> {
        let options = PgConnectOptions::from_str(settings.url.expose())
            .map_err(|e| anyhow::anyhow!("database.url is not a valid Postgres URL: {e}"))?
            .options([("search_path", settings.schema.as_str())]);
        let pool = PgPoolOptions::new()
            .max_connections(settings.max_connections)
            .acquire_timeout(std::time::Duration::from_secs(5))
            .connect_lazy_with(options);
        Ok(Self { pool })
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

    /// Records an incoming update once; a retry of the same update updates its attempt fields.
    pub async fn log_update(&self, row: &UpdateRow<'_>) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO message_log (update_id, chat_id, user_id, kind, lane, text, raw, received_at, started_at, attempts, worker)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
             ON CONFLICT (update_id) DO UPDATE SET started_at = EXCLUDED.started_at,
                 attempts = EXCLUDED.attempts, worker = EXCLUDED.worker",
        )
        .bind(row.update_id)
        .bind(row.chat_id)
        .bind(row.user_id)
        .bind(row.kind)
        .bind(row.lane)
        .bind(row.text)
        .bind(row.raw)
        .bind(row.received_at)
        .bind(row.started_at)
        .bind(row.attempts)
        .bind(row.worker)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Records how an update's processing ended.
    pub async fn finish_update(&self, update_id: i64, outcome: &str) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE message_log SET finished_at = now(), outcome = $2 WHERE update_id = $1")
            .bind(update_id)
            .bind(outcome)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records an outgoing Bot API call.
    pub async fn log_outbound(&self, row: &OutboundRow<'_>) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO outbound_log (update_id, chat_id, method, payload, message_id, status, error, latency_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(row.update_id)
        .bind(row.chat_id)
        .bind(row.method)
        .bind(row.payload)
        .bind(row.message_id)
        .bind(row.status)
        .bind(row.error)
        .bind(row.latency_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
