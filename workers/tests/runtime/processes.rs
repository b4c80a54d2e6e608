//! Multi-process tests on Redis: per-key order across 2 OS processes × 4 consumers, and
//! SIGKILL of a consumer mid-job. Consumers are `workers-test-consumer` processes; the test
//! checks what their handlers wrote, not what the runtime claims.

use std::{
    collections::HashMap,
    process::{Child, Command},
    time::{Duration, Instant},
};

use rand::{Rng, SeedableRng, rngs::StdRng, seq::SliceRandom};
use redis::AsyncCommands;
use workers::{Broker, DeadLetters, Job, Lane, NewJob, Outcome, QueueConfig, RedisBroker, Runner};

use crate::support::{delete_prefixes, redis_url, unique_prefix};

/// A consumer process, killed (by PID) when dropped.
struct Consumer(Child);

impl Drop for Consumer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn consumer(
    prefix: &str,
    check: &str,
    mode: &str,
    concurrency: usize,
    lease_ms: u64,
    max_attempts: u32,
) -> Consumer {
    Consumer(
        Command::new(env!("CARGO_BIN_EXE_workers-test-consumer"))
            .env("TC_REDIS", redis_url())
            .env("TC_PREFIX", prefix)
            .env("TC_CHECK", check)
            .env("TC_MODE", mode)
            .env("TC_CONCURRENCY", concurrency.to_string())
            .env("TC_LEASE_MS", lease_ms.to_string())
            .env("TC_MAX_ATTEMPTS", max_attempts.to_string())
            .spawn()
            .expect("consumer process starts"),
    )
}

