//! Cold start and memory of the Lambda ingress (`bootstrap`), measured against the tests' fake
//! Runtime API on this machine.
//!
//! `cargo bench --bench lambda_cold_start` (needs Redis on 127.0.0.1:6379, or
//! AVA_TEST_REDIS_URL). Prints, asserts nothing about time:
//! - init: from exec to the runtime's first `GET …/invocation/next` (settings, the Redis
//!   handle, log writer), over `STARTS` fresh processes;
//! - the first invocation of each process, then warm invocations of one process;
//! - peak RSS (`VmHWM` from /proc) after the warm ones, and after bodies near the 1 MiB limit.
//!
//! Uses its own key prefix and removes it at the end.

#[allow(dead_code)] // the tests use more of it than the bench
#[path = "../tests/it/lambda_runtime_api.rs"]
mod lambda_runtime_api;

use std::time::{Duration, Instant};

use lambda_runtime_api::{FakeRuntimeApi, Function, Outcome};
use serde_json::{Value, json};

const STARTS: usize = 20;
const WARM: usize = 2_000;
const BIG: usize = 20;
const SECRET: &str = "bench-secret";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let redis = std::env::var("AVA_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let prefix = format!("avabench:{:012x}", rand::random::<u64>() >> 16);
    let env: Vec<(String, String)> = [
        ("AVA_WEBHOOK__SECRET", SECRET.to_owned()),
        ("AVA_REDIS__URL", redis.clone()),
        ("AVA_REDIS__PREFIX", prefix.clone()),
        ("AVA_LOG__FILTER", "warn".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    // Each update has its own sender, so the inbound limit never drops one.
    let mut update_id = 0i64;
    let mut next_update = |size: usize| {
        update_id += 1;
        let text = "x".repeat(size);
        json!({ "update_id": update_id, "message": { "message_id": 1, "date": 1763856000,
            "chat": { "id": update_id, "type": "private" },
            "from": { "id": update_id, "is_bot": false, "first_name": "A" }, "text": text } })
        .to_string()
    };

    let mut inits = Vec::new();
    let mut firsts = Vec::new();
    let mut cold_rss = Vec::new();
    for _ in 0..STARTS {
        let api = FakeRuntimeApi::start().await;
        let function = Function::start(&api, &env);
        let ready = api
            .first_next(Duration::from_secs(30))
            .await
            .expect("bootstrap asks for an invocation (is Redis up?)");
        inits.push(ready - function.started);
        let started = Instant::now();
        expect_queued(api.invoke(event(&next_update(40))).await);
        firsts.push(started.elapsed());
        cold_rss.push(peak_rss_kib(function.pid()));
    }

    let api = FakeRuntimeApi::start().await;
    let function = Function::start(&api, &env);
    api.first_next(Duration::from_secs(30)).await.expect("ready");
    let mut warm = Vec::with_capacity(WARM);
    for _ in 0..WARM {
        let started = Instant::now();
        expect_queued(api.invoke(event(&next_update(40))).await);
        warm.push(started.elapsed());
    }
    let rss_warm = peak_rss_kib(function.pid());
    for _ in 0..BIG {
        expect_queued(api.invoke(event(&next_update(1_000_000))).await);
    }
    let rss_big = peak_rss_kib(function.pid());
    drop(function);

    println!("lambda_cold_start: bootstrap against a fake Runtime API on 127.0.0.1, Redis {redis}");
    println!(
        "  init (exec → first next), {STARTS} processes: {}",
        summary(&mut inits)
    );
    println!(
        "  first invocation (queued), same processes:    {}",
        summary(&mut firsts)
    );
    println!(
        "  warm invocations (queued), {WARM} in one process: {}",
        summary(&mut warm)
    );
    cold_rss.sort_unstable();
    println!(
        "  peak RSS (VmHWM) after one invocation: {} KiB median, {} KiB max",
        cold_rss[cold_rss.len() / 2],
        cold_rss[cold_rss.len() - 1]
    );
    println!("  peak RSS after {WARM} warm invocations: {rss_warm} KiB");
    println!("  peak RSS after {BIG} more with ~1 MB bodies: {rss_big} KiB");

    let client = redis::Client::open(redis.as_str())?;
    let mut conn = client.get_multiplexed_async_connection().await?;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("*{prefix}*"))
        .query_async(&mut conn)
        .await?;
    for chunk in keys.chunks(1000) {
        let _: () = redis::cmd("DEL").arg(chunk).query_async(&mut conn).await?;
    }
    Ok(())
}

/// An HTTP API (v2) event carrying `body` with the secret.
fn event(body: &str) -> Value {
    json!({
        "version": "2.0", "routeKey": "POST /telegram/webhook", "rawPath": "/telegram/webhook",
        "rawQueryString": "",
        "headers": { "content-type": "application/json", "x-telegram-bot-api-secret-token": SECRET,
            "host": "f6g7h8i9j0.execute-api.eu-central-1.amazonaws.com" },
        "requestContext": { "accountId": "123456789012", "apiId": "f6g7h8i9j0",
            "domainName": "f6g7h8i9j0.execute-api.eu-central-1.amazonaws.com", "domainPrefix": "f6g7h8i9j0",
            "http": { "method": "POST", "path": "/telegram/webhook", "protocol": "HTTP/1.1",
                "sourceIp": "149.154.167.220", "userAgent": "" },
            "requestId": "bench", "routeKey": "POST /telegram/webhook", "stage": "$default",
            "time": "30/Nov/2026:01:30:12 +0000", "timeEpoch": 1795915812345u64 },
        "body": body, "isBase64Encoded": false
    })
}

fn expect_queued(outcome: Outcome) {
    match outcome {
        Outcome::Response(r) if r["statusCode"] == 200 => {}
        other => panic!("expected 200, got {other:?}"),
    }
}

/// `VmHWM` (peak resident set) of `pid`, in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc/<pid>/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/<pid>/status")
}

fn summary(samples: &mut [Duration]) -> String {
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1000.0);
    format!(
        "min {}, median {}, p95 {}, max {}",
        ms(samples[0]),
        ms(at(0.5)),
        ms(at(0.95)),
        ms(samples[samples.len() - 1])
    )
}
