//! The Redis backend: every state change is one Lua script call over keys that share the hash
//! tag `{<prefix>}`, so each script touches one slot and the queue runs on Redis Cluster too.
//!
//! Keys (base = `<prefix>:{<prefix>}`): `mbox:<key>` (list of records, head = current job),
//! `ready:h|n|l` (lists of keys whose head can run), `delayed` (zset key → due ms), `leases`
//! (zset key → deadline ms), `att` (hash key → attempts entry), `wrr` (lane credits), `depth`
//! (hash lane → queued jobs), `seen:<id>` (dedupe), `dead` (zset id → dead ms), `dead:<id>`
//! (hash, expires after `dead_letter_ttl`), `tokens` (the lease token counter), `wake` (list of
//! wake tokens that idle consumers block on).

mod conn;
mod scripts;

use std::{collections::HashMap, sync::Arc, time::Duration};

use redis::Value;
use tokio::sync::Mutex;

pub use conn::{RedisConn, RedisTarget};

use crate::{
    Ack, Broker, BrokerError, Clock, DeadLetter, Enqueued, Lane, LaneStats, Leased, NewJob, QueueConfig,
    QueueStats, Replayed, Settle,
    broker::{check_new_job, new_job_id},
    record::Record,
};

/// A broker on Redis (one server or a cluster), with every key under `prefix`.
#[derive(Clone)]
pub struct RedisBroker {
    target: RedisTarget,
    /// The process' shared, reconnecting handle.
    conn: RedisConn,
    /// The dedicated connection idle consumers block on; `None` after a wait was cut short.
    waiter: Arc<Mutex<Option<RedisConn>>>,
    base: Arc<str>,
    config: QueueConfig,
    clock: Clock,
}

impl RedisBroker {
    /// Connects to one Redis server at `url`; every key lives under `prefix`.
    pub async fn connect(url: &str, prefix: &str, config: QueueConfig) -> Result<Self, BrokerError> {
        Self::connect_to(RedisTarget::Single(url.to_owned()), prefix, config).await
    }

    /// Connects to `target`; every key lives under `prefix` (no braces: it becomes the hash tag).
    pub async fn connect_to(
        target: RedisTarget,
        prefix: &str,
        config: QueueConfig,
    ) -> Result<Self, BrokerError> {
        let conn = RedisConn::connect(&target).await?;
        Self::with_conn(conn, target, prefix, config)
    }

    /// A broker over an existing handle (the process' shared one); `target` is where that handle
    /// points, used to open the separate connection that idle consumers block on.
    pub fn with_conn(
        conn: RedisConn,
        target: RedisTarget,
        prefix: &str,
        config: QueueConfig,
    ) -> Result<Self, BrokerError> {
        config
            .validate()
            .map_err(|e| BrokerError::InvalidConfig(e.to_string()))?;
        if prefix.is_empty() || prefix.contains(['{', '}']) {
            return Err(BrokerError::InvalidConfig(format!(
                "prefix {prefix:?} must be non-empty and without braces"
            )));
        }
        Ok(Self {
            target,
            conn,
            waiter: Arc::default(),
            base: Arc::from(format!("{prefix}:{{{prefix}}}")),
            config,
            clock: Clock::System,
        })
    }

    /// The shared handle this broker sends its commands on.
    pub fn conn(&self) -> &RedisConn {
        &self.conn
    }

    /// Uses `clock` for due times and leases (tests pass a manual clock).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    fn wake_key(&self) -> String {
        format!("{}:wake", self.base)
    }

    /// A script call with the base, the time to use, the dead-letter retention and the wake key
    /// (which routes it to the queue's slot). The time is empty (Redis' own `TIME`) unless the
    /// clock is a test's manual one: a host's wall clock never decides a lease or a due time.
    fn invocation<'a>(&self, script: &'a redis::Script) -> redis::ScriptInvocation<'a> {
        let mut inv = script.key(self.wake_key());
        inv.arg(&*self.base);
        match self.clock.authoritative_ms() {
            Some(now) => inv.arg(now),
            None => inv.arg(""),
        };
        inv.arg(self.config.dead_letter_ttl.as_millis() as u64);
        inv
    }
}

impl Broker for RedisBroker {
    fn config(&self) -> &QueueConfig {
        &self.config
    }

    fn clock(&self) -> &Clock {
        &self.clock
    }

    async fn enqueue_many(&self, jobs: Vec<NewJob>) -> Result<Vec<Enqueued>, BrokerError> {
        for job in &jobs {
            check_new_job(job)?;
        }
        let mut out = Vec::with_capacity(jobs.len());
        for chunk in jobs.chunks(self.config.batch_size.max(1) * 8) {
            // The host clock only seeds fresh ids (unique by their random part); the script
            // stamps the due and enqueue times from its own clock.
            let now = self.clock.now_ms();
            let mut inv = self.invocation(&scripts::ENQUEUE);
            inv.arg(self.config.dedupe_window.as_millis() as u64)
                .arg(chunk.len());
            let mut ids = Vec::with_capacity(chunk.len());
            for job in chunk {
                let id = job.id.clone().unwrap_or_else(|| new_job_id(now));
                inv.arg(&job.key)
                    .arg(&id)
                    .arg(if job.id.is_some() { "1" } else { "0" })
                    .arg(&[job.lane.code()][..])
                    .arg(job.delay.as_millis() as u64)
                    .arg(&job.kind)
                    .arg(Record::tail(&[], &job.payload));
                ids.push(id);
            }
            let flags: Vec<u8> = inv.invoke_async(&mut self.conn.clone()).await?;
            out.extend(ids.into_iter().zip(flags).map(|(id, queued)| {
                if queued == 1 {
                    Enqueued::Queued(id)
                } else {
                    Enqueued::Duplicate
                }
            }));
        }
        Ok(out)
    }

