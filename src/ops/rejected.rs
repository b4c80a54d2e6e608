//! `ava store rejected list | replay`: the log rows Postgres refused (`rejected_rows`), shown with
//! their error and written again once the cause is fixed.

use std::fmt::Write;

use clap::Subcommand;

use crate::{
    config::Settings,
    store::{Store, rejected},
};

/// `ava store …`
#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Log rows Postgres refused: list them, or write them again.
    #[command(subcommand)]
    Rejected(RejectedCommand),
}

/// `ava store rejected …`
#[derive(Debug, Subcommand)]
pub enum RejectedCommand {
    /// Refused rows, oldest first, with Postgres' error.
    List {
        /// Include rows already replayed.
        #[arg(long)]
        all: bool,
        /// Show at most this many.
        #[arg(long, default_value_t = 50)]
        limit: i64,
        /// One JSON document instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Writes open refused rows to Postgres again; those refused again stay open with the new error.
    Replay {
        /// Only this row (repeatable).
        #[arg(long = "id")]
        ids: Vec<i64>,
        /// Every open row.
        #[arg(long, conflicts_with = "ids")]
        all: bool,
        /// One JSON document instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// Runs `command`; returns what to print.
pub async fn run(settings: &Settings, command: StoreCommand) -> anyhow::Result<String> {
    let StoreCommand::Rejected(command) = command;
    let store = Store::connect_lazy(&settings.database, 0)?;
    let pool = store.pool();
    match command {
        RejectedCommand::List { all, limit, json } => {
            if limit < 1 {
                anyhow::bail!("--limit must be at least 1");
            }
            let rows = rejected::list(pool, all, limit).await?;
            if json {
                return Ok(format!("{}\n", serde_json::to_string_pretty(&rows)?));
            }
            Ok(list_text(&rows, all))
        }
        RejectedCommand::Replay { ids, all, json } => {
            if ids.is_empty() && !all {
                anyhow::bail!(
                    "name the rows to replay with --id N (repeatable), or replay every open row with --all"
                );
            }
            let report = rejected::replay(pool, &ids).await?;
            if json {
                return Ok(format!("{}\n", serde_json::to_string_pretty(&report)?));
            }
            Ok(replay_text(&report, &ids))
        }
    }
}

fn list_text(rows: &[rejected::RejectedRow], all: bool) -> String {
    let mut out = String::new();
    let which = if all { "" } else { "open " };
    if rows.is_empty() {
        let _ = writeln!(out, "no {which}rejected rows");
        return out;
    }
    let _ = writeln!(out, "{} {which}rejected row(s), oldest first:", rows.len());
    for row in rows {
        let replayed = row
            .replayed_at
            .map(|at| format!("  replayed {}", at.format("%Y-%m-%d %H:%M:%SZ")))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "#{}  {}  {}  SQLSTATE {}{replayed}\n    error: {}\n    row:   {}",
            row.id,
            row.rejected_at.format("%Y-%m-%d %H:%M:%SZ"),
            row.kind,
            row.sqlstate.as_deref().unwrap_or("-"),
            row.error,
            row.row_json,
        );
    }
    out
}

fn replay_text(report: &rejected::ReplayReport, ids: &[i64]) -> String {
    let mut out = String::new();
    let missing: Vec<i64> = ids
        .iter()
        .copied()
        .filter(|id| !report.replayed.contains(id) && !report.refused.iter().any(|(r, _)| r == id))
        .collect();
    if report.replayed.is_empty() && report.refused.is_empty() {
        let _ = writeln!(out, "nothing to replay: no open rejected rows matched");
    }
    if !report.replayed.is_empty() {
        let list: Vec<String> = report.replayed.iter().map(|id| format!("#{id}")).collect();
        let _ = writeln!(
            out,
            "replayed {} row(s): {}",
            report.replayed.len(),
            list.join(", ")
        );
    }
    if !report.refused.is_empty() {
        let _ = writeln!(out, "refused again {} row(s) (kept open):", report.refused.len());
        for (id, error) in &report.refused {
            let _ = writeln!(out, "  #{id}: {error}");
        }
    }
    if !missing.is_empty() {
        let list: Vec<String> = missing.iter().map(|id| format!("#{id}")).collect();
        let _ = writeln!(out, "not open (unknown or already replayed): {}", list.join(", "));
    }
    out
}
