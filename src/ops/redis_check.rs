//! Start-up check of what Redis promises about AVA's data: it must never evict (queued updates,
//! leases and dedupe marks are data, not cache), and the log says whether it persists (AOF).
//!
//! Called once per process before a role takes work. A managed Redis that disables `CONFIG`
//! cannot be checked: AVA warns and continues, and the operator answers for the setting.

use std::time::Duration;

use redis::aio::ConnectionLike;

/// What Redis said about durability.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisDurability {
    /// `maxmemory-policy`, or `None` when `CONFIG` is not available.
    pub maxmemory_policy: Option<String>,
    /// `appendonly` is `yes`; `None` when unknown.
    pub aof: Option<bool>,
    /// `appendfsync` (always / everysec / no); `None` when unknown.
    pub appendfsync: Option<String>,
}

/// Why a role must not start on this Redis.
#[derive(Debug, thiserror::Error)]
pub enum RedisCheckError {
    /// Redis would evict keys under memory pressure: queued updates could vanish silently.
    #[error(
        "Redis maxmemory-policy is {0:?}, AVA needs \"noeviction\": under memory pressure Redis would silently delete queued updates, leases and dedupe marks. Set `maxmemory-policy noeviction` in redis.conf (or CONFIG SET maxmemory-policy noeviction) and start again"
    )]
    Evicts(String),
    /// Redis did not answer.
    #[error("cannot check Redis at redis.url: {0}")]
    Redis(#[from] redis::RedisError),
    /// Redis did not answer in time.
    #[error("cannot check Redis at redis.url: no answer within {0:?}")]
    Timeout(Duration),
}

const TIMEOUT: Duration = Duration::from_secs(5);

/// Connects to `url` and runs [`check`].
pub async fn check_url(url: &str) -> Result<RedisDurability, RedisCheckError> {
    let client = redis::Client::open(url)?;
    let mut conn = tokio::time::timeout(TIMEOUT, client.get_multiplexed_async_connection())
        .await
        .map_err(|_| RedisCheckError::Timeout(TIMEOUT))??;
    check(&mut conn).await
}

/// Refuses a Redis that may evict; logs whether AOF is on and how often it syncs.
pub async fn check<C: ConnectionLike + Send>(conn: &mut C) -> Result<RedisDurability, RedisCheckError> {
    let policy = config_get(conn, "maxmemory-policy").await?;
    let aof = config_get(conn, "appendonly").await?;
    let fsync = config_get(conn, "appendfsync").await?;
    let report = RedisDurability {
        maxmemory_policy: policy.clone(),
        aof: aof.as_deref().map(|v| v == "yes"),
        appendfsync: fsync.clone(),
    };
    match policy.as_deref() {
        Some("noeviction") => {}
        Some(other) => return Err(RedisCheckError::Evicts(other.to_owned())),
        None => tracing::warn!(
            "cannot read Redis' maxmemory-policy (CONFIG is disabled, as on many managed Redis services); \
             make sure it is \"noeviction\", or queued updates may be evicted under memory pressure"
        ),
    }
    match (report.aof, fsync.as_deref()) {
        (Some(true), Some(fsync)) => tracing::info!(
            appendfsync = fsync,
            "Redis AOF is on: a Redis crash loses at most {}",
            match fsync {
                "always" => "nothing acknowledged",
                "everysec" => "about the last second of writes",
                _ => "the writes the OS had not flushed (up to ~30 s)",
            }
        ),
        (Some(true), None) => tracing::info!("Redis AOF is on"),
        (Some(false), _) => tracing::warn!(
            "Redis AOF is off: a Redis restart or crash loses every queued update since the last RDB snapshot \
             (see docs/OPERATIONS.md, \"Running Redis for AVA\")"
        ),
        (None, _) => {
            tracing::warn!("cannot read Redis' appendonly setting (CONFIG disabled); see docs/OPERATIONS.md")
        }
    }
    Ok(report)
}

/// `CONFIG GET name`: `None` when CONFIG is refused (renamed away, ACL, managed service).
async fn config_get<C: ConnectionLike + Send>(
    conn: &mut C,
    name: &str,
) -> Result<Option<String>, RedisCheckError> {
    let answer = tokio::time::timeout(
        TIMEOUT,
        redis::cmd("CONFIG")
            .arg("GET")
            .arg(name)
            .query_async::<Vec<String>>(conn),
    )
    .await
    .map_err(|_| RedisCheckError::Timeout(TIMEOUT))?;
    match answer {
        Ok(pair) => Ok(pair.into_iter().nth(1)),
        // The connection itself failed: Redis is not there, which start-up must report.
        Err(e) if e.is_io_error() || e.is_connection_dropped() || e.is_connection_refusal() => Err(e.into()),
        // An error reply (unknown command, NOPERM) or an answer of another shape (a cluster's
        // aggregated reply) means Redis is there but will not say plainly.
        Err(e) => {
            tracing::debug!(error = %e, setting = name, "CONFIG GET gave no plain answer");
            Ok(None)
        }
    }
}
