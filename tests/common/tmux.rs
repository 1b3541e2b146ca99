//! The end-to-end harness: the real `greenchannel` binary in a detached
//! tmux session (160×48 unless a test says otherwise) against a simulator
//! in the test's process; tests type with `send-keys` and read the screen
//! with `capture-pane -p`.
//!
//! Each board has a tmux server of its own (`tmux -L <unique name>`, no
//! configuration file), so tests run in parallel and never touch the
//! user's tmux; the server is killed when the board is dropped, passed or
//! failed. tmux is required: without it every test fails.
//!
//! The pane runs a small shell script around the board: it records the
//! board's pid and exit status in files and, once the board has ended,
//! prints `BOARD-EXITED <status>, terminal modes restored|changed` (the
//! modes of `stty -g` before and after) and stays open, so the screen after
//! the board can be read.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use greenchannel::sim::{RunningSim, SimConfig};
use serde_json::{Value, json};

use super::plug::Plug;

/// How long the screen may take to show what a test waits for.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// How long the board may take to end once told to (or hung up on).
pub const ENDS_WITHIN: Duration = Duration::from_secs(5);

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
pub const CLEAN_EXIT: &str = "BOARD-EXITED 0, terminal modes restored";

/// The pane's modes while the board runs: alternate screen, cursor hidden,
/// mouse captured.
pub const BOARD_MODES: &str = "alternate screen 1, cursor visible 0, mouse 1";

/// The pane's modes of an ordinary shell.
pub const SHELL_MODES: &str = "alternate screen 0, cursor visible 1, mouse 0";

/// A simulator on a loopback port with its clock held still, served by a
/// runtime of its own while the test drives tmux from its thread.
pub struct Sim {
    /// The simulator.
    pub running: RunningSim,
    /// The runtime serving it.
    pub runtime: tokio::runtime::Runtime,
}

impl Sim {
    /// At the scenario start every test uses.
    pub fn new() -> Sim {
        Sim::at(super::start())
    }

    /// With its clock held at `start`.
    pub fn at(start: DateTime<Utc>) -> Sim {
        Sim::with(SimConfig::default(), start)
    }

    /// A world of `config`, its clock held at `start`.
    pub fn with(config: SimConfig, start: DateTime<Utc>) -> Sim {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        let running = runtime.block_on(super::start_sim_at(config, start));
        Sim { running, runtime }
    }

    /// A GET of the customs API, as JSON.
    pub fn customs(&self, path_and_query: &str) -> Value {
        let url = format!("{}{path_and_query}", self.running.customs_url());
        self.runtime.block_on(super::get_json(&url, super::OFFICER))
    }

    /// Switches faults (a JSON object of `Faults` fields).
    pub fn faults(&self, settings: Value) {
        self.runtime
            .block_on(super::faults(&self.running, settings));
    }

    /// Moves the paused scenario clock (back, when negative).
    pub fn advance(&self, seconds: f64) {
        self.runtime
            .block_on(super::advance(&self.running, seconds));
    }

    /// A [`Plug`] in front of the simulator, plugged in or not.
    pub fn plug(&self, plugged_in: bool) -> Arc<Plug> {
        self.runtime
            .block_on(Plug::new(self.running.addr, plugged_in))
    }

    /// Puts `plug` back: the simulator is reachable through it again.
    pub fn plug_in(&self, plug: &Arc<Plug>) {
        self.runtime.block_on(plug.plug_in());
    }

    /// Answers every request 503 from now on (an outage an hour long,
    /// every hour).
    pub fn fail_every_request(&self) {
        self.faults(json!({
            "outages": true,
            "outage_every_seconds": 3600.0,
            "outage_seconds": 3600.0
        }));
    }

