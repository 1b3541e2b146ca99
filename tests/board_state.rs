//! The board built from the simulator's feeds: a snapshot plus events equals
//! a fresh snapshot; any interleaving, duplication and redelivery of the
//! events gives the same board; the counts always match a recount.

use std::sync::OnceLock;

use chrono::{DateTime, Duration, Utc};
use greenchannel::board::judge::FULL_REVIEW_EVERY;
use greenchannel::board::{Board, BoardSettings};
use greenchannel::config::Config;
use greenchannel::domain::{CustomsChange, Declaration, Delivery, Event, RailwayChange, Train};
use greenchannel::sim::feed::FeedLog;
use greenchannel::sim::world::TrainFilter;
use greenchannel::sim::{SimConfig, World};
use proptest::prelude::*;

fn start() -> DateTime<Utc> {
    "2026-11-26T03:30:00Z".parse().expect("instant")
}

/// Settings matching the demo's compression (the simulator runs a day in
/// 48 minutes, so minutes of the real world are 2 seconds here).
fn settings() -> BoardSettings {
    Config::default()
        .compressed(SimConfig::default().time_compression)
        .board_settings()
}

fn snapshot(world: &World) -> (Delivery, Delivery) {
    let (trains, _) = world.train_page(&TrainFilter::default(), None, usize::MAX);
    let (declarations, _) = world.declaration_page(None, None, usize::MAX);
    (
        Delivery::RailwaySnapshot(reparse::<Vec<Train>>(world, &trains)),
        Delivery::CustomsSnapshot(reparse::<Vec<Declaration>>(world, &declarations)),
    )
}

/// Through JSON, as a client receives it.
fn reparse<T: serde::de::DeserializeOwned>(world: &World, value: &impl serde::Serialize) -> T {
    serde_json::from_str(&world.to_json(value)).expect("simulator JSON parses")
}

fn events<C: greenchannel::domain::Change>(log: &FeedLog, after: u64) -> Vec<Event<C>> {
    let batch = log.read(after, usize::MAX, DateTime::<Utc>::MAX_UTC);
    batch
        .events
        .iter()
        .map(|json| serde_json::from_str(json).expect("event parses"))
        .collect()
}

/// A scenario: the snapshot at the start, then both feeds' events over
/// `minutes` of scenario time, and the fresh snapshot at the end.
struct Recorded {
    railway_snapshot: Delivery,
    customs_snapshot: Delivery,
    railway: Vec<Event<RailwayChange>>,
    customs: Vec<Event<CustomsChange>>,
    fresh: (Delivery, Delivery),
    end: DateTime<Utc>,
}

fn record(minutes: i64) -> Recorded {
    let mut world = World::new(&SimConfig::default(), start());
    let (railway_snapshot, customs_snapshot) = snapshot(&world);
    let (railway_head, customs_head) = (world.railway_log().head(), world.customs_log().head());
    let end = start() + Duration::minutes(minutes);
    world.advance_to(end);
    Recorded {
        railway_snapshot,
        customs_snapshot,
        railway: events(world.railway_log(), railway_head),
        customs: events(world.customs_log(), customs_head),
        fresh: snapshot(&world),
        end,
    }
}

fn recorded() -> &'static Recorded {
    static RECORDED: OnceLock<Recorded> = OnceLock::new();
    RECORDED.get_or_init(|| record(12))
}

/// Fails with the lines only one side has (the first few of each).
fn assert_same_lines(what: &str, a: &[String], b: &[String]) {
    let only = |x: &[String], y: &[String]| -> Vec<String> {
        let y: std::collections::BTreeSet<&String> = y.iter().collect();
        x.iter()
            .filter(|l| !y.contains(l))
            .take(4)
            .cloned()
            .collect()
    };
    let (left, right) = (only(a, b), only(b, a));
    assert!(
        left.is_empty() && right.is_empty(),
        "{what} differ:\n only in the first:\n  {}\n only in the second:\n  {}",
        left.join("\n  "),
        right.join("\n  ")
    );
}

fn board_from_snapshot(r: &Recorded) -> Board {
    let mut board = Board::new(settings(), start());
    board.apply(r.railway_snapshot.clone(), start());
    board.apply(r.customs_snapshot.clone(), start());
    board
}

#[test]
fn a_snapshot_fills_the_board_with_consistent_counts() {
    let r = recorded();
    let board = board_from_snapshot(r);
    let Delivery::CustomsSnapshot(declarations) = &r.customs_snapshot else {
        unreachable!()
    };
    assert_eq!(board.parcel_count(), declarations.len());
    assert!(board.parcel_count() > 500);
    for d in declarations {
        assert!(board.parcel_key(d.declaration_no.as_str()).is_some());
    }
    board.check_tallies().unwrap();
    assert_eq!(board.totals().parcels as usize, declarations.len());
    assert!(board.departures().len() >= 5);
}

