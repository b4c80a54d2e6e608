//! The conformance suite on a local 3-master Redis Cluster that the test starts and stops.

use std::{
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use workers::RedisTarget;

use crate::{suite, support::Redis};

/// Loopback ports of the cluster's masters (this engineer's range is 7100-7199).
const PORTS: [u16; 3] = [7101, 7102, 7103];

/// The cluster's server processes; stopped (by PID) when dropped, even if the test fails.
struct LocalCluster {
    servers: Vec<Child>,
    _dir: tempfile::TempDir,
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        for server in &mut self.servers {
            let _ = server.kill();
            let _ = server.wait();
        }
    }
}

fn start_cluster() -> LocalCluster {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut servers = Vec::new();
    for port in PORTS {
        let node_dir = dir.path().join(port.to_string());
        std::fs::create_dir_all(&node_dir).unwrap();
        let server = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"])
            .args(["--save", "", "--appendonly", "no", "--dir"])
            .arg(&node_dir)
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server must be installed (apt-get install redis-server)");
        servers.push(server);
    }
    let cluster = LocalCluster { servers, _dir: dir };
    for port in PORTS {
        wait_for(|| ping(port), "cluster node to answer PING");
    }
    let nodes: Vec<String> = PORTS.iter().map(|p| format!("127.0.0.1:{p}")).collect();
    let status = Command::new("redis-cli")
        .arg("--cluster")
        .arg("create")
        .args(&nodes)
        .args(["--cluster-replicas", "0", "--cluster-yes"])
        .stdout(Stdio::null())
        .status()
        .expect("redis-cli must be installed");
    assert!(
        status.success(),
        "redis-cli --cluster create failed (is something else on ports {PORTS:?}?)"
    );
    wait_for(|| cluster_ok(PORTS[0]), "cluster_state:ok");
    cluster
}

fn ping(port: u16) -> bool {
    cli(port, &["PING"]).is_some_and(|out| out.trim() == "PONG")
}

fn cluster_ok(port: u16) -> bool {
    PORTS
        .iter()
        .all(|p| cli(*p, &["CLUSTER", "INFO"]).is_some_and(|out| out.contains("cluster_state:ok")))
        && cli(port, &["CLUSTER", "INFO"]).is_some()
}

fn cli(port: u16, args: &[&str]) -> Option<String> {
    let out = Command::new("redis-cli")
        .args(["-p", &port.to_string()])
        .args(args)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn wait_for(mut ok: impl FnMut() -> bool, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test]
async fn the_conformance_suite_passes_on_a_three_master_cluster() {
    assert!(
        Path::new("/usr/bin/redis-server").exists() || which("redis-server"),
        "redis-server is not installed"
    );
    let _cluster = start_cluster();
    let nodes = PORTS.iter().map(|p| format!("redis://127.0.0.1:{p}")).collect();
    let factory = Redis::on(RedisTarget::Cluster(nodes));
    suite::all(&factory).await;
}

fn which(bin: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {bin}")])
        .output()
        .is_ok_and(|o| o.status.success())
}
