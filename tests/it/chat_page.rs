//! The chat page in headless Chromium against `ava dev` (real Redis and Postgres, the built-in
//! emulator as Telegram): a person types and clicks through a stock analysis to a placed paper
//! order; two people talk to AVA in one group. Screenshots go to `target/chat-page/`.

use std::path::PathBuf;

use serde_json::{Value, json};

use crate::{dev_app::DevApp, webdriver::Browser};

fn screenshot_path(name: &str) -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("chat-page").join(name)
}

/// Waits until the newest bot message on the page contains `needle`; returns its text.
async fn bot_says(browser: &Browser, needle: &str) -> String {
    let text = browser
        .wait_for(
            &format!("AVA to say {needle:?}"),
            "const bots = [...document.querySelectorAll('#messages li.bot .text')];
             const last = bots[bots.length - 1];
             return last && last.innerText.includes(arguments[0]) ? last.innerText : null;",
            json!([needle]),
        )
        .await;
    text.as_str().unwrap().to_owned()
}

/// Types `text` and presses Enter, as a person would.
async fn say(browser: &Browser, text: &str) {
    browser.type_into("#composer-input", &format!("{text}\n")).await;
}

/// Clicks the button labelled `label` on the newest message that has one.
async fn tap(browser: &Browser, label: &str) {
    browser
        .wait_for(
            &format!("a button {label:?}"),
            "document.querySelectorAll('[data-pick]').forEach(b => b.removeAttribute('data-pick'));
             const b = [...document.querySelectorAll('#messages .kb button')].reverse()
               .find(b => b.textContent.startsWith(arguments[0]) && !b.disabled);
             if (!b) return false; b.setAttribute('data-pick', '1'); return true;",
            json!([label]),
        )
        .await;
    browser.click("button[data-pick]").await;
}

/// Adds a user through the page and waits until they are selected.
async fn add_user(browser: &Browser, name: &str) {
    browser.type_into("#new-user-name", name).await;
    browser.click("#new-user-btn").await;
    browser
        .wait_for(
            &format!("{name} selected"),
            "const s = document.querySelector('#user-select');
             return s.selectedOptions.length && s.selectedOptions[0].textContent.startsWith(arguments[0]);",
            json!([name]),
        )
        .await;
}

fn texts(transcript: &Value) -> Vec<(String, String)> {
    transcript
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["from_name"].as_str().unwrap().to_owned(),
                m["text"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_person_analyses_a_stock_to_a_paper_order_in_the_chat_page() {
    let app = DevApp::spawn().await;
    // Phone width: the page must work there.
    let browser = Browser::start(412, 915).await;
    browser.goto(&app.url("/chat")).await;
    add_user(&browser, "Dana").await;

    say(&browser, "analyze a stock").await;
    bot_says(&browser, "Which stock?").await;
    say(&browser, "MSFT").await;
    bot_says(&browser, "Which strategy?").await;
    // Change of mind: a new analysis leaves the first question's buttons behind.
    say(&browser, "/analyze AAPL").await;
    bot_says(&browser, "AAPL is at").await;
    tap(&browser, "Cash-secured put").await;
    let card = browser
        .wait_for(
            "the analysis card",
            "const t = [...document.querySelectorAll('#messages li.bot .text')].map(e => e.innerText)
               .find(t => t.includes('Cash-secured put on AAPL')); return t || null;",
            json!([]),
        )
        .await;
    let card = card.as_str().unwrap();
    assert!(card.contains("Premium") && card.contains("Break-even"), "{card}");
    assert!(card.lines().count() > 3, "line breaks are kept: {card:?}");
    bot_says(&browser, "Execute?").await;
    tap(&browser, "✅ Yes").await;
    let done = bot_says(&browser, "✅ Order P-").await;
    assert!(done.contains("placed: Sell 1 AAPL"), "{done}");
    // The tapped strategy question was edited in place: its buttons are gone.
    let buttons_left: Value = browser
        .eval(
            "return [...document.querySelectorAll('#messages li.bot')].filter(li => li.innerText.includes('AAPL: Cash-secured put'))
               .map(li => li.querySelectorAll('.kb button').length);",
            json!([]),
        )
        .await;
    assert_eq!(buttons_left, json!([0]), "edits update the message in place");
    // Tapping a button of the abandoned question now shows AVA's answer as a toast.
    browser
        .eval(
            "const first = [...document.querySelectorAll('#messages li.bot')].find(li => li.innerText.includes('MSFT is at'));
             first.querySelector('.kb button').setAttribute('data-stale', '1'); return true;",
            json!([]),
        )
        .await;
    browser.click("button[data-stale]").await;
    let toast = browser
        .wait_for(
            "the toast",
            "const t = document.querySelector('#toast'); return t.hidden ? null : t.textContent;",
            json!([]),
        )
        .await;
    assert!(toast.as_str().unwrap().contains("expired"), "{toast}");

    browser.screenshot(&screenshot_path("stock-analysis.png")).await;

    // The emulator's transcript says the same, with message ids.
    let users = app.get("/emulator/users").await;
    let dana = users[0]["id"].as_i64().unwrap();
    let transcript = app.get(&format!("/emulator/chats/{dana}/messages")).await;
    let said: Vec<String> = texts(&transcript)
        .into_iter()
        .filter(|(from, _)| from == "Dana")
        .map(|(_, t)| t)
        .collect();
    assert_eq!(said, ["analyze a stock", "MSFT", "/analyze AAPL"]);
    let last = texts(&transcript).last().cloned().unwrap();
    assert_eq!(last.0, "AVA");
    assert!(last.1.contains("placed: Sell 1 AAPL"), "{last:?}");
    let ids: Vec<i64> = transcript
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["message_id"].as_i64().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    let page_count = browser
        .eval(
            "return document.querySelectorAll('#messages li').length",
            json!([]),
        )
        .await;
    assert_eq!(
        page_count,
        json!(ids.len()),
        "the page shows the whole transcript"
    );

    // A paper order was placed, once.
    let db = sqlx::PgPool::connect(&crate::harness::database_url())
        .await
        .unwrap();
    let orders: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM \"{}\".orders WHERE account_id = {dana}",
        app.settings.database.schema
    )))
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(orders, 1);
    drop(browser);
    app.cleanup().await;
}

