//! `greenchannel status` as a monitoring system runs it: the real binary,
//! started with a clean environment, against a simulator on a loopback port
//! with its clock paused (or against a dead port, or a server that refuses).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::Command;

use chrono::{DateTime, Utc};
use greenchannel::domain::{ContainerNo, Role};
use greenchannel::sim::config::{Spread, TokenConfig};
use greenchannel::sim::{RunningSim, SimConfig};
use serde_json::{Value, json};

/// The settings that judge the demo simulator (its world runs 30x faster).
const DEMO: &str = "config/demo.toml";
/// The default settings: they judge a simulator without compression.
const DEFAULTS: &str = "config/greenchannel.toml";
const RAILWAY_TOKEN: &str = "GREENCHANNEL_RAILWAY_TOKEN";
const CUSTOMS_TOKEN: &str = "GREENCHANNEL_CUSTOMS_TOKEN";
/// A token no server knows, distinctive enough to search the output for.
const SECRET: &str = "secret-token-7f3a";
/// Retries after failures in milliseconds, so that failing runs are quick.
const QUICK_RETRIES: [(&str, &str); 2] = [
    ("GREENCHANNEL_FEEDS_BACKOFF_INITIAL_SECONDS", "0.05"),
    ("GREENCHANNEL_FEEDS_BACKOFF_MAX_SECONDS", "0.1"),
];

const STAGES: [&str; 5] = [
    "declaration",
    "inspection",
    "transshipment",
    "release",
    "ready",
];
const RISKS: [&str; 5] = ["on_track", "watch", "at_risk", "late", "held"];
const STATES: [&str; 6] = [
    "not_started",
    "in_progress",
    "blocked",
    "held",
    "done",
    "unknown",
];

// ----- running the binary --------------------------------------------------------

/// One finished run of the binary.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    /// The exit code (a run killed by a signal fails the test).
    fn code(&self) -> i32 {
        self.code
            .unwrap_or_else(|| panic!("killed by a signal\n{}", self.context()))
    }

    /// Stdout as JSON.
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON: {e}\n{}", self.context()))
    }

    /// What to show when an assertion fails.
    fn context(&self) -> String {
        let head: String = self.stdout.chars().take(3000).collect();
        format!(
            "exit {:?}\n--- stdout ---\n{head}\n--- stderr ---\n{}",
            self.code, self.stderr
        )
    }
}

/// `greenchannel status` with none of the caller's `GREENCHANNEL_*`
/// variables, run from the package root.
struct Status(Command);

