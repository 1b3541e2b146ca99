//! A property run over the decoding of every answer and event type: real
//! bodies of the simulator (hostile text, unknown codes and mixed offsets
//! on), changed inside one record or as a whole, decoded as the feed client
//! decodes what a server sends.
//!
//! Nothing panics; a record that does not decode is reported once and
//! skipped while every other record of its page or batch decodes as
//! before; every decoded string and every reason is safe for a terminal
//! and no reason shows the token; and what decoded goes onto a board whose
//! counts stay right.

mod common;

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::OnceLock;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use common::{OFFICER, VIEWER};
use greenchannel::board::Board;
use greenchannel::config::Config;
use greenchannel::domain::text::MAX_FEED_CHARS;
use greenchannel::domain::{
    ApiError, Change, CustomsChange, Declaration, Delivery, Event, FeedText, HoldActionResult,
    Officer, RailwayChange, Train,
};
use greenchannel::feeds::Feed;
use greenchannel::feeds::client::{ApiClient, FeedError, Timeouts, Token};
use greenchannel::sim::SimConfig;
use proptest::prelude::*;
use proptest::sample::{Index, select};
use serde::Serialize;
use serde_json::{Map, Value, json};

/// The client's token. Some changes put it into values; no reason may
/// show it.
const TOKEN: &str = "tok-8f2e91";

// ----- samples -------------------------------------------------------------------

/// A body as the simulator sent it, with its records as the client decodes
/// them.
struct Sample<T> {
    body: String,
    records: Vec<T>,
}

/// Everything decoded, page by page and batch by batch.
#[derive(Clone)]
struct Decoded {
    trains: Vec<Vec<Train>>,
    declarations: Vec<Vec<Declaration>>,
    railway: Vec<Vec<Event<RailwayChange>>>,
    customs: Vec<Vec<Event<CustomsChange>>>,
    holds: Vec<Vec<Declaration>>,
}

/// What the simulator answered, read once.
struct Samples {
    /// When the snapshots were read.
    start: DateTime<Utc>,
    /// When the last events, the holds list and the other answers were read.
    end: DateTime<Utc>,
    trains: Vec<Sample<Train>>,
    declarations: Vec<Sample<Declaration>>,
    railway: Vec<Sample<Event<RailwayChange>>>,
    customs: Vec<Sample<Event<CustomsChange>>>,
    holds: Vec<Sample<Declaration>>,
    /// Where the events of each type are, (batch, event), by type.
    railway_types: Vec<Vec<(usize, usize)>>,
    customs_types: Vec<Vec<(usize, usize)>>,
    whoami: String,
    action_result: String,
    /// Error answers: 400, 401, 403, 404, 409 and 410.
    errors: Vec<String>,
}

/// The bodies of `samples`.
fn bodies<T>(samples: &[Sample<T>]) -> impl Iterator<Item = &str> {
    samples.iter().map(|s| s.body.as_str())
}

impl Samples {
    /// The records of every sample, as they came.
    fn decoded(&self) -> Decoded {
        fn records<T: Clone>(samples: &[Sample<T>]) -> Vec<Vec<T>> {
            samples.iter().map(|s| s.records.clone()).collect()
        }
        Decoded {
            trains: records(&self.trains),
            declarations: records(&self.declarations),
            railway: records(&self.railway),
            customs: records(&self.customs),
            holds: records(&self.holds),
        }
    }
}

/// The client whose decoding is tested (it never connects).
fn client() -> &'static ApiClient {
    static CLIENT: OnceLock<ApiClient> = OnceLock::new();
    CLIENT.get_or_init(|| {
        let timeouts = Timeouts {
            connect: StdDuration::from_secs(1),
            request: StdDuration::from_secs(1),
        };
        ApiClient::new(
            Feed::Customs,
            "http://127.0.0.1:9",
            Token::new(TOKEN),
            timeouts,
        )
        .expect("a client")
    })
}

/// A small world in which every kind of thing happens within minutes:
/// few containers and parcels, many cancellations, rebookings,
/// inspections and holds; hostile text, unknown codes and mixed offsets on.
fn eventful_world() -> SimConfig {
    let mut config = SimConfig::default();
    let timetable = &mut config.timetable;
    timetable.containers_min = 3;
    timetable.containers_max = 5;
    timetable.parcels_per_container_min = 2;
    timetable.parcels_per_container_max = 4;
    timetable.cancel_share = 0.3;
    timetable.container_rebook_share = 0.2;
    config.customs.inspection_share = 0.4;
    config.customs.direct_hold_share = 0.1;
    config.faults.hostile_text = true;
    config.faults.unknown_codes = true;
    config.faults.mixed_offsets = true;
    config
}

/// The samples, read from a simulator the first time they are needed.
fn samples() -> &'static Samples {
    static SAMPLES: OnceLock<Samples> = OnceLock::new();
    SAMPLES.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
            .block_on(collect())
    })
}

