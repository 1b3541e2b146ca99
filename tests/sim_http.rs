//! The simulator over real HTTP on loopback, against the contract in
//! `tests/contract/`: pagination, cursors, snapshot plus events, idempotent
//! triage actions, roles, every fault mode, and the HTTP details (ETag,
//! gzip, `Date`, determinism).

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset, Utc};
use common::{OFFICER, OFFICER_2, SUPERVISOR, VIEWER};
use greenchannel::domain::{
    Change, CustomsChange, DeclarationPage, Event, RailwayChange, TrainPage,
};
use greenchannel::sim::{RunningSim, SimConfig};
use reqwest::header::{ACCEPT_ENCODING, CONTENT_ENCODING, HeaderMap, IF_NONE_MATCH};
use reqwest::{RequestBuilder, StatusCode};
use serde_json::{Value, json};

// ----- helpers -----------------------------------------------------------------

/// One answer, read whole.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the contract's error answer: `status` with a JSON
    /// `{"error": code, "message": ...}` body.
    fn assert_error(&self, status: u16, code: &str, what: &str) {
        assert_eq!(self.status.as_u16(), status, "{what}: {}", self.body);
        let content_type = self.header("content-type").unwrap_or_default();
        assert!(
            content_type.starts_with("application/json"),
            "{what}: content-type {content_type:?}"
        );
        let body = self.json();
        assert_eq!(body["error"], code, "{what}: {}", self.body);
        assert!(
            body.get("message").is_none_or(Value::is_string),
            "{what}: message must be a string: {}",
            self.body
        );
    }
}

async fn send(request: RequestBuilder) -> Answer {
    let response = request.send().await.expect("an HTTP answer");
    Answer {
        status: response.status(),
        headers: response.headers().clone(),
        body: response.text().await.expect("a body"),
    }
}

async fn get(url: &str, token: &str, query: &[(&str, &str)]) -> Answer {
    send(common::client().get(url).bearer_auth(token).query(query)).await
}

/// GET expecting 200 with a JSON body.
async fn get_ok(url: &str, token: &str, query: &[(&str, &str)]) -> Value {
    let answer = get(url, token, query).await;
    assert_eq!(answer.status, 200, "GET {url} {query:?}: {}", answer.body);
    let content_type = answer.header("content-type").unwrap_or_default();
    assert!(
        content_type.starts_with("application/json"),
        "GET {url}: content-type {content_type:?}"
    );
    answer.json()
}

async fn post_action(
    sim: &RunningSim,
    token: &str,
    declaration_no: &str,
    key: &str,
    body: Value,
) -> Answer {
    send(action_request(sim, token, declaration_no, key, &body)).await
}

fn action_request(
    sim: &RunningSim,
    token: &str,
    declaration_no: &str,
    key: &str,
    body: &Value,
) -> RequestBuilder {
    let url = format!("{}/v1/holds/{declaration_no}/actions", sim.customs_url());
    common::client()
        .post(url)
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(body)
}

fn new_key() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn trains_url(sim: &RunningSim) -> String {
    format!("{}/v1/trains", sim.railway_url())
}

fn declarations_url(sim: &RunningSim) -> String {
    format!("{}/v1/declarations", sim.customs_url())
}

fn instant(value: &Value) -> DateTime<Utc> {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("not a time: {value}"));
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("{text:?}: {e}"))
        .with_timezone(&Utc)
}

fn seq_of(object: &Value) -> u64 {
    object["seq"]
        .as_u64()
        .unwrap_or_else(|| panic!("no seq: {object}"))
}

fn text<'a>(object: &'a Value, key: &str) -> &'a str {
    object[key]
        .as_str()
        .unwrap_or_else(|| panic!("no {key}: {object}"))
}

/// One of the two event feeds: its API base URL and the snapshot list whose
/// first page carries its cursor.
struct Feed {
    base: String,
    snapshot: String,
}

fn feeds(sim: &RunningSim) -> [Feed; 2] {
    [
        Feed {
            base: sim.railway_url(),
            snapshot: trains_url(sim),
        },
        Feed {
            base: sim.customs_url(),
            snapshot: declarations_url(sim),
        },
    ]
}

/// The scenario clock after `seconds` of advancing from the start.
fn clock_at(seconds: i64) -> DateTime<Utc> {
    common::start() + chrono::Duration::seconds(seconds)
}

/// A whole snapshot, read page by page.
struct Snapshot {
    items: Vec<Value>,
    cursor: String,
    pages: usize,
}

/// Reads every page of the snapshot at `url` (items under `key`),
/// `page_size` at a time, checking the cursor and page-token rules.
async fn snapshot(url: &str, key: &str, page_size: usize, query: &[(&str, &str)]) -> Snapshot {
    let size = page_size.to_string();
    let pages = common::walk_pages(url, 10_000, async |token| {
        let mut params = query.to_vec();
        params.push(("page_size", &size));
        if let Some(token) = token {
            params.push(("page_token", token));
        }
        let page = get_ok(url, VIEWER, &params).await;
        let next = common::next_page_token(&page);
        (page, next)
    })
    .await;
    let mut items = Vec::new();
    for (i, page) in pages.iter().enumerate() {
        let got = page[key].as_array().unwrap_or_else(|| panic!("no {key}"));
        assert!(
            got.len() <= page_size,
            "{} > page_size {page_size}",
            got.len()
        );
        items.extend(got.iter().cloned());
        if i > 0 {
            assert_eq!(
                page.get("cursor"),
                Some(&Value::Null),
                "page {} of {url} must carry cursor: null",
                i + 1
            );
        }
    }
    let cursor = pages[0]["cursor"]
        .as_str()
        .expect("the first page carries cursor")
        .to_owned();
    Snapshot {
        items,
        cursor,
        pages: pages.len(),
    }
}

/// The event cursor of a snapshot taken now.
async fn fresh_cursor(url: &str) -> String {
    let page = get_ok(url, VIEWER, &[("page_size", "1")]).await;
    text(&page, "cursor").to_owned()
}

async fn events_answer(base: &str, cursor: &str, limit: usize) -> Answer {
    let limit = limit.to_string();
    get(
        &format!("{base}/v1/events"),
        VIEWER,
        &[("after", cursor), ("limit", &limit)],
    )
    .await
}

/// One batch of events.
struct Batch {
    events: Vec<Value>,
    next: String,
    has_more: bool,
}

async fn batch(base: &str, cursor: &str, limit: usize) -> Batch {
    let answer = events_answer(base, cursor, limit).await;
    assert_eq!(answer.status, 200, "events of {base}: {}", answer.body);
    let body = answer.json();
    let events = body["events"].as_array().expect("events").clone();
    instant(&body["server_time"]); // an RFC 3339 time with an offset
    Batch {
        events,
        next: text(&body, "next").to_owned(),
        has_more: body["has_more"].as_bool().expect("has_more"),
    }
}

/// Everything a feed delivered from a cursor on.
struct Drained {
    events: Vec<Value>,
    batches: usize,
    next: String,
}

/// Follows `next` from `cursor` until `has_more` is false.
async fn drain(base: &str, cursor: &str, limit: usize) -> Drained {
    let mut events = Vec::new();
    let mut next = cursor.to_owned();
    for batches in 1..=10_000 {
        let b = batch(base, &next, limit).await;
        assert!(
            b.events.len() <= limit,
            "{base}: {} events > limit {limit}",
            b.events.len()
        );
        events.extend(b.events);
        next = b.next;
        if !b.has_more {
            return Drained {
                events,
                batches,
                next,
            };
        }
    }
    panic!("{base}: has_more for 10000 batches");
}

fn seqs(events: &[Value]) -> Vec<u64> {
    events.iter().map(seq_of).collect()
}

fn assert_strictly_growing(seqs: &[u64], what: &str) {
    for pair in seqs.windows(2) {
        assert!(
            pair[0] < pair[1],
            "{what}: seq {} then {}",
            pair[0],
            pair[1]
        );
    }
}

/// Parses one event with the domain types, as a client would.
fn parse_event<C: Change>(event: &Value) -> Event<C> {
    serde_json::from_str(&event.to_string())
        .unwrap_or_else(|e| panic!("event does not parse: {e}: {event}"))
}

/// The declaration number and hold version of a held parcel nobody claimed.
async fn unclaimed_hold(sim: &RunningSim) -> (String, u64) {
    let url = format!("{}/v1/holds", sim.customs_url());
    let page = get_ok(&url, VIEWER, &[("page_size", "1000")]).await;
    let held = page["declarations"].as_array().expect("declarations");
    assert!(
        held.iter().all(|d| d["hold"].is_object()),
        "/v1/holds lists only held declarations"
    );
    let d = held
        .iter()
        .find(|d| d["hold"]["claimed_by"].is_null())
        .expect("an unclaimed hold");
    let version = d["hold"]["version"].as_u64().expect("hold version");
    (text(d, "declaration_no").to_owned(), version)
}

/// The `hold.updated` events of one declaration.
fn hold_updates<'a>(events: &'a [Value], declaration_no: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| e["type"] == "hold.updated" && e["data"]["declaration_no"] == declaration_no)
        .collect()
}

