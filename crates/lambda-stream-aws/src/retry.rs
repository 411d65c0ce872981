//! How sinks retry what a service rejected for a transient reason: exponential backoff with
//! full jitter (a random wait between zero and the backoff), so retries from many functions
//! spread out instead of arriving together.

use std::time::Duration;

/// Attempts and delays for retrying a request or its failed entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Calls in all, the first one included (at least 1).
    pub max_attempts: u32,
    /// The backoff before the second call; it doubles for each later one.
    pub base_delay: Duration,
    /// The most the backoff grows to.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// Four calls, backing off from 100 ms up to 2 s.
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
        }
    }
}

impl RetryPolicy {
    /// No retries: one call.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// The backoff before call number `attempt` (1 for the first retry): the ceiling
    /// `base * 2^(attempt-1)`, capped at `max_delay`.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
        self.base_delay.saturating_mul(factor).min(self.max_delay)
    }

    /// Waits a random time up to the backoff before call number `attempt`.
    pub async fn wait_before(&self, attempt: u32) {
        let ceiling = self.backoff(attempt);
        let jittered = ceiling.mul_f64(fastrand::f64());
        tokio::time::sleep(jittered).await;
    }

    /// True when another call may follow call number `attempt` (0 for the first call).
    pub fn may_retry_after(&self, attempt: u32) -> bool {
        attempt + 1 < self.max_attempts.max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let policy = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(500),
        };
        let delays: Vec<u128> = (1..=5).map(|a| policy.backoff(a).as_millis()).collect();
        assert_eq!(delays, vec![100, 200, 400, 500, 500]);
        assert_eq!(policy.backoff(60).as_millis(), 500);
    }

    #[test]
    fn attempts_are_counted_from_the_first_call() {
        let policy = RetryPolicy {
            max_attempts: 3,
            ..RetryPolicy::default()
        };
        assert!(policy.may_retry_after(0));
        assert!(policy.may_retry_after(1));
        assert!(!policy.may_retry_after(2));
        assert!(!RetryPolicy::none().may_retry_after(0));
    }

    #[tokio::test(start_paused = true)]
    async fn the_wait_never_exceeds_the_backoff() {
        let policy = RetryPolicy::default();
        for attempt in 1..6 {
            let start = tokio::time::Instant::now();
            policy.wait_before(attempt).await;
            assert!(start.elapsed() <= policy.backoff(attempt));
        }
    }
}
