//! Voice messages: transcribed by the worker (`Request::Transcribe`), shown back as
//! "🎤 I heard: …", then handled exactly as the same words typed.

use serde::{Deserialize, Serialize};

use super::{
    effect::{Effect, Request},
    free_text,
    state::State,
};

/// Why a voice message has no transcript.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum VoiceFailure {
    /// `voice.provider = "none"`.
    #[error("voice messages are off")]
    Off,
    /// Longer than `voice.max_duration_secs`.
    #[error("longer than {max_secs} s")]
    TooLong {
        /// The limit.
        max_secs: u32,
    },
    /// Larger than `voice.max_bytes`.
    #[error("larger than {max_bytes} bytes")]
    TooLarge {
        /// The limit.
        max_bytes: u64,
    },
    /// Download or transcription failed (reason without secrets).
    #[error("transcription failed: {0}")]
    Failed(String),
}

/// A voice message arrived: ask the worker for its words.
pub(crate) fn on_voice(
    state: State,
    file_id: String,
    duration_secs: u32,
    size_bytes: u64,
) -> (State, Vec<Effect>) {
    (
        state,
        vec![Effect::Request(Request::Transcribe {
            file_id,
            duration_secs,
            size_bytes,
        })],
    )
}

/// The transcript came back: show it, then handle it as typed text.
pub(crate) fn on_transcript(state: State, result: Result<String, VoiceFailure>) -> (State, Vec<Effect>) {
    let reply = match result {
        Ok(words) => {
            let words = words.trim();
            if words.is_empty() {
                "🎤 I couldn't make out any words. Try again, or type it.".to_owned()
            } else {
                let (state, mut effects) = free_text::on_text(state, words);
                effects.insert(0, Effect::send(format!("🎤 I heard: {words}")));
                return (state, effects);
            }
        }
        Err(VoiceFailure::Off) => {
            "Voice messages are off on this bot. Type it instead, e.g. \"price of Apple\" or /help.".into()
        }
        Err(VoiceFailure::TooLong { max_secs }) => {
            format!(
                "🎤 That voice message is too long: I take up to {max_secs} seconds. Try a shorter one, or type it."
            )
        }
        Err(VoiceFailure::TooLarge { max_bytes }) => format!(
            "🎤 That voice message is too large: I take up to {} KB. Try a shorter one, or type it.",
            max_bytes / 1024
        ),
        Err(VoiceFailure::Failed(_)) => {
            "🎤 Sorry, I couldn't transcribe that voice message right now. Try again in a minute, or type it."
                .into()
        }
    };
    (state, vec![Effect::send(reply)])
}