#[tokio::test]
async fn two_users_talk_to_ava_in_one_group_chat() {
    let app = DevApp::spawn().await;
    let browser = Browser::start(1000, 800).await;
    browser.goto(&app.url("/chat")).await;
    add_user(&browser, "Ann").await;
    browser.type_into("#new-group-title", "Trading desk").await;
    browser.click("#new-group-btn").await;
    browser
        .wait_for(
            "the group selected",
            "return document.querySelector('#chat-title').textContent === 'Trading desk';",
            json!([]),
        )
        .await;
    say(&browser, "/price AAPL").await;
    bot_says(&browser, "AAPL").await;

    add_user(&browser, "Bob").await;
    browser.select("#chat-select", "Trading desk").await;
    browser
        .wait_for(
            "Ann's message in Bob's view",
            "return [...document.querySelectorAll('#messages li:not(.mine) .from')].some(f => f.textContent === 'Ann');",
            json!([]),
        )
        .await;
    say(&browser, "/analyze").await;
    bot_says(&browser, "Which stock?").await;
    // In a group AVA reads answers that reply to it: click its question, then type.
    browser
        .eval(
            "const q = [...document.querySelectorAll('#messages li.bot')].reverse().find(li => li.innerText.includes('Which stock?'));
             q.setAttribute('data-q', '1'); return true;",
            json!([]),
        )
        .await;
    browser.click("li[data-q] .text").await;
    say(&browser, "NVDA").await;
    bot_says(&browser, "Which strategy?").await;
    browser.screenshot(&screenshot_path("group-chat.png")).await;

    let chats = app.get("/emulator/chats").await;
    let group = chats
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "group")
        .expect("the group");
    assert_eq!(
        group["members"].as_array().unwrap().len(),
        2,
        "Bob joined by writing"
    );
    let transcript = app
        .get(&format!("/emulator/chats/{}/messages", group["id"]))
        .await;
    let from: Vec<String> = texts(&transcript).into_iter().map(|(f, _)| f).collect();
    assert_eq!(from, ["Ann", "AVA", "Bob", "AVA", "Bob", "AVA"], "{transcript:#}");
    let bob_reply = &transcript[4];
    assert_eq!(bob_reply["text"], json!("NVDA"));
    assert_eq!(bob_reply["reply_to_message_id"], transcript[3]["message_id"]);
    drop(browser);
    app.cleanup().await;
}
