//! One event feed of the simulator: the retained events, their cursors and
//! the `410` rules.
//!
//! A cursor names a position in the feed ("every event after seq N") and the
//! generation of the feed it belongs to. Events are kept for a limited time;
//! a cursor older than the oldest retained event, from another generation
//! (after a forced expiry) or from another simulator gets `410`.

use std::collections::VecDeque;

use chrono::{DateTime, Duration, Utc};

/// One retained event, already written as JSON.
#[derive(Debug, Clone)]
struct Logged {
    seq: u64,
    logged_at: DateTime<Utc>,
    json: Box<str>,
}

/// A batch read from the feed, borrowing the retained events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch<'a> {
    /// The events, as JSON, oldest first.
    pub events: Vec<&'a str>,
    /// Seq of the last event in `events` (or the cursor's own when empty).
    pub last_seq: u64,
    /// More visible events follow.
    pub has_more: bool,
}

/// The cursor is no longer (or never was) valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expired;

/// A feed's retained events.
#[derive(Debug)]
pub struct FeedLog {
    instance: u32,
    generation: u32,
    head: u64,
    floor: u64,
    entries: VecDeque<Logged>,
    retention: Duration,
    max_entries: usize,
}

impl FeedLog {
    /// An empty feed whose cursors carry `instance`.
    pub fn new(instance: u32, retention: Duration, max_entries: usize) -> Self {
        FeedLog {
            instance,
            generation: 0,
            head: 0,
            floor: 0,
            entries: VecDeque::new(),
            retention,
            max_entries,
        }
    }

    /// Takes the next seq for a change. Changes before the feed is opened
    /// (the scenario's warm-up) take a seq without being retained.
    pub fn next_seq(&mut self) -> u64 {
        self.head += 1;
        self.head
    }

    /// The seq of the latest change.
    pub fn head(&self) -> u64 {
        self.head
    }

    /// Starts retaining events: cursors from here on are valid.
    pub fn open(&mut self) {
        self.floor = self.head;
    }

    /// Retains an event that took `seq` from [`Self::next_seq`].
    pub fn push(&mut self, seq: u64, logged_at: DateTime<Utc>, json: String) {
        debug_assert!(seq > self.entries.back().map_or(self.floor, |e| e.seq));
        self.entries.push_back(Logged {
            seq,
            logged_at,
            json: json.into_boxed_str(),
        });
        while self.entries.len() > self.max_entries {
            self.drop_oldest();
        }
    }

    fn drop_oldest(&mut self) {
        if let Some(oldest) = self.entries.pop_front() {
            self.floor = oldest.seq;
        }
    }

    /// Forgets events older than the retention.
    pub fn trim(&mut self, now: DateTime<Utc>) {
        while self
            .entries
            .front()
            .is_some_and(|e| now - e.logged_at > self.retention)
        {
            self.drop_oldest();
        }
    }

    /// Makes every cursor handed out so far invalid.
    pub fn expire_all(&mut self) {
        self.generation += 1;
    }

    /// Number of retained events.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no event is retained.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The cursor "after `seq`".
    pub fn cursor(&self, seq: u64) -> String {
        format!("{:08x}{:04x}{seq:012x}", self.instance, self.generation)
    }

    /// The cursor of the latest change: where a snapshot taken now starts.
    pub fn head_cursor(&self) -> String {
        self.cursor(self.head)
    }

