//! Per-chat conversation state in Redis: a versioned record written by compare-and-set, and the
//! durable timers (one sorted set) that fire waiting states' deadlines.
//!
//! The record is one hash per chat: `v` version, `s` state, `a` the event it last applied, `o` the
//! outbox of Telegram effects that event produced, `n` how many of them were sent, `d` deadline.
//! Keeping the outbox with the state makes a retried job resend only what was not sent.

use redis::Script;

use crate::conversation::{Effect, State};

/// Writes the record only if its version is still the one read. Returns 1 on success, 0 on a lost race.
const CAS: &str = r"
local v = redis.call('HGET', KEYS[1], 'v')
if (v or '0') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'v', tonumber(ARGV[1]) + 1, 's', ARGV[2], 'a', ARGV[3], 'o', ARGV[4], 'n', 0, 'd', ARGV[5])
redis.call('EXPIRE', KEYS[1], ARGV[6])
return 1
";

/// Removes a timer only if it still has the deadline that fired (a newer one stays).
const DISARM_IF: &str = r"
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) == tonumber(ARGV[2]) then return redis.call('ZREM', KEYS[1], ARGV[1]) end
return 0
";

/// The record's fields as HMGET returns them: v, s, a, o, n, d.
type RawRecord = (
    Option<u64>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<usize>,
    Option<u64>,
);

/// A chat's stored conversation.
#[derive(Debug, Clone, Default)]
pub(crate) struct ChatRecord {
    /// Version read; a write must present it.
    pub(crate) version: u64,
    /// The state.
    pub(crate) state: State,
    /// Id of the last event applied (`u<update_id>`, `timeout:<deadline>`).
    pub(crate) applied: Option<String>,
    /// Telegram effects of that event.
    pub(crate) outbox: Vec<Effect>,
    /// How many of them were carried out.
    pub(crate) sent: usize,
    /// Deadline of the waiting state, ms since the epoch; 0 when idle.
    pub(crate) deadline_ms: u64,
}

/// Chat states and timers under `prefix`.
#[derive(Clone)]
pub(crate) struct ChatStates {
    conn: workers::RedisConn,
    prefix: String,
    ttl_secs: u64,
}

impl ChatStates {
    pub(crate) fn new(conn: workers::RedisConn, prefix: &str, ttl_secs: u64) -> Self {
        Self {
            conn,
            prefix: prefix.to_owned(),
            ttl_secs,
        }
    }

    fn key(&self, chat_id: i64) -> String {
        // Hash tag per chat: each script touches one slot in Redis Cluster.
        format!("{}:conv:{{{chat_id}}}", self.prefix)
    }

    fn timers_key(&self) -> String {
        format!("{}:conv-timers", self.prefix)
    }

    /// The chat's record; a missing or unreadable state reads as idle.
    pub(crate) async fn load(&self, chat_id: i64) -> redis::RedisResult<ChatRecord> {
        let mut conn = self.conn.clone();
        let (v, s, a, o, n, d): RawRecord = redis::cmd("HMGET")
            .arg(self.key(chat_id))
            .arg(&["v", "s", "a", "o", "n", "d"])
            .query_async(&mut conn)
            .await?;
        let state = match s.as_deref().map(serde_json::from_str::<State>) {
            Some(Ok(state)) => state,
            Some(Err(e)) => {
                // A state written by an older release: start over rather than fail every update.
                tracing::warn!(chat_id, error = %e, "unreadable conversation state; resetting");
                State::Idle
            }
            None => State::Idle,
        };
        Ok(ChatRecord {
            version: v.unwrap_or(0),
            state,
            applied: a.filter(|a| !a.is_empty()),
            outbox: o.and_then(|o| serde_json::from_str(&o).ok()).unwrap_or_default(),
            sent: n.unwrap_or(0),
            deadline_ms: d.unwrap_or(0),
        })
    }

    /// Compare-and-set: writes the record if the stored version is still `expected`.
    pub(crate) async fn save(
        &self,
        chat_id: i64,
        expected: u64,
        state: &State,
        applied: &str,
        outbox: &[Effect],
        deadline_ms: u64,
    ) -> anyhow::Result<bool> {
        let mut conn = self.conn.clone();
        let written: i64 = Script::new(CAS)
            .key(self.key(chat_id))
            .arg(expected)
            .arg(serde_json::to_string(state)?)
            .arg(applied)
            .arg(serde_json::to_string(outbox)?)
            .arg(deadline_ms)
            .arg(self.ttl_secs)
            .invoke_async(&mut conn)
            .await?;
        Ok(written == 1)
    }

