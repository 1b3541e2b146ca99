//! The simulator against the vendored contract, over real HTTP on loopback.
//!
//! Every answer of both APIs is checked against the schemas of
//! `tests/contract/railway.openapi.yaml` and `tests/contract/customs.openapi.yaml`
//! (OpenAPI 3.1 schema objects are JSON Schema 2020-12; formats are asserted,
//! so a `date-time` needs an explicit offset), every event's `data` against
//! the schema its `type` names in the `Event` description table, and the
//! conventions of `tests/contract/README.md` that a body or header shows:
//! error codes, the media type, the `Date` header and snapshot cursors.

mod common;

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::OnceLock;

use common::{OFFICER, OFFICER_2, SUPERVISOR, VIEWER};
use greenchannel::sim::{RunningSim, SimConfig};
use jsonschema::Validator;
use reqwest::header::{CONTENT_TYPE, DATE};
use serde_json::{Value, json};

/// The media type of every JSON answer (README, "media type").
const JSON_MEDIA_TYPE: &str = "application/json; charset=utf-8";

/// The most pages a list may have, or batches a feed read may take, before
/// the test fails rather than walking on forever.
const MAX_PAGES: usize = 10_000;

/// A well-formed inventory number no simulator parcel has.
const UNKNOWN_DECLARATION: &str = "94022026E999999999";

// ----- the contract ----------------------------------------------------------

/// One of the two upstream APIs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Api {
    Railway,
    Customs,
}

impl Api {
    fn contract_file(self) -> &'static str {
        match self {
            Api::Railway => "railway.openapi.yaml",
            Api::Customs => "customs.openapi.yaml",
        }
    }

    fn base_url(self, sim: &RunningSim) -> String {
        match self {
            Api::Railway => sim.railway_url(),
            Api::Customs => sim.customs_url(),
        }
    }

    /// The snapshot list (`listTrains`, `listDeclarations`).
    fn snapshot_path(self) -> &'static str {
        match self {
            Api::Railway => "/v1/trains",
            Api::Customs => "/v1/declarations",
        }
    }

    /// The field of a snapshot page that lists its objects.
    fn snapshot_field(self) -> &'static str {
        match self {
            Api::Railway => "trains",
            Api::Customs => "declarations",
        }
    }

    /// The schema of a snapshot page.
    fn page_schema(self) -> &'static str {
        match self {
            Api::Railway => "TrainPage",
            Api::Customs => "DeclarationPage",
        }
    }

    /// The schema an event's `data` follows, by the table in the `Event`
    /// description; `None` for a type the contract does not name.
    fn data_schema(self, event_type: &str) -> Option<&'static str> {
        let schema = match (self, event_type) {
            (Api::Railway, "train.scheduled") => "TrainScheduled",
            (Api::Railway, "train.updated") => "TrainUpdated",
            (Api::Railway, "train.departed") => "TrainDeparted",
            (Api::Railway, "train.cancelled") => "TrainCancelled",
            (Api::Railway, "container.booked") => "ContainerBooked",
            (Api::Railway, "container.arrived") => "ContainerArrived",
            (Api::Railway, "container.rebooked") => "ContainerRebooked",
            (
                Api::Railway,
                "transshipment.queued"
                | "transshipment.started"
                | "transshipment.completed"
                | "transshipment.blocked"
                | "transshipment.unblocked",
            ) => "TransshipmentChanged",
            (Api::Customs, "declaration.filed") => "DeclarationFiled",
            (Api::Customs, "declaration.status") => "StatusChanged",
            (Api::Customs, "declaration.rebooked") => "DeclarationRebooked",
            (
                Api::Customs,
                "inspection.selected" | "inspection.started" | "inspection.completed",
            ) => "InspectionChanged",
            (Api::Customs, "hold.placed" | "hold.updated") => "HoldChanged",
            (Api::Customs, "hold.lifted") => "HoldLifted",
            _ => return None,
        };
        Some(schema)
    }
}

