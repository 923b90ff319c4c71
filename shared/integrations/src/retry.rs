//! Retrying a vendor call: rate limits wait what the vendor asked (`Retry-After`), other
//! retryable failures back off exponentially; permanent failures return at once, and so does a
//! rate limit asking for longer than the policy would wait (a daily quota: the next run retries).

use std::future::Future;
use std::time::Duration;

use crate::IntegrationError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Calls in all, the first included.
    pub attempts: u32,
    /// The first backoff; doubled for each later one.
    pub base: Duration,
    /// The longest wait, whatever `Retry-After` asks (a run must end).
    pub max_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 5,
            base: Duration::from_millis(500),
            max_wait: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    fn wait(&self, attempt: u32, retry_after: Option<u64>) -> Duration {
        let backoff = self
            .base
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1).min(16)));
        retry_after
            .map(Duration::from_secs)
            .unwrap_or(backoff)
            .min(self.max_wait)
    }

    /// Calls `call` until it succeeds, fails permanently, or `attempts` are spent.
    pub async fn run<T, F, Fut>(&self, mut call: F) -> Result<T, IntegrationError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, IntegrationError>>,
    {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match call().await {
                Err(IntegrationError::Retryable {
                    vendor,
                    detail,
                    retry_after,
                }) if attempt < self.attempts
                    && retry_after.is_none_or(|s| Duration::from_secs(s) <= self.max_wait) =>
                {
                    let wait = self.wait(attempt, retry_after);
                    tracing::info!(vendor, %detail, attempt, wait_ms = wait.as_millis() as u64, "retrying");
                    tokio::time::sleep(wait).await;
                }
                other => return other,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_wins_over_backoff_within_the_cap() {
        let p = RetryPolicy::default();
        assert_eq!(p.wait(1, Some(7)), Duration::from_secs(7));
        assert_eq!(p.wait(3, None), Duration::from_secs(2));
        assert_eq!(p.wait(1, Some(3600)), Duration::from_secs(60));
    }

    #[tokio::test]
    async fn a_limit_asking_for_longer_than_the_cap_is_not_waited_for() {
        let mut calls = 0;
        let answer: Result<(), _> = RetryPolicy::default()
            .run(|| {
                calls += 1;
                async {
                    Err(IntegrationError::Retryable {
                        vendor: "salesforce",
                        detail: "daily API limit".into(),
                        retry_after: Some(3600),
                    })
                }
            })
            .await;
        assert!(answer.is_err_and(|e| e.is_retryable()));
        assert_eq!(calls, 1, "a daily quota is left to the next run");
    }
}
