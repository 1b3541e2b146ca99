//! End to end: the real `greenchannel` binary in a detached tmux session
//! (160×48 unless a test says otherwise) against a simulator in this
//! process; the tests type with `send-keys` and read the screen with
//! `capture-pane -p`.
//!
//! Each test has a tmux server of its own (`tmux -L <unique name>`, no
//! configuration file), so the tests run in parallel and never touch the
//! user's tmux; the server is killed when the test ends, passed or failed.
//! tmux is required: without it every test here fails.
//!
//! The pane runs a small shell script around the board: it records the
//! board's pid and exit status in files and, once the board has ended,
//! prints `BOARD-EXITED <status>, terminal modes restored|changed` (the
//! modes of `stty -g` before and after) and stays open, so the screen after
//! the board can be read.

mod common;

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use greenchannel::sim::{RunningSim, SimConfig};
use greenchannel::triage::journal;
use serde_json::{Value, json};

/// How long the screen may take to show what a test waits for.
const TIMEOUT: Duration = Duration::from_secs(10);

/// How long the board may take to end once told to (or hung up on).
const ENDS_WITHIN: Duration = Duration::from_secs(5);

/// Runs the board as a child of the pane's shell. `$1` is the pid file,
/// `$2` the status file, the rest the board's command. The subshell that
/// waits for the board survives a hangup (its trap runs only after the
/// board ends) so it can record the status; the board itself keeps the
/// default disposition of SIGHUP, as under a login shell.
const LAUNCHER: &str = r#"
pidfile=$1 statusfile=$2
shift 2
modes=$(stty -g)
(
    trap 'hung_up=1' HUP
    sh -c 'echo $$ > "$0.tmp" && mv "$0.tmp" "$0" && exec "$@"' "$pidfile" "$@"
    echo $? > "$statusfile.tmp" && mv "$statusfile.tmp" "$statusfile"
)
status=$(cat "$statusfile")
if [ "$(stty -g)" = "$modes" ]; then tty=restored; else tty=changed; fi
echo "BOARD-EXITED $status, terminal modes $tty"
exec sleep 60
"#;

/// What the pane shows once the board has quit cleanly.
const CLEAN_EXIT: &str = "BOARD-EXITED 0, terminal modes restored";

/// The pane's modes while the board runs: alternate screen, cursor hidden,
/// mouse captured.
const BOARD_MODES: &str = "alternate screen 1, cursor visible 0, mouse 1";

/// The pane's modes of an ordinary shell.
const SHELL_MODES: &str = "alternate screen 0, cursor visible 1, mouse 0";

/// A simulator on a loopback port with its clock held still, served by a
/// runtime of its own while the test drives tmux from its thread.
struct Sim {
    running: RunningSim,
    runtime: tokio::runtime::Runtime,
}

impl Sim {
    /// At the scenario start every test uses.
    fn new() -> Sim {
        Sim::at(common::start())
    }

    /// With its clock held at `start`.
    fn at(start: DateTime<Utc>) -> Sim {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        let running = runtime.block_on(common::start_sim_at(SimConfig::default(), start));
        Sim { running, runtime }
    }

    /// Switches faults (a JSON object of `Faults` fields).
    fn faults(&self, settings: Value) {
        self.runtime
            .block_on(common::faults(&self.running, settings));
    }

    /// Answers every request 503 from now on (an outage an hour long,
    /// every hour).
    fn fail_every_request(&self) {
        self.faults(json!({
            "outages": true,
            "outage_every_seconds": 3600.0,
            "outage_seconds": 3600.0
        }));
    }

    /// `(train_id, train_no)` of the trains not yet departed or cancelled,
    /// as the railway API lists them.
    fn upcoming_trains(&self) -> Vec<(String, String)> {
        let url = format!("{}/v1/trains?page_size=1000", self.running.railway_url());
        let page = self
            .runtime
            .block_on(common::get_json(&url, common::VIEWER));
        let trains: Vec<(String, String)> = page["trains"]
            .as_array()
            .expect("a list of trains")
            .iter()
            .filter(|t| !matches!(t["status"].as_str(), Some("departed" | "cancelled")))
            .map(|t| {
                let text = |field: &str| t[field].as_str().expect(field).to_owned();
                (text("train_id"), text("train_no"))
            })
            .collect();
        assert!(!trains.is_empty(), "the simulator has upcoming trains");
        trains
    }
}

/// Fails the test when tmux cannot be run: CI installs it, and a test that
/// skips itself would hide that the board was never driven.
fn require_tmux() {
    let ok = Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|out| out.status.success());
    assert!(
        ok,
        "these tests need tmux (`tmux -V` failed): install tmux, e.g. `apt-get install tmux`"
    );
}

