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

    /// Takes what the feeds said: health at once, deliveries onto the
    /// board (each at the servers' time as the health before it told).
    pub async fn take(&self, messages: Vec<FeedMessage>) {
        let mut board = None;
        for message in messages {
            match message {
                FeedMessage::Health(health) => {
                    let i = health.feed.index();
                    self.0.health.send_modify(|all| all[i] = *health);
                }
                FeedMessage::Delivered { delivery, .. } => {
                    let now = self.now();
                    let board = match &mut board {
                        Some(board) => board,
                        None => board.insert(self.0.board.write().await),
                    };
                    board.apply(delivery, now);
                }
            }
        }
        if let Some(board) = board {
            self.moved(board.revision());
        }
    }

    /// Reviews the board at the servers' time.
    pub async fn tick(&self) {
        let now = self.now();
        let mut board = self.0.board.write().await;
        board.tick(now);
        self.moved(board.revision());
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
    /// batches, and reviews it as time passes.
    pub async fn keep(self, mut feeds: mpsc::Receiver<FeedMessage>) {
        let mut ticker = tokio::time::interval(TICK);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                message = feeds.recv() => {
                    let Some(message) = message else { return };
                    let mut batch = vec![message];
                    while batch.len() < BATCH {
                        match feeds.try_recv() {
                            Ok(message) => batch.push(message),
                            Err(_) => break,
                        }
                    }
                    self.take(batch).await;
                }
                _ = ticker.tick() => self.tick().await,
            }
        }
    }
}
