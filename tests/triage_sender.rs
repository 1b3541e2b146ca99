//! The triage desk and its sender against customs over loopback (the
//! simulator, and a server that answers what the simulator never would):
//! intents whose answers are lost are asked again under the same key and
//! recorded once; intents left unanswered when the program stops come back
//! from the journal and are finished; refusals are final; an officer's
//! quick actions on one hold all go through; nothing that gets no answer,
//! or an answer nobody expected, blocks what comes after it; and an intent
//! is only ever sent where it was made.

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration as StdDuration;

use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use greenchannel::domain::{HoldActionKind, HoldActionRequest};
use greenchannel::feeds::Backoff;
use greenchannel::feeds::Feed;
use greenchannel::feeds::client::{ApiClient, Timeouts, Token};
use greenchannel::sim::RunningSim;
use greenchannel::triage::desk::Desk;
use greenchannel::triage::journal::{self, Journal, Record};
use greenchannel::triage::sender::{self, SendPolicy};
use greenchannel::triage::{Intent, Origin, Outcome, Report};
use serde_json::{Value, json};
use tokio::sync::mpsc;

const OFFICER_ID: &str = "ALK-0417";

fn client(url: &str, token: &str) -> ApiClient {
    let timeouts = Timeouts {
        connect: StdDuration::from_secs(2),
        request: StdDuration::from_secs(5),
    };
    ApiClient::new(Feed::Customs, url, Token::new(token), timeouts).expect("client")
}

fn policy(max_attempts: u32) -> SendPolicy {
    SendPolicy {
        backoff: Backoff {
            initial: StdDuration::from_millis(20),
            max: StdDuration::from_millis(200),
        },
        max_attempts,
    }
}

/// A fresh directory for journals under the target directory.
fn journal_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("triage_sender")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn origin_of(url: &str) -> Origin {
    Origin::new(url, &OFFICER_ID.into())
}

/// An officer's desk on `url` with its sender running: where it reports,
/// and the sender's task.
struct Running {
    desk: Desk,
    reports: mpsc::Receiver<Report>,
    task: tokio::task::JoinHandle<()>,
}

fn start(url: &str, dir: Option<&std::path::Path>, policy: SendPolicy) -> Running {
    let opened = Desk::open(dir, origin_of(url));
    let (report_tx, reports) = mpsc::channel(64);
    let task = tokio::spawn(sender::run(
        client(url, common::OFFICER),
        opened.desk.clone(),
        report_tx,
        policy,
    ));
    Running {
        desk: opened.desk,
        reports,
        task,
    }
}

/// The declaration number and hold version of held parcels nobody claimed.
async fn unclaimed_holds(sim: &RunningSim) -> Vec<(String, u64)> {
    let url = format!("{}/v1/holds?page_size=1000", sim.customs_url());
    let page = common::get_json(&url, common::OFFICER).await;
    page["declarations"]
        .as_array()
        .expect("declarations")
        .iter()
        .filter(|d| d["hold"]["claimed_by"].is_null())
        .map(|d| {
            let number = d["declaration_no"].as_str().expect("number").to_owned();
            (number, d["hold"]["version"].as_u64().expect("version"))
        })
        .collect()
}

/// The hold as customs has it now.
async fn hold(sim: &RunningSim, number: &str) -> Value {
    let url = format!("{}/v1/declarations/{number}", sim.customs_url());
    common::get_json(&url, common::OFFICER).await["hold"].clone()
}

/// A simulator whose every hold-action answer is lost on the way back,
/// and a held parcel nobody claimed with its hold version.
async fn hold_losing_answers() -> (RunningSim, String, u64) {
    let sim = common::start_sim(common::triage_config()).await;
    let (number, version) = unclaimed_holds(&sim).await.remove(0);
    common::faults(
        &sim,
        json!({"lost_answers": true, "lost_answer_share": 1.0}),
    )
    .await;
    (sim, number, version)
}

/// The sender's next report (within 10 s).
async fn next_report(reports: &mut mpsc::Receiver<Report>) -> Report {
    tokio::time::timeout(StdDuration::from_secs(10), reports.recv())
        .await
        .expect("a report")
        .expect("the sender is running")
}

/// Reports until every key has a final outcome (or is stuck).
async fn finals(reports: &mut mpsc::Receiver<Report>, keys: &[&str]) -> Vec<Report> {
    let mut done: Vec<Report> = Vec::new();
    let wait = async {
        while done.len() < keys.len() {
            let report = reports.recv().await.expect("the sender is running");
            if !report.outcome.is_pending() {
                done.push(report);
            }
        }
    };
    tokio::time::timeout(StdDuration::from_secs(20), wait)
        .await
        .expect("every intent answered within 20 s");
    done
}