impl Status {
    fn new() -> Status {
        let mut command = Command::new(env!("CARGO_BIN_EXE_greenchannel"));
        command
            .arg("status")
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("GREENCHANNEL_") {
                command.env_remove(name);
            }
        }
        Status(command)
    }

    /// Both feeds at the simulator by flag, judged with the demo settings,
    /// with the wall terminal's token.
    fn demo(sim: &RunningSim) -> Status {
        Status::new()
            .args(["--config", DEMO])
            .urls(&sim.railway_url(), &sim.customs_url())
            .token("demo-viewer")
    }

    fn args<S: AsRef<OsStr>>(mut self, args: impl IntoIterator<Item = S>) -> Status {
        self.0.args(args);
        self
    }

    fn urls(self, railway: &str, customs: &str) -> Status {
        self.args(["--railway-url", railway, "--customs-url", customs])
    }

    /// The same token for both feeds.
    fn token(self, token: &str) -> Status {
        self.env(RAILWAY_TOKEN, token).env(CUSTOMS_TOKEN, token)
    }

    fn env(mut self, name: &str, value: &str) -> Status {
        self.0.env(name, value);
        self
    }

    fn quick_retries(self) -> Status {
        QUICK_RETRIES
            .iter()
            .fold(self, |status, (name, value)| status.env(name, value))
    }

    /// Runs to the end on a blocking thread, so that the simulator in this
    /// process keeps answering.
    async fn run(self) -> Run {
        let Status(mut command) = self;
        let output = tokio::task::spawn_blocking(move || command.output())
            .await
            .expect("the runner thread ends")
            .expect("the binary starts");
        Run {
            code: output.status.code(),
            stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

/// A base URL on a loopback port nothing listens on.
fn dead_url(api: &str) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let port = listener.local_addr().expect("local address").port();
    drop(listener);
    format!("http://127.0.0.1:{port}/{api}")
}

/// A settings file in a directory of its own, removed when dropped.
struct TempConfig {
    dir: PathBuf,
    path: PathBuf,
}

impl TempConfig {
    fn new(name: &str, text: &str) -> TempConfig {
        let dir = std::env::temp_dir().join(format!(
            "greenchannel-status-cli-{}-{name}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join(format!("{name}.toml"));
        std::fs::write(&path, text).expect("write settings");
        TempConfig { dir, path }
    }

    /// The demo settings with both feeds at these URLs.
    fn demo_at(name: &str, railway: &str, customs: &str) -> TempConfig {
        let demo = std::fs::read_to_string(format!("{}/{DEMO}", env!("CARGO_MANIFEST_DIR")))
            .expect("read the demo settings");
        let text =
            format!("{demo}\n[railway]\nurl = \"{railway}\"\n\n[customs]\nurl = \"{customs}\"\n");
        TempConfig::new(name, &text)
    }

    fn path(&self) -> &str {
        self.path.to_str().expect("UTF-8 temp path")
    }
}

impl Drop for TempConfig {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A server that answers every request `403`; with `echo`, its message
/// quotes the `Authorization` header it was sent (and an escape sequence).
async fn refusing_server(echo: bool) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local address");
    let app = axum::Router::new().fallback(move |headers: axum::http::HeaderMap| async move {
        let sent = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("no credentials");
        let message = if echo {
            format!("\u{1b}[31m{sent} may not read this")
        } else {
            "this token may not read this".to_owned()
        };
        (
            axum::http::StatusCode::FORBIDDEN,
            [("content-type", "application/json")],
            json!({"error": "forbidden", "message": message}).to_string(),
        )
    });
    tokio::spawn(async move {
        axum::serve(listener, app).await.expect("serve");
    });
    format!("http://{addr}")
}

// ----- reading the report ---------------------------------------------------------

/// The object's keys, sorted.
fn keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {value}"))
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

fn sorted<const N: usize>(mut names: [&str; N]) -> Vec<&str> {
    names.sort_unstable();
    names.to_vec()
}

fn count(value: &Value) -> u64 {
    value
        .as_u64()
        .unwrap_or_else(|| panic!("not a count: {value}"))
}

fn text(value: &Value) -> &str {
    value
        .as_str()
        .unwrap_or_else(|| panic!("not a string: {value}"))
}

/// A time of the report: RFC 3339 in UTC, written with `Z`.
fn utc(value: &Value, what: &str) -> DateTime<Utc> {
    let written = text(value);
    assert!(
        written.ends_with('Z'),
        "{what} is not written in UTC: {written}"
    );
    DateTime::parse_from_rfc3339(written)
        .unwrap_or_else(|e| panic!("{what} {written}: {e}"))
        .with_timezone(&Utc)
}

fn trains(report: &Value) -> &[Value] {
    report["trains"].as_array().expect("trains is a list")
}

fn parcels(report: &Value) -> &[Value] {
    report["parcels"].as_array().expect("parcels is a list")
}

/// The trains' risk counts, summed.
fn risk_totals(report: &Value) -> BTreeMap<&'static str, u64> {
    RISKS
        .iter()
        .map(|risk| {
            let sum = trains(report).iter().map(|t| count(&t["risk"][risk])).sum();
            (*risk, sum)
        })
        .collect()
}

/// The exit code the report's counts call for.
fn code_for(report: &Value) -> i32 {
    let totals = risk_totals(report);
    if totals["late"] + totals["held"] > 0 {
        2
    } else if totals["watch"] + totals["at_risk"] > 0 {
        1
    } else {
        0
    }
}

/// A scenario in the real timetable (no compression) where nothing goes
/// wrong and nothing varies: every parcel is filed eight hours and every
/// container arrives five hours before departure, customs clears each in
/// 36 minutes, the shed needs about 80 minutes a train, and the cut-offs
/// are one hour and half an hour before departure.
fn calm() -> SimConfig {
    let exact = |median| Spread {
        median,
        spread: 0.0,
    };
    let mut config = SimConfig {
        time_compression: 1.0,
        ..SimConfig::default()
    };
    let t = &mut config.timetable;
    t.late_container_share = 0.0;
    t.late_filing_share = 0.0;
    t.container_rebook_share = 0.0;
    t.delay_share = 0.0;
    t.cancel_share = 0.0;
    t.container_arrival = exact(300.0);
    t.filing = exact(480.0);
    config.shed.lift = exact(5.0);
    config.shed.yard_to_queue = exact(10.0);
    let c = &mut config.customs;
    c.send_failed_share = 0.0;
    c.rejected_share = 0.0;
    c.exception_share = 0.0;
    c.manual_review_share = 0.0;
    c.inspection_share = 0.0;
    c.direct_hold_share = 0.0;
    for spread in [
        &mut c.send,
        &mut c.accept,
        &mut c.auto_review,
        &mut c.release,
    ] {
        spread.spread = 0.0;
    }
    config
}

/// Characters a terminal would act on or that reorder text: C0 controls
/// but the newline, DEL, C1 controls, bidi embeddings, overrides and
/// isolates.
/// Every string in a JSON value.
fn collect_strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| collect_strings(v, out)),
        Value::Object(map) => map.values().for_each(|v| collect_strings(v, out)),
        _ => {}
    }
}

