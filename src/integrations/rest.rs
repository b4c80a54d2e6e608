//! The REST plumbing every provider client shares: one reqwest client (rustls), auth headers
//! that never reach logs, the shared rate limit, a 429's Retry-After honoured for all workers,
//! and HTTP statuses classified into [`IntegrationError`] once.

use std::time::Duration;

use reqwest::{Method, RequestBuilder, StatusCode};
use serde::de::DeserializeOwned;

use super::{IntegrationError, RateLimiter};
use crate::config::Secret;

/// How many 429s one call waits out before giving up (the guard's timeout bounds it too).
const MAX_429_WAITS: u32 = 2;
/// Longest Retry-After a call sleeps through in place; a longer one fails the call at once.
const MAX_IN_PLACE_WAIT: Duration = Duration::from_secs(5);

/// A provider's REST endpoint.
#[derive(Clone)]
pub(crate) struct Rest {
    http: reqwest::Client,
    base: String,
    headers: Vec<(&'static str, Secret)>,
    limiter: Option<RateLimiter>,
    service: &'static str,
}

/// A response read to the end: status and body.
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) body: Vec<u8>,
}

impl Answer {
    /// The body as `T`, or an unavailable error naming what could not be read.
    pub(crate) fn json<T: DeserializeOwned>(&self, service: &'static str) -> Result<T, IntegrationError> {
        serde_json::from_slice(&self.body).map_err(|e| IntegrationError::Unavailable {
            service,
            reason: format!("unreadable answer: {e}"),
        })
    }

    /// The provider's own error message (`msg` or `message`), for rejections shown to the user.
    pub(crate) fn message(&self) -> String {
        let v: serde_json::Value = serde_json::from_slice(&self.body).unwrap_or_default();
        v.get("message")
            .or_else(|| v.get("msg"))
            .and_then(|m| m.as_str())
            .map(str::to_owned)
            .unwrap_or_else(|| format!("HTTP {}", self.status))
    }
}

impl Rest {
    /// A client for `base` sending `headers` with every request (secrets: only their names are
    /// ever logged).
    pub(crate) fn new(
        service: &'static str,
        base: &str,
        timeout: Duration,
        headers: Vec<(&'static str, Secret)>,
        limiter: Option<RateLimiter>,
    ) -> anyhow::Result<Self> {
        crate::install_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .user_agent(concat!("ava/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
            headers,
            limiter,
            service,
        })
    }

    fn unavailable(&self, reason: String) -> IntegrationError {
        IntegrationError::Unavailable {
            service: self.service,
            reason,
        }
    }

    /// A request to `path` (after the base) with the auth headers.
    pub(crate) fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.request_with(method, path, &[])
    }

    /// A request to `path?query` with the auth headers (query values URL-encoded).
    pub(crate) fn request_with(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
    ) -> RequestBuilder {
        let url = format!("{}{path}", self.base);
        let url = match reqwest::Url::parse(&url) {
            Ok(mut url) => {
                if !query.is_empty() {
                    url.query_pairs_mut()
                        .extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
                }
                url.to_string()
            }
            // Left as is: sending it fails with a network error that says so.
            Err(_) => url,
        };
        let mut request = self.http.request(method, url);
        for (name, value) in &self.headers {
            request = request.header(*name, value.expose());
        }
        request
    }

    /// Sends `request` under the shared rate limit. A 429 pauses every worker for its
    /// Retry-After and is tried again; 5xx and network errors are `Unavailable`; any other
    /// status comes back for the client to classify.
    pub(crate) async fn send(&self, request: RequestBuilder) -> Result<Answer, IntegrationError> {
        let mut waits = 0;
        loop {
            let attempt = request
                .try_clone()
                .ok_or_else(|| self.unavailable("request body cannot be resent".into()))?;
            if let Some(limiter) = &self.limiter {
                limiter.acquire().await;
            }
            let response = attempt
                .send()
                .await
                .map_err(|e| self.unavailable(e.without_url().to_string()))?;
            let status = response.status();
            if status == StatusCode::TOO_MANY_REQUESTS {
                let wait = retry_after(response.headers()).unwrap_or(Duration::from_secs(1));
                metrics::counter!(super::PROVIDER_429S, "service" => self.service).increment(1);
                tracing::warn!(
                    service = self.service,
                    wait_ms = wait.as_millis() as u64,
                    "provider answered 429"
                );
                if let Some(limiter) = &self.limiter {
                    limiter.pause(wait).await;
                }
                if waits >= MAX_429_WAITS || wait > MAX_IN_PLACE_WAIT {
                    return Err(self.unavailable(format!(
                        "rate limited by the provider; retry in {}s",
                        wait.as_secs().max(1)
                    )));
                }
                waits += 1;
                if self.limiter.is_none() {
                    tokio::time::sleep(wait).await;
                }
                continue;
            }
            if status.is_server_error() {
                return Err(self.unavailable(format!("HTTP {status}")));
            }
            let body = response
                .bytes()
                .await
                .map_err(|e| self.unavailable(e.without_url().to_string()))?;
            return Ok(Answer {
                status,
                body: body.to_vec(),
            });
        }
    }

    /// GET `path` with `query`; a success parsed as `T`, anything else handed to `other`.
    pub(crate) async fn get_json<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
        other: impl FnOnce(&Answer) -> IntegrationError,
    ) -> Result<T, IntegrationError> {
        let answer = self.send(self.request_with(Method::GET, path, query)).await?;
        if answer.status.is_success() {
            answer.json(self.service)
        } else {
            Err(other(&answer))
        }
    }
}

/// `Retry-After` in seconds (the form providers send; an HTTP date is not used by them).
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64)
}

/// A number that providers send as a JSON string (`"123.45"`) or number.
pub(crate) fn num(v: &serde_json::Value) -> Option<f64> {
    match v {
        serde_json::Value::String(s) => s.parse().ok(),
        serde_json::Value::Number(n) => n.as_f64(),
        _ => None,
    }
}
