//! Prints the runtime's figures on a private redis-server (loopback port 7110), so the
//! command counts and CPU are this benchmark's alone:
//! - drain: 20,000 no-op jobs over 1,000 keys, one process, concurrency 32 (jobs/s, enqueues/s);
//! - Redis commands per job (INFO commandstats, which counts commands run inside Lua);
//! - redis-server CPU per job (/proc/<pid>/stat utime+stime);
//! - enqueue-to-start p50/p99 at a steady 150 jobs/s;
//! - how late delayed jobs start after their due time.
//!
//! Run: `cargo bench -p workers --bench drain` (needs redis-server on PATH).

use std::{
    process::{Child, Command, Stdio},
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use workers::{Broker, Job, Lane, NewJob, Outcome, QueueConfig, RedisBroker, Runner};

const PORT: u16 = 7110;
const JOBS: usize = 20_000;
const KEYS: usize = 1_000;
const CONCURRENCY: usize = 32;

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn now_us() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_micros() as u64
}

/// utime + stime of a process, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let (user, system) = cpu_split(pid);
    user + system
}

/// (utime, stime) of a process, in clock ticks.
fn cpu_split(pid: u32) -> (u64, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc stat");
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    (fields[11].parse().unwrap(), fields[12].parse().unwrap())
}

fn ticks_per_sec() -> u64 {
    let out = Command::new("getconf").arg("CLK_TCK").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap_or(100)
}