fn intent(
    url: &str,
    number: &str,
    action: HoldActionKind,
    note: Option<&str>,
    version: u64,
) -> Intent {
    Intent::new(
        &origin_of(url),
        number,
        action,
        note.map(Into::into),
        Some(version),
        common::start(),
    )
}

/// The first answer is lost on the way back: the sender asks again under
/// the same key until it hears, in order, and customs records each action
/// once.
#[tokio::test]
async fn lost_answers_are_asked_again_and_recorded_once() {
    let (sim, number, version) = hold_losing_answers().await;
    let url = sim.customs_url();
    let dir = journal_dir("lost_answers");
    let Running {
        desk,
        mut reports,
        task,
    } = start(&url, Some(&dir), policy(10));

    let claim = intent(&url, &number, HoldActionKind::Claim, None, version);
    let note = intent(
        &url,
        &number,
        HoldActionKind::Note,
        Some("seal checked"),
        version + 1,
    );
    desk.submit(claim.clone()).expect("on the disk");
    desk.submit(note.clone()).expect("on the disk");
    let lost = next_report(&mut reports).await;
    assert_eq!(lost.key, claim.key, "the claim goes first");
    assert!(lost.outcome.is_pending(), "its answer was lost: {lost:?}");
    common::faults(&sim, json!({"lost_answers": false})).await;
    let done = finals(&mut reports, &[&claim.key, &note.key]).await;

    assert_eq!(
        done.iter().map(|r| r.key.as_str()).collect::<Vec<_>>(),
        [claim.key.as_str(), note.key.as_str()],
        "answered in the order asked"
    );
    for report in &done {
        assert!(matches!(report.outcome, Outcome::Done { .. }), "{report:?}");
    }
    let held = hold(&sim, &number).await;
    assert_eq!(held["claimed_by"], OFFICER_ID);
    assert_eq!(
        held["version"],
        version + 2,
        "two actions, each recorded once: {held}"
    );
    let notes = held["notes"].as_array().expect("notes");
    assert_eq!(notes.len(), 1, "{held}");
    assert_eq!(notes[0]["text"], "seal checked");

    drop(reports);
    task.await.expect("the sender stops when the board goes");
    drop(desk);
    let path = journal::path_for(&dir, &origin_of(&url));
    let (_, replayed) = Journal::open(&path).expect("journal reopens");
    assert!(
        replayed.outbox.unanswered().is_empty(),
        "nothing left to send"
    );
    assert_eq!(replayed.outbox.entries().len(), 2);
}

/// The program stops while customs cannot be reached; on the next start
/// the journal gives the intent back with its key, and it is recorded once
/// even though the first attempt reached customs.
#[tokio::test]
async fn an_unanswered_intent_survives_a_restart() {
    let (sim, number, version) = hold_losing_answers().await;
    let url = sim.customs_url();
    let dir = journal_dir("restart");
    let priority = intent(
        &url,
        &number,
        HoldActionKind::RequestPriorityInspection,
        None,
        version,
    );
    {
        let Running {
            desk,
            mut reports,
            task,
        } = start(&url, Some(&dir), policy(10));
        desk.submit(priority.clone()).expect("on the disk");
        let report = next_report(&mut reports).await;
        assert!(report.outcome.is_pending(), "{report:?}");
        task.abort();
    }
    assert_eq!(
        hold(&sim, &number).await["version"],
        version + 1,
        "the first attempt was recorded"
    );

    common::faults(&sim, json!({"lost_answers": false})).await;
    let Running {
        desk, mut reports, ..
    } = start(&url, Some(&dir), policy(10));
    assert_eq!(
        desk.outbox()
            .unanswered()
            .into_iter()
            .map(|e| e.intent.clone())
            .collect::<Vec<_>>(),
        std::slice::from_ref(&priority),
        "the same intent, the same key"
    );
    let done = finals(&mut reports, &[&priority.key]).await;
    let Outcome::Done {
        hold: Some(answered),
    } = &done[0].outcome
    else {
        panic!("recorded: {:?}", done[0]);
    };
    assert!(answered.priority_inspection);
    assert_eq!(
        answered.version,
        version + 1,
        "the replay answers the first record"
    );
    assert_eq!(
        hold(&sim, &number).await["version"],
        version + 1,
        "recorded once"
    );
}