/// A validator for every schema of both contract files.
struct Contract {
    validators: HashMap<(Api, String), Validator>,
}

impl Contract {
    /// Loads both YAML files and builds one validator per schema name, each
    /// rooted in a document that carries the file's `components` so that
    /// internal `$ref`s resolve.
    fn load() -> Contract {
        let mut validators = HashMap::new();
        for api in [Api::Railway, Api::Customs] {
            let path = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/contract")
                .join(api.contract_file());
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let document: Value =
                serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let components = &document["components"];
            let names = components["schemas"]
                .as_object()
                .unwrap_or_else(|| panic!("{}: no components.schemas", path.display()))
                .keys();
            for name in names {
                let root = json!({
                    "$ref": format!("#/components/schemas/{name}"),
                    "components": components,
                });
                let validator = jsonschema::draft202012::options()
                    .should_validate_formats(true)
                    .build(&root)
                    .unwrap_or_else(|e| panic!("{}: schema {name}: {e}", path.display()));
                validators.insert((api, name.clone()), validator);
            }
        }
        Contract { validators }
    }

    fn validator(&self, api: Api, schema: &str) -> &Validator {
        self.validators
            .get(&(api, schema.to_owned()))
            .unwrap_or_else(|| panic!("{api:?} contract has no schema {schema}"))
    }
}

fn contract() -> &'static Contract {
    static CONTRACT: OnceLock<Contract> = OnceLock::new();
    CONTRACT.get_or_init(Contract::load)
}

