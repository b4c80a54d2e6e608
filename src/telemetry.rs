//! Logging set-up. Secrets never reach here: settings print through [`crate::config::Secret`].

use std::io::IsTerminal;

use tracing_subscriber::{EnvFilter, fmt};

use crate::config::LogSettings;

/// Parses filter directives strictly: what does not parse is an error, and so is a directive
/// with an empty level (`target=`), which tracing would take as "nothing else", logging nothing.
pub fn parse_filter(directives: &str) -> Result<EnvFilter, String> {
    if let Some(empty) = directives.split(',').map(str::trim).find(|d| d.ends_with('=')) {
        return Err(format!(
            "directive {empty:?} has no level (e.g. \"{empty}debug\")"
        ));
    }
    EnvFilter::builder().parse(directives).map_err(|e| e.to_string())
}

/// The filter in force: `RUST_LOG` when set (it wins over `log.filter`), else `log.filter`. A
/// directive that does not parse is refused, naming where it came from, rather than silently
/// logging nothing.
pub fn filter(log: &LogSettings) -> anyhow::Result<EnvFilter> {
    match std::env::var("RUST_LOG") {
        Ok(directives) if !directives.trim().is_empty() => parse_filter(&directives).map_err(|e| {
            anyhow::anyhow!(
                "RUST_LOG={directives:?} is not a valid log filter: {e} (unset it, or e.g. RUST_LOG=info)"
            )
        }),
        _ => parse_filter(&log.filter).map_err(|e| {
            anyhow::anyhow!(
                "configuration key `log.filter` (env AVA_LOG__FILTER) = {:?} is not a valid log filter: {e}",
                log.filter
            )
        }),
    }
}

/// Installs the global subscriber. Colours only when stdout is a terminal: a file or a pipe gets
/// plain text. Safe to call twice.
pub fn init(log: &LogSettings) -> anyhow::Result<()> {
    let filter = filter(log)?;
    let builder = fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(std::io::stdout().is_terminal());
    let _ = if log.format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn filters_that_would_log_nothing_are_refused() {
        assert!(super::parse_filter("nonsense=").is_err());
        assert!(super::parse_filter("info,ava=").is_err());
        assert!(super::parse_filter("ava=notalevel").is_err());
        assert!(super::parse_filter("warn,ava=debug").is_ok());
    }
}
