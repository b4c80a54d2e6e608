//! Every series of the catalogue at zero from the first scrape, with each label value the code
//! can emit, and the help texts of the metrics `ops::metrics` adds for dashboards.
//!
//! The `metrics` facade exports a counter only after its first increment, so a quiet process
//! would show "No data" and `increase()` rules would miss the first event. Registering every
//! known label combination at start-up fixes both. The label lists below mirror the code that
//! emits them; a test (`tests/it/ops_metrics.rs`) scrapes fresh processes for every name.

use metrics::{Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use workers::{Lane, metrics as rt};

use super::metrics as m;
use crate::{integrations, store::metrics as st};

/// Telegram methods AVA calls (the `method` label of the Bot API metrics).
pub const TELEGRAM_METHODS: &[&str] = &[
    "sendMessage",
    "editMessageText",
    "answerCallbackQuery",
    "sendChatAction",
    "getUpdates",
    "getMe",
    "getWebhookInfo",
    "setWebhook",
    "deleteWebhook",
];
/// Results of a Bot API call (`ok` or the error's class).
pub const TELEGRAM_RESULTS: &[&str] = &["ok", "retry_after", "retry", "permanent"];
/// Outcomes of a job attempt as the worker labels them.
pub const JOB_OUTCOMES: &[&str] = &["done", "retry", "permanent"];
/// How a conversation ended.
pub const CONVERSATION_ENDINGS: &[&str] = &["completed", "cancelled", "timed_out"];
/// External services behind a guard (the `service` label).
pub const SERVICES: &[&str] = &["market data", "broker"];
/// Cache kinds (the `kind` label of the cache metric).
pub const CACHE_KINDS: &[&str] = &["quote", "positions", "portfolio"];

/// Every job kind a worker handles.
pub fn job_kinds() -> Vec<&'static str> {
    crate::jobs::Kind::ALL.iter().map(|k| k.name()).collect()
}

/// Help texts of the metrics declared in `ops::metrics` beyond the ingress' and Telegram's.
pub fn describe() {
    describe_histogram!(
        m::UPDATE_TO_REPLY_SECONDS,
        Unit::Seconds,
        "From the ingress' receipt of an update to the send of its reply, by lane."
    );
    describe_counter!(m::WORKER_JOBS, "Jobs this worker handled, by kind and outcome.");
    describe_gauge!(m::WORKER_BUSY, "Jobs running in this worker process right now.");
    describe_gauge!(
        m::WORKER_SLOTS,
        "Job slots of this worker process (worker.concurrency)."
    );
    describe_gauge!(
        m::WORKERS_ALIVE,
        "Worker processes with a recent heartbeat, as this worker sees them."
    );
    describe_gauge!(
        m::CONVERSATIONS_ACTIVE,
        "Conversations waiting for the user (a deadline is armed)."
    );
    describe_counter!(
        m::CONVERSATIONS_ENDED,
        "Conversations that went back to idle, by outcome (completed, cancelled, timed_out)."
    );
    describe_gauge!(
        m::POSTGRES_POOL_CONNECTIONS,
        "Postgres connections of this process' pools, by state (in_use, idle)."
    );
    describe_gauge!(
        m::POSTGRES_POOL_MAX,
        "Size limit of this process' Postgres pools."
    );
    describe_counter!(
        m::DEAD_LETTER_APOLOGIES,
        "Apologies sent to users whose update was dead-lettered, by result."
    );
    describe_counter!(
        m::PROCESS_CPU_SECONDS,
        Unit::Seconds,
        "Total user and system CPU time spent in seconds."
    );
    describe_gauge!(
        m::PROCESS_RESIDENT_MEMORY,
        Unit::Bytes,
        "Resident memory size in bytes."
    );
    describe_gauge!(
        m::PROCESS_VIRTUAL_MEMORY,
        Unit::Bytes,
        "Virtual memory size in bytes."
    );
    describe_gauge!(m::PROCESS_OPEN_FDS, "Number of open file descriptors.");
    describe_gauge!(
        m::PROCESS_START_TIME,
        Unit::Seconds,
        "Start time of the process since unix epoch in seconds."
    );
}

