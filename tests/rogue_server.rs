//! `greenchannel status` against a server that speaks the contract's paths
//! (the railway under `/railway`, customs under `/customs`) but misbehaves:
//! it asks for endless waits, answers after the deadline, pages for ever,
//! quotes the token back, sends terminal escapes and clocks far off.
//! Whatever it does, the real binary ends by its deadline, says why, never
//! panics, never prints the token, and prints nothing a terminal would act
//! on.

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde_json::{Value, json};

/// The deadline given to every run, in seconds.
const DEADLINE: &str = "3";
/// How long after the deadline a run may take to start, print and exit.
const MARGIN: Duration = Duration::from_secs(2);
/// A token for both feeds.
const TOKEN: &str = "tok-8f2e91";

// ----- the rogue server -----------------------------------------------------------

/// How a snapshot pages.
#[derive(Clone, Copy)]
enum Paging {
    /// One page.
    One,
    /// A page with a new next page token, for ever.
    Endless,
    /// The same next page token, again and again.
    SameTokenAgain,
}

/// A server of both APIs and how it misbehaves; each knob off serves a
/// small, valid world of one train, its container and its parcels.
struct Rogue {
    /// Every request answered 429 with this `Retry-After`.
    retry_after: Option<&'static str>,
    /// Requests whose path ends so are answered only after a minute.
    slow: Option<&'static str>,
    /// Every request answered 403 with this message.
    forbidden: Option<String>,
    /// The `Date` of every answer.
    date: Option<&'static str>,
    /// How snapshots page.
    paging: Paging,
    /// The trains of the railway snapshot.
    trains: Vec<Value>,
    /// The declarations of the customs snapshot.
    declarations: Vec<Value>,
    /// The customs events after the snapshot.
    customs_events: Vec<Value>,
    /// The body of `whoami`.
    whoami: String,
}

impl Rogue {
    /// A server that behaves.
    fn new() -> Rogue {
        Rogue {
            retry_after: None,
            slow: None,
            forbidden: None,
            date: None,
            paging: Paging::One,
            trains: vec![train()],
            declarations: (1..=3).map(declaration).collect(),
            customs_events: Vec::new(),
            whoami: json!({"officer_id": "ALK-0417", "name": "Wang Fang", "role": "officer"})
                .to_string(),
        }
    }

    /// Serves on a loopback port; the base URL.
    async fn serve(self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local address");
        let rogue = Arc::new(self);
        let app = axum::Router::new().fallback(move |uri: Uri| {
            let rogue = Arc::clone(&rogue);
            async move { rogue.answer(&uri).await }
        });
        tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
        format!("http://{addr}")
    }

    async fn answer(&self, uri: &Uri) -> Response {
        let mut response = self.body(uri).await;
        if let Some(date) = self.date {
            let date = header::HeaderValue::from_static(date);
            response.headers_mut().insert(header::DATE, date);
        }
        response
    }

    async fn body(&self, uri: &Uri) -> Response {
        let path = uri.path();
        if self.slow.is_some_and(|suffix| path.ends_with(suffix)) {
            tokio::time::sleep(Duration::from_secs(60)).await;
        }
        if let Some(message) = &self.forbidden {
            let body = json!({"error": "forbidden", "message": message});
            return (StatusCode::FORBIDDEN, json_body(body.to_string())).into_response();
        }
        if let Some(wait) = self.retry_after {
            let body = json!({"error": "rate_limited", "message": "slow down"});
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, wait)],
                json_body(body.to_string()),
            )
                .into_response();
        }
        let page_token = uri
            .query()
            .unwrap_or("")
            .split('&')
            .find_map(|pair| pair.strip_prefix("page_token="));
        let body = if path.ends_with("/v1/trains") {
            self.page("trains", &self.trains, page_token)
        } else if path.ends_with("/v1/declarations") {
            self.page("declarations", &self.declarations, page_token)
        } else if path.ends_with("/v1/events") {
            let events = if path.starts_with("/customs") {
                &self.customs_events[..]
            } else {
                &[]
            };
            json!({"events": events, "next": "c1", "has_more": false, "server_time": at(0)})
                .to_string()
        } else if path.ends_with("/v1/whoami") {
            self.whoami.clone()
        } else {
            return StatusCode::NOT_FOUND.into_response();
        };
        json_body(body).into_response()
    }

    /// A snapshot page: the objects on the first, then as `paging` says.
    fn page(&self, key: &str, objects: &[Value], token: Option<&str>) -> String {
        let next = match (self.paging, token) {
            (Paging::One, _) => Value::Null,
            (Paging::Endless, token) => {
                let n: u64 = token.and_then(|t| t[1..].parse().ok()).unwrap_or(0);
                json!(format!("p{}", n + 1))
            }
            (Paging::SameTokenAgain, _) => json!("again"),
        };
        let mut page = json!({"next_page_token": next, "server_time": at(0)});
        if token.is_none() {
            page[key] = json!(objects);
            page["cursor"] = json!("c0");
        } else {
            page[key] = json!([]);
        }
        page.to_string()
    }
}

