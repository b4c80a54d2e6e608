//! The Bot API emulator on its own (no Redis, no Postgres): Telegram-shaped answers, users and
//! chats, getUpdates and webhook delivery, buttons, faults, events.

use std::time::Duration;

use ava::{
    config::{Secret, TelegramSettings},
    emulator::Emulator,
    telegram::{BotApi, SendMessage},
};
use serde_json::{Value, json};

const TOKEN: &str = "4242:EMULATED";

/// A started emulator and a client for its HTTP APIs.
pub(crate) struct Emu {
    pub(crate) emu: Emulator,
    pub(crate) http: reqwest::Client,
}

impl Emu {
    pub(crate) async fn start() -> Self {
        let emu = Emulator::start(Some(TOKEN.into()))
            .await
            .expect("emulator starts");
        Self {
            emu,
            http: reqwest::Client::new(),
        }
    }

    pub(crate) fn base(&self) -> String {
        self.emu.api_url()
    }

    /// Calls a Bot API method; (HTTP status, envelope).
    pub(crate) async fn bot(&self, method: &str, body: Value) -> (u16, Value) {
        self.bot_as(TOKEN, method, body).await
    }

    async fn bot_as(&self, token: &str, method: &str, body: Value) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}/bot{token}/{method}", self.base()))
            .json(&body)
            .send()
            .await
            .expect("emulator reachable");
        (r.status().as_u16(), r.json().await.expect("JSON answer"))
    }

    /// A client API request; (HTTP status, body).
    pub(crate) async fn api(&self, verb: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self.http.request(verb, format!("{}{path}", self.base()));
        if let Some(body) = body {
            req = req.json(&body);
        }
        let r = req.send().await.expect("emulator reachable");
        let status = r.status().as_u16();
        // Bodies axum itself rejects come back as plain text.
        let text = r.text().await.expect("an answer");
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    pub(crate) async fn post(&self, path: &str, body: Value) -> Value {
        let (status, answer) = self.api(reqwest::Method::POST, path, Some(body)).await;
        assert_eq!(status, 200, "POST {path}: {answer}");
        answer
    }

    pub(crate) async fn get(&self, path: &str) -> Value {
        let (status, answer) = self.api(reqwest::Method::GET, path, None).await;
        assert_eq!(status, 200, "GET {path}: {answer}");
        answer
    }

    pub(crate) fn client(&self, timeout_secs: u64) -> BotApi {
        BotApi::new(&TelegramSettings {
            api_url: self.base(),
            token: Secret::new(TOKEN),
            request_timeout_secs: timeout_secs,
        })
        .expect("client")
    }
}