#[test]
fn snapshot_plus_events_equals_a_fresh_snapshot() {
    let r = recorded();
    let mut followed = board_from_snapshot(r);
    // In batches of 50, each feed in turn, with the clock moving.
    let mut railway = r.railway.chunks(50);
    let mut customs = r.customs.chunks(50);
    loop {
        let (a, b) = (railway.next(), customs.next());
        if a.is_none() && b.is_none() {
            break;
        }
        if let Some(batch) = a {
            let at = batch.last().expect("non-empty").at;
            followed.apply(Delivery::RailwayEvents(batch.to_vec()), at);
            followed.tick(at);
        }
        if let Some(batch) = b {
            let at = batch.last().expect("non-empty").at;
            followed.apply(Delivery::CustomsEvents(batch.to_vec()), at);
            followed.tick(at);
        }
        followed.check_tallies().unwrap();
    }
    let mut fresh = Board::new(settings(), r.end);
    fresh.apply(r.fresh.0.clone(), r.end);
    fresh.apply(r.fresh.1.clone(), r.end);
    followed.review_all(r.end);
    fresh.review_all(r.end);
    let (a, b) = (followed.digest(), fresh.digest());
    assert_same_lines("trains", &a.trains, &b.trains);
    assert_same_lines("containers", &a.containers, &b.containers);
    // Verdicts rest on learned durations, which a board that followed the
    // events has learned more of; compare the feeds' facts.
    assert_same_lines("parcels", &a.parcels, &b.parcels);
}

/// How events reach the board: the two feeds merged in some order, some
/// events delivered twice, some batches delivered again later.
#[derive(Debug, Clone)]
struct Delivering {
    /// For each step, take from the railway (true) or customs (false).
    order: Vec<bool>,
    /// Batch sizes.
    sizes: Vec<usize>,
    /// Positions (per feed) whose event is delivered twice.
    duplicates: Vec<usize>,
    /// With each batch, redeliver this many events that came before it
    /// (older ones, after newer ones were applied).
    redeliver: Vec<usize>,
}

fn delivering() -> impl Strategy<Value = Delivering> {
    (
        prop::collection::vec(any::<bool>(), 1..200),
        prop::collection::vec(1usize..80, 1..50),
        prop::collection::vec(0usize..5000, 0..60),
        prop::collection::vec(0usize..40, 1..50),
    )
        .prop_map(|(order, sizes, duplicates, redeliver)| Delivering {
            order,
            sizes,
            duplicates,
            redeliver,
        })
}

/// One feed's events cut into batches with duplicates and redeliveries.
fn batches<C: Clone>(events: &[Event<C>], how: &Delivering, salt: usize) -> Vec<Vec<Event<C>>> {
    let mut out = Vec::new();
    let mut i = 0;
    let mut n = salt;
    while i < events.len() {
        let size = how.sizes[n % how.sizes.len()];
        let end = (i + size).min(events.len());
        let mut batch = Vec::new();
        for (j, event) in events[i..end].iter().enumerate() {
            batch.push(event.clone());
            if how.duplicates.contains(&(i + j)) {
                batch.push(event.clone());
            }
        }
        let again = how.redeliver[n % how.redeliver.len()].min(i);
        batch.extend(events[i - again..i].iter().cloned());
        out.push(batch);
        i = end;
        n += 1;
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn any_interleaving_duplication_and_redelivery_gives_the_same_board(how in delivering()) {
        let r = recorded();
        let mut in_order = board_from_snapshot(r);
        in_order.apply(Delivery::RailwayEvents(r.railway.clone()), r.end);
        in_order.apply(Delivery::CustomsEvents(r.customs.clone()), r.end);
        in_order.review_all(r.end);

        let mut shuffled = board_from_snapshot(r);
        let mut railway = batches(&r.railway, &how, 0).into_iter();
        let mut customs = batches(&r.customs, &how, 7).into_iter();
        let mut order = how.order.iter().cycle();
        loop {
            let take_railway = *order.next().expect("cycle");
            let next = if take_railway {
                railway.next().map(Delivery::RailwayEvents).or_else(|| customs.next().map(Delivery::CustomsEvents))
            } else {
                customs.next().map(Delivery::CustomsEvents).or_else(|| railway.next().map(Delivery::RailwayEvents))
            };
            let Some(delivery) = next else { break };
            shuffled.apply(delivery, r.end);
        }
        shuffled.review_all(r.end);
        prop_assert_eq!(in_order.digest(), shuffled.digest());
        prop_assert_eq!(shuffled.check_tallies(), Ok(()));
    }
}

/// What the board learns between two full reviews is not forgotten: the
/// next tick after `FULL_REVIEW_EVERY` judges every unfinished parcel again with
/// it, even when nothing new was learned in that tick itself.
#[test]
fn durations_learned_between_full_reviews_are_used_at_the_next_one() {
    let mut world = World::new(&SimConfig::default(), start());
    let (railway_snapshot, customs_snapshot) = snapshot(&world);
    let mut board = Board::new(settings(), start());
    board.apply(railway_snapshot, start());
    board.apply(customs_snapshot, start());
    let mut heads = (world.railway_log().head(), world.customs_log().head());
    // Follow the feeds to `at`, then tick there.
    let mut follow = |board: &mut Board, at: DateTime<Utc>| {
        world.advance_to(at);
        let railway: Vec<Event<RailwayChange>> = events(world.railway_log(), heads.0);
        let customs: Vec<Event<CustomsChange>> = events(world.customs_log(), heads.1);
        heads = (world.railway_log().head(), world.customs_log().head());
        board.apply(Delivery::RailwayEvents(railway), at);
        board.apply(Delivery::CustomsEvents(customs), at);
        board.tick(at);
    };
    let first_review = start() + Duration::minutes(2);
    follow(&mut board, first_review);
    // Learned soon after: not yet a full review.
    follow(&mut board, first_review + Duration::seconds(20));

    let unfinished = board.parcels().filter(|p| !p.path().is_ready()).count();
    let before = board.revision();
    board.tick(first_review + FULL_REVIEW_EVERY + Duration::seconds(10));
    let judged = board.revision() - before;
    assert!(
        judged >= unfinished as u64,
        "{judged} parcels judged again, of {unfinished} unfinished"
    );
}