/// Sends a request and reads its status and body.
async fn fetch(request: reqwest::RequestBuilder) -> (u16, String) {
    let response = request.send().await.expect("an answer");
    let status = response.status().as_u16();
    (status, response.text().await.expect("a body"))
}

/// Every page of a list, as sent.
async fn pages(url: &str, page_size: &str) -> Vec<String> {
    common::walk_pages(url, 100, async |token| {
        let mut query = vec![("page_size", page_size)];
        query.extend(token.map(|token| ("page_token", token)));
        let (status, body) =
            fetch(common::client().get(url).bearer_auth(VIEWER).query(&query)).await;
        assert_eq!(status, 200, "{url}: {body}");
        let next = common::next_page_token(&serde_json::from_str(&body).expect("JSON"));
        (body, next)
    })
    .await
}

/// Event batches after `cursor` until the feed has no more, as sent; moves
/// `cursor` on.
async fn batches(base: &str, cursor: &mut String) -> Vec<String> {
    let mut bodies = Vec::new();
    loop {
        let request = common::client()
            .get(format!("{base}/v1/events"))
            .bearer_auth(VIEWER)
            .query(&[("after", cursor.as_str()), ("limit", "60")]);
        let (status, body) = fetch(request).await;
        assert_eq!(status, 200, "{base}: {body}");
        let batch: Value = serde_json::from_str(&body).expect("JSON");
        batch["next"].as_str().expect("next").clone_into(cursor);
        let more = batch["has_more"].as_bool().expect("has_more");
        bodies.push(body);
        if !more {
            return bodies;
        }
    }
}

/// Decodes real pages, each of which must decode whole.
fn page_samples<T: serde::de::DeserializeOwned>(bodies: Vec<String>) -> Vec<Sample<T>> {
    bodies
        .into_iter()
        .map(|body| {
            let page = client()
                .decode_page::<T>(body.as_bytes())
                .expect("a page decodes");
            assert_eq!(page.bad, Vec::<FeedText>::new(), "a real page");
            Sample {
                body,
                records: page.items,
            }
        })
        .collect()
}

/// Decodes real batches, each of which must decode whole.
fn batch_samples<C: Change>(bodies: Vec<String>) -> Vec<Sample<Event<C>>> {
    bodies
        .into_iter()
        .map(|body| {
            let batch = client()
                .decode_batch::<C>(body.as_bytes())
                .expect("a batch decodes");
            assert_eq!(batch.bad, Vec::<FeedText>::new(), "a real batch");
            Sample {
                body,
                records: batch.events,
            }
        })
        .collect()
}

/// Where the events of each of `known` types are, (batch, event); fails
/// naming the types that never occurred.
fn positions_by_type<C: Change>(
    batches: &[Sample<Event<C>>],
    known: &[&str],
) -> Vec<Vec<(usize, usize)>> {
    let mut by_type: BTreeMap<String, Vec<(usize, usize)>> = BTreeMap::new();
    for (b, batch) in batches.iter().enumerate() {
        for (e, event) in batch.records.iter().enumerate() {
            let event_type = event.change.event_type().to_owned();
            by_type.entry(event_type).or_default().push((b, e));
        }
    }
    let missing: Vec<&str> = known
        .iter()
        .filter(|t| !by_type.contains_key(**t))
        .copied()
        .collect();
    assert!(
        missing.is_empty(),
        "event types that never occurred: {missing:?}"
    );
    by_type.into_values().collect()
}

/// Whether `batches` hold an event of every one of `known` types.
fn every_type_in<C: Change>(batches: &[Sample<Event<C>>], known: &[&str]) -> bool {
    known.iter().all(|t| {
        batches
            .iter()
            .any(|b| b.records.iter().any(|e| e.change.event_type() == *t))
    })
}

