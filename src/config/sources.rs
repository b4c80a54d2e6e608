//! Where settings come from, and the secrets among them: `AVA_…_FILE` secret files (the Docker
//! secrets convention), the refusal of secrets in config files, and each key's source for
//! `ava config show`.

use std::collections::BTreeMap;

use figment::{
    Error, Figment, Metadata, Profile, Provider,
    value::{Dict, Map, Value},
};

/// Prefix of AVA's environment variables.
pub const ENV_PREFIX: &str = "AVA_";
/// Suffix of a variable naming a file that holds the value (`AVA_TELEGRAM__TOKEN_FILE`).
pub const FILE_SUFFIX: &str = "_FILE";
/// Name of the secret-file provider's metadata, how `config show` recognises it.
const SECRET_FILE_SOURCE: &str = "secret file";

/// Keys that always hold a secret. Other keys are secret too when their last segment says so
/// (see [`is_secret_key`]), so a new `broker.api_secret` is covered without a change here.
pub const SECRET_KEYS: &[&str] = &[
    "telegram.token",
    "webhook.secret",
    "admin.token",
    "sentry.dsn",
    "market_data.api_key",
    "database.url",
    "redis.url",
];

/// Keys whose value is a URL that may carry a password: only the password is secret.
const URL_KEYS: &[&str] = &["database.url", "redis.url"];

/// Whether `key` (dotted) holds a secret.
pub fn is_secret_key(key: &str) -> bool {
    if SECRET_KEYS.contains(&key) {
        return true;
    }
    let last = key.rsplit('.').next().unwrap_or(key);
    ["token", "secret", "password", "dsn"]
        .iter()
        .any(|word| last.contains(word))
        || last.ends_with("key")
        || last.ends_with("key_id")
}

/// The environment variable of `key`: `telegram.token` → `AVA_TELEGRAM__TOKEN`.
pub fn env_var_of(key: &str) -> String {
    format!("{ENV_PREFIX}{}", key.to_uppercase().replace('.', "__"))
}

/// `value` with any secret removed, for display: URLs keep everything but their password.
pub fn redact(key: &str, value: &str) -> String {
    if !is_secret_key(key) {
        return value.to_owned();
    }
    if URL_KEYS.contains(&key) {
        return match url_password_span(value) {
            Some((start, end)) => format!("{}<redacted>{}", &value[..start], &value[end..]),
            None => value.to_owned(),
        };
    }
    if value.is_empty() {
        String::new()
    } else {
        "<redacted>".to_owned()
    }
}

/// Whether `value` of `key` is an actual secret (not empty; for URLs, one carrying a password).
pub fn holds_secret(key: &str, value: &str) -> bool {
    if URL_KEYS.contains(&key) {
        url_password_span(value).is_some()
    } else {
        is_secret_key(key) && !value.is_empty()
    }
}

/// Byte range of the password in `scheme://user:password@host…`, if there is one.
fn url_password_span(url: &str) -> Option<(usize, usize)> {
    let authority_start = url.find("://")? + 3;
    let rest = &url[authority_start..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let at = rest[..authority_end].rfind('@')?;
    let colon = rest[..at].find(':')?;
    (colon + 1 < at).then_some((authority_start + colon + 1, authority_start + at))
}

/// Values read from the files named by `AVA_<KEY>_FILE` variables.
///
/// Read once, when the provider is built; a file that cannot be read, or a value given both
/// directly and by file, is an error naming the variable (never the content).
pub struct SecretFiles {
    values: Result<Dict, String>,
}

impl SecretFiles {
    /// From the process environment.
    pub fn from_env() -> Self {
        Self::from_vars(std::env::vars())
    }

    /// From the given variables (tests pass their own).
    pub fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> Self {
        let vars: BTreeMap<String, String> = vars.into_iter().collect();
        let mut values = Dict::new();
        for (name, path) in &vars {
            let Some(key_env) = name
                .strip_prefix(ENV_PREFIX)
                .and_then(|n| n.strip_suffix(FILE_SUFFIX))
            else {
                continue;
            };
            if vars.contains_key(&format!("{ENV_PREFIX}{key_env}")) {
                return Self {
                    values: Err(format!("both {ENV_PREFIX}{key_env} and {name} are set; use one")),
                };
            }
            let content = match std::fs::read_to_string(path) {
                Ok(content) => content,
                Err(e) => {
                    return Self {
                        values: Err(format!("{name}: cannot read {path}: {e}")),
                    };
                }
            };
            // Secret files usually end with a newline the value does not include.
            let value = content.trim_end_matches(['\n', '\r']).to_owned();
            let key = key_env.to_lowercase().replace("__", ".");
            insert_dotted(&mut values, &key, Value::from(value));
        }
        Self { values: Ok(values) }
    }
}

fn insert_dotted(dict: &mut Dict, key: &str, value: Value) {
    match key.split_once('.') {
        None => {
            dict.insert(key.to_owned(), value);
        }
        Some((head, rest)) => {
            let child = dict
                .entry(head.to_owned())
                .or_insert_with(|| Value::from(Dict::new()));
            if let Value::Dict(_, inner) = child {
                insert_dotted(inner, rest, value);
            }
        }
    }
}

impl Provider for SecretFiles {
    fn metadata(&self) -> Metadata {
        Metadata::named(SECRET_FILE_SOURCE)
    }

    fn data(&self) -> Result<Map<Profile, Dict>, Error> {
        match &self.values {
            Ok(values) => Ok(Profile::Default.collect(values.clone())),
            Err(e) => Err(Error::from(e.clone())),
        }
    }
}

/// Where one key's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The defaults built into the binary.
    Default,
    /// A TOML file.
    File(String),
    /// An environment variable.
    Env(String),
    /// A file named by an `…_FILE` environment variable.
    SecretFile(String),
    /// Set by code (tests, `dev`).
    Code,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Default => f.write_str("default"),
            Origin::File(path) => write!(f, "file {path}"),
            Origin::Env(var) => write!(f, "env {var}"),
            Origin::SecretFile(var) => write!(f, "env {var} (file)"),
            Origin::Code => f.write_str("code"),
        }
    }
}