/// At most `max` characters of `text`, with control and invisible
/// characters escaped so that hostile text cannot garble a failure message.
fn shown(text: &str, max: usize) -> String {
    let mut out = String::new();
    for c in text.chars().take(max) {
        let invisible = matches!(
            c,
            '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}'
        );
        if c.is_control() || invisible {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    if text.chars().nth(max).is_some() {
        out.push_str("...");
    }
    out
}

/// Panics with every validation error, the schema, the context (method and
/// URL) and the start of the body unless `body` follows `schema` of `api`.
fn assert_valid(api: Api, schema: &str, body: &Value, context: &str) {
    let errors: Vec<String> = contract()
        .validator(api, schema)
        .iter_errors(body)
        .map(|e| {
            format!(
                "  at {:?} (schema {}): {}",
                e.instance_path().to_string(),
                e.evaluation_path(),
                shown(&e.to_string(), 300)
            )
        })
        .collect();
    assert!(
        errors.is_empty(),
        "{context}: the body does not follow {api:?} schema {schema}:\n{}\nbody: {}",
        errors.join("\n"),
        shown(&body.to_string(), 600),
    );
}

// ----- HTTP ------------------------------------------------------------------

/// What the bodies answered so far contained.
#[derive(Debug, Default)]
struct Seen {
    /// Every offset RFC 3339 times were written in (`+08:00`, `Z`, ...),
    /// with where it was first seen: request, JSON pointer and the time.
    offsets: BTreeMap<String, String>,
    /// Strings with control characters.
    control_text: usize,
}

impl Seen {
    fn record(&mut self, value: &Value, pointer: &str, context: &str) {
        match value {
            Value::String(text) => {
                if chrono::DateTime::parse_from_rfc3339(text).is_ok() {
                    let offset = if text.ends_with(['Z', 'z']) {
                        "Z"
                    } else {
                        &text[text.len().saturating_sub(6)..]
                    };
                    self.offsets
                        .entry(offset.to_owned())
                        .or_insert_with(|| format!("{context} at {pointer:?}: {text}"));
                }
                if text.chars().any(char::is_control) {
                    self.control_text += 1;
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.record(item, &format!("{pointer}/{i}"), context);
                }
            }
            Value::Object(fields) => {
                for (name, field) in fields {
                    self.record(field, &format!("{pointer}/{name}"), context);
                }
            }
            _ => {}
        }
    }
}

/// One answer: its status and JSON body, and the request it answers.
struct Answer {
    context: String,
    status: u16,
    body: Value,
}

impl Answer {
    /// Asserts the status and that the body follows `schema`.
    fn expect(self, status: u16, api: Api, schema: &str) -> Value {
        assert_eq!(
            self.status,
            status,
            "{}: unexpected status; body: {}",
            self.context,
            shown(&self.body.to_string(), 600)
        );
        assert_valid(api, schema, &self.body, &self.context);
        self.body
    }

    /// Asserts an error answer: the status, an `Error` body and, where the
    /// contract names one, its `error` code.
    fn expect_error(self, status: u16, api: Api, code: Option<&str>) {
        let context = self.context.clone();
        let body = self.expect(status, api, "Error");
        if let Some(code) = code {
            assert_eq!(body["error"], code, "{context}: error code");
        }
    }
}

/// An HTTP client of one simulator that checks the headers of every answer.
struct Client<'a> {
    sim: &'a RunningSim,
    http: reqwest::Client,
    seen: RefCell<Seen>,
}

impl<'a> Client<'a> {
    fn new(sim: &'a RunningSim) -> Self {
        Client {
            sim,
            http: common::client(),
            seen: RefCell::default(),
        }
    }

    fn url(&self, api: Api, path: &str, query: &[(&str, &str)]) -> String {
        let url = format!("{}{path}", api.base_url(self.sim));
        reqwest::Url::parse_with_params(&url, query)
            .unwrap_or_else(|e| panic!("{url}: {e}"))
            .to_string()
    }

    /// `GET` with an optional bearer token.
    async fn get(
        &self,
        api: Api,
        path: &str,
        query: &[(&str, &str)],
        token: Option<&str>,
    ) -> Answer {
        let url = self.url(api, path, query);
        let mut request = self.http.get(&url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let who = token.unwrap_or("no token");
        self.send(request, format!("GET {url} as {who}")).await
    }

    /// `GET` as the viewer, expecting `200` and a body that follows `schema`.
    async fn read(&self, api: Api, path: &str, query: &[(&str, &str)], schema: &str) -> Value {
        self.get(api, path, query, Some(VIEWER))
            .await
            .expect(200, api, schema)
    }

    /// `POST /v1/holds/{no}/actions`; the body is checked against
    /// `HoldActionRequest` first so that the test only sends what the
    /// contract allows.
    async fn hold_action(
        &self,
        declaration_no: &str,
        token: &str,
        idempotency_key: Option<&str>,
        body: &Value,
    ) -> Answer {
        let url = self.url(
            Api::Customs,
            &format!("/v1/holds/{declaration_no}/actions"),
            &[],
        );
        let context = format!("POST {url} as {token} (Idempotency-Key {idempotency_key:?}) {body}");
        assert_valid(Api::Customs, "HoldActionRequest", body, &context);
        let mut request = self.http.post(&url).bearer_auth(token).json(body);
        if let Some(key) = idempotency_key {
            request = request.header("Idempotency-Key", key);
        }
        self.send(request, context).await
    }

    /// Sends, checks `Date` and `Content-Type`, and reads the JSON body.
    async fn send(&self, request: reqwest::RequestBuilder, context: String) -> Answer {
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{context}: {e}"));
        let status = response.status().as_u16();
        let date = response
            .headers()
            .get(DATE)
            .unwrap_or_else(|| panic!("{context}: answer {status} has no Date header"))
            .to_str()
            .unwrap_or_else(|e| panic!("{context}: Date header: {e}"))
            .to_owned();
        assert!(
            chrono::DateTime::parse_from_rfc2822(&date).is_ok(),
            "{context}: Date header {date:?} is not an HTTP date"
        );
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        assert_eq!(
            content_type.as_deref(),
            Some(JSON_MEDIA_TYPE),
            "{context}: Content-Type of answer {status}"
        );
        let text = response
            .text()
            .await
            .unwrap_or_else(|e| panic!("{context}: body: {e}"));
        let body: Value = serde_json::from_str(&text).unwrap_or_else(|e| {
            panic!(
                "{context}: answer {status} is not JSON ({e}): {}",
                shown(&text, 600)
            )
        });
        self.seen.borrow_mut().record(&body, "", &context);
        Answer {
            context,
            status,
            body,
        }
    }
}

// ----- walks ---------------------------------------------------------------

fn items<'v>(body: &'v Value, field: &str) -> &'v [Value] {
    body[field].as_array().unwrap_or_else(|| {
        panic!(
            "{field} is not an array in {}",
            shown(&body.to_string(), 300)
        )
    })
}

