//! Voice messages for the conversation: limits first, then getFile, the file download from the
//! Bot API (size-capped), and the transcription. Failures become a [`VoiceFailure`] the user
//! is told about; nothing here is retried (the user can send it again).

use serde_json::{Value, json};

use super::Worker;
use crate::{
    config::{Secret, Settings},
    conversation::VoiceFailure,
    integrations::Transcriber,
};

/// What transcription needs: the client, the file endpoint and the limits.
#[derive(Clone)]
pub(crate) struct VoiceDeps {
    transcriber: Transcriber,
    http: reqwest::Client,
    /// `{api_url}/file/bot{token}`: holds the token, so it is a secret.
    files: Secret,
    max_duration_secs: u32,
    max_bytes: u64,
}

impl VoiceDeps {
    /// `None` when `voice.provider = "none"`.
    pub(crate) fn build(settings: &Settings) -> anyhow::Result<Option<Self>> {
        let voice = &settings.voice;
        if !voice.enabled() {
            return Ok(None);
        }
        Ok(Some(Self {
            transcriber: Transcriber::new(voice)?,
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_millis(voice.timeout_ms))
                .build()?,
            files: Secret::new(format!(
                "{}/file/bot{}",
                settings.telegram.api_url.trim_end_matches('/'),
                settings.telegram.token.expose()
            )),
            max_duration_secs: voice.max_duration_secs,
            max_bytes: voice.max_bytes,
        }))
    }

    /// The transcription breaker, for /status.
    pub(crate) fn guard(&self) -> &crate::integrations::Guard {
        self.transcriber.guard()
    }

    /// Downloads `file_path`, refusing more than `max_bytes`.
    async fn download(&self, file_path: &str) -> Result<Vec<u8>, VoiceFailure> {
        let failed = |e: reqwest::Error| VoiceFailure::Failed(format!("download: {}", e.without_url()));
        let mut response = self
            .http
            .get(format!("{}/{file_path}", self.files.expose()))
            .send()
            .await
            .map_err(failed)?;
        if !response.status().is_success() {
            return Err(VoiceFailure::Failed(format!(
                "download: HTTP {}",
                response.status()
            )));
        }
        let too_large = VoiceFailure::TooLarge {
            max_bytes: self.max_bytes,
        };
        if response.content_length().is_some_and(|n| n > self.max_bytes) {
            return Err(too_large);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(failed)? {
            body.extend_from_slice(&chunk);
            if body.len() as u64 > self.max_bytes {
                return Err(too_large);
            }
        }
        Ok(body)
    }
}

impl Worker {
    /// The words of a voice message, or why there are none.
    pub(super) async fn transcribe(
        &self,
        file_id: &str,
        duration_secs: u32,
        size_bytes: u64,
    ) -> Result<String, VoiceFailure> {
        let Some(voice) = &self.conv.voice else {
            return Err(VoiceFailure::Off);
        };
        if duration_secs > voice.max_duration_secs {
            return Err(VoiceFailure::TooLong {
                max_secs: voice.max_duration_secs,
            });
        }
        if size_bytes > voice.max_bytes {
            return Err(VoiceFailure::TooLarge {
                max_bytes: voice.max_bytes,
            });
        }
        let file: Value = self
            .outbound
            .call(None, "getFile", &json!({ "file_id": file_id }))
            .await
            .map_err(|e| VoiceFailure::Failed(format!("getFile: {e}")))?;
        let Some(path) = file["file_path"].as_str() else {
            return Err(VoiceFailure::Failed("getFile gave no file_path".into()));
        };
        let audio = voice.download(path).await?;
        let name = path.rsplit('/').next().unwrap_or("voice.ogg");
        let words = voice
            .transcriber
            .transcribe(&audio, name)
            .await
            .map_err(|e| VoiceFailure::Failed(e.to_string()))?;
        tracing::debug!(bytes = audio.len(), duration_secs, "voice message transcribed");
        Ok(words)
    }
}
