//! The board: an exact, current picture of every train, container and
//! parcel, built from what the two feeds deliver, and the risk of each
//! parcel missing its train.
//!
//! Split by what each part owns: the [`store`] keeps (compactly: a million
//! parcels in a few hundred bytes each), the [`judge`] decides what to
//! judge when and knows what was learned, the tallies count; this module
//! applies deliveries and moves time. Pure state: [`Board::apply`] takes a
//! delivery, [`Board::tick`] moves time; neither does I/O. Events are
//! applied idempotently and a stale `seq` never undoes newer state, so the
//! result does not depend on redelivery or on how the two feeds
//! interleave. A program that must stay responsive hands deliveries to
//! [`Board::receive`] and lets [`Board::work`] take them, and any large
//! judging they cause, in slices of a time budget.

pub mod judge;
pub mod parcel;
pub mod query;
pub mod store;
pub mod tally;

use std::collections::{BTreeSet, VecDeque};
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};

use crate::domain::event::{
    ContainerArrived, ContainerRebooked, StatusChanged, TrainUpdated, TransshipmentChanged,
};
use crate::domain::risk::{
    self, Assessment, CustomsPhase, ParcelFacts, Risk, ShedOutlook, ShedState, Step,
};
use crate::domain::text::SafeText;
use crate::domain::{
    Container, CustomsChange, Declaration, Delivery, Event, Hold, RailwayChange, StageInputs,
    Train, TrainStatus, TransshipmentStatus, stage_path,
};
pub use judge::BoardSettings;
use judge::Judge;
use parcel::{Happened, Moment, Parcel, Text};
pub use store::ParcelKey;
use store::{KeySet, MarkKind, NONE, PackedPath, Particulars, Row, Stamp, Store};
use tally::{Bucket, Members, Tally};

/// A train on the board.
#[derive(Debug, Clone)]
pub struct TrainEntry {
    /// The id, as the feeds write it.
    pub train_id: Text,
    /// The railway's record; `None` while only customs names the train.
    pub train: Option<Train>,
    /// Containers the railway books on it.
    pub containers: Members,
    /// Parcels customs manifests on it.
    pub parcels: Members,
    /// Its parcels by stage and risk.
    pub tally: Tally,
    /// When the board first heard of it.
    first_seen: DateTime<Utc>,
}

impl TrainEntry {
    /// Departure as now expected (actual, estimated or scheduled).
    pub fn departure(&self) -> Option<DateTime<Utc>> {
        self.train.as_ref().map(Train::expected_departure)
    }

    /// Departed or cancelled.
    pub fn is_gone(&self) -> bool {
        self.train
            .as_ref()
            .is_some_and(|t| matches!(t.status, TrainStatus::Departed | TrainStatus::Cancelled))
    }
}

/// A container on the board.
#[derive(Debug, Clone)]
pub struct ContainerEntry {
    /// The number, as the feeds write it.
    pub container_no: Text,
    /// The railway's record; `None` while only customs names it.
    pub container: Option<Container>,
    /// Board key of the train the railway books it on.
    pub train: Option<usize>,
    /// Where the shed projection puts it.
    pub outlook: ShedOutlook,
    /// Parcels customs says are in it.
    pub parcels: Members,
    /// Its parcels by stage and risk.
    pub tally: Tally,
    /// What happened to it, oldest first.
    pub timeline: Vec<Moment>,
    train_slot: u32,
}

impl ContainerEntry {
    /// Adds a moment to its timeline (in time order, bounded).
    fn record(&mut self, at: DateTime<Utc>, what: Happened) {
        parcel::record(&mut self.timeline, at, what);
    }

    /// When the feeds last told of it.
    fn last_heard(&self) -> Option<DateTime<Utc>> {
        self.timeline.last().map(|m| m.at)
    }

    /// The shed status, when the railway knows the container.
    pub fn shed_status(&self) -> Option<&TransshipmentStatus> {
        self.container.as_ref().map(|c| &c.transshipment.status)
    }
}

/// What one delivery did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Applied {
    /// Events or snapshot objects that changed the board.
    pub applied: u32,
    /// Events already applied, or older than what the board holds.
    pub stale: u32,
    /// Events of a type this version does not know (skipped).
    pub unknown_types: u32,
    /// Events about an object the board does not know (skipped).
    pub orphans: u32,
}

/// Declarations of a snapshot taken per slice of work.
const SNAPSHOT_SLICE: usize = 512;

/// Parcels judged between two looks at the clock while working.
const JUDGED_PER_LOOK: usize = 256;

/// Deliveries the board takes before it asks the feeds to wait.
const INTAKE_LIMIT: usize = 64;

/// A delivery waiting to be applied (a customs snapshot is applied a
/// slice at a time).
#[derive(Debug)]
enum Intake {
    Delivery(Delivery),
    CustomsSnapshot {
        declarations: std::vec::IntoIter<Declaration>,
        seed: bool,
    },
}

/// A change to a shed projection worth reassessing parcels for.
fn outlook_moved(old: ShedOutlook, new: ShedOutlook, threshold: Duration) -> bool {
    use ShedOutlook::*;
    match (old, new) {
        (
            Queued {
                ahead: a,
                done_at: x,
            },
            Queued {
                ahead: b,
                done_at: y,
            },
        ) => a != b || (x - y).abs() >= threshold,
        (Lifting { done_at: x }, Lifting { done_at: y })
        | (InYard { done_at: x }, InYard { done_at: y })
        | (EnRoute { done_at: x, .. }, EnRoute { done_at: y, .. }) => (x - y).abs() >= threshold,
        (a, b) => a != b,
    }
}

fn shed_state(container: &Container, now: DateTime<Utc>) -> ShedState {
    let t = &container.transshipment;
    match t.status {
        TransshipmentStatus::Done => ShedState::Done,
        TransshipmentStatus::Blocked => ShedState::Blocked,
        TransshipmentStatus::InProgress => ShedState::Lifting {
            started_at: t.started_at.unwrap_or(now),
        },
        TransshipmentStatus::Queued => ShedState::Queued {
            queued_at: t.queued_at.unwrap_or(now),
        },
        TransshipmentStatus::Pending => match container.arrived_at {
            Some(arrived_at) => ShedState::InYard { arrived_at },
            None => ShedState::EnRoute { eta: container.eta },
        },
        TransshipmentStatus::Unknown(_) => ShedState::Unknown,
    }
}

/// The board.
#[derive(Debug)]
pub struct Board {
    store: Store,
    judge: Judge,
    totals: Tally,
    /// Parcels not on track.
    flagged: KeySet,
    /// Flagged parcels stopped by a hold or a detention code.
    held: KeySet,
    intake: VecDeque<Intake>,
    seeded_railway: bool,
    seeded_customs: bool,
    /// How far each feed has told (railway, customs): the latest event
    /// time, snapshot read, or server time it was caught up at.
    heard_until: [Option<DateTime<Utc>>; 2],
    revision: u64,
    retirements: u64,
    now: DateTime<Utc>,
    /// The second of the last tick's start.
    ticked: Option<i64>,
}