fn text<'v>(value: &'v Value, field: &str) -> &'v str {
    value[field].as_str().unwrap_or_else(|| {
        panic!(
            "{field} is not a string in {}",
            shown(&value.to_string(), 300)
        )
    })
}

/// Reads every page of the snapshot of `api`, each against its page
/// schema; the first page must carry a cursor and later pages
/// `cursor: null`. Returns the items of all pages, the snapshot's cursor and
/// the number of pages.
async fn snapshot(
    client: &Client<'_>,
    api: Api,
    query: &[(&str, &str)],
) -> (Vec<Value>, String, usize) {
    let path = api.snapshot_path();
    let url = client.url(api, path, query);
    let pages = common::walk_pages(&url, MAX_PAGES, async |token| {
        let mut params = query.to_vec();
        if let Some(token) = token {
            params.push(("page_token", token));
        }
        let page = client.read(api, path, &params, api.page_schema()).await;
        let next = common::next_page_token(&page);
        (page, next)
    })
    .await;
    let cursor = pages[0]["cursor"]
        .as_str()
        .unwrap_or_else(|| panic!("GET {url}: the first page carries no cursor"))
        .to_owned();
    for (i, page) in pages.iter().enumerate().skip(1) {
        assert_eq!(
            page.get("cursor"),
            Some(&Value::Null),
            "GET {url}: page {} must carry cursor: null",
            i + 1
        );
    }
    let all = pages
        .iter()
        .flat_map(|page| items(page, api.snapshot_field()))
        .cloned()
        .collect();
    (all, cursor, pages.len())
}

/// Every page of `listHolds`; each listed declaration must be held.
async fn holds(client: &Client<'_>, page_size: &str) -> Vec<Value> {
    let path = "/v1/holds";
    let pages = common::walk_pages(path, MAX_PAGES, async |token| {
        let mut params = vec![("page_size", page_size)];
        if let Some(token) = token {
            params.push(("page_token", token));
        }
        let page = client
            .read(Api::Customs, path, &params, "DeclarationPage")
            .await;
        let next = common::next_page_token(&page);
        (page, next)
    })
    .await;
    let all: Vec<Value> = pages
        .iter()
        .flat_map(|page| items(page, "declarations"))
        .cloned()
        .collect();
    for declaration in &all {
        assert!(
            declaration["hold"].is_object(),
            "GET /v1/holds lists {} without a hold",
            text(declaration, "declaration_no")
        );
    }
    all
}

/// Reads a feed from `cursor` until `has_more` is false: every batch
/// against `EventBatch` (which checks each envelope against `Event`) and
/// every event's `data` against the schema its type names; an event type
/// the contract does not name only while the simulator's `unknown_codes`
/// fault is on. Moves `cursor` to the batch's `next` and returns the events
/// read.
async fn read_events(client: &Client<'_>, api: Api, cursor: &mut String) -> Vec<Value> {
    let unknown_allowed = client.sim.state.world().faults().unknown_codes;
    let mut events = Vec::new();
    for _ in 0..MAX_PAGES {
        let query = [("after", cursor.as_str())];
        let context = format!("GET {}", client.url(api, "/v1/events", &query));
        let batch = client.read(api, "/v1/events", &query, "EventBatch").await;
        for event in items(&batch, "events") {
            let event_type = text(event, "type");
            let context = format!(
                "{context}: data of event {} ({event_type})",
                text(event, "event_id")
            );
            match api.data_schema(event_type) {
                Some(schema) => assert_valid(api, schema, &event["data"], &context),
                None => assert!(
                    unknown_allowed,
                    "{context}: a type the contract does not name, without unknown_codes"
                ),
            }
        }
        events.extend(items(&batch, "events").iter().cloned());
        *cursor = text(&batch, "next").to_owned();
        if batch["has_more"] != Value::Bool(true) {
            return events;
        }
    }
    panic!("{api:?} events: has_more for {MAX_PAGES} batches");
}

