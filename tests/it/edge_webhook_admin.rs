//! `ava webhook set|delete|info` against a fake Bot API: a generated secret printed once, the
//! options passed through, the state shown, and never the bot token.

use serde_json::json;

use ava::ingress::webhook_admin::{self, SetArgs};

use crate::{
    edge_support::RecordingBotApi,
    harness::{TOKEN, TestApp},
};

#[tokio::test]
async fn webhook_set_delete_info() {
    let app = TestApp::spawn().await;
    let fake = RecordingBotApi::new(|method, _, _| match method {
        "getWebhookInfo" => (
            200,
            json!({ "ok": true, "result": { "url": "https://bot.example.com/webhook",
                "has_custom_certificate": false, "pending_update_count": 3, "last_error_date": 1763856000,
                "last_error_message": "Wrong response from the webhook: 503 Service Unavailable",
                "max_connections": 40, "allowed_updates": ["message", "callback_query"] } }),
        ),
        _ => (200, json!({ "ok": true, "result": true })),
    });
    fake.mount_on(&app.telegram).await;

    let mut settings = app.settings.clone();
    settings.webhook.secret = ava::config::Secret::new("");
    let args = SetArgs {
        url: Some("https://bot.example.com/webhook".into()),
        allowed_updates: vec!["message".into(), "callback_query".into()],
        max_connections: Some(20),
        drop_pending_updates: true,
    };
    let out = webhook_admin::set(&settings, &args).await.unwrap();
    let sent = fake.seen()[0].body.clone();
    let secret = sent["secret_token"].as_str().unwrap().to_owned();
    assert!(
        ava::config::is_valid_secret_token(&secret) && secret.len() >= 32,
        "{secret}"
    );
    assert!(out.contains(&format!("AVA_WEBHOOK__SECRET={secret}")), "{out}");
    assert_eq!(sent["url"], "https://bot.example.com/webhook");
    assert_eq!(sent["allowed_updates"], json!(["message", "callback_query"]));
    assert_eq!(sent["max_connections"], 20);
    assert_eq!(sent["drop_pending_updates"], true);

    // A configured secret is used and not printed.
    let out = webhook_admin::set(&app.settings, &args).await.unwrap();
    assert_eq!(fake.seen()[1].body["secret_token"], crate::harness::SECRET);
    assert!(!out.contains(crate::harness::SECRET), "{out}");

    // A plain-http URL is refused before Telegram is asked.
    let insecure = SetArgs {
        url: Some("http://bot.example.com/webhook".into()),
        ..SetArgs::default()
    };
    assert!(webhook_admin::set(&settings, &insecure).await.is_err());

    let info = webhook_admin::info(&settings).await.unwrap();
    assert!(info.contains("pending_update_count: 3"), "{info}");
    assert!(info.contains("503 Service Unavailable"), "{info}");
    assert!(info.contains(r#"["message","callback_query"]"#), "{info}");

    let deleted = webhook_admin::delete(&settings, true).await.unwrap();
    assert!(deleted.contains("deleted"), "{deleted}");
    assert_eq!(fake.seen().last().unwrap().body["drop_pending_updates"], true);
    assert_eq!(fake.seen().len(), 4);

    for out in [&out, &info, &deleted] {
        assert!(!out.contains(TOKEN), "the token is never printed");
    }
    app.cleanup().await;
}
