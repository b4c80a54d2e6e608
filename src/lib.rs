//! AVA: a Telegram bot platform for traders, built as a queue-backed job system.
//!
//! The data path reads in order:
//! - [`ingress`]: the webhook and the getUpdates poller; checks, limits, dedupes and queues each
//!   update in a lane.
//! - `workers` (crate): lanes, per-chat order, leases, retries, dead letters; [`app`]
//!   connects it with AVA's settings.
//! - [`worker`]: the worker role; leases jobs and carries out what the conversation decides.
//! - [`conversation`]: what AVA answers; a pure state machine, no I/O.
//! - [`integrations`]: market data and broker behind breakers, with a Redis cache.
//! - [`telegram`]: the Bot API client, the classification of its errors, and the outbound limits
//!   shared by every worker.
//! - [`store`]: Postgres, the record of everything in and out.
//!
//! Around it: [`app`] (the composition root: the handles one process shares), [`jobs`] (the
//! catalogue of job kinds and their payloads), [`config`] (typed, layered settings), [`ops`]
//! (metrics, `ava dlq`), [`scheduler`] (leader lock, periodic jobs), [`shutdown`],
//! [`telemetry`], [`errors`] (the error policy), [`emulator`] (a Bot API stand-in for `dev`),
//! [`roles`] (`migrate`, `dev`) and [`cli`].

pub mod app;
pub mod cli;
pub mod config;
pub mod conversation;
pub mod emulator;
pub mod errors;
pub mod ingress;
pub mod integrations;
pub mod jobs;
pub mod ops;
pub mod roles;
pub mod scheduler;
pub mod shutdown;
pub mod store;
pub mod telegram;
pub mod telemetry;
pub mod worker;

/// Installs rustls' crypto provider once; reqwest with rustls needs one before the first client.
pub fn install_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
