//! A Redis cache of external data with a TTL per kind. A cache that cannot be reached is skipped,
//! never an error: it only saves calls.

use std::{
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use serde::{Serialize, de::DeserializeOwned};

use crate::config::CacheSettings;

/// What is cached; each kind has its own TTL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheKind {
    /// Quotes.
    Quote,
    /// Broker positions.
    Positions,
    /// Account balances.
    Portfolio,
}

impl CacheKind {
    fn as_str(self) -> &'static str {
        match self {
            CacheKind::Quote => "quote",
            CacheKind::Positions => "positions",
            CacheKind::Portfolio => "portfolio",
        }
    }
}

/// Hits and misses of this process, for tests and /status; metrics carry the same counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Answers served from Redis.
    pub hits: u64,
    /// Lookups that went to the service.
    pub misses: u64,
}

/// The cache.
#[derive(Clone)]
pub struct Cache {
    conn: workers::RedisConn,
    prefix: String,
    settings: CacheSettings,
    hits: Arc<AtomicU64>,
    misses: Arc<AtomicU64>,
}

impl Cache {
    /// A cache on `conn`, keys under `prefix:cache:`.
    pub fn new(conn: workers::RedisConn, prefix: &str, settings: &CacheSettings) -> Self {
        Self {
            conn,
            prefix: prefix.to_owned(),
            settings: settings.clone(),
            hits: Arc::default(),
            misses: Arc::default(),
        }
    }

    fn key(&self, kind: CacheKind, id: &str) -> String {
        format!("{}:cache:{}:{id}", self.prefix, kind.as_str())
    }

    fn ttl_secs(&self, kind: CacheKind) -> u64 {
        match kind {
            CacheKind::Quote => self.settings.quote_ttl_secs,
            CacheKind::Positions => self.settings.positions_ttl_secs,
            CacheKind::Portfolio => self.settings.portfolio_ttl_secs,
        }
    }

    /// The cached value, or `fetch`'s, which is then cached. Errors are never cached.
    pub async fn get_or_fetch<T, E, F, Fut>(&self, kind: CacheKind, id: &str, fetch: F) -> Result<T, E>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let key = self.key(kind, id);
        let mut conn = self.conn.clone();
        let cached: Option<Vec<u8>> = redis::cmd("GET")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .unwrap_or_else(|e| {
                tracing::warn!(error = %e, "cache unreachable; asking the service");
                None
            });
        if let Some(value) = cached.and_then(|bytes| serde_json::from_slice(&bytes).ok()) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            metrics::counter!(super::CACHE_REQUESTS, "kind" => kind.as_str(), "result" => "hit").increment(1);
            return Ok(value);
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        metrics::counter!(super::CACHE_REQUESTS, "kind" => kind.as_str(), "result" => "miss").increment(1);
        let value = fetch().await?;
        if let Ok(bytes) = serde_json::to_vec(&value) {
            let stored: Result<(), _> = redis::cmd("SET")
                .arg(&key)
                .arg(bytes)
                .arg("EX")
                .arg(self.ttl_secs(kind))
                .query_async(&mut conn)
                .await;
            if let Err(e) = stored {
                tracing::warn!(error = %e, "cannot write cache");
            }
        }
        Ok(value)
    }

    /// Drops a cached value that is known to be stale.
    pub async fn invalidate(&self, kind: CacheKind, id: &str) {
        let mut conn = self.conn.clone();
        let result: Result<(), _> = redis::cmd("DEL")
            .arg(self.key(kind, id))
            .query_async(&mut conn)
            .await;
        if let Err(e) = result {
            tracing::warn!(error = %e, "cannot invalidate cache entry");
        }
    }

    /// Hits and misses so far.
    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }
}
