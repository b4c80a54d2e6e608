//! AVA: a Telegram bot platform for traders, built as a queue-backed job system.
//!
//! The data path reads in order:
//! - [`ingress`]: the webhook and the getUpdates poller; checks, limits, dedupes and queues each
//!   update in a lane.
//! - `workers` (crate): lanes, per-chat order, leases, retries, dead letters; [`queue`]
//!   connects it with AVA's settings.
//! - [`worker`]: the worker role; leases jobs and carries out what the conversation decides.
//! - [`conversation`]: what AVA answers; a pure state machine, no I/O.
//! - [`integrations`]: market data and broker behind breakers, with a Redis cache.
//! - [`telegram`]: the Bot API client, the classification of its errors, and the outbound limits
//!   shared by every worker.
//! - [`store`]: Postgres, the record of everything in and out.
//!
//! Around it: [`config`] (typed, layered settings), [`ops`] (metrics), [`scheduler`] (leader lock,
//! periodic jobs), [`shutdown`], [`telemetry`], [`emulator`] (a Bot API stand-in for `dev`),
//! [`roles`] (`migrate`, `dev`) and [`cli`].
//! Around it: [`config`] (typed, layered settings), [`shutdown`], [`telemetry`], [`emulator`]
//! (a Bot API stand-in for `dev`), [`ops`] (`ava dlq`), [`roles`] (`migrate`, `dev`) and [`cli`].

pub mod cli;
pub mod config;
pub mod conversation;
pub mod emulator;
pub mod ingress;
pub mod integrations;
pub mod ops;
pub mod queue;
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
