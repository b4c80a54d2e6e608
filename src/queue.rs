//! The app's handle on the job runtime (`workers`): the Redis broker, connected with the
//! `[redis]` and `[queue]` settings. Every role connects through here.

use workers::RedisBroker;

use crate::config::Settings;

/// Connects the queue's broker; the error names the setting to check.
pub async fn connect(settings: &Settings) -> anyhow::Result<RedisBroker> {
    RedisBroker::connect(
        settings.redis.url.expose(),
        &settings.redis.prefix,
        settings.queue.to_config(),
    )
    .await
    .map_err(|e| anyhow::anyhow!("cannot connect to the queue's Redis at redis.url: {e}"))
}
