//! The polling engine, one for both APIs: a snapshot page by page, then
//! events after its cursor, again at once while `has_more`; a fresh
//! snapshot after `410`; waits of at least `Retry-After` (bounded) after
//! `429`; exponential back-off with jitter, capped, after any other
//! failure; a snapshot cut short by a failure worth waiting out goes on
//! from the page that failed. A snapshot is bounded too: a server that
//! hands out pages for ever, or the same page token twice, gets a
//! malformed-answer failure.
//! A one-off read ([`Poller::read_once`]) ends by its [`Deadline`].

use std::collections::HashSet;
use std::fmt;
use std::time::Duration as StdDuration;

use chrono::Utc;
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;

use super::client::{ApiClient, Batch, FeedError, PageCache};
use super::deadline::{Deadline, Late};
use super::health::FeedHealth;
use super::{Backoff, Feed, FeedMessage};
use crate::domain::{
    Change, Cursor, CustomsChange, Declaration, Delivery, FeedText, PageToken, RailwayChange, Train,
};

/// The most objects one snapshot may bring (a port's two days are about a
/// million parcels).
pub const MAX_SNAPSHOT_OBJECTS: usize = 5_000_000;

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
    /// Something to apply (a snapshot; events; word that the feed is
    /// caught up); `more` when the feed has more right away.
    Delivered {
        /// In order.
        deliveries: Vec<Delivery>,
        /// Poll again at once.
        more: bool,
    },
    /// A failure: wait this long before the next step.
    Wait(StdDuration),
}

/// Why a one-off read of a feed gave nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError {
    /// Every attempt failed: the last failure.
    Failed(FeedError),
    /// The deadline came first.
    Late {
        /// How long the read was given.
        late: Late,
        /// The failure it was waiting to retry, if any.
        failure: Option<FeedError>,
        /// Pages of a snapshot read and not yet finished, if it was
        /// reading one.
        snapshot_pages: Option<u32>,
    },
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Failed(failure) => write!(f, "{failure}"),
            ReadError::Late {
                late,
                failure: Some(failure),
                ..
            } => write!(f, "{late}: {failure}"),
            ReadError::Late {
                late,
                failure: None,
                snapshot_pages: Some(0),
            } => write!(f, "{late}: no snapshot page yet"),
            ReadError::Late {
                late,
                failure: None,
                snapshot_pages: Some(pages),
            } => write!(
                f,
                "{late}: the snapshot had more to come after {pages} pages"
            ),
            ReadError::Late {
                late,
                failure: None,
                snapshot_pages: None,
            } => write!(f, "{late}: still reading events"),
        }
    }
}

impl std::error::Error for ReadError {}

/// Reads one feed.
#[derive(Debug)]
pub struct Poller {
    client: ApiClient,
    settings: PollSettings,
    cache: PageCache,
    cursor: Option<Cursor>,
    health: FeedHealth,
    /// The failure of the last step, if it failed.
    last_failure: Option<FeedError>,
    /// Pages read of the snapshot being read (or last read).
    snapshot_pages: u32,
    /// A snapshot cut short by a failure worth waiting out, to go on with.
    progress: Option<Progress>,
}

/// A snapshot read in part: the page to read next and what the pages
/// read so far brought.
#[derive(Debug, Default)]
struct Progress {
    /// The next page (`None`: the first).
    next: Option<PageToken>,
    /// Every page token given so far.
    seen_tokens: HashSet<PageToken>,
    /// The first page's cursor.
    cursor: Option<Cursor>,
    /// Pages read.
    pages: u32,
    /// The railway's trains so far.
    trains: Vec<Train>,
    /// Customs' declarations so far.
    declarations: Vec<Declaration>,
    /// Why records were skipped.
    bad: Vec<FeedText>,
    /// The clock skew the pages showed.
    skew: Option<chrono::Duration>,
}

/// What a snapshot lists: trains or declarations.
trait SnapshotObject: DeserializeOwned {
    /// Where a snapshot in part keeps them.
    fn kept(progress: &mut Progress) -> &mut Vec<Self>;
}

impl SnapshotObject for Train {
    fn kept(progress: &mut Progress) -> &mut Vec<Self> {
        &mut progress.trains
    }
}

impl SnapshotObject for Declaration {
    fn kept(progress: &mut Progress) -> &mut Vec<Self> {
        &mut progress.declarations
    }
}

