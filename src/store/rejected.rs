//! The `rejected_rows` table: log rows Postgres refused (a constraint, a type, a value), kept whole
//! with the error so nothing is silently dropped, listed and written again by
//! `ava store rejected list | replay` once the cause is fixed.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;

use super::{
    batch::{Failure, classify, write_rows},
    spool::decode,
};

/// A log row Postgres refused, as kept.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct RejectedRow {
    /// Its number in the table.
    pub id: i64,
    /// The kind of log row (`job_attempt`, `message_log`, …), or `undecodable`.
    pub kind: String,
    /// The row, JSON-encoded as the spool stores it.
    pub row_json: String,
    /// Postgres' error, as last seen.
    pub error: String,
    /// Its SQLSTATE, if Postgres gave one.
    pub sqlstate: Option<String>,
    /// When it was first refused.
    pub rejected_at: DateTime<Utc>,
    /// When a replay wrote it; `None` while it is still open.
    pub replayed_at: Option<DateTime<Utc>>,
}

/// A row to keep: its kind, encoded row and the error that refused it.
#[derive(Debug, Clone)]
pub struct Refusal {
    /// Kind of log row.
    pub kind: String,
    /// The encoded row.
    pub row_json: String,
    /// The error text.
    pub error: String,
    /// The SQLSTATE.
    pub sqlstate: Option<String>,
}

impl Refusal {
    /// The refusal of `row_json` (of `kind`) by `error`.
    pub fn new(kind: &str, row_json: String, error: &sqlx::Error) -> Self {
        Self {
            kind: kind.to_owned(),
            row_json,
            error: error.to_string(),
            sqlstate: error
                .as_database_error()
                .and_then(|db| db.code())
                .map(|code| code.into_owned()),
        }
    }
}

/// Keeps `refusals` in one statement.
pub async fn keep(pool: &PgPool, refusals: &[Refusal]) -> Result<(), sqlx::Error> {
    if refusals.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO rejected_rows (kind, row_json, error, sqlstate)
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[])",
    )
    .bind(refusals.iter().map(|r| r.kind.as_str()).collect::<Vec<_>>())
    .bind(refusals.iter().map(|r| r.row_json.as_str()).collect::<Vec<_>>())
    .bind(refusals.iter().map(|r| r.error.as_str()).collect::<Vec<_>>())
    .bind(refusals.iter().map(|r| r.sqlstate.as_deref()).collect::<Vec<_>>())
    .execute(pool)
    .await?;
    Ok(())
}

/// Rejected rows, oldest first: only open ones unless `include_replayed`.
pub async fn list(
    pool: &PgPool,
    include_replayed: bool,
    limit: i64,
) -> Result<Vec<RejectedRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, kind, row_json, error, sqlstate, rejected_at, replayed_at FROM rejected_rows
         WHERE $1 OR replayed_at IS NULL ORDER BY id LIMIT $2",
    )
    .bind(include_replayed)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// What a replay did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ReplayReport {
    /// Rows written now, by id.
    pub replayed: Vec<i64>,
    /// Rows refused again, by id, with the new error (kept open, error updated).
    pub refused: Vec<(i64, String)>,
}

/// Writes open rejected rows again, one by one (`ids`: only those; empty: every open one). A row
/// that is written is marked replayed; one refused again stays open with its new error. Writing
/// is idempotent (every log statement is), so replaying a row twice changes nothing.
pub async fn replay(pool: &PgPool, ids: &[i64]) -> Result<ReplayReport, sqlx::Error> {
    let rows: Vec<RejectedRow> = sqlx::query_as(
        "SELECT id, kind, row_json, error, sqlstate, rejected_at, replayed_at FROM rejected_rows
         WHERE replayed_at IS NULL AND (cardinality($1::int8[]) = 0 OR id = ANY($1)) ORDER BY id",
    )
    .bind(ids)
    .fetch_all(pool)
    .await?;
    let mut report = ReplayReport::default();
    for rejected in rows {
        let written = match decode(&rejected.row_json) {
            Err(e) => Err((format!("does not decode as a log row: {e}"), None)),
            Ok(row) => match write_rows(pool, std::slice::from_ref(&row)).await {
                Ok(()) => Ok(()),
                // Postgres going away mid-replay stops the replay; what was written stays written.
                Err(e) if classify(&e) != Failure::Refused => return Err(e),
                Err(e) => Err((
                    e.to_string(),
                    e.as_database_error()
                        .and_then(|db| db.code())
                        .map(|c| c.into_owned()),
                )),
            },
        };
        match written {
            Ok(()) => {
                sqlx::query("UPDATE rejected_rows SET replayed_at = now() WHERE id = $1")
                    .bind(rejected.id)
                    .execute(pool)
                    .await?;
                report.replayed.push(rejected.id);
            }
            Err((error, sqlstate)) => {
                sqlx::query("UPDATE rejected_rows SET error = $2, sqlstate = $3 WHERE id = $1")
                    .bind(rejected.id)
                    .bind(&error)
                    .bind(sqlstate)
                    .execute(pool)
                    .await?;
                report.refused.push((rejected.id, error));
            }
        }
    }
    Ok(report)
}