    async fn lease(&self, max: usize) -> Result<Leased, BrokerError> {
        let [high, normal, low] = self.config.weights;
        let mut inv = self.invocation(&scripts::LEASE);
        inv.arg(max.min(1000))
            .arg(self.config.lease_duration.as_millis() as u64)
            .arg(self.config.max_attempts)
            .arg(high)
            .arg(normal)
            .arg(low);
        let reply: Vec<Value> = inv.invoke_async(&mut self.conn.clone()).await?;
        let mut reply = reply.into_iter();
        let next_wake = int(reply.next())?;
        let dead_lettered = int(reply.next())?;
        let now = int(reply.next())? as u64;
        let mut jobs = Vec::new();
        while let Some(key) = reply.next() {
            let key = text(Some(key))?;
            let record = Record::decode(&bytes(reply.next())?)?;
            let attempt = int(reply.next())? as u32;
            let first = int(reply.next())? as u64;
            let token = int(reply.next())? as u64;
            jobs.push(record.into_job(key, attempt, first, now, token));
        }
        Ok(Leased {
            jobs,
            next_wake_ms: (next_wake >= 0).then_some(next_wake as u64),
            dead_lettered: dead_lettered as u32,
            now_ms: now,
        })
    }

    async fn heartbeat(&self, leases: &[(String, u64)]) -> Result<Vec<bool>, BrokerError> {
        if leases.is_empty() {
            return Ok(Vec::new());
        }
        let mut inv = self.invocation(&scripts::HEARTBEAT);
        inv.arg(self.config.lease_duration.as_millis() as u64);
        for (key, token) in leases {
            inv.arg(key).arg(token);
        }
        let held: Vec<u8> = inv.invoke_async(&mut self.conn.clone()).await?;
        Ok(held.into_iter().map(|h| h == 1).collect())
    }

    async fn settle(&self, acks: Vec<Ack>) -> Result<Vec<bool>, BrokerError> {
        let mut out = Vec::with_capacity(acks.len());
        for chunk in acks.chunks(1000) {
            let mut inv = self.invocation(&scripts::SETTLE);
            inv.arg(chunk.len());
            for ack in chunk {
                inv.arg(&ack.key).arg(ack.token);
                match &ack.settle {
                    Settle::Done => inv.arg("D").arg("").arg(""),
                    Settle::RetryAt { due_ms } => inv.arg("R").arg(due_ms).arg(""),
                    Settle::DeferUntil { due_ms } => inv.arg("W").arg(due_ms).arg(""),
                    Settle::Dead { class, error } => inv.arg("X").arg(class.as_str()).arg(error),
                    Settle::Release => inv.arg("F").arg("").arg(""),
                };
            }
            let flags: Vec<u8> = inv.invoke_async(&mut self.conn.clone()).await?;
            out.extend(flags.into_iter().map(|f| f == 1));
        }
        Ok(out)
    }

    async fn wait_for_work(&self, timeout: Duration) -> Result<(), BrokerError> {
        // One waiting connection per broker; a second concurrent waiter gets its own.
        let mut shared = self.waiter.try_lock().ok();
        let mut conn = match shared.as_mut().and_then(|slot| slot.take()) {
            Some(conn) => conn,
            None => RedisConn::blocking(&self.target).await?,
        };
        // Redis checks blocking timeouts on its 100 ms cron tick, so the server-side timeout is
        // only a backstop; the precise deadline is ours. When it fires first, the connection is
        // still blocked in Redis, so it is dropped (closing it unblocks the server side).
        let server_timeout = (timeout + Duration::from_secs(1)).as_secs_f64();
        let mut blpop = redis::cmd("BLPOP");
        blpop.arg(self.wake_key()).arg(server_timeout);
        let wait = blpop.query_async::<Option<(String, String)>>(&mut conn);
        match tokio::time::timeout(timeout, wait).await {
            Ok(result) => {
                result?;
                if let Some(slot) = shared.as_mut() {
                    **slot = Some(conn);
                }
            }
            Err(_elapsed) => drop(conn),
        }
        Ok(())
    }

