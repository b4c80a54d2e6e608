//! The command line: one binary, one subcommand per role.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::{config::Settings, ingress, ops, roles, scheduler, shutdown, telemetry, worker};

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
    /// The ingress: the webhook HTTP server, or the getUpdates poller with ingress.mode = "polling".
    Ingress,
    /// Leases and runs jobs.
    Worker,
    /// Enqueues periodic work (alerts, data collection, timeouts, retention); one leader acts.
    Scheduler,
    /// Applies the database migrations.
    Migrate,
    /// Every role in one process, with a Bot API emulator, for local use.
    Dev,
    // Telegram edge commands, kept together.
    /// The ingress in polling mode: long-polls getUpdates instead of receiving webhooks.
    Poll,
    /// Registers, removes or shows the bot's webhook at Telegram.
    #[command(subcommand)]
    Webhook(WebhookCommand),
    /// The dead-letter queue: list, show, replay, purge, stats.
    Dlq(ops::dlq::DlqArgs),
    /// Lane depths, jobs in flight, delayed jobs, dead letters and the live workers.
    Queues(ops::queues::QueuesArgs),
    /// A user's inbound rate limit: show or reset.
    #[command(subcommand)]
    Limits(ingress::limits_admin::LimitsCommand),
    /// The Postgres record: `ava store rejected list | replay` for the log rows Postgres refused.
    #[command(subcommand)]
    Store(ops::rejected::StoreCommand),
    /// The configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
}

/// `ava config …`
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Prints the effective configuration, every secret redacted, each key with its source
    /// (default, file, env).
    Show,
}

/// `ava webhook …`
#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    /// Registers the webhook; generates and prints a secret once if none is configured.
    Set(ingress::webhook_admin::SetArgs),
    /// Removes the webhook (needed before polling).
    Delete {
        /// Drop the updates waiting at Telegram.
        #[arg(long)]
        drop_pending_updates: bool,
    },
    /// Shows the webhook's URL, pending_update_count and last error.
    Info,
}

/// Parses the command line, loads settings and runs the chosen role.
pub async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Command::Config(ConfigCommand::Show) = cli.command {
        // Before logging starts: this prints to stdout and runs nothing.
        print!("{}", crate::config::show(cli.config.as_deref())?);
        return Ok(());
    }
    let mut settings = Settings::load(cli.config.as_deref())?;
    let mut log = settings.log.clone();
    if matches!(cli.command, Command::Dev) {
        roles::quiet_dev_logs(&mut log);
    }
    telemetry::init(&log)?;
    let shutdown = shutdown::on_signals();
    match cli.command {
        Command::Ingress => ingress::run(settings, None, shutdown).await,
        Command::Worker => worker::run(settings, None, shutdown).await,
        Command::Scheduler => scheduler::run(settings, shutdown).await,
        Command::Migrate => roles::migrate(&settings).await,
        Command::Dev => roles::dev(settings, None, shutdown).await,
        Command::Poll => {
            settings.ingress.mode = crate::config::IngressMode::Polling;
            ingress::run(settings, None, shutdown).await
        }
        Command::Webhook(command) => {
            let out = match command {
                WebhookCommand::Set(args) => ingress::webhook_admin::set(&settings, &args).await?,
                WebhookCommand::Delete { drop_pending_updates } => {
                    ingress::webhook_admin::delete(&settings, drop_pending_updates).await?
                }
                WebhookCommand::Info => ingress::webhook_admin::info(&settings).await?,
            };
            print!("{out}");
            Ok(())
        }
        Command::Dlq(command) => {
            print!("{}", ops::dlq::run(&settings, command).await?);
            Ok(())
        }
        Command::Config(ConfigCommand::Show) => unreachable!("handled before settings load"),
        Command::Store(command) => {
            print!("{}", ops::rejected::run(&settings, command).await?);
            Ok(())
        }
        Command::Queues(args) => {
            print!("{}", ops::queues::run(&settings, args).await?);
            Ok(())
        }
        Command::Limits(command) => {
            print!("{}", ingress::limits_admin::run(&settings, command).await?);
            Ok(())
        }
    }
}
