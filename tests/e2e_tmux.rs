//! End to end: the real `greenchannel` binary in tmux against a simulator
//! in this process (the harness is `common::tmux`): keys, screens, signals,
//! hang-ups, the wall, stale feeds and triage, as a person would meet them.

mod common;

use std::time::{Duration, Instant};

use chrono::Utc;
use common::tmux::*;
use greenchannel::triage::journal;

#[test]
fn board_comes_up_with_feeds_trains_and_key_hints() {
    let sim = Sim::new();
    let trains = sim.upcoming_trains();
    let board = Board::start(&sim);
    board.wait_ready();
    let screen = board.wait_for("every upcoming train on the departures board", |s| {
        titled(s, "Departures ·") && trains.iter().all(|(id, _)| s.contains(id.as_str()))
    });
    let top = header(&screen);
    assert!(top.contains("Alashankou rail port"), "the port:\n{screen}");
    assert!(top.contains("ALK-0417"), "the officer signed in:\n{screen}");
    let footer = screen.lines().last().unwrap_or("");
    for hint in ["Enter open", "/ filter", "? help", "q quit"] {
        assert!(footer.contains(hint), "footer hint {hint:?}:\n{screen}");
    }
    assert_eq!(board.modes(), BOARD_MODES, "the board's terminal modes");
}

#[test]
fn keys_move_between_screens_filter_and_open() {
    let sim = Sim::new();
    let trains = sim.upcoming_trains();
    let board = Board::start(&sim);
    board.wait_ready();

    // 3: the parcels; `/risk:held` keeps the held ones; Esc lets go.
    board.keys(&["3"]);
    let screen = board.wait_for("the Parcels table", |s| {
        titled(s, "Parcels ·") && !parcel_rows(s).is_empty()
    });
    assert!(
        parcel_rows(&screen).iter().any(|r| !r.contains("H held")),
        "unfiltered, the first page has parcels that are not held:\n{screen}"
    );
    board.keys(&["/"]);
    board.wait_for("the filter line", |s| {
        s.lines().last().is_some_and(|l| l.starts_with("filter /"))
    });
    board.type_text("risk:held");
    board.wait_for("risk:held typed in the filter line", |s| {
        s.lines()
            .last()
            .is_some_and(|l| l.starts_with("filter /risk:held"))
    });
    board.keys(&["Enter"]);
    // The list may lag the verdicts by a second (it is recomputed at most
    // once a second); it must settle on held parcels only.
    board.wait_for("only held parcels listed under risk:held", |s| {
        let rows = parcel_rows(s);
        titled(s, "Parcels ·")
            && s.contains("· filter risk:held")
            && !rows.is_empty()
            && rows.iter().all(|r| r.contains("H held"))
    });
    board.keys(&["Escape"]);
    board.wait_for("Esc clears the filter", |s| {
        titled(s, "Parcels ·") && !s.contains("risk:held")
    });

    // 5: the holds; Enter opens the selected one.
    board.keys(&["5"]);
    let screen = board.wait_for("the Holds table with a selected hold", |s| {
        titled(s, "Holds ·") && selected_declaration(s).is_some()
    });
    let held = selected_declaration(&screen).expect("a selected hold");
    board.keys(&["Enter"]);
    board.wait_for(&format!("the detail of parcel {held}"), |s| {
        titled(s, "Parcel ─")
            && s.lines()
                .any(|l| l.trim_start_matches('│').starts_with(&held))
    });

    // :train opens a train's containers.
    let (train_id, train_no) = trains.last().expect("a train");
    board.keys(&[":"]);
    board.wait_for("the command line", |s| {
        s.lines().last().is_some_and(|l| l.starts_with("command :"))
    });
    board.type_text(&format!("train {train_no}"));
    board.keys(&["Enter"]);
    board.wait_for(&format!("the containers of {train_id}"), |s| {
        titled(s, &format!("{train_id} ·")) && s.contains("Shed state")
    });

    // Tab cycles through the screens and back.
    for title in [
        "Parcels ·",
        "Parcel ─",
        "Holds ·",
        "Feeds",
        "Departures ·",
        &format!("{train_id} ·"),
    ] {
        board.keys(&["Tab"]);
        board.wait_for(&format!("Tab to the screen titled {title:?}"), |s| {
            titled(s, title)
        });
    }
}

