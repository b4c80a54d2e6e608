//! Log writer throughput against a plain COPY of the same rows, side by side, on real Postgres.
//!
//! `cargo bench --bench store_writer` (needs Redis on 127.0.0.1:6379 and Postgres on 127.0.0.1:5432,
//! or AVA_TEST_REDIS_URL / AVA_TEST_DATABASE_URL). Prints rows/s; asserts nothing about time.
//! Each run uses its own schemas and key prefix and removes them at the end.

use std::time::{Duration, Instant};

use ava::{config::Settings, store::MessageLogRow};
use chrono::{DateTime, Utc};
use figment::providers::Serialized;
use serde_json::{Value, json};
use sqlx::{Connection, PgConnection};

const ROWS: i64 = 50_000;
const ROUNDS: usize = 3;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let redis = std::env::var("AVA_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let database = std::env::var("AVA_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let id = format!("{:012x}", rand::random::<u64>() >> 16);
    let now = Utc::now();
    let sample = row(0, now);
    println!(
        "store_writer: {ROWS} message_log rows per round, {ROUNDS} rounds, about {} bytes per row (raw JSON {} bytes)",
        row_bytes(&sample),
        sample.raw.to_string().len()
    );

    let mut writer_rates = Vec::new();
    let mut copy_rates = Vec::new();
    let mut schemas = Vec::new();
    for round in 0..ROUNDS {
        let writer_schema = format!("bench_w_{id}_{round}");
        let copy_schema = format!("bench_c_{id}_{round}");
        let writer_settings = settings(&redis, &database, &writer_schema, &id)?;
        let copy_settings = settings(&redis, &database, &copy_schema, &id)?;
        ava::roles::migrate(&writer_settings).await?;
        ava::roles::migrate(&copy_settings).await?;
        schemas.extend([writer_schema, copy_schema.clone()]);
        let base = i64::from(round as u32) * ROWS;
        let rows: Vec<MessageLogRow> = (0..ROWS).map(|i| row(base + i, now)).collect();

        // The writer, as the worker uses it: record every row, then wait for the last batch.
        let log = ava::app::Backends::connect(&writer_settings).await?.log;
        let started = Instant::now();
        for row in rows.clone() {
            log.record(row).await;
        }
        let report = log.flush().await;
        let writer_took = started.elapsed();
        anyhow::ensure!(
            report.spooled == 0 && report.held == 0,
            "writer did not finish: {report:?}"
        );
        let written = count(&database, &writer_settings.database.schema).await?;
        anyhow::ensure!(written == ROWS, "writer wrote {written} rows, expected {ROWS}");

        // Diagnostic: the same batches written directly, without the writer task around them.
        let direct_settings = settings(&redis, &database, &format!("bench_d_{id}_{round}"), &id)?;
        ava::roles::migrate(&direct_settings).await?;
        schemas.push(direct_settings.database.schema.clone());
        let pool = ava::store::Store::connect_lazy(&direct_settings.database, 0)?
            .pool()
            .clone();
        let log_rows: Vec<ava::store::LogRow> = rows.iter().cloned().map(Into::into).collect();
        let started = Instant::now();
        for chunk in log_rows.chunks(writer_settings.store.batch_rows) {
            ava::store::batch::write_rows(&pool, chunk).await?;
        }
        let direct_took = started.elapsed();
        pool.close().await;

        // The reference: one COPY of the same rows (CSV encoding included in the time).
        let mut conn = PgConnection::connect(&database).await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SET search_path TO \"{copy_schema}\""
        )))
        .execute(&mut conn)
        .await?;
        let started = Instant::now();
        let mut copy = conn
            .copy_in_raw(
                "COPY message_log (update_id, chat_id, user_id, kind, lane, text, command, raw, received_at,
                     enqueued_at, started_at, finished_at, outcome, error, attempts, worker) FROM STDIN (FORMAT csv)",
            )
            .await?;
        let mut buffer = String::with_capacity(1 << 20);
        for row in &rows {
            csv_line(&mut buffer, row);
            if buffer.len() >= 1 << 20 {
                copy.send(buffer.as_bytes()).await?;
                buffer.clear();
            }
        }
        copy.send(buffer.as_bytes()).await?;
        let copied = copy.finish().await?;
        let copy_took = started.elapsed();
        anyhow::ensure!(copied == ROWS as u64, "COPY wrote {copied} rows");
        conn.close().await?;

        let (w, c) = (rate(writer_took), rate(copy_took));
        println!(
            "round {}: (diagnostic) the same batches one at a time, no writer: {:>8.0} rows/s ({direct_took:.2?})",
            round + 1,
            rate(direct_took)
        );
        println!(
            "round {}: writer {w:>8.0} rows/s ({writer_took:.2?})   COPY {c:>8.0} rows/s ({copy_took:.2?})   writer/COPY {:.0}%",
            round + 1,
            100.0 * w / c
        );
        writer_rates.push(w);
        copy_rates.push(c);
    }
    let (w, c) = (median(&mut writer_rates), median(&mut copy_rates));
    println!(
        "median: writer {w:.0} rows/s, COPY {c:.0} rows/s, writer/COPY {:.0}% (target >= 50%)",
        100.0 * w / c
    );

    let mut conn = PgConnection::connect(&database).await?;
    for schema in schemas {
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA \"{schema}\" CASCADE")))
            .execute(&mut conn)
            .await?;
    }
    Ok(())
}

