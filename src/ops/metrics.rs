//! The one Prometheus recorder and the catalogue of AVA's metrics, each declared once with its help.
//!
//! Every crate emits through the `metrics` facade (the job runtime in `workers/` too), so
//! `GET /metrics` renders all of them from this single recorder. Labels never carry secrets or
//! unbounded values: methods and reasons come from code, never from user input or URLs.

use std::sync::OnceLock;

use metrics::{Unit, describe_counter, describe_histogram};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// Updates seen by the ingress. Labels: `source` (webhook|polling|lambda), `result`, `lane`.
pub const INGRESS_UPDATES: &str = "ava_ingress_updates_total";
/// Webhook requests refused before parsing. Label: `reason`.
pub const INGRESS_REJECTED: &str = "ava_ingress_rejected_total";
/// Time to accept one update (parse, limit, enqueue).
pub const INGRESS_ACCEPT_SECONDS: &str = "ava_ingress_accept_seconds";
/// Updates dropped by the per-user inbound limit.
pub const INBOUND_RATE_LIMITED: &str = "ava_inbound_rate_limited_total";
/// Bot API calls. Labels: `method`, `result` (ok|retry_after|retry|permanent).
pub const TELEGRAM_REQUESTS: &str = "ava_telegram_requests_total";
/// Bot API call latency. Label: `method`.
pub const TELEGRAM_REQUEST_SECONDS: &str = "ava_telegram_request_seconds";
/// Time a send waited for its slot under the shared outbound limits.
pub const OUTBOUND_WAIT_SECONDS: &str = "ava_outbound_wait_seconds";
/// Pauses set after a 429. Label: `scope` (chat|global).
pub const TELEGRAM_PAUSES: &str = "ava_telegram_pauses_total";
/// Sends skipped because the chat blocked the bot.
pub const BLOCKED_CHAT_SKIPS: &str = "ava_telegram_blocked_chat_skips_total";
/// getUpdates failures. Label: `reason`.
pub const POLLING_ERRORS: &str = "ava_polling_errors_total";
/// Refused attempts (access control). Label: `action` (view|trade|group_trade|confirm|admin).
pub const ACCESS_DENIED: &str = "ava_access_denied_total";
/// The `action` label values of [`ACCESS_DENIED`] (`conversation::Attempt` names them; a test
/// there keeps the two lists equal).
pub const ACCESS_ACTIONS: [&str; 5] = ["view", "trade", "group_trade", "confirm", "admin"];
/// From the ingress' receipt stamp to the reply's send, per update. Label: `lane`.
pub const UPDATE_TO_REPLY_SECONDS: &str = "ava_update_to_reply_seconds";
/// Jobs this worker process handled, by `kind` and `outcome` (done|retry|permanent).
pub const WORKER_JOBS: &str = "ava_worker_jobs_total";
/// Jobs running in this worker process right now.
pub const WORKER_BUSY: &str = "ava_worker_busy_jobs";
/// Job slots of this worker process (`worker.concurrency`).
pub const WORKER_SLOTS: &str = "ava_worker_slots";
/// Worker processes whose heartbeat is recent, as seen by each worker.
pub const WORKERS_ALIVE: &str = "ava_workers_alive";
/// Conversations waiting for the user (a deadline is armed).
pub const CONVERSATIONS_ACTIVE: &str = "ava_conversations_active";
/// Conversations that went back to idle. Label: `outcome` (completed|cancelled|timed_out).
pub const CONVERSATIONS_ENDED: &str = "ava_conversations_ended_total";
/// Postgres connections of this process' pool. Label: `state` (in_use|idle).
pub const POSTGRES_POOL_CONNECTIONS: &str = "ava_postgres_pool_connections";
/// The pool's size limit (`database.max_connections`).
pub const POSTGRES_POOL_MAX: &str = "ava_postgres_pool_max";
/// Dead-lettered updates whose user was sent the apology. Label: `result` (sent|failed).
pub const DEAD_LETTER_APOLOGIES: &str = "ava_dead_letter_apologies_total";
/// CPU time this process used (user + system), Prometheus' standard name.
pub const PROCESS_CPU_SECONDS: &str = "process_cpu_seconds_total";
/// Resident memory of this process, Prometheus' standard name.
pub const PROCESS_RESIDENT_MEMORY: &str = "process_resident_memory_bytes";
/// Virtual memory of this process.
pub const PROCESS_VIRTUAL_MEMORY: &str = "process_virtual_memory_bytes";
/// Open file descriptors of this process.
pub const PROCESS_OPEN_FDS: &str = "process_open_fds";
/// When this process started, seconds since the Unix epoch.
pub const PROCESS_START_TIME: &str = "process_start_time_seconds";