fn unsafe_chars(output: &str) -> Vec<(usize, char)> {
    output
        .char_indices()
        .filter(|(_, c)| {
            (c.is_control() && *c != '\n')
                || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
        })
        .collect()
}

// ----- the JSON report --------------------------------------------------------------

/// `--json` prints exactly the documented fields, every time in UTC.
#[tokio::test]
async fn json_report_has_exactly_the_documented_fields() {
    let sim = common::start_sim(SimConfig::default()).await;
    for all in [false, true] {
        let mut status = Status::demo(&sim).args(["--json"]);
        if all {
            status = status.args(["--all"]);
        }
        let run = status.run().await;
        let report = run.json();
        let context = run.context();
        assert_eq!(
            keys(&report),
            sorted(["generated_at", "officer", "feeds", "trains", "parcels"]),
            "{context}"
        );
        utc(&report["generated_at"], "generated_at");
        assert_eq!(
            keys(&report["officer"]),
            sorted(["officer_id", "name", "role"])
        );
        assert_eq!(report["officer"]["officer_id"], "ALK-WALL1");
        assert_eq!(report["officer"]["role"], "viewer");
        assert_eq!(keys(&report["feeds"]), sorted(["railway", "customs"]));
        for feed in ["railway", "customs"] {
            let f = &report["feeds"][feed];
            assert_eq!(
                keys(f),
                sorted(["state", "last_success", "error", "diagnostics"]),
                "{f}"
            );
            assert_eq!(f["state"], "ok", "{feed}: {context}");
            assert!(f["error"].is_null(), "{feed}: {f}");
            utc(&f["last_success"], "last_success");
            let d = &f["diagnostics"];
            assert_eq!(
                keys(d),
                sorted([
                    "malformed",
                    "last_malformed",
                    "unknown_types",
                    "resnapshots",
                    "rate_limited",
                    "failed_requests",
                    "max_lag"
                ]),
                "{d}"
            );
            for counter in [
                "malformed",
                "resnapshots",
                "rate_limited",
                "failed_requests",
            ] {
                count(&d[counter]);
            }
            assert!(
                d["last_malformed"].is_null() || d["last_malformed"].is_string(),
                "{d}"
            );
            assert!(d["max_lag"].is_null() || d["max_lag"].is_f64(), "{d}");
            for n in d["unknown_types"].as_object().expect("a map").values() {
                count(n);
            }
        }
        assert!(!trains(&report).is_empty(), "{context}");
        for t in trains(&report) {
            assert_eq!(
                keys(t),
                sorted([
                    "train_id",
                    "train_no",
                    "status",
                    "scheduled_departure",
                    "estimated_departure",
                    "cutoffs",
                    "parcels",
                    "stages",
                    "risk"
                ]),
                "{t}"
            );
            assert!(
                text(&t["train_id"]).starts_with(text(&t["train_no"])),
                "{t}"
            );
            assert!(!text(&t["status"]).is_empty(), "{t}");
            utc(&t["scheduled_departure"], "scheduled_departure");
            if !t["estimated_departure"].is_null() {
                utc(&t["estimated_departure"], "estimated_departure");
            }
            assert_eq!(
                keys(&t["cutoffs"]),
                sorted(["transshipment", "customs_release"])
            );
            utc(&t["cutoffs"]["transshipment"], "transshipment cut-off");
            utc(&t["cutoffs"]["customs_release"], "release cut-off");
            count(&t["parcels"]);
            assert_eq!(keys(&t["stages"]), sorted(STAGES), "{t}");
            assert_eq!(keys(&t["risk"]), sorted(RISKS), "{t}");
        }
        assert!(!parcels(&report).is_empty(), "{context}");
        let mut held = 0;
        for p in parcels(&report) {
            let mut expected = vec![
                "declaration_no",
                "train_id",
                "container_no",
                "stage",
                "state",
                "status_code",
                "risk",
                "slack_seconds",
                "reason",
            ];
            // A parcel with an open hold tells its triage.
            if !p["hold"].is_null() {
                held += 1;
                expected.push("hold");
                let hold = &p["hold"];
                assert_eq!(
                    keys(hold),
                    sorted([
                        "claimed_by",
                        "priority_inspection",
                        "escalated",
                        "defer_requested",
                        "version",
                        "last_note"
                    ]),
                    "{p}"
                );
                count(&hold["version"]);
                assert!(hold["claimed_by"].is_null() || hold["claimed_by"].is_string());
                if !hold["last_note"].is_null() {
                    assert_eq!(
                        keys(&hold["last_note"]),
                        sorted(["officer_id", "at", "text"]),
                        "{p}"
                    );
                    utc(&hold["last_note"]["at"], "the last note's time");
                }
            }
            expected.sort_unstable();
            assert_eq!(keys(p), expected, "{p}");
            assert_eq!(text(&p["declaration_no"]).len(), 18, "{p}");
            assert!(!text(&p["status_code"]).is_empty(), "{p}");
            assert!(
                p["slack_seconds"].is_null() || p["slack_seconds"].is_i64(),
                "{p}"
            );
        }
        assert!(held > 0, "some parcel is held: {context}");
    }
}