/// Reads the simulator's answers: the snapshots at the start, both feeds'
/// events minute by minute until every event type has occurred, then the
/// holds, a triage action's result, `whoami` and error answers.
async fn collect() -> Samples {
    let sim = common::start_sim(eventful_world()).await;
    let (railway, customs) = (sim.railway_url(), sim.customs_url());
    let trains = pages(&format!("{railway}/v1/trains"), "2").await;
    let declarations = pages(&format!("{customs}/v1/declarations"), "20").await;
    let cursor_of = |body: &str| {
        let page: Value = serde_json::from_str(body).expect("JSON");
        page["cursor"].as_str().expect("a cursor").to_owned()
    };
    let mut cursors = [cursor_of(&trains[0]), cursor_of(&declarations[0])];
    let (mut railway_batches, mut customs_batches) = (Vec::new(), Vec::new());
    let mut minutes = 0;
    while minutes < 60
        && !(every_type_in(&railway_batches, RailwayChange::KNOWN_TYPES)
            && every_type_in(&customs_batches, CustomsChange::KNOWN_TYPES))
    {
        common::advance(&sim, 60.0).await;
        minutes += 1;
        railway_batches.extend(batch_samples(batches(&railway, &mut cursors[0]).await));
        customs_batches.extend(batch_samples(batches(&customs, &mut cursors[1]).await));
    }
    let holds = pages(&format!("{customs}/v1/holds"), "10").await;

    let held: Value = serde_json::from_str(&holds[0]).expect("JSON");
    let held = held["declarations"][0]["declaration_no"]
        .as_str()
        .expect("a held parcel")
        .to_owned();
    let action = |token: &str, key: &str, body: Value| {
        common::client()
            .post(format!("{customs}/v1/holds/{held}/actions"))
            .bearer_auth(token)
            .header("Idempotency-Key", key)
            .json(&body)
    };
    let note = json!({"action": "note", "note": "开箱查验 \u{1b}[31m seal intact"});
    let (status, action_result) = fetch(action(
        OFFICER,
        "5f0c7d7e-3b1a-4c55-9a51-0d2b6c1e8f01",
        note.clone(),
    ))
    .await;
    assert_eq!(status, 201, "{action_result}");
    let stale = json!({"action": "escalate", "expected_version": 999_999});
    let mut errors = Vec::new();
    for (expected, request) in [
        (
            400,
            common::client()
                .get(format!("{railway}/v1/trains"))
                .query(&[("page_size", "0")])
                .bearer_auth(VIEWER),
        ),
        (
            401,
            common::client()
                .get(format!("{railway}/v1/trains"))
                .bearer_auth(TOKEN),
        ),
        (
            403,
            action(VIEWER, "5f0c7d7e-3b1a-4c55-9a51-0d2b6c1e8f02", note),
        ),
        (
            404,
            common::client()
                .get(format!("{railway}/v1/trains/X9999-20261126"))
                .bearer_auth(VIEWER),
        ),
        (
            409,
            action(OFFICER, "5f0c7d7e-3b1a-4c55-9a51-0d2b6c1e8f03", stale),
        ),
        (
            410,
            common::client()
                .get(format!("{customs}/v1/events"))
                .query(&[("after", "a-cursor-never-given")])
                .bearer_auth(VIEWER),
        ),
    ] {
        let (status, body) = fetch(request).await;
        assert_eq!(status, expected, "{body}");
        errors.push(body);
    }
    let (status, whoami) = fetch(
        common::client()
            .get(format!("{customs}/v1/whoami"))
            .bearer_auth(OFFICER),
    )
    .await;
    assert_eq!(status, 200, "{whoami}");

    Samples {
        start: common::start(),
        end: common::start() + Duration::minutes(minutes),
        trains: page_samples(trains),
        declarations: page_samples(declarations),
        railway_types: positions_by_type(&railway_batches, RailwayChange::KNOWN_TYPES),
        customs_types: positions_by_type(&customs_batches, CustomsChange::KNOWN_TYPES),
        railway: railway_batches,
        customs: customs_batches,
        holds: page_samples(holds),
        whoami,
        action_result,
        errors,
    }
}

// ----- changes ---------------------------------------------------------------------

/// What is done to one field of one object.
#[derive(Debug, Clone)]
enum Edit {
    /// The field left out.
    Delete,
    /// The field `null`.
    Null,
    /// A value of another JSON type.
    WrongType,
    /// A string: hostile text, or an instant at the edges of RFC 3339.
    Text(String),
    /// Raw JSON: a huge, negative or fractional number, a deep array.
    Raw(String),
    /// The field written twice, the second time as this raw JSON.
    Twice(String),
}

/// Which field of which object of a record: the record itself, or an
/// object nested in it (a container, a status, a hold, a goods line, …).
#[derive(Debug, Clone)]
struct Place {
    /// An object nested in the record rather than the record itself.
    nested: bool,
    /// Which nested object.
    object: Index,
    /// Which of its fields.
    field: Index,
}

/// What is done to one event.
#[derive(Debug, Clone)]
enum EventEdit {
    /// One field of one object changed.
    Field(Place, Edit),
    /// Another `type` (often one this version does not know), and perhaps
    /// garbage for `data`.
    Retype(String, Option<String>),
    /// Garbage for `data`.
    Data(String),
}

