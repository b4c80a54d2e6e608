//! One connection type over a single Redis server or a Redis Cluster.

use std::time::Duration;

use redis::{
    Cmd, Pipeline, RedisFuture, Value, aio::ConnectionLike, aio::MultiplexedConnection,
    cluster::ClusterClient, cluster_async::ClusterConnection,
};

/// Where the queue lives.
#[derive(Debug, Clone)]
pub enum RedisTarget {
    /// One server (or a proxy in front of several).
    Single(String),
    /// A Redis Cluster, given by any of its nodes.
    Cluster(Vec<String>),
}

#[derive(Clone)]
pub(crate) enum Conn {
    Single(MultiplexedConnection),
    Cluster(ClusterConnection),
}

impl Conn {
    /// Opens a connection. `response_timeout: None` is for blocking reads, which must outlive
    /// redis 1.x's default 500 ms response timeout.
    pub(crate) async fn open(
        target: &RedisTarget,
        response_timeout: Option<Duration>,
    ) -> redis::RedisResult<Self> {
        match target {
            RedisTarget::Single(url) => {
                let client = redis::Client::open(url.as_str())?;
                let config = redis::AsyncConnectionConfig::new().set_response_timeout(response_timeout);
                Ok(Conn::Single(
                    client
                        .get_multiplexed_async_connection_with_config(&config)
                        .await?,
                ))
            }
            RedisTarget::Cluster(nodes) => {
                let mut builder = ClusterClient::builder(nodes.iter().map(String::as_str));
                builder =
                    builder.response_timeout(response_timeout.unwrap_or(Duration::from_secs(24 * 3600)));
                Ok(Conn::Cluster(builder.build()?.get_async_connection().await?))
            }
        }
    }
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Conn::Single(c) => c.req_packed_command(cmd),
            Conn::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::Single(c) => c.req_packed_commands(pipeline, offset, count),
            Conn::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Single(c) => c.get_db(),
            Conn::Cluster(c) => c.get_db(),
        }
    }
}
