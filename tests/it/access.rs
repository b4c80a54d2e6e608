//! Access control through the webhook: each refusal path, the starter-only confirm, no trading in
//! groups, accounts by person, and refusals recorded, counted and rate-limited.

use figment::providers::Serialized;
use serde_json::{Value, json};

use crate::{
    chat::{button, calls, mount_bot_methods, orders, say},
    harness::TestApp,
};

pub(crate) const ALICE: i64 = 51_001;
pub(crate) const BOB: i64 = 51_002;
const CAROL: i64 = 51_003;
const EVE: i64 = 51_004;
const GROUP: i64 = -100_777;

fn person(id: i64) -> Value {
    let name = match id {
        ALICE => "Alice",
        BOB => "Bob",
        CAROL => "Carol",
        _ => "Eve",
    };
    json!({ "id": id, "is_bot": false, "first_name": name, "username": name.to_lowercase() })
}

fn chat(id: i64) -> Value {
    if id < 0 {
        json!({ "id": id, "type": "group", "title": "Traders" })
    } else {
        json!({ "id": id, "type": "private", "first_name": "x" })
    }
}

/// `text` from `from` in chat `chat_id` (private when positive, a group when negative).
pub(crate) fn said(update_id: i64, chat_id: i64, from: i64, text: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "update_id": update_id,
        "message": { "message_id": update_id % 100_000, "date": 1763856000,
            "chat": chat(chat_id), "from": person(from), "text": text }
    }))
    .unwrap()
}

/// `from` taps a button with `data` on AVA's message 500 in chat `chat_id`.
pub(crate) fn tapped(update_id: i64, chat_id: i64, from: i64, data: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "update_id": update_id,
        "callback_query": {
            "id": format!("cbq-{update_id}"),
            "from": person(from),
            "message": { "message_id": 500, "date": 1763856040, "text": "…", "chat": chat(chat_id),
                "from": { "id": 7000000001u64, "is_bot": true, "first_name": "AVA" } },
            "chat_instance": "-1", "data": data
        }
    }))
    .unwrap()
}