/// Every string inside a JSON value.
fn strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
        Value::Object(map) => map.values().for_each(|v| strings(v, out)),
        _ => {}
    }
}

/// The offsets of every RFC 3339 time inside a JSON value.
fn time_offsets(value: &Value) -> BTreeSet<String> {
    let mut all = Vec::new();
    strings(value, &mut all);
    all.iter()
        .filter_map(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.offset().to_string())
        .collect()
}

// ----- 1. pagination -------------------------------------------------------------

/// Trains read one, two or three at a time equal the single big page, in order.
#[tokio::test]
async fn train_pages_of_any_size_make_the_same_snapshot() {
    let sim = common::start_sim(SimConfig::default()).await;
    let url = trains_url(&sim);
    let whole = snapshot(&url, "trains", 1000, &[]).await;
    assert_eq!(whole.pages, 1);
    assert!(whole.items.len() >= 4, "{} trains", whole.items.len());
    let departures: Vec<_> = whole
        .items
        .iter()
        .map(|t| instant(&t["scheduled_departure"]))
        .collect();
    assert!(
        departures.is_sorted(),
        "trains are ordered by scheduled departure"
    );
    for size in [1, 2, 3] {
        let paged = snapshot(&url, "trains", size, &[]).await;
        assert!(paged.pages > 1);
        assert_eq!(paged.items, whole.items, "page_size {size}");
        assert_eq!(paged.cursor, whole.cursor, "page_size {size}");
    }
}

/// Declarations read in small pages equal the single big page, in order.
#[tokio::test]
async fn declaration_pages_of_any_size_make_the_same_snapshot() {
    let sim = common::start_sim(SimConfig::default()).await;
    let url = declarations_url(&sim);
    let whole = snapshot(&url, "declarations", 1000, &[]).await;
    assert_eq!(whole.pages, 1);
    assert_eq!(
        whole.items.len(),
        sim.state.world().stats().parcels_on_board,
        "every filed parcel on a train not yet gone"
    );
    let numbers: Vec<&str> = whole
        .items
        .iter()
        .map(|d| text(d, "declaration_no"))
        .collect();
    assert!(numbers.is_sorted(), "ordered by declaration_no");
    for size in [7, 100, 500] {
        let paged = snapshot(&url, "declarations", size, &[]).await;
        assert!(paged.pages > 1);
        assert_eq!(paged.items, whole.items, "page_size {size}");
        assert_eq!(paged.cursor, whole.cursor, "page_size {size}");
    }
}

/// Page sizes outside 1..=1000 (or not numbers) get 400 on the snapshot lists.
#[tokio::test]
async fn bad_page_sizes_get_400() {
    let sim = common::start_sim(SimConfig::default()).await;
    for url in [trains_url(&sim), declarations_url(&sim)] {
        for size in ["0", "1001", "x", "-1", ""] {
            get(&url, VIEWER, &[("page_size", size)])
                .await
                .assert_error(400, "bad_request", &format!("{url} page_size={size}"));
        }
    }
}

/// Page tokens the server never gave get 400 on the snapshot lists, not a silently empty page.
#[tokio::test]
async fn unknown_page_tokens_get_400() {
    let sim = common::start_sim(SimConfig::default()).await;
    for url in [trains_url(&sim), declarations_url(&sim)] {
        for token in ["not-a-token", "zzz", "1.2.3"] {
            get(&url, VIEWER, &[("page_token", token)])
                .await
                .assert_error(400, "bad_request", &format!("{url} page_token={token}"));
        }
    }
}

/// Every page of `/v1/holds`, `page_size` at a time.
async fn held_list(url: &str, page_size: &str) -> Vec<Value> {
    let pages = common::walk_pages(url, 10_000, async |token| {
        let mut query = vec![("page_size", page_size)];
        if let Some(token) = token {
            query.push(("page_token", token));
        }
        let page = get_ok(url, VIEWER, &query).await;
        let next = common::next_page_token(&page);
        (page, next)
    })
    .await;
    pages
        .iter()
        .flat_map(|page| page["declarations"].as_array().expect("declarations"))
        .cloned()
        .collect()
}

/// Held declarations read one at a time equal the single big page, most urgent train first.
#[tokio::test]
async fn holds_pages_of_any_size_make_the_same_list() {
    let sim = common::start_sim(common::triage_config()).await;
    let url = format!("{}/v1/holds", sim.customs_url());
    let whole = held_list(&url, "1000").await;
    assert!(whole.len() > 5, "{} holds", whole.len());
    assert!(
        whole.iter().all(|d| d["hold"].is_object()),
        "only held declarations"
    );
    assert_eq!(held_list(&url, "1").await, whole);
    assert_eq!(held_list(&url, "4").await, whole);
    let trains = snapshot(&trains_url(&sim), "trains", 1000, &[]).await.items;
    let release_cutoff: HashMap<&str, DateTime<Utc>> = trains
        .iter()
        .map(|t| {
            (
                text(t, "train_id"),
                instant(&t["cutoffs"]["customs_release"]),
            )
        })
        .collect();
    let cutoffs: Vec<DateTime<Utc>> = whole
        .iter()
        .map(|d| release_cutoff[text(d, "train_id")])
        .collect();
    assert!(cutoffs.is_sorted(), "most urgent train first");
}

/// `station`, `from` and `to` select trains; `from`/`to` take any offset.
#[tokio::test]
async fn trains_filter_by_station_and_departure_window() {
    let sim = common::start_sim(SimConfig::default()).await;
    let url = trains_url(&sim);
    let all = snapshot(&url, "trains", 1000, &[]).await.items;
    let at_akr = snapshot(&url, "trains", 2, &[("station", "AKR")]).await;
    assert_eq!(at_akr.items, all, "every train leaves from AKR");
    let nowhere = snapshot(&url, "trains", 2, &[("station", "XXX")]).await;
    assert!(nowhere.items.is_empty(), "no train leaves from XXX");

    let beijing = FixedOffset::east_opt(8 * 3600).expect("offset");
    let dostyk = FixedOffset::east_opt(5 * 3600).expect("offset");
    let from = instant(&all[1]["scheduled_departure"]);
    let to = instant(&all[3]["scheduled_departure"]);
    let in_window = |lo: Option<DateTime<Utc>>, hi: Option<DateTime<Utc>>| -> Vec<Value> {
        all.iter()
            .filter(|t| {
                let at = instant(&t["scheduled_departure"]);
                lo.is_none_or(|lo| at >= lo) && hi.is_none_or(|hi| at < hi)
            })
            .cloned()
            .collect()
    };
    let expected = in_window(Some(from), Some(to));
    assert_eq!(expected.len(), 2, "[from, to) holds trains 1 and 2");
    for offset in [beijing, dostyk] {
        let from_text = from.with_timezone(&offset).to_rfc3339();
        let to_text = to.with_timezone(&offset).to_rfc3339();
        let both = snapshot(&url, "trains", 1, &[("from", &from_text), ("to", &to_text)]).await;
        assert_eq!(both.items, expected, "from={from_text} to={to_text}");
        let only_from = snapshot(&url, "trains", 1, &[("from", &from_text)]).await;
        assert_eq!(
            only_from.items,
            in_window(Some(from), None),
            "from={from_text}"
        );
        let only_to = snapshot(&url, "trains", 1, &[("to", &to_text)]).await;
        assert_eq!(only_to.items, in_window(None, Some(to)), "to={to_text}");
    }
    for bad in ["2026-11-26T12:00:00", "yesterday"] {
        get(&url, VIEWER, &[("from", bad)]).await.assert_error(
            400,
            "bad_request",
            &format!("from={bad}"),
        );
        get(&url, VIEWER, &[("to", bad)]).await.assert_error(
            400,
            "bad_request",
            &format!("to={bad}"),
        );
    }
}

/// `train_id` selects that train's declarations, in the same order, in any page size.
#[tokio::test]
async fn declarations_filter_by_train() {
    let sim = common::start_sim(SimConfig::default()).await;
    let url = declarations_url(&sim);
    let all = snapshot(&url, "declarations", 1000, &[]).await.items;
    let mut per_train: BTreeMap<&str, usize> = BTreeMap::new();
    for d in &all {
        *per_train.entry(text(d, "train_id")).or_default() += 1;
    }
    assert!(per_train.len() >= 2, "parcels on several trains");
    for train_id in per_train.keys() {
        let expected: Vec<Value> = all
            .iter()
            .filter(|d| d["train_id"] == *train_id)
            .cloned()
            .collect();
        let got = snapshot(&url, "declarations", 50, &[("train_id", train_id)]).await;
        assert_eq!(got.items, expected, "train_id={train_id}");
    }
    let none = snapshot(&url, "declarations", 50, &[("train_id", "X0000-20000101")]).await;
    assert!(none.items.is_empty());
}

// ----- 2. cursors ------------------------------------------------------------------

