//! Alerts: set one, the price crosses, exactly one notification; re-arm from /alerts.

use crate::{
    chat::{
        button, calls, drain, last_sent_contains, message, mount_bot_methods, say, sent, settings_with, tap,
    },
    harness::TestApp,
};

fn pinned(app: &TestApp, price: f64) -> ava::config::Settings {
    settings_with(app, |s| {
        s.market_data.simulated_prices.insert("AAPL".into(), price);
    })
}

/// A quote cached by the last worker would hide the new price for 15 s: expire it now.
async fn expire_cached_quote(app: &TestApp) {
    let _: () = redis::cmd("DEL")
        .arg(format!("{}:cache:quote:AAPL", app.settings.redis.prefix))
        .query_async(&mut app.redis.clone())
        .await
        .unwrap();
}

fn notifications(texts: &[String]) -> usize {
    texts.iter().filter(|t| t.starts_with("🔔 AAPL is above")).count()
}

#[tokio::test]
async fn an_alert_set_the_price_crosses_exactly_one_notification() {
    let app = TestApp::spawn().await;
    mount_bot_methods(&app).await;
    let mut scheduler = crate::harness::scheduler(&app.settings, "alerts-test")
        .await
        .unwrap();
    let t0 = chrono::Utc::now().timestamp_millis() as u64;
    let minute = 60_000;

    let below = crate::harness::worker(&pinned(&app, 190.0)).await.unwrap();
    say(&app, &below, message(400_001, "/alert AAPL > 200")).await;
    last_sent_contains(&app, "Alert #1 set: AAPL > 200.00 (now $190.00)").await;
    scheduler.tick(t0).await.unwrap();
    drain(&below).await;
    assert_eq!(notifications(&sent(&app).await), 0, "not crossed yet");

    // The price moves above the threshold (another worker sees the new market).
    expire_cached_quote(&app).await;
    let above = crate::harness::worker(&pinned(&app, 205.5)).await.unwrap();
    for tick in 1..=3 {
        scheduler.tick(t0 + tick * minute).await.unwrap();
        drain(&above).await;
    }
    let texts = sent(&app).await;
    assert_eq!(notifications(&texts), 1, "exactly one notification: {texts:#?}");
    last_sent_contains(&app, "🔔 AAPL is above your alert (AAPL > 200.00): now $205.50.").await;

    // The alert stays off until re-armed from /alerts; re-armed, it fires once more.
    say(&app, &above, message(400_002, "/alerts")).await;
    last_sent_contains(&app, "#1 AAPL > 200.00 (triggered, off)").await;
    let rearm = button(&app, "🔁 Re-arm #1").await;
    say(&app, &above, tap(400_003, &rearm)).await;
    last_sent_contains(&app, "Alert #1 (AAPL > 200.00) is on again.").await;
    scheduler.tick(t0 + 4 * minute).await.unwrap();
    drain(&above).await;
    assert_eq!(notifications(&sent(&app).await), 2);

    // Delete from the list's button.
    say(&app, &above, message(400_004, "/alerts")).await;
    let delete = button(&app, "🗑 #1").await;
    say(&app, &above, tap(400_005, &delete)).await;
    last_sent_contains(&app, "Deleted alert #1 (AAPL > 200.00).").await;
    assert!(
        calls(&app)
            .await
            .iter()
            .any(|(m, b)| m == "answerCallbackQuery" && b["callback_query_id"] == "cbq-400005")
    );
    app.cleanup().await;
}
