//! One batch of log rows into Postgres: per kind one multi-row `INSERT … SELECT FROM UNNEST(…)`,
//! all in one transaction, every statement idempotent so a replayed batch changes nothing.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{Connection, PgConnection, PgPool};

use super::rows::AccessDenied;
use super::rows::{
    ConversationTransition, DeadLetter, DeadLetterAudit, JobAttempt, LogRow, MessageLogRow, OutboundLogRow,
    RateLimitViolation, UserBlocked, UserSeen,
};

/// Whether an error means "Postgres is unreachable right now" (spool and retry later) rather than
/// "this batch cannot be written" (a row is bad; retrying it unchanged would fail forever).
pub fn is_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            // 08: connection exception, 53: insufficient resources, 57P: operator intervention
            // (shutdown, restart), 40: serialization/deadlock — all pass with time.
            code.starts_with("08")
                || code.starts_with("53")
                || code.starts_with("57P")
                || code.starts_with("40")
        }),
        _ => false,
    }
}

/// Writes `rows` in one transaction. Rows of one kind keep their relative order; statements for
/// different kinds are order-independent by construction (upserts compare timestamps).
pub async fn write_rows(pool: &PgPool, rows: &[LogRow]) -> Result<(), sqlx::Error> {
    let mut by_kind = Kinds::default();
    for row in rows {
        by_kind.push(row);
    }
    let mut conn = pool.acquire().await?;
    if by_kind.needs_transaction() {
        let mut tx = conn.begin().await?;
        write_kinds(&mut tx, &by_kind).await?;
        tx.commit().await
    } else {
        // One statement is atomic by itself; BEGIN and COMMIT would only add round trips.
        write_kinds(&mut conn, &by_kind).await
    }
}

async fn write_kinds(conn: &mut PgConnection, by_kind: &Kinds<'_>) -> Result<(), sqlx::Error> {
    insert_messages(conn, &by_kind.messages).await?;
    insert_outbound(conn, &by_kind.outbound).await?;
    upsert_users(conn, &by_kind.users_seen).await?;
    mark_blocked(conn, &by_kind.users_blocked).await?;
    insert_transitions(conn, &by_kind.transitions).await?;
    insert_job_attempts(conn, &by_kind.job_attempts).await?;
    upsert_dead_letters(conn, &by_kind.dead_letters).await?;
    insert_audits(conn, &by_kind.audits).await?;
    insert_violations(conn, &by_kind.violations).await?;
    insert_denials(conn, &by_kind.denials).await
}

#[derive(Default)]
struct Kinds<'a> {
    messages: Vec<&'a MessageLogRow>,
    outbound: Vec<&'a OutboundLogRow>,
    users_seen: Vec<&'a UserSeen>,
    users_blocked: Vec<&'a UserBlocked>,
    transitions: Vec<&'a ConversationTransition>,
    job_attempts: Vec<&'a JobAttempt>,
    dead_letters: Vec<&'a DeadLetter>,
    audits: Vec<&'a DeadLetterAudit>,
    violations: Vec<&'a RateLimitViolation>,
    denials: Vec<&'a AccessDenied>,
}

impl<'a> Kinds<'a> {
    /// More than one statement to run: they must commit together.
    fn needs_transaction(&self) -> bool {
        let kinds = [
            self.messages.is_empty(),
            self.outbound.is_empty(),
            self.users_seen.is_empty(),
            self.users_blocked.is_empty(),
            self.transitions.is_empty(),
            self.job_attempts.is_empty(),
            self.dead_letters.is_empty(),
            self.violations.is_empty(),
            self.denials.is_empty(),
        ]
        .iter()
        .filter(|empty| !**empty)
        .count();
        // Each audit is an insert and an update.
        kinds + 2 * self.audits.len() > 1
    }

