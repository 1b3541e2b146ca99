//! The board: an exact, current picture of every train, container and
//! parcel, built from what the two feeds deliver, and the risk of each
//! parcel missing its train.
//!
//! Pure state: [`Board::apply`] takes a delivery (a snapshot or events),
//! [`Board::tick`] moves time; neither does I/O. Events are applied
//! idempotently and a stale `seq` never undoes newer state, so the result
//! does not depend on redelivery or on how the two feeds interleave.
//! Counts per train and container move with each parcel that changes.

pub mod parcel;
pub mod tally;

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap};

use chrono::{DateTime, Duration, Utc};
use slab::Slab;

use crate::domain::event::{
    ContainerArrived, ContainerRebooked, StatusChanged, TrainUpdated, TransshipmentChanged,
};
use crate::domain::risk::{
    self, Assessment, CustomsPhase, Estimates, ParcelFacts, Reason, Risk, RiskPolicy, ShedOutlook,
    ShedState, Step,
};
use crate::domain::text::SafeText;
use crate::domain::{
    Container, CustomsChange, Declaration, Delivery, Event, Hold, RailwayChange, StageInputs,
    Train, TrainStatus, TransshipmentStatus, stage_path,
};
use parcel::{Happened, Interner, Moment, Parcel, Text};
use tally::{Bucket, Counted, Members, Tally};

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

