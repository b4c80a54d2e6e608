//! `ava dlq list | show | replay | purge | stats`: the dead-letter API of the `workers` crate on
//! the configured Redis queue. Replay and purge refuse to act on everything unless told `--all`,
//! and each leaves a `dead_letter_audit` row (who, when, the filter as given, the job ids); a dry
//! run changes nothing and records nothing.

use std::{fmt::Write, time::Duration};

use clap::{Args, Subcommand};
use serde_json::{Map, Value, json};
use workers::{DeadLetter, DeadLetterFilter, DeadLetters, Lane, Selection};

use crate::{
    app::Backends,
    config::Settings,
    store::{DeadLetterAction, DeadLetterAudit, LogWriter, new_log_key},
};

/// `ava dlq …`
#[derive(Debug, Subcommand)]
pub enum DlqCommand {
    /// Dead letters, newest first, a page at a time.
    List {
        #[command(flatten)]
        filter: FilterArgs,
        /// Skip this many matches.
        #[arg(long, default_value_t = 0)]
        offset: usize,
        /// Show at most this many.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// One dead letter in full.
    Show {
        /// Its job id.
        id: String,
    },
    /// Queue dead letters again under new ids (the old ids are kept in their history).
    Replay {
        #[command(flatten)]
        selection: SelectionArgs,
        /// Into this lane instead of each one's original lane.
        #[arg(long, value_parser = parse_lane)]
        to_lane: Option<Lane>,
    },
    /// Delete dead letters.
    Purge {
        #[command(flatten)]
        selection: SelectionArgs,
        /// Only count what would be deleted.
        #[arg(long)]
        dry_run: bool,
    },
    /// Counts by lane and error class.
    Stats,
}

/// Filters shared by list, replay and purge.
#[derive(Debug, Clone, Default, Args)]
pub struct FilterArgs {
    /// Only this lane (high, normal, low).
    #[arg(long, value_parser = parse_lane)]
    pub lane: Option<Lane>,
    /// Only this error class (permanent, retries_exhausted, panic, lease_expired,
    /// deferred_too_long).
    #[arg(long)]
    pub class: Option<String>,
    /// Only those whose error contains this text (case-insensitive).
    #[arg(long)]
    pub text: Option<String>,
    /// Only those dead at least this long, e.g. 30m, 2h, 7d.
    #[arg(long, value_parser = parse_age)]
    pub older_than: Option<Duration>,
    /// Only those dead at most this long.
    #[arg(long, value_parser = parse_age)]
    pub newer_than: Option<Duration>,
}

/// What replay and purge apply to: ids, a filter, or `--all`.
#[derive(Debug, Clone, Default, Args)]
pub struct SelectionArgs {
    /// These job ids (repeatable).
    #[arg(long = "id")]
    pub ids: Vec<String>,
    /// Every dead letter.
    #[arg(long, conflicts_with = "ids")]
    pub all: bool,
    #[command(flatten)]
    pub filter: FilterArgs,
}

impl FilterArgs {
    fn to_filter(&self) -> DeadLetterFilter {
        DeadLetterFilter {
            lane: self.lane,
            class: self.class.clone(),
            text: self.text.clone(),
            older_than: self.older_than,
            newer_than: self.newer_than,
        }
    }

