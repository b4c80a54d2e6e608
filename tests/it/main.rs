//! AVA's integration tests: one binary, real Redis and Postgres, a fake Bot API.
//!
//! Each test gets its own Redis key prefix and its own Postgres schema, so tests run in parallel.
//! A test that cannot reach Redis or Postgres fails and says how to start them.

mod harness;
mod pg_proxy;
mod store_outage;
mod store_retention;
mod store_rows;
mod store_schema;
mod store_spool_full;
mod walking_skeleton;