    /// Reads a cursor back to the seq it stands after.
    pub fn parse_cursor(&self, cursor: &str) -> Result<u64, Expired> {
        if cursor.len() != 24 || !cursor.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Expired);
        }
        let number = |range: std::ops::Range<usize>| u64::from_str_radix(&cursor[range], 16);
        let (Ok(instance), Ok(generation), Ok(seq)) = (number(0..8), number(8..12), number(12..24))
        else {
            return Err(Expired);
        };
        let current = instance == u64::from(self.instance)
            && generation == u64::from(self.generation)
            && seq >= self.floor
            && seq <= self.head;
        if current { Ok(seq) } else { Err(Expired) }
    }

    /// Up to `limit` events after `after`, among those logged no later than
    /// `visible_until`.
    pub fn read(&self, after: u64, limit: usize, visible_until: DateTime<Utc>) -> Batch<'_> {
        let start = self.entries.partition_point(|e| e.seq <= after);
        let mut visible = self
            .entries
            .range(start..)
            .take_while(|e| e.logged_at <= visible_until);
        let events: Vec<&Logged> = visible.by_ref().take(limit).collect();
        let has_more = visible.next().is_some();
        Batch {
            last_seq: events.last().map_or(after, |e| e.seq),
            events: events.into_iter().map(|e| &*e.json).collect(),
            has_more,
        }
    }

    /// The event `back` events before the one after `seq`, if still kept
    /// (for redelivering an old event on its own).
    pub fn earlier(&self, seq: u64, back: usize) -> Option<&str> {
        let index = self.entries.partition_point(|e| e.seq <= seq);
        let i = index.checked_sub(back)?;
        self.entries.get(i).map(|e| &*e.json)
    }

    /// The seq `steps` events before `seq` that a cursor may still name
    /// (for redelivery).
    pub fn step_back(&self, seq: u64, steps: usize) -> u64 {
        let index = self.entries.partition_point(|e| e.seq <= seq);
        match index.checked_sub(steps + 1) {
            Some(i) => self.entries[i].seq.max(self.floor),
            None => self.floor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minute: i64) -> DateTime<Utc> {
        DateTime::UNIX_EPOCH + Duration::minutes(minute)
    }

    fn feed_with(n: u64) -> FeedLog {
        let mut feed = FeedLog::new(0xabc, Duration::minutes(10), 100);
        feed.next_seq();
        feed.open();
        for i in 0..n {
            let seq = feed.next_seq();
            feed.push(seq, at(i as i64), format!("{{\"seq\":{seq}}}"));
        }
        feed
    }

    #[test]
    fn cursors_round_trip_and_read_in_batches() {
        let feed = feed_with(5);
        let start = feed.parse_cursor(&feed.cursor(1)).unwrap();
        let batch = feed.read(start, 3, at(100));
        assert_eq!(batch.events.len(), 3);
        assert_eq!(batch.last_seq, 4);
        assert!(batch.has_more);
        let batch = feed.read(batch.last_seq, 3, at(100));
        assert_eq!(batch.events.len(), 2);
        assert!(!batch.has_more);
        let batch = feed.read(batch.last_seq, 3, at(100));
        assert!(batch.events.is_empty());
        assert_eq!(batch.last_seq, 6);
        assert_eq!(feed.parse_cursor(&feed.head_cursor()), Ok(6));
    }

    #[test]
    fn unknown_foreign_and_future_cursors_expire() {
        let feed = feed_with(3);
        for cursor in [
            "",
            "abc",
            "zzzzzzzzzzzzzzzzzzzzzzzz",
            "00000abc0000000000000099",
        ] {
            assert_eq!(feed.parse_cursor(cursor), Err(Expired), "{cursor:?}");
        }
        let other = FeedLog::new(0xdef, Duration::minutes(10), 100);
        assert_eq!(feed.parse_cursor(&other.cursor(0)), Err(Expired));
    }

    #[test]
    fn retention_and_forced_expiry() {
        let mut feed = feed_with(20);
        let old = feed.cursor(2);
        assert!(feed.parse_cursor(&old).is_ok());
        feed.trim(at(15));
        assert_eq!(feed.parse_cursor(&old), Err(Expired));
        assert!(feed.parse_cursor(&feed.head_cursor()).is_ok());
        let head = feed.head_cursor();
        feed.expire_all();
        assert_eq!(feed.parse_cursor(&head), Err(Expired));
        assert!(feed.parse_cursor(&feed.head_cursor()).is_ok());
    }

    #[test]
    fn count_cap_moves_the_floor() {
        let mut feed = FeedLog::new(1, Duration::minutes(10), 3);
        feed.open();
        for i in 0..5 {
            let seq = feed.next_seq();
            feed.push(seq, at(i), String::new());
        }
        assert_eq!(feed.len(), 3);
        assert_eq!(feed.parse_cursor(&feed.cursor(1)), Err(Expired));
        assert_eq!(feed.parse_cursor(&feed.cursor(2)), Ok(2));
    }

    #[test]
    fn events_not_yet_visible_are_held_back() {
        let feed = feed_with(5);
        let batch = feed.read(1, 10, at(2));
        assert_eq!(batch.events.len(), 3);
        assert!(!batch.has_more);
    }

    #[test]
    fn earlier_events_can_be_fetched_again() {
        let feed = feed_with(5);
        assert_eq!(feed.earlier(4, 1), Some("{\"seq\":4}"));
        assert_eq!(feed.earlier(4, 3), Some("{\"seq\":2}"));
        assert_eq!(feed.earlier(4, 9), None);
    }

    #[test]
    fn stepping_back_stays_valid() {
        let feed = feed_with(5);
        assert_eq!(feed.step_back(6, 2), 4);
        assert_eq!(feed.step_back(2, 5), 1);
        assert!(
            feed.parse_cursor(&feed.cursor(feed.step_back(6, 9)))
                .is_ok()
        );
    }
}
