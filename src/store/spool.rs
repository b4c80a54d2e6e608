//! The Redis spool: where log rows wait, in order and bounded, while Postgres is unreachable.
//!
//! One list per deployment (`<prefix>:{<prefix>:store}:spool`, shared by every worker process) holds
//! one JSON-encoded [`LogRow`] per entry. Appends check the bound atomically in Lua, so processes
//! together never exceed it. One process at a time drains, under a lease lock: it reads the head,
//! writes it to Postgres, then trims it off only if it still holds the lock. A drainer that dies
//! between write and trim leaves rows that are written again by the next one, which the tables'
//! unique keys absorb: each row lands exactly once.

use std::time::Duration;

use redis::{AsyncCommands, Script};
use workers::RedisConn;

use super::rows::LogRow;

/// A spool operation that did not happen.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    /// Redis is unreachable or answered with an error.
    #[error("Redis spool unavailable: {0}")]
    Redis(#[from] redis::RedisError),
    /// Appending would exceed `store.spool_max_rows`.
    #[error("spool full: {len} rows spooled, bound is {bound} (store.spool_max_rows)")]
    Full {
        /// Rows in the spool now.
        len: u64,
        /// The bound.
        bound: u64,
    },
}

/// How long a drainer's lock lives without renewal; renewed on every trimmed chunk.
const DRAIN_LOCK_TTL: Duration = Duration::from_secs(30);

/// Handle to the spool list, its drain lock and the list of rejected rows.
#[derive(Clone)]
pub struct Spool {
    redis: RedisConn,
    list: String,
    lock: String,
    rejected: String,
    bound: u64,
}

impl Spool {
    /// A spool over the process' Redis handle; keys live under `prefix` with one hash tag, so
    /// the Lua scripts touch a single Redis Cluster slot.
    pub fn new(redis: RedisConn, prefix: &str, bound: u64) -> Self {
        let base = format!("{prefix}:{{{prefix}:store}}");
        Self {
            redis,
            list: format!("{base}:spool"),
            lock: format!("{base}:spool:lock"),
            rejected: format!("{base}:rejected"),
            bound,
        }
    }

    /// Rows waiting in the spool.
    pub async fn spooled_rows(&self) -> Result<u64, SpoolError> {
        Ok(self.redis.clone().llen(&self.list).await?)
    }

    /// Appends `rows` in order, all or none; refuses when the bound would be exceeded.
    /// Returns the spool's new length.
    pub async fn append(&self, rows: &[LogRow]) -> Result<u64, SpoolError> {
        // Iterating in Lua, not `unpack(ARGV)`: unpack has a stack limit of a few thousand values.
        static APPEND: std::sync::LazyLock<Script> = std::sync::LazyLock::new(|| {
            Script::new(
                r"
                local len = redis.call('LLEN', KEYS[1])
                local n = #ARGV - 1
                if len + n > tonumber(ARGV[1]) then return -len - 1 end
                for i = 2, #ARGV do redis.call('RPUSH', KEYS[1], ARGV[i]) end
                return len + n
                ",
            )
        });
        let mut invocation = APPEND.key(&self.list);
        invocation.arg(self.bound);
        for row in rows {
            invocation.arg(encode(row));
        }
        let answer: i64 = invocation.invoke_async(&mut self.redis.clone()).await?;
        if answer < 0 {
            return Err(SpoolError::Full {
                len: (-answer - 1) as u64,
                bound: self.bound,
            });
        }
        Ok(answer as u64)
    }

    /// Takes the drain lock for `token`; false when another process is draining.
    pub async fn lock(&self, token: &str) -> Result<bool, SpoolError> {
        let taken: Option<String> = redis::cmd("SET")
            .arg(&self.lock)
            .arg(token)
            .arg("NX")
            .arg("PX")
            .arg(DRAIN_LOCK_TTL.as_millis() as u64)
            .query_async(&mut self.redis.clone())
            .await?;
        Ok(taken.is_some())
    }

    /// Releases the drain lock if `token` holds it.
    pub async fn unlock(&self, token: &str) -> Result<(), SpoolError> {
        static UNLOCK: std::sync::LazyLock<Script> = std::sync::LazyLock::new(|| {
            Script::new(
                "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0",
            )
        });
        let _: i64 = UNLOCK
            .key(&self.lock)
            .arg(token)
            .invoke_async(&mut self.redis.clone())
            .await?;
        Ok(())
    }

    /// The first `n` spooled entries, oldest first, still encoded.
    pub async fn peek(&self, n: usize) -> Result<Vec<String>, SpoolError> {
        Ok(self.redis.clone().lrange(&self.list, 0, n as isize - 1).await?)
    }

    /// Removes the first `n` entries and renews the lock, only if `token` still holds the lock.
    /// False means another drainer took over; it will handle (and harmlessly rewrite) these rows.
    pub async fn trim(&self, token: &str, n: usize) -> Result<bool, SpoolError> {
        static TRIM: std::sync::LazyLock<Script> = std::sync::LazyLock::new(|| {
            Script::new(
                r"
                if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
                redis.call('LTRIM', KEYS[1], tonumber(ARGV[2]), -1)
                redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[3]))
                return 1
                ",
            )
        });
        let done: i64 = TRIM
            .key(&self.list)
            .key(&self.lock)
            .arg(token)
            .arg(n)
            .arg(DRAIN_LOCK_TTL.as_millis() as u64)
            .invoke_async(&mut self.redis.clone())
            .await?;
        Ok(done == 1)
    }

    /// Keeps rows Postgres refused (or entries that no longer decode) for an operator to inspect.
    pub async fn reject(&self, entries: &[String]) -> Result<(), SpoolError> {
        if entries.is_empty() {
            return Ok(());
        }
        let _: u64 = self.redis.clone().rpush(&self.rejected, entries).await?;
        Ok(())
    }

    /// Rejected entries kept so far (for tests and operators).
    pub async fn rejected(&self) -> Result<Vec<String>, SpoolError> {
        Ok(self.redis.clone().lrange(&self.rejected, 0, -1).await?)
    }
}

/// A row as stored in the spool.
pub fn encode(row: &LogRow) -> String {
    // Serialising these plain structs cannot fail (string keys, no maps with non-string keys).
    serde_json::to_string(row).expect("log rows serialise to JSON")
}

/// A spooled entry back into a row.
pub fn decode(entry: &str) -> Result<LogRow, serde_json::Error> {
    serde_json::from_str(entry)
}