/// The source of `key` in `fig`.
pub fn origin_of(fig: &Figment, key: &str) -> Origin {
    let Some(meta) = fig.find_metadata(key) else {
        return Origin::Default;
    };
    let name = meta.name.as_ref();
    if name == SECRET_FILE_SOURCE {
        Origin::SecretFile(format!("{}{FILE_SUFFIX}", env_var_of(key)))
    } else if name.contains("environment variable") {
        Origin::Env(env_var_of(key))
    } else if name.ends_with("source string") {
        Origin::Default
    } else if name.ends_with("file") {
        Origin::File(
            meta.source
                .as_ref()
                .map_or_else(|| "?".to_owned(), ToString::to_string),
        )
    } else {
        Origin::Code
    }
}

/// Every leaf of `dict` as (dotted key, value), in key order.
pub fn leaves(dict: &Dict) -> Vec<(String, Value)> {
    fn walk(prefix: &str, dict: &Dict, out: &mut Vec<(String, Value)>) {
        for (k, v) in dict {
            let key = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            match v {
                Value::Dict(_, inner) if !inner.is_empty() => walk(&key, inner, out),
                other => out.push((key, other.clone())),
            }
        }
    }
    let mut out = Vec::new();
    walk("", dict, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_keys_are_recognised_by_list_and_by_name() {
        for key in [
            "telegram.token",
            "webhook.secret",
            "admin.token",
            "sentry.dsn",
            "market_data.api_key",
            "broker.api_key",
            "broker.api_secret",
            "broker.api_key_id",
            "database.url",
        ] {
            assert!(is_secret_key(key), "{key}");
        }
        for key in ["telegram.api_url", "http.addr", "access.traders", "redis.prefix"] {
            assert!(!is_secret_key(key), "{key}");
        }
    }

    #[test]
    fn urls_lose_only_their_password() {
        assert_eq!(
            redact("database.url", "postgres://ava:hunter2@db:5432/ava"),
            "postgres://ava:<redacted>@db:5432/ava"
        );
        assert_eq!(
            redact("redis.url", "redis://127.0.0.1:6379"),
            "redis://127.0.0.1:6379"
        );
        assert!(holds_secret("redis.url", "rediss://default:pw@r:6380/0"));
        assert!(!holds_secret("redis.url", "redis://user@r:6379"));
        assert_eq!(redact("telegram.token", "1:abc"), "<redacted>");
        assert_eq!(redact("http.addr", "1.2.3.4:1"), "1.2.3.4:1");
    }

    #[test]
    fn secret_files_are_read_and_conflicts_named() {
        let dir = std::env::temp_dir().join(format!("ava-secret-{:x}", rand::random::<u64>()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("token");
        std::fs::write(&file, "42:FROM-FILE\n").unwrap();
        let path = file.display().to_string();
        let files = SecretFiles::from_vars([("AVA_TELEGRAM__TOKEN_FILE".to_owned(), path.clone())]);
        let data = files.data().unwrap();
        let token = data[&Profile::Default]["telegram"].find_ref("token").unwrap();
        assert_eq!(token.as_str(), Some("42:FROM-FILE"));

        let both = SecretFiles::from_vars([
            ("AVA_TELEGRAM__TOKEN_FILE".to_owned(), path),
            ("AVA_TELEGRAM__TOKEN".to_owned(), "x".to_owned()),
        ]);
        let err = both.data().unwrap_err().to_string();
        assert!(err.contains("AVA_TELEGRAM__TOKEN_FILE"), "{err}");

        let missing = SecretFiles::from_vars([(
            "AVA_WEBHOOK__SECRET_FILE".to_owned(),
            "/nonexistent/ava".to_owned(),
        )]);
        let err = missing.data().unwrap_err().to_string();
        assert!(err.contains("AVA_WEBHOOK__SECRET_FILE"), "{err}");
        std::fs::remove_dir_all(dir).ok();
    }
}
