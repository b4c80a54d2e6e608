//! The chaos suite: AVA's real binaries (`ava ingress`, two `ava worker`s, `ava scheduler`) on a
//! redis-server of the suite's own, behind a fake Bot API, under load, while a fault is staged.
//! Each case prints what it checked and fails when a guarantee breaks:
//! every acknowledged update gets its reply (nothing lost), at most the jobs in flight at a kill
//! are answered twice, and each chat's replies come in the order its updates were acknowledged.
//!
//! Run it: `cargo test --test chaos -- --nocapture` (Redis and Postgres binaries as for the other
//! tests; the suite starts its own redis-servers and proxies on free loopback ports).

mod cases;
mod fake_telegram;
mod load;
mod processes;

/// Cases share the machine's two cores: one at a time.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
