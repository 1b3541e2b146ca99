//! The simulated world: a seeded discrete-event scenario of trains,
//! containers, the transshipment shed and customs, and the two event feeds it
//! writes.
//!
//! Every change happens at a time on the agenda and is processed in time
//! order, so the world at an instant does not depend on how often it is
//! advanced: the same seed and the same clock give the same data. Each
//! change mutates the state, takes the next `seq` of its feed and, once the
//! feeds are open (after the warm-up that fills the board), is retained as
//! an event. The simulator only changes what its events say, so a client
//! that follows the events ends where a fresh snapshot starts.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap, VecDeque};

use chrono::{DateTime, Datelike, Duration, TimeZone, Utc};
use fastrand::Rng;

use super::actions::IdempotencyStore;
use super::catalog;
use super::config::{Faults, SimConfig};
use super::feed::FeedLog;
use super::paging;
use super::parcels::SimParcel;
use crate::domain::event::{
    ContainerArrived, ContainerBooked, ContainerRebooked, TrainCancelled, TrainDeparted,
    TrainScheduled, TrainUpdated, TransshipmentChanged,
};
use crate::domain::time::{self, BEIJING, KAZAKHSTAN, OffsetStyle};
use crate::domain::{
    Container, ContainerNo, CustomsChange, Cutoffs, Event, FeedText, RailwayChange,
    StandardWagonNo, Station, StationCode, Train, TrainStatus, Transshipment, TransshipmentStatus,
    WagonNo,
};

/// Something scheduled to happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Happening {
    Announce(i64),
    Parcel { serial: u64, generation: u32 },
    Arrive(u32),
    Enqueue(u32),
    LiftDone(u32),
    RebookContainer(u32),
    TrainDelay(i64),
    TrainCancel(i64),
    Cutoff(i64),
    Depart(i64),
    Retire(i64),
    ColleagueClaim(u64),
    ColleagueNote(u64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Scheduled {
    at: DateTime<Utc>,
    order: u64,
    what: Happening,
}

/// A train of the timetable, by its index `k` (departure `k` intervals
/// after the Unix epoch).
#[derive(Debug)]
pub(super) struct SimTrain {
    pub train_id: FeedText,
    pub train_no: FeedText,
    pub scheduled: DateTime<Utc>,
    pub estimated: Option<DateTime<Utc>>,
    pub actual: Option<DateTime<Utc>>,
    pub status: TrainStatus,
    pub cutoffs: Cutoffs,
    pub containers_planned: u32,
    pub containers: Vec<u32>,
    pub seq: u64,
    rng: Rng,
}

impl SimTrain {
    fn expected_departure(&self) -> DateTime<Utc> {
        self.actual.or(self.estimated).unwrap_or(self.scheduled)
    }

    /// Departed or cancelled: its parcels no longer count on it.
    pub fn is_gone(&self) -> bool {
        matches!(self.status, TrainStatus::Departed | TrainStatus::Cancelled)
    }
}

/// A container, by its id.
#[derive(Debug)]
pub(super) struct SimContainer {
    pub container_no: String,
    pub train: i64,
    pub position: u32,
    pub seal_no: String,
    pub arrived_at: Option<DateTime<Utc>>,
    pub eta: Option<DateTime<Utc>>,
    pub transshipment: Transshipment,
    /// Through the yard: in the queue unless blocked.
    ready_to_queue: bool,
    pub parcels: Vec<u64>,
    pub seq: u64,
    rng: Rng,
}

/// Counts of what the world holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct WorldStats {
    /// Trains in memory (announced, not retired).
    pub trains: usize,
    /// Containers in memory.
    pub containers: usize,
    /// Parcels in memory, filed or not.
    pub parcels: usize,
    /// Parcels filed with customs on trains not yet gone.
    pub parcels_on_board: usize,
    /// Open holds.
    pub open_holds: usize,
    /// Events the railway feed retains.
    pub railway_events: usize,
    /// Events the customs feed retains.
    pub customs_events: usize,
}

/// How the simulated upstream systems write JSON: Alashankou and customs
/// both write Beijing time unless `mixed_offsets` is on; with
/// `unknown_codes` on, objects carry fields the contract does not name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct JsonStyle {
    /// Times alternate between `+08:00` and `+05:00`.
    mixed_offsets: bool,
    /// Objects carry a field the contract does not name.
    unknown_fields: bool,
}

impl JsonStyle {
    fn offsets(self) -> OffsetStyle {
        if self.mixed_offsets {
            OffsetStyle::Alternate(BEIJING, KAZAKHSTAN)
        } else {
            OffsetStyle::Fixed(BEIJING)
        }
    }
}

/// The whole simulated world.
pub struct World {
    pub(super) cfg: SimConfig,
    pub(super) now: DateTime<Utc>,
    open: bool,
    agenda: BinaryHeap<Reverse<Scheduled>>,
    order: u64,
    pub(super) trains: BTreeMap<i64, SimTrain>,
    pub(super) containers: HashMap<u32, SimContainer>,
    container_index: HashMap<String, u32>,
    pub(super) parcels: BTreeMap<u64, SimParcel>,
    pub(super) open_holds: BTreeSet<u64>,
    shed_queue: VecDeque<u32>,
    cranes_busy: u32,
    next_container: u32,
    pub(super) next_serial: u64,
    instance: u32,
    pub(super) railway: FeedLog,
    pub(super) customs: FeedLog,
    pub(super) rng: Rng,
    pub(super) idempotency: IdempotencyStore,
}