fn json_body(body: String) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], body)
}

/// An instant `minutes` from now, as the contract writes it.
fn at(minutes: i64) -> String {
    (Utc::now() + chrono::Duration::minutes(minutes)).to_rfc3339()
}

/// A train leaving in six hours, its one container on a broad-gauge wagon.
fn train() -> Value {
    json!({
        "train_id": "X8017-20261126",
        "train_no": "X8017",
        "origin": {"code": "AKR", "name": "Alashankou"},
        "destination": {"code": "722400", "name": "Tashkent-Tovarny"},
        "scheduled_departure": at(360),
        "status": "loading",
        "cutoffs": {"transshipment": at(300), "customs_release": at(300)},
        "containers": [{
            "container_no": "CSQU3054383",
            "train_id": "X8017-20261126",
            "arrived_at": at(-120),
            "transshipment": {
                "status": "done",
                "queued_at": at(-100),
                "started_at": at(-90),
                "completed_at": at(-80)
            },
            "seq": 1
        }],
        "seq": 1
    })
}

/// A released parcel in that container.
fn declaration(serial: u64) -> Value {
    json!({
        "declaration_no": format!("94022026E{serial:09}"),
        "waybill_no": format!("YT{serial:010}"),
        "procedure": "9610",
        "ebc": {"code": "3301960ABC", "name": "义乌小商品"},
        "train_id": "X8017-20261126",
        "container_no": "CSQU3054383",
        "goods": [],
        "status": {"code": "800", "at": at(-60)},
        "seq": serial
    })
}

// ----- running the binary ---------------------------------------------------------

/// One finished run of `greenchannel status`.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    took: Duration,
}

impl Run {
    /// What to show when an assertion fails.
    fn context(&self) -> String {
        format!(
            "exit {:?} after {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code, self.took, self.stdout, self.stderr
        )
    }

    /// Asserts the run ended by itself with `code`, without a panic, by
    /// the deadline (and the margin).
    fn assert_ended(&self, code: i32) {
        let deadline = Duration::from_secs(DEADLINE.parse().expect("seconds"));
        assert_ne!(self.code, Some(101), "a panic\n{}", self.context());
        assert!(!self.stderr.contains("panicked"), "{}", self.context());
        assert_eq!(self.code, Some(code), "{}", self.context());
        assert!(
            self.took < deadline + MARGIN,
            "past the deadline\n{}",
            self.context()
        );
    }

    /// Stdout as JSON.
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON: {e}\n{}", self.context()))
    }

    /// The `feeds` line of the text summary.
    fn feeds_line(&self) -> &str {
        self.stdout
            .lines()
            .find(|l| l.starts_with("feeds"))
            .unwrap_or_else(|| panic!("no feeds line\n{}", self.context()))
    }
}

