//! The Bot API client behind the shared limits: per-chat and per-group limits across several
//! senders, a 429 storm, unreachable chats, long texts, and the typed methods.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use ava::{
    config::Settings,
    telegram::{BotApi, EditMessageText, Outbound, OutboundLimiter, SendMessage, TelegramError, limits},
    worker::Step,
};
use figment::providers::Serialized;
use serde_json::{Value, json};
use teloxide_core::types::{ChatAction, InlineKeyboardButton, InlineKeyboardMarkup, ParseMode};
use workers::Outcome;

use crate::{
    edge_support::{RecordingBotApi, Seen, message_ok, too_many},
    harness::{SECRET, TestApp, fixture},
};

/// A sender as a separate worker process would have it: its own client and Redis connection.
async fn sender(settings: &Settings) -> Outbound {
    let redis = workers::RedisConn::connect_url(settings.redis.url.expose())
        .await
        .unwrap();
    let limiter = OutboundLimiter::new(redis, &settings.redis.prefix, &settings.outbound_limit);
    Outbound::new(
        BotApi::new(&settings.telegram).unwrap(),
        limiter,
        &settings.outbound_limit,
    )
}

/// Scheduling jitter on a loaded machine delays some requests more than others, which bunches
/// their arrival; half an interval of slack absorbs that and still catches one send too many.
const SLACK: Duration = Duration::from_millis(250);

/// Asserts that no stretch of `times` holds more sends than `burst` plus `rate` per second allows.
/// `slack` absorbs network jitter between the limiter's slot and the request's arrival.
fn assert_within_limit(times: &[Instant], burst: usize, rate_per_sec: f64, slack: Duration) {
    let mut times = times.to_vec();
    times.sort();
    for i in 0..times.len() {
        for j in i + 1..times.len() {
            let span = (times[j] - times[i] + slack).as_secs_f64();
            let allowed = burst + (span * rate_per_sec).floor() as usize;
            let count = j - i + 1;
            assert!(
                count <= allowed,
                "{count} sends within {:?}; the limit allows {allowed}",
                times[j] - times[i]
            );
        }
    }
}