/// Every metric AVA exports, from every module's catalogue: what dashboards and alert rules may
/// query (a test checks `dashboards/` and `config/prometheus/` against it).
pub const CATALOGUE: &[&str] = &[
    INGRESS_UPDATES,
    INGRESS_REJECTED,
    INGRESS_ACCEPT_SECONDS,
    INBOUND_RATE_LIMITED,
    TELEGRAM_REQUESTS,
    TELEGRAM_REQUEST_SECONDS,
    OUTBOUND_WAIT_SECONDS,
    TELEGRAM_PAUSES,
    BLOCKED_CHAT_SKIPS,
    POLLING_ERRORS,
    ACCESS_DENIED,
    UPDATE_TO_REPLY_SECONDS,
    WORKER_JOBS,
    WORKER_BUSY,
    WORKER_SLOTS,
    WORKERS_ALIVE,
    CONVERSATIONS_ACTIVE,
    CONVERSATIONS_ENDED,
    POSTGRES_POOL_CONNECTIONS,
    POSTGRES_POOL_MAX,
    DEAD_LETTER_APOLOGIES,
    PROCESS_CPU_SECONDS,
    PROCESS_RESIDENT_MEMORY,
    PROCESS_VIRTUAL_MEMORY,
    PROCESS_OPEN_FDS,
    PROCESS_START_TIME,
    workers::metrics::QUEUE_DEPTH,
    workers::metrics::QUEUE_OLDEST_AGE,
    workers::metrics::QUEUE_IN_FLIGHT,
    workers::metrics::QUEUE_DEAD,
    workers::metrics::JOBS_DONE,
    workers::metrics::JOBS_RETRIED,
    workers::metrics::JOBS_FAILED,
    workers::metrics::JOBS_DEAD,
    workers::metrics::ACKS_STALE,
    workers::metrics::JOB_DURATION,
    workers::metrics::ENQUEUE_TO_START,
    crate::store::metrics::ROWS_WRITTEN,
    crate::store::metrics::ROWS_SPOOLED,
    crate::store::metrics::ROWS_REJECTED,
    crate::store::metrics::SPOOL_ROWS,
    crate::store::metrics::SPOOL_FULL,
    crate::store::metrics::ROWS_HELD,
    crate::store::metrics::RECORD_WAITS,
    crate::store::metrics::POSTGRES_UP,
    crate::store::metrics::BATCH_SECONDS,
    crate::store::metrics::BATCH_RETRIES,
    crate::store::metrics::SPOOL_BYTES,
    crate::integrations::BREAKER_STATE,
    crate::integrations::CACHE_REQUESTS,
    crate::integrations::EXTERNAL_CALLS,
    crate::integrations::RATE_LIMIT_WAITS,
    crate::integrations::PROVIDER_429S,
];

const LATENCY_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide recorder once and returns the handle `/metrics` renders from.
pub fn install() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets(LATENCY_BUCKETS)
                .expect("the bucket list is non-empty");
            let handle = match builder.install_recorder() {
                Ok(handle) => handle,
                Err(e) => {
                    // Someone installed another recorder first; keep serving an (empty) page.
                    tracing::error!(error = %e, "cannot install the Prometheus recorder; /metrics will be empty");
                    PrometheusBuilder::new().build_recorder().handle()
                }
            };
            describe();
            // One registry for the whole process: the runtime's and the store's metrics too.
            workers::metrics::describe();
            crate::store::metrics::describe();
            crate::integrations::describe_metrics();
            super::series::describe();
            // Every series at zero from the first scrape: dashboards show 0, not "No data", and
            // `increase()` sees the first event.
            super::series::register_all();
            super::process::sample();
            handle
        })
        .clone()
}

/// `GET /metrics` alone, for roles that serve no other HTTP (e.g. a worker on its own port).
pub fn router() -> axum::Router {
    install();
    axum::Router::new().route("/metrics", axum::routing::get(handler))
}

/// The `/metrics` handler.
pub async fn handler() -> impl axum::response::IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        render(),
    )
}

/// Renders the current values in Prometheus' text format.
pub fn render() -> String {
    let handle = install();
    super::process::sample();
    handle.run_upkeep();
    handle.render()
}

fn describe() {
    describe_counter!(
        INGRESS_UPDATES,
        "Updates seen by the ingress, by source, result and lane."
    );
    describe_counter!(
        INGRESS_REJECTED,
        "Webhook requests refused before parsing, by reason."
    );
    describe_histogram!(
        INGRESS_ACCEPT_SECONDS,
        Unit::Seconds,
        "Time to accept one update: parse, rate limit, enqueue."
    );
    describe_counter!(
        INBOUND_RATE_LIMITED,
        "Updates dropped by the per-user inbound rate limit."
    );
    describe_counter!(TELEGRAM_REQUESTS, "Bot API calls, by method and result.");
    describe_histogram!(
        TELEGRAM_REQUEST_SECONDS,
        Unit::Seconds,
        "Bot API call latency, by method."
    );
    describe_histogram!(
        OUTBOUND_WAIT_SECONDS,
        Unit::Seconds,
        "Time a send waited for its slot under the shared outbound limits."
    );
    describe_counter!(TELEGRAM_PAUSES, "Pauses set after a Telegram 429, by scope.");
    describe_counter!(
        BLOCKED_CHAT_SKIPS,
        "Sends skipped because the chat blocked the bot."
    );
    describe_counter!(POLLING_ERRORS, "getUpdates failures, by reason.");
    describe_counter!(
        ACCESS_DENIED,
        "Attempts refused by access control, by action (view, trade, group_trade, confirm, admin)."
    );
    // Every series from zero, so rate() and increase() see the first refusal.
    for action in ACCESS_ACTIONS {
        metrics::counter!(ACCESS_DENIED, "action" => action).increment(0);
    }
}

