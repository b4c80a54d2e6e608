//! Price alerts as the conversation sees them.

use serde::{Deserialize, Serialize};

/// Which way the price must cross.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Price rises to or above the threshold.
    Above,
    /// Price falls to or below the threshold.
    Below,
}

impl Direction {
    /// `above` / `below`, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Above => "above",
            Direction::Below => "below",
        }
    }

    /// `>` / `<`.
    pub fn symbol(self) -> &'static str {
        match self {
            Direction::Above => ">",
            Direction::Below => "<",
        }
    }

    /// Whether `price` satisfies the alert's condition against `threshold`.
    pub fn crossed(self, price: f64, threshold: f64) -> bool {
        match self {
            Direction::Above => price >= threshold,
            Direction::Below => price <= threshold,
        }
    }
}

impl std::str::FromStr for Direction {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "above" | ">" | ">=" => Ok(Direction::Above),
            "below" | "<" | "<=" => Ok(Direction::Below),
            _ => Err(()),
        }
    }
}

/// One alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Id.
    pub id: i64,
    /// Ticker.
    pub symbol: String,
    /// Direction.
    pub direction: Direction,
    /// Threshold.
    pub price: f64,
    /// False once triggered, until re-armed.
    pub armed: bool,
}

impl Alert {
    /// "AAPL > 200.00".
    pub fn label(&self) -> String {
        format!("{} {} {:.2}", self.symbol, self.direction.symbol(), self.price)
    }
}

/// What a delete or re-arm did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum AlertChange {
    /// Deleted.
    Deleted(Alert),
    /// Armed again.
    Rearmed(Alert),
    /// No such alert in this chat (already deleted).
    NotFound(i64),
    /// Postgres, where alerts live, is unreachable: nothing changed, the user is told so.
    RecordsUnavailable,
}
