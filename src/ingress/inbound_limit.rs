//! The per-user inbound token bucket, in Redis so every ingress replica (and the poller) share it.

use std::time::Duration;

use redis::Script;
use workers::RedisConn;

use crate::config::InboundLimitSettings;

/// KEYS[1]: the user's bucket; KEYS[2]: "told this window" flag; KEYS[3]: the update ids already
/// judged (a sorted set by time, `a<id>` allowed, `r<id>` refused). ARGV: burst, refill per ms,
/// notice window (s), update_id, how long ids are remembered (ms), most ids remembered.
/// Returns 1 allowed, 2 refused and the user should be told, 0 refused.
/// Redis' clock is used so replicas with skewed clocks agree.
///
/// A redelivered update (Telegram retries, a replica's retry) gets the verdict its first delivery
/// got and costs no token: the broker drops it as a duplicate anyway, and charging the user for
/// Telegram's retries would limit them for what they never sent.
const TAKE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local remember = tonumber(ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - remember)
if redis.call('ZSCORE', KEYS[3], 'a' .. ARGV[4]) then return 1 end
if redis.call('ZSCORE', KEYS[3], 'r' .. ARGV[4]) then return 0 end
local burst = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1]) or burst
local ts = tonumber(b[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate) + 1000)
redis.call('ZADD', KEYS[3], now, (allowed == 1 and 'a' or 'r') .. ARGV[4])
redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -tonumber(ARGV[6]) - 1)
redis.call('PEXPIRE', KEYS[3], remember)
if allowed == 1 then return 1 end
if redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[3]) then return 2 end
return 0
";

/// How long an update's verdict is remembered for its redeliveries. Telegram retries within
/// minutes; a redelivery later than this is charged like a new update (bounded memory beats a
/// 24-hour list per user).
const JUDGED_FOR: Duration = Duration::from_secs(3600);
/// Most update ids remembered per user (the newest).
const JUDGED_MAX: u64 = 1000;

/// What the bucket says about one update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Within the limit.
    Allowed,
    /// Over the limit; `notify` is true for the first refusal in the notice window.
    Exceeded {
        /// Tell the user (once per window).
        notify: bool,
    },
}

/// Per-user token buckets. Cheap to clone.
#[derive(Clone)]
pub struct InboundLimiter {
    redis: RedisConn,
    prefix: String,
    burst: u32,
    refill_per_ms: f64,
    notice_window: Duration,
    script: Script,
}

impl InboundLimiter {
    /// Buckets under `prefix` on `redis`.
    pub fn new(redis: RedisConn, prefix: &str, settings: &InboundLimitSettings) -> Self {
        Self {
            redis,
            prefix: prefix.to_owned(),
            burst: settings.burst,
            refill_per_ms: settings.refill_per_sec / 1000.0,
            notice_window: Duration::from_secs(settings.notice_window_secs),
            script: Script::new(TAKE),
        }
    }

    /// Takes one token from `user_id`'s bucket for `update_id`, unless that update was judged
    /// already (a redelivery): then its first verdict stands and no token is taken.
    pub async fn take(&self, user_id: i64, update_id: i64) -> Result<Verdict, redis::RedisError> {
        // One hash tag per user: every key of the script lives in one Redis Cluster slot.
        let bucket = format!("{}:in:{{{user_id}}}:bucket", self.prefix);
        let told = format!("{}:in:{{{user_id}}}:told", self.prefix);
        let judged = format!("{}:in:{{{user_id}}}:judged", self.prefix);
        let mut conn = self.redis.clone();
        let verdict: i64 = self
            .script
            .key(bucket)
            .key(told)
            .key(judged)
            .arg(self.burst)
            .arg(self.refill_per_ms)
            .arg(self.notice_window.as_secs())
            .arg(update_id)
            .arg(JUDGED_FOR.as_millis() as u64)
            .arg(JUDGED_MAX)
            .invoke_async(&mut conn)
            .await?;
        Ok(match verdict {
            1 => Verdict::Allowed,
            2 => Verdict::Exceeded { notify: true },
            _ => Verdict::Exceeded { notify: false },
        })
    }

    fn keys(&self, user_id: i64) -> (String, String) {
        (
            format!("{}:in:{{{user_id}}}:bucket", self.prefix),
            format!("{}:in:{{{user_id}}}:told", self.prefix),
        )
    }

    /// Where `user_id` stands now (`ava limits show`), refilled to Redis' clock; changes nothing.
    pub async fn show(&self, user_id: i64) -> Result<LimitStatus, redis::RedisError> {
        let (bucket, told) = self.keys(user_id);
        let mut conn = self.redis.clone();
        let reply: ShowReply = redis::pipe()
            .cmd("HMGET")
            .arg(&bucket)
            .arg("tokens")
            .arg("ts")
            .cmd("TTL")
            .arg(&told)
            .cmd("TIME")
            .query_async(&mut conn)
            .await?;
        let ((tokens, ts), told_ttl, (secs, micros)) = reply;
        let now_ms = (secs * 1000 + micros / 1000) as f64;
        let burst = f64::from(self.burst);
        let tokens = match (tokens, ts) {
            (Some(tokens), Some(ts)) => burst.min(tokens + (now_ms - ts).max(0.0) * self.refill_per_ms),
            _ => burst,
        };
        Ok(LimitStatus {
            user_id,
            tokens,
            burst: self.burst,
            refill_per_sec: self.refill_per_ms * 1000.0,
            limited: tokens < 1.0,
            notice_quiet_secs: told_ttl.max(0) as u64,
        })
    }

    /// Gives `user_id` a full bucket and forgets the notice (`ava limits reset`). Returns whether
    /// there was anything to reset.
    pub async fn reset(&self, user_id: i64) -> Result<bool, redis::RedisError> {
        let (bucket, told) = self.keys(user_id);
        let mut conn = self.redis.clone();
        let removed: i64 = redis::cmd("DEL")
            .arg(bucket)
            .arg(told)
            .query_async(&mut conn)
            .await?;
        Ok(removed > 0)
    }
}

/// HMGET tokens ts, TTL of the notice flag, TIME.
type ShowReply = ((Option<f64>, Option<f64>), i64, (u64, u64));

/// A user's inbound limit as `ava limits show` and the admin API report it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LimitStatus {
    /// The user.
    pub user_id: i64,
    /// Updates they may send right now (fractional while refilling).
    pub tokens: f64,
    /// The bucket's size (`inbound_limit.burst`).
    pub burst: u32,
    /// Refill rate (`inbound_limit.refill_per_sec`).
    pub refill_per_sec: f64,
    /// Whether their next update would be dropped.
    pub limited: bool,
    /// Seconds before they can be told about the limit again (0: would be told now).
    pub notice_quiet_secs: u64,
}
