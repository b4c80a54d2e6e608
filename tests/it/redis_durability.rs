//! Redis durability told truthfully: a Redis that may evict is refused at start-up with the
//! setting named; AOF is reported; a Redis that hides CONFIG (managed services) is accepted.

use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use ava::{ops::redis_check, shutdown::Shutdown};

use crate::harness::TestApp;

/// A redis-server of this test's own on an ephemeral port, with `extra` arguments; killed on drop.
struct TestRedis {
    child: Child,
    port: u16,
}

impl TestRedis {
    async fn start(extra: &[&str]) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string(), "--save", ""])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start redis-server ({e}); install it: apt-get install redis-server")
            });
        let me = Self { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while redis::Client::open(me.url())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .is_err()
        {
            assert!(
                Instant::now() < deadline,
                "redis-server on port {port} did not come up"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        me
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn every_role_refuses_a_redis_that_may_evict_and_names_the_setting() {
    let lru = TestRedis::start(&["--maxmemory-policy", "allkeys-lru", "--appendonly", "no"]).await;
    let err = redis_check::check_url(&lru.url()).await.unwrap_err().to_string();
    assert!(
        err.contains("maxmemory-policy") && err.contains("noeviction"),
        "{err}"
    );

    let app = TestApp::spawn().await;
    let mut settings = app.settings.clone();
    settings.redis.url = ava::config::Secret::new(lru.url());
    let stop = Shutdown::new();
    let roles: [(&str, anyhow::Result<()>); 3] = [
        (
            "ingress",
            ava::ingress::run(settings.clone(), None, stop.clone()).await,
        ),
        (
            "worker",
            ava::worker::run(settings.clone(), None, stop.clone()).await,
        ),
        (
            "scheduler",
            ava::scheduler::run(settings.clone(), stop.clone()).await,
        ),
    ];
    for (role, result) in roles {
        let err = format!("{:#}", result.expect_err("refused to start"));
        assert!(err.contains("maxmemory-policy"), "{role}: {err}");
    }
    app.cleanup().await;
}

#[tokio::test]
async fn aof_is_reported_and_a_hidden_config_is_accepted_with_a_warning() {
    let dir = std::env::temp_dir().join(format!("ava-redis-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let aof = TestRedis::start(&[
        "--maxmemory-policy",
        "noeviction",
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
        "--dir",
        &dir.to_string_lossy(),
    ])
    .await;
    let report = redis_check::check_url(&aof.url()).await.unwrap();
    assert_eq!(
        (
            report.maxmemory_policy.as_deref(),
            report.aof,
            report.appendfsync.as_deref()
        ),
        (Some("noeviction"), Some(true), Some("always"))
    );

    let managed = TestRedis::start(&[
        "--maxmemory-policy",
        "allkeys-lru",
        "--rename-command",
        "CONFIG",
        "",
    ])
    .await;
    let report = redis_check::check_url(&managed.url())
        .await
        .expect("accepted with a warning");
    assert_eq!((report.maxmemory_policy, report.aof), (None, None));
    drop(aof);
    let _ = std::fs::remove_dir_all(&dir);
}