/// What is done to a whole body.
#[derive(Debug, Clone)]
enum BodyEdit {
    /// Cut at a byte.
    Truncate(Index),
    /// Bytes overwritten from a place on.
    Overwrite(Index, Vec<u8>),
    /// Nothing but random bytes.
    Noise(Vec<u8>),
    /// The body inside an array.
    Wrapped,
    /// Another JSON value than an object.
    Scalar(&'static str),
    /// A top-level field written once more, first, as this raw JSON.
    DuplicateKey(Index, String),
}

/// Control and bidi characters, hostile sequences, text that is wide or
/// very long, and the token (whole, split, quoted).
const FRAGMENTS: &[&str] = &[
    "\u{1b}[2J\u{1b}[H",
    "\u{1b}]0;PWNED\u{7}",
    "\u{1b}]52;c;cm0gLXJmIC8K\u{1b}\\",
    "\u{9b}31m",
    "\u{85}\u{90}\u{9d}",
    "\u{7f}",
    "\u{0}",
    "\r\n\t\u{8}",
    "\u{202e}fdp.exe\u{202c}",
    "\u{2066}\u{2067}\u{2068}\u{2069}",
    "\u{200e}\u{200f}\u{61c}",
    "阿拉山口海关",
    "🚂🇺🇿👨‍👩‍👧‍👦",
    "e\u{301}\u{301}\u{301}",
    "\u{200b}\u{feff}",
    TOKEN,
    "tok-\u{1b}8f2e91",
    "Bearer tok-8f2e91",
    "2026-11-26T10:00:00+08:00",
    "CSQU3054383",
    "94022026E000012345",
];

/// Instants at the edges of what RFC 3339 writes, and near misses.
const INSTANTS: &[&str] = &[
    "0000-01-01T00:00:00Z",
    "0000-01-01T00:00:00+23:59",
    "9999-12-31T23:59:59Z",
    "9999-12-31T23:59:59.999999999-23:59",
    "1970-01-01T00:00:00Z",
    "2026-06-30T23:59:60Z",
    "2026-02-30T00:00:00+08:00",
    "2026-11-26T10:00:00",
    "2026-11-26T10:00:00+08:00\u{1b}[2J",
    "",
];

/// Numbers a server should never send where a count, a `seq`, a version
/// or a quantity goes.
const NUMBERS: &[&str] = &[
    "-1",
    "-0",
    "0.5",
    "-2.5",
    "1e400",
    "-1e400",
    "1e-400",
    "1.7976931348623157e308",
    "4294967295",
    "4294967296",
    "18446744073709551615",
    "18446744073709551616",
    "-9223372036854775809",
    "123456789012345678901234567890",
    "1E+2",
];

/// Event types no version knows, some close to known ones.
const EVENT_TYPES: &[&str] = &[
    "weather.changed",
    "train.scheduled ",
    "Train.Scheduled",
    "",
    "declaration.audit_flag",
];

/// A string of a few [`FRAGMENTS`], random characters, C1 controls, or
/// 10,000 characters.
fn hostile_text() -> impl Strategy<Value = String> {
    let fragment = prop_oneof![
        8 => select(FRAGMENTS).prop_map(str::to_owned),
        3 => any::<char>().prop_map(String::from),
        2 => prop::char::range('\u{80}', '\u{9f}').prop_map(String::from),
        1 => prop_oneof![Just("W".repeat(10_000)), Just("很".repeat(10_000))],
    ];
    prop::collection::vec(fragment, 1..6).prop_map(|parts| parts.concat())
}

/// A raw JSON number: from [`NUMBERS`], or any integer or finite float.
fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        select(NUMBERS).prop_map(str::to_owned),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        any::<f64>()
            .prop_filter("JSON has no NaN or infinity", |x| x.is_finite())
            .prop_map(|x| json!(x).to_string()),
    ]
}

/// An array nested `depth` deep, around serde_json's limit and far past it.
fn deep_array() -> impl Strategy<Value = String> {
    prop_oneof![2usize..64, 120usize..140, Just(100_000)]
        .prop_map(|depth| format!("{}{}", "[".repeat(depth), "]".repeat(depth)))
}

/// Raw JSON of any shape, hostile strings in it.
fn garbage() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        hostile_text().prop_map(Value::String),
    ];
    let value = leaf.prop_recursive(4, 24, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((hostile_text(), inner), 0..5)
                .prop_map(|fields| Value::Object(fields.into_iter().collect())),
        ]
    });
    prop_oneof![
        3 => value.prop_map(|v| v.to_string()),
        1 => number(),
        1 => deep_array(),
    ]
}

/// Any change to one field.
fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        2 => Just(Edit::Delete),
        2 => Just(Edit::Null),
        2 => Just(Edit::WrongType),
        3 => hostile_text().prop_map(Edit::Text),
        2 => select(INSTANTS).prop_map(|t| Edit::Text(t.to_owned())),
        3 => number().prop_map(Edit::Raw),
        1 => deep_array().prop_map(Edit::Raw),
        1 => garbage().prop_map(Edit::Twice),
    ]
}

/// Any field of any object of a record.
fn place() -> impl Strategy<Value = Place> {
    (any::<bool>(), any::<Index>(), any::<Index>()).prop_map(|(nested, object, field)| Place {
        nested,
        object,
        field,
    })
}

/// A known event type of either feed, an unknown one, or hostile text.
fn event_type() -> impl Strategy<Value = String> {
    let known: Vec<&str> = RailwayChange::KNOWN_TYPES
        .iter()
        .chain(CustomsChange::KNOWN_TYPES)
        .chain(EVENT_TYPES)
        .copied()
        .collect();
    prop_oneof![
        3 => select(known).prop_map(str::to_owned),
        1 => hostile_text(),
    ]
}

