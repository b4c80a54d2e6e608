//! Lambda test helpers: API Gateway v1/v2 and function-URL events built from the fixtures in
//! `tests/fixtures/lambda/`, the function's answer read back, and the `bootstrap` environment
//! for a test's settings.

use std::path::PathBuf;

use ava::config::Settings;
use base64::Engine;
use serde_json::Value;

use crate::{
    harness::SECRET,
    lambda_runtime_api::{FakeRuntimeApi, Function, Outcome},
};

/// Which AWS front door sent the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// API Gateway REST API, proxy integration (payload format 1.0).
    RestV1,
    /// API Gateway HTTP API (payload format 2.0).
    HttpV2,
    /// A Lambda function URL (format 2.0, route `$default`).
    FunctionUrl,
}

impl Shape {
    pub(crate) const ALL: [Shape; 3] = [Shape::RestV1, Shape::HttpV2, Shape::FunctionUrl];

    fn fixture(self) -> &'static str {
        match self {
            Shape::RestV1 => "apigw_rest_v1.json",
            Shape::HttpV2 => "apigw_http_v2.json",
            Shape::FunctionUrl => "function_url.json",
        }
    }
}

/// The event `shape` carries for a POST of `body` with the secret header `secret` (None: no
/// header). Bodies that are not UTF-8, or when `base64` is set, travel base64-encoded, as API
/// Gateway and function URLs send binary bodies.
pub(crate) fn event(shape: Shape, body: &[u8], secret: Option<&str>, base64: bool) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/lambda")
        .join(shape.fixture());
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut event: Value = serde_json::from_str(&text).expect("fixture is JSON");
    let (body_text, encoded) = match std::str::from_utf8(body) {
        Ok(text) if !base64 => (text.to_owned(), false),
        _ => (base64::engine::general_purpose::STANDARD.encode(body), true),
    };
    event["body"] = Value::String(body_text);
    event["isBase64Encoded"] = Value::Bool(encoded);
    let length = body.len().to_string();
    match shape {
        Shape::RestV1 => {
            for (map, one) in [("headers", false), ("multiValueHeaders", true)] {
                let headers = event[map].as_object_mut().expect("v1 header map");
                let wrap = |v: &str| {
                    if one {
                        serde_json::json!([v])
                    } else {
                        Value::String(v.to_owned())
                    }
                };
                headers.insert("Content-Length".into(), wrap(&length));
                match secret {
                    Some(s) => headers.insert("X-Telegram-Bot-Api-Secret-Token".into(), wrap(s)),
                    None => headers.remove("X-Telegram-Bot-Api-Secret-Token"),
                };
            }
        }
        Shape::HttpV2 | Shape::FunctionUrl => {
            let headers = event["headers"].as_object_mut().expect("v2 headers");
            headers.insert("content-length".into(), Value::String(length));
            match secret {
                Some(s) => headers.insert("x-telegram-bot-api-secret-token".into(), s.into()),
                None => headers.remove("x-telegram-bot-api-secret-token"),
            };
        }
    }
    event
}

/// `event` with another HTTP method.
pub(crate) fn with_method(shape: Shape, mut event: Value, method: &str) -> Value {
    match shape {
        Shape::RestV1 => {
            event["httpMethod"] = method.into();
            event["requestContext"]["httpMethod"] = method.into();
        }
        Shape::HttpV2 | Shape::FunctionUrl => event["requestContext"]["http"]["method"] = method.into(),
    }
    event
}

/// What the function answered: the HTTP status, a header, and the body as JSON (Null if empty).
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) body: Value,
    pub(crate) raw: Value,
}

impl Answer {
    /// A response header, by name in any case: from `headers`, or from v1's
    /// `multiValueHeaders` (where lambda_http puts them for REST APIs).
    pub(crate) fn header(&self, name: &str) -> Option<String> {
        ["headers", "multiValueHeaders"].iter().find_map(|map| {
            let (_, value) = self.raw[*map]
                .as_object()?
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))?;
            value
                .as_str()
                .or_else(|| value.get(0).and_then(Value::as_str))
                .map(str::to_owned)
        })
    }
}

/// Reads an API Gateway proxy response (either format): fails the test on an invocation error.
pub(crate) fn answer(outcome: Outcome) -> Answer {
    let raw = match outcome {
        Outcome::Response(raw) => raw,
        Outcome::Error { error_type, body } => {
            panic!("the function failed the invocation: {error_type:?} {body}")
        }
    };
    let status = raw["statusCode"]
        .as_u64()
        .unwrap_or_else(|| panic!("no statusCode in {raw}")) as u16;
    let text = match raw["body"].as_str() {
        None | Some("") => None,
        Some(text) if raw["isBase64Encoded"] == Value::Bool(true) => Some(
            String::from_utf8(
                base64::engine::general_purpose::STANDARD
                    .decode(text)
                    .expect("base64 body"),
            )
            .expect("UTF-8 body"),
        ),
        Some(text) => Some(text.to_owned()),
    };
    let body = text.map_or(Value::Null, |t| serde_json::from_str(&t).expect("JSON body"));
    Answer { status, body, raw }
}

/// Invokes and reads the answer.
pub(crate) async fn call(api: &FakeRuntimeApi, event: Value) -> Answer {
    answer(api.invoke(event).await)
}

/// The `AVA_…` variables that give `bootstrap` the same settings as `settings`, with its
/// queue under `prefix`.
pub(crate) fn lambda_env(settings: &Settings, prefix: &str) -> Vec<(String, String)> {
    let vars = [
        ("AVA_WEBHOOK__SECRET", SECRET.to_owned()),
        ("AVA_REDIS__URL", settings.redis.url.expose().to_owned()),
        ("AVA_REDIS__PREFIX", prefix.to_owned()),
        ("AVA_DATABASE__URL", settings.database.url.expose().to_owned()),
        ("AVA_DATABASE__SCHEMA", settings.database.schema.clone()),
        (
            "AVA_INBOUND_LIMIT__BURST",
            settings.inbound_limit.burst.to_string(),
        ),
        ("AVA_LOG__FILTER", "warn".to_owned()),
    ];
    vars.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// A fake Runtime API and `bootstrap` running against it, ready for invocations.
pub(crate) async fn start_function(env: &[(String, String)]) -> (FakeRuntimeApi, Function) {
    let api = FakeRuntimeApi::start().await;
    let function = Function::start(&api, env);
    assert!(
        api.first_next(std::time::Duration::from_secs(20)).await.is_some(),
        "bootstrap did not ask for an invocation within 20 s (init error: {:?})",
        api.init_error(std::time::Duration::ZERO).await
    );
    (api, function)
}