#[test]
fn help_overlay_closes_on_any_key() {
    let sim = Sim::new();
    let board = Board::start(&sim);
    board.wait_ready();
    board.keys(&["?"]);
    board.wait_for("the help overlay", |s| {
        s.contains("┌ Help ─") && s.contains("q Ctrl-c") && s.contains("commands:")
    });
    // A key with no action of its own must close the help too.
    board.keys(&["x"]);
    board.wait_for("the help closed by the key x", |s| !s.contains("┌ Help ─"));
    assert!(titled(&board.screen(), "Departures ·"));
}

#[test]
fn f_freezes_and_thaws_the_display() {
    let sim = Sim::new();
    let board = Board::start(&sim);
    board.wait_ready();
    assert!(!header(&board.screen()).contains("FROZEN"));
    board.keys(&["f"]);
    board.wait_for("the FROZEN badge", |s| header(s).contains("FROZEN"));
    board.keys(&["f"]);
    board.wait_for("the FROZEN badge gone", |s| {
        !header(s).contains("FROZEN") && header(s).contains("railway ok")
    });
}

#[test]
fn q_quits_and_restores_the_terminal() {
    let sim = Sim::new();
    let board = Board::start(&sim);
    board.wait_ready();
    let pid = board.pid();
    assert_eq!(board.modes(), BOARD_MODES);
    board.keys(&["q"]);
    let screen = assert_ended_cleanly(&board, pid, "q");
    assert!(
        !screen.contains("Departures"),
        "the normal screen again, not the board's:\n{screen}"
    );
}

/// Sends the board `signal_name` and checks it ends at once, cleanly, with
/// the terminal as it was.
fn a_signal_ends_the_board(signal_name: &str) {
    let sim = Sim::new();
    let board = Board::start(&sim);
    board.wait_ready();
    let pid = board.pid();
    signal(pid, signal_name);
    assert!(
        ends_within(pid, ENDS_WITHIN),
        "the board still runs {ENDS_WITHIN:?} after SIG{signal_name}\n{}",
        board.screen()
    );
    assert_ended_cleanly(&board, pid, &format!("SIG{signal_name}"));
}

#[test]
fn sigterm_ends_the_board_and_restores_the_terminal() {
    a_signal_ends_the_board("TERM");
}

#[test]
fn sighup_ends_the_board_and_restores_the_terminal() {
    a_signal_ends_the_board("HUP");
}

#[test]
fn sigint_ends_the_board_and_restores_the_terminal() {
    a_signal_ends_the_board("INT");
}

#[test]
fn a_dropped_session_ends_the_board() {
    let sim = Sim::new();
    let board = Board::start(&sim);
    board.wait_ready();
    let pid = board.pid();
    board.drop_session();
    assert!(
        ends_within(pid, ENDS_WITHIN),
        "the board still runs {ENDS_WITHIN:?} after its terminal hung up"
    );
    // The waiting subshell records the status just after the board ends.
    let deadline = Instant::now() + Duration::from_secs(2);
    while board.exit_status().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let status = board.exit_status();
    assert_eq!(
        status.as_deref(),
        Some("0"),
        "after a hangup the board should end normally (status 0); status {status:?} \
         (134 = killed by SIGABRT, a panic that aborted)"
    );
}

#[test]
fn wall_asks_before_quitting() {
    let sim = Sim::new();
    let board = Board::start_with(&sim, (160, 48), &["--wall"], &[]);
    board.wait_ready();
    let pid = board.pid();
    let question = "Quit the wall display? y / n";
    board.keys(&["q"]);
    board.wait_for("the quit question", |s| s.contains(question));
    assert!(alive(pid), "the wall still runs while it asks");
    board.keys(&["n"]);
    board.wait_for("the question gone after n", |s| {
        !s.contains(question) && header(s).contains("railway ok")
    });
    assert!(alive(pid), "n keeps the wall running");
    board.keys(&["q"]);
    board.wait_for("the quit question again", |s| s.contains(question));
    board.keys(&["y"]);
    assert_ended_cleanly(&board, pid, "y on the wall");
}