/// Whether a process is running (a zombie has ended).
fn alive(pid: u32) -> bool {
    Command::new("ps")
        .args(["-o", "stat=", "-p", &pid.to_string()])
        .output()
        .is_ok_and(|out| {
            out.status.success() && !String::from_utf8_lossy(&out.stdout).trim().starts_with('Z')
        })
}

/// Sends a signal (`TERM`, `HUP`) to a process.
fn signal(pid: u32, name: &str) {
    let status = Command::new("kill")
        .args(["-s", name, &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -s {name} {pid} failed");
}

/// Whether the process has ended within `limit`.
fn ends_within(pid: u32, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while alive(pid) {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    true
}

/// The board in a tmux session of its own; kills that tmux server (and the
/// board, should it outlive it) and removes its socket when dropped.
struct Board {
    socket: String,
    /// The socket's file, which the server leaves behind.
    socket_path: Option<PathBuf>,
    dir: PathBuf,
}

static NEXT_SOCKET: AtomicUsize = AtomicUsize::new(0);

impl Board {
    /// The board on 160×48 against `sim`, with the viewer and officer tokens.
    fn start(sim: &Sim) -> Board {
        Board::start_with(sim, (160, 48), &[], &[])
    }

    /// The board on 160×48, a feed stale two seconds after its last answer.
    fn start_quick_to_stale(sim: &Sim) -> Board {
        Board::start_with(
            sim,
            (160, 48),
            &[],
            &["GREENCHANNEL_FEEDS_STALE_AFTER_SECONDS=2"],
        )
    }

    /// The board in a terminal of `size` with more flags and environment.
    fn start_with(sim: &Sim, size: (u16, u16), flags: &[&str], env: &[&str]) -> Board {
        require_tmux();
        let socket = format!(
            "greenchannel-e2e-{}-{}",
            std::process::id(),
            NEXT_SOCKET.fetch_add(1, Ordering::Relaxed)
        );
        let dir = std::env::temp_dir().join(&socket);
        std::fs::create_dir_all(&dir).expect("temporary directory");
        let mut board = Board {
            socket,
            socket_path: None,
            dir,
        };
        let config = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config/demo.toml");
        let (width, height) = (size.0.to_string(), size.1.to_string());
        let mut command = Command::new("tmux");
        command
            .args(["-L", &board.socket, "-f", "/dev/null", "new-session", "-d"])
            .args(["-s", "board", "-x", &width, "-y", &height])
            .args(["sh", "-c", LAUNCHER, "launcher"])
            .arg(board.dir.join("pid"))
            .arg(board.dir.join("status"))
            .args([
                "env",
                "GREENCHANNEL_RAILWAY_TOKEN=demo-viewer",
                "GREENCHANNEL_CUSTOMS_TOKEN=demo-officer",
            ])
            // The board's state (its triage journal) stays in the test's
            // directory, away from the user's and the other tests'.
            .arg(format!(
                "XDG_STATE_HOME={}",
                board.dir.join("state").display()
            ))
            .args(env)
            .arg(env!("CARGO_BIN_EXE_greenchannel"))
            .args(["--railway-url", &sim.running.railway_url()])
            .args(["--customs-url", &sim.running.customs_url()])
            .arg("--config")
            .arg(config)
            .args(["--lang", "en"])
            .args(flags);
        // A fresh tmux server takes its environment from this process: no
        // settings or log of the user's leak into the board.
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("GREENCHANNEL_") {
                command.env_remove(name);
            }
        }
        checked(command.output().expect("tmux runs"), "tmux new-session");
        let out = board.tmux(&["display-message", "-p", "#{socket_path}"]);
        board.socket_path = Some(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
            .filter(|path| out.status.success() && path.is_absolute());
        board
    }

    fn tmux(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("tmux runs")
    }

    /// The screen as text.
    fn screen(&self) -> String {
        let out = checked(
            self.tmux(&["capture-pane", "-p", "-t", "board"]),
            "tmux capture-pane",
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The screen with the lines scrolled off it (an error the board
    /// printed when it ended may be longer than the pane).
    fn screen_and_history(&self) -> String {
        let out = self.tmux(&["capture-pane", "-p", "-S", "-", "-t", "board"]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Polls the screen until `ok` holds; fails with the last screen after
    /// [`TIMEOUT`].
    fn wait_for(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let screen = self.screen();
            if ok(&screen) {
                return screen;
            }
            if Instant::now() > deadline {
                panic!(
                    "not seen within {TIMEOUT:?}: {what}\n--- last screen (and history) ---\n{}",
                    self.screen_and_history()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits for the board with both feeds read.
    fn wait_ready(&self) {
        self.wait_for("the board with both feeds ok", |s| {
            header(s).contains("railway ok") && header(s).contains("customs ok")
        });
    }

    /// Presses keys (tmux key names: `Enter`, `Escape`, `Tab`, `q`).
    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "board"];
        args.extend_from_slice(keys);
        checked(self.tmux(&args), "tmux send-keys");
    }

    /// Types text literally.
    fn type_text(&self, text: &str) {
        checked(
            self.tmux(&["send-keys", "-t", "board", "-l", text]),
            "tmux send-keys -l",
        );
    }

    /// The pane's terminal modes, in words.
    fn modes(&self) -> String {
        let format = "alternate screen #{alternate_on}, cursor visible #{cursor_flag}, \
                      mouse #{mouse_any_flag}";
        let out = checked(
            self.tmux(&["display-message", "-p", "-t", "board", format]),
            "tmux display-message",
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// The board's pid, once it has started.
    fn pid(&self) -> u32 {
        let file = self.dir.join("pid");
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Ok(text) = std::fs::read_to_string(&file) {
                return text.trim().parse().expect("a pid");
            }
            assert!(
                Instant::now() < deadline,
                "the board did not start within {TIMEOUT:?}\n--- last screen ---\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The board's exit status, once it has ended.
    fn exit_status(&self) -> Option<String> {
        std::fs::read_to_string(self.dir.join("status"))
            .ok()
            .map(|s| s.trim().to_owned())
    }

    /// Waits for the pane's shell to report how the board ended.
    fn wait_exited(&self) -> String {
        self.wait_for("the shell's BOARD-EXITED line", |s| {
            s.contains("BOARD-EXITED")
        })
    }

    /// Closes the session as a dropped ssh connection would: the pane's
    /// terminal hangs up.
    fn drop_session(&self) {
        checked(
            self.tmux(&["kill-session", "-t", "board"]),
            "tmux kill-session",
        );
    }
}

impl Drop for Board {
    /// Never panics: it also runs while a failed test unwinds.
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
        if let Some(path) = &self.socket_path {
            let _ = std::fs::remove_file(path);
        }
        let pid = std::fs::read_to_string(self.dir.join("pid"))
            .ok()
            .and_then(|text| text.trim().parse::<u32>().ok());
        if let Some(pid) = pid.filter(|pid| alive(*pid)) {
            let _ = Command::new("kill")
                .args(["-s", "KILL", &pid.to_string()])
                .output();
            ends_within(pid, Duration::from_secs(2));
        }
        // The shell that waited for the board may still be writing its
        // status into the directory.
        let deadline = Instant::now() + Duration::from_secs(1);
        while std::fs::remove_dir_all(&self.dir).is_err()
            && self.dir.exists()
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn checked(out: Output, what: &str) -> Output {
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The header's first line (port, clock, feeds, officer, badges).
fn header(screen: &str) -> &str {
    screen.lines().next().unwrap_or("")
}

/// Whether the screen shows a box titled `title` at the left edge.
fn titled(screen: &str, title: &str) -> bool {
    screen.lines().any(|l| l.starts_with(&format!("┌ {title}")))
}

/// Asserts the board ended with status 0, the terminal as it was, and its
/// process gone.
fn assert_ended_cleanly(board: &Board, pid: u32, how: &str) -> String {
    let screen = board.wait_exited();
    assert!(
        screen.contains(CLEAN_EXIT),
        "a clean exit after {how}:\n{screen}"
    );
    assert_eq!(
        board.modes(),
        SHELL_MODES,
        "the terminal's modes after {how}"
    );
    assert!(
        ends_within(pid, ENDS_WITHIN),
        "the board process ended after {how}"
    );
    screen
}

/// Whether a word is a declaration number (`94022026E000056638`).
fn is_declaration(word: &str) -> bool {
    word.len() == 18
        && word.chars().all(|c| c.is_ascii_alphanumeric())
        && word.starts_with(|c: char| c.is_ascii_digit())
}

/// The declaration number a table row starts with, if it does.
fn row_declaration(row: &str) -> Option<&str> {
    row.trim_start_matches('│')
        .trim_start_matches('▶')
        .split_whitespace()
        .next()
        .filter(|w| is_declaration(w))
}

/// The rows of a table of parcels: lines whose first word is a declaration.
fn parcel_rows(screen: &str) -> Vec<&str> {
    screen
        .lines()
        .filter(|l| row_declaration(l).is_some())
        .collect()
}

/// The declaration number on the selected row (`▶`).
fn selected_declaration(screen: &str) -> Option<String> {
    screen
        .lines()
        .find_map(|l| l.split_once("│▶"))
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .filter(|w| is_declaration(w))
        .map(str::to_owned)
}

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