/// The board is judged at the servers' clock (the paused simulator's).
#[tokio::test]
async fn json_report_is_generated_at_the_servers_time() {
    let sim = common::start_sim(SimConfig::default()).await;
    let server_now = sim.state.world().now();
    let run = Status::demo(&sim).args(["--json"]).run().await;
    let generated_at = utc(&run.json()["generated_at"], "generated_at");
    let off = (generated_at - server_now).num_milliseconds() as f64 / 1000.0;
    assert!(
        (-2.0..=10.0).contains(&off),
        "generated_at {generated_at} is {off} s from the simulator's clock {server_now}"
    );
}

/// Counts add up to the simulator's board; `parcels` lists exactly those not on track.
#[tokio::test]
async fn json_counts_add_up_and_list_the_parcels_not_on_track() {
    let sim = common::start_sim(SimConfig::default()).await;
    let on_board = sim.state.world().stats().parcels_on_board as u64;
    let run = Status::demo(&sim).args(["--json"]).run().await;
    let report = run.json();
    let context = run.context();
    let mut total = 0;
    for t in trains(&report) {
        let parcels = count(&t["parcels"]);
        let stages: u64 = STAGES.iter().map(|s| count(&t["stages"][s])).sum();
        let risks: u64 = RISKS.iter().map(|r| count(&t["risk"][r])).sum();
        assert_eq!(stages, parcels, "stages of {t}");
        assert_eq!(risks, parcels, "risk of {t}");
        total += parcels;
    }
    assert_eq!(
        total, on_board,
        "parcels on the simulator's board\n{context}"
    );
    let totals = risk_totals(&report);
    let flagged = total - totals["on_track"];
    assert!(flagged > 0, "the demo has parcels not on track\n{context}");
    assert_eq!(parcels(&report).len() as u64, flagged, "{context}");
    let mut numbers = BTreeSet::new();
    for p in parcels(&report) {
        let risk = text(&p["risk"]);
        assert!(RISKS.contains(&risk) && risk != "on_track", "{p}");
        assert!(!text(&p["reason"]).trim().is_empty(), "{p}");
        assert!(
            numbers.insert(text(&p["declaration_no"])),
            "listed twice: {p}"
        );
    }
    for risk in ["watch", "at_risk", "late", "held"] {
        let listed = parcels(&report)
            .iter()
            .filter(|p| p["risk"] == risk)
            .count() as u64;
        assert_eq!(listed, totals[risk], "{risk} parcels listed");
    }
    assert_eq!(run.code(), code_for(&report), "{context}");
}

