//! `[worker]`: the worker role.

use serde::Deserialize;

use super::{ConfigError, invalid};

/// `[worker]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerSettings {
    /// Jobs run at once by one worker process.
    pub concurrency: usize,
}

impl WorkerSettings {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.concurrency == 0 {
            return Err(invalid("worker.concurrency", "must be at least 1"));
        }
        Ok(())
    }
}
