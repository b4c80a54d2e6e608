//! Guard around one external service: timeout per call, retries with backoff for reads, and the
//! circuit breaker. An open breaker answers at once, without touching the service.

use std::{future::Future, time::Duration};

use tokio::time::Instant;

use super::{Breaker, IntegrationError};
use crate::config::GuardSettings;

/// Guard of one service, shared by every task of the process.
#[derive(Debug, Clone)]
pub struct Guard {
    service: &'static str,
    settings: GuardSettings,
    breaker: Breaker,
}

impl Guard {
    /// A guard for `service` with closed breaker.
    pub fn new(service: &'static str, settings: GuardSettings) -> Self {
        Self {
            service,
            settings,
            breaker: Breaker::new(
                service,
                settings.breaker_failures,
                Duration::from_secs(settings.breaker_open_secs),
            ),
        }
    }

    /// The service's name.
    pub fn service(&self) -> &'static str {
        self.service
    }

    /// The breaker.
    pub fn breaker(&self) -> &Breaker {
        &self.breaker
    }

    /// An idempotent read: retried with exponential backoff and jitter on service failures.
    pub async fn read<T, F, Fut>(&self, call: F) -> Result<T, IntegrationError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, IntegrationError>>,
    {
        let mut attempt = 0;
        loop {
            match self.once(&call).await {
                Err(e) if e.is_service_failure() && attempt < self.settings.retries => {
                    let base = self.settings.backoff_ms.saturating_mul(1 << attempt.min(10));
                    let jittered = base / 2 + rand::random_range(0..=base.max(1));
                    tracing::debug!(service = self.service, attempt, error = %e, "retrying read");
                    tokio::time::sleep(Duration::from_millis(jittered)).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// A call with side effects: one attempt (the caller owns idempotency).
    pub async fn write<T, F, Fut>(&self, call: F) -> Result<T, IntegrationError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, IntegrationError>>,
    {
        self.once(&call).await
    }

    async fn once<T, F, Fut>(&self, call: &F) -> Result<T, IntegrationError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, IntegrationError>>,
    {
        if let Err(wait) = self.breaker.admit(Instant::now().into_std()) {
            metrics::counter!(super::EXTERNAL_CALLS, "service" => self.service, "result" => "rejected_open")
                .increment(1);
            return Err(IntegrationError::BreakerOpen {
                service: self.service,
                retry_in_secs: wait.as_secs().max(1),
            });
        }
        let timeout = Duration::from_millis(self.settings.timeout_ms);
        let result = match tokio::time::timeout(timeout, call()).await {
            Ok(result) => result,
            Err(_) => Err(IntegrationError::Unavailable {
                service: self.service,
                reason: format!("no answer within {} ms", self.settings.timeout_ms),
            }),
        };
        let failed = matches!(&result, Err(e) if e.is_service_failure());
        self.breaker.record(!failed, Instant::now().into_std());
        metrics::counter!(super::EXTERNAL_CALLS, "service" => self.service, "result" => if failed { "error" } else { "ok" })
            .increment(1);
        result
    }
}
