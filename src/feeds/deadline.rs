//! A deadline for a read that must end whatever the servers do
//! (`greenchannel status`): each request runs under it, and a wait that
//! would end past it is not begun.

use std::fmt;
use std::future::Future;
use std::time::Duration as StdDuration;

use tokio::time::Instant;

/// The instant by which a read must be done, and how long it was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    at: Instant,
    given: StdDuration,
}

/// A read not done by its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Late {
    given: StdDuration,
}

impl Deadline {
    /// The longest a read may be given (the settings allow no more).
    pub const MAX: StdDuration = StdDuration::from_secs(3600);

    /// A deadline `given` from now, at most [`Self::MAX`].
    pub fn after(given: StdDuration) -> Deadline {
        let given = given.min(Self::MAX);
        Deadline {
            at: Instant::now() + given,
            given,
        }
    }

    /// What `work` gives, or [`Late`] if it is not done by the deadline
    /// (it is then dropped, its request with it).
    pub async fn run<F: Future>(self, work: F) -> Result<F::Output, Late> {
        tokio::time::timeout_at(self.at, work)
            .await
            .map_err(|_| self.late())
    }

    /// Waits `wait`; [`Late`] at once, without waiting, if that would end
    /// past the deadline.
    pub async fn sleep(self, wait: StdDuration) -> Result<(), Late> {
        let until = Instant::now()
            .checked_add(wait)
            .filter(|until| *until <= self.at)
            .ok_or(self.late())?;
        tokio::time::sleep_until(until).await;
        Ok(())
    }

    fn late(self) -> Late {
        Late { given: self.given }
    }
}

impl fmt::Display for Late {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not read within {} s", self.given.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn work_past_the_deadline_is_cut_short() {
        let started = Instant::now();
        let deadline = Deadline::after(StdDuration::from_millis(100));
        assert_eq!(deadline.run(async { 7 }).await, Ok(7));
        let late = deadline
            .run(tokio::time::sleep(StdDuration::from_secs(60)))
            .await
            .unwrap_err();
        assert!(started.elapsed() < StdDuration::from_secs(5));
        assert_eq!(late.to_string(), "not read within 0.1 s");
    }

    #[tokio::test]
    async fn a_wait_past_the_deadline_is_not_begun() {
        let deadline = Deadline::after(StdDuration::from_secs(30));
        let started = Instant::now();
        assert!(deadline.sleep(StdDuration::from_secs(31)).await.is_err());
        assert!(deadline.sleep(StdDuration::MAX).await.is_err());
        assert!(started.elapsed() < StdDuration::from_secs(5), "no waiting");
        assert_eq!(deadline.sleep(StdDuration::from_millis(10)).await, Ok(()));
        assert!(started.elapsed() >= StdDuration::from_millis(10));
    }

    #[test]
    fn a_deadline_is_at_most_an_hour() {
        let late = Deadline::after(StdDuration::MAX).late();
        assert_eq!(late.to_string(), "not read within 3600 s");
    }
}
