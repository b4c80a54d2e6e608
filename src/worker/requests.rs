//! Answers the conversation's requests: market data, analysis, risk checks, orders, alerts,
//! status. External failures become part of the answer (the user is told). So does Postgres
//! being unreachable (a connection lost, a failover, a statement timeout): the user hears "I can't
//! reach my records right now" at once, instead of the job retrying into the dead-letter queue
//! while they hear nothing. Other Postgres errors (a lost lock race, a bug) and Redis failures
//! are errors, and the job is retried.

use chrono::{Duration, Utc};

use super::Worker;
use crate::{
    conversation::{AlertChange, Event, Fetched, PortfolioView, Request, risk, strategy},
    integrations::RECORDS,
    integrations::{IntegrationError, PricePoint, ServiceHealth},
    store::{
        alerts,
        batch::{Failure, classify},
        prices,
    },
};

/// A Postgres result the user waits on: unreachable becomes an answer, other errors stay errors.
fn from_records<T>(result: Result<T, sqlx::Error>) -> anyhow::Result<Fetched<T>> {
    match result {
        Ok(value) => Ok(Ok(value)),
        Err(e) if classify(&e) == Failure::Unavailable => {
            tracing::warn!(error = %e, "Postgres unreachable for a user's request; telling the user");
            Ok(Err(IntegrationError::Unavailable {
                service: RECORDS,
                reason: e.to_string(),
            }))
        }
        Err(e) => Err(e.into()),
    }
}

impl Worker {
    /// The event answering `request`.
    pub(super) async fn answer(
        &self,
        chat_id: i64,
        account_id: i64,
        event_id: &str,
        request: Request,
    ) -> anyhow::Result<Event> {
        let market = &self.conv.integrations;
        let pool = self.store.pool();
        Ok(match request {
            Request::Quote { symbol, purpose } => Event::Quote {
                purpose,
                result: market.quote(&symbol).await,
                symbol,
            },
            Request::Series {
                symbol,
                days,
                purpose,
            } => Event::Series {
                purpose,
                result: self.series(&symbol, days).await?,
                symbol,
                days,
            },
            Request::Compare { symbols, days } => {
                let mut rows = Vec::with_capacity(symbols.len());
                for symbol in symbols {
                    let series = self.series(&symbol, days).await?;
                    rows.push((symbol, series));
                }
                Event::Comparison { days, rows }
            }
            Request::Analyse { symbol, strategy } => Event::Analysis {
                strategy,
                result: self.analyse(&symbol, strategy).await,
            },
            Request::OptionChain { ask } => {
                let result = async {
                    let quote = market.quote(&ask.symbol).await?;
                    Ok((quote, market.options_chain(&ask.symbol).await?))
                }
                .await;
                Event::OptionChain { ask, result }
            }
            Request::CheckRisk { mut order, strategy } => {
                // One key per confirmation, derived from the event that minted it: a retried job
                // mints the same key, so it can never lead to a second order.
                let key = format!("{chat_id}:{event_id}");
                let result = async {
                    if order.limit_price <= 0.0 {
                        order.limit_price = market.quote(&order.symbol).await?.price;
                    }
                    let account = market.account(account_id).await?;
                    let positions = market.positions(account_id).await?;
                    Ok(risk::check(
                        &order,
                        &account,
                        &positions,
                        self.conv.max_position_share,
                    ))
                }
                .await;
                Event::RiskChecked {
                    order,
                    key,
                    strategy,
                    result,
                }
            }
            Request::PlaceOrder { order, key } => Event::OrderPlaced {
                result: market.place_order(account_id, &order, &key).await,
            },
            Request::Portfolio => {
                let result = async {
                    let account = market.account(account_id).await?;
                    let mut positions = market.positions(account_id).await?;
                    market.mark_to_market(&mut positions).await;
                    Ok(PortfolioView { account, positions })
                }
                .await;
                Event::Portfolio { result }
            }
            Request::SetAlert {
                symbol,
                direction,
                price,
            } => {
                // Keyed by the event, like orders: a retried job finds the alert it already added.
                let key = format!("{chat_id}:{event_id}");
                let result = match market.quote(&symbol).await {
                    // Already there: the alert would fire at once, reporting a crossing that
                    // happened before it was set.
                    Ok(quote) if direction.crossed(quote.price, price) => {
                        Err(IntegrationError::Rejected(format!(
                            "{symbol} is already at {:.2}, {} {price:.2}, so that alert would go off at once. \
                             Pick a level it has not reached yet",
                            quote.price,
                            match direction {
                                crate::conversation::Direction::Above => "at or above",
                                crate::conversation::Direction::Below => "at or below",
                            }
                        )))
                    }
                    Ok(quote) => {
                        match from_records(
                            alerts::insert(pool, chat_id, &key, &symbol, direction, price).await,
                        )? {
                            Ok(Some(alert)) => Ok((alert, quote.price)),
                            Ok(None) => Err(IntegrationError::Rejected(format!(
                                "you already have {} alerts; delete one in /alerts first",
                                alerts::MAX_PER_CHAT
                            ))),
                            Err(e) => Err(e),
                        }
                    }
                    Err(e) => Err(e),
                };
                Event::AlertSaved { result }
            }
            Request::ListAlerts => Event::Alerts {
                result: from_records(alerts::list(pool, chat_id).await)?,
            },
            Request::DeleteAlert { id } => Event::AlertChanged {
                change: match from_records(alerts::delete(pool, chat_id, id).await)? {
                    Ok(Some(alert)) => AlertChange::Deleted(alert),
                    Ok(None) => AlertChange::NotFound(id),
                    Err(_) => AlertChange::RecordsUnavailable,
                },
            },
            Request::RearmAlert { id } => Event::AlertChanged {
                change: match from_records(alerts::rearm(pool, chat_id, id).await)? {
                    Ok(Some(alert)) => AlertChange::Rearmed(alert),
                    Ok(None) => AlertChange::NotFound(id),
                    Err(_) => AlertChange::RecordsUnavailable,
                },
            },
            Request::Understand { text } => Event::Understood {
                result: self.understand(chat_id, &text).await?,
            },
            Request::Transcribe {
                file_id,
                duration_secs,
                size_bytes,
            } => Event::Transcribed {
                result: self.transcribe(&file_id, duration_secs, size_bytes).await,
            },
            Request::Status => {
                let mut services = market.health();
                // The optional language services, when configured, show their breakers too.
                let optional = [
                    self.conv.voice.as_ref().map(|v| v.guard()),
                    self.conv.nlu.as_ref().map(|n| n.guard()),
                ];
                services.extend(optional.into_iter().flatten().map(|g| ServiceHealth {
                    service: g.service().to_owned(),
                    state: g.breaker().state(),
                }));
                Event::Status { services }
            }
            Request::Stats => Event::Stats {
                rows: self.stats().await?,
            },
        })
    }