async fn total_commands(conn: &mut redis::aio::MultiplexedConnection) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(conn)
        .await
        .unwrap();
    info.lines()
        .filter_map(|l| l.split("calls=").nth(1))
        .filter_map(|rest| rest.split(',').next()?.parse::<u64>().ok())
        .sum()
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let server = Server(
        Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &PORT.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            // Extra server options to compare configurations, e.g.
            // BENCH_REDIS_ARGS="--zset-max-listpack-entries 0".
            .args(
                std::env::var("BENCH_REDIS_ARGS")
                    .unwrap_or_default()
                    .split_whitespace(),
            )
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server on PATH"),
    );
    let url = format!("redis://127.0.0.1:{PORT}");
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut admin = loop {
        if let Ok(c) = client.get_multiplexed_async_connection().await {
            break c;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let pid = server.0.id();
    let tck = ticks_per_sec();
    println!("redis-server pid {pid} on 127.0.0.1:{PORT} (private to this benchmark)");

    let config = QueueConfig::default();
    let broker = RedisBroker::connect(&url, "bench", config.clone()).await.unwrap();

    // --- Drain ---
    let jobs: Vec<NewJob> = (0..JOBS)
        .map(|i| NewJob::new("noop", Lane::Normal, format!("key{}", i % KEYS), Vec::new()))
        .collect();
    let _: () = redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query_async(&mut admin)
        .await
        .unwrap();
    let cmds0 = total_commands(&mut admin).await;
    let cpu0 = cpu_ticks(pid);
    let started = Instant::now();
    for chunk in jobs.chunks(500) {
        broker.enqueue_many(chunk.to_vec()).await.unwrap();
    }
    let enqueue_secs = started.elapsed().as_secs_f64();
    let cmds_enq = total_commands(&mut admin).await;
    let cpu_enq = cpu_ticks(pid);
    let split_enq = cpu_split(pid);

    let done = Arc::new(AtomicUsize::new(0));
    let counter = done.clone();
    let finished = Arc::new(tokio::sync::Notify::new());
    let finished_tx = finished.clone();
    let runner = Runner::new(broker.clone(), move |_job: Job| {
        if counter.fetch_add(1, Ordering::Relaxed) + 1 == JOBS {
            finished_tx.notify_one();
        }
        async { Outcome::Done }
    })
    .concurrency(CONCURRENCY);
    let stop = Arc::new(tokio::sync::Notify::new());
    let stop_rx = stop.clone();
    let drain_started = Instant::now();
    let running = tokio::spawn(runner.run(async move { stop_rx.notified().await }));
    finished.notified().await;
    let drain_secs = drain_started.elapsed().as_secs_f64();
    // Let the last acks land before reading the counters.
    let deadline = Instant::now() + Duration::from_secs(10);
    while broker.stats().await.unwrap().lanes[1].depth > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let cmds1 = total_commands(&mut admin).await;
    let cpu1 = cpu_ticks(pid);
    let split1 = cpu_split(pid);
    let breakdown: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(&mut admin)
        .await
        .unwrap();
    stop.notify_one();
    running.await.unwrap().unwrap();

    let per_job = |c: u64| c as f64 / JOBS as f64;
    let cpu_us = |t: u64| t as f64 * 1e6 / tck as f64 / JOBS as f64;
    println!(
        "\n== drain: {JOBS} no-op jobs over {KEYS} keys, 1 process, concurrency {CONCURRENCY}, per-key order on"
    );
    println!(
        "enqueue (batches of 500)   {:>10.0} jobs/s",
        JOBS as f64 / enqueue_secs
    );
    println!(
        "drain                      {:>10.0} jobs/s  ({drain_secs:.3} s)",
        JOBS as f64 / drain_secs
    );
    println!(
        "redis commands per job     {:>10.2}  (enqueue {:.2} + lease/ack {:.2}; INFO commandstats, Lua-internal included)",
        per_job(cmds1 - cmds0),
        per_job(cmds_enq - cmds0),
        per_job(cmds1 - cmds_enq)
    );
    println!(
        "redis-server CPU per job   {:>10.2} us (enqueue {:.2} + lease/ack {:.2}; /proc/{pid}/stat, {tck} ticks/s)",
        cpu_us(cpu1 - cpu0),
        cpu_us(cpu_enq - cpu0),
        cpu_us(cpu1 - cpu_enq)
    );

    println!(
        "  lease/ack CPU split: user {:.2} us, system {:.2} us per job",
        cpu_us(split1.0 - split_enq.0),
        cpu_us(split1.1 - split_enq.1)
    );
    println!("commandstats over the drain (calls, usec per call):");
    for line in breakdown.lines().filter(|l| l.starts_with("cmdstat_")) {
        let name = line
            .split(':')
            .next()
            .unwrap_or("")
            .trim_start_matches("cmdstat_");
        let field = |f: &str| {
            line.split(&format!("{f}="))
                .nth(1)
                .and_then(|r| r.split(',').next())
                .unwrap_or("?")
        };
        println!(
            "  {name:<16} calls {:>8}  usec/call {}",
            field("calls"),
            field("usec_per_call")
        );
    }

    // --- Latency at a steady 150 jobs/s ---
    let latency_broker = RedisBroker::connect(&url, "bench-latency", config.clone())
        .await
        .unwrap();
    let samples: Arc<Mutex<Vec<u64>>> = Arc::default();
    let sink = samples.clone();
    let runner = Runner::new(latency_broker.clone(), move |job: Job| {
        let sent: u64 = String::from_utf8_lossy(&job.payload).parse().unwrap_or(0);
        sink.lock().unwrap().push(now_us().saturating_sub(sent));
        async { Outcome::Done }
    })
    .concurrency(CONCURRENCY);
    let stop = Arc::new(tokio::sync::Notify::new());
    let stop_rx = stop.clone();
    let running = tokio::spawn(runner.run(async move { stop_rx.notified().await }));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let rate_jobs = 1500;
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / 150));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for i in 0..rate_jobs {
        tick.tick().await;
        let job = NewJob::new(
            "noop",
            Lane::ALL[i % 3],
            format!("chat{}", i % 200),
            now_us().to_string(),
        );
        latency_broker.enqueue(job).await.unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while samples.lock().unwrap().len() < rate_jobs && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.notify_one();
    running.await.unwrap().unwrap();
    let mut lat = samples.lock().unwrap().clone();
    lat.sort_unstable();
    println!(
        "\n== enqueue-to-start at a steady 150 jobs/s ({} jobs, 200 keys, 3 lanes, consumer idle between jobs)",
        lat.len()
    );
    println!(
        "p50 {:.3} ms   p99 {:.3} ms   max {:.3} ms",
        percentile(&lat, 0.5) as f64 / 1000.0,
        percentile(&lat, 0.99) as f64 / 1000.0,
        *lat.last().unwrap() as f64 / 1000.0
    );

    // --- Delayed jobs: lateness after their due time ---
    let delayed_broker = RedisBroker::connect(&url, "bench-delayed", config).await.unwrap();
    let late: Arc<Mutex<Vec<i64>>> = Arc::default();
    let sink = late.clone();
    let runner = Runner::new(delayed_broker.clone(), move |job: Job| {
        let due: i64 = String::from_utf8_lossy(&job.payload).parse().unwrap_or(0);
        sink.lock().unwrap().push(now_us() as i64 - due);
        async { Outcome::Done }
    })
    .concurrency(CONCURRENCY);
    let stop = Arc::new(tokio::sync::Notify::new());
    let stop_rx = stop.clone();
    let running = tokio::spawn(runner.run(async move { stop_rx.notified().await }));
    let count = 200;
    for i in 0..count {
        let delay = Duration::from_millis(50 + (i as u64 * 37) % 1500);
        let due = now_us() + delay.as_micros() as u64;
        let job = NewJob::new("noop", Lane::Normal, format!("d{i}"), due.to_string()).with_delay(delay);
        delayed_broker.enqueue(job).await.unwrap();
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while late.lock().unwrap().len() < count && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.notify_one();
    running.await.unwrap().unwrap();
    let mut late = late.lock().unwrap().clone();
    late.sort_unstable();
    println!(
        "\n== delayed jobs ({} with delays 50-1550 ms): start minus due time",
        late.len()
    );
    println!(
        "min {:.3} ms   p50 {:.3} ms   p99 {:.3} ms   max {:.3} ms   (due times are ms-granular)",
        late[0] as f64 / 1000.0,
        late[late.len() / 2] as f64 / 1000.0,
        late[((late.len() - 1) as f64 * 0.99) as usize] as f64 / 1000.0,
        *late.last().unwrap() as f64 / 1000.0
    );
    drop(server);
}
