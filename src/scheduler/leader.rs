//! The leader lock: one Redis key holding the leader's token with a lease. The leader renews it
//! each tick; if it stops, another instance takes over when the lease runs out.

use redis::Script;

const ACQUIRE_OR_RENEW: &str = r"
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
if not holder then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
return 0
";

const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
";

/// One instance's handle on the lock.
#[derive(Clone)]
pub struct LeaderLock {
    conn: workers::RedisConn,
    key: String,
    token: String,
    lease_ms: u64,
}

impl LeaderLock {
    /// The lock `prefix:scheduler:leader`, held by `token` for `lease_ms` at a time.
    pub fn new(conn: workers::RedisConn, prefix: &str, token: String, lease_ms: u64) -> Self {
        Self {
            conn,
            key: format!("{prefix}:scheduler:leader"),
            token,
            lease_ms,
        }
    }

    /// Takes the lock if free, renews it if ours. True when this instance leads.
    pub async fn acquire_or_renew(&self) -> redis::RedisResult<bool> {
        let mut conn = self.conn.clone();
        let led: i64 = Script::new(ACQUIRE_OR_RENEW)
            .key(&self.key)
            .arg(&self.token)
            .arg(self.lease_ms)
            .invoke_async(&mut conn)
            .await?;
        Ok(led == 1)
    }

    /// Gives the lock up (on shutdown), so another instance takes over at once.
    pub async fn release(&self) -> redis::RedisResult<()> {
        let mut conn = self.conn.clone();
        let _: i64 = Script::new(RELEASE)
            .key(&self.key)
            .arg(&self.token)
            .invoke_async(&mut conn)
            .await?;
        Ok(())
    }
}
