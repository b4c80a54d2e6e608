//! Spawns AVA in-process against real servers, with Telegram faked by wiremock.

use std::{net::SocketAddr, path::PathBuf};

use ava::{
    app::Backends,
    config::Settings,
    ingress::{Acceptor, Ingress},
    scheduler::Scheduler,
    shutdown::Shutdown,
    worker::Worker,
};
use figment::{Figment, providers::Serialized};
use serde_json::json;
use sqlx::PgPool;
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{method, path_regex},
};

/// Bot token the tests use; the fake Bot API expects it in the path.
pub(crate) const TOKEN: &str = "123456:TEST-TOKEN";
/// Webhook secret the tests use.
pub(crate) const SECRET: &str = "test-secret_1";

/// Redis the tests use (override with AVA_TEST_REDIS_URL).
pub(crate) fn redis_url() -> String {
    std::env::var("AVA_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// Postgres the tests use (override with AVA_TEST_DATABASE_URL).
pub(crate) fn database_url() -> String {
    std::env::var("AVA_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A fixture from `../shared/fixtures/updates/`.
pub(crate) fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/fixtures/updates")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read fixture {}: {e}", path.display()))
}

/// The backends of one more AVA process on `settings` (a second worker, a replica…).
pub(crate) async fn backends(settings: &Settings) -> Backends {
    Backends::connect(settings)
        .await
        .unwrap_or_else(|e| panic!("backends connect ({e:#}); is Redis up at {}?", redis_url()))
}

/// A worker process of its own on `settings`.
pub(crate) async fn worker(settings: &Settings) -> anyhow::Result<Worker> {
    Worker::new(&Backends::connect(settings).await?, settings)
}

/// An acceptor of its own (as a separate ingress process has) on `settings`.
pub(crate) async fn acceptor(settings: &Settings) -> anyhow::Result<Acceptor> {
    Ok(Acceptor::new(
        &Backends::connect(settings).await?,
        &settings.ingress,
        &settings.lanes,
        &settings.inbound_limit,
    ))
}

/// A scheduler instance of its own on `settings`.
pub(crate) async fn scheduler(settings: &Settings, instance: &str) -> anyhow::Result<Scheduler> {
    Ok(Scheduler::new(
        &Backends::connect(settings).await?,
        settings,
        instance.to_owned(),
    ))
}

/// Runs the real `ava ingress` role on `settings` on an ephemeral port, as its own process
/// would; stop it with the returned [`Shutdown`].
pub(crate) async fn spawn_ingress(
    settings: &Settings,
) -> (SocketAddr, Shutdown, tokio::task::JoinHandle<anyhow::Result<()>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let stop = Shutdown::new();
    let role = tokio::spawn(ava::ingress::run(settings.clone(), Some(listener), stop.clone()));
    (addr, stop, role)
}

/// One running AVA: the real ingress role on an ephemeral port, a worker to step on the same
/// process' backends, a fake Bot API.
pub(crate) struct TestApp {
    pub(crate) addr: SocketAddr,
    pub(crate) settings: Settings,
    pub(crate) backends: Backends,
    pub(crate) worker: Worker,
    pub(crate) telegram: MockServer,
    pub(crate) db: PgPool,
    pub(crate) redis: redis::aio::MultiplexedConnection,
    pub(crate) http: reqwest::Client,
    shutdown: Shutdown,
}

impl TestApp {
    /// Starts ingress and prepares a worker, isolated under a fresh prefix and schema.
    pub(crate) async fn spawn() -> Self {
        Self::spawn_with(|fig| fig).await
    }

    /// Like [`TestApp::spawn`], with settings overridden last (e.g. `database.url` through a proxy).
    pub(crate) async fn spawn_with(overrides: impl FnOnce(Figment) -> Figment) -> Self {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
        let id = format!("{:016x}", rand::random::<u64>());
        let telegram = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path_regex(r"^/bot[^/]+/sendMessage$"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "ok": true,
                "result": { "message_id": 77, "date": 1763856001, "chat": { "id": 424242001, "type": "private" }, "text": "hi" }
            })))
            .mount(&telegram)
            .await;

        let redis = redis::Client::open(redis_url())
            .expect("redis url")
            .get_multiplexed_async_connection()
            .await
            .unwrap_or_else(|e| panic!("Redis at {} is unreachable ({e}). Start it: redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save \"\" --appendonly no", redis_url()));
        let probe = PgPool::connect(&database_url()).await.unwrap_or_else(|e| {
            panic!(
                "Postgres at {} is unreachable ({e}). Start it: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
                database_url()
            )
        });

        probe.close().await;
        let schema = format!("t_{id}");
        let fig = Settings::figment(None)
            .merge(Serialized::default("telegram.api_url", telegram.uri()))
            .merge(Serialized::default("telegram.token", TOKEN))
            .merge(Serialized::default("webhook.secret", SECRET))
            .merge(Serialized::default("http.addr", "127.0.0.1:0"))
            .merge(Serialized::default("redis.url", redis_url()))
            .merge(Serialized::default("redis.prefix", format!("avatest:{id}")))
            .merge(Serialized::default("database.url", database_url()))
            .merge(Serialized::default("database.schema", schema.clone()))
            .merge(Serialized::default("database.max_connections", 4));
        let settings = Settings::from_figment(overrides(fig)).expect("test settings are valid");
        ava::roles::migrate(&settings).await.expect("migrations apply");

        let shutdown = Shutdown::new();
        let backends = backends(&settings).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let ingress = Ingress::build(&backends, &settings);
        tokio::spawn(ingress.run(listener, axum::Router::new(), shutdown.clone()));
        let worker = Worker::new(&backends, &settings).expect("worker builds");

        let db = sqlx::postgres::PgPoolOptions::new()
            .max_connections(2)
            .after_connect(move |conn, _| {
                let schema = schema.clone();
                Box::pin(async move {
                    sqlx::query(sqlx::AssertSqlSafe(format!("SET search_path TO \"{schema}\"")))
                        .execute(conn)
                        .await?;
                    Ok(())
                })
            })
            .connect(&database_url())
            .await
            .expect("test pool");

        Self {
            addr,
            settings,
            backends,
            worker,
            telegram,
            db,
            redis,
            http: reqwest::Client::new(),
            shutdown,
        }
    }

    /// POSTs `body` to the webhook with `secret` (None: no header).
    pub(crate) async fn post_update(&self, body: Vec<u8>, secret: Option<&str>) -> reqwest::StatusCode {
        let mut req = self
            .http
            .post(format!("http://{}{}", self.addr, self.settings.webhook.path))
            .header("content-type", "application/json")
            .body(body);
        if let Some(secret) = secret {
            req = req.header("X-Telegram-Bot-Api-Secret-Token", secret);
        }
        req.send().await.expect("webhook reachable").status()
    }

    /// The queue's broker, on this app's backends.
    pub(crate) fn broker(&self) -> workers::RedisBroker {
        self.backends.queue.clone()
    }

    /// Every Redis key under this test's prefix.
    pub(crate) async fn redis_keys(&self) -> Vec<String> {
        let mut conn = self.redis.clone();
        redis::cmd("KEYS")
            .arg(format!("{}*", self.settings.redis.prefix))
            .query_async(&mut conn)
            .await
            .expect("KEYS")
    }

    /// Stops the ingress and removes this test's keys and schema.
    pub(crate) async fn cleanup(self) {
        self.shutdown.cancel();
        let keys = self.redis_keys().await;
        let mut conn = self.redis.clone();
        if !keys.is_empty() {
            let _: () = redis::cmd("DEL")
                .arg(keys)
                .query_async(&mut conn)
                .await
                .expect("DEL");
        }
        // The app's log writer may still be finishing a batch into this schema: a deadlock with
        // it is retried, not a failure of the test.
        let drop = format!(
            "DROP SCHEMA IF EXISTS \"{}\" CASCADE",
            self.settings.database.schema
        );
        for attempt in 1.. {
            match sqlx::query(sqlx::AssertSqlSafe(drop.clone()))
                .execute(&self.db)
                .await
            {
                Ok(_) => break,
                Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("40P01") && attempt < 5 => {
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                }
                Err(e) => panic!("drop schema: {e}"),
            }
        }
    }
}