    /// `(train_id, train_no)` of the trains not yet departed or cancelled,
    /// as the railway API lists them.
    pub fn upcoming_trains(&self) -> Vec<(String, String)> {
        let url = format!("{}/v1/trains?page_size=1000", self.running.railway_url());
        let page = self.runtime.block_on(super::get_json(&url, super::VIEWER));
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
pub fn require_tmux() {
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
pub fn alive(pid: u32) -> bool {
    Command::new("ps")
        .args(["-o", "stat=", "-p", &pid.to_string()])
        .output()
        .is_ok_and(|out| {
            out.status.success() && !String::from_utf8_lossy(&out.stdout).trim().starts_with('Z')
        })
}

/// Sends a signal (`TERM`, `HUP`) to a process.
pub fn signal(pid: u32, name: &str) {
    let status = Command::new("kill")
        .args(["-s", name, &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -s {name} {pid} failed");
}

/// Whether the process has ended within `limit`.
pub fn ends_within(pid: u32, limit: Duration) -> bool {
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
pub struct Board {
    socket: String,
    /// The socket's file, which the server leaves behind.
    socket_path: Option<PathBuf>,
    /// The board's own directory: its pid and status files, and its state
    /// (`state/`, its `XDG_STATE_HOME`) unless the test gives another.
    pub dir: PathBuf,
}

static NEXT_SOCKET: AtomicUsize = AtomicUsize::new(0);

impl Board {
    /// The board on 160×48 against `sim`, with the viewer and officer tokens.
    pub fn start(sim: &Sim) -> Board {
        Board::start_with(sim, (160, 48), &[], &[])
    }

    /// The board on 160×48, a feed stale two seconds after its last answer.
    pub fn start_quick_to_stale(sim: &Sim) -> Board {
        Board::start_with(
            sim,
            (160, 48),
            &[],
            &["GREENCHANNEL_FEEDS_STALE_AFTER_SECONDS=2"],
        )
    }

    /// The board in a terminal of `size` with more flags and environment.
    pub fn start_with(sim: &Sim, size: (u16, u16), flags: &[&str], env: &[&str]) -> Board {
        let urls = [sim.running.railway_url(), sim.running.customs_url()];
        Board::start_at(&urls, size, flags, env)
    }

    /// The board on 160×48 reading the simulator through `plug`, with
    /// more environment.
    pub fn start_through(sim: &Sim, plug: &Plug, env: &[&str]) -> Board {
        let urls = [sim.running.railway_url(), sim.running.customs_url()].map(|url| plug.url(&url));
        Board::start_at(&urls, (160, 48), &[], env)
    }

    /// The board in a terminal of `size` against the railway and customs
    /// APIs at `urls`, with more flags and environment.
    pub fn start_at(urls: &[String; 2], size: (u16, u16), flags: &[&str], env: &[&str]) -> Board {
        let dir = Board::new_dir();
        let config = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config/demo.toml");
        let mut command: Vec<OsString> = [
            "env",
            "GREENCHANNEL_RAILWAY_TOKEN=demo-viewer",
            "GREENCHANNEL_CUSTOMS_TOKEN=demo-officer",
        ]
        .map(OsString::from)
        .to_vec();
        // The board's state (its triage journal) stays in the test's
        // directory, away from the user's and the other tests'.
        command.push(format!("XDG_STATE_HOME={}", dir.join("state").display()).into());
        command.extend(env.iter().map(OsString::from));
        command.push(env!("CARGO_BIN_EXE_greenchannel").into());
        for arg in [
            "--railway-url",
            &urls[0],
            "--customs-url",
            &urls[1],
            "--config",
        ] {
            command.push(arg.into());
        }
        command.push(config.into());
        command.extend(["--lang", "en"].map(OsString::from));
        command.extend(flags.iter().map(OsString::from));
        Board::launch_in(dir, size, &command)
    }

    /// Any program (its path and arguments) in a tmux pane of `size`, run
    /// as the board is: its pid and exit status recorded.
    pub fn launch(size: (u16, u16), command: &[OsString]) -> Board {
        Board::launch_in(Board::new_dir(), size, command)
    }

    /// A directory of its own for the next pane, and its tmux socket name.
    fn new_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "greenchannel-e2e-{}-{}",
            std::process::id(),
            NEXT_SOCKET.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("temporary directory");
        dir
    }

    fn launch_in(dir: PathBuf, size: (u16, u16), program: &[OsString]) -> Board {
        require_tmux();
        let socket = dir
            .file_name()
            .expect("a directory name")
            .to_string_lossy()
            .into_owned();
        let mut board = Board {
            socket,
            socket_path: None,
            dir,
        };
        let (width, height) = (size.0.to_string(), size.1.to_string());
        let mut command = Command::new("tmux");
        command
            .args(["-L", &board.socket, "-f", "/dev/null", "new-session", "-d"])
            .args(["-s", "board", "-x", &width, "-y", &height])
            .args(["sh", "-c", LAUNCHER, "launcher"])
            .arg(board.dir.join("pid"))
            .arg(board.dir.join("status"))
            .args(program);
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

    pub fn tmux(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("tmux runs")
    }

    /// The screen as text.
    pub fn screen(&self) -> String {
        let out = checked(
            self.tmux(&["capture-pane", "-p", "-t", "board"]),
            "tmux capture-pane",
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The screen with the lines scrolled off it (an error the board
    /// printed when it ended may be longer than the pane).
    pub fn screen_and_history(&self) -> String {
        let out = self.tmux(&["capture-pane", "-p", "-S", "-", "-t", "board"]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Polls the screen until `ok` holds; fails with the last screen after
    /// [`TIMEOUT`].
    pub fn wait_for(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
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
    pub fn wait_ready(&self) {
        self.wait_for("the board with both feeds ok", |s| {
            header(s).contains("railway ok") && header(s).contains("customs ok")
        });
    }

    /// Presses keys (tmux key names: `Enter`, `Escape`, `Tab`, `q`).
    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "board"];
        args.extend_from_slice(keys);
        checked(self.tmux(&args), "tmux send-keys");
    }

    /// Types text literally.
    pub fn type_text(&self, text: &str) {
        checked(
            self.tmux(&["send-keys", "-t", "board", "-l", text]),
            "tmux send-keys -l",
        );
    }

    /// Resizes the pane's window, as a person dragging the corner of the
    /// terminal.
    pub fn resize(&self, width: u16, height: u16) {
        checked(
            self.tmux(&[
                "resize-window",
                "-t",
                "board",
                "-x",
                &width.to_string(),
                "-y",
                &height.to_string(),
            ]),
            "tmux resize-window",
        );
    }

    /// The pane's terminal modes, in words.
    pub fn modes(&self) -> String {
        let format = "alternate screen #{alternate_on}, cursor visible #{cursor_flag}, \
                      mouse #{mouse_any_flag}";
        let out = checked(
            self.tmux(&["display-message", "-p", "-t", "board", format]),
            "tmux display-message",
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// The board's pid, once it has started.
    pub fn pid(&self) -> u32 {
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
    pub fn exit_status(&self) -> Option<String> {
        std::fs::read_to_string(self.dir.join("status"))
            .ok()
            .map(|s| s.trim().to_owned())
    }

    /// Waits for the pane's shell to report how the board ended.
    pub fn wait_exited(&self) -> String {
        self.wait_for("the shell's BOARD-EXITED line", |s| {
            s.contains("BOARD-EXITED")
        })
    }

    /// Closes the session as a dropped ssh connection would: the pane's
    /// terminal hangs up.
    pub fn drop_session(&self) {
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

pub fn checked(out: Output, what: &str) -> Output {
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The header's first line (port, clock, feeds, officer, badges).
pub fn header(screen: &str) -> &str {
    screen.lines().next().unwrap_or("")
}

/// Whether the screen shows a box titled `title` at the left edge.
pub fn titled(screen: &str, title: &str) -> bool {
    screen.lines().any(|l| l.starts_with(&format!("┌ {title}")))
}

/// Asserts the board ended with status 0, the terminal as it was, and its
/// process gone.
pub fn assert_ended_cleanly(board: &Board, pid: u32, how: &str) -> String {
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
pub fn is_declaration(word: &str) -> bool {
    word.len() == 18
        && word.chars().all(|c| c.is_ascii_alphanumeric())
        && word.starts_with(|c: char| c.is_ascii_digit())
}

/// The declaration number a table row starts with, if it does.
pub fn row_declaration(row: &str) -> Option<&str> {
    row.trim_start_matches('│')
        .trim_start_matches('▶')
        .split_whitespace()
        .next()
        .filter(|w| is_declaration(w))
}

/// The rows of a table of parcels: lines whose first word is a declaration.
pub fn parcel_rows(screen: &str) -> Vec<&str> {
    screen
        .lines()
        .filter(|l| row_declaration(l).is_some())
        .collect()
}

/// The declaration number on the selected row (`▶`).
pub fn selected_declaration(screen: &str) -> Option<String> {
    screen
        .lines()
        .find_map(|l| l.split_once("│▶"))
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .filter(|w| is_declaration(w))
        .map(str::to_owned)
}