/// `greenchannel status` against these bases, with the token for both
/// feeds, the deadline, and none of the caller's `GREENCHANNEL_*`
/// variables.
fn status(railway: &str, customs: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_greenchannel"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("GREENCHANNEL_") {
            command.env_remove(name);
        }
    }
    command
        .arg("status")
        .args(["--railway-url", &format!("{railway}/railway")])
        .args(["--customs-url", &format!("{customs}/customs")])
        .env("GREENCHANNEL_RAILWAY_TOKEN", TOKEN)
        .env("GREENCHANNEL_CUSTOMS_TOKEN", TOKEN);
    command
}

/// Runs to the end on a blocking thread, so that the servers in this
/// process keep answering (or not).
async fn run(mut command: Command) -> Run {
    let started = Instant::now();
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("the runner thread ends")
        .expect("the binary starts");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        took: started.elapsed(),
    }
}

/// Characters a terminal would act on or that reorder text: C0 controls
/// but the newline, DEL, C1 controls, bidi controls.
fn unsafe_chars(output: &str) -> Vec<char> {
    output
        .chars()
        .filter(|c| {
            (c.is_control() && *c != '\n')
                || matches!(c,
                    '\u{202A}'..='\u{202E}'
                    | '\u{2066}'..='\u{2069}'
                    | '\u{200E}' | '\u{200F}' | '\u{061C}')
        })
        .collect()
}

/// Asserts the token is in neither output stream.
fn assert_token_kept(run: &Run) {
    assert!(
        !run.stdout.contains(TOKEN) && !run.stderr.contains(TOKEN),
        "the token was printed\n{}",
        run.context()
    );
}

/// Both feeds at one server, in text and in JSON, with `--deadline`.
async fn both_ways(base: &str) -> (Run, Run) {
    let mut text = status(base, base);
    text.args(["--deadline", DEADLINE]);
    let mut json = status(base, base);
    json.args(["--deadline", DEADLINE, "--json"]);
    (run(text).await, run(json).await)
}

// ----- waits and deadlines -------------------------------------------------------

/// A 429 on every request asking for an endless wait (a u64's most
/// seconds, or more than a u64 holds): exit 3 by the deadline, saying
/// rate limited.
#[tokio::test]
async fn an_endless_retry_after_ends_by_the_deadline() {
    for asked in ["18446744073709551615", "99999999999999999999"] {
        let base = Rogue {
            retry_after: Some(asked),
            ..Rogue::new()
        }
        .serve()
        .await;
        let (text, json) = both_ways(&base).await;
        for run in [&text, &json] {
            run.assert_ended(3);
        }
        assert!(
            text.feeds_line().contains("rate limited"),
            "{asked}\n{}",
            text.context()
        );
        for feed in ["railway", "customs"] {
            let report = &json.json()["feeds"][feed];
            let error = report["error"].to_string();
            assert!(
                error.contains("429 rate limited"),
                "{asked}: {feed}: {error}"
            );
            let diagnostics = &report["diagnostics"];
            assert!(
                diagnostics["rate_limited"].as_u64() >= Some(1),
                "{diagnostics}"
            );
        }
    }
}

/// A railway that answers after a minute: exit 3 by the deadline, the
/// railway not read in time, customs read and reported all the same.
#[tokio::test]
async fn a_server_slower_than_the_deadline_is_not_waited_for() {
    let slow = Rogue {
        slow: Some(""),
        ..Rogue::new()
    }
    .serve()
    .await;
    let good = Rogue::new().serve().await;
    let mut command = status(&slow, &good);
    command.args(["--deadline", DEADLINE, "--json", "--all"]);
    let run = run(command).await;
    run.assert_ended(3);
    let report = run.json();
    let railway = &report["feeds"]["railway"];
    assert_eq!(railway["state"], "down", "{railway}");
    assert_eq!(
        railway["error"], "not read within 3 s: no snapshot page yet",
        "{railway}"
    );
    assert_eq!(
        report["feeds"]["customs"]["state"],
        "ok",
        "{}",
        run.context()
    );
    assert_eq!(
        report["parcels"].as_array().map(Vec::len),
        Some(3),
        "{}",
        run.context()
    );
    assert_eq!(report["officer"]["officer_id"], "ALK-0417");
}