/// Events after a snapshot cursor arrive once the clock moves, in growing seq, within `limit`.
#[tokio::test]
async fn events_follow_the_snapshot_cursor_in_growing_seq() {
    let sim = common::start_sim(SimConfig::default()).await;
    let feeds = feeds(&sim);
    let mut cursors = Vec::new();
    for feed in &feeds {
        let cursor = fresh_cursor(&feed.snapshot).await;
        let still = batch(&feed.base, &cursor, 500).await;
        assert!(
            still.events.is_empty(),
            "{}: nothing happens on a paused clock",
            feed.base
        );
        assert!(!still.has_more);
        cursors.push(cursor);
    }
    common::advance(&sim, 60.0).await;
    for (feed, cursor) in feeds.iter().zip(&cursors) {
        let small = drain(&feed.base, cursor, 10).await;
        assert!(
            small.batches > 2,
            "{}: {} events in {} batches",
            feed.base,
            small.events.len(),
            small.batches
        );
        assert_strictly_growing(&seqs(&small.events), &feed.base);
        let whole = drain(&feed.base, cursor, 5000).await;
        assert_eq!(whole.batches, 1);
        assert_eq!(
            whole.events, small.events,
            "{}: the batch size changes nothing",
            feed.base
        );
        let after = batch(&feed.base, &small.next, 500).await;
        assert!(
            after.events.is_empty() && !after.has_more,
            "{}: drained",
            feed.base
        );
    }
}

/// Garbage cursors, the other feed's cursors and another simulator's cursors get 410.
#[tokio::test]
async fn unrecognised_cursors_get_410_cursor_expired() {
    let sim = common::start_sim(SimConfig::default()).await;
    let other = common::start_sim(SimConfig {
        seed: 2,
        ..SimConfig::default()
    })
    .await;
    let [railway, customs] = feeds(&sim);
    let [other_railway, other_customs] = feeds(&other);
    // The other simulator runs ahead for a while and this one further, so
    // that the foreign cursors point into a stretch of feed this one has too.
    common::advance(&other, 300.0).await;
    let foreign_railway = fresh_cursor(&other_railway.snapshot).await;
    let foreign_customs = fresh_cursor(&other_customs.snapshot).await;
    common::advance(&sim, 600.0).await;
    let railway_cursor = fresh_cursor(&railway.snapshot).await;
    let customs_cursor = fresh_cursor(&customs.snapshot).await;
    assert_eq!(
        events_answer(&railway.base, &railway_cursor, 10)
            .await
            .status,
        200
    );
    assert_eq!(
        events_answer(&customs.base, &customs_cursor, 10)
            .await
            .status,
        200
    );
    let cases = [
        (&railway, "garbage".to_owned()),
        (&customs, "0".repeat(24)),
        (&customs, "z".repeat(24)),
        (&railway, customs_cursor.clone()),
        (&customs, railway_cursor.clone()),
        (&railway, foreign_railway),
        (&customs, foreign_customs),
    ];
    for (feed, cursor) in cases {
        events_answer(&feed.base, &cursor, 10).await.assert_error(
            410,
            "cursor_expired",
            &format!("{} after={cursor}", feed.base),
        );
    }
}

/// After `POST /control/expire-cursors` old cursors get 410 and a fresh snapshot's cursor works.
#[tokio::test]
async fn forced_expiry_needs_a_fresh_snapshot() {
    let sim = common::start_sim(SimConfig::default()).await;
    let feeds = feeds(&sim);
    let mut old = Vec::new();
    for feed in &feeds {
        old.push(fresh_cursor(&feed.snapshot).await);
    }
    common::control(&sim, "expire-cursors", json!({})).await;
    for (feed, cursor) in feeds.iter().zip(&old) {
        events_answer(&feed.base, cursor, 10).await.assert_error(
            410,
            "cursor_expired",
            &format!("{} after expiry", feed.base),
        );
        let fresh = fresh_cursor(&feed.snapshot).await;
        assert!(batch(&feed.base, &fresh, 10).await.events.is_empty());
        common::advance(&sim, 30.0).await;
        let events = drain(&feed.base, &fresh, 500).await.events;
        assert!(
            !events.is_empty(),
            "{}: the fresh cursor delivers",
            feed.base
        );
    }
}

/// A cursor older than `event_retention_minutes` gets 410; a recent one still works.
#[tokio::test]
async fn cursors_older_than_the_retention_expire() {
    let sim = common::start_sim(SimConfig {
        event_retention_minutes: 1.0,
        ..SimConfig::default()
    })
    .await;
    let feeds = feeds(&sim);
    let mut old = Vec::new();
    for feed in &feeds {
        old.push(fresh_cursor(&feed.snapshot).await);
    }
    common::advance(&sim, 90.0).await;
    let mut recent = Vec::new();
    for feed in &feeds {
        recent.push(fresh_cursor(&feed.snapshot).await);
    }
    common::advance(&sim, 30.0).await;
    for ((feed, old), recent) in feeds.iter().zip(&old).zip(&recent) {
        events_answer(&feed.base, old, 10).await.assert_error(
            410,
            "cursor_expired",
            &format!("{}: a 120 s old cursor", feed.base),
        );
        let events = drain(&feed.base, recent, 500).await.events;
        assert!(!events.is_empty(), "{}: a 30 s old cursor works", feed.base);
        assert!(events.iter().all(|e| instant(&e["at"]) > clock_at(90)));
        let fresh = fresh_cursor(&feed.snapshot).await;
        assert_eq!(events_answer(&feed.base, &fresh, 10).await.status, 200);
    }
}

/// `after` missing, empty or too long, and `limit` outside 1..=5000 get 400.
#[tokio::test]
async fn bad_event_requests_get_400() {
    let sim = common::start_sim(SimConfig::default()).await;
    for feed in feeds(&sim) {
        let url = format!("{}/v1/events", feed.base);
        let cursor = fresh_cursor(&feed.snapshot).await;
        get(&url, VIEWER, &[])
            .await
            .assert_error(400, "bad_request", "after missing");
        get(&url, VIEWER, &[("after", "")])
            .await
            .assert_error(400, "bad_request", "after empty");
        get(&url, VIEWER, &[("after", &"a".repeat(257))])
            .await
            .assert_error(400, "bad_request", "after of 257 characters");
        for limit in ["0", "5001", "x", "-1"] {
            get(&url, VIEWER, &[("after", &cursor), ("limit", limit)])
                .await
                .assert_error(400, "bad_request", &format!("limit={limit}"));
        }
        for limit in ["1", "5000"] {
            let answer = get(&url, VIEWER, &[("after", &cursor), ("limit", limit)]).await;
            assert_eq!(answer.status, 200, "limit={limit}: {}", answer.body);
        }
    }
}

// ----- 3. snapshot + events ----------------------------------------------------------

/// Applies customs events to declarations by number, as a client would:
/// idempotently, never letting an older seq undo a newer one.
fn apply_customs_events(model: &mut BTreeMap<String, Value>, events: &[Value]) {
    for event in events {
        let seq = seq_of(event);
        let data = &event["data"];
        let kind = text(event, "type");
        if kind == "declaration.filed" {
            let d = &data["declaration"];
            let number = text(d, "declaration_no").to_owned();
            if model.get(&number).is_none_or(|old| seq_of(old) < seq) {
                model.insert(number, d.clone());
            }
            continue;
        }
        let Some(d) = data["declaration_no"]
            .as_str()
            .and_then(|n| model.get_mut(n))
        else {
            continue;
        };
        if seq <= seq_of(d) {
            continue;
        }
        match kind {
            "declaration.status" => d["status"] = data["status"].clone(),
            "declaration.rebooked" => {
                d["train_id"] = data["train_id"].clone();
                d["container_no"] = data.get("container_no").cloned().unwrap_or(Value::Null);
            }
            "inspection.selected" | "inspection.started" | "inspection.completed" => {
                d["inspection"] = data["inspection"].clone();
            }
            "hold.placed" | "hold.updated" => d["hold"] = data["hold"].clone(),
            "hold.lifted" => d["hold"] = Value::Null,
            _ => continue,
        }
        d["seq"] = json!(seq);
    }
}

/// Keys whose values differ between two JSON objects.
fn differing_keys(a: &Value, b: &Value) -> Vec<String> {
    let keys: BTreeSet<&String> = a
        .as_object()
        .into_iter()
        .chain(b.as_object())
        .flat_map(|o| o.keys())
        .collect();
    keys.into_iter()
        .filter(|k| a.get(k.as_str()) != b.get(k.as_str()))
        .cloned()
        .collect()
}

/// A declaration snapshot plus its events equals a fresh snapshot.
#[tokio::test]
async fn declaration_snapshot_plus_events_equals_a_fresh_snapshot() {
    let sim = common::start_sim(SimConfig::default()).await;
    let url = declarations_url(&sim);
    let first = snapshot(&url, "declarations", 1000, &[]).await;
    let mut model: BTreeMap<String, Value> = first
        .items
        .iter()
        .map(|d| (text(d, "declaration_no").to_owned(), d.clone()))
        .collect();
    common::advance(&sim, 300.0).await;
    let events = drain(&sim.customs_url(), &first.cursor, 5000).await.events;
    assert!(events.len() > 500, "{} events", events.len());
    apply_customs_events(&mut model, &events);
    let changed = first
        .items
        .iter()
        .filter(|d| model[text(d, "declaration_no")] != **d)
        .count();
    assert!(changed > 100, "only {changed} declarations changed");

    let fresh = snapshot(&url, "declarations", 1000, &[]).await;
    assert!(fresh.items.len() > 500);
    let mut missing = Vec::new();
    let mut differ = Vec::new();
    for d in &fresh.items {
        let number = text(d, "declaration_no");
        match model.get(number) {
            None => missing.push(number),
            Some(m) => {
                let keys = differing_keys(m, d);
                if !keys.is_empty() {
                    differ.push((number, keys));
                }
            }
        }
    }
    assert!(missing.is_empty(), "not reached by the events: {missing:?}");
    let core: Vec<_> = differ
        .iter()
        .filter(|(_, keys)| {
            keys.iter()
                .any(|k| ["status", "hold", "train_id"].contains(&k.as_str()))
        })
        .collect();
    assert!(core.is_empty(), "status, hold or train_id differ: {core:?}");
    assert!(differ.is_empty(), "other fields differ: {differ:?}");
}