/// Mixes two numbers into a seed (SplitMix64 finaliser).
pub(super) fn mix(a: u64, b: u64) -> u64 {
    let mut z = a ^ b.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Adds a field the contract does not name to an object, to the objects in
/// its lists and to their `data`, as a newer server version might.
fn add_unknown_fields(value: &mut serde_json::Value) {
    let serde_json::Value::Object(object) = value else {
        return;
    };
    for (_, field) in object.iter_mut() {
        match field {
            serde_json::Value::Array(items) => items.iter_mut().for_each(add_unknown_fields),
            serde_json::Value::Object(_) => add_unknown_fields(field),
            _ => {}
        }
    }
    object.insert(
        "x_upstream_trace".to_owned(),
        serde_json::json!({"schema": "v1.1", "note": "a field this contract does not name"}),
    );
}

fn station(code: &str, name: &str, offset: &str) -> Station {
    Station {
        code: StationCode::from(code),
        name: name.into(),
        utc_offset: Some(offset.into()),
    }
}

impl World {
    /// Builds the world as it stands at `start`: the scenario runs from
    /// before `start` without writing events, so the board is full at once;
    /// the feeds open at `start`.
    pub fn new(cfg: &SimConfig, start: DateTime<Utc>) -> World {
        let instance = mix(cfg.seed, start.timestamp() as u64) as u32;
        let retention = Duration::milliseconds((cfg.event_retention_minutes * 60_000.0) as i64);
        let mut world = World {
            cfg: cfg.clone(),
            now: start,
            open: false,
            agenda: BinaryHeap::new(),
            order: 0,
            trains: BTreeMap::new(),
            containers: HashMap::new(),
            container_index: HashMap::new(),
            parcels: BTreeMap::new(),
            open_holds: BTreeSet::new(),
            shed_queue: VecDeque::new(),
            cranes_busy: 0,
            next_container: 0,
            next_serial: 12_345 + mix(cfg.seed, 1) % 100_000,
            instance,
            railway: FeedLog::new(instance, retention, cfg.event_retention_max),
            customs: FeedLog::new(instance ^ 0xc5c5_c5c5, retention, cfg.event_retention_max),
            rng: Rng::with_seed(mix(cfg.seed, 2)),
            idempotency: IdempotencyStore::default(),
        };
        let warm_up = cfg.minutes(cfg.timetable.announce_minutes_before)
            + cfg.minutes(cfg.timetable.train_interval_minutes);
        world.now = start - warm_up;
        let first = world.first_train_announced_after(world.now);
        let announce_at = world.announce_time(first).max(world.now);
        world.schedule(announce_at, Happening::Announce(first));
        world.advance_to(start);
        world.railway.open();
        world.customs.open();
        world.open = true;
        world
    }

    /// The instant the world has been advanced to.
    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    /// The faults in force.
    pub fn faults(&self) -> &Faults {
        &self.cfg.faults
    }

    /// Changes the faults in force.
    pub fn faults_mut(&mut self) -> &mut Faults {
        &mut self.cfg.faults
    }

    /// The railway feed's retained events.
    pub fn railway_log(&self) -> &FeedLog {
        &self.railway
    }

    /// The customs feed's retained events.
    pub fn customs_log(&self) -> &FeedLog {
        &self.customs
    }

    /// Makes every cursor handed out so far invalid, on both feeds.
    pub fn expire_cursors(&mut self) {
        self.railway.expire_all();
        self.customs.expire_all();
    }

    /// Counts of what the world holds.
    pub fn stats(&self) -> WorldStats {
        WorldStats {
            trains: self.trains.len(),
            containers: self.containers.len(),
            parcels: self.parcels.len(),
            parcels_on_board: self
                .parcels
                .values()
                .filter(|p| p.is_filed() && !self.train_gone(p.train))
                .count(),
            open_holds: self.open_holds.len(),
            railway_events: self.railway.len(),
            customs_events: self.customs.len(),
        }
    }

    /// Processes everything scheduled up to `until`.
    pub fn advance_to(&mut self, until: DateTime<Utc>) {
        while let Some(Reverse(next)) = self.agenda.peek().copied() {
            if next.at > until {
                break;
            }
            self.agenda.pop();
            self.now = self.now.max(next.at);
            self.happen(next.what);
        }
        self.now = self.now.max(until);
        self.railway.trim(self.now);
        self.customs.trim(self.now);
        self.idempotency.trim(self.now);
    }

    fn happen(&mut self, what: Happening) {
        match what {
            Happening::Announce(k) => self.announce(k),
            Happening::Parcel { serial, generation } => self.parcel_step(serial, generation),
            Happening::Arrive(id) => self.arrive(id),
            Happening::Enqueue(id) => self.enqueue(id),
            Happening::LiftDone(id) => self.lift_done(id),
            Happening::RebookContainer(id) => self.random_rebook(id),
            Happening::TrainDelay(k) => self.delay_train(k),
            Happening::TrainCancel(k) => self.cancel_train(k),
            Happening::Cutoff(k) => self.cutoff(k),
            Happening::Depart(k) => self.depart(k),
            Happening::Retire(k) => self.retire(k),
            Happening::ColleagueClaim(serial) => self.colleague_claim(serial),
            Happening::ColleagueNote(serial) => self.colleague_note(serial),
        }
    }

    pub(super) fn schedule(&mut self, at: DateTime<Utc>, what: Happening) {
        self.order += 1;
        self.agenda.push(Reverse(Scheduled {
            at,
            order: self.order,
            what,
        }));
    }

    // ----- feeds -------------------------------------------------------

    /// How JSON is written now: everything besides the world itself that
    /// changes the text of an answer.
    pub(super) fn json_style(&self) -> JsonStyle {
        JsonStyle {
            mixed_offsets: self.cfg.faults.mixed_offsets,
            unknown_fields: self.cfg.faults.unknown_codes,
        }
    }

    /// Writes JSON as the simulated upstream systems do, in
    /// [`Self::json_style`].
    pub fn to_json<T: serde::Serialize>(&self, value: &T) -> String {
        let style = self.json_style();
        let json = time::with_offset(style.offsets(), || {
            if style.unknown_fields {
                let mut value = serde_json::to_value(value).expect("simulator objects serialize");
                add_unknown_fields(&mut value);
                value.to_string()
            } else {
                serde_json::to_string(value).expect("simulator objects serialize")
            }
        });
        super::hostile::expand(json)
    }

    /// An instant as the simulated upstream systems write it: a JSON string.
    pub fn json_time(&self, at: &DateTime<Utc>) -> String {
        time::with_offset(self.json_style().offsets(), || {
            format!("\"{}\"", time::format(at))
        })
    }

    /// Retains a railway event once the feeds are open; the change is only
    /// built then (the warm-up writes no events).
    pub(super) fn log_railway(&mut self, seq: u64, change: impl FnOnce(&World) -> RailwayChange) {
        if !self.open {
            return;
        }
        let change = change(self);
        let event = Event {
            event_id: format!("r-{:08x}-{seq}", self.instance).into(),
            seq,
            at: self.now,
            station: Some("AKR".into()),
            change,
        };
        let json = self.to_json(&event);
        self.railway.push(seq, self.now, json);
        self.maybe_unknown_event("railway");
    }

    /// Retains a customs event once the feeds are open; the change is only
    /// built then.
    pub(super) fn log_customs(&mut self, seq: u64, change: impl FnOnce(&World) -> CustomsChange) {
        if !self.open {
            return;
        }
        let change = change(self);
        let event = Event {
            event_id: format!("c-{:08x}-{seq}", self.instance).into(),
            seq,
            at: self.now,
            station: None,
            change,
        };
        let json = self.to_json(&event);
        self.customs.push(seq, self.now, json);
        self.maybe_unknown_event("customs");
    }

    /// With `unknown_codes` on, now and then an event of a type the contract
    /// does not name.
    fn maybe_unknown_event(&mut self, feed: &str) {
        if !self.cfg.faults.unknown_codes || self.rng.f64() >= 0.03 {
            return;
        }
        let types: Vec<&str> = catalog::UNKNOWN_EVENT_TYPES
            .iter()
            .filter(|(f, _)| *f == feed)
            .map(|(_, t)| *t)
            .collect();
        let event_type = types[self.rng.usize(..types.len())].to_owned();
        let data = serde_json::json!({"note": "not in the contract", "level": self.rng.u8(..5)});
        if feed == "railway" {
            let seq = self.railway.next_seq();
            self.log_railway(seq, |_| RailwayChange::Unknown {
                event_type: event_type.into(),
                data,
            });
        } else {
            let seq = self.customs.next_seq();
            self.log_customs(seq, |_| CustomsChange::Unknown {
                event_type: event_type.into(),
                data,
            });
        }
    }

    // ----- timetable ---------------------------------------------------

    fn interval(&self) -> Duration {
        self.cfg.minutes(self.cfg.timetable.train_interval_minutes)
    }

    fn departure_of(&self, k: i64) -> DateTime<Utc> {
        DateTime::UNIX_EPOCH + Duration::milliseconds(self.interval().num_milliseconds() * k)
    }

    fn announce_time(&self, k: i64) -> DateTime<Utc> {
        self.departure_of(k) - self.cfg.minutes(self.cfg.timetable.announce_minutes_before)
    }

    fn first_train_announced_after(&self, at: DateTime<Utc>) -> i64 {
        let interval = self.interval().num_milliseconds();
        let horizon = at + self.cfg.minutes(self.cfg.timetable.announce_minutes_before);
        (horizon - DateTime::UNIX_EPOCH)
            .num_milliseconds()
            .div_euclid(interval)
            + 1
    }

    /// Train number and id: the n-th train of its Beijing service day is
    /// `X{first + 2n}`.
    fn train_names(&self, k: i64) -> (String, String) {
        let departure = self.departure_of(k).with_timezone(&BEIJING);
        let day_start = BEIJING
            .with_ymd_and_hms(
                departure.year(),
                departure.month(),
                departure.day(),
                0,
                0,
                0,
            )
            .single()
            .expect("midnight exists in a fixed offset")
            .with_timezone(&Utc);
        let interval = self.interval().num_milliseconds();
        let first_of_day = (day_start - DateTime::UNIX_EPOCH)
            .num_milliseconds()
            .div_euclid(interval)
            + 1;
        let n = k - first_of_day;
        let number = format!("X{}", i64::from(self.cfg.timetable.first_train_no) + 2 * n);
        let id = format!("{number}-{}", departure.format("%Y%m%d"));
        (number, id)
    }

    fn announce(&mut self, k: i64) {
        if self.trains.contains_key(&k) {
            return;
        }
        let next = self.announce_time(k + 1).max(self.now);
        self.schedule(next, Happening::Announce(k + 1));

        let t = self.cfg.timetable.clone();
        let mut rng = Rng::with_seed(mix(self.cfg.seed, k as u64));
        let departure = self.departure_of(k);
        let (train_no, train_id) = self.train_names(k);
        let cutoffs = Cutoffs {
            transshipment: departure - self.cfg.minutes(t.transshipment_cutoff_minutes),
            customs_release: departure - self.cfg.minutes(t.release_cutoff_minutes),
        };
        let planned = rng.u32(t.containers_min..=t.containers_max);
        let seq = self.railway.next_seq();
        let train = SimTrain {
            train_id: train_id.into(),
            train_no: train_no.into(),
            scheduled: departure,
            estimated: None,
            actual: None,
            status: TrainStatus::Planned,
            cutoffs,
            containers_planned: planned,
            containers: Vec::with_capacity(planned as usize),
            seq,
            rng: Rng::with_seed(rng.u64(..)),
        };
        self.trains.insert(k, train);
        self.log_railway(seq, |w| {
            RailwayChange::TrainScheduled(TrainScheduled {
                train: Box::new(w.train(k).expect("just inserted")),
            })
        });

        for position in 1..=planned {
            self.book_container(k, position, &mut rng);
        }

        self.schedule(cutoffs.transshipment, Happening::Cutoff(k));
        self.schedule(departure, Happening::Depart(k));
        let lead = departure - self.now;
        if rng.f64() < t.delay_share {
            let at = self.now
                + lead / 4
                + Duration::milliseconds(rng.i64(0..=(lead / 2).num_milliseconds().max(1)));
            self.schedule(at, Happening::TrainDelay(k));
        }
        if rng.f64() < t.cancel_share {
            let at = self.now + lead / 3;
            self.schedule(at, Happening::TrainCancel(k));
        }
    }

    fn book_container(&mut self, k: i64, position: u32, rng: &mut Rng) {
        let t = &self.cfg.timetable;
        let departure = self.departure_of(k);
        let hostile = self.cfg.faults.hostile_text && rng.f64() < 0.05;
        let container_no = loop {
            let no = if hostile {
                catalog::bad_container_no(rng)
            } else {
                catalog::container_no(rng)
            };
            if !self.container_index.contains_key(&no) {
                break no;
            }
        };
        let before = if rng.f64() < t.late_container_share {
            // Late: around the transshipment cut-off.
            self.cfg
                .minutes(t.transshipment_cutoff_minutes + rng.f64() * 30.0 - 10.0)
        } else {
            self.cfg.draw(rng, t.container_arrival)
        };
        let eta = (departure - before).max(self.now);
        let parcels_per_container =
            rng.u32(t.parcels_per_container_min..=t.parcels_per_container_max);
        let rebook = rng.f64() < t.container_rebook_share;
        let id = self.next_container;
        self.next_container += 1;
        let seq = self.railway.next_seq();
        let container = SimContainer {
            container_no: container_no.clone(),
            train: k,
            position,
            seal_no: format!("CN{:07}", rng.u32(..10_000_000)),
            arrived_at: None,
            eta: Some(eta),
            transshipment: Transshipment {
                status: TransshipmentStatus::Pending,
                queued_at: None,
                started_at: None,
                completed_at: None,
                from_wagon: Some(StandardWagonNo::new(catalog::standard_gauge_wagon(rng))),
                to_wagon: None,
                track: None,
                blocked_reason: None,
            },
            ready_to_queue: false,
            parcels: Vec::with_capacity(parcels_per_container as usize),
            seq,
            rng: Rng::with_seed(rng.u64(..)),
        };
        self.containers.insert(id, container);
        self.container_index.insert(container_no, id);
        self.trains
            .get_mut(&k)
            .expect("booking on a known train")
            .containers
            .push(id);
        self.log_railway(seq, |w| {
            RailwayChange::ContainerBooked(ContainerBooked {
                container: Box::new(w.container(id)),
            })
        });

        // Arrival a little off its estimate.
        let jitter = self.cfg.minutes(rng.f64() * 20.0 - 5.0);
        self.schedule((eta + jitter).max(self.now), Happening::Arrive(id));
        if rebook {
            let at = self.now + (eta - self.now) / 2;
            self.schedule(at, Happening::RebookContainer(id));
        }
        for _ in 0..parcels_per_container {
            self.create_parcel(k, id, departure, rng);
        }
    }

    fn delay_train(&mut self, k: i64) {
        let Some(train) = self.trains.get_mut(&k) else {
            return;
        };
        if train.is_gone() {
            return;
        }
        let delay = self.cfg.draw(&mut train.rng, self.cfg.timetable.delay);
        let seq = self.railway.next_seq();
        let estimated = train.scheduled + delay;
        train.estimated = Some(estimated);
        let shift = estimated - train.expected_departure().min(estimated);
        train.cutoffs.transshipment += shift;
        train.cutoffs.customs_release += shift;
        train.seq = seq;
        let update = TrainUpdated {
            train_id: train.train_id.clone(),
            status: None,
            estimated_departure: Some(Some(estimated)),
            cutoffs: Some(train.cutoffs),
        };
        self.log_railway(seq, |_| RailwayChange::TrainUpdated(update));
    }

    fn set_train_status(&mut self, k: i64, status: TrainStatus) {
        let Some(train) = self.trains.get(&k) else {
            return;
        };
        if train.status == status || train.is_gone() {
            return;
        }
        let seq = self.railway.next_seq();
        let train = self.trains.get_mut(&k).expect("checked above");
        train.status = status.clone();
        train.seq = seq;
        let update = TrainUpdated {
            train_id: train.train_id.clone(),
            status: Some(status),
            estimated_departure: None,
            cutoffs: None,
        };
        self.log_railway(seq, |_| RailwayChange::TrainUpdated(update));
    }

    fn cutoff(&mut self, k: i64) {
        let Some(train) = self.trains.get(&k) else {
            return;
        };
        if train.is_gone() {
            return;
        }
        if self.now < train.cutoffs.transshipment {
            let at = train.cutoffs.transshipment;
            self.schedule(at, Happening::Cutoff(k));
            return;
        }
        self.set_train_status(k, TrainStatus::Formed);
    }

    fn cancel_train(&mut self, k: i64) {
        let Some(train) = self.trains.get(&k) else {
            return;
        };
        if train.is_gone() {
            return;
        }
        let hostile = self.cfg.faults.hostile_text;
        let reason = if hostile {
            super::hostile::text(&mut self.rng)
        } else {
            "线路施工停运 · track works, service withdrawn".into()
        };
        let seq = self.railway.next_seq();
        let train = self.trains.get_mut(&k).expect("checked above");
        train.status = TrainStatus::Cancelled;
        train.seq = seq;
        let cancelled = TrainCancelled {
            train_id: train.train_id.clone(),
            reason: Some(reason),
        };
        let containers = train.containers.clone();
        self.log_railway(seq, |_| RailwayChange::TrainCancelled(cancelled));
        for id in containers {
            self.rebook_container(id, "train cancelled");
        }
        let keep = self.cfg.minutes(self.cfg.timetable.keep_departed_minutes);
        self.schedule(self.now + keep, Happening::Retire(k));
    }

    fn depart(&mut self, k: i64) {
        let Some(train) = self.trains.get(&k) else {
            return;
        };
        if train.is_gone() {
            return;
        }
        let expected = train.expected_departure();
        if self.now < expected {
            self.schedule(expected, Happening::Depart(k));
            return;
        }
        let seq = self.railway.next_seq();
        let train = self.trains.get_mut(&k).expect("checked above");
        train.status = TrainStatus::Departed;
        train.actual = Some(self.now);
        train.seq = seq;
        let departed = TrainDeparted {
            train_id: train.train_id.clone(),
            actual_departure: self.now,
        };
        let containers = train.containers.clone();
        self.log_railway(seq, |_| RailwayChange::TrainDeparted(departed));
        for id in containers {
            if self.containers[&id].transshipment.status == TransshipmentStatus::Done {
                let parcels = self.containers[&id].parcels.clone();
                for serial in parcels {
                    self.parcel_departs(serial);
                }
            } else {
                self.rebook_container(id, "missed the transshipment cut-off");
            }
        }
        let keep = self.cfg.minutes(self.cfg.timetable.keep_departed_minutes);
        self.schedule(self.now + keep, Happening::Retire(k));
    }

    fn retire(&mut self, k: i64) {
        let Some(train) = self.trains.remove(&k) else {
            return;
        };
        for id in train.containers {
            if let Some(container) = self.containers.remove(&id) {
                self.container_index.remove(&container.container_no);
                for serial in container.parcels {
                    self.parcels.remove(&serial);
                    self.open_holds.remove(&serial);
                }
            }
        }
    }

    /// The next train after `k` that still takes containers; announces it
    /// if the timetable has not yet.
    pub(super) fn next_train(&mut self, k: i64) -> i64 {
        if let Some((next, _)) = self.trains.range(k + 1..).find(|(_, t)| !t.is_gone()) {
            return *next;
        }
        let next = self
            .trains
            .keys()
            .next_back()
            .map_or(k, |last| *last.max(&k))
            + 1;
        self.announce(next);
        next
    }

    // ----- containers and the shed ---------------------------------------

    fn random_rebook(&mut self, id: u32) {
        let Some(container) = self.containers.get(&id) else {
            return;
        };
        if container.arrived_at.is_some() || self.trains[&container.train].is_gone() {
            return;
        }
        self.rebook_container(id, "shipper rebooked");
    }

    /// Moves a container and its parcels to the next train.
    fn rebook_container(&mut self, id: u32, reason: &str) {
        let from = self.containers[&id].train;
        let to = self.next_train(from);
        let seq = self.railway.next_seq();
        if let Some(train) = self.trains.get_mut(&from) {
            train.containers.retain(|c| *c != id);
        }
        self.trains
            .get_mut(&to)
            .expect("next train exists")
            .containers
            .push(id);
        let container = self
            .containers
            .get_mut(&id)
            .expect("rebooking a known container");
        container.train = to;
        container.seq = seq;
        let rebooked = ContainerRebooked {
            container_no: ContainerNo::new(container.container_no.clone()),
            from_train_id: self.trains.get(&from).map(|t| t.train_id.clone()),
            to_train_id: self.trains[&to].train_id.clone(),
            reason: Some(reason.into()),
        };
        let parcels = container.parcels.clone();
        self.log_railway(seq, |_| RailwayChange::ContainerRebooked(rebooked));
        for serial in parcels {
            self.move_parcel(serial, to, Some(id));
        }
    }

    fn arrive(&mut self, id: u32) {
        let Some(container) = self.containers.get_mut(&id) else {
            return;
        };
        if container.arrived_at.is_some() {
            return;
        }
        let seq = self.railway.next_seq();
        container.arrived_at = Some(self.now);
        container.eta = None;
        container.seq = seq;
        let yard = self
            .cfg
            .draw(&mut container.rng, self.cfg.shed.yard_to_queue);
        let arrived = ContainerArrived {
            container_no: ContainerNo::new(container.container_no.clone()),
            train_id: self
                .trains
                .get(&container.train)
                .map(|t| t.train_id.clone()),
            arrived_at: self.now,
        };
        self.log_railway(seq, |_| RailwayChange::ContainerArrived(arrived));
        self.schedule(self.now + yard, Happening::Enqueue(id));
    }

    fn enqueue(&mut self, id: u32) {
        let Some(container) = self.containers.get_mut(&id) else {
            return;
        };
        container.ready_to_queue = true;
        if container.transshipment.status == TransshipmentStatus::Blocked {
            // Joins the queue when the block is lifted (and says so then).
            return;
        }
        container.transshipment.queued_at = Some(self.now);
        container.transshipment.status = TransshipmentStatus::Queued;
        self.shed_queue.push_back(id);
        self.emit_transshipment(id, RailwayChange::TransshipmentQueued);
        self.start_lifts();
    }

    fn emit_transshipment(&mut self, id: u32, kind: fn(TransshipmentChanged) -> RailwayChange) {
        let seq = self.railway.next_seq();
        let container = self.containers.get_mut(&id).expect("known container");
        container.seq = seq;
        self.log_railway(seq, |w| {
            let container = &w.containers[&id];
            kind(TransshipmentChanged {
                container_no: ContainerNo::new(container.container_no.clone()),
                transshipment: container.transshipment.clone(),
            })
        });
    }

    fn start_lifts(&mut self) {
        while self.cranes_busy < self.cfg.shed.cranes {
            let Some(id) = self.shed_queue.pop_front() else {
                return;
            };
            let Some(container) = self.containers.get_mut(&id) else {
                continue;
            };
            if container.transshipment.status != TransshipmentStatus::Queued {
                continue;
            }
            self.cranes_busy += 1;
            let crane = self.cranes_busy;
            container.transshipment.status = TransshipmentStatus::InProgress;
            container.transshipment.started_at = Some(self.now);
            container.transshipment.track =
                Some(format!("换装库{crane}道 shed track {crane}").into());
            let k = container.train;
            let lift = self.cfg.draw(&mut container.rng, self.cfg.shed.lift);
            self.emit_transshipment(id, RailwayChange::TransshipmentStarted);
            self.schedule(self.now + lift, Happening::LiftDone(id));
            if self
                .trains
                .get(&k)
                .is_some_and(|t| t.status == TrainStatus::Planned)
            {
                self.set_train_status(k, TrainStatus::Loading);
            }
        }
    }

    fn lift_done(&mut self, id: u32) {
        self.cranes_busy = self.cranes_busy.saturating_sub(1);
        if let Some(container) = self.containers.get_mut(&id) {
            container.transshipment.status = TransshipmentStatus::Done;
            container.transshipment.completed_at = Some(self.now);
            container.transshipment.to_wagon =
                Some(WagonNo::new(catalog::broad_gauge_wagon(&mut container.rng)));
            self.emit_transshipment(id, RailwayChange::TransshipmentCompleted);
        }
        self.start_lifts();
    }

    /// Stops the shed from moving a container (a customs hold on a parcel
    /// in it that needs the container opened).
    pub(super) fn block_container(&mut self, id: u32, reason: FeedText) {
        let Some(container) = self.containers.get_mut(&id) else {
            return;
        };
        if matches!(
            container.transshipment.status,
            TransshipmentStatus::Done
                | TransshipmentStatus::InProgress
                | TransshipmentStatus::Blocked
        ) {
            return;
        }
        container.transshipment.status = TransshipmentStatus::Blocked;
        container.transshipment.blocked_reason = Some(reason);
        self.shed_queue.retain(|c| *c != id);
        self.emit_transshipment(id, RailwayChange::TransshipmentBlocked);
    }

    /// Lets the shed move a container again once no hold in it needs it
    /// opened.
    pub(super) fn unblock_container_if_clear(&mut self, id: u32) {
        let Some(container) = self.containers.get(&id) else {
            return;
        };
        if container.transshipment.status != TransshipmentStatus::Blocked {
            return;
        }
        let still_blocked = container.parcels.iter().any(|serial| {
            self.parcels
                .get(serial)
                .is_some_and(SimParcel::blocks_container)
        });
        if still_blocked {
            return;
        }
        let container = self.containers.get_mut(&id).expect("checked above");
        container.transshipment.blocked_reason = None;
        if container.ready_to_queue && container.transshipment.queued_at.is_none() {
            container.transshipment.queued_at = Some(self.now);
        }
        match container.transshipment.queued_at {
            Some(queued_at) => {
                container.transshipment.status = TransshipmentStatus::Queued;
                let containers = &self.containers;
                let at = self.shed_queue.partition_point(|c| {
                    containers[c]
                        .transshipment
                        .queued_at
                        .is_some_and(|q| q <= queued_at)
                });
                self.shed_queue.insert(at, id);
            }
            None => container.transshipment.status = TransshipmentStatus::Pending,
        }
        self.emit_transshipment(id, RailwayChange::TransshipmentUnblocked);
        self.start_lifts();
    }

    // ----- snapshots ---------------------------------------------------------

    /// A train with its containers, as the railway API writes it.
    pub(super) fn train(&self, k: i64) -> Option<Train> {
        let t = self.trains.get(&k)?;
        Some(Train {
            train_id: t.train_id.clone(),
            train_no: t.train_no.clone(),
            service: Some("Alashankou-Tashkent cross-border e-commerce".into()),
            origin: station("AKR", "阿拉山口 Alashankou", "+08:00"),
            destination: station("722400", "Ташкент-Товарный Tashkent-Tovarny", "+05:00"),
            route: ["AKR", "708507", "722400"].map(StationCode::from).to_vec(),
            scheduled_departure: t.scheduled,
            estimated_departure: t.estimated,
            actual_departure: t.actual,
            status: t.status.clone(),
            cutoffs: t.cutoffs,
            containers_planned: Some(t.containers_planned),
            containers: t.containers.iter().map(|id| self.container(*id)).collect(),
            seq: t.seq,
        })
    }

    /// A container, as the railway API writes it.
    pub(super) fn container(&self, id: u32) -> Container {
        let c = &self.containers[&id];
        Container {
            container_no: ContainerNo::new(c.container_no.clone()),
            size_type: Some("45G1".into()),
            train_id: self.trains.get(&c.train).map(|t| t.train_id.clone()),
            position: Some(c.position),
            seal_no: Some(c.seal_no.as_str().into()),
            arrived_at: c.arrived_at,
            eta: c.eta,
            transshipment: c.transshipment.clone(),
            seq: c.seq,
        }
    }

    /// Trains by departure after position `after`, filtered.
    pub fn train_page(
        &self,
        filter: &TrainFilter,
        after: Option<i64>,
        size: usize,
    ) -> (Vec<Train>, Option<String>) {
        let start = after.map_or(0, |k| k.saturating_add(1));
        let mut matching = self
            .trains
            .range(start..)
            .filter(|(_, t)| filter.accepts(t));
        let page: Vec<i64> = matching.by_ref().take(size).map(|(k, _)| *k).collect();
        let next = match (page.last(), matching.next()) {
            (Some(last), Some(_)) => Some(paging::token(*last as u64)),
            _ => None,
        };
        let trains = page.into_iter().filter_map(|k| self.train(k)).collect();
        (trains, next)
    }

    /// One train by id.
    pub fn train_by_id(&self, train_id: &str) -> Option<Train> {
        self.train(self.train_key(train_id)?)
    }

    /// The timetable index of the train with this id.
    pub(super) fn train_key(&self, train_id: &str) -> Option<i64> {
        self.trains
            .iter()
            .find(|(_, t)| t.train_id == train_id)
            .map(|(k, _)| *k)
    }

    /// One container by number.
    pub fn container_by_no(&self, container_no: &str) -> Option<Container> {
        self.container_index
            .get(container_no)
            .map(|id| self.container(*id))
    }

    /// The train a parcel is on, as written.
    pub(super) fn train_id_of(&self, k: i64) -> Option<FeedText> {
        self.trains.get(&k).map(|t| t.train_id.clone())
    }

    /// The container number of a container id.
    pub(super) fn container_no_of(&self, id: u32) -> Option<ContainerNo> {
        self.containers
            .get(&id)
            .map(|c| ContainerNo::new(c.container_no.clone()))
    }

    /// Picks a container of train `k` for parcel `serial`, taken out of
    /// another one, with the parcel's own dice: one not yet transshipped if
    /// any.
    pub(super) fn container_for(&mut self, k: i64, serial: u64) -> Option<u32> {
        let containers = &self.trains.get(&k)?.containers;
        let open: Vec<u32> = containers
            .iter()
            .copied()
            .filter(|id| self.containers[id].transshipment.status != TransshipmentStatus::Done)
            .collect();
        let pool = if open.is_empty() { containers } else { &open };
        let rng = &mut self.parcels.get_mut(&serial).expect("known parcel").rng;
        (!pool.is_empty()).then(|| pool[rng.usize(..pool.len())])
    }

    /// Adds a parcel to a container's manifest.
    pub(super) fn pack(&mut self, serial: u64, id: u32) {
        if let Some(container) = self.containers.get_mut(&id) {
            container.parcels.push(serial);
        }
    }

    /// Removes a parcel from a container's manifest.
    pub(super) fn unpack(&mut self, serial: u64, id: u32) {
        if let Some(container) = self.containers.get_mut(&id) {
            container.parcels.retain(|s| *s != serial);
        }
    }

    /// The customs release cut-off of train `k`.
    pub(super) fn release_cutoff(&self, k: i64) -> Option<DateTime<Utc>> {
        self.trains.get(&k).map(|t| t.cutoffs.customs_release)
    }

    /// Whether train `k` has departed or been cancelled (or is gone).
    pub(super) fn train_gone(&self, k: i64) -> bool {
        self.trains.get(&k).is_none_or(SimTrain::is_gone)
    }

    /// The service year for new parcels' inventory numbers.
    pub(super) fn year(&self) -> u16 {
        self.now.with_timezone(&BEIJING).year() as u16
    }
}

/// The filters of `listTrains`.
#[derive(Debug, Clone, Default)]
pub struct TrainFilter {
    /// Only trains leaving from this station.
    pub station: Option<String>,
    /// Scheduled departure at or after.
    pub from: Option<DateTime<Utc>>,
    /// Scheduled departure before.
    pub to: Option<DateTime<Utc>>,
}

impl TrainFilter {
    fn accepts(&self, train: &SimTrain) -> bool {
        self.station.as_deref().is_none_or(|s| s == "AKR")
            && self.from.is_none_or(|from| train.scheduled >= from)
            && self.to.is_none_or(|to| train.scheduled < to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start() -> DateTime<Utc> {
        "2026-11-26T03:30:00Z".parse().unwrap()
    }

    #[test]
    fn same_seed_and_clock_give_the_same_world() {
        let cfg = SimConfig::default();
        let mut a = World::new(&cfg, start());
        let mut b = World::new(&cfg, start());
        let snapshot = |w: &World| {
            let (trains, _) = w.train_page(&TrainFilter::default(), None, 1000);
            let (parcels, _) = w.declaration_page(None, None, 100_000);
            (w.to_json(&trains), w.to_json(&parcels))
        };
        assert_eq!(snapshot(&a), snapshot(&b));
        // Advancing in one jump or in many small steps changes nothing.
        let later = start() + Duration::minutes(20);
        a.advance_to(later);
        let mut t = start();
        while t < later {
            t += Duration::seconds(7);
            b.advance_to(t.min(later));
        }
        assert_eq!(snapshot(&a), snapshot(&b));
        assert_eq!(a.railway.head(), b.railway.head());
        assert_eq!(a.customs.head(), b.customs.head());
    }

    #[test]
    fn another_seed_gives_another_world() {
        let a = World::new(&SimConfig::default(), start());
        let cfg = SimConfig {
            seed: 2,
            ..SimConfig::default()
        };
        let b = World::new(&cfg, start());
        let (pa, _) = a.declaration_page(None, None, 10);
        let (pb, _) = b.declaration_page(None, None, 10);
        assert_ne!(a.to_json(&pa), b.to_json(&pb));
    }

    #[test]
    fn the_board_is_full_at_start_and_trains_come_and_go() {
        let mut world = World::new(&SimConfig::default(), start());
        let stats = world.stats();
        assert!(stats.trains >= 5, "{stats:?}");
        assert!(stats.parcels_on_board > 500, "{stats:?}");
        let first = world.trains.keys().next().copied().unwrap();
        world.advance_to(start() + Duration::hours(1));
        assert!(!world.trains.contains_key(&first), "old trains retire");
        assert!(world.railway.len() > 100);
        assert!(world.customs.len() > 100);
        let stats = world.stats();
        assert!(stats.trains >= 5, "{stats:?}");
    }

    #[test]
    fn train_names_follow_the_service_day() {
        let world = World::new(&SimConfig::default(), start());
        for train in world.trains.values() {
            assert!(train.train_no.starts_with('X'), "{}", train.train_no);
            let date = train
                .scheduled
                .with_timezone(&BEIJING)
                .format("%Y%m%d")
                .to_string();
            assert_eq!(train.train_id, format!("{}-{date}", train.train_no));
        }
        let ids: BTreeSet<&str> = world.trains.values().map(|t| t.train_id.as_str()).collect();
        assert_eq!(ids.len(), world.trains.len());
    }

    #[test]
    fn shed_never_lifts_more_than_its_cranes() {
        let mut world = World::new(&SimConfig::default(), start());
        for minute in 0..60 {
            world.advance_to(start() + Duration::minutes(minute));
            let lifting = world
                .containers
                .values()
                .filter(|c| c.transshipment.status == TransshipmentStatus::InProgress)
                .count();
            assert!(lifting <= world.cfg.shed.cranes as usize);
            assert_eq!(lifting, world.cranes_busy as usize);
        }
    }
}