/// Any change to one event, mostly to one of its fields.
fn event_edit() -> impl Strategy<Value = EventEdit> {
    prop_oneof![
        6 => (place(), edit()).prop_map(|(place, edit)| EventEdit::Field(place, edit)),
        1 => (event_type(), prop::option::of(garbage()))
            .prop_map(|(event_type, data)| EventEdit::Retype(event_type, data)),
        1 => garbage().prop_map(EventEdit::Data),
    ]
}

/// Any change to a whole body.
fn body_edit() -> impl Strategy<Value = BodyEdit> {
    let bytes = || prop::collection::vec(any::<u8>(), 0..64);
    prop_oneof![
        3 => any::<Index>().prop_map(BodyEdit::Truncate),
        2 => (any::<Index>(), bytes()).prop_map(|(at, bytes)| BodyEdit::Overwrite(at, bytes)),
        1 => bytes().prop_map(BodyEdit::Noise),
        1 => Just(BodyEdit::Wrapped),
        1 => select(&["[]", "null", "true", "42", "\"events\"", "{}"][..]).prop_map(BodyEdit::Scalar),
        2 => (any::<Index>(), garbage()).prop_map(|(key, raw)| BodyEdit::DuplicateKey(key, raw)),
    ]
}

/// Stands for raw JSON in a value until the body is written.
const SPLICE: &str = "\u{e000}splice\u{e000}";

/// A JSON string's text.
fn quoted(text: &str) -> String {
    Value::from(text).to_string()
}

/// Rewrites `body` with the value at `pointer` changed by `edit`, which
/// may leave a [`SPLICE`] marker and ask for (marker, raw JSON) to be
/// written in its place.
fn rewrite(
    body: &str,
    pointer: &str,
    edit: impl FnOnce(&mut Value) -> Option<(String, String)>,
) -> String {
    let mut value: Value = serde_json::from_str(body).expect("a sample is JSON");
    let target = value.pointer_mut(pointer).expect("the record is there");
    let splice = edit(target);
    let text = value.to_string();
    match splice {
        Some((marker, raw)) => text.replacen(&marker, &raw, 1),
        None => text,
    }
}

/// JSON pointers, from the record, of every object nested in `value`.
fn nested_objects(value: &Value, at: &str, out: &mut Vec<String>) {
    match value {
        Value::Object(fields) => {
            for (key, field) in fields {
                let at = format!("{at}/{}", key.replace('~', "~0").replace('/', "~1"));
                if field.is_object() {
                    out.push(at.clone());
                }
                nested_objects(field, &at, out);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let at = format!("{at}/{i}");
                if item.is_object() {
                    out.push(at.clone());
                }
                nested_objects(item, &at, out);
            }
        }
        _ => {}
    }
}

/// A value of another JSON type than `value`.
fn another_type(value: &Value) -> Value {
    match value {
        Value::String(_) => json!(7),
        Value::Number(_) => json!("7"),
        Value::Bool(_) => json!("true"),
        Value::Null => json!(false),
        Value::Array(_) => json!({"0": 7}),
        Value::Object(_) => json!(["an object"]),
    }
}

/// Applies `edit` to the field `place` names inside `record`.
fn edit_field(record: &mut Value, place: &Place, edit: &Edit) -> Option<(String, String)> {
    let mut objects = Vec::new();
    nested_objects(record, "", &mut objects);
    let pointer = match objects.len() {
        n if place.nested && n > 0 => objects[place.object.index(n)].clone(),
        _ => String::new(),
    };
    let object: &mut Map<String, Value> = record
        .pointer_mut(&pointer)
        .and_then(Value::as_object_mut)
        .expect("an object");
    let key = match object.len() {
        0 => "unexpected".to_owned(),
        n => object
            .keys()
            .nth(place.field.index(n))
            .expect("a key")
            .clone(),
    };
    match edit {
        Edit::Delete => {
            object.remove(&key);
        }
        Edit::Null => {
            object.insert(key, Value::Null);
        }
        Edit::WrongType => {
            let other = another_type(object.get(&key).unwrap_or(&Value::Null));
            object.insert(key, other);
        }
        Edit::Text(text) => {
            object.insert(key, Value::from(text.as_str()));
        }
        Edit::Raw(raw) => {
            object.insert(key, Value::from(SPLICE));
            return Some((quoted(SPLICE), raw.clone()));
        }
        Edit::Twice(raw) => {
            let first = object.remove(&key).unwrap_or(Value::Null);
            object.insert(SPLICE.to_owned(), Value::Null);
            let key = quoted(&key);
            return Some((
                format!("{}:null", quoted(SPLICE)),
                format!("{key}:{first},{key}:{raw}"),
            ));
        }
    }
    None
}

/// Applies `edit` to one event.
fn edit_event(event: &mut Value, edit: &EventEdit) -> Option<(String, String)> {
    match edit {
        EventEdit::Field(place, edit) => edit_field(event, place, edit),
        EventEdit::Retype(event_type, data) => {
            event["type"] = Value::from(event_type.as_str());
            data.as_ref().map(|raw| {
                event["data"] = Value::from(SPLICE);
                (quoted(SPLICE), raw.clone())
            })
        }
        EventEdit::Data(raw) => {
            event["data"] = Value::from(SPLICE);
            Some((quoted(SPLICE), raw.clone()))
        }
    }
}