impl Board {
    /// An empty board.
    pub fn new(settings: BoardSettings, now: DateTime<Utc>) -> Board {
        Board {
            store: Store::default(),
            judge: Judge::new(settings),
            totals: Tally::default(),
            flagged: KeySet::default(),
            held: KeySet::default(),
            intake: VecDeque::new(),
            seeded_railway: false,
            seeded_customs: false,
            heard_until: [None, None],
            revision: 0,
            retirements: 0,
            now,
            ticked: None,
        }
    }

    /// Grows whenever anything on the board changes (facts or verdicts):
    /// views derived from the board need recomputing only when it moved.
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// Grows whenever trains (with their containers and parcels) leave
    /// the board: keys held by views may then name nothing, or something
    /// else once reused, and must be recomputed at once.
    pub fn retirements(&self) -> u64 {
        self.retirements
    }

    fn heard(&mut self, feed: usize, until: DateTime<Utc>) {
        let heard = &mut self.heard_until[feed];
        *heard = Some(heard.map_or(until, |h| h.max(until)));
    }

    /// The time both feeds have told up to: what has left is only let go
    /// once neither feed can still be behind on it.
    fn horizon(&self) -> Option<DateTime<Utc>> {
        match self.heard_until {
            [Some(a), Some(b)] => Some(a.min(b).min(self.now)),
            _ => None,
        }
    }

    /// The instant the board was last brought to.
    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    /// Less slack than this is `watch`.
    pub fn watch_margin(&self) -> Duration {
        self.judge.settings.watch_margin
    }

    /// Counts for the whole board.
    pub fn totals(&self) -> &Tally {
        &self.totals
    }

    // ----- reading ---------------------------------------------------------

    /// Every train, known to the railway or not, by board key.
    pub fn trains(&self) -> impl Iterator<Item = (usize, &TrainEntry)> {
        self.store.trains.iter()
    }

    /// One train by key.
    pub fn train(&self, key: usize) -> Option<&TrainEntry> {
        self.store.trains.get(key)
    }

    /// One train by id.
    pub fn train_key(&self, train_id: &str) -> Option<usize> {
        self.store.train_keys.get(train_id).copied()
    }

    /// One container by key.
    pub fn container(&self, key: usize) -> Option<&ContainerEntry> {
        self.store.containers.get(key)
    }

    /// Every container by board key.
    pub fn containers(&self) -> impl Iterator<Item = (usize, &ContainerEntry)> {
        self.store.containers.iter()
    }

    /// One container by number.
    pub fn container_key(&self, container_no: &str) -> Option<usize> {
        self.store.container_keys.get(container_no).copied()
    }