/// `--all` lists every parcel once, recounting to each train's stage and risk counts.
#[tokio::test]
async fn json_all_lists_every_parcel_under_its_first_unfinished_stage() {
    let sim = common::start_sim(SimConfig::default()).await;
    let on_board = sim.state.world().stats().parcels_on_board;
    let run = Status::demo(&sim).args(["--json", "--all"]).run().await;
    let report = run.json();
    assert_eq!(parcels(&report).len(), on_board, "{}", run.context());
    let numbers: BTreeSet<&str> = parcels(&report)
        .iter()
        .map(|p| text(&p["declaration_no"]))
        .collect();
    assert_eq!(numbers.len(), on_board, "each parcel once");
    // (train, "stages" | "risk", name) → parcels
    let mut recount: BTreeMap<(&str, &str, &str), u64> = BTreeMap::new();
    for p in parcels(&report) {
        let (stage, state, risk) = (text(&p["stage"]), text(&p["state"]), text(&p["risk"]));
        assert!(STAGES.contains(&stage), "{p}");
        assert!(STATES.contains(&state), "{p}");
        assert!(RISKS.contains(&risk), "{p}");
        assert_eq!(stage == "ready", state == "done", "ready is done: {p}");
        if stage == "ready" {
            assert_eq!(risk, "on_track", "{p}");
        }
        if risk != "on_track" {
            assert!(!text(&p["reason"]).trim().is_empty(), "{p}");
        }
        let train = text(&p["train_id"]);
        *recount.entry((train, "stages", stage)).or_default() += 1;
        *recount.entry((train, "risk", risk)).or_default() += 1;
    }
    for t in trains(&report) {
        let id = text(&t["train_id"]);
        for (group, names) in [("stages", STAGES), ("risk", RISKS)] {
            for name in names {
                let listed = recount.get(&(id, group, name)).copied().unwrap_or(0);
                assert_eq!(listed, count(&t[group][name]), "{id} {group}.{name}");
            }
        }
    }
}

// ----- exit codes ---------------------------------------------------------------------

/// The demo scenario has holds: exit 2, with or without `--json`.
#[tokio::test]
async fn exit_code_is_2_when_parcels_are_held() {
    let sim = common::start_sim(SimConfig::default()).await;
    let holds = sim.state.world().stats().open_holds;
    assert!(holds > 0, "the demo scenario has holds");
    let run = Status::demo(&sim).args(["--json"]).run().await;
    assert_eq!(run.code(), 2, "{}", run.context());
    assert!(
        risk_totals(&run.json())["held"] > 0,
        "held parcels counted\n{}",
        run.context()
    );
    let run = Status::demo(&sim).run().await;
    assert_eq!(run.code(), 2, "{}", run.context());
}

/// A feed on a closed port: exit 3, still printing the report with that feed down.
#[tokio::test]
async fn exit_code_is_3_when_a_feed_cannot_be_read() {
    let sim = common::start_sim(SimConfig::default()).await;
    let dead = dead_url("railway");
    let run = Status::new()
        .args(["--json", "--config", DEMO])
        .urls(&dead, &sim.customs_url())
        .token("demo-viewer")
        .quick_retries()
        .run()
        .await;
    assert_eq!(run.code(), 3, "{}", run.context());
    let report = run.json();
    let railway = &report["feeds"]["railway"];
    assert_eq!(railway["state"], "down", "{railway}");
    assert!(!text(&railway["error"]).is_empty(), "{railway}");
    assert!(railway["last_success"].is_null(), "{railway}");
    let customs = &report["feeds"]["customs"];
    assert_eq!(customs["state"], "ok", "{customs}");
    assert!(customs["error"].is_null(), "{customs}");

    let run = Status::new()
        .args(["--config", DEMO])
        .urls(&dead, &sim.customs_url())
        .token("demo-viewer")
        .quick_retries()
        .run()
        .await;
    assert_eq!(run.code(), 3, "{}", run.context());
    let feeds = run
        .stdout
        .lines()
        .find(|l| l.starts_with("feeds"))
        .unwrap_or_else(|| panic!("no feeds line\n{}", run.context()));
    assert!(feeds.contains("railway down"), "{feeds}");
}

