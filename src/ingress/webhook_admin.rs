//! `ava webhook set|delete|info`: registering the webhook with Telegram. Output never contains
//! the bot token; a generated secret is printed once, because it exists nowhere else.

use anyhow::Context as _;
use rand::{Rng, distr::Alphanumeric};

use crate::{
    config::{Settings, is_valid_secret_token},
    telegram::{BotApi, SetWebhook},
};

/// `ava webhook set` options.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SetArgs {
    /// Public https:// URL Telegram POSTs to (default: webhook.public_url).
    #[arg(long)]
    pub url: Option<String>,
    /// Update kinds to receive, comma-separated (default: Telegram's).
    #[arg(long, value_delimiter = ',')]
    pub allowed_updates: Vec<String>,
    /// Most simultaneous connections Telegram opens, 1-100 (default: Telegram's 40).
    #[arg(long)]
    pub max_connections: Option<u32>,
    /// Drop the updates waiting at Telegram.
    #[arg(long)]
    pub drop_pending_updates: bool,
}

/// A new secret for `X-Telegram-Bot-Api-Secret-Token`: 64 alphanumerics (~380 bits) from the OS RNG.
pub fn generate_secret() -> String {
    rand::rng()
        .sample_iter(Alphanumeric)
        .take(64)
        .map(char::from)
        .collect()
}

fn client(settings: &Settings) -> anyhow::Result<BotApi> {
    settings.require_token()?;
    BotApi::new(&settings.telegram)
}

/// Registers the webhook; returns what to print.
pub async fn set(settings: &Settings, args: &SetArgs) -> anyhow::Result<String> {
    let url = args
        .url
        .clone()
        .unwrap_or_else(|| settings.webhook.public_url.clone());
    if url.is_empty() {
        anyhow::bail!("no webhook URL: pass --url https://... or set webhook.public_url");
    }
    if !url.starts_with("https://") {
        anyhow::bail!("the webhook URL must start with https:// (Telegram's rule)");
    }
    if let Some(n) = args.max_connections
        && !(1..=100).contains(&n)
    {
        anyhow::bail!("--max-connections must be between 1 and 100");
    }
    let configured = settings.webhook.secret.expose();
    let (secret, generated) = if configured.is_empty() {
        (generate_secret(), true)
    } else {
        (configured.to_owned(), false)
    };
    debug_assert!(is_valid_secret_token(&secret));
    let request = SetWebhook {
        url: url.clone(),
        allowed_updates: args.allowed_updates.clone(),
        max_connections: args.max_connections,
        drop_pending_updates: args.drop_pending_updates,
    };
    client(settings)?
        .set_webhook(&request, &secret)
        .await
        .context("setWebhook failed")?;
    let mut out = format!("Webhook set: {url}\n");
    if generated {
        out.push_str(&format!(
            "No webhook.secret was configured, so one was generated. It is shown only this once;\n\
             give it to every `ava ingress` replica:\n\n  AVA_WEBHOOK__SECRET={secret}\n"
        ));
    } else {
        out.push_str("Secret token: webhook.secret from the configuration.\n");
    }
    Ok(out)
}

/// Removes the webhook; returns what to print.
pub async fn delete(settings: &Settings, drop_pending_updates: bool) -> anyhow::Result<String> {
    client(settings)?
        .delete_webhook(drop_pending_updates)
        .await
        .context("deleteWebhook failed")?;
    Ok(format!(
        "Webhook deleted{}.\n",
        if drop_pending_updates {
            "; pending updates dropped"
        } else {
            ""
        }
    ))
}

/// Shows the webhook's state; returns what to print.
pub async fn info(settings: &Settings) -> anyhow::Result<String> {
    let info = client(settings)?
        .get_webhook_info()
        .await
        .context("getWebhookInfo failed")?;
    let mut out = String::new();
    let url = info
        .url
        .as_ref()
        .map(|u| u.as_str())
        .unwrap_or("(none: polling or not set)");
    out.push_str(&format!("url:                  {url}\n"));
    out.push_str(&format!("pending_update_count: {}\n", info.pending_update_count));
    match (&info.last_error_date, &info.last_error_message) {
        (None, None) => out.push_str("last_error:           none\n"),
        (date, message) => out.push_str(&format!(
            "last_error:           {} {}\n",
            date.map(|d| d.to_rfc3339()).unwrap_or_default(),
            message.as_deref().unwrap_or("")
        )),
    }
    if let Some(n) = info.max_connections {
        out.push_str(&format!("max_connections:      {n}\n"));
    }
    if let Some(kinds) = &info.allowed_updates {
        let kinds = serde_json::to_string(kinds).unwrap_or_default();
        out.push_str(&format!("allowed_updates:      {kinds}\n"));
    }
    Ok(out)
}
