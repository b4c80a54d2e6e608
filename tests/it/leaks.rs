//! Nothing leaks: a full session with every secret set to a unique value — trades, refusals,
//! bad requests and a Bot API transport error whose URL carries the token — then the captured
//! logs, `/metrics`, every table and every Redis value are searched for each secret.

use std::{
    io::Write,
    sync::{Arc, Mutex},
    time::Duration,
};

use ava::config::Secret;
use figment::providers::Serialized;
use tracing_subscriber::{EnvFilter, fmt::MakeWriter};

use crate::{
    access::{ALICE, BOB, said, tapped},
    chat::{button, drain, mount_bot_methods},
    harness::{TestApp, database_url, redis_url},
};

const GROUP: i64 = -100_888;

/// Everything the tracing subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// `url` with `user:password@` put in front of its host.
fn with_password(url: &str, user: &str, password: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("a URL");
    let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    format!("{scheme}://{user}:{password}@{rest}")
}

/// Every row of every table in the test's schema, as text.
async fn all_rows(app: &TestApp) -> String {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE'",
    )
    .bind(&app.settings.database.schema)
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert!(tables.iter().any(|t| t == "access_denied"), "{tables:?}");
    let mut all = String::new();
    for table in tables {
        let rows: Option<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT string_agg(t::text, E'\\n') FROM \"{table}\" t"
        )))
        .fetch_one(&app.db)
        .await
        .unwrap();
        all.push_str(&rows.unwrap_or_default());
        all.push('\n');
    }
    all
}

/// Every value under the test's Redis prefix, as text (strings, hashes, lists, sets, zsets).
async fn all_redis(app: &TestApp) -> String {
    let mut conn = app.redis.clone();
    let mut all = String::new();
    for key in app.redis_keys().await {
        let kind: String = redis::cmd("TYPE").arg(&key).query_async(&mut conn).await.unwrap();
        let values: Vec<Vec<u8>> = match kind.as_str() {
            "string" => vec![redis::cmd("GET").arg(&key).query_async(&mut conn).await.unwrap()],
            "hash" => redis::cmd("HGETALL")
                .arg(&key)
                .query_async(&mut conn)
                .await
                .unwrap(),
            "list" => redis::cmd("LRANGE")
                .arg(&key)
                .arg(0)
                .arg(-1)
                .query_async(&mut conn)
                .await
                .unwrap(),
            "set" => redis::cmd("SMEMBERS")
                .arg(&key)
                .query_async(&mut conn)
                .await
                .unwrap(),
            "zset" => redis::cmd("ZRANGE")
                .arg(&key)
                .arg(0)
                .arg(-1)
                .query_async(&mut conn)
                .await
                .unwrap(),
            _ => vec![],
        };
        all.push_str(&key);
        for v in values {
            all.push_str(&String::from_utf8_lossy(&v));
            all.push('\n');
        }
    }
    all
}

