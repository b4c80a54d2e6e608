//! A consumer process for the runtime's multi-process tests (order and kill); not for production.
//!
//! Configured by environment: `TC_REDIS`, `TC_PREFIX` (the queue), `TC_CHECK` (where the handler
//! writes what it observed), `TC_MODE` (`order` or `kill`), `TC_CONCURRENCY`, `TC_LEASE_MS`,
//! `TC_MAX_ATTEMPTS`. Stops when the key `<TC_CHECK>:stop` exists.

use std::time::Duration;

use redis::AsyncCommands;
use workers::{Job, Outcome, QueueConfig, RedisBroker, Runner};

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is required"))
}

#[tokio::main]
async fn main() {
    let url = env("TC_REDIS");
    let check = env("TC_CHECK");
    let mode = env("TC_MODE");
    let lease_ms: u64 = env("TC_LEASE_MS").parse().unwrap();
    let config = QueueConfig {
        lease_duration: Duration::from_millis(lease_ms),
        heartbeat_interval: Duration::from_millis(lease_ms / 4),
        max_attempts: env("TC_MAX_ATTEMPTS").parse().unwrap(),
        batch_size: 8,
        ..QueueConfig::default()
    };
    let broker = RedisBroker::connect(&url, &env("TC_PREFIX"), config)
        .await
        .expect("queue");
    let redis = redis::Client::open(url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .expect("redis");
    let handler_redis = redis.clone();
    let handler_check = check.clone();
    let runner = Runner::new(broker, move |job: Job| {
        let (redis, check, mode) = (handler_redis.clone(), handler_check.clone(), mode.clone());
        async move {
            if mode == "order" {
                order_step(redis, &check, job).await
            } else {
                kill_step(redis, &check, job).await
            }
        }
    })
    .concurrency(env("TC_CONCURRENCY").parse().unwrap());
    let stop_redis = redis.clone();
    runner
        .run(async move {
            let mut conn = stop_redis;
            loop {
                let stop: bool = conn.exists(format!("{check}:stop")).await.unwrap_or(false);
                if stop {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .expect("runner");
}

/// Marks the key busy (detecting overlap itself, not trusting the runtime), logs the sequence
/// number, yields for a moment so other jobs interleave, then clears the mark.
async fn order_step(mut redis: redis::aio::MultiplexedConnection, check: &str, job: Job) -> Outcome {
    let busy = format!("{check}:busy:{}", job.key);
    let fresh: bool = redis::cmd("SET")
        .arg(&busy)
        .arg(&job.id)
        .arg("NX")
        .arg("PX")
        .arg(60_000)
        .query_async::<Option<String>>(&mut redis)
        .await
        .unwrap()
        .is_some();
    if !fresh {
        let _: () = redis.incr(format!("{check}:overlap"), 1).await.unwrap();
    }
    let seq = String::from_utf8(job.payload).unwrap();
    let _: () = redis
        .rpush(format!("{check}:log:{}", job.key), seq)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_micros(rand::random::<u64>() % 1500)).await;
    let _: () = redis.del(&busy).await.unwrap();
    Outcome::Done
}

/// `slow` jobs announce themselves and then hang (the test kills the process); others record
/// that they completed.
async fn kill_step(mut redis: redis::aio::MultiplexedConnection, check: &str, job: Job) -> Outcome {
    let payload = String::from_utf8(job.payload).unwrap();
    if payload == "slow" {
        let _: () = redis.incr(format!("{check}:slow-starts"), 1).await.unwrap();
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
    let _: () = redis.incr(format!("{check}:done:{}", job.id), 1).await.unwrap();
    let _: () = redis
        .rpush(format!("{check}:log:{}", job.key), payload)
        .await
        .unwrap();
    Outcome::Done
}