/// Follows both feeds (each from its snapshot cursor) while the paused
/// clock moves on in `steps` of `step_seconds`. Returns how often each
/// event type occurred, per feed.
async fn follow_feeds(
    client: &Client<'_>,
    feeds: &mut [(Api, String)],
    steps: u32,
    step_seconds: f64,
) -> HashMap<Api, BTreeMap<String, usize>> {
    let mut types: HashMap<Api, BTreeMap<String, usize>> = feeds
        .iter()
        .map(|(api, _)| (*api, BTreeMap::new()))
        .collect();
    for _ in 0..steps {
        common::advance(client.sim, step_seconds).await;
        for (api, cursor) in feeds.iter_mut() {
            let tally = types.get_mut(api).expect("a tally per feed");
            for event in read_events(client, *api, cursor).await {
                *tally.entry(text(&event, "type").to_owned()).or_default() += 1;
            }
        }
    }
    types
}

/// The event types of a tally that the contract names.
fn known_types(api: Api, tally: &BTreeMap<String, usize>) -> BTreeSet<&str> {
    tally
        .keys()
        .map(String::as_str)
        .filter(|t| api.data_schema(t).is_some())
        .collect()
}

/// `getTrain` for every train and `getContainer` for the first and last
/// container of each.
async fn read_trains_one_by_one(client: &Client<'_>, trains: &[Value]) {
    for train in trains {
        let id = text(train, "train_id");
        let one = client
            .read(Api::Railway, &format!("/v1/trains/{id}"), &[], "Train")
            .await;
        assert_eq!(one["train_id"], id, "getTrain {id} answers another train");
        let containers = items(train, "containers");
        for container in containers.first().into_iter().chain(containers.last()) {
            let no = text(container, "container_no");
            let one = client
                .read(
                    Api::Railway,
                    &format!("/v1/containers/{no}"),
                    &[],
                    "Container",
                )
                .await;
            assert_eq!(one["container_no"], no, "getContainer {no} answers another");
        }
    }
}

/// `getDeclaration` for each of `declarations`.
async fn read_declarations_one_by_one<'v>(
    client: &Client<'_>,
    declarations: impl IntoIterator<Item = &'v Value>,
) {
    for declaration in declarations {
        let no = text(declaration, "declaration_no");
        let one = client
            .read(
                Api::Customs,
                &format!("/v1/declarations/{no}"),
                &[],
                "Declaration",
            )
            .await;
        assert_eq!(
            one["declaration_no"], no,
            "getDeclaration {no} answers another"
        );
    }
}

// ----- tests -----------------------------------------------------------------

/// The railway API: every page of the train snapshot follows `TrainPage`
/// (cursor on the first page only), each train and container read alone
/// follows `Train` / `Container`, and 24 minutes of scenario time of events
/// follow `EventBatch`, each event's data its type's schema, with at least
/// five event types seen.
#[tokio::test]
async fn railway_snapshot_objects_and_events_follow_the_contract() {
    let sim = common::start_sim(SimConfig::default()).await;
    let client = Client::new(&sim);

    let (trains, cursor, pages) = snapshot(&client, Api::Railway, &[("page_size", "3")]).await;
    assert!(pages >= 2, "{} trains fit one page of 3", trains.len());
    read_trains_one_by_one(&client, &trains).await;

    let mut feeds = [(Api::Railway, cursor)];
    let types = follow_feeds(&client, &mut feeds, 12, 120.0).await;
    let tally = &types[&Api::Railway];
    let known = known_types(Api::Railway, tally);
    assert!(
        known.len() >= 5,
        "24 minutes of railway events show only {tally:?}"
    );
}

