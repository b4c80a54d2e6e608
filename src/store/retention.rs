//! Retention: deletes rows older than each table's period (`[store.retention_days]`).
//! The scheduler calls [`run`] periodically; it is safe to run from several processes at once.

use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;

use crate::config::RetentionDays;

/// Rows deleted per statement, so a first run over a large table never holds long locks.
const CHUNK: i64 = 10_000;

/// Rows deleted per table by one run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetentionReport {
    /// (table, rows deleted), for tables with a retention period.
    pub deleted: Vec<(&'static str, u64)>,
}

impl RetentionReport {
    /// Rows deleted from `table` (0 if it was not touched).
    pub fn deleted_from(&self, table: &str) -> u64 {
        self.deleted
            .iter()
            .find(|(t, _)| *t == table)
            .map_or(0, |(_, n)| *n)
    }
}

/// Deletes what has outlived its period, as of `now`. Tables with a period of 0 are kept whole.
pub async fn run(
    pool: &PgPool,
    days: &RetentionDays,
    now: DateTime<Utc>,
) -> Result<RetentionReport, sqlx::Error> {
    // (table, timestamp column, extra condition, days). Names are constants, never input.
    let tables: [(&'static str, &str, &str, u32); 8] = [
        ("message_log", "received_at", "", days.message_log),
        ("outbound_log", "sent_at", "", days.outbound_log),
        (
            "conversation_transitions",
            "at",
            "",
            days.conversation_transitions,
        ),
        ("job_attempts", "finished_at", "", days.job_attempts),
        // An open dead letter is unfinished business: it expires only once replayed or purged.
        (
            "dead_letters",
            "failed_at",
            "AND status <> 'dead'",
            days.dead_letters,
        ),
        ("dead_letter_audit", "at", "", days.dead_letter_audit),
        ("rate_limit_violations", "at", "", days.rate_limit_violations),
        ("access_denied", "at", "", days.access_denied),
    ];
    let mut report = RetentionReport::default();
    for (table, column, extra, days) in tables {
        if days == 0 {
            continue;
        }
        let cutoff = now - Duration::days(i64::from(days));
        let mut deleted = 0;
        loop {
            let done = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM {table} WHERE ctid = ANY(ARRAY(
                     SELECT ctid FROM {table} WHERE {column} < $1 {extra} LIMIT $2))"
            )))
            .bind(cutoff)
            .bind(CHUNK)
            .execute(pool)
            .await?
            .rows_affected();
            deleted += done;
            if done < CHUNK as u64 {
                break;
            }
        }
        if deleted > 0 {
            tracing::info!(table, deleted, days, "retention: old rows deleted");
        }
        report.deleted.push((table, deleted));
    }
    Ok(report)
}