/// `body` changed as a whole.
fn edit_body(body: &str, edit: &BodyEdit) -> Vec<u8> {
    let bytes = body.as_bytes();
    match edit {
        BodyEdit::Truncate(at) => bytes[..at.index(bytes.len())].to_vec(),
        BodyEdit::Overwrite(at, noise) => {
            let mut out = bytes.to_vec();
            let from = at.index(out.len());
            let to = (from + noise.len()).min(out.len());
            out[from..to].copy_from_slice(&noise[..to - from]);
            out
        }
        BodyEdit::Noise(noise) => noise.clone(),
        BodyEdit::Wrapped => format!("[{body}]").into_bytes(),
        BodyEdit::Scalar(scalar) => scalar.as_bytes().to_vec(),
        BodyEdit::DuplicateKey(key, raw) => {
            let value: Value = serde_json::from_str(body).expect("a sample is JSON");
            let mut keys: Vec<&str> = value
                .as_object()
                .map(|fields| fields.keys().map(String::as_str).collect())
                .unwrap_or_default();
            keys.extend(["items", "trains", "declarations", "events", "error"]);
            let key = quoted(keys[key.index(keys.len())]);
            match body.strip_prefix('{') {
                Some(rest) => format!("{{{key}:{raw},{rest}").into_bytes(),
                None => bytes.to_vec(),
            }
        }
    }
}

// ----- checks ----------------------------------------------------------------------

/// Characters a terminal acts on, or that reorder the text after them.
fn acts_on_a_terminal(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}'
        )
}

/// Every string and key in `value`.
fn texts<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::String(text) => out.push(text),
        Value::Array(items) => items.iter().for_each(|item| texts(item, out)),
        Value::Object(fields) => {
            for (key, field) in fields {
                out.push(key);
                texts(field, out);
            }
        }
        _ => {}
    }
}

/// Fails on any string of `value`, as it serializes, that a terminal
/// would act on or that is longer than feed text is kept.
fn terminal_safe(what: &str, value: &impl Serialize) -> Result<(), TestCaseError> {
    let value = serde_json::to_value(value).expect("decoded values serialize");
    let mut found = Vec::new();
    texts(&value, &mut found);
    for text in found {
        let unsafe_chars: Vec<char> = text.chars().filter(|c| acts_on_a_terminal(*c)).collect();
        prop_assert!(
            unsafe_chars.is_empty(),
            "{}: {:?} in {:?}",
            what,
            unsafe_chars,
            text.chars().take(200).collect::<String>()
        );
        let length = text.chars().count();
        prop_assert!(
            length <= MAX_FEED_CHARS + 1,
            "{}: {} characters",
            what,
            length
        );
    }
    Ok(())
}

/// Every reason is safe for a terminal and keeps the token out.
fn reasons_safe(reasons: &[FeedText]) -> Result<(), TestCaseError> {
    for reason in reasons {
        terminal_safe("a reason", reason)?;
        prop_assert!(!reason.contains(TOKEN), "the token in {:?}", reason);
    }
    Ok(())
}

/// A body whose record `changed` was changed gave `decoded` and `bad`: at
/// most that record is missing and reported once, and every other record
/// is as the unchanged body gave it.
fn only_the_changed_record_may_fail<T: PartialEq + Debug>(
    original: &[T],
    decoded: &[T],
    bad: &[FeedText],
    changed: usize,
) -> Result<(), TestCaseError> {
    prop_assert!(bad.len() <= 1, "more than one reason: {:?}", bad);
    prop_assert_eq!(decoded.len() + bad.len(), original.len(), "{:?}", bad);
    fn without<T>(records: &[T], index: usize) -> Vec<&T> {
        records
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != index)
            .map(|(_, r)| r)
            .collect()
    }
    // The changed record is left out of the comparison, or is missing.
    let kept = if bad.is_empty() {
        without(decoded, changed)
    } else {
        decoded.iter().collect()
    };
    prop_assert!(
        kept == without(original, changed),
        "a record other than the changed one decoded differently"
    );
    Ok(())
}

/// Puts what a case decoded on a fresh board as the feeds deliver it (the
/// snapshots, the two feeds' batches in turn, then the holds list read at
/// the end), brings it to the end, judges every parcel again, and checks
/// its counts.
fn board_takes(decoded: Decoded) -> Result<(), TestCaseError> {
    let samples = samples();
    let settings = Config::default()
        .compressed(SimConfig::default().time_compression)
        .board_settings();
    let (start, end) = (samples.start, samples.end);
    let mut board = Board::new(settings, start);
    board.apply(Delivery::RailwaySnapshot(decoded.trains.concat()), start);
    board.apply(
        Delivery::CustomsSnapshot(decoded.declarations.concat()),
        start,
    );
    let mut railway = decoded.railway.into_iter();
    let mut customs = decoded.customs.into_iter();
    loop {
        let (r, c) = (railway.next(), customs.next());
        if r.is_none() && c.is_none() {
            break;
        }
        if let Some(events) = r {
            board.apply(events.into(), end);
        }
        if let Some(events) = c {
            board.apply(events.into(), end);
        }
    }
    board.apply(Delivery::CustomsSnapshot(decoded.holds.concat()), end);
    board.tick(end);
    board.review_all(end);
    prop_assert_eq!(board.check_tallies(), Ok(()));
    Ok(())
}