/// The railway side as a client keeps it: trains and containers by id.
#[derive(Default)]
struct RailwayModel {
    trains: BTreeMap<String, Value>,
    containers: BTreeMap<String, Value>,
}

impl RailwayModel {
    /// Adds a whole train and the containers it lists.
    fn add_train(&mut self, train: &Value) {
        for c in train["containers"].as_array().into_iter().flatten() {
            self.containers
                .insert(text(c, "container_no").to_owned(), c.clone());
        }
        self.trains
            .insert(text(train, "train_id").to_owned(), train.clone());
    }

    /// Applies one event, idempotently, skipping one older than the object.
    fn apply(&mut self, event: &Value) {
        let seq = seq_of(event);
        let data = &event["data"];
        let kind = text(event, "type");
        let newer = |old: Option<&Value>| old.is_none_or(|old| seq_of(old) < seq);
        match kind {
            "train.scheduled" => {
                if newer(self.trains.get(text(&data["train"], "train_id"))) {
                    self.add_train(&data["train"]);
                }
            }
            "container.booked" => {
                let c = &data["container"];
                if newer(self.containers.get(text(c, "container_no"))) {
                    self.containers
                        .insert(text(c, "container_no").to_owned(), c.clone());
                }
            }
            "train.updated" | "train.departed" | "train.cancelled" => {
                let Some(t) = self.trains.get_mut(text(data, "train_id")) else {
                    return;
                };
                if seq <= seq_of(t) {
                    return;
                }
                match kind {
                    "train.departed" => {
                        t["status"] = json!("departed");
                        t["actual_departure"] = data["actual_departure"].clone();
                    }
                    "train.cancelled" => t["status"] = json!("cancelled"),
                    _ => {
                        for key in ["status", "estimated_departure", "cutoffs"] {
                            if let Some(value) = data.get(key) {
                                t[key] = value.clone();
                            }
                        }
                    }
                }
                t["seq"] = json!(seq);
            }
            _ => {
                let Some(c) = data["container_no"]
                    .as_str()
                    .and_then(|n| self.containers.get_mut(n))
                else {
                    return;
                };
                if seq <= seq_of(c) {
                    return;
                }
                match kind {
                    "container.arrived" => c["arrived_at"] = data["arrived_at"].clone(),
                    "container.rebooked" => c["train_id"] = data["to_train_id"].clone(),
                    k if k.starts_with("transshipment.") => {
                        c["transshipment"] = data["transshipment"].clone();
                    }
                    _ => return,
                }
                c["seq"] = json!(seq);
            }
        }
    }

    /// How a fresh train (with its containers) differs from the model.
    fn differences(&self, train: &Value) -> Vec<String> {
        let train_id = text(train, "train_id");
        let Some(m) = self.trains.get(train_id) else {
            return vec![format!("{train_id}: not reached by the events")];
        };
        let mut out = Vec::new();
        for key in [
            "status",
            "estimated_departure",
            "actual_departure",
            "cutoffs",
            "seq",
        ] {
            if m[key] != train[key] {
                out.push(format!(
                    "{train_id}.{key}: events {} / snapshot {}",
                    m[key], train[key]
                ));
            }
        }
        let listed = train["containers"].as_array().expect("containers");
        let booked: BTreeSet<&str> = self
            .containers
            .iter()
            .filter(|(_, c)| c["train_id"] == train_id)
            .map(|(no, _)| no.as_str())
            .collect();
        let listed_nos: BTreeSet<&str> = listed.iter().map(|c| text(c, "container_no")).collect();
        if booked != listed_nos {
            out.push(format!(
                "{train_id}: events book {booked:?}, snapshot lists {listed_nos:?}"
            ));
        }
        for c in listed {
            let no = text(c, "container_no");
            let Some(m) = self.containers.get(no) else {
                continue;
            };
            for key in ["train_id", "arrived_at", "transshipment", "seq"] {
                if m[key] != c[key] {
                    out.push(format!(
                        "{no}.{key}: events {} / snapshot {}",
                        m[key], c[key]
                    ));
                }
            }
        }
        out
    }
}

/// A train snapshot plus its events equals a fresh snapshot (train status, containers, shed).
#[tokio::test]
async fn train_snapshot_plus_events_equals_a_fresh_snapshot() {
    let sim = common::start_sim(SimConfig::default()).await;
    let url = trains_url(&sim);
    let first = snapshot(&url, "trains", 1000, &[]).await;
    let mut model = RailwayModel::default();
    for t in &first.items {
        model.add_train(t);
    }
    common::advance(&sim, 300.0).await;
    let events = drain(&sim.railway_url(), &first.cursor, 5000).await.events;
    let kinds: BTreeSet<&str> = events.iter().map(|e| text(e, "type")).collect();
    for kind in [
        "train.scheduled",
        "container.booked",
        "container.arrived",
        "transshipment.completed",
        "train.departed",
    ] {
        assert!(kinds.contains(kind), "no {kind} in {kinds:?}");
    }
    for event in &events {
        model.apply(event);
    }
    let fresh = snapshot(&url, "trains", 1000, &[]).await;
    let wrong: Vec<String> = fresh
        .items
        .iter()
        .flat_map(|t| model.differences(t))
        .collect();
    assert!(
        wrong.is_empty(),
        "{} differ: {:?}",
        wrong.len(),
        &wrong[..wrong.len().min(5)]
    );
}

// ----- 4. idempotent actions -----------------------------------------------------------

/// The same Idempotency-Key twice records one claim (201 then 200, same body, one hold.updated).
#[tokio::test]
async fn the_same_idempotency_key_records_an_action_once() {
    let sim = common::start_sim(common::triage_config()).await;
    let cursor = fresh_cursor(&declarations_url(&sim)).await;
    let (number, version) = unclaimed_hold(&sim).await;
    let key = new_key();
    let first = post_action(&sim, OFFICER, &number, &key, json!({"action": "claim"})).await;
    assert_eq!(first.status, 201, "{}", first.body);
    let again = post_action(&sim, OFFICER, &number, &key, json!({"action": "claim"})).await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.body, first.body, "the replay is the original result");
    let result = first.json();
    assert_eq!(result["declaration_no"], number.as_str());
    assert_eq!(result["action"], "claim");
    assert_eq!(result["hold"]["claimed_by"], "ALK-0417");
    assert_eq!(result["hold"]["version"], version + 1);

    let events = drain(&sim.customs_url(), &cursor, 5000).await.events;
    let updates = hold_updates(&events, &number);
    assert_eq!(updates.len(), 1, "one hold.updated: {updates:?}");
    assert_eq!(updates[0]["data"]["hold"], result["hold"]);
    assert_eq!(updates[0]["data"]["by"], "ALK-0417");
    let declaration = get_ok(&format!("{}/{number}", declarations_url(&sim)), VIEWER, &[]).await;
    assert_eq!(declaration["hold"], result["hold"]);

    let other = post_action(
        &sim,
        OFFICER,
        &number,
        &new_key(),
        json!({"action": "claim"}),
    )
    .await;
    assert_eq!(
        other.status, 201,
        "a new key is a new action: {}",
        other.body
    );
    let other = other.json();
    assert_ne!(other["action_id"], result["action_id"]);
    assert_eq!(other["hold"]["version"], version + 2);
    let events = drain(&sim.customs_url(), &cursor, 5000).await.events;
    assert_eq!(hold_updates(&events, &number).len(), 2);
}

/// Actions answer 400, 404, 409 and 422 as the contract says.
#[tokio::test]
async fn hold_action_errors_follow_the_contract() {
    let sim = common::start_sim(common::triage_config()).await;
    let (number, version) = unclaimed_hold(&sim).await;
    let claim = json!({"action": "claim"});
    let url = format!("{}/v1/holds/{number}/actions", sim.customs_url());
    send(
        common::client()
            .post(&url)
            .bearer_auth(OFFICER)
            .json(&claim),
    )
    .await
    .assert_error(400, "bad_request", "no Idempotency-Key");
    post_action(
        &sim,
        OFFICER,
        &number,
        &new_key(),
        json!({"action": "dance"}),
    )
    .await
    .assert_error(400, "bad_request", "unknown action");
    post_action(
        &sim,
        OFFICER,
        &number,
        &new_key(),
        json!({"action": "claim", "expected_version": version + 5}),
    )
    .await
    .assert_error(409, "version_conflict", "stale expected_version");
    post_action(
        &sim,
        OFFICER,
        "94022026E999999999",
        &new_key(),
        claim.clone(),
    )
    .await
    .assert_error(404, "not_found", "unknown declaration");
    let all = snapshot(&declarations_url(&sim), "declarations", 1000, &[])
        .await
        .items;
    let free = all
        .iter()
        .find(|d| d["hold"].is_null())
        .expect("a declaration not held");
    post_action(
        &sim,
        OFFICER,
        text(free, "declaration_no"),
        &new_key(),
        claim.clone(),
    )
    .await
    .assert_error(422, "not_held", "not held");
    let ok = post_action(
        &sim,
        OFFICER,
        &number,
        &new_key(),
        json!({"action": "claim", "expected_version": version}),
    )
    .await;
    assert_eq!(ok.status, 201, "the right expected_version: {}", ok.body);
}

