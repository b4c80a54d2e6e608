//! Speech to text over an OpenAI-compatible `POST {base}/v1/audio/transcriptions` (multipart:
//! `file`, `model`; answer `{"text": "..."}`), which OpenAI and local whisper servers both offer.
//!
//! Behind a [`Guard`] (timeout and breaker, no retries: the user can send it again). The key
//! travels in the `Authorization` header, never in the URL.

use serde::Deserialize;

use super::{Guard, IntegrationError};
use crate::config::{Secret, VoiceSettings};

const SERVICE: &str = "voice transcription";
// Long and unusual enough never to occur inside an audio file by chance in practice.
const BOUNDARY: &str = "ava-voice-7f3c9d2e5b8a41f6a0c4e9d8b7f2a1c3";

/// The transcription client.
#[derive(Clone)]
pub struct Transcriber {
    http: reqwest::Client,
    url: String,
    api_key: Secret,
    model: String,
    guard: Guard,
}

#[derive(Deserialize)]
struct Transcript {
    text: String,
}

impl Transcriber {
    /// A client for `settings.base_url`.
    pub fn new(settings: &VoiceSettings) -> anyhow::Result<Self> {
        crate::install_crypto_provider();
        Ok(Self {
            http: reqwest::Client::builder().build()?,
            url: format!(
                "{}/v1/audio/transcriptions",
                settings.base_url.trim_end_matches('/')
            ),
            api_key: settings.api_key.clone(),
            model: settings.model.clone(),
            guard: Guard::new(SERVICE, settings.guard()),
        })
    }

    /// The breaker, for /status.
    pub fn guard(&self) -> &Guard {
        &self.guard
    }

    /// The words spoken in `audio` (named `filename`, whose extension tells the server the format).
    pub async fn transcribe(&self, audio: &[u8], filename: &str) -> Result<String, IntegrationError> {
        self.guard.write(|| self.once(audio, filename)).await
    }

    async fn once(&self, audio: &[u8], filename: &str) -> Result<String, IntegrationError> {
        let unavailable = |reason: String| IntegrationError::Unavailable {
            service: SERVICE,
            reason,
        };
        let mut request = self
            .http
            .post(&self.url)
            .header(
                reqwest::header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .body(multipart(&self.model, audio, filename));
        if !self.api_key.expose().is_empty() {
            request = request.bearer_auth(self.api_key.expose());
        }
        let response = request
            .send()
            .await
            .map_err(|e| unavailable(e.without_url().to_string()))?;
        let status = response.status();
        if !status.is_success() {
            return Err(unavailable(format!("HTTP {status}")));
        }
        let transcript: Transcript = response
            .json()
            .await
            .map_err(|e| unavailable(format!("unreadable answer: {}", e.without_url())))?;
        Ok(transcript.text)
    }
}

/// A multipart/form-data body with the fields the endpoint requires.
fn multipart(model: &str, audio: &[u8], filename: &str) -> Vec<u8> {
    let filename: String = filename
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        .collect();
    let mut body = Vec::with_capacity(audio.len() + 512);
    for (name, value) in [("model", model), ("response_format", "json")] {
        body.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(audio);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}