/// Without any token both feeds answer 401: exit 3, and the errors say so.
#[tokio::test]
async fn exit_code_is_3_without_a_token() {
    let sim = common::start_sim(SimConfig::default()).await;
    let run = Status::new()
        .args(["--json", "--config", DEMO])
        .urls(&sim.railway_url(), &sim.customs_url())
        .quick_retries()
        .run()
        .await;
    assert_eq!(run.code(), 3, "{}", run.context());
    let report = run.json();
    for feed in ["railway", "customs"] {
        let f = &report["feeds"][feed];
        assert_eq!(f["state"], "down", "{f}");
        assert!(text(&f["error"]).contains("401"), "{feed}: {f}");
    }
    assert!(report["officer"].is_null(), "{}", run.context());
}

/// A calm scenario with parcels still on their way: exit 0, nothing listed.
#[tokio::test]
async fn exit_code_is_0_when_every_parcel_is_on_track() {
    let sim = common::start_sim(calm()).await;
    let run = Status::new()
        .args(["--json", "--config", DEFAULTS])
        .urls(&sim.railway_url(), &sim.customs_url())
        .token("demo-viewer")
        .run()
        .await;
    let report = run.json();
    let context = run.context();
    assert_eq!(run.code(), 0, "{context}");
    assert!(parcels(&report).is_empty(), "{context}");
    let totals = risk_totals(&report);
    assert!(totals["on_track"] > 0, "{context}");
    let unfinished: u64 = trains(&report)
        .iter()
        .flat_map(|t| STAGES[..4].iter().map(|stage| count(&t["stages"][stage])))
        .sum();
    assert!(
        unfinished > 0,
        "some parcels are still on their way, so projections are judged\n{context}"
    );
}

/// The calm scenario with a watch margin wider than any slack: exit 1, all on watch.
#[tokio::test]
async fn exit_code_is_1_when_parcels_are_only_on_watch() {
    let sim = common::start_sim(calm()).await;
    let run = Status::new()
        .args(["--json", "--config", DEFAULTS])
        .urls(&sim.railway_url(), &sim.customs_url())
        .token("demo-viewer")
        .env("GREENCHANNEL_RISK_WATCH_MARGIN_MINUTES", "600")
        .run()
        .await;
    let report = run.json();
    let context = run.context();
    assert_eq!(run.code(), 1, "{context}");
    let totals = risk_totals(&report);
    assert!(totals["watch"] > 0, "{context}");
    assert_eq!(
        totals["at_risk"] + totals["late"] + totals["held"],
        0,
        "{context}"
    );
    for p in parcels(&report) {
        assert_eq!(p["risk"], "watch", "{p}");
        let slack = p["slack_seconds"].as_i64().expect("a projected slack");
        assert!((0..600 * 60).contains(&slack), "{p}");
    }
}

// ----- the text summary --------------------------------------------------------------

