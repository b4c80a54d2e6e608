//! Worker heartbeats: each worker process writes who it is, how busy, and when, to one Redis
//! hash; `ava queues`, the admin API and the `ava_workers_alive` gauge read it.
//!
//! The job runtime's lease heartbeats say which *jobs* are alive; these say which *processes*
//! are, including idle ones, which is what an operator scaling workers needs to see.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redis::AsyncCommands;
use serde::{Deserialize, Serialize};
use workers::RedisConn;

/// How often a worker writes its heartbeat.
pub const EVERY: Duration = Duration::from_secs(5);
/// A worker is alive when its last heartbeat is younger than this (three missed beats).
pub const ALIVE_WITHIN: Duration = Duration::from_secs(15);
/// Entries older than this are removed by the next heartbeat of any worker.
const FORGET_AFTER: Duration = Duration::from_secs(3600);

/// One worker process as its last heartbeat described it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerBeat {
    /// `host-pid`, unique per process.
    pub name: String,
    /// When it wrote this, ms since the Unix epoch.
    pub at_ms: u64,
    /// Jobs it was running.
    pub busy: u64,
    /// Its job slots (`worker.concurrency`).
    pub slots: u64,
}

impl WorkerBeat {
    /// Age of the heartbeat at `now_ms`.
    pub fn age(&self, now_ms: u64) -> Duration {
        Duration::from_millis(now_ms.saturating_sub(self.at_ms))
    }

    /// Whether the process counts as alive at `now_ms`.
    pub fn alive(&self, now_ms: u64) -> bool {
        self.age(now_ms) < ALIVE_WITHIN
    }
}

/// The heartbeat hash of one deployment (one `redis.prefix`).
#[derive(Clone)]
pub struct Heartbeats {
    conn: RedisConn,
    key: String,
}

impl Heartbeats {
    /// Over a connection to the queue's Redis.
    pub fn new(conn: RedisConn, prefix: &str) -> Self {
        Self {
            conn,
            key: format!("{prefix}:ops:workers"),
        }
    }

    /// Writes `beat` and forgets workers silent for an hour.
    pub async fn beat(&self, beat: &WorkerBeat) -> redis::RedisResult<()> {
        let mut conn = self.conn.clone();
        let json = serde_json::to_string(beat).expect("a heartbeat serializes");
        let _: () = conn.hset(&self.key, &beat.name, json).await?;
        let stale: Vec<String> = self
            .list()
            .await?
            .into_iter()
            .filter(|b| b.age(beat.at_ms) > FORGET_AFTER)
            .map(|b| b.name)
            .collect();
        if !stale.is_empty() {
            let _: () = conn.hdel(&self.key, stale).await?;
        }
        Ok(())
    }

    /// Removes `name` (a worker that stops cleanly says goodbye).
    pub async fn forget(&self, name: &str) -> redis::RedisResult<()> {
        let mut conn = self.conn.clone();
        conn.hdel(&self.key, name).await
    }

    /// Every worker heard from in the last hour, freshest first.
    pub async fn list(&self) -> redis::RedisResult<Vec<WorkerBeat>> {
        let mut conn = self.conn.clone();
        let all: Vec<(String, String)> = conn.hgetall(&self.key).await?;
        let mut beats: Vec<WorkerBeat> = all
            .into_iter()
            .filter_map(|(_, json)| serde_json::from_str(&json).ok())
            .collect();
        beats.sort_by(|a, b| b.at_ms.cmp(&a.at_ms).then(a.name.cmp(&b.name)));
        Ok(beats)
    }
}

/// Milliseconds since the Unix epoch, by this host's clock (heartbeats are for people, not for
/// leases, so the host clock is good enough).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