    /// Every parcel.
    pub fn parcels(&self) -> impl Iterator<Item = Parcel<'_>> {
        self.store.rows().map(|(k, _)| Parcel::new(self, k))
    }

    /// Number of parcels.
    pub fn parcel_count(&self) -> usize {
        self.store.len()
    }

    /// One parcel by key.
    pub fn parcel(&self, key: ParcelKey) -> Option<Parcel<'_>> {
        self.store.contains(key).then(|| Parcel::new(self, key))
    }

    /// One parcel by inventory number.
    pub fn parcel_key(&self, declaration_no: &str) -> Option<ParcelKey> {
        self.store
            .find_number(declaration_no)
            .and_then(|n| self.store.key(n))
    }

    /// Parcels not on track.
    pub fn flagged(&self) -> impl Iterator<Item = Parcel<'_>> {
        self.flagged.iter().map(|k| Parcel::new(self, k))
    }

    /// Parcels not on track that a hold or a detention code stops, by key.
    pub fn held(&self) -> impl Iterator<Item = Parcel<'_>> {
        self.held.iter().map(|k| Parcel::new(self, k))
    }

    /// Trains the railway knows, by expected departure.
    pub fn departures(&self) -> Vec<usize> {
        let mut keys: Vec<usize> = self
            .store
            .trains
            .iter()
            .filter(|(_, t)| t.train.is_some())
            .map(|(k, _)| k)
            .collect();
        keys.sort_by_key(|k| {
            let t = &self.store.trains[*k];
            (t.departure(), t.train_id.clone())
        });
        keys
    }

    /// Bytes the parcels take, by part, and the judge's queues.
    pub fn memory(&self) -> Vec<(&'static str, usize)> {
        let mut parts = self.store.bytes().to_vec();
        parts.push(("review queues", self.judge.bytes()));
        parts
    }

    // ----- applying deliveries ---------------------------------------------

    /// Applies a snapshot or a batch of events at `now`, and everything it
    /// causes to be judged, at once.
    pub fn apply(&mut self, delivery: Delivery, now: DateTime<Utc>) -> Applied {
        self.now = now;
        let applied = self.ingest(delivery);
        self.work_until(None, false);
        applied
    }

    /// Takes a delivery to be applied by [`Board::work`] (a large snapshot
    /// in parts), after those received before it.
    pub fn receive(&mut self, delivery: Delivery) {
        match delivery {
            Delivery::CustomsSnapshot(declarations) => {
                let seed = !self.seeded_customs;
                self.seeded_customs = true;
                if seed {
                    // The first snapshot brings nearly every parcel at once.
                    self.store.reserve(declarations.len());
                }
                self.intake.push_back(Intake::CustomsSnapshot {
                    declarations: declarations.into_iter(),
                    seed,
                });
            }
            other => self.intake.push_back(Intake::Delivery(other)),
        }
    }

    /// Brings the board to `now` within a time `budget`: applies what was
    /// received, judges what is due or waiting, and lets go of what has
    /// left. Whether work remains (call again soon).
    pub fn work(&mut self, now: DateTime<Utc>, budget: std::time::Duration) -> bool {
        self.now = now;
        // The budget counts the shed's projection too, done anew once a
        // second however often the loop comes to work.
        let deadline = Instant::now() + budget;
        if self.ticked != Some(now.timestamp()) {
            self.start_tick();
        }
        self.work_until(Some(deadline), true)
    }

    /// Whether received deliveries or judging wait.
    pub fn has_work(&self) -> bool {
        !self.intake.is_empty() || self.judge.backlog() > 0 || self.judge.is_sweeping()
    }

    /// Whether the board has received as much as it should before working
    /// through it (the feeds wait meanwhile).
    pub fn is_busy(&self) -> bool {
        self.intake.len() >= INTAKE_LIMIT
    }

    fn ingest(&mut self, delivery: Delivery) -> Applied {
        let mut applied = Applied::default();
        match delivery {
            // Nothing on the board changes: only how far time may count.
            Delivery::RailwayCaughtUp(at) => {
                self.heard(0, at);
                return applied;
            }
            Delivery::CustomsCaughtUp(at) => {
                self.heard(1, at);
                return applied;
            }
            _ => self.revision += 1,
        }
        match delivery {
            Delivery::RailwayCaughtUp(_) | Delivery::CustomsCaughtUp(_) => {}
            Delivery::RailwaySnapshot(trains) => {
                self.heard(0, self.now);
                let seed = !self.seeded_railway;
                self.seeded_railway = true;
                for train in trains {
                    self.upsert_train(train, seed, &mut applied);
                }
                self.refresh_shed(BTreeSet::new());
            }
            Delivery::CustomsSnapshot(declarations) => {
                let seed = !self.seeded_customs;
                self.seeded_customs = true;
                if seed {
                    // The first snapshot brings nearly every parcel at once.
                    self.store.reserve(declarations.len());
                }
                self.ingest_declarations(declarations, seed, &mut applied);
            }
            Delivery::RailwayEvents(events) => {
                if let Some(last) = events.iter().map(|e| e.at).max() {
                    self.heard(0, last);
                }
                // Containers whose shed state an event changed: judged again
                // once, after the shed is projected anew.
                let mut shed_changed = BTreeSet::new();
                for event in events {
                    self.apply_railway(event, &mut applied, &mut shed_changed);
                }
                self.refresh_shed(shed_changed);
            }
            Delivery::CustomsEvents(events) => {
                if let Some(last) = events.iter().map(|e| e.at).max() {
                    self.heard(1, last);
                }
                for event in events {
                    self.apply_customs(event, &mut applied);
                }
            }
        }
        applied
    }

    fn ingest_declarations(
        &mut self,
        declarations: Vec<Declaration>,
        seed: bool,
        applied: &mut Applied,
    ) {
        self.heard(1, self.now);
        for declaration in declarations {
            let at = declaration.status.at;
            if self.upsert_declaration(declaration, seed, at) {
                applied.applied += 1;
            } else {
                applied.stale += 1;
            }
        }
    }

    /// The key of a train, creating a placeholder if the railway has not
    /// told of it yet.
    fn train_entry(&mut self, train_id: &impl SafeText) -> usize {
        if let Some(key) = self.store.train_keys.get(train_id.safe()) {
            return *key;
        }
        let train_id = self.store.words.shared(train_id);
        let key = self.store.trains.insert(TrainEntry {
            train_id: train_id.clone(),
            train: None,
            containers: Members::default(),
            parcels: Members::default(),
            tally: Tally::default(),
            first_seen: self.now,
        });
        self.store.train_keys.insert(train_id, key);
        key
    }

    /// The key of a container, creating a placeholder if the railway has
    /// not told of it yet.
    fn container_entry(&mut self, container_no: &impl SafeText) -> usize {
        if let Some(key) = self.store.container_keys.get(container_no.safe()) {
            return *key;
        }
        let container_no = self.store.words.shared(container_no);
        let key = self.store.containers.insert(ContainerEntry {
            container_no: container_no.clone(),
            container: None,
            train: None,
            outlook: ShedOutlook::UnknownContainer,
            parcels: Members::default(),
            tally: Tally::default(),
            timeline: Vec::new(),
            train_slot: 0,
        });
        self.store.container_keys.insert(container_no, key);
        key
    }

    fn upsert_train(&mut self, mut train: Train, seed: bool, applied: &mut Applied) {
        let containers = std::mem::take(&mut train.containers);
        let key = self.train_entry(&train.train_id);
        let entry = &mut self.store.trains[key];
        if entry.train.as_ref().is_some_and(|t| t.seq >= train.seq) {
            applied.stale += 1;
        } else {
            let cutoffs_moved = entry.train.as_ref().map(|t| t.cutoffs) != Some(train.cutoffs);
            entry.train = Some(train);
            applied.applied += 1;
            if cutoffs_moved {
                self.defer_train(key);
            }
        }
        for container in containers {
            if self.upsert_container(container, seed) {
                applied.applied += 1;
            } else {
                applied.stale += 1;
            }
        }
    }

    /// Takes a container record unless the board holds a newer one.
    fn upsert_container(&mut self, container: Container, seed: bool) -> bool {
        let key = self.container_entry(container.container_no.text());
        if self.store.containers[key]
            .container
            .as_ref()
            .is_some_and(|c| c.seq >= container.seq)
        {
            return false;
        }
        if seed {
            self.learn_from_shed(&container.transshipment, container.arrived_at);
        }
        let train = container.train_id.as_ref().map(|id| self.train_entry(id));
        let booked_on = container
            .train_id
            .as_ref()
            .map(|t| self.store.words.shared(t));
        let now = self.now;
        let entry = &mut self.store.containers[key];
        if entry.container.is_none() {
            entry.record(
                container.arrived_at.unwrap_or(now),
                Happened::ContainerBooked {
                    train_id: booked_on,
                },
            );
        }
        entry.container = Some(container);
        self.move_container(key, train);
        true
    }

    /// Observes shed durations shown by a container record.
    fn learn_from_shed(
        &mut self,
        shed: &crate::domain::Transshipment,
        arrived_at: Option<DateTime<Utc>>,
    ) {
        if let (Some(start), Some(done)) = (shed.started_at, shed.completed_at) {
            self.judge.observe(Step::Lift, done - start);
        }
        if let (Some(arrived), Some(queued)) = (arrived_at, shed.queued_at) {
            self.judge.observe(Step::YardToQueue, queued - arrived);
        }
    }

    /// Books a container on a train (the railway's membership).
    fn move_container(&mut self, key: usize, train: Option<usize>) {
        if train.is_some() {
            self.store.unbooked.remove(&key);
        } else {
            self.store.unbooked.insert(key);
        }
        let entry = &self.store.containers[key];
        if entry.train == train {
            return;
        }
        if let Some(old) = entry.train {
            let slot = entry.train_slot;
            if let Some(moved) = self.store.trains[old].containers.remove(slot) {
                self.store.containers[moved as usize].train_slot = slot;
            }
            self.forget_train_if_unused(old);
        }
        if let Some(new) = train {
            let slot = self.store.trains[new].containers.add(key as u32);
            self.store.containers[key].train_slot = slot;
        }
        self.store.containers[key].train = train;
    }

    fn forget_train_if_unused(&mut self, key: usize) {
        let entry = &self.store.trains[key];
        if entry.train.is_none() && entry.containers.is_empty() && entry.parcels.is_empty() {
            let entry = self.store.trains.remove(key);
            self.store.train_keys.remove(&entry.train_id);
        }
    }

    fn forget_container_if_unused(&mut self, key: usize) {
        let entry = &self.store.containers[key];
        if entry.container.is_none() && entry.parcels.is_empty() {
            let entry = self.store.containers.remove(key);
            self.store.container_keys.remove(&entry.container_no);
            self.store.unbooked.remove(&key);
        }
    }

    fn apply_railway(
        &mut self,
        event: Event<RailwayChange>,
        applied: &mut Applied,
        shed_changed: &mut BTreeSet<usize>,
    ) {
        let seq = event.seq;
        let at = event.at;
        match event.change {
            RailwayChange::TrainScheduled(scheduled) => {
                let mut train = *scheduled.train;
                train.seq = train.seq.max(seq);
                self.upsert_train(train, false, applied);
            }
            RailwayChange::TrainUpdated(update) => {
                self.update_train(&update.train_id.clone(), seq, applied, |train| {
                    let TrainUpdated {
                        status,
                        estimated_departure,
                        cutoffs,
                        ..
                    } = update;
                    if let Some(status) = status {
                        train.status = status;
                    }
                    if let Some(estimate) = estimated_departure {
                        train.estimated_departure = estimate;
                    }
                    if let Some(cutoffs) = cutoffs {
                        train.cutoffs = cutoffs;
                    }
                });
            }
            RailwayChange::TrainDeparted(departed) => {
                self.update_train(&departed.train_id, seq, applied, |train| {
                    train.status = TrainStatus::Departed;
                    train.actual_departure = Some(departed.actual_departure);
                });
            }
            RailwayChange::TrainCancelled(cancelled) => {
                self.update_train(&cancelled.train_id, seq, applied, |train| {
                    train.status = TrainStatus::Cancelled;
                });
            }
            RailwayChange::ContainerBooked(booked) => {
                let mut container = *booked.container;
                container.seq = container.seq.max(seq);
                if self.upsert_container(container, false) {
                    applied.applied += 1;
                } else {
                    applied.stale += 1;
                }
            }
            RailwayChange::ContainerArrived(ContainerArrived {
                container_no,
                train_id,
                arrived_at,
            }) => {
                let train = train_id.as_ref().map(|id| self.train_entry(id));
                if let Some(key) = self.update_container(container_no.as_str(), seq, applied, |c| {
                    c.arrived_at = Some(arrived_at);
                    c.eta = None;
                    if let Some(id) = &train_id {
                        c.train_id = Some(id.clone());
                    }
                }) {
                    if train.is_some() {
                        self.move_container(key, train);
                    }
                    self.store.containers[key].record(at, Happened::ContainerArrived);
                }
                if let Some(train) = train {
                    self.forget_train_if_unused(train);
                }
            }
            RailwayChange::ContainerRebooked(ContainerRebooked {
                container_no,
                to_train_id,
                ..
            }) => {
                let train = self.train_entry(&to_train_id);
                let moved = self.update_container(container_no.as_str(), seq, applied, |c| {
                    c.train_id = Some(to_train_id.clone());
                });
                match moved {
                    Some(key) => {
                        self.move_container(key, Some(train));
                        let train_id = self.store.words.shared(&to_train_id);
                        self.store.containers[key]
                            .record(at, Happened::ContainerRebooked { train_id });
                    }
                    None => self.forget_train_if_unused(train),
                }
            }
            RailwayChange::TransshipmentQueued(change)
            | RailwayChange::TransshipmentStarted(change)
            | RailwayChange::TransshipmentCompleted(change)
            | RailwayChange::TransshipmentBlocked(change)
            | RailwayChange::TransshipmentUnblocked(change) => {
                let TransshipmentChanged {
                    container_no,
                    transshipment,
                } = change;
                let status = transshipment.status.clone();
                let mut learned = None;
                if let Some(key) = self.update_container(container_no.as_str(), seq, applied, |c| {
                    learned = Some((transshipment.clone(), c.arrived_at));
                    c.transshipment = transshipment;
                }) {
                    self.store.containers[key].record(at, Happened::Shed(status));
                    if let Some((shed, arrived)) = learned {
                        self.learn_from_shed(&shed, arrived);
                    }
                    shed_changed.insert(key);
                }
            }
            RailwayChange::Unknown { .. } => applied.unknown_types += 1,
        }
    }

    fn update_train(
        &mut self,
        train_id: &str,
        seq: u64,
        applied: &mut Applied,
        change: impl FnOnce(&mut Train),
    ) {
        let Some(key) = self.store.train_keys.get(train_id).copied() else {
            applied.orphans += 1;
            return;
        };
        let Some(train) = self.store.trains[key].train.as_mut() else {
            applied.orphans += 1;
            return;
        };
        if train.seq >= seq {
            applied.stale += 1;
            return;
        }
        change(train);
        train.seq = seq;
        applied.applied += 1;
        // Cut-offs and departure change every verdict on the train.
        self.defer_train(key);
    }

    /// Applies a change to a container the railway knows, unless stale;
    /// returns its key when applied.
    fn update_container(
        &mut self,
        container_no: &str,
        seq: u64,
        applied: &mut Applied,
        change: impl FnOnce(&mut Container),
    ) -> Option<usize> {
        let Some(key) = self.store.container_keys.get(container_no).copied() else {
            applied.orphans += 1;
            return None;
        };
        let Some(container) = self.store.containers[key].container.as_mut() else {
            applied.orphans += 1;
            return None;
        };
        if container.seq >= seq {
            applied.stale += 1;
            return None;
        }
        change(container);
        container.seq = seq;
        applied.applied += 1;
        Some(key)
    }

    /// The board keys of the train and container a declaration names
    /// (placeholders until the railway tells of them).
    fn declared_place(&mut self, d: &Declaration) -> (Option<usize>, Option<usize>) {
        let train = d.train_id.as_ref().map(|id| self.train_entry(id));
        let container = d
            .container_no
            .as_ref()
            .map(|c| self.container_entry(c.text()));
        (train, container)
    }

    /// Takes a declaration unless the board holds a newer one; returns
    /// whether it did.
    fn upsert_declaration(&mut self, d: Declaration, seed: bool, at: DateTime<Utc>) -> bool {
        let number = self.store.number(&d.declaration_no);
        if let Some(key) = self.store.key(number) {
            if self.store.row(key).seq >= d.seq {
                return false;
            }
            self.replace_declaration(key, d, at);
            return true;
        }
        if seed
            && let Some(i) = &d.inspection
            && let Some(done) = i.completed_at
        {
            self.judge.observe(Step::Inspection, done - i.selected_at);
        }
        let place = self.declared_place(&d);
        let details = self.store.details.write(&Particulars::of(&d));
        let status = self.store.codes.id(&d.status.code);
        let key = self.store.insert(Row {
            number,
            seq: d.seq,
            status_at: Stamp::of(d.status.at),
            review_at: Stamp::NONE,
            train: NONE,
            container: NONE,
            train_slot: 0,
            container_slot: 0,
            details,
            history: NONE,
            hold: NONE,
            inspection: NONE,
            status,
            slack: i32::MIN,
            path: PackedPath::default(),
            risk: 0,
            counted: 0,
        });
        self.store.set_note(key, d.status.note);
        self.store.set_inspection(key, d.inspection);
        self.store.set_hold(key, d.hold);
        self.place_parcel(key, place.0, place.1);
        self.reassess(key);
        true
    }

    fn replace_declaration(&mut self, key: ParcelKey, d: Declaration, at: DateTime<Utc>) {
        let place = self.declared_place(&d);
        let details = self.store.details.write(&Particulars::of(&d));
        let status = self.store.codes.id(&d.status.code);
        let row = *self.store.row(key);
        self.store.details.release(row.details);
        if row.status != status {
            self.mark_status(key, at, status);
        }
        let row = self.store.row_mut(key);
        row.details = details;
        row.status = status;
        row.status_at = Stamp::of(d.status.at);
        row.seq = d.seq;
        self.store.set_note(key, d.status.note);
        self.store.set_inspection(key, d.inspection);
        self.store.set_hold(key, d.hold);
        self.place_parcel(key, place.0, place.1);
        self.reassess(key);
    }

    /// Adds a moment to a parcel's history.
    fn mark(&mut self, key: ParcelKey, at: DateTime<Utc>, kind: MarkKind, value: u32) {
        let head = self.store.row(key).history;
        let head = self.store.history.push(head, at, kind, value);
        self.store.row_mut(key).history = head;
    }

    /// Adds a new status to a parcel's history, after the one it replaces
    /// (which its row alone held until now).
    fn mark_status(&mut self, key: ParcelKey, at: DateTime<Utc>, status: u32) {
        let row = *self.store.row(key);
        let told = self
            .store
            .history
            .iter(row.history)
            .any(|(_, kind, value)| kind == MarkKind::Status && value == row.status);
        if !told {
            self.mark(key, row.status_at.at(), MarkKind::Status, row.status);
        }
        self.mark(key, at, MarkKind::Status, status);
    }

    /// Puts a parcel on a train and in a container (board keys).
    fn place_parcel(&mut self, key: ParcelKey, train: Option<usize>, container: Option<usize>) {
        let row = *self.store.row(key);
        let (old_train, old_container) = (key_of(row.train), key_of(row.container));
        if train.is_some() {
            self.store.unplaced.remove(key);
        } else {
            self.store.unplaced.insert(key);
        }
        if old_train == train && old_container == container {
            return;
        }
        // Uncount from the old places before they may be forgotten.
        self.uncount(key);
        if old_train != train {
            if let Some(old) = old_train
                && let Some(moved) = self.store.trains[old].parcels.remove(row.train_slot)
            {
                self.store.row_mut(moved).train_slot = row.train_slot;
            }
            let slot = train.map_or(0, |new| self.store.trains[new].parcels.add(key));
            self.store.row_mut(key).train_slot = slot;
        }
        if old_container != container {
            if let Some(old) = old_container
                && let Some(moved) = self.store.containers[old]
                    .parcels
                    .remove(row.container_slot)
            {
                self.store.row_mut(moved).container_slot = row.container_slot;
            }
            let slot = container.map_or(0, |new| self.store.containers[new].parcels.add(key));
            self.store.row_mut(key).container_slot = slot;
        }
        let row = self.store.row_mut(key);
        row.train = train.map_or(NONE, |k| k as u32);
        row.container = container.map_or(NONE, |k| k as u32);
        self.count(key);
        if let Some(old) = old_train.filter(|o| Some(*o) != train) {
            self.forget_train_if_unused(old);
        }
        if let Some(old) = old_container.filter(|o| Some(*o) != container) {
            self.forget_container_if_unused(old);
        }
    }

    fn apply_customs(&mut self, event: Event<CustomsChange>, applied: &mut Applied) {
        let seq = event.seq;
        let at = event.at;
        let change = match event.change {
            CustomsChange::DeclarationFiled(filed) => {
                let mut declaration = *filed.declaration;
                declaration.seq = declaration.seq.max(seq);
                // A declaration without its filing time is dated by the
                // event (one with it already has it in its timeline).
                let undated = declaration.filed_at.is_none()
                    && self
                        .parcel_key(declaration.declaration_no.as_str())
                        .is_none();
                let number = declaration.declaration_no.clone();
                if self.upsert_declaration(declaration, false, at) {
                    applied.applied += 1;
                    if undated && let Some(key) = self.parcel_key(number.as_str()) {
                        self.mark(key, at, MarkKind::Filed, 0);
                    }
                } else {
                    applied.stale += 1;
                }
                return;
            }
            CustomsChange::Unknown { .. } => {
                applied.unknown_types += 1;
                return;
            }
            other => other,
        };
        let Some(key) = change
            .declaration_no()
            .and_then(|number| self.parcel_key(number.as_str()))
        else {
            applied.orphans += 1;
            return;
        };
        if self.store.row(key).seq >= seq {
            applied.stale += 1;
            return;
        }
        applied.applied += 1;
        self.store.row_mut(key).seq = seq;
        match change {
            CustomsChange::StatusChanged(StatusChanged { status, .. }) => {
                let phase = Parcel::new(self, key).customs_phase();
                self.learn_from_status(phase, &status.code, status.at);
                let code = self.store.codes.id(&status.code);
                self.mark_status(key, status.at, code);
                let row = self.store.row_mut(key);
                row.status = code;
                row.status_at = Stamp::of(status.at);
                self.store.set_note(key, status.note);
            }
            CustomsChange::DeclarationRebooked(r) => {
                let word = self.store.words.id(&r.train_id);
                self.mark(key, at, MarkKind::Rebooked, word);
                let train = self.train_entry(&r.train_id);
                let container = r
                    .container_no
                    .as_ref()
                    .map(|c| self.container_entry(c.text()));
                self.place_parcel(key, Some(train), container);
            }
            CustomsChange::InspectionSelected(c) => {
                self.mark(key, at, MarkKind::InspectionSelected, 0);
                self.store.set_inspection(key, Some(c.inspection));
            }
            CustomsChange::InspectionStarted(c) => {
                self.mark(key, at, MarkKind::InspectionStarted, 0);
                self.store.set_inspection(key, Some(c.inspection));
            }
            CustomsChange::InspectionCompleted(c) => {
                if let Some(done) = c.inspection.completed_at {
                    self.judge
                        .observe(Step::Inspection, done - c.inspection.selected_at);
                }
                let word = self
                    .store
                    .words
                    .id(&crate::domain::FeedText::new(c.inspection.status.as_str()));
                self.mark(key, at, MarkKind::InspectionCompleted, word);
                self.store.set_inspection(key, Some(c.inspection));
            }
            CustomsChange::HoldPlaced(c) => {
                let word = self
                    .store
                    .words
                    .id(&crate::domain::FeedText::new(c.hold.reason_code.as_str()));
                self.mark(key, at, MarkKind::HoldPlaced, word);
                self.store.set_hold(key, Some(c.hold));
            }
            CustomsChange::HoldUpdated(c) => {
                let by =
                    c.by.as_ref()
                        .map_or(store::MARK_NOBODY, |b| self.store.words.id(b));
                self.mark(key, at, MarkKind::HoldUpdated, by);
                self.store.set_hold(key, Some(c.hold));
            }
            CustomsChange::HoldLifted(l) => {
                if let Some(hold) = self.store.hold(key) {
                    let placed = hold.placed_at;
                    self.judge.observe(Step::Hold, at - placed);
                }
                let word = self
                    .store
                    .words
                    .id(&crate::domain::FeedText::new(l.outcome.as_str()));
                self.mark(key, at, MarkKind::HoldLifted, word);
                self.store.set_hold(key, None);
            }
            CustomsChange::DeclarationFiled(_) | CustomsChange::Unknown { .. } => {
                unreachable!("handled above")
            }
        }
        self.reassess(key);
    }

    /// Observes how long the phase a parcel leaves took.
    fn learn_from_status(
        &mut self,
        left: CustomsPhase,
        code: &crate::domain::ReceiptStatus,
        at: DateTime<Utc>,
    ) {
        use crate::domain::ReceiptStatus as S;
        let step = match (left, code) {
            (CustomsPhase::Filing { since }, S::Accepted) => Some((Step::Declaration, since)),
            (CustomsPhase::Review { since, .. }, S::ReviewConcluded) => Some((Step::Review, since)),
            (CustomsPhase::AwaitingRelease { since }, S::Released) => Some((Step::Release, since)),
            _ => None,
        };
        if let Some((step, since)) = step {
            self.judge.observe(step, at - since);
        }
    }

    /// Takes the hold as customs answered an officer's action, so that it
    /// shows before the feed tells it (the feed's own event, of the same
    /// version or a later one, is applied as usual). Only a newer version
    /// of a hold still open is taken.
    pub fn hold_answered(&mut self, declaration_no: &str, hold: &Hold, now: DateTime<Utc>) {
        let Some(key) = self.parcel_key(declaration_no) else {
            return;
        };
        if self
            .store
            .hold(key)
            .is_some_and(|current| current.version < hold.version)
        {
            self.store.set_hold(key, Some(hold.clone()));
            self.now = self.now.max(now);
            self.reassess(key);
        }
    }

    // ----- judging -----------------------------------------------------------

    /// The facts the rules read about a parcel, and its path.
    fn facts(&self, key: ParcelKey) -> ParcelFacts<'_> {
        let p = Parcel::new(self, key);
        let container = p.container();
        let path = stage_path(StageInputs {
            status: p.status(),
            inspection: p.inspection().map(|i| &i.status),
            hold_open: p.hold().is_some(),
            transshipment: container.and_then(ContainerEntry::shed_status),
        });
        let cutoffs = match p.train() {
            Some(TrainEntry {
                train: Some(train), ..
            }) => Ok(train.cutoffs),
            Some(_) => Err(true),
            None => Err(false),
        };
        ParcelFacts {
            path,
            customs: p.customs_phase(),
            status: p.status(),
            hold: p.hold().map(|h| &h.reason_code),
            cutoffs,
            shed: container.map_or(ShedOutlook::UnknownContainer, |c| c.outlook),
        }
    }

    /// The verdict on a parcel from the facts at the board's clock (what
    /// its reason says now).
    fn judge_now(&self, key: ParcelKey) -> Assessment {
        risk::assess(
            &self.facts(key),
            &self.judge.estimates,
            &self.judge.policy,
            self.now,
        )
    }

    /// Judges a parcel again, moves its counts, and queues its next
    /// review.
    fn reassess(&mut self, key: ParcelKey) {
        self.revision += 1;
        let (path, assessment) = {
            let facts = self.facts(key);
            let assessment =
                risk::assess(&facts, &self.judge.estimates, &self.judge.policy, self.now);
            (facts.path, assessment)
        };
        let row = self.store.row_mut(key);
        row.path = PackedPath::of(path);
        row.risk = assessment.risk as u8;
        row.slack = assessment.slack.map_or(i32::MIN, |s| {
            s.num_seconds()
                .clamp(i64::from(i32::MIN + 1), i64::from(i32::MAX)) as i32
        });
        // One entry per parcel: a later review than the one queued waits
        // for that one (an early look is harmless: it judges again and
        // queues the next); an earlier one replaces it.
        if let Some(at) = assessment.review_at
            && (row.review_at == Stamp::NONE || Stamp::of(at) < row.review_at)
        {
            let queued = self.judge.queue_review(key, at);
            self.store.row_mut(key).review_at = queued;
        }
        self.count(key);
    }

    /// Queues every parcel of a train to be judged again.
    fn defer_train(&mut self, key: usize) {
        for parcel in self.store.trains[key].parcels.keys() {
            self.judge.defer(*parcel);
        }
    }

    /// Queues every parcel of a container to be judged again.
    fn defer_container(&mut self, key: usize) {
        for parcel in self.store.containers[key].parcels.keys() {
            self.judge.defer(*parcel);
        }
    }

    /// The bucket and risk a row is counted in, if counted.
    fn counted(row: &Row) -> Option<(Bucket, Risk)> {
        (row.counted & 0x80 != 0).then(|| {
            (
                Bucket::ALL[usize::from(row.counted & 7)],
                Risk::ALL[usize::from((row.counted >> 3) & 7)],
            )
        })
    }

    /// Moves a parcel's counts to where it belongs now.
    fn count(&mut self, key: ParcelKey) {
        let row = *self.store.row(key);
        let bucket = Bucket::of(&row.path.path());
        let risk = Risk::ALL[usize::from(row.risk)];
        if risk.is_flagged() {
            self.flagged.insert(key);
        } else {
            self.flagged.remove(key);
        }
        // Held as the holds list has it: stopped by a hold or a detention
        // code, and not (yet) on its way.
        let stopped = row.hold != NONE || self.store.codes.code(row.status).is_detained();
        if risk.is_flagged() && stopped {
            self.held.insert(key);
        } else {
            self.held.remove(key);
        }
        if Self::counted(&row) == Some((bucket, risk)) {
            return;
        }
        self.uncount(key);
        self.totals.add(bucket, risk);
        if let Some(t) = key_of(row.train) {
            self.store.trains[t].tally.add(bucket, risk);
        }
        if let Some(c) = key_of(row.container) {
            self.store.containers[c].tally.add(bucket, risk);
        }
        self.store.row_mut(key).counted = 0x80 | (bucket as u8) | ((risk as u8) << 3);
    }

    /// Takes a parcel out of the counts of its train and container.
    fn uncount(&mut self, key: ParcelKey) {
        let row = *self.store.row(key);
        let Some((bucket, risk)) = Self::counted(&row) else {
            return;
        };
        self.totals.remove(bucket, risk);
        if let Some(t) = key_of(row.train).and_then(|t| self.store.trains.get_mut(t)) {
            t.tally.remove(bucket, risk);
        }
        if let Some(c) = key_of(row.container).and_then(|c| self.store.containers.get_mut(c)) {
            c.tally.remove(bucket, risk);
        }
        self.store.row_mut(key).counted = 0;
    }

    /// Projects the shed anew and queues the parcels of containers whose
    /// outlook moved, or whose shed state `changed`, to be judged again.
    fn refresh_shed(&mut self, mut changed: BTreeSet<usize>) {
        let now = self.now;
        let keys: Vec<usize> = self
            .store
            .containers
            .iter()
            .filter(|(_, c)| c.container.is_some())
            .filter(|(_, c)| {
                let active = c.train.is_none_or(|t| !self.store.trains[t].is_gone());
                let in_shed = matches!(
                    c.shed_status(),
                    Some(TransshipmentStatus::Queued | TransshipmentStatus::InProgress)
                );
                active || in_shed
            })
            .map(|(k, _)| k)
            .collect();
        let states: Vec<ShedState> = keys
            .iter()
            .map(|k| {
                shed_state(
                    self.store.containers[*k]
                        .container
                        .as_ref()
                        .expect("filtered"),
                    now,
                )
            })
            .collect();
        let observed = states
            .iter()
            .filter(|s| matches!(s, ShedState::Lifting { .. }))
            .count() as u32;
        let cranes = self.judge.settings.cranes.max(observed);
        let outlooks = risk::project_shed(&states, cranes, &self.judge.estimates, now);
        let threshold = self.judge.settings.watch_margin / 10;
        for (key, outlook) in keys.into_iter().zip(outlooks) {
            let old = std::mem::replace(&mut self.store.containers[key].outlook, outlook);
            if changed.remove(&key) || outlook_moved(old, outlook, threshold) {
                self.defer_container(key);
            }
        }
        // Changed containers outside the projection (their train gone).
        for key in changed {
            if self.store.containers.contains(key) {
                self.defer_container(key);
            }
        }
    }

    // ----- time --------------------------------------------------------------

    /// Brings the board to `now` and finishes everything there is to do:
    /// projects the shed, judges the parcels whose verdict time may have
    /// changed (every unfinished one, at most every
    /// [`judge::FULL_REVIEW_EVERY`], when the durations learned moved),
    /// applies what was received, and lets departed trains go.
    pub fn tick(&mut self, now: DateTime<Utc>) {
        self.now = now;
        self.start_tick();
        self.work_until(None, true);
    }

    /// The start of a tick: the shed projected anew, and a sweep of every
    /// parcel started when a full review is due.
    fn start_tick(&mut self) {
        self.ticked = Some(self.now.timestamp());
        self.refresh_shed(BTreeSet::new());
        if self.judge.full_review_due(self.now) {
            self.judge.start_sweep();
        }
    }

    /// The next parcel to judge again: the backlog first, then the sweep
    /// of every unfinished parcel under way.
    fn next_to_judge(&mut self) -> Option<ParcelKey> {
        if let Some(key) = self.judge.next_deferred() {
            return Some(key);
        }
        while let Some(slot) = self.judge.next_swept(self.store.slots()) {
            if self.store.contains(slot) && !self.store.row(slot).path.path().is_ready() {
                return Some(slot);
            }
        }
        None
    }

    /// Works until `deadline` (none: until done): what was received, what
    /// waits to be judged, and (with `time`) the reviews due, letting go of
    /// what has left once all is done. Whether work remains.
    fn work_until(&mut self, deadline: Option<Instant>, time: bool) -> bool {
        let late = |deadline: Option<Instant>| deadline.is_some_and(|d| Instant::now() >= d);
        while let Some(item) = self.intake.front_mut() {
            match item {
                Intake::CustomsSnapshot { declarations, seed } => {
                    let seed = *seed;
                    let slice: Vec<Declaration> =
                        declarations.by_ref().take(SNAPSHOT_SLICE).collect();
                    if declarations.len() == 0 {
                        self.intake.pop_front();
                    }
                    self.revision += 1;
                    self.ingest_declarations(slice, seed, &mut Applied::default());
                }
                Intake::Delivery(_) => {
                    if let Some(Intake::Delivery(delivery)) = self.intake.pop_front() {
                        self.ingest(delivery);
                    }
                }
            }
            if late(deadline) {
                return true;
            }
        }
        loop {
            for _ in 0..JUDGED_PER_LOOK {
                let next = match self.next_to_judge() {
                    Some(key) => Some(key),
                    None if time => self.next_due(),
                    None => None,
                };
                let Some(key) = next else {
                    if time {
                        self.retire_departed();
                    }
                    return self.has_work();
                };
                if self.store.contains(key) {
                    self.reassess(key);
                }
            }
            if late(deadline) {
                return true;
            }
        }
    }

    /// The next parcel whose review is due (skipping entries its row no
    /// longer names).
    fn next_due(&mut self) -> Option<ParcelKey> {
        while let Some((key, at)) = self.judge.next_due(self.now) {
            if self.store.contains(key) && self.store.row(key).review_at == at {
                self.store.row_mut(key).review_at = Stamp::NONE;
                return Some(key);
            }
        }
        None
    }

    /// Removes trains that left (or were cancelled, or whose departure is
    /// long past) more than `keep_departed` ago, with their containers and
    /// parcels; trains only customs ever named, once they have gone
    /// unconfirmed by the railway for four times that; and parcels on no
    /// train and containers booked on none, once the feeds have said
    /// nothing of them for four times that. Time counts only as far as
    /// both feeds have told (a quiet feed tells it is caught up), so a
    /// feed that lags never brings back what the board let go.
    fn retire_departed(&mut self) {
        let Some(horizon) = self.horizon() else {
            return;
        };
        let keep = self.judge.settings.keep_departed;
        let old: Vec<usize> = self
            .store
            .trains
            .iter()
            .filter(|(_, t)| match t.departure() {
                Some(departure) => {
                    let grace = if t.is_gone() { keep } else { keep * 2 };
                    horizon - departure > grace
                }
                None => horizon - t.first_seen > keep * 4,
            })
            .map(|(k, _)| k)
            .collect();
        let forgotten = |heard: DateTime<Utc>| horizon - heard > keep * 4;
        let unplaced: BTreeSet<ParcelKey> = self
            .store
            .unplaced
            .iter()
            .filter(|k| forgotten(Parcel::new(self, *k).last_heard()))
            .collect();
        let unbooked: Vec<usize> = self
            .store
            .unbooked
            .iter()
            .copied()
            .filter(|k| {
                let c = &self.store.containers[*k];
                c.last_heard().is_none_or(forgotten)
                    && c.parcels.keys().iter().all(|p| unplaced.contains(p))
            })
            .collect();
        if old.is_empty() && unplaced.is_empty() && unbooked.is_empty() {
            return;
        }
        self.revision += 1;
        self.retirements += 1;
        for key in old {
            self.remove_train(key);
        }
        for key in unplaced {
            if self.store.contains(key) {
                self.remove_parcel(key);
            }
        }
        for key in unbooked {
            if self.store.containers.contains(key) {
                self.remove_container(key);
            }
        }
    }

    /// Removes a train with its parcels and containers. A train the
    /// railway never told of is forgotten with its last parcel or
    /// container already ([`Board::forget_train_if_unused`]).
    fn remove_train(&mut self, key: usize) {
        for parcel in self.store.trains[key].parcels.keys().to_vec() {
            self.remove_parcel(parcel);
        }
        let containers = self
            .store
            .trains
            .get(key)
            .map(|t| t.containers.keys().to_vec())
            .unwrap_or_default();
        for container in containers {
            self.remove_container(container as usize);
        }
        if let Some(entry) = self.store.trains.try_remove(key) {
            self.store.train_keys.remove(&entry.train_id);
        }
    }

    fn remove_parcel(&mut self, key: ParcelKey) {
        self.place_parcel(key, None, None);
        self.uncount(key);
        self.flagged.remove(key);
        self.held.remove(key);
        self.store.unplaced.remove(key);
        self.store.remove(key);
    }

    fn remove_container(&mut self, key: usize) {
        // Parcels of other trains still in it lose their container.
        for parcel in self.store.containers[key].parcels.keys().to_vec() {
            let train = key_of(self.store.row(parcel).train);
            self.place_parcel(parcel, train, None);
            self.reassess(parcel);
        }
        self.move_container(key, None);
        self.store.unbooked.remove(&key);
        let entry = self.store.containers.remove(key);
        self.store.container_keys.remove(&entry.container_no);
    }

    // ----- checks --------------------------------------------------------------

    /// Takes in everything learned and judges every parcel again.
    pub fn review_all(&mut self, now: DateTime<Utc>) {
        self.now = now;
        self.judge.estimates.refresh();
        self.refresh_shed(BTreeSet::new());
        let keys: Vec<ParcelKey> = self.store.rows().map(|(k, _)| k).collect();
        for key in keys {
            self.reassess(key);
        }
        self.work_until(None, false);
    }

    /// A canonical digest of the state the feeds gave and of the verdicts:
    /// equal boards have equal digests. Parcels of departed or cancelled
    /// trains are left out, as a fresh customs snapshot no longer lists
    /// them.
    pub fn digest(&self) -> BoardDigest {
        let mut trains: Vec<String> = self
            .store
            .trains
            .iter()
            .filter_map(|(_, t)| t.train.as_ref())
            .map(|t| {
                format!(
                    "{} {} {:?} {:?} {:?} {:?} seq={}",
                    t.train_id,
                    t.status,
                    t.estimated_departure,
                    t.actual_departure,
                    t.cutoffs.transshipment,
                    t.cutoffs.customs_release,
                    t.seq
                )
            })
            .collect();
        trains.sort();
        let mut containers: Vec<String> = self
            .store
            .containers
            .iter()
            .filter_map(|(_, c)| c.container.as_ref())
            .map(|c| {
                format!(
                    "{} {:?} {:?} {:?} seq={}",
                    c.container_no, c.train_id, c.arrived_at, c.transshipment, c.seq
                )
            })
            .collect();
        containers.sort();
        let listed = || {
            self.parcels()
                .filter(|p| p.train().is_none_or(|t| !t.is_gone()))
        };
        let mut parcels: Vec<String> = listed()
            .map(|p| {
                format!(
                    "{} {:?} {:?} {} {} {:?} {:?}",
                    p.declaration_no(),
                    p.train_id(),
                    p.container_no(),
                    p.status(),
                    p.status_at(),
                    p.inspection(),
                    p.hold(),
                )
            })
            .collect();
        parcels.sort();
        let mut verdicts: Vec<String> = listed()
            .map(|p| {
                format!(
                    "{} seq={} {:?} {:?}",
                    p.declaration_no(),
                    p.seq(),
                    p.risk(),
                    p.slack()
                )
            })
            .collect();
        verdicts.sort();
        BoardDigest {
            trains,
            containers,
            parcels,
            verdicts,
        }
    }

    /// Recounts every tally from scratch and compares with the kept ones.
    pub fn check_tallies(&self) -> Result<(), String> {
        let mut totals = Tally::default();
        let mut trains: std::collections::HashMap<usize, Tally> = Default::default();
        let mut containers: std::collections::HashMap<usize, Tally> = Default::default();
        for p in self.parcels() {
            let bucket = Bucket::of(&p.path());
            let risk = p.risk();
            totals.add(bucket, risk);
            if let Some(t) = p.train_key() {
                trains.entry(t).or_default().add(bucket, risk);
            }
            if let Some(c) = p.container_key() {
                containers.entry(c).or_default().add(bucket, risk);
            }
        }
        if totals != self.totals {
            return Err(format!("totals {:?} kept as {:?}", totals, self.totals));
        }
        for (key, t) in &self.store.trains {
            let counted = trains.remove(&key).unwrap_or_default();
            if counted != t.tally {
                return Err(format!(
                    "train {}: {counted:?} kept as {:?}",
                    t.train_id, t.tally
                ));
            }
        }
        for (key, c) in &self.store.containers {
            let counted = containers.remove(&key).unwrap_or_default();
            if counted != c.tally {
                return Err(format!(
                    "container {}: {counted:?} kept as {:?}",
                    c.container_no, c.tally
                ));
            }
        }
        let mut flagged = KeySet::default();
        let mut held = KeySet::default();
        for p in self.parcels() {
            if p.risk().is_flagged() {
                flagged.insert(p.key());
            }
            if p.risk().is_flagged() && p.is_held() {
                held.insert(p.key());
            }
        }
        if !flagged.iter().eq(self.flagged.iter()) || !held.iter().eq(self.held.iter()) {
            return Err("the flagged or held set differs from the verdicts".to_owned());
        }
        Ok(())
    }
}

/// A board key kept as `u32`, or none.
fn key_of(key: u32) -> Option<usize> {
    (key != NONE).then_some(key as usize)
}

/// The board's state as sorted text lines, for comparing boards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoardDigest {
    /// One line per train the railway knows.
    pub trains: Vec<String>,
    /// One line per container the railway knows.
    pub containers: Vec<String>,
    /// One line per parcel: what the feeds said of it.
    pub parcels: Vec<String>,
    /// One line per parcel: the last `seq` applied and the verdict, which
    /// rests on what the board has learned as well.
    pub verdicts: Vec<String>,
}
