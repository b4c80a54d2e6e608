//! Scripted conversations through the webhook, answered by the fake Bot API.

use workers::Broker as _;
use workers::NewJob;

use crate::{
    chat::{
        CHAT, button, calls, drain, last_sent_contains, message, mount_bot_methods, orders, say, sent, tap,
    },
    harness::TestApp,
};

/// Walks "analyze a stock" → AAPL → cash-secured put up to the "Execute?" question.
async fn analysis_until_execute(app: &TestApp, first_update: i64) {
    let w = &app.worker;
    say(app, w, message(first_update, "analyze a stock")).await;
    last_sent_contains(app, "Which stock?").await;
    say(app, w, message(first_update + 1, "AAPL")).await;
    last_sent_contains(app, "Which strategy?").await;
    let csp = button(app, "Cash-secured put").await;
    assert_eq!(csp, "strategy:csp");
    say(app, w, tap(first_update + 2, &csp)).await;
    last_sent_contains(app, "Execute?").await;
}

#[tokio::test]
async fn stock_analysis_through_to_order_placed() {
    let app = TestApp::spawn().await;
    mount_bot_methods(&app).await;
    analysis_until_execute(&app, 300_001).await;

    let texts = sent(&app).await;
    let card = &texts[texts.len() - 2];
    for needle in [
        "Cash-secured put on AAPL",
        "put",
        "Premium",
        "Annualised return",
        "Break-even",
    ] {
        assert!(
            card.contains(needle),
            "{needle:?} missing from the analysis: {card}"
        );
    }
    let calls_so_far = calls(&app).await;
    assert!(
        calls_so_far
            .iter()
            .any(|(m, b)| m == "answerCallbackQuery" && b["callback_query_id"] == "cbq-300003"),
        "the strategy tap was answered"
    );
    assert!(
        calls_so_far
            .iter()
            .any(|(m, b)| m == "editMessageText" && b["message_id"] == 500),
        "the strategy buttons were replaced by the choice"
    );

    let yes = button(&app, "✅ Yes").await;
    say(&app, &app.worker, tap(300_004, &yes)).await;
    let done = last_sent_contains(&app, "✅ Order P-").await;
    assert!(done.contains("placed: Sell 1 AAPL"), "{done}");
    assert_eq!(orders(&app).await, 1);
    let (instrument, quantity): (String, i64) =
        sqlx::query_as("SELECT instrument, quantity FROM positions WHERE account_id = $1")
            .bind(CHAT)
            .fetch_one(&app.db)
            .await
            .expect("a position");
    assert!(
        instrument.starts_with("AAPL ") && instrument.ends_with('P'),
        "{instrument}"
    );
    assert_eq!(quantity, -1, "one short put");

    say(&app, &app.worker, message(300_005, "/portfolio")).await;
    last_sent_contains(&app, &instrument).await;

    // Every state change is in the record, once, in order.
    app.worker.log().flush().await;
    let moves: Vec<(String, String)> = sqlx::query_as(
        "SELECT from_state, to_state FROM conversation_transitions WHERE chat_id = $1 ORDER BY at, log_key",
    )
    .bind(CHAT)
    .fetch_all(&app.db)
    .await
    .unwrap();
    let moves: Vec<(&str, &str)> = moves.iter().map(|(f, t)| (f.as_str(), t.as_str())).collect();
    assert_eq!(
        moves,
        [
            ("idle", "awaiting_ticker"),
            ("awaiting_ticker", "awaiting_strategy"),
            ("awaiting_strategy", "awaiting_confirmation"),
            ("awaiting_confirmation", "idle"),
        ]
    );
    app.cleanup().await;
}

