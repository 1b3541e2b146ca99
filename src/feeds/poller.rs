//! The polling engine, one for both APIs: a snapshot page by page, then
//! events after its cursor, again at once while `has_more`; a fresh
//! snapshot after `410`; waits of at least `Retry-After` after `429`;
//! exponential back-off with jitter, capped, after any other failure.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

use super::client::{ApiClient, FeedError, PageCache, RawBatch, parse_each};
use super::health::FeedHealth;
use super::{Backoff, Feed, FeedMessage};
use crate::domain::{Change, CustomsChange, Declaration, Delivery, Event, RailwayChange, Train};

/// How a poller paces itself.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PollSettings {
    /// Objects per snapshot page.
    pub page_size: u32,
    /// Events per poll.
    pub event_batch: u32,
    /// Between polls when the feed has nothing more.
    pub poll_interval: StdDuration,
    /// Waits after failures.
    pub backoff: Backoff,
}

/// What one step of polling gave.
#[derive(Debug)]
pub enum Polled {
    /// Something to apply; `more` when the feed has more right away.
    Delivered { delivery: Delivery, more: bool },
    /// Nothing new.
    Idle,
    /// A failure: wait this long before the next step.
    Wait(StdDuration),
}

/// Reads one feed.
#[derive(Debug)]
pub struct Poller {
    client: ApiClient,
    settings: PollSettings,
    cache: PageCache,
    cursor: Option<String>,
    health: FeedHealth,
    last_failure: Option<FeedError>,
}

/// A batch of parsed events as a delivery, with its size and newest
/// instant, and the reasons of the events that did not parse.
fn delivery_of<C: Change>(
    (events, bad): (Vec<Event<C>>, Vec<String>),
    wrap: fn(Vec<Event<C>>) -> Delivery,
) -> (Delivery, usize, Option<DateTime<Utc>>, Vec<String>) {
    let newest = events.iter().map(|e| e.at).max();
    let count = events.len();
    (wrap(events), count, newest, bad)
}

impl Poller {
    /// A poller that starts with a snapshot.
    pub fn new(client: ApiClient, settings: PollSettings) -> Poller {
        let feed = client.feed();
        Poller {
            client,
            settings,
            cache: PageCache::default(),
            cursor: None,
            health: FeedHealth::new(feed),
            last_failure: None,
        }
    }

    /// Which feed.
    pub fn feed(&self) -> Feed {
        self.client.feed()
    }

    /// The feed's health so far.
    pub fn health(&self) -> &FeedHealth {
        &self.health
    }

    /// Reads every page of a snapshot; sets the cursor from the first.
    async fn snapshot(&mut self) -> Result<Delivery, FeedError> {
        let mut token: Option<String> = None;
        let mut cursor: Option<String> = None;
        let mut trains: Vec<Train> = Vec::new();
        let mut declarations: Vec<Declaration> = Vec::new();
        let mut bad = Vec::new();
        let mut skew = None;
        loop {
            let page = self
                .client
                .snapshot_page(token.as_deref(), self.settings.page_size, &mut self.cache)
                .await?;
            skew = page.skew().or(skew);
            if token.is_none() {
                cursor = Some(page.body.cursor.clone().ok_or_else(|| {
                    FeedError::Malformed("the first snapshot page carries no cursor".into())
                })?);
            }
            match self.feed() {
                Feed::Railway => parse_each(&page.body.items, &mut trains, &mut bad),
                Feed::Customs => parse_each(&page.body.items, &mut declarations, &mut bad),
            }
            match page.body.next_page_token {
                Some(next) => token = Some(next),
                None => break,
            }
        }
        let now = Utc::now();
        self.cursor = cursor;
        self.health.snapshots += 1;
        self.note_malformed(bad);
        self.health.succeeded(now, skew);
        Ok(match self.feed() {
            Feed::Railway => Delivery::RailwaySnapshot(trains),
            Feed::Customs => Delivery::CustomsSnapshot(declarations),
        })
    }

