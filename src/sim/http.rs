//! The simulator's HTTP face: the railway API under `/railway`, the customs
//! API under `/customs`, the fault layer in front of both, and a small
//! `/control` endpoint for tests and demos.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Extension, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Duration, SubsecRound, Utc};
use fastrand::Rng;
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::Notify;
use tower_http::CompressionLevel;
use tower_http::compression::CompressionLayer;

use super::actions::ActionOutcome;
use super::config::{Faults, SimConfig};
use super::feed::FeedLog;
use super::paging;
use super::world::{TrainFilter, World};
use crate::domain::{
    Cursor, DeclarationNo, DeclarationPage, HoldActionKind, HoldActionRequest, Officer, PageToken,
    TrainPage, time,
};

/// The simulator's clock: the real clock, or held still for a test.
#[derive(Debug, Clone, Copy)]
pub struct SimClock {
    offset: Duration,
    paused_at: Option<DateTime<Utc>>,
}

impl SimClock {
    /// A clock that reads `start` now, paused or running.
    pub fn new(start: DateTime<Utc>, paused: bool) -> Self {
        SimClock {
            offset: start - Utc::now(),
            paused_at: paused.then_some(start),
        }
    }

    /// The scenario's time, to the millisecond.
    pub fn now(&self) -> DateTime<Utc> {
        self.paused_at
            .unwrap_or_else(|| Utc::now() + self.offset)
            .trunc_subsecs(3)
    }

    fn pause(&mut self) {
        self.paused_at = Some(self.now());
    }

    fn resume(&mut self) {
        if let Some(at) = self.paused_at.take() {
            self.offset = at - Utc::now();
        }
    }

    /// Moves the clock by `by`, forward or back; a move past the
    /// calendar's ends is not made.
    fn advance(&mut self, by: Duration) {
        match &mut self.paused_at {
            Some(at) => *at = at.checked_add_signed(by).unwrap_or(*at),
            None => self.offset = self.offset.checked_add(&by).unwrap_or(self.offset),
        }
    }
}

/// Everything the handlers share.
pub struct SimState {
    world: Mutex<World>,
    clock: Mutex<SimClock>,
    tokens: HashMap<String, (Officer, Whoami)>,
    dice: Mutex<Rng>,
    started: Instant,
    /// Requests to each API so far (railway, customs), answered or not.
    requests: [AtomicU64; 2],
}

impl SimState {
    /// A world built at `start` behind the given clock.
    pub fn new(config: &SimConfig, start: DateTime<Utc>, paused: bool) -> Self {
        let tokens = config
            .tokens
            .iter()
            .map(|t| {
                let officer = Officer {
                    officer_id: t.officer_id.as_str().into(),
                    name: t.name.as_str().into(),
                    role: t.role.clone(),
                };
                // Written from the settings as they are: a test may give an
                // officer a hostile name, which the client must make safe.
                let whoami = serde_json::json!({
                    "officer_id": t.officer_id,
                    "name": t.name,
                    "role": t.role,
                });
                (t.token.clone(), (officer, Whoami(whoami.to_string())))
            })
            .collect();
        SimState {
            world: Mutex::new(World::new(config, start)),
            clock: Mutex::new(SimClock::new(start, paused)),
            tokens,
            dice: Mutex::new(Rng::with_seed(config.seed ^ 0xfa17)),
            started: Instant::now(),
            requests: Default::default(),
        }
    }

    /// The world, advanced to the clock.
    pub fn world(&self) -> MutexGuard<'_, World> {
        let now = self.clock.lock().expect("clock lock").now();
        let mut world = self.world.lock().expect("world lock");
        world.advance_to(now);
        world
    }

    fn roll(&self, share: f64) -> bool {
        self.dice.lock().expect("dice lock").f64() < share
    }
}

/// What `whoami` answers for a token: its officer as the settings write it.
#[derive(Clone)]
struct Whoami(String);

/// A page token this simulator wrote, as the contract's object holds it.
fn page_token(token: String) -> PageToken {
    PageToken::new(&token).expect("the simulator's page tokens are short")
}

/// A cursor this simulator wrote, as the contract's object holds it.
fn cursor(cursor: String) -> Cursor {
    Cursor::new(&cursor).expect("the simulator's cursors are short")
}

/// Closes the connection a request came on without an answer.
#[derive(Clone)]
pub struct ConnectionKiller(pub Arc<Notify>);

// ----- replies ---------------------------------------------------------------

fn json(status: StatusCode, body: String) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        )],
        body,
    )
        .into_response()
}

