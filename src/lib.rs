//! AVA: a Telegram bot platform for traders, built as a queue-backed job system.
//!
//! The data path reads in order:
//! - [`ingress`]: the webhook; checks the secret, dedupes and queues each update in a lane.
//! - `workers` (crate): lanes, per-chat order, leases, retries, dead letters.
//! - [`worker`]: the worker role; leases jobs and carries out what the conversation decides.
//! - [`conversation`]: what AVA answers; pure, no I/O.
//! - [`telegram`]: the Bot API client and the classification of its errors.
//! - [`store`]: Postgres, the record of everything in and out.
//!
//! Around it: [`config`] (typed, layered settings), [`shutdown`], [`telemetry`], [`emulator`]
//! (a Bot API stand-in for `dev`), [`ops`] (`ava dlq`), [`roles`] (`migrate`, `dev`) and [`cli`].

pub mod cli;
pub mod config;
pub mod conversation;
pub mod emulator;
pub mod ingress;
pub mod ops;
pub mod roles;
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