    /// Records that the first `sent` outbox effects were carried out.
    pub(crate) async fn mark_sent(&self, chat_id: i64, sent: usize) -> redis::RedisResult<()> {
        let mut conn = self.conn.clone();
        redis::cmd("HSET")
            .arg(self.key(chat_id))
            .arg("n")
            .arg(sent)
            .query_async(&mut conn)
            .await
    }

    /// Sets the chat's timer to `deadline_ms` (replacing an older one).
    pub(crate) async fn arm_timer(&self, chat_id: i64, deadline_ms: u64) -> redis::RedisResult<()> {
        let mut conn = self.conn.clone();
        redis::cmd("ZADD")
            .arg(self.timers_key())
            .arg(deadline_ms)
            .arg(chat_id)
            .query_async(&mut conn)
            .await
    }

    /// Removes the chat's timer.
    pub(crate) async fn disarm_timer(&self, chat_id: i64) -> redis::RedisResult<()> {
        let mut conn = self.conn.clone();
        redis::cmd("ZREM")
            .arg(self.timers_key())
            .arg(chat_id)
            .query_async(&mut conn)
            .await
    }

    /// Removes the chat's timer if it is still at `deadline_ms`.
    pub(crate) async fn disarm_timer_if(&self, chat_id: i64, deadline_ms: u64) -> redis::RedisResult<()> {
        let mut conn = self.conn.clone();
        let _: i64 = Script::new(DISARM_IF)
            .key(self.timers_key())
            .arg(chat_id)
            .arg(deadline_ms)
            .invoke_async(&mut conn)
            .await?;
        Ok(())
    }

    /// Timers due at `now_ms`, oldest first, at most `limit`.
    pub(crate) async fn due(&self, now_ms: u64, limit: usize) -> redis::RedisResult<Vec<(i64, u64)>> {
        let mut conn = self.conn.clone();
        redis::cmd("ZRANGEBYSCORE")
            .arg(self.timers_key())
            .arg("-inf")
            .arg(now_ms)
            .arg("WITHSCORES")
            .arg("LIMIT")
            .arg(0)
            .arg(limit)
            .query_async(&mut conn)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn states() -> ChatStates {
        let url = std::env::var("AVA_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
        let conn = workers::RedisConn::connect_url(&url).await.unwrap_or_else(|e| {
            panic!("Redis at {url} is unreachable ({e}). Start it: redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save \"\" --appendonly no")
        });
        ChatStates::new(conn, &format!("avatest:{:016x}", rand::random::<u64>()), 60)
    }

    #[tokio::test]
    async fn a_stale_version_loses_the_race_and_writes_nothing() {
        let chats = states().await;
        let fresh = chats.load(7).await.unwrap();
        assert_eq!((fresh.version, &fresh.state), (0, &State::Idle));
        let waiting = State::AwaitingTicker { tries: 0 };
        assert!(chats.save(7, 0, &waiting, "u1", &[], 99).await.unwrap());
        // A second writer that also read version 0 loses, and changes nothing.
        let other = State::AwaitingTicker { tries: 5 };
        assert!(!chats.save(7, 0, &other, "u2", &[], 0).await.unwrap());
        let stored = chats.load(7).await.unwrap();
        assert_eq!(
            (stored.version, &stored.state, stored.deadline_ms),
            (1, &waiting, 99)
        );
        assert_eq!(stored.applied.as_deref(), Some("u1"));
        let mut conn = chats.conn.clone();
        let _: () = redis::cmd("DEL")
            .arg(chats.key(7))
            .query_async(&mut conn)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn timers_fire_once_per_deadline() {
        let chats = states().await;
        chats.arm_timer(1, 1_000).await.unwrap();
        chats.arm_timer(2, 5_000).await.unwrap();
        assert_eq!(chats.due(2_000, 10).await.unwrap(), vec![(1, 1_000)]);
        // A newer deadline survives the removal of the one that fired.
        chats.arm_timer(1, 9_000).await.unwrap();
        chats.disarm_timer_if(1, 1_000).await.unwrap();
        assert_eq!(chats.due(10_000, 10).await.unwrap(), vec![(2, 5_000), (1, 9_000)]);
        chats.disarm_timer(1).await.unwrap();
        chats.disarm_timer(2).await.unwrap();
        assert!(chats.due(u64::MAX / 2, 10).await.unwrap().is_empty());
    }
}
