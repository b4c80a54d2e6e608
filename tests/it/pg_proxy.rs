//! A TCP proxy in front of the shared Postgres that a test can cut and restore, to stage an outage
//! without touching the server other tests use.

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};

use tokio::{net::TcpListener, sync::watch};

/// A running proxy on 127.0.0.1 (ephemeral port) to `upstream`.
pub(crate) struct PgProxy {
    addr: SocketAddr,
    cut: Arc<AtomicBool>,
    // Every live connection watches this; a bump ends them all.
    generation: watch::Sender<u64>,
    accept: tokio::task::JoinHandle<()>,
}

impl PgProxy {
    /// Starts forwarding to `upstream`.
    pub(crate) async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy addr");
        let cut = Arc::new(AtomicBool::new(false));
        let (generation, _) = watch::channel(0u64);
        let accept = tokio::spawn({
            let cut = cut.clone();
            let generation = generation.clone();
            async move {
                while let Ok((mut client, _)) = listener.accept().await {
                    if cut.load(Ordering::SeqCst) {
                        drop(client); // unreachable: the connection closes at once
                        continue;
                    }
                    let mut ended = generation.subscribe();
                    tokio::spawn(async move {
                        let Ok(mut server) = tokio::net::TcpStream::connect(upstream).await else {
                            return;
                        };
                        tokio::select! {
                            _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                            _ = ended.changed() => {}
                        }
                    });
                }
            }
        });
        Self {
            addr,
            cut,
            generation,
            accept,
        }
    }

    /// `database_url` with its host and port replaced by the proxy's.
    pub(crate) fn url(&self, database_url: &str) -> String {
        let (scheme, rest) = database_url.split_once("://").expect("URL with scheme");
        let (auth, after_host) = match rest.split_once('@') {
            Some((auth, host_and_path)) => (format!("{auth}@"), host_and_path),
            None => (String::new(), rest),
        };
        let path = after_host.find('/').map_or("", |i| &after_host[i..]);
        format!("{scheme}://{auth}{}{path}", self.addr)
    }

    /// Postgres becomes unreachable: open connections drop, new ones close at once.
    pub(crate) fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        self.generation.send_modify(|g| *g += 1);
    }

    /// Postgres is reachable again.
    pub(crate) fn restore(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}

impl Drop for PgProxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.generation.send_modify(|g| *g += 1);
    }
}

/// The shared Postgres' socket address, from the test database URL (an IP or `localhost`).
pub(crate) fn upstream(database_url: &str) -> SocketAddr {
    let rest = database_url.split_once("://").expect("scheme").1;
    let host_and_path = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    let host_port = host_and_path.split('/').next().expect("host");
    let host_port = host_port.replace("localhost", "127.0.0.1");
    let host_port = if host_port.contains(':') {
        host_port
    } else {
        format!("{host_port}:5432")
    };
    host_port.parse().unwrap_or_else(|e| {
        panic!("the outage test needs an IP:port in AVA_TEST_DATABASE_URL ({host_port}): {e}")
    })
}
