//! `ava dev` spawned in-process against the test Redis and Postgres (own prefix and schema),
//! with its built-in emulator as Telegram: what the chat page and its browser tests run on.

use std::net::SocketAddr;

use ava::{config::Settings, shutdown::Shutdown};
use figment::providers::Serialized;
use serde_json::{Value, json};

use crate::harness::{SECRET, database_url, redis_url};

/// A running `ava dev`.
pub(crate) struct DevApp {
    pub(crate) addr: SocketAddr,
    pub(crate) settings: Settings,
    pub(crate) http: reqwest::Client,
    shutdown: Shutdown,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl DevApp {
    pub(crate) async fn spawn() -> Self {
        Self::spawn_with(|fig| fig).await
    }

    /// Like [`DevApp::spawn`], with settings overridden last.
    pub(crate) async fn spawn_with(overrides: impl FnOnce(figment::Figment) -> figment::Figment) -> Self {
        let id = format!("{:016x}", rand::random::<u64>());
        let probe = sqlx::PgPool::connect(&database_url()).await.unwrap_or_else(|e| {
            panic!(
                "Postgres at {} is unreachable ({e}). Start it: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
                database_url()
            )
        });
        probe.close().await;
        let fig = Settings::figment(None)
            // No token: dev's own emulator is Telegram.
            .merge(Serialized::default("telegram.token", ""))
            .merge(Serialized::default("webhook.secret", SECRET))
            .merge(Serialized::default("http.addr", "127.0.0.1:0"))
            .merge(Serialized::default("redis.url", redis_url()))
            .merge(Serialized::default("redis.prefix", format!("avatest:{id}")))
            .merge(Serialized::default("database.url", database_url()))
            .merge(Serialized::default("database.schema", format!("t_{id}")))
            .merge(Serialized::default("database.max_connections", 4));
        let settings = Settings::from_figment(overrides(fig)).expect("dev test settings are valid");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let shutdown = Shutdown::new();
        let task = tokio::spawn(ava::roles::dev(
            settings.clone(),
            Some(listener),
            shutdown.clone(),
        ));
        let app = Self {
            addr,
            settings,
            http: reqwest::Client::new(),
            shutdown,
            task,
        };
        // Ready when /ready says so (migrations done, Redis and Postgres reachable).
        for _ in 0..200 {
            if let Ok(r) = app.http.get(app.url("/ready")).send().await
                && r.status() == 200
            {
                return app;
            }
            assert!(!app.task.is_finished(), "ava dev stopped during start-up");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("ava dev did not become ready within 10 s");
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub(crate) async fn get(&self, path: &str) -> Value {
        let r = self.http.get(self.url(path)).send().await.expect("dev reachable");
        assert_eq!(r.status(), 200, "GET {path}");
        r.json().await.expect("JSON")
    }

    pub(crate) async fn post(&self, path: &str, body: Value) -> Value {
        let r = self
            .http
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .expect("dev reachable");
        let status = r.status();
        let body: Value = r.json().await.unwrap_or(json!(null));
        assert_eq!(status, 200, "POST {path}: {body}");
        body
    }

    /// Stops dev (gracefully) and removes this test's keys and schema.
    pub(crate) async fn cleanup(self) {
        self.shutdown.cancel();
        let stopped = tokio::time::timeout(std::time::Duration::from_secs(30), self.task).await;
        assert!(
            matches!(stopped, Ok(Ok(Ok(())))),
            "dev did not stop cleanly: {stopped:?}"
        );
        let mut redis = redis::Client::open(redis_url())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap();
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{}*", self.settings.redis.prefix))
            .query_async(&mut redis)
            .await
            .unwrap();
        if !keys.is_empty() {
            let _: () = redis::cmd("DEL").arg(keys).query_async(&mut redis).await.unwrap();
        }
        let db = sqlx::PgPool::connect(&database_url()).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA IF EXISTS \"{}\" CASCADE",
            self.settings.database.schema
        )))
        .execute(&db)
        .await
        .unwrap();
    }
}
