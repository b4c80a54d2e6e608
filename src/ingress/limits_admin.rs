//! `ava limits show|reset USER_ID`: a user's inbound rate limit (the per-user token bucket the
//! ingress keeps in Redis).

use std::fmt::Write;

use clap::Subcommand;

use super::InboundLimiter;
use crate::config::Settings;

/// `ava limits …`
#[derive(Debug, Subcommand)]
pub enum LimitsCommand {
    /// Where a user stands: tokens left, whether the next update would be dropped.
    Show {
        /// Telegram user id.
        user_id: i64,
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Gives the user a full bucket again (and lets them be told about the limit again).
    Reset {
        /// Telegram user id.
        user_id: i64,
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// The limiter of the configured deployment.
pub async fn limiter(settings: &Settings) -> anyhow::Result<InboundLimiter> {
    let backends = crate::app::Backends::connect(settings).await?;
    Ok(InboundLimiter::new(
        backends.redis.clone(),
        backends.prefix(),
        &settings.inbound_limit,
    ))
}

/// Runs one `ava limits` command and returns what to print.
pub async fn run(settings: &Settings, command: LimitsCommand) -> anyhow::Result<String> {
    let limiter = limiter(settings).await?;
    let mut out = String::new();
    match command {
        LimitsCommand::Show { user_id, json } => {
            let status = limiter.show(user_id).await?;
            if json {
                writeln!(out, "{}", serde_json::to_string_pretty(&status)?)?;
            } else {
                writeln!(
                    out,
                    "user {user_id}: {:.2} of {} token(s), refill {}/s; {}{}",
                    status.tokens,
                    status.burst,
                    status.refill_per_sec,
                    if status.limited {
                        "LIMITED: the next update is dropped"
                    } else {
                        "not limited"
                    },
                    if status.notice_quiet_secs > 0 {
                        format!(
                            "; told about the limit, quiet for {} s more",
                            status.notice_quiet_secs
                        )
                    } else {
                        String::new()
                    }
                )?;
                if !settings.inbound_limit.enabled {
                    writeln!(out, "note: inbound_limit.enabled is false; nobody is limited")?;
                }
            }
        }
        LimitsCommand::Reset { user_id, json } => {
            let had = limiter.reset(user_id).await?;
            tracing::info!(user_id, had, "inbound limit reset");
            if json {
                writeln!(out, "{}", serde_json::json!({ "user_id": user_id, "reset": had }))?;
            } else if had {
                writeln!(out, "user {user_id}: limit reset; they have a full bucket again")?;
            } else {
                writeln!(out, "user {user_id}: nothing to reset (already a full bucket)")?;
            }
        }
    }
    Ok(out)
}
