//! How a feed is doing: ok, stale or down, since when, why, how fast it
//! delivers, how late, and how far the local clock is from the server's.

use std::collections::VecDeque;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::Feed;

/// The state shown for a feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FeedState {
    /// Answering, recently.
    Ok,
    /// Not answering lately: the board shows its last good state.
    Stale,
    /// Not answering for long, or never.
    Down,
}

impl FeedState {
    /// The JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            FeedState::Ok => "ok",
            FeedState::Stale => "stale",
            FeedState::Down => "down",
        }
    }
}

/// When a feed counts as stale and as down.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HealthLimits {
    /// No success for this long: stale.
    pub stale_after: Duration,
    /// Failing for this long (or never answered): down.
    pub down_after: Duration,
}

/// What is known of one feed's health.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedHealth {
    /// Which feed.
    pub feed: Feed,
    /// When the feed last answered usefully (local clock).
    pub last_success: Option<DateTime<Utc>>,
    /// The last failure, in words.
    pub last_error: Option<String>,
    /// When it failed first, in the current run of failures.
    pub failing_since: Option<DateTime<Utc>>,
    /// Failures in a row.
    pub failures: u32,
    /// Local clock minus the server's `Date` (positive: we are ahead).
    pub skew: Option<Duration>,
    /// How long after it happened the newest event reached us.
    pub lag: Option<Duration>,
    /// Snapshots taken (the first, and one after each expired cursor).
    pub snapshots: u32,
    /// Events that did not parse (skipped, counted).
    pub malformed: u32,
    /// When the next attempt is due after a failure.
    pub retry_at: Option<DateTime<Utc>>,
    received: VecDeque<(DateTime<Utc>, u32)>,
}

impl FeedHealth {
    /// A feed not yet heard from.
    pub fn new(feed: Feed) -> Self {
        FeedHealth {
            feed,
            last_success: None,
            last_error: None,
            failing_since: None,
            failures: 0,
            skew: None,
            lag: None,
            snapshots: 0,
            malformed: 0,
            retry_at: None,
            received: VecDeque::new(),
        }
    }

    /// Records a useful answer.
    pub fn succeeded(&mut self, at: DateTime<Utc>, skew: Option<Duration>) {
        self.last_success = Some(at);
        self.failures = 0;
        self.failing_since = None;
        self.retry_at = None;
        if skew.is_some() {
            self.skew = skew;
        }
    }

    /// Records events received, and how late the newest one is.
    pub fn received(&mut self, at: DateTime<Utc>, count: u32, lag: Option<Duration>) {
        if count > 0 {
            self.received.push_back((at, count));
            self.lag = lag;
        }
        while self
            .received
            .front()
            .is_some_and(|(t, _)| at - *t > Duration::minutes(1))
        {
            self.received.pop_front();
        }
    }

    /// Records a failure and when the next attempt is due.
    pub fn failed(&mut self, at: DateTime<Utc>, error: String, retry_at: DateTime<Utc>) {
        self.failures += 1;
        self.failing_since.get_or_insert(at);
        self.last_error = Some(error);
        self.retry_at = Some(retry_at);
    }

    /// Events received in the minute before `now`.
    pub fn events_per_minute(&self, now: DateTime<Utc>) -> u32 {
        self.received
            .iter()
            .filter(|(t, _)| now - *t <= Duration::minutes(1))
            .map(|(_, n)| n)
            .sum()
    }

    /// Time since the last useful answer.
    pub fn age(&self, now: DateTime<Utc>) -> Option<Duration> {
        self.last_success.map(|t| now - t)
    }

    /// Ok, stale or down, at `now`.
    pub fn state(&self, now: DateTime<Utc>, limits: &HealthLimits) -> FeedState {
        match self.last_success {
            None if self.failures == 0 => FeedState::Stale,
            None => FeedState::Down,
            Some(last) => {
                let age = now - last;
                if self.failures == 0 && age <= limits.stale_after {
                    FeedState::Ok
                } else if age > limits.down_after {
                    FeedState::Down
                } else {
                    FeedState::Stale
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::UNIX_EPOCH + Duration::seconds(s)
    }

    const LIMITS: HealthLimits = HealthLimits {
        stale_after: Duration::seconds(20),
        down_after: Duration::seconds(120),
    };

    #[test]
    fn ok_then_stale_then_down() {
        let mut h = FeedHealth::new(Feed::Customs);
        assert_eq!(h.state(t(0), &LIMITS), FeedState::Stale, "connecting");
        h.failed(t(0), "no answer".into(), t(1));
        assert_eq!(h.state(t(0), &LIMITS), FeedState::Down, "never answered");
        h.succeeded(t(10), Some(Duration::seconds(2)));
        assert_eq!(h.state(t(15), &LIMITS), FeedState::Ok);
        assert_eq!(h.state(t(40), &LIMITS), FeedState::Stale, "quiet too long");
        h.failed(t(41), "503 unavailable".into(), t(43));
        assert_eq!(h.state(t(42), &LIMITS), FeedState::Stale, "failing");
        assert_eq!(h.state(t(200), &LIMITS), FeedState::Down);
        assert_eq!(h.last_error.as_deref(), Some("503 unavailable"));
        assert_eq!(h.skew, Some(Duration::seconds(2)));
    }

    #[test]
    fn events_per_minute_slide() {
        let mut h = FeedHealth::new(Feed::Railway);
        h.received(t(0), 30, Some(Duration::seconds(1)));
        h.received(t(30), 20, None);
        assert_eq!(h.events_per_minute(t(30)), 50);
        h.received(t(90), 5, Some(Duration::seconds(3)));
        assert_eq!(h.events_per_minute(t(90)), 25);
        assert_eq!(h.lag, Some(Duration::seconds(3)));
    }
}