/// An error answer: the contract's `{"error", "message"}` body.
#[derive(Debug)]
struct Failure {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let body = serde_json::json!({"error": self.code, "message": self.message});
        json(self.status, body.to_string())
    }
}

fn failure(status: StatusCode, code: &'static str, message: impl Into<String>) -> Failure {
    Failure {
        status,
        code,
        message: message.into(),
    }
}

fn bad_request(message: impl Into<String>) -> Failure {
    failure(StatusCode::BAD_REQUEST, "bad_request", message)
}

fn not_found(message: impl Into<String>) -> Failure {
    failure(StatusCode::NOT_FOUND, "not_found", message)
}

fn with_retry_after(failure: Failure, seconds: u32) -> Response {
    let mut response = failure.into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    response
}

type Reply = Result<Response, Failure>;

// ----- query parameters -------------------------------------------------------

struct Params(HashMap<String, String>);

impl Params {
    fn from_uri(uri: &Uri) -> Result<Self, Failure> {
        Query::<HashMap<String, String>>::try_from_uri(uri)
            .map(|Query(map)| Params(map))
            .map_err(|e| bad_request(format!("query string: {e}")))
    }

    fn text(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    fn number(
        &self,
        name: &str,
        range: std::ops::RangeInclusive<u64>,
        default: u64,
    ) -> Result<u64, Failure> {
        match self.text(name) {
            None => Ok(default),
            Some(text) => text
                .parse::<u64>()
                .ok()
                .filter(|n| range.contains(n))
                .ok_or_else(|| {
                    bad_request(format!(
                        "{name} must be an integer from {} to {}",
                        range.start(),
                        range.end()
                    ))
                }),
        }
    }

    fn time(&self, name: &str) -> Result<Option<DateTime<Utc>>, Failure> {
        self.text(name)
            .map(|text| time::parse(text).map_err(|e| bad_request(format!("{name}: {e}"))))
            .transpose()
    }

    fn page_size(&self) -> Result<usize, Failure> {
        self.number("page_size", 1..=1000, 200).map(|n| n as usize)
    }

    /// The position a page token names; `400` for a token this server
    /// does not write.
    fn page_token<T>(&self, read: impl FnOnce(&str) -> Option<T>) -> Result<Option<T>, Failure> {
        self.text("page_token")
            .map(|t| read(t).ok_or_else(|| bad_request("page_token is not one this server gave")))
            .transpose()
    }
}

/// A weak ETag for a snapshot page: it changes whenever the feeds move, the
/// request asks for something else or JSON is written another way.
fn etag(world: &World, uri: &Uri) -> String {
    let mut hasher = DefaultHasher::new();
    world.railway.head_cursor().hash(&mut hasher);
    world.customs.head_cursor().hash(&mut hasher);
    uri.path().hash(&mut hasher);
    uri.query().hash(&mut hasher);
    world.json_style().hash(&mut hasher);
    format!("W/\"{:016x}\"", hasher.finish())
}

fn not_modified(headers: &HeaderMap, tag: &str) -> Option<Response> {
    let sent = headers.get(header::IF_NONE_MATCH)?.to_str().ok()?;
    let matches = sent.split(',').any(|t| {
        let t = t.trim();
        t == "*" || t.trim_start_matches("W/") == tag.trim_start_matches("W/")
    });
    matches.then(|| {
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        response.headers_mut().insert(
            header::ETAG,
            HeaderValue::from_str(tag).expect("ascii etag"),
        );
        response
    })
}

fn with_etag(mut response: Response, tag: &str) -> Response {
    response.headers_mut().insert(
        header::ETAG,
        HeaderValue::from_str(tag).expect("ascii etag"),
    );
    response
}

// ----- middleware --------------------------------------------------------------

/// Counts each request to an API, for `/control/status`.
async fn count_request(
    State(state): State<Arc<SimState>>,
    request: Request,
    next: Next,
) -> Response {
    // Layered on both APIs, before either strips its prefix.
    let api = if request.uri().path().starts_with("/railway") {
        0
    } else {
        1
    };
    state.requests[api].fetch_add(1, Ordering::Relaxed);
    next.run(request).await
}

async fn authenticate(
    State(state): State<Arc<SimState>>,
    mut request: Request,
    next: Next,
) -> Response {
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    match token.and_then(|t| state.tokens.get(t)) {
        Some((officer, whoami)) => {
            request.extensions_mut().insert(officer.clone());
            request.extensions_mut().insert(whoami.clone());
            next.run(request).await
        }
        None => failure(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a known bearer token is required",
        )
        .into_response(),
    }
}

async fn inject_faults(
    State(state): State<Arc<SimState>>,
    request: Request,
    next: Next,
) -> Response {
    let faults = state.world.lock().expect("world lock").faults().clone();
    if faults.outages && faults.outage_every_seconds > 0.0 {
        let phase = state.started.elapsed().as_secs_f64() % faults.outage_every_seconds;
        if phase < faults.outage_seconds {
            let left = (faults.outage_seconds - phase).ceil() as u32;
            return with_retry_after(
                failure(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "maintenance spell",
                ),
                left,
            );
        }
    }
    if faults.rate_limit && state.roll(faults.rate_limit_share) {
        return with_retry_after(
            failure(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "slow down"),
            faults.retry_after_seconds,
        );
    }
    if faults.slow && state.roll(faults.slow_share) {
        tokio::time::sleep(std::time::Duration::from_millis(faults.slow_ms)).await;
    }
    let tearable = faults.torn_pages && is_page(&request);
    let response = next.run(request).await;
    if tearable && response.status() == StatusCode::OK && state.roll(faults.torn_page_share) {
        return torn(response).await;
    }
    response
}

/// Whether a request reads a snapshot page or an event batch.
fn is_page(request: &Request) -> bool {
    let path = request.uri().path();
    request.method() == axum::http::Method::GET
        && ["/v1/trains", "/v1/declarations", "/v1/events"]
            .iter()
            .any(|page| path.ends_with(page))
}

/// The answer's headers and the first half of its body, then the
/// connection dropped: the client reads a body that ends too soon.
async fn torn(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let Ok(whole) = axum::body::to_bytes(body, usize::MAX).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    let half = whole.slice(..whole.len() / 2);
    let body = futures_util::stream::unfold(Some(half), |half| async move {
        match half {
            Some(half) => Some((Ok(half), None)),
            None => {
                // Time for the half to go out before the connection drops.
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                Some((
                    Err(std::io::Error::other("torn_pages: connection dropped")),
                    None,
                ))
            }
        }
    });
    Response::from_parts(parts, axum::body::Body::from_stream(body))
}

/// Every answer's `Date` is the scenario clock: the server's clock, as a
/// client sees it (hyper would write the machine's).
async fn stamp_date(State(state): State<Arc<SimState>>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let now = state.clock.lock().expect("clock lock").now();
    let date = now.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    if let Ok(value) = HeaderValue::from_str(&date) {
        response.headers_mut().insert(header::DATE, value);
    }
    response
}

// ----- railway -------------------------------------------------------------------

async fn list_trains(State(state): State<Arc<SimState>>, uri: Uri, headers: HeaderMap) -> Reply {
    let params = Params::from_uri(&uri)?;
    let filter = TrainFilter {
        station: params.text("station").map(str::to_owned),
        from: params.time("from")?,
        to: params.time("to")?,
    };
    let size = params.page_size()?;
    let after = params.page_token(|t| paging::position(t).and_then(|k| i64::try_from(k).ok()))?;
    let world = state.world();
    let tag = etag(&world, &uri);
    if let Some(response) = not_modified(&headers, &tag) {
        return Ok(response);
    }
    let (trains, next_page_token) = world.train_page(&filter, after, size);
    let page = TrainPage {
        trains,
        next_page_token: next_page_token.map(page_token),
        cursor: after.is_none().then(|| cursor(world.railway.head_cursor())),
        server_time: world.now(),
    };
    Ok(with_etag(json(StatusCode::OK, world.to_json(&page)), &tag))
}

async fn get_train(State(state): State<Arc<SimState>>, Path(train_id): Path<String>) -> Reply {
    let world = state.world();
    match world.train_by_id(&train_id) {
        Some(train) => Ok(json(StatusCode::OK, world.to_json(&train))),
        None => Err(not_found(format!("no train {train_id}"))),
    }
}

async fn get_container(
    State(state): State<Arc<SimState>>,
    Path(container_no): Path<String>,
) -> Reply {
    let world = state.world();
    match world.container_by_no(&container_no) {
        Some(container) => Ok(json(StatusCode::OK, world.to_json(&container))),
        None => Err(not_found(format!("no container {container_no}"))),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Feed {
    Railway,
    Customs,
}

async fn railway_events(State(state): State<Arc<SimState>>, uri: Uri) -> Reply {
    events(&state, &uri, Feed::Railway)
}

async fn customs_events(State(state): State<Arc<SimState>>, uri: Uri) -> Reply {
    events(&state, &uri, Feed::Customs)
}

fn events(state: &SimState, uri: &Uri, which: Feed) -> Reply {
    let params = Params::from_uri(uri)?;
    let after = params
        .text("after")
        .filter(|a| (1..=256).contains(&a.chars().count()))
        .ok_or_else(|| bad_request("after is required: a cursor of 1 to 256 characters"))?;
    let limit = params.number("limit", 1..=5000, 500)? as usize;
    let world = state.world();
    let faults = world.faults();
    let feed: &FeedLog = match which {
        Feed::Railway => &world.railway,
        Feed::Customs => &world.customs,
    };
    let expired = || {
        failure(
            StatusCode::GONE,
            "cursor_expired",
            "the cursor is unknown or older than the event retention; take a new snapshot",
        )
    };
    let start = feed.parse_cursor(after).map_err(|_| expired())?;
    if faults.cursor_expiry && state.roll(faults.cursor_expiry_share) {
        return Err(expired());
    }
    let now = world.now();
    let visible_until = if faults.reorder && lagging_feed(faults, now) == which {
        now - Duration::milliseconds((faults.reorder_lag_seconds * 1000.0) as i64)
    } else {
        now
    };
    // Under `duplicates`, some batches repeat one of their events, some
    // carry a straggler (an older event, delivered again on its own after
    // newer ones), all within `limit`; and some hand back a `next` that
    // steps back.
    let (repeat, straggler, step_back) = if faults.duplicates {
        let mut dice = state.dice.lock().expect("dice lock");
        let repeat = (limit > 2 && dice.f64() < 0.3).then(|| dice.u64(..));
        let straggler = (limit > 2 && dice.f64() < 0.3)
            .then(|| (feed.earlier(start, dice.usize(1..=200)), dice.u64(..)));
        let step_back = (dice.f64() < 0.3).then(|| dice.usize(1..=3));
        (repeat, straggler, step_back)
    } else {
        (None, None, None)
    };
    let room = limit - usize::from(repeat.is_some()) - usize::from(straggler.is_some());
    let batch = feed.read(start, room, visible_until);
    let mut events = batch.events;
    let mut next = batch.last_seq;
    if let (Some(pick), false) = (repeat, events.is_empty()) {
        let i = (pick % events.len() as u64) as usize;
        events.insert(i + 1, events[i]);
    }
    if let Some((Some(old), pick)) = straggler {
        let i = (pick % (events.len() as u64 + 1)) as usize;
        events.insert(i, old);
    }
    if let Some(steps) = step_back {
        next = feed.step_back(next, steps).max(start);
    }
    let body = format!(
        r#"{{"events":[{}],"next":{},"has_more":{},"server_time":{}}}"#,
        events.join(","),
        serde_json::to_string(&feed.cursor(next)).expect("string"),
        batch.has_more || next < batch.last_seq,
        world.json_time(&world.now()),
    );
    Ok(json(StatusCode::OK, body))
}

/// Under `reorder`, which feed is held back now: they take turns.
fn lagging_feed(faults: &Faults, now: DateTime<Utc>) -> Feed {
    let period = (faults.reorder_lag_seconds * 3.0).max(1.0);
    if (now.timestamp() as f64 / period) as i64 % 2 == 0 {
        Feed::Customs
    } else {
        Feed::Railway
    }
}

// ----- customs ------------------------------------------------------------------

async fn whoami(Extension(whoami): Extension<Whoami>) -> Response {
    json(StatusCode::OK, whoami.0)
}

async fn list_declarations(
    State(state): State<Arc<SimState>>,
    uri: Uri,
    headers: HeaderMap,
) -> Reply {
    let params = Params::from_uri(&uri)?;
    let size = params.page_size()?;
    let after = params.page_token(paging::position)?;
    let train_id = params.text("train_id");
    let world = state.world();
    let tag = etag(&world, &uri);
    if let Some(response) = not_modified(&headers, &tag) {
        return Ok(response);
    }
    let (declarations, next_page_token) = world.declaration_page(train_id, after, size);
    let page = DeclarationPage {
        declarations,
        next_page_token: next_page_token.map(page_token),
        cursor: after.is_none().then(|| cursor(world.customs.head_cursor())),
        server_time: world.now(),
    };
    Ok(with_etag(json(StatusCode::OK, world.to_json(&page)), &tag))
}

/// A path that names no possible declaration names no declaration: `404`
/// (getDeclaration documents no `400`).
fn check_declaration_no(number: &str) -> Result<(), Failure> {
    if DeclarationNo::from(number).is_valid() {
        Ok(())
    } else {
        Err(not_found(format!(
            "{number:?} is not an inventory number (8 digits, I or E, 9 digits)"
        )))
    }
}

async fn get_declaration(State(state): State<Arc<SimState>>, Path(number): Path<String>) -> Reply {
    check_declaration_no(&number)?;
    let world = state.world();
    match world.declaration_by_no(&number) {
        Some(d) => Ok(json(StatusCode::OK, world.to_json(&d))),
        None => Err(not_found(format!("no declaration {number}"))),
    }
}

async fn list_holds(State(state): State<Arc<SimState>>, uri: Uri) -> Reply {
    let params = Params::from_uri(&uri)?;
    // The contract documents no 400 for listHolds: a page size outside
    // 1..=1000 is clamped, one that is not a number is ignored.
    let size = params
        .text("page_size")
        .and_then(|t| t.parse::<i64>().ok())
        .map_or(200, |n| n.clamp(1, 1000) as usize);
    // Nor for a page token it never gave: the list starts over, which at
    // worst repeats holds and never hides any.
    let after = params.text("page_token").and_then(paging::pair_position);
    let world = state.world();
    let (declarations, next_page_token) = world.holds_page(after, size);
    let page = DeclarationPage {
        declarations,
        next_page_token: next_page_token.map(page_token),
        cursor: None,
        server_time: world.now(),
    };
    Ok(json(StatusCode::OK, world.to_json(&page)))
}

/// Reads an action body strictly by the schema: 400 for anything else.
fn action_request(body: &[u8]) -> Result<HoldActionRequest, Failure> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| bad_request(format!("body is not JSON: {e}")))?;
    let object = value
        .as_object()
        .ok_or_else(|| bad_request("body must be a JSON object"))?;
    let action = object
        .get("action")
        .and_then(Value::as_str)
        .map(HoldActionKind::parse)
        .filter(HoldActionKind::is_known)
        .ok_or_else(|| {
            bad_request("action must be one of claim, unclaim, note, request_priority_inspection, escalate, defer_to_next_train")
        })?;
    let note = match object.get("note") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) if text.chars().count() <= 2000 => Some(text.into()),
        Some(_) => {
            return Err(bad_request(
                "note must be a string of at most 2000 characters",
            ));
        }
    };
    let expected_version = match object.get("expected_version") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) if n.is_u64() => n.as_u64(),
        // Integers the hold can never be at (negative) are stale by definition.
        Some(Value::Number(n)) if n.is_i64() => Some(u64::MAX),
        Some(_) => return Err(bad_request("expected_version must be an integer")),
    };
    Ok(HoldActionRequest {
        action,
        note,
        expected_version,
    })
}

