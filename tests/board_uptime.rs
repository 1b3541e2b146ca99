//! A board that runs for weeks lets go of what has left: departed trains
//! even while a feed is quiet, parcels customs puts on no train, containers
//! the railway books on none; and no timeline grows without bound.

use chrono::{DateTime, Duration, Utc};
use greenchannel::board::parcel::TIMELINE_LIMIT;
use greenchannel::board::{Board, BoardSettings};
use greenchannel::config::Config;
use greenchannel::domain::{Declaration, Delivery, Event, RailwayChange, Train, time};
use serde_json::{Value, json};

fn t(minutes: i64) -> DateTime<Utc> {
    "2026-11-26T03:00:00Z".parse::<DateTime<Utc>>().unwrap() + Duration::minutes(minutes)
}

fn at(minutes: i64) -> String {
    time::format(&t(minutes))
}

/// Departed trains stay two hours (the default).
fn settings() -> BoardSettings {
    Config::default().board_settings()
}

fn train(id: &str, departs: i64, status: &str) -> Value {
    json!({
        "train_id": id, "train_no": id.split('-').next().unwrap(),
        "origin": {"code": "AKR", "name": "Alashankou"},
        "destination": {"code": "722400", "name": "Tashkent"},
        "scheduled_departure": at(departs), "status": status,
        "cutoffs": {"transshipment": at(departs - 60), "customs_release": at(departs - 30)},
        "containers": [], "seq": 1
    })
}

fn container(no: &str, train_id: Option<&str>) -> Value {
    json!({
        "container_no": no, "train_id": train_id,
        "transshipment": {"status": "pending"}, "seq": 1
    })
}

fn declaration(serial: u32, train_id: Option<&str>, container: Option<&str>) -> Value {
    json!({
        "declaration_no": format!("94022026E{serial:09}"), "waybill_no": "YT1",
        "procedure": "9610", "ebc": {"code": "3302960001", "name": "义乌小商品"},
        "train_id": train_id, "container_no": container, "goods": [],
        "status": {"code": "120", "at": at(0)}, "seq": 1
    })
}

fn trains(values: Vec<Value>) -> Delivery {
    Delivery::RailwaySnapshot(serde_json::from_value::<Vec<Train>>(json!(values)).unwrap())
}

fn declarations(values: Vec<Value>) -> Delivery {
    Delivery::CustomsSnapshot(serde_json::from_value::<Vec<Declaration>>(json!(values)).unwrap())
}

/// Both feeds quiet but answering: caught up as of `minute`.
fn quiet(board: &mut Board, minute: i64) {
    board.apply(Delivery::RailwayCaughtUp(t(minute)), t(minute));
    board.apply(Delivery::CustomsCaughtUp(t(minute)), t(minute));
    board.tick(t(minute));
}

#[test]
fn a_departed_train_goes_while_the_feeds_are_quiet() {
    let mut board = Board::new(settings(), t(0));
    board.apply(trains(vec![train("X8017-20261126", 10, "departed")]), t(0));
    board.apply(
        declarations(vec![declaration(1, Some("X8017-20261126"), None)]),
        t(0),
    );
    // Five hours of polls that bring no event, only the servers' time.
    for minute in (1..=300).step_by(5) {
        quiet(&mut board, minute);
    }
    assert_eq!(board.train_key("X8017-20261126"), None, "let go");
    assert_eq!(board.parcel_count(), 0);
    board.check_tallies().unwrap();
}

#[test]
fn parcels_on_no_train_and_containers_booked_on_none_are_let_go() {
    let mut board = Board::new(settings(), t(0));
    let mut unbooked = train("X8019-20261126", 600, "planned");
    unbooked["containers"] = json!([container("CSQU3054383", None)]);
    board.apply(trains(vec![unbooked]), t(0));
    board.apply(
        declarations(vec![
            declaration(1, None, None),
            declaration(2, None, Some("CSQU3054383")),
            declaration(3, Some("X8019-20261126"), None),
        ]),
        t(0),
    );
    assert!(board.container_key("CSQU3054383").is_some());
    quiet(&mut board, 60);
    assert_eq!(board.parcel_count(), 3, "nothing goes within the hour");
    // Four times the keep of departed trains without a word of them.
    quiet(&mut board, 8 * 60 + 5);
    assert_eq!(board.parcel_key("94022026E000000001"), None);
    assert_eq!(board.parcel_key("94022026E000000002"), None);
    assert_eq!(board.container_key("CSQU3054383"), None);
    assert!(
        board.parcel_key("94022026E000000003").is_some(),
        "a parcel on a train waits for its train"
    );
    board.check_tallies().unwrap();
}

/// A train only customs ever named (the railway never told of it) goes
/// with its parcels once it has gone unconfirmed long enough; letting its
/// last parcel go must not let it go twice.
#[test]
fn a_train_only_customs_named_goes_with_its_parcels() {
    let mut board = Board::new(settings(), t(0));
    board.apply(trains(vec![]), t(0));
    board.apply(
        declarations(vec![
            declaration(1, Some("X8099-20261126"), None),
            declaration(2, Some("X8099-20261126"), None),
        ]),
        t(0),
    );
    assert!(board.train_key("X8099-20261126").is_some());
    quiet(&mut board, 60);
    assert_eq!(board.parcel_count(), 2, "nothing goes within the hour");
    // Four times the keep of departed trains unconfirmed by the railway.
    quiet(&mut board, 8 * 60 + 5);
    assert_eq!(board.train_key("X8099-20261126"), None, "let go");
    assert_eq!(board.parcel_count(), 0);
    board.check_tallies().unwrap();
}

#[test]
fn a_container_timeline_is_bounded() {
    let mut board = Board::new(settings(), t(0));
    let mut planned = train("X8017-20261126", 600, "planned");
    planned["containers"] = json!([container("CSQU3054383", Some("X8017-20261126"))]);
    board.apply(trains(vec![planned]), t(0));
    let blocked = |seq: u64, kind: &str| {
        serde_json::from_value::<Event<RailwayChange>>(json!({
            "event_id": format!("r-{seq}"), "seq": seq, "type": kind, "at": at(seq as i64),
            "data": {"container_no": "CSQU3054383", "transshipment": {"status": "blocked"}}
        }))
        .unwrap()
    };
    let events: Vec<Event<RailwayChange>> = (2..500)
        .map(|seq| {
            let kind = if seq % 2 == 0 {
                "transshipment.blocked"
            } else {
                "transshipment.unblocked"
            };
            blocked(seq, kind)
        })
        .collect();
    board.apply(Delivery::RailwayEvents(events), t(500));
    let key = board.container_key("CSQU3054383").unwrap();
    let timeline = &board.container(key).unwrap().timeline;
    assert_eq!(timeline.len(), TIMELINE_LIMIT);
    assert_eq!(timeline.last().unwrap().at, t(499), "the latest kept");
}

#[test]
fn a_quiet_feed_tells_nothing_new_and_draws_nothing() {
    let mut board = Board::new(settings(), t(0));
    board.apply(trains(vec![train("X8017-20261126", 600, "planned")]), t(0));
    let revision = board.revision();
    let applied = board.apply(Delivery::CustomsCaughtUp(t(1)), t(1));
    assert_eq!(applied.applied, 0);
    assert_eq!(board.revision(), revision);
}
