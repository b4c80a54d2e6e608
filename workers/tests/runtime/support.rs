//! Backend factories and helpers shared by the suites.

use std::{future::Future, sync::Mutex, time::Duration};

use workers::{Broker, Clock, MemoryBroker, QueueConfig, RedisBroker, RedisTarget};

/// Redis the tests use.
pub(crate) fn redis_url() -> String {
    std::env::var("AVA_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A fresh prefix, unique per test.
pub(crate) fn unique_prefix(tag: &str) -> String {
    format!("wtest-{tag}-{:012x}", rand::random::<u64>() >> 16)
}

/// Settings with short leases so tests that need expiry do not wait long.
pub(crate) fn test_config() -> QueueConfig {
    QueueConfig {
        max_attempts: 3,
        backoff_base: Duration::from_millis(100),
        backoff_cap: Duration::from_secs(2),
        lease_duration: Duration::from_secs(2),
        heartbeat_interval: Duration::from_millis(500),
        ..QueueConfig::default()
    }
}

/// Makes empty queues of one backend.
pub(crate) trait Factory: Sync {
    type B: Broker;
    fn make(&self, config: QueueConfig, clock: Clock) -> impl Future<Output = Self::B> + Send;
    /// Another handle on `of`'s queue, as a process on a host whose wall clock is `clock`
    /// would open it. The memory backend lives in one process with one clock, so it ignores it.
    fn peer(&self, of: &Self::B, clock: Clock) -> Self::B;
    /// How long Redis keeps the dead letter `id` of the queue made last (`None` in memory).
    fn dead_letter_pttl(&self, _id: &str) -> impl Future<Output = Option<i64>> + Send {
        async { None }
    }
    /// Removes what the made queues left in shared servers.
    fn cleanup(&self) -> impl Future<Output = ()> + Send {
        async {}
    }
}

pub(crate) struct Memory;

impl Factory for Memory {
    type B = MemoryBroker;
    async fn make(&self, config: QueueConfig, clock: Clock) -> MemoryBroker {
        MemoryBroker::new(config, clock)
    }
    fn peer(&self, of: &MemoryBroker, _clock: Clock) -> MemoryBroker {
        of.clone()
    }
}

/// Queues on a Redis server or cluster, each under a fresh prefix.
pub(crate) struct Redis {
    pub(crate) target: RedisTarget,
    prefixes: Mutex<Vec<String>>,
}

impl Redis {
    pub(crate) fn single() -> Self {
        Self::on(RedisTarget::Single(redis_url()))
    }

    pub(crate) fn on(target: RedisTarget) -> Self {
        Self {
            target,
            prefixes: Mutex::default(),
        }
    }
}

impl Factory for Redis {
    type B = RedisBroker;
    async fn make(&self, config: QueueConfig, clock: Clock) -> RedisBroker {
        let prefix = unique_prefix("q");
        self.prefixes.lock().unwrap().push(prefix.clone());
        RedisBroker::connect_to(self.target.clone(), &prefix, config)
            .await
            .unwrap_or_else(|e| panic!("Redis at {:?} is unreachable ({e}). Start it: redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save \"\" --appendonly no", self.target))
            .with_clock(clock)
    }

    fn peer(&self, of: &RedisBroker, clock: Clock) -> RedisBroker {
        of.clone().with_clock(clock)
    }

    async fn dead_letter_pttl(&self, id: &str) -> Option<i64> {
        let prefix = self.prefixes.lock().unwrap().last().cloned()?;
        let key = format!("{prefix}:{{{prefix}}}:dead:{id}");
        let mut pttl = redis::cmd("PTTL");
        pttl.arg(key);
        Some(match &self.target {
            RedisTarget::Single(url) => {
                let mut conn = redis::Client::open(url.as_str())
                    .unwrap()
                    .get_multiplexed_async_connection()
                    .await
                    .expect("redis");
                pttl.query_async(&mut conn).await.expect("PTTL")
            }
            RedisTarget::Cluster(nodes) => {
                let mut conn = redis::cluster::ClusterClient::new(nodes.clone())
                    .unwrap()
                    .get_async_connection()
                    .await
                    .expect("cluster");
                pttl.query_async(&mut conn).await.expect("PTTL")
            }
        })
    }

    async fn cleanup(&self) {
        let RedisTarget::Single(url) = &self.target else {
            // The cluster is private to the test and stopped with it.
            return;
        };
        let prefixes = std::mem::take(&mut *self.prefixes.lock().unwrap());
        delete_prefixes(url, &prefixes).await;
    }
}

/// Deletes every key under the given prefixes (only ever prefixes a test made).
pub(crate) async fn delete_prefixes(url: &str, prefixes: &[String]) {
    let mut conn = redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .expect("redis for cleanup");
    for prefix in prefixes {
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{prefix}*"))
            .query_async(&mut conn)
            .await
            .expect("KEYS");
        for chunk in keys.chunks(500) {
            let _: () = redis::cmd("DEL")
                .arg(chunk)
                .query_async(&mut conn)
                .await
                .expect("DEL");
        }
    }
}

/// A fixed start for manual clocks (2026-01-01), far from zero so ages are realistic.
pub(crate) const T0: u64 = 1_767_225_600_000;