async fn hold_action(
    State(state): State<Arc<SimState>>,
    Extension(officer): Extension<Officer>,
    killer: Option<Extension<ConnectionKiller>>,
    Path(number): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    if !officer.role.may_act() {
        return Err(failure(
            StatusCode::FORBIDDEN,
            "forbidden",
            "this token may only read",
        ));
    }
    check_declaration_no(&number)?;
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| bad_request("the Idempotency-Key header is required"))?;
    let key = uuid::Uuid::parse_str(key)
        .map_err(|_| bad_request("Idempotency-Key must be a UUID"))?
        .hyphenated()
        .to_string();
    let request = action_request(&body)?;
    let (answer, lose) = {
        let mut world = state.world();
        let outcome = world.hold_action(&officer, &number, &key, request);
        let lose = world.faults().lost_answers && state.roll(world.faults().lost_answer_share);
        let answer = match outcome {
            Ok(ActionOutcome::Recorded(result)) => {
                Ok((StatusCode::CREATED, world.to_json(&result)))
            }
            Ok(ActionOutcome::Replayed(result)) => Ok((StatusCode::OK, world.to_json(&result))),
            Err(e) => {
                let status = StatusCode::from_u16(e.status).expect("valid status");
                Err(failure(status, e.error, e.message))
            }
        };
        (answer, lose)
    };
    let (status, body) = answer?;
    if lose && let Some(Extension(killer)) = killer {
        // Recorded, and the answer is lost with the connection.
        killer.0.notify_one();
        std::future::pending::<()>().await;
    }
    Ok(json(status, body))
}

