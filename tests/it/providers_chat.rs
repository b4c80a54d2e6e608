//! Alpaca and Binance configured together, as a trader uses them through the chat: the router
//! sends stocks to Alpaca and crypto to Binance, and a cash-secured put is sold on the Alpaca
//! paper account from Alpaca's own option chain. Only configuration differs from `dev`.

use ava::config::Secret;

use crate::{
    chat::{button, last_sent_contains, message, mount_bot_methods, say, settings_with, tap},
    harness::TestApp,
    provider_fakes::{self, KEY_ID, SECRET_KEY},
};

#[tokio::test]
async fn compare_and_price_route_stocks_to_alpaca_and_crypto_to_binance() {
    let app = TestApp::spawn().await;
    mount_bot_methods(&app).await;
    let alpaca = provider_fakes::alpaca_data().await;
    let binance = provider_fakes::binance().await;
    let settings = settings_with(&app, |s| {
        s.market_data.providers = vec!["alpaca".into(), "binance".into()];
        s.market_data.alpaca.base_url = alpaca.uri();
        s.market_data.alpaca.key_id = Secret::new(KEY_ID);
        s.market_data.alpaca.secret_key = Secret::new(SECRET_KEY);
        s.market_data.binance.base_url = binance.uri();
    });
    let worker = crate::harness::worker(&settings).await.unwrap();

    say(&app, &worker, message(610_001, "/compare AAPL BTC")).await;
    let table = last_sent_contains(&app, "AAPL").await;
    assert!(table.contains("$277.55"), "AAPL's last from Alpaca: {table}");
    assert!(
        table.contains("BTC") && table.contains("$95,277.77"),
        "BTC's last from Binance: {table}"
    );

    for (id, spelling) in [(610_002, "BTC-USDT"), (610_003, "btc/usdt"), (610_004, "btcusdt")] {
        say(&app, &worker, message(id, &format!("/price {spelling}"))).await;
        let answer = last_sent_contains(&app, "BTC-USDT").await;
        assert!(answer.contains("$95,277.77"), "{spelling}: {answer}");
    }
    say(&app, &worker, message(610_005, "/price AAPL")).await;
    let answer = last_sent_contains(&app, "AAPL").await;
    assert!(answer.contains("$277.55"), "{answer}");

    // Three spellings of one pair are one cache entry: Binance was asked once for the ticker.
    let tickers = binance
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/api/v3/ticker/24hr")
        .count();
    assert_eq!(
        tickers, 1,
        "BTC-USDT, btc/usdt and btcusdt share the cached quote"
    );
    app.cleanup().await;
}

#[tokio::test]
async fn a_cash_secured_put_is_sold_on_alpaca_from_alpacas_chain() {
    let app = TestApp::spawn().await;
    mount_bot_methods(&app).await;
    let alpaca = provider_fakes::alpaca_data().await;
    let (trading, book) = provider_fakes::alpaca_broker().await;
    let settings = settings_with(&app, |s| {
        s.market_data.provider = "alpaca".into();
        s.market_data.alpaca.base_url = alpaca.uri();
        s.market_data.alpaca.key_id = Secret::new(KEY_ID);
        s.market_data.alpaca.secret_key = Secret::new(SECRET_KEY);
        s.broker.provider = "alpaca".into();
        s.broker.alpaca.base_url = trading.uri();
        s.broker.alpaca.key_id = Secret::new(KEY_ID);
        s.broker.alpaca.secret_key = Secret::new(SECRET_KEY);
        // The sample account already holds AAPL; the concentration check is not under test.
        s.trading.max_position_share = 1.0;
    });
    let worker = crate::harness::worker(&settings).await.unwrap();

    say(&app, &worker, message(620_001, "analyze a stock")).await;
    say(&app, &worker, message(620_002, "AAPL")).await;
    let csp = button(&app, "Cash-secured put").await;
    say(&app, &worker, tap(620_003, &csp)).await;
    last_sent_contains(&app, "Execute?").await;
    let yes = button(&app, "✅ Yes").await;
    say(&app, &worker, tap(620_004, &yes)).await;
    let done = last_sent_contains(&app, "sent: Sell 1 AAPL").await;
    assert!(
        done.contains("not filled yet"),
        "Alpaca accepted it; no fill is claimed: {done}"
    );
    // A double tap on the same Yes places nothing more.
    say(&app, &worker, tap(620_005, &yes)).await;
    assert_eq!(book.placed(), 1);
    let order = book.book.lock().unwrap().orders.values().next().cloned().unwrap();
    assert!(
        order.symbol.starts_with("AAPL26") && order.symbol.contains('P'),
        "{order:?}"
    );
    assert!(
        order.client_order_id.contains(':'),
        "AVA's key is the client_order_id: {order:?}"
    );
    app.cleanup().await;
}

#[tokio::test]
async fn the_last_bar_takes_the_quotes_price_when_the_daily_bar_lags() {
    let app = TestApp::spawn().await;
    mount_bot_methods(&app).await;
    let alpaca = provider_fakes::alpaca_data().await;
    // A trade after the daily bar was cut: the snapshot's last trade is ahead of the bar's close.
    let mut snapshot = provider_fakes::fixture("alpaca_snapshot_AAPL.json");
    snapshot["latestTrade"]["p"] = serde_json::json!(278.4);
    wiremock::Mock::given(wiremock::matchers::path("/v2/stocks/AAPL/snapshot"))
        .respond_with(wiremock::ResponseTemplate::new(200).set_body_json(snapshot))
        .with_priority(1)
        .mount(&alpaca)
        .await;
    let settings = settings_with(&app, |s| {
        s.market_data.provider = "alpaca".into();
        s.market_data.alpaca.base_url = alpaca.uri();
        s.market_data.alpaca.key_id = Secret::new(KEY_ID);
        s.market_data.alpaca.secret_key = Secret::new(SECRET_KEY);
    });
    let worker = crate::harness::worker(&settings).await.unwrap();
    say(&app, &worker, message(630_001, "/price AAPL")).await;
    last_sent_contains(&app, "$278.40").await;
    say(&app, &worker, message(630_002, "/compare AAPL MSFT")).await;
    let table = last_sent_contains(&app, "AAPL").await;
    let row = table.lines().find(|l| l.contains("AAPL")).unwrap();
    assert!(
        row.contains("$278.40"),
        "the comparison's last is the quote: {row}"
    );
    app.cleanup().await;
}
