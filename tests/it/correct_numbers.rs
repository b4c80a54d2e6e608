//! Numbers as a trader reads them: /price, /compare and /history agree at one moment; an alert
//! that already holds is refused; /portfolio shows market value, P&L, cash, buying power and
//! equity.

use ava::integrations::{Broker, Instrument, OrderRequest, PaperBroker, Side};

use crate::{
    chat::{CHAT, last_sent_contains, message, mount_bot_methods, say, settings_with},
    harness::TestApp,
};

#[tokio::test]
async fn price_and_compare_give_the_same_last_price() {
    let app = TestApp::spawn().await;
    mount_bot_methods(&app).await;
    say(&app, &app.worker, message(630_001, "/price MSFT")).await;
    let price = last_sent_contains(&app, "MSFT").await;
    say(&app, &app.worker, message(630_002, "/compare MSFT KO")).await;
    let table = last_sent_contains(&app, "MSFT").await;
    // "MSFT is at $412.34 (...)": the same dollars in the comparison's "last" column.
    let dollars = price
        .split_whitespace()
        .find(|w| w.starts_with('$'))
        .unwrap()
        .trim_end_matches(|c: char| !c.is_ascii_digit())
        .to_owned();
    let msft_row = table.lines().find(|l| l.contains("MSFT")).unwrap();
    assert!(
        msft_row.contains(&dollars),
        "/price said {dollars}, /compare: {msft_row}"
    );
    app.cleanup().await;
}

#[tokio::test]
async fn an_alert_that_already_holds_is_refused_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    mount_bot_methods(&app).await;
    let worker = crate::harness::worker(&settings_with(&app, |s| {
        s.market_data.simulated_prices.insert("AAPL".into(), 190.0);
    }))
    .await
    .unwrap();
    say(&app, &worker, message(640_001, "/alert AAPL > 100")).await;
    let refused = last_sent_contains(&app, "Refused: AAPL is already at 190.00").await;
    assert!(refused.contains("would go off at once"), "{refused}");
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM alerts")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(stored, 0);
    say(&app, &worker, message(640_002, "/alert AAPL > 200")).await;
    last_sent_contains(&app, "Alert #").await;
    app.cleanup().await;
}

#[tokio::test]
async fn the_portfolio_shows_market_value_pnl_and_equity() {
    let app = TestApp::spawn().await;
    mount_bot_methods(&app).await;
    let broker = PaperBroker::new(app.db.clone(), 10_000_000);
    let buy = OrderRequest {
        symbol: "AAPL".into(),
        instrument: Instrument::Stock,
        side: Side::Buy,
        quantity: 10,
        limit_price: 200.0,
    };
    broker.place_order(CHAT, &buy, "pf:1").await.unwrap();
    let worker = crate::harness::worker(&settings_with(&app, |s| {
        s.market_data.simulated_prices.insert("AAPL".into(), 210.0);
    }))
    .await
    .unwrap();
    say(&app, &worker, message(650_001, "/portfolio")).await;
    let text = last_sent_contains(&app, "💼 Equity $100,100.00").await;
    assert!(
        text.contains("cash $98,000.00 · buying power $98,000.00"),
        "{text}"
    );
    assert!(
        text.contains("10 × AAPL @ $200.00 → $210.00 = $2,100.00 · P&L +$100.00 (+5.00%)"),
        "{text}"
    );
    assert!(text.contains("Unrealised P&L +$100.00"), "{text}");
    app.cleanup().await;
}
