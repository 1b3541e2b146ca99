//! The triage sender against the simulator over loopback: intents whose
//! answers are lost are asked again under the same key and recorded once,
//! intents left unanswered when the program stops come back from the
//! journal and are finished, and refusals are final.

mod common;

use std::path::PathBuf;
use std::time::Duration as StdDuration;

use greenchannel::domain::{HoldActionKind, HoldActionRequest};
use greenchannel::feeds::Backoff;
use greenchannel::feeds::Feed;
use greenchannel::feeds::client::{ApiClient, Timeouts, Token};
use greenchannel::sim::RunningSim;
use greenchannel::triage::journal::Journal;
use greenchannel::triage::sender;
use greenchannel::triage::{Intent, Outcome, Report};
use serde_json::{Value, json};
use tokio::sync::mpsc;

const OFFICER_ID: &str = "ALK-0417";

fn client(sim: &RunningSim, token: &str) -> ApiClient {
    let timeouts = Timeouts {
        connect: StdDuration::from_secs(2),
        request: StdDuration::from_secs(5),
    };
    ApiClient::new(
        Feed::Customs,
        &sim.customs_url(),
        Token::new(token),
        timeouts,
    )
    .expect("client")
}

fn quick_retry() -> Backoff {
    Backoff {
        initial: StdDuration::from_millis(20),
        max: StdDuration::from_millis(200),
    }
}

/// The officer's sender, running: where to hand it intents, where it
/// reports, and its task.
struct Running {
    intents: mpsc::Sender<Intent>,
    reports: mpsc::Receiver<Report>,
    task: tokio::task::JoinHandle<()>,
}

fn start_sender(sim: &RunningSim, journal: Option<Journal>, pending: Vec<Intent>) -> Running {
    let (intents, intent_rx) = mpsc::channel(8);
    let (report_tx, reports) = mpsc::channel(64);
    let task = tokio::spawn(sender::run(
        client(sim, common::OFFICER),
        journal,
        pending,
        intent_rx,
        report_tx,
        quick_retry(),
    ));
    Running {
        intents,
        reports,
        task,
    }
}

/// A fresh journal path under the target directory.
fn journal_path(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("triage_sender");
    std::fs::create_dir_all(&dir).expect("test directory");
    let path = dir.join(format!("{name}.jsonl"));
    let _ = std::fs::remove_file(&path);
    path
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

/// Reports until every key has a final outcome.
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

fn intent(number: &str, action: HoldActionKind, note: Option<&str>, version: u64) -> Intent {
    Intent::new(
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
    let path = journal_path("lost_answers");
    let (journal, _) = Journal::open(&path).expect("journal opens");
    let Running {
        intents: intent_tx,
        mut reports,
        task,
    } = start_sender(&sim, Some(journal), Vec::new());

    let claim = intent(&number, HoldActionKind::Claim, None, version);
    let note = intent(
        &number,
        HoldActionKind::Note,
        Some("seal checked"),
        version + 1,
    );
    intent_tx
        .send(claim.clone())
        .await
        .expect("sender takes it");
    intent_tx.send(note.clone()).await.expect("sender takes it");
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

    drop(intent_tx);
    task.await.expect("the sender stops when the board goes");
    let (_, replayed) = Journal::open(&path).expect("journal reopens");
    assert!(replayed.outbox.pending().is_empty(), "nothing left to send");
    assert_eq!(replayed.outbox.entries().len(), 2);
}

/// The program stops while customs cannot be reached; on the next start
/// the journal gives the intent back with its key, and it is recorded once
/// even though the first attempt reached customs.
#[tokio::test]
async fn an_unanswered_intent_survives_a_restart() {
    let (sim, number, version) = hold_losing_answers().await;
    let path = journal_path("restart");
    let claim = intent(
        &number,
        HoldActionKind::RequestPriorityInspection,
        None,
        version,
    );
    {
        let (journal, _) = Journal::open(&path).expect("journal opens");
        let Running {
            intents: intent_tx,
            mut reports,
            task,
        } = start_sender(&sim, Some(journal), Vec::new());
        intent_tx
            .send(claim.clone())
            .await
            .expect("sender takes it");
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
    let (journal, replayed) = Journal::open(&path).expect("journal reopens");
    let pending: Vec<Intent> = replayed
        .outbox
        .pending()
        .into_iter()
        .map(|e| e.intent.clone())
        .collect();
    assert_eq!(
        pending,
        std::slice::from_ref(&claim),
        "the same intent, the same key"
    );
    let Running {
        intents: _intents,
        mut reports,
        ..
    } = start_sender(&sim, Some(journal), pending);
    let done = finals(&mut reports, &[&claim.key]).await;
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
    let holds = unclaimed_holds(&sim).await;
    let (taken, taken_version) = holds[0].clone();
    let (free, free_version) = holds[1].clone();
    let request = HoldActionRequest {
        action: HoldActionKind::Claim,
        note: None,
        expected_version: None,
    };
    client(&sim, common::OFFICER_2)
        .hold_action(&taken, &uuid_key(), &request)
        .await
        .expect("the colleague claims it");

    let Running {
        intents: intent_tx,
        mut reports,
        ..
    } = start_sender(&sim, None, Vec::new());
    let refused = intent(&taken, HoldActionKind::Claim, None, taken_version + 1);
    let accepted = intent(&free, HoldActionKind::Escalate, None, free_version);
    intent_tx
        .send(refused.clone())
        .await
        .expect("sender takes it");
    intent_tx
        .send(accepted.clone())
        .await
        .expect("sender takes it");
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

fn uuid_key() -> String {
    uuid::Uuid::new_v4().to_string()
}
