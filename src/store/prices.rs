//! The `price_history` table: what the data collector records and /history, /trend, /compare read.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::integrations::PricePoint;

/// Records points; a point already recorded for the same time is kept as it is.
pub async fn record(pool: &PgPool, symbol: &str, points: &[PricePoint]) -> Result<(), sqlx::Error> {
    if points.is_empty() {
        return Ok(());
    }
    let times: Vec<DateTime<Utc>> = points.iter().map(|p| p.at).collect();
    let prices: Vec<f64> = points.iter().map(|p| p.price).collect();
    let volumes: Vec<i64> = points.iter().map(|p| p.volume).collect();
    sqlx::query(
        "INSERT INTO price_history (symbol, ts, price, volume)
         SELECT $1, * FROM UNNEST($2::timestamptz[], $3::float8[], $4::int8[])
         ON CONFLICT (symbol, ts) DO NOTHING",
    )
    .bind(symbol)
    .bind(times)
    .bind(prices)
    .bind(volumes)
    .execute(pool)
    .await?;
    Ok(())
}

/// Points of `symbol` since `since`, oldest first.
pub async fn since(
    pool: &PgPool,
    symbol: &str,
    since: DateTime<Utc>,
) -> Result<Vec<PricePoint>, sqlx::Error> {
    let rows: Vec<(DateTime<Utc>, f64, i64)> = sqlx::query_as(
        "SELECT ts, price, volume FROM price_history WHERE symbol = $1 AND ts >= $2 ORDER BY ts",
    )
    .bind(symbol)
    .bind(since)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(at, price, volume)| PricePoint { at, price, volume })
        .collect())
}
