//! The judge: what the board has learned of how long each step takes, the
//! rules' settings, and what is to be judged when: reviews due at an
//! instant (a verdict that time may change), and a backlog of parcels to
//! judge again as soon as there is time (a train's cut-offs moved, the
//! shed's projection moved, durations were learned), worked off in slices
//! so that no step holds the board's loop.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use chrono::{DateTime, Duration, Utc};

use super::store::{ParcelKey, Stamp};
use crate::domain::risk::{Estimates, RiskPolicy, Step};

/// How the board judges risk and how long it keeps what has left.
#[derive(Debug, Clone, PartialEq)]
pub struct BoardSettings {
    /// Less slack than this is `watch`.
    pub watch_margin: Duration,
    /// The quantile of learned durations used for projections.
    pub quantile: f64,
    /// Prior durations of each step, until enough are observed.
    pub priors: Vec<(Step, Duration)>,
    /// Gantry cranes in the shed.
    pub cranes: u32,
    /// How long a departed or cancelled train stays on the board.
    pub keep_departed: Duration,
}

impl BoardSettings {
    fn prior(&self, step: Step) -> Duration {
        self.priors
            .iter()
            .find(|(s, _)| *s == step)
            .map_or(Duration::minutes(10), |(_, d)| *d)
    }
}

/// The least time between two reviews of every parcel for what was
/// learned: no parcel waits longer than this for its own review anyway
/// (see `risk::assess`), so reviewing all more often buys little.
pub const FULL_REVIEW_EVERY: Duration = Duration::minutes(5);

/// The judge's state.
#[derive(Debug)]
pub struct Judge {
    /// The settings.
    pub settings: BoardSettings,
    /// The rules' settings.
    pub policy: RiskPolicy,
    /// Learned durations.
    pub estimates: Estimates,
    /// Due reviews: seconds since the epoch (high half) and parcel key
    /// (low half). An entry counts only while its parcel's row still names
    /// that instant.
    reviews: BinaryHeap<Reverse<u64>>,
    /// Parcels to judge again as soon as there is time.
    backlog: VecDeque<ParcelKey>,
    /// Which parcels are in the backlog (one bit each).
    in_backlog: Vec<u64>,
    /// The next slot of a review of every parcel under way.
    sweep: Option<ParcelKey>,
    last_full_review: Option<DateTime<Utc>>,
    /// Durations were learned since the last full review.
    learned_since_review: bool,
}

impl Judge {
    /// A judge that knows only the priors.
    pub fn new(settings: BoardSettings) -> Judge {
        // Durations that moved by less than a tenth of the watch margin
        // change no verdict worth judging a million parcels again for.
        let estimates = Estimates::new(|step| settings.prior(step), settings.quantile)
            .with_tolerance(settings.watch_margin / 10);
        Judge {
            policy: RiskPolicy {
                watch_margin: settings.watch_margin,
            },
            settings,
            estimates,
            reviews: BinaryHeap::new(),
            backlog: VecDeque::new(),
            in_backlog: Vec::new(),
            sweep: None,
            last_full_review: None,
            learned_since_review: false,
        }
    }

    /// Queues a review of `key` at `at`; the instant as the row keeps it.
    pub fn queue_review(&mut self, key: ParcelKey, at: DateTime<Utc>) -> Stamp {
        let secs = u32::try_from(at.timestamp().max(0)).unwrap_or(u32::MAX);
        self.reviews
            .push(Reverse((u64::from(secs) << 32) | u64::from(key)));
        Stamp::of(DateTime::from_timestamp(i64::from(secs), 0).unwrap_or(at))
    }

    /// The next review due by `now`: its parcel and the instant it was
    /// queued for.
    pub fn next_due(&mut self, now: DateTime<Utc>) -> Option<(ParcelKey, Stamp)> {
        let Reverse(entry) = *self.reviews.peek()?;
        let secs = (entry >> 32) as i64;
        if secs > now.timestamp() {
            return None;
        }
        self.reviews.pop();
        let at = DateTime::from_timestamp(secs, 0).unwrap_or(now);
        Some((entry as u32, Stamp::of(at)))
    }

