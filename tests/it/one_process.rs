//! The composition root as an operator sees it: `ava dev`, the real binary, holds one Redis handle
//! and one Postgres pool, and every role in it recovers by itself when Redis drops its
//! connections or restarts.

use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::{Value, json};

use crate::{
    edge_support::OwnRedis,
    harness::{TestApp, database_url},
};

const DEV_SECRET: &str = "dev-secret";

/// `ava dev` on `redis` and the test's schema, with its HTTP on a free port; killed on drop.
struct DevProcess {
    child: Child,
    addr: String,
    http: reqwest::Client,
}

impl DevProcess {
    async fn start(app: &TestApp, redis: &OwnRedis) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr = format!("127.0.0.1:{port}");
        let child = Command::new(env!("CARGO_BIN_EXE_ava"))
            .arg("dev")
            .env("AVA_HTTP__ADDR", &addr)
            .env("AVA_REDIS__URL", redis.url())
            .env("AVA_REDIS__PREFIX", &app.settings.redis.prefix)
            .env("AVA_DATABASE__URL", database_url())
            .env("AVA_DATABASE__SCHEMA", &app.settings.database.schema)
            .env("AVA_DATABASE__MAX_CONNECTIONS", "2")
            .env("AVA_STORE__WRITE_CONCURRENCY", "1")
            .env("AVA_WORKER__CONCURRENCY", "4")
            .env("AVA_SCHEDULER__TICK_MS", "200")
            .env("AVA_LOG__FILTER", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the ava binary starts");
        let me = Self {
            child,
            addr,
            http: reqwest::Client::new(),
        };
        me.wait_for("/ready to answer 200", || async {
            me.get("/ready").await.map(|(status, _)| status) == Some(200)
        })
        .await;
        me
    }

    async fn get(&self, path: &str) -> Option<(u16, Value)> {
        let response = self
            .http
            .get(format!("http://{}{path}", self.addr))
            .send()
            .await
            .ok()?;
        let status = response.status().as_u16();
        Some((status, response.json().await.unwrap_or(Value::Null)))
    }

    /// POSTs `/start` from chat `chat` as update `update_id`; the webhook's status.
    async fn post_start(&self, update_id: i64, chat: i64) -> Option<u16> {
        let update = json!({"update_id": update_id, "message": {"message_id": update_id, "date": 0,
            "chat": {"id": chat, "type": "private"}, "from": {"id": chat, "is_bot": false, "first_name": "T"},
            "text": "/start"}});
        let response = self
            .http
            .post(format!("http://{}/webhook", self.addr))
            .header("X-Telegram-Bot-Api-Secret-Token", DEV_SECRET)
            .json(&update)
            .timeout(Duration::from_secs(3))
            .send()
            .await
            .ok()?;
        Some(response.status().as_u16())
    }

    /// Messages the built-in emulator received so far.
    async fn replies(&self) -> usize {
        match self.get("/emulator/messages").await {
            Some((200, Value::Array(messages))) => messages.len(),
            _ => 0,
        }
    }

