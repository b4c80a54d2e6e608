//! Trade execution: preview → risk checks (explained when they fail) → Yes/No → place once per
//! confirmation key → report. Used by /buy and at the end of the stock analysis.

use super::super::{
    effect::{Button, Effect, Reply, Request},
    event::Fetched,
    menu,
    risk::RiskReport,
    state::{Proposal, State},
    strategy::Strategy,
    text::money,
    views,
};
use crate::integrations::{Instrument, IntegrationError, OrderReceipt, OrderRequest, OrderStatus, Side};

fn confirm_keyboard(key: &str) -> Vec<Vec<Button>> {
    vec![vec![
        Button::new("✅ Yes, execute", format!("confirm:yes:{key}")),
        Button::new("✖️ No", format!("confirm:no:{key}")),
    ]]
}

/// /buy SYMBOL QTY: price it and check it first.
pub(crate) fn start_buy(state: State, symbol: String, quantity: u32) -> (State, Vec<Effect>) {
    let order = OrderRequest {
        symbol,
        instrument: Instrument::Stock,
        side: Side::Buy,
        quantity,
        // Zero: priced at the market by the risk check.
        limit_price: 0.0,
    };
    (
        state,
        vec![Effect::Request(Request::CheckRisk {
            order,
            strategy: None,
        })],
    )
}

/// Risk checks came back: ask for confirmation, or explain what failed.
pub(crate) fn on_risk_checked(
    state: State,
    order: OrderRequest,
    key: String,
    strategy: Option<Strategy>,
    result: Fetched<RiskReport>,
) -> (State, Vec<Effect>) {
    match result {
        Ok(report) if report.passed() => {
            let text = format!(
                "Preview: {}\nNeeds {} of your {} buying power; {} would be {:.0}% of your portfolio (limit {:.0}%).\nExecute?",
                order.describe(),
                money(report.required_cash.max(0.0)),
                money(report.buying_power),
                order.symbol,
                report.share_after * 100.0,
                report.max_share * 100.0
            );
            let reply = Reply::text(text).with_keyboard(confirm_keyboard(&key));
            (
                State::AwaitingConfirmation {
                    proposal: Proposal {
                        order,
                        key,
                        strategy,
                        starter: None,
                    },
                },
                vec![Effect::Send(reply)],
            )
        }
        Ok(report) => {
            let reasons: Vec<String> = report.problems.iter().map(|p| format!("• {p}")).collect();
            (
                State::Idle,
                vec![Effect::send(format!(
                    "I can't place {}:\n{}",
                    order.describe(),
                    reasons.join("\n")
                ))],
            )
        }
        Err(IntegrationError::UnknownSymbol(s)) => (
            state,
            vec![Effect::send(format!(
                "I don't know the ticker {s}. Check the symbol, e.g. AAPL."
            ))],
        ),
        Err(e) => (
            state,
            vec![Effect::send(format!(
                "{} I couldn't run the risk checks, so nothing was placed.",
                views::unavailable(&e)
            ))],
        ),
    }
}

/// `confirm:yes:KEY` / `confirm:no:KEY`. `Err` gives the state back when the button is stale
/// (already answered, or an older confirmation): nothing is placed.
pub(crate) fn on_confirm_button(
    state: State,
    rest: &str,
    message_id: Option<i64>,
) -> Result<(State, Vec<Effect>), State> {
    let Some((answer, key)) = rest.split_once(':') else {
        return Err(state);
    };
    match &state {
        State::AwaitingConfirmation { proposal } if proposal.key == key => {
            let proposal = proposal.clone();
            Ok(decide(state, proposal, answer == "yes", message_id))
        }
        _ => Err(state),
    }
}