// ----- 5. roles ----------------------------------------------------------------------

/// whoami names each token's officer and role.
#[tokio::test]
async fn whoami_names_the_officer_and_role() {
    let sim = common::start_sim(SimConfig::default()).await;
    let url = format!("{}/v1/whoami", sim.customs_url());
    for (token, officer_id, role) in [
        (VIEWER, "ALK-WALL1", "viewer"),
        (OFFICER, "ALK-0417", "officer"),
        (OFFICER_2, "ALK-0233", "officer"),
        (SUPERVISOR, "ALK-0001", "supervisor"),
    ] {
        let me = get_ok(&url, token, &[]).await;
        assert_eq!(me["officer_id"], officer_id, "{token}");
        assert_eq!(me["role"], role, "{token}");
        assert!(me["name"].is_string(), "{token}");
    }
}

/// A viewer reads everything but may not act.
#[tokio::test]
async fn viewers_read_everything_and_may_not_act() {
    let sim = common::start_sim(common::triage_config()).await;
    let (number, _) = unclaimed_hold(&sim).await;
    let trains = snapshot(&trains_url(&sim), "trains", 1000, &[]).await;
    let train = &trains.items[0];
    let container = &train["containers"][0];
    let customs_cursor = fresh_cursor(&declarations_url(&sim)).await;
    let reads = [
        (format!("{}/v1/whoami", sim.customs_url()), vec![]),
        (trains_url(&sim), vec![]),
        (
            format!("{}/{}", trains_url(&sim), text(train, "train_id")),
            vec![],
        ),
        (
            format!(
                "{}/v1/containers/{}",
                sim.railway_url(),
                text(container, "container_no")
            ),
            vec![],
        ),
        (
            format!("{}/v1/events", sim.railway_url()),
            vec![("after", trains.cursor.as_str())],
        ),
        (declarations_url(&sim), vec![]),
        (format!("{}/{number}", declarations_url(&sim)), vec![]),
        (format!("{}/v1/holds", sim.customs_url()), vec![]),
        (
            format!("{}/v1/events", sim.customs_url()),
            vec![("after", customs_cursor.as_str())],
        ),
    ];
    for (url, query) in &reads {
        get_ok(url, VIEWER, query).await;
    }
    for action in ["claim", "note", "escalate"] {
        post_action(
            &sim,
            VIEWER,
            &number,
            &new_key(),
            json!({"action": action, "note": "x"}),
        )
        .await
        .assert_error(403, "forbidden", &format!("viewer {action}"));
    }
}

/// A claim is the claimant's: others get 409 but may note; only a supervisor releases it.
#[tokio::test]
async fn claims_belong_to_their_officer() {
    let sim = common::start_sim(common::triage_config()).await;
    let (number, _) = unclaimed_hold(&sim).await;
    let claimed = post_action(
        &sim,
        OFFICER,
        &number,
        &new_key(),
        json!({"action": "claim"}),
    )
    .await;
    assert_eq!(claimed.status, 201, "{}", claimed.body);
    for action in [
        "claim",
        "escalate",
        "defer_to_next_train",
        "request_priority_inspection",
    ] {
        post_action(
            &sim,
            OFFICER_2,
            &number,
            &new_key(),
            json!({"action": action}),
        )
        .await
        .assert_error(409, "claimed_by_other", &format!("officer-2 {action}"));
    }
    let note = post_action(
        &sim,
        OFFICER_2,
        &number,
        &new_key(),
        json!({"action": "note", "note": "李建国：已核对发票"}),
    )
    .await;
    assert_eq!(note.status, 201, "{}", note.body);
    let hold = &note.json()["hold"];
    assert_eq!(hold["claimed_by"], "ALK-0417");
    assert_eq!(hold["notes"][0]["officer_id"], "ALK-0233");
    post_action(
        &sim,
        OFFICER_2,
        &number,
        &new_key(),
        json!({"action": "unclaim"}),
    )
    .await
    .assert_error(403, "forbidden", "officer-2 unclaims another's claim");
    let released = post_action(
        &sim,
        SUPERVISOR,
        &number,
        &new_key(),
        json!({"action": "unclaim"}),
    )
    .await;
    assert_eq!(released.status, 201, "{}", released.body);
    assert!(released.json()["hold"]["claimed_by"].is_null());
    let declaration = get_ok(&format!("{}/{number}", declarations_url(&sim)), VIEWER, &[]).await;
    assert!(declaration["hold"]["claimed_by"].is_null());
}

/// No token or an unknown token gets 401 on every operation.
#[tokio::test]
async fn missing_or_unknown_tokens_get_401() {
    let sim = common::start_sim(common::triage_config()).await;
    let (number, _) = unclaimed_hold(&sim).await;
    let cursor = fresh_cursor(&trains_url(&sim)).await;
    let gets = [
        trains_url(&sim),
        format!("{}/X8017-20261126", trains_url(&sim)),
        format!("{}/v1/containers/CSQU3054383", sim.railway_url()),
        format!("{}/v1/events?after={cursor}", sim.railway_url()),
        format!("{}/v1/whoami", sim.customs_url()),
        declarations_url(&sim),
        format!("{}/{number}", declarations_url(&sim)),
        format!("{}/v1/holds", sim.customs_url()),
        format!("{}/v1/events?after={cursor}", sim.customs_url()),
    ];
    let action = format!("{}/v1/holds/{number}/actions", sim.customs_url());
    for token in [None, Some("nope"), Some("")] {
        let with = |request: RequestBuilder| match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        };
        for url in &gets {
            send(with(common::client().get(url))).await.assert_error(
                401,
                "unauthorized",
                &format!("GET {url} token {token:?}"),
            );
        }
        let post = common::client()
            .post(&action)
            .header("Idempotency-Key", new_key())
            .json(&json!({"action": "claim"}));
        send(with(post)).await.assert_error(
            401,
            "unauthorized",
            &format!("POST {action} token {token:?}"),
        );
    }
}

// ----- 6. faults -------------------------------------------------------------------------

/// `duplicates` redelivers events (in a batch and by stepping back) and loses none.
#[tokio::test]
async fn duplicates_fault_redelivers_and_loses_nothing() {
    let sim = common::start_sim(SimConfig::default()).await;
    let base = sim.customs_url();
    let cursor = fresh_cursor(&declarations_url(&sim)).await;
    common::advance(&sim, 120.0).await;
    let clean = drain(&base, &cursor, 5000).await.events;
    common::faults(&sim, json!({"duplicates": true})).await;
    let mut seen: HashMap<String, Value> = HashMap::new();
    let (mut in_batch, mut stepped_back, mut over_limit) = (0, 0, 0);
    let mut highest = 0;
    let mut next = cursor.clone();
    for _ in 0..1000 {
        let b = batch(&base, &next, 20).await;
        if b.events.len() > 20 {
            over_limit += 1;
        }
        let mut ids_in_batch = BTreeSet::new();
        for event in &b.events {
            let id = text(event, "event_id").to_owned();
            if !ids_in_batch.insert(id.clone()) {
                in_batch += 1;
            } else if seq_of(event) <= highest {
                stepped_back += 1;
            }
            if let Some(first) = seen.get(&id) {
                assert_eq!(first, event, "a redelivered event is the same event");
            }
            seen.insert(id, event.clone());
            highest = highest.max(seq_of(event));
        }
        next = b.next;
        if !b.has_more {
            break;
        }
    }
    assert!(in_batch > 0, "no event repeated inside a batch");
    assert!(stepped_back > 0, "no next cursor stepped back");
    let delivered: BTreeSet<u64> = seen.values().map(seq_of).collect();
    let expected: BTreeSet<u64> = seqs(&clean).into_iter().collect();
    assert_eq!(delivered, expected, "every event, none lost");
    assert_eq!(over_limit, 0, "batches of more than limit=20 events");
}

