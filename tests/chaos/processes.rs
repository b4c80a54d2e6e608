//! The processes a case runs: a redis-server of its own, and AVA's roles as real processes.

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// A free loopback port (bound and released; good enough for one machine's tests).
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

fn signal(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill {signal} {pid} failed");
}

/// A redis-server on a free port, with AOF (`appendfsync always`) in a directory of its own when
/// asked, so a restart keeps what it acknowledged.
pub(crate) struct OwnRedis {
    child: Option<Child>,
    pub(crate) port: u16,
    dir: tempdir::Dir,
    aof: bool,
}

impl OwnRedis {
    pub(crate) async fn start(aof: bool) -> Self {
        let mut me = Self {
            child: None,
            port: free_port(),
            dir: tempdir::Dir::new(),
            aof,
        };
        me.launch().await;
        me
    }

    async fn launch(&mut self) {
        let mut args = vec![
            "--bind".to_owned(),
            "127.0.0.1".into(),
            "--port".into(),
            self.port.to_string(),
            "--save".into(),
            String::new(),
            "--dir".into(),
            self.dir.path().display().to_string(),
        ];
        if self.aof {
            args.extend(["--appendonly", "yes", "--appendfsync", "always"].map(String::from));
        } else {
            args.extend(["--appendonly", "no"].map(String::from));
        }
        let child = Command::new("redis-server")
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start redis-server ({e}); install it: apt-get install redis-server")
            });
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.ping().await.is_err() {
            assert!(
                Instant::now() < deadline,
                "redis-server on {} did not come up",
                self.port
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub(crate) async fn conn(&self) -> redis::RedisResult<redis::aio::MultiplexedConnection> {
        redis::Client::open(self.url())?
            .get_multiplexed_async_connection()
            .await
    }

    async fn ping(&self) -> redis::RedisResult<String> {
        redis::cmd("PING").query_async(&mut self.conn().await?).await
    }

    /// Kills every client connection, as a proxy's idle timeout or a failover does.
    pub(crate) async fn kill_clients(&self) -> i64 {
        let mut conn = self.conn().await.expect("redis answers");
        redis::cmd("CLIENT")
            .arg("KILL")
            .arg("TYPE")
            .arg("normal")
            .arg("SKIPME")
            .arg("yes")
            .query_async(&mut conn)
            .await
            .expect("CLIENT KILL")
    }

    /// SIGKILLs the server (a crash: only what AOF synced survives).
    pub(crate) fn crash(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port and directory.
    pub(crate) async fn restart(&mut self) {
        self.crash();
        self.launch().await;
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.crash();
    }
}

/// One AVA role as its own process.
pub(crate) struct Role {
    name: String,
    args: Vec<String>,
    env: Vec<(String, String)>,
    child: Option<Child>,
}

impl Role {
    pub(crate) fn start(name: &str, args: &[&str], env: &[(String, String)]) -> Self {
        let mut role = Self {
            name: name.to_owned(),
            args: args.iter().map(|a| a.to_string()).collect(),
            env: env.to_vec(),
            child: None,
        };
        role.spawn();
        role
    }

    fn spawn(&mut self) {
        let log = std::env::var("CHAOS_LOGS").is_ok();
        let child = Command::new(env!("CARGO_BIN_EXE_ava"))
            .args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(Stdio::null())
            .stderr(if log { Stdio::inherit() } else { Stdio::null() })
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start ava {} ({e})", self.name));
        self.child = Some(child);
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// SIGKILL, then start again.
    pub(crate) fn kill_and_restart(&mut self) {
        self.kill();
        self.spawn();
    }

    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub(crate) fn stop(&self) {
        signal(self.pid(), "-STOP");
    }

    pub(crate) fn resume(&self) {
        signal(self.pid(), "-CONT");
    }

    /// Runs a one-shot command (e.g. `migrate`) to completion.
    pub(crate) fn run_once(args: &[&str], env: &[(String, String)]) {
        let status = Command::new(env!("CARGO_BIN_EXE_ava"))
            .args(args)
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(Stdio::null())
            .status()
            .expect("ava runs");
        assert!(status.success(), "ava {args:?} failed: {status}");
    }
}

impl Drop for Role {
    fn drop(&mut self) {
        if let Some(child) = &self.child {
            // A stopped process must be continued before it can die cleanly.
            let _ = Command::new("kill")
                .args(["-CONT", &child.id().to_string()])
                .status();
        }
        self.kill();
    }
}

/// A temporary directory, removed on drop.
mod tempdir {
    use super::PathBuf;

    pub(crate) struct Dir(PathBuf);

    impl Dir {
        pub(crate) fn new() -> Self {
            let path = std::env::temp_dir().join(format!("ava-chaos-{:016x}", rand::random::<u64>()));
            std::fs::create_dir_all(&path).expect("temp dir");
            Self(path)
        }

        pub(crate) fn path(&self) -> &PathBuf {
            &self.0
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}