#[tokio::test]
async fn no_secret_reaches_logs_metrics_tables_or_redis_over_a_full_session() {
    // Current-thread runtime: every task of this test logs through this subscriber.
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new("trace"))
        .with_ansi(false)
        .with_writer(captured.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let n = rand::random::<u32>();
    let token = format!("990{n}:LEAKTOKEN{n}x");
    let webhook_secret = format!("LEAKHOOK{n}");
    let pg_password = format!("LEAKPG{n}");
    let redis_password = format!("LEAKREDIS{n}");
    let admin_token = format!("LEAKADMIN{n}");
    let dsn_key = format!("LEAKDSN{n}");
    let api_key = format!("LEAKAPI{n}");
    let (t, s, a, d, k) = (
        token.clone(),
        webhook_secret.clone(),
        admin_token.clone(),
        format!("https://{dsn_key}@o1.ingest.sentry.io/7"),
        api_key.clone(),
    );
    // Postgres trusts local connections and Redis' default user has no password, so both
    // accept the passwords given and the session runs for real.
    let (db_url, r_url) = (
        with_password(&database_url(), "postgres", &pg_password),
        with_password(&redis_url(), "default", &redis_password),
    );
    let app = TestApp::spawn_with(move |fig| {
        fig.merge(Serialized::default("telegram.token", t))
            .merge(Serialized::default("webhook.secret", s))
            .merge(Serialized::default("admin.token", a))
            .merge(Serialized::default("sentry.dsn", d))
            .merge(Serialized::default("market_data.api_key", k))
            .merge(Serialized::default("database.url", db_url))
            .merge(Serialized::default("redis.url", r_url))
            .merge(Serialized::default("access.admins", vec![ALICE]))
            .merge(Serialized::default("conversation.bot_username", "ava_bot"))
    })
    .await;
    mount_bot_methods(&app).await;
    let w = &app.worker;
    let post = |body: Vec<u8>| app.post_update(body, Some(&webhook_secret));

    // A session: reads, a trade confirmed, refusals of every kind, a stats call.
    for (i, body) in [
        said(1, ALICE, ALICE, "/start"),
        said(2, ALICE, ALICE, "/price AAPL"),
        said(3, ALICE, ALICE, "/stats"),
        said(4, BOB, BOB, "/stats"),
        said(5, GROUP, ALICE, "/buy AAPL 1"),
        said(6, ALICE, ALICE, "/buy AAPL 1"),
    ]
    .into_iter()
    .enumerate()
    {
        assert_eq!(post(body).await, 200, "update {i}");
        drain(w).await;
    }
    let yes = button(&app, "✅ Yes").await;
    assert_eq!(post(tapped(7, ALICE, BOB, &yes)).await, 200);
    drain(w).await;
    assert_eq!(post(tapped(8, ALICE, ALICE, &yes)).await, 200);
    drain(w).await;

    // Failures: a wrong secret, malformed JSON, and a Bot API that cannot be reached (its
    // transport error names the request URL, token included, before AVA strips it).
    assert_eq!(
        app.post_update(said(9, ALICE, ALICE, "/help"), Some("wrong"))
            .await,
        401
    );
    assert_eq!(post(b"{not json".to_vec()).await, 400);
    let mut unreachable = app.settings.clone();
    unreachable.telegram.api_url = "http://127.0.0.1:9".into();
    unreachable.telegram.token = Secret::new(token.clone());
    let offline = crate::harness::worker(&unreachable).await.expect("worker builds");
    assert_eq!(post(said(10, ALICE, ALICE, "/help")).await, 200);
    let step = offline
        .try_execute_one(Duration::from_secs(2))
        .await
        .expect("step");
    assert!(
        matches!(step, ava::worker::Step::Ran(workers::Outcome::Retry(_))),
        "the unreachable Bot API makes the job retry: {step:?}"
    );
    offline.log().flush().await;
    app.worker.log().flush().await;

    let logs = captured.text();
    let metrics = app
        .http
        .get(format!("http://{}/metrics", app.addr))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let rows = all_rows(&app).await;
    let redis = all_redis(&app).await;
    // The haystacks hold the session, so an empty capture cannot pass for "no leak".
    assert!(
        logs.contains("access denied") && logs.contains("paper order filled"),
        "logs were not captured"
    );
    assert!(
        logs.contains("127.0.0.1:9") || rows.contains("error sending request"),
        "the Bot API error happened"
    );
    assert!(rows.contains("Sorry, /stats is for operators only.") && rows.contains("group_trade"));
    assert!(rows.contains(",confirm,"), "Bob's tap was refused and recorded");
    assert!(metrics.contains("ava_access_denied_total"));

    let token_secret = token.split_once(':').unwrap().1.to_owned();
    for secret in [
        &token,
        &token_secret,
        &webhook_secret,
        &pg_password,
        &redis_password,
        &admin_token,
        &dsn_key,
        &api_key,
    ] {
        for (place, haystack) in [
            ("logs", &logs),
            ("/metrics", &metrics),
            ("Postgres", &rows),
            ("Redis", &redis),
        ] {
            if let Some(at) = haystack.find(secret.as_str()) {
                let start = haystack[..at].char_indices().rev().nth(200).map_or(0, |(i, _)| i);
                let end = (at + 200).min(haystack.len());
                panic!(
                    "{secret} leaked into {place}: …{}…",
                    haystack.get(start..end).unwrap_or("")
                );
            }
        }
    }
    app.cleanup().await;
}
