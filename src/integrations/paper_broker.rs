//! The paper broker: each chat's account, orders and positions in Postgres. Orders fill at once
//! at their limit price. Money is kept in cents. Options as a broker treats them: a short put
//! holds its strike × 100 as collateral, a short call must be covered by 100 shares a contract.

use sqlx::{PgPool, Row};

use super::{
    Account, Broker, Instrument, IntegrationError, OptionKind, OrderReceipt, OrderRequest, OrderStatus,
    Position, Side,
};

const SERVICE: &str = "broker";

fn db_error(e: sqlx::Error) -> IntegrationError {
    IntegrationError::Unavailable {
        service: SERVICE,
        reason: format!("paper ledger: {e}"),
    }
}

fn cents(dollars: f64) -> i64 {
    (dollars * 100.0).round() as i64
}

fn dollars(cents: i64) -> f64 {
    cents as f64 / 100.0
}

/// The paper broker.
#[derive(Clone)]
pub struct PaperBroker {
    pool: PgPool,
    starting_cents: i64,
}

impl PaperBroker {
    /// A broker on `pool`; new accounts start with `starting_cents`.
    pub fn new(pool: PgPool, starting_cents: i64) -> Self {
        Self { pool, starting_cents }
    }

    async fn open_account<'c, E: sqlx::PgExecutor<'c>>(
        &self,
        db: E,
        account_id: i64,
    ) -> Result<(), IntegrationError> {
        sqlx::query(
            "INSERT INTO accounts (id, cash_cents, reserved_cents) VALUES ($1, $2, 0) ON CONFLICT (id) DO NOTHING",
        )
        .bind(account_id)
        .bind(self.starting_cents)
        .execute(db)
        .await
        .map_err(db_error)?;
        Ok(())
    }
}

