//! One conformance suite for every `Broker`: the paper broker (Postgres) and Alpaca (a fake
//! speaking its trading API). Idempotent orders, rejections, status, options; then what only
//! one of them does (Alpaca's partial fills, the paper broker's option collateral).

use std::future::Future;

use ava::{
    config::{Secret, Settings},
    integrations::{
        AlpacaBroker, Broker, Instrument, IntegrationError, OptionKind, OrderRequest, OrderStatus,
        PaperBroker, Side,
    },
};
use chrono::NaiveDate;

use crate::{
    harness::TestApp,
    provider_fakes::{self, KEY_ID, SECRET_KEY},
};

fn stock(side: Side, quantity: u32, limit_price: f64) -> OrderRequest {
    OrderRequest {
        symbol: "AAPL".into(),
        instrument: Instrument::Stock,
        side,
        quantity,
        limit_price,
    }
}

fn option(kind: OptionKind, strike: f64, quantity: u32, premium: f64) -> OrderRequest {
    OrderRequest {
        symbol: "AAPL".into(),
        instrument: Instrument::Option {
            kind,
            strike,
            expiry: NaiveDate::from_ymd_opt(2026, 12, 18).unwrap(),
        },
        side: Side::Sell,
        quantity,
        limit_price: premium,
    }
}

/// `placed` counts the orders the broker holds, so a duplicate that placed twice shows.
async fn conforms<B, F, Fut>(broker: &B, account: i64, name: &str, placed: F)
where
    B: Broker,
    F: Fn() -> Fut,
    Fut: Future<Output = usize>,
{
    let balances = broker.account(account).await.unwrap();
    assert!(
        balances.cash > 0.0 && balances.buying_power() > 0.0,
        "{name}: {balances:?}"
    );

    let before = placed().await;
    let order = stock(Side::Buy, 2, 100.0);
    let first = broker.place_order(account, &order, "conf:1").await.unwrap();
    let again = broker.place_order(account, &order, "conf:1").await.unwrap();
    assert!(!first.duplicate && again.duplicate, "{name}");
    assert_eq!(
        first.order_id, again.order_id,
        "{name}: a retry finds the first order"
    );
    assert_eq!(
        placed().await,
        before + 1,
        "{name}: a double tap places one order"
    );

    let status = broker.order_status(account, &first.order_id).await.unwrap();
    assert_eq!(status.status, OrderStatus::Filled, "{name}: {status:?}");
    assert_eq!(status.filled_quantity, 2.0, "{name}");

    let too_big = stock(Side::Buy, 5_000, 1_000.0);
    let refused = broker.place_order(account, &too_big, "conf:2").await;
    assert!(
        matches!(refused, Err(IntegrationError::Rejected(_))),
        "{name}: {refused:?}"
    );
    assert_eq!(
        placed().await,
        before + 1,
        "{name}: a rejected order leaves no order"
    );

    // A cash-secured put, what the wheel proposes.
    let csp = option(OptionKind::Put, 260.0, 1, 2.35);
    let sold = broker.place_order(account, &csp, "conf:3").await.unwrap();
    assert!(!sold.duplicate, "{name}");
    let status = broker.order_status(account, &sold.order_id).await.unwrap();
    assert_eq!(status.status, OrderStatus::Filled, "{name}");

    assert!(
        matches!(
            broker.order_status(account, "P-999999999").await,
            Err(IntegrationError::Rejected(_))
        ),
        "{name}: an unknown order is told apart from a failure"
    );
}

