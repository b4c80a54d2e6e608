//! `ava config show`: the effective configuration, every secret redacted, each key with its source.

use std::{fmt::Write as _, path::Path};

use figment::value::{Dict, Value};

use super::{
    ConfigError, Settings,
    sources::{Origin, is_secret_key, leaves, origin_of, redact},
};

/// The effective configuration as TOML-like `key = value  # source` lines. Settings are
/// validated first, so what is shown is what AVA would run with.
pub fn show(file: Option<&Path>) -> Result<String, ConfigError> {
    let fig = Settings::figment(file);
    Settings::from_figment(fig.clone())?;
    let dict: Dict = fig.extract().map_err(|e| ConfigError::Load(e.to_string()))?;
    let rows: Vec<(String, String, String)> = leaves(&dict)
        .into_iter()
        .map(|(key, value)| {
            let shown = display(&key, &value);
            let origin = match origin_of(&fig, &key) {
                // The shipped defaults file, read from the working directory: still the defaults.
                Origin::File(path) if path.ends_with("config/default.toml") => "default".to_owned(),
                other => other.to_string(),
            };
            (key, shown, origin)
        })
        .collect();
    let width = rows
        .iter()
        .map(|(k, v, _)| k.len() + v.len() + 3)
        .max()
        .unwrap_or(0)
        .min(64);
    let mut out = String::from("# AVA's effective configuration; secrets are redacted.\n");
    for (key, value, origin) in rows {
        let line = format!("{key} = {value}");
        let _ = writeln!(out, "{line:<width$}  # {origin}");
    }
    Ok(out)
}

fn display(key: &str, value: &Value) -> String {
    match value {
        Value::String(_, s) => format!("{:?}", redact(key, s)),
        // Only strings hold secrets; anything else under a secret-looking key is hidden anyway.
        _ if is_secret_key(key) => "\"<redacted>\"".to_owned(),
        other => serde_json::to_string(other).unwrap_or_else(|_| "?".to_owned()),
    }
}
