//! [`RedisConn`]: one reconnecting connection over a single Redis server or a Redis Cluster.
//!
//! A plain multiplexed connection never reconnects: after one dropped socket (a proxy's idle
//! timeout, a failover, a Redis restart) every command fails until the process restarts. The
//! single-server variant is redis' `ConnectionManager`, which reconnects in the background with
//! exponential backoff; the cluster client re-resolves nodes and reconnects by itself. Commands
//! sent while the link is down fail fast, so callers see an error and retry on their own terms.

use std::time::Duration;

use redis::{
    Cmd, Pipeline, RedisFuture, Value,
    aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig, MultiplexedConnection},
    cluster::ClusterClient,
    cluster_async::ClusterConnection,
};

/// Where the queue lives.
#[derive(Debug, Clone)]
pub enum RedisTarget {
    /// One server (or a proxy in front of several).
    Single(String),
    /// A Redis Cluster, given by any of its nodes.
    Cluster(Vec<String>),
}

impl RedisTarget {
    /// Parses `redis.url`: one URL, or several separated by commas for a Redis Cluster
    /// (`redis://10.0.0.1:7000,redis://10.0.0.2:7000`).
    pub fn parse(url: &str) -> Self {
        let nodes: Vec<String> = url
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        if nodes.len() > 1 {
            RedisTarget::Cluster(nodes)
        } else {
            RedisTarget::Single(url.trim().to_owned())
        }
    }
}

/// How long a command may wait for its answer on the shared connection.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long opening a connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Longest pause between reconnection attempts.
const MAX_RECONNECT_DELAY: Duration = Duration::from_secs(2);

/// A process' handle on Redis: cheap to clone (clones share one connection), reconnects by
/// itself after the connection drops. Every role builds one and hands clones to its components.
#[derive(Clone)]
pub struct RedisConn {
    inner: Conn,
}

#[derive(Clone)]
enum Conn {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
    /// A dedicated connection for blocking reads; reopened by its owner after an error.
    Blocking(MultiplexedConnection),
}

impl RedisConn {
    /// Connects to `target`. Fails when Redis cannot be reached now; after that it reconnects.
    pub async fn connect(target: &RedisTarget) -> redis::RedisResult<Self> {
        let inner = match target {
            RedisTarget::Single(url) => {
                let client = redis::Client::open(url.as_str())?;
                let config = ConnectionManagerConfig::new()
                    .set_response_timeout(Some(RESPONSE_TIMEOUT))
                    .set_connection_timeout(Some(CONNECT_TIMEOUT))
                    .set_max_delay(MAX_RECONNECT_DELAY)
                    .set_number_of_retries(3);
                Conn::Single(ConnectionManager::new_with_config(client, config).await?)
            }
            RedisTarget::Cluster(_) => Self::cluster(target, RESPONSE_TIMEOUT).await?,
        };
        Ok(Self { inner })
    }

    /// Connects to the single server at `url`.
    pub async fn connect_url(url: &str) -> redis::RedisResult<Self> {
        Self::connect(&RedisTarget::parse(url)).await
    }

    /// A separate connection for blocking commands (BLPOP…), with no response timeout: redis
    /// 1.x would otherwise cut every wait at its default 500 ms. Reopen it after an error.
    pub(crate) async fn blocking(target: &RedisTarget) -> redis::RedisResult<Self> {
        let inner = match target {
            RedisTarget::Single(url) => {
                let client = redis::Client::open(url.as_str())?;
                let config = redis::AsyncConnectionConfig::new()
                    .set_response_timeout(None)
                    .set_connection_timeout(Some(CONNECT_TIMEOUT));
                Conn::Blocking(
                    client
                        .get_multiplexed_async_connection_with_config(&config)
                        .await?,
                )
            }
            RedisTarget::Cluster(_) => Self::cluster(target, Duration::from_secs(24 * 3600)).await?,
        };
        Ok(Self { inner })
    }

    async fn cluster(target: &RedisTarget, response_timeout: Duration) -> redis::RedisResult<Conn> {
        let RedisTarget::Cluster(nodes) = target else {
            unreachable!("cluster() is called for cluster targets only")
        };
        let client = ClusterClient::builder(nodes.iter().map(String::as_str))
            .response_timeout(response_timeout)
            .connection_timeout(CONNECT_TIMEOUT)
            .build()?;
        Ok(Conn::Cluster(client.get_async_connection().await?))
    }
}

impl ConnectionLike for RedisConn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match &mut self.inner {
            Conn::Single(c) => c.req_packed_command(cmd),
            Conn::Cluster(c) => c.req_packed_command(cmd),
            Conn::Blocking(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match &mut self.inner {
            Conn::Single(c) => c.req_packed_commands(pipeline, offset, count),
            Conn::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
            Conn::Blocking(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match &self.inner {
            Conn::Single(c) => c.get_db(),
            Conn::Cluster(c) => c.get_db(),
            Conn::Blocking(c) => c.get_db(),
        }
    }
}
