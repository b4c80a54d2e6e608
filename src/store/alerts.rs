//! The `alerts` table: set, list, delete, re-arm, and the monitor's atomic trigger.

use sqlx::{PgPool, Row, postgres::PgRow};

use crate::conversation::{Alert, Direction};

/// Most alerts one chat may keep.
pub const MAX_PER_CHAT: i64 = 20;

fn alert_of(row: &PgRow) -> Alert {
    let direction: String = row.get("direction");
    Alert {
        id: row.get("id"),
        symbol: row.get("symbol"),
        direction: direction.parse().unwrap_or(Direction::Above),
        price: row.get("price"),
        armed: row.get("armed"),
    }
}

/// An armed alert as the monitor sees it.
#[derive(Debug, Clone)]
pub struct ArmedAlert {
    /// The alert.
    pub alert: Alert,
    /// Chat to notify.
    pub chat_id: i64,
    /// Bumped on re-arm; part of the notification's dedupe id.
    pub generation: i32,
}

/// Inserts an alert once per `request_key` (the chat and the event that asked): a retried job
/// gets the alert its first attempt added, never a second one. `None` when the chat already has
/// [`MAX_PER_CHAT`].
pub async fn insert(
    pool: &PgPool,
    chat_id: i64,
    request_key: &str,
    symbol: &str,
    direction: Direction,
    price: f64,
) -> Result<Option<Alert>, sqlx::Error> {
    // Added already by an earlier attempt of the same job? Then that one is the answer.
    if let Some(row) = sqlx::query(
        "SELECT id, symbol, direction, price, armed FROM alerts WHERE chat_id = $1 AND request_key = $2",
    )
    .bind(chat_id)
    .bind(request_key)
    .fetch_optional(pool)
    .await?
    {
        return Ok(Some(alert_of(&row)));
    }
    // Two attempts racing past the check above meet at the unique index: one inserts, the other
    // reads the winner's row below.
    let row = sqlx::query(
        "INSERT INTO alerts (chat_id, symbol, direction, price, request_key)
         SELECT $1, $2, $3, $4, $6 WHERE (SELECT count(*) FROM alerts WHERE chat_id = $1) < $5
         ON CONFLICT (chat_id, request_key) DO NOTHING
         RETURNING id, symbol, direction, price, armed",
    )
    .bind(chat_id)
    .bind(symbol)
    .bind(direction.as_str())
    .bind(price)
    .bind(MAX_PER_CHAT)
    .bind(request_key)
    .fetch_optional(pool)
    .await?;
    if let Some(row) = row {
        return Ok(Some(alert_of(&row)));
    }
    let existing = sqlx::query(
        "SELECT id, symbol, direction, price, armed FROM alerts WHERE chat_id = $1 AND request_key = $2",
    )
    .bind(chat_id)
    .bind(request_key)
    .fetch_optional(pool)
    .await?;
    Ok(existing.as_ref().map(alert_of))
}

/// The chat's alerts, oldest first.
pub async fn list(pool: &PgPool, chat_id: i64) -> Result<Vec<Alert>, sqlx::Error> {
    let rows =
        sqlx::query("SELECT id, symbol, direction, price, armed FROM alerts WHERE chat_id = $1 ORDER BY id")
            .bind(chat_id)
            .fetch_all(pool)
            .await?;
    Ok(rows.iter().map(alert_of).collect())
}

/// Deletes the chat's alert `id`.
pub async fn delete(pool: &PgPool, chat_id: i64, id: i64) -> Result<Option<Alert>, sqlx::Error> {
    let row = sqlx::query(
        "DELETE FROM alerts WHERE chat_id = $1 AND id = $2 RETURNING id, symbol, direction, price, armed",
    )
    .bind(chat_id)
    .bind(id)
    .fetch_optional(pool)
    .await?;
    Ok(row.as_ref().map(alert_of))
}

/// Arms the chat's alert `id` again (a new generation, so it may notify once more).
pub async fn rearm(pool: &PgPool, chat_id: i64, id: i64) -> Result<Option<Alert>, sqlx::Error> {
    let row = sqlx::query(
        "UPDATE alerts SET armed = true, generation = generation + CASE WHEN armed THEN 0 ELSE 1 END,
             triggered_at = NULL, triggered_price = NULL
         WHERE chat_id = $1 AND id = $2 RETURNING id, symbol, direction, price, armed",
    )
    .bind(chat_id)
    .bind(id)
    .fetch_optional(pool)
    .await?;
    Ok(row.as_ref().map(alert_of))
}

/// Every armed alert.
pub async fn armed(pool: &PgPool) -> Result<Vec<ArmedAlert>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, chat_id, symbol, direction, price, armed, generation FROM alerts WHERE armed ORDER BY id",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| ArmedAlert {
            alert: alert_of(r),
            chat_id: r.get("chat_id"),
            generation: r.get("generation"),
        })
        .collect())
}

/// Turns an alert off after it fired; false when it was already off (or re-armed meanwhile).
pub async fn disarm(pool: &PgPool, id: i64, generation: i32, price: f64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE alerts SET armed = false, triggered_at = now(), triggered_price = $3
         WHERE id = $1 AND generation = $2 AND armed",
    )
    .bind(id)
    .bind(generation)
    .bind(price)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Symbols with armed alerts, for the data collector.
pub async fn watched_symbols(pool: &PgPool) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT DISTINCT symbol FROM alerts WHERE armed ORDER BY symbol")
        .fetch_all(pool)
        .await
}
