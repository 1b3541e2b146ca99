//! How a feed is doing: ok, stale or down, since when, why, how fast it
//! delivers, how late, how far the local clock is from the server's, and
//! what it did wrong that the board survived ([`Oddities`]).

use std::collections::{BTreeMap, VecDeque};

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::Feed;
use crate::domain::FeedText;

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

/// Kinds of unknown event types counted one by one; more are counted
/// together.
const UNKNOWN_KINDS: usize = 16;

/// How long a new oddity is announced in the header.
pub const NOTICE_FOR: Duration = Duration::seconds(15);

/// What a feed did wrong since the board started (each is survived: a
/// malformed record or an unknown event type is skipped and counted, an
/// expired cursor costs a fresh snapshot), for the diagnostics screen and
/// `status --json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Oddities {
    /// Records (snapshot objects, events) that did not decode, skipped.
    pub malformed: u64,
    /// Why the latest one did not.
    pub last_malformed: Option<FeedText>,
    /// Events of a type this version does not know, skipped, by type.
    pub unknown_types: BTreeMap<FeedText, u64>,
    /// Snapshots taken again (after an expired cursor).
    pub resnapshots: u64,
    /// `429` answers.
    pub rate_limited: u64,
    /// Requests that failed (any way).
    pub failed_requests: u64,
    /// The longest an event took to reach the board.
    #[serde(serialize_with = "seconds")]
    pub max_lag: Option<Duration>,
    /// The latest oddity in words, and when (local clock): the header
    /// shows it for [`NOTICE_FOR`].
    #[serde(skip)]
    pub notice: Option<(DateTime<Utc>, String)>,
}

fn seconds<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_some(&(d.num_milliseconds() as f64 / 1000.0)),
        None => s.serialize_none(),
    }
}

impl Oddities {
    /// Records that did not decode.
    pub fn malformed(&mut self, at: DateTime<Utc>, reasons: Vec<FeedText>) {
        if let Some(last) = reasons.last() {
            self.malformed += reasons.len() as u64;
            self.notice = Some((
                at,
                format!("{} malformed record(s) skipped: {last}", reasons.len()),
            ));
            self.last_malformed = Some(last.clone());
        }
    }

    /// Events of types this version does not know.
    pub fn unknown_types<'a>(&mut self, at: DateTime<Utc>, types: impl Iterator<Item = &'a str>) {
        let mut seen = 0;
        for event_type in types {
            seen += 1;
            let kinds = self.unknown_types.len();
            let key = FeedText::new(event_type);
            let key = if kinds < UNKNOWN_KINDS || self.unknown_types.contains_key(&key) {
                key
            } else {
                FeedText::new("(other types)")
            };
            *self.unknown_types.entry(key).or_default() += 1;
        }
        if seen > 0 {
            self.notice = Some((at, format!("{seen} event(s) of unknown type skipped")));
        }
    }

    /// A fresh snapshot after the first.
    pub fn resnapshot(&mut self, at: DateTime<Utc>) {
        self.resnapshots += 1;
        self.notice = Some((at, "cursor expired: snapshot taken again".to_owned()));
    }

    /// The notice to show at `now`, if recent.
    pub fn notice(&self, now: DateTime<Utc>) -> Option<&str> {
        self.notice
            .as_ref()
            .filter(|(at, _)| now - *at <= NOTICE_FOR && now >= *at)
            .map(|(_, text)| text.as_str())
    }

    /// Unknown events skipped, all types.
    pub fn unknown_events(&self) -> u64 {
        self.unknown_types.values().sum()
    }
}