    /// Puts a parcel in the backlog (once).
    pub fn defer(&mut self, key: ParcelKey) {
        let (word, bit) = (key as usize / 64, key % 64);
        if word >= self.in_backlog.len() {
            self.in_backlog.resize(word + 1, 0);
        }
        if self.in_backlog[word] & (1 << bit) == 0 {
            self.in_backlog[word] |= 1 << bit;
            self.backlog.push_back(key);
        }
    }

    /// The next parcel of the backlog.
    pub fn next_deferred(&mut self) -> Option<ParcelKey> {
        let key = self.backlog.pop_front()?;
        self.in_backlog[key as usize / 64] &= !(1 << (key % 64));
        Some(key)
    }

    /// Parcels waiting in the backlog.
    pub fn backlog(&self) -> usize {
        self.backlog.len()
    }

    /// Starts judging every parcel again, slot by slot, as work allows
    /// (see [`Judge::next_swept`]).
    pub fn start_sweep(&mut self) {
        self.sweep = Some(0);
    }

    /// The next slot of the sweep under way among `slots`, if any.
    pub fn next_swept(&mut self, slots: usize) -> Option<ParcelKey> {
        let at = self.sweep?;
        if at as usize >= slots {
            self.sweep = None;
            return None;
        }
        self.sweep = Some(at + 1);
        Some(at)
    }

    /// Whether a sweep is under way.
    pub fn is_sweeping(&self) -> bool {
        self.sweep.is_some()
    }

    /// Observes how long a step took.
    pub fn observe(&mut self, step: Step, took: Duration) {
        self.estimates.observe(step, took);
    }

    /// Takes in what was learned; whether every parcel should be judged
    /// again now (at most every [`FULL_REVIEW_EVERY`], when the durations
    /// moved).
    pub fn full_review_due(&mut self, now: DateTime<Utc>) -> bool {
        self.learned_since_review |= self.estimates.refresh();
        let due = self
            .last_full_review
            .is_none_or(|last| now - last >= FULL_REVIEW_EVERY);
        if self.learned_since_review && due {
            self.learned_since_review = false;
            self.last_full_review = Some(now);
            return true;
        }
        false
    }

    /// Bytes the queues hold.
    pub fn bytes(&self) -> usize {
        self.reviews.capacity() * 8 + self.backlog.capacity() * 4 + self.in_backlog.capacity() * 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> BoardSettings {
        crate::config::Config::default().board_settings()
    }

    #[test]
    fn reviews_come_due_in_time_order() {
        let mut judge = Judge::new(settings());
        let t = |s: i64| DateTime::<Utc>::from_timestamp(1_800_000_000 + s, 0).unwrap();
        judge.queue_review(7, t(30));
        judge.queue_review(3, t(10));
        judge.queue_review(5, t(20));
        assert_eq!(judge.next_due(t(5)), None);
        assert_eq!(judge.next_due(t(25)).map(|(k, _)| k), Some(3));
        assert_eq!(judge.next_due(t(25)).map(|(k, _)| k), Some(5));
        assert_eq!(judge.next_due(t(25)), None);
        assert_eq!(judge.next_due(t(99)), Some((7, Stamp::of(t(30)))));
    }

    #[test]
    fn the_backlog_takes_each_parcel_once() {
        let mut judge = Judge::new(settings());
        for key in [4, 1_000_000, 4, 9, 1_000_000] {
            judge.defer(key);
        }
        assert_eq!(judge.backlog(), 3);
        let order: Vec<u32> = std::iter::from_fn(|| judge.next_deferred()).collect();
        assert_eq!(order, [4, 1_000_000, 9]);
        judge.defer(4);
        assert_eq!(judge.next_deferred(), Some(4), "queued again once taken");
    }

    #[test]
    fn a_sweep_hands_out_every_slot_once_then_ends() {
        let mut judge = Judge::new(settings());
        assert_eq!(judge.next_swept(3), None, "no sweep yet");
        judge.start_sweep();
        assert!(judge.is_sweeping());
        let slots: Vec<u32> = std::iter::from_fn(|| judge.next_swept(3)).collect();
        assert_eq!(slots, [0, 1, 2]);
        assert!(!judge.is_sweeping());
        // A board that shrank meanwhile ends it sooner.
        judge.start_sweep();
        assert_eq!(judge.next_swept(5), Some(0));
        assert_eq!(judge.next_swept(1), None);
        assert!(!judge.is_sweeping());
    }
}
