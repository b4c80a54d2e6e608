//! Typed Bot API methods on [`BotApi`]: the ones AVA uses, each a thin layer over `call`.

use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Value, json};
use teloxide_core::types::{ChatAction, InlineKeyboardMarkup, Me, ParseMode, WebhookInfo};

use super::{BotApi, Sent, TelegramError};

/// A `sendMessage` request.
#[derive(Debug, Clone, Serialize)]
pub struct SendMessage {
    /// Target chat.
    pub chat_id: i64,
    /// Text; see [`super::Outbound`] for texts over 4,096 characters.
    pub text: String,
    /// `MarkdownV2` or `HTML`; plain text when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parse_mode: Option<ParseMode>,
    /// Inline keyboard under the message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_markup: Option<InlineKeyboardMarkup>,
}

impl SendMessage {
    /// Plain text to `chat_id`.
    pub fn new(chat_id: i64, text: impl Into<String>) -> Self {
        Self {
            chat_id,
            text: text.into(),
            parse_mode: None,
            reply_markup: None,
        }
    }

    /// Sets the parse mode.
    pub fn parse_mode(mut self, mode: ParseMode) -> Self {
        self.parse_mode = Some(mode);
        self
    }

    /// Attaches an inline keyboard.
    pub fn keyboard(mut self, keyboard: InlineKeyboardMarkup) -> Self {
        self.reply_markup = Some(keyboard);
        self
    }
}

/// An `editMessageText` request.
#[derive(Debug, Clone, Serialize)]
pub struct EditMessageText {
    /// Chat of the message.
    pub chat_id: i64,
    /// The message to edit.
    pub message_id: i64,
    /// New text.
    pub text: String,
    /// `MarkdownV2` or `HTML`; plain text when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parse_mode: Option<ParseMode>,
    /// New inline keyboard.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_markup: Option<InlineKeyboardMarkup>,
}

impl EditMessageText {
    /// Replaces the text of `message_id` in `chat_id` (plain text, keyboard removed).
    pub fn new(chat_id: i64, message_id: i64, text: impl Into<String>) -> Self {
        Self {
            chat_id,
            message_id,
            text: text.into(),
            parse_mode: None,
            reply_markup: None,
        }
    }
}

/// An `answerCallbackQuery` request: stops the button's spinner, optionally with a toast.
#[derive(Debug, Clone, Serialize)]
pub struct AnswerCallbackQuery {
    /// The query answered.
    pub callback_query_id: String,
    /// The toast; none just stops the spinner.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// An alert the user must dismiss instead of a toast.
    pub show_alert: bool,
}

/// A `setWebhook` request. The secret is passed separately so it never sits in a `Debug` struct.
#[derive(Debug, Clone, Default)]
pub struct SetWebhook {
    /// Public HTTPS URL Telegram POSTs to.
    pub url: String,
    /// Update kinds to receive; empty keeps Telegram's default.
    pub allowed_updates: Vec<String>,
    /// Most simultaneous connections Telegram opens (1-100).
    pub max_connections: Option<u32>,
    /// Drop updates waiting at Telegram.
    pub drop_pending_updates: bool,
}

fn to_json<T: Serialize>(value: &T) -> Result<Value, TelegramError> {
    serde_json::to_value(value).map_err(|e| TelegramError::Refused {
        code: 400,
        description: format!("request cannot be encoded: {e}"),
    })
}

impl BotApi {
    /// `sendMessage` with parse mode and keyboard, as one message.
    pub async fn send(&self, message: &SendMessage) -> Result<Sent, TelegramError> {
        let started = Instant::now();
        let msg: Value = self.call("sendMessage", &to_json(message)?).await?;
        let message_id = msg.get("message_id").and_then(Value::as_i64).unwrap_or_default();
        Ok(Sent {
            message_id,
            latency: started.elapsed(),
        })
    }

    /// `editMessageText`.
    pub async fn edit_message_text(&self, edit: &EditMessageText) -> Result<(), TelegramError> {
        // The result is the message, or `true` for inline messages; either means done.
        let _: Value = self.call("editMessageText", &to_json(edit)?).await?;
        Ok(())
    }

    /// `answerCallbackQuery`: stops the button's spinner, optionally with a toast or alert.
    pub async fn answer_callback_query(
        &self,
        callback_query_id: &str,
        text: Option<&str>,
        show_alert: bool,
    ) -> Result<(), TelegramError> {
        let answer = AnswerCallbackQuery {
            callback_query_id: callback_query_id.to_owned(),
            text: text.map(str::to_owned),
            show_alert,
        };
        let _: bool = self.call("answerCallbackQuery", &to_json(&answer)?).await?;
        Ok(())
    }

    /// `sendChatAction`, e.g. "typing".
    pub async fn send_chat_action(&self, chat_id: i64, action: ChatAction) -> Result<(), TelegramError> {
        let _: bool = self
            .call("sendChatAction", &json!({ "chat_id": chat_id, "action": action }))
            .await?;
        Ok(())
    }

    /// `getMe`.
    pub async fn get_me(&self) -> Result<Me, TelegramError> {
        self.call("getMe", &json!({})).await
    }

    /// `setWebhook` with the secret Telegram will send back in each request's header.
    pub async fn set_webhook(&self, request: &SetWebhook, secret_token: &str) -> Result<(), TelegramError> {
        let mut body = json!({
            "url": request.url,
            "secret_token": secret_token,
            "drop_pending_updates": request.drop_pending_updates,
        });
        if !request.allowed_updates.is_empty() {
            body["allowed_updates"] = json!(request.allowed_updates);
        }
        if let Some(n) = request.max_connections {
            body["max_connections"] = json!(n);
        }
        let _: bool = self.call("setWebhook", &body).await?;
        Ok(())
    }

    /// `deleteWebhook`.
    pub async fn delete_webhook(&self, drop_pending_updates: bool) -> Result<(), TelegramError> {
        let _: bool = self
            .call(
                "deleteWebhook",
                &json!({ "drop_pending_updates": drop_pending_updates }),
            )
            .await?;
        Ok(())
    }

    /// `getWebhookInfo`.
    pub async fn get_webhook_info(&self) -> Result<WebhookInfo, TelegramError> {
        self.call("getWebhookInfo", &json!({})).await
    }

    /// `getUpdates`, long-polling up to `timeout`. Updates come back as raw JSON so the ingress
    /// queues exactly what Telegram sent, as the webhook does.
    pub async fn get_updates(
        &self,
        offset: Option<i64>,
        limit: u8,
        timeout: Duration,
        allowed_updates: &[String],
    ) -> Result<Vec<Value>, TelegramError> {
        let mut body = json!({ "limit": limit, "timeout": timeout.as_secs() });
        if let Some(offset) = offset {
            body["offset"] = json!(offset);
        }
        if !allowed_updates.is_empty() {
            body["allowed_updates"] = json!(allowed_updates);
        }
        self.call_with_timeout("getUpdates", &body, timeout + self.request_timeout)
            .await
    }
}
