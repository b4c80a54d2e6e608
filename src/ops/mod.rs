//! Operator tools: `ava dlq …` over the job runtime's dead-letter queue.

pub mod dlq;