/// "yes" / "no" typed instead of tapped. `Err` gives the state back when the text is neither.
pub(crate) fn on_confirmation_text(state: State, input: &str) -> Result<(State, Vec<Effect>), State> {
    let State::AwaitingConfirmation { proposal } = &state else {
        return Err(state);
    };
    let proposal = proposal.clone();
    let options = vec![
        menu::names(&[
            "yes",
            "y",
            "execute",
            "yes execute",
            "yes, execute",
            "confirm",
            "yes please",
        ]),
        menu::names(&["no", "n", "nope", "no thanks", "don't", "dont"]),
    ];
    // Numbers are not accepted here: an order is placed only on a word that means yes.
    if menu::normalise(input).parse::<f64>().is_ok() {
        return Err(state);
    }
    match menu::pick(input, &options) {
        Some(0) => Ok(decide(state, proposal, true, None)),
        Some(_) => Ok(decide(state, proposal, false, None)),
        None => Err(state),
    }
}

/// The Yes/No buttons again, after text that was neither.
pub(crate) fn reprompt_confirmation(state: State) -> (State, Vec<Effect>) {
    let State::AwaitingConfirmation { proposal } = &state else {
        return (state, vec![]);
    };
    let key = proposal.key.clone();
    (
        state,
        vec![Effect::Send(
            Reply::text("Tap Yes or No, or /cancel.").with_keyboard(confirm_keyboard(&key)),
        )],
    )
}

fn decide(state: State, proposal: Proposal, yes: bool, message_id: Option<i64>) -> (State, Vec<Effect>) {
    let note = if yes {
        format!("⏳ Placing: {}", proposal.order.describe())
    } else {
        format!("Not executed: {}", proposal.order.describe())
    };
    let mut effects = vec![match message_id {
        Some(message_id) => Effect::Edit {
            message_id,
            reply: Reply::text(note),
        },
        None => Effect::send(note),
    }];
    if !yes {
        return (State::Idle, effects);
    }
    effects.push(Effect::Request(Request::PlaceOrder {
        order: proposal.order,
        key: proposal.key,
    }));
    // Still awaiting confirmation until the broker answers: a failure can be retried with Yes.
    (state, effects)
}

/// The broker answered.
pub(crate) fn on_order_placed(state: State, result: Fetched<OrderReceipt>) -> (State, Vec<Effect>) {
    let State::AwaitingConfirmation { proposal } = &state else {
        return (state, vec![]);
    };
    match result {
        Ok(receipt) => {
            let extra = match proposal.strategy {
                Some(Strategy::Wheel) => "\nWheel: if assigned, sell covered calls on the shares next.",
                _ => "",
            };
            let again = if receipt.duplicate {
                " (It had already been placed; nothing new was sent.)"
            } else {
                ""
            };
            let what = proposal.order.describe();
            let text = match receipt.status {
                OrderStatus::Filled => format!(
                    "✅ Order {} placed: {what}, filled at {}.{again}{extra}\n/portfolio shows your positions.",
                    receipt.order_id,
                    money(receipt.fill_price),
                ),
                OrderStatus::PartiallyFilled => format!(
                    "🟡 Order {} placed: {what}, partially filled ({} so far at {}); the rest is still working.{again}{extra}",
                    receipt.order_id,
                    receipt.filled_quantity,
                    money(receipt.fill_price),
                ),
                OrderStatus::Open => format!(
                    "🕓 Order {} sent: {what}. The broker accepted it; it is not filled yet.{again}{extra}",
                    receipt.order_id,
                ),
                OrderStatus::Rejected => {
                    format!("❌ The broker rejected order {}: {what}.", receipt.order_id)
                }
                OrderStatus::Canceled => {
                    format!(
                        "❌ Order {} was cancelled before it filled: {what}.",
                        receipt.order_id
                    )
                }
            };
            (State::Idle, vec![Effect::send(text)])
        }
        Err(IntegrationError::Rejected(reason)) => (
            State::Idle,
            vec![Effect::send(format!(
                "❌ The broker rejected the order: {reason}"
            ))],
        ),
        Err(e) => {
            let key = proposal.key.clone();
            (
                state,
                vec![Effect::Send(
                    Reply::text(format!(
                        "{} Nothing was placed. Tap Yes to try again, or No.",
                        views::unavailable(&e)
                    ))
                    .with_keyboard(confirm_keyboard(&key)),
                )],
            )
        }
    }
}
