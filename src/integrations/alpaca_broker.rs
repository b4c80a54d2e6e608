//! Alpaca's trading API (paper or live): account (`GET /v2/account`), positions
//! (`GET /v2/positions`), orders for stocks and single-leg options (`POST /v2/orders`, options by
//! OCC symbol) and their status (`GET /v2/orders/{id}`).
//!
//! Idempotency: AVA's key is sent as `client_order_id`, which Alpaca keeps unique per account. A
//! retry or a double tap gets Alpaca's "must be unique" 422, and the first order is read back
//! with `GET /v2/orders:by_client_order_id`: two orders are never placed. One Alpaca account
//! serves every chat, which is why a live broker needs an allowlist of traders.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    Account, Broker, Instrument, IntegrationError, OptionKind, OrderReceipt, OrderRequest, OrderStatus,
    Position, RateLimiter, Side,
    rest::{Answer, Rest, num},
    symbols,
};
use crate::config::BrokerSettings;

const SERVICE: &str = "broker";
/// Alpaca's longest `client_order_id`.
const MAX_CLIENT_ORDER_ID: usize = 128;

/// The Alpaca broker client.
#[derive(Clone)]
pub struct AlpacaBroker {
    rest: Rest,
}

/// The parts of Alpaca's order object AVA reads (numbers arrive as strings).
#[derive(Deserialize)]
struct AlpacaOrder {
    id: String,
    status: String,
    #[serde(default)]
    filled_qty: Value,
    #[serde(default)]
    filled_avg_price: Value,
    #[serde(default)]
    limit_price: Value,
}

impl AlpacaOrder {
    fn receipt(&self, duplicate: bool) -> OrderReceipt {
        let filled_quantity = num(&self.filled_qty).unwrap_or(0.0);
        OrderReceipt {
            order_id: self.id.clone(),
            fill_price: num(&self.filled_avg_price)
                .or_else(|| num(&self.limit_price))
                .unwrap_or(0.0),
            duplicate,
            status: status_of(&self.status),
            filled_quantity,
        }
    }
}

/// Alpaca's order statuses, folded into AVA's five.
pub(crate) fn status_of(alpaca: &str) -> OrderStatus {
    match alpaca {
        "filled" => OrderStatus::Filled,
        "partially_filled" => OrderStatus::PartiallyFilled,
        "rejected" => OrderStatus::Rejected,
        "canceled" | "expired" | "done_for_day" | "replaced" | "stopped" | "suspended" => {
            OrderStatus::Canceled
        }
        // new, accepted, pending_new, accepted_for_bidding, held, calculated, pending_*.
        _ => OrderStatus::Open,
    }
}

/// AVA's idempotency key as a `client_order_id` (a stable digest when it is too long).
pub fn client_order_id(key: &str) -> String {
    if key.len() <= MAX_CLIENT_ORDER_ID {
        return key.to_owned();
    }
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("ava-{h:016x}-{}", &key[..64])
}

fn unreadable(reason: impl std::fmt::Display) -> IntegrationError {
    IntegrationError::Unavailable {
        service: SERVICE,
        reason: format!("Alpaca: {reason}"),
    }
}

impl AlpacaBroker {
    /// A client for the endpoint `settings.broker.alpaca` and `broker.mode` choose.
    pub fn new(settings: &BrokerSettings, limiter: Option<RateLimiter>) -> anyhow::Result<Self> {
        let headers = vec![
            ("APCA-API-KEY-ID", settings.alpaca.key_id.clone()),
            ("APCA-API-SECRET-KEY", settings.alpaca.secret_key.clone()),
        ];
        let base = settings.alpaca.url_for(&settings.mode);
        Ok(Self {
            rest: Rest::new(
                SERVICE,
                &base,
                Duration::from_millis(settings.timeout_ms),
                headers,
                limiter,
            )?,
        })
    }

    fn failed(answer: &Answer) -> IntegrationError {
        match answer.status {
            StatusCode::UNAUTHORIZED => unreadable("unauthorized: check broker.alpaca.key_id and secret_key"),
            status => unreadable(format!("HTTP {status}: {}", answer.message())),
        }
    }

    async fn by_client_order_id(&self, id: &str) -> Result<AlpacaOrder, IntegrationError> {
        self.rest
            .get_json(
                "/v2/orders:by_client_order_id",
                &[("client_order_id", id.to_owned())],
                Self::failed,
            )
            .await
    }
}

