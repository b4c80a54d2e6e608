//! How answers read: prices, history, trends, comparisons, portfolio, alerts, status.

use super::{
    alerts::{Alert, AlertChange},
    effect::{Button, Effect, Reply, SeriesPurpose},
    event::{Fetched, PortfolioView},
    state::State,
    strategy::Analysis,
    text::{html_escape, money, pct},
};
use crate::integrations::{
    BreakerState, IntegrationError, Position, PricePoint, Quote, ServiceHealth, pct_change,
};

/// Moving-average window of /trend, in points.
const MA_WINDOW: usize = 7;

/// The sentence for a failed external call.
pub(crate) fn unavailable(e: &IntegrationError) -> String {
    match e {
        IntegrationError::BreakerOpen {
            service,
            retry_in_secs,
        } => format!(
            "⚠️ {} is paused after repeated failures (retry in {retry_in_secs}s).",
            capitalise(service)
        ),
        IntegrationError::Unavailable { service, .. } if *service == crate::integrations::RECORDS => {
            "⚠️ I can't reach my records right now.".to_owned()
        }
        IntegrationError::Unavailable { service, .. } => {
            format!("⚠️ {} isn't answering right now.", capitalise(service))
        }
        IntegrationError::UnknownSymbol(s) => format!("I don't know the ticker {s}."),
        IntegrationError::Rejected(reason) => format!("Refused: {reason}."),
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

fn failure(e: &IntegrationError) -> Effect {
    match e {
        IntegrationError::UnknownSymbol(s) => Effect::send(format!(
            "I don't know the ticker {s}. Check the symbol, e.g. AAPL."
        )),
        other => Effect::send(format!("{} Try again in a minute.", unavailable(other))),
    }
}

/// /price
pub(crate) fn price(result: Fetched<Quote>) -> Effect {
    match result {
        Ok(q) => Effect::send(format!(
            "{} {} ({} today, prev close {})",
            q.symbol,
            money(q.price),
            pct(q.change_pct()),
            money(q.previous_close)
        )),
        Err(e) => failure(&e),
    }
}

/// /history and /trend
pub(crate) fn series(
    purpose: SeriesPurpose,
    symbol: &str,
    days: u32,
    result: Fetched<Vec<PricePoint>>,
) -> Effect {
    let points = match result {
        Ok(points) if points.len() >= 2 => points,
        Ok(_) => {
            return Effect::send(format!(
                "Not enough price history for {symbol} over {days} days yet."
            ));
        }
        Err(e) => return failure(&e),
    };
    let first = points[0].price;
    let last = points[points.len() - 1].price;
    let (min, max) = points.iter().fold((f64::MAX, f64::MIN), |(lo, hi), p| {
        (lo.min(p.price), hi.max(p.price))
    });
    match purpose {
        SeriesPurpose::History => {
            // At most ~10 rows on a phone: sample evenly, always keeping the latest.
            let stride = points.len().div_ceil(10).max(1);
            let mut rows: Vec<&PricePoint> = points.iter().rev().step_by(stride).collect();
            rows.reverse();
            let lines: Vec<String> = rows
                .iter()
                .map(|p| format!("{}  {:>10}", p.at.format("%b %d"), money(p.price)))
                .collect();
            Effect::Send(Reply::html(format!(
                "<b>{}</b>, last {days} days: {}\n<pre>{}</pre>",
                html_escape(symbol),
                pct(pct_change(first, last)),
                html_escape(&lines.join("\n"))
            )))
        }
        SeriesPurpose::Trend => {
            let window = MA_WINDOW.min(points.len());
            let ma = points[points.len() - window..]
                .iter()
                .map(|p| p.price)
                .sum::<f64>()
                / window as f64;
            let direction = if last > ma { "above" } else { "below" };
            Effect::send(format!(
                "{symbol} over {days} days: {}\nLow {} · High {}\n{window}-point moving average {} (price is {direction} it)\nLast {}",
                pct(pct_change(first, last)),
                money(min),
                money(max),
                money(ma),
                money(last)
            ))
        }
    }
}

/// /compare
pub(crate) fn comparison(days: u32, rows: &[(String, Fetched<Vec<PricePoint>>)]) -> Effect {
    let mut lines = vec![format!("{:<6} {:>10} {:>8}", "", "last", format!("{days}d"))];
    for (symbol, result) in rows {
        lines.push(match result {
            Ok(points) if points.len() >= 2 => {
                let first = points[0].price;
                let last = points[points.len() - 1].price;
                format!(
                    "{symbol:<6} {:>10} {:>8}",
                    money(last),
                    pct(pct_change(first, last))
                )
            }
            Ok(_) => format!("{symbol:<6} no data yet"),
            Err(IntegrationError::UnknownSymbol(_)) => format!("{symbol:<6} unknown ticker"),
            Err(_) => format!("{symbol:<6} unavailable"),
        });
    }
    Effect::Send(Reply::html(format!(
        "<pre>{}</pre>",
        html_escape(&lines.join("\n"))
    )))
}

/// The analysis card.
pub(crate) fn analysis(a: &Analysis) -> Effect {
    let wheel = match a.strategy {
        super::strategy::Strategy::Wheel => {
            "\nWheel: if assigned at the strike, you own 100 shares; then sell covered calls on them."
        }
        _ => "",
    };
    Effect::send(
        format!(
            "{} on {} (at {})\nSell the {} {} {}, {} days\nPremium {} per share ({} per contract)\nAnnualised return {:.1}% on {}\nBreak-even {}",
            a.strategy.label(),
            a.symbol,
            money(a.spot),
            a.expiry.format("%b %d"),
            money(a.strike),
            match a.order.instrument {
                crate::integrations::Instrument::Option {
                    kind: crate::integrations::OptionKind::Call,
                    ..
                } => "call",
                _ => "put",
            },
            a.days,
            money(a.premium),
            money(a.premium * 100.0),
            a.annualised_pct,
            money(a.capital),
            money(a.break_even)
        ) + wheel,
    )
}

/// /portfolio
pub(crate) fn portfolio(result: Fetched<PortfolioView>) -> Effect {
    let view = match result {
        Ok(view) => view,
        Err(e) => return failure(&e),
    };
    let known: Vec<f64> = view.positions.iter().filter_map(Position::market_value).collect();
    let complete = known.len() == view.positions.len();
    let equity = view.account.cash + known.iter().sum::<f64>();
    let mut text = format!(
        "💼 Equity {}{} · cash {} · buying power {}",
        money(equity),
        if complete {
            ""
        } else {
            " (some prices unavailable)"
        },
        money(view.account.cash),
        money(view.account.buying_power())
    );
    if view.positions.is_empty() {
        text.push_str("\nNo positions yet. Try \"analyze a stock\" or /buy AAPL 10.");
    }
    let mut total_pnl = 0.0;
    for p in &view.positions {
        match (p.market_price, p.market_value(), p.unrealised_pnl()) {
            (Some(price), Some(value), Some(pnl)) => {
                total_pnl += pnl;
                let cost = (p.average_price * p.quantity as f64 * p.multiplier()).abs();
                text.push_str(&format!(
                    "\n{} × {} @ {} → {} = {} · P&L {}{}",
                    p.quantity,
                    p.instrument,
                    money(p.average_price),
                    money(price),
                    money(value),
                    signed_money(pnl),
                    if cost > 0.0 {
                        format!(" ({})", pct(pnl / cost * 100.0))
                    } else {
                        String::new()
                    },
                ));
            }
            _ => text.push_str(&format!(
                "\n{} × {} @ {} · price unavailable",
                p.quantity,
                p.instrument,
                money(p.average_price)
            )),
        }
    }
    if !view.positions.is_empty() {
        text.push_str(&format!("\nUnrealised P&L {}", signed_money(total_pnl)));
    }
    Effect::send(text)
}

/// `+$12.50` / `-$3.00`.
fn signed_money(x: f64) -> String {
    if x >= 0.0 {
        format!("+{}", money(x))
    } else {
        money(x)
    }
}

/// /alert answer.
pub(crate) fn alert_saved(result: Fetched<(Alert, f64)>) -> Effect {
    match result {
        Ok((alert, now)) => Effect::send(format!(
            "🔔 Alert #{} set: {} (now {}). I'll tell you once when it crosses. /alerts lists them.",
            alert.id,
            alert.label(),
            money(now)
        )),
        Err(e) => failure(&e),
    }
}

/// /alerts: one button per alert (delete), plus re-arm for triggered ones.
pub(crate) fn alerts(result: Fetched<Vec<Alert>>) -> Effect {
    let alerts = match result {
        Ok(alerts) => alerts,
        Err(e) => return failure(&e),
    };
    if alerts.is_empty() {
        return Effect::send("You have no alerts. Set one: /alert AAPL > 200");
    }
    let mut lines = vec!["Your alerts:".to_owned()];
    let mut keyboard = Vec::new();
    for a in &alerts {
        let status = if a.armed { "on" } else { "triggered, off" };
        lines.push(format!("#{} {} ({status})", a.id, a.label()));
        let mut row = vec![Button::new(
            format!("🗑 #{} {}", a.id, a.label()),
            format!("alert:del:{}", a.id),
        )];
        if !a.armed {
            row.push(Button::new(
                format!("🔁 Re-arm #{}", a.id),
                format!("alert:rearm:{}", a.id),
            ));
        }
        keyboard.push(row);
    }
    Effect::Send(Reply::text(lines.join("\n")).with_keyboard(keyboard))
}

/// Delete / re-arm answer.
pub(crate) fn alert_changed(change: &AlertChange) -> Effect {
    Effect::send(match change {
        AlertChange::Deleted(a) => format!("Deleted alert #{} ({}).", a.id, a.label()),
        AlertChange::Rearmed(a) => format!("Alert #{} ({}) is on again.", a.id, a.label()),
        AlertChange::NotFound(id) => format!("Alert #{id} no longer exists."),
        AlertChange::RecordsUnavailable => {
            "⚠️ I can't reach my records right now. Try again in a minute.".to_owned()
        }
    })
}

/// /status
pub(crate) fn status(state: &State, services: &[ServiceHealth]) -> Effect {
    let doing = state
        .describe()
        .map(|d| format!("In progress: {d}. /cancel stops it."))
        .unwrap_or_else(|| "Nothing in progress.".to_owned());
    let lines: Vec<String> = services
        .iter()
        .map(|s| {
            let state = match s.state {
                BreakerState::Closed => "✅ working",
                BreakerState::HalfOpen => "🟡 recovering",
                BreakerState::Open => "🔴 paused after failures",
            };
            format!("{}: {state}", capitalise(&s.service))
        })
        .collect();
    Effect::send(format!("{doing}\n{}", lines.join("\n")))
}