/// A whoami that never answers: customs counts as not read in time.
#[tokio::test]
async fn a_whoami_slower_than_the_deadline_is_not_waited_for() {
    let base = Rogue {
        slow: Some("/v1/whoami"),
        ..Rogue::new()
    }
    .serve()
    .await;
    let (text, json) = both_ways(&base).await;
    for run in [&text, &json] {
        run.assert_ended(3);
    }
    let report = json.json();
    assert_eq!(
        report["feeds"]["railway"]["state"],
        "ok",
        "{}",
        json.context()
    );
    let customs = &report["feeds"]["customs"];
    assert_eq!(customs["error"], "whoami not read within 3 s", "{customs}");
    assert!(report["officer"].is_null(), "{}", json.context());
    assert!(
        text.feeds_line().contains("customs down"),
        "{}",
        text.context()
    );
}

/// The deadline is a setting too (`[status] deadline_seconds`, here from
/// the environment), and `--deadline` wins over it.
#[tokio::test]
async fn the_deadline_comes_from_the_settings_and_the_flag_wins() {
    let slow = Rogue {
        slow: Some(""),
        ..Rogue::new()
    }
    .serve()
    .await;
    let mut setting = status(&slow, &slow);
    setting.env("GREENCHANNEL_STATUS_DEADLINE_SECONDS", DEADLINE);
    let mut flag = status(&slow, &slow);
    flag.env("GREENCHANNEL_STATUS_DEADLINE_SECONDS", "3600")
        .args(["--deadline", DEADLINE]);
    for command in [setting, flag] {
        let run = run(command).await;
        run.assert_ended(3);
        assert!(
            run.feeds_line().contains("not read within 3 s"),
            "{}",
            run.context()
        );
    }
}

/// Long timeouts and back-off in the settings (the most each allows),
/// against a server that does not answer and a port that refuses: the
/// deadline still ends the read, without a panic. Endless ones are refused
/// before anything is read.
#[tokio::test]
async fn long_waits_in_the_settings_end_by_the_deadline() {
    let slow = Rogue {
        slow: Some(""),
        ..Rogue::new()
    }
    .serve()
    .await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let refusing = format!("http://{}", closed.local_addr().expect("local address"));
    drop(closed);
    for base in [slow.clone(), refusing] {
        let mut command = status(&base, &base);
        command
            .args(["--deadline", DEADLINE])
            .env("GREENCHANNEL_FEEDS_CONNECT_TIMEOUT_SECONDS", "600")
            .env("GREENCHANNEL_FEEDS_REQUEST_TIMEOUT_SECONDS", "3600")
            .env("GREENCHANNEL_FEEDS_BACKOFF_INITIAL_SECONDS", "3600")
            .env("GREENCHANNEL_FEEDS_BACKOFF_MAX_SECONDS", "86400");
        let run = run(command).await;
        run.assert_ended(3);
        assert!(
            run.feeds_line().contains("not read within 3 s"),
            "{}",
            run.context()
        );
    }
    let mut endless = status(&slow, &slow);
    endless
        .args(["--deadline", DEADLINE])
        .env("GREENCHANNEL_FEEDS_REQUEST_TIMEOUT_SECONDS", "inf")
        .env("GREENCHANNEL_FEEDS_BACKOFF_INITIAL_SECONDS", "1e300");
    let run = run(endless).await;
    run.assert_ended(3);
    for setting in [
        "feeds.request_timeout_seconds",
        "feeds.backoff_initial_seconds",
    ] {
        assert!(run.stderr.contains(setting), "{}", run.context());
    }
}

/// A deadline out of bounds is refused before anything is read: exit 3.
#[tokio::test]
async fn a_deadline_out_of_bounds_is_refused() {
    let base = Rogue::new().serve().await;
    for deadline in ["0", "-1", "3601", "nan", "inf"] {
        let mut command = status(&base, &base);
        command.arg(format!("--deadline={deadline}"));
        let run = run(command).await;
        run.assert_ended(3);
        assert!(
            run.stderr.contains("status.deadline_seconds (--deadline)"),
            "{deadline}\n{}",
            run.context()
        );
        assert!(run.stdout.is_empty(), "{}", run.context());
    }
}

