//! `rate_limit`: at most n units per interval pass, with backpressure (the step waits, it
//! never drops). The limiter belongs to the pipeline, so it holds across the invocations of a
//! warm container, and can be shared by several pipelines.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use tokio::time::Instant;

use crate::pipeline::Pipeline;

/// A sliding-window limiter: in any window of length `per`, at most `permits` grants.
///
/// Grants are handed out in order of request; a caller that has to wait sleeps until its
/// slot. (A small hand-written limiter rather than a crate: it has to run on tokio's clock so
/// tests can pause time, and it has to be exact over any window.)
#[derive(Debug)]
pub struct RateLimiter {
    permits: usize,
    per: Duration,
    granted: Mutex<VecDeque<Instant>>,
}

impl RateLimiter {
    /// At most `permits` (at least 1) per `per`.
    pub fn new(permits: usize, per: Duration) -> Self {
        let permits = permits.max(1);
        Self {
            permits,
            per,
            granted: Mutex::new(VecDeque::with_capacity(permits)),
        }
    }

    /// Waits until a grant is allowed, then takes it.
    pub async fn acquire(&self) {
        let slot = self.reserve(Instant::now());
        tokio::time::sleep_until(slot).await;
    }

    /// Reserves the earliest slot allowed at or after `now`.
    fn reserve(&self, now: Instant) -> Instant {
        // A poisoned lock only means another task panicked while holding it; the queue of
        // instants is still consistent.
        let mut granted = self
            .granted
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let slot = if granted.len() < self.permits {
            now.max(granted.back().copied().unwrap_or(now))
        } else {
            let oldest = granted.pop_front().unwrap_or(now);
            now.max(oldest + self.per)
        };
        granted.push_back(slot);
        slot
    }
}

impl<T: Send + 'static> Pipeline<T> {
    /// Lets at most `permits` units per `per` through to the next step; units wait their turn.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// use lambda_stream::{Envelope, Pipeline, RecordState, testing};
    /// # // tokio's clock is paused here (test-util), so the wait takes no real time.
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// // A partner's API takes 2 calls a second: the third unit waits for the next second.
    /// let gentle = Pipeline::new("to-partner").rate_limit(2, Duration::from_secs(1));
    /// let events: Vec<Envelope> = (0..3)
    ///     .map(|_| Envelope::builder("thing-created").build())
    ///     .collect::<Result<_, _>>()?;
    /// let started = tokio::time::Instant::now();
    /// let report = testing::run_pipeline(gentle, &events).await;
    ///
    /// assert!(started.elapsed() >= Duration::from_secs(1));
    /// assert!(report.records.iter().all(|r| r.pipelines == [RecordState::Delivered]));
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn rate_limit(self, permits: usize, per: Duration) -> Self {
        self.rate_limit_with(Arc::new(RateLimiter::new(permits, per)))
    }

    /// Like [`Pipeline::rate_limit`] with a limiter shared with other pipelines.
    #[must_use]
    pub fn rate_limit_with(self, limiter: Arc<RateLimiter>) -> Self {
        self.stage(move |flow| {
            let limiter = Arc::clone(&limiter);
            flow.then(move |item| {
                let limiter = Arc::clone(&limiter);
                async move {
                    if item.is_ok() {
                        limiter.acquire().await;
                    }
                    item
                }
            })
            .boxed()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn never_more_than_permits_in_any_window() {
        let limiter = RateLimiter::new(3, Duration::from_secs(1));
        let start = Instant::now();
        let mut times = Vec::new();
        for _ in 0..10 {
            limiter.acquire().await;
            times.push(Instant::now() - start);
        }
        for (i, t) in times.iter().enumerate() {
            let in_window = times[i..]
                .iter()
                .filter(|u| **u < *t + Duration::from_secs(1))
                .count();
            assert!(
                in_window <= 3,
                "{in_window} grants within 1s of {t:?}: {times:?}"
            );
        }
        // 10 grants at 3 per second need at least 3 full windows.
        assert!(times[9] >= Duration::from_secs(3), "{times:?}");
        assert!(times[9] < Duration::from_secs(4), "{times:?}");
    }
}