    fn push(&mut self, row: &'a LogRow) {
        match row {
            LogRow::Message(r) => self.messages.push(r),
            LogRow::Outbound(r) => self.outbound.push(r),
            LogRow::UserSeen(r) => self.users_seen.push(r),
            LogRow::UserBlocked(r) => self.users_blocked.push(r),
            LogRow::Transition(r) => self.transitions.push(r),
            LogRow::JobAttempt(r) => self.job_attempts.push(r),
            LogRow::DeadLetter(r) => self.dead_letters.push(r),
            LogRow::DeadLetterAudit(r) => self.audits.push(r),
            LogRow::RateLimitViolation(r) => self.violations.push(r),
            LogRow::AccessDenied(r) => self.denials.push(r),
        }
    }
}

/// Keeps, per key, the last row for which `newer(candidate, kept)` holds. `ON CONFLICT DO UPDATE`
/// refuses to touch one row twice in a statement, so upserts need unique keys per batch.
fn last_per_key<'a, T, K: std::hash::Hash + Eq>(
    rows: &[&'a T],
    key: impl Fn(&T) -> K,
    newer: impl Fn(&T, &T) -> bool,
) -> Vec<&'a T> {
    let mut index: HashMap<K, usize> = HashMap::with_capacity(rows.len());
    let mut kept: Vec<&'a T> = Vec::with_capacity(rows.len());
    for &row in rows {
        match index.get(&key(row)) {
            Some(&i) if newer(row, kept[i]) => kept[i] = row,
            Some(_) => {}
            None => {
                index.insert(key(row), kept.len());
                kept.push(row);
            }
        }
    }
    kept
}