    /// Polls `check` until it holds, failing the test after a generous deadline.
    async fn wait_for<F, Fut>(&self, what: &str, check: F)
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !check().await {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for DevProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A connection of the test's own to `redis`, named so it can be told apart in CLIENT LIST.
async fn probe(redis: &OwnRedis) -> redis::aio::MultiplexedConnection {
    let mut conn = redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .expect("the test's redis-server answers");
    let _: () = redis::cmd("CLIENT")
        .arg("SETNAME")
        .arg("test-probe")
        .query_async(&mut conn)
        .await
        .unwrap();
    conn
}

#[tokio::test]
async fn ava_dev_holds_one_redis_handle_and_one_postgres_pool() {
    let app = TestApp::spawn().await;
    let redis = OwnRedis::start(7230).await;
    let dev = DevProcess::start(&app, &redis).await;
    for n in 1..=6 {
        assert_eq!(dev.post_start(n, 9000 + n).await, Some(200));
    }
    dev.wait_for("six replies", || async { dev.replies().await >= 6 })
        .await;

    let mut conn = probe(&redis).await;
    let clients: String = redis::cmd("CLIENT")
        .arg("LIST")
        .query_async(&mut conn)
        .await
        .unwrap();
    let theirs: Vec<&str> = clients
        .lines()
        .filter(|l| !l.contains("name=test-probe"))
        .collect();
    // Ingress, worker, scheduler, log spool, limits, cache and chat state share one handle; the
    // worker's idle wait (BLPOP) needs a connection of its own with no response timeout.
    assert_eq!(theirs.len(), 2, "connections of ava dev:\n{}", theirs.join("\n"));
    assert_eq!(
        theirs.iter().filter(|l| l.contains("cmd=blpop")).count(),
        1,
        "one of them is the idle worker's wait:\n{}",
        theirs.join("\n")
    );

    // One pool: never more connections than that pool may open (database.max_connections 2,
    // plus one per log batch in flight and one for the spool drain).
    let pid = dev.child.id();
    let (connections,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1")
            .bind(format!("ava-{pid}"))
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert!(
        (1..=4).contains(&connections),
        "ava dev holds {connections} Postgres connections"
    );
    drop(dev);
    app.cleanup().await;
}

#[tokio::test]
async fn every_role_recovers_by_itself_when_redis_drops_connections_or_restarts() {
    let app = TestApp::spawn().await;
    let mut redis = OwnRedis::start(7231).await;
    let dev = DevProcess::start(&app, &redis).await;
    let leader_key = format!("{}:scheduler:leader", app.settings.redis.prefix);
    assert_eq!(dev.post_start(1, 7001).await, Some(200));
    dev.wait_for("the first reply", || async { dev.replies().await >= 1 })
        .await;

    // 1. Every client connection killed, as a proxy's idle timeout or a failover does.
    let mut conn = probe(&redis).await;
    let killed: i64 = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("TYPE")
        .arg("normal")
        .arg("SKIPME")
        .arg("yes")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(killed >= 2, "killed {killed} connections");
    // The ingress takes updates again, and the worker answers them, without a restart.
    dev.wait_for("the webhook to queue updates again", || async {
        dev.post_start(2, 7002).await == Some(200)
    })
    .await;
    dev.wait_for("the reply after the kill", || async { dev.replies().await >= 2 })
        .await;

    // 2. Redis restarted (no persistence: its data is gone).
    redis.kill();
    assert_eq!(
        dev.post_start(3, 7003).await,
        Some(503),
        "while Redis is down an update is not acknowledged, so Telegram delivers it again"
    );
    let (status, body) = dev.get("/ready").await.expect("/ready answers");
    assert_eq!((status, &body["down"]), (503, &json!(["redis"])), "{body}");

    let redis = OwnRedis::start(7231).await;
    dev.wait_for("/ready to see Redis again", || async {
        dev.get("/ready").await.map(|(s, _)| s) == Some(200)
    })
    .await;
    // Telegram delivers the refused update again; now it is queued and answered.
    dev.wait_for("the webhook to queue updates after the restart", || async {
        dev.post_start(3, 7003).await == Some(200)
    })
    .await;
    dev.wait_for("the reply after the restart", || async {
        dev.replies().await >= 3
    })
    .await;
    // The scheduler took its lock again in the new, empty Redis.
    let mut conn = probe(&redis).await;
    dev.wait_for("the scheduler to lead again", || {
        let mut conn = conn.clone();
        let key = leader_key.clone();
        async move {
            redis::cmd("EXISTS")
                .arg(&key)
                .query_async::<i64>(&mut conn)
                .await
                .unwrap_or(0)
                == 1
        }
    })
    .await;
    let _: () = redis::cmd("PING").query_async(&mut conn).await.unwrap();
    drop(dev);
    app.cleanup().await;
}