/// The text summary has its header lines, a line per train and no hostile characters.
#[tokio::test]
async fn text_summary_is_clean_even_with_hostile_text() {
    let mut config = SimConfig::default();
    config.tokens.push(TokenConfig {
        token: "hostile-wall".to_owned(),
        officer_id: "ALK-\u{1b}[2J0666".to_owned(),
        name: "\u{202e}gnahZ\u{202c} \u{1b}]0;PWNED\u{7}\r\n\tEvil".to_owned(),
        role: Role::Viewer,
    });
    let sim = common::start_sim(config).await;
    common::faults(&sim, json!({"hostile_text": true})).await;
    // New trains are announced and their parcels filed meanwhile.
    common::advance(&sim, 900.0).await;

    let run = Status::demo(&sim)
        .token("hostile-wall")
        .args(["--json", "--all"])
        .run()
        .await;
    let report = run.json();
    // What the fault writes that reaches the report: container numbers
    // with a wrong check digit (shown, never dropped).
    let bad: Vec<&str> = parcels(&report)
        .iter()
        .filter_map(|p| p["container_no"].as_str())
        .filter(|no| !ContainerNo::new(no).is_valid())
        .collect();
    assert!(
        !bad.is_empty(),
        "hostile container numbers reach the report"
    );
    // The hostile officer reaches the report made safe, as every string
    // from the network is when it is decoded.
    assert_eq!(
        text(&report["officer"]["officer_id"]),
        "ALK-[2J0666",
        "{}",
        report["officer"]
    );
    assert_eq!(
        text(&report["officer"]["name"]),
        "gnahZ ]0;PWNED   Evil",
        "{}",
        report["officer"]
    );
    let mut strings = Vec::new();
    collect_strings(&report, &mut strings);
    for s in &strings {
        assert_eq!(unsafe_chars(s), [], "{s:?}");
    }

    let run = Status::demo(&sim).token("hostile-wall").run().await;
    let context = run.context();
    assert!(run.code() < 3, "{context}");
    assert_eq!(unsafe_chars(&run.stdout), [], "{context}");
    let lines: Vec<&str> = run.stdout.lines().collect();
    for header in ["feeds ", "parcels ", "officer "] {
        assert_eq!(
            lines.iter().filter(|l| l.starts_with(header)).count(),
            1,
            "one {header:?} line\n{context}"
        );
    }
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("officer ") && l.contains("Evil")),
        "{context}"
    );
    assert!(!trains(&report).is_empty());
    for t in trains(&report) {
        let id = text(&t["train_id"]);
        let rows = lines.iter().filter(|l| l.starts_with(id)).count();
        assert_eq!(rows, 1, "one line for train {id}\n{context}");
    }
}

// ----- settings --------------------------------------------------------------------------

/// An unknown key in the settings file: exit 3, naming the file, the line and the key.
#[tokio::test]
async fn an_unknown_key_in_the_settings_file_is_named_with_its_line() {
    let sim = common::start_sim(SimConfig::default()).await;
    let file = TempConfig::new(
        "unknown-key",
        "[feeds]\npoll_interval_seconds = 2.0\npage_sise = 10\n",
    );
    let run = Status::new()
        .args(["--json", "--config", file.path()])
        .urls(&sim.railway_url(), &sim.customs_url())
        .token("demo-viewer")
        .run()
        .await;
    assert_eq!(run.code(), 3, "{}", run.context());
    for needle in [file.path(), "line 3", "page_sise"] {
        assert!(run.stderr.contains(needle), "{needle:?}\n{}", run.context());
    }
}

/// A setting in the environment that does not parse: exit 3, naming the variable.
#[tokio::test]
async fn a_bad_setting_in_the_environment_is_named() {
    let sim = common::start_sim(SimConfig::default()).await;
    let run = Status::demo(&sim)
        .args(["--json"])
        .env("GREENCHANNEL_FEEDS_PAGE_SIZE", "many")
        .run()
        .await;
    assert_eq!(run.code(), 3, "{}", run.context());
    assert!(
        run.stderr.contains("GREENCHANNEL_FEEDS_PAGE_SIZE"),
        "{}",
        run.context()
    );
}

/// `--railway-url` and `--customs-url` win over the settings file.
#[tokio::test]
async fn url_flags_override_the_settings_file() {
    let sim = common::start_sim(SimConfig::default()).await;
    let file = TempConfig::demo_at("flags", &dead_url("railway"), &dead_url("customs"));
    let run = Status::new()
        .args(["--json", "--config", file.path()])
        .token("demo-viewer")
        .quick_retries()
        .run()
        .await;
    assert_eq!(
        run.code(),
        3,
        "the file's dead URLs are used\n{}",
        run.context()
    );

    let run = Status::new()
        .args(["--json", "--config", file.path()])
        .urls(&sim.railway_url(), &sim.customs_url())
        .token("demo-viewer")
        .quick_retries()
        .run()
        .await;
    assert_ne!(run.code(), 3, "{}", run.context());
    let report = run.json();
    for feed in ["railway", "customs"] {
        assert_eq!(report["feeds"][feed]["state"], "ok", "{}", run.context());
    }
}

