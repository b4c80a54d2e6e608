//! The optional language model, asked to answer with one call of the `ava_intent` tool:
//! Anthropic's Messages API (`tool_use` content block) or an OpenAI-compatible chat completions
//! API (`tool_calls`, arguments as a JSON string). Behind a [`Guard`] (timeout and breaker).
//! Keys travel in headers, never in URLs.

use serde_json::{Value, json};

use super::{Guard, IntegrationError};
use crate::{
    config::{NluSettings, Secret},
    conversation::nlu::{ModelAnswer, SYSTEM_PROMPT, schema},
};

const SERVICE: &str = "language model";
const TOOL: &str = "ava_intent";
const TOOL_DESCRIPTION: &str = "Record what the user asks AVA for, as one of AVA's intents.";
/// Anthropic's API version header this client speaks.
const ANTHROPIC_VERSION: &str = "2023-06-01";

#[derive(Clone, Copy)]
enum Api {
    Anthropic,
    OpenAi,
}

/// The model client.
#[derive(Clone)]
pub struct LanguageModel {
    api: Api,
    http: reqwest::Client,
    base: String,
    model: String,
    api_key: Secret,
    guard: Guard,
}

impl LanguageModel {
    /// A client for `settings` (provider other than `none`).
    pub fn new(settings: &NluSettings) -> anyhow::Result<Self> {
        crate::install_crypto_provider();
        Ok(Self {
            api: if settings.provider == "anthropic" {
                Api::Anthropic
            } else {
                Api::OpenAi
            },
            http: reqwest::Client::builder().build()?,
            base: settings.base().to_owned(),
            model: settings.model.clone(),
            api_key: settings.api_key.clone(),
            guard: Guard::new(SERVICE, settings.guard()),
        })
    }

    /// The breaker, for /status.
    pub fn guard(&self) -> &Guard {
        &self.guard
    }

    /// What `text` asks for, in AVA's schema (still to be validated like typed text).
    pub async fn understand(&self, text: &str) -> Result<ModelAnswer, IntegrationError> {
        self.guard.write(|| self.once(text)).await
    }

    async fn once(&self, text: &str) -> Result<ModelAnswer, IntegrationError> {
        let unavailable = |reason: String| IntegrationError::Unavailable {
            service: SERVICE,
            reason,
        };
        let request = match self.api {
            Api::Anthropic => self
                .http
                .post(format!("{}/v1/messages", self.base))
                .header("x-api-key", self.api_key.expose())
                .header("anthropic-version", ANTHROPIC_VERSION)
                .json(&json!({
                    "model": self.model,
                    "max_tokens": 400,
                    "system": SYSTEM_PROMPT,
                    "tools": [{ "name": TOOL, "description": TOOL_DESCRIPTION, "input_schema": schema() }],
                    "tool_choice": { "type": "tool", "name": TOOL },
                    "messages": [{ "role": "user", "content": text }]
                })),
            Api::OpenAi => self
                .http
                .post(format!("{}/v1/chat/completions", self.base))
                .bearer_auth(self.api_key.expose())
                .json(&json!({
                    "model": self.model,
                    "max_tokens": 400,
                    "messages": [
                        { "role": "system", "content": SYSTEM_PROMPT },
                        { "role": "user", "content": text }
                    ],
                    "tools": [{
                        "type": "function",
                        "function": { "name": TOOL, "description": TOOL_DESCRIPTION, "parameters": schema() }
                    }],
                    "tool_choice": { "type": "function", "function": { "name": TOOL } }
                })),
        };
        let response = request
            .send()
            .await
            .map_err(|e| unavailable(e.without_url().to_string()))?;
        let status = response.status();
        if !status.is_success() {
            return Err(unavailable(format!("HTTP {status}")));
        }
        let body: Value = response
            .json()
            .await
            .map_err(|e| unavailable(format!("unreadable answer: {}", e.without_url())))?;
        let input = match self.api {
            Api::Anthropic => body["content"]
                .as_array()
                .and_then(|blocks| {
                    blocks
                        .iter()
                        .find(|b| b["type"] == "tool_use" && b["name"] == TOOL)
                })
                .map(|b| b["input"].clone()),
            Api::OpenAi => body["choices"][0]["message"]["tool_calls"]
                .as_array()
                .and_then(|calls| calls.iter().find(|c| c["function"]["name"] == TOOL))
                .and_then(|c| c["function"]["arguments"].as_str())
                .and_then(|args| serde_json::from_str(args).ok()),
        }
        .ok_or_else(|| unavailable("the answer holds no ava_intent call".into()))?;
        serde_json::from_value(input).map_err(|e| unavailable(format!("answer outside the schema: {e}")))
    }
}
