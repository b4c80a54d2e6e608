//! The per-user inbound token bucket, in Redis so every ingress replica (and the poller) share it.

use std::time::Duration;

use redis::Script;
use workers::RedisConn;

use crate::config::InboundLimitSettings;

/// KEYS[1]: the user's bucket; KEYS[2]: "told this window" flag. ARGV: burst, refill per ms,
/// notice window (s). Returns 1 allowed, 2 refused and the user should be told, 0 refused.
/// Redis' clock is used so replicas with skewed clocks agree.
const TAKE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
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
if allowed == 1 then return 1 end
if redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[3]) then return 2 end
return 0
";

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

    /// Takes one token from `user_id`'s bucket.
    pub async fn take(&self, user_id: i64) -> Result<Verdict, redis::RedisError> {
        // One hash tag per user: both keys of the script live in one Redis Cluster slot.
        let bucket = format!("{}:in:{{{user_id}}}:bucket", self.prefix);
        let told = format!("{}:in:{{{user_id}}}:told", self.prefix);
        let mut conn = self.redis.clone();
        let verdict: i64 = self
            .script
            .key(bucket)
            .key(told)
            .arg(self.burst)
            .arg(self.refill_per_ms)
            .arg(self.notice_window.as_secs())
            .invoke_async(&mut conn)
            .await?;
        Ok(match verdict {
            1 => Verdict::Allowed,
            2 => Verdict::Exceeded { notify: true },
            _ => Verdict::Exceeded { notify: false },
        })
    }
}