async fn insert_messages(conn: &mut PgConnection, rows: &[&MessageLogRow]) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let rows = last_per_key(rows, |r| r.update_id, |a, b| a.attempts >= b.attempts);
    sqlx::query(
        "INSERT INTO message_log (update_id, chat_id, user_id, kind, lane, text, command, raw,
             received_at, enqueued_at, started_at, finished_at, outcome, error, attempts, worker)
         SELECT * FROM UNNEST($1::int8[], $2::int8[], $3::int8[], $4::text[], $5::text[], $6::text[],
             $7::text[], $8::jsonb[], $9::timestamptz[], $10::timestamptz[], $11::timestamptz[],
             $12::timestamptz[], $13::text[], $14::text[], $15::int4[], $16::text[])
         ON CONFLICT (update_id) DO UPDATE SET
             enqueued_at = COALESCE(message_log.enqueued_at, EXCLUDED.enqueued_at),
             started_at = EXCLUDED.started_at, finished_at = EXCLUDED.finished_at,
             outcome = EXCLUDED.outcome, error = EXCLUDED.error,
             attempts = EXCLUDED.attempts, worker = EXCLUDED.worker
         WHERE EXCLUDED.attempts >= message_log.attempts",
    )
    .bind(rows.iter().map(|r| r.update_id).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.chat_id).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.user_id).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.kind.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.lane.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.text.as_deref()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.command.as_deref()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| &r.raw).collect::<Vec<&Value>>())
    .bind(rows.iter().map(|r| r.received_at).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.enqueued_at).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.started_at).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.finished_at).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.outcome.as_deref()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.error.as_deref()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.attempts).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.worker.as_str()).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn insert_outbound(conn: &mut PgConnection, rows: &[&OutboundLogRow]) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO outbound_log (log_key, update_id, chat_id, method, payload, message_id, status,
             error, sent_at, latency_ms)
         SELECT * FROM UNNEST($1::text[], $2::int8[], $3::int8[], $4::text[], $5::jsonb[], $6::int8[],
             $7::text[], $8::text[], $9::timestamptz[], $10::int4[])
         ON CONFLICT (log_key) DO NOTHING",
    )
    .bind(rows.iter().map(|r| r.log_key.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.update_id).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.chat_id).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.method.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| &r.payload).collect::<Vec<&Value>>())
    .bind(rows.iter().map(|r| r.message_id).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.status.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.error.as_deref()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.sent_at).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.latency_ms).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn upsert_users(conn: &mut PgConnection, rows: &[&UserSeen]) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let first_seen: HashMap<i64, DateTime<Utc>> = rows.iter().fold(HashMap::new(), |mut m, r| {
        m.entry(r.user_id)
            .and_modify(|t: &mut DateTime<Utc>| *t = (*t).min(r.seen_at))
            .or_insert(r.seen_at);
        m
    });
    let rows = last_per_key(rows, |r| r.user_id, |a, b| a.seen_at >= b.seen_at);
    sqlx::query(
        "INSERT INTO users (user_id, username, first_name, language_code, first_seen, last_seen)
         SELECT * FROM UNNEST($1::int8[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[])
         ON CONFLICT (user_id) DO UPDATE SET
             first_seen = LEAST(users.first_seen, EXCLUDED.first_seen),
             last_seen = GREATEST(users.last_seen, EXCLUDED.last_seen),
             username = CASE WHEN EXCLUDED.last_seen >= users.last_seen THEN EXCLUDED.username ELSE users.username END,
             first_name = CASE WHEN EXCLUDED.last_seen >= users.last_seen THEN EXCLUDED.first_name ELSE users.first_name END,
             language_code = CASE WHEN EXCLUDED.last_seen >= users.last_seen THEN EXCLUDED.language_code ELSE users.language_code END,
             -- Writing to the bot after blocking it means the block is over.
             blocked = users.blocked AND users.blocked_at >= EXCLUDED.last_seen",
    )
    .bind(rows.iter().map(|r| r.user_id).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.username.as_deref()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.first_name.as_deref()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.language_code.as_deref()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| first_seen[&r.user_id]).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.seen_at).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn mark_blocked(conn: &mut PgConnection, rows: &[&UserBlocked]) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let rows = last_per_key(rows, |r| r.user_id, |a, b| a.at >= b.at);
    // Only users already seen: a block is news about a known user, and seen-after-block wins.
    sqlx::query(
        "UPDATE users SET blocked = true, blocked_at = b.at
         FROM UNNEST($1::int8[], $2::timestamptz[]) AS b(user_id, at)
         WHERE users.user_id = b.user_id AND users.last_seen <= b.at",
    )
    .bind(rows.iter().map(|r| r.user_id).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.at).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn insert_transitions(
    conn: &mut PgConnection,
    rows: &[&ConversationTransition],
) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO conversation_transitions (log_key, chat_id, update_id, from_state, to_state, event, at)
         SELECT * FROM UNNEST($1::text[], $2::int8[], $3::int8[], $4::text[], $5::text[], $6::text[], $7::timestamptz[])
         ON CONFLICT (log_key) DO NOTHING",
    )
    .bind(rows.iter().map(|r| r.log_key.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.chat_id).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.update_id).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.from_state.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.to_state.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.event.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.at).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn insert_job_attempts(conn: &mut PgConnection, rows: &[&JobAttempt]) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO job_attempts (job_id, attempt, kind, lane, job_key, worker, started_at, finished_at,
             outcome, error, retry_in_ms)
         SELECT * FROM UNNEST($1::text[], $2::int4[], $3::text[], $4::text[], $5::text[], $6::text[],
             $7::timestamptz[], $8::timestamptz[], $9::text[], $10::text[], $11::int8[])
         ON CONFLICT (job_id, attempt) DO NOTHING",
    )
    .bind(rows.iter().map(|r| r.job_id.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.attempt).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.kind.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.lane.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.job_key.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.worker.as_deref()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.started_at).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.finished_at).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.outcome.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.error.as_deref()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.retry_in_ms).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn upsert_dead_letters(conn: &mut PgConnection, rows: &[&DeadLetter]) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let rows = last_per_key(rows, |r| r.job_id.clone(), |a, b| a.failed_at >= b.failed_at);
    // Status comes from the newest audit naming the job at or after this failure: a dead letter
    // mirrored just before its replay may land after the replay's audit, and must not read `dead`.
    // A job that dies again after being resolved is a new failure: no audit follows it, so `dead`.
    sqlx::query(
        "INSERT INTO dead_letters AS d (job_id, kind, lane, job_key, payload, error, error_class, attempts,
             enqueued_at, first_attempt_at, last_attempt_at, failed_at, status, resolved_at, resolved_by)
         SELECT n.*, COALESCE(a.status, 'dead'), a.at, a.actor
         FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::jsonb[], $6::text[], $7::text[],
             $8::int4[], $9::timestamptz[], $10::timestamptz[], $11::timestamptz[], $12::timestamptz[])
             AS n(job_id, kind, lane, job_key, payload, error, error_class, attempts, enqueued_at,
                  first_attempt_at, last_attempt_at, failed_at)
         LEFT JOIN LATERAL (
             SELECT CASE x.action WHEN 'replay' THEN 'replayed' ELSE 'purged' END AS status, x.at, x.actor
             FROM dead_letter_audit x
             WHERE x.job_ids @> ARRAY[n.job_id] AND x.at >= n.failed_at
             ORDER BY x.at DESC
             LIMIT 1
         ) a ON true
         ON CONFLICT (job_id) DO UPDATE SET
             error = EXCLUDED.error, error_class = COALESCE(EXCLUDED.error_class, d.error_class),
             attempts = EXCLUDED.attempts, payload = EXCLUDED.payload,
             first_attempt_at = COALESCE(EXCLUDED.first_attempt_at, d.first_attempt_at),
             last_attempt_at = COALESCE(EXCLUDED.last_attempt_at, d.last_attempt_at),
             failed_at = EXCLUDED.failed_at, status = EXCLUDED.status,
             resolved_at = EXCLUDED.resolved_at, resolved_by = EXCLUDED.resolved_by
         WHERE EXCLUDED.failed_at > d.failed_at",
    )
    .bind(rows.iter().map(|r| r.job_id.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.kind.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.lane.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.job_key.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| &r.payload).collect::<Vec<&Value>>())
    .bind(rows.iter().map(|r| r.error.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.error_class.as_deref()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.attempts).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.enqueued_at).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.first_attempt_at).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.last_attempt_at).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.failed_at).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn insert_audits(conn: &mut PgConnection, rows: &[&DeadLetterAudit]) -> Result<(), sqlx::Error> {
    // Replays and purges are rare and carry an array each, so one statement per audit is fine.
    for audit in rows {
        let inserted = sqlx::query(
            "INSERT INTO dead_letter_audit (log_key, action, actor, filter, job_ids, at)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (log_key) DO NOTHING",
        )
        .bind(&audit.log_key)
        .bind(audit.action.as_str())
        .bind(&audit.actor)
        .bind(&audit.filter)
        .bind(&audit.job_ids)
        .bind(audit.at)
        .execute(&mut *conn)
        .await?;
        if inserted.rows_affected() == 0 {
            continue; // replayed from the spool: its effect on dead_letters is already there
        }
        sqlx::query(
            "UPDATE dead_letters SET status = $1, resolved_at = $2, resolved_by = $3
             WHERE job_id = ANY($4) AND failed_at <= $2",
        )
        .bind(audit.action.resulting_status())
        .bind(audit.at)
        .bind(&audit.actor)
        .bind(&audit.job_ids)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

async fn insert_violations(conn: &mut PgConnection, rows: &[&RateLimitViolation]) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO rate_limit_violations (log_key, at, scope, chat_id, method, retry_after_ms, detail)
         SELECT * FROM UNNEST($1::text[], $2::timestamptz[], $3::text[], $4::int8[], $5::text[], $6::int8[], $7::text[])
         ON CONFLICT (log_key) DO NOTHING",
    )
    .bind(rows.iter().map(|r| r.log_key.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.at).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.scope.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.chat_id).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.method.as_deref()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.retry_after_ms).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.detail.as_deref()).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn insert_denials(conn: &mut PgConnection, rows: &[&AccessDenied]) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO access_denied (log_key, at, user_id, chat_id, action, update_id, notified)
         SELECT * FROM UNNEST($1::text[], $2::timestamptz[], $3::int8[], $4::int8[], $5::text[], $6::int8[], $7::bool[])
         ON CONFLICT (log_key) DO NOTHING",
    )
    .bind(rows.iter().map(|r| r.log_key.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.at).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.user_id).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.chat_id).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.action.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.update_id).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.notified).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await?;
    Ok(())
}