#[tokio::test]
async fn a_double_tapped_confirm_and_a_retried_job_place_one_order() {
    let app = TestApp::spawn().await;
    mount_bot_methods(&app).await;
    analysis_until_execute(&app, 310_001).await;
    let yes = button(&app, "✅ Yes").await;

    say(&app, &app.worker, tap(310_004, &yes)).await;
    last_sent_contains(&app, "✅ Order P-").await;
    let replies = sent(&app).await.len();

    // The runtime retrying the same update (same payload, same update_id) places nothing more
    // and sends nothing twice.
    let broker = app.broker();
    broker
        .enqueue(NewJob::new(
            ava::jobs::TELEGRAM_UPDATE,
            workers::Lane::High,
            CHAT.to_string(),
            tap(310_004, &yes),
        ))
        .await
        .unwrap();
    drain(&app.worker).await;
    assert_eq!(sent(&app).await.len(), replies, "a retried job resent a reply");

    // The second tap of a double tap arrives as its own update.
    say(&app, &app.worker, tap(310_005, &yes)).await;
    assert_eq!(orders(&app).await, 1, "exactly one order");
    let answers: Vec<_> = calls(&app)
        .await
        .into_iter()
        .filter(|(m, b)| m == "answerCallbackQuery" && b["callback_query_id"] == "cbq-310005")
        .collect();
    assert_eq!(answers.len(), 1);
    assert!(
        answers[0].1["text"]
            .as_str()
            .unwrap()
            .starts_with("Already handled")
    );
    app.cleanup().await;
}

#[tokio::test]
async fn cancel_in_the_middle_says_what_it_cancelled() {
    let app = TestApp::spawn().await;
    mount_bot_methods(&app).await;
    let w = &app.worker;
    say(&app, w, message(320_001, "/analyze")).await;
    say(&app, w, message(320_002, "msft")).await;
    last_sent_contains(&app, "MSFT is at").await;
    say(&app, w, message(320_003, "/cancel")).await;
    last_sent_contains(
        &app,
        "Cancelled a stock analysis of MSFT (waiting for a strategy). Nothing was placed.",
    )
    .await;
    let timers: Vec<String> = redis::cmd("ZRANGE")
        .arg(format!("{}:conv-timers", app.settings.redis.prefix))
        .arg(0)
        .arg(-1)
        .query_async(&mut app.redis.clone())
        .await
        .unwrap();
    assert!(timers.is_empty(), "the deadline was removed: {timers:?}");

    say(&app, w, tap(320_004, "strategy:csp")).await;
    let stale = calls(&app)
        .await
        .into_iter()
        .rfind(|(m, _)| m == "answerCallbackQuery")
        .unwrap();
    assert!(
        stale.1["text"].as_str().unwrap().contains("expired"),
        "{}",
        stale.1
    );
    say(&app, w, message(320_005, "/cancel")).await;
    last_sent_contains(&app, "Nothing to cancel").await;
    assert_eq!(orders(&app).await, 0);
    app.cleanup().await;
}

#[tokio::test]
async fn an_invalid_ticker_is_asked_again() {
    let app = TestApp::spawn().await;
    let w = &app.worker;
    say(&app, w, message(330_001, "analyze a stock")).await;
    say(&app, w, message(330_002, "ZZZZ")).await;
    last_sent_contains(&app, "I don't know the ticker ZZZZ. Send another one").await;
    say(&app, w, message(330_003, "not a ticker at all")).await;
    last_sent_contains(&app, "doesn't look like a ticker").await;
    say(&app, w, message(330_004, "NVDA")).await;
    last_sent_contains(&app, "NVDA is at").await;
    app.cleanup().await;
}

#[tokio::test]
async fn a_timeout_fires_after_a_worker_restart() {
    let app = TestApp::spawn().await;
    {
        let first = crate::harness::worker(&app.settings).await.unwrap();
        say(&app, &first, message(340_001, "analyze a stock")).await;
        last_sent_contains(&app, "Which stock?").await;
    } // the first worker is gone; only Redis remembers the deadline

    let restarted = crate::harness::worker(&app.settings).await.unwrap();
    let mut scheduler = crate::harness::scheduler(&app.settings, "restart-test")
        .await
        .unwrap();
    let now = chrono::Utc::now().timestamp_millis() as u64;
    // Before the deadline the sweep finds nothing.
    scheduler.tick(now).await.unwrap();
    drain(&restarted).await;
    assert!(!sent(&app).await.iter().any(|t| t.contains("No answer")));

    let after_deadline = now + (app.settings.conversation.timeout_secs + 60) * 1000;
    scheduler.tick(after_deadline).await.unwrap();
    drain(&restarted).await;
    let timeouts: Vec<String> = sent(&app)
        .await
        .into_iter()
        .filter(|t| t.contains("No answer"))
        .collect();
    assert_eq!(
        timeouts,
        vec!["⏱ No answer for 10 minutes, so I stopped a stock analysis (waiting for a ticker). Start again any time.".to_owned()]
    );
    // The state was reset: a ticker now is just text.
    say(&app, &restarted, message(340_002, "AAPL")).await;
    last_sent_contains(&app, "I don't know that yet").await;
    // A later sweep does not fire it again.
    scheduler.tick(after_deadline + 20_000).await.unwrap();
    drain(&restarted).await;
    assert_eq!(
        sent(&app)
            .await
            .iter()
            .filter(|t| t.contains("No answer"))
            .count(),
        1
    );
    app.cleanup().await;
}

