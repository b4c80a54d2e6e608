//! The worker's start-up check of `telegram.token`: one getMe, so a wrong token stops the
//! worker with a clear error instead of a "running" worker whose every reply fails.

use crate::{
    config::TelegramSettings,
    telegram::{BotApi, TelegramError},
};

/// Asks getMe. A refused token (401, or 404 for one that is not even shaped like a token) is
/// an error; an unreachable Bot API is only a warning: the worker carries on and its calls are
/// retried, as after any outage.
pub async fn check_token(settings: &TelegramSettings) -> anyhow::Result<()> {
    let bot = BotApi::new(settings)?;
    match bot.get_me().await {
        Ok(me) => {
            tracing::info!(bot = %me.username(), "telegram.token accepted (getMe)");
            Ok(())
        }
        Err(TelegramError::Refused {
            code: code @ (401 | 404),
            description,
        }) => Err(anyhow::anyhow!(
            "telegram.token (env AVA_TELEGRAM__TOKEN) was refused by the Bot API at telegram.api_url \
             ({code} {description}): use the token @BotFather gave you"
        )),
        Err(e) => {
            tracing::warn!(error = %e, "cannot check telegram.token with getMe; carrying on (Bot API calls are retried)");
            Ok(())
        }
    }
}