/// The customs API: `whoami` follows `Officer` for every token, every page
/// of the declaration snapshot (whole and of one train) and of the held
/// list follows `DeclarationPage`, declarations read alone follow
/// `Declaration`, and 24 minutes of scenario time of events follow
/// `EventBatch`, each event's data its type's schema, with at least five
/// event types seen. Without `mixed_offsets`, every time customs writes is
/// in `+08:00` (README, "times": "customs writes `+08:00`").
#[tokio::test]
async fn customs_snapshot_objects_and_events_follow_the_contract() {
    let sim = common::start_sim(SimConfig::default()).await;
    let client = Client::new(&sim);

    for (token, officer_id, role) in [
        (VIEWER, "ALK-WALL1", "viewer"),
        (OFFICER, "ALK-0417", "officer"),
        (OFFICER_2, "ALK-0233", "officer"),
        (SUPERVISOR, "ALK-0001", "supervisor"),
    ] {
        let me = client
            .get(Api::Customs, "/v1/whoami", &[], Some(token))
            .await
            .expect(200, Api::Customs, "Officer");
        assert_eq!(me["officer_id"], officer_id, "whoami as {token}");
        assert_eq!(me["role"], role, "whoami as {token}");
    }

    let (declarations, cursor, pages) =
        snapshot(&client, Api::Customs, &[("page_size", "200")]).await;
    assert!(
        pages >= 2,
        "{} declarations fit one page",
        declarations.len()
    );

    let train_id = text(&declarations[declarations.len() / 2], "train_id");
    let (of_train, _, _) = snapshot(
        &client,
        Api::Customs,
        &[("train_id", train_id), ("page_size", "200")],
    )
    .await;
    assert!(!of_train.is_empty(), "no declarations of {train_id}");
    for declaration in &of_train {
        assert_eq!(declaration["train_id"], train_id, "train_id={train_id}");
    }

    let held = holds(&client, "5").await;
    assert!(!held.is_empty(), "the demo scenario has no open hold");
    let sample = [&declarations[0], &declarations[declarations.len() - 1]];
    read_declarations_one_by_one(&client, sample.into_iter().chain(&held)).await;

    let mut feeds = [(Api::Customs, cursor)];
    let types = follow_feeds(&client, &mut feeds, 12, 120.0).await;
    let tally = &types[&Api::Customs];
    let known = known_types(Api::Customs, tally);
    assert!(
        known.len() >= 5,
        "24 minutes of customs events show only {tally:?}"
    );

    let offsets = &client.seen.borrow().offsets;
    let others: Vec<&String> = offsets
        .iter()
        .filter(|(offset, _)| *offset != "+08:00")
        .map(|(_, first)| first)
        .collect();
    assert!(
        others.is_empty(),
        "customs writes +08:00, yet it wrote times in other offsets, first: {others:#?}"
    );
}

