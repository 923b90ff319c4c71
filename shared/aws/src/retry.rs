//! Backoff for the retries the SDK cannot do for us: items a batch call left unprocessed
//! (DynamoDB `UnprocessedItems`, SQS batch entries that failed). Exponential with full jitter,
//! and bounded, so a struggling service gets room and a caller gets an answer.

use rand::Rng;
use std::time::Duration;

/// A bounded exponential backoff schedule with full jitter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Attempts in total, the first one included.
    pub max_attempts: u32,
    /// Cap of the delay before the second attempt; doubles each attempt.
    pub base: Duration,
    /// No delay is longer than this.
    pub max_delay: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            max_attempts: 8,
            base: Duration::from_millis(50),
            max_delay: Duration::from_secs(5),
        }
    }
}

impl Backoff {
    /// The most the delay after failed attempt `attempt` (1-based) can be.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let factor = 1u32
            .checked_shl(attempt.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.max_delay)
    }

    /// A random delay in `[0, ceiling(attempt)]` ("full jitter").
    pub fn delay(&self, attempt: u32) -> Duration {
        let ceiling = u64::try_from(self.ceiling(attempt).as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(rand::rng().random_range(0..=ceiling))
    }

    /// Sleeps before the next attempt; `false` when `attempt` was the last one allowed.
    pub async fn wait_after(&self, attempt: u32) -> bool {
        if attempt >= self.max_attempts {
            return false;
        }
        tokio::time::sleep(self.delay(attempt)).await;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceiling_doubles_then_caps() {
        let b = Backoff {
            max_attempts: 10,
            base: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
        };
        assert_eq!(b.ceiling(1), Duration::from_millis(100));
        assert_eq!(b.ceiling(2), Duration::from_millis(200));
        assert_eq!(b.ceiling(4), Duration::from_millis(800));
        assert_eq!(b.ceiling(5), Duration::from_millis(1000));
        assert_eq!(b.ceiling(60), Duration::from_millis(1000));
    }

    #[test]
    fn delay_stays_within_the_ceiling() {
        let b = Backoff::default();
        for attempt in 1..12 {
            for _ in 0..50 {
                assert!(b.delay(attempt) <= b.ceiling(attempt));
            }
        }
    }

    #[tokio::test]
    async fn no_wait_after_the_last_attempt() {
        let b = Backoff {
            max_attempts: 2,
            base: Duration::from_millis(1),
            max_delay: Duration::from_millis(1),
        };
        assert!(b.wait_after(1).await);
        assert!(!b.wait_after(2).await);
    }
}
