//! The invocation's deadline as steps and sinks see it.
//!
//! Lambda stops an invocation at its deadline whatever it is doing; a response that is not
//! sent by then means the whole batch comes again. So the handler stops its pipelines a
//! *margin* before the deadline ([`StreamHandler::deadline_margin`](crate::StreamHandler::deadline_margin),
//! `LAMBDA_STREAM_DEADLINE_MARGIN_MS`, default 1 s and never more than a quarter of the time
//! the invocation had), settles what did not finish as retries (or faults, per the pipeline),
//! publishes the faults and answers.
//!
//! While a pipeline runs, [`Deadline::current`] is the instant it will be stopped: retry loops
//! (the sinks', the HTTP sender's) do not start a wait or a call that cannot finish before it.
//! Outside a handler (a unit test calling a sink directly) there is no deadline.

use std::future::Future;
use std::time::{Duration, Instant};

tokio::task_local! {
    static CURRENT: Deadline;
}

/// When the work of this invocation must stop, if it is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Deadline(Option<Instant>);

/// The work did not finish before the deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeadlineExceeded;

impl std::fmt::Display for DeadlineExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the invocation's deadline came before the work finished")
    }
}

impl std::error::Error for DeadlineExceeded {}

impl Deadline {
    /// No deadline: work may take as long as it takes.
    pub const NONE: Self = Self(None);

    /// A deadline at `instant`.
    pub fn at(instant: Instant) -> Self {
        Self(Some(instant))
    }

    /// A deadline `after` from now.
    pub fn after(after: Duration) -> Self {
        Self(now().checked_add(after))
    }

    /// The deadline of the work running now (inside a handler's pipeline or fault
    /// publishing), else [`Deadline::NONE`].
    pub fn current() -> Self {
        CURRENT.try_with(|d| *d).unwrap_or_default()
    }

    /// Runs `work` with this as [`Deadline::current`].
    pub async fn scope<F: Future>(self, work: F) -> F::Output {
        CURRENT.scope(self, work).await
    }

    /// The instant, if there is a deadline.
    pub fn instant(&self) -> Option<Instant> {
        self.0
    }

    /// The time left (zero once passed), or `None` without a deadline.
    pub fn remaining(&self) -> Option<Duration> {
        self.0.map(|at| at.saturating_duration_since(now()))
    }

    /// True when `duration` from now is still before the deadline (always true without one).
    pub fn allows(&self, duration: Duration) -> bool {
        self.remaining().is_none_or(|left| duration < left)
    }

    /// True once the deadline has passed.
    pub fn has_passed(&self) -> bool {
        self.remaining().is_some_and(|left| left.is_zero())
    }

    /// The earlier of two deadlines.
    #[must_use]
    pub fn min(self, other: Self) -> Self {
        match (self.0, other.0) {
            (Some(a), Some(b)) => Self(Some(a.min(b))),
            (a, b) => Self(a.or(b)),
        }
    }

    /// A deadline `margin` earlier.
    #[must_use]
    pub fn earlier_by(self, margin: Duration) -> Self {
        Self(self.0.map(|at| at.checked_sub(margin).unwrap_or(at)))
    }

    /// Runs `work` until the deadline: its output, or [`DeadlineExceeded`] (the work is
    /// dropped, which cancels it). Without a deadline it simply runs.
    pub async fn run<F: Future>(&self, work: F) -> Result<F::Output, DeadlineExceeded> {
        match self.0 {
            Some(at) => tokio::time::timeout_at(tokio::time::Instant::from_std(at), work)
                .await
                .map_err(|_| DeadlineExceeded),
            None => Ok(work.await),
        }
    }
}

/// One timer for a deadline, reused across many pieces of work (see [`Deadline::timer`]).
#[derive(Debug)]
pub struct Timer(Option<std::pin::Pin<Box<tokio::time::Sleep>>>);

impl Deadline {
    /// A timer for this deadline, to run many pieces of work against it without arming a new
    /// timer for each (a pipeline's units, one after the other).
    pub fn timer(&self) -> Timer {
        Timer(
            self.0
                .map(|at| Box::pin(tokio::time::sleep_until(tokio::time::Instant::from_std(at)))),
        )
    }
}

impl Timer {
    /// Runs `work` until the deadline, like [`Deadline::run`].
    pub async fn run<F: Future>(&mut self, work: F) -> Result<F::Output, DeadlineExceeded> {
        let Some(sleep) = self.0.as_mut() else {
            return Ok(work.await);
        };
        let work = std::pin::pin!(work);
        match futures::future::select(work, sleep.as_mut()).await {
            futures::future::Either::Left((output, _)) => Ok(output),
            futures::future::Either::Right(_) => Err(DeadlineExceeded),
        }
    }
}

/// Now, on the runtime's clock: the same as `Instant::now()`, except in tests that pause
/// tokio's time, where deadlines then follow the paused clock.
pub fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// The margin used when none is configured.
pub const DEFAULT_MARGIN: Duration = Duration::from_secs(1);

/// The margin for an invocation with `remaining` time: the configured one, but never more
/// than a quarter of what the invocation has (a 1 s function still gets 750 ms of work).
pub(crate) fn margin_for(configured: Duration, remaining: Duration) -> Duration {
    configured.min(remaining / 4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn margins_never_take_more_than_a_quarter() {
        let s = Duration::from_secs;
        assert_eq!(margin_for(s(1), s(900)), s(1));
        assert_eq!(margin_for(s(1), s(2)), Duration::from_millis(500));
        assert_eq!(margin_for(s(0), s(2)), s(0));
    }

    #[test]
    fn without_a_deadline_everything_is_allowed() {
        assert!(Deadline::NONE.allows(Duration::from_secs(3600)));
        assert!(!Deadline::NONE.has_passed());
        assert_eq!(Deadline::NONE.remaining(), None);
        let soon = Deadline::after(Duration::from_secs(10));
        assert!(soon.allows(Duration::from_secs(1)));
        assert!(!soon.allows(Duration::from_secs(11)));
        assert_eq!(Deadline::NONE.min(soon), soon);
        assert_eq!(soon.min(Deadline::NONE), soon);
        let sooner = soon.earlier_by(Duration::from_secs(5));
        assert_eq!(soon.min(sooner), sooner);
        assert!(Deadline::at(Instant::now()).has_passed());
    }

    #[tokio::test]
    async fn current_is_scoped_to_the_work() {
        assert_eq!(Deadline::current(), Deadline::NONE);
        let d = Deadline::after(Duration::from_secs(5));
        let seen = d.scope(async { Deadline::current() }).await;
        assert_eq!(seen, d);
        assert_eq!(Deadline::current(), Deadline::NONE);
    }

    #[tokio::test(start_paused = true)]
    async fn run_stops_work_at_the_deadline() {
        let d = Deadline::after(Duration::from_millis(50));
        let hung = d.run(futures::future::pending::<()>()).await;
        assert_eq!(hung, Err(DeadlineExceeded));
        assert_eq!(Deadline::NONE.run(async { 7 }).await, Ok(7));
        // One timer serves many pieces of work.
        let mut timer = Deadline::after(Duration::from_millis(50)).timer();
        assert_eq!(timer.run(async { 1 }).await, Ok(1));
        assert_eq!(timer.run(async { 2 }).await, Ok(2));
        assert_eq!(
            timer.run(futures::future::pending::<()>()).await,
            Err(DeadlineExceeded)
        );
        assert_eq!(Deadline::NONE.timer().run(async { 3 }).await, Ok(3));
    }
}
