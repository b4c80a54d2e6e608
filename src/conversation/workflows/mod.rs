//! Multi-step workflows, one per file.

pub(super) mod analysis;
pub(super) mod guided;
pub(super) mod trade;