    fn is_empty(&self) -> bool {
        self.lane.is_none()
            && self.class.is_none()
            && self.text.is_none()
            && self.older_than.is_none()
            && self.newer_than.is_none()
    }
}

impl SelectionArgs {
    fn to_selection(&self) -> anyhow::Result<Selection> {
        if !self.ids.is_empty() {
            anyhow::ensure!(self.filter.is_empty(), "give either --id or filters, not both");
            return Ok(Selection::Ids(self.ids.clone()));
        }
        if self.all {
            anyhow::ensure!(self.filter.is_empty(), "--all takes no filters");
            return Ok(Selection::All);
        }
        anyhow::ensure!(
            !self.filter.is_empty(),
            "say which dead letters: --id ID, a filter (--lane, --class, --text, --older-than, --newer-than) or --all"
        );
        Ok(Selection::Matching(self.filter.to_filter()))
    }
}

/// Runs one `ava dlq` command and returns what to print.
pub async fn run(settings: &Settings, command: DlqCommand) -> anyhow::Result<String> {
    let backends = Backends::connect(settings).await?;
    let dlq = DeadLetters::new(backends.queue.clone());
    let mut out = String::new();
    match command {
        DlqCommand::List {
            filter,
            offset,
            limit,
        } => {
            let page = dlq.list(&filter.to_filter(), offset, limit).await?;
            writeln!(
                out,
                "{} dead letter(s) match; showing {} from offset {offset}",
                page.total,
                page.items.len()
            )?;
            for letter in &page.items {
                writeln!(
                    out,
                    "{}  {:<6} key={} class={} attempts={} dead={} error={}",
                    letter.id,
                    letter.lane,
                    letter.key,
                    letter.class,
                    letter.attempts,
                    time(letter.dead_at_ms),
                    preview(letter.error.as_bytes(), 80)
                )?;
            }
            if let Some(next) = page.next_offset {
                writeln!(out, "more: --offset {next}")?;
            }
        }
        DlqCommand::Show { id } => match dlq.show(&id).await? {
            Some(letter) => describe(&mut out, &letter)?,
            None => anyhow::bail!("no dead letter with id {id:?}"),
        },
        DlqCommand::Replay { selection, to_lane } => {
            let chosen = selection.to_selection()?;
            let audit = Audit::start(&backends);
            let replayed = dlq.replay(&chosen, to_lane).await?;
            writeln!(out, "replayed {} dead letter(s)", replayed.len())?;
            for r in &replayed {
                writeln!(out, "{} -> {} ({})", r.old_id, r.new_id, r.lane)?;
            }
            let ids = replayed.into_iter().map(|r| r.old_id).collect();
            let filter = selection.as_given(to_lane);
            out.push_str(&audit.record(DeadLetterAction::Replay, filter, ids).await?);
        }
        DlqCommand::Purge { selection, dry_run } => {
            let chosen = selection.to_selection()?;
            if dry_run {
                let count = dlq.purge(&chosen, true).await?;
                writeln!(
                    out,
                    "would delete {count} dead letter(s) (dry run, nothing deleted)"
                )?;
            } else {
                let audit = Audit::start(&backends);
                let purged = dlq.purge_listed(&chosen, false).await?;
                writeln!(out, "deleted {} dead letter(s)", purged.removed)?;
                let filter = selection.as_given(None);
                out.push_str(&audit.record(DeadLetterAction::Purge, filter, purged.ids).await?);
            }
        }
        DlqCommand::Stats => {
            let stats = dlq.stats().await?;
            writeln!(out, "dead letters: {}", stats.total)?;
            for (lane, n) in &stats.by_lane {
                writeln!(out, "  lane {lane}: {n}")?;
            }
            for (class, n) in &stats.by_class {
                writeln!(out, "  class {class}: {n}")?;
            }
            if let (Some(oldest), Some(newest)) = (stats.oldest_dead_at_ms, stats.newest_dead_at_ms) {
                writeln!(out, "  oldest {}  newest {}", time(oldest), time(newest))?;
            }
        }
    }
    Ok(out)
}

impl SelectionArgs {
    /// The selection as the operator gave it, for the audit trail (ages in seconds).
    fn as_given(&self, to_lane: Option<Lane>) -> Value {
        let f = &self.filter;
        let mut given = Map::new();
        let mut put = |key: &str, value: Value| {
            given.insert(key.to_owned(), value);
        };
        if !self.ids.is_empty() {
            put("ids", json!(self.ids));
        }
        if self.all {
            put("all", json!(true));
        }
        if let Some(lane) = f.lane {
            put("lane", json!(lane.as_str()));
        }
        if let Some(class) = &f.class {
            put("class", json!(class));
        }
        if let Some(text) = &f.text {
            put("text", json!(text));
        }
        if let Some(age) = f.older_than {
            put("older_than_secs", json!(age.as_secs()));
        }
        if let Some(age) = f.newer_than {
            put("newer_than_secs", json!(age.as_secs()));
        }
        if let Some(lane) = to_lane {
            put("to_lane", json!(lane.as_str()));
        }
        Value::Object(given)
    }
}

/// The audit trail of one replay or purge. Started before acting, so a store that cannot even
/// be set up stops the command before it changes anything.
struct Audit {
    log: LogWriter,
}

impl Audit {
    fn start(backends: &Backends) -> Self {
        Self {
            log: backends.log.clone(),
        }
    }

