//! AVA's integration tests: one binary, real Redis and Postgres, a fake Bot API.
//!
//! Each test gets its own Redis key prefix and its own Postgres schema, so tests run in parallel.
//! A test that cannot reach Redis or Postgres fails and says how to start them.

mod access;
mod alerts;
mod breakers;
mod broker_conformance;
mod chat;
mod chat_page;
mod conversations;
mod correct_numbers;
mod dead_letters;
mod dev_app;
mod dev_role;
mod edge_fuzz;
mod edge_ingress;
mod edge_outbound;
mod edge_polling;
mod edge_process;
mod edge_rate_limit;
mod edge_redis_down;
mod edge_support;
mod edge_webhook_admin;
mod emulator;
mod emulator_more;
mod harness;
mod job_record;
mod leaks;
mod market_conformance;
mod one_process;
mod paper_cuts;
mod pg_proxy;
mod provider_fakes;
mod providers_chat;
mod rate_limits;
mod scheduler;
mod secrets;
mod store_outage;
mod store_retention;
mod store_rows;
mod store_schema;
mod store_spool_full;
mod walking_skeleton;
mod webdriver;
mod worker_role;
