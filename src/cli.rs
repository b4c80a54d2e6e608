//! The command line: one binary, one subcommand per role.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::{config::Settings, ingress, ops, roles, shutdown, telemetry, worker};

/// AVA: a Telegram bot platform for traders.
#[derive(Debug, Parser)]
#[command(name = "ava", version, about)]
pub struct Cli {
    /// Extra TOML configuration layered over config/default.toml (environment variables still win).
    #[arg(long, global = true, env = "AVA_CONFIG")]
    pub config: Option<PathBuf>,
    /// The role to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Roles and tools.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// The webhook HTTP server.
    Ingress,
    /// Leases and runs jobs.
    Worker,
    /// Applies the database migrations.
    Migrate,
    /// Every role in one process, with a Bot API emulator, for local use.
    Dev,
    /// The dead-letter queue: list, show, replay, purge, stats.
    #[command(subcommand)]
    Dlq(ops::dlq::DlqCommand),
}

/// Parses the command line, loads settings and runs the chosen role.
pub async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = Settings::load(cli.config.as_deref())?;
    telemetry::init(&settings.log);
    let shutdown = shutdown::on_signals();
    match cli.command {
        Command::Ingress => ingress::run(settings, shutdown).await,
        Command::Worker => worker::run(settings, shutdown).await,
        Command::Migrate => roles::migrate(&settings).await,
        Command::Dev => roles::dev(settings, shutdown).await,
        Command::Dlq(command) => {
            print!("{}", ops::dlq::run(&settings, command).await?);
            Ok(())
        }
    }
}