/// Triage actions on a held parcel answer as README.md says, every body
/// following `HoldActionResult` or `Error`: a claim is recorded (201) and
/// replayed under the same key (200, same body); another officer's claim,
/// a stale `expected_version`, the viewer, an unknown or unheld
/// declaration and a missing `Idempotency-Key` are refused with the
/// documented status and code; a note by another officer is recorded; both
/// recorded actions reach the event feed as `hold.updated`.
#[tokio::test]
async fn hold_actions_answer_as_the_contract_says() {
    let sim = common::start_sim(SimConfig::default()).await;
    let client = Client::new(&sim);
    let customs = Api::Customs;

    let first_page = client
        .read(
            customs,
            customs.snapshot_path(),
            &[("page_size", "200")],
            customs.page_schema(),
        )
        .await;
    let mut cursor = text(&first_page, "cursor").to_owned();
    let not_held = items(&first_page, "declarations")
        .iter()
        .find(|d| d["hold"].is_null())
        .map(|d| text(d, "declaration_no"))
        .expect("a declaration without a hold");
    let held = holds(&client, "200").await;
    let target = held
        .iter()
        .find(|d| d["hold"]["claimed_by"].is_null())
        .expect("an unclaimed hold in the demo scenario");
    let no = text(target, "declaration_no");
    let version = target["hold"]["version"]
        .as_i64()
        .expect("hold version is an integer");

    let key = uuid::Uuid::new_v4().to_string();
    let claim = json!({"action": "claim", "expected_version": version});
    let recorded = client
        .hold_action(no, OFFICER, Some(&key), &claim)
        .await
        .expect(201, customs, "HoldActionResult");
    assert_eq!(recorded["declaration_no"], no);
    assert_eq!(recorded["action"], "claim");
    assert_eq!(recorded["hold"]["claimed_by"], "ALK-0417");
    assert!(recorded["hold"]["version"].as_i64() > Some(version));

    let replayed = client
        .hold_action(no, OFFICER, Some(&key), &claim)
        .await
        .expect(200, customs, "HoldActionResult");
    assert_eq!(
        replayed, recorded,
        "the same key must answer the first result"
    );

    let fresh_key = || uuid::Uuid::new_v4().to_string();
    client
        .hold_action(
            no,
            OFFICER_2,
            Some(&fresh_key()),
            &json!({"action": "claim"}),
        )
        .await
        .expect_error(409, customs, Some("claimed_by_other"));
    client
        .hold_action(no, VIEWER, Some(&fresh_key()), &json!({"action": "claim"}))
        .await
        .expect_error(403, customs, None);
    client
        .hold_action(
            UNKNOWN_DECLARATION,
            OFFICER,
            Some(&fresh_key()),
            &json!({"action": "claim"}),
        )
        .await
        .expect_error(404, customs, None);
    client
        .hold_action(
            not_held,
            OFFICER,
            Some(&fresh_key()),
            &json!({"action": "claim"}),
        )
        .await
        .expect_error(422, customs, Some("not_held"));
    client
        .hold_action(
            no,
            OFFICER,
            Some(&fresh_key()),
            &json!({"action": "escalate", "expected_version": version}),
        )
        .await
        .expect_error(409, customs, Some("version_conflict"));

    let note = "发票已补 · invoice received";
    let noted = client
        .hold_action(
            no,
            OFFICER_2,
            Some(&fresh_key()),
            &json!({"action": "note", "note": note}),
        )
        .await
        .expect(201, customs, "HoldActionResult");
    let notes = items(&noted["hold"], "notes");
    assert_eq!(notes.last().map(|n| &n["text"]), Some(&json!(note)));
    assert_eq!(
        noted["hold"]["claimed_by"], "ALK-0417",
        "a note keeps the claim"
    );

    client
        .hold_action(no, OFFICER, None, &json!({"action": "escalate"}))
        .await
        .expect_error(400, customs, None);

    let updates: Vec<Value> = read_events(&client, customs, &mut cursor)
        .await
        .into_iter()
        .filter(|e| e["type"] == "hold.updated" && e["data"]["declaration_no"] == no)
        .collect();
    let by: Vec<&Value> = updates.iter().map(|e| &e["data"]["by"]).collect();
    assert_eq!(
        by,
        [&json!("ALK-0417"), &json!("ALK-0233")],
        "the claim and the note as hold.updated events of {no}"
    );
}

