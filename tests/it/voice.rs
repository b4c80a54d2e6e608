//! Voice messages: getFile, the file download from the Bot API, an OpenAI-compatible
//! transcription server (faked here, speaking its wire format), "🎤 I heard: …", then the words
//! handled as typed. Limits and failures get a clear reply.

use figment::providers::Serialized;
use serde_json::json;
use wiremock::{
    Mock, MockServer, Request, ResponseTemplate,
    matchers::{header, method, path, path_regex},
};

use crate::{
    chat::{CHAT, calls, last_sent_contains, mount_bot_methods, say, sent},
    harness::{TOKEN, TestApp},
};

const FILE_PATH: &str = "voice/file_7.oga";

/// A small real audio file: 0.25 s of a 440 Hz tone, 8 kHz mono 16-bit PCM WAV.
fn tone_wav() -> Vec<u8> {
    let samples: Vec<i16> = (0..2000)
        .map(|i| ((i as f64 * 440.0 * std::f64::consts::TAU / 8000.0).sin() * 8000.0) as i16)
        .collect();
    let data_len = (samples.len() * 2) as u32;
    let mut wav = Vec::new();
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + data_len).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes()); // PCM
    wav.extend_from_slice(&1u16.to_le_bytes()); // mono
    wav.extend_from_slice(&8000u32.to_le_bytes());
    wav.extend_from_slice(&16000u32.to_le_bytes());
    wav.extend_from_slice(&2u16.to_le_bytes());
    wav.extend_from_slice(&16u16.to_le_bytes());
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&data_len.to_le_bytes());
    for s in samples {
        wav.extend_from_slice(&s.to_le_bytes());
    }
    wav
}

fn voice_update(update_id: i64, duration: u32, size: usize) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "update_id": update_id,
        "message": {
            "message_id": update_id % 100_000,
            "date": 1763856000,
            "chat": { "id": CHAT, "type": "private", "first_name": "Dana" },
            "from": { "id": CHAT, "is_bot": false, "first_name": "Dana" },
            "voice": {
                "file_id": "AwACAgIAAxkBAAIBQ2V0",
                "file_unique_id": "AgADQ2V0",
                "duration": duration,
                "mime_type": "audio/ogg",
                "file_size": size
            }
        }
    }))
    .unwrap()
}

/// Telegram's getFile and file download for the voice file.
async fn mount_file(app: &TestApp, audio: &[u8]) {
    Mock::given(method("POST"))
        .and(path_regex(r"^/bot[^/]+/getFile$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "ok": true,
            "result": {
                "file_id": "AwACAgIAAxkBAAIBQ2V0",
                "file_unique_id": "AgADQ2V0",
                "file_size": audio.len(),
                "file_path": FILE_PATH
            }
        })))
        .mount(&app.telegram)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/file/bot{TOKEN}/{FILE_PATH}")))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(audio.to_vec()))
        .mount(&app.telegram)
        .await;
}

/// A transcription server that answers `text` only to a well-formed request carrying `audio`.
async fn whisper(audio: Vec<u8>, text: &'static str) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/audio/transcriptions"))
        .and(header("authorization", "Bearer test-voice-key"))
        .and(move |r: &Request| {
            let ct = r
                .headers
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            let body = &r.body;
            let has = |needle: &[u8]| body.windows(needle.len()).any(|w| w == needle);
            ct.starts_with("multipart/form-data; boundary=")
                && has(b"name=\"model\"\r\n\r\nwhisper-1\r\n")
                && has(b"name=\"file\"; filename=\"file_7.oga\"")
                && has(&audio)
        })
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "text": text })))
        .mount(&server)
        .await;
    server
}

async fn app_with_voice(whisper: &MockServer) -> TestApp {
    let uri = whisper.uri();
    TestApp::spawn_with(move |fig| {
        fig.merge(Serialized::default("voice.provider", "whisper_http"))
            .merge(Serialized::default("voice.base_url", uri))
            .merge(Serialized::default("voice.api_key", "test-voice-key"))
    })
    .await
}

#[tokio::test]
async fn a_voice_note_saying_price_of_apple_gets_apples_price() {
    let audio = tone_wav();
    let server = whisper(audio.clone(), "price of Apple").await;
    let app = app_with_voice(&server).await;
    mount_bot_methods(&app).await;
    mount_file(&app, &audio).await;
    say(&app, &app.worker, voice_update(710_001, 2, audio.len())).await;
    let texts = sent(&app).await;
    assert!(
        texts.iter().any(|t| t == "🎤 I heard: price of Apple"),
        "{texts:#?}"
    );
    last_sent_contains(&app, "AAPL $").await;
    app.cleanup().await;
}

#[tokio::test]
async fn voice_off_too_long_or_failing_gets_a_clear_reply() {
    // Off (the default).
    let app = TestApp::spawn().await;
    say(&app, &app.worker, voice_update(720_001, 2, 4000)).await;
    last_sent_contains(&app, "Voice messages are off on this bot").await;
    app.cleanup().await;

    // Too long: refused before anything is downloaded.
    let audio = tone_wav();
    let server = whisper(audio.clone(), "price of Apple").await;
    let app = app_with_voice(&server).await;
    mount_file(&app, &audio).await;
    say(&app, &app.worker, voice_update(720_002, 61, audio.len())).await;
    last_sent_contains(&app, "too long: I take up to 60 seconds").await;
    assert!(
        !calls(&app).await.iter().any(|(m, _)| m == "getFile"),
        "nothing fetched"
    );
    assert!(server.received_requests().await.unwrap().is_empty());

    // The transcription server fails: the user is told, nothing else happens.
    let failing = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&failing)
        .await;
    let app2 = app_with_voice(&failing).await;
    mount_file(&app2, &audio).await;
    say(&app2, &app2.worker, voice_update(720_003, 2, audio.len())).await;
    last_sent_contains(&app2, "couldn't transcribe that voice message").await;
    assert_eq!(failing.received_requests().await.unwrap().len(), 1);
    app.cleanup().await;
    app2.cleanup().await;
}
