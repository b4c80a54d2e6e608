//! The cases: one fault each, under load, against the real binaries.

use std::time::Duration;

use crate::{
    ONE_AT_A_TIME,
    fake_telegram::FakeTelegram,
    load::{self, SECRET, Verdict},
    processes::{OwnRedis, Role, free_port},
};

#[path = "../it/pg_proxy.rs"]
#[allow(dead_code)]
mod pg_proxy;

/// Worker concurrency in the suite: the bound on jobs in flight per worker at a kill.
const CONCURRENCY: usize = 8;

fn database_url() -> String {
    std::env::var("AVA_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A deployment: one ingress, two workers, one scheduler, on the case's own Redis.
struct Deployment {
    redis: OwnRedis,
    telegram: FakeTelegram,
    env: Vec<(String, String)>,
    http_port: u16,
    _ingress: Role,
    workers: Vec<Role>,
    _scheduler: Role,
    schema: String,
}

impl Deployment {
    async fn start(aof: bool, database_url: &str) -> Self {
        let redis = OwnRedis::start(aof).await;
        let telegram = FakeTelegram::start().await;
        let id = format!("{:012x}", rand::random::<u64>() >> 16);
        let schema = format!("chaos_{id}");
        let http_port = free_port();
        let env: Vec<(String, String)> = [
            ("AVA_TELEGRAM__TOKEN", "123:CHAOS".to_owned()),
            ("AVA_TELEGRAM__API_URL", telegram.url()),
            ("AVA_WEBHOOK__SECRET", SECRET.to_owned()),
            ("AVA_REDIS__URL", redis.url()),
            ("AVA_REDIS__PREFIX", format!("chaos{id}")),
            ("AVA_DATABASE__URL", database_url.to_owned()),
            ("AVA_DATABASE__SCHEMA", schema.clone()),
            ("AVA_HTTP__ADDR", format!("127.0.0.1:{http_port}")),
            ("AVA_WORKER__CONCURRENCY", CONCURRENCY.to_string()),
            // Short leases, so a killed worker's jobs come back within the case.
            ("AVA_QUEUE__LEASE_MS", "3000".to_owned()),
            ("AVA_QUEUE__HEARTBEAT_MS", "1000".to_owned()),
            ("AVA_QUEUE__BACKOFF_BASE_MS", "100".to_owned()),
            ("AVA_QUEUE__BACKOFF_CAP_MS", "2000".to_owned()),
            ("AVA_INGRESS__DRAIN_SECS", "0".to_owned()),
            // The load is one process playing many users: lift the per-user and Telegram limits.
            ("AVA_INBOUND_LIMIT__ENABLED", "false".to_owned()),
            ("AVA_OUTBOUND_LIMIT__GLOBAL_PER_SEC", "100000".to_owned()),
            ("AVA_OUTBOUND_LIMIT__CHAT_PER_SEC", "1000".to_owned()),
            ("AVA_OUTBOUND_LIMIT__CHAT_BURST", "1000".to_owned()),
            ("AVA_LOG__FILTER", "warn".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        Role::run_once(&["migrate"], &env);
        let ingress = Role::start("ingress", &["ingress"], &env);
        let workers = vec![
            Role::start("worker a", &["worker"], &env),
            Role::start("worker b", &["worker"], &env),
        ];
        let scheduler = Role::start("scheduler", &["scheduler"], &env);
        let me = Self {
            redis,
            telegram,
            env,
            http_port,
            _ingress: ingress,
            workers,
            _scheduler: scheduler,
            schema,
        };
        me.wait_ready().await;
        me
    }

    fn webhook(&self) -> String {
        format!("http://127.0.0.1:{}/webhook", self.http_port)
    }

    async fn wait_ready(&self) {
        let http = reqwest::Client::new();
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let ready = http
                .get(format!("http://127.0.0.1:{}/ready", self.http_port))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200);
            if ready {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the ingress did not become ready"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Dead letters in the case's Redis.
    async fn dead_letters(&self) -> i64 {
        let prefix = &self.env.iter().find(|(k, _)| k == "AVA_REDIS__PREFIX").unwrap().1;
        let mut conn = self.redis.conn().await.expect("redis answers");
        redis::cmd("ZCARD")
            .arg(format!("{prefix}:{{{prefix}}}:dead"))
            .query_async(&mut conn)
            .await
            .expect("ZCARD")
    }

    async fn drop_schema(&self) {
        if let Ok(pool) = sqlx::PgPool::connect(&database_url()).await {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP SCHEMA IF EXISTS \"{}\" CASCADE",
                self.schema
            )))
            .execute(&pool)
            .await;
        }
    }
}

fn report(case: &str, checked: &str, verdict: &Verdict) {
    println!("chaos case {case}: {checked}\n    {verdict}");
}

fn assert_kept(verdict: &Verdict, max_duplicates: usize) {
    assert!(verdict.acked > 0, "the load got nothing acknowledged: {verdict}");
    assert_eq!(verdict.lost, 0, "acknowledged updates lost: {verdict}");
    assert_eq!(
        verdict.out_of_order, 0,
        "a chat's replies came out of order: {verdict}"
    );
    assert!(
        verdict.duplicates <= max_duplicates,
        "more duplicate replies than jobs in flight: {verdict}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn case_1_every_redis_connection_killed_during_load() {
    let _one = ONE_AT_A_TIME.lock().await;
    let ava = Deployment::start(false, &database_url()).await;
    let webhook = ava.webhook();
    let load = load::send(
        &webhook,
        20,
        40,
        Duration::from_millis(100),
        Duration::from_secs(60),
    );
    let faults = async {
        for _ in 0..3 {
            tokio::time::sleep(Duration::from_secs(1)).await;
            ava.redis.kill_clients().await;
        }
    };
    let (sent, ()) = tokio::join!(load, faults);
    let verdict = load::judge(&ava.telegram, &sent, Duration::from_secs(60)).await;
    report(
        "1",
        "every Redis client connection killed 3 times during load",
        &verdict,
    );
    // A connection cut between a reply and its sent-marker may repeat that reply.
    assert_kept(&verdict, 3 * 2 * CONCURRENCY);
    ava.drop_schema().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn case_2_redis_restarted_with_aof_during_load() {
    let _one = ONE_AT_A_TIME.lock().await;
    let mut ava = Deployment::start(true, &database_url()).await;
    let webhook = ava.webhook();
    let load = load::send(
        &webhook,
        20,
        40,
        Duration::from_millis(100),
        Duration::from_secs(60),
    );
    let fault = async {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        ava.redis.crash();
        tokio::time::sleep(Duration::from_secs(2)).await;
        ava.redis.restart().await;
    };
    let (sent, ()) = tokio::join!(load, fault);
    let verdict = load::judge(&ava.telegram, &sent, Duration::from_secs(60)).await;
    report(
        "2",
        "Redis SIGKILLed and restarted (AOF, appendfsync always) during load",
        &verdict,
    );
    assert!(
        verdict.refused > 0,
        "the ingress answered 503 while Redis was down: {verdict}"
    );
    assert_kept(&verdict, 2 * CONCURRENCY);
    ava.drop_schema().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn case_3_a_worker_sigkilled_every_5s_during_load() {
    let _one = ONE_AT_A_TIME.lock().await;
    let mut ava = Deployment::start(false, &database_url()).await;
    let webhook = ava.webhook();
    let load = load::send(
        &webhook,
        30,
        60,
        Duration::from_millis(200),
        Duration::from_secs(60),
    );
    let workers = &mut ava.workers;
    let kills = async {
        for _ in 0..2 {
            tokio::time::sleep(Duration::from_secs(5)).await;
            workers[0].kill_and_restart();
        }
    };
    let (sent, ()) = tokio::join!(load, kills);
    let verdict = load::judge(&ava.telegram, &sent, Duration::from_secs(60)).await;
    report(
        "3",
        &format!("worker a SIGKILLed every 5 s (2 kills, at most {CONCURRENCY} jobs in flight each)"),
        &verdict,
    );
    assert_kept(&verdict, 2 * CONCURRENCY);
    ava.drop_schema().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn case_4_a_worker_stopped_past_its_lease_and_resumed() {
    let _one = ONE_AT_A_TIME.lock().await;
    let ava = Deployment::start(false, &database_url()).await;
    let webhook = ava.webhook();
    let load = load::send(
        &webhook,
        20,
        40,
        Duration::from_millis(150),
        Duration::from_secs(60),
    );
    let stall = async {
        tokio::time::sleep(Duration::from_secs(1)).await;
        ava.workers[0].stop();
        // Past the 3 s lease: the other worker takes its chats over.
        tokio::time::sleep(Duration::from_secs(5)).await;
        ava.workers[0].resume();
    };
    let (sent, ()) = tokio::join!(load, stall);
    let verdict = load::judge(&ava.telegram, &sent, Duration::from_secs(60)).await;
    let dead = ava.dead_letters().await;
    report(
        "4",
        &format!("worker a SIGSTOPped 5 s (lease 3 s) and resumed · dead letters {dead}"),
        &verdict,
    );
    assert_kept(&verdict, CONCURRENCY);
    assert_eq!(dead, 0, "nothing is dead-lettered");
    ava.drop_schema().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn case_6_postgres_unreachable_for_30s_during_load() {
    let _one = ONE_AT_A_TIME.lock().await;
    let proxy = pg_proxy::PgProxy::start(pg_proxy::upstream(&database_url())).await;
    let ava = Deployment::start(false, &proxy.url(&database_url())).await;
    let webhook = ava.webhook();
    let load = load::send(
        &webhook,
        10,
        60,
        Duration::from_millis(500),
        Duration::from_secs(90),
    );
    let outage = async {
        tokio::time::sleep(Duration::from_secs(2)).await;
        proxy.cut();
        tokio::time::sleep(Duration::from_secs(30)).await;
        proxy.restore();
    };
    let (sent, ()) = tokio::join!(load, outage);
    let verdict = load::judge(&ava.telegram, &sent, Duration::from_secs(60)).await;
    // Every update's message_log row lands once, after Postgres is back.
    let pool = sqlx::PgPool::connect(&database_url())
        .await
        .expect("Postgres answers");
    let rows_query = format!(
        "SELECT count(*), count(DISTINCT update_id) FROM \"{}\".message_log",
        ava.schema
    );
    let mut rows = (0i64, 0i64);
    for _ in 0..120 {
        rows = sqlx::query_as(sqlx::AssertSqlSafe(rows_query.clone()))
            .fetch_one(&pool)
            .await
            .expect("count message_log");
        if rows.1 as usize >= verdict.acked {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    report(
        "6",
        &format!(
            "Postgres unreachable 30 s during load · message_log rows {} for {} updates",
            rows.0, rows.1
        ),
        &verdict,
    );
    assert_kept(&verdict, 0);
    assert_eq!(
        (rows.0, rows.1),
        (verdict.acked as i64, verdict.acked as i64),
        "each update logged once"
    );
    ava.drop_schema().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn case_7_telegram_answers_429_for_10s() {
    let _one = ONE_AT_A_TIME.lock().await;
    let ava = Deployment::start(false, &database_url()).await;
    let webhook = ava.webhook();
    let load = load::send(
        &webhook,
        10,
        30,
        Duration::from_millis(300),
        Duration::from_secs(60),
    );
    let throttle = async {
        tokio::time::sleep(Duration::from_secs(1)).await;
        ava.telegram.throttle(Duration::from_secs(10), 2);
    };
    let (sent, ()) = tokio::join!(load, throttle);
    let verdict = load::judge(&ava.telegram, &sent, Duration::from_secs(90)).await;
    let dead = ava.dead_letters().await;
    let early = ava.telegram.early_retries();
    report(
        "7",
        &format!(
            "Telegram answers 429 (retry_after 2 s) for 10 s · calls before retry_after {early} · dead letters {dead}"
        ),
        &verdict,
    );
    assert_kept(&verdict, 0);
    assert_eq!(early, 0, "no retry_after violated");
    assert_eq!(dead, 0, "nothing dead-lettered");
    ava.drop_schema().await;
}