/// `reorder` holds one feed's last `reorder_lag_seconds` of events back until later.
#[tokio::test]
async fn reorder_fault_delays_one_feed() {
    let sim = common::start_sim(SimConfig::default()).await;
    let feeds = feeds(&sim);
    let mut cursors = Vec::new();
    for feed in &feeds {
        cursors.push(fresh_cursor(&feed.snapshot).await);
    }
    common::faults(&sim, json!({"reorder": true, "reorder_lag_seconds": 20.0})).await;
    common::advance(&sim, 60.0).await;
    let edge = clock_at(60 - 20);
    let mut faulted = Vec::new();
    for (feed, cursor) in feeds.iter().zip(&cursors) {
        faulted.push(drain(&feed.base, cursor, 5000).await);
    }
    common::faults(&sim, json!({"reorder": false})).await;
    let mut lagging = Vec::new();
    for ((feed, cursor), late) in feeds.iter().zip(&cursors).zip(&faulted) {
        let clean = drain(&feed.base, cursor, 5000).await.events;
        assert_strictly_growing(&seqs(&late.events), &feed.base);
        let recent = clean.iter().filter(|e| instant(&e["at"]) > edge).count();
        assert!(
            recent > 0,
            "{}: nothing happened in the last 20 s",
            feed.base
        );
        if late.events == clean {
            continue;
        }
        let (early, held) = clean.split_at(clean.len() - recent);
        assert_eq!(
            late.events, early,
            "{}: exactly the last 20 s are held back",
            feed.base
        );
        let held: BTreeSet<String> = held
            .iter()
            .map(|e| text(e, "event_id").to_owned())
            .collect();
        lagging.push((feed, &late.next, held));
    }
    assert_eq!(lagging.len(), 1, "exactly one feed lags");
    let (feed, next, held) = &lagging[0];
    common::faults(&sim, json!({"reorder": true})).await;
    common::advance(&sim, 21.0).await;
    let later = drain(&feed.base, next, 5000).await.events;
    let arrived: BTreeSet<String> = later
        .iter()
        .map(|e| text(e, "event_id").to_owned())
        .collect();
    assert!(
        held.is_subset(&arrived),
        "{}: the held-back events arrive later",
        feed.base
    );
}

/// `rate_limit` answers 429 with an integer Retry-After and a JSON error.
#[tokio::test]
async fn rate_limit_fault_answers_429_with_retry_after() {
    let sim = common::start_sim(SimConfig::default()).await;
    let urls = [trains_url(&sim), declarations_url(&sim)];
    common::faults(
        &sim,
        json!({"rate_limit": true, "rate_limit_share": 1.0, "retry_after_seconds": 3}),
    )
    .await;
    for url in &urls {
        let answer = get(url, VIEWER, &[]).await;
        answer.assert_error(429, "rate_limited", url);
        let retry_after = answer.header("retry-after").expect("Retry-After");
        assert_eq!(retry_after.parse::<u32>(), Ok(3), "{url}");
    }
    common::faults(&sim, json!({"rate_limit": false})).await;
    for url in &urls {
        get_ok(url, VIEWER, &[]).await;
    }
}

/// `outages` answers 503 with a JSON error while on, and normally once off.
#[tokio::test]
async fn outages_fault_answers_503() {
    let sim = common::start_sim(SimConfig::default()).await;
    let cursor = fresh_cursor(&declarations_url(&sim)).await;
    let events = format!("{}/v1/events", sim.customs_url());
    let cases = [
        (trains_url(&sim), vec![]),
        (declarations_url(&sim), vec![]),
        (events, vec![("after", cursor.as_str())]),
    ];
    common::faults(
        &sim,
        json!({"outages": true, "outage_every_seconds": 5.0, "outage_seconds": 5.0}),
    )
    .await;
    for (url, query) in &cases {
        let answer = get(url, VIEWER, query).await;
        answer.assert_error(503, "unavailable", url);
        let retry_after = answer.header("retry-after").expect("Retry-After");
        assert!(
            retry_after.parse::<u32>().is_ok(),
            "Retry-After {retry_after:?}"
        );
    }
    common::faults(&sim, json!({"outages": false})).await;
    for (url, query) in &cases {
        get_ok(url, VIEWER, query).await;
    }
}

/// `slow` makes an answer take at least `slow_ms`.
#[tokio::test]
async fn slow_fault_delays_answers() {
    let sim = common::start_sim(SimConfig::default()).await;
    let url = format!("{}/v1/whoami", sim.customs_url());
    common::faults(
        &sim,
        json!({"slow": true, "slow_share": 1.0, "slow_ms": 300}),
    )
    .await;
    let started = Instant::now();
    let me = get_ok(&url, OFFICER, &[]).await;
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(300), "answered in {took:?}");
    assert_eq!(me["officer_id"], "ALK-0417");
}

/// `cursor_expiry` answers 410 cursor_expired to good cursors.
#[tokio::test]
async fn cursor_expiry_fault_answers_410() {
    let sim = common::start_sim(SimConfig::default()).await;
    let feeds = feeds(&sim);
    common::faults(
        &sim,
        json!({"cursor_expiry": true, "cursor_expiry_share": 1.0}),
    )
    .await;
    let mut cursors = Vec::new();
    for feed in &feeds {
        let cursor = fresh_cursor(&feed.snapshot).await;
        events_answer(&feed.base, &cursor, 10).await.assert_error(
            410,
            "cursor_expired",
            &feed.base,
        );
        cursors.push(cursor);
    }
    common::faults(&sim, json!({"cursor_expiry": false})).await;
    for (feed, cursor) in feeds.iter().zip(&cursors) {
        assert_eq!(
            events_answer(&feed.base, cursor, 10).await.status,
            200,
            "{}",
            feed.base
        );
    }
}

/// `unknown_codes` brings event types and receipt codes outside the contract; the domain reads them.
#[tokio::test]
async fn unknown_codes_fault_brings_unknown_types_and_codes() {
    let sim = common::start_sim(SimConfig::default()).await;
    let railway_cursor = fresh_cursor(&trains_url(&sim)).await;
    let customs_cursor = fresh_cursor(&declarations_url(&sim)).await;
    common::faults(&sim, json!({"unknown_codes": true})).await;
    common::advance(&sim, 300.0).await;

    let railway = drain(&sim.railway_url(), &railway_cursor, 5000)
        .await
        .events;
    let mut unknown_railway = BTreeSet::new();
    for e in &railway {
        let kind = text(e, "type");
        let unknown = matches!(
            parse_event::<RailwayChange>(e).change,
            RailwayChange::Unknown { .. }
        );
        assert_eq!(unknown, !RailwayChange::KNOWN_TYPES.contains(&kind), "{e}");
        if unknown {
            unknown_railway.insert(kind.to_owned());
        }
    }
    assert!(!unknown_railway.is_empty(), "no unknown railway event type");

    let customs = drain(&sim.customs_url(), &customs_cursor, 5000)
        .await
        .events;
    let mut unknown_customs = BTreeSet::new();
    let mut unknown_codes = BTreeSet::new();
    for e in &customs {
        let kind = text(e, "type");
        let change = parse_event::<CustomsChange>(e).change;
        let unknown = matches!(change, CustomsChange::Unknown { .. });
        assert_eq!(unknown, !CustomsChange::KNOWN_TYPES.contains(&kind), "{e}");
        if unknown {
            unknown_customs.insert(kind.to_owned());
        }
        if let CustomsChange::StatusChanged(changed) = change
            && !changed.status.code.is_known()
        {
            unknown_codes.insert(changed.status.code.code().into_owned());
        }
    }
    assert!(!unknown_customs.is_empty(), "no unknown customs event type");
    assert!(
        !unknown_codes.is_empty(),
        "no receipt code outside DOMAIN.md"
    );
    let body = get(&declarations_url(&sim), VIEWER, &[("page_size", "1000")])
        .await
        .body;
    let page: DeclarationPage = serde_json::from_str(&body).expect("the snapshot parses");
    assert!(!page.declarations.is_empty());
}

/// Top-level fields of `objects` that the contract's `schema` does not name.
fn unnamed_fields(contract: &Value, schema: &str, objects: &[Value]) -> BTreeSet<String> {
    let named = contract["components"]["schemas"][schema]["properties"]
        .as_object()
        .unwrap_or_else(|| panic!("schema {schema}"));
    objects
        .iter()
        .flat_map(|o| o.as_object().expect("an object").keys())
        .filter(|k| !named.contains_key(*k))
        .cloned()
        .collect()
}

/// `unknown_codes` also brings fields the contract does not name, as its documentation says.
#[tokio::test]
async fn unknown_codes_fault_brings_unknown_fields() {
    let yaml = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/contract/customs.openapi.yaml"
    ))
    .expect("the contract");
    let contract: Value = serde_norway::from_str(&yaml).expect("YAML");
    let sim = common::start_sim(SimConfig::default()).await;
    let before = snapshot(&declarations_url(&sim), "declarations", 1000, &[]).await;
    let plain = unnamed_fields(&contract, "Declaration", &before.items);
    assert!(
        plain.is_empty(),
        "fields outside the contract without the fault: {plain:?}"
    );

    common::faults(&sim, json!({"unknown_codes": true})).await;
    common::advance(&sim, 300.0).await;
    let events = drain(&sim.customs_url(), &before.cursor, 5000).await.events;
    let after = snapshot(&declarations_url(&sim), "declarations", 1000, &[]).await;
    let mut extra = unnamed_fields(&contract, "Event", &events);
    extra.extend(unnamed_fields(&contract, "Declaration", &after.items));
    assert!(
        !extra.is_empty(),
        "no field outside the contract in events or declarations"
    );
}

