//! Webhook delivery: while a webhook is set, waiting updates are POSTed to it one at a time in
//! update_id order with `X-Telegram-Bot-Api-Secret-Token`; an update leaves the queue only on a
//! 2xx answer, as at Telegram, and failures are retried with backoff and shown in getWebhookInfo.

use std::time::Duration;

use super::Emulator;

/// Longest pause between attempts after a failed delivery.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Longest one delivery may take.
const POST_TIMEOUT: Duration = Duration::from_secs(30);

pub(super) async fn run(emu: Emulator) {
    crate::install_crypto_provider();
    let http = match reqwest::Client::builder().timeout(POST_TIMEOUT).build() {
        Ok(http) => http,
        Err(e) => {
            tracing::error!(target: "emulator", "no HTTP client for webhook delivery: {e}");
            return;
        }
    };
    let mut changes = emu.inner.updates.subscribe();
    let mut backoff = Duration::from_millis(100);
    loop {
        let next = {
            let world = emu.world();
            let secret = world.webhook.secret_token.clone();
            (!world.webhook.url.is_empty())
                .then(|| {
                    world
                        .pending
                        .front()
                        .cloned()
                        .map(|u| (world.webhook.url.clone(), secret, u))
                })
                .flatten()
        };
        let Some((url, secret, update)) = next else {
            tokio::select! {
                changed = changes.changed() => if changed.is_err() { return },
                _ = emu.inner.stop.cancelled() => return,
            }
            continue;
        };
        let mut request = http.post(&url).json(&update);
        if let Some(secret) = &secret {
            request = request.header("X-Telegram-Bot-Api-Secret-Token", secret);
        }
        let failure = match request.send().await {
            Ok(r) if r.status().is_success() => None,
            Ok(r) => Some(format!("Wrong response from the webhook: {}", r.status())),
            Err(e) => Some(format!("Connection failed: {}", e.without_url())),
        };
        let retry = {
            let mut world = emu.world();
            match failure {
                None => {
                    // Only if it is still the head: deleteWebhook(drop_pending_updates) may have cleared it.
                    if world.pending.front().map(|u| &u["update_id"]) == Some(&update["update_id"]) {
                        world.pending.pop_front();
                    }
                    false
                }
                Some(message) => {
                    world.webhook.last_error_date = Some(chrono::Utc::now().timestamp());
                    world.webhook.last_error_message = Some(message);
                    true
                }
            }
        };
        if retry {
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = emu.inner.stop.cancelled() => return,
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        } else {
            backoff = Duration::from_millis(100);
        }
    }
}