    /// Records the action and flushes the writer (this process is about to exit); returns a note
    /// for the operator.
    async fn record(
        self,
        action: DeadLetterAction,
        filter: Value,
        job_ids: Vec<String>,
    ) -> anyhow::Result<String> {
        let actor = cli_actor();
        self.log
            .record(DeadLetterAudit {
                log_key: new_log_key(),
                action,
                actor: actor.clone(),
                filter,
                job_ids,
                at: chrono::Utc::now(),
            })
            .await;
        let flushed = self.log.flush().await;
        anyhow::ensure!(
            flushed.held == 0,
            "the {} was done, but its audit row reached neither Postgres nor the Redis spool",
            action.as_str()
        );
        Ok(if flushed.postgres_up {
            format!("audit: {} by {actor} recorded\n", action.as_str())
        } else {
            format!(
                "audit: {} by {actor} spooled in Redis (Postgres unreachable); a worker writes it when Postgres is back\n",
                action.as_str()
            )
        })
    }
}

/// Who runs the command, as the audit trail names them.
fn cli_actor() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".to_owned());
    format!("cli:{user}")
}

fn describe(out: &mut String, l: &DeadLetter) -> std::fmt::Result {
    writeln!(out, "id:            {}", l.id)?;
    writeln!(out, "kind:          {}", l.kind)?;
    writeln!(out, "lane:          {}", l.lane)?;
    writeln!(out, "key:           {}", l.key)?;
    writeln!(out, "class:         {}", l.class)?;
    writeln!(out, "error:         {}", l.error)?;
    writeln!(out, "attempts:      {}", l.attempts)?;
    writeln!(out, "enqueued:      {}", time(l.enqueued_at_ms))?;
    writeln!(out, "first attempt: {}", time(l.first_attempt_at_ms))?;
    writeln!(out, "last attempt:  {}", time(l.last_attempt_at_ms))?;
    writeln!(out, "dead since:    {}", time(l.dead_at_ms))?;
    if !l.replayed_from.is_empty() {
        writeln!(out, "earlier ids:   {}", l.replayed_from.join(", "))?;
    }
    writeln!(out, "payload:       {}", preview(&l.payload, 2000))
}

fn time(ms: u64) -> String {
    chrono::DateTime::from_timestamp_millis(ms as i64)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S%.3fZ").to_string())
        .unwrap_or_else(|| ms.to_string())
}

fn preview(bytes: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut short: String = text.chars().take(max).collect();
    if text.chars().count() > max {
        short.push('…');
    }
    short.replace('\n', " ")
}

fn parse_lane(s: &str) -> Result<Lane, String> {
    s.parse()
}

/// `90s`, `15m`, `2h`, `7d`.
fn parse_age(s: &str) -> Result<Duration, String> {
    let (number, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{s:?}: expected e.g. 90s, 15m, 2h, 7d"))?;
    let secs = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => return Err(format!("{s:?}: unit must be s, m, h or d")),
    };
    Ok(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_parse_with_units() {
        assert_eq!(parse_age("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_age("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_age("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert!(parse_age("7").is_err());
        assert!(parse_age("h").is_err());
    }

    #[test]
    fn replay_and_purge_need_an_explicit_selection() {
        assert!(SelectionArgs::default().to_selection().is_err());
        let all = SelectionArgs {
            all: true,
            ..Default::default()
        };
        assert!(matches!(all.to_selection(), Ok(Selection::All)));
    }
}