/// Texts sent to `chat_id`.
async fn sent_to(app: &TestApp, chat_id: i64) -> Vec<String> {
    calls(app)
        .await
        .into_iter()
        .filter(|(m, b)| m == "sendMessage" && b["chat_id"] == chat_id)
        .map(|(_, b)| b["text"].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn last_to(app: &TestApp, chat_id: i64) -> String {
    sent_to(app, chat_id).await.pop().unwrap_or_default()
}

/// The conversation state of `chat_id` as stored in Redis.
async fn stored_state(app: &TestApp, chat_id: i64) -> Vec<(String, String)> {
    let mut conn = app.redis.clone();
    let mut fields: Vec<(String, String)> = redis::cmd("HGETALL")
        .arg(format!("{}:conv:{{{chat_id}}}", app.settings.redis.prefix))
        .query_async(&mut conn)
        .await
        .expect("HGETALL");
    fields.sort();
    fields
}

/// `ava_access_denied_total{action}` as `/metrics` shows it.
async fn denied_metric(app: &TestApp, action: &str) -> f64 {
    let page = app
        .http
        .get(format!("http://{}/metrics", app.addr))
        .send()
        .await
        .expect("/metrics")
        .text()
        .await
        .unwrap();
    let series = format!("ava_access_denied_total{{action=\"{action}\"}} ");
    page.lines()
        .find_map(|l| l.strip_prefix(&series))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {series} in /metrics"))
}

#[tokio::test]
async fn a_non_trader_a_non_admin_and_a_stranger_are_refused_recorded_counted_and_rate_limited() {
    let app = TestApp::spawn_with(|fig| {
        fig.merge(Serialized::default("access.mode", "allowlist"))
            .merge(Serialized::default("access.traders", vec![ALICE]))
            .merge(Serialized::default("access.admins", vec![ALICE]))
            .merge(Serialized::default("access.viewers", vec![BOB, CAROL]))
    })
    .await;
    mount_bot_methods(&app).await;
    let w = &app.worker;
    let trade_before = denied_metric(&app, "trade").await;

    say(&app, w, said(610_001, BOB, BOB, "/buy AAPL 1")).await;
    let refusal = last_to(&app, BOB).await;
    assert!(refusal.starts_with("Sorry, you can't place orders"), "{refusal}");
    // Again within the window: recorded and counted, but not said twice.
    say(&app, w, said(610_002, BOB, BOB, "/buy AAPL 2")).await;
    assert_eq!(
        sent_to(&app, BOB).await.len(),
        1,
        "one refusal message per window"
    );
    // A viewer may still read.
    say(&app, w, said(610_003, BOB, BOB, "/price AAPL")).await;
    assert!(last_to(&app, BOB).await.contains("AAPL"));

    say(&app, w, said(610_004, CAROL, CAROL, "/stats")).await;
    assert_eq!(last_to(&app, CAROL).await, "Sorry, /stats is for operators only.");
    say(&app, w, said(610_005, EVE, EVE, "/price AAPL")).await;
    assert!(last_to(&app, EVE).await.starts_with("Sorry, this bot is private"));
    // The admin gets the figures.
    say(&app, w, said(610_006, ALICE, ALICE, "/stats")).await;
    assert!(
        last_to(&app, ALICE).await.contains("refusals: "),
        "{:?}",
        sent_to(&app, ALICE).await
    );
    assert_eq!(orders(&app).await, 0);

    app.worker.log().flush().await;
    let rows: Vec<(i64, i64, String, bool, Option<i64>)> = sqlx::query_as(
        "SELECT user_id, chat_id, action, notified, update_id FROM access_denied WHERE at > now() - interval '1 hour' ORDER BY update_id",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(
        rows,
        vec![
            (BOB, BOB, "trade".into(), true, Some(610_001)),
            (BOB, BOB, "trade".into(), false, Some(610_002)),
            (CAROL, CAROL, "admin".into(), true, Some(610_004)),
            (EVE, EVE, "view".into(), true, Some(610_005)),
        ]
    );
    // Other tests share the process' recorder, so at least this test's two.
    assert!(denied_metric(&app, "trade").await >= trade_before + 2.0);
    app.cleanup().await;
}

#[tokio::test]
async fn another_members_tap_on_confirm_changes_nothing() {
    let app = TestApp::spawn().await;
    mount_bot_methods(&app).await;
    let w = &app.worker;
    say(&app, w, said(620_001, ALICE, ALICE, "/buy AAPL 1")).await;
    assert!(last_to(&app, ALICE).await.contains("Execute?"));
    let yes = button(&app, "✅ Yes").await;
    app.worker.log().flush().await;
    let state_before = stored_state(&app, ALICE).await;
    let transitions = || async {
        app.worker.log().flush().await;
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM conversation_transitions")
            .fetch_one(&app.db)
            .await
            .unwrap();
        n
    };
    let moves_before = transitions().await;
    let sends_before = sent_to(&app, ALICE).await.len();

    say(&app, w, tapped(620_002, ALICE, BOB, &yes)).await;
    let toast = calls(&app)
        .await
        .into_iter()
        .rev()
        .find(|(m, b)| m == "answerCallbackQuery" && b["callback_query_id"] == "cbq-620002")
        .map(|(_, b)| b["text"].clone())
        .expect("Bob's tap is answered");
    assert_eq!(toast, "Only @alice can confirm this");
    assert_eq!(orders(&app).await, 0, "no order");
    assert_eq!(stored_state(&app, ALICE).await, state_before, "state untouched");
    assert_eq!(transitions().await, moves_before);
    assert_eq!(
        sent_to(&app, ALICE).await.len(),
        sends_before,
        "nothing said in the chat"
    );
    // "No" from Bob too.
    let no = yes.replace("confirm:yes", "confirm:no");
    say(&app, w, tapped(620_003, ALICE, BOB, &no)).await;
    assert_eq!(stored_state(&app, ALICE).await, state_before);

    // Alice's own tap places it, on her account.
    say(&app, w, tapped(620_004, ALICE, ALICE, &yes)).await;
    assert!(last_to(&app, ALICE).await.contains("✅ Order P-"));
    let account: i64 = sqlx::query_scalar("SELECT account_id FROM orders")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(account, ALICE);
    app.cleanup().await;
}

#[tokio::test]
async fn a_trade_in_a_group_is_sent_to_a_private_chat_and_the_account_is_the_persons() {
    let app =
        TestApp::spawn_with(|fig| fig.merge(Serialized::default("conversation.bot_username", "ava_bot")))
            .await;
    mount_bot_methods(&app).await;
    let w = &app.worker;
    say(&app, w, said(630_001, GROUP, ALICE, "/buy AAPL 1")).await;
    let answer = last_to(&app, GROUP).await;
    assert!(answer.contains("private chat"), "{answer}");
    assert!(answer.contains("t.me/ava_bot?start=buy-AAPL-1"), "{answer}");
    assert!(!answer.contains("Execute?"));
    assert_eq!(orders(&app).await, 0);

    // The deep link opens the private chat with /start buy-AAPL-1: the trade picks up there.
    say(&app, w, said(630_002, ALICE, ALICE, "/start buy-AAPL-1")).await;
    assert!(last_to(&app, ALICE).await.contains("Execute?"));
    let yes = button(&app, "✅ Yes").await;
    say(&app, w, tapped(630_003, ALICE, ALICE, &yes)).await;
    assert!(last_to(&app, ALICE).await.contains("✅ Order P-"));

    // Her portfolio is hers wherever she asks: in the group it is her account, not the group's.
    say(&app, w, said(630_004, GROUP, ALICE, "/portfolio")).await;
    assert!(
        last_to(&app, GROUP).await.contains("1 × AAPL"),
        "{}",
        last_to(&app, GROUP).await
    );
    say(&app, w, said(630_005, GROUP, BOB, "/portfolio")).await;
    assert!(last_to(&app, GROUP).await.contains("No positions yet"));

    app.worker.log().flush().await;
    let (user, action): (i64, String) =
        sqlx::query_as("SELECT user_id, action FROM access_denied WHERE chat_id = $1")
            .bind(GROUP)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!((user, action.as_str()), (ALICE, "group_trade"));
    app.cleanup().await;
}