    fn note_malformed(&mut self, bad: Vec<String>) {
        if let Some(last) = bad.last() {
            self.health.malformed += bad.len() as u32;
            self.health.last_error = Some(format!("skipped a malformed object: {last}"));
        }
    }

    /// One poll of events after the cursor.
    async fn poll(&mut self, cursor: String) -> Result<Polled, FeedError> {
        let answer = self
            .client
            .events(&cursor, self.settings.event_batch)
            .await?;
        let RawBatch {
            next,
            has_more,
            server_time,
            ..
        } = &answer.body;
        let (delivery, count, newest, bad) = match self.feed() {
            Feed::Railway => delivery_of(
                answer.body.parse::<RailwayChange>(),
                Delivery::RailwayEvents,
            ),
            Feed::Customs => delivery_of(
                answer.body.parse::<CustomsChange>(),
                Delivery::CustomsEvents,
            ),
        };
        self.cursor = Some(next.clone());
        let now = Utc::now();
        self.health.succeeded(now, answer.skew());
        self.health
            .received(now, count as u32, newest.map(|at| *server_time - at));
        self.note_malformed(bad);
        Ok(if count == 0 {
            Polled::Idle
        } else {
            Polled::Delivered {
                delivery,
                more: *has_more,
            }
        })
    }

    /// The wait after the current run of failures.
    fn backoff(&self, error: &FeedError) -> StdDuration {
        let base = self.settings.backoff.after(self.health.failures);
        // Full jitter in the upper half: spread out, never immediate.
        let jittered = base.mul_f64(0.5 + fastrand::f64() * 0.5);
        match error.retry_after() {
            Some(asked) => jittered.max(asked),
            None => jittered,
        }
    }

    /// Snapshot if there is no cursor, else one poll of events.
    pub async fn step(&mut self) -> Polled {
        let result = match self.cursor.clone() {
            None => self.snapshot().await.map(|delivery| Polled::Delivered {
                delivery,
                more: true,
            }),
            Some(cursor) => self.poll(cursor).await,
        };
        match result {
            Ok(polled) => polled,
            Err(error) => {
                let wait = if error == FeedError::CursorExpired {
                    // Take a fresh snapshot right away.
                    self.cursor = None;
                    StdDuration::ZERO
                } else {
                    self.backoff(&error)
                };
                let now = Utc::now();
                let retry_at = now + chrono::Duration::from_std(wait).unwrap_or_default();
                self.health.failed(now, error.to_string(), retry_at);
                self.last_failure = Some(error);
                Polled::Wait(wait)
            }
        }
    }

    /// Polls until the receiver goes away, sending health and deliveries.
    /// Health goes first, so that what it learned of the server's clock
    /// is known before the delivery is judged.
    pub async fn run(mut self, to_board: mpsc::Sender<FeedMessage>) {
        loop {
            let polled = self.step().await;
            if to_board
                .send(FeedMessage::Health(self.health.clone()))
                .await
                .is_err()
            {
                return;
            }
            let wait = match polled {
                Polled::Delivered { delivery, more } => {
                    let message = FeedMessage::Delivered {
                        feed: self.feed(),
                        delivery,
                    };
                    if to_board.send(message).await.is_err() {
                        return;
                    }
                    if more {
                        StdDuration::ZERO
                    } else {
                        self.settings.poll_interval
                    }
                }
                Polled::Idle => self.settings.poll_interval,
                Polled::Wait(wait) => wait,
            };
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
        }
    }

    /// Reads the feed once: the snapshot, then events until there are no
    /// more. Failures are retried (with the usual waits) `attempts` times.
    pub async fn read_once(&mut self, attempts: u32) -> Result<Vec<Delivery>, FeedError> {
        let mut deliveries = Vec::new();
        let mut failures = 0;
        loop {
            match self.step().await {
                Polled::Delivered { delivery, more } => {
                    deliveries.push(delivery);
                    if !more {
                        return Ok(deliveries);
                    }
                }
                Polled::Idle => return Ok(deliveries),
                Polled::Wait(wait) => {
                    failures += 1;
                    if failures >= attempts {
                        return Err(self.last_failure.take().expect("a failure was recorded"));
                    }
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }
}
