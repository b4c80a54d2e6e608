//! Text the intent parser cannot place, understood by an optional language model (the worker
//! calls it: `Request::Understand`). The model answers in AVA's intent schema; the answer is
//! turned into a canonical phrase and validated by the same parser as typed text, so the model
//! can ask for nothing a person could not type, and every trade still needs the explicit Yes.

use serde::{Deserialize, Serialize};

use super::{
    commands,
    effect::Effect,
    free_text,
    intent::{self, Intent},
    state::State,
    text,
};

/// Longest general answer shown, in characters.
const MAX_ANSWER_CHARS: usize = 700;

/// The model's answer, in the JSON schema the model is given (see [`schema`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ModelAnswer {
    /// One of [`INTENTS`].
    pub intent: String,
    /// Tickers, upper case.
    pub symbols: Vec<String>,
    /// Period in days (history, trend).
    pub days: Option<u32>,
    /// `above` or `below` (alert).
    pub direction: Option<String>,
    /// Alert threshold.
    pub price: Option<f64>,
    /// Shares or contracts (buy, sell).
    pub quantity: Option<u32>,
    /// `shares`, `put` or `call` (buy, sell).
    pub option: Option<String>,
    /// Option strike.
    pub strike: Option<f64>,
    /// Option expiry `YYYY-MM-DD`.
    pub expiry: Option<String>,
    /// A short paragraph, for `answer` (a general question about a symbol or a strategy).
    pub answer: Option<String>,
}

/// Intents the model may choose from.
pub const INTENTS: &[&str] = &[
    "price",
    "history",
    "trend",
    "compare",
    "alert",
    "alerts",
    "portfolio",
    "analyze",
    "buy",
    "sell",
    "cancel",
    "help",
    "answer",
    "unknown",
];

/// Why the model gave no answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum NluFailure {
    /// `nlu.provider = "none"`.
    Off,
    /// The user's `nlu.daily_requests_per_user` is spent.
    OverBudget,
    /// Breaker open, timeout, HTTP error or an answer outside the schema.
    Failed(String),
}

/// The JSON schema of [`ModelAnswer`], for Anthropic's `input_schema` and OpenAI's `parameters`.
pub fn schema() -> serde_json::Value {
    serde_json::json!({
        "type": "object",
        "properties": {
            "intent": { "type": "string", "enum": INTENTS },
            "symbols": { "type": "array", "items": { "type": "string" }, "maxItems": 5 },
            "days": { "type": "integer", "minimum": 2, "maximum": 366 },
            "direction": { "type": "string", "enum": ["above", "below"] },
            "price": { "type": "number", "exclusiveMinimum": 0 },
            "quantity": { "type": "integer", "minimum": 1 },
            "option": { "type": "string", "enum": ["shares", "put", "call"] },
            "strike": { "type": "number", "exclusiveMinimum": 0 },
            "expiry": { "type": "string", "pattern": "^\\d{4}-\\d{2}-\\d{2}$" },
            "answer": { "type": "string", "maxLength": 700 }
        },
        "required": ["intent"]
    })
}

/// The instructions the model gets with every message.
pub const SYSTEM_PROMPT: &str = "You are the language front end of AVA, a Telegram trading assistant. \
Map the user's message to exactly one call of the ava_intent tool. Use upper-case tickers (crypto as \
BTC-USDT). Use intent \"answer\" only for a general question about a symbol or an options strategy, \
with a neutral paragraph of at most 3 sentences and no advice to trade. Use \"unknown\" for anything else.";

/// A ticker as typed text may name it: plausible, or a crypto pair such as `BTC-USDT`.
fn valid_symbol(s: &str) -> Option<String> {
    if let Some(symbol) = commands::symbol(s) {
        return Some(symbol);
    }
    let upper = s.trim().to_uppercase();
    let base = upper.strip_suffix("-USDT")?;
    ((2..=6).contains(&base.len()) && base.chars().all(|c| c.is_ascii_alphabetic())).then_some(upper)
}

fn num(x: f64) -> String {
    format!("{x}")
}