/// The URL variables win over the settings file, and the flags win over them.
#[tokio::test]
async fn url_variables_work_like_the_flags() {
    let sim = common::start_sim(SimConfig::default()).await;
    let (railway, customs) = (sim.railway_url(), sim.customs_url());
    let (dead_railway, dead_customs) = (dead_url("railway"), dead_url("customs"));
    let file = TempConfig::demo_at("variables", &dead_railway, &dead_customs);
    let runs = [
        (
            "variables alone",
            Status::new()
                .args(["--json", "--config", DEMO])
                .env("GREENCHANNEL_RAILWAY_URL", &railway)
                .env("GREENCHANNEL_CUSTOMS_URL", &customs),
        ),
        (
            "variables over the file",
            Status::new()
                .args(["--json", "--config", file.path()])
                .env("GREENCHANNEL_RAILWAY_URL", &railway)
                .env("GREENCHANNEL_CUSTOMS_URL", &customs),
        ),
        (
            "flags over the variables",
            Status::new()
                .args(["--json", "--config", DEMO])
                .urls(&railway, &customs)
                .env("GREENCHANNEL_RAILWAY_URL", &dead_railway)
                .env("GREENCHANNEL_CUSTOMS_URL", &dead_customs),
        ),
    ];
    for (what, status) in runs {
        let run = status.token("demo-viewer").quick_retries().run().await;
        assert_ne!(run.code(), 3, "{what}\n{}", run.context());
        let report = run.json();
        for feed in ["railway", "customs"] {
            assert_eq!(
                report["feeds"][feed]["state"],
                "ok",
                "{what}\n{}",
                run.context()
            );
        }
    }
}

// ----- tokens --------------------------------------------------------------------------

/// Asserts the secret token appears in neither output stream.
fn assert_secret_kept(run: &Run, what: &str) {
    assert!(
        !run.stdout.contains(SECRET) && !run.stderr.contains(SECRET),
        "{what}: the token was printed\n{}",
        run.context()
    );
}

/// A token refused with 401 or 403 is printed nowhere, not even in trace logs.
#[tokio::test]
async fn a_refused_token_is_never_printed() {
    let sim = common::start_sim(SimConfig::default()).await;
    let refusing = refusing_server(false).await;
    let upstreams = [
        ("401", sim.railway_url(), sim.customs_url()),
        ("403", refusing.clone(), refusing),
    ];
    for (answer, railway, customs) in upstreams {
        for (mode, args) in [("json", &["--json"][..]), ("text", &[][..])] {
            let run = Status::new()
                .args(["--config", DEMO])
                .args(args)
                .urls(&railway, &customs)
                .token(SECRET)
                .env("GREENCHANNEL_LOG", "trace")
                .quick_retries()
                .run()
                .await;
            let what = format!("{answer}, {mode}");
            assert_eq!(run.code(), 3, "{what}\n{}", run.context());
            assert!(run.stdout.contains(answer), "{what}\n{}", run.context());
            assert_secret_kept(&run, &what);
        }
    }
}

/// A token that the refusing server quotes back in its message is not printed either.
#[tokio::test]
async fn a_token_echoed_by_the_server_is_not_printed() {
    let refusing = refusing_server(true).await;
    for (mode, args) in [("json", &["--json"][..]), ("text", &[][..])] {
        let run = Status::new()
            .args(["--config", DEMO])
            .args(args)
            .urls(&refusing, &refusing)
            .token(SECRET)
            .quick_retries()
            .run()
            .await;
        assert_eq!(run.code(), 3, "{mode}\n{}", run.context());
        assert!(run.stdout.contains("403"), "{mode}\n{}", run.context());
        if mode == "text" {
            assert_eq!(unsafe_chars(&run.stdout), [], "{}", run.context());
        }
        assert_secret_kept(&run, mode);
    }
}