/// A whole body changed: the page or batch decodes, safely, or is
/// malformed; nothing else.
fn malformed_or_safe<T: Serialize>(
    decoded: Result<(Vec<T>, Vec<FeedText>), FeedError>,
) -> Result<(), TestCaseError> {
    match decoded {
        Ok((records, bad)) => {
            terminal_safe("a record", &records)?;
            reasons_safe(&bad)
        }
        Err(FeedError::Malformed(why)) => reasons_safe(&[why]),
        Err(other) => Err(TestCaseError::fail(format!("not Malformed: {other:?}"))),
    }
}

/// Decodes a page changed in record `changed` and checks it, then the board.
fn check_page<T>(
    sample: &Sample<T>,
    body: &str,
    changed: usize,
    mut decoded: Decoded,
    put: impl FnOnce(&mut Decoded, Vec<T>),
) -> Result<(), TestCaseError>
where
    T: serde::de::DeserializeOwned + PartialEq + Debug + Serialize,
{
    let page = client()
        .decode_page::<T>(body.as_bytes())
        .map_err(|e| TestCaseError::fail(format!("the page failed whole: {e}")))?;
    only_the_changed_record_may_fail(&sample.records, &page.items, &page.bad, changed)?;
    terminal_safe("a record", &page.items)?;
    reasons_safe(&page.bad)?;
    put(&mut decoded, page.items);
    board_takes(decoded)
}

/// Decodes a batch changed in event `changed` and checks it, then the board.
fn check_batch<C>(
    sample: &Sample<Event<C>>,
    body: &str,
    changed: usize,
    mut decoded: Decoded,
    put: impl FnOnce(&mut Decoded, Vec<Event<C>>),
) -> Result<(), TestCaseError>
where
    C: Change + PartialEq + Debug,
{
    let batch = client()
        .decode_batch::<C>(body.as_bytes())
        .map_err(|e| TestCaseError::fail(format!("the batch failed whole: {e}")))?;
    only_the_changed_record_may_fail(&sample.records, &batch.events, &batch.bad, changed)?;
    terminal_safe("an event", &batch.events)?;
    reasons_safe(&batch.bad)?;
    put(&mut decoded, batch.events);
    board_takes(decoded)
}

/// Decodes a lone object as the client does (`whoami`, a triage action's
/// result, an error answer): no panic, and what decodes is safe.
fn lone_object_safe<T: serde::de::DeserializeOwned + Serialize>(
    body: &[u8],
) -> Result<(), TestCaseError> {
    match serde_json::from_slice::<T>(body) {
        Ok(object) => terminal_safe("an object", &object),
        Err(_) => Ok(()),
    }
}

// ----- properties ------------------------------------------------------------------

/// What a page or batch lists, and so how it is decoded.
#[derive(Debug, Clone, Copy)]
enum List {
    Trains,
    Declarations,
    RailwayEvents,
    CustomsEvents,
}

