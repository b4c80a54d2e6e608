//! The composition root: the handles one process shares. Each role (or `dev`, which runs them
//! all) connects its backends here once and hands clones to the components it builds.
//! Components take these handles plus their own section of the settings; none connects by
//! itself. This is where a backend is chosen (today Redis and Postgres) and where one reconnect
//! policy applies to every use of Redis: [`workers::RedisConn`].
//!
//! Connections per process: one Redis handle (plus, in a worker, the separate connection idle
//! consumers block on), and one Postgres pool, which the log writer shares.

use std::sync::Arc;

use anyhow::Context as _;
use workers::{RedisBroker, RedisConn, RedisTarget};

use crate::{
    config::{OutboundLimitSettings, Settings, TelegramSettings},
    store::{self, LogWriter, Spool, Store},
    telegram::{BotApi, Outbound, OutboundLimiter},
};

/// The backends of one process. Cheap to clone: clones share the connections.
#[derive(Clone)]
pub struct Backends {
    /// The Redis handle every component sends its commands on; reconnects by itself.
    pub redis: RedisConn,
    /// The job queue, on the same handle.
    pub queue: RedisBroker,
    /// Postgres: the one pool of this process.
    pub store: Store,
    /// The batched log writer over that pool, spooling to Redis while Postgres is away.
    pub log: LogWriter,
    prefix: Arc<str>,
}

impl Backends {
    /// Connects Redis (now: an unreachable Redis stops start-up with an error naming
    /// `redis.url`), prepares the Postgres pool (lazily: start-up never waits on Postgres) and
    /// starts the log writer.
    pub async fn connect(settings: &Settings) -> anyhow::Result<Self> {
        let target = RedisTarget::parse(settings.redis.url.expose());
        let redis = RedisConn::connect(&target)
            .await
            .context("cannot connect to Redis at redis.url")?;
        let prefix = settings.redis.prefix.as_str();
        let queue = RedisBroker::with_conn(redis.clone(), target, prefix, settings.queue.to_config())
            .context("queue settings ([queue], redis.prefix)")?;
        let store = Store::connect_lazy(&settings.database, settings.store.write_concurrency)?;
        let spool = Spool::new(redis.clone(), prefix, settings.store.spool_max_rows);
        let log = store::start_writer(store.pool().clone(), spool, &settings.store);
        Ok(Self {
            redis,
            queue,
            store,
            log,
            prefix: prefix.into(),
        })
    }

    /// The prefix of every Redis key AVA writes (`redis.prefix`).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The Bot API client behind the outbound limits shared through this process' Redis.
    pub fn outbound(
        &self,
        telegram: &TelegramSettings,
        limits: &OutboundLimitSettings,
    ) -> anyhow::Result<Outbound> {
        let limiter = OutboundLimiter::new(self.redis.clone(), &self.prefix, limits);
        Ok(Outbound::new(BotApi::new(telegram)?, limiter, limits))
    }
}