#[tokio::test]
async fn methods_answer_as_telegram_does() {
    let e = Emu::start().await;
    let (status, me) = e.bot("getMe", json!({})).await;
    assert_eq!(
        (status, me["ok"].clone(), me["result"]["is_bot"].clone()),
        (200, json!(true), json!(true))
    );
    // AVA's own client decodes it.
    let me = e.client(5).get_me().await.expect("getMe decodes");
    assert_eq!(me.username(), "ava_dev_bot");

    let (status, body) = e.bot("sendSticker", json!({ "chat_id": 1 })).await;
    assert_eq!(status, 404);
    assert_eq!(
        body,
        json!({ "ok": false, "error_code": 404, "description": "Not Found" })
    );
    let (status, body) = e.bot_as("1:WRONG", "getMe", json!({})).await;
    assert_eq!(status, 401);
    assert_eq!(
        body,
        json!({ "ok": false, "error_code": 401, "description": "Unauthorized" })
    );

    let user = e.post("/users", json!({ "first_name": "Dana" })).await;
    let chat = user["id"].as_i64().unwrap();
    let (status, body) = e.bot("sendMessage", json!({ "chat_id": chat, "text": "" })).await;
    assert_eq!(
        (status, body["description"].as_str().unwrap()),
        (400, "Bad Request: message text is empty")
    );
    let (status, body) = e.bot("sendMessage", json!({ "chat_id": -5, "text": "hi" })).await;
    assert_eq!(
        (status, body["description"].as_str().unwrap()),
        (400, "Bad Request: chat not found")
    );

    // Message ids increase; the answer is the Message.
    let keyboard = json!({ "inline_keyboard": [[{ "text": "A", "callback_data": "a" }]] });
    let (_, first) = e
        .bot(
            "sendMessage",
            json!({ "chat_id": chat, "text": "one\ntwo", "reply_markup": keyboard }),
        )
        .await;
    let (_, second) = e
        .bot(
            "sendMessage",
            json!({ "chat_id": chat, "text": "<b>bold</b>", "parse_mode": "HTML" }),
        )
        .await;
    let (m1, m2) = (
        first["result"]["message_id"].as_i64().unwrap(),
        second["result"]["message_id"].as_i64().unwrap(),
    );
    assert!(m2 > m1, "{m1} {m2}");
    assert_eq!(first["result"]["chat"]["id"], json!(chat));
    assert_eq!(first["result"]["reply_markup"], keyboard);
    let sent = e
        .client(5)
        .send(&SendMessage::new(chat, "via AVA's client"))
        .await
        .unwrap();
    assert_eq!(sent.message_id, m2 + 1);

    // Edits apply in place; the keyboard goes unless given again, as at Telegram.
    let (status, _) = e
        .bot(
            "editMessageText",
            json!({ "chat_id": chat, "message_id": m1, "text": "one, edited", "reply_markup": keyboard }),
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = e
        .bot(
            "editMessageText",
            json!({ "chat_id": chat, "message_id": m1, "text": "one, edited", "reply_markup": keyboard }),
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        body["description"]
            .as_str()
            .unwrap()
            .contains("message is not modified"),
        "{body}"
    );
    let (status, _) = e
        .bot(
            "editMessageReplyMarkup",
            json!({ "chat_id": chat, "message_id": m1 }),
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = e
        .bot(
            "editMessageText",
            json!({ "chat_id": chat, "message_id": 999, "text": "x" }),
        )
        .await;
    assert_eq!(
        (status, body["description"].as_str().unwrap()),
        (400, "Bad Request: message to edit not found")
    );
    let (status, _) = e
        .bot("deleteMessage", json!({ "chat_id": chat, "message_id": m2 }))
        .await;
    assert_eq!(status, 200);
    let (status, _) = e
        .bot("sendChatAction", json!({ "chat_id": chat, "action": "typing" }))
        .await;
    assert_eq!(status, 200);
    let (status, _) = e
        .bot("sendChatAction", json!({ "chat_id": chat, "action": "dancing" }))
        .await;
    assert_eq!(status, 400);
    let (status, body) = e.bot("getFile", json!({ "file_id": "nope" })).await;
    assert_eq!((status, body["ok"].clone()), (400, json!(false)));

    let transcript = e.get(&format!("/chats/{chat}/messages")).await;
    let rows: Vec<(i64, &str, u64, bool)> = transcript
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["message_id"].as_i64().unwrap(),
                m["text"].as_str().unwrap(),
                m["edits"].as_u64().unwrap(),
                m.get("reply_markup").is_some(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (m1, "one, edited", 2, false),
            (m2 + 1, "via AVA's client", 0, false)
        ]
    );

    // Every call is recorded, failures too; /messages lists what was sent, with ids.
    let calls = e.get("/calls").await;
    assert_eq!(calls.as_array().unwrap().len(), 17, "{calls:#}");
    assert_eq!(calls[2]["method"], json!("sendSticker"));
    assert_eq!(calls[2]["status"], json!(404));
    let messages = e.get("/messages").await;
    assert_eq!(messages[0]["message_id"], json!(m1));
    assert_eq!(messages[0]["method"], json!("sendMessage"));
    e.emu.stop();
}

#[tokio::test]
async fn webhook_admin_commands_work_against_it() {
    let e = Emu::start().await;
    let (_, info) = e.bot("getWebhookInfo", json!({})).await;
    assert_eq!(info["result"]["url"], json!(""));
    let bot = e.client(5);
    bot.set_webhook(
        &ava::telegram::SetWebhook {
            url: "https://bot.example.com/webhook".into(),
            max_connections: Some(7),
            ..Default::default()
        },
        "s3cret",
    )
    .await
    .expect("setWebhook");
    let info = bot.get_webhook_info().await.expect("getWebhookInfo decodes");
    assert_eq!(info.url.unwrap().as_str(), "https://bot.example.com/webhook");
    assert_eq!(info.max_connections, Some(7));
    let (status, body) = e
        .bot(
            "setWebhook",
            json!({ "url": "https://x", "secret_token": "no spaces allowed" }),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    bot.delete_webhook(false).await.expect("deleteWebhook");
    assert!(bot.get_webhook_info().await.unwrap().url.is_none());
    e.emu.stop();
}

#[tokio::test]
async fn users_messages_come_through_get_updates_in_order() {
    let e = Emu::start().await;
    let dana = e
        .post("/users", json!({ "first_name": "Dana", "username": "dana" }))
        .await["id"]
        .as_i64()
        .unwrap();
    let a = e
        .post(
            &format!("/chats/{dana}/send"),
            json!({ "from": dana, "text": "/start" }),
        )
        .await;
    let b = e
        .post(
            &format!("/chats/{dana}/send"),
            json!({ "from": dana, "text": "AAPL" }),
        )
        .await;
    assert!(b["update_id"].as_i64() > a["update_id"].as_i64());
    assert!(b["message_id"].as_i64() > a["message_id"].as_i64());

    let (_, updates) = e.bot("getUpdates", json!({ "timeout": 0 })).await;
    let updates = updates["result"].as_array().unwrap().clone();
    assert_eq!(updates.len(), 2);
    assert_eq!(updates[0]["message"]["text"], json!("/start"));
    assert_eq!(updates[0]["message"]["entities"][0]["type"], json!("bot_command"));
    assert_eq!(updates[0]["message"]["from"]["username"], json!("dana"));
    assert_eq!(updates[1]["message"]["chat"]["type"], json!("private"));
    // AVA's client decodes them as the poller would.
    let polled = e
        .client(5)
        .get_updates(None, 100, Duration::ZERO, &[])
        .await
        .unwrap();
    assert_eq!(polled.len(), 2);

    // offset confirms; a long poll wakes when a message arrives.
    let next = updates[1]["update_id"].as_i64().unwrap() + 1;
    let poll = {
        let e2 = Emu {
            emu: e.emu.clone(),
            http: e.http.clone(),
        };
        tokio::spawn(async move {
            e2.bot("getUpdates", json!({ "offset": next, "timeout": 30 }))
                .await
        })
    };
    e.post(
        &format!("/chats/{dana}/send"),
        json!({ "from": dana, "text": "later" }),
    )
    .await;
    let (_, woke) = poll.await.unwrap();
    assert_eq!(woke["result"][0]["message"]["text"], json!("later"));
    assert_eq!(
        woke["result"].as_array().unwrap().len(),
        1,
        "confirmed updates are gone"
    );

    // Not while a webhook is set.
    e.emu.set_webhook("http://127.0.0.1:9/webhook", None);
    let (status, body) = e.bot("getUpdates", json!({})).await;
    assert_eq!(status, 409, "{body}");
    let err = e
        .client(5)
        .get_updates(None, 1, Duration::ZERO, &[])
        .await
        .unwrap_err();
    assert!(err.is_conflict(), "{err:?}");

    // Bad requests change nothing.
    let (status, _) = e
        .api(
            reqwest::Method::POST,
            "/chats/1/send",
            Some(json!({ "from": dana, "text": "x" })),
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = e
        .api(
            reqwest::Method::POST,
            &format!("/chats/{dana}/send"),
            Some(json!({ "from": dana, "text": " " })),
        )
        .await;
    assert_eq!(status, 400);
    e.emu.stop();
}
