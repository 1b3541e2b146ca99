//! One board for many screens (the ssh sessions of `greenchannel serve`).
//! The [`Keeper`] alone changes it: it applies what the feeds deliver,
//! reviews it as time passes, and takes the holds customs answered with;
//! each time the board moves on it says so. Screens hold a
//! [`SharedBoard`]: they read the board and hear that it moved, and
//! cannot change it.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use tokio::sync::{RwLock, RwLockReadGuard, mpsc, watch};

use super::{servers_now, take_answer};
use crate::board::Board;
use crate::feeds::health::FeedHealth;
use crate::feeds::{Feed, FeedMessage};
use crate::triage::Report;

/// How often the keeper reviews the board as time passes.
const TICK: StdDuration = StdDuration::from_millis(500);

/// The longest the keeper holds the board to work on it before the
/// screens may read it again.
const WORK_SLICE: StdDuration = StdDuration::from_millis(8);

/// Messages taken from the feeds before the board is let go for reading.
const BATCH: usize = 256;

#[derive(Debug)]
struct Shared {
    board: RwLock<Board>,
    /// The board's revision, each time it moves on.
    revision: watch::Sender<u64>,
    /// Each feed's health (railway, customs).
    health: watch::Sender<[FeedHealth; 2]>,
}

/// What a screen holds of the shared board: it reads it and hears when it
/// moved on (cheap to clone).
#[derive(Debug, Clone)]
pub struct SharedBoard(Arc<Shared>);

impl SharedBoard {
    /// Reads the board; waits while the keeper is changing it.
    pub async fn read(&self) -> RwLockReadGuard<'_, Board> {
        self.0.board.read().await
    }

    /// Changes each time the board moves on.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.0.revision.subscribe()
    }

    /// Each feed's health (railway, customs), as it changes.
    pub fn health(&self) -> watch::Receiver<[FeedHealth; 2]> {
        self.0.health.subscribe()
    }
}

/// The one who changes the shared board (the station's task and the
/// officers' lines).
#[derive(Debug, Clone)]
pub struct Keeper(Arc<Shared>);

impl Keeper {
    /// Keeps `board` from now on.
    pub fn new(board: Board) -> Keeper {
        let revision = board.revision();
        Keeper(Arc::new(Shared {
            board: RwLock::new(board),
            revision: watch::Sender::new(revision),
            health: watch::Sender::new(Feed::BOTH.map(FeedHealth::new)),
        }))
    }

    /// A screen's handle on the board.
    pub fn reader(&self) -> SharedBoard {
        SharedBoard(self.0.clone())
    }

    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        servers_now(&self.0.health.borrow())
    }

    /// Takes what the feeds said: health at once, deliveries for the
    /// board to work through (see [`Keeper::work`]). Whether the board has
    /// taken in as much as it should for now.
    pub async fn take(&self, messages: Vec<FeedMessage>) -> bool {
        let mut board = None;
        for message in messages {
            match message {
                FeedMessage::Health(health) => {
                    let i = health.feed.index();
                    self.0.health.send_modify(|all| all[i] = *health);
                }
                FeedMessage::Delivered { delivery, .. } => {
                    let board = match &mut board {
                        Some(board) => board,
                        None => board.insert(self.0.board.write().await),
                    };
                    board.receive(delivery);
                }
            }
        }
        board.is_some_and(|board| board.is_busy())
    }

    /// Works on the board at the servers' time, a slice at a time (the
    /// screens read between two): applies what the feeds delivered and
    /// reviews what time changed. Whether work remains.
    pub async fn work(&self) -> bool {
        let now = self.now();
        let mut board = self.0.board.write().await;
        let more = board.work(now, WORK_SLICE);
        self.moved(board.revision());
        more
    }

    /// Puts the hold customs answered an action with on the board.
    pub async fn take_answer(&self, report: &Report) {
        let now = self.now();
        let mut board = self.0.board.write().await;
        take_answer(&mut board, report, now);
        self.moved(board.revision());
    }

    fn moved(&self, revision: u64) {
        self.0.revision.send_if_modified(|last| {
            let moved = *last != revision;
            *last = revision;
            moved
        });
    }

    /// Keeps the board until the feeds end: takes what they say, in
    /// batches, works through it a slice at a time, and reviews it as
    /// time passes. The feeds wait while the board is busy.
    pub async fn keep(self, mut feeds: mpsc::Receiver<FeedMessage>) {
        let mut ticker = tokio::time::interval(TICK);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let (mut busy, mut working) = (false, false);
        loop {
            tokio::select! {
                message = feeds.recv(), if !busy => {
                    let Some(message) = message else { return };
                    let mut batch = vec![message];
                    while batch.len() < BATCH {
                        match feeds.try_recv() {
                            Ok(message) => batch.push(message),
                            Err(_) => break,
                        }
                    }
                    busy = self.take(batch).await;
                    working = true;
                }
                _ = ticker.tick() => working = true,
                _ = std::future::ready(()), if working => {
                    working = self.work().await;
                    busy &= working;
                    // Let the screens and the feeds in between slices.
                    tokio::task::yield_now().await;
                }
            }
        }
    }
}