impl ModelAnswer {
    /// The canonical phrase of this answer, or `None` when it lacks what its intent needs or holds
    /// anything that is not a plausible ticker or number.
    pub fn phrase(&self) -> Option<String> {
        let symbols: Vec<String> = self
            .symbols
            .iter()
            .map(|s| valid_symbol(s))
            .collect::<Option<_>>()?;
        let one = || match symbols.as_slice() {
            [s] => Some(s.clone()),
            _ => None,
        };
        Some(match self.intent.as_str() {
            "price" => format!("price {}", one()?),
            "history" => format!("history {} {} days", one()?, self.days.unwrap_or(7)),
            "trend" => format!("trend {} {} days", one()?, self.days.unwrap_or(30)),
            "compare" if (2..=5).contains(&symbols.len()) => format!("compare {}", symbols.join(" ")),
            "alert" => {
                let op = match self.direction.as_deref()? {
                    "above" => ">",
                    "below" => "<",
                    _ => return None,
                };
                format!(
                    "alert {} {op} {}",
                    one()?,
                    num(self.price.filter(|p| p.is_finite() && *p > 0.0)?)
                )
            }
            "alerts" => "alerts".into(),
            "portfolio" => "portfolio".into(),
            "help" => "help".into(),
            "cancel" => "cancel".into(),
            "analyze" => match symbols.as_slice() {
                [] => "analyze".into(),
                _ => format!("analyze {}", one()?),
            },
            side @ ("buy" | "sell") => {
                let mut words = vec![side.to_owned()];
                if let Some(q) = self.quantity {
                    words.push(q.to_string());
                }
                words.push(one()?);
                if let Some(e) = &self.expiry {
                    chrono::NaiveDate::parse_from_str(e, "%Y-%m-%d").ok()?;
                    words.push(e.clone());
                }
                if let Some(k) = self.strike.filter(|k| k.is_finite() && *k > 0.0) {
                    words.push(format!("${}", num(k)));
                }
                match self.option.as_deref() {
                    Some("put") => words.push("put".into()),
                    Some("call") => words.push("call".into()),
                    _ => {}
                }
                words.join(" ")
            }
            _ => return None,
        })
    }
}

/// The model answered (or could not): run the validated intent, show a general answer marked
/// as such, or say it is not understood.
pub(crate) fn on_understood(state: State, result: Result<ModelAnswer, NluFailure>) -> (State, Vec<Effect>) {
    let answer = match result {
        Ok(answer) => answer,
        Err(NluFailure::OverBudget) => {
            return (
                state,
                vec![Effect::send(format!(
                    "{} (I've answered all the free-form questions I can for you today.)",
                    text::DONT_UNDERSTAND
                ))],
            );
        }
        Err(NluFailure::Off | NluFailure::Failed(_)) => {
            return (state, vec![Effect::send(text::DONT_UNDERSTAND)]);
        }
    };
    if answer.intent == "answer" {
        let words: String = answer
            .answer
            .unwrap_or_default()
            .chars()
            .take(MAX_ANSWER_CHARS)
            .collect();
        if words.trim().is_empty() {
            return (state, vec![Effect::send(text::DONT_UNDERSTAND)]);
        }
        return (
            state,
            vec![Effect::send(format!(
                "💬 General answer (written by a language model, not advice):\n{}",
                words.trim()
            ))],
        );
    }
    // Validated exactly like typed text: the phrase must parse to the same kind of intent.
    match answer.phrase().and_then(|p| intent::parse(&p)) {
        Some(parsed) if matches!(parsed.intent, Intent::Command(_) | Intent::Trade(_)) => {
            free_text::on_intent(state, parsed)
        }
        _ => (state, vec![Effect::send(text::DONT_UNDERSTAND)]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phrases_of_model_answers() {
        let a = ModelAnswer {
            intent: "alert".into(),
            symbols: vec!["BTC-USDT".into()],
            direction: Some("above".into()),
            price: Some(110_000.0),
            ..ModelAnswer::default()
        };
        assert_eq!(a.phrase().as_deref(), Some("alert BTC-USDT > 110000"));
    }
}