impl Broker for PaperBroker {
    async fn account(&self, account_id: i64) -> Result<Account, IntegrationError> {
        self.open_account(&self.pool, account_id).await?;
        let row = sqlx::query("SELECT cash_cents, reserved_cents FROM accounts WHERE id = $1")
            .bind(account_id)
            .fetch_one(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(Account {
            cash: dollars(row.get("cash_cents")),
            reserved: dollars(row.get("reserved_cents")),
        })
    }

    async fn positions(&self, account_id: i64) -> Result<Vec<Position>, IntegrationError> {
        let rows = sqlx::query(
            "SELECT symbol, instrument, quantity, average_price_cents, exposure_cents
             FROM positions WHERE account_id = $1 AND quantity <> 0 ORDER BY instrument",
        )
        .bind(account_id)
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(rows
            .iter()
            .map(|r| Position {
                symbol: r.get("symbol"),
                instrument: r.get("instrument"),
                quantity: r.get("quantity"),
                average_price: dollars(r.get("average_price_cents")),
                exposure: dollars(r.get("exposure_cents")),
                market_price: None,
            })
            .collect())
    }

    async fn place_order(
        &self,
        account_id: i64,
        order: &OrderRequest,
        idempotency_key: &str,
    ) -> Result<OrderReceipt, IntegrationError> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        self.open_account(&mut *tx, account_id).await?;
        let price_cents = cents(order.limit_price);
        let inserted: Option<i64> = sqlx::query_scalar(
            "INSERT INTO orders (account_id, idempotency_key, symbol, instrument, side, quantity, price_cents, status, details)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'filled', $8)
             ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
        )
        .bind(account_id)
        .bind(idempotency_key)
        .bind(&order.symbol)
        .bind(order.position_name())
        .bind(match order.side {
            Side::Buy => "buy",
            Side::Sell => "sell",
        })
        .bind(order.quantity as i32)
        .bind(price_cents)
        .bind(serde_json::to_value(order).unwrap_or_default())
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_error)?;
        let Some(order_id) = inserted else {
            // Same confirmation seen before (double tap or job retry): report the first order.
            let (id, price, quantity): (i64, i64, i32) =
                sqlx::query_as("SELECT id, price_cents, quantity FROM orders WHERE idempotency_key = $1")
                    .bind(idempotency_key)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db_error)?;
            tx.commit().await.map_err(db_error)?;
            return Ok(OrderReceipt {
                order_id: format!("P-{id}"),
                fill_price: dollars(price),
                duplicate: true,
                status: OrderStatus::Filled,
                filled_quantity: f64::from(quantity),
            });
        };

        let units = i64::from(order.quantity);
        if matches!(
            (&order.instrument, order.side),
            (
                Instrument::Option {
                    kind: OptionKind::Call,
                    ..
                },
                Side::Sell
            )
        ) {
            // A covered call is covered by 100 shares per contract, counting calls already sold.
            let held: Vec<(String, i64)> = sqlx::query_as(
                "SELECT instrument, quantity FROM positions WHERE account_id = $1 AND symbol = $2",
            )
            .bind(account_id)
            .bind(&order.symbol)
            .fetch_all(&mut *tx)
            .await
            .map_err(db_error)?;
            let shares: i64 = held
                .iter()
                .filter(|(i, _)| *i == order.symbol)
                .map(|(_, q)| *q)
                .sum();
            let short_calls: i64 = held
                .iter()
                .filter(|(i, q)| *i != order.symbol && i.ends_with('C') && *q < 0)
                .map(|(_, q)| -q)
                .sum();
            let free = shares - short_calls * 100;
            if free < units * 100 {
                return Err(IntegrationError::Rejected(format!(
                    "a covered call needs 100 shares of {} per contract; {} uncovered shares are held",
                    order.symbol,
                    free.max(0)
                )));
            }
        }
        let notional = price_cents * units * order.multiplier() as i64;
        let signed_qty = match order.side {
            Side::Buy => units,
            Side::Sell => -units,
        };
        let (cash_delta, reserve_delta, exposure) = match (&order.instrument, order.side) {
            (Instrument::Stock, Side::Buy) => (-notional, 0, notional),
            (Instrument::Stock, Side::Sell) => (notional, 0, -notional),
            (
                Instrument::Option {
                    kind: OptionKind::Put,
                    strike,
                    ..
                },
                Side::Sell,
            ) => {
                let collateral = cents(*strike) * 100 * units;
                (notional, collateral, collateral)
            }
            // Covered calls are backed by shares; bought options cost their premium.
            (Instrument::Option { .. }, Side::Sell) => (notional, 0, 0),
            (Instrument::Option { .. }, Side::Buy) => (-notional, 0, notional),
        };
        let row = sqlx::query(
            "UPDATE accounts SET cash_cents = cash_cents + $2, reserved_cents = reserved_cents + $3
             WHERE id = $1 RETURNING cash_cents - reserved_cents AS free",
        )
        .bind(account_id)
        .bind(cash_delta)
        .bind(reserve_delta)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_error)?;
        let free: i64 = row.get("free");
        if free < 0 {
            // Dropping the transaction rolls back the order and the balance change.
            return Err(IntegrationError::Rejected(format!(
                "not enough buying power: short by ${:.2}",
                dollars(-free)
            )));
        }
        sqlx::query(
            "INSERT INTO positions (account_id, symbol, instrument, quantity, average_price_cents, exposure_cents)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (account_id, instrument) DO UPDATE SET
                 average_price_cents = CASE WHEN positions.quantity + EXCLUDED.quantity = 0 THEN 0
                     ELSE (positions.average_price_cents * positions.quantity + EXCLUDED.average_price_cents * EXCLUDED.quantity)
                          / (positions.quantity + EXCLUDED.quantity) END,
                 quantity = positions.quantity + EXCLUDED.quantity,
                 exposure_cents = positions.exposure_cents + EXCLUDED.exposure_cents,
                 updated_at = now()",
        )
        .bind(account_id)
        .bind(&order.symbol)
        .bind(order.position_name())
        .bind(signed_qty)
        .bind(price_cents)
        .bind(exposure)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        tracing::info!(order_id, account_id, order = %order.describe(), "paper order filled");
        Ok(OrderReceipt {
            order_id: format!("P-{order_id}"),
            fill_price: order.limit_price,
            duplicate: false,
            status: OrderStatus::Filled,
            filled_quantity: f64::from(order.quantity),
        })
    }

    async fn order_status(&self, account_id: i64, order_id: &str) -> Result<OrderReceipt, IntegrationError> {
        let not_found = || IntegrationError::Rejected(format!("no order {order_id}"));
        let id: i64 = order_id
            .strip_prefix("P-")
            .and_then(|n| n.parse().ok())
            .ok_or_else(not_found)?;
        let row: Option<(i64, i32)> =
            sqlx::query_as("SELECT price_cents, quantity FROM orders WHERE id = $1 AND account_id = $2")
                .bind(id)
                .bind(account_id)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_error)?;
        let (price, quantity) = row.ok_or_else(not_found)?;
        // Paper orders fill whole, at once.
        Ok(OrderReceipt {
            order_id: order_id.to_owned(),
            fill_price: dollars(price),
            duplicate: false,
            status: OrderStatus::Filled,
            filled_quantity: f64::from(quantity),
        })
    }
}
