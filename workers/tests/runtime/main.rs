//! The runtime's tests: one conformance suite run against every backend (memory, Redis, a local
//! 3-master Redis Cluster), plus multi-process order and kill tests and a property test.
//!
//! Redis tests use 127.0.0.1:6379 (override with AVA_TEST_REDIS_URL), each under its own key
//! prefix, and fail with instructions when Redis is not running.

mod cluster;
mod conformance;
mod hooks;
mod metrics;
mod processes;
mod property;
mod suite;
mod support;