/// A claim on a parcel another officer holds is refused, once, and not
/// asked again; the next intent goes ahead.
#[tokio::test]
async fn refusals_are_final_and_do_not_block_the_queue() {
    let sim = common::start_sim(common::triage_config()).await;
    let url = sim.customs_url();
    let holds = unclaimed_holds(&sim).await;
    let (taken, taken_version) = holds[0].clone();
    let (free, free_version) = holds[1].clone();
    let request = HoldActionRequest {
        action: HoldActionKind::Claim,
        note: None,
        expected_version: None,
    };
    client(&url, common::OFFICER_2)
        .hold_action(&taken, &uuid_key(), &request)
        .await
        .expect("the colleague claims it");

    let Running {
        desk, mut reports, ..
    } = start(&url, None, policy(10));
    let refused = intent(&url, &taken, HoldActionKind::Claim, None, taken_version + 1);
    let accepted = intent(&url, &free, HoldActionKind::Escalate, None, free_version);
    desk.submit(refused.clone()).expect("queued");
    desk.submit(accepted.clone()).expect("queued");
    let done = finals(&mut reports, &[&refused.key, &accepted.key]).await;
    assert!(
        matches!(&done[0].outcome, Outcome::Refused { code, .. } if code == "claimed_by_other"),
        "{:?}",
        done[0]
    );
    assert!(
        matches!(done[1].outcome, Outcome::Done { .. }),
        "{:?}",
        done[1]
    );
    assert_eq!(hold(&sim, &taken).await["claimed_by"], "ALK-0233");
    assert_eq!(hold(&sim, &free).await["escalated"], true);
}

/// Claim, note and escalate typed within a second, all made while the
/// board still showed the same hold version: the answer to each moves the
/// next one on, and all three are recorded (they were refused as
/// `version_conflict` when every intent carried the version the feed
/// showed).
#[tokio::test]
async fn quick_actions_on_one_hold_are_all_recorded() {
    let sim = common::start_sim(common::triage_config()).await;
    let url = sim.customs_url();
    let (number, version) = unclaimed_holds(&sim).await.remove(0);
    let Running {
        desk, mut reports, ..
    } = start(&url, None, policy(10));
    let claim = intent(&url, &number, HoldActionKind::Claim, None, version);
    let note = intent(
        &url,
        &number,
        HoldActionKind::Note,
        Some("opened, seal intact"),
        version,
    );
    let escalate = intent(&url, &number, HoldActionKind::Escalate, None, version);
    for i in [&claim, &note, &escalate] {
        desk.submit(i.clone()).expect("queued");
    }
    let done = finals(&mut reports, &[&claim.key, &note.key, &escalate.key]).await;
    for report in &done {
        assert!(matches!(report.outcome, Outcome::Done { .. }), "{report:?}");
    }
    let held = hold(&sim, &number).await;
    assert_eq!(held["claimed_by"], OFFICER_ID);
    assert_eq!(held["escalated"], true);
    assert_eq!(held["notes"][0]["text"], "opened, seal intact");
    assert_eq!(held["version"], version + 3);
}

/// An intent made while another is in flight is on the disk at once (it
/// used to wait, unjournaled, until the sender took it off a channel).
#[tokio::test]
async fn an_intent_made_during_a_send_is_journaled_at_once() {
    let sim = common::start_sim(common::triage_config()).await;
    let url = sim.customs_url();
    let holds = unclaimed_holds(&sim).await;
    common::faults(
        &sim,
        json!({"slow": true, "slow_share": 1.0, "slow_ms": 1500}),
    )
    .await;
    let dir = journal_dir("in_flight");
    let Running {
        desk, mut reports, ..
    } = start(&url, Some(&dir), policy(10));
    let first = intent(&url, &holds[0].0, HoldActionKind::Claim, None, holds[0].1);
    let second = intent(&url, &holds[1].0, HoldActionKind::Claim, None, holds[1].1);
    desk.submit(first.clone()).expect("on the disk");
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    desk.submit(second.clone()).expect("on the disk");
    // A crash now: the journal has both.
    let on_disk = journal::read(&journal::path_for(&dir, &origin_of(&url))).expect("readable");
    let keys: Vec<String> = on_disk
        .outbox
        .unanswered()
        .iter()
        .map(|e| e.intent.key.clone())
        .collect();
    assert_eq!(keys, [first.key.clone(), second.key.clone()]);
    finals(&mut reports, &[&first.key, &second.key]).await;
}