// ----- control ----------------------------------------------------------------------

async fn control_status(State(state): State<Arc<SimState>>) -> Response {
    let paused = state.clock.lock().expect("clock lock").paused_at.is_some();
    let world = state.world();
    let requests = |api: usize| state.requests[api].load(Ordering::Relaxed);
    let body = serde_json::json!({
        "now": world.now().to_rfc3339(),
        "paused": paused,
        "faults": world.faults(),
        "stats": world.stats(),
        "requests": {"railway": requests(0), "customs": requests(1)},
    });
    json(StatusCode::OK, body.to_string())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockCommand {
    #[serde(default)]
    pause: Option<bool>,
    #[serde(default)]
    advance_seconds: Option<f64>,
}

async fn control_clock(State(state): State<Arc<SimState>>, body: Bytes) -> Response {
    let command: ClockCommand = match serde_json::from_slice(&body) {
        Ok(c) => c,
        Err(e) => {
            return bad_request(format!(
                "expected {{\"pause\": bool, \"advance_seconds\": n}}: {e}"
            ))
            .into_response();
        }
    };
    {
        let mut clock = state.clock.lock().expect("clock lock");
        match command.pause {
            Some(true) => clock.pause(),
            Some(false) => clock.resume(),
            None => {}
        }
        // Back as well as forward: a server's clock may step back. The
        // world never goes back (it stays at the latest instant it saw).
        if let Some(seconds) = command.advance_seconds.filter(|s| s.is_finite()) {
            let millis = (seconds * 1000.0).clamp(-1e15, 1e15) as i64;
            clock.advance(Duration::milliseconds(millis));
        }
    }
    control_status(State(state)).await
}

async fn control_faults(State(state): State<Arc<SimState>>, body: Bytes) -> Response {
    let changes: Value = match serde_json::from_slice(&body) {
        Ok(Value::Object(map)) => Value::Object(map),
        _ => return bad_request("expected a JSON object of fault settings").into_response(),
    };
    let mut world = state.world();
    let mut merged = serde_json::to_value(world.faults()).expect("faults serialize");
    if let (Value::Object(target), Value::Object(changes)) = (&mut merged, changes) {
        target.extend(changes);
    }
    match serde_json::from_value::<Faults>(merged) {
        Ok(faults) => {
            *world.faults_mut() = faults;
            json(
                StatusCode::OK,
                serde_json::to_string(world.faults()).expect("faults serialize"),
            )
        }
        Err(e) => bad_request(e.to_string()).into_response(),
    }
}

async fn control_expire(State(state): State<Arc<SimState>>) -> Response {
    state.world().expire_cursors();
    json(StatusCode::OK, r#"{"expired":true}"#.to_owned())
}

async fn unknown_route(uri: Uri) -> Failure {
    not_found(format!("no route {}", uri.path()))
}

async fn method_not_allowed() -> Failure {
    failure(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "method not allowed on this path",
    )
}

/// The whole HTTP application.
pub fn router(state: Arc<SimState>) -> Router {
    let railway = Router::new()
        .route("/v1/trains", get(list_trains))
        .route("/v1/trains/{train_id}", get(get_train))
        .route("/v1/containers/{container_no}", get(get_container))
        .route("/v1/events", get(railway_events));
    let customs = Router::new()
        .route("/v1/whoami", get(whoami))
        .route("/v1/declarations", get(list_declarations))
        .route("/v1/declarations/{declaration_no}", get(get_declaration))
        .route("/v1/holds", get(list_holds))
        .route("/v1/holds/{declaration_no}/actions", post(hold_action))
        .route("/v1/events", get(customs_events));
    let apis = Router::new()
        .nest("/railway", railway)
        .nest("/customs", customs)
        .route_layer(middleware::from_fn_with_state(state.clone(), inject_faults))
        .route_layer(middleware::from_fn_with_state(state.clone(), authenticate))
        .route_layer(middleware::from_fn_with_state(state.clone(), count_request));
    let control = Router::new()
        .route("/status", get(control_status))
        .route("/clock", post(control_clock))
        .route("/faults", get(control_status).post(control_faults))
        .route("/expire-cursors", post(control_expire));
    Router::new()
        .merge(apis)
        .nest("/control", control)
        .fallback(unknown_route)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(state.clone(), stamp_date))
        // Level 1: a snapshot of a million parcels is a gigabyte of JSON, and
        // the fastest level keeps the simulator ahead of any client.
        .layer(CompressionLayer::new().quality(CompressionLevel::Fastest))
        .with_state(state)
}
