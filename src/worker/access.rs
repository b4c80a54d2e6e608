//! Carries out the access rules' refusals: who sent an update, the refusal recorded in
//! `access_denied` and counted in `ava_access_denied_total`, and the person told at most once
//! per `access.refusal_window_secs` (so refusals cannot be used to make AVA flood a chat).

use std::time::Duration;

use teloxide_core::types::{Update, UpdateKind};

use super::Worker;
use crate::{
    config::Settings,
    conversation::{Actor, Denial, Effect, Policy},
    ops::metrics::ACCESS_DENIED,
    store::AccessDenied,
};

/// The access policy and the refusal-message limiter.
#[derive(Clone)]
pub(crate) struct AccessGate {
    pub(crate) policy: Policy,
    redis: workers::RedisConn,
    prefix: String,
    window: Duration,
}

impl AccessGate {
    pub(crate) fn new(settings: &Settings, redis: workers::RedisConn) -> Self {
        Self {
            policy: Policy::new(&settings.access, &settings.conversation.bot_username),
            redis,
            prefix: settings.redis.prefix.clone(),
            window: Duration::from_secs(settings.access.refusal_window_secs),
        }
    }

    /// Whether `user_id` may be told about a refusal now: the first refusal of a window.
    async fn may_tell(&self, user_id: i64) -> bool {
        let key = format!("{}:access-refused:{{{user_id}}}", self.prefix);
        let set: Result<Option<String>, _> = redis::cmd("SET")
            .arg(&key)
            .arg(1)
            .arg("NX")
            .arg("EX")
            .arg(self.window.as_secs().max(1))
            .query_async(&mut self.redis.clone())
            .await;
        match set {
            Ok(reply) => reply.is_some(),
            Err(e) => {
                // Without Redis, err on the side of silence: the refusal is still recorded.
                tracing::warn!(error = %e, "cannot check the refusal-message window; not telling");
                false
            }
        }
    }
}

/// The person who sent `update`, if it has one.
pub(crate) fn actor_of(update: &Update) -> Option<Actor> {
    let (user, private_chat) = match &update.kind {
        UpdateKind::Message(m) => (m.from.as_ref()?, m.chat.is_private()),
        UpdateKind::CallbackQuery(q) => (&q.from, q.message.as_ref().is_some_and(|m| m.chat().is_private())),
        _ => return None,
    };
    Some(Actor {
        user_id: user.id.0 as i64,
        username: user.username.clone(),
        first_name: user.first_name.clone(),
        private_chat,
    })
}

impl Worker {
    /// Records a refusal, counts it, and tells the person unless they were told this window.
    /// A refused tap is always answered (so its spinner stops), with the toast only when telling.
    pub(super) async fn refuse(
        &self,
        chat_id: i64,
        event_id: &str,
        update_id: Option<i64>,
        actor: &Actor,
        denial: &Denial,
    ) {
        let action = denial.attempt.as_str();
        metrics::counter!(ACCESS_DENIED, "action" => action).increment(1);
        let notified = self.conv.access.may_tell(actor.user_id).await;
        tracing::info!(
            user_id = actor.user_id,
            chat_id,
            action,
            notified,
            "access denied"
        );
        self.log
            .record(AccessDenied {
                log_key: format!("{chat_id}:{event_id}:denied"),
                at: chrono::Utc::now(),
                user_id: actor.user_id,
                chat_id,
                action: action.to_owned(),
                update_id,
                notified,
            })
            .await;
        let reply = match (&denial.reply, notified) {
            (reply, true) => reply.clone(),
            (Effect::AnswerCallback { callback_id, .. }, false) => Effect::AnswerCallback {
                callback_id: callback_id.clone(),
                text: None,
            },
            (_, false) => return,
        };
        if let Err(e) = self.carry_out(chat_id, update_id, &reply).await {
            tracing::warn!(chat_id, error = %e, "cannot deliver a refusal");
        }
    }
}