fn settings(redis: &str, database: &str, schema: &str, id: &str) -> anyhow::Result<Settings> {
    let fig = Settings::figment(None)
        .merge(Serialized::default("redis.url", redis))
        .merge(Serialized::default("redis.prefix", format!("avabench:{id}")))
        .merge(Serialized::default("database.url", database))
        .merge(Serialized::default("database.schema", schema));
    Ok(Settings::from_figment(fig)?)
}

/// A message_log row shaped like a real text message update.
fn row(n: i64, now: DateTime<Utc>) -> MessageLogRow {
    let chat = 100_000_000 + n % 5_000;
    let text = format!("What is the price of AAPL and NVDA today? note {n}");
    let raw: Value = json!({
        "update_id": 800_000_000 + n,
        "message": {
            "message_id": n, "date": 1763856000 + n,
            "from": {"id": chat, "is_bot": false, "first_name": "Dana",
                     "username": format!("dana_{chat}"), "language_code": "en"},
            "chat": {"id": chat, "first_name": "Dana", "type": "private"},
            "text": text
        }
    });
    MessageLogRow {
        update_id: 800_000_000 + n,
        chat_id: Some(chat),
        user_id: Some(chat),
        kind: "message".into(),
        lane: "normal".into(),
        text: Some(text),
        command: None,
        raw,
        received_at: now,
        enqueued_at: Some(now),
        started_at: now,
        finished_at: Some(now),
        outcome: Some("done".into()),
        error: None,
        attempts: 1,
        worker: "bench-worker-1".into(),
    }
}

fn row_bytes(row: &MessageLogRow) -> usize {
    let mut line = String::new();
    csv_line(&mut line, row);
    line.len()
}

fn csv_line(out: &mut String, r: &MessageLogRow) {
    use std::fmt::Write;
    let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    let ts = |t: DateTime<Utc>| t.to_rfc3339();
    let opt = |o: Option<String>| o.unwrap_or_default();
    let _ = writeln!(
        out,
        "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
        r.update_id,
        opt(r.chat_id.map(|v| v.to_string())),
        opt(r.user_id.map(|v| v.to_string())),
        quote(&r.kind),
        quote(&r.lane),
        opt(r.text.as_deref().map(quote)),
        opt(r.command.as_deref().map(quote)),
        quote(&r.raw.to_string()),
        ts(r.received_at),
        opt(r.enqueued_at.map(ts)),
        ts(r.started_at),
        opt(r.finished_at.map(ts)),
        opt(r.outcome.as_deref().map(quote)),
        opt(r.error.as_deref().map(quote)),
        r.attempts,
        quote(&r.worker),
    );
}

async fn count(database: &str, schema: &str) -> anyhow::Result<i64> {
    let mut conn = PgConnection::connect(database).await?;
    let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM \"{schema}\".message_log"
    )))
    .fetch_one(&mut conn)
    .await?;
    Ok(n)
}

fn rate(took: Duration) -> f64 {
    ROWS as f64 / took.as_secs_f64()
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}