/// `hostile_text` brings escapes, bidi overrides, very long text and bad identifiers that all parse.
#[tokio::test]
async fn hostile_text_fault_brings_text_that_still_parses() {
    let sim = common::start_sim(SimConfig::default()).await;
    let customs_cursor = fresh_cursor(&declarations_url(&sim)).await;
    common::faults(&sim, json!({"hostile_text": true})).await;
    common::advance(&sim, 900.0).await;

    let url = declarations_url(&sim);
    let mut bodies = common::walk_pages(&url, 99, async |token| {
        let mut query = vec![("page_size", "300")];
        if let Some(token) = token {
            query.push(("page_token", token));
        }
        let answer = get(&url, VIEWER, &query).await;
        assert_eq!(answer.status, 200);
        let page: DeclarationPage = serde_json::from_str(&answer.body)
            .unwrap_or_else(|e| panic!("a declaration page does not parse: {e}"));
        (
            answer.body,
            page.next_page_token.map(|t| t.as_str().to_owned()),
        )
    })
    .await;
    let holds = get(
        &format!("{}/v1/holds", sim.customs_url()),
        VIEWER,
        &[("page_size", "1000")],
    )
    .await;
    serde_json::from_str::<DeclarationPage>(&holds.body).expect("the holds page parses");
    bodies.push(holds.body);
    let events = drain(&sim.customs_url(), &customs_cursor, 5000)
        .await
        .events;
    for e in &events {
        parse_event::<CustomsChange>(e);
    }
    let mut texts = Vec::new();
    for body in &bodies {
        strings(&serde_json::from_str(body).expect("JSON"), &mut texts);
    }
    assert!(
        bodies.iter().any(|b| b.contains("\\u001b")),
        "ESC is written as a JSON escape"
    );
    assert!(texts.iter().any(|s| s.contains('\u{1b}')), "no ESC");
    assert!(
        texts.iter().any(|s| s.contains('\u{202e}')),
        "no bidi override"
    );
    assert!(
        texts.iter().any(|s| s.chars().count() > 1000),
        "no very long string"
    );

    let trains = get(&trains_url(&sim), VIEWER, &[("page_size", "1000")]).await;
    let trains: TrainPage = serde_json::from_str(&trains.body).expect("the train page parses");
    let bad_containers = trains
        .trains
        .iter()
        .flat_map(|t| &t.containers)
        .filter(|c| !c.container_no.is_valid())
        .count();
    assert!(
        bad_containers > 0,
        "no container number with a bad check digit"
    );
}

/// `mixed_offsets` writes +08:00 and +05:00; the instants stay the same.
#[tokio::test]
async fn mixed_offsets_fault_keeps_the_instants() {
    let sim = common::start_sim(SimConfig::default()).await;
    let declarations = declarations_url(&sim);
    let trains = trains_url(&sim);
    let query = [("page_size", "1000")];
    let plain_declarations = get(&declarations, VIEWER, &query).await.body;
    let plain_trains = get(&trains, VIEWER, &query).await.body;
    let beijing_only = BTreeSet::from(["+08:00".to_owned()]);
    assert_eq!(
        time_offsets(&serde_json::from_str(&plain_declarations).expect("JSON")),
        beijing_only
    );
    assert_eq!(
        time_offsets(&serde_json::from_str(&plain_trains).expect("JSON")),
        beijing_only
    );

    common::faults(&sim, json!({"mixed_offsets": true})).await;
    let mixed_declarations = get(&declarations, VIEWER, &query).await.body;
    let mixed_trains = get(&trains, VIEWER, &query).await.body;
    let both = BTreeSet::from(["+05:00".to_owned(), "+08:00".to_owned()]);
    assert_eq!(
        time_offsets(&serde_json::from_str(&mixed_declarations).expect("JSON")),
        both
    );
    assert_eq!(
        time_offsets(&serde_json::from_str(&mixed_trains).expect("JSON")),
        both
    );

    let parse_d = |body: &str| serde_json::from_str::<DeclarationPage>(body).expect("parses");
    let parse_t = |body: &str| serde_json::from_str::<TrainPage>(body).expect("parses");
    assert_eq!(parse_d(&mixed_declarations), parse_d(&plain_declarations));
    assert_eq!(parse_t(&mixed_trains), parse_t(&plain_trains));
}

/// `lost_answers` records the action and drops the connection; a retry with the key answers 200.
#[tokio::test]
async fn lost_answers_fault_records_then_drops_the_connection() {
    let sim = common::start_sim(common::triage_config()).await;
    let cursor = fresh_cursor(&declarations_url(&sim)).await;
    let (number, version) = unclaimed_hold(&sim).await;
    common::faults(
        &sim,
        json!({"lost_answers": true, "lost_answer_share": 1.0}),
    )
    .await;
    let key = new_key();
    let claim = json!({"action": "claim"});
    let lost = action_request(&sim, OFFICER, &number, &key, &claim)
        .send()
        .await;
    let error = lost.expect_err("the answer is lost");
    assert!(
        !error.is_timeout(),
        "the connection is dropped, not left hanging: {error}"
    );

    let events = drain(&sim.customs_url(), &cursor, 5000).await.events;
    let updates = hold_updates(&events, &number);
    assert_eq!(updates.len(), 1, "recorded once");
    assert_eq!(updates[0]["data"]["hold"]["claimed_by"], "ALK-0417");
    let declaration = get_ok(&format!("{}/{number}", declarations_url(&sim)), VIEWER, &[]).await;
    assert_eq!(declaration["hold"]["claimed_by"], "ALK-0417");

    common::faults(&sim, json!({"lost_answers": false})).await;
    let retry = post_action(&sim, OFFICER, &number, &key, claim).await;
    assert_eq!(retry.status, 200, "the retry replays: {}", retry.body);
    let result = retry.json();
    assert_eq!(result["action"], "claim");
    assert_eq!(result["hold"], updates[0]["data"]["hold"]);
    assert_eq!(result["hold"]["version"], version + 1);
    let events = drain(&sim.customs_url(), &cursor, 5000).await.events;
    assert_eq!(hold_updates(&events, &number).len(), 1, "still once");
}

/// `torn_pages` sends a snapshot page or an event batch only in part and
/// drops the connection: the client's read of the body fails (it is not
/// left hanging), whether it asked for gzip or not; the same request
/// answers whole once the fault is off.
#[tokio::test]
async fn torn_pages_fault_drops_the_connection_mid_body() {
    let sim = common::start_sim(SimConfig::default()).await;
    let cursor = fresh_cursor(&declarations_url(&sim)).await;
    let events = format!("{}/v1/events", sim.customs_url());
    let cases = [
        (trains_url(&sim), vec![]),
        (declarations_url(&sim), vec![("page_size", "1000")]),
        (events, vec![("after", cursor.as_str())]),
    ];
    let whole = get_ok(&cases[1].0, VIEWER, &cases[1].1).await;
    assert!(
        whole["declarations"]
            .as_array()
            .is_some_and(|d| d.len() > 10)
    );
    common::faults(&sim, json!({"torn_pages": true, "torn_page_share": 1.0})).await;
    for (url, query) in &cases {
        for gzip in [false, true] {
            let mut request = common::client().get(url).bearer_auth(VIEWER).query(query);
            if gzip {
                request = request.header(ACCEPT_ENCODING, "gzip");
            }
            let started = Instant::now();
            let response = request.send().await.expect("the headers arrive");
            assert_eq!(response.status(), 200, "{url}");
            let error = response
                .bytes()
                .await
                .expect_err(&format!("{url} (gzip {gzip}): the body is cut short"));
            assert!(
                !error.is_timeout(),
                "{url}: dropped, not left hanging: {error}"
            );
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "{url}: dropped at once"
            );
        }
    }
    // Only pages and batches: whoami and a hold are answered whole.
    get_ok(&format!("{}/v1/whoami", sim.customs_url()), OFFICER, &[]).await;
    get_ok(&format!("{}/v1/holds", sim.customs_url()), VIEWER, &[]).await;
    common::faults(&sim, json!({"torn_pages": false})).await;
    for (url, query) in &cases {
        get_ok(url, VIEWER, query).await;
    }
}

/// The control clock moves back as well as forward: the `Date` of the
/// answers goes back with it, while what happened stays happened and the
/// feeds' `server_time` never goes back.
#[tokio::test]
async fn the_clock_steps_back_in_the_date_but_not_in_the_world() {
    let sim = common::start_sim(SimConfig::default()).await;
    let date = |answer: &Answer| {
        DateTime::parse_from_rfc2822(answer.header("date").expect("Date"))
            .expect("an HTTP date")
            .with_timezone(&Utc)
    };
    let before = get(&trains_url(&sim), VIEWER, &[]).await;
    let served_before = instant(&before.json()["server_time"]);
    common::advance(&sim, -3600.0).await;
    let after = get(&trains_url(&sim), VIEWER, &[]).await;
    let stepped = date(&before) - date(&after);
    assert!(
        (3599..=3601).contains(&stepped.num_seconds()),
        "the Date stepped back an hour: {stepped}"
    );
    assert!(instant(&after.json()["server_time"]) >= served_before);
    assert_eq!(
        after.json()["trains"],
        before.json()["trains"],
        "nothing un-happens"
    );
    common::advance(&sim, 7200.0).await;
    let later = get(&trains_url(&sim), VIEWER, &[]).await;
    assert!(instant(&later.json()["server_time"]) > served_before + chrono::Duration::minutes(59));
}