/// Serves `GET /metrics` alone on `addr` until `shutdown` (`key` names the setting, for the error).
pub async fn serve_on(
    addr: &str,
    key: &str,
    shutdown: crate::shutdown::Shutdown,
) -> anyhow::Result<tokio::task::JoinHandle<anyhow::Result<()>>> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {key} {addr}: {e}"))?;
    tracing::info!(%addr, "serving /metrics");
    Ok(tokio::spawn(async move {
        axum::serve(listener, router())
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await?;
        Ok(())
    }))
}

#[cfg(test)]
mod tests {
    use std::{collections::BTreeSet, path::Path};

    use super::CATALOGUE;

    /// Names of the exporters' metrics the dashboards and rules use (redis_exporter,
    /// postgres_exporter); checked against their documentation, not against a scrape.
    const EXPORTED_BY_OTHERS: &[&str] = &[
        "redis_memory_used_bytes",
        "redis_memory_max_bytes",
        "redis_connected_clients",
        "redis_commands_processed_total",
        "pg_stat_database_numbackends",
        "pg_settings_max_connections",
    ];

    /// Metric names in a dashboard or rule file (AVA's `ava_…` and `process_…`, and the
    /// exporters' `redis_…` and `pg_…`), with histogram suffixes folded back.
    fn metric_names(text: &str) -> BTreeSet<String> {
        let mut names = BTreeSet::new();
        for prefix in ["ava_", "process_", "redis_", "pg_"] {
            names.extend(names_with(text, prefix));
        }
        names
    }

    fn names_with(text: &str, prefix: &str) -> BTreeSet<String> {
        let mut names = BTreeSet::new();
        let bytes = text.as_bytes();
        let mut i = 0;
        while let Some(at) = text[i..].find(prefix) {
            let start = i + at;
            let boundary =
                start == 0 || !(bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_');
            let end = text[start..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .map_or(text.len(), |n| start + n);
            if boundary {
                let name = &text[start..end];
                let base = ["_bucket", "_sum", "_count"]
                    .iter()
                    .find_map(|s| name.strip_suffix(s))
                    .unwrap_or(name);
                names.insert(base.to_owned());
            }
            i = end;
        }
        names
    }

    #[test]
    fn dashboards_and_rules_query_only_metrics_that_exist() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files: Vec<String> = std::fs::read_dir(root.join("dashboards"))
            .expect("dashboards/")
            .filter_map(|e| e.ok())
            .map(|e| format!("dashboards/{}", e.file_name().to_string_lossy()))
            .filter(|f| f.ends_with(".json"))
            .collect();
        files.sort();
        // The engagement dashboard queries Postgres (tests/it/ops_dashboards.rs runs its SQL).
        files.retain(|f| f != "dashboards/ava-user-engagement.json");
        for required in ["ava-bot-health", "ava-infrastructure", "ava-overview"] {
            assert!(
                files.contains(&format!("dashboards/{required}.json")),
                "{required} is checked"
            );
        }
        files.push("config/prometheus/rules.yml".into());
        let known: BTreeSet<&str> = CATALOGUE.iter().chain(EXPORTED_BY_OTHERS).copied().collect();
        for file in &files {
            let text = std::fs::read_to_string(root.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
            let used = metric_names(&text);
            assert!(!used.is_empty(), "{file} queries no AVA metric");
            let unknown: Vec<&String> = used.iter().filter(|n| !known.contains(n.as_str())).collect();
            assert!(
                unknown.is_empty(),
                "{file} queries metrics AVA does not export: {unknown:?}"
            );
        }
    }

    #[test]
    fn the_catalogue_has_no_duplicates() {
        let set: BTreeSet<&str> = CATALOGUE.iter().copied().collect();
        assert_eq!(set.len(), CATALOGUE.len());
    }

    #[test]
    fn metric_names_folds_histogram_suffixes() {
        let names = metric_names(
            r#"rate(ava_job_duration_seconds_bucket[5m]) + xava_no + ava_queue_depth{lane="low"}"#,
        );
        assert_eq!(
            names.into_iter().collect::<Vec<_>>(),
            ["ava_job_duration_seconds", "ava_queue_depth"]
        );
    }
}