    /// Operator figures over the last 24 hours, for /stats.
    async fn stats(&self) -> anyhow::Result<Vec<(String, i64)>> {
        let row: (i64, i64, i64, i64, i64) = sqlx::query_as(
            "SELECT
                 (SELECT count(*) FROM message_log WHERE received_at > now() - interval '24 hours'),
                 (SELECT count(DISTINCT user_id) FROM message_log WHERE received_at > now() - interval '24 hours'),
                 (SELECT count(*) FROM orders WHERE created_at > now() - interval '24 hours'),
                 (SELECT count(*) FROM access_denied WHERE at > now() - interval '24 hours'),
                 (SELECT count(*) FROM dead_letters WHERE status = 'dead')",
        )
        .fetch_one(self.store.pool())
        .await?;
        Ok(vec![
            ("updates".into(), row.0),
            ("users".into(), row.1),
            ("orders".into(), row.2),
            ("refusals".into(), row.3),
            ("open dead letters".into(), row.4),
        ])
    }

    async fn analyse(&self, symbol: &str, strategy: strategy::Strategy) -> Fetched<strategy::Analysis> {
        let market = &self.conv.integrations;
        let quote = market.quote(symbol).await?;
        let chain = market.options_chain(symbol).await?;
        strategy::analyse(&quote, &chain, strategy, quote.at.date_naive()).ok_or_else(|| {
            IntegrationError::Rejected(format!(
                "no listed option fits a {} on {symbol} right now",
                strategy.label()
            ))
        })
    }

    /// Daily prices over `days` from `price_history`; when the table does not reach back far
    /// enough yet, the provider's daily history fills it first. Postgres unreachable is an answer.
    pub(super) async fn series(&self, symbol: &str, days: u32) -> anyhow::Result<Fetched<Vec<PricePoint>>> {
        match self.series_from_records(symbol, days).await {
            Ok(series) => Ok(series),
            Err(e) => match e.downcast::<sqlx::Error>() {
                Ok(e) => from_records(Err(e)),
                Err(e) => Err(e),
            },
        }
    }

    async fn series_from_records(&self, symbol: &str, days: u32) -> anyhow::Result<Fetched<Vec<PricePoint>>> {
        let pool = self.store.pool();
        let since = Utc::now() - Duration::days(i64::from(days));
        let mut points = prices::since(pool, symbol, since).await?;
        let reaches_back = points
            .first()
            .is_some_and(|p| p.at <= since + Duration::hours(36));
        if !reaches_back {
            match self.conv.integrations.history(symbol, days).await {
                Ok(history) => {
                    prices::record(pool, symbol, &history).await?;
                    points = prices::since(pool, symbol, since).await?;
                }
                Err(e) if points.len() < 2 => return Ok(Err(e)),
                Err(e) => {
                    tracing::warn!(symbol, error = %e, "history backfill failed; using what was collected")
                }
            }
        }
        Ok(Ok(daily(points)))
    }
}

/// One point per day, the day's last: the collector's 5-minute quotes and daily closes mix.
fn daily(points: Vec<PricePoint>) -> Vec<PricePoint> {
    let mut out: Vec<PricePoint> = Vec::with_capacity(points.len());
    for p in points {
        match out.last_mut() {
            Some(last) if last.at.date_naive() == p.at.date_naive() => *last = p,
            _ => out.push(p),
        }
    }
    out
}