    async fn stats(&self) -> Result<QueueStats, BrokerError> {
        let reply: Vec<i64> = self
            .invocation(&scripts::STATS)
            .invoke_async(&mut self.conn.clone())
            .await?;
        if reply.len() != 13 {
            return Err(BrokerError::Corrupt("stats reply".into()));
        }
        let now = reply[12].max(0) as u64;
        let mut stats = QueueStats {
            in_flight: reply[9].max(0) as u64,
            delayed_keys: reply[10].max(0) as u64,
            dead: reply[11].max(0) as u64,
            ..Default::default()
        };
        for lane in Lane::ALL {
            let i = lane.index();
            stats.lanes[i] = LaneStats {
                depth: reply[i * 3].max(0) as u64,
                ready_keys: reply[i * 3 + 1].max(0) as u64,
                oldest_age_ms: (reply[i * 3 + 2] >= 0).then(|| now.saturating_sub(reply[i * 3 + 2] as u64)),
            };
        }
        Ok(stats)
    }

    async fn dead_letter_index(&self) -> Result<Vec<(String, u64)>, BrokerError> {
        let entries: Vec<(String, f64)> = redis::cmd("ZRANGE")
            .arg(format!("{}:dead", self.base))
            .arg(0)
            .arg(-1)
            .arg("WITHSCORES")
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(entries.into_iter().map(|(id, at)| (id, at as u64)).collect())
    }

    async fn dead_letters(&self, ids: &[String]) -> Result<Vec<DeadLetter>, BrokerError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for id in ids {
            pipe.hgetall(format!("{}:dead:{id}", self.base));
        }
        let hashes: Vec<HashMap<String, Vec<u8>>> = pipe.query_async(&mut self.conn.clone()).await?;
        hashes
            .into_iter()
            .filter(|h| !h.is_empty())
            .map(dead_letter_from_hash)
            .collect()
    }

    async fn replay_dead_letters(
        &self,
        ids: &[String],
        lane: Option<Lane>,
    ) -> Result<Vec<Replayed>, BrokerError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let now = self.clock.now_ms();
        let mut inv = self.invocation(&scripts::REPLAY);
        inv.arg(lane.map(|l| (l.code() as char).to_string()).unwrap_or_default());
        for id in ids {
            inv.arg(id).arg(new_job_id(now));
        }
        let flat: Vec<String> = inv.invoke_async(&mut self.conn.clone()).await?;
        flat.chunks(3)
            .map(|c| {
                Ok(Replayed {
                    old_id: c[0].clone(),
                    new_id: c[1].clone(),
                    lane: lane_from_code(&c[2])?,
                })
            })
            .collect()
    }

    async fn remove_dead_letters(&self, ids: &[String]) -> Result<usize, BrokerError> {
        if ids.is_empty() {
            return Ok(0);
        }
        let mut inv = self.invocation(&scripts::REMOVE_DEAD);
        for id in ids {
            inv.arg(id);
        }
        Ok(inv.invoke_async(&mut self.conn.clone()).await?)
    }
}

fn lane_from_code(code: &str) -> Result<Lane, BrokerError> {
    Lane::from_code(code.bytes().next().unwrap_or(0))
        .ok_or_else(|| BrokerError::Corrupt(format!("lane code {code:?}")))
}

fn dead_letter_from_hash(mut h: HashMap<String, Vec<u8>>) -> Result<DeadLetter, BrokerError> {
    let mut field = |name: &str| h.remove(name).unwrap_or_default();
    let mut string = |name: &str| String::from_utf8_lossy(&field(name)).into_owned();
    let id = string("id");
    let lane = lane_from_code(&string("lane"))?;
    let key = string("key");
    let kind = string("kind");
    let error = string("error");
    let class = string("class");
    let number = |s: String| s.parse::<u64>().unwrap_or(0);
    let attempts = number(string("attempts")) as u32;
    let enqueued_at_ms = number(string("enqueued"));
    let first_attempt_at_ms = number(string("first"));
    let last_attempt_at_ms = number(string("last"));
    let dead_at_ms = number(string("dead"));
    let history = string("history");
    let payload = h.remove("payload").unwrap_or_default();
    Ok(DeadLetter {
        id,
        kind,
        lane,
        key,
        payload,
        error,
        class,
        attempts,
        enqueued_at_ms,
        first_attempt_at_ms,
        last_attempt_at_ms,
        dead_at_ms,
        replayed_from: if history.is_empty() {
            Vec::new()
        } else {
            history.split(',').map(str::to_owned).collect()
        },
    })
}

fn int(v: Option<Value>) -> Result<i64, BrokerError> {
    match v {
        Some(Value::Int(n)) => Ok(n),
        Some(Value::BulkString(b)) => std::str::from_utf8(&b)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| BrokerError::Corrupt("expected a number".into())),
        other => Err(BrokerError::Corrupt(format!("expected a number, got {other:?}"))),
    }
}

fn bytes(v: Option<Value>) -> Result<Vec<u8>, BrokerError> {
    match v {
        Some(Value::BulkString(b)) => Ok(b),
        other => Err(BrokerError::Corrupt(format!("expected bytes, got {other:?}"))),
    }
}

fn text(v: Option<Value>) -> Result<String, BrokerError> {
    String::from_utf8(bytes(v)?).map_err(|_| BrokerError::Corrupt("key is not UTF-8".into()))
}