/// The board.
#[derive(Debug)]
pub struct Board {
    settings: BoardSettings,
    policy: RiskPolicy,
    trains: Slab<TrainEntry>,
    train_keys: HashMap<Text, usize>,
    containers: Slab<ContainerEntry>,
    container_keys: HashMap<Text, usize>,
    parcels: Slab<Parcel>,
    parcel_keys: HashMap<Box<str>, usize>,
    /// Parcels customs puts on no train, and containers the railway books
    /// on none: no train's departure lets them go, their age does.
    unplaced_parcels: BTreeSet<usize>,
    unbooked_containers: BTreeSet<usize>,
    totals: Tally,
    flagged: BTreeSet<usize>,
    estimates: Estimates,
    /// Due reviews: (epoch milliseconds, parcel key). An entry counts only
    /// while its parcel's `queued_review` still names that instant.
    reviews: BinaryHeap<Reverse<(i64, usize)>>,
    last_full_review: Option<DateTime<Utc>>,
    /// Durations were learned since the last full review.
    learned_since_review: bool,
    strings: Interner,
    seeded_railway: bool,
    seeded_customs: bool,
    /// How far each feed has told (railway, customs): the latest event
    /// time or snapshot read.
    heard_until: [Option<DateTime<Utc>>; 2],
    revision: u64,
    retirements: u64,
    now: DateTime<Utc>,
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

impl Board {
    /// An empty board.
    pub fn new(settings: BoardSettings, now: DateTime<Utc>) -> Board {
        let estimates = Estimates::new(|step| settings.prior(step), settings.quantile);
        Board {
            policy: RiskPolicy {
                watch_margin: settings.watch_margin,
            },
            settings,
            trains: Slab::new(),
            train_keys: HashMap::new(),
            containers: Slab::new(),
            container_keys: HashMap::new(),
            parcels: Slab::new(),
            parcel_keys: HashMap::new(),
            unplaced_parcels: BTreeSet::new(),
            unbooked_containers: BTreeSet::new(),
            totals: Tally::default(),
            flagged: BTreeSet::new(),
            estimates,
            reviews: BinaryHeap::new(),
            last_full_review: None,
            learned_since_review: false,
            strings: Interner::default(),
            seeded_railway: false,
            seeded_customs: false,
            heard_until: [None, None],
            revision: 0,
            retirements: 0,
            now,
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
        self.settings.watch_margin
    }

    /// Counts for the whole board.
    pub fn totals(&self) -> &Tally {
        &self.totals
    }

    // ----- reading ---------------------------------------------------------

    /// Every train, known to the railway or not, by board key.
    pub fn trains(&self) -> impl Iterator<Item = (usize, &TrainEntry)> {
        self.trains.iter()
    }

    /// One train by key.
    pub fn train(&self, key: usize) -> Option<&TrainEntry> {
        self.trains.get(key)
    }

    /// One train by id.
    pub fn train_key(&self, train_id: &str) -> Option<usize> {
        self.train_keys.get(train_id).copied()
    }

    /// One container by key.
    pub fn container(&self, key: usize) -> Option<&ContainerEntry> {
        self.containers.get(key)
    }

    /// Every container by board key.
    pub fn containers(&self) -> impl Iterator<Item = (usize, &ContainerEntry)> {
        self.containers.iter()
    }

    /// One container by number.
    pub fn container_key(&self, container_no: &str) -> Option<usize> {
        self.container_keys.get(container_no).copied()
    }

    /// Every parcel by board key.
    pub fn parcels(&self) -> impl Iterator<Item = (usize, &Parcel)> {
        self.parcels.iter()
    }

    /// Number of parcels.
    pub fn parcel_count(&self) -> usize {
        self.parcels.len()
    }

    /// One parcel by key.
    pub fn parcel(&self, key: usize) -> Option<&Parcel> {
        self.parcels.get(key)
    }

    /// One parcel by inventory number.
    pub fn parcel_key(&self, declaration_no: &str) -> Option<usize> {
        self.parcel_keys.get(declaration_no).copied()
    }

    /// Parcels not on track, by key.
    pub fn flagged(&self) -> impl Iterator<Item = (usize, &Parcel)> {
        self.flagged.iter().map(|k| (*k, &self.parcels[*k]))
    }

    /// The train entry of a parcel.
    pub fn train_of(&self, parcel: &Parcel) -> Option<&TrainEntry> {
        parcel.train.and_then(|k| self.trains.get(k))
    }

    /// The container entry of a parcel.
    pub fn container_of(&self, parcel: &Parcel) -> Option<&ContainerEntry> {
        parcel.container.and_then(|k| self.containers.get(k))
    }

    /// When each of a parcel's four stages started and ended: customs
    /// stages from its own timeline, transshipment from its container.
    pub fn stage_times(&self, parcel: &Parcel) -> [parcel::Span; 4] {
        let mut spans = parcel.customs_spans();
        if let Some(shed) = self
            .container_of(parcel)
            .and_then(|c| c.container.as_ref())
            .map(|c| &c.transshipment)
        {
            spans[2] = parcel::Span::new(shed.queued_at.or(shed.started_at), shed.completed_at);
        }
        spans
    }

    /// Trains the railway knows, by expected departure.
    pub fn departures(&self) -> Vec<usize> {
        let mut keys: Vec<usize> = self
            .trains
            .iter()
            .filter(|(_, t)| t.train.is_some())
            .map(|(k, _)| k)
            .collect();
        keys.sort_by_key(|k| {
            (
                self.trains[*k].departure(),
                self.trains[*k].train_id.clone(),
            )
        });
        keys
    }

    // ----- applying deliveries ---------------------------------------------

    /// Applies a snapshot or a batch of events.
    pub fn apply(&mut self, delivery: Delivery, now: DateTime<Utc>) -> Applied {
        self.now = now;
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
                self.heard(0, now);
                let seed = !self.seeded_railway;
                self.seeded_railway = true;
                for train in trains {
                    self.upsert_train(train, seed, &mut applied);
                }
                self.refresh_shed(BTreeSet::new());
            }
            Delivery::CustomsSnapshot(declarations) => {
                self.heard(1, now);
                let seed = !self.seeded_customs;
                self.seeded_customs = true;
                if seed {
                    // The first snapshot brings nearly every parcel at once.
                    self.parcels.reserve(declarations.len());
                    self.parcel_keys.reserve(declarations.len());
                }
                for declaration in declarations {
                    let at = declaration.status.at;
                    if self.upsert_declaration(declaration, seed, at) {
                        applied.applied += 1;
                    } else {
                        applied.stale += 1;
                    }
                }
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

    fn intern(&mut self, text: &impl SafeText) -> Text {
        self.strings.get(text)
    }

    /// The key of a train, creating a placeholder if the railway has not
    /// told of it yet.
    fn train_entry(&mut self, train_id: &impl SafeText) -> usize {
        if let Some(key) = self.train_keys.get(train_id.safe()) {
            return *key;
        }
        let train_id = self.intern(train_id);
        let key = self.trains.insert(TrainEntry {
            train_id: train_id.clone(),
            train: None,
            containers: Members::default(),
            parcels: Members::default(),
            tally: Tally::default(),
            first_seen: self.now,
        });
        self.train_keys.insert(train_id, key);
        key
    }

    /// The key of a container, creating a placeholder if the railway has
    /// not told of it yet.
    fn container_entry(&mut self, container_no: &impl SafeText) -> usize {
        if let Some(key) = self.container_keys.get(container_no.safe()) {
            return *key;
        }
        let container_no = self.intern(container_no);
        let key = self.containers.insert(ContainerEntry {
            container_no: container_no.clone(),
            container: None,
            train: None,
            outlook: ShedOutlook::UnknownContainer,
            parcels: Members::default(),
            tally: Tally::default(),
            timeline: Vec::new(),
            train_slot: 0,
        });
        self.container_keys.insert(container_no, key);
        key
    }

    fn upsert_train(&mut self, mut train: Train, seed: bool, applied: &mut Applied) {
        let containers = std::mem::take(&mut train.containers);
        let key = self.train_entry(&train.train_id);
        let entry = &mut self.trains[key];
        if entry.train.as_ref().is_some_and(|t| t.seq >= train.seq) {
            applied.stale += 1;
        } else {
            let cutoffs_moved = entry.train.as_ref().map(|t| t.cutoffs) != Some(train.cutoffs);
            entry.train = Some(train);
            applied.applied += 1;
            if cutoffs_moved {
                self.reassess_train(key);
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
        if self.containers[key]
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
        let entry = &mut self.containers[key];
        if entry.container.is_none() {
            entry.record(
                container.arrived_at.unwrap_or(self.now),
                Happened::ContainerBooked {
                    train_id: container.train_id.as_ref().map(|t| self.strings.get(t)),
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
            self.estimates.observe(Step::Lift, done - start);
        }
        if let (Some(arrived), Some(queued)) = (arrived_at, shed.queued_at) {
            self.estimates.observe(Step::YardToQueue, queued - arrived);
        }
    }

    /// Books a container on a train (the railway's membership).
    fn move_container(&mut self, key: usize, train: Option<usize>) {
        if train.is_some() {
            self.unbooked_containers.remove(&key);
        } else {
            self.unbooked_containers.insert(key);
        }
        let entry = &self.containers[key];
        if entry.train == train {
            return;
        }
        if let Some(old) = entry.train {
            let slot = entry.train_slot;
            if let Some(moved) = self.trains[old].containers.remove(slot) {
                self.containers[moved].train_slot = slot;
            }
            self.forget_train_if_unused(old);
        }
        if let Some(new) = train {
            let slot = self.trains[new].containers.add(key);
            self.containers[key].train_slot = slot;
        }
        self.containers[key].train = train;
    }

    fn forget_train_if_unused(&mut self, key: usize) {
        let entry = &self.trains[key];
        if entry.train.is_none() && entry.containers.is_empty() && entry.parcels.is_empty() {
            let entry = self.trains.remove(key);
            self.train_keys.remove(&entry.train_id);
        }
    }

    fn forget_container_if_unused(&mut self, key: usize) {
        let entry = &self.containers[key];
        if entry.container.is_none() && entry.parcels.is_empty() {
            let entry = self.containers.remove(key);
            self.container_keys.remove(&entry.container_no);
            self.unbooked_containers.remove(&key);
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
                    self.containers[key].record(at, Happened::ContainerArrived);
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
                        let train_id = self.intern(&to_train_id);
                        self.containers[key].record(at, Happened::ContainerRebooked { train_id });
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
                    self.containers[key].record(at, Happened::Shed(status));
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
        let Some(key) = self.train_keys.get(train_id).copied() else {
            applied.orphans += 1;
            return;
        };
        let Some(train) = self.trains[key].train.as_mut() else {
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
        self.reassess_train(key);
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
        let Some(key) = self.container_keys.get(container_no).copied() else {
            applied.orphans += 1;
            return None;
        };
        let Some(container) = self.containers[key].container.as_mut() else {
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

    /// Takes a declaration unless the board holds a newer one; returns
    /// whether it did.
    fn upsert_declaration(&mut self, d: Declaration, seed: bool, at: DateTime<Utc>) -> bool {
        if let Some(key) = self.parcel_keys.get(d.declaration_no.as_str()).copied() {
            if self.parcels[key].seq >= d.seq {
                return false;
            }
            self.replace_declaration(key, d, at);
            return true;
        }
        if seed
            && let Some(i) = &d.inspection
            && let Some(done) = i.completed_at
        {
            self.estimates
                .observe(Step::Inspection, done - i.selected_at);
        }
        let particulars = parcel::particulars(&d, &mut self.strings);
        let place = self.declared_place(&d);
        let moments = parcel::moments_of(&d);
        let parcel = Parcel {
            declaration_no: d.declaration_no.clone(),
            train_id: None,
            container_no: None,
            status: d.status.code,
            status_at: d.status.at,
            status_note: d.status.note,
            inspection: d.inspection.map(Box::new),
            hold: d.hold.map(Box::new),
            seq: d.seq,
            particulars: Box::new(particulars),
            timeline: moments,
            path: crate::domain::StagePath::new([crate::domain::StageState::Unknown; 4]),
            assessment: Assessment {
                risk: Risk::OnTrack,
                slack: None,
                reason: Reason::None,
                review_at: None,
            },
            train: None,
            container: None,
            train_slot: 0,
            container_slot: 0,
            counted: None,
            queued_review: None,
        };
        let key = self.parcels.insert(parcel);
        self.parcel_keys
            .insert(d.declaration_no.as_str().into(), key);
        self.place_parcel(key, place.0, place.1);
        self.reassess(key);
        true
    }

    fn replace_declaration(&mut self, key: usize, d: Declaration, at: DateTime<Utc>) {
        let particulars = parcel::particulars(&d, &mut self.strings);
        let place = self.declared_place(&d);
        let p = &mut self.parcels[key];
        if p.status != d.status.code {
            p.record(at, Happened::Status(d.status.code.clone()));
        }
        p.status = d.status.code;
        p.status_at = d.status.at;
        p.status_note = d.status.note;
        p.inspection = d.inspection.map(Box::new);
        p.hold = d.hold.map(Box::new);
        p.seq = d.seq;
        *p.particulars = particulars;
        self.place_parcel(key, place.0, place.1);
        self.reassess(key);
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

    /// Puts a parcel on a train and in a container (board keys).
    fn place_parcel(&mut self, key: usize, train: Option<usize>, container: Option<usize>) {
        let (old_train, old_container) = {
            let p = &self.parcels[key];
            (p.train, p.container)
        };
        if old_train != train {
            if let Some(old) = old_train {
                let slot = self.parcels[key].train_slot;
                if let Some(moved) = self.trains[old].parcels.remove(slot) {
                    self.parcels[moved].train_slot = slot;
                }
            }
            if let Some(new) = train {
                self.parcels[key].train_slot = self.trains[new].parcels.add(key);
            }
        }
        if old_container != container {
            if let Some(old) = old_container {
                let slot = self.parcels[key].container_slot;
                if let Some(moved) = self.containers[old].parcels.remove(slot) {
                    self.parcels[moved].container_slot = slot;
                }
            }
            if let Some(new) = container {
                self.parcels[key].container_slot = self.containers[new].parcels.add(key);
            }
        }
        let train_text = train.map(|k| self.trains[k].train_id.clone());
        let container_text = container.map(|k| self.containers[k].container_no.clone());
        let p = &mut self.parcels[key];
        p.train = train;
        p.container = container;
        p.train_id = train_text;
        p.container_no = container_text;
        if train.is_some() {
            self.unplaced_parcels.remove(&key);
        } else {
            self.unplaced_parcels.insert(key);
        }
        // Uncount from the old places before they may be forgotten.
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
                let undated = declaration.filed_at.is_none().then(|| {
                    let number = declaration.declaration_no.as_str();
                    (!self.parcel_keys.contains_key(number)).then(|| number.to_owned())
                });
                if self.upsert_declaration(declaration, false, at) {
                    applied.applied += 1;
                    if let Some(Some(number)) = undated {
                        let key = self.parcel_keys[number.as_str()];
                        self.parcels[key].record(at, Happened::Filed);
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
            .and_then(|number| self.parcel_keys.get(number.as_str()).copied())
        else {
            applied.orphans += 1;
            return;
        };
        if self.parcels[key].seq >= seq {
            applied.stale += 1;
            return;
        }
        applied.applied += 1;
        let p = &mut self.parcels[key];
        p.seq = seq;
        match change {
            CustomsChange::StatusChanged(StatusChanged { status, .. }) => {
                let phase = self.parcels[key].customs_phase();
                self.learn_from_status(phase, &status.code, status.at);
                let p = &mut self.parcels[key];
                p.record(status.at, Happened::Status(status.code.clone()));
                p.status = status.code;
                p.status_at = status.at;
                p.status_note = status.note;
            }
            CustomsChange::DeclarationRebooked(r) => {
                let train_id = self.intern(&r.train_id);
                self.parcels[key].record(at, Happened::Rebooked { train_id });
                let train = self.train_entry(&r.train_id);
                let container = r
                    .container_no
                    .as_ref()
                    .map(|c| self.container_entry(c.text()));
                self.place_parcel(key, Some(train), container);
            }
            CustomsChange::InspectionSelected(c) => {
                p.record(at, Happened::InspectionSelected);
                p.inspection = Some(Box::new(c.inspection));
            }
            CustomsChange::InspectionStarted(c) => {
                p.record(at, Happened::InspectionStarted);
                p.inspection = Some(Box::new(c.inspection));
            }
            CustomsChange::InspectionCompleted(c) => {
                if let Some(done) = c.inspection.completed_at {
                    self.estimates
                        .observe(Step::Inspection, done - c.inspection.selected_at);
                }
                let p = &mut self.parcels[key];
                p.record(
                    at,
                    Happened::InspectionCompleted(c.inspection.status.clone()),
                );
                p.inspection = Some(Box::new(c.inspection));
            }
            CustomsChange::HoldPlaced(c) => {
                p.record(at, Happened::HoldPlaced(c.hold.reason_code.clone()));
                p.hold = Some(Box::new(c.hold));
            }
            CustomsChange::HoldUpdated(c) => {
                let by = c.by.as_ref().map(|b| self.strings.get(b));
                let p = &mut self.parcels[key];
                p.record(
                    at,
                    Happened::HoldUpdated {
                        by,
                        version: c.hold.version,
                    },
                );
                p.hold = Some(Box::new(c.hold));
            }
            CustomsChange::HoldLifted(l) => {
                if let Some(hold) = &p.hold {
                    let placed = hold.placed_at;
                    self.estimates.observe(Step::Hold, at - placed);
                }
                let p = &mut self.parcels[key];
                p.record(at, Happened::HoldLifted(l.outcome));
                p.hold = None;
            }
            CustomsChange::DeclarationFiled(_) | CustomsChange::Unknown { .. } => {
                unreachable!("handled above")
            }
        }
        self.reassess(key);
    }

    /// Takes the hold as customs answered an officer's action, so that it
    /// shows before the feed tells it (the feed's own event, of the same
    /// version or a later one, is applied as usual). Only a newer version
    /// of a hold still open is taken.
    pub fn hold_answered(&mut self, declaration_no: &str, hold: &Hold, now: DateTime<Utc>) {
        let Some(key) = self.parcel_keys.get(declaration_no).copied() else {
            return;
        };
        let p = &mut self.parcels[key];
        match &p.hold {
            Some(current) if current.version < hold.version => {
                p.hold = Some(Box::new(hold.clone()));
                self.now = self.now.max(now);
                self.reassess(key);
            }
            _ => {}
        }
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
            self.estimates.observe(step, at - since);
        }
    }

    // ----- judging -----------------------------------------------------------

    /// Recomputes a parcel's path and verdict, moves its counts, and
    /// schedules its next review.
    fn reassess(&mut self, key: usize) {
        self.revision += 1;
        let now = self.now;
        let p = &self.parcels[key];
        let container = p.container.and_then(|k| self.containers.get(k));
        let shed_status = container.and_then(ContainerEntry::shed_status);
        let path = stage_path(StageInputs {
            status: &p.status,
            inspection: p.inspection.as_ref().map(|i| &i.status),
            hold_open: p.hold.is_some(),
            transshipment: shed_status,
        });
        let cutoffs = match p.train.and_then(|k| self.trains.get(k)) {
            Some(TrainEntry {
                train: Some(train), ..
            }) => Ok(train.cutoffs),
            Some(_) => Err(true),
            None => Err(false),
        };
        let facts = ParcelFacts {
            path,
            customs: p.customs_phase(),
            status: &p.status,
            hold: p.hold.as_ref().map(|h| &h.reason_code),
            cutoffs,
            shed: container.map_or(ShedOutlook::UnknownContainer, |c| c.outlook),
        };
        let assessment = risk::assess(&facts, &self.estimates, &self.policy, now);
        let p = &mut self.parcels[key];
        p.path = path;
        p.assessment = assessment;
        // One entry per parcel: a later review than the one queued waits
        // for that one (an early look is harmless: it judges again and
        // queues the next); an earlier one replaces it.
        if let Some(at) = assessment.review_at.map(|at| at.timestamp_millis())
            && p.queued_review.is_none_or(|queued| at < queued)
        {
            p.queued_review = Some(at);
            self.reviews.push(Reverse((at, key)));
        }
        self.count(key);
    }

    fn reassess_train(&mut self, key: usize) {
        let members: Vec<usize> = self.trains[key].parcels.keys().to_vec();
        for parcel in members {
            self.reassess(parcel);
        }
    }

    fn reassess_container(&mut self, key: usize) {
        let members: Vec<usize> = self.containers[key].parcels.keys().to_vec();
        for parcel in members {
            self.reassess(parcel);
        }
    }

    /// Moves a parcel's counts to where it belongs now.
    fn count(&mut self, key: usize) {
        let p = &self.parcels[key];
        let now = Counted {
            train: p.train,
            container: p.container,
            bucket: Bucket::of(&p.path),
            risk: p.assessment.risk,
        };
        let before = p.counted;
        if before == Some(now) {
            return;
        }
        if let Some(old) = before {
            self.uncount(old);
        }
        self.totals.add(now.bucket, now.risk);
        if let Some(t) = now.train {
            self.trains[t].tally.add(now.bucket, now.risk);
        }
        if let Some(c) = now.container {
            self.containers[c].tally.add(now.bucket, now.risk);
        }
        if now.risk.is_flagged() {
            self.flagged.insert(key);
        } else {
            self.flagged.remove(&key);
        }
        self.parcels[key].counted = Some(now);
    }

    fn uncount(&mut self, old: Counted) {
        self.totals.remove(old.bucket, old.risk);
        if let Some(t) = old.train.and_then(|t| self.trains.get_mut(t)) {
            t.tally.remove(old.bucket, old.risk);
        }
        if let Some(c) = old.container.and_then(|c| self.containers.get_mut(c)) {
            c.tally.remove(old.bucket, old.risk);
        }
    }

    /// Projects the shed and reassesses the parcels of every container
    /// whose outlook moved.
    /// Projects the shed anew and judges again the parcels of containers
    /// whose outlook moved, or whose shed state `changed`, once each.
    fn refresh_shed(&mut self, mut changed: BTreeSet<usize>) {
        let now = self.now;
        let keys: Vec<usize> = self
            .containers
            .iter()
            .filter(|(_, c)| c.container.is_some())
            .filter(|(_, c)| {
                let active = c.train.is_none_or(|t| !self.trains[t].is_gone());
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
                    self.containers[*k].container.as_ref().expect("filtered"),
                    now,
                )
            })
            .collect();
        let observed = states
            .iter()
            .filter(|s| matches!(s, ShedState::Lifting { .. }))
            .count() as u32;
        let cranes = self.settings.cranes.max(observed);
        let outlooks = risk::project_shed(&states, cranes, &self.estimates, now);
        let threshold = self.settings.watch_margin / 10;
        for (key, outlook) in keys.into_iter().zip(outlooks) {
            let old = std::mem::replace(&mut self.containers[key].outlook, outlook);
            if changed.remove(&key) || outlook_moved(old, outlook, threshold) {
                self.reassess_container(key);
            }
        }
        // Changed containers outside the projection (their train gone).
        for key in changed {
            if self.containers.contains(key) {
                self.reassess_container(key);
            }
        }
    }

    // ----- time --------------------------------------------------------------

    /// Brings the board to `now`: projects the shed, reviews the parcels
    /// whose verdict may have changed with time, takes in what was learned
    /// (at most once a minute for all parcels), and lets departed trains go.
    pub fn tick(&mut self, now: DateTime<Utc>) {
        self.now = now;
        self.refresh_shed(BTreeSet::new());
        // What is learned between full reviews waits for the next one.
        self.learned_since_review |= self.estimates.refresh();
        let full_due = self
            .last_full_review
            .is_none_or(|last| now - last >= Duration::minutes(1));
        if self.learned_since_review && full_due {
            self.learned_since_review = false;
            self.last_full_review = Some(now);
            let keys: Vec<usize> = self
                .parcels
                .iter()
                .filter(|(_, p)| !p.path.is_ready())
                .map(|(k, _)| k)
                .collect();
            for key in keys {
                self.reassess(key);
            }
        }
        let due = now.timestamp_millis();
        while let Some(Reverse((at, key))) = self.reviews.peek().copied() {
            if at > due {
                break;
            }
            self.reviews.pop();
            if let Some(p) = self.parcels.get_mut(key)
                && p.queued_review == Some(at)
            {
                p.queued_review = None;
                self.reassess(key);
            }
        }
        self.retire_departed();
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
        let keep = self.settings.keep_departed;
        let old: Vec<usize> = self
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
        let unplaced: BTreeSet<usize> = self
            .unplaced_parcels
            .iter()
            .copied()
            .filter(|k| forgotten(self.parcels[*k].last_heard()))
            .collect();
        let unbooked: Vec<usize> = self
            .unbooked_containers
            .iter()
            .copied()
            .filter(|k| {
                let c = &self.containers[*k];
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
            for parcel in self.trains[key].parcels.keys().to_vec() {
                self.remove_parcel(parcel);
            }
            for container in self.trains[key].containers.keys().to_vec() {
                self.remove_container(container);
            }
            let entry = self.trains.remove(key);
            self.train_keys.remove(&entry.train_id);
        }
        for key in unplaced {
            if self.parcels.contains(key) {
                self.remove_parcel(key);
            }
        }
        for key in unbooked {
            if self.containers.contains(key) {
                self.remove_container(key);
            }
        }
        self.strings.sweep();
    }

    fn remove_parcel(&mut self, key: usize) {
        self.place_parcel(key, None, None);
        if let Some(counted) = self.parcels[key].counted.take() {
            self.uncount(counted);
        }
        self.flagged.remove(&key);
        self.unplaced_parcels.remove(&key);
        let parcel = self.parcels.remove(key);
        self.parcel_keys.remove(parcel.declaration_no.as_str());
    }

    fn remove_container(&mut self, key: usize) {
        // Parcels of other trains still in it lose their container.
        for parcel in self.containers[key].parcels.keys().to_vec() {
            let train = self.parcels[parcel].train;
            self.place_parcel(parcel, train, None);
            self.reassess(parcel);
        }
        self.move_container(key, None);
        self.unbooked_containers.remove(&key);
        let entry = self.containers.remove(key);
        self.container_keys.remove(&entry.container_no);
    }

    // ----- checks --------------------------------------------------------------

    /// Takes in everything learned and judges every parcel again.
    pub fn review_all(&mut self, now: DateTime<Utc>) {
        self.now = now;
        self.estimates.refresh();
        self.refresh_shed(BTreeSet::new());
        let keys: Vec<usize> = self.parcels.iter().map(|(k, _)| k).collect();
        for key in keys {
            self.reassess(key);
        }
    }

    /// A canonical digest of the state the feeds gave and of the verdicts:
    /// equal boards have equal digests. Parcels of departed or cancelled
    /// trains are left out, as a fresh customs snapshot no longer lists
    /// them.
    pub fn digest(&self) -> BoardDigest {
        let mut trains: Vec<String> = self
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
            self.parcels
                .iter()
                .filter(|(_, p)| self.train_of(p).is_none_or(|t| !t.is_gone()))
                .map(|(_, p)| p)
        };
        let mut parcels: Vec<String> = listed()
            .map(|p| {
                format!(
                    "{} {:?} {:?} {} {} {:?} {:?}",
                    p.declaration_no,
                    p.train_id,
                    p.container_no,
                    p.status,
                    p.status_at,
                    p.inspection,
                    p.hold,
                )
            })
            .collect();
        parcels.sort();
        let mut verdicts: Vec<String> = listed()
            .map(|p| {
                format!(
                    "{} seq={} {:?} {:?}",
                    p.declaration_no, p.seq, p.assessment.risk, p.assessment.slack
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
        let mut trains: HashMap<usize, Tally> = HashMap::new();
        let mut containers: HashMap<usize, Tally> = HashMap::new();
        for (_, p) in &self.parcels {
            let bucket = Bucket::of(&p.path);
            let risk = p.assessment.risk;
            totals.add(bucket, risk);
            if let Some(t) = p.train {
                trains.entry(t).or_default().add(bucket, risk);
            }
            if let Some(c) = p.container {
                containers.entry(c).or_default().add(bucket, risk);
            }
        }
        if totals != self.totals {
            return Err(format!("totals {:?} kept as {:?}", totals, self.totals));
        }
        for (key, t) in &self.trains {
            let counted = trains.remove(&key).unwrap_or_default();
            if counted != t.tally {
                return Err(format!(
                    "train {}: {counted:?} kept as {:?}",
                    t.train_id, t.tally
                ));
            }
        }
        for (key, c) in &self.containers {
            let counted = containers.remove(&key).unwrap_or_default();
            if counted != c.tally {
                return Err(format!(
                    "container {}: {counted:?} kept as {:?}",
                    c.container_no, c.tally
                ));
            }
        }
        let flagged: BTreeSet<usize> = self
            .parcels
            .iter()
            .filter(|(_, p)| p.assessment.risk.is_flagged())
            .map(|(k, _)| k)
            .collect();
        if flagged != self.flagged {
            return Err("the flagged set differs from the verdicts".to_owned());
        }
        Ok(())
    }
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