/// Registers every series at zero (counters incremented by 0, histograms registered empty, gauges
/// set to 0 only where no value is known yet).
pub fn register_all() {
    let lanes = Lane::ALL.map(Lane::as_str);
    // Ingress.
    for source in ["webhook", "polling"] {
        for lane in lanes {
            counter!(m::INGRESS_UPDATES, "source" => source, "result" => "queued", "lane" => lane)
                .increment(0);
        }
        for result in ["duplicate", "ignored", "rate_limited", "malformed", "unavailable"] {
            counter!(m::INGRESS_UPDATES, "source" => source, "result" => result, "lane" => "none")
                .increment(0);
        }
    }
    for reason in [
        "unauthorized",
        "too_large",
        "malformed",
        "unavailable",
        "shutting_down",
    ] {
        counter!(m::INGRESS_REJECTED, "reason" => reason).increment(0);
    }
    let _ = histogram!(m::INGRESS_ACCEPT_SECONDS);
    counter!(m::INBOUND_RATE_LIMITED).increment(0);
    // Telegram.
    for method in TELEGRAM_METHODS {
        let _ = histogram!(m::TELEGRAM_REQUEST_SECONDS, "method" => *method);
        for result in TELEGRAM_RESULTS {
            counter!(m::TELEGRAM_REQUESTS, "method" => *method, "result" => *result).increment(0);
        }
    }
    let _ = histogram!(m::OUTBOUND_WAIT_SECONDS);
    for scope in ["chat", "global"] {
        counter!(m::TELEGRAM_PAUSES, "scope" => scope).increment(0);
    }
    counter!(m::BLOCKED_CHAT_SKIPS).increment(0);
    for reason in ["delete_webhook", "queue", "conflict", "telegram"] {
        counter!(m::POLLING_ERRORS, "reason" => reason).increment(0);
    }
    // Worker and conversations.
    for lane in lanes {
        let _ = histogram!(m::UPDATE_TO_REPLY_SECONDS, "lane" => lane);
    }
    for kind in job_kinds() {
        for outcome in JOB_OUTCOMES {
            counter!(m::WORKER_JOBS, "kind" => kind, "outcome" => *outcome).increment(0);
        }
    }
    gauge!(m::WORKER_BUSY).set(0.0);
    gauge!(m::WORKER_SLOTS).increment(0.0);
    gauge!(m::WORKERS_ALIVE).increment(0.0);
    gauge!(m::CONVERSATIONS_ACTIVE).increment(0.0);
    for outcome in CONVERSATION_ENDINGS {
        counter!(m::CONVERSATIONS_ENDED, "outcome" => *outcome).increment(0);
    }
    for state in ["in_use", "idle"] {
        gauge!(m::POSTGRES_POOL_CONNECTIONS, "state" => state).increment(0.0);
    }
    gauge!(m::POSTGRES_POOL_MAX).increment(0.0);
    for result in ["sent", "failed"] {
        counter!(m::DEAD_LETTER_APOLOGIES, "result" => result).increment(0);
    }
    // The job runtime (its own catalogue, labels by lane).
    for lane in lanes {
        gauge!(rt::QUEUE_DEPTH, "lane" => lane).increment(0.0);
        gauge!(rt::QUEUE_OLDEST_AGE, "lane" => lane).increment(0.0);
        for name in [rt::JOBS_DONE, rt::JOBS_RETRIED, rt::JOBS_FAILED, rt::JOBS_DEAD] {
            counter!(name, "lane" => lane).increment(0);
        }
        let _ = histogram!(rt::JOB_DURATION, "lane" => lane);
        let _ = histogram!(rt::ENQUEUE_TO_START, "lane" => lane);
    }
    // Dead letters found by lease expiry carry no lane (see workers::metrics).
    counter!(rt::JOBS_DEAD, "lane" => "unknown").increment(0);
    gauge!(rt::QUEUE_IN_FLIGHT).increment(0.0);
    gauge!(rt::QUEUE_DEAD).increment(0.0);
    counter!(rt::ACKS_STALE).increment(0);
    // The store.
    for name in [
        st::ROWS_WRITTEN,
        st::ROWS_SPOOLED,
        st::ROWS_REJECTED,
        st::SPOOL_FULL,
        st::RECORD_WAITS,
        st::BATCH_RETRIES,
    ] {
        counter!(name).increment(0);
    }
    for name in [st::SPOOL_ROWS, st::SPOOL_BYTES, st::ROWS_HELD, st::POSTGRES_UP] {
        gauge!(name).increment(0.0);
    }
    let _ = histogram!(st::BATCH_SECONDS);
    // Integrations.
    for service in SERVICES {
        gauge!(integrations::BREAKER_STATE, "service" => *service).increment(0.0);
        for result in ["ok", "error", "rejected_open"] {
            counter!(integrations::EXTERNAL_CALLS, "service" => *service, "result" => result).increment(0);
        }
    }
    // Provider limits: the providers AVA ships, and the services whose 429s are counted.
    for provider in ["alpaca", "binance", "broker"] {
        counter!(integrations::RATE_LIMIT_WAITS, "provider" => provider).increment(0);
    }
    for service in SERVICES {
        counter!(integrations::PROVIDER_429S, "service" => *service).increment(0);
    }
    for kind in CACHE_KINDS {
        for result in ["hit", "miss"] {
            counter!(integrations::CACHE_REQUESTS, "kind" => *kind, "result" => result).increment(0);
        }
    }
}