#[test]
fn feeds_that_fail_show_stale() {
    let sim = Sim::new();
    let board = Board::start_quick_to_stale(&sim);
    board.wait_ready();
    sim.fail_every_request();
    let screen = board.wait_for("both feeds STALE in the header", |s| {
        header(s).contains("railway STALE") && header(s).contains("customs STALE")
    });
    assert!(
        screen.contains("RAILWAY STALE") && screen.contains("CUSTOMS STALE"),
        "a banner line per stale feed:\n{screen}"
    );
}

#[test]
fn stale_banner_counts_from_the_last_good_answer() {
    // The servers' clock an hour behind this machine's.
    let sim = Sim::at(Utc::now() - chrono::Duration::hours(1));
    let board = Board::start_quick_to_stale(&sim);
    board.wait_ready();
    sim.fail_every_request();
    let screen = board.wait_for("the railway STALE banner", |s| {
        s.contains("RAILWAY STALE — last good")
    });
    let line = screen
        .lines()
        .find(|l| l.contains("RAILWAY STALE — last good"))
        .expect("the banner line");
    let age = line
        .split("last good ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or("");
    assert!(
        age.ends_with('s') && age.len() <= 3,
        "the railway answered seconds ago, the banner says {age:?} ago:\n{line}"
    );
}

#[test]
fn feeds_are_ok_when_the_servers_clock_is_ahead() {
    // The servers' clock ten minutes ahead of this machine's.
    let sim = Sim::at(Utc::now() + chrono::Duration::minutes(10));
    let board = Board::start(&sim);
    // Both feeds answer: the header must come to say ok (judged at the
    // servers' time, they would read DOWN for ever on this machine's).
    board.wait_for("both feeds ok, the officer signed in", |s| {
        let header = header(s);
        header.contains("ALK-0417")
            && header.contains("railway ok")
            && header.contains("customs ok")
            && !s.contains(" 0 parcels")
    });
}

/// The servers' machine is down when the board starts: both feeds DOWN,
/// never answered, why on a line each; once it is up, the board fills.
#[test]
fn a_board_started_before_its_servers_says_down_then_fills() {
    let sim = Sim::new();
    let trains = sim.upcoming_trains();
    let plug = sim.plug(false);
    let board = Board::start_through(&sim, &plug, &[]);
    let screen = board.wait_for("both feeds DOWN, never answered", |s| {
        header(s).contains("railway DOWN")
            && header(s).contains("customs DOWN")
            && s.contains("RAILWAY DOWN — never answered")
            && s.contains("CUSTOMS DOWN — never answered")
    });
    assert!(screen.contains("could not connect"), "why:\n{screen}");
    assert!(alive(board.pid()), "the board waits for its servers");
    sim.plug_in(&plug);
    board.wait_ready();
    board.wait_for("every upcoming train on the departures board", |s| {
        !s.contains("DOWN") && trains.iter().all(|(id, _)| s.contains(id.as_str()))
    });
}

/// The servers' machine dies mid-run: both feeds STALE, counted from the
/// last good answer, and the trains still on the board; once it is back,
/// ok again.
#[test]
fn a_server_that_dies_shows_stale_with_its_last_trains_then_recovers() {
    let sim = Sim::new();
    let trains = sim.upcoming_trains();
    let plug = sim.plug(true);
    let board = Board::start_through(&sim, &plug, &["GREENCHANNEL_FEEDS_STALE_AFTER_SECONDS=2"]);
    board.wait_ready();
    let all_trains = |s: &str| trains.iter().all(|(id, _)| s.contains(id.as_str()));
    board.wait_for("every upcoming train", all_trains);
    plug.pull();
    let screen = board.wait_for("both feeds STALE, the trains kept", |s| {
        header(s).contains("railway STALE")
            && header(s).contains("customs STALE")
            && s.contains("RAILWAY STALE — last good")
            && all_trains(s)
    });
    assert!(screen.contains("could not connect"), "why:\n{screen}");
    sim.plug_in(&plug);
    board.wait_for("both feeds ok again, the trains kept", |s| {
        header(s).contains("railway ok")
            && header(s).contains("customs ok")
            && !s.contains("STALE")
            && all_trains(s)
    });
}

/// The servers' clock steps back an hour, then forward two: the skew is
/// shown each time and the feeds stay ok; stepping back loses no train,
/// and stepping forward the board follows the world (the trains that left
/// in that hour go, the new ones come).
#[test]
fn a_server_clock_that_jumps_is_shown_and_followed() {
    let sim = Sim::at(Utc::now());
    let before = sim.upcoming_trains();
    let board = Board::start(&sim);
    board.wait_ready();
    let shows =
        |s: &str, trains: &[(String, String)]| trains.iter().all(|(id, _)| s.contains(id.as_str()));
    board.wait_for("every upcoming train", |s| shows(s, &before));
    let feeds_ok = |s: &str| header(s).contains("railway ok") && header(s).contains("customs ok");

    sim.advance(-3600.0);
    board.wait_for("an hour of skew, feeds ok, no train lost", |s| {
        let skew = header(s);
        (skew.contains("skew +60m") || skew.contains("skew +61m"))
            && feeds_ok(s)
            && shows(s, &before)
    });

    sim.advance(7200.0);
    let after = sim.upcoming_trains();
    assert!(
        before.iter().all(|train| !after.contains(train)),
        "an hour later the trains of before have left: {before:?} {after:?}"
    );
    let screen = board.wait_for(
        "the skew the other way, the trains of the hour after",
        |s| {
            (header(s).contains("skew -59m") || header(s).contains("skew -58m"))
                && feeds_ok(s)
                && shows(s, &after)
                && !before.iter().any(|(id, _)| s.contains(id.as_str()))
        },
    );
    assert!(alive(board.pid()), "{screen}");
}

/// A terminal dragged down to one cell and back: the board survives it
/// and draws the whole board again.
#[test]
fn a_terminal_of_one_cell_and_back_is_drawn_again() {
    let sim = Sim::new();
    let board = Board::start(&sim);
    board.wait_ready();
    let pid = board.pid();
    board.resize(1, 1);
    board.wait_for("a screen of one cell", |s| {
        s.lines().all(|l| l.chars().count() <= 1)
    });
    // Time for a few frames at that size, and a feed delivery or two.
    std::thread::sleep(Duration::from_millis(1500));
    assert!(alive(pid), "the board outlives a 1×1 terminal");
    board.resize(3, 2);
    std::thread::sleep(Duration::from_millis(300));
    assert!(alive(pid), "the board outlives a 3×2 terminal");
    board.resize(160, 48);
    board.wait_ready();
    board.wait_for("the departures again", |s| titled(s, "Departures ·"));
}

#[test]
fn a_small_terminal_says_it_is_too_small() {
    let sim = Sim::new();
    let board = Board::start_with(&sim, (50, 12), &[], &[]);
    board.wait_for("the too-small screen", |s| {
        s.contains("terminal too small") && s.contains("50×12 < 64×16")
    });
}

#[test]
fn an_officer_claims_and_escalates_a_hold() {
    let sim = Sim::new();
    let board = Board::start(&sim);
    board.wait_ready();
    board.keys(&["5"]);
    let screen = board.wait_for("the holds, one unclaimed", |s| {
        titled(s, "Holds ·") && parcel_rows(s).iter().any(|r| r.contains("unclaimed"))
    });
    // Go down to the first hold nobody has claimed.
    let rows = parcel_rows(&screen);
    let index = rows
        .iter()
        .position(|r| r.contains("unclaimed"))
        .expect("an unclaimed hold");
    for _ in 0..index {
        board.keys(&["j"]);
    }
    let parcel = row_declaration(rows[index])
        .expect("a declaration")
        .to_owned();
    board.wait_for("the unclaimed hold selected", |s| {
        selected_declaration(s).as_deref() == Some(parcel.as_str())
    });

    board.keys(&["c"]);
    board.wait_for("the claim recorded, and the feed showing it", |s| {
        let row = parcel_rows(s).into_iter().find(|r| r.contains(&parcel));
        row.is_some_and(|r| r.contains("ALK-0417") && r.contains("claim ✓"))
    });

    board.keys(&["e"]);
    board.wait_for("the question before escalating", |s| {
        s.contains(&format!("escalate {parcel}? y / n"))
    });
    board.keys(&["y"]);
    board.wait_for("the escalation recorded, flag E on the row", |s| {
        let row = parcel_rows(s).into_iter().find(|r| r.contains(&parcel));
        row.is_some_and(|r| r.contains("escalate ✓") && r.contains("·E·"))
    });

    // Both are in the officer's journal for this customs API, answered.
    let journals = journal::all_in(&board.dir.join("state/greenchannel/journals"));
    assert_eq!(journals.len(), 1, "{journals:?}");
    assert!(
        journals[0].ends_with("ALK-0417.jsonl"),
        "one journal per API and officer: {journals:?}"
    );
    let text = std::fs::read_to_string(&journals[0]).expect("the triage journal");
    assert!(text.contains(&sim.running.customs_url()), "{text}");
    let intents = text.matches("\"record\":\"intent\"").count();
    let done = text.matches("\"state\":\"done\"").count();
    assert_eq!((intents, done), (2, 2), "{text}");
}

/// `greenchannel ARGS…` against the simulator with a token and a state
/// directory, stdin closed: (exit code, stdout, stderr).
fn command(
    sim: &Sim,
    token: &str,
    state: &std::path::Path,
    args: &[&str],
) -> (i32, String, String) {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_greenchannel"));
    command
        .args(args)
        .args(["--railway-url", &sim.running.railway_url()])
        .args(["--customs-url", &sim.running.customs_url()])
        .stdin(std::process::Stdio::null())
        .env("GREENCHANNEL_RAILWAY_TOKEN", token)
        .env("GREENCHANNEL_CUSTOMS_TOKEN", token)
        .env("XDG_STATE_HOME", state);
    let out = command.output().expect("the binary runs");
    (
        out.status.code().expect("not killed"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_board_and_the_hold_command_work_on_one_hold() {
    let sim = Sim::with(greenchannel::sim::SimConfig::triage(), common::start());
    let held = sim.customs("/v1/holds?page_size=1000")["declarations"]
        .as_array()
        .expect("declarations")
        .iter()
        .find(|d| d["hold"]["claimed_by"].is_null())
        .expect("an unclaimed hold")["declaration_no"]
        .as_str()
        .expect("a number")
        .to_owned();
    let board = Board::start_with(&sim, (160, 48), &[], &[]);
    board.wait_for("the officer signed in", |s| header(s).contains("ALK-0417"));
    board.keys(&["/"]);
    board.type_text(&format!("d:{held}"));
    board.keys(&["Enter"]);
    board.wait_for("the parcel alone in the list", |s| {
        parcel_rows(s).len() == 1
    });
    board.keys(&["Enter", "c"]);
    board.wait_for("the board's claim recorded", |s| s.contains("claim ✓"));

    // A colleague at a shell: the claim is refused, the note goes through,
    // and the board shows it when the feed tells.
    let colleague = board.dir.join("colleague");
    let (code, out, _) = command(
        &sim,
        common::OFFICER_2,
        &colleague,
        &["hold", "claim", &held],
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("claimed_by_other"), "{out}");
    let (code, out, _) = command(
        &sim,
        common::OFFICER_2,
        &colleague,
        &["hold", "note", &held, "--note", "cross-check ok"],
    );
    assert_eq!(code, 0, "{out}");
    board.wait_for("the colleague's note on the parcel", |s| {
        s.contains("cross-check ok")
    });

    // The same officer at a shell beside the board: its own journal (the
    // board holds the first), the version the board's claim and the note
    // moved on, and the board shows the escalation.
    let state = board.dir.join("state");
    let (code, out, err) = command(
        &sim,
        common::OFFICER,
        &state,
        &["hold", "escalate", &held, "--yes"],
    );
    assert_eq!(code, 0, "{out}{err}");
    board.wait_for("the escalation on the parcel", |s| s.contains("escalated"));
    let (code, trail, _) = command(&sim, common::OFFICER, &state, &["journal", "--json"]);
    assert_eq!(code, 0);
    let trail: serde_json::Value = serde_json::from_str(&trail).expect("JSON");
    let actions: Vec<&str> = trail
        .as_array()
        .expect("a list")
        .iter()
        .map(|l| l["action"].as_str().expect("an action"))
        .collect();
    assert_eq!(actions, ["claim", "escalate"], "{trail}");
}
