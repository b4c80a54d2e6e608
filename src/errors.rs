//! The error policy, in one place.
//!
//! - **Typed errors (`thiserror`) at module boundaries** where the caller decides what to do by
//!   the kind of failure: [`crate::telegram::TelegramError`] (retry-after / retry / permanent),
//!   [`crate::ingress::AcceptError`] (malformed → 400, unavailable → 503),
//!   [`crate::integrations::IntegrationError`] (the user is told), [`crate::store::SpoolError`],
//!   `workers::BrokerError`, and [`crate::ingress::HttpError`], the one HTTP error type, whose
//!   answers never carry internals (hosts, DSNs, tokens go to the log only).
//! - **`anyhow` in glue code**: start-up, roles, CLI commands. Add what the operator needs to act
//!   with `.context(...)` (name the setting: "cannot connect to Redis at redis.url"), keeping the
//!   source error in the chain; do not flatten it into a string with `map_err(|e| anyhow!("{e}"))`.
//!   `main` prints the chain with `{:#}`.
//! - **Job failures are classified once, where they are known**, into `workers::Outcome`
//!   (`Retry`, `RetryAfter`, `Permanent`): Telegram's through `From<TelegramError> for Outcome`,
//!   a payload that does not decode is permanent (`jobs::Payload::decode`), Redis and Postgres
//!   failures in a handler are retries.
//! - **Log an error once, where it is handled**, not at every layer it passes through.
//! - Secrets never enter an error message: the Bot API client strips request URLs (they carry the
//!   token), and configuration errors name keys, not values.
