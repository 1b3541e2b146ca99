//! SIGKILL at many points around the journal write and the send, then a
//! restart: every intent that reached the journal (and so every one the
//! officer saw queued, which is written there first) is recorded by
//! customs exactly once, and nothing else is.
//!
//! The real binary in tmux (`common::tmux`) against the simulator, half
//! of whose answers are slow and half lost on the way back, so that kills
//! land before the journal write, between it and the send, while the
//! request is out, and after customs recorded it but before the answer.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::tmux::*;
use greenchannel::sim::SimConfig;
use greenchannel::triage::{Outcome, journal};
use serde_json::{Value, json};

/// Every journal of the state directory, read.
fn journals(state: &Path) -> Vec<journal::Replayed> {
    journal::all_in(&state.join("greenchannel/journals"))
        .iter()
        .map(|path| journal::read(path).expect("a journal is always readable"))
        .collect()
}

/// The `hold.updated` events this officer caused, by declaration.
fn recorded_by_officer(sim: &Sim, cursor: &str) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    let mut after = cursor.to_owned();
    loop {
        let batch = sim.customs(&format!("/v1/events?after={after}&limit=5000"));
        for event in batch["events"].as_array().expect("events") {
            if event["type"] == "hold.updated" && event["data"]["by"] == "ALK-0417" {
                let number = event["data"]["declaration_no"].as_str().expect("number");
                *counts.entry(number.to_owned()).or_default() += 1;
            }
        }
        after = batch["next"].as_str().expect("next").to_owned();
        if batch["has_more"] != Value::Bool(true) {
            return counts;
        }
    }
}

/// Held parcels nobody has claimed, as customs lists them.
fn unclaimed(sim: &Sim) -> Vec<String> {
    sim.customs("/v1/holds?page_size=1000")["declarations"]
        .as_array()
        .expect("declarations")
        .iter()
        .filter(|d| d["hold"]["claimed_by"].is_null())
        .map(|d| d["declaration_no"].as_str().expect("number").to_owned())
        .collect()
}

/// Opens the detail of one parcel (filtered by its number, so that no
/// list moving under the cursor can pick another).
fn open_detail(board: &Board, parcel: &str) {
    board.keys(&["/"]);
    board.type_text(&format!("d:{parcel}"));
    board.keys(&["Enter"]);
    board.wait_for("the parcel alone in the list", |s| {
        parcel_rows(s).len() == 1 && parcel_rows(s)[0].contains(parcel)
    });
    board.keys(&["Enter"]);
    board.wait_for("the parcel's detail, held", |s| {
        titled(s, &format!("Parcel {parcel}")) || (s.contains(parcel) && s.contains("Hold"))
    });
}

/// A board whose state (its journals) lives in `state`, ready to act.
fn board_in(sim: &Sim, state: &Path) -> Board {
    let env = format!("XDG_STATE_HOME={}", state.display());
    let board = Board::start_with(sim, (160, 48), &[], &[env.as_str()]);
    board.wait_for("both feeds ok, the officer signed in", |s| {
        let header = header(s);
        header.contains("railway ok")
            && header.contains("customs ok")
            && header.contains("ALK-0417")
    });
    board
}

#[test]
fn every_action_seen_queued_is_recorded_once_after_a_kill() {
    let sim = Sim::with(SimConfig::triage(), common::start());
    let state = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("e2e_crash");
    let _ = std::fs::remove_dir_all(&state);
    let cursor = sim.customs("/v1/declarations?page_size=1")["cursor"]
        .as_str()
        .expect("a snapshot cursor")
        .to_owned();
    sim.faults(json!({
        "lost_answers": true, "lost_answer_share": 0.5,
        "slow": true, "slow_share": 0.5, "slow_ms": 400
    }));

    // Kill at increasing delays after a claim and a note, and once the
    // row shows the claim queued.
    let delays_ms: [Option<u64>; 9] = [
        Some(0),
        Some(1),
        Some(3),
        Some(10),
        Some(30),
        Some(100),
        Some(300),
        Some(1000),
        None,
    ];
    let parcels = unclaimed(&sim);
    assert!(parcels.len() >= delays_ms.len(), "{} holds", parcels.len());
    for (cycle, (delay, parcel)) in delays_ms.into_iter().zip(&parcels).enumerate() {
        let board = board_in(&sim, &state);
        open_detail(&board, parcel);
        board.keys(&["c", "n"]);
        board.type_text(&format!("crash test {cycle}"));
        board.keys(&["Enter"]);
        match delay {
            Some(ms) => std::thread::sleep(Duration::from_millis(ms)),
            None => {
                board.wait_for("this terminal's actions shown", |s| s.contains("My action"));
            }
        }
        let pid = board.pid();
        signal(pid, "KILL");
        assert!(ends_within(pid, ENDS_WITHIN), "cycle {cycle}: killed");
        if delay.is_none() {
            // Seen queued: on the disk.
            let on_disk = journals(&state);
            assert!(
                on_disk.iter().any(|j| j
                    .outbox
                    .about(parcel)
                    .iter()
                    .any(|e| e.intent.action == greenchannel::domain::HoldActionKind::Claim)),
                "cycle {cycle}: the claim shown queued is in the journal"
            );
        }
    }

    // A restart with customs answering: whatever is unanswered is sent.
    sim.faults(json!({"lost_answers": false, "slow": false}));
    let _board = board_in(&sim, &state);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left: usize = journals(&state)
            .iter()
            .map(|j| j.outbox.unanswered().len())
            .sum();
        if left == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{left} intent(s) still unanswered after 30 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // Each intent in the journals is recorded, once; nothing else is.
    let mut expected: BTreeMap<String, usize> = BTreeMap::new();
    let mut intents = 0;
    for replayed in journals(&state) {
        assert_eq!(replayed.unreadable, 0, "the journals are whole");
        for entry in replayed.outbox.entries() {
            intents += 1;
            assert!(
                matches!(entry.outcome, Outcome::Done { .. }),
                "every intent recorded: {:?} {:?}",
                entry.intent.action,
                entry.outcome
            );
            *expected
                .entry(entry.intent.declaration_no.clone())
                .or_default() += 1;
        }
    }
    assert!(intents >= 2, "some intents reached the journal: {intents}");
    assert_eq!(
        recorded_by_officer(&sim, &cursor),
        expected,
        "customs recorded each journaled intent exactly once"
    );
}