async fn conn() -> redis::aio::MultiplexedConnection {
    redis::Client::open(redis_url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap_or_else(|e| panic!("Redis at {} is unreachable ({e}). Start it: redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save \"\" --appendonly no", redis_url()))
}

/// Polls `check` until it holds; fine here because real processes do the work.
async fn eventually<F, Fut>(what: &str, limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while !check().await {
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_key_order_holds_across_two_processes_and_eight_consumers() {
    const KEYS: usize = 50;
    const PER_KEY: usize = 40;
    let seed = std::env::var("AVA_ORDER_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random::<u64>);
    println!("order test seed {seed} (rerun with AVA_ORDER_SEED={seed})");
    let mut rng = StdRng::seed_from_u64(seed);
    let prefix = unique_prefix("order");
    let check = format!("{prefix}-check");
    let broker = RedisBroker::connect(&redis_url(), &prefix, QueueConfig::default())
        .await
        .expect("Redis");
    let mut redis = conn().await;

    // A random interleaving of the keys' sequences, each job in a random lane, so priorities
    // pull against per-key order.
    let mut order: Vec<usize> = (0..KEYS).flat_map(|k| std::iter::repeat_n(k, PER_KEY)).collect();
    order.shuffle(&mut rng);
    let mut next = vec![0usize; KEYS];
    let jobs: Vec<NewJob> = order
        .into_iter()
        .map(|k| {
            let seq = next[k];
            next[k] += 1;
            let lane = Lane::ALL[rng.random_range(0..3)];
            NewJob::new("order", lane, format!("key{k}"), seq.to_string())
        })
        .collect();

    let _a = consumer(&prefix, &check, "order", 4, 5000, 5);
    let _b = consumer(&prefix, &check, "order", 4, 5000, 5);
    // Enqueue while the consumers run, in random batch sizes.
    let mut rest = &jobs[..];
    while !rest.is_empty() {
        let n = rng.random_range(1..=60).min(rest.len());
        broker.enqueue_many(rest[..n].to_vec()).await.unwrap();
        rest = &rest[n..];
        tokio::time::sleep(Duration::from_millis(rng.random_range(0..3))).await;
    }
    let logs = |redis: redis::aio::MultiplexedConnection, check: String| async move {
        let mut redis = redis;
        let mut total = 0usize;
        for k in 0..KEYS {
            let n: usize = redis.llen(format!("{check}:log:key{k}")).await.unwrap();
            total += n;
        }
        total
    };
    eventually("all 2000 jobs to run", Duration::from_secs(90), || {
        logs(redis.clone(), check.clone()).then_ready(|t| t >= KEYS * PER_KEY)
    })
    .await;
    let _: () = redis.set(format!("{check}:stop"), 1).await.unwrap();

    let overlap: Option<u64> = redis.get(format!("{check}:overlap")).await.unwrap();
    assert_eq!(overlap, None, "two jobs of one key ran at the same time");
    for k in 0..KEYS {
        let log: Vec<usize> = redis.lrange(format!("{check}:log:key{k}"), 0, -1).await.unwrap();
        assert_eq!(
            log,
            (0..PER_KEY).collect::<Vec<_>>(),
            "key{k} ran out of order or twice (seed {seed})"
        );
    }
    drop((_a, _b));
    delete_prefixes(&redis_url(), &[prefix, check]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_killed_mid_job_loses_nothing_and_a_killer_job_dead_letters() {
    const MAX_ATTEMPTS: u32 = 3;
    const LEASE_MS: u64 = 1000;
    let prefix = unique_prefix("kill");
    let check = format!("{prefix}-check");
    let config = QueueConfig {
        max_attempts: MAX_ATTEMPTS,
        lease_duration: Duration::from_millis(LEASE_MS),
        heartbeat_interval: Duration::from_millis(250),
        ..QueueConfig::default()
    };
    let broker = RedisBroker::connect(&redis_url(), &prefix, config)
        .await
        .expect("Redis");
    let mut redis = conn().await;

    let mut jobs = Vec::new();
    let mut expected: HashMap<String, Vec<String>> = HashMap::new();
    for i in 0..10 {
        for k in 0..20 {
            jobs.push(NewJob::new(
                "kill",
                Lane::Normal,
                format!("k{k}"),
                format!("n{i}"),
            ));
            expected.entry(format!("k{k}")).or_default().push(format!("n{i}"));
        }
        if i == 2 {
            jobs.push(NewJob::new("kill", Lane::Normal, "poison", "slow").with_id("the-killer"));
        } else {
            jobs.push(NewJob::new("kill", Lane::Normal, "poison", format!("p{i}")));
            expected.entry("poison".into()).or_default().push(format!("p{i}"));
        }
    }
    let ids: Vec<String> = broker
        .enqueue_many(jobs)
        .await
        .unwrap()
        .into_iter()
        .map(|e| match e {
            workers::Enqueued::Queued(id) => id,
            workers::Enqueued::Duplicate => unreachable!(),
        })
        .collect();

    for round in 1..=MAX_ATTEMPTS as u64 {
        let mut victim = consumer(&prefix, &check, "kill", 4, LEASE_MS, MAX_ATTEMPTS);
        // Kill only once the slow job runs and every other lease is settled, so the kill lands
        // mid-job and not between a handler's side effect and its ack.
        let leases_key = format!("{prefix}:{{{prefix}}}:leases");
        let ready_key = format!("{prefix}:{{{prefix}}}:ready:n");
        eventually("the slow job to start, alone", Duration::from_secs(30), || {
            let (mut redis, check, leases_key, ready_key) = (
                redis.clone(),
                check.clone(),
                leases_key.clone(),
                ready_key.clone(),
            );
            async move {
                let starts: Option<u64> = redis.get(format!("{check}:slow-starts")).await.unwrap();
                // Finite scores only: the key also holds an encoding sentinel at +inf.
                let leased: Vec<String> = redis.zrangebyscore(&leases_key, "-inf", "(+inf").await.unwrap();
                // Nothing else ready either, so the consumer cannot start another job (whose
                // side effect could land just before the kill and its ack just after).
                let ready: usize = redis.llen(&ready_key).await.unwrap();
                starts == Some(round) && leased == ["poison"] && ready == 0
            }
        })
        .await;
        let pid = victim.0.id();
        let status = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let _ = victim.0.wait();
    }

    // The survivor: an in-process runner doing the same work, stepped until everything settled.
    let survivor_redis = redis.clone();
    let check_for_handler = check.clone();
    let runner = Runner::new(broker.clone(), move |job: Job| {
        let (mut redis, check) = (survivor_redis.clone(), check_for_handler.clone());
        async move {
            let payload = String::from_utf8(job.payload).unwrap();
            let _: () = redis.incr(format!("{check}:done:{}", job.id), 1).await.unwrap();
            let _: () = redis
                .rpush(format!("{check}:log:{}", job.key), payload)
                .await
                .unwrap();
            Outcome::Done
        }
    });
    eventually(
        "the queue to drain after the last lease expires",
        Duration::from_secs(30),
        || {
            let (runner, broker) = (&runner, &broker);
            async move {
                runner.run_pending().await.unwrap();
                let s = broker.stats().await.unwrap();
                s.lanes.iter().map(|l| l.depth).sum::<u64>() == 0 && s.in_flight == 0
            }
        },
    )
    .await;

    let dead = DeadLetters::new(broker.clone())
        .show("the-killer")
        .await
        .unwrap()
        .expect("the killer job is dead-lettered");
    assert_eq!(
        (dead.class.as_str(), dead.attempts),
        ("lease_expired", MAX_ATTEMPTS)
    );
    for id in ids.iter().filter(|id| *id != "the-killer") {
        let done: Option<u64> = redis.get(format!("{check}:done:{id}")).await.unwrap();
        assert_eq!(done, Some(1), "job {id} done exactly once");
    }
    for (key, want) in expected {
        let log: Vec<String> = redis.lrange(format!("{check}:log:{key}"), 0, -1).await.unwrap();
        assert_eq!(log, want, "{key}: every job once, in order, the dead one skipped");
    }
    assert_eq!(broker.stats().await.unwrap().dead, 1);
    delete_prefixes(&redis_url(), &[prefix, check]).await;
}

trait ThenReady: std::future::Future + Sized {
    fn then_ready<T>(
        self,
        f: impl FnOnce(Self::Output) -> T,
    ) -> futures::future::Map<Self, impl FnOnce(Self::Output) -> T> {
        futures::FutureExt::map(self, f)
    }
}
impl<F: std::future::Future> ThenReady for F {}
