//! Telegram's outbound limits, shared by every worker process through Redis.
//!
//! Each limit (all chats, one chat, one group) is a GCRA schedule: one Redis key holds the
//! limit's "theoretical arrival time". A send first checks its chat's own limits and any 429
//! pause; if they say "not yet" it is told how long to wait and reserves nothing, so a paused or
//! busy chat never holds a slot of the global schedule that other chats could use. Otherwise it
//! reserves the next global slot (and its chat's slots at the same time) in the same Lua script,
//! and waits for it. Reserving, rather than polling "may I send now?", spaces concurrent senders
//! exactly. Redis' clock is used, so hosts with skewed clocks still agree.
//!
//! Keys: `<prefix>:{out}:…`. The `{out}` hash tag keeps every key a script touches in one Redis
//! Cluster slot; outbound traffic (≈30 msg/s) is far below what one shard serves.

use std::time::Duration;

use redis::Script;
use workers::RedisConn;

use crate::config::OutboundLimitSettings;

/// KEYS[1]: the global limit; KEYS[2..n]: the chat's own limits; KEYS[n+1..]: pause keys.
/// ARGV[1]: n; ARGV[2]: longest wait (ms) worth reserving; then per limit key its emission
/// interval and burst tolerance (ms). Returns {1, wait_ms} when a slot is reserved (send after
/// the wait), {0, wait_ms} when nothing was reserved (ask again after the wait).
const RESERVE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local n = tonumber(ARGV[1])
local function tat(i) return tonumber(redis.call('GET', KEYS[i]) or now) end
local function tau(i) return tonumber(ARGV[2 + 2 * i]) end
local hold = now
for i = 2, n do
  if tat(i) - tau(i) > hold then hold = tat(i) - tau(i) end
end
for j = n + 1, #KEYS do
  local until_ms = tonumber(redis.call('GET', KEYS[j]) or 0)
  if until_ms > hold then hold = until_ms end
end
if hold > now then return {0, math.ceil(hold - now)} end
local slot = now
if tat(1) - tau(1) > slot then slot = tat(1) - tau(1) end
local wait = math.ceil(slot - now)
if wait > tonumber(ARGV[2]) then return {0, wait} end
for i = 1, n do
  local base = tat(i)
  if base < slot then base = slot end
  local next_tat = base + tonumber(ARGV[1 + 2 * i])
  redis.call('SET', KEYS[i], tostring(next_tat), 'PX', math.ceil(next_tat - now + 1000))
end
return {1, wait}
";

/// Pauses a scope until now + ARGV[1] ms, never shortening a longer pause already set.
const PAUSE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ms = tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or 0)
if now + ms > current then
  redis.call('SET', KEYS[1], tostring(now + ms), 'PX', ms + 1000)
end
return 1
";

/// The answer to "when may I send?".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// Reserved: send after waiting this long.
    Reserved(Duration),
    /// Nothing reserved (the chat is paused or at its limit, or the global queue is longer than
    /// the caller would wait): ask again after this long, or give up if that is too long.
    NotYet(Duration),
}

/// The shared limiter. Cheap to clone.
#[derive(Clone)]
pub struct OutboundLimiter {
    redis: RedisConn,
    prefix: String,
    settings: OutboundLimitSettings,
    reserve: Script,
    pause: Script,
}

/// Group and channel ids are negative in the Bot API; users' are positive.
fn is_group(chat_id: i64) -> bool {
    chat_id < 0
}

impl OutboundLimiter {
    /// A limiter over `redis`, keys under `prefix`.
    pub fn new(redis: RedisConn, prefix: &str, settings: &OutboundLimitSettings) -> Self {
        Self {
            redis,
            prefix: prefix.to_owned(),
            settings: settings.clone(),
            reserve: Script::new(RESERVE),
            pause: Script::new(PAUSE),
        }
    }

    fn key(&self, rest: &str) -> String {
        format!("{}:{{out}}:{rest}", self.prefix)
    }

    /// Reserves a slot for one message to `chat_id` (None: a call that targets no chat), unless
    /// it would be more than `max_wait` away.
    pub async fn reserve(&self, chat_id: Option<i64>, max_wait: Duration) -> Result<Slot, redis::RedisError> {
        let s = &self.settings;
        let mut limits: Vec<(String, f64, f64)> = Vec::with_capacity(3);
        let per = |rate_per_sec: f64, burst: u32| {
            let interval = 1000.0 / rate_per_sec;
            (interval, interval * f64::from(burst.saturating_sub(1)))
        };
        let (interval, tau) = per(s.global_per_sec, 1);
        limits.push((self.key("rate:global"), interval, tau));
        let mut pauses = vec![self.key("pause:global")];
        if let Some(chat) = chat_id {
            let (interval, tau) = per(s.chat_per_sec, s.chat_burst);
            limits.push((self.key(&format!("rate:chat:{chat}")), interval, tau));
            if is_group(chat) {
                let (interval, tau) = per(s.group_per_min / 60.0, s.group_burst);
                limits.push((self.key(&format!("rate:group:{chat}")), interval, tau));
            }
            pauses.push(self.key(&format!("pause:chat:{chat}")));
        }
        let mut invocation = self.reserve.prepare_invoke();
        for (key, _, _) in &limits {
            invocation.key(key);
        }
        for key in &pauses {
            invocation.key(key);
        }
        invocation.arg(limits.len()).arg(max_wait.as_millis() as u64);
        for (_, interval, tau) in &limits {
            invocation.arg(*interval).arg(*tau);
        }
        let mut conn = self.redis.clone();
        let (reserved, wait_ms): (i64, i64) = invocation.invoke_async(&mut conn).await?;
        let wait = Duration::from_millis(wait_ms.max(0) as u64);
        Ok(if reserved == 1 {
            Slot::Reserved(wait)
        } else {
            Slot::NotYet(wait)
        })
    }

    /// Pauses sends to `chat_id` (None: to every chat) for `duration`, in every process.
    pub async fn pause(&self, chat_id: Option<i64>, duration: Duration) -> Result<(), redis::RedisError> {
        let key = match chat_id {
            Some(chat) => self.key(&format!("pause:chat:{chat}")),
            None => self.key("pause:global"),
        };
        let mut conn = self.redis.clone();
        let _: i64 = self
            .pause
            .key(key)
            .arg(duration.as_millis() as u64)
            .invoke_async(&mut conn)
            .await?;
        Ok(())
    }

    fn blocked_key(&self) -> String {
        format!("{}:out:blocked_chats", self.prefix)
    }

    /// Whether `chat_id` is marked as unreachable (blocked the bot, deleted, kicked it).
    pub async fn is_blocked(&self, chat_id: i64) -> Result<bool, redis::RedisError> {
        let mut conn = self.redis.clone();
        redis::cmd("SISMEMBER")
            .arg(self.blocked_key())
            .arg(chat_id)
            .query_async(&mut conn)
            .await
    }

    /// Marks `chat_id` unreachable: nothing is sent to it until it is cleared.
    pub async fn mark_blocked(&self, chat_id: i64) -> Result<(), redis::RedisError> {
        let mut conn = self.redis.clone();
        redis::cmd("SADD")
            .arg(self.blocked_key())
            .arg(chat_id)
            .query_async(&mut conn)
            .await
    }

    /// Clears the mark, e.g. when the user writes to the bot again (so they unblocked it).
    pub async fn clear_blocked(&self, chat_id: i64) -> Result<(), redis::RedisError> {
        let mut conn = self.redis.clone();
        redis::cmd("SREM")
            .arg(self.blocked_key())
            .arg(chat_id)
            .query_async(&mut conn)
            .await
    }
}