// ----- snapshots ----------------------------------------------------------------

/// A snapshot that hands out pages for ever: exit 3 by the deadline,
/// saying the snapshot never ended.
#[tokio::test]
async fn a_snapshot_without_end_ends_by_the_deadline() {
    let base = Rogue {
        paging: Paging::Endless,
        ..Rogue::new()
    }
    .serve()
    .await;
    let (text, json) = both_ways(&base).await;
    for run in [&text, &json] {
        run.assert_ended(3);
    }
    for feed in ["railway", "customs"] {
        let error = json.json()["feeds"][feed]["error"].to_string();
        assert!(
            error.contains("not read within 3 s: the snapshot had more to come after"),
            "{feed}: {error}"
        );
    }
}

/// A snapshot that gives the same page token again: exit 3, saying so.
#[tokio::test]
async fn a_snapshot_repeating_a_page_token_is_refused() {
    let base = Rogue {
        paging: Paging::SameTokenAgain,
        ..Rogue::new()
    }
    .serve()
    .await;
    let (text, json) = both_ways(&base).await;
    for run in [&text, &json] {
        run.assert_ended(3);
    }
    for feed in ["railway", "customs"] {
        let error = json.json()["feeds"][feed]["error"].to_string();
        assert!(
            error.contains("the snapshot gave the same page token twice"),
            "{feed}: {error}"
        );
    }
}

/// One malformed declaration among good ones: the good ones are on the
/// board, customs is ok, and its diagnostics count the one skipped.
#[tokio::test]
async fn a_malformed_declaration_is_skipped_and_counted() {
    let mut bad = declaration(2);
    bad["seq"] = json!("two");
    let base = Rogue {
        declarations: vec![declaration(1), bad, declaration(3)],
        ..Rogue::new()
    }
    .serve()
    .await;
    let mut command = status(&base, &base);
    command.args(["--deadline", DEADLINE, "--json", "--all"]);
    let run = run(command).await;
    run.assert_ended(0);
    let report = run.json();
    let customs = &report["feeds"]["customs"];
    assert_eq!(customs["state"], "ok", "{customs}");
    assert_eq!(customs["diagnostics"]["malformed"], 1, "{customs}");
    let reason = customs["diagnostics"]["last_malformed"].to_string();
    assert!(reason.contains("invalid type"), "{reason}");
    assert_eq!(report["feeds"]["railway"]["diagnostics"]["malformed"], 0);
    let listed: Vec<&str> = report["parcels"]
        .as_array()
        .expect("parcels")
        .iter()
        .filter_map(|p| p["declaration_no"].as_str())
        .collect();
    assert_eq!(
        listed,
        ["94022026E000000001", "94022026E000000003"],
        "{}",
        run.context()
    );
}

// ----- what a server says -------------------------------------------------------

/// A 403 whose message quotes the token: printed nowhere, not even in
/// trace logs.
#[tokio::test]
async fn a_token_quoted_in_a_refusal_is_not_printed() {
    let base = Rogue {
        forbidden: Some(format!("Bearer {TOKEN} may not read this")),
        ..Rogue::new()
    }
    .serve()
    .await;
    let (text, json) = both_ways(&base).await;
    for run in [&text, &json] {
        run.assert_ended(3);
        assert!(run.stdout.contains("403 forbidden"), "{}", run.context());
        assert_token_kept(run);
    }
}