/// An intent in this officer's journal that was made for another customs
/// API (the demo's simulator, say) is never sent here.
#[tokio::test]
async fn an_intent_is_only_sent_where_it_was_made() {
    let sim = common::start_sim(common::triage_config()).await;
    let url = sim.customs_url();
    let (number, version) = unclaimed_holds(&sim).await.remove(0);
    let dir = journal_dir("elsewhere");
    let path = journal::path_for(&dir, &origin_of(&url));
    let elsewhere = Intent::new(
        &Origin::new("http://127.0.0.1:1/customs", &OFFICER_ID.into()),
        &number,
        HoldActionKind::Claim,
        None,
        Some(version),
        common::start(),
    );
    {
        let (mut journal, _) = Journal::open(&path).expect("opens");
        journal
            .append(&Record::Intent(elsewhere.clone()))
            .expect("written");
    }
    let opened = Desk::open(Some(&dir), origin_of(&url));
    assert_eq!(opened.foreign, 1);
    assert!(opened.desk.next().is_none(), "nothing to send here");
    let err = opened.desk.submit(elsewhere).unwrap_err();
    assert!(err.contains("127.0.0.1:1"), "{err}");
    let (report_tx, _reports) = mpsc::channel(8);
    let task = tokio::spawn(sender::run(
        client(&url, common::OFFICER),
        opened.desk.clone(),
        report_tx,
        policy(10),
    ));
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    task.abort();
    assert!(hold(&sim, &number).await["claimed_by"].is_null());
    assert_eq!(hold(&sim, &number).await["version"], version);
}

/// Answers the simulator never gives: a `2xx` whose body does not parse,
/// a `410`, and no answer at all (`503` for ever). Each used to hold the
/// queue for ever; now the first is recorded, the second refused, the
/// third stuck after its attempts, and the action behind them all is
/// recorded. Discarding the stuck one sends it no more.
#[tokio::test]
async fn nothing_blocks_the_queue_for_ever() {
    let attempts = Arc::new(AtomicU32::new(0));
    let seen = attempts.clone();
    let app = axum::Router::new().route(
        "/v1/holds/{number}/actions",
        axum::routing::post(move |Path(number): Path<String>| {
            let seen = seen.clone();
            async move {
                match &number[number.len() - 1..] {
                    "1" => (StatusCode::OK, "{\"action_id\": 7, \"hold\": ").into_response(),
                    "2" => (StatusCode::GONE, "{\"error\":\"cursor_expired\"}").into_response(),
                    "3" => {
                        seen.fetch_add(1, Ordering::SeqCst);
                        (StatusCode::SERVICE_UNAVAILABLE, "{\"error\":\"busy\"}").into_response()
                    }
                    _ => (StatusCode::CREATED, recorded(&number)).into_response(),
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(async move { axum::serve(listener, app).await });

    let Running {
        desk, mut reports, ..
    } = start(&url, None, policy(3));
    let made: Vec<Intent> = ["000000001", "000000002", "000000003", "000000004"]
        .iter()
        .map(|serial| {
            let number = format!("94022026E{serial}");
            intent(&url, &number, HoldActionKind::Claim, None, 1)
        })
        .collect();
    for i in &made {
        desk.submit(i.clone()).expect("queued");
    }
    let keys: Vec<&str> = made.iter().map(|i| i.key.as_str()).collect();
    let done = finals(&mut reports, &keys).await;
    let outcome = |key: &str| {
        done.iter()
            .find(|r| r.key == key)
            .map(|r| r.outcome.clone())
            .expect("reported")
    };
    assert_eq!(outcome(&made[0].key), Outcome::Done { hold: None });
    assert!(
        matches!(outcome(&made[1].key), Outcome::Refused { code, .. } if code == "gone"),
        "{:?}",
        outcome(&made[1].key)
    );
    assert!(
        matches!(outcome(&made[2].key), Outcome::Stuck { attempts: 3, .. }),
        "{:?}",
        outcome(&made[2].key)
    );
    assert!(matches!(
        outcome(&made[3].key),
        Outcome::Done { hold: Some(_) }
    ));
    assert_eq!(
        attempts.load(Ordering::SeqCst),
        3,
        "three attempts, no more"
    );

    // Tried again on request, then given up: no attempt after the discard.
    desk.retry(&made[2].key)
        .expect("a stuck one can be retried");
    let report = next_report(&mut reports).await;
    assert!(report.outcome.is_pending(), "{report:?}");
    desk.discard(&made[2].key)
        .expect("an unanswered one can be discarded");
    let before = attempts.load(Ordering::SeqCst);
    tokio::time::sleep(StdDuration::from_millis(500)).await;
    assert_eq!(attempts.load(Ordering::SeqCst), before, "not sent again");
    assert_eq!(
        desk.outbox().get(&made[2].key).expect("kept").outcome,
        Outcome::Discarded
    );
}

/// A hold action's answer as the contract writes it.
fn recorded(number: &str) -> String {
    json!({
        "action_id": "A1",
        "declaration_no": number,
        "action": "claim",
        "hold": {
            "reason_code": "UNDERVALUED",
            "reason": "undervalued",
            "placed_at": "2026-11-26T10:00:00+08:00",
            "claimed_by": OFFICER_ID,
            "version": 2
        }
    })
    .to_string()
}

fn uuid_key() -> String {
    uuid::Uuid::new_v4().to_string()
}