/// Refused reads answer the contract's `Error` body with a status the
/// operation documents (and the code where README.md names one): no or an
/// unknown token, an unknown cursor, `limit=0`, `page_size=0`, unknown
/// objects. Every answer is `application/json; charset=utf-8` with a `Date`
/// header (as the client checks on each answer).
#[tokio::test]
async fn refused_requests_answer_contract_errors() {
    let sim = common::start_sim(SimConfig::default()).await;
    let client = Client::new(&sim);

    for (api, path) in [
        (Api::Railway, "/v1/trains"),
        (Api::Customs, "/v1/whoami"),
        (Api::Customs, "/v1/declarations"),
    ] {
        client
            .get(api, path, &[], None)
            .await
            .expect_error(401, api, None);
        client
            .get(api, path, &[], Some("not-a-token"))
            .await
            .expect_error(401, api, None);
    }
    for api in [Api::Railway, Api::Customs] {
        let (snapshot, page_schema) = (api.snapshot_path(), api.page_schema());
        client
            .get(api, "/v1/events", &[("after", "garbage")], Some(VIEWER))
            .await
            .expect_error(410, api, Some("cursor_expired"));
        let page = client
            .read(api, snapshot, &[("page_size", "1")], page_schema)
            .await;
        let cursor = text(&page, "cursor");
        client
            .get(
                api,
                "/v1/events",
                &[("after", cursor), ("limit", "0")],
                Some(VIEWER),
            )
            .await
            .expect_error(400, api, None);
        client
            .get(api, snapshot, &[("page_size", "0")], Some(VIEWER))
            .await
            .expect_error(400, api, None);
    }
    let unknown_declaration = format!("/v1/declarations/{UNKNOWN_DECLARATION}");
    for (api, path) in [
        (Api::Railway, "/v1/trains/X9999-20261126"),
        (Api::Railway, "/v1/containers/CSQU3054383"),
        (Api::Customs, unknown_declaration.as_str()),
    ] {
        client
            .get(api, path, &[], Some(VIEWER))
            .await
            .expect_error(404, api, None);
    }
}

/// With `hostile_text`, `unknown_codes` and `mixed_offsets` on, snapshots,
/// objects read alone and events of both feeds still follow the schemas
/// (events of types the contract does not name only `Event`); the faults
/// show: unknown event types, text with control characters, and times in
/// both `+08:00` and `+05:00`.
#[tokio::test]
async fn faulty_content_still_follows_the_contract() {
    let sim = common::start_sim(SimConfig::default()).await;
    let client = Client::new(&sim);
    common::faults(
        &sim,
        json!({"hostile_text": true, "unknown_codes": true, "mixed_offsets": true}),
    )
    .await;

    let (_, railway_cursor, _) = snapshot(&client, Api::Railway, &[]).await;
    let (_, customs_cursor, _) = snapshot(&client, Api::Customs, &[]).await;
    let mut feeds = [
        (Api::Railway, railway_cursor),
        (Api::Customs, customs_cursor),
    ];
    let types = follow_feeds(&client, &mut feeds, 10, 60.0).await;
    for (api, _) in &feeds {
        let unknown: Vec<&String> = types[api]
            .keys()
            .filter(|t| api.data_schema(t).is_none())
            .collect();
        assert!(
            !unknown.is_empty(),
            "no unknown {api:?} event type in {:?}",
            types[api]
        );
    }

    let (trains, _, _) = snapshot(&client, Api::Railway, &[]).await;
    read_trains_one_by_one(&client, &trains).await;
    let (declarations, _, _) = snapshot(&client, Api::Customs, &[]).await;
    let held = holds(&client, "200").await;
    read_declarations_one_by_one(&client, declarations.iter().step_by(50).chain(&held)).await;

    let seen = client.seen.borrow();
    for offset in ["+08:00", "+05:00"] {
        assert!(
            seen.offsets.contains_key(offset),
            "no time in {offset}; offsets seen: {:#?}",
            seen.offsets
        );
    }
    assert!(
        seen.control_text > 0,
        "hostile_text wrote no control characters"
    );
}