#[tokio::test]
async fn three_senders_to_one_chat_keep_the_chat_limit() {
    let app = TestApp::spawn_with(|fig| {
        fig.merge(Serialized::default("outbound_limit.chat_per_sec", 2.0))
            .merge(Serialized::default("outbound_limit.chat_burst", 2))
    })
    .await;
    let fake = RecordingBotApi::new(|_, body, _| message_ok(body["chat_id"].as_i64().unwrap_or(0)));
    fake.mount_on(&app.telegram).await;

    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..3 {
        let outbound = sender(&app.settings).await;
        tasks.spawn(async move {
            for n in 0..3 {
                outbound
                    .send_text(4242, &format!("worker {worker} message {n}"))
                    .await
                    .expect("sent");
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    let times: Vec<Instant> = fake.seen().iter().map(|s| s.at).collect();
    assert_eq!(times.len(), 9);
    assert_within_limit(&times, 2, 2.0, SLACK);
    let first = times.iter().min().unwrap();
    let last = times.iter().max().unwrap();
    println!(
        "9 sends to one chat at 2/s, burst 2: spread over {:?}",
        *last - *first
    );
    app.cleanup().await;
}

#[tokio::test]
async fn sends_to_a_group_keep_the_group_limit() {
    let app = TestApp::spawn_with(|fig| {
        fig.merge(Serialized::default("outbound_limit.group_per_min", 120.0))
            .merge(Serialized::default("outbound_limit.group_burst", 1))
            .merge(Serialized::default("outbound_limit.chat_per_sec", 100.0))
    })
    .await;
    let fake = RecordingBotApi::new(|_, body, _| message_ok(body["chat_id"].as_i64().unwrap_or(0)));
    fake.mount_on(&app.telegram).await;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..3 {
        let outbound = sender(&app.settings).await;
        tasks.spawn(async move {
            for _ in 0..2 {
                outbound
                    .send_text(-1001234567890, "to the group")
                    .await
                    .expect("sent");
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    let times: Vec<Instant> = fake.seen().iter().map(|s| s.at).collect();
    assert_eq!(times.len(), 6);
    assert_within_limit(&times, 1, 2.0, SLACK);
    app.cleanup().await;
}

/// The fake answers each chat's first two sendMessage calls with 429 retry_after=1.
fn storm(_: &str, body: &Value, seen: &[Seen]) -> (u16, Value) {
    let chat = body["chat_id"].as_i64().unwrap_or(0);
    let earlier = seen.iter().filter(|s| s.body["chat_id"] == chat).count();
    if earlier < 2 {
        too_many(1)
    } else {
        message_ok(chat)
    }
}

#[tokio::test]
async fn a_429_storm_delays_replies_and_delivers_them_all() {
    let app = TestApp::spawn().await;
    let fake = RecordingBotApi::new(storm);
    fake.mount_on(&app.telegram).await;
    let chats = [7001, 7002, 7003];
    for (i, chat) in chats.iter().enumerate() {
        let update = json!({ "update_id": 900 + i, "message": { "message_id": 1, "date": 1763856000,
            "chat": { "id": chat, "type": "private" }, "from": { "id": chat, "is_bot": false, "first_name": "A" },
            "text": "/start" } });
        assert_eq!(
            app.post_update(update.to_string().into_bytes(), Some(SECRET))
                .await,
            200
        );
    }
    // Three consumers at once, as a worker process runs them.
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..3 {
        let worker = app.worker.clone();
        tasks.spawn(async move { worker.try_execute_one(Duration::from_secs(5)).await.unwrap() });
    }
    while let Some(step) = tasks.join_next().await {
        assert_eq!(
            step.unwrap(),
            Step::Ran(Outcome::Done),
            "delivered, not retried or dead-lettered"
        );
    }

    let seen = fake.seen();
    for chat in chats {
        let calls: Vec<&Seen> = seen.iter().filter(|s| s.body["chat_id"] == chat).collect();
        assert_eq!(
            calls.iter().map(|s| s.status).collect::<Vec<_>>(),
            vec![429, 429, 200],
            "chat {chat}"
        );
        for pair in calls.windows(2) {
            let gap = pair[1].at - pair[0].at;
            assert!(
                gap >= Duration::from_millis(990),
                "chat {chat}: sent again {gap:?} after a 429 with retry_after 1s"
            );
        }
    }
    // Log rows are written in the background; flush before reading Postgres.
    app.worker.log().flush().await;
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM outbound_log WHERE status = 'sent'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(rows, 3);
    // Each 429 is in the record: two per chat, with Telegram's retry_after. The sink hands rows
    // to the writer on a task; flush again once they are there.
    let mut pauses: Vec<(Option<i64>, Option<i64>)> = Vec::new();
    for _ in 0..50 {
        app.worker.log().flush().await;
        pauses = sqlx::query_as(
            "SELECT chat_id, retry_after_ms FROM rate_limit_violations WHERE scope = $1 ORDER BY chat_id",
        )
        .bind(ava::worker::TELEGRAM_429_SCOPE)
        .fetch_all(&app.db)
        .await
        .unwrap();
        if pauses.len() >= 6 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let expected: Vec<(Option<i64>, Option<i64>)> = chats
        .iter()
        .flat_map(|c| [(Some(*c), Some(1000)), (Some(*c), Some(1000))])
        .collect();
    assert_eq!(pauses, expected);
    app.cleanup().await;
}

#[tokio::test]
async fn a_429_pause_holds_for_every_sender() {
    let app = TestApp::spawn().await;
    let fake = RecordingBotApi::new(|_, body, seen| {
        if seen.is_empty() {
            too_many(2)
        } else {
            message_ok(body["chat_id"].as_i64().unwrap_or(0))
        }
    });
    fake.mount_on(&app.telegram).await;
    let first = sender(&app.settings).await;
    let second = sender(&app.settings).await;
    let a = tokio::spawn(async move { first.send_text(55, "one").await });
    // The second sender starts after the 429 has been recorded in Redis.
    let deadline = Instant::now() + Duration::from_secs(5);
    while fake.seen().is_empty() {
        assert!(Instant::now() < deadline, "first send never arrived");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    second.send_text(55, "two").await.unwrap();
    a.await.unwrap().unwrap();
    let seen = fake.seen();
    assert_eq!(seen.len(), 3);
    for later in &seen[1..] {
        assert!(
            later.at - seen[0].at >= Duration::from_millis(1990),
            "a send {:?} after the 429 with retry_after 2s",
            later.at - seen[0].at
        );
    }
    app.cleanup().await;
}

#[tokio::test]
async fn a_blocked_chat_is_marked_and_not_sent_to_again() {
    let app = TestApp::spawn().await;
    let fake = RecordingBotApi::new(|_, _, _| {
        (
            403,
            json!({ "ok": false, "error_code": 403, "description": "Forbidden: bot was blocked by the user" }),
        )
    });
    fake.mount_on(&app.telegram).await;
    assert_eq!(
        app.post_update(fixture("message_start.json"), Some(SECRET)).await,
        200
    );
    match app.worker.try_execute_one(Duration::from_secs(5)).await.unwrap() {
        Step::Ran(Outcome::Permanent(e)) => assert!(e.contains("blocked"), "{e}"),
        other => panic!("expected a permanent failure, got {other:?}"),
    }
    let outbound = sender(&app.settings).await;
    assert!(outbound.limiter().is_blocked(424242001).await.unwrap());
    let err = outbound.send_text(424242001, "anyone there?").await.unwrap_err();
    assert!(matches!(err, TelegramError::Refused { .. }), "{err:?}");
    assert_eq!(fake.seen().len(), 1, "nothing sent to a blocked chat");
    app.cleanup().await;
}

#[tokio::test]
async fn long_text_is_split_at_lines_and_the_keyboard_goes_last() {
    let app = TestApp::spawn_with(|fig| fig.merge(Serialized::default("outbound_limit.chat_burst", 5))).await;
    let fake = RecordingBotApi::new(|_, body, _| message_ok(body["chat_id"].as_i64().unwrap_or(0)));
    fake.mount_on(&app.telegram).await;
    let outbound = sender(&app.settings).await;
    let text: String = (0..300)
        .map(|i| format!("line {i:03}: {}\n", "·".repeat(20)))
        .collect();
    let keyboard = InlineKeyboardMarkup::new([[InlineKeyboardButton::callback("OK", "ok")]]);
    let message = SendMessage::new(9, text.clone())
        .parse_mode(ParseMode::Html)
        .keyboard(keyboard);
    let sent = outbound.send(&message).await.unwrap();
    let seen = fake.seen();
    assert_eq!(sent.len(), seen.len());
    assert!(seen.len() >= 2);
    let texts: Vec<&str> = seen.iter().map(|s| s.body["text"].as_str().unwrap()).collect();
    assert_eq!(texts.concat(), text);
    for (i, s) in seen.iter().enumerate() {
        let piece = s.body["text"].as_str().unwrap();
        assert!(piece.encode_utf16().count() <= 4096);
        assert!(piece.ends_with('\n'), "cut at a line end");
        assert_eq!(s.body["parse_mode"], "HTML");
        assert_eq!(s.body.get("reply_markup").is_some(), i == seen.len() - 1);
    }
    app.cleanup().await;
}

#[tokio::test]
async fn a_long_send_message_through_the_generic_call_is_split_too() {
    // Conversation replies are built as JSON bodies and sent with `call`, not `send`.
    let app = TestApp::spawn_with(|fig| fig.merge(Serialized::default("outbound_limit.chat_burst", 5))).await;
    let fake = RecordingBotApi::new(|_, body, _| message_ok(body["chat_id"].as_i64().unwrap_or(0)));
    fake.mount_on(&app.telegram).await;
    let outbound = sender(&app.settings).await;
    let text: String = (0..300)
        .map(|i| format!("row {i:03}: {}\n", "x".repeat(25)))
        .collect();
    let keyboard = json!({ "inline_keyboard": [[{ "text": "OK", "callback_data": "ok" }]] });
    let body = json!({ "chat_id": 9, "text": text, "reply_markup": keyboard });
    let last: Value = outbound.call(Some(9), "sendMessage", &body).await.unwrap();
    assert!(
        last.get("message_id").is_some(),
        "the last piece's message comes back"
    );
    let seen = fake.seen();
    assert!(seen.len() >= 3, "{} pieces", seen.len());
    let texts: Vec<&str> = seen.iter().map(|s| s.body["text"].as_str().unwrap()).collect();
    assert_eq!(texts.concat(), text);
    for (i, s) in seen.iter().enumerate() {
        assert!(s.body["text"].as_str().unwrap().encode_utf16().count() <= 4096);
        assert_eq!(s.body.get("reply_markup").is_some(), i == seen.len() - 1);
    }
    app.cleanup().await;
}

#[tokio::test]
async fn typed_methods_send_the_documented_bodies() {
    let app = TestApp::spawn().await;
    let fake = RecordingBotApi::new(|method, _, _| match method {
        "getMe" => (
            200,
            json!({ "ok": true, "result": { "id": 7, "is_bot": true, "first_name": "AVA", "username": "ava_bot",
                "can_join_groups": true, "can_read_all_group_messages": false, "supports_inline_queries": false,
                "has_main_web_app": false } }),
        ),
        "editMessageText" => message_ok(3),
        _ => (200, json!({ "ok": true, "result": true })),
    });
    fake.mount_on(&app.telegram).await;
    let bot = BotApi::new(&app.settings.telegram).unwrap();
    let me = bot.get_me().await.unwrap();
    assert_eq!(me.user.username.as_deref(), Some("ava_bot"));
    bot.edit_message_text(&EditMessageText {
        chat_id: 3,
        message_id: 14,
        text: "edited".into(),
        parse_mode: Some(ParseMode::MarkdownV2),
        reply_markup: None,
    })
    .await
    .unwrap();
    bot.answer_callback_query("cb-1", Some("Saved"), false)
        .await
        .unwrap();
    bot.send_chat_action(3, ChatAction::Typing).await.unwrap();
    let seen = fake.seen();
    let by_method: HashMap<&str, &Value> = seen.iter().map(|s| (s.method.as_str(), &s.body)).collect();
    assert_eq!(
        by_method["editMessageText"],
        &json!({ "chat_id": 3, "message_id": 14, "text": "edited", "parse_mode": "MarkdownV2" })
    );
    assert_eq!(
        by_method["answerCallbackQuery"],
        &json!({ "callback_query_id": "cb-1", "text": "Saved", "show_alert": false })
    );
    assert_eq!(
        by_method["sendChatAction"],
        &json!({ "chat_id": 3, "action": "typing" })
    );
    app.cleanup().await;
}

#[tokio::test]
async fn sends_to_many_chats_keep_the_global_limit() {
    let app =
        TestApp::spawn_with(|fig| fig.merge(Serialized::default("outbound_limit.global_per_sec", 2.0))).await;
    let fake = RecordingBotApi::new(|_, body, _| message_ok(body["chat_id"].as_i64().unwrap_or(0)));
    fake.mount_on(&app.telegram).await;
    let mut tasks = tokio::task::JoinSet::new();
    for chat in [11, 12, 13] {
        let outbound = sender(&app.settings).await;
        tasks.spawn(async move {
            for _ in 0..2 {
                outbound.send_text(chat, "hello").await.expect("sent");
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    let times: Vec<Instant> = fake.seen().iter().map(|s| s.at).collect();
    assert_eq!(times.len(), 6);
    assert_within_limit(&times, 1, 2.0, SLACK);
    app.cleanup().await;
}

#[tokio::test]
async fn a_global_pause_holds_every_chat_and_a_chat_pause_only_its_chat() {
    let app = TestApp::spawn().await;
    let outbound = sender(&app.settings).await;
    let limiter = outbound.limiter();
    let max = Duration::from_secs(30);

    limiter.pause(Some(21), Duration::from_secs(3)).await.unwrap();
    match limiter.reserve(Some(21), max).await.unwrap() {
        limits::Slot::NotYet(wait) => assert!(wait >= Duration::from_millis(2900), "{wait:?}"),
        other => panic!("a paused chat waits: {other:?}"),
    }
    // The paused chat holds no slot: other chats go on at once.
    for chat in [22, 23, 24] {
        match limiter.reserve(Some(chat), max).await.unwrap() {
            limits::Slot::Reserved(wait) => {
                assert!(wait < Duration::from_millis(500), "chat {chat}: {wait:?}")
            }
            other => panic!("chat {chat}: {other:?}"),
        }
    }

    limiter.pause(None, Duration::from_secs(3)).await.unwrap();
    for chat in [Some(25), Some(-100500), None] {
        match limiter.reserve(chat, max).await.unwrap() {
            limits::Slot::NotYet(wait) => assert!(wait >= Duration::from_millis(2900), "{chat:?}: {wait:?}"),
            other => panic!("a global pause holds {chat:?}: {other:?}"),
        }
    }
    app.cleanup().await;
}