/// Whether a snapshot cut short by `error` goes on where it stopped: after
/// no answer, a `5xx` or a `429` the page tokens still hold; after anything
/// else (a `410`, a refused or malformed page) it starts again.
fn resumable(error: &FeedError) -> bool {
    matches!(
        error,
        FeedError::Transport(_) | FeedError::Unavailable { .. } | FeedError::RateLimited { .. }
    )
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
            snapshot_pages: 0,
            progress: None,
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
    /// A snapshot cut short by a failure that is worth waiting out (no
    /// answer, `5xx`, `429`) goes on from the page that failed at the next
    /// step; any other failure starts it again from the first page.
    async fn snapshot(&mut self) -> Result<Delivery, FeedError> {
        Ok(match self.feed() {
            Feed::Railway => Delivery::RailwaySnapshot(self.pages::<Train>().await?),
            Feed::Customs => Delivery::CustomsSnapshot(self.pages::<Declaration>().await?),
        })
    }

    async fn pages<T: SnapshotObject>(&mut self) -> Result<Vec<T>, FeedError> {
        let mut progress = self.progress.take().unwrap_or_default();
        self.snapshot_pages = progress.pages;
        loop {
            let page = match self
                .client
                .snapshot_page::<T>(
                    progress.next.as_ref(),
                    self.settings.page_size,
                    &mut self.cache,
                )
                .await
            {
                Ok(page) => page,
                Err(error) => {
                    if resumable(&error) {
                        self.progress = Some(progress);
                    }
                    return Err(error);
                }
            };
            progress.pages = progress.pages.saturating_add(1);
            self.snapshot_pages = progress.pages;
            progress.skew = page.skew().or(progress.skew);
            let page = page.body;
            if progress.next.is_none() {
                progress.cursor = Some(page.cursor.ok_or_else(|| {
                    malformed("the first snapshot page carries no cursor".to_owned())
                })?);
            }
            let objects = T::kept(&mut progress);
            objects.extend(page.items);
            let count = objects.len();
            progress.bad.extend(page.bad);
            if count > MAX_SNAPSHOT_OBJECTS {
                return Err(malformed(format!(
                    "a snapshot of more than {MAX_SNAPSHOT_OBJECTS} objects"
                )));
            }
            match page.next_page_token {
                Some(next) if !progress.seen_tokens.insert(next.clone()) => {
                    return Err(malformed(
                        "the snapshot gave the same page token twice".to_owned(),
                    ));
                }
                Some(next) => progress.next = Some(next),
                None => break,
            }
        }
        let now = Utc::now();
        self.cursor = progress.cursor.take();
        self.health.snapshot_taken(now);
        self.health
            .oddities
            .malformed(now, std::mem::take(&mut progress.bad));
        self.health.succeeded(now, progress.skew);
        Ok(std::mem::take(T::kept(&mut progress)))
    }

    /// One poll of events after the cursor.
    async fn poll(&mut self, cursor: Cursor) -> Result<Polled, FeedError> {
        Ok(match self.feed() {
            Feed::Railway => self.poll_as::<RailwayChange>(cursor).await?,
            Feed::Customs => self.poll_as::<CustomsChange>(cursor).await?,
        })
    }

    async fn poll_as<C: Change>(&mut self, cursor: Cursor) -> Result<Polled, FeedError>
    where
        Delivery: From<Vec<crate::domain::Event<C>>>,
    {
        let answer = self
            .client
            .events::<C>(&cursor, self.settings.event_batch)
            .await?;
        let skew = answer.skew();
        let Batch {
            events,
            bad,
            next,
            has_more,
            server_time,
        } = answer.body;
        let now = Utc::now();
        self.health.succeeded(now, skew);
        let newest = events.iter().map(|e| e.at).max();
        self.health
            .received(now, events.len() as u32, newest.map(|at| server_time - at));
        self.health.oddities.malformed(now, bad);
        self.health.oddities.unknown_types(
            now,
            events
                .iter()
                .filter(|e| !e.change.is_known())
                .map(|e| e.change.event_type()),
        );
        // A server that says there is more but gives nothing, or the same
        // cursor back, is not asked again at once.
        let more = has_more && !events.is_empty() && next != cursor;
        self.cursor = Some(next);
        let mut deliveries = Vec::with_capacity(2);
        if !events.is_empty() {
            deliveries.push(Delivery::from(events));
        }
        if !more {
            deliveries.push(match self.feed() {
                Feed::Railway => Delivery::RailwayCaughtUp(server_time),
                Feed::Customs => Delivery::CustomsCaughtUp(server_time),
            });
        }
        Ok(Polled::Delivered { deliveries, more })
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
                deliveries: vec![delivery],
                more: true,
            }),
            Some(cursor) => self.poll(cursor).await,
        };
        match result {
            Ok(polled) => {
                self.last_failure = None;
                polled
            }
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
                let rate_limited = matches!(error, FeedError::RateLimited { .. });
                self.health
                    .failed(now, error.to_string(), rate_limited, retry_at);
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
                .send(FeedMessage::Health(Box::new(self.health.clone())))
                .await
                .is_err()
            {
                return;
            }
            let wait = match polled {
                Polled::Delivered { deliveries, more } => {
                    for delivery in deliveries {
                        let message = FeedMessage::Delivered {
                            feed: self.feed(),
                            delivery,
                        };
                        if to_board.send(message).await.is_err() {
                            return;
                        }
                    }
                    if more {
                        StdDuration::ZERO
                    } else {
                        self.settings.poll_interval
                    }
                }
                Polled::Wait(wait) => wait,
            };
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
        }
    }

    /// Reads the feed once: the snapshot, then events until there are no
    /// more. Failures are tried again (after the usual waits) until
    /// `attempts` have failed. Every request and every wait ends by
    /// `deadline`: a wait that would end past it is not begun.
    pub async fn read_once(
        &mut self,
        attempts: u32,
        deadline: Deadline,
    ) -> Result<Vec<Delivery>, ReadError> {
        let mut deliveries = Vec::new();
        let mut failures = 0;
        loop {
            let polled = deadline
                .run(self.step())
                .await
                .map_err(|late| self.late(late))?;
            match polled {
                Polled::Delivered {
                    deliveries: more_deliveries,
                    more,
                } => {
                    deliveries.extend(more_deliveries);
                    if !more && self.cursor.is_some() {
                        return Ok(deliveries);
                    }
                }
                Polled::Wait(wait) => {
                    failures += 1;
                    if failures >= attempts {
                        let failure = self.last_failure.take();
                        return Err(ReadError::Failed(failure.expect("a failure was recorded")));
                    }
                    deadline.sleep(wait).await.map_err(|late| self.late(late))?;
                }
            }
        }
    }

    /// What a read cut short by its deadline was doing.
    fn late(&mut self, late: Late) -> ReadError {
        ReadError::Late {
            late,
            failure: self.last_failure.take(),
            snapshot_pages: self.cursor.is_none().then_some(self.snapshot_pages),
        }
    }
}

fn malformed(why: String) -> FeedError {
    FeedError::Malformed(FeedText::new(&why))
}