#[tokio::test]
async fn the_paper_broker_conforms_and_covers_its_options() {
    let app = TestApp::spawn().await;
    let broker = PaperBroker::new(app.db.clone(), 10_000_000); // $100,000
    let count = || async {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM orders")
            .fetch_one(&app.db)
            .await
            .unwrap();
        n as usize
    };
    conforms(&broker, 31, "paper", count).await;

    // The put holds its strike as collateral: $26,000 less buying power.
    let account = broker.account(31).await.unwrap();
    assert_eq!(account.reserved, 26_000.0);
    // A covered call needs the shares: 2 held, so a call is refused until 100 are bought.
    let call = option(OptionKind::Call, 300.0, 1, 1.10);
    let refused = broker.place_order(31, &call, "conf:cc1").await;
    assert!(
        matches!(&refused, Err(IntegrationError::Rejected(r)) if r.contains("100 shares")),
        "{refused:?}"
    );
    broker
        .place_order(31, &stock(Side::Buy, 98, 100.0), "conf:buy98")
        .await
        .unwrap();
    broker.place_order(31, &call, "conf:cc2").await.unwrap();
    let second = broker.place_order(31, &call, "conf:cc3").await;
    assert!(
        matches!(second, Err(IntegrationError::Rejected(_))),
        "100 shares cover one call only"
    );
    let positions = broker.positions(31).await.unwrap();
    let names: Vec<(&str, i64)> = positions
        .iter()
        .map(|p| (p.instrument.as_str(), p.quantity))
        .collect();
    assert_eq!(
        names,
        [
            ("AAPL", 100),
            ("AAPL 2026-12-18 260.00P", -1),
            ("AAPL 2026-12-18 300.00C", -1)
        ]
    );
    app.cleanup().await;
}

/// Broker settings pointing Alpaca at `url`.
pub(crate) fn alpaca_settings(url: &str) -> ava::config::BrokerSettings {
    let mut settings = Settings::figment(None).extract::<Settings>().unwrap().broker;
    settings.provider = "alpaca".into();
    settings.alpaca.base_url = url.to_owned();
    settings.alpaca.key_id = Secret::new(KEY_ID);
    settings.alpaca.secret_key = Secret::new(SECRET_KEY);
    settings
}

#[tokio::test]
async fn the_alpaca_broker_conforms_and_reports_partial_fills() {
    let (server, fake) = provider_fakes::alpaca_broker().await;
    let broker = AlpacaBroker::new(&alpaca_settings(&server.uri()), None).unwrap();
    let count = || async { fake.placed() };
    conforms(&broker, 0, "alpaca", count).await;

    // The wire: a limit day order, the key as client_order_id, options by OCC symbol.
    let posts: Vec<serde_json::Value> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.method.as_str() == "POST")
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert_eq!(posts[0]["client_order_id"], "conf:1");
    assert_eq!(
        (
            posts[0]["type"].as_str(),
            posts[0]["time_in_force"].as_str(),
            posts[0]["qty"].as_str()
        ),
        (Some("limit"), Some("day"), Some("2"))
    );
    let put = posts.iter().find(|p| p["client_order_id"] == "conf:3").unwrap();
    assert_eq!(put["symbol"], "AAPL261218P00260000");
    assert_eq!(
        (put["side"].as_str(), put["limit_price"].as_str()),
        (Some("sell"), Some("2.35"))
    );
    assert_eq!(
        fake.book.lock().unwrap().posts,
        4,
        "the duplicate was sent and refused by client_order_id"
    );

    // Partial fill: half of 10 at once, and the status says so.
    let big = broker
        .place_order(0, &stock(Side::Buy, 10, 100.0), "conf:partial")
        .await
        .unwrap();
    assert_eq!(
        (big.status, big.filled_quantity),
        (OrderStatus::PartiallyFilled, 5.0)
    );
    let status = broker.order_status(0, &big.order_id).await.unwrap();
    assert_eq!(status.status, OrderStatus::PartiallyFilled);

    // Account and positions as Alpaca reports them.
    let account = broker.account(0).await.unwrap();
    assert_eq!((account.cash, account.buying_power()), (100_000.0, 74_000.0));
    let positions = broker.positions(0).await.unwrap();
    let short_put = positions
        .iter()
        .find(|p| p.instrument == "AAPL 2026-12-18 260.00P")
        .unwrap();
    assert_eq!(
        (short_put.symbol.as_str(), short_put.quantity, short_put.exposure),
        ("AAPL", -1, 26_000.0)
    );
    assert_eq!(
        positions
            .iter()
            .find(|p| p.instrument == "AAPL")
            .unwrap()
            .quantity,
        100
    );

    // Wrong keys: a service failure (it opens the breaker), never a rejection of the order.
    let mut wrong = alpaca_settings(&server.uri());
    wrong.alpaca.secret_key = Secret::new("nope");
    let broker = AlpacaBroker::new(&wrong, None).unwrap();
    let err = broker
        .place_order(0, &stock(Side::Buy, 1, 1.0), "conf:x")
        .await
        .unwrap_err();
    assert!(err.is_service_failure(), "{err}");
    assert!(!err.to_string().contains("nope") && !err.to_string().contains(SECRET_KEY));
}
