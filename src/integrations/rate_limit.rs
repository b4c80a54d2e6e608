//! A provider's request rate, shared by every worker process through Redis: a sliding one-second
//! log per provider (at most `rate_per_sec` requests in any second, by Redis' clock), plus a
//! shared pause that a provider's 429 `Retry-After` sets for everyone.
//!
//! Fails open: when Redis cannot be reached the call goes ahead (logged), because the breaker and
//! the provider's own 429 still protect it, and market data must not stop with the cache.

use std::time::Duration;

use redis::Script;

/// Takes a slot, or says how long to wait. KEYS: log, pause. ARGV: rate, unique member.
const ACQUIRE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local pause = tonumber(redis.call('GET', KEYS[2]) or '0')
if pause > now then return pause - now end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - 1000)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now, ARGV[2])
  redis.call('PEXPIRE', KEYS[1], 2000)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, tonumber(oldest[2]) + 1000 - now)
";

/// Pauses everyone for ARGV[1] ms from now (never shortens a longer pause). KEYS: pause.
const PAUSE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local until_ms = now + tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if until_ms > current then
  redis.call('SET', KEYS[1], until_ms, 'PX', tonumber(ARGV[1]) + 1000)
end
return until_ms
";

/// One provider's shared limiter.
#[derive(Clone)]
pub struct RateLimiter {
    conn: workers::RedisConn,
    log_key: String,
    pause_key: String,
    rate_per_sec: u32,
    provider: &'static str,
}

impl RateLimiter {
    /// A limiter for `provider` under the Redis `prefix`; every process with the same prefix and
    /// provider shares it.
    pub fn new(conn: workers::RedisConn, prefix: &str, provider: &'static str, rate_per_sec: u32) -> Self {
        // One hash tag, so both keys live in one Redis Cluster slot for the scripts.
        let tag = format!("{{{prefix}:ratelimit:{provider}}}");
        Self {
            conn,
            log_key: format!("{tag}:log"),
            pause_key: format!("{tag}:pause"),
            rate_per_sec: rate_per_sec.max(1),
            provider,
        }
    }

    /// Waits until a request may go out.
    pub async fn acquire(&self) {
        let script = Script::new(ACQUIRE);
        loop {
            let member = format!("{:016x}", rand::random::<u64>());
            let mut conn = self.conn.clone();
            let wait: redis::RedisResult<u64> = script
                .key(&self.log_key)
                .key(&self.pause_key)
                .arg(self.rate_per_sec)
                .arg(member)
                .invoke_async(&mut conn)
                .await;
            match wait {
                Ok(0) => return,
                Ok(ms) => {
                    metrics::counter!(super::RATE_LIMIT_WAITS, "provider" => self.provider).increment(1);
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                }
                Err(e) => {
                    tracing::warn!(provider = self.provider, error = %e, "rate limiter unreachable; calling without it");
                    return;
                }
            }
        }
    }

    /// Pauses every worker's calls to this provider for `wait` (a 429's Retry-After).
    pub async fn pause(&self, wait: Duration) {
        let mut conn = self.conn.clone();
        let result: redis::RedisResult<u64> = Script::new(PAUSE)
            .key(&self.pause_key)
            .arg(wait.as_millis().max(1) as u64)
            .invoke_async(&mut conn)
            .await;
        if let Err(e) = result {
            tracing::warn!(provider = self.provider, error = %e, "could not share the provider's pause");
        }
    }
}