/// The order's symbol as Alpaca names it: the ticker, or the OCC symbol of an option.
fn wire_symbol(order: &OrderRequest) -> String {
    match &order.instrument {
        Instrument::Stock => order.symbol.clone(),
        Instrument::Option { kind, strike, expiry } => {
            symbols::occ_symbol(&order.symbol, *expiry, *kind, *strike)
        }
    }
}

fn position(p: &Value) -> Option<Position> {
    let wire = p.get("symbol")?.as_str()?;
    let qty = num(p.get("qty")?)?;
    let average_price = num(p.get("avg_entry_price")?)?;
    let market_value = p.get("market_value").and_then(num).unwrap_or(qty * average_price);
    let (symbol, instrument, exposure) = match symbols::parse_occ(wire) {
        Some(occ) => {
            let instrument = format!(
                "{} {} {:.2}{}",
                occ.underlying,
                occ.expiry,
                occ.strike,
                if occ.kind == OptionKind::Put { "P" } else { "C" }
            );
            // A short put is exposure to the strike (its collateral); other options their value.
            let exposure = if occ.kind == OptionKind::Put && qty < 0.0 {
                occ.strike * 100.0 * -qty
            } else {
                market_value.abs()
            };
            (occ.underlying, instrument, exposure)
        }
        None => (wire.to_owned(), wire.to_owned(), market_value),
    };
    Some(Position {
        symbol,
        instrument,
        quantity: qty.round() as i64,
        average_price,
        exposure,
        market_price: p.get("current_price").and_then(num),
    })
}

impl Broker for AlpacaBroker {
    async fn account(&self, _account_id: i64) -> Result<Account, IntegrationError> {
        let account: Value = self.rest.get_json("/v2/account", &[], Self::failed).await?;
        let cash = account
            .get("cash")
            .and_then(num)
            .ok_or_else(|| unreadable("account without cash"))?;
        // Options buying power is what a cash-secured put may use: cash less collateral held.
        let buying_power = account
            .get("options_buying_power")
            .or_else(|| account.get("buying_power"))
            .and_then(num)
            .unwrap_or(cash);
        Ok(Account {
            cash,
            reserved: (cash - buying_power).max(0.0),
        })
    }

    async fn positions(&self, _account_id: i64) -> Result<Vec<Position>, IntegrationError> {
        let positions: Vec<Value> = self.rest.get_json("/v2/positions", &[], Self::failed).await?;
        Ok(positions.iter().filter_map(position).collect())
    }

    async fn place_order(
        &self,
        _account_id: i64,
        order: &OrderRequest,
        idempotency_key: &str,
    ) -> Result<OrderReceipt, IntegrationError> {
        let client_order_id = client_order_id(idempotency_key);
        let body = json!({
            "symbol": wire_symbol(order),
            "qty": order.quantity.to_string(),
            "side": match order.side { Side::Buy => "buy", Side::Sell => "sell" },
            "type": "limit",
            "time_in_force": "day",
            "limit_price": format!("{:.2}", order.limit_price),
            "client_order_id": client_order_id,
        });
        let answer = self
            .rest
            .send(self.rest.request(Method::POST, "/v2/orders").json(&body))
            .await?;
        if answer.status.is_success() {
            let placed: AlpacaOrder = answer.json(SERVICE)?;
            tracing::info!(order_id = %placed.id, status = %placed.status, order = %order.describe(), "alpaca order placed");
            return Ok(placed.receipt(false));
        }
        let message = answer.message();
        match answer.status {
            StatusCode::UNPROCESSABLE_ENTITY if message.contains("client_order_id") => {
                // Placed before (a retry, a double tap, or an answer lost on the way back).
                Ok(self.by_client_order_id(&client_order_id).await?.receipt(true))
            }
            // 403: not enough buying power or not allowed; 422: an order Alpaca will not take.
            StatusCode::FORBIDDEN | StatusCode::UNPROCESSABLE_ENTITY => {
                Err(IntegrationError::Rejected(message))
            }
            _ => Err(Self::failed(&answer)),
        }
    }

    async fn order_status(&self, _account_id: i64, order_id: &str) -> Result<OrderReceipt, IntegrationError> {
        if !order_id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(IntegrationError::Rejected(format!("no order {order_id}")));
        }
        let answer = self
            .rest
            .send(self.rest.request(Method::GET, &format!("/v2/orders/{order_id}")))
            .await?;
        match answer.status {
            s if s.is_success() => Ok(answer.json::<AlpacaOrder>(SERVICE)?.receipt(false)),
            StatusCode::NOT_FOUND | StatusCode::UNPROCESSABLE_ENTITY => {
                Err(IntegrationError::Rejected(format!("no order {order_id}")))
            }
            _ => Err(Self::failed(&answer)),
        }
    }
}