/// The token as the value of a declaration's field, of an event's, and
/// as a whoami that does not decode: the records are skipped and counted,
/// their reasons kept without the token, which is printed nowhere, not
/// even in trace logs.
#[tokio::test]
async fn a_token_quoted_in_what_does_not_decode_is_not_printed() {
    let mut declaration_with_token = declaration(2);
    declaration_with_token["seq"] = json!(TOKEN);
    let event_with_token = json!({
        "event_id": "c-1", "seq": 4, "type": "hold.lifted", "at": TOKEN,
        "data": {"declaration_no": "94022026E000000001", "outcome": "released"}
    });
    let base = Rogue {
        declarations: vec![declaration(1), declaration_with_token],
        customs_events: vec![event_with_token],
        whoami: json!(TOKEN).to_string(),
        ..Rogue::new()
    }
    .serve()
    .await;
    let mut text = status(&base, &base);
    text.args(["--deadline", DEADLINE])
        .env("GREENCHANNEL_LOG", "trace");
    let mut json = status(&base, &base);
    json.args(["--deadline", DEADLINE, "--json"])
        .env("GREENCHANNEL_LOG", "trace");
    let (text, json) = (run(text).await, run(json).await);
    for run in [&text, &json] {
        run.assert_ended(0);
        assert_token_kept(run);
    }
    let report = json.json();
    let diagnostics = &report["feeds"]["customs"]["diagnostics"];
    assert_eq!(diagnostics["malformed"], 2, "{diagnostics}");
    let reason = diagnostics["last_malformed"].to_string();
    assert!(reason.contains("<token>"), "{reason}");
    assert!(report["officer"].is_null(), "{}", json.context());
}

/// A whoami whose name and role carry escape sequences, bidi controls,
/// C1 controls and DEL: neither the text nor the JSON (its raw bytes
/// included) carries one.
#[tokio::test]
async fn hostile_text_from_whoami_reaches_no_terminal() {
    let whoami = json!({
        "officer_id": "ALK-\u{1b}[2J0666",
        "name": "\u{1b}[31mWang\u{1b}]0;PWNED\u{7} \u{202e}Fang\u{2066}\u{9b}2J\u{7f}\u{85}",
        "role": "\u{1b}[1msuper\u{202d}visor\u{200f}\u{61c}\u{9b}"
    });
    let base = Rogue {
        whoami: whoami.to_string(),
        ..Rogue::new()
    }
    .serve()
    .await;
    let (text, json) = both_ways(&base).await;
    for run in [&text, &json] {
        run.assert_ended(0);
        let none: [char; 0] = [];
        assert_eq!(unsafe_chars(&run.stdout), none, "{}", run.context());
    }
    assert!(
        text.stdout
            .contains("officer  ALK-[2J0666 [31mWang]0;PWNED Fang2J"),
        "{}",
        text.context()
    );
    let officer = &json.json()["officer"];
    assert_eq!(officer["name"], "[31mWang]0;PWNED Fang2J", "{officer}");
    assert_eq!(officer["role"], "[1msupervisor", "{officer}");
}

/// A server whose clock says year 9999, or 1970: no panic, the report
/// printed, judged at this machine's time (such a clock tells no skew).
#[tokio::test]
async fn a_server_clock_far_off_is_not_believed() {
    for date in [
        "Fri, 31 Dec 9999 23:59:59 GMT",
        "Thu, 01 Jan 1970 00:00:00 GMT",
    ] {
        let base = Rogue {
            date: Some(date),
            ..Rogue::new()
        }
        .serve()
        .await;
        let sent = reqwest::get(format!("{base}/railway/v1/trains"))
            .await
            .expect("the rogue server answers");
        assert_eq!(sent.headers()[header::DATE.as_str()], date, "as set");
        let (text, json) = both_ways(&base).await;
        for run in [&text, &json] {
            run.assert_ended(0);
        }
        assert!(
            text.stdout.contains("\nX8017-20261126 "),
            "{}",
            text.context()
        );
        let generated_at = json.json()["generated_at"].as_str().map(str::to_owned);
        let generated_at =
            chrono::DateTime::parse_from_rfc3339(&generated_at.expect("a time")).expect("RFC 3339");
        let off = (Utc::now() - generated_at.with_timezone(&Utc)).num_seconds();
        assert!((0..60).contains(&off), "{date}: judged {off} s ago");
    }
}
