//! Logging set-up. Secrets never reach here: settings print through [`crate::config::Secret`].

use tracing_subscriber::{EnvFilter, fmt};

use crate::config::LogSettings;

/// Installs the global subscriber; `RUST_LOG` wins over `log.filter`. Safe to call twice.
pub fn init(log: &LogSettings) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&log.filter));
    let builder = fmt().with_env_filter(filter).with_target(false);
    let _ = if log.format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