#[tokio::test]
async fn media_get_a_polite_reply_and_group_commands_work() {
    let app = TestApp::spawn().await;
    let w = &app.worker;
    say(&app, w, crate::harness::fixture("voice_message.json")).await;
    last_sent_contains(&app, "Sorry, I can't read voice messages. I understand text").await;
    say(
        &app,
        w,
        crate::harness::fixture("message_group_command_mention.json"),
    )
    .await;
    let (_, body) = calls(&app).await.pop().unwrap();
    assert_eq!(body["chat_id"], -1001234567890i64, "answered in the group");
    assert!(
        body["text"].as_str().unwrap().starts_with("You have no alerts"),
        "{body}"
    );
    say(&app, w, message(350_001, "/price")).await;
    last_sent_contains(&app, "Usage: /price SYMBOL, e.g. /price AAPL").await;
    say(&app, w, message(350_002, "/trend AAPL 30d")).await;
    last_sent_contains(&app, "moving average").await;
    say(&app, w, message(350_003, "/compare AAPL MSFT ZZZZ")).await;
    last_sent_contains(&app, "unknown ticker").await;
    app.cleanup().await;
}

#[tokio::test]
async fn a_trade_is_previewed_checked_confirmed_and_reported() {
    let app = TestApp::spawn().await;
    mount_bot_methods(&app).await;
    let w = &app.worker;
    say(&app, w, message(360_001, "/buy AAPL 200")).await;
    last_sent_contains(&app, "I can't place Buy 200 AAPL").await;
    last_sent_contains(&app, "would be").await;
    last_sent_contains(&app, "the limit is 25%.").await;

    say(&app, w, message(360_002, "/buy KO 10")).await;
    let preview = last_sent_contains(&app, "Preview: Buy 10 KO @").await;
    assert!(preview.ends_with("Execute?"), "{preview}");
    let no = button(&app, "✖️ No").await;
    say(&app, w, tap(360_003, &no)).await;
    assert_eq!(orders(&app).await, 0, "No places nothing");

    say(&app, w, message(360_004, "/buy KO 10")).await;
    say(&app, w, message(360_005, "yes")).await;
    last_sent_contains(&app, "✅ Order P-").await;
    last_sent_contains(&app, "placed: Buy 10 KO").await;
    assert_eq!(orders(&app).await, 1);
    app.cleanup().await;
}

#[tokio::test]
async fn in_groups_only_commands_and_replies_to_ava_are_answered() {
    let app = TestApp::spawn().await;
    let group = |update_id: i64, text: &str, reply_to_bot: bool| {
        let mut update = serde_json::json!({
            "update_id": update_id,
            "message": {
                "message_id": update_id % 1000,
                "date": 1763856000,
                "chat": { "id": -1001234567890i64, "type": "supergroup", "title": "Desk" },
                "from": { "id": 424242002, "is_bot": false, "first_name": "Lee" },
                "text": text
            }
        });
        if reply_to_bot {
            update["message"]["reply_to_message"] = serde_json::json!({
                "message_id": 9, "date": 1763856000,
                "chat": { "id": -1001234567890i64, "type": "supergroup", "title": "Desk" },
                "from": { "id": 7000000001u64, "is_bot": true, "first_name": "AVA" },
                "text": "Which stock?"
            });
        }
        serde_json::to_vec(&update).unwrap()
    };
    let w = &app.worker;
    say(&app, w, group(370_001, "/analyze@ava_wheel_bot", false)).await;
    last_sent_contains(&app, "Which stock?").await;
    say(&app, w, group(370_002, "lunch anyone?", false)).await;
    assert_eq!(sent(&app).await.len(), 1, "group chatter is not answered");
    say(&app, w, group(370_003, "AMD", true)).await;
    last_sent_contains(&app, "AMD is at").await;
    app.cleanup().await;
}
