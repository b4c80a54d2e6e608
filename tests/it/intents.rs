//! Free text through the webhook and the worker: "Buy AAPL put" guided to the same preview and
//! Yes, "1" in the strategy menu, and "alert me when btc > 110000".

use crate::{
    chat::{button, last_sent_contains, message, mount_bot_methods, orders, say, tap},
    harness::TestApp,
};

#[tokio::test]
async fn buy_aapl_put_is_guided_to_the_preview_and_placed_only_on_yes() {
    let app = TestApp::spawn().await;
    mount_bot_methods(&app).await;
    let w = &app.worker;
    say(&app, w, message(610_001, "Buy AAPL put")).await;
    last_sent_contains(&app, "Which expiry for the AAPL put?").await;
    let first_expiry = button(&app, "20").await;
    assert!(first_expiry.starts_with("pick:expiry:"), "{first_expiry}");
    say(&app, w, tap(610_002, &first_expiry)).await;
    last_sent_contains(&app, "Which strike for the AAPL put?").await;
    say(&app, w, message(610_003, "3")).await;
    last_sent_contains(&app, "How many AAPL put contracts?").await;
    say(&app, w, message(610_004, "1")).await;
    let preview = last_sent_contains(&app, "Preview: Buy 1 AAPL").await;
    assert!(preview.ends_with("Execute?"), "{preview}");
    assert_eq!(orders(&app).await, 0, "free text places nothing before Yes");
    say(&app, w, message(610_005, "yes")).await;
    last_sent_contains(&app, "placed: Buy 1 AAPL").await;
    assert_eq!(orders(&app).await, 1);
    app.cleanup().await;
}

#[tokio::test]
async fn typing_1_in_the_strategy_menu_picks_the_cash_secured_put() {
    let app = TestApp::spawn().await;
    mount_bot_methods(&app).await;
    let w = &app.worker;
    say(&app, w, message(620_001, "analyse apple")).await;
    last_sent_contains(
        &app,
        "Which strategy? 1) Cash-secured put 2) Covered call 3) Wheel",
    )
    .await;
    say(&app, w, message(620_002, "1")).await;
    last_sent_contains(&app, "Execute?").await;
    assert_eq!(orders(&app).await, 0);
    app.cleanup().await;
}

#[tokio::test]
async fn alert_me_when_btc_crosses_sets_an_alert_on_the_pair() {
    let app = TestApp::spawn().await;
    mount_bot_methods(&app).await;
    let w = &app.worker;
    say(&app, w, message(630_001, "alert me when btc > 110000")).await;
    last_sent_contains(&app, "set: BTC-USDT > 110000.00").await;
    let stored: (String, String, f64) = sqlx::query_as("SELECT symbol, direction, price FROM alerts")
        .fetch_one(&app.db)
        .await
        .expect("one alert row");
    assert_eq!(stored, ("BTC-USDT".into(), "above".into(), 110_000.0));
    // A misspelt ticker is asked about, and the button does what was meant.
    say(&app, w, message(630_002, "price of nvdia")).await;
    last_sent_contains(&app, "Did you mean NVDA?").await;
    let yes = button(&app, "✅ NVDA").await;
    say(&app, w, tap(630_003, &yes)).await;
    last_sent_contains(&app, "NVDA $").await;
    app.cleanup().await;
}