/// The least change of the servers' `Date` skew that moves the board's
/// clock: `Date` has whole seconds, and an answer takes a while.
pub const SKEW_RESOLUTION: Duration = Duration::milliseconds(1500);

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
    /// Local clock minus the server's `Date` (positive: we are ahead),
    /// as first read and kept until a reading differs by at least
    /// [`SKEW_RESOLUTION`].
    pub skew: Option<Duration>,
    /// How long after it happened the newest event reached us.
    pub lag: Option<Duration>,
    /// Snapshots taken (the first, and one after each expired cursor).
    pub snapshots: u32,
    /// What the feed did wrong.
    pub oddities: Oddities,
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
            oddities: Oddities::default(),
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
        if let Some(new) = skew {
            // `Date` counts whole seconds, so readings of one skew differ
            // by up to a second (and the answer's latency): the clock the
            // board shows moves only for a skew that really changed, never
            // back and forth with each answer.
            let same = self
                .skew
                .is_some_and(|old| (new - old).abs() < SKEW_RESOLUTION);
            if !same {
                self.skew = Some(new);
            }
        }
    }

    /// Records a snapshot read.
    pub fn snapshot_taken(&mut self, at: DateTime<Utc>) {
        if self.snapshots > 0 {
            self.oddities.resnapshot(at);
        }
        self.snapshots = self.snapshots.saturating_add(1);
    }

    /// Records events received, and how late the newest one is.
    pub fn received(&mut self, at: DateTime<Utc>, count: u32, lag: Option<Duration>) {
        if count > 0 {
            self.received.push_back((at, count));
            self.lag = lag;
            if let Some(lag) = lag {
                let max = self.oddities.max_lag.get_or_insert(lag);
                *max = (*max).max(lag);
            }
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
    pub fn failed(
        &mut self,
        at: DateTime<Utc>,
        error: String,
        rate_limited: bool,
        retry_at: DateTime<Utc>,
    ) {
        self.failures = self.failures.saturating_add(1);
        self.failing_since.get_or_insert(at);
        self.last_error = Some(error);
        self.retry_at = Some(retry_at);
        self.oddities.failed_requests += 1;
        if rate_limited {
            self.oddities.rate_limited += 1;
        }
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
    fn the_skew_moves_only_when_it_really_changed() {
        let mut h = FeedHealth::new(Feed::Railway);
        let ms = Duration::milliseconds;
        h.succeeded(t(0), Some(ms(300)));
        // Whole-second `Date`s read at other moments of the second.
        h.succeeded(t(2), Some(ms(1200)));
        h.succeeded(t(4), Some(ms(-400)));
        assert_eq!(h.skew, Some(ms(300)), "the same skew, read again");
        h.succeeded(t(6), None);
        assert_eq!(h.skew, Some(ms(300)), "no Date tells nothing");
        h.succeeded(t(8), Some(ms(2300)));
        assert_eq!(h.skew, Some(ms(2300)), "a clock that moved");
    }

    #[test]
    fn ok_then_stale_then_down() {
        let mut h = FeedHealth::new(Feed::Customs);
        assert_eq!(h.state(t(0), &LIMITS), FeedState::Stale, "connecting");
        h.failed(t(0), "no answer".into(), false, t(1));
        assert_eq!(h.state(t(0), &LIMITS), FeedState::Down, "never answered");
        h.succeeded(t(10), Some(Duration::seconds(2)));
        assert_eq!(h.state(t(15), &LIMITS), FeedState::Ok);
        assert_eq!(h.state(t(40), &LIMITS), FeedState::Stale, "quiet too long");
        h.failed(t(41), "503 unavailable".into(), false, t(43));
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

    #[test]
    fn oddities_are_counted_and_announced_briefly() {
        let mut h = FeedHealth::new(Feed::Customs);
        h.snapshot_taken(t(0));
        assert_eq!(h.oddities.resnapshots, 0, "the first snapshot is no oddity");
        h.snapshot_taken(t(10));
        assert_eq!(h.oddities.resnapshots, 1);
        h.oddities
            .malformed(t(20), vec![FeedText::new("missing field `seq`")]);
        assert_eq!(h.oddities.malformed, 1);
        assert!(h.oddities.notice(t(25)).unwrap().contains("missing field"));
        assert_eq!(h.oddities.notice(t(40)), None, "gone after a while");
        for n in 0..40 {
            let name = format!("kind.{n}");
            h.oddities
                .unknown_types(t(50), [name.as_str(), "kind.0"].into_iter());
        }
        assert_eq!(h.oddities.unknown_types.len(), UNKNOWN_KINDS + 1);
        assert_eq!(h.oddities.unknown_events(), 80);
        assert_eq!(h.oddities.unknown_types[&FeedText::new("kind.0")], 41);
        h.failed(t(60), "429 rate limited".into(), true, t(61));
        assert_eq!(
            (h.oddities.rate_limited, h.oddities.failed_requests),
            (1, 1)
        );
        h.received(t(70), 3, Some(Duration::seconds(9)));
        h.received(t(71), 3, Some(Duration::seconds(2)));
        assert_eq!(h.oddities.max_lag, Some(Duration::seconds(9)));
        assert_eq!(h.lag, Some(Duration::seconds(2)));
    }
}
