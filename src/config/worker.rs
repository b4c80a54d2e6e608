//! `[worker]`: the worker role.

use serde::Deserialize;

use super::{ConfigError, invalid};

/// `[worker]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerSettings {
    /// Jobs run at once by one worker process.
    pub concurrency: usize,
    /// Where the worker serves `GET /metrics` for Prometheus, e.g. `0.0.0.0:9101`; empty: not
    /// served. Off by default because several workers often share a host.
    pub metrics_addr: String,
}

impl WorkerSettings {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.concurrency == 0 {
            return Err(invalid("worker.concurrency", "must be at least 1"));
        }
        if !self.metrics_addr.is_empty() && self.metrics_addr.parse::<std::net::SocketAddr>().is_err() {
            return Err(invalid(
                "worker.metrics_addr",
                "must be empty or an address such as 0.0.0.0:9101",
            ));
        }
        Ok(())
    }
}
