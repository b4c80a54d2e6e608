//! Asks the language model about text the parser could not place, within each user's daily
//! budget (a Redis counter per chat and UTC day).

use redis::AsyncCommands;

use super::Worker;
use crate::{
    config::Settings,
    conversation::nlu::{ModelAnswer, NluFailure},
    integrations::LanguageModel,
};

/// The model and its budget.
#[derive(Clone)]
pub(crate) struct NluDeps {
    model: LanguageModel,
    redis: workers::RedisConn,
    prefix: String,
    daily: u32,
}

impl NluDeps {
    /// `None` when `nlu.provider = "none"`.
    pub(crate) fn build(
        settings: &Settings,
        redis: workers::RedisConn,
        prefix: &str,
    ) -> anyhow::Result<Option<Self>> {
        if !settings.nlu.enabled() {
            return Ok(None);
        }
        Ok(Some(Self {
            model: LanguageModel::new(&settings.nlu)?,
            redis,
            prefix: prefix.to_owned(),
            daily: settings.nlu.daily_requests_per_user,
        }))
    }

    /// The model's breaker, for /status.
    pub(crate) fn guard(&self) -> &crate::integrations::Guard {
        self.model.guard()
    }

    /// Counts one request for `chat_id` today; `false` when the budget is spent.
    async fn spend(&self, chat_id: i64) -> anyhow::Result<bool> {
        let day = chrono::Utc::now().format("%Y%m%d");
        let key = format!("{}:nlu:budget:{{{chat_id}}}:{day}", self.prefix);
        let mut redis = self.redis.clone();
        let used: u32 = redis.incr(&key, 1).await?;
        if used == 1 {
            // Two days: the counter outlives its UTC day whatever the clock skew.
            let _: () = redis.expire(&key, 2 * 86_400).await?;
        }
        Ok(used <= self.daily)
    }
}

impl Worker {
    /// The model's reading of `text`, or why there is none. Redis failures retry the job.
    pub(super) async fn understand(
        &self,
        chat_id: i64,
        text: &str,
    ) -> anyhow::Result<Result<ModelAnswer, NluFailure>> {
        let Some(nlu) = &self.conv.nlu else {
            return Ok(Err(NluFailure::Off));
        };
        if !nlu.spend(chat_id).await? {
            return Ok(Err(NluFailure::OverBudget));
        }
        Ok(nlu.model.understand(text).await.map_err(|e| {
            tracing::warn!(chat_id, error = %e, "language model gave no answer");
            NluFailure::Failed(e.to_string())
        }))
    }
}