/// A fixed number of cases per property, and no failures written next to
/// this file.
fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    /// One train (or a container, station, cut-offs or shed record in it)
    /// changed in a train page.
    #[test]
    fn a_changed_train_spoils_only_itself(page in any::<Index>(), record in any::<Index>(), place in place(), edit in edit()) {
        let samples = samples();
        let p = page.index(samples.trains.len());
        let sample = &samples.trains[p];
        let r = record.index(sample.records.len());
        let body = rewrite(&sample.body, &format!("/trains/{r}"), |train| edit_field(train, &place, &edit));
        check_page(sample, &body, r, samples.decoded(), |d, trains| d.trains[p] = trains)?;
    }

    /// One declaration (or its status, inspection, hold, a note, a goods
    /// line, a party) changed in a snapshot page or a page of holds.
    #[test]
    fn a_changed_declaration_spoils_only_itself(page in any::<Index>(), record in any::<Index>(), place in place(), edit in edit()) {
        let samples = samples();
        let snapshot = samples.declarations.len();
        let p = page.index(snapshot + samples.holds.len());
        let sample = if p < snapshot { &samples.declarations[p] } else { &samples.holds[p - snapshot] };
        let r = record.index(sample.records.len());
        let body = rewrite(&sample.body, &format!("/declarations/{r}"), |d| edit_field(d, &place, &edit));
        check_page(sample, &body, r, samples.decoded(), |d, declarations| {
            if p < snapshot { d.declarations[p] = declarations } else { d.holds[p - snapshot] = declarations }
        })?;
    }

    /// One railway event of any type changed in its batch.
    #[test]
    fn a_changed_railway_event_spoils_only_itself(event_type in any::<Index>(), which in any::<Index>(), edit in event_edit()) {
        let samples = samples();
        let places = &samples.railway_types[event_type.index(samples.railway_types.len())];
        let (b, e) = places[which.index(places.len())];
        let sample = &samples.railway[b];
        let body = rewrite(&sample.body, &format!("/events/{e}"), |event| edit_event(event, &edit));
        check_batch(sample, &body, e, samples.decoded(), |d, events| d.railway[b] = events)?;
    }

    /// One customs event of any type changed in its batch.
    #[test]
    fn a_changed_customs_event_spoils_only_itself(event_type in any::<Index>(), which in any::<Index>(), edit in event_edit()) {
        let samples = samples();
        let places = &samples.customs_types[event_type.index(samples.customs_types.len())];
        let (b, e) = places[which.index(places.len())];
        let sample = &samples.customs[b];
        let body = rewrite(&sample.body, &format!("/events/{e}"), |event| edit_event(event, &edit));
        check_batch(sample, &body, e, samples.decoded(), |d, events| d.customs[b] = events)?;
    }

    /// Any page or batch broken as a whole.
    #[test]
    fn a_broken_body_is_malformed_or_decodes_safely(which in any::<Index>(), edit in body_edit()) {
        let samples = samples();
        let answers: Vec<(List, &str)> = bodies(&samples.trains)
            .map(|body| (List::Trains, body))
            .chain(bodies(&samples.declarations).map(|body| (List::Declarations, body)))
            .chain(bodies(&samples.holds).map(|body| (List::Declarations, body)))
            .chain(bodies(&samples.railway).map(|body| (List::RailwayEvents, body)))
            .chain(bodies(&samples.customs).map(|body| (List::CustomsEvents, body)))
            .collect();
        let (list, body) = answers[which.index(answers.len())];
        let body = edit_body(body, &edit);
        let client = client();
        match list {
            List::Trains => malformed_or_safe(client.decode_page::<Train>(&body).map(|p| (p.items, p.bad)))?,
            List::Declarations => malformed_or_safe(client.decode_page::<Declaration>(&body).map(|p| (p.items, p.bad)))?,
            List::RailwayEvents => malformed_or_safe(client.decode_batch::<RailwayChange>(&body).map(|b| (b.events, b.bad)))?,
            List::CustomsEvents => malformed_or_safe(client.decode_batch::<CustomsChange>(&body).map(|b| (b.events, b.bad)))?,
        }
    }

    /// `whoami`, a triage action's result and the error answers, changed
    /// inside or broken as a whole.
    #[test]
    fn lone_objects_decode_safely_or_not_at_all(which in any::<Index>(), place in place(), edit in edit(), whole in prop::option::of(body_edit())) {
        let samples = samples();
        let bodies: Vec<&str> = [samples.whoami.as_str(), samples.action_result.as_str()]
            .into_iter()
            .chain(samples.errors.iter().map(String::as_str))
            .collect();
        let i = which.index(bodies.len());
        let body = match &whole {
            Some(whole) => edit_body(bodies[i], whole),
            None => rewrite(bodies[i], "", |object| edit_field(object, &place, &edit)).into_bytes(),
        };
        match i {
            0 => lone_object_safe::<Officer>(&body)?,
            1 => lone_object_safe::<HoldActionResult>(&body)?,
            _ => lone_object_safe::<ApiError>(&body)?,
        }
    }
}

/// The samples cover what the properties claim: several pages of each
/// list, every event type of both feeds (checked as they are read) and
/// some no version knows, times in two offsets, and text a terminal would
/// act on.
#[test]
fn the_samples_cover_every_answer_and_event_type() {
    let samples = samples();
    assert!(samples.trains.len() > 1, "train pages");
    assert!(samples.declarations.len() > 1, "declaration pages");
    assert!(!samples.holds.is_empty(), "holds pages");
    assert!(
        samples.railway_types.len() > RailwayChange::KNOWN_TYPES.len()
            && samples.customs_types.len() > CustomsChange::KNOWN_TYPES.len(),
        "no event type outside the contract"
    );
    let bodies: Vec<&str> = bodies(&samples.trains)
        .chain(bodies(&samples.declarations))
        .chain(bodies(&samples.holds))
        .chain(bodies(&samples.railway))
        .chain(bodies(&samples.customs))
        .collect();
    for offset in ["+08:00", "+05:00"] {
        assert!(
            bodies.iter().any(|b| b.contains(offset)),
            "no time in {offset}"
        );
    }
    let hostile = bodies.iter().any(|body| {
        let value: Value = serde_json::from_str(body).expect("JSON");
        let mut found = Vec::new();
        texts(&value, &mut found);
        found
            .iter()
            .any(|text| text.chars().any(acts_on_a_terminal))
    });
    assert!(hostile, "no hostile text in the samples");
}