// ----- 7. HTTP details --------------------------------------------------------------------

/// Snapshot pages carry an ETag; If-None-Match gets 304 until events happen, then 200.
#[tokio::test]
async fn etags_give_304_until_something_happens() {
    let sim = common::start_sim(SimConfig::default()).await;
    let cases = [(trains_url(&sim), "2"), (declarations_url(&sim), "300")];
    let mut tags = Vec::new();
    for (url, size) in &cases {
        let query = [("page_size", *size)];
        let first = get(url, VIEWER, &query).await;
        assert_eq!(first.status, 200);
        let tag = first.header("etag").expect("ETag").to_owned();
        let request = |tag: &str| {
            common::client()
                .get(url)
                .bearer_auth(VIEWER)
                .query(&query)
                .header(IF_NONE_MATCH, tag)
        };
        let same = send(request(&tag)).await;
        assert_eq!(same.status, 304, "{url}: {}", same.body);
        assert!(same.body.is_empty());
        let other = send(request("W/\"0000000000000000\"")).await;
        assert_eq!(other.status, 200, "{url}: another ETag");
        let token = text(&first.json(), "next_page_token").to_owned();
        let second = get(url, VIEWER, &[("page_size", size), ("page_token", &token)]).await;
        assert_eq!(second.status, 200);
        assert!(
            second.header("etag").is_some(),
            "{url}: later pages carry an ETag too"
        );
        tags.push((first.json()["cursor"].clone(), tag));
    }
    common::advance(&sim, 30.0).await;
    for ((url, size), (cursor, tag)) in cases.iter().zip(&tags) {
        let answer = send(
            common::client()
                .get(url)
                .bearer_auth(VIEWER)
                .query(&[("page_size", *size)])
                .header(IF_NONE_MATCH, tag),
        )
        .await;
        assert_eq!(answer.status, 200, "{url}: events happened");
        assert_ne!(answer.json()["cursor"], *cursor, "{url}: the feed moved");
        assert_ne!(
            answer.header("etag"),
            Some(tag.as_str()),
            "{url}: a new ETag"
        );
    }
}

/// Switching `unknown_codes` changes what a snapshot page says, so it changes the ETag too.
#[tokio::test]
async fn switching_unknown_codes_changes_the_etag() {
    let sim = common::start_sim(SimConfig::default()).await;
    for url in [trains_url(&sim), declarations_url(&sim)] {
        let query = [("page_size", "2")];
        let plain = get(&url, VIEWER, &query).await;
        assert_eq!(plain.status, 200, "{url}: {}", plain.body);
        let tag = plain.header("etag").expect("ETag").to_owned();
        let request = |tag: &str| {
            common::client()
                .get(&url)
                .bearer_auth(VIEWER)
                .query(&query)
                .header(IF_NONE_MATCH, tag)
        };
        common::faults(&sim, json!({"unknown_codes": true})).await;
        let extended = send(request(&tag)).await;
        assert_eq!(extended.status, 200, "{url}: the body changed, not 304");
        assert_ne!(extended.body, plain.body, "{url}: unknown fields");
        assert_ne!(
            extended.header("etag"),
            Some(tag.as_str()),
            "{url}: a new ETag"
        );
        common::faults(&sim, json!({"unknown_codes": false})).await;
        let again = send(request(&tag)).await;
        assert_eq!(again.status, 304, "{url}: the plain body again");
    }
}

/// With Accept-Encoding: gzip the answer is gzip; without, plain JSON; both say the same.
#[tokio::test]
async fn answers_are_gzipped_on_request() {
    let sim = common::start_sim(SimConfig::default()).await;
    let url = declarations_url(&sim);
    let raw = reqwest::Client::builder()
        .no_gzip()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let zipped = raw
        .get(&url)
        .bearer_auth(VIEWER)
        .header(ACCEPT_ENCODING, "gzip")
        .send()
        .await
        .expect("answer");
    assert_eq!(zipped.status(), 200);
    assert_eq!(
        zipped
            .headers()
            .get(CONTENT_ENCODING)
            .and_then(|v| v.to_str().ok()),
        Some("gzip")
    );
    let zipped = zipped.bytes().await.expect("body");
    assert_eq!(zipped[..2], [0x1f, 0x8b], "gzip magic");
    let plain = raw
        .get(&url)
        .bearer_auth(VIEWER)
        .send()
        .await
        .expect("answer");
    assert!(plain.headers().get(CONTENT_ENCODING).is_none());
    let plain: Value = plain.json().await.expect("plain JSON");
    assert!(zipped.len() < plain.to_string().len());
    let decoded = get_ok(&url, VIEWER, &[]).await;
    assert_eq!(decoded, plain, "gzip decodes to the same page");
}

/// Every answer, success or error, carries an HTTP Date header.
#[tokio::test]
async fn every_answer_carries_a_date_header() {
    let sim = common::start_sim(common::triage_config()).await;
    let (number, _) = unclaimed_hold(&sim).await;
    let trains = trains_url(&sim);
    let first = get(&trains, VIEWER, &[]).await;
    let tag = first.header("etag").expect("ETag").to_owned();
    let mut answers = vec![
        ("200", first),
        (
            "304",
            send(
                common::client()
                    .get(&trains)
                    .bearer_auth(VIEWER)
                    .header(IF_NONE_MATCH, &tag),
            )
            .await,
        ),
        ("400", get(&trains, VIEWER, &[("page_size", "0")]).await),
        ("401", get(&trains, "nope", &[]).await),
        (
            "404",
            get(&format!("{trains}/X0000-20000101"), VIEWER, &[]).await,
        ),
        (
            "410",
            get(
                &format!("{}/v1/events", sim.railway_url()),
                VIEWER,
                &[("after", "garbage")],
            )
            .await,
        ),
        (
            "201",
            post_action(
                &sim,
                OFFICER,
                &number,
                &new_key(),
                json!({"action": "claim"}),
            )
            .await,
        ),
        (
            "403",
            post_action(
                &sim,
                VIEWER,
                &number,
                &new_key(),
                json!({"action": "claim"}),
            )
            .await,
        ),
    ];
    common::faults(&sim, json!({"rate_limit": true, "rate_limit_share": 1.0})).await;
    answers.push(("429", get(&trains, VIEWER, &[]).await));
    common::faults(&sim, json!({"rate_limit": false})).await;
    common::faults(
        &sim,
        json!({"outages": true, "outage_every_seconds": 5.0, "outage_seconds": 5.0}),
    )
    .await;
    answers.push(("503", get(&trains, VIEWER, &[]).await));
    for (expected, answer) in &answers {
        assert_eq!(answer.status.as_str(), *expected, "{}", answer.body);
        let date = answer
            .header("date")
            .unwrap_or_else(|| panic!("{expected}: no Date"));
        DateTime::parse_from_rfc2822(date)
            .unwrap_or_else(|e| panic!("{expected}: Date {date:?}: {e}"));
    }
}

/// The same seed and start serve the same snapshots; another seed does not.
#[tokio::test]
async fn the_same_seed_serves_the_same_world() {
    let a = common::start_sim(SimConfig::default()).await;
    let b = common::start_sim(SimConfig::default()).await;
    let c = common::start_sim(SimConfig {
        seed: 2,
        ..SimConfig::default()
    })
    .await;
    let mut declarations = Vec::new();
    let mut trains = Vec::new();
    for sim in [&a, &b, &c] {
        declarations.push(
            snapshot(&declarations_url(sim), "declarations", 1000, &[])
                .await
                .items,
        );
        trains.push(snapshot(&trains_url(sim), "trains", 1000, &[]).await.items);
    }
    assert_eq!(declarations[0], declarations[1]);
    assert_eq!(trains[0], trains[1]);
    assert_ne!(declarations[0], declarations[2]);
    assert_ne!(trains[0], trains[2]);
}

/// `/control/status` counts the requests to each API (refused ones too),
/// so a measurement can tell the load a client puts on them.
#[tokio::test]
async fn control_status_counts_the_requests_to_each_api() {
    let sim = common::start_sim(SimConfig::default()).await;
    let status = format!("{}/status", sim.control_url());
    let requests = |status: &Value| {
        let count = |api: &str| status["requests"][api].as_u64().expect("a count");
        (count("railway"), count("customs"))
    };
    let before = requests(&get_ok(&status, VIEWER, &[]).await);
    get_ok(&trains_url(&sim), VIEWER, &[]).await;
    get_ok(&trains_url(&sim), VIEWER, &[]).await;
    get_ok(&declarations_url(&sim), VIEWER, &[]).await;
    get(&declarations_url(&sim), "not-a-token", &[])
        .await
        .assert_error(401, "unauthorized", "a refused request");
    let after = requests(&get_ok(&status, VIEWER, &[]).await);
    assert_eq!((after.0 - before.0, after.1 - before.1), (2, 2));
}
